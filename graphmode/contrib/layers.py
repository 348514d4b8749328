"""``tf.contrib.layers`` functions whose ``tf.compat.v1`` counterparts have other defaults.

Written from TF 1.15's documentation of each function (signature, defaults,
formula, variable names, collections), on ``tf.compat.v1`` ops, so a TF1
script that calls ``tf.contrib.layers.fully_connected(x, 10)`` under
``graphmode run`` builds what TF 1.15 built: a relu layer with variables
``fully_connected/weights`` and ``fully_connected/biases``, in the global,
trainable and model-variable collections.

Arguments of TF 1.15 this module does not implement (``batch_norm``'s
``renorm``, ``batch_weights``, ``adjustment``) raise
:class:`graphmode.errors.ContribArgumentError` naming the argument rather than
being ignored.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence

from graphmode._runtime import v1
from graphmode.errors import ContribArgumentError

_MODES = ("FAN_IN", "FAN_OUT", "FAN_AVG")
# TF 1.15's default biases_initializer (one shared instance: initializers hold no state).
_ZEROS = v1.zeros_initializer()


def _fans(shape: Sequence[int]) -> tuple[float, float]:
    """fan_in and fan_out as TF1's initializers count them (conv kernels: receptive field x channels)."""
    if not shape:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    receptive_field = 1.0
    for dim in shape[:-2]:
        receptive_field *= float(dim)
    return float(shape[-2]) * receptive_field, float(shape[-1]) * receptive_field


def variance_scaling_initializer(
    factor: float = 2.0, mode: str = "FAN_IN", uniform: bool = False, seed: int | None = None,
    dtype=v1.float32,
) -> Callable:
    """``tf.contrib.layers.variance_scaling_initializer``: He initialization by default.

    ``n`` is fan_in, fan_out or their mean (``mode``). Uniform draws from
    ``[-sqrt(3 factor / n), sqrt(3 factor / n)]``; otherwise a normal truncated
    at two standard deviations whose parameter is ``sqrt(1.3 factor / n)``, so the
    samples' standard deviation is ``sqrt(factor / n)`` as TF 1.15 documents.

    Raises:
        TypeError: ``mode`` is not one of ``FAN_IN``, ``FAN_OUT``, ``FAN_AVG``.
        ValueError: ``dtype`` is not a floating point type.
    """
    if not v1.as_dtype(dtype).is_floating:
        raise ValueError(f"variance_scaling_initializer: dtype must be a floating point type, got {dtype!r}")
    if mode not in _MODES:
        raise TypeError(f"variance_scaling_initializer: mode must be one of {list(_MODES)}, got {mode!r}")

    def initializer(shape, dtype=dtype, partition_info=None):
        if not v1.as_dtype(dtype).is_floating:
            raise TypeError(f"variance_scaling_initializer cannot initialize a {v1.as_dtype(dtype).name} variable")
        full_shape = shape if partition_info is None else partition_info.full_shape
        fan_in, fan_out = _fans([int(dim) for dim in full_shape])
        n = {"FAN_IN": fan_in, "FAN_OUT": fan_out, "FAN_AVG": (fan_in + fan_out) / 2.0}[mode]
        if uniform:
            limit = math.sqrt(3.0 * factor / n)
            return v1.random_uniform(shape, -limit, limit, dtype, seed=seed)
        # 1.3 undoes the variance a 2-sigma truncation removes (0.774 of it).
        return v1.truncated_normal(shape, 0.0, math.sqrt(1.3 * factor / n), dtype, seed=seed)

    return initializer


def xavier_initializer(uniform: bool = True, seed: int | None = None, dtype=v1.float32) -> Callable:
    """``tf.contrib.layers.xavier_initializer``: ``variance_scaling_initializer(1.0, 'FAN_AVG', uniform)``."""
    return variance_scaling_initializer(factor=1.0, mode="FAN_AVG", uniform=uniform, seed=seed, dtype=dtype)


xavier_initializer_conv2d = xavier_initializer


def _check_scale(scale: float, name: str) -> None:
    if isinstance(scale, numbers.Integral):
        raise ValueError(f"{name}: scale cannot be an integer: {scale!r} (write {float(scale)!r})")
    if isinstance(scale, numbers.Real) and scale < 0.0:
        raise ValueError(f"{name}: setting a scale less than 0 on a regularizer: {scale!r}")


def _scaled_regularizer(scale: float, scope: str | None, function: str, penalty: Callable) -> Callable:
    """``w -> scale * penalty(w)`` in a ``function`` name scope; None (no loss) for a 0.0 scale, as TF 1.15."""
    _check_scale(scale, function)
    if isinstance(scale, numbers.Real) and scale == 0.0:
        return lambda _weights: None

    def regularizer(weights):
        with v1.name_scope(scope, function, [weights]) as name:
            factor = v1.convert_to_tensor(scale, dtype=weights.dtype.base_dtype, name="scale")
            return v1.multiply(factor, penalty(weights), name=name)

    return regularizer


def l2_regularizer(scale: float, scope: str | None = None) -> Callable:
    """``tf.contrib.layers.l2_regularizer``: ``w -> scale * tf.nn.l2_loss(w)`` = ``scale * sum(w**2) / 2``.

    A scale of 0.0 gives a regularizer that returns None (no loss), as in TF 1.15.

    Raises:
        ValueError: ``scale`` is an integer or negative.
    """
    return _scaled_regularizer(scale, scope, "l2_regularizer", v1.nn.l2_loss)


def l1_regularizer(scale: float, scope: str | None = None) -> Callable:
    """``tf.contrib.layers.l1_regularizer``: ``w -> scale * sum(|w|)``; a 0.0 scale returns None.

    Raises:
        ValueError: ``scale`` is an integer or negative.
    """
    return _scaled_regularizer(scale, scope, "l1_regularizer", lambda weights: v1.reduce_sum(v1.abs(weights)))


def collect_named_outputs(collections: Sequence[str] | str | None, alias: str, outputs):
    """Adds ``outputs`` to ``collections`` under ``alias`` (TF 1.15's ``outputs_collections``)."""
    if collections:
        alias = alias.rstrip("/")
        # contrib's layers tagged each collected output with the layer's scope
        # (slim's convert_collection_to_dict reads it); graph tensors accept it.
        try:
            outputs.alias = alias
        except AttributeError:
            pass
        v1.add_to_collections(collections, outputs)
    return outputs


def _variable_collections(variables_collections, key: str) -> list[str]:
    """``variables_collections`` is a list for all variables or a dict by variable kind."""
    if isinstance(variables_collections, Mapping):
        extra = variables_collections.get(key) or []
    else:
        extra = variables_collections or []
    extra = [extra] if isinstance(extra, str) else list(extra)
    return [v1.GraphKeys.GLOBAL_VARIABLES, v1.GraphKeys.MODEL_VARIABLES, *extra]


def model_variable(name: str, shape, dtype, initializer, regularizer, trainable: bool, collections: list[str]):
    """A variable in the model-variable collection, as contrib's layers made them."""
    return v1.get_variable(name, shape=shape, dtype=dtype, initializer=initializer, regularizer=regularizer,
                           trainable=trainable, collections=collections)


def fully_connected(
    inputs, num_outputs: int, activation_fn: Callable | None = v1.nn.relu, normalizer_fn: Callable | None = None,
    normalizer_params: dict | None = None, weights_initializer: Callable | None = None,
    weights_regularizer: Callable | None = None, biases_initializer: Callable | None = _ZEROS,
    biases_regularizer: Callable | None = None, reuse: bool | None = None, variables_collections=None,
    outputs_collections=None, trainable: bool = True, scope: str | None = None,
):
    """``tf.contrib.layers.fully_connected``: ``activation_fn(inputs @ weights + biases)``, relu by default.

    Variables ``<scope>/weights`` (``[in, num_outputs]``, Xavier uniform by
    default) and ``<scope>/biases`` (zeros; none when ``normalizer_fn`` is given
    or ``biases_initializer`` is None); ``scope`` defaults to a unique
    ``fully_connected``. Inputs of rank > 2 are multiplied along their last
    dimension. A ``normalizer_fn`` is applied before the activation.

    Raises:
        ValueError: ``num_outputs`` is not an int, or the last input dimension is unknown.
    """
    if not isinstance(num_outputs, numbers.Integral) or isinstance(num_outputs, bool):
        raise ValueError(f"fully_connected: num_outputs must be an int, got {num_outputs!r}")
    with v1.variable_scope(scope, "fully_connected", [inputs], reuse=reuse) as layer_scope:
        inputs = v1.convert_to_tensor(inputs)
        dtype = inputs.dtype.base_dtype
        depth = inputs.shape[-1] if inputs.shape.rank else None
        if depth is None:
            raise ValueError(
                f"fully_connected: the last dimension of {inputs.name} (shape {inputs.shape}) must be known"
            )
        weights = model_variable(
            "weights", [int(depth), int(num_outputs)], dtype, weights_initializer or xavier_initializer(),
            weights_regularizer, trainable, _variable_collections(variables_collections, "weights"))
        if inputs.shape.rank > 2:
            outputs = v1.tensordot(inputs, weights, [[inputs.shape.rank - 1], [0]])
            outputs.set_shape(inputs.shape[:-1].concatenate([num_outputs]))
        else:
            outputs = v1.matmul(inputs, weights)
        if normalizer_fn is None and biases_initializer is not None:
            biases = model_variable("biases", [int(num_outputs)], dtype, biases_initializer, biases_regularizer,
                                    trainable, _variable_collections(variables_collections, "biases"))
            outputs = v1.nn.bias_add(outputs, biases)
        if normalizer_fn is not None:
            outputs = normalizer_fn(outputs, **(normalizer_params or {}))
        if activation_fn is not None:
            outputs = activation_fn(outputs)
        return collect_named_outputs(outputs_collections, layer_scope.name, outputs)


def linear(inputs, num_outputs: int, **arguments):
    """``tf.contrib.layers.linear``: :func:`fully_connected` with ``activation_fn=None``."""
    return fully_connected(inputs, num_outputs, activation_fn=None, **arguments)


def flatten(inputs, outputs_collections=None, scope: str | None = None):
    """``tf.contrib.layers.flatten``: ``[batch, d1, ..., dk]`` -> ``[batch, d1 * ... * dk]`` (scope ``Flatten``).

    Raises:
        ValueError: the inputs' rank is unknown or below 2.
    """
    with v1.name_scope(scope, "Flatten", [inputs]) as name:
        inputs = v1.convert_to_tensor(inputs)
        rank = inputs.shape.rank
        if rank is None or rank < 2:
            raise ValueError(f"flatten: inputs must have a known rank of at least 2, got shape {inputs.shape} "
                             f"of {inputs.name}")
        static = inputs.shape.as_list()
        if all(dim is not None for dim in static[1:]):
            width = 1
            for dim in static[1:]:
                width *= dim
            outputs = v1.reshape(inputs, [-1, width], name=name)
        else:
            dynamic = v1.shape(inputs)
            outputs = v1.reshape(inputs, v1.stack([dynamic[0], v1.reduce_prod(dynamic[1:])]), name=name)
        outputs.set_shape([static[0], None if None in static[1:] else outputs.shape[1]])
        return collect_named_outputs(outputs_collections, name, outputs)


def unsupported(function: str, **arguments) -> None:
    """Raises ContribArgumentError for the first TF 1.15 argument given a value graphmode does not implement."""
    for name, value in arguments.items():
        if value not in (None, False):
            raise ContribArgumentError(
                f"tf.contrib.layers.{function}({name}={value!r}) is not supported by graphmode's adapter; "
                f"leave {name} at its default, or install tf-slim (pip install 'graphmode[contrib]') "
                f"and call tf_slim.{function}"
            )
