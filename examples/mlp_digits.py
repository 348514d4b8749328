"""The tutorials' fully connected digit classifier, in TF1 graph mode and TF2 eager mode side by side.

The example is defined in ``graphmode/parity/gallery/mlp_digits.py``: the TF1 model code,
the graph version and the eager version side by side, then the comparison. It
lives inside the package so that ``graphmode parity mlp_digits`` works from any install;
this file runs it as a script.

    python examples/mlp_digits.py --help
"""

from __future__ import annotations

import sys

from graphmode.parity.gallery.mlp_digits import *  # noqa: F403 - the example's names, for ``import mlp_digits``
from graphmode.parity.gallery.mlp_digits import main

if __name__ == "__main__":
    sys.exit(main())
