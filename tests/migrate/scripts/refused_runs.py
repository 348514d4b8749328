"""Three things migrate still refuses, each with the reason it prints: the train op made inside an if,
a tensor that is not a placeholder fed in a run, and a fetch that reads a changing Python value.

    python refused_runs.py [--optimizer sgd|adam]
"""
import argparse

import numpy as np
import tensorflow as tf

parser = argparse.ArgumentParser()
parser.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd")
args = parser.parse_args()

x = tf.placeholder(tf.float32, [None, 2], name="x")
w = tf.Variable(tf.ones([2, 1]), name="w")
scores = tf.matmul(x, w)
loss = tf.reduce_mean(tf.square(scores - 1.0))
if args.optimizer == "sgd":
    train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
else:
    train = tf.train.AdamOptimizer(0.1).minimize(loss)

data = np.linspace(0.0, 1.0, 8, dtype=np.float32).reshape(4, 2)
sess = tf.Session()
sess.run(tf.global_variables_initializer())
for _ in range(5):
    sess.run(train, feed_dict={x: data})
print("loss at zero scores", sess.run(loss, feed_dict={scores: np.zeros((4, 1), np.float32)}))
for scale in (1.0, 2.0):
    print("scaled loss", sess.run(loss * scale, feed_dict={x: data}))
