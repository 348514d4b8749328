"""The sigmoid classifier on a parameter-server cluster: 1 ps + 2 workers, one process per task.

How TF1 code scaled out, kept running on TensorFlow 2 with graphmode:

* every task is a process of its own with a ``tf.train.Server`` (addressed
  as 127.0.0.1, on free ports; its ``TF_CONFIG`` says which task it is);
* between-graph replication: each worker builds the whole graph, and
  ``replica_device_setter`` puts the variables on the ps and the computation
  on the worker;
* asynchronous updates: each worker applies its own gradients to the ps
  variables, without waiting for the others;
* ``MonitoredTrainingSession``: the chief (worker 0) initializes the variables
  and writes checkpoints; the other workers wait until the variables exist.

The model is the classic two-layer network (as in ``sigmoid_classifier.py``):
128 points in the unit square, label 1 when x1 + x2 < 1, y = sigmoid(x @ w1 @ w2)
with no biases, clipped binary cross-entropy, Adam(0.001), batches of 8. Worker
i takes batches i, i + W, i + 2W, ... of the cycle (W workers). With no biases
the boundary passes through the origin, so accuracy stays near 0.5 (0.586 at
best); the cross-entropy is what training brings down (1.90 -> about 0.65 in
1000 steps).

Without ``--run-task`` it runs the whole cluster on this machine through the
harness next to it (``cluster_ps_launcher.py``): it starts the processes,
prints each worker's progress, evaluates the final variables on the ps, and
stops every process, also when one fails or ``--timeout`` passes.
A fault drill (kill a worker mid-training, check the ps, restart it) runs this
same cluster from ``cluster_ps_drill.py``, next to this file.

    python examples/cluster_ps.py [--steps 1000] [--workers 2] [--ps 1] [--json]

Security: the addresses say 127.0.0.1, but TensorFlow's gRPC server listens on
every network interface of the machine (``0.0.0.0:port``; TensorFlow has no
option to bind one address), with no authentication or encryption. While the
cluster runs, anyone who can reach one of its ports from the network can run
any op in that task: read and write files as the user running it (the
checkpoints, ``~/.ssh``), start processes. Run it on a machine whose firewall
keeps those ports from the network.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import threading
import time
import traceback
from typing import NamedTuple

import cluster_ps_launcher as launcher  # the harness next to this file: runs every task here
import numpy as np

import graphmode as gm
from graphmode import tf, v1

DATASET_SIZE = 128
BATCH_SIZE = 8
LEARNING_RATE = 0.001
ORPHANED_EXIT_CODE = 3


# --- the model ---------------------------------------------------------------------------


def make_data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Points in the unit square from ``RandomState(seed)``, label 1 below x1 + x2 = 1."""
    X = np.random.RandomState(seed).rand(DATASET_SIZE, 2).astype(np.float32)
    Y = (X.sum(axis=1, keepdims=True) < 1).astype(np.float32)
    return X, Y


class Classifier(NamedTuple):
    x: tf.Tensor
    y_: tf.Tensor
    loss: tf.Tensor
    accuracy: tf.Tensor
    global_step: tf.Variable
    weights: tuple[tf.Variable, ...]


def build_classifier(seed: int) -> Classifier:
    """Builds the network into the default graph, under whatever device function is active.

    Creation order matters: ``replica_device_setter`` deals variables to the ps
    tasks round-robin, so every process must create them in the same order.
    """
    global_step = v1.train.get_or_create_global_step()
    w1 = tf.Variable(v1.random_normal([2, 3], stddev=1, seed=seed), name="w1")
    w2 = tf.Variable(v1.random_normal([3, 1], stddev=1, seed=seed), name="w2")
    x = v1.placeholder(tf.float32, shape=(None, 2), name="x-input")
    y_ = v1.placeholder(tf.float32, shape=(None, 1), name="y-input")
    y = tf.sigmoid(tf.matmul(tf.matmul(x, w1), w2))
    loss = -tf.reduce_mean(y_ * tf.math.log(tf.clip_by_value(y, 1e-10, 1.0))
                           + (1 - y_) * tf.math.log(tf.clip_by_value(1 - y, 1e-10, 1.0)), name="loss")
    correct = tf.equal(tf.cast(y > 0.5, tf.float32), y_)
    accuracy = tf.reduce_mean(tf.cast(correct, tf.float32), name="accuracy")
    return Classifier(x, y_, loss, accuracy, global_step, (w1, w2))


def batch_for(worker: int, local_step: int, workers: int, X: np.ndarray, Y: np.ndarray):
    """Worker ``worker``'s batch at its ``local_step``: its share of the tutorial's batch cycle."""
    start = ((local_step * workers + worker) * BATCH_SIZE) % DATASET_SIZE
    return X[start:start + BATCH_SIZE], Y[start:start + BATCH_SIZE]


# --- one task's process (what each machine of a real cluster runs) ------------------------


def emit(event: str, **fields) -> None:
    """Reports to the launcher: one JSON object per stdout line."""
    print(json.dumps({"event": event, **fields}), flush=True)


def exit_when_stdin_closes(code: int) -> None:
    """Ends this process once the launcher closes our stdin (it stops us, or it died)."""
    sys.stdin.buffer.read()
    sys.stdout.flush()
    os._exit(code)


class StepCounter:
    """This process's train steps: those finished, and whether one is running now."""

    def __init__(self) -> None:
        self.finished = 0
        self.running = False

    @property
    def done(self) -> int:
        # A checkpoint saved inside a train run follows that run's update.
        return self.finished + int(self.running)


class ReportCheckpoints(v1.train.CheckpointSaverListener):
    def __init__(self, worker: int, steps: StepCounter) -> None:
        self.worker, self.steps = worker, steps

    def after_save(self, session, global_step_value):
        # The local step count too: a chief killed after this event still reported its steps.
        emit("checkpoint", worker=self.worker, step=int(global_step_value), local_step=self.steps.done)


def emit_placement(worker: int, graph: tf.Graph, report: gm.session.PlacementReport) -> None:
    """Reports where each variable lives and how many of the step's ops ran on each task."""
    variables = {name: {"requested": graph.get_operation_by_name(name).device, "assigned": device}
                 for name, device in gm.cluster.variable_placement(graph, report).items()}
    ops_by_task = {where: len(ops) for where, ops in gm.cluster.placement_by_task(report).items()}
    emit("placement", worker=worker, variables=variables, ops_by_task=ops_by_task)


def run_ps(cluster: gm.cluster.ClusterDescription, task: gm.cluster.TaskId, args: argparse.Namespace) -> None:
    gm.start_server(cluster, task.job, task.index, intra_op_threads=1, inter_op_threads=1)
    emit("ready", task=task.device)
    if args.stop_on_stdin_eof:
        exit_when_stdin_closes(0)
    threading.Event().wait()  # a ps serves until its process is ended, as server.join() does


class WorkerGraph(NamedTuple):
    """What one worker builds: the model, its update, and the start barrier on the ps."""

    graph: tf.Graph
    model: Classifier
    train_op: tf.Operation
    workers_ready: tf.Variable
    check_in: tf.Tensor


def build_worker_graph(seed: int, device_setter=None) -> WorkerGraph:
    """Builds the worker's graph; ``device_setter`` (``cluster.device_setter(i)``) puts variables on the ps."""
    graph = tf.Graph()
    with graph.as_default(), v1.device(device_setter):
        model = build_classifier(seed)
        train_op = v1.train.AdamOptimizer(LEARNING_RATE).minimize(model.loss, global_step=model.global_step)
        # A start barrier on the ps: without it the chief can finish every step
        # while a slower worker is still importing TensorFlow, and "both workers
        # trained" would depend on the machine's load.
        workers_ready = tf.Variable(0, trainable=False, name="workers_ready")
        check_in = workers_ready.assign_add(1)
    return WorkerGraph(graph, model, train_op, workers_ready, check_in)


def run_worker(cluster: gm.cluster.ClusterDescription, task: gm.cluster.TaskId, args: argparse.Namespace) -> None:
    if args.stop_on_stdin_eof:
        threading.Thread(target=exit_when_stdin_closes, args=(ORPHANED_EXIT_CODE,), daemon=True).start()
    server = gm.start_server(cluster, task.job, task.index, intra_op_threads=1, inter_op_threads=1)
    is_chief = task.index == 0
    parts = build_worker_graph(args.seed, cluster.device_setter(task.index))
    config = cluster.session_config(task.job, task.index, intra_op_threads=1, inter_op_threads=1)
    checkpoint_dir = os.path.join(args.workdir, "checkpoints")
    restored = v1.train.latest_checkpoint(checkpoint_dir) if is_chief else None
    if not is_chief:
        gm.cluster.wait_for_variables(server.target, parts.graph, config=config, cluster=cluster,
                                      timeout=args.timeout)
    emit("start", worker=task.index, restored_checkpoint=restored,
         restored_step=None if restored is None else int(v1.train.load_variable(restored, "global_step")))

    steps = StepCounter()
    scaffold = v1.train.Scaffold()
    saver_hook = v1.train.CheckpointSaverHook(
        checkpoint_dir, save_steps=args.checkpoint_every, scaffold=scaffold, listeners=[ReportCheckpoints(task.index, steps)]
    )
    with parts.graph.as_default(), v1.train.MonitoredTrainingSession(
        master=server.target, is_chief=is_chief, checkpoint_dir=checkpoint_dir, scaffold=scaffold,
        hooks=[v1.train.StopAtStepHook(last_step=args.steps)], chief_only_hooks=[saver_hook],
        save_checkpoint_secs=None, save_checkpoint_steps=None, save_summaries_steps=None,
        save_summaries_secs=None, log_step_count_steps=None, config=config, max_wait_secs=args.timeout,
    ) as session:
        global_step = train_worker(session, parts, task.index, len(cluster.workers), args, steps)
    emit("done", worker=task.index, local_steps=steps.finished, global_step=global_step)
    sys.stdout.flush()
    os._exit(0)  # skip interpreter teardown: TensorFlow cannot stop a running server cleanly


def train_worker(session, parts: WorkerGraph, worker: int, workers: int, args: argparse.Namespace,
                 steps: StepCounter) -> int:
    """Trains until the session asks to stop (``StopAtStepHook``); returns the last global step seen.

    ``MonitoredSession`` refuses any run once a hook asked to stop, and
    ``StopAtStepHook`` asks after the first run that sees ``global_step`` at
    the last step: so every run here is preceded by a ``should_stop`` check. A
    worker restarted after the others finished training sees the last step at
    its first run, and ends without training.
    """
    model = parts.model
    X, Y = make_data(args.seed)
    full_data = {model.x: X, model.y_: Y}
    global_step, loss, accuracy = session.run([model.global_step, model.loss, model.accuracy], full_data)
    emit("session", worker=worker, global_step=int(global_step), loss=float(loss), accuracy=float(accuracy))
    if worker == 0:
        wait_for_workers(session, parts.workers_ready, workers - 1, args.timeout)
    elif not session.should_stop():
        session.run(parts.check_in)
    while not session.should_stop():
        xs, ys = batch_for(worker, steps.finished, workers, X, Y)
        fetches, feed = [parts.train_op, model.global_step], {model.x: xs, model.y_: ys}
        steps.running = True
        if steps.finished == 0:
            (_, global_step), report = gm.cluster.run_with_placement(session, fetches, feed)
            emit_placement(worker, parts.graph, report)
        else:
            _, global_step = session.run(fetches, feed)
        steps.finished, steps.running = steps.finished + 1, False
        if steps.finished % args.log_every == 0 and not session.should_stop():
            loss, accuracy = session.run([model.loss, model.accuracy], full_data)
            emit("progress", worker=worker, local_step=steps.finished, global_step=int(global_step),
                 loss=float(loss), accuracy=float(accuracy))
    return int(global_step)


def wait_for_workers(session, workers_ready: tf.Variable, expected: int, timeout: float) -> None:
    """Blocks the chief until ``expected`` other workers have checked in on the ps (or training is over)."""
    deadline = time.monotonic() + timeout
    while not session.should_stop() and (ready := int(session.run(workers_ready))) < expected:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {ready} of {expected} other worker(s) checked in within {timeout:g} s")
        time.sleep(0.05)


def run_task(args: argparse.Namespace) -> None:
    cluster, task = gm.cluster.cluster_from_tf_config()
    try:
        {"ps": run_ps, "worker": run_worker}[task.job](cluster, task, args)
    except BaseException:
        # os._exit, not a normal exit: interpreter teardown with a running
        # server and a thread blocked on stdin can abort instead of exiting.
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)


# --- reading the result, and the launcher's options ----------------------------------------


def evaluate_on_ps(cluster: gm.cluster.ClusterDescription, seed: int, timeout: float) -> dict:
    """Reads the variables on the ps tasks and scores them on all the data, from this process.

    The session's master is ps task 0 and every op is placed on the ps, so this
    works while workers are dead or gone.
    """
    X, Y = make_data(seed)
    graph = tf.Graph()
    on_ps = v1.train.replica_device_setter(cluster=cluster.cluster_spec(), worker_device="/job:ps/task:0")
    with graph.as_default(), v1.device(on_ps):
        model = build_classifier(seed)
    config = cluster.session_config("ps", 0, intra_op_threads=1, inter_op_threads=1)
    with gm.Session(cluster.target("ps", 0), graph=graph, config=config, timeout=timeout, cluster=cluster,
                    record_placement=True) as session:
        step, loss, accuracy, *values = session.run(
            [model.global_step, model.loss, model.accuracy, *model.weights], {model.x: X, model.y_: Y})
        placement = gm.cluster.variable_placement(graph, session.placement)
    finite = all(np.isfinite(value).all() for value in values) and math.isfinite(loss)
    return {"global_step": int(step), "loss": float(loss), "accuracy": float(accuracy), "finite": bool(finite),
            "placement": placement}


def make_parser() -> argparse.ArgumentParser:
    """The launcher's and the tasks' options (``cluster_ps_drill.py`` adds its own)."""
    def positive(kind):
        def parse(text: str):
            value = kind(text)
            if value <= 0:
                raise argparse.ArgumentTypeError(f"must be > 0; got {text}")
            return value
        return parse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=positive(int), default=1000, help="global steps, all workers together")
    parser.add_argument("--seed", type=int, default=1, help="data and initial-weight seed")
    parser.add_argument("--ps", type=positive(int), default=1, help="parameter-server tasks")
    parser.add_argument("--workers", type=positive(int), default=2, help="worker tasks (worker 0 is the chief)")
    parser.add_argument("--log-every", type=positive(int), default=50, help="a worker reports every N own steps")
    parser.add_argument("--checkpoint-every", type=positive(int), default=100, help="chief checkpoints every N steps")
    parser.add_argument("--timeout", type=positive(float), default=180.0, help="seconds for the whole run")
    parser.add_argument("--workdir", help="checkpoints and per-task logs (default: a temporary directory)")
    parser.add_argument("--json", action="store_true", help="print one JSON summary and nothing else on stdout")
    parser.add_argument("--run-task", action="store_true",
                        help="run the one task TF_CONFIG names (what each machine of a real cluster runs)")
    parser.add_argument("--stop-on-stdin-eof", action="store_true", help=argparse.SUPPRESS)
    return parser


def parse_args(argv: list[str] | None, parser: argparse.ArgumentParser | None = None) -> argparse.Namespace:
    parser = parser or make_parser()
    args = parser.parse_args(argv)
    if args.run_task and not args.workdir:
        parser.error("--run-task needs --workdir (the chief writes checkpoints there)")
    return args


def main(argv: list[str] | None = None, parse=parse_args, drill_for=None, report=launcher.print_summary) -> int:
    """The launcher (or, with ``--run-task``, one task); ``cluster_ps_drill.py`` passes its drill and printout."""
    args = parse(argv)
    if args.run_task:
        run_task(args)
        return 0
    try:
        summary = launcher.launch(args, __file__, evaluate_on_ps, None if drill_for is None else drill_for(args))
    except gm.errors.GraphmodeError as error:
        # TaskFailedError, ClusterTimeoutError, or a failed check of the ps: every process is stopped by now.
        print(f"cluster_ps: {type(error).__name__}: {error}", file=sys.stderr)
        if args.json:
            print(json.dumps({"error": str(error), "kind": type(error).__name__}))
        return 2 if isinstance(error, gm.errors.ClusterTimeoutError) else 1
    if args.json:
        print(json.dumps(summary))
    else:
        report(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
