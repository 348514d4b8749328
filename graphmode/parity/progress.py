"""Progress of a parity run: a tqdm bar on stderr, only when stderr is a terminal.

A long comparison (thousands of steps, each side run more than once) is
otherwise silent for minutes. The bar goes to stderr so ``--json`` output and
printed reports stay clean; tqdm's own ``disable=None`` leaves it out when stderr
is not a terminal (CI logs, pipes, tests), where its carriage returns only clutter.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from tqdm.auto import tqdm

__all__ = ["progress"]

Item = TypeVar("Item")


def progress(items: Sequence[Item], label: str, **options: Any) -> Iterable[Item]:
    """``items``, advancing a progress bar on stderr (when it is a terminal) as they are taken, one per step.

    Args:
        items: the batches (or anything with a length).
        label: what is running (``"parity lockstep"``, ``"parity free run"``).
        **options: more ``tqdm`` options.
    """
    return tqdm(items, desc=label, unit="step", file=sys.stderr, leave=False, dynamic_ncols=True, disable=None,
                **options)
