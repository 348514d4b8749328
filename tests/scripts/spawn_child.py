"""A TF1 script whose multiprocessing children build graphs with tf.placeholder.

Usage: spawn_child.py METHOD... (spawn, forkserver, fork).
"""
import multiprocessing as mp
import sys

import tensorflow as tf


def child(queue):
    x = tf.placeholder(tf.float32, [None, 2])
    with tf.Session() as sess:
        queue.put(float(sess.run(tf.reduce_sum(x * 2.0), {x: [[1.0, 2.0]]})))


if __name__ == "__main__":
    for method in sys.argv[1:]:
        context = mp.get_context(method)
        queue = context.Queue()
        process = context.Process(target=child, args=(queue,))
        process.start()
        process.join(timeout=240)
        print(method, "exit", process.exitcode, "result", queue.get(timeout=5) if process.exitcode == 0 else None)
