"""What handing out the caller's own arrays costs: the cached ``Session.run`` loop against TensorFlow's, in one process.

graphmode's repeated ``Session.run`` goes through a C++ callable whose outputs
view TensorFlow's buffers; graphmode copies each such array and re-checks what
the callable's checks depend on (the graph's version, the fed placeholders'
shapes, what the graph prevents feeding and fetching) before every call. This
script times, for three workloads, the unmodified ``sess.run(fetches,
feed_dict)`` loop on ``tf.compat.v1.Session`` and on ``graphmode.Session`` in
interleaved rounds (so a change of load hits both alike), and, separately,
the copies and the re-check themselves on that loop's real outputs:

* ``X*A=10``: the tutorial step, fetching ``[train_op, loss]`` (a scalar);
* ``MLP``: 784-256-128-10, batch 128, fetching ``[train_op, loss]``;
* ``MLP + weights``: the same step also fetching the first layer's
  784x256 weights (a reference variable: 784 KB copied per step).

Usage:
    python benchmarks/returned_copies.py            # table
    python benchmarks/returned_copies.py --json     # one JSON object
    python benchmarks/returned_copies.py --quick    # a few steps (smoke test)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import timeit

import numpy as np
from step_loop import regression_data, regression_graph  # this folder: run as a script, it is on sys.path

import graphmode as gm
from graphmode import tf, v1
from graphmode.session.copies import owned


def regression():
    """The X*A=10 step of ``step_loop.py``: (graph, fetches, feeds per step)."""
    xs, ys = regression_data()
    graph, x, y, loss, train, _ = regression_graph()
    return graph, [train, loss], lambda step: {x: xs[step % 100 : step % 100 + 1], y: ys[step % 100 : step % 100 + 1]}


def mlp(fetch_weights: bool):
    """The MLP step, optionally also fetching its first weight matrix (a reference variable)."""
    rng = np.random.default_rng(0)
    images = rng.normal(size=(1024, 784)).astype(np.float32)
    labels = rng.integers(0, 10, 1024).astype(np.int32)
    graph = gm.new_graph(seed=0)
    with graph.as_default():
        x = v1.placeholder(tf.float32, [128, 784], name="x")
        y = v1.placeholder(tf.int32, [128], name="y")
        hidden, first = x, None
        for width in (256, 128, 10):
            weights = v1.Variable(v1.glorot_uniform_initializer()([int(hidden.shape[1]), width]), use_resource=False)
            first = weights if first is None else first
            hidden = tf.matmul(hidden, weights)
            hidden = tf.nn.relu(hidden) if width != 10 else hidden
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=hidden))
        train = v1.train.GradientDescentOptimizer(0.01).minimize(loss)
    fetches = [train, loss, first.value()] if fetch_weights else [train, loss]
    return graph, fetches, lambda step: {x: images[(step % 8) * 128 : (step % 8 + 1) * 128],
                                         y: labels[(step % 8) * 128 : (step % 8 + 1) * 128]}


WORKLOADS = {"X*A=10": regression, "MLP": lambda: mlp(False), "MLP + weights": lambda: mlp(True)}


def measure(build, steps: int, rounds: int) -> dict:
    """Interleaved rounds of ``steps`` steps on each session; medians in µs per step, and the copy's cost."""
    sessions = {}
    for name, session_class in (("tensorflow", v1.Session), ("graphmode", gm.Session)):
        graph, fetches, feed = build()
        session = session_class(graph=graph)
        with graph.as_default():
            session.run(v1.global_variables_initializer())
        sessions[name] = (session, fetches, feed)
    timings: dict[str, list[float]] = {name: [] for name in sessions}
    for _ in range(rounds + 1):  # the first round warms up
        for name, (session, fetches, feed) in sessions.items():
            started = time.perf_counter()
            for step in range(steps):
                session.run(fetches, feed(step))
            timings[name].append((time.perf_counter() - started) / steps * 1e6)
    session, fetches, feed = sessions["graphmode"]
    outputs = [value for value in session.run(fetches, feed(0)) if value is not None]
    views = [np.asarray(value)[...] for value in outputs]  # arrays that view another buffer, as the callable's do
    entry = next(iter(session._run_cache._entries.values()))
    graph = session.graph
    reps = 2000
    copy_us = timeit.timeit(lambda: owned(views), number=reps) / reps * 1e6
    check_us = timeit.timeit(lambda: entry.guard.holds(graph), number=reps) / reps * 1e6
    for session, _, _ in sessions.values():
        session.close()
    medians = {name: statistics.median(values[1:]) for name, values in timings.items()}
    return {
        "tensorflow_us": medians["tensorflow"],
        "graphmode_us": medians["graphmode"],
        "speedup": medians["tensorflow"] / medians["graphmode"],
        "copy_us": copy_us,
        "recheck_us": check_us,
        "copied_bytes": int(sum(view.nbytes for view in views)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--quick", action="store_true", help="a few steps: checks the script, not the speed")
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds per session (default 7)")
    args = parser.parse_args()
    steps = {"X*A=10": 1000, "MLP": 60, "MLP + weights": 60}
    if args.quick:
        steps, args.rounds = dict.fromkeys(steps, 3), 1
    load_before = os.getloadavg()
    results = {name: measure(build, steps[name], args.rounds) for name, build in WORKLOADS.items()}
    load = {"before": [round(value, 2) for value in load_before], "after": [round(v, 2) for v in os.getloadavg()]}
    if args.json:
        print(json.dumps({"workloads": results, "rounds": args.rounds, "steps": steps, "load_average": load}))
        return
    print(f"unmodified sess.run loop, median of {args.rounds} interleaved rounds; the copy and re-check timed on "
          "the loop's own outputs")
    print(f"{'workload':15} {'TF us/step':>11} {'gm us/step':>11} {'gm speed-up':>12} {'copies us':>10} "
          f"{'re-check us':>12} {'bytes copied':>13} {'share of gm step':>17}")
    for name, row in results.items():
        share = (row["copy_us"] + row["recheck_us"]) / row["graphmode_us"]
        print(f"{name:15} {row['tensorflow_us']:11.1f} {row['graphmode_us']:11.1f} {row['speedup']:11.2f}x "
              f"{row['copy_us']:10.2f} {row['recheck_us']:12.2f} {row['copied_bytes']:13d} {share:16.1%}")
    print(f"load average before {load['before']} after {load['after']}, {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
