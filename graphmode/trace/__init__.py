"""Traces: a TF1 script's training recorded once (``graphmode run --record``), read back anywhere.

See ``docs/trace.md`` for the workflow and the format. Recording itself is
:class:`graphmode.trace.recorder.Recorder`, which ``graphmode run`` installs.
"""

import lazy_loader as _lazy

# The names are declared once, in __init__.pyi (read by lazy_loader here and by type checkers);
# each is imported on first use.
__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
