"""The model of train.py, on tf.contrib.legacy_seq2seq as TF1's char-rnn scripts built theirs."""
import tensorflow as tf
from tensorflow.contrib import legacy_seq2seq


class CharModel:
    def __init__(self, vocabulary, units, steps):
        self.inputs = tf.placeholder(tf.int32, [None, steps])
        self.targets = tf.placeholder(tf.int32, [None, steps])
        cell = tf.contrib.rnn.BasicLSTMCell(units)
        embedding = tf.get_variable("embedding", [vocabulary, units])
        inputs = tf.unstack(tf.nn.embedding_lookup(embedding, self.inputs), axis=1)
        outputs, _ = legacy_seq2seq.rnn_decoder(inputs, cell.zero_state(tf.shape(self.inputs)[0], tf.float32), cell)
        logits = [tf.layers.dense(output, vocabulary, name="softmax", reuse=tf.AUTO_REUSE) for output in outputs]
        targets = tf.unstack(self.targets, axis=1)
        weights = [tf.ones_like(target, tf.float32) for target in targets]
        self.cost = legacy_seq2seq.sequence_loss(logits, targets, weights)
