"""Graphs, variables, initializers and collections."""

from __future__ import annotations

import numpy as np
import pytest

import graphmode as gm
from graphmode import tf, v1


def test_two_graphs_hold_their_own_variable_v():
    first, second = gm.new_graph(), gm.new_graph()
    with first.as_default():
        v_first = v1.get_variable("v", [2], initializer=v1.constant_initializer(1.0))
        init_first = v1.global_variables_initializer()
    with second.as_default():
        v_second = v1.get_variable("v", [2], initializer=v1.constant_initializer(7.0))
        init_second = v1.global_variables_initializer()
    assert v_first.name == v_second.name == "v:0"
    with gm.Session(graph=first) as one, gm.Session(graph=second) as two:
        one.run(init_first)
        two.run(init_second)
        np.testing.assert_array_equal(one.run(v_first), [1.0, 1.0])
        np.testing.assert_array_equal(two.run("v:0"), [7.0, 7.0])


def test_new_graph_seed_makes_random_ops_repeatable():
    values = []
    for _ in range(2):
        graph = gm.new_graph(seed=42)
        with graph.as_default():
            draw = v1.random_normal([4])
        with gm.Session(graph=graph) as session:
            values.append(session.run(draw))
    np.testing.assert_array_equal(values[0], values[1])


def _draw(kind: str, shape, **params) -> np.ndarray:
    graph = gm.new_graph()
    with graph.as_default():
        variable = tf.Variable(gm.session.initial_value(kind, shape, seed=3, **params), name=kind)
        init = v1.global_variables_initializer()
    with gm.Session(graph=graph) as session:
        session.run(init)
        return session.run(variable)


def test_deterministic_initial_values():
    np.testing.assert_array_equal(_draw("zeros", [2, 3]), np.zeros((2, 3)))
    np.testing.assert_array_equal(_draw("ones", [3]), np.ones(3))
    np.testing.assert_array_equal(_draw("fill", [2, 2], value=2.5), np.full((2, 2), 2.5))
    np.testing.assert_array_equal(_draw("constant", [3], value=-1.0), [-1.0, -1.0, -1.0])


def test_random_initial_values_have_their_distributions():
    n = 20000
    # Standard error of a mean of n draws with stddev s is s/sqrt(n) (~0.007 s here);
    # 0.05 leaves a wide margin while still catching a wrong mean or scale.
    normal = _draw("random_normal", [n], mean=3.0, stddev=2.0)
    assert abs(normal.mean() - 3.0) < 0.05 and abs(normal.std() - 2.0) < 0.05
    truncated = _draw("truncated_normal", [n], stddev=0.1)
    assert np.all(np.abs(truncated) <= 0.2)  # truncated at two standard deviations
    uniform = _draw("random_uniform", [n], minval=-1.0, maxval=3.0)
    assert uniform.min() >= -1.0 and uniform.max() < 3.0 and abs(uniform.mean() - 1.0) < 0.05
    gamma = _draw("random_gamma", [n], alpha=4.0)
    assert gamma.min() > 0 and abs(gamma.mean() - 4.0) < 0.1  # Gamma(4, 1): mean 4, stddev 2


def test_initial_value_rejects_unknown_kind_and_parameters(graph):
    with pytest.raises(gm.errors.ConfigError, match="unknown initial value kind 'xavier'"):
        gm.session.initial_value("xavier", [2])
    with pytest.raises(gm.errors.ConfigError, match="'zeros' does not take \\['stddev'\\]"):
        gm.session.initial_value("zeros", [2], stddev=1.0)


def test_get_variable_initializers(session):
    initializers = {
        "zeros": v1.zeros_initializer(),
        "ones": v1.ones_initializer(),
        "normal": v1.random_normal_initializer(seed=1),
        "truncated": v1.truncated_normal_initializer(stddev=0.5, seed=1),
        "uniform": v1.random_uniform_initializer(-1, 1, seed=1),
        "constant": v1.constant_initializer([1.0, 2.0, 3.0]),
    }
    variables = {name: v1.get_variable(name, [3], initializer=init) for name, init in initializers.items()}
    session.run(v1.initialize_all_variables())
    values = session.run(variables)
    np.testing.assert_array_equal(values["zeros"], np.zeros(3))
    np.testing.assert_array_equal(values["ones"], np.ones(3))
    np.testing.assert_array_equal(values["constant"], [1.0, 2.0, 3.0])
    assert np.all(np.abs(values["truncated"]) <= 1.0)
    assert np.all(np.abs(values["uniform"]) <= 1.0)
    assert session.uninitialized_variables() == []


def test_variable_scope_reuse(graph):
    with v1.variable_scope("layer"):
        weights = v1.get_variable("w", [2, 2])
    with v1.variable_scope("layer", reuse=True):
        again = v1.get_variable("w", [2, 2])
    assert again is weights and weights.name == "layer/w:0"
    with v1.variable_scope("layer", reuse=v1.AUTO_REUSE):
        assert v1.get_variable("w", [2, 2]) is weights
    with pytest.raises(ValueError, match="layer/w already exists"):
        with v1.variable_scope("layer"):
            v1.get_variable("w", [2, 2])
    with pytest.raises(ValueError, match="does not exist"):
        with v1.variable_scope("other", reuse=True):
            v1.get_variable("w", [2, 2])


def test_standard_and_custom_collections(graph):
    weights = tf.Variable(tf.zeros([2]), name="weights")
    step = tf.Variable(0, trainable=False, name="step")
    v1.summary.scalar("weights_sum", tf.reduce_sum(weights))
    queue = v1.FIFOQueue(4, tf.float32)
    v1.train.add_queue_runner(v1.train.QueueRunner(queue, [queue.enqueue([1.0])]))
    v1.train.ExponentialMovingAverage(0.9).apply([weights])
    v1.add_to_collection("my_losses", tf.reduce_sum(weights))
    v1.add_to_collection("my_losses", tf.reduce_mean(weights))

    sizes = {summary.name: summary.size for summary in gm.session.list_collections(graph)}
    keys = gm.session.STANDARD_COLLECTIONS
    assert sizes[keys["trainable_variables"]] == 1
    assert sizes[keys["global_variables"]] == 3  # weights, step, the moving average
    assert sizes[keys["moving_average_variables"]] == 1
    assert sizes[keys["summaries"]] == 1
    assert sizes[keys["queue_runners"]] == 1
    assert sizes["my_losses"] == 2
    assert step not in v1.trainable_variables()
    assert v1.get_collection("my_losses")[0].name == "Sum_1:0"
    table = gm.session.format_collections(graph)
    assert "my_losses" in table and "trainable_variables" in table


def test_format_collections_of_an_empty_graph():
    assert gm.session.format_collections(gm.new_graph()) == "(no collections)"
