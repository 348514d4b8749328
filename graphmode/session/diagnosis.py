"""The translation of TensorFlow run errors into clear ones.

Feeds are checked on every call, for a few microseconds per placeholder
(:mod:`graphmode.session.feeds`). Everything else (which placeholders are
missing, which variables are uninitialized, what a timed-out run waited on) is
worked out here only after TensorFlow has already failed, so the happy path
pays nothing for it.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Iterable, Sequence

from graphmode._runtime import TFSession, tf, v1
from graphmode.errors import (
    DevicePlacementError,
    ForeignGraphError,
    GraphmodeError,
    MissingFeedError,
    NumericsError,
    RunTimeoutError,
    UninitializedVariableError,
)
from graphmode.session.feed_keys import resolve_feed_key
from graphmode.session.feeds import describe_shape, feed_spec

_BLOCKING_OP = re.compile(r"Queue|Dequeue|Enqueue|Barrier|Accumulator|Stage|MapPeek|TakeMany|GetNext|Iterator")
_UNINITIALIZED = re.compile(r"uninitialized|Could not find variable|Resource .* does not exist")
_DEVICE_ASSIGN = re.compile(
    r"Cannot assign a device for operation (?P<op>[^:]+): .*?"
    r"(?:explicitly assigned to|was explicitly assigned to) (?P<device>\S+) but available devices are \[(?P<available>[^\]]*)\]",
    re.S,
)
_NUMERICS = re.compile(r"graphmode-check-numerics\[(?P<tensor>[^\]]+)\] : Tensor had (?P<kind>[\w ]+) values")


def add_tensorflow_words(error: GraphmodeError, tensorflow_call: Callable[[], object]) -> GraphmodeError:
    """Ends ``error``'s message with TensorFlow's own message for the same input, and returns it.

    ``tensorflow_call`` repeats on TensorFlow's side what graphmode refused, in a
    form that runs nothing: ``Session.run`` with nothing to fetch checks every feed
    the way a real run would and stops there. TensorFlow's refusal is taken at its
    word when ``error`` is also an instance of its class (the drop-in promise);
    where TensorFlow accepts the input (graphmode refuses on purpose, e.g. a value
    the feed would wrap) or refuses it with another class (a deliberate, listed
    difference), the message stays graphmode's alone.
    """
    try:
        tensorflow_call()
    except Exception as refusal:  # noqa: BLE001 - only its words are wanted, and only where the class agrees
        if isinstance(error, type(refusal)):
            error.add_tensorflow_message(refusal.message if isinstance(refusal, tf.errors.OpError) else str(refusal))
    return error


def fetch_element(graph: tf.Graph, fetch: object) -> tf.Tensor | tf.Operation | None:
    """Resolves one fetch (tensor, op, name, variable) to a graph element of ``graph``.

    Returns None for fetches TensorFlow converts through its own registry
    (``SparseTensor`` and the like).

    Raises:
        ForeignGraphError: the fetch belongs to another graph.
    """
    if isinstance(fetch, (tf.Tensor, tf.Operation)):
        if fetch.graph is not graph:
            raise ForeignGraphError(
                f"fetch '{fetch.name}' belongs to another graph than this session's; "
                "fetch tensors built in the session's graph"
            )
        return fetch
    if isinstance(fetch, str):
        return graph.as_graph_element(fetch, allow_tensor=True, allow_operation=True)
    if hasattr(fetch, "_as_graph_element"):  # variables fetch as their value
        return fetch_element(graph, fetch._as_graph_element())
    return None


def fetch_elements(graph: tf.Graph, fetches: object) -> list:
    """Flattens ``fetches`` (nested lists/dicts of tensors, ops or names) to graph elements.

    Raises:
        ForeignGraphError: a fetch belongs to another graph.
    """
    elements = (fetch_element(graph, fetch) for fetch in tf.nest.flatten(fetches))
    return [element for element in elements if element is not None]


def ops_needed(elements: Iterable, fed: Iterable[tf.Tensor] = ()) -> list[tf.Operation]:
    """Returns the ops a run of ``elements`` executes: the fetches' transitive inputs.

    Fed tensors cut the graph: what only feeds them is not run.
    """
    fed_names = {tensor.name for tensor in fed}
    stack = [element if isinstance(element, tf.Operation) else element.op for element in elements]
    seen: dict[str, tf.Operation] = {}
    while stack:
        op = stack.pop()
        if op.name in seen:
            continue
        seen[op.name] = op
        stack.extend(tensor.op for tensor in op.inputs if tensor.name not in fed_names)
        stack.extend(op.control_inputs)
    return list(seen.values())


def _describe_fetches(elements: Sequence) -> str:
    names = [element.name for element in elements[:5]]
    more = f" and {len(elements) - 5} more" if len(elements) > 5 else ""
    return ", ".join(f"'{name}'" for name in names) + more


def missing_feed_error(graph, fetches, feed_dict, original: tf.errors.OpError) -> MissingFeedError:
    """Lists every placeholder the fetches need that ``feed_dict`` left out."""
    elements = fetch_elements(graph, fetches)
    fed = [t for t in (resolve_feed_key(graph, key) for key in (feed_dict or {})) if t is not None]
    fed_names = {tensor.name for tensor in fed}
    missing = [
        op.outputs[0]
        for op in ops_needed(elements, fed)
        if op.type == "Placeholder" and op.outputs[0].name not in fed_names
    ]
    missing.sort(key=lambda tensor: tensor.name)
    listed = ", ".join(
        f"'{t.name}' ({t.dtype.name}, shape {describe_shape(feed_spec(t).shape)})" for t in missing
    )
    return MissingFeedError(
        f"fetching {_describe_fetches(elements)} needs {len(missing)} placeholder(s) that were not fed: "
        f"{listed}. Add them to feed_dict.",
        original.node_def,
        original.op,
    )


# graph -> {variable names: report op}; weak, so a dropped graph takes its ops along.
_UNINITIALIZED_REPORTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def all_variables(graph: tf.Graph) -> list:
    """Returns the graph's global and local variables."""
    return graph.get_collection(v1.GraphKeys.GLOBAL_VARIABLES) + graph.get_collection(v1.GraphKeys.LOCAL_VARIABLES)


def uninitialized_variables(
    session: v1.Session, variables: Sequence | None = None, *, timeout: float | None = None
) -> list[str]:
    """Returns the names of the graph's variables that hold no value in ``session``.

    Builds one report op per graph and set of variables, the first time it is
    asked for (the graph must not be finalized then), and reuses it after.
    ``timeout`` bounds the check in seconds (TensorFlow's DeadlineExceededError).
    """
    graph = session.graph
    variables = list(variables) if variables is not None else all_variables(graph)
    if not variables:
        return []
    reports = _UNINITIALIZED_REPORTS.setdefault(graph, {})
    key = tuple(variable.name for variable in variables)
    if key not in reports:
        with graph.as_default(), tf.name_scope("graphmode"):
            reports[key] = v1.report_uninitialized_variables(variables)
    options = None if timeout is None else v1.RunOptions(timeout_in_ms=max(1, round(timeout * 1000)))
    return [name.decode() for name in TFSession.run(session, reports[key], options=options)]


def is_uninitialized_error(error: tf.errors.OpError) -> bool:
    return isinstance(error, tf.errors.FailedPreconditionError) and bool(_UNINITIALIZED.search(error.message))


def uninitialized_error(session, original: tf.errors.OpError) -> UninitializedVariableError:
    """Names every uninitialized variable and says how to initialize them."""
    graph = session.graph
    if graph.finalized:
        names = ["(graph is finalized; see TensorFlow's message below)"]
    else:
        names = uninitialized_variables(session)
    by_name = {variable.op.name: variable for variable in all_variables(graph)}
    described = ", ".join(
        f"'{name}' (shape {describe_shape(by_name[name].shape.as_list())}, {by_name[name].dtype.base_dtype.name})"
        if name in by_name
        else name
        for name in names
    )
    return UninitializedVariableError(
        f"the run read {len(names)} uninitialized variable(s): {described}. Run "
        "session.run(tf.compat.v1.global_variables_initializer()) first, or restore a checkpoint.",
        original.node_def,
        original.op,
    )


def timeout_error(graph, fetches, seconds: float, source: str, target: str, original) -> RunTimeoutError:
    """Says what a run that hit its deadline was waiting on."""
    elements = fetch_elements(graph, fetches)
    blocking = [op for op in ops_needed(elements) if _BLOCKING_OP.search(op.type)]
    if blocking:
        waiting = ", ".join(f"op '{op.name}' ({op.type})" for op in blocking[:5])
    elif target:
        waiting = f"the remote target {target!r} (is its server running and reachable?)"
    else:
        waiting = "an op that never completed"
    return RunTimeoutError(
        f"run of {_describe_fetches(elements)} gave up after {seconds:g} s ({source} timeout) "
        f"waiting on {waiting}. Nothing was fetched; the session is still usable.",
        original.node_def,
        original.op,
    )


def placement_error(original: tf.errors.OpError, graph: tf.Graph) -> DevicePlacementError | None:
    """Rewrites TF's "Cannot assign a device" error, or returns None for other errors."""
    match = _DEVICE_ASSIGN.search(original.message)
    if not match:
        return None
    op_name = match["op"].strip()
    try:
        op_type = f" ({graph.get_operation_by_name(op_name).type})"
    except KeyError:
        op_type = ""
    available = ", ".join(device.strip() for device in match["available"].split(",") if device.strip())
    return DevicePlacementError(
        f"op '{op_name}'{op_type} asks for device '{match['device']}', which does not exist here "
        f"(available: {available}). Create the session with allow_soft_placement=True to fall back, "
        "or remove the device scope.",
        original.node_def,
        original.op,
    )


def numerics_error(original: tf.errors.OpError, step: int | None = None) -> NumericsError | None:
    """Rewrites a failed graphmode numerics check, or returns None for other errors."""
    match = _NUMERICS.search(original.message)
    if not match:
        return None
    at_step = f" at step {step}" if step is not None else ""
    return NumericsError(
        f"tensor '{match['tensor']}' has {match['kind']} values{at_step} "
        "(check_numerics=True). Lower the learning rate, clip gradients or check the inputs.",
        original.node_def,
        original.op,
    )


def numerics_check_op(graph: tf.Graph, elements: Sequence) -> tf.Operation | None:
    """Builds one op that checks every floating tensor the fetches compute.

    Each check waits for the checks upstream of it, so when NaN spreads through
    the graph the error names the tensor where it *first* appeared, not
    whichever downstream check happened to run first. Tensors inside while
    loops and conds are skipped (CheckNumerics cannot cross control-flow frames).
    """
    upstream: dict[str, list[tf.Operation]] = {}
    all_checks: list[tf.Operation] = []
    with graph.as_default(), tf.name_scope("graphmode_check_numerics"):
        for op in sorted(ops_needed(elements), key=lambda op: op._id):
            waits_for = list({check.name: check for t in op.inputs for check in upstream.get(t.op.name, ())}.values())
            checkable = [
                tensor
                for tensor in op.outputs
                if tensor.dtype.is_floating and not tensor.dtype._is_ref_dtype
            ]
            if op._control_flow_context is not None or op.type in ("Const", "VarHandleOp") or not checkable:
                upstream[op.name] = waits_for
                continue
            with tf.control_dependencies(waits_for):
                checks = [
                    tf.debugging.check_numerics(tensor, f"graphmode-check-numerics[{tensor.name}]").op
                    for tensor in checkable
                ]
            upstream[op.name] = checks
            all_checks.extend(checks)
        return tf.group(*all_checks) if all_checks else None


def translate_run_error(session, error: tf.errors.OpError, fetches, feed_dict, run_timeout: float | None,
                        options: v1.RunOptions | None, session_timeout: float | None) -> Exception:
    """The clear error for TensorFlow's ``error`` from a run of ``session``, or ``error`` when none says more.

    Args:
        session: the session that ran.
        error: what TensorFlow raised.
        fetches: the run's fetches.
        feed_dict: the run's feeds.
        run_timeout: the run's own ``timeout=`` in seconds (None when not given).
        options: the run's ``RunOptions`` (None when not given).
        session_timeout: the session's operation timeout in seconds (None without one).

    Returns:
        A graphmode error that keeps TensorFlow's message (a failed numerics check is
        graphmode's own and has none), or ``error`` itself.
    """
    translated = _translation(session, error, fetches, feed_dict, run_timeout, options, session_timeout)
    if translated is not error and not isinstance(translated, NumericsError):  # numerics checks are graphmode's
        translated.add_tensorflow_message(error.message)
    return translated


def _translation(session, error, fetches, feed_dict, run_timeout, options, session_timeout) -> Exception:
    graph = session.graph
    if isinstance(error, tf.errors.DeadlineExceededError):
        if run_timeout is not None:
            seconds, source = run_timeout, "per-run"
        elif options is not None and options.timeout_in_ms > 0:
            seconds, source = options.timeout_in_ms / 1000, "per-run RunOptions"
        else:
            seconds, source = session_timeout, "per-session"
        return timeout_error(graph, fetches, seconds or 0, source, session.target, error)
    if is_uninitialized_error(error):
        return uninitialized_error(session, error)
    if isinstance(error, tf.errors.InvalidArgumentError):
        if "You must feed a value for placeholder" in error.message:
            return missing_feed_error(graph, fetches, feed_dict, error)
        translated = placement_error(error, graph) or numerics_error(error)
        if translated is not None:
            return translated
    return error
