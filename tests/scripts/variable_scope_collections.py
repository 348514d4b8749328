"""get_variable with variable_scope reuse (True and AUTO_REUSE) and graph collections."""
import tensorflow as tf


def layer(inputs):
    w = tf.get_variable("w", [2, 1], initializer=tf.constant_initializer(0.5))
    b = tf.get_variable("b", [1], initializer=tf.zeros_initializer())
    return tf.matmul(inputs, w) + b


x = tf.placeholder(tf.float32, [None, 2])
with tf.variable_scope("layer"):
    first = layer(x)
with tf.variable_scope("layer", reuse=True):
    second = layer(x)
with tf.variable_scope("auto", reuse=tf.AUTO_REUSE):
    layer(x)
with tf.variable_scope("auto", reuse=tf.AUTO_REUSE):
    layer(x)

tf.add_to_collection("penalties", tf.reduce_sum(tf.square(first)))
trainable = [v.name for v in tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES)]
print("trainable", " ".join(trainable))
print("global count", len(tf.global_variables()))
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    a, b = sess.run([first, second], {x: [[2.0, 4.0]]})
    print("outputs", a[0, 0], b[0, 0])
    print("penalty", sess.run(tf.add_n(tf.get_collection("penalties")), {x: [[2.0, 4.0]]}))
    try:
        with tf.variable_scope("layer"):
            layer(x)
    except ValueError as error:
        print("duplicate:", str(error).splitlines()[0])
