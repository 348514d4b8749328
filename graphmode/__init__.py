"""graphmode: run TF1 graph/session code on TensorFlow 2 and prove its eager rewrite matches."""

# `import graphmode` leaves the process (environment, TensorFlow, Keras) untouched: the first access
# of a name imports the module defining it (TensorFlow with it). The names are declared once, in
# __init__.pyi, which lazy_loader reads here and type checkers read too.

from __future__ import annotations

import ast
import functools
import importlib
import os

import lazy_loader as _lazy

__version__ = "0.1.0"

_attached_getattr, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)


def __getattr__(name: str) -> object:
    if name in __all__ or name.startswith("__"):
        return _attached_getattr(name)
    here = os.path.dirname(__file__)
    if os.path.isfile(os.path.join(here, name, "__init__.py")) or os.path.isfile(os.path.join(here, f"{name}.py")):
        # A capability or module (graphmode.checkpoint ...): what `import graphmode.checkpoint` gives.
        return importlib.import_module(f"{__name__}.{name}")
    home = _capability_names().get(name)
    where = f"; it lives in {home}: `from {home} import {name}`" if home else ""
    raise AttributeError(f"module 'graphmode' has no attribute {name!r}{where}")


@functools.cache
def _capability_names() -> dict[str, str]:
    """``{name: "graphmode.<capability>"}`` from the capabilities' stubs, read only to word an error."""
    root = os.path.dirname(__file__)
    homes = {}
    for folder in sorted(os.listdir(root)):
        stub = os.path.join(root, folder, "__init__.pyi")
        if os.path.isfile(stub):
            with open(stub, encoding="utf-8") as file:
                tree = ast.parse(file.read())
            for node in tree.body:
                if isinstance(node, ast.ImportFrom):
                    homes.update({alias.name: f"graphmode.{folder}" for alias in node.names})
    errors = os.path.join(root, "errors.py")
    with open(errors, encoding="utf-8") as file:
        tree = ast.parse(file.read())
    homes.update({node.name: "graphmode.errors" for node in tree.body
                  if isinstance(node, ast.ClassDef) and not node.name.startswith("_")})
    return homes
