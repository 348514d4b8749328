"""Progress of a parity run: a tqdm bar on stderr, only when stderr is a terminal.

A long comparison (thousands of steps, each side run more than once) is
otherwise silent for minutes. The bar goes to stderr so ``--json`` output and
printed reports stay clean, and is off when stderr is a file or a pipe (CI
logs, tests), where a bar's carriage returns would only clutter.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from tqdm.auto import tqdm

__all__ = ["progress", "stderr_is_terminal"]

Item = TypeVar("Item")


def stderr_is_terminal() -> bool:
    """True when ``sys.stderr`` is an interactive terminal."""
    isatty = getattr(sys.stderr, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def progress(items: Sequence[Item], label: str, **options: Any) -> Iterable[Item]:
    """``items``, advancing a progress bar on stderr as they are taken (one per step).

    Args:
        items: the batches (or anything with a length).
        label: what is running (``"parity lockstep"``, ``"parity free run"``).
        **options: more ``tqdm`` options.

    Returns:
        An iterable over ``items``: a ``tqdm`` bar when stderr is a terminal,
        ``items`` itself otherwise.
    """
    if not stderr_is_terminal():
        return items
    return tqdm(items, desc=label, unit="step", file=sys.stderr, leave=False, dynamic_ncols=True, **options)
