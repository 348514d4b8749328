"""Checking a TF2 rewrite against a recorded trace of the TF1 original: ``check_parity(Trace(DIR), build_eager)``.

The same comparison as against a live graph, with the recording as the
reference (:class:`~graphmode.parity.reference.TraceReference`): before each
recorded step the eager side gets the recorded state (variables, optimizer
slots and counters, mapped by :mod:`graphmode._slots`), takes one step on the
recorded feeds, and its loss and state are compared with the recorded ones
(:mod:`graphmode.parity.lockstep`). The eager side's own initial values are
checked against the recorded ones (:mod:`graphmode.parity.initializers`), and a
free run from the recorded start is kept as information. Nothing of TF1 runs:
no graph, no session, no script, no data files, so the check works in a
process that never switched to the TF1 API, with tf-keras or Keras 3.

Example:
    >>> report = gm.check_parity(gm.Trace("traces/regress"), build_eager, inputs=("x_data", "y_target"))
    >>> gm.assert_parity(report)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from graphmode.errors import ConfigError
from graphmode.parity.compare import compare_trajectories
from graphmode.parity.divergence import Trajectory
from graphmode.parity.initializers import check_initializers
from graphmode.parity.lockstep import run_lockstep_against
from graphmode.parity.progress import progress
from graphmode.parity.reference import TraceReference
from graphmode.parity.report import ParityReport
from graphmode.parity.run import (
    EagerModel,
    built_eager_model,
    free_eager_run,
)

__all__ = ["check_trace_parity", "is_trace"]


def is_trace(value: object) -> bool:
    """True for a :class:`graphmode.Trace`."""
    from graphmode.trace.reader import Trace

    return isinstance(value, Trace)


def _free_reference(reference: TraceReference, steps: int) -> Trajectory:
    trace, names = reference.trace, list(reference.state.model)
    states = [trace.state(step) for step in range(steps + 1)]
    losses = [trace.loss(step) for step in range(1, steps + 1)]
    variables = {name: np.stack([np.asarray(s[name], np.float64) for s in states]) for name in names}
    return Trajectory("trace", np.asarray(losses, np.float64).reshape(-1), variables)


def check_trace_parity(
    trace: Any,
    build_eager: Callable[[], EagerModel],
    *,
    inputs: Sequence[str] | None = None,
    steps: int | None = None,
    atol: float,
    rtol: float,
    name_map: Mapping[str, str] | None = None,
    initial_values: str | None = None,
    verdict: str = "lockstep",
) -> ParityReport:
    """Compares the eager rewrite with a recorded trace, step by step, on the recorded feeds.

    Args:
        trace: the :class:`graphmode.Trace` (the reference).
        build_eager: builds the TF2 side; called twice (lockstep, then the free
            run), fresh variables and optimizer each time.
        inputs: the placeholder names (``"x"`` or ``"x:0"``) in the order
            ``train_step(*batch)`` takes them; None: the order the script fed them.
        steps: compare the first ``steps`` recorded steps (None: all).
        atol: absolute tolerance.
        rtol: relative tolerance (times the quantity's largest recorded value in lockstep).
        name_map: recorded name -> eager name where they differ (slots and counters too).
        initial_values: None (the recorded start is copied to the eager side,
            whose own initial values are then checked against the recorded
            distribution) or ``"own"`` (the eager side keeps its own, compared at step 0).
        verdict: ``"lockstep"`` or ``"free"``: which comparison decides ``ok``.

    Returns:
        The :class:`ParityReport`, the trace as reference, the rewrite as candidate.

    Raises:
        ConfigError: ``inputs`` names a placeholder the trace did not record, ``steps``
            exceeds the recording, a builder returns the wrong type, ``initial_values``
            is a mapping (the trace's own start is the initial value).
        TraceError: a trace file is missing or was changed.
    """
    if initial_values not in (None, "own"):
        raise ConfigError(f"against a trace, initial_values must be None (the recorded start) or 'own'; got "
                          f"{type(initial_values).__name__}: the trace's state before step 1 is the initial value")
    reference = TraceReference(trace, inputs, steps)
    batches = reference.batches()
    lockstep_model = built_eager_model(build_eager)
    lockstep = run_lockstep_against(reference, lockstep_model, progress(batches, "parity lockstep (trace)"),
                                    atol=atol, rtol=rtol, copy_initial=initial_values != "own", name_map=name_map)
    initializers = check_initializers(lockstep.own_initial) if initial_values is None else ()
    # The free run compares the steps whose states are all recorded (every step, without a size cap), and
    # needs the loss: a script that never fetched it leaves lockstep's state comparison as the only one.
    free_steps = reference.free_steps() if trace.loss(1) is not None else 0
    recorded = _free_reference(reference, free_steps)
    candidate, pairs = free_eager_run(recorded, build_eager, lockstep_model, batches[:free_steps],
                                      "parity free run (trace)", name_map=name_map,
                                      copy_initial=initial_values != "own")
    free = compare_trajectories(recorded, candidate, atol=atol, rtol=rtol, name_map=pairs)
    return dataclasses.replace(free, lockstep=lockstep.report, initializers=initializers, verdict=verdict)



def tf1_model_factory(trace: Any, build_fn: Callable[..., Any],
                      inputs: Sequence[str] | None = None) -> Callable[[], EagerModel]:
    """A ``build_eager`` running the TF1 model code ``build_fn`` eagerly against ``trace``.

    Each call is ``EagerModel.from_tf1(build_fn, trace=trace, inputs=inputs)``: the
    recorded optimizer's Keras counterpart, the first recorded feeds as example batch.
    """

    def build() -> EagerModel:
        return EagerModel.from_tf1(build_fn, trace=trace, inputs=inputs)

    return build
