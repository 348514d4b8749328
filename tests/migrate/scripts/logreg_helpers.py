"""nlintz-style logistic regression: variables made by a helper function, the model a function named `model`."""
import numpy as np
import tensorflow as tf


def init_weights(shape):
    return tf.Variable(tf.random_normal(shape, stddev=0.01))

def model(X, w):
    return tf.matmul(X, w)

rng = np.random.RandomState(0)
trX = rng.rand(64, 4).astype(np.float32)
trY = np.eye(2)[rng.randint(0, 2, 64)].astype(np.float32)
X = tf.placeholder("float", [None, 4])
Y = tf.placeholder("float", [None, 2])
w = init_weights([4, 2])
py_x = model(X, w)
cost = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(logits=py_x, labels=Y))
train_op = tf.train.GradientDescentOptimizer(0.05).minimize(cost)
predict_op = tf.argmax(py_x, 1)
with tf.Session() as sess:
    tf.global_variables_initializer().run()
    for i in range(20):
        sess.run(train_op, feed_dict={X: trX, Y: trY})
        print(i, np.mean(np.argmax(trY, axis=1) == sess.run(predict_op, feed_dict={X: trX})))
