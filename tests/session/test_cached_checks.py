"""Checks graphmode decides once and reuses (feed specs, cached callables) follow later changes to the graph.

A placeholder's shape can be narrowed (``set_shape``) and a tensor can be
marked unfeedable or unfetchable after a session has run it. TensorFlow's
``Session.run`` (and its ``make_callable`` with a ``feed_list``, which calls
``run``) checks every call and raises; graphmode must raise the same classes,
with its own message naming the placeholder, however many times the signature
ran before.
"""

from __future__ import annotations

import numpy as np
import pytest

import graphmode as gm
from graphmode import tf, v1


def _graph():
    graph = gm.new_graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, 2], name="x")
        y = tf.multiply(x, 2.0, name="y")
    return graph, x, y


CHANGES = {
    "set_shape": lambda graph, x, y: x.set_shape([3, 2]),
    "prevent_feeding": lambda graph, x, y: graph.prevent_feeding(x),
    "prevent_fetching": lambda graph, x, y: graph.prevent_fetching(y.op),
}
ENTRIES = {
    "run": lambda session, x, y: lambda value: session.run(y, {x: value}),
    "run by name": lambda session, x, y: lambda value: session.run([y], {"x:0": value}),
    "make_callable feed_list": lambda session, x, y: session.make_callable(y, feed_list=[x]),
    "eval": lambda session, x, y: lambda value: y.eval({x: value}, session=session),
}


def _outcome(session_class, change, entry):
    graph, x, y = _graph()
    with session_class(graph=graph) as session:
        call = ENTRIES[entry](session, x, y)
        before = [call(np.ones((5, 2), np.float32)) for _ in range(3)]  # long enough to be cached
        CHANGES[change](graph, x, y)
        outcomes = []
        for _ in range(3):  # every call after the change, also once the changed signature is seen again
            try:
                outcomes.append((call(np.ones((5, 2), np.float32)), None))
            except Exception as error:  # noqa: BLE001 - the outcome is the exception
                outcomes.append((None, error))
        assert len({type(error) for _, error in outcomes}) == 1, outcomes
        return before, *outcomes[-1]


@pytest.mark.parametrize("entry", ENTRIES)
@pytest.mark.parametrize("change", CHANGES)
def test_a_change_after_cached_runs_raises_as_tensorflow_does(change, entry):
    expected_before, expected, tf_error = _outcome(v1.Session, change, entry)
    got_before, got, gm_error = _outcome(gm.Session, change, entry)
    assert all(np.array_equal(a, b) for a, b in zip(expected_before, got_before))
    assert tf_error is not None, f"TensorFlow no longer refuses after {change}: {expected!r}"
    assert gm_error is not None, f"graphmode returned {got!r} after {change}; TensorFlow raised {tf_error!r}"
    assert isinstance(gm_error, type(tf_error)), f"{gm_error!r} is no {type(tf_error).__name__}"
    if change != "prevent_fetching":  # TensorFlow's own error: graphmode lets it through
        assert isinstance(gm_error, gm.errors.FeedError) and "'x:0'" in str(gm_error), str(gm_error)


def test_set_shape_message_names_the_new_shape(session):
    x = v1.placeholder(tf.float32, [None, 2], name="x")
    y = x * 2
    for _ in range(3):
        session.run(y, {x: np.ones((5, 2))})
    x.set_shape([3, 2])
    with pytest.raises(gm.errors.FeedError, match=r"'x:0' has shape \(5, 2\); it expects \(3, 2\)"):
        session.run(y, {x: np.ones((5, 2))})
    assert session.run(y, {x: np.ones((3, 2))}).shape == (3, 2)
    assert session.run(y, {x: np.ones((3, 2))}).shape == (3, 2)


def test_prevent_feeding_message_says_the_graph_prevents_it(session):
    x = v1.placeholder(tf.float32, [], name="x")
    y = x + 1
    for _ in range(3):
        session.run(y, {x: 1.0})
    session.graph.prevent_feeding(x)
    with pytest.raises(gm.errors.FeedError, match="placeholder 'x:0' may not be fed"):
        session.run(y, {x: 1.0})


def test_make_callable_without_feeds_keeps_tensorflows_choice_after_prevent_fetching(graph):
    # TensorFlow checks fetchability when the callable is made, not per call (no feed_list): so does
    # graphmode, also when something else changed since (a placeholder prevented from being fed).
    constant = tf.constant([1.0, 2.0], name="c")
    unrelated = v1.placeholder(tf.float32, [], name="unrelated")
    results = {}
    for session_class in (v1.Session, gm.Session):
        with session_class(graph=graph) as session:
            call = session.make_callable(constant)
            call()
            graph.prevent_fetching(constant.op)
            graph.prevent_feeding(unrelated)
            results[session_class] = [call(), call()]
            graph._unfetchable_ops.discard(constant.op)
            graph._unfeedable_tensors.discard(unrelated)
    assert np.array_equal(results[v1.Session], results[gm.Session]) and len(results[gm.Session]) == 2


def test_cached_run_and_callable_keep_working_after_unrelated_changes(session):
    x = v1.placeholder(tf.float32, [None], name="x")
    other = v1.placeholder(tf.float32, [], name="other")
    y = x * 3
    call = session.make_callable(y, feed_list=[x])
    for _ in range(3):
        assert session.run(y, {x: [1.0]}).tolist() == [3.0]
        assert call([2.0]).tolist() == [6.0]
    session.graph.prevent_feeding(other)
    session.graph.prevent_fetching(other.op)
    other.set_shape([])
    tf.constant(1.0)  # graph growth
    session.graph.finalize()
    for _ in range(3):
        assert session.run(y, {x: [1.0]}).tolist() == [3.0]
        assert call([2.0]).tolist() == [6.0]


def test_the_shape_cache_the_guard_reads_is_tensorflows(graph):
    # Guard.holds reads Tensor._shape_val (what .shape returns; set_shape clears it). Were it gone,
    # every cached call would take the slow path: this says so at once.
    x = v1.placeholder(tf.float32, [None, 2])
    shape = x.shape
    assert x._shape_val is shape
    x.set_shape([3, 2])
    assert x._shape_val is not shape and x.shape is x._shape_val
