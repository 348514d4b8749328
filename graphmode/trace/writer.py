"""Writing a trace folder: step files, state checkpoints, the graph, and the index after every step.

Every file is whole before the index names it: step files are written under a
temporary name and renamed into place, each state has a checkpoint prefix of
its own, and the index is rewritten (the same way, atomically) after each
recorded step. A recording killed at any instant leaves a trace whose index
names the steps recorded so far, with ``complete: false``.

The size cap: states (every global variable, optimizer slots included) are
what grows a trace fastest. Once the first step's sizes are known, the writer
picks the largest k such that the states of steps 0, 1, every k-th and the
latest one fit in ``max_bytes`` beside the step files; an off-grid step's
state replaces the previous off-grid one, so the last step always has one.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import tempfile
from collections.abc import Mapping
from typing import Any

import numpy as np

from graphmode.errors import TraceError
from graphmode.trace import format as fmt

DEFAULT_MAX_BYTES = 1 << 30


def _ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def _replace(path: str, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(prefix=".tmp-", dir=os.path.dirname(path))
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes 0600; a trace is shared like any output file
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise


def prepare_folder(directory: str) -> str:
    """Checks ``directory`` can take a trace (absent, empty, or an earlier trace, which is replaced).

    Raises:
        TraceError: it is a file, or a non-empty folder that holds no trace.
    """
    directory = os.path.abspath(directory)
    if os.path.isfile(directory):
        raise TraceError(f"cannot record to {directory!r}: it is a file; give a folder for the trace")
    if os.path.isdir(directory) and os.listdir(directory):
        if not os.path.isfile(os.path.join(directory, fmt.INDEX_FILE)):
            raise TraceError(f"cannot record to {directory!r}: the folder is not empty and holds no "
                             f"{fmt.INDEX_FILE} (not an earlier trace); choose a new or empty folder")
        for name in (fmt.INDEX_FILE, fmt.GRAPH_FILE):
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(directory, name))
        for folder in (fmt.STEPS_FOLDER, fmt.STATE_FOLDER):
            path = os.path.join(directory, folder)
            if os.path.isdir(path):
                for name in os.listdir(path):
                    os.remove(os.path.join(path, name))
    parent = os.path.dirname(directory)
    if not os.path.isdir(parent):
        raise TraceError(f"cannot record to {directory!r}: folder {parent!r} does not exist")
    return directory


class TraceWriter:
    """Writes one trace folder; ``index`` is the dict written as ``trace.json``."""

    def __init__(self, directory: str, index: dict[str, Any], max_bytes: int) -> None:
        self.directory = directory
        self.index = index
        self.max_bytes = max_bytes
        self.every: int | None = None  # states kept every k-th step; None until the first step is written
        self._files: dict[str, dict[str, Any]] = {}
        self._rolling: int | None = None
        for folder in (fmt.STEPS_FOLDER, fmt.STATE_FOLDER):
            os.makedirs(os.path.join(directory, folder), exist_ok=True)

    @property
    def bytes_written(self) -> int:
        """Bytes of every file the index names."""
        return sum(entry["bytes"] for entry in self._files.values())

    def _add(self, relative: str) -> None:
        path = os.path.join(self.directory, relative)
        self._files[relative] = {"path": relative, "bytes": os.path.getsize(path), "sha256": fmt.file_sha256(path)}

    def _drop(self, relative: str) -> None:
        self._files.pop(relative, None)
        with contextlib.suppress(FileNotFoundError):
            os.remove(os.path.join(self.directory, relative))

    def write_graph(self, meta_graph_bytes: bytes) -> None:
        """Writes ``graph.meta`` (a serialized MetaGraphDef)."""
        _replace(os.path.join(self.directory, fmt.GRAPH_FILE), meta_graph_bytes)
        self._add(fmt.GRAPH_FILE)

    def write_step(self, step: int, feeds: Mapping[str, np.ndarray], fetched: Mapping[str, np.ndarray],
                   hyperparameters: Mapping[str, np.ndarray]) -> int:
        """Writes the step file; returns its size in bytes."""
        arrays = {fmt.FEED_PREFIX + name: value for name, value in feeds.items()}
        arrays.update({fmt.FETCH_PREFIX + name: value for name, value in fetched.items()})
        arrays.update({fmt.HYPER_PREFIX + name: value for name, value in hyperparameters.items()})
        buffer = io.BytesIO()
        np.savez(buffer, **fmt.encode_arrays(arrays))
        relative = fmt.step_file(step)
        _replace(os.path.join(self.directory, relative), buffer.getvalue())
        self._add(relative)
        return self._files[relative]["bytes"]

    def plan_states(self, steps: int, state_bytes: int, step_bytes: int) -> str | None:
        """Chooses how often to keep a state within ``max_bytes``; returns the note saying so, or None.

        Args:
            steps: the steps to be recorded.
            state_bytes: one state's size on disk (state 0's).
            step_bytes: one step file's size (step 1's).
        """
        # Written so far: the graph, state 0 and step 1; to come: steps - 1 step files and their states.
        room = self.max_bytes - self.bytes_written - (steps - 1) * step_bytes
        affordable = room // max(state_bytes, 1)
        if affordable >= steps:
            self.every = 1
            return None
        # Step 1 and the latest always have a state; the rest of the room goes to every k-th.
        self.every = max(2, math.ceil(steps / max(affordable - 2, 1)))
        return (f"state recorded every {_ordinal(self.every)} step (and steps 0, 1 and the last): the size cap "
                f"{self.max_bytes} bytes holds about {max(affordable + 1, 3)} of {steps + 1} states "
                f"({state_bytes} bytes each)")

    def keeps_state(self, step: int) -> bool:
        """Whether ``step``'s state stays (0, 1, every k-th); any other step's state lasts until the next."""
        return self.every is None or step <= 1 or step % self.every == 0

    def write_state(self, step: int, tensors: Mapping[str, np.ndarray]) -> int:
        """Writes the state checkpoint of ``step``, replacing the previous off-grid one; returns its size in bytes.

        A plain TensorFlow save, not graphmode's crash-safe one: every step has a prefix of its
        own, and a checkpoint the recording was killed while writing is named by no index.
        """
        from graphmode._runtime import tf

        relative = fmt.state_prefix(step)
        names = sorted(tensors)
        # The script's process runs with eager execution off; the save must not become ops in its graph.
        with tf.__internal__.eager_context.eager_mode():
            tf.raw_ops.SaveV2(prefix=os.path.join(self.directory, relative), tensor_names=names,
                              shape_and_slices=[""] * len(names), tensors=[tf.constant(tensors[n]) for n in names])
        folder = os.path.join(self.directory, fmt.STATE_FOLDER)
        base = os.path.basename(relative)
        size = 0
        for name in sorted(os.listdir(folder)):
            if name.startswith(base + "."):
                self._add(os.path.join(fmt.STATE_FOLDER, name))
                size += self._files[os.path.join(fmt.STATE_FOLDER, name)]["bytes"]
        steps = [s for s in self.index["state_steps"] if s != self._rolling]
        if self._rolling is not None and self._rolling != step:
            rolling = os.path.basename(fmt.state_prefix(self._rolling)) + "."
            for name in os.listdir(folder):
                if name.startswith(rolling):
                    self._drop(os.path.join(fmt.STATE_FOLDER, name))
        self._rolling = None if self.keeps_state(step) else step
        self.index["state_steps"] = sorted({*steps, step})
        return size

    def truncate(self, steps: int) -> None:
        """Forgets every step file and state after ``steps`` (what a step interrupted half-way wrote)."""
        for step in [s for s in self.index["state_steps"] if s > steps]:
            base = os.path.basename(fmt.state_prefix(step)) + "."
            for relative in [r for r in self._files if os.path.basename(r).startswith(base)]:
                self._drop(relative)
        self.index["state_steps"] = [s for s in self.index["state_steps"] if s <= steps]
        if self._rolling is not None and self._rolling > steps:
            self._rolling = None
        for relative in [r for r in self._files if r.startswith(fmt.STEPS_FOLDER + os.sep)]:
            if int(relative.rsplit("-", 1)[1].split(".")[0]) > steps:
                self._drop(relative)

    def flush(self, *, final: bool = False) -> None:
        """Rewrites ``trace.json`` atomically from ``index`` (indented for reading when ``final``)."""
        self.index["files"] = sorted(self._files.values(), key=lambda entry: entry["path"])
        # While recording, the index is rewritten after every step: compact JSON is C-encoded, ~10x faster.
        text = json.dumps(self.index, indent=1 if final else None, separators=None if final else (",", ":")) + "\n"
        _replace(os.path.join(self.directory, fmt.INDEX_FILE), text.encode())
