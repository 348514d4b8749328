"""Runs its train op once before initializing (and catches TensorFlow's error), then trains properly."""
import tensorflow as tf

x = tf.placeholder(tf.float32, [None], name="x")
w = tf.Variable(1.0, name="w")
loss = tf.reduce_mean(tf.square(w * x - 2.0))
train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
with tf.Session() as sess:
    try:
        sess.run(train, feed_dict={x: [1.0]})
    except tf.errors.FailedPreconditionError:
        print("not initialized yet")
    sess.run(tf.global_variables_initializer())
    for _ in range(3):
        sess.run(train, feed_dict={x: [1.0, 2.0]})
    print(sess.run(w))
