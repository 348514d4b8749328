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
