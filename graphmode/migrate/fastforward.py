"""Recording without the whole run: fast-forward after the recorded steps, stop once every run site is seen.

Migration needs two things from the recorded run: the first N training steps (the
trace) and every ``Session.run`` / ``.eval`` call site of the script, with what it
fetched and fed. A tutorial that trains for minutes reaches its evaluation and save
code only at the end, so after the N steps the recording *fast-forwards*: a run at a
call site that already ran since the recording ended (same fetches, same fed shapes)
is answered with a copy of what it returned then, without running. The script's loops
rush to their end; the numbers it prints from then on are not real, and migrate says so.

The recording stops (the script is ended where it stands, exit code 0) as soon as the
trace is written and every run call site in the script's source has been seen. It
also stops, naming the call sites never seen, when:

* ``REPLAY_LIMIT`` runs in a row are answered from copies without a new call site: a
  loop that waits for a fetched value (``while loss > eps``) never ends when its
  values are replayed;
* the time limit passes (``deadline``).
"""

from __future__ import annotations

import ast
import copy
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

# Replayed runs in a row, without a new call site, after which the recording stops. A tutorial's
# longest loops (epochs x batches) stay far below it; `while loss > eps` never ends without it.
REPLAY_LIMIT = 300_000
# `.run(` receivers that are no session: their calls never reach Session.run.
_NOT_SESSIONS = frozenset({"tf.app", "app", "absl.app", "tf.compat.v1.app", "subprocess", "asyncio", "loop"})


class StopRecording(SystemExit):
    """Ends the recorded script where it stands; the runner reads it as exit code 0."""

    def __init__(self, why: str, message: str) -> None:
        super().__init__(0)
        self.why, self.message = why, message


def source_run_sites(source: str) -> list[tuple[int, int]]:
    """The ``(first, last)`` lines of every ``x.run(...)`` / ``x.eval(...)`` call in the source, and of every
    ``writer.add_summary(...)`` (migrate reads what each wrote to rewrite it).

    Generous on purpose: a listed call that is no session call (or never runs) only
    keeps the recording from stopping early; a session call left out would end it too soon.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    sites = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("run", "eval", "add_summary"):
            if node.func.attr == "run" and ast.unparse(node.func.value) in _NOT_SESSIONS:
                continue
            sites.add((node.lineno, node.end_lineno or node.lineno))
    return sorted(sites)


def describe_sites(sites: list[tuple[int, int]]) -> str:
    """``line 12, lines 30-32`` for a list of ``(first, last)`` ranges."""
    return ", ".join(f"line {a}" if a == b else f"lines {a}-{b}" for a, b in sites)


def _feed_shapes(feed_dict: Any) -> tuple:
    if not isinstance(feed_dict, dict):
        return ()
    return tuple((repr(key), getattr(value, "shape", None) if hasattr(value, "shape") else _plain_shape(value))
                 for key, value in feed_dict.items())


def _plain_shape(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return (len(value), _plain_shape(value[0]) if value else None)
    return type(value).__name__


class FastForward:
    """Decides, run by run, whether the recorded script runs, is answered from a copy, or stops.

    Args:
        source: the script's source (its run call sites are what must be seen).
        deadline: ``time.monotonic()`` value at which the recording stops (None: no limit).
        replay_limit: replayed runs in a row without a new call site after which it stops.
        announce: where the one-line notice that fast-forwarding began goes (default: stderr).
        script: the script's path, to name its line when the time limit passes.
    """

    def __init__(self, source: str, deadline: float | None = None, replay_limit: int = REPLAY_LIMIT,
                 announce: Callable[[str], None] | None = None, script: str = "") -> None:
        self.script = script
        self.sites = source_run_sites(source)
        self.unseen = list(self.sites)
        self.deadline = deadline
        self.replay_limit = replay_limit
        self.announce = announce or (lambda text: print(text, file=sys.stderr, flush=True))
        self.active = False
        self.steps_recorded = 0
        self.replayed: Counter[int] = Counter()
        self.in_a_row = 0
        self.stopped: dict[str, Any] | None = None
        self._last: dict[tuple, Any] = {}

    # --- the time limit ---------------------------------------------------------------------------

    def arm(self) -> None:
        """Starts the time limit (a SIGALRM timer; the script runs in the main thread)."""
        if self.deadline is None:
            return
        remaining = max(self.deadline - time.monotonic(), 0.01)
        signal.signal(signal.SIGALRM, self._out_of_time)
        signal.setitimer(signal.ITIMER_REAL, remaining)

    def disarm(self) -> None:
        """Stops the timer (before the capture's own summary is written)."""
        if self.deadline is not None:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, signal.SIG_DFL)

    def _out_of_time(self, signum: int, frame: Any) -> None:
        while frame is not None and frame.f_code.co_filename != self.script:
            frame = frame.f_back
        where = f" while the script was at line {frame.f_lineno}" if frame is not None else ""
        self._stop("time-limit", f"its time limit passed{where}")

    # --- run by run -------------------------------------------------------------------------------

    def recording_ended(self, steps_recorded: int) -> None:
        """Called when the trace is written: runs at seen call sites are replayed from here on."""
        if self.active:
            return
        self.active, self.steps_recorded = True, steps_recorded
        self.announce(f"graphmode migrate: {steps_recorded} training step(s) recorded; fast-forwarding: a run at a "
                      "call site already seen is answered with a copy of its last values without running, so "
                      "the numbers the script prints from here on are not real")

    def seen(self, line: int) -> None:
        """Notes a run at ``line``; stops the recording once the trace is written and every site was seen."""
        before = len(self.unseen)
        self.unseen = [(a, b) for a, b in self.unseen if not a <= line <= b]
        if len(self.unseen) < before:
            self.in_a_row = 0
        if self.active and not self.unseen:
            self._stop("all-sites", "every run call site in the script's source had been seen")

    def replay(self, line: int, fetch_key: Any, feed_dict: Any) -> tuple[bool, Any]:
        """``(True, owned copy of the last result)`` when this run can be answered without running."""
        if not self.active:
            return False, None
        key = (line, fetch_key, _feed_shapes(feed_dict))
        if key not in self._last:
            return False, None
        if self.in_a_row >= self.replay_limit:
            self._stop("replay-limit",
                       f"{self.replay_limit} runs in a row were answered from copies without reaching a call site "
                       f"not seen yet (the last at line {line}); a loop that waits for a fetched value "
                       "(`while loss > eps`) never ends when its values are replayed")
        self.replayed[line] += 1
        self.in_a_row += 1
        return True, copy.deepcopy(self._last[key])

    def remember(self, line: int, fetch_key: Any, feed_dict: Any, result: Any) -> None:
        """Keeps an owned copy of a run's result, to answer the site's next runs with."""
        if self.active:
            self._last[(line, fetch_key, _feed_shapes(feed_dict))] = copy.deepcopy(result)

    def _stop(self, why: str, message: str) -> None:
        self.stopped = {"why": why, "message": message, "unseen": self.unseen}
        raise StopRecording(why, message)

    def summary(self) -> dict[str, Any]:
        """What the recording did, for ``capture.json``."""
        return {
            "active": self.active,
            "steps_recorded": self.steps_recorded,
            "replayed": sum(self.replayed.values()),
            "replayed_lines": sorted(self.replayed),
            "stopped": self.stopped,
            "sites": self.sites,
            "unseen": self.unseen,
        }


def describe_recording(summary: dict[str, Any] | None) -> list[str]:
    """Lines for migrate's report: whether the recording fast-forwarded or stopped early, and why."""
    if not summary:
        return []
    lines = []
    if summary["active"] and summary["replayed"]:
        lines.append(f"recording: after the {summary['steps_recorded']} recorded training step(s), "
                     f"{summary['replayed']} run(s) at call sites already seen "
                     f"({describe_sites([(line, line) for line in summary['replayed_lines']])}) were answered with copies of their last "
                     "values without running (fast-forward): what the script printed after that is not real")
    stopped = summary["stopped"]
    if stopped:
        unseen = (f"; call sites never seen: {describe_sites([tuple(s) for s in stopped['unseen']])}"
                  if stopped["unseen"] else "")
        lines.append(f"recording stopped early: {stopped['message']}{unseen}")
    return lines
