"""The TF1 MNIST tutorial's shape: input_data, softmax regression on next_batch, a plot that waits for a key.

Usage: mnist_tutorial.py DATA_DIR (four IDX files: 120 training, 10 test examples).
"""
import signal
import sys

import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from tensorflow.examples.tutorials.mnist import input_data

signal.alarm(120)  # a plot call that blocks must fail the run, not hang it

mnist = input_data.read_data_sets(sys.argv[1], one_hot=True, validation_size=20, seed=7)
print("sizes", mnist.train.num_examples, mnist.validation.num_examples, mnist.test.num_examples)
print("contrib loader is the same", tf.contrib.learn.datasets.mnist.read_data_sets is input_data.read_data_sets)

x = tf.placeholder(tf.float32, [None, 784])
y_ = tf.placeholder(tf.float32, [None, 10])
W = tf.Variable(tf.zeros([784, 10]))
b = tf.Variable(tf.zeros([10]))
y = tf.matmul(x, W) + b
loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=y_, logits=y))
train_step = tf.train.GradientDescentOptimizer(0.5).minimize(loss)

with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    losses = []
    for _ in range(4):
        batch_xs, batch_ys = mnist.train.next_batch(30)
        losses.append(sess.run([loss, train_step], {x: batch_xs, y_: batch_ys})[0])
    print("batch shapes", batch_xs.shape, batch_ys.shape)
    print("first loss", losses[0])
    print("epochs completed", mnist.train.epochs_completed)
    for _ in range(40):
        batch_xs, batch_ys = mnist.train.next_batch(30)
        sess.run(train_step, {x: batch_xs, y_: batch_ys})
    correct = tf.equal(tf.argmax(y, 1), tf.argmax(y_, 1))
    print("test accuracy", sess.run(tf.reduce_mean(tf.cast(correct, tf.float32)),
                                    {x: mnist.test.images, y_: mnist.test.labels}))

plt.imshow(np.reshape(mnist.test.images[0], [28, 28]))
print("button", plt.waitforbuttonpress())
print("clicks", plt.ginput(2))
plt.show()
print("backend waits returned")
