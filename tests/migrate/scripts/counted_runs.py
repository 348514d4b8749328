"""Counts its own runs in a file beside it and looks the count up with tf.argmin, an int64 (a plain TF1 script).

The migrated program, run after the original, reads another count: its run value differs, exactly compared.
"""
import os

import tensorflow as tf

runs = int(open("runs.txt").read()) if os.path.exists("runs.txt") else 0
with open("runs.txt", "w") as handle:
    handle.write(str(runs + 1))

count = tf.placeholder(tf.int32, [])
nearest = tf.argmin(tf.abs(tf.range(10) - count), 0)

with tf.Session() as sess:
    print("nearest to the run count:", sess.run(nearest, feed_dict={count: runs}))
