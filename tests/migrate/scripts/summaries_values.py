"""Statistics of a few fed vectors, logged with TF1 summaries; nothing is trained."""
import sys

import tensorflow as tf

logdir = sys.argv[1] if len(sys.argv) > 1 else "logs"
a = tf.placeholder(tf.float32, [3], name="a")
total = tf.reduce_sum(a)
spread = a - tf.reduce_mean(a)
tf.summary.scalar("total", total)
tf.summary.histogram("spread", spread)
merged = tf.summary.merge_all()

with tf.Session() as sess:
    writer = tf.summary.FileWriter(logdir)
    for step in range(3):
        summary, value = sess.run([merged, total], feed_dict={a: [float(step), 1.0, 2.5]})
        writer.add_summary(summary, step)
        print("step", step, "total", value)
    writer.close()
