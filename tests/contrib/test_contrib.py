"""tf.contrib under the TF1 API: exact renames from TensorFlow's upgrade tables, adapters, slim, the rest refused.

Resolution is tested in this process without switching it to the TF1 API; one
script runs through ``graphmode run`` for the stderr lines, slim and the traceback.
The adapters' formulas are in tests/contrib/test_contrib_layers.py.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
import sys
from pathlib import Path

import preimported
import pytest

from graphmode import v1
from graphmode.contrib import namespace as contrib
from graphmode.contrib import renames as contrib_renames
from graphmode.contrib.layers import fully_connected
from graphmode.contrib.norm import batch_norm
from graphmode.errors import RemovedModuleError, RemovedSymbolError
from graphmode.legacy.api import TF1, import_tf1
from graphmode.mnist import input_data
from graphmode.scan.scanner import MAPPED, REMOVED, scan_source

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def _unwrapped(function):
    """The adapter itself (with tf-slim installed, it comes wrapped by tf-slim's add_arg_scope)."""
    return getattr(function, "__wrapped__", function)


@pytest.fixture
def announced(monkeypatch) -> set[str]:
    fresh: set[str] = set()
    monkeypatch.setattr(contrib, "_announced", fresh)
    return fresh


def _graphmode() -> str:
    found = shutil.which("graphmode") or shutil.which("graphmode", path=os.path.dirname(sys.executable))
    if found is None:
        pytest.fail("the graphmode console script is not installed; run pip install -e .")
    return found


# --- which names resolve ---------------------------------------------------------------------------


def test_renames_come_from_tensorflows_upgrade_tables():
    tables = contrib_renames.read_upgrade_tables()
    assert tables["tf.contrib.rnn.BasicLSTMCell"] == "tf.compat.v1.nn.rnn_cell.BasicLSTMCell"
    renames = contrib_renames.exact_renames()
    lstm = renames["contrib.rnn.BasicLSTMCell"]
    assert (lstm.target_name, lstm.source) == ("tf.compat.v1.nn.rnn_cell.BasicLSTMCell", contrib_renames.TABLE_SOURCE)
    assert renames["contrib.rnn.static_rnn"].target_name == "tf.compat.v1.nn.static_rnn"
    assert renames["contrib.framework.nest.flatten"].target_name == "tf.compat.v1.nest.flatten"
    for path, rename in renames.items():
        assert contrib_renames.resolve_in_v1(rename.target) is not None, path


def test_names_the_upgrade_script_rewrites_beyond_a_rename_are_not_exact():
    renames, tables = contrib_renames.exact_renames(), contrib_renames.read_upgrade_tables()
    assert tables["tf.contrib.summary.flush"] == "tf.compat.v2.summary.flush"  # TF2 semantics, not TF1's
    assert "contrib.summary.flush" not in renames
    for rewritten in ("summary.scalar", "framework.load_variable"):  # warnings / keyword renames in tf_upgrade_v2
        assert f"tf.contrib.{rewritten}" not in tables and f"contrib.{rewritten}" not in renames
    assert "contrib.layers.xavier_initializer" not in renames  # an argument transformer: an adapter instead


def test_hand_written_entries_are_only_what_the_tables_lack():
    tables = contrib_renames.read_upgrade_tables()
    renames = contrib_renames.exact_renames()
    for path, target in contrib_renames.HAND_WRITTEN.items():
        assert f"tf.{path}" not in tables, path
        assert renames[path].source == contrib_renames.HAND_SOURCE
        assert contrib_renames.resolve_in_v1(target) is not None, target
    assert TF1.contrib.rnn.DropoutWrapper is v1.nn.rnn_cell.DropoutWrapper


def test_without_the_tables_only_hand_written_renames_resolve(monkeypatch):
    real_import = importlib.import_module

    def no_tables(name, *args):
        if name.startswith("tensorflow.tools.compatibility"):
            raise ImportError(f"no module named {name!r}")
        return real_import(name, *args)

    monkeypatch.setattr(importlib, "import_module", no_tables)
    contrib_renames.exact_renames.cache_clear()
    try:
        assert contrib_renames.read_upgrade_tables() == {}
        assert set(contrib_renames.exact_renames()) == set(contrib_renames.HAND_WRITTEN)
    finally:
        monkeypatch.undo()
        contrib_renames.exact_renames.cache_clear()


def test_a_moved_name_resolves_and_is_announced_once(capsys, announced):
    assert TF1.contrib.rnn.BasicLSTMCell is v1.nn.rnn_cell.BasicLSTMCell
    assert TF1.contrib.rnn.BasicLSTMCell is v1.nn.rnn_cell.BasicLSTMCell
    assert _unwrapped(TF1.contrib.layers.fully_connected) is fully_connected  # arg_scope-able with tf-slim
    assert capsys.readouterr().err.splitlines() == [
        "graphmode: tf.contrib.rnn.BasicLSTMCell -> tf.compat.v1.nn.rnn_cell.BasicLSTMCell",
        "graphmode: tf.contrib.layers.fully_connected -> graphmode.contrib.layers.fully_connected "
        "(TF 1.15's relu default, <scope>/weights and <scope>/biases)",
    ]
    assert announced == {"contrib.rnn.BasicLSTMCell", "contrib.layers.fully_connected"}


def test_everything_else_keeps_the_removed_symbol_error(capsys, announced):
    with pytest.raises(RemovedSymbolError, match=r"contrib\.rnn\.LSTMBlockCell was dropped .* tf\.compat\.v1\.nn"):
        TF1.contrib.rnn.LSTMBlockCell  # noqa: B018 - the attribute access is what fails
    with pytest.raises(RemovedSymbolError, match=r"contrib\.crf\.crf_log_likelihood .* no drop-in"):
        TF1.contrib.crf.crf_log_likelihood  # noqa: B018
    with pytest.raises(RemovedSymbolError, match=r"contrib\.summary\.scalar was dropped"):
        TF1.contrib.summary.scalar  # noqa: B018
    with pytest.raises(RemovedModuleError, match=r"tensorflow\.contrib\.estimator was dropped"):
        import_tf1("tensorflow.contrib.estimator", ())
    assert capsys.readouterr().err == "" and not announced
    assert {"layers", "rnn", "seq2seq", "slim"} <= set(dir(TF1.contrib))


def test_imports_of_contrib_modules_and_names(announced):
    assert import_tf1("tensorflow.contrib", ("rnn",)) is TF1.contrib
    layers = import_tf1("tensorflow.contrib.layers", ("fully_connected", "batch_norm"))
    assert _unwrapped(layers.batch_norm) is batch_norm
    assert import_tf1("tensorflow.contrib.rnn", ()) is TF1  # `import tensorflow.contrib.rnn` binds `tensorflow`
    with pytest.raises(RemovedModuleError, match=r"tensorflow\.contrib\.layers\.real_valued_column"):
        import_tf1("tensorflow.contrib.layers", ("real_valued_column",))  # feature columns: not in tf-slim


def test_slim_is_tf_slim_when_installed_else_says_how_to_install_it(monkeypatch, announced):
    monkeypatch.setitem(sys.modules, "tf_slim", None)  # what an absent package looks like to import
    with pytest.raises(RemovedModuleError, match=r"tensorflow\.contrib\.slim .*pip install 'graphmode\[contrib\]'"):
        import_tf1("tensorflow.contrib", ("slim",))
    monkeypatch.undo()
    slim = pytest.importorskip("tf_slim")
    assert TF1.contrib.slim is slim
    # The one alias tf-slim 1.1.0 needs on TensorFlow 2.21 (its batch_norm loads this path).
    assert importlib.import_module("tf_keras.legacy_tf_layers.normalization") is importlib.import_module(
        "tf_keras.src.legacy_tf_layers.normalization")


def test_with_tf_slim_other_contrib_layers_and_arg_scope_come_from_it(graph, capsys, announced):
    slim = pytest.importorskip("tf_slim")
    assert TF1.contrib.layers.layer_norm is slim.layers.layer_norm  # TF 1.15's code, kept by tf-slim
    assert TF1.contrib.framework.arg_scope is slim.arg_scope
    x = v1.placeholder(v1.float32, [None, 4])
    with TF1.contrib.framework.arg_scope([TF1.contrib.layers.fully_connected], activation_fn=None):
        outputs = TF1.contrib.layers.fully_connected(x, 3)  # graphmode's adapter takes arg_scope's defaults
    assert outputs.op.type == "BiasAdd"
    assert "graphmode: tf.contrib.layers.layer_norm -> tf_slim.layers.layer_norm (the tf-slim package)" in (
        capsys.readouterr().err.splitlines())
    with pytest.raises(RemovedSymbolError, match=r"contrib\.layers\.array_ops was dropped"):
        TF1.contrib.layers.array_ops  # noqa: B018 - a module inside tf_slim.layers, not a TF 1.15 name
    # TensorFlow 2.21 dropped ops.Tensor, which tf-slim reads (batch_norm of rank 2, updates in place).
    assert importlib.import_module("tensorflow.python.framework.ops").Tensor is v1.Tensor
    normalized = slim.batch_norm(x, is_training=True, updates_collections=None)
    assert normalized.shape.as_list() == [None, 4]


def test_without_tf_slim_other_contrib_layers_keep_the_removed_error(monkeypatch, announced):
    monkeypatch.setitem(sys.modules, "tf_slim", None)
    with pytest.raises(RemovedSymbolError, match=r"contrib\.layers\.layer_norm .* tf\.keras\.layers\.LayerNormalization"):
        TF1.contrib.layers.layer_norm  # noqa: B018
    assert TF1.contrib.layers.fully_connected is fully_connected


def test_mnist_datasets_come_from_graphmodes_loader():
    datasets = TF1.contrib.learn.datasets
    assert datasets.mnist.read_data_sets is input_data.read_data_sets


def test_scan_knows_what_resolves_without_announcing(capsys, announced):
    source = (
        "import tensorflow as tf\n"
        "cell = tf.contrib.rnn.GRUCell(3)\n"
        "y = tf.contrib.layers.batch_norm(x)\n"
        "z = tf.contrib.rnn.LSTMBlockCell(3)\n"
    )
    findings = {f.symbol: f for f in scan_source(source)}
    assert findings["tf.contrib.rnn.GRUCell"].status == MAPPED
    assert findings["tf.contrib.rnn.GRUCell"].maps_to == "tf.compat.v1.nn.rnn_cell.GRUCell"
    assert findings["tf.contrib.layers.batch_norm"].maps_to.startswith("graphmode.contrib.norm.batch_norm")
    assert findings["tf.contrib.rnn.LSTMBlockCell"].status == REMOVED
    assert capsys.readouterr().err == "" and not announced


# --- graphmode run ------------------------------------------------------------------------------------------


def test_graphmode_run_announces_each_moved_name_once_and_refuses_the_rest():
    script = SCRIPTS / "contrib_moved.py"
    # A process of its own, forked with graphmode already imported (tests/preimported.py).
    result = preimported.run([_graphmode(), "run", str(script)], capture_output=True, text=True, timeout=300,
                             cwd=SCRIPTS)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:2] == [
        "variables fully_connected/weights:0 fully_connected/biases:0 "
        "fully_connected_1/weights:0 fully_connected_1/biases:0",
        "loss went down True",
    ]
    if importlib.util.find_spec("tf_slim") is None:  # the test extra installs it
        assert lines[2].startswith("no slim: ") and "pip install 'graphmode[contrib]'" in lines[2]
    else:
        assert lines[2:] == [
            "slim model variables conv1/weights conv1/biases bn/beta bn/moving_mean bn/moving_variance "
            "fc/weights fc/biases",
            "slim loss went down True",
            "slim moving mean moved True",  # slim.batch_norm (the aliased tf-keras path) ran its UPDATE_OPS
        ]
        assert "graphmode: tf.contrib.slim -> tf_slim 1.1" in result.stderr
    announced = [line for line in result.stderr.splitlines()
                 if line.startswith("graphmode: tf.contrib") and not line.startswith("graphmode: tf.contrib.slim")]
    assert announced == [
        "graphmode: tf.contrib.rnn.MultiRNNCell -> tf.compat.v1.nn.rnn_cell.MultiRNNCell",
        "graphmode: tf.contrib.rnn.BasicLSTMCell -> tf.compat.v1.nn.rnn_cell.BasicLSTMCell",
        "graphmode: tf.contrib.rnn.static_rnn -> tf.compat.v1.nn.static_rnn",
        "graphmode: tf.contrib.layers.fully_connected -> graphmode.contrib.layers.fully_connected "
        "(TF 1.15's relu default, <scope>/weights and <scope>/biases)",
        "graphmode: tf.contrib.layers.xavier_initializer -> graphmode.contrib.layers.xavier_initializer "
        "(TF 1.15's FAN_AVG variance scaling)",
    ]
    last = result.stderr.strip().splitlines()
    crf_line = next(n for n, line in enumerate(script.read_text().splitlines(), 1) if "contrib.crf" in line)
    assert last[-1].startswith(f"graphmode.errors.RemovedSymbolError: {script}:{crf_line}: "
                               "tf.contrib.crf.crf_log_likelihood was dropped"), last[-1]
    assert "graphmode/legacy" not in "\n".join(last[-4:])  # the traceback ends at the script's line
