"""Running the TF1 scripts of tests/trace/scripts with and without `graphmode run --record`, each in its own process."""

from __future__ import annotations

import sys
from pathlib import Path

import preimported

SCRIPTS = Path(__file__).parent / "scripts"


def record(script: str, folder: Path, *script_args: str, options: tuple[str, ...] = ()):
    """Runs ``graphmode run [options] --record folder SCRIPT args`` and returns the completed process."""
    command = [sys.executable, "-m", "graphmode", "run", *options, "--record", str(folder), str(SCRIPTS / script),
               *script_args]
    return preimported.run(command, capture_output=True, text=True, timeout=300)


def run_plain(script: str, *script_args: str):
    """Runs ``graphmode run SCRIPT args`` without recording."""
    return preimported.run([sys.executable, "-m", "graphmode", "run", str(SCRIPTS / script), *script_args],
                           capture_output=True, text=True, timeout=300)
