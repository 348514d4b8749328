"""Imported first by ``spawn`` / ``forkserver`` children of ``graphmode run``: the parent's TF1 API.

See :mod:`graphmode.legacy.children`. Importing this module switches the
process (:func:`graphmode.enable_tf1`) and passes the same to its own children.
"""

from graphmode.legacy.api import enable_tf1
from graphmode.legacy.children import give_children_the_tf1_api

enable_tf1()
give_children_the_tf1_api()
