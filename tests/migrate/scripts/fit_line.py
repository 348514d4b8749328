"""Fit y = 3x with one weight and gradient descent (a plain TF1 script)."""
import numpy as np
import tensorflow as tf

x = tf.placeholder(tf.float32, [None, 1], name="x")
y = tf.placeholder(tf.float32, [None, 1], name="y")
w = tf.Variable(tf.zeros([1, 1]), name="w")
loss = tf.reduce_mean(tf.square(tf.matmul(x, w) - y))
train_op = tf.train.GradientDescentOptimizer(0.5).minimize(loss)

data = np.linspace(0.0, 1.0, 32, dtype=np.float32).reshape(-1, 1)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for _ in range(100):
        _, value = sess.run([train_op, loss], feed_dict={x: data, y: 3.0 * data})
    print("w", sess.run(w), "loss", value)
