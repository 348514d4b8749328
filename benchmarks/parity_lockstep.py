"""What lockstep parity costs against the free-running comparison, on mlp_digits, in one process.

Three timings of one parity problem (default: ``mlp_digits`` softmax_adam, 300 steps):

* ``free``: the graph run and the eager run each on their own (``run_graph`` +
  ``run_eager``, what a free-running comparison trains);
* ``lockstep``: ``run_lockstep``, the graph run with the eager side stepping from
  the graph's whole state (variables, Adam slots, counters) before every step,
  and every quantity compared after it;
* ``check_parity``: both, as ``check_parity`` runs them by default.

Each figure is the median of ``--repeats`` runs after one warm-up; the ratios come
from the same process.

Usage:
    python benchmarks/parity_lockstep.py [--steps 300] [--repeats 3] [--variant softmax_adam] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from graphmode.cli.parity import load_example
from graphmode.parity.lockstep import run_lockstep
from graphmode.parity.run import run_eager, run_graph

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _timed(function) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--variant", default="softmax_adam")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    problem = load_example("mlp_digits", EXAMPLES).parity_problem(steps=args.steps, seed=0, variant=args.variant)

    def free() -> None:
        reference = run_graph(problem.build_graph(), problem.batches)
        initial = {name: values[0] for name, values in reference.variables.items()}
        run_eager(problem.build_eager(), problem.batches, initial)

    def lockstep() -> None:
        run_lockstep(problem.build_graph(), problem.build_eager(), problem.batches, atol=problem.atol, rtol=problem.rtol)

    modes = {"free": free, "lockstep": lockstep, "check_parity": problem.check}
    for function in modes.values():  # warm-up: tracing, kernel caches
        function()
    seconds = {name: statistics.median(_timed(function) for _ in range(args.repeats)) for name, function in modes.items()}
    result = {"problem": problem.name, "steps": args.steps, "repeats": args.repeats, "seconds": seconds,
              "lockstep_over_free": seconds["lockstep"] / seconds["free"],
              "check_parity_over_free": seconds["check_parity"] / seconds["free"]}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{problem.name}, {args.steps} steps, median of {args.repeats}:")
        for name, value in seconds.items():
            print(f"  {name:<13} {value:8.2f} s  {1e3 * value / args.steps:7.2f} ms/step  "
                  f"{value / seconds['free']:5.2f}x free")
    return 0


if __name__ == "__main__":
    sys.exit(main())
