"""Legacy: run unmodified TF1 scripts (runner, the TF1 module and its import hook, sessions, removed names)."""

from graphmode.legacy.api import enable_tf1 as enable_tf1
from graphmode.legacy.runner import run_script as run_script

__all__ = [
    "enable_tf1",
    "run_script",
]
