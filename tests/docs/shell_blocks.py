"""Shell and console blocks of the pages: each command run with bash and checked in turn.

The conventions are in markdown_blocks.py. ``pip install -e ".[extra]"`` is checked, never run;
``python -m pytest`` is left out (tests/docs/test_quick_start.py runs it in the slow tier).
"""

from __future__ import annotations

import configparser
import os
import re
import signal
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from shown_output import output_difference
from sybil import Example

ROOT = Path(__file__).resolve().parents[2]
PIP_INSTALL = re.compile(r'^pip install -e "\.\[([\w,-]+)\]"$')
TEST_COMMAND = "python -m pytest"
# No display: examples that plot must not open windows.
HEADLESS_ENV = {key: value for key, value in os.environ.items() if key not in ("DISPLAY", "WAYLAND_DISPLAY", "MPLBACKEND")}
SCRATCH_KEY = "__docs_scratch__"

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
    markers = example.region.lexemes["markers"]  # the block's Markers (markdown_blocks.py)
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


