"""TF1 graph-mode optimizers described as data, built the TF1 way.

An :class:`OptimizerSpec` names a ``tf.compat.v1.train`` optimizer with its TF1
hyper-parameter names and defaults, a learning rate (a number or one of the
TF1 decay functions of the global step) and optional gradient clipping. The
same spec builds the TF1 optimizer here (:func:`make_tf1_optimizer`,
:func:`minimize`) and its TF2 Keras counterpart in :mod:`graphmode.train.keras_map`,
so the two sides of a migration cannot drift apart.

Example:
    >>> spec = gm.optimizer_spec("adam", 1e-3, epsilon=1e-8, clip=gm.train.GradientClipping("global_norm", 5.0))
    >>> with graph.as_default():
    ...     step = gm.minimize(loss, spec)            # TrainOp: op, loss, grads_and_vars, global_step
    >>> keras_optimizer = gm.train.make_keras_optimizer(spec)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple

from graphmode._runtime import tf, v1
from graphmode.errors import ConfigError, NoGradientError

_REQUIRED = object()

# TF1 hyper-parameter names and TF1 defaults, per optimizer.
TF1_DEFAULTS: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {
        "gradient_descent": MappingProxyType({}),
        "momentum": MappingProxyType({"momentum": _REQUIRED, "use_nesterov": False}),
        "adam": MappingProxyType({"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}),
        "rmsprop": MappingProxyType({"decay": 0.9, "momentum": 0.0, "epsilon": 1e-10, "centered": False}),
        "adagrad": MappingProxyType({"initial_accumulator_value": 0.1}),
    }
)


@dataclass(frozen=True)
class ExponentialDecay:
    """``tf.compat.v1.train.exponential_decay``: ``lr * decay_rate ** (step / decay_steps)``."""

    learning_rate: float
    decay_steps: int
    decay_rate: float
    staircase: bool = False

    def tf1_tensor(self, global_step: tf.Variable) -> tf.Tensor:
        """The TF1 learning-rate tensor, recomputed from ``global_step`` on every run."""
        return v1.train.exponential_decay(
            self.learning_rate, global_step, self.decay_steps, self.decay_rate, staircase=self.staircase
        )

    def keras_schedule(self) -> tf.keras.optimizers.schedules.LearningRateSchedule:
        """The Keras schedule computing the same value from ``optimizer.iterations``."""
        return tf.keras.optimizers.schedules.ExponentialDecay(
            self.learning_rate, self.decay_steps, self.decay_rate, staircase=self.staircase
        )


@dataclass(frozen=True)
class PiecewiseConstant:
    """``tf.compat.v1.train.piecewise_constant``: ``values[i]`` while ``step <= boundaries[i]``."""

    boundaries: tuple[int, ...]
    values: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.values) != len(self.boundaries) + 1:
            raise ConfigError(
                f"PiecewiseConstant needs one more value than boundaries; got {len(self.boundaries)} "
                f"boundaries {list(self.boundaries)} and {len(self.values)} values {list(self.values)}"
            )
        if list(self.boundaries) != sorted(self.boundaries):
            raise ConfigError(f"PiecewiseConstant boundaries must increase; got {list(self.boundaries)}")

    def tf1_tensor(self, global_step: tf.Variable) -> tf.Tensor:
        """The TF1 learning-rate tensor, recomputed from ``global_step`` on every run."""
        return v1.train.piecewise_constant(global_step, list(self.boundaries), list(self.values))

    def keras_schedule(self) -> tf.keras.optimizers.schedules.LearningRateSchedule:
        """The Keras schedule computing the same value from ``optimizer.iterations``."""
        return tf.keras.optimizers.schedules.PiecewiseConstantDecay(list(self.boundaries), list(self.values))


@dataclass(frozen=True)
class PolynomialDecay:
    """``tf.compat.v1.train.polynomial_decay`` (TF1 defaults: end 1e-4, power 1, no cycle)."""

    learning_rate: float
    decay_steps: int
    end_learning_rate: float = 0.0001
    power: float = 1.0
    cycle: bool = False

    def tf1_tensor(self, global_step: tf.Variable) -> tf.Tensor:
        """The TF1 learning-rate tensor, recomputed from ``global_step`` on every run."""
        return v1.train.polynomial_decay(
            self.learning_rate,
            global_step,
            self.decay_steps,
            end_learning_rate=self.end_learning_rate,
            power=self.power,
            cycle=self.cycle,
        )

    def keras_schedule(self) -> tf.keras.optimizers.schedules.LearningRateSchedule:
        """The Keras schedule computing the same value from ``optimizer.iterations``."""
        return tf.keras.optimizers.schedules.PolynomialDecay(
            self.learning_rate, self.decay_steps, self.end_learning_rate, power=self.power, cycle=self.cycle
        )


LearningRate = float | ExponentialDecay | PiecewiseConstant | PolynomialDecay
_SCHEDULES = (ExponentialDecay, PiecewiseConstant, PolynomialDecay)


def _clip_global_norm(grads: list, threshold: float) -> list:
    return list(tf.clip_by_global_norm(grads, threshold)[0])


def _clip_each_norm(grads: list, threshold: float) -> list:
    return [tf.clip_by_norm(grad, threshold) for grad in grads]


def _clip_each_value(grads: list, threshold: float) -> list:
    return [tf.clip_by_value(grad, -threshold, threshold) for grad in grads]


# kind -> (TF1 graph clipping, the Keras optimizer argument that does the same ops)
CLIPPING_KINDS: Mapping[str, tuple[Callable[[list, float], list], str]] = MappingProxyType(
    {
        "global_norm": (_clip_global_norm, "global_clipnorm"),
        "norm": (_clip_each_norm, "clipnorm"),
        "value": (_clip_each_value, "clipvalue"),
    }
)


class GradientClipping(NamedTuple):
    """Gradient clipping applied between ``compute_gradients`` and ``apply_gradients``.

    ``kind`` is ``"global_norm"`` (``tf.clip_by_global_norm`` over all gradients;
    Keras ``global_clipnorm``), ``"norm"`` (``tf.clip_by_norm`` per gradient;
    Keras ``clipnorm``) or ``"value"`` (``tf.clip_by_value(g, -t, t)``; Keras ``clipvalue``).
    """

    kind: str
    threshold: float

    def apply(self, grads: list) -> list:
        """Returns the clipped gradients (graph ops)."""
        return CLIPPING_KINDS[self.kind][0](grads, self.threshold)


@dataclass(frozen=True)
class OptimizerSpec:
    """A TF1 optimizer, its hyper-parameters (TF1 names, defaults filled in), learning rate and clipping."""

    name: str
    learning_rate: LearningRate
    hyperparameters: Mapping[str, Any]
    clipping: GradientClipping | None = None

    @property
    def has_schedule(self) -> bool:
        """True when the learning rate changes with the global step."""
        return isinstance(self.learning_rate, _SCHEDULES)


def _check_learning_rate(learning_rate: object) -> None:
    if isinstance(learning_rate, _SCHEDULES):
        return
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float)) or learning_rate <= 0:
        raise ConfigError(
            f"learning_rate must be a positive number or one of ExponentialDecay, PiecewiseConstant, "
            f"PolynomialDecay; got {learning_rate!r}. For a TF1 decay tensor, describe the decay with "
            "one of those so the Keras side can use the matching schedule."
        )


def optimizer_spec(
    name: str,
    learning_rate: LearningRate,
    *,
    clip: GradientClipping | None = None,
    **hyperparameters: float | bool,
) -> OptimizerSpec:
    """Describes a ``tf.compat.v1.train`` optimizer with its TF1 argument names.

    Args:
        name: ``"gradient_descent"``, ``"momentum"``, ``"adam"``, ``"rmsprop"`` or ``"adagrad"``.
        learning_rate: a positive number or a TF1 decay (:class:`ExponentialDecay`,
            :class:`PiecewiseConstant`, :class:`PolynomialDecay`).
        clip: gradient clipping, or None.
        **hyperparameters: TF1 keyword arguments (``beta1``, ``epsilon``, ``momentum``,
            ``use_nesterov``, ``decay``, ``centered``, ``initial_accumulator_value``);
            missing ones take TF1's defaults.

    Returns:
        A frozen :class:`OptimizerSpec`.

    Raises:
        ConfigError: unknown optimizer or hyper-parameter, a required one missing,
            or a value TF1 would reject.
    """
    if name not in TF1_DEFAULTS:
        raise ConfigError(f"unknown TF1 optimizer {name!r}; choose one of {sorted(TF1_DEFAULTS)}")
    defaults = TF1_DEFAULTS[name]
    unknown = sorted(set(hyperparameters) - set(defaults))
    if unknown:
        raise ConfigError(
            f"optimizer {name!r} has no hyper-parameter {', '.join(map(repr, unknown))}; "
            f"it takes {sorted(defaults) or 'only learning_rate'} (TF1 argument names)"
        )
    values = {key: hyperparameters.get(key, default) for key, default in defaults.items()}
    missing = [key for key, value in values.items() if value is _REQUIRED]
    if missing:
        raise ConfigError(f"optimizer {name!r} needs {', '.join(missing)} (TF1 has no default for it)")
    _check_learning_rate(learning_rate)
    for key in ("epsilon", "momentum"):
        if key in values and values[key] < 0:
            raise ConfigError(f"optimizer {name!r}: {key} must be >= 0; got {values[key]}")
    if name == "adagrad" and values["initial_accumulator_value"] <= 0:
        raise ConfigError(
            "optimizer 'adagrad': initial_accumulator_value must be > 0 (TF1 divides by its square root "
            f"on the first step); got {values['initial_accumulator_value']}"
        )
    if clip is not None:
        if clip.kind not in CLIPPING_KINDS:
            raise ConfigError(f"unknown clipping kind {clip.kind!r}; choose one of {sorted(CLIPPING_KINDS)}")
        if not clip.threshold > 0:
            raise ConfigError(f"clipping threshold must be > 0; got {clip.threshold}")
    return OptimizerSpec(name, learning_rate, MappingProxyType(values), clip)


_TF1_FACTORIES: Mapping[str, Callable[..., v1.train.Optimizer]] = MappingProxyType(
    {
        "gradient_descent": lambda lr, p: v1.train.GradientDescentOptimizer(lr),
        "momentum": lambda lr, p: v1.train.MomentumOptimizer(lr, p["momentum"], use_nesterov=p["use_nesterov"]),
        "adam": lambda lr, p: v1.train.AdamOptimizer(lr, beta1=p["beta1"], beta2=p["beta2"], epsilon=p["epsilon"]),
        "rmsprop": lambda lr, p: v1.train.RMSPropOptimizer(
            lr, decay=p["decay"], momentum=p["momentum"], epsilon=p["epsilon"], centered=p["centered"]
        ),
        "adagrad": lambda lr, p: v1.train.AdagradOptimizer(lr, initial_accumulator_value=p["initial_accumulator_value"]),
    }
)


def make_tf1_optimizer(spec: OptimizerSpec, global_step: tf.Variable | None = None) -> v1.train.Optimizer:
    """Builds the ``tf.compat.v1.train`` optimizer ``spec`` describes, in the default graph.

    A decaying learning rate becomes TF1's decay tensor of ``global_step`` (the
    graph's global step, created if needed, when None). The step only advances
    when it is passed to ``apply_gradients``/``minimize`` (:func:`minimize` does).
    """
    learning_rate = spec.learning_rate
    if isinstance(learning_rate, _SCHEDULES):
        step = global_step if global_step is not None else v1.train.get_or_create_global_step()
        learning_rate = learning_rate.tf1_tensor(step)
    return _TF1_FACTORIES[spec.name](learning_rate, spec.hyperparameters)


class TrainOp(NamedTuple):
    """What :func:`minimize` built: the update op and the pieces TF1 code reaches for."""

    op: tf.Operation
    loss: tf.Tensor
    grads_and_vars: tuple[tuple[tf.Tensor, tf.Variable], ...]
    global_step: tf.Variable | None
    optimizer: v1.train.Optimizer


def _variable_name(variable: object) -> str:
    return getattr(variable, "name", repr(variable))


def minimize(
    loss: tf.Tensor,
    optimizer: OptimizerSpec | v1.train.Optimizer,
    *,
    var_list: Sequence[tf.Variable] | None = None,
    global_step: tf.Variable | None = None,
    clip: GradientClipping | None = None,
    name: str = "train",
) -> TrainOp:
    """``compute_gradients`` -> optional clipping -> ``apply_gradients(global_step=...)``.

    Args:
        loss: the scalar loss tensor (in the graph being built).
        optimizer: an :class:`OptimizerSpec` (built here) or a TF1 optimizer.
        var_list: variables to train (default: the graph's trainable variables).
        global_step: incremented once per run of the op. With a spec whose
            learning rate decays, the graph's global step is created and used when None.
        clip: clipping; a spec's own clipping is used when None.
        name: name of the update op.

    Returns:
        A :class:`TrainOp`; ``grads_and_vars`` are the gradients after clipping.

    Raises:
        ConfigError: ``clip`` given for a spec that already clips, or a ``var_list``
            entry that is not a variable of the loss's graph.
        NoGradientError: no variable of ``var_list`` gets a gradient from ``loss``.
    """
    if isinstance(optimizer, OptimizerSpec):
        if clip is not None and optimizer.clipping is not None:
            raise ConfigError(
                f"clipping given twice: the spec clips with {optimizer.clipping} and clip={clip}; keep one"
            )
        clip = clip or optimizer.clipping
        if global_step is None and optimizer.has_schedule:
            global_step = v1.train.get_or_create_global_step(loss.graph)
        optimizer = make_tf1_optimizer(optimizer, global_step)
    if var_list is not None:
        var_list = list(var_list)
        for variable in var_list:
            if not isinstance(variable, tf.Variable) or getattr(variable, "graph", None) is not loss.graph:
                raise ConfigError(
                    f"var_list entry {_variable_name(variable)} is not a variable of the loss's graph "
                    f"(loss '{loss.name}'); pass variables created in that graph"
                )
    grads_and_vars = [
        (grad, variable)
        for grad, variable in optimizer.compute_gradients(loss, var_list=var_list)
        if grad is not None
    ]
    if not grads_and_vars:
        candidates = var_list if var_list is not None else loss.graph.get_collection(v1.GraphKeys.TRAINABLE_VARIABLES)
        names = ", ".join(f"'{_variable_name(variable)}'" for variable in candidates) or "none"
        raise NoGradientError(
            f"loss '{loss.name}' has no gradient with respect to any of the variables ({names}); "
            "check that the loss depends on them through differentiable ops"
        )
    if clip is not None:
        clipped = clip.apply([grad for grad, _ in grads_and_vars])
        grads_and_vars = list(zip(clipped, (variable for _, variable in grads_and_vars)))
    op = optimizer.apply_gradients(grads_and_vars, global_step=global_step, name=name)
    return TrainOp(op, loss, tuple(grads_and_vars), global_step, optimizer)
