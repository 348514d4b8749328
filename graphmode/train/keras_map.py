"""The TF1 -> TF2 optimizer map: which ``tf.keras`` optimizer updates variables like a TF1 one.

``tf.keras`` here is tf-keras 2.21 (graphmode sets ``TF_USE_LEGACY_KERAS=1``).
Each entry was worked out from the TF1 kernels (``training_ops.cc``) and the
tf-keras ``update_step`` code, then checked by training the same problem both
ways (``tests/train/test_optimizers.py``). For dense gradients:

=================  ===========================================  ======================================
TF1                Keras                                        why the arguments differ
=================  ===========================================  ======================================
GradientDescent    ``SGD(lr, momentum=0.0)``                    same op: ``var -= lr * g``
Momentum, const    ``SGD(lr, momentum=m, nesterov=n)``          see below
Momentum, decay    none stock; :class:`TF1Momentum`             see below
Adam               ``Adam(lr, beta_1, beta_2, epsilon=1e-8)``   Keras' default epsilon is 1e-7
RMSProp            none stock; :class:`TF1RMSprop`              TF1 starts the mean square at 1, Keras at 0
Adagrad            ``Adagrad(lr, initial_accumulator_value,``   TF1 has no epsilon; Keras adds 1e-7
                   ``epsilon=0.0)``                             inside the square root by default
=================  ===========================================  ======================================

Momentum. TF1 keeps an accumulator ``a_t = m a_{t-1} + g_t`` and steps
``var -= lr_t a_t``; Keras keeps a velocity ``v_t = m v_{t-1} - lr_t g_t`` and
steps ``var += v_t``. With a constant ``lr``, induction gives ``v_t = -lr a_t``
(``v_t = m(-lr a_{t-1}) - lr g_t = -lr(m a_{t-1} + g_t)``), so both make the same
steps, Nesterov included (TF1: ``var -= lr g_t + lr m a_t``; Keras:
``var += -lr g_t + m v_t``); only float rounding differs, since the products are
formed in another order. With a learning rate that changes, TF1 rescales the whole
history by today's rate (``lr_t (g_t + m g_{t-1} + ...)``) while Keras keeps each
gradient at the rate of its own step (``lr_t g_t + m lr_{t-1} g_{t-1} + ...``):
they part from the first change on, and no Keras argument changes that.

RMSProp. Both put epsilon *inside* the square root: the TF1 kernel computes
``lr g / sqrt(ms + eps)``, tf-keras 2.21 ``lr g * rsqrt(velocity + eps)`` (and the
centered form subtracts ``mg**2`` inside it on both sides). What no argument can
fix: TF1 initializes ``ms`` to ones, Keras its velocity to zeros, so the first
Keras steps are about ``1/sqrt(1 - rho)`` times larger. TF1's default epsilon is
1e-10, Keras' 1e-7.

Sparse gradients (``IndexedSlices``) are out of scope: TF1's sparse Momentum and
RMSProp kernels leave rows without a gradient untouched, the Keras ones decay every
row. Learning-rate decays map to the Keras schedule of the same name, evaluated at
``optimizer.iterations`` where TF1 evaluated the global step: both read the
count before it is incremented, so step ``k`` (from 0) uses ``schedule(k)`` on both sides.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from graphmode._runtime import tf
from graphmode.errors import NoKerasEquivalentError
from graphmode.train.optimizers import CLIPPING_KINDS, OptimizerSpec


def _refuse_sparse(optimizer: tf.keras.optimizers.Optimizer, gradient: object, variable: tf.Variable) -> None:
    if isinstance(gradient, tf.IndexedSlices):
        raise NoKerasEquivalentError(
            f"{type(optimizer).__name__}: variable '{variable.name}' got a sparse gradient (IndexedSlices). "
            "TF1's sparse update leaves rows without a gradient untouched and graphmode does not reproduce "
            "it; densify the gradient (tf.convert_to_tensor) on both sides to compare them."
        )


class TF1Momentum(tf.keras.optimizers.SGD):
    """A Keras optimizer with TF1 ``MomentumOptimizer``'s update (accumulator form).

    ``a = momentum * a + g; var -= lr * a`` (Nesterov: ``var -= lr * g + lr * momentum * a``),
    which differs from Keras ``SGD(momentum=...)`` once the learning rate changes
    between steps. The accumulator lives in SGD's ``m`` slot.
    """

    def __init__(self, learning_rate: Any = 0.01, momentum: float = 0.0, nesterov: bool = False, **kwargs: Any):
        super().__init__(learning_rate=learning_rate, momentum=momentum, nesterov=nesterov, **kwargs)

    def update_step(self, gradient, variable):
        _refuse_sparse(self, gradient, variable)
        lr = tf.cast(self.learning_rate, variable.dtype)
        momentum = tf.cast(self.momentum, variable.dtype)
        accumulator = self.momentums[self._index_dict[self._var_key(variable)]]
        accumulator.assign(accumulator * momentum + gradient)
        if self.nesterov:
            variable.assign_sub(gradient * lr + accumulator * momentum * lr)
        else:
            variable.assign_sub(accumulator * lr)


class TF1RMSprop(tf.keras.optimizers.RMSprop):
    """Keras ``RMSprop`` with TF1 ``RMSPropOptimizer``'s start: mean square at 1, epsilon 1e-10.

    The update formula of tf-keras 2.21 already matches TF1's kernel (epsilon
    inside the square root, centered variant included); only the accumulator's
    initial value (no Keras argument sets it) and the defaults differ.
    """

    def __init__(
        self,
        learning_rate: Any = 0.001,
        rho: float = 0.9,
        momentum: float = 0.0,
        epsilon: float = 1e-10,
        centered: bool = False,
        **kwargs: Any,
    ):
        super().__init__(
            learning_rate=learning_rate, rho=rho, momentum=momentum, epsilon=epsilon, centered=centered, **kwargs
        )

    def add_variable_from_reference(self, model_variable, variable_name, shape=None, initial_value=None):
        if variable_name == "velocity" and initial_value is None:
            initial_value = tf.ones(model_variable.shape if shape is None else shape, dtype=model_variable.dtype)
        return super().add_variable_from_reference(model_variable, variable_name, shape, initial_value)

    def update_step(self, gradient, variable):
        _refuse_sparse(self, gradient, variable)
        super().update_step(gradient, variable)


class KerasCounterpart(NamedTuple):
    """The Keras optimizer that updates variables like a TF1 spec, and how to write it.

    Attributes:
        optimizer: a fresh, configured Keras optimizer.
        code: the TF2 line that builds it.
        builtin: True for a stock ``tf.keras.optimizers`` class; False for
            graphmode's :class:`TF1Momentum` / :class:`TF1RMSprop`.
        notes: the arguments that differ from a naive translation, and why.
    """

    optimizer: tf.keras.optimizers.Optimizer
    code: str
    builtin: bool
    notes: tuple[str, ...]


class _Plan(NamedTuple):
    class_path: str  # as written in TF2 code
    make: Callable[..., tf.keras.optimizers.Optimizer]
    arguments: dict
    notes: tuple[str, ...]
    refusal: str | None  # why no stock Keras optimizer fits (None when the plan is stock)


def _gradient_descent(spec: OptimizerSpec) -> _Plan:
    return _Plan("tf.keras.optimizers.SGD", tf.keras.optimizers.SGD, {"momentum": 0.0}, (), None)


def _momentum(spec: OptimizerSpec) -> _Plan:
    p = spec.hyperparameters
    arguments = {"momentum": p["momentum"], "nesterov": p["use_nesterov"]}
    if not spec.has_schedule:
        note = (
            "Keras SGD keeps the velocity -lr*accumulator; with a constant learning rate the steps are the "
            "same (float rounding aside)"
        )
        return _Plan("tf.keras.optimizers.SGD", tf.keras.optimizers.SGD, arguments, (note,), None)
    refusal = (
        f"TF1 MomentumOptimizer with a changing learning rate ({type(spec.learning_rate).__name__}) has no "
        "stock Keras counterpart: TF1 steps by lr_t * accumulator, rescaling every past gradient by today's "
        "rate, while Keras SGD folds each step's rate into its velocity (v = m*v - lr_t*g). They differ from "
        "the first change of the rate on. Use graphmode.train.TF1Momentum, or a constant learning rate."
    )
    note = "graphmode.train.TF1Momentum keeps TF1's accumulator, so a changing learning rate scales it as in TF1"
    return _Plan("graphmode.train.TF1Momentum", TF1Momentum, arguments, (note,), refusal)


def _adam(spec: OptimizerSpec) -> _Plan:
    p = spec.hyperparameters
    arguments = {"beta_1": p["beta1"], "beta_2": p["beta2"], "epsilon": p["epsilon"]}
    note = f"epsilon={p['epsilon']!r} passed explicitly: Keras' default is 1e-7 (TF1's 1e-8)"
    return _Plan("tf.keras.optimizers.Adam", tf.keras.optimizers.Adam, arguments, (note,), None)


def _rmsprop(spec: OptimizerSpec) -> _Plan:
    p = spec.hyperparameters
    arguments = {"rho": p["decay"], "momentum": p["momentum"], "epsilon": p["epsilon"], "centered": p["centered"]}
    refusal = (
        "TF1 RMSPropOptimizer has no stock Keras counterpart: TF1 initializes its mean-square accumulator "
        "to 1.0, Keras RMSprop its velocity to 0.0 and no argument changes that, so the first Keras steps "
        f"are about {1 / (1 - p['decay']) ** 0.5:.3g}x larger (1/sqrt(1 - rho)). Epsilon sits inside the "
        "square root on both sides. Use graphmode.train.TF1RMSprop."
    )
    notes = (
        "graphmode.train.TF1RMSprop starts the mean square at 1.0 as TF1 does",
        f"epsilon={p['epsilon']!r} passed explicitly: Keras' default is 1e-7 (TF1's 1e-10)",
    )
    return _Plan("graphmode.train.TF1RMSprop", TF1RMSprop, arguments, notes, refusal)


def _adagrad(spec: OptimizerSpec) -> _Plan:
    value = spec.hyperparameters["initial_accumulator_value"]
    arguments = {"initial_accumulator_value": value, "epsilon": 0.0}
    notes = (
        "epsilon=0.0: TF1 Adagrad has none, Keras adds 1e-7 inside the square root by default",
        f"initial_accumulator_value={value!r} passed explicitly (both default to 0.1)",
    )
    return _Plan("tf.keras.optimizers.Adagrad", tf.keras.optimizers.Adagrad, arguments, notes, None)


_PLANS: Mapping[str, Callable[[OptimizerSpec], _Plan]] = MappingProxyType(
    {
        "gradient_descent": _gradient_descent,
        "momentum": _momentum,
        "adam": _adam,
        "rmsprop": _rmsprop,
        "adagrad": _adagrad,
    }
)


def _learning_rate_code(spec: OptimizerSpec) -> str:
    rate = spec.learning_rate
    if not spec.has_schedule:
        return repr(rate)
    schedule = rate.keras_schedule()
    config = ", ".join(f"{key}={value!r}" for key, value in schedule.get_config().items() if key != "name")
    return f"tf.keras.optimizers.schedules.{type(schedule).__name__}({config})"


def keras_counterpart(spec: OptimizerSpec, *, builtin_only: bool = False) -> KerasCounterpart:
    """Returns the Keras optimizer that updates variables the way TF1's ``spec`` optimizer does.

    Args:
        spec: the TF1 optimizer (:func:`graphmode.optimizer_spec`).
        builtin_only: refuse, rather than return graphmode's TF1-style Keras
            optimizer, when no stock ``tf.keras`` optimizer matches.

    Returns:
        A :class:`KerasCounterpart` (a fresh optimizer each call).

    Raises:
        NoKerasEquivalentError: ``builtin_only`` and no stock Keras optimizer
            makes the same updates; the message says why and what to use.
    """
    plan = _PLANS[spec.name](spec)
    if builtin_only and plan.refusal is not None:
        raise NoKerasEquivalentError(plan.refusal)
    arguments = dict(plan.arguments)
    notes = list(plan.notes)
    if spec.clipping is not None:
        keras_argument = CLIPPING_KINDS[spec.clipping.kind][1]
        arguments[keras_argument] = spec.clipping.threshold
        notes.append(f"{keras_argument} runs the same clipping ops as TF1's {spec.clipping.kind} clipping")
    if spec.has_schedule:
        notes.append(
            "the learning rate is a Keras schedule read at optimizer.iterations, as TF1 read the global step; "
            "evaluating the TF1 decay tensor once would freeze the rate"
        )
    learning_rate = spec.learning_rate.keras_schedule() if spec.has_schedule else spec.learning_rate
    optimizer = plan.make(learning_rate=learning_rate, **arguments)
    written = ", ".join([f"learning_rate={_learning_rate_code(spec)}"] + [f"{k}={v!r}" for k, v in arguments.items()])
    return KerasCounterpart(optimizer, f"{plan.class_path}({written})", plan.refusal is None, tuple(notes))


def make_keras_optimizer(spec: OptimizerSpec, *, builtin_only: bool = False) -> tf.keras.optimizers.Optimizer:
    """Shorthand for ``keras_counterpart(spec, builtin_only=...).optimizer``."""
    return keras_counterpart(spec, builtin_only=builtin_only).optimizer
