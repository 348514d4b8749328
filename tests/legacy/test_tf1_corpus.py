"""benchmarks/tf1_corpus.py: the corpus list, selection rule, checkout, outcome rules and table."""

from __future__ import annotations

import gzip
import importlib.util
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("tf1_corpus", ROOT / "benchmarks" / "tf1_corpus.py")
corpus = importlib.util.module_from_spec(_spec)
sys.modules["tf1_corpus"] = corpus
_spec.loader.exec_module(corpus)


def test_the_committed_list_has_59_scripts_from_15_repositories_at_pinned_commits():
    sources = corpus.read_sources()
    assert len(sources) >= 59
    assert len({s.repository for s in sources}) >= 15
    assert all(len(s.commit) == 40 and int(s.commit, 16) >= 0 for s in sources)
    assert len({(s.repository, s.path) for s in sources}) == len(sources)
    assert set(corpus.TUTORIAL_FOLDERS) == {s.repository for s in sources}


def test_selection_rule_recognises_tf1_scripts():
    assert corpus.runs_as_tf1_script("import tensorflow as tf\nwith tf.Session() as sess:\n    sess.run(x)\n")
    assert corpus.runs_as_tf1_script("def main():\n    s = tf.Session()\nif __name__ == '__main__':\n    main()\n")
    assert not corpus.runs_as_tf1_script("import tensorflow as tf\nmodel.fit(x, y)\n")
    assert not corpus.runs_as_tf1_script("def helper(sess: tf.Session):\n    return sess\n")  # a library module


def _git(folder: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def clones(tmp_path):
    clone = tmp_path / "clones" / "someone+tutorials"
    clone.mkdir(parents=True)
    _git(clone, "init", "-q")
    (clone / "lessons").mkdir()
    for index in range(7):
        (clone / "lessons" / f"{index:02d}_lesson.py").write_text(f"import tensorflow as tf\nsess = tf.Session()\n# {index}\n")
    (clone / "lessons" / "helpers.py").write_text("def f(sess: tf.Session):\n    pass\n")
    (clone / "lessons" / "data.txt").write_text("1 2 3\n")
    _git(clone, "add", ".")
    _git(clone, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "lessons")
    return tmp_path / "clones"


def test_select_spreads_five_picks_over_the_candidates_and_checkout_lays_the_tree_out(clones, tmp_path):
    picked = corpus.select(clones, {"someone/tutorials": "lessons/"})
    # 7 candidates (helpers.py is no script): indices round(i * 7 / 5) = 0, 1, 3, 4, 6
    assert [s.path for s in picked] == [f"lessons/{i:02d}_lesson.py" for i in (0, 1, 3, 4, 6)]
    commit = _git(clones / "someone+tutorials", "rev-parse", "HEAD").strip()
    assert {s.commit for s in picked} == {commit}
    corpus.checkout(picked, clones, tmp_path / "corpus")
    laid_out = tmp_path / "corpus" / "someone+tutorials" / "lessons"
    assert (laid_out / "data.txt").read_text() == "1 2 3\n"  # files next to the scripts come along
    assert (laid_out / "02_lesson.py").read_text().endswith("# 2\n")


def test_checkout_without_a_clone_says_how_to_get_it(tmp_path):
    source = corpus.Source("someone/missing", "0" * 40, "a.py")
    with pytest.raises(SystemExit, match="git clone https://github.com/someone/missing"):
        corpus.checkout([source], tmp_path, tmp_path / "out")


def test_last_error_line_and_cause_families():
    stderr = ('Traceback (most recent call last):\n  File "x.py", line 3, in <module>\n'
              "    from tensorflow.examples.tutorials.mnist import input_data\n"
              "ModuleNotFoundError: No module named 'tensorflow.examples'\n")
    line = corpus.last_error_line(stderr)
    assert line == "ModuleNotFoundError: No module named 'tensorflow.examples'"
    assert corpus.cause_family(line) == "MNIST input_data"
    assert corpus.cause_family("ModuleNotFoundError: No module named 'tensorflow.contrib'") == "tf.contrib"
    assert corpus.cause_family("AttributeError: module 'tensorflow' has no attribute 'placeholder'") == \
        "TF1 API missing (plain TF2)"
    assert corpus.cause_family("FileNotFoundError: [Errno 2] No such file or directory: 'data.csv'") == \
        "data or files not shipped"
    assert corpus.cause_family("ModuleNotFoundError: No module named 'gym'") == "another package missing"
    assert corpus.cause_family("ValueError: something else") == "other"


def test_compat_copy_replaces_only_the_tensorflow_import(tmp_path):
    script = tmp_path / "s.py"
    script.write_text("import numpy as np\nimport tensorflow as tf\n    import tensorflow as tf\nx = 'import tensorflow as tf'\n")
    copy = corpus._compat_copy(script)
    assert copy.read_text().splitlines() == [
        "import numpy as np",
        corpus.COMPAT_IMPORT,
        "    " + corpus.COMPAT_IMPORT,
        "x = 'import tensorflow as tf'",
    ]


def test_run_one_tells_ok_failed_and_cut_apart(tmp_path):
    env = {"PATH": "/usr/bin:/bin"}
    (tmp_path / "ok.py").write_text("print('fine')\n")
    (tmp_path / "bad.py").write_text("raise FileNotFoundError('data.csv')\n")
    (tmp_path / "long.py").write_text("import time\nwhile True:\n    time.sleep(0.05)\n")
    (tmp_path / "long_failing.py").write_text("import sys, time\nprint('ValueError: bad', file=sys.stderr, flush=True)\n"
                                              "time.sleep(60)\n")
    assert corpus.run_one(tmp_path / "ok.py", "plain", 30, env).status == "ok"
    bad = corpus.run_one(tmp_path / "bad.py", "plain", 30, env)
    assert (bad.status, bad.cause) == ("failed", "FileNotFoundError: data.csv")
    assert corpus.run_one(tmp_path / "long.py", "plain", 1.5, env).status == "running"
    assert corpus.run_one(tmp_path / "long_failing.py", "plain", 1.5, env).status == "failed"


def test_table_counts_runs_per_mode_and_groups_causes():
    outcomes = {
        ("a/r/x.py", "graphmode"): corpus.Outcome("ok", 1.0),
        ("a/r/x.py", "plain"): corpus.Outcome("failed", 1.0, "AttributeError: module 'tensorflow' has no attribute 'Session'"),
        ("b/r/y.py", "graphmode"): corpus.Outcome("running", 40.0),
        ("b/r/y.py", "plain"): corpus.Outcome("failed", 1.0, "ModuleNotFoundError: No module named 'tensorflow.contrib'"),
    }
    table = corpus.format_table(outcomes, ["graphmode", "plain"])
    assert "2 scripts from 2 repositories" in table
    assert "graphmode runs 2/2 (100%), 1 of them cut" in table
    assert "plain     runs 0/2 (0%), 0 of them cut" in table
    assert "1 failed: tf.contrib" in table and "1 failed: TF1 API missing (plain TF2)" in table


def test_mnist_standins_are_idx_files_of_mnist_sizes(tmp_path):
    corpus.write_mnist_standins(tmp_path)
    with gzip.open(tmp_path / "train-images-idx3-ubyte.gz") as stream:
        magic, count, rows, cols = struct.unpack(">IIII", stream.read(16))
        first_hundred = np.frombuffer(stream.read(100 * rows * cols), dtype=np.uint8)
    assert (magic, count, rows, cols) == (0x0803, 60000, 28, 28)
    # digits' 0..16 scale maps onto MNIST's 0..255
    assert first_hundred.max() == 255 and first_hundred.min() == 0
    with gzip.open(tmp_path / "t10k-labels-idx1-ubyte.gz") as stream:
        magic, count = struct.unpack(">II", stream.read(8))
        labels = np.frombuffer(stream.read(), dtype=np.uint8)
    assert (magic, count, len(labels)) == (0x0801, 10000, 10000)
    assert set(labels) == set(range(10))


def test_report_merges_the_json_of_separate_runs(tmp_path, capsys):
    import json

    (tmp_path / "a.json").write_text(json.dumps([
        {"script": "o/r/x.py", "mode": "plain", "status": "failed", "seconds": 1.0,
         "cause": "AttributeError: module 'tensorflow' has no attribute 'placeholder'"}]))
    (tmp_path / "b.json").write_text(json.dumps([
        {"script": "o/r/x.py", "mode": "graphmode", "status": "ok", "seconds": 2.0, "cause": ""}]))
    assert corpus.main(["report", str(tmp_path / "a.json"), str(tmp_path / "b.json")]) == 0
    table = capsys.readouterr().out
    assert "graphmode runs 1/1 (100%)" in table and "plain     runs 0/1 (0%)" in table
    assert table.splitlines()[0].split() == ["script", "graphmode", "plain"]


def test_run_corpus_runs_scripts_side_by_side_and_each_scripts_routes_in_turn(tmp_path, monkeypatch):
    sources = [corpus.Source("o/r", "0" * 40, f"s{i}.py") for i in range(3)]
    (tmp_path / "o+r").mkdir()
    for source in sources:
        (tmp_path / "o+r" / source.path).write_text("")
    order = []

    def fake_run_one(script, mode, time_limit, env):
        order.append((script.name, mode))
        return corpus.Outcome("ok" if mode == "plain" else "failed", 0.0, f"{script.name} {mode}")

    monkeypatch.setattr(corpus, "run_one", fake_run_one)
    outcomes = corpus.run_corpus(tmp_path, sources, ["plain", "compat"], 1.0, None, jobs=2)
    assert outcomes["o/r/s1.py", "compat"].cause == "s1.py compat"
    assert outcomes["o/r/s2.py", "plain"].status == "ok" and len(outcomes) == 6
    for name in ("s0.py", "s1.py", "s2.py"):  # plain before compat for every script
        assert order.index((name, "plain")) < order.index((name, "compat"))


def test_format_verdicts_counts_how_often_the_scan_was_right():
    verdicts = {
        "o/r/a.py": ("runs as it is", "a.py: graphmode run runs it as it is"),
        "o/r/b.py": ("runs as it is", "b.py: graphmode run runs it as it is"),
        "o/r/c.py": ("stops", "c.py: graphmode run stops at line 3: tf.contrib.x (no replacement)"),
    }
    outcomes = {("o/r/a.py", "graphmode"): corpus.Outcome("ok", 1.0),
                ("o/r/b.py", "graphmode"): corpus.Outcome("failed", 1.0, "ModuleNotFoundError: No module named 'cv2'"),
                ("o/r/c.py", "graphmode"): corpus.Outcome("failed", 1.0, "RemovedSymbolError: tf.contrib.x")}
    text = corpus.format_verdicts(verdicts, outcomes)
    assert "scan says 'runs as it is': 2 scripts, 1 ran under graphmode run (the verdict was right for 1)" in text
    assert "wrong: o/r/b.py: graphmode run runs it as it is | run: failed ModuleNotFoundError" in text
    assert "scan says 'stops': 1 scripts, 0 ran under graphmode run (the verdict was right for 1)" in text
