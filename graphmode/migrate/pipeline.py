"""``graphmode migrate``: record the TF1 script, write its TF2 program, prove the training step in lockstep.

Three processes, so that neither API leaks into the other:

1. the script runs unmodified under graphmode's TF1 API and is recorded
   (:mod:`graphmode.migrate.capture`);
2. this process rewrites its source (:mod:`graphmode.migrate.program`), with the
   optimizer from :func:`graphmode.train.keras_counterpart`;
3. the written program runs as a user would run it (Keras 3, no
   ``TF_USE_LEGACY_KERAS``), its training step checked against the recording
   step by step (:mod:`graphmode.migrate.probe`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence

from graphmode.errors import MigrationError
from graphmode.migrate.capture import TRACE_FOLDER
from graphmode.migrate.fastforward import describe_recording, describe_sites
from graphmode.migrate.forbidden import forbidden_constructs, local_modules, used_part
from graphmode.migrate.optimizers import optimizer_code, step_counters
from graphmode.migrate.program import Program, write_program
from graphmode.migrate.program_run import failed
from graphmode.migrate.renames import tf1_only_names
from graphmode.trace.format import INDEX_FILE

DEFAULT_STEPS = 100
ATOL, RTOL = 1e-6, 1e-5  # graphmode.parity's lockstep defaults
_STUCK_GRACE = 60.0  # seconds past the recording's own time limit before its process is killed


@dataclasses.dataclass
class Migration:
    """What one migration did.

    Attributes:
        script: the TF1 script.
        output: the TF2 program written (None when none was).
        recording: the trace of the TF1 run (:class:`graphmode.trace.Trace`).
        verdict: the lockstep verdict (see :mod:`graphmode.migrate.probe`), or None when not checked.
        not_migrated: ``(file:line, reason)`` for each construct left in a NOT MIGRATED block.
        notes: optimizer arguments and other things a reader should know.
    """

    script: str
    output: str | None
    recording: str | None
    verdict: dict | None
    not_migrated: list[tuple[str, str]]
    notes: list[str]

    @property
    def proven(self) -> bool:
        """True when everything migrated and the lockstep check passed."""
        return not self.not_migrated and bool(self.verdict and self.verdict["passed"])

    @property
    def status(self) -> str:
        """``migrated and proven`` / ``migrated but diverges`` / ``not migrated``."""
        if self.not_migrated or self.output is None:
            return "not migrated"
        return "migrated and proven" if self.proven else "migrated but diverges"


def default_output(script: str) -> str:
    """``train.py`` -> ``train_tf2.py`` beside it."""
    stem, _ = os.path.splitext(script)
    return stem + "_tf2.py"


def _python_env(keras3: bool) -> dict[str, str]:
    env = dict(os.environ)
    package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH", "")]))
    if keras3:
        env.pop("TF_USE_LEGACY_KERAS", None)  # the program's own environment: TensorFlow's default Keras 3
    return env


def _record(script: str, args: Sequence[str], folder: str, steps: int, timeout: float | None) -> dict:
    command = [sys.executable, "-m", "graphmode.migrate.capture"]
    if timeout is not None:
        command += ["--deadline", repr(time.time() + timeout)]
    command += [folder, str(steps), script, *args]
    try:
        # The recording stops itself at the time limit; this one only catches a process stuck inside one op.
        completed = subprocess.run(command, cwd=os.path.dirname(script), env=_python_env(keras3=False),
                                   stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                   timeout=None if timeout is None else timeout + _STUCK_GRACE)
    except subprocess.TimeoutExpired:
        raise MigrationError(f"{script} did not stop within {timeout + _STUCK_GRACE:g} s under graphmode's TF1 API, "
                             f"{_STUCK_GRACE:g} s past its time limit (busy inside one TensorFlow op?); give it "
                             "arguments that make it shorter") from None
    path = os.path.join(folder, "capture.json")
    if not os.path.exists(path):
        raise MigrationError(f"recording {script} failed before it ended (exit {completed.returncode}):\n"
                             f"{completed.stderr[-3000:]}")
    with open(path, encoding="utf-8") as handle:
        capture = json.load(handle)
    if capture["exit_code"] != 0:
        raise MigrationError(f"{script} exited with {capture['exit_code']} under graphmode's TF1 API; "
                             f"migrate needs a script that runs:\n{completed.stderr[-3000:]}")
    stopped = (capture.get("recording") or {}).get("stopped")
    if stopped and stopped["why"] == "time-limit" and not _steps_recorded(folder):
        unseen = [tuple(site) for site in stopped["unseen"]]
        raise MigrationError(f"{script}: the recording's time limit of {timeout:g} s passed before one training "
                             "step was recorded" + (f"; run call sites never seen: {describe_sites(unseen)}" if unseen else "")
                             + "; give it a longer --time-limit or arguments that make it shorter")
    return capture


def _steps_recorded(folder: str) -> int:
    try:
        with open(os.path.join(folder, TRACE_FOLDER, INDEX_FILE), encoding="utf-8") as handle:
            return int(json.load(handle).get("steps_recorded", 0))
    except (OSError, ValueError):
        return 0


def _optimizers(capture: dict, recording: str) -> tuple[dict, list[tuple[int, str]]]:
    code, problems = {}, []
    for train_op, train in capture["train_ops"].items():
        line = optimizer_code(train, capture.get("schedules", {}), _rate_at_step_1(recording, train_op))
        if isinstance(line, str):
            problems.append((train["line"], line))
        else:
            code[train["tf1_name"] + ":" + train["loss"]] = line
    return code, problems


def _rate_at_step_1(recording: str, train_op: str) -> float | None:
    """The learning rate the recorded train op used at step 1 (None when the trace does not say)."""
    try:
        with open(os.path.join(recording, INDEX_FILE), encoding="utf-8") as handle:
            index = json.load(handle)
    except (OSError, ValueError):
        return None
    if index.get("train_op") != train_op or not index.get("steps_recorded"):
        return None
    from graphmode.trace.reader import Trace

    rate = Trace(recording).hyperparameters(1).get("learning_rate")
    return float(rate) if isinstance(rate, (int, float)) else None


def _header(script: str, recording: str, verdict: dict | str | None) -> str:
    """The program's first lines; ``verdict`` is the proof's, or a placeholder string while none was made."""
    proof = verdict["proof"] if isinstance(verdict, dict) else "lockstep"
    line = verdict if isinstance(verdict, str) else describe_verdict(verdict)
    return (
        f"# Migrated to TensorFlow 2 by `graphmode migrate` from {os.path.basename(script)}.\n"
        f"# Recording of the original (TF1 API): {recording}\n"
        f"# {proof.capitalize()} verdict: {line}\n"
    )


def describe_verdict(verdict: dict | None) -> str:
    """One line: the proof's verdict, with its worst difference or its first divergence."""
    if verdict is None:
        return "not checked"
    return verdict["summary"]


def origins(capture: dict, script: str) -> dict[str, str]:
    """Recorded name -> ``built at script.py:LINE``: each variable's creation line, and the loss's."""
    base = os.path.basename(script)
    found = {v["name"]: f"built at {base}:{v['line']}" for v in capture["variables"] if v["line"] is not None}
    for train in capture["train_ops"].values():
        op = capture["ops"].get(train["loss"].rsplit(":", 1)[0])
        if op is not None and op["line"] is not None:
            found.setdefault("loss", f"built at {base}:{op['line']}")
    return found


def _prove(plan: dict, folder: str, cwd: str, timeout: float | None) -> dict:
    """Runs the proof (:mod:`graphmode.migrate.probe`) in the program's own environment; returns its verdict."""
    plan = dict(plan, verdict=os.path.join(folder, "verdict.json"))
    plan_path = os.path.join(folder, "plan.json")
    with open(plan_path, "w", encoding="utf-8") as handle:
        json.dump(plan, handle, indent=1)
    try:
        completed = subprocess.run([sys.executable, "-m", "graphmode.migrate.probe", plan_path], cwd=cwd,
                                   env=_python_env(keras3=True), stdin=subprocess.DEVNULL,
                                   capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return failed(plan["proof"], f"the {plan['proof']} check did not end within {timeout:g} s")
    if not os.path.exists(plan["verdict"]):
        return failed(plan["proof"], f"the {plan['proof']} check failed to run:\n{completed.stderr[-3000:]}")
    with open(plan["verdict"], encoding="utf-8") as handle:
        return json.load(handle)


def _lockstep_plan(program: Program, capture: dict, script: str, output: str, recording: str,
                   args: Sequence[str], steps: int) -> dict:
    return {
        "proof": "lockstep", "program": output, "program_name": os.path.basename(output),
        "script_name": os.path.basename(script), "recording": recording, "args": list(args), "steps": steps,
        "train_function": program.train_function, "train_signature": program.train_signature,
        "loss_index": program.loss_index, "optimizer_name": program.optimizer_name,
        # A global step is the optimizer's step counter: parity hands it to Keras as `iterations`, not as a variable.
        "variables": {name: path for name, path in program.variables.items() if name not in step_counters(capture)},
        "atol": ATOL, "rtol": RTOL, "origins": origins(capture, script),
    }


def _values_to_compare(program: Program, capture: dict) -> bool:
    lines = {line for sites in program.run_functions.values() for line, _ in sites}
    return any(entry["site"][0] in lines for entry in capture["run_values"]["calls"])


def _run_values_plan(program: Program, capture: dict, script: str, output: str, folder: str,
                     args: Sequence[str]) -> dict:
    return {
        "proof": "run values", "program": output, "program_name": os.path.basename(output),
        "script_name": os.path.basename(script), "args": list(args), "recording_folder": folder,
        "run_values": capture["run_values"], "run_functions": program.run_functions, "atol": ATOL, "rtol": RTOL,
    }


def _tf1_constructs(source: str) -> list[tuple[int, str, str]]:
    """The TF1 constructs in ``source``: forbidden ones, and TF1 names TensorFlow 2 does not have."""
    found = [tuple(finding) for finding in forbidden_constructs(source)]
    seen = {(line, written) for line, written, _ in found}
    found += [(line, name, f"a TF1 name TensorFlow 2 has {f'as {new}' if new else 'only in tf.compat.v1'}")
              for line, name, new in tf1_only_names(source) if (line, name) not in seen]
    return sorted(found)


def _tf1_helpers(script: str, program: str, folder: str) -> list[tuple[str, str]]:
    """A NOT MIGRATED entry for each module beside the script the program imports and runs TF1 code from."""
    entries = []
    for line, module, path in local_modules(script, folder):
        with open(path, encoding="utf-8", errors="replace") as handle:
            try:
                found = _tf1_constructs(used_part(handle.read(), program))
            except SyntaxError:
                continue  # Python the program cannot import either: its own error says so
        if found:
            where, written, why = found[0]
            more = f" (and {len(found) - 1} more TF1 construct(s) there)" if len(found) > 1 else ""
            entries.append((f"{os.path.relpath(path, folder)}:{where}", (
                f"{written}: {why}{more}; the script imports {module} (line {line}) from its own folder, "
                "and migrate rewrites the script only: migrate that module too, or bring what the script uses "
                "from it into the script")))
    return entries


def migrate_script(
    script: str,
    output: str | None = None,
    *,
    args: Sequence[str] = (),
    steps: int = DEFAULT_STEPS,
    force: bool = False,
    recording: str | None = None,
    planted_epsilon: bool = False,
    timeout: float | None = None,
) -> Migration:
    """Migrates one TF1 script to a TF2 program and checks it in lockstep against the original.

    Args:
        script: the TF1 script (never changed).
        output: where to write the program (default ``<script>_tf2.py`` beside it).
        args: the script's command-line arguments, for the recording and the check.
        steps: how many training steps to record and check.
        force: overwrite an existing output.
        recording: the folder for the TF1 run's capture and trace (default ``<output>.migration`` beside it).
        planted_epsilon: write Keras' default Adam epsilon instead of TF1's, a planted
            mistake for testing that the check catches it.
        timeout: seconds each of the recording and the check may take (None: no limit).

    Returns:
        The :class:`Migration`; ``proven`` says whether the program is proven equal.

    Raises:
        MigrationError: the script does not exist or fails under the TF1 API, or the
            output exists and ``force`` is not set.
    """
    script = os.path.abspath(script)
    if not os.path.isfile(script):
        raise MigrationError(f"cannot migrate {script!r}: no such file")
    output = os.path.abspath(output or default_output(script))
    if output == script:
        raise MigrationError(f"the output {output!r} is the script itself; migrate never changes its input")
    if os.path.exists(output) and not force:
        raise MigrationError(f"{output} exists; pass --force (force=True) to overwrite it")
    folder = os.path.abspath(recording or os.path.splitext(output)[0] + ".migration")
    capture = _record(script, args, folder, steps, timeout)
    recording = os.path.join(folder, TRACE_FOLDER)
    with open(script, encoding="utf-8") as handle:
        source = handle.read()
    capture["source"] = source
    optimizer_lines, problems = _optimizers(capture, recording)
    program = write_program(source, capture, optimizer_lines, _header(script, recording, "pending"),
                            planted_epsilon=planted_epsilon)
    base = os.path.basename(script)
    not_migrated = [(f"{base}:{line}", reason) for line, reason in problems + program.not_migrated]
    try:
        not_migrated += [(f"{os.path.basename(output)}:{line}", f"{written}: {why} is still in the output")
                         for line, written, why in _tf1_constructs(program.code)]
        not_migrated += _tf1_helpers(source, program.code, os.path.dirname(script))
    except SyntaxError as error:
        not_migrated.append((f"{os.path.basename(output)}:{error.lineno}",
                             f"the written program does not parse ({error.msg}); a migrate bug, please report it"))
    with open(output, "w", encoding="utf-8") as handle:
        handle.write(program.code)
    verdict = None
    if program.train_function is not None and not not_migrated:
        plan = _lockstep_plan(program, capture, script, output, recording, args, steps)
        verdict = _prove(plan, folder, os.path.dirname(script), timeout)
    elif program.train_function is None and not not_migrated:
        if _values_to_compare(program, capture):
            plan = _run_values_plan(program, capture, script, output, folder, args)
            verdict = _prove(plan, folder, os.path.dirname(script), timeout)
            recording = os.path.join(folder, capture["run_values"]["file"])
        else:
            not_migrated.append((base, "the script ran no training step, and none of its run calls computed a "
                                       "value to compare (only variable reads or initializers)"))
    code = program.code.replace(_header(script, os.path.join(folder, TRACE_FOLDER), "pending"),
                                _header(script, recording, verdict), 1)
    with open(output, "w", encoding="utf-8") as handle:
        handle.write(code)
    return Migration(script, output, recording, verdict, not_migrated,
                     describe_recording(capture.get("recording")) + program.notes)


def migrate_folder(folder: str, *, steps: int = DEFAULT_STEPS, force: bool = False,
                   timeout: float | None = None) -> list[Migration]:
    """Migrates every ``*.py`` in ``folder`` that is not itself a migrated program (``*_tf2.py``)."""
    results = []
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".py") or name.endswith("_tf2.py"):
            continue
        path = os.path.join(folder, name)
        try:
            results.append(migrate_script(path, steps=steps, force=force, timeout=timeout))
        except MigrationError as problem:
            results.append(Migration(path, None, None, None, [(name, str(problem).splitlines()[0])], []))
        except Exception as problem:  # noqa: BLE001 - one script's failure must not hide the others' results
            results.append(Migration(path, None, None, None,
                                     [(name, f"migrate failed: {type(problem).__name__}: {problem}")], []))
    return results


def temporary_recording() -> str:
    """A fresh folder for a recording nobody needs afterwards."""
    return tempfile.mkdtemp(prefix="graphmode-migrate-")
