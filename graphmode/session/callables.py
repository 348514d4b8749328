"""C++ callables: a graph pruned once for fixed fetches and feeds, then called per step.

``Session.run`` re-prunes and re-validates the graph on every call; a callable
made with ``Session._make_callable_from_options`` does that once. Two users:

* ``Session.make_callable`` builds one on request.
* :class:`RunCache` builds one *automatically* when ``Session.run`` sees the same
  signature (the same fetch objects, the same feed keys in the same order, no
  run options) for the second time, so unmodified ``sess.run(train_op, feed)``
  loops get the callable's speed and one-off runs pay nothing but a dictionary
  look-up. An entry is dropped when the graph has grown since it was built.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

import numpy as np

from graphmode._runtime import tf, v1
from graphmode.session.feeds import FeedSpec, convert_feed

# Signatures a session remembers (first sightings and built callables); past
# this a loop that keeps changing what it fetches just takes Session.run's path.
SIGNATURE_LIMIT = 256


def callable_options():
    """Returns an empty ``CallableOptions`` proto.

    It is not exported under ``tf.compat.v1``; it lives in the same generated
    module as ``ConfigProto``, which TensorFlow has already loaded.
    """
    return sys.modules[type(v1.ConfigProto()).__module__].CallableOptions()


def build_callable(session, leaves: Sequence, feeds: Sequence[tf.Tensor]) -> Callable[[list], list]:
    """Returns ``call(arrays) -> results``: one result per leaf, in order.

    Args:
        session: the session (its graph holds ``leaves`` and ``feeds``).
        leaves: resolved fetches, each a ``tf.Tensor`` or ``tf.Operation``.
        feeds: the fed tensors; ``call`` takes one array per feed, in this order.

    Operations give None. A leaf that is also fed gives the fed array back,
    as ``Session.run`` does (the graph is not consulted for it).
    """
    fed_position = {tensor.name: index for index, tensor in enumerate(feeds)}
    options = callable_options()
    options.feed.extend(tensor.name for tensor in feeds)
    plan = []  # per leaf: ("fetch", None) | ("fed", feed index) | ("op", None)
    fetched: set[str] = set()
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
    handle = session._make_callable_from_options(options)
    if all(kind == "fetch" for kind, _ in plan):
        return lambda arrays: handle(*arrays)

    def call(arrays: list) -> list:
        values = iter(handle(*arrays))
        # A fed leaf comes back as a copy of what was fed, as Session.run's conversion copies it.
        return [
            next(values) if kind == "fetch" else np.array(arrays[where]) if kind == "fed" else None
            for kind, where in plan
        ]

    return call


class _Entry:
    """A built callable for one signature of ``Session.run``."""

    __slots__ = ("call", "feeds", "keep", "single", "specs", "version")

    def __init__(self, call, specs: list[FeedSpec], version: int, single: bool, keep: tuple) -> None:
        self.call = call
        self.specs = specs
        self.version = version
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
        if entry is not None and entry.version != graph.version:
            del self._entries[signature]  # the graph grew: count again from this run
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
        keys = list(feed_dict or ())
        specs = [resolve_spec(key) for key in keys]
        feeds = [key if isinstance(key, tf.Tensor) else graph.as_graph_element(key) for key in keys]
        if len({tensor.name for tensor in feeds}) != len(feeds):
            return None  # the same tensor fed twice (by object and by name): TensorFlow decides
        entry = _Entry(build_callable(session, leaves, feeds), specs, graph.version, single, (fetches, *keys))
        if len(self._entries) < SIGNATURE_LIMIT:
            self._entries[signature] = entry
        return entry
