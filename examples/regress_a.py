"""X * A = 10: the classic TF1 regression tutorial, in TF1 graph mode and TF2 eager mode side by side.

The example is defined in ``graphmode/parity/gallery/regress_a.py``: the TF1 model code,
the graph version and the eager version side by side, then the comparison. It
lives inside the package so that ``graphmode parity regress_a`` works from any install;
this file runs it as a script.

    python examples/regress_a.py --help
"""

from __future__ import annotations

import sys

from graphmode.parity.gallery.regress_a import *  # noqa: F403 - the example's names, for ``import regress_a``
from graphmode.parity.gallery.regress_a import main

if __name__ == "__main__":
    sys.exit(main())
