"""graphmode's session errors keep TensorFlow's words: the same bad input through both sessions.

Code in the wild matches TensorFlow's error text (``assertRaisesRegex(TypeError,
"Cannot interpret feed_dict")``). Each case below builds one graph, gives the
same bad input to ``tf.compat.v1.Session`` and to ``graphmode.Session`` on it,
and checks that graphmode's error is an instance of TensorFlow's class, that its
message ends with TensorFlow's message word for word (a line of its own), and
that graphmode's own sentence naming the culprit comes before it.

Where graphmode refuses what TensorFlow accepts, or refuses with another class,
there are no TensorFlow words to keep; those are the deliberate differences
(docs/session-compat.md), and the last test checks that none are made up for them.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import graphmode as gm
from graphmode import errors, tf, v1


def _placeholder_graph():
    p = v1.placeholder(tf.float32, [None, 2], name="p")
    return {"p": p, "doubled": tf.identity(p * 2, name="doubled")}


def _foreign():
    with tf.Graph().as_default():
        return tf.constant(1.0, name="stranger")


def _uninitialized(resource: bool):
    def build():
        weights = v1.Variable(tf.zeros([2]), name="weights", use_resource=resource)
        return {"read": tf.identity(weights)}

    return build


def _slow_dequeue():
    return {"dequeue": tf.queue.FIFOQueue(1, tf.float32).dequeue()}


def _on_a_gpu():
    with tf.device("/device:GPU:0"):
        return {"gpu": tf.constant(1.0, name="on_gpu") + 1}


def _unfeedable():
    p = v1.placeholder(tf.float32, [], name="p")
    v1.get_default_graph().prevent_feeding(p)
    return {"p": p, "doubled": p * 2}


FEED_CASES = {
    # name: (build the graph, call with a session, graphmode's culprit sentence)
    "missing feed, run": (
        _placeholder_graph, lambda s, g: s.run(g["doubled"]), r"needs 1 placeholder\(s\) that were not fed: 'p:0'"),
    "missing feed, eval": (
        _placeholder_graph, lambda s, g: g["doubled"].eval(session=s), r"that were not fed: 'p:0'"),
    "missing feed, make_callable": (
        _placeholder_graph, lambda s, g: s.make_callable(g["doubled"])(), r"that were not fed: 'p:0'"),
    "missing feed, partial_run": (
        _placeholder_graph, lambda s, g: s.partial_run(s.partial_run_setup(g["doubled"], []), g["doubled"]),
        r"that were not fed: 'p:0'"),
    "wrong shape, run": (
        _placeholder_graph, lambda s, g: s.run(g["doubled"], {g["p"]: np.ones((3, 3))}),
        r"feed for placeholder 'p:0' has shape \(3, 3\); it expects \(\?, 2\)"),
    "wrong shape, make_callable": (
        _placeholder_graph, lambda s, g: s.make_callable(g["doubled"], [g["p"]])(np.ones((3, 3))),
        r"'p:0' has shape \(3, 3\); it expects \(\?, 2\)"),
    "wrong shape, partial_run": (
        _placeholder_graph,
        lambda s, g: s.partial_run(s.partial_run_setup(g["doubled"], [g["p"]]), g["doubled"], {g["p"]: [1.0]}),
        r"'p:0' has shape \(1,\); it expects \(\?, 2\)"),
    "ragged value": (
        _placeholder_graph, lambda s, g: s.run(g["doubled"], {g["p"]: [[1.0], [2.0, 3.0]]}),
        r"feed for placeholder 'p:0' is not a rectangular array"),
    "tensor as value": (
        lambda: {**_placeholder_graph(), "ones": tf.ones([1, 2])}, lambda s, g: s.run(g["doubled"], {g["p"]: g["ones"]}),
        r"feed for placeholder 'p:0' is the tf.Tensor 'ones:0'"),
    "int too large": (
        lambda: {"c": tf.constant(1, name="c")}, lambda s, g: s.run(g["c"], {g["c"]: np.iinfo(np.int64).max}),
        r"feed for placeholder 'c:0' holds 9223372036854775807, outside int32's range"),
    "int into a string placeholder": (
        lambda: {"text": v1.placeholder(tf.string, name="text")}, lambda s, g: s.run(g["text"], {g["text"]: 1}),
        r"feed for placeholder 'text:0' is the int 1; it expects a string"),
    "key names an op": (
        lambda: {"a": tf.constant(1.0, name="a")}, lambda s, g: s.run(g["a"], {"a": [2.0]}),
        r"feed key 'a' names no tensor of the session's graph"),
    "key names nothing": (
        lambda: {"a": tf.constant(1.0, name="a")}, lambda s, g: s.run(g["a"], {"nope:0": 2.0}),
        r"feed key 'nope:0' names no tensor"),
    "key of no feedable type": (
        lambda: {"a": tf.constant(1.0, name="a")}, lambda s, g: s.run(g["a"], {3: 2.0}),
        r"feed key 3 \(int\) cannot be fed"),
    "feeding prevented": (
        _unfeedable, lambda s, g: s.run(g["doubled"], {g["p"]: 1.0}), r"placeholder 'p:0' may not be fed"),
    "feed key of another graph": (
        lambda: {"a": tf.constant(1.0, name="a"), "stranger": _foreign()},
        lambda s, g: s.run(g["a"], {g["stranger"]: 2.0}), r"feed key 'stranger:0' belongs to another graph"),
    "fetch of another graph, run": (
        lambda: {"a": tf.constant(1.0, name="a"), "stranger": _foreign()},
        lambda s, g: s.run(g["stranger"]), r"fetch 'stranger:0' belongs to another graph"),
    "fetch of another graph, make_callable": (
        lambda: {"a": tf.constant(1.0, name="a"), "stranger": _foreign()},
        lambda s, g: s.make_callable(g["stranger"]), r"fetch 'stranger:0' belongs to another graph"),
    "closed session": (
        lambda: {"a": tf.constant(1.0, name="a")}, lambda s, g: (s.close(), s.run(g["a"])),
        r"this Session \(target 'local'\) was closed; create a new session"),
    "uninitialized resource variable": (
        _uninitialized(True), lambda s, g: s.run(g["read"]), r"the run read 1 uninitialized variable\(s\): 'weights'"),
    "uninitialized reference variable": (
        _uninitialized(False), lambda s, g: s.run(g["read"]), r"the run read 1 uninitialized variable\(s\): 'weights'"),
    "device that does not exist": (
        _on_a_gpu, lambda s, g: s.run(g["gpu"]), r"op '\w+' \(\w+\) asks for device '/device:GPU:0', which does not exist here"),
}
# Cases whose session needs a config of its own.
CONFIGS = {
    "device that does not exist": v1.ConfigProto(allow_soft_placement=False),
    "timeout": v1.ConfigProto(operation_timeout_in_ms=100),
}
FEED_CASES["timeout"] = (
    _slow_dequeue, lambda s, g: s.run(g["dequeue"]), r"gave up after 0.1 s \(per-session timeout\) waiting on op")


def _tensorflow_text(error: BaseException) -> str:
    return error.message if isinstance(error, tf.errors.OpError) else str(error)


def _graphmode_text(error: BaseException) -> str:
    return error.message if isinstance(error, tf.errors.OpError) else str(error)


def _assert_keeps_tensorflow_words(tensorflow_error: BaseException, graphmode_error: BaseException, sentence: str):
    assert isinstance(graphmode_error, errors.GraphmodeError), repr(graphmode_error)
    assert isinstance(graphmode_error, type(tensorflow_error)), (type(graphmode_error), type(tensorflow_error))
    theirs, ours = _tensorflow_text(tensorflow_error), _graphmode_text(graphmode_error)
    assert ours.endswith("\n" + theirs), f"TensorFlow's message is not the last line(s) of graphmode's:\n{ours}\n---\n{theirs}"
    assert graphmode_error.tensorflow_message == theirs
    head = ours[: -len(theirs)]
    assert re.search(sentence, head), f"graphmode's sentence {sentence!r} missing from:\n{head}"


@pytest.mark.parametrize("case", list(FEED_CASES))
def test_graphmode_error_keeps_tensorflow_message(case, raised_by):
    build, call, sentence = FEED_CASES[case]
    graph = tf.Graph()
    with graph.as_default():
        parts = build()
    config = CONFIGS.get(case)
    errors = []
    for session_class in (v1.Session, gm.Session):
        with graph.as_default():
            session = session_class(graph=graph, config=config)
            errors.append(raised_by(lambda session=session: call(session, parts)))
            session.close()
    _assert_keeps_tensorflow_words(*errors, sentence)


def test_config_error_keeps_tensorflow_message(raised_by):
    tensorflow_error = raised_by(lambda: v1.Session(config=37))
    graphmode_error = raised_by(lambda: gm.Session(config=37))
    _assert_keeps_tensorflow_words(tensorflow_error, graphmode_error, r"config must be a tf.compat.v1.ConfigProto; got int")


@pytest.mark.parametrize(
    "case, expected",
    [
        ("int wrapped", "TensorFlow wraps 2**40 + 5 into int32 without a word"),
        ("resource variable fed by name", "TensorFlow's KeyError carries no words to keep"),
    ],
)
def test_deliberate_differences_have_no_tensorflow_words(graph, case, expected):
    """Where TensorFlow accepts the input, or refuses it with another class, graphmode's sentence stands alone."""
    if case == "int wrapped":
        counts = v1.placeholder(tf.int32, [None], name="counts")
        call = lambda s: s.run(counts, {counts: [2**40 + 5]})  # noqa: E731
        assert v1.Session(graph=graph).run(counts, {counts: [2**40 + 5]}).tolist() == [5], expected
    else:
        weights = v1.Variable(1.0, name="w")
        call = lambda s: s.run(weights, {"w:0": 2.0})  # noqa: E731
        with pytest.raises(KeyError):
            v1.Session(graph=graph).run(weights, {"w:0": 2.0})
    with gm.Session(graph=graph) as session, pytest.raises(errors.FeedError) as caught:
        call(session)
    assert caught.value.tensorflow_message is None and "\n" not in str(caught.value), expected

