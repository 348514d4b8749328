"""The one place graphmode imports TensorFlow.

Two things must happen *before* TensorFlow is first imported, so they live here
and every other module takes ``tf``/``v1`` from this module:

* ``TF_USE_LEGACY_KERAS=1`` so that ``tf.keras`` is tf-keras (Keras 2). With
  Keras 3, ``tf.compat.v1.layers``, ``tf.compat.v1.nn.rnn_cell`` and
  ``DeterministicRandomTestTool`` raise "not available with Keras 3".
* Quieting TensorFlow's C++ start-up lines. Those lines (oneDNN notice, CUDA
  stub, ``cuInit`` failure) are written by absl *before* its logging is
  initialised, so ``TF_CPP_MIN_LOG_LEVEL`` cannot silence them. We point file
  descriptor 2 at a temporary file while TensorFlow loads and initialises its
  devices, then replay every line that is not known start-up noise.

It also adds ``--tf_xla_cpu_global_jit`` to ``TF_XLA_FLAGS`` while TensorFlow
loads (it parses the flags then; the variable is restored afterwards, so child
processes inherit nothing): without it, a session config asking for XLA
auto-jit clusters nothing on a CPU. The flag only acts on sessions whose config
turns auto-jit on.

``TF_USE_LEGACY_KERAS=1`` stays set: TensorFlow reads it each time one of its
lazy ``keras`` modules is first touched. Nothing else in the environment
changes; ``TF_CPP_MIN_LOG_LEVEL`` is left alone, so TensorFlow's own warnings
and the lines ``log_device_placement=True`` exists to print still appear.

Set ``GRAPHMODE_TF_VERBOSE=1`` to see TensorFlow's start-up output unchanged.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Iterator

VERBOSE_ENV = "GRAPHMODE_TF_VERBOSE"
LEGACY_KERAS_ENV = "TF_USE_LEGACY_KERAS"
XLA_CPU_JIT_FLAG = "--tf_xla_cpu_global_jit"

_STARTUP_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|[IWE]\d{4} [\d:. ]+\s+\d+ (port|cudart_stub|cuda_platform|cuda_executor|cpu_feature_guard"
    r"|cuda_dnn|cuda_fft|cuda_blas|gpu_device|gpu_timer|xla_bridge)\.cc:\d+\]"
    r"|To enable the following instructions: .* in other operations, rebuild TensorFlow"
    r"|This TensorFlow binary is optimized to use available CPU instructions)"
)


class LegacyKerasWarning(UserWarning):
    """TensorFlow was imported before graphmode could switch to legacy Keras."""


def _wants_verbose() -> bool:
    return os.environ.get(VERBOSE_ENV, "").strip().lower() not in ("", "0", "false", "no")


@contextlib.contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """Routes fd 2 to a file for the duration, then replays the non-noise lines."""
    try:
        sys.stderr.flush()
        saved_fd = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (embedded interpreters)
        yield
        return
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved_fd, 2)
            os.close(saved_fd)
            sink.seek(0)
            kept = [
                line
                for line in sink.read().decode("utf-8", "replace").splitlines(keepends=True)
                if not _STARTUP_NOISE.match(line)
            ]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


@contextlib.contextmanager
def _xla_cpu_jit_flag() -> Iterator[None]:
    """Adds the CPU auto-jit flag to ``TF_XLA_FLAGS`` while TensorFlow parses it, then restores it."""
    before = os.environ.get("TF_XLA_FLAGS")
    if XLA_CPU_JIT_FLAG not in (before or ""):
        os.environ["TF_XLA_FLAGS"] = f"{before or ''} {XLA_CPU_JIT_FLAG}".strip()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TF_XLA_FLAGS", None)
        else:
            os.environ["TF_XLA_FLAGS"] = before


def _import_tensorflow():
    already_loaded = "tensorflow" in sys.modules
    if not already_loaded:
        os.environ.setdefault(LEGACY_KERAS_ENV, "1")
    quiet = not already_loaded and not _wants_verbose()
    with _quiet_native_stderr() if quiet else contextlib.nullcontext():
        with _xla_cpu_jit_flag() if not already_loaded else contextlib.nullcontext():
            import tensorflow

            # Device discovery (and the cuInit message on machines without a GPU)
            # happens on first use; do it now, inside the quiet block. XLA reads
            # its flags here too.
            tensorflow.config.list_physical_devices()
    if already_loaded and os.environ.get(LEGACY_KERAS_ENV) != "1":
        warnings.warn(
            "TensorFlow was imported before graphmode without TF_USE_LEGACY_KERAS=1, so "
            "tf.compat.v1.layers, tf.compat.v1.nn.rnn_cell and DeterministicRandomTestTool "
            "will fail with 'not available with Keras 3'. Use graphmode (from graphmode import tf) "
            "before importing TensorFlow, or set "
            "TF_USE_LEGACY_KERAS=1 in the environment before starting Python.",
            LegacyKerasWarning,
            stacklevel=3,
        )
    return tensorflow


tf = _import_tensorflow()
v1 = tf.compat.v1
# TensorFlow's own session classes, as they were when graphmode loaded. graphmode's sessions
# subclass them, and its internal sessions and checks use them, so installing graphmode's classes
# in TensorFlow's place (``tf.compat.v1.Session = graphmode.Session``) cannot loop back into graphmode.
TFSession = v1.Session
TFInteractiveSession = v1.InteractiveSession


def default_session_config() -> v1.ConfigProto:
    """Returns the ``ConfigProto`` a ``tf.compat.v1.Session`` made without ``config`` would use.

    That is the eager context's: it carries ``tf.config`` threading, soft placement,
    optimizer options, visible devices and GPU memory growth.
    """
    from tensorflow.python.eager import context

    return context.context().config


def tensorflow_session(target: str, graph, config) -> TFSession:
    """Returns a session of TensorFlow's own class, whatever is installed under its name.

    TensorFlow's ``Session.__init__`` calls ``super(Session, self)`` through its
    module's global name; with graphmode's class installed there, that call fails
    for TensorFlow's own class. This builds the session as that ``__init__`` does,
    past the name.
    """
    session = TFSession.__new__(TFSession)
    super(TFSession, session).__init__(target, graph, config=config)
    session._default_graph_context_manager = None
    session._default_session_context_manager = None
    return session


def session_run_expansions() -> list[tuple]:
    """Returns TensorFlow's registry of ``Session.run`` conversions (the live list, newest first).

    Each entry is ``(type, fetch_function, feed_function, feed_function_for_partial_run)``:
    ``SparseTensor``, ``IndexedSlices``, the types user code registered with
    ``register_session_run_conversion_functions``, and last ``object`` (a key feeds itself).
    """
    from tensorflow.python.client import session

    return session._REGISTERED_EXPANSIONS


def flatten_feed_dict(feed_dict: dict) -> dict:
    """Flattens nested tuple keys of ``feed_dict`` against their values, as ``Session.run`` does.

    Raises:
        ValueError, TypeError: a key's structure does not match its value's (TensorFlow's words).
    """
    from tensorflow.python.util import nest

    return nest.flatten_dict_items(feed_dict)


def v2_behavior_enabled() -> bool:
    """Returns False once ``tf.compat.v1.disable_v2_behavior()`` ran in this process."""
    from tensorflow.python import tf2

    return tf2.enabled()


def legacy_keras_active() -> bool:
    """Returns True when ``tf.keras`` is tf-keras (Keras 2), as TF1 code needs."""
    return getattr(tf.keras, "__name__", "").startswith("tf_keras")


def gpu_devices() -> tuple[str, ...]:
    """Returns the names of the GPUs TensorFlow can use here (often none)."""
    return tuple(device.name for device in tf.config.list_physical_devices("GPU"))


def has_gpu() -> bool:
    """Returns True when at least one GPU is visible to TensorFlow.

    Unlike ``tf.test.is_built_with_cuda()`` (True for the CPU wheel too), this
    says whether a GPU can actually run ops.
    """
    return bool(gpu_devices())


def tf1_symbol_renames() -> dict[str, str]:
    """TensorFlow's own TF1 -> TF2 symbol table (the one ``tf_upgrade_v2`` applies).

    Names TF2 kept only in ``tf.compat.v1`` map there; the caller decides what to do with those.
    """
    from tensorflow.tools.compatibility import all_renames_v2

    return dict(all_renames_v2.symbol_renames)


def tf1_keyword_renames() -> dict[str, dict[str, str]]:
    """TensorFlow's own TF1 -> TF2 keyword-argument table (``tf.reduce_sum(reduction_indices=)`` -> ``axis=``)."""
    from tensorflow.tools.compatibility import tf_upgrade_v2

    return {name: dict(renames) for name, renames in tf_upgrade_v2.TFAPIChangeSpec().function_keyword_renames.items()}
