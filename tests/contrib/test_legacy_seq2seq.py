"""tf.contrib.legacy_seq2seq against NumPy references of TF 1.15's documented computations, with its
variable names and collections.

Each graph is built in this process in a fresh ``tf.Graph`` (the plugin's ``graph`` fixture). The cell
is ``BasicRNNCell``, ``h' = tanh([x, h] @ kernel + bias)``; the references read the kernel and bias
the graph initialised and repeat the recurrence in NumPy.
"""

from __future__ import annotations

import numpy as np
import pytest

from graphmode import v1
from graphmode.contrib import legacy_seq2seq as seq2seq
from graphmode.contrib.namespace import ADAPTERS
from graphmode.legacy.api import TF1

RNG = np.random.RandomState(7)
BATCH, INPUT, UNITS, STEPS, SYMBOLS = 3, 4, 5, 3, 6


def _inputs(steps: int = STEPS, size: int = INPUT) -> list[np.ndarray]:
    return [RNG.normal(size=(BATCH, size)).astype(np.float32) for _ in range(steps)]


def _cell():
    return v1.nn.rnn_cell.BasicRNNCell(UNITS)


def _values(sess, names: list[str]) -> list[np.ndarray]:
    by_name = {variable.name: variable for variable in v1.global_variables()}
    return sess.run([by_name[name] for name in names])


def _rnn(inputs, state, kernel, bias, loop=None):
    outputs = []
    for i, x in enumerate(inputs):
        if loop is not None and outputs:
            x = loop(outputs[-1], i)
        state = np.tanh(np.concatenate([x, state], axis=1) @ kernel + bias)
        outputs.append(state)
    return outputs, state


def _softmax_crossent(logits: np.ndarray, targets: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_softmax[np.arange(len(targets)), targets]


def test_the_names_resolve_under_the_tf1_module():
    namespace = TF1.contrib.legacy_seq2seq
    for name in ("rnn_decoder", "attention_decoder", "basic_rnn_seq2seq", "embedding_rnn_decoder", "sequence_loss_by_example",
                 "sequence_loss"):
        assert getattr(getattr(namespace, name), "__wrapped__", getattr(namespace, name)) is getattr(seq2seq, name)
        assert f"contrib.legacy_seq2seq.{name}" in ADAPTERS


def test_rnn_decoder_values_names_and_collections(graph):
    inputs, initial = _inputs(), RNG.normal(size=(BATCH, UNITS)).astype(np.float32)
    outputs, state = seq2seq.rnn_decoder([v1.constant(x) for x in inputs], v1.constant(initial), _cell())
    names = ["rnn_decoder/basic_rnn_cell/kernel:0", "rnn_decoder/basic_rnn_cell/bias:0"]
    # One set of weights for every step (reuse after the first), trainable.
    assert [v.name for v in v1.global_variables()] == names
    assert [v.name for v in v1.trainable_variables()] == names
    with v1.Session(graph=graph) as sess:
        sess.run(v1.global_variables_initializer())
        got_outputs, got_state = sess.run([outputs, state])
        kernel, bias = _values(sess, names)
    expected, expected_state = _rnn(inputs, initial, kernel, bias)
    assert len(got_outputs) == STEPS
    np.testing.assert_allclose(np.stack(got_outputs), np.stack(expected), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_state, expected_state, rtol=1e-5, atol=1e-6)


def test_rnn_decoder_loop_function_feeds_each_output_back(graph):
    inputs, initial = _inputs(size=UNITS), np.zeros((BATCH, UNITS), np.float32)
    calls = []

    def loop_function(prev, i):
        calls.append(i)
        return 2.0 * prev

    outputs, _ = seq2seq.rnn_decoder([v1.constant(x) for x in inputs], v1.constant(initial), _cell(),
                                     loop_function=loop_function)
    assert calls == [1, 2]  # not for the first step, which takes its given input
    with v1.Session(graph=graph) as sess:
        sess.run(v1.global_variables_initializer())
        got = sess.run(outputs)
        kernel, bias = _values(sess, ["rnn_decoder/basic_rnn_cell/kernel:0", "rnn_decoder/basic_rnn_cell/bias:0"])
    expected, _ = _rnn(inputs, initial, kernel, bias, loop=lambda prev, i: 2.0 * prev)
    np.testing.assert_allclose(np.stack(got), np.stack(expected), rtol=1e-5, atol=1e-6)


def test_basic_rnn_seq2seq_encodes_with_a_copy_of_the_cell(graph):
    encoder, decoder = _inputs(), _inputs(steps=2)
    outputs, state = seq2seq.basic_rnn_seq2seq([v1.constant(x) for x in encoder],
                                               [v1.constant(x) for x in decoder], _cell())
    encoder_names = ["basic_rnn_seq2seq/rnn/basic_rnn_cell/kernel:0", "basic_rnn_seq2seq/rnn/basic_rnn_cell/bias:0"]
    decoder_names = ["basic_rnn_seq2seq/rnn_decoder/basic_rnn_cell/kernel:0",
                     "basic_rnn_seq2seq/rnn_decoder/basic_rnn_cell/bias:0"]
    assert sorted(v.name for v in v1.trainable_variables()) == sorted(encoder_names + decoder_names)
    with v1.Session(graph=graph) as sess:
        sess.run(v1.global_variables_initializer())
        got, got_state = sess.run([outputs, state])
        encoder_kernel, encoder_bias, decoder_kernel, decoder_bias = _values(sess, encoder_names + decoder_names)
    _, encoded = _rnn(encoder, np.zeros((BATCH, UNITS), np.float32), encoder_kernel, encoder_bias)
    expected, expected_state = _rnn(decoder, encoded, decoder_kernel, decoder_bias)
    np.testing.assert_allclose(np.stack(got), np.stack(expected), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_state, expected_state, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("feed_previous", [False, True])
def test_embedding_rnn_decoder(graph, feed_previous):
    symbols = [RNG.randint(0, SYMBOLS, size=BATCH).astype(np.int32) for _ in range(STEPS)]
    initial = RNG.normal(size=(BATCH, UNITS)).astype(np.float32)
    projection_weights = RNG.normal(size=(UNITS, SYMBOLS)).astype(np.float32)
    projection_biases = RNG.normal(size=SYMBOLS).astype(np.float32)
    outputs, _ = seq2seq.embedding_rnn_decoder(
        [v1.constant(s) for s in symbols], v1.constant(initial), _cell(), SYMBOLS, INPUT,
        output_projection=(projection_weights, projection_biases), feed_previous=feed_previous)
    names = ["embedding_rnn_decoder/embedding:0", "embedding_rnn_decoder/rnn_decoder/basic_rnn_cell/kernel:0",
             "embedding_rnn_decoder/rnn_decoder/basic_rnn_cell/bias:0"]
    assert [v.name for v in v1.trainable_variables()] == names
    assert v1.trainable_variables()[0].shape == (SYMBOLS, INPUT)
    with v1.Session(graph=graph) as sess:
        sess.run(v1.global_variables_initializer())
        got = sess.run(outputs)
        embedding, kernel, bias = _values(sess, names)

    def previous_symbol_embedded(prev, _):
        return embedding[np.argmax(prev @ projection_weights + projection_biases, axis=1)]

    expected, _ = _rnn([embedding[s] for s in symbols], initial, kernel, bias,
                       loop=previous_symbol_embedded if feed_previous else None)
    np.testing.assert_allclose(np.stack(got), np.stack(expected), rtol=1e-5, atol=1e-6)


def test_embedding_rnn_decoder_checks_the_projection_against_num_symbols(graph):
    with pytest.raises(ValueError, match=r"output_projection weights have shape \(5, 4\); expected \[output size, "
                                         r"num_symbols=6\]"):
        seq2seq.embedding_rnn_decoder([v1.constant([1, 2, 3])], v1.zeros((BATCH, UNITS)), _cell(), SYMBOLS, INPUT,
                                      output_projection=(np.zeros((UNITS, 4), np.float32),
                                                         np.zeros(SYMBOLS, np.float32)))


def _softmax(scores: np.ndarray) -> np.ndarray:
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


@pytest.mark.parametrize(("num_heads", "initial_state_attention"), [(1, False), (2, True)])
def test_attention_decoder_values_names_and_collections(graph, num_heads, initial_state_attention):
    length, size, output_size = 4, 3, 2
    inputs, initial = _inputs(), RNG.normal(size=(BATCH, UNITS)).astype(np.float32)
    memory = RNG.normal(size=(BATCH, length, size)).astype(np.float32)
    outputs, state = seq2seq.attention_decoder(
        [v1.constant(x) for x in inputs], v1.constant(initial), v1.constant(memory), _cell(),
        output_size=output_size, num_heads=num_heads, initial_state_attention=initial_state_attention)
    heads = range(num_heads)
    names = ([f"attention_decoder/AttnW_{h}:0" for h in heads] + [f"attention_decoder/AttnV_{h}:0" for h in heads]
             + ["attention_decoder/kernel:0", "attention_decoder/bias:0",
                "attention_decoder/basic_rnn_cell/kernel:0", "attention_decoder/basic_rnn_cell/bias:0"]
             + [f"attention_decoder/Attention_{h}/{part}:0" for h in heads for part in ("kernel", "bias")]
             + ["attention_decoder/AttnOutputProjection/kernel:0", "attention_decoder/AttnOutputProjection/bias:0"])
    assert sorted(v.name for v in v1.trainable_variables()) == sorted(names)  # one set for every step
    with v1.Session(graph=graph) as sess:
        sess.run(v1.global_variables_initializer())
        got, got_state = sess.run([outputs, state])
        values = dict(zip(names, _values(sess, names)))
    assert values["attention_decoder/kernel:0"].shape == (INPUT + num_heads * size, INPUT)

    def attention(query):
        reads = []
        for h in heads:
            features = memory @ values[f"attention_decoder/AttnW_{h}:0"][0, 0]  # [batch, length, size]
            projected = (query @ values[f"attention_decoder/Attention_{h}/kernel:0"]
                         + values[f"attention_decoder/Attention_{h}/bias:0"])
            scores = (values[f"attention_decoder/AttnV_{h}:0"] * np.tanh(features + projected[:, None, :])).sum(2)
            reads.append((_softmax(scores)[:, :, None] * memory).sum(1))
        return reads

    def linear(args, prefix):
        return np.concatenate(args, 1) @ values[f"{prefix}kernel:0"] + values[f"{prefix}bias:0"]

    state_np = initial
    reads = attention(initial) if initial_state_attention else [np.zeros((BATCH, size), np.float32) for _ in heads]
    expected = []
    for x in inputs:
        cell_input = linear([x, *reads], "attention_decoder/")
        state_np = np.tanh(np.concatenate([cell_input, state_np], 1) @ values["attention_decoder/basic_rnn_cell/kernel:0"]
                           + values["attention_decoder/basic_rnn_cell/bias:0"])
        reads = attention(state_np)
        expected.append(linear([state_np, *reads], "attention_decoder/AttnOutputProjection/"))
    np.testing.assert_allclose(np.stack(got), np.stack(expected), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got_state, state_np, rtol=1e-4, atol=1e-5)


def test_attention_decoder_refuses_what_it_cannot_build(graph):
    memory = v1.zeros([BATCH, 4, 3])
    with pytest.raises(ValueError, match="decoder_inputs is empty"):
        seq2seq.attention_decoder([], v1.zeros([BATCH, UNITS]), memory, _cell())
    with pytest.raises(ValueError, match="num_heads=0; use rnn_decoder for no attention"):
        seq2seq.attention_decoder([v1.zeros([BATCH, INPUT])], v1.zeros([BATCH, UNITS]), memory, _cell(), num_heads=0)
    unknown = v1.placeholder(v1.float32, [BATCH, 4, None])
    with pytest.raises(ValueError, match=r"attention_states has shape \(3, 4, None\); its last dimension"):
        seq2seq.attention_decoder([v1.zeros([BATCH, INPUT])], v1.zeros([BATCH, UNITS]), unknown, _cell())


LOGITS = [RNG.normal(size=(BATCH, SYMBOLS)).astype(np.float32) for _ in range(STEPS)]
TARGETS = [RNG.randint(0, SYMBOLS, size=BATCH).astype(np.int32) for _ in range(STEPS)]
WEIGHTS = [np.array([1.0, 0.5, 0.0], np.float32), np.ones(BATCH, np.float32), np.array([0.0, 2.0, 1.0], np.float32)]


@pytest.mark.parametrize("average", [True, False])
def test_sequence_loss_by_example_and_sequence_loss(graph, average):
    by_example = seq2seq.sequence_loss_by_example(LOGITS, TARGETS, WEIGHTS, average_across_timesteps=average)
    total = seq2seq.sequence_loss(LOGITS, TARGETS, WEIGHTS, average_across_timesteps=average)
    summed = seq2seq.sequence_loss(LOGITS, TARGETS, WEIGHTS, average_across_timesteps=average,
                                   average_across_batch=False)
    assert by_example.name.startswith("sequence_loss_by_example/") and total.name.startswith("sequence_loss/")
    with v1.Session(graph=graph) as sess:
        got_by_example, got_total, got_summed = sess.run([by_example, total, summed])
    weighted = sum(_softmax_crossent(logit, t) * w for logit, t, w in zip(LOGITS, TARGETS, WEIGHTS))
    expected = weighted / (sum(WEIGHTS) + 1e-12) if average else weighted
    np.testing.assert_allclose(got_by_example, expected, rtol=1e-5)
    np.testing.assert_allclose(got_total, expected.sum() / BATCH, rtol=1e-5)
    np.testing.assert_allclose(got_summed, expected.sum(), rtol=1e-5)
    assert v1.global_variables() == []  # the losses make no variables


def test_sequence_loss_with_a_softmax_loss_function(graph):
    calls = []

    def doubled(labels, logits):
        calls.append(labels)
        return 2.0 * v1.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)

    loss = seq2seq.sequence_loss(LOGITS[:1], TARGETS[:1], [np.ones(BATCH, np.float32)], softmax_loss_function=doubled)
    with v1.Session(graph=graph) as sess:
        got = sess.run(loss)
    assert len(calls) == 1
    np.testing.assert_allclose(got, 2.0 * _softmax_crossent(LOGITS[0], TARGETS[0]).mean(), rtol=1e-5)


def test_lists_of_different_lengths_are_named(graph):
    with pytest.raises(ValueError, match=r"got 3 logits, 2 weights, 3 targets"):
        seq2seq.sequence_loss_by_example(LOGITS, TARGETS, WEIGHTS[:2])
