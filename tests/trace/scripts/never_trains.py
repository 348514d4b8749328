"""A TF1 script that only evaluates: it has no train op, so a recording holds nothing."""
import tensorflow as tf

x = tf.placeholder(tf.float32, [None], name="x")
w = tf.Variable(2.0, name="w")
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for i in range(3):
        print(sess.run(w * x, feed_dict={x: [float(i)]}))
