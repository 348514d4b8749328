"""tiny_sgd fed one array per batch where the model takes two inputs."""

from __future__ import annotations

from tiny_sgd import build_eager, build_graph, make_batches

import graphmode as gm


def parity_problem(steps: int = 2, seed: int = 0) -> gm.ParityProblem:
    inputs_only = [x for x, _ in make_batches(steps, seed)]
    return gm.ParityProblem("wrong_batches", build_graph, build_eager, inputs_only)
