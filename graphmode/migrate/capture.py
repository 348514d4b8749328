"""Running a TF1 script once under graphmode's TF1 API and writing down what migration needs.

The script runs unmodified (:func:`graphmode.legacy.runner.run_script`), one
script per process (``python -m graphmode.migrate.capture``). Hooks on
``Session.run`` and ``Optimizer.minimize`` note:

* each ``run`` call site (``file:line``), what it fetched and fed, by graph name;
* which of the script's global Python names held which graph object when it ran
  (``W`` -> variable ``W``, ``weights['h1']`` -> ``Variable_1``, ``x`` -> ``x:0``);
* the optimizer behind each train op (kind, hyper-parameters, loss, ``var_list``);
* for every op, the script line that built it (its creation traceback's
  outermost frame in the script), so the source rewrite knows which statements
  built the graph;
* owned copies of what the first calls of each ``run`` call site returned
  (:class:`graphmode.migrate.run_values.RunValueRecorder`), the proof of a
  script that trains nothing;
* and, through ``graphmode run --record``, a trace of the first ``steps``
  training steps (:class:`graphmode.trace.Trace`): fed arrays, loss, the whole
  state before step 1 and after each step.

The notes go to ``OUT/capture.json``, the trace to ``OUT/trace/``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

from graphmode._runtime import tf, v1
from graphmode.legacy.api import enable_tf1
from graphmode.legacy.runner import run_script
from graphmode.migrate.fastforward import REPLAY_LIMIT, FastForward
from graphmode.migrate.optimizers import watch_schedules
from graphmode.migrate.run_values import RunValueRecorder
from graphmode.migrate.summaries import SummaryNotes, decoded_summaries, summary_records
from graphmode.session.engine import Session

TRACE_FOLDER = "trace"
# Op types migration cannot express as TF2 code, with the reason printed for them.
UNMIGRATABLE_OPS = {
    "PyFunc": "tf.py_func runs Python inside the graph; rewrite it as TF2 code (tf.numpy_function keeps the call)",
    "PyFuncStateless": "tf.py_func runs Python inside the graph; rewrite it as TF2 code",
    "FIFOQueueV2": "input queues (QueueRunner) have no TF2 form; read the data with tf.data",
    "RandomShuffleQueueV2": "input queues (QueueRunner) have no TF2 form; read the data with tf.data",
    "PaddingFIFOQueueV2": "input queues (QueueRunner) have no TF2 form; read the data with tf.data",
    "Switch": "tf.cond / tf.while_loop in a TF1 graph: migrate writes no control flow; write it as Python in TF2",
    "Enter": "tf.while_loop in a TF1 graph: migrate writes no control flow; write it as Python in TF2",
    "ImageSummary": "tf.summary.image: migrate writes scalar and histogram summaries only; write images with "
                    "tf.summary.image(name, data, step=...) under a writer's as_default() in TF2",
    "AudioSummaryV2": "tf.summary.audio: migrate writes scalar and histogram summaries only; write audio with "
                      "tf.summary.audio(name, data, sample_rate, step=...) under a writer's as_default() in TF2",
    "TensorSummaryV2": "tf.summary.tensor_summary / text: migrate writes scalar and histogram summaries only",
}
_OPTIMIZER_KINDS = {
    "GradientDescentOptimizer": ("gradient_descent", {}),
    "MomentumOptimizer": ("momentum", {"momentum": "_momentum", "use_nesterov": "_use_nesterov"}),
    "AdamOptimizer": ("adam", {"beta1": "_beta1", "beta2": "_beta2", "epsilon": "_epsilon"}),
    "AdagradOptimizer": ("adagrad", {"initial_accumulator_value": "_initial_accumulator_value"}),
    "RMSPropOptimizer": (
        "rmsprop", {"decay": "_decay", "momentum": "_momentum", "epsilon": "_epsilon", "centered": "_centered"}
    ),
}


def _graph_name(item: Any) -> str | None:
    if isinstance(item, tf.Variable):
        return item.op.name
    if isinstance(item, (tf.Tensor, tf.Operation)):
        return item.name
    return None


def _bindings(value: Any, path: str, out: dict[str, str], depth: int = 0) -> None:
    name = _graph_name(value)
    if name is not None:
        out[path] = name
    elif depth < 2 and isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, (str, int)):
                _bindings(item, f"{path}[{key!r}]", out, depth + 1)
    elif depth < 2 and isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _bindings(item, f"{path}[{index}]", out, depth + 1)


def _script_line(frames: Sequence[Any], script: str) -> int | None:
    """The line of the outermost frame in the script: the module-level statement that did it."""
    for frame in frames:
        if os.path.abspath(frame[0]) == script:
            return int(frame[1])
    return None


class _Capture:
    def __init__(self, script: str, fast_forward: FastForward | None = None) -> None:
        self.script = script
        self.fast_forward = fast_forward
        self.call_sites: dict[int, dict] = {}
        self.bindings: dict[str, str] = {}
        self.train_ops: dict[str, dict] = {}
        self.schedules: dict[str, dict] = {}
        self.graph: Any = None
        self.values = RunValueRecorder()
        self.writes = SummaryNotes()

    # --- hooks -------------------------------------------------------------
    def script_frame(self):
        frame = sys._getframe(2)
        while frame is not None and os.path.abspath(frame.f_code.co_filename) != self.script:
            frame = frame.f_back
        return frame

    def on_minimize(self, optimizer: Any, loss: Any, var_list: Any, global_step: Any, train_op: Any) -> None:
        kind, fields = _OPTIMIZER_KINDS.get(type(optimizer).__name__, (type(optimizer).__name__, {}))
        rate = getattr(optimizer, "_lr", getattr(optimizer, "_learning_rate", None))
        frame = self.script_frame()
        self.train_ops[train_op.name] = {
            "optimizer": kind,
            "tf1_class": type(optimizer).__name__,
            "tf1_name": optimizer.get_name(),
            "learning_rate": float(rate) if isinstance(rate, (int, float)) else None,
            "learning_rate_kind": type(rate).__name__,
            "learning_rate_tensor": rate.name if isinstance(rate, tf.Tensor) else None,
            "hyperparameters": {key: _plain(getattr(optimizer, attr, None)) for key, attr in fields.items()},
            "loss": loss.name,
            "var_list": None if var_list is None else [v.op.name for v in var_list],
            "global_step": None if global_step is None else _graph_name(global_step),
            "line": None if frame is None else frame.f_lineno,
        }

    def on_run(self, session: Any, fetches: Any, feed_dict: Any, original_run, args, kwargs):
        frame = self.script_frame()
        if frame is None:
            return original_run(session, fetches, feed_dict, *args, **kwargs)
        self.graph = session.graph
        line = frame.f_lineno
        flat = tf.nest.flatten(fetches)
        fetched = [_graph_name(item) or (item if isinstance(item, str) else repr(item)) for item in flat]
        fast_forward = self.fast_forward
        fetch_key = (type(fetches).__name__, tuple(fetched))
        if fast_forward is not None and fast_forward.active and line in self.call_sites:
            replayed, value = fast_forward.replay(line, fetch_key, feed_dict)
            if replayed:
                return value
        for name, value in list(frame.f_globals.items()):
            if not name.startswith("__"):
                _bindings(value, name, self.bindings)
        fed = [_graph_name(key) or str(key) for key in (feed_dict or {})]
        site = self.call_sites.setdefault(line, {"line": line, "fetches": fetched, "feeds": fed, "calls": 0})
        site["calls"] += 1
        if fast_forward is not None:
            fast_forward.seen(line)  # may end the recording here: what this run fetches and feeds is noted
        result = original_run(session, fetches, feed_dict, *args, **kwargs)
        self.values.note(self.values.site(frame), fetched, decoded_summaries(fetches, result))
        if fast_forward is not None:
            fast_forward.remember(line, fetch_key, feed_dict, result)
        return result

    def on_add_summary(self, summary: Any) -> None:
        frame = self.script_frame()
        if frame is None:
            return
        self.writes.note(frame.f_lineno, summary)
        if self.fast_forward is not None:
            self.fast_forward.seen(frame.f_lineno)  # may end the recording here, after the note

    # --- the end ----------------------------------------------------------
    def summary(self, exit_code: int) -> dict:
        graph = self.graph
        ops, variables, unmigratable = {}, [], []
        read_back = {name for note in self.schedules.values() for name in note["ops"]}  # written as Keras schedules
        if graph is not None:
            for op in graph.get_operations():
                line = _script_line(op.traceback, self.script)
                ops[op.name] = {"type": op.type, "line": line}
                if op.type in UNMIGRATABLE_OPS and op.name not in read_back:
                    unmigratable.append({"op": op.name, "type": op.type, "line": line,
                                         "reason": UNMIGRATABLE_OPS[op.type]})
            trainable = {v.op.name for v in graph.get_collection(v1.GraphKeys.TRAINABLE_VARIABLES)}
            for variable in graph.get_collection(v1.GraphKeys.GLOBAL_VARIABLES):
                variables.append({
                    "name": variable.op.name,
                    "shape": variable.shape.as_list(),
                    "dtype": variable.dtype.base_dtype.name,
                    "trainable": variable.op.name in trainable,
                    "line": _script_line(variable.op.traceback, self.script),
                })
            for name in _initial_value_ops(graph.get_collection(v1.GraphKeys.GLOBAL_VARIABLES)):
                ops[name]["initial"] = True
        return {
            "script": self.script,
            "exit_code": exit_code,
            "recording": None if self.fast_forward is None else self.fast_forward.summary(),
            "call_sites": sorted(self.call_sites.values(), key=lambda site: site["line"]),
            "bindings": self.bindings,
            "train_ops": self.train_ops,
            "schedules": self.schedules,
            "variables": variables,
            "ops": ops,
            "unmigratable_ops": unmigratable,
            "summaries": summary_records(graph, ops) if graph is not None else {},
            "summary_writes": self.writes.lines,
            "placeholders": {
                name: {"dtype": graph.get_operation_by_name(name).get_attr("dtype").name,
                       "shape": _shape(graph.get_operation_by_name(name))}
                for name, info in ops.items() if info["type"] == "Placeholder"
            } if graph is not None else {},
        }


def _initial_value_ops(variables: Sequence[Any]) -> set[str]:
    """The ops that compute the variables' initial values: they run once, at initialization, never in a step."""
    seen: set[str] = set()
    stack = [variable.initial_value.op for variable in variables]
    while stack:
        op = stack.pop()
        if op.name in seen or op.type in ("VariableV2", "VarHandleOp", "Placeholder"):
            continue
        seen.add(op.name)
        stack.extend(tensor.op for tensor in op.inputs)
    return seen


def _shape(op: Any) -> list | None:
    shape = tf.TensorShape(op.get_attr("shape"))
    return None if shape.rank is None else shape.as_list()


def _plain(value: Any) -> Any:
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    return repr(value)


def capture(script: str, args: Sequence[str], folder: str, steps: int, deadline: float | None = None,
            fast_forward: bool = True, replay_limit: int = REPLAY_LIMIT) -> int:
    """Runs ``script`` with ``args`` under the TF1 API, writes ``folder/capture.json`` and the trace
    ``folder/trace``; returns the script's exit code.

    With ``fast_forward`` the script is rushed to its end after the recorded steps and stopped
    once every run call site was seen, or at ``deadline`` (``time.time()``), see
    :mod:`graphmode.migrate.fastforward`.
    """
    script = os.path.abspath(script)
    os.makedirs(folder, exist_ok=True)
    enable_tf1()
    forward = None
    if fast_forward:
        with open(script, encoding="utf-8", errors="replace") as handle:
            forward = FastForward(handle.read(),
                                  None if deadline is None else time.monotonic() + (deadline - time.time()),
                                  replay_limit, script=script)
    state = _Capture(script, forward)
    original_run = Session.run
    original_minimize = v1.train.Optimizer.minimize
    original_add_summary = v1.summary.FileWriter.add_summary

    def run(session, fetches, feed_dict=None, *rest, **kwargs):
        return state.on_run(session, fetches, feed_dict, original_run, rest, kwargs)

    def minimize(optimizer, loss, global_step=None, var_list=None, *rest, **kwargs):
        train_op = original_minimize(optimizer, loss, global_step, var_list, *rest, **kwargs)
        state.on_minimize(optimizer, loss, var_list, global_step, train_op)
        return train_op

    def add_summary(writer, summary, *rest, **kwargs):
        state.on_add_summary(summary)
        return original_add_summary(writer, summary, *rest, **kwargs)

    Session.run, v1.train.Optimizer.minimize = run, minimize
    v1.summary.FileWriter.add_summary = add_summary
    stop_watching_schedules = watch_schedules(state.schedules)
    if forward is not None:
        forward.arm()
    try:
        code = run_script(script, list(args), record=os.path.join(folder, TRACE_FOLDER), record_steps=steps,
                          on_recorded=None if forward is None else forward.recording_ended)
    finally:
        if forward is not None:
            forward.disarm()
        Session.run, v1.train.Optimizer.minimize = original_run, original_minimize
        v1.summary.FileWriter.add_summary = original_add_summary
        stop_watching_schedules()
    summary = dict(state.summary(code), run_values=state.values.write(folder))
    with open(os.path.join(folder, "capture.json"), "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=1)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m graphmode.migrate.capture [--deadline EPOCH_SECONDS] [--replay-limit N] [--whole-run]
    FOLDER STEPS SCRIPT [ARGS...]``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    deadline, fast_forward, replay_limit = None, True, REPLAY_LIMIT
    while argv and argv[0] in ("--deadline", "--replay-limit", "--whole-run"):
        option = argv.pop(0)
        if option == "--deadline":
            deadline = float(argv.pop(0))
        elif option == "--replay-limit":
            replay_limit = int(argv.pop(0))
        else:
            fast_forward = False
    folder, steps, script, *args = argv
    return capture(script, args, folder, int(steps), deadline, fast_forward, replay_limit)


if __name__ == "__main__":
    sys.exit(main())
