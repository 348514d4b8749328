"""The script's statements, sorted by what they did to the TF1 graph.

A *unit* is a module-level statement, or a statement inside a ``with`` block
that only sets a scope or a session (``tf.variable_scope``, ``tf.name_scope``,
``tf.Session()``, ``graph.as_default()``): those blocks disappear in TF2 and
their statements move out of them. Each unit gets one :class:`Role`, decided
by the capture: the ops its lines built (creation tracebacks), the graph
objects its targets held, and the ``Session.run`` calls made from its lines.
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from graphmode.migrate.layers import inside_layer, layer_calls

_SESSION_CALLS = {"Session", "InteractiveSession", "MonitoredTrainingSession"}
_SCOPE_CALLS = {"variable_scope", "name_scope", "device", "as_default", "container", "control_dependencies"}
_DROPPED_CALLS = {"reset_default_graph", "disable_v2_behavior", "disable_eager_execution", "close",
                  "global_variables_initializer", "initialize_all_variables", "local_variables_initializer",
                  "finalize"}
_OPTIMIZER_SUFFIX = "Optimizer"
_GRADIENTS = re.compile(r"^gradients(_\d+)?/")
# A sparse feed is three arrays (indices, values, dense shape); the recording holds dense arrays only, so a
# tf.SparseTensor argument could not be checked against it.
_SPARSE_FEED = ("tf.sparse_placeholder: a sparse feed (tf.SparseTensorValue) cannot be recorded (the trace holds "
                "dense arrays only), so a tf.SparseTensor argument could not be proven in lockstep; feed a dense "
                "placeholder (densify with tf.sparse.to_dense before the feed) or migrate this input by hand")


class Role(enum.Enum):
    """What one unit did in the TF1 script, and so what becomes of it."""

    KEEP = "kept (renamed TF1 symbols only)"
    DRIVER = "kept; its Session.run calls become calls of the generated functions"
    PLACEHOLDER = "a placeholder: becomes a parameter of the functions fed it"
    VARIABLE = "creates variables: moves into the Model"
    FORWARD = "builds tensors: moves into the functions that compute them"
    TRAIN = "an optimizer's minimize: becomes the Keras optimizer and a training step"
    OPTIMIZER = "a TF1 optimizer object: becomes its Keras counterpart"
    SAVER = "a tf.train.Saver: becomes a tf.train.Checkpoint of the model"
    SUMMARY = "a TF1 summary op: the functions return its values, the add_summary calls write them"
    DROP = "TF1 plumbing with no TF2 counterpart (sessions, initializers, graph resets)"
    UNMIGRATABLE = "not migrated"


@dataclasses.dataclass
class Unit:
    """One statement and what migration does with it.

    Attributes:
        node: the statement.
        depth: how many enclosing scope/session ``with`` blocks it leaves.
        scopes: the enclosing ``variable_scope`` / ``name_scope`` names, outermost first.
        role: what it becomes.
        targets: the Python names it assigns.
        reason: for UNMIGRATABLE, why.
        block: for an ``if`` split by kind, its parts (:class:`graphmode.migrate.blocks.BlockParts`).
    """

    node: ast.stmt
    depth: int
    scopes: tuple[str, ...]
    role: Role = Role.KEEP
    targets: tuple[str, ...] = ()
    reason: str = ""
    block: Any = None

    @property
    def lines(self) -> range:
        """The source lines of the statement (1-based, end included)."""
        return range(self.node.lineno, self.node.end_lineno + 1)


def dotted(node: ast.AST) -> str:
    """``tf.train.AdamOptimizer`` for the expression ``tf.train.AdamOptimizer`` ('' if not a dotted name)."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def _call_name(node: ast.AST) -> str:
    return dotted(node.func).rsplit(".", 1)[-1] if isinstance(node, ast.Call) else ""


def _scope_name(item: ast.withitem) -> str | None:
    call = item.context_expr
    if _call_name(call) in ("variable_scope", "name_scope") and call.args:
        first = call.args[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            return first.value
    return None


def _unwraps(node: ast.stmt) -> bool:
    return isinstance(node, ast.With) and all(
        _call_name(item.context_expr) in _SESSION_CALLS | _SCOPE_CALLS for item in node.items
    )


def walk_units(body: list[ast.stmt], depth: int = 0, scopes: tuple[str, ...] = ()) -> Iterator[Unit]:
    """Yields the units of a statement list, in source order, unwrapping scope and session blocks."""
    for node in body:
        if _unwraps(node):
            names = tuple(name for name in map(_scope_name, node.items) if name)
            yield from walk_units(node.body, depth + 1, scopes + names)
        else:
            yield Unit(node, depth, scopes)


def assigned_names(node: ast.stmt) -> tuple[str, ...]:
    """The plain names a statement assigns (``a, b = ...`` -> ``('a', 'b')``)."""
    targets: list[ast.AST] = []
    if isinstance(node, ast.Assign):
        targets = list(node.targets)
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
        targets = [node.target]
    names = []
    for target in targets:
        for sub in ast.walk(target):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                names.append(sub.id)
    return tuple(names)


def used_names(node: ast.AST) -> set[str]:
    """The names a statement reads."""
    return {sub.id for sub in ast.walk(node) if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load)}


def module_reads(node: ast.AST) -> set[str]:
    """The names a statement reads as it runs at module level.

    Not what its ``def`` and ``lambda`` bodies read (that runs when called), nor the names it
    binds itself (a loop's or a comprehension's variables).
    """
    loads, stores, stack = set(), set(), [node]
    while stack:
        sub = stack.pop()
        if isinstance(sub, ast.Name):
            (loads if isinstance(sub.ctx, ast.Load) else stores).add(sub.id)
        if not isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            stack.extend(ast.iter_child_nodes(sub))
    return loads - stores


def moved_names(units: Sequence[Unit]) -> dict[str, Unit]:
    """Names only statements that leave module level bind: forward tensors and placeholders -> their statement.

    In TF2 a forward statement runs inside the functions that compute it and a placeholder is a
    parameter, so a kept statement that reads such a name (``print(hello)``) would find none.
    """
    written = (Role.KEEP, Role.DRIVER, Role.VARIABLE, Role.OPTIMIZER, Role.SAVER, Role.TRAIN)
    bound = {name for unit in units if unit.role in written for name in bound_names(unit.node)}
    # An if's variable part and a loop's Model lists are bound at module level (`w = model.w`).
    bound |= {name for unit in units if unit.block is not None
              for name in (*unit.block.variable_targets, *getattr(unit.block, "lists", ()))}
    moved: dict[str, Unit] = {}
    for unit in units:
        if unit.block is not None:
            names = (*unit.block.forward_targets, *unit.block.placeholders)
        else:
            names = unit.targets if unit.role in (Role.FORWARD, Role.PLACEHOLDER) else ()
        moved.update({name: unit for name in names if name not in bound})
    return moved


def bound_names(node: ast.AST) -> Iterator[str]:
    """The names a statement binds (assignments, definitions, imports), its nested blocks included."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
            yield sub.id
        elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield sub.name
        elif isinstance(sub, (ast.Import, ast.ImportFrom)):
            yield from ((alias.asname or alias.name).split(".")[0] for alias in sub.names)


def _bound(name: str, bindings: Mapping[str, str]) -> list[str]:
    """Graph names held by the Python name ``name``, directly or inside a dict/list it holds."""
    return [graph for path, graph in bindings.items() if path == name or path.startswith(name + "[")]


def classify(unit: Unit, capture: Mapping, op_lines: Mapping[int, list[dict]], run_lines: set[int]) -> None:
    """Sets ``unit.role`` (and ``targets`` / ``reason``) from the capture."""
    node = unit.node
    unit.targets = assigned_names(node)
    value = getattr(node, "value", None)
    call = _call_name(value) if value is not None else ""
    built = [op for line in unit.lines for op in op_lines.get(line, ())]
    if call in _SESSION_CALLS:
        unit.role = Role.DROP
        return
    if isinstance(node, ast.Expr) and call in _DROPPED_CALLS:
        # A summary writer's close() flushes its events in TF2 too; a session's goes.
        writer = dotted(value.func.value) in capture.get("summary_writers", ()) if call == "close" else False
        unit.role = Role.KEEP if writer else Role.DROP
        return
    if (isinstance(node, ast.Expr) and isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)
            and value.func.attr == "run" and _call_name(value.func.value) in _DROPPED_CALLS):
        unit.role = Role.DROP  # tf.global_variables_initializer().run()
        return
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        unit.role = Role.KEEP
        return
    if any(_call_name(sub) == "sparse_placeholder" for sub in ast.walk(node)):
        unit.role, unit.reason = Role.UNMIGRATABLE, _SPARSE_FEED
        return
    if any(line in run_lines for line in unit.lines):
        unit.role = Role.DRIVER
        return
    if call == "Saver":
        unit.role = Role.SAVER
        return
    if call.endswith(_OPTIMIZER_SUFFIX) and not built:
        unit.role = Role.OPTIMIZER
        return
    # TF1 layer calls and calls of the script's functions that make variables: checked when the Model is planned.
    helpers = set(capture.get("variable_helpers", ()))
    layered = bool(layer_calls(node)) or any(isinstance(sub, ast.Call) and dotted(sub.func) in helpers
                                             for sub in ast.walk(node))
    # A gradient of control flow (minimize through a dropout's tf.cond) is written by the tape: the forward
    # statement that built the control flow is what is checked.
    bad = [item for item in capture["unmigratable_ops"]
           if item["line"] in unit.lines and not (layered and inside_layer(item["op"], node))
           and not _GRADIENTS.match(item["op"])]
    if bad:
        unit.role, unit.reason = Role.UNMIGRATABLE, bad[0]["reason"]
        return
    if not built:
        unit.role = Role.KEEP
        return
    if all(op.get("summary") for op in built):
        unit.role = Role.SUMMARY
        return
    bindings = capture["bindings"]
    held = [graph for name in unit.targets for graph in _bound(name, bindings)]
    kinds = {op["type"] for op in built}
    variables = {v["name"] for v in capture["variables"]}
    stored = [graph for sub in ast.walk(node) if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store)
              for graph in _bound(sub.id, bindings)]
    if (isinstance(node, ast.If) and kinds == {"NoOp"} and stored
            and all(name.startswith("init") and ":" not in name for name in stored)):
        unit.role = Role.DROP  # `if <TF version>: init = tf.initialize_all_variables() else: ...`
        return
    if isinstance(node, (ast.If, ast.For, ast.While, ast.With, ast.Try, ast.FunctionDef)):
        unit.role = Role.UNMIGRATABLE
        unit.reason = (f"a compound statement ({type(node).__name__.lower()}) that builds graph ops; migrate moves "
                       "single statements into the Model and the step functions, so write each variable, "
                       "placeholder and tensor as its own module-level statement")
        return
    if not unit.targets:
        if call in _DROPPED_CALLS:
            unit.role = Role.DROP
        else:
            unit.role = Role.UNMIGRATABLE
            unit.reason = "builds graph ops but keeps no Python name for them (migrate cannot tell what uses them)"
        return
    if held and all(name in capture["train_ops"] for name in held):
        unit.role = Role.TRAIN
    elif held and all(name.removesuffix(":0") in capture["placeholders"] for name in held) and "Placeholder" in kinds:
        unit.role = Role.PLACEHOLDER
    elif held and all(name in variables for name in held):
        unit.role = Role.VARIABLE
    elif held and all(name.startswith("init") and ":" not in name for name in held):
        unit.role = Role.DROP
    elif held and all(":" in name for name in held) and not kinds & (
            {"Placeholder"} if layered else {"VariableV2", "VarHandleOp", "Placeholder"}):
        unit.role = Role.FORWARD
    elif kinds == {"Placeholder"} and len(unit.targets) == 1:
        unit.role = Role.PLACEHOLDER  # its name holds something else by the end: the script bound it again
    elif (len(unit.targets) == 1 and isinstance(node, ast.Assign) and call in ("Variable", "get_variable")
          and sum(v["line"] in unit.lines for v in capture["variables"]) == 1):
        unit.role = Role.VARIABLE  # `Y_pred = tf.Variable(...)`, then `Y_pred = Y_pred + ...`: bound again later
    else:
        unit.role = Role.UNMIGRATABLE
        unit.reason = ("one statement both creates variables or placeholders and computes with them; "
                       "split it into one statement per kind")
