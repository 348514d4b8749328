"""X * A = 10: the classic TF1 regression tutorial, in TF1 graph mode and TF2 eager mode side by side.

Draw 100 values x ~ Normal(1, 0.1) with target y = 10 and learn the one number A
in the model x * A by gradient descent (learning rate 0.02), one random sample
per step: A must approach 10. Variant ``batch`` trains the tutorial's batch
version instead (20 samples per step, mean squared error).

Both modes start from the same A (the graph's random initial value) and see the
same samples in the same order, so they agree to float32 rounding at every step.

    python examples/regress_a.py [--variant stochastic|batch] [--steps 100] [--seed 0] [--json] [--plot a.png]
    graphmode parity regress_a [--variant batch]
"""

from __future__ import annotations

import sys

import numpy as np

from graphmode._runtime import tf, v1
from graphmode.parity.check import ParityProblem
from graphmode.parity.gallery import examples as plumbing
from graphmode.parity.run import EagerModel, GraphModel
from graphmode.session.graph import new_graph

LEARNING_RATE = 0.02
SAMPLES = 100
BATCH_SIZE = 20
VARIANTS = {"stochastic": "one sample per step (the tutorial)", "batch": f"{BATCH_SIZE} samples per step, mean loss"}

# One sample per step: each update is the same few float32 operations in both
# modes, so they match to the last bit or within a couple of ulps of A (~1e-6 at 10).
ATOL, RTOL = 0.0, 1e-6


# --- the TF1 model code, shared by the graph version and EagerModel.from_tf1 ---------------------

def model(x_data, y_target):
    """One sample's squared error of x * A (A: shape [1])."""
    A = tf.Variable(v1.random_normal(shape=[1]), name="A")
    return tf.square(tf.multiply(x_data, A) - y_target)


def model_batch(x_data, y_target):
    """The batch's mean squared error of x @ A (A: shape [1, 1])."""
    A = tf.Variable(v1.random_normal(shape=[1, 1]), name="A")
    return tf.reduce_mean(tf.square(tf.matmul(x_data, A) - y_target))


TF1_MODELS = {"stochastic": model, "batch": model_batch}


# --- graph version: placeholders, feed_dict, a TF1 optimizer ------------------------------------

def build_graph(seed: int, variant: str = "stochastic") -> GraphModel:
    graph = new_graph(seed)
    with graph.as_default():
        shape = [1] if variant == "stochastic" else [None, 1]
        x_data = v1.placeholder(tf.float32, shape=shape, name="x_data")
        y_target = v1.placeholder(tf.float32, shape=shape, name="y_target")
        loss = TF1_MODELS[variant](x_data, y_target)
        train_step = v1.train.GradientDescentOptimizer(LEARNING_RATE).minimize(loss)
        variables = v1.trainable_variables()
    return GraphModel(graph, (x_data, y_target), loss, train_step, variables)


# --- eager version: tf.Variable, GradientTape, a Keras optimizer --------------------------------

def build_eager() -> EagerModel:
    A = tf.Variable(tf.random.normal([1]), name="A")
    optimizer = tf.keras.optimizers.SGD(LEARNING_RATE)

    def train_step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.square(x * A - y)
        optimizer.apply_gradients([(tape.gradient(loss, A), A)])
        return loss

    return EagerModel({"A": A}, train_step)


def build_eager_batch() -> EagerModel:
    A = tf.Variable(tf.random.normal([1, 1]), name="A")
    optimizer = tf.keras.optimizers.SGD(LEARNING_RATE)

    def train_step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(tf.matmul(x, A) - y))
        optimizer.apply_gradients([(tape.gradient(loss, A), A)])
        return loss

    return EagerModel({"A": A}, train_step)


EAGER_MODELS = {"stochastic": build_eager, "batch": build_eager_batch}


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


def parity_problem(steps: int = 100, seed: int = 0, variant: str = "stochastic") -> ParityProblem:
    """Both modes of one variant on the same samples."""
    plumbing.check_variant("regress_a", variant, VARIANTS)
    batch_size = 1 if variant == "stochastic" else BATCH_SIZE
    name = "regress_a" if variant == "stochastic" else f"regress_a ({variant})"
    return ParityProblem(name, lambda: build_graph(seed, variant), EAGER_MODELS[variant],
                         make_batches(steps, seed, batch_size), atol=ATOL, rtol=RTOL)


def main(argv: list[str] | None = None) -> int:
    parser = plumbing.example_parser(__doc__.splitlines()[0], steps=100, variants=VARIANTS)
    parser.add_argument("--batch", action="store_const", dest="variant", const="batch",
                        help="the same as --variant batch")
    args = parser.parse_args(argv)
    problem = parity_problem(args.steps, args.seed, args.variant)
    report = problem.check()
    curve = plumbing.loss_curve(report, "loss" if args.variant == "batch" else "sample loss")
    run = plumbing.ExampleRun(args.variant, problem, report, (curve,))
    return plumbing.finish(args, "regress_a", [run], title="X * A = 10: TF1 graph vs TF2 eager")


if __name__ == "__main__":
    sys.exit(main())
