"""Run calls and control structure migrated end to end: named feed dicts, expression fetches, if blocks."""

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

SCRIPTS = Path(__file__).resolve().parent / "scripts"
TRACE_SCRIPTS = Path(__file__).resolve().parents[1] / "trace" / "scripts"
REPOSITORY = Path(__file__).resolve().parents[2]
GRAPHMODE_ENV = dict(os.environ, PYTHONPATH=str(REPOSITORY))


def _migrate(tmp_path, source: Path, steps: int, args: list[str]):
    from graphmode.migrate.pipeline import migrate_script

    script = tmp_path / source.name
    shutil.copy(source, script)
    return migrate_script(str(script), steps=steps, args=args), script


def _assert_no_tf1(program: str) -> ast.Module:
    assert forbidden_constructs(program) == []
    tree = ast.parse(program)
    keywords = {node.arg for node in ast.walk(tree) if isinstance(node, ast.keyword)}
    attributes = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    assert "feed_dict" not in keywords
    assert not {"Session", "placeholder", "run", "eval"} & attributes
    return tree


def test_an_if_building_placeholders_variables_and_loss_and_a_named_feed_dict_migrate_and_are_proven(tmp_path):
    migration, _ = _migrate(tmp_path, TRACE_SCRIPTS / "regress_a.py", 10, ["--steps", "30"])
    assert migration.not_migrated == []
    assert migration.status == "migrated and proven", migration.verdict
    program = open(migration.output, encoding="utf-8").read()
    tree = _assert_no_tf1(program)
    # The script's if stays, once per kind: placeholder shapes at module level, variables in the Model,
    # the loss in the training step.
    tests = [ast.unparse(node.test) for node in ast.walk(tree) if isinstance(node, ast.If)]
    assert tests.count("args.variant == 'stochastic'") == 4  # specs, Model, step, and the script's own loop
    assert 'feed = {"x_data": [x_vals[index]], "y_target": [y_vals[index]]}' in program
    assert "numpy(train_step(**feed))" in program
    # The branch that did not run is migrated from its source, and migrate says the check did not cover it.
    assert any(note.startswith("line 21: the if's statements at line(s) 27, 28, 29, 30 built nothing while recorded")
               for note in migration.notes), migration.notes


@pytest.mark.slow
def test_the_other_branch_of_the_if_is_proven_when_recorded(tmp_path):
    migration, _ = _migrate(tmp_path, TRACE_SCRIPTS / "regress_a.py", 10, ["--steps", "30", "--variant", "batch"])
    assert migration.status == "migrated and proven", migration.verdict


@pytest.mark.slow
def test_feeds_in_names_and_expression_fetches_migrate_are_proven_and_run_alone(tmp_path):
    migration, script = _migrate(tmp_path, SCRIPTS / "feeds_in_names.py", 20, ["--steps", "40"])
    assert migration.not_migrated == []
    assert migration.status == "migrated and proven", migration.verdict
    program = open(migration.output, encoding="utf-8").read()
    tree = _assert_no_tf1(program)
    functions = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    assert {"train", "compute_loss_w_b", "compute_logits", "compute_reduce_sum_w_plus_b"} <= functions
    assert 'return {"x": points[start : start + 32], "y": truth[start : start + 32]}' in program
    assert 'everything["y"] = truth' in program
    env = {k: v for k, v in os.environ.items() if k not in ("TF_USE_LEGACY_KERAS", "PYTHONPATH")}
    migrated = subprocess.run([sys.executable, migration.output, "--steps", "40"], capture_output=True, text=True,
                              env=env, cwd=tmp_path, timeout=300)
    assert migrated.returncode == 0, migrated.stderr[-2000:]
    graph = subprocess.run([sys.executable, "-m", "graphmode", "run", str(script), "--steps", "40"],
                           capture_output=True, text=True, cwd=tmp_path, env=GRAPHMODE_ENV, timeout=300)
    assert graph.returncode == 0, graph.stderr[-2000:]
    # The weights start at zero and full-batch evaluations are deterministic: both print the same numbers.
    lines = [line for line in migrated.stdout.splitlines() if line.startswith(("step", "weights"))]
    reference = [line for line in graph.stdout.splitlines() if line.startswith(("step", "weights"))]
    assert len(lines) == len(reference) == 3
    for ours, theirs in zip(lines, reference):
        numbers = [[float(n) for n in re.findall(r"-?\d+\.\d+(?:e-?\d+)?", line)] for line in (ours, theirs)]
        assert len(numbers[0]) >= 1
        assert numbers[0] == pytest.approx(numbers[1], rel=1e-5, abs=1e-6), (ours, theirs)


@pytest.mark.slow
def test_each_remaining_refusal_names_file_line_and_why(tmp_path):
    script = tmp_path / "refused_runs.py"
    shutil.copy(SCRIPTS / "refused_runs.py", script)
    result = subprocess.run([sys.executable, "-m", "graphmode", "migrate", "--steps", "3", str(script)],
                            capture_output=True, text=True, cwd=tmp_path, env=GRAPHMODE_ENV, timeout=600)
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert "NOT MIGRATED refused_runs.py:19: a compound statement (if) that makes the training op" in out
    assert "NOT MIGRATED refused_runs.py:29: it feeds scores (MatMul:0), which is not a placeholder" in out
    assert "NOT MIGRATED refused_runs.py:31: the fetch 'loss * scale' reads the Python value 'scale'" in out
    program = (tmp_path / "refused_runs_tf2.py").read_text()
    assert program.count("graphmode migrate: NOT MIGRATED") == 3


@pytest.mark.slow
def test_a_script_fed_through_a_sparse_placeholder_is_not_migrated_and_says_where_and_why(tmp_path):
    script = tmp_path / "sparse_feed.py"
    shutil.copy(TRACE_SCRIPTS / "sparse_feed.py", script)
    result = subprocess.run([sys.executable, "-m", "graphmode", "migrate", "--steps", "2", str(script)],
                            capture_output=True, text=True, cwd=tmp_path, env=GRAPHMODE_ENV, timeout=600)
    assert result.returncode == 1, result.stdout + result.stderr
    assert ("NOT MIGRATED sparse_feed.py:5: tf.sparse_placeholder: a sparse feed (tf.SparseTensorValue) cannot be "
            "recorded") in result.stdout, result.stdout + result.stderr
    program = (tmp_path / "sparse_feed_tf2.py").read_text()
    assert "# ids = tf.sparse_placeholder(tf.float32, name=\"ids\")" in program
