"""Parameter-server clusters on TensorFlow's own distributed runtime: describing one.

TF1 code that outgrew one process used ``tf.train.ClusterSpec``,
``tf.train.Server``, ``tf.train.replica_device_setter`` and
``MonitoredTrainingSession``. This module keeps that path and fills in what
TF1 left to every user: free ports on one machine, a ``TF_CONFIG`` to hand
each process, device filters so a worker does not wait for its peers, clear
errors for a bad description or a taken port, and placement as data
(which variable lives on which ps task, which op ran on which worker).

A cluster has two jobs, as ``replica_device_setter`` expects: ``ps`` (holds
the variables) and ``worker`` (computes; worker 0 is the chief that
initializes and checkpoints). Starting servers, waiting for the chief and
placement by task live in ``_cluster_servers``.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import os
import re
import socket
from collections.abc import Sequence
from typing import NamedTuple

from graphmode._runtime import tf, v1
from graphmode.errors import ClusterError
from graphmode.session.config import session_config as _session_config

PS_JOB = "ps"
WORKER_JOB = "worker"
JOBS = (PS_JOB, WORKER_JOB)
TF_CONFIG_ENV = "TF_CONFIG"
_ADDRESS = re.compile(r"^(?P<host>\[[0-9a-fA-F:.]+\]|[^\s:\[\]]+):(?P<port>\d{1,5})$")


class TaskId(NamedTuple):
    """One task of a cluster: its job (``"ps"`` or ``"worker"``) and index."""

    job: str
    index: int

    @property
    def device(self) -> str:
        """The task's device prefix, as ``tf.device`` and placement reports write it."""
        return f"/job:{self.job}/task:{self.index}"


@dataclasses.dataclass(frozen=True)
class ClusterDescription:
    """The ``host:port`` address of every ps and worker task.

    Build one with :func:`describe_cluster` (free loopback ports, for one
    machine), :func:`cluster_from_addresses` (real hosts) or
    :func:`cluster_from_tf_config` (inside a task's process).

    Attributes:
        ps: parameter-server task addresses, task 0 first.
        workers: worker task addresses; worker 0 is the chief.
    """

    ps: tuple[str, ...]
    workers: tuple[str, ...]

    def addresses(self, job: str) -> tuple[str, ...]:
        """Returns the addresses of ``job``'s tasks.

        Raises:
            ClusterError: ``job`` is neither ``"ps"`` nor ``"worker"``.
        """
        if job == PS_JOB:
            return self.ps
        if job == WORKER_JOB:
            return self.workers
        raise ClusterError(f"job {job!r} is not in this cluster; its jobs are {', '.join(map(repr, JOBS))}")

    def task(self, job: str, index: int) -> TaskId:
        """Returns the :class:`TaskId` of ``job``'s task ``index``, checked.

        Raises:
            ClusterError: no such job, or ``index`` out of range.
        """
        count = len(self.addresses(job))
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < count:
            raise ClusterError(
                f"task index {index!r} is out of range for job {job!r}, which has {count} task(s) (0..{count - 1})"
            )
        return TaskId(job, index)

    def tasks(self) -> tuple[TaskId, ...]:
        """Returns every task, ps tasks first."""
        return tuple(TaskId(job, index) for job in JOBS for index in range(len(self.addresses(job))))

    def address(self, job: str, index: int) -> str:
        """Returns the ``host:port`` of one task."""
        return self.addresses(job)[self.task(job, index).index]

    def target(self, job: str, index: int) -> str:
        """Returns the session target (``grpc://host:port``) of one task's server."""
        return f"grpc://{self.address(job, index)}"

    def as_dict(self) -> dict[str, list[str]]:
        """Returns ``{"ps": [...], "worker": [...]}``, the shape ``ClusterSpec`` and ``TF_CONFIG`` use."""
        return {PS_JOB: list(self.ps), WORKER_JOB: list(self.workers)}

    def cluster_spec(self) -> tf.train.ClusterSpec:
        """Returns the ``tf.train.ClusterSpec`` of this cluster."""
        return tf.train.ClusterSpec(self.as_dict())

    def tf_config(self, job: str, index: int) -> str:
        """Returns the ``TF_CONFIG`` JSON that tells one task's process who it is.

        Example:
            >>> env = {**os.environ, "TF_CONFIG": cluster.tf_config("worker", 1)}
            >>> subprocess.Popen([sys.executable, "train.py"], env=env)
        """
        task = self.task(job, index)
        return json.dumps({"cluster": self.as_dict(), "task": {"type": task.job, "index": task.index}})

    def device_setter(self, worker_index: int):
        """Returns ``replica_device_setter`` for one worker: variables round-robin on the ps tasks.

        Use it with ``tf.compat.v1.device`` (TF2's ``tf.device`` refuses functions)
        or ``graph.device``.
        """
        worker = self.task(WORKER_JOB, worker_index)
        return v1.train.replica_device_setter(cluster=self.cluster_spec(), worker_device=worker.device)

    def session_config(
        self,
        job: str,
        index: int,
        config: v1.ConfigProto | None = None,
        *,
        intra_op_threads: int | None = None,
        inter_op_threads: int | None = None,
        timeout: float | None = None,
    ) -> v1.ConfigProto:
        """Returns a ``ConfigProto`` for a session run by one task, with device filters.

        The filters (``/job:ps`` and the task itself) keep the task's master
        from contacting the other workers: without them, creating a session
        waits, forever, for every task in the cluster to answer, so one dead
        or finished worker would stall a restarted one.

        Args:
            job: the task's job.
            index: the task's index.
            config: a starting ``ConfigProto`` (left unchanged).
            intra_op_threads: threads one op may use (0 lets TensorFlow choose).
            inter_op_threads: ops that may run at once (0 lets TensorFlow choose).
            timeout: seconds any blocking op may wait; a :class:`graphmode.Session`
                with this config also gives up creating itself after that long when
                a task the filters cover does not answer (TensorFlow alone waits forever).

        Raises:
            ClusterError: no such task. ConfigError: a negative count or timeout.
        """
        task = self.task(job, index)
        proto = _session_config(
            config, intra_op_threads=intra_op_threads, inter_op_threads=inter_op_threads, timeout=timeout
        )
        del proto.device_filters[:]
        proto.device_filters.extend(sorted({f"/job:{PS_JOB}", task.device}))
        return proto


def _check_address(address: object, where: str) -> str:
    if not isinstance(address, str) or not _ADDRESS.match(address):
        raise ClusterError(f"{where} has address {address!r}; expected 'host:port', e.g. '127.0.0.1:2222'")
    port = int(_ADDRESS.match(address)["port"])
    if not 0 < port < 65536:
        raise ClusterError(f"{where} has address {address!r}; its port must be in 1..65535")
    return address


_THIS_MACHINE = "this machine"


def _endpoint(address: str) -> tuple[str, int]:
    """The (host, port) an address ends up on, so that two spellings of one port compare equal.

    A task's server listens on every interface of its machine, so every name of
    this machine (``localhost``, ``127.0.0.1``, ``::1``, ``0.0.0.0``, its host
    name) is one host; ports are numbers (``02222`` is ``2222``). Other host
    names are compared as written, case-insensitively (no DNS lookup).
    """
    match = _ADDRESS.match(address)
    host = match["host"].strip("[]").lower().rstrip(".")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        local_names = {"localhost", "localhost.localdomain", socket.gethostname().lower()}
        return (_THIS_MACHINE if host in local_names else host), int(match["port"])
    if ip.is_loopback or ip.is_unspecified:
        return _THIS_MACHINE, int(match["port"])
    return str(ip), int(match["port"])


def cluster_from_addresses(ps: Sequence[str], workers: Sequence[str]) -> ClusterDescription:
    """Describes a cluster from the ``host:port`` of each task.

    Args:
        ps: parameter-server addresses (at least one).
        workers: worker addresses (at least one; worker 0 is the chief).

    Raises:
        ClusterError: a job without tasks, a malformed address, or one port
            given to two tasks, however spelled (``localhost:2222`` and
            ``127.0.0.1:02222``), naming both.
    """
    jobs = {PS_JOB: ps, WORKER_JOB: workers}
    for job, addresses in jobs.items():
        if isinstance(addresses, str) or not isinstance(addresses, Sequence) or not addresses:
            raise ClusterError(f"job {job!r} needs a non-empty list of 'host:port' addresses; got {addresses!r}")
    owners: dict[tuple[str, int], tuple[str, str]] = {}
    for job, addresses in jobs.items():
        for index, address in enumerate(addresses):
            device = TaskId(job, index).device
            _check_address(address, device)
            endpoint = _endpoint(address)
            if endpoint in owners:
                first, owner = owners[endpoint]
                if first == address:
                    raise ClusterError(
                        f"address {address!r} is given to both {owner} and {device}; every task needs its own port"
                    )
                raise ClusterError(
                    f"addresses {first!r} ({owner}) and {address!r} ({device}) are the same port "
                    f"{endpoint[1]} on {'this machine' if endpoint[0] == _THIS_MACHINE else endpoint[0]}; "
                    "every task needs its own port"
                )
            owners[endpoint] = (address, device)
    return ClusterDescription(tuple(ps), tuple(workers))


def free_ports(count: int, host: str = "127.0.0.1") -> tuple[int, ...]:
    """Returns ``count`` distinct TCP ports nothing on ``host`` listens on right now.

    Each port comes from binding to port 0; all sockets stay bound until every
    port is picked, so the ports differ. Another program may still take one
    before the server binds it: :func:`start_server` then says so.
    """
    if count < 1:
        raise ClusterError(f"count must be >= 1; got {count}")
    probes = []
    try:
        for _ in range(count):
            probe = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
            probes.append(probe)
            probe.bind((host.strip("[]"), 0))
        return tuple(probe.getsockname()[1] for probe in probes)
    finally:
        for probe in probes:
            probe.close()


def describe_cluster(ps: int = 1, workers: int = 2, *, host: str = "127.0.0.1") -> ClusterDescription:
    """Describes a cluster of ``ps`` + ``workers`` tasks on one host, each on a free port.

    Example:
        >>> cluster = describe_cluster(ps=1, workers=2)
        >>> cluster.as_dict()
        {'ps': ['127.0.0.1:40321'], 'worker': ['127.0.0.1:40322', '127.0.0.1:40323']}

    Raises:
        ClusterError: fewer than one task in a job.
    """
    for job, count in ((PS_JOB, ps), (WORKER_JOB, workers)):
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ClusterError(f"a cluster needs at least one {job!r} task; got {job}={count!r}")
    ports = free_ports(ps + workers, host)
    addresses = [f"{host}:{port}" for port in ports]
    return cluster_from_addresses(addresses[:ps], addresses[ps:])


def cluster_from_tf_config(text: str | None = None) -> tuple[ClusterDescription, TaskId]:
    """Reads a ``TF_CONFIG`` JSON (by default the environment variable) into a cluster and a task.

    Raises:
        ClusterError: missing or malformed JSON, jobs other than ps/worker, or
            a task that is not in the cluster.
    """
    source = "the TF_CONFIG environment variable" if text is None else "the TF_CONFIG text"
    text = os.environ.get(TF_CONFIG_ENV) if text is None else text
    if not text:
        raise ClusterError(f"{source} is empty; set it to ClusterDescription.tf_config(job, index) of this task")
    try:
        parsed = json.loads(text)
        jobs, task = parsed["cluster"], parsed["task"]
        job, index = task["type"], task["index"]
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise ClusterError(
            f"{source} is not {{'cluster': {{'ps': [...], 'worker': [...]}}, 'task': {{'type': ..., 'index': ...}}}}: "
            f"{error}"
        ) from error
    unknown = sorted(set(jobs) - set(JOBS))
    if unknown:
        raise ClusterError(f"{source} names job(s) {unknown}; a parameter-server cluster has only {list(JOBS)}")
    try:
        cluster = cluster_from_addresses(jobs.get(PS_JOB, []), jobs.get(WORKER_JOB, []))
        return cluster, cluster.task(job, index)
    except ClusterError as error:
        raise ClusterError(f"{source}: {error}") from error
