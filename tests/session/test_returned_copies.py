"""Every value graphmode hands out is the caller's own, on every path, as ``tf.compat.v1.Session.run``'s are.

TensorFlow's C++ callables (which graphmode's repeated ``run``, ``make_callable``
and ``run_steps`` use) return arrays that share memory with TensorFlow's own
buffers: a constant's, a reference variable's, an iterator's. Each test runs
the same code through ``tf.compat.v1.Session`` and ``graphmode.Session`` and
compares what the caller ends up holding.
"""

from __future__ import annotations

import numpy as np
import pytest

import graphmode as gm
from graphmode import tf, v1

SESSIONS = {"tensorflow": v1.Session, "graphmode": gm.Session}


def _both(scenario, *args):
    """``scenario(session_class, *args)`` for TensorFlow's session and graphmode's; returns both results."""
    return {name: scenario(session_class, *args) for name, session_class in SESSIONS.items()}


def _assert_same(results):
    expected, got = results["tensorflow"], results["graphmode"]
    assert len(expected) == len(got)
    for step, (one, other) in enumerate(zip(expected, got)):
        assert np.asarray(other).dtype == np.asarray(one).dtype
        assert np.array_equal(other, one), f"call {step}: graphmode {other!r}, TensorFlow {one!r}\n{results}"


def _manual_descent_history(session_class, use_resource: bool):
    # The textbook loop: W <- W - 0.1 * dL/dW with L = sum(W^2), so W shrinks by 0.8 per step.
    graph = gm.new_graph()
    with graph.as_default():
        weights = v1.Variable([1.0, 2.0], use_resource=use_resource)
        loss = tf.reduce_sum(weights * weights)
        update = v1.assign(weights, weights - 0.1 * tf.gradients(loss, weights)[0])
        init = v1.global_variables_initializer()
    with session_class(graph=graph) as session:
        session.run(init)
        return [session.run(update) for _ in range(4)]


@pytest.mark.parametrize("use_resource", [False, True], ids=["reference variables", "resource variables"])
def test_manual_gradient_descent_history(use_resource):
    results = _both(_manual_descent_history, use_resource)
    _assert_same(results)
    first = [float(value[0]) for value in results["graphmode"]]
    np.testing.assert_allclose(first, [0.8, 0.64, 0.512, 0.4096], rtol=1e-6)


def _reads_between_steps(session_class):
    graph = gm.new_graph()
    with graph.as_default():
        weights = v1.Variable([1.0, 2.0], use_resource=False)
        train = v1.train.GradientDescentOptimizer(0.1).minimize(tf.reduce_sum(weights * weights))
        init = v1.global_variables_initializer()
    with session_class(graph=graph) as session:
        session.run(init)
        history = []
        for _ in range(4):
            history.append(session.run(weights.value()))
            session.run(train)
        history.append(session.run(weights))
        return history


def test_reference_variable_reads_between_training_steps():
    results = _both(_reads_between_steps)
    _assert_same(results)
    first = [float(value[0]) for value in results["graphmode"]]
    np.testing.assert_allclose(first, [1.0, 0.8, 0.64, 0.512, 0.4096], rtol=1e-6)


def _edited_after_each_run(session_class, build):
    graph = gm.new_graph()
    with graph.as_default():
        fetch = build()
        init = v1.global_variables_initializer()
    with session_class(graph=graph) as session:
        session.run(init)
        kept = []
        for _ in range(4):
            values = session.run(fetch)
            for value in values if isinstance(values, list) else [values]:
                kept.append(value.copy())
                value[...] = -7  # the caller's array: TensorFlow's next run must not see this
        return kept


def _value_and_double(variable):
    return [variable.read_value(), variable * 2]


BUILDERS = {
    "constant": lambda: tf.constant([1.0, 2.0, 3.0]),
    "resource variable and its double": lambda: _value_and_double(v1.Variable([1.0, 2.0], use_resource=True)),
    "resource variable": lambda: v1.Variable([1.0, 2.0], use_resource=True).read_value(),
    "reference variable": lambda: v1.Variable([1.0, 2.0], use_resource=False)._ref(),
    "reference variable value": lambda: v1.Variable([1.0, 2.0], use_resource=False).value(),
    "identity of a constant": lambda: tf.identity(tf.constant([[5, 6]], tf.int32)),
}


@pytest.mark.parametrize("kind", BUILDERS)
def test_in_place_edits_of_returned_arrays_do_not_reach_the_graph(kind):
    _assert_same(_both(_edited_after_each_run, BUILDERS[kind]))


def _dataset_epochs(session_class):
    graph = gm.new_graph()
    with graph.as_default():
        dataset = tf.data.Dataset.from_tensor_slices(np.arange(6, dtype=np.float32).reshape(3, 2)).repeat(3)
        batch = v1.data.make_one_shot_iterator(dataset).get_next()
    with session_class(graph=graph) as session:
        seen = []
        for _ in range(9):
            x = session.run(batch)
            seen.append(x.copy())
            x *= 2
        return seen


def test_dataset_batches_edited_in_place_do_not_change_later_epochs():
    results = _both(_dataset_epochs)
    _assert_same(results)
    assert [row.tolist() for row in results["graphmode"][6:]] == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]


def _callable_results(session_class, with_feed: bool):
    graph = gm.new_graph()
    with graph.as_default():
        weights = v1.Variable([1.0, 2.0], use_resource=False)
        scale = v1.placeholder(tf.float32, [], name="scale")
        constant = tf.constant([3.0, 4.0])
        init = v1.global_variables_initializer()
    with session_class(graph=graph) as session:
        session.run(init)
        if with_feed:
            call = session.make_callable([weights.value(), constant * scale, constant], feed_list=[scale])
            args = (1.0,)
        else:
            call = session.make_callable([weights.value(), constant])
            args = ()
        kept = []
        for _ in range(3):
            values = call(*args)
            kept.extend(value.copy() for value in values)
            for value in values:
                value[0] = 9.0
        return kept


@pytest.mark.parametrize("with_feed", [False, True], ids=["no feeds", "feed_list"])
def test_make_callable_results_are_the_callers(with_feed):
    _assert_same(_both(_callable_results, with_feed))


def test_make_callable_results_share_no_memory(session):
    constant = tf.constant([1.0, 2.0])
    weights = v1.Variable([3.0, 4.0], use_resource=False)
    session.run(weights.initializer)
    call = session.make_callable([constant, constant, weights.value(), weights.value()])
    first, second = call(), call()
    arrays = [*first, *second]
    for i, one in enumerate(arrays):
        for other in arrays[i + 1 :]:
            assert not np.shares_memory(one, other)


def _eval_and_partial_run(session_class):
    graph = gm.new_graph()
    with graph.as_default():
        constant = tf.constant([1.0, 2.0])
        x = v1.placeholder(tf.float32, [])
        scaled = constant * x
    kept = []
    with session_class(graph=graph) as session:
        for _ in range(3):
            value = constant.eval(session=session)
            kept.append(value.copy())
            value[0] = 50.0
        for _ in range(2):
            handle = session.partial_run_setup([constant, scaled], [x])
            value = session.partial_run(handle, constant)
            kept.append(value.copy())
            value[0] = 60.0
            kept.append(session.partial_run(handle, scaled, {x: 2.0}))
        kept.append(session.run(constant))
    return kept


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_eval_and_partial_run_results_are_the_callers():
    _assert_same(_both(_eval_and_partial_run))


@pytest.mark.parametrize("fetches", ["list", "dict", "tuple"])
def test_a_tensor_fetched_twice_gives_two_arrays(session, fetches):
    # TensorFlow hands the same array object out twice; graphmode gives each its own (a listed difference).
    constant = tf.constant([1.0, 2.0])
    weights = v1.Variable([3.0], use_resource=False)
    session.run(weights.initializer)
    structure = {
        "list": lambda: [constant, weights.value(), constant, weights.value()],
        "dict": lambda: {"a": constant, "b": constant, "c": [weights.value(), weights.value()]},
        "tuple": lambda: (constant, constant, weights.value(), weights.value()),
    }[fetches]
    for attempt in range(3):  # the first run takes Session.run's path, later ones the cached callable
        arrays = tf.nest.flatten(session.run(structure()))
        for i, one in enumerate(arrays):
            for other in arrays[i + 1 :]:
                assert not np.shares_memory(one, other), f"run {attempt}: {arrays}"


def test_runs_of_a_constant_share_no_memory_with_each_other(session):
    constant = tf.constant(np.arange(4.0))
    arrays = [session.run(constant) for _ in range(4)]
    for i, one in enumerate(arrays):
        for other in arrays[i + 1 :]:
            assert not np.shares_memory(one, other)

