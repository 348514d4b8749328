"""TaskProcesses: one process per task, events from JSON lines, nothing left running.

The tasks here are tiny Python programs (no TensorFlow), so each test takes a
fraction of a second; examples/cluster_ps.py exercises the real thing.
"""

from __future__ import annotations

import os
import sys
import textwrap

import pytest

import graphmode as gm
from graphmode.cluster.processes import describe_exit

TASK = textwrap.dedent("""
    import json, os, sys, time
    task = json.loads(os.environ["TF_CONFIG"])["task"]
    print(json.dumps({"event": "hello", "job": task["type"], "index": task["index"]}), flush=True)
    print("a line that is not JSON", flush=True)
    print("complaint from " + task["type"], file=sys.stderr, flush=True)
    behaviour = sys.argv[1]
    if behaviour == "fail" and task["type"] == "worker":
        sys.exit(3)
    if behaviour == "hang":
        time.sleep(600)
    if behaviour == "ignore-stdin":
        import signal
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        time.sleep(600)
""")


@pytest.fixture
def cluster() -> gm.cluster.ClusterDescription:
    return gm.cluster.describe_cluster(ps=1, workers=1)


def command(behaviour: str) -> list[str]:
    return [sys.executable, "-c", TASK, behaviour]


def is_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_each_task_gets_its_tf_config_and_reports_events(cluster, tmp_path):
    seen = []
    with gm.cluster.TaskProcesses(cluster, command("exit"), str(tmp_path), timeout=30,
                          on_event=lambda process, event: seen.append((process.name, event["event"]))) as processes:
        started = processes.start_all()
        exited = {}
        events = {}
        for process, event in processes.events():
            events.setdefault(process.name, []).append(event)
            if event["event"] == "exited":
                exited[process.name] = event["code"]
                if len(exited) == 2:
                    break
    assert [process.task for process in started] == [gm.cluster.TaskId("ps", 0), gm.cluster.TaskId("worker", 0)]
    assert exited == {"ps 0": 0, "worker 0": 0}
    assert events["worker 0"] == [
        {"event": "hello", "job": "worker", "index": 0},
        {"event": "output", "text": "a line that is not JSON"},
        {"event": "exited", "code": 0},
    ]
    assert ("ps 0", "hello") in seen  # on_event saw events as they came
    assert (tmp_path / "ps0.log").read_text() == "complaint from ps\n"


def test_a_failed_task_is_described_with_its_log(cluster, tmp_path):
    with gm.cluster.TaskProcesses(cluster, command("fail"), str(tmp_path), timeout=30) as processes:
        processes.start_all()
        for process, event in processes.events():
            if event["event"] == "exited" and event["code"] != 0:
                error = processes.failure(process, event["code"], "training")
                break
    assert isinstance(error, gm.errors.TaskFailedError) and isinstance(error, RuntimeError)
    message = str(error)
    assert message.startswith(f"worker 0 (/job:worker/task:0, pid {process.popen.pid}) ended with exit code 3 "
                              "while training; every other task is being stopped.")
    assert message.endswith("worker0.log:\ncomplaint from worker")


@pytest.mark.parametrize("behaviour", ["hang", "ignore-stdin"])
def test_the_deadline_stops_every_process(cluster, tmp_path, behaviour):
    with pytest.raises(gm.errors.ClusterTimeoutError) as caught:
        with gm.cluster.TaskProcesses(cluster, command(behaviour), str(tmp_path), timeout=1.0,
                              stop_grace=0.5) as processes:
            processes.start_all()
            for _ in processes.events():
                pass
    message = str(caught.value)
    assert "passed its 1 s timeout with 2 task(s) still running (all are being stopped)" in message
    assert 'ps 0 (pid ' in message and 'last reported: {"event": "output", "text": "a line that is not JSON"}' in message
    assert all(is_gone(process.popen.pid) for process in processes.processes)
    # SIGTERM ignored: the last resort, SIGKILL, still ended it.
    expected = -9 if behaviour == "ignore-stdin" else -15
    assert {process.popen.returncode for process in processes.processes} == {expected}


def test_kill_ends_one_task_and_start_runs_it_again(cluster, tmp_path):
    with gm.cluster.TaskProcesses(cluster, command("hang"), str(tmp_path), timeout=30, stop_grace=0.5) as processes:
        first = processes.start(gm.cluster.TaskId("worker", 0))
        assert processes.kill(first) == -9
        second = processes.start(gm.cluster.TaskId("worker", 0))
        for process, event in processes.events():
            if process is second and event["event"] == "hello":
                break
        assert second.popen.poll() is None
    assert is_gone(second.popen.pid)


def test_describe_exit():
    assert describe_exit(1) == "exit code 1"
    assert describe_exit(-9) == "killed by SIGKILL"
    assert describe_exit(-15) == "killed by SIGTERM"
