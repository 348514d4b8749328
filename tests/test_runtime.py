"""The single TensorFlow import: legacy Keras switch, quiet start-up, warnings."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from graphmode import _runtime
from graphmode._runtime import legacy_keras_active, tf, v1


def _python(code: str, **env_changes: str | None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    for key, value in env_changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)


def test_legacy_keras_is_active_so_tf1_layers_work(graph):
    assert legacy_keras_active()
    inputs = v1.placeholder(tf.float32, [None, 4])
    outputs = v1.layers.dense(inputs, 3)
    assert outputs.shape.as_list() == [None, 3]
    cell = v1.nn.rnn_cell.BasicRNNCell(5)
    assert cell.output_size == 5


def test_deterministic_random_test_tool_is_available():
    tool = v1.keras.utils.DeterministicRandomTestTool()
    with tool.scope():
        first = tf.random.uniform([3]).numpy()
    assert first.shape == (3,)


@pytest.mark.parametrize(
    "line",
    [
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
        "I0000 00:00:1795505492.505600    2175 port.cc:153] oneDNN custom operations are on.",
        "I0000 00:00:1795505492.506217    2175 cudart_stub.cc:31] Could not find cuda drivers",
        "E0000 00:00:1795505494.577032    2175 cuda_platform.cc:52] failed call to cuInit",
    ],
)
def test_startup_noise_pattern_matches_known_lines(line):
    assert _runtime._STARTUP_NOISE.match(line)


@pytest.mark.parametrize("line", ["Traceback (most recent call last):", "UserWarning: hello", "E0000 00:00:1.0 1 session.cc:1] real error"])
def test_startup_noise_pattern_keeps_other_lines(line):
    assert not _runtime._STARTUP_NOISE.match(line)


def test_quiet_block_replays_real_stderr_lines_and_drops_noise():
    code = (
        "import os\n"
        "from graphmode._runtime import _quiet_native_stderr\n"
        "with _quiet_native_stderr():\n"
        "    os.write(2, b'I0000 00:00:1.5   7 port.cc:153] oneDNN custom operations are on.\\n')\n"
        "    os.write(2, b'a real problem\\n')\n"
    )
    result = _python(code)
    assert result.returncode == 0, result.stderr
    assert "a real problem" in result.stderr
    assert "oneDNN" not in result.stderr


def test_import_is_quiet_and_sets_the_switch():
    result = _python(
        "import os, graphmode; print(os.environ['TF_USE_LEGACY_KERAS'], graphmode.legacy_keras_active())",
        TF_USE_LEGACY_KERAS=None,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "True"]
    for noise in ("absl::InitializeLog", "cudart_stub", "oneDNN custom operations", "cuInit"):
        assert noise not in result.stderr


def test_warns_when_tensorflow_was_imported_first_without_the_switch():
    result = _python("import tensorflow, graphmode", TF_USE_LEGACY_KERAS=None)
    assert result.returncode == 0, result.stderr
    assert "LegacyKerasWarning" in result.stderr
    assert "Import graphmode first" in result.stderr


def test_no_warning_when_tensorflow_came_first_with_the_switch():
    result = _python("import tensorflow, graphmode", TF_USE_LEGACY_KERAS="1")
    assert result.returncode == 0, result.stderr
    assert "LegacyKerasWarning" not in result.stderr


def test_has_gpu_agrees_with_tensorflow():
    assert _runtime.has_gpu() == bool(tf.config.list_physical_devices("GPU"))
