"""The tutorials' fully connected digit classifier (input -> 256 -> 128 -> 10, ReLU) as a TF1 script.

scikit-learn's bundled 8x8 digits, batches of 128. ``--variant softmax_adam``:
softmax cross-entropy and Adam; ``--variant mse_sgd`` (the tutorial): mean
squared error on one-hot labels, gradients applied by hand with ``assign_sub``.

    python mlp_digits.py [--steps 100] [--seed 0] [--variant softmax_adam|mse_sgd]
"""
import argparse

import numpy as np
import tensorflow as tf
from sklearn.datasets import load_digits

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=100)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--variant", choices=("softmax_adam", "mse_sgd"), default="softmax_adam")
args = parser.parse_args()

digits = load_digits()
images = (digits.images.reshape(len(digits.images), -1) / 16.0).astype(np.float32)
labels = digits.target.astype(np.int32)
split = int(len(images) * 0.8)
train_x, train_y, test_x, test_y = images[:split], labels[:split], images[split:], labels[split:]

tf.set_random_seed(args.seed)
x = tf.placeholder(tf.float32, [None, 64], name="x")
y = tf.placeholder(tf.int32, [None], name="y")
sizes = (64, 256, 128, 10)
params = []
layer = x
for i, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:]), start=1):
    w = tf.Variable(tf.truncated_normal([fan_in, fan_out], stddev=0.1), name=f"w{i}")
    b = tf.Variable(tf.zeros([fan_out]), name=f"b{i}")
    params += [w, b]
    layer = tf.matmul(layer, w) + b
    if i < len(sizes) - 1:
        layer = tf.nn.relu(layer)
onehot = tf.one_hot(y, 10)
if args.variant == "softmax_adam":
    loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=onehot, logits=layer))
    train_op = tf.train.AdamOptimizer(1e-3).minimize(loss)
else:
    loss = tf.reduce_mean(tf.square(onehot - layer))
    grads = tf.gradients(loss, params)
    train_op = tf.group([p.assign_sub(1e-3 * g) for p, g in zip(params, grads)])
accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(layer, 1, output_type=tf.int32), y), tf.float32))

batches = np.random.RandomState(args.seed)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for step in range(1, args.steps + 1):
        chosen = batches.choice(len(train_x), 128, replace=False)
        _, batch_loss = sess.run([train_op, loss], feed_dict={x: train_x[chosen], y: train_y[chosen]})
        if step % 25 == 0:
            test_accuracy = sess.run(accuracy, feed_dict={x: test_x, y: test_y})
            print(f"step {step}: loss {batch_loss!r}, test accuracy {test_accuracy!r}")
