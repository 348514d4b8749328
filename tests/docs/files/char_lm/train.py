"""A character-level language model's training script, importing its model from model.py next to it."""
import tensorflow as tf
from model import CharModel

model = CharModel(vocabulary=30, units=64, steps=20)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
