"""``tf.contrib`` under the TF1 API: its moved pieces resolve, the rest fails naming a replacement.

A name under ``tf.contrib`` resolves, with one line on stderr the first time
it is used in the process
(``graphmode: tf.contrib.rnn.BasicLSTMCell -> tf.compat.v1.nn.rnn_cell.BasicLSTMCell``),
when it is

* an exact rename: listed by TensorFlow's own upgrade-script tables (or by
  graphmode where they lack it) with a target in ``tf.compat.v1``
  (:mod:`graphmode.contrib.renames`);
* an adapter: a ``tf.compat.v1`` counterpart exists but with other defaults,
  so graphmode implements TF 1.15's documented behaviour
  (:mod:`~graphmode.contrib.layers`, :mod:`~graphmode.contrib.conv`,
  :mod:`~graphmode.contrib.norm`,
  :mod:`~graphmode.contrib.seq2seq`, :mod:`~graphmode.contrib.legacy_seq2seq`);
* ``tf.contrib.slim``: the ``tf-slim`` package when it is installed
  (``pip install 'graphmode[contrib]'``); so are the other ``tf.contrib.layers``
  functions and ``tf.contrib.framework.arg_scope`` (tf-slim keeps TF 1.15's code);
* a module graphmode provides (``tf.contrib.learn.datasets``: MNIST, from
  :mod:`graphmode.mnist.input_data`), handed in by the TF1 module.

Every other name raises :class:`graphmode.errors.RemovedSymbolError` naming the
symbol, the script line and the replacement, as before.
"""

from __future__ import annotations

import functools
import importlib
import importlib.abc
import importlib.metadata
import importlib.util
import inspect
import sys
import types
from collections.abc import Callable, Mapping
from typing import NamedTuple

from graphmode._runtime import v1
from graphmode.contrib import conv as contrib_conv
from graphmode.contrib import layers as contrib_layers
from graphmode.contrib import legacy_seq2seq
from graphmode.contrib import norm as contrib_norm
from graphmode.contrib import seq2seq as contrib_seq2seq
from graphmode.contrib.renames import exact_renames, resolve_in_v1

SLIM_PACKAGE = "tf_slim"
SLIM_INSTALL = "pip install 'graphmode[contrib]' (or pip install tf-slim)"


class Adapter(NamedTuple):
    """A graphmode function standing in for a ``tf.contrib`` one whose successor has other defaults."""

    function: Callable
    differs: str  # what TF 1.15 did that the tf.compat.v1 counterpart does not

    @property
    def description(self) -> str:
        return f"{self.function.__module__}.{self.function.__name__} (TF 1.15's {self.differs})"


ADAPTERS: dict[str, Adapter] = {
    "contrib.layers.fully_connected": Adapter(
        contrib_layers.fully_connected, "relu default, <scope>/weights and <scope>/biases"),
    "contrib.layers.linear": Adapter(contrib_layers.linear, "fully_connected without activation"),
    "contrib.layers.flatten": Adapter(contrib_layers.flatten, "scope Flatten, outputs_collections"),
    "contrib.layers.conv2d": Adapter(contrib_conv.conv2d, "relu and SAME defaults, <scope>/weights and <scope>/biases"),
    "contrib.layers.max_pool2d": Adapter(contrib_conv.max_pool2d, "stride 2, VALID defaults"),
    "contrib.layers.avg_pool2d": Adapter(contrib_conv.avg_pool2d, "stride 2, VALID defaults"),
    "contrib.layers.xavier_initializer": Adapter(contrib_layers.xavier_initializer, "FAN_AVG variance scaling"),
    "contrib.layers.xavier_initializer_conv2d": Adapter(
        contrib_layers.xavier_initializer_conv2d, "FAN_AVG variance scaling"),
    "contrib.layers.variance_scaling_initializer": Adapter(
        contrib_layers.variance_scaling_initializer, "factor=2.0, mode='FAN_IN', truncated normal"),
    "contrib.layers.l2_regularizer": Adapter(contrib_layers.l2_regularizer, "scale * tf.nn.l2_loss(w)"),
    "contrib.layers.l1_regularizer": Adapter(contrib_layers.l1_regularizer, "scale * sum(|w|)"),
    "contrib.layers.batch_norm": Adapter(
        contrib_norm.batch_norm, "decay 0.999, no gamma by default, BatchNorm/moving_* in UPDATE_OPS"),
    "contrib.seq2seq.sequence_loss": Adapter(contrib_seq2seq.sequence_loss, "weighted sequence cross-entropy"),
    "contrib.legacy_seq2seq.rnn_decoder": Adapter(legacy_seq2seq.rnn_decoder, "static decoder, scope rnn_decoder"),
    "contrib.legacy_seq2seq.attention_decoder": Adapter(
        legacy_seq2seq.attention_decoder, "attention decoder, scope attention_decoder"),
    "contrib.legacy_seq2seq.basic_rnn_seq2seq": Adapter(
        legacy_seq2seq.basic_rnn_seq2seq, "static_rnn encoder + rnn_decoder, scope basic_rnn_seq2seq"),
    "contrib.legacy_seq2seq.embedding_rnn_decoder": Adapter(
        legacy_seq2seq.embedding_rnn_decoder, "embedding + rnn_decoder, scope embedding_rnn_decoder"),
    "contrib.legacy_seq2seq.sequence_loss_by_example": Adapter(
        legacy_seq2seq.sequence_loss_by_example, "weighted cross-entropy over lists of steps, per example"),
    "contrib.legacy_seq2seq.sequence_loss": Adapter(
        legacy_seq2seq.sequence_loss, "weighted cross-entropy over lists of steps, averaged"),
}
# TF 1.15's other spellings of the same functions.
ADAPTERS["contrib.layers.initializers.xavier_initializer"] = ADAPTERS["contrib.layers.xavier_initializer"]
ADAPTERS["contrib.layers.convolution2d"] = ADAPTERS["contrib.layers.conv2d"]


# tensorflow/python/layers/normalization.py (which slim.batch_norm uses on rank-4 inputs)
# lazy-loads tf_keras.legacy_tf_layers.normalization, a path tf-keras 2.21 keeps under tf_keras.src.
_LEGACY_LAYERS_ALIASES = {
    "tf_keras.legacy_tf_layers": "tf_keras.src.legacy_tf_layers",
    "tf_keras.legacy_tf_layers.normalization": "tf_keras.src.legacy_tf_layers.normalization",
}


def _restore_ops_tensor() -> None:
    """``tensorflow.python.framework.ops.Tensor``, which TensorFlow 2.21 dropped and tf-slim 1.1.0 reads.

    tf-slim's ``utils.constant_value`` (so ``slim.batch_norm`` on rank-2 inputs or with
    ``updates_collections=None``), ``optimize_loss`` and ``learning`` test ``isinstance(x, ops.Tensor)``;
    the name is given back as what it was, the class ``tf.Tensor`` is.
    """
    ops = importlib.import_module("tensorflow.python.framework.ops")
    if not hasattr(ops, "Tensor"):
        ops.Tensor = v1.Tensor


class _LegacyLayersAlias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Answers imports of the old tf_keras.legacy_tf_layers paths with the tf_keras.src modules.

    It also restores ``ops.Tensor`` when ``tf_slim`` is first imported (then lets Python load it).
    """

    def find_spec(self, fullname, path=None, target=None):
        if fullname == SLIM_PACKAGE:
            _restore_ops_tensor()
            return None
        real = _LEGACY_LAYERS_ALIASES.get(fullname)
        if real is None or importlib.util.find_spec(real.partition(".")[0]) is None:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        return importlib.import_module(_LEGACY_LAYERS_ALIASES[spec.name])

    def exec_module(self, module) -> None:
        """The module is tf_keras' own, already executed."""


def install_legacy_layers_alias() -> None:
    """Makes tf-slim 1.1.0 work on TensorFlow 2.21: the legacy layers path and ``ops.Tensor``.

    Nothing is imported until something asks for those names; ``enable_tf1`` calls this, so
    ``import tf_slim`` in a script under ``graphmode run`` works too.
    """
    if not any(isinstance(finder, _LegacyLayersAlias) for finder in sys.meta_path):
        # First: for the .normalization child, Python's path finder would otherwise load a second
        # copy of the module from the aliased parent's __path__.
        sys.meta_path.insert(0, _LegacyLayersAlias())


_slim_state: dict[str, bool] = {"missing": False}


def _slim_module() -> types.ModuleType | None:
    """tf_slim, importable on TensorFlow 2.21, or None when tf-slim is not installed.

    A failed import is remembered (a script looks tf.contrib names up in loops), unless
    ``sys.modules`` says otherwise.
    """
    if SLIM_PACKAGE in sys.modules:
        return sys.modules[SLIM_PACKAGE]  # None when something blocked the import
    if _slim_state["missing"]:
        return None
    install_legacy_layers_alias()
    try:
        return importlib.import_module(SLIM_PACKAGE)
    except ImportError:
        _slim_state["missing"] = True
        return None


_arg_scoped: dict[Callable, Callable] = {}


def _adapter_function(function: Callable) -> Callable:
    """The adapter, wrapped by tf-slim's add_arg_scope when tf-slim is installed.

    TF 1.15's contrib.layers functions took defaults from ``arg_scope``; with tf-slim,
    ``tf.contrib.framework.arg_scope([tf.contrib.layers.fully_connected], ...)`` works as it did.
    """
    slim = _slim_module()
    if slim is None or not inspect.isfunction(function):
        return function
    if function not in _arg_scoped:
        _arg_scoped[function] = slim.add_arg_scope(function)
    return _arg_scoped[function]


# TF 1.15's tf.contrib.framework names that slim re-exported (the same functions tf-slim keeps).
_SLIM_FRAMEWORK = ("arg_scope", "add_arg_scope", "has_arg_scope", "arg_scoped_arguments")


def _from_slim(path: str) -> object | None:
    """``tf.contrib.layers.X`` (and arg_scope) from tf-slim, which keeps TF 1.15's contrib.layers, if installed."""
    parts = path.split(".")
    if len(parts) != 3 or parts[0] != "contrib":
        return None
    if parts[1] == "layers":
        module_name = "layers"
    elif parts[1] == "framework" and parts[2] in _SLIM_FRAMEWORK:
        module_name = None
    else:
        return None
    slim = _slim_module()
    if slim is None:
        return None
    value = getattr(slim.layers if module_name else slim, parts[2], None)
    defined_in = getattr(getattr(value, "func", value), "__module__", None) or ""  # partials: relu, linear
    return value if callable(value) and defined_in.startswith(f"{SLIM_PACKAGE}.") else None


# Names resolved by graphmode's own code rather than a rename (path -> loader; None = not available).
_LOADERS: dict[str, Callable[[], object | None]] = {
    "contrib.slim": _slim_module,
}


def resolution(path: str) -> str | None:
    """What ``tf.<path>`` resolves to under the TF1 API, as the stderr line says it; None if it does not."""
    adapter = ADAPTERS.get(path)
    if adapter is not None:
        return adapter.description
    rename = exact_renames().get(path)
    if rename is not None:
        return rename.target_name
    from_slim = _from_slim(path)
    if from_slim is not None:
        where = "layers." if path.startswith("contrib.layers.") else ""
        return f"{SLIM_PACKAGE}.{where}{path.rpartition('.')[2]} (the tf-slim package)"
    if path == "contrib.slim" and _slim_module() is not None:
        try:
            return f"{SLIM_PACKAGE} {importlib.metadata.version('tf-slim')} (the tf-slim package)"
        except importlib.metadata.PackageNotFoundError:  # importable but not installed as a distribution
            return f"{SLIM_PACKAGE} (the tf-slim package)"
    return None


_announced: set[str] = set()


def _announce(path: str) -> None:
    if path in _announced:
        return
    description = resolution(path)
    if description is not None:
        _announced.add(path)
        print(f"graphmode: tf.{path} -> {description}", file=sys.stderr, flush=True)


@functools.lru_cache(maxsize=1)
def _resolvable_paths() -> frozenset[str]:
    return frozenset(ADAPTERS) | frozenset(exact_renames()) | frozenset(_LOADERS)


class ContribNamespace(types.ModuleType):
    """``tf.contrib`` or one of its submodules (``tf.contrib.rnn``) under graphmode's TF1 API.

    ``_tf1_lookup`` resolves a name without side effects (``graphmode scan``
    uses it); attribute access also prints the one-time stderr line, and
    raises the removed-symbol error for names that do not resolve.
    """

    def __init__(self, path: str, missing: object, removed_error: Callable[[str, str], Exception],
                 provided: Mapping[str, Callable[[], object]]) -> None:
        super().__init__(f"tensorflow.{path}", f"graphmode's tf.{path}: TF1 names that moved, and adapters.")
        self.__dict__.update(_tf1_path=path, _tf1_missing=missing, _tf1_removed_error=removed_error,
                             _tf1_provided=provided, _tf1_children={})

    def _tf1_lookup(self, name: str):
        """Returns what ``tf.<path>.<name>`` resolves to, or the TF1 API's missing marker."""
        path = f"{self._tf1_path}.{name}"
        if path in ADAPTERS:
            return _adapter_function(ADAPTERS[path].function)
        rename = exact_renames().get(path)
        if rename is not None:
            value = resolve_in_v1(rename.target)
            return self._tf1_missing if value is None else value
        if path in _LOADERS:
            value = _LOADERS[path]()
            return self._tf1_missing if value is None else value
        if path in self._tf1_provided:
            return self._tf1_provided[path]()
        from_slim = _from_slim(path)
        if from_slim is not None:
            return from_slim
        if any(known.startswith(f"{path}.") for known in self._tf1_known()):
            children = self._tf1_children
            if name not in children:
                children[name] = ContribNamespace(path, self._tf1_missing, self._tf1_removed_error,
                                                  self._tf1_provided)
            return children[name]
        return self._tf1_missing

    def _tf1_known(self) -> frozenset[str]:
        return _resolvable_paths() | frozenset(self._tf1_provided)

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        value = self._tf1_lookup(name)
        if value is self._tf1_missing:
            raise self._tf1_removed_error(name, self._tf1_path)
        _announce(f"{self._tf1_path}.{name}")
        return value

    def __dir__(self) -> list[str]:
        prefix = f"{self._tf1_path}."
        below = {path[len(prefix):].split(".")[0] for path in self._tf1_known() if path.startswith(prefix)}
        return sorted(below)

    def __repr__(self) -> str:
        return f"<graphmode TF1 API module {self.__name__!r} (tf.contrib's moved pieces and adapters)>"
