"""A logistic classifier of two Gaussian blobs, trained with Adam (a plain TF1 script)."""
import argparse

import numpy as np
import tensorflow as tf

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=200)
parser.add_argument("--save", default="")
args = parser.parse_args()

rng = np.random.RandomState(1)
features = np.concatenate([rng.normal(-1.0, 1.0, (100, 2)), rng.normal(1.0, 1.0, (100, 2))]).astype(np.float32)
labels = np.concatenate([np.zeros((100, 1)), np.ones((100, 1))]).astype(np.float32)

x = tf.placeholder(tf.float32, [None, 2], name="x")
y = tf.placeholder(tf.float32, [None, 1], name="y")
with tf.variable_scope("classifier"):
    w = tf.get_variable("w", [2, 1], initializer=tf.glorot_uniform_initializer())
    b = tf.get_variable("b", [1], initializer=tf.zeros_initializer())

# The model: one logit per example.
logits = tf.matmul(x, w) + b
loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits))
train_op = tf.train.AdamOptimizer(learning_rate=0.05).minimize(loss)
predicted = tf.cast(logits > 0.0, tf.float32)
accuracy = tf.reduce_mean(tf.cast(tf.equal(predicted, y), tf.float32))
saver = tf.train.Saver()

with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for step in range(args.steps):
        batch = rng.choice(200, 32)
        _, batch_loss = sess.run([train_op, loss], feed_dict={x: features[batch], y: labels[batch]})
        if step % 50 == 0:
            print("step", step, "loss", batch_loss)
    print("accuracy", sess.run(accuracy, feed_dict={x: features, y: labels}))
    if args.save:
        print("saved", saver.save(sess, args.save))
