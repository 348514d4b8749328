"""Prints tensors before any session, where TF1 shows only their descriptions, then runs them (a plain TF1 script)."""
import tensorflow as tf

greeting = tf.constant("graph mode")
print("before a session:", greeting)
x = tf.placeholder(tf.float32, [2], name="x")
doubled = x * 2.0
print("the placeholder:", x, "of shape", x.shape)
total = tf.reduce_sum(doubled)
print(total)

with tf.Session() as sess:
    print(sess.run(greeting))
    print(sess.run(doubled, feed_dict={x: [1.0, 2.0]}))
