"""`graphmode run --record`: the script computes what it computes without it, and the trace says what happened."""

from __future__ import annotations

import json
import sys

import numpy as np
import preimported
import pytest
from trace_runs import SCRIPTS, record, run_plain

from graphmode.errors import TraceError
from graphmode.trace import Trace


def test_recording_changes_nothing_the_script_computes(tmp_path):
    # Adam, slots and counters: the state read after every step must not disturb the next one.
    plain = run_plain("sigmoid_classifier.py", "--steps", "60")
    recorded = record("sigmoid_classifier.py", tmp_path / "trace", "--steps", "60")
    assert plain.returncode == recorded.returncode == 0, plain.stderr + recorded.stderr
    assert recorded.stdout == plain.stdout
    # The script prints its final weights (float32 values written exactly as float64 lists).
    printed = {line.split(":")[0]: np.array(json.loads(line.split(":", 1)[1]), np.float32)
               for line in plain.stdout.splitlines() if line.startswith(("w1:", "w2:"))}
    trace = Trace(tmp_path / "trace")
    last = trace.state(trace.steps)
    for name in ("w1", "w2"):
        assert last[name].tobytes() == printed[name].tobytes()
    assert trace.steps == 60 and trace.complete
    assert trace.loss_name == "Neg:0" and trace.loss(1) is None  # not fetched in the train runs
    assert trace.optimizer.kind == "AdamOptimizer"
    assert trace.optimizer.hyperparameters == {"learning_rate": 0.001, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}
    roles = {v.name: (v.role, v.slot_of, v.slot_name) for v in trace.variables}
    assert roles["w1/Adam_1"] == ("slot", "w1", "Adam_1") and roles["beta1_power"][0] == "counter"
    # beta1_power starts at beta1 and is multiplied by beta1 once per step (in float32).
    assert trace.state(0)["beta1_power"] == np.float32(0.9)
    assert trace.state(2)["beta1_power"] == np.float32(0.9) * np.float32(0.9) * np.float32(0.9)
    assert "graphmode: recorded 60 train step(s) of session 1 (train op 'Adam', loss Neg:0)" in recorded.stderr


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


def test_two_train_ops_records_the_first_and_names_the_other(tmp_path):
    result = record("two_train_ops.py", tmp_path / "trace")
    assert result.returncode == 0, result.stderr
    trace = Trace(tmp_path / "trace")
    assert trace.train_op_name == "train_a" and trace.steps == 4
    assert trace.loss_name == "loss_a:0"
    others = trace.index["other_train_runs"]
    assert [(o["train_op"], o["runs"]) for o in others] == [("train_b", 4)]
    assert "not recorded: train op 'train_b' of session 1 (4 run(s)" in result.stderr


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


def test_size_cap_keeps_every_kth_state_and_says_so(tmp_path):
    # One state of X*A=10 is a few hundred bytes; a 12 kB cap holds steps 0, 1, every k-th and the last.
    result = record("regress_a.py", tmp_path / "trace", "--steps", "30", options=("--record-max-bytes", "12K"))
    assert result.returncode == 0, result.stderr
    trace = Trace(tmp_path / "trace")
    every = trace.index["steps"] and next(int(note.split("every ")[1].split("th")[0]) for note in trace.notes
                                         if note.startswith("state recorded every"))
    assert every >= 2
    kept = {0, 1, *range(every, 31, every), trace.steps}
    assert set(trace.state_steps) == {s for s in kept if s <= trace.steps}
    assert trace.index["files"] and sum(f["bytes"] for f in trace.index["files"]) <= 12 * 1024


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
