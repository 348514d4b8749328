"""Reading a trace folder: :class:`Trace`.

Opening a trace validates its index against the format's JSON Schema and
checks that every file it names is there with the size it had; each step
file and state checkpoint is checked against its recorded SHA-256 when it is
read. Every problem is a :class:`~graphmode.errors.TraceError` naming the
file and what is wrong. Reading needs TensorFlow only for the state
checkpoints and the graph, and never switches the process to the TF1 API.

Example:
    >>> trace = gm.trace.Trace("traces/regress")
    >>> trace.steps, trace.feed_names, trace.loss(1)
    (100, ('x_data:0', 'y_target:0'), 92.61...)
    >>> trace.state(0)["A"]                       # before step 1
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from graphmode.errors import TraceError
from graphmode.trace import format as fmt


class TraceVariable(NamedTuple):
    """A global variable of the recorded graph and its role for the train op."""

    name: str
    dtype: str
    shape: tuple[int | None, ...] | None
    trainable: bool
    role: str  # "variable", "slot" or "counter"
    slot_of: str | None
    slot_name: str | None


class TraceOptimizer(NamedTuple):
    """The TF1 optimizer the train op applies: class name, its ``name`` (slot suffix) and hyper-parameters.

    ``spec`` is graphmode's :func:`~graphmode.train.optimizer_spec` name (``"adam"``);
    ``hyperparameters`` use TF1's argument names (``learning_rate``, ``beta1``, ...);
    ``varying`` names those that depend on a variable or a fed value, and ``per_step``
    those of them the trace holds for every step (:meth:`Trace.hyperparameters`).
    """

    kind: str
    name: str | None
    spec: str | None
    hyperparameters: Mapping[str, Any]
    varying: tuple[str, ...]
    per_step: tuple[str, ...] = ()


def _schema_problem(index: Any) -> str | None:
    import jsonschema

    try:
        jsonschema.validate(index, fmt.INDEX_SCHEMA)
    except jsonschema.ValidationError as error:
        where = "/".join(str(part) for part in error.absolute_path) or "(top level)"
        return f"field {where}: {error.message}"
    return None


class Trace:
    """A recorded trace folder (see ``docs/trace.md``).

    Args:
        directory: the folder ``graphmode run --record`` wrote.

    Raises:
        TraceError: the folder or its index is missing, the index is not valid
            JSON or not this format, is from a newer format version, names a
            file that is missing or has another size, or records no step.
    """

    def __init__(self, directory: str | os.PathLike) -> None:
        self.directory = os.path.abspath(os.fspath(directory))
        path = os.path.join(self.directory, fmt.INDEX_FILE)
        if os.path.isfile(self.directory):
            raise TraceError(f"{self.directory!r} is a file; a trace is the folder `graphmode run --record DIR` "
                             f"wrote (the one holding {fmt.INDEX_FILE})")
        if not os.path.isdir(self.directory):
            raise TraceError(f"no trace at {self.directory!r}: the folder does not exist; record one with "
                             "`graphmode run SCRIPT --record DIR`")
        if not os.path.isfile(path):
            raise TraceError(f"no trace index {path!r}: the folder holds no {fmt.INDEX_FILE} (not a trace, or "
                             "its recording was killed before the first step); record it again")
        try:
            with open(path, encoding="utf-8") as handle:
                index = json.load(handle)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise TraceError(f"trace index {path!r} is not valid JSON ({error}); it was edited or truncated; "
                             "record the trace again") from error
        if isinstance(index, dict) and index.get("format") == fmt.FORMAT and isinstance(index.get("version"), int) \
                and index["version"] > fmt.VERSION:
            raise TraceError(f"trace index {path!r} has format version {index['version']}; this graphmode reads "
                             f"version {fmt.VERSION} and older: upgrade graphmode")
        problem = _schema_problem(index)
        if problem is not None:
            raise TraceError(f"trace index {path!r} is not a valid {fmt.FORMAT} index: {problem}; it was edited "
                             "by hand or by another tool; record the trace again")
        self._index = index
        self._path = path
        self._check_consistency()
        self._files = {entry["path"]: entry for entry in index["files"]}
        for entry in index["files"]:
            file_path = os.path.join(self.directory, entry["path"])
            if not os.path.isfile(file_path):
                raise TraceError(f"trace file {file_path!r} is missing (named in {path!r}); the trace was copied "
                                 "incompletely; copy the whole folder or record it again")
            size = os.path.getsize(file_path)
            if size != entry["bytes"]:
                raise TraceError(f"trace file {file_path!r} has {size} bytes; {path!r} recorded {entry['bytes']}: it "
                                 "was changed or truncated after recording; record the trace again")
        self._verified: set[str] = set()

    def _check_consistency(self) -> None:
        index, path = self._index, self._path
        if index["steps_recorded"] == 0:
            why = index["notes"][-1] if index["notes"] else "no reason recorded"
            raise TraceError(f"trace {self.directory!r} holds no recorded train step ({path!r}): {why}")
        problems = []
        numbers = [entry["step"] for entry in index["steps"]]
        if numbers != list(range(1, index["steps_recorded"] + 1)):
            problems.append(f"steps_recorded is {index['steps_recorded']} but steps lists {numbers[:5]}"
                            f"{'...' if len(numbers) > 5 else ''}")
        named = {entry["path"] for entry in index["files"]}
        for step in range(1, index["steps_recorded"] + 1):
            if fmt.step_file(step) not in named:
                problems.append(f"step {step}'s file {fmt.step_file(step)} is not listed in files")
                break
        for step in index["state_steps"]:
            if step > index["steps_recorded"] or fmt.state_prefix(step) + ".index" not in named:
                problems.append(f"state_steps lists step {step}, which has no state checkpoint "
                                f"{fmt.state_prefix(step)}.index listed in files")
                break
        if 0 not in index["state_steps"]:
            problems.append("state_steps lacks step 0 (the state before step 1)")
        if fmt.GRAPH_FILE not in named:
            problems.append(f"files does not list {fmt.GRAPH_FILE}")
        if problems:
            raise TraceError(f"trace index {path!r} contradicts itself: {'; '.join(problems)}; it was edited by hand; "
                             "record the trace again")

    # --- whole-trace facts -------------------------------------------------------------------------

    @property
    def steps(self) -> int:
        """The number of recorded train steps (they are numbered 1..steps)."""
        return self._index["steps_recorded"]

    @property
    def complete(self) -> bool:
        """False when the recording was interrupted (killed, Ctrl-C, the script failed, the size cap)."""
        return self._index["complete"]

    @property
    def ended(self) -> str:
        """How the recording ended: ``steps``, ``script-end``, ``error``, ``interrupted``, ``recording`` (killed)..."""
        return self._index["ended"]

    @property
    def feed_names(self) -> tuple[str, ...]:
        """Placeholder tensor names (``"x:0"``), in the order the script's feed_dict listed them."""
        return tuple(feed["name"] for feed in self._index["feeds"])

    @property
    def state_steps(self) -> tuple[int, ...]:
        """Steps that have a whole state: 0 is before step 1, k is after step k."""
        return tuple(self._index["state_steps"])

    @property
    def variables(self) -> tuple[TraceVariable, ...]:
        """Every global variable of the graph, with its role (model variable, optimizer slot, counter)."""
        return tuple(TraceVariable(v["name"], v["dtype"], None if v["shape"] is None else tuple(v["shape"]),
                                   v["trainable"], v["role"], v["slot_of"], v["slot_name"])
                     for v in self._index["variables"])

    @property
    def optimizer(self) -> TraceOptimizer | None:
        """The TF1 optimizer the train op applies (None when it applies none, e.g. hand-written assigns)."""
        o = self._index["optimizer"]
        if o is None:
            return None
        return TraceOptimizer(o["kind"], o["name"], o["spec"], dict(o["hyperparameters"]), tuple(o["varying"]),
                              tuple(o["per_step"]))

    @property
    def loss_name(self) -> str | None:
        """The loss tensor's name (``"Mean:0"``; the rule that found it is in the index), or None."""
        return self._index["loss"]["name"] if self._index["loss"] else None

    @property
    def train_op_name(self) -> str:
        """The train op the recorded runs fetched."""
        return self._index["train_op"]

    @property
    def call_sites(self) -> tuple[str, ...]:
        """``file:line`` of each recorded step's ``Session.run`` call, step 1 first."""
        return tuple(entry["call_site"] for entry in self._index["steps"])

    @property
    def seeds(self) -> dict[str, Any]:
        """``graph`` (graph-level seed or None), ``ops`` (op name -> [seed, seed2]), ``numpy`` (np.random.seed args)."""
        return json.loads(json.dumps(self._index["seeds"]))

    @property
    def versions(self) -> dict[str, str]:
        """TensorFlow, graphmode, Python and NumPy versions of the recording process."""
        return dict(self._index["versions"])

    @property
    def notes(self) -> tuple[str, ...]:
        """What the recording says about itself (size cap, fewer steps than asked, why it stopped)."""
        return tuple(self._index["notes"])

    @property
    def index(self) -> dict[str, Any]:
        """A copy of the whole index (``trace.json``)."""
        return json.loads(json.dumps(self._index))

    # --- per step --------------------------------------------------------------------------------

    def _check_step(self, step: int, what: str, known: tuple[int, ...]) -> None:
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step not in known:
            shown = f"{known[0]}..{known[-1]}" if known == tuple(range(known[0], known[-1] + 1)) else list(known)
            raise TraceError(f"trace {self.directory!r} has no {what} for step {step!r}; it has {what}s for steps "
                             f"{shown}")

    def _verify(self, relative: str) -> str:
        path = os.path.join(self.directory, relative)
        if relative not in self._verified:
            if fmt.file_sha256(path) != self._files[relative]["sha256"]:
                raise TraceError(f"trace file {path!r} was changed after recording (its SHA-256 differs from the "
                                 f"one in {self._path!r}); record the trace again")
            self._verified.add(relative)
        return path

    def _step_arrays(self, step: int) -> dict[str, np.ndarray]:
        self._check_step(step, "recorded step", tuple(range(1, self.steps + 1)))
        path = self._verify(fmt.step_file(step))
        try:
            with np.load(path, allow_pickle=False) as stored:
                return fmt.decode_arrays({key: np.array(stored[key]) for key in stored.files})
        except (OSError, ValueError, zipfile.BadZipFile) as error:
            raise TraceError(f"trace file {path!r} cannot be read as a step file: {error}") from error

    def feeds(self, step: int) -> dict[str, np.ndarray]:
        """The values fed at ``step``, by placeholder tensor name, in feed order (arrays the caller owns)."""
        arrays = self._step_arrays(step)
        return {key[len(fmt.FEED_PREFIX):]: value for key, value in arrays.items() if key.startswith(fmt.FEED_PREFIX)}

    def fetched(self, step: int) -> dict[str, np.ndarray]:
        """The tensor values the script's run call at ``step`` returned, by tensor name."""
        arrays = self._step_arrays(step)
        return {key[len(fmt.FETCH_PREFIX):]: value for key, value in arrays.items()
                if key.startswith(fmt.FETCH_PREFIX)}

    def hyperparameters(self, step: int) -> dict[str, Any]:
        """The optimizer's hyper-parameters at ``step``: those that change per step as recorded, the rest as indexed.

        A decayed learning rate (computed from the global step) has its value at each step; one computed
        from a fed value has step 1's. Empty when the train op applies no TF1 optimizer.
        """
        optimizer = self.optimizer
        if optimizer is None:
            self._check_step(step, "recorded step", tuple(range(1, self.steps + 1)))
            return {}
        values = dict(optimizer.hyperparameters)
        for key, value in self._step_arrays(step).items():
            if key.startswith(fmt.HYPER_PREFIX):
                # float32 as its shortest decimal, as the index writes it (0.05, not 0.05000000074505806)
                values[key[len(fmt.HYPER_PREFIX):]] = float(str(value)) if value.dtype == np.float32 else value.item()
        return values

    def loss(self, step: int) -> float | None:
        """The loss the script fetched in ``step``'s run call (from the state before the update), or None.

        None when no loss tensor was found or the script did not fetch it in its train runs.
        """
        fetched = self.fetched(step)
        name = self.loss_name
        if name is None or name not in fetched:
            return None
        return float(np.asarray(fetched[name]).reshape(()))

    def state(self, step: int) -> dict[str, np.ndarray]:
        """Every global variable's value before step 1 (``step=0``) or after ``step``, by TF1 variable name."""
        self._check_step(step, "state", self.state_steps)
        from graphmode.checkpoint.reader import open_checkpoint, read_tensors

        prefix = os.path.join(self.directory, fmt.state_prefix(step))
        for relative in sorted(self._files):
            if relative.startswith(fmt.state_prefix(step) + "."):
                self._verify(relative)
        _, reader = open_checkpoint(prefix)
        names = [variable.name for variable in self.variables]
        values = read_tensors(prefix, reader, names)
        return {name: np.array(value, copy=True) for name, value in values.items()}

    def meta_graph(self) -> Any:
        """The recorded graph as a ``MetaGraphDef`` (collections included)."""
        from graphmode._runtime import tf

        path = self._verify(fmt.GRAPH_FILE)
        meta = tf.compat.v1.MetaGraphDef()
        with open(path, "rb") as handle:
            meta.ParseFromString(handle.read())
        return meta

    def __repr__(self) -> str:
        return (f"Trace({self.directory!r}: {self.steps} steps, train op {self.train_op_name!r}, "
                f"loss {self.loss_name!r}, {len(self.state_steps)} states{'' if self.complete else ', incomplete'})")
