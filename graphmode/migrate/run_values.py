"""A program that trains nothing, proven by what its run calls return.

A script with no training step (``sess.run(a + b)``, ``sess.run(c,
feed_dict={a: 2, b: 3})``) has no trajectory to check in lockstep; what it
computes is what its run calls return. So the recording keeps, for each
``Session.run`` call site, owned copies of what its first
:data:`CALLS_PER_SITE` calls returned (:class:`RunValueRecorder`), and the
order of the calls; the migrated program runs as a user would run it, each call
of a generated function noted; the ``k``-th call of a function is paired with
the ``k``-th call the original made at the sites that function stands for, and
each returned value is compared under parity's lockstep rule (floats) or
exactly (integers, booleans, strings). The program is proven only if every
recorded value was matched (:class:`RunValuesReport`).

Pure NumPy at import: the recorder runs in the TF1 process, the comparison in
the program's Keras 3 process (parity's types are imported when the program has
run, after it imported TensorFlow its own way).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from graphmode.migrate.program_run import ProgramRun, failed

PROOF = "run values"
VALUES_FILE = "run_values.npz"
CALLS_PER_SITE = 3
# A value larger than this is not kept (a tutorial's reconstructed test set): its call is listed as not compared.
MAX_VALUE_BYTES = 16 * 2**20
# How many run calls' sites are kept in order (pairing calls of a function made from several sites needs it).
MAX_ORDER = 10_000
REFERENCE, CANDIDATE = "original (TF1)", "program (TF2)"


@dataclasses.dataclass(frozen=True)
class NotKept:
    """A returned value the recording keeps no copy of, and why (it is listed as not compared)."""

    why: str


def _encode(value: Any, arrays: dict[str, np.ndarray]) -> Any:
    """A fetched structure as JSON, each array leaf stored in ``arrays`` under a fresh key (an owned copy)."""
    if value is None:
        return None
    if isinstance(value, NotKept):
        return {"skip": value.why}
    if isinstance(value, list | tuple):
        return {"list": [_encode(item, arrays) for item in value]}
    if isinstance(value, Mapping):
        return {"dict": [[str(key), _encode(item, arrays)] for key, item in value.items()]}
    array = np.array(value, copy=True)
    if array.dtype == object:
        try:
            array = np.array(array.tolist(), dtype=bytes)
        except (TypeError, ValueError):
            return {"skip": f"a {type(value).__name__} NumPy cannot store"}
    if array.nbytes > MAX_VALUE_BYTES:
        return {"skip": f"{array.nbytes / 2**20:.0f} MB, over {MAX_VALUE_BYTES // 2**20} MB"}
    key = f"v{len(arrays)}"
    arrays[key] = array
    return {"array": key}


class RunValueRecorder:
    """In the recording: what the first :data:`CALLS_PER_SITE` calls of each run call site returned.

    A site is the run call's place in the source, ``(line, column)``: two calls
    on one line (``print(sess.run(a), sess.run(b))``) are two sites.
    """

    def __init__(self) -> None:
        self.calls: dict[tuple[int, int | None], int] = {}
        self.order: list[tuple[int, int | None]] = []
        self.kept: list[dict] = []
        self.arrays: dict[str, np.ndarray] = {}
        self._positions: dict[Any, list] = {}

    def site(self, frame: Any) -> tuple[int, int | None]:
        """Where ``frame`` is executing: the line and column of the call expression running there."""
        code = frame.f_code
        if code not in self._positions:
            self._positions[code] = list(code.co_positions())
        positions = self._positions[code]
        index = frame.f_lasti // 2  # one position per 2-byte code unit
        if index < len(positions) and positions[index][0] is not None:
            return positions[index][0], positions[index][2]
        return frame.f_lineno, None

    def note(self, site: tuple[int, int | None], fetches: Sequence[str], result: Any) -> None:
        """Keeps ``result`` of a call made at ``site`` if it is one of the site's first calls."""
        site = tuple(site)
        call = self.calls[site] = self.calls.get(site, 0) + 1
        if len(self.order) < MAX_ORDER:
            self.order.append(site)
        if call <= CALLS_PER_SITE:
            self.kept.append({"site": list(site), "call": call, "fetches": list(fetches),
                              "value": _encode(result, self.arrays)})

    def write(self, folder: str) -> dict:
        """Writes the arrays to ``folder``; returns the index for the capture notes."""
        np.savez(os.path.join(folder, VALUES_FILE), **self.arrays)
        return {"file": VALUES_FILE, "order": [list(site) for site in self.order], "calls": self.kept}


def _owned(value: Any) -> Any:
    """What a generated function returned, as owned NumPy values (the structure kept)."""
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return [_owned(item) for item in value]
    if isinstance(value, Mapping):
        return {key: _owned(item) for key, item in value.items()}
    return np.array(value.numpy() if hasattr(value, "numpy") else value, copy=True)


def _leaves(encoded: Any, arrays: Mapping[str, np.ndarray], path: str = "") -> list[tuple[str, Any]]:
    """(path, array / None / skip reason) per leaf of a recorded structure."""
    if encoded is None:
        return [(path, None)]
    if "list" in encoded:
        return [leaf for i, item in enumerate(encoded["list"]) for leaf in _leaves(item, arrays, f"{path}[{i}]")]
    if "dict" in encoded:
        return [leaf for key, item in encoded["dict"] for leaf in _leaves(item, arrays, f"{path}[{key!r}]")]
    if "skip" in encoded:
        return [(path, encoded["skip"])]
    return [(path, arrays[encoded["array"]])]


def _program_leaves(value: Any, path: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, list):
        return [leaf for i, item in enumerate(value) for leaf in _program_leaves(item, f"{path}[{i}]")]
    if isinstance(value, dict):
        return [leaf for key, item in value.items() for leaf in _program_leaves(item, f"{path}[{key!r}]")]
    return [(path, value)]


@dataclasses.dataclass(frozen=True)
class ComparedValue:
    """One value a run call returned, compared: where, what, and how far apart."""

    site: str
    call: int
    name: str
    shape: tuple[int, ...]
    max_abs_diff: float
    over_tolerance: float


@dataclasses.dataclass(frozen=True)
class RunValuesReport:
    """What the program's run calls returned against what the original's did.

    Attributes:
        atol: absolute tolerance of the lockstep rule (floats).
        rtol: relative tolerance, times the value's largest recorded element.
        compared: each value compared.
        divergences: each value that differs (parity's :class:`~graphmode.parity.divergence.Divergence`),
            in the order the original returned them.
        not_compared: recorded calls left out, with why.
        calls: how many of the original's run calls were paired with one of the program's.
    """

    atol: float
    rtol: float
    compared: tuple[ComparedValue, ...]
    divergences: tuple[Any, ...]
    not_compared: tuple[str, ...]
    calls: int = 0

    @property
    def ok(self) -> bool:
        """True when at least one value was compared and every recorded value matched."""
        return bool(self.compared) and not self.divergences

    @property
    def first_divergence(self) -> Any:
        """The first value that differs, or None."""
        return self.divergences[0] if self.divergences else None

    def __str__(self) -> str:
        from graphmode._text import align_columns
        from graphmode.parity.tolerance import LOCKSTEP_RULE, ratio_text

        head = (f"run values {'OK' if self.ok else 'DIVERGED'}: {CANDIDATE} vs {REFERENCE} (reference), "
                f"{len(self.compared)} values from {self.calls} run calls, tolerance {LOCKSTEP_RULE} with "
                f"atol={self.atol:g}, rtol={self.rtol:g} (floats; other values exactly)")
        rows = [("run call", "call", "value", "shape", "max abs diff", "over tolerance")]
        rows += [(row.site, str(row.call), row.name, str(row.shape), f"{row.max_abs_diff:.3g}",
                  ratio_text(row.over_tolerance)) for row in self.compared]
        lines = [head, *align_columns(rows)]
        lines += [f"not compared: {why}" for why in self.not_compared]
        first = self.first_divergence
        lines.append("first divergence: none" if first is None else f"first divergence: {first.format()}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields (non-finite numbers as strings: a value compared exactly that differs is ``inf``)."""
        from graphmode.parity.divergence import json_ready

        compared = [{key: json_ready(value) for key, value in dataclasses.asdict(row).items()} for row in self.compared]
        return {"ok": self.ok, "atol": self.atol, "rtol": self.rtol, "calls": self.calls, "compared": compared,
                "divergences": [d.to_dict() for d in self.divergences], "not_compared": list(self.not_compared)}


def _compare_leaf(site: str, call: int, name: str, reference: np.ndarray, candidate: Any, tolerance: tuple,
                  ) -> tuple[ComparedValue | None, Any]:
    from graphmode.parity.divergence import Divergence
    from graphmode.parity.tolerance import LOCKSTEP_RULE, step_difference

    atol, rtol = tolerance
    origin = f"call {call} of the run at {site}"
    candidate = np.asarray(candidate)

    def issue(kind: str, detail: str) -> Divergence:
        return Divergence(kind, call, name, reference.shape, candidate.shape, None, None, None, None, None, atol, rtol,
                          REFERENCE, CANDIDATE, detail, quantity="run value", origin=origin)

    if reference.shape != candidate.shape:
        return None, issue("shape", f"shape {reference.shape} in the original but {candidate.shape} in the program")
    if reference.dtype != candidate.dtype:
        return None, issue("dtype", f"dtype {reference.dtype} in the original but {candidate.dtype} in the program")
    if reference.dtype.kind == "f" or reference.dtype.kind == "c":
        difference = step_difference(reference, candidate, atol, rtol)
        row = ComparedValue(site, call, name, reference.shape, difference.max_abs_diff, difference.over_tolerance)
        if difference.over_tolerance <= 1:
            return row, None
        return row, Divergence("value", call, name, reference.shape, candidate.shape, difference.max_abs_diff,
                               difference.max_rel_diff, difference.index, difference.reference_value,
                               difference.candidate_value, atol, rtol, REFERENCE, CANDIDATE, quantity="run value",
                               over_tolerance=difference.over_tolerance, rule=LOCKSTEP_RULE, origin=origin)
    # Integers, booleans and strings have no rounding: equal or not.
    same = bool(np.array_equal(reference, candidate))
    apart = 0.0 if same else float("inf")  # strings: unequal has no distance
    if not same and reference.dtype.kind in "iub" and reference.size:
        apart = float(np.max(np.abs(reference.astype(np.float64) - candidate.astype(np.float64))))
    row = ComparedValue(site, call, name, reference.shape, apart, 0.0 if same else float("inf"))
    if same:
        return row, None
    shown = (reference.tolist(), candidate.tolist()) if reference.size <= 8 else ("...", "...")
    return row, issue("mismatch", f"the original returned {shown[0]!r}, the program {shown[1]!r} (compared exactly)")


def compare_run_values(recorded: Mapping, arrays: Mapping[str, np.ndarray], sites: Mapping[str, Sequence[Sequence[int]]],
                       returned: Mapping[str, Sequence[Any]], script_name: str, atol: float,
                       rtol: float) -> RunValuesReport:
    """Pairs each function's calls with the original's calls at its sites, in order, and compares what they returned.

    Args:
        recorded: the recorder's index (:meth:`RunValueRecorder.write`).
        arrays: its arrays.
        sites: generated function -> ``[line, column]`` of each run call it stands for in the script.
        returned: generated function -> what each of its calls returned in the program, in order.
        script_name: the script's file name, for the report.
        atol: absolute tolerance.
        rtol: relative tolerance.
    """
    kept = {(*entry["site"], entry["call"]): entry for entry in recorded["calls"]}
    order = [tuple(site) for site in recorded["order"]]
    compared, divergences, not_compared = [], [], []
    placed: set[tuple] = set()
    for function, where in sites.items():
        wanted = {tuple(site) for site in where}
        lines = {line for line, _ in wanted}
        counts: dict[tuple, int] = {}
        sequence = []
        for site in order:
            # Where the recording knows no column, the line alone places the call.
            if site in wanted or (site[1] is None and site[0] in lines):
                counts[site] = counts.get(site, 0) + 1
                sequence.append((*site, counts[site]))
        calls = returned.get(function, [])
        for index, key in enumerate(sequence):
            if key not in kept:
                continue
            placed.add(key)
            site = f"{script_name}:{key[0]}"
            if index >= len(calls):
                divergences.append(_missing_call(function, key, site, atol, rtol, (
                    f"the program called {function}() {len(calls)} times; the original made this call as call "
                    f"{index + 1} of that computation")))
                continue
            entry = kept[key]
            theirs = _program_leaves(calls[index])
            ours = _leaves(entry["value"], arrays)
            if len(theirs) != len(ours):
                divergences.append(_missing_call(function, key, site, atol, rtol, (
                    f"{function}() returned {len(theirs)} values; the original's run {len(ours)}")))
                continue
            names = entry["fetches"] if len(entry["fetches"]) == len(ours) else [path or "value" for path, _ in ours]
            for name, (_, reference), (_, candidate) in zip(names, ours, theirs):
                if reference is None and candidate is None:
                    continue  # a train op or initializer fetched: no value
                if isinstance(reference, str):
                    not_compared.append(f"{name} at {site}, call {key[-1]}: not kept ({reference})")
                    continue
                row, divergence = _compare_leaf(site, key[-1], name, reference, candidate, (atol, rtol))
                compared += [row] if row is not None else []
                divergences += [divergence] if divergence is not None else []
    for key in sorted(set(kept) - placed):
        if all(value is None for _, value in _leaves(kept[key]["value"], arrays)):
            continue  # an initializer or a train op run: nothing was returned to compare
        not_compared.append(f"the run at {script_name}:{key[0]}, call {key[-1]}: no generated function stands for it "
                            "(a variable read or an initializer), or it ran after the calls kept in order")
    paired = len(placed) - sum(d.kind == "missing" for d in divergences)
    return RunValuesReport(atol, rtol, tuple(compared), tuple(divergences), tuple(not_compared), paired)


def _missing_call(function: str, key: tuple[int, int], site: str, atol: float, rtol: float, detail: str) -> Any:
    from graphmode.parity.divergence import Divergence

    return Divergence("missing", key[-1], function, None, None, None, None, None, None, None, atol, rtol,
                      REFERENCE, CANDIDATE, detail, quantity="run value", origin=f"call {key[-1]} of the run at {site}")


def prove_run_values(plan: Mapping, program: ProgramRun) -> dict:
    """Runs the program to its end, noting what each generated function returned; compares with the recording."""
    returned: dict[str, list] = {name: [] for name in plan["run_functions"]}

    def hook(function: Callable, name: str, namespace: dict) -> Callable:
        def noted(*args: Any, **kwargs: Any) -> Any:
            result = function(*args, **kwargs)
            returned[name].append(_owned(result))
            return result

        return noted

    _, error = program.execute(hook)
    if error is not None:
        return failed(PROOF, error)
    recorded = plan["run_values"]
    with np.load(os.path.join(plan["recording_folder"], recorded["file"])) as stored:
        arrays = {key: stored[key] for key in stored.files}
    report = compare_run_values(recorded, arrays, plan["run_functions"], returned, plan["script_name"],
                                plan["atol"], plan["rtol"])
    first = report.first_divergence
    if report.ok:
        from graphmode.parity.tolerance import ratio_text

        worst = max(report.compared, key=lambda row: row.over_tolerance)
        summary = (f"run values OK: {len(report.compared)} values the original's run calls returned, matched; worst "
                   f"{worst.name} at {worst.site}: {ratio_text(worst.over_tolerance)} the tolerance")
    elif first is None:
        summary = "run values not proven: no recorded value was compared"
    else:
        summary = f"run values DIVERGED: {first.format()}"
    return {"proof": PROOF, "passed": report.ok, "error": None, "summary": summary,
            "report": f"{plan['program_name']} (Keras 3) vs the run calls of {plan['script_name']}\n{report}",
            "first_divergence": None if first is None else first.to_dict(), "worst": None,
            "run_values": report.to_dict()}
