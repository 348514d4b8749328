"""A trace recorded here is checked in a fresh process that never switched to TF1: plain TF2, Keras 3.

This is how a migrated project's CI holds a trace as its regression test: the
TF1 code is gone, TensorFlow is imported first (so ``tf.keras`` is Keras 3),
and the rewrite is a Keras 3 model with a Keras 3 optimizer, whose slots and
counters lockstep sets from the recording. The same process also checks a
plain-ops TF1 graph against a Keras 3 Adam passed as ``optimizer=``, the case
where TensorFlow was imported before graphmode without legacy Keras. The child
gets a clean environment (no ``TF_USE_LEGACY_KERAS``) and plain
``subprocess.run``: nothing of graphmode's TF1 set-up is pre-imported.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import parity_models
from trace_recording import record_graph_model

ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent("""
    import sys
    import numpy as np
    import tensorflow as tf                      # first, without TF_USE_LEGACY_KERAS: tf.keras is Keras 3
    import keras
    import graphmode as gm
    from graphmode._slots import keras_package

    trace = gm.Trace(sys.argv[1])

    def build_eager(epsilon):
        model = keras.Sequential([keras.Input((12,)), keras.layers.Dense(32, activation="relu"),
                                  keras.layers.Dense(16, activation="relu"), keras.layers.Dense(4)])
        optimizer = keras.optimizers.Adam(1e-3, epsilon=epsilon)
        def train_step(x, y):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=model(x)))
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
            return loss
        return gm.EagerModel(model.trainable_variables, train_step)

    for epsilon in (1e-8, 1e-7):
        report = gm.check_parity(trace, lambda: build_eager(epsilon))
        first = report.first_divergence
        slots = sum(q.kind == "slot" for q in report.lockstep.state)
        print("trace epsilon", epsilon, "ok", report.ok, "slots", slots,
              "first", None if first is None else (first.step, first.quantity, first.phase))
    print("keras 3 optimizer", keras_package(keras.optimizers.Adam()) == "keras", tf.keras.Model is keras.Model)
    from tensorflow.python import tf2
    print("tf1 api off", tf2.enabled(), tf.executing_eagerly(), "graphmode.tf1" not in sys.modules,
          "graphmode.legacy" not in sys.modules)

    # A TF1 graph from plain ops in this Keras 3 process, the Keras 3 Adam passed as optimizer=.
    from graphmode import v1
    rng = np.random.RandomState(0)
    batches = [(rng.normal(size=(8, 3)).astype(np.float32), rng.normal(size=(8, 1)).astype(np.float32))
               for _ in range(3)]

    def build_graph():
        graph = gm.new_graph(0)
        with graph.as_default():
            x = v1.placeholder(tf.float32, [None, 3]); y = v1.placeholder(tf.float32, [None, 1])
            w = v1.get_variable("w", [3, 1], initializer=v1.glorot_uniform_initializer())
            loss = tf.reduce_mean(tf.square(tf.matmul(x, w) - y))
            train_op = v1.train.AdamOptimizer(0.1, epsilon=1e-8).minimize(loss)
        return gm.GraphModel(graph, (x, y), loss, train_op, [w])

    def build_adam_port():
        w = tf.Variable(tf.random.uniform([3, 1], -1.2, 1.2), name="w")
        optimizer = tf.keras.optimizers.Adam(0.1, epsilon=1e-8)
        def train_step(x, y):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(tf.matmul(x, w) - y))
            optimizer.apply_gradients([(tape.gradient(loss, w), w)])
            return loss
        return gm.EagerModel([w], train_step, optimizer=optimizer)

    report = gm.check_parity(build_graph, build_adam_port, batches)
    print("graph adam ok", report.ok, "slots", sorted(q.name for q in report.lockstep.state if q.kind == "slot"))
""")


def test_a_trace_recorded_here_checks_a_keras_3_rewrite_in_a_fresh_plain_tf2_process(tmp_path):
    batches = parity_models.classification_batches(3, 0)
    trace = record_graph_model(parity_models.adam_mlp_graph(0), batches, tmp_path / "adam_mlp")
    env = {k: v for k, v in os.environ.items() if k not in ("TF_USE_LEGACY_KERAS", "PYTHONSTARTUP")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    done = subprocess.run([sys.executable, "-c", CHILD, trace.directory], capture_output=True, text=True, env=env,
                          timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    # The faithful Keras 3 port passes with all twelve Adam slots carried; Keras' default epsilon shows in
    # the first update, as it does against the live graph (tests/parity/test_parity_lockstep.py).
    assert "trace epsilon 1e-08 ok True slots 12 first None" in lines, done.stdout
    assert "trace epsilon 1e-07 ok False slots 12 first (1, 'variable', 'update')" in lines, done.stdout
    assert "keras 3 optimizer True True" in lines and "tf1 api off True True True True" in lines, done.stdout
    assert "graph adam ok True slots ['w/Adam', 'w/Adam_1']" in lines, done.stdout
