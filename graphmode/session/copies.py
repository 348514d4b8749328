"""Values the caller owns: no returned array shares memory with TensorFlow or with another returned value.

``Session.run`` copies a fetched tensor whose buffer TensorFlow still holds (a
constant's, a variable's, an iterator's) and hands a freshly computed one over
without copying. A C++ callable (``Session._make_callable_from_options``) does
neither: every array it returns is a view of a TensorFlow buffer (its ``base``
is TensorFlow's wrapper), so writing into it writes into the constant or the
variable, and a reference variable's next update rewrites arrays returned
before. From Python the two kinds cannot be told apart, so :func:`owned`
copies every array that does not own its memory; that costs ~0.1 µs for a
small array and a ``memcpy`` for a large one, next to a step of tens of µs.

``Session.run`` itself hands the *same* array out twice when one tensor is
fetched twice (``run([c, c])``); :func:`distinct` gives the second its own copy.
"""

from __future__ import annotations

import numpy as np

from graphmode._runtime import tf


def owned(values: list) -> list:
    """Returns a C++ callable's outputs with every array that views another buffer replaced by a copy.

    NumPy scalars, arrays that own their memory and the ``bytes`` a scalar
    string tensor comes back as (all built afresh) are returned as they are.
    """
    return [value.copy() if getattr(value, "base", None) is not None else value for value in values]


def distinct(result: object) -> object:
    """Returns ``Session.run``'s result with each array that appears more than once replaced by copies.

    Args:
        result: a fetched value or a nested structure (lists, tuples, dicts,
            namedtuples, attrs classes) of them.
    """
    if isinstance(result, (np.ndarray, np.generic)) or result is None:
        return result
    seen: set[int] = set()
    if not _repeats(result, seen):
        return result
    seen.clear()

    def own(value: object) -> object:
        if not isinstance(value, np.ndarray):
            return value
        if id(value) in seen:
            return value.copy()
        seen.add(id(value))
        return value

    return tf.nest.map_structure(own, result)


def _repeats(result: object, seen: set[int]) -> bool:
    # A plain walk of the usual containers: tf.nest.flatten costs tens of µs per run.
    if isinstance(result, np.ndarray):
        if id(result) in seen:
            return True
        seen.add(id(result))
        return False
    if isinstance(result, (list, tuple)):
        return any(_repeats(item, seen) for item in result)
    if isinstance(result, dict):
        return any(_repeats(item, seen) for item in result.values())
    if isinstance(result, np.generic) or result is None or not tf.nest.is_nested(result):
        return False
    return any(_repeats(item, seen) for item in tf.nest.flatten(result))
