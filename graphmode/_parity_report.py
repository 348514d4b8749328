"""Comparing two training trajectories and reporting where they part.

A :class:`Trajectory` is what one mode produced: the loss of every step and the
value of every variable before the first step and after each one. Comparing two
of them yields a :class:`ParityReport`: structure first (which variables exist
on each side, their shapes, how many steps), then values, quantity by quantity.

Tolerance rule, per element: ``|candidate - reference| <= atol + rtol * |reference|``
(NumPy's ``isclose`` rule, with the *reference* side as the scale). NaN equals
NaN; NaN against a number is a divergence.

Steps are numbered on one timeline: step 0 is the initial variable values; step
``k`` is the ``k``-th training step, whose loss (computed before its update)
comes before the variable values after its update.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from graphmode._errors import ConfigError
from graphmode._parity_names import match_variable_names

LOSS = "loss"

TOLERANCE_RULE = "|a-b| <= atol + rtol*|ref|"


class Trajectory(NamedTuple):
    """What one mode produced over a run.

    Attributes:
        mode: ``"graph"`` or ``"eager"`` (or any label for another producer).
        losses: float64 array ``[steps]``; ``losses[k - 1]`` is the loss of step ``k``.
        variables: name -> float64 array ``[steps + 1, *shape]``; index 0 holds the
            initial values, index ``k`` the values after step ``k``.
    """

    mode: str
    losses: np.ndarray
    variables: dict[str, np.ndarray]

    @property
    def steps(self) -> int:
        """The number of training steps recorded."""
        return int(self.losses.shape[0])


class Divergence(NamedTuple):
    """One place where the candidate stops matching the reference.

    ``kind`` is ``"value"`` (outside tolerance), ``"missing"`` (a variable exists
    on one side only), ``"shape"`` (shapes differ) or ``"steps"`` (different
    numbers of steps). Value fields are None for structural kinds.
    """

    kind: str
    step: int
    variable: str
    reference_shape: tuple[int, ...] | None
    candidate_shape: tuple[int, ...] | None
    max_abs_diff: float | None
    max_rel_diff: float | None
    index: tuple[int, ...] | None
    reference_value: float | None
    candidate_value: float | None
    atol: float
    rtol: float
    reference: str
    candidate: str
    detail: str = ""

    def format(self) -> str:
        """The fixed one-paragraph form used in reports and assertion messages."""
        sides = f"reference: {self.reference}, candidate: {self.candidate}"
        if self.kind != "value":
            return f"step {self.step}, variable {self.variable!r}: {self.detail} ({sides})"
        if self.reference_shape == self.candidate_shape:
            shapes = f"shape {self.reference_shape} on both sides"
        else:
            shapes = f"shape {self.reference_shape} vs {self.candidate_shape}"
        where = "" if not self.index else f" at {list(self.index)}"
        return (
            f"step {self.step}, variable {self.variable!r} ({shapes}): "
            f"max abs diff {self.max_abs_diff:.6g}, max rel diff {self.max_rel_diff:.6g}; "
            f"worst element{where}: reference {self.reference_value:.9g}, "
            f"candidate {self.candidate_value:.9g}; "
            f"tolerance {TOLERANCE_RULE} with atol={self.atol:g}, rtol={self.rtol:g} ({sides})"
        )

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields (tuples as lists, non-finite numbers as strings)."""
        return {key: _json_ready(value) for key, value in self._asdict().items()}


class QuantityDiff(NamedTuple):
    """How one quantity (the loss or a variable) compared over all steps."""

    name: str
    candidate_name: str
    shape: tuple[int, ...]
    max_abs_diff: float
    max_rel_diff: float
    first_divergence: Divergence | None

    @property
    def ok(self) -> bool:
        """True when every step of this quantity is within tolerance."""
        return self.first_divergence is None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields."""
        return {
            "name": self.name,
            "candidate_name": self.candidate_name,
            "shape": list(self.shape),
            "max_abs_diff": _json_ready(self.max_abs_diff),
            "max_rel_diff": _json_ready(self.max_rel_diff),
            "ok": self.ok,
            "first_divergence": None if self.ok else self.first_divergence.to_dict(),
        }


@dataclasses.dataclass(frozen=True)
class ParityReport:
    """The outcome of comparing a candidate trajectory with a reference one.

    Print it for a table; :meth:`to_dict` / :meth:`to_json` for machines;
    :attr:`first_divergence` for the one line that matters.
    """

    reference: Trajectory
    candidate: Trajectory
    atol: float
    rtol: float
    steps: int
    loss: QuantityDiff
    variables: tuple[QuantityDiff, ...]
    structure_issues: tuple[Divergence, ...]

    @property
    def ok(self) -> bool:
        """True when structure matches and every value is within tolerance."""
        return self.first_divergence is None

    @property
    def divergences(self) -> tuple[Divergence, ...]:
        """Structure issues, then each quantity's first divergence in timeline order."""
        values = [q.first_divergence for q in (self.loss, *self.variables) if not q.ok]
        values.sort(key=_timeline_position)
        return self.structure_issues + tuple(values)

    @property
    def first_divergence(self) -> Divergence | None:
        """The earliest divergence (structure before values), or None."""
        divergences = self.divergences
        return divergences[0] if divergences else None

    def to_dict(self) -> dict[str, object]:
        """Everything in the report as JSON-ready builtins, per-step losses included."""
        first = self.first_divergence
        return {
            "ok": self.ok,
            "steps": self.steps,
            "reference": self.reference.mode,
            "candidate": self.candidate.mode,
            "atol": self.atol,
            "rtol": self.rtol,
            "tolerance_rule": TOLERANCE_RULE,
            "first_divergence": None if first is None else first.to_dict(),
            "structure_issues": [issue.to_dict() for issue in self.structure_issues],
            "loss": self.loss.to_dict(),
            "variables": {q.name: q.to_dict() for q in self.variables},
            "reference_losses": [_json_ready(float(x)) for x in self.reference.losses],
            "candidate_losses": [_json_ready(float(x)) for x in self.candidate.losses],
        }

    def to_json(self, indent: int | None = None) -> str:
        """:meth:`to_dict` as strict JSON (NaN/Inf written as strings)."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def format_steps(self) -> str:
        """Per-step losses of both sides as a table, divergent steps marked ``*``."""
        ref, cand = self.reference.mode, self.candidate.mode
        lines = [f"{'step':>5}  {ref + ' loss':>16}  {cand + ' loss':>16}  {'abs diff':>10}"]
        for step in range(1, self.steps + 1):
            a, b = float(self.reference.losses[step - 1]), float(self.candidate.losses[step - 1])
            mark = "" if _within(np.array(b), np.array(a), self.atol, self.rtol).all() else " *"
            lines.append(f"{step:>5}  {a:>16.9g}  {b:>16.9g}  {abs(a - b):>10.3g}{mark}")
        return "\n".join(lines)

    def __str__(self) -> str:
        verdict = "OK" if self.ok else "DIVERGED"
        header = (
            f"parity {verdict}: {self.candidate.mode} (candidate) vs {self.reference.mode} (reference), "
            f"{self.steps} steps, tolerance {TOLERANCE_RULE} with atol={self.atol:g}, rtol={self.rtol:g}"
        )
        rows = [("quantity", "shape", "max abs diff", "max rel diff", "first bad step")]
        for q in (self.loss, *self.variables):
            label = q.name if q.name == q.candidate_name else f"{q.name} -> {q.candidate_name}"
            first = "-" if q.ok else str(q.first_divergence.step)
            rows.append((label, str(q.shape), f"{q.max_abs_diff:.3g}", f"{q.max_rel_diff:.3g}", first))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        table = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
        lines = [header, *table]
        lines += [f"structure: {issue.format()}" for issue in self.structure_issues]
        first = self.first_divergence
        lines.append("first divergence: none" if first is None else f"first divergence: {first.format()}")
        return "\n".join(lines)


def compare_trajectories(
    reference: Trajectory,
    candidate: Trajectory,
    *,
    atol: float,
    rtol: float,
    name_map: Mapping[str, str] | None = None,
) -> ParityReport:
    """Compares ``candidate`` with ``reference`` step by step.

    Args:
        reference: the trajectory taken as truth (usually the TF1 graph run).
        candidate: the trajectory under test (usually the eager rewrite).
        atol: absolute tolerance.
        rtol: relative tolerance, scaled by ``|reference|``.
        name_map: reference variable name -> candidate variable name, for names
            :func:`match_variable_names` cannot pair by itself.

    Returns:
        A :class:`ParityReport`. Variables present on one side only, shape
        mismatches and differing step counts are reported as structure issues
        (step 0, or the first missing step); the variables and steps both sides
        share are still compared by value.

    Raises:
        ConfigError: a tolerance is negative or not a number, or ``name_map``
            names a variable that does not exist.
    """
    for label, value in (("atol", atol), ("rtol", rtol)):
        if not isinstance(value, int | float) or not value >= 0:
            raise ConfigError(f"{label} must be a number >= 0; got {value!r}")
    pairs = match_variable_names(reference.variables, candidate.variables, name_map)
    context = (atol, rtol, reference.mode, candidate.mode)
    issues = _structure_issues(reference, candidate, pairs, context)
    shared = {
        ref: cand for ref, cand in pairs.items() if reference.variables[ref].shape[1:] == candidate.variables[cand].shape[1:]
    }
    steps = min(reference.steps, candidate.steps)
    loss = _compare_quantity(LOSS, LOSS, reference.losses[:steps], candidate.losses[:steps], 1, context)
    variables = tuple(
        _compare_quantity(
            ref, cand, reference.variables[ref][: steps + 1], candidate.variables[cand][: steps + 1], 0, context
        )
        for ref, cand in shared.items()
    )
    return ParityReport(reference, candidate, float(atol), float(rtol), steps, loss, variables, issues)


def _structure_issues(
    reference: Trajectory, candidate: Trajectory, pairs: dict[str, str], context: tuple
) -> tuple[Divergence, ...]:
    atol, rtol, ref_mode, cand_mode = context
    matched = set(pairs.values())
    candidate_only = sorted(set(candidate.variables) - matched)
    reference_only = sorted(set(reference.variables) - set(pairs))
    issues = []

    def issue(kind: str, step: int, name: str, ref_shape, cand_shape, detail: str) -> Divergence:
        return Divergence(kind, step, name, ref_shape, cand_shape, None, None, None, None, None,
                          atol, rtol, ref_mode, cand_mode, detail)

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
        issues.append(issue("steps", first_missing, LOSS, None, None, detail))
    return tuple(issues)


def _within(candidate: np.ndarray, reference: np.ndarray, atol: float, rtol: float) -> np.ndarray:
    close = np.abs(candidate - reference) <= atol + rtol * np.abs(reference)
    return close | (np.isnan(candidate) & np.isnan(reference))


def _compare_quantity(
    name: str, candidate_name: str, reference: np.ndarray, candidate: np.ndarray, first_step: int, context: tuple
) -> QuantityDiff:
    """Compares ``[steps, *shape]`` arrays whose row ``i`` is step ``first_step + i``."""
    atol, rtol, ref_mode, cand_mode = context
    reference = np.asarray(reference, dtype=np.float64)
    candidate = np.asarray(candidate, dtype=np.float64)
    both_nan = np.isnan(reference) & np.isnan(candidate)
    with np.errstate(invalid="ignore", divide="ignore"):
        abs_diff = np.where(both_nan, 0.0, np.abs(candidate - reference))
        abs_diff = np.where(np.isnan(abs_diff), np.inf, abs_diff)
        rel_diff = np.where(abs_diff == 0, 0.0, abs_diff / np.abs(reference))
        rel_diff = np.where(np.isnan(rel_diff), np.inf, rel_diff)
        excess = abs_diff - (atol + rtol * np.abs(reference))
    bad = ~_within(candidate, reference, atol, rtol)
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
            atol, rtol, ref_mode, cand_mode,
        )
    return QuantityDiff(name, candidate_name, shape, max_abs, max_rel, divergence)


def _timeline_position(divergence: Divergence) -> tuple[int, int]:
    # The loss of step k is computed before step k's update, so it precedes the
    # variable values recorded after that step.
    return (divergence.step, 0 if divergence.variable == LOSS else 1)


def _json_ready(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, tuple):
        return [_json_ready(item) for item in value]
    return value
