"""The proof catches what it should: a planted optimizer difference, other train runs; migrate's CLI and folder table."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parent / "scripts"


def _copy(tmp_path: Path, name: str) -> Path:
    shutil.copy(SCRIPTS / name, tmp_path / name)
    return tmp_path / name


@pytest.mark.slow
def test_a_planted_keras_default_epsilon_is_caught_by_migrates_own_check(tmp_path):
    # The same script the default tier proves (test_migrate_program.py), written with Keras' Adam epsilon (1e-7)
    # instead of TF1's (1e-8). Each step moves a variable by lr_t * m / (sqrt(v) + epsilon) on both sides; at step 1
    # sqrt(v) is 0.0316 |g|, so the 9e-8 more epsilon shrinks the update by about lr * 9e-8 / (0.0316 |g|), 1.4e-7 / |g|
    # at lr 0.05: for the bias (tolerance ~1e-6, its gradient the batch's mean residual, ~0.02-0.1) that is 1.4x-7x
    # over. The initial weights are unseeded, so which step and variable show it first can vary; it shows within
    # the 10 steps (a NumPy model of both updates over 2000 draws of the initial weights caught it at step 1 each time).
    script = _copy(tmp_path, "sigmoid_classifier.py")
    completed = subprocess.run([sys.executable, "-m", "graphmode", "migrate", "--steps", "10", "--planted-keras-epsilon",
                                str(script)], capture_output=True, text=True, timeout=900)
    assert completed.returncode == 1, completed.stdout + completed.stderr[-2000:]
    out = completed.stdout
    assert "  migrated but diverges" in out.splitlines()
    first = next(line for line in out.splitlines() if line.strip().startswith("first divergence"))
    found = re.search(r"first divergence, in the update \(.*?\): step (\d+), (variable|optimizer slot) "
                      r"'classifier/([wb])[^']*' after the update, built at sigmoid_classifier\.py:\d+", first)
    assert found, first
    assert 1 <= int(found[1]) <= 10
    # The line that built the diverging variable (for a slot: the variable it belongs to) is named.
    built = next(n for n, text in enumerate(script.read_text().splitlines(), 1) if f'get_variable("{found[3]}"' in text)
    assert f"sigmoid_classifier.py:{built}" in first
    assert "over the tolerance max|a-b| <= atol + rtol*max|ref| with atol=1e-06, rtol=1e-05" in first
    source = Path(str(script).replace(".py", "_tf2.py")).read_text()
    assert "epsilon" not in source.split("optimizer = ", 1)[1].splitlines()[0]
    assert source.splitlines()[2].startswith(f"# Lockstep verdict: parity DIVERGED at step {found[1]}: ")


@pytest.mark.slow
def test_the_regression_with_gradient_descent_is_proven_bit_for_bit(tmp_path):
    from graphmode.migrate.pipeline import migrate_script

    migration = migrate_script(str(_copy(tmp_path, "regress_a.py")), steps=30)
    assert migration.proven, migration.verdict
    # One matmul and a mean per step, the same kernels on both sides: no rounding difference is expected.
    assert migration.verdict["worst"]["max_abs_diff"] == 0.0


@pytest.mark.slow
def test_the_cli_prints_the_verdict_and_the_folder_table(tmp_path):
    _copy(tmp_path, "regress_a.py")
    (tmp_path / "queue_input.py").write_text(
        "import tensorflow as tf\n"
        "queue = tf.FIFOQueue(4, tf.float32)\n"
        "w = tf.Variable(1.0)\n"
        "loss = tf.square(w - queue.dequeue())\n"
        "train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)\n"
        "with tf.Session() as sess:\n"
        "    sess.run(tf.global_variables_initializer())\n"
        "    sess.run(queue.enqueue_many([[1.0, 2.0, 3.0]]))\n"
        "    for _ in range(3):\n"
        "        sess.run(train)\n"
    )
    completed = subprocess.run([sys.executable, "-m", "graphmode", "migrate", "--steps", "5", str(tmp_path)],
                               capture_output=True, text=True, timeout=900)
    assert completed.returncode == 1, completed.stderr[-2000:]
    lines = completed.stdout.splitlines()
    # Each migration's lines come first (its notes may say "script" too), then the table under its header.
    header = next((n for n, line in enumerate(lines) if line.split() == ["script", "result", "reason"]), None)
    assert header is not None, completed.stdout
    table = lines[header:]
    assert len(table) == 3, table  # the header, one row per script
    assert "  verdict: parity OK: 5 steps in lockstep" in "\n".join(lines[:header]), completed.stdout
    assert table[1].split()[:2] == ["queue_input.py", "not"]
    assert "queue_input.py:2" in table[1] and "QueueRunner" in table[1]
    assert table[2].startswith("regress_a.py") and "migrated and proven" in table[2]
    written = (tmp_path / "queue_input_tf2.py").read_text()
    assert "# --- graphmode migrate: NOT MIGRATED (original line 2): input queues" in written
    assert "# queue = tf.FIFOQueue(4, tf.float32)" in written


@pytest.mark.slow
def test_an_mnist_tutorial_reads_the_same_batches_through_graphmodes_reader(tmp_path):
    import numpy as np

    from graphmode.migrate.pipeline import migrate_script
    from graphmode.mnist.idx import write_idx

    rng = np.random.default_rng(0)
    data = tmp_path / "MNIST_data"
    data.mkdir()
    for prefix, count in (("train", 6000), ("t10k", 200)):
        write_idx(str(data / f"{prefix}-images-idx3-ubyte.gz"), rng.integers(0, 256, (count, 28, 28), dtype=np.uint8))
        write_idx(str(data / f"{prefix}-labels-idx1-ubyte.gz"), rng.integers(0, 10, count, dtype=np.uint8))
    migration = migrate_script(str(_copy(tmp_path, "mnist_softmax.py")), steps=10)
    assert migration.proven, (migration.not_migrated, migration.verdict)
    assert migration.verdict["feeds_differ_at"] is None  # next_batch shuffled the same way on both sides
    source = Path(migration.output).read_text()
    assert "from graphmode.mnist import input_data  # TF 1.15's MNIST reader" in source


@pytest.mark.slow
def test_a_script_function_named_model_keeps_its_name(tmp_path):
    from graphmode.migrate.pipeline import migrate_script

    migration = migrate_script(str(_copy(tmp_path, "logreg_helpers.py")), steps=10)
    assert migration.proven, (migration.not_migrated, migration.verdict)
    source = Path(migration.output).read_text()
    assert "def model(X, w):" in source and "model_2 = Model()" in source
