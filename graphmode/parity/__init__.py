"""Parity: run a graph model and its eager rewrite on the same batches and compare them step by step."""

from graphmode.parity.check import ParityProblem as ParityProblem
from graphmode.parity.check import assert_parity as assert_parity
from graphmode.parity.check import check_parity as check_parity
from graphmode.parity.compare import compare_trajectories as compare_trajectories
from graphmode.parity.report import Divergence as Divergence
from graphmode.parity.report import ParityReport as ParityReport
from graphmode.parity.report import QuantityDiff as QuantityDiff
from graphmode.parity.report import Trajectory as Trajectory
from graphmode.parity.run import EagerModel as EagerModel
from graphmode.parity.run import GraphModel as GraphModel
from graphmode.parity.run import run_eager as run_eager
from graphmode.parity.run import run_graph as run_graph

__all__ = [
    "Divergence",
    "EagerModel",
    "GraphModel",
    "ParityProblem",
    "ParityReport",
    "QuantityDiff",
    "Trajectory",
    "assert_parity",
    "check_parity",
    "compare_trajectories",
    "run_eager",
    "run_graph",
]
