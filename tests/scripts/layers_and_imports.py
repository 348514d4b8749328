"""tf.layers.dense, plus the submodule imports TF1 scripts use."""
import tensorflow as tf
import tensorflow.compat.v1 as tf_v1
from tensorflow.keras import layers
from tensorflow.python.framework import ops

x = tf.placeholder(tf.float32, [None, 2])
y = tf.layers.dense(x, 3, kernel_initializer=tf.ones_initializer(), bias_initializer=tf.constant_initializer(0.5))
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    print("dense", sess.run(y, {x: [[1.0, 2.0]]}).tolist())
print("compat.v1 is tf", tf_v1 is tf)
print("keras Dense is a class", isinstance(layers.Dense, type))
print("ops default graph", ops.get_default_graph() is tf.get_default_graph())
print("trainable", [v.name for v in tf.trainable_variables()])
