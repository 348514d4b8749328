"""The pieces of a migration that need no TensorFlow run: renames, variable lines, the forbidden-construct check."""

from __future__ import annotations

import ast
import os

import pytest

from graphmode.migrate.feeds import string_keys
from graphmode.migrate.forbidden import forbidden_constructs
from graphmode.migrate.renames import rename_tf1_symbols
from graphmode.migrate.splice import char_column, checkpoint_calls, offset, splice_statement
from graphmode.migrate.statements import Unit
from graphmode.migrate.variables import VariableStatementError, variable_statement


def test_renames_follow_tensorflows_table_and_leave_strings_alone():
    code = 'y = tf.log(tf.random_normal([2])) + tf.arg_max(x, 1)  # tf.log stays in comments\ns = "tf.log"\n'
    assert rename_tf1_symbols(code) == (
        'y = tf.math.log(tf.random.normal([2])) + tf.argmax(x, 1)  # tf.log stays in comments\ns = "tf.log"\n'
    )


def test_names_tf2_kept_only_in_compat_v1_are_not_renamed_there():
    assert rename_tf1_symbols("tf.placeholder(tf.float32)\n") == "tf.placeholder(tf.float32)\n"
    assert rename_tf1_symbols("tf.set_random_seed(1)\n") == "tf.random.set_seed(1)\n"


def _unit(text):
    return Unit(ast.parse(text).body[0], 0, ())


def test_variables_get_their_tf1_names_and_get_variable_becomes_a_keras_initializer():
    capture = {"variables": [{"name": "layer/w", "line": 1}, {"name": "Variable", "line": 2}]}
    text = 'w = tf.get_variable("w", [2, 1], initializer=tf.truncated_normal_initializer(0.0, 0.1))\n'
    assert variable_statement(text, _unit(text), capture) == (
        "self.w = tf.Variable(tf.keras.initializers.TruncatedNormal(mean=0.0, stddev=0.1)([2, 1]), "
        "name='layer/w')\n"
    )
    weights = "\n" + 'weights = {"h": tf.Variable(tf.zeros([3]))}\n'
    unit = Unit(ast.parse(weights).body[0], 0, ())
    assert variable_statement(weights, unit, capture) == (
        "\n" + "self.weights = {\"h\": tf.Variable(tf.zeros([3]), name='Variable')}\n"
    )


def test_a_variable_statement_migrate_cannot_match_says_why():
    capture = {"variables": [{"name": "a", "line": 1}]}
    text = "a, b = tf.Variable(1.0), tf.Variable(2.0)\n"
    with pytest.raises(VariableStatementError, match="2 variable calls in the statement but 1 variables"):
        variable_statement(text, _unit(text), capture)


def test_forbidden_constructs_are_found_in_the_tree_not_in_comments_or_strings():
    source = (
        '"""Was a tf.Session script; feed_dict is gone."""\n'
        "import tensorflow as tf\n"
        "# x = tf.placeholder(tf.float32)\n"
        "sess = tf.compat.v1.Session()\n"
        "sess.run(y, feed_dict={})\n"
    )
    found = [(f.line, f.written) for f in forbidden_constructs(source)]
    assert (4, "tf.compat") in found and (4, "tf.compat.v1.Session") in found
    assert (5, "feed_dict=") in found
    assert all(line >= 4 for line, _ in found)


def test_names_only_moved_statements_bind_are_found_and_a_kept_statement_reading_them_too():
    from graphmode.migrate.statements import Role, module_reads, moved_names, walk_units

    source = ("hello = tf.constant('hi')\n"
              "x = tf.placeholder(tf.float32)\n"
              "total = x + 1.0\n"
              "total = 3\n"
              "print(hello, x.shape)\n"
              "for hello in range(2):\n    print([total for _ in range(hello)])\n"
              "def show():\n    return hello\n")
    units = list(walk_units(ast.parse(source).body))
    for unit, role, targets in zip(units, [Role.FORWARD, Role.PLACEHOLDER, Role.FORWARD, Role.KEEP],
                                   [("hello",), ("x",), ("total",), ("total",)]):
        unit.role, unit.targets = role, targets
    # `total` is bound again by a statement the program keeps; `hello` only by the loop, kept too.
    assert {name: unit.node.lineno for name, unit in moved_names(units[:5]).items()} == {"hello": 1, "x": 2}
    assert moved_names(units).keys() == {"x"}
    print_line, loop, function = units[4:]
    assert module_reads(print_line.node) == {"print", "hello", "x"}
    # A loop's own variables are its own; a function body reads when called, not here.
    assert module_reads(loop.node) == {"range", "print", "total"}
    assert module_reads(function.node) == set()


def test_tf1_names_tensorflow_2_lacks_are_found_with_their_tf2_names():
    from graphmode.migrate.renames import tf1_only_names

    code = ("w = tf.Variable(tf.random_normal([2]))  # tf.arg_max in a comment\n"
            "x = tf.placeholder(tf.float32)\n"
            "loss = tf.losses.mean_squared_error(a, b) + tf.math.log(c)\n"
            "s = 'tf.random_uniform'\n")
    # tf.losses.mean_squared_error is renamed by TensorFlow's table but TF2 has it (Keras'): it runs.
    assert tf1_only_names(code) == [(1, "tf.random_normal", "tf.random.normal"), (2, "tf.placeholder", None)]


def test_a_helper_module_beside_the_script_is_found_and_only_what_the_program_reaches_is_kept(tmp_path):
    from graphmode.migrate.forbidden import forbidden_constructs, local_modules, used_part

    (tmp_path / "libs").mkdir()
    (tmp_path / "libs" / "init.py").write_text("")
    (tmp_path / "tools.py").write_text("")
    script = "import os\nimport tools\nfrom libs.init import *\nfrom libs import init as again\nimport numpy\n"
    found = [(line, name, os.path.relpath(path, tmp_path)) for line, name, path in local_modules(script, str(tmp_path))]
    assert found == [(2, "tools", "tools.py"), (3, "libs.init", os.path.join("libs", "init.py")),
                     (4, "libs.init", os.path.join("libs", "init.py"))]
    module = ("import tensorflow as tf\n"
              "\n"
              "def weight(shape):\n"
              "    return tf.Variable(_draw(shape))\n"
              "\n"
              "def _draw(shape):\n"
              "    return tf.random_normal(shape)\n"
              "\n"
              "@staticmethod\n"
              "def inputs():\n"
              "    return tf.placeholder(tf.float32)\n")
    kept = used_part(module, "w = weight([2, 3])\n")
    assert kept.count("\n") == module.count("\n")  # the module's own line numbers
    assert "_draw(shape)" in kept and "tf.random_normal" in kept  # reached through weight
    assert "placeholder" not in kept and "staticmethod" not in kept
    assert forbidden_constructs(used_part(module, "x = inputs()\n"))[0][:2] == (11, "tf.placeholder")


def test_a_failed_proof_names_the_exception_where_it_was_raised_and_how_far_the_program_got():
    from graphmode.migrate.program_run import failed

    error = ("Traceback (most recent call last):\n"
             '  File "prog_tf2.py", line 55, in <module>\n'
             '  File "libs/utils.py", line 102, in weight_variable\n'
             "AttributeError: module 'tensorflow' has no attribute 'random_normal'\n")
    verdict = failed("lockstep", error, "after 0 training steps")
    assert verdict["summary"] == ("FAILED: AttributeError: module 'tensorflow' has no attribute 'random_normal' "
                                  "(libs/utils.py:102, after 0 training steps)")
    assert verdict["error"].endswith("(after 0 training steps)")
    assert failed("lockstep", "the program never called its training step")["summary"] == (
        "FAILED: the program never called its training step")


# AST columns count UTF-8 bytes; a script that prints Korean or Chinese labels must still be spliced at the call.
_KOREAN = "print('정확도:', sess.run(accuracy, feed_dict={X: xs}))  # 끝\n"


def test_ast_byte_columns_become_character_indices_on_non_ascii_lines():
    call = ast.parse(_KOREAN).body[0].value.args[1]
    assert call.col_offset != _KOREAN.index("sess.run")  # the byte column is past the character index
    assert char_column(_KOREAN, call.col_offset) == _KOREAN.index("sess.run")
    assert offset("x = 1\n" + _KOREAN, 2, call.end_col_offset) == len("x = 1\n") + _KOREAN.index(")  # 끝")


def test_a_call_after_non_ascii_text_is_replaced_whole():
    call = ast.parse(_KOREAN).body[0].value.args[1]
    spliced = splice_statement([_KOREAN], ast.parse(_KOREAN).body[0], [(call, "evaluate(xs)")])
    assert spliced == "print('정확도:', evaluate(xs))  # 끝\n"


def test_feed_keys_and_checkpoint_calls_after_non_ascii_text_are_rewritten_in_place():
    assert string_keys("d = {'가': 1, X: xs}\n", {"X"}) == "d = {'가': 1, \"X\": xs}\n"
    assert checkpoint_calls("print('저장'); saver.save(sess, 'm.ckpt')\n", {"saver"}) == (
        "print('저장'); saver.write('m.ckpt')\n")


def test_keyword_renames_after_non_ascii_text_land_on_the_keyword():
    code = "s = '합계'; t = tf.reduce_sum(x, reduction_indices=[1])\n"
    assert rename_tf1_symbols(code) == "s = '합계'; t = tf.reduce_sum(x, axis=[1])\n"
