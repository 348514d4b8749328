"""graphmode.Session against tf.compat.v1.Session over generated sequences of calls (Hypothesis stateful testing).

One function builds the same graph twice; a ``tf.compat.v1.Session`` runs one
twin and a ``graphmode.Session`` the other. Hypothesis drives both through the
same random sequence of runs (fetch lists, tuples, dicts, single fetches, by
``run`` and by ``eval``), training steps (GradientDescent and Adam), assigns,
feeds of varied dtypes and shapes, ``make_callable`` and calls of what it
made, in-place edits of returned arrays, graph growth after runs,
``set_shape``, ``prevent_feeding`` / ``prevent_fetching`` and ``finalize``.
Every returned value is kept; at the end of each sequence *all* of them are
compared bit for bit (type, dtype, shape, bytes; NaN-aware through the bytes),
and every exception of graphmode's must be an instance of TensorFlow's class
(and graphmode must raise exactly when TensorFlow does). A value graphmode
shared with TensorFlow's buffers, or a check it decided once and did not
repeat, shows up as a difference.

Deliberate differences (also in the README's table), each checked where it occurs:

* ``REFUSED``: TensorFlow changes a fed value on the way in (a fraction truncated
  into ``int32``, ``2**40`` wrapped); graphmode raises :class:`graphmode.errors.FeedError`.
  The machine checks that TensorFlow's data really changed, then feeds graphmode
  the values TensorFlow used, so both sides continue from the same state.
* ``ONE_ARRAY_PER_FETCH``: TensorFlow hands out one array object for a tensor
  fetched twice in one call (``run([c, c])``); graphmode gives each its own. The
  machine checks graphmode's arrays share no memory and keeps TensorFlow's
  repeats as copies, so an in-place edit of one is compared alike.

The default run is bounded (``DEFAULT`` below: 4 s per variable kind on the 2-CPU machine at load 3, 15-20 s at load 9); ``-m slow``
runs ``LONG``. The number of sequences and steps run is printed (see ``pytest -rA``).
"""

from __future__ import annotations

import itertools
import time
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule, run_state_machine_as_test
from same_values import assert_identical

import graphmode as gm
from graphmode import tf, v1

SIDES = ("tensorflow", "graphmode")
# The default run does not shrink a failure (that can take minutes); it prints the sequence and a
# @reproduce_failure blob, and the slow tier shrinks.
DEFAULT = {"max_examples": 10, "stateful_step_count": 25, "phases": [Phase.explicit, Phase.reuse, Phase.generate]}
LONG = {"max_examples": 300, "stateful_step_count": 60}
COUNTS = {"sequences": 0, "steps": 0, "refused": 0, "one_array_per_fetch": 0}

# Which placeholders a fetch needs fed.
NEEDS = {
    "x": {"x"}, "y": {"x"}, "loss": {"x"}, "gd": {"x"}, "adam": {"x"}, "s": {"s"}, "c*s": {"s"}, "i*2": {"i"},
    "assign_w": {"w_in"},
}
FEEDABLE = ("x", "s", "i", "w_in")
# Fetches that change state. In one run TensorFlow orders an update and an unrelated read of the same
# variable as it likes, so an update is fetched alone (a training step with its loss, as TF1 loops do).
UPDATES = {"count": ["count"], "assign_w": ["assign_w"], "gd": ["gd", "loss"], "adam": ["adam", "loss"], "init": ["init"]}


def build(graph: tf.Graph, use_resource: bool) -> tuple[dict, dict]:
    """The twin: (fetchable name -> tensor/op/variable, placeholder name -> placeholder)."""
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, 2], name="x")
        s = v1.placeholder(tf.float32, [], name="s")
        i = v1.placeholder(tf.int32, [None], name="i")
        w_in = v1.placeholder(tf.float32, [2, 1], name="w_in")
        w = v1.get_variable("w", initializer=np.array([[0.5], [-1.0]], np.float32), use_resource=use_resource)
        b = v1.get_variable("b", initializer=np.zeros([1], np.float32), use_resource=use_resource)
        counter = v1.get_variable("counter", initializer=np.float32(0), use_resource=use_resource)
        c = tf.constant([1.0, 2.0, 3.0], name="c")
        y = tf.matmul(x, w) + b
        loss = tf.reduce_mean(tf.square(y - 1.0), name="loss")
        rows = np.arange(8, dtype=np.float32).reshape(4, 2)
        batch = v1.data.make_one_shot_iterator(tf.data.Dataset.from_tensor_slices(rows).repeat(3)).get_next()
        fetchable = {
            "x": x, "s": s, "w": w, "w.value": w.value(), "w.read": w.read_value(), "b": b.value(), "c": c,
            "c*s": c * s, "i*2": i * 2, "y": y, "loss": loss, "batch": batch, "counter": counter.value(),
            "count": v1.assign_add(counter, 1.0), "assign_w": v1.assign(w, w_in),
            "gd": v1.train.GradientDescentOptimizer(0.05).minimize(loss, var_list=[w, b]),
            "adam": v1.train.AdamOptimizer(0.01).minimize(loss, var_list=[w, b]),
        }
        fetchable["init"] = v1.global_variables_initializer()
    return fetchable, {"x": x, "s": s, "i": i, "w_in": w_in}


# ---------------------------------------------------------------- feeds

# float64 values: most round on their way into float32 (which TensorFlow and graphmode accept alike).
_x_values = st.floats(-2, 2)


@st.composite
def x_feeds(draw):
    rows = draw(st.integers(0, 4)) if draw(st.integers(0, 9)) == 0 else draw(st.integers(1, 4))
    shape = draw(st.sampled_from([(rows, 2)] * 8 + [(rows, 3), (rows,)]))
    values = np.array(draw(st.lists(_x_values, min_size=int(np.prod(shape)), max_size=int(np.prod(shape)))))
    values = values.reshape(shape)
    form = draw(st.sampled_from(["float32", "float64", "int32", "int64", "list", "object"]))
    if form in ("int32", "int64"):
        return np.round(values).astype(form)
    if form == "list":
        return values.tolist()
    return values.astype(object) if form == "object" else values.astype(form)


@st.composite
def s_feeds(draw):
    value = draw(st.one_of(st.floats(-3, 3, width=32), st.integers(-5, 5)))
    form = draw(st.sampled_from(["python", "float32", "float64", "0-d", "int32"]))
    if form == "python":
        return value
    if form == "0-d":
        return np.array(value, np.float32)
    return np.float32(value) if form == "float32" else np.float64(value) if form == "float64" else np.int32(int(value))


@st.composite
def i_feeds(draw):
    size = draw(st.integers(0, 3))
    kind = draw(st.sampled_from(["ints"] * 6 + ["whole floats", "fractions", "huge"]))
    if kind == "huge":  # REFUSED: TensorFlow wraps it into int32
        return np.array([2**40 + draw(st.integers(0, 9))] * max(size, 1))
    values = draw(st.lists(st.integers(-50, 50), min_size=size, max_size=size))
    if kind == "whole floats":
        return np.array(values, np.float64)
    if kind == "fractions":  # REFUSED when a value has a fraction: TensorFlow truncates it
        return np.array(values, np.float64) + draw(st.sampled_from([0.0, 0.5, 0.25]))
    form = draw(st.sampled_from(["int32", "int64", "int8", "list", "object"]))
    if form == "list":
        return values
    return np.array(values, dtype=object) if form == "object" else np.array(np.clip(values, -50, 50), form)


w_in_feeds = st.lists(st.floats(-2, 2, width=32), min_size=2, max_size=2).map(lambda v: np.array(v, np.float32).reshape(2, 1))
FEED_STRATEGIES = {"x": x_feeds(), "s": s_feeds(), "i": i_feeds(), "w_in": w_in_feeds}


def _copy_feed(value):
    return value.copy() if isinstance(value, np.ndarray) else list(value) if isinstance(value, list) else value


# ---------------------------------------------------------------- outcomes


def _outcome(action):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return action(), None
    except Exception as error:  # noqa: BLE001 - the outcome is the exception
        return None, error


def _leaves(value) -> list:
    if isinstance(value, dict):
        return [leaf for key in sorted(value) for leaf in _leaves(value[key])]
    if isinstance(value, (list, tuple)):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]


def _same_exception(tf_error, gm_error, where: str) -> None:
    assert gm_error is not None, f"{where}: TensorFlow raised {tf_error!r}, graphmode did not"
    assert tf_error is not None, f"{where}: graphmode raised {gm_error!r}, TensorFlow did not"
    assert isinstance(gm_error, type(tf_error)), f"{where}: {gm_error!r} is no {type(tf_error).__name__}"
    assert type(gm_error) is type(tf_error) or isinstance(gm_error, gm.errors.GraphmodeError), f"{where}: {gm_error!r}"


def _tensorflow_changed(feed_values: dict, placeholders: dict) -> dict | None:
    """The values TensorFlow actually fed, if its conversion changed any of ``feed_values``; else None."""
    changed, used = False, {}
    for name, value in feed_values.items():
        dtype = placeholders[name].dtype.as_numpy_dtype
        converted = np.asarray(value).astype(dtype)
        given = np.asarray(value, dtype=object).ravel().tolist()
        if dtype != np.float32 and given != converted.ravel().tolist():
            changed = True
        used[name] = converted
    return used if changed else None


# ---------------------------------------------------------------- the machine


class TwinSessions(RuleBasedStateMachine):
    """Two sessions on twin graphs, fed the same calls; every outcome kept for the final comparison."""

    use_resource = True

    def __init__(self) -> None:
        super().__init__()
        COUNTS["sequences"] += 1
        self.graphs = {side: gm.new_graph() for side in SIDES}
        built = {side: build(self.graphs[side], self.use_resource) for side in SIDES}
        self.fetchable = {side: built[side][0] for side in SIDES}
        self.placeholders = {side: built[side][1] for side in SIDES}
        self.sessions = {"tensorflow": v1.Session(graph=self.graphs["tensorflow"]),
                         "graphmode": gm.Session(graph=self.graphs["graphmode"])}
        for side in SIDES:
            self.sessions[side].run(self.fetchable[side]["init"])
        self.callables: list[tuple[dict, list[str]]] = []
        self.kept: list[tuple[str, tuple, tuple]] = []  # (what was called, TF outcome, graphmode outcome)
        self.prevented_feeds: set[str] = set()
        self.shaped = False
        self.grown = 0
        self.needs = dict(NEEDS)
        self.iterator_reads = {"batch"}
        self.events: list[str] = []  # what the sequence did, for the failure message

    # -- helpers

    def _fetches(self, side: str, names: list[str], form: str):
        elements = [self.fetchable[side][name] for name in names]
        if form == "single":
            return elements[0]
        if form == "dict":
            return {f"k{index}_{name}": element for index, (name, element) in enumerate(zip(names, elements))}
        return elements if form == "list" else tuple(elements)

    def _draw_feeds(self, data, names: list[str]) -> dict:
        needed = set().union(*(self.needs.get(name, set()) for name in names))
        # A run missing a feed fails while it runs, and whether the iterator moved on first is up to
        # TensorFlow's executor: such a run never reads the iterator.
        reads_iterator = any(name in self.iterator_reads for name in names)
        if data.draw(st.integers(0, 14), label="drop a needed feed") == 0 and needed and not reads_iterator:
            needed.discard(data.draw(st.sampled_from(sorted(needed))))
        if data.draw(st.integers(0, 9), label="feed an extra placeholder") == 0:
            needed.add(data.draw(st.sampled_from(FEEDABLE)))
        return {name: data.draw(FEED_STRATEGIES[name], label=f"feed {name}") for name in sorted(needed)}

    def _feed_dict(self, side: str, values: dict, by_name: bool) -> dict:
        placeholders = self.placeholders[side]
        return {(placeholders[name].name if by_name else placeholders[name]): _copy_feed(value)
                for name, value in values.items()}

    def _both(self, what: str, action, feed_values: dict | None = None, retry=None) -> None:
        """Runs ``action(side)`` on both sides and keeps the outcomes (see the module docstring)."""
        COUNTS["steps"] += 1
        self.events.append(f"  call {len(self.kept)}: {what}")
        expected, tf_error = _outcome(lambda: action("tensorflow", feed_values))
        got, gm_error = _outcome(lambda: action("graphmode", feed_values))
        refused = isinstance(gm_error, gm.errors.FeedError) and (tf_error is None or not isinstance(gm_error, type(tf_error)))
        if refused and feed_values:
            used = _tensorflow_changed(feed_values, self.placeholders["tensorflow"])
            assert used is not None, f"{what}: graphmode refused {feed_values!r}, which TensorFlow feeds unchanged: {gm_error}"
            COUNTS["refused"] += 1
            # REFUSED; then graphmode gets the values TensorFlow used, and must do what TensorFlow did with them.
            got, gm_error = _outcome(lambda: action("graphmode", used))
        if tf_error is None and gm_error is None:
            expected = self._own_tensorflow_repeats(expected)
            leaves = [leaf for leaf in _leaves(got) if isinstance(leaf, np.ndarray)]
            for one, other in itertools.combinations(leaves, 2):
                assert not np.shares_memory(one, other), f"{what}: graphmode returned two views of one buffer"
        self.kept.append((what, (expected, tf_error), (got, gm_error)))

    @staticmethod
    def _own_tensorflow_repeats(result):
        # ONE_ARRAY_PER_FETCH: TensorFlow's repeated array objects become copies, as graphmode's are.
        seen: set[int] = set()
        repeated = False
        for leaf in _leaves(result):
            if isinstance(leaf, np.ndarray):
                repeated |= id(leaf) in seen
                seen.add(id(leaf))
        if not repeated:
            return result
        COUNTS["one_array_per_fetch"] += 1
        seen.clear()

        def own(leaf):
            if isinstance(leaf, np.ndarray) and id(leaf) in seen:
                return leaf.copy()
            seen.add(id(leaf))
            return leaf

        return tf.nest.map_structure(own, result)

    # -- rules

    def _draw_names(self, data, most: int) -> list[str]:
        if data.draw(st.integers(0, 3), label="an update") == 0:
            return list(UPDATES[data.draw(st.sampled_from(sorted(UPDATES)))])
        reads = sorted(set(self.fetchable["graphmode"]) - set(UPDATES))
        return data.draw(st.lists(st.sampled_from(reads), min_size=1, max_size=most), label="reads")

    @rule(data=st.data())
    def run(self, data):
        names = self._draw_names(data, 4)
        form = data.draw(st.sampled_from(["single", "list", "tuple", "dict"]))
        entry = data.draw(st.sampled_from(["run", "run", "run by name", "eval"])) if form == "single" else "run"
        feed_values = self._draw_feeds(data, names)
        by_name = entry == "run by name"

        def action(side, values):
            session, fetches = self.sessions[side], self._fetches(side, names, form)
            feed_dict = self._feed_dict(side, values, by_name)
            if entry == "eval" and isinstance(fetches, tf.Tensor):
                return fetches.eval(feed_dict, session=session)
            if entry == "eval" and isinstance(fetches, tf.Operation):
                return fetches.run(feed_dict, session=session)
            return session.run(fetches, feed_dict)

        self._both(f"{entry} {form} {names} feeding {sorted(feed_values)}", action, feed_values)

    @rule(data=st.data())
    def train(self, data):
        optimizer = data.draw(st.sampled_from(["gd", "adam"]))
        feed_values = {"x": data.draw(x_feeds())}
        self._both(f"train {optimizer}", lambda side, values: self.sessions[side].run(
            [self.fetchable[side][optimizer], self.fetchable[side]["loss"]], self._feed_dict(side, values, False)),
            feed_values)

    @rule(data=st.data())
    def make_callable(self, data):
        names = self._draw_names(data, 3)
        form = data.draw(st.sampled_from(["single", "list", "tuple", "dict"]))
        feed_list = sorted(set().union(*(self.needs.get(name, set()) for name in names)))
        with_list = bool(feed_list) or data.draw(st.booleans())
        made = {}

        def action(side, values):
            made[side] = self.sessions[side].make_callable(
                self._fetches(side, names, form),
                [self.placeholders[side][name] for name in feed_list] if with_list else None,
            )

        self._both(f"make_callable {form} {names} feed_list={feed_list if with_list else None}", action)
        if len(made) == 2:
            self.callables.append((made, feed_list))

    @precondition(lambda self: self.callables)
    @rule(data=st.data())
    def call_callable(self, data):
        made, feed_list = data.draw(st.sampled_from(self.callables))
        feed_values = {name: data.draw(FEED_STRATEGIES[name]) for name in feed_list}
        self._both(f"call a callable feeding {feed_list}", lambda side, values: made[side](
            *(_copy_feed(values[name]) for name in feed_list)), feed_values)

    @precondition(lambda self: self.kept)
    @rule(data=st.data())
    def edit_a_returned_array(self, data):
        index = data.draw(st.integers(0, len(self.kept) - 1))
        what, (expected, tf_error), (got, gm_error) = self.kept[index]
        if tf_error is not None or gm_error is not None:
            return
        pairs = [(one, other) for one, other in zip(_leaves(expected), _leaves(got))
                 if isinstance(one, np.ndarray) and isinstance(other, np.ndarray) and one.size]
        if not pairs:
            return
        one, other = data.draw(st.sampled_from(pairs))
        fill = data.draw(st.sampled_from([0, 3, -7]))
        COUNTS["steps"] += 1
        self.events.append(f"  edit a returned array of call {index} to {fill}")
        one[...] = fill
        other[...] = fill

    @precondition(lambda self: not self.graphs["graphmode"].finalized)
    @rule(data=st.data())
    def grow_the_graph(self, data):
        base = data.draw(st.sampled_from(["w.value", "c", "loss", "c*s", "batch", "counter"]))
        offset = data.draw(st.floats(-2, 2, width=32))
        self.grown += 1
        name = f"grown{self.grown}"
        for side in SIDES:
            with self.graphs[side].as_default():
                self.fetchable[side][name] = tf.add(self.fetchable[side][base], offset, name=name)
        self.needs[name] = self.needs.get(base, set())
        if base in self.iterator_reads:
            self.iterator_reads.add(name)
        self.events.append(f"  grow: {name} = {base} + {offset}")
        COUNTS["steps"] += 1

    @precondition(lambda self: not self.shaped)
    @rule()
    def set_shape(self):
        self.shaped = True
        for side in SIDES:
            self.placeholders[side]["x"].set_shape([3, 2])
        self.events.append("  x.set_shape([3, 2])")
        COUNTS["steps"] += 1

    @rule(name=st.sampled_from(["s", "i"]))
    def prevent_feeding(self, name):
        for side in SIDES:
            self.graphs[side].prevent_feeding(self.placeholders[side][name])
        self.events.append(f"  prevent_feeding({name})")
        COUNTS["steps"] += 1

    @rule(data=st.data())
    def prevent_fetching(self, data):
        name = data.draw(st.sampled_from(sorted(set(self.fetchable["graphmode"]) - {"init", "w"})))
        for side in SIDES:
            element = self.fetchable[side][name]
            self.graphs[side].prevent_fetching(element if isinstance(element, tf.Operation) else element.op)
        self.events.append(f"  prevent_fetching({name})")
        COUNTS["steps"] += 1

    @precondition(lambda self: not self.graphs["graphmode"].finalized and len(self.kept) > 5)
    @rule()
    def finalize(self):
        for side in SIDES:
            self.graphs[side].finalize()
        self.events.append("  finalize")
        COUNTS["steps"] += 1

    def teardown(self) -> None:
        for session in self.sessions.values():
            session.close()
        mine = [leaf for _, _, (got, _) in self.kept for leaf in _leaves(got) if isinstance(leaf, np.ndarray)]
        for one, other in itertools.combinations(mine, 2):
            assert not np.shares_memory(one, other), "two arrays graphmode returned share memory"
        for number, (what, (expected, tf_error), (got, gm_error)) in enumerate(self.kept):
            where = f"call {number} ({what})"
            try:
                if tf_error is None and gm_error is None:
                    assert_identical(expected, got, where)
                else:
                    _same_exception(tf_error, gm_error, where)
            except AssertionError as error:
                raise AssertionError(f"{error}\nthe sequence:\n" + "\n".join(self.events)) from None


class TwinSessionsReferenceVariables(TwinSessions):
    use_resource = False


MACHINES = {"resource variables": TwinSessions, "reference variables": TwinSessionsReferenceVariables}


def _run(machine, budget: dict, record_property) -> None:
    for key in COUNTS:
        COUNTS[key] = 0
    started = time.perf_counter()
    run_state_machine_as_test(machine, settings=settings(
        **budget, deadline=None, suppress_health_check=list(HealthCheck), print_blob=True))
    line = (f"{machine.__name__}: {COUNTS['sequences']} sequences, {COUNTS['steps']} steps in "
            f"{time.perf_counter() - started:.1f} s; refused (TensorFlow changes the feed) {COUNTS['refused']}, "
            f"one array per fetch {COUNTS['one_array_per_fetch']}")
    print(line)
    record_property("stateful_differential", line)
    assert COUNTS["steps"] >= COUNTS["sequences"], line


@pytest.mark.parametrize("variables", MACHINES)
def test_twin_sessions_agree_over_generated_call_sequences(variables, record_property):
    _run(MACHINES[variables], DEFAULT, record_property)


@pytest.mark.slow
@pytest.mark.parametrize("variables", MACHINES)
def test_twin_sessions_agree_over_long_call_sequences(variables, record_property):
    _run(MACHINES[variables], LONG, record_property)
