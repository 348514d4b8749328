"""graphmode scan follows the modules a script imports from its own folder, and names the ones shadowing TensorFlow's.

The scripts are small TF1 programs written into a temporary folder by each test.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from graphmode.mnist.idx import write_idx
from graphmode.scan import scan_files


@pytest.fixture(autouse=True)
def _no_mnist_anywhere(monkeypatch, tmp_path):
    monkeypatch.delenv("GRAPHMODE_MNIST_DIR", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.chdir(tmp_path)


def _write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def test_a_local_modules_removed_name_stops_the_script_that_imports_it(tmp_path):
    _write(tmp_path, {
        "train.py": """\
            import tensorflow as tf
            from model import Model
            import helpers.text as text
            sess = tf.Session()
        """,
        "model.py": """\
            import tensorflow as tf
            from tensorflow.contrib import legacy_seq2seq


            class Model:
                def build(self, inputs, state, cell, memory):
                    return legacy_seq2seq.embedding_attention_seq2seq(inputs, state, memory, cell)
        """,
        "helpers/__init__.py": "",
        "helpers/text.py": "import vocabulary\n",
        "vocabulary.py": "import tensorflow as tf\nx = tf.placeholder(tf.int32)\n",
    })
    verdict = scan_files([str(tmp_path / "train.py")]).verdicts[0]
    assert not verdict.runs
    assert verdict.stops == ("model.py line 7: legacy_seq2seq.embedding_attention_seq2seq (no replacement)",)
    # Through each other too: helpers/text.py imports vocabulary.py.
    assert verdict.modules == ("model.py", "helpers/text.py", "vocabulary.py")
    line = verdict.format_line()
    assert line.startswith(f"{tmp_path / 'train.py'}: graphmode run stops at model.py line 7")
    assert line.endswith("(with the local modules it imports: model.py, helpers/text.py, vocabulary.py)")


def test_a_script_whose_local_modules_run_runs_and_says_which_were_judged(tmp_path):
    _write(tmp_path, {
        "main.py": "import tensorflow as tf\nimport utils\nimport numpy\nsess = tf.Session()\n",
        "utils.py": "import tensorflow.contrib.legacy_seq2seq as seq2seq\nloss = seq2seq.sequence_loss\n",
    })
    verdict = scan_files([str(tmp_path / "main.py")]).verdicts[0]
    assert verdict.runs and verdict.modules == ("utils.py",)  # numpy is installed, not local
    assert verdict.format_line() == (f"{tmp_path / 'main.py'}: graphmode run runs it as it is "
                                     "(with the local modules it imports: utils.py)")


OWN_LOADER_SCRIPT = {
    "mnist_softmax.py": """\
        import tensorflow as tf
        import input_data
        mnist = input_data.read_data_sets("MNIST_data/", one_hot=True)
        sess = tf.Session()
    """,
    "input_data.py": """\
        import urllib.request
        def read_data_sets(train_dir, one_hot=False):
            urllib.request.urlretrieve("http://yann.lecun.com/exdb/mnist/train-images-idx3-ubyte.gz", "x")
    """,
}


def test_an_own_input_data_is_named_as_shadowing_tensorflows_and_its_data_judged_as_its_own(tmp_path):
    _write(tmp_path, OWN_LOADER_SCRIPT)
    verdict = scan_files([str(tmp_path / "mnist_softmax.py")]).verdicts[0]
    assert verdict.shadows == ("input_data.py is the script's own copy of TensorFlow's "
                               "tensorflow.examples.tutorials.mnist.input_data, the tutorials' MNIST loader, "
                               "run instead of TensorFlow's or graphmode's",)
    assert verdict.data == ("line 3: MNIST through the script's own input_data.py: its files are not in MNIST_data/, "
                            "its own download is its own (graphmode run serves a failed one from "
                            "$GRAPHMODE_MNIST_DIR or Keras' cache, which hold none here)",)
    assert "; input_data.py is the script's own copy of TensorFlow's" in verdict.format_line()


def test_an_own_input_data_runs_when_graphmode_can_serve_its_download(tmp_path, monkeypatch):
    _write(tmp_path, OWN_LOADER_SCRIPT)
    served = tmp_path / "served"
    for prefix in ("train", "t10k"):
        write_idx(str(served / f"{prefix}-images-idx3-ubyte.gz"), np.zeros((2, 28, 28), np.uint8))
        write_idx(str(served / f"{prefix}-labels-idx1-ubyte.gz"), np.zeros(2, np.uint8))
    monkeypatch.setenv("GRAPHMODE_MNIST_DIR", str(served))
    verdict = scan_files([str(tmp_path / "mnist_softmax.py")]).verdicts[0]
    assert verdict.runs and verdict.data == () and verdict.modules == ("input_data.py",)


def test_a_local_tensorflow_py_is_named(tmp_path):
    _write(tmp_path, {"run.py": "import tensorflow as tf\nprint(tf)\n", "tensorflow.py": "x = 1\n"})
    verdict = scan_files([str(tmp_path / "run.py")]).verdicts[0]
    assert verdict.shadows == ("tensorflow.py is the script's own copy of TensorFlow itself (import tensorflow loads "
                               "this file instead), run instead of TensorFlow's or graphmode's",)


def test_an_unparsable_local_module_is_a_stop(tmp_path):
    _write(tmp_path, {"a.py": "import b\n", "b.py": "print 'python 2'\n"})
    verdict = scan_files([str(tmp_path / "a.py")]).verdicts[0]
    assert verdict.stops == ("b.py (it cannot be parsed)",) and not verdict.runs


def test_a_package_that_is_not_installed_stops_the_script_unless_its_import_is_optional(tmp_path):
    _write(tmp_path, {
        "plot.py": """\
            import tensorflow as tf
            import graphmode_no_such_package.io as gio
            try:
                import graphmode_no_such_optional
            except ImportError:
                graphmode_no_such_optional = None
            import helper
        """,
        "helper.py": "from graphmode_no_such_package_either import thing\n",
    })
    verdict = scan_files([str(tmp_path / "plot.py")]).verdicts[0]
    assert verdict.stops == (
        "line 2: import graphmode_no_such_package.io (no module 'graphmode_no_such_package' is installed)",
        "helper.py line 1: import graphmode_no_such_package_either "
        "(no module 'graphmode_no_such_package_either' is installed)",
    )
