"""Checkpoint side of name pairing: ``name_map`` as a dict or function of eager names, and the messages.

The rule itself is :mod:`graphmode._pairing` (one whole-model assignment,
shared with parity); this module adapts the checkpoint's inputs to it: eager
variables by position (unnamed ones repeat ``Variable:0``), a TF1 side with
no order but its counters, and a ``name_map`` that may be a function.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

from graphmode._pairing import Shape, assign, base_name, creation_key, nearest

NameMap = Mapping[str, str] | Callable[[str], "str | None"]


class NamePair(NamedTuple):
    """One eager variable paired with one TF1 name, and the rule that paired them."""

    eager: str
    tf1: str
    rule: str


def explicit_targets(eager: Sequence[str], name_map: NameMap | None, problems: list[str]) -> dict[int, str]:
    """Returns ``{eager position: TF1 name}`` from ``name_map``, appending a message per unusable entry."""
    if name_map is None:
        return {}
    if callable(name_map) and not isinstance(name_map, Mapping):
        found = {}
        for index, name in enumerate(eager):
            target = name_map(base_name(name))
            if target is not None:
                found[index] = base_name(str(target))
        return found
    by_name: dict[str, list[int]] = {}
    for index, name in enumerate(eager):
        by_name.setdefault(base_name(name), []).append(index)
    found = {}
    for key, target in name_map.items():
        indices = by_name.get(base_name(key))
        if not indices:
            problems.append(f"name_map key {key!r} is not one of the variables{nearest(key, list(by_name))}")
        elif len(indices) > 1:
            problems.append(f"name_map key {key!r} names {len(indices)} variables; give the variables as a dict "
                            "with unique names")
        else:
            found[indices[0]] = base_name(str(target))
    return found


def pair_names(
    eager: Sequence[str],
    tf1: Sequence[str],
    name_map: NameMap | None = None,
    *,
    eager_shapes: Sequence[Shape] | None = None,
    tf1_shapes: Mapping[str, Shape] | None = None,
) -> tuple[dict[int, NamePair], list[str]]:
    """Pairs eager names (by position; duplicates allowed) with TF1 checkpoint names.

    The TF1 side has no order of appearance (a bundle is sorted), so its name
    counters give it one.

    Args:
        eager: eager variable names, ``:0`` suffix optional, in the model's order.
        tf1: the TF1 names they may pair with (each used at most once).
        name_map: dict from eager name (with or without ``:0``) to TF1 name, or
            a function of the eager name (without ``:0``) returning the TF1 name
            or None to fall through to inference.
        eager_shapes: each eager variable's shape, by position (None: unknown).
        tf1_shapes: ``{TF1 name: shape}`` where known.

    Returns:
        ``(pairs, problems)``: ``pairs[i]`` for each eager position paired, and a
        message for every explicit entry that cannot be honoured and every
        ambiguity found.
    """
    tf1_order = sorted(tf1, key=creation_key)
    position = {name: j for j, name in enumerate(tf1_order)}
    problems: list[str] = []
    fixed: dict[int, int] = {}
    for index, target in explicit_targets(eager, name_map, problems).items():
        if target not in position:
            problems.append(f"name_map sends {base_name(eager[index])!r} to {target!r}, which is not a checkpoint "
                            f"variable{nearest(target, tf1)}")
        elif position[target] in fixed.values():
            problems.append(f"name_map sends two variables to {target!r}")
        else:
            fixed[index] = position[target]
    shapes = list(eager_shapes) if eager_shapes is not None else [None] * len(eager)
    found, ambiguities = assign(list(zip(eager, shapes)),
                                [(name, (tf1_shapes or {}).get(name)) for name in tf1_order], fixed)
    pairs = {i: NamePair(base_name(eager[i]), tf1_order[j], rule) for i, (j, rule) in found.items()}
    problems += [a.describe("variables", "checkpoint variables") for a in ambiguities]
    return dict(sorted(pairs.items())), problems
