"""A script that fails: it runs a variable it never initialized."""
import tensorflow as tf


def train():
    weights = tf.get_variable("weights", [3, 2])
    with tf.Session() as sess:
        print("starting")
        return sess.run(weights)


train()
