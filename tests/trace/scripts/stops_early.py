"""Trains a few steps, then stops the way its first argument says: interrupt, error, kill (SIGKILL) or exit."""
import os
import signal
import sys

import tensorflow as tf

x = tf.placeholder(tf.float32, [None], name="x")
w = tf.Variable(0.5, name="w")
loss = tf.reduce_mean(tf.square(w * x - 1.0))
train = tf.train.AdamOptimizer(0.1).minimize(loss)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for step in range(1, 11):
        sess.run([train, loss], feed_dict={x: [1.0, float(step)]})
        if step == 4:
            how = sys.argv[1]
            if how == "interrupt":
                raise KeyboardInterrupt
            if how == "error":
                raise RuntimeError("the data ran out")
            if how == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            if how == "exit":
                sys.exit(3)
