"""Fits a line with its weight made by a helper module of its own folder (a plain TF1 script)."""
import numpy as np
import tensorflow as tf

# The test writes this module beside the script's copy.
from tf1_helpers import weights

x = tf.placeholder(tf.float32, [None, 3])
y = tf.placeholder(tf.float32, [None, 1])
w = weights.normal_variable([3, 1])
loss = tf.reduce_mean(tf.square(tf.matmul(x, w) - y))
train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)

with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    rng = np.random.RandomState(0)
    for _ in range(5):
        xs = rng.rand(4, 3)
        sess.run(train, feed_dict={x: xs, y: xs.sum(1, keepdims=True)})
