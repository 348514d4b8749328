"""Replacing calls inside one statement's source text, nested calls included, keeping the rest as written."""

from __future__ import annotations

import ast
from collections.abc import Callable


def offset(text: str, line: int, column: int) -> int:
    """The character offset of (1-based line, column) in ``text``."""
    lines = text.splitlines(keepends=True)
    return sum(len(item) for item in lines[: line - 1]) + column


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
