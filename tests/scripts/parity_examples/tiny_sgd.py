"""A one-weight regression trained by SGD, in TF1 graph form and TF2 eager form.

Stands in for a bundled example in the ``graphmode parity`` tests: same contract,
``parity_problem(steps, seed) -> graphmode.ParityProblem``.
"""

from __future__ import annotations

import numpy as np

import graphmode as gm
from graphmode import tf, v1


def make_batches(steps: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(steps, 4, 1)).astype(np.float32)
    return [(batch, 3.0 * batch + 1.0) for batch in x]


def build_graph() -> gm.GraphModel:
    graph = gm.new_graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, 1], name="x")
        y = v1.placeholder(tf.float32, [None, 1], name="y")
        w = v1.get_variable("w", [1, 1])
        b = v1.get_variable("b", [1], initializer=v1.zeros_initializer())
        loss = tf.reduce_mean(tf.square(tf.matmul(x, w) + b - y))
        train_op = v1.train.GradientDescentOptimizer(0.05).minimize(loss)
    return gm.GraphModel(graph, (x, y), loss, train_op, {"w": w, "b": b})


def build_eager(reduce=tf.reduce_mean) -> gm.EagerModel:
    w = tf.Variable(tf.zeros([1, 1]))
    b = tf.Variable(tf.zeros([1]))
    optimizer = tf.keras.optimizers.SGD(0.05)

    def train_step(x, y):
        with tf.GradientTape() as tape:
            loss = reduce(tf.square(tf.matmul(x, w) + b - y))
        optimizer.apply_gradients(zip(tape.gradient(loss, [w, b]), [w, b]))
        return loss

    return gm.EagerModel({"w": w, "b": b}, train_step)


def parity_problem(steps: int = 5, seed: int = 0) -> gm.ParityProblem:
    return gm.ParityProblem("tiny_sgd", build_graph, build_eager, make_batches(steps, seed))
