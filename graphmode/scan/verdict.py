"""``graphmode scan``'s verdict per script: will ``graphmode run`` run it as it is, and what would stop it.

Four things stop an unmodified TF1 script under ``graphmode run``:

* a TF1 name with no stand-in (the scan's ``removed`` and ``unknown`` findings);
* GPU-only code on a machine without a GPU: cuDNN-only layers, and indexing
  the list of GPUs (``tf.config.list_physical_devices("GPU")[0]``) which is
  empty here. Pinning ops to ``/gpu:0`` is not one: sessions fall back to the CPU;
* an import of a package that is not installed (``import cv2``) outside a
  ``try`` that catches ``ImportError``;
* data files it reads that are nowhere: MNIST folders (``read_data_sets``,
  ``load_dataset("mnist")``) without the IDX files, no ``$GRAPHMODE_MNIST_DIR``
  and no Keras cache. ``graphmode run`` then downloads them when the network
  allows, so the verdict says so rather than calling the script broken.

The script's own modules (``import model`` of ``model.py`` next to it) are
judged with it, and one that shadows a TensorFlow module (the tutorials' own
``input_data.py``) is named: its MNIST loads are its own, which ``graphmode
run`` helps only when their download fails.

A folder named by a flag (``read_data_sets(FLAGS.data_dir)``) is checked at the
flag's default (``DEFINE_string("data_dir", "/tmp/mnist", ...)`` or
``add_argument("--data_dir", default=...)``).
"""

from __future__ import annotations

import ast
import importlib.util
import os
import sys
from collections.abc import Sequence
from typing import NamedTuple

from graphmode._runtime import has_gpu
from graphmode.mnist import files as mnist_files

_CUDNN_ONLY = {
    "CuDNNLSTM": "tf.compat.v1.keras.layers.LSTM",
    "CuDNNGRU": "tf.compat.v1.keras.layers.GRU",
}
_DEVICE_LISTS = {"list_physical_devices", "list_logical_devices", "get_visible_devices"}
_MNIST_LOADERS = {"read_data_sets", "load_mnist", "load_dataset"}


class ScriptVerdict(NamedTuple):
    """Whether ``graphmode run`` runs one script as it is.

    Attributes:
        file: the script.
        runs: True when nothing below stops it.
        stops: what stops it: names without a stand-in, GPU-only code (``"line N: ..."``).
        data: data files it reads that are on this machine in none of the places
            ``graphmode run`` looks (it downloads them when it can), or that the
            scan cannot check.
        modules: the script's own modules it imports (from its folder, also through
            each other), judged with it: their stops and data are the script's.
        shadows: those of them named like a TensorFlow module, and what they shadow.
    """

    file: str
    runs: bool
    stops: tuple[str, ...] = ()
    data: tuple[str, ...] = ()
    modules: tuple[str, ...] = ()
    shadows: tuple[str, ...] = ()

    def format_line(self) -> str:
        """One line: ``FILE: graphmode run runs it as it is`` or what stops it, then the local modules judged."""
        if self.stops:
            text = f"{self.file}: graphmode run stops at {'; '.join(self.stops)}"
            text += f"; and data: {'; '.join(self.data)}" if self.data else ""
        elif self.data:
            text = f"{self.file}: graphmode run runs it if it gets the data: {'; '.join(self.data)}"
        else:
            text = f"{self.file}: graphmode run runs it as it is"
        if self.modules:
            text += f" (with the local modules it imports: {', '.join(self.modules)})"
        return text + "".join(f"; {shadow}" for shadow in self.shadows)


def unreadable(file: str, problem: str) -> ScriptVerdict:
    """The verdict for a file the scan could not read or parse."""
    return ScriptVerdict(file, False, (f"nothing: it was not scanned ({problem.removeprefix(file).lstrip(':0123456789 ')})",))


class LocalCode(NamedTuple):
    """A local module the script imports, parsed, with its failing findings (see :mod:`graphmode.scan.imports`)."""

    module: object  # graphmode.scan.imports.LocalModule
    tree: ast.AST | None  # None: it could not be parsed
    failing: Sequence


def _guarded(tree: ast.AST) -> set[int]:
    """ids of import nodes inside ``try`` blocks that catch ImportError (optional dependencies)."""
    guarded = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Try):
            continue
        caught = set()
        for handler in node.handlers:
            kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
            caught.update("*" if kind is None else ast.unparse(kind) for kind in kinds)
        if caught & {"*", "ImportError", "ModuleNotFoundError", "Exception", "BaseException"}:
            guarded.update(id(inner) for statement in node.body for inner in ast.walk(statement))
    return guarded


def _missing_packages(tree: ast.AST, folder: str) -> list[str]:
    """Imports of top-level modules that are neither next to the script nor installed: they fail at once."""
    guarded, missing = _guarded(tree), []
    for node in ast.walk(tree):
        if id(node) in guarded:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.partition(".")[0]
            if top in sys.builtin_module_names or top == "__future__":
                continue
            if os.path.exists(os.path.join(folder, f"{top}.py")) or os.path.isdir(os.path.join(folder, top)):
                continue
            if importlib.util.find_spec(top) is None:
                missing.append(f"line {node.lineno}: import {name} (no module {top!r} is installed)")
    return missing


def _stop_entries(failing: Sequence, where: str) -> list[str]:
    entries = []
    for finding in failing:
        why = "no replacement" if finding.status == "removed" and finding.replacement is None else (
            f"use {finding.replacement}" if finding.replacement else finding.status)
        entries.append(f"{where}line {finding.line}: {finding.symbol} ({why})")
    return entries


def judge(file: str, tree: ast.AST, failing: Sequence, local: Sequence[LocalCode] = ()) -> ScriptVerdict:
    """The verdict for one parsed script whose failing findings (removed, unknown) are ``failing``.

    ``local`` are the script's own modules it imports: what stops them stops the script.
    """
    folder = os.path.dirname(os.path.abspath(file))
    stops = _stop_entries(failing, "") + _missing_packages(tree, folder)
    if not has_gpu():
        stops.extend(_gpu_only(tree))
    own_loaders = {name for code in local if code.module.shadows and code.module.name == "input_data"
                   for name in code.module.bound}
    data = _missing_data(tree, folder, own_loaders)
    modules, shadows = [], []
    for code in local:
        shown = os.path.relpath(code.module.path, folder)
        modules.append(shown)
        if code.module.shadows:
            shadows.append(f"{shown} is the script's own copy of {code.module.shadows}, "
                           "run instead of TensorFlow's or graphmode's")
        where = f"{shown} "
        if code.tree is None:
            stops.append(f"{where}(it cannot be parsed)")
            continue
        stops.extend(_stop_entries(code.failing, where))
        stops.extend(where + entry for entry in _missing_packages(code.tree, folder))
        if not has_gpu():
            stops.extend(where + entry for entry in _gpu_only(code.tree))
        data.extend(where + entry for entry in _missing_data(code.tree, folder, set()))
    stops, data = list(dict.fromkeys(stops)), list(dict.fromkeys(data))
    return ScriptVerdict(file, not stops and not data, tuple(stops), tuple(data), tuple(modules), tuple(shadows))


def _call_name(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return node.func.id if isinstance(node.func, ast.Name) else None


def _gpu_only(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else None
        if name in _CUDNN_ONLY:
            found.append(f"line {node.lineno}: {name} (cuDNN kernels only, and this machine has no GPU; "
                         f"{_CUDNN_ONLY[name]} runs anywhere)")
        if (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Call)
                and _call_name(node.value) in _DEVICE_LISTS
                and any(isinstance(a, ast.Constant) and str(a.value).upper() == "GPU" for a in node.value.args)):
            found.append(f"line {node.lineno}: {ast.unparse(node)} (the list of GPUs is empty on this machine)")
    return list(dict.fromkeys(found))


def _flag_defaults(tree: ast.AST) -> dict[str, str]:
    """String defaults of absl/tf.app flags and argparse options, by name."""
    defaults = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _call_name(node)
        keywords = {k.arg: k.value for k in node.keywords if k.arg}
        if name == "DEFINE_string" and len(node.args) >= 1:
            flag, default = node.args[0], node.args[1] if len(node.args) > 1 else keywords.get("default")
        elif name == "add_argument" and node.args:
            flag, default = node.args[0], keywords.get("default")
            if isinstance(flag, ast.Constant) and isinstance(flag.value, str):
                flag = ast.Constant(keywords["dest"].value if isinstance(keywords.get("dest"), ast.Constant)
                                    else flag.value.lstrip("-").replace("-", "_"))
        else:
            continue
        if isinstance(flag, ast.Constant) and isinstance(default, ast.Constant) and isinstance(default.value, str):
            defaults[str(flag.value)] = default.value
    return defaults


def _text_of(node: ast.AST | None, defaults: dict[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Attribute) and node.attr in defaults:
        return defaults[node.attr]
    return None


def _mnist_folder_of(node: ast.Call) -> tuple[ast.AST | None, ast.AST | None] | None:
    """(the folder argument, the source_url argument) of an MNIST loader call, or None when it is none."""
    name = _call_name(node)
    keywords = {k.arg: k.value for k in node.keywords if k.arg}
    if name == "read_data_sets":
        fake = keywords.get("fake_data", node.args[1] if len(node.args) > 1 else None)
        if isinstance(fake, ast.Constant) and fake.value is True:
            return None
        return keywords.get("train_dir", node.args[0] if node.args else None), keywords.get("source_url")
    if name == "load_mnist":
        return keywords.get("train_dir", node.args[0] if node.args else ast.Constant("MNIST-data")), None
    if name == "load_dataset" and node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value == "mnist":
        return ast.Constant("MNIST-data"), None
    return None


def _receiver(node: ast.Call) -> str | None:
    func = node.func
    return func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else None


def _missing_data(tree: ast.AST, script_folder: str, own_loaders: set[str]) -> list[str]:
    defaults = _flag_defaults(tree)
    missing = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or _call_name(node) not in _MNIST_LOADERS:
            continue
        arguments = _mnist_folder_of(node)
        if arguments is None:
            continue
        own = _receiver(node) in own_loaders or (isinstance(node.func, ast.Name) and node.func.id in own_loaders)
        folder, url = _text_of(arguments[0], defaults), _text_of(arguments[1], defaults)
        if folder is None:
            written = ast.unparse(arguments[0]) if arguments[0] is not None else "no folder"
            missing.append(f"line {node.lineno}: MNIST from {written}, known only at run time (not checked)")
            continue
        # TF1 resolved the folder against the working directory; people run scripts from theirs.
        candidates = [folder] if os.path.isabs(folder) else [folder, os.path.join(script_folder, folder)]
        flavour = mnist_files.flavour_of(folder, url)
        if own:
            # The script's own loader reads its folder, else downloads from its own URL; when that fails,
            # graphmode run serves the files from its variable or Keras' cache (graphmode.mnist.copies).
            if any(len(mnist_files.idx_files_in(c)) == len(mnist_files.FILE_NAMES) for c in candidates):
                continue
            if mnist_files.standin_source(flavour)[0] is not None:
                continue
            missing.append(
                f"line {node.lineno}: {flavour.title} through the script's own input_data.py: its files are not in "
                f"{folder}, its own download is its own (graphmode run serves a failed one from "
                f"${flavour.environment_variable} or Keras' cache, which hold none here)"
            )
            continue
        if any(mnist_files.local_source(candidate, url) for candidate in candidates):
            continue
        missing.append(
            f"line {node.lineno}: {flavour.title} files are not in {folder}, ${flavour.environment_variable} or "
            f"Keras' cache (graphmode run downloads them when the network allows)"
        )
    return list(dict.fromkeys(missing))
