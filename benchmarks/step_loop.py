"""Per-step cost of graph-mode training loops against TF2 eager and tf.function, in one process.

Two workloads:

* the ``X*A = 10`` regression step of the classic TF1 tutorial (one sample per
  step, ``GradientDescent(0.02)``): plain ``Session.run`` with a ``feed_dict``,
  the same unmodified loop on ``graphmode.Session`` (whose ``run`` reuses a C++
  callable for a repeated signature), ``graphmode.run_steps``, graphmode's K-step mode, a hand-written
  ``tf.while_loop`` doing the same K steps, TF2 eager ``GradientTape`` + Keras SGD,
  and TF2 ``tf.function``; reported in µs/step with ratios;
* an MLP 784->256->128->10 (batch 128, softmax cross-entropy, SGD 0.01): the
  unmodified ``sess.run([train_op, loss], feed_dict)`` loop on
  ``tf.compat.v1.Session`` and on ``graphmode.Session``, graph mode through ``run_steps``, the same with XLA auto-jit switched on in the session
  config, eager and ``tf.function``; reported in samples/s.

Every figure is the median over ``--repeats`` timed runs after one warm-up
run; ratios come from the same process. The script reports how many XLA
clusters each graph run actually had (graphmode's runtime sets the flag that
lets auto-jit cluster on CPU).

Usage:
    python benchmarks/step_loop.py            # table
    python benchmarks/step_loop.py --json     # one JSON object
    python benchmarks/step_loop.py --quick    # a few steps per mode (smoke test)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402

import graphmode as gm  # noqa: E402
from graphmode import tf, v1  # noqa: E402

REGRESSION_RATE = 0.02
MLP_RATE = 0.01
MLP_LAYERS = (784, 256, 128, 10)
MLP_BATCH = 128


def median_seconds_per_step(run: Callable[[int], None], steps: int, repeats: int) -> float:
    """Runs ``run(steps)`` once to warm up, then ``repeats`` times; median wall seconds per step."""
    run(steps)
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        run(steps)
        timings.append((time.perf_counter() - started) / steps)
    return statistics.median(timings)


# ---------------------------------------------------------------- X*A = 10


def regression_data(samples: int = 100) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    # One row per sample: batch_size=1 slices give the [1]-shaped feeds of the tutorial.
    return rng.normal(1.0, 0.1, samples).astype(np.float32), np.full(samples, 10.0, np.float32)


def regression_graph():
    graph = gm.new_graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [1], name="x")
        y = v1.placeholder(tf.float32, [1], name="y")
        a = tf.Variable([1.0], name="A")
        loss = tf.reduce_mean(tf.square(x * a - y))
        train_op = v1.train.GradientDescentOptimizer(REGRESSION_RATE).minimize(loss)
        init = v1.global_variables_initializer()
    return graph, x, y, loss, train_op, init


def _bench_per_call(data, steps, repeats, session_class, make_step):
    """Times one Python call per step: ``make_step(session, x, y, loss, train_op)(x_row, y_row)``."""
    features, targets = data
    graph, x, y, loss, train_op, init = regression_graph()
    with session_class(graph=graph) as session:
        session.run(init)
        step = make_step(session, x, y, loss, train_op)

        def run(n):
            for index in range(n):
                row = index % len(features)
                step(features[row : row + 1], targets[row : row + 1])

        return median_seconds_per_step(run, steps, repeats)


def _feed_dict_step(session, x, y, loss, train_op):
    return lambda x_row, y_row: session.run([train_op, loss], {x: x_row, y: y_row})


def _callable_step(session, x, y, loss, train_op):
    return session.make_callable([train_op, loss], [x, y])


def bench_session_run(data, steps, repeats, k):
    return _bench_per_call(data, steps, repeats, v1.Session, _feed_dict_step)


def bench_graphmode_session_run(data, steps, repeats, k):
    return _bench_per_call(data, steps, repeats, gm.Session, _feed_dict_step)


def bench_graphmode_make_callable(data, steps, repeats, k):
    return _bench_per_call(data, steps, repeats, gm.Session, _callable_step)


def _bench_run_steps(data, steps, repeats, config=None):
    features, targets = data
    graph, x, y, loss, train_op, init = regression_graph()
    step = gm.step_from_train_op(train_op, loss, [x, y])
    with gm.Session(graph=graph, config=config) as session:
        session.run(init)
        return median_seconds_per_step(
            lambda n: gm.run_steps(session, step, n, inputs=(features, targets), batch_size=1), steps, repeats
        )


def bench_graphmode_loop(data, steps, repeats, k):
    return _bench_run_steps(data, steps, repeats)


def bench_graphmode_loop_caller_thread(data, steps, repeats, k):
    # -1 runs every op in the calling thread: no hand-off to the inter-op pool.
    return _bench_run_steps(data, steps, repeats, gm.session_config(inter_op_threads=-1))


def bench_graphmode_k_steps(data, steps, repeats, k):
    features, targets = data
    graph = gm.new_graph()
    with graph.as_default():
        a = tf.Variable([1.0], name="A")
        step = gm.build_step(
            lambda x, y: tf.reduce_mean(tf.square(x * a - y)),
            v1.train.GradientDescentOptimizer(REGRESSION_RATE),
            input_specs=[tf.TensorSpec([1], name="x"), tf.TensorSpec([1], name="y")],
            steps_per_call=k,
        )
        init = v1.global_variables_initializer()
    with gm.Session(graph=graph) as session:
        session.run(init)
        return median_seconds_per_step(
            lambda n: gm.run_steps(session, step, n, inputs=(features, targets), batch_size=1), steps, repeats
        )


def bench_hand_while_loop(data, steps, repeats, k):
    features, targets = data
    graph = gm.new_graph()
    with graph.as_default():
        xs = v1.placeholder(tf.float32, [k, 1], name="xs")
        ys = v1.placeholder(tf.float32, [k, 1], name="ys")
        a = tf.Variable([1.0], name="A")
        optimizer = v1.train.GradientDescentOptimizer(REGRESSION_RATE)

        def body(index):
            loss = tf.reduce_mean(tf.square(xs[index] * a - ys[index]))
            with tf.control_dependencies([optimizer.minimize(loss)]):
                return index + 1

        steps_run = tf.while_loop(lambda index: index < k, body, [tf.constant(0)])
        init = v1.global_variables_initializer()
    stacked = [
        (
            np.take(features, range(start, start + k), mode="wrap").reshape(k, 1),
            np.take(targets, range(start, start + k), mode="wrap").reshape(k, 1),
        )
        for start in range(0, len(features), k)
    ]
    with v1.Session(graph=graph) as session:
        session.run(init)

        def run(n):
            for call in range(n // k):
                batch_x, batch_y = stacked[call % len(stacked)]
                session.run(steps_run, {xs: batch_x, ys: batch_y})

        return median_seconds_per_step(run, max(k, steps - steps % k), repeats)


def _eager_regression():
    a = tf.Variable([1.0], name="A")
    optimizer = tf.keras.optimizers.SGD(REGRESSION_RATE)

    def step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(x * a - y))
        optimizer.apply_gradients([(tape.gradient(loss, a), a)])
        return loss

    return step


def bench_eager(data, steps, repeats, k):
    features, targets = data
    step = _eager_regression()

    def run(n):
        for index in range(n):
            row = index % len(features)
            step(features[row : row + 1], targets[row : row + 1])

    return median_seconds_per_step(run, steps, repeats)


def bench_tf_function(data, steps, repeats, k):
    features, targets = data
    step = tf.function(_eager_regression())

    def run(n):
        for index in range(n):
            row = index % len(features)
            step(features[row : row + 1], targets[row : row + 1])

    return median_seconds_per_step(run, steps, repeats)


REGRESSION_MODES: dict[str, tuple[str, Callable]] = {
    "session_run": ("Session.run + feed_dict", bench_session_run),
    "graphmode_session_run": ("graphmode Session.run + feed_dict", bench_graphmode_session_run),
    "graphmode_make_callable": ("graphmode Session.make_callable", bench_graphmode_make_callable),
    "graphmode_loop": ("graphmode run_steps", bench_graphmode_loop),
    "graphmode_loop_caller_thread": ("graphmode run_steps, inter_op=-1", bench_graphmode_loop_caller_thread),
    "graphmode_k_steps": ("graphmode K-step mode", bench_graphmode_k_steps),
    "hand_while_loop": ("hand-written tf.while_loop", bench_hand_while_loop),
    "eager": ("TF2 eager GradientTape + SGD", bench_eager),
    "tf_function": ("TF2 tf.function", bench_tf_function),
}


# ---------------------------------------------------------------- MLP


def _mlp_data(batches: int = 8):
    rng = np.random.default_rng(1)
    images = rng.random((batches * MLP_BATCH, MLP_LAYERS[0]), dtype=np.float32)
    labels = rng.integers(0, MLP_LAYERS[-1], batches * MLP_BATCH).astype(np.int64)
    initial = []
    for fan_in, fan_out in zip(MLP_LAYERS, MLP_LAYERS[1:]):
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        initial += [rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32), np.zeros(fan_out, np.float32)]
    return images, labels, initial


def _mlp_loss(images, labels, weights):
    hidden = images
    for layer in range(0, len(weights) - 2, 2):
        hidden = tf.nn.relu(tf.matmul(hidden, weights[layer]) + weights[layer + 1])
    logits = tf.matmul(hidden, weights[-2]) + weights[-1]
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))


def _xla_ops(session, step, images, labels) -> int:
    """How many XLA cluster ops one run of ``step`` executed (0: XLA did not cluster)."""
    metadata = v1.RunMetadata()
    session.run(
        [step.train_op, step.loss],
        {step.feeds[0]: images[:MLP_BATCH], step.feeds[1]: labels[:MLP_BATCH]},
        options=v1.RunOptions(output_partition_graphs=True),
        run_metadata=metadata,
    )
    return sum(node.op == "_XlaRun" for graph in metadata.partition_graphs for node in graph.node)


def _mlp_graph(initial):
    """The MLP as a TF1 graph: (graph, images placeholder, labels placeholder, loss, train op, init op)."""
    graph = gm.new_graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [MLP_BATCH, MLP_LAYERS[0]], name="images")
        y = v1.placeholder(tf.int64, [MLP_BATCH], name="labels")
        weights = [tf.Variable(value) for value in initial]
        loss = _mlp_loss(x, y, weights)
        train_op = v1.train.GradientDescentOptimizer(MLP_RATE).minimize(loss)
        init = v1.global_variables_initializer()
    return graph, x, y, loss, train_op, init


def _bench_mlp_graph(data, steps, repeats, xla: bool):
    images, labels, initial = data
    graph, x, y, loss, train_op, init = _mlp_graph(initial)
    step = gm.step_from_train_op(train_op, loss, [x, y])
    with gm.Session(graph=graph, config=gm.session_config(xla_auto_jit=xla)) as session:
        session.run(init)
        clusters = _xla_ops(session, step, images, labels)
        seconds = median_seconds_per_step(
            lambda n: gm.run_steps(session, step, n, inputs=(images, labels), batch_size=MLP_BATCH), steps, repeats
        )
    return seconds, clusters


def _bench_mlp_session(data, steps, repeats, session_class):
    """The unmodified TF1 loop: one ``session.run([train_op, loss], feed_dict)`` per batch."""
    images, labels, initial = data
    graph, x, y, loss, train_op, init = _mlp_graph(initial)
    batches = [
        (images[index * MLP_BATCH : (index + 1) * MLP_BATCH], labels[index * MLP_BATCH : (index + 1) * MLP_BATCH])
        for index in range(len(images) // MLP_BATCH)
    ]
    with session_class(graph=graph) as session:
        session.run(init)

        def run(n):
            for index in range(n):
                batch_x, batch_y = batches[index % len(batches)]
                session.run([train_op, loss], {x: batch_x, y: batch_y})

        return median_seconds_per_step(run, steps, repeats), None


def _eager_mlp(initial):
    weights = [tf.Variable(value) for value in initial]
    optimizer = tf.keras.optimizers.SGD(MLP_RATE)

    def step(images, labels):
        with tf.GradientTape() as tape:
            loss = _mlp_loss(images, labels, weights)
        optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))
        return loss

    return step


def _bench_mlp_eager(data, steps, repeats, compiled: bool):
    images, labels, initial = data
    step = _eager_mlp(initial)
    step = tf.function(step) if compiled else step
    batches = len(images) // MLP_BATCH

    def run(n):
        for index in range(n):
            rows = slice((index % batches) * MLP_BATCH, (index % batches + 1) * MLP_BATCH)
            step(images[rows], labels[rows])

    return median_seconds_per_step(run, steps, repeats), None


MLP_MODES: dict[str, tuple[str, Callable]] = {
    "session_run": ("Session.run + feed_dict", lambda *args: _bench_mlp_session(*args, v1.Session)),
    "graphmode_session_run": ("graphmode Session.run + feed_dict", lambda *args: _bench_mlp_session(*args, gm.Session)),
    "graph": ("graph mode (run_steps)", lambda *args: _bench_mlp_graph(*args, xla=False)),
    "graph_xla": ("graph mode + XLA auto-jit", lambda *args: _bench_mlp_graph(*args, xla=True)),
    "eager": ("TF2 eager", lambda *args: _bench_mlp_eager(*args, compiled=False)),
    "tf_function": ("TF2 tf.function", lambda *args: _bench_mlp_eager(*args, compiled=True)),
}


# ---------------------------------------------------------------- report


def measure(steps: int, mlp_steps: int, repeats: int, k: int) -> dict:
    """Runs every mode once (after a warm-up) and returns the figures and ratios."""
    load_before = os.getloadavg()
    data = regression_data()
    regression = {name: bench(data, steps, repeats, k) * 1e6 for name, (_, bench) in REGRESSION_MODES.items()}
    mlp_data = _mlp_data()
    mlp = {}
    xla_clusters = {}
    for name, (_, bench) in MLP_MODES.items():
        seconds, clusters = bench(mlp_data, mlp_steps, repeats)
        mlp[name] = MLP_BATCH / seconds
        if clusters is not None:
            xla_clusters[name] = clusters
    return {
        "machine": {
            "python": platform.python_version(),
            "tensorflow": tf.__version__,
            "cpus": os.cpu_count(),
            "load_average_before": [round(value, 2) for value in load_before],
            "load_average_after": [round(value, 2) for value in os.getloadavg()],
        },
        "settings": {"steps": steps, "mlp_steps": mlp_steps, "repeats": repeats, "steps_per_call": k},
        "regression_us_per_step": {name: round(value, 2) for name, value in regression.items()},
        "regression_ratios": {
            "eager_over_graphmode_loop": round(regression["eager"] / regression["graphmode_loop"], 2),
            "session_run_over_graphmode_loop": round(regression["session_run"] / regression["graphmode_loop"], 2),
            "session_run_over_graphmode_session_run": round(
                regression["session_run"] / regression["graphmode_session_run"], 2
            ),
            "tf_function_over_graphmode_loop": round(regression["tf_function"] / regression["graphmode_loop"], 2),
            "eager_over_graphmode_k_steps": round(regression["eager"] / regression["graphmode_k_steps"], 2),
            "k_steps_over_hand_while_loop": round(regression["graphmode_k_steps"] / regression["hand_while_loop"], 2),
        },
        "mlp_samples_per_second": {name: round(value, 1) for name, value in mlp.items()},
        "mlp_ratios_over_eager": {name: round(value / mlp["eager"], 2) for name, value in mlp.items()},
        "mlp_graphmode_session_run_over_session_run": round(mlp["graphmode_session_run"] / mlp["session_run"], 2),
        "mlp_xla_cluster_ops": xla_clusters,
    }


def format_table(report: dict) -> str:
    """The report as the text tables the README quotes."""
    regression = report["regression_us_per_step"]
    ratios = report["regression_ratios"]
    settings = report["settings"]
    lines = [
        f"X*A=10 regression step, batch 1: {settings['steps']} steps x {settings['repeats']} repeats (median), "
        f"K={settings['steps_per_call']}",
        f"{'mode':<36} {'us/step':>9} {'eager/mode':>11}",
    ]
    for name, (label, _) in REGRESSION_MODES.items():
        lines.append(f"{label:<36} {regression[name]:>9.1f} {regression['eager'] / regression[name]:>10.1f}x")
    lines += [
        f"unmodified sess.run loop, graphmode.Session vs tf.compat.v1.Session: "
        f"{ratios['session_run_over_graphmode_session_run']}x faster per step (target >= 2x)",
        f"graphmode loop vs eager: {ratios['eager_over_graphmode_loop']}x faster (target >= 10x)",
        f"K-step mode vs hand-written while_loop: {ratios['k_steps_over_hand_while_loop']}x the time (target <= 1.5x)",
        "",
        f"MLP 784-256-128-10, batch {MLP_BATCH}: {settings['mlp_steps']} steps x {settings['repeats']} repeats (median)",
        f"{'mode':<36} {'samples/s':>10} {'vs eager':>9}",
    ]
    for name, (label, _) in MLP_MODES.items():
        lines.append(
            f"{label:<36} {report['mlp_samples_per_second'][name]:>10.0f} {report['mlp_ratios_over_eager'][name]:>8.2f}x"
        )
    machine = report["machine"]
    lines += [
        f"unmodified sess.run loop, graphmode.Session vs tf.compat.v1.Session: "
        f"{report['mlp_graphmode_session_run_over_session_run']}x the throughput",
        f"XLA cluster ops per graph run: {report['mlp_xla_cluster_ops']}",
        f"Python {machine['python']}, TensorFlow {machine['tensorflow']}, {machine['cpus']} CPUs, "
        f"load average before {machine['load_average_before']} after {machine['load_average_after']}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the tables")
    parser.add_argument("--quick", action="store_true", help="a few steps per mode: checks the script, not the speed")
    parser.add_argument("--steps", type=int, default=2000, help="regression steps per timed run (default 2000)")
    parser.add_argument("--mlp-steps", type=int, default=100, help="MLP steps per timed run (default 100)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per mode (default 3)")
    parser.add_argument("--steps-per-call", type=int, default=100, help="K for the K-step modes (default 100)")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.mlp_steps, args.repeats, args.steps_per_call = 20, 2, 1, 10
    for option in ("steps", "mlp_steps", "repeats", "steps_per_call"):
        if getattr(args, option) < 1:
            parser.error(f"--{option.replace('_', '-')} must be >= 1; got {getattr(args, option)}")
    report = measure(args.steps, args.mlp_steps, args.repeats, args.steps_per_call)
    print(json.dumps(report, indent=2) if args.json else format_table(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
