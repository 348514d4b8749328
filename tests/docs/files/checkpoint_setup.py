"""Setup of the README's checkpoint section: the TF1 run its blocks read (``graphmode run train.py``).

Runs in the README's scratch folder, where ``train.py`` lies; leaves ``train_dir/model.ckpt-100``.
"""


def _train_once() -> None:
    import subprocess
    import sys
    from pathlib import Path

    if not Path("train_dir", "checkpoint").exists():
        subprocess.run([sys.executable, "-m", "graphmode", "run", "train.py"], check=True, capture_output=True)


_train_once()
del _train_once
