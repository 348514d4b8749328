"""C++ callables: a graph pruned once for fixed fetches and feeds, then called per step.

``Session.run`` re-prunes and re-validates the graph on every call; a callable
made with ``Session._make_callable_from_options`` does that once. Two users:

* ``Session.make_callable`` builds one on request.
* :class:`RunCache` builds one *automatically* when ``Session.run`` sees the same
  signature (the same fetch objects, the same feed keys in the same order, no
  run options) for the second time, so unmodified ``sess.run(train_op, feed)``
  loops get the callable's speed and one-off runs pay nothing but a dictionary
  look-up.

What a callable decided once is re-checked on every call, cheaply (identity
and length comparisons, well under a microsecond): the graph's version, each
fed placeholder's shape object (``set_shape`` replaces it), and how many
tensors the graph prevents feeding and fetching (``prevent_feeding`` and
``prevent_fetching`` only ever add). When one changed, the call takes
``Session.run``'s full path, which raises what TensorFlow raises.

Every array a callable returns is the caller's own (:mod:`graphmode.session.copies`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from graphmode._runtime import tf, v1
from graphmode.session.copies import owned
from graphmode.session.feeds import FeedSpec, convert_feed, unfeedable_count

# Signatures a session remembers (first sightings and built callables); past
# this a loop that keeps changing what it fetches just takes Session.run's path.
SIGNATURE_LIMIT = 256


def callable_options():
    """Returns an empty ``CallableOptions`` proto.

    It is not exported under ``tf.compat.v1``; it lives in the same generated
    module as ``ConfigProto``, which TensorFlow has already loaded.
    """
    return sys.modules[type(v1.ConfigProto()).__module__].CallableOptions()


def build_callable(
    session, leaves: Sequence, feeds: Sequence[tf.Tensor], targets: Sequence[tf.Operation] = ()
) -> Callable[[list], list]:
    """Returns ``call(arrays) -> results``: one result per leaf, in order.

    Args:
        session: the session (its graph holds ``leaves`` and ``feeds``).
        leaves: resolved fetches, each a ``tf.Tensor`` or ``tf.Operation``.
        feeds: the fed tensors; ``call`` takes one array per feed, in this order.
        targets: operations run with the leaves that give no result.

    Operations give None. A leaf that is also fed gives the fed array back,
    as ``Session.run`` does (the graph is not consulted for it). Every array
    returned is the caller's own (a callable's outputs view TensorFlow's buffers).
    """
    fed_position = {tensor.name: index for index, tensor in enumerate(feeds)}
    options = callable_options()
    options.feed.extend(tensor.name for tensor in feeds)
    options.target.extend(op.name for op in targets)
    plan = []  # per leaf: ("fetch", None) | ("fed", feed index) | ("op", None)
    fetched = {op.name for op in targets}
    for leaf in leaves:
        if isinstance(leaf, tf.Operation):
            plan.append(("op", None))
            if leaf.name not in fetched:
                options.target.append(leaf.name)
                fetched.add(leaf.name)
        elif leaf.name in fed_position:
            plan.append(("fed", fed_position[leaf.name]))
        else:
            plan.append(("fetch", None))
            options.fetch.append(leaf.name)
    if options.fetch or options.target:
        handle = session._make_callable_from_options(options)
    else:  # only fed tensors are fetched: TensorFlow's Session.run runs nothing either
        handle = lambda *arrays: []  # noqa: E731
    if all(kind == "fetch" for kind, _ in plan):
        return lambda arrays: owned(handle(*arrays))

    def call(arrays: list) -> list:
        values = iter(owned(handle(*arrays)))
        # A fed leaf comes back as the caller's own copy of what was fed.
        return [
            next(values) if kind == "fetch" else np.array(arrays[where]) if kind == "fed" else None
            for kind, where in plan
        ]

    return call


def unfetchable_count(graph: tf.Graph) -> int:
    """How many ops the graph prevents fetching (``prevent_fetching`` only ever adds one)."""
    return len(graph._unfetchable_ops)


class Guard(NamedTuple):
    """What a callable's feed and fetch checks were decided on, compared again before each call.

    Attributes:
        version: the graph's version (None: growth does not matter).
        feeds: the fed tensors.
        shapes: each fed tensor's ``TensorShape`` object when its spec was made;
            ``set_shape`` replaces the object.
        unfeedable: how many tensors the graph prevented feeding.
        unfetchable: how many ops it prevented fetching.
    """

    version: int | None
    feeds: tuple[tf.Tensor, ...]
    shapes: tuple
    unfeedable: int
    unfetchable: int

    @classmethod
    def of(cls, graph: tf.Graph, feeds: Sequence[tf.Tensor], *, version: bool) -> Guard:
        return cls(
            graph.version if version else None,
            tuple(feeds),
            tuple(tensor.shape for tensor in feeds),
            unfeedable_count(graph),
            unfetchable_count(graph),
        )

    def holds(self, graph: tf.Graph) -> bool:
        """True while nothing the checks depend on has changed (~1 µs: it runs before every call)."""
        if self.version is not None and self.version != graph.version:
            return False
        if self.unfeedable != len(graph._unfeedable_tensors):
            return False
        if self.unfetchable != len(graph._unfetchable_ops):
            return False
        for tensor, shape in zip(self.feeds, self.shapes):
            # `tensor.shape` returns the cached `_shape_val` (set_shape clears it) but costs ~1 µs as a
            # property; reading the cache directly costs a third of that. Without it, nothing holds.
            if getattr(tensor, "_shape_val", None) is not shape:
                return False
        return True


class _Entry:
    """A built callable for one signature of ``Session.run``."""

    __slots__ = ("call", "guard", "keep", "single", "specs")

    def __init__(self, call, specs: list[FeedSpec], guard: Guard, single: bool, keep: tuple) -> None:
        self.call = call
        self.specs = specs
        self.guard = guard
        self.single = single
        self.keep = keep  # the fetch and feed-key objects: their ids are the signature


def run_signature(fetches, feed_dict) -> tuple | None:
    """Returns a hashable signature for ``Session.run(fetches, feed_dict)``, or None if not cacheable.

    Cacheable: a tensor or operation, or a flat list/tuple of them; feed keys
    that are tensors or names. Object ids stand for tensors (the cache entry
    keeps the objects alive, so an id cannot be reused while it is cached).
    """
    if isinstance(fetches, (tf.Tensor, tf.Operation)):
        fetch_key: tuple = (id(fetches),)
    elif type(fetches) in (list, tuple) and fetches:
        for fetch in fetches:
            if not isinstance(fetch, (tf.Tensor, tf.Operation)):
                return None
        fetch_key = (type(fetches), *map(id, fetches))
    else:
        return None
    if not feed_dict:
        return fetch_key
    feed_key = []
    for key in feed_dict:
        if isinstance(key, str):
            feed_key.append(key)
        elif isinstance(key, tf.Tensor):
            feed_key.append(id(key))
        else:
            return None
    return (*fetch_key, None, *feed_key)


class RunCache:
    """Automatic callables for repeated ``Session.run`` signatures (see the module docstring)."""

    def __init__(self) -> None:
        self._seen: dict[tuple, int] = {}
        self._entries: dict[tuple, _Entry] = {}

    def clear(self) -> None:
        self._seen.clear()
        self._entries.clear()

    def run(self, session, fetches, feed_dict, resolve_spec: Callable) -> tuple[bool, object]:
        """Runs through a cached callable when the signature has one; returns ``(ran, result)``.

        ``resolve_spec(key)`` returns the :class:`FeedSpec` of a feed key (and
        raises the feed key's error). When this returns ``(False, None)`` the
        caller runs ``Session.run``'s own path; the signature was counted.
        """
        signature = run_signature(fetches, feed_dict)
        if signature is None:
            return False, None
        entry = self._entries.get(signature)
        graph = session.graph
        if entry is not None and not entry.guard.holds(graph):
            # The graph grew, a shape was set, a feed or fetch was prevented: count again from this run.
            del self._entries[signature]
            self._seen[signature] = 1
            return False, None
        if entry is None:
            count = self._seen.get(signature, 0) + 1
            if count < 2:
                if len(self._seen) < SIGNATURE_LIMIT:
                    self._seen[signature] = count
                return False, None
            entry = self._build(session, fetches, feed_dict, resolve_spec, signature)
            if entry is None:
                return False, None
        arrays = [convert_feed(spec, value) for spec, value in zip(entry.specs, feed_dict.values())] if feed_dict else []
        results = entry.call(arrays)
        if entry.single:
            return True, results[0]
        return True, type(fetches)(results) if type(fetches) is tuple else list(results)

    def _build(self, session, fetches, feed_dict, resolve_spec, signature) -> _Entry | None:
        graph = session.graph
        single = not isinstance(fetches, (list, tuple))
        leaves = [fetches] if single else list(fetches)
        if any(leaf.graph is not graph for leaf in leaves):
            return None  # Session.run's path names the stranger
        if not all(map(graph.is_fetchable, leaves)):
            return None  # Session.run's path raises what TensorFlow raises
        keys = list(feed_dict or ())
        specs = [resolve_spec(key) for key in keys]
        feeds = [key if isinstance(key, tf.Tensor) else graph.as_graph_element(key) for key in keys]
        if len({tensor.name for tensor in feeds}) != len(feeds):
            return None  # the same tensor fed twice (by object and by name): TensorFlow decides
        guard = Guard.of(graph, feeds, version=True)
        entry = _Entry(build_callable(session, leaves, feeds), specs, guard, single, (fetches, *keys))
        if len(self._entries) < SIGNATURE_LIMIT:
            self._entries[signature] = entry
        return entry
