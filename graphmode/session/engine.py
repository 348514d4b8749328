"""Sessions: ``tf.compat.v1.Session`` with checked feeds, clear errors and a placement report.

:class:`Session` *is* a ``tf.compat.v1.Session`` (a subclass), so code that
type-checks sessions, ``Tensor.eval()``, ``Operation.run()``, ``tf.train.Saver``
and ``make_callable`` all keep working; what changes is what happens when
something is wrong, and that placement is recorded as data.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

import numpy as np

from graphmode._errors import ConfigError, FeedError, ForeignGraphError, SessionClosedError
from graphmode._runtime import tf, v1
from graphmode.session import diagnosis
from graphmode.session.placement import PlacementReport, merge_records, records_from_run_metadata


def session_config(
    config: v1.ConfigProto | None = None,
    *,
    allow_soft_placement: bool | None = None,
    log_device_placement: bool | None = None,
    intra_op_threads: int | None = None,
    inter_op_threads: int | None = None,
    timeout: float | None = None,
    xla_auto_jit: bool | None = None,
) -> v1.ConfigProto:
    """Returns a ``ConfigProto``: a copy of ``config`` with the given options set.

    Args:
        config: a starting ``ConfigProto`` (left unchanged), or None.
        allow_soft_placement: run ops on an available device when the requested one is missing.
        log_device_placement: have TensorFlow log placement (graphmode also records it as data).
        intra_op_threads: threads one op may use (0 lets TensorFlow choose).
        inter_op_threads: ops that may run at once (0 lets TensorFlow choose; -1 runs
            every op in the calling thread, the cheapest setting for tiny steps).
        timeout: seconds any blocking op may wait, for every run of the session.
        xla_auto_jit: compile clusters of ops with XLA (``GlobalJitLevel.ON_1``).

    Raises:
        ConfigError: a count or timeout is negative.
    """
    proto = v1.ConfigProto()
    if config is not None:
        proto.CopyFrom(config)
    if intra_op_threads is not None and intra_op_threads < 0:
        raise ConfigError(f"intra_op_threads must be >= 0 (0 lets TensorFlow choose); got {intra_op_threads}")
    if inter_op_threads is not None and inter_op_threads < -1:
        raise ConfigError(
            f"inter_op_threads must be >= -1 (0 lets TensorFlow choose, -1 runs ops in the calling thread); "
            f"got {inter_op_threads}"
        )
    if timeout is not None and timeout <= 0:
        raise ConfigError(f"timeout must be a positive number of seconds; got {timeout}")
    if allow_soft_placement is not None:
        proto.allow_soft_placement = allow_soft_placement
    if log_device_placement is not None:
        proto.log_device_placement = log_device_placement
    if intra_op_threads is not None:
        proto.intra_op_parallelism_threads = intra_op_threads
    if inter_op_threads is not None:
        proto.inter_op_parallelism_threads = inter_op_threads
    if timeout is not None:
        proto.operation_timeout_in_ms = max(1, round(timeout * 1000))
    if xla_auto_jit is not None:
        jit = v1.OptimizerOptions.ON_1 if xla_auto_jit else v1.OptimizerOptions.OFF
        proto.graph_options.optimizer_options.global_jit_level = jit
    return proto


class _SessionFeatures:
    """What graphmode adds to TensorFlow's session classes (mixed in before them)."""

    def __init__(
        self,
        target: str = "",
        graph: tf.Graph | None = None,
        config: v1.ConfigProto | None = None,
        *,
        allow_soft_placement: bool | None = None,
        log_device_placement: bool | None = None,
        intra_op_threads: int | None = None,
        inter_op_threads: int | None = None,
        timeout: float | None = None,
        check_numerics: bool = False,
        record_placement: bool | None = None,
    ) -> None:
        config = session_config(
            config,
            allow_soft_placement=allow_soft_placement,
            log_device_placement=log_device_placement,
            intra_op_threads=intra_op_threads,
            inter_op_threads=inter_op_threads,
            timeout=timeout,
        )
        super().__init__(target, graph, config)
        self._session_timeout = config.operation_timeout_in_ms / 1000 or None
        self._check_numerics = check_numerics
        self._record_placement = config.log_device_placement if record_placement is None else record_placement
        self._placement: dict = {}
        self._feed_specs: dict = {}
        self._numerics_checks: dict = {}
        self._fetch_names: dict = {}

    @property
    def placement(self) -> PlacementReport:
        """Placement of every op run so far with placement recording on."""
        return PlacementReport(tuple(self._placement.values()))

    def clear_placement(self) -> None:
        """Forgets the placement recorded so far."""
        self._placement.clear()

    def uninitialized_variables(self) -> list[str]:
        """Returns the names of the graph's variables that hold no value yet."""
        return diagnosis.uninitialized_variables(self)

    def run(
        self,
        fetches,
        feed_dict: dict | None = None,
        options: v1.RunOptions | None = None,
        run_metadata: v1.RunMetadata | None = None,
        *,
        timeout: float | None = None,
        check_numerics: bool | None = None,
        record_placement: bool | None = None,
    ):
        """Runs ``fetches`` like ``tf.compat.v1.Session.run``, with graphmode's checks.

        Args:
            fetches: tensors, ops, their names, or nested lists/dicts of them.
            feed_dict: placeholder (tensor or ``"name:0"``) -> value (array, list, scalar).
            options: ``RunOptions`` (left unchanged; graphmode works on a copy).
            run_metadata: filled in as by TensorFlow.
            timeout: seconds this run may block before :class:`RunTimeoutError`.
            check_numerics: fail with :class:`NumericsError` naming the first
                NaN/Inf tensor the run computes (default: the session's setting).
            record_placement: add this run's placement to :attr:`placement`
                (default: the session's setting).

        Raises:
            SessionClosedError, FeedError, ForeignGraphError, MissingFeedError,
            UninitializedVariableError, DevicePlacementError, NumericsError,
            RunTimeoutError: each naming the culprit. TensorFlow's own error is
            kept as ``__cause__``.
        """
        self._ensure_open()
        graph = self.graph
        if feed_dict:
            feed_dict = diagnosis.validate_feed_dict(graph, feed_dict, self._feed_specs)
        record = self._record_placement if record_placement is None else record_placement
        check = self._check_numerics if check_numerics is None else check_numerics
        if timeout is not None or record:
            options = _run_options(options, timeout, record)
            run_metadata = run_metadata if run_metadata is not None else v1.RunMetadata()
        if _names_in(fetches):
            fetches = tf.nest.map_structure(self._variable_value_for_name, fetches)
        run_fetches = (fetches, self._numerics_check(fetches)) if check else fetches
        try:
            result = super().run(run_fetches, feed_dict, options, run_metadata)
        except tf.errors.OpError as error:
            raise self._translate(error, fetches, feed_dict, timeout) from error
        except (ValueError, TypeError) as error:
            if "is not an element of this graph" in str(error):
                diagnosis.fetch_elements(graph, fetches)  # raises ForeignGraphError naming the fetch
                raise ForeignGraphError(f"{error} (feeds and fetches must come from the session's graph)") from error
            raise
        if record:
            merge_records(self._placement, records_from_run_metadata(graph, run_metadata))
        return result[0] if check else result

    def make_callable(self, fetches, feed_list: Sequence | None = None, accept_options: bool = False) -> Callable:
        """Like ``tf.compat.v1.Session.make_callable``, but really fast, with feeds checked per call.

        TensorFlow's own ``make_callable`` with a ``feed_list`` just calls
        ``Session.run`` each time. This one prunes the graph once into a C++
        callable; a call then costs that callable plus a dtype/shape check per
        feed. ``fetches`` may be nested (lists, tuples, dicts) as for ``run``.

        Raises:
            FeedError: at call time, a feed that does not fit (or the wrong count).
            SessionClosedError: the session is closed.
        """
        self._ensure_open()
        graph = self.graph
        tensors = [diagnosis.resolve_feed_key(graph, key) for key in feed_list or []]
        if accept_options or any(tensor is None for tensor in tensors):
            return super().make_callable(fetches, feed_list, accept_options)
        fetches = tf.nest.map_structure(self._variable_value_for_name, fetches)
        leaves = [diagnosis.fetch_element(graph, leaf) for leaf in tf.nest.flatten(fetches)]
        if any(leaf is None for leaf in leaves):  # fetches only TensorFlow's conversion registry understands
            return super().make_callable(fetches, feed_list, accept_options)
        specs = [diagnosis.feed_spec(tensor) for tensor in tensors]
        options = callable_options()
        options.feed.extend(tensor.name for tensor in tensors)
        options.fetch.extend(leaf.name for leaf in leaves if isinstance(leaf, tf.Tensor))
        options.target.extend(leaf.name for leaf in leaves if isinstance(leaf, tf.Operation))
        handle = self._make_callable_from_options(options)
        names = ", ".join(f"'{spec.name}'" for spec in specs) or "none"

        def call(*feeds):
            if len(feeds) != len(specs):
                raise FeedError(f"this callable takes {len(specs)} feed(s) ({names}); got {len(feeds)}")
            self._ensure_open()
            arrays = [np.asarray(diagnosis.check_feed(spec, value), spec.dtype) for spec, value in zip(specs, feeds)]
            try:
                values = iter(handle(*arrays))
            except tf.errors.OpError as error:
                raise self._translate(error, fetches, dict(zip(tensors, arrays)), None) from error
            results = [next(values) if isinstance(leaf, tf.Tensor) else None for leaf in leaves]
            return tf.nest.pack_sequence_as(fetches, results)

        return call

    @property
    def target(self) -> str:
        """The execution engine's address (``""`` for in-process)."""
        raw = self.sess_str
        return raw.decode() if isinstance(raw, bytes) else raw

    def _ensure_open(self) -> None:
        if self._closed:
            raise SessionClosedError(
                f"this {type(self).__name__} (target {self.target or 'local'!r}) was closed; "
                "create a new session (variable values live in a session and are gone with it)"
            )

    def _variable_value_for_name(self, fetch):
        # TF1 code fetches variables by name ("v:0"). With resource variables
        # (the TF2 default, also under compat.v1) that name is the variable's
        # *handle*, and TensorFlow would return the raw resource. Fetch the
        # variable's value instead, as TF1's reference variables did.
        if not isinstance(fetch, str):
            return fetch
        if fetch not in self._fetch_names:
            handles = {
                variable.handle.name: variable
                for variable in diagnosis.all_variables(self.graph)
                if hasattr(variable, "handle")
            }
            self._fetch_names[fetch] = handles.get(fetch, fetch)
        return self._fetch_names[fetch]

    def _numerics_check(self, fetches) -> tf.Operation:
        elements = diagnosis.fetch_elements(self.graph, fetches)
        key = tuple(element.name for element in elements)
        if key not in self._numerics_checks:
            if self.graph.finalized:
                raise ConfigError("check_numerics needs to add check ops, but the graph is finalized")
            self._numerics_checks[key] = diagnosis.numerics_check_op(self.graph, elements) or tf.no_op
        check = self._numerics_checks[key]
        return check if check is not tf.no_op else []

    def _translate(self, error: tf.errors.OpError, fetches, feed_dict, run_timeout) -> Exception:
        graph = self.graph
        if isinstance(error, tf.errors.DeadlineExceededError):
            seconds, source = (run_timeout, "per-run") if run_timeout is not None else (self._session_timeout, "per-session")
            return diagnosis.timeout_error(graph, fetches, seconds or 0, source, self.target, error)
        if diagnosis.is_uninitialized_error(error):
            return diagnosis.uninitialized_error(self, error)
        if isinstance(error, tf.errors.InvalidArgumentError):
            if "You must feed a value for placeholder" in error.message:
                return diagnosis.missing_feed_error(graph, fetches, feed_dict, error)
            translated = diagnosis.placement_error(error, graph) or diagnosis.numerics_error(error)
            if translated is not None:
                return translated
        return error


def _names_in(fetches) -> bool:
    # A cheap scan: tf.nest.map_structure costs tens of µs per run, so fetches
    # are only rewritten when they hold a name that might be a variable's.
    if isinstance(fetches, str):
        return True
    if isinstance(fetches, (list, tuple)):
        return any(_names_in(fetch) for fetch in fetches)
    if isinstance(fetches, dict):
        return any(_names_in(fetch) for fetch in fetches.values())
    return False


def callable_options():
    """Returns an empty ``CallableOptions`` proto.

    It is not exported under ``tf.compat.v1``; it lives in the same generated
    module as ``ConfigProto``, which TensorFlow has already loaded.
    """
    return sys.modules[type(v1.ConfigProto()).__module__].CallableOptions()


def _run_options(options: v1.RunOptions | None, timeout: float | None, record: bool) -> v1.RunOptions:
    copied = v1.RunOptions()
    if options is not None:
        copied.CopyFrom(options)
    if timeout is not None:
        if timeout <= 0:
            raise ConfigError(f"timeout must be a positive number of seconds; got {timeout}")
        copied.timeout_in_ms = max(1, round(timeout * 1000))
    if record:
        copied.output_partition_graphs = True
    return copied


class Session(_SessionFeatures, v1.Session):
    """A ``tf.compat.v1.Session`` with checked feeds, clear errors and a placement report.

    Example:
        >>> with graphmode.Session(graph=g, allow_soft_placement=True,
        ...                        record_placement=True) as session:
        ...     session.run(init)
        ...     print(session.run(y, {"x-input:0": [[1.0, 2.0]]}))
        ...     print(session.placement)
    """


class InteractiveSession(_SessionFeatures, v1.InteractiveSession):
    """A graphmode session that installs itself as the default (for ``.eval()``/``.run()``)."""
