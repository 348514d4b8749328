"""Setup of the README's checkpoint section: the TF1 run its blocks read (``graphmode run train.py``).

Runs in the README's scratch folder, where ``train.py`` lies; leaves ``train_dir/model.ckpt-100``, and
Keras' layer names numbered as in a fresh process.
"""


def _train_once() -> None:
    import subprocess
    import sys
    from pathlib import Path

    if not Path("train_dir", "checkpoint").exists():
        subprocess.run([sys.executable, "-m", "graphmode", "run", "train.py"], check=True, capture_output=True)


def _fresh_keras_names() -> None:
    # A reader runs the page in a fresh process, where Keras names the layers `lstm` and `dense`; the test
    # process has made layers before, and the page's name map is written for the names a reader gets.
    from graphmode import tf

    tf.keras.backend.reset_uids()


_train_once()
_fresh_keras_names()
del _train_once, _fresh_keras_names
