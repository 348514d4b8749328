"""TF1 ``tf.losses`` calls as the TF2 expressions they compute.

In TF2, ``tf.losses`` is Keras' losses module: ``tf.losses.mean_squared_error(y, p)``
still runs there but returns one loss per example instead of TF1's scalar mean,
so a kept call would train on another quantity. With TF1's defaults (``weights=1.0``,
``reduction=SUM_BY_NONZERO_WEIGHTS``) each loss is the mean over all elements:

* ``tf.losses.mean_squared_error(labels, predictions)`` ->
  ``tf.reduce_mean(tf.math.squared_difference(predictions, labels))``
* ``tf.losses.absolute_difference(labels, predictions)`` -> ``tf.reduce_mean(tf.abs(predictions - labels))``
* ``tf.losses.softmax_cross_entropy(onehot_labels, logits)`` ->
  ``tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=onehot_labels, logits=logits))``
* ``tf.losses.sparse_softmax_cross_entropy(labels, logits)`` ->
  ``tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))``

Other arguments (weights, reductions, label smoothing) are refused with the reason.
"""

from __future__ import annotations

import ast

from graphmode.migrate.splice import Render, rewrite_calls

_MODULES = ("tf.losses", "tf.compat.v1.losses")
# TF1 loss -> (its two tensor parameters in order, the TF2 expression written from them).
_LOSSES = {
    "mean_squared_error": (("labels", "predictions"), "tf.reduce_mean(tf.math.squared_difference({1}, {0}))"),
    "absolute_difference": (("labels", "predictions"), "tf.reduce_mean(tf.abs({1} - {0}))"),
    "softmax_cross_entropy": (("onehot_labels", "logits"),
                              "tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels={0}, logits={1}))"),
    "sparse_softmax_cross_entropy": (
        ("labels", "logits"), "tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels={0}, logits={1}))"
    ),
}
_DEFAULTS_ONLY = {"scope", "loss_collection"}  # arguments that change nothing computed


class LossError(ValueError):
    """A TF1 loss call migrate cannot write as the same TF2 computation (the reason is the message)."""


def _loss(call: ast.Call) -> str | None:
    module, _, name = ast.unparse(call.func).rpartition(".")
    return name if module in _MODULES and name in _LOSSES else None


def tf2_losses(text: str) -> str:
    """``text`` (one statement) with each TF1 ``tf.losses`` call written as its TF2 computation.

    Raises:
        LossError: a call with weights, another reduction or label smoothing.
    """

    def replace(call: ast.Call, render: Render) -> str:
        name = _loss(call)
        parameters, template = _LOSSES[name]
        bound = dict(zip(parameters, call.args))
        bound.update({k.arg: k.value for k in call.keywords})
        extra = sorted(set(bound) - set(parameters) - _DEFAULTS_ONLY)
        if extra or len(call.args) > len(parameters) or any(p not in bound for p in parameters):
            raise LossError(f"tf.losses.{name} with {extra or 'other arguments'}: migrate writes TF1's default "
                            "weighting (the mean over all elements) only")
        return template.format(*(render(bound[p]) for p in parameters))

    return rewrite_calls(text, lambda call: _loss(call) is not None, replace)
