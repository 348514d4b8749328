"""Halfway hand-over: a graph model trains half its steps, saves, its eager version loads and finishes.

The result must match training the whole way in graph mode. The models are the
two tutorials of examples/: X*A = 10 (plain gradient descent, one sample per
step) and the two-layer sigmoid classifier (Adam, batches of 8), defined here in
a few lines each so these tests stand on their own.
"""

from __future__ import annotations

import numpy as np
import pytest

import graphmode as gm
from graphmode import tf, v1


def _train_graph(build, batches, save_to=None):
    """Trains a graph model over ``batches``, then saves to ``save_to`` if given. Returns (losses, weights)."""
    graph = gm.new_graph()
    with graph.as_default():
        placeholders, variables, loss, train = build()
        saver = v1.train.Saver()
    losses = []
    with gm.Session(graph=graph) as session:
        session.run(v1.global_variables_initializer())
        for batch in batches:
            value, _ = session.run([loss, train], dict(zip(placeholders, batch)))
            losses.append(float(np.sum(value)))
        if save_to:
            saver.save(session, save_to)
        return losses, session.run(variables)


def _train_eager(loss_fn, variables, optimizer, batches):
    losses = []
    for batch in batches:
        with tf.GradientTape() as tape:
            loss = loss_fn(*batch)
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        losses.append(float(np.sum(loss.numpy())))
    return losses, [v.numpy() for v in variables]


# --- X * A = 10 -------------------------------------------------------------------------------

REGRESS_RNG = np.random.RandomState(42)
REGRESS_X = REGRESS_RNG.normal(1, 0.1, 100).astype(np.float32)
REGRESS_Y = np.full(100, 10.0, np.float32)
REGRESS_A0 = REGRESS_RNG.normal(0, 1, 1).astype(np.float32)
REGRESS_BATCHES = [([REGRESS_X[i]], [REGRESS_Y[i]]) for i in REGRESS_RNG.choice(100, 100)]


def _regress_graph():
    x_data = v1.placeholder(tf.float32, [1], name="x_data")
    y_target = v1.placeholder(tf.float32, [1], name="y_target")
    a = tf.Variable(REGRESS_A0)
    loss = tf.square(x_data * a - y_target)
    return (x_data, y_target), [a], loss, v1.train.GradientDescentOptimizer(0.02).minimize(loss)


def test_regress_a_halfway_in_graph_finished_eagerly_matches_graph_throughout(tmp_path):
    full_losses, (full_a,) = _train_graph(_regress_graph, REGRESS_BATCHES)
    path = str(tmp_path / "regress.ckpt")
    _train_graph(_regress_graph, REGRESS_BATCHES[:50], save_to=path)
    a = tf.Variable(np.zeros(1, np.float32))
    gm.load_tf1_checkpoint(path, [a])
    losses, (eager_a,) = _train_eager(lambda x, y: tf.square(x * a - y), [a], tf.keras.optimizers.SGD(0.02),
                                      [(np.float32(x), np.float32(y)) for x, y in REGRESS_BATCHES[50:]])
    assert 9.0 < full_a[0] < 11.0, f"graph training did not converge: A = {full_a[0]}"
    np.testing.assert_allclose(losses, full_losses[50:], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(eager_a, full_a, rtol=1e-6)


# --- sigmoid classifier ------------------------------------------------------------------------

CLASSIFIER_RNG = np.random.RandomState(1)
CLASSIFIER_X = CLASSIFIER_RNG.rand(128, 2).astype(np.float32)
CLASSIFIER_Y = (CLASSIFIER_X.sum(axis=1, keepdims=True) < 1).astype(np.float32)
W1_0 = np.random.RandomState(1).randn(2, 3).astype(np.float32)
W2_0 = np.random.RandomState(2).randn(3, 1).astype(np.float32)
CLASSIFIER_BATCHES = [(CLASSIFIER_X[s:s + 8], CLASSIFIER_Y[s:s + 8]) for s in (i * 8 % 128 for i in range(200))]


def _cross_entropy(x, labels, w1, w2):
    y = tf.sigmoid(tf.matmul(tf.matmul(x, w1), w2))
    return -tf.reduce_mean(labels * tf.math.log(tf.clip_by_value(y, 1e-10, 1.0))
                           + (1 - labels) * tf.math.log(tf.clip_by_value(1 - y, 1e-10, 1.0)))


def _classifier_graph(tf1_optimizer):
    def build():
        x = v1.placeholder(tf.float32, [None, 2], name="x-input")
        labels = v1.placeholder(tf.float32, [None, 1], name="y-input")
        w1, w2 = tf.Variable(W1_0), tf.Variable(W2_0)
        loss = _cross_entropy(x, labels, w1, w2)
        return (x, labels), [w1, w2], loss, tf1_optimizer().minimize(loss, global_step=v1.train.get_or_create_global_step())
    return build


OPTIMIZERS = {
    # TF1 optimizer, its Keras counterpart (arguments as graphmode's optimizer map gives them), steps
    "adam": (lambda: v1.train.AdamOptimizer(0.001), lambda: tf.keras.optimizers.Adam(0.001, epsilon=1e-8), 200),
    "momentum": (lambda: v1.train.MomentumOptimizer(0.05, 0.9),
                 lambda: tf.keras.optimizers.SGD(0.05, momentum=0.9), 40),
    "tf1-momentum": (lambda: v1.train.MomentumOptimizer(0.05, 0.9, use_nesterov=True),
                     lambda: gm.train.TF1Momentum(0.05, momentum=0.9, nesterov=True), 40),
    "adagrad": (lambda: v1.train.AdagradOptimizer(0.1), lambda: tf.keras.optimizers.Adagrad(0.1, epsilon=0.0), 40),
    "rmsprop-centered": (lambda: v1.train.RMSPropOptimizer(0.01, momentum=0.5, centered=True),
                         lambda: gm.train.TF1RMSprop(0.01, momentum=0.5, centered=True), 40),
    "rmsprop": (lambda: v1.train.RMSPropOptimizer(0.01),
                lambda: tf.keras.optimizers.RMSprop(0.01, rho=0.9, epsilon=1e-10), 40),
}


def _hand_over(tmp_path, name, carry_slots=True):
    tf1_optimizer, keras_optimizer, steps = OPTIMIZERS[name]
    batches, half = CLASSIFIER_BATCHES[:steps], steps // 2
    build = _classifier_graph(tf1_optimizer)
    full_losses, full_weights = _train_graph(build, batches)
    path = str(tmp_path / f"{name}.ckpt")
    _train_graph(build, batches[:half], save_to=path)
    w1, w2 = tf.Variable(np.zeros((2, 3), np.float32)), tf.Variable(np.zeros((3, 1), np.float32))
    optimizer = keras_optimizer()
    report = gm.load_tf1_checkpoint(path, [w1, w2], optimizer=optimizer if carry_slots else None, strict=True)
    if carry_slots:
        assert report.iterations == half
    losses, weights = _train_eager(lambda x, y: _cross_entropy(x, y, w1, w2), [w1, w2], optimizer, batches[half:])
    return (full_losses[half:], full_weights), (losses, weights)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_classifier_halfway_with_optimizer_slots_matches_graph_training(tmp_path, name):
    (graph_losses, graph_weights), (eager_losses, eager_weights) = _hand_over(tmp_path, name)
    np.testing.assert_allclose(eager_losses, graph_losses, rtol=1e-5, atol=1e-6)
    for eager, graph in zip(eager_weights, graph_weights):
        np.testing.assert_allclose(eager, graph, rtol=1e-5, atol=1e-6)


def test_without_the_adam_slots_the_hand_over_does_not_match(tmp_path):
    # The contrast that shows the slots carry the state: a fresh Adam restarts
    # its moments and bias correction, and the weights come out elsewhere.
    (_, graph_weights), (_, eager_weights) = _hand_over(tmp_path, "adam", carry_slots=False)
    assert max(np.max(np.abs(e - g)) for e, g in zip(eager_weights, graph_weights)) > 1e-4
