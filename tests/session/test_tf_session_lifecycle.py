"""TensorFlow's own session tests, run side by side: sessions, graphs, threads, the default session.

Each test here checks one behaviour that TensorFlow's ``session_test.py`` checks
(named in the docstring), written afresh, and runs once per session class,
``tf.compat.v1.Session`` and ``graphmode.Session`` (``[tf]`` and ``[graphmode]``
in the test id): a difference shows up as a failure of the ``graphmode`` variant
only. Tests that touch variables also run with TF1's reference variables
(``use_resource=False``) besides TF2's resource variables, as TensorFlow's
v1-only tests do.

Fetches and feeds are in ``test_tf_session_fetch_feed.py``; configs, run options
and metadata, servers and timeouts in ``test_tf_session_options.py``.
"""

from __future__ import annotations

import re
import sys
import threading
import time

import numpy as np
import pytest

import graphmode as gm
from graphmode import errors, tf, v1

equal = np.testing.assert_array_equal
# TensorFlow's session module: its conversion registry and default-session stack live there.
TF_SESSION_MODULE = sys.modules[v1.Session.__module__]


def test_existing_graph_is_used(session_class):
    """testUseExistingGraph."""
    with tf.Graph().as_default() as graph:
        product = tf.matmul(tf.constant([[6.0]]), tf.constant([[7.0]]))
    with session_class(graph=graph):
        equal(product.eval(), [[42.0]])


def test_default_graph_is_used(graph, session_class):
    """testUseDefaultGraph, testDefaultGraph."""
    product = tf.matmul(tf.constant([[6.0]]), tf.constant([[7.0]]))
    with session_class() as session:
        assert session.graph is v1.get_default_graph()
        equal(product.eval(), [[42.0]])


def test_graph_grows_between_runs(graph, session_class, make_variable):
    """testExtendWithStatelessOperations, testExtendWithStatefulOperations, testExtendWithGroupBy."""
    a = tf.ones([1, 2])
    product = tf.matmul(a, tf.fill([2, 3], 2.0))
    with session_class() as session:
        equal(session.run(product), [[4.0, 4.0, 4.0]])
        grown = tf.matmul(product, tf.constant([[1.0], [2.0], [3.0]]))
        equal(session.run(grown), [[24.0]])
        variable = make_variable(product)
        variable.initializer.run()
        equal(variable.eval(), [[4.0, 4.0, 4.0]])
        six = tf.matmul(a, tf.fill([2, 3], 3.0))
        assign = v1.assign(variable, six)
        equal(six.eval(), [[6.0, 6.0, 6.0]]), equal(variable.eval(), [[4.0, 4.0, 4.0]])
        session.run(assign)
        equal(variable.eval(), [[6.0, 6.0, 6.0]])
        p, q = make_variable(a), make_variable(tf.fill([1, 2], 2.0))
        session.run(tf.group(p.initializer, q.initializer))
        equal(session.run([p, q]), [[[1.0, 1.0]], [[2.0, 2.0]]])


def test_eval_and_run_methods_with_feeds(graph, session_class, make_variable):
    """testTensorGetMethod, testOperationRunMethod: ``eval``/``run`` with a feed replacing a constant."""
    a, b = tf.ones([1, 2]), tf.fill([1, 2], 2.0, name="b")
    with session_class():
        equal(tf.matmul(a, tf.fill([2, 3], 2.0)).eval(feed_dict={a.name: [[4.0, 4.0]]}), [[16.0, 16.0, 16.0]])
        variable = make_variable(a)
        v1.assign(variable, a).eval()
        equal(variable.eval(), [[1.0, 1.0]])
        assign_b = v1.assign(variable, b)
        assign_b.eval()
        equal(variable.eval(), [[2.0, 2.0]])
        if isinstance(assign_b, tf.Tensor):  # a reference variable's assign; a resource one's is no tensor
            assign_b.eval(feed_dict={"b:0": [[3.0, 3.0]]})
            equal(variable.eval(), [[3.0, 3.0]])
        assign_b.op.run(feed_dict={b: [[5.0, 5.0]]})
        equal(variable.eval(), [[5.0, 5.0]])


def _thread_errors(targets) -> list[BaseException]:
    errors: list[BaseException] = []

    def checked(target):
        def run():
            try:
                target()
            except BaseException as error:  # noqa: BLE001 - reported by the test thread
                errors.append(error)
        return run

    threads = [threading.Thread(target=checked(target)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_sessions_in_threads_each_with_its_graph(session_class, make_variable):
    """testDefaultGraphWithThreads: threads build and run their own graphs at the same time."""
    built = [threading.Event() for _ in range(4)]
    go = threading.Event()

    def work(index):
        with tf.Graph().as_default(), session_class() as session:
            assert session.graph is v1.get_default_graph()
            product = tf.matmul(tf.ones([1, 2]), tf.fill([2, 3], 2.0))
            variable = make_variable(product, name=f"var_{index}")
            built[index].set()
            go.wait()
            variable.initializer.run()
            v1.assign(variable, product).eval()
            equal(variable.eval(), [[4.0, 4.0, 4.0]])
            session.run(v1.assign(variable, product * 1.5))
            equal(variable.eval(), [[6.0, 6.0, 6.0]])

    def release():
        for event in built:
            event.wait()
        go.set()

    assert _thread_errors([lambda i=i: work(i) for i in range(4)] + [release]) == []


def test_parallel_runs_of_one_session(graph, session_class):
    """testParallelRun: many threads run the same session at once."""
    five = tf.constant(5.0)
    start = threading.Event()
    with session_class() as session:

        def run():
            start.wait()
            for _ in range(5):
                assert five.eval(session=session) == 5.0

        starter = threading.Timer(0.05, start.set)
        starter.start()
        assert _thread_errors([run] * 20) == []


def _grow(graph: tf.Graph) -> None:
    # Control flow, gradients, colocation and imports: the graph-building paths that race with runs.
    definition = None
    for _ in range(3):
        x = v1.placeholder(tf.float32)
        with v1.colocate_with(x):
            y = v1.placeholder(tf.float32)
        with tf.device("/cpu:0"):
            tf.while_loop(lambda x, y: x < 10, lambda x, y: (x + 1, x * y), [x, y])
        v1.gradients(x * y, [x, y])
        if definition is None:
            definition = graph.as_graph_def()
        else:
            v1.import_graph_def(definition, name="import")


@pytest.mark.parametrize("builders", [1, 2], ids=["single build", "parallel builds"])
def test_runs_while_the_graph_grows(graph, session_class, builders):
    """testParallelRunAndSingleBuild, testParallelRunAndParallelBuild."""
    five = tf.constant(5.0)
    stop = threading.Event()
    with session_class() as session:

        def run_loop():
            while not stop.is_set():
                assert session.run(five) == 5.0
                time.sleep(0.001)

        def build():
            with graph.as_default():
                _grow(graph)

        runners = [threading.Thread(target=run_loop) for _ in range(4)]
        errors: list[BaseException] = []
        for runner in runners:
            runner.start()
        try:
            errors = _thread_errors([build] * builders)
        finally:
            stop.set()
            for runner in runners:
                runner.join()
        assert errors == []
        assert session.run(five) == 5.0


def test_graph_def_grows_with_the_graph(graph, session_class):
    """testGraphDef."""
    with session_class() as session:
        assert len(session.graph_def.node) == 0 and session.graph_def.versions.producer > 0
        c = tf.constant(5.0, name="c")
        assert len(session.graph_def.node) == 1
        d = tf.constant(6.0, name="d")
        assert len(session.graph_def.node) == 2
        assert session.run([c, d]) == [5.0, 6.0]


def test_use_after_close(graph, session_class):
    """testUseAfterClose, testUseAfterCloseConcurrent."""
    five = tf.constant(5.0)
    with session_class() as session:
        assert session.run(five) == 5.0
    with pytest.raises(RuntimeError, match="Attempted to use a closed Session."):
        session.run(five)
    session = session_class()
    assert session.run(five) == 5.0
    seen = []

    def loop():
        with pytest.raises(RuntimeError, match="Attempted to use a closed Session.") as caught:
            while True:
                try:
                    session.run(five)
                except tf.errors.CancelledError:
                    pass  # the run close() interrupted; the next one must see the session closed
        seen.append(caught.value)

    thread = threading.Thread(target=loop)
    thread.start()
    time.sleep(0.1)
    session.close()
    thread.join()
    assert len(seen) == 1


@pytest.mark.parametrize("fetches", [[], (), {}])
def test_empty_graph(graph, session_class, fetches):
    """testUseEmptyGraph."""
    with session_class() as session, pytest.raises(RuntimeError, match="The Session graph is empty."):
        session.run(fetches)


def test_session_not_entered_is_not_default(session_class):
    """testNotEntered (in a thread of its own: the default-session stack is per thread)."""

    def body():
        assert v1.get_default_session() is None
        session = session_class(graph=tf.Graph())
        with session.graph.as_default():
            five = tf.constant(5.0)
            assert session.run(five) == 5.0
            with pytest.raises(ValueError, match="No default session is registered."):
                five.eval()
        session.close()

    assert _thread_errors([body]) == []


def test_interactive_session(graph, interactive_class):
    """testInteractive, testInteractivePlacePrunedGraph: only what runs is placed."""
    session = interactive_class(config=v1.ConfigProto(allow_soft_placement=False))
    try:
        with tf.device("/device:GPU:0"):
            nowhere = tf.constant(1.0, shape=[1, 2])
        product = tf.matmul(tf.ones([1, 2]), tf.fill([2, 3], 2.0))
        equal(product.eval(), [[4.0, 4.0, 4.0]])
        equal(tf.matmul(product, tf.constant([[1.0], [2.0], [3.0]])).eval(), [[24.0]])
        with pytest.raises(tf.errors.InvalidArgumentError):
            nowhere.eval()
    finally:
        session.close()


def test_session_places_the_whole_graph(graph, session_class):
    """testDefaultSessionPlacePrunedGraph: a plain session places every op, even one not run."""
    with tf.device("/device:GPU:0"):
        tf.constant(1.0, shape=[1, 2])
    elsewhere = tf.constant(1.0, shape=[1, 2])
    with session_class(config=v1.ConfigProto(allow_soft_placement=False)) as session:
        with pytest.raises(tf.errors.InvalidArgumentError):
            session.run(elsewhere)


def test_second_interactive_session_is_reported(graph, interactive_class, caplog):
    """testMultipleInteractiveSessionsWarning/Error: only two open at once are reported."""
    v1.InteractiveSession._active_session_count = 0
    first = interactive_class()
    first.run(tf.constant(4.0))
    first.close()
    with caplog.at_level("ERROR", logger="tensorflow"):
        interactive_class().close()
        first = interactive_class()
        assert not [record for record in caplog.records if record.levelname == "ERROR"]
        second = interactive_class()
    reports = [record.getMessage() for record in caplog.records if record.levelname == "ERROR"]
    second.close()
    first.close()
    assert len(reports) == 1 and "An interactive session is already active." in reports[0]


def test_two_sessions_share_a_graph(session_class):
    """testSharedGraph."""
    with tf.Graph().as_default() as graph:
        product = tf.matmul(tf.ones([1, 2]), tf.fill([2, 3], 2.0))
    with session_class(graph=graph) as first, session_class(graph=graph) as second:
        equal(first.run(product), second.run(product))


def test_invalid_target(graph, session_class):
    """testInvalidTargetFails."""
    with pytest.raises(tf.errors.NotFoundError, match="No session factory registered for the given session options"):
        session_class("INVALID_TARGET")


def test_default_session_nesting(session_class, interactive_class):
    """testNonInteractiveSessionNesting, testInteractiveSessionNesting, testAsDefault, testReentry.

    In a thread of its own: the default-session stack is per thread, and the nesting violation
    leaves it to be reset, as TensorFlow's test resets it.
    """

    def body():
        with tf.Graph().as_default():
            first, second = session_class(), session_class()
            outer, inner = first.as_default(), second.as_default()
            outer.__enter__()
            inner.__enter__()
            with pytest.raises(AssertionError, match="Nesting violated"):
                outer.__exit__(None, None, None)
            inner.__exit__(None, None, None)
            sys.modules["tensorflow.python.framework.stack"]._default_session_stack.reset()
            first, second = interactive_class(), interactive_class()
            second.close()
            first.close()
            answer = tf.constant(37)
            with session_class().as_default():
                assert answer.eval() == 37
            session = session_class()
            with pytest.raises(RuntimeError, match="not re-entrant"):
                with session:
                    with session:
                        pass

    assert _thread_errors([body]) == []


@pytest.mark.parametrize(
    "kwargs, message",
    [({"target": 37}, "Argument `target` must be a string"),
     ({"config": 37}, "Argument `config` must be a tf.ConfigProto"),
     ({"graph": 37}, "Argument `graph` must be a tf.Graph")],
    ids=["target", "config", "graph"],
)
def test_invalid_arguments(graph, session_class, kwargs, message, raised_by):
    """testInvalidArgument."""
    error = raised_by(lambda: session_class(**kwargs))
    assert isinstance(error, TypeError) and re.search(message, str(error)), repr(error)


def test_open_and_close(graph, session_class, local_server):
    """testOpenAndCloseSession, testOpenAndCloseGrpcSession."""
    with session_class():
        pass
    with session_class(local_server.target):
        pass


def test_graphmode_installed_in_tensorflows_place(monkeypatch, local_server):
    """TensorFlow's tests reach the class through its module (``session.Session``): install graphmode's there.

    TensorFlow's own ``__init__``/``close`` call ``super()`` through those module names, and graphmode's
    internal sessions (the remote reachability probe, the uninitialized-variable report) must stay
    TensorFlow's: neither may loop back into graphmode.
    """
    for name, replacement in (("Session", gm.Session), ("InteractiveSession", gm.InteractiveSession)):
        monkeypatch.setattr(TF_SESSION_MODULE, name, replacement)
        monkeypatch.setattr(v1, name, replacement)
    with tf.Graph().as_default():
        weights = v1.Variable([1.0, 2.0], name="weights")
        dequeue = tf.queue.FIFOQueue(1, tf.float32).dequeue()
        with TF_SESSION_MODULE.Session() as session:
            assert isinstance(session, gm.Session)
            with pytest.raises(errors.UninitializedVariableError, match="'weights'"):
                session.run(weights)
            session.run(weights.initializer)
            equal(session.run(weights), [1.0, 2.0])
        interactive = v1.InteractiveSession()
        interactive.run(weights.initializer)
        equal(weights.eval(), [1.0, 2.0])
        interactive.close()
        config = v1.ConfigProto(operation_timeout_in_ms=500)
        with TF_SESSION_MODULE.Session(local_server.target, config=config) as session:
            with pytest.raises(tf.errors.DeadlineExceededError):
                session.run(dequeue)

