"""The pieces of a migration that need no TensorFlow run: renames, variable lines, the forbidden-construct check."""

from __future__ import annotations

import ast

import pytest

from graphmode.migrate.forbidden import forbidden_constructs
from graphmode.migrate.renames import rename_tf1_symbols
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

