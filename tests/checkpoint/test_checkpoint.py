"""Checkpoint bridge: inspect TF1/TF2 checkpoints, load TF1 into eager, save eager as TF1, safety."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest

import graphmode as gm
from graphmode import tf, v1
from graphmode.checkpoint.names import pair_names

RNG = np.random.RandomState(7)
W0 = RNG.randn(2, 3).astype(np.float32)
B0 = RNG.randn(3).astype(np.float32)
X = RNG.rand(8, 2).astype(np.float32)


def _dense_graph(optimizers=("adam",), scope="layer1"):
    """A TF1 two-variable model ``x @ weights + biases`` trained by the given TF1 optimizers."""
    graph = gm.new_graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, 2], name="x")
        with v1.variable_scope(scope):
            weights = v1.get_variable("weights", initializer=W0)
            biases = v1.get_variable("biases", initializer=B0)
        loss = tf.reduce_mean(tf.square(tf.matmul(x, weights) + biases - 1.0))
        step = v1.train.get_or_create_global_step()
        makers = {"adam": lambda: v1.train.AdamOptimizer(0.1), "momentum": lambda: v1.train.MomentumOptimizer(0.1, 0.9)}
        train = [makers[name]().minimize(loss, global_step=step) for name in optimizers]
        saver = v1.train.Saver()
    return graph, x, train, saver


def _save_trained(tmp_path, steps=3, optimizers=("adam",), name="model.ckpt", scope="layer1"):
    graph, x, train, saver = _dense_graph(optimizers, scope)
    with gm.Session(graph=graph) as session:
        session.run(v1.global_variables_initializer())
        for _ in range(steps):
            session.run(train, {x: X})
        path = saver.save(session, str(tmp_path / name))
        values = {v.op.name: session.run(v) for v in graph.get_collection(v1.GraphKeys.GLOBAL_VARIABLES)}
    return path, values


def _eager_dense(names=("layer1/kernel", "layer1/bias")):
    return {names[0]: tf.Variable(np.zeros((2, 3), np.float32)), names[1]: tf.Variable(np.zeros(3, np.float32))}


# --- inspect -----------------------------------------------------------------------------------


def test_inspect_tf1_groups_slots_under_their_variable(tmp_path):
    path, _ = _save_trained(tmp_path, optimizers=("adam", "momentum"))
    summary = gm.inspect_checkpoint(path)
    assert summary.format == "tf1" and summary.path == path
    by_name = {v.entry.name: v for v in summary.variables}
    assert sorted(by_name) == ["layer1/biases", "layer1/weights"]
    weights = by_name["layer1/weights"]
    assert (weights.entry.shape, weights.entry.dtype) == ((2, 3), "float32")
    assert {s.slot: s.name for s in weights.slots} == {
        "Adam": "layer1/weights/Adam", "Adam_1": "layer1/weights/Adam_1", "Momentum": "layer1/weights/Momentum"}
    assert all(s.shape == (2, 3) for s in weights.slots)
    assert {e.name: e.dtype for e in summary.optimizer_state} == {
        "beta1_power": "float32", "beta2_power": "float32", "global_step": "int64"}
    table = str(summary)
    assert re.search(r"^layer1/weights +\(2, 3\) +float32\n  slot Adam \[m\]: layer1/weights/Adam +\(2, 3\) +float32$",
                     table, re.M), table
    assert summary.to_json()["variables"][1]["slots"][0]["key"] == "layer1/weights/Adam"


@pytest.mark.parametrize("optimizer", [tf.keras.optimizers.Adam, tf.keras.optimizers.legacy.Adam])
def test_inspect_tf2_groups_keras_slots(tmp_path, optimizer):
    model = tf.keras.Sequential([tf.keras.layers.Dense(3, input_shape=(2,)), tf.keras.layers.Dense(1)])
    opt = optimizer(0.01)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model(X))
    opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
    path = tf.train.Checkpoint(model=model, optimizer=opt).save(str(tmp_path / "ckpt"))
    summary = gm.inspect_checkpoint(path)
    assert summary.format == "tf2"
    assert [v.entry.name for v in summary.variables] == [
        f"model/layer_with_weights-{i}/{leaf}" for i in (0, 1) for leaf in ("bias", "kernel")]
    for variable in summary.variables:
        assert variable.entry.full_name.endswith(variable.entry.name.rsplit("/", 1)[1])
        assert sorted(s.slot for s in variable.slots) == ["m", "v"]
        assert all(s.shape == variable.entry.shape for s in variable.slots)
    state = [e.name for e in summary.optimizer_state]
    assert "save_counter" in state and any(name.startswith("optimizer/") and "iter" in name for name in state)


def test_inspect_accepts_directory_and_files(tmp_path):
    path, _ = _save_trained(tmp_path, steps=0)
    for given in (tmp_path, path + ".index", path + ".data-00000-of-00001", path):
        assert gm.inspect_checkpoint(given).path == path


def test_missing_checkpoint_names_what_was_looked_for(tmp_path):
    with pytest.raises(gm.errors.CheckpointNotFoundError, match=r"no checkpoint at .*nothing.*nothing\.index"):
        gm.inspect_checkpoint(tmp_path / "nothing")
    with pytest.raises(gm.errors.CheckpointNotFoundError, match="has no 'checkpoint' state file"):
        gm.inspect_checkpoint(tmp_path)
    assert issubclass(gm.errors.CheckpointNotFoundError, tf.errors.NotFoundError)


def _damage(path: str, how: str) -> str:
    target = path + (".index" if how == "truncate-index" else ".data-00000-of-00001")
    data = bytearray(open(target, "rb").read())
    if how == "flip-data":
        data[4] ^= 0xFF
    else:
        data = data[: len(data) // 2]
    with open(target, "wb") as stream:
        stream.write(bytes(data))
    return target


@pytest.mark.parametrize("how", ["truncate-data", "flip-data", "truncate-index"])
def test_damaged_checkpoint_names_the_file_and_loads_nothing(tmp_path, how):
    path, _ = _save_trained(tmp_path)
    damaged = _damage(path, how)
    with pytest.raises(gm.errors.CheckpointCorruptError, match="truncated or corrupt") as raised:
        gm.inspect_checkpoint(path)
    assert repr(damaged) in str(raised.value)
    variables = _eager_dense()
    with pytest.raises(gm.errors.CheckpointCorruptError) as raised:
        gm.load_tf1_checkpoint(path, variables)
    assert repr(damaged) in str(raised.value)
    assert all(not np.any(v.numpy()) for v in variables.values()), "a corrupt checkpoint changed a variable"
    assert isinstance(raised.value, tf.errors.DataLossError)


# --- TF1 -> eager ------------------------------------------------------------------------------


def test_load_infers_names_and_copies_values_exactly(tmp_path):
    path, saved = _save_trained(tmp_path)
    variables = _eager_dense()
    report = gm.load_tf1_checkpoint(path, variables, strict=True)
    assert {(p.eager, p.tf1, p.rule) for p in report.pairs} == {
        ("layer1/kernel", "layer1/weights", "normalised"), ("layer1/bias", "layer1/biases", "normalised")}
    assert np.array_equal(variables["layer1/kernel"].numpy(), saved["layer1/weights"])
    assert np.array_equal(variables["layer1/bias"].numpy(), saved["layer1/biases"])
    assert not np.array_equal(saved["layer1/weights"], W0), "training should have moved the weights"


def test_load_into_keras_model_by_suffix(tmp_path):
    path, saved = _save_trained(tmp_path, scope="model/dense")
    model = tf.keras.Sequential([tf.keras.layers.Dense(3, input_shape=(2,), name="dense")])
    report = gm.load_tf1_checkpoint(path, model)
    assert {p.rule for p in report.pairs} == {"suffix"}
    assert np.array_equal(model.layers[0].kernel.numpy(), saved["model/dense/weights"])


@pytest.mark.parametrize("style", ["dict", "function"])
def test_load_with_explicit_name_map(tmp_path, style):
    path, saved = _save_trained(tmp_path)
    variables = _eager_dense(("w", "b"))
    mapping = {"w": "layer1/weights", "b": "layer1/biases"}
    name_map = mapping if style == "dict" else mapping.get
    report = gm.load_tf1_checkpoint(path, variables, name_map)
    assert {p.rule for p in report.pairs} == {"explicit"}
    assert np.array_equal(variables["b"].numpy(), saved["layer1/biases"])


def test_pair_names_rules():
    tf1 = ["Variable", "Variable_1", "net/dense_2/kernel", "layer/weights"]
    eager = ["Variable:0", "Variable:0", "dense/kernel:0", "layer/kernel:0"]
    pairs, problems = pair_names(eager, tf1)
    assert problems == []
    assert [(p.tf1, p.rule) for _, p in sorted(pairs.items())] == [
        ("Variable", "exact"), ("Variable_1", "order"), ("net/dense_2/kernel", "suffix"),
        ("layer/weights", "normalised")]
    pairs, _ = pair_names(["dense/kernel", "dense_1/kernel"], ["dense_3/kernel", "dense_4/kernel"])
    assert [(p.tf1, p.rule) for p in pairs.values()] == [("dense_3/kernel", "order"), ("dense_4/kernel", "order")]
    pairs, problems = pair_names(["kernel"], ["a/kernel", "b/kernel"])
    assert pairs == {} and problems == ["ambiguous: variables ['kernel'] and checkpoint variables ['a/kernel', "
                                        "'b/kernel']: 'kernel' ends like each of them; give name_map"]


def test_unmatched_names_and_shapes_are_one_error_and_nothing_changes(tmp_path):
    path, _ = _save_trained(tmp_path)
    variables = {"layer1/kernel": tf.Variable(np.zeros((3, 3), np.float32)),
                 "extra/scale": tf.Variable(np.zeros(1, np.float32))}
    with pytest.raises(gm.errors.CheckpointMatchError) as raised:
        gm.load_tf1_checkpoint(path, variables)
    message = str(raised.value)
    assert "nothing was changed" in message
    assert "shape mismatch: 'layer1/kernel' is (3, 3); checkpoint 'layer1/weights' (2, 3) gives (2, 3)" in message
    assert "variable 'extra/scale' has no checkpoint entry" in message
    assert "checkpoint variable 'layer1/biases' is not loaded into any variable" in message
    assert all(not np.any(v.numpy()) for v in variables.values())


def test_strict_false_leaves_checkpoint_variables_but_never_eager_ones(tmp_path):
    path, saved = _save_trained(tmp_path)
    kernel = tf.Variable(np.zeros((2, 3), np.float32), name="layer1/weights")
    report = gm.load_tf1_checkpoint(path, [kernel], strict=False)
    assert report.unused == ("layer1/biases",)
    assert np.array_equal(kernel.numpy(), saved["layer1/weights"])


def test_name_map_errors_name_the_entry(tmp_path):
    path, _ = _save_trained(tmp_path)
    with pytest.raises(gm.errors.CheckpointMatchError) as raised:
        gm.load_tf1_checkpoint(path, _eager_dense(), {"layer1/kernel": "layer1/weight", "nope": "layer1/biases"})
    message = str(raised.value)
    assert "name_map sends 'layer1/kernel' to 'layer1/weight', which is not a checkpoint variable; nearest: " \
           "'layer1/weights'" in message
    assert "name_map key 'nope' is not one of the variables" in message


def test_dtype_mismatch_is_reported(tmp_path):
    path, _ = _save_trained(tmp_path)
    variables = {"layer1/kernel": tf.Variable(np.zeros((2, 3), np.float64)),
                 "layer1/bias": tf.Variable(np.zeros(3, np.float32))}
    with pytest.raises(gm.errors.CheckpointMatchError, match="dtype mismatch: 'layer1/kernel' is float64; checkpoint "
                                                      "'layer1/weights' \\(2, 3\\) is float32"):
        gm.load_tf1_checkpoint(path, variables)


def test_tf2_checkpoint_is_refused_with_the_way_to_load_it(tmp_path):
    path = tf.train.Checkpoint(v=tf.Variable(1.0)).save(str(tmp_path / "ckpt"))
    with pytest.raises(gm.errors.CheckpointMatchError, match="object-based \\(TF2\\) checkpoint; restore it with"):
        gm.load_tf1_checkpoint(path, [tf.Variable(0.0)])


def test_slots_missing_under_another_optimizer_name(tmp_path):
    path, _ = _save_trained(tmp_path)
    with pytest.raises(gm.errors.CheckpointMatchError, match=r"layer1/weights/Momentum.*slot suffixes are \['Adam', 'Adam_1'\]"):
        gm.load_tf1_checkpoint(path, _eager_dense(), optimizer=tf.keras.optimizers.SGD(0.1, momentum=0.9))


def test_adam_with_other_betas_is_refused(tmp_path):
    path, _ = _save_trained(tmp_path)
    with pytest.raises(gm.errors.CheckpointMatchError, match="beta1_power = .* is not a power of the Keras optimizer's beta_1"):
        gm.load_tf1_checkpoint(path, _eager_dense(), optimizer=tf.keras.optimizers.Adam(0.1, beta_1=0.8))


@pytest.mark.parametrize("optimizer, match", [
    (lambda: tf.keras.optimizers.legacy.Adam(), "not a tf.keras.optimizers.Optimizer"),
    (lambda: tf.keras.optimizers.Adam(amsgrad=True), "amsgrad"),
    (lambda: tf.keras.optimizers.Nadam(), "Nadam has no TF1 counterpart"),
])
def test_unsupported_optimizers_are_refused(tmp_path, optimizer, match):
    path, _ = _save_trained(tmp_path)
    with pytest.raises(gm.errors.ConfigError, match=match):
        gm.load_tf1_checkpoint(path, _eager_dense(), optimizer=optimizer())


# --- eager -> TF1 ------------------------------------------------------------------------------


def _keras_trained(steps=3):
    kernel = tf.Variable(RNG.randn(2, 3).astype(np.float32), name="kernel")
    bias = tf.Variable(RNG.randn(3).astype(np.float32), name="bias")
    optimizer = tf.keras.optimizers.Adam(0.1, epsilon=1e-8)
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(tf.matmul(X, kernel) + bias - 1.0))
        optimizer.apply_gradients(zip(tape.gradient(loss, [kernel, bias]), [kernel, bias]))
    return kernel, bias, optimizer


def test_unmodified_tf1_graph_restores_an_eager_save_and_trains_on_identically(tmp_path):
    kernel, bias, optimizer = _keras_trained()
    graph, x, train, saver = _dense_graph(("adam",))
    path = gm.save_tf1_checkpoint(tmp_path / "eager.ckpt", [kernel, bias], reference=graph, optimizer=optimizer)
    assert tf.train.latest_checkpoint(str(tmp_path)) == path
    saved = kernel.numpy(), bias.numpy()
    with gm.Session(graph=graph) as session:
        saver.restore(session, tf.train.latest_checkpoint(str(tmp_path)))
        restored = session.run(["layer1/weights:0", "layer1/biases:0", "global_step:0"])
        assert np.array_equal(restored[0], saved[0]) and np.array_equal(restored[1], saved[1])
        assert restored[2] == 3
        session.run(train, {x: X})
        graph_next = session.run(["layer1/weights:0", "layer1/biases:0"])
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(tf.matmul(X, kernel) + bias - 1.0))
    optimizer.apply_gradients(zip(tape.gradient(loss, [kernel, bias]), [kernel, bias]))
    # One more Adam step on each side from the carried m, v and step count.
    np.testing.assert_allclose(graph_next[0], kernel.numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(graph_next[1], bias.numpy(), rtol=1e-6, atol=1e-6)


def test_round_trip_tf1_eager_tf1_is_bit_exact(tmp_path):
    path, _ = _save_trained(tmp_path, steps=5)
    variables = _eager_dense()
    optimizer = tf.keras.optimizers.Adam(0.1)
    report = gm.load_tf1_checkpoint(path, variables, optimizer=optimizer)
    assert report.iterations == 5 and len(report.slots) == 4
    graph, *_ = _dense_graph(("adam",))
    again = gm.save_tf1_checkpoint(tmp_path / "again" / "model.ckpt", variables, reference=graph, optimizer=optimizer)
    before, after = tf.train.load_checkpoint(path), tf.train.load_checkpoint(again)
    names = sorted(before.get_variable_to_shape_map())
    assert names == sorted(after.get_variable_to_shape_map())
    for name in names:
        assert np.array_equal(before.get_tensor(name), after.get_tensor(name)), name


def test_save_against_a_graph_reports_everything_its_saver_would_miss(tmp_path):
    graph, *_ = _dense_graph(("adam",))
    variables = {"layer1/kernel": tf.Variable(np.zeros((2, 4), np.float32)), "other": tf.Variable(0.0)}
    with pytest.raises(gm.errors.CheckpointMatchError) as raised:
        gm.save_tf1_checkpoint(tmp_path / "x.ckpt", variables, reference=graph)
    message = str(raised.value)
    assert "shape mismatch: 'layer1/weights' is (2, 3) in the reference graph; the value is (2, 4)" in message
    assert "variable 'other' has no name in the reference graph" in message
    assert "the reference graph variable 'layer1/biases' gets no value" in message
    assert "'layer1/weights/Adam'" in message and "'global_step'" in message
    assert os.listdir(tmp_path) == []


def test_save_without_reference_uses_names_and_refuses_collisions(tmp_path):
    with pytest.raises(gm.errors.CheckpointMatchError, match="two values for TF1 name 'w'"):
        gm.save_tf1_checkpoint(tmp_path / "x.ckpt", {"w": np.ones(2, np.float32), "v": np.ones(2, np.float32)},
                               {"v": "w"})
    with pytest.raises(gm.errors.ConfigError, match="global_step must be an int; got 1.5"):
        gm.save_tf1_checkpoint(tmp_path / "x.ckpt", {"w": np.ones(2, np.float32)}, global_step=1.5)
    path = gm.save_tf1_checkpoint(tmp_path / "x.ckpt", {"w:0": np.arange(2, dtype=np.float32)}, global_step=4)
    reader = tf.train.load_checkpoint(path)
    assert np.array_equal(reader.get_tensor("w"), [0.0, 1.0]) and reader.get_tensor("global_step") == 4


# --- safety ------------------------------------------------------------------------------------


# --- remaining error paths -----------------------------------------------------------------------


def test_state_file_naming_a_missing_checkpoint(tmp_path):
    path, _ = _save_trained(tmp_path)
    for suffix in (".index", ".data-00000-of-00001"):
        os.remove(path + suffix)
    with pytest.raises(gm.errors.CheckpointNotFoundError, match="names no checkpoint whose files exist"):
        gm.inspect_checkpoint(tmp_path)


def test_variables_must_be_variables(tmp_path):
    path, _ = _save_trained(tmp_path)
    with pytest.raises(gm.errors.ConfigError, match="got a ndarray in the list"):
        gm.load_tf1_checkpoint(path, [np.zeros(3)])


def test_name_map_conflicts_are_reported():
    _, problems = pair_names(["a", "b"], ["w"], {"a": "w", "b": "w"})
    assert problems == ["name_map sends two variables to 'w'"]
    _, problems = pair_names(["Variable:0", "Variable:0"], ["w"], {"Variable": "w"})
    assert problems == ["name_map key 'Variable' names 2 variables; give the variables as a dict with unique names"]


def test_optimizer_built_for_other_variables_is_refused(tmp_path):
    path, _ = _save_trained(tmp_path)
    optimizer = tf.keras.optimizers.Adam(0.1)
    optimizer.build([tf.Variable(np.zeros(3, np.float32))])
    variables = _eager_dense()
    with pytest.raises(gm.errors.ConfigError, match="was already built for other variables and has no slots for"):
        gm.load_tf1_checkpoint(path, variables, optimizer=optimizer)
    assert all(not np.any(v.numpy()) for v in variables.values())


def test_momentum_slots_under_a_schedule_convert_with_the_next_steps_learning_rate(tmp_path):
    path, values = _save_trained(tmp_path, optimizers=("momentum",))
    schedule = tf.keras.optimizers.schedules.ExponentialDecay(0.1, 1, 0.5)
    optimizer = tf.keras.optimizers.SGD(schedule, momentum=0.9)
    variables = _eager_dense()
    report = gm.load_tf1_checkpoint(path, variables, optimizer=optimizer)
    # Three steps taken: Keras' next step runs at 0.1 * 0.5**3, and its m is -lr * TF1's accumulator.
    assert report.iterations == 3
    slot = optimizer.momentums[optimizer._index_dict[optimizer._var_key(variables["layer1/kernel"])]]
    np.testing.assert_allclose(slot.numpy(), -0.0125 * values["layer1/weights/Momentum"], rtol=1e-6)


def test_save_with_an_optimizer_that_never_saw_the_variables(tmp_path):
    with pytest.raises(gm.errors.CheckpointMatchError, match=r"optimizer Adam has no slots for \['w'\]"):
        gm.save_tf1_checkpoint(tmp_path / "x.ckpt", {"w": tf.Variable(np.ones(2, np.float32))},
                               optimizer=tf.keras.optimizers.Adam())


def test_save_against_a_reference_checkpoint(tmp_path):
    path, saved = _save_trained(tmp_path)
    variables = {name: tf.Variable(value + 1) for name, value in
                 (("layer1/kernel", saved["layer1/weights"]), ("layer1/bias", saved["layer1/biases"]))}
    written = gm.save_tf1_checkpoint(tmp_path / "next" / "model.ckpt", variables, reference=path)
    reader = tf.train.load_checkpoint(written)
    assert sorted(reader.get_variable_to_shape_map()) == ["layer1/biases", "layer1/weights"]
    assert np.array_equal(reader.get_tensor("layer1/weights"), saved["layer1/weights"] + 1)


def test_staged_checkpoint_that_reads_back_wrong_is_not_published(tmp_path, monkeypatch):
    from graphmode.checkpoint import atomic as _checkpoint_write

    real_stage = _checkpoint_write._stage
    monkeypatch.setattr(_checkpoint_write, "_stage",
                        lambda prefix, tensors: real_stage(prefix, {k: v[:1] for k, v in tensors.items()}))
    with pytest.raises(gm.errors.CheckpointCorruptError, match="does not read back 'w' as written"):
        gm.save_tf1_checkpoint(tmp_path / "x.ckpt", {"w": np.ones(2, np.float32)})
    assert os.listdir(tmp_path) == []


@pytest.mark.filterwarnings("ignore:`tf.nn.rnn_cell.LSTMCell` is deprecated:UserWarning")
def test_recurrent_shape_mismatch_names_the_conversion(tmp_path):
    graph = gm.new_graph()
    with graph.as_default():
        v1.nn.dynamic_rnn(v1.nn.rnn_cell.LSTMCell(4), tf.zeros([1, 2, 3]), dtype=tf.float32)
        saver = v1.train.Saver()
    with gm.Session(graph=graph) as session:
        session.run(v1.global_variables_initializer())
        path = saver.save(session, str(tmp_path / "lstm.ckpt"))
    layer = tf.keras.layers.LSTM(5)
    layer.build((None, None, 3))
    with pytest.raises(gm.errors.CheckpointMatchError, match=r"shape mismatch: '\S*kernel' is \(3, 20\); checkpoint "
                                                      r".*gives \(3, 16\) \(converted from lstm cell\)"):
        gm.load_tf1_checkpoint(path, [], recurrent={"rnn/lstm_cell": layer})
