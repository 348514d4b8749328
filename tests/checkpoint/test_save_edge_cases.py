"""Saving what TF1's ``Saver`` saves: partitioned and string variables, and the saves that must be refused."""

from __future__ import annotations

import os

import numpy as np
import pytest

import graphmode as gm
from graphmode import tf, v1
from graphmode.checkpoint.reader import entry_shapes, open_checkpoint


def _partitioned_graph():
    graph = gm.new_graph()
    with graph.as_default():
        weights = v1.get_variable("w", [5, 3], partitioner=v1.fixed_size_partitioner(2),
                                  initializer=v1.zeros_initializer())
        saver = v1.train.Saver()
    return graph, weights, saver


def _restore_with_tf1(graph, weights, saver, prefix) -> np.ndarray:
    with v1.Session(graph=graph) as session:
        saver.restore(session, prefix)
        return session.run(weights.as_tensor())


WHOLE = np.arange(15, dtype=np.float32).reshape(5, 3)


@pytest.mark.parametrize("given", ["whole", "parts"])
def test_partitioned_variable_is_written_as_tf1_saver_writes_it_and_restores(tmp_path, given):
    graph, weights, saver = _partitioned_graph()
    parts = [v.op.name for v in weights]  # w/part_0 (3 rows), w/part_1 (2 rows)
    values = {"w": WHOLE} if given == "whole" else {parts[0]: WHOLE[:3], parts[1]: WHOLE[3:]}
    prefix = gm.save_tf1_checkpoint(tmp_path / "ours" / "model", values, reference=graph)
    np.testing.assert_array_equal(_restore_with_tf1(graph, weights, saver, prefix), WHOLE)

    # TF1's own Saver, on the same graph, writes the same keys, shapes and dtypes.
    with v1.Session(graph=graph) as session:
        session.run([v.initializer for v in weights])
        theirs = saver.save(session, os.fspath(tmp_path / "theirs" / "model"))
    assert entry_shapes(open_checkpoint(prefix)[1]) == entry_shapes(open_checkpoint(theirs)[1]) == {
        "w": ((5, 3), "float32")}


def test_partitioned_variable_with_a_part_missing_is_refused(tmp_path):
    graph, weights, _ = _partitioned_graph()
    with pytest.raises(gm.errors.CheckpointMatchError, match=r"partitioned variable 'w': parts \['w/part_1'\] are not given"):
        gm.save_tf1_checkpoint(tmp_path / "model", {"w/part_0": WHOLE[:3]}, reference=graph)
    assert not os.listdir(tmp_path)


@pytest.mark.parametrize("value", [tf.Variable("hello"), np.array([b"a", b"bc\x00"]), np.array(["x", "yz"])],
                         ids=["variable", "bytes", "str"])
def test_string_values_save_and_load_back(tmp_path, value):
    prefix = gm.save_tf1_checkpoint(tmp_path / "model", {"s": value})
    expected = np.asarray(value.numpy() if isinstance(value, tf.Variable) else value)
    target = tf.Variable(np.full(expected.shape, b"", dtype=object), dtype=tf.string)
    gm.load_tf1_checkpoint(prefix, {"s": target})
    got = target.numpy()
    np.testing.assert_array_equal(got, np.char.encode(expected) if expected.dtype.kind == "U" else expected)


def test_tf1_checkpoint_with_a_string_variable_loads(tmp_path):
    graph = gm.new_graph()
    with graph.as_default():
        v1.Variable("a label", name="label")
        v1.Variable([1.5, 2.5], name="values")
        saver = v1.train.Saver()
        with v1.Session(graph=graph) as session:
            session.run(v1.global_variables_initializer())
            prefix = saver.save(session, os.fspath(tmp_path / "model"))
    label, values = tf.Variable(b""), tf.Variable([0.0, 0.0])
    gm.load_tf1_checkpoint(prefix, {"label": label, "values": values})
    assert label.numpy() == b"a label"
    np.testing.assert_array_equal(values.numpy(), [1.5, 2.5])


def test_nothing_to_save_says_so(tmp_path):
    with pytest.raises(gm.errors.CheckpointMatchError, match="no variables to save"):
        gm.save_tf1_checkpoint(tmp_path / "model", {})
    assert not os.listdir(tmp_path)


def test_a_prefix_naming_a_directory_is_refused_not_written_beside_it(tmp_path):
    with pytest.raises(gm.errors.CheckpointMatchError, match=r"names a directory; give a file name inside it, e\.g\. .*model\.ckpt"):
        gm.save_tf1_checkpoint(f"{tmp_path}/run/", {"a": np.zeros(2, np.float32)})
    assert not os.listdir(tmp_path)


def test_global_step_given_twice_with_different_values_is_refused(tmp_path):
    variables = {"a": np.zeros(2, np.float32), "global_step": np.int64(5)}
    with pytest.raises(gm.errors.CheckpointMatchError, match=r"two values for 'global_step': 5 in the variables and 7"):
        gm.save_tf1_checkpoint(tmp_path / "model", variables, global_step=7)
    prefix = gm.save_tf1_checkpoint(tmp_path / "model", variables, global_step=5)  # the same value twice is one
    assert int(tf.train.load_checkpoint(prefix).get_tensor("global_step")) == 5


def test_corrupt_data_message_names_only_the_checkpoints_own_files(tmp_path):
    prefix = gm.save_tf1_checkpoint(tmp_path / "model", {"a": np.arange(1000, dtype=np.float32)})
    data = f"{prefix}.data-00000-of-00001"
    with open(data, "rb") as source, open(data + ".bak", "wb") as backup:
        backup.write(source.read())
    with open(data, "r+b") as damaged:
        damaged.seek(100)
        damaged.write(b"\xff" * 64)
    with pytest.raises(gm.errors.CheckpointCorruptError) as caught:
        gm.load_tf1_checkpoint(prefix, {"a": tf.Variable(np.zeros(1000, np.float32))})
    assert repr(data) in str(caught.value)
    assert ".bak" not in str(caught.value)
