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
the tasks that do not accept a connection, when the cluster is known here
(servers started by :func:`graphmode.start_server` register theirs).
"""

from __future__ import annotations

import math
import socket
import time

from graphmode._runtime import tensorflow_session, tf, v1
from graphmode.errors import ConfigError, RunTimeoutError

GRPC_PREFIX = "grpc://"
# target -> {job: [address, ...]} for servers started in this process.
_CLUSTERS: dict[str, dict[str, list[str]]] = {}
# Naming the unreachable tasks may add at most this much to the timeout.
_CONNECT_SECONDS = 1.0


def register_cluster(target: str, jobs: dict[str, list[str]]) -> None:
    """Records the cluster a server in this process belongs to, so errors can name its tasks."""
    _CLUSTERS[target] = {job: list(addresses) for job, addresses in jobs.items()}


def is_remote(target: str) -> bool:
    """Says whether sessions on ``target`` go through TensorFlow's distributed master."""
    return isinstance(target, str) and target.startswith(GRPC_PREFIX)


def wait_until_reachable(target: str, config: v1.ConfigProto, seconds: float, source: str) -> None:
    """Returns once a session on ``target`` with ``config``'s device filters can be created.

    Args:
        target: the ``grpc://host:port`` session target.
        config: the session's ``ConfigProto`` (its device filters choose the tasks asked).
        seconds: how long to wait at most.
        source: which timeout this is, for the message (``"per-run"``, ``"per-session"``).

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
        waiting = describe_unreachable(target, config)
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


def describe_unreachable(target: str, config: v1.ConfigProto) -> str:
    """Says which tasks a session on ``target`` waits for and which of them do not accept a connection."""
    itself = _connect_problem(target[len(GRPC_PREFIX):], _CONNECT_SECONDS)
    if itself:
        return f"the remote target '{target}' does not answer ({itself}): is its server running and reachable?"
    if config.device_filters:
        asked = f"every task its device filters cover ({', '.join(config.device_filters)})"
    else:
        asked = "every task of the cluster (the session has no device filters)"
    return f"TensorFlow's master waits for {asked} to answer, and {_unanswered(target, config)}"


def _covered_tasks(jobs: dict[str, list[str]], config: v1.ConfigProto) -> list[tuple[str, int, str]]:
    tasks = [(job, index, address) for job, addresses in jobs.items() for index, address in enumerate(addresses)]
    if not config.device_filters:
        return tasks
    filters = [tf.DeviceSpec.from_string(text) for text in config.device_filters]
    return [
        task for task in tasks
        if any((not spec.job or spec.job == task[0]) and (spec.task is None or spec.task == task[1]) for spec in filters)
    ]


def _unanswered(target: str, config: v1.ConfigProto) -> str:
    """Names the tasks that refuse a TCP connection (or all that were asked, if that is not known)."""
    jobs = _CLUSTERS.get(target)
    if jobs is None:
        return f"one of them did not (the cluster behind {target} is not known in this process to name it)"
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
