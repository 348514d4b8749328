"""Every block README.md shows runs as printed, and the outputs it shows are what the code prints.

Conventions (also for whoever edits the README):

- **Python blocks** (```python) run in one process of their own (``tests/readme_runner.py``, forked
  with graphmode imported: ``tests/preimported.py``), in README order. The blocks of one ``##`` section (its ``###`` subsections included) share a namespace, so a
  later block may use what an earlier one defined; each section starts empty. A block that raises
  stops the rest of its section.
- **Shown output**: a plain ``` block (no language) directly after a code block, with only blank
  lines between, is that block's expected stdout; so is any block marked ``output`` (it belongs to
  the nearest code block above it). Other ```text blocks are illustrations and are not compared.
- **Numbers in a shown output** are compared as numbers, because the last digits of float results
  differ between CPUs: a number written with a point or an exponent (``0.0048``, ``1.36e-07``)
  matches when ``|printed - shown| <= atol + rtol * |shown|``, by default ``rtol=1e-6``, ``atol=0``;
  the code block's markers ``rtol=X`` / ``atol=X`` state a wider tolerance where its output needs
  one. Integers (counts, shapes, steps, indices) and all other text must match exactly, except that
  runs of spaces count as one (columns move when a number's width does) and trailing whitespace is
  ignored.
- **Shell blocks** (```bash, ```sh, ```console) run with bash, each command checked in turn, in a
  scratch folder holding copies of ``examples/``, ``benchmarks/`` and ``tests/readme_files/`` (files
  the README's commands name, such as a ``train.py``). In ```console blocks ``$ `` lines are the
  commands and the other lines their expected output.
- **The quick start** (``pip install -e ".[extra]" && ...``): the ``pip install`` part is *checked*,
  never executed, in both tiers — reinstalling would replace the package under test; the test asserts
  that the extra exists in setup.cfg and that every requirement it lists is installed at a matching
  version. ``python -m pytest`` is this suite: the default run leaves it out (it would recurse) and
  the slow tier runs the whole command in the repository root.
- **Markers**: an HTML comment on the line before a block's opening fence (blank lines allowed)
  ``<!-- readme-test: WORDS -->``, where WORDS are any of
  ``slow`` (minutes, or a cluster: runs in ``python -m pytest -m slow``; a Python block marked slow
  takes its whole section to the slow tier, in an interpreter of its own),
  ``skip reason=WHY`` (only for what cannot run here, such as a real GPU or a second machine; WHY
  is the rest of the comment and shows in pytest's summary),
  ``output`` (this block is the expected output of the code block above),
  ``pytest`` (a Python block that is a test file: pytest runs it, with its section's names imported),
  ``setup=PATH`` (a Python file, relative to the repository root, run before the block: exec'd into
  the section's namespace for a Python block, ``python PATH`` in the scratch folder for a shell
  block), ``timeout=SECONDS`` (default 300), and ``serves=REGEX`` (the block's last command is a server
  that runs until stopped: it passes once the output matches REGEX, and is then stopped).
"""

from __future__ import annotations

import configparser
import difflib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import preimported
import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
RUNNER = Path(__file__).resolve().parent / "readme_runner.py"
COPIED_INTO_SCRATCH = ("examples", "benchmarks", "tests/readme_files")
PYTHON = {"python", "py", "python3"}
SHELL = {"bash", "sh", "shell", "console"}
FENCE = re.compile(r"^ {0,3}```\s*([\w+-]*)\s*$")
MARKER = re.compile(r"^\s*<!--\s*readme-test:(.*?)-->\s*$")
PIP_INSTALL = re.compile(r'^pip install -e "\.\[([\w,-]+)\]"$')
TEST_COMMAND = "python -m pytest"
DEFAULT_TIMEOUT = 300.0
# No display: examples that plot must not open windows.
HEADLESS_ENV = {key: value for key, value in os.environ.items() if key not in ("DISPLAY", "WAYLAND_DISPLAY", "MPLBACKEND")}


@dataclass
class Block:
    """One fenced block of the README."""

    line: int  # the first line inside the fence (1-based)
    language: str
    text: str
    section: str
    markers: dict[str, str] = field(default_factory=dict)
    expected_output: str | None = None
    output_line: int | None = None

    @property
    def kind(self) -> str:
        if self.language in PYTHON:
            return "pytest" if "pytest" in self.markers else "python"
        return "shell" if self.language in SHELL else "other"

    @property
    def where(self) -> str:
        return f"README.md line {self.line} ({self.language} block in section '{self.section}')"

    @property
    def timeout(self) -> float:
        return float(self.markers.get("timeout", DEFAULT_TIMEOUT))


def parse_markers(text: str) -> dict[str, str]:
    """``"slow skip reason=no GPU here"`` -> ``{"slow": "", "skip": "", "reason": "no GPU here"}``."""
    text = text.strip()
    markers: dict[str, str] = {}
    if "reason=" in text:
        text, reason = text.split("reason=", 1)
        markers["reason"] = reason.strip()
    for word in shlex.split(text):  # serves="a regex with spaces"
        key, _, value = word.partition("=")
        markers[key] = value
    unknown = set(markers) - {"slow", "skip", "reason", "output", "pytest", "setup", "timeout", "serves", "rtol", "atol"}
    if unknown:
        raise ValueError(f"unknown readme-test marker(s) {sorted(unknown)} in '<!-- readme-test: {text} -->'")
    return markers


def parse_readme(text: str) -> list[Block]:
    """The fenced blocks of a Markdown text, with markers, sections and shown outputs attached.

    Output blocks are attached to their code block and not returned on their own.
    """
    lines = text.splitlines()
    blocks: list[Block] = []
    section = "(top)"
    number = 0
    pending: dict[str, str] = {}
    last_code: Block | None = None
    last_close = -10  # index of the last closing fence of a code block
    while number < len(lines):
        line = lines[number]
        if line.startswith("## "):
            section = line[3:].strip()
        marker = MARKER.match(line)
        if marker:
            pending = parse_markers(marker.group(1))
        fence = FENCE.match(line)
        if not fence:
            if line.strip() and not marker:
                pending = {}
            number += 1
            continue
        start = number + 1
        end = start
        while end < len(lines) and not FENCE.match(lines[end]):
            end += 1
        if end == len(lines):
            raise ValueError(f"README.md line {number + 1}: a ``` fence that is never closed")
        block = Block(start + 1, fence.group(1).lower(), "\n".join(lines[start:end]) + "\n", section, pending)
        only_blank_between = last_close >= 0 and all(not lines[i].strip() for i in range(last_close + 1, number))
        is_output = "output" in block.markers or (block.language == "" and only_blank_between)
        if is_output and last_code is not None:
            last_code.expected_output, last_code.output_line = block.text, block.line
        elif is_output:
            raise ValueError(f"{block.where}: marked as output, but no code block comes before it")
        else:
            blocks.append(block)
            if block.kind in ("python", "pytest", "shell"):
                last_code, last_close = block, end
        pending = {}
        number = end + 1
        if block.kind == "other":
            last_close = -10  # a text block between breaks "directly after"
    return blocks


def _normalized(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


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
        if index % 2 == 0:  # text between numbers
            if SPACES.sub(" ", a) != SPACES.sub(" ", b):
                return False
        elif _is_float(a) or _is_float(b):
            if not abs(float(b) - float(a)) <= atol + rtol * abs(float(a)):
                return False
        elif int(a) != int(b):
            return False
    return True


def assert_output_matches(block: Block, printed: str) -> None:
    expected, actual = _normalized(block.expected_output or ""), _normalized(printed)
    rtol, atol = float(block.markers.get("rtol", 1e-6)), float(block.markers.get("atol", 0.0))
    if len(expected) != len(actual) or not all(lines_match(a, b, rtol, atol) for a, b in zip(expected, actual)):
        diff = "\n".join(difflib.unified_diff(
            expected, actual, f"README.md line {block.output_line} (shown)", f"printed by {block.where}", lineterm=""))
        pytest.fail(f"{block.where}: the output the README shows differs from what the code prints "
                    f"(numbers within rtol={rtol:g}, atol={atol:g})\n{diff}", pytrace=False)


def _blocks() -> list[Block]:
    return parse_readme(README.read_text())


def _python_sections(blocks: list[Block]) -> dict[str, list[Block]]:
    sections: dict[str, list[Block]] = {}
    for block in blocks:
        if block.kind in ("python", "pytest") and "skip" not in block.markers:
            sections.setdefault(block.section, []).append(block)
    return sections


def _section_is_slow(blocks: list[Block]) -> bool:
    return any("slow" in block.markers for block in blocks)


def _tiers() -> tuple[list, list]:
    """(default, slow) pytest params, one per runnable block, in README order."""
    try:
        blocks = _blocks()
    except ValueError as error:  # reported by test_readme_parses, not as a collection error
        return [pytest.param(None, id=f"unparsable: {error}")], []
    slow_sections = {name for name, members in _python_sections(blocks).items() if _section_is_slow(members)}
    default, slow = [], []
    for block in blocks:
        if block.kind == "other":
            continue
        block_id = f"line{block.line}-{block.kind}"
        if "skip" in block.markers:
            reason = block.markers.get("reason") or "no reason given"
            default.append(pytest.param(block, id=block_id, marks=pytest.mark.skip(reason=f"{block.where}: {reason}")))
        elif "slow" in block.markers or (block.kind != "shell" and block.section in slow_sections):
            slow.append(pytest.param(block, id=block_id))
        else:
            default.append(pytest.param(block, id=block_id))
        if block.kind == "shell" and "slow" not in block.markers and TEST_COMMAND in block.text:
            slow.append(pytest.param(block, id=f"{block_id}-with-{TEST_COMMAND.replace(' ', '-')}"))
    return default, slow


DEFAULT_BLOCKS, SLOW_BLOCKS = _tiers()


# ---------------------------------------------------------------------------------------------
# The scratch folder and the Python runner


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("readme")
    for relative in COPIED_INTO_SCRATCH:
        source = ROOT / relative
        if source.is_dir():
            shutil.copytree(source, folder / source.name if relative != "tests/readme_files" else folder, dirs_exist_ok=True)
    return folder


def run_python_sections(sections: dict[str, list[Block]], folder: Path, timeout: float) -> tuple[dict, str]:
    """Runs the sections in one interpreter; returns (results by line, the interpreter's stderr)."""
    plan = {
        "readme": str(README),
        "sections": [
            {"name": name, "blocks": [
                {"line": block.line, "kind": block.kind, "code": block.text,
                 "setup": str(ROOT / block.markers["setup"]) if block.markers.get("setup") else None}
                for block in members]}
            for name, members in sections.items()
        ],
    }
    plan_file, results_file = folder / f".plan-{os.getpid()}.json", folder / f".results-{os.getpid()}.json"
    plan_file.write_text(json.dumps(plan))
    results_file.unlink(missing_ok=True)
    try:
        # A fresh process for the blocks, forked with graphmode already imported (tests/preimported.py).
        done = preimported.run([sys.executable, str(RUNNER), str(plan_file), str(results_file)], cwd=folder,
                               env=HEADLESS_ENV, capture_output=True, text=True, timeout=timeout)
        stderr = f"runner exit status {done.returncode}; its stderr:\n{done.stderr[-6000:]}"
    except subprocess.TimeoutExpired as expired:
        stderr = f"the runner was stopped after {timeout:.0f} s; its stderr:\n{(expired.stderr or b'')[-6000:]!r}"
    results = json.loads(results_file.read_text()) if results_file.exists() else {}
    return results, stderr


@pytest.fixture(scope="module")
def default_python_results(scratch) -> tuple[dict, str]:
    sections = {name: members for name, members in _python_sections(_blocks()).items() if not _section_is_slow(members)}
    budget = sum(block.timeout for members in sections.values() for block in members)
    return run_python_sections(sections, scratch, timeout=min(budget, 900.0))


def check_python_result(block: Block, results: dict, stderr: str) -> None:
    result = results.get(str(block.line))
    if result is None:
        pytest.fail(f"{block.where} did not run: the interpreter died or timed out before it\n{stderr}", pytrace=False)
    if result["not_run_because"] is not None:
        pytest.fail(f"{block.where} not run: the block at README.md line {result['not_run_because']} in the same "
                    "section failed", pytrace=False)
    if result["error"] is not None:
        pytest.fail(f"{block.where} raised:\n{result['error']}\nprinted before that:\n{result['stdout']}", pytrace=False)
    if block.expected_output is not None:
        assert_output_matches(block, result["stdout"])


# ---------------------------------------------------------------------------------------------
# Shell blocks


def _logical_commands(text: str) -> list[str]:
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


def _console_commands(text: str) -> tuple[list[str], str]:
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
    required = [line for line in config["options"]["install_requires"].splitlines()]
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


def shell_script(block: Block, commands: list[str], tier: str) -> str:
    """The bash script for a block: each command as printed, then a check that names it if it failed.

    ``pip install -e ".[extra]"`` parts are checked before (see check_pip_install) and left out;
    ``python -m pytest`` parts are left out of the default tier (the suite would run itself).
    """
    lines = ["set -o pipefail"]
    for command in commands:
        parts = [part.strip() for part in command.split(" && ")] if " && " in command and "\n" not in command else [command]
        kept = []
        for part in parts:
            pip = PIP_INSTALL.match(part)
            if pip:
                check_pip_install(pip.group(1), block.where)
            elif part.startswith(TEST_COMMAND) and tier == "default":
                continue
            else:
                kept.append(part)
        if not kept:
            continue
        to_run = " && ".join(kept) if len(parts) > 1 else kept[0]
        shown = command.replace("'", "'\\''")
        lines += [to_run, f"status=$?; if [ $status -ne 0 ]; then echo 'README command failed (exit '$status'): {shown}' >&2; "
                  "exit $status; fi"]
    return "\n".join(lines) + "\n"


def run_shell_block(block: Block, folder: Path, tier: str) -> None:
    if block.language == "console":
        commands, expected = _console_commands(block.text)
        if expected.strip() and block.expected_output is None:
            block.expected_output, block.output_line = expected, block.line
    else:
        commands = _logical_commands(block.text)
    if tier == "slow" and TEST_COMMAND in block.text:
        folder = ROOT  # the suite lives in the repository, not in the scratch folder
    setup = block.markers.get("setup")
    if setup:
        subprocess.run([sys.executable, str(ROOT / setup)], cwd=folder, env=HEADLESS_ENV, check=True, timeout=block.timeout)
    script = shell_script(block, commands, tier)
    environment = dict(HEADLESS_ENV, PATH=f"{Path(sys.executable).parent}{os.pathsep}{HEADLESS_ENV.get('PATH', '')}")
    serves = block.markers.get("serves")
    if serves:
        run_server_block(block, script, folder, environment, re.compile(serves))
        return
    try:
        done = subprocess.run(["bash", "-c", script], cwd=folder, env=environment, capture_output=True, text=True,
                              timeout=block.timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{block.where}: still running after {block.timeout:.0f} s (mark it slow, or timeout=SECONDS)",
                    pytrace=False)
    if done.returncode != 0:
        pytest.fail(f"{block.where} failed, exit {done.returncode}\nstdout:\n{done.stdout[-4000:]}\n"
                    f"stderr:\n{done.stderr[-6000:]}", pytrace=False)
    if block.expected_output is not None:
        assert_output_matches(block, done.stdout)


def run_server_block(block: Block, script: str, folder: Path, environment: dict, ready: re.Pattern) -> None:
    """Runs a block whose last command serves until stopped: it must print ``ready``, then is stopped."""
    log = folder / f".serve-{block.line}.log"
    with open(log, "w") as stream:
        process = subprocess.Popen(["bash", "-c", script], cwd=folder, env=environment, stdout=stream,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + block.timeout
    try:
        while time.monotonic() < deadline and process.poll() is None and not ready.search(log.read_text()):
            time.sleep(0.5)
        output = log.read_text()
        if not ready.search(output):
            state = "still running" if process.poll() is None else f"ended with exit {process.returncode}"
            pytest.fail(f"{block.where}: the server never printed /{ready.pattern}/ ({state})\n{output[-6000:]}",
                        pytrace=False)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


# ---------------------------------------------------------------------------------------------
# The tests


def test_readme_parses():
    blocks = _blocks()
    assert any(block.kind == "python" for block in blocks), "README.md shows no Python block"
    assert any(block.kind == "shell" for block in blocks), "README.md shows no shell command"
    assert TEST_COMMAND in (ROOT / ".ci" / "run").read_text(), ".ci/run must run the README's test command"


@pytest.mark.parametrize("block", DEFAULT_BLOCKS)
def test_readme_block(block: Block, scratch, request):
    if block is None:
        _blocks()  # raises the parse error
    if block.kind == "shell":
        run_shell_block(block, scratch, "default")
    else:
        results, stderr = request.getfixturevalue("default_python_results")
        check_python_result(block, results, stderr)


@pytest.mark.slow
@pytest.mark.parametrize("block", SLOW_BLOCKS)
def test_readme_block_slow(block: Block, tmp_path):
    for relative in COPIED_INTO_SCRATCH:
        source = ROOT / relative
        if source.is_dir():
            shutil.copytree(source, tmp_path / source.name if relative != "tests/readme_files" else tmp_path,
                            dirs_exist_ok=True)
    if block.kind == "shell":
        run_shell_block(block, tmp_path, "slow")
        return
    # A slow section runs in an interpreter of its own, up to and including this block.
    members = [member for member in _python_sections(_blocks())[block.section] if member.line <= block.line]
    results, stderr = run_python_sections({block.section: members}, tmp_path, timeout=sum(m.timeout for m in members))
    check_python_result(block, results, stderr)


# The harness itself, on a small README of its own.

SAMPLE = '''# title

## First

```python
x = 2
print(x * 21)
```

```
42
```

<!-- readme-test: slow serves="at http://\\S+ \\(Press" -->

```bash
sleep 1000
```

```text
an illustration, not an output
```

## Second

<!-- readme-test: skip reason=needs a GPU: /gpu:0 must exist -->
```python
print(x)
```

```console
$ echo hi
hi
```

```bash
export GREETING='a value
over two lines' && echo "$GREETING"
```
<!-- readme-test: output -->
```text
a value
over two lines
```
'''


def test_harness_reads_markers_outputs_and_sections():
    python, shell_slow, text, skipped, console, shell = parse_readme(SAMPLE)
    assert (python.kind, python.section, python.line, python.expected_output) == ("python", "First", 6, "42\n")
    assert shell_slow.markers == {"slow": "", "serves": r"at http://\S+ \(Press"} and shell_slow.expected_output is None
    assert text.kind == "other"
    assert skipped.markers == {"skip": "", "reason": "needs a GPU: /gpu:0 must exist"} and skipped.section == "Second"
    assert console.kind == "shell" and _console_commands(console.text) == (["echo hi"], "hi")
    assert shell.expected_output == "a value\nover two lines\n"
    assert _logical_commands(shell.text) == [shell.text.rstrip("\n")]


def test_harness_refuses_unknown_markers_and_open_fences():
    with pytest.raises(ValueError, match="unknown readme-test marker"):
        parse_readme("<!-- readme-test: slw -->\n```python\npass\n```\n")
    with pytest.raises(ValueError, match="line 2: a ``` fence that is never closed"):
        parse_readme("text\n```python\npass\n")


def test_harness_reports_a_wrong_output_with_a_diff_naming_the_lines():
    block = parse_readme(SAMPLE)[0]
    with pytest.raises(pytest.fail.Exception) as failure:
        assert_output_matches(block, "41\n")
    assert "README.md line 6 (python block in section 'First')" in str(failure.value)
    assert "-42\n+41" in str(failure.value)
    assert_output_matches(block, "42   \n\n")  # trailing whitespace only


def test_harness_runs_sections_in_their_own_namespaces(tmp_path):
    blocks = [b for b in parse_readme(SAMPLE + "\n## Third\n\n```python\nprint(x)\n```\n") if b.kind == "python"]
    first, third = blocks[0], blocks[-1]
    results, stderr = run_python_sections({"First": [first], "Third": [third]}, tmp_path, timeout=60)
    assert results[str(first.line)]["stdout"] == "42\n", stderr
    assert "NameError: name 'x' is not defined" in results[str(third.line)]["error"]
    assert f'README.md", line {third.line}' in results[str(third.line)]["error"]  # README line numbers


def test_harness_runs_shell_commands_and_names_the_failing_one(tmp_path):
    sample = parse_readme("## S\n\n```bash\necho one\nfalse && echo never\necho three\n```\n")[0]
    with pytest.raises(pytest.fail.Exception) as failure:
        run_shell_block(sample, tmp_path, "default")
    assert "README command failed (exit 1): false && echo never" in str(failure.value)
    assert "three" not in str(failure.value).split("stderr:")[0]


def test_harness_stops_a_server_once_it_is_ready_and_fails_one_that_never_is(tmp_path):
    ready = parse_readme('<!-- readme-test: serves="listening on \\d+" timeout=60 -->\n'
                         "```bash\necho setup && echo listening on 8000 && sleep 600\n```\n")[0]
    start = time.monotonic()
    run_server_block(ready, shell_script(ready, _logical_commands(ready.text), "default"), tmp_path, HEADLESS_ENV,
                     re.compile(ready.markers["serves"]))
    assert time.monotonic() - start < 30
    silent = parse_readme('<!-- readme-test: serves="listening" timeout=2 -->\n```bash\nsleep 600\n```\n')[0]
    with pytest.raises(pytest.fail.Exception, match="never printed /listening/ \\(still running\\)"):
        run_server_block(silent, "sleep 600\n", tmp_path, HEADLESS_ENV, re.compile("listening"))


def test_harness_compares_numbers_with_the_stated_tolerance():
    shown = "```python\nprint()\n```\n\n```\nloss (3, 1)  1.36e-07  at step 1: 370x\n```\n"
    block = parse_readme(shown)[0]
    assert_output_matches(block, "loss (3, 1)      1.36e-07  at step 1: 370x\n")  # columns may move
    for printed in ("loss (3, 1)  1.52e-07  at step 1: 370x", "loss (3, 1)  1.36e-07  at step 2: 370x",
                    "loss (3, 2)  1.36e-07  at step 1: 370x", "lass (3, 1)  1.36e-07  at step 1: 370x",
                    "loss (3, 1)  1.36e-07  at step 1: 370"):
        with pytest.raises(pytest.fail.Exception, match="numbers within rtol=1e-06, atol=0"):
            assert_output_matches(block, printed)
    wider = parse_readme("<!-- readme-test: rtol=0.2 -->\n" + shown)[0]
    assert_output_matches(wider, "loss (3, 1)  1.52e-07  at step 1: 370.0x\n")
    with pytest.raises(pytest.fail.Exception, match="rtol=0.2"):
        assert_output_matches(wider, "loss (3, 1)  1.7e-07  at step 1: 370x\n")
    noise = parse_readme("<!-- readme-test: atol=1e-6 -->\n" + shown)[0]
    assert_output_matches(noise, "loss (3, 1)  9.1e-07  at step 1: 370x\n")
