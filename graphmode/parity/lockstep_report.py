"""What a lockstep comparison produces: one step's differences from a shared state, and its rule.

Lockstep (:mod:`graphmode.parity.lockstep`) gives the eager side the graph
side's exact state before every step, so each step's difference is that one
step's, never an accumulation. Its tolerance rule is norm-wise, per quantity
``q`` (the loss, a variable, an optimizer slot or counter) and step::

    max over elements |a - b|  <=  atol + rtol * max over elements |ref|

Rounding in a sum, a matrix product or an update is relative to the size of
the terms combined, not of the result, so an element near zero inherits its
tensor's rounding (an Adam second moment ``v`` of 1e-12 next to 1e-6 ones, a
weight crossing zero); an element-wise ``rtol * |ref|`` would flag those or
need an ``atol`` that hides real mistakes in small slots. Equal values are
equal (``inf`` against ``inf`` too); NaN against NaN is equal, NaN or an
infinity against anything else is a divergence. Only finite reference values
set the scale.

``over tolerance`` is ``max |a - b| / (atol + rtol * max|ref|)``: a correct port
stays below 1 (a few ulps per step); a porting mistake shows at its first step,
usually many times over (the report prints ``1.7e+05x``).
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import numpy as np

from graphmode._text import align_columns
from graphmode.parity.report import Divergence, _json_ready, _ratio_text

__all__ = ["LOCKSTEP_RULE", "LockstepQuantity", "LockstepReport", "StepDifference", "step_difference"]

LOCKSTEP_RULE = "max|a-b| <= atol + rtol*max|ref|"

# At most this many quantities are listed in the printed table (worst first).
TABLE_ROWS = 10


class StepDifference(NamedTuple):
    """One quantity at one step: the largest difference and where it is."""

    max_abs_diff: float
    max_rel_diff: float
    over_tolerance: float
    index: tuple[int, ...]
    reference_value: float
    candidate_value: float


def step_difference(reference: np.ndarray, candidate: np.ndarray, atol: float, rtol: float) -> StepDifference:
    """Compares one quantity at one step under :data:`LOCKSTEP_RULE`."""
    reference = np.asarray(reference, dtype=np.float64)
    candidate = np.asarray(candidate, dtype=np.float64)
    same = (reference == candidate) | (np.isnan(reference) & np.isnan(candidate))
    finite = np.isfinite(reference) & np.isfinite(candidate)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        diff = np.where(same, 0.0, np.where(finite, np.abs(candidate - reference), np.inf))
        relative = np.where(diff == 0, 0.0, diff / np.abs(reference))
    relative = np.where(np.isnan(relative), np.inf, relative)
    scale = np.abs(reference[np.isfinite(reference)])
    bound = atol + rtol * (float(scale.max()) if scale.size else 0.0)
    worst = int(np.argmax(diff)) if diff.size else 0
    largest = float(diff.reshape(-1)[worst]) if diff.size else 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = 0.0 if largest == 0 else (largest / bound if bound > 0 else np.inf)
    index = tuple(int(i) for i in np.unravel_index(worst, reference.shape)) if reference.ndim else ()
    return StepDifference(largest, float(relative.max()) if relative.size else 0.0, float(ratio), index,
                          float(reference.reshape(-1)[worst]) if reference.size else 0.0,
                          float(candidate.reshape(-1)[worst]) if candidate.size else 0.0)


class LockstepQuantity(NamedTuple):
    """How one quantity compared over the steps, each from the graph's state.

    Attributes:
        name: the graph side's name (``"loss"`` for the loss, whose ``kind`` is ``"loss"``).
        candidate_name: the eager side's name (an optimizer slot: variable and Keras list).
        kind: ``"loss"``, ``"variable"`` (listed), ``"state"`` (updated by the train op, not
            listed), ``"slot"`` or ``"counter"``.
        shape: the graph side's shape.
        first_step: the step of ``max_abs_diffs[0]`` (1 for the loss, 0 for state).
        max_abs_diffs: per step, the largest ``|graph - eager|``.
        over_tolerance: per step, ``max |a-b| / (atol + rtol*max|ref|)``.
        first_divergence: the first step over the tolerance, or None.
    """

    name: str
    candidate_name: str
    kind: str
    shape: tuple[int, ...]
    first_step: int
    max_abs_diffs: np.ndarray
    over_tolerance: np.ndarray
    first_divergence: Divergence | None

    @property
    def ok(self) -> bool:
        """True when every step is within tolerance."""
        return self.first_divergence is None

    @property
    def max_abs_diff(self) -> float:
        """The largest difference over all steps."""
        return float(self.max_abs_diffs.max()) if self.max_abs_diffs.size else 0.0

    @property
    def max_over_tolerance(self) -> float:
        """The largest ratio to the tolerance over all steps (below 1: within)."""
        return float(self.over_tolerance.max()) if self.over_tolerance.size else 0.0

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields (per-step arrays as lists)."""
        return {
            "name": self.name, "candidate_name": self.candidate_name, "kind": self.kind, "shape": list(self.shape),
            "ok": self.ok, "max_abs_diff": _json_ready(self.max_abs_diff),
            "max_over_tolerance": _json_ready(self.max_over_tolerance), "first_step": self.first_step,
            "max_abs_diffs": [_json_ready(float(x)) for x in self.max_abs_diffs],
            "first_divergence": None if self.ok else self.first_divergence.to_dict(),
        }


@dataclasses.dataclass(frozen=True)
class LockstepReport:
    """Each step compared from the same state: the verdict part of a :class:`~graphmode.parity.ParityReport`.

    Attributes:
        reference: the reference mode (``"graph"``).
        candidate: the candidate mode (``"eager"``).
        atol: absolute tolerance.
        rtol: relative tolerance, times the quantity's largest reference value.
        steps: steps compared.
        loss: the loss of each step (the forward pass, before the update).
        state: every variable, model state, optimizer slot and counter after each step.
        structure_issues: state on one side only, shapes, dtypes, optimizer mismatches (step 0).
        unlisted: graph variables the train op updates that ``GraphModel.variables`` does not list.
        not_compared: graph state left out, with why (a TF1 slot Keras has no use for).
        seconds: wall time of the lockstep run (graph and eager steps and the transfers).
    """

    reference: str
    candidate: str
    atol: float
    rtol: float
    steps: int
    loss: LockstepQuantity
    state: tuple[LockstepQuantity, ...]
    structure_issues: tuple[Divergence, ...]
    unlisted: tuple[str, ...] = ()
    not_compared: tuple[str, ...] = ()
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when the state pairs up and every step is within tolerance."""
        return not self.divergences

    @property
    def divergences(self) -> tuple[Divergence, ...]:
        """Structure issues, then each quantity's first divergence, the loss of a step before its update."""
        values = [q.first_divergence for q in (self.loss, *self.state) if not q.ok]
        values.sort(key=lambda d: (d.step, 0 if d.quantity == "loss" else 1))
        return self.structure_issues + tuple(values)

    @property
    def first_divergence(self) -> Divergence | None:
        """The earliest divergence, or None."""
        return self.divergences[0] if self.divergences else None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields."""
        first = self.first_divergence
        return {
            "ok": self.ok, "steps": self.steps, "atol": self.atol, "rtol": self.rtol, "tolerance_rule": LOCKSTEP_RULE,
            "first_divergence": None if first is None else first.to_dict(),
            "first_difference_in": None if first is None else _phase_words(first),
            "structure_issues": [issue.to_dict() for issue in self.structure_issues],
            "loss": self.loss.to_dict(), "state": {q.name: q.to_dict() for q in self.state},
            "unlisted": list(self.unlisted), "not_compared": list(self.not_compared), "seconds": self.seconds,
        }

    def format_table(self) -> list[str]:
        """The loss and the worst quantities (at most :data:`TABLE_ROWS` rows), with their ratio to the tolerance."""
        rows = [("quantity", "shape", "max abs diff", "max over tolerance", "first bad step")]
        ranked = sorted(self.state, key=lambda q: -q.max_over_tolerance)
        shown = ranked[: TABLE_ROWS - 1]
        for q in (self.loss, *shown):
            label = "(loss)" if q.kind == "loss" else q.name
            first = "-" if q.ok else str(q.first_divergence.step)
            rows.append((label, str(q.shape), f"{q.max_abs_diff:.3g}", _ratio_text(q.max_over_tolerance), first))
        lines = align_columns(rows)
        if len(ranked) > len(shown):
            rest = ranked[len(shown):]
            bad = sum(not q.ok for q in rest)
            lines.append(f"... {len(rest)} more ({', '.join(sorted({q.kind for q in rest}))}), "
                         f"{'all within tolerance' if not bad else f'{bad} over tolerance'}")
        return lines


def _phase_words(divergence: Divergence) -> str:
    if divergence.kind != "value":
        return "structure"
    return {"forward": "forward pass", "update": "update", "initial": "initial values"}.get(divergence.phase, "")


def first_difference_text(divergence: Divergence | None) -> str:
    """``in the update (the step's loss agreed)`` and the like, for the report's first-divergence line."""
    if divergence is None or divergence.kind != "value":
        return ""
    if divergence.phase == "forward":
        return "in the forward pass (the step's loss, both sides from the same state)"
    if divergence.phase == "update":
        return "in the update (the step's loss agreed, the state after it did not)"
    if divergence.phase == "initial":
        return "in the initial values"
    return ""
