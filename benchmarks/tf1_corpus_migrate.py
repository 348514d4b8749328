"""``graphmode migrate`` over the public TF1 corpus: how many migrate, pass lockstep, run standalone.

The corpus is ``benchmarks/tf1_corpus/sources.tsv`` laid out by ``tf1_corpus.py checkout`` (see
that script). Each listed script is migrated with a time limit on its recording and on the
check (a script must end for migrate to have seen all of it), and the written program, when
there is one, is run on its own with ``python`` (no ``TF_USE_LEGACY_KERAS``), with the same limit:
it *runs standalone* when it exits 0, or is still running at the limit with nothing on its
standard error that looks like a failure. Programs and recordings go to ``--out``; the corpus
checkout is not written to (each script runs from a copy of its folder).

Usage:
    python benchmarks/tf1_corpus.py checkout --clones CLONES --dest corpus
    python benchmarks/tf1_corpus_migrate.py corpus --out migrated [--time-limit 120] [--only TEXT]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tf1_corpus import _FAILURE_HINT, last_error_line, read_sources, write_mnist_standins  # noqa: E402

RESULTS = ("migrated and proven", "migrated but diverges", "not migrated")


def _standalone(program: Path, limit: float, env: dict[str, str]) -> tuple[bool, str]:
    try:
        completed = subprocess.run([sys.executable, str(program)], cwd=program.parent, env=env, timeout=limit,
                                   stdin=subprocess.DEVNULL, capture_output=True, text=True)
    except subprocess.TimeoutExpired as stopped:
        stderr = stopped.stderr.decode(errors="replace") if isinstance(stopped.stderr, bytes) else stopped.stderr or ""
        failed = _FAILURE_HINT.search(stderr)
        return (not failed, "still running at the limit" if not failed else last_error_line(stderr))
    return completed.returncode == 0, "" if completed.returncode == 0 else last_error_line(completed.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path, help="the folder `tf1_corpus.py checkout` wrote")
    parser.add_argument("--out", type=Path, required=True, help="where the copies, programs and recordings go")
    parser.add_argument("--time-limit", type=float, default=120.0, help="seconds per recording, check and run")
    parser.add_argument("--steps", type=int, default=20, help="lockstep steps checked (default 20)")
    parser.add_argument("--only", default="", help="only scripts whose repository/path contains this text")
    options = parser.parse_args()
    from graphmode.errors import MigrationError
    from graphmode.migrate.pipeline import describe_verdict, migrate_script

    mnist = Path(tempfile.mkdtemp(prefix="mnist-standins-"))
    write_mnist_standins(mnist)
    os.environ["GRAPHMODE_MNIST_DIR"] = str(mnist)
    keras3 = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    rows = []
    for source in read_sources():
        if options.only not in f"{source.repository}/{source.path}":
            continue
        original = options.dest / source.folder / source.path
        copy = options.out / source.folder / Path(source.path).parent
        if copy.exists():
            shutil.rmtree(copy)
        shutil.copytree(original.parent, copy)
        script = copy / original.name
        try:
            migration = migrate_script(str(script), steps=options.steps, timeout=options.time_limit, force=True)
        except MigrationError as problem:
            rows.append((source.path, "not migrated", "no", str(problem).splitlines()[0]))
            print(rows[-1], flush=True)
            continue
        except Exception as problem:  # noqa: BLE001 - a migrate bug on one script must not end the table
            rows.append((source.path, "not migrated", "no", f"migrate failed: {type(problem).__name__}: {problem}"))
            print(rows[-1], flush=True)
            continue
        runs, why = _standalone(Path(migration.output), options.time_limit, keras3)
        reason = "; ".join(f"{where}: {what}" for where, what in migration.not_migrated[:2])
        if not reason and not migration.proven:
            reason = describe_verdict(migration.verdict)
            reason += "".join(f"; {note}" for note in migration.notes if "random" in note)
        if not runs:
            reason = f"{reason}; standalone: {why}" if reason else f"standalone: {why}"
        rows.append((source.path, migration.status, "yes" if runs else "no", reason))
        print(rows[-1], flush=True)
    print("\n| script | result | runs standalone | reason |\n|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    counts = {result: sum(row[1] == result for row in rows) for result in RESULTS}
    standalone = sum(row[2] == "yes" for row in rows)
    print(f"\n{len(rows)} scripts: " + ", ".join(f"{n} {result}" for result, n in counts.items())
          + f"; {standalone} programs run standalone")
    return 0


if __name__ == "__main__":
    sys.exit(main())
