"""The ``graphmode`` command line: ``main`` collects one module per subcommand."""

from graphmode.cli.commands import main as main

__all__ = ["main"]
