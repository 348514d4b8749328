"""X * A = 10: the classic TF1 regression tutorial, in TF1 graph mode and TF2 eager mode side by side.

Draw 100 values x ~ Normal(1, 0.1) with target y = 10 and learn the one number A
in the model x * A by gradient descent (learning rate 0.02), one random sample
per step: A must approach 10. ``--batch`` trains the tutorial's batch variant
instead (20 samples per step, mean squared error).

Both modes start from the same A (the graph's random initial value) and see the
same samples in the same order, so they agree to float32 rounding at every step.

    python examples/regress_a.py [--batch] [--steps 100] [--seed 0] [--json] [--plot a.png] [--logdir logs]
"""

from __future__ import annotations

import sys

import numpy as np

import graphmode as gm
from graphmode import tf, v1
from graphmode.parity import examples as plumbing

LEARNING_RATE = 0.02
SAMPLES = 100
BATCH_SIZE = 20

# One sample per step: each update is the same few float32 operations in both
# modes, so they match to the last bit or within a couple of ulps of A (~1e-6 at 10).
ATOL, RTOL = 0.0, 1e-6


# --- stochastic: one sample per step, placeholders of shape [1] ---------------------------------

def build_graph(seed: int) -> gm.GraphModel:
    graph = gm.new_graph(seed)
    with graph.as_default():
        x_data = v1.placeholder(tf.float32, shape=[1], name="x_data")
        y_target = v1.placeholder(tf.float32, shape=[1], name="y_target")
        A = tf.Variable(v1.random_normal(shape=[1]), name="A")
        my_output = tf.multiply(x_data, A)
        loss = tf.square(my_output - y_target)
        train_step = v1.train.GradientDescentOptimizer(LEARNING_RATE).minimize(loss)
    return gm.GraphModel(graph, (x_data, y_target), loss, train_step, {"A": A})


def build_eager() -> gm.EagerModel:
    A = tf.Variable(tf.random.normal([1]), name="A")
    optimizer = tf.keras.optimizers.SGD(LEARNING_RATE)

    def train_step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.square(x * A - y)
        optimizer.apply_gradients([(tape.gradient(loss, A), A)])
        return loss

    return gm.EagerModel({"A": A}, train_step)


# --- batch: 20 samples per step, A of shape [1, 1], mean loss ----------------------------------

def build_graph_batch(seed: int) -> gm.GraphModel:
    graph = gm.new_graph(seed)
    with graph.as_default():
        x_data = v1.placeholder(tf.float32, shape=[None, 1], name="x_data")
        y_target = v1.placeholder(tf.float32, shape=[None, 1], name="y_target")
        A = tf.Variable(v1.random_normal(shape=[1, 1]), name="A")
        my_output = tf.matmul(x_data, A)
        loss = tf.reduce_mean(tf.square(my_output - y_target))
        train_step = v1.train.GradientDescentOptimizer(LEARNING_RATE).minimize(loss)
    return gm.GraphModel(graph, (x_data, y_target), loss, train_step, {"A": A})


def build_eager_batch() -> gm.EagerModel:
    A = tf.Variable(tf.random.normal([1, 1]), name="A")
    optimizer = tf.keras.optimizers.SGD(LEARNING_RATE)

    def train_step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(tf.matmul(x, A) - y))
        optimizer.apply_gradients([(tape.gradient(loss, A), A)])
        return loss

    return gm.EagerModel({"A": A}, train_step)


# --- data and comparison ------------------------------------------------------------------------

def make_batches(steps: int, seed: int, batch_size: int = 1) -> list[tuple[np.ndarray, np.ndarray]]:
    """The tutorial's data and the samples of each step, drawn once so both modes see the same."""
    rng = np.random.RandomState(seed)
    x_vals = rng.normal(1, 0.1, SAMPLES).astype(np.float32)
    y_vals = np.repeat(10.0, SAMPLES).astype(np.float32)
    if batch_size == 1:
        picks = rng.choice(SAMPLES, size=steps)
        return [(x_vals[[i]], y_vals[[i]]) for i in picks]
    picks = rng.choice(SAMPLES, size=(steps, batch_size))
    return [(x_vals[rows, None], y_vals[rows, None]) for rows in picks]


def parity_problem(steps: int = 100, seed: int = 0, batch: bool = False) -> gm.ParityProblem:
    """Both modes of the tutorial (``batch``: the 20-sample variant) on the same samples."""
    if batch:
        return gm.ParityProblem("regress_a (batch)", lambda: build_graph_batch(seed), build_eager_batch,
                                make_batches(steps, seed, BATCH_SIZE), atol=ATOL, rtol=RTOL)
    return gm.ParityProblem("regress_a", lambda: build_graph(seed), build_eager,
                            make_batches(steps, seed), atol=ATOL, rtol=RTOL)


def main(argv: list[str] | None = None) -> int:
    parser = plumbing.example_parser(__doc__.splitlines()[0], steps=100)
    parser.add_argument("--batch", action="store_true", help=f"batches of {BATCH_SIZE} with the mean loss")
    args = parser.parse_args(argv)
    problem = parity_problem(args.steps, args.seed, batch=args.batch)
    report = problem.check()
    curve = plumbing.loss_curve(report, "loss" if args.batch else "sample loss")
    run = plumbing.ExampleRun("batch" if args.batch else "stochastic", problem, report, (curve,))
    return plumbing.finish(args, "regress_a", [run], title="X * A = 10: TF1 graph vs TF2 eager")


if __name__ == "__main__":
    sys.exit(main())
