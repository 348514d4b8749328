"""Pairing the variables of two builds of one model by name.

TF1 scopes and Keras both uniquify names with counters (``dense``, ``dense_1``);
two separately built programs need not number their layers alike, so names are
compared by their form without counters and paired in order of appearance.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from graphmode._errors import ConfigError


def base_name(name: str) -> str:
    """Drops the output index TensorFlow appends to variable names (``w:0`` -> ``w``)."""
    return re.sub(r":\d+$", "", name)


def _canonical_name(name: str) -> str:
    # Keras and variable scopes uniquify by suffix ("dense_3/kernel:0"); the
    # structure without the counters is what two builds of one model share.
    return "/".join(re.sub(r"_\d+$", "", part) for part in base_name(name).split("/"))


def match_variable_names(
    reference: Iterable[str], candidate: Iterable[str], name_map: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Pairs reference variable names with candidate ones.

    Explicit ``name_map`` entries win. The rest are grouped by their form without
    ``:0`` and the ``_N`` counters that scopes and Keras append (``dense_3/kernel``
    has the form ``dense/kernel``). Within a group, names equal on both sides pair
    up when the two sides hold the same names; otherwise the group pairs in order
    of appearance, since the counters of two separately built programs need not
    line up (TF1's ``dense_1`` may be Keras' ``dense_2``). Unpaired names are left
    out; the report calls them missing.

    Raises:
        ConfigError: ``name_map`` names a variable that does not exist.
    """
    reference, candidate = list(reference), list(candidate)
    pairs: dict[str, str] = {}
    for ref, cand in (name_map or {}).items():
        if ref not in reference:
            raise ConfigError(f"name_map key {ref!r} is not a reference variable; reference variables: {reference}")
        if cand not in candidate:
            raise ConfigError(
                f"name_map value {cand!r} (for {ref!r}) is not a candidate variable; candidate variables: {candidate}"
            )
        pairs[ref] = cand
    reference_groups: dict[str, list[str]] = {}
    candidate_groups: dict[str, list[str]] = {}
    for names, groups, taken in ((reference, reference_groups, pairs), (candidate, candidate_groups, pairs.values())):
        for name in names:
            if name not in taken:
                groups.setdefault(_canonical_name(name), []).append(name)
    for form, refs in reference_groups.items():
        cands = candidate_groups.get(form, [])
        by_base = {base_name(cand): cand for cand in cands}
        if sorted(map(base_name, refs)) == sorted(by_base):
            pairs.update((ref, by_base[base_name(ref)]) for ref in refs)
        else:
            pairs.update(zip(refs, cands))
    return {ref: pairs[ref] for ref in reference if ref in pairs}
