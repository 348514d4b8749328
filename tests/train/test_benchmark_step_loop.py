"""Smoke test of benchmarks/step_loop.py: it runs end to end and its JSON is complete and self-consistent.

Speed itself is never asserted here; the ratios are only checked against the
figures they were computed from.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import preimported
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "step_loop.py"


@pytest.fixture(scope="module")
def report() -> dict:
    completed = preimported.run(
        [sys.executable, str(SCRIPT), "--quick", "--json"], capture_output=True, text=True, timeout=300, check=False
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout)


def test_every_mode_has_a_positive_figure(report):
    assert set(report["regression_us_per_step"]) == {
        "session_run",
        "graphmode_session_run",
        "graphmode_make_callable",
        "graphmode_loop",
        "graphmode_loop_caller_thread",
        "graphmode_k_steps",
        "hand_while_loop",
        "eager",
        "tf_function",
    }
    assert set(report["mlp_samples_per_second"]) == {
        "session_run",
        "graphmode_session_run",
        "graph",
        "graph_xla",
        "eager",
        "tf_function",
    }
    figures = [*report["regression_us_per_step"].values(), *report["mlp_samples_per_second"].values()]
    assert all(value > 0 for value in figures), figures


def test_ratios_come_from_the_reported_figures(report):
    regression = report["regression_us_per_step"]
    ratios = report["regression_ratios"]
    assert ratios["eager_over_graphmode_loop"] == pytest.approx(regression["eager"] / regression["graphmode_loop"], rel=0.02)
    assert ratios["k_steps_over_hand_while_loop"] == pytest.approx(
        regression["graphmode_k_steps"] / regression["hand_while_loop"], rel=0.02
    )
    assert ratios["session_run_over_graphmode_session_run"] == pytest.approx(
        regression["session_run"] / regression["graphmode_session_run"], rel=0.02
    )
    mlp = report["mlp_samples_per_second"]
    assert report["mlp_ratios_over_eager"]["graph"] == pytest.approx(mlp["graph"] / mlp["eager"], rel=0.02)
    assert report["mlp_graphmode_session_run_over_session_run"] == pytest.approx(
        mlp["graphmode_session_run"] / mlp["session_run"], rel=0.02
    )


def test_xla_auto_jit_really_clusters_and_plain_graph_does_not(report):
    assert report["mlp_xla_cluster_ops"]["graph"] == 0
    assert report["mlp_xla_cluster_ops"]["graph_xla"] >= 1
    assert report["settings"] == {"steps": 20, "mlp_steps": 2, "repeats": 1, "steps_per_call": 10}


def test_bad_option_is_refused_with_its_name():
    completed = preimported.run(
        [sys.executable, str(SCRIPT), "--repeats", "0"], capture_output=True, text=True, timeout=120, check=False
    )
    assert completed.returncode == 2
    assert "--repeats must be >= 1; got 0" in completed.stderr
