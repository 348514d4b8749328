"""Recording without the whole run: fast-forward after the recorded steps, stop once every run site is seen,
stop with the call sites never seen when a loop waits for a replayed value or the time limit passes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from graphmode.migrate.fastforward import FastForward, StopRecording, describe_recording, source_run_sites

SCRIPTS = Path(__file__).resolve().parent / "scripts"

_SOURCE = """\
import tensorflow as tf
tf.app.run(main=None)
sess.run(train, feed_dict={x: a})
value = loss.eval(
    session=sess)
subprocess.run(["true"])
"""


def _line_of(script: str, text: str) -> int:
    return next(number for number, line in enumerate((SCRIPTS / script).read_text().splitlines(), 1) if text in line)


def test_run_sites_are_every_run_and_eval_call_but_tf_app_run_and_subprocess():
    assert source_run_sites(_SOURCE) == [(3, 3), (4, 5)]


def test_nothing_is_replayed_before_the_recording_ends():
    forward = FastForward(_SOURCE, announce=lambda text: None)
    forward.remember(3, "key", {}, [None, np.ones(2)])
    assert forward.replay(3, "key", {}) == (False, None)


def test_after_the_recording_a_seen_site_is_answered_with_an_owned_copy_of_its_last_result():
    notices = []
    forward = FastForward(_SOURCE, announce=notices.append)
    forward.recording_ended(20)
    assert "not real" in notices[0]
    result = [None, np.array([1.0, 2.0], dtype=np.float32)]
    forward.remember(3, "key", {"x": np.zeros((4, 2))}, result)
    result[1][0] = 99.0  # the script changing what it got must not change later answers
    replayed, first = forward.replay(3, "key", {"x": np.ones((4, 2))})
    assert replayed and first[0] is None and first[1].tolist() == [1.0, 2.0]
    first[1][1] = -5.0
    _, second = forward.replay(3, "key", {"x": np.ones((4, 2))})
    assert second[1].tolist() == [1.0, 2.0] and second[1] is not first[1]
    # Other fed shapes (a test set instead of a batch) or other fetches run for real.
    assert forward.replay(3, "key", {"x": np.ones((9, 2))}) == (False, None)
    assert forward.replay(3, "other", {"x": np.ones((4, 2))}) == (False, None)
    assert forward.summary()["replayed"] == 2


def test_the_recording_stops_once_ended_and_every_site_was_seen():
    forward = FastForward(_SOURCE, announce=lambda text: None)
    forward.seen(3)
    forward.seen(4)  # every site seen, but the trace is not written yet: the script goes on
    forward.recording_ended(5)
    with pytest.raises(StopRecording) as stop:
        forward.seen(3)
    assert stop.value.code == 0 and stop.value.why == "all-sites"
    assert describe_recording(forward.summary()) == [
        "recording stopped early: every run call site in the script's source had been seen"]


def test_a_loop_on_replayed_values_stops_at_the_replay_limit_naming_what_was_never_seen():
    forward = FastForward(_SOURCE, replay_limit=3, announce=lambda text: None)
    forward.seen(3)
    forward.recording_ended(2)
    forward.remember(3, "key", {}, 1.5)
    for _ in range(3):
        assert forward.replay(3, "key", {}) == (True, 1.5)
    with pytest.raises(StopRecording) as stop:
        forward.replay(3, "key", {})
    assert stop.value.why == "replay-limit"
    lines = describe_recording(forward.summary())
    assert lines[0].startswith("recording: after the 2 recorded training step(s), 3 run(s) at call sites already "
                               "seen (line 3) were answered")
    assert "3 runs in a row were answered from copies" in lines[1] and "(`while loss > eps`)" in lines[1]
    assert lines[1].endswith("call sites never seen: lines 4-5")


@pytest.mark.slow
def test_a_script_waiting_for_its_loss_ends_its_recording_with_the_site_never_seen(tmp_path):
    """The capture process itself: `while batch_loss > tolerance` on replayed values stops at the limit."""
    script = tmp_path / "until_converged.py"
    shutil.copy(SCRIPTS / "until_converged.py", script)
    completed = subprocess.run([sys.executable, "-m", "graphmode.migrate.capture", "--replay-limit", "200",
                                str(tmp_path / "capture"), "10", str(script)],
                               cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-2000:]
    recording = json.loads((tmp_path / "capture" / "capture.json").read_text())["recording"]
    last = _line_of("until_converged.py", 'print("A =", sess.run(A))')
    assert recording["stopped"]["why"] == "replay-limit"
    assert recording["unseen"] == [[last, last]]
    assert recording["replayed"] == 200 and recording["steps_recorded"] == 10


def test_a_long_training_loop_migrates_through_its_final_evaluation(tmp_path):
    """50000 training steps, evaluated once at the end: 20 are recorded, the rest fast-forwarded."""
    from graphmode.migrate.pipeline import migrate_script

    script = tmp_path / "long_training.py"
    shutil.copy(SCRIPTS / "long_training.py", script)
    migration = migrate_script(str(script), steps=20, timeout=240)
    assert migration.status == "migrated and proven", (migration.not_migrated, migration.verdict)
    assert migration.verdict["steps_checked"] == 20
    # Steps 1-20 ran while recorded, step 21 ran once more to keep its result; 22..50000 were answered
    # from that copy; the final evaluation was the last site not yet seen, and the recording stopped there.
    assert migration.notes[0].startswith("recording: after the 20 recorded training step(s), 49979 run(s) at call "
                                         f"sites already seen (line {_line_of('long_training.py', '_, batch_loss')})")
    assert migration.notes[1] == ("recording stopped early: every run call site in the script's source had "
                                  "been seen")
    assert "def compute_accuracy(" in (tmp_path / "long_training_tf2.py").read_text()


@pytest.mark.slow
def test_the_loss_loop_migrates_what_ran_and_lists_the_site_never_seen(tmp_path):
    from graphmode.migrate.pipeline import migrate_script

    script = tmp_path / "until_converged.py"
    shutil.copy(SCRIPTS / "until_converged.py", script)
    migration = migrate_script(str(script), steps=10, timeout=240)
    last = _line_of("until_converged.py", 'print("A =", sess.run(A))')
    assert migration.not_migrated == [(f"until_converged.py:{last}", "this call never ran while migrate recorded "
                                       "the script, so what it fetches is unknown")]
    assert migration.notes[1].endswith(f"call sites never seen: line {last}")


@pytest.mark.slow
def test_the_time_limit_before_any_step_names_the_sites_never_seen(tmp_path):
    from graphmode.errors import MigrationError
    from graphmode.migrate.pipeline import migrate_script

    script = tmp_path / "until_converged.py"
    shutil.copy(SCRIPTS / "until_converged.py", script)
    with pytest.raises(MigrationError) as error:
        migrate_script(str(script), args=["--wait", "120"], steps=10, timeout=15)
    first = _line_of("until_converged.py", "sess.run(tf.global_variables_initializer())")
    train = _line_of("until_converged.py", "_, batch_loss = sess.run")
    assert str(error.value) == (f"{script}: the recording's time limit of 15 s passed before one training step "
                                f"was recorded; run call sites never seen: line {first}, lines {train}-{train + 1}, "
                                f"line {train + 2}; give it a longer --time-limit or arguments that make it shorter")
