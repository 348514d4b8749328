"""examples/cluster_ps_drill.py: a worker killed mid-training, the ps checked, the worker restarted.

Every run is bounded twice: the drill's own ``--timeout`` and the subprocess timeout here.
"""

from __future__ import annotations

import json
import signal
from types import SimpleNamespace

import pytest
from cluster_ps_runs import EXAMPLES, PS0, assert_on_ps, load_example, run_script

DRILL = EXAMPLES / "cluster_ps_drill.py"


def run_example(*args: str, timeout: float = 150):
    return run_script(DRILL, *args, timeout=timeout)


@pytest.mark.slow  # 3-4 processes importing TensorFlow; tests/cluster/test_cluster_processes.py covers TaskProcesses fast
def test_a_killed_chief_leaves_the_ps_intact_and_resumes_from_its_checkpoint():
    completed = run_example("--steps", "600", "--kill-worker", "0", "--json", "--timeout", "150")
    assert completed.returncode == 0, completed.stderr[-3000:]
    summary = json.loads(completed.stdout)
    fault, initial, final = summary["fault"], summary["initial"], summary["final"]
    assert fault["worker"] == 0 and fault["exit_code"] == -signal.SIGKILL
    assert fault["checkpoint_seen"] >= 200  # the drill waits for a checkpoint past a third of the steps
    # Right after the kill, the ps still serves whole, finite variables at least
    # as far along as the checkpoint, and better than the start.
    probe = fault["ps_after_kill"]
    assert probe["finite"] and probe["global_step"] >= fault["checkpoint_seen"]
    assert probe["loss"] < initial["loss"]
    assert set(probe["placement"].values()) == {PS0}
    # The restarted chief restored the newest checkpoint (the one on disk when
    # it started). Its global_step can be a little past the step in its name:
    # worker 1 kept stepping while the chief saved.
    assert fault["restored_checkpoint"] == fault["latest_checkpoint_at_restart"]
    assert fault["restored_checkpoint"] == f"model.ckpt-{fault['checkpoint_seen']}"
    assert fault["restored_step"] >= fault["checkpoint_seen"]
    assert summary["workers"]["0"]["runs"] == 2 and summary["workers"]["1"]["runs"] == 1
    assert summary["workers"]["0"]["restored"] == [
        {"checkpoint": fault["restored_checkpoint"], "global_step": fault["restored_step"]}]
    assert summary["workers"]["1"]["local_steps"] > 0 and summary["workers"]["0"]["local_steps"] > 0
    # The killed run's steps count too: its last event, the checkpoint, carries them.
    assert 0 < fault["local_steps_before_kill"] <= fault["checkpoint_seen"]
    assert summary["workers"]["0"]["local_steps"] > fault["local_steps_before_kill"]
    assert final["global_step"] >= 600 and final["finite"]
    assert final["loss"] < probe["loss"] < initial["loss"]
    assert_on_ps(summary)


@pytest.mark.slow  # 3-4 processes importing TensorFlow; test_train_worker_* below cover the restart fast
def test_a_killed_non_chief_restarts_and_ends_cleanly_even_after_the_last_step():
    # The restarted worker 1 may start after the chief reached the last step: it must
    # then end without running (MonitoredSession refuses runs after a stop request).
    completed = run_example("--steps", "600", "--kill-worker", "1", "--json", "--timeout", "150")
    assert completed.returncode == 0, completed.stderr[-3000:]
    summary = json.loads(completed.stdout)
    fault, final = summary["fault"], summary["final"]
    assert fault["worker"] == 1 and fault["exit_code"] == -signal.SIGKILL
    assert fault["restored_checkpoint"] is None  # a non-chief continues from the ps
    assert summary["workers"]["1"]["runs"] == 2 and summary["workers"]["0"]["runs"] == 1
    assert final["global_step"] >= 600 and final["finite"]
    assert_on_ps(summary)


@pytest.fixture(scope="module")
def drill():
    return load_example("cluster_ps_drill")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--kill-worker", "2"], "--kill-worker 2: there are 2 workers (0..1)"),
        (["--steps", "200", "--kill-worker", "0"], "--checkpoint-every 100 must be <= steps / 3 = 66"),
        ([], "the following arguments are required: --kill-worker"),
        (["--steps", "0", "--kill-worker", "0"], "argument --steps: must be > 0; got 0"),
    ],
)
def test_bad_drill_arguments_are_refused_with_the_reason(drill, argv, message, capsys):
    with pytest.raises(SystemExit) as exited:
        drill.parse_args(argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


class _Process:
    """Stands in for a TaskProcess: the drill reads its task and remembers it as killed."""

    def __init__(self, task) -> None:
        self.task = task


def test_the_drill_kills_once_at_the_first_checkpoint_past_a_third(drill, monkeypatch):
    args = drill.parse_args(["--steps", "600", "--kill-worker", "1"])
    plan = drill.Drill(args)
    calls = []
    monkeypatch.setattr(drill, "kill_and_restart", lambda *a: calls.append(a) or {
        "worker": 1, "local_steps_before_kill": 0, "exit_code": -9, "checkpoint_seen": a[2]})
    ledger = drill.cluster_ps_launcher.Ledger(2)
    worker1 = drill.gm.cluster.TaskId("worker", 1)
    victim = _Process(worker1)
    current = {worker1: victim}
    Processes = SimpleNamespace(processes=["restarted worker 1"])

    for step in (100, 300):
        plan.after({"event": "checkpoint", "step": step}, Processes, current, ledger, None, "", None)
    assert [call[2] for call in calls] == [300] and plan.killed == {victim}
    plan.after({"event": "checkpoint", "step": 400}, Processes, current, ledger, None, "", None)
    assert len(calls) == 1 and current[worker1] == "restarted worker 1"
