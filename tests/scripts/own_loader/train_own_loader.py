"""A TF1 script that imports its own input_data.py (next to it), not TensorFlow's."""
import input_data
import tensorflow as tf

labels = input_data.read_labels("MNIST_data")
images = input_data.read_images("MNIST_data")
x = tf.placeholder(tf.float32, [None, 784])
brightest_row = tf.argmax(tf.reduce_sum(tf.reshape(x, [-1, 28, 28]), axis=2), axis=1)
with tf.Session() as sess:
    rows = sess.run(brightest_row, {x: images[:10] / 255.0})
print("labels", labels[:10].tolist())
print("brightest rows", rows.tolist())
