"""Shared fixtures. graphmode's own plugin (``graph``, ``session``) is loaded
through its ``pytest11`` entry point, as a user's test suite would load it."""

from __future__ import annotations

import socket

# Before any test module imports graphmode (the capability folders are collected before tests/test_*.py):
# preimported notes the import-time environment as it was before graphmode's import set it.
import preimported  # noqa: F401
import pytest

# pytester runs small test files against the installed plugin (tests/test_pytest_plugin.py).
pytest_plugins = ["pytester"]


@pytest.fixture
def free_port() -> int:
    """A loopback TCP port nothing listens on (bound once, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
