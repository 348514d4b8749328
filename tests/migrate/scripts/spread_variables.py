"""An encoder and a decoder whose variable lists are made between their layers (Adam on each list's part).

python spread_variables.py [--steps 40]
"""
import argparse

import numpy as np
import tensorflow as tf

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=40)
args = parser.parse_args()

rng = np.random.RandomState(5)
data = rng.rand(64, 8).astype(np.float32)
code_size = 3


def scaled_init(size):
    return tf.truncated_normal(size, stddev=1.0 / np.sqrt(size[0]))


x = tf.placeholder(tf.float32, [None, 8])

E_W = tf.Variable(scaled_init([8, code_size]))
E_b = tf.Variable(tf.zeros([code_size]))
theta_E = [E_W, E_b]
print("encoder variables", len(theta_E))

D_W = tf.Variable(scaled_init([code_size, 8]))
D_b = tf.Variable(tf.zeros([8]))
theta_D = [D_W, D_b]

code = tf.nn.relu(tf.matmul(x, E_W) + E_b)
reconstruction = tf.matmul(code, D_W) + D_b
loss = tf.reduce_mean(tf.square(reconstruction - x))
train = tf.train.AdamOptimizer(0.01).minimize(loss, var_list=theta_E + theta_D)

with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for _ in range(args.steps):
        _, value = sess.run([train, loss], feed_dict={x: data})
    print("final loss", value)
