"""String tensors through the cached and callable paths: TensorFlow hands scalar strings back as ``bytes``."""

from __future__ import annotations

import numpy as np

import graphmode as gm
from graphmode import tf, v1


def _fetch_sequence(session_class) -> list:
    graph = gm.new_graph()
    with graph.as_default():
        name = v1.placeholder(tf.string, [], name="name")
        greeting = tf.strings.join(["hello ", name])
        words = tf.constant([b"a", b"bc"])
    with session_class(graph=graph) as session:
        values = [session.run(greeting, {name: f"n{i}"}) for i in range(3)]  # the second run is a cached callable
        values += [session.run(words) for _ in range(3)]
        call = session.make_callable(greeting, feed_list=[name])
        values += [call("x"), call("y")]
    return values


def test_string_fetches_match_tensorflow_on_every_path():
    ours, theirs = _fetch_sequence(gm.Session), _fetch_sequence(v1.Session)
    assert [type(value) for value in ours] == [type(value) for value in theirs]
    for mine, reference in zip(ours, theirs):
        np.testing.assert_array_equal(mine, reference)
    assert ours[0] == b"hello n0" and ours[2] == b"hello n2"
