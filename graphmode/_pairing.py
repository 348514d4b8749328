"""Pairing the variables of two builds of one model: one whole-model assignment for checkpoints and parity.

Two programs that build one model name its variables alike only up to details:
TensorFlow appends ``:0``; TF1 scopes and Keras uniquify with counters that
depend on what else the process built (TF1 ``dense``, ``dense_1``; eager
``dense_1``, ``dense_2``); a Keras subclassed model puts its own name in front
(``net/dense/kernel``); TF1 layers say ``weights``/``biases`` where Keras says
``kernel``/``bias``. So names are compared by their *form*, and variables are
paired a layer at a time and a model at a time, never name by name:

1. ``name_map`` entries are taken as given (rule ``explicit``).
2. Each side's variables are grouped into *units*: the variables under one
   scope (a layer: ``dense_1/kernel`` and ``dense_1/bias``), or one top-level
   variable. A unit's form is its scope without counters. A leading scope
   every unit of one side shares (a model's name) is dropped when that lets
   more units find their form on the other side.
3. Units of one form pair as a block. Each side knows two orders: the order of
   appearance (graph creation order, a model's weights order; a checkpoint has
   none, so its counters stand in) and the order of the name counters. When
   they agree and every unit then faces one with the same variables of the
   same shapes, that is the pairing (``exact`` where the names are equal,
   ``normalised`` for a lone unit, ``order`` otherwise). Equal names alone
   prove nothing: after a counter shift eager ``dense_1`` *is* TF1 ``dense``.
4. When the orders disagree, or pairing in order puts one shape against
   another, the shapes decide if exactly one assignment fits them all
   (``shape``). Otherwise the block is ambiguous: nothing in it is paired and
   the :class:`Ambiguity` names both sides' candidates, for ``name_map`` to
   settle. (When nothing fits and both orders agree, the block pairs in order
   so that the caller's shape check names the mismatch.)
5. Forms left over pair when one is a suffix of the other, unique both ways
   (``suffix``): first unit forms (``net/dense`` and ``dense``), then single
   variables (``kernel`` and ``layer/kernel``).

What this cannot see: two layers of equal shapes whose creation order differs
from their call order look the same as correctly ordered ones; pass ``name_map``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import NamedTuple

from graphmode.errors import ConfigError

Shape = tuple[int | None, ...] | None
_KERAS_LEAF = {"weights": "kernel", "biases": "bias"}
_COUNTER = re.compile(r"_(\d+)$")


class Pair(NamedTuple):
    """One reference variable paired with one candidate variable, and the rule that paired them."""

    reference: str
    candidate: str
    rule: str


class Ambiguity(NamedTuple):
    """Variables that could pair in more than one way; nothing among them was paired."""

    reference: tuple[str, ...]
    candidate: tuple[str, ...]
    reason: str

    def describe(self, reference_label: str = "reference", candidate_label: str = "candidate") -> str:
        """Returns the one-line message, the two sides called by the given labels."""
        return (f"ambiguous: {reference_label} {list(self.reference)} and {candidate_label} {list(self.candidate)}: "
                f"{self.reason}; give name_map")

    def __str__(self) -> str:
        return self.describe()


class Pairing(NamedTuple):
    """What :func:`pair_variables` found.

    Attributes:
        pairs: each reference name with its candidate name and rule, in reference order.
        reference_unpaired: reference names with no partner (ambiguous ones included).
        candidate_unpaired: candidate names with no partner (ambiguous ones included).
        ambiguities: blocks that could pair in more than one way.
    """

    pairs: tuple[Pair, ...]
    reference_unpaired: tuple[str, ...]
    candidate_unpaired: tuple[str, ...]
    ambiguities: tuple[Ambiguity, ...]

    def as_dict(self) -> dict[str, str]:
        """Returns ``{reference name: candidate name}``."""
        return {pair.reference: pair.candidate for pair in self.pairs}


def base_name(name: str) -> str:
    """Drops the output index TensorFlow appends to variable names (``w:0`` -> ``w``)."""
    return re.sub(r":\d+$", "", name)


def _strip_counter(part: str) -> str:
    return _COUNTER.sub("", part)


def normal_form(name: str) -> tuple[str, ...]:
    """Returns the path with ``_N`` counters dropped and ``weights``/``biases`` read as ``kernel``/``bias``."""
    parts = [_strip_counter(part) for part in base_name(name).split("/")]
    parts[-1] = _KERAS_LEAF.get(parts[-1], parts[-1])
    return tuple(parts)


def creation_key(name: str) -> tuple[tuple[int, ...], str]:
    """Sort key putting names in the order their counters say they were made (``dense``, ``dense_1``, ``dense_10``)."""
    parts = base_name(name).split("/")
    return tuple(int(m.group(1)) if (m := _COUNTER.search(part)) else -1 for part in parts), name


def nearest(name: str, candidates: Sequence[str]) -> str:
    """Returns ``"; nearest: 'a', 'b'"`` for a message, or ``""`` when nothing is close."""
    close = difflib.get_close_matches(base_name(name), list(candidates), n=3, cutoff=0.5)
    return "; nearest: " + ", ".join(map(repr, close)) if close else ""


class _Entry(NamedTuple):
    name: str  # without ":0"
    shape: Shape


class _Unit(NamedTuple):
    form: tuple[str, ...]
    members: dict[str, int]  # leaf form ("" for a top-level variable) -> entry index
    position: int
    counters: tuple[tuple[int, ...], str]


def _units(entries: Sequence[_Entry], free: Iterable[int]) -> list[_Unit]:
    units: list[_Unit] = []
    by_scope: dict[str, _Unit] = {}
    for index in free:
        parts = entries[index].name.split("/")
        if len(parts) == 1:
            units.append(_Unit((_strip_counter(parts[0]),), {"": index}, index, creation_key(parts[0])))
            continue
        scope, leaf = "/".join(parts[:-1]), _KERAS_LEAF.get(_strip_counter(parts[-1]), _strip_counter(parts[-1]))
        unit = by_scope.get(scope)
        if unit is None or leaf in unit.members:  # a second "kernel" in one scope is another unit
            unit = _Unit(tuple(map(_strip_counter, parts[:-1])), {}, index, creation_key(scope))
            units.append(unit)
            by_scope[scope] = unit
        unit.members[leaf] = index
    return units


def _common_prefix(units: Sequence[_Unit]) -> int:
    if not units:
        return 0
    limit = min(len(unit.form) for unit in units) - 1
    first = units[0].form
    length = 0
    while length < limit and all(unit.form[length] == first[length] for unit in units):
        length += 1
    return length


def _best_strip(left: Sequence[_Unit], right: Sequence[_Unit]) -> tuple[int, int]:
    # A model's name in front of every variable of one side only (Keras subclassed
    # models) hides the shared structure; drop it when that pairs more units.
    best, best_score = (0, 0), -1
    for drop_left in range(_common_prefix(left) + 1):
        for drop_right in range(_common_prefix(right) + 1):
            left_forms = {u.form[drop_left:] for u in left}
            right_forms = {u.form[drop_right:] for u in right}
            score = sum(u.form[drop_left:] in right_forms for u in left) + sum(
                u.form[drop_right:] in left_forms for u in right)
            if score > best_score:
                best, best_score = (drop_left, drop_right), score
    return best


def _is_suffix(short: tuple[str, ...], long: tuple[str, ...]) -> bool:
    return len(short) <= len(long) and long[len(long) - len(short):] == short


def _shapes_fit(a: Shape, b: Shape) -> bool:
    if a is None or b is None:
        return True
    return len(a) == len(b) and all(x is None or y is None or x == y for x, y in zip(a, b))


def _fitting_assignment(left: list, right: list, fits: Callable) -> tuple[list[tuple], bool] | None:
    """One assignment covering the smaller side with every pair fitting, and whether it is the only one."""
    swap = len(left) > len(right)
    small, large = (right, left) if swap else (left, right)
    edges = [[j for j, b in enumerate(large) if (fits(b, a) if swap else fits(a, b))] for a in small]

    def augment(a: int, owner: dict[int, int], seen: set[int], banned: int | None) -> bool:
        for b in edges[a]:
            if b == banned or b in seen:
                continue
            seen.add(b)
            if b not in owner or augment(owner[b], owner, seen, None):
                owner[b] = a
                return True
        return False

    owner: dict[int, int] = {}
    for a in range(len(small)):
        if not augment(a, owner, set(), None):
            return None
    unique = True
    for b, a in list(owner.items()):
        # Another full assignment exists iff ``a`` can be re-seated without edge (a, b).
        trial = {key: value for key, value in owner.items() if key != b}
        if augment(a, trial, set(), b):
            unique = False
            break
    pairs = [(large[b], small[a]) if swap else (small[a], large[b]) for b, a in sorted(owner.items(), key=lambda x: x[1])]
    return pairs, unique


def _names(units: Iterable[_Unit], entries: Sequence[_Entry]) -> tuple[str, ...]:
    return tuple(entries[i].name for unit in units for i in unit.members.values())


def _match_block(left: list[_Unit], right: list[_Unit], le: Sequence[_Entry], re_: Sequence[_Entry]):
    """Returns ``(unit pairs, rule)`` or ``(None, reason)`` for one block of units of one form."""

    def fits(a: _Unit, b: _Unit) -> bool:
        return set(a.members) == set(b.members) and all(
            _shapes_fit(le[a.members[leaf]].shape, re_[b.members[leaf]].shape) for leaf in a.members)

    def scope(unit: _Unit, entries: Sequence[_Entry]) -> str:
        name = entries[next(iter(unit.members.values()))].name
        return name if "" in unit.members else name.rsplit("/", 1)[0]

    def shown(pairs) -> str:
        return ", ".join(f"{scope(a, le)}~{scope(b, re_)}" for a, b in pairs)

    by_order = sorted(left, key=lambda u: u.position), sorted(right, key=lambda u: u.position)
    by_counter = sorted(left, key=lambda u: u.counters), sorted(right, key=lambda u: u.counters)
    if len(left) == len(right):
        ordered, counted = list(zip(*by_order)), list(zip(*by_counter))
        agree = {(id(a), id(b)) for a, b in ordered} == {(id(a), id(b)) for a, b in counted}
        if agree and (len(left) == 1 or all(fits(a, b) for a, b in ordered)):
            return ordered, "order"
        found = _fitting_assignment(left, right, fits)
        if found is not None and found[1]:
            return found[0], "shape"
        if agree and found is None:
            return ordered, "order"  # nothing fits: pair in the agreed order so the shape check names the mismatch
        if agree:
            return None, (f"paired in order ({shown(ordered)}) their shapes differ, and the shapes fit more than one "
                          "other assignment")
        return None, (f"the order of appearance pairs {shown(ordered)} but the name counters pair {shown(counted)}, "
                      + ("and the shapes fit more than one assignment" if found else "and the shapes fit neither"))
    found = _fitting_assignment(left, right, fits)
    if found is not None and found[1]:
        return found[0], "shape"
    return None, (f"{len(left)} against {len(right)} of one form, and the shapes "
                  + ("fit more than one assignment" if found else "fit no assignment"))


def _group_forms(left_forms: set, right_forms: set) -> tuple[list[tuple[set, set]], set, set]:
    """Joins forms found on one side only by suffix; returns (joined one-to-one, left ambiguous, right ambiguous)."""
    links = {f: [g for g in right_forms if _is_suffix(f, g) or _is_suffix(g, f)] for f in left_forms}
    back: dict = {}
    for f, gs in links.items():
        for g in gs:
            back.setdefault(g, []).append(f)
    joined, unclear_left, unclear_right = [], set(), set()
    for f, gs in links.items():
        if len(gs) == 1 and len(back[gs[0]]) == 1:
            joined.append(({f}, {gs[0]}))
        elif gs:
            unclear_left.add(f)
            unclear_right.update(gs)
    return joined, unclear_left, unclear_right


def assign(
    left: Sequence[tuple[str, Shape]], right: Sequence[tuple[str, Shape]], fixed: Mapping[int, int] | None = None
) -> tuple[dict[int, tuple[int, str]], list[Ambiguity]]:
    """The whole-model assignment on positions: ``left[i]`` pairs with ``right[j]`` by a rule.

    Args:
        left, right: ``(name, shape or None)`` in order of appearance; names may
            repeat on a side (eager variables made without a name).
        fixed: ``{left position: right position}`` decided already (``name_map``).

    Returns:
        ``({left position: (right position, rule)}, ambiguities)``.
    """
    le = [_Entry(base_name(n), None if s is None else tuple(s)) for n, s in left]
    re_ = [_Entry(base_name(n), None if s is None else tuple(s)) for n, s in right]
    result = {i: (j, "explicit") for i, j in (fixed or {}).items()}
    taken = {j for j, _ in result.values()}
    left_units = _units(le, [i for i in range(len(le)) if i not in result])
    right_units = _units(re_, [j for j in range(len(re_)) if j not in taken])
    drop_left, drop_right = _best_strip(left_units, right_units)
    blocks: dict[tuple, tuple[list, list]] = {}
    for unit in left_units:
        blocks.setdefault(unit.form[drop_left:], ([], []))[0].append(unit)
    for unit in right_units:
        blocks.setdefault(unit.form[drop_right:], ([], []))[1].append(unit)
    one_sided_left = {f for f, (a, b) in blocks.items() if a and not b}
    one_sided_right = {f for f, (a, b) in blocks.items() if b and not a}
    joined, unclear_left, unclear_right = _group_forms(one_sided_left, one_sided_right)
    work = [(blocks[f][0], blocks[f][1], False) for f, (a, b) in blocks.items() if a and b]
    work += [(blocks[next(iter(f))][0], blocks[next(iter(g))][1], True) for f, g in joined]
    ambiguities: list[Ambiguity] = []
    if unclear_left:
        ambiguities.append(Ambiguity(
            _names((u for f in sorted(unclear_left) for u in blocks[f][0]), le),
            _names((u for g in sorted(unclear_right) for u in blocks[g][1]), re_),
            "more than one scope ends like another"))
    for lefts, rights, by_suffix in work:
        pairs, rule = _match_block(lefts, rights, le, re_)
        if pairs is None:
            ambiguities.append(Ambiguity(_names(lefts, le), _names(rights, re_), rule))
            continue
        for a, b in pairs:
            for leaf, i in a.members.items():
                if leaf not in b.members:
                    continue
                j = b.members[leaf]
                if le[i].name == re_[j].name:
                    named = "exact"
                elif by_suffix or a.form != b.form:
                    named = "suffix"
                else:
                    named = "normalised" if len(lefts) == 1 and len(rights) == 1 else rule
                result[i] = (j, "shape" if rule == "shape" else named)
    _pair_leftover_suffixes(le, re_, result, ambiguities,
                            {i for a in ambiguities for i, e in enumerate(le) if e.name in a.reference},
                            {j for a in ambiguities for j, e in enumerate(re_) if e.name in a.candidate})
    return result, ambiguities


def _pair_leftover_suffixes(le, re_, result, ambiguities, skip_left, skip_right) -> None:
    taken = {j for j, _ in result.values()}
    free_left = [i for i in range(len(le)) if i not in result and i not in skip_left]
    free_right = [j for j in range(len(re_)) if j not in taken and j not in skip_right]
    forms_left = {i: normal_form(le[i].name) for i in free_left}
    forms_right = {j: normal_form(re_[j].name) for j in free_right}
    matches = {i: [j for j in free_right if _is_suffix(forms_left[i], forms_right[j])
                   or _is_suffix(forms_right[j], forms_left[i])] for i in free_left}
    claimed: dict[int, list[int]] = {}
    for i, js in matches.items():
        for j in js:
            claimed.setdefault(j, []).append(i)
    for i, js in matches.items():
        if len(js) == 1 and len(claimed[js[0]]) == 1:
            result[i] = (js[0], "suffix")
        elif js:
            rivals = sorted({le[k].name for j in js for k in claimed[j]} - {le[i].name})
            also = f" (as could {rivals})" if rivals else ""
            ambiguities.append(Ambiguity((le[i].name,), tuple(re_[j].name for j in js),
                                         f"{le[i].name!r} ends like each of them{also}"))


def _named(side: Mapping[str, Shape] | Iterable[str]) -> list[tuple[str, Shape]]:
    if isinstance(side, Mapping):
        return [(str(name), None if shape is None else tuple(shape)) for name, shape in side.items()]
    return [(str(name), None) for name in side]


def pair_variables(
    reference: Mapping[str, Shape] | Iterable[str],
    candidate: Mapping[str, Shape] | Iterable[str],
    name_map: Mapping[str, str] | None = None,
) -> Pairing:
    """Pairs two builds' variables by the whole-model rule of this module.

    Args:
        reference: reference names (``:0`` optional) in order of appearance, or
            ``{name: shape}`` (shape a tuple, or None when unknown); e.g. the
            graph's variables in creation order.
        candidate: the same for the other build, e.g. the eager model's variables.
        name_map: reference name -> candidate name, taken as given.

    Returns:
        A :class:`Pairing`: pairs, the names left unpaired on each side, and
        the ambiguities (whose names are among the unpaired).

    Raises:
        ConfigError: ``name_map`` names a variable that does not exist.

    Example:
        >>> pair_variables({"dense/kernel": (2, 4), "dense_1/kernel": (4, 1)},
        ...                {"net/dense_1/kernel": (4, 1), "net/dense/kernel": (2, 4)}).as_dict()
        {'dense/kernel': 'net/dense/kernel', 'dense_1/kernel': 'net/dense_1/kernel'}
    """
    left, right = _named(reference), _named(candidate)
    left_names, right_names = [n for n, _ in left], [n for n, _ in right]
    fixed: dict[int, int] = {}
    for ref, cand in (name_map or {}).items():
        if ref not in left_names:
            raise ConfigError(f"name_map key {ref!r} is not a reference variable; reference variables: {left_names}")
        if cand not in right_names:
            raise ConfigError(
                f"name_map value {cand!r} (for {ref!r}) is not a candidate variable; candidate variables: {right_names}"
            )
        if right_names.index(cand) in fixed.values():
            raise ConfigError(f"name_map sends two reference variables to {cand!r}")
        fixed[left_names.index(ref)] = right_names.index(cand)
    found, ambiguities = assign(left, right, fixed)
    paired_right = {j for j, _ in found.values()}
    return Pairing(
        tuple(Pair(left_names[i], right_names[j], rule) for i, (j, rule) in sorted(found.items())),
        tuple(n for i, n in enumerate(left_names) if i not in found),
        tuple(n for j, n in enumerate(right_names) if j not in paired_right),
        tuple(ambiguities),
    )


def match_variable_names(
    reference: Iterable[str], candidate: Iterable[str], name_map: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Pairs reference variable names with candidate ones: ``{reference name: candidate name}``.

    Names only, by the rule of :func:`pair_variables` (which also takes shapes
    and reports ambiguities); unpaired and ambiguous names are left out.

    Raises:
        ConfigError: ``name_map`` names a variable that does not exist.
    """
    return pair_variables(list(reference), list(candidate), name_map).as_dict()
