"""The gallery's TF2 rewrites pass against recordings of the plain TF1 scripts they port.

Each script in tests/trace/scripts is the tutorial as it was written (a
module-level graph and a ``for`` loop of ``sess.run(..., feed_dict=...)``), run
through ``graphmode run --record`` in its own process; the rewrite in
``graphmode.parity.gallery`` is then checked against the recording here,
without the TF1 code. Slow: one TensorFlow start-up per recording.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import graphmode as gm
from graphmode.parity.gallery import mlp_digits, regress_a, sigmoid_classifier

SCRIPTS = Path(__file__).resolve().parents[1] / "trace" / "scripts"
STEPS = "40"

# script, its arguments, the rewrite, the gallery's tolerances, what the script fetched each step.
CASES = {
    "regress_a": ("regress_a.py", (), regress_a.build_eager, regress_a.ATOL, regress_a.RTOL, True),
    "regress_a batch": ("regress_a.py", ("--variant", "batch"), regress_a.build_eager_batch, regress_a.ATOL,
                        regress_a.RTOL, True),
    "sigmoid_classifier": ("sigmoid_classifier.py", (), sigmoid_classifier.build_eager, 1e-6, 1e-5, False),
    "mlp_digits softmax_adam": ("mlp_digits.py", ("--variant", "softmax_adam"),
                                lambda: mlp_digits.build_eager(64, "softmax_adam"), 1e-6, 1e-5, True),
    "mlp_digits mse_sgd": ("mlp_digits.py", ("--variant", "mse_sgd"), lambda: mlp_digits.build_eager(64, "mse_sgd"),
                           1e-6, 1e-5, True),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_the_gallery_rewrite_passes_against_the_recorded_script(case, tmp_path):
    script, arguments, build_eager, atol, rtol, loss_fetched = CASES[case]
    folder = tmp_path / "trace"
    recorded = subprocess.run([sys.executable, "-m", "graphmode", "run", "--record", str(folder),
                               str(SCRIPTS / script), "--steps", STEPS, *arguments],
                              capture_output=True, text=True, timeout=600)
    assert recorded.returncode == 0, recorded.stderr[-3000:]
    trace = gm.Trace(folder)
    assert trace.steps == int(STEPS) and trace.complete
    report = gm.check_parity(trace, build_eager, atol=atol, rtol=rtol)
    assert report.ok, str(report)
    assert report.lockstep.steps == int(STEPS)
    # Every step's loss is compared where the script fetched it; the state after every step always is.
    assert len(report.lockstep.loss.max_abs_diffs) == (int(STEPS) if loss_fetched else 0)
    assert ("(loss) not compared" in str(report)) is not loss_fetched
    assert all(len(q.max_abs_diffs) == int(STEPS) + 1 for q in report.lockstep.state if q.kind == "variable")
