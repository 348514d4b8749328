"""What a trace hands the eager side: its feeds in ``train_step``'s order and its optimizer's Keras counterpart.

Shared by the trace reference (:mod:`graphmode.parity.reference`) and by
:meth:`EagerModel.from_tf1 <graphmode.parity.run.EagerModel.from_tf1>` with
``trace=``, which builds the TF1 model code's eager run from a recording alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphmode.errors import ConfigError

__all__ = ["feed_order", "keras_optimizer_for", "trace_example_batch"]


def feed_order(feed_names: Sequence[str], inputs: Sequence[str] | None) -> tuple[str, ...]:
    """The recorded placeholder names in the order ``train_step`` takes them (``inputs`` by name, ``:0`` optional).

    Raises:
        ConfigError: ``inputs`` names a placeholder the trace did not record, or repeats one.
    """
    if inputs is None:
        return tuple(feed_names)
    if isinstance(inputs, str):
        inputs = (inputs,)
    by_name = {name: name for name in feed_names} | {name.split(":")[0]: name for name in feed_names}
    order = []
    for name in inputs:
        if name not in by_name:
            raise ConfigError(f"inputs names {name!r}, which the trace did not record as fed; the script fed "
                              f"{[n.split(':')[0] for n in feed_names]} (in that order, the default)")
        order.append(by_name[name])
    if len(set(order)) != len(order):
        raise ConfigError(f"inputs names a placeholder twice: {list(inputs)}")
    return tuple(order)


def trace_example_batch(trace: Any, inputs: Sequence[str] | None = None) -> tuple:
    """The first recorded step's feeds, in ``inputs`` order (default: the order the script fed them)."""
    first = trace.feeds(1)
    return tuple(first[name] for name in feed_order(trace.feed_names, inputs))


def keras_optimizer_for(trace: Any) -> Any:
    """A fresh Keras optimizer with the recorded TF1 optimizer's update rule (:func:`graphmode.train.make_keras_optimizer`).

    Raises:
        ConfigError: the trace records no optimizer graphmode maps, or a learning
            rate that varies (a decay of the global step, a fed value).
    """
    from graphmode.train.keras_map import make_keras_optimizer
    from graphmode.train.optimizers import TF1_DEFAULTS, optimizer_spec

    recorded = trace.optimizer
    if recorded is None or recorded.spec is None:
        kind = "none" if recorded is None else recorded.kind
        raise ConfigError(f"the trace {trace.directory!r} records no TF1 optimizer graphmode can rebuild in Keras "
                          f"(its train op applies: {kind}); build the eager side yourself and pass it as the eager "
                          "factory (--eager module:factory)")
    varies = "learning_rate" in recorded.varying
    if "learning_rate" not in recorded.hyperparameters or (varies and "learning_rate" not in recorded.per_step):
        raise ConfigError(f"the trace's {recorded.kind} learning rate is fed by the script, so its value at later "
                          "steps is not known; build the eager side with the matching Keras schedule and pass it "
                          "as the eager factory (--eager module:factory)")
    hyper = {k: v for k, v in recorded.hyperparameters.items() if k in TF1_DEFAULTS[recorded.spec]}
    rate = recorded.hyperparameters["learning_rate"]
    if varies:
        rate = _recorded_rates(trace)
    return make_keras_optimizer(optimizer_spec(recorded.spec, rate, **hyper))


def _recorded_rates(trace: Any) -> Any:
    """The learning rate each recorded step used, as a TF1 ``piecewise_constant`` of the global step.

    So the Keras counterpart is chosen as for any schedule (graphmode's
    TF1Momentum where Keras SGD's rule would differ) and reads step ``k``'s rate
    at ``iterations == k - 1``, as TF1 read it at ``global_step == k - 1``.
    """
    from graphmode.train.optimizers import PiecewiseConstant

    rates = [trace.hyperparameters(step)["learning_rate"] for step in range(1, trace.steps + 1)]
    boundaries, values = [], [rates[0]]
    for step, rate in enumerate(rates[1:], start=2):
        if rate != values[-1]:
            boundaries.append(step - 2)
            values.append(rate)
    return PiecewiseConstant(tuple(boundaries), tuple(values)) if boundaries else values[0]
