# graphmode.parity's public names, each once: lazy_loader reads this file at run time, type checkers too.

from .check import ParityProblem as ParityProblem
from .check import assert_parity as assert_parity
from .check import check_parity as check_parity
from .compare import compare_trajectories as compare_trajectories
from .divergence import Divergence as Divergence
from .divergence import QuantityDiff as QuantityDiff
from .divergence import Trajectory as Trajectory
from .divergence import Verdict as Verdict
from .initializers import InitializerCheck as InitializerCheck
from .lockstep_report import LockstepQuantity as LockstepQuantity
from .lockstep_report import LockstepReport as LockstepReport
from .report import ParityReport as ParityReport
from .run import EagerModel as EagerModel
from .run import GraphModel as GraphModel
from .run import run_eager as run_eager
from .run import run_graph as run_graph
