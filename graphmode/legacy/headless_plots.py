"""The matplotlib backend ``graphmode run`` picks without a display: Agg that never waits.

With plain Agg, ``plt.show()`` returns at once but ``plt.waitforbuttonpress()``
and ``plt.ginput()`` spin in matplotlib's generic event loop until a click or
key that can never come, so an old script hangs forever. Here the event loop
returns at once: ``waitforbuttonpress()`` answers None (as on a timeout),
``ginput()`` an empty list, ``plt.pause()`` does not sleep, ``plt.show()``
does nothing. Figures still draw and ``plt.savefig`` works as with Agg.
Selected as ``MPLBACKEND=module://graphmode.legacy.headless_plots`` only when
graphmode chose the backend itself.
"""

from matplotlib.backend_bases import FigureManagerBase
from matplotlib.backends.backend_agg import FigureCanvasAgg


class FigureCanvasHeadless(FigureCanvasAgg):
    """An Agg canvas whose event loop returns at once: no window, so no event can arrive."""

    def start_event_loop(self, timeout: float = 0) -> None:
        return None

    def stop_event_loop(self) -> None:
        return None


FigureCanvas = FigureCanvasHeadless
FigureManager = FigureManagerBase


def show(*args, **kwargs) -> None:
    """Nothing to show without a display; returns at once, as ``plt.show()`` does with Agg."""
    return None
