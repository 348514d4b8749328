"""A script that imports TensorFlow and builds a graph but never opens a session."""
import tensorflow as tf

total = tf.constant(1.0) + tf.constant(2.0)
print(total.name)
