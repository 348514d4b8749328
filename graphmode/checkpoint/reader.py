"""Reading and inspecting checkpoints: TF1 ``Saver`` (name-based) and TF2 object-based.

Both formats are one TensorBundle on disk (``PREFIX.index`` plus
``PREFIX.data-NNNNN-of-NNNNN``). A TF1 bundle is keyed by variable op names
(``layer1/weights``, ``layer1/weights/Adam``); a TF2 bundle is keyed by object
paths (``model/layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE``) and
carries its object graph under ``_CHECKPOINTABLE_OBJECT_GRAPH``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import NamedTuple

import numpy as np

from graphmode._runtime import tf
from graphmode.checkpoint.leftovers import Leftover, find_leftovers
from graphmode.errors import CheckpointCorruptError, CheckpointNotFoundError

OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"
_VALUE_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"
_SLOT_MARKER = "/.OPTIMIZER_SLOT/"

# TF1 optimizers name their slots "<variable>/<optimizer name>[_N]"; what the
# default names hold, for the inspect listing.
TF1_SLOT_MEANINGS: dict[str, str] = {
    "Adam": "m",
    "Adam_1": "v",
    "Momentum": "accumulator",
    "Adagrad": "accumulator",
    "RMSProp": "mean square",
    "RMSProp_1": "momentum",
    "Ftrl": "accumulator",
    "Ftrl_1": "linear",
    "Adadelta": "accumulator",
    "Adadelta_1": "update accumulator",
    "ExponentialMovingAverage": "moving average",
}
# Non-slot optimizer state TF1 keeps as plain variables.
_TF1_STATE = re.compile(r"^(.*/)?(global_step|beta1_power(_\d+)?|beta2_power(_\d+)?)$")

# TensorBundle data shards: NAME.data-00000-of-00001.
_DATA_SUFFIX = re.compile(r"\.data-\d{5}-of-\d{5}")


class CheckpointEntry(NamedTuple):
    """One tensor in a checkpoint.

    Attributes:
        name: the readable name (TF1: the variable name; TF2: the object path,
            e.g. ``model/layer_with_weights-0/kernel``).
        key: the key the tensor is stored under in the bundle.
        shape: the tensor's shape.
        dtype: the tensor's dtype name (``float32``).
        slot: for an optimizer slot, what it holds (``Adam`` or ``m``); else ``""``.
        full_name: TF2 only: the variable's name when it was saved (``dense/kernel``).
    """

    name: str
    key: str
    shape: tuple[int, ...]
    dtype: str
    slot: str = ""
    full_name: str = ""

    def to_json(self) -> dict[str, object]:
        """Returns the entry as a JSON-ready dict."""
        return {"name": self.name, "key": self.key, "shape": list(self.shape), "dtype": self.dtype,
                "slot": self.slot, "full_name": self.full_name}


class CheckpointVariable(NamedTuple):
    """A model variable of a checkpoint together with its optimizer slots."""

    entry: CheckpointEntry
    slots: tuple[CheckpointEntry, ...]


class CheckpointSummary(NamedTuple):
    """What :func:`inspect_checkpoint` found.

    Attributes:
        path: the checkpoint prefix that was read.
        format: ``"tf1"`` (name-based ``Saver``) or ``"tf2"`` (object-based).
        variables: model variables, each with its slots, sorted by name.
        optimizer_state: non-slot optimizer state (global step, Adam beta
            powers, Keras ``iterations``/``learning_rate``, ``save_counter``).
        leftovers: what interrupted saves left in the checkpoint's directory
            (staging directories, kept previous copies, state-file temps).
    """

    path: str
    format: str
    variables: tuple[CheckpointVariable, ...]
    optimizer_state: tuple[CheckpointEntry, ...]
    leftovers: tuple[Leftover, ...] = ()

    def to_json(self) -> dict[str, object]:
        """Returns the summary as a JSON-ready dict."""
        return {
            "path": self.path,
            "format": self.format,
            "variables": [{**v.entry.to_json(), "slots": [s.to_json() for s in v.slots]} for v in self.variables],
            "optimizer_state": [entry.to_json() for entry in self.optimizer_state],
            "leftovers": [item._asdict() for item in self.leftovers],
        }

    def format_table(self) -> str:
        """Returns a text table: each variable, its slots indented beneath it, then optimizer state."""
        described = "TF1 name-based (tf.compat.v1.train.Saver)" if self.format == "tf1" else "TF2 object-based"
        slot_count = sum(len(v.slots) for v in self.variables)
        rows: list[tuple[str, str, str]] = []
        for variable in self.variables:
            label = variable.entry.name
            if variable.entry.full_name and variable.entry.full_name != label:
                label += f"  ({variable.entry.full_name})"
            rows.append((label, _shape_text(variable.entry.shape), variable.entry.dtype))
            for slot in variable.slots:
                meaning = TF1_SLOT_MEANINGS.get(slot.slot) if self.format == "tf1" else None
                label = f"{slot.slot} [{meaning}]" if meaning else slot.slot
                rows.append((f"  slot {label}: {slot.name}", _shape_text(slot.shape), slot.dtype))
        if self.optimizer_state:
            rows.append(("optimizer state:", "", ""))
            rows += [(f"  {e.name}", _shape_text(e.shape), e.dtype) for e in self.optimizer_state]
        width = max([len(r[0]) for r in rows] + [8])
        shape_width = max([len(r[1]) for r in rows] + [5])
        lines = [
            f"checkpoint {self.path}",
            f"format     {described}",
            f"contents   {len(self.variables)} variables, {slot_count} optimizer slots, "
            f"{len(self.optimizer_state)} optimizer state entries",
            "",
            f"{'variable':<{width}}  {'shape':<{shape_width}}  dtype",
        ]
        lines += [f"{name:<{width}}  {shape:<{shape_width}}  {dtype}".rstrip() for name, shape, dtype in rows]
        if self.leftovers:
            lines += ["", "left by interrupted saves (the next save to this directory removes the stale ones):"]
            lines += [f"  {item.kind:<10}  {os.path.basename(item.path)}  "
                      + ("stale" if item.stale else f"in use by {item.owner or 'a save'}") for item in self.leftovers]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format_table()


def _shape_text(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def is_bundle_file(name: str, base: str) -> bool:
    """Whether the file ``name`` is one of checkpoint ``base``'s files (``base.index``, ``base.data-NNNNN-of-NNNNN``).

    Exact: ``base.data-00000-of-00001.bak`` or ``base.index.tmp`` are someone else's files.
    """
    if name == base + ".index":
        return True
    return name.startswith(base) and _DATA_SUFFIX.fullmatch(name, len(base)) is not None


def numpy_dtype(tf_dtype_name: str) -> np.dtype:
    """The NumPy dtype TensorFlow reads a checkpoint tensor of ``tf_dtype_name`` as (``string`` -> object)."""
    return np.dtype(tf.as_dtype(tf_dtype_name).as_numpy_dtype)


def _bundle_files(prefix: str) -> list[str]:
    directory = os.path.dirname(prefix) or "."
    base = os.path.basename(prefix)
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    return sorted(os.path.join(directory, name) for name in names if is_bundle_file(name, base))


def resolve_checkpoint_path(path: str | os.PathLike) -> str:
    """Turns a prefix, a directory, or a ``.index``/``.data-*`` file into a checkpoint prefix.

    A directory is resolved through its ``checkpoint`` state file (the one
    ``tf.train.latest_checkpoint`` reads).

    Raises:
        CheckpointNotFoundError: nothing at ``path`` is a checkpoint; the message
            says what was looked for.
    """
    text = os.fspath(path)
    if os.path.isdir(text):
        read_state_file(text)
        prefix = tf.train.latest_checkpoint(text)
        if prefix is None:
            state = os.path.join(text, "checkpoint")
            if os.path.exists(state):
                raise CheckpointNotFoundError(
                    f"checkpoint state file {state!r} names no checkpoint whose files exist; "
                    "pass the checkpoint prefix (e.g. DIR/model.ckpt-100) instead"
                )
            found = sorted(name[: -len(".index")] for name in os.listdir(text) if name.endswith(".index"))
            if len(found) == 1:
                return os.path.join(text, found[0])
            hint = f"; it holds these prefixes: {found}, pass one of them" if found else ""
            raise CheckpointNotFoundError(f"directory {text!r} has no 'checkpoint' state file{hint}")
        text = prefix
    text = re.sub(r"\.(index|meta|data-\d{5}-of-\d{5})$", "", text)
    if not os.path.exists(text + ".index"):
        # TF1 V1-format checkpoints are one file with no .index.
        if os.path.isfile(text):
            return text
        raise CheckpointNotFoundError(
            f"no checkpoint at {os.fspath(path)!r}: expected {text + '.index'!r} and "
            f"{text + '.data-00000-of-00001'!r} (a checkpoint prefix, its directory or one of its files)"
        )
    return text


def read_state_file(directory: str):
    """Reads the ``checkpoint`` state file of ``directory`` (a ``CheckpointState`` proto), or None when absent.

    Raises:
        CheckpointCorruptError: the file cannot be read, is not UTF-8 text, or
            is not a text ``CheckpointState``; the message names the file and
            the first bad byte or line.
    """
    from google.protobuf import text_format
    from tensorflow.python.training import checkpoint_state_pb2

    path = os.path.join(directory, "checkpoint")
    advice = ("it should be the text CheckpointState tf.train.Saver writes (model_checkpoint_path: \"...\"); "
              "restore it from a good copy, or remove it and the next save writes a new one")
    try:
        with open(path, "rb") as stream:
            data = stream.read()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise CheckpointCorruptError(f"checkpoint state file {path!r} cannot be read ({error}); {advice}") from error
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CheckpointCorruptError(
            f"checkpoint state file {path!r} is not UTF-8 text (byte 0x{data[error.start]:02x} at offset "
            f"{error.start}); {advice}") from error
    state = checkpoint_state_pb2.CheckpointState()
    try:
        text_format.Parse(text, state)
    except text_format.ParseError as error:
        raise CheckpointCorruptError(
            f"checkpoint state file {path!r} is not a CheckpointState ({error}); {advice}") from error
    return state


def open_checkpoint(path: str | os.PathLike):
    """Opens a checkpoint for reading and returns ``(prefix, reader)``.

    Raises:
        CheckpointNotFoundError: nothing at ``path`` is a checkpoint.
        CheckpointCorruptError: the index file cannot be parsed.
    """
    prefix = resolve_checkpoint_path(path)
    try:
        reader = tf.train.load_checkpoint(prefix)
    except (tf.errors.OpError, ValueError, IndexError) as error:
        index = prefix + ".index" if os.path.exists(prefix + ".index") else prefix
        raise CheckpointCorruptError(
            f"checkpoint index {index!r} is truncated or corrupt and cannot be read "
            f"({_first_line(error)}); restore it from a good copy"
        ) from error
    return prefix, reader


def read_tensors(prefix: str, reader, keys: Iterable[str]) -> dict[str, np.ndarray]:
    """Reads ``keys`` from an open checkpoint, all or nothing.

    Raises:
        CheckpointCorruptError: a data file is truncated, missing or fails its
            checksum; the message names the files and the tensor being read.
    """
    values: dict[str, np.ndarray] = {}
    for key in keys:
        try:
            values[key] = np.asarray(reader.get_tensor(key))
        except (tf.errors.OpError, ValueError, IndexError) as error:
            files = [f for f in _bundle_files(prefix) if ".data-" in f] or [prefix + ".data-00000-of-00001"]
            raise CheckpointCorruptError(
                f"checkpoint data {', '.join(map(repr, files))} is truncated or corrupt: reading {key!r} failed "
                f"({_first_line(error)}); nothing was loaded from it, restore it from a good copy"
            ) from error
    return values


def _first_line(error: BaseException) -> str:
    text = getattr(error, "message", None) or str(error) or type(error).__name__
    return text.strip().splitlines()[0]


def entry_shapes(reader) -> dict[str, tuple[tuple[int, ...], str]]:
    """Returns ``{key: (shape, dtype name)}`` for every tensor of an open checkpoint but the object graph."""
    shapes = reader.get_variable_to_shape_map()
    dtypes = reader.get_variable_to_dtype_map()
    return {key: (tuple(int(d) for d in shapes[key]), dtypes[key].name) for key in shapes if key != OBJECT_GRAPH_KEY}


def summarize_tf1(prefix: str, entries: dict[str, tuple[tuple[int, ...], str]]) -> CheckpointSummary:
    """Groups TF1 names (``{name: (shape, dtype)}``) into variables with their slots, and optimizer state."""
    slots: dict[str, list[CheckpointEntry]] = {}
    owners = set()
    for key in entries:
        owner, _, suffix = key.rpartition("/")
        # A key nested under another variable's name is that variable's slot:
        # TF1 optimizers name slots "<variable>/<optimizer name>[_N]".
        if owner in entries:
            slots.setdefault(owner, []).append(CheckpointEntry(key, key, *entries[key], slot=suffix))
            owners.add(key)
    variables, state = [], []
    for key in sorted(entries):
        if key in owners:
            continue
        entry = CheckpointEntry(key, key, *entries[key])
        if _TF1_STATE.match(key) and key not in slots:
            state.append(entry)
        else:
            variables.append(CheckpointVariable(entry, tuple(sorted(slots.get(key, ()), key=lambda e: e.key))))
    return CheckpointSummary(prefix, "tf1", tuple(variables), tuple(state))


def _tf2_summary(prefix: str, reader, entries: dict[str, tuple[tuple[int, ...], str]]) -> CheckpointSummary:
    from tensorflow.core.protobuf import trackable_object_graph_pb2

    graph = trackable_object_graph_pb2.TrackableObjectGraph()
    graph.ParseFromString(read_tensors(prefix, reader, [OBJECT_GRAPH_KEY])[OBJECT_GRAPH_KEY].item())
    full_names = {a.checkpoint_key: a.full_name for node in graph.nodes for a in node.attributes}
    slot_of: dict[str, tuple[str, str]] = {}  # slot key -> (variable key, slot name)
    optimizer_paths = set()
    node_keys = {i: [a.checkpoint_key for a in node.attributes if a.name == "VARIABLE_VALUE"]
                 for i, node in enumerate(graph.nodes)}
    for node in graph.nodes:
        # tf.keras.optimizers.legacy (OptimizerV2) declares its slots in the graph.
        for ref in node.slot_variables:
            for slot_key in node_keys[ref.slot_variable_node_id]:
                for variable_key in node_keys[ref.original_variable_node_id]:
                    slot_of[slot_key] = (variable_key, ref.slot_name)
                    optimizer_paths.add(_object_path(slot_key).split(_SLOT_MARKER, 1)[1].rsplit("/", 1)[0])
    by_full_name = {full_names.get(key, ""): key for key in entries}
    for key in entries:
        # The Keras optimizer of tf-keras >= 2.11 keeps a flat variable list;
        # its slots are named "<optimizer>/<slot>/<variable name>".
        parts = full_names.get(key, "").split("/", 2)
        if key not in slot_of and len(parts) == 3 and parts[2] in by_full_name and "/_variables/" in key:
            slot_of[key] = (by_full_name[parts[2]], parts[1])
            optimizer_paths.add(key.split("/_variables/", 1)[0])
    slots: dict[str, list[CheckpointEntry]] = {}
    for key, (variable_key, slot_name) in slot_of.items():
        entry = CheckpointEntry(_object_path(key), key, *entries[key], slot=slot_name, full_name=full_names.get(key, ""))
        slots.setdefault(variable_key, []).append(entry)
    variables, state = [], []
    for key in sorted(entries, key=_object_path):
        if key in slot_of:
            continue
        entry = CheckpointEntry(_object_path(key), key, *entries[key], full_name=full_names.get(key, ""))
        path = _object_path(key)
        if path == "save_counter" or any(path.startswith(p + "/") for p in optimizer_paths):
            state.append(entry)
        else:
            variables.append(CheckpointVariable(entry, tuple(sorted(slots.get(key, ()), key=lambda e: e.slot))))
    return CheckpointSummary(prefix, "tf2", tuple(variables), tuple(state))


def _object_path(key: str) -> str:
    return key[: -len(_VALUE_SUFFIX)] if key.endswith(_VALUE_SUFFIX) else key


def inspect_checkpoint(path: str | os.PathLike, *, verify: bool = True) -> CheckpointSummary:
    """Lists every variable of a TF1 or TF2 checkpoint with shape and dtype, slots grouped under their variable.

    Args:
        path: a checkpoint prefix (``DIR/model.ckpt-100``), its directory (read
            through the ``checkpoint`` state file) or one of its files.
        verify: read every tensor once so a truncated or corrupt data file is
            reported now rather than at load time (one tensor in memory at a time).

    Returns:
        A :class:`CheckpointSummary`; ``print`` it for a table, ``.to_json()`` for data.

    Raises:
        CheckpointNotFoundError: nothing at ``path`` is a checkpoint.
        CheckpointCorruptError: the index or (with ``verify``) a data file is
            truncated or corrupt, or the directory's ``checkpoint`` state file
            is unreadable.

    Example:
        >>> print(gm.inspect_checkpoint("train_dir"))
    """
    prefix, reader = open_checkpoint(path)
    entries = entry_shapes(reader)
    if verify:
        for key in sorted(entries):
            read_tensors(prefix, reader, [key])
    summary = _tf2_summary(prefix, reader, entries) if reader.has_tensor(OBJECT_GRAPH_KEY) else summarize_tf1(
        prefix, entries)
    return summary._replace(leftovers=tuple(find_leftovers(os.path.dirname(prefix) or ".")))

