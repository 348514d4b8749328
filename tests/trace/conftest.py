"""Traces recorded once per test session by `graphmode run --record` (each in its own process)."""

from __future__ import annotations

from pathlib import Path

import pytest
from trace_runs import record


@pytest.fixture(scope="session")
def regress_trace(tmp_path_factory) -> Path:
    """X*A=10 (plain gradient descent, the loss fetched each step), 30 steps recorded of 30."""
    folder = tmp_path_factory.mktemp("traces") / "regress"
    result = record("regress_a.py", folder, "--steps", "30")
    assert result.returncode == 0, result.stderr
    return folder
