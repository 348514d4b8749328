"""The run-call side of a rewrite, without TensorFlow: feed dicts, fetch structures, compound blocks."""

from __future__ import annotations

import ast

import pytest

from graphmode.migrate.blocks import refine_block
from graphmode.migrate.calls import find_run_calls
from graphmode.migrate.feeds import rebound_names, recorded_feeds, string_keys
from graphmode.migrate.fetches import FetchError, expression_name, read_fetches
from graphmode.migrate.statements import Role, Unit


def _capture(**extra):
    """A recording as capture.py writes it: x and y placeholders, w a variable, loss and train."""
    capture = {
        "bindings": {"x": "x:0", "y": "y:0", "w": "w", "loss": "Mean:0", "train": "GradientDescent",
                     "logits": "add:0", "doubled": "mul:0", "weights['h']": "h"},
        "placeholders": {"x": {"dtype": "float32", "shape": [None, 2]}, "y": {"dtype": "float32", "shape": [None]}},
        "variables": [{"name": "w", "line": 3}, {"name": "h", "line": 4}],
        "train_ops": {"GradientDescent": {"loss": "Mean:0", "line": 9}},
        "call_sites": [],
        "ops": {},
        "unmigratable_ops": [],
    }
    capture.update(extra)
    return capture


def test_placeholder_keys_become_strings_in_literals_and_subscripts_but_nowhere_else():
    text = ('feed = {x: xs, y: ys, "x": 1, other: 2}\n'
            "feed[y] = 0.5  # feed[x] stays in comments\n"
            "table[other] = feed\n")
    assert string_keys(text, {"x", "y"}) == (
        'feed = {"x": xs, "y": ys, "x": 1, other: 2}\n'
        'feed["y"] = 0.5  # feed[x] stays in comments\n'
        "table[other] = feed\n"
    )


def test_the_recording_says_which_parameters_a_named_feed_holds():
    capture = _capture()
    assert recorded_feeds({"feeds": ["y:0", "x:0"]}, capture) == (("y", "x"), "")
    names, why = recorded_feeds({"feeds": ["add:0"]}, capture)
    assert names == () and why.startswith("it feeds logits (add:0), which is not a placeholder: TF1 let a feed "
                                          "replace a computed tensor's value"), why
    in_a_dict = _capture(bindings={"inputs['x']": "x:0"})
    assert recorded_feeds({"feeds": ["x:0"]}, in_a_dict)[1].startswith(
        "it feeds the placeholder inputs['x'] (x:0), which no plain name held when the call ran")
    twice = _capture(bindings=dict(_capture()["bindings"], inputs="x:0"))
    assert "held by several names (x, inputs)" in recorded_feeds({"feeds": ["x:0"]}, twice)[1]
    assert "never ran while migrate recorded" in recorded_feeds(None, capture)[1]


def _calls(source, sites):
    capture = _capture(source=source, call_sites=sites)
    return find_run_calls(ast.parse(source), capture)


def test_a_run_fed_a_named_dict_passes_it_as_keyword_arguments():
    source = "import tensorflow as tf\nsess = tf.Session()\nsess.run([train, loss], feed_dict=feed)\n"
    [call] = _calls(source, [{"line": 3, "fetches": ["GradientDescent", "Mean:0"], "feeds": ["x:0", "y:0"]}])
    assert call.problem == ""
    assert call.signature.feeds == ("x", "y")
    assert call.replacement("train") == "train(**feed)"
    source = "import tensorflow as tf\nsess = tf.Session()\nv = sess.run(loss, {**feed, y: ys})\n"
    [call] = _calls(source, [{"line": 3, "fetches": ["Mean:0"], "feeds": ["x:0", "y:0"]}])
    assert call.replacement("compute_loss") == 'numpy(compute_loss(**{**feed, "y": ys}))'


def test_a_literal_feeding_a_tensor_that_is_not_a_placeholder_is_refused_with_its_name():
    source = "import tensorflow as tf\nsess = tf.Session()\nsess.run(loss, feed_dict={logits: z})\n"
    [call] = _calls(source, [{"line": 3, "fetches": ["Mean:0"], "feeds": ["add:0"]}])
    assert call.signature is None
    assert call.problem.startswith("it feeds logits (add:0), which is not a placeholder")


def test_nested_and_dict_fetches_keep_their_structure_and_take_kinds_from_the_recording():
    source = 'import tensorflow as tf\nsess = tf.Session()\nr = sess.run({"z": [w, tf.argmax(logits, 1)], "a": loss}, {x: xs})\n'
    # Session.run flattens a dict in key order: "a" (loss) before "z" (w, the argmax).
    [call] = _calls(source, [{"line": 3, "fetches": ["Mean:0", "w", "ArgMax:0"], "feeds": ["x:0"]}])
    signature = call.signature
    assert signature.fetches == ("w", "tf.argmax(logits, 1)", "loss")
    assert signature.kinds == ("variable", "tensor", "tensor")
    assert signature.return_expression() == "{'z': [tf.identity(w), tf.argmax(logits, 1)], 'a': loss}"
    assert signature.function_name() == "compute_w_argmax_logits_loss"
    assert set(signature.tensor_names) >= {"logits", "loss"}
    assert call.replacement("f") == "numpy(f(x=xs))"


def test_reads_of_variables_alone_need_no_function_even_in_a_tuple():
    source = "import tensorflow as tf\nsess = tf.Session()\na, b = sess.run((w, weights['h']))\n"
    [call] = _calls(source, [{"line": 3, "fetches": ["w", "h"], "feeds": []}])
    assert not call.signature.needs_function
    assert call.replacement(None) == "[w.numpy(), weights['h'].numpy()]"


@pytest.mark.parametrize(("fetch", "recorded", "message"), [
    ("loss * scale", ["mul_1:0"], "reads the Python value 'scale'"),
    ("tf.group(train)", ["group_deps"], "builds a graph operation in the run call"),
    ("[loss, logits]", ["Mean:0"], "fetched 1 graph objects when recorded, its source names 2"),
    ("{w: loss}", ["Mean:0"], "a dict of fetches whose keys are not constants"),
])
def test_fetches_migrate_cannot_express_say_why(fetch, recorded, message):
    node = ast.parse(fetch, mode="eval").body
    with pytest.raises(FetchError, match=message.replace("(", r"\(")):
        read_fetches(node, fetch, _capture(), {"fetches": recorded}, {"tf"})


def test_expression_functions_are_named_after_what_they_compute():
    assert expression_name("a + b") == "a_plus_b"
    assert expression_name("tf.argmax(y, 1)") == "argmax_y"
    assert expression_name("-tf.reduce_sum(w) * 2") == "negative_reduce_sum_w_times_2"
    assert expression_name("3 + 4") == "value_3_plus_4"


_BLOCK = '''if args.variant == "a":
    x = tf.placeholder(tf.float32, [None, 2], name="x")
    w = tf.Variable(tf.zeros([2, 1]), name="w")
    loss = tf.reduce_mean(tf.matmul(x, w))
else:
    x = tf.placeholder(tf.float32, shape=[None, 3])
    w = tf.get_variable("w", [3, 1], initializer=tf.zeros_initializer())
    loss = tf.reduce_sum(tf.matmul(x, w))
'''


def _refined(source, capture, op_lines):
    unit = Unit(ast.parse(source).body[0], 0, ())
    unit.role, unit.reason = Role.UNMIGRATABLE, "a compound statement (if) that builds graph ops"
    refine_block(unit, source, source.splitlines(keepends=True), capture, op_lines)
    return unit


def test_an_if_that_makes_placeholders_variables_and_forward_ops_is_split_by_kind_keeping_its_if():
    capture = _capture(variables=[{"name": "w", "line": 3}])
    op_lines = {2: [{"type": "Placeholder"}], 3: [{"type": "VariableV2"}, {"type": "Fill"}],
                4: [{"type": "MatMul"}, {"type": "Mean"}]}
    unit = _refined(_BLOCK, capture, op_lines)
    assert unit.role is Role.FORWARD and unit.reason == ""
    parts = unit.block
    assert parts.specs == ('if args.variant == "a":\n    x_spec = tf.TensorSpec([None, 2], tf.float32)\n'
                           "else:\n    x_spec = tf.TensorSpec([None, 3], tf.float32)\n")
    # The branch that never ran names its variable by its own source: "w", as TF1 would have.
    assert parts.variables == ('if args.variant == "a":\n    self.w = tf.Variable(tf.zeros([2, 1]), name=\'w\')\n'
                               "else:\n    self.w = tf.Variable(tf.keras.initializers.Zeros()([3, 1]), name='w')\n")
    assert parts.forward == ('if args.variant == "a":\n    loss = tf.reduce_mean(tf.matmul(x, w))\n'
                             "else:\n    loss = tf.reduce_sum(tf.matmul(x, w))\n")
    assert parts.placeholders == ("x",) and parts.variable_targets == ("w",)
    assert parts.forward_targets == ("loss",) and {"args", "x", "w"} <= parts.forward_reads


def test_a_block_building_only_forward_ops_moves_whole():
    source = "for _ in range(3):\n    doubled = doubled * 2.0\n"
    unit = _refined(source, _capture(), {2: [{"type": "Mul"}]})
    assert unit.role is Role.FORWARD and unit.block is None and "doubled" in unit.targets


@pytest.mark.parametrize(("source", "op_lines", "reason"), [
    ("if a:\n    w = tf.Variable(tf.zeros([2]))\nelse:\n    w = tf.Variable(tf.ones([2]))\n",
     {2: [{"type": "VariableV2"}]}, "line 4 never ran while recording and names no variable (name=...)"),
    ("if a:\n    loss = tf.reduce_sum(tf.Variable(tf.zeros([2])))\n",
     {2: [{"type": "VariableV2"}]}, "line 2 both creates a variable and computes with it"),
    ("while a:\n    w = tf.Variable(tf.zeros([2]))\n",
     {2: [{"type": "VariableV2"}]}, "a while loop that makes variables or placeholders"),
    ("for i in range(2):\n    w = tf.Variable(tf.zeros([2]))\n    if i:\n        break\n",
     {2: [{"type": "VariableV2"}]}, "a for loop that makes variables, and it has a break or continue"),
    ("if a:\n    train = tf.train.AdamOptimizer(0.1).minimize(loss)\n",
     {2: [{"type": "ApplyAdam"}]}, "a compound statement (if) that makes the training op"),
])
def test_blocks_migrate_cannot_move_keep_a_reason_that_says_why(source, op_lines, reason):
    capture = _capture(variables=[{"name": "w", "line": 2}], bindings={"w": "w", "train": "GradientDescent"})
    unit = _refined(source, capture, op_lines)
    assert unit.role is Role.UNMIGRATABLE
    assert reason in unit.reason


def test_a_literal_feed_is_checked_against_what_the_call_fed_when_it_ran_not_the_names_last_binding():
    # `a` held a placeholder when the call ran and a computed tensor by the script's end.
    capture = _capture(bindings=dict(_capture()["bindings"], a="Add_1:0"),
                       placeholders=dict(_capture()["placeholders"], Placeholder={"dtype": "float32", "shape": [3]}))
    source = "import tensorflow as tf\nsess = tf.Session()\nv = sess.run(loss, {a: [1.0, 2.0, 3.0]})\n"
    capture.update(source=source, call_sites=[{"line": 3, "fetches": ["Mean:0"], "feeds": ["Placeholder:0"]}])
    [call] = find_run_calls(ast.parse(source), capture)
    assert call.problem == "" and call.signature.feeds == ("a",)
    capture["call_sites"][0]["feeds"] = ["Add_1:0"]
    [call] = find_run_calls(ast.parse(source), capture)
    assert call.problem.startswith("it feeds a (Add_1:0), which is not a placeholder")


def test_a_placeholder_name_the_script_also_binds_to_something_else_is_not_taken_for_a_feed_key():
    tree = ast.parse("x = tf.placeholder(tf.float32)\ny = tf.placeholder(tf.float32)\n"
                     "for x in range(3):\n    table[x] = x\ndef feed(k):\n    return {y: k}\n")
    rebound = rebound_names(tree)
    assert "x" in rebound and "k" in rebound and "y" not in rebound


def test_a_sparse_placeholder_is_refused_with_its_line_not_a_crash():
    from graphmode.migrate.script_plan import ScriptPlan

    # tf.sparse_placeholder builds three Placeholder ops and its name holds a SparseTensor, no graph name.
    source = ('import tensorflow as tf\nids = tf.sparse_placeholder(tf.float32, name="ids")\n'
              "loss = tf.reduce_sum(tf.sparse_tensor_dense_matmul(ids, w))\n")
    sparse = {f"ids/{part}": {"type": "Placeholder", "line": 2} for part in ("indices", "values", "shape")}
    capture = _capture(bindings={"loss": "Sum:0"}, ops=dict(sparse, Sum={"type": "Sum", "line": 3}),
                       placeholders={name: {"dtype": "float32", "shape": [None]} for name in sparse},
                       variables=[], train_ops={})
    plan = ScriptPlan(source, capture)
    [unit] = [unit for unit in plan.units if unit.node.lineno == 2]
    assert unit.role is Role.UNMIGRATABLE, unit.role
    assert unit.reason.startswith("tf.sparse_placeholder: a sparse feed (tf.SparseTensorValue) cannot be recorded")
    assert plan.placeholders == {}
