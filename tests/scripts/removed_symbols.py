"""TF1 code using names TensorFlow 2 dropped: a tf.contrib module with no successor, then tf.estimator."""
import tensorflow as tf

try:
    from tensorflow.contrib import crf  # noqa: F401 - the import is what fails
except ImportError as error:
    print("import failed:", type(error).__name__, error)

print("has estimator", hasattr(tf, "estimator"))
x = tf.placeholder(tf.float32, [None, 2])
classifier = tf.estimator.DNNClassifier(hidden_units=[10])
print("not reached")
