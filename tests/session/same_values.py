"""Bit-for-bit comparison of what two sessions returned, for the differential tests."""

from __future__ import annotations

import numpy as np


def assert_identical(expected, got, where: str = "") -> None:
    """Asserts ``got`` (graphmode's) is ``expected`` (TensorFlow's): same types and structure, same bits.

    Arrays compare dtype, shape and bytes (so NaNs and signed zeros count); object arrays (strings)
    compare their items' types and values, as their bytes are pointers.
    """
    assert type(got) is type(expected), f"{where}: graphmode gave {type(got).__name__}, TensorFlow {type(expected).__name__}"
    if isinstance(expected, dict):
        assert expected.keys() == got.keys(), where
        for key in expected:
            assert_identical(expected[key], got[key], f"{where}[{key!r}]")
    elif isinstance(expected, (list, tuple)):
        assert len(expected) == len(got), where
        for index, (one, other) in enumerate(zip(expected, got)):
            assert_identical(one, other, f"{where}[{index}]")
    elif isinstance(expected, (np.ndarray, np.generic)):
        assert (got.dtype, got.shape) == (expected.dtype, expected.shape), f"{where}: {got!r} vs TensorFlow's {expected!r}"
        if expected.dtype == object:
            assert [(type(item), item) for item in got.ravel()] == [(type(item), item) for item in expected.ravel()], where
        else:
            assert got.tobytes() == expected.tobytes(), f"{where}: graphmode {got!r}, TensorFlow {expected!r}"
    else:
        assert got == expected, f"{where}: graphmode {got!r}, TensorFlow {expected!r}"
