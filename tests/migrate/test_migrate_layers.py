"""TF1 layer calls become Keras 3 layers in the Model: the plan, the refusals, and whole migrations proven."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from graphmode.migrate.forbidden import forbidden_constructs
from graphmode.migrate.layers import LayerError, call_text, init_code, plan_statement

SCRIPTS = Path(__file__).resolve().parent / "scripts"


def _capture(ops, variables):
    return {"ops": {name: {"type": "X", "line": line} for name, line in ops},
            "variables": [{"name": name, "shape": shape, "line": line} for name, shape, line in variables]}


def test_a_dense_call_becomes_a_built_keras_layer_named_as_tf1_named_it():
    text = "out = tf.layers.dense(tf.layers.flatten(images), 10, tf.nn.relu)\n"
    capture = _capture([("net/flatten/Reshape", 7), ("net/dense_2/MatMul", 7)],
                       [("net/dense_2/kernel", [48, 10], 7), ("net/dense_2/bias", [10], 7)])
    layers = plan_statement(text, 7, capture, set(), set())
    assert [(layer.kind, layer.scope, layer.attribute) for layer in layers] == [
        ("flatten", "net/flatten", "net_flatten"), ("dense", "net/dense_2", "net_dense_2")]
    assert layers[1].weights == {"net/dense_2/kernel": "kernel", "net/dense_2/bias": "bias"}
    assert init_code(layers[1:]) == (
        "with tf.keras.name_scope('net'):  # TF1 scope: the weights' names start with it\n"
        "    self.net_dense_2 = tf.keras.layers.Dense(10, activation=tf.nn.relu, name='dense_2')\n"
        "    self.net_dense_2.build((None, 48))  # made now, as TF1 made net/dense_2/kernel, net/dense_2/bias\n"
    )
    assert call_text(text, layers, "model") == "out = model.net_dense_2(model.net_flatten(images))\n"


def test_tf1_arguments_are_written_in_keras_spelling():
    text = ('c = tf.layers.conv2d(inputs=x, filters=4, kernel_size=3, padding="SAME", '
            'kernel_initializer=tf.truncated_normal_initializer(stddev=0.1), bias_initializer=None)\n')
    capture = _capture([("conv2d/Conv2D", 1)], [("conv2d/kernel", [3, 3, 2, 4], 1), ("conv2d/bias", [4], 1)])
    (layer,) = plan_statement(text, 1, capture, set(), set())
    assert layer.constructor == (
        "tf.keras.layers.Conv2D(filters=4, kernel_size=3, padding='same', "
        "kernel_initializer=tf.keras.initializers.TruncatedNormal(stddev=0.1), bias_initializer='zeros', "
        "name='conv2d')"
    )
    assert layer.build_shape == "(None, None, None, 2)"


def test_dropout_under_a_tensor_flag_becomes_autographs_conditional():
    text = "d = tf.layers.dropout(h, rate=0.3, training=is_training)\n"
    (layer,) = plan_statement(text, 1, _capture([("dropout/cond/Switch", 1)], []), set(), set())
    assert layer.constructor == "tf.keras.layers.Dropout(rate=0.3, name='dropout')"
    assert call_text(text, [layer], "m") == "d = (m.dropout(h, training=True) if is_training else h)\n"


@pytest.mark.parametrize("text, ops, message", [
    ("b = tf.layers.batch_normalization(h, training=t)\n", [("batch_normalization/FusedBatchNorm", 1)],
     "no exact Keras 3 counterpart here: TF1 updates the moving statistics only when the script runs the "
     "UPDATE_OPS collection"),
    ("h = tf.contrib.layers.fully_connected(x, 3)\n", [("fully_connected/MatMul", 1)],
     "tf.contrib.layers.fully_connected has no exact Keras 3 counterpart: the Keras layer names its weights "
     "kernel/bias where tf.contrib.layers named them weights/biases"),
    ("h = tf.layers.dense(x, 3, reuse=True, name='shared')\n", [("shared/MatMul", 1)],
     "reuse= (sharing weights): make one Keras layer and call it twice"),
    ("h = tf.layers.dense(x, 3, kernel_regularizer=l2)\n", [("dense/MatMul", 1)],
     "regularizer (a REGULARIZATION_LOSSES entry): add the penalty to the loss in TF2"),
    ("h = tf.layers.dense(x, 3, name=prefix + 'fc')\n", [("fc/MatMul", 1)],
     "tf.layers.dense(name=...) that is not a string"),
    ("d = tf.layers.dropout(h + 1, training=flag)\n", [("dropout/cond/Switch", 1)],
     "dropout(training=<tensor>) on an expression: hold its inputs in a name first"),
    ("h = tf.layers.dense(x, 3)\n", [], "the recording holds no ops of this call"),
])
def test_a_layer_call_migrate_cannot_write_exactly_says_why(text, ops, message):
    variables = [("dense/kernel", [2, 3], 1), ("dense/bias", [3], 1)] if "dense(x, 3)" in text else []
    with pytest.raises(LayerError, match=re.escape(message)):
        plan_statement(text, 1, _capture(ops, variables), set(), set())


def test_variables_a_statement_makes_beside_its_layers_are_named():
    text = "h = tf.layers.dense(x, 3) + tf.Variable(tf.zeros([3]))\n"
    capture = _capture([("dense/MatMul", 1)],
                       [("dense/kernel", [2, 3], 1), ("dense/bias", [3], 1), ("Variable", [3], 1)])
    with pytest.raises(LayerError, match=r"also creates \['Variable'\] outside its TF1 layer calls"):
        plan_statement(text, 1, capture, set(), set())


def _migrate(tmp_path: Path, name: str, steps: int):
    from graphmode.migrate.pipeline import migrate_script

    shutil.copy(SCRIPTS / name, tmp_path / name)
    return migrate_script(str(tmp_path / name), steps=steps)


def _no_tf1(source: str) -> None:
    assert forbidden_constructs(source) == []
    tree = ast.parse(source)
    dotted = {ast.unparse(node) for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    assert not any(name.startswith(("tf.layers", "tf.losses", "tf.train.")) and "Checkpoint" not in name
                   for name in dotted), sorted(dotted)


def test_dense_layers_migrate_to_keras_layers_and_are_proven(tmp_path):
    migration = _migrate(tmp_path, "dense_layers.py", steps=10)
    assert migration.not_migrated == [] and migration.proven, (migration.not_migrated, migration.verdict)
    source = Path(migration.output).read_text()
    _no_tf1(source)
    assert "self.dense = tf.keras.layers.Dense(16, activation=tf.nn.tanh, name='dense')" in source
    assert "hidden = model.dense(x)" in source
    # Initializers draw once when the Model is made: no note about random numbers in the step.
    assert not any("random" in note for note in migration.notes)


@pytest.mark.slow
def test_conv_pooling_and_flatten_layers_are_proven(tmp_path):
    migration = _migrate(tmp_path, "conv_layers.py", steps=20)
    assert migration.proven, (migration.not_migrated, migration.verdict)
    source = Path(migration.output).read_text()
    _no_tf1(source)
    assert "logits = model.logits(model.flatten(averaged))" in source


@pytest.mark.slow
def test_dropout_migrates_and_its_random_draws_are_named_as_the_reason_it_diverges(tmp_path):
    migration = _migrate(tmp_path, "dropout_layers.py", steps=5)
    assert migration.not_migrated == []
    assert migration.status == "migrated but diverges"
    assert migration.verdict["first_divergence"]["step"] == 1
    assert any("draws random numbers (line 23: RandomUniform" in note for note in migration.notes)
    source = Path(migration.output).read_text()
    _no_tf1(source)
    assert "thinned = (model.dropout(wide, training=True) if training else wide)" in source


_RESTORE = """
import runpy, sys
program, checkpoint = sys.argv[1:3]
sys.argv = [program, "--steps", "0"]
namespace = runpy.run_path(program, run_name="__main__")
import numpy as np
import tensorflow as tf
reader = tf.train.load_checkpoint(checkpoint)


def report(way, model):
    for variable in model.variables:
        name = variable.name.removesuffix(":0")
        print(way, name, float(np.max(np.abs(variable.numpy() - reader.get_tensor(name)))))


model = namespace["model"]
tf.train.Checkpoint(variables=list(model.variables)).restore(checkpoint).assert_existing_objects_matched()
report("tensorflow", model)
import graphmode as gm

fresh = namespace["Model"]()
gm.load_tf1_checkpoint(checkpoint, fresh)
report("graphmode", fresh)
print("keras", tf.keras.__version__)
"""


@pytest.mark.slow
def test_a_tf1_checkpoint_loads_into_the_keras_layers_both_ways(tmp_path):
    """TensorFlow's name-based restore of a Saver checkpoint and graphmode's loader, in the program's Keras 3."""
    migration = _migrate(tmp_path, "dense_layers.py", steps=5)
    prefix = str(tmp_path / "tf1" / "model.ckpt")
    completed = subprocess.run([sys.executable, "-m", "graphmode", "run", migration.script, "--steps", "30",
                                "--save", prefix], capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-2000:]
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    completed = subprocess.run([sys.executable, "-c", _RESTORE, migration.output, prefix], env=env,
                               capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-2000:]
    lines = [line.split() for line in completed.stdout.splitlines() if line.startswith(("tensorflow ", "graphmode "))]
    names = {"dense/kernel", "dense/bias", "head/dense/kernel", "head/dense/bias"}
    for way in ("tensorflow", "graphmode"):
        loaded = {name: float(difference) for who, name, difference in lines if who == way}
        assert set(loaded) == names, (way, loaded)
        assert all(difference == 0.0 for difference in loaded.values()), (way, loaded)
    assert completed.stdout.splitlines()[-1].startswith("keras 3.")


def test_tf1_losses_become_the_mean_they_computed_and_other_weightings_are_refused():
    from graphmode.migrate.losses import LossError, tf2_losses

    assert tf2_losses("loss = tf.losses.mean_squared_error(y, model.dense(x))  # cost\n") == (
        "loss = tf.reduce_mean(tf.math.squared_difference(model.dense(x), y))  # cost\n")
    assert tf2_losses("c = tf.losses.sparse_softmax_cross_entropy(labels=t, logits=z)\n") == (
        "c = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=t, logits=z))\n")
    with pytest.raises(LossError, match=re.escape("tf.losses.mean_squared_error with ['weights']: migrate writes "
                                                  "TF1's default weighting")):
        tf2_losses("loss = tf.losses.mean_squared_error(y, p, weights=w)\n")
