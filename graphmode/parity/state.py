"""The whole training state of both sides, paired for a lockstep comparison.

Graph side: the variables the :class:`~graphmode.parity.run.GraphModel` lists,
plus every global variable its ``train_op`` writes, found by walking the train
op's inputs and control inputs to the ops that assign or apply updates. Those
are sorted into optimizer slots (``w/Adam``: a model variable's name, a slash,
a suffix), optimizer counters (``beta1_power``, ``beta2_power``,
``global_step``) and model state the description does not list (batch-norm
moving averages), which is compared too and reported as unlisted.

Eager side: the variables the :class:`~graphmode.parity.run.EagerModel` lists,
plus its Keras optimizer's slots and ``iterations``. Slots are paired with the
graph's through :mod:`graphmode._slots`, the map the checkpoint bridge
uses (Keras SGD keeps ``-lr`` times TF1's momentum accumulator, Adam's ``m``/``v``
are TF1's ``Adam``/``Adam_1``, Keras ``iterations`` is TF1's step count).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np

from graphmode._pairing import base_name, pair_variables
from graphmode._runtime import tf
from graphmode._slots import (
    TF1_DEFAULT_NAMES,
    is_keras_optimizer,
    keras_package,
    keras_slot,
    optimizer_map_for,
    tf1_slot_suffixes,
)
from graphmode.errors import CheckpointMatchError, ConfigError
from graphmode.train.graph_state import GraphState
from graphmode.train.graph_state import counter_leaf as _leaf

__all__ = ["StateEntry", "StatePlan", "find_optimizer", "plan_state"]

class StateEntry(NamedTuple):
    """One compared piece of state: a graph variable and its eager counterpart.

    ``to_eager`` / ``to_graph`` convert values between the sides' forms (the
    momentum slot differs by ``-lr``); ``eager_variable`` is None for a counter
    derived from ``iterations`` (``to_graph`` then takes the iteration count).
    """

    name: str
    kind: str  # "variable", "state", "slot", "counter"
    graph_variable: Any
    eager_name: str
    eager_variable: Any
    to_eager: Callable[[np.ndarray], np.ndarray] | None
    to_graph: Callable[[np.ndarray], np.ndarray]


class StatePlan(NamedTuple):
    """What lockstep compares and transfers, and what it cannot (structure issues as (kind, name, detail))."""

    entries: tuple[StateEntry, ...]
    issues: tuple[tuple[str, str, str], ...]
    steps_from_graph: Callable[[Mapping[str, np.ndarray]], int | None] | None = None


def find_optimizer(train_step: Callable[..., Any], explicit: Any = None) -> Any:
    """The Keras optimizer the eager ``train_step`` uses: ``explicit`` if given, else one it refers to.

    Looked for in the function's closure, the globals it names and the object
    of a bound method, one level into Keras models (``model.optimizer``).

    Raises:
        ConfigError: it refers to more than one optimizer (pass ``EagerModel(optimizer=...)``).
    """
    if explicit is not None:
        return explicit
    function = getattr(train_step, "python_function", train_step)
    objects = []
    owner = getattr(function, "__self__", None)
    if owner is not None:
        objects += list(vars(owner).values()) if hasattr(owner, "__dict__") else []
        function = getattr(function, "__func__", function)
    objects += [cell.cell_contents for cell in getattr(function, "__closure__", None) or () if _filled(cell)]
    code, names = getattr(function, "__code__", None), getattr(function, "__globals__", {})
    objects += [names[name] for name in (code.co_names if code else ()) if name in names]
    objects += [getattr(o, "optimizer", None) for o in objects if _is_keras_model(o)]
    found = list({id(o): o for o in objects if is_keras_optimizer(o)}.values())
    if len(found) > 1:
        raise ConfigError(f"the eager train_step refers to {len(found)} optimizers "
                          f"({', '.join(type(o).__name__ for o in found)}); pass EagerModel(..., optimizer=<the one "
                          f"it trains with>)")
    return found[0] if found else None


def _is_keras_model(value: object) -> bool:
    # Either Keras: tf-keras' and Keras 3's Model classes are unrelated.
    return keras_package(value) is not None and any(cls.__name__ == "Model" for cls in type(value).__mro__)


def _filled(cell) -> bool:
    try:
        cell.cell_contents  # noqa: B018 - an unfilled cell raises
    except ValueError:
        return False
    return True


def _shape(variable: Any) -> tuple[int | None, ...] | None:
    shape = getattr(variable, "shape", None)
    return None if shape is None or tf.TensorShape(shape).rank is None else tuple(tf.TensorShape(shape).as_list())


def _identity(value: np.ndarray) -> np.ndarray:
    return value


def _model_entries(state: GraphState, eager: Mapping[str, Any], name_map: Mapping[str, str] | None):
    direct = {g: e for g, e in (name_map or {}).items() if g in state.slots or g in state.counters}
    for graph_name, eager_name in direct.items():
        if eager_name not in eager:
            raise ConfigError(f"name_map value {eager_name!r} (for {graph_name!r}) is not an eager variable; "
                              f"eager variables: {sorted(eager)}")
    model_map = {g: e for g, e in (name_map or {}).items() if g not in direct}
    free = {name: v for name, v in eager.items() if name not in direct.values()}
    pairing = pair_variables({name: _shape(v) for name, v in state.model.items()},
                             {name: _shape(v) for name, v in free.items()}, model_map)
    pairs = pairing.as_dict()
    entries, issues = [], []
    ambiguous = {name for ambiguity in pairing.ambiguities for name in (*ambiguity.reference, *ambiguity.candidate)}
    for ambiguity in pairing.ambiguities:
        issues.append(("ambiguous", ambiguity.reference[0], f"{ambiguity.describe('graph', 'eager')} "
                       "(nothing among them is compared)"))
    for name, variable in state.model.items():
        kind = "state" if name in state.unlisted else "variable"
        if name in pairs:
            entries.append(StateEntry(name, kind, variable, pairs[name], eager[pairs[name]], _identity, _identity))
    for graph_name, eager_name in direct.items():
        kind = "slot" if graph_name in state.slots else "counter"
        variable = state.slots[graph_name][2] if kind == "slot" else state.counters[graph_name]
        entries.append(StateEntry(graph_name, kind, variable, eager_name, eager[eager_name], _identity, _identity))
    eager_only = sorted(set(free) - set(pairs.values()) - ambiguous)
    for name, variable in state.model.items():
        if name in pairs or name in ambiguous:
            continue
        unlisted = (" is updated by the graph's train op but not listed in GraphModel.variables, and"
                    if name in state.unlisted else "")
        issues.append(("missing", name, f"{name!r}{unlisted} exists in the reference (graph) with shape "
                       f"{tuple(variable.shape.as_list())} but not in the candidate (eager); candidate-only "
                       f"variables: {eager_only or 'none'}; if it is there under another name, pass "
                       f"name_map={{{name!r}: <eager name>}}"))
    graph_only = [n for n in state.model if n not in pairs]
    for name in eager_only:
        issues.append(("missing", name, f"{name!r} exists in the candidate (eager) with shape "
                       f"{_shape(eager[name])} but not in the reference (graph); reference-only "
                       f"variables: {graph_only or 'none'}; map it with name_map={{<graph name>: {name!r}}} or "
                       f"remove it"))
    return entries, issues, direct


def plan_state(
    state: GraphState,
    eager: Mapping[str, Any],
    optimizer: Any,
    name_map: Mapping[str, str] | None,
    *,
    model_only: bool = False,
) -> StatePlan:
    """Pairs the graph's whole state with the eager side's.

    ``optimizer`` is the eager side's Keras optimizer once built (None: none in
    use). Model variables pair as one model (:func:`graphmode._pairing.pair_variables`:
    names without counters and model prefixes, order, shapes; an ambiguous
    block is reported, not guessed), ``name_map`` first, whose keys may also
    name graph slots and counters to pair them with listed eager variables as
    they are; slots and counters through the
    optimizer's :func:`~graphmode._slots.optimizer_map_for`. ``model_only``:
    the model variables and their issues only (before the optimizer is built).
    """
    entries, issues, direct = _model_entries(state, eager, name_map)
    if model_only:
        return StatePlan(tuple(entries), tuple(issues))
    slots = {name: slot for name, slot in state.slots.items() if name not in direct}
    counters = {name: v for name, v in state.counters.items() if name not in direct}
    if optimizer is None:
        if slots or counters:
            names = sorted(slots) + sorted(counters)
            issues.append(("missing", names[0], f"the graph's optimizer keeps state {names} but the eager side "
                           "uses no Keras optimizer: none was found after its first step (in train_step's closure, "
                           "the globals it names, or the attributes of its object such as self.optimizer), or the "
                           "one found applied no gradients; pass EagerModel(..., optimizer=...), or, if train_step "
                           "creates its optimizer inside the call, keep it where the next call reuses it (an "
                           "attribute or a closure variable: one new per call starts its slots afresh every step), "
                           "or name_map the state to eager variables that hold it"))
        return StatePlan(tuple(entries), tuple(issues))
    try:
        optimizer_map = optimizer_map_for(optimizer)
    except ConfigError as error:
        issues.append(("optimizer", type(optimizer).__name__, f"lockstep cannot carry the eager optimizer's "
                       f"state: {error}"))
        return StatePlan(tuple(entries), tuple(issues))
    kind = optimizer_map.tf1_optimizer
    if state.optimizers and state.optimizers != (kind,):
        issues.append(("optimizer", type(optimizer).__name__, f"the graph trains with {' and '.join(state.optimizers)}"
                       f" but the eager optimizer {type(optimizer).__name__} corresponds to {kind}; their "
                       "updates and state differ"))
        return StatePlan(tuple(entries), tuple(issues))
    owners_by_graph = {base_name(entry.graph_variable.name): entry for entry in entries}
    tf1_name = _tf1_optimizer_name(slots, kind)
    try:
        rules = tf1_slot_suffixes(optimizer_map, optimizer, tf1_name)
        conversions = [(suffix, rule, *_conversions(rule, optimizer)) for suffix, rule in rules]
    except ConfigError as error:
        issues.append(("optimizer", type(optimizer).__name__, f"lockstep cannot carry the optimizer slots: {error}"))
        return StatePlan(tuple(entries), tuple(issues))
    paired = set()
    for owner_graph_name, entry in owners_by_graph.items():
        if not entry.graph_variable.trainable:
            continue
        for suffix, rule, to_eager, to_graph in conversions:
            name = f"{owner_graph_name}/{suffix}"
            if name not in slots:
                continue
            paired.add(name)
            if rule.keras_attribute is None:
                continue  # a TF1 slot with no Keras use (RMSProp momentum at 0): it never affects an update
            try:
                slot = keras_slot(optimizer, rule, entry.eager_variable)
            except (KeyError, AttributeError):
                issues.append(("missing", name, f"graph slot {name!r} of {entry.name!r}: the eager optimizer "
                               f"{type(optimizer).__name__} keeps no slot for {entry.eager_name!r} (its train_step "
                               "does not apply a gradient to it?)"))
                continue
            entries.append(StateEntry(name, "slot", slots[name][2], f"{entry.eager_name} {rule.keras_attribute}",
                                      slot, to_eager, to_graph))
    for name in sorted(set(slots) - paired):
        expected = [suffix for suffix, *_ in conversions]
        issues.append(("missing", name, f"graph optimizer slot {name!r} has no eager counterpart: the eager "
                       f"{type(optimizer).__name__} corresponds to {kind}, whose slots are '<variable>/"
                       f"{'|'.join(expected) or '(none)'}'"))
    for name, variable in counters.items():
        entries.append(StateEntry(name, "counter", variable, "iterations", optimizer.iterations, None,
                                  _counter_from_iterations(_leaf(name), optimizer_map, optimizer)))

    def steps_from_graph(values: Mapping[str, np.ndarray]) -> int | None:
        by_leaf = {_leaf(name): value for name, value in values.items()}
        try:
            return optimizer_map.steps_from_tf1(by_leaf, optimizer)
        except CheckpointMatchError:
            return None  # the betas differ; the counter comparison says so

    return StatePlan(tuple(entries), tuple(issues), steps_from_graph if counters else None)


def _tf1_optimizer_name(slots: Mapping[str, tuple[str, str, Any]], kind: str) -> str:
    default = TF1_DEFAULT_NAMES[kind]
    suffixes = {suffix for _, suffix, _ in slots.values()}
    if not suffixes or default in suffixes:
        return default
    return min(suffixes, key=lambda s: (len(s), s))  # "MyAdam" before "MyAdam_1"


def _conversions(rule, optimizer):
    # Into the optimizer before a step (its `iterations` set already): that step's
    # learning rate; out of it after the step: the rate of the step just taken.
    def to_graph(value):
        return rule.to_tf1(value, optimizer, int(optimizer.iterations.numpy()) - 1)

    return (lambda value: rule.to_keras(value, optimizer)), to_graph


def _counter_from_iterations(leaf: str, optimizer_map, optimizer) -> Callable[[np.ndarray], np.ndarray]:
    def to_graph(iterations: np.ndarray) -> np.ndarray:
        count = int(iterations)
        if leaf == "global_step":
            return np.asarray(count, np.int64)
        return np.asarray(optimizer_map.state_to_tf1(count, optimizer).get(leaf, np.nan))

    return to_graph
