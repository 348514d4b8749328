"""One definition of a parity check's parameters: ParityProblem, which check_parity takes whole or builds.

Also the verdict as an enum: given as its string or as the member, read back as the member.
"""

from __future__ import annotations

import numpy as np
import pytest

import graphmode as gm
from graphmode import tf, v1
from graphmode.errors import ConfigError
from graphmode.parity import Verdict

RATE = 0.1
STEPS = 3


def _batches() -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(STEPS, 8, 3)).astype(np.float32)
    return [(xs, xs @ np.array([[1.0], [-2.0], [0.5]], np.float32)) for xs in x]


def _build_graph() -> gm.GraphModel:
    graph = gm.new_graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, 3], name="x")
        y = v1.placeholder(tf.float32, [None, 1], name="y")
        # A TF random op: under random_ops it draws what the seed of the scope says.
        w = v1.get_variable("w", initializer=v1.random_normal([3, 1]))
        loss = tf.reduce_mean(tf.square(tf.matmul(x, w) - y))
        train_op = v1.train.GradientDescentOptimizer(RATE).minimize(loss)
    return gm.GraphModel(graph, (x, y), loss, train_op, {"w": w})


def _build_eager() -> gm.EagerModel:
    w = tf.Variable(tf.random.normal([3, 1]))
    optimizer = tf.keras.optimizers.SGD(RATE)

    def step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(tf.matmul(x, w) - y))
        optimizer.apply_gradients([(tape.gradient(loss, w), w)])
        return loss

    return gm.EagerModel({"w": w}, step)


def _initial_w(report: gm.parity.ParityReport) -> np.ndarray:
    return report.reference.variables["w"][0]


def test_a_problem_runs_as_its_parts_with_the_same_options():
    options = {"atol": 1e-5, "random_ops": "constant", "random_seed": 7, "verdict": "free", "steps": 2}
    problem = gm.ParityProblem("linear", _build_graph, _build_eager, _batches(), **options)
    whole = gm.check_parity(problem)
    parts = gm.check_parity(_build_graph, _build_eager, _batches(), **options)
    assert whole.ok and parts.ok, str(whole)
    assert whole.steps == parts.steps == 2 and whole.atol == parts.atol == 1e-5
    assert whole.verdict is parts.verdict is Verdict.FREE
    np.testing.assert_array_equal(whole.reference.losses, parts.reference.losses)
    np.testing.assert_array_equal(_initial_w(whole), _initial_w(parts))


def test_the_problems_random_seed_reaches_the_random_ops():
    def initial(seed: int) -> np.ndarray:
        problem = gm.ParityProblem("linear", _build_graph, _build_eager, _batches(), random_ops="constant",
                                   random_seed=seed, steps=1)
        return _initial_w(problem.check())

    # The same seed draws the same initial values, another seed others.
    np.testing.assert_array_equal(initial(1), initial(1))
    assert not np.array_equal(initial(1), initial(2))


def test_unknown_options_are_named_with_the_valid_ones():
    with pytest.raises(ConfigError, match=r"unknown options \['atoll'\]; the options are ParityProblem's fields: "
                                          r"\['atol', 'rtol', .*'random_seed'.*'steps', 'inputs'\]"):
        gm.check_parity(_build_graph, _build_eager, _batches(), atoll=1e-6)


def test_a_problem_comes_alone():
    problem = gm.ParityProblem("linear", _build_graph, _build_eager, _batches())
    with pytest.raises(ConfigError, match=r"a ParityProblem and also \['atol'\]; give the problem alone"):
        gm.check_parity(problem, atol=1e-3)
    with pytest.raises(ConfigError, match=r"needs build_graph \(or a Trace\) and build_eager, or one ParityProblem"):
        gm.check_parity(_build_graph)


def test_the_verdict_is_an_enum_member_and_a_wrong_one_is_named():
    report = gm.check_parity(_build_graph, _build_eager, _batches(), verdict=Verdict.LOCKSTEP, steps=1)
    assert report.verdict is Verdict.LOCKSTEP and report.to_dict()["verdict"] == "lockstep"
    assert report.free_run.verdict is Verdict.FREE
    with pytest.raises(ConfigError, match=r"verdict must be one of \('lockstep', 'free'\); got 'drift'"):
        gm.check_parity(_build_graph, _build_eager, _batches(), verdict="drift")
