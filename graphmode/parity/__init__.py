"""Parity: compare a graph model and its eager rewrite step by step (lockstep verdict, free-run drift)."""

from graphmode.parity.check import ParityProblem as ParityProblem
from graphmode.parity.check import assert_parity as assert_parity
from graphmode.parity.check import check_parity as check_parity
from graphmode.parity.compare import compare_trajectories as compare_trajectories
from graphmode.parity.initializers import InitializerCheck as InitializerCheck
from graphmode.parity.lockstep_report import LockstepQuantity as LockstepQuantity
from graphmode.parity.lockstep_report import LockstepReport as LockstepReport
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
    "InitializerCheck",
    "LockstepQuantity",
    "LockstepReport",
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
