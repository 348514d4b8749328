"""``graphmode parity NAME``: run a bundled example's graph-vs-eager parity check; ``--trace DIR``: check against a recording.

The bundled examples live inside the package (:mod:`graphmode.parity.gallery`),
so the command works from any install. ``--examples-dir DIR`` runs ``DIR/NAME.py``
instead: any file that defines ``parity_problem(steps: int = ..., seed: int = 0)
-> graphmode.ParityProblem`` (and, to take ``--variant``, a ``variant`` argument).
``graphmode parity --trace DIR --eager package.module:factory`` checks a TF2
rewrite (``factory() -> EagerModel``) against a trace that ``graphmode run
--record`` wrote; ``--tf1-model module:fn`` runs the TF1 model code
``fn(*batch) -> loss`` eagerly instead (:meth:`EagerModel.from_tf1`).
Exit status: 0 within tolerance, 1 diverged, 2 the example could not be run.
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import sys
from pathlib import Path
from types import ModuleType

EXIT_OK, EXIT_DIVERGED, EXIT_UNUSABLE = 0, 1, 2
PROBLEM_FUNCTION = "parity_problem"


def load_bundled_example(name: str) -> ModuleType:
    """The bundled example ``name`` from :mod:`graphmode.parity.gallery`.

    Raises:
        ExampleError: there is no bundled example of that name.
    """
    from graphmode.errors import ExampleError
    from graphmode.parity import gallery

    if name not in gallery.NAMES:
        raise ExampleError(f"no bundled example {name!r}; bundled examples: {', '.join(gallery.NAMES)} "
                           f"(or pass --examples-dir DIR to run DIR/{name}.py)")
    return gallery.load(name)


def available_examples(examples_dir: Path) -> list[str]:
    """Names of the example files in ``examples_dir`` that define ``parity_problem``."""
    if not examples_dir.is_dir():
        return []
    return sorted(
        path.stem
        for path in examples_dir.glob("*.py")
        if f"def {PROBLEM_FUNCTION}(" in path.read_text(encoding="utf-8", errors="replace")
    )


def load_example(name: str, examples_dir: Path) -> ModuleType:
    """Imports ``examples_dir/NAME.py`` as a module.

    Raises:
        ExampleError: the folder or file is missing, or it defines no ``parity_problem``.
    """
    from graphmode.errors import ExampleError

    if not examples_dir.is_dir():
        raise ExampleError(f"no examples folder at {examples_dir}; pass --examples-dir DIR")
    path = examples_dir / f"{name}.py"
    choices = available_examples(examples_dir)
    if not path.is_file():
        raise ExampleError(f"no example {name!r} in {examples_dir}; examples with a parity check: {choices or 'none'}")
    spec = importlib.util.spec_from_file_location(f"graphmode_example_{name}", path)
    module = importlib.util.module_from_spec(spec)
    # Examples import their neighbours (shared data helpers) by plain name.
    sys.path.insert(0, str(examples_dir))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(examples_dir))
    if not callable(getattr(module, PROBLEM_FUNCTION, None)):
        raise ExampleError(f"{path} defines no {PROBLEM_FUNCTION}(); examples with a parity check: {choices or 'none'}")
    return module


def build_problem(module: ModuleType, **options: int | str | None):
    """Calls the example's ``parity_problem`` with the options given on the command line.

    Raises:
        ExampleError: it does not accept an option, does not have the variant asked
            for, or returns something else than a ParityProblem.
    """
    from graphmode.errors import ExampleError
    from graphmode.parity.check import ParityProblem

    function = getattr(module, PROBLEM_FUNCTION)
    given = {key: value for key, value in options.items() if value is not None}
    variants = getattr(module, "VARIANTS", None)
    if "variant" in given and variants is not None and given["variant"] not in variants:
        raise ExampleError(f"{module.__name__.rpartition('.')[2]} has no variant {given['variant']!r}; "
                           f"its variants: {', '.join(variants)}")
    try:
        inspect.signature(function).bind(**given)
    except TypeError:
        flags = ", ".join(f"--{key}" for key in given)
        raise ExampleError(f"{module.__file__}: {PROBLEM_FUNCTION}() does not accept {flags}") from None
    problem = function(**given)
    if not isinstance(problem, ParityProblem):
        raise ExampleError(
            f"{module.__file__}: {PROBLEM_FUNCTION}() returned {type(problem).__name__}; it must return a "
            f"graphmode.ParityProblem"
        )
    return problem


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1; got {value}")
    return value


def _tolerance(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be a number >= 0; got {text}")
    return value


def load_callable(spec: str, flag: str):
    """``package.module:name`` -> the callable it names (the current folder is importable, as with ``python -m``).

    Raises:
        ExampleError: the spec has no ``:``, the module cannot be imported, or it has no such callable.
    """
    import importlib

    from graphmode.errors import ExampleError

    module_name, _, name = spec.partition(":")
    if not module_name or not name:
        raise ExampleError(f"{flag} takes package.module:function; got {spec!r}")
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ExampleError(f"{flag} {spec}: cannot import {module_name!r} ({error}); run from the folder that "
                           "holds it or put it on PYTHONPATH") from error
    target = getattr(module, name, None)
    if not callable(target):
        raise ExampleError(f"{flag} {spec}: module {module_name!r} ({module.__file__}) has no function {name!r}")
    return target


def _run_trace(args: argparse.Namespace) -> int:
    from graphmode.errors import ExampleError, GraphmodeError

    if (args.eager is None) == (args.tf1_model is None):
        print("graphmode parity: --trace needs exactly one of --eager package.module:factory (the rewrite) or "
              "--tf1-model module:fn (the TF1 model code, run eagerly)", file=sys.stderr)
        return EXIT_UNUSABLE
    inputs = tuple(name.strip() for name in args.inputs.split(",")) if args.inputs else None
    try:
        from graphmode.parity.check import DEFAULT_ATOL, DEFAULT_RTOL, check_parity
        from graphmode.parity.trace_check import tf1_model_factory
        from graphmode.trace.reader import Trace

        trace = Trace(args.trace)
        if args.eager is not None:
            build_eager, label = load_callable(args.eager, "--eager"), args.eager
        else:
            build_eager, label = tf1_model_factory(trace, load_callable(args.tf1_model, "--tf1-model"), inputs), \
                f"{args.tf1_model} (TF1 model code, eagerly)"
        report = check_parity(trace, build_eager, inputs=inputs, steps=args.steps,
                              atol=DEFAULT_ATOL if args.atol is None else args.atol,
                              rtol=DEFAULT_RTOL if args.rtol is None else args.rtol,
                              verdict=args.verdict or "lockstep")
    except (ExampleError, GraphmodeError) as error:
        print(f"graphmode parity: --trace {args.trace}: {error}", file=sys.stderr)
        return EXIT_UNUSABLE
    return _printed(args, report, f"{label} (eager) vs the trace {args.trace} ({trace.steps} recorded steps)")


def _printed(args: argparse.Namespace, report, title: str) -> int:
    """Prints the report as the options ask and returns the exit status it earns."""
    if args.json:
        print(report.to_json())
    else:
        print(title)
        print(report)
        if args.per_step:
            print(report.format_steps())
    return EXIT_OK if report.ok else EXIT_DIVERGED


def _run(args: argparse.Namespace) -> int:
    # Imported here, not at the top: parsing `graphmode parity --bad-option` must not load TensorFlow.
    from graphmode.errors import ExampleError, GraphmodeError

    if args.trace is not None:
        if args.name is not None or args.examples_dir or args.variant or args.seed is not None:
            print("graphmode parity: --trace checks a recording; it takes no example name, --variant, --seed or "
                  "--examples-dir", file=sys.stderr)
            return EXIT_UNUSABLE
        return _run_trace(args)
    if args.name is None or args.eager or args.tf1_model or args.inputs:
        print("graphmode parity: give an example NAME, or --trace DIR with --eager/--tf1-model (and --inputs)",
              file=sys.stderr)
        return EXIT_UNUSABLE

    try:
        module = load_example(args.name, Path(args.examples_dir)) if args.examples_dir else load_bundled_example(args.name)
        problem = build_problem(module, steps=args.steps, seed=args.seed, variant=args.variant)
    except ExampleError as error:
        print(f"graphmode parity: {error}", file=sys.stderr)
        return EXIT_UNUSABLE
    options = (("atol", args.atol), ("rtol", args.rtol), ("noise_floor", args.noise_floor),
               ("noise_factor", args.noise_factor), ("verdict", args.verdict))
    overrides = {key: value for key, value in options if value is not None}
    try:
        report = problem._replace(**overrides).check()
    except GraphmodeError as error:
        # The example's own set-up is wrong (batches, names, options): say so, no traceback.
        print(f"graphmode parity: {args.name}: {error}", file=sys.stderr)
        return EXIT_UNUSABLE
    return _printed(args, report, f"{problem.name}: graph (TF1) vs eager (TF2)")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "parity",
        help="train an example in graph and eager mode and compare step by step",
        description="Run the graph-vs-eager parity check of a bundled example, or check a rewrite against a "
        "recorded trace (--trace DIR --eager MODULE:FACTORY); exit 0 within tolerance, 1 when it diverges, 2 when "
        "it cannot run.",
    )
    parser.add_argument("name", nargs="?", help="example name: regress_a, sigmoid_classifier or mlp_digits "
                        "(bundled), or a file's name in --examples-dir")
    parser.add_argument("--variant", help="the example's variant (default: its first); an unknown name lists them, "
                        "e.g. mlp_digits --variant softmax_adam")
    parser.add_argument("--steps", type=_positive, help="training steps (default: the example's)")
    parser.add_argument("--seed", type=int, help="data and initialization seed (default: the example's)")
    parser.add_argument("--atol", type=_tolerance, help="absolute tolerance (default: the example's)")
    parser.add_argument("--rtol", type=_tolerance, help="relative tolerance (default: the example's)")
    parser.add_argument("--noise-floor", action=argparse.BooleanOptionalAction, default=None,
                        help="widen the tolerance by the graph run's drift from its own +1-ulp rerun "
                        "(default: the example's choice)")
    parser.add_argument("--noise-factor", type=_tolerance,
                        help="multiplier of the noise floor (default: the example's, else 100)")
    parser.add_argument("--verdict", choices=("lockstep", "free"),
                        help="which comparison decides the exit code: lockstep (default: each step from the graph's "
                             "state) or free (the free-running drift, otherwise shown as information)")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    parser.add_argument("--per-step", action="store_true", help="also print both losses at every step")
    parser.add_argument("--examples-dir", help="run DIR/NAME.py instead of a bundled example")
    parser.add_argument("--trace", metavar="DIR", help="check against a trace `graphmode run --record` wrote, "
                        "instead of an example")
    parser.add_argument("--eager", metavar="MODULE:FACTORY", help="with --trace: the rewrite, a function returning "
                        "a graphmode.EagerModel (fresh variables and optimizer per call)")
    parser.add_argument("--tf1-model", metavar="MODULE:FN", help="with --trace: the TF1 model code fn(*batch) -> "
                        "loss, run eagerly with the recorded optimizer's Keras counterpart")
    parser.add_argument("--inputs", metavar="NAMES", help="with --trace: placeholder names in the order train_step "
                        "takes them, comma-separated (default: the order the script fed them)")
    parser.set_defaults(handler=_run)
