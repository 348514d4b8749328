"""graphmode: run TF1 graph/session code on TensorFlow 2 and prove its eager rewrite matches."""

# A table of contents that imports nothing until asked: `import graphmode` leaves the process
# (environment, TensorFlow, Keras) untouched, and the first access of a name imports the module
# defining it (TensorFlow with it). Each public name is one line of _EXPORTS below.

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "CheckpointCorruptError": "graphmode.errors",
    "CheckpointMatchError": "graphmode.errors",
    "CheckpointNotFoundError": "graphmode.errors",
    "ClusterError": "graphmode.errors",
    "ClusterTimeoutError": "graphmode.errors",
    "ConfigError": "graphmode.errors",
    "ConfigTypeError": "graphmode.errors",
    "ContribArgumentError": "graphmode.errors",
    "DataFilesNotFoundError": "graphmode.errors",
    "DatasetError": "graphmode.errors",
    "DevicePlacementError": "graphmode.errors",
    "ExampleError": "graphmode.errors",
    "FeedError": "graphmode.errors",
    "FeedRangeError": "graphmode.errors",
    "FeedTypeError": "graphmode.errors",
    "ForeignGraphError": "graphmode.errors",
    "GraphmodeError": "graphmode.errors",
    "InputExhaustedError": "graphmode.errors",
    "MissingFeedError": "graphmode.errors",
    "NoGradientError": "graphmode.errors",
    "NoKerasEquivalentError": "graphmode.errors",
    "NumericsError": "graphmode.errors",
    "ParityError": "graphmode.errors",
    "RemovedModuleError": "graphmode.errors",
    "RemovedSymbolError": "graphmode.errors",
    "RunTimeoutError": "graphmode.errors",
    "ScriptError": "graphmode.errors",
    "ServerStartError": "graphmode.errors",
    "SessionClosedError": "graphmode.errors",
    "TaskFailedError": "graphmode.errors",
    "TraceError": "graphmode.errors",
    "UninitializedVariableError": "graphmode.errors",
    "match_variable_names": "graphmode._pairing",
    "gpu_devices": "graphmode._runtime",
    "has_gpu": "graphmode._runtime",
    "legacy_keras_active": "graphmode._runtime",
    "tf": "graphmode._runtime",
    "v1": "graphmode._runtime",
    "LoadReport": "graphmode.checkpoint.load",
    "load_tf1_checkpoint": "graphmode.checkpoint.load",
    "CheckpointEntry": "graphmode.checkpoint.reader",
    "CheckpointSummary": "graphmode.checkpoint.reader",
    "CheckpointVariable": "graphmode.checkpoint.reader",
    "inspect_checkpoint": "graphmode.checkpoint.reader",
    "KerasRecurrentWeights": "graphmode.checkpoint.recurrent",
    "TF1GRUWeights": "graphmode.checkpoint.recurrent",
    "TF1LSTMWeights": "graphmode.checkpoint.recurrent",
    "gru_weights_from_tf1": "graphmode.checkpoint.recurrent",
    "gru_weights_to_tf1": "graphmode.checkpoint.recurrent",
    "lstm_weights_from_tf1": "graphmode.checkpoint.recurrent",
    "lstm_weights_to_tf1": "graphmode.checkpoint.recurrent",
    "save_tf1_checkpoint": "graphmode.checkpoint.save",
    "ClusterDescription": "graphmode.cluster.description",
    "TaskId": "graphmode.cluster.description",
    "cluster_from_addresses": "graphmode.cluster.description",
    "cluster_from_tf_config": "graphmode.cluster.description",
    "describe_cluster": "graphmode.cluster.description",
    "free_ports": "graphmode.cluster.description",
    "TaskProcess": "graphmode.cluster.processes",
    "TaskProcesses": "graphmode.cluster.processes",
    "LocalCluster": "graphmode.cluster.servers",
    "placement_by_task": "graphmode.cluster.servers",
    "run_with_placement": "graphmode.cluster.servers",
    "start_local_cluster": "graphmode.cluster.servers",
    "start_server": "graphmode.cluster.servers",
    "task_of_device": "graphmode.cluster.servers",
    "variable_placement": "graphmode.cluster.servers",
    "wait_for_variables": "graphmode.cluster.servers",
    "enable_tf1": "graphmode.legacy.api",
    "run_script": "graphmode.legacy.runner",
    "ScanFinding": "graphmode.scan.scanner",
    "ScanReport": "graphmode.scan.scanner",
    "ScriptVerdict": "graphmode.scan.verdict",
    "scan_files": "graphmode.scan.scanner",
    "scan_source": "graphmode.scan.scanner",
    "ParityProblem": "graphmode.parity.check",
    "assert_parity": "graphmode.parity.check",
    "check_parity": "graphmode.parity.check",
    "compare_trajectories": "graphmode.parity.compare",
    "InitializerCheck": "graphmode.parity.initializers",
    "LockstepQuantity": "graphmode.parity.lockstep_report",
    "LockstepReport": "graphmode.parity.lockstep_report",
    "Divergence": "graphmode.parity.report",
    "ParityReport": "graphmode.parity.report",
    "QuantityDiff": "graphmode.parity.report",
    "Trajectory": "graphmode.parity.report",
    "EagerModel": "graphmode.parity.run",
    "GraphModel": "graphmode.parity.run",
    "run_eager": "graphmode.parity.run",
    "run_graph": "graphmode.parity.run",
    "InteractiveSession": "graphmode.session.engine",
    "Session": "graphmode.session.engine",
    "session_config": "graphmode.session.engine",
    "STANDARD_COLLECTIONS": "graphmode.session.graph",
    "CollectionSummary": "graphmode.session.graph",
    "format_collections": "graphmode.session.graph",
    "initial_value": "graphmode.session.graph",
    "list_collections": "graphmode.session.graph",
    "new_graph": "graphmode.session.graph",
    "PlacementRecord": "graphmode.session.placement",
    "PlacementReport": "graphmode.session.placement",
    "Trace": "graphmode.trace.reader",
    "TraceOptimizer": "graphmode.trace.reader",
    "TraceVariable": "graphmode.trace.reader",
    "KerasCounterpart": "graphmode.train.keras_map",
    "TF1Momentum": "graphmode.train.keras_map",
    "TF1RMSprop": "graphmode.train.keras_map",
    "keras_counterpart": "graphmode.train.keras_map",
    "make_keras_optimizer": "graphmode.train.keras_map",
    "LoopResult": "graphmode.train.loop",
    "TrainStep": "graphmode.train.loop",
    "build_train_step": "graphmode.train.loop",
    "run_steps": "graphmode.train.loop",
    "train_step": "graphmode.train.loop",
    "ExponentialDecay": "graphmode.train.optimizers",
    "GradientClipping": "graphmode.train.optimizers",
    "OptimizerSpec": "graphmode.train.optimizers",
    "PiecewiseConstant": "graphmode.train.optimizers",
    "PolynomialDecay": "graphmode.train.optimizers",
    "TrainOp": "graphmode.train.optimizers",
    "make_tf1_optimizer": "graphmode.train.optimizers",
    "minimize": "graphmode.train.optimizers",
    "optimizer_spec": "graphmode.train.optimizers",
}

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time __getattr__ imports on demand
    from graphmode._pairing import match_variable_names as match_variable_names
    from graphmode._runtime import gpu_devices as gpu_devices
    from graphmode._runtime import has_gpu as has_gpu
    from graphmode._runtime import legacy_keras_active as legacy_keras_active
    from graphmode._runtime import tf as tf
    from graphmode._runtime import v1 as v1
    from graphmode.checkpoint.load import LoadReport as LoadReport
    from graphmode.checkpoint.load import load_tf1_checkpoint as load_tf1_checkpoint
    from graphmode.checkpoint.reader import CheckpointEntry as CheckpointEntry
    from graphmode.checkpoint.reader import CheckpointSummary as CheckpointSummary
    from graphmode.checkpoint.reader import CheckpointVariable as CheckpointVariable
    from graphmode.checkpoint.reader import inspect_checkpoint as inspect_checkpoint
    from graphmode.checkpoint.recurrent import KerasRecurrentWeights as KerasRecurrentWeights
    from graphmode.checkpoint.recurrent import TF1GRUWeights as TF1GRUWeights
    from graphmode.checkpoint.recurrent import TF1LSTMWeights as TF1LSTMWeights
    from graphmode.checkpoint.recurrent import gru_weights_from_tf1 as gru_weights_from_tf1
    from graphmode.checkpoint.recurrent import gru_weights_to_tf1 as gru_weights_to_tf1
    from graphmode.checkpoint.recurrent import lstm_weights_from_tf1 as lstm_weights_from_tf1
    from graphmode.checkpoint.recurrent import lstm_weights_to_tf1 as lstm_weights_to_tf1
    from graphmode.checkpoint.save import save_tf1_checkpoint as save_tf1_checkpoint
    from graphmode.cluster.description import ClusterDescription as ClusterDescription
    from graphmode.cluster.description import TaskId as TaskId
    from graphmode.cluster.description import cluster_from_addresses as cluster_from_addresses
    from graphmode.cluster.description import cluster_from_tf_config as cluster_from_tf_config
    from graphmode.cluster.description import describe_cluster as describe_cluster
    from graphmode.cluster.description import free_ports as free_ports
    from graphmode.cluster.processes import TaskProcess as TaskProcess
    from graphmode.cluster.processes import TaskProcesses as TaskProcesses
    from graphmode.cluster.servers import LocalCluster as LocalCluster
    from graphmode.cluster.servers import placement_by_task as placement_by_task
    from graphmode.cluster.servers import run_with_placement as run_with_placement
    from graphmode.cluster.servers import start_local_cluster as start_local_cluster
    from graphmode.cluster.servers import start_server as start_server
    from graphmode.cluster.servers import task_of_device as task_of_device
    from graphmode.cluster.servers import variable_placement as variable_placement
    from graphmode.cluster.servers import wait_for_variables as wait_for_variables
    from graphmode.errors import CheckpointCorruptError as CheckpointCorruptError
    from graphmode.errors import CheckpointMatchError as CheckpointMatchError
    from graphmode.errors import CheckpointNotFoundError as CheckpointNotFoundError
    from graphmode.errors import ClusterError as ClusterError
    from graphmode.errors import ClusterTimeoutError as ClusterTimeoutError
    from graphmode.errors import ConfigError as ConfigError
    from graphmode.errors import ConfigTypeError as ConfigTypeError
    from graphmode.errors import ContribArgumentError as ContribArgumentError
    from graphmode.errors import DataFilesNotFoundError as DataFilesNotFoundError
    from graphmode.errors import DatasetError as DatasetError
    from graphmode.errors import DevicePlacementError as DevicePlacementError
    from graphmode.errors import ExampleError as ExampleError
    from graphmode.errors import FeedError as FeedError
    from graphmode.errors import FeedRangeError as FeedRangeError
    from graphmode.errors import FeedTypeError as FeedTypeError
    from graphmode.errors import ForeignGraphError as ForeignGraphError
    from graphmode.errors import GraphmodeError as GraphmodeError
    from graphmode.errors import InputExhaustedError as InputExhaustedError
    from graphmode.errors import MissingFeedError as MissingFeedError
    from graphmode.errors import NoGradientError as NoGradientError
    from graphmode.errors import NoKerasEquivalentError as NoKerasEquivalentError
    from graphmode.errors import NumericsError as NumericsError
    from graphmode.errors import ParityError as ParityError
    from graphmode.errors import RemovedModuleError as RemovedModuleError
    from graphmode.errors import RemovedSymbolError as RemovedSymbolError
    from graphmode.errors import RunTimeoutError as RunTimeoutError
    from graphmode.errors import ScriptError as ScriptError
    from graphmode.errors import ServerStartError as ServerStartError
    from graphmode.errors import SessionClosedError as SessionClosedError
    from graphmode.errors import TaskFailedError as TaskFailedError
    from graphmode.errors import TraceError as TraceError
    from graphmode.errors import UninitializedVariableError as UninitializedVariableError
    from graphmode.legacy.api import enable_tf1 as enable_tf1
    from graphmode.legacy.runner import run_script as run_script
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
    from graphmode.scan.scanner import ScanFinding as ScanFinding
    from graphmode.scan.scanner import ScanReport as ScanReport
    from graphmode.scan.scanner import scan_files as scan_files
    from graphmode.scan.scanner import scan_source as scan_source
    from graphmode.scan.verdict import ScriptVerdict as ScriptVerdict
    from graphmode.session.engine import InteractiveSession as InteractiveSession
    from graphmode.session.engine import Session as Session
    from graphmode.session.engine import session_config as session_config
    from graphmode.session.graph import STANDARD_COLLECTIONS as STANDARD_COLLECTIONS
    from graphmode.session.graph import CollectionSummary as CollectionSummary
    from graphmode.session.graph import format_collections as format_collections
    from graphmode.session.graph import initial_value as initial_value
    from graphmode.session.graph import list_collections as list_collections
    from graphmode.session.graph import new_graph as new_graph
    from graphmode.session.placement import PlacementRecord as PlacementRecord
    from graphmode.session.placement import PlacementReport as PlacementReport
    from graphmode.trace.reader import Trace as Trace
    from graphmode.trace.reader import TraceOptimizer as TraceOptimizer
    from graphmode.trace.reader import TraceVariable as TraceVariable
    from graphmode.train.keras_map import KerasCounterpart as KerasCounterpart
    from graphmode.train.keras_map import TF1Momentum as TF1Momentum
    from graphmode.train.keras_map import TF1RMSprop as TF1RMSprop
    from graphmode.train.keras_map import keras_counterpart as keras_counterpart
    from graphmode.train.keras_map import make_keras_optimizer as make_keras_optimizer
    from graphmode.train.loop import LoopResult as LoopResult
    from graphmode.train.loop import TrainStep as TrainStep
    from graphmode.train.loop import build_train_step as build_train_step
    from graphmode.train.loop import run_steps as run_steps
    from graphmode.train.loop import train_step as train_step
    from graphmode.train.optimizers import ExponentialDecay as ExponentialDecay
    from graphmode.train.optimizers import GradientClipping as GradientClipping
    from graphmode.train.optimizers import OptimizerSpec as OptimizerSpec
    from graphmode.train.optimizers import PiecewiseConstant as PiecewiseConstant
    from graphmode.train.optimizers import PolynomialDecay as PolynomialDecay
    from graphmode.train.optimizers import TrainOp as TrainOp
    from graphmode.train.optimizers import make_tf1_optimizer as make_tf1_optimizer
    from graphmode.train.optimizers import minimize as minimize
    from graphmode.train.optimizers import optimizer_spec as optimizer_spec



def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'graphmode' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later accesses are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


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
    "ConfigTypeError",
    "ContribArgumentError",
    "DataFilesNotFoundError",
    "DatasetError",
    "DevicePlacementError",
    "Divergence",
    "EagerModel",
    "ExampleError",
    "ExponentialDecay",
    "FeedError",
    "FeedRangeError",
    "FeedTypeError",
    "ForeignGraphError",
    "GradientClipping",
    "GraphModel",
    "GraphmodeError",
    "InitializerCheck",
    "InputExhaustedError",
    "InteractiveSession",
    "KerasCounterpart",
    "KerasRecurrentWeights",
    "LoadReport",
    "LocalCluster",
    "LockstepQuantity",
    "LockstepReport",
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
    "ScriptVerdict",
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
    "Trace",
    "TraceError",
    "TraceOptimizer",
    "TraceVariable",
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
