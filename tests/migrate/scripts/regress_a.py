"""X * A = 10: learn A by gradient descent (the classic TF1 tutorial, as a plain TF1 script)."""
import argparse

import numpy as np
import tensorflow as tf

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=100)
parser.add_argument("--batch-size", type=int, default=25)
args = parser.parse_args()

np.random.seed(0)
x_vals = np.random.normal(1, 0.1, 100).astype(np.float32)
y_vals = np.repeat(10.0, 100).astype(np.float32)

x_data = tf.placeholder(shape=[None, 1], dtype=tf.float32)
y_target = tf.placeholder(shape=[None, 1], dtype=tf.float32)
A = tf.Variable(tf.random_normal(shape=[1, 1]), name="A")

my_output = tf.matmul(x_data, A)
loss = tf.reduce_mean(tf.square(my_output - y_target))
my_opt = tf.train.GradientDescentOptimizer(0.02)
train_step = my_opt.minimize(loss)

sess = tf.Session()
sess.run(tf.global_variables_initializer())
for i in range(args.steps):
    rand_index = np.random.choice(100, size=args.batch_size)
    rand_x = np.transpose([x_vals[rand_index]])
    rand_y = np.transpose([y_vals[rand_index]])
    sess.run(train_step, feed_dict={x_data: rand_x, y_target: rand_y})
    if (i + 1) % 25 == 0:
        print("Step #", i + 1, "A =", sess.run(A))
        print("Loss =", sess.run(loss, feed_dict={x_data: rand_x, y_target: rand_y}))
