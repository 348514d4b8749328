"""The pytest plugin as a user's suite loads it: through the ``pytest11`` entry point, in a fresh pytest."""

from __future__ import annotations

import subprocess
import sys

import pytest

USER_TESTS = '''
import numpy as np
import pytest

import graphmode as gm
from graphmode import tf, v1


def test_mode_is_real(execution_mode):
    assert tf.executing_eagerly() == (execution_mode.name == "eager")
    assert execution_mode.is_graph == (execution_mode.session is not None)
    v = tf.Variable([1.0, 2.0], name="v")
    execution_mode.initialize_variables()
    np.testing.assert_array_equal(execution_mode.evaluate({"double": v * 2})["double"], [2.0, 4.0])


@pytest.mark.parametrize("run", [1, 2])
def test_each_run_gets_a_fresh_setup(execution_mode, run):
    if execution_mode.is_graph:
        # A reused graph would raise "Variable w already exists" on the second run.
        assert v1.get_variable("w", [1]).name == "w:0"
        assert execution_mode.graph is v1.get_default_graph()
    assert tf.keras.layers.Dense(1).name == "dense"


@pytest.mark.graph_and_eager
def test_marked_without_fixture_runs_twice():
    assert tf.executing_eagerly(), "graph mode"


def test_graph_and_session_fixtures(graph, session):
    x = tf.constant(3.0)
    assert x.graph is graph
    assert session.run(x * 2) == 6.0


def test_graph_fixture_with_execution_mode(graph, execution_mode):
    pass


def _graph_side():
    graph = gm.new_graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, 1])
        w = v1.get_variable("w", [1, 1], initializer=v1.ones_initializer())
        loss = tf.reduce_mean(tf.square(tf.matmul(x, w)))
        train_op = v1.train.GradientDescentOptimizer(0.1).minimize(loss)
    return gm.GraphModel(graph, (x,), loss, train_op, {"w": w})


def _eager_side(reduce):
    w = tf.Variable(tf.zeros([1, 1]))
    optimizer = tf.keras.optimizers.SGD(0.1)

    def train_step(x):
        with tf.GradientTape() as tape:
            loss = reduce(tf.square(tf.matmul(x, w)))
        optimizer.apply_gradients([(tape.gradient(loss, w), w)])
        return loss

    return gm.EagerModel({"w": w}, train_step)


BATCHES = [np.array([[1.0], [2.0]], np.float32)] * 2


def test_parity_holds():
    gm.assert_parity(gm.check_parity(_graph_side, lambda: _eager_side(tf.reduce_mean), BATCHES))


def test_parity_fails_with_first_divergence():
    gm.assert_parity(gm.check_parity(_graph_side, lambda: _eager_side(tf.reduce_sum), BATCHES))
'''


def test_plugin_as_loaded_by_a_user_suite(pytester: pytest.Pytester):
    # One subprocess run (TensorFlow loads once) holds every case; --strict-markers
    # fails the run if the plugin did not register its marker.
    pytester.makepyfile(test_user=USER_TESTS)
    user_result = pytester.runpytest_subprocess("-v", "--strict-markers", "-p", "no:cacheprovider")
    user_result.assert_outcomes(passed=10, failed=2, errors=1)
    user_result.stdout.fnmatch_lines(
        [
            "*::test_mode_is_real[[]graph[]] PASSED*",
            "*::test_mode_is_real[[]eager[]] PASSED*",
        ]
    )
    fresh = [line for line in user_result.outlines if "test_each_run_gets_a_fresh_setup[" in line]
    assert len(fresh) == 4 and all("PASSED" in line for line in fresh)
    # The marker alone (no fixture) still gives two ids, and the graph run really is graph mode.
    user_result.stdout.fnmatch_lines(
        [
            "*::test_marked_without_fixture_runs_twice[[]graph[]] FAILED*",
            "*::test_marked_without_fixture_runs_twice[[]eager[]] PASSED*",
        ]
    )
    user_result.stdout.fnmatch_lines(["*::test_graph_and_session_fixtures PASSED*", "*::test_parity_holds PASSED*"])
    # The graph fixture left a graph installed, so the eager run cannot be eager: a clear error.
    user_result.stdout.fnmatch_lines(
        [
            "*::test_graph_fixture_with_execution_mode[[]graph[]] PASSED*",
            "*::test_graph_fixture_with_execution_mode[[]eager[]] ERROR*",
            "E *ConfigError: the eager run of this test found a graph installed as default*",
        ]
    )
    # The assertion helper fails with the report's first divergence as the message.
    user_result.stdout.fnmatch_lines(
        [
            "*::test_parity_fails_with_first_divergence FAILED*",
            "E * AssertionError: parity: step 1, * (shape () on both sides): max abs diff *"
            "atol=1e-06, rtol=1e-05 (reference: graph, candidate: eager)",
        ]
    )


UNRELATED_TESTS = '''
import json
import os
import sys


def test_nothing_of_graphmode_shows(pytestconfig):
    before = json.loads(os.environ["ENVIRONMENT_BEFORE_PYTEST"])
    now = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    now.pop("ENVIRONMENT_BEFORE_PYTEST")
    assert "graphmode.pytest_plugin" in sys.modules  # the entry point did load the plugin
    assert "tensorflow" not in sys.modules
    assert now == before
'''


def test_an_unrelated_suite_gets_no_tensorflow_and_no_environment_change(pytester: pytest.Pytester):
    import json
    import os

    pytester.makepyfile(test_unrelated=UNRELATED_TESTS)
    # A clean environment (as a fresh shell would give), recorded for the child to compare with.
    # PYTEST_CURRENT_TEST is pytest's own bookkeeping, different in every process.
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("TF_", "PYTEST_"))}
    environment["ENVIRONMENT_BEFORE_PYTEST"] = json.dumps(environment)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"],
        cwd=pytester.path, env=environment, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


TF1_MODULE = '''
import graphmode.tf1 as tf


def test_tf1_graph():
    x = tf.placeholder(tf.float32, [None])
    with tf.Session() as session:
        assert session.run(x * 2, {x: [1.0]}).tolist() == [2.0]
'''

EAGER_MODULE = '''
def test_square(execution_mode):
    from graphmode import tf

    assert execution_mode.evaluate(tf.square(tf.constant(3.0))) == 9.0
'''


def test_a_module_that_switches_to_tf1_is_named_in_the_eager_error(pytester: pytest.Pytester):
    pytester.makepyfile(test_a_tf1=TF1_MODULE, test_b_eager=EAGER_MODULE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*test_square[[]eager[]] ERROR*",
            "E *ConfigError: the eager run of this test cannot run eagerly: TensorFlow's v2 behaviour was disabled "
            "process-wide by test module 'test_a_tf1.py'*@pytest.mark.tf1_subprocess*",
        ]
    )


MIXED_SUITE = '''
import pytest


@pytest.mark.tf1_subprocess
def test_tf1_in_its_own_process():
    import tensorflow as tf  # graphmode's TF1 API inside this test's process

    x = tf.placeholder(tf.float32, [None])
    with tf.Session() as session:
        assert session.run(x * 2, {x: [1.0]}).tolist() == [2.0]


def test_square(execution_mode):
    from graphmode import tf

    assert execution_mode.evaluate(tf.square(tf.constant(3.0))) == 9.0
'''

FAILING_TF1_TEST = '''
import pytest


@pytest.mark.tf1_subprocess
def test_tf1_failure_is_reported():
    import tensorflow as tf

    assert tf.constant(1.0).eval(session=tf.Session()) == 2.0
'''


def test_tf1_tests_mix_with_eager_tests_through_subprocesses(pytester: pytest.Pytester):
    pytester.makepyfile(test_mixed=MIXED_SUITE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        [
            "*::test_tf1_in_its_own_process PASSED*",
            "*::test_square[[]graph[]] PASSED*",
            "*::test_square[[]eager[]] PASSED*",
        ]
    )


@pytest.mark.slow
def test_a_failing_tf1_subprocess_test_reports_the_child_output(pytester: pytest.Pytester):
    pytester.makepyfile(test_failing=FAILING_TF1_TEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*tf1_subprocess test failed in its own process*", "*AssertionError: assert np.float32(1.0) == 2.0*"])


def test_run_tf1_script_runs_a_script_under_the_tf1_api(run_tf1_script, tmp_path):
    script = tmp_path / "legacy.py"
    script.write_text("import tensorflow as tf\nprint(tf.Session().run(tf.constant(3) * 2))\n")
    result = run_tf1_script(script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "6"
