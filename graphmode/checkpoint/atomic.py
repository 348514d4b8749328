"""Writing a TF1 ``Saver``-format checkpoint so that a crash never leaves a half-written one as the latest.

The bundle is written into a staging directory beside the target, read back
and checked, flushed to disk, then renamed into place: data shards first, the
``.index`` last (a prefix without its index is no checkpoint, so readers never
see a new index pointing at missing data). The ``checkpoint`` state file that
``tf.train.latest_checkpoint`` and ``Saver.restore(latest_checkpoint(...))``
read is updated only after that, itself by an atomic replace.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Mapping

import numpy as np

from graphmode._errors import CheckpointCorruptError
from graphmode._runtime import tf, v1
from graphmode.checkpoint.reader import open_checkpoint


def _fsync(path: str) -> None:
    # Directories cannot be opened for writing everywhere; best effort there.
    with contextlib.suppress(OSError):
        descriptor = os.open(path, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _stage(staged_prefix: str, tensors: Mapping[str, np.ndarray]) -> None:
    names = sorted(tensors)
    tf.raw_ops.SaveV2(
        prefix=staged_prefix,
        tensor_names=names,
        shape_and_slices=[""] * len(names),
        tensors=[tf.constant(tensors[name]) for name in names],
    )


def _verify(staged_prefix: str, tensors: Mapping[str, np.ndarray]) -> None:
    _, reader = open_checkpoint(staged_prefix)
    shapes, dtypes = reader.get_variable_to_shape_map(), reader.get_variable_to_dtype_map()
    for name, value in tensors.items():
        if name not in shapes or tuple(shapes[name]) != value.shape or dtypes[name].as_numpy_dtype != value.dtype:
            raise CheckpointCorruptError(
                f"staged checkpoint {staged_prefix!r} does not read back {name!r} as written "
                f"({value.shape} {value.dtype}); the target was left untouched"
            )


def _publish(staging: str, directory: str, base: str) -> list[str]:
    staged = sorted(os.listdir(staging), key=lambda name: name.endswith(".index"))
    for name in staged:
        _fsync(os.path.join(staging, name))
    for name in staged:
        os.replace(os.path.join(staging, name), os.path.join(directory, name))
    _fsync(directory)
    return staged


def _remove_stale_shards(directory: str, base: str, written: list[str]) -> None:
    for name in os.listdir(directory):
        if name.startswith(base + ".data-") and name not in written:
            os.remove(os.path.join(directory, name))


def _replace_file(path: str, text: str) -> None:
    handle, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", dir=os.path.dirname(path))
    try:
        # mkstemp creates 0600; give the state file the permissions open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        with os.fdopen(handle, "w") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise


def _update_state_file(directory: str, base: str) -> None:
    from google.protobuf import text_format
    from tensorflow.python.training import checkpoint_state_pb2

    state = v1.train.get_checkpoint_state(directory)
    kept = []
    if state is not None:
        for path in state.all_model_checkpoint_paths:
            relative = os.path.relpath(path, directory) if os.path.isabs(path) else path
            if relative != base:
                kept.append(relative)
    # Relative paths keep the directory movable, as tf.train.CheckpointManager
    # writes them. (tf.compat.v1.train.update_checkpoint_state would do too, but
    # logs a deprecation line on every call.)
    proto = checkpoint_state_pb2.CheckpointState(model_checkpoint_path=base, all_model_checkpoint_paths=[*kept, base])
    _replace_file(os.path.join(directory, "checkpoint"), text_format.MessageToString(proto))


def write_checkpoint_atomically(
    prefix: str | os.PathLike, tensors: Mapping[str, np.ndarray], *, update_state_file: bool = True
) -> str:
    """Writes ``tensors`` as a TF1 ``Saver`` (TensorBundle V2) checkpoint at ``prefix``.

    Args:
        prefix: the checkpoint prefix, e.g. ``train_dir/model.ckpt-100``.
        tensors: checkpoint name -> value.
        update_state_file: also make it the latest checkpoint in the directory's
            ``checkpoint`` state file (updated last).

    Returns:
        The absolute prefix written.
    """
    prefix = os.path.abspath(os.fspath(prefix))
    directory, base = os.path.split(prefix)
    os.makedirs(directory, exist_ok=True)
    arrays = {name: np.asarray(value) for name, value in tensors.items()}
    staging = tempfile.mkdtemp(prefix=f".{base}.graphmode-staging-", dir=directory)
    try:
        staged_prefix = os.path.join(staging, base)
        _stage(staged_prefix, arrays)
        _verify(staged_prefix, arrays)
        written = _publish(staging, directory, base)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _remove_stale_shards(directory, base, written)
    if update_state_file:
        _update_state_file(directory, base)
    return prefix
