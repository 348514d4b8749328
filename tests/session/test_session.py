"""The session: feeds, config, default-session use, make_callable."""

from __future__ import annotations

import numpy as np
import pytest

import graphmode as gm
from graphmode import tf, v1


@pytest.fixture
def linear(graph):
    """y = x @ w with w = [[1], [2]], x fed as (?, 2)."""
    x = v1.placeholder(tf.float32, [None, 2], name="x-input")
    w = v1.get_variable("w", initializer=tf.constant([[1.0], [2.0]]))
    y = tf.matmul(x, w, name="y")
    return x, w, y, v1.global_variables_initializer()


def test_session_is_a_tf1_session(graph):
    with gm.Session(graph=graph) as session:
        assert isinstance(session, v1.Session)
        assert v1.get_default_session() is session


@pytest.mark.parametrize(
    "key, value",
    [
        ("tensor", [[1.0, 1.0]]),
        ("name", [[1.0, 1.0]]),
        ("tensor", np.array([[1.0, 1.0], [2.0, 0.0], [0.0, 0.0]])),  # None batch dim, float64 data
        ("name", np.array([[1, 1]], dtype=np.int64)),  # ints into a float placeholder
    ],
)
def test_feeds_by_tensor_or_name_lists_and_arrays(linear, session, key, value):
    x, w, y, init = linear
    session.run(init)
    result = session.run(y, {x if key == "tensor" else "x-input:0": value})
    np.testing.assert_allclose(result, np.asarray(value, dtype=np.float32) @ [[1.0], [2.0]])


def test_eval_and_run_inside_the_session_context(linear):
    x, w, y, init = linear
    with gm.Session(graph=x.graph):
        init.run()
        np.testing.assert_allclose(y.eval({x: [[3.0, 1.0]]}), [[5.0]])
        assert w.eval().shape == (2, 1)


def test_as_default_makes_eval_use_the_session(linear):
    x, w, y, init = linear
    session = gm.Session(graph=x.graph)
    with session.as_default():
        init.run()
        np.testing.assert_allclose(y.eval({x: [[0.0, 1.0]]}), [[2.0]])
    session.close()
    assert session._closed


def test_interactive_session_is_default_until_closed(linear):
    x, w, y, init = linear
    interactive = gm.InteractiveSession(graph=x.graph)
    try:
        assert isinstance(interactive, v1.InteractiveSession)
        init.run()
        np.testing.assert_allclose(y.eval({x: [[1.0, 1.0]]}), [[3.0]])
    finally:
        interactive.close()
    assert v1.get_default_session() is None


def test_fetching_a_variable_by_name_gives_its_value(linear, session):
    session.run(linear[3])
    np.testing.assert_array_equal(session.run("w:0"), [[1.0], [2.0]])
    fetched = session.run({"weights": "w:0", "output": linear[2]}, {"x-input:0": [[1.0, 0.0]]})
    np.testing.assert_array_equal(fetched["weights"], [[1.0], [2.0]])
    np.testing.assert_array_equal(fetched["output"], [[1.0]])


def test_session_config_sets_options_on_a_copy():
    base = v1.ConfigProto(allow_soft_placement=False)
    config = gm.session_config(
        base,
        allow_soft_placement=True,
        log_device_placement=True,
        intra_op_threads=2,
        inter_op_threads=1,
        timeout=1.5,
        xla_auto_jit=True,
    )
    assert not base.allow_soft_placement
    assert config.allow_soft_placement and config.log_device_placement
    assert (config.intra_op_parallelism_threads, config.inter_op_parallelism_threads) == (2, 1)
    assert config.operation_timeout_in_ms == 1500
    assert config.graph_options.optimizer_options.global_jit_level == v1.OptimizerOptions.ON_1


def test_ops_can_run_in_the_calling_thread(graph):
    total = tf.reduce_sum(tf.constant([1.0, 2.0]))
    with gm.Session(graph=graph, inter_op_threads=-1) as session:
        assert session._config.inter_op_parallelism_threads == -1
        assert session.run(total) == 3.0


def test_session_takes_options_as_keywords(graph):
    with gm.Session(graph=graph, intra_op_threads=1, inter_op_threads=1, allow_soft_placement=True) as session:
        assert session._config.intra_op_parallelism_threads == 1
        assert session._config.allow_soft_placement


@pytest.mark.parametrize(
    "options, message",
    [
        ({"intra_op_threads": -1}, "intra_op_threads must be >= 0 .*got -1"),
        ({"inter_op_threads": -2}, "inter_op_threads must be >= -1 .*got -2"),
        ({"timeout": 0}, "timeout must be a positive, finite number of seconds; got 0"),
        ({"timeout": float("nan")}, "timeout must be a positive, finite number of seconds; got nan"),
        ({"timeout": float("inf")}, "got inf"),
    ],
)
def test_session_config_rejects_bad_values(options, message):
    with pytest.raises(gm.errors.ConfigError, match=message):
        gm.session_config(**options)


def test_make_callable_runs_and_checks_feeds(linear, session):
    x, w, y, init = linear
    session.run(init)
    step = session.make_callable(y, [x])
    np.testing.assert_allclose(step(np.ones((4, 2))), np.full((4, 1), 3.0))
    with pytest.raises(gm.errors.FeedError, match=r"feed for placeholder 'x-input:0' has shape \(4, 3\); it expects \(\?, 2\)"):
        step(np.ones((4, 3)))
    with pytest.raises(gm.errors.FeedError, match=r"takes 1 feed\(s\) \('x-input:0'\); got 2"):
        step(np.ones((1, 2)), np.ones((1, 2)))


def test_make_callable_reports_missing_placeholders(graph, session):
    a = v1.placeholder(tf.float32, [], name="a")
    b = v1.placeholder(tf.float32, [], name="b")
    total = a + b
    add = session.make_callable(total, [a])
    with pytest.raises(gm.errors.MissingFeedError, match="'b:0'"):
        add(1.0)


def test_make_callable_returns_the_fetch_structure(linear, session):
    x, w, y, init = linear
    session.run(init)
    step = session.make_callable({"out": [y, "w:0"], "weights": w, "init": init}, [x])
    result = step(np.array([[1.0, 1.0]]))  # float64 data into a float32 placeholder
    np.testing.assert_allclose(result["out"][0], [[3.0]])
    np.testing.assert_array_equal(result["out"][1], [[1.0], [2.0]])
    np.testing.assert_array_equal(result["weights"], [[1.0], [2.0]])
    assert result["init"] is None


def test_make_callable_matches_run_on_a_training_step(graph):
    x = v1.placeholder(tf.float32, [None], name="x")
    a = tf.Variable(1.0, name="a")
    loss = tf.reduce_mean(tf.square(x * a - 10.0))
    train = v1.train.GradientDescentOptimizer(0.01).minimize(loss)
    init = v1.global_variables_initializer()
    data = [np.array([1.0, 2.0]), np.array([0.5]), np.array([3.0, 1.0, 2.0])]
    finals = []
    for use_callable in (False, True):
        with gm.Session(graph=graph) as session:
            session.run(init)
            step = session.make_callable([loss, train], [x]) if use_callable else None
            losses = [step(batch)[0] if step else session.run([loss, train], {x: batch})[0] for batch in data]
            finals.append((losses, session.run(a)))
    assert finals[0] == finals[1]


def test_callable_of_a_closed_session_refuses(linear):
    x, w, y, init = linear
    session = gm.Session(graph=x.graph)
    step = session.make_callable(y, [x])
    session.close()
    with pytest.raises(gm.errors.SessionClosedError):
        step(np.ones((1, 2)))


def test_make_callable_falls_back_for_fetches_only_tensorflow_converts(graph, session):
    x = v1.placeholder(tf.float32, [2], name="x")
    sparse = tf.sparse.from_dense(x)
    to_values = session.make_callable(sparse, [x])
    value = to_values(np.array([0.0, 3.0]))
    np.testing.assert_array_equal(value.values, [3.0])
    np.testing.assert_array_equal(value.indices, [[1]])
