"""graphmode's pytest plugin (loaded through the ``pytest11`` entry point).

Fixtures:
    graph: a fresh ``tf.Graph`` installed as the default graph for the test.
    session: a :class:`graphmode.Session` on that graph (closed afterwards).
    execution_mode: an :class:`ExecutionMode`; a test that takes it runs twice,
        reported as ``test_x[graph]`` and ``test_x[eager]``, each with a fresh setup.

    run_tf1_script: runs a TF1 script through ``graphmode run`` in a subprocess.
    parity_trace: ``parity_trace(build_eager, trace="DIR", inputs=..., ...)`` checks a
        TF2 rewrite against a trace ``graphmode run --record`` wrote and fails the
        test with the parity report when it diverges (returns the report otherwise).

Markers:
    ``@pytest.mark.graph_and_eager``: run the test body in both modes even when it
    does not take ``execution_mode`` (like TensorFlow's
    ``run_in_graph_and_eager_modes``). Then only the body runs inside the mode;
    take ``execution_mode`` when fixtures must build in it too.
    ``@pytest.mark.parity_trace("DIR", inputs=(...), ...)``: the trace folder (and
    check options) the test's ``parity_trace`` fixture uses when its call does not
    name them; a relative folder is taken from the test file's folder.
    ``@pytest.mark.tf1_subprocess``: run the test in its own Python process with
    graphmode's TF1 API enabled (``import tensorflow as tf`` in the test body gets
    it). TF1's switch (``disable_v2_behavior``) is process-wide and permanent, so
    this is how TF1-API tests and ``execution_mode`` tests share a suite; a test
    module that does ``import graphmode.tf1`` itself turns TF2 off for every test
    after it.

Installing graphmode changes nothing in unrelated test suites: this module
imports neither TensorFlow nor graphmode's API, and sets no environment
variable, until a test uses one of its fixtures or markers.

Example:
    >>> def test_square(execution_mode):
    ...     y = tf.square(tf.constant(3.0))
    ...     assert execution_mode.evaluate(y) == 9.0

Use :func:`graphmode.assert_parity` to fail a test with a parity report's first divergence.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from graphmode._runtime import tf
    from graphmode.session.engine import Session

MARKER = "graph_and_eager"
TF1_MARKER = "tf1_subprocess"
TRACE_MARKER = "parity_trace"
# Set in the child process a tf1_subprocess test runs in.
TF1_CHILD_ENV = "GRAPHMODE_TF1_SUBPROCESS"
# Where TensorFlow's v2 behaviour was switched off (a test module or test id), once seen.
_TF2_DISABLED_BY: list[str] = []
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
        from graphmode._runtime import tf

        return tf.nest.map_structure(lambda item: item.numpy() if hasattr(item, "numpy") else item, fetches)

    def initialize_variables(self) -> None:
        """Initializes the graph's variables (graph mode); eager variables need nothing."""
        if self.session is not None:
            from graphmode._runtime import v1

            with self.graph.as_default():
                initialize = v1.variables_initializer(v1.global_variables() + v1.local_variables())
            self.session.run(initialize)


@contextlib.contextmanager
def _graph_mode() -> Iterator[ExecutionMode]:
    from graphmode.session.engine import Session
    from graphmode.session.graph import new_graph

    fresh = new_graph()
    with fresh.as_default(), Session(graph=fresh) as active:
        yield ExecutionMode("graph", fresh, active)


def _tf2_disabled_message() -> str:
    where = _TF2_DISABLED_BY[0] if _TF2_DISABLED_BY else "code that ran earlier in this process"
    return (
        f"the eager run of this test cannot run eagerly: TensorFlow's v2 behaviour was disabled "
        f"process-wide by {where} (tf.compat.v1.disable_v2_behavior(), which `import graphmode.tf1` and "
        "graphmode.enable_tf1() call; it cannot be undone in the same process). To keep TF1-API tests "
        "and execution_mode tests in one suite, run the TF1 ones in their own process: mark them "
        f"@pytest.mark.{TF1_MARKER} and import the TF1 API inside the test (not at module level), or run "
        "a TF1 script with the run_tf1_script fixture"
    )


@contextlib.contextmanager
def _eager_mode() -> Iterator[ExecutionMode]:
    from graphmode._runtime import tf, v2_behavior_enabled
    from graphmode.errors import ConfigError

    if not v2_behavior_enabled():
        raise ConfigError(_tf2_disabled_message())
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
    config.addinivalue_line(
        "markers",
        f"{TF1_MARKER}: run the test in its own Python process with graphmode's TF1 API enabled",
    )
    config.addinivalue_line(
        "markers",
        f"{TRACE_MARKER}(directory, **options): the trace (and check_parity options) the parity_trace fixture "
        "checks against",
    )


def _note_tf2_switch(where: str) -> None:
    # Only looks when TensorFlow is already loaded: this must never import it.
    tf2 = sys.modules.get("tensorflow.python.tf2")
    if tf2 is not None and not _TF2_DISABLED_BY and not tf2.enabled():
        _TF2_DISABLED_BY.append(where)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    _note_tf2_switch(f"test module {report.nodeid!r} (while it was imported)")


def pytest_runtest_logfinish(nodeid: str, location: tuple) -> None:
    _note_tf2_switch(f"test {nodeid!r}")


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


def _in_tf1_child() -> bool:
    return os.environ.get(TF1_CHILD_ENV) == "1"


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker(TF1_MARKER) is not None and _in_tf1_child():
        from graphmode.legacy.api import enable_tf1

        enable_tf1()


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    if pyfuncitem.get_closest_marker(TF1_MARKER) is None or _in_tf1_child():
        return None
    env = {**os.environ, TF1_CHILD_ENV: "1"}
    command = [sys.executable, "-m", "pytest", pyfuncitem.nodeid, "-q", "-p", "no:cacheprovider", "-W", "ignore"]
    child = subprocess.run(
        command, cwd=str(pyfuncitem.config.rootpath), env=env, capture_output=True, text=True, check=False
    )
    if child.returncode != 0:
        pytest.fail(
            f"{TF1_MARKER} test failed in its own process ({' '.join(command)}), exit code "
            f"{child.returncode}:\n{child.stdout[-6000:]}{child.stderr[-3000:]}",
            pytrace=False,
        )
    return True


@pytest.fixture
def execution_mode(request: pytest.FixtureRequest) -> Iterator[ExecutionMode]:
    """The mode this run of the test executes in (the test runs once per mode)."""
    with MODE_SETUPS[request.param]() as mode:
        yield mode


@pytest.fixture
def run_tf1_script() -> Callable[..., subprocess.CompletedProcess]:
    """Returns ``run(script, *args, timeout=300)``: ``graphmode run`` on a TF1 script in a subprocess.

    The script runs under the TF1 API in its own process, so it cannot turn TF2
    behaviour off for the rest of the suite. The result has ``returncode``,
    ``stdout`` and ``stderr`` (text).
    """

    def run(script: str | os.PathLike, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        command: Sequence[str] = [sys.executable, "-m", "graphmode", "run", os.fspath(script), *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)

    return run


@pytest.fixture
def graph() -> Iterator[tf.Graph]:
    """A fresh graph, default for the duration of the test."""
    from graphmode.session.graph import new_graph

    fresh = new_graph()
    with fresh.as_default():
        yield fresh


@pytest.fixture
def session(graph: tf.Graph) -> Iterator[Session]:
    """A graphmode session on :func:`graph`, closed when the test ends."""
    from graphmode.session.engine import Session

    with Session(graph=graph) as active:
        yield active


@pytest.fixture
def parity_trace(request: pytest.FixtureRequest) -> Callable[..., Any]:
    """Returns ``check(build_eager, trace=None, **options)``: the rewrite against a recorded trace.

    ``trace`` (a folder, or a :class:`graphmode.Trace`) and the options of
    :func:`graphmode.check_parity` (``inputs``, ``steps``, ``atol``, ``rtol``,
    ``name_map``, ...) default to the test's ``@pytest.mark.parity_trace(...)``;
    a relative folder is taken from the test file's folder. A divergence fails
    the test with the whole report (first divergence, phase, how far over the
    tolerance); within tolerance the report is returned.
    """

    def check(build_eager: Callable[[], Any], trace: Any = None, **options: Any) -> Any:
        from graphmode.parity.check import check_parity
        from graphmode.trace.reader import Trace

        marker = request.node.get_closest_marker(TRACE_MARKER)
        if trace is None and marker is not None and marker.args:
            trace = marker.args[0]
        if trace is None:
            raise pytest.UsageError(f"{request.node.nodeid}: parity_trace needs a trace: pass trace=DIR or mark the "
                                    f"test @pytest.mark.{TRACE_MARKER}(DIR)")
        options = {**(marker.kwargs if marker is not None else {}), **options}
        if not isinstance(trace, Trace):
            folder = os.fspath(trace)
            trace = Trace(folder if os.path.isabs(folder) else os.path.join(os.path.dirname(request.path), folder))
        report = check_parity(trace, build_eager, **options)
        if not report.ok:
            pytest.fail(f"parity against the trace {trace.directory} diverged:\n{report}", pytrace=False)
        return report

    return check
