"""Parity harness: matching rewrites pass; the usual migration mistakes are caught at the right step."""

from __future__ import annotations

import json

import numpy as np
import pytest

import graphmode as gm
from graphmode import tf, v1

BATCH = 8
STEPS = 6
# The third feature lives on a tiny scale (think raw units of 1e-6), so its
# weight's gradient is ~1e-6: small enough for Adam's epsilon to matter.
FEATURE_SCALE = np.array([1.0, 1.0, 1e-6], np.float32)
TRUE_WEIGHTS = np.array([[1.0], [-2.0], [5e5]], np.float32)


def regression_batches(steps: int = STEPS, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    x = (rng.normal(size=(steps * BATCH, 3)) * FEATURE_SCALE).astype(np.float32)
    y = (x @ TRUE_WEIGHTS + 0.3).astype(np.float32)
    return [(x[i : i + BATCH], y[i : i + BATCH]) for i in range(0, steps * BATCH, BATCH)]


def build_graph() -> gm.GraphModel:
    graph = gm.new_graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, 3], name="x")
        y = v1.placeholder(tf.float32, [None, 1], name="y")
        w = v1.get_variable("w", [3, 1])  # glorot-uniform: the eager side must receive these values
        b = v1.get_variable("b", [1], initializer=v1.zeros_initializer())
        loss = tf.reduce_mean(tf.square(tf.matmul(x, w) + b - y))
        train_op = v1.train.AdamOptimizer(0.01).minimize(loss)
    return gm.GraphModel(graph, (x, y), loss, train_op, {"w": w, "b": b})


def build_eager(
    *, adam=None, reduce=tf.reduce_mean, bias_name="b", bias_shape=(1,), with_bias=True
) -> gm.EagerModel:
    # The graph's get_variable default (glorot-uniform); the run starts from the graph's values.
    w = tf.Variable(tf.keras.initializers.GlorotUniform()([3, 1]))
    b = tf.Variable(tf.zeros(bias_shape))
    # TF1's AdamOptimizer uses epsilon=1e-8; Keras defaults to 1e-7.
    optimizer = tf.keras.optimizers.Adam(0.01, **({"epsilon": 1e-8} if adam is None else adam))
    trained = [w, b] if with_bias else [w]

    def train_step(x, y):
        with tf.GradientTape() as tape:
            prediction = tf.matmul(x, w) + (b if with_bias else 0.0)
            loss = reduce(tf.square(prediction - y))
        optimizer.apply_gradients(zip(tape.gradient(loss, trained), trained))
        return loss

    variables = {"w": w, bias_name: b} if with_bias else {"w": w}
    return gm.EagerModel(variables, train_step)


@pytest.fixture(scope="module")
def batches():
    return regression_batches()


def test_matching_rewrite_is_within_tolerance(batches):
    report = gm.check_parity(build_graph, build_eager, batches)
    assert report.ok, str(report)
    assert report.steps == STEPS and report.first_divergence is None
    assert [q.name for q in report.variables] == ["w", "b"]
    # The eager side draws its own glorot values; it must have been given the graph's.
    initial_w = report.reference.variables["w"][0]
    assert np.abs(initial_w).max() > 0
    np.testing.assert_array_equal(report.candidate.variables["w"][0], initial_w)
    assert report.reference.variables["w"].shape == (STEPS + 1, 3, 1)
    assert gm.assert_parity(report) is report


@pytest.mark.filterwarnings("ignore:`tf.layers.dense` is deprecated")
def test_keras_layer_names_are_paired_with_tf1_layer_names():
    rng = np.random.default_rng(1)
    data = [(rng.normal(size=(4, 3)).astype(np.float32), rng.normal(size=(4, 2)).astype(np.float32))] * 3

    def graph_side():
        graph = gm.new_graph()
        with graph.as_default():
            x = v1.placeholder(tf.float32, [None, 3])
            y = v1.placeholder(tf.float32, [None, 2])
            hidden = v1.layers.dense(x, 4, activation=tf.nn.relu)
            loss = tf.reduce_mean(tf.square(v1.layers.dense(hidden, 2) - y))
            train_op = v1.train.GradientDescentOptimizer(0.1).minimize(loss)
        return gm.GraphModel(graph, (x, y), loss, train_op, graph.get_collection(v1.GraphKeys.TRAINABLE_VARIABLES))

    def eager_side():
        tf.keras.backend.clear_session()
        tf.keras.layers.Dense(1)  # bumps Keras' layer counter, as earlier code in a program would
        model = tf.keras.Sequential([tf.keras.layers.Dense(4, activation="relu"), tf.keras.layers.Dense(2)])
        model.build([None, 3])
        optimizer = tf.keras.optimizers.SGD(0.1)

        def train_step(x, y):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(model(x) - y))
            optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
            return loss

        return gm.EagerModel(model.trainable_variables, train_step)

    report = gm.check_parity(graph_side, eager_side, data)
    assert report.ok, str(report)
    pairs = {q.name: q.candidate_name for q in report.variables}
    assert set(pairs) == {"dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias"}
    assert pairs["dense/kernel"].endswith("/kernel") and pairs["dense/kernel"] != pairs["dense_1/kernel"]
    assert report.loss.max_abs_diff < 1e-5


def test_adam_epsilon_left_at_keras_default_diverges_after_the_first_update(batches):
    report = gm.check_parity(build_graph, lambda: build_eager(adam={}), batches)
    first = report.first_divergence
    assert not report.ok
    # Same start, so step 1's loss agrees; its update differs, first where the gradient is tiny.
    assert (first.kind, first.step, first.variable, first.index) == ("value", 1, "w", (2, 0))
    assert abs(first.candidate_value - first.reference_value) == pytest.approx(first.max_abs_diff)
    with pytest.raises(AssertionError, match=r"^parity: step 1, variable 'w' after the update \(shape \(3, 1\) on both sides\)"):
        gm.assert_parity(report)


def test_reduce_sum_instead_of_reduce_mean_diverges_at_the_first_loss(batches):
    report = gm.check_parity(build_graph, lambda: build_eager(reduce=tf.reduce_sum), batches)
    first = report.first_divergence
    assert (first.step, first.variable) == (1, "loss")
    # A sum over the batch is BATCH times its mean.
    assert first.candidate_value == pytest.approx(BATCH * first.reference_value, rel=1e-5)


def test_missing_variable_is_a_structure_issue_reported_before_values(batches):
    report = gm.check_parity(build_graph, lambda: build_eager(with_bias=False), batches)
    first = report.first_divergence
    assert (first.kind, first.step, first.variable) == ("missing", 0, "b")
    assert "not in the candidate (eager)" in first.detail and "name_map" in first.detail
    # b starts at 0 on the graph side, so the losses part only once it has moved: step 2.
    assert report.loss.first_divergence.step == 2
    assert [q.name for q in report.variables] == ["w"]


def test_renamed_variable_is_reported_on_both_sides_and_fixed_by_a_name_map(batches):
    report = gm.check_parity(build_graph, lambda: build_eager(bias_name="bias"), batches)
    kinds = [(issue.kind, issue.variable) for issue in report.structure_issues]
    assert kinds == [("missing", "b"), ("missing", "bias")]
    assert "candidate-only variables: ['bias']" in report.structure_issues[0].detail
    fixed = gm.check_parity(build_graph, lambda: build_eager(bias_name="bias"), batches, name_map={"b": "bias"})
    assert fixed.ok, str(fixed)
    assert [(q.name, q.candidate_name) for q in fixed.variables] == [("w", "w"), ("b", "bias")]


def test_shape_mismatch_is_reported_even_when_the_values_agree(batches):
    # A scalar bias broadcasts like the graph's [1] bias, so every number matches.
    report = gm.check_parity(build_graph, lambda: build_eager(bias_shape=()), batches)
    assert report.loss.ok
    first = report.first_divergence
    assert (first.kind, first.step, first.variable) == ("shape", 0, "b")
    assert (first.reference_shape, first.candidate_shape) == ((1,), ())
    assert "shape (1,) in the reference (graph) but () in the candidate (eager)" in first.format()


def test_different_data_order_diverges_at_the_first_reordered_step(batches):
    reference = gm.parity.run_graph(build_graph(), batches)
    reordered = batches[:2] + [batches[3], batches[2]] + batches[4:]
    initial = {name: values[0] for name, values in reference.variables.items()}
    candidate = gm.parity.run_eager(build_eager(), reordered, initial)
    report = gm.parity.compare_trajectories(reference, candidate, atol=1e-6, rtol=1e-5)
    assert (report.first_divergence.step, report.first_divergence.variable) == (3, "loss")
    assert all(q.first_divergence.step == 3 for q in report.variables)


def test_seeded_random_initializers_agree_through_the_deterministic_random_tool():
    data = regression_batches(steps=2)

    def graph_side():
        graph = gm.new_graph()
        with graph.as_default():
            x = v1.placeholder(tf.float32, [None, 3])
            y = v1.placeholder(tf.float32, [None, 1])
            w = v1.get_variable("w", [3, 1])
            b = v1.get_variable("b", [1], initializer=v1.random_normal_initializer())
            loss = tf.reduce_mean(tf.square(tf.matmul(x, w) + b - y))
            train_op = v1.train.GradientDescentOptimizer(0.1).minimize(loss)
        return gm.GraphModel(graph, (x, y), loss, train_op, {"w": w, "b": b})

    def eager_side():
        w = tf.Variable(v1.glorot_uniform_initializer()([3, 1]))
        b = tf.Variable(tf.random.normal([1]))
        optimizer = tf.keras.optimizers.SGD(0.1)

        def train_step(x, y):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(tf.matmul(x, w) + b - y))
            optimizer.apply_gradients(zip(tape.gradient(loss, [w, b]), [w, b]))
            return loss

        return gm.EagerModel({"w": w, "b": b}, train_step)

    unseeded = gm.check_parity(graph_side, eager_side, data, initial_values="own")
    assert (unseeded.first_divergence.step, unseeded.first_divergence.variable) == (0, "w")
    for mode in ("constant", "num_random_ops"):
        seeded = gm.check_parity(graph_side, eager_side, data, initial_values="own", random_ops=mode)
        assert seeded.ok, f"{mode}: {seeded}"
        assert np.abs(seeded.candidate.variables["b"][0]).max() > 0


def test_explicit_initial_values_reach_both_sides(batches):
    start = {"w": np.full((3, 1), 0.5, np.float32), "b": np.array([0.25], np.float32)}
    report = gm.check_parity(build_graph, build_eager, batches[:2], initial_values=start)
    assert report.ok
    for trajectory in (report.reference, report.candidate):
        np.testing.assert_array_equal(trajectory.variables["w"][0], start["w"])
        np.testing.assert_array_equal(trajectory.variables["b"][0], start["b"])


def _trajectory(mode, losses, **variables):
    return gm.parity.Trajectory(mode, np.asarray(losses, np.float64),
                         {k: np.asarray(v, np.float64) for k, v in variables.items()})


def test_tolerance_rule_is_scaled_by_the_reference():
    # atol + rtol*|ref| = 0.5 + 0.01*100 = 1.5 allowed around 100.
    reference = _trajectory("graph", [100.0], v=[[0.0], [100.0]])
    at_limit = _trajectory("eager", [101.5], v=[[0.5], [98.5]])
    assert gm.parity.compare_trajectories(reference, at_limit, atol=0.5, rtol=0.01).ok
    past_limit = _trajectory("eager", [101.75], v=[[0.0], [100.0]])
    report = gm.parity.compare_trajectories(reference, past_limit, atol=0.5, rtol=0.01)
    assert (report.first_divergence.step, report.first_divergence.variable) == (1, "loss")
    # Swapping sides changes the scale: |98.5 - 100| = 1.5 > 0.5 + 0.01*98.5.
    swapped = gm.parity.compare_trajectories(at_limit, reference, atol=0.5, rtol=0.01)
    assert (swapped.first_divergence.step, swapped.first_divergence.variable) == (1, "v")


def test_nan_matches_nan_but_not_a_number():
    reference = _trajectory("graph", [np.nan, 1.0], v=[[0.0], [1.0], [2.0]])
    same = _trajectory("eager", [np.nan, 1.0], v=[[0.0], [1.0], [2.0]])
    assert gm.parity.compare_trajectories(reference, same, atol=0, rtol=0).ok
    diverged = _trajectory("eager", [1.0, 1.0], v=[[0.0], [1.0], [np.nan]])
    report = gm.parity.compare_trajectories(reference, diverged, atol=0, rtol=0)
    assert (report.first_divergence.step, report.first_divergence.variable) == (1, "loss")
    assert report.first_divergence.max_abs_diff == np.inf
    assert json.loads(report.to_json())["first_divergence"]["max_abs_diff"] == "inf"
    assert report.variables[0].first_divergence.step == 2


def test_different_step_counts_compare_the_shared_steps():
    reference = _trajectory("graph", [3.0, 2.0, 1.0], v=[[0.0], [1.0], [2.0], [3.0]])
    shorter = _trajectory("eager", [3.0, 2.0], v=[[0.0], [1.0], [2.0]])
    report = gm.parity.compare_trajectories(reference, shorter, atol=0, rtol=0)
    assert report.steps == 2 and report.loss.ok
    assert (report.first_divergence.kind, report.first_divergence.step) == ("steps", 3)
    assert "ran 3 steps and the candidate (eager) 2" in report.first_divergence.detail


def test_report_table_dict_and_json(batches):
    report = gm.check_parity(build_graph, lambda: build_eager(adam={}), batches)
    text = str(report)
    lines = text.splitlines()
    assert lines[0].startswith("parity DIVERGED: eager (candidate) vs graph (reference), 6 steps, lockstep")
    assert "max|a-b| <= atol + rtol*max|ref| with atol=1e-06, rtol=1e-05" in lines[0]
    # Lockstep rows: the loss, the variables, Adam's slots and counters, worst first.
    rows = {line.split()[0]: line.split() for line in lines[2:11]}
    assert set(rows) == {"(loss)", "w", "b", "w/Adam", "w/Adam_1", "b/Adam", "b/Adam_1", "beta1_power", "beta2_power"}
    assert lines[2].startswith("(loss)") and lines[3].startswith("w ") and rows["w"][-1] == "1"
    assert rows["w"][-2].endswith("x") and float(rows["w"][-2][:-1]) > 100
    assert "drift over the run (free-running, information, not the verdict)" in text
    assert "first divergence, in the update (the step's loss agreed, the state after it did not)" in text
    message = report.first_divergence.format()
    for part in ("step 1", "variable 'w' after the update", "shape (3, 1)", "max abs diff", "max rel diff",
                 "at [2, 0]", "reference ", "candidate ", "x over the tolerance", "atol=1e-06", "rtol=1e-05",
                 "reference: graph, candidate: eager"):
        assert part in message
    data = json.loads(report.to_json())
    assert data["ok"] is False and data["steps"] == STEPS
    assert data["first_divergence"]["step"] == 1 and data["first_divergence"]["index"] == [2, 0]
    assert data["variables"]["w"]["first_divergence"]["variable"] == "w"
    assert len(data["reference_losses"]) == len(data["candidate_losses"]) == STEPS
    assert report.to_dict()["tolerance_rule"] == "|a-b| <= atol + rtol*|ref|"
    assert len(report.format_steps().splitlines()) == STEPS + 1


def test_match_variable_names():
    pairs = gm._pairing.match_variable_names(
        ["dense/kernel:0", "dense/bias:0", "dense_1/kernel:0", "scale"],
        ["dense_7/kernel:0", "dense_7/bias:0", "dense_8/kernel:0", "offset"],
    )
    assert pairs == {"dense/kernel:0": "dense_7/kernel:0", "dense/bias:0": "dense_7/bias:0",
                     "dense_1/kernel:0": "dense_8/kernel:0"}
    # Counters shifted by one: equal names must not pair across layers.
    shifted = gm._pairing.match_variable_names(["dense/kernel", "dense_1/kernel"], ["dense_1/kernel", "dense_2/kernel"])
    assert shifted == {"dense/kernel": "dense_1/kernel", "dense_1/kernel": "dense_2/kernel"}
    same = gm._pairing.match_variable_names(["b/v", "a/v"], ["a/v", "b/v"])
    assert same == {"b/v": "b/v", "a/v": "a/v"}
    assert gm._pairing.match_variable_names(["scale"], ["offset"], {"scale": "offset"}) == {"scale": "offset"}


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda b: gm.check_parity(build_graph, build_eager, b, atol=-1.0), "atol must be a number >= 0; got -1.0"),
        (lambda b: gm.check_parity(build_graph, build_eager, b, random_ops="fixed"), "random_ops must be one of"),
        (lambda b: gm.check_parity(build_graph, build_eager, b, initial_values="graph"),
         "initial_values must be None, a name -> array mapping or 'own'; got 'graph'"),
        (lambda b: gm.check_parity(build_graph, build_eager, b, name_map={"bias": "b"}),
         "name_map key 'bias' is not a reference variable"),
        (lambda b: gm.check_parity(build_graph, build_eager, b, name_map={"b": "beta"}),
         "name_map value 'beta' \\(for 'b'\\) is not a candidate variable"),
        (lambda b: gm.check_parity(build_graph, build_eager, b, initial_values={"bias": np.zeros(1)}),
         "initial value for 'bias', which is not a graph variable"),
        (lambda b: gm.check_parity(build_graph, build_eager, b, initial_values={"w": np.zeros(3)}),
         r"initial value for graph variable 'w' has shape \(3,\); the variable has shape \(3, 1\)"),
        (lambda b: gm.check_parity(lambda: "graph", build_eager, b), "build_graph must return a GraphModel; it returned str"),
        (lambda b: gm.check_parity(build_graph, lambda: None, b), "build_eager must return an EagerModel; it returned NoneType"),
        (lambda b: gm.parity.run_graph(build_graph(), [b[0][0]]), "step 1: the batch has 1 arrays but the graph model takes 2 inputs"),
        (lambda b: gm.parity.compare_trajectories(_trajectory("graph", [1.0]), _trajectory("eager", [1.0]), atol=0, rtol=None),
         "rtol must be a number >= 0; got None"),
        (lambda b: gm.assert_parity("report"), "assert_parity takes a ParityReport or ParityProblem; got str"),
        (lambda b: gm.parity.run_eager(gm.EagerModel([tf.Variable(1.0, name="v"), tf.Variable(2.0, name="v")], None), b),
         "two eager variables are named 'v'"),
    ],
)
def test_bad_input_is_named(batches, call, message):
    with pytest.raises(gm.errors.ConfigError, match=message):
        call(batches)


def test_non_scalar_loss_is_a_parity_error(batches):
    def per_example_loss():
        return build_eager(reduce=lambda squares: tf.reduce_mean(squares, axis=1))

    with pytest.raises(gm.errors.ParityError, match=r"step 1: the eager loss has shape \(8,\); .*tf.reduce_mean"):
        gm.check_parity(build_graph, per_example_loss, batches[:1])


def test_run_eager_inside_a_graph_block_is_refused(batches):
    with gm.new_graph().as_default():
        with pytest.raises(gm.errors.ConfigError, match="run_eager needs eager execution"):
            gm.parity.run_eager(gm.EagerModel({}, lambda *batch: 0.0), batches)


def test_an_error_inside_a_step_says_which_side_and_step(batches):
    wrong_width = (np.zeros((BATCH, 4), np.float32), batches[1][1])
    with pytest.raises(gm.errors.FeedError) as caught:
        gm.parity.run_graph(build_graph(), [batches[0], wrong_width])
    assert "graphmode parity: raised by the graph side at step 2" in caught.value.__notes__


def test_seeded_dropout_agrees_on_the_first_step():
    data = regression_batches(steps=1)

    def graph_side():
        graph = gm.new_graph()
        with graph.as_default():
            x = v1.placeholder(tf.float32, [None, 3])
            y = v1.placeholder(tf.float32, [None, 1])
            w = v1.get_variable("w", [3, 4])
            hidden = tf.nn.dropout(tf.matmul(x, w), rate=0.5)
            loss = tf.reduce_mean(tf.square(tf.reduce_sum(hidden, axis=1, keepdims=True) - y))
            train_op = v1.train.GradientDescentOptimizer(0.1).minimize(loss)
        return gm.GraphModel(graph, (x, y), loss, train_op, {"w": w})

    def eager_side():
        w = tf.Variable(tf.keras.initializers.GlorotUniform()([3, 4]))
        optimizer = tf.keras.optimizers.SGD(0.1)

        def train_step(x, y):
            with tf.GradientTape() as tape:
                hidden = tf.nn.dropout(tf.matmul(x, w), rate=0.5)
                loss = tf.reduce_mean(tf.square(tf.reduce_sum(hidden, axis=1, keepdims=True) - y))
            optimizer.apply_gradients([(tape.gradient(loss, w), w)])
            return loss

        return gm.EagerModel({"w": w}, train_step)

    seeded = gm.check_parity(graph_side, eager_side, data, random_ops="constant")
    assert seeded.ok, str(seeded)
    # Without the tool the two sides drop different units: the first loss already differs.
    unseeded = gm.check_parity(graph_side, eager_side, data)
    assert (unseeded.first_divergence.step, unseeded.first_divergence.variable) == (1, "loss")
