"""Scripts with their own copy of TensorFlow's ``input_data.py``: serve MNIST when its download fails.

Many TF1 tutorials ship a copy of the tutorial loader next to the script
(``import input_data``). Being the script's own code, it does not go through
graphmode's loader: it checks its folder, then downloads the four gzipped IDX
files from ``http://yann.lecun.com/exdb/mnist/`` with
``urllib.request.urlretrieve`` (``six.moves.urllib`` in most copies). That site
refuses downloads today, and offline nothing answers.

The mechanism is the least magic one that works for every copy: the copy's code
runs as written, and only its download step is helped. Under ``graphmode run``,
``urllib.request.urlretrieve`` is wrapped so that when a download of a file
named ``train-images-idx3-ubyte.gz``, ``train-labels-idx1-ubyte.gz``,
``t10k-images-idx3-ubyte.gz`` or ``t10k-labels-idx1-ubyte.gz`` (or the same
without ``.gz``) fails, the file is written where the copy asked for it, from
the places graphmode's MNIST loader reads (``$GRAPHMODE_MNIST_DIR``, Keras'
cache; Fashion-MNIST when the URL or the folder says so), with one line on
stderr. When none has the files the error names the places looked in. Every
other download, and every download that succeeds, is untouched; the module's
name or contents are never looked at.
"""

from __future__ import annotations

import functools
import os
import sys
import urllib.parse
import urllib.request

from graphmode.errors import DataFilesNotFoundError
from graphmode.mnist import files as mnist_files
from graphmode.mnist.idx import write_idx

_ROLE_OF = {name: role for role, name in mnist_files.FILE_NAMES.items()}
_announced: set[str] = set()


def mnist_file_name(url: str) -> str | None:
    """The IDX file name (without ``.gz``) a URL downloads, or None when it is not one of MNIST's four."""
    base = os.path.basename(urllib.parse.urlparse(url).path)
    name = base.removesuffix(".gz")
    return name if name in _ROLE_OF else None


def serve(url: str, destination: str, reason: object) -> str:
    """Writes the MNIST file ``url`` names to ``destination`` from graphmode's sources.

    Returns:
        ``destination``.

    Raises:
        DataFilesNotFoundError: no source holds the files; the message names each place looked in.
    """
    name = mnist_file_name(url)
    role = _ROLE_OF[name]
    folder = os.path.dirname(destination) or "."
    flavour = mnist_files.flavour_of(folder, url)
    standin, looked = mnist_files.standin_source(flavour)
    if standin is None:
        places = "\n".join(f"  - {entry}" for entry in looked)
        raise DataFilesNotFoundError(
            f"the script's download of {url} failed ({reason}), and graphmode has no {flavour.title} files "
            f"to write to {destination} instead.\nLooked in:\n{places}\n"
            f"Provide them: copy the four files into {folder}, or set {flavour.environment_variable} to a folder "
            "holding them, or fill Keras' cache where the network is reachable "
            f"(tf.keras.datasets.{'fashion_' if flavour is mnist_files.FASHION_MNIST else ''}mnist.load_data())."
        )
    write_idx(destination, getattr(standin.arrays(), role))
    key = f"{flavour.title} {url.rsplit('/', 1)[0]}"
    if key not in _announced:
        _announced.add(key)
        print(f"graphmode: the script's download of {url} failed ({reason}); graphmode writes {flavour.title}'s "
              f"files where it asked for them, from {standin.description} (this one: {destination})", file=sys.stderr, flush=True)
    return destination


def _serving(urlretrieve):
    @functools.wraps(urlretrieve)
    def urlretrieve_or_serve(url, filename=None, reporthook=None, data=None):
        try:
            return urlretrieve(url, filename, reporthook, data)
        except (OSError, ValueError) as error:  # URLError/HTTPError are OSErrors
            if mnist_files.in_graphmodes_own_download() or filename is None or mnist_file_name(str(url)) is None:
                raise
            reason = getattr(error, "reason", None) or error
            return serve(str(url), os.fspath(filename), reason), None

    urlretrieve_or_serve.__graphmode_serves_mnist__ = True
    return urlretrieve_or_serve


def serve_failed_mnist_downloads() -> None:
    """Wraps ``urllib.request.urlretrieve`` as the module doc says (once per process)."""
    if not getattr(urllib.request.urlretrieve, "__graphmode_serves_mnist__", False):
        urllib.request.urlretrieve = _serving(urllib.request.urlretrieve)
