"""The package layout is the architecture: the public face here, import directions in import-linter's contracts.

The contracts (layers from ``cli`` down to the ground floor, no cycle inside any folder) live in
pyproject.toml under ``[tool.importlinter]``; this file runs them and checks what they cannot:
the public names and where they are declared.
"""

from __future__ import annotations

import ast
import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

import graphmode

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(graphmode.__file__).resolve().parent
# Folders that declare public names (an __init__.pyi read by lazy_loader); the others are internals.
STUBBED = sorted(path.parent.name for path in PACKAGE.glob("*/__init__.pyi"))
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


@pytest.mark.parametrize("capability", STUBBED)
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


def test_imports_keep_the_contracts():
    # In a process of its own: import-linter's console output replaces the streams pytest captures.
    # PYTHONPATH puts this tree first, so the contracts are checked against the code under test.
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    code = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True, no_logo=True))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "PYTHONPATH": path},
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_folders_do_not_stutter():
    for folder in PACKAGE.iterdir():
        if (folder / "__init__.py").is_file():
            assert not (folder / f"{folder.name}.py").exists(), f"{folder.name}/{folder.name}.py stutters"
