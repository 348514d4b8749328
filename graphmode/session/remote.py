"""Sessions on a ``grpc://`` target: bounding session creation by the session's timeout.

TensorFlow creates a distributed session at its first run: the master asks
every task its device filters cover for its devices, and waits for all of
them, forever (``DeviceFinder::Wait`` has no deadline). An in-process master
(``LocalMaster``) does not cancel that wait when ``operation_timeout_in_ms``
or ``RunOptions.timeout_in_ms`` passes; it keeps blocking. So a session whose
ps is down hangs at its first run whatever timeout it was given.

Before that first run, :func:`wait_until_reachable` creates a throwaway
session with the same target and device filters over gRPC
(``use_rpc_for_inprocess_master``), whose call does honour a deadline. If the
tasks answer, the real session is created right after (a task that dies in
between still hangs it: a window of milliseconds); if not, the error names
the tasks that do not accept a connection when the session was told the
cluster behind its target (``Session(target, cluster=...)``: job -> addresses,
or a :class:`graphmode.cluster.ClusterDescription`).
"""

from __future__ import annotations

import math
import socket
import time
from collections.abc import Mapping, Sequence
from typing import Protocol

from graphmode._runtime import tensorflow_session, tf, v1
from graphmode.errors import ConfigError, RunTimeoutError

GRPC_PREFIX = "grpc://"


class ClusterDict(Protocol):
    """What a cluster description offers a session: ``as_dict() -> {job: [address, ...]}``."""

    def as_dict(self) -> dict[str, list[str]]: ...


# The cluster behind a grpc target, as a session may be told it.
ClusterLike = Mapping[str, Sequence[str]] | ClusterDict
# Naming the unreachable tasks may add at most this much to the timeout.
_CONNECT_SECONDS = 1.0


def cluster_jobs(cluster: ClusterLike | None) -> dict[str, list[str]] | None:
    """``{job: [address, ...]}`` from a mapping, or from a cluster description's ``as_dict()``; None stays None.

    Raises:
        ConfigError: ``cluster`` is neither.
    """
    if cluster is None:
        return None
    as_dict = getattr(cluster, "as_dict", None)
    jobs = as_dict() if callable(as_dict) else cluster
    if not isinstance(jobs, Mapping) or not all(
        isinstance(job, str) and isinstance(addresses, Sequence) and not isinstance(addresses, str)
        for job, addresses in jobs.items()
    ):
        raise ConfigError(f"cluster must map each job to its task addresses ({{'ps': ['host:port'], 'worker': [...]}}) "
                          f"or be a graphmode.cluster.ClusterDescription; got {type(cluster).__name__}")
    return {job: [str(address) for address in addresses] for job, addresses in jobs.items()}


def is_remote(target: str) -> bool:
    """Says whether sessions on ``target`` go through TensorFlow's distributed master."""
    return isinstance(target, str) and target.startswith(GRPC_PREFIX)


def wait_until_reachable(
    target: str, config: v1.ConfigProto, seconds: float, source: str, jobs: Mapping[str, Sequence[str]] | None = None
) -> None:
    """Returns once a session on ``target`` with ``config``'s device filters can be created.

    Args:
        target: the ``grpc://host:port`` session target.
        config: the session's ``ConfigProto`` (its device filters choose the tasks asked).
        seconds: how long to wait at most.
        source: which timeout this is, for the message (``"per-run"``, ``"per-session"``).
        jobs: the cluster behind ``target`` (:func:`cluster_jobs`), so that the error names the
            tasks that do not answer; None: the error says it cannot name them.

    Raises:
        ConfigError: ``seconds`` is not a positive number.
        RunTimeoutError: no session within ``seconds``, naming the target or the tasks that
            do not answer (also as ``error.unreachable``).
    """
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not (seconds > 0 and math.isfinite(seconds)):
        raise ConfigError(f"timeout must be a positive, finite number of seconds; got {seconds!r}")
    graph = tf.Graph()
    with graph.as_default():
        probe = tf.no_op(name="graphmode_reachability_probe")
    probe_config = v1.ConfigProto()
    probe_config.device_filters.extend(config.device_filters)
    probe_config.cluster_def.CopyFrom(config.cluster_def)
    probe_config.rpc_options.CopyFrom(config.rpc_options)
    probe_config.rpc_options.use_rpc_for_inprocess_master = True  # the local master ignores deadlines
    probe_config.operation_timeout_in_ms = max(1, round(seconds * 1000))
    session = tensorflow_session(target, graph, probe_config)  # never graphmode's: a probe must not probe
    try:
        session.run(probe)
    except tf.errors.DeadlineExceededError as error:
        waiting = describe_unreachable(target, config, jobs)
        timeout_error = RunTimeoutError(
            f"creating the session on {target} gave up after {seconds:g} s ({source} timeout): {waiting}. Start it "
            "or check that this machine can reach it; nothing ran.",
            error.node_def,
            error.op,
        )
        timeout_error.unreachable = waiting
        raise timeout_error from error
    finally:
        try:
            session.close()
        except tf.errors.OpError:
            pass  # never created: there is nothing to close


def describe_unreachable(target: str, config: v1.ConfigProto, jobs: Mapping[str, Sequence[str]] | None = None) -> str:
    """Says which tasks a session on ``target`` waits for and which of them do not accept a connection."""
    itself = _connect_problem(target[len(GRPC_PREFIX):], _CONNECT_SECONDS)
    if itself:
        return f"the remote target '{target}' does not answer ({itself}): is its server running and reachable?"
    if config.device_filters:
        asked = f"every task its device filters cover ({', '.join(config.device_filters)})"
    else:
        asked = "every task of the cluster (the session has no device filters)"
    return f"TensorFlow's master waits for {asked} to answer, and {_unanswered(target, config, jobs)}"


def _covered_tasks(jobs: Mapping[str, Sequence[str]], config: v1.ConfigProto) -> list[tuple[str, int, str]]:
    tasks = [(job, index, address) for job, addresses in jobs.items() for index, address in enumerate(addresses)]
    if not config.device_filters:
        return tasks
    filters = [tf.DeviceSpec.from_string(text) for text in config.device_filters]
    return [
        task for task in tasks
        if any((not spec.job or spec.job == task[0]) and (spec.task is None or spec.task == task[1]) for spec in filters)
    ]


def _unanswered(target: str, config: v1.ConfigProto, jobs: Mapping[str, Sequence[str]] | None) -> str:
    """Names the tasks that refuse a TCP connection (or says that the cluster to name them was not given)."""
    if jobs is None:
        return (f"one of them did not (give the session the cluster behind {target}, Session(..., cluster=...), "
                "to have it named)")
    deadline = time.monotonic() + _CONNECT_SECONDS
    silent = []
    for job, index, address in _covered_tasks(jobs, config):
        reason = _connect_problem(address, max(0.05, deadline - time.monotonic()))
        if reason:
            silent.append(f"/job:{job}/task:{index} at {address} ({reason})")
    if not silent:
        return ("every one of them accepts connections, yet one did not answer as a TensorFlow server "
                "(still starting, or another program holds its port)")
    return f"{', '.join(silent)} does not answer" if len(silent) == 1 else f"{', '.join(silent)} do not answer"


def _connect_problem(address: str, seconds: float) -> str | None:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=seconds):
            return None
    except ConnectionRefusedError:
        return "connection refused: nothing listens there"
    except TimeoutError:
        return f"no answer to a connection within {seconds:.1f} s"
    except (OSError, ValueError) as error:  # ValueError: not host:port
        return getattr(error, "strerror", None) or str(error) or type(error).__name__
