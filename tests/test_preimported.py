"""tests/preimported.py behaves as ``subprocess.run([sys.executable, ...])`` would, without the import."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import preimported
import pytest


def test_argv_cwd_environment_and_streams_are_the_commands_own(tmp_path):
    script = tmp_path / "show.py"
    script.write_text(textwrap.dedent("""
        import os, sys
        print(sys.argv, os.getcwd(), os.environ.get("READ_ME"), sys.path[0] == os.path.dirname(__file__))
        print("to stderr", file=sys.stderr)
        print("tensorflow" in sys.modules)
    """))
    done = preimported.run([sys.executable, str(script), "a", "--b"], cwd=tmp_path, env=dict(os.environ, READ_ME="yes"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"[{str(script)!r}, 'a', '--b'] {tmp_path} yes True", "True"]
    assert done.stderr == "to stderr\n"


@pytest.mark.parametrize(
    ("code", "status", "stderr"),
    [
        ("import sys; sys.exit(3)", 3, ""),
        ("import sys; sys.exit('a message')", 1, "a message\n"),
        ("raise KeyError('culprit')", 1, "KeyError: 'culprit'\n"),
        ("import atexit; atexit.register(print, 'at exit')", 0, ""),
    ],
)
def test_exit_status_tracebacks_and_atexit_follow_the_interpreter(code, status, stderr):
    done = preimported.run([sys.executable, "-c", code])
    assert done.returncode == status
    assert done.stderr.endswith(stderr)
    if "atexit" in code:
        assert done.stdout == "at exit\n"


def test_module_and_console_script_run_graphmode_main():
    by_module = preimported.run([sys.executable, "-m", "graphmode", "frobnicate"])
    assert by_module.returncode == 2 and "invalid choice: 'frobnicate'" in by_module.stderr
    script = shutil.which("graphmode") or shutil.which("graphmode", path=os.path.dirname(sys.executable))
    by_script = preimported.run([script, "frobnicate"])
    assert (by_script.returncode, by_script.stderr) == (2, by_module.stderr)


def test_a_command_past_its_timeout_is_killed():
    with pytest.raises(subprocess.TimeoutExpired):
        preimported.run([sys.executable, "-c", "import time; print('started', flush=True); time.sleep(600)"], timeout=3)


def test_import_time_environment_and_other_programs_are_refused():
    with pytest.raises(ValueError, match=r"changes \['TF_USE_LEGACY_KERAS'\]"):
        preimported.run([sys.executable, "-c", "pass"], env=dict(os.environ, TF_USE_LEGACY_KERAS="0"))
    with pytest.raises(ValueError, match="Python commands only"):
        preimported.run(["/bin/true"])


def test_an_environment_copied_before_the_import_gets_what_the_import_sets():
    if preimported._BEFORE_IMPORT is None:
        pytest.skip("graphmode was imported before tests/preimported.py in this run")
    before = {name: value for name, value in os.environ.items() if name not in preimported.IMPORT_TIME_ENV}
    before.update({name: value for name, value in preimported._BEFORE_IMPORT.items() if value is not None})
    done = preimported.run([sys.executable, "-c", "import os; print(os.environ['TF_USE_LEGACY_KERAS'])"], env=before)
    assert done.stdout == os.environ["TF_USE_LEGACY_KERAS"] + "\n"
