"""graphmode: run TF1 graph/session code on TensorFlow 2 and prove its eager rewrite matches."""

from graphmode._errors import ConfigError as ConfigError
from graphmode._errors import DevicePlacementError as DevicePlacementError
from graphmode._errors import FeedError as FeedError
from graphmode._errors import ForeignGraphError as ForeignGraphError
from graphmode._errors import GraphmodeError as GraphmodeError
from graphmode._errors import MissingFeedError as MissingFeedError
from graphmode._errors import NumericsError as NumericsError
from graphmode._errors import ParityError as ParityError
from graphmode._errors import RunTimeoutError as RunTimeoutError
from graphmode._errors import SessionClosedError as SessionClosedError
from graphmode._errors import UninitializedVariableError as UninitializedVariableError
from graphmode._graph import STANDARD_COLLECTIONS as STANDARD_COLLECTIONS
from graphmode._graph import CollectionSummary as CollectionSummary
from graphmode._graph import format_collections as format_collections
from graphmode._graph import initial_value as initial_value
from graphmode._graph import list_collections as list_collections
from graphmode._graph import new_graph as new_graph
from graphmode._parity import Divergence as Divergence
from graphmode._parity import EagerModel as EagerModel
from graphmode._parity import GraphModel as GraphModel
from graphmode._parity import ParityProblem as ParityProblem
from graphmode._parity import ParityReport as ParityReport
from graphmode._parity import QuantityDiff as QuantityDiff
from graphmode._parity import Trajectory as Trajectory
from graphmode._parity import assert_parity as assert_parity
from graphmode._parity import check_parity as check_parity
from graphmode._parity import compare_trajectories as compare_trajectories
from graphmode._parity import match_variable_names as match_variable_names
from graphmode._parity import run_eager as run_eager
from graphmode._parity import run_graph as run_graph
from graphmode._placement import PlacementRecord as PlacementRecord
from graphmode._placement import PlacementReport as PlacementReport
from graphmode._runtime import gpu_devices as gpu_devices
from graphmode._runtime import has_gpu as has_gpu
from graphmode._runtime import legacy_keras_active as legacy_keras_active
from graphmode._runtime import tf as tf
from graphmode._runtime import v1 as v1
from graphmode._session import InteractiveSession as InteractiveSession
from graphmode._session import Session as Session
from graphmode._session import session_config as session_config

__version__ = "0.1.0"

__all__ = [
    "CollectionSummary",
    "ConfigError",
    "DevicePlacementError",
    "Divergence",
    "EagerModel",
    "FeedError",
    "ForeignGraphError",
    "GraphModel",
    "GraphmodeError",
    "InteractiveSession",
    "MissingFeedError",
    "NumericsError",
    "ParityError",
    "ParityProblem",
    "ParityReport",
    "PlacementRecord",
    "PlacementReport",
    "QuantityDiff",
    "RunTimeoutError",
    "STANDARD_COLLECTIONS",
    "Session",
    "SessionClosedError",
    "Trajectory",
    "UninitializedVariableError",
    "assert_parity",
    "check_parity",
    "compare_trajectories",
    "format_collections",
    "gpu_devices",
    "has_gpu",
    "initial_value",
    "legacy_keras_active",
    "list_collections",
    "match_variable_names",
    "new_graph",
    "run_eager",
    "run_graph",
    "session_config",
    "tf",
    "v1",
]
