"""Dropout in the train step, a resource variable, a decaying learning rate, Momentum, and a finalized graph.

Recording must leave all of it alone: the dropout masks come from a random op
whose stream a stray run would advance, and a finalized graph refuses new ops.
"""
import numpy as np
import tensorflow as tf

tf.set_random_seed(3)
x = tf.placeholder(tf.float32, [None, 4], name="x")
y = tf.placeholder(tf.float32, [None, 1], name="y")
w1 = tf.get_variable("w1", [4, 8], use_resource=True)
b1 = tf.Variable(tf.zeros([8]), name="b1")
hidden = tf.nn.dropout(tf.nn.relu(tf.matmul(x, w1) + b1), rate=0.5)
w2 = tf.Variable(tf.random_normal([8, 1], stddev=0.3), name="w2")
loss = tf.reduce_mean(tf.square(tf.matmul(hidden, w2) - y), name="loss")
global_step = tf.train.get_or_create_global_step()
learning_rate = tf.train.exponential_decay(0.1, global_step, 5, 0.5)
train = tf.train.MomentumOptimizer(learning_rate, 0.9).minimize(loss, global_step=global_step)
init = tf.global_variables_initializer()
variables = tf.global_variables()
tf.get_default_graph().finalize()

data = np.random.RandomState(0)
X = data.rand(32, 4).astype(np.float32)
Y = X.sum(axis=1, keepdims=True)
with tf.Session() as sess:
    sess.run(init)
    for _ in range(20):
        _, last_loss = sess.run([train, loss], feed_dict={x: X, y: Y})
    print("loss", repr(last_loss))
    for variable in variables:
        print(variable.op.name, sess.run(variable).tolist())
