"""TF1 LSTMCell/GRUCell <-> Keras LSTM/GRU: the same sequence through both gives the same outputs."""

from __future__ import annotations

import numpy as np
import pytest

import graphmode as gm
from graphmode import tf, v1

# The TF1 cells are the point of these tests; their deprecation notice is not.
pytestmark = pytest.mark.filterwarnings("ignore:`tf.nn.rnn_cell.*` is deprecated:UserWarning")

SEQUENCE = np.random.RandomState(3).randn(2, 6, 3).astype(np.float32)  # batch, time, features
UNITS = 4
# float32 recurrences over 6 steps; the two sides order their matmuls differently.
TOLERANCE = {"rtol": 1e-5, "atol": 1e-6}


def _tf1_cells(kind: str, forget_bias: float):
    if kind == "lstm":
        return v1.nn.rnn_cell.LSTMCell(UNITS, forget_bias=forget_bias, initializer=v1.random_normal_initializer(seed=1))
    return v1.nn.rnn_cell.GRUCell(UNITS, kernel_initializer=v1.random_normal_initializer(seed=1),
                                  bias_initializer=v1.random_normal_initializer(seed=2))


def _run_tf1(kind: str, forget_bias: float, checkpoint: str | None = None, save_to: str | None = None):
    """Runs SEQUENCE through a TF1 cell (restored from ``checkpoint`` if given); returns (outputs, path)."""
    graph = gm.new_graph()
    with graph.as_default():
        inputs = v1.placeholder(tf.float32, [None, None, 3])
        outputs, _ = v1.nn.dynamic_rnn(_tf1_cells(kind, forget_bias), inputs, dtype=tf.float32)
        if kind == "lstm":
            # A random bias, so the forget-gate shift and gate order are exercised.
            bias = next(v for v in v1.global_variables() if v.op.name == "rnn/lstm_cell/bias")
            randomize = bias.assign(tf.random.stateless_normal([4 * UNITS], seed=[1, 2]))
        saver = v1.train.Saver()
    with gm.Session(graph=graph) as session:
        if checkpoint:
            saver.restore(session, checkpoint)
        else:
            session.run(v1.global_variables_initializer())
            if kind == "lstm":
                session.run(randomize)
        path = saver.save(session, save_to) if save_to else None
        return session.run(outputs, {inputs: SEQUENCE}), path


def _keras_layer(kind: str):
    layer = (tf.keras.layers.LSTM(UNITS, return_sequences=True) if kind == "lstm"
             else tf.keras.layers.GRU(UNITS, return_sequences=True, reset_after=False))
    layer.build((None, None, 3))
    return layer


@pytest.mark.parametrize("kind, forget_bias", [("lstm", 1.0), ("lstm", 0.25), ("gru", 1.0)])
def test_tf1_cell_loaded_into_keras_gives_the_same_outputs(tmp_path, kind, forget_bias):
    expected, path = _run_tf1(kind, forget_bias, save_to=str(tmp_path / "rnn.ckpt"))
    layer = _keras_layer(kind)
    report = gm.load_tf1_checkpoint(path, [], recurrent={f"rnn/{kind}_cell": layer}, forget_bias=forget_bias)
    assert {p.rule for p in report.pairs} == {f"{kind} cell"}
    np.testing.assert_allclose(layer(SEQUENCE).numpy(), expected, **TOLERANCE)


@pytest.mark.parametrize("kind, forget_bias", [("lstm", 1.0), ("lstm", 0.25), ("gru", 1.0)])
def test_keras_layer_saved_for_an_unmodified_tf1_cell_gives_the_same_outputs(tmp_path, kind, forget_bias):
    layer = _keras_layer(kind)
    rng = np.random.RandomState(5)
    layer.set_weights([rng.randn(*w.shape).astype(np.float32) for w in layer.get_weights()])
    path = gm.save_tf1_checkpoint(tmp_path / "keras.ckpt", [], recurrent={f"rnn/{kind}_cell": layer},
                                  forget_bias=forget_bias)
    outputs, _ = _run_tf1(kind, forget_bias, checkpoint=path)
    np.testing.assert_allclose(outputs, layer(SEQUENCE).numpy(), **TOLERANCE)


def test_conversions_invert_each_other():
    rng = np.random.RandomState(0)
    kernel, bias = rng.randn(3 + UNITS, 4 * UNITS).astype(np.float32), rng.randn(4 * UNITS).astype(np.float32)
    keras = gm.checkpoint.lstm_weights_from_tf1(kernel, bias, forget_bias=0.0)
    assert keras.kernel.shape == (3, 4 * UNITS) and keras.recurrent_kernel.shape == (UNITS, 4 * UNITS)
    back = gm.checkpoint.lstm_weights_to_tf1(*keras, forget_bias=0.0)
    assert np.array_equal(back.kernel, kernel) and np.array_equal(back.bias, bias)
    # Keras gate order i, f, c, o: its second block is TF1's third (f), shifted by forget_bias.
    shifted = gm.checkpoint.lstm_weights_from_tf1(kernel, bias, forget_bias=1.0)
    np.testing.assert_array_equal(shifted.bias[UNITS:2 * UNITS], bias[2 * UNITS:3 * UNITS] + np.float32(1.0))
    gates, candidate = rng.randn(3 + UNITS, 2 * UNITS), rng.randn(3 + UNITS, UNITS)
    gru = gm.checkpoint.gru_weights_from_tf1(gates, rng.randn(2 * UNITS), candidate, rng.randn(UNITS))
    assert np.array_equal(gm.checkpoint.gru_weights_to_tf1(*gru).gates_kernel, gates)
    # Keras z (first block) is TF1's update gate u (second block of gates).
    assert np.array_equal(gru.kernel[:, :UNITS], gates[:3, UNITS:])


def test_bad_shapes_are_named():
    with pytest.raises(gm.errors.CheckpointMatchError, match=r"TF1 LSTMCell kernel has shape \(7, 15\); a fused cell kernel"):
        gm.checkpoint.lstm_weights_from_tf1(np.zeros((7, 15)), np.zeros(15))
    with pytest.raises(gm.errors.CheckpointMatchError, match=r"bias has shape \(12,\); expected \(16,\)"):
        gm.checkpoint.lstm_weights_to_tf1(np.zeros((3, 16)), np.zeros((4, 16)), np.zeros(12))


def test_unsupported_keras_layers_are_refused(tmp_path):
    _, path = _run_tf1("gru", 1.0, save_to=str(tmp_path / "rnn.ckpt"))
    reset_after = tf.keras.layers.GRU(UNITS)
    reset_after.build((None, None, 3))
    with pytest.raises(gm.errors.ConfigError, match="reset_after=True; TF1 GRUCell applies the reset gate before"):
        gm.load_tf1_checkpoint(path, [], recurrent={"rnn/gru_cell": reset_after})
    with pytest.raises(gm.errors.ConfigError, match=r"is not built yet; .*layer.build\(\(None, None, input_size\)\)"):
        gm.load_tf1_checkpoint(path, [], recurrent={"rnn/gru_cell": tf.keras.layers.GRU(UNITS, reset_after=False)})
    with pytest.raises(gm.errors.ConfigError, match="is a Dense; recurrent conversion takes a Keras LSTM or GRU"):
        gm.load_tf1_checkpoint(path, [], recurrent={"rnn/gru_cell": tf.keras.layers.Dense(3)})


def test_wrong_cell_kind_and_peepholes_are_reported(tmp_path):
    _, gru_path = _run_tf1("gru", 1.0, save_to=str(tmp_path / "gru.ckpt"))
    with pytest.raises(gm.errors.CheckpointMatchError, match=r"recurrent scope 'rnn/gru_cell' \(lstm\): checkpoint has no "
                                                      r"\['rnn/gru_cell/kernel', 'rnn/gru_cell/bias'\]"):
        gm.load_tf1_checkpoint(gru_path, [], recurrent={"rnn/gru_cell": _keras_layer("lstm")}, strict=False)
    graph = gm.new_graph()
    with graph.as_default():
        cell = v1.nn.rnn_cell.LSTMCell(UNITS, use_peepholes=True)
        v1.nn.dynamic_rnn(cell, tf.constant(SEQUENCE), dtype=tf.float32)
        saver = v1.train.Saver()
    with gm.Session(graph=graph) as session:
        session.run(v1.global_variables_initializer())
        path = saver.save(session, str(tmp_path / "peep.ckpt"))
    with pytest.raises(gm.errors.CheckpointMatchError, match=r"has \['w_f_diag', 'w_i_diag', 'w_o_diag'\] \(peepholes\)"):
        gm.load_tf1_checkpoint(path, [], recurrent={"rnn/lstm_cell": _keras_layer("lstm")})
