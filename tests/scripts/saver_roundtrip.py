"""Saver: train a variable, save it into the folder given as argument, restore it in a new graph."""
import os
import sys

import tensorflow as tf

folder = sys.argv[1]
with tf.Graph().as_default():
    w = tf.get_variable("w", [2], initializer=tf.constant_initializer([1.0, -1.0]))
    step = tf.assign_add(w, [0.5, 0.25])
    saver = tf.train.Saver()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(step)
        path = saver.save(sess, os.path.join(folder, "model.ckpt"), global_step=7)
        print("saved", os.path.basename(path), sess.run(w).tolist())

with tf.Graph().as_default():
    w = tf.get_variable("w", [2])
    saver = tf.train.Saver()
    with tf.Session() as sess:
        latest = tf.train.latest_checkpoint(folder)
        saver.restore(sess, latest)
        print("restored", os.path.basename(latest), sess.run(w).tolist())
