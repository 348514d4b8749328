"""TF1 basics: placeholders, a Session, tf.log, tf.random_normal, initialize_all_variables, a bad feed."""
import tensorflow as tf

x = tf.placeholder(tf.float32, [None, 2], name="x")
w = tf.Variable([[1.0], [2.0]], name="w")
y = tf.log(tf.matmul(x, w), name="y")
noise = tf.random_normal([3], seed=1)

with tf.Session() as sess:
    sess.run(tf.initialize_all_variables())
    print("y", sess.run(y, feed_dict={x: [[1.0, 1.0]]})[0, 0])
    print("noise shape", sess.run(noise).shape)
    print("session classes", " ".join(f"{c.__module__}.{c.__name__}" for c in type(sess).__mro__))
    try:
        sess.run(y, feed_dict={x: [[1.0, 2.0, 3.0]]})
    except ValueError as error:
        print("bad feed:", type(error).__name__, error)
