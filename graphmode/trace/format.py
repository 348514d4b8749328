"""The trace format: file names, the index's JSON Schema, and how arrays are stored in a step file.

A trace is a folder::

    DIR/
      trace.json                  the index (this module's INDEX_SCHEMA)
      graph.meta                  the MetaGraphDef, collections included
      steps/step-000001.npz ...   per recorded train step: "feed/<placeholder tensor name>",
                                  "fetch/<tensor name>" (and, for string tensors, two arrays each),
                                  "hyper/<name>" (optimizer hyper-parameters that change per step)
      state/step-000000.index     TF1 Saver (TensorBundle V2) checkpoints of every global
      state/step-000000.data-...  variable: step 0 before step 1, step k after step k

NumPy's ``.npz`` holds numeric arrays natively. String tensors (TF's bytes
objects, any byte allowed, trailing NULs too) would need pickling, so each is
stored as two plain arrays: ``<key>#bytes`` (every element's bytes joined, as
``uint8``) and ``<key>#lengths`` (``int64``, the tensor's shape).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping

import numpy as np

FORMAT = "graphmode-trace"
VERSION = 1
INDEX_FILE = "trace.json"
GRAPH_FILE = "graph.meta"
STEPS_FOLDER = "steps"
STATE_FOLDER = "state"
FEED_PREFIX = "feed/"
FETCH_PREFIX = "fetch/"
HYPER_PREFIX = "hyper/"
_BYTES, _LENGTHS = "#bytes", "#lengths"


def step_file(step: int) -> str:
    """The step file's path relative to the trace folder (``steps/step-000001.npz``)."""
    return os.path.join(STEPS_FOLDER, f"step-{step:06d}.npz")


def state_prefix(step: int) -> str:
    """The state checkpoint's prefix relative to the trace folder (``state/step-000000``)."""
    return os.path.join(STATE_FOLDER, f"step-{step:06d}")


def file_sha256(path: str) -> str:
    """The hex SHA-256 of a file's bytes, as the index records it for each trace file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def encode_arrays(arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Arrays as ``np.savez`` stores them without pickling (string arrays split in two, see the module doc)."""
    stored = {}
    for key, value in arrays.items():
        if value.dtype.kind in "OSU":
            items = [item.encode() if isinstance(item, str) else bytes(item) for item in value.reshape(-1)]
            stored[key + _BYTES] = np.frombuffer(b"".join(items), dtype=np.uint8).copy()
            stored[key + _LENGTHS] = np.array([len(item) for item in items], np.int64).reshape(value.shape)
        else:
            stored[key] = value
    return stored


def decode_arrays(stored: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The arrays :func:`encode_arrays` stored; string tensors come back as ``object`` arrays of ``bytes``."""
    arrays = {}
    for key, value in stored.items():
        if key.endswith(_LENGTHS):
            continue
        if key.endswith(_BYTES):
            name = key[: -len(_BYTES)]
            lengths = stored[name + _LENGTHS]
            data, items, start = value.tobytes(), [], 0
            for length in lengths.reshape(-1).tolist():
                items.append(data[start:start + length])
                start += length
            array = np.empty(len(items), dtype=object)
            array[:] = items
            arrays[name] = array.reshape(lengths.shape)
        else:
            arrays[key] = value
    return arrays


_SHAPE = {"type": ["array", "null"], "items": {"type": ["integer", "null"]}}
_TENSOR = {
    "type": "object",
    "required": ["name", "dtype", "shape"],
    "properties": {"name": {"type": "string"}, "dtype": {"type": "string"}, "shape": _SHAPE},
}
_FILE = {
    "type": "object",
    "required": ["path", "bytes", "sha256"],
    "properties": {"path": {"type": "string"}, "bytes": {"type": "integer", "minimum": 0},
                   "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"}},
}

# The index, trace.json. docs/trace.md describes every field; a test checks the two agree.
INDEX_SCHEMA = {
    "type": "object",
    "required": ["format", "version", "complete", "ended", "steps_recorded", "steps_requested", "script",
                 "versions", "seeds", "session", "train_op", "loss", "feeds", "fetches", "optimizer",
                 "variables", "steps", "state_steps", "files", "other_train_runs", "notes"],
    "properties": {
        "format": {"const": FORMAT},
        "version": {"type": "integer", "minimum": 1},
        "complete": {"type": "boolean"},
        "ended": {"enum": ["recording", "steps", "script-end", "exit", "error", "interrupted", "size-cap",
                           "unrecordable"]},
        "steps_recorded": {"type": "integer", "minimum": 0},
        "steps_requested": {"type": "integer", "minimum": 1},
        "max_bytes": {"type": "integer", "minimum": 1},
        "script": {"type": "object", "required": ["path", "argv"],
                   "properties": {"path": {"type": "string"}, "argv": {"type": "array", "items": {"type": "string"}}}},
        "versions": {"type": "object", "required": ["tensorflow", "graphmode", "python", "numpy"],
                     "additionalProperties": {"type": "string"}},
        "seeds": {"type": "object", "required": ["graph", "ops", "numpy"],
                  "properties": {"graph": {"type": ["integer", "null"]},
                                 "ops": {"type": "object", "additionalProperties": {
                                     "type": "array", "items": {"type": "integer"}}},
                                 "numpy": {"type": "array"}}},
        "session": {"type": ["object", "null"], "required": ["index", "class", "target", "runs_before_step_1"],
                    "properties": {"index": {"type": "integer", "minimum": 1}, "class": {"type": "string"},
                                   "target": {"type": "string"},
                                   "runs_before_step_1": {"type": "integer", "minimum": 0}}},
        "train_op": {"type": ["string", "null"]},
        "loss": {"type": ["object", "null"], "required": ["name", "rule", "fetched"],
                 "properties": {"name": {"type": "string"}, "rule": {"type": "string"},
                                "fetched": {"type": "boolean"}}},
        "feeds": {"type": "array", "items": _TENSOR},
        "fetches": {"type": "array", "items": {"type": "object", "required": ["name", "kind"],
                                               "properties": {"name": {"type": "string"},
                                                              "kind": {"enum": ["tensor", "operation"]}}}},
        "optimizer": {"type": ["object", "null"],
                      "required": ["kind", "name", "spec", "hyperparameters", "varying", "per_step"],
                      "properties": {"kind": {"type": "string"}, "name": {"type": ["string", "null"]},
                                     "spec": {"type": ["string", "null"]},
                                     "hyperparameters": {"type": "object"},
                                     "varying": {"type": "array", "items": {"type": "string"}},
                                     "per_step": {"type": "array", "items": {"type": "string"}}}},
        "variables": {"type": "array", "items": {
            "type": "object",
            "required": ["name", "dtype", "shape", "trainable", "role", "slot_of", "slot_name"],
            "properties": {"name": {"type": "string"}, "dtype": {"type": "string"}, "shape": _SHAPE,
                           "trainable": {"type": "boolean"}, "role": {"enum": ["variable", "slot", "counter"]},
                           "slot_of": {"type": ["string", "null"]}, "slot_name": {"type": ["string", "null"]}}}},
        "steps": {"type": "array", "items": {
            "type": "object", "required": ["step", "call_site", "run"],
            "properties": {"step": {"type": "integer", "minimum": 1}, "call_site": {"type": "string"},
                           "run": {"type": "integer", "minimum": 1}}}},
        "state_steps": {"type": "array", "items": {"type": "integer", "minimum": 0}},
        "files": {"type": "array", "items": _FILE},
        "other_train_runs": {"type": "array", "items": {"type": "object"}},
        "notes": {"type": "array", "items": {"type": "string"}},
    },
}
