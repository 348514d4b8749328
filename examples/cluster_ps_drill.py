"""The fault drill of ``cluster_ps.py``: kill a worker mid-training, check the ps, restart the worker.

Runs the same cluster as the tutorial next to it (one ps and two workers, each a
process of its own, through ``cluster_ps_launcher.py``). Once the chief has checkpointed past a third of the steps,
worker N is killed (SIGKILL), the variables on the ps are read and checked from
the launcher, and the worker is started again. A restarted chief restores the
last checkpoint (rolling the ps back to it); a restarted non-chief continues
from the variables on the ps. The summary's ``fault`` says what happened.

    python examples/cluster_ps_drill.py --kill-worker 0 [--steps 1000] [--workers 2] [--json]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import cluster_ps  # the tutorial next to this file: model, tasks, options
import cluster_ps_launcher  # its harness: runs every task here

import graphmode as gm
from graphmode import v1


class Drill:
    """Told every launcher event; at the first checkpoint past a third of the steps, kills and restarts a worker."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.after_step: int | None = max(1, args.steps // 3)
        self.killed: set = set()  # processes killed on purpose: their exit is no failure
        self.fault: dict | None = None

    def after(self, event: dict, processes: gm.cluster.TaskProcesses, current: dict, ledger: cluster_ps_launcher.Ledger,
              cluster: gm.cluster.ClusterDescription, workdir: str, show) -> None:
        if event["event"] != "checkpoint" or self.after_step is None or event["step"] < self.after_step:
            return
        self.after_step = None
        victim = current[gm.cluster.TaskId("worker", self.args.kill_worker)]
        self.killed.add(victim)
        self.fault = kill_and_restart(processes, victim, event["step"], cluster, self.args, workdir, ledger)
        # The killed run never reports "done": count the steps it last reported.
        ledger.workers[victim.task.index]["local_steps"] += self.fault["local_steps_before_kill"]
        current[victim.task] = processes.processes[-1]
        if show:
            cluster_ps_launcher.print_event("launcher", {"event": "note", "text": describe_drill(self.fault)})

    def summary(self, ledger: cluster_ps_launcher.Ledger) -> dict | None:
        """The drill's part of the summary, with what the restarted worker resumed from."""
        if self.fault is None:
            return None
        restored = ledger.workers[self.fault["worker"]]["restored"] or [{"checkpoint": None, "global_step": None}]
        return {**self.fault, "restored_checkpoint": restored[0]["checkpoint"], "restored_step": restored[0]["global_step"]}


def kill_and_restart(processes: gm.cluster.TaskProcesses, victim: gm.cluster.TaskProcess, checkpoint_seen: int,
                     cluster: gm.cluster.ClusterDescription, args: argparse.Namespace, workdir: str, ledger: cluster_ps_launcher.Ledger) -> dict:
    """The fault drill: SIGKILL a worker mid-training, check the ps, start the worker again."""
    code = processes.kill(victim)
    # What it reported last: steps it ran after its last progress or checkpoint event are not counted.
    steps_before_kill = ledger.reported_steps[victim.task.index]
    remaining = processes.deadline - time.monotonic()
    probe = cluster_ps.evaluate_on_ps(cluster, args.seed, max(remaining, 1.0))
    latest = v1.train.latest_checkpoint(os.path.join(workdir, "checkpoints"))
    processes.start(victim.task)
    return {
        "worker": victim.task.index, "exit_code": code, "checkpoint_seen": checkpoint_seen,
        "local_steps_before_kill": steps_before_kill, "ps_after_kill": probe,
        "latest_checkpoint_at_restart": None if latest is None else os.path.basename(latest),
    }


def describe_drill(fault: dict) -> str:
    probe = fault["ps_after_kill"]
    return (f"fault drill: worker {fault['worker']} killed (exit code {fault['exit_code']}) after the checkpoint at step "
            f"{fault['checkpoint_seen']}; the ps holds global step {probe['global_step']}, loss {probe['loss']:.4f}, "
            f"all values finite: {probe['finite']}; restarting worker {fault['worker']}")



def print_summary(summary: dict) -> None:
    cluster_ps_launcher.print_summary(summary)
    fault = summary["fault"]
    if fault:
        print(f"fault drill: the restarted worker {fault['worker']} resumed from "
              + (f"the checkpoint at global step {fault['restored_step']}" if fault["restored_step"] is not None
                 else "the variables on the ps (non-chief workers do not restore checkpoints)"))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = cluster_ps.make_parser()
    parser.description = __doc__.splitlines()[0]
    parser.add_argument("--kill-worker", type=int, metavar="N", required=True, help="the worker to kill and restart")
    args = cluster_ps.parse_args(argv, parser)
    if not 0 <= args.kill_worker < args.workers:
        parser.error(f"--kill-worker {args.kill_worker}: there are {args.workers} workers (0..{args.workers - 1})")
    if args.checkpoint_every > args.steps // 3:
        parser.error(f"--kill-worker needs a checkpoint before the kill: --checkpoint-every "
                     f"{args.checkpoint_every} must be <= steps / 3 = {args.steps // 3}")
    return args


if __name__ == "__main__":
    sys.exit(cluster_ps.main(parse=parse_args, drill_for=Drill, report=print_summary))
