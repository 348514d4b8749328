"""What the cluster_ps example's tests share: running a script of examples/, and checking where things ran."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import preimported

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PS0 = "/job:ps/replica:0/task:0/device:CPU:0"


def run_script(script: Path, *args: str, timeout: float = 150) -> subprocess.CompletedProcess:
    # The launcher runs pre-imported (tests/preimported.py); the tasks it starts are processes of their own.
    return preimported.run([sys.executable, str(script), *args], capture_output=True, text=True, timeout=timeout)


def is_gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"  # a zombie has stopped running
    except FileNotFoundError:
        return True


def children_of(pid: int) -> dict[int, str]:
    """Maps the pids of ``pid``'s child processes to the task their TF_CONFIG names."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            if parent != pid:
                continue
            with open(f"/proc/{entry}/environ", "rb") as environ:
                variables = dict(item.split(b"=", 1) for item in environ.read().split(b"\0") if b"=" in item)
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        task = json.loads(variables.get(b"TF_CONFIG", b'{"task": {}}'))["task"]
        found[int(entry)] = f"{task.get('type')} {task.get('index')}"
    return found


def assert_on_ps(summary: dict) -> None:
    assert {"global_step", "w1", "w2", "w1/Adam", "w2/Adam_1", "beta1_power"} <= set(summary["variables"])
    for name, device in summary["variables"].items():
        assert device == {"requested": "/job:ps/task:0", "assigned": PS0}, name
    assert set(summary["final"]["placement"].values()) == {PS0}
    for worker, info in summary["workers"].items():
        # Each worker's step ran on the ps (the updates) and on that worker alone.
        assert set(info["ops_by_task"]) == {"/job:ps/task:0", f"/job:worker/task:{worker}"}




def load_example(name: str) -> ModuleType:
    """Imports ``examples/NAME.py``; it imports its neighbours by plain name, as running it as a script does."""
    sys.path.insert(0, str(EXAMPLES))
    try:
        spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(EXAMPLES))
    return module
