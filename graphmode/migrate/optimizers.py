"""The optimizer line of a migrated program: learning-rate schedules read back, TF1 updates Keras 3 lacks.

Two sides, two processes:

* while the script is recorded (TF1 API), :func:`watch_schedules` notes the
  arguments of every ``tf.train.exponential_decay`` / ``piecewise_constant`` /
  ``polynomial_decay`` call under the name of the tensor it returned, so a
  learning rate that is such a tensor is known as the schedule it is;
* when the program is written, :func:`optimizer_code` turns a recorded
  optimizer into the TF2 line that builds its Keras counterpart
  (:func:`graphmode.train.keras_counterpart`), and, where stock Keras 3 has no
  optimizer making TF1's updates, into a small Keras optimizer class the
  program defines and owns (:data:`PROGRAM_CLASSES`).

TF1 evaluates a decay at its ``global_step``; Keras a schedule at
``optimizer.iterations``. Both read the count before the step increments it,
so when the script passes the schedule's ``global_step`` to ``minimize`` step
``k`` (from 0) uses ``schedule(k)`` on both sides, and the Keras schedule is
written. When it does not, the global step never moves while training: the
rate stays the schedule's value at the recorded step 1, and that number is
written, with a comment saying so.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from graphmode._runtime import tf, v1

# The TF1 decay functions read back, with the graphmode.train schedule each becomes.
_DECAYS = ("exponential_decay", "piecewise_constant", "polynomial_decay")
_STOCK_KINDS = ("gradient_descent", "momentum", "adam", "adagrad", "rmsprop")

# Keras 3 optimizers written into a program where no stock one makes TF1's updates. The class
# names are the ones graphmode._slots knows (TF1Momentum keeps TF1's accumulator in SGD's slot).
PROGRAM_CLASSES: Mapping[str, str] = {
    "TF1RMSprop": '''

class TF1RMSprop(tf.keras.optimizers.RMSprop):
    """Keras RMSprop started as TF1's RMSPropOptimizer starts: the mean square at 1, not 0.

    The update is TF1's (epsilon inside the square root; centered and momentum forms alike);
    only the mean square's first value differs, and no Keras argument sets it. Started at 0,
    the first steps would be about 1/sqrt(1 - rho) times larger than TF1's.
    """

    def add_optimizer_variables(self, trainable_variables, name, initializer="zeros"):
        if name == "velocity":  # the mean square
            initializer = "ones"
        return super().add_optimizer_variables(trainable_variables, name, initializer=initializer)

''',
    "TF1Momentum": '''

class TF1Momentum(tf.keras.optimizers.SGD):
    """TF1's MomentumOptimizer update, which Keras SGD does not make once the learning rate changes.

    TF1 keeps an accumulator a = momentum * a + g and steps var -= lr_t * a, so today's rate
    scales every past gradient; Keras SGD keeps v = momentum * v - lr_t * g, each gradient at
    its own step's rate. The accumulator lives in SGD's momentum slot.
    """

    def update_step(self, gradient, variable, learning_rate):
        learning_rate = tf.cast(learning_rate, variable.dtype)
        gradient = tf.cast(gradient, variable.dtype)
        momentum = tf.cast(self.momentum, variable.dtype)
        accumulator = self.momentums[self._get_variable_index(variable)]
        self.assign(accumulator, accumulator * momentum + gradient)
        if self.nesterov:
            self.assign_sub(variable, gradient * learning_rate + accumulator * momentum * learning_rate)
        else:
            self.assign_sub(variable, accumulator * learning_rate)

''',
}
_CLASS_NOTES = {
    "TF1RMSprop": "TF1RMSprop, defined in the program, is Keras RMSprop with TF1's start: the mean square at 1 "
                  "(stock Keras RMSprop starts it at 0, and no argument changes that)",
    "TF1Momentum": "TF1Momentum, defined in the program, keeps TF1's momentum accumulator: under a changing "
                   "learning rate stock Keras SGD(momentum=...) takes other steps",
}


# --- while recording (the TF1 API's process) --------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, tf.Variable):
        return {"graph": value.op.name}
    if isinstance(value, tf.Tensor):
        return {"graph": value.op.name}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        return value.item()
    return value if isinstance(value, (bool, int, float, str)) or value is None else {"repr": repr(value)}


def watch_schedules(notes: dict[str, dict]) -> Callable[[], None]:
    """Notes each TF1 decay call's arguments in ``notes[returned tensor name]``; returns the undo."""
    originals = {name: getattr(v1.train, name) for name in _DECAYS}

    def watched(kind: str, original: Callable) -> Callable:
        signature = inspect.signature(original)

        @functools.wraps(original)
        def decay(*args: Any, **kwargs: Any) -> Any:
            graph = v1.get_default_graph()
            count = len(graph.get_operations())
            rate = original(*args, **kwargs)
            if isinstance(rate, tf.Tensor):
                bound = signature.bind(*args, **kwargs)
                bound.apply_defaults()
                # The ops the decay built (piecewise_constant's tf.case among them) become one Keras schedule.
                notes[rate.name] = {"kind": kind,
                                    "arguments": {key: _plain(value) for key, value in bound.arguments.items()},
                                    "ops": [op.name for op in rate.graph.get_operations()[count:]]}
            return rate

        return decay

    for name, original in originals.items():
        setattr(v1.train, name, watched(name, original))

    def undo() -> None:
        for name, original in originals.items():
            setattr(v1.train, name, original)

    return undo


# --- when the program is written ------------------------------------------------------------------


class OptimizerLine(NamedTuple):
    """What the program needs for one optimizer: the expression, notes, and a class it must define first."""

    code: str
    notes: list[str]
    definition: str


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _schedule(note: Mapping) -> tuple[Any, str | None, str | None]:
    """``(graphmode.train schedule, its global step's graph name or None, problem)``."""
    from graphmode.train.optimizers import ExponentialDecay, PiecewiseConstant, PolynomialDecay

    kind, a = note["kind"], note["arguments"]
    if kind == "piecewise_constant":
        step, fields = a["x"], {"boundaries": a["boundaries"], "values": a["values"]}
        numbers = list(a["boundaries"] or []) + list(a["values"] or [])
    else:
        step = a["global_step"]
        fields = {key: a[key] for key in ("learning_rate", "decay_steps", "decay_rate", "staircase",
                                          "end_learning_rate", "power", "cycle") if key in a}
        numbers = [value for key, value in fields.items() if key not in ("staircase", "cycle")]
    if not all(_number(value) for value in numbers):
        return None, None, (f"tf.train.{kind}'s arguments are not all numbers ({fields}); migrate writes a Keras "
                            "schedule from numbers only")
    if kind == "exponential_decay":
        schedule = ExponentialDecay(fields["learning_rate"], fields["decay_steps"], fields["decay_rate"],
                                    bool(fields["staircase"]))
    elif kind == "polynomial_decay":
        schedule = PolynomialDecay(fields["learning_rate"], fields["decay_steps"], fields["end_learning_rate"],
                                   fields["power"], bool(fields["cycle"]))
    else:
        schedule = PiecewiseConstant(tuple(fields["boundaries"]), tuple(fields["values"]))
    return schedule, step.get("graph") if isinstance(step, dict) else None, None


def _rate(train: Mapping, schedules: Mapping[str, dict], rate_at_step_1: float | None) -> tuple[Any, list[str], str]:
    """``(learning rate for the spec, notes, problem)``: a number, or a schedule the Keras side reads."""
    if train["learning_rate"] is not None:
        return train["learning_rate"], [], ""
    note = schedules.get(train.get("learning_rate_tensor") or "")
    if note is None:
        return None, [], (f"{train['tf1_class']}'s learning rate is a tensor ({train['learning_rate_kind']}) that "
                          "no tf.train decay function returned; migrate writes numbers and the Keras schedules of "
                          "exponential_decay, piecewise_constant and polynomial_decay")
    schedule, step, problem = _schedule(note)
    if problem:
        return None, [], problem
    if step is not None and step == train["global_step"]:
        return schedule, [], ""
    if rate_at_step_1 is None:
        return None, [], (f"tf.train.{note['kind']}'s global step is not the one minimize increments, and the "
                          "recording holds no learning rate to write instead")
    why = ("minimize is not given the global step" if train["global_step"] is None
           else f"minimize increments '{train['global_step']}', not the schedule's '{step}'")
    return rate_at_step_1, [f"the learning rate is tf.train.{note['kind']} of a global step that never moves "
                            f"while training ({why}): it stays {rate_at_step_1!r}, its value at the recorded "
                            "step 1, and that number is written"], ""


def optimizer_code(train: Mapping, schedules: Mapping[str, dict],
                   rate_at_step_1: float | None = None) -> OptimizerLine | str:
    """The program's optimizer for one recorded ``minimize`` (capture.json's ``train_ops`` entry).

    Args:
        train: the recorded optimizer (kind, hyper-parameters, learning rate, global step).
        schedules: the TF1 decay calls noted while recording (:func:`watch_schedules`).
        rate_at_step_1: the learning rate TF1 used at step 1 (from the trace), written where the
            schedule's global step never moves.

    Returns:
        An :class:`OptimizerLine`, or the reason it cannot be written.
    """
    from graphmode.train.keras_map import keras_counterpart
    from graphmode.train.optimizers import optimizer_spec

    if train["optimizer"] not in _STOCK_KINDS:
        return f"{train['tf1_class']} has no Keras counterpart in graphmode.train"
    rate, notes, problem = _rate(train, schedules, rate_at_step_1)
    if problem:
        return problem
    spec = optimizer_spec(train["optimizer"], rate, **train["hyperparameters"])
    counterpart = keras_counterpart(spec)
    code, notes = counterpart.code, notes + list(counterpart.notes)
    definition = ""
    if not counterpart.builtin:
        name = code.split("(", 1)[0].rsplit(".", 1)[-1]
        if name not in PROGRAM_CLASSES:
            return f"{train['tf1_class']}: no stock Keras optimizer updates the same way ({counterpart.notes[0]})"
        code = name + code[code.index("("):]
        definition = PROGRAM_CLASSES[name]
        notes = [_CLASS_NOTES[name]] + [n for n in notes if not n.startswith("graphmode.train.")]
    return OptimizerLine(code, notes, definition)


def global_step_lines(train: Mapping, bindings: Mapping[str, str]) -> list[str]:
    """The training step's last lines: TF1's ``minimize(global_step=...)`` also counted the step."""
    step = train.get("global_step")
    if not step:
        return []
    variable = step.split(":")[0]
    name = next((python for python, graph in bindings.items() if graph == variable and "[" not in python), None)
    if name is None:
        return [f"# TF1's minimize also added 1 to '{variable}', which no Python name of the script holds"]
    return [f"{name}.assign_add(1)  # TF1's minimize(global_step={name}) counted each step"]


def step_counters(capture: Mapping) -> set[str]:
    """Graph names of the global steps: those given to ``minimize`` and those the decays read."""
    given = {train["global_step"].split(":")[0] for train in capture["train_ops"].values() if train.get("global_step")}
    read = {note["arguments"].get("global_step", note["arguments"].get("x", {})).get("graph")
            for note in capture.get("schedules", {}).values()
            if isinstance(note["arguments"].get("global_step", note["arguments"].get("x")), dict)}
    return (given | read) - {None}
