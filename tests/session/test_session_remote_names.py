"""A session on a grpc:// target names the task that does not answer when it is told the cluster, and says so when not."""

from __future__ import annotations

import socket

import pytest

import graphmode as gm
from graphmode import v1
from graphmode.errors import ConfigError
from graphmode.session import remote


@pytest.fixture
def listening_target():
    """A grpc:// target whose port accepts TCP connections (it is no TensorFlow server)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield f"grpc://127.0.0.1:{server.getsockname()[1]}"


def test_the_cluster_given_names_the_silent_task(listening_target, free_port):
    cluster = gm.cluster.cluster_from_addresses([f"127.0.0.1:{free_port}"], [listening_target.removeprefix("grpc://")])
    text = remote.describe_unreachable(listening_target, v1.ConfigProto(), remote.cluster_jobs(cluster))
    assert f"/job:ps/task:0 at 127.0.0.1:{free_port} (connection refused: nothing listens there) does not answer" in text


def test_without_the_cluster_the_message_says_how_to_have_it_named(listening_target):
    text = remote.describe_unreachable(listening_target, v1.ConfigProto(), None)
    assert text.endswith(f"one of them did not (give the session the cluster behind {listening_target}, "
                         "Session(..., cluster=...), to have it named)")


def test_cluster_jobs_takes_a_mapping_or_a_description_and_names_anything_else(free_port):
    assert remote.cluster_jobs({"ps": ("a:1",), "worker": ["b:2"]}) == {"ps": ["a:1"], "worker": ["b:2"]}
    description = gm.cluster.cluster_from_addresses([f"127.0.0.1:{free_port}"], ["127.0.0.1:1"])
    assert remote.cluster_jobs(description) == description.as_dict()
    with pytest.raises(ConfigError, match=r"cluster must map each job to its task addresses .* got str"):
        remote.cluster_jobs("127.0.0.1:1")
    with pytest.raises(ConfigError, match=r"got dict"):
        gm.Session(cluster={"ps": "127.0.0.1:1"})  # one address, not a list of them
