"""``tf.contrib.layers`` convolution and pooling with TF 1.15's defaults, on ``tf.compat.v1`` ops.

``conv2d`` differs from ``tf.compat.v1.layers.conv2d`` in its defaults (relu,
``padding='SAME'``, Xavier weights) and names (scope ``Conv``, variables
``Conv/weights`` ``[kh, kw, in, out]`` and ``Conv/biases`` as model variables);
``max_pool2d`` / ``avg_pool2d`` default to ``stride=2``, ``padding='VALID'``.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence

from graphmode._runtime import v1
from graphmode.contrib.layers import (
    _ZEROS,
    _variable_collections,
    collect_named_outputs,
    model_variable,
    xavier_initializer,
)


def _pair(value: int | Sequence[int], name: str, function: str) -> list[int]:
    if isinstance(value, numbers.Integral):
        return [int(value), int(value)]
    pair = list(value)
    if len(pair) != 2 or not all(isinstance(v, numbers.Integral) for v in pair):
        raise ValueError(f"{function}: {name} must be an int or a pair of ints, got {value!r}")
    return [int(v) for v in pair]


def _check_format(data_format: str | None, function: str) -> str:
    data_format = data_format or "NHWC"
    if data_format not in ("NHWC", "NCHW"):
        raise ValueError(f"{function}: data_format must be 'NHWC' or 'NCHW', got {data_format!r}")
    return data_format


def conv2d(
    inputs, num_outputs: int, kernel_size, stride=1, padding: str = "SAME", data_format: str | None = None,
    rate=1, activation_fn: Callable | None = v1.nn.relu, normalizer_fn: Callable | None = None,
    normalizer_params: dict | None = None, weights_initializer: Callable | None = None,
    weights_regularizer: Callable | None = None, biases_initializer: Callable | None = _ZEROS,
    biases_regularizer: Callable | None = None, reuse: bool | None = None, variables_collections=None,
    outputs_collections=None, trainable: bool = True, scope: str | None = None,
):
    """``tf.contrib.layers.conv2d``: ``activation_fn(conv(inputs, weights) + biases)``, relu and SAME by default.

    Raises:
        ValueError: inputs that are not rank 4, an unknown channel dimension, a
            bad ``kernel_size`` / ``stride`` / ``rate`` / ``data_format``, or both
            ``stride`` and ``rate`` above 1.
    """
    data_format = _check_format(data_format, "conv2d")
    kernel = _pair(kernel_size, "kernel_size", "conv2d")
    strides = _pair(stride, "stride", "conv2d")
    rates = _pair(rate, "rate", "conv2d")
    if max(strides) > 1 and max(rates) > 1:
        raise ValueError(f"conv2d: stride {stride!r} and rate {rate!r} cannot both be above 1")
    with v1.variable_scope(scope, "Conv", [inputs], reuse=reuse) as layer_scope:
        inputs = v1.convert_to_tensor(inputs)
        if inputs.shape.rank != 4:
            raise ValueError(f"conv2d: inputs must be rank 4 ({data_format}), got shape {inputs.shape} of {inputs.name}")
        channels = inputs.shape[1 if data_format == "NCHW" else 3]
        if channels is None:
            raise ValueError(f"conv2d: the channel dimension of {inputs.name} (shape {inputs.shape}) must be known")
        dtype = inputs.dtype.base_dtype
        weights = model_variable(
            "weights", [*kernel, int(channels), int(num_outputs)], dtype, weights_initializer or xavier_initializer(),
            weights_regularizer, trainable, _variable_collections(variables_collections, "weights"))
        outputs = v1.nn.convolution(inputs, weights, padding, strides=strides, dilation_rate=rates,
                                    data_format=data_format)
        if normalizer_fn is None and biases_initializer is not None:
            biases = model_variable("biases", [int(num_outputs)], dtype, biases_initializer, biases_regularizer,
                                    trainable, _variable_collections(variables_collections, "biases"))
            outputs = v1.nn.bias_add(outputs, biases, data_format=data_format)
        if normalizer_fn is not None:
            outputs = normalizer_fn(outputs, **(normalizer_params or {}))
        if activation_fn is not None:
            outputs = activation_fn(outputs)
        return collect_named_outputs(outputs_collections, layer_scope.name, outputs)


def _pool(pool: Callable, default_scope: str, function: str, inputs, kernel_size, stride, padding: str,
          data_format: str, outputs_collections, scope: str | None):
    data_format = _check_format(data_format, function)
    kernel = _pair(kernel_size, "kernel_size", function)
    strides = _pair(stride, "stride", function)
    with v1.name_scope(scope, default_scope, [inputs]) as name:
        inputs = v1.convert_to_tensor(inputs)
        if inputs.shape.rank != 4:
            raise ValueError(f"{function}: inputs must be rank 4 ({data_format}), got shape {inputs.shape}")
        outputs = pool(inputs, kernel, strides, padding, data_format=data_format, name=name)
        return collect_named_outputs(outputs_collections, name, outputs)


def max_pool2d(inputs, kernel_size, stride=2, padding: str = "VALID", data_format: str = "NHWC",
               outputs_collections=None, scope: str | None = None):
    """``tf.contrib.layers.max_pool2d``: stride 2 and VALID padding by default (scope ``MaxPool2D``).

    Raises:
        ValueError: inputs that are not rank 4, or a bad ``kernel_size`` / ``stride`` / ``data_format``.
    """
    return _pool(v1.nn.max_pool2d, "MaxPool2D", "max_pool2d", inputs, kernel_size, stride, padding, data_format,
                 outputs_collections, scope)


def avg_pool2d(inputs, kernel_size, stride=2, padding: str = "VALID", data_format: str = "NHWC",
               outputs_collections=None, scope: str | None = None):
    """``tf.contrib.layers.avg_pool2d``: stride 2 and VALID padding by default (scope ``AvgPool2D``).

    Raises:
        ValueError: inputs that are not rank 4, or a bad ``kernel_size`` / ``stride`` / ``data_format``.
    """
    return _pool(v1.nn.avg_pool2d, "AvgPool2D", "avg_pool2d", inputs, kernel_size, stride, padding, data_format,
                 outputs_collections, scope)
