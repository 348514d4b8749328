"""Recording a script's training as it runs: which runs are train steps, and what to keep of each.

A :class:`Recorder` is told about every ``Session.run`` of the script's
sessions (``graphmode run --record`` installs it; :mod:`graphmode.legacy.sessions`
calls it). A run is a *train step* when one of its fetches writes a trainable
variable. The first such run picks the session and the train op; the first
``steps`` runs of that session that fetch that op are recorded. Other train
runs (another session, another train op) are counted and named in the index.

The recorder reads, never adds: no op is built in the script's graph, no
random op runs, and the state is read by a run of the variables alone (on the
session's TensorFlow base class, so graphmode's run cache keeps the script's
callables). Values the script fed or got back are copied before being kept.
A recorder that fails stops recording, says why in the index and on stderr,
and leaves the script running as it would have.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from graphmode._pairing import base_name
from graphmode._runtime import tf
from graphmode.errors import TraceError
from graphmode.trace import format as fmt
from graphmode.trace import graph_facts
from graphmode.trace.writer import DEFAULT_MAX_BYTES, TraceWriter

_GRAPHMODE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_TENSORFLOW_DIR = os.path.dirname(os.path.dirname(os.path.abspath(tf.__file__))) + os.sep
_COMPLETE_ENDINGS = ("steps", "script-end")


class _Step(NamedTuple):
    fetches: Any
    feed_dict: Any
    call_site: str
    run: int


def _call_site() -> str:
    frame = sys._getframe(2)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith((_GRAPHMODE_DIR, _TENSORFLOW_DIR)):
            return f"{filename}:{frame.f_lineno}"
        frame = frame.f_back
    return "unknown:0"


def _fetch_key(fetches: Any) -> tuple:
    return tuple(item if isinstance(item, str) else id(item) for item in tf.nest.flatten(fetches))


def _plain(value: np.ndarray) -> Any:
    # The shortest decimal that reads back as the same float32 (0.02, not 0.019999999552965164).
    return float(str(value)) if value.dtype == np.float32 else value.item()


def _versions() -> dict[str, str]:
    from graphmode import __version__

    return {"tensorflow": tf.__version__, "graphmode": __version__, "python": platform.python_version(),
            "numpy": np.__version__}


class Recorder:
    """Records the first ``steps`` train steps of a script into a trace folder.

    Args:
        directory: the trace folder (prepared by :func:`graphmode.trace.writer.prepare_folder`).
        steps: how many train steps to record.
        max_bytes: the size cap (see :mod:`graphmode.trace.writer`).
        script: the script's path and arguments, for the index.
        on_finish: called once when the last step is recorded (to stop watching runs).
    """

    def __init__(self, directory: str, *, steps: int = 100, max_bytes: int = DEFAULT_MAX_BYTES,
                 script: tuple[str, Sequence[str]] = ("", ()), on_finish: Callable[[], None] | None = None) -> None:
        if steps < 1:
            raise TraceError(f"--record-steps must be at least 1; got {steps}")
        self.steps_requested = steps
        self._on_finish = on_finish
        self._sessions: list[Any] = []  # kept alive so their ids stay unique
        self._runs: dict[int, int] = {}
        self._verdicts: dict[tuple, tuple[str, ...]] = {}
        self._chosen: tuple[Any, str] | None = None
        self._others: dict[tuple[int, str], dict[str, Any]] = {}
        self._numpy_seeds: list[Any] = []
        self._numpy_seed = np.random.seed
        self.finished = False
        # A forked child inherits the recorder; only the recording process writes the trace. Runs from
        # other threads (queue runners) are told about one at a time.
        self._pid = os.getpid()
        self._lock = threading.RLock()
        self.index: dict[str, Any] = {
            "format": fmt.FORMAT, "version": fmt.VERSION, "complete": False, "ended": "recording",
            "steps_recorded": 0, "steps_requested": steps, "max_bytes": max_bytes,
            "script": {"path": script[0], "argv": list(script[1])}, "versions": _versions(),
            "seeds": {"graph": None, "ops": {}, "numpy": self._numpy_seeds}, "session": None, "train_op": None,
            "loss": None, "feeds": [], "fetches": [], "optimizer": None, "variables": [], "steps": [],
            "state_steps": [], "files": [], "other_train_runs": [], "notes": [],
        }
        self.writer = TraceWriter(directory, self.index, max_bytes)
        np.random.seed = self._seed_numpy

    def _seed_numpy(self, *args: Any, **kwargs: Any) -> Any:
        self._numpy_seeds.append(args[0] if args and isinstance(args[0], int) else repr(args or kwargs))
        return self._numpy_seed(*args, **kwargs)

    # --- called around every run of a script session ---------------------------------------------

    def before_run(self, session: Any, fetches: Any, feed_dict: Any) -> _Step | None:
        """Returns a token when this run is a train step to record (after reading state 0 for step 1)."""
        if self.finished or os.getpid() != self._pid:
            return None
        with self._lock:
            try:
                return self._before_run(session, fetches, feed_dict)
            except Exception as error:  # noqa: BLE001 - recording must never change what the script does
                self._fail(error)
                return None

    def after_run(self, step: _Step, result: Any) -> None:
        """Records the step the token of :meth:`before_run` describes, given the run's result."""
        if self.finished or os.getpid() != self._pid:
            return
        with self._lock:
            try:
                self._after_run(step, result)
            except Exception as error:  # noqa: BLE001 - as above
                self._fail(error)

    def _before_run(self, session: Any, fetches: Any, feed_dict: Any) -> _Step | None:
        if session not in self._sessions:
            self._sessions.append(session)
        run = self._runs[id(session)] = self._runs.get(id(session), 0) + 1
        graph = session.graph
        key = (id(session), graph.version, _fetch_key(fetches))
        train_ops = self._verdicts.get(key)
        if train_ops is None:
            items = graph_facts.fetch_items(graph, fetches)
            train_ops = tuple(dict.fromkeys(item.element.name if item.kind == "operation" else item.element.op.name
                                            for item in items
                                            if graph_facts.trains(graph, item.element if item.kind == "operation"
                                                                  else item.element.op)))
            self._verdicts[key] = train_ops
        if not train_ops:
            return None
        if self._chosen is None:
            self._chosen = (session, train_ops[0])
        chosen_session, chosen_op = self._chosen
        site = _call_site()
        if session is not chosen_session or chosen_op not in train_ops:
            self._note_other(session, train_ops, site)
            return None
        for op_name in train_ops[1:]:
            self._note_other(session, (op_name,), site)
        if self.index["steps_recorded"] == 0 and self.index["session"] is None:
            saved = json.loads(json.dumps(self.index))
            try:
                self._start(session, fetches, feed_dict, run)
            except tf.errors.FailedPreconditionError:
                # Variables not initialized yet: this run fails for the script too; the next train run is step 1.
                self.index.clear()
                self.index.update(saved)
                self._chosen = None
                return None
        return _Step(fetches, feed_dict, site, run)

    def _note_other(self, session: Any, train_ops: tuple[str, ...], site: str) -> None:
        number = self._sessions.index(session) + 1
        for op_name in train_ops:
            entry = self._others.setdefault((number, op_name), {"session": number, "train_op": op_name,
                                                                "runs": 0, "first_call_site": site})
            entry["runs"] += 1
        self.index["other_train_runs"] = list(self._others.values())

    # --- the first step: graph facts and state 0 ---------------------------------------------------

    def _start(self, session: Any, fetches: Any, feed_dict: Any, run: int) -> None:
        graph = session.graph
        train_op = graph.get_operation_by_name(self._chosen[1])
        items = graph_facts.fetch_items(graph, fetches)
        self.index["session"] = {"index": self._sessions.index(session) + 1,
                                 "class": type(session).__name__.removeprefix("TF1"),
                                 "target": session.sess_str if isinstance(session.sess_str, str) else "",
                                 "runs_before_step_1": run - 1}
        self.index["train_op"] = train_op.name
        self.index["fetches"] = [{"name": item.name, "kind": item.kind} for item in items]
        found = graph_facts.find_loss(train_op, items)
        if found is not None:
            loss, rule = found
            self.index["loss"] = {"name": loss.name, "rule": rule,
                                  "fetched": any(item.element is loss for item in items)}
        self.index["seeds"]["graph"] = graph.seed
        self.index["seeds"]["ops"] = graph_facts.op_seeds(graph)
        self.index["variables"] = graph_facts.variable_table(graph, train_op)
        self._variables = self._global_variables(graph)
        optimizer = graph_facts.read_optimizer(train_op)
        hyper_tensors = optimizer.tensors if optimizer is not None else {}
        feeds = self._resolved_feeds(graph, feed_dict)
        # Only placeholders: a fed intermediate tensor could stand in for a variable's value in this read.
        needed = {name: value for name, (tensor, value) in feeds.items() if tensor.op.type.startswith("Placeholder")}
        values = self._read(session, list(self._variables.values()) + list(hyper_tensors.values()), needed)
        state = dict(zip(self._variables, values[: len(self._variables)], strict=True))
        self._per_step = {}
        if optimizer is not None:
            read = dict(zip(hyper_tensors, values[len(self._variables):], strict=True))
            hyper = {name: _plain(value) for name, value in read.items()}
            hyper.update(optimizer.attributes)
            self.index["optimizer"] = {"kind": optimizer.kind, "name": optimizer.name, "spec": optimizer.spec,
                                       "hyperparameters": hyper, "varying": list(optimizer.varying),
                                       "per_step": list(optimizer.per_step)}
            # Values computed from variables alone (a decayed learning rate) are read with each state:
            # the read after step k gives the value step k + 1 uses.
            self._per_step = {name: hyper_tensors[name] for name in optimizer.per_step}
            self._next_hyper = {name: read[name] for name in optimizer.per_step}
            fed = sorted(set(optimizer.varying) - set(optimizer.per_step))
            if fed:
                self.index["notes"].append(f"optimizer hyper-parameters {fed} depend on a fed value; the index "
                                           "holds their value at step 1")
        self.writer.write_graph(self._meta_graph(graph))
        self._state_bytes = self.writer.write_state(0, state)
        self.writer.flush()

    @staticmethod
    def _global_variables(graph: tf.Graph) -> dict[str, Any]:
        with graph.as_default():
            return {base_name(v.name): v for v in graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)}

    @staticmethod
    def _read(session: Any, fetches: list, feed_dict: dict | None = None) -> list[np.ndarray]:
        if not fetches:
            return []
        # TensorFlow's own run: no graphmode checks, and graphmode's per-signature callables stay the script's.
        values = tf.compat.v1.Session.run(session, fetches, feed_dict=feed_dict or None)
        return [np.array(value, copy=True) for value in values]

    @staticmethod
    def _meta_graph(graph: tf.Graph) -> bytes:
        verbosity = tf.compat.v1.logging.get_verbosity()
        # Collections of Python objects TensorFlow cannot serialize are skipped with a warning per
        # collection; that is TensorFlow's business, not the script's output.
        tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)
        try:
            return tf.compat.v1.train.export_meta_graph(graph=graph).SerializeToString()
        finally:
            tf.compat.v1.logging.set_verbosity(verbosity)

    @staticmethod
    def _resolved_feeds(graph: tf.Graph, feed_dict: Any) -> dict[str, tuple[Any, Any]]:
        feeds = {}
        for key, value in (feed_dict or {}).items():
            if isinstance(key, (tf.SparseTensor, tuple)) or isinstance(value, tf.compat.v1.SparseTensorValue):
                raise TraceError(f"step feeds a sparse placeholder ({key!r}); a trace records dense tensors only. "
                                 "Feed its dense value, or its indices, values and shape as three placeholders")
            element = graph.as_graph_element(key, allow_tensor=True, allow_operation=False)
            feeds[element.name] = (element, value)
        return feeds

    # --- every recorded step -------------------------------------------------------------------------

    def _after_run(self, step: _Step, result: Any) -> None:
        number = self.index["steps_recorded"] + 1
        session = self._chosen[0]
        graph = session.graph
        feeds = {}
        for name, (tensor, value) in self._resolved_feeds(graph, step.feed_dict).items():
            # What TensorFlow was fed (graphmode refuses any feed this conversion would change); a copy.
            feeds[name] = np.array(value, dtype=tensor.dtype.base_dtype.as_numpy_dtype, copy=True)
        if number == 1:
            self.index["feeds"] = [{"name": name, "dtype": graph.get_tensor_by_name(name).dtype.base_dtype.name,
                                    "shape": list(value.shape)} for name, value in feeds.items()]
        items = graph_facts.fetch_items(graph, step.fetches)
        fetched = {}
        for item, value in zip(items, tf.nest.flatten(result), strict=True):
            if item.kind == "tensor":
                fetched[item.name] = np.array(value, copy=True)
        step_bytes = self.writer.write_step(number, feeds, fetched, self._next_hyper if self._per_step else {})
        if number == 1:
            note = self.writer.plan_states(self.steps_requested, self._state_bytes, step_bytes)
            if note:
                self.index["notes"].append(note)
        values = self._read(session, list(self._variables.values()) + list(self._per_step.values()))
        count = len(self._variables)
        self.writer.write_state(number, dict(zip(self._variables, values[:count], strict=True)))
        self._next_hyper = dict(zip(self._per_step, values[count:], strict=True))
        self.index["steps"].append({"step": number, "call_site": step.call_site, "run": step.run})
        self.index["steps_recorded"] = number
        if number >= self.steps_requested:
            self._end("steps")
        elif self.writer.bytes_written + step_bytes + self._state_bytes > self.writer.max_bytes:
            self.index["notes"].append(f"recording stopped after step {number}: the next step would pass the size "
                                       f"cap of {self.writer.max_bytes} bytes")
            self._end("size-cap")
        else:
            self.writer.flush()

    # --- the end -----------------------------------------------------------------------------------

    def _fail(self, error: Exception) -> None:
        step = self.index["steps_recorded"]
        message = f"recording stopped after {step} recorded step(s): {type(error).__name__}: {error}"
        self.index["notes"].append(message)
        print(f"graphmode: {message}", file=sys.stderr, flush=True)
        self._end("unrecordable")

    def _end(self, ended: str) -> None:
        if self.finished:
            return
        self.finished = True
        np.random.seed = self._numpy_seed
        # A step interrupted half-way (Ctrl-C inside the recorder) may have written files the index must not name.
        self.writer.truncate(self.index["steps_recorded"])
        self.index["steps"] = self.index["steps"][: self.index["steps_recorded"]]
        self.index["ended"] = ended
        if ended == "steps":
            self.index["notes"].append(f"runs after step {self.steps_requested} were not watched: other train runs "
                                       "after it are not in other_train_runs")
        self.index["complete"] = ended in _COMPLETE_ENDINGS
        if self.index["session"] is None and ended != "unrecordable" and not self._sessions:
            self.index["notes"].append(
                "the script ran no Session.run on a session of graphmode's TF1 API (tf.Session, "
                "tf.InteractiveSession); sessions TensorFlow makes inside MonitoredTrainingSession or an "
                "Estimator are not watched; nothing was recorded")
        elif self.index["session"] is None and ended != "unrecordable":
            runs = sum(self._runs.values())
            self.index["notes"].append(
                f"the script ran no train step: none of its {runs} Session.run call(s) in {len(self._sessions)} "
                "session(s) fetched an op that writes a trainable variable (an optimizer's minimize/apply_gradients "
                "or an assign to one); nothing was recorded")
        self.writer.flush(final=True)
        if self._on_finish is not None:
            self._on_finish()

    def close(self, ended: str = "script-end") -> str:
        """Ends the recording (if still going) as ``ended`` and returns a one-line summary for stderr."""
        if os.getpid() != self._pid:
            return "graphmode: the trace is written by the process that started recording"
        if not self.finished:
            if self.index["steps_recorded"] and ended == "script-end":
                self.index["notes"].append(f"the script ended after {self.index['steps_recorded']} train step(s), "
                                           f"fewer than the {self.steps_requested} requested")
            self._end(ended)
        index, directory = self.index, self.writer.directory
        if not index["steps_recorded"]:
            return f"graphmode: recorded no train step to {directory}: {index['notes'][-1]}"
        others = "".join(f"; not recorded: train op '{o['train_op']}' of session {o['session']} "
                         f"({o['runs']} run(s), first at {o['first_call_site']})" for o in index["other_train_runs"])
        states = len(index["state_steps"])
        return (f"graphmode: recorded {index['steps_recorded']} train step(s) of session {index['session']['index']} "
                f"(train op '{index['train_op']}', loss {index['loss']['name'] if index['loss'] else 'unknown'}) "
                f"with {states} state(s) to {directory} ({self.writer.bytes_written} bytes"
                f"{', complete' if index['complete'] else ', incomplete: ' + index['ended']}){others}")
