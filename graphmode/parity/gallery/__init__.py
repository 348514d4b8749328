"""The bundled parity examples, shipped inside the package so ``graphmode parity NAME`` works from any install.

Each module writes a classic TF1 tutorial twice, as two short functions next to
each other (``build_graph``: placeholders, ``feed_dict``, a TF1 optimizer;
``build_eager``: ``tf.Variable``, ``GradientTape``, a Keras optimizer), keeps the
TF1 model code they share in ``model`` (what ``EagerModel.from_tf1`` runs
eagerly), and defines ``VARIANTS`` (name -> one line) and
``parity_problem(steps, seed, variant) -> ParityProblem``. ``main`` is the
script: ``examples/NAME.py`` in the source checkout runs it.

* :mod:`~graphmode.parity.gallery.regress_a`: ``X * A = 10`` (variants ``stochastic``, ``batch``).
* :mod:`~graphmode.parity.gallery.sigmoid_classifier`: the two-layer sigmoid network
  (``cross_entropy``, ``faithful_bug``).
* :mod:`~graphmode.parity.gallery.mlp_digits`: a 64-256-128-10 ReLU network on 8x8 digits
  (``mse_sgd``, ``softmax_adam``).
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["NAMES", "load"]

NAMES = ("regress_a", "sigmoid_classifier", "mlp_digits")


def load(name: str) -> ModuleType:
    """The gallery module ``name`` (one of :data:`NAMES`), imported."""
    if name not in NAMES:
        raise KeyError(name)
    return importlib.import_module(f"{__name__}.{name}")
