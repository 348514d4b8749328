"""A train step fed through a sparse placeholder (tf.SparseTensorValue), which a trace cannot hold."""
import numpy as np
import tensorflow as tf

ids = tf.sparse_placeholder(tf.float32, name="ids")
w = tf.Variable(np.ones([4, 1], np.float32), name="w")
loss = tf.reduce_sum(tf.sparse_tensor_dense_matmul(ids, w))
train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for _ in range(2):
        value = tf.SparseTensorValue(indices=[[0, 1], [1, 3]], values=[1.0, 2.0], dense_shape=[2, 4])
        sess.run(train, feed_dict={ids: value})
    print(sess.run(w).ravel().tolist())
