"""examples/cluster_ps.py: one ps and two workers as processes on 127.0.0.1, and what goes wrong.

The fault drill beside it (examples/cluster_ps_drill.py) is tests/cluster/test_cluster_ps_drill.py.

Every run is bounded twice: the example's own ``--timeout`` and the
subprocess timeout here; every process is checked to be gone afterwards.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
from cluster_ps_runs import EXAMPLES, assert_on_ps, children_of, is_gone, load_example, run_script

EXAMPLE = EXAMPLES / "cluster_ps.py"


def run_example(*args: str, timeout: float = 150) -> subprocess.CompletedProcess:
    return run_script(EXAMPLE, *args, timeout=timeout)


@pytest.mark.slow  # 4 processes importing TensorFlow; the fast tests below run the worker's loop in-process
def test_one_ps_two_workers_train_asynchronously():
    completed = run_example("--steps", "300", "--log-every", "20", "--json", "--timeout", "120")
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "warning: the tasks listen on every network interface (0.0.0.0)" in completed.stderr
    summary = json.loads(completed.stdout)
    assert len(summary["cluster"]["ps"]) == 1 and len(summary["cluster"]["worker"]) == 2
    assert all(address.startswith("127.0.0.1:") for address in summary["cluster"]["ps"] + summary["cluster"]["worker"])
    assert_on_ps(summary)
    steps = {worker: info["local_steps"] for worker, info in summary["workers"].items()}
    assert min(steps.values()) > 0, steps
    # Every train step adds one to global_step on the ps, whichever worker ran it.
    # StopAtStepHook stops a worker after a step whose *read* of global_step was
    # >= 299, and reads race with the other worker's increments: once the true
    # count reaches 299, each worker may finish the step it has in flight (its
    # read may predate 299) plus one more, so 300 <= final <= 299 + 2 * workers.
    final = summary["final"]
    assert final["global_step"] == sum(steps.values())
    assert 300 <= final["global_step"] <= 299 + 2 * len(steps)
    # Seed 1 starts at cross-entropy 1.9013; one process with Adam(0.001) reaches
    # 1.30 after 250 steps of batch 8. Asynchronous steps are as useful here
    # (stale by one step at most, at a small learning rate), so 300 must get
    # below 0.8 x the start.
    initial = summary["initial"]
    assert initial["global_step"] == 0 and initial["loss"] == pytest.approx(1.9013, abs=1e-3)
    assert final["finite"] and final["loss"] < 0.8 * initial["loss"], (initial, final)
    # Each worker evaluates the shared variables on the ps: both see the loss fall.
    for info in summary["workers"].values():
        assert info["progress"] and info["progress"][-1][2] < initial["loss"], info["progress"]


@pytest.mark.slow  # 3-4 processes importing TensorFlow; tests/cluster/test_cluster_processes.py covers TaskProcesses fast
def test_a_worker_that_dies_unplanned_stops_the_whole_cluster():
    launcher = subprocess.Popen([sys.executable, EXAMPLE, "--steps", "1000000", "--timeout", "120"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    tasks: dict[int, str] = {}
    try:
        deadline = time.monotonic() + 90
        for line in launcher.stdout:
            if re.match(r"worker 1\s+step\s+\d+", line) or time.monotonic() > deadline:
                break
        tasks = children_of(launcher.pid)
        assert sorted(tasks.values()) == ["ps 0", "worker 0", "worker 1"], tasks
        worker1 = next(pid for pid, task in tasks.items() if task == "worker 1")
        os.kill(worker1, signal.SIGKILL)
        _, stderr = launcher.communicate(timeout=60)
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait(timeout=30)
        for pid in children_of(launcher.pid) if launcher.poll() is None else tasks:
            if not is_gone(pid):
                os.kill(pid, signal.SIGKILL)
    assert launcher.returncode == 1, stderr[-3000:]
    assert f"TaskFailedError: worker 1 (/job:worker/task:1, pid {worker1}) ended with killed by SIGKILL" in stderr
    assert "every other task is being stopped" in stderr
    assert all(is_gone(pid) for pid in tasks), {pid: task for pid, task in tasks.items() if not is_gone(pid)}


@pytest.mark.slow  # 3-4 processes importing TensorFlow; tests/cluster/test_cluster_processes.py covers TaskProcesses fast
def test_the_overall_timeout_stops_every_process():
    completed = run_example("--json", "--timeout", "1", timeout=60)
    assert completed.returncode == 2, completed.stderr[-3000:]
    report = json.loads(completed.stdout)
    assert report["kind"] == "ClusterTimeoutError"
    assert "passed its 1 s timeout with 3 task(s) still running (all are being stopped)" in report["error"]
    pids = [int(pid) for pid in re.findall(r"\(pid (\d+)\)", report["error"])]
    assert len(pids) == 3 and all(is_gone(pid) for pid in pids)


@pytest.fixture(scope="module")
def example():
    return load_example("cluster_ps")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--steps", "0"], "argument --steps: must be > 0; got 0"),
        (["--workers", "-1"], "argument --workers: must be > 0; got -1"),
        (["--run-task"], "--run-task needs --workdir"),
    ],
)
def test_bad_arguments_are_refused_with_the_reason(example, argv, message, capsys):
    with pytest.raises(SystemExit) as exited:
        example.parse_args(argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_batches_split_the_tutorial_cycle_between_workers(example):
    X, Y = example.make_data(1)
    # Worker w's step k takes batch k * W + w of the single-process cycle of 16 batches.
    seen = [example.batch_for(worker, step, 2, X, Y)[0] for step in range(8) for worker in range(2)]
    whole = [X[start:start + 8] for start in range(0, 128, 8)]
    assert [batch.tolist() for batch in seen] == [batch.tolist() for batch in whole]


def _train_in_process(example, tmp_path, worker: int, workers: int, start_step: int, last_step: int):
    """Runs the worker's training loop in this process, on a local MonitoredTrainingSession.

    Returns ``(global step returned, steps the loop counted, events it printed, final global step)``.
    """
    from graphmode import v1

    parts = example.build_worker_graph(1)
    with parts.graph.as_default():
        jump = parts.model.global_step.assign(start_step)
    args = example.parse_args(["--steps", str(last_step), "--log-every", "2", "--timeout", "5"])
    steps = example.StepCounter()
    scaffold = v1.train.Scaffold(init_fn=lambda scaffold, session: session.run(jump))
    with parts.graph.as_default(), v1.train.MonitoredTrainingSession(
        is_chief=True, scaffold=scaffold, hooks=[v1.train.StopAtStepHook(last_step=last_step)],
        save_checkpoint_secs=None, save_checkpoint_steps=None, save_summaries_steps=None, save_summaries_secs=None,
        log_step_count_steps=None,
    ) as session:
        returned = example.train_worker(session, parts, worker, workers, args, steps)
        final = session.run_step_fn(lambda step_context: step_context.session.run(parts.model.global_step))
    return returned, steps.finished, final


@pytest.mark.parametrize(("worker", "workers"), [(1, 2), (0, 2)])
def test_train_worker_restarted_after_the_last_step_ends_without_running(example, tmp_path, capsys, worker, workers):
    # Restarted after the others finished: global_step is already 6 of 6. Before the fix
    # the non-chief's check-in (and the chief's wait for the others) ran after the stop
    # request: "Run called even after should_stop requested".
    returned, finished, final = _train_in_process(example, tmp_path, worker, workers, start_step=6, last_step=6)
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (returned, finished, final) == (6, 0, 6)
    assert [event["event"] for event in events] == ["session"]


def test_train_worker_trains_to_the_last_step_and_reports_progress(example, tmp_path, capsys):
    returned, finished, final = _train_in_process(example, tmp_path, worker=1, workers=2, start_step=0, last_step=6)
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (finished, final) == (6, 6)
    assert returned in (5, 6)  # the train run's read of global_step may come before or after its own update
    kinds = [event["event"] for event in events]
    assert kinds == ["session", "placement", "progress", "progress"]  # no evaluation run after the stop request
    progress = [event for event in events if event["event"] == "progress"]
    assert [event["local_step"] for event in progress] == [2, 4]
    assert progress[-1]["loss"] < events[0]["loss"]  # it trained


def test_the_ledger_counts_a_killed_chiefs_steps_from_its_checkpoint_event(example):
    ledger = example.launcher.Ledger(2)
    for event in [
        {"event": "start", "worker": 0, "restored_checkpoint": None, "restored_step": None},
        {"event": "progress", "worker": 0, "local_step": 50, "global_step": 97, "loss": 1.5, "accuracy": 0.5},
        {"event": "checkpoint", "worker": 0, "step": 200, "local_step": 103},
        {"event": "progress", "worker": 1, "local_step": 100, "global_step": 201, "loss": 1.4, "accuracy": 0.5},
    ]:
        ledger.record(event)
    # Killed now: its last event is the checkpoint, which carries the 103 steps it ran.
    assert ledger.reported_steps == {0: 103, 1: 100}
    ledger.record({"event": "start", "worker": 0, "restored_checkpoint": "/x/model.ckpt-200", "restored_step": 201})
    assert ledger.reported_steps[0] == 0  # a new run counts from zero


def test_the_launcher_says_the_ports_are_open_to_the_network(example):
    import graphmode as gm

    notice = example.launcher.exposure_notice(gm.cluster.cluster_from_addresses(["127.0.0.1:2222"], ["127.0.0.1:2223"]))
    assert "listen on every network interface (0.0.0.0), not only 127.0.0.1, on ports 2222, 2223" in notice
    assert "anyone who can reach them can run ops there, reading and writing files as this user" in notice
    assert "Security:" in example.__doc__ and "every" in example.__doc__
