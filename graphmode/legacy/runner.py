"""``graphmode run``: run an unmodified TF1 script on TensorFlow 2.

The script runs in this process as ``__main__`` (``runpy``), with
``sys.argv = [SCRIPT, *ARGS]`` and the script's directory first on
``sys.path``, after :func:`graphmode.enable_tf1` switched the process to the
TF1 API. Its exit code, stdout, stderr and tracebacks are its own: a script
that raises exits 1 with a traceback that starts at its own lines (the
runner's frames are cut off), ``sys.exit(n)`` exits ``n``.

These make headless runs of old scripts work:

* matplotlib: without a display (no ``DISPLAY`` / ``WAYLAND_DISPLAY``) and no
  ``MPLBACKEND`` of the user's, :mod:`graphmode.legacy.headless_plots` (Agg
  whose event loop never waits) is selected, so ``plt.show()``,
  ``plt.waitforbuttonpress()`` and ``plt.ginput()`` return at once instead of
  blocking or failing. Figures are not displayed; ``plt.savefig`` works as usual.
  ``plt.show()`` runs animations to the end and writes them to a file
  (:mod:`graphmode.legacy.animations`; ``animations="off"`` leaves them alone).
* multiprocessing: ``spawn`` and ``forkserver`` children get the TF1 API too
  (:mod:`graphmode.legacy.children`); ``fork`` children inherit it.
* GPUs: see :mod:`graphmode.legacy.sessions` (soft placement when there is none).
* a script's own copy of TensorFlow's ``input_data.py``: when its MNIST download
  fails, graphmode writes the files it asked for from its own sources
  (:mod:`graphmode.mnist.copies`).

With ``record=DIR`` a :class:`graphmode.trace.recorder.Recorder` watches the script's
runs and writes a trace of its first train steps to ``DIR`` (``docs/trace.md``);
the script's output and exit code stay its own, and a one-line summary goes
to stderr when it ends.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
import warnings
from collections.abc import Callable, Sequence

from graphmode.contrib import namespace as contrib
from graphmode.errors import ScriptError
from graphmode.legacy import api
from graphmode.legacy.api import enable_tf1
from graphmode.legacy.children import give_children_the_tf1_api
from graphmode.legacy.sessions import observe_runs, track_sessions
from graphmode.mnist.copies import serve_failed_mnist_downloads
from graphmode.trace.recorder import Recorder
from graphmode.trace.writer import DEFAULT_MAX_BYTES, prepare_folder

PRINT_PLACEMENT = "-"
# The TF1 module and its tf.contrib namespace: their frames end a traceback of a removed name.
_TF1_API_FILES = (api.__file__, contrib.__file__)
_EXIT_INTERRUPTED = 130
HEADLESS_BACKEND = "module://graphmode.legacy.headless_plots"
# Read by graphmode.legacy.animations, which imports matplotlib: named here so the runner does not.
ANIMATIONS_VARIABLE = "GRAPHMODE_ANIMATIONS"
ANIMATION_MODES = ("save", "run", "off")


def _use_headless_matplotlib() -> None:
    if os.environ.get("MPLBACKEND") or os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return
    if sys.platform in ("darwin", "win32"):
        return  # these always have a window system when a user is logged in
    # In the environment, so multiprocessing children pick the same backend.
    os.environ["MPLBACKEND"] = HEADLESS_BACKEND
    for message in (
        r"FigureCanvasAgg is non-interactive, and thus cannot be shown",
        r"Matplotlib is currently using agg, which is a non-GUI backend",
    ):
        warnings.filterwarnings("ignore", message=message, category=UserWarning)


def _choose_animation_mode(mode: str | None) -> None:
    if mode is not None:
        os.environ[ANIMATIONS_VARIABLE] = mode
    value = os.environ.get(ANIMATIONS_VARIABLE)
    if value is not None and value.strip().lower() not in ANIMATION_MODES:
        raise ScriptError(f"{ANIMATIONS_VARIABLE}={value!r}: choose one of {', '.join(ANIMATION_MODES)}")


def _check_paths(script: str, placement: str | None) -> str:
    path = os.path.abspath(script)
    if not os.path.exists(path):
        raise ScriptError(f"cannot run {script!r}: no such file (working directory {os.getcwd()})")
    if os.path.isdir(path):
        raise ScriptError(f"cannot run {script!r}: it is a directory; give the .py file to run")
    if placement not in (None, PRINT_PLACEMENT):
        folder = os.path.dirname(os.path.abspath(placement)) or "."
        if not os.path.isdir(folder):
            raise ScriptError(
                f"cannot write the placement report to {placement!r}: folder {folder!r} does not exist"
            )
    return path


def _exit_code(exit_request: SystemExit) -> int:
    code = exit_request.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    # sys.exit("message") prints the message and exits 1, as Python does.
    print(code, file=sys.stderr)
    return 1


def _is_hook_frame(filename: str) -> bool:
    return filename in _TF1_API_FILES or filename.startswith("<frozen importlib")


def _report_uncaught(error: BaseException, path: str) -> None:
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != path:
        tb = tb.tb_next
    # Frames of the TF1 import hook at the end (an import of tensorflow.contrib
    # failing) say nothing about the script; Python hides importlib's own the same way.
    entry = tb
    while entry is not None:
        rest = entry.tb_next
        tail = rest
        while tail is not None and _is_hook_frame(tail.tb_frame.f_code.co_filename):
            tail = tail.tb_next
        if rest is not None and tail is None:
            entry.tb_next = None
            break
        entry = rest
    # No frame of the script (a SyntaxError while compiling it): the error
    # itself carries the file and line, graphmode's frames would only mislead.
    sys.excepthook(type(error), error.with_traceback(tb), tb)


def _report_placement(sessions: list, destination: str) -> None:
    if destination == PRINT_PLACEMENT:
        if not sessions:
            print("graphmode: the script created no session, so there is no placement to report", file=sys.stderr)
        for index, session in enumerate(sessions, start=1):
            print(
                f"graphmode: placement for session {index} of {len(sessions)} "
                f"({type(session).__name__.removeprefix('TF1')}, target {session.target or 'local'}):",
                file=sys.stderr,
            )
            print(session.placement.format_table(), file=sys.stderr)
        return
    report = [
        {
            "session": index,
            "class": type(session).__name__.removeprefix("TF1"),
            "target": session.target,
            "placement": session.placement.to_dicts(),
        }
        for index, session in enumerate(sessions, start=1)
    ]
    with open(destination, "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2)
        handle.write("\n")
    print(f"graphmode: wrote the placement of {len(sessions)} session(s) to {destination}", file=sys.stderr)


def _ending(code: int, failed: bool) -> str:
    if code == _EXIT_INTERRUPTED and failed:
        return "interrupted"
    if failed:
        return "error"
    return "script-end" if code == 0 else "exit"


def _recording_ended(recorder: Recorder, on_recorded: Callable[[int], None] | None) -> None:
    observe_runs(None)
    if on_recorded is not None:
        on_recorded(recorder.index["steps_recorded"])


def run_script(
    script: str,
    args: Sequence[str] = (),
    *,
    placement: str | None = None,
    animations: str | None = None,
    record: str | os.PathLike | None = None,
    record_steps: int = 100,
    record_max_bytes: int = DEFAULT_MAX_BYTES,
    on_recorded: Callable[[int], None] | None = None,
) -> int:
    """Runs a TF1 script as ``__main__`` under graphmode's TF1 API and returns its exit code.

    This switches the whole process to the TF1 API (see :func:`graphmode.enable_tf1`);
    it is meant for the ``graphmode run`` command, one script per process.

    Args:
        script: path of the script.
        args: the script's command-line arguments (its ``sys.argv[1:]``).
        placement: None; ``"-"`` to print each session's placement table to
            stderr when the script ends; or a path to write them as JSON.
        animations: without a display, what ``plt.show()`` does with animations:
            ``"save"``, ``"run"`` or ``"off"`` (see :mod:`graphmode.legacy.animations`);
            None keeps ``$GRAPHMODE_ANIMATIONS`` (else ``"save"``).
        record: a folder to write a trace of the script's training to (None: no trace).
        record_steps: how many train steps the trace holds (the first ones).
        record_max_bytes: the trace's size cap (fewer states are kept to stay under it).
        on_recorded: called with the number of steps recorded when the recording ends.

    Returns:
        The script's exit code: 0, its ``sys.exit`` code, 1 after an uncaught
        exception (traceback printed from the script's frames), 130 after Ctrl-C.

    Raises:
        ScriptError: the script does not exist or is a directory, the
            placement file's folder does not exist, or the animation mode is
            unknown (checked before running).
        TraceError: ``record`` is a file or a non-empty folder that holds no
            trace, or ``record_steps`` is below 1 (checked before running).
    """
    path = _check_paths(script, placement)
    _choose_animation_mode(animations)
    trace_folder = prepare_folder(os.fspath(record)) if record is not None else None
    _use_headless_matplotlib()
    enable_tf1()
    give_children_the_tf1_api()
    serve_failed_mnist_downloads()
    sessions = track_sessions(record_placement=placement is not None)
    recorder = None
    if trace_folder is not None:
        recorder = Recorder(trace_folder, steps=record_steps, max_bytes=record_max_bytes, script=(path, list(args)),
                            on_finish=lambda: _recording_ended(recorder, on_recorded))
        observe_runs(recorder)
    failed = False
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv = [path, *args]
    sys.path.insert(0, os.path.dirname(path))
    try:
        runpy.run_path(path, run_name="__main__")
        code = 0
    except SystemExit as exit_request:
        code = _exit_code(exit_request)
    except KeyboardInterrupt as interrupt:
        _report_uncaught(interrupt, path)
        code, failed = _EXIT_INTERRUPTED, True
    except BaseException as error:  # noqa: BLE001 - every script failure becomes its traceback + exit 1
        _report_uncaught(error, path)
        code, failed = 1, True
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
        if recorder is not None:
            observe_runs(None)
    sys.stdout.flush()
    if recorder is not None:
        print(recorder.close(_ending(code, failed)), file=sys.stderr, flush=True)
    if placement is not None:
        _report_placement(sessions, placement)
    return code
