"""The fast training loop: same numbers as a plain Session.run loop, in every mode, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest

import graphmode as gm
from graphmode import tf, v1

_rng = np.random.default_rng(3)
X = _rng.normal(1.0, 0.1, size=(20, 1)).astype(np.float32)
Y = np.full((20, 1), 10.0, np.float32)
SPEC = gm.optimizer_spec("momentum", gm.train.ExponentialDecay(0.02, 5, 0.9), momentum=0.5)


def _regression_loss(x, y, a):
    return tf.reduce_mean(tf.square(x * a - y))


def build(steps_per_call: int = 1, spec: gm.train.OptimizerSpec = SPEC, batch: int = 2):
    """The X*A=10 regression as a StepGraph; returns (graph, step, A, init)."""
    graph = gm.new_graph()
    with graph.as_default():
        a = tf.Variable([1.0], name="A")
        step = gm.build_step(
            lambda x, y: _regression_loss(x, y, a),
            spec,
            input_specs=[tf.TensorSpec([batch, 1], name="x"), tf.TensorSpec([batch, 1], name="y")],
            steps_per_call=steps_per_call,
        )
        init = v1.global_variables_initializer()
    return graph, step, a, init


def reference_run(steps: int, batch: int = 2, spec: gm.train.OptimizerSpec = SPEC):
    """The same training with a plain feed_dict Session.run loop: (losses, final A)."""
    graph = gm.new_graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [batch, 1])
        y = v1.placeholder(tf.float32, [batch, 1])
        a = tf.Variable([1.0], name="A")
        loss = _regression_loss(x, y, a)
        train_op = gm.minimize(loss, spec).op
        init = v1.global_variables_initializer()
    batches = len(X) // batch
    losses = []
    with gm.Session(graph=graph) as session:
        session.run(init)
        for index in range(steps):
            rows = slice((index % batches) * batch, (index % batches + 1) * batch)
            losses.append(session.run([train_op, loss], {x: X[rows], y: Y[rows]})[1])
        return np.array(losses), session.run(a)


@pytest.mark.parametrize("steps_per_call", [1, 4, 7])
def test_run_steps_matches_a_plain_session_run_loop(steps_per_call):
    # 23 steps over 10 batches: calls wrap around the data and K=7 ends on a short call.
    expected_losses, expected_a = reference_run(23)
    graph, step, a, init = build(steps_per_call)
    with gm.Session(graph=graph) as session:
        session.run(init)
        result = gm.run_steps(session, step, 23, inputs=(X, Y), batch_size=2)
        final_a = session.run(a)
        global_step = session.run(v1.train.get_global_step(graph))
    assert result.steps == 23 and global_step == 23
    np.testing.assert_allclose(result.losses, expected_losses, rtol=1e-6)
    np.testing.assert_allclose(final_a, expected_a, rtol=1e-6)
    assert result.losses[-1] < result.losses[0] / 2  # it trained


def test_existing_tf1_graph_runs_through_train_step_with_whole_array_feeds(graph, session):
    x = v1.placeholder(tf.float32, [None, 1], name="x")
    y = v1.placeholder(tf.float32, [None, 1], name="y")
    a = tf.Variable([1.0], name="A")
    loss = _regression_loss(x, y, a)
    train_op = v1.train.GradientDescentOptimizer(0.01).minimize(loss)
    session.run(v1.global_variables_initializer())
    result = gm.run_steps(session, gm.step_from_train_op(train_op, loss, [x, y]), 5, inputs=(X, Y))
    expected_a = 1.0
    for _ in range(5):  # d/dA mean((xA - y)^2) = mean(2x(xA - y)), the whole array every step
        expected_a -= 0.01 * float(np.mean(2 * X * (X * expected_a - Y)))
    np.testing.assert_allclose(session.run(a), [expected_a], rtol=1e-5)
    assert result.losses.shape == (5,)


def test_k_step_mode_with_whole_arrays_repeats_them_every_step():
    _, expected_a = reference_run(6, batch=20)
    graph, step, a, init = build(3, batch=20)
    with gm.Session(graph=graph) as session:
        session.run(init)
        gm.run_steps(session, step, 6, inputs=(X, Y))
        np.testing.assert_allclose(session.run(a), expected_a, rtol=1e-6)


def _dataset_graph(steps_per_call: int, repeat: bool):
    graph = gm.new_graph()
    with graph.as_default():
        a = tf.Variable([1.0], name="A")
        dataset = tf.data.Dataset.from_tensor_slices((X, Y)).batch(2, drop_remainder=True)
        step = gm.build_step(
            lambda x, y: _regression_loss(x, y, a),
            SPEC,
            dataset=dataset.repeat() if repeat else dataset,
            steps_per_call=steps_per_call,
        )
        init = v1.global_variables_initializer()
    return graph, step, init


@pytest.mark.parametrize("steps_per_call", [1, 4])
def test_dataset_input_matches_the_feed_loop(steps_per_call):
    expected_losses, _ = reference_run(12)
    graph, step, init = _dataset_graph(steps_per_call, repeat=True)
    with gm.Session(graph=graph) as session:
        session.run(init)
        result = gm.run_steps(session, step, 12)
    np.testing.assert_allclose(result.losses, expected_losses, rtol=1e-6)


def test_dataset_steps_none_runs_until_the_data_ends():
    graph, step, init = _dataset_graph(1, repeat=False)
    with gm.Session(graph=graph) as session:
        session.run(init)
        assert gm.run_steps(session, step).steps == 10


@pytest.mark.parametrize(
    ("steps_per_call", "message"),
    [
        (1, r"ran out at step 10 of the 12 requested; 10 steps ran and their updates were applied"),
        (4, r"ran out at step 10 of the 12 requested; 10 steps ran and their updates were applied"),
    ],
)
def test_exhausted_dataset_names_the_step(steps_per_call, message):
    graph, step, init = _dataset_graph(steps_per_call, repeat=False)
    with gm.Session(graph=graph) as session:
        session.run(init)
        with pytest.raises(gm.errors.InputExhaustedError, match=message) as caught:
            gm.run_steps(session, step, 12)
    assert isinstance(caught.value, tf.errors.OutOfRangeError)


@pytest.mark.parametrize("steps_per_call", [1, 5])
def test_nonfinite_loss_stops_with_the_step_named(steps_per_call):
    diverging = gm.optimizer_spec("gradient_descent", 3.0)
    graph, step, a, init = build(steps_per_call, diverging)
    with gm.Session(graph=graph) as session:
        session.run(init)
        unchecked = gm.run_steps(session, step, 60, inputs=(X, Y), batch_size=2, check_loss=False)
    first_bad = int(np.flatnonzero(~np.isfinite(unchecked.losses))[0])
    assert unchecked.steps == 60 and 0 < first_bad < 60
    with gm.Session(graph=graph) as session:
        session.run(init)
        with pytest.raises(gm.errors.NumericsError, match=rf"loss '.*' became (NaN|Inf) at step {first_bad} \(steps 0-{first_bad - 1} were finite") as caught:
            gm.run_steps(session, step, 60, inputs=(X, Y), batch_size=2)
        assert caught.value.step == first_bad
        np.testing.assert_array_equal(caught.value.losses[:first_bad], unchecked.losses[:first_bad])
        # The failing step's update ran and nothing after it did, whatever K is.
        assert session.run(v1.train.get_global_step(graph)) == first_bad + 1
        assert caught.value.updates_applied == caught.value.global_step == first_bad + 1
    assert isinstance(caught.value, tf.errors.InvalidArgumentError)


def test_progress_bar_on_request_and_off_when_not_a_terminal(capsys):
    graph, step, _, init = build()
    with gm.Session(graph=graph) as session:
        session.run(init)
        gm.run_steps(session, step, 5, inputs=(X, Y), batch_size=2)  # progress=None, stderr is no TTY here
        assert capsys.readouterr().err == ""
        gm.run_steps(session, step, 5, inputs=(X, Y), batch_size=2, progress=True)
        err = capsys.readouterr().err
    assert "5/5" in err and "step" in err and "loss=" in err


def test_uninitialized_variables_are_reported_by_name():
    graph, step, _, _ = build()
    with gm.Session(graph=graph) as session:
        with pytest.raises(gm.errors.UninitializedVariableError, match="A"):
            gm.run_steps(session, step, 2, inputs=(X, Y), batch_size=2)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"inputs": (X,), "batch_size": 2}, gm.errors.FeedError, r"feeds 2 placeholder\(s\) \('x:0', 'y:0'\); got 1 input"),
        ({"inputs": (X.reshape(10, 2), Y), "batch_size": 2}, gm.errors.FeedError, r"'x:0' has shape \(2, 2\); it expects \(2, 1\)"),
        ({"inputs": (X.astype(np.int64).astype(str), Y), "batch_size": 2}, gm.errors.FeedError, r"'x:0' has dtype <U"),
        ({"inputs": (X, Y[:10]), "batch_size": 2}, gm.errors.ConfigError, r"different numbers of rows \('x:0': 20, 'y:0': 10\)"),
        ({"inputs": (X[:1], Y[:1]), "batch_size": 2}, gm.errors.ConfigError, r"'x:0' has 1 rows, fewer than batch_size=2"),
        ({"inputs": (X, Y), "batch_size": 0}, gm.errors.ConfigError, r"batch_size must be an int >= 1 or None; got 0"),
        ({"inputs": (X, Y), "batch_size": 2, "steps": -1}, gm.errors.ConfigError, r"steps must be an int >= 0 or None; got -1"),
        ({"inputs": (X, Y), "batch_size": 2, "steps": None}, gm.errors.ConfigError, r"steps=None runs until a tf.data input"),
    ],
)
def test_run_steps_input_errors_name_the_culprit(kwargs, error, message):
    graph, step, _, init = build(3)
    kwargs = {"steps": 4, **kwargs}
    with gm.Session(graph=graph) as session:
        session.run(init)
        with pytest.raises(error, match=message):
            gm.run_steps(session, step, **kwargs)


def test_run_steps_refuses_a_value_that_would_change_in_any_batch_not_only_the_first():
    graph = gm.new_graph()
    with graph.as_default():
        counts = v1.placeholder(tf.int32, [2], name="counts")
        total = tf.Variable(0.0, name="total")
        loss = tf.reduce_sum(tf.cast(counts, tf.float32)) * total
        step = gm.step_from_train_op(total.assign_add(1.0).op, loss, feeds=[counts])
        init = v1.global_variables_initializer()
    rows = np.arange(8, dtype=np.int64)
    rows[6] = 2**40 + 5  # the fourth batch of two; int32 would wrap it to 5
    with gm.Session(graph=graph) as session:
        session.run(init)
        with pytest.raises(gm.errors.FeedRangeError, match=r"'counts:0'.*1099511627781"):
            gm.run_steps(session, step, 4, inputs=(rows,), batch_size=2)
        assert session.run(total) == 0.0  # refused before any update


def test_closed_session_is_refused():
    graph, step, _, init = build()
    session = gm.Session(graph=graph)
    session.run(init)
    gm.run_steps(session, step, 2, inputs=(X, Y), batch_size=2)
    session.close()
    with pytest.raises(gm.errors.SessionClosedError, match="closed session"):
        gm.run_steps(session, step, 2, inputs=(X, Y), batch_size=2)


def test_step_from_another_graph_is_refused():
    _, step, _, _ = build()
    with gm.Session(graph=gm.new_graph()) as session:
        with pytest.raises(gm.errors.ConfigError, match=r"step's loss '.*' belongs to another graph"):
            gm.run_steps(session, step, 1)


def test_build_step_errors_name_the_culprit(graph):
    a = tf.Variable([1.0], name="A")

    def loss_fn(x, y):
        return _regression_loss(x, y, a)

    specs = [tf.TensorSpec([2, 1]), tf.TensorSpec([2, 1])]
    with pytest.raises(gm.errors.ConfigError, match=r"steps_per_call must be an int >= 1; got 0"):
        gm.build_step(loss_fn, SPEC, input_specs=specs, steps_per_call=0)
    with pytest.raises(gm.errors.ConfigError, match="give input_specs or dataset, not both"):
        gm.build_step(loss_fn, SPEC, input_specs=specs, dataset=tf.data.Dataset.range(3))
    with pytest.raises(gm.errors.ConfigError, match=r"input_specs entries must be tf.TensorSpec; got \(2, 1\)"):
        gm.build_step(loss_fn, SPEC, input_specs=[(2, 1)])
    with pytest.raises(gm.errors.ConfigError, match=r"input spec .* has unknown rank; give its shape"):
        gm.build_step(loss_fn, SPEC, input_specs=[tf.TensorSpec(None), tf.TensorSpec([2, 1])])
    decaying = v1.train.GradientDescentOptimizer(v1.train.exponential_decay(0.1, v1.train.get_or_create_global_step(), 5, 0.5))
    with pytest.raises(gm.errors.ConfigError, match=r"learning rate is a tensor \('ExponentialDecay.*'\).*pass an OptimizerSpec"):
        gm.build_step(loss_fn, decaying, input_specs=specs, steps_per_call=4)

    def creates_a_variable(x, y):
        return _regression_loss(x, y, tf.Variable([1.0], name="made_in_loop"))

    with pytest.raises(gm.errors.ConfigError, match=r"loss_fn created variables inside the in-graph loop \(.*made_in_loop"):
        gm.build_step(creates_a_variable, SPEC, input_specs=specs, steps_per_call=4)


def test_train_step_refuses_a_non_scalar_loss_and_foreign_pieces(graph):
    a = tf.Variable([1.0, 2.0], name="A")
    vector_loss = tf.square(a)
    train_op = v1.train.GradientDescentOptimizer(0.1).minimize(tf.reduce_sum(vector_loss))
    with pytest.raises(gm.errors.ConfigError, match=r"loss '.*' has shape \(2,\); the loop needs a scalar loss"):
        gm.step_from_train_op(train_op, vector_loss)
    with gm.new_graph().as_default():
        foreign = v1.placeholder(tf.float32, [], name="foreign")
    with pytest.raises(gm.errors.ConfigError, match=r"'foreign:0' belongs to another graph than the loss"):
        gm.step_from_train_op(train_op, tf.reduce_sum(vector_loss), [foreign])
