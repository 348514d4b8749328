"""Traces: a TF1 script's training recorded once (``graphmode run --record``), read back anywhere.

See ``docs/trace.md`` for the workflow and the format. Recording itself is
:class:`graphmode.trace.recorder.Recorder`, which ``graphmode run`` installs.
"""

from graphmode.trace.reader import Trace as Trace
from graphmode.trace.reader import TraceOptimizer as TraceOptimizer
from graphmode.trace.reader import TraceVariable as TraceVariable

__all__ = ["Trace", "TraceOptimizer", "TraceVariable"]
