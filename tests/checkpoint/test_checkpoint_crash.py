"""Saves killed at every file operation and at random instants leave a loadable latest checkpoint.

Two ways to kill a save: in this process, the directory is copied exactly as it
stands just before file operation k and the save is abandoned there (every k of
a save, fast); in a child process, the writer SIGKILLs itself before operation
k, or is SIGKILLed from outside at a random instant (the slow tier runs every k
and a long random loop; the fast tier one kill at the riskiest operation and a
short loop). After each kill the latest checkpoint must read back whole, with
every tensor from one save, and the next save must succeed and clear the leftovers.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

import numpy as np
import pytest

import graphmode as gm
from graphmode import tf
from graphmode.checkpoint import atomic, leftovers

OPERATIONS = {os: ("replace", "rename", "link", "remove", "unlink", "rmdir", "mkdir", "fsync", "chmod"),
              tempfile: ("mkstemp", "mkdtemp"), shutil: ("copyfile",)}


def _values(value: float) -> dict[str, np.ndarray]:
    return {"layer/kernel": np.full((16, 8), value, np.float32), "layer/bias": np.full(8, value, np.float32)}


def _assert_latest_reads_whole(directory: str, allowed: set[float]) -> float:
    """The state file's latest (and every path it lists) loads, all tensors from one save; returns its value."""
    latest = tf.train.latest_checkpoint(directory)
    assert latest is not None, f"no latest checkpoint in {sorted(os.listdir(directory))}"
    state = tf.compat.v1.train.get_checkpoint_state(directory)
    found = None
    for path in dict.fromkeys([latest, *state.all_model_checkpoint_paths]):
        path = path if os.path.isabs(path) else os.path.join(directory, path)
        reader = tf.train.load_checkpoint(path)
        tensors = {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}
        assert sorted(tensors) == ["layer/bias", "layer/kernel"], path
        value = float(tensors["layer/bias"][0])
        assert all(np.all(t == value) for t in tensors.values()), f"{path} mixes saves"
        assert value in allowed, f"{path} holds {value}, expected one of {allowed}"
        found = value if path == latest else found
    return found


def _assert_next_save_recovers(directory: str, base: str = "model.ckpt") -> None:
    path = gm.save_tf1_checkpoint(os.path.join(directory, base), _values(99.0))
    assert tf.train.latest_checkpoint(directory) == path
    assert tf.train.load_checkpoint(path).get_tensor("layer/bias")[0] == 99.0
    assert leftovers.find_leftovers(directory) == []


class _Killed(BaseException):
    """Raised in place of the file operation a kill stops; BaseException so no handler swallows it."""


def _instrument(monkeypatch, on_operation):
    for module, names in OPERATIONS.items():
        for name in names:
            real = getattr(module, name)

            def operation(*args, _real=real, _name=name, **kwargs):
                on_operation(_name, args)
                return _real(*args, **kwargs)

            monkeypatch.setattr(module, name, operation)
    real_stage = atomic._stage

    def stage(*args):
        on_operation("SaveV2", args)
        return real_stage(*args)

    monkeypatch.setattr(atomic, "_stage", stage)


SCENARIOS = {
    # (prefixes saved first, prefix saved under the kill, update_state_file)
    "re-save the latest in place": (("model.ckpt",), "model.ckpt", True),
    "save a new prefix beside the latest": (("model.ckpt-1",), "model.ckpt-2", True),
    "re-save without updating the state file": (("model.ckpt",), "model.ckpt", False),
}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_kill_before_any_file_operation_of_a_save_leaves_a_loadable_latest(tmp_path, monkeypatch, scenario):
    before, target, update = SCENARIOS[scenario]
    setup = tmp_path / "setup"
    for prefix in before:
        gm.save_tf1_checkpoint(setup / prefix, _values(1.0))
    counting = {"on": False, "count": 0, "kill_at": None, "snapshot": None}

    def on_operation(name, args):
        if not counting["on"]:
            return
        counting["count"] += 1
        if counting["count"] == counting["kill_at"]:
            counting["on"] = False  # the copy below must not count
            shutil.copytree(counting["directory"], counting["snapshot"], symlinks=True)
            raise _Killed(f"killed before {name}{args[:2]}")

    _instrument(monkeypatch, on_operation)

    def save(kill_at):
        directory = tmp_path / f"run-{kill_at}"
        shutil.copytree(setup, directory)
        counting.update(on=True, count=0, kill_at=kill_at, directory=directory, snapshot=tmp_path / f"killed-{kill_at}")
        try:
            gm.save_tf1_checkpoint(directory / target, _values(2.0), update_state_file=update)
        except _Killed:
            return counting["snapshot"]
        finally:
            counting["on"] = False
        return None

    assert save(None) is None
    total = counting["count"]
    assert total >= 15, f"only {total} file operations counted; the instrumentation misses the save"
    print(f"{scenario}: killed before each of {total} file operations")
    outcomes = []
    for kill_at in range(1, total + 1):
        snapshot = save(kill_at)
        assert snapshot is not None
        outcomes.append(_assert_latest_reads_whole(str(snapshot), {1.0, 2.0}))
        _assert_next_save_recovers(str(snapshot), target)
    # The kills span the switch: early ones leave the old checkpoint latest, late ones the new one.
    assert outcomes[0] == 1.0 and (outcomes[-1] == 2.0 or not update)


CHILD = textwrap.dedent("""
    import os, shutil, signal, sys, tempfile
    import numpy as np
    import graphmode as gm
    from graphmode.checkpoint import atomic

    mode, directory, argument = sys.argv[1:4]
    prefix = os.path.join(directory, "model.ckpt")

    def values(value):
        return {"layer/kernel": np.full((16, 8), value, np.float32), "layer/bias": np.full(8, value, np.float32)}

    count = 0

    def kill_before(number_or_index):
        def before(name, args):
            global count
            count += 1
            hit = (count == int(number_or_index)) if number_or_index != "index" else (
                name == "replace" and str(args[1]).endswith("model.ckpt.index"))
            if hit:
                os.kill(os.getpid(), signal.SIGKILL)
        return before

    def instrument(on_operation):
        for module, names in %(operations)r.items():
            module = {"os": os, "tempfile": tempfile, "shutil": shutil}[module]
            for name in names:
                real = getattr(module, name)
                def operation(*args, _real=real, _name=name, **kwargs):
                    on_operation(_name, args)
                    return _real(*args, **kwargs)
                setattr(module, name, operation)
        real_stage = atomic._stage
        def stage(*args):
            on_operation("SaveV2", args)
            return real_stage(*args)
        atomic._stage = stage

    if mode == "at":
        instrument(kill_before(argument))
        gm.save_tf1_checkpoint(prefix, values(2.0))
        print("operations", count, flush=True)
    else:
        gm.save_tf1_checkpoint(prefix, values(3.0))  # the first save warms TensorFlow up; kills land after it
        print("ready", flush=True)
        for step in range(4, 100000):
            gm.save_tf1_checkpoint(prefix, values(float(step)))
""") % {"operations": {module.__name__: names for module, names in OPERATIONS.items()}}


def _child(tmp_path, *arguments, **options):
    script = tmp_path / "writer.py"
    script.write_text(CHILD)
    return subprocess.Popen([sys.executable, str(script), *map(str, arguments)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **options)


def _killed_at(tmp_path, directory, operation) -> tuple[int, str]:
    child = _child(tmp_path, "at", directory, operation)
    out, err = child.communicate(timeout=300)
    return child.returncode, out + err


def _fresh(tmp_path, name) -> str:
    directory = tmp_path / name
    gm.save_tf1_checkpoint(directory / "model.ckpt", _values(1.0))
    return str(directory)


def test_sigkill_between_the_data_and_index_renames_keeps_the_previous_checkpoint_latest(tmp_path):
    directory = _fresh(tmp_path, "ckpt")
    returncode, output = _killed_at(tmp_path, directory, "index")
    assert returncode == -signal.SIGKILL, output
    # The new data shard already replaced the old one under the prefix's own name ...
    with pytest.raises(tf.errors.OpError, match="Checksum does not match"):
        reader = tf.train.load_checkpoint(os.path.join(directory, "model.ckpt"))
        reader.get_tensor("layer/kernel")
    # ... but the state file names the kept copy, which reads back whole.
    assert _assert_latest_reads_whole(directory, {1.0}) == 1.0
    summary = gm.inspect_checkpoint(directory)
    assert {item.kind for item in summary.leftovers} == {"previous", "staging"}
    assert all(item.stale for item in summary.leftovers)
    _assert_next_save_recovers(directory)


def _random_kills(tmp_path, rounds: int) -> list[tuple[float, int]]:
    """SIGKILLs a child re-saving one prefix in a loop; returns (latest value, leftovers found) per round."""
    directory = _fresh(tmp_path, "loop")
    seen = []
    rng = random.Random(12)
    for _ in range(rounds):
        child = _child(tmp_path, "loop", directory, 0)
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
        time.sleep(rng.uniform(0.05, 1.5))
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=60)
        assert child.returncode == -signal.SIGKILL
        value = _assert_latest_reads_whole(directory, {1.0, 99.0, *map(float, range(3, 100000))})
        seen.append((value, len(leftovers.find_leftovers(directory))))
    _assert_next_save_recovers(directory)
    print(f"{rounds} random SIGKILLs: (latest value, leftovers) per round {seen}")
    return seen


def test_random_sigkills_during_same_prefix_saves_short(tmp_path):
    assert len(_random_kills(tmp_path, rounds=1)) == 1


@pytest.mark.slow
def test_random_sigkills_during_same_prefix_saves(tmp_path):
    seen = _random_kills(tmp_path, rounds=20)
    # Leftovers after a kill show it landed inside a save (saves run back to back).
    assert sum(found > 0 for _, found in seen) >= 5, f"too few kills landed inside a save: {seen}"


@pytest.mark.slow
def test_sigkill_before_every_file_operation_of_a_save(tmp_path):
    counted = _fresh(tmp_path, "count")
    returncode, output = _killed_at(tmp_path, counted, 0)
    assert returncode == 0, output
    total = int(output.split("operations")[1].split()[0])
    print(f"SIGKILL before each of {total} file operations of a re-save")
    for operation in range(1, total + 1):
        directory = _fresh(tmp_path, f"kill-{operation}")
        returncode, output = _killed_at(tmp_path, directory, operation)
        assert returncode == -signal.SIGKILL, f"operation {operation}: {output}"
        _assert_latest_reads_whole(directory, {1.0, 2.0})
        _assert_next_save_recovers(directory)
