"""The pages' code blocks as tests: README.md and docs/**/*.md through Sybil.

The conventions (markers, shown output, the tolerance on shown numbers) are in
tests/docs/markdown_blocks.py and on docs/contributing.md. This file sits at the repository root
because pytest asks a conftest only about the files under its own folder.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "tests" / "docs"))

from markdown_blocks import SYBIL, is_slow  # noqa: E402

pytest_collect_file = SYBIL.pytest()


@pytest.hookimpl(tryfirst=True)  # before pytest's own -m selection reads the marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if is_slow(item):
            item.add_marker(pytest.mark.slow)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """A skipped page block is reported at its page line, not at unittest's SkipTest handling."""
    outcome = yield
    report = outcome.get_result()
    example = getattr(item, "example", None)
    if example is not None and report.skipped and isinstance(report.longrepr, tuple):
        report.longrepr = (str(item.path), example.line, report.longrepr[2])
