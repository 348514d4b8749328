"""What a migrated program must not contain, found in its syntax tree (not by searching the text).

Comments and strings never count: NOT MIGRATED blocks are comments, and a
docstring may mention ``Session`` freely. Pure standard library, so tests and
the migrated program's process can use it.
"""

from __future__ import annotations

import ast
import os
from typing import NamedTuple

# TF1 constructs a TF2 program has no use for: attribute or name -> why it is forbidden.
FORBIDDEN_NAMES = {
    "compat": "tf.compat (the TF1 API lives there)",
    "Session": "TF1 sessions",
    "InteractiveSession": "TF1 sessions",
    "placeholder": "TF1 placeholders",
    "feed_dict": "TF1 feeds",
    "get_variable": "TF1 get_variable",
    "variable_scope": "TF1 variable scopes",
    "get_collection": "TF1 collections",
    "add_to_collection": "TF1 collections",
    "GraphKeys": "TF1 collections",
    "contrib": "tf.contrib",
    "enable_tf1": "graphmode's TF1 API",
    "disable_v2_behavior": "the TF1 API",
}
# Modules the program must not import.
FORBIDDEN_MODULES = ("tensorflow.compat", "graphmode.legacy", "graphmode.tf1", "graphmode.contrib", "tf_keras")


class Finding(NamedTuple):
    """One forbidden construct: line, what was written, why it is forbidden."""

    line: int
    written: str
    why: str


def forbidden_constructs(source: str) -> list[Finding]:
    """Every TF1 construct in ``source``'s syntax tree (names, attributes, keyword arguments, imports)."""
    findings = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_NAMES:
            findings.append(Finding(node.lineno, ast.unparse(node), FORBIDDEN_NAMES[node.attr]))
        elif isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            findings.append(Finding(node.lineno, node.id, FORBIDDEN_NAMES[node.id]))
        elif isinstance(node, ast.keyword) and node.arg in FORBIDDEN_NAMES:
            findings.append(Finding(node.value.lineno, f"{node.arg}=", FORBIDDEN_NAMES[node.arg]))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(FORBIDDEN_MODULES):
                    findings.append(Finding(node.lineno, f"import {alias.name}", "a TF1 module"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(FORBIDDEN_MODULES):
            findings.append(Finding(node.lineno, f"from {node.module} import ...", "a TF1 module"))
    return findings


def local_modules(source: str, folder: str) -> list[tuple[int, str, str]]:
    """The modules of ``folder`` (the script's own helpers) that ``source`` imports: (line, module, file) each.

    migrate rewrites the script only; what the program imports from beside it runs as written.
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names if alias.name != "*"]
        else:
            continue
        for name in names:
            base = os.path.join(folder, *name.split("."))
            path = next((p for p in (base + ".py", os.path.join(base, "__init__.py")) if os.path.isfile(p)), None)
            if path is not None:
                found.append((node.lineno, name, path))
    return found


def _names(node: ast.AST) -> set[str]:
    return {sub.id if isinstance(sub, ast.Name) else sub.attr
            for sub in ast.walk(node) if isinstance(sub, (ast.Name, ast.Attribute))}


def used_part(module_source: str, program_source: str) -> str:
    """``module_source`` with the top-level functions and classes the program never reaches blanked out.

    Reached: named by the program, by the module's other statements, or by a function reached.
    Line numbers are kept, so what is found in the rest points at the module's own lines.
    """
    tree = ast.parse(module_source)
    definitions = [node for node in tree.body
                   if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    wanted = _names(ast.parse(program_source))
    wanted |= {name for node in tree.body if node not in definitions for name in _names(node)}
    reached: list[ast.stmt] = []
    grown = True
    while grown:
        grown = False
        for node in definitions:
            if node.name in wanted and node not in reached:
                reached.append(node)
                wanted |= _names(node)
                grown = True
    lines = module_source.splitlines(keepends=True)
    for node in definitions:
        if node not in reached:
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            lines[first - 1 : node.end_lineno] = ["\n"] * (node.end_lineno - first + 1)
    return "".join(lines)
