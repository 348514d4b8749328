"""The code blocks of README.md and docs/**/*.md run as tests, through Sybil.

The root ``conftest.py`` hands these pages to :data:`SYBIL`; every block below becomes one pytest
item (``README.md::line:31,column:1``). Conventions, for whoever writes a page:

- **Python blocks** (```python) run in the pytest process, in page order, through Sybil's Python
  evaluator. The blocks of one page share a namespace: a later block may use what an earlier one
  defined. Each page runs in a scratch folder of its own (its current directory while its blocks
  run) holding copies of ``examples/``, ``benchmarks/`` and ``tests/docs/files/`` (files the pages'
  commands name, such as a ``train.py``).
- **Shown output**: a plain ``` block (no language) directly after a code block, with only blank
  lines between, is that block's expected stdout; so is a block marked ``output``. Other ```text
  blocks are illustrations and are not compared. In ```console blocks ``$ `` lines are the commands
  and the other lines their expected output.
- **Numbers in a shown output** are compared as numbers, because the last digits of float results
  differ between CPUs: a number written with a point or an exponent (``0.0048``, ``1.36e-07``, the
  ``370`` of ``370.0x``) matches when ``|printed - shown| <= atol + rtol * |shown|``, by default
  ``rtol=1e-6``, ``atol=0``; a code block's markers ``rtol=X`` / ``atol=X`` state a wider tolerance
  where its output needs one. Integers (counts, shapes, steps, indices) and all other text match
  exactly, except that runs of spaces count as one (columns move when a number's width does) and
  trailing whitespace is ignored. Output that depends on the machine in other ways (timings,
  addresses, progress bars) is not shown as an output: print what does not depend on it.
- **Shell blocks** (```bash, ```sh, ```console) run with bash in the page's scratch folder, each
  command checked in turn; a failing one is named. ``pip install -e ".[extra]"`` is *checked*,
  never run (reinstalling would replace the package under test): the extra must exist in setup.cfg
  and each requirement it lists be installed at a matching version. ``python -m pytest`` (this
  suite) is left out of the block; tests/docs/test_quick_start.py runs it in the slow tier.
- **Markers**: an HTML comment on the line before a block's opening fence (blank lines allowed),
  ``<!-- docs-test: WORDS -->``, where WORDS are any of
  ``slow`` (minutes, or a cluster: the block runs only in ``python -m pytest -m slow``; a Python
  block marked slow must stand alone, importing what it uses, since the blocks around it do not run
  in that tier),
  ``output`` (this block is the expected output of the code block above),
  ``pytest`` (a Python block that is a test file: pytest runs it, with the page's names imported),
  ``setup=PATH`` (a Python file, relative to the repository root, run first: exec'd into the page's
  namespace for a Python block, ``python PATH`` in the scratch folder for a shell block),
  ``rtol=X`` / ``atol=X`` (the tolerance of the numbers in its shown output),
  ``timeout=SECONDS`` (shell blocks; default 300) and ``serves=REGEX`` (the block's last command is
  a server that runs until stopped: it passes once its output matches REGEX, and is then stopped).
- **Skips** are Sybil's own: ``<!-- skip: next "why" -->`` before a block that cannot run here
  (a second machine, the network); the reason shows in pytest's summary.
"""

from __future__ import annotations

import configparser
import contextlib
import difflib
import io
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import types
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from sybil import Document, Example, Region, Sybil
from sybil.evaluators.python import PythonEvaluator
from sybil.parsers.markdown import SkipParser
from sybil.parsers.markdown.lexers import FencedCodeBlockLexer

ROOT = Path(__file__).resolve().parents[2]
# Path.match patterns, matched from the right: README.md at the root, every page under docs/.
PAGES = ["README.md", "docs/*.md", "docs/*/*.md", "docs/*/*/*.md"]
COPIED_INTO_SCRATCH = {"examples": "examples", "benchmarks": "benchmarks", "tests/docs/files": "."}
PYTHON = {"python", "py", "python3"}
SHELL = {"bash", "sh", "shell", "console"}
# ``readme-test:``, the older name, reads the same.
MARKER = re.compile(r"<!--\s*(?:docs|readme)-test:(.*?)-->\s*\n(?:[ \t]*\n)*$")
PIP_INSTALL = re.compile(r'^pip install -e "\.\[([\w,-]+)\]"$')
TEST_COMMAND = "python -m pytest"
# No display: examples that plot must not open windows.
HEADLESS_ENV = {key: value for key, value in os.environ.items() if key not in ("DISPLAY", "WAYLAND_DISPLAY", "MPLBACKEND")}
SCRATCH_KEY = "__docs_scratch__"


@dataclass(frozen=True)
class Markers:
    """What a ``<!-- docs-test: ... -->`` comment says about the block after it."""

    slow: bool = False
    output: bool = False
    pytest: bool = False
    setup: str | None = None
    rtol: float = 1e-6
    atol: float = 0.0
    timeout: float = 300.0
    serves: str | None = None

    @classmethod
    def parse(cls, text: str) -> Markers:
        """``"slow timeout=600"`` -> ``Markers(slow=True, timeout=600.0)``; unknown words are refused."""
        flags, values = set(), {}
        for word in shlex.split(text):  # serves="a regex with spaces"
            key, equals, value = word.partition("=")
            if equals:
                values[key] = value
            else:
                flags.add(key)
        unknown = (flags - {"slow", "output", "pytest"}) | (set(values) - {"setup", "rtol", "atol", "timeout", "serves"})
        if unknown:
            raise ValueError(f"unknown docs-test marker(s) {sorted(unknown)} in '<!-- docs-test:{text}-->'; "
                             "known: slow, output, pytest, setup=, rtol=, atol=, timeout=, serves=")
        return cls(slow="slow" in flags, output="output" in flags, pytest="pytest" in flags,
                   setup=values.get("setup"), rtol=float(values.get("rtol", 1e-6)),
                   atol=float(values.get("atol", 0.0)), timeout=float(values.get("timeout", 300.0)),
                   serves=values.get("serves"))


@dataclass(frozen=True)
class Shown:
    """A block's expected output and the page line it starts on."""

    text: str
    line: int


def _line_of(document: Document, offset: int) -> int:
    return document.text.count("\n", 0, offset) + 1


class MarkdownBlockParser:
    """A Sybil parser: Python and shell fenced blocks, with their markers and shown output.

    Sybil's own Markdown lexer finds the fences; this parser adds what Sybil has no notion of:
    the output block that follows a code block, the markers before it, and shell blocks.
    """

    def __init__(self) -> None:
        self.lexer = FencedCodeBlockLexer(language=r"[\w+-]*")

    def __call__(self, document: Document):
        blocks = sorted(self.lexer(document), key=lambda region: region.start)
        previous_end = 0
        pending: Region | None = None  # the last code block, while an output block may still follow
        for region in blocks:
            language = region.lexemes["language"].lower()
            gap = document.text[previous_end:region.start]
            marker = MARKER.search(gap)
            markers = Markers.parse(marker.group(1)) if marker else Markers()
            only_blank = not gap.strip()
            if pending is not None and (markers.output or (language == "" and only_blank)):
                pending.lexemes["shown"] = Shown(str(region.lexemes["source"]), _line_of(document, region.start) + 1)
                pending.end = region.end
                yield pending
                pending = None
            else:
                if pending is not None:
                    yield pending
                    pending = None
                if markers.output:
                    raise ValueError(f"{document.path} line {_line_of(document, region.start)}: a block marked "
                                     "output with no code block before it")
                evaluator = _EVALUATORS.get("pytest" if markers.pytest and language in PYTHON else
                                            "python" if language in PYTHON else
                                            "shell" if language in SHELL else "")
                if evaluator is not None:
                    region.lexemes["markers"] = markers
                    region.parsed = region.lexemes["source"]
                    region.evaluator = evaluator
                    if language == "console":
                        commands, expected = console_commands(str(region.parsed))
                        if expected.strip():
                            region.lexemes["shown"] = Shown(expected, _line_of(document, region.start) + 1)
                    pending = region
            previous_end = region.end
        if pending is not None:
            yield pending


# ---------------------------------------------------------------------------------------------
# Shown output


# A number: not the tail of a name (``w1``, ``Adam_1``); a unit may follow (``370x``, ``5s``).
NUMBER = re.compile(r"(?<![\w.])([-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?)(?![.\d])")
SPACES = re.compile(r"\s+")


def _is_float(token: str) -> bool:
    return any(mark in token for mark in ".eE")


def lines_match(expected: str, actual: str, rtol: float, atol: float) -> bool:
    """One shown line against one printed line: text exact (runs of spaces as one), numbers with tolerance."""
    shown, printed = NUMBER.split(expected), NUMBER.split(actual)
    if len(shown) != len(printed):
        return False
    for index, (a, b) in enumerate(zip(shown, printed)):
        if index % 2 == 0:  # the text between numbers
            if SPACES.sub(" ", a) != SPACES.sub(" ", b):
                return False
        elif _is_float(a) or _is_float(b):
            if not abs(float(b) - float(a)) <= atol + rtol * abs(float(a)):
                return False
        elif int(a) != int(b):
            return False
    return True


def _normalized(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def output_difference(example: Example, printed: str) -> str | None:
    """None when ``printed`` matches the block's shown output (if any), else a diff naming the lines."""
    shown: Shown | None = example.region.lexemes.get("shown")
    if shown is None:
        return None
    markers: Markers = example.region.lexemes["markers"]
    expected, actual = _normalized(shown.text), _normalized(printed)
    if len(expected) == len(actual) and all(lines_match(a, b, markers.rtol, markers.atol) for a, b in zip(expected, actual)):
        return None
    page = Path(example.path).name
    diff = "\n".join(difflib.unified_diff(expected, actual, f"{page} line {shown.line} (shown)",
                                          f"printed by the block at line {example.line}", lineterm=""))
    return (f"{page} line {example.line}: the output the page shows differs from what the code prints "
            f"(numbers within rtol={markers.rtol:g}, atol={markers.atol:g})\n{diff}")


# ---------------------------------------------------------------------------------------------
# Python blocks

_run_python = PythonEvaluator()


def _run_setup_into(example: Example) -> None:
    setup = example.region.lexemes["markers"].setup
    if setup:
        exec(compile((ROOT / setup).read_text(), str(ROOT / setup), "exec"), example.namespace)
        example.namespace.pop("__builtins__", None)


def evaluate_python(example: Example) -> str | None:
    """Runs a Python block (Sybil's evaluator), its stdout captured and compared with the shown output."""
    _run_setup_into(example)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        _run_python(example)
    return output_difference(example, printed.getvalue())


def evaluate_pytest_block(example: Example) -> str | None:
    """Runs a Python block that is a test file with pytest, the page's names importable into it."""
    _run_setup_into(example)
    tag = f"{Path(example.path).stem.replace('-', '_').replace('.', '_')}_{example.line}"
    module = types.ModuleType(f"docs_namespace_{tag}")
    module.__dict__.update({key: value for key, value in example.namespace.items() if not key.startswith("__")})
    sys.modules[module.__name__] = module
    folder = Path(tempfile.mkdtemp(prefix="docs-pytest-"))
    test_file = folder / f"test_docs_block_{tag}.py"
    # The import on line 1, the block on its page lines below it: tracebacks give page line numbers.
    test_file.write_text(f"from {module.__name__} import *  # noqa\n" + "\n" * max(0, example.line - 1) + str(example.parsed))
    try:
        status = pytest.main([str(test_file), "-q", "-p", "no:cacheprovider", "-o", "addopts=", "--rootdir", str(folder)])
    finally:
        sys.modules.pop(module.__name__, None)
        sys.modules.pop(test_file.stem, None)
        shutil.rmtree(folder, ignore_errors=True)
    if status != 0:
        return f"pytest exited {int(status)} on the block at line {example.line} (5 means it collected no test)"
    return None


# ---------------------------------------------------------------------------------------------
# Shell blocks


def logical_commands(text: str) -> list[str]:
    """Splits a shell block into whole commands (a quoted value may span lines), as bash parses it."""
    commands, current = [], []
    for line in text.splitlines():
        current.append(line)
        candidate = "\n".join(current)
        if not candidate.strip() or candidate.rstrip().endswith("\\"):
            continue
        if subprocess.run(["bash", "-n", "-c", candidate], capture_output=True).returncode == 0:
            if any(not part.strip().startswith("#") for part in current if part.strip()):
                commands.append(candidate)
            current = []
    if any(part.strip() for part in current):
        commands.append("\n".join(current))  # bash will report the syntax error when it runs
    return commands


def console_commands(text: str) -> tuple[list[str], str]:
    """A ```console block's ``$ `` commands, and the rest: their expected output."""
    commands, output = [], []
    for line in text.splitlines():
        if line.startswith("$ "):
            commands.append(line[2:])
        else:
            output.append(line)
    return commands, "\n".join(output)


def check_pip_install(extras: str, where: str) -> None:
    """What ``pip install -e ".[extras]"`` promises, checked without reinstalling the package under test."""
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    declared = config["options.extras_require"] if config.has_section("options.extras_require") else {}
    required = list(config["options"]["install_requires"].splitlines())
    for extra in extras.split(","):
        if extra not in declared:
            pytest.fail(f"{where}: installs the extra '{extra}', which setup.cfg does not declare "
                        f"(it has {sorted(declared)})", pytrace=False)
        required += declared[extra].splitlines()
    assert metadata.version("graphmode"), "graphmode is not installed"
    for line in required:
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement = Requirement(line)
        try:
            installed = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            pytest.fail(f"{where}: '{line}' (extra '{extras}') is not installed", pytrace=False)
        if not requirement.specifier.contains(installed, prereleases=True):
            pytest.fail(f"{where}: '{line}' is required but {requirement.name} {installed} is installed", pytrace=False)


def shell_script(commands: list[str], where: str) -> str:
    """The bash script for a block: each command as printed, then a check that names it if it failed.

    ``pip install -e ".[extra]"`` parts are checked here (:func:`check_pip_install`) and left out, and
    so is ``python -m pytest`` (the suite would run itself).
    """
    lines = ["set -o pipefail"]
    for command in commands:
        parts = [part.strip() for part in command.split(" && ")] if " && " in command and "\n" not in command else [command]
        kept = []
        for part in parts:
            pip = PIP_INSTALL.match(part)
            if pip:
                check_pip_install(pip.group(1), where)
            elif not part.startswith(TEST_COMMAND):
                kept.append(part)
        if not kept:
            continue
        shown = command.replace("'", "'\\''")
        lines += [" && ".join(kept), f"status=$?; if [ $status -ne 0 ]; then echo 'command failed (exit '$status'): {shown}' >&2; "
                  "exit $status; fi"]
    return "\n".join(lines) + "\n"


def _scratch(example: Example) -> Path:
    return Path(example.namespace[SCRATCH_KEY])


def evaluate_shell(example: Example) -> str | None:
    """Runs a shell block in the page's scratch folder; compares its stdout with the shown output."""
    markers: Markers = example.region.lexemes["markers"]
    where = f"{Path(example.path).name} line {example.line}"
    text = str(example.parsed)
    commands = console_commands(text)[0] if example.region.lexemes["language"] == "console" else logical_commands(text)
    folder = _scratch(example)
    if markers.setup:
        subprocess.run([sys.executable, str(ROOT / markers.setup)], cwd=folder, env=HEADLESS_ENV, check=True,
                       timeout=markers.timeout)
    script = shell_script(commands, where)
    environment = dict(HEADLESS_ENV, PATH=f"{Path(sys.executable).parent}{os.pathsep}{HEADLESS_ENV.get('PATH', '')}")
    if markers.serves:
        return run_server(script, folder, environment, re.compile(markers.serves), markers.timeout, where)
    try:
        done = subprocess.run(["bash", "-c", script], cwd=folder, env=environment, capture_output=True, text=True,
                              timeout=markers.timeout)
    except subprocess.TimeoutExpired:
        return f"{where}: still running after {markers.timeout:.0f} s (mark it slow, or timeout=SECONDS)"
    if done.returncode != 0:
        return f"{where} failed, exit {done.returncode}\nstdout:\n{done.stdout[-4000:]}\nstderr:\n{done.stderr[-6000:]}"
    return output_difference(example, done.stdout)


def run_server(script: str, folder: Path, environment: dict, ready: re.Pattern, timeout: float, where: str) -> str | None:
    """Runs a script whose last command serves until stopped: it must print ``ready``, then is stopped."""
    log = folder / f".serve-{os.getpid()}-{time.monotonic_ns()}.log"
    with open(log, "w") as stream:
        process = subprocess.Popen(["bash", "-c", script], cwd=folder, env=environment, stdout=stream,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and process.poll() is None and not ready.search(log.read_text()):
            time.sleep(0.5)
        output = log.read_text()
        if not ready.search(output):
            state = "still running" if process.poll() is None else f"ended with exit {process.returncode}"
            return f"{where}: the server never printed /{ready.pattern}/ ({state})\n{output[-6000:]}"
        return None
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


_EVALUATORS = {"python": evaluate_python, "pytest": evaluate_pytest_block, "shell": evaluate_shell}


# ---------------------------------------------------------------------------------------------
# A page's scratch folder: its working directory while its blocks run


def enter_scratch(namespace: dict) -> None:
    folder = Path(tempfile.mkdtemp(prefix="docs-page-"))
    for source, target in COPIED_INTO_SCRATCH.items():
        if (ROOT / source).is_dir():
            shutil.copytree(ROOT / source, folder / target, dirs_exist_ok=True)
    namespace[SCRATCH_KEY] = str(folder)
    namespace["__docs_previous_cwd__"] = os.getcwd()
    os.chdir(folder)


def leave_scratch(namespace: dict) -> None:
    os.chdir(namespace.pop("__docs_previous_cwd__"))
    shutil.rmtree(namespace.pop(SCRATCH_KEY), ignore_errors=True)


def is_slow(item: pytest.Item) -> bool:
    """True for a page block marked ``slow`` (the root conftest gives it pytest's ``slow`` mark)."""
    example = getattr(item, "example", None)
    markers = None if example is None else example.region.lexemes.get("markers")
    return bool(markers and markers.slow)


SYBIL = Sybil(parsers=[MarkdownBlockParser(), SkipParser()], patterns=PAGES, path=str(ROOT),
              setup=enter_scratch, teardown=leave_scratch)
