"""Runs ``cluster_ps.py``'s cluster on this machine: one process per task, their events, the summary.

The harness beside the tutorial: on real machines each one runs its own task
(``cluster_ps.py --run-task`` with its ``TF_CONFIG``); here every task is a
process on 127.0.0.1 (:class:`graphmode.cluster.TaskProcesses`), their JSON
events are printed as progress lines and counted (:class:`Ledger`), and every
process is stopped at the end, also when one fails or the timeout passes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable

import graphmode as gm

EVENT_LINES = {
    "session": "session ready at global step {global_step}: loss {loss:.4f}, accuracy {accuracy:.3f}",
    "progress": "step {local_step:5d}  global {global_step:5d}  loss {loss:.4f}  accuracy {accuracy:.3f}",
    "checkpoint": "checkpoint at global step {step}",
    "done": "done: {local_steps} steps of its own, global step {global_step}",
    "note": "{text}",
}


def print_event(task: str, event: dict) -> None:
    """Prints one worker event as a progress line (events without a line format are skipped)."""
    if event["event"] == "start" and event["restored_checkpoint"]:
        line = f"restores {os.path.basename(event['restored_checkpoint'])} (global step {event['restored_step']})"
    elif event["event"] in EVENT_LINES:
        line = EVENT_LINES[event["event"]].format(**event)
    else:
        return
    print(f"{task:9} {line}", flush=True)


class Ledger:
    """What the launcher learns from the workers' events, for the printout and the JSON summary."""

    def __init__(self, workers: int) -> None:
        self.workers = {index: {"local_steps": 0, "runs": 0, "ops_by_task": {}, "progress": [], "restored": []}
                        for index in range(workers)}
        # The steps each worker's current run has reported so far (progress and checkpoint events carry them).
        self.reported_steps = dict.fromkeys(range(workers), 0)
        self.initial: dict | None = None
        self.variables: dict = {}
        self.checkpoints: list[int] = []
        self.done: set[int] = set()

    def record(self, event: dict) -> None:
        kind, worker = event["event"], self.workers.get(event.get("worker"))
        if "local_step" in event:
            self.reported_steps[event["worker"]] = event["local_step"]
        if kind == "start":
            self.reported_steps[event["worker"]] = 0
            worker["runs"] += 1
            if event["restored_checkpoint"]:
                worker["restored"].append({"checkpoint": os.path.basename(event["restored_checkpoint"]),
                                           "global_step": event["restored_step"]})
        elif kind == "session" and event["worker"] == 0 and self.initial is None:
            self.initial = {key: event[key] for key in ("global_step", "loss", "accuracy")}
        elif kind == "placement":
            worker["ops_by_task"] = event["ops_by_task"]
            self.variables = self.variables or event["variables"]
        elif kind == "progress":
            worker["progress"].append([event[key] for key in ("local_step", "global_step", "loss", "accuracy")])
        elif kind == "checkpoint":
            self.checkpoints.append(event["step"])
        elif kind == "done":
            worker["local_steps"] += event["local_steps"]
            self.done.add(event["worker"])


def exposure_notice(cluster: gm.cluster.ClusterDescription) -> str:
    """What starting the cluster opens to the network."""
    ports = ", ".join(address.rsplit(":", 1)[1] for address in cluster.ps + cluster.workers)
    return (f"warning: the tasks listen on every network interface (0.0.0.0), not only 127.0.0.1, on ports {ports}, "
            "without authentication: anyone who can reach them can run ops there, reading and writing files as "
            "this user. Keep them behind a firewall.")



def launch(args: argparse.Namespace, script: str, evaluate: Callable[..., dict], drill=None) -> dict:
    """Runs the whole cluster and returns the summary.

    ``script --run-task`` is each task's process; ``evaluate(cluster, seed, timeout)`` reads the
    trained variables on the ps at the end.

    ``drill`` (``cluster_ps_drill.Drill``) is told every event and may kill and restart tasks.

    Raises:
        TaskFailedError: a task ended early. ClusterTimeoutError: ``--timeout`` passed.
    """
    started = time.monotonic()
    cluster = gm.cluster.describe_cluster(ps=args.ps, workers=args.workers)
    workdir = args.workdir or tempfile.mkdtemp(prefix="cluster_ps_")
    command = [sys.executable, os.path.abspath(script), "--run-task", "--stop-on-stdin-eof",
               "--steps", str(args.steps), "--seed", str(args.seed), "--log-every", str(args.log_every),
               "--checkpoint-every", str(args.checkpoint_every), "--timeout", str(args.timeout), "--workdir", workdir]
    show = None if args.json else lambda process, event: print_event(process.name, event)
    ledger = Ledger(args.workers)
    killed = drill.killed if drill is not None else set()
    if not args.json:
        print(f"cluster: ps {', '.join(cluster.ps)} | workers {', '.join(cluster.workers)} (worker 0 is the chief)",
              flush=True)
    # On stderr with --json, so that stdout stays one JSON object.
    print(exposure_notice(cluster), file=sys.stderr if args.json else sys.stdout, flush=True)
    try:
        with gm.cluster.TaskProcesses(cluster, command, os.path.join(workdir, "logs"), timeout=args.timeout,
                              on_event=show) as processes:
            current = {process.task: process for process in processes.start_all()}
            for process, event in processes.events():
                ledger.record(event)
                if event["event"] == "exited" and process not in killed:
                    finished = process.task.job == "worker" and process.task.index in ledger.done
                    if not (finished and event["code"] == 0):
                        raise processes.failure(process, event["code"], "the others still needed it")
                if len(ledger.done) == args.workers:
                    break
                if drill is not None:
                    drill.after(event, processes, current, ledger, cluster, workdir, show)
            final = evaluate(cluster, args.seed, max(processes.deadline - time.monotonic(), 1.0))
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    return {
        "cluster": cluster.as_dict(), "steps": args.steps, "initial": ledger.initial, "final": final,
        "variables": ledger.variables, "workers": {str(index): info for index, info in ledger.workers.items()},
        "checkpoints": ledger.checkpoints, "fault": None if drill is None else drill.summary(ledger), "wall_seconds": round(time.monotonic() - started, 2),
    }


def print_summary(summary: dict) -> None:
    initial, final = summary["initial"], summary["final"]
    print(f"final: loss {final['loss']:.4f} (from {initial['loss']:.4f} at global step {initial['global_step']}), "
          f"accuracy {final['accuracy']:.3f}, global step {final['global_step']}, {summary['wall_seconds']:.1f} s")
    for worker, info in summary["workers"].items():
        tasks = ", ".join(f"{task} ({count} ops)" for task, count in sorted(info["ops_by_task"].items()))
        print(f"worker {worker}: {info['local_steps']} steps of its own in {info['runs']} run(s); its step ran on {tasks}")
    for name, device in summary["variables"].items():
        print(f"variable {name:14} asked for {device['requested']}, lives on {device['assigned']}")
