"""The script's own functions that make variables become tf.Module classes: the split, the refusals, a proof."""

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
from graphmode.migrate.modules import ModuleError, ModulePlanner

SCRIPTS = Path(__file__).resolve().parent / "scripts"

_HELPER = '''
def layer(inputs, size_in, size_out, act=None):
    """One layer."""
    w = tf.Variable(tf.zeros([size_in, size_out]))
    b = tf.Variable(tf.zeros([size_out]), name="b")
    out = tf.matmul(inputs, w) + b
    return out if act is None else act(out)
'''


def _planner(source, made, bindings):
    capture = {"variables": [{"name": name, "line": line} for name, line in made], "bindings": bindings}
    tree = ast.parse(source)
    return tree, ModulePlanner(tree, source, capture, set())


def _statement(tree, line):
    return next(node for node in tree.body if node.lineno == line)


def test_a_helper_splits_into_making_and_computing_with_tf1_names_per_call_site():
    source = _HELPER + "h = layer(x, 2, 3, act=tf.nn.relu)\nout = layer(h, 3, 1)\n"
    tree, planner = _planner(source, [("Variable", 8), ("b", 8), ("Variable_1", 9), ("b_1", 9)],
                             {"x": "x:0", "h": "Relu:0"})
    first = planner.plan_statement(_statement(tree, 8), "h = layer(x, 2, 3, act=tf.nn.relu)\n")
    second = planner.plan_statement(_statement(tree, 9), "out = layer(h, 3, 1)\n")
    assert [(i.attribute, i.constructor) for i in first + second] == [
        ("layer", "Layer(size_in=2, size_out=3, act=tf.nn.relu, names=('Variable', 'b'))"),
        ("layer_1", "Layer(size_in=3, size_out=1, names=('Variable_1', 'b_1'))"),
    ]
    assert second[0].weights == {"Variable_1": "w", "b_1": "b"}
    assert planner.call_text("out = layer(h, 3, 1)\n", second, "model") == "out = model.layer_1(h)\n"
    assert planner.class_code("layer") == (
        "class Layer(tf.Module):\n"
        '    """One layer. The script\'s layer(): its variables made once, in __init__ (names: their TF1 names); '
        'what it computes, in __call__."""\n'
        "\n"
        "    def __init__(self, size_in, size_out, act=None, names=None):\n"
        "        super().__init__()\n"
        "        self.w = tf.Variable(tf.zeros([size_in, size_out]), name=names[0])\n"
        '        self.b = tf.Variable(tf.zeros([size_out]), name=names[1])\n'
        "        self.act = act\n"
        "\n"
        "    def __call__(self, inputs):\n"
        "        out = tf.matmul(inputs, self.w) + self.b\n"
        "        return out if self.act is None else self.act(out)\n"
    )


@pytest.mark.parametrize("helper, calls, message", [
    ("def f(x):\n    w = tf.Variable(tf.zeros([x.shape[1], 1]))\n    return tf.matmul(x, w)\n",
     "y = f(x)\n", "f() makes a variable from a tensor argument (['x'], line 2)"),
    ("def f(x, n):\n    return tf.matmul(x, tf.Variable(tf.zeros([n, 1])))\n",
     "y = f(x, 2)\n", "f() makes a variable in a statement other than `name = tf.Variable(...)` (line 2)"),
    ("def f(x, n):\n    w = tf.Variable(tf.zeros([n, 1]))\n    w = w * 2\n    return tf.matmul(x, w)\n",
     "y = f(x, 2)\n", "f() assigns to a variable or a parameter after making it (line 3)"),
    ("def f(x, n):\n    name = tf.Variable(tf.zeros([n, 1]))\n    return tf.matmul(x, name)\n",
     "y = f(x, 2)\n", "f() keeps ['name'], which tf.Module uses itself"),
])
def test_a_helper_migrate_cannot_split_says_why(helper, calls, message):
    source = helper + calls
    line = len(helper.splitlines()) + 1
    tree, planner = _planner(source, [("Variable", line)], {"x": "x:0"})
    with pytest.raises(ModuleError, match=re.escape(message)):
        planner.plan_statement(_statement(tree, line), calls)
        planner.class_code("f")


def test_call_sites_that_feed_tensors_through_other_parameters_are_refused():
    source = "def f(a, b):\n    w = tf.Variable(1.0)\n    return a * w + b\n\ny = f(x, 1.0)\nz = f(1.0, x)\n"
    tree, planner = _planner(source, [("Variable", 5), ("Variable_1", 6)], {"x": "x:0"})
    planner.plan_statement(_statement(tree, 5), "y = f(x, 1.0)\n")
    with pytest.raises(ModuleError, match=re.escape("f() is fed tensors through ['b'] here but through ['a']")):
        planner.plan_statement(_statement(tree, 6), "z = f(1.0, x)\n")


def test_a_call_that_made_fewer_variables_than_the_helper_writes_is_refused():
    source = _HELPER + "h = layer(x, 2, 3)\n"
    tree, planner = _planner(source, [("Variable", 8)], {"x": "x:0"})
    with pytest.raises(ModuleError, match=re.escape("layer() has 2 variable calls but this call made 1 variables")):
        planner.plan_statement(_statement(tree, 8), "h = layer(x, 2, 3)\n")


_RESTORE = """
import runpy, sys
program, checkpoint = sys.argv[1:3]
sys.argv = [program, "--steps", "0"]
namespace = runpy.run_path(program, run_name="__main__")
import numpy as np
import tensorflow as tf
reader = tf.train.load_checkpoint(checkpoint)
model = namespace["model"]
tf.train.Checkpoint(model=model).restore(checkpoint).assert_existing_objects_matched()
import graphmode as gm

fresh = namespace["Model"]()
gm.load_tf1_checkpoint(checkpoint, fresh)
for way, loaded in (("tensorflow", model), ("graphmode", fresh)):
    for variable in loaded.variables:
        name = variable.name.removesuffix(":0")
        print(way, name, float(np.max(np.abs(variable.numpy() - reader.get_tensor(name)))))
"""


@pytest.mark.slow
def test_a_helper_that_makes_layers_migrates_is_proven_and_loads_a_tf1_checkpoint(tmp_path):
    from graphmode.migrate.pipeline import migrate_script

    shutil.copy(SCRIPTS / "helper_layers.py", tmp_path / "helper_layers.py")
    migration = migrate_script(str(tmp_path / "helper_layers.py"), steps=10)
    assert migration.proven, (migration.not_migrated, migration.verdict)
    source = Path(migration.output).read_text()
    assert forbidden_constructs(source) == []
    assert "class Affine(tf.Module):" in source and "def affine(" not in source
    assert "self.affine_1 = Affine(width_in=12, width_out=1, names=('Variable_1', 'bias_1'))" in source
    assert "hidden = model.affine(x)" in source
    assert "axis=[1]" in source and "reduction_indices" not in source
    prefix = str(tmp_path / "tf1" / "model.ckpt")
    completed = subprocess.run([sys.executable, "-m", "graphmode", "run", migration.script, "--steps", "30",
                                "--save", prefix], capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-2000:]
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    completed = subprocess.run([sys.executable, "-c", _RESTORE, migration.output, prefix], env=env,
                               capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-2000:]
    rows = [line.split() for line in completed.stdout.splitlines() if line.startswith(("tensorflow ", "graphmode "))]
    for way in ("tensorflow", "graphmode"):
        loaded = {name: float(difference) for who, name, difference in rows if who == way}
        assert set(loaded) == {"Variable", "bias", "Variable_1", "bias_1"}, (way, loaded)
        assert all(difference == 0.0 for difference in loaded.values()), (way, loaded)
