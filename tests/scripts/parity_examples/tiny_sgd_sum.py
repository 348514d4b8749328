"""tiny_sgd with a migration mistake: the eager loss sums where the graph averages."""

from __future__ import annotations

from tiny_sgd import build_eager, build_graph, make_batches

import graphmode as gm
from graphmode import tf


def parity_problem(steps: int = 5, seed: int = 0) -> gm.ParityProblem:
    return gm.ParityProblem(
        "tiny_sgd_sum", build_graph, lambda: build_eager(tf.reduce_sum), make_batches(steps, seed)
    )
