"""The TF1 API as a module: ``import graphmode.tf1 as tf``.

Importing it switches the process to graphmode's TF1 API (see
:func:`graphmode.enable_tf1`), and every attribute is the TF1 ``tensorflow``
module's: ``tf.placeholder``, ``tf.Session`` (graphmode's), ``tf.train.Saver``,
``tf.app.run``, ``tf.contrib`` (which fails naming its replacement) ...

Example:
    >>> import graphmode.tf1 as tf
    >>> x = tf.placeholder(tf.float32, [None, 2], name="x")
    >>> with tf.Session() as sess:
    ...     print(sess.run(2 * x, {x: [[1.0, 2.0]]}))
"""

from graphmode.legacy.api import enable_tf1 as _enable_tf1

_TF1 = _enable_tf1()


def __getattr__(name: str):
    return getattr(_TF1, name)


def __dir__() -> list[str]:
    return dir(_TF1)
