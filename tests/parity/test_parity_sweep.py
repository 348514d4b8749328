"""No false alarms: correct ports pass the lockstep verdict over many seeds and long runs.

The bundled examples (regress_a, sigmoid_classifier, mlp_digits in both
variants) and two more correct ports (an Adam MLP with ReLU, a model with batch
normalization and momentum, :mod:`parity_models`) are checked on several seeds.
The default run keeps a small version (2 seeds, 20 steps, through
``check_parity`` itself); the full sweep (10 seeds x 1000 steps) is
``@pytest.mark.slow``.

The full sweep runs each seed once for 1000 steps and reads the verdict of the
first 300 steps off the same run: a lockstep step depends only on the graph's
state before it and the batch, every problem's batches for N steps are the first
N of its batches for more steps, and the graph side trains freely, so the first
300 steps of a 1000-step run are the 300-step run
(``test_a_shorter_run_is_the_prefix_of_a_longer_one`` checks that). It runs the
lockstep comparison and the initializer check (the verdict of ``check_parity``)
without the free run, which is information only.

Set ``GRAPHMODE_SWEEP_LOG=FILE`` to append one JSON line per run (worst ratio to
the tolerance, where, and the verdict at 300 and 1000 steps).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import parity_models
import pytest

import graphmode as gm
from graphmode.cli.parity import load_example
from graphmode.parity.initializers import check_initializers
from graphmode.parity.lockstep import run_lockstep

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SEEDS = range(10)
LONG, SHORT = 1000, 300


def _example(name: str, **options):
    module = load_example(name, EXAMPLES)
    return lambda steps, seed: module.parity_problem(steps=steps, seed=seed, **options)


PROBLEMS = {
    "regress_a": _example("regress_a"),
    "sigmoid_classifier": _example("sigmoid_classifier"),
    "mlp_digits": _example("mlp_digits", variant="mse_sgd"),
    "mlp_digits softmax_adam": _example("mlp_digits", variant="softmax_adam"),
    "adam_mlp": parity_models.adam_mlp_problem,
    "batch_norm": parity_models.batch_norm_problem,
}


def lockstep_verdict(problem: gm.ParityProblem) -> tuple[gm.parity.LockstepReport, tuple]:
    """``check_parity``'s verdict (lockstep and the initializer check) without the free run."""
    assert problem.initial_values is None and problem.random_ops is None
    run = run_lockstep(problem.build_graph(), problem.build_eager(), problem.batches, atol=problem.atol,
                       rtol=problem.rtol, name_map=problem.name_map)
    return run.report, check_initializers(run.own_initial)


def worst_ratio(report: gm.parity.LockstepReport, steps: int) -> tuple[float, str, int]:
    """The largest ratio to the tolerance in the first ``steps`` steps: (ratio, quantity, step)."""
    best = (0.0, "-", 0)
    for quantity in (report.loss, *report.state):
        ratios = quantity.over_tolerance
        rows = np.arange(len(ratios)) + quantity.first_step
        window = ratios[rows <= steps]
        if window.size and window.max() > best[0]:
            best = (float(window.max()), quantity.name, int(rows[int(np.argmax(window))]))
    return best


def _log(record: dict) -> None:
    path = os.environ.get("GRAPHMODE_SWEEP_LOG")
    if path:
        with Path(path).open("a", encoding="utf-8") as log:
            log.write(json.dumps(record) + "\n")


@pytest.mark.parametrize("name", list(PROBLEMS))
def test_correct_ports_pass_on_two_seeds(name):
    for seed in (0, 1):
        report = PROBLEMS[name](20, seed).check()
        assert report.verdict == "lockstep" and report.lockstep.steps == 20
        assert report.ok, f"{name} seed {seed}:\n{report}"
        assert report.lockstep.loss.max_over_tolerance < 1


def test_a_shorter_run_is_the_prefix_of_a_longer_one():
    make = PROBLEMS["mlp_digits softmax_adam"]
    short, _ = lockstep_verdict(make(8, 3))
    long, _ = lockstep_verdict(make(20, 3))
    for a, b in zip((short.loss, *short.state), (long.loss, *long.state)):
        assert a.name == b.name
        np.testing.assert_array_equal(a.max_abs_diffs, b.max_abs_diffs[: len(a.max_abs_diffs)])


@pytest.mark.slow
@pytest.mark.parametrize(("seed", "name"), [(seed, name) for seed in SEEDS for name in PROBLEMS])
def test_sweep_correct_ports_never_diverge(seed, name):
    report, initializers = lockstep_verdict(PROBLEMS[name](LONG, seed))
    failed = [check for check in initializers if not check.ok]
    first = report.first_divergence
    record = {"problem": name, "seed": seed, "steps": report.steps, "seconds": round(report.seconds, 1),
              "structure_issues": len(report.structure_issues), "initializers_failed": len(failed)}
    for steps in (SHORT, LONG):
        ratio, where, step = worst_ratio(report, steps)
        diverged = bool(report.structure_issues or failed or (first is not None and first.step <= steps))
        record[str(steps)] = {"diverged": diverged, "worst_ratio": ratio, "worst": where, "at_step": step}
    _log(record)
    assert not failed, [check.reason for check in failed]
    assert report.ok, f"{name} seed {seed}: {first.format()}"
