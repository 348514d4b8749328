"""The lockstep proof, run inside the migrated program's own process.

``python -m graphmode.migrate.probe PLAN.json`` runs the migrated program as
``__main__`` (Keras 3; the TF1 API is never enabled and this module imports no
TensorFlow through graphmode), with every call of its training step routed
through a probe. Before step ``k`` the probe gives the model and the Keras
optimizer the TF1 run's exact state after step ``k - 1`` (variables, slots,
step counter) and the recorded batch; after the step it compares the loss and
the whole state with the TF1 run's, under graphmode's lockstep rule
``max|a-b| <= atol + rtol*max|ref|`` (:mod:`graphmode.parity.tolerance`).
Differences cannot compound, so a faithful program stays within rounding at
every step and a mistake shows at its first step at full size. After the
recorded steps the program is stopped; the verdict goes to the plan's
``verdict`` path as JSON.

The reference is the original's trace (:class:`graphmode.trace.Trace`), opened
at the first step: by then the program has imported TensorFlow with its own
Keras, and graphmode's TensorFlow module takes that import as it is.
"""

from __future__ import annotations

import ast
import builtins
import json
import os
import sys
import traceback
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from graphmode.parity.tolerance import LOCKSTEP_RULE, step_difference

PROBE_NAME = "__graphmode_lockstep__"


class _Done(BaseException):
    """Raised through the program once every recorded step was checked."""


def _over(reference: np.ndarray, candidate: np.ndarray, atol: float, rtol: float) -> tuple[float, float]:
    """(max |a - b|, how far over the tolerance) under the lockstep rule; a shape change is infinitely far."""
    reference = np.asarray(reference, np.float64)
    candidate = np.asarray(candidate, np.float64)
    if reference.shape != candidate.shape:
        return float("inf"), float("inf")
    difference = step_difference(reference, candidate, atol, rtol)
    return difference.max_abs_diff, difference.over_tolerance


class _Unsupported(BaseException):
    """The trace holds a training this probe cannot check step by step (the message says why)."""


def _slot_pairs(optimizer: Any, variables: Mapping[str, Any]) -> list[tuple[str, Any, Callable]]:
    """(TF1 slot name, Keras slot variable, TF1 value -> Keras value) per slot the built optimizer keeps.

    The map is :mod:`graphmode._slots`, the one parity's lockstep and the
    checkpoint bridge use; imported here, not at the top, because it brings in
    graphmode's TensorFlow module, which must find the program's own import.
    An optimizer with no TF1 counterpart has no slots to carry.
    """
    if optimizer is None:
        return []
    from graphmode._slots import has_slots_for, is_built, keras_slot, optimizer_map_for, tf1_slot_suffixes
    from graphmode.errors import ConfigError

    try:
        optimizer_map = optimizer_map_for(optimizer)
        rules = tf1_slot_suffixes(optimizer_map, optimizer, None)
    except ConfigError:
        return []
    if not is_built(optimizer):
        return []
    found = []
    for name, variable in variables.items():
        if not has_slots_for(optimizer, variable):
            continue
        for suffix, rule in rules:
            if rule.keras_attribute is not None and getattr(optimizer, rule.keras_attribute, None):
                found.append((f"{name}/{suffix}", keras_slot(optimizer, rule, variable), rule.to_keras))
    return found


class Probe:
    """Checks each call of the training step against the recording (see the module docstring)."""

    def __init__(self, plan: Mapping, namespace: dict) -> None:
        self.plan = plan
        self.namespace = namespace
        self._trace: Any = None
        self.step = 0
        self.rows: list[dict] = []
        self.first_divergence: dict | None = None
        self.feeds_differ_at: int | None = None

    @property
    def recording(self) -> Any:
        """The original's trace (opened on first use, after the program imported TensorFlow)."""
        if self._trace is None:
            import warnings

            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="TensorFlow was imported before graphmode")
                from graphmode.trace import Trace

            self._trace = Trace(self.plan["recording"])
        return self._trace

    def _refuse_other_train_runs(self) -> None:
        others = self.recording.index.get("other_train_runs")
        if others:
            raise _Unsupported(
                f"the original also ran another train op between the recorded steps ({others[0]['first_call_site']}); "
                "a lockstep check of one training function against this trace would miss those updates"
            )

    @property
    def limit(self) -> int:
        """How many steps are checked: the plan's, or fewer when the trace holds fewer."""
        return min(self.plan["steps"], self.recording.steps)

    def _variables(self) -> dict[str, Any]:
        return {name: eval(path, self.namespace) for name, path in self.plan["variables"].items()}  # noqa: S307

    def _load(self, variables: Mapping[str, Any], optimizer: Any, step: int) -> None:
        if step - 1 not in self.recording.state_steps:
            return
        state = self.recording.state(step - 1)
        for name, variable in variables.items():
            variable.assign(state[name])
        if step > 1 and optimizer is not None:
            for slot, keras_slot, convert in _slot_pairs(optimizer, variables):
                if slot in state:
                    keras_slot.assign(convert(state[slot], optimizer, step - 1))
            optimizer.iterations.assign(step - 1)

    def _compare(self, step: int, quantity: str, reference: Any, candidate: Any) -> None:
        worst, over = _over(reference, candidate, self.plan["atol"], self.plan["rtol"])
        row = {"step": step, "quantity": quantity, "max_abs_diff": worst, "over_tolerance": over}
        self.rows.append(row)
        if over > 1 and self.first_divergence is None:
            self.first_divergence = row

    def wrap(self, function: Callable) -> Callable:
        """The training step, checked (installed around each call site of the step)."""

        def checked(**feeds: Any) -> Any:
            self.step += 1
            step = self.step
            if step == 1:
                self._refuse_other_train_runs()
            if step > self.limit:
                raise _Done
            recorded = self.recording.feeds(step)
            by_parameter = {parameter: recorded[tensor] for parameter, tensor in self.plan["train_signature"]}
            if self.feeds_differ_at is None and any(
                not np.array_equal(np.asarray(feeds[p], recorded_value.dtype), recorded_value)
                for p, recorded_value in by_parameter.items() if p in feeds
            ):
                self.feeds_differ_at = step
            variables = self._variables()
            optimizer = self.namespace.get(self.plan["optimizer_name"])
            self._load(variables, optimizer, step)
            result = function(**by_parameter)
            index = self.plan["loss_index"]
            loss = result if index is None else result[index]
            recorded_loss = self.recording.loss(step)
            if loss is not None and recorded_loss is not None:
                self._compare(step, "loss", recorded_loss, np.asarray(loss))
            if step in self.recording.state_steps:
                state = self.recording.state(step)
                for name, variable in variables.items():
                    self._compare(step, name, state[name], variable.numpy())
                for slot, keras_slot, convert in _slot_pairs(optimizer, variables):
                    if slot in state:
                        self._compare(step, slot, convert(state[slot], optimizer, step - 1), keras_slot.numpy())
            if step == self.limit:
                raise _Done
            return result

        return checked

    def verdict(self, error: str | None) -> dict:
        """The verdict as JSON-ready data."""
        worst = max(self.rows, key=lambda row: row["over_tolerance"], default=None)
        if self._trace is None:
            return {"passed": False, "steps_checked": 0, "steps_recorded": None, "first_divergence": None,
                    "worst": None, "rule": "", "feeds_differ_at": None,
                    "error": error or "the program never called its training step"}
        checked = min(self.step, self.limit)
        passed = error is None and self.first_divergence is None and checked == self.limit and checked > 0
        return {
            "passed": passed,
            "steps_checked": checked,
            "steps_recorded": self.recording.steps,
            "first_divergence": self.first_divergence,
            "worst": worst,
            "rule": LOCKSTEP_RULE.replace("atol", f"{self.plan['atol']:g}").replace("rtol", f"{self.plan['rtol']:g}"),
            "feeds_differ_at": self.feeds_differ_at,
            "error": error,
        }


class _RouteStepCalls(ast.NodeTransformer):
    def __init__(self, name: str) -> None:
        self.name = name

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id == self.name:
            node.func = ast.Call(ast.Name(PROBE_NAME, ast.Load()), [ast.Name(self.name, ast.Load())], [])
        return node


def run(plan: Mapping) -> dict:
    """Runs the migrated program under the probe; returns the verdict."""
    path = plan["program"]
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read(), path)
    tree = ast.fix_missing_locations(_RouteStepCalls(plan["train_function"]).visit(tree))
    namespace: dict = {"__name__": "__main__", "__file__": path, "__builtins__": builtins}
    probe = Probe(plan, namespace)
    namespace[PROBE_NAME] = probe.wrap
    sys.argv = [path, *plan["args"]]
    sys.path.insert(0, os.path.dirname(path))
    error = None
    try:
        exec(compile(tree, path, "exec"), namespace)  # noqa: S102 - the program under test, as python would run it
    except _Done:
        pass
    except _Unsupported as problem:
        error = str(problem)
    except SystemExit as exit_request:
        if exit_request.code not in (None, 0):
            error = f"the program exited with {exit_request.code!r} after {probe.step} steps"
    except BaseException:  # noqa: BLE001 - the program's failure is the verdict
        error = traceback.format_exc(limit=-6)
    if error is None and probe._trace is not None and probe.step < probe.limit:
        error = f"the program ran {probe.step} training steps; the recording has {probe.limit} to check"
    return probe.verdict(error)


def main(argv: list[str] | None = None) -> int:
    """``python -m graphmode.migrate.probe PLAN.json``: writes the verdict, exits 0 when parity holds."""
    (plan_path,) = sys.argv[1:] if argv is None else argv
    with open(plan_path, encoding="utf-8") as handle:
        plan = json.load(handle)
    verdict = run(plan)
    with open(plan["verdict"], "w", encoding="utf-8") as handle:
        json.dump(verdict, handle, indent=1)
    return 0 if verdict["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
