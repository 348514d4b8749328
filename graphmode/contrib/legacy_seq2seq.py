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

``attention_decoder`` and the model builders on top of it are not provided.
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
