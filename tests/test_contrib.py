"""tf.contrib under the TF1 API: exact renames from TensorFlow's upgrade tables, adapters, slim, the rest refused.

Adapters are checked against the formulas TF 1.15 documents, with NumPy
references computed from the variables' values; graphs are built in this
process (a fresh ``tf.Graph`` each) without switching it to the TF1 API. One
subprocess runs a script through ``graphmode run`` for the stderr lines.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from graphmode import ContribArgumentError, RemovedModuleError, RemovedSymbolError, v1
from graphmode.legacy import contrib, contrib_renames
from graphmode.legacy.api import TF1, import_tf1
from graphmode.legacy.contrib_layers import (
    flatten,
    fully_connected,
    l1_regularizer,
    l2_regularizer,
    variance_scaling_initializer,
    xavier_initializer,
)
from graphmode.legacy.contrib_norm import batch_norm
from graphmode.legacy.contrib_seq2seq import sequence_loss
from graphmode.legacy.scan import MAPPED, REMOVED, scan_source

SCRIPTS = Path(__file__).parent / "scripts"
X = np.random.RandomState(0).normal(size=(6, 3)).astype(np.float32)


@pytest.fixture
def graph():
    with v1.Graph().as_default() as fresh:
        yield fresh


def _run(fetches, feed=None):
    with v1.Session() as sess:
        sess.run(v1.global_variables_initializer())
        return sess.run(fetches, feed)


def _variable(name: str):
    """The variable itself (fetching "name:0" of a resource variable gives its handle)."""
    return next(v for v in v1.global_variables() if v.name == name)


def _names(key: str) -> list[str]:
    return [v.name for v in v1.get_collection(key)]


@pytest.fixture
def announced(monkeypatch) -> set[str]:
    fresh: set[str] = set()
    monkeypatch.setattr(contrib, "_announced", fresh)
    return fresh


def _graphmode() -> str:
    found = shutil.which("graphmode") or shutil.which("graphmode", path=os.path.dirname(sys.executable))
    if found is None:
        pytest.fail("the graphmode console script is not installed; run pip install -e .")
    return found


# --- which names resolve ---------------------------------------------------------------------------


def test_renames_come_from_tensorflows_upgrade_tables():
    tables = contrib_renames.read_upgrade_tables()
    assert tables["tf.contrib.rnn.BasicLSTMCell"] == "tf.compat.v1.nn.rnn_cell.BasicLSTMCell"
    renames = contrib_renames.exact_renames()
    lstm = renames["contrib.rnn.BasicLSTMCell"]
    assert (lstm.target_name, lstm.source) == ("tf.compat.v1.nn.rnn_cell.BasicLSTMCell", contrib_renames.TABLE_SOURCE)
    assert renames["contrib.rnn.static_rnn"].target_name == "tf.compat.v1.nn.static_rnn"
    assert renames["contrib.framework.nest.flatten"].target_name == "tf.compat.v1.nest.flatten"
    for path, rename in renames.items():
        assert contrib_renames.resolve_in_v1(rename.target) is not None, path


def test_names_the_upgrade_script_rewrites_beyond_a_rename_are_not_exact():
    renames, tables = contrib_renames.exact_renames(), contrib_renames.read_upgrade_tables()
    assert tables["tf.contrib.summary.flush"] == "tf.compat.v2.summary.flush"  # TF2 semantics, not TF1's
    assert "contrib.summary.flush" not in renames
    for rewritten in ("summary.scalar", "framework.load_variable"):  # warnings / keyword renames in tf_upgrade_v2
        assert f"tf.contrib.{rewritten}" not in tables and f"contrib.{rewritten}" not in renames
    assert "contrib.layers.xavier_initializer" not in renames  # an argument transformer: an adapter instead


def test_hand_written_entries_are_only_what_the_tables_lack():
    tables = contrib_renames.read_upgrade_tables()
    renames = contrib_renames.exact_renames()
    for path, target in contrib_renames.HAND_WRITTEN.items():
        assert f"tf.{path}" not in tables, path
        assert renames[path].source == contrib_renames.HAND_SOURCE
        assert contrib_renames.resolve_in_v1(target) is not None, target
    assert TF1.contrib.rnn.DropoutWrapper is v1.nn.rnn_cell.DropoutWrapper


def test_without_the_tables_only_hand_written_renames_resolve(monkeypatch):
    real_import = importlib.import_module

    def no_tables(name, *args):
        if name.startswith("tensorflow.tools.compatibility"):
            raise ImportError(f"no module named {name!r}")
        return real_import(name, *args)

    monkeypatch.setattr(importlib, "import_module", no_tables)
    contrib_renames.exact_renames.cache_clear()
    try:
        assert contrib_renames.read_upgrade_tables() == {}
        assert set(contrib_renames.exact_renames()) == set(contrib_renames.HAND_WRITTEN)
    finally:
        monkeypatch.undo()
        contrib_renames.exact_renames.cache_clear()


def test_a_moved_name_resolves_and_is_announced_once(capsys, announced):
    assert TF1.contrib.rnn.BasicLSTMCell is v1.nn.rnn_cell.BasicLSTMCell
    assert TF1.contrib.rnn.BasicLSTMCell is v1.nn.rnn_cell.BasicLSTMCell
    assert TF1.contrib.layers.fully_connected is fully_connected
    assert capsys.readouterr().err.splitlines() == [
        "graphmode: tf.contrib.rnn.BasicLSTMCell -> tf.compat.v1.nn.rnn_cell.BasicLSTMCell",
        "graphmode: tf.contrib.layers.fully_connected -> graphmode.legacy.contrib_layers.fully_connected "
        "(TF 1.15's relu default, <scope>/weights and <scope>/biases)",
    ]
    assert announced == {"contrib.rnn.BasicLSTMCell", "contrib.layers.fully_connected"}


def test_everything_else_keeps_the_removed_symbol_error(capsys, announced):
    with pytest.raises(RemovedSymbolError, match=r"contrib\.rnn\.LSTMBlockCell was dropped .* tf\.compat\.v1\.nn"):
        TF1.contrib.rnn.LSTMBlockCell  # noqa: B018 - the attribute access is what fails
    with pytest.raises(RemovedSymbolError, match=r"contrib\.crf\.crf_log_likelihood .* no drop-in"):
        TF1.contrib.crf.crf_log_likelihood  # noqa: B018
    with pytest.raises(RemovedSymbolError, match=r"contrib\.summary\.scalar was dropped"):
        TF1.contrib.summary.scalar  # noqa: B018
    with pytest.raises(RemovedModuleError, match=r"tensorflow\.contrib\.estimator was dropped"):
        import_tf1("tensorflow.contrib.estimator", ())
    assert capsys.readouterr().err == "" and not announced
    assert {"layers", "rnn", "seq2seq", "slim"} <= set(dir(TF1.contrib))


def test_imports_of_contrib_modules_and_names(announced):
    assert import_tf1("tensorflow.contrib", ("rnn",)) is TF1.contrib
    layers = import_tf1("tensorflow.contrib.layers", ("fully_connected", "batch_norm"))
    assert layers.batch_norm is batch_norm
    assert import_tf1("tensorflow.contrib.rnn", ()) is TF1  # `import tensorflow.contrib.rnn` binds `tensorflow`
    with pytest.raises(RemovedModuleError, match=r"tensorflow\.contrib\.layers\.repeat"):
        import_tf1("tensorflow.contrib.layers", ("repeat",))


def test_slim_is_tf_slim_when_installed_else_says_how_to_install_it(monkeypatch, announced):
    monkeypatch.setitem(sys.modules, "tf_slim", None)  # what an absent package looks like to import
    with pytest.raises(RemovedModuleError, match=r"tensorflow\.contrib\.slim .*pip install 'graphmode\[contrib\]'"):
        import_tf1("tensorflow.contrib", ("slim",))
    monkeypatch.undo()
    slim = pytest.importorskip("tf_slim")
    assert TF1.contrib.slim is slim
    # The one alias tf-slim 1.1.0 needs on TensorFlow 2.21 (its batch_norm loads this path).
    assert sys.modules["tf_keras.legacy_tf_layers.normalization"] is importlib.import_module(
        "tf_keras.src.legacy_tf_layers.normalization")


def test_mnist_datasets_come_from_graphmodes_loader():
    mnist = pytest.importorskip("graphmode.legacy.mnist")
    datasets = TF1.contrib.learn.datasets
    assert datasets.mnist.read_data_sets is mnist.read_data_sets


def test_scan_knows_what_resolves_without_announcing(capsys, announced):
    source = (
        "import tensorflow as tf\n"
        "cell = tf.contrib.rnn.GRUCell(3)\n"
        "y = tf.contrib.layers.batch_norm(x)\n"
        "z = tf.contrib.rnn.LSTMBlockCell(3)\n"
    )
    findings = {f.symbol: f for f in scan_source(source)}
    assert findings["tf.contrib.rnn.GRUCell"].status == MAPPED
    assert findings["tf.contrib.rnn.GRUCell"].maps_to == "tf.compat.v1.nn.rnn_cell.GRUCell"
    assert findings["tf.contrib.layers.batch_norm"].maps_to.startswith("graphmode.legacy.contrib_norm.batch_norm")
    assert findings["tf.contrib.rnn.LSTMBlockCell"].status == REMOVED
    assert capsys.readouterr().err == "" and not announced


# --- contrib.layers adapters --------------------------------------------------------------------------


def test_fully_connected_defaults_relu_xavier_zeros_and_tf1_names(graph):
    outputs = fully_connected(X, 4)
    second = fully_connected(X, 2)
    assert outputs.name.startswith("fully_connected/Relu") and second.name.startswith("fully_connected_1/")
    names = ["fully_connected/weights:0", "fully_connected/biases:0"]
    for key in (v1.GraphKeys.GLOBAL_VARIABLES, v1.GraphKeys.TRAINABLE_VARIABLES, v1.GraphKeys.MODEL_VARIABLES):
        assert _names(key)[:2] == names, key
    weights, biases = v1.global_variables()[:2]
    got, w, b = _run([outputs, weights, biases])
    assert w.shape == (3, 4) and np.all(b == 0.0)
    limit = math.sqrt(6.0 / (3 + 4))  # Xavier uniform: sqrt(3 / ((fan_in + fan_out) / 2))
    assert np.all(np.abs(w) <= limit) and np.std(w) > 0
    np.testing.assert_allclose(got, np.maximum(X @ w + b, 0.0), rtol=1e-6, atol=1e-6)


def test_fully_connected_arguments(graph):
    inputs = v1.constant(X.reshape(2, 3, 3))  # rank 3: applied along the last dimension
    outputs = fully_connected(
        inputs, 2, activation_fn=None, weights_initializer=v1.constant_initializer(0.5),
        biases_initializer=v1.constant_initializer(-1.0), weights_regularizer=l2_regularizer(0.1),
        variables_collections={"weights": ["my_weights"]}, outputs_collections=["my_outputs"], scope="fc",
        trainable=False)
    assert outputs.shape.as_list() == [2, 3, 2]
    assert _names("my_weights") == ["fc/weights:0"] and _names(v1.GraphKeys.TRAINABLE_VARIABLES) == []
    assert v1.get_collection("my_outputs") == [outputs] and outputs.alias == "fc"
    reused = fully_connected(inputs, 2, scope="fc", reuse=True)
    assert len(v1.global_variables()) == 2
    normalized = fully_connected(X, 2, normalizer_fn=lambda t: t * 2.0, scope="no_bias")
    assert "no_bias/biases:0" not in _names(v1.GraphKeys.GLOBAL_VARIABLES)
    got, got_reused, penalty, got_normalized, w = _run(
        [outputs, reused, v1.losses.get_regularization_losses()[0], normalized, _variable("no_bias/weights:0")])
    np.testing.assert_allclose(got, X.reshape(2, 3, 3) @ np.full((3, 2), 0.5) - 1.0, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(got_reused, np.maximum(got, 0.0), rtol=1e-6)
    np.testing.assert_allclose(penalty, 0.1 * (6 * 0.25) / 2, rtol=1e-6)  # scale * sum(w**2) / 2
    np.testing.assert_allclose(got_normalized, np.maximum(2.0 * (X @ w), 0.0), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="num_outputs must be an int"):
        fully_connected(X, 2.0)


@pytest.mark.parametrize(
    "make, shape, n, uniform",
    [
        (lambda: xavier_initializer(seed=3), (40, 60), 50.0, True),
        (lambda: xavier_initializer(uniform=False, seed=3), (40, 60), 50.0, False),
        (lambda: variance_scaling_initializer(seed=3), (3, 3, 16, 32), 144.0 / 2.0, False),  # 2.0 / fan_in
        (lambda: variance_scaling_initializer(1.0, "FAN_OUT", True, seed=3), (3, 3, 16, 32), 288.0, True),
    ],
)
def test_initializers_follow_the_variance_scaling_formula(graph, make, shape, n, uniform):
    values = _run(make()(shape))
    target_std = math.sqrt(1.0 / n)  # sqrt(factor / n) with the factor folded into n above
    assert abs(values.std() / target_std - 1.0) < 0.05, (values.std(), target_std)
    if uniform:
        limit = math.sqrt(3.0) * target_std
        assert values.max() <= limit and values.min() >= -limit and values.max() > 0.95 * limit
    else:  # a normal truncated at 2 of its sigmas, sigma = sqrt(1.3 factor / n)
        assert np.abs(values).max() <= 2.0 * math.sqrt(1.3) * target_std


def test_initializer_and_regularizer_errors():
    with pytest.raises(TypeError, match=r"mode must be one of .*'fan_in'"):
        variance_scaling_initializer(mode="fan_in")
    with pytest.raises(ValueError, match="floating point"):
        xavier_initializer(dtype=v1.int32)
    with pytest.raises(ValueError, match="scale cannot be an integer: 1"):
        l2_regularizer(1)
    with pytest.raises(ValueError, match="less than 0"):
        l1_regularizer(-0.5)
    assert l2_regularizer(0.0)(v1.constant([1.0])) is None


def test_regularizers_are_scaled_l2_loss_and_l1_norm(graph):
    weights = v1.constant([[1.0, -2.0], [3.0, 0.5]])
    l2, l1 = _run([l2_regularizer(0.5)(weights), l1_regularizer(0.25)(weights)])
    assert l2 == pytest.approx(0.5 * (1 + 4 + 9 + 0.25) / 2)
    assert l1 == pytest.approx(0.25 * (1 + 2 + 3 + 0.5))


def test_flatten_keeps_the_batch_and_multiplies_the_rest(graph):
    static = flatten(v1.zeros([2, 3, 4]))
    assert static.shape.as_list() == [2, 12] and static.name.startswith("Flatten")
    dynamic_input = v1.placeholder(v1.float32, [None, None, 2])
    dynamic = flatten(dynamic_input, outputs_collections=["flat"], scope="f")
    got = _run(dynamic, {dynamic_input: np.arange(12, dtype=np.float32).reshape(2, 3, 2)})
    np.testing.assert_array_equal(got, np.arange(12).reshape(2, 6))
    assert v1.get_collection("flat") == [dynamic]
    with pytest.raises(ValueError, match="rank of at least 2"):
        flatten(v1.zeros([3]))


# --- batch_norm -----------------------------------------------------------------------------------------


def test_batch_norm_defaults_train_with_batch_moments_and_queue_updates(graph):
    outputs = batch_norm(X)
    assert _names(v1.GraphKeys.MODEL_VARIABLES) == [
        "BatchNorm/beta:0", "BatchNorm/moving_mean:0", "BatchNorm/moving_variance:0"]  # scale=False: no gamma
    assert _names(v1.GraphKeys.TRAINABLE_VARIABLES) == ["BatchNorm/beta:0"]
    updates = v1.get_collection(v1.GraphKeys.UPDATE_OPS)
    assert len(updates) == 2
    with v1.Session() as sess:
        sess.run(v1.global_variables_initializer())
        got = sess.run(outputs)
        sess.run(updates)
        moving_mean, moving_variance = sess.run(
            [_variable("BatchNorm/moving_mean:0"), _variable("BatchNorm/moving_variance:0")])
    mean, variance = X.mean(axis=0), X.var(axis=0)
    np.testing.assert_allclose(got, (X - mean) / np.sqrt(variance + 0.001), rtol=1e-5, atol=1e-5)
    # s -= (1 - decay) * (s - batch value), from 0 and 1; the fused kernel feeds the unbiased variance.
    np.testing.assert_allclose(moving_mean, 0.001 * mean, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(moving_variance, 0.999 + 0.001 * X.var(axis=0, ddof=1), rtol=1e-6)


def test_batch_norm_unfused_scale_in_place_updates_and_inference(graph):
    inputs = X.reshape(2, 3, 3)  # rank 3: the unfused path, biased variance
    outputs = batch_norm(inputs, decay=0.9, scale=True, updates_collections=None, scope="bn",
                         param_initializers={"gamma": v1.constant_initializer(2.0)})
    inference = batch_norm(inputs, scale=True, is_training=False, scope="bn", reuse=True)
    assert "bn/gamma:0" in _names(v1.GraphKeys.TRAINABLE_VARIABLES)
    assert v1.get_collection(v1.GraphKeys.UPDATE_OPS) == []
    with v1.Session() as sess:
        sess.run(v1.global_variables_initializer())
        got = sess.run(outputs)
        got_inference, moving_mean, moving_variance = sess.run(
            [inference, _variable("bn/moving_mean:0"), _variable("bn/moving_variance:0")])
    mean, variance = inputs.mean(axis=(0, 1)), inputs.var(axis=(0, 1))
    np.testing.assert_allclose(got, 2.0 * (inputs - mean) / np.sqrt(variance + 0.001), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(moving_mean, 0.1 * mean, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(moving_variance, 0.9 + 0.1 * variance, rtol=1e-5)
    expected = 2.0 * (inputs - moving_mean) / np.sqrt(moving_variance + 0.001)
    np.testing.assert_allclose(got_inference, expected, rtol=1e-5, atol=1e-5)


def test_batch_norm_run_time_is_training_moves_statistics_only_when_training(graph):
    training = v1.placeholder(v1.bool, [])
    outputs = batch_norm(X.reshape(6, 1, 1, 3), is_training=training, updates_collections=None)
    with v1.Session() as sess:
        sess.run(v1.global_variables_initializer())
        inferred = sess.run(outputs, {training: False})
        unchanged = sess.run(_variable("BatchNorm/moving_mean:0"))
        sess.run(outputs, {training: True})
        moved = sess.run(_variable("BatchNorm/moving_mean:0"))
    np.testing.assert_allclose(inferred.reshape(6, 3), X / np.sqrt(1.0 + 0.001), rtol=1e-5)
    assert np.all(unchanged == 0.0)
    np.testing.assert_allclose(moved, 0.001 * X.mean(axis=0), rtol=1e-5, atol=1e-7)


def test_batch_norm_refuses_what_it_does_not_implement(graph):
    with pytest.raises(ContribArgumentError, match=r"batch_norm\(renorm=True\) is not supported .* tf_slim"):
        batch_norm(X, renorm=True)
    with pytest.raises(ValueError, match="data_format must be 'NHWC' or 'NCHW'"):
        batch_norm(X, data_format="NWC")
    with pytest.raises(ValueError, match="rank of at least 2"):
        batch_norm(v1.zeros([3]))


# --- seq2seq.sequence_loss and the RNN renames --------------------------------------------------------------

LOGITS = np.random.RandomState(1).normal(size=(2, 3, 4)).astype(np.float32)
TARGETS = np.array([[0, 3, 1], [2, 2, 0]], dtype=np.int32)
WEIGHTS = np.array([[1.0, 1.0, 0.0], [1.0, 0.5, 1.0]], dtype=np.float32)


def _crossent() -> np.ndarray:
    shifted = LOGITS - LOGITS.max(axis=2, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=2, keepdims=True))
    return -np.take_along_axis(log_softmax, TARGETS[..., None], axis=2)[..., 0] * WEIGHTS


@pytest.mark.parametrize(
    "flags, reference",
    [
        ({}, lambda c: c.sum() / WEIGHTS.sum()),
        ({"average_across_batch": False}, lambda c: c.sum(axis=1) / WEIGHTS.sum(axis=1)),
        ({"average_across_timesteps": False}, lambda c: c.sum(axis=0) / WEIGHTS.sum(axis=0)),
        ({"average_across_timesteps": False, "average_across_batch": False}, lambda c: c),
        ({"average_across_timesteps": False, "average_across_batch": False, "sum_over_timesteps": True,
          "sum_over_batch": True}, lambda c: c.sum() / np.count_nonzero(WEIGHTS)),
    ],
)
def test_sequence_loss_reductions(graph, flags, reference):
    got = _run(sequence_loss(LOGITS, TARGETS, WEIGHTS, **flags))
    np.testing.assert_allclose(got, reference(_crossent()), rtol=1e-5)


def test_sequence_loss_errors(graph):
    with pytest.raises(ValueError, match="cannot both be True"):
        sequence_loss(LOGITS, TARGETS, WEIGHTS, sum_over_batch=True)
    with pytest.raises(ValueError, match=r"logits must be \[batch_size x sequence_length x logits\]"):
        sequence_loss(LOGITS[0], TARGETS, WEIGHTS)


def test_contrib_rnn_cells_with_static_rnn_match_numpys_lstm(graph):
    units, inputs = 4, X.reshape(2, 3, 3)
    cell = TF1.contrib.rnn.DropoutWrapper(TF1.contrib.rnn.BasicLSTMCell(units), output_keep_prob=1.0)
    steps = [v1.constant(inputs[:, step]) for step in range(3)]
    outputs, state = TF1.contrib.rnn.static_rnn(cell, steps, dtype=v1.float32)
    assert _names(v1.GraphKeys.TRAINABLE_VARIABLES) == ["rnn/basic_lstm_cell/kernel:0", "rnn/basic_lstm_cell/bias:0"]
    assert isinstance(state, TF1.contrib.rnn.LSTMStateTuple)
    got, kernel, bias = _run([outputs, *v1.trainable_variables()])

    def sigmoid(z):
        return 1.0 / (1.0 + np.exp(-z))

    c = h = np.zeros((2, units), np.float32)
    for step in range(3):
        i, j, f, o = np.split(np.concatenate([inputs[:, step], h], axis=1) @ kernel + bias, 4, axis=1)
        c = c * sigmoid(f + 1.0) + sigmoid(i) * np.tanh(j)  # forget_bias 1.0 as TF 1.15's default
        h = np.tanh(c) * sigmoid(o)
        np.testing.assert_allclose(got[step], h, rtol=1e-5, atol=1e-6)


# --- graphmode run ------------------------------------------------------------------------------------------


def test_graphmode_run_announces_each_moved_name_once_and_refuses_the_rest():
    script = SCRIPTS / "contrib_moved.py"
    result = subprocess.run([_graphmode(), "run", str(script)], capture_output=True, text=True, timeout=300,
                            cwd=SCRIPTS)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:2] == [
        "variables fully_connected/weights:0 fully_connected/biases:0 "
        "fully_connected_1/weights:0 fully_connected_1/biases:0",
        "loss went down True",
    ]
    if importlib.util.find_spec("tf_slim") is None:  # the test extra installs it
        assert lines[2].startswith("no slim: ") and "pip install 'graphmode[contrib]'" in lines[2]
    else:
        assert lines[2:] == [
            "slim model variables conv1/weights conv1/biases bn/beta bn/moving_mean bn/moving_variance "
            "fc/weights fc/biases",
            "slim loss went down True",
            "slim moving mean moved True",  # slim.batch_norm (the aliased tf-keras path) ran its UPDATE_OPS
        ]
        assert "graphmode: tf.contrib.slim -> tf_slim 1.1" in result.stderr
    announced = [line for line in result.stderr.splitlines()
                 if line.startswith("graphmode: tf.contrib") and not line.startswith("graphmode: tf.contrib.slim")]
    assert announced == [
        "graphmode: tf.contrib.rnn.MultiRNNCell -> tf.compat.v1.nn.rnn_cell.MultiRNNCell",
        "graphmode: tf.contrib.rnn.BasicLSTMCell -> tf.compat.v1.nn.rnn_cell.BasicLSTMCell",
        "graphmode: tf.contrib.rnn.static_rnn -> tf.compat.v1.nn.static_rnn",
        "graphmode: tf.contrib.layers.fully_connected -> graphmode.legacy.contrib_layers.fully_connected "
        "(TF 1.15's relu default, <scope>/weights and <scope>/biases)",
        "graphmode: tf.contrib.layers.xavier_initializer -> graphmode.legacy.contrib_layers.xavier_initializer "
        "(TF 1.15's FAN_AVG variance scaling)",
    ]
    last = result.stderr.strip().splitlines()
    crf_line = next(n for n, line in enumerate(script.read_text().splitlines(), 1) if "contrib.crf" in line)
    assert last[-1].startswith(f"graphmode._errors.RemovedSymbolError: {script}:{crf_line}: "
                               "tf.contrib.crf.crf_log_likelihood was dropped"), last[-1]
    assert "graphmode/legacy" not in "\n".join(last[-4:])  # the traceback ends at the script's line
