"""What a parity comparison produces, and how it reads: the tolerance rule and the report.

A :class:`Trajectory` is what one mode produced: the loss of every step and the
value of every variable before the first step and after each one. Comparing two
of them (:func:`graphmode.parity.compare.compare_trajectories`) yields a
:class:`ParityReport`: structure issues (which variables exist on each side,
their shapes, how many steps), then each quantity's :class:`QuantityDiff` and
first :class:`Divergence`. This module holds those types, their table, fixed
divergence line and JSON form, and :func:`within_tolerance`, the rule below.

Tolerance rule, per element: ``|candidate - reference| <= atol + rtol * |reference|``
(NumPy's ``isclose`` rule, with the *reference* side as the scale), where for
a variable ``|reference|`` counts as at least the RMS of its tensor at that
step (the near-zero rule, :func:`tolerance_scale`: an element crossing zero is
held to its tensor's rounding, not to ``atol`` alone). NaN equals NaN; NaN
against a number is a divergence. With a noise floor (see
:mod:`graphmode.parity.noise_floor`) an element's bound grows by
``noise_factor`` times its rank-matched share of how far the reference drifted
from its own 1-ulp-perturbed rerun by step ``k``.

Steps are numbered on one timeline: step 0 is the initial variable values; step
``k`` is the ``k``-th training step, whose loss (computed before its update)
comes before the variable values after its update.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from graphmode._text import align_columns
from graphmode.parity.noise_floor import FLOOR_RULE

if TYPE_CHECKING:
    from graphmode.parity.initializers import InitializerCheck
    from graphmode.parity.lockstep_report import LockstepReport

LOSS = "loss"

# How a report names each kind of quantity (the loss is never "variable 'loss'").
QUANTITY_WORDS = {"variable": "variable", "state": "model state", "slot": "optimizer slot",
                  "counter": "optimizer counter", "initializer": "initializer of", "dtype": "variable"}

TOLERANCE_RULE = "|a-b| <= atol + rtol*|ref|"
FLOORED_TOLERANCE_RULE = "|a-b| <= atol + rtol*|ref| + noise_factor*floor"


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
    ``noise_floor`` is the floor of this quantity at this step and
    ``noise_factor`` its multiplier, both None when no floor was used.
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
    noise_floor: float | None = None
    noise_factor: float | None = None
    quantity: str = "variable"
    phase: str = ""
    over_tolerance: float | None = None
    rule: str | None = None

    def format(self) -> str:
        """The fixed one-paragraph form used in reports and assertion messages."""
        sides = f"reference: {self.reference}, candidate: {self.candidate}"
        label = self.label
        if self.kind != "value":
            return f"step {self.step}, {label}: {self.detail} ({sides})"
        if self.reference_shape == self.candidate_shape:
            shapes = f"shape {self.reference_shape} on both sides"
        else:
            shapes = f"shape {self.reference_shape} vs {self.candidate_shape}"
        where = "" if not self.index else f" at {list(self.index)}"
        over = "" if self.over_tolerance is None else f"{_ratio_text(self.over_tolerance)} over the "
        rule = (f"{self.rule} with atol={self.atol:g}, rtol={self.rtol:g}" if self.rule
                else _tolerance_text(self.atol, self.rtol, self.noise_factor))
        return (
            f"step {self.step}, {label} ({shapes}): "
            f"max abs diff {self.max_abs_diff:.6g}, max rel diff {self.max_rel_diff:.6g}; "
            f"worst element{where}: reference {self.reference_value:.9g}, "
            f"candidate {self.candidate_value:.9g}; "
            f"{over}tolerance {rule}{self._floor_text()} ({sides})"
        )

    @property
    def label(self) -> str:
        """What diverged, in words: ``the loss``, ``variable 'w'``, ``optimizer slot 'w/Adam'``."""
        if self.quantity == "loss":
            return "the loss" + (" (forward pass, before the update)" if self.phase == "forward" else "")
        after = " after the update" if self.phase == "update" else ""
        return f"{QUANTITY_WORDS.get(self.quantity, self.quantity)} {self.variable!r}{after}"

    def _floor_text(self) -> str:
        if self.noise_factor is None:
            return ""
        bound = self.noise_factor * self.noise_floor
        return f", noise floor {self.noise_floor:.3g} at step {self.step} (x{self.noise_factor:g} = {bound:.3g})"

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
    noise_floor: np.ndarray | None = None

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
            "max_noise_floor": None if self.noise_floor is None else _json_ready(self.max_noise_floor),
        }

    @property
    def max_noise_floor(self) -> float | None:
        """The largest floor over the steps (None without a floor)."""
        if self.noise_floor is None:
            return None
        return float(self.noise_floor.max()) if self.noise_floor.size else 0.0


@dataclasses.dataclass(frozen=True)
class ParityReport:
    """The outcome of a parity check: the lockstep verdict and the drift of the free run.

    The fields up to ``noise_factor`` are the free-running comparison (both
    sides trained on their own from the same start; :attr:`free_run` alone).
    ``lockstep`` is the comparison of each step from the graph's state
    (:class:`~graphmode.parity.lockstep_report.LockstepReport`), ``initializers``
    the eager side's own initial values against the graph's distribution
    (:mod:`graphmode.parity.initializers`). ``verdict`` says which comparison
    decides :attr:`ok` (``"lockstep"`` or ``"free"``); failed initializer checks
    count in both.

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
    noise_factor: float | None = None
    lockstep: LockstepReport | None = None
    initializers: tuple[InitializerCheck, ...] = ()
    verdict: str = "free"

    @property
    def noise_floor(self) -> bool:
        """True when the free run's tolerance included a noise floor."""
        return self.noise_factor is not None

    @property
    def free_run(self) -> ParityReport:
        """The free-running comparison alone (its own verdict: drift within the element-wise rule)."""
        return dataclasses.replace(self, lockstep=None, initializers=(), verdict="free")

    @property
    def ok(self) -> bool:
        """True when the verdict's comparison finds nothing and every initializer check passes."""
        return self.first_divergence is None

    @property
    def divergences(self) -> tuple[Divergence, ...]:
        """The verdict's structure issues, failed initializer checks, then each quantity's first divergence."""
        initializers = tuple(check.divergence(self.atol, self.rtol) for check in self.initializers if not check.ok)
        if self.verdict == "lockstep" and self.lockstep is not None:
            return self.lockstep.structure_issues + initializers + self.lockstep.divergences[
                len(self.lockstep.structure_issues):]
        values = [q.first_divergence for q in (self.loss, *self.variables) if not q.ok]
        values.sort(key=_timeline_position)
        return self.structure_issues + initializers + tuple(values)

    @property
    def first_divergence(self) -> Divergence | None:
        """The earliest divergence (structure before values), or None."""
        divergences = self.divergences
        return divergences[0] if divergences else None

    def to_dict(self) -> dict[str, object]:
        """Everything in the report as JSON-ready builtins, per-step losses included.

        ``ok``, ``verdict`` and ``first_divergence`` are the verdict's; ``lockstep``
        holds the lockstep comparison, ``initializers`` the initializer checks,
        ``free_run`` the free run's own ``ok``/``first_divergence``; the other
        keys (``loss``, ``variables``, ``*_losses``, ``noise_floor``...) describe the free run.
        """
        first = self.first_divergence
        free = self.free_run
        free_first = free.first_divergence
        return {
            "ok": self.ok,
            "verdict": self.verdict,
            "steps": self.steps,
            "reference": self.reference.mode,
            "candidate": self.candidate.mode,
            "atol": self.atol,
            "rtol": self.rtol,
            "tolerance_rule": FLOORED_TOLERANCE_RULE if self.noise_floor else TOLERANCE_RULE,
            "noise_floor": self.noise_floor,
            "noise_factor": self.noise_factor,
            "noise_floor_rule": FLOOR_RULE if self.noise_floor else None,
            "first_divergence": None if first is None else first.to_dict(),
            "structure_issues": [issue.to_dict() for issue in self.structure_issues],
            "loss": self.loss.to_dict(),
            "variables": {q.name: q.to_dict() for q in self.variables},
            "reference_losses": [_json_ready(float(x)) for x in self.reference.losses],
            "candidate_losses": [_json_ready(float(x)) for x in self.candidate.losses],
            "loss_noise_floors": None if self.loss.noise_floor is None
            else [_json_ready(float(x)) for x in self.loss.noise_floor],
            "lockstep": None if self.lockstep is None else self.lockstep.to_dict(),
            "initializers": [check.to_dict() for check in self.initializers],
            "free_run": {"ok": free.ok, "first_divergence": None if free_first is None else free_first.to_dict()},
        }

    def to_json(self, indent: int | None = None) -> str:
        """:meth:`to_dict` as strict JSON (NaN/Inf written as strings)."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def format_steps(self) -> str:
        """Per-step losses of both sides of the free run as a table, divergent steps marked ``*``."""
        ref, cand = self.reference.mode, self.candidate.mode
        floors = self.loss.noise_floor
        lines = [f"{'step':>5}  {ref + ' loss':>16}  {cand + ' loss':>16}  {'abs diff':>10}"
                 + ("" if floors is None else f"  {'noise floor':>11}")]
        for step in range(1, self.steps + 1):
            a, b = float(self.reference.losses[step - 1]), float(self.candidate.losses[step - 1])
            floor = 0.0 if floors is None else float(floors[step - 1])
            slack = floor * (self.noise_factor or 0.0)
            mark = "" if within_tolerance(np.array(b), np.array(a), self.atol, self.rtol, slack).all() else " *"
            floor_cell = "" if floors is None else f"  {floor:>11.3g}"
            difference = 0.0 if a == b else abs(a - b)
            lines.append(f"{step:>5}  {a:>16.9g}  {b:>16.9g}  {difference:>10.3g}{floor_cell}{mark}")
        return "\n".join(lines)

    def _free_table(self) -> list[str]:
        rows = [("quantity", "shape", "max abs diff", "max rel diff")
                + (("max noise floor",) if self.noise_floor else ()) + ("first bad step",)]
        quantities = [self.loss, *self.variables]
        for q in quantities[:FREE_TABLE_ROWS]:
            label = "(loss)" if q is self.loss else q.name if q.name == q.candidate_name else f"{q.name} -> {q.candidate_name}"
            first = "-" if q.ok else str(q.first_divergence.step)
            floor = (f"{q.max_noise_floor:.3g}",) if self.noise_floor else ()
            rows.append((label, str(q.shape), f"{q.max_abs_diff:.3g}", f"{q.max_rel_diff:.3g}", *floor, first))
        lines = align_columns(rows)
        if len(quantities) > FREE_TABLE_ROWS:
            lines.append(f"... {len(quantities) - FREE_TABLE_ROWS} more variables")
        return lines

    def _free_header(self) -> str:
        text = f"tolerance {_tolerance_text(self.atol, self.rtol, self.noise_factor)}"
        if self.noise_floor:
            text += f"; noise floor: {FLOOR_RULE}"
        return text

    def __str__(self) -> str:
        verdict = "OK" if self.ok else "DIVERGED"
        head = f"parity {verdict}: {self.candidate.mode} (candidate) vs {self.reference.mode} (reference), {self.steps} steps"
        lockstep = self.lockstep
        if lockstep is not None:
            lockstep_head = (f"lockstep (each step from the {lockstep.reference}'s state), tolerance {lockstep_rule()} with "
                             f"atol={lockstep.atol:g}, rtol={lockstep.rtol:g}")
        if self.verdict == "lockstep" and lockstep is not None:
            lines = [f"{head}, {lockstep_head}", *lockstep.format_table()]
            issues = lockstep.structure_issues
        else:
            lines = [f"{head}, free-running, {self._free_header()}", *self._free_table()]
            issues = self.structure_issues
        lines += [f"structure: {issue.format()}" for issue in issues]
        if lockstep is not None and lockstep.unlisted:
            why = ("changed by the recorded steps, not trainable" if lockstep.reference == "trace"
                   else "updated by the graph's train op, not in GraphModel.variables")
            lines.append(f"unlisted state ({why}): {list(lockstep.unlisted)}")
        lines += _initializer_lines(self.initializers)
        first = self.first_divergence
        if first is None:
            lines.append("first divergence: none")
        else:
            phase = _first_difference_text(first)
            lines.append(f"first divergence{f', {phase}' if phase else ''}: {first.format()}")
        if self.verdict == "lockstep" and lockstep is not None:
            lines += ["", f"drift over the run (free-running, information, not the verdict): {self._free_header()}",
                      *self._free_table()]
            free_first = self.free_run.first_divergence
            if free_first is not None:
                lines.append(f"drift past that tolerance first: {free_first.format()}")
        elif lockstep is not None:
            lines += ["", f"lockstep (information, not the verdict): {lockstep_head}", *lockstep.format_table()]
        return "\n".join(lines)


FREE_TABLE_ROWS = 10


def lockstep_rule() -> str:
    """The lockstep tolerance rule (kept in :mod:`graphmode.parity.lockstep_report`)."""
    from graphmode.parity.lockstep_report import LOCKSTEP_RULE

    return LOCKSTEP_RULE


def _first_difference_text(divergence: Divergence) -> str:
    from graphmode.parity.lockstep_report import first_difference_text

    return first_difference_text(divergence)


def _initializer_lines(checks: tuple[InitializerCheck, ...]) -> list[str]:
    if not checks:
        return []
    failed = [check for check in checks if not check.ok]
    small = [check for check in checks if "not compared" in check.reason]
    lines = [f"initializers (the eager side's own initial values against the graph's distribution): "
             f"{len(checks) - len(failed) - len(small)} consistent, {len(failed)} inconsistent, "
             f"{len(small)} too small to tell"]
    lines += [f"  {check.name} {check.shape}: {check.reason} (graph: {check.graph}; eager: {check.eager})"
              for check in failed]
    return lines


def _tolerance_text(atol: float, rtol: float, noise_factor: float | None) -> str:
    if noise_factor is None:
        return f"{TOLERANCE_RULE} with atol={atol:g}, rtol={rtol:g}"
    return f"{FLOORED_TOLERANCE_RULE} with atol={atol:g}, rtol={rtol:g}, noise_factor={noise_factor:g}"


def tolerance_scale(reference: np.ndarray) -> np.ndarray:
    """The ``|ref|`` of the free run's rule for ``[steps, *shape]`` values: ``max(|ref|, RMS of ref's step)``.

    The near-zero rule: float32 rounding in an element's update is the size of
    the terms that make it, which are of the tensor's magnitude, not of the
    element's own value, so an element crossing zero would otherwise be held to
    ``atol`` alone (``sigmoid_classifier`` seed 5: 2.5e-6 apart where a weight
    of a tensor of RMS 0.67 crossed zero). Every element is measured against at
    least its tensor's RMS at that step (over its finite elements); a scalar's
    RMS is its own ``|ref|``, so the loss keeps the plain rule.
    """
    reference = np.asarray(reference, dtype=np.float64)
    magnitude = np.abs(reference)
    if reference.ndim <= 1:
        return magnitude
    finite = np.isfinite(reference).reshape(len(reference), -1)
    squares = np.where(finite, magnitude.reshape(len(reference), -1), 0.0) ** 2
    rms = np.sqrt(squares.sum(axis=1) / np.maximum(finite.sum(axis=1), 1))
    return np.maximum(magnitude, rms.reshape((-1,) + (1,) * (reference.ndim - 1)))


def within_tolerance(
    candidate: np.ndarray,
    reference: np.ndarray,
    atol: float,
    rtol: float,
    slack: np.ndarray | float = 0.0,
    scale: np.ndarray | None = None,
) -> np.ndarray:
    """Elementwise: is ``candidate`` within ``atol + rtol * scale + slack`` of ``reference``?

    ``scale`` defaults to ``|reference|`` (:func:`tolerance_scale` gives the free run's).
    NaN against NaN counts as within; NaN against a number does not; infinities must be equal.
    """
    scale = np.abs(reference) if scale is None else scale
    with np.errstate(invalid="ignore", over="ignore"):
        close = np.abs(candidate - reference) <= atol + rtol * scale + slack
    # An infinite reference would excuse anything: non-finite values must be equal
    # (inf - inf is NaN, so equal infinities need the explicit test).
    close &= np.isfinite(candidate) & np.isfinite(reference)
    return close | (candidate == reference) | (np.isnan(candidate) & np.isnan(reference))


def _timeline_position(divergence: Divergence) -> tuple[int, int]:
    # The loss of step k is computed before step k's update, so it precedes the
    # variable values recorded after that step.
    return (divergence.step, 0 if divergence.quantity == "loss" else 1)


def _ratio_text(ratio: float) -> str:
    """``1.06x`` near the tolerance, ``1.7e+05x`` far past it."""
    if not math.isfinite(ratio):
        return f"{ratio}x"
    return f"{ratio:.3g}x"


def _json_ready(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, tuple):
        return [_json_ready(item) for item in value]
    return value
