"""Building a training step for :func:`~graphmode.train.loop.run_steps`: what one loop call runs, as graph ops.

* :func:`step_from_train_op` wraps an existing TF1 train op + loss (+ the
  placeholders it feeds);
* :func:`build_step` builds the step from ``loss_fn(*batch) -> loss`` and an
  optimizer and, with ``steps_per_call=K``, wraps K steps in one
  ``tf.while_loop`` that still returns the loss of every step and stops at the
  first NaN/Inf loss.

Both return a :class:`StepGraph`; running it is :mod:`graphmode.train.loop`.

Example:
    >>> with graph.as_default():
    ...     step = gm.build_step(model_loss, gm.optimizer_spec("adam", 1e-3),
    ...                          input_specs=[tf.TensorSpec([128, 784]), tf.TensorSpec([128], tf.int64)],
    ...                          steps_per_call=50)
    >>> result = gm.run_steps(session, step, steps=5000, inputs=(images, labels), batch_size=128)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from graphmode._runtime import tf, v1
from graphmode.errors import ConfigError
from graphmode.train.optimizers import GradientClipping, OptimizerSpec, make_tf1_optimizer, minimize


class StepGraph(NamedTuple):
    """What one call of the training loop runs.

    Attributes:
        loss: the loss (``steps_per_call == 1``) or the ``[K]`` per-step losses.
        train_op: the op run with ``loss`` (None for the in-graph loop, whose
            outputs already depend on every update).
        feeds: placeholders fed per call, in the order of ``run_steps(inputs=...)``.
            With ``steps_per_call > 1`` each has a leading axis of one entry per step.
        steps_per_call: K.
        steps_done: how many steps the call ran (K-step mode), else None.
        step_count: feed for the number of steps of a call (K-step mode), else None.
        stop_on_nonfinite: feed switching the in-graph stop at a NaN/Inf loss, else None.
        global_step: the step counter the updates advance (reported when the loss turns
            NaN/Inf), or None.
    """

    loss: tf.Tensor
    train_op: tf.Operation | None
    feeds: tuple[tf.Tensor, ...]
    steps_per_call: int
    steps_done: tf.Tensor | None = None
    step_count: tf.Tensor | None = None
    stop_on_nonfinite: tf.Tensor | None = None
    global_step: tf.Tensor | tf.Variable | None = None


def step_from_train_op(
    train_op: tf.Operation,
    loss: tf.Tensor,
    feeds: Sequence[tf.Tensor] = (),
    *,
    global_step: tf.Tensor | tf.Variable | None = None,
) -> StepGraph:
    """Wraps an existing TF1 train op and loss (one step per call) for :func:`run_steps`.

    Args:
        train_op: the update op (``optimizer.minimize(...)``).
        loss: the scalar loss of the same run.
        feeds: the placeholders :func:`run_steps` feeds, in order (none for a
            ``tf.data`` iterator graph).
        global_step: the counter ``train_op`` advances, if any; a NaN/Inf loss
            error then says where it stands.

    Raises:
        ConfigError: the loss is not a scalar, or the pieces come from different graphs.
    """
    feeds = tuple(feeds)
    for piece in (train_op, *feeds):
        if piece.graph is not loss.graph:
            raise ConfigError(f"'{piece.name}' belongs to another graph than the loss '{loss.name}'")
    if loss.shape.rank not in (0, None):
        raise ConfigError(f"loss '{loss.name}' has shape {loss.shape}; the loop needs a scalar loss per step")
    return StepGraph(loss, train_op, feeds, 1, global_step=global_step)


def _step_inputs(input_specs, dataset, stacked: bool):
    """Placeholders (or an iterator) for the inputs, and how to get one step's tensors from them.

    Returns ``(feeds, inputs_of_step, iterator)``; ``iterator`` is None for placeholders.
    """
    if dataset is not None:
        if input_specs is not None:
            raise ConfigError("give input_specs or dataset, not both")
        iterator = v1.data.make_one_shot_iterator(dataset)
        return (), lambda index: tf.nest.flatten(iterator.get_next()), iterator
    specs = list(input_specs or ())
    for spec in specs:
        if not isinstance(spec, tf.TensorSpec):
            raise ConfigError(f"input_specs entries must be tf.TensorSpec; got {spec!r}")
        if spec.shape.rank is None:
            raise ConfigError(f"input spec {spec!r} has unknown rank; give its shape (dimensions may be None)")
    feeds = tuple(
        v1.placeholder(spec.dtype, ([None] if stacked else []) + spec.shape.as_list(), name=spec.name or f"input_{n}")
        for n, spec in enumerate(specs)
    )
    if not stacked:
        return feeds, lambda index: list(feeds), None
    return feeds, lambda index: [feed[index] for feed in feeds], None


def build_step(
    loss_fn: Callable[..., tf.Tensor],
    optimizer: OptimizerSpec | v1.train.Optimizer,
    *,
    input_specs: Sequence[tf.TensorSpec] | None = None,
    dataset: tf.data.Dataset | None = None,
    steps_per_call: int = 1,
    var_list: Sequence[tf.Variable] | None = None,
    global_step: tf.Variable | None = None,
    clip: GradientClipping | None = None,
) -> StepGraph:
    """Builds a training step (or an in-graph loop of K steps) in the default graph.

    Args:
        loss_fn: ``loss_fn(*batch_tensors) -> scalar loss``, using variables that
            already exist (create them before; variables made inside the loop would
            be re-created every step).
        optimizer: an :class:`OptimizerSpec` or a TF1 optimizer. With K > 1 a
            decaying learning rate must come as a spec, so that the decay tensor is
            recomputed inside the loop at every step.
        input_specs: shape/dtype of one step's inputs; the loop feeds them as
            placeholders (stacked ``[K, ...]`` when K > 1).
        dataset: a ``tf.data.Dataset`` instead; each step takes the next element.
        steps_per_call: K, the steps one Session call runs.
        var_list: as for :func:`graphmode.minimize`.
        clip: as for :func:`graphmode.minimize`.
        global_step: counts the steps run (the graph's global step, created if
            needed, when None); decaying learning rates read it.

    Returns:
        A :class:`StepGraph` for :func:`run_steps`.

    Raises:
        ConfigError: K < 1, inputs given twice, a TF1 optimizer whose learning rate is
            a tensor with K > 1, or ``loss_fn`` created variables inside the loop.
    """
    if isinstance(steps_per_call, bool) or not isinstance(steps_per_call, int) or steps_per_call < 1:
        raise ConfigError(f"steps_per_call must be an int >= 1; got {steps_per_call!r}")
    stacked = steps_per_call > 1 and dataset is None
    feeds, inputs_of_step, iterator = _step_inputs(input_specs, dataset, stacked)
    if global_step is None:
        global_step = v1.train.get_or_create_global_step()
    if steps_per_call == 1:
        loss = loss_fn(*inputs_of_step(None))
        trained = minimize(loss, optimizer, var_list=var_list, global_step=global_step, clip=clip)
        return step_from_train_op(trained.op, loss, feeds, global_step=global_step)
    if not isinstance(optimizer, OptimizerSpec) and isinstance(getattr(optimizer, "_learning_rate", None), tf.Tensor):
        raise ConfigError(
            f"the TF1 optimizer's learning rate is a tensor ('{optimizer._learning_rate.name}'), computed once "
            "per Session call outside the in-graph loop, so a decay would stand still for K steps; pass an "
            "OptimizerSpec with ExponentialDecay/PiecewiseConstant/PolynomialDecay instead"
        )
    before = {variable.name for variable in v1.global_variables()}
    optimizers = []
    loss_dtypes = []
    step_count = v1.placeholder_with_default(np.int32(steps_per_call), [], name="steps_this_call")
    stop_on_nonfinite = v1.placeholder_with_default(True, [], name="stop_on_nonfinite")

    ignore_nonfinite = tf.logical_not(stop_on_nonfinite)

    def take_step(inputs):
        loss = tf.convert_to_tensor(loss_fn(*inputs))
        if not loss.dtype.is_floating or loss.shape.rank not in (0, None):
            raise ConfigError(
                f"loss_fn returned '{loss.name}' of dtype {loss.dtype.name} and shape {loss.shape}; the loop "
                "needs a scalar floating-point loss per step"
            )
        loss_dtypes.append(loss.dtype)
        # Built inside the body so that a decaying learning rate is recomputed from
        # the global step at every iteration, not once per Session call.
        step_optimizer = make_tf1_optimizer(optimizer, global_step) if isinstance(optimizer, OptimizerSpec) else optimizer
        trained = minimize(loss, step_optimizer, var_list=var_list, global_step=global_step, clip=clip)
        optimizers.append(trained.optimizer)
        # The per-step losses travel as float64, which holds every float16/32/64
        # value exactly, and are cast back to the loss's dtype after the loop:
        # the TensorArray needs its dtype before loss_fn has run.
        with tf.control_dependencies([trained.op]):
            widened = tf.cast(loss, tf.float64)
            return tf.identity(widened) if widened is loss else widened  # one op per step, not two

    def body(index, losses, go_on):
        if iterator is None:
            loss, following, more = take_step(inputs_of_step(index)), index + 1, None
        else:
            # An Optional instead of get_next: the end of the data ends the loop
            # normally, keeping the losses of the steps this call did run.
            element = iterator.get_next_as_optional()
            loss, more = tf.cond(
                element.has_value(),
                lambda: (take_step(tf.nest.flatten(element.get_value())), tf.constant(True)),
                lambda: (tf.constant(np.nan, tf.float64), tf.constant(False)),
            )
            following = index + tf.cast(more, tf.int32)
        # The continue flag is computed here so the loop condition is a bare read:
        # every op per iteration costs ~0.5 µs next to a ~8 µs step.
        go_on = tf.logical_and(following < step_count, tf.logical_or(tf.math.is_finite(loss), ignore_nonfinite))
        if more is not None:
            go_on = tf.logical_and(go_on, more)
        return following, losses.write(index, loss), go_on

    with tf.name_scope("graphmode_train_loop"):
        start = (
            tf.constant(0),
            tf.TensorArray(tf.float64, size=steps_per_call, element_shape=[]),
            step_count > 0,
        )
        steps_done, losses, _ = tf.while_loop(lambda index, losses, go_on: go_on, body, start, name="steps")
        steps_done = tf.identity(steps_done, name="steps_done")
        losses = tf.identity(tf.cast(losses.stack(), loss_dtypes[0]), name="step_losses")
    made_by_optimizer = {variable.name for built in optimizers for variable in built.variables()}
    stray = sorted({variable.name for variable in v1.global_variables()} - before - made_by_optimizer)
    if stray:
        raise ConfigError(
            f"loss_fn created variables inside the in-graph loop ({', '.join(stray)}); create them before "
            "build_step and only use them in loss_fn"
        )
    return StepGraph(losses, None, feeds, steps_per_call, steps_done, step_count, stop_on_nonfinite, global_step)
