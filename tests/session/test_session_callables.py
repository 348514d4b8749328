"""Session.run reuses a C++ callable for a repeated signature: same results, rebuilt or bypassed when it must be."""

from __future__ import annotations

import numpy as np
import pytest

import graphmode as gm
from graphmode import tf, v1


@pytest.fixture
def regression(graph):
    """The X*A=10 step: a placeholder, a variable, a loss and a train op."""
    x = v1.placeholder(tf.float32, [None], name="x")
    a = tf.Variable(1.0, name="a")
    loss = tf.reduce_mean(tf.square(x * a - 10.0))
    train = v1.train.GradientDescentOptimizer(0.01).minimize(loss)
    return x, a, loss, train, v1.global_variables_initializer()


def _losses(session_class, regression, batches):
    x, a, loss, train, init = regression
    with session_class(graph=x.graph) as session:
        session.run(init)
        losses = [session.run([loss, train], {x: batch})[0] for batch in batches]
        return losses, session.run(a)


def test_a_training_loop_is_bit_identical_to_tensorflows(regression):
    batches = [np.array([1.0, 2.0]), [0.5], np.array([3.0, 1.0, 2.0], np.float32)] * 4
    expected = _losses(v1.Session, regression, batches)
    got = _losses(gm.Session, regression, batches)
    assert [value.tobytes() for value in got[0]] == [value.tobytes() for value in expected[0]]
    assert got[1].tobytes() == expected[1].tobytes()


def test_built_only_on_the_second_identical_call(regression, session):
    x, a, loss, train, init = regression
    session.run(init)
    session.run(loss, {x: [1.0]})
    assert not session._run_cache._entries  # a one-off run builds nothing
    session.run(loss, {x: [1.0]})
    assert len(session._run_cache._entries) == 1
    session.run(loss, {x: [2.0]}, options=v1.RunOptions())  # run options: TensorFlow's own path
    session.run(loss, {x: [2.0]}, record_placement=True)
    assert len(session._run_cache._entries) == 1


def test_graph_growth_drops_the_callable(regression, session):
    x, a, loss, train, init = regression
    session.run(init)
    for _ in range(3):
        session.run(loss, {x: [1.0]})
    with x.graph.as_default():
        a.assign(5.0).op.run(session=session)  # grows the graph
    assert session.run(loss, {x: [1.0]}) == np.float32(25.0)
    assert not session._run_cache._entries
    assert session.run(loss, {x: [1.0]}) == np.float32(25.0)


def test_feeds_changing_dtype_and_shape_between_calls(graph, session):
    counts = v1.placeholder(tf.int32, [None], name="counts")
    doubled = counts * 2
    for value in ([1, 2], np.array([3.0]), np.array([4, 5, 6], np.int64), np.array([], np.int32)):
        got = session.run(doubled, {counts: value})
        assert got.dtype == np.int32 and got.tolist() == [2 * int(item) for item in np.asarray(value)]
    with pytest.raises(gm.errors.FeedRangeError, match="'counts:0' holds 4294967296"):
        session.run(doubled, {counts: np.array([2**32])})
    with pytest.raises(gm.errors.FeedError, match=r"'counts:0' has shape \(1, 1\); it expects \(\?,\)"):
        session.run(doubled, {counts: [[1]]})


def test_feed_key_sets_and_fetch_structures_are_separate_signatures(graph, session):
    a = v1.placeholder_with_default(1.0, [], name="a")
    b = v1.placeholder(tf.float32, [], name="b")
    total = a + b
    for _ in range(3):
        assert session.run(total, {b: 2.0}) == 3.0
        assert session.run(total, {a: 5.0, b: 2.0}) == 7.0
        assert session.run(total, {"b:0": 1.0, a: 0.0}) == 1.0
        assert session.run([total], {b: 2.0}) == [3.0]
        assert session.run((total, a), {b: 2.0}) == (3.0, 1.0)
        assert session.run((total, b), {b: 2.0}) == (3.0, 2.0)  # b is fed and fetched
    with pytest.raises(gm.errors.MissingFeedError, match="'b:0'"):
        session.run(total, {a: 1.0})
    with pytest.raises(gm.errors.MissingFeedError, match="'b:0'"):
        session.run(total, {a: 1.0})


def test_closed_session_refuses_through_the_cache(regression):
    x, a, loss, train, init = regression
    session = gm.Session(graph=x.graph)
    session.run(init)
    for _ in range(3):
        session.run(loss, {x: [1.0]})
    session.close()
    assert not session._run_cache._entries
    with pytest.raises(gm.errors.SessionClosedError):
        session.run(loss, {x: [1.0]})


def test_errors_from_the_cached_path_are_translated(regression, session):
    x, a, loss, train, init = regression
    with pytest.raises(gm.errors.UninitializedVariableError, match="'a'"):
        session.run(loss, {x: [1.0]})
    with pytest.raises(gm.errors.UninitializedVariableError, match="'a'"):
        session.run(loss, {x: [1.0]})
    assert session._run_cache._entries
