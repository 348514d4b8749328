"""What the TF1 script is, read once before any TF2 code is written.

Its statements (:mod:`graphmode.migrate.statements`) each get a role from the
capture, its ``Session.run`` calls are found and resolved, the Model's parts are
planned, and the names the program may not take (the script's own) are listed.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Mapping

from graphmode.migrate.blocks import refine_block
from graphmode.migrate.calls import find_run_calls
from graphmode.migrate.feeds import rebound_names
from graphmode.migrate.loops import LoopParts
from graphmode.migrate.model_parts import ModelParts, helper_names
from graphmode.migrate.program_text import gap, segment
from graphmode.migrate.statements import Role, Unit, classify, dotted, used_names, walk_units
from graphmode.migrate.summaries import writer_names


class ScriptPlan:
    """The script's units with their roles, its run calls, its placeholders and the names it takes.

    Attributes:
        lines: the script's source lines.
        capture: what :mod:`graphmode.migrate.capture` wrote down running it (with ``source``).
        tree: the script's syntax tree.
        units: its statements (:class:`~graphmode.migrate.statements.Unit`), each classified.
        run_calls: its ``Session.run`` calls.
        parts: the Model's Keras layers and modules.
        gaps: ``id(unit)`` -> the blank and comment lines before it.
        notes: what a reader of the report should know; the writers add theirs.
        placeholders: Python name -> TF1 placeholder tensor name, in definition order.
        feed_keys: placeholder names that become string feed-dict keys.
        savers: names that held a ``tf.train.Saver``.
        taken: names the program may not give to something new (see :meth:`fresh`).
        model_name: the global that holds the Model; ``model_class`` its class.
    """

    def __init__(self, source: str, capture: Mapping) -> None:
        capture = dict(capture, source=source)
        self.lines = source.splitlines(keepends=True)
        self.capture = capture
        self.tree = ast.parse(source)
        self.units = list(walk_units(self.tree.body))
        op_lines: dict[int, list[dict]] = {}
        for op in capture["ops"].values():
            if op["line"] is not None:
                op_lines.setdefault(op["line"], []).append(op)
        self.run_calls = find_run_calls(self.tree, capture)
        run_lines = {line for call in self.run_calls for line in range(call.node.lineno, call.node.end_lineno + 1)}
        capture["variable_helpers"] = helper_names(self.tree)
        capture["summary_writers"] = writer_names(self.tree)
        for unit in self.units:
            classify(unit, capture, op_lines, run_lines)
            if unit.role is Role.UNMIGRATABLE and not any(op["line"] in unit.lines
                                                          for op in capture["unmigratable_ops"]):
                refine_block(unit, source, self.lines, capture, op_lines)
        for index, unit in enumerate(self.units):
            if isinstance(unit.block, LoopParts):
                _place_loop(self.units, index)
        self.parts = ModelParts(self.tree, source, capture,
                                {name for unit in self.units if unit.role is Role.VARIABLE for name in unit.targets})
        self.parts.plan(self.units, lambda unit: segment(self.lines, unit.node), Role.FORWARD, Role.UNMIGRATABLE)
        self.gaps, previous_end = {}, 0
        for unit in self.units:
            self.gaps[id(unit)] = gap(self.lines, previous_end, unit.node.lineno)
            previous_end = unit.node.end_lineno
        self.notes: list[str] = [
            f"line {unit.node.lineno}: the if's statements at line(s) {', '.join(map(str, unit.block.unrecorded))} "
            "built nothing while recorded (their branch did not run): migrated from their source, and the "
            "lockstep check proves only the branch that ran" for unit in self.units if unit.block and unit.block.unrecorded]
        self.placeholders = self._placeholder_names()
        # Feed-dict keys spelled with a placeholder's name become strings, unless the name means something else too.
        self.feed_keys = set(self.placeholders) - rebound_names(self.tree)
        self.savers = {name for unit in self.units if unit.role is Role.SAVER for name in unit.targets}
        self.taken = {name for unit in self.units for name in unit.targets} | used_names(self.tree)
        self.taken |= {node.name for node in ast.walk(self.tree) if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
        # The script's own names win: its function `model` keeps its name, the Module takes another.
        self.model_name = self.fresh("model")
        self.model_class = self.fresh("Model")

    def forward_text(self, unit: Unit) -> str:
        """The TF2 text of a forward unit: its statement, with calls of the Model's parts rewritten."""
        if unit.block is not None:
            return unit.block.forward_code(self.model_name)
        return self.parts.forward_text(unit, segment(self.lines, unit.node), self.model_name)

    def _placeholder_names(self) -> dict[str, str]:
        """Python name -> TF1 placeholder tensor name, in definition order."""
        names = {}
        for unit in self.units:
            if unit.role is Role.PLACEHOLDER:
                # The placeholder the statement built, not the name's last binding (names get bound again).
                built = [op for op, info in self.capture["ops"].items()
                         if info["type"] == "Placeholder" and info["line"] in unit.lines]
                for name in unit.targets:
                    names[name] = f"{built[0]}:0" if len(built) == 1 == len(unit.targets) else self.capture["bindings"][name]
            elif unit.block is not None:
                names.update({name: self.capture["bindings"][name] for name in unit.block.placeholders})
        return names

    def fresh(self, wanted: str) -> str:
        """``wanted``, or ``wanted_2``, ``wanted_3`` … when the script or the program took it; now taken."""
        name, count = wanted, 1
        while name in self.taken:
            count += 1
            name = f"{wanted}_{count}"
        self.taken.add(name)
        return name

    def unit_at(self, line: int) -> Unit | None:
        """The unit whose statement spans ``line`` (None outside every unit)."""
        return next((unit for unit in self.units if line in unit.lines), None)

    def variable_paths(self) -> dict[str, str]:
        """TF1 variable name -> the global expression that holds it in the program."""
        paths: dict[str, str] = {}
        for path, graph in self.capture["bindings"].items():
            paths.setdefault(graph, path)
        for name, path in self.parts.variable_paths(self.model_name).items():
            paths.setdefault(name, path)
        for unit in self.units:
            made = [v["name"] for v in self.capture["variables"] if v["line"] in unit.lines]
            value = getattr(unit.node, "value", None)
            if (unit.role is Role.VARIABLE and len(unit.targets) == 1 and len(made) == 1 and isinstance(value, ast.Call)
                    and dotted(value.func).rsplit(".", 1)[-1] in ("Variable", "get_variable")):
                # `Y_pred = tf.Variable(...)` whose name the script binds again later: no binding names it.
                paths.setdefault(made[0], f"{self.model_name}.{unit.targets[0]}")
            if isinstance(unit.block, LoopParts):
                for name, path in unit.block.variable_paths(self.model_name).items():
                    paths.setdefault(name, path)
        return {v["name"]: paths[v["name"]] for v in self.capture["variables"] if v["name"] in paths}


def _assigns(unit: Unit) -> set[str]:
    if unit.block is not None:
        return set(unit.block.forward_targets) | set(unit.block.variable_targets) | set(getattr(unit.block, "lists", ()))
    return set(unit.targets)


def _place_loop(units: list[Unit], index: int) -> None:
    """Ties a split ``for`` loop to the statements before it, or refuses it (``units[index]``).

    A name the loop's forward part starts from (``layer = tf.matmul(layer, w)``) is computed before the loop:
    by a forward statement (the functions take it with the loop), by a plain alias of a placeholder or a
    tensor, ``layer = x`` (which becomes a forward statement), or it holds a Model variable (the loop in the
    functions starts from ``model.<name>``).
    """
    unit, loop = units[index], units[index].block
    others = {name for other in units if other is not unit for name in _assigns(other)
              if other.role is Role.VARIABLE or other.block is not None}
    if set(loop.lists) & others:
        unit.role, unit.block = Role.UNMIGRATABLE, None
        unit.reason = (f"a for loop that makes variables, and its variable names {sorted(set(loop.lists) & others)} "
                       "also name other variables of the script; the Model keeps each pass's variables in a list "
                       "named after them, so rename them in the script")
        return
    carried = []
    for name in sorted(set(loop.forward_targets) & loop.forward_reads):
        before = next((other for other in reversed(units[:index]) if name in _assigns(other)), None)
        if before is None:
            continue
        node = before.node
        if before.role is Role.VARIABLE:
            carried.append(name)
        elif (before.role is Role.KEEP and isinstance(node, ast.Assign) and len(node.targets) == 1
              and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Name)):
            source = next((other for other in reversed(units[:units.index(before)])
                           if node.value.id in _assigns(other)), None)
            if source is not None and source.role in (Role.PLACEHOLDER, Role.FORWARD):
                before.role, before.targets = Role.FORWARD, (name,)
    if carried:
        unit.block = dataclasses.replace(loop, carried=tuple(carried),
                                         forward_reads=loop.forward_reads - set(carried))
