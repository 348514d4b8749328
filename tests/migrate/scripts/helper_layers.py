"""A small regression net whose layers come from the script's own helper, which makes their variables (SGD).

python helper_layers.py [--steps 40] [--save PREFIX]
"""
import argparse

import numpy as np
import tensorflow as tf

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=40)
parser.add_argument("--save", default="")
args = parser.parse_args()


def affine(features, width_in, width_out, squash=None):
    """One fully connected layer: new weights and bias on every call."""
    # weights drawn small so that the sigmoid starts near its linear part
    weights = tf.Variable(tf.truncated_normal([width_in, width_out], stddev=0.3))
    bias = tf.Variable(tf.constant(0.05, shape=[width_out]), name="bias")
    summed = tf.matmul(features, weights) + bias
    return summed if squash is None else squash(summed)


rng = np.random.RandomState(11)
points = rng.uniform(-1.0, 1.0, (96, 2)).astype(np.float32)
heights = (points[:, :1] * points[:, 1:] + 0.05 * rng.randn(96, 1)).astype(np.float32)

x = tf.placeholder(tf.float32, [None, 2])
y = tf.placeholder(tf.float32, [None, 1])
hidden = affine(x, 2, 12, squash=tf.nn.sigmoid)
prediction = affine(hidden, 12, 1)
loss = tf.reduce_mean(tf.reduce_sum(tf.square(prediction - y), reduction_indices=[1]))
train = tf.train.GradientDescentOptimizer(0.3).minimize(loss)
saver = tf.train.Saver()

with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for step in range(args.steps):
        _, value = sess.run([train, loss], feed_dict={x: points, y: heights})
        if step % 10 == 0:
            print("step", step, "loss", value)
    if args.save:
        print("saved", saver.save(sess, args.save))
