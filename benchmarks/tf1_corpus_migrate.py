"""``graphmode migrate`` over the public TF1 corpus: how many migrate, pass lockstep, run standalone.

The corpus is ``benchmarks/tf1_corpus/sources.tsv`` laid out by ``tf1_corpus.py checkout`` (see
that script). Each listed script is migrated with a time limit on its recording and on the
check (after its recorded steps the recording fast-forwards and stops once every run call site
was seen, see docs/migrate.md), and the written program, when there is one, is run on its own
with ``python`` (no ``TF_USE_LEGACY_KERAS``) from the script's folder, with the same limit: it
*runs standalone* when it exits 0, or is still running at the limit with nothing on its standard
error that looks like a failure.

Each script runs where the checkout has it, among the data and modules of its whole repository
(tutorials read ``../data`` and import helpers from the folders above): its repository is copied
whole under ``--out`` for it, so nothing the script, the migration or the program writes
(checkpoints, logs, downloads, the program itself) lands in the checkout. The checkout's files
are listed with their sizes and modification times before and after, and the table ends with
whether they are unchanged.

Usage:
    python benchmarks/tf1_corpus.py checkout --clones CLONES --dest corpus
    python benchmarks/tf1_corpus_migrate.py corpus --out migrated [--time-limit 120] [--jobs 2] [--only TEXT]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
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


def _files(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` with its size and modification time (ns)."""
    found = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            stat = os.lstat(path)
            found[os.path.relpath(path, root)] = (stat.st_size, stat.st_mtime_ns)
    return found


def _migrate_one(number: int, source, dest: Path, out: Path, options: argparse.Namespace,
                 keras3: dict[str, str]) -> tuple[str, str, str, str]:
    from graphmode.errors import MigrationError
    from graphmode.migrate.pipeline import describe_verdict, migrate_script

    # A fresh copy of the whole repository for each script: its data, helper modules and outputs.
    repository = out / f"{number:02d}-{source.folder}"
    if repository.exists():
        shutil.rmtree(repository)
    shutil.copytree(dest / source.folder, repository, symlinks=True)
    script = repository / source.path
    try:
        migration = migrate_script(str(script), steps=options.steps, timeout=options.time_limit, force=True)
    except MigrationError as problem:
        first, _, rest = str(problem).replace(f"{repository}{os.sep}", "").partition("\n")
        cause = last_error_line(rest) if rest.strip() else ""
        return (source.path, "not migrated", "no", f"{first.rstrip(':')}: {cause}" if cause else first)
    except Exception as problem:  # noqa: BLE001 - a migrate bug on one script must not end the table
        return (source.path, "not migrated", "no", f"migrate failed: {type(problem).__name__}: {problem}")
    runs, why = _standalone(Path(migration.output), options.time_limit, keras3)
    reason = "; ".join(f"{where}: {what}" for where, what in migration.not_migrated[:2])
    if not reason and not migration.proven:
        reason = describe_verdict(migration.verdict)
        reason += "".join(f"; {note}" for note in migration.notes if "random" in note)
    if any(note.startswith("recording: after") for note in migration.notes):
        reason = f"{reason}; fast-forwarded" if reason else "fast-forwarded"
    if not runs:
        reason = f"{reason}; standalone: {why}" if reason else f"standalone: {why}"
    return (source.path, migration.status, "yes" if runs else "no", reason)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path, help="the folder `tf1_corpus.py checkout` wrote (never written to)")
    parser.add_argument("--out", type=Path, required=True, help="where the copies, programs and recordings go")
    parser.add_argument("--time-limit", type=float, default=120.0, help="seconds per recording, check and run")
    parser.add_argument("--steps", type=int, default=20, help="lockstep steps checked (default 20)")
    parser.add_argument("--jobs", type=int, default=1, help="scripts migrated at once (default 1)")
    parser.add_argument("--only", default="", help="only scripts whose repository/path contains this text")
    options = parser.parse_args()
    dest, out = options.dest.resolve(), options.out.resolve()
    if out == dest or dest in out.parents:
        parser.error(f"--out {out} is inside the checkout {dest}; the checkout is never written to")
    out.mkdir(parents=True, exist_ok=True)

    mnist = Path(tempfile.mkdtemp(prefix="mnist-standins-"))
    write_mnist_standins(mnist)
    os.environ["GRAPHMODE_MNIST_DIR"] = str(mnist)
    keras3 = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    chosen = [(number, source) for number, source in enumerate(read_sources(), 1)
              if options.only in f"{source.repository}/{source.path}"]
    before = _files(dest)

    def one(item):
        row = _migrate_one(*item, dest, out, options, keras3)
        print(row, flush=True)
        return row

    with ThreadPoolExecutor(max_workers=max(1, options.jobs)) as pool:
        rows = list(pool.map(one, chosen))
    after = _files(dest)
    print("\n| script | result | runs standalone | reason |\n|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    counts = {result: sum(row[1] == result for row in rows) for result in RESULTS}
    standalone = sum(row[2] == "yes" for row in rows)
    print(f"\n{len(rows)} scripts: " + ", ".join(f"{n} {result}" for result, n in counts.items())
          + f"; {standalone} programs run standalone")
    changed = sorted(path for path in before.keys() | after.keys() if before.get(path) != after.get(path))
    if changed:
        print(f"the checkout {dest} CHANGED: {len(changed)} file(s), e.g. {changed[:5]}")
        return 1
    print(f"the checkout {dest} is unchanged: {len(before)} files, sizes and modification times as before")
    return 0


if __name__ == "__main__":
    sys.exit(main())
