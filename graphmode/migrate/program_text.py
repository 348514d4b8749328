"""The written program's text: statements as the script wrote them, indented, joined, or left NOT MIGRATED."""

from __future__ import annotations

import ast
import textwrap

NOT_MIGRATED = "graphmode migrate: NOT MIGRATED"
_INDENT = "    "

# TF1's MNIST tutorial reader has no TF2 equivalent giving the same arrays in the same order
# (keras.datasets.mnist has no validation split and no next_batch shuffling): graphmode's public one does.
_MNIST_IMPORTS = {
    "from tensorflow.examples.tutorials.mnist import input_data":
        "from graphmode.mnist import input_data  # TF 1.15's MNIST reader (graphmode's): same arrays, same order",
    "import tensorflow.examples.tutorials.mnist.input_data as input_data":
        "from graphmode.mnist import input_data  # TF 1.15's MNIST reader (graphmode's): same arrays, same order",
}


def segment(lines: list[str], node: ast.AST) -> str:
    """The source text of a statement, whole lines, dedented."""
    return textwrap.dedent("".join(lines[node.lineno - 1 : node.end_lineno]))


def gap(lines: list[str], after: int, before: int) -> str:
    """The blank and comment lines between two statements (dedented), so kept code keeps its layout."""
    kept = [line for line in lines[after : before - 1] if not line.strip() or line.strip().startswith("#")]
    return textwrap.dedent("".join(kept)) if kept else ""


def indent(code: str, levels: int) -> str:
    """``code`` indented by ``levels`` levels of four spaces."""
    return textwrap.indent(code, _INDENT * levels)


def not_migrated_block(text: str, first_line: int, reason: str, levels: int) -> str:
    """``text`` commented out inside a marked block that says why it was not migrated."""
    commented = "".join(f"# {line}" if line.strip() else "#\n" for line in text.splitlines(keepends=True))
    block = f"# --- {NOT_MIGRATED} (original line {first_line}): {reason} ---\n{commented}# --- end ---\n"
    return indent(block, levels)


def import_tf2(text: str) -> str:
    """A kept import statement with TF1's imports replaced by their TF2 counterparts."""
    text = text.replace("import tensorflow.compat.v1 as tf", "import tensorflow as tf")
    for tf1, tf2 in _MNIST_IMPORTS.items():
        text = text.replace(tf1, tf2)
    return text


def join(parts: list[str]) -> str:
    """The program's pieces, each ending its line, with no more than two blank lines in a row."""
    text = "".join(part if part.endswith("\n") else part + "\n" for part in parts if part)
    while "\n\n\n\n" in text:
        text = text.replace("\n\n\n\n", "\n\n\n")
    return text
