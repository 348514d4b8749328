"""Scan: the static TF1 checklist of a script (what TensorFlow 2 lacks, and whether ``graphmode run`` runs it)."""

from graphmode.scan.scanner import ScanFinding as ScanFinding
from graphmode.scan.scanner import ScanReport as ScanReport
from graphmode.scan.scanner import scan_files as scan_files
from graphmode.scan.scanner import scan_source as scan_source
from graphmode.scan.verdict import ScriptVerdict as ScriptVerdict

__all__ = [
    "ScanFinding",
    "ScanReport",
    "ScriptVerdict",
    "scan_files",
    "scan_source",
]
