"""Object-dtype feeds (``np.array([...], dtype=object)``) follow the same rules as the numbers they hold.

TensorFlow converts an object array with ``astype``; graphmode accepts what
that conversion keeps (float64 values rounded into float32, as for a float64
array) and refuses what it changes (a fraction truncated into an int).
"""

from __future__ import annotations

import numpy as np
import pytest

import graphmode as gm
from graphmode import tf, v1

ACCEPTED = {
    ("floats", "float32"): [0.1, 0.2],
    ("floats", "float64"): [0.1, 0.2],
    ("ints", "float32"): [1, 2],
    ("ints", "int8"): [1, -2],
    ("mixed", "float32"): [1, 0.5],
    ("whole floats", "int32"): [1.0, 2.0],
    ("bools", "bool"): [True, False],
    ("numpy floats", "float32"): [np.float64(0.1), np.float32(0.3)],
}
REFUSED = {
    ("fractions", "int32"): [0.5, 1.0],
    ("too big", "int8"): [300, 1],
    ("ints", "bool"): [2, 0],
}


def _run_both(dtype: str, items: list):
    graph = gm.new_graph()
    with graph.as_default():
        x = v1.placeholder(getattr(tf, dtype), [None], name="x")
        y = tf.identity(x)
    results = {}
    for session_class in (v1.Session, gm.Session):
        with session_class(graph=graph) as session:
            try:
                results[session_class] = [session.run(y, {x: np.array(items, dtype=object)}) for _ in range(3)], None
            except Exception as error:  # noqa: BLE001 - the outcome is the exception
                results[session_class] = None, error
    return results[v1.Session], results[gm.Session]


@pytest.mark.parametrize("kind, dtype", ACCEPTED)
def test_accepted_as_tensorflow_accepts_them(kind, dtype):
    (expected, tf_error), (got, gm_error) = _run_both(dtype, ACCEPTED[kind, dtype])
    assert tf_error is None and gm_error is None, (tf_error, gm_error)
    for one, other in zip(expected, got):
        assert one.dtype == other.dtype and one.tobytes() == other.tobytes(), (one, other)


@pytest.mark.parametrize("kind, dtype", REFUSED)
def test_refused_where_the_conversion_changes_a_value(kind, dtype):
    items = REFUSED[kind, dtype]
    (expected, tf_error), (got, gm_error) = _run_both(dtype, items)
    assert isinstance(gm_error, gm.errors.FeedRangeError) and "'x:0'" in str(gm_error), repr(gm_error)
    if tf_error is None:  # TensorFlow changed the values (the reason graphmode refuses)
        assert expected[0].tolist() != items
    else:
        assert isinstance(gm_error, type(tf_error)), (gm_error, tf_error)


def test_object_floats_into_float32_equal_the_float64_feed(session):
    x = v1.placeholder(tf.float32, [2], name="x")
    as_objects = session.run(x * 1, {x: np.array([0.1, 0.2], dtype=object)})
    as_float64 = session.run(x * 1, {x: np.array([0.1, 0.2])})
    assert as_objects.tobytes() == as_float64.tobytes()
