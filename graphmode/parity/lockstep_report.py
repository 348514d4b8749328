"""What a lockstep comparison produces: each quantity's per-step differences from a shared state.

Lockstep (:mod:`graphmode.parity.lockstep`) gives the eager side the graph
side's exact state before every step and compares the step's loss and the state
after it under :data:`~graphmode.parity.tolerance.LOCKSTEP_RULE` (the rule and
why it is norm-wise are in :mod:`graphmode.parity.tolerance`). This module holds
the results: :class:`LockstepQuantity` per quantity, :class:`LockstepReport` for
the run, its table and JSON form.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from graphmode._text import align_columns
from graphmode.parity.divergence import Divergence, json_ready, phase_words, timeline_position
from graphmode.parity.tolerance import LOCKSTEP_RULE, ratio_text

# At most this many quantities are listed in the printed table (worst first).
TABLE_ROWS = 10


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

    def located(self, origins: Mapping[str, str]) -> LockstepQuantity:
        """This result with its first divergence's origin set (:meth:`Divergence.located`)."""
        if self.first_divergence is None:
            return self
        return self._replace(first_divergence=self.first_divergence.located(origins))

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields (per-step arrays as lists)."""
        return {
            "name": self.name, "candidate_name": self.candidate_name, "kind": self.kind, "shape": list(self.shape),
            "ok": self.ok, "max_abs_diff": json_ready(self.max_abs_diff),
            "max_over_tolerance": json_ready(self.max_over_tolerance), "first_step": self.first_step,
            "max_abs_diffs": [json_ready(float(x)) for x in self.max_abs_diffs],
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
        values.sort(key=timeline_position)
        return self.structure_issues + tuple(values)

    @property
    def first_divergence(self) -> Divergence | None:
        """The earliest divergence, or None."""
        return self.divergences[0] if self.divergences else None

    def located(self, origins: Mapping[str, str]) -> LockstepReport:
        """This report with each divergence's origin set (:meth:`Divergence.located`)."""
        return dataclasses.replace(self, loss=self.loss.located(origins),
                                   state=tuple(q.located(origins) for q in self.state),
                                   structure_issues=tuple(d.located(origins) for d in self.structure_issues))

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields."""
        first = self.first_divergence
        return {
            "ok": self.ok, "steps": self.steps, "atol": self.atol, "rtol": self.rtol, "tolerance_rule": LOCKSTEP_RULE,
            "first_divergence": None if first is None else first.to_dict(),
            "first_difference_in": None if first is None else phase_words(first),
            "structure_issues": [issue.to_dict() for issue in self.structure_issues],
            "loss": self.loss.to_dict(), "state": {q.name: q.to_dict() for q in self.state},
            "unlisted": list(self.unlisted), "not_compared": list(self.not_compared), "seconds": self.seconds,
        }

    def format_table(self) -> list[str]:
        """The loss and the worst quantities (at most :data:`TABLE_ROWS` rows), with their ratio to the tolerance."""
        rows = [("quantity", "shape", "max abs diff", "max over tolerance", "first bad step")]
        ranked = sorted(self.state, key=lambda q: -q.max_over_tolerance)
        shown = ranked[: TABLE_ROWS - 1]
        # A recording whose script never fetched its loss has none to compare: say so rather than show zeros.
        compared_loss = (self.loss,) if self.loss.max_abs_diffs.size else ()
        for q in (*compared_loss, *shown):
            label = "(loss)" if q.kind == "loss" else q.name
            first = "-" if q.ok else str(q.first_divergence.step)
            rows.append((label, str(q.shape), f"{q.max_abs_diff:.3g}", ratio_text(q.max_over_tolerance), first))
        lines = align_columns(rows)
        if not compared_loss and self.steps:
            lines.append(f"(loss) not compared: the {self.reference} holds no loss for these steps")
        if len(ranked) > len(shown):
            rest = ranked[len(shown):]
            bad = sum(not q.ok for q in rest)
            lines.append(f"... {len(rest)} more ({', '.join(sorted({q.kind for q in rest}))}), "
                         f"{'all within tolerance' if not bad else f'{bad} over tolerance'}")
        return lines


