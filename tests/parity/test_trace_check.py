"""Checking a rewrite against a recorded trace reads as checking it against the live graph.

Differential: each TF1 original of the parity suite is recorded into a trace,
and the same eager rewrite (faithful, or with one of the suite's planted
mistakes) is checked against the trace and against ``build_graph`` started
from the recorded initial values. Both are TF1 runs of the same graph from the
same state on the same batches, so every lockstep number must agree, and the
verdict, first divergence (step, quantity, phase, variable) and unlisted
state with it.
"""

from __future__ import annotations

import numpy as np
import parity_models
import pytest
from trace_recording import record_graph_model

import graphmode as gm
from graphmode import v1
from graphmode.cli import main as cli_main
from graphmode.errors import ConfigError
from graphmode.parity import ParityReport
from graphmode.parity.gallery import regress_a

STEPS = 3

# name -> (problem builder, graph options, eager options); the mistakes are the ones tests/parity plants.
CASES = {
    "faithful adam": (parity_models.adam_mlp_graph, parity_models.adam_mlp_eager, {}, {}),
    "adam epsilon at the keras default": (parity_models.adam_mlp_graph, parity_models.adam_mlp_eager, {},
                                          {"epsilon": 1e-7}),
    "a missing regularizer": (parity_models.adam_mlp_graph, parity_models.adam_mlp_eager, {"l2": 1e-3}, {}),
    "batch norm momentum at the keras default": (parity_models.batch_norm_graph, parity_models.batch_norm_eager, {},
                                                 {"momentum": 0.99}),
}


def _first(report: ParityReport):
    first = report.first_divergence
    return None if first is None else (first.kind, first.step, first.quantity, first.phase, first.variable)


@pytest.mark.parametrize("case", list(CASES))
def test_a_trace_finds_what_the_live_graph_finds_with_the_same_numbers(case, tmp_path):
    build_graph, build_eager, graph_options, eager_options = CASES[case]
    batches = parity_models.classification_batches(STEPS, 0)
    trace = record_graph_model(build_graph(0, **graph_options), batches, tmp_path / "trace")
    start = trace.state(0)
    against_trace = gm.check_parity(trace, lambda: build_eager(**eager_options))
    live = build_graph(0, **graph_options)
    listed = [v.op.name for v in live.variables]
    against_graph = gm.check_parity(lambda: build_graph(0, **graph_options), lambda: build_eager(**eager_options),
                                    batches, initial_values={name: start[name] for name in listed})
    assert against_trace.ok == against_graph.ok == (case == "faithful adam"), str(against_trace)
    assert _first(against_trace) == _first(against_graph)
    assert against_trace.lockstep.unlisted == against_graph.lockstep.unlisted
    by_name = {q.name: q for q in against_graph.lockstep.state}
    assert {q.name for q in against_trace.lockstep.state} == set(by_name)
    for quantity in (against_trace.lockstep.loss, *against_trace.lockstep.state):
        reference = against_graph.lockstep.loss if quantity.kind == "loss" else by_name[quantity.name]
        np.testing.assert_array_equal(quantity.max_abs_diffs, reference.max_abs_diffs, err_msg=quantity.name)
    text = str(against_trace)
    assert "vs trace (reference)" in text and "each step from the trace's state" in text


def test_batch_norm_moving_averages_are_unlisted_state_of_the_trace(tmp_path):
    batches = parity_models.classification_batches(STEPS, 0)
    trace = record_graph_model(parity_models.batch_norm_graph(0), batches, tmp_path / "trace")
    report = gm.check_parity(trace, lambda: parity_models.batch_norm_eager(momentum=0.99))
    assert set(report.lockstep.unlisted) == {"batch_normalization/moving_mean", "batch_normalization/moving_variance"}
    assert report.first_divergence.variable.startswith("batch_normalization/moving_")
    assert "unlisted state (changed by the recorded steps, not trainable)" in str(report)


def test_an_initializer_ten_times_too_wide_is_caught_against_the_trace(tmp_path):
    graph = parity_models.adam_mlp_graph(0, kernel_initializer=v1.truncated_normal_initializer(stddev=0.1))
    trace = record_graph_model(graph, parity_models.classification_batches(2, 0), tmp_path / "trace")
    wide = gm.tf.keras.initializers.TruncatedNormal(stddev=1.0)
    report = gm.check_parity(trace, lambda: parity_models.adam_mlp_eager(kernel_initializer=wide))
    assert _first(report)[:3] == ("initializer", 0, "initializer") and report.first_divergence.variable == "dense/kernel"
    assert report.lockstep.ok  # the run starts from the recorded values


def test_steps_with_no_recorded_start_are_skipped_and_the_rest_still_decides(tmp_path):
    batches = parity_models.classification_batches(6, 0)
    trace = record_graph_model(parity_models.adam_mlp_graph(0), batches, tmp_path / "trace")
    states = tuple(s for s in trace.state_steps if s in (0, 1, 3, 6))
    # A size-capped recording keeps some states only; the trace reader says which.
    capped = _with_states(trace, states)
    faithful = gm.check_parity(capped, parity_models.adam_mlp_eager)
    assert faithful.ok, str(faithful)
    loss = faithful.lockstep.loss
    assert len(loss.max_abs_diffs) == 3  # steps 1, 2 and 4 start from a recorded state
    assert faithful.steps == 1  # the free run covers the steps whose states are all recorded
    wrong = gm.check_parity(capped, lambda: parity_models.adam_mlp_eager(epsilon=1e-7))
    assert _first(wrong)[:4] == ("value", 1, "variable", "update")


def _with_states(trace: gm.Trace, states: tuple[int, ...]) -> gm.Trace:
    class Capped(type(trace)):
        @property
        def state_steps(self) -> tuple[int, ...]:
            return states

        def state(self, step: int):
            assert step in states, step
            return super().state(step)

    capped = Capped.__new__(Capped)
    capped.__dict__.update(trace.__dict__)
    return capped


def test_a_script_that_never_fetched_its_loss_has_its_state_compared_and_says_the_loss_was_not(tmp_path):
    batches = parity_models.classification_batches(STEPS, 0)
    trace = record_graph_model(parity_models.adam_mlp_graph(0), batches, tmp_path / "trace", fetch_loss=False)
    assert trace.loss_name is not None and trace.loss(1) is None
    report = gm.check_parity(trace, parity_models.adam_mlp_eager)
    assert report.ok and report.lockstep.steps == STEPS, str(report)
    text = str(report)
    assert f"vs trace (reference), {STEPS} steps" in text
    assert "(loss) not compared: the trace holds no loss for these steps" in text
    assert "drift over the run: not compared" in text
    wrong = gm.check_parity(trace, lambda: parity_models.adam_mlp_eager(epsilon=1e-7))
    assert _first(wrong)[:4] == ("value", 1, "variable", "update")


# --- feeds, options and errors ------------------------------------------------------------------

@pytest.fixture(scope="module")
def regress_trace(tmp_path_factory) -> gm.Trace:
    """The bundled X*A=10 example's graph side, 20 steps recorded."""
    folder = tmp_path_factory.mktemp("trace") / "regress"
    return record_graph_model(regress_a.build_graph(0), regress_a.make_batches(20, 0), folder)


def test_feeds_reach_train_step_in_the_order_the_script_fed_them_or_as_named(regress_trace):
    assert regress_trace.feed_names == ("x_data:0", "y_target:0")
    assert gm.check_parity(regress_trace, regress_a.build_eager, atol=0.0, rtol=1e-6).ok
    assert gm.check_parity(regress_trace, regress_a.build_eager, inputs=("x_data:0", "y_target"), atol=0.0,
                           rtol=1e-6).ok
    swapped = gm.check_parity(regress_trace, regress_a.build_eager, inputs=("y_target", "x_data"))
    assert _first(swapped)[:4] == ("value", 1, "loss", "forward")


def test_the_tf1_model_code_runs_eagerly_against_its_own_recording(regress_trace):
    # The recorded GradientDescentOptimizer(0.02)'s Keras counterpart, the first recorded feeds as example batch.
    report = gm.check_parity(regress_trace, lambda: gm.EagerModel.from_tf1(regress_a.model, trace=regress_trace),
                             atol=0.0, rtol=1e-6)
    assert report.ok, str(report)
    with pytest.raises(ConfigError, match="needs an optimizer and an example batch, or trace="):
        gm.EagerModel.from_tf1(regress_a.model)


def _decayed_momentum_model(x, y):
    w = v1.get_variable("w", [3, 1], initializer=v1.glorot_uniform_initializer())
    return gm.tf.reduce_mean(gm.tf.square(gm.tf.matmul(x, w) - y))


def test_the_tf1_model_code_trains_with_the_recorded_decayed_learning_rate(tmp_path):
    tf = gm.tf
    rng = np.random.RandomState(0)
    batches = [(rng.normal(size=(8, 3)).astype(np.float32), rng.normal(size=(8, 1)).astype(np.float32))
               for _ in range(5)]
    graph = gm.new_graph(0)
    with graph.as_default():
        x, y = v1.placeholder(tf.float32, [None, 3], name="x"), v1.placeholder(tf.float32, [None, 1], name="y")
        loss = _decayed_momentum_model(x, y)
        step = v1.train.get_or_create_global_step()
        rate = v1.train.exponential_decay(0.1, step, decay_steps=1, decay_rate=0.5)
        train_op = v1.train.MomentumOptimizer(rate, 0.9).minimize(loss, global_step=step)
        weights = v1.trainable_variables()
    trace = record_graph_model(gm.GraphModel(graph, (x, y), loss, train_op, weights),
                               batches, tmp_path / "decayed")
    report = gm.check_parity(trace, lambda: gm.EagerModel.from_tf1(_decayed_momentum_model, trace=trace))
    # TF1's rule under a changing rate (graphmode's TF1Momentum), each step at its recorded rate: the
    # free run stays within tolerance too, where Keras SGD's rule drifts from step 2.
    assert report.ok and report.free_run.ok, str(report)
    assert any(q.name == "w/Momentum" for q in report.lockstep.state)


def test_a_trace_without_a_tf1_optimizer_asks_for_an_eager_factory(tmp_path):
    tf = gm.tf
    graph = gm.new_graph(0)
    with graph.as_default():
        x, y = v1.placeholder(tf.float32, [None, 3], name="x"), v1.placeholder(tf.float32, [None, 1], name="y")
        loss = _decayed_momentum_model(x, y)
        weights = v1.trainable_variables()
        train_op = tf.group([w.assign_sub(0.1 * g) for w, g in zip(weights, tf.gradients(loss, weights))])
    batch = (np.ones((2, 3), np.float32), np.ones((2, 1), np.float32))
    trace = record_graph_model(gm.GraphModel(graph, (x, y), loss, train_op, weights), [batch], tmp_path / "by_hand")
    with pytest.raises(ConfigError, match=r"records no TF1 optimizer graphmode can rebuild in Keras \(its train op "
                                          r"applies: none\); build the eager side yourself"):
        gm.EagerModel.from_tf1(_decayed_momentum_model, trace=trace)


@pytest.mark.parametrize(("options", "message"), [
    ({"inputs": ("x", "y_target")}, "inputs names 'x', which the trace did not record as fed; the script fed "
                                    "['x_data', 'y_target']"),
    ({"steps": 21}, "steps=21 but the trace"),
    ({"batches": [()]}, "check_parity against a trace takes no batches"),
    ({"initial_values": {"A": np.ones(1)}}, "against a trace, initial_values must be None"),
])
def test_bad_options_against_a_trace_name_the_culprit(regress_trace, options, message):
    batches = options.pop("batches", None)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        gm.check_parity(regress_trace, regress_a.build_eager, batches, **options)


def test_the_cli_checks_a_rewrite_or_the_tf1_model_code_against_a_trace(regress_trace, capsys):
    folder = regress_trace.directory
    common = ["parity", "--trace", folder, "--atol", "0", "--rtol", "1e-6"]
    assert cli_main([*common, "--eager", "graphmode.parity.gallery.regress_a:build_eager"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"graphmode.parity.gallery.regress_a:build_eager (eager) vs the trace {folder} (20 recorded")
    assert "parity OK: eager (candidate) vs trace (reference), 20 steps" in out
    assert cli_main([*common, "--tf1-model", "graphmode.parity.gallery.regress_a:model"]) == 0
    assert cli_main([*common, "--eager", "graphmode.parity.gallery.regress_a:build_eager",
                     "--inputs", "y_target,x_data"]) == 1
    assert "first divergence, in the forward pass" in capsys.readouterr().out


@pytest.mark.parametrize(("arguments", "message"), [
    (["--trace", "{folder}/missing"], "--trace needs exactly one of --eager"),
    (["--trace", "{folder}/missing", "--eager", "a:b"], "/missing': the folder does not exist"),
    (["--trace", "{folder}", "--eager", "graphmode.parity.gallery.regress_a"], "--eager takes package.module:function"),
    (["--trace", "{folder}", "--eager", "no_such_module_here:f"], "cannot import 'no_such_module_here'"),
    (["regress_a", "--trace", "{folder}", "--eager", "a:b"], "--trace checks a recording; it takes no example name"),
])
def test_cli_trace_argument_errors_exit_2_and_say_what_to_do(regress_trace, capsys, arguments, message):
    folder = regress_trace.directory
    assert cli_main(["parity", *[a.format(folder=folder) for a in arguments]]) == 2
    assert message in capsys.readouterr().err


PLUGIN_TESTS = """
import pytest
from graphmode.parity.gallery import regress_a

@pytest.mark.parity_trace({folder!r}, atol=0.0, rtol=1e-6)
def test_port_matches_the_recording(parity_trace):
    assert parity_trace(regress_a.build_eager).lockstep.steps == 20

@pytest.mark.parity_trace({folder!r})
def test_port_with_swapped_inputs(parity_trace):
    parity_trace(regress_a.build_eager, inputs=("y_target", "x_data"))
"""


def test_the_pytest_fixture_holds_a_trace_as_a_test(regress_trace, pytester):
    pytester.makepyfile(test_held=PLUGIN_TESTS.format(folder=regress_trace.directory))
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert f"parity against the trace {regress_trace.directory} diverged:" in out
    assert "first divergence, in the forward pass (the step's loss, both sides from the same state): step 1" in out
