"""The classic TF1 two-layer sigmoid classifier, in TF1 graph mode and TF2 eager mode side by side.

128 points in the unit square, label 1 when x1 + x2 < 1; y = sigmoid(x @ w1 @ w2)
with w1 [2, 3] and w2 [3, 1] drawn from Normal(0, 1) with seed 1 and no biases;
mean binary cross-entropy with the probabilities clipped to [1e-10, 1]; Adam
(learning rate 0.001) on batches of 8 cycling through the data. The table shows
the cross-entropy on all 128 points every 50 steps.

The network has no biases and nothing non-linear between its layers, so it is a
linear classifier whose boundary passes through the origin. No such line
separates x1 + x2 < 1 well: the best any can do on the unit square is
0.5 + (3 - 2*sqrt(2))/2 = 0.586 accuracy (the boundary x2 = (sqrt(2) - 1) x1).

    python examples/sigmoid_classifier.py [--steps 1000] [--seed 1] [--faithful-bug] [--json] [--plot c.png]
"""

from __future__ import annotations

import sys

import numpy as np

import graphmode as gm
from graphmode import tf, v1
from graphmode.parity import examples as plumbing

DATASET_SIZE = 128
BATCH_SIZE = 8
LEARNING_RATE = 0.001
TEST_SIZE = 1024
BEST_POSSIBLE_ACCURACY = 0.5 + (3 - 2 * np.sqrt(2)) / 2

# TF1's fused ApplyAdam kernel and Keras' composed Adam update round differently
# (TF1 also keeps beta^t as a running product); over 1000 steps (seeds 1-4) and
# 5000 (seeds 1, 4) the loss stays within 8e-6 (7e-6 relative) and the weights
# within 4e-6. Keras' default epsilon (1e-7 instead of TF1's 1e-8) leaves this
# tolerance at step 24.
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
TRAINING_LOSS = {False: cross_entropy, True: cross_entropy_as_often_copied}


def build_graph(seed: int = 1, faithful_bug: bool = False) -> gm.GraphModel:
    graph = gm.new_graph()
    with graph.as_default():
        w1 = tf.Variable(v1.random_normal([2, 3], stddev=1, seed=seed), name="w1")
        w2 = tf.Variable(v1.random_normal([3, 1], stddev=1, seed=seed), name="w2")
        x = v1.placeholder(tf.float32, shape=(None, 2), name="x-input")
        y_ = v1.placeholder(tf.float32, shape=(None, 1), name="y-input")
        a = tf.matmul(x, w1)
        y = tf.sigmoid(tf.matmul(a, w2))
        loss = TRAINING_LOSS[faithful_bug](y_, y)
        train_step = v1.train.AdamOptimizer(LEARNING_RATE).minimize(loss)
        summed = tf.reduce_sum(loss)
    return gm.GraphModel(graph, (x, y_), summed, train_step, {"w1": w1, "w2": w2})


def build_eager(seed: int = 1, faithful_bug: bool = False) -> gm.EagerModel:
    w1 = tf.Variable(tf.random.normal([2, 3], stddev=1, seed=seed), name="w1")
    w2 = tf.Variable(tf.random.normal([3, 1], stddev=1, seed=seed), name="w2")
    # TF1's AdamOptimizer uses epsilon 1e-8; Keras defaults to 1e-7.
    optimizer = tf.keras.optimizers.Adam(LEARNING_RATE, beta_1=0.9, beta_2=0.999, epsilon=1e-8)

    def train_step(x, y_):
        with tf.GradientTape() as tape:
            y = tf.sigmoid(x @ w1 @ w2)
            loss = TRAINING_LOSS[faithful_bug](y_, y)
        optimizer.apply_gradients(zip(tape.gradient(loss, [w1, w2]), [w1, w2]))
        return tf.reduce_sum(loss)

    return gm.EagerModel({"w1": w1, "w2": w2}, train_step)


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


def parity_problem(steps: int = 1000, seed: int = 1, faithful_bug: bool = False) -> gm.ParityProblem:
    """Both modes on the same batches from the graph's initial weights."""
    name = "sigmoid_classifier" + (" (faithful bug)" if faithful_bug else "")
    return gm.ParityProblem(name, lambda: build_graph(seed, faithful_bug), lambda: build_eager(seed, faithful_bug),
                            make_batches(steps, seed), atol=ATOL, rtol=RTOL)


def predict(X: np.ndarray, variables: dict[str, np.ndarray]) -> tf.Tensor:
    return tf.sigmoid(X @ variables["w1"] @ variables["w2"])


def accuracy(X: np.ndarray, Y: np.ndarray, variables: dict[str, np.ndarray]) -> float:
    return float(np.mean((predict(X, variables).numpy() > 0.5) == (Y > 0.5)))


def main(argv: list[str] | None = None) -> int:
    parser = plumbing.example_parser(__doc__.splitlines()[0], steps=1000, seed=1)
    parser.add_argument("--faithful-bug", action="store_true",
                        help="train on the often-copied loss with the misplaced parenthesis, in both modes")
    args = parser.parse_args(argv)
    problem = parity_problem(args.steps, args.seed, args.faithful_bug)
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
    name = "faithful_bug" if args.faithful_bug else "cross_entropy"
    run = plumbing.ExampleRun(name, problem, report, (curve, plumbing.loss_curve(report, "batch loss")),
                              metrics, every=50)
    return plumbing.finish(args, "sigmoid_classifier", [run], title="sigmoid classifier: TF1 graph vs TF2 eager")


if __name__ == "__main__":
    sys.exit(main())
