"""``subprocess.run`` for Python commands, minus the TensorFlow import each one would pay.

Every test that checks a command as a user runs it (``python -m graphmode ...``, the ``graphmode``
console script, ``python examples/x.py``) used to start a fresh interpreter that spent 3-5 s of CPU
importing TensorFlow before doing anything. :func:`run` keeps the fresh process but skips that: a
``multiprocessing`` fork server imports graphmode (and so TensorFlow) once, and each command runs in
a child forked from it, with its own argv, working directory, environment and stdio files, exit
status and ``atexit`` handlers, exactly as ``python`` would run it after ``import graphmode``.

What it cannot reproduce is the import itself: a command whose environment changes a variable
TensorFlow or graphmode reads while importing (``TF_USE_LEGACY_KERAS``, ``TF_XLA_FLAGS``,
``TF_CPP_MIN_LOG_LEVEL``, ``GRAPHMODE_TF_VERBOSE``) is refused with ``ValueError``; tests of import-time
behaviour (tests/test_runtime.py) and of the console script's own start-up keep ``subprocess.run``.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import runpy
import signal
import subprocess
import sys
import tempfile
import threading
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path

# Read while TensorFlow / graphmode import; the fork server imported them under its own values.
IMPORT_TIME_ENV = ("TF_USE_LEGACY_KERAS", "TF_XLA_FLAGS", "TF_CPP_MIN_LOG_LEVEL", "GRAPHMODE_TF_VERBOSE")
PRELOAD = ["preimported", "graphmode", "graphmode._runtime", "graphmode.cli"]

_context = None
_lock = threading.Lock()
# The import-time variables as they were before graphmode's import here, where that is known: an
# environment copied from os.environ before the import still describes the same process.
_BEFORE_IMPORT = None if "graphmode._runtime" in sys.modules else {name: os.environ.get(name) for name in IMPORT_TIME_ENV}


def _forkserver():
    global _context
    with _lock:
        if _context is None:
            # This process then holds the environment the fork server's import leaves behind
            # (TF_USE_LEGACY_KERAS=1, ...), which is what a command given this environment would see.
            import graphmode._runtime  # noqa: F401

            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(PRELOAD)
            _context = context
            atexit.register(_stop_forkserver)
        return _context


def _stop_forkserver() -> None:
    """Ends the fork server with this process: left to exit on its own, it spends up to minutes of CPU
    tearing TensorFlow down on a loaded machine, and holds nothing worth a clean exit."""
    from multiprocessing import forkserver

    pid = getattr(forkserver._forkserver, "_forkserver_pid", None)
    if pid:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass


def _python_arguments(command: Sequence[str]) -> list[str]:
    """The arguments after ``python`` that ``command`` amounts to."""
    program, *rest = [os.fspath(part) for part in command]
    if Path(program).resolve() == Path(sys.executable).resolve() or Path(program).name in ("python", "python3"):
        return rest
    with open(program, "rb") as stream:  # a console script: a Python file with a shebang
        first_line = stream.readline()
    if first_line.startswith(b"#!") and b"python" in first_line:
        return [program, *rest]
    raise ValueError(f"preimported.run runs Python commands only, not {command!r}")


def _exit_status(error: SystemExit) -> int:
    if error.code is None:
        return 0
    if isinstance(error.code, int):
        return error.code
    print(error.code, file=sys.stderr)  # as the interpreter does for sys.exit("message")
    return 1


def _child(arguments: list[str], environment: dict[str, str], cwd: str, stdout: str, stderr: str) -> None:
    """Runs in the forked child: becomes ``python *arguments`` and never returns."""
    for fd, path, flags in ((0, os.devnull, os.O_RDONLY), (1, stdout, os.O_WRONLY), (2, stderr, os.O_WRONLY)):
        opened = os.open(path, flags)
        os.dup2(opened, fd)
        os.close(opened)
    sys.stdin = open(0, closefd=False)  # noqa: SIM115 - the process's own stdio, never closed
    sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(environment)
    status = 0
    try:
        if arguments[0] == "-m":
            sys.argv[:] = [arguments[1], *arguments[2:]]  # runpy puts the module's path in argv[0]
            sys.path[0] = os.getcwd()
            runpy.run_module(arguments[1], run_name="__main__", alter_sys=True)
        elif arguments[0] == "-c":
            sys.argv[:] = ["-c", *arguments[2:]]
            sys.path[0] = ""
            exec(compile(arguments[1], "<string>", "exec"), {"__name__": "__main__", "__builtins__": __builtins__})
        else:
            sys.argv[:] = arguments
            sys.path[0] = os.path.dirname(os.path.abspath(arguments[0]))
            runpy.run_path(arguments[0], run_name="__main__")
    except SystemExit as error:
        status = _exit_status(error)
    except BaseException:  # noqa: BLE001 - the interpreter reports any uncaught exception
        traceback.print_exc()
        status = 1
    try:
        atexit._run_exitfuncs()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


def run(command: Sequence[str], *, cwd: str | os.PathLike | None = None, env: Mapping[str, str] | None = None,
        timeout: float | None = None, capture_output: bool = True, text: bool = True,
        check: bool = False) -> subprocess.CompletedProcess:
    """Like ``subprocess.run(command, capture_output=True, text=True, ...)`` for a Python command.

    ``command`` starts with ``sys.executable`` (``-m module``, ``-c code`` or a script follows) or
    with a console script's path. Raises ``subprocess.TimeoutExpired`` (after killing the child)
    and, with ``check=True``, ``subprocess.CalledProcessError``, as subprocess.run does.
    """
    if not capture_output or not text:
        raise ValueError("preimported.run always captures stdout and stderr as text")
    arguments = _python_arguments(command)
    context = _forkserver()
    environment = dict(os.environ if env is None else env)
    changed = []
    for name in IMPORT_TIME_ENV:
        if environment.get(name) == os.environ.get(name):
            continue
        if _BEFORE_IMPORT is not None and environment.get(name) == _BEFORE_IMPORT[name]:
            # A fresh process given this value would have set what graphmode's import set here.
            if name in os.environ:
                environment[name] = os.environ[name]
            else:
                environment.pop(name, None)
        else:
            changed.append(name)
    if changed:
        raise ValueError(f"{command!r} changes {changed}, which TensorFlow/graphmode read while importing; "
                         "run it with subprocess.run")
    with tempfile.TemporaryDirectory(prefix="preimported-") as folder:
        stdout, stderr = os.path.join(folder, "stdout"), os.path.join(folder, "stderr")
        Path(stdout).touch()
        Path(stderr).touch()
        child = context.Process(
            target=_child, args=(arguments, environment, os.fspath(cwd or os.getcwd()), stdout, stderr), daemon=False)
        child.start()
        child.join(timeout)
        timed_out = child.exitcode is None
        if timed_out:
            child.kill()
            child.join()
        output = Path(stdout).read_text(errors="replace")
        errors = Path(stderr).read_text(errors="replace")
    if timed_out:
        raise subprocess.TimeoutExpired(list(command), timeout, output=output, stderr=errors)
    done = subprocess.CompletedProcess(list(command), child.exitcode, output, errors)
    if check:
        done.check_returncode()
    return done
