"""TF1 code using tf.contrib's moved pieces: renamed RNN cells, contrib.layers adapters, slim, then a name with no successor."""
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

try:
    slim = tf.contrib.slim  # tf-slim, when installed
except AttributeError as error:
    print("no slim:", error)
else:
    images = rng.rand(16, 6, 6, 1).astype(np.float32)
    classes = (images.mean(axis=(1, 2, 3)) > 0.5).astype(np.int64)
    tf.reset_default_graph()
    x = tf.placeholder(tf.float32, [None, 6, 6, 1])
    y = tf.placeholder(tf.int64, [None])
    with slim.arg_scope([slim.conv2d, slim.fully_connected], weights_regularizer=slim.l2_regularizer(1e-4)):
        net = slim.conv2d(x, 4, [3, 3], scope="conv1")
        net = slim.batch_norm(net, is_training=True, scope="bn")
        net = slim.flatten(slim.max_pool2d(net, [2, 2], scope="pool1"))
        logits = slim.fully_connected(net, 2, activation_fn=None, scope="fc")
    loss = tf.losses.sparse_softmax_cross_entropy(y, logits) + tf.add_n(tf.losses.get_regularization_losses())
    train = slim.learning.create_train_op(loss, tf.train.GradientDescentOptimizer(0.5))
    print("slim model variables", " ".join(v.op.name for v in slim.get_model_variables()))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        first = sess.run(loss, {x: images, y: classes})
        for _ in range(30):
            sess.run(train, {x: images, y: classes})
        last, moving_mean = sess.run([loss, slim.get_variables_by_name("moving_mean")[0]], {x: images, y: classes})
    print("slim loss went down", bool(last < first))
    print("slim moving mean moved", bool(np.all(moving_mean != 0.0)))
sys.stdout.flush()
crf = tf.contrib.crf.crf_log_likelihood
