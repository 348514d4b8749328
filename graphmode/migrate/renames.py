"""TF1 symbol names in kept source lines, renamed to their TF2 names (``tf.log`` -> ``tf.math.log``).

The table is TensorFlow's own (the one ``tf_upgrade_v2`` applies), minus every
rename into ``tf.compat.v1``: a name TF2 kept only there has no TF2 spelling, so
it stays as written and the output check names it. A few TF1 names TensorFlow's
table sends to ``tf.compat.v1`` have a TF2 function that does the same thing;
:data:`EXACT_TF2` lists them with the reason.
"""

from __future__ import annotations

import ast
import functools
import io
import tokenize

from graphmode._runtime import tf, tf1_keyword_renames, tf1_symbol_renames
from graphmode.migrate.splice import char_column

# TF1 name -> TF2 name where TensorFlow's table says tf.compat.v1 but a TF2 call is the same computation.
EXACT_TF2 = {
    # Both set the global seed; op seeds derive from it the same way (the draws differ between TF1 and TF2
    # kernels anyway, which is why the proof starts from the recorded state, not from the seed).
    "tf.set_random_seed": "tf.random.set_seed",
    "tf.random.set_random_seed": "tf.random.set_seed",
}


@functools.cache
def table() -> dict[str, str]:
    """The renames applied: TF1 dotted name -> TF2 dotted name."""
    renames = {
        old: new for old, new in tf1_symbol_renames().items()
        if new and not new.startswith("tf.compat.v1") and old != new
    }
    renames.update(EXACT_TF2)
    return renames


@functools.cache
def keyword_table() -> dict[str, dict[str, str]]:
    """TF1 keyword arguments TF2 renamed, per function: ``tf.reduce_sum`` -> ``{"reduction_indices": "axis"}``."""
    return tf1_keyword_renames()


def _rename_keywords(code: str) -> str:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code  # a fragment: its symbols are still renamed token by token
    renames = keyword_table()
    edits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            table = renames.get(ast.unparse(node.func), {})
            edits += [(k.lineno, k.col_offset, k.arg, table[k.arg]) for k in node.keywords if k.arg in table]
    lines = code.splitlines(keepends=True)
    for line, column, old, new in sorted(edits, reverse=True):
        text = lines[line - 1]
        column = char_column(text, column)
        if text[column: column + len(old)] == old:
            lines[line - 1] = text[:column] + new + text[column + len(old):]
    return "".join(lines)


def rename_tf1_symbols(code: str) -> str:
    """Returns ``code`` with each ``tf.``-dotted TF1 name replaced by its TF2 name (strings, comments untouched),
    and the keyword arguments TF2 renamed in its calls (``reduction_indices=`` -> ``axis=``).

    ``code`` must tokenize on its own (whole statements); the longest dotted
    prefix in the table wins, so ``tf.train.AdamOptimizer`` is not cut at ``tf.train``.
    """
    code = _rename_keywords(code)
    renames = table()
    tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    edits: list[tuple[tuple[int, int], tuple[int, int], str]] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        previous = tokens[index - 1] if index else None
        if token.type == tokenize.NAME and token.string == "tf" and not (previous and previous.string == "."):
            parts, end = ["tf"], index
            while (end + 2 < len(tokens) and tokens[end + 1].string == "."
                   and tokens[end + 2].type == tokenize.NAME):
                parts.append(tokens[end + 2].string)
                end += 2
            for length in range(len(parts), 1, -1):
                dotted = ".".join(parts[:length])
                if dotted in renames:
                    last = tokens[index + 2 * (length - 1)]
                    edits.append((token.start, last.end, renames[dotted]))
                    break
            index = end + 1
            continue
        index += 1
    lines = code.splitlines(keepends=True)
    for (start_row, start_col), (end_row, end_col), text in reversed(edits):
        if start_row != end_row:
            continue  # a dotted name broken over lines is left alone
        line = lines[start_row - 1]
        lines[start_row - 1] = line[:start_col] + text + line[end_col:]
    return "".join(lines)


def _in_tf2(dotted: str) -> bool:
    found = tf
    for part in dotted.split(".")[1:]:
        found = getattr(found, part, None)
        if found is None:
            return False
    return True


def tf1_only_names(code: str) -> list[tuple[int, str, str | None]]:
    """The TF1 names in ``code``'s syntax tree (``tf.``-dotted) that TensorFlow 2 does not have.

    Returns ``(line, name, TF2 name)`` each, the TF2 name None where TF2 has the name only in
    ``tf.compat.v1``. A name TensorFlow's table renames but TF2 still has (``tf.losses.mean_squared_error``,
    Keras' now) is not listed: it runs, and the proof judges what it computes.
    """
    renames = tf1_symbol_renames()
    found = []
    for node in ast.walk(ast.parse(code)):
        if not isinstance(node, ast.Attribute):
            continue
        parts, inner = [], node
        while isinstance(inner, ast.Attribute):
            parts.append(inner.attr)
            inner = inner.value
        if not (isinstance(inner, ast.Name) and inner.id == "tf"):
            continue
        dotted = ".".join(["tf", *reversed(parts)])
        if dotted in renames and renames[dotted] != dotted and not _in_tf2(dotted):
            new = renames[dotted]
            found.append((node.lineno, dotted, table().get(dotted, None if not new or "compat.v1" in new else new)))
    return sorted(found)
