"""`graphmode checkpoint inspect` through the installed console script, in a subprocess."""

from __future__ import annotations

import json
import sys

import numpy as np
import preimported
import pytest

import graphmode as gm


def _inspect(*args):
    return preimported.run([sys.executable, "-m", "graphmode", "checkpoint", "inspect", *map(str, args)],
                           capture_output=True, text=True, timeout=120)


@pytest.fixture
def checkpoint(tmp_path):
    graph = gm.new_graph()
    with graph.as_default():
        weights = gm.v1.get_variable("layer1/weights", initializer=np.ones((2, 3), np.float32))
        train = gm.v1.train.AdamOptimizer(0.1).minimize(gm.tf.reduce_sum(weights))
        saver = gm.v1.train.Saver()
    with gm.Session(graph=graph) as session:
        session.run(gm.v1.global_variables_initializer())
        session.run(train)
        return saver.save(session, str(tmp_path / "model.ckpt"))


def test_inspect_table_and_json(checkpoint, tmp_path):
    result = _inspect(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "format     TF1 name-based (tf.compat.v1.train.Saver)" in result.stdout
    assert "  slot Adam [m]: layer1/weights/Adam" in result.stdout
    assert "optimizer state:" in result.stdout and "beta1_power" in result.stdout
    result = _inspect(checkpoint, "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["format"] == "tf1"
    (variable,) = summary["variables"]
    assert (variable["name"], variable["shape"], variable["dtype"]) == ("layer1/weights", [2, 3], "float32")
    assert [slot["slot"] for slot in variable["slots"]] == ["Adam", "Adam_1"]


def test_inspect_truncated_checkpoint_exits_1_naming_the_file(checkpoint):
    data = checkpoint + ".data-00000-of-00001"
    with open(data, "r+b") as stream:
        stream.truncate(10)
    result = _inspect(checkpoint)
    assert result.returncode == 1
    assert f"checkpoint data '{data}' is truncated or corrupt" in result.stderr
    assert "Traceback" not in result.stderr
