"""Fixtures of the MNIST tests."""

from __future__ import annotations

import pytest

from graphmode.mnist import copies
from graphmode.mnist import files as mnist_files


@pytest.fixture
def isolated_mnist_sources(monkeypatch, tmp_path):
    """No test may see the machine's real MNIST sources or reach the network; each says its lines afresh."""
    monkeypatch.delenv("GRAPHMODE_MNIST_DIR", raising=False)
    monkeypatch.delenv("GRAPHMODE_FASHION_MNIST_DIR", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setattr(mnist_files, "_announced", set())
    monkeypatch.setattr(copies, "_announced", set())
    monkeypatch.chdir(tmp_path)
