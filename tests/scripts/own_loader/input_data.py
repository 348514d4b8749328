"""A loader in the style of the one TF1 tutorials copied next to their scripts: check, else download."""
import gzip
import os
import urllib.request

import numpy

SOURCE_URL = os.environ.get("OWN_LOADER_URL", "http://yann.lecun.com/exdb/mnist/")


def maybe_download(filename, work_directory):
    if not os.path.exists(work_directory):
        os.mkdir(work_directory)
    filepath = os.path.join(work_directory, filename)
    if not os.path.exists(filepath):
        filepath, _ = urllib.request.urlretrieve(SOURCE_URL + filename, filepath)
        print("Downloaded", filename, os.stat(filepath).st_size, "bytes.")
    return filepath


def _read(filepath, header_words):
    with gzip.open(filepath) as stream:
        header = numpy.frombuffer(stream.read(4 * header_words), dtype=">u4")
        return header, numpy.frombuffer(stream.read(), dtype=numpy.uint8)


def read_labels(train_dir):
    header, labels = _read(maybe_download("train-labels-idx1-ubyte.gz", train_dir), 2)
    assert header[0] == 2049, header
    return labels


def read_images(train_dir):
    header, pixels = _read(maybe_download("train-images-idx3-ubyte.gz", train_dir), 4)
    assert header[0] == 2051, header
    return pixels.reshape(int(header[1]), int(header[2]) * int(header[3]))
