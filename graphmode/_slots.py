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
  (``m = mu * m - lr * g; w += m``), so ``m = -lr * a`` (constant learning rate).
  graphmode's ``TF1Momentum`` keeps the TF1 accumulator itself.
* TF1 ``AdagradOptimizer`` <-> Keras ``Adagrad``: the accumulators are identical.
* TF1 ``RMSPropOptimizer`` <-> Keras ``RMSprop`` (and graphmode's ``TF1RMSprop``):
  mean square, mean gradient (``centered``) and momentum are identical (the
  two differ in the *initial* mean square, which a transfer overwrites). TF1
  always keeps a momentum slot; with ``momentum=0`` Keras has none, so it is
  skipped on load and written as zeros (it then never affects an update).
* TF1 ``GradientDescentOptimizer`` <-> Keras ``SGD(momentum=0)``: no slots.

The Keras side is the tf-keras 2.x optimizer (``tf.keras.optimizers.Adam``
etc., not ``.legacy``), which keeps its slots in per-class lists indexed by
``_index_dict``; that layout is pinned by the tf-keras version graphmode
requires, and the tests exercise it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import NamedTuple

import numpy as np

from graphmode._runtime import tf
from graphmode.errors import CheckpointMatchError, ConfigError


class SlotRule(NamedTuple):
    """One slot: TF1 name suffix (``{name}`` is the TF1 optimizer name), Keras list attribute, conversions.

    ``keras_attribute`` None: a TF1 slot the Keras optimizer has no use for
    (read nothing, write zeros).
    """

    tf1_suffix: str
    keras_attribute: str | None
    to_keras: Callable[[np.ndarray, object], np.ndarray]
    to_tf1: Callable[[np.ndarray, object], np.ndarray]


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


def _hyper(optimizer, name: str) -> float:
    schedule = tf.keras.optimizers.schedules.LearningRateSchedule
    # A scheduled learning rate lives in `_learning_rate`; `learning_rate` then
    # reads as the current value, which would silently freeze the schedule.
    if isinstance(getattr(optimizer, "_" + name, None), schedule) or isinstance(getattr(optimizer, name), schedule):
        raise ConfigError(f"{type(optimizer).__name__}.{name} is a schedule; converting its state needs a constant "
                          f"{name} (the TF1 and Keras slots differ by a factor of it)")
    value = getattr(optimizer, name)
    return float(value.numpy() if hasattr(value, "numpy") else value)


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


def _same(value: np.ndarray, optimizer) -> np.ndarray:
    return value


def _momentum_to_keras(value: np.ndarray, optimizer) -> np.ndarray:
    return (-np.asarray(_hyper(optimizer, "learning_rate"), value.dtype) * value).astype(value.dtype)


def _momentum_to_tf1(value: np.ndarray, optimizer) -> np.ndarray:
    return (value / -np.asarray(_hyper(optimizer, "learning_rate"), value.dtype)).astype(value.dtype)


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
    keras = tf.keras.optimizers
    if not isinstance(optimizer, keras.Optimizer):
        raise ConfigError(
            f"optimizer {kind} ({type(optimizer).__module__}) is not a tf.keras.optimizers.Optimizer; slot transfer "
            "supports tf.keras.optimizers.Adam, SGD, Adagrad and RMSprop (not the .legacy ones)"
        )
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
    if not getattr(optimizer, "_built", False):
        optimizer.build(variables)
        return
    missing = [v.name for v in variables if optimizer._var_key(v) not in optimizer._index_dict]
    if missing:
        raise ConfigError(f"optimizer {type(optimizer).__name__} was already built for other variables and has no "
                          f"slots for {missing}; pass a fresh optimizer")


def keras_slot(optimizer, rule: SlotRule, variable):
    """Returns the Keras slot variable ``rule`` describes for ``variable`` (optimizer must be built)."""
    return getattr(optimizer, rule.keras_attribute)[optimizer._index_dict[optimizer._var_key(variable)]]
