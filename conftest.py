"""The pages' code blocks as tests: README.md and docs/**/*.md through Sybil.

The conventions (markers, shown output, the tolerance on shown numbers) are in
tests/docs/markdown_blocks.py and in CONTRIBUTING.md. This file sits at the repository root
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
