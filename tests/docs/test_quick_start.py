"""The README's quick start: its test command is the one CI runs, and (slow tier) it passes.

The quick start's block itself runs in the default tier like every page block (markdown_blocks.py):
its ``pip install`` parts checked, ``python examples/regress_a.py`` run, ``python -m pytest`` left
out, since it is this suite. The slow tier runs that command here, in the repository root.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from shell_blocks import HEADLESS_ENV, ROOT

QUICK_START = ['pip install -e ".[examples]" && python examples/regress_a.py',
               'pip install -e ".[test]" && python -m pytest']


def _quick_start_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    found = re.search(r"^## Quick start\n(?:\n|<!--[^\n]*-->\n)*```bash\n(.*?)^```", readme, re.MULTILINE | re.DOTALL)
    assert found, "README.md has no '## Quick start' section opening with a ```bash block"
    return [line.strip() for line in found.group(1).splitlines() if line.strip()]


def test_quick_start_is_the_two_commands_and_ci_runs_the_second():
    assert _quick_start_commands() == QUICK_START
    assert QUICK_START[1] in (ROOT / ".ci" / "run").read_text(), ".ci/run must run the README's test command"


@pytest.mark.slow
def test_quick_start_test_command_passes():
    command = QUICK_START[1].split(" && ")[1]
    environment = dict(HEADLESS_ENV, PATH=f"{os.path.dirname(sys.executable)}{os.pathsep}{HEADLESS_ENV.get('PATH', '')}")
    done = subprocess.run(["bash", "-c", command], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, f"{command} exited {done.returncode}\n{done.stdout[-6000:]}\n{done.stderr[-3000:]}"
