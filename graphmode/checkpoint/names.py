"""Pairing eager variable names with TF1 checkpoint names.

The pairing is tried in tiers, each only over names the earlier tiers left free,
and a tier pairs a name only when the pairing is unambiguous:

1. ``explicit``: the caller's dict (eager name -> TF1 name) or function.
2. ``exact``: equal names once the ``:0`` output suffix is dropped.
3. ``normalised``: equal after dropping the ``_N`` counters scopes and Keras
   append (``dense_3`` -> ``dense``) and reading TF1 ``weights``/``biases`` as
   Keras ``kernel``/``bias``. When several names on *both* sides share one form
   in equal numbers, they are paired in order (eager: as given; TF1: by their
   counters, ``Variable``, ``Variable_1``, ...): rule ``order``.
4. ``suffix``: one normalised path ends with the whole of the other
   (``dense/kernel`` and ``model/dense/kernel``), unique both ways.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

from graphmode._pairing import base_name

NameMap = Mapping[str, str] | Callable[[str], "str | None"]
_KERAS_LEAF = {"weights": "kernel", "biases": "bias"}


class NamePair(NamedTuple):
    """One eager variable paired with one TF1 name, and the rule that paired them."""

    eager: str
    tf1: str
    rule: str


def normal_form(name: str) -> tuple[str, ...]:
    """Returns the path with ``_N`` counters dropped and ``weights``/``biases`` read as ``kernel``/``bias``."""
    parts = [re.sub(r"_\d+$", "", part) for part in base_name(name).split("/")]
    parts[-1] = _KERAS_LEAF.get(parts[-1], parts[-1])
    return tuple(parts)


def _counters(name: str) -> tuple[int, ...]:
    return tuple(int(match.group(1)) if (match := re.search(r"_(\d+)$", part)) else -1 for part in name.split("/"))


def _is_suffix(short: tuple[str, ...], long: tuple[str, ...]) -> bool:
    return len(short) <= len(long) and long[len(long) - len(short):] == short


def nearest(name: str, candidates: Sequence[str]) -> str:
    """Returns ``"; nearest: 'a', 'b'"`` for a message, or ``""`` when nothing is close."""
    close = difflib.get_close_matches(base_name(name), list(candidates), n=3, cutoff=0.5)
    return "; nearest: " + ", ".join(map(repr, close)) if close else ""


def pair_names(
    eager: Sequence[str], tf1: Sequence[str], name_map: NameMap | None = None
) -> tuple[dict[int, NamePair], list[str]]:
    """Pairs eager names (by position; duplicates allowed) with TF1 names.

    Args:
        eager: eager variable names, ``:0`` suffix optional.
        tf1: the TF1 names they may pair with (each used at most once).
        name_map: dict from eager name (with or without ``:0``) to TF1 name, or
            a function of the eager name (without ``:0``) returning the TF1 name
            or None to fall through to inference.

    Returns:
        ``(pairs, problems)``: ``pairs[i]`` for each eager position paired, and a
        message for every explicit entry that cannot be honoured and every
        ambiguity found.
    """
    tf1_set = set(tf1)
    pairs: dict[int, NamePair] = {}
    problems: list[str] = []
    taken: set[str] = set()

    def take(index: int, target: str, rule: str) -> None:
        pairs[index] = NamePair(base_name(eager[index]), target, rule)
        taken.add(target)

    explicit = explicit_targets(eager, name_map, problems)
    for index, target in explicit.items():
        if target not in tf1_set:
            problems.append(f"name_map sends {base_name(eager[index])!r} to {target!r}, which is not a checkpoint "
                            f"variable{nearest(target, tf1)}")
        elif target in taken:
            problems.append(f"name_map sends two variables to {target!r}")
        else:
            take(index, target, "explicit")
    for index, name in enumerate(eager):
        if index not in pairs and index not in explicit and base_name(name) in tf1_set - taken:
            take(index, base_name(name), "exact")
    _pair_normalised(eager, tf1, pairs, taken, take, explicit)
    _pair_suffixes(eager, tf1, pairs, taken, take, explicit, problems)
    return pairs, problems


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
            found[indices[0]] = base_name(target)
    return found


def _pair_normalised(eager, tf1, pairs, taken, take, skip) -> None:
    eager_groups: dict[tuple[str, ...], list[int]] = {}
    for index, name in enumerate(eager):
        if index not in pairs and index not in skip:
            eager_groups.setdefault(normal_form(name), []).append(index)
    tf1_groups: dict[tuple[str, ...], list[str]] = {}
    for name in tf1:
        if name not in taken:
            tf1_groups.setdefault(normal_form(name), []).append(name)
    for form, indices in eager_groups.items():
        targets = sorted(tf1_groups.get(form, []), key=_counters)
        if len(targets) == len(indices):
            for index, target in zip(indices, targets):
                take(index, target, "normalised" if len(indices) == 1 else "order")


def _pair_suffixes(eager, tf1, pairs, taken, take, skip, problems) -> None:
    free_eager = [i for i in range(len(eager)) if i not in pairs and i not in skip]
    free_tf1 = [name for name in tf1 if name not in taken]
    matches = {
        i: [t for t in free_tf1 if _is_suffix(normal_form(eager[i]), normal_form(t))
            or _is_suffix(normal_form(t), normal_form(eager[i]))]
        for i in free_eager
    }
    claimed: dict[str, list[int]] = {}
    for index, targets in matches.items():
        for target in targets:
            claimed.setdefault(target, []).append(index)
    for index, targets in matches.items():
        unique = [t for t in targets if len(claimed[t]) == 1]
        if len(targets) == 1 and unique:
            take(index, targets[0], "suffix")
        elif len(targets) > 1 or (targets and not unique):
            rivals = sorted({base_name(eager[j]) for t in targets for j in claimed[t]} - {base_name(eager[index])})
            also = f" (also claimed by {rivals})" if rivals else ""
            problems.append(f"ambiguous: {base_name(eager[index])!r} could be any of {targets}{also}; give name_map")
