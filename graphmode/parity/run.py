"""Running one side of a parity check and recording what it did.

A :class:`GraphModel` (the TF1 original: placeholders, variables, a ``train_op``)
runs in a :class:`graphmode.Session` through :func:`run_graph`; an
:class:`EagerModel` (the TF2 rewrite: variables and a ``train_step``) runs
through :func:`run_eager`. Both start from the given initial values, take one
batch per step, and return a :class:`~graphmode.parity.divergence.Trajectory`: the
loss of every step and every variable before the first step and after each one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from graphmode._pairing import base_name, pair_variables
from graphmode._runtime import tf, v1
from graphmode.errors import ConfigError, ParityError
from graphmode.parity.divergence import Trajectory
from graphmode.parity.progress import progress
from graphmode.session.engine import Session

__all__ = [
    "EagerModel",
    "GraphModel",
    "Nudge",
    "Variables",
    "add_step_note",
    "as_batch",
    "built_eager_model",
    "free_eager_run",
    "refuse_shared_variables",
    "variable_dtype",
    "variable_shape",
    "check_initial_values",
    "named_variables",
    "run_eager",
    "run_graph",
    "scalar_loss",
    "train_graph",
    "trajectory",
]

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
        optimizer: the Keras optimizer ``train_step`` applies, whose slots and
            ``iterations`` lockstep parity sets from the graph's optimizer state.
            None: the one ``train_step`` refers to (its closure, the globals it
            names, a bound method's object), if exactly one.
    """

    variables: Variables
    train_step: Callable[..., Any]
    optimizer: Any = None

    @classmethod
    def from_tf1(cls, build_fn: Callable[..., Any], optimizer: Any = None, example_batch: Sequence[Any] | None = None,
                 *, trace: Any = None, inputs: Sequence[str] | None = None,
                 regularization_losses: bool = False) -> EagerModel:
        """The TF1 model code ``build_fn(*batch) -> loss`` run eagerly, no rewrite: :mod:`graphmode.parity.tf1_eager`.

        With ``trace`` (a :class:`graphmode.Trace` of the original), ``optimizer``
        defaults to the recorded TF1 optimizer's Keras counterpart and
        ``example_batch`` to the first recorded feeds, in ``inputs`` order.
        """
        # Imported here: tf1_eager subclasses a tf-keras layer, and a process whose tf.keras is Keras 3
        # checks parity without it.
        from graphmode.parity.tf1_eager import tf1_code_eagerly

        if trace is not None:
            from graphmode.parity.trace_inputs import keras_optimizer_for, trace_example_batch

            optimizer = keras_optimizer_for(trace) if optimizer is None else optimizer
            example_batch = trace_example_batch(trace, inputs) if example_batch is None else example_batch
        if optimizer is None or example_batch is None:
            raise ConfigError("EagerModel.from_tf1 needs an optimizer and an example batch, or trace= (a recording "
                              "of the original, which gives both)")
        variables, step = tf1_code_eagerly(build_fn, optimizer, example_batch, regularization_losses=regularization_losses)
        return cls(variables, step, optimizer)


def variable_shape(variable: Any) -> tuple[int | None, ...]:
    """A variable's shape as a tuple: ``tf.Variable`` and tf-keras give a ``TensorShape``, Keras 3 a tuple."""
    return tuple(tf.TensorShape(variable.shape).as_list())


def variable_dtype(variable: Any) -> tf.DType:
    """A variable's base dtype: Keras 3 variables give a string."""
    return tf.as_dtype(variable.dtype).base_dtype


def variable_name(variable: Any) -> str:
    """A variable's name without ``:0``; a Keras 3 variable's path (its ``name`` is only ``kernel``)."""
    return base_name(getattr(variable, "path", None) or getattr(variable, "name", "") or "")


def built_eager_model(build_eager: Callable[[], EagerModel]) -> EagerModel:
    """Calls ``build_eager`` (ConfigError unless it returns an :class:`EagerModel`)."""
    model = build_eager()
    if not isinstance(model, EagerModel):
        raise ConfigError(f"build_eager must return an EagerModel; it returned {type(model).__name__}")
    return model


def refuse_shared_variables(first: Mapping[str, Any], second: Mapping[str, Any]) -> None:
    """ConfigError when two builds of the eager side returned the same variables."""
    shared = sorted(name for name, variable in second.items() if any(variable is v for v in first.values()))
    if shared:
        raise ConfigError(f"build_eager returned the same variables twice ({shared}); check_parity builds the eager "
                          "side once for lockstep and once for the free run, so it must create fresh variables "
                          "(and a fresh optimizer) on every call")


def named_variables(variables: Variables, side: str) -> dict[str, Any]:
    """A model's variables as name -> variable; a sequence is named by :func:`variable_name`.

    Raises:
        ConfigError: a variable of ``side`` has no name, or two share one.
    """
    if isinstance(variables, Mapping):
        return dict(variables)
    named: dict[str, Any] = {}
    for variable in variables:
        name = variable_name(variable)
        if not name:
            raise ConfigError(f"{side} variable {variable!r} has no name; pass variables as a name -> variable dict")
        if name in named:
            raise ConfigError(f"two {side} variables are named {name!r}; pass variables as a name -> variable dict")
        named[name] = variable
    return named


def as_batch(batch: Any, step: int, arity: int, side: str) -> tuple:
    """One step's batch as a tuple of ``arity`` arrays (ConfigError naming the step otherwise)."""
    batch = tuple(batch) if isinstance(batch, tuple | list) else (batch,)
    if len(batch) != arity:
        raise ConfigError(
            f"step {step}: the batch has {len(batch)} arrays but the {side} model takes {arity} inputs; "
            f"give each batch as a tuple with one array per input"
        )
    return batch


def scalar_loss(value: Any, step: int, side: str) -> float:
    """A step's loss as a float (ParityError naming the step and side unless it is a scalar)."""
    array = np.asarray(value, dtype=np.float64)
    if array.size != 1:
        raise ParityError(
            f"step {step}: the {side} loss has shape {array.shape}; parity compares a scalar loss, "
            f"so reduce it (tf.reduce_mean) before returning it"
        )
    return float(array.reshape(()))


def check_initial_values(
    initial_values: Mapping[str, Any], variables: Mapping[str, Any], side: str
) -> dict[str, np.ndarray]:
    """Initial values by name, checked against the side's variables (ConfigError naming the culprit)."""
    checked = {}
    for name, value in initial_values.items():
        if name not in variables:
            raise ConfigError(f"initial value for {name!r}, which is not a {side} variable; "
                              f"{side} variables: {sorted(variables)}")
        array = np.asarray(value)
        expected = variable_shape(variables[name])
        if array.shape != expected:
            raise ConfigError(f"initial value for {side} variable {name!r} has shape {array.shape}; "
                              f"the variable has shape {expected}")
        checked[name] = array
    return checked


def trajectory(mode: str, losses: list[float], records: list[dict[str, Any]]) -> Trajectory:
    """A :class:`Trajectory` from per-step losses and per-step ``{name: value}`` records (as float64)."""
    names = records[0].keys()
    variables = {name: np.stack([np.asarray(r[name], dtype=np.float64) for r in records]) for name in names}
    return Trajectory(mode, np.asarray(losses, dtype=np.float64).reshape(-1), variables)


def add_step_note(error: BaseException, step: int, side: str) -> None:
    """Notes on ``error`` which side raised it at which step."""
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
    return train_graph(model, batches, initial_values)


Nudge = Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]


def train_graph(
    model: GraphModel, batches: Iterable[Any], initial_values: Mapping[str, Any] | None, nudge: Nudge | None = None
) -> Trajectory:
    """:func:`run_graph`; ``nudge`` (values -> new values) is applied after the start and every step."""
    if not isinstance(model, GraphModel):
        raise ConfigError(f"run_graph takes a GraphModel; got {type(model).__name__}")
    variables = named_variables(model.variables, "graph")
    initial = check_initial_values(initial_values or {}, variables, "graph")
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
            feed = dict(zip(inputs, as_batch(batch, step, len(inputs), "graph")))
            try:
                loss, _ = session.run([model.loss, model.train_op], feed)
            except Exception as error:
                add_step_note(error, step, "graph")
                raise
            losses.append(scalar_loss(loss, step, "graph"))
            records.append(record(session))
    return trajectory("graph", losses, records)


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
    variables = named_variables(model.variables, "eager")
    for name, value in check_initial_values(initial_values or {}, variables, "eager").items():
        variables[name].assign(value)
    records = [{name: variable.numpy() for name, variable in variables.items()}]
    losses: list[float] = []
    for step, batch in enumerate(batches, start=1):
        try:
            loss = model.train_step(*batch if isinstance(batch, tuple | list) else (batch,))
        except Exception as error:
            add_step_note(error, step, "eager")
            raise
        losses.append(scalar_loss(loss, step, "eager"))
        records.append({name: variable.numpy() for name, variable in variables.items()})
    return trajectory("eager", losses, records)


def free_eager_run(
    reference: Trajectory,
    build_eager: Callable[[], EagerModel],
    lockstep_model: EagerModel,
    batches: Sequence[Any],
    label: str,
    *,
    name_map: Mapping[str, str] | None,
    copy_initial: bool,
) -> tuple[Trajectory, dict[str, str]]:
    """The free run's candidate: a fresh eager build trained on ``batches``, from the reference's start.

    Args:
        reference: the trajectory the candidate is compared with (its step 0 is the start copied).
        build_eager: builds the eager side; it must give other variables than ``lockstep_model``'s.
        lockstep_model: the eager build the lockstep comparison trained.
        batches: one batch per step.
        label: the progress bar's label.
        name_map: reference name -> eager name where they differ (slots and counters are lockstep's, ignored).
        copy_initial: start the eager side from the reference's step 0 (else from its own values).

    Returns:
        The eager trajectory and the pairing (reference name -> eager name) to compare it by.

    Raises:
        ConfigError: ``build_eager`` returns no EagerModel, or the same variables as the lockstep build.
    """
    model = built_eager_model(build_eager)
    variables = named_variables(model.variables, "eager")
    refuse_shared_variables(named_variables(lockstep_model.variables, "eager"), variables)
    shapes = {name: variable_shape(v) for name, v in variables.items()}
    # Keys naming optimizer slots or counters belong to lockstep only.
    model_map = None if name_map is None else {k: v for k, v in name_map.items() if k in reference.variables}
    pairs = pair_variables({name: values.shape[1:] for name, values in reference.variables.items()}, shapes,
                           model_map).as_dict()
    initial = None
    if copy_initial:
        # Copy only where shapes agree; a mismatch is reported as structure.
        initial = {pairs[name]: values[0] for name, values in reference.variables.items()
                   if name in pairs and shapes[pairs[name]] == values.shape[1:]}
    return run_eager(model, progress(batches, label), initial), pairs
