"""The package layout is the architecture: public names, folder tables of contents, import directions."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import graphmode

PACKAGE = Path(graphmode.__file__).resolve().parent
GROUND_FLOOR = {"_runtime", "errors", "_text", "_pairing", "_slots"}
CAPABILITIES = (
    "session", "train", "parity", "contrib", "mnist", "legacy", "scan", "checkpoint", "cluster", "trace", "migrate",
    "cli",
)
# Folders whose names the top level does not re-export (internals of the TF1 module).
UNEXPORTED = {"cli", "contrib", "mnist", "migrate"}
# Which capabilities each one may import (sideways); everything may use the ground floor.
# `cli` sits on top of all of them; `legacy` runs scripts through sessions and hands them
# `tf.contrib` and MNIST's input_data; `scan` checks scripts against the TF1 module; `train`,
# `parity` and `cluster` drive sessions; `trace` records a script's sessions (legacy installs
# its recorder) and reads the state as train/ and checkpoint/ do.
ALLOWED = {
    "session": set(),
    "train": {"session"},
    "checkpoint": set(),
    "parity": {"session", "train", "checkpoint"},
    "contrib": set(),
    "mnist": set(),
    "legacy": {"session", "train", "contrib", "mnist", "trace"},
    "scan": {"legacy", "contrib", "mnist"},
    "cluster": {"session"},
    "trace": {"session", "train", "checkpoint"},
    # `migrate` records scripts through the TF1 module and writes optimizers from train's Keras map.
    "migrate": {"legacy", "session", "train", "trace", "parity"},
    "cli": set(CAPABILITIES),
}


TOP_LEVEL_LIMIT = 30  # what a user types; the rest is imported from its capability


def test_every_public_name_imports_from_graphmode():
    assert len(graphmode.__all__) <= TOP_LEVEL_LIMIT, sorted(graphmode.__all__)
    for name in graphmode.__all__:
        assert getattr(graphmode, name) is not None, name
    assert sorted(graphmode.__all__) == sorted(set(graphmode.__all__))


def _stub_imports(package: str) -> list[tuple[str, str]]:
    """``(module, name)`` for each ``from .module import name`` of a package's ``__init__.pyi``."""
    folder = PACKAGE / package.removeprefix("graphmode").strip(".").replace(".", "/")
    tree = ast.parse((folder / "__init__.pyi").read_text(encoding="utf-8"))
    return [(node.module or "", alias.name) for node in tree.body if isinstance(node, ast.ImportFrom)
            for alias in node.names]


def test_top_level_names_are_the_capabilities_own_objects():
    for module, name in _stub_imports("graphmode"):
        if not module:
            continue  # a submodule: `from . import errors`
        home = importlib.import_module(f"graphmode.{module}")
        assert getattr(graphmode, name) is getattr(home, name), f"graphmode.{name} is not graphmode.{module}.{name}"


@pytest.mark.parametrize("capability", [c for c in CAPABILITIES if c not in UNEXPORTED])
def test_folder_stub_lists_each_name_once_and_every_one_imports(capability):
    package = importlib.import_module(f"graphmode.{capability}")
    names = [name for _, name in _stub_imports(f"graphmode.{capability}")]
    assert names, f"graphmode.{capability} exports nothing"
    assert len(names) == len(set(names)), f"graphmode.{capability}/__init__.pyi names one twice"
    assert sorted(package.__all__) == sorted(names)
    for name in names:
        assert getattr(package, name) is not None, f"graphmode.{capability}.{name}"


def test_a_name_that_left_the_top_level_says_where_it_lives():
    with pytest.raises(AttributeError, match=r"'CheckpointEntry'; it lives in graphmode\.checkpoint: "
                                             r"`from graphmode\.checkpoint import CheckpointEntry`"):
        graphmode.CheckpointEntry  # noqa: B018
    with pytest.raises(AttributeError, match=r"'FeedError'; it lives in graphmode\.errors"):
        graphmode.FeedError  # noqa: B018
    with pytest.raises(AttributeError, match=r"^module 'graphmode' has no attribute 'no_such_name'$"):
        graphmode.no_such_name  # noqa: B018


def test_errors_print_under_the_public_module():
    from graphmode.errors import FeedError, GraphmodeError

    assert FeedError.__module__ == GraphmodeError.__module__ == "graphmode.errors"


def _imported_graphmode_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "graphmode":
                # `from graphmode import X` imports a module only when X is one (not `__version__`).
                found.update(f"graphmode.{alias.name}" for alias in node.names
                             if (PACKAGE / alias.name).is_dir() or (PACKAGE / f"{alias.name}.py").is_file())
            elif node.module.startswith("graphmode."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("graphmode."))
    return found


def _capability_of(module_file: Path) -> str | None:
    relative = module_file.relative_to(PACKAGE).parts
    return relative[0] if len(relative) > 1 else None


def test_imports_go_down_or_sideways_never_up():
    offences = []
    for path in sorted(PACKAGE.rglob("*.py")):
        capability = _capability_of(path)
        relative = path.relative_to(PACKAGE).as_posix()
        for module in _imported_graphmode_modules(path):
            parts = module.split(".")
            target = parts[1] if len(parts) > 1 else ""
            if target in GROUND_FLOOR:
                continue
            if capability is None:
                # The ground floor imports nothing above it; the root's entry points
                # (`__init__`, `tf1`, `pytest_plugin`, `__main__`) may use any folder.
                if path.stem in GROUND_FLOOR:
                    offences.append(f"{relative} (ground floor) imports {module}")
                continue
            if target != capability and target not in ALLOWED[capability]:
                offences.append(f"{relative} ({capability}/) imports {module}")
    assert not offences, "\n".join(offences)


def test_ground_floor_modules_stay_at_the_root():
    for name in GROUND_FLOOR:
        assert (PACKAGE / f"{name}.py").is_file(), name
    for capability in CAPABILITIES:
        assert (PACKAGE / capability / "__init__.py").is_file(), capability
        assert not (PACKAGE / capability / f"{capability}.py").exists(), f"{capability}/{capability}.py stutters"
