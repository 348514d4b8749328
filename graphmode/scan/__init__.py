"""Scan: the static TF1 checklist of a script (what TensorFlow 2 lacks, and whether ``graphmode run`` runs it)."""

import lazy_loader as _lazy

# The names are declared once, in __init__.pyi (read by lazy_loader here and by type checkers);
# each is imported on first use.
__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
