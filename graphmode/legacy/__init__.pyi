# graphmode.legacy's public names, each once: lazy_loader reads this file at run time, type checkers too.

from .api import enable_tf1 as enable_tf1
from .runner import run_script as run_script
