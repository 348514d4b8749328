"""TensorFlow's own session tests, run side by side: fetches and feeds.

Each test here checks one behaviour that TensorFlow's ``session_test.py`` checks
(named in the docstring), written afresh, and runs once per session class,
``tf.compat.v1.Session`` and ``graphmode.Session`` (``[tf]`` and ``[graphmode]``
in the test id): a difference shows up as a failure of the ``graphmode`` variant
only. Tests that touch variables also run with TF1's reference variables
(``use_resource=False``) besides TF2's resource variables, as TensorFlow's
v1-only tests do.

The rest of ``session_test.py`` is in ``test_tf_session_lifecycle.py`` (sessions,
graphs, threads, the default session) and ``test_tf_session_options.py``
(configs, run options and metadata, servers, timeouts).

Left out, because they test no session: ``_DeviceAttributes`` (a private record
class) and ``register_session_run_conversion_functions`` refusing a second
registration (a module function; checked once below, outside the two runs).
"""

from __future__ import annotations

import collections
import sys

import attr
import numpy as np
import pytest

from graphmode import tf, v1

equal = np.testing.assert_array_equal
# IndexedSlices fetch as this value type (not exported under tf.compat.v1).
IndexedSlicesValue = sys.modules[tf.IndexedSlices.__module__].IndexedSlicesValue
# TensorFlow's session module: its conversion registry and default-session stack live there.
TF_SESSION_MODULE = sys.modules[v1.Session.__module__]


# TensorFlow's session module: its conversion registry and default-session stack live there.
TF_SESSION_MODULE = sys.modules[v1.Session.__module__]


def test_constant_fed_by_name_and_not(graph, session_class):
    """testCreate: a constant fed by its name replaces its value for that run only."""
    ten = tf.constant(10.0, shape=[2, 3], name="W1")
    copy = tf.identity(ten)
    fed = np.arange(6, dtype=np.float32).reshape(2, 3)
    with session_class():
        equal(copy.eval({"W1:0": fed}), fed)
        equal(copy.eval(), np.full((2, 3), 10.0, np.float32))


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


def test_int_into_a_string_placeholder(graph, session_class):
    """testAutoConvertAndCheckData."""
    text = v1.placeholder(tf.string)
    with session_class() as session, pytest.raises(TypeError, match=r"Type of feed value 1 with type <(\w+) 'int'> is not"):
        session.run(text, {text: 1})


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

