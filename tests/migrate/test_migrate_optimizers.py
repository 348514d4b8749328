"""The program's optimizer: TF1 decay tensors written as Keras 3 schedules, TF1 updates stock Keras 3 lacks
written as classes the program owns, each proven in lockstep; and each refusal's message."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphmode.migrate.optimizers import OptimizerLine, global_step_lines, optimizer_code

SCRIPTS = Path(__file__).resolve().parent / "scripts"
_RATE = "learning_rate = tf.train.exponential_decay(0.5, global_step, 5, 0.7)"
_OPTIMIZER = "optimizer = tf.train.GradientDescentOptimizer(learning_rate)"
_MINIMIZE = "train_op = optimizer.minimize(loss, global_step=global_step)"


def _train(**changes):
    train = {"optimizer": "gradient_descent", "tf1_class": "GradientDescentOptimizer", "tf1_name": "GradientDescent",
             "learning_rate": None, "learning_rate_kind": "Tensor", "learning_rate_tensor": "ExponentialDecay:0",
             "hyperparameters": {}, "loss": "Mean:0", "var_list": None, "global_step": "global_step", "line": 27}
    train.update(changes)
    return train


def _decay(**arguments):
    base = {"learning_rate": 0.5, "global_step": {"graph": "global_step"}, "decay_steps": 5, "decay_rate": 0.7,
            "staircase": False, "name": None}
    base.update(arguments)
    return {"ExponentialDecay:0": {"kind": "exponential_decay", "arguments": base, "ops": []}}


def test_a_decay_of_the_step_minimize_counts_becomes_the_keras_schedule():
    line = optimizer_code(_train(), _decay())
    assert isinstance(line, OptimizerLine) and line.definition == ""
    assert line.code == ("tf.keras.optimizers.SGD(learning_rate=tf.keras.optimizers.schedules.ExponentialDecay("
                         "initial_learning_rate=0.5, decay_steps=5, decay_rate=0.7, staircase=False), momentum=0.0)")
    assert global_step_lines(_train(), {"global_step": "global_step", "w": "w"}) == [
        "global_step.assign_add(1)  # TF1's minimize(global_step=global_step) counted each step"]


def test_a_decay_of_a_step_that_never_moves_is_written_as_its_recorded_value():
    line = optimizer_code(_train(global_step=None), _decay(), rate_at_step_1=0.5)
    assert line.code == "tf.keras.optimizers.SGD(learning_rate=0.5, momentum=0.0)"
    assert line.notes[0] == ("the learning rate is tf.train.exponential_decay of a global step that never moves "
                             "while training (minimize is not given the global step): it stays 0.5, its value at "
                             "the recorded step 1, and that number is written")
    assert global_step_lines(_train(global_step=None), {}) == []


def test_refusal_a_tensor_rate_no_decay_function_returned():
    assert optimizer_code(_train(learning_rate_kind="RefVariable", learning_rate_tensor="lr:0"), {}) == (
        "GradientDescentOptimizer's learning rate is a tensor (RefVariable) that no tf.train decay function "
        "returned; migrate writes numbers and the Keras schedules of exponential_decay, piecewise_constant and "
        "polynomial_decay")


def test_refusal_a_decay_whose_arguments_are_tensors():
    problem = optimizer_code(_train(), _decay(decay_rate={"graph": "rate"}))
    assert problem.startswith("tf.train.exponential_decay's arguments are not all numbers (")
    assert problem.endswith("); migrate writes a Keras schedule from numbers only")


def test_refusal_a_decay_of_another_step_without_a_recorded_rate():
    assert optimizer_code(_train(global_step=None), _decay()) == (
        "tf.train.exponential_decay's global step is not the one minimize increments, and the recording holds "
        "no learning rate to write instead")


def test_refusal_an_optimizer_graphmode_train_does_not_know():
    assert optimizer_code(_train(optimizer="FtrlOptimizer", tf1_class="FtrlOptimizer", learning_rate=0.1), {}) == (
        "FtrlOptimizer has no Keras counterpart in graphmode.train")


def test_rmsprop_is_written_as_the_programs_own_class():
    line = optimizer_code(_train(optimizer="rmsprop", tf1_class="RMSPropOptimizer", learning_rate=0.01,
                                 hyperparameters={"decay": 0.9, "momentum": 0.5, "epsilon": 1e-10,
                                                  "centered": False}), {})
    assert line.code == "TF1RMSprop(learning_rate=0.01, rho=0.9, momentum=0.5, epsilon=1e-10, centered=False)"
    assert "class TF1RMSprop(tf.keras.optimizers.RMSprop):" in line.definition
    assert line.notes[0].startswith("TF1RMSprop, defined in the program, is Keras RMSprop with TF1's start")


def test_a_missing_global_step_name_is_said_in_the_step():
    assert global_step_lines(_train(), {"steps[0]": "global_step"}) == [
        "# TF1's minimize also added 1 to 'global_step', which no Python name of the script holds"]


_VARIANTS = {
    "exponential": ({}, "tf.keras.optimizers.schedules.ExponentialDecay(initial_learning_rate=0.5, decay_steps=5, "
                        "decay_rate=0.7, staircase=False)"),
    "piecewise": ({_RATE: "learning_rate = tf.train.piecewise_constant(global_step, [5, 10], [0.5, 0.2, 0.05])"},
                  "tf.keras.optimizers.schedules.PiecewiseConstantDecay(boundaries=[5, 10], values=[0.5, 0.2, 0.05])"),
    "polynomial": ({_RATE: "learning_rate = tf.train.polynomial_decay(0.5, global_step, 10, end_learning_rate=0.01, "
                           "power=2.0)"},
                   "tf.keras.optimizers.schedules.PolynomialDecay(initial_learning_rate=0.5, decay_steps=10, "
                   "end_learning_rate=0.01, power=2.0, cycle=False)"),
    "step never moves": ({_MINIMIZE: "train_op = optimizer.minimize(loss)"},
                         "tf.keras.optimizers.SGD(learning_rate=0.5, momentum=0.0)"),
    "momentum under a schedule": ({_OPTIMIZER: "optimizer = tf.train.MomentumOptimizer(learning_rate, 0.9)"},
                                  "class TF1Momentum(tf.keras.optimizers.SGD):"),
    "rmsprop": ({_RATE: "learning_rate = 0.01",
                 _OPTIMIZER: "optimizer = tf.train.RMSPropOptimizer(learning_rate, momentum=0.5)"},
                "class TF1RMSprop(tf.keras.optimizers.RMSprop):"),
}


@pytest.mark.slow
@pytest.mark.parametrize(("replacements", "written"), list(_VARIANTS.values()), ids=list(_VARIANTS))
def test_each_written_optimizer_is_proven_in_lockstep(replacements, written, tmp_path):
    """20 steps, each checked against the TF1 recording: the rate changes at steps 6, 11 and every step between."""
    from graphmode.migrate.pipeline import migrate_script

    text = (SCRIPTS / "decayed_rate.py").read_text()
    for old, new in replacements.items():
        assert old in text
        text = text.replace(old, new)
    script = tmp_path / "decayed_rate.py"
    script.write_text(text)
    migration = migrate_script(str(script), steps=20)
    assert migration.status == "migrated and proven", (migration.not_migrated, migration.verdict)
    assert migration.verdict["steps_checked"] == 20
    assert written in Path(migration.output).read_text()
