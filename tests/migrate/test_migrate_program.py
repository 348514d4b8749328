"""A migrated program: proven against the original, free of TF1 constructs, runnable on its own."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from graphmode.migrate.forbidden import forbidden_constructs

SCRIPTS = Path(__file__).resolve().parent / "scripts"


def test_the_classifier_migrates_and_its_lockstep_check_passes(migrated_classifier):
    migration, _ = migrated_classifier
    assert migration.not_migrated == []
    assert migration.verdict["passed"], migration.verdict
    assert migration.verdict["steps_checked"] == 20
    # The program made the same batches as the original (same seeded NumPy draws).
    assert migration.verdict["feeds_differ_at"] is None
    assert migration.status == "migrated and proven"


def test_the_header_names_the_recording_and_the_verdict(migrated_classifier):
    migration, _ = migrated_classifier
    head = open(migration.output, encoding="utf-8").read().splitlines()[:3]
    assert head[1].endswith(migration.recording)
    assert head[2].startswith("# Lockstep verdict: parity OK: 20 steps in lockstep")


def test_the_program_has_no_tf1_construct_in_its_syntax_tree(migrated_classifier):
    migration, _ = migrated_classifier
    source = open(migration.output, encoding="utf-8").read()
    assert forbidden_constructs(source) == []
    tree = ast.parse(source)
    attributes = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    keywords = {node.arg for node in ast.walk(tree) if isinstance(node, ast.keyword)}
    for construct in ("compat", "Session", "placeholder", "get_variable", "variable_scope", "get_collection",
                      "contrib"):
        assert construct not in attributes | names, construct
    assert "feed_dict" not in keywords
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
                for alias in node.names} | {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not any(name and name.startswith(("graphmode", "tensorflow.compat", "tf_keras")) for name in imported)


def test_the_input_script_is_unchanged(migrated_classifier):
    _, script = migrated_classifier
    assert script.read_text() == (SCRIPTS / "sigmoid_classifier.py").read_text()


def test_the_program_runs_alone_with_keras_3_and_saves_a_checkpoint(migrated_classifier, tmp_path):
    migration, _ = migrated_classifier
    env = {k: v for k, v in os.environ.items() if k not in ("TF_USE_LEGACY_KERAS", "PYTHONPATH")}
    probe = ("import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__'); "
             "import tensorflow as tf; print('keras', tf.keras.__version__); "
             "print('tf1 api', 'graphmode' in sys.modules)")
    completed = subprocess.run(
        [sys.executable, "-c", probe, migration.output, "--steps", "60", "--save", str(tmp_path / "model")],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    lines = completed.stdout.splitlines()
    assert lines[0].startswith("step 0 loss ")
    accuracy = float(next(line for line in lines if line.startswith("accuracy ")).split()[1])
    assert accuracy > 0.8  # two Gaussian blobs 2 apart: the original reaches ~0.94 in 200 steps
    assert lines[-2].startswith("keras 3.")
    assert lines[-1] == "tf1 api False"
    assert (tmp_path / "model.index").exists()


@pytest.mark.parametrize("exists", [True, False])
def test_migrate_refuses_to_overwrite_an_output_and_names_a_missing_script(tmp_path, exists):
    from graphmode.errors import MigrationError
    from graphmode.migrate.pipeline import migrate_script

    script = tmp_path / "train.py"
    if exists:
        script.write_text("print('never run')\n")
        (tmp_path / "train_tf2.py").write_text("# someone's work\n")
        with pytest.raises(MigrationError, match=r"train_tf2.py exists; pass --force"):
            migrate_script(str(script))
        assert (tmp_path / "train_tf2.py").read_text() == "# someone's work\n"
    else:
        with pytest.raises(MigrationError, match=r"cannot migrate .*train.py.*no such file"):
            migrate_script(str(script))


def test_the_cli_names_a_missing_script_and_exits_2(tmp_path):
    completed = subprocess.run([sys.executable, "-m", "graphmode", "migrate", str(tmp_path / "train.py")],
                               capture_output=True, text=True, timeout=120)
    assert completed.returncode == 2
    assert f"graphmode migrate: error: cannot migrate '{tmp_path / 'train.py'}': no such file" in completed.stderr


@pytest.mark.slow
def test_a_helper_module_beside_the_script_with_tf1_names_is_named_not_imported_silently(tmp_path):
    # migrate rewrites the script only: the program would import the helper as written and fail in TF2
    # (`module 'tensorflow' has no attribute 'random_normal'`) before its first step.
    from graphmode.migrate.pipeline import migrate_script

    (tmp_path / "tf1_helpers").mkdir()
    (tmp_path / "tf1_helpers" / "weights.py").write_text(
        "import tensorflow as tf\n"
        "\n"
        "\n"
        "def normal_variable(shape):\n"
        "    return tf.Variable(tf.random_normal(shape, stddev=0.1))\n"
        "\n"
        "\n"
        "def never_called():\n"
        "    return tf.placeholder(tf.float32)\n"
    )
    script = tmp_path / "fit_with_helper.py"
    shutil.copy(SCRIPTS / "fit_with_helper.py", script)
    migration = migrate_script(str(script), steps=3)
    assert migration.not_migrated == [(
        os.path.join("tf1_helpers", "weights.py") + ":5",
        "tf.random_normal: a TF1 name TensorFlow 2 has as tf.random.normal; the script imports tf1_helpers.weights "
        "(line 6) from its own folder, and migrate rewrites the script only: migrate that module too, or bring what "
        "the script uses from it into the script")], migration.not_migrated
    assert migration.status == "not migrated"
