"""TF1 names that TensorFlow 2 dropped with no ``tf.compat.v1`` equivalent, and what to use.

Shared by the TF1 module shim (which raises an error naming the symbol, the
script line and the replacement) and by ``graphmode scan`` (which lists them).
Paths are written without the leading ``tf.``; a lookup matches the longest
listed prefix, so ``contrib.layers.xavier_initializer`` has its own advice and
``contrib.foo`` falls back to the advice for ``contrib``. Replacements name
``tf.compat.v1.*`` / ``tf.keras.*`` symbols, valid both under graphmode's TF1
API and in plain TensorFlow 2.
"""

from __future__ import annotations

import linecache
import re
from typing import NamedTuple


class RemovedSymbol(NamedTuple):
    """Advice for one dropped TF1 name (or family of names).

    Attributes:
        path: the dotted name without ``tf.`` (``"contrib.layers.xavier_initializer"``).
        replacement: what to write instead, or None when TensorFlow has no replacement.
        note: why, or how the replacement differs; may be empty.
    """

    path: str
    replacement: str | None
    note: str = ""


_CONTRIB_NOTE = (
    "tf.contrib's pieces moved to tf.compat.v1, tf.keras, tf-slim, TensorFlow Probability or "
    "TensorFlow Addons; `graphmode scan SCRIPT` lists each use with its replacement"
)

_ENTRIES = (
    RemovedSymbol("contrib", None, _CONTRIB_NOTE),
    RemovedSymbol("contrib.layers", "tf.compat.v1.layers / tf.keras.layers",
                  "most tf.contrib.layers functions have a counterpart there, often with other defaults"),
    RemovedSymbol("contrib.layers.xavier_initializer", "tf.compat.v1.glorot_uniform_initializer()",
                  "it is the same Glorot/Xavier uniform initializer"),
    RemovedSymbol("contrib.layers.xavier_initializer_conv2d", "tf.compat.v1.glorot_uniform_initializer()"),
    RemovedSymbol("contrib.layers.variance_scaling_initializer",
                  "tf.compat.v1.variance_scaling_initializer(scale=2.0)",
                  "contrib defaulted to factor=2.0, mode='FAN_IN', truncated normal"),
    RemovedSymbol("contrib.layers.l2_regularizer", "tf.keras.regularizers.l2(scale / 2)",
                  "contrib's penalty was scale * tf.nn.l2_loss(w) = scale * sum(w**2) / 2"),
    RemovedSymbol("contrib.layers.l1_regularizer", "tf.keras.regularizers.l1(scale)"),
    RemovedSymbol("contrib.layers.fully_connected", "tf.compat.v1.layers.dense(inputs, units, activation=tf.nn.relu)",
                  "contrib's default activation was relu; dense has none"),
    RemovedSymbol("contrib.layers.conv2d", "tf.compat.v1.layers.conv2d(..., activation=tf.nn.relu)",
                  "contrib's default activation was relu; conv2d has none"),
    RemovedSymbol("contrib.layers.flatten", "tf.compat.v1.layers.flatten"),
    RemovedSymbol("contrib.layers.batch_norm", "tf.compat.v1.layers.batch_normalization"),
    RemovedSymbol("contrib.layers.layer_norm", "tf.keras.layers.LayerNormalization"),
    RemovedSymbol("contrib.layers.embed_sequence", "tf.keras.layers.Embedding"),
    RemovedSymbol("contrib.rnn", "tf.compat.v1.nn.rnn_cell", "the core RNN cells live there"),
    RemovedSymbol("contrib.rnn.BasicLSTMCell", "tf.compat.v1.nn.rnn_cell.BasicLSTMCell"),
    RemovedSymbol("contrib.rnn.LSTMCell", "tf.compat.v1.nn.rnn_cell.LSTMCell"),
    RemovedSymbol("contrib.rnn.GRUCell", "tf.compat.v1.nn.rnn_cell.GRUCell"),
    RemovedSymbol("contrib.rnn.BasicRNNCell", "tf.compat.v1.nn.rnn_cell.BasicRNNCell"),
    RemovedSymbol("contrib.rnn.MultiRNNCell", "tf.compat.v1.nn.rnn_cell.MultiRNNCell"),
    RemovedSymbol("contrib.rnn.DropoutWrapper", "tf.compat.v1.nn.rnn_cell.DropoutWrapper"),
    RemovedSymbol("contrib.rnn.LSTMStateTuple", "tf.compat.v1.nn.rnn_cell.LSTMStateTuple"),
    RemovedSymbol("contrib.rnn.static_rnn", "tf.compat.v1.nn.static_rnn"),
    RemovedSymbol("contrib.slim", "the tf-slim package (pip install 'graphmode[contrib]' or pip install tf-slim; "
                  "graphmode run then resolves tf.contrib.slim to it)"),
    RemovedSymbol("contrib.framework.get_or_create_global_step", "tf.compat.v1.train.get_or_create_global_step"),
    RemovedSymbol("contrib.learn", None, "tf.contrib.learn (Estimators) has no TensorFlow 2 successor; train with "
                  "sessions or tf.keras (graphmode run keeps only tf.contrib.learn.datasets' MNIST loader)"),
    RemovedSymbol("contrib.learn.datasets.mnist", "tf.keras.datasets.mnist.load_data()",
                  "it returns NumPy arrays (uint8 images 0..255, integer labels), with no next_batch"),
    RemovedSymbol("contrib.data", "tf.data"),
    RemovedSymbol("contrib.distributions", "TensorFlow Probability (pip install tensorflow-probability; tfp.distributions)"),
    RemovedSymbol("contrib.keras", "tf.keras"),
    RemovedSymbol("contrib.losses", "tf.compat.v1.losses"),
    RemovedSymbol("contrib.metrics", "tf.compat.v1.metrics"),
    RemovedSymbol("contrib.summary", "tf.summary (the TensorFlow 2 summary API)"),
    RemovedSymbol("contrib.cudnn_rnn", "tf.keras.layers.LSTM / GRU", "they use cuDNN kernels when a GPU allows"),
    RemovedSymbol("contrib.seq2seq", None, "tf.contrib.seq2seq has no maintained successor "
                  "(TensorFlow Addons' tfa.seq2seq is end-of-life)"),
    RemovedSymbol("contrib.legacy_seq2seq", None, "graphmode run provides rnn_decoder, attention_decoder, "
                  "basic_rnn_seq2seq, embedding_rnn_decoder, sequence_loss_by_example and sequence_loss; the "
                  "embedding attention decoders and model builders have no maintained successor (TensorFlow Addons' tfa.seq2seq is end-of-life)"),
    RemovedSymbol("contrib.crf", None, "tf.contrib.crf has no maintained successor "
                  "(TensorFlow Addons' tfa.text.crf_* is end-of-life)"),
    RemovedSymbol("estimator", "tf.keras.Model (compile / fit / evaluate) or a session training loop",
                  "tf.estimator (tf.compat.v1.estimator too) was removed in TensorFlow 2.16, and the "
                  "tensorflow-estimator package stops at TensorFlow 2.15; model_fn code ports to a tf.keras.Model "
                  "or to graphmode's Session with a loop over your input_fn's data"),
    RemovedSymbol("examples", None, "the tensorflow.examples tutorial helpers were not shipped with TensorFlow 2"),
    RemovedSymbol("examples.tutorials.mnist", "tf.keras.datasets.mnist.load_data()",
                  "it returns NumPy arrays (uint8 images 0..255, integer labels) instead of "
                  "input_data's DataSet objects, with no next_batch or one_hot option"),
    # Pre-1.0 names still found in old tutorials; TF 1.0 already renamed them.
    RemovedSymbol("mul", "tf.multiply"),
    RemovedSymbol("sub", "tf.subtract"),
    RemovedSymbol("neg", "tf.negative"),
    RemovedSymbol("select", "tf.compat.v1.where"),
    RemovedSymbol("pack", "tf.stack"),
    RemovedSymbol("unpack", "tf.unstack"),
    RemovedSymbol("batch_matmul", "tf.matmul"),
    RemovedSymbol("scalar_summary", "tf.compat.v1.summary.scalar"),
    RemovedSymbol("histogram_summary", "tf.compat.v1.summary.histogram"),
    RemovedSymbol("image_summary", "tf.compat.v1.summary.image"),
    RemovedSymbol("merge_summary", "tf.compat.v1.summary.merge"),
    RemovedSymbol("merge_all_summaries", "tf.compat.v1.summary.merge_all"),
    RemovedSymbol("train.SummaryWriter", "tf.compat.v1.summary.FileWriter"),
)

REMOVED: dict[str, RemovedSymbol] = {entry.path: entry for entry in _ENTRIES}

# Namespaces holding removed names below them ("train" for train.SummaryWriter):
# the shim wraps exactly these so the error can name the symbol.
PARENTS_OF_REMOVED: frozenset[str] = frozenset(
    ".".join(entry.path.split(".")[:end]) for entry in _ENTRIES for end in range(1, entry.path.count(".") + 1)
)


def find_removed(path: str) -> RemovedSymbol | None:
    """Returns the advice for ``path`` (no ``tf.`` prefix): its longest listed prefix, or None."""
    parts = path.split(".")
    for end in range(len(parts), 0, -1):
        entry = REMOVED.get(".".join(parts[:end]))
        if entry is not None:
            return entry
    return None


def describe_removed(symbol: str, entry: RemovedSymbol) -> str:
    """Returns the advice sentence for ``symbol`` as written (``"tf.contrib.layers.flatten"``)."""
    head = f"{symbol} was dropped from TensorFlow 2 and tf.compat.v1 has no equivalent"
    if entry.replacement is None:
        return f"{head}, and TensorFlow has no drop-in replacement: {entry.note}."
    note = f"; {entry.note}" if entry.note else ""
    return f"{head}. Use {entry.replacement} instead{note}."


def symbol_as_written(line: str, name: str, parent: str) -> tuple[str, str] | None:
    """Finds the dotted expression through ``parent.name`` on a source line.

    ``tf.contrib`` fails at the attribute ``contrib``, but the line says
    ``tf.contrib.layers.xavier_initializer()``: the whole chain is what the
    user wrote and what the advice is for.

    Returns:
        ``(as_written, path)``: the chain with the user's alias
        (``"tf.contrib.layers.flatten"``) and without it (``"contrib.layers.flatten"``),
        or None when the line does not show it (the name came from ``getattr``).
    """
    tail = ".".join([*parent.split("."), name]) if parent else name
    dotted_tail = re.escape(tail).replace(r"\.", r"\s*\.\s*")
    match = re.search(r"((?:\b[A-Za-z_]\w*\s*\.\s*)+)" + dotted_tail + r"\b((?:\s*\.\s*[A-Za-z_]\w*)*)", line)
    if match is None:
        return None
    path = tail + re.sub(r"\s+", "", match.group(2))
    return re.sub(r"\s+", "", match.group(1)) + path, path


def source_line(filename: str, lineno: int) -> str:
    """Returns the stripped source line, or ``""`` when the file cannot be read."""
    return linecache.getline(filename, lineno).strip()
