"""A one-layer LSTM regressor in TF1 style: ``rnn/lstm_cell`` and an ``out`` layer."""

import tensorflow as tf


def build(inputs, units=64):
    """Returns the prediction for ``inputs`` [batch, time, features]: the last LSTM output through ``out``."""
    cell = tf.nn.rnn_cell.LSTMCell(units)
    outputs, _ = tf.nn.dynamic_rnn(cell, inputs, dtype=tf.float32, scope="rnn")
    with tf.variable_scope("out"):
        weights = tf.get_variable("weights", [units, 1])
        biases = tf.get_variable("biases", [1], initializer=tf.zeros_initializer())
    return tf.matmul(outputs[:, -1, :], weights) + biases
