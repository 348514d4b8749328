"""Replacing calls inside one statement's source text, nested calls included, keeping the rest as written.

The run calls a driver statement makes become calls of the generated functions (:func:`splice_statement`),
a ``tf.train.Saver``'s save and restore become a ``tf.train.Checkpoint``'s (:func:`checkpoint_calls`).
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Callable, Sequence


def char_column(line: str, column: int) -> int:
    """The index in ``line`` of an AST column, which counts UTF-8 bytes (``print('정확도:', ...)``)."""
    return len(line.encode()[:column].decode(errors="ignore"))


def offset(text: str, line: int, column: int) -> int:
    """The character offset in ``text`` of an AST position (1-based line, column in UTF-8 bytes)."""
    lines = text.splitlines(keepends=True)
    before = sum(len(item) for item in lines[: line - 1])
    return before + (char_column(lines[line - 1], column) if line <= len(lines) else column)


def replace_node(lines: list[str], node: ast.AST, text: str, first_line: int = 1) -> None:
    """Replaces the source of ``node`` in ``lines`` (``lines[0]`` being line ``first_line``) with ``text``, in place."""
    first, last = node.lineno - first_line, node.end_lineno - first_line
    head = lines[first][: char_column(lines[first], node.col_offset)]
    tail = lines[last][char_column(lines[last], node.end_col_offset) :]
    lines[first : last + 1] = [head + text + tail]


def inside(inner: ast.AST, outer: ast.AST) -> bool:
    """True when ``inner``'s source span lies within ``outer``'s."""
    return ((outer.lineno, outer.col_offset) <= (inner.lineno, inner.col_offset)
            and (inner.end_lineno, inner.end_col_offset) <= (outer.end_lineno, outer.end_col_offset))


Render = Callable[[ast.AST], str]


def rewrite_calls(text: str, chosen: Callable[[ast.Call], bool],
                  replace: Callable[[ast.Call, Render], str]) -> str:
    """``text`` with each call ``chosen`` picks replaced by ``replace(call, render)``.

    ``render(node)`` gives the source of any expression inside a chosen call with
    the chosen calls in it replaced too, so ``dense(flatten(x))`` can become
    ``model.dense(model.flatten(x))``.
    """
    tree = ast.parse(text)
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call) and chosen(node)]

    def outermost(nodes: list[ast.Call]) -> list[ast.Call]:
        return [c for c in nodes if not any(o is not c and inside(c, o) for o in nodes)]

    def render(node: ast.AST) -> str:
        if node in calls:
            return replace(node, render)
        start = offset(text, node.lineno, node.col_offset)
        written = text[start: offset(text, node.end_lineno, node.end_col_offset)]
        for child in sorted(outermost([c for c in calls if inside(c, node)]),
                            key=lambda c: (c.lineno, c.col_offset), reverse=True):
            child_start = offset(text, child.lineno, child.col_offset) - start
            child_end = offset(text, child.end_lineno, child.end_col_offset) - start
            written = written[:child_start] + replace(child, render) + written[child_end:]
        return written

    result = text
    for call in sorted(outermost(calls), key=lambda c: (c.lineno, c.col_offset), reverse=True):
        start = offset(text, call.lineno, call.col_offset)
        end = offset(text, call.end_lineno, call.end_col_offset)
        result = result[:start] + replace(call, render) + result[end:]
    return result


def splice_statement(lines: list[str], node: ast.stmt, edits: Sequence[tuple[ast.expr, str]]) -> str:
    """The statement's text with each call's source replaced (``(call node, new text)`` each), then dedented."""
    start = node.lineno
    chunk = lines[start - 1 : node.end_lineno]
    for call, text in sorted(edits, key=lambda e: (e[0].lineno, e[0].col_offset), reverse=True):
        replace_node(chunk, call, text, first_line=start)
    text = textwrap.dedent("".join(chunk))
    return "".join(line for line in text.splitlines(keepends=True) if line.strip() != "pass  # dropped")


def checkpoint_calls(text: str, savers: set[str]) -> str:
    """``saver.save(sess, path)`` -> ``saver.write(path)``; ``saver.restore(sess, path)`` -> ``saver.restore(path)``."""
    tree = ast.parse(text)
    edits = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("save", "restore") and len(node.args) >= 2
                and isinstance(node.func.value, ast.Name) and node.func.value.id in savers):
            receiver = ast.get_source_segment(text, node.func.value)
            path = ast.get_source_segment(text, node.args[1])
            method = "write" if node.func.attr == "save" else "restore"
            edits.append((node, f"{receiver}.{method}({path})"))
    lines = text.splitlines(keepends=True)
    for node, replacement in sorted(edits, key=lambda e: (e[0].lineno, e[0].col_offset), reverse=True):
        replace_node(lines, node, replacement)
    return "".join(lines)
