"""The single TensorFlow import: legacy Keras switch, quiet start-up, warnings."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import preimported
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
    # Not about the import: the block runs pre-imported (tests/preimported.py).
    result = preimported.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "a real problem" in result.stderr
    assert "oneDNN" not in result.stderr


def test_import_alone_changes_nothing_in_the_process():
    code = (
        "import os, sys, json\n"
        "before = dict(os.environ)\n"
        "import graphmode\n"
        "print(json.dumps(['tensorflow' in sys.modules, dict(os.environ) == before, graphmode.__version__]))\n"
    )
    result = _python(code, TF_USE_LEGACY_KERAS=None, TF_CPP_MIN_LOG_LEVEL=None, TF_XLA_FLAGS=None)
    assert result.returncode == 0, result.stderr
    tensorflow_loaded, environment_unchanged, version = json.loads(result.stdout)
    assert not tensorflow_loaded and environment_unchanged and version


def test_first_use_is_quiet_sets_only_the_keras_switch():
    code = (
        "import os, json, graphmode\n"
        "active = graphmode._runtime.legacy_keras_active()\n"
        "print(json.dumps([active] + [os.environ.get(k) for k in "
        "('TF_USE_LEGACY_KERAS', 'TF_CPP_MIN_LOG_LEVEL', 'TF_XLA_FLAGS')]))\n"
    )
    result = _python(code, TF_USE_LEGACY_KERAS=None, TF_CPP_MIN_LOG_LEVEL=None, TF_XLA_FLAGS=None)
    assert result.returncode == 0, result.stderr
    # TF_XLA_FLAGS was set only while TensorFlow parsed it; child processes inherit nothing of it.
    assert json.loads(result.stdout) == [True, "1", None, None]
    for noise in ("absl::InitializeLog", "cudart_stub", "oneDNN custom operations", "cuInit"):
        assert noise not in result.stderr


def test_tensorflow_log_lines_after_start_up_stay_visible():
    code = (
        "import graphmode as gm\n"
        "from graphmode import tf\n"
        "graph = gm.new_graph()\n"
        "with graph.as_default():\n"
        "    total = tf.add(tf.constant(1.0), 2.0, name='placed_add')\n"
        "with gm.Session(graph=graph, log_device_placement=True) as session:\n"
        "    session.run(total)\n"
    )
    result = _python(code, TF_CPP_MIN_LOG_LEVEL=None)
    assert result.returncode == 0, result.stderr
    assert "placer.cc" in result.stderr and "placed_add: (AddV2)" in result.stderr


def test_xla_auto_jit_clusters_on_cpu_without_the_flag_in_the_environment():
    code = (
        "import os, graphmode as gm\n"
        "from graphmode import tf, v1\n"
        "graph = gm.new_graph()\n"
        "with graph.as_default():\n"
        "    x = v1.placeholder(tf.float32, [None, 64])\n"
        "    y = tf.reduce_sum(tf.tanh(tf.nn.relu(tf.matmul(x, tf.ones([64, 64])) + 1.0)) * 2.0)\n"
        "metadata = v1.RunMetadata()\n"
        "with gm.Session(graph=graph, config=gm.session_config(xla_auto_jit=True)) as session:\n"
        "    session.run(y, {x: [[1.0] * 64] * 4}, options=v1.RunOptions(output_partition_graphs=True),\n"
        "                run_metadata=metadata)\n"
        "print('TF_XLA_FLAGS' in os.environ, sum(n.op.startswith('_Xla') for g in metadata.partition_graphs "
        "for n in g.node))\n"
    )
    result = _python(code, TF_XLA_FLAGS=None)
    assert result.returncode == 0, result.stderr
    in_environment, xla_ops = result.stdout.split()
    assert in_environment == "False" and int(xla_ops) > 0


def test_warns_when_tensorflow_was_imported_first_without_the_switch():
    result = _python("import tensorflow, graphmode; graphmode.tf", TF_USE_LEGACY_KERAS=None)
    assert result.returncode == 0, result.stderr
    assert "LegacyKerasWarning" in result.stderr
    assert "Use graphmode" in result.stderr


def test_no_warning_when_tensorflow_came_first_with_the_switch():
    result = _python("import tensorflow, graphmode; graphmode.tf", TF_USE_LEGACY_KERAS="1")
    assert result.returncode == 0, result.stderr
    assert "LegacyKerasWarning" not in result.stderr


def test_default_session_config_is_tensorflows():
    from tensorflow.python.eager import context

    assert _runtime.default_session_config() == context.context().config


def test_has_gpu_agrees_with_tensorflow():
    assert _runtime.has_gpu() == bool(tf.config.list_physical_devices("GPU"))
