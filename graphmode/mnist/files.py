"""Where TF1's MNIST loader gets its files, in order, and what it says about it.

1. the folder the script names (``read_data_sets("MNIST_data/")``, relative to
   the working directory as in TF1) holding the four IDX files, gzipped or not;
2. the folder in ``$GRAPHMODE_MNIST_DIR`` (``$GRAPHMODE_FASHION_MNIST_DIR`` for
   Fashion-MNIST), the same four files;
3. Keras' cache: ``~/.keras/datasets/mnist.npz`` (``$KERAS_HOME`` moves it),
   for Fashion-MNIST the IDX folder ``~/.keras/datasets/fashion-mnist/``;
4. a download of the missing files into the script's folder, as TF1 did
   (``keras.utils.get_file``, which checks the SHA-256 of MNIST's and
   Fashion-MNIST's published files).

A script reads Fashion-MNIST when its folder or ``source_url`` says
"fashion": the files share their names with MNIST's, and falling back to the
digits for a Fashion-MNIST script would train on the wrong data without a word.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import os
import sys
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

from graphmode._runtime import tf
from graphmode.errors import DataFilesNotFoundError, DatasetError
from graphmode.mnist.idx import IMAGES_MAGIC, LABELS_MAGIC, read_idx

DEFAULT_SOURCE_URL = "https://storage.googleapis.com/cvdf-datasets/mnist/"
FILE_NAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
# The published SHA-256 of each gzipped file, by download source (the same files on each).
_MNIST_SHA256 = {
    "train-images-idx3-ubyte": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
_FASHION_MNIST_SHA256 = {
    "train-images-idx3-ubyte": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "train-labels-idx1-ubyte": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "t10k-images-idx3-ubyte": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    "t10k-labels-idx1-ubyte": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
}
KNOWN_SOURCES: dict[str, dict[str, str]] = {
    DEFAULT_SOURCE_URL: _MNIST_SHA256,
    "http://yann.lecun.com/exdb/mnist/": _MNIST_SHA256,
    "https://yann.lecun.com/exdb/mnist/": _MNIST_SHA256,
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/": _FASHION_MNIST_SHA256,
}
_announced: set[str] = set()
# Set while graphmode's loader downloads: a failure there is reported by the loader itself
# (graphmode.mnist.copies serves failed downloads of scripts' own loaders only).
_own_download: contextvars.ContextVar[bool] = contextvars.ContextVar("graphmode_own_download", default=False)


@contextlib.contextmanager
def graphmodes_own_download() -> Iterator[None]:
    """Marks the downloads of graphmode's MNIST loader."""
    token = _own_download.set(True)
    try:
        yield
    finally:
        _own_download.reset(token)


def in_graphmodes_own_download() -> bool:
    """True inside :func:`graphmodes_own_download`."""
    return _own_download.get()


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


def read_keras_npz(path: str) -> Arrays:
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

    Through ``keras.utils.get_file``: it downloads, keeps the file, and checks its
    SHA-256 when the source is one whose files are known (:data:`KNOWN_SOURCES`:
    MNIST's and Fashion-MNIST's published files); other sources (a mirror, a data
    set of the user's in MNIST's format) are taken as they come, as TF1 did. A
    failed download leaves no file, and no folder it had to create.

    Returns:
        The downloaded paths by file name.

    Raises:
        OSError: a download failed (offline, the URL is wrong, the folder is not writable).
        DatasetError: a downloaded file's SHA-256 is not the published one (the file is deleted).
    """
    hashes = KNOWN_SOURCES.get(source_url, {})
    folder = os.path.abspath(train_dir)
    created = not os.path.isdir(folder)
    paths = {}
    try:
        # get_file falls back to /tmp/.keras when the folder is not writable, as one not made yet is not.
        os.makedirs(folder, exist_ok=True)
        for name in missing:
            target = os.path.join(folder, f"{name}.gz")
            expected = hashes.get(name)
            try:
                fetched = tf.keras.utils.get_file(f"{name}.gz", origin=source_url + f"{name}.gz", file_hash=expected,
                                        hash_algorithm="sha256", cache_dir=folder, cache_subdir="")
            except ValueError as error:
                if expected is None or not os.path.exists(target):
                    raise
                found = _sha256(target)
                os.remove(target)
                raise DatasetError(
                    f"{target}: downloaded from {source_url}, its SHA-256 is {found}, not the published "
                    f"{expected}; the file was deleted. Run again, or copy the files in from elsewhere."
                ) from error
            except Exception as error:  # get_file raises a bare Exception for URL failures
                if isinstance(error, OSError):
                    raise
                raise OSError(str(error)) from error
            if os.path.abspath(fetched) != target:
                raise OSError(f"{folder} is not writable (the download went to {fetched})")
            print(f"Successfully downloaded {name}.gz {os.path.getsize(target)} bytes.")
            paths[name] = target
    except BaseException:
        if created and os.path.isdir(folder) and not os.listdir(folder):
            os.rmdir(folder)  # no empty folder left behind offline
        raise
    return paths


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _say_once(message: str) -> None:
    if message not in _announced:
        _announced.add(message)
        print(f"graphmode: {message}", file=sys.stderr)


def _extracting(path: str) -> None:
    print("Extracting", path)  # TF1's loader printed this line for every file it read


class Standin(NamedTuple):
    """Where graphmode has a data set's files besides the script's folder."""

    description: str  # as messages say it: "$GRAPHMODE_MNIST_DIR=/data" or Keras' cache path
    path: str  # a folder of the four IDX files, or Keras' mnist.npz

    def arrays(self, announce=None) -> Arrays:
        """The four arrays it holds."""
        if self.path.endswith(".npz"):
            return read_keras_npz(self.path)
        return _read_idx_folder(idx_files_in(self.path), announce or (lambda path: None))


def standin_source(flavour: Flavour) -> tuple[Standin | None, list[str]]:
    """The first of ``$<flavour's variable>`` and Keras' cache that holds the files, and the places looked in."""
    looked: list[str] = []
    environment_folder = os.environ.get(flavour.environment_variable)
    if environment_folder:
        env_files = idx_files_in(environment_folder)
        if len(env_files) == len(FILE_NAMES):
            return Standin(f"${flavour.environment_variable}={environment_folder}", environment_folder), looked
        looked.append(_describe_folder(environment_folder, env_files, f"${flavour.environment_variable}"))
    else:
        looked.append(f"${flavour.environment_variable} (not set)")
    cache = os.path.join(keras_datasets_folder(), flavour.keras_cache)
    if (os.path.isfile(cache) if flavour is MNIST else len(idx_files_in(cache)) == len(FILE_NAMES)):
        return Standin(f"Keras' cache {cache}", cache), looked
    looked.append(f"{cache} (Keras' cache; absent)")
    return None, looked


def local_source(train_dir: str, source_url: str | None = None) -> str | None:
    """Where :func:`load_arrays` would read the files from without downloading, or None (nowhere here)."""
    if len(idx_files_in(train_dir)) == len(FILE_NAMES):
        return train_dir
    standin, _ = standin_source(flavour_of(train_dir, source_url))
    return None if standin is None else standin.description


def load_arrays(train_dir: str, source_url: str | None) -> Arrays:
    """Finds and reads the four arrays for ``read_data_sets(train_dir, source_url=...)``.

    Raises:
        DataFilesNotFoundError: no source holds the files and the download failed;
            the message names the files, every folder looked in and how to provide them.
        DatasetError: a file that was found is corrupt or truncated (named).
    """
    flavour = flavour_of(train_dir, source_url)
    files = idx_files_in(train_dir)
    if len(files) == len(FILE_NAMES):
        _say_once(f"{flavour.title} from {train_dir} (the folder the script names)")
        return _read_idx_folder(files, _extracting)
    looked = [_describe_folder(train_dir, files, "the folder the script names")]
    standin, looked_too = standin_source(flavour)
    looked.extend(looked_too)
    if standin is not None:
        _say_once(f"{flavour.title} from {standin.description} ({train_dir} has no complete set of IDX files)")
        return standin.arrays(_extracting)

    url = source_url or DEFAULT_SOURCE_URL
    missing = [name for role, name in FILE_NAMES.items() if role not in files]
    try:
        with graphmodes_own_download():
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
