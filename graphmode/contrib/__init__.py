"""tf.contrib under the TF1 API: the namespace, TensorFlow's rename tables, and adapters with TF 1.15's defaults.

:mod:`~graphmode.contrib.namespace` builds ``tf.contrib`` for the TF1 module
(:mod:`graphmode.legacy.api`); the adapters (``layers``, ``conv``, ``norm``,
``seq2seq``, ``legacy_seq2seq``) and the rename tables (``renames``) use only the ground floor.
"""
