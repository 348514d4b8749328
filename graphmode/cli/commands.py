"""The ``graphmode`` command line (also ``python -m graphmode``).

Each subcommand lives next to the capability it exposes; this module only
collects them. A command module provides ``add_parser(subparsers)`` which
registers its parser and sets ``handler`` (a function of the parsed args that
returns the exit code).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Command modules, in the order `graphmode --help` lists them.
COMMAND_MODULES: tuple[str, ...] = ("graphmode.cli.info", "graphmode.cli.parity", "graphmode.cli.run", "graphmode.cli.scan",
                                   "graphmode.cli.checkpoint")


def build_parser() -> argparse.ArgumentParser:
    """Returns the full argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="graphmode",
        description="Run TF1 graph/session code on TensorFlow 2 and check its eager rewrite.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parses ``argv`` (default ``sys.argv[1:]``) and runs the command."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except BrokenPipeError:
        # `graphmode ... | head` closed the pipe: stop quietly, as Unix tools do.
        sys.stderr.close()
        return 141


if __name__ == "__main__":
    sys.exit(main())
