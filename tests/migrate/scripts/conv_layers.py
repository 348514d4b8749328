"""A small convolutional classifier of 8x8 digits built from tf.layers (conv, pooling, flatten, dense; plain SGD).

python conv_layers.py [--steps 40]
"""
import argparse

import numpy as np
import tensorflow as tf
from sklearn.datasets import load_digits

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=40)
args = parser.parse_args()

digits = load_digits()
images = (digits.images[:, :, :, None] / 16.0).astype(np.float32)
labels = digits.target.astype(np.int64)

pixels = tf.placeholder(tf.float32, [None, 8, 8, 1])
digit = tf.placeholder(tf.int64, [None])

features = tf.layers.conv2d(pixels, 8, [3, 3], padding="SAME", activation=tf.nn.relu)
pooled = tf.layers.max_pooling2d(features, pool_size=[2, 2], strides=2)
deeper = tf.layers.conv2d(pooled, filters=12, kernel_size=3, padding="valid", activation=tf.nn.relu)
averaged = tf.layers.average_pooling2d(deeper, 2, 1, padding="SAME")
logits = tf.layers.dense(tf.layers.flatten(averaged), 10, name="logits")
loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=digit, logits=logits))
step_op = tf.train.GradientDescentOptimizer(0.5).minimize(loss)
accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1), digit), tf.float32))

order = np.random.RandomState(7)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for _ in range(args.steps):
        batch = order.choice(1500, 64, replace=False)
        sess.run(step_op, feed_dict={pixels: images[batch], digit: labels[batch]})
    print("held-out accuracy", sess.run(accuracy, feed_dict={pixels: images[1500:], digit: labels[1500:]}))
