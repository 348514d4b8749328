"""Saving TF2 eager variables as a TF1 ``Saver`` checkpoint an unmodified graph restores."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import numpy as np

from graphmode._pairing import base_name, nearest
from graphmode._runtime import tf, v1
from graphmode._slots import has_slots_for, is_built, keras_slot, optimizer_map_for, tf1_slot_suffixes
from graphmode.checkpoint.atomic import Slices, name_problem, write_checkpoint_atomically
from graphmode.checkpoint.load import (
    Transfer,
    identity,
    named_variables,
    raise_problems,
    recurrent_transfers,
)
from graphmode.checkpoint.names import NameMap, explicit_targets, pair_names
from graphmode.checkpoint.reader import entry_shapes, numpy_dtype, open_checkpoint, summarize_tf1
from graphmode.errors import CheckpointMatchError, ConfigError

Reference = str | os.PathLike | tf.Graph | Iterable[str]


class _Partition(NamedTuple):
    # One part of a partitioned variable: its own name in the graph ("w/part_1") and where it sits in the whole.
    name: str
    offset: tuple[int, ...]
    shape: tuple[int, ...]
    spec: str


class _ReferenceNames(NamedTuple):
    # The TF1 side a save must fit: shapes (None when only names are known),
    # the model variables names pair with, and every name the restore will ask for.
    shapes: dict[str, tuple[int, ...] | None]
    dtypes: dict[str, str]
    model_names: list[str]
    required: set[str]
    described: str
    # Partitioned variables: Saver's key (the whole variable's name) -> its parts, which Saver writes
    # as slices of that one key.
    partitions: dict[str, list[_Partition]] = {}


def _graph_entries(graph: tf.Graph):
    entries: dict[str, tuple[tuple[int, ...], str]] = {}
    partitions: dict[str, list[_Partition]] = {}
    for variable in graph.get_collection(v1.GraphKeys.GLOBAL_VARIABLES):
        dtype = variable.dtype.base_dtype.name
        info = getattr(variable, "_save_slice_info", None)
        if info is None:
            entries[variable.op.name] = (tuple(variable.shape.as_list()), dtype)
            continue
        entries[info.full_name] = (tuple(info.full_shape), dtype)
        partitions.setdefault(info.full_name, []).append(
            _Partition(variable.op.name, tuple(info.var_offset), tuple(info.var_shape), info.spec))
    return entries, partitions


def _join_partitions(named: list, reference: _ReferenceNames | None, problems: list[str]) -> list:
    """Replaces the parts of a partitioned variable, given by their own names, with the whole variable."""
    if reference is None or not reference.partitions:
        return named
    owner = {part.name: (full, part) for full, parts in reference.partitions.items() for part in parts}
    given: dict[str, dict[str, Any]] = {}
    rest = []
    for name, item in named:
        if base_name(name) in owner:
            given.setdefault(owner[base_name(name)][0], {})[base_name(name)] = item
        else:
            rest.append((name, item))
    for full, items in given.items():
        parts = reference.partitions[full]
        missing = [part.name for part in parts if part.name not in items]
        if missing:
            problems.append(f"partitioned variable {full!r}: parts {missing} are not given (all of "
                            f"{[part.name for part in parts]} are needed, or {full!r} whole)")
            continue
        whole = np.zeros(reference.shapes[full], numpy_dtype(reference.dtypes[full]))
        for part in parts:
            whole[tuple(slice(o, o + n) for o, n in zip(part.offset, part.shape))] = _value(items[part.name])
        rest.append((full, whole))
    return rest


def _as_saved(name: str, value: np.ndarray, reference: _ReferenceNames | None) -> np.ndarray | Slices:
    """What TF1's ``Saver`` writes for ``name``: the value, or its slices where the variable is partitioned."""
    parts = reference.partitions.get(name) if reference is not None else None
    if not parts or tuple(np.shape(value)) != reference.shapes[name]:
        return value  # a wrong shape is reported by the shape check
    return Slices(tuple(np.shape(value)), [
        (part.spec, np.asarray(value)[tuple(slice(o, o + n) for o, n in zip(part.offset, part.shape))])
        for part in parts])


def _reference_names(reference: Reference) -> _ReferenceNames:
    if isinstance(reference, tf.Graph):
        entries, partitions = _graph_entries(reference)
        model = [v.entry.name for v in summarize_tf1("graph", entries).variables]
        # Saver() restores every global variable, slots and global_step included.
        return _ReferenceNames({n: s for n, (s, _) in entries.items()}, {n: d for n, (_, d) in entries.items()},
                               model, set(entries), "the reference graph", partitions)
    if isinstance(reference, (str, os.PathLike)):
        prefix, reader = open_checkpoint(reference)
        entries = entry_shapes(reader)
        model = [v.entry.name for v in summarize_tf1(prefix, entries).variables]
        return _ReferenceNames({n: s for n, (s, _) in entries.items()}, {n: d for n, (_, d) in entries.items()},
                               model, set(model), f"checkpoint {prefix!r}")
    names = [base_name(str(name)) for name in reference]
    return _ReferenceNames(dict.fromkeys(names), {}, names, set(names), "the reference names")


def _shape(item: Any) -> tuple[int | None, ...]:
    return tuple(item.shape) if hasattr(item, "shape") else np.shape(item)


def _value(item: Any) -> np.ndarray:
    return item.numpy() if isinstance(item, tf.Variable) else np.asarray(item)


def _plan(named, recurrent, name_map, reference: _ReferenceNames | None, problems: list[str]) -> list[Transfer]:
    transfers = recurrent_transfers(recurrent, None, problems)
    bound = {id(variable) for transfer in transfers for _, variable in transfer.targets}
    named = [(name, item) for name, item in named if id(item) not in bound]
    names = [name for name, _ in named]
    if reference is None:
        explicit = explicit_targets(names, name_map, problems)
        targets = {index: explicit.get(index, base_name(name)) for index, name in enumerate(names)}
        rules = {index: "explicit" if index in explicit else "exact" for index in targets}
    else:
        taken = {n for t in transfers for n in t.tf1_names}
        candidates = [n for n in reference.model_names if n not in taken]
        pairs, pair_problems = pair_names(names, candidates, name_map,
                                          eager_shapes=[_shape(item) for _, item in named],
                                          tf1_shapes={n: reference.shapes.get(n) for n in candidates})
        problems += pair_problems
        targets = {index: pair.tf1 for index, pair in pairs.items()}
        rules = {index: pair.rule for index, pair in pairs.items()}
        paired = set(targets.values())
        problems += [f"variable {base_name(n)!r} has no name in {reference.described}{nearest(n, candidates)}"
                     for i, n in enumerate(names) if i not in targets]
        problems += [f"{reference.described} variable {n!r} gets no value" for n in candidates if n not in paired]
    for index, target in targets.items():
        transfers.append(Transfer((target,), ((base_name(names[index]), named[index][1]),), identity, identity,
                                  rules[index]))
    return transfers


def _slot_tensors(optimizer, tf1_optimizer_name, transfers, problems) -> dict[str, np.ndarray]:
    optimizer_map = optimizer_map_for(optimizer)
    tensors: dict[str, np.ndarray] = {}
    for transfer in transfers:
        variables = [item for _, item in transfer.targets]
        if not all(isinstance(v, tf.Variable) and v.trainable for v in variables):
            continue
        untracked = [label for label, v in transfer.targets
                     if not (is_built(optimizer) and has_slots_for(optimizer, v))]
        if untracked and optimizer_map.slots(optimizer):
            problems.append(f"optimizer {type(optimizer).__name__} has no slots for {untracked} (not built for them "
                            "or no training step taken); pass the optimizer that trains them, or optimizer=None")
            continue
        for suffix, rule in tf1_slot_suffixes(optimizer_map, optimizer, tf1_optimizer_name):
            if rule.keras_attribute is None:  # a TF1 slot that never affects this optimizer's updates
                slots = tuple(np.zeros(tuple(v.shape), v.dtype.as_numpy_dtype) for v in variables)
            else:
                slots = tuple(rule.to_tf1(keras_slot(optimizer, rule, v).numpy(), optimizer) for v in variables)
            for name, value in zip(transfer.tf1_names, transfer.convert_back(slots, 0.0)):
                tensors[f"{name}/{suffix}"] = value
    tensors.update(optimizer_map.state_to_tf1(int(optimizer.iterations.numpy()), optimizer))
    return tensors


def _to_reference_dtype(name: str, value: np.ndarray, dtype: str, cast: bool, reference: _ReferenceNames,
                        problems: list[str]) -> np.ndarray:
    wanted = numpy_dtype(dtype)
    mismatch = f"dtype mismatch: {name!r} is {wanted.name} in {reference.described}; the value is {value.dtype.name}"
    if not cast:
        problems.append(f"{mismatch} (pass cast=True to write it as {wanted.name})")
        return value
    kinds = {"f": "float", "i": "int", "u": "int", "b": "bool", "c": "complex"}
    if kinds.get(value.dtype.kind) != kinds.get(wanted.kind):
        problems.append(f"{mismatch}; cast=True converts only within a kind (float to float, int to int)")
        return value
    with np.errstate(over="ignore", invalid="ignore"):
        converted = value.astype(wanted)
    changed = (np.isfinite(value) & ~np.isfinite(converted)) if wanted.kind in "fc" else (converted != value)
    if np.any(changed):
        problems.append(f"{mismatch}; cast=True would change {int(np.sum(changed))} of its values beyond rounding "
                        f"(e.g. {value.flat[int(np.argmax(changed))].item()!r} -> {converted.flat[int(np.argmax(changed))].item()!r})")
        return value
    return converted


def save_tf1_checkpoint(
    path: str | os.PathLike,
    variables: Any,
    name_map: NameMap | None = None,
    *,
    reference: Reference | None = None,
    recurrent: Mapping[str, Any] | None = None,
    forget_bias: float = 1.0,
    optimizer: Any = None,
    tf1_optimizer_name: str | None = None,
    global_step: int | None = None,
    update_state_file: bool = True,
    cast: bool = False,
) -> str:
    """Writes eager variables as a TF1 ``Saver`` checkpoint that ``tf.compat.v1.train.Saver().restore`` loads.

    Args:
        path: the checkpoint prefix to write, e.g. ``train_dir/model.ckpt-100``.
        variables: as for :func:`load_tf1_checkpoint`; a dict may also hold
            NumPy arrays. Its keys (or the variables' names) are the TF1 names
            unless ``name_map`` or ``reference`` says otherwise.
        name_map: eager name -> TF1 name, as a dict or a function.
        reference: what the TF1 side expects: the TF1 ``tf.Graph`` that will
            restore (every global variable must get a value, slots and
            ``global_step`` included), a TF1 checkpoint, or a list of names.
            Names are then paired and shapes checked as for loading.
        recurrent: TF1 cell scope -> Keras ``LSTM``/``GRU`` layer to write as a
            fused TF1 cell.
        forget_bias: the ``forget_bias`` the TF1 LSTM cells add at run time.
        optimizer: a Keras optimizer whose slots and step count to write as
            TF1 slots (``<variable>/Adam``, ``beta1_power``, ...).
        tf1_optimizer_name: the TF1 optimizer's ``name=`` if not the default.
        global_step: value for ``global_step`` (default: the optimizer's
            ``iterations`` when an optimizer is given, else none written).
        update_state_file: make it the directory's latest checkpoint.
        cast: with ``reference``, write each value in the reference's dtype
            (float64 -> float32, int32 -> int64, ...) instead of refusing a
            dtype that differs; a value the cast would change beyond rounding
            (overflow to Inf, a float into an integer) is still refused.

    Returns:
        The checkpoint prefix written (absolute).

    Raises:
        CheckpointMatchError: names that do not pair with ``reference``, shape
            or dtype mismatches, two values for one name, missing slots, empty
            or invalid TF1 names; nothing written.
        CheckpointCorruptError: the directory's ``checkpoint`` state file is
            unreadable (not UTF-8 text, not a CheckpointState); nothing written.
        ConfigError: an unsupported recurrent layer or optimizer.
    """
    problems: list[str] = []
    reference_names = None if reference is None else _reference_names(reference)
    named = _join_partitions(named_variables(variables), reference_names, problems)
    transfers = _plan(named, recurrent, name_map, reference_names, problems)
    tensors: dict[str, np.ndarray] = {}
    for transfer in transfers:
        try:
            outputs = transfer.convert_back(tuple(_value(item) for _, item in transfer.targets), forget_bias)
        except CheckpointMatchError as error:
            problems.append(f"{transfer.rule} {transfer.tf1_names}: {error}")
            continue
        for name, value in zip(transfer.tf1_names, outputs):
            labels = [label for label, _ in transfer.targets]
            if (why := name_problem(name)) is not None:
                problems.append(f"TF1 name {name!r} for {labels[0] if len(labels) == 1 else labels!r} {why}")
                continue
            if name in tensors:
                problems.append(f"two values for TF1 name {name!r}; give name_map")
            tensors[name] = value
    if global_step is not None and (isinstance(global_step, bool) or not isinstance(global_step, (int, np.integer))):
        raise ConfigError(f"global_step must be an int; got {global_step!r}")
    in_variables = tensors.get("global_step")
    if optimizer is not None:
        tensors.update(_slot_tensors(optimizer, tf1_optimizer_name, transfers, problems))
        global_step = int(optimizer.iterations.numpy()) if global_step is None else global_step
    if global_step is not None:
        if in_variables is not None and np.asarray(in_variables) != global_step:
            source = "global_step=" if optimizer is None else "global_step= / the optimizer's iterations"
            problems.append(f"two values for 'global_step': {np.asarray(in_variables).item()!r} in the variables "
                            f"and {int(global_step)} from {source}; give one")
        tensors["global_step"] = np.int64(global_step)
    if reference_names is not None:
        for name, value in list(tensors.items()):
            shape = reference_names.shapes.get(name)
            if shape is not None and tuple(value.shape) != shape:
                problems.append(f"shape mismatch: {name!r} is {shape} in {reference_names.described}; "
                                f"the value is {tuple(value.shape)}")
            dtype = reference_names.dtypes.get(name)
            if dtype is not None and np.asarray(value).dtype != numpy_dtype(dtype) and not _both_strings(value, dtype):
                tensors[name] = _to_reference_dtype(name, np.asarray(value), dtype, cast, reference_names, problems)
        missing = sorted(reference_names.required - set(tensors) - set(reference_names.model_names))
        if missing:
            problems.append(f"{reference_names.described} also restores {missing}, which would be missing "
                            "(pass optimizer= / global_step= to write them)")
    raise_problems("save", os.fspath(path), problems)
    saved = {name: _as_saved(name, value, reference_names) for name, value in tensors.items()}
    return write_checkpoint_atomically(path, saved, update_state_file=update_state_file)


def _both_strings(value: Any, dtype: str) -> bool:
    # NumPy holds TensorFlow strings as bytes (|S), str (<U) or object arrays: all are one TF dtype.
    return dtype == "string" and np.asarray(value).dtype.kind in "SUO"
