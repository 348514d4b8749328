"""`graphmode run` on the TF1 scripts in tests/scripts/, each in its own process.

Every run costs a TensorFlow import, so the module starts them all at once
(two at a time) and each test waits for its own; each script checks several
things. Expected numbers are worked out in the comments, not copied from runs.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import preimported
import pytest
from banded_mnist import write_banded_mnist

from graphmode._runtime import has_gpu

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
HEADLESS_ENV = {key: value for key, value in os.environ.items() if key not in ("DISPLAY", "WAYLAND_DISPLAY", "MPLBACKEND")}


class Run(NamedTuple):
    returncode: int
    stdout: str
    stderr: str


def _graphmode() -> list[str]:
    found = shutil.which("graphmode") or shutil.which("graphmode", path=os.path.dirname(sys.executable))
    if found is None:
        pytest.fail("the graphmode console script is not installed; run pip install -e .")
    return [found]


def _run(command: list[str]) -> Run:
    # Each run is a process of its own, forked with graphmode already imported (tests/preimported.py).
    result = preimported.run(command, capture_output=True, text=True, timeout=300, env=HEADLESS_ENV, cwd=SCRIPTS)
    return Run(result.returncode, result.stdout, result.stderr)


def _script(name: str) -> str:
    return str(SCRIPTS / f"{name}.py")


def _line_of(name: str, start: str) -> int:
    """The 1-based line of the script that starts with ``start`` (so tests do not hard-code line numbers)."""
    lines = (SCRIPTS / f"{name}.py").read_text().splitlines()
    return next(number for number, line in enumerate(lines, start=1) if line.strip().startswith(start))


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    return {name: tmp_path_factory.mktemp(name) for name in ("checkpoints", "summaries", "placement", "mnist")}


@pytest.fixture(scope="module")
def runs(folders):
    graphmode = _graphmode()
    write_banded_mnist(folders["mnist"])
    commands = {
        "placeholders_session": [*graphmode, "run", _script("placeholders_session")],
        "variable_scope_collections": [*graphmode, "run", _script("variable_scope_collections")],
        "optimizers": [*graphmode, "run", _script("optimizers")],
        "device_placement": [
            *graphmode, "run", f"--placement={folders['placement'] / 'placement.json'}", _script("device_placement"),
        ],
        "saver_roundtrip": [*graphmode, "run", _script("saver_roundtrip"), str(folders["checkpoints"])],
        "layers_and_imports": [*graphmode, "run", _script("layers_and_imports")],
        "summary_writer": [*graphmode, "run", _script("summary_writer"), str(folders["summaries"])],
        "interactive_eval": [sys.executable, "-m", "graphmode", "run", "--placement", _script("interactive_eval")],
        "app_flags": [
            *graphmode, "run", _script("app_flags"), "--learning_rate=0.25", "--steps", "5", "extra", "--exit_code=3",
        ],
        "removed_symbols": [*graphmode, "run", _script("removed_symbols")],
        "raises": [*graphmode, "run", _script("raises")],
        "rnn_cell": [*graphmode, "run", _script("rnn_cell")],
        "mnist_tutorial": [*graphmode, "run", _script("mnist_tutorial"), str(folders["mnist"])],
        "spawn_child": [*graphmode, "run", _script("spawn_child"), "spawn"],
    }
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(_run, command) for name, command in commands.items()}
        yield {name: future.result for name, future in futures.items()}


def test_placeholders_session_and_feed_error(runs):
    run = runs["placeholders_session"]()
    assert run.returncode == 0, run.stderr
    assert re.search(r"^y 1\.0986\d*$", run.stdout, re.M), run.stdout  # log(1*1 + 1*2) = log 3
    assert "noise shape (3,)" in run.stdout
    assert "graphmode.session.engine.Session" in run.stdout  # tf.Session is graphmode's
    assert "bad feed: FeedError feed for placeholder 'x:0' has shape (1, 3); it expects (?, 2)" in run.stdout


def test_variable_scope_reuse_and_collections(runs):
    run = runs["variable_scope_collections"]()
    assert run.returncode == 0, run.stderr
    assert "trainable layer/w:0 layer/b:0 auto/w:0 auto/b:0" in run.stdout  # reuse added no variables
    assert "global count 4" in run.stdout
    assert "outputs 3.0 3.0" in run.stdout  # 2*0.5 + 4*0.5 + 0, the same weights both times
    assert "penalty 9.0" in run.stdout
    assert "duplicate: Variable layer/w already exists, disallowed" in run.stdout


def test_optimizers_match_their_update_rules_and_plot_does_not_block(runs):
    run = runs["optimizers"]()
    assert run.returncode == 0, run.stderr
    values = {m[1]: (float(m[2]), int(m[3])) for m in re.finditer(r"^(\w+) w=([-\d.]+) global_step=(\d+)$", run.stdout, re.M)}
    # loss (w-3)^2 at w=0 has gradient -6.
    expected = {
        "sgd": (0.1 * 6, 1),
        # v1 = -6, w = 0.6; gradient 2*(0.6-3) = -4.8, v2 = 0.9*-6 - 4.8 = -10.2, w = 0.6 + 1.02.
        "momentum": (1.62, 2),
        # Adam's first step moves by lr (m_hat / sqrt(v_hat) = g/|g|), up to epsilon.
        "adam": (0.1, 1),
        # accumulator 0.1 + 36.
        "adagrad": (0.1 * 6 / math.sqrt(36.1), 1),
        # TF1 RMSProp starts its mean square at 1: 0.9*1 + 0.1*36 = 4.5.
        "rmsprop": (0.1 * 6 / math.sqrt(4.5), 1),
    }
    assert set(values) == set(expected), run.stdout
    for name, (want, steps) in expected.items():
        assert values[name][0] == pytest.approx(want, abs=2e-6), (name, values[name], want)
        assert values[name][1] == steps, name
    assert "plot shown" in run.stdout  # plt.show() returned in a headless run
    assert "cannot be shown" not in run.stderr


def test_gpu_pinned_ops_run_on_cpu_with_one_note_and_placement_json(runs, folders):
    run = runs["device_placement"]()
    assert run.returncode == 0, run.stderr
    assert "total 9.0" in run.stdout and "total again 12.0" in run.stdout  # 3*(1+2), 3*(2+2)
    report = json.loads((folders["placement"] / "placement.json").read_text())
    assert [entry["session"] for entry in report] == [1]
    records = {record["op_name"]: record for record in report[0]["placement"]}
    assert records["gpu_mul"]["requested_device"] == "/device:GPU:0"
    assert "wrote the placement of 1 session(s)" in run.stderr
    if has_gpu():
        assert "is_gpu_available True" in run.stdout
        return
    assert "gpu_mul ran on device:CPU:0" in run.stdout
    assert "is_gpu_available False" in run.stdout
    assert records["gpu_mul"]["fell_back"] is True
    notes = re.findall(r"^graphmode: op '.*' asks for /device:GPU:0, but this machine has no GPU", run.stderr, re.M)
    assert len(notes) == 1, run.stderr  # two runs, one note


def test_saver_saves_and_restores_in_the_given_folder(runs, folders):
    run = runs["saver_roundtrip"]()
    assert run.returncode == 0, run.stderr
    assert "saved model.ckpt-7 [1.5, -0.75]" in run.stdout  # [1, -1] + [0.5, 0.25]
    assert "restored model.ckpt-7 [1.5, -0.75]" in run.stdout
    assert (folders["checkpoints"] / "model.ckpt-7.index").exists()


def test_layers_dense_and_submodule_imports(runs):
    run = runs["layers_and_imports"]()
    assert run.returncode == 0, run.stderr
    assert "dense [[3.5, 3.5, 3.5]]" in run.stdout  # ones kernel: 1 + 2, bias 0.5
    assert "compat.v1 is tf True" in run.stdout
    assert "keras Dense is a class True" in run.stdout
    assert "ops default graph True" in run.stdout
    assert "trainable ['dense/kernel:0', 'dense/bias:0']" in run.stdout


def test_summary_file_writer(runs, folders):
    run = runs["summary_writer"]()
    assert run.returncode == 0, run.stderr
    for step in range(3):
        assert f"step {step} loss {2.0 * step}" in run.stdout
    assert list(folders["summaries"].glob("events.out.tfevents.*"))


def test_interactive_session_eval_and_placement_table(runs):
    run = runs["interactive_eval"]()
    assert run.returncode == 0, run.stderr
    assert "eval 4.0" in run.stdout
    assert "after assign 5.0 10.0" in run.stdout
    assert "default session True True" in run.stdout
    assert "graphmode: placement for session 1 of 1 (InteractiveSession, target local):" in run.stderr
    assert re.search(r"^op\s+type\s+requested\s+assigned$", run.stderr, re.M), run.stderr
    assert re.search(r"^v\s+VariableV2\s", run.stderr, re.M), run.stderr


def test_app_flags_parse_the_scripts_arguments_and_main_sets_the_exit_code(runs):
    run = runs["app_flags"]()
    assert run.returncode == 3, run.stderr
    assert "learning_rate=0.25 steps=5 name=default" in run.stdout
    assert "rest ['extra']" in run.stdout
    assert "INFO:tensorflow:training default for 5 steps" in run.stderr


def test_removed_symbols_fail_naming_symbol_line_and_replacement(runs):
    run = runs["removed_symbols"]()
    path = _script("removed_symbols")
    import_line = _line_of("removed_symbols", "from tensorflow.contrib")
    estimator_line = _line_of("removed_symbols", "classifier = tf.estimator")
    assert run.returncode == 1
    assert (
        f"import failed: RemovedModuleError {path}:{import_line}: tensorflow.contrib.crf "
        "was dropped from TensorFlow 2"
    ) in run.stdout
    assert "no maintained successor" in run.stdout
    assert "has estimator False" in run.stdout
    assert "not reached" not in run.stdout
    assert run.stderr.startswith(f'Traceback (most recent call last):\n  File "{path}", line {estimator_line}, in <module>')
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith(f"graphmode.errors.RemovedSymbolError: {path}:{estimator_line}: "
                           "tf.estimator.DNNClassifier was dropped"), last
    assert "removed in TensorFlow 2.16" in last and "tf.keras.Model" in last
    for runner_file in ("legacy/runner.py", "legacy/api.py", "runpy"):
        assert runner_file not in run.stderr


def test_script_that_raises_exits_1_with_its_own_traceback(runs):
    run = runs["raises"]()
    path = _script("raises")
    assert run.returncode == 1
    assert run.stdout == "starting\n"
    assert (
        f'File "{path}", line {_line_of("raises", "train()")}, in <module>\n'
        f'    train()\n  File "{path}", line {_line_of("raises", "return sess.run")}, in train'
    ) in run.stderr
    assert "UninitializedVariableError: the run read 1 uninitialized variable(s): 'weights' (shape (3, 2), float32)" in run.stderr
    assert "legacy/runner.py" not in run.stderr and "runpy" not in run.stderr


def test_rnn_cell_matches_numpy_lstm(runs):
    run = runs["rnn_cell"]()
    assert run.returncode == 0, run.stderr
    assert "outputs shape (2, 3, 4) state shape (2, 4)" in run.stdout
    diffs = re.search(r"max abs diff vs numpy (\S+) (\S+)", run.stdout)
    assert diffs, run.stdout
    assert float(diffs[1]) < 1e-5 and float(diffs[2]) < 1e-5


def _run_in_process(arguments: list[str], capsys) -> Run:
    # Usage errors and a missing script are caught before run_script switches
    # the process to the TF1 API, so the handler can run inside pytest.
    from graphmode import cli

    code = cli.main(["run", *arguments])
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ([], "SCRIPT is missing"),
        (["--placement"], "SCRIPT is missing"),
        (["--verbose", "x.py"], "unknown option '--verbose' before SCRIPT (options for the script go after SCRIPT)"),
        (["--placement=", "x.py"], "--placement= needs a file name"),
        (["--animations=show", "x.py"], "--animations=show: choose one of save, run, off"),
    ],
)
def test_run_usage_errors(arguments, message, capsys):
    run = _run_in_process(arguments, capsys)
    assert run.returncode == 2
    assert run.stderr.startswith(
        "usage: graphmode run [-h] [--placement[=FILE.json]] [--animations={save,run,off}] "
        "[--record DIR [--record-steps N] [--record-max-bytes B]] SCRIPT [ARGS...]\n")
    assert message in run.stderr


def test_run_help(capsys):
    run = _run_in_process(["--help"], capsys)
    assert run.returncode == 0
    assert "--placement=FILE.json" in run.stdout


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["no_such_script.py"], "cannot run 'no_such_script.py': no such file"),
        ([str(SCRIPTS)], f"cannot run {str(SCRIPTS)!r}: it is a directory; give the .py file to run"),
        (["--placement=no_such_folder/p.json", _script("raises")],
         "cannot write the placement report to 'no_such_folder/p.json': folder"),
    ],
)
def test_bad_script_or_placement_path_is_a_usage_error(arguments, message, capsys):
    run = _run_in_process(arguments, capsys)
    assert run.returncode == 2
    assert run.stderr.startswith("graphmode run: error: cannot ")
    assert message in run.stderr


def test_mnist_tutorial_reads_its_folder_trains_and_its_plot_waits_return(runs, folders):
    run = runs["mnist_tutorial"]()
    assert run.returncode == 0, run.stderr
    assert "sizes 100 20 10" in run.stdout  # 120 training examples, the first 20 for validation
    assert "contrib loader is the same True" in run.stdout
    assert f"Extracting {folders['mnist'] / 'train-images-idx3-ubyte.gz'}" in run.stdout
    assert run.stderr.count(f"graphmode: MNIST from {folders['mnist']} (the folder the script names)") == 1
    assert "batch shapes (30, 784) (30, 10)" in run.stdout
    # Zero weights give a uniform softmax: the first loss is ln 10 whatever the batch.
    first_loss = float(re.search(r"^first loss (\S+)$", run.stdout, re.M)[1])
    assert first_loss == pytest.approx(math.log(10), abs=1e-6)
    assert "epochs completed 1" in run.stdout  # batches 0-30, 30-60, 60-90, then 90+30 > 100
    # One band per digit: linearly separable, and 44 steps of lr 0.5 separate the 10 test images.
    assert "test accuracy 1.0" in run.stdout
    # With graphmode's headless backend the waits return as if timed out.
    assert "button None" in run.stdout and "clicks []" in run.stdout
    assert "backend waits returned" in run.stdout


def test_spawn_children_get_the_tf1_api(runs):
    run = runs["spawn_child"]()
    assert run.returncode == 0, run.stderr
    assert "spawn exit 0 result 6.0" in run.stdout, run.stdout + run.stderr  # 2 * (1 + 2)
    assert "has no attribute 'placeholder'" not in run.stderr


@pytest.mark.slow
def test_forkserver_and_fork_children_get_the_tf1_api():
    # Each child of a fork server is a fresh interpreter importing TensorFlow: slow tier.
    run = _run([*_graphmode(), "run", _script("spawn_child"), "forkserver", "fork"])
    assert run.returncode == 0, run.stderr
    for method in ("forkserver", "fork"):
        assert f"{method} exit 0 result 6.0" in run.stdout, run.stdout + run.stderr
