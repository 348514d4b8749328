"""tf.nn.rnn_cell.BasicLSTMCell with dynamic_rnn, checked against NumPy's LSTM equations."""
import numpy as np
import tensorflow as tf

batch, time, features, units = 2, 3, 5, 4
inputs = np.random.RandomState(0).normal(size=(batch, time, features)).astype(np.float32)
x = tf.placeholder(tf.float32, [None, time, features])
cell = tf.nn.rnn_cell.BasicLSTMCell(units, forget_bias=1.0)
outputs, state = tf.nn.dynamic_rnn(cell, x, dtype=tf.float32)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    got, (c_last, h_last) = sess.run([outputs, state], {x: inputs})
    kernel, bias = sess.run(cell.weights)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


c = np.zeros((batch, units), np.float32)
h = np.zeros((batch, units), np.float32)
expected = []
for t in range(time):
    i, j, f, o = np.split(np.concatenate([inputs[:, t], h], axis=1) @ kernel + bias, 4, axis=1)
    c = c * sigmoid(f + 1.0) + sigmoid(i) * np.tanh(j)
    h = np.tanh(c) * sigmoid(o)
    expected.append(h)
expected = np.stack(expected, axis=1)
print("outputs shape", got.shape, "state shape", c_last.shape)
print("max abs diff vs numpy", float(np.abs(got - expected).max()), float(np.abs(h_last - h).max()))
