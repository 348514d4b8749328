"""The matplotlib backend ``graphmode run`` picks without a display: Agg that never waits.

With plain Agg, ``plt.show()`` returns at once but ``plt.waitforbuttonpress()``
and ``plt.ginput()`` spin in matplotlib's generic event loop until a click or
key that can never come, so an old script hangs forever. Here the event loop
returns at once: ``waitforbuttonpress()`` answers None (as on a timeout),
``ginput()`` an empty list, ``plt.pause()`` does not sleep. Figures still draw
and ``plt.savefig`` works as with Agg. Selected as
``MPLBACKEND=module://graphmode.legacy.headless_plots`` only when graphmode
chose the backend itself.

Calls of matplotlib's TF1-era window API work too: ``fig.canvas.set_window_title``
/ ``get_window_title`` (removed from the canvas in matplotlib 3.6) set and read
the figure manager's title. Each kind of window call says once on stderr what
it did instead.

``plt.show()`` runs the frames of the figures' animations to the end and writes
them to a file (:mod:`graphmode.legacy.animations`): tutorials that train in an
animation's callback train.
"""

import sys

from matplotlib.backend_bases import FigureManagerBase
from matplotlib.backends.backend_agg import FigureCanvasAgg

from graphmode.legacy.animations import run_animations

_said: set[str] = set()


def _say_once(kind: str, message: str) -> None:
    if kind not in _said:
        _said.add(kind)
        print(f"graphmode: no display: {message}", file=sys.stderr, flush=True)


class FigureCanvasHeadless(FigureCanvasAgg):
    """An Agg canvas whose event loop returns at once: no window, so no event can arrive."""

    def start_event_loop(self, timeout: float = 0) -> None:
        _say_once("events", "plt.pause, waitforbuttonpress and ginput return at once "
                  "(waitforbuttonpress() gives None as on a timeout, ginput() gives no points)")

    def stop_event_loop(self) -> None:
        return None

    def set_window_title(self, title: str) -> None:
        """matplotlib < 3.6's canvas method: sets the figure manager's title (no window shows it)."""
        _say_once("title", "fig.canvas.set_window_title (matplotlib < 3.6) sets fig.canvas.manager's "
                  "title, which no window shows")
        if self.manager is not None:
            self.manager.set_window_title(title)

    def get_window_title(self) -> str | None:
        """matplotlib < 3.6's canvas method: the figure manager's title."""
        return self.manager.get_window_title() if self.manager is not None else None


FigureCanvas = FigureCanvasHeadless
FigureManager = FigureManagerBase


def show(*args, block: bool | None = None, **kwargs) -> None:
    """No window to show: runs the figures' animations to the end (see the module doc), then returns."""
    if block is False:
        return None  # plt.pause and interactive mode: a window would not block either
    run_animations()
    return None
