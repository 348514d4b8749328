"""MNIST's ``input_data`` for TF1 scripts: the loader, IDX files, and where the files come from.

:mod:`~graphmode.mnist.input_data` is what ``tensorflow.examples.tutorials.mnist``
and ``tf.contrib.learn.datasets.mnist`` give a script under the TF1 API;
:mod:`~graphmode.mnist.files` finds (or downloads) the files, :mod:`~graphmode.mnist.idx`
reads them. Uses only the ground floor.
"""
