"""The K-step loop at the edges: the end of the data, float64 losses, and what a NaN/Inf error reports.

Every case runs the same training through ``tf.compat.v1`` by hand (a plain
``Session.run`` loop until ``OutOfRangeError``) and through ``run_steps`` with
one and with K steps per call, in one process, and compares losses, variables
and ``global_step`` bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest

import graphmode as gm
from graphmode import tf, v1

X = np.random.default_rng(7).normal(1.0, 0.1, size=(20, 1)).astype(np.float32)
Y = np.full((20, 1), 10.0, np.float32)
LEARNING_RATE, MOMENTUM = 0.02, 0.5


def _loss(x, y, a):
    return tf.reduce_mean(tf.square(x * a - y))


def _dataset(batches: int) -> tf.data.Dataset:
    return tf.data.Dataset.from_tensor_slices((X, Y)).take(2 * batches).batch(2)


def tf1_loop(batches: int):
    """The hand-written TF1 loop: get_next, minimize, run until OutOfRangeError."""
    graph = tf.Graph()
    with graph.as_default():
        a = tf.Variable([1.0], name="A")
        global_step = v1.train.get_or_create_global_step()
        x, y = v1.data.make_one_shot_iterator(_dataset(batches)).get_next()
        loss = _loss(x, y, a)
        train = v1.train.MomentumOptimizer(LEARNING_RATE, MOMENTUM).minimize(loss, global_step=global_step)
        init = v1.global_variables_initializer()
    losses = []
    with v1.Session(graph=graph) as session:
        session.run(init)
        while True:
            try:
                losses.append(session.run([train, loss])[1])
            except tf.errors.OutOfRangeError:
                break
        return np.array(losses), session.run(a), session.run(global_step)


def graphmode_run(batches: int, steps_per_call: int, steps: int | None = None):
    graph = gm.new_graph()
    with graph.as_default():
        a = tf.Variable([1.0], name="A")
        step = gm.build_step(lambda x, y: _loss(x, y, a), gm.optimizer_spec("momentum", LEARNING_RATE,
                                   momentum=MOMENTUM), dataset=_dataset(batches), steps_per_call=steps_per_call)
        init = v1.global_variables_initializer()
    with gm.Session(graph=graph) as session:
        session.run(init)
        try:
            result = gm.run_steps(session, step, steps)
        except gm.errors.InputExhaustedError as error:
            result = error
        return result, session.run(a), session.run(v1.train.get_global_step(graph))


@pytest.fixture(scope="module")
def references() -> dict:
    return {batches: tf1_loop(batches) for batches in (3, 8, 10)}


@pytest.mark.parametrize("batches", [3, 8, 10])
@pytest.mark.parametrize("steps_per_call", [1, 3, 4])
def test_steps_none_runs_until_the_data_ends_for_any_k(references, batches, steps_per_call):
    # 8 batches with K=4 ends on a full call (then one that runs no step), 10 and 3
    # with K=4 end inside a call: every step's loss comes back either way.
    losses, a, global_step = references[batches]
    assert len(losses) == batches and global_step == batches
    result, final_a, final_step = graphmode_run(batches, steps_per_call)
    assert isinstance(result, gm.train.LoopResult), result
    assert result.steps == batches and final_step == batches
    assert result.losses.dtype == np.float32
    np.testing.assert_array_equal(result.losses, losses)
    np.testing.assert_array_equal(final_a, a)


@pytest.mark.parametrize("steps_per_call", [1, 4])
def test_data_ending_before_steps_keeps_the_losses_of_the_steps_that_ran(references, steps_per_call):
    losses, a, _ = references[10]
    error, final_a, final_step = graphmode_run(10, steps_per_call, steps=12)
    assert isinstance(error, gm.errors.InputExhaustedError) and isinstance(error, tf.errors.OutOfRangeError)
    assert "ran out at step 10 of the 12 requested; 10 steps ran and their updates were applied" in str(error)
    assert error.steps == 10 and final_step == 10
    np.testing.assert_array_equal(error.losses, losses)
    np.testing.assert_array_equal(final_a, a)


def _float64_step(steps_per_call: int):
    """loss = sum(a * x) over one float64 value, a learning rate too small to move a."""
    graph = gm.new_graph()
    with graph.as_default():
        a = tf.Variable(1.0, dtype=tf.float64, name="A")
        step = gm.build_step(lambda x: tf.reduce_sum(a * x), gm.optimizer_spec("gradient_descent", 1e-300),
                                   input_specs=[tf.TensorSpec([1], tf.float64, name="x")],
                                   steps_per_call=steps_per_call)
        init = v1.global_variables_initializer()
    return graph, step, init


def tf1_float64_losses(values: np.ndarray) -> np.ndarray:
    graph = tf.Graph()
    with graph.as_default():
        a = tf.Variable(1.0, dtype=tf.float64, name="A")
        x = v1.placeholder(tf.float64, [1], name="x")
        loss = tf.reduce_sum(a * x)
        train = v1.train.GradientDescentOptimizer(1e-300).minimize(loss)
        init = v1.global_variables_initializer()
    with v1.Session(graph=graph) as session:
        session.run(init)
        return np.array([session.run([train, loss], {x: [value]})[1] for value in values])


@pytest.mark.parametrize("steps_per_call", [1, 4])
def test_float64_losses_keep_their_dtype_and_every_bit(steps_per_call):
    # 4e40 is finite in float64 (Inf in float32); 1 + 1e-10 rounds to 1.0 in float32.
    values = np.array([4e40, 1.0000000001, -3e300, 2.0 ** -1074, 5.5, 7.25])
    expected = tf1_float64_losses(values)
    graph, step, init = _float64_step(steps_per_call)
    with gm.Session(graph=graph) as session:
        session.run(init)
        result = gm.run_steps(session, step, len(values), inputs=(values,), batch_size=1)
        assert session.run(v1.train.get_global_step(graph)) == len(values)
    assert result.losses.dtype == np.float64
    np.testing.assert_array_equal(result.losses, expected)
    assert result.losses[1] == 1.0000000001 and result.losses[0] == 4e40


@pytest.mark.parametrize("steps_per_call", [1, 4, 8])
def test_a_float64_overflow_reports_the_step_the_updates_and_the_global_step(steps_per_call):
    # Steps 0-1 finite, step 2's loss 1e308 * 10 overflows float64, step 3 would be finite again.
    values = np.array([1.0, 2.0, 1e308, 3.0, 4.0])
    graph, step, init = _float64_step(steps_per_call)
    with gm.Session(graph=graph) as session:
        session.run(init)
        session.run(v1.assign(v1.trainable_variables()[0], 10.0))
        with pytest.raises(gm.errors.NumericsError) as caught:
            gm.run_steps(session, step, len(values), inputs=(values,), batch_size=1)
        global_step = session.run(v1.train.get_global_step(graph))
    error = caught.value
    assert global_step == 3, "step 2's update runs, step 3's does not"
    assert (error.step, error.updates_applied, error.global_step) == (2, 3, 3)
    assert ("became Inf at step 2 (steps 0-1 were finite; 3 update(s) applied: steps 0-2, the last with the Inf "
            "loss; no later step ran; global step is now 3)") in str(error)
    assert error.losses.dtype == np.float64
    np.testing.assert_array_equal(error.losses, [10.0, 20.0, np.inf])


def test_a_non_floating_loss_is_refused_in_k_step_mode(graph):
    counter = tf.Variable(1, name="counter")
    with pytest.raises(gm.errors.ConfigError, match=r"loss_fn returned '.*' of dtype int32 .*scalar floating-point loss"):
        gm.build_step(lambda x: counter * x, gm.optimizer_spec("gradient_descent", 0.1),
                            input_specs=[tf.TensorSpec([], tf.int32)], steps_per_call=2)
