"""The state a TF1 train op writes, sorted into model variables, optimizer slots and counters.

The train op's inputs and control inputs are walked to the ops that assign or
apply updates; every global variable such an op writes is part of the training
state. Those are sorted into optimizer slots (``w/Adam``: a model variable's
name, a slash, a suffix), optimizer counters (``beta1_power``, ``beta2_power``,
``global_step``) and model state nobody listed (batch-norm moving averages).
Lockstep parity and trace recording both read a graph's state this way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from graphmode._pairing import base_name
from graphmode._runtime import tf

__all__ = ["APPLY_OP", "APPLY_OPTIMIZER", "COUNTERS", "GraphState", "counter_leaf", "graph_state", "upstream_ops",
           "written_variables"]

COUNTERS = ("beta1_power", "beta2_power", "global_step")

# Op types that write their resource / ref inputs (assign, optimizer apply, scatter).
WRITE_OP_PREFIXES = ("Assign", "Apply", "ResourceApply", "SparseApply", "ResourceSparseApply", "Scatter",
                     "ResourceScatter", "StridedSliceAssign", "ResourceStridedSliceAssign")

# An optimizer's apply op (ApplyAdam, ResourceSparseApplyMomentum ...); `kind` is what APPLY_OPTIMIZER reads.
APPLY_OP = re.compile(r"^(Resource)?(Sparse)?Apply(?P<kind>\w+)$")

# Which TF1 optimizer an apply op belongs to, to name a mismatch with the eager optimizer.
APPLY_OPTIMIZER = {
    "Adam": "AdamOptimizer", "Momentum": "MomentumOptimizer", "KerasMomentum": "MomentumOptimizer",
    "Adagrad": "AdagradOptimizer", "AdagradV2": "AdagradOptimizer", "RMSProp": "RMSPropOptimizer",
    "CenteredRMSProp": "RMSPropOptimizer", "GradientDescent": "GradientDescentOptimizer",
}


class GraphState(NamedTuple):
    """The graph side's state, by kind.

    Attributes:
        model: parity name -> variable: the listed variables, then unlisted model state.
        unlisted: the names in ``model`` the description does not list (graph names).
        slots: graph name -> (owner's graph name, suffix, variable).
        counters: graph name -> variable (``beta1_power``, ``beta2_power``, ``global_step``).
        optimizers: the TF1 optimizers whose apply ops the train op runs.
    """

    model: dict[str, Any]
    unlisted: tuple[str, ...]
    slots: dict[str, tuple[str, str, Any]]
    counters: dict[str, Any]
    optimizers: tuple[str, ...]


def _variable_ops(graph: tf.Graph) -> dict[Any, Any]:
    ops = {}
    with graph.as_default():
        for variable in graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES):
            handle = getattr(variable, "handle", None)
            ops[handle.op if handle is not None and hasattr(handle, "op") else variable.op] = variable
    return ops


def upstream_ops(start: Iterable[Any]) -> list[Any]:
    """Every op the given ops depend on through inputs and control inputs, themselves included, in walk order."""
    seen, order, stack = set(), [], list(start)
    while stack:
        op = stack.pop()
        if op in seen:
            continue
        seen.add(op)
        order.append(op)
        stack.extend(tensor.op for tensor in op.inputs)
        stack.extend(op.control_inputs)
    return order


def written_variables(graph: tf.Graph, train_op: Any) -> tuple[list[Any], set[str]]:
    """The global variables ``train_op`` writes (in walk order) and the TF1 optimizers whose apply ops it runs."""
    variables = _variable_ops(graph)
    start = train_op if isinstance(train_op, tf.Operation) else getattr(train_op, "op", train_op)
    written, apply_kinds = {}, set()
    for op in upstream_ops([start]):
        if not op.type.startswith(WRITE_OP_PREFIXES):
            continue
        apply = APPLY_OP.match(op.type)
        if apply is not None and apply["kind"] in APPLY_OPTIMIZER:
            apply_kinds.add(APPLY_OPTIMIZER[apply["kind"]])
        for tensor in op.inputs:
            if tensor.dtype != tf.resource and not tensor.dtype._is_ref_dtype:
                continue
            source = tensor.op
            while source.type == "Identity" and source not in variables:
                source = source.inputs[0].op
            if source in variables:
                written[id(variables[source])] = variables[source]
    return list(written.values()), apply_kinds


def counter_leaf(name: str) -> str:
    return re.sub(r"_\d+$", "", name.rsplit("/", 1)[-1])


def graph_state(graph: tf.Graph, train_op: Any, listed: Mapping[str, Any]) -> GraphState:
    """Sorts the listed variables and everything ``train_op`` writes into model state, slots and counters."""
    written, optimizers = written_variables(graph, train_op)
    listed_ids = {id(v) for v in listed.values()}
    rest = {base_name(v.name): v for v in written if id(v) not in listed_ids}
    counters = {name: v for name, v in rest.items() if counter_leaf(name) in COUNTERS}
    rest = {name: v for name, v in rest.items() if name not in counters}
    # A slot is named after its variable ("w/Adam"); anything else written is model state.
    owners = {base_name(v.name) for v in listed.values()} | set(rest)
    model, slots, unlisted = dict(listed), {}, []
    for name, variable in sorted(rest.items()):
        owner = max((o for o in owners if name.startswith(o + "/")), key=len, default=None)
        if owner is None:
            unlisted.append(name)
            model[name] = variable
        else:
            slots[name] = (owner, name[len(owner) + 1:], variable)
    return GraphState(model, tuple(unlisted), slots, counters, tuple(sorted(optimizers)))
