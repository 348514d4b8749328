"""A ``for`` loop that makes variables while it computes: split into the Model, the functions and its bookkeeping."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from graphmode.migrate.loops import LoopRefused, split_loop

SCRIPTS = Path(__file__).resolve().parent / "scripts"

_LOOP = textwrap.dedent('''\
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:]), start=1):
        w = tf.Variable(tf.zeros([n_in, n_out]), name=f"w{i}")
        b = tf.get_variable("b", [n_out], initializer=tf.zeros_initializer())
        params += [w, b]
        layer = tf.matmul(layer, w) + b
        if i < 2:
            layer = tf.nn.relu(layer)
''')


def _capture(source: str, variables: dict[int, list[str]], forward_lines: set[int]):
    capture = {
        "variables": [{"name": name, "line": line} for line, names in variables.items() for name in names],
        "bindings": {"x": "x:0", "layer": "Relu:0", "w": "w2", "b": "b_1"},
    }
    op_lines = {line: [{"type": "MatMul"}] for line in forward_lines}
    for line in variables:
        op_lines[line] = [{"type": "VariableV2"}]
    return capture, op_lines


def _split(source: str, variables: dict[int, list[str]], forward_lines: set[int]):
    capture, op_lines = _capture(source, variables, forward_lines)
    node = ast.parse(source).body[0]
    return split_loop(node, source.splitlines(keepends=True), source, capture, op_lines)


def test_a_loop_that_makes_variables_is_written_as_model_function_and_bookkeeping_loops():
    parts = _split(_LOOP, {2: ["w1", "w2"], 3: ["b", "b_1"]}, {5, 7})
    assert parts.variables == (
        "# The for loop of line 1: each pass's variables kept in a list (self.w, self.b), named as TF1 named them\n"
        "self.w, self.b = [], []\n"
        "for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:]), start=1):\n"
        "    w = tf.Variable(tf.zeros([n_in, n_out]), name=('w1', 'w2')[len(self.w)])\n"
        "    b = tf.Variable(tf.keras.initializers.Zeros()([n_out]), name=('b', 'b_1')[len(self.b)])\n"
        "    self.w.append(w)\n"
        "    self.b.append(b)\n"
    )
    assert parts.forward_code("model") == (
        "for (i, (n_in, n_out)), w, b in zip(enumerate(zip(sizes, sizes[1:]), start=1), model.w, model.b):\n"
        "    layer = tf.matmul(layer, w) + b\n"
        "    if i < 2:\n"
        "        layer = tf.nn.relu(layer)\n"
    )
    assert parts.after_model("model") == (
        "# the for loop of line 1 keeps its variables: the Model's, pass by pass\n"
        "for (i, (n_in, n_out)), w, b in zip(enumerate(zip(sizes, sizes[1:]), start=1), model.w, model.b):\n"
        "    params += [w, b]\n"
    )
    assert parts.forward_targets == ("layer",)
    assert {"layer", "sizes"} <= parts.forward_reads and not {"w", "b", "i", "n_in"} & parts.forward_reads
    assert parts.variable_paths("model") == {"w1": "model.w[0]", "w2": "model.w[1]", "b": "model.b[0]",
                                             "b_1": "model.b[1]"}


def test_without_bookkeeping_the_loops_names_hold_the_last_pass_variables():
    source = "for k in range(3):\n    c = tf.Variable(1.0, name='c')\n    total = total + c\n"
    parts = _split(source, {2: ["c", "c_1", "c_2"]}, {3})
    assert parts.after_model("model") == "c = model.c[-1]  # the last pass's variables, as after the TF1 loop\n"
    assert parts.forward_code("model") == "for k, c in zip(range(3), model.c):\n    total = total + c\n"


@pytest.mark.parametrize(("source", "variables", "forward", "reason"), [
    ("for k in range(2):\n    c = tf.Variable(1.0)\n    if k:\n        break\n", {2: ["a", "b"]}, set(),
     "break or continue"),
    ("for k in range(2):\n    p = tf.placeholder(tf.float32)\n    c = tf.Variable(1.0)\n", {3: ["a", "b"]}, set(),
     "line 2 makes a placeholder in the loop"),
    ("for k in range(2):\n    cs.append(tf.Variable(1.0))\n", {2: ["a", "b"]}, set(),
     r"line 2 makes a variable in a statement other than `name = tf\.Variable\(\.\.\.\)`"),
    ("for k in range(2):\n    c = tf.Variable(tf.zeros_like(layer))\n    layer = layer * c\n", {2: ["a", "b"]}, {3},
     r"line 2 makes a variable from a tensor \(\['layer'\]\)"),
    ("for k in range(2):\n    c = tf.Variable(1.0)\n    d = tf.Variable(1.0)\n", {2: ["a", "b"], 3: ["d"]}, set(),
     "c: 2, d: 1 variables while recorded"),
    ("for k in range(2):\n    c = tf.Variable(1.0)\n    cs.append(c)\n    total = tf.add_n(cs)\n", {2: ["a", "b"]}, {4},
     r"line 3 keeps the pass's variables in \['cs'\], which the loop's computing statements also use"),
    ("for k in range(2):\n    c = tf.Variable(1.0)\n    h = tf.layers.dense(h, 4)\n", {2: ["a", "b"], 3: ["dense/kernel"]},
     set(), "line 3 makes variables or placeholders through a call"),
    ("for t in tf.unstack(x):\n    c = tf.Variable(1.0)\n", {2: ["a"]}, set(), "its iterable reads tensors"),
])
def test_a_loop_outside_the_pattern_is_refused_naming_the_line(source, variables, forward, reason):
    with pytest.raises(LoopRefused, match=reason):
        _split(source, variables, forward)


@pytest.mark.slow
def test_a_script_whose_loops_make_its_layers_is_migrated_and_proven(tmp_path):
    from graphmode.migrate.pipeline import migrate_script

    script = tmp_path / "stacked_layers.py"
    shutil.copy(SCRIPTS / "stacked_layers.py", script)
    migration = migrate_script(str(script), steps=10, args=["--steps", "12"])
    assert migration.not_migrated == [] and migration.proven, migration.verdict
    program = (tmp_path / "stacked_layers_tf2.py").read_text()
    assert "for depth, kernel, bias in zip(range(1, len(widths)), model.kernel, model.bias):\n" in program
    assert "        shift = model.shift  # the variable the loop starts from\n" in program
    # Every variable carries its TF1 name (a TF1 checkpoint loads by name); the script's list holds the Model's.
    check = ("import runpy, sys; sys.argv = ['stacked_layers_tf2.py', '--steps', '1']; "
             "ns = runpy.run_path('stacked_layers_tf2.py'); "
             "print(sorted(v.name for v in ns['model'].variables)); "
             "print(all(a is b for a, b in zip(ns['weights'], ns['model'].kernel)), len(ns['weights']))")
    out = subprocess.run([sys.executable, "-c", check], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[-2:] == [
        "['bias_1:0', 'bias_2:0', 'bias_3:0', 'coefficient:0', 'coefficient_1:0', 'kernel_1:0', 'kernel_2:0', "
        "'kernel_3:0', 'shift:0']",
        "True 3",
    ]


@pytest.mark.slow
def test_the_mlp_whose_train_op_is_made_in_an_if_is_refused_only_there(tmp_path):
    from graphmode.migrate.pipeline import migrate_script

    script = tmp_path / "mlp_digits.py"
    shutil.copy(SCRIPTS.parent.parent / "trace" / "scripts" / "mlp_digits.py", script)
    migration = migrate_script(str(script), steps=5, args=["--steps", "25"])  # step 25 runs the accuracy
    assert [where for where, _ in migration.not_migrated] == ["mlp_digits.py:41"], migration.not_migrated
    reason = migration.not_migrated[0][1]
    assert "line 43 made it (AdamOptimizer.minimize)" in reason
    assert "gradients at line 46, assign_sub at line 47" in reason
    program = (tmp_path / "mlp_digits_tf2.py").read_text()
    assert "        for i, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:]), start=1):\n" in program
    assert "name=('w1', 'w2', 'w3')[len(self.w)]" in program
