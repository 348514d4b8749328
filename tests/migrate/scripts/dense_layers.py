"""A two-layer regression on a noisy sine built with tf.layers.dense (Adam).

python dense_layers.py [--steps 60] [--save PREFIX]
"""
import argparse

import numpy as np
import tensorflow as tf

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=60)
parser.add_argument("--save", default="")
args = parser.parse_args()

rng = np.random.RandomState(3)
inputs = np.linspace(-2.0, 2.0, 64, dtype=np.float32)[:, None]
targets = (np.sin(2.0 * inputs) + 0.1 * rng.randn(64, 1)).astype(np.float32)

x = tf.placeholder(tf.float32, [None, 1])
y = tf.placeholder(tf.float32, [None, 1])

hidden = tf.layers.dense(x, 16, tf.nn.tanh)
with tf.variable_scope("head"):
    prediction = tf.layers.dense(hidden, 1, kernel_initializer=tf.truncated_normal_initializer(stddev=0.5))
loss = tf.reduce_mean(tf.square(prediction - y))
train = tf.train.AdamOptimizer(0.02).minimize(loss)
saver = tf.train.Saver()

with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for step in range(args.steps):
        _, value = sess.run([train, loss], feed_dict={x: inputs, y: targets})
        if step % 20 == 0:
            print("step", step, "loss", value)
    print("final loss", sess.run(loss, feed_dict={x: inputs, y: targets}))
    if args.save:
        print("saved", saver.save(sess, args.save))
