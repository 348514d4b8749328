"""A fast graph-mode training loop: one compiled callable, optionally K steps per Session call.

``Session.run`` spends most of a small model's step in Python (building the
feed dict, resolving fetches, wrapping results): ~200 µs for the X*A=10 step on
the reference machine (2 CPUs) against ~60 µs for the same step through
TensorFlow's C++ callable API (~13 µs when the session runs ops in the calling
thread), and ~12 µs per step inside an in-graph ``tf.while_loop``. (TF's own
``make_callable`` with a ``feed_list`` falls back to ``Session.run``.) So:

* :func:`train_step` wraps an existing TF1 train op + loss (+ the placeholders
  it feeds) for :func:`run_steps`, which runs it through one
  ``Session._make_callable_from_options`` handle (through
  :func:`graphmode.session.callables.build_callable`, so the losses are the caller's own arrays);
* :func:`build_train_step` builds the step from a ``step_fn`` and, with
  ``steps_per_call=K``, wraps K steps in one ``tf.while_loop`` that still returns
  the loss of every step and stops at the first NaN/Inf loss.

Example:
    >>> with graph.as_default():
    ...     step = gm.build_train_step(model_loss, gm.optimizer_spec("adam", 1e-3),
    ...                                input_specs=[tf.TensorSpec([128, 784]), tf.TensorSpec([128], tf.int64)],
    ...                                steps_per_call=50)
    >>> result = gm.run_steps(session, step, steps=5000, inputs=(images, labels), batch_size=128)
    >>> result.losses[-1]
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from graphmode._runtime import tf, v1
from graphmode.errors import ConfigError, InputExhaustedError, NumericsError, SessionClosedError
from graphmode.session.callables import build_callable
from graphmode.train.inputs import batch_feeder, check_inputs
from graphmode.train.optimizers import GradientClipping, OptimizerSpec, make_tf1_optimizer, minimize

# Long enough that a bar is worth its line, short enough for any real training run.
AUTO_PROGRESS_MIN_STEPS = 1000


class TrainStep(NamedTuple):
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


class LoopResult(NamedTuple):
    """The per-step losses of :func:`run_steps` (in the loss's own dtype), how many steps ran, and how long."""

    losses: np.ndarray
    steps: int
    seconds: float

    @property
    def microseconds_per_step(self) -> float:
        """Wall time per step, including the first call."""
        return self.seconds / max(self.steps, 1) * 1e6


def train_step(
    train_op: tf.Operation,
    loss: tf.Tensor,
    feeds: Sequence[tf.Tensor] = (),
    *,
    global_step: tf.Tensor | tf.Variable | None = None,
) -> TrainStep:
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
    return TrainStep(loss, train_op, feeds, 1, global_step=global_step)


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


def build_train_step(
    step_fn: Callable[..., tf.Tensor],
    optimizer: OptimizerSpec | v1.train.Optimizer,
    *,
    input_specs: Sequence[tf.TensorSpec] | None = None,
    dataset: tf.data.Dataset | None = None,
    steps_per_call: int = 1,
    var_list: Sequence[tf.Variable] | None = None,
    global_step: tf.Variable | None = None,
    clip: GradientClipping | None = None,
) -> TrainStep:
    """Builds a training step (or an in-graph loop of K steps) in the default graph.

    Args:
        step_fn: ``step_fn(*batch_tensors) -> scalar loss``, using variables that
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
        A :class:`TrainStep` for :func:`run_steps`.

    Raises:
        ConfigError: K < 1, inputs given twice, a TF1 optimizer whose learning rate is
            a tensor with K > 1, or ``step_fn`` created variables inside the loop.
    """
    if isinstance(steps_per_call, bool) or not isinstance(steps_per_call, int) or steps_per_call < 1:
        raise ConfigError(f"steps_per_call must be an int >= 1; got {steps_per_call!r}")
    stacked = steps_per_call > 1 and dataset is None
    feeds, inputs_of_step, iterator = _step_inputs(input_specs, dataset, stacked)
    if global_step is None:
        global_step = v1.train.get_or_create_global_step()
    if steps_per_call == 1:
        loss = step_fn(*inputs_of_step(None))
        trained = minimize(loss, optimizer, var_list=var_list, global_step=global_step, clip=clip)
        return train_step(trained.op, loss, feeds, global_step=global_step)
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
        loss = tf.convert_to_tensor(step_fn(*inputs))
        if not loss.dtype.is_floating or loss.shape.rank not in (0, None):
            raise ConfigError(
                f"step_fn returned '{loss.name}' of dtype {loss.dtype.name} and shape {loss.shape}; the loop "
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
        # the TensorArray needs its dtype before step_fn has run.
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
            f"step_fn created variables inside the in-graph loop ({', '.join(stray)}); create them before "
            "build_train_step and only use them in step_fn"
        )
    return TrainStep(losses, None, feeds, steps_per_call, steps_done, step_count, stop_on_nonfinite, global_step)


def _runner(session: v1.Session, step: TrainStep, check_loss: bool):
    # Making a callable prunes and optimizes the graph (milliseconds), so repeated
    # run_steps calls (one per epoch) reuse it. The cache lives on the session, since
    # each callable holds its session: a cache keyed by session would keep it alive.
    runners = session.__dict__.setdefault("_graphmode_loop_runners", {})
    key = (step._replace(global_step=None), check_loss)  # a tf.Variable is not hashable; it is not run here
    if key not in runners:
        runners[key] = _make_runner(session, step, check_loss)
    return runners[key]


def _make_runner(session: v1.Session, step: TrainStep, check_loss: bool):
    """A function ``run(feeds, count) -> (losses, steps_done)`` over one C++ callable."""
    feeds = list(step.feeds)
    if step.step_count is not None:
        feeds.append(step.step_count)
        if not check_loss:
            feeds.append(step.stop_on_nonfinite)
    leaves = [step.loss] if step.steps_done is None else [step.loss, step.steps_done]
    call = build_callable(session, leaves, feeds, [step.train_op] if step.train_op is not None else [])
    translate = getattr(session, "_translate", None)  # graphmode.Session's error rewriting
    fetches = [step.loss] if step.train_op is None else [step.train_op, step.loss]

    def run(arrays: list, count: int):
        extra = [] if step.step_count is None else [np.int32(count)] + ([] if check_loss else [np.bool_(False)])
        try:
            results = call([*arrays, *extra])
        except tf.errors.OpError as error:
            if isinstance(error, tf.errors.OutOfRangeError) or translate is None:
                raise
            raise translate(error, fetches, dict(zip(feeds, arrays + extra)), None, None) from error
        if step.steps_done is None:
            return np.reshape(results[0], (1,)), 1
        done = int(results[1])
        return results[0][:done], done

    return run


def _progress_bar(progress: bool | None, steps: int | None):
    if progress is None:
        progress = sys.stderr.isatty() and (steps is None or steps >= AUTO_PROGRESS_MIN_STEPS)
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=steps, unit="step", file=sys.stderr, dynamic_ncols=True)


def _global_step_value(session: v1.Session, step: TrainStep) -> int | None:
    if step.global_step is None:
        return None
    try:
        return int(session.run(step.global_step))
    except (tf.errors.OpError, TypeError, ValueError):  # an error report must not fail on its own details
        return None


def _nonfinite_error(step: TrainStep, losses: np.ndarray, index: int, global_step: int | None) -> NumericsError:
    """The NaN/Inf error: the loss of step ``index`` was not finite; its update and every earlier one ran."""
    kind = "NaN" if np.isnan(losses[index]) else "Inf"
    counter = "" if global_step is None else f"; global step is now {global_step}"
    applied = f"{index + 1} update(s) applied: steps 0-{index}, the last with the {kind} loss; no later step ran"
    if index:
        summary = f"loss '{step.loss.name}' became {kind} at step {index} (steps 0-{index - 1} were finite; "
        advice = f"Lower the learning rate, clip gradients (GradientClipping) or check the inputs of step {index}."
    else:
        summary = f"loss '{step.loss.name}' is {kind} at step 0, the first step ("
        advice = "Check the inputs and initial values."
    error = NumericsError(f"{summary}{applied}{counter}). {advice}")
    error.step = index
    error.losses = losses
    error.updates_applied = index + 1
    error.global_step = global_step
    return error


def _exhausted_error(step: TrainStep, losses: np.ndarray, steps: int, cause=None) -> InputExhaustedError:
    done = len(losses)
    error = InputExhaustedError(
        f"the tf.data input ran out at step {done} of the {steps} requested; {done} steps ran and their updates "
        "were applied (their losses are in error.losses). Repeat the dataset (dataset.repeat()) or ask for fewer "
        "steps (steps=None runs until it ends).",
        getattr(cause, "node_def", None),
    )
    error.losses = losses
    error.steps = done
    return error


def run_steps(
    session: v1.Session,
    step: TrainStep,
    steps: int | None = None,
    *,
    inputs: Sequence[np.ndarray] = (),
    batch_size: int | None = None,
    progress: bool | None = None,
    check_loss: bool = True,
) -> LoopResult:
    """Runs ``step`` for ``steps`` steps through one compiled callable and returns every step's loss.

    Args:
        session: a :class:`graphmode.Session` (errors are rewritten as by its ``run``)
            whose variables are initialized.
        step: from :func:`train_step` or :func:`build_train_step`.
        steps: how many steps; None runs until the ``tf.data`` input is exhausted
            (with K steps per call too: the last call runs the steps left).
        inputs: one array per ``step.feeds`` entry (feeds are checked once, up front).
        batch_size: step ``s`` feeds rows ``[j*b, (j+1)*b)`` of every array with
            ``j = s mod (n // b)`` (a last partial batch is dropped); None feeds the
            whole arrays at every step.
        progress: tqdm progress bar on stderr; None shows it when stderr is a
            terminal and the run has at least 1000 steps.
        check_loss: stop with :class:`NumericsError` at the first NaN/Inf loss.

    Returns:
        A :class:`LoopResult`: ``losses`` has one entry per step run, in the loss's dtype.

    Raises:
        NumericsError: the loss became NaN/Inf (``check_loss``), naming the step;
            ``error.losses`` holds the losses up to it, ``error.updates_applied``
            the updates this call applied (that step's included, none after it),
            ``error.global_step`` the global step after them (None if unknown).
        InputExhaustedError: the ``tf.data`` input ran out before ``steps``;
            ``error.losses`` holds the losses of the steps that ran.
        SessionClosedError: the session was closed.
        FeedError, ConfigError: inputs that do not fit the feeds, or bad options;
            and graphmode.Session's errors (uninitialized variables, ...).
    """
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 0):
        raise ConfigError(f"steps must be an int >= 0 or None; got {steps!r}")
    if getattr(session, "_closed", False):
        raise SessionClosedError("run_steps was given a closed session; create a new session (and initialize or restore)")
    if step.loss.graph is not session.graph:
        raise ConfigError(f"the step's loss '{step.loss.name}' belongs to another graph than the session's")
    if steps is None and step.feeds:
        raise ConfigError("steps=None runs until a tf.data input is exhausted; this step feeds placeholders, give steps")
    arrays = check_inputs(step, inputs, batch_size)
    feeder = batch_feeder(step, arrays, batch_size)
    run = _runner(session, step, check_loss)
    bar = _progress_bar(progress, steps)
    chunks: list[np.ndarray] = [np.zeros(0, step.loss.dtype.as_numpy_dtype)]
    done = 0
    started = time.perf_counter()
    try:
        while steps is None or done < steps:
            count = step.steps_per_call if steps is None else min(step.steps_per_call, steps - done)
            try:
                losses, ran = run(feeder(done, count), count)
            except tf.errors.OutOfRangeError as error:  # one step per call: get_next ran out
                if steps is None:
                    break
                raise _exhausted_error(step, np.concatenate(chunks), steps, error) from error
            chunks.append(losses)
            if check_loss and not np.isfinite(losses).all():
                index = done + int(np.flatnonzero(~np.isfinite(losses))[0])
                all_losses = np.concatenate(chunks)[: index + 1]
                raise _nonfinite_error(step, all_losses, index, _global_step_value(session, step))
            done += ran
            if bar is not None:
                bar.update(ran)
                if ran:
                    bar.set_postfix(loss=f"{float(losses[-1]):.4g}", refresh=False)
            if ran < count:  # K steps per call: the tf.data input ended inside this call
                if steps is None:
                    break
                raise _exhausted_error(step, np.concatenate(chunks), steps)
    finally:
        if bar is not None:
            bar.close()
    seconds = time.perf_counter() - started
    return LoopResult(np.concatenate(chunks), done, seconds)
