"""Where the Model goes in the program: late enough for what it reads, early enough for who reads it.

The ``Model`` class and its instance replace the script's variable statements, which may be
spread over the script with statements kept at module level between them. By default the Model
comes after the last of them, so that every name its initializers read (``h_dim``, a helper
``xavier_init``) is bound. A kept statement between them that reads one of its variables as it
runs (``theta_Q = [Q_W1, Q_b1]`` before the next layer's variables) would then find no such
name; the Model goes just before the first such statement instead, when everything its
initializers read is bound by then. When it is not, that statement cannot be written, and
:func:`place_model` says which name stops it.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Callable, Mapping, Sequence

from graphmode.migrate.statements import Role, Unit, bound_names, module_reads

_KEPT = (Role.KEEP, Role.DRIVER)


@dataclasses.dataclass(frozen=True)
class ModelPlace:
    """After which statement the Model goes, and what still reads its variables before it.

    Attributes:
        after: the index of the statement the Model follows (-1: the script makes no variables).
        made_at: each module-level name the program binds to a Model variable (``w = model.w``)
            -> the index and the line of the script's statement that made it.
        blocker: when a kept statement reads a variable before ``after``: the name the Model's
            initializers read that is bound only later, and the line binding it; else None.
    """

    after: int
    made_at: Mapping[str, tuple[int, int]]
    blocker: tuple[str, int] | None = None

    def early_read(self, index: int, unit: Unit) -> str | None:
        """Why a kept statement at ``index`` cannot be written (it reads a variable before the Model), or None."""
        if index > self.after or self.blocker is None:
            return None
        read = _early_reads(index, unit, self.made_at)
        if not read:
            return None
        name, line = self.blocker
        return (f"reads {read[0]!r}, a variable (line {self.made_at[read[0]][1]}) that TF2 makes in the Model, "
                f"which can come only after line {line} (its initializers read {name!r}, bound there): "
                "no such name exists here yet")


def place_model(units: Sequence[Unit], model_code: str, last_variable: int,
                moves_into_model: Callable[[Unit], bool]) -> ModelPlace:
    """Where the Model written as ``model_code`` goes among ``units``.

    Args:
        units: the script's top-level statements, in order.
        model_code: the Model's class, its instance and the aliases of its variables (``w = model.w``).
        last_variable: the index of the last statement that makes variables (-1: none).
        moves_into_model: whether a statement's variables move into the Model (it is then not written in place).
    """
    tree = ast.parse(model_code)
    aliases = {node.id for statement in tree.body if not isinstance(statement, ast.ClassDef)
               for node in ast.walk(statement) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
    made_at: dict[str, tuple[int, int]] = {}
    for index, unit in enumerate(units[: last_variable + 1]):
        if moves_into_model(unit):
            for name in set(bound_names(unit.node)) & aliases:
                made_at.setdefault(name, (index, unit.node.lineno))
    first_read = next((index for index, unit in enumerate(units[:last_variable])
                       if _early_reads(index, unit, made_at)), None)
    if first_read is None:
        return ModelPlace(last_variable, made_at)
    initializers = set().union(*(module_reads(statement) for node in ast.walk(tree)
                                 if isinstance(node, ast.FunctionDef) and node.name == "__init__"
                                 for statement in node.body))
    bound_later = next(((name, unit.node.lineno) for unit in units[first_read:last_variable]
                        if not moves_into_model(unit)
                        for name in sorted(set(bound_names(unit.node)) & initializers)), None)
    if bound_later is None:
        return ModelPlace(first_read - 1, made_at)
    return ModelPlace(last_variable, made_at, bound_later)


def _early_reads(index: int, unit: Unit, made_at: Mapping[str, tuple[int, int]]) -> list[str]:
    """The Model variables a kept statement reads as it runs, each made by an earlier statement of the script."""
    if unit.role not in _KEPT:
        return []
    return sorted(name for name in module_reads(unit.node) if made_at.get(name, (index,))[0] < index)
