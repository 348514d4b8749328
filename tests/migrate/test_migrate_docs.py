"""docs/migrate.md shows one migration unedited: the original as it is, the program as migrate writes it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "migrate" / "scripts" / "mlp_digits.py"
PAGE = ROOT / "docs" / "migrate.md"


def _blocks_after(page: str, sentence: str) -> str:
    after = page[page.index(sentence):]
    return re.search(r"```text\n(.*?)```", after, re.S).group(1)


def test_the_page_shows_the_original_as_it_is():
    page = PAGE.read_text()
    assert _blocks_after(page, "on\nscikit-learn's bundled digits:") == SCRIPT.read_text()


@pytest.mark.slow
def test_the_page_shows_the_program_migrate_writes(tmp_path):
    from graphmode.migrate.pipeline import describe_verdict, migrate_script

    script = tmp_path / SCRIPT.name
    shutil.copy(SCRIPT, script)
    migration = migrate_script(str(script))
    assert migration.proven, describe_verdict(migration.verdict)
    shown = _blocks_after(PAGE.read_text(), "and wrote `mlp_digits_tf2.py`:").splitlines()
    written = Path(migration.output).read_text().splitlines()
    # The header's first lines hold this run's recording path and the verdict's measured figures.
    assert shown[0] == written[0]
    assert shown[1].startswith("# Recording of the original (TF1 API): ")
    assert shown[2].startswith("# Lockstep verdict: parity OK: 100 steps in lockstep, worst ")
    assert written[2].startswith("# Lockstep verdict: parity OK: 100 steps in lockstep, worst ")
    assert shown[3:] == written[3:]
