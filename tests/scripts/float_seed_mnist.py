"""tf.set_random_seed with a float, then the tutorial MNIST loader shuffles with it."""
import sys

import tensorflow as tf
from tensorflow.examples.tutorials.mnist import input_data

tf.set_random_seed(0.0)
data = input_data.read_data_sets(sys.argv[1], validation_size=0)
print("labels", data.train.next_batch(12)[1].tolist())
