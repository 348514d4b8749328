"""A program that trains, proven by parity's own check against the recording of the original.

Two things are checked, in the program's own process:

1. **The program as it runs.** It runs as a user would run it, and each call of
   its training step is noted: whether it fed the batches the original was fed
   (it does when the script seeds its NumPy draws), and that it takes at least
   the recorded number of steps. It is stopped after them.
2. **The training step, in lockstep.** :func:`graphmode.parity.check_parity`
   with the recording (:class:`graphmode.Trace`) as the reference and the
   program as the eager side: before step k the program's model and Keras
   optimizer get the original's exact state after step k-1 (variables, slots,
   step counter, mapped by :mod:`graphmode._slots`), take one step on the
   recorded feeds, and the loss and the whole state are compared under
   parity's lockstep rule. Its report (:class:`~graphmode.parity.ParityReport`)
   is the verdict, printed as ``graphmode parity`` prints it, each divergence
   naming the script line that built the quantity.

``check_parity`` builds the eager side twice (lockstep, then the free run
kept as information) and needs fresh variables each time. A migrated program
makes its model at module level, so each build runs the program again from the
top, in a fresh namespace, up to its first call of the training step
(:class:`~graphmode.migrate.program_run.ProgramRun`); what it built by then is
the eager side. The script's own statements before that call (argument
parsing, data loading) run once per build.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from graphmode.migrate.program_run import ProgramRun, Stop, failed

PROOF = "lockstep"


class _ProgramSteps:
    """Notes each call of the training step in the program's own run: the feeds, the count; stops at ``limit``."""

    def __init__(self, plan: Mapping, trace_of: Callable[[], Any]) -> None:
        self.plan, self.trace_of = plan, trace_of
        self.steps = 0
        self.limit: int | None = None
        self.feeds_differ_at: int | None = None

    def hook(self, function: Callable, name: str, namespace: dict) -> Callable:
        def noted(**feeds: Any) -> Any:
            trace = self.trace_of()
            if self.limit is None:
                self.limit = min(self.plan["steps"], trace.steps)
            self.steps += 1
            recorded = trace.feeds(self.steps)
            if self.feeds_differ_at is None and any(
                parameter in feeds and not np.array_equal(np.asarray(feeds[parameter], recorded[tensor].dtype),
                                                          recorded[tensor])
                for parameter, tensor in self.plan["train_signature"]
            ):
                self.feeds_differ_at = self.steps
            result = function(**feeds)
            if self.steps >= self.limit:
                raise Stop
            return result

        return noted


def _eager_builder(plan: Mapping, program: ProgramRun) -> Callable[[], Any]:
    """``build_eager`` for parity: runs the program afresh up to its first training step, returns what it built."""
    from graphmode.parity.run import EagerModel

    parameters = [parameter for parameter, _ in plan["train_signature"]]
    index = plan["loss_index"]

    def stop_at_first_step(function: Callable, name: str, namespace: dict) -> Callable:
        def stop(**feeds: Any) -> Any:
            raise Stop

        return stop

    def build() -> EagerModel:
        namespace, error = program.execute(stop_at_first_step)
        if error is not None:
            raise RuntimeError(f"building the program's model for the lockstep check failed:\n{error}")
        function = namespace[plan["train_function"]]

        def train_step(*batch: Any) -> Any:
            result = function(**dict(zip(parameters, batch)))
            if index is not None:
                return result[index]
            # Fetches that leave the loss out: no loss to compare (the recording has none either); the state is.
            return None if isinstance(result, list | tuple | dict) else result

        variables = {name: eval(path, namespace) for name, path in plan["variables"].items()}  # noqa: S307
        return EagerModel(variables, train_step, namespace.get(plan["optimizer_name"]))

    return build


def origins(plan: Mapping, trace: Any) -> dict[str, str]:
    """Recorded name -> ``built at script.py:LINE``; a slot also names the line of its variable."""
    found = dict(plan["origins"])
    for variable in trace.variables:
        if variable.role == "slot" and variable.name in found and variable.slot_of in found:
            found[variable.name] += f", the slot of {variable.slot_of!r} ({found[variable.slot_of]})"
    return found


def _worst(report: Any) -> dict | None:
    from graphmode.parity.divergence import json_ready

    quantities = [q for q in (report.lockstep.loss, *report.lockstep.state) if q.over_tolerance.size]
    if not quantities:
        return None
    worst = max(quantities, key=lambda q: q.max_over_tolerance)
    at = int(np.argmax(worst.over_tolerance))
    return {"quantity": "the loss" if worst.kind == "loss" else worst.name, "step": worst.first_step + at,
            "max_abs_diff": json_ready(float(worst.max_abs_diffs[at])),
            "over_tolerance": json_ready(float(worst.over_tolerance[at]))}


def summary(report: Any, worst: dict | None) -> str:
    """One line for the program's header: the verdict and its worst difference or first divergence."""
    from graphmode.parity.tolerance import LOCKSTEP_RULE, ratio_text

    lockstep = report.lockstep
    rule = LOCKSTEP_RULE.replace("atol", f"{lockstep.atol:g}").replace("rtol", f"{lockstep.rtol:g}")
    first = report.first_divergence
    if first is None:
        if worst is None:
            where = ""
        elif worst["over_tolerance"] == 0:
            where = ", every value bit for bit"
        else:
            where = (f", worst {worst['quantity']} at step {worst['step']}: {ratio_text(worst['over_tolerance'])} "
                     "the tolerance")
        return f"parity OK: {lockstep.steps} steps in lockstep{where} ({rule})"
    if first.kind != "value":
        return f"parity DIVERGED: {first.format()}"
    return (f"parity DIVERGED at step {first.step}: {first.label}{f', {first.origin}' if first.origin else ''} "
            f"differs by {first.max_abs_diff:.3g}, {ratio_text(first.over_tolerance)} over the tolerance ({rule})")


def prove_training(plan: Mapping, program: ProgramRun) -> dict:
    """Runs the program, then checks its training step with parity against the recording; returns the verdict."""
    trace: list = []

    def trace_of() -> Any:
        # Opened only once the program has imported TensorFlow its own way (Keras 3).
        if not trace:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="TensorFlow was imported before graphmode")
                from graphmode.trace import Trace

            trace.append(Trace(plan["recording"]))
        return trace[0]

    steps = _ProgramSteps(plan, trace_of)
    _, error = program.execute(steps.hook)
    if error is not None:
        return failed(PROOF, error, f"after {steps.steps} training steps")
    if not steps.steps:
        return failed(PROOF, "the program never called its training step")
    if steps.steps < steps.limit:
        return failed(PROOF, f"the program ran {steps.steps} training steps; the recording has {steps.limit} to check")
    others = trace_of().index.get("other_train_runs")
    if others:
        return failed(PROOF, f"the original also ran another train op between the recorded steps "
                             f"({others[0]['first_call_site']}); a lockstep check of one training function against "
                             "this trace would miss those updates")
    from graphmode.parity.check import check_parity

    report = check_parity(trace_of(), _eager_builder(plan, program),
                          inputs=[tensor for _, tensor in plan["train_signature"]], steps=steps.limit,
                          atol=plan["atol"], rtol=plan["rtol"]).located(origins(plan, trace_of()))
    worst = _worst(report)
    first = report.first_divergence
    title = (f"{plan['program_name']} (eager, Keras 3) vs the trace of {plan['script_name']} "
             f"({trace_of().steps} recorded steps)")
    return {
        "proof": PROOF, "passed": report.ok, "error": None, "summary": summary(report, worst),
        "report": f"{title}\n{report}",
        "first_divergence": None if first is None else first.to_dict(),
        "worst": worst, "steps_checked": report.lockstep.steps, "steps_recorded": trace_of().steps,
        "program_steps": steps.steps, "feeds_differ_at": steps.feeds_differ_at, "parity": report.to_dict(),
    }
