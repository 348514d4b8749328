"""``python examples/regress_a.py --json`` as the README's quick start runs it, in a process of its own."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import preimported

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "regress_a.py"


def test_regress_a_script_prints_one_json_object_and_converges():
    done = preimported.run([sys.executable, str(SCRIPT), "--json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\n") == 1, f"stdout must hold only the JSON object; got:\n{done.stdout}"
    result = json.loads(done.stdout)
    assert (result["example"], result["steps"], result["seed"], result["ok"]) == ("regress_a", 100, 0, True)
    run = result["runs"]["stochastic"]
    for mode in ("graph", "eager"):
        (a,) = run["final_values"][mode]["A"]
        assert 9 <= a <= 11, f"{mode}: A = {a} after 100 steps"
    # Same samples in the same order: the two modes agree to float32 rounding at every step.
    assert run["parity"]["atol"] == 0 and run["parity"]["rtol"] == 1e-6
    assert run["parity"]["first_divergence"] is None
    assert len(run["parity"]["reference_losses"]) == len(run["parity"]["candidate_losses"]) == 100
