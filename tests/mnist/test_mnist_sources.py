"""TF1's seed arithmetic for the shuffle, the checked download, and serving a script's own loader's download.

No test reaches the network: downloads come from ``file://`` folders, and
"failed" downloads from a ``file://`` URL that does not exist.
"""

from __future__ import annotations

import hashlib
import os
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from graphmode import v1
from graphmode.errors import DataFilesNotFoundError, DatasetError
from graphmode.mnist import copies
from graphmode.mnist import files as mnist_files
from graphmode.mnist import input_data as mnist
from graphmode.mnist.idx import IMAGES_MAGIC, LABELS_MAGIC, read_idx, write_idx

NAMES = mnist_files.FILE_NAMES
OFFLINE = "file:///nonexistent-graphmode-test/"


pytestmark = pytest.mark.usefixtures("isolated_mnist_sources")


def _write_set(folder: Path, train: int = 7, test: int = 3) -> Path:
    """Four gzipped IDX files; image i is filled with the value i, its label is i % 10."""
    for prefix, count in (("train", train), ("t10k", test)):
        index = np.arange(count, dtype=np.uint8)
        write_idx(str(folder / f"{prefix}-images-idx3-ubyte.gz"),
                  np.broadcast_to(index[:, None, None], (count, 28, 28)).astype(np.uint8))
        write_idx(str(folder / f"{prefix}-labels-idx1-ubyte.gz"), (index % 10).astype(np.uint8))
    return folder


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- seeds: TF1's random_seed.get_seed ---------------------------------------------------------


@pytest.mark.parametrize(("op_seed", "graph_seed", "expected"), [
    (None, None, None),  # fresh entropy
    (5, None, 5),  # the op seed
    (None, 0.0, 0),  # tf.set_random_seed(0.0): TF1 reduced 0.0 % (2**31 - 1) = 0.0; NumPy needs an int
    (None, 7.9, 7),  # truncated, as int() does
    (3, 11, 3),  # the op seed wins over the graph seed
    (None, 2**32, 2),  # 2**32 mod (2**31 - 1) = 2: NumPy would refuse 2**32 itself
    (-1, None, 2**31 - 2),  # Python's modulo of a negative seed is positive, as in TF1
])
def test_numpy_seed_follows_tf1s_get_seed(op_seed, graph_seed, expected):
    assert mnist.numpy_seed(op_seed, graph_seed) == expected


def test_a_float_graph_seed_shuffles_as_its_integer(tmp_path):
    _write_set(tmp_path / "d")
    with v1.Graph().as_default():
        v1.set_random_seed(0.0)
        train = mnist.read_data_sets("d", dtype="uint8", validation_size=0).train
    order = np.arange(7)
    np.random.RandomState(0).shuffle(order)
    assert [int(image[0]) for image in train.next_batch(7)[0]] == order.tolist()


# --- graphmode's download: keras.utils.get_file with the published SHA-256 --------------------


def test_download_from_a_known_source_checks_each_files_sha256(tmp_path, monkeypatch, capsys):
    server = _write_set(tmp_path / "server")
    url = server.as_uri() + "/"
    hashes = {name: _sha256(server / f"{name}.gz") for name in NAMES.values()}
    monkeypatch.setitem(mnist_files.KNOWN_SOURCES, url, hashes)
    data = mnist.read_data_sets("got", source_url=url, dtype="uint8", validation_size=0)
    assert data.train.num_examples == 7 and sorted(os.listdir("got")) == sorted(f"{n}.gz" for n in NAMES.values())
    assert capsys.readouterr().out.count("Successfully downloaded") == 4


def test_a_download_whose_sha256_differs_is_deleted_and_named(tmp_path, monkeypatch):
    server = _write_set(tmp_path / "server")
    url = server.as_uri() + "/"
    hashes = {name: _sha256(server / f"{name}.gz") for name in NAMES.values()}
    hashes["train-labels-idx1-ubyte"] = "0" * 64
    monkeypatch.setitem(mnist_files.KNOWN_SOURCES, url, hashes)
    with pytest.raises(DatasetError) as caught:
        mnist_files.download("got", url, list(NAMES.values()))
    message = str(caught.value)
    target = tmp_path / "got" / "train-labels-idx1-ubyte.gz"
    assert f"{target}: downloaded from {url}, its SHA-256 is {_sha256(server / 'train-labels-idx1-ubyte.gz')}" in message
    assert f"not the published {'0' * 64}; the file was deleted" in message
    assert not target.exists()


def test_the_published_hashes_are_the_default_sources():
    assert mnist_files.KNOWN_SOURCES[mnist_files.DEFAULT_SOURCE_URL]["train-images-idx3-ubyte"].startswith("440fcabf")
    assert set(mnist_files.KNOWN_SOURCES[mnist_files.DEFAULT_SOURCE_URL]) == set(NAMES.values())


def test_an_offline_download_leaves_no_folder_behind():
    with pytest.raises(DataFilesNotFoundError):
        mnist.read_data_sets("MNIST_data/", source_url=OFFLINE)
    assert not os.path.exists("MNIST_data")


# --- a script's own input_data.py: its failed urlretrieve is served ----------------------------


@pytest.fixture
def serving(monkeypatch):
    monkeypatch.setattr(urllib.request, "urlretrieve", urllib.request.urlretrieve)  # restored afterwards
    copies.serve_failed_mnist_downloads()
    return urllib.request.urlretrieve


def test_a_failed_mnist_download_is_served_from_graphmodes_sources(tmp_path, monkeypatch, serving, capsys):
    source = _write_set(tmp_path / "env_dir")
    monkeypatch.setenv("GRAPHMODE_MNIST_DIR", str(source))
    (tmp_path / "own").mkdir()
    path, _ = serving(OFFLINE + "train-images-idx3-ubyte.gz", str(tmp_path / "own" / "train-images-idx3-ubyte.gz"))
    served = read_idx(path, IMAGES_MAGIC)
    assert served.shape == (7, 28, 28, 1) and served[:, 0, 0, 0].tolist() == list(range(7))
    serving(OFFLINE + "t10k-labels-idx1-ubyte", str(tmp_path / "own" / "t10k-labels-idx1-ubyte"))  # not gzipped
    assert read_idx(str(tmp_path / "own" / "t10k-labels-idx1-ubyte"), LABELS_MAGIC).tolist() == [0, 1, 2]
    err = capsys.readouterr().err
    assert err.count("graphmode: the script's download of") == 1  # said once
    assert f"from $GRAPHMODE_MNIST_DIR={source}" in err


def test_keras_cache_serves_too(tmp_path, serving):
    keras = tmp_path / "keras_home" / "datasets"
    keras.mkdir(parents=True)
    np.savez(keras / "mnist.npz", x_train=np.full((3, 28, 28), 9, np.uint8), y_train=np.array([4, 5, 6], np.uint8),
             x_test=np.zeros((1, 28, 28), np.uint8), y_test=np.array([2], np.uint8))
    serving(OFFLINE + "train-labels-idx1-ubyte.gz", str(tmp_path / "train-labels-idx1-ubyte.gz"))
    assert read_idx(str(tmp_path / "train-labels-idx1-ubyte.gz"), LABELS_MAGIC).tolist() == [4, 5, 6]


def test_with_no_source_the_error_names_each_place_looked_in(tmp_path, serving):
    destination = tmp_path / "own" / "train-images-idx3-ubyte.gz"
    with pytest.raises(DataFilesNotFoundError) as caught:
        serving(OFFLINE + "train-images-idx3-ubyte.gz", str(destination))
    message = str(caught.value)
    assert f"the script's download of {OFFLINE}train-images-idx3-ubyte.gz failed" in message
    assert f"no MNIST files to write to {destination}" in message
    assert "$GRAPHMODE_MNIST_DIR (not set)" in message
    assert f"{tmp_path / 'keras_home' / 'datasets' / 'mnist.npz'} (Keras' cache; absent)" in message
    assert f"copy the four files into {destination.parent}" in message


def test_other_downloads_and_graphmodes_own_fail_as_they_would(tmp_path, monkeypatch, serving):
    monkeypatch.setenv("GRAPHMODE_MNIST_DIR", str(_write_set(tmp_path / "env_dir")))
    with pytest.raises(OSError) as other:
        serving(OFFLINE + "cifar-10-python.tar.gz", str(tmp_path / "cifar.tar.gz"))
    assert not isinstance(other.value, DataFilesNotFoundError)
    with mnist_files.graphmodes_own_download(), pytest.raises(OSError) as own:
        serving(OFFLINE + "train-images-idx3-ubyte.gz", str(tmp_path / "x.gz"))
    assert not isinstance(own.value, DataFilesNotFoundError) and not (tmp_path / "x.gz").exists()
