"""What the bundled examples share: options, the side-by-side table, JSON, and writing plots and event logs.

Each example in :mod:`graphmode.parity.gallery` holds only its model (a graph
version and an eager version, next to each other) and its data; it trains both
through the parity harness and hands the :class:`~graphmode.parity.ParityReport` of
each run to :func:`finish`, which prints the table (step, graph loss, eager
loss, difference; about ten rows) and the report, and writes whatever
``--plot``, ``--logdir`` (drawn by :mod:`graphmode.parity.gallery.figures`) and
``--json`` ask for.

Example:
    >>> args = example_parser("X*A = 10", steps=100).parse_args()
    >>> problem = parity_problem(args.steps, args.seed)
    >>> report = problem.check()
    >>> sys.exit(finish(args, "regress_a", [ExampleRun("stochastic", problem, report, (loss_curve(report),))]))
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from graphmode.errors import ExampleError
from graphmode.parity.divergence import Trajectory
from graphmode.parity.gallery.figures import plot_runs, write_event_logs
from graphmode.parity.gallery.runs import Curve, ExampleRun
from graphmode.parity.report import ParityReport

# Variables with at most this many elements are printed and put in the JSON in
# full; larger ones (an MLP's weight matrices) are summarized by shape and norm.
FULL_VALUE_LIMIT = 64

TABLE_ROWS = 10
NICE_INTERVALS = (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1; got {value}")
    return value


def check_variant(example: str, variant: str, variants: Mapping[str, str]) -> None:
    """Refuses a variant the example does not have, naming the ones it has.

    Raises:
        ExampleError: ``variant`` is not a key of ``variants``.
    """
    if variant not in variants:
        raise ExampleError(f"{example} has no variant {variant!r}; its variants: {', '.join(variants)}")


def example_parser(
    description: str, *, steps: int, seed: int = 0, variants: Mapping[str, str] | None = None
) -> argparse.ArgumentParser:
    """The options every example takes; an example adds its own to the parser it gets.

    Args:
        description: one line on what the example trains.
        steps: the default number of training steps.
        seed: the default seed for data and initial values.
        variants: variant name -> one line on it; given, ``--variant`` chooses one
            (default: the first).

    Returns:
        A parser with ``--steps``, ``--seed``, ``--json``, ``--plot FILE.png``, ``--logdir DIR``
        (and ``--variant``).
    """
    parser = argparse.ArgumentParser(description=description)
    if variants:
        first = next(iter(variants))
        parser.add_argument("--variant", choices=list(variants), default=first,
                            help="; ".join(f"{name}: {text}" for name, text in variants.items()) + f" (default {first})")
    parser.add_argument("--steps", type=_positive_int, default=steps, help=f"training steps (default {steps})")
    parser.add_argument("--seed", type=int, default=seed, help=f"data and initialization seed (default {seed})")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object (final values, final losses, parity report) and nothing else")
    parser.add_argument("--plot", metavar="FILE.png", help="save both modes' loss curves to this image")
    parser.add_argument("--logdir", metavar="DIR", help="write TensorBoard event files (graph, per-step losses)")
    return parser


def loss_curve(report: ParityReport, label: str = "loss") -> Curve:
    """The training loss of every step (computed before that step's update), both modes."""
    steps = np.arange(1, report.steps + 1)
    return Curve(label, steps, {t.mode: t.losses[: report.steps] for t in (report.reference, report.candidate)})


def evaluated_curve(
    report: ParityReport, label: str, evaluate: Callable[[dict[str, np.ndarray]], float], steps: Sequence[int]
) -> Curve:
    """A quantity computed from each mode's variables after the given steps.

    Args:
        report: the parity report holding both trajectories.
        label: what ``evaluate`` computes.
        evaluate: variable name -> value (that mode's own names) -> number.
        steps: which steps to evaluate (0 = the initial values).

    Returns:
        The curve, one value per step and mode.
    """
    steps = np.asarray(steps, dtype=np.int64)
    values = {}
    for trajectory in (report.reference, report.candidate):
        values[trajectory.mode] = np.array([evaluate(variables_at(trajectory, int(step))) for step in steps])
    return Curve(label, steps, values)


def variables_at(trajectory: Trajectory, step: int) -> dict[str, np.ndarray]:
    """A mode's variable values after ``step`` (0 = initial), as float32 like the variables themselves."""
    return {name: values[step].astype(np.float32) for name, values in trajectory.variables.items()}


def drop_variable_history(report: ParityReport) -> ParityReport:
    """The report with each mode's variables cut to their values after the last step.

    The comparison is already in the report, and the final values are all that
    :func:`finish` reads; dropping the rest frees what the harness recorded
    (an MLP on MNIST holds ~2 MB per step and mode) before the next run starts.
    """

    def last_row(trajectory: Trajectory) -> Trajectory:
        return trajectory._replace(variables={name: values[-1:] for name, values in trajectory.variables.items()})

    return dataclasses.replace(report, reference=last_row(report.reference), candidate=last_row(report.candidate))


def table_interval(steps: int, rows: int = TABLE_ROWS) -> int:
    """The smallest round interval that shows at most ``rows`` steps of ``steps``."""
    return next((every for every in NICE_INTERVALS if steps / every <= rows), max(1, math.ceil(steps / rows)))


def format_table(curve: Curve, every: int) -> str:
    """Rows (step, one column per mode, abs difference) at the first, last and every ``every``-th step."""
    modes = list(curve.values)
    last = len(curve.steps) - 1
    rows = [i for i, step in enumerate(curve.steps) if i in (0, last) or step % every == 0]
    width = max(16, max(len(f"{mode} {curve.label}") for mode in modes))
    lines = [f"{'step':>6}  " + "  ".join(f"{mode + ' ' + curve.label:>{width}}" for mode in modes)
             + f"  {'difference':>11}"]
    for i in rows:
        values = [float(curve.values[mode][i]) for mode in modes]
        difference = abs(values[1] - values[0]) if len(values) == 2 else float("nan")
        lines.append(f"{int(curve.steps[i]):>6}  " + "  ".join(f"{v:>{width}.9g}" for v in values)
                     + f"  {difference:>11.3g}")
    return "\n".join(lines)


def describe_value(value: np.ndarray) -> Any:
    """A variable's value for people and JSON: in full when small, else shape and norm."""
    value = np.asarray(value, dtype=np.float64)
    if value.size <= FULL_VALUE_LIMIT:
        return value.tolist()
    return {"shape": list(value.shape), "l2_norm": float(np.linalg.norm(value)), "mean": float(value.mean())}


def final_values(trajectory: Trajectory) -> dict[str, Any]:
    """Each variable of a mode after the last step, described by :func:`describe_value`."""
    return {name: describe_value(values[-1]) for name, values in trajectory.variables.items()}


def _modes(report: ParityReport) -> tuple[Trajectory, Trajectory]:
    return report.reference, report.candidate


def _strict_json(value: Any) -> Any:
    # Strict JSON has no NaN/Inf; a diverged run must still print, so they become strings.
    if isinstance(value, dict):
        return {key: _strict_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_strict_json(item) for item in value]
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else str(float(value))
    return value


def run_summary(run: ExampleRun) -> dict[str, Any]:
    """One run as JSON-ready builtins: final values, final loss, metrics, parity report."""
    main = run.curves[0]
    return _strict_json({
        "final_values": {t.mode: final_values(t) for t in _modes(run.report)},
        "loss_label": main.label,
        "final_loss": {mode: float(values[-1]) for mode, values in main.values.items()},
        "metrics": {mode: dict(metrics) for mode, metrics in run.metrics.items()},
        "parity": run.report.to_dict(),
    })


def format_run(run: ExampleRun) -> str:
    """The side-by-side table, final values, metrics and parity report of one run."""
    main = run.curves[0]
    every = run.every or table_interval(int(main.steps[-1]))
    lines = [format_table(main, every), ""]
    for trajectory in _modes(run.report):
        small = {name: values[-1] for name, values in trajectory.variables.items()
                 if values[-1].size <= FULL_VALUE_LIMIT // 4}
        if small:
            shown = ", ".join(f"{name} = {np.array2string(value, precision=6)}" for name, value in small.items())
            lines.append(f"{trajectory.mode:>5} final values: {shown}")
    for mode, metrics in run.metrics.items():
        lines.append(f"{mode:>5} " + ", ".join(f"{name} {value:.6g}" for name, value in metrics.items()))
    lines += ["", str(run.report)]
    return "\n".join(lines)


def finish(args: argparse.Namespace, example: str, runs: Sequence[ExampleRun], *, title: str | None = None) -> int:
    """Prints the runs (or their JSON), writes the plot and event logs asked for.

    Args:
        args: parsed options from :func:`example_parser`.
        example: the example's name.
        runs: its parity runs.
        title: the plot title (default: the example's name).

    Returns:
        The exit status: 0 when every run is within tolerance, 1 otherwise.
    """
    ok = all(run.report.ok for run in runs)
    extra = {}
    if args.plot:
        extra["plot"] = str(plot_runs(args.plot, title or example, runs))
    if args.logdir:
        extra["logdir"] = [str(folder) for folder in write_event_logs(args.logdir, runs)]
    if args.json:
        document = {"example": example, "steps": args.steps, "seed": args.seed, "ok": ok,
                    "runs": {run.name: run_summary(run) for run in runs}, **extra}
        sys.stdout.write(json.dumps(document, allow_nan=False) + "\n")
    else:
        for run in runs:
            print(f"== {example} [{run.name}]: TF1 graph vs TF2 eager, {run.report.steps} steps, seed {args.seed}")
            print(format_run(run))
            print()
        for key, value in extra.items():
            print(f"{key}: {value if isinstance(value, str) else ', '.join(value)}")
    return 0 if ok else 1
