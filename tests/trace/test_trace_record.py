"""`graphmode run --record`: the script computes what it computes without it, and the trace says what happened."""

from __future__ import annotations

import json
import re
import sys

import numpy as np
import preimported
import pytest
from trace_runs import SCRIPTS, record, run_plain

from graphmode.errors import TraceError
from graphmode.trace import Trace


def _printed_variables(stdout: str) -> dict[str, np.ndarray]:
    # Lines "name [values...]" / "name: [values...]" / "global_step 20": float32 values printed as float64 lists,
    # which name each float32 exactly.
    found = {}
    for line in stdout.splitlines():
        match = re.match(r"^([\w/]+):? (\[.*\]|-?\d+)$", line)
        if match:
            found[match.group(1)] = np.array(json.loads(match.group(2)))
    return found


@pytest.mark.parametrize(("script", "steps", "names"), [
    # Adam: slots and counters read after every step must not disturb the next one.
    ("sigmoid_classifier.py", ("--steps", "60"), {"w1", "w2"}),
    # Dropout (a random op in every step), a resource variable, a decayed learning rate, a finalized graph.
    ("dropout_net.py", (), {"w1", "b1", "w2", "global_step", "w1/Momentum", "b1/Momentum", "w2/Momentum"}),
])
def test_recording_changes_nothing_the_script_computes(tmp_path, script, steps, names):
    plain = run_plain(script, *steps)
    recorded = record(script, tmp_path / "trace", *steps)
    assert plain.returncode == recorded.returncode == 0, plain.stderr + recorded.stderr
    assert recorded.stdout == plain.stdout
    printed = _printed_variables(plain.stdout)
    assert set(printed) == names
    trace = Trace(tmp_path / "trace")
    assert trace.complete and trace.state_steps[-1] == trace.steps
    last = trace.state(trace.steps)
    for name, value in printed.items():
        assert last[name].tobytes() == value.astype(last[name].dtype).tobytes(), name


def test_adam_trace_describes_the_optimizer_and_its_state(tmp_path):
    result = record("sigmoid_classifier.py", tmp_path / "trace", "--steps", "3")
    assert result.returncode == 0, result.stderr
    trace = Trace(tmp_path / "trace")
    assert trace.loss_name == "Neg:0" and trace.loss(1) is None  # not fetched in the train runs
    assert trace.optimizer.kind == "AdamOptimizer"
    assert trace.optimizer.hyperparameters == {"learning_rate": 0.001, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}
    roles = {v.name: (v.role, v.slot_of, v.slot_name) for v in trace.variables}
    assert roles["w1/Adam_1"] == ("slot", "w1", "Adam_1") and roles["beta1_power"][0] == "counter"
    # beta1_power starts at beta1 and is multiplied by beta1 once per step (in float32).
    assert trace.state(0)["beta1_power"] == np.float32(0.9)
    assert trace.state(2)["beta1_power"] == np.float32(0.9) * np.float32(0.9) * np.float32(0.9)
    assert not trace.state(0)["w2/Adam"].any()
    assert "graphmode: recorded 3 train step(s) of session 1 (train op 'Adam', loss Neg:0)" in result.stderr


def test_decayed_learning_rate_is_named_as_varying(tmp_path):
    result = record("dropout_net.py", tmp_path / "trace", options=("--record-steps", "2"))
    assert result.returncode == 0, result.stderr
    trace = Trace(tmp_path / "trace")
    assert trace.steps == 2 and trace.ended == "steps"
    assert trace.optimizer.hyperparameters == {"learning_rate": 0.1, "momentum": 0.9, "use_nesterov": False}
    assert trace.optimizer.varying == trace.optimizer.per_step == ("learning_rate",)
    # exponential_decay(0.1, global_step, 5, 0.5): step k runs with global_step k - 1.
    assert [trace.hyperparameters(k)["learning_rate"] for k in (1, 2)] == [0.1, pytest.approx(0.1 * 0.5 ** 0.2)]
    assert [v.role for v in trace.variables if v.name == "global_step"] == ["counter"]
    assert trace.state(2)["global_step"] == 2


def test_state_checkpoints_read_with_checkpoint_inspect(regress_trace):
    result = preimported.run([sys.executable, "-m", "graphmode", "checkpoint", "inspect",
                              str(regress_trace / "state" / "step-000005")], capture_output=True, text=True,
                             timeout=120)
    assert result.returncode == 0, result.stderr
    assert "A" in result.stdout


def test_a_script_that_never_trains_records_nothing_and_says_why(tmp_path):
    result = record("never_trains.py", tmp_path / "trace")
    assert result.returncode == 0
    assert result.stdout == "[0.]\n[2.]\n[4.]\n"
    assert "graphmode: recorded no train step to" in result.stderr
    assert "none of its 4 Session.run call(s) in 1 session(s) fetched an op that writes a trainable" in result.stderr
    with pytest.raises(TraceError, match=r"holds no recorded train step .* the script ran no train step"):
        Trace(tmp_path / "trace")


def test_a_script_without_a_session_records_nothing_and_says_why(tmp_path):
    result = record("no_session.py", tmp_path / "trace")
    assert (result.returncode, result.stdout) == (0, "add:0\n")
    assert "the script ran no Session.run on a session of graphmode's TF1 API (tf.Session" in result.stderr
    with pytest.raises(TraceError, match=r"MonitoredTrainingSession or an Estimator are not watched"):
        Trace(tmp_path / "trace")


def test_a_train_run_before_initialization_is_not_step_1(tmp_path):
    result = record("trains_before_init.py", tmp_path / "trace")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "not initialized yet"
    trace = Trace(tmp_path / "trace")
    assert trace.steps == 3 and trace.index["session"]["runs_before_step_1"] == 2
    assert trace.state(0)["w"] == np.float32(1.0)


def test_two_train_ops_records_the_first_and_names_the_other(tmp_path):
    result = record("two_train_ops.py", tmp_path / "trace")
    assert result.returncode == 0, result.stderr
    trace = Trace(tmp_path / "trace")
    assert trace.train_op_name == "train_a" and trace.steps == 4
    assert trace.loss_name == "loss_a:0"
    others = trace.index["other_train_runs"]
    assert [(o["session"], o["train_op"], o["runs"]) for o in others] == [(1, "train_b", 4), (2, "train_a", 2)]
    assert "not recorded: train op 'train_b' of session 1 (4 run(s)" in result.stderr
    assert "not recorded: train op 'train_a' of session 2 (2 run(s)" in result.stderr


def test_a_sparse_feed_is_refused_clearly_and_the_script_runs_on(tmp_path):
    result = record("sparse_feed.py", tmp_path / "trace")
    assert result.returncode == 0, result.stderr
    # Two steps of w -= 0.1 * gradient, the gradient of sum(ids @ w) being ids' column sums (0, 1, 0, 2).
    assert json.loads(result.stdout) == pytest.approx([1.0, 0.8, 1.0, 0.6], rel=1e-6)
    assert "graphmode: recording stopped after 0 recorded step(s): TraceError: step feeds a sparse placeholder" \
        in result.stderr
    index = json.loads((tmp_path / "trace" / "trace.json").read_text())
    assert (index["ended"], index["steps_recorded"]) == ("unrecordable", 0)


@pytest.mark.parametrize(("how", "code", "ended"), [("interrupt", 130, "interrupted"), ("error", 1, "error"),
                                                     ("kill", -9, "recording"), ("exit", 3, "exit")])
def test_a_recording_cut_short_holds_the_steps_before(tmp_path, how, code, ended):
    result = record("stops_early.py", tmp_path / "trace", how)
    assert result.returncode == code
    trace = Trace(tmp_path / "trace")
    assert (trace.steps, trace.complete, trace.ended) == (4, False, ended)
    assert trace.state_steps == (0, 1, 2, 3, 4)
    assert trace.feeds(4)["x:0"].tolist() == [1.0, 4.0]
    assert trace.loss(4) is not None


def test_string_feeds_are_recorded_byte_for_byte(tmp_path):
    result = record("string_feeds.py", tmp_path / "trace")
    assert result.returncode == 0, result.stderr
    feeds = Trace(tmp_path / "trace").feeds(2)
    assert feeds["text:0"].tolist() == [b"1.5", b"2"]
    assert feeds["tags:0"].tolist() == [b"a\x00\x00", b"", b"\xff\x00z"]


def test_size_cap_keeps_every_kth_state_and_says_so(tmp_path, regress_trace):
    # X*A=10's files: the graph ~5.5 kB, a step file ~0.8 kB, a state ~0.13 kB. 30 steps fill ~30 kB; a
    # 32 kB cap leaves room for a handful of the 31 states: 0, 1, every k-th and the last.
    result = record("regress_a.py", tmp_path / "trace", "--steps", "30",
                    options=("--record-max-bytes", "32000", "--record-steps", "30"))
    assert result.returncode == 0, result.stderr
    trace = Trace(tmp_path / "trace")
    assert (trace.steps, trace.complete) == (30, True)
    every = next(int(match.group(1)) for note in trace.notes
                 if (match := re.match(r"state recorded every (\d+)(?:st|nd|rd|th) step \(and steps 0, 1 and the last\): "
                                       r"the size cap 32000 bytes", note)))
    assert 2 <= every < 30
    assert trace.state_steps == tuple(sorted({0, 1, *range(every, 31, every), 30}))
    assert sum(entry["bytes"] for entry in trace.index["files"]) <= 32000
    # The same seeded run recorded without a cap (the regress_trace fixture) has the same states.
    uncapped = Trace(regress_trace)
    for step in trace.state_steps:
        assert trace.state(step)["A"].tobytes() == uncapped.state(step)["A"].tobytes()


@pytest.mark.parametrize(("options", "message"), [
    (("--record-steps", "0"), "--record-steps must be at least 1; got 0"),
    (("--record-max-bytes", "lots"), "--record-max-bytes takes a size in bytes like 500M or 2G; got 'lots'"),
    (("--record-steps", "5"), None),
])
def test_bad_record_options(tmp_path, options, message):
    command = [sys.executable, "-m", "graphmode", "run", *options]
    if message is not None:
        command += ["--record", str(tmp_path / "t")]
    else:
        message = "--record-steps and --record-max-bytes need --record DIR"
    result = preimported.run([*command, str(SCRIPTS / "never_trains.py")], capture_output=True, text=True,
                             timeout=120)
    assert result.returncode == 2
    assert message in result.stderr


def test_recording_refuses_a_folder_that_is_not_a_trace(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    result = record("never_trains.py", tmp_path)
    assert result.returncode == 2
    assert f"cannot record to '{tmp_path}': the folder is not empty and holds no trace.json" in result.stderr
    assert (tmp_path / "notes.txt").read_text() == "mine"
