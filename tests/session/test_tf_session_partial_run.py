"""TensorFlow's partial-run tests (``session_partial_run_test.py``), run side by side.

Each behaviour runs with ``tf.compat.v1.Session`` and ``graphmode.Session``, on an
in-process session ("direct") and on a local gRPC server ("distributed"), as
TensorFlow's own file runs each twice.
"""

from __future__ import annotations

import pytest

from graphmode import tf, v1


@pytest.fixture(params=["direct", "distributed"])
def partial_session(request, graph, session_class, local_server):
    """A session of the class under test, in-process or on the local server."""
    target = local_server.target if request.param == "distributed" else ""
    with session_class(target) as session:
        yield session


def _scalars(count: int) -> list[tf.Tensor]:
    return [v1.placeholder(tf.float32, shape=[]) for _ in range(count)]


def test_partial_run_in_steps(partial_session):
    """RunTestPartialRun: feed some, fetch, compute in Python, feed the rest; twice on one graph."""
    a, b, c = _scalars(3)
    r1 = a + b
    r2 = r1 * c
    for factor in (17, 18):
        handle = partial_session.partial_run_setup([r1, r2], [a, b, c])
        first = partial_session.partial_run(handle, r1, feed_dict={a: 1, b: 2})
        assert first == 3
        assert partial_session.partial_run(handle, r2, feed_dict={c: first * factor}) == 9 * factor


def test_partial_run_left_incomplete(partial_session):
    """RunTestPartialRunIncomplete: a partial run need not fetch everything it set up."""
    a, b, c = _scalars(3)
    r1 = a + b
    handle = partial_session.partial_run_setup([r1, r1 * c], [a, b, c])
    assert partial_session.partial_run(handle, r1, feed_dict={a: 1, b: 2}) == 3


def test_concurrent_partial_runs(partial_session):
    """RunTestConcurrentPartialRun: two handles on one session advance independently."""
    a, b, c = _scalars(3)
    r1 = a + b
    r2 = r1 * c
    first = partial_session.partial_run_setup([r1], [a, b, c])
    second = partial_session.partial_run_setup([r1, r2], [a, b, c])
    value = partial_session.partial_run(first, r1, feed_dict={a: 1, b: 2})
    assert value == 3
    assert partial_session.partial_run(second, r1, feed_dict={a: value * 19, b: 9}) == 66
    assert partial_session.partial_run(second, r2, feed_dict={c: 7}) == 462


@pytest.mark.parametrize("steps", [50, pytest.param(200, marks=pytest.mark.slow)])
def test_many_partial_run_steps(partial_session, steps):
    """RunTestManyPartialRun: many steps of one partial run (200 as TensorFlow's, in the slow tier), then one run."""
    inputs = _scalars(steps)
    outputs = []
    product = tf.constant(2.0)
    for placeholder in inputs:
        product = product * placeholder
        outputs.append(product)
    handle = partial_session.partial_run_setup(outputs, inputs)
    for placeholder, output in zip(inputs, outputs):
        value = partial_session.partial_run(handle, output, feed_dict={placeholder: 1.0})
    assert value == 2.0
    values = partial_session.run(outputs, {placeholder: 1.0 for placeholder in inputs})
    assert len(values) == steps and values[-1] == 2.0


def test_run_and_partial_run_agree(partial_session):
    """RunTestRunAndPartialRun."""
    b = tf.constant(2.0) * 2
    c = b * 3
    ran = partial_session.run([b, c])
    assert partial_session.partial_run(partial_session.partial_run_setup([b, c], []), [b, c]) == ran == [4.0, 12.0]


def test_partial_run_missing_feed(partial_session):
    """RunTestPartialRunMissingPlaceholderFeedException."""
    x = v1.placeholder(tf.float32, shape=())
    fetches = [x * 2, x * 3]
    handle = partial_session.partial_run_setup(fetches=fetches, feeds=[])
    with pytest.raises(tf.errors.InvalidArgumentError, match="You must feed a value for placeholder"):
        partial_session.partial_run(handle, fetches[0])


def test_partial_run_feed_not_set_up(partial_session):
    """RunTestPartialRunUnspecifiedFeed."""
    a, b, c = _scalars(3)
    handle = partial_session.partial_run_setup([a + b], [a, b])
    with pytest.raises(tf.errors.InvalidArgumentError, match="was not specified in partial_run_setup.$"):
        partial_session.partial_run(handle, a + b, feed_dict={a: 1, b: 2, c: 3})


def test_partial_run_fetch_not_set_up(partial_session):
    """RunTestPartialRunUnspecifiedFetch."""
    a, b, c = _scalars(3)
    handle = partial_session.partial_run_setup([a + b], [a, b, c])
    with pytest.raises(tf.errors.InvalidArgumentError, match="was not specified in partial_run_setup.$"):
        partial_session.partial_run(handle, a * c, feed_dict={a: 1, c: 3})


def test_partial_run_feed_twice(partial_session):
    """RunTestPartialRunAlreadyFed."""
    a, b, c = _scalars(3)
    r1, r2 = a + b, a * c
    handle = partial_session.partial_run_setup([r1, r2], [a, b, c])
    partial_session.partial_run(handle, r1, feed_dict={a: 1, b: 2})
    with pytest.raises(tf.errors.InvalidArgumentError, match="has already been fed.$"):
        partial_session.partial_run(handle, r2, feed_dict={a: 1, c: 3})


def test_partial_run_fetch_twice(partial_session):
    """RunTestPartialRunAlreadyFetched."""
    a, b, c = _scalars(3)
    r1 = a + b
    handle = partial_session.partial_run_setup([r1, a * c], [a, b, c])
    partial_session.partial_run(handle, r1, feed_dict={a: 1, b: 2})
    with pytest.raises(tf.errors.InvalidArgumentError, match="has already been fetched.$"):
        partial_session.partial_run(handle, r1, feed_dict={c: 3})


def test_partial_run_step_without_fetches(partial_session):
    """RunTestPartialRunEmptyFetches: a step may only feed."""
    a = v1.placeholder(tf.float32)
    doubled = a * 2.0
    handle = partial_session.partial_run_setup(fetches=[doubled], feeds=[a])
    partial_session.partial_run(handle, [], {a: 3.0})
    assert partial_session.partial_run(handle, [doubled], {}) == [6.0]


def test_partial_run_setup_without_targets(graph, session_class):
    """testInvalidPartialRunSetup."""
    x = v1.placeholder(tf.float32, shape=[])
    with session_class() as session:
        with pytest.raises(tf.errors.InvalidArgumentError, match="specify at least one target to fetch or execute."):
            session.partial_run_setup(fetches=[], feeds=[x])


def test_partial_run_setup_without_feeds(graph, session_class):
    """testPartialRunSetupNoFeedsPassed."""
    six = tf.constant([6.0])
    with session_class() as session:
        assert session.partial_run(session.partial_run_setup([six]), six) == [6.0]
