"""Running a training step fast: one compiled callable, optionally K steps per Session call.

``Session.run`` spends most of a small model's step in Python (building the
feed dict, resolving fetches, wrapping results): ~200 µs for the X*A=10 step on
the reference machine (2 CPUs) against ~60 µs for the same step through
TensorFlow's C++ callable API (~13 µs when the session runs ops in the calling
thread), and ~12 µs per step inside an in-graph ``tf.while_loop``. (TF's own
``make_callable`` with a ``feed_list`` falls back to ``Session.run``.) So
:func:`run_steps` runs a :class:`~graphmode.train.step.StepGraph` (built by
:mod:`graphmode.train.step`) through one ``Session._make_callable_from_options``
handle, K steps per call when the step was built with ``steps_per_call=K``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from tqdm.auto import tqdm

from graphmode._runtime import tf, v1
from graphmode.errors import ConfigError, InputExhaustedError, NumericsError, SessionClosedError
from graphmode.session.callables import build_callable
from graphmode.train.inputs import batch_feeder, check_inputs
from graphmode.train.step import StepGraph

# Long enough that a bar is worth its line, short enough for any real training run.
AUTO_PROGRESS_MIN_STEPS = 1000


class LoopResult(NamedTuple):
    """The per-step losses of :func:`run_steps` (in the loss's own dtype), how many steps ran, and how long."""

    losses: np.ndarray
    steps: int
    seconds: float

    @property
    def microseconds_per_step(self) -> float:
        """Wall time per step, including the first call."""
        return self.seconds / max(self.steps, 1) * 1e6


def _runner(session: v1.Session, step: StepGraph, check_loss: bool):
    # Making a callable prunes and optimizes the graph (milliseconds), so repeated
    # run_steps calls (one per epoch) reuse it. The cache lives on the session, since
    # each callable holds its session: a cache keyed by session would keep it alive.
    runners = session.__dict__.setdefault("_graphmode_loop_runners", {})
    key = (step._replace(global_step=None), check_loss)  # a tf.Variable is not hashable; it is not run here
    if key not in runners:
        runners[key] = _make_runner(session, step, check_loss)
    return runners[key]


def _make_runner(session: v1.Session, step: StepGraph, check_loss: bool):
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


def _progress_bar(progress: bool | None, steps: int | None) -> tqdm:
    # tqdm's own disable=None: a bar only when stderr is a terminal; short runs stay quiet.
    if progress is None and steps is not None and steps < AUTO_PROGRESS_MIN_STEPS:
        progress = False
    return tqdm(total=steps, unit="step", file=sys.stderr, dynamic_ncols=True,
                disable=None if progress is None else not progress)


def _global_step_value(session: v1.Session, step: StepGraph) -> int | None:
    if step.global_step is None:
        return None
    try:
        return int(session.run(step.global_step))
    except (tf.errors.OpError, TypeError, ValueError):  # an error report must not fail on its own details
        return None


def _nonfinite_error(step: StepGraph, losses: np.ndarray, index: int, global_step: int | None) -> NumericsError:
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


def _exhausted_error(step: StepGraph, losses: np.ndarray, steps: int, cause=None) -> InputExhaustedError:
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
    step: StepGraph,
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
        step: from :func:`~graphmode.train.step.step_from_train_op` or :func:`~graphmode.train.step.build_step`.
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
            bar.update(ran)
            if ran:
                bar.set_postfix(loss=f"{float(losses[-1]):.4g}", refresh=False)
            if ran < count:  # K steps per call: the tf.data input ended inside this call
                if steps is None:
                    break
                raise _exhausted_error(step, np.concatenate(chunks), steps)
    finally:
        bar.close()
    seconds = time.perf_counter() - started
    return LoopResult(np.concatenate(chunks), done, seconds)
