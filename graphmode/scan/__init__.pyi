# graphmode.scan's public names, each once: lazy_loader reads this file at run time, type checkers too.

from .scanner import ScanFinding as ScanFinding
from .scanner import ScanReport as ScanReport
from .scanner import scan_files as scan_files
from .scanner import scan_source as scan_source
from .verdict import ScriptVerdict as ScriptVerdict
