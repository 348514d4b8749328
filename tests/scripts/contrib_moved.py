"""TF1 code using tf.contrib's moved pieces: renamed RNN cells, contrib.layers adapters, then a name with no successor."""
import sys

import numpy as np
import tensorflow as tf
from tensorflow.contrib import rnn

batch, time, features, units = 4, 3, 2, 5
rng = np.random.RandomState(0)
inputs = rng.normal(size=(batch, time, features)).astype(np.float32)
labels = (inputs.sum(axis=(1, 2)) > 0).astype(np.int64)

x = tf.placeholder(tf.float32, [None, time, features])
y = tf.placeholder(tf.int64, [None])
cell = tf.contrib.rnn.MultiRNNCell([tf.contrib.rnn.BasicLSTMCell(units), tf.contrib.rnn.BasicLSTMCell(units)])
outputs, _ = rnn.static_rnn(cell, tf.unstack(x, axis=1), dtype=tf.float32)
hidden = tf.contrib.layers.fully_connected(outputs[-1], 8, weights_initializer=tf.contrib.layers.xavier_initializer(seed=1))
logits = tf.contrib.layers.fully_connected(hidden, 2, activation_fn=None)
loss = tf.losses.sparse_softmax_cross_entropy(y, logits)
train = tf.train.AdamOptimizer(0.05).minimize(loss)
print("variables", " ".join(v.name for v in tf.trainable_variables() if "fully_connected" in v.name))
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    first = sess.run(loss, {x: inputs, y: labels})
    for _ in range(20):
        sess.run(train, {x: inputs, y: labels})
    last = sess.run(loss, {x: inputs, y: labels})
print("loss went down", bool(last < first))
sys.stdout.flush()
crf = tf.contrib.crf.crf_log_likelihood
