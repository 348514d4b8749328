"""Every bad input gets a graphmode error that names the culprit and loses nothing."""

from __future__ import annotations

import numpy as np
import pytest

import graphmode as gm
from graphmode import tf, v1


@pytest.fixture
def model(graph):
    x = v1.placeholder(tf.float32, [None, 2], name="x-input")
    labels = v1.placeholder(tf.float32, [None, 1], name="y-input")
    w = v1.get_variable("w", initializer=tf.ones([2, 1]))
    b = v1.get_variable("b", initializer=tf.zeros([1]))
    loss = tf.reduce_mean(tf.square(tf.matmul(x, w) + b - labels), name="loss")
    train = v1.train.GradientDescentOptimizer(0.1).minimize(loss)
    return x, labels, w, loss, train, v1.global_variables_initializer()


def test_feed_with_wrong_shape_names_placeholder_expected_and_given(model, session):
    x, labels, w, loss, train, init = model
    session.run(init)
    with pytest.raises(gm.errors.FeedError) as caught:
        session.run(loss, {x: np.ones((3, 3)), labels: np.ones((3, 1))})
    assert str(caught.value) == (
        "feed for placeholder 'x-input:0' has shape (3, 3); it expects (?, 2)\n"
        "Cannot feed value of shape (3, 3) for Tensor x-input:0, which has shape (None, 2)"  # TensorFlow's words
    )
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    "value, given",
    [
        (np.array([[1.5, 2.0]]), None),  # float64 -> float32 is fine
        ([["a", "b"]], "<U1"),
        (np.array([[True, False]]), None),
    ],
)
def test_feed_dtype_checks_on_a_float_placeholder(model, session, value, given):
    x, labels, w, loss, train, init = model
    session.run(init)
    feed = {x: value, labels: [[1.0]]}
    if given is None:
        assert np.isfinite(session.run(loss, feed))
    else:
        with pytest.raises(gm.errors.FeedError, match=f"'x-input:0' has dtype {given}; it expects float32"):
            session.run(loss, feed)


def test_float_feed_into_int_placeholder_is_refused_not_truncated(graph, session):
    counts = v1.placeholder(tf.int32, [2], name="counts")
    with pytest.raises(gm.errors.FeedRangeError, match=r"'counts:0' has dtype float64 with non-whole values \(e.g. 1.7\)"):
        session.run(counts * 2, {counts: [1.7, 2.0]})
    # Whole-number floats (TF1 scripts feed one-hot float labels to int placeholders) lose nothing.
    np.testing.assert_array_equal(session.run(counts * 2, {counts: np.array([1.0, 2.0])}), [2, 4])
    np.testing.assert_array_equal(session.run(counts * 2, {counts: [1, 2]}), [2, 4])


def test_every_bad_feed_is_listed_at_once(model, session):
    x, labels, *_ , loss, train, init = model
    with pytest.raises(gm.errors.FeedError) as caught:
        session.run(loss, {x: np.ones((2, 5)), labels: np.ones((2,))})
    message = str(caught.value)
    assert "'x-input:0' has shape (2, 5); it expects (?, 2)" in message
    assert "'y-input:0' has shape (2,); it expects (?, 1)" in message


def test_feed_by_unknown_name(model, session):
    with pytest.raises(gm.errors.FeedError, match="feed key 'z-input:0' names no tensor of the session's graph"):
        session.run(model[3], {"z-input:0": [[1.0, 2.0]]})


def test_missing_placeholders_are_all_listed(model, session):
    x, labels, w, loss, train, init = model
    session.run(init)
    with pytest.raises(gm.errors.MissingFeedError) as caught:
        session.run(loss)
    message = str(caught.value)
    assert "needs 2 placeholder(s) that were not fed" in message
    assert "'x-input:0' (float32, shape (?, 2))" in message and "'y-input:0' (float32, shape (?, 1))" in message
    assert isinstance(caught.value, tf.errors.InvalidArgumentError)
    assert isinstance(caught.value.__cause__, tf.errors.InvalidArgumentError)
    with pytest.raises(gm.errors.MissingFeedError, match="needs 1 placeholder.*'y-input:0'"):
        session.run(loss, {x: [[1.0, 1.0]]})


def test_feeding_or_fetching_from_another_graph(model, session):
    other = gm.new_graph()
    with other.as_default():
        stranger = v1.placeholder(tf.float32, [], name="stranger")
    with pytest.raises(gm.errors.ForeignGraphError, match="fetch 'stranger:0' belongs to another graph"):
        session.run(stranger)
    with pytest.raises(gm.errors.ForeignGraphError, match="feed key 'stranger:0' belongs to another graph"):
        session.run(model[3], {stranger: 1.0})


def test_running_a_closed_session(model):
    session = gm.Session(graph=model[0].graph)
    session.close()
    with pytest.raises(gm.errors.SessionClosedError, match="was closed; create a new session"):
        session.run(model[5])
    with pytest.raises(RuntimeError):
        session.make_callable(model[3])


def test_uninitialized_variables_are_listed(model, session):
    x, labels, w, loss, train, init = model
    with pytest.raises(gm.errors.UninitializedVariableError) as caught:
        session.run(loss, {x: [[1.0, 1.0]], labels: [[1.0]]})
    message = str(caught.value)
    assert "2 uninitialized variable(s)" in message
    assert "'w' (shape (2, 1), float32)" in message and "'b' (shape (1,), float32)" in message
    assert "global_variables_initializer" in message
    assert isinstance(caught.value, tf.errors.FailedPreconditionError)
    session.run(init)
    ops_before = len(x.graph.get_operations())
    assert session.uninitialized_variables() == []
    assert session.uninitialized_variables() == []
    assert len(x.graph.get_operations()) == ops_before  # the report op is built once and reused


def test_failed_run_changes_nothing(model, session):
    x, labels, w, loss, train, init = model
    session.run(init)
    before = session.run(w)
    with pytest.raises(gm.errors.FeedError):
        session.run(train, {x: np.ones((1, 3)), labels: [[1.0]]})
    np.testing.assert_array_equal(session.run(w), before)
    session.run(train, {x: np.ones((1, 2)), labels: [[0.0]]})
    assert not np.array_equal(session.run(w), before)


def test_check_numerics_names_the_tensor(graph):
    x = v1.placeholder(tf.float32, [2], name="x")
    log_x = tf.math.log(x, name="log_x")
    total = tf.reduce_sum(log_x, name="total")
    with gm.Session(graph=graph, check_numerics=True) as session:
        assert session.run(total, {x: [1.0, 1.0]}) == 0.0
        with pytest.raises(gm.errors.NumericsError, match="tensor 'log_x:0' has NaN values") as caught:
            session.run(total, {x: [-1.0, 1.0]})
        assert isinstance(caught.value, tf.errors.InvalidArgumentError)
        with pytest.raises(gm.errors.NumericsError, match="tensor 'log_x:0' has Inf values"):
            session.run(total, {x: [0.0, 1.0]})
        # Off for one run: TensorFlow returns the NaN as TF1 did.
        assert np.isnan(session.run(total, {x: [-1.0, 1.0]}, check_numerics=False))


def test_check_numerics_in_training_names_a_tensor(model):
    x, labels, w, loss, train, init = model
    with gm.Session(graph=x.graph) as session:
        session.run(init)
        with pytest.raises(gm.errors.NumericsError, match="has (Inf|NaN|-Inf) values"):
            session.run([train, loss], {x: [[np.inf, 1.0]], labels: [[1.0]]}, check_numerics=True)


def test_per_run_timeout_on_an_empty_queue(graph, session):
    queue = v1.FIFOQueue(2, tf.float32, name="inbox")
    item = queue.dequeue(name="take")
    with pytest.raises(gm.errors.RunTimeoutError) as caught:
        session.run(item, timeout=0.2)
    message = str(caught.value)
    assert "gave up after 0.2 s (per-run timeout)" in message
    assert "op 'take' (QueueDequeueV2)" in message
    assert isinstance(caught.value, tf.errors.DeadlineExceededError)
    session.run(queue.enqueue(3.0))
    assert session.run(item, timeout=0.2) == 3.0


def test_per_session_timeout_on_an_empty_queue(graph):
    item = v1.FIFOQueue(2, tf.float32).dequeue(name="take")
    with gm.Session(graph=graph, timeout=0.3) as session:
        with pytest.raises(gm.errors.RunTimeoutError, match=r"0.3 s \(per-session timeout\) waiting on op 'take'"):
            session.run(item)


def test_timeout_on_a_dead_remote_target(graph, free_port):
    answer = tf.constant(41.0) + 1.0
    target = f"grpc://127.0.0.1:{free_port}"
    with gm.Session(target, graph=graph, timeout=1.0) as session:
        with pytest.raises(gm.errors.RunTimeoutError, match=f"the remote target '{target}'"):
            session.run(answer)


def test_run_timeout_must_be_positive(graph, session):
    with pytest.raises(gm.errors.ConfigError, match="timeout must be a positive, finite number"):
        session.run(tf.constant(1.0), timeout=-1)
