"""EagerModel.from_tf1: the TF1 model code itself, run eagerly, against the graph it builds.

Each check is a real check_parity: the graph side is the example's TF1 graph
(placeholders, a TF1 optimizer, a Session), the eager side the same TF1 model
function run eagerly inside a track_tf1_style_variables layer with the Keras
counterpart of the optimizer.
"""

from __future__ import annotations

import numpy as np
import pytest

import graphmode as gm
from graphmode import tf, v1
from graphmode.parity.gallery import mlp_digits, regress_a, sigmoid_classifier
from graphmode.parity.run import named_variables

STEPS = 8


def test_regress_a_tf1_code_run_eagerly_is_bit_identical():
    problem = regress_a.parity_problem(STEPS, seed=0)
    report = gm.check_parity(
        problem.build_graph,
        lambda: gm.EagerModel.from_tf1(regress_a.model, tf.keras.optimizers.SGD(regress_a.LEARNING_RATE),
                                       problem.batches[0]),
        problem.batches, atol=0.0, rtol=0.0,
    )
    assert report.ok, str(report)
    np.testing.assert_array_equal(report.candidate.losses, report.reference.losses)
    np.testing.assert_array_equal(report.candidate.variables["A"], report.reference.variables["A"])


@pytest.mark.parametrize("variant", ["cross_entropy", "faithful_bug"])
def test_sigmoid_classifier_tf1_code_run_eagerly(variant):
    problem = sigmoid_classifier.parity_problem(STEPS, seed=1, variant=variant)
    report = gm.check_parity(
        problem.build_graph,
        lambda: gm.EagerModel.from_tf1(lambda x, y: sigmoid_classifier.model(x, y, 1, variant),
                                       tf.keras.optimizers.Adam(sigmoid_classifier.LEARNING_RATE, epsilon=1e-8),
                                       problem.batches[0]),
        problem.batches, atol=problem.atol, rtol=problem.rtol,
    )
    assert report.ok, str(report)
    assert sorted(report.candidate.variables) == ["w1", "w2"]
    # The faithful bug's loss is a tensor; both sides train and report its sum.
    assert report.loss.max_abs_diff < 1e-5


@pytest.mark.parametrize("variant", ["mse_sgd", "softmax_adam"])
def test_mlp_digits_tf1_code_run_eagerly(variant):
    problem = mlp_digits.parity_problem(STEPS, seed=0, variant=variant)
    optimizer = {"mse_sgd": lambda: tf.keras.optimizers.SGD(mlp_digits.LEARNING_RATE),
                 "softmax_adam": lambda: tf.keras.optimizers.Adam(mlp_digits.LEARNING_RATE, epsilon=1e-8)}[variant]
    report = gm.check_parity(
        problem.build_graph,
        lambda: gm.EagerModel.from_tf1(lambda x, y: mlp_digits.model(x, y, variant), optimizer(), problem.batches[0]),
        problem.batches, atol=problem.atol, rtol=problem.rtol,
    )
    assert report.ok, str(report)
    assert sorted(report.candidate.variables) == ["b1", "b2", "b3", "w1", "w2", "w3"]


# --- a tf.compat.v1.layers model, with a regularizer --------------------------------------------

def layers_model(x, y):
    """TF1 code as tf.compat.v1.layers tutorials wrote it: get_variable under the hood, L2 on the kernels."""
    with v1.variable_scope("net"):
        hidden = v1.layers.dense(x, 8, activation=tf.nn.relu, name="hidden",
                                 kernel_regularizer=tf.keras.regularizers.L2(1e-3))
        logits = v1.layers.dense(hidden, 3, name="logits", kernel_regularizer=tf.keras.regularizers.L2(1e-3))
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
    return loss + tf.add_n(v1.losses.get_regularization_losses() or [tf.constant(0.0)])


def layers_graph(optimizer=lambda: v1.train.AdamOptimizer(0.01)) -> gm.GraphModel:
    graph = gm.new_graph(seed=3)
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, 4], name="x")
        y = v1.placeholder(tf.int32, [None], name="y")
        loss = layers_model(x, y)
        train_op = optimizer().minimize(loss)
        variables = v1.trainable_variables()
    return gm.GraphModel(graph, (x, y), loss, train_op, variables)


def layers_batches(steps: int = STEPS) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(steps, 16, 4)).astype(np.float32)
    return [(batch, (batch.sum(axis=1) > 0).astype(np.int32) + (batch[:, 0] > 1)) for batch in x]


def test_tf1_layers_model_with_regularizers_run_eagerly():
    batches = layers_batches()

    def eager(regularization_losses: bool = True) -> gm.EagerModel:
        return gm.EagerModel.from_tf1(layers_model, tf.keras.optimizers.Adam(0.01, epsilon=1e-8), batches[0],
                                      regularization_losses=regularization_losses)

    model = eager()
    # TF1 names, as the graph has them: the shim runs get_variable in the layer's variable store.
    assert sorted(named_variables(model.variables, "eager")) == [
        "net/hidden/bias", "net/hidden/kernel", "net/logits/bias", "net/logits/kernel"]
    report = gm.check_parity(layers_graph, eager, batches)
    assert report.ok, str(report)
    # Eagerly the regularization collection is empty: without the layer's losses the
    # eager loss lacks the L2 term, and the check says so at the first loss.
    forgot = gm.check_parity(layers_graph, lambda: eager(regularization_losses=False), batches)
    first = forgot.first_divergence
    assert (first.step, first.variable) == (1, "loss")
    assert first.candidate_value < first.reference_value


def test_a_porting_mistake_in_the_optimizer_is_still_caught():
    # The TF1 code is the same on both sides; the Keras optimizer's learning rate is 10x TF1's.
    problem = sigmoid_classifier.parity_problem(STEPS, seed=1)
    report = gm.check_parity(
        problem.build_graph,
        lambda: gm.EagerModel.from_tf1(sigmoid_classifier.model, tf.keras.optimizers.Adam(0.01, epsilon=1e-8),
                                       problem.batches[0]),
        problem.batches, atol=problem.atol, rtol=problem.rtol,
    )
    assert not report.ok and report.first_divergence.step == 1


def test_plain_variables_are_created_once_and_reused_in_order():
    calls = []

    def model(x):
        calls.append(1)
        first = tf.Variable(tf.ones([2]), name="Variable")
        second = tf.Variable(tf.fill([2], 2.0), name="Variable")
        return tf.reduce_sum(x * first * second)

    eager = gm.EagerModel.from_tf1(model, tf.keras.optimizers.SGD(0.5), (np.ones(2, np.float32),))
    names = named_variables(eager.variables, "eager")
    assert sorted(names) == ["Variable", "Variable_1"]  # as a TF1 graph names the second one
    eager.train_step(np.ones(2, np.float32))
    eager.train_step(np.ones(2, np.float32))
    assert len(calls) == 3  # the building call, then two steps on the same variables
    # d/d first = second = 2 (and after the first step ...): both moved, neither recreated.
    assert names["Variable"].numpy().tolist() != [1.0, 1.0] and names["Variable_1"].numpy().tolist() != [2.0, 2.0]


def test_code_that_creates_different_variables_per_call_is_refused():
    shapes = iter([[2], [3]])

    def model(x):
        w = tf.Variable(tf.zeros(next(shapes)), name="w")
        return tf.reduce_sum(w)

    eager = gm.EagerModel.from_tf1(model, tf.keras.optimizers.SGD(0.1), (np.ones(2, np.float32),))
    with pytest.raises(gm.errors.ConfigError, match=r"tf.Variable number 1 has shape \(3,\) on call 2 but \(2,\) on the "
                                             r"first \('w'\)"):
        eager.train_step(np.ones(2, np.float32))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((lambda x: x, v1.train.AdamOptimizer(0.1), (np.ones(1, np.float32),)),
         "EagerModel.from_tf1 takes a Keras optimizer .*; got AdamOptimizer"),
        ((lambda x: x, tf.keras.optimizers.SGD(0.1), np.ones(1, np.float32)),
         "example_batch must be one batch as a tuple with one array per input of build_fn; got ndarray"),
        ((lambda x: tf.reduce_sum(x), tf.keras.optimizers.SGD(0.1), (np.ones(1, np.float32),)),
         "the TF1 model code '<lambda>' created no variables on its first call"),
    ],
)
def test_bad_arguments_are_named(arguments, message):
    with pytest.raises(gm.errors.ConfigError, match=message):
        gm.EagerModel.from_tf1(*arguments)
