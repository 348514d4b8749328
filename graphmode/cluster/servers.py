"""Parameter-server clusters: servers, waiting for the chief, and placement by task.

Everything here talks to TensorFlow's distributed runtime; the description of
a cluster (addresses, ``TF_CONFIG``, device filters) is in ``_cluster``.
"""

from __future__ import annotations

import errno
import socket
import time
from collections.abc import Mapping
from typing import NamedTuple

from graphmode._runtime import tf, v1
from graphmode.cluster.description import ClusterDescription, TaskId
from graphmode.errors import ConfigError, RunTimeoutError, ServerStartError
from graphmode.session.config import session_config as _session_config
from graphmode.session.diagnosis import uninitialized_variables
from graphmode.session.engine import Session
from graphmode.session.placement import PlacementReport, records_from_run_metadata
from graphmode.session.remote import ClusterLike, cluster_jobs, wait_until_reachable


def _port_taken(address: str) -> bool:
    host, _, port = address.rpartition(":")
    host = host.strip("[]")
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            # The server binds every interface, so that is what to probe.
            probe.bind(("::" if ":" in host else "0.0.0.0", int(port)))
        except OSError as error:
            return error.errno == errno.EADDRINUSE
    return False


def start_server(
    cluster: ClusterDescription,
    job: str,
    index: int,
    *,
    config: v1.ConfigProto | None = None,
    intra_op_threads: int | None = None,
    inter_op_threads: int | None = None,
) -> v1.train.Server:
    """Starts the ``tf.compat.v1.train.Server`` of one task in this process.

    The server serves until the process exits: TensorFlow cannot stop one
    (``Server.join`` blocks forever), so run one task per process and end the
    process to end the task.

    Args:
        cluster: the cluster the task belongs to.
        job: ``"ps"`` or ``"worker"``.
        index: the task's index in its job.
        config: default ``ConfigProto`` for sessions the server runs.
        intra_op_threads: threads one op may use on this server (0: TensorFlow chooses).
        inter_op_threads: ops this server may run at once (0: TensorFlow chooses).

    Raises:
        ClusterError: no such task. ServerStartError: the port is taken or
            the server failed to start.
    """
    task = cluster.task(job, index)
    address = cluster.address(job, index)
    proto = _session_config(config, intra_op_threads=intra_op_threads, inter_op_threads=inter_op_threads)
    try:
        server = v1.train.Server(cluster.cluster_spec(), job_name=task.job, task_index=task.index, config=proto)
    except tf.errors.OpError as error:
        reason = (
            "the port is already in use; stop what holds it or describe the cluster with free ports "
            "(describe_cluster)"
            if _port_taken(address)
            else f"TensorFlow said: {error.message}"
        )
        raise ServerStartError(f"could not start the server of {task.device} on {address}: {reason}") from error
    return server


class LocalCluster(NamedTuple):
    """Servers for every task of a cluster, all in this process (tests, experiments)."""

    description: ClusterDescription
    servers: Mapping[TaskId, v1.train.Server]

    def target(self, job: str, index: int) -> str:
        """Returns the session target of one task's server."""
        return self.servers[self.description.task(job, index)].target


def start_local_cluster(
    cluster: ClusterDescription,
    *,
    intra_op_threads: int | None = 1,
    inter_op_threads: int | None = 1,
) -> LocalCluster:
    """Starts a server for every task of ``cluster`` in this process.

    Handy to try a graph's placement without separate processes. The servers
    live until the process exits (TensorFlow cannot stop them), so start one
    local cluster per process. Threads default to one per server because
    every server runs on the same cores.
    """
    servers = {
        task: start_server(
            cluster, task.job, task.index, intra_op_threads=intra_op_threads, inter_op_threads=inter_op_threads
        )
        for task in cluster.tasks()
    }
    return LocalCluster(cluster, servers)


def task_of_device(device: str) -> str:
    """Returns the task part of a device name: ``/job:ps/replica:0/task:0/device:CPU:0`` -> ``/job:ps/task:0``.

    Returns ``""`` for a device that names no job.
    """
    spec = tf.DeviceSpec.from_string(device)
    if not spec.job:
        return ""
    return TaskId(spec.job, spec.task or 0).device


def placement_by_task(report: PlacementReport) -> dict[str, tuple[str, ...]]:
    """Groups a placement report's op names by the task they ran on."""
    grouped: dict[str, list[str]] = {}
    for record in report.records:
        grouped.setdefault(task_of_device(record.assigned_device), []).append(record.op_name)
    return {task: tuple(names) for task, names in grouped.items()}


def variable_placement(graph: tf.Graph, report: PlacementReport) -> dict[str, str]:
    """Returns ``{variable name: assigned device}`` for the graph's variables the report covers."""
    assigned = {record.op_name: record.assigned_device for record in report.records}
    names = (variable.op.name for variable in graph.get_collection(v1.GraphKeys.GLOBAL_VARIABLES))
    return {name: assigned[name] for name in names if name in assigned}


def run_with_placement(session, fetches, feed_dict: Mapping | None = None) -> tuple[object, PlacementReport]:
    """Runs ``fetches`` once on any session and returns the values and that run's placement.

    Works where a :class:`graphmode.Session` cannot be used, notably
    ``MonitoredTrainingSession`` (its session manager creates plain sessions).
    """
    options = v1.RunOptions(output_partition_graphs=True)
    metadata = v1.RunMetadata()
    values = session.run(fetches, feed_dict=feed_dict, options=options, run_metadata=metadata)
    return values, PlacementReport(tuple(records_from_run_metadata(session.graph, metadata)))


def wait_for_variables(
    target: str,
    graph: tf.Graph,
    *,
    config: v1.ConfigProto | None = None,
    cluster: ClusterLike | None = None,
    timeout: float = 60.0,
    poll_seconds: float = 0.2,
) -> float:
    """Blocks until every global variable of ``graph`` holds a value on its device; returns the seconds waited.

    In between-graph replication the chief initializes the variables on the
    ps and the other workers wait. ``MonitoredTrainingSession`` makes them
    wait in 30-second naps; call this first to start within ``poll_seconds``
    of the chief.

    Args:
        target: the session target of this task's server.
        graph: the worker's graph (not finalized yet: one report op is added).
        config: the task's ``ConfigProto`` (use :meth:`ClusterDescription.session_config`).
        cluster: the cluster (a :class:`ClusterDescription`), so that a task that
            does not answer is named.
        timeout: seconds to wait at most, also while a task the session needs
            (a ps, this task) does not answer at all: TensorFlow alone would wait forever.
        poll_seconds: pause between checks.

    Raises:
        RunTimeoutError: the variables were still uninitialized after
            ``timeout`` seconds, naming them, or no session could be created,
            naming the task that does not answer (job, index, address).
        ConfigError: the graph is finalized.
    """
    if graph.finalized:
        raise ConfigError("wait_for_variables adds a report op to the graph, but the graph is finalized; call it earlier")
    start = time.monotonic()
    missing: list[str] | None = None
    unreachable: str | None = None
    probe_config = config if config is not None else v1.ConfigProto()
    jobs = cluster_jobs(cluster)
    with Session(target, graph=graph, config=config, cluster=jobs) as session:
        while True:
            remaining = max(timeout - (time.monotonic() - start), 0.001)
            try:
                if missing is None:
                    # TensorFlow would wait for a ps that is down forever; this bounds it and names it.
                    wait_until_reachable(target, probe_config, remaining, "wait_for_variables", jobs)
                missing = uninitialized_variables(session, timeout=remaining)
            except (tf.errors.UnavailableError, tf.errors.DeadlineExceededError) as error:
                # The ps is not up yet, or this check ran out of time: both are "not ready".
                unreachable = getattr(error, "unreachable", None) or error.message
            else:
                if not missing:
                    return time.monotonic() - start
            if timeout - (time.monotonic() - start) <= poll_seconds:
                raise RunTimeoutError(_wait_message(target, timeout, missing, unreachable))
            time.sleep(poll_seconds)


def _wait_message(target: str, timeout: float, missing: list[str] | None, unreachable: str | None) -> str:
    if missing:
        return (
            f"variable(s) {', '.join(map(repr, missing))} still uninitialized after {timeout:g} s on {target}; the "
            "chief (worker 0) initializes the variables: is it running, and can this task and the chief reach the ps?"
        )
    return f"no answer from the ps after {timeout:g} s on {target}: {unreachable or 'no session could be created'}"
