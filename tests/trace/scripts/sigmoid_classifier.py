"""The classic TF1 two-layer sigmoid classifier (x @ w1 @ w2, binary cross-entropy, Adam), as a TF1 script.

    python sigmoid_classifier.py [--steps 200] [--seed 1]
"""
import argparse

import numpy as np
import tensorflow as tf

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=200)
parser.add_argument("--seed", type=int, default=1)
args = parser.parse_args()

batch_size = 8
w1 = tf.Variable(tf.random_normal([2, 3], stddev=1, seed=args.seed), name="w1")
w2 = tf.Variable(tf.random_normal([3, 1], stddev=1, seed=args.seed), name="w2")
x = tf.placeholder(tf.float32, shape=(None, 2), name="x-input")
y_ = tf.placeholder(tf.float32, shape=(None, 1), name="y-input")
y = tf.sigmoid(tf.matmul(tf.matmul(x, w1), w2))
cross_entropy = -tf.reduce_mean(y_ * tf.log(tf.clip_by_value(y, 1e-10, 1.0))
                                + (1 - y_) * tf.log(tf.clip_by_value(1 - y, 1e-10, 1.0)))
train_step = tf.train.AdamOptimizer(0.001).minimize(cross_entropy)

rdm = np.random.RandomState(args.seed)
X = rdm.rand(128, 2).astype(np.float32)
Y = (X.sum(axis=1, keepdims=True) < 1).astype(np.float32)

with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for i in range(args.steps):
        start = (i * batch_size) % 128
        sess.run(train_step, feed_dict={x: X[start:start + batch_size], y_: Y[start:start + batch_size]})
        if (i + 1) % 50 == 0:
            total = sess.run(cross_entropy, feed_dict={x: X, y_: Y})
            print(f"After {i + 1} steps, cross entropy on all data is {total!r}")
    print("w1:", sess.run(w1).tolist())
    print("w2:", sess.run(w2).tolist())
