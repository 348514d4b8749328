"""A tiny MNIST in IDX files whose digits a TF1 script can tell apart at a glance (for subprocess tests)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_banded_mnist(folder: Path) -> Path:
    """120 training and 10 test images in IDX files; digit c is a white band on rows 2c and 2c+1, labels cycle 0..9."""
    from graphmode.mnist.idx import write_idx

    folder.mkdir(parents=True, exist_ok=True)
    for prefix, count in (("train", 120), ("t10k", 10)):
        labels = (np.arange(count) % 10).astype(np.uint8)
        images = np.zeros((count, 28, 28), np.uint8)
        for index, label in enumerate(labels):
            images[index, 2 * label : 2 * label + 2, :] = 255
        write_idx(str(folder / f"{prefix}-images-idx3-ubyte.gz"), images)
        write_idx(str(folder / f"{prefix}-labels-idx1-ubyte.gz"), labels)
    return folder
