"""`graphmode scan`: the static TF1 checklist (in process), and the command itself (one subprocess)."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import numpy as np
import preimported
import pytest

from graphmode import scan_files
from graphmode._runtime import has_gpu
from graphmode.scan import ScanFinding, scan_source
from graphmode.scan.scanner import MAPPED, NOTE, REMOVED, UNKNOWN

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def _by_symbol(source: str) -> dict[str, ScanFinding]:
    return {finding.symbol: finding for finding in scan_source(textwrap.dedent(source), "train.py")}


def test_mapped_symbols_name_what_graphmode_run_gives():
    findings = _by_symbol(
        """
        import tensorflow as tf
        x = tf.placeholder(tf.float32, [None, 2])
        opt = tf.train.GradientDescentOptimizer(0.1)
        cell = tf.nn.rnn_cell.BasicLSTMCell(4)
        lr = tf.app.flags.FLAGS.learning_rate
        with tf.Session() as sess:
            pass
        y = tf.nn.relu(x)
        """
    )
    assert findings["tf.placeholder"] == ScanFinding("train.py", 3, 5, "tf.placeholder", MAPPED, "tf.compat.v1.placeholder")
    assert findings["tf.train.GradientDescentOptimizer"].maps_to == "tf.compat.v1.train.GradientDescentOptimizer"
    assert findings["tf.nn.rnn_cell.BasicLSTMCell"].maps_to == "tf.compat.v1.nn.rnn_cell.BasicLSTMCell"
    # FLAGS.learning_rate exists only at run time: the symbol stops at what TensorFlow defines.
    assert findings["tf.app.flags.FLAGS"].maps_to == "tf.compat.v1.app.flags.FLAGS"
    assert findings["tf.Session"].maps_to == "graphmode.Session (a tf.compat.v1.Session subclass)"
    # Names TensorFlow 2 has are not listed (tf.float32, tf.nn.relu).
    assert set(findings) == {
        "tf.placeholder", "tf.train.GradientDescentOptimizer", "tf.nn.rnn_cell.BasicLSTMCell",
        "tf.app.flags.FLAGS", "tf.Session",
    }


def test_removed_symbols_carry_the_replacement_or_say_there_is_none():
    findings = _by_symbol(
        """
        import tensorflow as tf
        from tensorflow.examples.tutorials.mnist import input_data
        import tensorflow.contrib.distributions as ds
        w = tf.contrib.distributions.Normal(0.0, 1.0)
        crf = tf.contrib.crf.crf_log_likelihood
        z = tf.mul(w, 2)
        q = tf.frobnicate(w)
        e = tf.estimator.Estimator(model_fn)
        """
    )
    mnist = findings["tensorflow.examples.tutorials.mnist.input_data"]
    assert (mnist.line, mnist.status) == (3, MAPPED)
    assert mnist.maps_to == "graphmode.mnist.input_data (TF 1.15's MNIST loader)"
    assert findings["tensorflow.contrib.distributions"].replacement.startswith("TensorFlow Probability")
    normal = findings["tf.contrib.distributions.Normal"]
    assert (normal.line, normal.column, normal.status) == (5, 5, REMOVED)
    crf = findings["tf.contrib.crf.crf_log_likelihood"]
    assert crf.status == REMOVED and crf.replacement is None and "no maintained successor" in crf.detail
    assert findings["tf.mul"].replacement == "tf.multiply"
    assert findings["tf.frobnicate"].status == UNKNOWN
    estimator = findings["tf.estimator.Estimator"]  # not "unknown ... a typo": removed in TensorFlow 2.16
    assert estimator.status == REMOVED and "removed in TensorFlow 2.16" in estimator.detail


def test_aliases_follow_the_import_form():
    findings = _by_symbol(
        """
        import tensorflow.compat.v1 as tf
        from tensorflow.contrib import crf
        from tensorflow import train
        tf.disable_v2_behavior()
        x = tf.placeholder(tf.float32)
        scores = crf.crf_decode(x)
        opt = train.AdamOptimizer(0.1)
        if tf.test.is_built_with_cuda():
            pass
        """
    )
    # tf.compat.v1 names exist in TensorFlow 2: nothing to migrate for them.
    assert "tf.placeholder" not in findings and "tf.disable_v2_behavior" not in findings
    assert findings["crf.crf_decode"].status == REMOVED
    assert findings["train.AdamOptimizer"].maps_to == "tf.compat.v1.train.AdamOptimizer"
    note = findings["tf.test.is_built_with_cuda"]
    assert note.status == NOTE and "CPU wheel" in note.detail


def test_report_text_json_and_exit_codes(tmp_path):
    good = tmp_path / "good.py"
    good.write_text("import tensorflow as tf\nx = tf.placeholder(tf.float32)\n")
    bad = tmp_path / "pkg" / "bad.py"
    bad.parent.mkdir()
    bad.write_text("import tensorflow as tf\ntimes = tf.mul\n")
    python2 = tmp_path / "old.py"
    python2.write_text('print "hello"\n')

    assert scan_files([str(good)]).exit_code == 0
    report = scan_files([str(tmp_path / "pkg"), str(good)])  # folders are searched for *.py
    assert report.files == (str(bad), str(good))
    assert report.exit_code == 1
    text = report.format_text().splitlines()
    assert text[0].split() == [f"{bad}:2", "tf.mul", "REMOVED,", "use", "tf.multiply"]
    assert text[1].split() == [f"{good}:2", "tf.placeholder", "->", "tf.compat.v1.placeholder"]
    assert text[2] == f"{bad}: graphmode run stops at line 2: tf.mul (use tf.multiply)"
    assert text[3] == f"{good}: graphmode run runs it as it is"
    assert text[4].startswith("2 file(s): 2 use(s) of TF1 symbols TensorFlow 2 lacks; 1 symbol(s) mapped")
    data = json.loads(report.to_json())
    assert data["summary"]["removed_symbols"] == 1 and data["summary"]["mapped_uses"] == 1
    assert data["findings"][0]["replacement"] == "tf.multiply"

    broken = scan_files([str(python2), str(tmp_path / "missing.py")])
    assert broken.exit_code == 2
    assert broken.problems[0].startswith(f"{python2}:1: cannot parse it as Python 3")
    assert "Python 2 syntax" in broken.problems[0]
    assert broken.problems[1].startswith(f"{tmp_path / 'missing.py'}: cannot read it (No such file or directory)")


def test_scan_command_on_the_corpus():
    scripts = [str(SCRIPTS / "removed_symbols.py"), str(SCRIPTS / "app_flags.py")]
    result = preimported.run(
        [sys.executable, "-m", "graphmode", "scan", "--json", *scripts], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 1, result.stderr  # removed_symbols uses tf.contrib.crf and tf.estimator
    data = json.loads(result.stdout)
    assert data["files"] == scripts
    statuses = {(Path(f["file"]).name, f["symbol"]): f["status"] for f in data["findings"]}
    assert statuses[("removed_symbols.py", "tensorflow.contrib.crf")] == REMOVED
    assert statuses[("removed_symbols.py", "tf.estimator.DNNClassifier")] == REMOVED
    assert statuses[("removed_symbols.py", "tf.placeholder")] == MAPPED
    assert statuses[("app_flags.py", "tf.app.flags")] == MAPPED
    assert statuses[("app_flags.py", "tf.logging.info")] == MAPPED


@pytest.mark.parametrize("arguments", [[], ["--json"]])
def test_scan_needs_a_script(arguments, capsys):
    from graphmode import cli

    with pytest.raises(SystemExit) as exit_request:
        cli.main(["scan", *arguments])
    assert exit_request.value.code == 2
    assert "the following arguments are required: SCRIPT" in capsys.readouterr().err


def test_files_are_decoded_as_python_reads_them(tmp_path):
    bom = tmp_path / "bom.py"
    bom.write_bytes(b"\xef\xbb\xbfimport tensorflow as tf\nx = tf.placeholder(tf.float32)  # caf\xc3\xa9\n")
    latin = tmp_path / "latin.py"
    latin.write_bytes(b"# -*- coding: latin-1 -*-\nimport tensorflow as tf\nname = 'caf\xe9'\ny = tf.mul(2, 3)\n")
    undeclared = tmp_path / "undeclared.py"
    undeclared.write_bytes(b"import tensorflow as tf\nname = 'caf\xe9'\n")
    report = scan_files([str(bom), str(latin), str(undeclared)])
    assert [(Path(f.file).name, f.line, f.symbol) for f in report.findings] == [
        ("bom.py", 2, "tf.placeholder"), ("latin.py", 4, "tf.mul"),
    ]
    assert len(report.problems) == 1, report.problems
    assert report.problems[0].startswith(f"{undeclared}: cannot decode it as utf-8 (invalid continuation byte")
    assert "coding line" in report.problems[0] and "Python 2" not in report.problems[0]


def test_too_deep_expression_is_unreadable_and_the_other_files_still_count(tmp_path):
    # Python's default limit: a library run earlier in the process (Hypothesis) may leave it raised,
    # and then the parser reads the expression.
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        _check_too_deep_expression(tmp_path)
    finally:
        sys.setrecursionlimit(limit)


def _check_too_deep_expression(tmp_path):
    deep = tmp_path / "a_deep.py"
    deep.write_text("import tensorflow as tf\nx = " + " + ".join(["1"] * 5000) + "\n")
    other = tmp_path / "b_other.py"
    other.write_text("import tensorflow as tf\ny = tf.mul(2, 3)\n")
    report = scan_files([str(tmp_path)])
    assert report.problems == (
        f"{deep}: cannot parse it: an expression is nested too deeply for Python's parser (RecursionError); "
        "Python cannot compile it either",
    )
    assert [finding.symbol for finding in report.findings] == ["tf.mul"]
    assert report.exit_code == 2  # a file could not be read, as for any unreadable file
    assert report.verdicts[0].runs is False and "not scanned" in report.verdicts[0].stops[0]


def test_verdict_per_script_names_what_stops_it(tmp_path, monkeypatch):
    monkeypatch.delenv("GRAPHMODE_MNIST_DIR", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "no_keras"))
    monkeypatch.chdir(tmp_path)
    runs = tmp_path / "runs.py"
    runs.write_text("import tensorflow as tf\nx = tf.placeholder(tf.float32)\nwith tf.device('/gpu:0'):\n    y = x * 2\n")
    stops = tmp_path / "stops.py"
    stops.write_text(textwrap.dedent(
        """
        import tensorflow as tf
        from tensorflow.examples.tutorials.mnist import input_data
        tf.app.flags.DEFINE_string("data_dir", "/nonexistent/mnist", "where MNIST is")
        FLAGS = tf.app.flags.FLAGS
        mnist = input_data.read_data_sets(FLAGS.data_dir, one_hot=True)
        fake = input_data.read_data_sets("unused", fake_data=True)
        gpus = tf.config.list_physical_devices("GPU")[0]
        layer = tf.keras.layers.CuDNNLSTM(4)
        crf = tf.contrib.crf.crf_log_likelihood
        """
    ))
    data_only = tmp_path / "data_only.py"
    data_only.write_text("from tensorflow.examples.tutorials.mnist import input_data\n"
                         "m = input_data.read_data_sets('MNIST_data/')\n")
    report = scan_files([str(runs), str(stops), str(data_only)])
    verdicts = {Path(v.file).name: v for v in report.verdicts}
    assert verdicts["runs.py"].runs and verdicts["runs.py"].format_line() == f"{runs}: graphmode run runs it as it is"
    stop = verdicts["stops.py"]
    assert not stop.runs
    assert "line 10: tf.contrib.crf.crf_log_likelihood (no replacement)" in stop.stops
    if not has_gpu():
        assert any(s.startswith("line 8: tf.config.list_physical_devices('GPU')[0] (the list of GPUs is empty")
                   for s in stop.stops), stop.stops
        assert any(s.startswith("line 9: CuDNNLSTM (cuDNN kernels only") for s in stop.stops), stop.stops
    # The folder comes from the flag's default; fake_data needs no files.
    assert stop.data == ("line 6: MNIST files are not in /nonexistent/mnist, $GRAPHMODE_MNIST_DIR or Keras' cache "
                         "(graphmode run downloads them when the network allows)",)
    assert verdicts["data_only.py"].format_line().startswith(
        f"{data_only}: graphmode run runs it if it gets the data: line 2: MNIST files are not in MNIST_data/")
    # With the files in the folder, nothing is missing.
    from graphmode.mnist.idx import write_idx

    for name in ("train-images-idx3-ubyte", "t10k-images-idx3-ubyte"):
        write_idx(str(tmp_path / "MNIST_data" / name), np.zeros((1, 28, 28), np.uint8))
    for name in ("train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"):
        write_idx(str(tmp_path / "MNIST_data" / name), np.zeros(1, np.uint8))
    assert scan_files([str(data_only)]).verdicts[0].runs
    text = report.format_text().splitlines()
    assert text[-1].startswith("3 file(s):") and text[-4] == f"{runs}: graphmode run runs it as it is"
    assert json.loads(report.to_json())["verdicts"][1]["stops"] == list(stop.stops)
