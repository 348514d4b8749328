"""Shared fixtures. graphmode's own plugin (``graph``, ``session``) is loaded
through its ``pytest11`` entry point, as a user's test suite would load it."""

from __future__ import annotations

import socket

import pytest

# pytester runs small test files against the installed plugin (tests/test_pytest_plugin.py).
pytest_plugins = ["pytester"]


@pytest.fixture
def free_port() -> int:
    """A loopback TCP port nothing listens on (bound once, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
