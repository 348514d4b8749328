"""tf.app.flags with NumPy defaults, a flag absl's logging also defines, and absl's own checks kept."""
import numpy as np
import tensorflow as tf

flags = tf.app.flags
flags.DEFINE_integer("batch_size", np.power(2, 7), "examples per batch")
flags.DEFINE_integer("layers", 3, "depth", lower_bound=np.int32(1))
flags.DEFINE_float("keep_prob", np.float32(0.5), "dropout keep probability")
flags.DEFINE_boolean("shuffle", np.bool_(False), "shuffle the data")
flags.DEFINE_string("log_dir", "logs_of_this_script", "where summaries go")
FLAGS = flags.FLAGS

for define, name, default in ((flags.DEFINE_integer, "half", np.float32(2.5)),  # absl refuses, as TF1's did
                              (flags.DEFINE_string, "pdb", "x"),  # absl.app's flag: defined under TF1 too
                              (flags.DEFINE_integer, "batch_size", 1)):  # the script's own, twice
    try:
        define(name, default, "refused")
        print("accepted", name)
    except Exception as error:
        print("refused", name, type(error).__name__)


def main(_):
    print("batch_size", FLAGS.batch_size, type(FLAGS.batch_size).__name__)
    print("layers", FLAGS.layers, "keep_prob", FLAGS.keep_prob, type(FLAGS.keep_prob).__name__)
    print("shuffle", FLAGS.shuffle, type(FLAGS.shuffle).__name__)
    print("log_dir", FLAGS.log_dir)


if __name__ == "__main__":
    tf.app.run(main)
