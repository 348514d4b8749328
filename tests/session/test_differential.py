"""graphmode.Session against tf.compat.v1.Session, in one process, on the same graph and inputs.

Every case runs one feed through both sessions by one entry point and compares:
the values bit for bit (dtype, shape, bytes, Python type), or, when TensorFlow
raises, that graphmode's exception is an instance of TensorFlow's class.

graphmode deliberately differs in two ways, each listed below and in the
README's table "Where graphmode differs from tf.compat.v1.Session":

* ``REFUSED``: TensorFlow silently changes the fed data (wraps an integer,
  truncates a fraction, turns 2 into True, parses a string as a number);
  graphmode raises :class:`graphmode.errors.FeedError` instead. For each such case the
  test also checks that TensorFlow's result really differs from what was fed.
* ``CLASS_DIFFERS``: both refuse, but TensorFlow's error comes late and from the
  runtime (``InternalError: Unsupported object type int`` for a number fed to a
  string placeholder); graphmode raises :class:`graphmode.errors.FeedTypeError` first.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import graphmode as gm
from graphmode import tf, v1

DTYPES = ("float32", "float64", "int8", "int32", "int64", "uint8", "bool", "string")

# name -> a value fed to a rank-1 placeholder (a function, so each case gets a fresh object).
VALUES = {
    "py small ints": lambda: [1, 2, 3],
    "py 0/1": lambda: [0, 1],
    "py negative ints": lambda: [-1, 5],
    "py 3e9": lambda: [3_000_000_000],
    "py 2**64": lambda: [2**64],
    "np int64": lambda: np.array([7, -8]),
    "np int64 2**40+5": lambda: np.array([2**40 + 5]),
    "np uint64 2**63+1": lambda: np.array([2**63 + 1], np.uint64),
    "np float64 whole": lambda: np.array([1.0, 2.0]),
    "np float64 fraction": lambda: np.array([1.7, 2.0]),
    "np float32": lambda: np.array([0.1, 2.5], np.float32),
    "np bool": lambda: np.array([True, False]),
    "py floats": lambda: [0.5, 1.25],
    "bytes with NUL": lambda: [b"ab\x00", b"\x00"],
    "unicode": lambda: ["h\u00e9llo", "x"],
    "np bytes": lambda: np.array([b"ab", b"c"]),
    "numeric strings": lambda: ["1.5"],
    "ragged": lambda: [[1], [2, 3]],
    "with None": lambda: [1, None],
    "rank 2": lambda: [[1, 2]],
    "tf.Tensor": lambda: "TENSOR",  # replaced by a constant of the graph
}

_INTS = {"int8", "int32", "int64", "uint8"}
_NUMBERS = {"float32", "float64"} | _INTS
# (value, dtype) pairs TensorFlow accepts but changes, which graphmode refuses (FeedError).
REFUSED = {
    **{("py small ints", "bool"): "3 becomes True"},
    **{("py negative ints", dtype): "-1 wraps / becomes True" for dtype in ("uint8", "bool")},
    **{("py 3e9", dtype): "wraps" for dtype in ("int8", "int32", "uint8", "bool")},
    **{("py 2**64", "bool"): "becomes True"},
    **{("np int64", dtype): "-8 wraps / becomes True" for dtype in ("uint8", "bool")},
    **{("np int64 2**40+5", dtype): "wraps" for dtype in ("int8", "int32", "uint8", "bool")},
    **{("np uint64 2**63+1", dtype): "wraps" for dtype in ("int8", "int32", "int64", "uint8", "bool")},
    **{("np float64 whole", "bool"): "2.0 becomes True"},
    **{(kind, dtype): "truncates" for kind in ("np float64 fraction", "np float32", "py floats") for dtype in _INTS | {"bool"}},
    **{("numeric strings", dtype): "parses '1.5'" for dtype in ("float32", "float64")},
    **{(kind, "bool"): "a string becomes True" for kind in ("bytes with NUL", "unicode", "np bytes", "numeric strings")},
    **{("with None", dtype): "None becomes NaN / False" for dtype in ("float32", "float64", "bool")},
}
# (value, dtype) pairs both refuse, with graphmode's FeedTypeError before TensorFlow's runtime InternalError.
CLASS_DIFFERS = {
    (kind, "string")
    for kind in (
        "py small ints", "py 0/1", "py negative ints", "py 3e9", "py 2**64", "np int64", "np int64 2**40+5",
        "np uint64 2**63+1", "np float64 whole", "np float64 fraction", "np float32", "np bool", "py floats",
        "ragged", "with None",
    )
}

ENTRY_POINTS = ("run", "run by name, dict fetch", "partial_run, list fetch", "make_callable fed+fetched", "eval")


@pytest.fixture(scope="module")
def sessions():
    """One graph, a tf.compat.v1.Session and a graphmode.Session on it (module scope: the matrix is big)."""
    graph = gm.new_graph()
    with graph.as_default():
        placeholders = {
            dtype: v1.placeholder(tf.string if dtype == "string" else getattr(tf, dtype), [None], name=f"p_{dtype}")
            for dtype in DTYPES
        }
        outputs = {dtype: tf.identity(placeholder, name=f"out_{dtype}") for dtype, placeholder in placeholders.items()}
        constant = tf.constant([1.0], name="a_constant")
    reference, candidate = v1.Session(graph=graph), gm.Session(graph=graph)
    yield graph, placeholders, outputs, constant, reference, candidate
    reference.close()
    candidate.close()


def _outcome(action):
    try:
        return action(), None
    except Exception as error:  # noqa: BLE001 - the outcome *is* the exception
        return None, error


def _run_entry_point(entry, session, placeholder, output, value):
    if entry == "run":
        return session.run(output, {placeholder: value})
    if entry == "run by name, dict fetch":
        return session.run({"out": output}, {placeholder.name: value})
    if entry == "partial_run, list fetch":
        handle = session.partial_run_setup([output], [placeholder])
        return session.partial_run(handle, [output], {placeholder: value})
    if entry == "make_callable fed+fetched":
        return session.make_callable([output, placeholder], feed_list=[placeholder])(value)
    return output.eval({placeholder: value}, session=session)


def assert_identical(expected, got, where=""):
    assert type(got) is type(expected), f"{where}: type {type(got)} vs TensorFlow's {type(expected)}"
    if isinstance(expected, dict):
        assert expected.keys() == got.keys(), where
        for key in expected:
            assert_identical(expected[key], got[key], f"{where}[{key!r}]")
    elif isinstance(expected, (list, tuple)):
        assert len(expected) == len(got), where
        for index, (one, other) in enumerate(zip(expected, got)):
            assert_identical(one, other, f"{where}[{index}]")
    elif isinstance(expected, (np.ndarray, np.generic)):
        assert (got.dtype, got.shape) == (expected.dtype, expected.shape), f"{where}: {got.dtype}{got.shape}"
        if expected.dtype == object:
            assert [(type(item), item) for item in got.ravel()] == [(type(item), item) for item in expected.ravel()]
        else:
            assert got.tobytes() == expected.tobytes(), f"{where}: {got!r} vs TensorFlow's {expected!r}"
    else:
        assert got == expected, where


def _fed_values_changed(kind, reference_result) -> bool:
    fed = VALUES[kind]()
    produced = reference_result[0] if isinstance(reference_result, list) else reference_result
    produced = produced["out"] if isinstance(produced, dict) else produced
    return np.asarray(fed, dtype=object).ravel().tolist() != produced.ravel().tolist()


CASES = list(itertools.product(VALUES, DTYPES, ENTRY_POINTS))


@pytest.mark.parametrize("kind, dtype, entry", CASES, ids=[" | ".join(case) for case in CASES])
def test_same_values_and_exception_classes(sessions, kind, dtype, entry):
    graph, placeholders, outputs, constant, reference, candidate = sessions
    placeholder, output = placeholders[dtype], outputs[dtype]
    values = [VALUES[kind]() for _ in range(3)]
    values = [constant if isinstance(value, str) and value == "TENSOR" else value for value in values]
    expected, tf_error = _outcome(lambda: _run_entry_point(entry, reference, placeholder, output, values[0]))
    got, gm_error = _outcome(lambda: _run_entry_point(entry, candidate, placeholder, output, values[1]))
    case = f"{kind!r} into {dtype} via {entry}"
    if (kind, dtype) in REFUSED:
        assert tf_error is None and _fed_values_changed(kind, expected), f"{case}: TensorFlow no longer changes it"
        assert isinstance(gm_error, gm.errors.FeedError), f"{case}: graphmode gave {got!r} / {gm_error!r}"
        assert placeholder.name in str(gm_error), str(gm_error)
        return
    if tf_error is not None:
        assert gm_error is not None, f"{case}: TensorFlow raised {tf_error!r}, graphmode returned {got!r}"
        if (kind, dtype) in CLASS_DIFFERS:
            assert isinstance(gm_error, gm.errors.FeedTypeError) and placeholder.name in str(gm_error), repr(gm_error)
        else:
            assert isinstance(gm_error, type(tf_error)), f"{case}: {gm_error!r} is no {type(tf_error).__name__}"
        return
    assert gm_error is None, f"{case}: TensorFlow returned {expected!r}, graphmode raised {gm_error!r}"
    assert_identical(expected, got, case)
    # The same call again (Session.run builds its callable on a repeated signature).
    again, _ = _outcome(lambda: _run_entry_point(entry, candidate, placeholder, output, values[2]))
    assert_identical(expected, again, case + " (repeated)")


def test_the_matrix_is_big_enough_and_the_lists_are_real():
    assert len(CASES) >= 150
    assert set(REFUSED) <= set(itertools.product(VALUES, DTYPES))
    assert CLASS_DIFFERS <= set(itertools.product(VALUES, DTYPES))


def _error_cases(graph, placeholders, outputs):
    stranger_graph = gm.new_graph()
    with stranger_graph.as_default():
        stranger = v1.placeholder(tf.float32, [], name="stranger")
    with graph.as_default():
        unset = tf.Variable([1.0], name="never_initialized")
        doubled = unset * 2
    x, y = placeholders["float32"], outputs["float32"]
    return {
        "feed key is an int": lambda s: s.run(y, {3: [1.0]}),
        "feed key names nothing": lambda s: s.run(y, {"nowhere:0": [1.0]}),
        "feed key from another graph": lambda s: s.run(y, {stranger: 1.0, x: [1.0]}),
        "fetch from another graph": lambda s: s.run(stranger),
        "feed value is a tf.Tensor": lambda s: s.run(y, {x: outputs["float64"]}),
        "Python int too big for int8 (scalar)": lambda s: s.run(outputs["int8"], {placeholders["int8"]: 300}),
        "placeholder not fed": lambda s: s.run(y),
        "variable not initialized": lambda s: s.run(doubled),
        "fetch is None": lambda s: s.run(None),
        "partial_run_setup with a bad feed key": lambda s: s.partial_run_setup(y, [3]),
    }


ERROR_CASES = [  # noqa: E501
    "feed key is an int", "feed key names nothing", "feed key from another graph", "fetch from another graph",
    "feed value is a tf.Tensor", "Python int too big for int8 (scalar)", "placeholder not fed",
    "variable not initialized", "fetch is None", "partial_run_setup with a bad feed key",
]


# Error cases where TensorFlow's class is an accident of its own code, and graphmode's is the intended one.
ERROR_CLASS_DIFFERS = {
    # TensorFlow tries to build its TypeError from `e.message` and fails with AttributeError instead.
    "partial_run_setup with a bad feed key": gm.errors.FeedTypeError,
}


@pytest.mark.parametrize("name", ERROR_CASES)
def test_errors_are_instances_of_tensorflows_classes(sessions, name):
    graph, placeholders, outputs, constant, reference, candidate = sessions
    action = _error_cases(graph, placeholders, outputs)[name]
    _, tf_error = _outcome(lambda: action(reference))
    _, gm_error = _outcome(lambda: action(candidate))
    assert tf_error is not None and gm_error is not None, (tf_error, gm_error)
    if name in ERROR_CLASS_DIFFERS:
        assert isinstance(tf_error, AttributeError) and "has no attribute 'message'" in str(tf_error)
        assert isinstance(gm_error, ERROR_CLASS_DIFFERS[name]), repr(gm_error)
        return
    assert isinstance(gm_error, type(tf_error)), f"{name}: {gm_error!r} is no {type(tf_error).__name__}"
    assert isinstance(gm_error, gm.errors.GraphmodeError) or type(gm_error) is type(tf_error), repr(gm_error)
    if isinstance(tf_error, tf.errors.OpError):
        assert (gm_error.op.name, gm_error.error_code) == (tf_error.op.name, tf_error.error_code)


def test_config_that_is_not_a_config_proto():
    half_made = v1.Session.__new__(v1.Session)
    with pytest.raises(TypeError) as reference:
        half_made.__init__(config="threads=1")
    # TensorFlow's __init__ failed before setting _session, which its __del__ reads.
    half_made._session = None
    with pytest.raises(gm.errors.ConfigTypeError) as candidate:
        gm.Session(config="threads=1")
    assert isinstance(candidate.value, type(reference.value))
