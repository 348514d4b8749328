"""Two train ops on one graph run alternately (a GAN-like loop), then a second session: the recording follows the first."""
import tensorflow as tf

x = tf.placeholder(tf.float32, [None], name="x")
a = tf.Variable(1.0, name="a")
b = tf.Variable(1.0, name="b")
loss_a = tf.reduce_mean(tf.square(a * x - 3.0), name="loss_a")
loss_b = tf.reduce_mean(tf.square(b * x + 1.0), name="loss_b")
train_a = tf.train.GradientDescentOptimizer(0.1, name="train_a").minimize(loss_a, var_list=[a])
train_b = tf.train.MomentumOptimizer(0.1, 0.9, name="train_b").minimize(loss_b, var_list=[b])
init = tf.global_variables_initializer()
with tf.Session() as sess:
    sess.run(init)
    for _ in range(4):
        sess.run(train_a, feed_dict={x: [1.0, 2.0]})
        sess.run(train_b, feed_dict={x: [1.0, 2.0]})
    print(sess.run([a, b]))
with tf.Session() as again:
    again.run(init)
    for _ in range(2):
        again.run(train_a, feed_dict={x: [1.0]})
