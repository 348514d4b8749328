"""Runs README.md's Python blocks in a fresh interpreter, as a reader pasting them would.

Usage: ``python readme_runner.py PLAN.json RESULTS.json`` in the working directory the blocks
should see. PLAN holds the sections in README order, each a list of blocks; every section gets
a fresh namespace that its blocks share, in order. A block that raises stops the rest of its
section (they build on it); other sections still run. RESULTS is rewritten after every block,
so a crash (a segfault in TensorFlow, a timeout) still leaves what ran before it.

Blocks are compiled under the README's own path, padded so that tracebacks give README line
numbers. A ``pytest`` block is written to a test file and run by pytest in this process, after
an import of its section's namespace (the names the blocks above it defined).
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time
import traceback
import types
from pathlib import Path


def _compiled(code: str, readme: str, line: int) -> types.CodeType:
    # Blank lines in front put every statement on its README line in tracebacks.
    return compile("\n" * (line - 1) + code, readme, "exec")


def _run_pytest_block(code: str, line: int, namespace: dict) -> None:
    import pytest

    module_name = f"readme_namespace_{line}"
    module = types.ModuleType(module_name)
    module.__dict__.update({key: value for key, value in namespace.items() if not key.startswith("__")})
    sys.modules[module_name] = module
    test_file = Path(f"test_readme_block_{line}.py").resolve()
    # The import sits on line 1 and the block on its own README lines below it.
    test_file.write_text(f"from {module_name} import *  # noqa\n" + "\n" * max(0, line - 2) + code)
    status = pytest.main([str(test_file), "-q", "-p", "no:cacheprovider", "-o", "addopts=", "--rootdir", str(test_file.parent)])
    if status != 0:
        raise AssertionError(f"pytest exited {int(status)} on the block (5 means it collected no test)")


def _run_block(block: dict, readme: str, namespace: dict, output: io.StringIO) -> None:
    with contextlib.redirect_stdout(output):
        if block.get("setup"):
            setup = Path(block["setup"])
            exec(compile(setup.read_text(), str(setup), "exec"), namespace)
        if block["kind"] == "pytest":
            _run_pytest_block(block["code"], block["line"], namespace)
        else:
            exec(_compiled(block["code"], readme, block["line"]), namespace)


def main(plan_path: str, results_path: str) -> None:
    plan = json.loads(Path(plan_path).read_text())
    results: dict[str, dict] = {}

    def record(line: int, **result) -> None:
        results[str(line)] = result
        Path(results_path).write_text(json.dumps(results))

    for section in plan["sections"]:
        namespace: dict = {"__name__": "__main__"}
        failed_at = None
        for block in section["blocks"]:
            if failed_at is not None:
                record(block["line"], stdout="", error=None, not_run_because=failed_at, seconds=0.0)
                continue
            start, output, error = time.perf_counter(), io.StringIO(), None
            try:
                _run_block(block, plan["readme"], namespace, output)
            except BaseException:  # noqa: BLE001 - SystemExit from a block is a failure too
                error = traceback.format_exc()
                failed_at = block["line"]
            record(block["line"], stdout=output.getvalue(), error=error, not_run_because=None, seconds=time.perf_counter() - start)
    Path(results_path).write_text(json.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
