"""A character-level language model in the style of TF1's char-rnn scripts, on tf.contrib.legacy_seq2seq."""
import numpy as np
import tensorflow as tf
import tensorflow.contrib.legacy_seq2seq as seq2seq

text = "abcabcabcabcabcabcabcabc"
vocab = sorted(set(text))
ids = np.array([vocab.index(c) for c in text], np.int32)
batch, steps, units = 2, 5, 16
x = tf.placeholder(tf.int32, [batch, steps])
y = tf.placeholder(tf.int32, [batch, steps])
tf.set_random_seed(3)
cell = tf.contrib.rnn.BasicLSTMCell(units)
initial = cell.zero_state(batch, tf.float32)
with tf.variable_scope("rnnlm"):
    softmax_w = tf.get_variable("softmax_w", [units, len(vocab)])
    softmax_b = tf.get_variable("softmax_b", [len(vocab)])
    embedding = tf.get_variable("embedding", [len(vocab), units])
    inputs = tf.split(tf.nn.embedding_lookup(embedding, x), steps, 1)
    inputs = [tf.squeeze(step, [1]) for step in inputs]
outputs, last_state = seq2seq.rnn_decoder(inputs, initial, cell, scope="rnnlm")
logits = tf.matmul(tf.reshape(tf.concat(outputs, 1), [-1, units]), softmax_w) + softmax_b
loss = seq2seq.sequence_loss_by_example([logits], [tf.reshape(y, [-1])], [tf.ones([batch * steps])])
cost = tf.reduce_sum(loss) / batch / steps
train_op = tf.train.AdamOptimizer(0.05).minimize(cost)
print("variables", " ".join(v.name for v in tf.trainable_variables()))
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    feed = {x: np.stack([ids[0:5], ids[3:8]]), y: np.stack([ids[1:6], ids[4:9]])}
    costs = [sess.run([cost, train_op], feed)[0] for _ in range(40)]
print(f"first cost {costs[0]:.4f} last cost {costs[-1]:.4f}")
