"""How much unmodified TF1 code runs: a corpus of public TF1 scripts through three routes.

The corpus is a list of (repository, commit, path) in ``benchmarks/tf1_corpus/sources.tsv``;
the scripts themselves are other people's code and are not part of this project. Get them
with git, then run them:

    # one clone per repository, named OWNER+NAME
    git clone https://github.com/nlintz/TensorFlow-Tutorials clones/nlintz+TensorFlow-Tutorials  # ... each row
    python benchmarks/tf1_corpus.py checkout --clones clones --dest corpus
    python benchmarks/tf1_corpus.py run corpus --mnist-standins --json runs.json
    python benchmarks/tf1_corpus.py verdicts corpus runs.json --mnist-standins  # graphmode scan vs the runs

``checkout`` lays each repository out at its listed commit, so scripts find
the helper modules and data files that sit next to them. ``run`` runs every listed script with
its own folder as the working directory, standard input closed and a time limit, through:

* ``graphmode``: ``graphmode run SCRIPT`` (unmodified);
* ``plain``: ``python SCRIPT`` on TensorFlow 2 as installed (unmodified);
* ``compat``: ``python`` on a copy whose ``import tensorflow as tf`` is replaced by the one-line
  edit ``import tensorflow.compat.v1 as tf; tf.disable_v2_behavior()``.

A script *runs* when it exits 0, or when it is still training at the time limit with nothing on
its standard error that looks like a failure (``runs*`` in the table: long trainings are cut, not
judged). Anything else is a failure, with the last line of its traceback as the cause.
``--mnist-standins`` writes MNIST-format files (scikit-learn's 8x8 digits scaled to 28x28 and
repeated to MNIST's sizes) into a temporary folder named by ``GRAPHMODE_MNIST_DIR``, for machines
that cannot download MNIST: they let the scripts run, not learn real MNIST.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import gzip
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

SOURCES = Path(__file__).with_name("tf1_corpus") / "sources.tsv"
MODES = ("graphmode", "plain", "compat")
SCRIPTS_PER_REPOSITORY = 5
# Where each repository keeps its tutorial scripts (a path prefix), for `select`.
TUTORIAL_FOLDERS = {
    "aymericdamien/TensorFlow-Examples": "tensorflow_v1/examples/",
    "nlintz/TensorFlow-Tutorials": "",
    "golbin/TensorFlow-Tutorials": "",
    "MorvanZhou/Tensorflow-Tutorial": "tutorial-contents/",
    "MorvanZhou/tutorials": "tensorflowTUT/",
    "hunkim/DeepLearningZeroToAll": "lab-",
    "pkmital/tensorflow_tutorials": "python/",
    "chiphuyen/stanford-tensorflow-tutorials": "2017/examples/",
    "dennybritz/cnn-text-classification-tf": "train.py",
    "carpedm20/DCGAN-tensorflow": "main.py",
    "sherjilozair/char-rnn-tensorflow": "train.py",
    "hunkim/word-rnn-tensorflow": "train.py",
    "jorditorresBCN/FirstContactWithTensorFlow": "",
    "wiseodd/generative-models": "",
    "nfmcclure/tensorflow_cookbook": "",
}
COMPAT_IMPORT = "import tensorflow.compat.v1 as tf; tf.disable_v2_behavior()"
_FAILURE_HINT = re.compile(r"^(Traceback \(most recent call last\)|\w+(Error|Exception):|Segmentation fault)", re.M)


@dataclasses.dataclass(frozen=True)
class Source:
    """One script of the corpus."""

    repository: str
    commit: str
    path: str

    @property
    def folder(self) -> str:
        """The repository's folder name under a clone or checkout root (``OWNER+NAME``)."""
        return self.repository.replace("/", "+")


@dataclasses.dataclass(frozen=True)
class Outcome:
    """How one script ended under one route."""

    status: str  # "ok", "running" (cut at the time limit) or "failed"
    seconds: float
    cause: str = ""

    @property
    def runs(self) -> bool:
        return self.status in ("ok", "running")


def read_sources(path: Path = SOURCES) -> list[Source]:
    """Reads the tab-separated corpus list (lines starting with ``#`` are comments)."""
    rows = [line for line in path.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    reader = csv.DictReader(rows, delimiter="\t")
    missing = {"repository", "commit", "path"} - set(reader.fieldnames or ())
    if missing:
        raise SystemExit(f"{path}: the header lacks the column(s) {sorted(missing)}")
    return [Source(row["repository"], row["commit"], row["path"]) for row in reader]


def _git(clone: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(clone), *args], check=True, capture_output=True, **kwargs)


def runs_as_tf1_script(source_text: str) -> bool:
    """The selection rule's test: the file opens a ``tf.Session`` and runs as a script."""
    if "Session(" not in source_text:
        return False
    return "__main__" in source_text or bool(
        re.search(r"^\s*(with tf\.Session|sess ?= ?tf\.Session|sess\.run)", source_text, re.M))


def select(clones: Path, folders: dict[str, str], per_repository: int = SCRIPTS_PER_REPOSITORY) -> list[Source]:
    """Applies the selection rule to each clone's HEAD (``folders``: repository -> path prefix)."""
    chosen = []
    for repository, prefix in folders.items():
        clone = clones / repository.replace("/", "+")
        commit = _git(clone, "rev-parse", "HEAD", text=True).stdout.strip()
        names = _git(clone, "ls-tree", "-r", "--name-only", "HEAD", text=True).stdout.splitlines()
        candidates = [
            name for name in sorted(names)
            if name.endswith(".py") and name.startswith(prefix)
            and runs_as_tf1_script(_git(clone, "show", f"HEAD:{name}", text=True).stdout)
        ]
        count = len(candidates)
        for index in sorted({round(i * count / per_repository) for i in range(per_repository)} & set(range(count))):
            chosen.append(Source(repository, commit, candidates[index]))
    return chosen


def checkout(sources: Sequence[Source], clones: Path, dest: Path) -> None:
    """Writes each repository's tree at its listed commit to ``dest/OWNER+NAME``.

    Blobs the clone lacks (a shallow or partial clone's large files) are skipped and counted.
    """
    for repository, commit in sorted({(s.folder, s.commit) for s in sources}):
        clone, target = clones / repository, dest / repository
        if not clone.exists():
            raise SystemExit(f"no clone of {repository.replace('+', '/')} at {clone}: "
                             f"git clone https://github.com/{repository.replace('+', '/')} {clone}")
        listing = _git(clone, "ls-tree", "-r", "-z", commit).stdout.decode().split("\0")
        entries = [line.split("\t", 1) for line in listing if line]
        blobs = [(meta.split()[2], path) for meta, path in entries if meta.split()[1] == "blob"]
        batch = _git(clone, "cat-file", "--batch", input="".join(f"{sha}\n" for sha, _ in blobs).encode()).stdout
        offset, missing = 0, 0
        for _, path in blobs:
            header_end = batch.index(b"\n", offset)
            header = batch[offset:header_end].split()
            offset = header_end + 1
            if header[1] == b"missing":
                missing += 1
                continue
            size = int(header[2])
            file = target / path
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_bytes(batch[offset:offset + size])
            offset += size + 1
        print(f"{repository}: {commit[:12]} -> {target} ({len(blobs) - missing} files, {missing} not in the clone)")


def _idx(path: Path, array) -> None:
    header = struct.pack(">I", 0x0800 | array.ndim) + b"".join(struct.pack(">I", n) for n in array.shape)
    with gzip.open(path, "wb", compresslevel=1) as stream:
        stream.write(header + array.astype("uint8").tobytes())


def write_mnist_standins(folder: Path) -> None:
    """MNIST's four IDX files, made from scikit-learn's digits (8x8, 0-16) at 28x28, 0-255."""
    import numpy as np
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.kron(digits.images, np.ones((3, 3)))  # 24x24
    images = np.pad(images, ((0, 0), (2, 2), (2, 2))) * (255.0 / 16.0)
    for prefix, count in (("train", 60000), ("t10k", 10000)):
        order = np.resize(np.arange(len(images)), count)
        _idx(folder / f"{prefix}-images-idx3-ubyte.gz", images[order].round())
        _idx(folder / f"{prefix}-labels-idx1-ubyte.gz", digits.target[order])


def _compat_copy(script: Path) -> Path:
    text = script.read_text(encoding="utf-8", errors="surrogateescape")
    edited = re.sub(r"^(\s*)import tensorflow as tf\s*$", rf"\g<1>{COMPAT_IMPORT}", text, flags=re.M)
    copy = script.with_name(f".compat_{script.name}")
    copy.write_text(edited, encoding="utf-8", errors="surrogateescape")
    return copy


def _command(mode: str, script: Path) -> list[str]:
    if mode == "graphmode":
        return [sys.executable, "-m", "graphmode", "run", script.name]
    return [sys.executable, script.name]


def last_error_line(stderr: str) -> str:
    """The exception line that ended a traceback (or the last non-empty line)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in reversed(lines):
        if re.match(r"^[\w.]+(Error|Exception|Exit|Interrupt)\b", line) or line.startswith("Segmentation fault"):
            return line[:300]
    return lines[-1][:300] if lines else ""


def run_one(script: Path, mode: str, time_limit: float, env: dict[str, str]) -> Outcome:
    """Runs ``script`` under ``mode`` in its own folder and says how it ended."""
    target = _compat_copy(script) if mode == "compat" else script
    start = time.perf_counter()
    process = subprocess.Popen(_command(mode, target), cwd=script.parent, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, start_new_session=True)
    try:
        _, stderr = process.communicate(timeout=time_limit)
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        _, stderr = process.communicate()
        timed_out = True
    finally:
        if target is not script:
            target.unlink(missing_ok=True)
    seconds = time.perf_counter() - start
    text = stderr.decode("utf-8", "replace")
    if timed_out:
        failed = _FAILURE_HINT.search(text)
        return Outcome("failed", seconds, last_error_line(text)) if failed else Outcome("running", seconds)
    if process.returncode == 0:
        return Outcome("ok", seconds)
    return Outcome("failed", seconds, last_error_line(text) or f"exit code {process.returncode}")


CAUSE_FAMILIES = (
    ("MNIST input_data", r"tensorflow\.examples|tutorials\.mnist|input_data|read_data_sets|MNIST"),
    ("tf.contrib", r"contrib"),
    ("tf.estimator", r"estimator"),
    ("TF1 API missing (plain TF2)", r"has no attribute '(placeholder|Session|get_variable|variable_scope|train|"
                                    r"global_variables_initializer|random_normal|truncated_normal|summary|"
                                    r"disable_v2_behavior|layers|nn|app|flags|InteractiveSession|set_random_seed|"
                                    r"initialize_all_variables)"),
    ("data or files not shipped", r"FileNotFoundError|No such file|\bNotFoundError|OSError|IOError"),
    ("network download", r"URLError|urlopen|Temporary failure in name resolution|HTTP|socket"),
    ("another package missing", r"ModuleNotFoundError|ImportError"),
    ("Python 2 code", r"SyntaxError|print |xrange|NameError: name '(xrange|unicode|raw_input)'"),
)


def cause_family(cause: str) -> str:
    """Groups a failure line into the families the README reports."""
    for family, pattern in CAUSE_FAMILIES:
        if re.search(pattern, cause):
            return family
    return "other"


def run_corpus(dest: Path, sources: Sequence[Source], modes: Iterable[str], time_limit: float,
               mnist_dir: Path | None, jobs: int = 1) -> dict[tuple[str, str], Outcome]:
    """Runs every script under every mode, ``jobs`` at a time; prints one line per run as it ends (stderr)."""
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONUNBUFFERED="1")
    if mnist_dir is not None:
        env["GRAPHMODE_MNIST_DIR"] = str(mnist_dir)
    modes = list(modes)

    def one(source: Source, mode: str) -> Outcome:
        script = dest / source.folder / source.path
        outcome = run_one(script, mode, time_limit, env) if script.exists() else Outcome(
            "failed", 0.0, f"not checked out: {script}")
        print(f"{mode:9s} {outcome.status:7s} {outcome.seconds:5.1f}s  {source.repository}/{source.path}"
              f"  {outcome.cause}", file=sys.stderr, flush=True)
        return outcome

    def routes(source: Source) -> list[Outcome]:
        # One script's routes one after the other: they share its folder (outputs, checkpoints).
        return [one(source, mode) for mode in modes]

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = list(pool.map(routes, sources))
    return {(f"{source.repository}/{source.path}", mode): outcome
            for source, outcomes in zip(sources, results) for mode, outcome in zip(modes, outcomes)}


def format_table(outcomes: dict[tuple[str, str], Outcome], modes: Sequence[str]) -> str:
    """A table (script x mode), the share that runs per mode and the failure causes per family."""
    scripts = list(dict.fromkeys(name for name, _ in outcomes))
    marks = {"ok": "runs", "running": "runs*", "failed": "FAILS"}
    width = max(len(name) for name in scripts)
    lines = [f"{'script':{width}s}  " + "  ".join(f"{mode:9s}" for mode in modes)]
    for name in scripts:
        lines.append(f"{name:{width}s}  " + "  ".join(f"{marks[outcomes[name, mode].status]:9s}" for mode in modes))
    lines.append("")
    repositories = {name.split("/")[0] + "/" + name.split("/")[1] for name in scripts}
    lines.append(f"{len(scripts)} scripts from {len(repositories)} repositories "
                 "(runs* = still running at the time limit, no error)")
    for mode in modes:
        runs = sum(outcomes[name, mode].runs for name in scripts)
        cut = sum(outcomes[name, mode].status == "running" for name in scripts)
        lines.append(f"{mode:9s} runs {runs}/{len(scripts)} ({100 * runs / len(scripts):.0f}%), {cut} of them cut")
        families = Counter(cause_family(outcomes[name, mode].cause) for name in scripts if not outcomes[name, mode].runs)
        for family, count in families.most_common():
            lines.append(f"          {count:3d} failed: {family}")
    return "\n".join(lines)


VERDICTS = ("runs as it is", "runs if it gets the data", "stops")


def scan_verdicts(dest: Path, sources: Sequence[Source]) -> dict[str, tuple[str, str]]:
    """``graphmode scan``'s verdict for each script (checked out under ``dest``), in its own folder.

    Returns:
        script name -> (one of :data:`VERDICTS`, the verdict line).
    """
    from graphmode.scan import scan_files

    verdicts = {}
    here = os.getcwd()
    for source in sources:
        script = dest / source.folder / source.path
        os.chdir(script.parent)  # MNIST folders are relative to where the script runs
        try:
            verdict = scan_files([script.name]).verdicts[0]
        finally:
            os.chdir(here)
        kind = VERDICTS[0] if verdict.runs else VERDICTS[1] if not verdict.stops else VERDICTS[2]
        verdicts[f"{source.repository}/{source.path}"] = (kind, verdict.format_line())
    return verdicts


def format_verdicts(verdicts: dict[str, tuple[str, str]], outcomes: dict[tuple[str, str], Outcome]) -> str:
    """How often the scan's verdict matched the ``graphmode`` route's run, per verdict."""
    lines = []
    for kind in VERDICTS:
        names = [name for name, (k, _) in verdicts.items() if k == kind and (name, "graphmode") in outcomes]
        ran = sum(outcomes[name, "graphmode"].runs for name in names)
        right = ran if kind != "stops" else len(names) - ran
        lines.append(f"scan says {kind!r}: {len(names)} scripts, {ran} ran under graphmode run "
                     f"(the verdict was right for {right})")
        for name in names:
            if outcomes[name, "graphmode"].runs == (kind == "stops"):
                lines.append(f"    wrong: {name}: {verdicts[name][1].split(': ', 1)[1][:160]} | run: "
                             f"{outcomes[name, 'graphmode'].status} {outcomes[name, 'graphmode'].cause[:120]}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=Path, default=SOURCES, help="corpus list (default: %(default)s)")
    commands = parser.add_subparsers(dest="command", required=True)
    pick = commands.add_parser("select", help="apply the selection rule to fresh clones; print a sources list")
    pick.add_argument("--clones", type=Path, required=True, help="folder with one git clone per repository (OWNER+NAME)")
    get = commands.add_parser("checkout", help="lay out each listed repository at its commit")
    get.add_argument("--clones", type=Path, required=True, help="folder with one git clone per repository (OWNER+NAME)")
    get.add_argument("--dest", type=Path, required=True)
    run = commands.add_parser("run", help="run the listed scripts and print the table")
    run.add_argument("dest", type=Path, help="the folder `checkout` wrote")
    run.add_argument("--modes", default=",".join(MODES), help="comma-separated, of: " + ", ".join(MODES))
    run.add_argument("--time-limit", type=float, default=40.0, help="seconds per script and mode (default 40)")
    run.add_argument("--mnist-standins", action="store_true", help="provide MNIST-format stand-in files")
    run.add_argument("--only", default="", help="run only scripts whose repository/path contains this text")
    run.add_argument("--json", type=Path, help="also write the outcomes to this file")
    run.add_argument("--jobs", type=int, default=1, help="scripts run side by side (default 1)")
    report = commands.add_parser("report", help="print the table from the --json files of one or more runs")
    report.add_argument("json_files", type=Path, nargs="+")
    judge = commands.add_parser("verdicts", help="compare graphmode scan's verdicts with the runs of --json files")
    judge.add_argument("dest", type=Path, help="the folder `checkout` wrote")
    judge.add_argument("json_files", type=Path, nargs="+")
    judge.add_argument("--mnist-standins", action="store_true", help="scan with the stand-ins the runs had")
    args = parser.parse_args(argv)

    if args.command == "select":
        print("repository\tcommit\tpath")
        for source in select(args.clones, TUTORIAL_FOLDERS):
            print(f"{source.repository}\t{source.commit}\t{source.path}")
        return 0
    if args.command in ("report", "verdicts"):
        outcomes = {}
        for path in args.json_files:
            for row in json.loads(path.read_text(encoding="utf-8")):
                outcomes[row["script"], row["mode"]] = Outcome(row["status"], row["seconds"], row["cause"])
        if args.command == "report":
            print(format_table(outcomes, [mode for mode in MODES if any(m == mode for _, m in outcomes)]))
            return 0
        with tempfile.TemporaryDirectory(prefix="tf1-corpus-mnist-") as mnist:
            if args.mnist_standins:
                write_mnist_standins(Path(mnist))
                os.environ["GRAPHMODE_MNIST_DIR"] = mnist
            print(format_verdicts(scan_verdicts(args.dest, read_sources(args.sources)), outcomes))
        return 0
    sources = read_sources(args.sources)
    if args.command == "checkout":
        checkout(sources, args.clones, args.dest)
        return 0
    modes = [mode for mode in args.modes.split(",") if mode]
    unknown = set(modes) - set(MODES)
    if unknown:
        parser.error(f"unknown mode(s) {sorted(unknown)}; choose from {', '.join(MODES)}")
    sources = [s for s in sources if args.only in f"{s.repository}/{s.path}"]
    with tempfile.TemporaryDirectory(prefix="tf1-corpus-mnist-") as mnist:
        mnist_dir = None
        if args.mnist_standins:
            mnist_dir = Path(mnist)
            write_mnist_standins(mnist_dir)
        outcomes = run_corpus(args.dest, sources, modes, args.time_limit, mnist_dir, args.jobs)
    print(format_table(outcomes, modes))
    if args.json:
        args.json.write_text(json.dumps(
            [{"script": name, "mode": mode, **dataclasses.asdict(outcome)} for (name, mode), outcome in outcomes.items()],
            indent=1))
    return 0


if __name__ == "__main__":
    shutil.which("git") or sys.exit("git is needed to check the corpus out")
    sys.exit(main())
