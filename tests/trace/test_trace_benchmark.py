"""Smoke test of benchmarks/trace_overhead.py: it runs end to end and its figures agree with each other.

Speed is never asserted; the trace's sizes are checked against what the recorded state must hold.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import preimported
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "trace_overhead.py"


@pytest.mark.slow  # ~6 s of CPU: TensorFlow's start, scikit-learn's digits, a few hundred MLP steps
def test_quick_run_reports_consistent_figures():
    completed = preimported.run([sys.executable, str(SCRIPT), "--quick", "--json"], capture_output=True, text=True,
                                timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads(completed.stdout)
    assert report["steps_recorded"] == 5 and report["states"] == 6
    for key in ("baseline_ms_per_step", "recording_ms_per_step", "after_ms_per_step", "after_ratio"):
        assert report[key] > 0, key
    ratio = report["recording_ms_per_step"] / report["baseline_ms_per_step"]
    assert abs(report["recording_ratio"] - ratio) <= 1e-9 * ratio
    # Each state holds the MLP's parameters three times (Adam's two slots) in float32, plus two counters.
    parameters = 64 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10
    assert report["state_bytes_per_step"] * 5 >= 6 * (3 * parameters + 2) * 4
    assert "graphmode: recorded 5 train step(s)" in report["summary"]
