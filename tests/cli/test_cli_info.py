"""`graphmode info` through the installed console script and `python -m graphmode`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import preimported
import pytest


@pytest.mark.parametrize("command", [["graphmode"], [sys.executable, "-m", "graphmode"]])
def test_info_json(command):
    if command == ["graphmode"] and shutil.which("graphmode") is None:
        pytest.fail("the graphmode console script is not installed; run pip install -e .")
    # The console script starts cold once; `python -m graphmode` runs pre-imported (tests/preimported.py).
    run = subprocess.run if command == ["graphmode"] else preimported.run
    result = run([*command, "info", "--json"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["tensorflow"].startswith("2.21")
    assert info["legacy_keras"] is True
    assert any(device.endswith("CPU:0") for device in info["devices"])


def test_unknown_command_fails_with_usage():
    result = preimported.run([sys.executable, "-m", "graphmode", "frobnicate"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "invalid choice: 'frobnicate'" in result.stderr


_NO_TENSORFLOW = (
    "import sys\n"
    "from graphmode.cli import main\n"
    "try:\n"
    "    code = main(sys.argv[1:])\n"
    "except SystemExit as done:\n"
    "    code = done.code\n"
    "print('exit', code)\n"
    "print('tensorflow imported:', 'tensorflow' in sys.modules)\n"
)


@pytest.mark.parametrize(
    "argv, exit_code, shown",
    [
        (["--help"], 0, "checkpoint"),
        (["--version"], 0, "graphmode 0."),
        (["frobnicate"], 2, "invalid choice: 'frobnicate'"),
        ([], 2, "the following arguments are required: COMMAND"),
        (["scan", "--no-such-option"], 2, "graphmode scan: error:"),
        (["parity", "--no-such-option"], 2, "graphmode parity: error:"),
        (["parity", "regress_a", "--steps", "0"], 2, "must be at least 1"),
        (["checkpoint", "--no-such-option"], 2, "graphmode checkpoint: error:"),
        (["run", "--no-such-option", "x.py"], 2, "graphmode run: error:"),
    ],
)
def test_help_version_and_argument_errors_do_not_import_tensorflow(argv, exit_code, shown):
    result = subprocess.run([sys.executable, "-c", _NO_TENSORFLOW, *argv], capture_output=True, text=True, timeout=120)
    assert f"exit {exit_code}" in result.stdout
    assert shown in result.stdout + result.stderr
    assert "tensorflow imported: False" in result.stdout


def test_version_through_the_console_script():
    import graphmode

    result = subprocess.run(["graphmode", "--version"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == f"graphmode {graphmode.__version__}"
