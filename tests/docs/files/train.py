"""A TF 1.x training script, as the README's commands run it: ``graphmode run train.py``.

Learns a running sum over 8-feature sequences with an LSTM and Adam, and saves a ``tf.train.Saver``
checkpoint (``train_dir/model.ckpt-100``) that the README's checkpoint section reads.
"""

import os

import numpy as np
import tensorflow as tf
from models import sequence

flags = tf.app.flags
flags.DEFINE_float("learning_rate", 0.01, "Adam's learning rate")
flags.DEFINE_integer("steps", 100, "training steps")
flags.DEFINE_string("train_dir", "train_dir", "where the checkpoint goes")
FLAGS = flags.FLAGS


def main(_):
    tf.set_random_seed(0)
    rng = np.random.RandomState(0)
    x_data = rng.normal(size=(32, 5, 8)).astype(np.float32)
    y_data = x_data[:, :, 0].sum(axis=1, keepdims=True)

    x = tf.placeholder(tf.float32, [None, None, 8], name="x")
    y = tf.placeholder(tf.float32, [None, 1], name="y")
    loss = tf.reduce_mean(tf.square(sequence.build(x) - y))
    global_step = tf.train.get_or_create_global_step()
    train_op = tf.train.AdamOptimizer(FLAGS.learning_rate).minimize(loss, global_step=global_step)
    saver = tf.train.Saver()

    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(FLAGS.steps):
            _, value, step = sess.run([train_op, loss, global_step], {x: x_data, y: y_data})
            if step % 50 == 0:
                print(f"step {step}: loss {value:.4f}")
        if not os.path.isdir(FLAGS.train_dir):
            os.makedirs(FLAGS.train_dir)
        print("saved", saver.save(sess, os.path.join(FLAGS.train_dir, "model.ckpt"), global_step=global_step))


if __name__ == "__main__":
    tf.app.run(main)
