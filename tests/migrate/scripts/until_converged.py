"""Trains until the batch loss falls below a tolerance (a loop that depends on the loss), then prints A.

X * A = 10 by gradient descent: python until_converged.py [--tolerance 1e-4] [--wait SECONDS]
"""
import argparse
import time

import numpy as np
import tensorflow as tf

parser = argparse.ArgumentParser()
parser.add_argument("--tolerance", type=float, default=1e-4)
parser.add_argument("--wait", type=float, default=0.0, help="seconds to sleep before training")
args = parser.parse_args()

np.random.seed(0)
x_vals = np.random.normal(1, 0.1, 100).astype(np.float32)
y_vals = np.repeat(10.0, 100).astype(np.float32)

x_data = tf.placeholder(shape=[None, 1], dtype=tf.float32)
y_target = tf.placeholder(shape=[None, 1], dtype=tf.float32)
A = tf.Variable(tf.random_normal(shape=[1, 1], seed=3), name="A")
loss = tf.reduce_mean(tf.square(tf.matmul(x_data, A) - y_target))
train_step = tf.train.GradientDescentOptimizer(0.02).minimize(loss)

time.sleep(args.wait)
sess = tf.Session()
sess.run(tf.global_variables_initializer())
batch_loss = np.inf
while batch_loss > args.tolerance:
    rand_index = np.random.choice(100, size=25)
    _, batch_loss = sess.run([train_step, loss], feed_dict={x_data: np.transpose([x_vals[rand_index]]),
                                                           y_target: np.transpose([y_vals[rand_index]])})
print("A =", sess.run(A))
