"""graphmode's exception hierarchy.

Every error is a :class:`GraphmodeError`. Where TensorFlow raises a matching
error type, ours subclasses it too, so an existing ``except
tf.errors.FailedPreconditionError`` (or ``except ValueError``) keeps working.
"""

from __future__ import annotations

from graphmode._runtime import tf


class GraphmodeError(Exception):
    """Root of every error graphmode raises.

    Where TensorFlow refuses the same input, graphmode's sentence comes first and
    TensorFlow's own message follows it, word for word, as the last line(s)
    (also in ``tensorflow_message``): code that matches TensorFlow's text with
    ``re.search`` or ``assertRaisesRegex`` still matches.
    """

    tensorflow_message: str | None = None

    def add_tensorflow_message(self, text: str) -> None:
        """Appends TensorFlow's message for the same input (once; an empty text adds nothing)."""
        if not text or self.tensorflow_message is not None:
            return
        self.tensorflow_message = text
        self._set_message(f"{self._message_text()}\n{text}")

    def _message_text(self) -> str:
        return str(self.args[0]) if self.args else ""

    def _set_message(self, message: str) -> None:
        self.args = (message, *self.args[1:])


class _TensorFlowError(GraphmodeError):
    """Base of graphmode errors that are also a ``tf.errors.OpError`` subclass.

    TensorFlow's op errors take ``(node_def, op, message)``; ours are
    message-first so they read like ordinary exceptions at the raise site.
    """

    def __init__(self, message: str, node_def=None, op=None) -> None:
        if isinstance(op, str) and not isinstance(message, str):
            # TensorFlow re-raises an OpError it caught (Session._do_call) as type(e)(node_def, op, message).
            message, node_def, op = op, message, node_def
        tensorflow_base = next(
            base
            for base in type(self).__mro__
            if issubclass(base, tf.errors.OpError) and base.__module__.startswith("tensorflow")
        )
        tensorflow_base.__init__(self, node_def, op, message)

    def _message_text(self) -> str:
        return self.message

    def _set_message(self, message: str) -> None:
        self._message = message  # where tf.errors.OpError keeps it (its str() and .message read it)


class FeedError(GraphmodeError, ValueError):
    """A ``feed_dict`` entry does not fit its placeholder (shape, dtype, key)."""


class FeedTypeError(FeedError, TypeError):
    """A feed TensorFlow refuses with ``TypeError``.

    A key that cannot be fed, a ``tf.Tensor`` as a value, a non-string into a string placeholder.
    """


class FeedRangeError(FeedError, TypeError, OverflowError):
    """A feed value the placeholder's dtype cannot hold exactly (an integer out of range, a fraction into an int).

    TensorFlow raises ``TypeError`` (or NumPy's ``OverflowError``) for such a Python int and
    silently wraps or truncates arrays; graphmode refuses both, so it is all three.
    """


class MissingFeedError(_TensorFlowError, tf.errors.InvalidArgumentError):
    """Fetches depend on placeholders that were not fed."""


class ForeignGraphError(GraphmodeError, ValueError, TypeError):
    """A fed or fetched tensor belongs to another graph than the session's.

    TensorFlow raises ``ValueError`` for such a fetch and ``TypeError`` for such a feed key; this is both.
    """


class SessionClosedError(GraphmodeError, RuntimeError):
    """The session was used after ``close()``."""


class UninitializedVariableError(_TensorFlowError, tf.errors.FailedPreconditionError):
    """A run read variables that were never initialized."""


class NumericsError(_TensorFlowError, tf.errors.InvalidArgumentError):
    """A checked tensor (or training loss) became NaN or Inf."""


class DevicePlacementError(_TensorFlowError, tf.errors.InvalidArgumentError):
    """An op asked for a device that does not exist and soft placement is off."""


class RunTimeoutError(_TensorFlowError, tf.errors.DeadlineExceededError):
    """A run blocked longer than the per-session or per-run timeout."""


class ConfigError(GraphmodeError, ValueError):
    """A session, loop or harness option is out of range or inconsistent."""


class ConfigTypeError(ConfigError, TypeError):
    """A session option has the wrong type (``config=`` that is not a ``ConfigProto``); also a ``TypeError``."""


class ParityError(GraphmodeError, ValueError):
    """A parity run produced something that cannot be compared (e.g. a non-scalar loss)."""


class ExampleError(GraphmodeError, LookupError):
    """A bundled example cannot be found, loaded, or asked for its parity problem."""


class ClusterError(GraphmodeError, ValueError):
    """A cluster description is malformed, or names a job or task it does not have."""


class ServerStartError(_TensorFlowError, tf.errors.UnknownError):
    """A task's ``tf.train.Server`` could not start (usually: its port is taken)."""


class TaskFailedError(GraphmodeError, RuntimeError):
    """A task's process of a local cluster ended before its work was done."""


class ClusterTimeoutError(GraphmodeError, TimeoutError):
    """A local cluster run passed its deadline (every process was stopped)."""


class RemovedSymbolError(GraphmodeError, AttributeError):
    """A TF1 name TensorFlow 2 dropped with no ``tf.compat.v1`` equivalent (``tf.contrib.*``)."""


class RemovedModuleError(GraphmodeError, ModuleNotFoundError):
    """An import of a TF1 module TensorFlow 2 dropped (``tensorflow.contrib``, ``tensorflow.examples``)."""


class ContribArgumentError(GraphmodeError, ValueError):
    """A ``tf.contrib`` adapter got an argument of TF 1.15's that graphmode does not implement."""


class ScriptError(GraphmodeError, OSError):
    """A script given to ``graphmode run`` / ``graphmode scan`` cannot be read or its output written."""


class CheckpointNotFoundError(_TensorFlowError, tf.errors.NotFoundError):
    """No checkpoint exists at the given path (prefix, directory or file)."""


class CheckpointCorruptError(_TensorFlowError, tf.errors.DataLossError):
    """A checkpoint file is truncated or corrupt; nothing was loaded from it."""


class CheckpointMatchError(GraphmodeError, ValueError):
    """Checkpoint entries and variables do not pair up (unmatched names, shapes, dtypes)."""


class NoGradientError(GraphmodeError, ValueError):
    """A loss has no gradient with respect to any of the variables to train."""


class NoKerasEquivalentError(GraphmodeError, ValueError):
    """No stock ``tf.keras`` optimizer updates variables the way this TF1 optimizer does."""


class InputExhaustedError(_TensorFlowError, tf.errors.OutOfRangeError):
    """A training loop's input (``tf.data`` iterator) ran out before the requested steps."""


class DatasetError(GraphmodeError, ValueError):
    """A data file (an example's, or MNIST's for TF1 scripts) is unreadable, or does not hold what it should."""


class DataFilesNotFoundError(GraphmodeError, FileNotFoundError):
    """A data set's files are in none of the places graphmode looks, and could not be downloaded."""


class TraceError(GraphmodeError, ValueError):
    """A trace folder is missing, incomplete, from a newer format, or changed after it was recorded."""


class MigrationError(GraphmodeError, ValueError):
    """``graphmode migrate`` cannot start: no such script, an output it may not overwrite, a failed recording."""
