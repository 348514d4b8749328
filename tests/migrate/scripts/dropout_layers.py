"""Dense layers with dropout switched by a boolean placeholder (on while training, off for evaluation).

python dropout_layers.py [--steps 30]
"""
import argparse

import numpy as np
import tensorflow as tf

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=30)
args = parser.parse_args()

rng = np.random.RandomState(5)
points = rng.uniform(-1.0, 1.0, (128, 2)).astype(np.float32)
inside = (np.sum(points ** 2, axis=1, keepdims=True) < 0.5).astype(np.float32)

x = tf.placeholder(tf.float32, [None, 2])
y = tf.placeholder(tf.float32, [None, 1])
training = tf.placeholder(tf.bool, [])

wide = tf.layers.dense(x, 32, tf.nn.relu)
thinned = tf.layers.dropout(wide, rate=0.25, training=training)
logit = tf.layers.dense(thinned, 1)
loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logit))
train = tf.train.AdamOptimizer(0.01).minimize(loss)

with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for _ in range(args.steps):
        sess.run(train, feed_dict={x: points, y: inside, training: True})
    print("evaluation loss", sess.run(loss, feed_dict={x: points, y: inside, training: False}))
