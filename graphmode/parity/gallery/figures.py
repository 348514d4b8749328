"""Seeing a parity run: per-step differences, the plot, and TensorBoard event files.

:func:`difference_curves` reads from a :class:`~graphmode.parity.report.ParityReport`
what its verdict's comparison measured at every step, for the loss and for the
worst variable: the difference and the tolerance it was held to. Lockstep
(the default verdict) measured ``max |graph - eager|`` of each step from the
graph's state against ``atol + rtol * max|ref|``; the free run measured each
element against ``atol + rtol * |ref|`` (near-zero rule, noise floor), so there
the curve follows, at every step, the element nearest its tolerance (the one
that decides whether the step passes) and its own tolerance. Either way a step
is divergent exactly where the difference is above the tolerance: what the
plot draws is what the verdict says.

:func:`plot_runs` draws two panels per run: both modes' curves, and under them
the differences on a log axis with the tolerance as a band and the first
divergent step marked. :func:`write_event_logs` writes the curves and the
differences for TensorBoard.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from graphmode._runtime import tf, v1
from graphmode.parity.divergence import LOSS, QuantityDiff
from graphmode.parity.gallery.runs import DifferenceCurve, ExampleRun
from graphmode.parity.report import ParityReport
from graphmode.parity.tolerance import tolerance_scale

__all__ = ["difference_curves", "draw_runs", "plot_runs", "title_of", "write_event_logs"]

# A loss that falls by more than this factor over the run reads better on a log axis.
LOG_SCALE_RANGE = 20.0

MODE_LABELS = {"graph": "TF1 graph (Session)", "eager": "TF2 eager (GradientTape)"}


def _lockstep_curves(report: ParityReport) -> list[DifferenceCurve]:
    lockstep = report.lockstep
    reference = report.reference

    def curve(quantity: Any) -> DifferenceCurve:
        steps = quantity.first_step + np.arange(len(quantity.max_abs_diffs))
        difference = np.asarray(quantity.max_abs_diffs, dtype=np.float64)
        over = np.asarray(quantity.over_tolerance, dtype=np.float64)
        if quantity.kind == "loss":
            values = np.abs(reference.losses[steps - 1])[:, None]
        elif quantity.name in reference.variables and len(reference.variables[quantity.name]) > steps.max(initial=0):
            values = np.abs(reference.variables[quantity.name][steps]).reshape(len(steps), -1)
        else:
            values = None
        tolerance = np.full(len(steps), np.nan)
        if values is not None:
            finite = np.where(np.isfinite(values), values, 0.0)
            tolerance = report.atol + report.rtol * finite.max(axis=1, initial=0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            # Where the step differs, the rule's own ratio gives its tolerance exactly.
            tolerance = np.where((over > 0) & np.isfinite(over) & np.isfinite(difference), difference / over, tolerance)
        return DifferenceCurve(quantity.name, steps, difference, tolerance)

    others = [q for q in lockstep.state if len(q.max_abs_diffs)]
    first = lockstep.first_divergence
    worst = next((q for q in others if first is not None and q.name == first.variable and q.kind != "loss"), None)
    if worst is None and others:
        worst = max(others, key=lambda q: (q.kind == "variable", q.max_over_tolerance))
    return [curve(lockstep.loss)] + ([curve(worst)] if worst is not None else [])


def _free_curve(report: ParityReport, quantity: QuantityDiff) -> DifferenceCurve:
    if quantity.name == LOSS and quantity is report.loss:
        reference, candidate = report.reference.losses, report.candidate.losses
        steps = np.arange(1, len(reference) + 1)
    else:
        reference = report.reference.variables[quantity.name]
        candidate = report.candidate.variables[quantity.candidate_name]
        steps = np.arange(len(reference))
    rows = min(len(reference), len(candidate))
    reference = np.asarray(reference[:rows], dtype=np.float64).reshape(rows, -1)
    candidate = np.asarray(candidate[:rows], dtype=np.float64).reshape(rows, -1)
    scale = tolerance_scale(reference) if quantity.shape else np.abs(reference)
    slack = 0.0
    if quantity.noise_floor is not None and report.noise_factor is not None:
        slack = report.noise_factor * np.asarray(quantity.noise_floor, dtype=np.float64)[:rows].reshape(rows, -1)
    same = (reference == candidate) | (np.isnan(reference) & np.isnan(candidate))
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        difference = np.where(same, 0.0, np.abs(candidate - reference))
        difference = np.where(np.isnan(difference), np.inf, difference)
        bound = report.atol + report.rtol * scale + slack
        ratio = np.where(difference == 0, 0.0, difference / bound)
    pick = np.argmax(np.where(np.isnan(ratio), np.inf, ratio), axis=1)
    take = np.arange(rows)
    return DifferenceCurve(quantity.name, steps[:rows], difference[take, pick], np.broadcast_to(bound, ratio.shape)[take, pick])


def _free_curves(report: ParityReport) -> list[DifferenceCurve]:
    first = report.first_divergence
    worst = next((q for q in report.variables if first is not None and not q.ok and q.name == first.variable), None)
    if worst is None and report.variables:
        worst = max(report.variables, key=lambda q: (not q.ok, q.max_abs_diff))
    return [_free_curve(report, report.loss)] + ([_free_curve(report, worst)] if worst is not None else [])


def difference_curves(report: ParityReport) -> tuple[DifferenceCurve, ...]:
    """The loss's and the worst variable's per-step difference and tolerance, under the verdict's rule.

    The worst variable is the one of the first divergence when there is one,
    else the one closest to its tolerance (lockstep) or farthest apart (free run).
    Needs the report's variable history (call it before
    :func:`~graphmode.parity.gallery.examples.drop_variable_history`).
    """
    if report.verdict == "lockstep" and report.lockstep is not None:
        return tuple(_lockstep_curves(report))
    return tuple(_free_curves(report))


def title_of(name: str, report: ParityReport) -> str:
    """The verdict as a plot title: ``NAME: parity OK (lockstep)`` or ``NAME: DIVERGED at step K (QUANTITY)``."""
    first = report.first_divergence
    if first is None:
        return f"{name}: parity OK ({report.verdict})"
    return f"{name}: DIVERGED at step {first.step} ({first.variable}, {report.verdict})"


def _uses_log_scale(values: Sequence[np.ndarray]) -> bool:
    joined = np.concatenate([np.asarray(v, dtype=np.float64).ravel() for v in values])
    finite = joined[np.isfinite(joined)]
    return bool(finite.size) and finite.min() > 0 and finite.max() / finite.min() > LOG_SCALE_RANGE


def _draw_differences(axis: Any, run: ExampleRun, curves: Sequence[DifferenceCurve]) -> None:
    colors = ("tab:blue", "tab:red")
    for curve, color in zip(curves, colors):
        # Log axis: zero differences (bit-identical steps) are left out, not drawn at a made-up value.
        shown = np.where(curve.difference > 0, curve.difference, np.nan)
        axis.plot(curve.steps, shown, color=color, linewidth=1.2, label=f"|graph - eager|: {curve.label}")
        axis.plot(curve.steps, curve.tolerance, color=color, linewidth=0.8, linestyle="--",
                  label=f"tolerance: {curve.label}")
        axis.fill_between(curve.steps, 0, curve.tolerance, color=color, alpha=0.12)
    first = run.report.first_divergence
    if first is not None:
        axis.axvline(first.step, color="black", linestyle=":", linewidth=1.5,
                     label=f"first divergence: step {first.step} ({first.variable})")
    if all(not np.any(curve.difference > 0) for curve in curves):
        axis.text(0.5, 0.5, "bit-identical: difference 0 at every step", transform=axis.transAxes,
                  ha="center", va="center")
    axis.set_yscale("log")
    axis.set_xlabel("step")
    axis.set_ylabel(f"difference ({run.report.verdict})")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize=7)


def draw_runs(title: str, runs: Sequence[ExampleRun]) -> Any:
    """Draws each run in a column: both modes' main curve, and under it the per-step differences.

    Top: the graph run as a thick line and the eager run dashed on top, so both
    stay visible where they coincide (log axis when the curve spans more than a
    factor of ``LOG_SCALE_RANGE``). Bottom: the loss's and the worst variable's
    difference per step on a log axis (steps without a difference left out),
    each over its tolerance (a dashed line and a band), and the first divergence
    as a dotted vertical line. The column's title states the verdict (:func:`title_of`).

    Returns:
        The matplotlib figure (close it with ``matplotlib.pyplot.close``).
    """
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on a server or in CI
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(2, len(runs), figsize=(6.4 * len(runs), 8.0), squeeze=False)
    styles = {"graph": {"linewidth": 3.0, "alpha": 0.55}, "eager": {"linewidth": 1.2, "linestyle": "--"}}
    for column, run in enumerate(runs):
        axis = axes[0][column]
        curve = run.curves[0]
        for mode, values in curve.values.items():
            axis.plot(curve.steps, values, label=MODE_LABELS.get(mode, mode), **styles.get(mode, {}))
        if _uses_log_scale(list(curve.values.values())):
            axis.set_yscale("log")
        axis.set_title(title_of(run.name, run.report), fontsize=10)
        axis.set_xlabel("step")
        axis.set_ylabel(curve.label)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend()
        _draw_differences(axes[1][column], run, run.differences or difference_curves(run.report))
    figure.suptitle(title)
    figure.tight_layout()
    return figure


def plot_runs(path: str | Path, title: str, runs: Sequence[ExampleRun]) -> Path:
    """Saves :func:`draw_runs`' figure as an image.

    Returns:
        The path written.
    """
    import matplotlib.pyplot as plt

    figure = draw_runs(title, runs)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def _tag(label: str) -> str:
    return re.sub(r"[^0-9A-Za-z_./-]+", "_", label).strip("_")


def _write_scalars(folder: Path, graph: tf.Graph | None, series: Sequence[tuple[str, np.ndarray, np.ndarray]]) -> None:
    # v1 FileWriter refuses to work eagerly; inside a graph context it is the TF1 writer it always was.
    with (graph or tf.Graph()).as_default():
        writer = v1.summary.FileWriter(str(folder), graph=graph)
        for tag, steps, values in series:
            for step, value in zip(steps, values):
                summary = v1.Summary(value=[v1.Summary.Value(tag=_tag(tag), simple_value=float(value))])
                writer.add_summary(summary, global_step=int(step))
        writer.close()


def write_event_logs(logdir: str | Path, runs: Sequence[ExampleRun]) -> list[Path]:
    """Writes TensorBoard event files: ``[RUN/]graph``, ``[RUN/]eager`` and ``[RUN/]difference``.

    ``graph`` holds the TF1 graph and the graph run's curves, ``eager`` the eager
    run's under the same tags (so TensorBoard draws both modes on one chart), and
    ``difference`` the per-step difference of the loss and of the worst variable
    (tags ``difference/NAME``) and their tolerance (``tolerance/NAME``), as the
    plot's lower panel. A folder per run is added only when there is more than one run.

    Returns:
        The folders written, one per run and kind.
    """
    logdir = Path(logdir)
    written = []
    for run in runs:
        base = logdir / run.name if len(runs) > 1 else logdir
        for mode in run.curves[0].values:
            # A fresh build: the one the harness trained also holds its bookkeeping ops.
            graph = run.problem.build_graph().graph if mode == "graph" else None
            _write_scalars(base / mode, graph,
                           [(curve.label, curve.steps, curve.values[mode]) for curve in run.curves])
            written.append(base / mode)
        series = []
        for curve in run.differences or difference_curves(run.report):
            series.append((f"difference/{curve.label}", curve.steps, curve.difference))
            known = np.isfinite(curve.tolerance)
            series.append((f"tolerance/{curve.label}", curve.steps[known], curve.tolerance[known]))
        _write_scalars(base / "difference", None, series)
        written.append(base / "difference")
    return written
