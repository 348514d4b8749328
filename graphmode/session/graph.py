"""Graph building helpers: isolated graphs, initial values, collections."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from graphmode._runtime import tf, v1
from graphmode._text import align_columns
from graphmode.errors import ConfigError

# The standard collections TF1 code reads and writes, by their GraphKeys name.
STANDARD_COLLECTIONS: dict[str, str] = {
    "global_variables": v1.GraphKeys.GLOBAL_VARIABLES,
    "local_variables": v1.GraphKeys.LOCAL_VARIABLES,
    "trainable_variables": v1.GraphKeys.TRAINABLE_VARIABLES,
    "moving_average_variables": v1.GraphKeys.MOVING_AVERAGE_VARIABLES,
    "summaries": v1.GraphKeys.SUMMARIES,
    "queue_runners": v1.GraphKeys.QUEUE_RUNNERS,
    "update_ops": v1.GraphKeys.UPDATE_OPS,
    "losses": v1.GraphKeys.LOSSES,
    "regularization_losses": v1.GraphKeys.REGULARIZATION_LOSSES,
    "global_step": v1.GraphKeys.GLOBAL_STEP,
}


class CollectionSummary(NamedTuple):
    """One collection of a graph: its key, how many items, and their names."""

    name: str
    size: int
    item_names: tuple[str, ...]


def new_graph(seed: int | None = None) -> tf.Graph:
    """Returns a fresh, isolated ``tf.Graph``, optionally with a graph-level seed.

    Build into it with ``with graph.as_default():``. Two graphs never share
    variables: each may hold its own ``v`` with its own initializer.
    """
    graph = tf.Graph()
    if seed is not None:
        graph.seed = seed
    return graph


def _item_name(item: object) -> str:
    name = getattr(item, "name", None)
    return name if isinstance(name, str) else repr(item)


def list_collections(graph: tf.Graph | None = None) -> tuple[CollectionSummary, ...]:
    """Lists every non-empty collection of ``graph`` (default graph if None), sorted by key.

    Example:
        >>> for c in list_collections(graph):
        ...     print(f"{c.name:24} {c.size}")
    """
    graph = graph or v1.get_default_graph()
    summaries = []
    for key in sorted(graph.get_all_collection_keys(), key=str):
        items = graph.get_collection(key)
        if items:
            summaries.append(CollectionSummary(str(key), len(items), tuple(map(_item_name, items))))
    return tuple(summaries)


def format_collections(graph: tf.Graph | None = None) -> str:
    """Returns :func:`list_collections` as a two-column text table."""
    rows = list_collections(graph)
    if not rows:
        return "(no collections)"
    return "\n".join(align_columns([(row.name, str(row.size)) for row in rows]))


def _zeros(shape, dtype, seed):
    return tf.zeros(shape, dtype=dtype)


def _ones(shape, dtype, seed):
    return tf.ones(shape, dtype=dtype)


def _random_normal(shape, dtype, seed, mean=0.0, stddev=1.0):
    return v1.random_normal(shape, mean=mean, stddev=stddev, dtype=dtype, seed=seed)


def _truncated_normal(shape, dtype, seed, mean=0.0, stddev=1.0):
    return v1.truncated_normal(shape, mean=mean, stddev=stddev, dtype=dtype, seed=seed)


def _random_uniform(shape, dtype, seed, minval=0.0, maxval=1.0):
    return v1.random_uniform(shape, minval=minval, maxval=maxval, dtype=dtype, seed=seed)


def _random_gamma(shape, dtype, seed, alpha=1.0, beta=None):
    return v1.random_gamma(shape, alpha=alpha, beta=beta, dtype=dtype, seed=seed)


def _fill(shape, dtype, seed, value=0.0):
    return tf.fill(shape, tf.constant(value, dtype=dtype))


def _constant(shape, dtype, seed, value=0.0):
    return tf.constant(value, dtype=dtype, shape=shape)


INITIAL_VALUES: dict[str, Callable[..., tf.Tensor]] = {
    "zeros": _zeros,
    "ones": _ones,
    "random_normal": _random_normal,
    "truncated_normal": _truncated_normal,
    "random_uniform": _random_uniform,
    "random_gamma": _random_gamma,
    "fill": _fill,
    "constant": _constant,
}


def initial_value(
    kind: str,
    shape: Sequence[int],
    dtype: tf.DType = tf.float32,
    seed: int | None = None,
    **params: float,
) -> tf.Tensor:
    """Builds the TF1 initial-value op ``kind`` (``"zeros"``, ``"random_gamma"``, ...).

    Args:
        kind: one of :data:`INITIAL_VALUES`.
        shape: the variable's shape.
        dtype: its dtype.
        seed: op-level seed for the random kinds.
        **params: the op's parameters (``mean``/``stddev``, ``minval``/``maxval``,
            ``alpha``/``beta``, ``value``).

    Returns:
        A tensor in the default graph, ready for ``tf.Variable(...)``.

    Raises:
        ConfigError: ``kind`` is unknown or a parameter does not belong to it.
    """
    try:
        make = INITIAL_VALUES[kind]
    except KeyError:
        raise ConfigError(
            f"unknown initial value kind {kind!r}; choose one of {sorted(INITIAL_VALUES)}"
        ) from None
    try:
        return make(list(shape), dtype, seed, **params)
    except TypeError as error:
        raise ConfigError(f"initial value {kind!r} does not take {sorted(params)}: {error}") from None
