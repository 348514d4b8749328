"""One step (two for momentum) of several TF1 optimizers on (w - 3)^2 from w = 0, and a plot."""
import matplotlib.pyplot as plt
import tensorflow as tf

OPTIMIZERS = {
    "sgd": (lambda: tf.train.GradientDescentOptimizer(0.1), 1),
    "momentum": (lambda: tf.train.MomentumOptimizer(0.1, momentum=0.9), 2),
    "adam": (lambda: tf.train.AdamOptimizer(0.1), 1),
    "adagrad": (lambda: tf.train.AdagradOptimizer(0.1, initial_accumulator_value=0.1), 1),
    "rmsprop": (lambda: tf.train.RMSPropOptimizer(0.1), 1),
}

for name, (make_optimizer, steps) in OPTIMIZERS.items():
    with tf.Graph().as_default():
        w = tf.get_variable("w", [], initializer=tf.zeros_initializer())
        loss = tf.square(w - 3.0)
        global_step = tf.train.get_or_create_global_step()
        train = make_optimizer().minimize(loss, global_step=global_step)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for _ in range(steps):
                sess.run(train)
            value, step = sess.run([w, global_step])
            print(f"{name} w={value:.6f} global_step={step}")
            plt.plot([0, steps], [0.0, value], label=name)

plt.legend()
plt.show()
print("plot shown")
