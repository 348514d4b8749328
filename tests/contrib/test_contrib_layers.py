"""tf.contrib adapters checked against the formulas TF 1.15 documents: values (NumPy references
computed from the variables' values), variable names and collections.

Graphs are built in this process, a fresh ``tf.Graph`` each, without switching it to the TF1 API.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from graphmode import v1
from graphmode.contrib.conv import avg_pool2d, conv2d, max_pool2d
from graphmode.contrib.layers import (
    flatten,
    fully_connected,
    l1_regularizer,
    l2_regularizer,
    variance_scaling_initializer,
    xavier_initializer,
)
from graphmode.contrib.norm import batch_norm
from graphmode.contrib.seq2seq import sequence_loss
from graphmode.errors import ContribArgumentError
from graphmode.legacy.api import TF1

X = np.random.RandomState(0).normal(size=(6, 3)).astype(np.float32)


def _run(fetches, feed=None):
    with v1.Session() as sess:
        sess.run(v1.global_variables_initializer())
        return sess.run(fetches, feed)


def _variable(name: str):
    """The variable itself (fetching "name:0" of a resource variable gives its handle)."""
    return next(v for v in v1.global_variables() if v.name == name)


def _names(key: str) -> list[str]:
    return [v.name for v in v1.get_collection(key)]


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


def test_linear_is_fully_connected_without_activation(graph):
    inputs = -np.abs(X)
    got = _run(TF1.contrib.layers.linear(inputs, 2, weights_initializer=v1.ones_initializer()))
    np.testing.assert_allclose(got, np.repeat(inputs.sum(axis=1, keepdims=True), 2, axis=1), rtol=1e-6)  # no relu
    assert _names(v1.GraphKeys.MODEL_VARIABLES) == ["fully_connected/weights:0", "fully_connected/biases:0"]


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


def _conv_same(images: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Stride-1 SAME cross-correlation (what tf.nn.conv2d computes), by explicit sums."""
    height, width = kernel.shape[:2]
    top, left = (height - 1) // 2, (width - 1) // 2
    padded = np.pad(images, [(0, 0), (top, height - 1 - top), (left, width - 1 - left), (0, 0)])
    out = np.zeros(images.shape[:3] + kernel.shape[3:], np.float64)
    for i in range(images.shape[1]):
        for j in range(images.shape[2]):
            patch = padded[:, i:i + height, j:j + width, :]
            out[:, i, j, :] = np.tensordot(patch, kernel, axes=([1, 2, 3], [0, 1, 2]))
    return out


def test_conv2d_defaults_relu_same_and_tf1_names(graph):
    images = np.random.RandomState(2).normal(size=(2, 4, 5, 2)).astype(np.float32)
    outputs = conv2d(images, 3, [3, 2], biases_initializer=v1.constant_initializer(0.1))
    strided = conv2d(images, 3, 3, stride=2, activation_fn=None)
    assert _names(v1.GraphKeys.MODEL_VARIABLES) == [
        "Conv/weights:0", "Conv/biases:0", "Conv_1/weights:0", "Conv_1/biases:0"]
    assert outputs.shape.as_list() == [2, 4, 5, 3] and strided.shape.as_list() == [2, 2, 3, 3]  # SAME: ceil(n / s)
    got, kernel = _run([outputs, _variable("Conv/weights:0")])
    assert kernel.shape == (3, 2, 2, 3)
    np.testing.assert_allclose(got, np.maximum(_conv_same(images, kernel) + 0.1, 0.0), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="cannot both be above 1"):
        conv2d(images, 3, 3, stride=2, rate=2)
    with pytest.raises(ValueError, match="must be rank 4"):
        conv2d(X, 3, 3)


def test_pooling_defaults_stride_2_valid(graph):
    images = np.arange(2 * 5 * 4 * 1, dtype=np.float32).reshape(2, 5, 4, 1)
    pooled_max, pooled_avg = _run([max_pool2d(images, [2, 2]), avg_pool2d(images, 2)])
    blocks = images[:, :4, :, 0].reshape(2, 2, 2, 2, 2).transpose(0, 1, 3, 2, 4)  # VALID drops row 5
    np.testing.assert_array_equal(pooled_max[..., 0], blocks.max(axis=(3, 4)))
    np.testing.assert_allclose(pooled_avg[..., 0], blocks.mean(axis=(3, 4)))
    with pytest.raises(ValueError, match="kernel_size must be an int or a pair"):
        max_pool2d(images, [2, 2, 2])


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
