"""The classic TF1 two-layer sigmoid classifier, in TF1 graph mode and TF2 eager mode side by side.

The example is defined in ``graphmode/parity/gallery/sigmoid_classifier.py``: the TF1 model code,
the graph version and the eager version side by side, then the comparison. It
lives inside the package so that ``graphmode parity sigmoid_classifier`` works from any install;
this file runs it as a script.

    python examples/sigmoid_classifier.py --help
"""

from __future__ import annotations

import sys

from graphmode.parity.gallery.sigmoid_classifier import *  # noqa: F403 - the example's names, for ``import sigmoid_classifier``
from graphmode.parity.gallery.sigmoid_classifier import main

if __name__ == "__main__":
    sys.exit(main())
