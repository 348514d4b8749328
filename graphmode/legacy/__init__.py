"""Legacy: run unmodified TF1 scripts (runner, the TF1 module and its tf.contrib, sessions, removed names, scanner)."""

from graphmode.legacy.api import enable_tf1 as enable_tf1
from graphmode.legacy.runner import run_script as run_script
from graphmode.legacy.scan import ScanFinding as ScanFinding
from graphmode.legacy.scan import ScanReport as ScanReport
from graphmode.legacy.scan import scan_files as scan_files
from graphmode.legacy.scan import scan_source as scan_source
from graphmode.legacy.scan_verdict import ScriptVerdict as ScriptVerdict

__all__ = [
    "ScanFinding",
    "ScanReport",
    "ScriptVerdict",
    "enable_tf1",
    "run_script",
    "scan_files",
    "scan_source",
]
