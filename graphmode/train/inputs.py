"""NumPy inputs of the training loop: checked once, then sliced into per-call feeds without copies."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from graphmode.errors import ConfigError, FeedError
from graphmode.session.feeds import FeedSpec, convert_feed, feed_spec


def _per_step_spec(placeholder, stacked: bool) -> FeedSpec:
    spec = feed_spec(placeholder)
    if stacked and spec.shape is not None:
        # K-step feeds carry one entry per step in front; check what one step sees.
        return FeedSpec(spec.name, spec.dtype, spec.shape[1:])
    return spec


def check_inputs(step, inputs: Sequence, batch_size: int | None) -> list[np.ndarray]:
    """Checks ``inputs`` against ``step.feeds`` once and returns them as arrays of the feeds' dtypes.

    Raises:
        FeedError: wrong number of arrays, or one step's slice does not fit its placeholder.
        ConfigError: bad ``batch_size``, or arrays of different lengths.
    """
    feeds = step.feeds
    if len(inputs) != len(feeds):
        names = ", ".join(f"'{feed.name}'" for feed in feeds) or "none"
        raise FeedError(f"this step feeds {len(feeds)} placeholder(s) ({names}); got {len(inputs)} input array(s)")
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1):
        raise ConfigError(f"batch_size must be an int >= 1 or None; got {batch_size!r}")
    stacked = step.step_count is not None
    arrays = []
    for feed, value in zip(feeds, inputs):
        spec = _per_step_spec(feed, stacked)
        array = np.asarray(value)
        if batch_size is not None:
            if array.ndim == 0:
                raise FeedError(f"input for '{spec.name}' is a scalar; batch_size={batch_size} needs rows to slice")
            if len(array) < batch_size:
                raise ConfigError(
                    f"input for '{spec.name}' has {len(array)} rows, fewer than batch_size={batch_size}"
                )
        convert_feed(spec, array[:batch_size] if batch_size is not None else array)
        # The shape check above sees one batch; every row is fed eventually, so every value is
        # converted with the same refusal of any change (a wrap in row 1000 is as wrong as in row 0).
        every_value = convert_feed(FeedSpec(spec.name, spec.dtype, None), array)
        arrays.append(np.ascontiguousarray(every_value, dtype=spec.dtype))
    if batch_size is not None and len({len(array) for array in arrays}) > 1:
        lengths = ", ".join(f"'{feed.name}': {len(array)}" for feed, array in zip(feeds, arrays))
        raise ConfigError(f"inputs have different numbers of rows ({lengths}); batches pair rows up by position")
    return arrays


def batch_feeder(step, arrays: list[np.ndarray], batch_size: int | None) -> Callable[[int, int], list[np.ndarray]]:
    """Returns ``feed(first_step, count)``: the arrays to feed for steps ``first_step .. first_step+count-1``."""
    stacked = step.step_count is not None
    if not arrays:
        return lambda first, count: []
    if batch_size is None:
        if not stacked:
            return lambda first, count: arrays
        repeated: dict[int, list[np.ndarray]] = {}

        def whole(first: int, count: int) -> list[np.ndarray]:
            if count not in repeated:
                repeated[count] = [np.ascontiguousarray(np.broadcast_to(a, (count, *a.shape))) for a in arrays]
            return repeated[count]

        return whole
    batches = len(arrays[0]) // batch_size
    if not stacked:

        def one(first: int, count: int) -> list[np.ndarray]:
            start = (first % batches) * batch_size
            return [array[start : start + batch_size] for array in arrays]

        return one

    def several(first: int, count: int) -> list[np.ndarray]:
        start = first % batches
        if start + count <= batches:  # contiguous rows: a reshaped view, no copy
            rows = slice(start * batch_size, (start + count) * batch_size)
            return [array[rows].reshape(count, batch_size, *array.shape[1:]) for array in arrays]
        order = (start + np.arange(count)) % batches
        rows = (order[:, None] * batch_size + np.arange(batch_size)).ravel()
        return [array[rows].reshape(count, batch_size, *array.shape[1:]) for array in arrays]

    return several
