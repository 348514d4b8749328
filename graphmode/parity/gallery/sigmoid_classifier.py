"""The classic TF1 two-layer sigmoid classifier, in TF1 graph mode and TF2 eager mode side by side.

128 points in the unit square, label 1 when x1 + x2 < 1; y = sigmoid(x @ w1 @ w2)
with w1 [2, 3] and w2 [3, 1] drawn from Normal(0, 1) with seed 1 and no biases;
mean binary cross-entropy with the probabilities clipped to [1e-10, 1]; Adam
(learning rate 0.001) on batches of 8 cycling through the data. The table shows
the cross-entropy on all 128 points.

The network has no biases and nothing non-linear between its layers, so it is a
linear classifier whose boundary passes through the origin. No such line
separates x1 + x2 < 1 well: the best any can do on the unit square is
0.5 + (3 - 2*sqrt(2))/2 = 0.586 accuracy (the boundary x2 = (sqrt(2) - 1) x1).

    python examples/sigmoid_classifier.py [--variant cross_entropy|faithful_bug] [--steps 1000] [--seed 1] [--json]
    graphmode parity sigmoid_classifier [--variant faithful_bug]
"""

from __future__ import annotations

import sys

import numpy as np

from graphmode._runtime import tf, v1
from graphmode.parity.check import ParityProblem
from graphmode.parity.gallery import examples as plumbing
from graphmode.parity.run import EagerModel, GraphModel
from graphmode.session.graph import new_graph

DATASET_SIZE = 128
BATCH_SIZE = 8
LEARNING_RATE = 0.001
TEST_SIZE = 1024
BEST_POSSIBLE_ACCURACY = 0.5 + (3 - 2 * np.sqrt(2)) / 2
VARIANTS = {"cross_entropy": "the binary cross-entropy, as intended",
            "faithful_bug": "the often-copied loss with the misplaced parenthesis, in both modes"}

# TF1's fused ApplyAdam kernel and Keras' composed Adam update round differently
# (TF1 also keeps beta^t as a running product). Free-running over 1000 steps,
# seeds 0-9, graph and eager stay within 4.4e-6 on the weights, which are of
# order 1 (20-40 float32 ulps); the tolerance's rtol counts from the tensor's
# RMS for elements crossing zero (see the near-zero rule in graphmode.parity.tolerance),
# and the worst of those seeds uses 42% of it. Keras' default epsilon (1e-7
# instead of TF1's 1e-8) leaves this tolerance within tens of steps.
ATOL, RTOL = 1e-6, 1e-5


def cross_entropy(y_, y):
    """Mean binary cross-entropy, probabilities clipped away from log(0)."""
    return -tf.reduce_mean(y_ * tf.math.log(tf.clip_by_value(y, 1e-10, 1.0))
                           + (1 - y_) * tf.math.log(tf.clip_by_value(1 - y, 1e-10, 1.0)))


def cross_entropy_as_often_copied(y_, y):
    """The form many copies of this tutorial carry: the mean closes one parenthesis too early.

    ``-reduce_mean(y_ * log(y)) + (1 - y) * log(1 - y)`` adds a scalar to a
    ``[batch, 1]`` tensor, so the "loss" is a tensor with one entry per example.
    TF1's ``minimize`` and TF2's ``GradientTape.gradient`` both differentiate the
    *sum* of a non-scalar target without a word, so it trains, but its
    ``(1 - y) log(1 - y)`` term pulls every probability towards 1 - 1/e whatever
    the label says.
    """
    return (-tf.reduce_mean(y_ * tf.math.log(tf.clip_by_value(y, 1e-10, 1.0)))
            + (1 - y) * tf.math.log(tf.clip_by_value(1 - y, 1e-10, 1.0)))


# The harness compares a scalar per step: the sum of the loss's entries, which is
# the loss itself when it is a scalar and, for the per-example tensor of the
# often-copied form, exactly what the optimizer minimizes.
TRAINING_LOSS = {"cross_entropy": cross_entropy, "faithful_bug": cross_entropy_as_often_copied}


# --- the TF1 model code, shared by the graph version and EagerModel.from_tf1 ---------------------

def model(x, y_, seed: int = 1, variant: str = "cross_entropy"):
    """The tutorial's forward pass and loss (per example for ``faithful_bug``)."""
    w1 = tf.Variable(v1.random_normal([2, 3], stddev=1, seed=seed), name="w1")
    w2 = tf.Variable(v1.random_normal([3, 1], stddev=1, seed=seed), name="w2")
    y = tf.sigmoid(tf.matmul(tf.matmul(x, w1), w2))
    return TRAINING_LOSS[variant](y_, y)


# --- graph version: placeholders, feed_dict, a TF1 optimizer ------------------------------------

def build_graph(seed: int = 1, variant: str = "cross_entropy") -> GraphModel:
    graph = new_graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, shape=(None, 2), name="x-input")
        y_ = v1.placeholder(tf.float32, shape=(None, 1), name="y-input")
        loss = model(x, y_, seed, variant)
        train_step = v1.train.AdamOptimizer(LEARNING_RATE).minimize(loss)
        summed = tf.reduce_sum(loss)
        variables = v1.trainable_variables()
    return GraphModel(graph, (x, y_), summed, train_step, variables)


# --- eager version: tf.Variable, GradientTape, a Keras optimizer --------------------------------

def build_eager(seed: int = 1, variant: str = "cross_entropy") -> EagerModel:
    w1 = tf.Variable(tf.random.normal([2, 3], stddev=1, seed=seed), name="w1")
    w2 = tf.Variable(tf.random.normal([3, 1], stddev=1, seed=seed), name="w2")
    # TF1's AdamOptimizer uses epsilon 1e-8; Keras defaults to 1e-7.
    optimizer = tf.keras.optimizers.Adam(LEARNING_RATE, beta_1=0.9, beta_2=0.999, epsilon=1e-8)

    def train_step(x, y_):
        with tf.GradientTape() as tape:
            y = tf.sigmoid(x @ w1 @ w2)
            loss = TRAINING_LOSS[variant](y_, y)
        optimizer.apply_gradients(zip(tape.gradient(loss, [w1, w2]), [w1, w2]))
        return tf.reduce_sum(loss)

    return EagerModel({"w1": w1, "w2": w2}, train_step)


# --- data and comparison ------------------------------------------------------------------------

def make_data(seed: int, size: int = DATASET_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """Points in the unit square from ``RandomState(seed)``, label 1 below x1 + x2 = 1."""
    X = np.random.RandomState(seed).rand(size, 2).astype(np.float32)
    Y = (X.sum(axis=1, keepdims=True) < 1).astype(np.float32)
    return X, Y


def make_batches(steps: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Batches of 8 cycling through the data, as the tutorial's ``start = (i * batch_size) % size``."""
    X, Y = make_data(seed)
    starts = [(i * BATCH_SIZE) % DATASET_SIZE for i in range(steps)]
    return [(X[s:s + BATCH_SIZE], Y[s:s + BATCH_SIZE]) for s in starts]


def parity_problem(steps: int = 1000, seed: int = 1, variant: str = "cross_entropy") -> ParityProblem:
    """Both modes on the same batches from the graph's initial weights."""
    plumbing.check_variant("sigmoid_classifier", variant, VARIANTS)
    name = "sigmoid_classifier" + ("" if variant == "cross_entropy" else f" ({variant})")
    return ParityProblem(name, lambda: build_graph(seed, variant), lambda: build_eager(seed, variant),
                         make_batches(steps, seed), atol=ATOL, rtol=RTOL)


def predict(X: np.ndarray, variables: dict[str, np.ndarray]) -> tf.Tensor:
    return tf.sigmoid(X @ variables["w1"] @ variables["w2"])


def accuracy(X: np.ndarray, Y: np.ndarray, variables: dict[str, np.ndarray]) -> float:
    return float(np.mean((predict(X, variables).numpy() > 0.5) == (Y > 0.5)))


def main(argv: list[str] | None = None) -> int:
    parser = plumbing.example_parser(__doc__.splitlines()[0], steps=1000, seed=1, variants=VARIANTS)
    parser.add_argument("--faithful-bug", action="store_const", dest="variant", const="faithful_bug",
                        help="the same as --variant faithful_bug")
    args = parser.parse_args(argv)
    problem = parity_problem(args.steps, args.seed, args.variant)
    report = problem.check()
    X, Y = make_data(args.seed)
    X_test, Y_test = make_data(args.seed + 1, TEST_SIZE)
    curve = plumbing.evaluated_curve(report, "full-data cross-entropy",
                                     lambda variables: float(cross_entropy(Y, predict(X, variables))),
                                     range(report.steps + 1))
    metrics = {}
    for trajectory in (report.reference, report.candidate):
        final = plumbing.variables_at(trajectory, report.steps)
        metrics[trajectory.mode] = {"train_accuracy": accuracy(X, Y, final),
                                    "test_accuracy": accuracy(X_test, Y_test, final)}
    run = plumbing.ExampleRun(args.variant, problem, report, (curve, plumbing.loss_curve(report, "batch loss")),
                              metrics)
    return plumbing.finish(args, "sigmoid_classifier", [run], title="sigmoid classifier: TF1 graph vs TF2 eager")


if __name__ == "__main__":
    sys.exit(main())
