"""Fixtures for migration tests: the plain TF1 scripts, and one migration shared by a module's tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parent / "scripts"


@pytest.fixture(scope="module")
def migrated_classifier(tmp_path_factory):
    """The sigmoid classifier (Adam) migrated with 20 lockstep steps: (Migration, original copy path)."""
    from graphmode.migrate.pipeline import migrate_script

    folder = tmp_path_factory.mktemp("classifier")
    script = folder / "sigmoid_classifier.py"
    shutil.copy(SCRIPTS / "sigmoid_classifier.py", script)
    return migrate_script(str(script), steps=20, args=["--steps", "40"]), script
