"""graphmode's pytest plugin (loaded through the ``pytest11`` entry point).

Fixtures:
    graph: a fresh ``tf.Graph`` installed as the default graph for the test.
    session: a :class:`graphmode.Session` on that graph (closed afterwards).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from graphmode._graph import new_graph
from graphmode._runtime import tf
from graphmode._session import Session


@pytest.fixture
def graph() -> Iterator[tf.Graph]:
    """A fresh graph, default for the duration of the test."""
    fresh = new_graph()
    with fresh.as_default():
        yield fresh


@pytest.fixture
def session(graph: tf.Graph) -> Iterator[Session]:
    """A graphmode session on :func:`graph`, closed when the test ends."""
    with Session(graph=graph) as active:
        yield active
