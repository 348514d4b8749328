"""Checkpoints: read and inspect, pair names (the rule is ``graphmode._pairing``), load into eager models, save for TF1,
write crash-safely, clean what interrupted saves left."""

import lazy_loader as _lazy

# The names are declared once, in __init__.pyi (read by lazy_loader here and by type checkers);
# each is imported on first use.
__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
