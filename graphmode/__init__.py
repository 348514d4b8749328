"""graphmode: run TF1 graph/session code on TensorFlow 2 and prove its eager rewrite matches."""

from graphmode._checkpoint import CheckpointEntry as CheckpointEntry
from graphmode._checkpoint import CheckpointSummary as CheckpointSummary
from graphmode._checkpoint import CheckpointVariable as CheckpointVariable
from graphmode._checkpoint import inspect_checkpoint as inspect_checkpoint
from graphmode._checkpoint_load import LoadReport as LoadReport
from graphmode._checkpoint_load import load_tf1_checkpoint as load_tf1_checkpoint
from graphmode._checkpoint_save import save_tf1_checkpoint as save_tf1_checkpoint
from graphmode._cluster import ClusterDescription as ClusterDescription
from graphmode._cluster import TaskId as TaskId
from graphmode._cluster import cluster_from_addresses as cluster_from_addresses
from graphmode._cluster import cluster_from_tf_config as cluster_from_tf_config
from graphmode._cluster import describe_cluster as describe_cluster
from graphmode._cluster import free_ports as free_ports
from graphmode._cluster_processes import TaskProcess as TaskProcess
from graphmode._cluster_processes import TaskProcesses as TaskProcesses
from graphmode._cluster_servers import LocalCluster as LocalCluster
from graphmode._cluster_servers import placement_by_task as placement_by_task
from graphmode._cluster_servers import run_with_placement as run_with_placement
from graphmode._cluster_servers import start_local_cluster as start_local_cluster
from graphmode._cluster_servers import start_server as start_server
from graphmode._cluster_servers import task_of_device as task_of_device
from graphmode._cluster_servers import variable_placement as variable_placement
from graphmode._cluster_servers import wait_for_variables as wait_for_variables
from graphmode._errors import CheckpointCorruptError as CheckpointCorruptError
from graphmode._errors import CheckpointMatchError as CheckpointMatchError
from graphmode._errors import CheckpointNotFoundError as CheckpointNotFoundError
from graphmode._errors import ClusterError as ClusterError
from graphmode._errors import ClusterTimeoutError as ClusterTimeoutError
from graphmode._errors import ConfigError as ConfigError
from graphmode._errors import DatasetError as DatasetError
from graphmode._errors import DevicePlacementError as DevicePlacementError
from graphmode._errors import ExampleError as ExampleError
from graphmode._errors import FeedError as FeedError
from graphmode._errors import ForeignGraphError as ForeignGraphError
from graphmode._errors import GraphmodeError as GraphmodeError
from graphmode._errors import InputExhaustedError as InputExhaustedError
from graphmode._errors import MissingFeedError as MissingFeedError
from graphmode._errors import NoGradientError as NoGradientError
from graphmode._errors import NoKerasEquivalentError as NoKerasEquivalentError
from graphmode._errors import NumericsError as NumericsError
from graphmode._errors import ParityError as ParityError
from graphmode._errors import RemovedModuleError as RemovedModuleError
from graphmode._errors import RemovedSymbolError as RemovedSymbolError
from graphmode._errors import RunTimeoutError as RunTimeoutError
from graphmode._errors import ScriptError as ScriptError
from graphmode._errors import ServerStartError as ServerStartError
from graphmode._errors import SessionClosedError as SessionClosedError
from graphmode._errors import TaskFailedError as TaskFailedError
from graphmode._errors import UninitializedVariableError as UninitializedVariableError
from graphmode._graph import STANDARD_COLLECTIONS as STANDARD_COLLECTIONS
from graphmode._graph import CollectionSummary as CollectionSummary
from graphmode._graph import format_collections as format_collections
from graphmode._graph import initial_value as initial_value
from graphmode._graph import list_collections as list_collections
from graphmode._graph import new_graph as new_graph
from graphmode._legacy import run_script as run_script
from graphmode._loop import LoopResult as LoopResult
from graphmode._loop import TrainStep as TrainStep
from graphmode._loop import build_train_step as build_train_step
from graphmode._loop import run_steps as run_steps
from graphmode._loop import train_step as train_step
from graphmode._optimizer_map import KerasCounterpart as KerasCounterpart
from graphmode._optimizer_map import TF1Momentum as TF1Momentum
from graphmode._optimizer_map import TF1RMSprop as TF1RMSprop
from graphmode._optimizer_map import keras_counterpart as keras_counterpart
from graphmode._optimizer_map import make_keras_optimizer as make_keras_optimizer
from graphmode._optimizers import ExponentialDecay as ExponentialDecay
from graphmode._optimizers import GradientClipping as GradientClipping
from graphmode._optimizers import OptimizerSpec as OptimizerSpec
from graphmode._optimizers import PiecewiseConstant as PiecewiseConstant
from graphmode._optimizers import PolynomialDecay as PolynomialDecay
from graphmode._optimizers import TrainOp as TrainOp
from graphmode._optimizers import make_tf1_optimizer as make_tf1_optimizer
from graphmode._optimizers import minimize as minimize
from graphmode._optimizers import optimizer_spec as optimizer_spec
from graphmode._parity import ParityProblem as ParityProblem
from graphmode._parity import assert_parity as assert_parity
from graphmode._parity import check_parity as check_parity
from graphmode._parity_compare import compare_trajectories as compare_trajectories
from graphmode._parity_names import match_variable_names as match_variable_names
from graphmode._parity_report import Divergence as Divergence
from graphmode._parity_report import ParityReport as ParityReport
from graphmode._parity_report import QuantityDiff as QuantityDiff
from graphmode._parity_report import Trajectory as Trajectory
from graphmode._parity_run import EagerModel as EagerModel
from graphmode._parity_run import GraphModel as GraphModel
from graphmode._parity_run import run_eager as run_eager
from graphmode._parity_run import run_graph as run_graph
from graphmode._placement import PlacementRecord as PlacementRecord
from graphmode._placement import PlacementReport as PlacementReport
from graphmode._rnn_weights import KerasRecurrentWeights as KerasRecurrentWeights
from graphmode._rnn_weights import TF1GRUWeights as TF1GRUWeights
from graphmode._rnn_weights import TF1LSTMWeights as TF1LSTMWeights
from graphmode._rnn_weights import gru_weights_from_tf1 as gru_weights_from_tf1
from graphmode._rnn_weights import gru_weights_to_tf1 as gru_weights_to_tf1
from graphmode._rnn_weights import lstm_weights_from_tf1 as lstm_weights_from_tf1
from graphmode._rnn_weights import lstm_weights_to_tf1 as lstm_weights_to_tf1
from graphmode._runtime import gpu_devices as gpu_devices
from graphmode._runtime import has_gpu as has_gpu
from graphmode._runtime import legacy_keras_active as legacy_keras_active
from graphmode._runtime import tf as tf
from graphmode._runtime import v1 as v1
from graphmode._scan import ScanFinding as ScanFinding
from graphmode._scan import ScanReport as ScanReport
from graphmode._scan import scan_files as scan_files
from graphmode._scan import scan_source as scan_source
from graphmode._session import InteractiveSession as InteractiveSession
from graphmode._session import Session as Session
from graphmode._session import session_config as session_config
from graphmode._tf1_api import enable_tf1 as enable_tf1

__version__ = "0.1.0"

__all__ = [
    "CheckpointCorruptError",
    "CheckpointEntry",
    "CheckpointMatchError",
    "CheckpointNotFoundError",
    "CheckpointSummary",
    "CheckpointVariable",
    "ClusterDescription",
    "ClusterError",
    "ClusterTimeoutError",
    "CollectionSummary",
    "ConfigError",
    "DatasetError",
    "DevicePlacementError",
    "Divergence",
    "EagerModel",
    "ExampleError",
    "ExponentialDecay",
    "FeedError",
    "ForeignGraphError",
    "GradientClipping",
    "GraphModel",
    "GraphmodeError",
    "InputExhaustedError",
    "InteractiveSession",
    "KerasCounterpart",
    "KerasRecurrentWeights",
    "LoadReport",
    "LocalCluster",
    "LoopResult",
    "MissingFeedError",
    "NoGradientError",
    "NoKerasEquivalentError",
    "NumericsError",
    "OptimizerSpec",
    "ParityError",
    "ParityProblem",
    "ParityReport",
    "PiecewiseConstant",
    "PlacementRecord",
    "PlacementReport",
    "PolynomialDecay",
    "QuantityDiff",
    "RemovedModuleError",
    "RemovedSymbolError",
    "RunTimeoutError",
    "STANDARD_COLLECTIONS",
    "ScanFinding",
    "ScanReport",
    "ScriptError",
    "ServerStartError",
    "Session",
    "SessionClosedError",
    "TF1GRUWeights",
    "TF1LSTMWeights",
    "TF1Momentum",
    "TF1RMSprop",
    "TaskFailedError",
    "TaskId",
    "TaskProcess",
    "TaskProcesses",
    "TrainOp",
    "TrainStep",
    "Trajectory",
    "UninitializedVariableError",
    "assert_parity",
    "build_train_step",
    "check_parity",
    "cluster_from_addresses",
    "cluster_from_tf_config",
    "compare_trajectories",
    "describe_cluster",
    "enable_tf1",
    "format_collections",
    "free_ports",
    "gpu_devices",
    "gru_weights_from_tf1",
    "gru_weights_to_tf1",
    "has_gpu",
    "initial_value",
    "inspect_checkpoint",
    "keras_counterpart",
    "legacy_keras_active",
    "list_collections",
    "load_tf1_checkpoint",
    "lstm_weights_from_tf1",
    "lstm_weights_to_tf1",
    "make_keras_optimizer",
    "make_tf1_optimizer",
    "match_variable_names",
    "minimize",
    "new_graph",
    "optimizer_spec",
    "placement_by_task",
    "run_eager",
    "run_graph",
    "run_script",
    "run_steps",
    "run_with_placement",
    "save_tf1_checkpoint",
    "scan_files",
    "scan_source",
    "session_config",
    "start_local_cluster",
    "start_server",
    "task_of_device",
    "tf",
    "train_step",
    "v1",
    "variable_placement",
    "wait_for_variables",
]
