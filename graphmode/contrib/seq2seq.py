"""``tf.contrib.seq2seq.sequence_loss``: weighted cross-entropy over a batch of sequences.

TF 1.15's contrib.seq2seq has no TensorFlow 2 home (TensorFlow Addons'
``tfa.seq2seq`` is end-of-life), so the loss TF1 language-model scripts use is
written here from TF 1.15's documentation, on ``tf.compat.v1`` ops.
"""

from __future__ import annotations

from collections.abc import Callable

from graphmode._runtime import v1

# TF 1.15 adds this to each denominator so an all-zero weight row gives 0, not NaN.
_EPSILON = 1e-12


def sequence_loss(
    logits, targets, weights, average_across_timesteps: bool = True, average_across_batch: bool = True,
    sum_over_timesteps: bool = False, sum_over_batch: bool = False,
    softmax_loss_function: Callable | None = None, name: str | None = None,
):
    """Cross-entropy of ``logits`` ``[batch, time, classes]`` against ``targets`` ``[batch, time]``, weighted.

    Each step's loss is multiplied by its weight, then reduced: averaging over
    a dimension divides the sum by the sum of the weights over it; summing over
    it divides by the count of non-zero weights. Dimensions reduced neither way
    stay, so the result has rank 0, 1 or 2. ``softmax_loss_function(labels=,
    logits=)`` replaces the sparse softmax cross-entropy.

    Raises:
        ValueError: ranks other than 3/2/2, or averaging and summing the same dimension.
    """
    logits, targets, weights = (v1.convert_to_tensor(t) for t in (logits, targets, weights))
    if logits.shape.rank != 3:
        raise ValueError(f"sequence_loss: logits must be [batch_size x sequence_length x logits], "
                         f"got shape {logits.shape}")
    if targets.shape.rank != 2:
        raise ValueError(f"sequence_loss: targets must be [batch_size x sequence_length], got shape {targets.shape}")
    if weights.shape.rank != 2:
        raise ValueError(f"sequence_loss: weights must be [batch_size x sequence_length], got shape {weights.shape}")
    if average_across_timesteps and sum_over_timesteps:
        raise ValueError("sequence_loss: average_across_timesteps and sum_over_timesteps cannot both be True")
    if average_across_batch and sum_over_batch:
        raise ValueError("sequence_loss: average_across_batch and sum_over_batch cannot both be True")
    with v1.name_scope(name, "sequence_loss", [logits, targets, weights]):
        classes = v1.shape(logits)[2]
        flat_logits = v1.reshape(logits, [-1, classes])
        flat_targets = v1.reshape(targets, [-1])
        if softmax_loss_function is None:
            crossent = v1.nn.sparse_softmax_cross_entropy_with_logits(labels=flat_targets, logits=flat_logits)
        else:
            crossent = softmax_loss_function(labels=flat_targets, logits=flat_logits)
        crossent = v1.reshape(crossent * v1.reshape(weights, [-1]), v1.shape(targets))

        axes = [axis for axis, averaged in ((0, average_across_batch), (1, average_across_timesteps)) if averaged]
        summed = [axis for axis, flag in ((0, sum_over_batch), (1, sum_over_timesteps)) if flag]
        if axes:
            total = v1.reduce_sum(crossent, axis=axes)
            return total / (v1.reduce_sum(weights, axis=axes) + _EPSILON)
        if summed:
            total = v1.reduce_sum(crossent, axis=summed)
            count = v1.cast(v1.count_nonzero(weights, axis=summed), total.dtype)
            return total / (count + _EPSILON)
        return crossent
