"""check_parity runs on the batches it is given, and says so when there are none or fewer than asked.

Also: a graph whose variables are TF1 reference variables is read honestly (its
recorded values are the caller's own arrays, not views of the variables that
the next step overwrites), so a correct port passes the free run.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import graphmode as gm
from graphmode import tf, v1

RATE = 0.1


def _batches(steps: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(steps, 8, 3)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]], np.float32) + 0.3).astype(np.float32)
    return list(zip(x, y))


def _graph_side(use_resource: bool):
    def build() -> gm.GraphModel:
        graph = gm.new_graph()
        with graph.as_default():
            x = v1.placeholder(tf.float32, [None, 3], name="x")
            y = v1.placeholder(tf.float32, [None, 1], name="y")
            w = v1.get_variable("w", [3, 1], use_resource=use_resource)
            b = v1.get_variable("b", [1], initializer=v1.zeros_initializer(), use_resource=use_resource)
            loss = tf.reduce_mean(tf.square(tf.matmul(x, w) + b - y))
            train_op = v1.train.GradientDescentOptimizer(RATE).minimize(loss)
        return gm.GraphModel(graph, (x, y), loss, train_op, {"w": w, "b": b})

    return build


def _eager_side() -> gm.EagerModel:
    w = tf.Variable(tf.keras.initializers.GlorotUniform()([3, 1]))  # get_variable's default; the run starts from the graph's
    b = tf.Variable(tf.zeros([1]))
    optimizer = tf.keras.optimizers.SGD(RATE)

    def train_step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(tf.matmul(x, w) + b - y))
        optimizer.apply_gradients(zip(tape.gradient(loss, [w, b]), [w, b]))
        return loss

    return gm.EagerModel({"w": w, "b": b}, train_step)


@pytest.mark.parametrize("use_resource", [False, True], ids=["reference variables", "resource variables"])
def test_a_correct_port_passes_the_free_run(use_resource):
    report = gm.check_parity(_graph_side(use_resource), _eager_side, _batches(6), verdict="free")
    assert report.ok, str(report)
    losses = report.reference.losses
    assert losses.shape == (6,) and len(set(losses.tolist())) == 6  # six different steps were recorded
    weights = report.reference.variables["w"]
    assert not np.array_equal(weights[0], weights[-1])


def test_no_batches_is_an_error():
    with pytest.raises(gm.errors.ConfigError, match="got 0 batches"):
        gm.check_parity(_graph_side(True), _eager_side, [])


def test_an_exhausted_iterator_is_an_error():
    batches = iter(_batches(3))
    list(batches)
    with pytest.raises(gm.errors.ConfigError, match=r"got 0 batches.*exhausted"):
        gm.check_parity(_graph_side(True), _eager_side, batches)


def test_fewer_batches_than_steps_is_an_error_saying_how_many():
    with pytest.raises(gm.errors.ConfigError, match="asked for 5 steps, but the batches gave 3"):
        gm.check_parity(_graph_side(True), _eager_side, iter(_batches(3)), steps=5)


def test_steps_takes_that_many_batches_from_an_endless_iterator():
    report = gm.check_parity(_graph_side(True), _eager_side, itertools.cycle(_batches(2)), steps=4)
    assert report.ok and report.steps == 4


@pytest.mark.parametrize("steps", [0, -1, 2.5, True])
def test_steps_must_be_a_positive_int(steps):
    with pytest.raises(gm.errors.ConfigError, match="steps must be an int >= 1"):
        gm.check_parity(_graph_side(True), _eager_side, _batches(2), steps=steps)


def test_a_problem_with_no_batches_is_an_error():
    problem = gm.ParityProblem("empty", _graph_side(True), _eager_side, [])
    with pytest.raises(gm.errors.ConfigError, match="got 0 batches"):
        problem.check()
