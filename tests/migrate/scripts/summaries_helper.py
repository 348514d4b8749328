"""A two-layer regression whose layer function logs histograms of its weights and outputs under name scopes."""
import numpy as np
import tensorflow as tf


def dense(inputs, n_in, n_out, scope, seed, act=None):
    with tf.name_scope(scope):
        kernel = tf.Variable(tf.random_normal([n_in, n_out], stddev=0.5, seed=seed), name="kernel")
        tf.summary.histogram("kernel", kernel)
        out = tf.matmul(inputs, kernel)
        if act is not None:
            out = act(out)
        tf.summary.histogram("out", out)
    return out


tf.set_random_seed(5)  # with the op seeds, TF2 draws the same initial kernels
rng = np.random.RandomState(0)
data = rng.uniform(-1.0, 1.0, (32, 2)).astype(np.float32)
goal = np.sin(data[:, :1] * 2.0).astype(np.float32)

x = tf.placeholder(tf.float32, [None, 2], name="x")
y = tf.placeholder(tf.float32, [None, 1], name="y")
hidden = dense(x, 2, 8, "hidden", 1, act=tf.nn.tanh)
fit = dense(hidden, 8, 1, "fit", 2)
loss = tf.reduce_mean(tf.square(fit - y))
tf.summary.scalar("loss", loss)
train = tf.train.AdamOptimizer(0.05).minimize(loss)
merged = tf.summary.merge_all()

sess = tf.Session()
sess.run(tf.global_variables_initializer())
writer = tf.summary.FileWriter("helper_logs")
for step in range(30):
    sess.run(train, feed_dict={x: data, y: goal})
    if step % 10 == 0:
        logged = sess.run(merged, feed_dict={x: data, y: goal})
        writer.add_summary(logged, step)
writer.close()
