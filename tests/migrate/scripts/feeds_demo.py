"""The tutorials' first session demos: constants, placeholders fed by a dict, no training (a plain TF1 script)."""
import numpy as np
import tensorflow as tf

a = tf.placeholder(tf.float32, name="a")
b = tf.placeholder(tf.float32, name="b")
product = tf.multiply(a, b)
total = tf.add(a, b)
hello = tf.constant("Hello, TensorFlow!")
matrix = tf.constant([[3.0, 3.0]])
squares = tf.matmul(matrix, tf.constant([[2.0], [2.0]]))
count = tf.reduce_sum(tf.cast(tf.greater(matrix, 2.0), tf.int32))

with tf.Session() as sess:
    print(sess.run(hello))
    print("2 * 3 =", sess.run(product, feed_dict={a: 2.0, b: 3.0}))
    for value in np.linspace(0.1, 0.3, 3):
        print("value + 1 =", sess.run(total, feed_dict={a: value, b: 1.0}))
    print("product and sum:", sess.run([product, total], feed_dict={a: [1.5, 2.5], b: [4.0, 0.5]}))
    print("matmul:", sess.run(squares), "count:", sess.run(count))
