"""What a migrated program must not contain, found in its syntax tree (not by searching the text).

Comments and strings never count: NOT MIGRATED blocks are comments, and a
docstring may mention ``Session`` freely. Pure standard library, so tests and
the migrated program's process can use it.
"""

from __future__ import annotations

import ast
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
