"""A regression net whose layers a for loop makes: each pass makes a weight and a bias and applies them.

A second loop adds a learned multiple of each input power to a shift that starts as a variable.

Synthetic data, full batch, plain gradient descent over the list the loop fills:
    python stacked_layers.py [--steps 30]
"""
import argparse

import numpy as np
import tensorflow as tf

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=30)
args = parser.parse_args()

rng = np.random.RandomState(3)
inputs = rng.uniform(-1.0, 1.0, (64, 3)).astype(np.float32)
targets = np.sin(inputs.sum(axis=1, keepdims=True)).astype(np.float32)

tf.set_random_seed(7)
features = tf.placeholder(tf.float32, [None, 3], name="features")
target = tf.placeholder(tf.float32, [None, 1], name="target")
widths = [3, 8, 8, 1]
weights = []
hidden = features
for depth in range(1, len(widths)):
    kernel = tf.Variable(tf.random_normal([widths[depth - 1], widths[depth]], stddev=0.5), name=f"kernel_{depth}")
    bias = tf.Variable(tf.zeros([widths[depth]]), name=f"bias_{depth}")
    weights.append(kernel)
    hidden = tf.matmul(hidden, kernel) + bias
    if depth < len(widths) - 1:
        hidden = tf.tanh(hidden)
shift = tf.Variable([0.1], name="shift")
for power in (2, 3):
    coefficient = tf.Variable(tf.fill([1], 0.01), name="coefficient")
    shift = shift + coefficient * tf.reduce_mean(features**power)
loss = tf.reduce_mean(tf.square(hidden + shift - target))
train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)

with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for _ in range(args.steps):
        _, value = sess.run([train, loss], feed_dict={features: inputs, target: targets})
    print("loss", value, "first kernel norm", np.linalg.norm(sess.run(weights[0])))
