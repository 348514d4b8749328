"""graphmode's pytest plugin (loaded through the ``pytest11`` entry point).

Fixtures:
    graph: a fresh ``tf.Graph`` installed as the default graph for the test.
    session: a :class:`graphmode.Session` on that graph (closed afterwards).
    execution_mode: an :class:`ExecutionMode`; a test that takes it runs twice,
        reported as ``test_x[graph]`` and ``test_x[eager]``, each with a fresh setup.

Marker:
    ``@pytest.mark.graph_and_eager``: run the test body in both modes even when it
    does not take ``execution_mode`` (like TensorFlow's
    ``run_in_graph_and_eager_modes``). Then only the body runs inside the mode;
    take ``execution_mode`` when fixtures must build in it too.

Example:
    >>> def test_square(execution_mode):
    ...     y = tf.square(tf.constant(3.0))
    ...     assert execution_mode.evaluate(y) == 9.0

Use :func:`graphmode.assert_parity` to fail a test with a parity report's first divergence.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from graphmode._errors import ConfigError
from graphmode._runtime import tf, v1
from graphmode.session.engine import Session
from graphmode.session.graph import new_graph

MARKER = "graph_and_eager"
MODE_FIXTURE = "execution_mode"
# Parameter name for marked tests that do not take MODE_FIXTURE.
UNREQUESTED_MODE = "graphmode_mode"


@dataclasses.dataclass(frozen=True)
class ExecutionMode:
    """The mode one run of a test body executes in.

    Attributes:
        name: ``"graph"`` or ``"eager"``.
        graph: the fresh default graph (graph mode), else None.
        session: a :class:`graphmode.Session` on it (graph mode), else None.
    """

    name: str
    graph: tf.Graph | None = None
    session: Session | None = None

    @property
    def is_graph(self) -> bool:
        """True in graph mode."""
        return self.name == "graph"

    def evaluate(self, fetches: Any) -> Any:
        """Returns the NumPy values of ``fetches`` (any nest of tensors/variables).

        In graph mode this is ``session.run``; in eager mode each tensor's ``.numpy()``.
        """
        if self.session is not None:
            return self.session.run(fetches)
        return tf.nest.map_structure(lambda item: item.numpy() if hasattr(item, "numpy") else item, fetches)

    def initialize_variables(self) -> None:
        """Initializes the graph's variables (graph mode); eager variables need nothing."""
        if self.session is not None:
            with self.graph.as_default():
                initialize = v1.variables_initializer(v1.global_variables() + v1.local_variables())
            self.session.run(initialize)


@contextlib.contextmanager
def _graph_mode() -> Iterator[ExecutionMode]:
    fresh = new_graph()
    with fresh.as_default(), Session(graph=fresh) as active:
        yield ExecutionMode("graph", fresh, active)


@contextlib.contextmanager
def _eager_mode() -> Iterator[ExecutionMode]:
    if not tf.executing_eagerly():
        raise ConfigError(
            "the eager run of this test found a graph installed as default (a fixture that entered "
            "graph.as_default()?); execution_mode tests must not also take the 'graph' fixture"
        )
    # Keras numbers layers ("dense_7") and keeps state across tests; a fresh
    # session gives each eager run the names a new program would see.
    tf.keras.backend.clear_session()
    yield ExecutionMode("eager")


MODE_SETUPS: dict[str, Callable[[], contextlib.AbstractContextManager[ExecutionMode]]] = {
    "graph": _graph_mode,
    "eager": _eager_mode,
}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}: run the test once in graph mode and once in eager mode "
        f"(ids [graph] and [eager]), each with a fresh setup",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if MODE_FIXTURE in metafunc.fixturenames:
        metafunc.parametrize(MODE_FIXTURE, list(MODE_SETUPS), indirect=True, ids=list(MODE_SETUPS))
    elif metafunc.definition.get_closest_marker(MARKER) is not None:
        # No fixture to set the mode up: pytest_runtest_call wraps the body instead.
        # parametrize() only accepts names it sees among the test's fixture names.
        metafunc.fixturenames.append(UNREQUESTED_MODE)
        metafunc.parametrize(UNREQUESTED_MODE, list(MODE_SETUPS), ids=list(MODE_SETUPS))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    callspec = getattr(item, "callspec", None)
    name = callspec.params.get(UNREQUESTED_MODE) if callspec is not None else None
    with MODE_SETUPS[name]() if name is not None else contextlib.nullcontext():
        yield


@pytest.fixture
def execution_mode(request: pytest.FixtureRequest) -> Iterator[ExecutionMode]:
    """The mode this run of the test executes in (the test runs once per mode)."""
    with MODE_SETUPS[request.param]() as mode:
        yield mode


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
