"""Per-step cost of a migrated training step against the original TF1 graph step, in one run.

Migrates ``tests/migrate/scripts/mlp_digits.py`` (64 -> 256 -> 128 -> 10, batch 128, Adam)
into a temporary folder, then runs, each in its own process:

* the original under graphmode's TF1 API (``graphmode.tf1``'s ``tf.Session``);
* the original under TensorFlow's own ``tf.compat.v1.Session``: the script with
  ``import tensorflow as tf`` made ``import tensorflow.compat.v1 as tf; tf.disable_v2_behavior()``,
  TensorFlow's documented first migration step;
* the migrated program with its own Keras 3,

timing every call of the training step where the script makes it: ``sess.run([train_op, loss],
feed_dict)`` in the original, ``numpy(train_op(x=..., y=...))`` in the program (feed conversion
and the NumPy copy of the result included on every side). Prints the median µs per step of
each, after the first 20 steps, and the program's ratio to each original. The processes take
turns (25 steps each, the others waiting), so all see the same machine; as the load of a busy
machine changes faster than a whole run, it also prints the ratio of each turn's medians
(the program's turn against each original's turn of the same round) and their median.

Usage:
    python benchmarks/migrate_step.py [--steps 400]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests" / "migrate" / "scripts" / "mlp_digits.py"
WARMUP = 20
BLOCK = 25  # steps per turn: the two processes take turns, so the machine's load falls on both alike


class _Turns:
    """The child's side of the turn-taking: wait for a go byte, run BLOCK steps, write a done byte."""

    def __init__(self, go: int, done: int) -> None:
        self.go, self.done, self.count = go, done, 0

    def wait(self) -> None:
        if self.count % BLOCK == 0:
            if self.count:
                os.write(self.done, b"d")
            os.read(self.go, 1)
        self.count += 1

    def end(self) -> None:
        os.write(self.done, b"e")


def _time_original(script: str, line: int, args: list[str], turns: _Turns) -> list[float]:
    from graphmode.legacy.runner import run_script
    from graphmode.session.engine import Session

    times, original = [], Session.run

    def timed(session, *rest, **kwargs):
        if sys._getframe(2).f_lineno != line or sys._getframe(2).f_code.co_filename != script:
            return original(session, *rest, **kwargs)
        turns.wait()
        start = time.perf_counter()
        result = original(session, *rest, **kwargs)
        times.append(time.perf_counter() - start)
        return result

    Session.run = timed
    run_script(script, args)
    return times


def _time_tf_session(script: str, line: int, args: list[str], turns: _Turns) -> list[float]:
    import tensorflow.compat.v1 as v1

    source = Path(script).read_text()
    tf1 = "import tensorflow.compat.v1 as tf; tf.disable_v2_behavior()\n"  # one line: line numbers stay
    if "import tensorflow as tf\n" not in source:
        sys.exit(f"{script} does not `import tensorflow as tf`: the tf.compat.v1 side cannot run it")
    source = source.replace("import tensorflow as tf\n", tf1, 1)
    times, original = [], v1.Session.run

    def timed(session, *rest, **kwargs):
        if sys._getframe(1).f_lineno != line or sys._getframe(1).f_code.co_filename != script:
            return original(session, *rest, **kwargs)
        turns.wait()
        start = time.perf_counter()
        result = original(session, *rest, **kwargs)
        times.append(time.perf_counter() - start)
        return result

    v1.Session.run = timed
    sys.argv = [script, *args]
    exec(compile(source, script, "exec"), {"__name__": "__main__", "__file__": script})  # noqa: S102
    return times


def _time_program(program: str, function: str, args: list[str], turns: _Turns) -> list[float]:
    from graphmode.migrate.program_run import ProgramRun

    times = []

    def hook(step, name, namespace):
        def timed(*positional, **feeds):
            turns.wait()
            start = time.perf_counter()
            result = step(*positional, **feeds)
            namespace["numpy"](result)  # as the call site does with it
            times.append(time.perf_counter() - start)
            return result

        return timed

    _, error = ProgramRun({"program": program, "args": args}, [function]).execute(hook)
    if error:
        sys.exit(f"the migrated program failed: {error}")
    return times


def _side(argv: list[str]) -> None:
    side, path, name_or_line, out, go, done, *args = argv
    turns = _Turns(int(go), int(done))
    if side == "tf1":
        times = _time_original(path, int(name_or_line), args, turns)
    elif side == "tf_session":
        times = _time_tf_session(path, int(name_or_line), args, turns)
    else:
        times = _time_program(path, name_or_line, args, turns)
    Path(out).write_text(json.dumps(times))
    turns.end()


def _turn_ratios(migrated: list[float], original: list[float]) -> list[float]:
    """The ratio of the two sides' medians in each turn after the first: a turn's load falls on both alike."""
    turns = min(len(migrated), len(original)) // BLOCK
    return [statistics.median(migrated[turn * BLOCK:(turn + 1) * BLOCK])
            / statistics.median(original[turn * BLOCK:(turn + 1) * BLOCK]) for turn in range(1, turns)]


def main() -> None:
    if sys.argv[1:2] == ["--side"]:
        _side(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400)
    options = parser.parse_args()
    from graphmode.migrate.pipeline import migrate_script

    folder = Path(tempfile.mkdtemp(prefix="migrate-step-"))
    try:
        script = folder / SCRIPT.name
        shutil.copy(SCRIPT, script)
        migration = migrate_script(str(script), steps=5, args=["--steps", "50"])
        if not migration.proven:
            sys.exit(f"the benchmark's program did not migrate and prove: {migration.not_migrated} {migration.verdict}")
        capture = json.loads((Path(migration.output).with_suffix(".migration") / "capture.json").read_text())
        plan = json.loads((Path(migration.output).with_suffix(".migration") / "plan.json").read_text())
        train_line = next(site["line"] for site in capture["call_sites"]
                          if any(name in capture["train_ops"] for name in site["fetches"]))
        args = ["--steps", str(options.steps)]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
        keras3 = {k: v for k, v in env.items() if k != "TF_USE_LEGACY_KERAS"}
        sides = (("tf1", str(script), str(train_line), env), ("tf_session", str(script), str(train_line), keras3),
                 ("tf2", migration.output, plan["train_function"], keras3))
        children, pipes = {}, {}
        for side, path, key, environment in sides:
            go_read, go_write = os.pipe()
            done_read, done_write = os.pipe()
            children[side] = subprocess.Popen(
                [sys.executable, __file__, "--side", side, path, key, str(folder / f"{side}.json"), str(go_read),
                 str(done_write), *args], cwd=folder, env=environment, pass_fds=(go_read, done_write),
                stdout=subprocess.DEVNULL, stderr=(folder / f"{side}.stderr").open("w"))
            os.close(go_read)
            os.close(done_write)  # the child holds the only write end: a side that dies reads as b""
            pipes[side] = (go_write, done_read)
        running = set(children)
        while running:
            for side in sorted(running):
                go, done = pipes[side]
                try:
                    os.write(go, b"g")
                    answer = os.read(done, 1)
                except BrokenPipeError:
                    answer = b""
                if answer != b"d":
                    running.discard(side)
                    if answer != b"e":
                        children[side].wait()
                        error = (folder / f"{side}.stderr").read_text().strip().splitlines()[-5:]
                        sys.exit(f"the {side} side of the benchmark stopped: " + "\n".join(error))
        for side, child in children.items():
            if child.wait() != 0:
                sys.exit(f"the {side} side of the benchmark failed: {(folder / f'{side}.stderr').read_text()[-2000:]}")
        everything = {side: json.loads((folder / f"{side}.json").read_text()) for side in children}
        results = {side: times[WARMUP:] for side, times in everything.items()}
        tf1, session, tf2 = (statistics.median(results[side]) * 1e6 for side in ("tf1", "tf_session", "tf2"))
        print(f"MLP 64-256-128-10, batch 128, Adam; median µs per step over steps {WARMUP + 1}..{options.steps}, "
              f"the three processes taking turns every {BLOCK} steps:")
        print(f"  original graph step (graphmode TF1 API, sess.run):         {tf1:9.1f} µs/step")
        print(f"  original graph step (TensorFlow's tf.compat.v1.Session):   {session:9.1f} µs/step")
        print(f"  migrated step (Keras 3, concrete tf.function):             {tf2:9.1f} µs/step")
        print(f"  migrated / original under graphmode (the target, <= 1.5x): {tf2 / tf1:.2f}x")
        print(f"  migrated / original under tf.compat.v1.Session:            {tf2 / session:.2f}x")
        for name, side in (("graphmode", "tf1"), ("tf.compat.v1.Session", "tf_session")):
            turns = _turn_ratios(everything["tf2"], everything[side])
            print(f"  per turn (the {len(turns)} turns after the first, each ratio of the turn's medians) against "
                  f"{name}: median {statistics.median(turns):.2f}x, from {min(turns):.2f}x to {max(turns):.2f}x")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
