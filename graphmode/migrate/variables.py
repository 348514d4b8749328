"""A TF1 variable statement as a line of the ``Model``'s ``__init__``.

``W = tf.Variable(tf.random_normal([1, 1]))`` -> ``self.W = tf.Variable(tf.random_normal([1, 1]), name="Variable")``;
``w = tf.get_variable("w", [2, 1], initializer=tf.zeros_initializer())`` inside
``variable_scope("layer")`` -> ``self.w = tf.Variable(tf.keras.initializers.Zeros()([2, 1]), name="layer/w")``.
Each ``tf.Variable`` gets the TF1 graph's full name (scopes included), which is
what a name-based TF1 checkpoint stores, so ``tf.train.Checkpoint.restore`` on
a TF1 checkpoint finds every variable by it.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping

from graphmode.migrate.splice import offset

# TF1 initializer -> (Keras initializer, its positional parameter names in TF1 order).
_INITIALIZERS = {
    "glorot_uniform_initializer": ("GlorotUniform", ("seed",)),
    "xavier_initializer": ("GlorotUniform", ()),
    "glorot_normal_initializer": ("GlorotNormal", ("seed",)),
    "zeros_initializer": ("Zeros", ()),
    "ones_initializer": ("Ones", ()),
    "constant_initializer": ("Constant", ("value",)),
    "truncated_normal_initializer": ("TruncatedNormal", ("mean", "stddev", "seed")),
    "random_normal_initializer": ("RandomNormal", ("mean", "stddev", "seed")),
    "random_uniform_initializer": ("RandomUniform", ("minval", "maxval", "seed")),
}
_DROPPED_KEYWORDS = {"dtype", "seed"}


class VariableStatementError(ValueError):
    """A variable statement migrate cannot rewrite (the reason is the message)."""


def keras_initializer(node: ast.AST | None, source: str) -> str:
    """The Keras initializer for a TF1 initializer expression (None: get_variable's default, glorot-uniform)."""
    if node is None:
        return "tf.keras.initializers.GlorotUniform()"  # get_variable's default
    if isinstance(node, ast.Call):
        name = ast.unparse(node.func).rsplit(".", 1)[-1]
        if name in _INITIALIZERS:
            keras, positional = _INITIALIZERS[name]
            arguments = [f"{p}={ast.get_source_segment(source, a)}" for p, a in zip(positional, node.args)]
            arguments += [f"{k.arg}={ast.get_source_segment(source, k.value)}" for k in node.keywords
                          if k.arg not in _DROPPED_KEYWORDS]
            return f"tf.keras.initializers.{keras}({', '.join(arguments)})"
    raise VariableStatementError(f"initializer {ast.get_source_segment(source, node)!r} has no Keras counterpart here")


def get_variable_call(call: ast.Call, source: str, name: str) -> str:
    """``tf.get_variable(...)`` as ``tf.Variable(<Keras initializer>(shape), name=name)``."""
    arguments = dict(zip(("name", "shape", "dtype", "initializer", "regularizer", "trainable"), call.args))
    arguments.update({k.arg: k.value for k in call.keywords})
    if "shape" not in arguments:
        raise VariableStatementError("tf.get_variable without a shape")
    shape = ast.get_source_segment(source, arguments["shape"])
    initial = f"{keras_initializer(arguments.get('initializer'), source)}({shape})"
    if "dtype" in arguments:
        initial = f"tf.cast({initial}, {ast.get_source_segment(source, arguments['dtype'])})"
    extra = ""
    if "trainable" in arguments:
        extra = f", trainable={ast.get_source_segment(source, arguments['trainable'])}"
    if "regularizer" in arguments:
        raise VariableStatementError("tf.get_variable(regularizer=...): add the penalty to the loss in TF2")
    return f"tf.Variable({initial}, name={name!r}{extra})"


def variable_statement(text: str, unit, capture: Mapping) -> str:
    """Returns the statement ``text`` as Model code: targets on ``self``, every variable named as in TF1.

    Raises:
        VariableStatementError: the statement creates variables in a way migrate does not rewrite.
    """
    tree = ast.parse(text)
    created = [v["name"] for v in capture["variables"] if v["line"] in unit.lines]
    calls = sorted(
        (node for node in ast.walk(tree) if isinstance(node, ast.Call)
         and ast.unparse(node.func).rsplit(".", 1)[-1] in ("Variable", "get_variable")),
        key=lambda node: (node.lineno, node.col_offset),
    )
    edits: list[tuple[int, int, str]] = []
    if calls and len(calls) != len(created):
        raise VariableStatementError(
            f"{len(calls)} variable calls in the statement but {len(created)} variables were created by it"
        )
    for call, name in zip(calls, created):
        start = offset(text, call.lineno, call.col_offset)
        end = offset(text, call.end_lineno, call.end_col_offset)
        if ast.unparse(call.func).endswith("get_variable"):
            edits.append((start, end, get_variable_call(call, text, name)))
            continue
        keyword = next((k for k in call.keywords if k.arg == "name"), None)
        if keyword is not None:
            value = keyword.value
            edits.append((offset(text, value.lineno, value.col_offset),
                          offset(text, value.end_lineno, value.end_col_offset), repr(name)))
        else:
            edits.append((end - 1, end - 1, f", name={name!r}"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            at = offset(text, node.lineno, node.col_offset)
            edits.append((at, at, "self."))
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    return text
