"""A small logistic regression whose feed dicts live in names and whose fetches are expressions.

A dict returned by a function feeds the training step, a dict built once and
updated later feeds the evaluations; the evaluations fetch expressions, a dict
of fetches and a tensor's eval().

    python feeds_in_names.py [--steps 60]
"""
import argparse

import numpy as np
import tensorflow as tf

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=60)
args = parser.parse_args()

rng = np.random.RandomState(3)
points = rng.normal(size=(256, 4)).astype(np.float32)
truth = (points @ np.array([1.0, -2.0, 0.5, 0.0], np.float32) > 0).astype(np.float32).reshape(-1, 1)

x = tf.placeholder(tf.float32, [None, 4], name="x")
y = tf.placeholder(tf.float32, [None, 1], name="y")
w = tf.Variable(tf.zeros([4, 1]), name="w")
b = tf.Variable(tf.zeros([1]), name="b")
logits = tf.matmul(x, w) + b
loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits))
train = tf.train.GradientDescentOptimizer(0.5).minimize(loss)


def batch_feed(step):
    start = (step * 32) % len(points)
    return {x: points[start : start + 32], y: truth[start : start + 32]}


everything = {x: points}
everything[y] = truth

sess = tf.Session()
sess.run(tf.global_variables_initializer())
for step in range(args.steps):
    _, batch_loss = sess.run([train, loss], feed_dict=batch_feed(step))
    if step % 20 == 0:
        hits = sess.run(tf.reduce_mean(tf.cast(tf.equal(tf.cast(logits > 0, tf.float32), y), tf.float32)),
                        feed_dict=everything)
        report = sess.run({"loss": loss, "parameters": (w, b)}, everything)
        print("step", step, "batch loss", batch_loss, "hits", hits, "loss", report["loss"])
print("first logits", logits.eval(feed_dict=everything, session=sess)[:2].ravel())
print("weights and bias", sess.run(tf.reduce_sum(w) + b))
