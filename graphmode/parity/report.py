"""The composite parity report: the lockstep verdict, the free run's drift, the initializer checks.

A :class:`ParityReport` puts together what the comparisons below it produced
(:mod:`graphmode.parity.divergence` for trajectories, divergences and the free
run's per-quantity results, :mod:`graphmode.parity.lockstep_report` for the
lockstep comparison, :mod:`graphmode.parity.initializers`), says which of them
decides (:class:`~graphmode.parity.divergence.Verdict`), and reads as a table,
a fixed first-divergence line and JSON. The rules are in
:mod:`graphmode.parity.tolerance`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping

import numpy as np

from graphmode._text import align_columns
from graphmode.parity.divergence import (
    Divergence,
    QuantityDiff,
    Trajectory,
    Verdict,
    first_difference_text,
    json_ready,
    timeline_position,
)
from graphmode.parity.initializers import InitializerCheck
from graphmode.parity.lockstep_report import LockstepReport
from graphmode.parity.noise_floor import FLOOR_RULE
from graphmode.parity.tolerance import (
    FLOORED_TOLERANCE_RULE,
    LOCKSTEP_RULE,
    TOLERANCE_RULE,
    tolerance_text,
    within_tolerance,
)


@dataclasses.dataclass(frozen=True)
class ParityReport:
    """The outcome of a parity check: the lockstep verdict and the drift of the free run.

    The fields up to ``noise_factor`` are the free-running comparison (both
    sides trained on their own from the same start; :attr:`free_run` alone).
    ``lockstep`` is the comparison of each step from the graph's state
    (:class:`~graphmode.parity.lockstep_report.LockstepReport`), ``initializers``
    the eager side's own initial values against the graph's distribution
    (:mod:`graphmode.parity.initializers`). ``verdict`` says which comparison
    decides :attr:`ok` (:class:`~graphmode.parity.divergence.Verdict`); failed
    initializer checks count in both.

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
    verdict: Verdict = Verdict.FREE

    def __post_init__(self) -> None:
        # A verdict given as its string ("lockstep") is the enum member from here on.
        object.__setattr__(self, "verdict", Verdict.of(self.verdict))

    @property
    def noise_floor(self) -> bool:
        """True when the free run's tolerance included a noise floor."""
        return self.noise_factor is not None

    @property
    def free_run(self) -> ParityReport:
        """The free-running comparison alone (its own verdict: drift within the element-wise rule)."""
        return dataclasses.replace(self, lockstep=None, initializers=(), verdict=Verdict.FREE)

    @property
    def ok(self) -> bool:
        """True when the verdict's comparison finds nothing and every initializer check passes."""
        return self.first_divergence is None

    @property
    def divergences(self) -> tuple[Divergence, ...]:
        """The verdict's structure issues, failed initializer checks, then each quantity's first divergence."""
        initializers = tuple(check.divergence(self.atol, self.rtol) for check in self.initializers if not check.ok)
        if self.verdict is Verdict.LOCKSTEP and self.lockstep is not None:
            return self.lockstep.structure_issues + initializers + self.lockstep.divergences[
                len(self.lockstep.structure_issues):]
        values = [q.first_divergence for q in (self.loss, *self.variables) if not q.ok]
        values.sort(key=timeline_position)
        return self.structure_issues + initializers + tuple(values)

    @property
    def first_divergence(self) -> Divergence | None:
        """The earliest divergence (structure before values), or None."""
        divergences = self.divergences
        return divergences[0] if divergences else None

    def located(self, origins: Mapping[str, str]) -> ParityReport:
        """This report with each divergence naming where the reference built its quantity.

        Args:
            origins: reference name (:data:`~graphmode.parity.divergence.LOSS` for the
                loss) -> where it was built, e.g. ``"built at train.py:24"``; a recording
                of a script knows each variable's creation line.
        """
        return dataclasses.replace(
            self, loss=self.loss.located(origins), variables=tuple(q.located(origins) for q in self.variables),
            structure_issues=tuple(d.located(origins) for d in self.structure_issues),
            lockstep=None if self.lockstep is None else self.lockstep.located(origins))

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
            "verdict": self.verdict.value,
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
            "reference_losses": [json_ready(float(x)) for x in self.reference.losses],
            "candidate_losses": [json_ready(float(x)) for x in self.candidate.losses],
            "loss_noise_floors": None if self.loss.noise_floor is None
            else [json_ready(float(x)) for x in self.loss.noise_floor],
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
        text = f"tolerance {tolerance_text(self.atol, self.rtol, self.noise_factor)}"
        if self.noise_floor:
            text += f"; noise floor: {FLOOR_RULE}"
        return text

    def __str__(self) -> str:
        verdict = "OK" if self.ok else "DIVERGED"
        lockstep = self.lockstep
        # Against a trace the free run may cover fewer steps than lockstep (states or loss not recorded).
        steps = lockstep.steps if self.verdict is Verdict.LOCKSTEP and lockstep is not None else self.steps
        head = f"parity {verdict}: {self.candidate.mode} (candidate) vs {self.reference.mode} (reference), {steps} steps"
        if lockstep is not None:
            lockstep_head = (f"lockstep (each step from the {lockstep.reference}'s state), tolerance {LOCKSTEP_RULE} with "
                             f"atol={lockstep.atol:g}, rtol={lockstep.rtol:g}")
        if self.verdict is Verdict.LOCKSTEP and lockstep is not None:
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
            phase = first_difference_text(first)
            lines.append(f"first divergence{f', {phase}' if phase else ''}: {first.format()}")
        if self.verdict is Verdict.LOCKSTEP and lockstep is not None and not self.steps:
            lines += ["", f"drift over the run: not compared (the {self.reference.mode} holds no loss, or no state "
                      "after step 1, for a free run to be compared with)"]
        elif self.verdict is Verdict.LOCKSTEP and lockstep is not None:
            lines += ["", f"drift over the run (free-running, information, not the verdict): {self._free_header()}",
                      *self._free_table()]
            free_first = self.free_run.first_divergence
            if free_first is not None:
                lines.append(f"drift past that tolerance first: {free_first.format()}")
        elif lockstep is not None:
            lines += ["", f"lockstep (information, not the verdict): {lockstep_head}", *lockstep.format_table()]
        return "\n".join(lines)


FREE_TABLE_ROWS = 10


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


