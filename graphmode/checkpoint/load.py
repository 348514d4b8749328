"""Loading a TF1 ``Saver`` checkpoint into TF2 eager variables.

Every load is planned in full before anything changes: names are paired
(:mod:`graphmode._pairing`, one whole-model assignment), shapes and dtypes compared, optimizer
slots located, and every problem is reported in one :class:`CheckpointMatchError`.
Only then are the tensors read (a corrupt file fails here, still before any
assignment) and assigned.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np

from graphmode._pairing import base_name, nearest
from graphmode._runtime import tf
from graphmode._slots import ensure_built, keras_slot, optimizer_map_for, tf1_slot_suffixes
from graphmode.checkpoint.names import NameMap, NamePair, pair_names
from graphmode.checkpoint.reader import (
    OBJECT_GRAPH_KEY,
    entry_shapes,
    numpy_dtype,
    open_checkpoint,
    read_tensors,
    summarize_tf1,
)
from graphmode.checkpoint.recurrent import UNSUPPORTED_TF1_LSTM_PARTS, bind_recurrent
from graphmode.errors import CheckpointMatchError, ConfigError

Arrays = tuple[np.ndarray, ...]
_TF1_STATE_NAMES = ("beta1_power", "beta2_power", "global_step")


class Transfer(NamedTuple):
    """TF1 names <-> eager variables, with the conversions each way (arrays, forget bias -> arrays)."""

    tf1_names: tuple[str, ...]
    targets: tuple[tuple[str, Any], ...]  # (label, variable or array)
    convert: Callable[[Arrays, float], Arrays]
    convert_back: Callable[[Arrays, float], Arrays]
    rule: str


class LoadReport(NamedTuple):
    """What :func:`load_tf1_checkpoint` did.

    Attributes:
        path: the checkpoint prefix read.
        pairs: each eager variable and the TF1 name it took its value from,
            with the rule that paired them (``explicit``, ``exact``,
            ``normalised``, ``order``, ``suffix``, or ``lstm cell``/``gru cell``).
        slots: the TF1 slot names whose values went into optimizer slots.
        iterations: the optimizer's ``iterations`` after loading (None when not set).
        unused: checkpoint model variables nothing loaded (only with ``strict=False``).
    """

    path: str
    pairs: tuple[NamePair, ...]
    slots: tuple[str, ...]
    iterations: int | None
    unused: tuple[str, ...]

    def __str__(self) -> str:
        width = max([len(p.eager) for p in self.pairs] + [5])
        lines = [f"loaded {self.path}"]
        lines += [f"  {p.eager:<{width}} <- {p.tf1}  ({p.rule})" for p in self.pairs]
        if self.slots:
            lines.append(f"  {len(self.slots)} optimizer slots, iterations = {self.iterations}")
        if self.unused:
            lines.append(f"  not loaded: {list(self.unused)}")
        return "\n".join(lines)


def identity(arrays: Arrays, forget_bias: float) -> Arrays:
    """The conversion of a variable stored as it is."""
    return arrays


def named_variables(variables: Any) -> list[tuple[str, Any]]:
    """Returns ``(name, variable)`` pairs from a dict, a Keras model/layer, a ``tf.Module`` or a list.

    A dict's keys are the names; otherwise a variable's own ``name`` (eager
    variables made without a name are all ``Variable:0``; pass a dict then).
    """
    if isinstance(variables, Mapping):
        return [(str(name), value) for name, value in variables.items()]
    if isinstance(variables, tf.Variable):
        return [(variables.name, variables)]
    if hasattr(variables, "weights") and not isinstance(variables, (list, tuple)):
        return [(v.name, v) for v in variables.weights]
    if isinstance(variables, tf.Module):
        return [(v.name, v) for v in variables.variables]
    items = list(variables)
    for item in items:
        if not isinstance(item, tf.Variable):
            raise ConfigError(f"variables must be tf.Variables, a dict of them, a Keras model or a tf.Module; "
                              f"got a {type(item).__name__} in the list")
    return [(v.name, v) for v in items]


def _shape_of(item: Any) -> tuple[int | None, ...] | None:
    shape = getattr(item, "shape", None)
    return None if shape is None else tuple(getattr(shape, "as_list", lambda: list(shape))())


def _dry_outputs(transfer: Transfer, shapes: Mapping[str, tuple], dtypes: Mapping[str, str], forget_bias: float):
    # Convert zero views of the right shapes: the output shapes come out of the
    # same code that converts the values, without reading anything.
    zeros = tuple(np.broadcast_to(np.zeros((), numpy_dtype(dtypes[n])), shapes[n]) for n in transfer.tf1_names)
    return transfer.convert(zeros, forget_bias)


def _shape_problems(transfers: list[Transfer], entries: Mapping[str, tuple], forget_bias: float) -> list[str]:
    shapes = {name: shape for name, (shape, _) in entries.items()}
    dtypes = {name: dtype for name, (_, dtype) in entries.items()}
    problems = []
    for transfer in transfers:
        source = ", ".join(f"{n!r} {shapes[n]}" for n in transfer.tf1_names)
        try:
            outputs = _dry_outputs(transfer, shapes, dtypes, forget_bias)
        except CheckpointMatchError as error:
            problems.append(f"{transfer.rule} from {source}: {error}")
            continue
        for (label, variable), output in zip(transfer.targets, outputs):
            wanted, wanted_dtype = tuple(variable.shape), variable.dtype.as_numpy_dtype
            via = "" if transfer.rule not in ("lstm cell", "gru cell") else f" (converted from {transfer.rule})"
            if output.shape != wanted:
                problems.append(f"shape mismatch: {label!r} is {wanted}; checkpoint {source} gives {output.shape}{via}")
            elif output.dtype != wanted_dtype:
                problems.append(f"dtype mismatch: {label!r} is {np.dtype(wanted_dtype).name}; checkpoint {source} "
                                f"is {output.dtype.name}")
    return problems


def raise_problems(action: str, path: str, problems: list[str]) -> None:
    """Raises one :class:`CheckpointMatchError` listing every problem, if there are any."""
    if problems:
        listed = "\n".join(f"  - {problem}" for problem in problems)
        raise CheckpointMatchError(f"cannot {action} {path!r}; nothing was changed:\n{listed}")


def recurrent_transfers(recurrent, available: Mapping[str, Any] | None, problems: list[str]) -> list[Transfer]:
    """Binds each ``{scope: layer}``; with ``available`` (checkpoint names) also checks the TF1 side."""
    transfers = []
    for scope, layer in (recurrent or {}).items():
        binding = bind_recurrent(scope, layer)
        targets = tuple((base_name(v.name), v) for v in binding.variables)
        transfers.append(Transfer(binding.tf1_names, targets, binding.to_keras, binding.to_tf1, f"{binding.kind} cell"))
        if available is None:
            continue
        missing = [n for n in binding.tf1_names if n not in available]
        if missing:
            problems.append(f"recurrent scope {scope!r} ({binding.kind}): checkpoint has no {missing}"
                            f"{nearest(missing[0], list(available))}")
        extras = {part: why for part, why in UNSUPPORTED_TF1_LSTM_PARTS.items() if f"{scope}/{part}" in available}
        if extras:
            problems.append(f"recurrent scope {scope!r} has {sorted(extras)} ({', '.join(sorted(set(extras.values())))}"
                            "); Keras LSTM has no equivalent, so it cannot compute the same function")
    return transfers


def _slot_plan(optimizer, tf1_optimizer_name, transfers, entries, problems):
    optimizer_map = optimizer_map_for(optimizer)
    plan, missing = [], []
    for transfer in transfers:
        trainable = [i for i, (_, variable) in enumerate(transfer.targets) if variable.trainable]
        if not trainable:
            continue
        for suffix, rule in tf1_slot_suffixes(optimizer_map, optimizer, tf1_optimizer_name):
            names = tuple(f"{name}/{suffix}" for name in transfer.tf1_names)
            if rule.keras_attribute is None:
                continue
            missing += [name for name in names if name not in entries]
            plan.append((transfer, names, rule, trainable))
    if missing:
        present = sorted({name.rpartition("/")[2] for name in entries if name.rpartition("/")[0] in entries})
        problems.append(
            f"optimizer slots for {type(optimizer).__name__} ({optimizer_map.tf1_optimizer}) missing: {missing}; "
            f"TF1 names slots '<variable>/<optimizer name>', and this checkpoint's slot suffixes are {present}"
            " (pass tf1_optimizer_name= if the TF1 optimizer had a name=)"
        )
    return optimizer_map, plan


def load_tf1_checkpoint(
    path: str | os.PathLike,
    variables: Any,
    name_map: NameMap | None = None,
    *,
    recurrent: Mapping[str, Any] | None = None,
    forget_bias: float = 1.0,
    optimizer: Any = None,
    tf1_optimizer_name: str | None = None,
    strict: bool = True,
    verify: bool = True,
) -> LoadReport:
    """Loads a TF1 ``Saver`` checkpoint into eager variables, all or nothing.

    Args:
        path: checkpoint prefix, its directory (latest checkpoint) or one of its files.
        variables: ``tf.Variable``s as a list, a dict (its keys are the names
            matched), a Keras model/layer (its ``weights``) or a ``tf.Module``.
        name_map: eager name -> TF1 name, as a dict or a function (returning
            None to fall back to inference); see :func:`pair_names` for what is inferred.
        recurrent: TF1 cell scope -> Keras ``LSTM``/``GRU`` layer, e.g.
            ``{"rnn/lstm_cell": model.layers[0]}``: the fused TF1 weights are
            converted (gate order, kernel split, ``forget_bias``).
        forget_bias: the TF1 LSTM cells' ``forget_bias`` (TF1 default 1.0).
        optimizer: a Keras optimizer to carry the TF1 optimizer slots into
            (TF1 Adam -> Keras Adam, Momentum -> SGD, Adagrad -> Adagrad); it is
            built for the trainable variables loaded.
        tf1_optimizer_name: the TF1 optimizer's ``name=`` if not the default.
        strict: when False, checkpoint variables nothing pairs with are left out
            (eager variables without a value are always an error).
        verify: read every tensor of the checkpoint, not only those loaded, so
            that damage anywhere in the file fails the load (one at a time in memory).

    Returns:
        A :class:`LoadReport` (print it for the table of pairs).

    Raises:
        CheckpointNotFoundError, CheckpointCorruptError: the file is missing or
            damaged; nothing was assigned.
        CheckpointMatchError: unmatched names on either side, shape or dtype
            mismatches, missing slots; every problem at once, nothing assigned.
        ConfigError: an unsupported recurrent layer or optimizer.

    Example:
        >>> model = tf.keras.Sequential([tf.keras.layers.Dense(3, input_shape=(2,))])
        >>> print(gm.load_tf1_checkpoint("train_dir", model, {"dense/kernel": "layer1/weights",
        ...                                                   "dense/bias": "layer1/biases"}))
    """
    prefix, reader = open_checkpoint(path)
    if reader.has_tensor(OBJECT_GRAPH_KEY):
        raise CheckpointMatchError(f"{prefix!r} is an object-based (TF2) checkpoint; restore it with "
                                   "tf.train.Checkpoint(...).restore(), load_tf1_checkpoint reads TF1 Saver checkpoints")
    entries = entry_shapes(reader)
    problems: list[str] = []
    transfers = recurrent_transfers(recurrent, entries, problems)
    bound = {id(variable) for transfer in transfers for _, variable in transfer.targets}
    taken = {name for transfer in transfers for name in transfer.tf1_names}
    named = [(name, variable) for name, variable in named_variables(variables) if id(variable) not in bound]
    candidates = [v.entry.name for v in summarize_tf1(prefix, entries).variables if v.entry.name not in taken]
    pairs, name_problems = pair_names([name for name, _ in named], candidates, name_map,
                                      eager_shapes=[_shape_of(variable) for _, variable in named],
                                      tf1_shapes={name: entries[name][0] for name in candidates})
    problems += name_problems
    for index, pair in pairs.items():
        transfers.append(Transfer((pair.tf1,), ((pair.eager, named[index][1]),), identity, identity, pair.rule))
    used = {name for transfer in transfers for name in transfer.tf1_names}
    unpaired = [base_name(name) for index, (name, _) in enumerate(named) if index not in pairs]
    unused = [name for name in candidates if name not in used]
    problems += [f"variable {name!r} has no checkpoint entry{nearest(name, unused or candidates)}" for name in unpaired]
    if strict:
        problems += [f"checkpoint variable {name!r} is not loaded into any variable (strict=False leaves it)"
                     for name in unused]
    valid = [t for t in transfers if all(n in entries for n in t.tf1_names)]
    problems += _shape_problems(valid, entries, forget_bias)
    slot_plan: list = []
    if optimizer is not None:
        optimizer_map, slot_plan = _slot_plan(optimizer, tf1_optimizer_name, valid, entries, problems)
    raise_problems("load", prefix, problems)

    wanted = [n for t in transfers for n in t.tf1_names] + [n for _, names, _, _ in slot_plan for n in names]
    wanted += [n for n in _TF1_STATE_NAMES if optimizer is not None and n in entries]
    wanted = list(dict.fromkeys(wanted))
    if verify:
        for name in sorted(set(entries) - set(wanted)):
            read_tensors(prefix, reader, [name])
    values = read_tensors(prefix, reader, wanted)
    assignments = [(variable, output) for t in transfers
                   for (_, variable), output in zip(t.targets, t.convert(tuple(values[n] for n in t.tf1_names), forget_bias))]
    iterations = None
    if optimizer is not None:
        iterations = optimizer_map.steps_from_tf1(values, optimizer)
        ensure_built(optimizer, [v for t in valid for _, v in t.targets if v.trainable])
        for transfer, names, rule, trainable in slot_plan:
            # Slots are moments of the weights: same layout change, no forget-bias shift.
            outputs = transfer.convert(tuple(values[n] for n in names), 0.0)
            for i in trainable:
                variable = transfer.targets[i][1]
                assignments.append((keras_slot(optimizer, rule, variable),
                                    rule.to_keras(outputs[i], optimizer, iterations)))
        if iterations is not None:
            assignments.append((optimizer.iterations, np.int64(iterations)))
    for variable, value in assignments:
        variable.assign(value)
    return LoadReport(
        prefix,
        tuple(NamePair(label, ", ".join(t.tf1_names) if len(t.tf1_names) > 1 else t.tf1_names[0], t.rule)
              for t in transfers for label, _ in t.targets),
        tuple(n for _, names, _, _ in slot_plan for n in names),
        iterations,
        tuple(unused),
    )
