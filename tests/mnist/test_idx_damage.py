"""A damaged IDX header or a misused fake data set is a DatasetError naming the file or the call."""

from __future__ import annotations

import gzip
import re

import pytest

import graphmode as gm
from graphmode.mnist import idx
from graphmode.mnist.input_data import DataSet

MAGIC_IMAGES = bytes([0, 0, 8, 3])


@pytest.mark.parametrize("compressed", [False, True], ids=["raw", "gzip"])
@pytest.mark.parametrize(
    ("dimensions", "message"),
    [
        # 2**32 - 1 per dimension: read(count) would try to allocate ~8e28 bytes; int64 would wrap.
        ((0xFFFFFFFF,) * 3, r"file is truncated: 4294967295 images \(4294967295 x 4294967295 x 4294967295 bytes\) "
                            r"needs 79228162458924105385300197375 bytes, only 100 are left"),
        ((5, 0, 28), r"the header gives images of shape 5 x 0 x 28, which holds nothing; the header is damaged"),
    ],
    ids=["huge", "empty"],
)
def test_damaged_header_is_a_dataset_error_naming_the_file(tmp_path, compressed, dimensions, message):
    path = tmp_path / ("train-images-idx3-ubyte" + (".gz" if compressed else ""))
    header = MAGIC_IMAGES + b"".join(n.to_bytes(4, "big") for n in dimensions)
    with (gzip.open if compressed else open)(path, "wb") as handle:
        handle.write(header + bytes(100))
    with pytest.raises(gm.errors.DatasetError, match=re.escape(str(path)) + ": " + message):
        idx.read_idx(str(path), idx.IMAGES_MAGIC)


def test_next_batch_of_a_fake_data_set_without_fake_data_says_what_to_call():
    fake = DataSet(None, None, fake_data=True)
    with pytest.raises(gm.errors.DatasetError, match=r"next_batch\(5\) on a DataSet made with fake_data=True.*"
                                              r"call next_batch\(5, fake_data=True\)"):
        fake.next_batch(5)
    images, labels = fake.next_batch(5, fake_data=True)
    assert len(images) == len(labels) == 5
