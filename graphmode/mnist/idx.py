"""IDX files, the format of MNIST and Fashion-MNIST: read (gzipped or not) and write.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number
of dimensions), one big-endian uint32 per dimension, then the data in C order.
MNIST uses type ``0x08`` (unsigned bytes): images are ``0x00000803`` = 2051
(count, rows, columns), labels ``0x00000801`` = 2049 (count).

Every problem is a :class:`DatasetError` naming the file and what is wrong
(bad magic number, short read, a broken gzip stream), so a truncated download
never turns into a confusing reshape error further on.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib

import numpy as np

from graphmode.errors import DatasetError

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049
_UNSIGNED_BYTE = 0x08
_GZIP_START = b"\x1f\x8b"
_KIND = {IMAGES_MAGIC: "images", LABELS_MAGIC: "labels"}
_CHUNK = 1 << 24


def _open(path: str):
    with open(path, "rb") as probe:
        start = probe.read(2)
    return gzip.open(path, "rb") if start == _GZIP_START else open(path, "rb")


def _read_exactly(stream, count: int, path: str, what: str) -> bytes:
    # In chunks: a damaged header can claim terabytes, and read(count) would allocate them up front.
    data = bytearray()
    try:
        while len(data) < count:
            chunk = stream.read(min(count - len(data), _CHUNK))
            if not chunk:
                break
            data += chunk
    except (EOFError, OSError, zlib.error) as error:
        # gzip reports a cut-off or damaged stream only when it is read.
        raise DatasetError(f"{path}: the gzip stream is truncated or corrupt while reading {what} ({error})") from error
    if len(data) != count:
        raise DatasetError(
            f"{path}: file is truncated: {what} needs {count} bytes, only {len(data)} are left"
        )
    return data


def read_idx(path: str, magic: int) -> np.ndarray:
    """Reads an unsigned-byte IDX file (gzipped or not) whose magic number must be ``magic``.

    Args:
        path: the file.
        magic: :data:`IMAGES_MAGIC` (2051) or :data:`LABELS_MAGIC` (2049).

    Returns:
        A uint8 array: images as ``(count, rows, columns, 1)`` (the layout TF 1.15's
        ``extract_images`` returned), labels as ``(count,)``.

    Raises:
        DatasetError: wrong magic number (not an IDX file of that kind), or the
            file is shorter than its header says.
        OSError: the file cannot be opened.
    """
    kind = _KIND[magic]
    with _open(path) as stream:
        found = int.from_bytes(_read_exactly(stream, 4, path, "the magic number"), "big")
        if found != magic:
            other = f" (that is the magic number of IDX {_KIND[found]})" if found in _KIND else ""
            raise DatasetError(
                f"{path}: invalid magic number {found}{other}; an MNIST {kind} file starts with {magic}. "
                "Is it the right file, and complete?"
            )
        dimensions = magic & 0xFF
        header = _read_exactly(stream, 4 * dimensions, path, "the header")
        shape = tuple(int.from_bytes(header[4 * i : 4 * i + 4], "big") for i in range(dimensions))
        described = " x ".join(str(n) for n in shape)
        if 0 in shape:
            raise DatasetError(f"{path}: the header gives {kind} of shape {described}, which holds nothing; "
                               "the header is damaged or the file is not MNIST")
        size = math.prod(shape)  # Python ints: a damaged header must not wrap around in int64
        data = _read_exactly(stream, size, path, f"{shape[0]} {kind} ({described} bytes)")
    array = np.frombuffer(data, dtype=np.uint8).reshape(shape)
    return array[..., np.newaxis] if magic == IMAGES_MAGIC else array


def write_idx(path: str, array: np.ndarray) -> str:
    """Writes a uint8 array as an IDX file, gzipped when ``path`` ends with ``.gz``.

    Images are ``(count, rows, columns)`` (or with a trailing 1), labels ``(count,)``.
    Handy for making small MNIST-layout files (tests, a converted data set).

    Returns:
        ``path``.
    """
    values = np.asarray(array)
    if values.ndim == 4 and values.shape[-1] == 1:
        values = values[..., 0]
    if values.dtype != np.uint8 or values.ndim not in (1, 3):
        raise DatasetError(
            f"{path}: write_idx takes uint8 labels (count,) or images (count, rows, columns); "
            f"got {values.dtype} {values.shape}"
        )
    header = bytes([0, 0, _UNSIGNED_BYTE, values.ndim]) + b"".join(n.to_bytes(4, "big") for n in values.shape)
    opener = gzip.open if path.endswith(".gz") else open
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with opener(path, "wb") as handle:
        handle.write(header + np.ascontiguousarray(values).tobytes())
    return path
