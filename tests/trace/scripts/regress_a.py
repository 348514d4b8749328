"""X * A = 10, the classic TF1 regression tutorial, as the TF1 script it was: learn A by gradient descent.

    python regress_a.py [--steps 100] [--seed 0] [--variant stochastic|batch]
"""
import argparse

import numpy as np
import tensorflow as tf

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=100)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--variant", choices=("stochastic", "batch"), default="stochastic")
args = parser.parse_args()

tf.set_random_seed(args.seed)
np.random.seed(args.seed)
x_vals = np.random.normal(1, 0.1, 100).astype(np.float32)
y_vals = np.repeat(10.0, 100).astype(np.float32)

if args.variant == "stochastic":
    x_data = tf.placeholder(shape=[1], dtype=tf.float32, name="x_data")
    y_target = tf.placeholder(shape=[1], dtype=tf.float32, name="y_target")
    A = tf.Variable(tf.random_normal(shape=[1]), name="A")
    loss = tf.square(tf.multiply(x_data, A) - y_target)
else:
    x_data = tf.placeholder(shape=[None, 1], dtype=tf.float32, name="x_data")
    y_target = tf.placeholder(shape=[None, 1], dtype=tf.float32, name="y_target")
    A = tf.Variable(tf.random_normal(shape=[1, 1]), name="A")
    loss = tf.reduce_mean(tf.square(tf.matmul(x_data, A) - y_target))
train_step = tf.train.GradientDescentOptimizer(0.02).minimize(loss)

sess = tf.Session()
sess.run(tf.global_variables_initializer())
for i in range(args.steps):
    if args.variant == "stochastic":
        index = np.random.choice(100)
        feed = {x_data: [x_vals[index]], y_target: [y_vals[index]]}
    else:
        index = np.random.choice(100, size=20)
        feed = {x_data: x_vals[index].reshape(-1, 1), y_target: y_vals[index].reshape(-1, 1)}
    _, step_loss = sess.run([train_step, loss], feed_dict=feed)
    if (i + 1) % 25 == 0:
        print(f"Step #{i + 1} A = {sess.run(A).ravel()[0]!r} Loss = {np.mean(step_loss)!r}")
