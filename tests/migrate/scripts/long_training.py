"""A classifier that trains for a long loop and evaluates once at the end, as tutorials do.

Its evaluation is reached only after every training step: python long_training.py [--steps 50000]
"""
import argparse

import numpy as np
import tensorflow as tf

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=50000)
args = parser.parse_args()

data = np.random.RandomState(0)
features = data.normal(size=(600, 8)).astype(np.float32)
targets = (features @ data.normal(size=(8, 1)) > 0).astype(np.float32)
train_x, train_y, test_x, test_y = features[:500], targets[:500], features[500:], targets[500:]

x = tf.placeholder(tf.float32, [None, 8], name="x")
y = tf.placeholder(tf.float32, [None, 1], name="y")
w = tf.Variable(tf.random_normal([8, 1], stddev=0.1, seed=1), name="w")
b = tf.Variable(tf.zeros([1]), name="b")
logits = tf.matmul(x, w) + b
loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits))
train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
correct = tf.equal(tf.cast(logits > 0, tf.float32), y)
accuracy = tf.reduce_mean(tf.cast(correct, tf.float32))

batches = np.random.RandomState(1)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for step in range(1, args.steps + 1):
        chosen = batches.randint(0, 500, 32)
        _, batch_loss = sess.run([train_op, loss], feed_dict={x: train_x[chosen], y: train_y[chosen]})
        if step % 10000 == 0:
            print("step", step, "loss", batch_loss)
    test_accuracy = sess.run(accuracy, feed_dict={x: test_x, y: test_y})
    print("test accuracy", test_accuracy)
