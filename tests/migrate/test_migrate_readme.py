"""README.md shows one migration unedited: the original as it is, what migrate printed, the program it wrote."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "migrate" / "scripts" / "fit_line.py"
README = ROOT / "README.md"
SHOWN_FOLDER = "/tmp/demo"
# Measured figures: any number (differences, ratios, steps where the drift crossed the tolerance), or the "-"
# of a table cell where none did.
FIGURE = re.compile(r"(?<![\w/])(-|[-+]?\d+(\.\d+)?(e[-+]?\d+)?x?)(?![\w/])")


def _block_after(sentence: str) -> str:
    text = README.read_text()
    return re.search(r"```text\n(.*?)```", text[text.index(sentence):], re.S).group(1)


def _figures_aside(lines: list[str]) -> list[str]:
    """The lines with their measured figures masked, sorted (a table's rows are ordered by those figures)."""
    kept = []
    for line in lines:
        # How far the free run drifts, and whether past its tolerance, is information and depends on the CPU.
        if line.strip().startswith("drift past that tolerance first:"):
            continue
        # Which quantity is worst depends on the CPU's rounding.
        line = re.sub(r"worst \S+ at step", "worst Q at step", line)
        # Columns move when a number's width does: runs of spaces count as one.
        kept.append(re.sub(" +", " ", FIGURE.sub("#", line.rstrip())))
    return sorted(kept)


def test_the_readme_shows_the_original_as_it_is():
    assert _block_after("`tests/migrate/scripts/fit_line.py`, as it is:") == SCRIPT.read_text()


@pytest.mark.slow
def test_the_readme_shows_what_migrate_prints_and_writes(tmp_path):
    script = tmp_path / SCRIPT.name
    shutil.copy(SCRIPT, script)
    completed = subprocess.run([sys.executable, "-m", "graphmode", "migrate", str(script)],
                               capture_output=True, text=True, timeout=900)
    assert completed.returncode == 0, completed.stdout + completed.stderr[-2000:]
    printed = completed.stdout.replace(str(tmp_path), SHOWN_FOLDER).splitlines()
    shown = _block_after("`graphmode migrate fit_line.py` printed").splitlines()
    assert _figures_aside(shown) == _figures_aside(printed)
    written = (tmp_path / "fit_line_tf2.py").read_text().replace(str(tmp_path), SHOWN_FOLDER).splitlines()
    shown = _block_after("and wrote `fit_line_tf2.py`, unedited").splitlines()
    assert shown[:2] == written[:2]
    assert _figures_aside(shown[2:3]) == _figures_aside(written[2:3])  # the verdict line's figures are measured
    assert shown[3:] == written[3:]
