"""TF1 code using names TensorFlow 2 dropped: the mnist tutorial helper, then tf.contrib."""
import tensorflow as tf

try:
    from tensorflow.examples.tutorials.mnist import input_data

    mnist = input_data.read_data_sets("MNIST_data/", one_hot=True)
except ImportError as error:
    print("import failed:", type(error).__name__, error)

print("has contrib", hasattr(tf, "contrib"))
x = tf.placeholder(tf.float32, [None, 2])
w = tf.get_variable("w", [2, 1], initializer=tf.contrib.layers.xavier_initializer())
print("not reached")
