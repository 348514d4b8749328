"""One process per task on this machine: start, listen, stop, and never leave one behind.

A real cluster runs each task on its own machine under a scheduler. On one
machine (tests, demos, a laptop) :class:`TaskProcesses` plays the scheduler:
it starts a command once per task with that task's ``TF_CONFIG``, reads the
JSON lines each process prints as events, sends its stderr to a log file, and
stops every process it started when asked, when one fails, when the deadline
passes, or when the caller's ``with`` block is left by an exception.

Processes are told to stop by closing their stdin (a task that watches it,
like ``examples/cluster_ps.py``, exits at once; so it also exits if the
launcher dies), then SIGTERM, then SIGKILL.
"""

from __future__ import annotations

import dataclasses
import json
import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence

from graphmode.cluster.description import TF_CONFIG_ENV, ClusterDescription, TaskId
from graphmode.errors import ClusterTimeoutError, TaskFailedError


@dataclasses.dataclass(eq=False)
class TaskProcess:
    """One started process of a task (a restarted task gets a new one).

    Attributes:
        task: the task it runs.
        popen: the process.
        log_path: the file its stderr goes to.
        last_event: the last event it reported (for error messages).
    """

    task: TaskId
    popen: subprocess.Popen
    log_path: str
    last_event: dict | None = None

    @property
    def name(self) -> str:
        return f"{self.task.job} {self.task.index}"

    def log_tail(self, lines: int = 15) -> str:
        """Returns the last ``lines`` lines of the process's stderr log."""
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as log:
                return "".join(log.readlines()[-lines:]).rstrip()
        except OSError:
            return "(no log)"


def describe_exit(code: int) -> str:
    """Says how a process ended: ``exit code 1`` or ``killed by SIGKILL``."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class TaskProcesses:
    """Starts ``command`` once per task and turns what the processes print into events.

    Use as a context manager: leaving the block stops every process started.

    Example:
        >>> with TaskProcesses(cluster, [sys.executable, "train.py"], logdir, timeout=120) as processes:
        ...     processes.start_all()
        ...     for process, event in processes.events():
        ...         ...  # event: a dict a task printed as one JSON line, or {"event": "exited", "code": ...}
    """

    def __init__(
        self,
        cluster: ClusterDescription,
        command: Sequence[str],
        logdir: str,
        *,
        timeout: float,
        env: dict[str, str] | None = None,
        on_event: Callable[[TaskProcess, dict], None] | None = None,
        stop_grace: float = 3.0,
    ) -> None:
        """Prepares (starts nothing).

        Args:
            cluster: the tasks to run.
            command: the command every task runs; its ``TF_CONFIG`` names the task.
            logdir: where ``<job><index>.log`` (each task's stderr) goes.
            timeout: seconds from now until :meth:`events` gives up.
            env: environment for the processes (default: this process's).
            on_event: called with every event as it is read, before it is yielded.
            stop_grace: seconds each stopping stage (stdin closed, SIGTERM) waits before the next.
        """
        self.cluster = cluster
        self.command = list(command)
        self.logdir = logdir
        self.deadline = time.monotonic() + timeout
        self.timeout = timeout
        self.processes: list[TaskProcess] = []
        self._env = dict(os.environ if env is None else env)
        self._on_event = on_event
        self._stop_grace = stop_grace
        self._events: queue.Queue = queue.Queue()
        os.makedirs(logdir, exist_ok=True)

    def __enter__(self) -> TaskProcesses:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop_all(self._stop_grace)

    def start(self, task: TaskId) -> TaskProcess:
        """Starts one process for ``task`` (again, if it ran before)."""
        log_path = os.path.join(self.logdir, f"{task.job}{task.index}.log")
        env = {**self._env, TF_CONFIG_ENV: self.cluster.tf_config(task.job, task.index)}
        with open(log_path, "ab") as log:
            # A session of its own: Ctrl-C reaches only the launcher, which then stops the tasks in order.
            popen = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                                     env=env, start_new_session=True)
        process = TaskProcess(task, popen, log_path)
        self.processes.append(process)
        threading.Thread(target=self._read, args=(process,), daemon=True).start()
        return process

    def start_all(self) -> list[TaskProcess]:
        """Starts every task of the cluster, ps tasks first."""
        return [self.start(task) for task in self.cluster.tasks()]

    def _read(self, process: TaskProcess) -> None:
        for raw in process.popen.stdout:
            line = raw.decode("utf-8", "replace").strip()
            if not line:
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                event = None
            if not isinstance(event, dict) or "event" not in event:
                event = {"event": "output", "text": line}
            self._events.put((process, event))
        self._events.put((process, {"event": "exited", "code": process.popen.wait()}))

    def events(self) -> Iterator[tuple[TaskProcess, dict]]:
        """Yields ``(process, event)`` in arrival order until the caller stops or the deadline passes.

        Every process ends with an ``{"event": "exited", "code": ...}`` event,
        after all it printed.

        Raises:
            ClusterTimeoutError: the deadline passed, naming the tasks still
                running and what each reported last.
        """
        while True:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise self._timeout_error()
            try:
                process, event = self._events.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                continue
            if event["event"] != "exited":
                process.last_event = event
            if self._on_event is not None:
                self._on_event(process, event)
            yield process, event

    def _timeout_error(self) -> ClusterTimeoutError:
        running = [p for p in self.processes if p.popen.poll() is None]
        lines = [f"  {p.name} (pid {p.popen.pid}), last reported: {json.dumps(p.last_event)}" for p in running]
        return ClusterTimeoutError(
            f"the cluster run passed its {self.timeout:g} s timeout with {len(running)} task(s) still running "
            f"(all are being stopped); give it a longer timeout or fewer steps:\n" + "\n".join(lines)
        )

    def failure(self, process: TaskProcess, code: int, doing: str) -> TaskFailedError:
        """Returns the error for a task that ended when it should not have, with its log's tail."""
        return TaskFailedError(
            f"{process.name} ({process.task.device}, pid {process.popen.pid}) ended with {describe_exit(code)} "
            f"while {doing}; every other task is being stopped. Last lines of {process.log_path}:\n"
            f"{process.log_tail()}"
        )

    def kill(self, process: TaskProcess) -> int:
        """Kills one process outright (SIGKILL, as a machine failure would) and returns its exit code."""
        process.popen.kill()
        return process.popen.wait()

    def stop_all(self, grace: float = 3.0) -> None:
        """Stops every process started: stdin closed, then SIGTERM, then SIGKILL; waits for each."""
        for process in self.processes:
            try:
                process.popen.stdin.close()
            except OSError:
                pass
        for stop in (None, subprocess.Popen.terminate, subprocess.Popen.kill):
            running = [p.popen for p in self.processes if p.popen.poll() is None]
            if not running:
                return
            for popen in running:
                if stop is not None:
                    stop(popen)
            end = time.monotonic() + grace
            for popen in running:
                try:
                    popen.wait(timeout=max(0.0, end - time.monotonic()))
                except subprocess.TimeoutExpired:
                    pass
