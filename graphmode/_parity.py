"""Graph-vs-eager parity: train the TF1 original and its TF2 rewrite side by side.

Describe the model twice — a :class:`GraphModel` (placeholders, variables, a
TF1 optimizer's ``train_op``) and an :class:`EagerModel` (``tf.Variable`` or
Keras, ``GradientTape``, a Keras optimizer) — and :func:`check_parity` gives both
the same initial values and the same batches, runs them, and compares the loss
and every variable step by step (see :mod:`graphmode._parity_report` for the
tolerance rule and the step timeline).

Example:
    >>> report = gm.check_parity(build_graph, build_eager, batches, atol=1e-6, rtol=1e-5)
    >>> print(report)                 # table: max abs/rel diff per variable, first bad step
    >>> gm.assert_parity(report)      # AssertionError carrying the first divergence
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from graphmode._errors import ConfigError, ParityError
from graphmode._parity_floor import DEFAULT_NOISE_FACTOR, perturb_by_one_ulp
from graphmode._parity_names import base_name, match_variable_names
from graphmode._parity_report import (
    Divergence,
    ParityReport,
    QuantityDiff,
    Trajectory,
    compare_trajectories,
)
from graphmode._runtime import tf, v1
from graphmode._session import Session

__all__ = [
    "DEFAULT_ATOL",
    "DEFAULT_NOISE_FACTOR",
    "DEFAULT_RTOL",
    "Divergence",
    "EagerModel",
    "GraphModel",
    "ParityProblem",
    "ParityReport",
    "QuantityDiff",
    "Trajectory",
    "assert_parity",
    "check_parity",
    "compare_trajectories",
    "match_variable_names",
    "run_eager",
    "run_graph",
]

# float32 graph and eager kernels agree to a few ulps per op; these leave room
# for that to accumulate over tens of steps while still catching real mistakes.
DEFAULT_ATOL = 1e-6
DEFAULT_RTOL = 1e-5

RANDOM_OP_MODES = ("constant", "num_random_ops")

Variables = Mapping[str, Any] | Sequence[Any]


class GraphModel(NamedTuple):
    """The TF1 side, built inside its own graph.

    Attributes:
        graph: the graph holding everything below (e.g. from ``gm.new_graph()``).
        inputs: placeholders, fed in this order from each batch tuple.
        loss: the scalar loss tensor.
        train_op: the op one training step runs (``optimizer.minimize(loss)``).
        variables: parity name -> variable (or a sequence of variables, named by ``var.name``).
    """

    graph: tf.Graph
    inputs: tuple[tf.Tensor, ...]
    loss: tf.Tensor
    train_op: tf.Operation
    variables: Variables


class EagerModel(NamedTuple):
    """The TF2 side.

    Attributes:
        variables: parity name -> ``tf.Variable`` (or a sequence, named by ``var.name``).
        train_step: ``train_step(*batch) -> loss``; computes the loss on the batch
            (before updating) and applies one update to the variables.
    """

    variables: Variables
    train_step: Callable[..., Any]


class ParityProblem(NamedTuple):
    """A complete parity check, as bundled examples expose it.

    An example module provides ``parity_problem(steps: int = ..., seed: int = 0)
    -> ParityProblem``; ``graphmode parity NAME`` calls it and runs :meth:`check`.
    """

    name: str
    build_graph: Callable[[], GraphModel]
    build_eager: Callable[[], EagerModel]
    batches: Sequence[tuple]
    atol: float = DEFAULT_ATOL
    rtol: float = DEFAULT_RTOL
    name_map: Mapping[str, str] | None = None
    initial_values: Mapping[str, np.ndarray] | str | None = None
    random_ops: str | None = None
    noise_floor: bool = False
    noise_factor: float = DEFAULT_NOISE_FACTOR

    def check(self) -> ParityReport:
        """Runs :func:`check_parity` with this problem's settings."""
        return check_parity(
            self.build_graph,
            self.build_eager,
            self.batches,
            atol=self.atol,
            rtol=self.rtol,
            name_map=self.name_map,
            initial_values=self.initial_values,
            random_ops=self.random_ops,
            noise_floor=self.noise_floor,
            noise_factor=self.noise_factor,
        )


def _named_variables(variables: Variables, side: str) -> dict[str, Any]:
    if isinstance(variables, Mapping):
        return dict(variables)
    named: dict[str, Any] = {}
    for variable in variables:
        name = base_name(getattr(variable, "name", ""))
        if not name:
            raise ConfigError(f"{side} variable {variable!r} has no name; pass variables as a name -> variable dict")
        if name in named:
            raise ConfigError(f"two {side} variables are named {name!r}; pass variables as a name -> variable dict")
        named[name] = variable
    return named


def _random_scope(random_ops: str | None, seed: int) -> contextlib.AbstractContextManager:
    if random_ops is None:
        return contextlib.nullcontext()
    if random_ops not in RANDOM_OP_MODES:
        raise ConfigError(f"random_ops must be one of {RANDOM_OP_MODES} or None; got {random_ops!r}")
    # A fresh tool per side: each starts counting random ops from zero, which is
    # what makes the two sides draw the same numbers.
    return v1.keras.utils.DeterministicRandomTestTool(seed=seed, mode=random_ops).scope()


def _as_batch(batch: Any, step: int, arity: int, side: str) -> tuple:
    batch = tuple(batch) if isinstance(batch, tuple | list) else (batch,)
    if len(batch) != arity:
        raise ConfigError(
            f"step {step}: the batch has {len(batch)} arrays but the {side} model takes {arity} inputs; "
            f"give each batch as a tuple with one array per input"
        )
    return batch


def _scalar_loss(value: Any, step: int, side: str) -> float:
    array = np.asarray(value, dtype=np.float64)
    if array.size != 1:
        raise ParityError(
            f"step {step}: the {side} loss has shape {array.shape}; parity compares a scalar loss, "
            f"so reduce it (tf.reduce_mean) before returning it"
        )
    return float(array.reshape(()))


def _check_initial_values(
    initial_values: Mapping[str, Any], variables: Mapping[str, Any], side: str
) -> dict[str, np.ndarray]:
    checked = {}
    for name, value in initial_values.items():
        if name not in variables:
            raise ConfigError(f"initial value for {name!r}, which is not a {side} variable; "
                              f"{side} variables: {sorted(variables)}")
        array = np.asarray(value)
        expected = tuple(variables[name].shape.as_list())
        if array.shape != expected:
            raise ConfigError(f"initial value for {side} variable {name!r} has shape {array.shape}; "
                              f"the variable has shape {expected}")
        checked[name] = array
    return checked


def _trajectory(mode: str, losses: list[float], records: list[dict[str, Any]]) -> Trajectory:
    names = records[0].keys()
    variables = {name: np.stack([np.asarray(r[name], dtype=np.float64) for r in records]) for name in names}
    return Trajectory(mode, np.asarray(losses, dtype=np.float64).reshape(-1), variables)


def _add_step_note(error: BaseException, step: int, side: str) -> None:
    error.add_note(f"graphmode parity: raised by the {side} side at step {step}")


def run_graph(
    model: GraphModel, batches: Iterable[Any], initial_values: Mapping[str, Any] | None = None
) -> Trajectory:
    """Trains the graph side on ``batches`` and records loss and variables per step.

    Every global and local variable is initialized, then ``initial_values``
    (graph names -> arrays, any subset) are assigned. Assign ops are added to
    ``model.graph`` for that.

    Raises:
        ConfigError: a batch has the wrong number of arrays, or an initial value
            names an unknown variable or has the wrong shape.
        ParityError: the loss is not a scalar.
    """
    return _train_graph(model, batches, initial_values)


Nudge = Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]


def _train_graph(
    model: GraphModel, batches: Iterable[Any], initial_values: Mapping[str, Any] | None, nudge: Nudge | None = None
) -> Trajectory:
    """:func:`run_graph`; ``nudge`` (values -> new values) is applied after the start and every step."""
    if not isinstance(model, GraphModel):
        raise ConfigError(f"run_graph takes a GraphModel; got {type(model).__name__}")
    variables = _named_variables(model.variables, "graph")
    initial = _check_initial_values(initial_values or {}, variables, "graph")
    inputs = tuple(model.inputs)
    with model.graph.as_default():
        initialize = v1.variables_initializer(v1.global_variables() + v1.local_variables())
        holders, assigns = {}, {}
        with tf.name_scope("graphmode_parity_initial_values"):
            for name in variables if nudge else initial:
                variable = variables[name]
                holders[name] = v1.placeholder(variable.dtype.base_dtype, variable.shape)
                assigns[name] = v1.assign(variable, holders[name]).op

    def assign(session: Session, values: Mapping[str, np.ndarray]) -> None:
        if values:
            session.run([assigns[name] for name in values], {holders[name]: value for name, value in values.items()})

    def record(session: Session) -> dict[str, np.ndarray]:
        values = session.run(variables)
        if nudge is None:
            return values
        moved = nudge(values)
        assign(session, moved)
        return {**values, **moved}

    losses: list[float] = []
    with Session(graph=model.graph) as session:
        session.run(initialize)
        assign(session, initial)
        records = [record(session)]
        for step, batch in enumerate(batches, start=1):
            feed = dict(zip(inputs, _as_batch(batch, step, len(inputs), "graph")))
            try:
                loss, _ = session.run([model.loss, model.train_op], feed)
            except Exception as error:
                _add_step_note(error, step, "graph")
                raise
            losses.append(_scalar_loss(loss, step, "graph"))
            records.append(record(session))
    return _trajectory("graph", losses, records)


def run_eager(
    model: EagerModel, batches: Iterable[Any], initial_values: Mapping[str, Any] | None = None
) -> Trajectory:
    """Trains the eager side on ``batches`` and records loss and variables per step.

    ``initial_values`` (eager names -> arrays, any subset) are assigned first.

    Raises:
        ConfigError: not executing eagerly (called inside ``graph.as_default()``),
            or an initial value names an unknown variable or has the wrong shape.
        ParityError: the loss is not a scalar.
    """
    if not isinstance(model, EagerModel):
        raise ConfigError(f"run_eager takes an EagerModel; got {type(model).__name__}")
    if not tf.executing_eagerly():
        raise ConfigError(
            "run_eager needs eager execution, but a graph is the default here "
            "(inside `with graph.as_default():` or a tf.function); call it outside that block"
        )
    variables = _named_variables(model.variables, "eager")
    for name, value in _check_initial_values(initial_values or {}, variables, "eager").items():
        variables[name].assign(value)
    records = [{name: variable.numpy() for name, variable in variables.items()}]
    losses: list[float] = []
    for step, batch in enumerate(batches, start=1):
        try:
            loss = model.train_step(*batch if isinstance(batch, tuple | list) else (batch,))
        except Exception as error:
            _add_step_note(error, step, "eager")
            raise
        losses.append(_scalar_loss(loss, step, "eager"))
        records.append({name: variable.numpy() for name, variable in variables.items()})
    return _trajectory("eager", losses, records)


def check_parity(
    build_graph: Callable[[], GraphModel],
    build_eager: Callable[[], EagerModel],
    batches: Iterable[Any],
    *,
    atol: float = DEFAULT_ATOL,
    rtol: float = DEFAULT_RTOL,
    name_map: Mapping[str, str] | None = None,
    initial_values: Mapping[str, Any] | str | None = None,
    random_ops: str | None = None,
    random_seed: int = 42,
    noise_floor: bool = False,
    noise_factor: float = DEFAULT_NOISE_FACTOR,
) -> ParityReport:
    """Trains both sides on the same batches from the same start and compares them.

    The graph side is the reference. Variables are paired by
    :func:`match_variable_names` (``name_map`` maps graph names to eager names
    where they differ).

    Args:
        build_graph: builds the TF1 side in a fresh graph and returns a :class:`GraphModel`.
        build_eager: builds the TF2 side and returns an :class:`EagerModel`.
        batches: one tuple of arrays per step (a generator is read once and
            replayed to both sides).
        atol: absolute tolerance.
        rtol: relative tolerance (times ``|graph value|``).
        name_map: graph variable name -> eager variable name, for names that differ.
        initial_values: None (default): the graph side initializes, and its values
            are copied to the paired eager variables, so random initializers need
            not agree. A mapping: graph names -> arrays, given to both sides.
            ``"own"``: each side keeps its own initial values (compared at step 0).
        random_ops: None, or ``"constant"`` / ``"num_random_ops"``: build and run each
            side inside a fresh ``DeterministicRandomTestTool`` scope of that mode,
            so random ops draw the same numbers on both sides. That holds for
            what each side draws once: variable initializers built from TF random
            ops (``v1.glorot_uniform_initializer()``, ``tf.random.normal``; Keras 2
            initializers seed themselves and do not follow the tool) and the first
            step's dropout. From step 2 on, a graph's random op continues its
            stream while eager code restarts it, so keep per-step randomness out
            of a multi-step comparison (dropout rate 0).
        random_seed: the seed for ``random_ops``.
        noise_floor: also train the graph side a second time, on the same batches,
            from its initial values moved one ulp away from zero (every element of
            every float variable), and widen each step's tolerance of each quantity
            by ``noise_factor`` times how far those two graph runs are apart by
            then. The nudge is repeated after every step (rounding differs in
            every update). For trainings that amplify rounding (Adam near zero
            gradients); it costs one more graph run. Rule and reasoning: :mod:`graphmode._parity_floor`.
        noise_factor: the multiplier of the floor (default 100).

    Returns:
        The :class:`ParityReport` (graph = reference, eager = candidate).

    Raises:
        ConfigError: an option is out of range, a builder returned the wrong type,
            or ``name_map`` / ``initial_values`` name unknown variables.
    """
    batches = list(batches)
    if isinstance(initial_values, str) and initial_values != "own":
        raise ConfigError(f"initial_values must be None, a name -> array mapping or 'own'; got {initial_values!r}")
    with _random_scope(random_ops, random_seed):
        graph_model = build_graph()
        if not isinstance(graph_model, GraphModel):
            raise ConfigError(f"build_graph must return a GraphModel; it returned {type(graph_model).__name__}")
        graph_initial = initial_values if isinstance(initial_values, Mapping) else None
        reference = run_graph(graph_model, batches, graph_initial)
    shadow = _nudged_graph_run(build_graph, batches, reference, random_ops, random_seed) if noise_floor else None
    with _random_scope(random_ops, random_seed):
        eager_model = build_eager()
        if not isinstance(eager_model, EagerModel):
            raise ConfigError(f"build_eager must return an EagerModel; it returned {type(eager_model).__name__}")
        eager_variables = _named_variables(eager_model.variables, "eager")
        pairs = match_variable_names(reference.variables, eager_variables, name_map)
        eager_initial = None
        if initial_values != "own":
            # Copy only where shapes agree; a mismatch is reported as structure.
            eager_initial = {
                pairs[name]: values[0]
                for name, values in reference.variables.items()
                if name in pairs and tuple(eager_variables[pairs[name]].shape.as_list()) == values.shape[1:]
            }
        candidate = run_eager(eager_model, batches, eager_initial)
    return compare_trajectories(
        reference, candidate, atol=atol, rtol=rtol, name_map=pairs, noise_floor=shadow, noise_factor=noise_factor
    )


def _nudged_graph_run(
    build_graph: Callable[[], GraphModel],
    batches: list,
    reference: Trajectory,
    random_ops: str | None,
    seed: int,
) -> Trajectory:
    # A fresh build in a fresh random scope, so everything but the nudges
    # (dropout draws, op seeds) is what the reference saw; the start is the
    # reference's own, since an unseeded initializer draws anew in every build.
    with _random_scope(random_ops, seed):
        model = build_graph()
        dtypes = {name: v.dtype.base_dtype.as_numpy_dtype for name, v in _named_variables(model.variables, "graph").items()}
        start = {name: values[0].astype(dtypes[name]) for name, values in reference.variables.items() if name in dtypes}
        shadow = _train_graph(model, batches, start, lambda values: perturb_by_one_ulp(values, dtypes))
    return shadow._replace(mode="graph (+1 ulp each step)")


def assert_parity(report: ParityReport | ParityProblem) -> ParityReport:
    """Fails with the first divergence unless ``report`` is within tolerance.

    Args:
        report: a :class:`ParityReport`, or a :class:`ParityProblem` to check first.

    Returns:
        The report, when it is within tolerance.

    Raises:
        AssertionError: the first divergence, in the fixed format, followed by the table.
    """
    __tracebackhide__ = True
    if isinstance(report, ParityProblem):
        report = report.check()
    if not isinstance(report, ParityReport):
        raise ConfigError(f"assert_parity takes a ParityReport or ParityProblem; got {type(report).__name__}")
    if not report.ok:
        raise AssertionError(f"parity: {report.first_divergence.format()}\n\n{report}")
    return report
