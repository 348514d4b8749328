# graphmode's top level: what a user types, each name once. lazy_loader reads this file at run time
# (graphmode/__init__.py), type checkers read it too. Everything else is imported from its capability
# (graphmode.checkpoint, graphmode.cluster, graphmode.parity, graphmode.scan, graphmode.session,
# graphmode.train, graphmode.legacy) and the errors from graphmode.errors.

from . import errors as errors
from ._runtime import tf as tf
from ._runtime import v1 as v1
from .checkpoint import inspect_checkpoint as inspect_checkpoint
from .checkpoint import load_tf1_checkpoint as load_tf1_checkpoint
from .checkpoint import save_tf1_checkpoint as save_tf1_checkpoint
from .cluster import start_local_cluster as start_local_cluster
from .cluster import start_server as start_server
from .legacy import enable_tf1 as enable_tf1
from .parity import EagerModel as EagerModel
from .parity import GraphModel as GraphModel
from .parity import ParityProblem as ParityProblem
from .parity import assert_parity as assert_parity
from .parity import check_parity as check_parity
from .scan import scan_files as scan_files
from .session import InteractiveSession as InteractiveSession
from .session import Session as Session
from .session import new_graph as new_graph
from .session import session_config as session_config
from .trace import Trace as Trace
from .train import build_step as build_step
from .train import keras_counterpart as keras_counterpart
from .train import minimize as minimize
from .train import optimizer_spec as optimizer_spec
from .train import run_steps as run_steps
from .train import step_from_train_op as step_from_train_op

__version__: str
