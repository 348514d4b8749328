"""Feed keys: which tensors a ``feed_dict`` (or ``partial_run_setup``'s feeds) names.

A key is a placeholder, its name (``"x:0"``), a nested tuple of keys, or a value
of a type in TensorFlow's conversion registry (``SparseTensor``,
``IndexedSlices``, a type given to ``register_session_run_conversion_functions``),
which expands into its component tensors exactly as TensorFlow expands it. The
values fed are checked in :mod:`graphmode.session.feeds`.
"""

from __future__ import annotations

from graphmode._runtime import flatten_feed_dict, session_run_expansions, tf
from graphmode.errors import FeedTypeError, ForeignGraphError


def resolve_feed_key(graph: tf.Graph, key: object) -> tf.Tensor | None:
    """Returns the tensor a ``feed_dict`` key names, or None for keys TF handles itself.

    Keys TF handles itself are the composite ones (``SparseTensor``, tuples of
    tensors); TensorFlow checks those.

    Raises:
        ForeignGraphError: the key is a tensor of another graph.
        FeedTypeError: a string key names no tensor of ``graph``, or the key cannot be fed at all.
    """
    if isinstance(key, tf.Tensor):
        if key.graph is not graph:
            raise ForeignGraphError(
                f"feed key '{key.name}' belongs to another graph than this session's; "
                "build the placeholder in the session's graph (with graph.as_default():)"
            )
        return key
    if isinstance(key, str):
        try:
            return graph.as_graph_element(key, allow_tensor=True, allow_operation=False)
        except (KeyError, ValueError, TypeError) as error:
            raise FeedTypeError(f"feed key {key!r} names no tensor of the session's graph: {error}") from None
    if isinstance(key, (tuple, list)) or hasattr(key, "_as_graph_element") or _expansion(key, 2) is not None:
        return None
    raise FeedTypeError(
        f"feed key {key!r} ({type(key).__name__}) cannot be fed; keys are placeholders, their names "
        "('x:0'), or what TensorFlow's conversion registry expands (SparseTensor, IndexedSlices, types given "
        "to register_session_run_conversion_functions)"
    )


def _expansion(key: object, which: int):
    """Returns the registered feed function (2: for run, 3: for partial_run_setup) of ``key``'s type, or None.

    The registry's last entry, ``object``, stands for "a key feeds itself" and gives None.
    """
    for entry in session_run_expansions():
        if entry[0] is not object and isinstance(key, entry[0]):
            return entry[which]
    return None


def expand_feed_dict(feed_dict: dict) -> list[tuple[object, object]]:
    """Returns ``feed_dict`` as ``Session.run`` reads it: ``(key, value)`` pairs of single tensors.

    Nested tuple keys are paired with their values, and a key whose type is in
    TensorFlow's conversion registry (``SparseTensor``, ``IndexedSlices``, a type
    given to ``register_session_run_conversion_functions``) is expanded by its
    feed function, exactly as TensorFlow expands it.

    Raises:
        ValueError, TypeError: a nested key's structure does not match its value (TensorFlow's error).
    """
    pairs: list[tuple[object, object]] = []
    for key, value in flatten_feed_dict(feed_dict).items():
        expand = _expansion(key, 2)
        pairs.extend(expand(key, value) if expand is not None else [(key, value)])
    return pairs


def expand_feed_keys(feeds) -> list:
    """Returns the tensors (or names) ``partial_run_setup(fetches, feeds)`` sets up to be fed."""
    keys = [] if feeds is None else feeds if isinstance(feeds, (list, tuple)) else [feeds]
    expanded = []
    for key in keys:
        expand = _expansion(key, 3)
        expanded.extend(expand(key) if expand is not None else [key])
    return expanded
