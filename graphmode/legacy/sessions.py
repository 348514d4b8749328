"""The ``tf.Session`` / ``tf.InteractiveSession`` that graphmode's TF1 API hands to scripts.

They are :class:`graphmode.Session` / :class:`graphmode.InteractiveSession`
(so scripts get checked feeds and clear errors) with two defaults chosen for
running unmodified TF1 scripts here:

* **Soft placement when there is no GPU.** TensorFlow's CPU wheel answers True
  to ``tf.test.is_built_with_cuda()``, so TF1 scripts that branch on it pin ops
  to ``/gpu:0`` and fail with "Could not satisfy explicit device specification".
  On a machine without a GPU these sessions use ``allow_soft_placement=True``
  (a ``ConfigProto`` cannot say whether ``False`` was meant or just the
  default), and the first time a graph actually asks for a GPU graphmode says
  so once on stderr. ``tf.test.is_gpu_available()`` answers truthfully (False).
* **Placement recording on request.** ``graphmode run --placement`` records
  every session's placement and reports it when the script ends.
* **Run observers.** ``graphmode run --record`` has a :class:`graphmode.trace.recorder.Recorder`
  watch every run (:func:`observe_runs`) until it has the steps it records.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

from graphmode._runtime import has_gpu, tf
from graphmode.session.engine import InteractiveSession, Session


@dataclasses.dataclass
class _ScriptSessions:
    """Process-wide settings of the TF1 API's sessions (set by ``graphmode run``)."""

    record_placement: bool = False
    tracked: list = dataclasses.field(default_factory=list)
    tracking: bool = False
    fallback_noted: bool = False
    # Told about every run (graphmode.trace.recorder.Recorder's before_run / after_run), or None.
    observer: Any = None


_STATE = _ScriptSessions()


def track_sessions(record_placement: bool) -> list:
    """Starts keeping every TF1-API session created from now on, in creation order.

    Args:
        record_placement: have each of them record placement (``session.placement``).

    Returns:
        The list the sessions are appended to (read it when the script ends).
    """
    _STATE.record_placement = record_placement
    _STATE.tracking = True
    return _STATE.tracked


def observe_runs(observer: Any) -> None:
    """Tells ``observer`` about every run of a TF1-API session from now on (None: stop).

    ``observer.before_run(session, fetches, feed_dict)`` is called before each
    run and returns a token or None; ``observer.after_run(token, result)``
    follows a run that returned, when the token was not None.
    """
    _STATE.observer = observer


def _note_fallback(op: tf.Operation) -> None:
    _STATE.fallback_noted = True
    print(
        f"graphmode: op '{op.name}' asks for {op.device}, but this machine has no GPU; it runs on CPU "
        "because sessions from graphmode's TF1 API use allow_soft_placement=True here "
        "(TensorFlow's CPU wheel answers True to tf.test.is_built_with_cuda(); "
        "tf.test.is_gpu_available() answers False).",
        file=sys.stderr,
        flush=True,
    )


class _ScriptDefaults:
    """The TF1 API's defaults, mixed in before graphmode's session classes."""

    def __init__(self, target: str = "", graph: tf.Graph | None = None, config=None, **options) -> None:
        watch_gpu_requests = not has_gpu()
        if watch_gpu_requests:
            options.setdefault("allow_soft_placement", True)
        if _STATE.record_placement:
            options.setdefault("record_placement", True)
        super().__init__(target, graph, config, **options)
        self._gpu_watch = {"version": -1, "ops_seen": 0} if watch_gpu_requests else None
        if _STATE.tracking:
            _STATE.tracked.append(self)

    def run(self, fetches, feed_dict=None, options=None, run_metadata=None, **kwargs):
        """``graphmode.Session.run``; notes once if the graph asks for a GPU that is not here."""
        if self._gpu_watch is not None and not _STATE.fallback_noted:
            self._look_for_gpu_requests()
        observer = _STATE.observer
        if observer is None:
            return super().run(fetches, feed_dict, options, run_metadata, **kwargs)
        token = observer.before_run(self, fetches, feed_dict)
        result = super().run(fetches, feed_dict, options, run_metadata, **kwargs)
        if token is not None:
            observer.after_run(token, result)
        return result

    def _look_for_gpu_requests(self) -> None:
        # Only ops added since the last look are scanned, and only when the
        # graph grew (Graph.version counts ops), so a training loop pays one
        # integer comparison per step.
        graph, watch = self.graph, self._gpu_watch
        if graph.version == watch["version"]:
            return
        operations = graph.get_operations()
        for op in operations[watch["ops_seen"]:]:
            if op.device and tf.DeviceSpec.from_string(op.device).device_type in ("GPU", "gpu"):
                _note_fallback(op)
                break
        watch["version"], watch["ops_seen"] = graph.version, len(operations)


class TF1Session(_ScriptDefaults, Session):
    """``tf.Session`` under graphmode's TF1 API: a :class:`graphmode.Session` with script defaults."""


class TF1InteractiveSession(_ScriptDefaults, InteractiveSession):
    """``tf.InteractiveSession`` under graphmode's TF1 API."""

