"""Correct ports (and deliberately mistaken ones) for the parity tests: TF1 graph original, Keras rewrite.

Each ``*_problem(steps, seed, **mistake)`` returns a :class:`graphmode.ParityProblem`;
with no keyword the rewrite is a faithful port, each keyword plants one
migration mistake in the eager side only.
"""

from __future__ import annotations

import numpy as np

import graphmode as gm
from graphmode import tf, v1

FEATURES, CLASSES, BATCH = 12, 4, 32


def classification_batches(steps: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Gaussian inputs labelled by a random linear teacher, a fresh seeded draw per step."""
    rng = np.random.RandomState(seed)
    teacher = rng.normal(size=(FEATURES, CLASSES))
    batches = []
    for _ in range(steps):
        x = rng.normal(size=(BATCH, FEATURES)).astype(np.float32)
        batches.append((x, np.argmax(x @ teacher, axis=1).astype(np.int32)))
    return batches


def _cross_entropy(labels, logits):
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))


# --- an Adam MLP with ReLU: v1.layers.dense vs Keras Dense ---------------------------------------

def adam_mlp_graph(seed: int, *, l2: float = 0.0, clip_global: float | None = None,
                   kernel_initializer: object = None) -> gm.GraphModel:
    graph = gm.new_graph(seed)
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, FEATURES], name="x")
        y = v1.placeholder(tf.int32, [None], name="y")
        hidden = v1.layers.dense(x, 32, activation=tf.nn.relu, kernel_initializer=kernel_initializer)
        hidden = v1.layers.dense(hidden, 16, activation=tf.nn.relu)
        logits = v1.layers.dense(hidden, CLASSES)
        loss = _cross_entropy(y, logits)
        weights = v1.trainable_variables()
        if l2:
            loss += l2 * tf.add_n([tf.nn.l2_loss(w) for w in weights if "kernel" in w.name])
        optimizer = v1.train.AdamOptimizer(1e-3)
        if clip_global is None:
            train_op = optimizer.minimize(loss)
        else:
            grads, variables = zip(*optimizer.compute_gradients(loss))
            grads, _ = tf.clip_by_global_norm(grads, clip_global)
            train_op = optimizer.apply_gradients(zip(grads, variables))
    return gm.GraphModel(graph, (x, y), loss, train_op, weights)


def adam_mlp_eager(*, l2: float = 0.0, epsilon: float = 1e-8, beta_2: float = 0.999, clip: dict | None = None,
                   dtype: str = "float32", kernel_initializer: object = "glorot_uniform",
                   sgd: bool = False) -> gm.EagerModel:
    tf.keras.backend.set_floatx(dtype)
    try:
        model = tf.keras.Sequential([
            tf.keras.layers.Dense(32, activation="relu", kernel_initializer=kernel_initializer),
            tf.keras.layers.Dense(16, activation="relu"),
            tf.keras.layers.Dense(CLASSES),
        ])
        model.build([None, FEATURES])
    finally:
        tf.keras.backend.set_floatx("float32")
    optimizer = tf.keras.optimizers.Adam(1e-3, beta_2=beta_2, epsilon=epsilon, **(clip or {}))
    if sgd:
        optimizer = tf.keras.optimizers.SGD(1e-3, momentum=0.9)

    def train_step(x, y):
        with tf.GradientTape() as tape:
            loss = _cross_entropy(y, model(tf.cast(x, dtype)))
            if l2:
                loss += l2 * tf.add_n([tf.nn.l2_loss(w) for w in model.trainable_variables if "kernel" in w.name])
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    return gm.EagerModel(model.trainable_variables, train_step)


def adam_mlp_problem(steps: int = 300, seed: int = 0, *, graph: dict | None = None, **eager) -> gm.ParityProblem:
    """The faithful port, or ``eager`` options (``epsilon=1e-7``, ``beta_2=0.99``, ...) as mistakes."""
    return gm.ParityProblem("adam_mlp", lambda: adam_mlp_graph(seed, **(graph or {})), lambda: adam_mlp_eager(**eager),
                            classification_batches(steps, seed))


# --- batch normalization: v1.layers.batch_normalization vs Keras BatchNormalization --------------

def batch_norm_graph(seed: int, *, decay: float = 0.999, list_state: bool = False) -> gm.GraphModel:
    graph = gm.new_graph(seed)
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, FEATURES], name="x")
        y = v1.placeholder(tf.int32, [None], name="y")
        hidden = v1.layers.dense(x, 24, use_bias=False)
        hidden = tf.nn.relu(v1.layers.batch_normalization(hidden, training=True, momentum=decay))
        loss = _cross_entropy(y, v1.layers.dense(hidden, CLASSES))
        with tf.control_dependencies(v1.get_collection(v1.GraphKeys.UPDATE_OPS)):
            train_op = v1.train.MomentumOptimizer(0.05, 0.9).minimize(loss)
        # Trainable variables only, as most TF1 code lists them: the moving averages are unlisted state.
        listed = v1.global_variables() if list_state else v1.trainable_variables()
        listed = [v for v in listed if "Momentum" not in v.name]
    return gm.GraphModel(graph, (x, y), loss, train_op, listed)


def batch_norm_eager(*, momentum: float = 0.999, list_state: bool = True, nesterov: bool = False) -> gm.EagerModel:
    model = tf.keras.Sequential([
        tf.keras.layers.Dense(24, use_bias=False),
        tf.keras.layers.BatchNormalization(momentum=momentum),
        tf.keras.layers.ReLU(),
        tf.keras.layers.Dense(CLASSES),
    ])
    model.build([None, FEATURES])
    optimizer = tf.keras.optimizers.SGD(0.05, momentum=0.9, nesterov=nesterov)

    def train_step(x, y):
        with tf.GradientTape() as tape:
            loss = _cross_entropy(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    return gm.EagerModel(model.variables if list_state else model.trainable_variables, train_step)


def batch_norm_problem(steps: int = 300, seed: int = 0, *, graph: dict | None = None, **eager) -> gm.ParityProblem:
    """The faithful port (TF1 decay 0.999 as Keras momentum 0.999), or ``eager`` options as mistakes."""
    return gm.ParityProblem("batch_norm", lambda: batch_norm_graph(seed, **(graph or {})),
                            lambda: batch_norm_eager(**eager), classification_batches(steps, seed))
