"""``graphmode scan``'s verdict per script: will ``graphmode run`` run it as it is, and what would stop it.

Three things stop an unmodified TF1 script under ``graphmode run``:

* a TF1 name with no stand-in (the scan's ``removed`` and ``unknown`` findings);
* GPU-only code on a machine without a GPU: cuDNN-only layers, and indexing
  the list of GPUs (``tf.config.list_physical_devices("GPU")[0]``) which is
  empty here. Pinning ops to ``/gpu:0`` is not one: sessions fall back to the CPU;
* data files it reads that are nowhere: MNIST folders (``read_data_sets``,
  ``load_dataset("mnist")``) without the IDX files, no ``$GRAPHMODE_MNIST_DIR``
  and no Keras cache. ``graphmode run`` then downloads them when the network
  allows, so the verdict says so rather than calling the script broken.

A folder named by a flag (``read_data_sets(FLAGS.data_dir)``) is checked at the
flag's default (``DEFINE_string("data_dir", "/tmp/mnist", ...)`` or
``add_argument("--data_dir", default=...)``).
"""

from __future__ import annotations

import ast
import os
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
    """

    file: str
    runs: bool
    stops: tuple[str, ...] = ()
    data: tuple[str, ...] = ()

    def format_line(self) -> str:
        """One line: ``FILE: graphmode run runs it as it is`` or what stops it."""
        if self.stops:
            text = f"{self.file}: graphmode run stops at {'; '.join(self.stops)}"
            return text + (f"; and data: {'; '.join(self.data)}" if self.data else "")
        if self.data:
            return f"{self.file}: graphmode run runs it if it gets the data: {'; '.join(self.data)}"
        return f"{self.file}: graphmode run runs it as it is"


def unreadable(file: str, problem: str) -> ScriptVerdict:
    """The verdict for a file the scan could not read or parse."""
    return ScriptVerdict(file, False, (f"nothing: it was not scanned ({problem.removeprefix(file).lstrip(':0123456789 ')})",))


def judge(file: str, tree: ast.AST, failing: Sequence) -> ScriptVerdict:
    """The verdict for one parsed script whose failing findings (removed, unknown) are ``failing``."""
    stops = []
    for finding in failing:
        why = "no replacement" if finding.status == "removed" and finding.replacement is None else (
            f"use {finding.replacement}" if finding.replacement else finding.status)
        entry = f"line {finding.line}: {finding.symbol} ({why})"
        if entry not in stops:
            stops.append(entry)
    if not has_gpu():
        stops.extend(_gpu_only(tree))
    data = _missing_data(tree, os.path.dirname(os.path.abspath(file)))
    return ScriptVerdict(file, not stops and not data, tuple(stops), tuple(data))


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


def _missing_data(tree: ast.AST, script_folder: str) -> list[str]:
    defaults = _flag_defaults(tree)
    missing = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or _call_name(node) not in _MNIST_LOADERS:
            continue
        arguments = _mnist_folder_of(node)
        if arguments is None:
            continue
        folder, url = _text_of(arguments[0], defaults), _text_of(arguments[1], defaults)
        if folder is None:
            written = ast.unparse(arguments[0]) if arguments[0] is not None else "no folder"
            missing.append(f"line {node.lineno}: MNIST from {written}, known only at run time (not checked)")
            continue
        # TF1 resolved the folder against the working directory; people run scripts from theirs.
        candidates = [folder] if os.path.isabs(folder) else [folder, os.path.join(script_folder, folder)]
        if any(mnist_files.local_source(candidate, url) for candidate in candidates):
            continue
        flavour = mnist_files.flavour_of(folder, url)
        missing.append(
            f"line {node.lineno}: {flavour.title} files are not in {folder}, ${flavour.environment_variable} or "
            f"Keras' cache (graphmode run downloads them when the network allows)"
        )
    return list(dict.fromkeys(missing))
