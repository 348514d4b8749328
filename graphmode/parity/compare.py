"""Comparing two training trajectories, structure first, then values.

:func:`compare_trajectories` pairs the variables of a reference and a candidate
:class:`~graphmode.parity.divergence.Trajectory` (:func:`match_variable_names`),
reports what cannot be compared (a variable on one side only, different shapes,
different step counts) and compares the rest quantity by quantity under the
tolerance rule of :mod:`graphmode.parity.tolerance`, widened by a noise floor when
one is given (:mod:`graphmode.parity.noise_floor`). The result is a
:class:`~graphmode.parity.report.ParityReport`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from graphmode._pairing import match_variable_names
from graphmode.errors import ConfigError
from graphmode.parity.divergence import LOSS, Divergence, QuantityDiff, Trajectory
from graphmode.parity.noise_floor import DEFAULT_NOISE_FACTOR, matched_floor, noise_floor
from graphmode.parity.report import ParityReport
from graphmode.parity.tolerance import tolerance_scale, within_tolerance


def compare_trajectories(
    reference: Trajectory,
    candidate: Trajectory,
    *,
    atol: float,
    rtol: float,
    name_map: Mapping[str, str] | None = None,
    noise_floor: Trajectory | None = None,
    noise_factor: float = DEFAULT_NOISE_FACTOR,
) -> ParityReport:
    """Compares ``candidate`` with ``reference`` step by step.

    Args:
        reference: the trajectory taken as truth (usually the TF1 graph run).
        candidate: the trajectory under test (usually the eager rewrite).
        atol: absolute tolerance.
        rtol: relative tolerance, scaled by ``|reference|``.
        name_map: reference variable name -> candidate variable name, for names
            :func:`match_variable_names` cannot pair by itself.
        noise_floor: the reference rerun from initial values one ulp away (same
            batches), or None. Given, each step's tolerance of each quantity grows
            by ``noise_factor`` times how far the two reference runs have drifted
            apart by then (:mod:`graphmode.parity.noise_floor` has the rule and why).
        noise_factor: the multiplier of the floor.

    Returns:
        A :class:`ParityReport`. Variables present on one side only, shape
        mismatches and differing step counts are reported as structure issues
        (step 0, or the first missing step); the variables and steps both sides
        share are still compared by value.

    Raises:
        ConfigError: a tolerance or the noise factor is negative or not a number,
            ``name_map`` names a variable that does not exist, or the noise-floor
            run lacks a reference variable or step.
    """
    for label, value in (("atol", atol), ("rtol", rtol), ("noise_factor", noise_factor)):
        if not isinstance(value, int | float) or not value >= 0:
            raise ConfigError(f"{label} must be a number >= 0; got {value!r}")
    pairs = match_variable_names(reference.variables, candidate.variables, name_map)
    context = (atol, rtol, reference.mode, candidate.mode)
    issues = _structure_issues(reference, candidate, pairs, context)
    loss_floor, floors = (None, None) if noise_floor is None else _noise_floors(reference, noise_floor)
    factor = None if noise_floor is None else float(noise_factor)
    shared = {
        ref: cand for ref, cand in pairs.items() if reference.variables[ref].shape[1:] == candidate.variables[cand].shape[1:]
    }
    steps = min(reference.steps, candidate.steps)

    def floor_of(values: np.ndarray | None, rows: int) -> tuple[np.ndarray | None, float | None]:
        return (None, None) if values is None else (values[:rows], factor)

    loss = _compare_quantity(
        LOSS, LOSS, reference.losses[:steps], candidate.losses[:steps], 1, context, *floor_of(loss_floor, steps),
        quantity="loss",
    )
    variables = tuple(
        _compare_quantity(
            ref, cand, reference.variables[ref][: steps + 1], candidate.variables[cand][: steps + 1], 0, context,
            *floor_of(None if floors is None else floors[ref], steps + 1),
        )
        for ref, cand in shared.items()
    )
    return ParityReport(reference, candidate, float(atol), float(rtol), steps, loss, variables, issues, factor)


def _noise_floors(reference: Trajectory, shadow: Trajectory) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    missing = sorted(set(reference.variables) - set(shadow.variables))
    if missing:
        raise ConfigError(f"the noise-floor run ({shadow.mode}) lacks reference variables {missing}; "
                          f"it must be the reference model rerun on the same batches")
    # The loss's floor is kept apart: a variable may be named "loss" too.
    variables = {name: noise_floor(values, shadow.variables[name], name) for name, values in reference.variables.items()}
    return noise_floor(reference.losses, shadow.losses, LOSS), variables


def _structure_issues(
    reference: Trajectory, candidate: Trajectory, pairs: dict[str, str], context: tuple
) -> tuple[Divergence, ...]:
    atol, rtol, ref_mode, cand_mode = context
    matched = set(pairs.values())
    candidate_only = sorted(set(candidate.variables) - matched)
    reference_only = sorted(set(reference.variables) - set(pairs))
    issues = []

    def issue(kind: str, step: int, name: str, ref_shape, cand_shape, detail: str, quantity="variable") -> Divergence:
        return Divergence(kind, step, name, ref_shape, cand_shape, None, None, None, None, None,
                          atol, rtol, ref_mode, cand_mode, detail, quantity=quantity)

    for name in reference_only:
        shape = tuple(reference.variables[name].shape[1:])
        detail = (f"exists in the reference ({ref_mode}) with shape {shape} but not in the candidate "
                  f"({cand_mode}); candidate-only variables: {candidate_only or 'none'}; if it is there "
                  f"under another name, pass name_map={{{name!r}: <{cand_mode} name>}}")
        issues.append(issue("missing", 0, name, shape, None, detail))
    for name in candidate_only:
        shape = tuple(candidate.variables[name].shape[1:])
        detail = (f"exists in the candidate ({cand_mode}) with shape {shape} but not in the reference "
                  f"({ref_mode}); reference-only variables: {reference_only or 'none'}; map it with "
                  f"name_map={{<{ref_mode} name>: {name!r}}} or remove it")
        issues.append(issue("missing", 0, name, None, shape, detail))
    for ref, cand in pairs.items():
        ref_shape, cand_shape = tuple(reference.variables[ref].shape[1:]), tuple(candidate.variables[cand].shape[1:])
        if ref_shape != cand_shape:
            label = ref if ref == cand else f"{ref} -> {cand}"
            detail = (f"shape {ref_shape} in the reference ({ref_mode}) but {cand_shape} in the candidate "
                      f"({cand_mode}); values cannot be compared until the shapes agree")
            issues.append(issue("shape", 0, label, ref_shape, cand_shape, detail))
    if reference.steps != candidate.steps:
        first_missing = min(reference.steps, candidate.steps) + 1
        detail = (f"the reference ({ref_mode}) ran {reference.steps} steps and the candidate ({cand_mode}) "
                  f"{candidate.steps}; only the first {first_missing - 1} are compared")
        issues.append(issue("steps", first_missing, LOSS, None, None, detail, "loss"))
    return tuple(issues)


def _compare_quantity(
    name: str,
    candidate_name: str,
    reference: np.ndarray,
    candidate: np.ndarray,
    first_step: int,
    context: tuple,
    floor: np.ndarray | None = None,
    noise_factor: float | None = None,
    quantity: str = "variable",
) -> QuantityDiff:
    """Compares ``[steps, *shape]`` arrays whose row ``i`` is step ``first_step + i``.

    ``floor`` (same shape, element-wise) is matched to the elements by rank of
    their excess and, times ``noise_factor``, widens their tolerance
    (:func:`~graphmode.parity.noise_floor.matched_floor`).
    """
    atol, rtol, ref_mode, cand_mode = context
    reference = np.asarray(reference, dtype=np.float64)
    candidate = np.asarray(candidate, dtype=np.float64)
    scale = tolerance_scale(reference)
    if floor is not None:
        with np.errstate(invalid="ignore", over="ignore"):
            floor = matched_floor(np.abs(candidate - reference) - (atol + rtol * scale), floor)
    slack = 0.0 if floor is None else noise_factor * floor
    # Equal values (equal infinities too) and NaN against NaN differ by nothing.
    same = (reference == candidate) | (np.isnan(reference) & np.isnan(candidate))
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        abs_diff = np.where(same, 0.0, np.abs(candidate - reference))
        abs_diff = np.where(np.isnan(abs_diff), np.inf, abs_diff)
        rel_diff = np.where(abs_diff == 0, 0.0, abs_diff / np.abs(reference))
        rel_diff = np.where(np.isnan(rel_diff), np.inf, rel_diff)
        bound = atol + rtol * scale + slack
        excess = abs_diff - bound
        ratio = np.where(abs_diff == 0, 0.0, abs_diff / bound)
        ratio = np.where(np.isnan(ratio), np.inf, ratio)
    bad = ~within_tolerance(candidate, reference, atol, rtol, slack, scale)
    shape = tuple(reference.shape[1:])
    max_abs = float(abs_diff.max()) if abs_diff.size else 0.0
    max_rel = float(rel_diff.max()) if rel_diff.size else 0.0
    divergence = None
    bad_rows = np.flatnonzero(bad.reshape(bad.shape[0], -1).any(axis=1)) if bad.size else []
    if len(bad_rows):
        row = int(bad_rows[0])
        row_excess = np.where(bad[row], np.nan_to_num(excess[row], nan=np.inf), -np.inf)
        index = np.unravel_index(int(np.argmax(row_excess)), shape) if shape else ()
        divergence = Divergence(
            "value", first_step + row, name, shape, shape,
            float(abs_diff[row].max()), float(rel_diff[row].max()), tuple(int(i) for i in index),
            float(reference[row][index]), float(candidate[row][index]),
            atol, rtol, ref_mode, cand_mode, "",
            None if floor is None else float(floor[row][index]), noise_factor,
            quantity, "", float(ratio[row].max()),
        )
    return QuantityDiff(name, candidate_name, shape, max_abs, max_rel, divergence, floor)
