"""A process that imported TensorFlow before graphmode, without legacy Keras: ``tf.keras`` is Keras 3 there.

Such a process cannot use ``tf.compat.v1.layers`` (graphmode warns), but a graph
built from plain ops with a ``tf.compat.v1.train`` optimizer still checks
against a Keras 3 rewrite, whose optimizer state lockstep carries as it does
tf-keras'. Run in a fresh interpreter with a clean environment, since this
test process has legacy Keras on.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent("""
    import warnings
    import numpy as np
    import tensorflow as tf                      # first, and without TF_USE_LEGACY_KERAS
    import keras
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import graphmode as gm
        from graphmode import v1
        gm.new_graph(0)                          # loads graphmode's runtime: the legacy-Keras warning
    print("warned", any("TF_USE_LEGACY_KERAS" in str(w.message) for w in caught))
    print("tf.keras is keras", tf.keras.optimizers.Adam is keras.optimizers.Adam)

    rng = np.random.RandomState(0)
    batches = [(rng.normal(size=(8, 3)).astype(np.float32), rng.normal(size=(8, 1)).astype(np.float32))
               for _ in range(3)]

    def build_graph():
        graph = gm.new_graph(0)
        with graph.as_default():
            x = v1.placeholder(tf.float32, [None, 3]); y = v1.placeholder(tf.float32, [None, 1])
            w = v1.get_variable("w", [3, 1], initializer=v1.glorot_uniform_initializer())
            loss = tf.reduce_mean(tf.square(tf.matmul(x, w) - y))
            train_op = v1.train.AdamOptimizer(0.1, epsilon=EPSILON).minimize(loss)
        return gm.GraphModel(graph, (x, y), loss, train_op, [w])

    def build_eager():
        w = tf.Variable(tf.random.uniform([3, 1], -1.2, 1.2), name="w")
        optimizer = tf.keras.optimizers.Adam(0.1, epsilon=1e-8)
        def train_step(x, y):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(tf.matmul(x, w) - y))
            optimizer.apply_gradients([(tape.gradient(loss, w), w)])
            return loss
        return gm.EagerModel([w], train_step, optimizer=optimizer)

    for EPSILON in (1e-8, 1e-1):
        report = gm.check_parity(build_graph, build_eager, batches)
        slots = sorted(q.name for q in report.lockstep.state if q.kind == "slot")
        print("epsilon", EPSILON, "ok", report.ok, "slots", slots, "issues", len(report.lockstep.structure_issues))
""")


def test_a_keras_3_adam_port_checks_where_tf_keras_is_keras_3():
    env = {k: v for k, v in os.environ.items() if k not in ("TF_USE_LEGACY_KERAS", "PYTHONSTARTUP")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert "warned True" in lines and "tf.keras is keras True" in lines, done.stdout
    # The faithful port passes with both Adam slots carried; TF1's epsilon planted wrong in the graph diverges.
    assert "epsilon 1e-08 ok True slots ['w/Adam', 'w/Adam_1'] issues 0" in lines, done.stdout
    assert "epsilon 0.1 ok False slots ['w/Adam', 'w/Adam_1'] issues 0" in lines, done.stdout
