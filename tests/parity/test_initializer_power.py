"""The initializer check decides at a stated false-alarm rate and uses the power small tensors have.

Both directions: a tenfold spread is caught on the small kernels of a tutorial
network (6x16 and 16x1), and correct initializers are not flagged, over many
seeds, at no more than the stated rate (checked at a rate large enough to
observe, then at the default 1e-6).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import graphmode as gm
from graphmode import tf, v1
from graphmode.parity.initializers import ALPHA, check_initializers

SEEDS = 1000


def _truncated_normal(rng: np.random.RandomState, size: int, stddev: float) -> np.ndarray:
    values = rng.normal(size=size * 2)
    return stddev * values[np.abs(values) <= 2][:size]


DISTRIBUTIONS = {
    "normal": lambda rng, n: rng.normal(0.0, 0.1, n),
    "uniform": lambda rng, n: rng.uniform(-0.3, 0.3, n),
    "truncated_normal": lambda rng, n: _truncated_normal(rng, n, 0.1),
}


@pytest.mark.parametrize("shape", [(6, 16), (16, 1)])
def test_a_tenfold_truncated_normal_is_caught_on_small_kernels_at_every_seed(shape):
    pairs = {f"seed {seed}": (v1.truncated_normal_initializer(stddev=0.1, seed=seed)(shape).numpy(),
                              tf.keras.initializers.TruncatedNormal(stddev=1.0, seed=seed + 1000)(shape).numpy())
             for seed in range(100)}
    checks = check_initializers(pairs)
    # F(15, 15) puts a variance ratio of 100 below the 1e-6/3 bound (about 20) with probability ~1e-3 for normal
    # values and less for the truncated normal's lighter tails.
    assert [c.name for c in checks if c.ok] == []
    assert all("standard deviations differ by a factor" in c.reason and "false-alarm rate 1e-06" in c.reason
               for c in checks)


@pytest.mark.parametrize("name", list(DISTRIBUTIONS))
@pytest.mark.parametrize("size", [16, 96])
def test_correct_initializers_are_flagged_at_no_more_than_the_stated_rate(name, size):
    draw = DISTRIBUTIONS[name]
    alpha = 0.05  # large enough to observe in a few hundred draws; the same rule as at 1e-6
    rng = np.random.RandomState(size)
    draws = {f"w{seed}": (draw(rng, size), draw(rng, size)) for seed in range(SEEDS)}
    flagged = sum(not check.ok for check in check_initializers(draws, alpha=alpha))
    # The rate is at most alpha (three standard errors of a binomial count allowed above it) ...
    assert flagged / SEEDS <= alpha + 3 * math.sqrt(alpha * (1 - alpha) / SEEDS), flagged
    # ... and is not vacuous: the tests do reject at about their level (not 0, which would mean no power).
    if name == "normal":
        assert flagged > 0
    # At the default rate (1e-6) none of these correct draws is flagged.
    assert ALPHA == 1e-6 and all(check.ok for check in check_initializers(draws)), name


def test_a_tenfold_initializer_on_a_small_network_fails_the_parity_check_at_step_0():
    def build_graph():
        graph = gm.new_graph(0)
        with graph.as_default():
            x = v1.placeholder(tf.float32, [None, 6])
            y = v1.placeholder(tf.float32, [None, 1])
            init = v1.truncated_normal_initializer(stddev=0.1)
            w1 = v1.get_variable("w1", [6, 16], initializer=init)
            w2 = v1.get_variable("w2", [16, 1], initializer=init)
            loss = tf.reduce_mean(tf.square(tf.matmul(tf.tanh(tf.matmul(x, w1)), w2) - y))
            train_op = v1.train.GradientDescentOptimizer(0.1).minimize(loss)
        return gm.GraphModel(graph, (x, y), loss, train_op, [w1, w2])

    def build_eager(stddev):
        init = tf.keras.initializers.TruncatedNormal(stddev=stddev)
        w1, w2 = tf.Variable(init([6, 16]), name="w1"), tf.Variable(init([16, 1]), name="w2")
        optimizer = tf.keras.optimizers.SGD(0.1)

        def train_step(x, y):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(tf.matmul(tf.tanh(tf.matmul(x, w1)), w2) - y))
            optimizer.apply_gradients(zip(tape.gradient(loss, [w1, w2]), [w1, w2]))
            return loss

        return gm.EagerModel([w1, w2], train_step)

    rng = np.random.RandomState(0)
    batches = [(rng.normal(size=(8, 6)).astype(np.float32), rng.normal(size=(8, 1)).astype(np.float32))]
    wrong = gm.check_parity(build_graph, lambda: build_eager(1.0), batches)
    assert {c.name for c in wrong.initializers if not c.ok} == {"w1", "w2"}
    assert (wrong.first_divergence.kind, wrong.first_divergence.step) == ("initializer", 0)
    assert wrong.lockstep.ok  # the run itself starts from the graph's values
    right = gm.check_parity(build_graph, lambda: build_eager(0.1), batches)
    assert right.ok and all(c.reason == "consistent" for c in right.initializers), str(right)
