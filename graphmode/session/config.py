"""Session configuration: ``session_config`` and the checks of timeouts and run options."""

from __future__ import annotations

import math

from graphmode._runtime import v1
from graphmode.errors import ConfigError, ConfigTypeError


def session_config(
    config: v1.ConfigProto | None = None,
    *,
    allow_soft_placement: bool | None = None,
    log_device_placement: bool | None = None,
    intra_op_threads: int | None = None,
    inter_op_threads: int | None = None,
    timeout: float | None = None,
    xla_auto_jit: bool | None = None,
) -> v1.ConfigProto:
    """Returns a ``ConfigProto``: a copy of ``config`` with the given options set.

    Args:
        config: a starting ``ConfigProto`` (left unchanged), or None.
        allow_soft_placement: run ops on an available device when the requested one is missing.
        log_device_placement: have TensorFlow log placement (graphmode also records it as data).
        intra_op_threads: threads one op may use (0 lets TensorFlow choose).
        inter_op_threads: ops that may run at once (0 lets TensorFlow choose; -1 runs
            every op in the calling thread, the cheapest setting for tiny steps).
        timeout: seconds any blocking op may wait, for every run of the session.
        xla_auto_jit: compile clusters of ops with XLA (``GlobalJitLevel.ON_1``).

    Raises:
        ConfigError: a count or timeout is negative.
        ConfigTypeError: ``config`` is not a ``ConfigProto``.
    """
    proto = v1.ConfigProto()
    if config is not None:
        if not isinstance(config, v1.ConfigProto):
            raise ConfigTypeError(f"config must be a tf.compat.v1.ConfigProto; got {type(config).__name__}")
        proto.CopyFrom(config)
    if intra_op_threads is not None and intra_op_threads < 0:
        raise ConfigError(f"intra_op_threads must be >= 0 (0 lets TensorFlow choose); got {intra_op_threads}")
    if inter_op_threads is not None and inter_op_threads < -1:
        raise ConfigError(
            f"inter_op_threads must be >= -1 (0 lets TensorFlow choose, -1 runs ops in the calling thread); "
            f"got {inter_op_threads}"
        )
    check_timeout(timeout)
    if allow_soft_placement is not None:
        proto.allow_soft_placement = allow_soft_placement
    if log_device_placement is not None:
        proto.log_device_placement = log_device_placement
    if intra_op_threads is not None:
        proto.intra_op_parallelism_threads = intra_op_threads
    if inter_op_threads is not None:
        proto.inter_op_parallelism_threads = inter_op_threads
    if timeout is not None:
        proto.operation_timeout_in_ms = max(1, round(timeout * 1000))
    if xla_auto_jit is not None:
        jit = v1.OptimizerOptions.ON_1 if xla_auto_jit else v1.OptimizerOptions.OFF
        proto.graph_options.optimizer_options.global_jit_level = jit
    return proto


def check_timeout(timeout: float | None) -> None:
    # `not timeout > 0` also refuses NaN, which `timeout <= 0` lets through.
    if timeout is not None and not (isinstance(timeout, (int, float)) and timeout > 0 and math.isfinite(timeout)):
        raise ConfigError(f"timeout must be a positive, finite number of seconds; got {timeout!r}")


def run_options(options: v1.RunOptions | None, timeout: float | None, record: bool) -> v1.RunOptions:
    """Returns a copy of the caller's ``RunOptions`` (left unchanged) with graphmode's timeout and recording."""
    copied = v1.RunOptions()
    if options is not None:
        copied.CopyFrom(options)
    if timeout is not None:
        check_timeout(timeout)
        copied.timeout_in_ms = max(1, round(timeout * 1000))
    if record:
        copied.output_partition_graphs = True
    return copied


def hand_over_metadata(own: v1.RunMetadata, callers: v1.RunMetadata, asked: v1.RunOptions | None) -> None:
    """Fills the caller's ``RunMetadata`` from graphmode's own, as TensorFlow would for the caller's options.

    Recording placement asks TensorFlow for partition graphs; they stay
    graphmode's unless the caller's own options asked for them too.
    """
    callers.CopyFrom(own)
    if asked is None or not asked.output_partition_graphs:
        callers.ClearField("partition_graphs")
        callers.ClearField("function_graphs")
