"""The training steps a capture recorded: fed arrays, loss, and the whole state around each step.

A folder of ``.npz`` files, written by :mod:`graphmode.migrate.capture` in the
TF1 process and read by the lockstep probe in the migrated program's process,
which must not import TensorFlow through graphmode (NumPy only here):

    steps/step-000001.npz    feed:<placeholder tensor name> arrays, loss, train_op
    state/step-000000.npz    every global variable by TF1 name (before step 1)
    state/step-000001.npz    ... after step 1, and so on

The reader answers with the names of :class:`graphmode.trace.Trace`'s API
(``steps``, ``feeds(k)``, ``loss(k)``, ``state_steps``, ``state(k)``), so the
probe checks against either.
"""

from __future__ import annotations

import os

import numpy as np

_FEED = "feed:"


class RecordingError(ValueError):
    """A recording folder lacks what was asked of it.

    Plain ``ValueError``, not a ``graphmode.errors`` class: this module runs in the
    migrated program's process, where importing graphmode's error module would
    import TensorFlow with legacy Keras.
    """


def _path(folder: str, kind: str, step: int) -> str:
    return os.path.join(folder, kind, f"step-{step:06d}.npz")


class StepWriter:
    """Writes one step's feeds and loss, and states, into a recording folder."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        for kind in ("steps", "state"):
            os.makedirs(os.path.join(folder, kind), exist_ok=True)

    def step(self, step: int, feeds: dict[str, np.ndarray], loss: float, train_op: str) -> None:
        """Writes step ``step`` (from 1): what was fed, the loss it computed, which train op ran."""
        arrays = {_FEED + name: value for name, value in feeds.items()}
        np.savez(_path(self.folder, "steps", step), loss=np.float64(loss), train_op=np.str_(train_op), **arrays)

    def state(self, step: int, values: dict[str, np.ndarray]) -> None:
        """Writes every global variable by TF1 name: before step 1 for ``step`` 0, else after ``step``."""
        np.savez(_path(self.folder, "state", step), **{name: np.asarray(v) for name, v in values.items()})


class Recording:
    """Reads a recording folder (the subset of the trace API lockstep needs).

    Args:
        folder: the folder :mod:`graphmode.migrate.capture` wrote.

    Raises:
        RecordingError: the folder holds no recorded step.
    """

    def __init__(self, folder: str) -> None:
        self.folder = folder
        steps = sorted(os.listdir(os.path.join(folder, "steps"))) if os.path.isdir(os.path.join(folder, "steps")) else []
        if not steps:
            raise RecordingError(
                f"recording {folder!r} holds no training step: the script ran no train op "
                "(a sess.run fetching the result of an optimizer's minimize)"
            )
        self.steps = len(steps)
        states = sorted(os.listdir(os.path.join(folder, "state")))
        self.state_steps = tuple(int(name[5:11]) for name in states)

    def _step(self, step: int):
        if not 1 <= step <= self.steps:
            raise RecordingError(f"recording {self.folder!r} has steps 1..{self.steps}; step {step} was asked for")
        return np.load(_path(self.folder, "steps", step))

    def feeds(self, step: int) -> dict[str, np.ndarray]:
        """The arrays fed at ``step``, by placeholder tensor name (``"x:0"``)."""
        with self._step(step) as data:
            return {key[len(_FEED):]: data[key] for key in data.files if key.startswith(_FEED)}

    def loss(self, step: int) -> float:
        """The loss step ``step`` computed (before its update, as TF1 fetched it)."""
        with self._step(step) as data:
            return float(data["loss"])

    def state(self, step: int) -> dict[str, np.ndarray]:
        """Every global variable by TF1 name: before step 1 for 0, else after ``step``."""
        if step not in self.state_steps:
            raise RecordingError(f"recording {self.folder!r} has states at steps {self.state_steps}, not at {step}")
        with np.load(_path(self.folder, "state", step)) as data:
            return {key: data[key] for key in data.files}
