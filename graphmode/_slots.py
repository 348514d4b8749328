"""Optimizer state between TF1 ``tf.compat.v1.train`` optimizers and Keras optimizers.

On the ground floor because two capabilities read it and neither owns it: the
checkpoint bridge writes and reads slots (``checkpoint/``), and lockstep parity
copies them between the two runs (``parity/``). It knows optimizer *state*, not
how to build or run an optimizer (that is ``train/``), so neither has to import
``train/`` for it.

Only pairs whose update rules are the same function of the same state are
mapped, so a run continued on the other side takes the steps it would have
taken where it started:

* TF1 ``AdamOptimizer`` <-> Keras ``Adam`` (``amsgrad=False``): slots ``m``/``v``
  are identical; TF1 counts steps in ``beta1_power = beta1 ** (t + 1)`` where
  Keras keeps ``iterations = t``.
* TF1 ``MomentumOptimizer`` <-> Keras ``SGD(momentum > 0)``: TF1 accumulates
  gradients (``a = mu * a + g; w -= lr * a``) where Keras accumulates steps
  (``m = mu * m - lr * g; w += m``), so ``m = -lr * a``, with ``lr`` the
  learning rate of the step the state feeds. Under a schedule that is the
  schedule's value at that step's ``iterations`` (the two rules then agree
  step by step from a converted state, not over a run: TF1 scales its whole
  accumulator by today's rate, Keras each gradient by its own day's).
  graphmode's ``TF1Momentum`` keeps the TF1 accumulator itself.
* TF1 ``AdagradOptimizer`` <-> Keras ``Adagrad``: the accumulators are identical.
* TF1 ``RMSPropOptimizer`` <-> Keras ``RMSprop`` (and graphmode's ``TF1RMSprop``):
  mean square, mean gradient (``centered``) and momentum are identical (the
  two differ in the *initial* mean square, which a transfer overwrites). TF1
  always keeps a momentum slot; with ``momentum=0`` Keras has none, so it is
  skipped on load and written as zeros (it then never affects an update).
* TF1 ``GradientDescentOptimizer`` <-> Keras ``SGD(momentum=0)``: no slots.

The Keras side is either Keras: tf-keras 2.x (``tf.keras`` once graphmode
set ``TF_USE_LEGACY_KERAS=1``; not the ``.legacy`` optimizers) or Keras 3
(the ``keras`` package, which is also ``tf.keras`` in a process that imported
TensorFlow without legacy Keras). Both keep a slot kind in a per-class list
under the same attribute names; tf-keras indexes it by ``_index_dict``, Keras 3
by ``_get_variable_index``. Those layouts are pinned by the tf-keras and Keras
versions graphmode is tested with, and the tests exercise both.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Mapping
from typing import NamedTuple

import numpy as np

from graphmode.errors import CheckpointMatchError, ConfigError


class SlotRule(NamedTuple):
    """One slot: TF1 name suffix (``{name}`` is the TF1 optimizer name), Keras list attribute, conversions.

    ``keras_attribute`` None: a TF1 slot the Keras optimizer has no use for
    (read nothing, write zeros).
    """

    tf1_suffix: str
    keras_attribute: str | None
    # (value, optimizer, iteration=None) -> value; `iteration` is the Keras step
    # count whose learning rate converts it (None: the optimizer's `iterations`).
    to_keras: Callable[..., np.ndarray]
    to_tf1: Callable[..., np.ndarray]


class OptimizerMap(NamedTuple):
    """How one Keras optimizer's state corresponds to a TF1 optimizer's checkpoint entries.

    Attributes:
        tf1_optimizer: the TF1 optimizer class and its default ``name``.
        slots: the optimizer -> one :class:`SlotRule` per TF1 slot variable.
        steps_from_tf1: TF1 state entries (``beta1_power``, ``global_step``) ->
            Keras ``iterations``, or None when the checkpoint does not say.
        state_to_tf1: Keras ``iterations`` -> TF1 state entries to write.
    """

    tf1_optimizer: str
    slots: Callable[[object], tuple[SlotRule, ...]]
    steps_from_tf1: Callable[[Mapping[str, np.ndarray], object], int | None]
    state_to_tf1: Callable[[int, object], dict[str, np.ndarray]]


# Keras packages by their import name, as messages call them.
KERAS_PACKAGES = {"tf_keras": "tf-keras (Keras 2)", "keras": "Keras 3"}


def keras_package(value: object) -> str | None:
    """``"tf_keras"`` or ``"keras"``: the Keras ``value``'s class (or a base class) comes from; None for neither."""
    for cls in type(value).__mro__:
        package = cls.__module__.partition(".")[0]
        if package in KERAS_PACKAGES:
            return package
    return None


def _keras_api(value: object, attribute: str):
    # The package is imported already: `value` is one of its objects.
    package = keras_package(value)
    return None if package is None else getattr(importlib.import_module(f"{package}.optimizers"), attribute)


def is_keras_optimizer(value: object) -> bool:
    """True for a tf-keras or Keras 3 optimizer (not tf-keras' ``.legacy`` ones)."""
    base = _keras_api(value, "Optimizer")
    return base is not None and isinstance(value, base)


def is_built(optimizer) -> bool:
    """True once the optimizer created its slots (it applied gradients, or ``build`` ran)."""
    return bool(getattr(optimizer, "built" if keras_package(optimizer) == "keras" else "_built", False))


def _is_schedule(optimizer, value: object) -> bool:
    schedules = _keras_api(optimizer, "schedules")
    return schedules is not None and isinstance(value, schedules.LearningRateSchedule)


def _hyper(optimizer, name: str) -> float:
    # A scheduled learning rate lives in `_learning_rate`; `learning_rate` then
    # reads as the current value, which would silently freeze the schedule.
    if _is_schedule(optimizer, getattr(optimizer, "_" + name, None)) or _is_schedule(optimizer, getattr(optimizer, name)):
        raise ConfigError(f"{type(optimizer).__name__}.{name} is a schedule; converting its state needs a constant "
                          f"{name}")
    value = getattr(optimizer, name)
    return float(value.numpy() if hasattr(value, "numpy") else value)


def learning_rate_at(optimizer, iteration: int | None = None) -> float:
    """The learning rate of the step a Keras optimizer takes from ``iterations == iteration``.

    A schedule is evaluated at ``iteration`` (Keras calls it with ``iterations``
    before incrementing); a constant is itself. None: the optimizer's current
    ``iterations``, i.e. its next step.
    """
    schedule = getattr(optimizer, "_learning_rate", None)
    if _is_schedule(optimizer, schedule):
        count = int(optimizer.iterations.numpy()) if iteration is None else int(iteration)
        value = schedule(count)
        return float(value.numpy() if hasattr(value, "numpy") else value)
    return _hyper(optimizer, "learning_rate")


def _tf1_power(base: float, count: int) -> np.float32:
    # TF1 Adam starts beta1_power at float32(beta1) and multiplies by
    # float32(beta1) once per step; repeat that in float32 so a TF1 -> eager ->
    # TF1 round trip gives back the same bits.
    factor = np.float32(base)
    if count > 10_000_000:
        return np.float32(factor ** count)
    return np.multiply.accumulate(np.full(count, factor, dtype=np.float32))[-1]


def _adam_steps(state: Mapping[str, np.ndarray], optimizer) -> int | None:
    tiny = np.finfo(np.float32).tiny
    for power_name, beta_name in (("beta1_power", "beta_1"), ("beta2_power", "beta_2")):
        power = float(state.get(power_name, 0.0))
        if power >= tiny:  # below it the power has underflowed and no longer counts steps
            beta = _hyper(optimizer, beta_name)
            exponent = math.log(power) / math.log(beta)
            if abs(exponent - round(exponent)) > 1e-3 * max(1.0, exponent):
                raise CheckpointMatchError(
                    f"checkpoint {power_name} = {power!r} is not a power of the Keras optimizer's {beta_name} = "
                    f"{beta} ({exponent:.4f} steps); build the Keras Adam with the TF1 AdamOptimizer's beta1/beta2"
                )
            return int(round(exponent)) - 1
    return _global_step(state, optimizer)


def _adam_state(iterations: int, optimizer) -> dict[str, np.ndarray]:
    return {
        "beta1_power": _tf1_power(_hyper(optimizer, "beta_1"), iterations + 1),
        "beta2_power": _tf1_power(_hyper(optimizer, "beta_2"), iterations + 1),
    }


def _global_step(state: Mapping[str, np.ndarray], optimizer) -> int | None:
    return int(state["global_step"]) if "global_step" in state else None


def _no_state(iterations: int, optimizer) -> dict[str, np.ndarray]:
    return {}


def _same(value: np.ndarray, optimizer, iteration: int | None = None) -> np.ndarray:
    return value


def _momentum_to_keras(value: np.ndarray, optimizer, iteration: int | None = None) -> np.ndarray:
    rate = np.asarray(learning_rate_at(optimizer, iteration), value.dtype)
    return (-rate * value).astype(value.dtype)


def _momentum_to_tf1(value: np.ndarray, optimizer, iteration: int | None = None) -> np.ndarray:
    rate = np.asarray(learning_rate_at(optimizer, iteration), value.dtype)
    return (value / -rate).astype(value.dtype)


def _rmsprop_slots(optimizer) -> tuple[SlotRule, ...]:
    # TF1 creates "rms", then "mg" when centered, then "momentum", numbering
    # the names in that order: RMSProp, RMSProp_1[, RMSProp_2].
    rules = [SlotRule("{name}", "_velocities", _same, _same)]
    if optimizer.centered:
        rules.append(SlotRule("{name}_1", "_average_gradients", _same, _same))
    momentum = "_momentums" if _hyper(optimizer, "momentum") > 0 else None
    rules.append(SlotRule(f"{{name}}_{len(rules)}", momentum, _same, _same))
    return tuple(rules)


def _momentum_slots(optimizer) -> tuple[SlotRule, ...]:
    if type(optimizer).__name__ == "TF1Momentum":  # graphmode's SGD keeping the TF1 accumulator itself
        return (SlotRule("{name}", "momentums", _same, _same),)
    return (SlotRule("{name}", "momentums", _momentum_to_keras, _momentum_to_tf1),)


_ADAM = OptimizerMap(
    "AdamOptimizer",
    lambda _: (SlotRule("{name}", "_momentums", _same, _same), SlotRule("{name}_1", "_velocities", _same, _same)),
    _adam_steps,
    _adam_state,
)
_MOMENTUM = OptimizerMap("MomentumOptimizer", _momentum_slots, _global_step, _no_state)
_ADAGRAD = OptimizerMap(
    "AdagradOptimizer", lambda _: (SlotRule("{name}", "_accumulators", _same, _same),), _global_step, _no_state
)
_RMSPROP = OptimizerMap("RMSPropOptimizer", _rmsprop_slots, _global_step, _no_state)
_GRADIENT_DESCENT = OptimizerMap("GradientDescentOptimizer", lambda _: (), _global_step, _no_state)

# TF1 optimizers name their slots after the optimizer's `name`, whose default is this.
TF1_DEFAULT_NAMES = {"AdamOptimizer": "Adam", "MomentumOptimizer": "Momentum", "AdagradOptimizer": "Adagrad",
                     "RMSPropOptimizer": "RMSProp", "GradientDescentOptimizer": "GradientDescent"}


def optimizer_map_for(optimizer) -> OptimizerMap:
    """Returns the :class:`OptimizerMap` for a Keras optimizer instance.

    Raises:
        ConfigError: the optimizer has no TF1 counterpart with the same state
            (or is a ``tf.keras.optimizers.legacy`` one).
    """
    kind = type(optimizer).__name__
    if not is_keras_optimizer(optimizer):
        raise ConfigError(
            f"optimizer {kind} ({type(optimizer).__module__}) is not a tf.keras.optimizers.Optimizer (tf-keras) nor "
            "a keras.optimizers.Optimizer (Keras 3); slot transfer supports their Adam, SGD, Adagrad and RMSprop "
            "(not tf-keras' .legacy ones)"
        )
    keras = importlib.import_module(f"{keras_package(optimizer)}.optimizers")
    if getattr(optimizer, "gradient_accumulation_steps", None):
        raise ConfigError(f"{kind}(gradient_accumulation_steps={optimizer.gradient_accumulation_steps}) updates every "
                          "few calls, which no TF1 optimizer does; use gradient_accumulation_steps=None")
    if isinstance(optimizer, keras.Adam):
        if optimizer.amsgrad:
            raise ConfigError("Keras Adam(amsgrad=True) keeps a max of past v that TF1 AdamOptimizer has no slot for; "
                              "use amsgrad=False")
        return _ADAM
    if isinstance(optimizer, keras.SGD):
        return _MOMENTUM if _hyper(optimizer, "momentum") > 0 else _GRADIENT_DESCENT
    if isinstance(optimizer, keras.Adagrad):
        return _ADAGRAD
    if isinstance(optimizer, keras.RMSprop):
        return _RMSPROP
    raise ConfigError(f"optimizer {kind} has no TF1 counterpart with the same state; slot transfer supports "
                      "Adam (AdamOptimizer), SGD (MomentumOptimizer / GradientDescentOptimizer), Adagrad and RMSprop")


def tf1_slot_suffixes(optimizer_map: OptimizerMap, optimizer, tf1_name: str | None) -> list[tuple[str, SlotRule]]:
    """Returns ``(suffix, rule)`` per slot, e.g. ``[("Adam", m rule), ("Adam_1", v rule)]``."""
    name = tf1_name or TF1_DEFAULT_NAMES[optimizer_map.tf1_optimizer]
    return [(rule.tf1_suffix.format(name=name), rule) for rule in optimizer_map.slots(optimizer)]


def ensure_built(optimizer, variables: list) -> None:
    """Builds the Keras optimizer for ``variables`` (its slots are created here, zero-valued).

    Raises:
        ConfigError: the optimizer was already built for other variables.
    """
    if not is_built(optimizer):
        optimizer.build(variables)
        return
    missing = [v.name for v in variables if not has_slots_for(optimizer, v)]
    if missing:
        raise ConfigError(f"optimizer {type(optimizer).__name__} was already built for other variables and has no "
                          f"slots for {missing}; pass a fresh optimizer")


def _slot_index(optimizer, variable) -> int:
    if keras_package(optimizer) == "keras":
        return optimizer._get_variable_index(variable)
    return optimizer._index_dict[optimizer._var_key(variable)]


def has_slots_for(optimizer, variable) -> bool:
    """True when the built optimizer keeps slots for ``variable``."""
    try:
        _slot_index(optimizer, variable)
    except (KeyError, AttributeError):
        return False
    return True


def keras_slot(optimizer, rule: SlotRule, variable):
    """Returns the Keras slot variable ``rule`` describes for ``variable`` (optimizer must be built).

    Raises:
        KeyError: the optimizer keeps no slots for ``variable``.
    """
    return getattr(optimizer, rule.keras_attribute)[_slot_index(optimizer, variable)]
