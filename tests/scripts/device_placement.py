"""ConfigProto with log_device_placement, and /gpu:0 pinned behind tf.test.is_built_with_cuda()."""
import tensorflow as tf

a = tf.placeholder(tf.float32, [2], name="a")
if tf.test.is_built_with_cuda():
    with tf.device("/gpu:0"):
        b = tf.multiply(a, 3.0, name="gpu_mul")
else:
    b = tf.multiply(a, 3.0, name="gpu_mul")
total = tf.reduce_sum(b, name="total")

config = tf.ConfigProto(log_device_placement=True)
with tf.Session(config=config) as sess:
    print("total", sess.run(total, {a: [1.0, 2.0]}))
    print("total again", sess.run(total, {a: [2.0, 2.0]}))
    print("gpu_mul ran on", sess.placement.device_of("gpu_mul").split("/")[-1])
print("is_gpu_available", tf.test.is_gpu_available())
