"""One whole-model pairing for checkpoints and parity: counters shifted, model prefixes, layers made out of call order.

Each checkpoint case runs one input through the TF1 graph that saved and the
eager model that loaded (or the graph that restored what the eager model saved)
and compares outputs: a cross-pairing of equal shapes would pass every name and
shape check and only show there.
"""

from __future__ import annotations

import numpy as np
import pytest

import graphmode as gm
from graphmode import tf, v1
from graphmode._pairing import Ambiguity, Pair, pair_variables
from graphmode.checkpoint.names import pair_names

RNG = np.random.RandomState(3)
X2 = RNG.rand(5, 2).astype(np.float32)
X4 = RNG.rand(5, 4).astype(np.float32)


def _tf1_mlp(sizes, scopes=None):
    """A TF1 MLP built in call order (scopes ``dense``, ``dense_1``, ... as tf.layers names them)."""
    rng = np.random.RandomState(sum(sizes))
    scopes = scopes or ["dense" if i == 0 else f"dense_{i}" for i in range(len(sizes) - 1)]
    graph = gm.new_graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, sizes[0]], name="x")
        h = x
        for i, (scope, fan_in, fan_out) in enumerate(zip(scopes, sizes, sizes[1:])):
            with v1.variable_scope(scope):
                kernel = v1.get_variable("kernel", initializer=rng.randn(fan_in, fan_out).astype(np.float32))
                bias = v1.get_variable("bias", initializer=rng.randn(fan_out).astype(np.float32))
            h = tf.matmul(h, kernel) + bias
            h = tf.nn.relu(h) if i < len(sizes) - 2 else h
        saver = v1.train.Saver()
    return graph, x, h, saver


def _save_tf1(tmp_path, sizes, x_value):
    graph, x, y, saver = _tf1_mlp(sizes)
    with gm.Session(graph=graph) as session:
        session.run(v1.global_variables_initializer())
        return saver.save(session, str(tmp_path / "model.ckpt")), session.run(y, {x: x_value})


class _OutOfOrder(tf.keras.Model):
    """Creates its output layer before its hidden layer but calls hidden first."""

    def __init__(self, hidden: int, out: int):
        super().__init__(name="net")
        self.out = tf.keras.layers.Dense(out)
        self.hidden = tf.keras.layers.Dense(hidden, activation="relu")

    def call(self, x):
        return self.out(self.hidden(x))


class _InOrder(_OutOfOrder):
    def __init__(self, hidden: int, out: int):
        tf.keras.Model.__init__(self, name="net")
        self.hidden = tf.keras.layers.Dense(hidden, activation="relu")
        self.out = tf.keras.layers.Dense(out)


# --- checkpoints: outputs after load ------------------------------------------------------------


def test_shifted_keras_counters_pair_in_order_and_the_outputs_match(tmp_path):
    # TF1 has dense, dense_1; the eager model's layers are dense_1, dense_2 because
    # another Dense existed in the process. Equal shapes: only the order can tell.
    path, expected = _save_tf1(tmp_path, (4, 4, 4), X4)
    model = tf.keras.Sequential([tf.keras.layers.Dense(4, activation="relu", input_shape=(4,), name="dense_1"),
                                 tf.keras.layers.Dense(4, name="dense_2")])
    report = gm.load_tf1_checkpoint(path, model)
    assert {(p.eager, p.tf1) for p in report.pairs} == {
        ("dense_1/kernel", "dense/kernel"), ("dense_1/bias", "dense/bias"),
        ("dense_2/kernel", "dense_1/kernel"), ("dense_2/bias", "dense_1/bias")}
    assert {p.rule for p in report.pairs} == {"order"}
    np.testing.assert_allclose(model(X4).numpy(), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("model_class, rule", [(_InOrder, "suffix"), (_OutOfOrder, "shape")])
def test_subclassed_model_prefixes_and_creation_order(tmp_path, model_class, rule):
    path, expected = _save_tf1(tmp_path, (2, 4, 1), X2)
    model = model_class(4, 1)
    model(X2)
    assert all(v.name.startswith("net") for v in model.weights)
    report = gm.load_tf1_checkpoint(path, model)
    assert {p.rule for p in report.pairs} == {rule}
    np.testing.assert_allclose(model(X2).numpy(), expected, rtol=1e-6, atol=1e-6)


def test_equal_shapes_in_disagreeing_orders_are_refused_and_name_map_settles_them(tmp_path):
    path, expected = _save_tf1(tmp_path, (4, 4, 4), X4)
    model = tf.keras.Sequential([tf.keras.layers.Dense(4, activation="relu", input_shape=(4,)),
                                 tf.keras.layers.Dense(4)])
    first, second = model.layers
    # Listed second layer first, named so the counters say the opposite of the list.
    variables = {"dense_1/kernel": second.kernel, "dense_1/bias": second.bias,
                 "dense/kernel": first.kernel, "dense/bias": first.bias}
    before = [v.numpy() for v in model.weights]
    with pytest.raises(gm.errors.CheckpointMatchError) as raised:
        gm.load_tf1_checkpoint(path, variables)
    message = str(raised.value)
    assert ("ambiguous: variables ['dense_1/kernel', 'dense_1/bias', 'dense/kernel', 'dense/bias'] and checkpoint "
            "variables ['dense/bias', 'dense/kernel', 'dense_1/bias', 'dense_1/kernel']: the order of appearance pairs "
            "dense_1~dense, dense~dense_1 but the name counters pair dense~dense, dense_1~dense_1, and the shapes fit "
            "more than one assignment; give name_map") in message
    assert all(np.array_equal(a, v.numpy()) for a, v in zip(before, model.weights)), "a refused load changed a value"
    report = gm.load_tf1_checkpoint(path, variables, {name: name for name in variables})
    assert {p.rule for p in report.pairs} == {"explicit"}
    np.testing.assert_allclose(model(X4).numpy(), expected, rtol=1e-6, atol=1e-6)


def test_save_with_shifted_counters_restores_in_an_unmodified_tf1_graph(tmp_path):
    model = tf.keras.Sequential([tf.keras.layers.Dense(4, activation="relu", input_shape=(4,), name="dense_1"),
                                 tf.keras.layers.Dense(4, name="dense_2")])
    graph, x, y, saver = _tf1_mlp((4, 4, 4))
    path = gm.save_tf1_checkpoint(tmp_path / "eager.ckpt", model, reference=graph)
    with gm.Session(graph=graph) as session:
        saver.restore(session, path)
        restored = session.run(y, {x: X4})
    np.testing.assert_allclose(restored, model(X4).numpy(), rtol=1e-6, atol=1e-6)


# --- the pairing itself ---------------------------------------------------------------------------


def test_a_layer_pairs_as_a_whole_even_when_only_its_kernel_shape_tells():
    # Kernels differ in shape, biases do not: a per-variable pairing would send
    # the biases by order and the kernels by shape, splitting the layers.
    pairing = pair_variables({"dense/kernel": (2, 4), "dense/bias": (4,), "dense_1/kernel": (4, 4),
                              "dense_1/bias": (4,)},
                             {"net/dense/kernel": (4, 4), "net/dense/bias": (4,), "net/dense_1/kernel": (2, 4),
                              "net/dense_1/bias": (4,)})
    assert pairing.as_dict() == {"dense/kernel": "net/dense_1/kernel", "dense/bias": "net/dense_1/bias",
                                 "dense_1/kernel": "net/dense/kernel", "dense_1/bias": "net/dense/bias"}
    assert {p.rule for p in pairing.pairs} == {"shape"} and pairing.ambiguities == ()


def test_pair_variables_reports_unpaired_and_ambiguous_names():
    reference = {"dense/kernel:0": (4, 4), "dense_1/kernel:0": (4, 4), "scale:0": ()}
    pairing = pair_variables(reference, {"dense_5/kernel:0": (4, 4), "offset:0": ()})
    assert pairing.pairs == ()
    assert pairing.reference_unpaired == ("dense/kernel:0", "dense_1/kernel:0", "scale:0")
    assert pairing.candidate_unpaired == ("dense_5/kernel:0", "offset:0")
    assert pairing.ambiguities == (Ambiguity(("dense/kernel", "dense_1/kernel"), ("dense_5/kernel",),
                                             "2 against 1 of one form, and the shapes fit more than one assignment"),)
    # The same with shapes that single one out is no longer a guess.
    pairing = pair_variables({"dense/kernel": (2, 4), "dense_1/kernel": (4, 4)}, {"dense_5/kernel": (4, 4)})
    assert pairing.as_dict() == {"dense_1/kernel": "dense_5/kernel"}


def test_name_map_fixes_some_pairs_and_the_rest_are_inferred():
    pairing = pair_variables(["w", "dense/kernel", "dense_1/kernel"], ["weights", "dense_4/kernel", "dense_5/kernel"],
                             {"w": "weights"})
    assert pairing.pairs[0] == Pair("w", "weights", "explicit")
    assert pairing.as_dict() == {"w": "weights", "dense/kernel": "dense_4/kernel", "dense_1/kernel": "dense_5/kernel"}
    with pytest.raises(gm.errors.ConfigError, match="name_map value 'nope' \\(for 'w'\\) is not a candidate variable"):
        pair_variables(["w"], ["weights"], {"w": "nope"})


def test_match_variable_names_keeps_its_signature_and_leaves_ambiguity_out():
    assert gm._pairing.match_variable_names(["dense/kernel", "dense_1/kernel"], ["dense_1/kernel", "dense_2/kernel"]) == {
        "dense/kernel": "dense_1/kernel", "dense_1/kernel": "dense_2/kernel"}
    # The candidates appear in the opposite order of their counters and no shape can tell.
    assert gm._pairing.match_variable_names(["dense/kernel", "dense_1/kernel"], ["net/dense_1/kernel", "net/dense/kernel"]) == {}
    assert gm._pairing.match_variable_names(["a"], ["b"], {"a": "b"}) == {"a": "b"}


def test_checkpoint_pairing_by_suffix_is_unique_both_ways_or_ambiguous():
    pairs, problems = pair_names(["kernel"], ["a/kernel", "b/kernel"])
    assert pairs == {} and problems == [
        "ambiguous: variables ['kernel'] and checkpoint variables ['a/kernel', 'b/kernel']: 'kernel' ends like each "
        "of them; give name_map"]
    pairs, problems = pair_names(["model/dense/kernel", "model/dense/bias"], ["dense/weights", "dense/biases"])
    assert problems == [] and [(p.tf1, p.rule) for p in pairs.values()] == [("dense/weights", "suffix"),
                                                                             ("dense/biases", "suffix")]
