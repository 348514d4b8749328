"""Lockstep: every step of the eager side starts from the graph side's exact state.

Before each step the eager variables, its Keras optimizer's slots and its
``iterations`` are set to the graph's values (:mod:`graphmode.parity.state`
pairs them); both sides take one step on the same batch; the step's loss and
the whole state after it are compared (:mod:`graphmode.parity.lockstep_report`
has the rule). Differences cannot compound, so a correct port stays within a
few ulps at every step and a mistake shows at its first step at full size.

Step 1 runs from each side's own optimizer start (TF1 RMSProp starts its mean
square at 1, Keras at 0: that is part of the port), so slots and counters are
carried over from step 2 on. The graph side trains freely throughout and its
run is also the reference of the free-running comparison.

The transfer per step is one session callable reading the graph's state and
one ``tf.function`` assigning it to the eager variables; no graph is rebuilt.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from graphmode._runtime import tf
from graphmode._slots import is_built
from graphmode.errors import ConfigError
from graphmode.parity.divergence import LOSS, Divergence, Trajectory
from graphmode.parity.lockstep_report import LockstepQuantity, LockstepReport
from graphmode.parity.reference import GraphReference, Reference
from graphmode.parity.run import (
    EagerModel,
    GraphModel,
    add_step_note,
    as_batch,
    named_variables,
    scalar_loss,
    trajectory,
    variable_dtype,
    variable_shape,
)
from graphmode.parity.state import StateEntry, StatePlan, find_optimizer, plan_state
from graphmode.parity.tolerance import LOCKSTEP_RULE, step_difference

__all__ = ["LockstepRun", "run_lockstep", "run_lockstep_against"]


class LockstepRun(NamedTuple):
    """What :func:`run_lockstep` returns.

    Attributes:
        reference: the graph side's own run (loss, listed variables and unlisted model state per step).
        report: the lockstep comparison.
        own_initial: listed name -> (graph initial value, the eager side's own
            initial value before anything was copied), for the initializer check.
    """

    reference: Trajectory
    report: LockstepReport
    own_initial: dict[str, tuple[np.ndarray, np.ndarray]]


class _Recorder:
    """Collects one quantity's per-step differences and its first divergence."""

    def __init__(self, entry: StateEntry | None, first_step: int, context: tuple) -> None:
        self.entry, self.first_step, self.context = entry, first_step, context
        self.diffs: list[float] = []
        self.ratios: list[float] = []
        self.first: Divergence | None = None

    def add(self, step: int, reference: np.ndarray, candidate: np.ndarray, phase: str) -> None:
        atol, rtol, ref_mode, cand_mode = self.context
        difference = step_difference(reference, candidate, atol, rtol)
        self.diffs.append(difference.max_abs_diff)
        self.ratios.append(difference.over_tolerance)
        if self.first is None and difference.over_tolerance > 1:
            name, quantity = (LOSS, "loss") if self.entry is None else (self.entry.name, self.entry.kind)
            shape = tuple(np.shape(reference))
            self.first = Divergence(
                "value", step, name, shape, tuple(np.shape(candidate)), difference.max_abs_diff,
                difference.max_rel_diff, difference.index, difference.reference_value, difference.candidate_value,
                atol, rtol, ref_mode, cand_mode, quantity=quantity, phase=phase,
                over_tolerance=difference.over_tolerance, rule=LOCKSTEP_RULE,
            )

    def result(self) -> LockstepQuantity:
        entry = self.entry
        name, candidate, kind = (LOSS, LOSS, "loss") if entry is None else (entry.name, entry.eager_name, entry.kind)
        shape = () if entry is None else tuple(entry.graph_variable.shape.as_list())
        return LockstepQuantity(name, candidate, kind, shape, self.first_step, np.asarray(self.diffs, np.float64),
                                np.asarray(self.ratios, np.float64), self.first)


def _structure(entries: Sequence[StateEntry], context: tuple) -> tuple[list[StateEntry], list[Divergence]]:
    atol, rtol, ref_mode, cand_mode = context
    kept, issues = [], []
    for entry in entries:
        if entry.eager_variable is None or entry.to_eager is None:
            kept.append(entry)
            continue
        graph_shape = tuple(entry.graph_variable.shape.as_list())
        eager_shape = variable_shape(entry.eager_variable)
        label = entry.name if entry.name == entry.eager_name else f"{entry.name} -> {entry.eager_name}"
        if graph_shape != eager_shape:
            issues.append(Divergence("shape", 0, label, graph_shape, eager_shape, None, None, None, None, None, atol,
                                     rtol, ref_mode, cand_mode, f"shape {graph_shape} in the reference ({ref_mode}) but "
                                     f"{eager_shape} in the candidate ({cand_mode}); values cannot be compared until "
                                     "the shapes agree", quantity=entry.kind))
            continue
        graph_dtype, eager_dtype = entry.graph_variable.dtype.base_dtype, variable_dtype(entry.eager_variable)
        if graph_dtype != eager_dtype:
            issues.append(Divergence("dtype", 0, label, graph_shape, eager_shape, None, None, None, None, None, atol,
                                     rtol, ref_mode, cand_mode, f"dtype {graph_dtype.name} in the reference ({ref_mode}) "
                                     f"but {eager_dtype.name} in the candidate ({cand_mode}); the rewrite computes in "
                                     "another precision, so its numbers are not the original's", quantity=entry.kind))
        kept.append(entry)
    return kept, issues


def _plan_issues(plan: StatePlan, context: tuple) -> list[Divergence]:
    atol, rtol, ref_mode, cand_mode = context
    return [Divergence(kind, 0, name, None, None, None, None, None, None, None, atol, rtol, ref_mode, cand_mode, detail,
                       quantity="state" if kind == "missing" else kind)
            for kind, name, detail in plan.issues]


class _EagerState:
    """Writes graph values into the eager side and reads them back in the graph's form."""

    def __init__(self, entries: Sequence[StateEntry]) -> None:
        self.entries = [e for e in entries if e.to_eager is not None]
        self.read_entries = list(entries)
        variables = [e.eager_variable for e in self.entries]
        self.dtypes = [variable_dtype(v).as_numpy_dtype for v in variables]

        @tf.function(autograph=False)
        def assign_all(values):
            for variable, value in zip(variables, values):
                variable.assign(value)

        self.assign_all = assign_all

    def write(self, values: Mapping[str, np.ndarray]) -> None:
        if self.entries:
            self.assign_all([tf.constant(np.asarray(e.to_eager(values[e.name]), dtype=d))
                             for e, d in zip(self.entries, self.dtypes)])

    def read(self) -> dict[str, np.ndarray]:
        return {e.name: e.to_graph(np.asarray(e.eager_variable.numpy())) for e in self.read_entries}


def _optimizer_in_use(optimizer: Any) -> Any:
    # An optimizer the train step never applied (built) is not state of this port.
    return optimizer if optimizer is not None and is_built(optimizer) else None


def run_lockstep(
    graph_model: GraphModel,
    eager_model: EagerModel,
    batches: Sequence[Any],
    *,
    atol: float,
    rtol: float,
    graph_initial: Mapping[str, Any] | None = None,
    copy_initial: bool = True,
    name_map: Mapping[str, str] | None = None,
) -> LockstepRun:
    """Trains the graph side and steps the eager side from the graph's state before every step.

    Args:
        graph_model: the reference, built in its own graph.
        eager_model: the candidate (eager execution must be on).
        batches: one tuple of arrays per step.
        atol: absolute tolerance of :data:`LOCKSTEP_RULE`.
        rtol: relative tolerance, times the quantity's largest reference value.
        graph_initial: graph names -> arrays assigned after initialization.
        copy_initial: copy the graph's initial values to the eager side (False:
            the eager side keeps its own and step 0 compares them).
        name_map: graph name -> eager name where they differ (slots and counters too).

    Returns:
        A :class:`LockstepRun`.

    Raises:
        ConfigError: a side lists no variables, an initial value is unknown or misshapen,
            a batch has the wrong number of arrays, the train step refers to several optimizers.
        ParityError: a loss is not a scalar.
    """
    return run_lockstep_against(GraphReference(graph_model, graph_initial), eager_model, batches, atol=atol,
                                rtol=rtol, copy_initial=copy_initial, name_map=name_map)


def run_lockstep_against(
    reference: Reference,
    eager_model: EagerModel,
    batches: Sequence[Any],
    *,
    atol: float,
    rtol: float,
    copy_initial: bool = True,
    name_map: Mapping[str, str] | None = None,
) -> LockstepRun:
    """:func:`run_lockstep` against any :class:`~graphmode.parity.reference.Reference` (a graph, a trace).

    A step whose starting state the reference does not know (a trace that
    recorded every k-th state) is not taken; its loss and state are not compared.
    """
    context = (float(atol), float(rtol), reference.mode, "eager")
    eager_variables = named_variables(eager_model.variables, "eager")
    if not eager_variables:
        raise ConfigError("EagerModel.variables is empty: list the rewrite's variables (name -> tf.Variable, or "
                          "e.g. model.variables)")
    state, listed = reference.state, reference.listed
    optimizer = find_optimizer(eager_model.train_step, eager_model.optimizer)
    model_plan = plan_state(state, eager_variables, None, name_map, model_only=True)
    model_entries, issues = _structure(model_plan.entries, context)
    issues = _plan_issues(model_plan, context) + issues
    recorders = {entry.name: _Recorder(entry, 0, context) for entry in model_entries}
    loss_recorder = _Recorder(None, 1, context)
    own_initial: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    started = time.perf_counter()
    try:
        values = reference.start()
        model = _EagerState(model_entries)
        for entry in model_entries:
            if entry.name in listed:
                own_initial[entry.name] = (values[entry.name], np.asarray(entry.eager_variable.numpy()))
        if copy_initial:
            model.write(values)
        eager_values = model.read()
        for entry in model_entries:
            recorders[entry.name].add(0, values[entry.name], eager_values[entry.name], "initial")
        losses, records = [], [{name: values[name] for name in state.model}]
        full: _EagerState | None = None
        steps_from_graph = None
        for step, batch in enumerate(batches, start=1):
            batch = as_batch(batch, step, reference.arity, reference.mode)
            if not reference.has_state_before(step):
                values = None
                continue
            if values is None:  # the state after the last step taken was not known; this one's start is
                values = reference.state_before(step)
            if full is None:
                model.write(values)
            else:
                # The step count first: a slot converted with a scheduled learning rate reads it.
                if steps_from_graph is not None:
                    count = steps_from_graph({n: values[n] for n in state.counters})
                    optimizer.iterations.assign(step - 1 if count is None else count)
                full.write(values)
            try:
                eager_loss = eager_model.train_step(*batch)
            except Exception as error:
                add_step_note(error, step, "eager")
                raise
            if full is None:
                # A train_step that creates its optimizer on its first call holds it only now.
                optimizer = optimizer if optimizer is not None else find_optimizer(eager_model.train_step)
                in_use = _optimizer_in_use(optimizer)
                plan = plan_state(state, eager_variables, in_use, name_map)
                entries, more = _structure(plan.entries, context)
                model_names = {e.name for e in model_entries}
                issues += [i for (kind, name, _), i in zip(plan.issues, _plan_issues(plan, context))
                           if (kind, name) not in {(k, n) for k, n, _ in model_plan.issues}]
                issues += [i for i in more if i.variable not in model_names]
                issues += _loss_dtype_issue(reference.loss_dtype, eager_loss, context)
                full = _EagerState(entries)
                steps_from_graph = plan.steps_from_graph
                for entry in entries:
                    recorders.setdefault(entry.name, _Recorder(entry, 1, context))
            try:
                reference_loss, values = reference.step(step, batch)
            except Exception as error:
                add_step_note(error, step, reference.mode)
                raise
            if reference_loss is not None:
                loss_recorder.add(step, scalar_loss(reference_loss, step, reference.mode),
                                  scalar_loss(eager_loss, step, "eager"), "forward")
                losses.append(scalar_loss(reference_loss, step, reference.mode))
            if values is not None:
                eager_values = full.read()
                for entry in full.read_entries:
                    recorders[entry.name].add(step, values[entry.name], eager_values[entry.name], "update")
                records.append({name: values[name] for name in state.model})
    finally:
        reference.close()
    seconds = time.perf_counter() - started
    not_compared = tuple(sorted(set(state.slots) - {r for r in recorders}))
    report = LockstepReport(
        reference.mode, "eager", float(atol), float(rtol), len(losses) or len(records) - 1, loss_recorder.result(),
        tuple(r.result() for r in recorders.values()), tuple(issues), state.unlisted,
        not_compared if full is not None else (), seconds,
    )
    run_trajectory = trajectory(reference.mode, losses, records) if len(records) == len(losses) + 1 else None
    return LockstepRun(run_trajectory, report, own_initial)


def _loss_dtype_issue(graph_dtype: Any, eager_loss: Any, context: tuple) -> list[Divergence]:
    atol, rtol, ref_mode, cand_mode = context
    eager_dtype = getattr(eager_loss, "dtype", None)
    if graph_dtype is None or eager_dtype is None or not hasattr(eager_dtype, "base_dtype"):
        return []
    if graph_dtype == eager_dtype.base_dtype:
        return []
    return [Divergence("dtype", 0, LOSS, (), (), None, None, None, None, None, atol, rtol, ref_mode, cand_mode,
                       f"dtype {graph_dtype.name} in the reference ({ref_mode}) but {eager_dtype.base_dtype.name} in "
                       f"the candidate ({cand_mode}); the rewrite computes its loss in another precision",
                       quantity="loss")]
