"""Saves refuse bad input before writing anything; leftovers of interrupted saves are reported and cleared.

Bad names (empty ones abort the process inside TensorFlow's bundle writer), a
``checkpoint`` state file that is not UTF-8, and values whose dtype differs
from the reference each get an error naming the culprit, and the directory is
left exactly as it was.
"""

from __future__ import annotations

import json
import os
import subprocess
import time

import numpy as np
import pytest

import graphmode as gm
from graphmode import tf, v1
from graphmode.checkpoint import leftovers
from graphmode.cli.commands import main as cli_main


def _listing(directory):
    return {name: os.path.getmtime(os.path.join(directory, name)) for name in sorted(os.listdir(directory))}


# --- names --------------------------------------------------------------------------------------


@pytest.mark.parametrize("variables, name_map, culprit", [
    ({"": np.ones(2, np.float32)}, None, "TF1 name '' for '' is empty"),
    ({"w": np.ones(2, np.float32)}, lambda name: "", "TF1 name '' for 'w' is empty"),
    ({"w": np.ones(2, np.float32)}, {"w": "a b"}, "TF1 name 'a b' for 'w' is not a TF1 variable name"),
    ({"w": np.ones(2, np.float32)}, {"w": "scope//w"}, "TF1 name 'scope//w' for 'w' is not a TF1 variable name"),
])
def test_bad_names_are_refused_before_anything_is_written(tmp_path, variables, name_map, culprit):
    gm.save_tf1_checkpoint(tmp_path / "model.ckpt", {"kept": np.zeros(1, np.float32)})
    before = _listing(tmp_path)
    with pytest.raises(gm.errors.CheckpointMatchError, match="nothing was changed") as raised:
        gm.save_tf1_checkpoint(tmp_path / "model.ckpt", variables, name_map)
    assert culprit in str(raised.value)
    assert _listing(tmp_path) == before


def test_the_atomic_writer_itself_refuses_an_empty_key(tmp_path):
    from graphmode.checkpoint.atomic import write_checkpoint_atomically

    with pytest.raises(gm.errors.CheckpointMatchError, match=r"nothing was written:\n  - '' is empty"):
        write_checkpoint_atomically(tmp_path / "x.ckpt", {"": np.ones(1)})
    assert os.listdir(tmp_path) == []


# --- the state file -----------------------------------------------------------------------------


@pytest.fixture
def latin1_state(tmp_path):
    gm.save_tf1_checkpoint(tmp_path / "model.ckpt", {"w": np.ones(2, np.float32)})
    state = tmp_path / "checkpoint"
    state.write_bytes('model_checkpoint_path: "modèle.ckpt"\n'.encode("latin-1"))
    return state


def test_non_utf8_state_file_is_named_by_inspect(latin1_state, capsys):
    with pytest.raises(gm.errors.CheckpointCorruptError) as raised:
        gm.inspect_checkpoint(latin1_state.parent)
    message = str(raised.value)
    assert f"checkpoint state file '{latin1_state}' is not UTF-8 text (byte 0xe8 at offset 27)" in message
    assert "remove it and the next save writes a new one" in message
    assert cli_main(["checkpoint", "inspect", str(latin1_state.parent)]) == 1
    err = capsys.readouterr().err
    assert "is not UTF-8 text" in err and "Traceback" not in err


def test_non_utf8_state_file_stops_a_save_before_it_writes(latin1_state):
    before = _listing(latin1_state.parent)
    with pytest.raises(gm.errors.CheckpointCorruptError, match="is not UTF-8 text"):
        gm.save_tf1_checkpoint(latin1_state.parent / "model.ckpt-2", {"w": np.zeros(2, np.float32)})
    assert _listing(latin1_state.parent) == before


def test_state_file_that_is_not_a_checkpoint_state(tmp_path):
    (tmp_path / "checkpoint").write_text("this is not a proto\n")
    with pytest.raises(gm.errors.CheckpointCorruptError, match="is not a CheckpointState"):
        gm.save_tf1_checkpoint(tmp_path / "model.ckpt", {"w": np.zeros(2, np.float32)})
    assert os.listdir(tmp_path) == ["checkpoint"]


# --- dtypes against the reference -----------------------------------------------------------------


def _float32_graph():
    graph = gm.new_graph()
    with graph.as_default():
        kernel = v1.get_variable("layer/kernel", initializer=np.zeros((2, 3), np.float32))
        v1.get_variable("layer/bias", initializer=np.zeros(3, np.float32))
        saver = v1.train.Saver()
    return graph, kernel, saver


def test_dtype_that_differs_from_the_reference_is_refused(tmp_path):
    graph, _, _ = _float32_graph()
    values = {"layer/kernel": np.full((2, 3), 0.1, np.float64), "layer/bias": np.zeros(3, np.float32)}
    with pytest.raises(gm.errors.CheckpointMatchError) as raised:
        gm.save_tf1_checkpoint(tmp_path / "x.ckpt", values, reference=graph)
    assert ("dtype mismatch: 'layer/kernel' is float32 in the reference graph; the value is float64 "
            "(pass cast=True to write it as float32)") in str(raised.value)
    assert os.listdir(tmp_path) == []


def test_cast_writes_the_reference_dtype_and_tf1_restores_it(tmp_path):
    graph, kernel, saver = _float32_graph()
    values = {"layer/kernel": np.full((2, 3), 0.1, np.float64), "layer/bias": np.arange(3, dtype=np.float64)}
    path = gm.save_tf1_checkpoint(tmp_path / "x.ckpt", values, reference=graph, cast=True)
    with gm.Session(graph=graph) as session:
        saver.restore(session, path)
        restored = session.run(kernel)
    assert restored.dtype == np.float32
    assert np.array_equal(restored, np.full((2, 3), 0.1, np.float64).astype(np.float32))


@pytest.mark.parametrize("value, why", [
    (np.full((2, 3), 4e40), "cast=True would change 6 of its values beyond rounding (e.g. 4e+40 -> inf)"),
    (np.ones((2, 3), np.int64), "cast=True converts only within a kind"),
])
def test_cast_refuses_what_it_cannot_do_faithfully(tmp_path, value, why):
    graph, _, _ = _float32_graph()
    with pytest.raises(gm.errors.CheckpointMatchError, match=why.replace("(", r"\(").replace(")", r"\)").replace("+", r"\+")):
        gm.save_tf1_checkpoint(tmp_path / "x.ckpt", {"layer/kernel": value, "layer/bias": np.zeros(3, np.float32)},
                               reference=graph, cast=True)
    assert os.listdir(tmp_path) == []


# --- leftovers of interrupted saves ---------------------------------------------------------------


def test_leftovers_are_reported_and_only_stale_ones_are_removed(tmp_path, capsys):
    gm.save_tf1_checkpoint(tmp_path / "model.ckpt", {"w": np.ones(2, np.float32)})
    host = leftovers.this_host()
    gone = subprocess.Popen(["true"])
    gone.wait()
    alive = subprocess.Popen(["sleep", "60"])
    try:
        made = {
            "dead writer": tmp_path / f".model.ckpt.graphmode-staging-{host}-{gone.pid}-abcd1234",
            "live writer": tmp_path / f".model.ckpt.graphmode-staging-{host}-{alive.pid}-efgh5678",
            "old, no owner": tmp_path / ".model.ckpt.graphmode-staging-oldoldol",
            "young, no owner": tmp_path / ".model.ckpt.graphmode-staging-newnewne",
        }
        for directory in made.values():
            directory.mkdir()
            (directory / "model.ckpt.data-00000-of-00001").write_bytes(b"x" * 100)
        temp = tmp_path / f".checkpoint.graphmode-{host}-{gone.pid}-ijkl9012"
        temp.write_text("model_checkpoint_path: ")
        long_ago = time.time() - 2 * leftovers.STALE_AFTER_S
        os.utime(made["old, no owner"], (long_ago, long_ago))
        summary = gm.inspect_checkpoint(tmp_path)
        stale = {os.path.basename(item.path): item.stale for item in summary.leftovers}
        assert stale == {made["dead writer"].name: True, made["live writer"].name: False,
                         made["old, no owner"].name: True, made["young, no owner"].name: False, temp.name: True}
        table = str(summary)
        assert "left by interrupted saves (the next save to this directory removes the stale ones):" in table
        assert f"  staging     {made['live writer'].name}  in use by {host}:{alive.pid}" in table
        assert cli_main(["checkpoint", "inspect", str(tmp_path), "--json"]) == 0
        reported = json.loads(capsys.readouterr().out)["leftovers"]
        assert {os.path.basename(item["path"]) for item in reported} == set(stale)

        gm.save_tf1_checkpoint(tmp_path / "model.ckpt", {"w": np.zeros(2, np.float32)})
        remaining = {os.path.basename(item.path) for item in leftovers.find_leftovers(str(tmp_path))}
        assert remaining == {made["live writer"].name, made["young, no owner"].name}
    finally:
        alive.kill()
        alive.wait()
    assert tf.train.load_checkpoint(str(tmp_path / "model.ckpt")).get_tensor("w").tolist() == [0.0, 0.0]
