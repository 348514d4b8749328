"""``tf.contrib.legacy_seq2seq``: TF 1.15's static-unrolled decoders and sequence losses.

Char- and word-level RNN language models of TF1's day build their graphs with
these; TensorFlow 2 dropped them with ``tf.contrib``. They are short functions
over ``tf.compat.v1`` ops, written here from TF 1.15's documented behaviour
with its variable scopes, so checkpoints keep their variable names:

* :func:`rnn_decoder` (scope ``rnn_decoder``): the cell run over a list of
  inputs from a given state; ``loop_function(prev, i)`` makes step ``i``'s input
  from step ``i-1``'s output instead;
* :func:`basic_rnn_seq2seq` (scope ``basic_rnn_seq2seq``): ``static_rnn`` over
  the encoder inputs (a copy of the cell, scope ``rnn``), then :func:`rnn_decoder`
  from its final state;
* :func:`embedding_rnn_decoder` (scope ``embedding_rnn_decoder``): symbols
  embedded through the variable ``embedding``, then :func:`rnn_decoder`;
  ``feed_previous`` feeds back the embedding of the argmax of each output;
* :func:`sequence_loss_by_example` and :func:`sequence_loss`: weighted
  cross-entropy of lists of per-step logits.

* :func:`attention_decoder` (scope ``attention_decoder``): Bahdanau-style
  attention over ``attention_states`` with ``num_heads`` heads, the variables
  ``AttnW_<h>``, ``AttnV_<h>``, ``Attention_<h>/kernel|bias``,
  ``AttnOutputProjection/kernel|bias`` and the input projection ``kernel|bias``.

The model builders on top of them (``embedding_attention_seq2seq``,
``model_with_buckets`` ...) are not provided.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

from graphmode._runtime import v1

# TF 1.15 adds this to the summed weights so all-zero weights give 0, not NaN.
_EPSILON = 1e-12


def rnn_decoder(decoder_inputs: Sequence, initial_state, cell, loop_function: Callable | None = None,
                scope=None):
    """Runs ``cell`` over ``decoder_inputs`` (a list of ``[batch, input]`` tensors) from ``initial_state``.

    Returns:
        ``(outputs, state)``: the list of per-step outputs and the final state.
    """
    with v1.variable_scope(scope or "rnn_decoder"):
        state, outputs, prev = initial_state, [], None
        for i, inp in enumerate(decoder_inputs):
            if loop_function is not None and prev is not None:
                with v1.variable_scope("loop_function", reuse=True):
                    inp = loop_function(prev, i)
            if i > 0:
                v1.get_variable_scope().reuse_variables()
            output, state = cell(inp, state)
            outputs.append(output)
            if loop_function is not None:
                prev = output
    return outputs, state


def basic_rnn_seq2seq(encoder_inputs: Sequence, decoder_inputs: Sequence, cell, dtype=v1.float32, scope=None):
    """Encodes with ``static_rnn`` over a copy of ``cell``, then decodes with :func:`rnn_decoder`.

    Returns:
        ``(outputs, state)`` of the decoder.
    """
    with v1.variable_scope(scope or "basic_rnn_seq2seq"):
        encoder_cell = copy.deepcopy(cell)
        _, encoder_state = v1.nn.static_rnn(encoder_cell, encoder_inputs, dtype=dtype)
        return rnn_decoder(decoder_inputs, encoder_state, cell)


class _Linear:
    """TF 1.15's ``core_rnn_cell._Linear``: ``concat(args) @ kernel + bias`` with variables in the current scope."""

    def __init__(self, args, output_size: int, dtype) -> None:
        args = list(args) if isinstance(args, (list, tuple)) else [args]
        total = sum(int(arg.shape[1]) for arg in args)
        self.kernel = v1.get_variable("kernel", [total, output_size], dtype=dtype)
        self.bias = v1.get_variable("bias", [output_size], dtype=dtype,
                                    initializer=v1.constant_initializer(0.0, dtype=dtype))

    def __call__(self, args):
        args = list(args) if isinstance(args, (list, tuple)) else [args]
        joined = args[0] if len(args) == 1 else v1.concat(args, 1)
        return v1.nn.bias_add(v1.matmul(joined, self.kernel), self.bias)


def attention_decoder(decoder_inputs: Sequence, initial_state, attention_states, cell, output_size: int | None = None,
                      num_heads: int = 1, loop_function: Callable | None = None, dtype=None, scope=None,
                      initial_state_attention: bool = False):
    """:func:`rnn_decoder` that reads ``attention_states`` (``[batch, length, size]``) at every step.

    Each step's input is projected together with the previous attention reads;
    the cell's new state is the query of each head (``v . tanh(W1 h + W2 q)``,
    softmax over the length); the output projects the cell output and the reads
    to ``output_size`` (the cell's by default).

    Raises:
        ValueError: no decoder inputs, ``num_heads < 1``, or ``attention_states``' last
            dimension or an input's size unknown.
    """
    if not decoder_inputs:
        raise ValueError("attention_decoder: decoder_inputs is empty; give at least one step's input")
    if num_heads < 1:
        raise ValueError(f"attention_decoder: num_heads={num_heads}; use rnn_decoder for no attention")
    if attention_states.shape[2] is None:
        raise ValueError(f"attention_decoder: attention_states has shape {attention_states.shape}; "
                         "its last dimension (the attention size) must be known")
    output_size = cell.output_size if output_size is None else output_size
    with v1.variable_scope(scope or "attention_decoder", dtype=dtype) as variable_scope:
        dtype = variable_scope.dtype
        batch_size = v1.shape(decoder_inputs[0])[0]
        length = attention_states.shape[1] if attention_states.shape[1] is not None else v1.shape(attention_states)[1]
        size = int(attention_states.shape[2])
        # W1 h for every position at once: a 1x1 convolution over [batch, length, 1, size].
        hidden = v1.reshape(attention_states, [-1, length, 1, size])
        features, vectors = [], []
        for head in range(num_heads):
            weights = v1.get_variable(f"AttnW_{head}", [1, 1, size, size], dtype=dtype)
            features.append(v1.nn.conv2d(hidden, weights, [1, 1, 1, 1], "SAME"))
            vectors.append(v1.get_variable(f"AttnV_{head}", [size], dtype=dtype))

        def attention(query):
            if v1.nest.is_nested(query):  # LSTMStateTuple and the like: one query of all parts
                query = v1.concat(v1.nest.flatten(query), 1)
            reads = []
            for head in range(num_heads):
                with v1.variable_scope(f"Attention_{head}"):
                    projected = v1.reshape(_Linear(query, size, dtype)(query), [-1, 1, 1, size])
                    scores = v1.reduce_sum(vectors[head] * v1.tanh(features[head] + projected), [2, 3])
                    weights_over_length = v1.nn.softmax(v1.cast(scores, v1.float32))
                    read = v1.reduce_sum(
                        v1.reshape(v1.cast(weights_over_length, dtype), [-1, length, 1, 1]) * hidden, [1, 2])
                    reads.append(v1.reshape(read, [-1, size]))
            return reads

        state, outputs, prev = initial_state, [], None
        reads = [v1.zeros(v1.stack([batch_size, size]), dtype=dtype) for _ in range(num_heads)]
        for read in reads:
            read.set_shape([None, size])
        if initial_state_attention:
            reads = attention(initial_state)
        for i, inp in enumerate(decoder_inputs):
            if i > 0:
                v1.get_variable_scope().reuse_variables()
            if loop_function is not None and prev is not None:
                with v1.variable_scope("loop_function", reuse=True):
                    inp = loop_function(prev, i)
            input_size = inp.shape.with_rank(2)[1]
            if input_size is None:
                raise ValueError(f"attention_decoder: cannot infer the input size of step {i} from {inp.name} "
                                 f"(shape {inp.shape})")
            step_inputs = [v1.cast(t, dtype) for t in [inp, *reads]]
            cell_output, state = cell(_Linear(step_inputs, int(input_size), dtype)(step_inputs), state)
            if i == 0 and initial_state_attention:
                with v1.variable_scope(v1.get_variable_scope(), reuse=True):
                    reads = attention(state)
            else:
                reads = attention(state)
            with v1.variable_scope("AttnOutputProjection"):
                projected_inputs = [v1.cast(cell_output, dtype), *reads]
                output = _Linear(projected_inputs, output_size, dtype)(projected_inputs)
            if loop_function is not None:
                prev = output
            outputs.append(output)
    return outputs, state


def _extract_argmax_and_embed(embedding, output_projection=None, update_embedding: bool = True) -> Callable:
    def loop_function(prev, _):
        if output_projection is not None:
            prev = v1.nn.xw_plus_b(prev, output_projection[0], output_projection[1])
        embedded = v1.nn.embedding_lookup(embedding, v1.argmax(prev, 1))
        # Without it, gradients flow into the embedding through the fed-back symbols too.
        return embedded if update_embedding else v1.stop_gradient(embedded)

    return loop_function


def embedding_rnn_decoder(decoder_inputs: Sequence, initial_state, cell, num_symbols: int, embedding_size: int,
                          output_projection=None, feed_previous: bool = False,
                          update_embedding_for_previous: bool = True, scope=None):
    """:func:`rnn_decoder` over embedded symbols (``decoder_inputs``: a list of ``[batch]`` int tensors).

    Raises:
        ValueError: ``output_projection``'s weights or biases do not fit ``num_symbols``.
    """
    with v1.variable_scope(scope or "embedding_rnn_decoder") as variable_scope:
        if output_projection is not None:
            dtype = variable_scope.dtype
            weights = v1.convert_to_tensor(output_projection[0], dtype=dtype)
            biases = v1.convert_to_tensor(output_projection[1], dtype=dtype)
            if not weights.shape.is_compatible_with([None, num_symbols]):
                raise ValueError(f"embedding_rnn_decoder: output_projection weights have shape {weights.shape}; "
                                 f"expected [output size, num_symbols={num_symbols}]")
            if not biases.shape.is_compatible_with([num_symbols]):
                raise ValueError(f"embedding_rnn_decoder: output_projection biases have shape {biases.shape}; "
                                 f"expected [num_symbols={num_symbols}]")
            output_projection = (weights, biases)
        embedding = v1.get_variable("embedding", [num_symbols, embedding_size])
        loop_function = (_extract_argmax_and_embed(embedding, output_projection, update_embedding_for_previous)
                         if feed_previous else None)
        embedded = (v1.nn.embedding_lookup(embedding, symbols) for symbols in decoder_inputs)
        return rnn_decoder(embedded, initial_state, cell, loop_function=loop_function)


def sequence_loss_by_example(logits: Sequence, targets: Sequence, weights: Sequence,
                             average_across_timesteps: bool = True, softmax_loss_function: Callable | None = None,
                             name: str | None = None):
    """Per-example weighted cross-entropy summed over the steps: a ``[batch]`` tensor.

    ``logits`` are ``[batch, classes]`` per step, ``targets`` ``[batch]`` ints and
    ``weights`` ``[batch]`` floats per step. With ``average_across_timesteps`` the
    sum is divided by the summed weights (+1e-12).

    Raises:
        ValueError: the three lists differ in length.
    """
    if len(targets) != len(logits) or len(weights) != len(logits):
        raise ValueError(f"sequence_loss_by_example: logits, weights and targets must be lists of one length "
                         f"(one entry per step); got {len(logits)} logits, {len(weights)} weights, "
                         f"{len(targets)} targets")
    with v1.name_scope(name, "sequence_loss_by_example", list(logits) + list(targets) + list(weights)):
        per_step = []
        for logit, target, weight in zip(logits, targets, weights):
            if softmax_loss_function is None:
                crossent = v1.nn.sparse_softmax_cross_entropy_with_logits(labels=v1.reshape(target, [-1]),
                                                                          logits=logit)
            else:
                crossent = softmax_loss_function(labels=target, logits=logit)
            per_step.append(crossent * weight)
        log_perplexities = v1.add_n(per_step)
        if average_across_timesteps:
            log_perplexities /= v1.add_n(weights) + _EPSILON
    return log_perplexities


def sequence_loss(logits: Sequence, targets: Sequence, weights: Sequence, average_across_timesteps: bool = True,
                  average_across_batch: bool = True, softmax_loss_function: Callable | None = None,
                  name: str | None = None):
    """The sum of :func:`sequence_loss_by_example`, divided by the batch size when ``average_across_batch``."""
    with v1.name_scope(name, "sequence_loss", list(logits) + list(targets) + list(weights)):
        cost = v1.reduce_sum(sequence_loss_by_example(
            logits, targets, weights, average_across_timesteps=average_across_timesteps,
            softmax_loss_function=softmax_loss_function))
        if average_across_batch:
            return cost / v1.cast(v1.shape(targets[0])[0], cost.dtype)
        return cost
