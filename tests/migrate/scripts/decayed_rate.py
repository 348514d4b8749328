"""Softmax regression on the digits whose learning rate decays with the global step (TF1's decay functions).

python decayed_rate.py [--steps 40]
"""
import argparse

import numpy as np
import tensorflow as tf
from sklearn.datasets import load_digits

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=40)
args = parser.parse_args()

digits = load_digits()
images = (digits.data / 16.0).astype(np.float32)
labels = digits.target.astype(np.int32)

x = tf.placeholder(tf.float32, [None, 64], name="x")
y = tf.placeholder(tf.int32, [None], name="y")
w = tf.Variable(tf.random_normal([64, 10], stddev=0.1, seed=2), name="w")
b = tf.Variable(tf.zeros([10]), name="b")
logits = tf.matmul(x, w) + b
loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
global_step = tf.Variable(0, trainable=False, name="global_step")
learning_rate = tf.train.exponential_decay(0.5, global_step, 5, 0.7)
optimizer = tf.train.GradientDescentOptimizer(learning_rate)
train_op = optimizer.minimize(loss, global_step=global_step)

batches = np.random.RandomState(0)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for _ in range(args.steps):
        chosen = batches.choice(len(images), 64, replace=False)
        _, batch_loss = sess.run([train_op, loss], feed_dict={x: images[chosen], y: labels[chosen]})
    print("loss", batch_loss)
