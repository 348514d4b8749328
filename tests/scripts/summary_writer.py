"""tf.summary scalars written with a FileWriter into the folder given as argument, then read back."""
import glob
import sys

import tensorflow as tf

logdir = sys.argv[1]
x = tf.placeholder(tf.float32, [], name="x")
tf.summary.scalar("loss", x * 2.0)
merged = tf.summary.merge_all()
with tf.Session() as sess:
    writer = tf.summary.FileWriter(logdir, sess.graph)
    for step in range(3):
        writer.add_summary(sess.run(merged, {x: float(step)}), step)
    writer.close()

(events,) = glob.glob(f"{logdir}/events.out.tfevents.*")
for event in tf.train.summary_iterator(events):
    for value in event.summary.value:
        print(f"step {event.step} {value.tag} {value.simple_value}")
