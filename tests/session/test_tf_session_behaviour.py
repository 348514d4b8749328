"""TensorFlow's own session tests, run side by side: ``tf.compat.v1.Session`` and ``graphmode.Session``.

Each test here checks one behaviour that TensorFlow's ``session_test.py`` checks
(named in the docstring), written afresh, and runs once per session class
(``[tf]`` and ``[graphmode]`` in the test id): a difference shows up as a
failure of the ``graphmode`` variant only. Tests that touch variables also run
with TF1's reference variables (``use_resource=False``) besides TF2's resource
variables, as TensorFlow's v1-only tests do.

Left out, because they test no session: ``_DeviceAttributes`` (a private record
class) and ``register_session_run_conversion_functions`` refusing a second
registration (a module function; checked once below, outside the two runs).
"""

from __future__ import annotations

import collections
import re
import sys
import threading
import time

import attr
import numpy as np
import pytest

import graphmode as gm
from graphmode import errors, tf, v1
from graphmode.session.callables import callable_options

equal = np.testing.assert_array_equal
# IndexedSlices fetch as this value type (not exported under tf.compat.v1).
IndexedSlicesValue = sys.modules[tf.IndexedSlices.__module__].IndexedSlicesValue
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


def test_constant_fed_by_name_and_not(graph, session_class):
    """testCreate: a constant fed by its name replaces its value for that run only."""
    ten = tf.constant(10.0, shape=[2, 3], name="W1")
    copy = tf.identity(ten)
    fed = np.arange(6, dtype=np.float32).reshape(2, 3)
    with session_class():
        equal(copy.eval({"W1:0": fed}), fed)
        equal(copy.eval(), np.full((2, 3), 10.0, np.float32))


def test_config_device_count_and_threads(graph, session_class):
    """testManyCPUs, testPerSessionThreads, testSessionInterOpThreadPool."""
    value = tf.constant(10.0)
    with session_class(config=v1.ConfigProto(device_count={"CPU": 2, "GPU": 0})) as session:
        kinds = [tf.DeviceSpec.from_string(device.name).device_type for device in session.list_devices()]
        assert kinds.count("CPU") == 2 and kinds.count("GPU") == 0
        assert session.run(value) == 10.0
    with session_class(config=v1.ConfigProto(use_per_session_threads=True)) as session:
        assert session.run(value) == 10.0
    config = v1.ConfigProto()
    config.session_inter_op_thread_pool.add()
    pool = config.session_inter_op_thread_pool.add()
    pool.num_threads, pool.global_name = 1, "graphmode_side_by_side"
    with session_class(config=config) as session:
        assert session.run([value]) == [10.0]
        assert session.run([value], options=v1.RunOptions(inter_op_thread_pool=1)) == [10.0]


def test_unknown_fetch_name_is_a_value_error(graph, session_class):
    """testErrorsReported."""
    tf.constant(10.0, name="W1")
    with session_class() as session, pytest.raises(ValueError):
        session.run("foo:0")


def test_op_error_names_the_op(graph, session_class):
    """testErrorPayload, testErrorBasedOn: the error carries the op (and its original op chain)."""
    origin = tf.zeros([2, 3])
    with graph._original_op(origin.op):
        middle = tf.identity(origin)
    with graph._original_op(middle.op):
        hole = v1.placeholder(tf.float32)
    with session_class(), pytest.raises(tf.errors.InvalidArgumentError) as caught:
        hole.eval()
    assert caught.value.op is hole.op
    assert caught.value.op._original_op is middle.op and middle.op._original_op is origin.op


def test_partial_run_with_unknown_handle(graph, session_class):
    """testErrorCodeWithNoNodeDef: a bogus partial-run handle fails with no op and no node_def."""
    a, b = v1.placeholder(tf.float32, []), v1.placeholder(tf.float32, [])
    with session_class() as session, pytest.raises(tf.errors.OpError) as caught:
        session.partial_run("foo", a + b, feed_dict={a: 1, b: 2})
    assert caught.value.op is None and caught.value.node_def is None
    assert caught.value.error_code == tf.errors.INVALID_ARGUMENT


@pytest.mark.parametrize("fetches", [None, [None], {"b": None}, "with a tensor"])
def test_none_fetch_is_a_type_error(graph, session_class, fetches):
    """testFetchNone."""
    one = tf.constant(1.0)
    fetches = {"a": one, "b": None} if fetches == "with a tensor" else fetches
    with session_class() as session, pytest.raises(TypeError):
        session.run(fetches)


def test_fetch_singletons_and_callables(graph, session_class):
    """testFetchSingleton, testFetchSingletonByName: a tensor gives its value, an op gives None."""
    answer = tf.constant(42.0)
    with session_class() as session:
        assert session.run(answer) == 42.0 and session.run(answer.name) == 42.0
        assert session.run(answer.op) is None
        assert session.make_callable(answer)() == 42.0
        assert session.make_callable(answer.op)() is None


def test_fetch_list_and_tuple_with_ops(graph, session_class, make_variable):
    """testFetchList, testFetchTuple, testFetchNamedTuple, testFetchDict, testFetchOrderedDict."""
    a, nothing, c = tf.constant(42.0), tf.no_op(), tf.constant(44.0)
    variable = make_variable([54.0])
    assign = v1.assign(variable, [63.0])
    abc = collections.namedtuple("ABC", ["a", "b", "c"])
    with session_class() as session:
        session.run(variable.initializer)
        for fetch in (lambda s, f: s.run(f), lambda s, f: s.make_callable(f)()):
            got = fetch(session, [a, nothing, c, a.name, assign.op])
            assert type(got) is list and got == [42.0, None, 44.0, 42.0, None]
            got = fetch(session, (a, nothing, c, a.name))
            assert type(got) is tuple and got == (42.0, None, 44.0, 42.0)
            got = fetch(session, abc(a, nothing, c))
            assert type(got) is abc and got == (42.0, None, 44.0)
        got = session.run({"a": a, "b": nothing, "c": c})
        assert type(got) is dict and got == {"a": 42.0, "b": None, "c": 44.0}
        got = session.run(collections.OrderedDict([(3, a), (2, nothing), (1, c)]))
        assert type(got) is collections.OrderedDict and list(got.items()) == [(3, 42.0), (2, None), (1, 44.0)]


def test_fetch_attrs_classes(graph, session_class):
    """testFetchAttrs, testFetchNestedAttrs: attrs classes are fetch structures, and feedable leaves."""

    @attr.s
    class Pair:
        first = attr.ib()
        second = attr.ib()

    small, grid = np.array([1.2, 3.4, 5.6]), np.array([[1, 2], [4, 3]])
    pair = Pair(tf.constant(small), tf.constant(grid))
    nested = Pair(Pair(tf.constant(10), tf.constant(grid)), {"A": [Pair(tf.constant(np.float32(1.5)), tf.no_op())]})
    with session_class() as session:
        got = session.run(pair)
        assert type(got) is Pair
        equal(got.first, small), equal(got.second, grid)
        got = session.run(pair, feed_dict={pair.first: [10, 20, 30]})
        equal(got.first, [10.0, 20.0, 30.0]), equal(got.second, grid)
        got = session.run(nested)
        assert type(got.first) is Pair and got.first.first == 10
        assert type(got.second["A"][0]) is Pair and got.second["A"][0].first == np.float32(1.5)
        assert got.second["A"][0].second is None


def test_fetch_empty_and_nested_structures(graph, session_class):
    """testFetchNestingEmptyOneLevel, testFetchNestingOneLevel (dicts of every kind keep their type)."""
    a, nothing, c = tf.constant(42.0), tf.no_op(), tf.constant(44.0)
    abc = collections.namedtuple("ABC", ["a", "b", "c"])
    names = {"a": a.name, "c": c, "b": nothing}
    with session_class() as session:
        got = session.run([[], (), {}])
        assert got == [[], (), {}] and [type(part) for part in got] == [list, tuple, dict]
        assert session.run([[], (), {}, a]) == [[], (), {}, 42.0]
        got = session.run(
            ([a, nothing, c], (a.name, nothing, c), abc(a, nothing, c), dict(names),
             collections.defaultdict(str, names), collections.OrderedDict(names))
        )
        assert type(got) is tuple
        assert [type(part) for part in got] == [list, tuple, abc, dict, collections.defaultdict, collections.OrderedDict]
        assert got[2] == (42.0, None, 44.0) and got[4].default_factory is str
        assert all(part == {"a": 42.0, "b": None, "c": 44.0} for part in got[3:])


def test_fetch_tensors_in_nested_lists_and_dicts(graph, session_class):
    """testFetchTensorObject, testDuplicatedInputs."""
    a, b = tf.ones([1, 2]), tf.fill([2, 3], 2.0)
    product = tf.matmul(a, b)
    with session_class() as session:
        equal(session.run([product])[0], [[4.0, 4.0, 4.0]])
        equal(product.eval(session=session), [[4.0, 4.0, 4.0]])
        got = session.run({"a": [a], "b": b, "z": [a, b]})
        equal(got["a"][0], got["z"][0]), equal(got["b"], got["z"][1])
        got = session.run([[[a, b], b], a, [a, b], a])
        equal(got[0][0][0], [[1.0, 1.0]]), equal(got[3], got[1]), equal(got[0][1], got[2][1])


@pytest.mark.parametrize("scalar", [np.int32, np.int64, np.float16, np.float32, np.float64])
def test_fetched_scalars_keep_numpy_types(graph, session_class, scalar):
    """testFetchScalar."""
    total = tf.constant(scalar(7), shape=[]) + tf.constant(scalar(8))
    with session_class() as session:
        for got in (session.run(total), session.run([total])[0], session.run({"x": total})["x"],
                    session.run([[[total]], total])[0][0][0]):
            assert type(got) is scalar and got == 15


def test_variable_fetched_as_its_value(graph, session_class, make_variable):
    """testFetchOperationObject."""
    variable = make_variable(tf.ones([1, 2]))
    with session_class() as session:
        session.run(variable.initializer)
        equal(session.run(variable), [[1.0, 1.0]])


SPARSE = (np.array([[3, 2, 0], [4, 5, 1]], np.int64), np.array([1.0, 2.0], np.float32), np.array([7, 9, 2], np.int64))


def _assert_sparse(got, indices=SPARSE[0], values=SPARSE[1], dense_shape=SPARSE[2]):
    equal(got[0], indices), equal(got[1], values), equal(got[2], dense_shape)


def test_fetch_sparse_tensor(graph, session_class):
    """testFetchSparseTensor: a SparseTensor fetches as a SparseTensorValue (also a tuple)."""
    sparse = tf.SparseTensor(*(tf.constant(part) for part in SPARSE))
    with session_class() as session:
        got = session.run(sparse)
        assert isinstance(got, v1.SparseTensorValue)
        _assert_sparse(got), _assert_sparse((got.indices, got.values, got.dense_shape))
        _assert_sparse(session.run([sparse])[0]), _assert_sparse(session.run({"sp": [sparse]})["sp"][0])
        nested = session.run([[[sparse]], sparse])
        _assert_sparse(nested[0][0][0]), _assert_sparse(nested[1])


@pytest.mark.parametrize("placeholder", ["three placeholders", "sparse_placeholder", "partial shape", "constant shape"])
def test_feed_sparse_tensor(graph, session_class, placeholder):
    """testFeedSparseTensor, testFeedSparsePlaceholder{,PartialShape,ConstantShape}."""
    if placeholder == "three placeholders":
        sparse = tf.SparseTensor(
            v1.placeholder(tf.int64, (2, 3)), v1.placeholder(tf.float32, (2,)), v1.placeholder(tf.int64, (3,))
        )
    else:
        shape = {"sparse_placeholder": None, "partial shape": [None, 9, 2], "constant shape": SPARSE[2]}[placeholder]
        sparse = v1.sparse_placeholder(tf.float32, shape=shape)
    parts = [tf.identity(sparse.indices), tf.identity(sparse.values), tf.identity(sparse.dense_shape)]
    again = tf.SparseTensor(*parts)
    fed = SPARSE[:2] if placeholder == "constant shape" else SPARSE
    with session_class() as session:
        _assert_sparse(session.run(parts, {sparse: fed}))
        if placeholder != "constant shape":
            _assert_sparse(session.run(parts, {sparse: v1.SparseTensorValue(*SPARSE)}))
            _assert_sparse(session.run(again, {sparse: v1.SparseTensorValue(*SPARSE)}))
            _assert_sparse(session.run(sparse, {sparse: fed}))


SLICES = (np.array([1.0, 2.0], np.float32), np.array([[3, 2, 0], [4, 5, 1]], np.int64), np.array([7, 9, 2], np.int64))


@pytest.mark.parametrize("with_dense_shape", [True, False], ids=["dense shape", "no dense shape"])
def test_fetch_indexed_slices(graph, session_class, with_dense_shape):
    """testFetchIndexedSlices{,WithoutDenseShape}."""
    dense_shape = tf.constant(SLICES[2]) if with_dense_shape else None
    slices = tf.IndexedSlices(tf.constant(SLICES[0]), tf.constant(SLICES[1]), dense_shape)
    with session_class() as session:
        for got in (session.run(slices), session.run([slices])[0]):
            assert isinstance(got, IndexedSlicesValue)
            equal(got.values, SLICES[0]), equal(got.indices, SLICES[1])
            if with_dense_shape:
                equal(got.dense_shape, SLICES[2])
            else:
                assert got.dense_shape is None


@pytest.mark.parametrize("with_dense_shape", [True, False], ids=["dense shape", "no dense shape"])
def test_feed_indexed_slices(graph, session_class, with_dense_shape):
    """testFeedIndexedSlices{,WithoutDenseShape}: an IndexedSlices is a feed key for a tuple or an IndexedSlicesValue."""
    dense_shape = v1.placeholder(tf.int64, (3,)) if with_dense_shape else None
    slices = tf.IndexedSlices(v1.placeholder(tf.float32, (2,)), v1.placeholder(tf.int64, (2, 3)), dense_shape)
    parts = [tf.identity(slices.values), tf.identity(slices.indices)]
    if with_dense_shape:
        parts.append(tf.identity(slices.dense_shape))
    again = tf.IndexedSlices(*parts)
    fed = SLICES if with_dense_shape else SLICES[:2]
    value = IndexedSlicesValue(*SLICES) if with_dense_shape else IndexedSlicesValue(*SLICES[:2], None)
    with session_class() as session:
        for got in (session.run(parts, {slices: fed}), session.run(parts, {slices: value})):
            for part, expected in zip(got, fed):
                equal(part, expected)
        got = session.run(again, {slices: value})
        equal(got.values, SLICES[0]), equal(got.indices, SLICES[1])
        assert (got.dense_shape is None) is not with_dense_shape


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


def test_feed_dict_keys(graph, session_class):
    """testRunFeedDict: tensors, names, lists as values, and nested tuples of tensors as keys."""
    zeros = tf.zeros([2])
    nested = (((tf.zeros([2]),),), tf.zeros([2]), (tf.zeros([2]),))
    doubled = [nested[0][0][0] * 2, nested[1] * 2, nested[2][0] * 2]
    with session_class() as session:
        for key, value in ((zeros, np.ones(2, np.float32)), (zeros.name, np.ones(2, np.float32)), (zeros, [1, 1])):
            equal(session.run(2 * zeros, {key: value}), [2.0, 2.0])
        got = session.run(doubled, {nested: (((np.array([1, 1]),),), np.array([2, 2]), (np.array([3, 3]),))})
        equal(got, [[2.0, 2.0], [4.0, 4.0], [6.0, 6.0]])


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


FEED_DTYPES = [tf.float16, tf.float32, tf.float64, tf.int32, tf.uint8, tf.int16, tf.int8, tf.int64, tf.bool,
               tf.complex64, tf.complex128]


def test_feed_and_fetch_every_dtype_and_shape(graph, session_class):
    """testFeedAndFetch: a fed array comes back exactly, fetched as itself or through identity."""
    random = np.random.default_rng(0)
    with session_class() as session:
        for dtype in FEED_DTYPES:
            for shape in [(32, 4, 128), (37,), (2, 0, 6), (0, 0, 0)]:
                fed = random.integers(-10, 10, shape)
                if dtype == tf.bool:
                    fed = fed > 0
                elif dtype.is_complex:
                    fed = np.sqrt(fed.astype(dtype.as_numpy_dtype))
                else:
                    fed = fed.astype(dtype.as_numpy_dtype)
                placeholder = v1.placeholder(dtype, shape)
                echo = tf.identity(placeholder)
                equal(session.run(echo, {placeholder: fed}), fed)
                equal(session.run(placeholder, {placeholder: fed}), fed)
                for got in (session.run([echo, placeholder], {placeholder: fed}),
                            session.make_callable([echo, placeholder], [placeholder])(fed)):
                    equal(got[0], fed), equal(got[1], fed)


def _traced() -> tuple[v1.RunOptions, v1.RunMetadata]:
    return v1.RunOptions(trace_level=v1.RunOptions.FULL_TRACE), v1.RunMetadata()


def test_make_callable_with_run_options(graph, session_class, make_variable):
    """testMakeCallableOnTensorWithRunOptions, ...OnOperation..., ...WithFeedListAndRunOptions."""
    answer = tf.constant(42.0)
    counter = make_variable(42.0)
    increment = v1.assign_add(counter, 1.0)
    placeholder = v1.placeholder(tf.float32)
    with session_class() as session:
        session.run(counter.initializer)
        options, metadata = _traced()
        assert session.make_callable(answer, accept_options=True)(options=options, run_metadata=metadata) == 42.0
        assert len(metadata.step_stats.dev_stats) > 0
        options, metadata = _traced()
        session.make_callable(increment.op, accept_options=True)(options=options, run_metadata=metadata)
        assert session.run(counter) == 43.0 and len(metadata.step_stats.dev_stats) > 0
        options, metadata = _traced()
        runner = session.make_callable(placeholder + 1.0, feed_list=[placeholder.name], accept_options=True)
        assert runner(41.0, options=options, run_metadata=metadata) == 42.0
        assert len(metadata.step_stats.dev_stats) > 0


def test_callable_from_options(graph, session_class):
    """testOptimizedMakeCallable, testOptimizedMakeCallableWithRunMetadata."""
    placeholder = v1.placeholder(tf.float32)
    plus_one = placeholder + 1.0
    with session_class() as session:
        options = callable_options()
        options.feed.append(placeholder.name)
        options.fetch.append(plus_one.name)
        for _ in range(3):
            call = session._make_callable_from_options(options)
            for _ in range(3):
                assert call(np.array(1.0, np.float32)) == [2.0]
        options.run_options.trace_level = v1.RunOptions.FULL_TRACE
        metadata = v1.RunMetadata()
        assert session._make_callable_from_options(options)(np.array(1.0, np.float32), run_metadata=metadata) == [2.0]
        assert len(metadata.step_stats.dev_stats) > 0


def test_strings_fetched_and_fed(graph, session_class):
    """testStringFetch, testStringFeed, testStringFeedWithNullCharacters, testStringFeedWithUnicode."""
    with session_class() as session:
        for shape in [(32, 4, 128), (37,), (2, 0, 6), (0, 0, 0)]:
            strings = np.array([str(i).encode() for i in range(int(np.prod(shape)))], dtype=object).reshape(shape)
            equal(session.run(tf.constant(strings) if strings.size else tf.constant([], tf.string)),
                  strings if strings.size else [])
            placeholder = v1.placeholder(tf.string, shape)
            echo = tf.identity(placeholder)
            equal(session.run(echo, {placeholder: strings}), strings)
            for got in session.run([echo, placeholder], {placeholder: strings}):
                equal(got, strings)
        nuls = [b"\n\x01\x00", b"\n\x00\x01"]
        unicode = ["\n\x01\x00", "\n\x00\x01", "\u26a3 unicode", "\U0001f60e deal with it"]
        placeholder = v1.placeholder(tf.string, [None])
        echo = tf.identity(placeholder)
        assert list(echo.eval({placeholder: nuls}, session=session)) == nuls
        for fed in (unicode, np.array(unicode, dtype=object)):
            assert [item.decode() for item in echo.eval({placeholder: fed}, session=session)] == unicode


def test_invalid_target(graph, session_class):
    """testInvalidTargetFails."""
    with pytest.raises(tf.errors.NotFoundError, match="No session factory registered for the given session options"):
        session_class("INVALID_TARGET")


def test_fetch_by_name_of_any_string_type(graph, session_class):
    """testFetchByNameDifferentStringTypes."""
    tf.constant(42.0, name="c"), tf.constant(43.0, name=b"e")
    with session_class() as session:
        for name in ("c:0", b"c:0", r"c:0"):
            assert session.run(name) == 42.0
        for name in ("e:0", b"e:0"):
            assert session.run(name) == 43.0


def test_fetch_from_another_graph(session_class):
    """testIncorrectGraph."""
    with tf.Graph().as_default() as first:
        c_1 = tf.constant(1.0, name="c")
    with tf.Graph().as_default() as second:
        c_2 = tf.constant(2.0, name="c")
    with session_class(graph=first) as session:
        assert session.run(c_1) == 1.0
        for fetch in (c_2, c_2.op):
            with pytest.raises(ValueError):
                session.run(fetch)
    with session_class(graph=second) as session:
        for fetch in (c_1, c_1.op):
            with pytest.raises(ValueError):
                session.run(fetch)


def test_trace_only_when_asked(graph, session_class):
    """testPerStepTrace, testRunOptionsRunMetadata: step stats need both options and metadata."""
    with tf.device("/cpu:0"), session_class() as session:
        one = tf.constant(1.0)
        options, metadata = _traced()
        session.run(one, options=None, run_metadata=None)
        session.run(one, run_metadata=metadata)
        assert not metadata.HasField("step_stats")
        session.run(one, options=options, run_metadata=None)
        assert not metadata.HasField("step_stats")
        session.run(one, options=options, run_metadata=metadata)
        assert metadata.HasField("step_stats") and len(metadata.step_stats.dev_stats) == 1


def test_feed_shape_compatibility(graph, session_class):
    """testFeedShapeCompatibility: the feed's shape is checked first, the op's own check at run time."""
    four = tf.constant([2.0, 2.0, 2.0, 2.0])
    new_shape = tf.constant([2, 2])
    reshaped = tf.reshape(four, new_shape)
    with session_class() as session:
        with pytest.raises(ValueError, match="Cannot feed value of shape"):
            session.run(reshaped, {four: [1.0, 2.0, 3.0]})
        with pytest.raises(tf.errors.InvalidArgumentError,
                           match="Input to reshape is a tensor with 4 values, but the requested shape has 21"):
            session.run(reshaped, {new_shape: [3, 7]})


@pytest.mark.parametrize("infer_shapes", [False, True])
def test_graph_def_output_shapes(session_class, infer_shapes):
    """testInferShapesFalse, testInferShapesTrue."""
    with tf.Graph().as_default():
        tf.constant([[1, 2]])
        config = v1.ConfigProto(graph_options=v1.GraphOptions(infer_shapes=infer_shapes))
        session = session_class(config=config)
        assert ("_output_shapes" in session.graph_def.node[0].attr) is infer_shapes
        session.close()


def test_cost_model_on_its_step(graph, session_class):
    """testBuildCostModel: the cost graph comes with the step the config names, and no other."""
    config = v1.ConfigProto(allow_soft_placement=True, graph_options=v1.GraphOptions(build_cost_model=20))
    with session_class(config=config) as session:
        with tf.device("/device:GPU:0"):
            a = v1.placeholder(tf.float32, [])
            d = tf.identity(a + a) * 2.0
        with_cost = []
        for step in range(25):
            metadata = v1.RunMetadata()
            session.run(d, {a: 1.0}, options=v1.RunOptions(), run_metadata=metadata)
            if metadata.HasField("cost_graph"):
                with_cost.append(step)
        assert with_cost == [19]


@pytest.mark.parametrize("placement_logged", [False, True], ids=["quiet", "log_device_placement"])
@pytest.mark.parametrize("where", ["direct", "distributed"])
def test_partition_graphs_only_when_asked(graph, session_class, local_server, where, placement_logged):
    """testOutputPartitionGraphsDirect/Distributed, also with placement logged (which graphmode records)."""
    target = local_server.target if where == "distributed" else ""
    config = v1.ConfigProto(log_device_placement=placement_logged)
    with session_class(target, config=config) as session:
        one = tf.constant(1)
        metadata = v1.RunMetadata()
        session.run(one, options=v1.RunOptions(output_partition_graphs=True), run_metadata=metadata)
        assert len(metadata.partition_graphs) > 0
        session.run(one, run_metadata=metadata)
        assert len(metadata.partition_graphs) == 0
        options = v1.RunOptions(trace_level=v1.RunOptions.FULL_TRACE)
        session.run(one, options=options, run_metadata=metadata)
        assert len(metadata.partition_graphs) == 0 and metadata.HasField("step_stats")
        assert options == v1.RunOptions(trace_level=v1.RunOptions.FULL_TRACE)


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


def test_timeout_longer_than_the_run(graph, session_class):
    """testTimeoutWithShortOperations."""
    queue = tf.queue.FIFOQueue(capacity=50, dtypes=[tf.int32], shapes=[()])
    enqueue = queue.enqueue_many(tf.constant([1, 2]))
    with session_class(config=v1.ConfigProto(operation_timeout_in_ms=10000)) as session:
        for _ in range(5):
            session.run(enqueue)
        assert session.run(queue.size()) == 10


class Squared:
    """A user type fed and fetched through ``register_session_run_conversion_functions``."""

    def __init__(self, value):
        self.square = tf.square(value)


TF_SESSION_MODULE.register_session_run_conversion_functions(
    Squared,
    lambda squared: ([squared.square], lambda values: values[0]),
    lambda squared, value: [(squared.square, value)],
    lambda squared: [squared.square],
)


def test_conversion_functions_registered_once():
    """testRegisterFetchAndFeedConversionFunctions, its module part: a type registers once."""
    with pytest.raises(ValueError, match="has already been registered"):
        TF_SESSION_MODULE.register_session_run_conversion_functions(Squared, lambda squared: ([], None))


def test_registered_conversion_functions(graph, session_class):
    """testRegisterFetchAndFeedConversionFunctions: registered types fetch, feed and partial-run."""
    small, large = np.array([1.0, 1.5, 2.0, 2.5]), np.array([3.0, 3.5, 4.0, 4.5])
    squared = Squared(large)
    with session_class() as session:
        np.testing.assert_allclose(session.run(squared), large * large)
        np.testing.assert_allclose(session.run(squared, {squared: small * small}), small * small)
        handle = session.partial_run_setup([squared], [])
        np.testing.assert_allclose(session.partial_run(handle, squared), large * large)
        doubled = squared.square * 2
        handle = session.partial_run_setup([doubled], [squared])
        np.testing.assert_allclose(session.partial_run(handle, doubled, {squared: small}), 2 * small)


def test_placement_logged_through_a_server(session_class, capfd):
    """testDefaultLogDevicePlacement: a server's log_device_placement logs the session's ops."""
    server = tf.distribute.Server.create_local_server(config=v1.ConfigProto(log_device_placement=True))
    with tf.Graph().as_default():
        c = tf.constant(1) + tf.constant(2)
        d = tf.constant(1) + tf.constant(2)
        with session_class(server.target) as session:
            capfd.readouterr()
            assert session.run([c, d]) == [3, 3]
    logged = [line for line in capfd.readouterr().err.splitlines() if "AddV2" in line]
    assert len(logged) == 2, logged


def test_session_timeout_on_a_local_master(graph, session_class, local_server):
    """testLocalMasterSessionTimeout: the session's own timeout ends a blocked run on a grpc target."""
    dequeue = tf.queue.FIFOQueue(1, tf.float32).dequeue()
    with session_class(local_server.target, config=v1.ConfigProto(operation_timeout_in_ms=1000)) as session:
        with pytest.raises(tf.errors.DeadlineExceededError):
            session.run(dequeue)


def test_server_default_timeout(session_class):
    """testDefaultServerTimeout: without a session timeout, the server's config timeout applies."""
    server = tf.distribute.Server.create_local_server(config=v1.ConfigProto(operation_timeout_in_ms=1000))
    with tf.Graph().as_default():
        dequeue = tf.queue.FIFOQueue(1, tf.float32).dequeue()
        with session_class(server.target) as session, pytest.raises(tf.errors.DeadlineExceededError):
            session.run(dequeue)


@pytest.mark.parametrize("where", ["direct", "distributed"])
def test_graph_building_error_is_raised(graph, session_class, local_server, where):
    """testBuildGraphErrorDirect/Dist: an invalid graph fails at run time with the runtime's message."""
    data = v1.placeholder(tf.float32, [])
    total = tf.raw_ops.Enter(data=data, frame_name="foo_1") + tf.raw_ops.Enter(data=data, frame_name="foo_2")
    with session_class(local_server.target if where == "distributed" else "") as session:
        with pytest.raises(tf.errors.OpError, match="has inputs from different frames"):
            session.run(total, {data: 1.0})


@pytest.mark.parametrize("where", ["direct", "distributed"])
def test_function_added_after_a_run(graph, session_class, local_server, where):
    """testAddFunctionToSession, testAddFunctionToGrpcSession."""

    @tf.function
    def plus_one(x):
        return x + 1

    one = tf.constant(1.0)
    with session_class(local_server.target if where == "distributed" else "") as session:
        assert session.run(one) == 1.0
        assert session.run(plus_one(one)) == 2.0


def test_open_and_close(graph, session_class, local_server):
    """testOpenAndCloseSession, testOpenAndCloseGrpcSession."""
    with session_class():
        pass
    with session_class(local_server.target):
        pass


def test_int_into_a_string_placeholder(graph, session_class):
    """testAutoConvertAndCheckData."""
    text = v1.placeholder(tf.string)
    with session_class() as session, pytest.raises(TypeError, match=r"Type of feed value 1 with type <(\w+) 'int'> is not"):
        session.run(text, {text: 1})


def test_optimizer_options_reach_the_session(session_class):
    """testOptimizerOptions: a session made without config starts from tf.config's."""
    before = tf.config.optimizer.get_experimental_options()
    tf.config.optimizer.set_experimental_options({"min_graph_nodes": -1})
    try:
        with tf.Graph().as_default():
            session = session_class()
            assert session._config.graph_options.rewrite_options.min_graph_nodes == -1
            session.close()
    finally:
        tf.config.optimizer.set_experimental_options({"min_graph_nodes": before.get("min_graph_nodes", 0)})


def test_feed_errors(graph, session_class):
    """testFeedError, testFeedPrecisionLossError, testFeedDictKeyException: TensorFlow's words."""
    placeholder = v1.placeholder(tf.float32)
    echo = tf.identity(placeholder)
    five = tf.constant(5.0)
    implicit, explicit = tf.constant(1), tf.constant(1, dtype=tf.int32)
    tf.constant(1.0, name="a")
    with session_class() as session:
        for call in (lambda: session.run(echo, {placeholder: five}), lambda: echo.eval({placeholder: five}),
                     lambda: echo.op.run({placeholder: five})):
            with pytest.raises(TypeError, match="cannot be a tf.Tensor object"):
                call()
        for key in (implicit, explicit):
            with pytest.raises(TypeError, match="is not compatible with Tensor type"):
                session.run(five, {key: np.iinfo(np.int64).max})
        with pytest.raises(TypeError, match="Cannot interpret feed_dict"):
            session.run(five, {"a": [2.0]})


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
