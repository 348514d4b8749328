"""The reference side of a lockstep comparison: a live TF1 graph, or a recorded trace of one.

Lockstep (:mod:`graphmode.parity.lockstep`) needs four things of the side it
takes as truth: what its training state is (model variables, optimizer slots,
counters, sorted as :mod:`graphmode.train.graph_state` sorts a graph's), the
values of that state before step 1, and, per step, the loss and the state
after the step. :class:`GraphReference` computes them by running a
:class:`~graphmode.parity.run.GraphModel` in a session; :class:`TraceReference`
reads them from a :class:`~graphmode.trace.Trace` that ``graphmode run
--record`` wrote, so no TF1 code runs and the TF1 API is never switched on.

Both describe their variables as :class:`ReferenceVariable` (name, shape,
dtype, trainable), which is all the pairing and the report read of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from graphmode._pairing import base_name
from graphmode._runtime import tf
from graphmode.errors import ConfigError
from graphmode.parity.run import GraphModel, check_initial_values, named_variables
from graphmode.parity.trace_inputs import feed_order
from graphmode.train.graph_state import GraphState

__all__ = ["GraphReference", "Reference", "ReferenceVariable", "TraceReference"]


class ReferenceVariable(NamedTuple):
    """What lockstep reads of a reference variable; ``shape`` and ``dtype`` in TensorFlow's types."""

    name: str
    shape: tf.TensorShape
    dtype: tf.DType
    trainable: bool


def _described(variable: Any) -> ReferenceVariable:
    # The graph's own name, whatever the description calls it: slots are named after it ("w/Adam").
    return ReferenceVariable(base_name(variable.name), tf.TensorShape(variable.shape),
                             tf.as_dtype(variable.dtype).base_dtype, bool(getattr(variable, "trainable", True)))


class Reference:
    """The side taken as truth. Subclasses set the attributes and implement the three methods.

    Attributes:
        mode: the side's label in reports (``"graph"``, ``"trace"``).
        listed: the model variables the reference names, by name.
        state: its training state, sorted (values are :class:`ReferenceVariable`).
        arity: how many arrays each step's batch holds.
        loss_dtype: the loss's dtype, or None when the reference has no loss.
    """

    mode: str
    listed: dict[str, ReferenceVariable]
    state: GraphState
    arity: int
    loss_dtype: tf.DType | None

    def start(self) -> dict[str, np.ndarray]:
        """The whole state before step 1, by name."""
        raise NotImplementedError

    def step(self, step: int, batch: tuple) -> tuple[float | None, dict[str, np.ndarray] | None]:
        """Takes (or reads) ``step``: its loss (None: none known) and the state after it (None: not known)."""
        raise NotImplementedError

    def has_state_before(self, step: int) -> bool:
        """True when the state before ``step`` is known (lockstep can start that step from it)."""
        return True

    def state_before(self, step: int) -> dict[str, np.ndarray]:
        """The state before ``step``, when the step before it was not taken (only where :meth:`has_state_before`)."""
        raise NotImplementedError

    def close(self) -> None:
        """Releases what :meth:`start` opened."""


class GraphReference(Reference):
    """A :class:`GraphModel` trained in a graphmode session, one ``train_op`` run per step."""

    mode = "graph"

    def __init__(self, model: GraphModel, initial: Mapping[str, Any] | None = None) -> None:
        from graphmode.train.graph_state import graph_state

        self.model = model
        variables = named_variables(model.variables, "graph")
        if not variables:
            raise ConfigError("GraphModel.variables is empty: list the model's variables (name -> variable, or e.g. "
                              "graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)); parity compares them "
                              "and the optimizer state the train op keeps for them")
        self._initial = check_initial_values(initial or {}, variables, "graph")
        live = graph_state(model.graph, model.train_op, variables)
        self._live = [*live.model.values(), *(slot for _, _, slot in live.slots.values()), *live.counters.values()]
        self._names = [*live.model, *live.slots, *live.counters]
        self.listed = {name: _described(v) for name, v in variables.items()}
        self.state = GraphState(
            {name: _described(v) for name, v in live.model.items()}, live.unlisted,
            {name: (owner, suffix, _described(v)) for name, (owner, suffix, v) in live.slots.items()},
            {name: _described(v) for name, v in live.counters.items()}, live.optimizers)
        self.arity = len(model.inputs)
        self.loss_dtype = model.loss.dtype.base_dtype
        self._variables = variables
        self._session = None

    def start(self) -> dict[str, np.ndarray]:
        from graphmode._runtime import v1
        from graphmode.session.engine import Session

        model = self.model
        with model.graph.as_default():
            initialize = v1.variables_initializer(v1.global_variables() + v1.local_variables())
            with tf.name_scope("graphmode_parity_initial_values"):
                holders = {name: v1.placeholder(self._variables[name].dtype.base_dtype, self._variables[name].shape)
                           for name in self._initial}
                assigns = [v1.assign(self._variables[name], holders[name]).op for name in self._initial]
        # Not `with session:`, which would make the graph the default and turn eager execution off.
        self._session = Session(graph=model.graph)
        self._session.run(initialize)
        if self._initial:
            self._session.run(assigns, {holders[name]: value for name, value in self._initial.items()})
        self._read = self._session.make_callable(self._live)
        self._train = self._session.make_callable([model.loss, model.train_op], feed_list=list(model.inputs))
        return dict(zip(self._names, self._read()))

    def step(self, step: int, batch: tuple) -> tuple[float | None, dict[str, np.ndarray]]:
        loss, _ = self._train(*batch)
        return loss, dict(zip(self._names, self._read()))

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None


class TraceReference(Reference):
    """A recorded trace: the state, loss and feeds of each step, read back; nothing runs.

    Model state is what the trace records as a trainable variable (listed) or
    as a non-trainable variable whose value the recorded steps change (unlisted
    state, e.g. batch-norm moving averages); slots and counters are the roles
    the recording gave them.
    """

    mode = "trace"

    def __init__(self, trace: Any, inputs: Sequence[str] | None = None, steps: int | None = None) -> None:
        self.trace = trace
        self.inputs = feed_order(trace.feed_names, inputs)
        self.arity = len(self.inputs)
        if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps):
            raise ConfigError(f"steps must be an int >= 1 (or None: every recorded step); got {steps!r}")
        if steps is not None and steps > trace.steps:
            raise ConfigError(f"steps={steps} but the trace {trace.directory!r} holds {trace.steps} recorded steps")
        self.steps = trace.steps if steps is None else steps
        self._states = set(trace.state_steps)
        self.loss_dtype = tf.float32 if trace.loss_name is not None else None
        described = {v.name: ReferenceVariable(v.name, tf.TensorShape(v.shape), tf.as_dtype(v.dtype).base_dtype,
                                               v.trainable) for v in trace.variables}
        roles = {v.name: v for v in trace.variables}
        self._start = trace.state(0)
        later = [s for s in sorted(self._states) if s > 0]
        changed = trace.state(later[-1]) if later else self._start
        self.listed = {n: d for n, d in described.items() if roles[n].role == "variable" and d.trainable}
        unlisted = sorted(n for n, d in described.items() if roles[n].role == "variable" and not d.trainable
                          and not np.array_equal(self._start[n], changed[n]))
        counters = {n: d for n, d in described.items() if roles[n].role == "counter"}
        self.state = GraphState(
            {**self.listed, **{n: described[n] for n in unlisted}}, tuple(unlisted),
            {n: (roles[n].slot_of, roles[n].slot_name, d) for n, d in described.items() if roles[n].role == "slot"},
            counters, tuple(trace.optimizer.kind.split(" + ")) if trace.optimizer is not None else ())
        self._names = [*self.state.model, *self.state.slots, *self.state.counters]

    def batches(self) -> list[tuple[np.ndarray, ...]]:
        """Each recorded step's feeds, in ``train_step``'s order."""
        out = []
        for step in range(1, self.steps + 1):
            fed = self.trace.feeds(step)
            out.append(tuple(fed[name] for name in self.inputs))
        return out

    def _pick(self, values: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {name: values[name] for name in self._names}

    def start(self) -> dict[str, np.ndarray]:
        return self._pick(self._start)

    def has_state_before(self, step: int) -> bool:
        return step - 1 in self._states

    def state_before(self, step: int) -> dict[str, np.ndarray]:
        return self._pick(self.trace.state(step - 1))

    def step(self, step: int, batch: tuple) -> tuple[float | None, dict[str, np.ndarray] | None]:
        after = self._pick(self.trace.state(step)) if step in self._states else None
        return self.trace.loss(step), after

    def free_steps(self) -> int:
        """How many first steps have every state recorded (the free run compares those)."""
        count = 0
        while count < self.steps and count + 1 in self._states:
            count += 1
        return count
