"""TF 1.15's MNIST loader for TF1 scripts: ``input_data.read_data_sets`` and ``DataSet.next_batch``.

TensorFlow 2 dropped ``tensorflow.examples.tutorials.mnist.input_data`` and
``tf.contrib.learn.datasets.mnist``, the data loader of most TF1 tutorials.
This module behaves as TF 1.15's documented API did, so a script gets the same
arrays and, for the same seed, the same batches:

* ``read_data_sets`` splits the first ``validation_size`` training examples off
  as the validation set; images are float32 scaled by ``1/255`` (as
  ``float32(x) * float32(1/255)``, TF1's exact arithmetic) or uint8 with
  ``dtype=uint8``, flattened to 784 columns unless ``reshape=False``; labels
  are uint8 digits or float64 one-hot rows.
* ``next_batch`` shuffles on its first call, and when a batch runs past the end
  of an epoch it returns the rest of that epoch followed by the start of the
  next, reshuffled. Shuffling uses NumPy's global generator, which each
  ``DataSet`` seeds on creation (with ``seed``; else the graph seed; else fresh
  entropy), as TF1 did.

Where the files come from is :mod:`graphmode.mnist.files`.
"""

from __future__ import annotations

import collections
import types

import numpy as np

from graphmode._runtime import v1
from graphmode.errors import DatasetError
from graphmode.mnist import files as mnist_files
from graphmode.mnist.idx import IMAGES_MAGIC, LABELS_MAGIC, read_idx

DEFAULT_SOURCE_URL = mnist_files.DEFAULT_SOURCE_URL
_FAKE_EXAMPLES = 10000
_PIXELS = 784
_CLASSES = 10
_MAXINT32 = 2**31 - 1  # random_seed._MAXINT32 in TF 1.15

Datasets = collections.namedtuple("Datasets", ["train", "validation", "test"])


def _image_dtype(dtype) -> str:
    """``"uint8"`` or ``"float32"`` from a TensorFlow dtype, NumPy dtype or name."""
    base = getattr(dtype, "base_dtype", dtype)
    name = getattr(base, "name", None) if hasattr(base, "as_numpy_dtype") else None
    try:
        name = name or np.dtype(base).name
    except TypeError:
        name = repr(dtype)
    if name not in ("uint8", "float32"):
        raise TypeError(f"Invalid image dtype {dtype!r}, expected uint8 or float32 (tf.uint8 keeps 0..255, "
                        "tf.float32 scales to [0, 1])")
    return name


def dense_to_one_hot(labels_dense: np.ndarray, num_classes: int) -> np.ndarray:
    """Class indices -> one-hot rows (float64, as TF1 returned them).

    Raises:
        DatasetError: a label is outside ``0 .. num_classes-1`` (TF1 silently set
            a 1 in the next row for such a label).
    """
    labels = np.asarray(labels_dense).ravel()
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise DatasetError(
            f"labels run from {labels.min()} to {labels.max()}; one-hot with {num_classes} classes needs 0..{num_classes - 1}"
        )
    one_hot = np.zeros((labels.size, num_classes))
    one_hot[np.arange(labels.size), labels] = 1
    return one_hot


def _path_of(file) -> str:
    return file if isinstance(file, str) else file.name


def extract_images(f) -> np.ndarray:
    """Reads an IDX image file (a path or an open file with ``.name``) into uint8 ``(count, rows, cols, 1)``."""
    path = _path_of(f)
    print("Extracting", path)
    return read_idx(path, IMAGES_MAGIC)


def extract_labels(f, one_hot: bool = False, num_classes: int = _CLASSES) -> np.ndarray:
    """Reads an IDX label file into uint8 ``(count,)``, or float64 one-hot rows."""
    path = _path_of(f)
    print("Extracting", path)
    labels = read_idx(path, LABELS_MAGIC)
    return dense_to_one_hot(labels, num_classes) if one_hot else labels


def numpy_seed(seed: float | None, graph_seed: float | None) -> int | None:
    """The seed TF1 gave NumPy: through ``random_seed.get_seed``, which reduces modulo 2**31 - 1.

    The op seed when one is given, else the graph-level seed (``tf.set_random_seed``),
    else None (fresh entropy). A float seed (``tf.set_random_seed(0.0)``) is
    truncated to an integer: NumPy of today refuses floats.
    """
    chosen = seed if seed is not None else graph_seed
    if chosen is None:
        return None
    return int(chosen % _MAXINT32)


class DataSet:
    """One split of MNIST (train, validation or test) with TF 1.15's ``next_batch``.

    Args:
        images: uint8 ``(count, rows, cols, 1)`` as read from the IDX file.
        labels: ``(count,)`` digits or ``(count, classes)`` one-hot rows.
        fake_data: a placeholder data set of 10000 examples for ``next_batch(n, fake_data=True)``.
        one_hot: (fake data only) whether fake labels are one-hot.
        dtype: ``tf.float32`` (scaled to [0, 1]) or ``tf.uint8`` (0..255).
        reshape: flatten images to ``rows * cols`` columns.
        seed: seeds NumPy's global generator, which shuffles the batches.
    """

    def __init__(self, images, labels, fake_data: bool = False, one_hot: bool = False, dtype=v1.float32,
                 reshape: bool = True, seed: float | None = None) -> None:
        np.random.seed(numpy_seed(seed, v1.get_default_graph().seed))
        dtype_name = _image_dtype(dtype)
        self.one_hot = one_hot
        self._epochs_completed = 0
        self._index_in_epoch = 0
        if fake_data:
            self._num_examples = _FAKE_EXAMPLES
            self._images = self._labels = None
            return
        images, labels = np.asarray(images), np.asarray(labels)
        if images.shape[0] != labels.shape[0]:
            raise DatasetError(f"{images.shape[0]} images but {labels.shape[0]} labels; they must pair one to one "
                               f"(images.shape: {images.shape} labels.shape: {labels.shape})")
        self._num_examples = images.shape[0]
        if reshape:
            if images.ndim != 4 or images.shape[3] != 1:
                raise DatasetError(f"reshape=True flattens (count, rows, cols, 1) images; got shape {images.shape}")
            images = images.reshape(images.shape[0], images.shape[1] * images.shape[2])
        if dtype_name == "float32":
            # TF1's arithmetic exactly: a float32 product with float32(1/255), not x / 255.
            images = images.astype(np.float32) * np.float32(1.0 / 255.0)
        self._images, self._labels = images, labels

    @property
    def images(self) -> np.ndarray:
        if self._images is None:
            raise AttributeError("a fake_data DataSet has no images; next_batch(n, fake_data=True) gives fake batches")
        return self._images

    @property
    def labels(self) -> np.ndarray:
        if self._labels is None:
            raise AttributeError("a fake_data DataSet has no labels; next_batch(n, fake_data=True) gives fake batches")
        return self._labels

    @property
    def num_examples(self) -> int:
        return self._num_examples

    @property
    def epochs_completed(self) -> int:
        return self._epochs_completed

    def _permute(self) -> None:
        order = np.arange(self._num_examples)
        np.random.shuffle(order)
        self._images, self._labels = self._images[order], self._labels[order]

    def next_batch(self, batch_size: int, fake_data: bool = False, shuffle: bool = True):
        """Returns the next ``batch_size`` examples as ``(images, labels)``.

        The first call shuffles (when ``shuffle``). A batch that runs past the
        end of the epoch is the epoch's remaining examples followed by the first
        ones of the next epoch, which is reshuffled first; ``epochs_completed``
        counts up at that call (not when a batch ends exactly on the boundary).
        ``fake_data=True`` returns lists of all-ones images and label 0.
        """
        if fake_data:
            image = [1] * _PIXELS
            label = [1] + [0] * (_CLASSES - 1) if self.one_hot else 0
            return [image for _ in range(batch_size)], [label for _ in range(batch_size)]
        if self._images is None:
            raise DatasetError(f"next_batch({batch_size}) on a DataSet made with fake_data=True: it holds no examples; "
                               f"call next_batch({batch_size}, fake_data=True) for its fake batches")
        start = self._index_in_epoch
        if shuffle and self._epochs_completed == 0 and start == 0:
            self._permute()
        if start + batch_size <= self._num_examples:
            self._index_in_epoch = start + batch_size
            return self._images[start : self._index_in_epoch], self._labels[start : self._index_in_epoch]
        self._epochs_completed += 1
        rest_images, rest_labels = self._images[start:], self._labels[start:]
        if shuffle:
            self._permute()
        self._index_in_epoch = batch_size - (self._num_examples - start)
        end = self._index_in_epoch
        return (np.concatenate((rest_images, self._images[:end]), axis=0),
                np.concatenate((rest_labels, self._labels[:end]), axis=0))


def read_data_sets(train_dir: str, fake_data: bool = False, one_hot: bool = False, dtype=v1.float32,
                   reshape: bool = True, validation_size: int = 5000, seed: float | None = None,
                   source_url: str = DEFAULT_SOURCE_URL) -> Datasets:
    """TF 1.15's ``read_data_sets``: MNIST (or Fashion-MNIST in the same layout) as train/validation/test.

    Args:
        train_dir: the folder with the four IDX files (gzipped or not); see
            :mod:`graphmode.mnist.files` for where else the files are looked for.
        fake_data: return fake data sets (no files read).
        one_hot: labels as one-hot float64 rows instead of uint8 digits.
        dtype: ``tf.float32`` (images scaled to [0, 1]) or ``tf.uint8``.
        reshape: flatten images to 784 columns (else ``(count, 28, 28, 1)``).
        validation_size: how many of the first training examples form the validation set.
        seed: seed for the shuffling of ``next_batch``.
        source_url: where to download missing files from.

    Returns:
        ``Datasets(train, validation, test)`` of :class:`DataSet`.

    Raises:
        DataFilesNotFoundError: the files are nowhere and cannot be downloaded.
        DatasetError: a file is corrupt or truncated, or ``validation_size`` is out of range.
        TypeError: ``dtype`` is neither uint8 nor float32.
    """
    if fake_data:
        fakes = [DataSet([], [], fake_data=True, one_hot=one_hot, dtype=dtype, seed=seed) for _ in range(3)]
        return Datasets(*fakes)
    _image_dtype(dtype)  # a bad dtype fails before any file is read
    arrays = mnist_files.load_arrays(train_dir, source_url)
    train_labels, test_labels = arrays.train_labels, arrays.test_labels
    if one_hot:
        train_labels, test_labels = dense_to_one_hot(train_labels, _CLASSES), dense_to_one_hot(test_labels, _CLASSES)
    if not 0 <= validation_size <= len(arrays.train_images):
        raise DatasetError(
            f"Validation size should be between 0 and {len(arrays.train_images)}. Received: {validation_size}."
        )
    options = {"dtype": dtype, "reshape": reshape, "seed": seed}
    train = DataSet(arrays.train_images[validation_size:], train_labels[validation_size:], **options)
    validation = DataSet(arrays.train_images[:validation_size], train_labels[:validation_size], **options)
    test = DataSet(arrays.test_images, test_labels, **options)
    return Datasets(train=train, validation=validation, test=test)


def load_mnist(train_dir: str = "MNIST-data") -> Datasets:
    """``tf.contrib.learn.datasets.mnist.load_mnist``: ``read_data_sets(train_dir)``."""
    return read_data_sets(train_dir)


def load_dataset(name: str, size: str = "small", test_with_fake_data: bool = False) -> Datasets:
    """``tf.contrib.learn.datasets.load_dataset``; graphmode provides ``"mnist"`` (read from ``MNIST-data``)."""
    if name != "mnist":
        raise DatasetError(
            f"load_dataset({name!r}): graphmode provides only 'mnist' of tf.contrib.learn's data sets; "
            "load iris and boston with sklearn.datasets (load_iris) or tf.keras.datasets (boston_housing)"
        )
    return load_mnist()


_EXPORTS = {
    "read_data_sets": read_data_sets,
    "DataSet": DataSet,
    "Datasets": Datasets,
    "dense_to_one_hot": dense_to_one_hot,
    "extract_images": extract_images,
    "extract_labels": extract_labels,
    "load_mnist": load_mnist,
    "DEFAULT_SOURCE_URL": DEFAULT_SOURCE_URL,
}


def _module(name: str, doc: str, contents: dict[str, object]) -> types.ModuleType:
    module = types.ModuleType(name, doc)
    module.__dict__.update(contents)
    module.__dict__["__graphmode_provides__"] = "graphmode.mnist.input_data (TF 1.15's MNIST loader)"
    return module


def input_data_module() -> types.ModuleType:
    """A fresh ``tensorflow.examples.tutorials.mnist.input_data`` for the TF1 API."""
    return _module("tensorflow.examples.tutorials.mnist.input_data", "TF 1.15's MNIST tutorial loader.", _EXPORTS)


def examples_module() -> types.ModuleType:
    """``tensorflow.examples`` for the TF1 API: ``tutorials.mnist.input_data``, nothing else."""
    input_data = input_data_module()
    mnist = _module("tensorflow.examples.tutorials.mnist", "TF 1.15's MNIST tutorial helpers.",
                    {"input_data": input_data})
    tutorials = _module("tensorflow.examples.tutorials", "TF 1.15's tutorial helpers.", {"mnist": mnist})
    return _module("tensorflow.examples", "TF 1.15's examples (graphmode keeps the MNIST loader).",
                   {"tutorials": tutorials})


def contrib_learn_datasets() -> types.ModuleType:
    """``tf.contrib.learn.datasets`` for the TF1 API: ``mnist``, ``load_dataset``, ``base.Datasets``."""
    mnist = _module("tensorflow.contrib.learn.datasets.mnist", "TF 1.15's tf.contrib.learn MNIST loader.", _EXPORTS)
    base = _module("tensorflow.contrib.learn.datasets.base", "TF 1.15's data set tuple.", {"Datasets": Datasets})
    return _module("tensorflow.contrib.learn.datasets", "TF 1.15's tf.contrib.learn data sets (MNIST only).",
                   {"mnist": mnist, "base": base, "load_dataset": load_dataset})
