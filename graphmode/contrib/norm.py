"""``tf.contrib.layers.batch_norm`` with TF 1.15's defaults, on ``tf.compat.v1`` ops.

TF 1.15's defaults differ from ``tf.compat.v1.layers.batch_normalization``'s:
decay 0.999 (not momentum 0.99), ``scale=False`` (no gamma), ``is_training=True``,
scope ``BatchNorm`` with variables ``beta``, ``gamma``, ``moving_mean``,
``moving_variance`` (model variables), and the moving-average updates placed in
``tf.GraphKeys.UPDATE_OPS`` (or run in place with ``updates_collections=None``).

Training normalizes with the batch moments over every axis but the channel
axis (last for NHWC, second for NCHW) and moves each statistic ``s`` by
``s -= (1 - decay) * (s - batch_value)``. As in TF 1.15, rank-2 and rank-4
float32 inputs take the fused kernel unless ``fused=False``: it feeds the
moving variance the *unbiased* batch variance (``n / (n - 1)`` times the one it
normalizes with); other inputs use the biased one. Inference normalizes with
the moving statistics.
"""

from __future__ import annotations

from collections.abc import Callable

from graphmode._runtime import v1
from graphmode.contrib.layers import _variable_collections, collect_named_outputs, model_variable, unsupported

_FUSED_DTYPES = ("float16", "bfloat16", "float32")


def _static_bool(value):
    """True/False when ``is_training`` is known while building, else None (a tensor decides at run time)."""
    if isinstance(value, bool):
        return value
    constant = v1.get_static_value(value) if v1.is_tensor(value) else bool(value)
    return None if constant is None else bool(constant)


def _move_towards(variable, value, decay: float):
    """``variable -= (1 - decay) * (variable - value)``: one step of an exponential moving average."""
    step = v1.cast(1.0 - decay, variable.dtype.base_dtype)
    return v1.assign_sub(variable, (variable - v1.cast(value, variable.dtype.base_dtype)) * step)


def batch_norm(
    inputs, decay: float = 0.999, center: bool = True, scale: bool = False, epsilon: float = 0.001,
    activation_fn: Callable | None = None, param_initializers: dict | None = None,
    param_regularizers: dict | None = None, updates_collections=v1.GraphKeys.UPDATE_OPS, is_training=True,
    reuse: bool | None = None, variables_collections=None, outputs_collections=None, trainable: bool = True,
    batch_weights=None, fused: bool | None = None, data_format: str = "NHWC", zero_debias_moving_mean: bool = False,
    scope: str | None = None, renorm: bool = False, renorm_clipping=None, renorm_decay: float = 0.99,
    adjustment=None,
):
    """``tf.contrib.layers.batch_norm`` (Ioffe & Szegedy, 2015) with TF 1.15's defaults.

    Raises:
        ValueError: the inputs' rank is unknown or below 2, the channel dimension
            is unknown, or ``data_format`` is neither ``NHWC`` nor ``NCHW``.
        ContribArgumentError: ``batch_weights``, ``renorm``, ``adjustment`` or
            ``zero_debias_moving_mean`` is given.
    """
    del renorm_decay, renorm_clipping  # only meaningful with renorm, which is refused below
    unsupported("batch_norm", batch_weights=batch_weights, renorm=renorm, adjustment=adjustment,
                zero_debias_moving_mean=zero_debias_moving_mean)
    if data_format not in ("NHWC", "NCHW"):
        raise ValueError(f"batch_norm: data_format must be 'NHWC' or 'NCHW', got {data_format!r}")
    initializers = param_initializers or {}
    regularizers = param_regularizers or {}
    with v1.variable_scope(scope, "BatchNorm", [inputs], reuse=reuse) as layer_scope:
        inputs = v1.convert_to_tensor(inputs)
        rank = inputs.shape.rank
        if rank is None or rank < 2:
            raise ValueError(f"batch_norm: inputs must have a known rank of at least 2, got shape {inputs.shape} "
                             f"of {inputs.name}")
        axis = 1 if data_format == "NCHW" else rank - 1
        channels = inputs.shape[axis]
        if channels is None:
            raise ValueError(f"batch_norm: the channel dimension (axis {axis}) of {inputs.name} "
                             f"(shape {inputs.shape}) must be known")
        dtype = inputs.dtype.base_dtype
        params_shape = [int(channels)]

        def variable(name: str, default, trainable_here: bool, regularizer=None):
            return model_variable(name, params_shape, dtype, initializers.get(name, default), regularizer,
                                  trainable_here, _variable_collections(variables_collections, name))

        beta = variable("beta", v1.zeros_initializer(), trainable, regularizers.get("beta")) if center else None
        gamma = variable("gamma", v1.ones_initializer(), trainable, regularizers.get("gamma")) if scale else None
        moving_mean = variable("moving_mean", v1.zeros_initializer(), False)
        moving_variance = variable("moving_variance", v1.ones_initializer(), False)

        use_fused = fused is not False and rank in (2, 4) and dtype.name in _FUSED_DTYPES
        reduce_axes = [i for i in range(rank) if i != axis]
        broadcast = [1] * rank
        broadcast[axis] = int(channels)

        def normalize_with(mean, variance):
            def shaped(tensor):
                return None if tensor is None else v1.reshape(tensor, broadcast)
            return v1.nn.batch_normalization(inputs, shaped(mean), shaped(variance), shaped(beta), shaped(gamma),
                                             epsilon)

        def training_outputs():
            if use_fused:
                as_4d = v1.reshape(inputs, [-1, 1, 1, int(channels)]) if rank == 2 else inputs
                ones, zeros = v1.ones(params_shape, dtype), v1.zeros(params_shape, dtype)
                outputs, mean, variance = v1.nn.fused_batch_norm(
                    as_4d, gamma if gamma is not None else ones, beta if beta is not None else zeros,
                    epsilon=epsilon, data_format=data_format if rank == 4 else "NHWC", is_training=True)
                return (v1.reshape(outputs, v1.shape(inputs)) if rank == 2 else outputs), mean, variance
            mean, variance = v1.nn.moments(inputs, reduce_axes)
            return normalize_with(mean, variance), mean, variance

        training = _static_bool(is_training)
        if training is True:
            outputs, batch_mean, batch_variance = training_outputs()
        elif training is False:
            outputs = normalize_with(moving_mean, moving_variance)
        else:
            outputs, batch_mean, batch_variance = v1.cond(
                is_training, training_outputs,
                lambda: (normalize_with(moving_mean, moving_variance), v1.identity(moving_mean),
                         v1.identity(moving_variance)))
        outputs.set_shape(inputs.shape)

        if training is not False:
            def moving_average_updates():
                with v1.name_scope("AssignMovingAvg"):
                    return (_move_towards(moving_mean, batch_mean, decay),
                            _move_towards(moving_variance, batch_variance, decay))

            if training is True:
                updates = moving_average_updates()
            else:
                # Run-time is_training: the moving statistics move only on training steps.
                updates = v1.cond(is_training, moving_average_updates,
                                  lambda: (v1.identity(moving_mean), v1.identity(moving_variance)))
            if updates_collections is None:
                with v1.control_dependencies(list(updates)):
                    outputs = v1.identity(outputs)
            else:
                for update in updates:
                    v1.add_to_collections(updates_collections, update)

        if activation_fn is not None:
            outputs = activation_fn(outputs)
        return collect_named_outputs(outputs_collections, layer_scope.name, outputs)
