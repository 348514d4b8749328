"""The proof, run inside the migrated program's own process.

``python -m graphmode.migrate.probe PLAN.json`` runs the migrated program as
``__main__`` would run (Keras 3; the TF1 API is never enabled, and nothing of
graphmode that imports TensorFlow is imported before the program has imported
it its own way), with calls of its generated functions routed through a hook.
The plan says which proof applies:

* a program that trains: its training step is checked in lockstep against the
  recording by parity's own :func:`~graphmode.parity.check_parity`
  (:mod:`graphmode.migrate.lockstep_proof`);
* a program that trains nothing: what each of its run calls returns is
  compared with what the original's returned (:mod:`graphmode.migrate.run_values`).

The verdict goes to the plan's ``verdict`` path as JSON.
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Mapping

from graphmode.migrate.program_run import ProgramRun, failed


def run(plan: Mapping) -> dict:
    """Runs the plan's proof on the migrated program; returns the verdict."""
    if plan["proof"] == "lockstep":
        from graphmode.migrate.lockstep_proof import prove_training

        return prove_training(plan, ProgramRun(plan, [plan["train_function"]]))
    from graphmode.migrate.run_values import prove_run_values

    return prove_run_values(plan, ProgramRun(plan, list(plan["run_functions"])))


def main(argv: list[str] | None = None) -> int:
    """``python -m graphmode.migrate.probe PLAN.json``: writes the verdict, exits 0 when the proof holds."""
    (plan_path,) = sys.argv[1:] if argv is None else argv
    with open(plan_path, encoding="utf-8") as handle:
        plan = json.load(handle)
    try:
        verdict = run(plan)
    except Exception:  # noqa: BLE001 - a proof that breaks is a failed proof, said in the verdict
        verdict = failed(plan["proof"], traceback.format_exc(limit=-8))
    # Serialized whole before the file is opened: a value JSON cannot hold fails here, never half-written.
    text = json.dumps(verdict, indent=1, allow_nan=False, default=str)
    with open(plan["verdict"], "w", encoding="utf-8") as handle:
        handle.write(text)
    return 0 if verdict["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())

