"""Graph-vs-eager parity: step the TF1 original and its TF2 rewrite side by side.

Describe the model twice — a :class:`GraphModel` (placeholders, variables, a
TF1 optimizer's ``train_op``) and an :class:`EagerModel` (``tf.Variable`` or
Keras, ``GradientTape``, a Keras optimizer) — and :func:`check_parity` runs both
on the same batches. The verdict is the lockstep comparison
(:mod:`graphmode.parity.lockstep`: every eager step starts from the graph's
whole state, so each step's difference is that step's alone); the free-running
comparison (:mod:`graphmode.parity.run`, :mod:`graphmode.parity.compare`) is
kept as the drift over the run; :mod:`graphmode.parity.initializers` checks the
eager side's own initial values against the graph's distribution.

Example:
    >>> report = gm.check_parity(build_graph, build_eager, batches, atol=1e-6, rtol=1e-5)
    >>> print(report)                 # lockstep table, first divergence, then the drift
    >>> gm.assert_parity(report)      # AssertionError carrying the first divergence
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from graphmode._runtime import v1
from graphmode.errors import ConfigError
from graphmode.parity.compare import compare_trajectories
from graphmode.parity.divergence import Trajectory, Verdict
from graphmode.parity.initializers import check_initializers
from graphmode.parity.lockstep import run_lockstep
from graphmode.parity.noise_floor import DEFAULT_NOISE_FACTOR, perturb_by_one_ulp
from graphmode.parity.progress import progress
from graphmode.parity.report import ParityReport
from graphmode.parity.run import (
    EagerModel,
    GraphModel,
    built_eager_model,
    free_eager_run,
    named_variables,
    train_graph,
)

if TYPE_CHECKING:
    from graphmode.trace.reader import Trace

__all__ = [
    "DEFAULT_ATOL",
    "DEFAULT_RTOL",
    "RANDOM_OP_MODES",
    "ParityProblem",
    "assert_parity",
    "check_parity",
]

# float32 graph and eager kernels agree to a few ulps per op; these leave room
# for that to accumulate over tens of steps while still catching real mistakes.
DEFAULT_ATOL = 1e-6
DEFAULT_RTOL = 1e-5

RANDOM_OP_MODES = ("constant", "num_random_ops")


class ParityProblem(NamedTuple):
    """A complete parity check: the two sides, the batches, and every option of :func:`check_parity`.

    The one definition of the check's parameters: ``check_parity(problem)`` runs
    it, and ``check_parity(build_graph, build_eager, batches, **options)`` builds
    one from its keywords. A bundled example module provides
    ``parity_problem(steps: int = ..., seed: int = 0) -> ParityProblem``;
    ``graphmode parity NAME`` calls it and runs :meth:`check`.

    Attributes:
        name: what is checked (shown by ``graphmode parity``).
        build_graph: builds the TF1 side in a fresh graph and returns a :class:`GraphModel`;
            or a :class:`graphmode.trace.Trace` of it (then no ``batches``: the
            recorded state, feeds and losses are the reference, and ``random_ops`` /
            ``noise_floor`` do not apply, since nothing of TF1 runs).
        build_eager: builds the TF2 side and returns an :class:`EagerModel`; called once
            per comparison (lockstep, then the free run), so it must create fresh
            variables and a fresh optimizer each time.
        batches: one tuple of arrays per step (a generator is read once and replayed
            to both sides); None against a trace.
        atol: absolute tolerance (both comparisons).
        rtol: relative tolerance: times the quantity's largest ``|graph value|`` in
            lockstep, times each element's ``|graph value|`` in the free run.
        name_map: graph name -> eager name, for names that differ (keys may also name
            graph optimizer slots and counters).
        initial_values: None (default): the graph side initializes, and its values
            are copied to the paired eager variables, so random initializers need
            not agree; the eager side's own initial values are then checked to
            come from the graph's distribution (:mod:`graphmode.parity.initializers`).
            A mapping: graph names -> arrays, given to both sides.
            ``"own"``: each side keeps its own initial values (compared at step 0).
        random_ops: None, or ``"constant"`` / ``"num_random_ops"``: build and run each
            side inside a fresh ``DeterministicRandomTestTool`` scope of that mode,
            so random ops draw the same numbers on both sides. That holds for
            what each side draws once: variable initializers built from TF random
            ops (``v1.glorot_uniform_initializer()``, ``tf.random.normal``; Keras 2
            initializers seed themselves and do not follow the tool) and the first
            step's dropout. From step 2 on, a graph's random op continues its
            stream while eager code restarts it, so keep per-step randomness out
            of a multi-step comparison (dropout rate 0).
        random_seed: the seed for ``random_ops``.
        noise_floor: widen the free run's tolerance by its own rounding chaos: the
            graph side is trained a second time from its values nudged one ulp
            after every step (:mod:`graphmode.parity.noise_floor`); one more graph run.
        noise_factor: the multiplier of the floor (default 100).
        verdict: :class:`~graphmode.parity.divergence.Verdict` (or its string,
            ``"lockstep"`` by default, or ``"free"``): which comparison decides ``ok``.
        steps: how many steps to run, one batch each, taken from the start of
            ``batches`` (which may then be endless); fewer batches are an error.
            None: one step per batch given (against a trace: every recorded step).
        inputs: against a trace, the placeholder names (``"x"`` or ``"x:0"``) in the
            order ``train_step(*batch)`` takes them (default: the order the script fed them).
    """

    name: str
    build_graph: Callable[[], GraphModel] | Trace
    build_eager: Callable[[], EagerModel]
    batches: Iterable[Any] | None = None
    atol: float = DEFAULT_ATOL
    rtol: float = DEFAULT_RTOL
    name_map: Mapping[str, str] | None = None
    initial_values: Mapping[str, Any] | str | None = None
    random_ops: str | None = None
    random_seed: int = 42
    noise_floor: bool = False
    noise_factor: float = DEFAULT_NOISE_FACTOR
    verdict: Verdict | str = Verdict.LOCKSTEP
    steps: int | None = None
    inputs: Sequence[str] | None = None

    def check(self) -> ParityReport:
        """Runs :func:`check_parity` on this problem."""
        return check_parity(self)


def _random_scope(random_ops: str | None, seed: int) -> contextlib.AbstractContextManager:
    if random_ops is None:
        return contextlib.nullcontext()
    if random_ops not in RANDOM_OP_MODES:
        raise ConfigError(f"random_ops must be one of {RANDOM_OP_MODES} or None; got {random_ops!r}")
    # A fresh tool per side: each starts counting random ops from zero, which is
    # what makes the two sides draw the same numbers.
    return v1.keras.utils.DeterministicRandomTestTool(seed=seed, mode=random_ops).scope()


def check_parity(
    build_graph: Callable[[], GraphModel] | Trace | ParityProblem,
    build_eager: Callable[[], EagerModel] | None = None,
    batches: Iterable[Any] | None = None,
    **options: Any,
) -> ParityReport:
    """Compares the eager rewrite with the graph original, step by step, on the same batches.

    Two comparisons, both in the report. **Lockstep** (the verdict by default):
    before every step the eager side gets the graph side's whole state (its
    variables, the model state the train op updates, the optimizer's slots and
    step counters), both take one step on the same batch, and the step's loss
    and the state after it are compared under ``max|a-b| <= atol + rtol*max|ref|``
    per quantity (:mod:`graphmode.parity.lockstep_report`). A correct port is a
    few ulps off per step; a mistake shows at its first step. **Free run**
    (information unless ``verdict="free"``): the eager side trains on its own from
    the graph's initial values and the drift is compared element-wise
    (``|a-b| <= atol + rtol*|ref|``, optionally over a noise floor); float32
    rounding compounds there, so long runs of correct Adam ports drift apart.

    The graph side is the reference. Variables are paired by
    :func:`match_variable_names` (``name_map`` maps graph names to eager names
    where they differ; its keys may also name graph optimizer slots and counters).
    ``build_eager`` is called once per comparison (twice: lockstep, then the free
    run) and must return fresh variables and a fresh optimizer each time.

    Against a recording: pass a :class:`graphmode.Trace` for ``build_graph`` and
    no ``batches``; the recorded state, feeds and losses are the reference
    (:mod:`graphmode.parity.trace_check`), ``inputs`` orders the recorded feeds
    for ``train_step`` by placeholder name (default: the order the script fed
    them), and ``random_ops`` / ``noise_floor`` do not apply (nothing of TF1 runs).

    Args:
        build_graph: a :class:`ParityProblem` (then nothing else is given); or the
            function that builds the TF1 side and returns a :class:`GraphModel`, or
            a :class:`graphmode.trace.Trace` of it.
        build_eager: builds the TF2 side and returns an :class:`EagerModel`.
        batches: one tuple of arrays per step (none against a trace).
        **options: any other field of :class:`ParityProblem` (``atol``, ``rtol``,
            ``name_map``, ``initial_values``, ``random_ops``, ``random_seed``,
            ``noise_floor``, ``noise_factor``, ``verdict``, ``steps``, ``inputs``),
            which documents each.

    Returns:
        The :class:`ParityReport` (graph = reference, eager = candidate).

    Raises:
        ConfigError: an option is out of range, a builder returned the wrong type,
            a side lists no variables, ``name_map`` / ``initial_values`` name unknown
            variables, ``build_eager`` returned the same variables twice, or there
            are no batches (or fewer than ``steps``), or an option is not one of
            :class:`ParityProblem`'s fields.
    """
    from graphmode.parity.trace_check import check_trace_parity, is_trace

    problem = _as_problem(build_graph, build_eager, batches, options)
    build_graph, build_eager, batches, atol, rtol = (problem.build_graph, problem.build_eager, problem.batches,
                                                     problem.atol, problem.rtol)
    name_map, initial_values, noise_floor, noise_factor = (problem.name_map, problem.initial_values,
                                                           problem.noise_floor, problem.noise_factor)
    random_ops, random_seed, steps, inputs = problem.random_ops, problem.random_seed, problem.steps, problem.inputs
    verdict = Verdict.of(problem.verdict)
    if is_trace(build_graph):
        if batches is not None or random_ops is not None or noise_floor:
            given = [name for name, value in (("batches", batches), ("random_ops", random_ops),
                                              ("noise_floor", noise_floor or None)) if value is not None]
            raise ConfigError(f"check_parity against a trace takes no {', '.join(given)}: the recorded feeds are the "
                              "batches and nothing of TF1 runs; pass inputs=(placeholder names) to order the feeds")
        _check_options(initial_values, atol, rtol, noise_factor)
        return check_trace_parity(build_graph, build_eager, inputs=inputs, steps=steps, atol=atol, rtol=rtol,
                                  name_map=name_map, initial_values=initial_values, verdict=verdict)
    if inputs is not None:
        raise ConfigError("inputs= orders a trace's recorded feeds; with build_graph the GraphModel's inputs order "
                          "the batches")
    if batches is None:
        raise ConfigError("check_parity needs batches (one tuple of arrays per step) with build_graph; only a "
                          "Trace brings its own")
    batches = _take_batches(batches, steps)
    _check_options(initial_values, atol, rtol, noise_factor)
    with _random_scope(random_ops, random_seed):
        graph_model = build_graph()
        if not isinstance(graph_model, GraphModel):
            raise ConfigError(f"build_graph must return a GraphModel; it returned {type(graph_model).__name__}")
    graph_initial = initial_values if isinstance(initial_values, Mapping) else None
    with _random_scope(random_ops, random_seed):
        lockstep_model = built_eager_model(build_eager)
        lockstep = run_lockstep(graph_model, lockstep_model, progress(batches, "parity lockstep"), atol=atol, rtol=rtol,
                                graph_initial=graph_initial, copy_initial=initial_values != "own", name_map=name_map)
    reference = lockstep.reference
    initializers = check_initializers(lockstep.own_initial) if initial_values is None else ()
    shadow = (_nudged_graph_run(build_graph, progress(batches, "parity noise floor"), reference, random_ops, random_seed)
              if noise_floor else None)
    with _random_scope(random_ops, random_seed):
        candidate, pairs = free_eager_run(reference, build_eager, lockstep_model, batches, "parity free run",
                                          name_map=name_map, copy_initial=initial_values != "own")
    free = compare_trajectories(
        reference, candidate, atol=atol, rtol=rtol, name_map=pairs, noise_floor=shadow, noise_factor=noise_factor
    )
    return dataclasses.replace(free, lockstep=lockstep.report, initializers=initializers, verdict=verdict)


def _as_problem(
    build_graph: Callable[[], GraphModel] | Trace | ParityProblem,
    build_eager: Callable[[], EagerModel] | None,
    batches: Iterable[Any] | None,
    options: Mapping[str, Any],
) -> ParityProblem:
    """The :class:`ParityProblem` that :func:`check_parity` was given, or that its arguments describe."""
    if isinstance(build_graph, ParityProblem):
        if build_eager is not None or batches is not None or options:
            given = [name for name, value in (("build_eager", build_eager), ("batches", batches)) if value is not None]
            raise ConfigError(f"check_parity got a ParityProblem and also {given + sorted(options)}; give the problem "
                              "alone (problem._replace(atol=...) changes an option)")
        return build_graph
    fields = list(ParityProblem._fields[4:])
    unknown = sorted(set(options) - set(fields))
    if unknown:
        raise ConfigError(f"check_parity got unknown options {unknown}; the options are ParityProblem's fields: {fields}")
    if build_eager is None:
        raise ConfigError("check_parity needs build_graph (or a Trace) and build_eager, or one ParityProblem; "
                          "build_eager not given")
    return ParityProblem(getattr(build_graph, "__name__", "parity"), build_graph, build_eager, batches, **options)


def _take_batches(batches: Iterable[Any], steps: int | None) -> list:
    """The batches to run: all of them, or the first ``steps``; none (or fewer than ``steps``) is an error."""
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 1):
        raise ConfigError(f"steps must be an int >= 1 (or None: one step per batch); got {steps!r}")
    taken = list(batches if steps is None else itertools.islice(batches, steps))
    if steps is not None and len(taken) < steps:
        raise ConfigError(
            f"check_parity was asked for {steps} steps, but the batches gave {len(taken)} (the iterable ran out); "
            "give one batch per step, or fewer steps"
        )
    if not taken:
        exhausted = " (an iterator that was already exhausted?)" if iter(batches) is batches else ""
        raise ConfigError(
            f"check_parity got 0 batches{exhausted}, so there is no step to compare; give one batch (a tuple of "
            "arrays, one per graph input) per step"
        )
    return taken


def _check_options(initial_values: Any, atol: float, rtol: float, noise_factor: float) -> None:
    if isinstance(initial_values, str) and initial_values != "own":
        raise ConfigError(f"initial_values must be None, a name -> array mapping or 'own'; got {initial_values!r}")
    for label, value in (("atol", atol), ("rtol", rtol), ("noise_factor", noise_factor)):
        if not isinstance(value, int | float) or not value >= 0:
            raise ConfigError(f"{label} must be a number >= 0; got {value!r}")


def _nudged_graph_run(
    build_graph: Callable[[], GraphModel],
    batches: list,
    reference: Trajectory,
    random_ops: str | None,
    seed: int,
) -> Trajectory:
    # A fresh build in a fresh random scope, so everything but the nudges
    # (dropout draws, op seeds) is what the reference saw; the start is the
    # reference's own, since an unseeded initializer draws anew in every build.
    with _random_scope(random_ops, seed):
        model = build_graph()
        dtypes = {name: v.dtype.base_dtype.as_numpy_dtype for name, v in named_variables(model.variables, "graph").items()}
        start = {name: values[0].astype(dtypes[name]) for name, values in reference.variables.items() if name in dtypes}
        shadow = train_graph(model, batches, start, lambda values: perturb_by_one_ulp(values, dtypes))
    return shadow._replace(mode="graph (+1 ulp each step)")


def assert_parity(report: ParityReport | ParityProblem) -> ParityReport:
    """Fails with the first divergence unless ``report`` is within tolerance.

    Args:
        report: a :class:`ParityReport`, or a :class:`ParityProblem` to check first.

    Returns:
        The report, when it is within tolerance.

    Raises:
        AssertionError: the first divergence, in the fixed format, followed by the table.
    """
    __tracebackhide__ = True
    if isinstance(report, ParityProblem):
        report = report.check()
    if not isinstance(report, ParityReport):
        raise ConfigError(f"assert_parity takes a ParityReport or ParityProblem; got {type(report).__name__}")
    if not report.ok:
        raise AssertionError(f"parity: {report.first_divergence.format()}\n\n{report}")
    return report
