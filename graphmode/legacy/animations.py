"""Animations shown without a display: run their frames to the end, and keep them in a file.

Some TF1 tutorials train inside a ``matplotlib.animation.FuncAnimation`` callback
(one ``sess.run(train_op)`` per frame) and call ``plt.show()``. On a display the
window's timer draws the frames, so the training runs; with no display nothing
draws them, and the script would end having trained nothing. When
``plt.show()`` is called under ``graphmode run``'s headless backend, each live
animation of an open figure therefore runs its frames to the end, through
matplotlib's own ``Animation.save``, and is written to
``<script name>-animation-<n>.gif`` in the working directory (where the
script's relative outputs go), with one line on stderr saying where.

``GRAPHMODE_ANIMATIONS`` (``graphmode run --animations=...``) chooses:

* ``save`` (default): run the frames and write the GIF (Pillow; the frames are
  held in memory until the file is written);
* ``run``: run the frames, write nothing;
* ``off``: leave animations alone, as plain Agg does (nothing runs).

An animation with no end (``frames=None``, which a window runs until it is
closed) runs 100 frames, the ``save_count`` matplotlib used for it when TF1 was
current; ``save_count=N`` in the script sets another number.
"""

from __future__ import annotations

import itertools
import os
import sys
import weakref
from enum import Enum

from matplotlib import _pylab_helpers
from matplotlib.animation import AbstractMovieWriter, Animation, PillowWriter

ENVIRONMENT_VARIABLE = "GRAPHMODE_ANIMATIONS"
_ENDLESS_FRAMES = 100  # matplotlib 2.x-3.6: save_count of frames=None
_already_run: weakref.WeakSet = weakref.WeakSet()  # a second plt.show() does not train again


class AnimationMode(Enum):
    """What ``plt.show()`` does with animations when there is no display."""

    SAVE = "save"
    RUN = "run"
    OFF = "off"


def animation_mode() -> AnimationMode:
    """The mode ``GRAPHMODE_ANIMATIONS`` names (``save`` when unset).

    Raises:
        ValueError: the variable holds another word (named, with the choices).
    """
    value = os.environ.get(ENVIRONMENT_VARIABLE, AnimationMode.SAVE.value).strip().lower()
    try:
        return AnimationMode(value)
    except ValueError:
        choices = ", ".join(mode.value for mode in AnimationMode)
        raise ValueError(f"{ENVIRONMENT_VARIABLE}={value!r}: choose one of {choices}") from None


class _FramesOnly(AbstractMovieWriter):
    """A movie writer that keeps nothing: ``Animation.save`` with it only runs the frames."""

    def setup(self, fig, outfile, dpi=None) -> None:
        self.fig, self.outfile, self.dpi = fig, outfile, dpi

    def grab_frame(self, **savefig_kwargs) -> None:
        return None

    def finish(self) -> None:
        return None


def live_animations() -> list[Animation]:
    """The animations of open figures, in figure order: those a window's timer would drive."""
    found: list[Animation] = []
    for manager in _pylab_helpers.Gcf.get_all_fig_managers():
        # An Animation listens for its figure's first draw (to start its timer): that
        # connection, in the canvas' callback registry, is the only place it is recorded.
        for reference in manager.canvas.callbacks.callbacks.get("draw_event", {}).values():
            owner = getattr(reference(), "__self__", None)
            if isinstance(owner, Animation) and owner not in found and owner not in _already_run:
                found.append(owner)
    return found


def _output_path(index: int) -> str:
    script = os.path.splitext(os.path.basename(sys.argv[0] or "script"))[0] or "script"
    return os.path.join(os.getcwd(), f"{script}-animation-{index}.gif")


def run_animations(mode: AnimationMode | None = None) -> list[str]:
    """Runs every live animation's frames to the end; in ``save`` mode writes each to a GIF.

    Returns:
        The files written (empty in ``run`` and ``off`` modes).
    """
    mode = mode or animation_mode()
    if mode is AnimationMode.OFF:
        return []
    written = []
    for index, animation in enumerate(live_animations(), start=len(_already_run) + 1):
        _already_run.add(animation)
        if getattr(animation, "_save_count", 0) is None and _is_endless(animation):
            animation._save_count = _ENDLESS_FRAMES
            ending = f"{_ENDLESS_FRAMES} frames: frames=None has no end; save_count=N sets another number"
        else:
            ending = "its frames to the end"
        interval = getattr(animation, "_interval", 200) or 200
        if mode is AnimationMode.SAVE:
            path = _output_path(index)
            print(f"graphmode: no display: running animation {index} ({ending}) and writing it to {path} "
                  f"({ENVIRONMENT_VARIABLE}=run runs it without the file, =off leaves it alone)",
                  file=sys.stderr, flush=True)
            animation.save(path, writer=PillowWriter(fps=max(1.0, 1000.0 / interval)))
            written.append(path)
        else:
            print(f"graphmode: no display: running animation {index} ({ending}) (no file: "
                  f"{ENVIRONMENT_VARIABLE}=run)", file=sys.stderr, flush=True)
            animation.save(os.devnull, writer=_FramesOnly())
    return written


def _is_endless(animation: Animation) -> bool:
    return getattr(animation, "_iter_gen", None) is itertools.count
