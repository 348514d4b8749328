"""The script's own modules a scan follows: what ``import model`` loads from the script's folder.

``graphmode run`` puts the script's folder first on ``sys.path``, as ``python``
does, so ``import model`` / ``from model import Model`` / ``import utils.text``
load ``model.py`` or the package ``utils/`` next to the script before anything
installed. Those modules are the script's code too: what stops them stops the
script. This module finds them (recursively: a local module's own local
imports) without running anything.

A local module named like a TensorFlow module that TF1 scripts imported (the
tutorials' ``input_data.py``, a ``tensorflow.py``) shadows it: the script runs
its own copy, not TensorFlow's and not graphmode's stand-in.
"""

from __future__ import annotations

import ast
import os
from typing import NamedTuple

# Module names TF1 scripts imported from TensorFlow that a file next to the script can shadow.
SHADOWED = {
    "tensorflow": "TensorFlow itself (import tensorflow loads this file instead)",
    "input_data": "TensorFlow's tensorflow.examples.tutorials.mnist.input_data, the tutorials' MNIST loader",
}


class LocalModule(NamedTuple):
    """A module of the script's folder that the script (or another such module) imports.

    Attributes:
        name: the dotted name as imported (``model``, ``utils.text``).
        path: its file (``model.py``, ``utils/text.py`` or a package's ``__init__.py``).
        importer: the file that imports it.
        line: the line of that import.
        bound: the names the import binds in the importer (``model``, or ``Model`` for ``from model import Model``).
    """

    name: str
    path: str
    importer: str
    line: int
    bound: tuple[str, ...]

    @property
    def shadows(self) -> str | None:
        """What TensorFlow module it shadows, or None."""
        return SHADOWED.get(self.name.partition(".")[0])


def _module_file(folder: str, dotted: str) -> str | None:
    base = os.path.join(folder, *dotted.split("."))
    for candidate in (f"{base}.py", os.path.join(base, "__init__.py")):
        if os.path.isfile(candidate):
            return candidate
    return None


def direct_local_imports(tree: ast.AST, file: str, root: str) -> list[LocalModule]:
    """The modules of folder ``root`` that ``file`` (parsed as ``tree``) imports, in line order."""
    found: list[LocalModule] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                path = _module_file(root, alias.name)
                if path is not None:
                    found.append(LocalModule(alias.name, path, file, node.lineno,
                                             (alias.asname or alias.name.partition(".")[0],)))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            path = _module_file(root, node.module)
            if path is not None:
                found.append(LocalModule(node.module, path, file, node.lineno,
                                         tuple(alias.asname or alias.name for alias in node.names)))
            for alias in node.names:  # from utils import text: the submodule utils/text.py
                sub = _module_file(root, f"{node.module}.{alias.name}")
                if sub is not None and sub != path:
                    found.append(LocalModule(f"{node.module}.{alias.name}", sub, file, node.lineno,
                                             (alias.asname or alias.name,)))
    return sorted(found, key=lambda module: module.line)


def local_imports(tree: ast.AST, file: str, parse) -> list[LocalModule]:
    """Every local module ``file`` loads, directly or through other local modules, each once.

    Args:
        tree: ``file`` parsed.
        file: the script.
        parse: ``path -> ast`` (or None when it cannot be read), so callers can cache and report.
    """
    root = os.path.dirname(os.path.abspath(file))
    seen = {os.path.abspath(file)}
    ordered: list[LocalModule] = []
    pending = direct_local_imports(tree, file, root)
    while pending:
        module = pending.pop(0)
        key = os.path.abspath(module.path)
        if key in seen:
            continue
        seen.add(key)
        ordered.append(module)
        module_tree = parse(module.path)
        if module_tree is not None:
            pending.extend(direct_local_imports(module_tree, module.path, root))
    return ordered
