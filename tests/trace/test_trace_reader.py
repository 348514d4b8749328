"""Reading a trace: what `Trace` gives, and a clear TraceError for each way a trace folder can be wrong."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from graphmode.errors import TraceError
from graphmode.trace import Trace

SCRIPTS = Path(__file__).parent / "scripts"


def _copy(trace: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(trace, copy)
    return copy


def _edit_index(folder: Path, change) -> None:
    path = folder / "trace.json"
    index = json.loads(path.read_text())
    change(index)
    path.write_text(json.dumps(index))


def test_regression_trace_holds_the_steps_the_script_took(regress_trace):
    trace = Trace(regress_trace)
    assert (trace.steps, trace.complete, trace.ended) == (30, True, "script-end")
    assert trace.feed_names == ("x_data:0", "y_target:0")
    assert trace.train_op_name == "GradientDescent"
    assert trace.loss_name == "Square:0"
    assert trace.optimizer.kind == "GradientDescentOptimizer"
    assert trace.optimizer.hyperparameters == {"learning_rate": 0.02}
    assert [(v.name, v.role, v.trainable) for v in trace.variables] == [("A", "variable", True)]
    assert trace.state_steps == tuple(range(31))
    script = (SCRIPTS / "regress_a.py").read_text().splitlines()
    line = next(number for number, text in enumerate(script, 1) if "sess.run([train_step, loss]" in text)
    assert trace.call_sites == (f"{SCRIPTS / 'regress_a.py'}:{line}",) * 30
    assert trace.seeds["graph"] == 0 and trace.seeds["numpy"] == [0]
    # The script feeds x ~ Normal(1, 0.1) drawn from np.random.seed(0), target 10.
    x_vals = np.random.RandomState(0).normal(1, 0.1, 100).astype(np.float32)
    for step in (1, 17, 30):
        feeds = trace.feeds(step)
        assert feeds["y_target:0"].tolist() == [10.0]
        assert feeds["x_data:0"][0] in x_vals
        # Recompute the step from the state before it: loss (x*A - y)^2, then A -= 0.02 * 2x(xA - y).
        a = trace.state(step - 1)["A"]
        x, y = feeds["x_data:0"], feeds["y_target:0"]
        assert trace.loss(step) == pytest.approx(float(((x * a - y) ** 2)[0]), rel=1e-6)
        expected = a - np.float32(0.02) * 2 * x * (x * a - y)
        np.testing.assert_allclose(trace.state(step)["A"], expected, rtol=1e-6)


def test_values_handed_out_are_the_callers(regress_trace):
    trace = Trace(regress_trace)
    state = trace.state(3)
    state["A"][0] = 123.0
    feeds = trace.feeds(3)
    feeds["x_data:0"][0] = 0.0
    assert trace.state(3)["A"][0] != 123.0
    assert trace.feeds(3)["x_data:0"][0] != 0.0


def test_meta_graph_holds_the_graph_and_its_collections(regress_trace):
    meta = Trace(regress_trace).meta_graph()
    names = {node.name for node in meta.graph_def.node}
    assert {"x_data", "y_target", "A", "GradientDescent"} <= names
    assert "trainable_variables" in meta.collection_def


def test_missing_folder(tmp_path):
    with pytest.raises(TraceError, match=r"no trace at '.*nowhere': the folder does not exist"):
        Trace(tmp_path / "nowhere")


def test_a_file_instead_of_the_folder(regress_trace):
    with pytest.raises(TraceError, match=r"trace.json' is a file; a trace is the folder `graphmode run --record DIR` "
                                         r"wrote \(the one holding trace.json\)"):
        Trace(regress_trace / "trace.json")


def test_folder_without_index(tmp_path):
    (tmp_path / "steps").mkdir()
    with pytest.raises(TraceError, match=r"no trace index '.*trace.json': the folder holds no trace.json"):
        Trace(tmp_path)


def test_truncated_index(regress_trace, tmp_path):
    copy = _copy(regress_trace, tmp_path)
    text = (copy / "trace.json").read_text()
    (copy / "trace.json").write_text(text[: len(text) // 2])
    with pytest.raises(TraceError, match=r"trace index '.*trace.json' is not valid JSON"):
        Trace(copy)


def test_newer_format_version(regress_trace, tmp_path):
    copy = _copy(regress_trace, tmp_path)
    _edit_index(copy, lambda index: index.update(version=2))
    with pytest.raises(TraceError, match=r"has format version 2; this graphmode reads version 1 and older: upgrade"):
        Trace(copy)


def test_hand_edited_field(regress_trace, tmp_path):
    copy = _copy(regress_trace, tmp_path)
    _edit_index(copy, lambda index: index.update(steps_recorded="30"))
    with pytest.raises(TraceError, match=r"trace.json' is not a valid graphmode-trace index: field steps_recorded: "
                                         r"'30' is not of type 'integer'"):
        Trace(copy)


def test_hand_edited_file_list(regress_trace, tmp_path):
    copy = _copy(regress_trace, tmp_path)
    _edit_index(copy, lambda index: index.update(files=[f for f in index["files"] if f["path"] != "graph.meta"]))
    with pytest.raises(TraceError, match=r"contradicts itself: files does not list graph.meta; it was edited by hand"):
        Trace(copy)


def test_hand_edited_step_count(regress_trace, tmp_path):
    copy = _copy(regress_trace, tmp_path)
    _edit_index(copy, lambda index: index.update(steps_recorded=31))
    with pytest.raises(TraceError, match=r"contradicts itself: steps_recorded is 31 but steps lists"):
        Trace(copy)


def test_missing_step_file(regress_trace, tmp_path):
    copy = _copy(regress_trace, tmp_path)
    (copy / "steps" / "step-000007.npz").unlink()
    with pytest.raises(TraceError, match=r"trace file '.*step-000007.npz' is missing"):
        Trace(copy)


def test_truncated_state_file(regress_trace, tmp_path):
    copy = _copy(regress_trace, tmp_path)
    data = next((copy / "state").glob("step-000004.data-*"))
    data.write_bytes(data.read_bytes()[:-2])
    with pytest.raises(TraceError, match=r"step-000004.data-00000-of-00001' has \d+ bytes; .* recorded \d+: it was "
                                         r"changed or truncated"):
        Trace(copy)


def test_changed_step_file(regress_trace, tmp_path):
    copy = _copy(regress_trace, tmp_path)
    path = copy / "steps" / "step-000002.npz"
    data = bytearray(path.read_bytes())
    data[-30] ^= 0xFF  # same size, other bytes
    path.write_bytes(bytes(data))
    trace = Trace(copy)
    trace.feeds(1)
    with pytest.raises(TraceError, match=r"step-000002.npz' was changed after recording \(its SHA-256 differs"):
        trace.feeds(2)


def test_step_out_of_range(regress_trace):
    trace = Trace(regress_trace)
    with pytest.raises(TraceError, match=r"has no recorded step for step 31; it has recorded steps for steps 1..30"):
        trace.feeds(31)
    with pytest.raises(TraceError, match=r"has no state for step -1"):
        trace.state(-1)


def test_docs_describe_every_index_field():
    from graphmode.trace.format import INDEX_SCHEMA

    page = (Path(__file__).resolve().parents[2] / "docs" / "trace.md").read_text()
    documented = set(re.findall(r"^\| `(\w+)` \|", page.split("## The trace format")[1], re.M))
    assert documented == set(INDEX_SCHEMA["properties"])
    assert set(INDEX_SCHEMA["required"]) <= documented


def test_a_step_cut_short_inside_the_recorder_leaves_a_readable_trace(regress_trace, tmp_path):
    # Ctrl-C can land while the recorder writes step 3: its step file and state exist, the count says 2.
    from graphmode.trace.writer import TraceWriter

    original = Trace(regress_trace)
    index = original.index
    index.update(steps=index["steps"][:3], state_steps=[], files=[], steps_recorded=2, complete=False,
                 ended="interrupted")
    writer = TraceWriter(str(tmp_path), index, max_bytes=1 << 20)
    writer.write_graph((regress_trace / "graph.meta").read_bytes())
    writer.write_state(0, original.state(0))
    for step in (1, 2, 3):
        writer.write_step(step, original.feeds(step), original.fetched(step), {})
        writer.write_state(step, original.state(step))
    writer.truncate(2)
    index["steps"] = index["steps"][:2]
    writer.flush(final=True)
    trace = Trace(tmp_path)
    assert (trace.steps, trace.state_steps) == (2, (0, 1, 2))
    assert trace.state(2)["A"].tobytes() == original.state(2)["A"].tobytes()
    assert not (tmp_path / "steps" / "step-000003.npz").exists()
