"""What recording a trace costs: per-step time while recording and after, and the trace's size per step.

The workload is the MLP digit classifier (scikit-learn's 8x8 digits, 64 -> 256
-> 128 -> 10, ReLU, softmax cross-entropy, Adam 1e-3, batches of 128) written as
a TF1 script would write it, on the session ``graphmode run`` hands scripts, with
the unmodified ``sess.run([train_op, loss], feed_dict)`` step. In one process:

* **baseline**: steps with no recorder installed;
* **recording**: the first ``--steps`` train steps with a :class:`graphmode.trace.recorder.Recorder`
  watching (each step writes its feeds and fetches, reads and saves the whole state);
* **after**: steps once the recorder has its steps (it has stopped watching).

Baseline and after are timed in alternating blocks, so load drifts touch both
alike: the after ratio is the median of the ratios of neighbouring blocks, the
recording ratio is the median recorded step over the median baseline block;
the ms figures are medians. The trace's size is split into step files, states
and the rest.

Usage:
    python benchmarks/trace_overhead.py [--steps 100] [--blocks 10] [--block-steps 100] [--json]
    python benchmarks/trace_overhead.py --quick      # a few steps (smoke test)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time

import numpy as np
from sklearn.datasets import load_digits

import graphmode as gm
from graphmode.legacy.sessions import observe_runs
from graphmode.trace.recorder import Recorder
from graphmode.trace.writer import DEFAULT_MAX_BYTES, prepare_folder

SIZES = (64, 256, 128, 10)
BATCH = 128


def build(tf):
    """The TF1 graph: placeholders, the MLP, Adam's train op, and the session a script would get."""
    tf.set_random_seed(0)
    x = tf.placeholder(tf.float32, [None, SIZES[0]], name="x")
    y = tf.placeholder(tf.int32, [None], name="y")
    layer = x
    for i, (fan_in, fan_out) in enumerate(zip(SIZES, SIZES[1:]), start=1):
        w = tf.Variable(tf.truncated_normal([fan_in, fan_out], stddev=0.1), name=f"w{i}")
        b = tf.Variable(tf.zeros([fan_out]), name=f"b{i}")
        layer = tf.matmul(layer, w) + b
        if i < len(SIZES) - 1:
            layer = tf.nn.relu(layer)
    loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=tf.one_hot(y, 10), logits=layer))
    train_op = tf.train.AdamOptimizer(1e-3).minimize(loss)
    session = tf.Session()
    session.run(tf.global_variables_initializer())
    return session, x, y, train_op, loss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100, help="train steps recorded")
    parser.add_argument("--blocks", type=int, default=10, help="timed blocks each of baseline and after")
    parser.add_argument("--block-steps", type=int, default=100, help="steps per timed block")
    parser.add_argument("--quick", action="store_true", help="5 recorded steps, 2 blocks of 20 (smoke test)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.blocks, args.block_steps = 5, 2, 20

    tf = gm.enable_tf1()
    digits = load_digits()
    images = (digits.images.reshape(len(digits.images), -1) / 16.0).astype(np.float32)
    labels = digits.target.astype(np.int32)
    rng = np.random.RandomState(0)
    session, x, y, train_op, loss = build(tf)

    def step() -> None:
        chosen = rng.choice(len(images), BATCH, replace=False)
        session.run([train_op, loss], feed_dict={x: images[chosen], y: labels[chosen]})

    def block(steps: int) -> float:
        started = time.perf_counter()
        for _ in range(steps):
            step()
        return (time.perf_counter() - started) / steps

    block(args.block_steps)  # warm-up: graphmode's run cache builds its callable on the repeated signature
    baseline = [block(args.block_steps)]
    with tempfile.TemporaryDirectory(prefix="trace-overhead-") as scratch:
        folder = prepare_folder(os.path.join(scratch, "trace"))
        recorder = Recorder(folder, steps=args.steps, max_bytes=DEFAULT_MAX_BYTES, on_finish=lambda: observe_runs(None))
        observe_runs(recorder)
        recording = [block(1) for _ in range(args.steps)]
        observe_runs(None)
        summary = recorder.close()
        after = []
        for _ in range(args.blocks):
            after.append(block(args.block_steps))
            baseline.append(block(args.block_steps))
        files = recorder.index["files"]
        steps_bytes = sum(f["bytes"] for f in files if f["path"].startswith("steps"))
        state_bytes = sum(f["bytes"] for f in files if f["path"].startswith("state"))
        total = sum(f["bytes"] for f in files)
        index_bytes = os.path.getsize(os.path.join(folder, "trace.json"))
    base = statistics.median(baseline)
    result = {
        "workload": f"MLP {'-'.join(map(str, SIZES))}, batch {BATCH}, Adam",
        "steps_recorded": recorder.index["steps_recorded"],
        "states": len(recorder.index["state_steps"]),
        "baseline_ms_per_step": base * 1e3,
        "recording_ms_per_step": statistics.median(recording) * 1e3,
        "after_ms_per_step": statistics.median(after) * 1e3,
        "recording_ratio": statistics.median(recording) / base,
        "after_ratio": statistics.median(a / b for a, b in zip(after, baseline[1:], strict=True)),
        "trace_bytes_per_step": (total + index_bytes) / args.steps,
        "step_file_bytes_per_step": steps_bytes / args.steps,
        "state_bytes_per_step": state_bytes / args.steps,
        "trace_bytes": total + index_bytes,
        "summary": summary,
    }
    if args.json:
        print(json.dumps(result))
        return
    print(result["workload"])
    print(f"  baseline (no recorder)      {result['baseline_ms_per_step']:8.3f} ms/step")
    print(f"  while recording ({result['steps_recorded']} steps)  {result['recording_ms_per_step']:8.3f} ms/step  "
          f"{result['recording_ratio']:6.2f}x")
    print(f"  after the recorded steps    {result['after_ms_per_step']:8.3f} ms/step  {result['after_ratio']:6.2f}x")
    print(f"  trace size: {result['trace_bytes']} bytes, {result['trace_bytes_per_step']:.0f} per step "
          f"(step file {result['step_file_bytes_per_step']:.0f}, state {result['state_bytes_per_step']:.0f}); "
          f"{result['states']} states")


if __name__ == "__main__":
    main()
