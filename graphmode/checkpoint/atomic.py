"""Writing a TF1 ``Saver``-format checkpoint so that a crash at any instant leaves a loadable latest checkpoint.

A TF1 checkpoint ``NAME`` is two (or more) files, ``NAME.index`` and
``NAME.data-00000-of-00001``, and no rename swaps two files at once: re-saving
``NAME`` in place (a TF1 habit: ``model.ckpt`` every epoch) must pass through
a moment when the new data sits beside the old index. So the directory's
``checkpoint`` state file, which ``tf.train.latest_checkpoint`` reads, is never
allowed to name ``NAME`` during that moment:

1. Check everything first (names, the state file parses) and remove what
   earlier interrupted saves left (:mod:`graphmode.checkpoint.leftovers`).
2. Write the new bundle into a staging directory beside the target, read it
   back, fsync it.
3. If ``NAME`` exists, hard-link its files as ``.NAME.graphmode-previous-*``
   (a copy where links are not supported): the same bytes under a second
   name, made without touching ``NAME``. Where the state file names ``NAME``,
   it is atomically rewritten to name the kept copy instead.
4. Rename the new files over ``NAME``: data shards first, ``.index`` last;
   remove shards the new bundle does not have; fsync the directory.
5. Rewrite the state file to name ``NAME`` (the latest, or back in its old
   place with ``update_state_file=False``); then delete the kept copy.

At every instant the state file names a complete checkpoint: the old ``NAME``
(before 3), its kept copy (3-5; its links keep the old bytes whatever happens
to ``NAME``), or the new ``NAME`` (after 5). A crash between 3 and 5 leaves
the state file on the kept copy; the next save to the directory points it back
at ``NAME`` once ``NAME`` reads back whole, and otherwise keeps the copy.
TensorFlow's own ``tf.compat.v1.train.Saver.save`` is TensorFlow's code and
renames without these steps; re-save one prefix through graphmode, or give
every save its own prefix (``global_step=``), as TF1's ``max_to_keep`` does.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np

from graphmode._runtime import tf
from graphmode.checkpoint import leftovers
from graphmode.checkpoint.reader import is_bundle_file, open_checkpoint, read_state_file, read_tensors
from graphmode.errors import CheckpointCorruptError, CheckpointMatchError

# TensorFlow's rule for op names, which TF1 variables (and so checkpoint keys) follow.
_VALID_NAME = re.compile(r"^[A-Za-z0-9.][A-Za-z0-9_.\-/>]*$")


def name_problem(name: str) -> str | None:
    """Says what is wrong with ``name`` as a TF1 checkpoint key, or None when it is fine."""
    if not name:
        return "is empty (TensorFlow's bundle writer aborts the process on an empty key)"
    if not _VALID_NAME.match(name) or "//" in name or name.endswith("/"):
        return ("is not a TF1 variable name (letters, digits, '.', '_', '-', '/' between non-empty parts; "
                "starting with a letter, digit or '.')")
    return None


def _fsync(path: str) -> None:
    # Directories cannot be opened for writing everywhere; best effort there.
    with contextlib.suppress(OSError):
        descriptor = os.open(path, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


class Slices(NamedTuple):
    """A tensor written in slices under one key, as TF1's ``Saver`` writes a partitioned variable.

    Attributes:
        full_shape: the whole tensor's shape, which the key reads back as.
        parts: ``(spec, value)`` per slice; ``spec`` is TensorFlow's slice string
            (``"4 3 0,2:-"``: the full shape, then ``start,length`` or ``-`` per dimension).
    """

    full_shape: tuple[int, ...]
    parts: Sequence[tuple[str, np.ndarray]]

    @property
    def dtype(self) -> np.dtype:
        return self.parts[0][1].dtype


Tensor = np.ndarray | Slices


def _as_tensor(value) -> Tensor:
    return value if isinstance(value, Slices) else np.asarray(value)


def _tf_dtype(value: Tensor):
    # Bytes, str and object arrays are TensorFlow strings (NumPy keeps them as |S, <U or object).
    return tf.string if value.dtype.kind in "SUO" else tf.as_dtype(value.dtype)


def _stage(staged_prefix: str, tensors: Mapping[str, Tensor]) -> None:
    names, specs, values = [], [], []
    for name in sorted(tensors):
        value = tensors[name]
        for spec, part in value.parts if isinstance(value, Slices) else (("", value),):
            names.append(name)
            specs.append(spec)
            values.append(tf.constant(part, dtype=_tf_dtype(value)))
    tf.raw_ops.SaveV2(prefix=staged_prefix, tensor_names=names, shape_and_slices=specs, tensors=values)


def _verify(staged_prefix: str, tensors: Mapping[str, Tensor]) -> None:
    _, reader = open_checkpoint(staged_prefix)
    shapes, dtypes = reader.get_variable_to_shape_map(), reader.get_variable_to_dtype_map()
    for name, value in tensors.items():
        shape = value.full_shape if isinstance(value, Slices) else value.shape
        if name not in shapes or tuple(shapes[name]) != tuple(shape) or dtypes[name].base_dtype != _tf_dtype(value):
            raise CheckpointCorruptError(
                f"staged checkpoint {staged_prefix!r} does not read back {name!r} as written "
                f"({tuple(shape)} {_tf_dtype(value).name}); the target was left untouched"
            )


def _bundle_names(directory: str, base: str) -> list[str]:
    return sorted(n for n in os.listdir(directory) if is_bundle_file(n, base))


def _reads_whole(prefix: str) -> bool:
    try:
        _, reader = open_checkpoint(prefix)
        read_tensors(prefix, reader, sorted(reader.get_variable_to_shape_map()))
    except (tf.errors.OpError, OSError):
        return False
    return True


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.remove(path)


class _State:
    """The ``checkpoint`` state file as (latest, all paths), relative to its directory."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        proto = read_state_file(directory)
        self.exists = proto is not None
        self.latest = self._relative(proto.model_checkpoint_path) if proto is not None else ""
        self.paths = [self._relative(p) for p in proto.all_model_checkpoint_paths] if proto is not None else []

    def _relative(self, path: str) -> str:
        return os.path.relpath(path, self.directory) if os.path.isabs(path) else path

    def names(self, base: str) -> bool:
        return base == self.latest or base in self.paths

    def rename(self, old: str, new: str) -> None:
        self.latest = new if self.latest == old else self.latest
        self.paths = list(dict.fromkeys(new if p == old else p for p in self.paths))

    def write(self) -> None:
        from google.protobuf import text_format
        from tensorflow.python.training import checkpoint_state_pb2

        # Relative paths keep the directory movable, as tf.train.CheckpointManager
        # writes them. (tf.compat.v1.train.update_checkpoint_state would do too,
        # but logs a deprecation line on every call.)
        proto = checkpoint_state_pb2.CheckpointState(model_checkpoint_path=self.latest,
                                                     all_model_checkpoint_paths=self.paths)
        _replace_file(os.path.join(self.directory, "checkpoint"), text_format.MessageToString(proto))
        self.exists = True


def _replace_file(path: str, text: str) -> None:
    handle, temporary = tempfile.mkstemp(prefix=leftovers.state_temp_prefix(), dir=os.path.dirname(path))
    leftovers.ACTIVE.add(os.path.basename(temporary))
    try:
        # mkstemp creates 0600; give the state file the permissions open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
        _fsync(os.path.dirname(path))
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise
    finally:
        leftovers.ACTIVE.discard(os.path.basename(temporary))


def _clean(directory: str, state: _State) -> None:
    """Removes stale leftovers; a kept copy the state file names goes only once its checkpoint reads back whole."""
    for item in leftovers.find_leftovers(directory):
        if not item.stale:
            continue
        if item.kind != "previous":
            _remove(item.path)
            continue
        kept = os.path.basename(item.prefix())
        if not os.path.exists(os.path.join(directory, kept + ".index")):
            _remove(item.path)  # links are made index last and removed index last: no index, no copy
            continue
        if _reads_whole(os.path.join(directory, item.base)):
            if state.names(kept):
                state.rename(kept, item.base)
                state.write()
            for name in _bundle_names(directory, kept):
                _remove(os.path.join(directory, name))


def _keep_previous(directory: str, base: str, state: _State) -> str | None:
    """Gives the checkpoint ``base`` a second name the state file can hold while ``base`` is replaced."""
    for item in leftovers.find_leftovers(directory):
        # A copy kept by an interrupted save is the last good one: keep using it.
        if item.kind == "previous" and item.base == base and item.stale and item.path.endswith(".index"):
            kept = os.path.basename(item.prefix())
            leftovers.ACTIVE.add(kept)
            return kept
    if not os.path.exists(os.path.join(directory, base + ".index")):
        return None
    kept = leftovers.previous_prefix(base)
    leftovers.ACTIVE.add(kept)
    for name in sorted(_bundle_names(directory, base), key=lambda n: n.endswith(".index")):
        target = os.path.join(directory, kept + name[len(base):])
        _remove(target)
        try:
            os.link(os.path.join(directory, name), target)
        except OSError:  # no hard links on this filesystem: copy
            shutil.copyfile(os.path.join(directory, name), target)
            _fsync(target)
    _fsync(directory)
    return kept


def write_checkpoint_atomically(
    prefix: str | os.PathLike, tensors: Mapping[str, np.ndarray | Slices], *, update_state_file: bool = True
) -> str:
    """Writes ``tensors`` as a TF1 ``Saver`` (TensorBundle V2) checkpoint at ``prefix``, crash-safe.

    Args:
        prefix: the checkpoint prefix, e.g. ``train_dir/model.ckpt-100``.
        tensors: checkpoint name -> value (an array, or :class:`Slices` for a partitioned variable).
        update_state_file: also make it the latest checkpoint in the directory's
            ``checkpoint`` state file (updated last).

    Returns:
        The absolute prefix written.

    Raises:
        CheckpointMatchError: nothing to save, a name is empty or not a TF1 variable name, or
            the prefix names a directory; nothing written.
        CheckpointCorruptError: the state file is unreadable, or the staged
            bundle does not read back as written; nothing published.
    """
    given = os.fspath(prefix)
    prefix = os.path.abspath(given)
    directory, base = os.path.split(prefix)
    bad = [f"{name!r} {why}" for name in tensors if (why := name_problem(name)) is not None]
    if not tensors:
        bad.append("there are no variables to save (the variables given are empty)")
    if given.endswith((os.sep, "/")) or os.path.isdir(prefix):
        # abspath would drop the slash and write the files beside the folder, not in it.
        bad.append(f"the prefix {given!r} names a directory; give a file name inside it, "
                   f"e.g. {os.path.join(prefix, 'model.ckpt')!r}")
    elif not base:
        bad.append(f"the prefix {prefix!r} has no file name")
    if bad:
        listed = "\n".join(f"  - {problem}" for problem in bad)
        raise CheckpointMatchError(f"cannot save {given!r}; nothing was written:\n{listed}")
    arrays = {name: _as_tensor(value) for name, value in tensors.items()}
    os.makedirs(directory, exist_ok=True)
    state = _State(directory)
    _clean(directory, state)
    staging = tempfile.mkdtemp(prefix=leftovers.staging_prefix(base), dir=directory)
    leftovers.ACTIVE.add(os.path.basename(staging))
    kept = None
    try:
        staged_prefix = os.path.join(staging, base)
        _stage(staged_prefix, arrays)
        _verify(staged_prefix, arrays)
        staged = sorted(os.listdir(staging), key=lambda name: name.endswith(".index"))
        for name in staged:
            _fsync(os.path.join(staging, name))
        kept = _keep_previous(directory, base, state)
        named_before = state.names(base)
        if kept is not None and named_before:
            state.rename(base, kept)
            state.write()
        for name in staged:
            os.replace(os.path.join(staging, name), os.path.join(directory, name))
        for name in _bundle_names(directory, base):
            if name not in staged:
                os.remove(os.path.join(directory, name))
        _fsync(directory)
        if kept is not None:
            state.rename(kept, base)
        if update_state_file:
            state.paths = [*(p for p in state.paths if p != base), base]
            state.latest = base
        if update_state_file or (kept is not None and state.names(base)):
            state.write()
        if kept is not None:
            for name in _bundle_names(directory, kept):
                os.remove(os.path.join(directory, name))
            _fsync(directory)
    finally:
        try:
            shutil.rmtree(staging, ignore_errors=True)
        finally:  # an interrupt inside rmtree must still release the names
            leftovers.ACTIVE.discard(os.path.basename(staging))
            leftovers.ACTIVE.discard(kept)
    return prefix
