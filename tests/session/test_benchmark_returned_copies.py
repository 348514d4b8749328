"""Smoke test of benchmarks/returned_copies.py: it runs end to end and its JSON is complete and self-consistent.

Speed itself is never asserted; the ratios are only checked against the figures they come from.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import preimported
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "returned_copies.py"


def test_every_workload_reports_consistent_figures():
    completed = preimported.run(
        [sys.executable, str(SCRIPT), "--quick", "--json"], capture_output=True, text=True, timeout=300, check=False
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads(completed.stdout)
    assert set(report["workloads"]) == {"X*A=10", "MLP", "MLP + weights"}
    for name, row in report["workloads"].items():
        assert all(row[key] > 0 for key in ("tensorflow_us", "graphmode_us", "copy_us", "recheck_us")), (name, row)
        assert row["speedup"] == pytest.approx(row["tensorflow_us"] / row["graphmode_us"])
    # The loss is one float32; the weights are the MLP's first layer, 784 x 256 float32, besides it.
    assert report["workloads"]["MLP"]["copied_bytes"] == 4
    assert report["workloads"]["MLP + weights"]["copied_bytes"] == 4 + 784 * 256 * 4
