"""matplotlib calls of TF1's day: a window title, waiting for input, and training inside a FuncAnimation."""
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from matplotlib.animation import FuncAnimation

tf.set_random_seed(1)
w = tf.Variable(0.0)
loss = tf.square(w - 3.0)
train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
steps = tf.Variable(0, trainable=False)
count = tf.assign_add(steps, 1)
sess = tf.Session()
sess.run(tf.global_variables_initializer())

fig, ax = plt.subplots(figsize=(2, 2), dpi=40)
fig.canvas.set_window_title("training w")
print("title", fig.canvas.get_window_title())
print("button", plt.waitforbuttonpress(timeout=30))
print("points", plt.ginput(2, timeout=30))
plt.pause(30)  # returns at once: no display
line, = ax.plot([], [])


def update(frame):
    sess.run([train_op, count])
    line.set_data(np.arange(frame + 1), np.zeros(frame + 1))
    return (line,)


animation = FuncAnimation(fig, update, frames=5, interval=100)
endless_fig = plt.figure(figsize=(1, 1), dpi=20)
endless = FuncAnimation(endless_fig, lambda frame: sess.run(count) and (), frames=None, interval=50,
                        cache_frame_data=False)
plt.show()
print("steps", sess.run(steps), "w", round(float(sess.run(w)), 6))
plt.show()  # a second show does not train again
print("steps after a second show", sess.run(steps))
