"""The tutorials' fully connected digit classifier (64 -> 256 -> 128 -> 10, ReLU, Adam), one statement per layer.

scikit-learn's bundled 8x8 digits, batches of 128: python mlp_digits.py [--steps 200]
"""
import argparse

import numpy as np
import tensorflow as tf
from sklearn.datasets import load_digits

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=200)
args = parser.parse_args()

digits = load_digits()
images = (digits.images.reshape(len(digits.images), -1) / 16.0).astype(np.float32)
labels = digits.target.astype(np.int32)
train_x, train_y, test_x, test_y = images[:1400], labels[:1400], images[1400:], labels[1400:]

x = tf.placeholder(tf.float32, [None, 64], name="x")
y = tf.placeholder(tf.int32, [None], name="y")

with tf.variable_scope("hidden1"):
    w1 = tf.get_variable("weights", [64, 256], initializer=tf.truncated_normal_initializer(stddev=0.1))
    b1 = tf.get_variable("biases", [256], initializer=tf.zeros_initializer())
with tf.variable_scope("hidden2"):
    w2 = tf.get_variable("weights", [256, 128], initializer=tf.truncated_normal_initializer(stddev=0.1))
    b2 = tf.get_variable("biases", [128], initializer=tf.zeros_initializer())
with tf.variable_scope("softmax_linear"):
    w3 = tf.get_variable("weights", [128, 10], initializer=tf.truncated_normal_initializer(stddev=0.1))
    b3 = tf.get_variable("biases", [10], initializer=tf.zeros_initializer())

hidden1 = tf.nn.relu(tf.matmul(x, w1) + b1)
hidden2 = tf.nn.relu(tf.matmul(hidden1, w2) + b2)
logits = tf.matmul(hidden2, w3) + b3
loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
train_op = tf.train.AdamOptimizer(1e-3).minimize(loss)
correct = tf.equal(tf.argmax(logits, 1, output_type=tf.int32), y)
accuracy = tf.reduce_mean(tf.cast(correct, tf.float32))

batches = np.random.RandomState(0)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for step in range(1, args.steps + 1):
        chosen = batches.choice(len(train_x), 128, replace=False)
        _, batch_loss = sess.run([train_op, loss], feed_dict={x: train_x[chosen], y: train_y[chosen]})
        if step % 50 == 0:
            test_accuracy = sess.run(accuracy, feed_dict={x: test_x, y: test_y})
            print("step", step, "loss", batch_loss, "test accuracy", test_accuracy)
