"""Multiprocessing children of ``graphmode run`` get the TF1 API, whatever the start method.

A ``fork`` child inherits the parent's switched process. A ``spawn`` child is
a new interpreter that re-runs the script as ``__mp_main__`` before calling
its target, and a ``forkserver`` child is forked from a fresh server
interpreter: without help both see TensorFlow 2 (``module 'tensorflow' has no
attribute 'placeholder'``). :func:`give_children_the_tf1_api` makes both import
:mod:`graphmode.legacy.child_prelude` first, which switches them (and, in turn,
their own children) before the script runs again. It works through
multiprocessing's own hooks (the spawn command line, the fork server's preload
list); no environment variable or ``sitecustomize`` is involved.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.spawn

PRELUDE_MODULE = "graphmode.legacy.child_prelude"
_PRELUDE = f"import {PRELUDE_MODULE}; "


def _spawn_command_line(original):
    def get_command_line(**keywords) -> list[str]:
        command = original(**keywords)
        if "-c" in command:  # a frozen executable has no -c program to prefix
            program = command.index("-c") + 1
            command[program] = _PRELUDE + command[program]
        return command

    get_command_line.graphmode_prelude = True
    return get_command_line


def give_children_the_tf1_api() -> None:
    """Makes ``spawn`` and ``forkserver`` children import the TF1 prelude before the script (idempotent)."""
    if not getattr(multiprocessing.spawn.get_command_line, "graphmode_prelude", False):
        multiprocessing.spawn.get_command_line = _spawn_command_line(multiprocessing.spawn.get_command_line)
    # The fork server imports its preload list before forking each child. The
    # script itself ('__main__') is left out: preloaded before the prelude it
    # would keep TensorFlow 2, and each child runs it anyway.
    from multiprocessing import forkserver

    preload = [name for name in getattr(forkserver._forkserver, "_preload_modules", ["__main__"])
               if name not in ("__main__", PRELUDE_MODULE)]
    multiprocessing.set_forkserver_preload([PRELUDE_MODULE, *preload])
