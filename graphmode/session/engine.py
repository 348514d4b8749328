"""Sessions: ``tf.compat.v1.Session`` with checked feeds, clear errors and a placement report.

:class:`Session` *is* a ``tf.compat.v1.Session`` (a subclass), so code that
type-checks sessions, ``Tensor.eval()``, ``Operation.run()``, ``tf.train.Saver``
and ``make_callable`` all keep working; what changes is what happens when
something is wrong, and that placement is recorded as data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from graphmode._runtime import TFSession, default_session_config, tf, v1
from graphmode.errors import (
    ConfigError,
    ConfigTypeError,
    FeedError,
    ForeignGraphError,
    SessionClosedError,
)
from graphmode.session import diagnosis, feeds, remote
from graphmode.session.callables import Guard, RunCache, build_callable
from graphmode.session.config import hand_over_metadata, run_options, session_config
from graphmode.session.copies import distinct
from graphmode.session.feed_keys import expand_feed_keys, resolve_feed_key
from graphmode.session.placement import PlacementReport, merge_records, records_from_run_metadata


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
        cluster: remote.ClusterLike | None = None,
    ) -> None:
        # cluster: the jobs behind a grpc:// target (job -> addresses, or a ClusterDescription), so that
        # a session that cannot reach a task names it (graphmode.session.remote).
        if "_graphmode_initializing" in self.__dict__:
            # TensorFlow's session classes call super() through their module's global names
            # (`super(Session, self)`); with graphmode's classes installed under those names, each
            # such call comes back here: go on past the TensorFlow class that made it.
            super(next(self._graphmode_initializing), self).__init__(target, graph, config=config)
            return
        try:
            # Without a config, TensorFlow's session starts from its context's (tf.config threading,
            # soft placement, optimizer options, GPU memory growth); so do we, then apply ours.
            config = session_config(
                default_session_config() if config is None else config,
                allow_soft_placement=allow_soft_placement,
                log_device_placement=log_device_placement,
                intra_op_threads=intra_op_threads,
                inter_op_threads=inter_op_threads,
                timeout=timeout,
            )
        except ConfigTypeError as error:
            # TensorFlow checks its arguments before it creates anything: its refusal is its wording.
            diagnosis.add_tensorflow_words(error, lambda: super(TFSession, self).__init__(target, graph, config=config))
            raise
        cluster_jobs = remote.cluster_jobs(cluster)  # checked before TensorFlow creates anything
        self._graphmode_initializing = self._tensorflow_classes()
        try:
            super().__init__(target, graph, config)
        finally:
            del self._graphmode_initializing
        self._session_timeout = config.operation_timeout_in_ms / 1000 or None
        self._remote_unchecked = remote.is_remote(target)  # see _reach_remote
        self._cluster_jobs = cluster_jobs
        self._check_numerics = check_numerics
        self._record_placement = config.log_device_placement if record_placement is None else record_placement
        self._placement: dict = {}
        self._feed_specs: dict = {}
        self._numerics_checks: dict = {}
        self._fetch_names: dict = {}
        self._run_cache = RunCache()

    def _tensorflow_classes(self) -> Iterator[type]:
        """TensorFlow's session classes this session's methods pass through, in order."""
        mro = type(self).__mro__
        return iter(mro[mro.index(_SessionFeatures) + 1 :])

    def __del__(self) -> None:
        # A session whose __init__ failed (a bad config) never got a C++ session to free.
        if "_session" in self.__dict__:
            super().__del__()

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
        if self._remote_unchecked:
            run_timeout = timeout or (options.timeout_in_ms / 1000 if options is not None else 0)
            if run_timeout or self._session_timeout:
                self._reach_remote(*((run_timeout, "per-run") if run_timeout else (self._session_timeout, "per-session")))
        graph = self.graph
        record = self._record_placement if record_placement is None else record_placement
        check = self._check_numerics if check_numerics is None else check_numerics
        if options is None and run_metadata is None and timeout is None and not record and not check:
            try:
                ran, result = self._run_cache.run(self, fetches, feed_dict, self._feed_spec)
            except FeedError:
                ran, result = False, None  # the full check below lists every bad feed
            except tf.errors.OpError as error:
                raise self._translate(error, fetches, feed_dict, None, None) from error
            if ran:
                return result
        if feed_dict:
            feed_dict = self._checked_feeds(feed_dict)
        asked_options, asked_metadata = options, run_metadata
        if timeout is not None or record:
            options = run_options(options, timeout, record)
        if record:  # graphmode's own metadata: the caller's gets only what its options asked for
            run_metadata = v1.RunMetadata()
        fetches = self._variable_values_for_names(fetches)
        run_fetches = (fetches, self._numerics_check(fetches)) if check else fetches
        try:
            result = super().run(run_fetches, feed_dict, options, run_metadata)
        except tf.errors.OpError as error:
            raise self._translate(error, fetches, feed_dict, timeout, options) from error
        except (ValueError, TypeError) as error:
            self._explain_foreign(error, fetches)
            raise
        if record:
            merge_records(self._placement, records_from_run_metadata(graph, run_metadata))
            if asked_metadata is not None:
                hand_over_metadata(run_metadata, asked_metadata, asked_options)
        return distinct(result[0] if check else result)

    def partial_run_setup(self, fetches, feeds=None):
        """``tf.compat.v1.Session.partial_run_setup``, with the feed keys checked as ``run`` checks them.

        Raises:
            FeedTypeError / ForeignGraphError / FeedError: a feed key cannot be fed.
        """
        self._ensure_open()
        for key in expand_feed_keys(feeds):
            self._feed_spec(key)
        fetches = self._variable_values_for_names(fetches)
        try:
            return super().partial_run_setup(fetches, feeds)
        except (ValueError, TypeError) as error:
            self._explain_foreign(error, fetches)
            raise

    def partial_run(self, handle, fetches, feed_dict=None):
        """``tf.compat.v1.Session.partial_run``, with the feeds checked and errors translated as by ``run``."""
        self._ensure_open()
        if feed_dict:
            feed_dict = self._checked_feeds(feed_dict)
        fetches = self._variable_values_for_names(fetches)
        try:
            return distinct(super().partial_run(handle, fetches, feed_dict))
        except tf.errors.OpError as error:
            raise self._translate(error, fetches, feed_dict, None, None) from error

    def close(self) -> None:
        """Closes the session (and drops the callables ``run`` built for it)."""
        if "_graphmode_closing" in self.__dict__:
            # TensorFlow's InteractiveSession.close calls super() through its module's global name.
            super(next(self._graphmode_closing), self).close()
            return
        self._run_cache.clear()
        self._graphmode_closing = self._tensorflow_classes()
        try:
            super().close()
        finally:
            del self._graphmode_closing

    def _feed_spec(self, key) -> feeds.FeedSpec | None:
        return feeds.spec_for(self.graph, key, self._feed_specs)

    def _checked_feeds(self, feed_dict: dict) -> dict:
        try:
            return feeds.validate_feed_dict(self.graph, feed_dict, self._feed_specs)
        except (FeedError, ForeignGraphError) as error:
            # A run with nothing to fetch makes TensorFlow check the feeds and stop: its words, nothing run.
            diagnosis.add_tensorflow_words(error, lambda: TFSession.run(self, [], feed_dict))
            raise

    def _explain_foreign(self, error: Exception, fetches) -> None:
        if "is not an element of this graph" in str(error) and "feed" not in str(error):
            try:
                diagnosis.fetch_elements(self.graph, fetches)  # raises ForeignGraphError naming the fetch
            except ForeignGraphError as foreign:
                foreign.add_tensorflow_message(str(error))
                raise foreign from error
            foreign = ForeignGraphError("a fetch belongs to another graph than this session's; fetch what the session's graph holds")
            foreign.add_tensorflow_message(str(error))
            raise foreign from error

    def make_callable(self, fetches, feed_list: Sequence | None = None, accept_options: bool = False) -> Callable:
        """Like ``tf.compat.v1.Session.make_callable``, but really fast, with feeds checked per call.

        TensorFlow's own ``make_callable`` with a ``feed_list`` just calls
        ``Session.run`` each time. This one prunes the graph once into a C++
        callable; a call then costs that callable plus a dtype/shape check per
        feed. ``fetches`` may be nested (lists, tuples, dicts) as for ``run``.
        A call after a change the checks depend on (``set_shape`` on a fed
        placeholder, ``prevent_feeding``, and with a ``feed_list`` also
        ``prevent_fetching``) runs through ``run``, which raises what
        TensorFlow's callable raises.

        Raises:
            FeedError: at call time, a feed that does not fit (or the wrong count).
            SessionClosedError: the session is closed.
        """
        self._ensure_open()
        graph = self.graph
        tensors = [resolve_feed_key(graph, key) for key in feed_list or []]
        if accept_options or any(tensor is None for tensor in tensors):
            return super().make_callable(fetches, feed_list, accept_options)
        fetches = tf.nest.map_structure(self._variable_value_for_name, fetches)
        try:
            leaves = [diagnosis.fetch_element(graph, leaf) for leaf in tf.nest.flatten(fetches)]
        except ForeignGraphError as error:
            # TensorFlow refuses such a fetch while it builds the callable, before anything runs.
            diagnosis.add_tensorflow_words(error, lambda: TFSession.make_callable(self, fetches))
            raise
        if any(leaf is None for leaf in leaves):  # fetches only TensorFlow's conversion registry understands
            return super().make_callable(fetches, feed_list, accept_options)
        if not all(map(graph.is_feedable, tensors)) or not all(map(graph.is_fetchable, leaves)):
            # TensorFlow refuses these when it is made (no feed_list) or at each call (its callable is run).
            return super().make_callable(fetches, feed_list, accept_options)
        specs = [feeds.spec_for(graph, tensor, self._feed_specs) for tensor in tensors]
        # TensorFlow's callable with a feed_list is Session.run (everything checked per call);
        # without one (and so without feeds) it checks its fetches once, here, and never again.
        rechecks = feed_list is not None
        checked = [Guard.of(graph, tensors, version=False), specs]
        run = build_callable(self, leaves, tensors)
        names = ", ".join(f"'{spec.name}'" for spec in specs) or "none"
        pack = _packer(fetches)

        def call(*values):
            if len(values) != len(specs):
                raise FeedError(f"this callable takes {len(specs)} feed(s) ({names}); got {len(values)}")
            self._ensure_open()
            if rechecks and not checked[0].holds(graph):
                result = self.run(fetches, dict(zip(tensors, values)))  # raises what TensorFlow raises
                checked[:] = [Guard.of(graph, tensors, version=False),
                              [feeds.spec_for(graph, tensor, self._feed_specs) for tensor in tensors]]
                return result
            try:
                arrays = [feeds.convert_feed(spec, value) for spec, value in zip(checked[1], values)]
            except FeedError as error:
                diagnosis.add_tensorflow_words(error, lambda: TFSession.run(self, [], dict(zip(feed_list, values))))
                raise
            try:
                results = run(arrays)
            except tf.errors.OpError as error:
                raise self._translate(error, fetches, dict(zip(tensors, arrays)), None, None) from error
            return pack(results)

        return call

    @property
    def target(self) -> str:
        """The execution engine's address (``""`` for in-process)."""
        raw = self.sess_str
        return raw.decode() if isinstance(raw, bytes) else raw

    def _ensure_open(self) -> None:
        if self._closed:
            error = SessionClosedError(
                f"this {type(self).__name__} (target {self.target or 'local'!r}) was closed; "
                "create a new session (variable values live in a session and are gone with it)"
            )
            raise diagnosis.add_tensorflow_words(error, lambda: TFSession.run(self, []))

    def _variable_values_for_names(self, fetches):
        # A cheap scan first: tf.nest.map_structure costs tens of µs per run, so fetches
        # are only rewritten when they hold a name that might be a variable's.
        return tf.nest.map_structure(self._variable_value_for_name, fetches) if _names_in(fetches) else fetches

    def _variable_value_for_name(self, fetch):
        # TF1 code fetches variables by name ("v:0"). With resource variables
        # (the TF2 default, also under compat.v1) that name is the variable's
        # *handle*, and TensorFlow would return the raw resource. Fetch the
        # variable's value instead, as TF1's reference variables did.
        if not isinstance(fetch, str):
            return fetch
        known = self._fetch_names.get(fetch)
        if known is not None and not isinstance(known, int):
            return known
        if known == self.graph.version:  # no variable had this name at this graph version
            return fetch
        handles = {
            variable.handle.name: variable
            for variable in diagnosis.all_variables(self.graph)
            if hasattr(variable, "handle")
        }
        variable = handles.get(fetch)
        # A miss is remembered only for this graph version: the name may become a variable's
        # handle when the graph grows (session.run("v:0") before v is created).
        self._fetch_names[fetch] = variable if variable is not None else self.graph.version
        return variable if variable is not None else fetch

    def _numerics_check(self, fetches) -> tf.Operation:
        elements = diagnosis.fetch_elements(self.graph, fetches)
        key = tuple(element.name for element in elements)
        if key not in self._numerics_checks:
            if self.graph.finalized:
                raise ConfigError("check_numerics needs to add check ops, but the graph is finalized")
            self._numerics_checks[key] = diagnosis.numerics_check_op(self.graph, elements) or tf.no_op
        check = self._numerics_checks[key]
        return check if check is not tf.no_op else []

    def _extend_graph(self) -> None:
        # Every way to run (run, callables, v1.Session.run on this session) passes here first.
        if self._remote_unchecked and self._session_timeout:
            self._reach_remote(self._session_timeout, "per-session")
        super()._extend_graph()

    def _reach_remote(self, seconds: float, source: str) -> None:
        # A grpc session is created at its first run, and TensorFlow waits for its tasks
        # without a deadline: bound that wait by the timeout first (graphmode.session.remote).
        remote.wait_until_reachable(tf.compat.as_str(self.sess_str), self._config, seconds, source, self._cluster_jobs)
        self._remote_unchecked = False

    def _translate(self, error: tf.errors.OpError, fetches, feed_dict, run_timeout, options) -> Exception:
        return diagnosis.translate_run_error(self, error, fetches, feed_dict, run_timeout, options, self._session_timeout)


def _packer(fetches) -> Callable[[list], object]:
    # tf.nest.pack_sequence_as costs more than a small step itself; flat fetches skip it.
    if not tf.nest.is_nested(fetches):
        return lambda results: results[0]
    if type(fetches) in (list, tuple) and not any(tf.nest.is_nested(fetch) for fetch in fetches):
        return list if type(fetches) is list else tuple
    return lambda results: tf.nest.pack_sequence_as(fetches, results)


def _names_in(fetches) -> bool:
    if isinstance(fetches, str):
        return True
    if isinstance(fetches, (list, tuple)):
        return any(_names_in(fetch) for fetch in fetches)
    if isinstance(fetches, dict):
        return any(_names_in(fetch) for fetch in fetches.values())
    return False


class Session(_SessionFeatures, v1.Session):
    """A ``tf.compat.v1.Session`` with checked feeds, clear errors and a placement report.

    Example:
        >>> with graphmode.Session(graph=g, allow_soft_placement=True,
        ...                        record_placement=True) as session:
        ...     session.run(init)
        ...     print(session.run(y, {"x-input:0": [[1.0, 2.0]]}))
        ...     print(session.placement)
    """


class InteractiveSession(Session, v1.InteractiveSession):
    """A graphmode session that installs itself as the default (for ``.eval()``/``.run()``).

    Like TensorFlow's, it is a :class:`Session` too.
    """
