"""One test per drop-in promise: no silent change of fed data, TensorFlow's exception classes, its config."""

from __future__ import annotations

import numpy as np
import pytest

import graphmode as gm
from graphmode import tf, v1


@pytest.fixture
def counts(graph):
    """An int32 placeholder, a computation on it, and the same via a no-op train step."""
    counts = v1.placeholder(tf.int32, [None], name="counts")
    return counts, tf.identity(counts, name="echo")


NARROWING = [
    ([2**40 + 5], "holds 1099511627781, outside int32's range \\[-2147483648, 2147483647\\]"),
    ([3_000_000_000], "holds 3000000000, outside int32's range"),
    (np.array([2**40 + 5]), "holds 1099511627781, .*; TensorFlow would wrap it to 5"),
    (np.array([1.5]), "has dtype float64 with non-whole values \\(e.g. 1.5\\)"),
]


@pytest.mark.parametrize("value, message", NARROWING)
@pytest.mark.parametrize("entry", ["run", "make_callable", "partial_run", "eval", "run twice"])
def test_integer_narrowing_is_refused_by_every_entry_point(counts, session, entry, value, message):
    placeholder, echo = counts
    calls = {
        "run": lambda: session.run(echo, {placeholder: value}),
        "run twice": lambda: [session.run(echo, {placeholder: [1]}) for _ in range(3)] + [
            session.run(echo, {placeholder: value})
        ],  # through the callable Session.run builds for a repeated signature
        "make_callable": lambda: session.make_callable(echo, [placeholder])(value),
        "partial_run": lambda: session.partial_run(session.partial_run_setup(echo, [placeholder]), echo, {placeholder: value}),
        "eval": lambda: echo.eval({placeholder: value}, session=session),
    }
    with pytest.raises(gm.errors.FeedRangeError, match=f"placeholder 'counts:0' {message}") as caught:
        calls[entry]()
    assert isinstance(caught.value, TypeError) and isinstance(caught.value, ValueError)


def test_operation_run_checks_feeds(graph, session):
    small = v1.placeholder(tf.int8, [], name="small")
    store = tf.Variable(0, dtype=tf.int8)
    assign = store.assign(small)
    session.run(store.initializer)
    with pytest.raises(gm.errors.FeedRangeError, match="'small:0' holds 300, outside int8's range \\[-128, 127\\]"):
        assign.op.run({small: 300}, session=session)
    assign.op.run({small: 100}, session=session)
    assert session.run(store) == 100


def test_python_int_out_of_int64_range(graph, session):
    wide = v1.placeholder(tf.int64, [None], name="wide")
    with pytest.raises(gm.errors.FeedRangeError, match="'wide:0' holds 18446744073709551616") as caught:
        session.run(wide + 0, {wide: [2**64]})
    assert isinstance(caught.value, OverflowError)  # what TensorFlow raises for it
    with pytest.raises(gm.errors.FeedRangeError, match="holds 9223372036854775809, outside int64's range"):
        session.run(wide + 0, {wide: np.array([2**63 + 1], np.uint64)})


def test_lossless_feeds_keep_working(graph, session):
    labels = v1.placeholder(tf.uint8, [None], name="labels")
    flags = v1.placeholder(tf.bool, [None], name="flags")
    classes = v1.placeholder(tf.int32, [None, 3], name="classes")
    one_hot = np.eye(3)[[2, 0]]  # float64, as input_data's one-hot labels are
    got = session.run([labels + 0, tf.logical_not(flags), classes * 1], {labels: [1, 2, 3], flags: [0, 1], classes: one_hot})
    np.testing.assert_array_equal(got[0], np.array([1, 2, 3], np.uint8))
    np.testing.assert_array_equal(got[1], [True, False])
    assert got[2].dtype == np.int32 and got[2].tolist() == [[0, 0, 1], [1, 0, 0]]


def test_bytes_arrive_exactly(graph, session):
    text = v1.placeholder(tf.string, [None], name="text")
    lengths = tf.strings.length(text)
    values = [b"ab\x00", b"\x00\x00", "h\u00e9".encode()]
    assert session.run(lengths, {text: values}).tolist() == [3, 2, 3]
    assert session.run(tf.identity(text), {text: values}).tolist() == values
    np.testing.assert_array_equal(session.run(lengths, {text: ["h\u00e9"]}), [3])


def test_partial_run_refuses_what_run_refuses(counts, session):
    placeholder, echo = counts
    handle = session.partial_run_setup(echo, [placeholder])
    with pytest.raises(gm.errors.FeedRangeError, match="non-whole values"):
        session.partial_run(handle, echo, {placeholder: [1.5, 2.0]})
    handle = session.partial_run_setup(echo, [placeholder])
    np.testing.assert_array_equal(session.partial_run(handle, echo, {placeholder: [1.0, 2.0]}), [1, 2])


def test_partial_run_setup_checks_feed_keys(counts, session):
    with pytest.raises(gm.errors.FeedTypeError, match="feed key 'nowhere:0' names no tensor"):
        session.partial_run_setup(counts[1], ["nowhere:0"])


def test_fetch_by_name_before_the_variable_exists_does_not_poison_later_fetches(graph, session):
    tf.constant(1.0, name="something")
    with pytest.raises(ValueError):
        session.run("v:0")
    v = tf.Variable([7.0, 7.0, 7.0], name="v")
    session.run(v.initializer)
    np.testing.assert_array_equal(session.run("v:0"), [7.0, 7.0, 7.0])


@pytest.mark.parametrize(
    "feed, error, message",
    [
        ({3: [1]}, gm.errors.FeedTypeError, "feed key 3 \\(int\\) cannot be fed"),
        ({"nowhere:0": [1]}, gm.errors.FeedTypeError, "feed key 'nowhere:0' names no tensor"),
        ("tensor value", gm.errors.FeedTypeError, "is the tf.Tensor 'const_ints:0'"),
        ("string gets int", gm.errors.FeedTypeError, "'text:0' is the int 3; it expects a string"),
        ("string gets list of ints", gm.errors.FeedTypeError, "'text:0' holds 3 \\(int\\); it expects strings"),
    ],
)
def test_where_tensorflow_raises_type_error_so_does_graphmode(counts, session, feed, error, message):
    placeholder, echo = counts
    text = v1.placeholder(tf.string, None, name="text")
    feeds = {
        "tensor value": {placeholder: tf.constant([1], name="const_ints")},
        "string gets int": {text: 3},
        "string gets list of ints": {text: [3]},
    }
    fetch = [echo, tf.strings.length(text)] if isinstance(feed, str) and "string" in feed else echo
    with pytest.raises(error, match=message) as caught:
        session.run(fetch, feeds.get(feed, feed) if isinstance(feed, str) else feed)
    assert isinstance(caught.value, TypeError)


def test_config_must_be_a_config_proto(graph):
    with pytest.raises(gm.errors.ConfigTypeError, match="config must be a tf.compat.v1.ConfigProto; got str") as caught:
        gm.Session(graph=graph, config="intra_op=1")
    assert isinstance(caught.value, TypeError)


def _tensorflow_error(graph, fetch, feed=None):
    with v1.Session(graph=graph) as reference:
        with pytest.raises(tf.errors.OpError) as caught:
            reference.run(fetch, feed)
    return caught.value


def test_translated_errors_keep_op_error_fields(graph, session):
    x = v1.placeholder(tf.float32, [None], name="x")
    w = tf.Variable([1.0], name="w")
    cases = [(x * 2, gm.errors.MissingFeedError), (w * 2, gm.errors.UninitializedVariableError)]
    for fetch, translated in cases:
        expected = _tensorflow_error(graph, fetch)
        with pytest.raises(translated) as caught:
            session.run(fetch)
        got = caught.value
        assert isinstance(got, type(expected))
        assert got.op is not None and got.op.name == expected.op.name
        assert got.node_def == expected.node_def
        assert got.error_code == expected.error_code
        assert got.message.startswith(("fetching", "the run read")), got.message


def test_make_callable_with_a_tensor_both_fed_and_fetched(graph, session):
    x = v1.placeholder(tf.float32, [None], name="x")
    y = x * 2
    expected = v1.Session(graph=graph).make_callable([y, x], feed_list=[x])([1, 2])
    got = session.make_callable([y, x], feed_list=[x])([1, 2])
    for one, other in zip(expected, got):
        assert one.dtype == other.dtype and one.tobytes() == other.tobytes()


def test_feeding_a_resource_variable_by_name_says_what_to_do(graph, session):
    tf.Variable([1.0, 2.0], name="w")
    x = v1.placeholder(tf.float32, [None], name="x")
    with pytest.raises(gm.errors.FeedTypeError, match="'w:0' is the handle of resource variable 'w'.*w.load\\(value, session\\)"):
        session.run(x * 1, {"w:0": [3.0, 4.0], x: [1.0]})


def test_run_options_timeout_is_reported_as_such(graph, session):
    item = v1.FIFOQueue(1, tf.float32).dequeue(name="take")
    with pytest.raises(gm.errors.RunTimeoutError, match=r"gave up after 0.4 s \(per-run RunOptions timeout\) waiting on op 'take'"):
        session.run(item, options=v1.RunOptions(timeout_in_ms=400))


@pytest.mark.parametrize("timeout", [float("nan"), float("inf"), -1.0, "1"])
def test_bad_run_timeouts_are_config_errors(graph, session, timeout):
    with pytest.raises(gm.errors.ConfigError, match="timeout must be a positive, finite number of seconds"):
        session.run(tf.constant(1.0), timeout=timeout)


def test_config_starts_from_tensorflows_own(graph):
    before = tf.config.optimizer.get_experimental_options()
    soft = tf.config.get_soft_device_placement()
    try:
        tf.config.optimizer.set_experimental_options({"constant_folding": False})
        tf.config.set_soft_device_placement(False)
        with v1.Session(graph=graph) as reference, gm.Session(graph=graph) as session:
            assert session._config == reference._config
            assert not session._config.allow_soft_placement
        with gm.Session(graph=graph, intra_op_threads=1) as session:
            rewrite = session._config.graph_options.rewrite_options
            assert rewrite.constant_folding == rewrite.OFF and session._config.intra_op_parallelism_threads == 1
    finally:
        tf.config.optimizer.set_experimental_options({"constant_folding": before.get("constant_folding", True)})
        tf.config.set_soft_device_placement(soft)
