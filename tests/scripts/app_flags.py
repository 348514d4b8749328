"""tf.app.flags with tf.app.run(main), and tf.logging."""
import tensorflow as tf

flags = tf.app.flags
flags.DEFINE_float("learning_rate", 0.5, "step size")
flags.DEFINE_integer("steps", 2, "number of steps")
flags.DEFINE_string("name", "default", "run name")
flags.DEFINE_integer("exit_code", 0, "what main returns")
FLAGS = flags.FLAGS


def main(argv):
    tf.logging.set_verbosity(tf.logging.INFO)
    tf.logging.info("training %s for %d steps", FLAGS.name, FLAGS.steps)
    print(f"learning_rate={FLAGS.learning_rate} steps={FLAGS.steps} name={FLAGS.name}")
    print("rest", argv[1:])
    return FLAGS.exit_code


if __name__ == "__main__":
    tf.app.run(main)
