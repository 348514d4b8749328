"""The TF1 API module, its import rules and the in-code switch.

The module and the import resolution are tested in this process without
switching it (``enable_tf1`` disables v2 behaviour for the whole process, which
would change every other test here). The switch itself runs in a subprocess.
"""

from __future__ import annotations

import inspect
import os
import sys
import sysconfig
import textwrap

import preimported
import pytest

import graphmode
from graphmode import tf, v1
from graphmode.errors import RemovedModuleError, RemovedSymbolError, ScriptError
from graphmode.legacy.api import TF1, import_tf1, is_user_module
from graphmode.legacy.removed import describe_removed, find_removed, symbol_as_written
from graphmode.legacy.runner import run_script


def _caller_line(offset: int) -> str:
    """``file:line`` of the caller's line ``offset`` lines below the call (the failing expression)."""
    caller = inspect.currentframe().f_back
    return f"{caller.f_code.co_filename}:{caller.f_lineno + offset}"


def test_sessions_are_graphmodes_and_still_tf1_sessions():
    assert issubclass(TF1.Session, graphmode.Session) and issubclass(TF1.Session, v1.Session)
    assert issubclass(TF1.InteractiveSession, graphmode.InteractiveSession)
    assert issubclass(TF1.InteractiveSession, v1.InteractiveSession)


def test_names_come_from_compat_v1_and_compat_points_back():
    assert TF1.placeholder is v1.placeholder
    assert TF1.train.GradientDescentOptimizer is v1.train.GradientDescentOptimizer
    assert TF1.GraphKeys is v1.GraphKeys
    assert TF1.compat.v1 is TF1
    assert TF1.compat.v2 is tf.compat.v2
    assert TF1.python is sys.modules["tensorflow.python"]  # internal modules stay reachable
    assert "placeholder" in dir(TF1) and "placeholder" in TF1.__all__


def test_contrib_fails_naming_the_whole_symbol_the_line_and_the_replacement():
    tf = TF1  # the alias a script would use
    where = _caller_line(2)
    with pytest.raises(RemovedSymbolError) as caught:
        tf.contrib.distributions.Normal(0.0, 1.0)
    message = str(caught.value)
    assert message.startswith(f"{where}: tf.contrib.distributions.Normal was dropped from TensorFlow 2")
    assert "use tensorflow probability (pip install tensorflow-probability; tfp.distributions) instead" in message.lower()
    assert isinstance(caught.value, AttributeError)  # `except AttributeError` and hasattr keep working
    assert not hasattr(TF1.contrib, "distributions")


def test_removed_name_in_a_submodule_uses_the_scripts_alias():
    tensorflow = TF1
    with pytest.raises(RemovedSymbolError, match=r"tensorflow\.train\.SummaryWriter was dropped .* tf\.compat\.v1\.summary\.FileWriter"):
        tensorflow.train.SummaryWriter("/tmp")


def test_removed_name_without_a_replacement_says_so():
    with pytest.raises(RemovedSymbolError, match=r"tf\.contrib\.crf\.crf_log_likelihood .* no drop-in replacement: tf\.contrib\.crf"):
        tf = TF1
        tf.contrib.crf.crf_log_likelihood  # noqa: B018 - the attribute access is what fails


def test_removed_name_reached_through_getattr_is_named_from_the_lookup():
    with pytest.raises(RemovedSymbolError, match=r": tf\.estimator was dropped"):
        getattr(TF1, "estimator")  # noqa: B009 - no dotted chain on the line to read


def test_estimator_says_it_was_removed_in_2_16_and_what_to_use():
    tf = TF1
    with pytest.raises(RemovedSymbolError) as caught:
        tf.estimator.DNNClassifier(hidden_units=[10])
    assert "tf.estimator.DNNClassifier was dropped" in str(caught.value)
    assert "removed in TensorFlow 2.16" in str(caught.value) and "Use tf.keras.Model" in str(caught.value)
    with pytest.raises(RemovedModuleError, match=r"tensorflow\.estimator was dropped .* removed in TensorFlow 2\.16"):
        import_tf1("tensorflow", ("estimator",))


def test_unknown_name_is_a_plain_attribute_error():
    with pytest.raises(AttributeError) as caught:
        TF1.frobnicate  # noqa: B018
    assert not isinstance(caught.value, RemovedSymbolError)
    assert "module 'tensorflow' (graphmode's TF1 API: tf.compat.v1) has no attribute 'frobnicate'" in str(caught.value)


@pytest.mark.parametrize(
    ("name", "fromlist", "expected"),
    [
        ("tensorflow", (), lambda: TF1),
        ("tensorflow.compat.v1", (), lambda: TF1),  # import tensorflow.compat.v1 as tf walks .compat.v1 on TF1
        ("tensorflow.compat", ("v1",), lambda: TF1.compat),
        ("tensorflow.compat.v1", ("Session", "placeholder"), lambda: TF1),
        ("tensorflow", ("keras",), lambda: TF1),
        ("tensorflow.keras", ("layers",), lambda: TF1.keras),
        ("tensorflow.python.framework", ("ops",), lambda: sys.modules["tensorflow.python.framework"]),
    ],
)
def test_import_forms_resolve(name, fromlist, expected):
    assert import_tf1(name, fromlist) is expected()


def test_import_of_removed_module_names_the_import_and_its_line():
    where = _caller_line(2)
    with pytest.raises(RemovedModuleError) as caught:
        import_tf1("tensorflow.examples.tutorials", ("word2vec",))  # graphmode keeps only the mnist tutorial
    assert str(caught.value).startswith(f"{where}: tensorflow.examples.tutorials.word2vec was dropped")
    assert "tutorial helpers were not shipped with TensorFlow 2" in str(caught.value)
    assert isinstance(caught.value, ImportError)
    with pytest.raises(RemovedModuleError, match=r"tensorflow\.contrib\.crf .* no maintained successor"):
        import_tf1("tensorflow.contrib", ("crf",))
    with pytest.raises(RemovedModuleError, match=r"tensorflow\.contrib\.crf"):
        import_tf1("tensorflow.contrib.crf", ())


def test_import_of_a_module_that_never_existed_is_pythons_error():
    with pytest.raises(ModuleNotFoundError) as caught:
        import_tf1("tensorflow.no_such_module", ())
    assert not isinstance(caught.value, RemovedModuleError)


def test_only_user_code_gets_the_tf1_module(tmp_path):
    # Imported here, after graphmode's runtime: tf_keras imported first would load TensorFlow
    # before the legacy-Keras switch (Keras 3's tf.compat.v1.layers lacks dense).
    import tf_keras

    assert is_user_module({"__name__": "__main__", "__file__": tf_keras.__file__})
    assert is_user_module({"__name__": "helper", "__file__": str(tmp_path / "helper.py")})
    assert is_user_module(None)  # exec / python -c
    assert not is_user_module({"__name__": "tf_keras", "__file__": tf_keras.__file__})
    assert not is_user_module({"__name__": "json", "__file__": os.path.join(sysconfig.get_paths()["stdlib"], "json", "__init__.py")})
    assert not is_user_module({"__name__": "graphmode.scan.scanner", "__file__": graphmode.__file__})


@pytest.mark.parametrize(
    ("line", "name", "parent", "expected"),
    [
        ("w = tf.contrib.layers.xavier_initializer()", "contrib", "", ("tf.contrib.layers.xavier_initializer", "contrib.layers.xavier_initializer")),
        ("x = tf.compat.v1.train.SummaryWriter(d)", "SummaryWriter", "train", ("tf.compat.v1.train.SummaryWriter", "train.SummaryWriter")),
        ("cell = tf . contrib . rnn . LSTMCell(4)", "contrib", "", ("tf.contrib.rnn.LSTMCell", "contrib.rnn.LSTMCell")),
        ("m = getattr(tf, 'contrib')", "contrib", "", None),
    ],
)
def test_symbol_as_written(line, name, parent, expected):
    assert symbol_as_written(line, name, parent) == expected


def test_removed_table_uses_the_longest_listed_prefix():
    assert find_removed("contrib.layers.xavier_initializer").replacement == "tf.compat.v1.glorot_uniform_initializer()"
    assert find_removed("contrib.layers.repeat").path == "contrib.layers"
    assert find_removed("contrib.nonexistent.thing").path == "contrib"
    assert find_removed("nn.relu") is None
    assert describe_removed("tf.mul", find_removed("mul")) == (
        "tf.mul was dropped from TensorFlow 2 and tf.compat.v1 has no equivalent. Use tf.multiply instead."
    )


def test_every_replacement_in_the_table_exists():
    # The advice must name real symbols: check each tf.* replacement resolves.
    from graphmode.legacy.removed import REMOVED

    for entry in REMOVED.values():
        if entry.replacement is None or not entry.replacement.startswith("tf."):
            continue
        dotted = entry.replacement.split("(")[0].split(" ")[0]
        value = tf
        for part in dotted.split(".")[1:]:
            assert hasattr(value, part), f"{entry.path}: replacement {dotted} does not exist (no {part!r})"
            value = getattr(value, part)


def test_run_script_checks_paths_before_switching(tmp_path):
    with pytest.raises(ScriptError, match=r"cannot run 'missing\.py': no such file"):
        run_script("missing.py")
    with pytest.raises(ScriptError, match=r"it is a directory"):
        run_script(str(tmp_path))
    script = tmp_path / "s.py"
    script.write_text("print('never run')\n")
    with pytest.raises(ScriptError, match=r"cannot write the placement report to .*no_folder.*does not exist"):
        run_script(str(script), placement=str(tmp_path / "no_folder" / "p.json"))
    assert tf.executing_eagerly()  # nothing was switched


SWITCH_PROGRAM = textwrap.dedent(
    """
    import sys
    import graphmode.tf1 as tf1          # importing the module switches the process
    print("eager", tf1.executing_eagerly())
    import tensorflow as tf              # user code now gets the TF1 module
    import tensorflow.compat.v1 as tf_v1
    import graphmode
    print("same module", tf is tf_v1 is graphmode.enable_tf1(), tf1.Session is tf.Session)
    print("libraries keep TF2", sys.modules["tensorflow"] is not tf, hasattr(sys.modules["tensorflow"], "placeholder"))
    x = tf1.placeholder(tf1.float32, [None, 2], name="x")
    w = tf.get_variable("w", [2, 1], initializer=tf.ones_initializer())
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        print("result", sess.run(tf.matmul(x, w), {x: [[1.0, 2.0]]}).tolist())
        print("graphmode session", isinstance(sess, graphmode.Session))
    try:
        tf1.contrib.crf.crf_decode
    except AttributeError as error:
        print("contrib:", error)
    """
)


def test_in_code_switch_gives_the_tf1_api(tmp_path):
    program = tmp_path / "switch.py"
    program.write_text(SWITCH_PROGRAM)
    result = preimported.run([sys.executable, str(program)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:5] == [
        "eager False",
        "same module True True",
        "libraries keep TF2 True False",
        "result [[3.0]]",  # 1*1 + 2*1
        "graphmode session True",
    ], result.stdout
    contrib_line = next(n for n, line in enumerate(SWITCH_PROGRAM.splitlines(), 1) if "tf1.contrib" in line)
    assert lines[5].startswith(f"contrib: {program}:{contrib_line}: tf1.contrib.crf.crf_decode was dropped"), lines[5]
    assert "no maintained successor" in lines[5]
