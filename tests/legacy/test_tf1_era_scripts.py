"""`graphmode run` on small TF1 scripts (tests/scripts/) doing what TF1 and the libraries of its day accepted.

NumPy flag defaults, float seeds, matplotlib's old window calls, training inside a
FuncAnimation, and a script's own copy of the MNIST loader. Each run is a process
of its own (tests/preimported.py); they start together, two at a time. Expected
numbers are worked out in the comments.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import preimported
import pytest
from banded_mnist import write_banded_mnist

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
HEADLESS_ENV = {key: value for key, value in os.environ.items()
                if key not in ("DISPLAY", "WAYLAND_DISPLAY", "MPLBACKEND", "GRAPHMODE_ANIMATIONS",
                               "GRAPHMODE_MNIST_DIR")}
OFFLINE = "file:///nonexistent-graphmode-test/"


def _graphmode() -> str:
    found = shutil.which("graphmode") or shutil.which("graphmode", path=os.path.dirname(sys.executable))
    if found is None:
        pytest.fail("the graphmode console script is not installed; run pip install -e .")
    return found


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    graphmode = _graphmode()
    root = tmp_path_factory.mktemp("era")
    mnist = write_banded_mnist(root / "mnist")
    folders = {name: root / name for name in ("save", "run", "off", "served", "unserved", "seed")}
    for folder in folders.values():
        folder.mkdir()
    plots = str(SCRIPTS / "tf1_era_plots.py")
    own_loader = str(SCRIPTS / "own_loader" / "train_own_loader.py")
    commands = {
        "flags": ([graphmode, "run", str(SCRIPTS / "numpy_flags.py"), "--layers=4"], root, {}),
        "save": ([graphmode, "run", plots], folders["save"], {}),
        "run": ([graphmode, "run", "--animations=run", plots], folders["run"], {}),
        "off": ([graphmode, "run", plots], folders["off"], {"GRAPHMODE_ANIMATIONS": "off"}),
        "served": ([graphmode, "run", own_loader], folders["served"],
                   {"OWN_LOADER_URL": OFFLINE, "GRAPHMODE_MNIST_DIR": str(mnist)}),
        "unserved": ([graphmode, "run", own_loader], folders["unserved"],
                     {"OWN_LOADER_URL": OFFLINE, "KERAS_HOME": str(folders["unserved"] / "keras")}),
        "seed": ([graphmode, "run", str(SCRIPTS / "float_seed_mnist.py"), str(mnist)], folders["seed"], {}),
        "seq2seq": ([graphmode, "run", str(SCRIPTS / "char_rnn_seq2seq.py")], root, {}),
    }

    def run(command, cwd, extra):
        return preimported.run(command, capture_output=True, text=True, timeout=300, cwd=cwd,
                               env={**HEADLESS_ENV, **extra})

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(run, *spec) for name, spec in commands.items()}
        yield {name: future.result for name, future in futures.items()}, folders


def test_numpy_flag_defaults_and_absls_own_flags(runs):
    run = runs[0]["flags"]()
    assert run.returncode == 0, run.stderr
    assert "batch_size 128 int" in run.stdout  # np.power(2, 7) as the int it holds
    assert "layers 4 keep_prob 0.5 float" in run.stdout  # np.int32 bound, np.float32 default
    assert "shuffle False bool" in run.stdout
    # log_dir: absl.logging's flag, replaced by the script's (TF 1.x did not load absl.logging).
    assert "log_dir logs_of_this_script" in run.stdout
    assert "graphmode: the script's flag --log_dir replaces the one absl.logging defines" in run.stderr
    # absl's checks stay for the rest: a float for an integer flag, absl.app's --pdb, a flag defined twice.
    assert "refused half IllegalFlagValueError" in run.stdout
    assert "refused pdb DuplicateFlagError" in run.stdout
    assert "refused batch_size DuplicateFlagError" in run.stdout


def test_a_char_rnn_on_legacy_seq2seq_trains(runs):
    run = runs[0]["seq2seq"]()
    assert run.returncode == 0, run.stderr
    # rnn_decoder(scope="rnnlm") puts the cell's weights beside the script's own in "rnnlm".
    assert ("variables rnnlm/softmax_w:0 rnnlm/softmax_b:0 rnnlm/embedding:0 rnnlm/basic_lstm_cell/kernel:0 "
            "rnnlm/basic_lstm_cell/bias:0") in run.stdout
    first, last = map(float, re.search(r"first cost ([\d.]+) last cost ([\d.]+)", run.stdout).groups())
    # "abc" repeated is predictable from one character: 40 Adam steps on two windows memorise it.
    assert first > 0.5 and last < 0.1 * first
    assert "graphmode: tf.contrib.legacy_seq2seq.rnn_decoder -> graphmode.contrib.legacy_seq2seq.rnn_decoder" in run.stderr


def test_old_window_calls_answer_and_say_once(runs):
    run = runs[0]["run"]()
    assert run.returncode == 0, run.stderr
    assert "title training w" in run.stdout  # set on the figure manager, read back
    assert "button None" in run.stdout and "points []" in run.stdout  # as on a timeout, at once
    assert run.stderr.count("graphmode: no display: fig.canvas.set_window_title (matplotlib < 3.6)") == 1
    assert run.stderr.count("plt.pause, waitforbuttonpress and ginput return at once") == 1


def _steps(stdout: str) -> tuple[int, float]:
    match = re.search(r"^steps (\d+) w ([\d.]+)$", stdout, re.M)
    assert match, stdout
    return int(match.group(1)), float(match.group(2))


def test_an_animation_shown_without_a_display_runs_to_the_end_and_is_written(runs):
    results, folders = runs
    run = results["save"]()
    assert run.returncode == 0, run.stderr
    # Figure 1: frames=5, plus the first draw matplotlib makes of frame 0 (as a window does): 6 training
    # steps, w = 3 * (1 - 0.8**6) for w <- w - 0.1 * 2 * (w - 3). Figure 2: frames=None, 100 frames + 1.
    steps, w = _steps(run.stdout)
    assert steps == 6 + 101
    assert w == pytest.approx(3 * (1 - 0.8**6), abs=1e-5)
    assert "steps after a second show 107" in run.stdout
    first, second = (folders["save"] / f"tf1_era_plots-animation-{n}.gif" for n in (1, 2))
    assert first.read_bytes()[:6] == b"GIF89a" and second.exists()
    assert f"running animation 1 (its frames to the end) and writing it to {first}" in run.stderr
    assert "running animation 2 (100 frames: frames=None has no end" in run.stderr


def test_animations_can_run_without_a_file_or_be_left_alone(runs):
    results, folders = runs
    ran, off = results["run"](), results["off"]()
    assert ran.returncode == 0 and off.returncode == 0, ran.stderr + off.stderr
    assert _steps(ran.stdout)[0] == 107 and not list(folders["run"].glob("*.gif"))
    assert _steps(off.stdout) == (0, 0.0) and not list(folders["off"].glob("*.gif"))
    assert "running animation" not in off.stderr


def test_a_float_graph_seed_seeds_the_tutorial_loaders_shuffle(runs):
    run = runs[0]["seed"]()
    assert run.returncode == 0, run.stderr
    # tf.set_random_seed(0.0): TF1's get_seed gives NumPy 0.0 % (2**31 - 1) -> 0; labels cycle 0..9.
    order = np.arange(120)
    np.random.RandomState(0).shuffle(order)
    assert f"labels {[int(i % 10) for i in order[:12]]}" in run.stdout


def test_a_scripts_own_loader_is_served_when_its_download_fails(runs):
    results, folders = runs
    run = results["served"]()
    assert run.returncode == 0, run.stderr
    assert "labels [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]" in run.stdout
    assert "brightest rows [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]" in run.stdout  # digit c's band starts at row 2c
    assert "graphmode: the script's download of " + OFFLINE in run.stderr
    assert run.stderr.count("graphmode: the script's download of") == 1
    assert (folders["served"] / "MNIST_data" / "train-images-idx3-ubyte.gz").exists()


def test_a_scripts_own_loader_without_any_source_names_the_places(runs):
    results, folders = runs
    run = results["unserved"]()
    assert run.returncode == 1
    assert "DataFilesNotFoundError: the script's download of " + OFFLINE + "train-labels-idx1-ubyte.gz failed" in run.stderr
    assert "$GRAPHMODE_MNIST_DIR (not set)" in run.stderr
    assert f"{folders['unserved'] / 'keras' / 'datasets' / 'mnist.npz'} (Keras' cache; absent)" in run.stderr


def test_an_unknown_animation_mode_is_refused_before_the_script_runs(monkeypatch):
    from graphmode.errors import ScriptError
    from graphmode.legacy.runner import run_script

    monkeypatch.setenv("GRAPHMODE_ANIMATIONS", "show")
    with pytest.raises(ScriptError, match=r"GRAPHMODE_ANIMATIONS='show': choose one of save, run, off"):
        run_script(str(SCRIPTS / "tf1_era_plots.py"))
