"""A linear regression that logs its loss and predictions to TensorBoard with TF1 summaries."""
import argparse

import numpy as np
import tensorflow as tf

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=60)
parser.add_argument("--logdir", default="logs")
args = parser.parse_args()

rng = np.random.RandomState(3)
inputs = rng.uniform(-1.0, 1.0, (64, 3)).astype(np.float32)
targets = (inputs @ np.array([[2.0], [-1.0], [0.5]]) + 0.3).astype(np.float32)

x = tf.placeholder(tf.float32, [None, 3], name="x")
y = tf.placeholder(tf.float32, [None, 1], name="y")
w = tf.Variable(tf.zeros([3, 1]), name="w")
b = tf.Variable(tf.zeros([1]), name="b")

with tf.name_scope("model"):
    prediction = tf.matmul(x, w) + b
with tf.name_scope("loss"):
    loss = tf.reduce_mean(tf.square(prediction - y))
    loss_summary = tf.summary.scalar("mse", loss)
train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss)

prediction_summary = tf.summary.histogram("prediction", prediction)
step_summaries = tf.summary.merge([loss_summary, prediction_summary])
weights_summary = tf.summary.histogram("weights", w)

with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    writer = tf.summary.FileWriter(args.logdir, sess.graph)
    for step in range(args.steps):
        batch = rng.choice(64, 16)
        _, batch_loss, summary = sess.run([train_op, loss, step_summaries],
                                          feed_dict={x: inputs[batch], y: targets[batch]})
        writer.add_summary(summary, step)
        if step % 20 == 0:
            weights = sess.run(weights_summary)
            writer.add_summary(weights, step)
            print("step", step, "loss", batch_loss)
    writer.close()
