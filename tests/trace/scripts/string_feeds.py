"""A train step fed a string tensor (numbers as text, parsed in the graph), bytes with trailing NULs included."""
import tensorflow as tf

text = tf.placeholder(tf.string, [None], name="text")
tags = tf.placeholder(tf.string, [None], name="tags")
x = tf.strings.to_number(text)
w = tf.Variable(0.0, name="w")
loss = tf.reduce_mean(tf.square(w * x - 2.0)) + 0.0 * tf.cast(tf.size(tags), tf.float32)
train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for _ in range(3):
        sess.run(train, feed_dict={text: ["1.5", "2"], tags: [b"a\x00\x00", b"", b"\xff\x00z"]})
    print(sess.run(w))
