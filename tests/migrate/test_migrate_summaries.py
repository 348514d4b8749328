"""TF1 summaries migrated: the fetched summary becomes a dict of its values, add_summary a TF2 writer block."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from graphmode.migrate.calls import find_run_calls
from graphmode.migrate.forbidden import forbidden_constructs
from graphmode.migrate.splice import splice_statement
from graphmode.migrate.summaries import summary_edits, summary_values, writer_replacement

SCRIPTS = Path(__file__).resolve().parent / "scripts"
REPOSITORY = Path(__file__).resolve().parents[2]


def _capture(**extra):
    """A recording with a merged summary of the loss (a scalar) and the weights (a histogram)."""
    capture = {
        "bindings": {"x": "x:0", "w": "w", "loss": "Mean:0", "train": "GradientDescent", "merged": "Merge/MergeSummary:0",
                     "loss_only": "mse:0"},
        "placeholders": {"x": {"dtype": "float32", "shape": [None, 2]}},
        "variables": [{"name": "w", "line": 3}],
        "train_ops": {"GradientDescent": {"loss": "Mean:0", "line": 5}},
        "call_sites": [],
        "ops": {},
        "unmigratable_ops": [],
        "summaries": {
            "Merge/MergeSummary:0": {"line": 7, "problem": None, "values": [
                {"tag": "loss/mse", "kind": "scalar", "tensor": "Mean:0"},
                {"tag": "weights", "kind": "histogram", "tensor": "w/read:0"}]},
            "mse:0": {"line": 6, "problem": None, "values": [{"tag": "loss/mse", "kind": "scalar", "tensor": "Mean:0"}]},
        },
        "summary_writes": {"4": [["loss/mse", "scalar"], ["weights", "histogram"]]},
    }
    capture.update(extra)
    return capture


def test_a_fetched_summary_becomes_the_dict_of_the_values_it_summarized_under_tf1_tags():
    assert summary_values("Merge/MergeSummary:0", _capture(), training=False) == (
        "{'loss/mse': loss, 'weights': tf.identity(w)}", "")
    assert summary_values("mse:0", _capture(), training=True) == ("{'loss/mse': loss}", "")


@pytest.mark.parametrize("tensor, capture, training, reason", [
    ("Merge/MergeSummary:0", _capture(), True, "TF1 read it before the update, a TF2 step returns it after"),
    ("mse:0", _capture(bindings={"merged": "Merge/MergeSummary:0"}), False,
     "summarizes Mean:0, which no Python name holds; hold the summarized tensor in a name"),
    ("img:0", _capture(summaries={"img:0": {"line": 2, "values": [], "problem": "img is a ImageSummary summary"}}),
     False, "img is a ImageSummary summary"),
])
def test_summaries_migrate_cannot_write_say_why(tensor, capture, training, reason):
    values, problem = summary_values(tensor, capture, training)
    assert values == "" and reason in problem, problem


def test_add_summary_becomes_a_writer_block_with_the_tags_the_recording_saw_and_the_writer_is_tf2s():
    source = ("writer = tf.summary.FileWriter(logdir, sess.graph)\n"
              "for step in range(3):\n"
              "    summary = sess.run(merged)\n"
              "    writer.add_summary(summary, step * 2)\n"
              "    writer.add_graph(sess.graph)\n")
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    capture = _capture(source=source)
    edits, problems = summary_edits(tree.body[0], source, capture)
    assert problems == []
    assert splice_statement(lines, tree.body[0], edits) == "writer = tf.summary.create_file_writer(logdir)\n"
    edits, problems = summary_edits(tree.body[1], source, capture)
    assert problems == []
    assert splice_statement(lines, tree.body[1], edits) == (
        "for step in range(3):\n"
        "    summary = sess.run(merged)\n"
        "    with writer.as_default(step=step * 2):\n"
        "        tf.summary.scalar('loss/mse', summary['loss/mse'])\n"
        "        tf.summary.histogram('weights', summary['weights'])\n")


@pytest.mark.parametrize("source, reason", [
    ("writer.add_summary(summary, 1)\n", "this add_summary never ran while migrate recorded the script"),
    ("\n\n\nwriter.add_summary(sess.run(merged), 1)\n", "add_summary of a value no name holds"),
])
def test_add_summary_calls_migrate_cannot_write_say_why(source, reason):
    _, problems = summary_edits(ast.parse(source).body[0], source, _capture(source=source))
    assert len(problems) == 1 and reason in problems[0][1], problems


def test_file_writer_arguments_become_create_file_writers():
    def written(text: str) -> str | None:
        return writer_replacement(ast.parse(text, mode="eval").body, text)

    assert written("tf.summary.FileWriter('logs', graph=g, flush_secs=5)") == (
        "tf.summary.create_file_writer('logs', flush_millis=int(1000 * (5)))")
    assert written("tf.train.SummaryWriter(logdir=path)") == "tf.summary.create_file_writer(path)"
    assert written("tf.summary.FileWriter('logs', session=sess)") is None


def test_a_train_run_fetching_a_merged_summary_returns_its_values_beside_the_loss():
    source = "import tensorflow as tf\nsess = tf.Session()\n_, s = sess.run([train, merged], {x: data})\n"
    capture = _capture(source=source, bindings=dict(_capture()["bindings"], merged="mse_merge:0"),
                       summaries={"mse_merge:0": _capture()["summaries"]["mse:0"]},
                       call_sites=[{"line": 3, "fetches": ["GradientDescent", "mse_merge:0"], "feeds": ["x:0"]}])
    [call] = find_run_calls(ast.parse(source), capture)
    assert call.problem == "", call.problem
    assert call.signature.return_expression() == "[None, {'loss/mse': loss}]"
    assert call.signature.tensor_names == ("loss",)


def _events(folder: Path) -> dict[str, dict[int, np.ndarray]]:
    """tag -> step -> value, from every event file under ``folder`` (TF1 simple values, TF2 tensors)."""
    from graphmode._runtime import tf

    found: dict[str, dict[int, np.ndarray]] = {}
    for path in sorted(folder.glob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                kind = value.WhichOneof("value")
                if kind == "simple_value":
                    data = np.float32(value.simple_value)
                elif kind == "histo":
                    data = np.array([value.histo.min, value.histo.max, value.histo.num])
                else:
                    data = tf.make_ndarray(value.tensor)
                    if value.metadata.plugin_data.plugin_name == "histograms":  # buckets: [left, right, count]
                        data = np.array([data[0, 0], data[-1, 1], data[:, 2].sum()])
                found.setdefault(value.tag, {})[event.step] = data
    return found


@pytest.mark.slow
def test_a_script_writing_tf1_summaries_migrates_is_proven_and_writes_the_same_values(tmp_path):
    from graphmode.migrate.pipeline import migrate_script

    script = tmp_path / "summaries_demo.py"
    shutil.copy(SCRIPTS / "summaries_demo.py", script)
    migration = migrate_script(str(script), steps=10, args=["--steps", "30", "--logdir", str(tmp_path / "recorded")])
    assert migration.not_migrated == []
    assert migration.status == "migrated and proven", migration.verdict
    program = Path(migration.output).read_text()
    assert forbidden_constructs(program) == []
    assert "        tf.summary.scalar('loss/mse', summary['loss/mse'])\n" in program

    tf1, tf2 = _written_events(tmp_path, script, Path(migration.output),
                               lambda side: ["--steps", "30", "--logdir", str(tmp_path / side)])
    assert set(tf2) == set(tf1) == {"loss/mse", "prediction", "weights"}, (set(tf1), set(tf2))
    _assert_same_events(tf1, tf2)


def _written_events(tmp_path: Path, script: Path, program: Path, arguments=lambda side: [],
                    folder: str | None = None) -> tuple[dict, dict]:
    """What the original (graphmode's TF1 API) and the program (Keras 3) wrote, read back in this process.

    Each side writes to ``tmp_path/<side>`` through its ``arguments(side)``, or to ``folder``, moved there after.
    """
    env = dict(os.environ, PYTHONPATH=str(REPOSITORY))
    env.pop("TF_USE_LEGACY_KERAS", None)
    for command, side in [([sys.executable, "-m", "graphmode", "run", str(script)], "tf1"),
                          ([sys.executable, str(program)], "tf2")]:
        completed = subprocess.run([*command, *arguments(side)], cwd=tmp_path, env=env, capture_output=True,
                                   text=True, timeout=600)
        assert completed.returncode == 0, completed.stderr[-3000:]
        if folder is not None:
            shutil.move(tmp_path / folder, tmp_path / side)
    return _events(tmp_path / "tf1"), _events(tmp_path / "tf2")


def _assert_same_events(tf1: dict, tf2: dict, rtol: float = 1e-5, atol: float = 1e-6) -> None:
    for tag in tf1:
        assert sorted(tf2[tag]) == sorted(tf1[tag]), (tag, sorted(tf1[tag]), sorted(tf2[tag]))
        for step, value in tf1[tag].items():
            np.testing.assert_allclose(tf2[tag][step], value, rtol=rtol, atol=atol,
                                       err_msg=f"{tag} at step {step}: program (TF2) vs original (TF1)")


def test_a_fetched_summary_is_recorded_as_its_scalars_by_tag_and_its_histograms_not_kept():
    from graphmode._runtime import tf
    from graphmode.migrate.run_values import NotKept
    from graphmode.migrate.summaries import decoded_summaries

    v1 = tf.compat.v1
    with tf.Graph().as_default():
        a = v1.placeholder(tf.float32, [3])
        total = tf.reduce_sum(a)
        merged = v1.summary.merge([v1.summary.scalar("total", total), v1.summary.histogram("a", a)])
        with v1.Session() as sess:
            fetches = [merged, total]
            result = sess.run(fetches, {a: [1.0, 2.0, 3.5]})
    decoded = decoded_summaries(fetches, result)
    assert decoded[1] == np.float32(6.5)
    assert decoded[0]["total"] == np.float32(6.5) and decoded[0]["total"].dtype == np.float32
    assert decoded[0]["a"] == NotKept("the histogram 'a': TF1 wrote its buckets, not its values")


@pytest.mark.slow
def test_a_script_that_trains_nothing_is_proven_by_its_summarized_scalars(tmp_path):
    from graphmode.migrate.pipeline import migrate_script

    script = tmp_path / "summaries_values.py"
    shutil.copy(SCRIPTS / "summaries_values.py", script)
    migration = migrate_script(str(script), args=[str(tmp_path / "recorded")])
    assert migration.status == "migrated and proven", migration.verdict
    compared = [row["name"] for row in migration.verdict["run_values"]["compared"]]
    assert compared.count("[0]['total']") == 3, compared
    assert any("the histogram 'spread': TF1 wrote its buckets" in why
               for why in migration.verdict["run_values"]["not_compared"])
    assert forbidden_constructs(Path(migration.output).read_text()) == []


@pytest.mark.slow
def test_summaries_in_the_scripts_own_layer_function_are_returned_by_the_module_instances(tmp_path):
    from graphmode.migrate.pipeline import migrate_script

    script = tmp_path / "summaries_helper.py"
    shutil.copy(SCRIPTS / "summaries_helper.py", script)
    migration = migrate_script(str(script), steps=10)
    assert migration.status == "migrated and proven", migration.verdict
    program = Path(migration.output).read_text()
    assert forbidden_constructs(program) == []
    assert "'hidden/kernel_1': tf.identity(model.dense.kernel)" in program
    shutil.rmtree(tmp_path / "helper_logs")  # written by the recording and the proof
    tf1, tf2 = _written_events(tmp_path, script, Path(migration.output), folder="helper_logs")
    assert set(tf2) == set(tf1) == {"hidden/kernel_1", "hidden/out", "fit/kernel_1", "fit/out", "loss"}, set(tf1)
    # Each side trains on its own here (no lockstep): 30 Adam steps drift apart by rounding, about 1e-5 relative.
    _assert_same_events(tf1, tf2, rtol=1e-4, atol=1e-5)


def test_a_layer_functions_scopes_unwrap_and_its_summary_statements_go():
    from graphmode.migrate.modules import statements
    from graphmode.migrate.summaries import place_variables

    body = ast.parse(textwrap.dedent('''
        with tf.name_scope(scope):
            kernel = tf.Variable(tf.zeros([2, 2]))
            tf.summary.histogram("kernel", kernel)
            with tf.variable_scope("inner"):
                out = tf.matmul(inputs, kernel)
        with tf.control_dependencies([out]):
            out = tf.identity(out)
        ''')).body
    assert [ast.unparse(node).split("\n")[0] for node in statements(body)] == [
        "kernel = tf.Variable(tf.zeros([2, 2]))", "out = tf.matmul(inputs, kernel)",
        "with tf.control_dependencies([out]):"]
    assert place_variables("{'k': tf.identity(__tf1_variable__('hidden/kernel'))}",
                           {"hidden/kernel": "model.dense.kernel"}) == "{'k': tf.identity(model.dense.kernel)}"


def test_a_summary_a_layer_function_makes_inside_another_statement_is_refused_with_its_line():
    from graphmode.migrate.modules import ModuleError, ModulePlanner

    source = textwrap.dedent('''\
        def dense(inputs, n_in):
            kernel = tf.Variable(tf.zeros([n_in, 1]))
            out = tf.matmul(inputs, kernel)
            logged = tf.summary.histogram("out", out)
            return out
        hidden = dense(x, 2)
        ''')
    tree = ast.parse(source)
    capture = _capture(bindings={"x": "x:0", "hidden": "MatMul:0"}, variables=[{"name": "Variable", "line": 6}])
    planner = ModulePlanner(tree, source, capture, set())
    planner.plan_statement(tree.body[1], "hidden = dense(x, 2)\n")
    with pytest.raises(ModuleError, match=r"dense\(\) makes a summary inside a statement \(line 4\)"):
        planner.class_code("dense")
