"""TF1 optimizers and their Keras counterparts: each pair trains the same problem both ways.

The problem: linear regression ``x @ w + b`` on 16-row batches, a different
batch each step, float32, fixed initial values. The graph side runs
``graphmode.minimize`` with the TF1 optimizer; the eager side runs
``GradientTape`` + the Keras optimizer from ``graphmode.keras_counterpart``.
Variables are compared after every step with ``|graph - eager| <= ATOL + RTOL*|graph|``.
"""

from __future__ import annotations

import numpy as np
import pytest

import graphmode as gm
from graphmode import tf, v1

STEPS = 8
ATOL = 1e-6
RTOL = 1e-5
_rng = np.random.default_rng(7)
FEATURES = _rng.normal(size=(STEPS, 16, 3)).astype(np.float32)
TARGETS = _rng.normal(size=(STEPS, 16, 1)).astype(np.float32)
W0 = _rng.normal(size=(3, 1)).astype(np.float32)
B0 = np.array([0.5], np.float32)


def _loss(x, y, w, b, scale):
    return scale * tf.reduce_mean(tf.square(tf.matmul(x, w) + b - y))


def train_graph(spec: gm.train.OptimizerSpec, scale: float = 1.0) -> np.ndarray:
    """[step, parameter] values after each TF1 graph-mode step."""
    graph = gm.new_graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, 3], name="x")
        y = v1.placeholder(tf.float32, [None, 1], name="y")
        w, b = tf.Variable(W0, name="w"), tf.Variable(B0, name="b")
        step = gm.minimize(_loss(x, y, w, b, scale), spec)
        init = v1.global_variables_initializer()
    values = []
    with gm.Session(graph=graph) as session:
        session.run(init)
        for index in range(STEPS):
            session.run(step.op, {x: FEATURES[index], y: TARGETS[index]})
            values.append(np.concatenate([session.run(w).ravel(), session.run(b)]))
    return np.array(values)


def train_eager(optimizer: tf.keras.optimizers.Optimizer, scale: float = 1.0) -> np.ndarray:
    """[step, parameter] values after each eager Keras step."""
    w, b = tf.Variable(W0, name="w"), tf.Variable(B0, name="b")
    values = []
    for index in range(STEPS):
        with tf.GradientTape() as tape:
            loss = _loss(FEATURES[index], TARGETS[index], w, b, scale)
        optimizer.apply_gradients(zip(tape.gradient(loss, [w, b]), [w, b]))
        values.append(np.concatenate([w.numpy().ravel(), b.numpy()]))
    return np.array(values)


def first_mismatch(graph_values: np.ndarray, eager_values: np.ndarray) -> str | None:
    """None when every step is within tolerance, else the first bad step with its numbers."""
    bad = np.abs(graph_values - eager_values) > ATOL + RTOL * np.abs(graph_values)
    if not bad.any():
        return None
    step, parameter = np.argwhere(bad)[0]
    return (
        f"step {step}, parameter {parameter}: graph {graph_values[step, parameter]!r} vs eager "
        f"{eager_values[step, parameter]!r} (max abs diff {np.abs(graph_values - eager_values).max():.3g}, "
        f"atol={ATOL}, rtol={RTOL}, reference: graph)"
    )


EXPONENTIAL = gm.train.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)
PIECEWISE = gm.train.PiecewiseConstant((2, 5), (0.1, 0.03, 0.01))
POLYNOMIAL = gm.train.PolynomialDecay(0.1, decay_steps=5, end_learning_rate=0.01, power=2.0)

PAIRS = {
    "gradient_descent": (gm.optimizer_spec("gradient_descent", 0.1), True),
    "gradient_descent/piecewise": (gm.optimizer_spec("gradient_descent", PIECEWISE), True),
    "gradient_descent/exponential-staircase": (
        gm.optimizer_spec("gradient_descent", gm.train.ExponentialDecay(0.1, 3, 0.5, staircase=True)),
        True,
    ),
    "momentum": (gm.optimizer_spec("momentum", 0.05, momentum=0.9), True),
    "momentum/nesterov": (gm.optimizer_spec("momentum", 0.05, momentum=0.9, use_nesterov=True), True),
    "momentum/exponential": (gm.optimizer_spec("momentum", EXPONENTIAL, momentum=0.9), False),
    "momentum/nesterov-polynomial": (gm.optimizer_spec("momentum", POLYNOMIAL, momentum=0.8, use_nesterov=True), False),
    "adam": (gm.optimizer_spec("adam", 0.01), True),
    "adam/betas-epsilon": (gm.optimizer_spec("adam", 0.01, beta1=0.8, beta2=0.99, epsilon=1e-6), True),
    "adam/exponential": (gm.optimizer_spec("adam", gm.train.ExponentialDecay(0.01, 2, 0.5)), True),
    "rmsprop": (gm.optimizer_spec("rmsprop", 0.01), False),
    "rmsprop/momentum-centered": (gm.optimizer_spec("rmsprop", 0.01, momentum=0.5, centered=True), False),
    "rmsprop/piecewise-epsilon": (
        gm.optimizer_spec("rmsprop", gm.train.PiecewiseConstant((3,), (0.01, 0.003)), decay=0.8, epsilon=1e-4),
        False,
    ),
    "adagrad": (gm.optimizer_spec("adagrad", 0.1), True),
    "adagrad/accumulator-polynomial": (gm.optimizer_spec("adagrad", POLYNOMIAL, initial_accumulator_value=0.01), True),
    "clip/global_norm": (gm.optimizer_spec("adam", 0.01, clip=gm.train.GradientClipping("global_norm", 0.5)), True),
    "clip/norm": (gm.optimizer_spec("gradient_descent", 0.1, clip=gm.train.GradientClipping("norm", 0.3)), True),
    "clip/value": (gm.optimizer_spec("momentum", 0.05, momentum=0.9, clip=gm.train.GradientClipping("value", 0.2)), True),
}


@pytest.mark.parametrize("case", sorted(PAIRS))
def test_keras_counterpart_trains_like_the_tf1_optimizer(case):
    spec, builtin = PAIRS[case]
    counterpart = gm.keras_counterpart(spec)
    assert counterpart.builtin is builtin, counterpart.code
    graph_values = train_graph(spec)
    eager_values = train_eager(counterpart.optimizer)
    # The problem must actually move the variables, or equality proves nothing.
    assert np.abs(graph_values[-1] - np.concatenate([W0.ravel(), B0])).max() > 1e-3
    assert first_mismatch(graph_values, eager_values) is None, first_mismatch(graph_values, eager_values)


def test_counterpart_code_names_the_arguments_that_differ_from_keras_defaults():
    adam = gm.keras_counterpart(gm.optimizer_spec("adam", 0.001))
    assert adam.code == "tf.keras.optimizers.Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-08)"
    assert any("1e-7" in note for note in adam.notes)
    adagrad = gm.keras_counterpart(gm.optimizer_spec("adagrad", 0.1))
    assert "epsilon=0.0" in adagrad.code and adagrad.optimizer.epsilon == 0.0
    scheduled = gm.keras_counterpart(gm.optimizer_spec("gradient_descent", EXPONENTIAL))
    assert scheduled.code.startswith("tf.keras.optimizers.SGD(learning_rate=tf.keras.optimizers.schedules.ExponentialDecay(")
    clipped = gm.keras_counterpart(PAIRS["clip/global_norm"][0])
    assert clipped.optimizer.global_clipnorm == 0.5 and "global_clipnorm=0.5" in clipped.code


def _diverges(spec: gm.train.OptimizerSpec, naive: tf.keras.optimizers.Optimizer, scale: float = 1.0) -> str | None:
    graph_values = train_graph(spec, scale)
    assert first_mismatch(graph_values, train_eager(gm.train.make_keras_optimizer(spec), scale)) is None
    return first_mismatch(graph_values, train_eager(naive, scale))


def test_trap_keras_default_adam_epsilon_diverges():
    # Gradients of ~1e-6 make sqrt(v) comparable to epsilon: 1e-7 vs 1e-8 is a ~10% different step.
    spec = gm.optimizer_spec("adam", 0.01)
    assert _diverges(spec, tf.keras.optimizers.Adam(0.01), scale=1e-6) is not None


def test_trap_keras_sgd_momentum_with_a_decaying_rate_diverges_and_builtin_only_refuses():
    spec = gm.optimizer_spec("momentum", EXPONENTIAL, momentum=0.9)
    naive = tf.keras.optimizers.SGD(EXPONENTIAL.keras_schedule(), momentum=0.9)
    # Step 0 runs at the initial rate on both sides; they part when the rate first changes.
    assert (_diverges(spec, naive) or "").startswith("step 1,")
    with pytest.raises(gm.errors.NoKerasEquivalentError, match=r"ExponentialDecay.*lr_t \* accumulator.*TF1Momentum"):
        gm.keras_counterpart(spec, builtin_only=True)


def test_trap_keras_rmsprop_starts_its_accumulator_at_zero_and_builtin_only_refuses():
    spec = gm.optimizer_spec("rmsprop", 0.01)
    naive = tf.keras.optimizers.RMSprop(0.01, rho=0.9, epsilon=1e-10)  # every argument carried over
    assert (_diverges(spec, naive) or "").startswith("step 0,")
    with pytest.raises(gm.errors.NoKerasEquivalentError, match=r"accumulator to 1\.0.*3\.16x larger"):
        gm.train.make_keras_optimizer(spec, builtin_only=True)


def test_trap_keras_default_adagrad_epsilon_diverges():
    spec = gm.optimizer_spec("adagrad", 0.01, initial_accumulator_value=1e-8)
    naive = tf.keras.optimizers.Adagrad(0.01, initial_accumulator_value=1e-8)  # epsilon left at 1e-7
    assert _diverges(spec, naive, scale=1e-4) is not None


def test_trap_a_tf1_decay_evaluated_once_freezes_the_rate():
    spec = gm.optimizer_spec("gradient_descent", EXPONENTIAL)
    frozen = tf.keras.optimizers.SGD(EXPONENTIAL.learning_rate)  # what eager code gets from the TF1 tensor
    assert (_diverges(spec, frozen) or "").startswith("step 1,")


def test_tf1_sgd_momentum_with_constant_rate_matches_keras_despite_the_different_state():
    # The TF1 slot is the accumulator a, the Keras slot the velocity -lr * a.
    spec = gm.optimizer_spec("momentum", 0.05, momentum=0.9)
    keras_optimizer = gm.train.make_keras_optimizer(spec)
    train_eager(keras_optimizer)
    graph = gm.new_graph()
    with graph.as_default():
        x, y = v1.placeholder(tf.float32, [None, 3]), v1.placeholder(tf.float32, [None, 1])
        w, b = tf.Variable(W0), tf.Variable(B0)
        step = gm.minimize(_loss(x, y, w, b, 1.0), spec)
        accumulator = step.optimizer.get_slot(w, "momentum")
        init = v1.global_variables_initializer()
    with gm.Session(graph=graph) as session:
        session.run(init)
        for index in range(STEPS):
            session.run(step.op, {x: FEATURES[index], y: TARGETS[index]})
        tf1_accumulator = session.run(accumulator)
    velocity = keras_optimizer.momentums[0].numpy()
    np.testing.assert_allclose(velocity, -0.05 * tf1_accumulator, rtol=1e-5, atol=1e-7)


def test_minimize_trains_only_var_list_and_counts_the_global_step(graph, session):
    x = tf.constant(FEATURES[0])
    w, b = tf.Variable(W0, name="w"), tf.Variable(B0, name="b")
    global_step = v1.train.get_or_create_global_step()
    step = gm.minimize(_loss(x, TARGETS[0], w, b, 1.0), v1.train.GradientDescentOptimizer(0.1), var_list=[w], global_step=global_step)
    session.run(v1.global_variables_initializer())
    for _ in range(3):
        session.run(step.op)
    assert session.run(global_step) == 3
    np.testing.assert_array_equal(session.run(b), B0)
    assert not np.allclose(session.run(w), W0)
    assert [variable.name for _, variable in step.grads_and_vars] == ["w:0"]


def test_minimize_creates_the_global_step_a_decaying_rate_needs(graph, session):
    w = tf.Variable(W0)
    step = gm.minimize(_loss(tf.constant(FEATURES[0]), TARGETS[0], w, tf.constant(B0), 1.0), gm.optimizer_spec("adam", EXPONENTIAL))
    assert step.global_step is v1.train.get_global_step()
    session.run(v1.global_variables_initializer())
    session.run(step.op)
    session.run(step.op)
    assert session.run(step.global_step) == 2


def test_global_norm_clipping_rescales_all_gradients_together(graph, session):
    w, b = tf.Variable(W0), tf.Variable(B0)
    loss = _loss(tf.constant(FEATURES[0]), TARGETS[0], w, b, 1.0)
    raw = tf.gradients(loss, [w, b])
    step = gm.minimize(loss, gm.optimizer_spec("gradient_descent", 0.1, clip=gm.train.GradientClipping("global_norm", 0.05)))
    session.run(v1.global_variables_initializer())
    raw_values, clipped = session.run([raw, [grad for grad, _ in step.grads_and_vars]])
    norm = np.sqrt(sum(float(np.sum(np.square(grad))) for grad in raw_values))
    assert norm > 0.05  # clipping is active on this batch
    for before, after in zip(raw_values, clipped):
        np.testing.assert_allclose(after, before * (0.05 / norm), rtol=1e-5)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: gm.optimizer_spec("adamw", 0.1), r"unknown TF1 optimizer 'adamw'; choose one of \['adagrad'"),
        (lambda: gm.optimizer_spec("adam", 0.1, beta_1=0.9), r"'adam' has no hyper-parameter 'beta_1'; it takes \['beta1'"),
        (lambda: gm.optimizer_spec("momentum", 0.1), r"'momentum' needs momentum \(TF1 has no default"),
        (lambda: gm.optimizer_spec("gradient_descent", -0.1), r"learning_rate must be a positive number.*got -0\.1"),
        (lambda: gm.optimizer_spec("gradient_descent", tf.constant(0.1)), r"learning_rate must be a positive number"),
        (lambda: gm.optimizer_spec("adagrad", 0.1, initial_accumulator_value=0.0), r"initial_accumulator_value must be > 0"),
        (lambda: gm.optimizer_spec("adam", 0.1, epsilon=-1e-8), r"'adam': epsilon must be >= 0; got -1e-08"),
        (lambda: gm.optimizer_spec("adam", 0.1, clip=gm.train.GradientClipping("l2", 1.0)), r"unknown clipping kind 'l2'"),
        (lambda: gm.optimizer_spec("adam", 0.1, clip=gm.train.GradientClipping("norm", 0.0)), r"threshold must be > 0; got 0\.0"),
        (lambda: gm.train.PiecewiseConstant((10, 20), (0.1, 0.01)), r"one more value than boundaries; got 2 boundaries"),
        (lambda: gm.train.PiecewiseConstant((20, 10), (0.1, 0.01, 0.001)), r"boundaries must increase; got \[20, 10\]"),
    ],
)
def test_spec_errors_name_the_culprit(call, message):
    with pytest.raises(gm.errors.ConfigError, match=message):
        call()


def test_minimize_errors_name_the_culprit(graph):
    w = tf.Variable(W0, name="w")
    unused = tf.Variable(1.0, name="unused")
    loss = _loss(tf.constant(FEATURES[0]), TARGETS[0], w, tf.constant(B0), 1.0)
    clipped = gm.optimizer_spec("adam", 0.1, clip=gm.train.GradientClipping("norm", 1.0))
    with pytest.raises(gm.errors.ConfigError, match="clipping given twice"):
        gm.minimize(loss, clipped, clip=gm.train.GradientClipping("value", 1.0))
    with pytest.raises(gm.errors.NoGradientError, match=r"loss '.*' has no gradient .*\('unused:0'\)"):
        gm.minimize(loss, gm.optimizer_spec("adam", 0.1), var_list=[unused])
    with gm.new_graph().as_default():
        foreign = tf.Variable(1.0, name="foreign")
    with pytest.raises(gm.errors.ConfigError, match=r"var_list entry foreign:0 is not a variable of the loss's graph"):
        gm.minimize(loss, gm.optimizer_spec("adam", 0.1), var_list=[foreign])


@pytest.mark.parametrize("keras_class", [gm.train.TF1Momentum, gm.train.TF1RMSprop])
def test_tf1_style_keras_optimizers_refuse_sparse_gradients(keras_class):
    table = tf.Variable(np.ones((4, 2), np.float32), name="table")
    optimizer = keras_class(learning_rate=0.1)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.gather(table, [1, 3]))
    gradient = tape.gradient(loss, table)
    assert isinstance(gradient, tf.IndexedSlices)
    with pytest.raises(gm.errors.NoKerasEquivalentError, match=r"variable 'table:0' got a sparse gradient.*tf\.convert_to_tensor"):
        optimizer.apply_gradients([(gradient, table)])
