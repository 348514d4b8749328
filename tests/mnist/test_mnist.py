"""TF 1.15's MNIST loader (input_data / tf.contrib.learn.datasets.mnist) on small generated IDX files.

Every image of the generated sets is filled with its own index, so a batch
says which examples it holds; expected batches are worked out from the
documented semantics of ``next_batch`` in the comments.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pytest

from graphmode import v1
from graphmode.errors import DataFilesNotFoundError, DatasetError
from graphmode.legacy.api import TF1, import_tf1
from graphmode.mnist import files as mnist_files
from graphmode.mnist import input_data as mnist
from graphmode.mnist.idx import IMAGES_MAGIC, read_idx, write_idx

TRAIN, TEST = 12, 5
NAMES = mnist_files.FILE_NAMES


def _write_set(folder: Path, gzipped: bool = True, train: int = TRAIN, test: int = TEST, offset: int = 0) -> Path:
    """Four IDX files: image i is 28x28 of value offset + i, its label i % 10."""
    suffix = ".gz" if gzipped else ""
    for part, count in (("train", train), ("test", test)):
        prefix = "train" if part == "train" else "t10k"
        index = np.arange(count, dtype=np.uint8)
        images = np.broadcast_to((index + offset)[:, None, None], (count, 28, 28)).astype(np.uint8)
        write_idx(str(folder / f"{prefix}-images-idx3-ubyte{suffix}"), images)
        write_idx(str(folder / f"{prefix}-labels-idx1-ubyte{suffix}"), (index % 10).astype(np.uint8))
    return folder


def _indices(images: np.ndarray) -> list[int]:
    return [int(row.reshape(-1)[0]) for row in images]


pytestmark = pytest.mark.usefixtures("isolated_mnist_sources")


OFFLINE = "file:///nonexistent-graphmode-test/"


def test_idx_round_trip_gzipped_or_not(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    for name in ("a-images.gz", "a-images"):
        write_idx(str(tmp_path / name), images)
        read = read_idx(str(tmp_path / name), IMAGES_MAGIC)
        assert read.shape == (2, 3, 4, 1) and read.dtype == np.uint8
        np.testing.assert_array_equal(read[..., 0], images)
    raw = (tmp_path / "a-images").read_bytes()
    assert raw[:16] == bytes([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4])  # magic 2051, then 2, 3, 4


def test_read_data_sets_splits_scales_and_flattens_as_tf1(tmp_path):
    _write_set(tmp_path / "MNIST_data")
    data = mnist.read_data_sets("MNIST_data/", validation_size=4)
    assert isinstance(data, mnist.Datasets) and data._fields == ("train", "validation", "test")
    assert (data.train.num_examples, data.validation.num_examples, data.test.num_examples) == (8, 4, 5)
    assert data.train.images.shape == (8, 784) and data.train.images.dtype == np.float32
    # The validation set is the first 4 training examples, train the other 8.
    scale = np.float32(1.0 / 255.0)
    assert _indices(data.validation.images / scale) == [0, 1, 2, 3]
    # TF1 multiplied by float32(1/255); that differs from x / 255 for about half the byte values.
    expected = np.float32(6) * scale  # train example 2 is image 6
    assert data.train.images[2, 0] == expected and expected != np.float32(6 / 255)
    assert data.train.labels.dtype == np.uint8 and data.train.labels.tolist() == [4, 5, 6, 7, 8, 9, 0, 1]
    assert data.train.epochs_completed == 0


def test_uint8_unflattened_one_hot_and_defaults(tmp_path):
    _write_set(tmp_path / "d", gzipped=False)
    data = mnist.read_data_sets("d", dtype=v1.uint8, reshape=False, one_hot=True, validation_size=0)
    assert data.train.images.shape == (12, 28, 28, 1) and data.train.images.dtype == np.uint8
    assert int(data.train.images[11].max()) == 11  # 0..255 kept
    assert data.train.labels.shape == (12, 10) and data.train.labels.dtype == np.float64
    np.testing.assert_array_equal(data.train.labels[3], np.eye(10)[3])
    assert data.validation.num_examples == 0
    with pytest.raises(TypeError, match="Invalid image dtype .*float64.*expected uint8 or float32"):
        mnist.read_data_sets("d", dtype=v1.float64)
    with pytest.raises(DatasetError, match=r"Validation size should be between 0 and 12\. Received: 13\."):
        mnist.read_data_sets("d", validation_size=13)


def test_next_batch_without_shuffle_joins_the_epochs_at_the_boundary(tmp_path):
    _write_set(tmp_path / "d", train=5, test=1)
    train = mnist.read_data_sets("d", dtype="uint8", validation_size=0).train
    batches = [train.next_batch(3, shuffle=False) for _ in range(4)]
    # [0 1 2], then the rest of epoch 1 (3 4) + the start of epoch 2 (0), then [1 2 3], then 4 + 0 1.
    assert [_indices(images) for images, _ in batches] == [[0, 1, 2], [3, 4, 0], [1, 2, 3], [4, 0, 1]]
    assert [labels.tolist() for _, labels in batches][1] == [3, 4, 0]
    assert train.epochs_completed == 2


def test_next_batch_ending_exactly_on_the_boundary_counts_the_epoch_on_the_next_call(tmp_path):
    _write_set(tmp_path / "d", train=4, test=1)
    train = mnist.read_data_sets("d", dtype="uint8", validation_size=0).train
    assert _indices(train.next_batch(2, shuffle=False)[0]) == [0, 1]
    assert _indices(train.next_batch(2, shuffle=False)[0]) == [2, 3]
    assert train.epochs_completed == 0  # TF1 counts it when a batch starts past the end
    assert _indices(train.next_batch(2, shuffle=False)[0]) == [0, 1]  # nothing left over: all from epoch 2
    assert train.epochs_completed == 1


def test_shuffle_on_first_call_and_reshuffle_at_the_boundary_follow_the_seed(tmp_path):
    _write_set(tmp_path / "d", train=7, test=1)
    train = mnist.read_data_sets("d", dtype="uint8", validation_size=0, seed=3).train
    first, second = train.next_batch(4)[0], train.next_batch(4)[0]
    # Each DataSet seeds NumPy's global generator with the seed; the first call
    # shuffles arange(7), the boundary call draws a second permutation of the shuffled order.
    generator = np.random.RandomState(3)
    order = np.arange(7)
    generator.shuffle(order)
    assert _indices(first) == order[:4].tolist()
    rest = order[4:].tolist()
    permutation = np.arange(7)
    generator.shuffle(permutation)
    assert _indices(second) == rest + order[permutation][:1].tolist()
    again = mnist.read_data_sets("d", dtype="uint8", validation_size=0, seed=3).train
    assert _indices(again.next_batch(4)[0]) == order[:4].tolist()  # the same seed, the same batches
    other = mnist.read_data_sets("d", dtype="uint8", validation_size=0, seed=4).train
    assert sorted(_indices(other.next_batch(7)[0])) == list(range(7))


def test_without_a_seed_the_graph_seed_seeds_the_shuffle(tmp_path):
    _write_set(tmp_path / "d", train=7, test=1)
    with v1.Graph().as_default():
        v1.set_random_seed(11)
        train = mnist.read_data_sets("d", dtype="uint8", validation_size=0).train
    order = np.arange(7)
    np.random.RandomState(11).shuffle(order)
    assert _indices(train.next_batch(7)[0]) == order.tolist()


def test_fake_data(tmp_path):
    data = mnist.read_data_sets("unused", fake_data=True, one_hot=True)
    assert data.train.num_examples == 10000
    images, labels = data.train.next_batch(2, fake_data=True)
    assert images == [[1] * 784] * 2 and labels == [[1] + [0] * 9] * 2
    assert not os.path.exists("unused")
    with pytest.raises(AttributeError, match="fake_data DataSet has no images"):
        data.test.images  # noqa: B018


def test_sources_in_order_said_once_on_stderr(tmp_path, monkeypatch, capsys):
    _write_set(tmp_path / "env_dir", offset=100)
    monkeypatch.setenv("GRAPHMODE_MNIST_DIR", str(tmp_path / "env_dir"))
    (tmp_path / "partial").mkdir()
    write_idx(str(tmp_path / "partial" / "train-images-idx3-ubyte.gz"), np.zeros((1, 28, 28), np.uint8))
    for _ in range(2):
        data = mnist.read_data_sets("partial", dtype="uint8", validation_size=0)
    assert _indices(data.train.images)[:2] == [100, 101]
    err = capsys.readouterr().err
    assert err.count("graphmode: MNIST from $GRAPHMODE_MNIST_DIR=") == 1, err
    assert "(partial has no complete set of IDX files)" in err

    # The script's folder comes first.
    _write_set(tmp_path / "MNIST_data", offset=50)
    assert _indices(mnist.read_data_sets("MNIST_data", dtype="uint8", validation_size=0).train.images)[0] == 50
    assert "graphmode: MNIST from MNIST_data (the folder the script names)" in capsys.readouterr().err

    # Then Keras' cache.
    monkeypatch.delenv("GRAPHMODE_MNIST_DIR")
    keras = tmp_path / "keras_home" / "datasets"
    keras.mkdir(parents=True)
    np.savez(keras / "mnist.npz", x_train=np.full((3, 28, 28), 7, np.uint8), y_train=np.array([1, 2, 3], np.uint8),
             x_test=np.zeros((2, 28, 28), np.uint8), y_test=np.array([0, 9], np.uint8))
    data = mnist.read_data_sets("elsewhere", dtype="uint8", validation_size=1)
    assert data.train.labels.tolist() == [2, 3] and data.test.images.shape == (2, 784)
    assert f"graphmode: MNIST from Keras' cache {keras / 'mnist.npz'}" in capsys.readouterr().err


def test_download_fetches_the_missing_files_into_the_scripts_folder(tmp_path, capsys):
    server = _write_set(tmp_path / "server")
    target = tmp_path / "MNIST_data"
    target.mkdir()
    os.replace(server / "t10k-labels-idx1-ubyte.gz", target / "t10k-labels-idx1-ubyte.gz")  # one already here
    data = mnist.read_data_sets(str(target), source_url=server.as_uri() + "/", validation_size=2)
    assert data.test.labels.tolist() == [0, 1, 2, 3, 4]
    assert sorted(os.listdir(target)) == sorted(f"{name}.gz" for name in NAMES.values())
    out, err = capsys.readouterr()
    assert out.count("Successfully downloaded") == 3 and "t10k-labels" not in out.split("Extracting")[0]
    assert f"graphmode: MNIST downloaded from {server.as_uri()}/ into {target}" in err


def test_offline_without_files_names_every_place_and_what_to_do(tmp_path):
    with pytest.raises(DataFilesNotFoundError) as caught:
        mnist.read_data_sets("MNIST_data/", source_url=OFFLINE)
    message = str(caught.value)
    assert isinstance(caught.value, FileNotFoundError)
    for name in NAMES.values():
        assert f"{name}.gz" in message
    assert "MNIST_data/ (the folder the script names; no such folder)" in message
    assert "$GRAPHMODE_MNIST_DIR (not set)" in message
    assert f"{tmp_path / 'keras_home' / 'datasets' / 'mnist.npz'} (Keras' cache; absent)" in message
    assert f"could not download them from {OFFLINE}" in message
    assert "set GRAPHMODE_MNIST_DIR to a folder holding them" in message
    assert not os.path.exists("MNIST_data")  # nothing left behind


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("swap", r"train-images-idx3-ubyte\.gz: invalid magic number 2049 \(that is the magic number of IDX labels\)"),
        ("truncate_gzip", r"train-images-idx3-ubyte\.gz: the gzip stream is truncated or corrupt"),
        ("truncate_raw", r"train-images-idx3-ubyte: file is truncated: 12 images \(12 x 28 x 28 bytes\) needs 9408 "
                         r"bytes, only 100 are left"),
        ("count", r"train-images-idx3-ubyte\.gz holds 12 images but .*train-labels-idx1-ubyte\.gz holds 11 labels"),
    ],
)
def test_corrupt_files_are_named_with_what_is_wrong(tmp_path, damage, message):
    folder = _write_set(tmp_path / "d")
    images = folder / "train-images-idx3-ubyte.gz"
    if damage == "swap":
        images.write_bytes((folder / "train-labels-idx1-ubyte.gz").read_bytes())
    elif damage == "truncate_gzip":
        images.write_bytes(images.read_bytes()[:-40])
    elif damage == "truncate_raw":
        raw = gzip.decompress(images.read_bytes())
        images.unlink()
        (folder / "train-images-idx3-ubyte").write_bytes(raw[: 16 + 100])
    else:
        write_idx(str(folder / "train-labels-idx1-ubyte.gz"), np.zeros(11, np.uint8))
    with pytest.raises(DatasetError, match=message):
        mnist.read_data_sets("d", source_url=OFFLINE)


def test_one_hot_refuses_labels_out_of_range(tmp_path):
    folder = _write_set(tmp_path / "d")
    write_idx(str(folder / "t10k-labels-idx1-ubyte.gz"), np.array([0, 1, 2, 3, 10], np.uint8))
    with pytest.raises(DatasetError, match=r"labels run from 0 to 10; one-hot with 10 classes needs 0\.\.9"):
        mnist.read_data_sets("d", one_hot=True)


def test_fashion_mnist_same_layout_never_falls_back_to_digits(tmp_path, monkeypatch):
    _write_set(tmp_path / "data" / "fashion", offset=30)
    data = mnist.read_data_sets("data/fashion", dtype="uint8", validation_size=0)
    assert _indices(data.train.images)[0] == 30
    # A digits cache must not stand in for Fashion-MNIST; its own variable and cache folder do.
    keras = tmp_path / "keras_home" / "datasets"
    keras.mkdir(parents=True)
    np.savez(keras / "mnist.npz", x_train=np.zeros((1, 28, 28), np.uint8), y_train=np.zeros(1, np.uint8),
             x_test=np.zeros((1, 28, 28), np.uint8), y_test=np.zeros(1, np.uint8))
    with pytest.raises(DataFilesNotFoundError, match=r"(?s)Fashion-MNIST files .*GRAPHMODE_FASHION_MNIST_DIR"):
        mnist.read_data_sets("other/fashion", source_url=OFFLINE)
    _write_set(keras / "fashion-mnist", offset=60)
    assert _indices(mnist.read_data_sets("other/fashion", dtype="uint8", validation_size=0).train.images)[0] == 60


def test_tf1_api_gives_the_loader_at_its_tf1_import_paths(tmp_path):
    _write_set(tmp_path / "MNIST-data")
    input_data = import_tf1("tensorflow.examples.tutorials.mnist", ("input_data",)).input_data
    assert input_data.read_data_sets is mnist.read_data_sets and input_data.DataSet is mnist.DataSet
    assert import_tf1("tensorflow.examples.tutorials.mnist.input_data", ()) is TF1  # `import a.b.c as x` walks TF1
    assert TF1.examples.tutorials.mnist.input_data.read_data_sets is mnist.read_data_sets
    datasets = TF1.contrib.learn.datasets
    assert datasets.mnist.read_data_sets is mnist.read_data_sets
    assert import_tf1("tensorflow.contrib.learn.python.learn.datasets", ("mnist",)).mnist.DataSet is mnist.DataSet
    # TF1's load_dataset("mnist") reads ./MNIST-data with the default validation_size of 5000,
    # more than these 12 examples: the error shows which files it read.
    with pytest.raises(DatasetError, match=r"between 0 and 12\. Received: 5000"):
        datasets.load_dataset("mnist")
    with pytest.raises(DatasetError, match="graphmode provides only 'mnist'"):
        datasets.load_dataset("iris")
