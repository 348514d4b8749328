"""docs/trace.md's setup: copies the X*A=10 TF1 script the page records into the page's scratch folder."""

import shutil
from pathlib import Path

shutil.copy(Path(__file__).resolve().parent / "scripts" / "regress_a.py", "regress_a.py")
