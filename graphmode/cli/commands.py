"""The ``graphmode`` command line (also ``python -m graphmode``).

Each subcommand lives next to the capability it exposes; this module only
collects them. A command module provides ``add_parser(subparsers)`` which
registers its parser and sets ``handler`` (a function of the parsed args that
returns the exit code).

Only the module of the command being run is imported: ``graphmode --help``,
``graphmode --version`` and a mistyped command answer from the table below
without importing TensorFlow.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Command -> (its module, the one-line help `graphmode --help` lists), in listing order.
COMMANDS: dict[str, tuple[str, str]] = {
    "info": ("graphmode.cli.info", "show TensorFlow, Keras and device facts"),
    "parity": ("graphmode.cli.parity", "train an example in graph and eager mode and compare step by step"),
    "run": ("graphmode.cli.run", "run an unmodified TF1 script on TensorFlow 2 (graphmode's TF1 API)"),
    "scan": ("graphmode.cli.scan", "list the TF1 symbols scripts use that TensorFlow 2 lacks (without running them)"),
    "migrate": ("graphmode.cli.migrate", "write a TF1 script's TF2 program and prove its training step in lockstep"),
    "checkpoint": ("graphmode.cli.checkpoint", "inspect TF1 (Saver) and TF2 (object-based) checkpoints"),
}
COMMAND_MODULES: tuple[str, ...] = tuple(module for module, _ in COMMANDS.values())


def _version() -> str:
    from graphmode import __version__  # a plain attribute: the package imports nothing for it

    return f"graphmode {__version__}"


def build_parser(load: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """Returns the argument parser.

    Args:
        load: the commands whose modules are imported to register their full
            parsers; the others get a stub that only lists them. None loads all.
    """
    parser = argparse.ArgumentParser(
        prog="graphmode",
        description="Run TF1 graph/session code on TensorFlow 2 and check its eager rewrite.",
    )
    parser.add_argument("--version", action="version", version=_version())
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        if load is None or name in load:
            importlib.import_module(module_name).add_parser(subparsers)
        else:
            subparsers.add_parser(name, help=help_text)
    return parser


def _command_parser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser:
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return subparsers.choices[command]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parses ``argv`` (default ``sys.argv[1:]``) and runs the command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # The top level takes no option with a value, so the first word is the command.
    command = next((word for word in argv if not word.startswith("-")), None)
    parser = build_parser(load=[command] if command in COMMANDS else [])
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        # parse_args would word it as the top level's error; it is the command's (`graphmode parity: error:`).
        _command_parser(parser, args.command).error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        return int(args.handler(args) or 0)
    except BrokenPipeError:
        # `graphmode ... | head` closed the pipe: stop quietly, as Unix tools do.
        sys.stderr.close()
        return 141


if __name__ == "__main__":
    sys.exit(main())
