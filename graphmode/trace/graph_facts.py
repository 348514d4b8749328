"""What a recording reads from the script's graph: train ops, the loss, the optimizer, variables, seeds.

Nothing here adds an op to the graph or runs one: it reads ``Operation`` and
``NodeDef`` attributes only, so a finalized graph stays as it is.

The loss rule: TF1's ``Optimizer.minimize(loss)`` differentiates ``loss``
with ``tf.gradients``, which starts from ``<scope>/grad_ys_0``, a ``Fill`` of
ones shaped like the loss. When the loss's shape is known that ``Fill`` takes
a constant, and the only link back to the loss is the name of the gradient
op that consumes it: ``<scope>/<loss op>_grad/...``. Where the ``Fill`` takes
``Shape(loss)``, that input names it directly. With no ``grad_ys`` reachable
(gradients fed in by hand), the one scalar float tensor fetched together with
the train op is taken, and failing that there is no loss.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, NamedTuple

from graphmode._pairing import base_name
from graphmode._runtime import tf
from graphmode.train.graph_state import (
    APPLY_OP,
    APPLY_OPTIMIZER,
    WRITE_OP_PREFIXES,
    graph_state,
    upstream_ops,
    written_variables,
)

_GRAD_YS = re.compile(r"^(?P<scope>.+)/grad_ys_\d+$")
# An apply op's input -> the TF1 hyper-parameter name graphmode.train uses (TF1_DEFAULTS).
_HYPER_INPUTS = {"lr": "learning_rate", "alpha": "learning_rate", "beta1": "beta1", "beta2": "beta2",
                 "epsilon": "epsilon", "momentum": "momentum", "rho": "decay"}
_SPEC_NAMES = {"AdamOptimizer": "adam", "MomentumOptimizer": "momentum", "AdagradOptimizer": "adagrad",
               "RMSPropOptimizer": "rmsprop", "GradientDescentOptimizer": "gradient_descent"}
_VARIABLE_OPS = ("VariableV2", "Variable", "VarHandleOp", "ReadVariableOp")


class FetchItem(NamedTuple):
    """One fetched graph element: a tensor or an operation."""

    name: str
    kind: str  # "tensor" or "operation"
    element: Any


def fetch_items(graph: tf.Graph, fetches: Any) -> list[FetchItem]:
    """The graph elements ``fetches`` names, in ``tf.nest`` order (the order a run's result flattens in)."""
    items = []
    for fetch in tf.nest.flatten(fetches):
        element = graph.as_graph_element(fetch, allow_tensor=True, allow_operation=True)
        kind = "operation" if isinstance(element, tf.Operation) else "tensor"
        items.append(FetchItem(element.name, kind, element))
    return items


def _updates(write_op: Any) -> bool:
    # An optimizer's apply op or assign_add/sub changes a variable from its value; an Assign does when
    # its new value is computed from a variable (w.assign(w - lr * g)). An initializer's or a restore's
    # Assign takes a value computed from no variable, so running `init` is not a train step.
    if APPLY_OP.match(write_op.type) or "Add" in write_op.type or "Sub" in write_op.type:
        return True
    values = [t.op for t in write_op.inputs if t.dtype != tf.resource and not t.dtype._is_ref_dtype]
    return any(op.type in _VARIABLE_OPS for op in upstream_ops(values))


def trains(graph: tf.Graph, op: Any) -> bool:
    """True when running ``op`` updates a trainable variable from the variables' values (a train step).

    An optimizer's apply op, an ``assign_add``/``assign_sub``, or an ``assign``
    of a value computed from variables, on a trainable variable. Initializers
    and restores assign values computed from no variable, and do not count.
    """
    written, _ = written_variables(graph, op)
    if not any(getattr(variable, "trainable", False) for variable in written):
        return False
    return any(candidate.type.startswith(WRITE_OP_PREFIXES) and _updates(candidate)
               for candidate in upstream_ops([op]))


def find_loss(train_op: Any, fetched: Iterable[FetchItem]) -> tuple[Any, str] | None:
    """The loss ``train_op`` minimizes and the rule that found it (see the module doc), or None."""
    for op in sorted(upstream_ops([train_op]), key=lambda o: o.name):
        match = _GRAD_YS.match(op.name)
        if op.type != "Fill" or match is None:
            continue
        dims = op.inputs[0].op
        if dims.type == "Shape":
            return dims.inputs[0], "the tensor whose shape feeds the gradients' grad_ys (Optimizer.minimize's loss)"
        scope = match.group("scope") + "/"
        graph = op.graph
        for consumer in sorted(op.outputs[0].consumers(), key=lambda o: o.name):
            rest = consumer.name[len(scope):] if consumer.name.startswith(scope) else ""
            forward = rest[: rest.find("_grad/")] if "_grad/" in rest else ""
            try:
                loss_op = graph.get_operation_by_name(forward) if forward else None
            except KeyError:
                loss_op = None
            if loss_op is not None and loss_op.outputs:
                return loss_op.outputs[0], ("the tensor whose gradient op consumes the gradients' grad_ys "
                                            "(Optimizer.minimize's loss)")
    scalars = [item.element for item in fetched if item.kind == "tensor" and item.element.dtype.is_floating
               and item.element.shape.rank == 0]
    if len(scalars) == 1:
        return scalars[0], "the one scalar float tensor fetched with the train op"
    return None


def _pure(tensor: Any) -> bool:
    return all(not op.op_def.is_stateful or op.type in _VARIABLE_OPS for op in upstream_ops([tensor.op]))


def _varies(tensor: Any) -> bool:
    return any(op.type in _VARIABLE_OPS or op.type.startswith("Placeholder") for op in upstream_ops([tensor.op]))


def _fed(tensor: Any) -> bool:
    return any(op.type.startswith("Placeholder") for op in upstream_ops([tensor.op]))


class OptimizerFacts(NamedTuple):
    """The TF1 optimizer a train op applies, read from its apply ops.

    ``tensors`` are the hyper-parameter tensors that can be evaluated without
    side effects (no random or queue op upstream); ``varying`` the ones that
    depend on a variable or placeholder (a decayed or fed learning rate);
    ``per_step`` those of them computed from variables alone (a decay of the
    global step), which a read of the state after one step gives for the next.
    """

    kind: str
    name: str | None
    spec: str | None
    attributes: dict[str, Any]
    tensors: dict[str, Any]
    varying: tuple[str, ...]
    per_step: tuple[str, ...]


def read_optimizer(train_op: Any) -> OptimizerFacts | None:
    """The optimizer kind, name and hyper-parameter tensors of ``train_op``'s apply ops (None without any)."""
    applies = sorted((op for op in upstream_ops([train_op]) if APPLY_OP.match(op.type)), key=lambda o: o.name)
    kinds = sorted({APPLY_OPTIMIZER.get(APPLY_OP.match(op.type).group("kind"), op.type) for op in applies})
    if not applies:
        return None
    first = applies[0]
    kind = " + ".join(kinds)
    name = first.name.split("/update_")[0].rsplit("/", 1)[-1] if "/update_" in first.name else None
    tensors, attributes = {}, {}
    for arg, tensor in zip(first.op_def.input_arg, first.inputs, strict=False):
        hyper = _HYPER_INPUTS.get(arg.name)
        if hyper is not None and _pure(tensor):
            tensors[hyper] = tensor
    if kind == "MomentumOptimizer":
        attributes["use_nesterov"] = bool(first.get_attr("use_nesterov"))
    if kind == "RMSPropOptimizer":
        attributes["centered"] = "Centered" in first.type
    varying = tuple(sorted(hyper for hyper, tensor in tensors.items() if _varies(tensor)))
    per_step = tuple(hyper for hyper in varying if not _fed(tensors[hyper]))
    return OptimizerFacts(kind, name, _SPEC_NAMES.get(kind), attributes, tensors, varying, per_step)


def variable_table(graph: tf.Graph, train_op: Any) -> list[dict[str, Any]]:
    """Every global variable with its role for the train op: model variable, optimizer slot or counter."""
    with graph.as_default():
        variables = graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)
    trainable = {base_name(v.name): v for v in variables if getattr(v, "trainable", False)}
    state = graph_state(graph, train_op, trainable)
    table = []
    for variable in variables:
        name = base_name(variable.name)
        row = {"name": name, "dtype": variable.dtype.base_dtype.name,
               "shape": variable.shape.as_list() if variable.shape.rank is not None else None,
               "trainable": bool(getattr(variable, "trainable", False)),
               "role": "variable", "slot_of": None, "slot_name": None}
        if name in state.slots:
            owner, suffix, _ = state.slots[name]
            row.update(role="slot", slot_of=owner, slot_name=suffix)
        elif name in state.counters:
            row["role"] = "counter"
        table.append(row)
    return table


def op_seeds(graph: tf.Graph) -> dict[str, list[int]]:
    """Random ops with a seed of their own: op name -> [seed, seed2] (both zero means no seed)."""
    seeds = {}
    for op in graph.get_operations():
        attrs = op.node_def.attr
        if "seed" in attrs and "seed2" in attrs and (attrs["seed"].i or attrs["seed2"].i):
            seeds[op.name] = [int(attrs["seed"].i), int(attrs["seed2"].i)]
    return seeds
