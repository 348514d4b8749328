# graphmode.trace's public names, each once: lazy_loader reads this file at run time, type checkers too.

from .reader import Trace as Trace
from .reader import TraceOptimizer as TraceOptimizer
from .reader import TraceVariable as TraceVariable
