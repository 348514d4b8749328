"""Where TF1's MNIST loader gets its files, in order, and what it says about it.

1. the folder the script names (``read_data_sets("MNIST_data/")``, relative to
   the working directory as in TF1) holding the four IDX files, gzipped or not;
2. the folder in ``$GRAPHMODE_MNIST_DIR`` (``$GRAPHMODE_FASHION_MNIST_DIR`` for
   Fashion-MNIST), the same four files;
3. Keras' cache: ``~/.keras/datasets/mnist.npz`` (``$KERAS_HOME`` moves it),
   for Fashion-MNIST the IDX folder ``~/.keras/datasets/fashion-mnist/``;
4. a download of the missing files into the script's folder, as TF1 did.

A script reads Fashion-MNIST when its folder or ``source_url`` says
"fashion": the files share their names with MNIST's, and falling back to the
digits for a Fashion-MNIST script would train on the wrong data without a word.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from typing import NamedTuple

import numpy as np

from graphmode.errors import DataFilesNotFoundError, DatasetError
from graphmode.mnist.idx import IMAGES_MAGIC, LABELS_MAGIC, read_idx

DEFAULT_SOURCE_URL = "https://storage.googleapis.com/cvdf-datasets/mnist/"
FILE_NAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
_DOWNLOAD_TIMEOUT_S = 30.0
_announced: set[str] = set()


class Arrays(NamedTuple):
    """The four arrays of one data set, as the IDX files hold them (uint8)."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


class Flavour(NamedTuple):
    """MNIST or Fashion-MNIST: its name, environment variable and Keras cache."""

    title: str
    environment_variable: str
    keras_cache: str  # relative to the Keras datasets folder: an .npz or an IDX folder


MNIST = Flavour("MNIST", "GRAPHMODE_MNIST_DIR", "mnist.npz")
FASHION_MNIST = Flavour("Fashion-MNIST", "GRAPHMODE_FASHION_MNIST_DIR", "fashion-mnist")


def flavour_of(train_dir: str, source_url: str | None) -> Flavour:
    """Fashion-MNIST when the folder or the URL says so, else MNIST."""
    return FASHION_MNIST if "fashion" in f"{train_dir} {source_url or ''}".lower() else MNIST


def keras_datasets_folder() -> str:
    """Keras' download cache (``$KERAS_HOME/datasets``, else ``~/.keras/datasets``)."""
    return os.path.join(os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras"), "datasets")


def idx_files_in(folder: str) -> dict[str, str]:
    """The IDX files ``folder`` holds, by role (``train_images`` ...); ``name.gz`` before ``name``."""
    found = {}
    for role, name in FILE_NAMES.items():
        for candidate in (f"{name}.gz", name):
            path = os.path.join(folder, candidate)
            if os.path.isfile(path):
                found[role] = path
                break
    return found


def _read_idx_folder(files: dict[str, str], announce) -> Arrays:
    for path in files.values():
        announce(path)
    images = {role: read_idx(files[role], IMAGES_MAGIC) for role in ("train_images", "test_images")}
    labels = {role: read_idx(files[role], LABELS_MAGIC) for role in ("train_labels", "test_labels")}
    for part in ("train", "test"):
        count, label_count = len(images[f"{part}_images"]), len(labels[f"{part}_labels"])
        if count != label_count:
            raise DatasetError(
                f"{files[f'{part}_images']} holds {count} images but {files[f'{part}_labels']} holds "
                f"{label_count} labels; they must pair one to one (a truncated or mixed-up file?)"
            )
    return Arrays(images["train_images"], labels["train_labels"], images["test_images"], labels["test_labels"])


def _read_keras_npz(path: str) -> Arrays:
    try:
        with np.load(path) as archive:
            missing = sorted({"x_train", "y_train", "x_test", "y_test"} - set(archive.files))
            if missing:
                raise DatasetError(f"{path}: Keras' MNIST cache lacks the arrays {missing} (it holds {archive.files})")
            x_train, y_train, x_test, y_test = (archive[key] for key in ("x_train", "y_train", "x_test", "y_test"))
    except (OSError, ValueError, EOFError) as error:
        if isinstance(error, DatasetError):
            raise
        raise DatasetError(f"{path}: cannot read Keras' MNIST cache ({error}); delete it or fix it") from error
    for part, images, labels in (("train", x_train, y_train), ("test", x_test, y_test)):
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DatasetError(
                f"{path}: x_{part} has shape {images.shape} and y_{part} {labels.shape}; "
                "expected (count, 28, 28) images and (count,) labels"
            )
    to_bytes = [np.asarray(a, dtype=np.uint8) for a in (x_train, y_train, x_test, y_test)]
    return Arrays(to_bytes[0][..., np.newaxis], to_bytes[1], to_bytes[2][..., np.newaxis], to_bytes[3])


def download(train_dir: str, source_url: str, missing: list[str]) -> dict[str, str]:
    """Downloads ``source_url + name.gz`` into ``train_dir`` for each missing file name, as TF1 did.

    Each file is written under a temporary name and renamed when complete, so
    an interrupted download never leaves a half file that looks finished.

    Returns:
        The downloaded paths by file name.

    Raises:
        OSError: a download failed (offline, the URL is wrong, the folder is not writable).
    """
    paths = {}
    for name in missing:
        target = os.path.join(train_dir, f"{name}.gz")
        partial = f"{target}.graphmode-download"
        with urllib.request.urlopen(source_url + f"{name}.gz", timeout=_DOWNLOAD_TIMEOUT_S) as response:
            os.makedirs(train_dir, exist_ok=True)  # only once the source answers: no empty folder offline
            try:
                with open(partial, "wb") as handle:
                    while chunk := response.read(1 << 20):
                        handle.write(chunk)
            except BaseException:
                if os.path.exists(partial):
                    os.remove(partial)
                raise
        os.replace(partial, target)
        print(f"Successfully downloaded {name}.gz {os.path.getsize(target)} bytes.")
        paths[name] = target
    return paths


def _say_once(message: str) -> None:
    if message not in _announced:
        _announced.add(message)
        print(f"graphmode: {message}", file=sys.stderr)


def _extracting(path: str) -> None:
    print("Extracting", path)  # TF1's loader printed this line for every file it read


def local_source(train_dir: str, source_url: str | None = None) -> str | None:
    """Where :func:`load_arrays` would read the files from without downloading, or None (nowhere here)."""
    flavour = flavour_of(train_dir, source_url)
    if len(idx_files_in(train_dir)) == len(FILE_NAMES):
        return train_dir
    environment_folder = os.environ.get(flavour.environment_variable)
    if environment_folder and len(idx_files_in(environment_folder)) == len(FILE_NAMES):
        return f"${flavour.environment_variable}={environment_folder}"
    cache = os.path.join(keras_datasets_folder(), flavour.keras_cache)
    if (os.path.isfile(cache) if flavour is MNIST else len(idx_files_in(cache)) == len(FILE_NAMES)):
        return cache
    return None


def load_arrays(train_dir: str, source_url: str | None) -> Arrays:
    """Finds and reads the four arrays for ``read_data_sets(train_dir, source_url=...)``.

    Raises:
        DataFilesNotFoundError: no source holds the files and the download failed;
            the message names the files, every folder looked in and how to provide them.
        DatasetError: a file that was found is corrupt or truncated (named).
    """
    flavour = flavour_of(train_dir, source_url)
    looked: list[str] = []
    files = idx_files_in(train_dir)
    if len(files) == len(FILE_NAMES):
        _say_once(f"{flavour.title} from {train_dir} (the folder the script names)")
        return _read_idx_folder(files, _extracting)
    looked.append(_describe_folder(train_dir, files, "the folder the script names"))

    environment_folder = os.environ.get(flavour.environment_variable)
    if environment_folder:
        env_files = idx_files_in(environment_folder)
        if len(env_files) == len(FILE_NAMES):
            _say_once(f"{flavour.title} from ${flavour.environment_variable}={environment_folder} "
                      f"({train_dir} has no complete set of IDX files)")
            return _read_idx_folder(env_files, _extracting)
        looked.append(_describe_folder(environment_folder, env_files, f"${flavour.environment_variable}"))
    else:
        looked.append(f"${flavour.environment_variable} (not set)")

    cache = os.path.join(keras_datasets_folder(), flavour.keras_cache)
    if flavour is MNIST and os.path.isfile(cache):
        _say_once(f"MNIST from Keras' cache {cache} ({train_dir} has no complete set of IDX files)")
        return _read_keras_npz(cache)
    if flavour is FASHION_MNIST and len(cache_files := idx_files_in(cache)) == len(FILE_NAMES):
        _say_once(f"Fashion-MNIST from Keras' cache {cache} ({train_dir} has no complete set of IDX files)")
        return _read_idx_folder(cache_files, _extracting)
    looked.append(f"{cache} (Keras' cache; absent)")

    url = source_url or DEFAULT_SOURCE_URL
    missing = [name for role, name in FILE_NAMES.items() if role not in files]
    try:
        download(train_dir, url, missing)
    except (OSError, ValueError) as error:  # urllib: URLError/HTTPError are OSErrors, a bad URL a ValueError
        reason = getattr(error, "reason", None) or error
        raise DataFilesNotFoundError(_not_found_message(flavour, train_dir, url, looked, reason)) from error
    _say_once(f"{flavour.title} downloaded from {url} into {train_dir}")
    return _read_idx_folder(idx_files_in(train_dir), _extracting)


def _describe_folder(folder: str, found: dict[str, str], what: str) -> str:
    if not os.path.isdir(folder):
        return f"{folder} ({what}; no such folder)"
    if not found:
        return f"{folder} ({what}; none of the files)"
    lacking = ", ".join(FILE_NAMES[role] for role in FILE_NAMES if role not in found)
    return f"{folder} ({what}; lacks {lacking})"


def _not_found_message(flavour: Flavour, train_dir: str, url: str, looked: list[str], reason: object) -> str:
    names = ", ".join(f"{name}.gz" for name in FILE_NAMES.values())
    places = "\n".join(f"  - {entry}" for entry in looked)
    return (
        f"cannot find the {flavour.title} files {names} (gzipped or not).\n"
        f"Looked in:\n{places}\n"
        f"and could not download them from {url} ({reason}).\n"
        f"Provide them: copy the four files into {train_dir}, or set {flavour.environment_variable} to a "
        "folder holding them"
        + (", or run tf.keras.datasets.mnist.load_data() once where the network is reachable (it fills "
           "Keras' cache)" if flavour is MNIST else ", or run tf.keras.datasets.fashion_mnist.load_data() once "
           "where the network is reachable (it fills Keras' cache)")
        + "."
    )
