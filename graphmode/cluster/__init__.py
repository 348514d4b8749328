"""Clusters: parameter-server cluster descriptions, in-process servers, one process per task."""

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

__all__ = [
    "ClusterDescription",
    "LocalCluster",
    "TaskId",
    "TaskProcess",
    "TaskProcesses",
    "cluster_from_addresses",
    "cluster_from_tf_config",
    "describe_cluster",
    "free_ports",
    "placement_by_task",
    "run_with_placement",
    "start_local_cluster",
    "start_server",
    "task_of_device",
    "variable_placement",
    "wait_for_variables",
]
