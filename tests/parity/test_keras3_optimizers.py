"""Lockstep carries optimizer state for both Kerases: tf-keras (``tf.keras`` here) and Keras 3 (``keras``).

graphmode sets ``TF_USE_LEGACY_KERAS=1`` before TensorFlow loads, so in this
process ``tf.keras`` is tf-keras while ``import keras`` is still Keras 3; a
rewrite may use either. Each test trains a real ``tf.compat.v1.train``
optimizer against the Keras one, so every slot and counter is compared with
the TF1 original's at every step; a planted hyperparameter mistake shows that
the comparison can fail. Learning-rate schedules (converted with the
schedule's value at each step) and an optimizer the train step creates on its
first call are covered here too.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import graphmode as gm
from graphmode import tf, v1
from graphmode._slots import keras_package, learning_rate_at

# After graphmode: `import keras` first would load TensorFlow before graphmode could ask for tf-keras.
keras = importlib.import_module("keras")

STEPS, FEATURES, HIDDEN = 4, 6, 5
KERASES = {"tf.keras": tf.keras, "keras": keras}


def _batches(steps: int = STEPS) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.RandomState(3)
    teacher = rng.normal(size=(FEATURES, 1))
    out = []
    for _ in range(steps):
        x = rng.normal(size=(16, FEATURES)).astype(np.float32)
        out.append((x, (np.tanh(x @ teacher) + 0.1 * rng.normal(size=(16, 1))).astype(np.float32)))
    return out


def _forward(x, w1, b1, w2):
    return tf.matmul(tf.tanh(tf.matmul(x, w1) + b1), w2)


def _graph(make_optimizer) -> gm.GraphModel:
    graph = gm.new_graph(0)
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, FEATURES], name="x")
        y = v1.placeholder(tf.float32, [None, 1], name="y")
        w1 = v1.get_variable("w1", [FEATURES, HIDDEN], initializer=v1.glorot_uniform_initializer())
        b1 = v1.get_variable("b1", [HIDDEN], initializer=v1.constant_initializer(0.1))
        w2 = v1.get_variable("w2", [HIDDEN, 1], initializer=v1.glorot_uniform_initializer())
        loss = tf.reduce_mean(tf.square(_forward(x, w1, b1, w2) - y))
        global_step = v1.train.get_or_create_global_step()
        train_op = make_optimizer(global_step).minimize(loss, global_step=global_step)
    return gm.GraphModel(graph, (x, y), loss, train_op, [w1, b1, w2])


def _glorot(shape: list[int]) -> tf.Variable:
    limit = np.sqrt(6 / sum(shape))
    return tf.Variable(tf.random.uniform(shape, -limit, limit))


def _variables() -> dict[str, tf.Variable]:
    return {"w1": _glorot([FEATURES, HIDDEN]), "b1": tf.Variable(tf.fill([HIDDEN], 0.1)), "w2": _glorot([HIDDEN, 1])}


def _eager(optimizer) -> gm.EagerModel:
    variables = _variables()

    def train_step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(_forward(x, *variables.values()) - y))
        optimizer.apply_gradients(zip(tape.gradient(loss, list(variables.values())), variables.values()))
        return loss

    return gm.EagerModel(variables, train_step)


def _check(tf1_optimizer, keras_optimizer) -> gm.parity.ParityReport:
    return gm.check_parity(lambda: _graph(tf1_optimizer), lambda: _eager(keras_optimizer()), _batches())


# TF1 optimizer, the same rule in Keras (its arguments for either Keras), the slots TF1 keeps per weight.
PAIRS = {
    "adam": (lambda gs: v1.train.AdamOptimizer(0.01), lambda k: k.optimizers.Adam(0.01, epsilon=1e-8),
             ("Adam", "Adam_1")),
    "momentum": (lambda gs: v1.train.MomentumOptimizer(0.05, 0.9), lambda k: k.optimizers.SGD(0.05, momentum=0.9),
                 ("Momentum",)),
    "sgd": (lambda gs: v1.train.GradientDescentOptimizer(0.05), lambda k: k.optimizers.SGD(0.05), ()),
    "adagrad": (lambda gs: v1.train.AdagradOptimizer(0.05),
                lambda k: k.optimizers.Adagrad(0.05, initial_accumulator_value=0.1, epsilon=1e-10), ("Adagrad",)),
    "rmsprop": (lambda gs: v1.train.RMSPropOptimizer(0.01, momentum=0.5, centered=True),
                lambda k: k.optimizers.RMSprop(0.01, rho=0.9, momentum=0.5, centered=True, epsilon=1e-10),
                ("RMSProp", "RMSProp_1", "RMSProp_2")),
}


def test_in_this_process_tf_keras_is_tf_keras_and_keras_is_keras_3():
    assert keras_package(tf.keras.optimizers.Adam()) == "tf_keras"
    assert keras_package(keras.optimizers.Adam()) == "keras"
    assert keras.__version__.startswith("3.")


# Every kind in Keras 3; tf-keras' optimizers are covered throughout the parity suite, one kind here.
FAITHFUL = [("keras", kind) for kind in PAIRS] + [("tf.keras", "momentum")]


@pytest.mark.parametrize(("family", "kind"), FAITHFUL)
def test_a_faithful_port_passes_with_every_slot_compared_at_every_step(family, kind):
    tf1_optimizer, keras_optimizer, suffixes = PAIRS[kind]
    report = _check(tf1_optimizer, lambda: keras_optimizer(KERASES[family]))
    assert not report.lockstep.structure_issues, report.lockstep.structure_issues
    if kind == "rmsprop":
        # TF1 starts its mean square at 1, Keras at 0, so step 1 differs (graphmode's TF1RMSprop keeps TF1's
        # start); from step 2 on lockstep carries TF1's mean square over and every quantity agrees.
        assert report.first_divergence.step == 1
        assert all(q.first_divergence.step == 1 for q in report.lockstep.state if q.name.endswith("/RMSProp"))
        assert all((q.over_tolerance[1 - q.first_step + 1:] < 1).all() for q in report.lockstep.state), str(report)
    else:
        assert report.ok, str(report)
    slots = {q.name for q in report.lockstep.state if q.kind == "slot"}
    # The centered RMSProp keeps all three; each is compared from the first update on.
    assert slots == {f"{w}/{s}" for w in ("w1", "b1", "w2") for s in suffixes}
    for quantity in report.lockstep.state:
        if quantity.kind in ("slot", "counter"):
            assert len(quantity.max_abs_diffs) == STEPS, quantity.name
    assert {q.name for q in report.lockstep.state if q.kind == "counter"} >= {"global_step"}


@pytest.mark.parametrize("family", list(KERASES))
def test_a_wrong_keras_3_or_tf_keras_hyperparameter_shows_in_its_slot_at_step_1(family):
    module = KERASES[family]
    report = _check(lambda gs: v1.train.RMSPropOptimizer(0.01, decay=0.9),
                    lambda: module.optimizers.RMSprop(0.01, rho=0.99, epsilon=1e-10))
    first = report.first_divergence
    assert (first.step, first.phase) == (1, "update")
    mean_square = [q.first_divergence for q in report.lockstep.state if q.name.endswith("/RMSProp")]
    assert mean_square and all(d is not None and d.step == 1 and d.quantity == "slot" for d in mean_square)


# --- learning-rate schedules: the momentum slot is converted with the schedule's value at each step ----------

def _decay(gs):
    return v1.train.exponential_decay(0.1, gs, decay_steps=1, decay_rate=0.5)


@pytest.mark.parametrize("family", list(KERASES))
def test_momentum_under_a_schedule_is_converted_with_each_steps_learning_rate(family):
    module = KERASES[family]

    def keras_optimizer(rate=0.5):
        schedule = module.optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=rate)
        return module.optimizers.SGD(schedule, momentum=0.9)

    report = _check(lambda gs: v1.train.MomentumOptimizer(_decay(gs), 0.9), keras_optimizer)
    assert report.ok, str(report)
    momentum = [q for q in report.lockstep.state if q.name.endswith("/Momentum")]
    assert len(momentum) == 3 and all(len(q.max_abs_diffs) == STEPS for q in momentum)
    # Halving per step for 4 steps: a constant-rate conversion would be off by up to 8x in the slot.
    wrong = _check(lambda gs: v1.train.MomentumOptimizer(_decay(gs), 0.9), lambda: keras_optimizer(0.6))
    assert wrong.first_divergence.step == 2  # step 1 runs at the shared initial rate 0.1


@pytest.mark.parametrize("family", list(KERASES))
def test_learning_rate_at_reads_the_schedule_at_the_given_step_count(family):
    module = KERASES[family]
    optimizer = module.optimizers.SGD(module.optimizers.schedules.ExponentialDecay(0.1, 1, 0.5), momentum=0.9)
    assert [learning_rate_at(optimizer, i) for i in range(3)] == pytest.approx([0.1, 0.05, 0.025], rel=1e-6)
    assert learning_rate_at(optimizer) == pytest.approx(0.1)  # iterations == 0: the next step's
    assert learning_rate_at(module.optimizers.SGD(0.3)) == pytest.approx(0.3)


# --- an optimizer the train step creates on its first call -------------------------------------------------

class _LazyPort:
    """A rewrite that builds its optimizer when training starts (a common Keras pattern)."""

    def __init__(self, module) -> None:
        self.module, self.optimizer, self.variables = module, None, _variables()

    def train_step(self, x, y):
        if self.optimizer is None:
            self.optimizer = self.module.optimizers.Adam(0.01, epsilon=1e-8)
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(_forward(x, *self.variables.values()) - y))
        self.optimizer.apply_gradients(zip(tape.gradient(loss, list(self.variables.values())),
                                           self.variables.values()))
        return loss


@pytest.mark.parametrize("family", list(KERASES))
def test_an_optimizer_created_on_the_first_train_step_is_found_after_it(family):
    def build():
        port = _LazyPort(KERASES[family])
        return gm.EagerModel(port.variables, port.train_step)

    report = gm.check_parity(lambda: _graph(PAIRS["adam"][0]), build, _batches())
    assert report.ok, str(report)
    assert {q.name for q in report.lockstep.state if q.kind == "slot"} == {
        f"{w}/{s}" for w in ("w1", "b1", "w2") for s in ("Adam", "Adam_1")}


def test_a_closure_filled_on_the_first_call_is_found_too():
    def build():
        variables, holder = _variables(), None

        def train_step(x, y):
            nonlocal holder
            holder = holder or keras.optimizers.Adam(0.01, epsilon=1e-8)
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(_forward(x, *variables.values()) - y))
            holder.apply_gradients(zip(tape.gradient(loss, list(variables.values())), variables.values()))
            return loss

        return gm.EagerModel(variables, train_step)

    report = gm.check_parity(lambda: _graph(PAIRS["adam"][0]), build, _batches())
    assert report.ok and any(q.kind == "slot" for q in report.lockstep.state), str(report)


def test_an_optimizer_made_anew_in_every_call_is_named_with_what_to_do():
    def build():
        variables = _variables()

        def train_step(x, y):
            optimizer = keras.optimizers.Adam(0.01)
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(_forward(x, *variables.values()) - y))
            optimizer.apply_gradients(zip(tape.gradient(loss, list(variables.values())), variables.values()))
            return loss

        return gm.EagerModel(variables, train_step)

    report = gm.check_parity(lambda: _graph(PAIRS["adam"][0]), build, _batches(2))
    assert not report.ok
    text = str(report)
    assert "uses no Keras optimizer: none was found after its first step" in text
    assert "keep it where the next call reuses it" in text and "EagerModel(..., optimizer=...)" in text
