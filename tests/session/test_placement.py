"""Device placement as data, in the user's op names."""

from __future__ import annotations

import json

import numpy as np
import pytest

import graphmode as gm
from graphmode import tf, v1
from graphmode.session.placement import PlacementRecord, records_from_run_metadata

needs_no_gpu = pytest.mark.skipif(gm._runtime.has_gpu(), reason="checks the fallback on a machine without a GPU")
CPU = "/job:localhost/replica:0/task:0/device:CPU:0"


@pytest.fixture
def gpu_pinned(graph):
    a = tf.constant([1.0, 2.0], name="a")
    b = tf.constant([3.0, 4.0], name="b")
    x = v1.placeholder(tf.float32, [2], name="x")
    with tf.device("/gpu:0"):
        gpu_add = tf.add(a, b, name="gpu_add")
        gpu_mul = tf.multiply(gpu_add, x, name="gpu_mul")
    cpu_sum = tf.reduce_sum(gpu_mul, name="cpu_sum")
    return x, cpu_sum


@needs_no_gpu
def test_soft_placement_falls_back_to_cpu_and_the_report_says_so(gpu_pinned):
    x, cpu_sum = gpu_pinned
    with gm.Session(graph=x.graph, allow_soft_placement=True, log_device_placement=True) as session:
        assert session.run(cpu_sum, {x: [1.0, 1.0]}) == 10.0
        report = session.placement
    by_name = {record.op_name: record for record in report.records}
    assert {"gpu_add", "gpu_mul", "cpu_sum", "x"} <= set(by_name)
    assert by_name["gpu_mul"] == PlacementRecord("gpu_mul", "Mul", "/device:GPU:0", CPU)
    assert by_name["gpu_mul"].fell_back
    assert by_name["gpu_add"].requested_device == "/device:GPU:0"
    assert not by_name["cpu_sum"].fell_back
    assert {record.op_name for record in report.fallbacks} == {"gpu_add", "gpu_mul"}
    # No Grappler-made names leak into the report.
    assert not any("/_" in record.op_name or record.op_name.startswith("_") for record in report.records)
    table = str(report)
    assert "gpu_mul" in table and "<- fell back" in table and "2 op(s) asked for a device" in table


@needs_no_gpu
def test_without_soft_placement_the_error_names_op_and_device(gpu_pinned):
    x, cpu_sum = gpu_pinned
    with gm.Session(graph=x.graph, allow_soft_placement=False) as session:
        with pytest.raises(gm.errors.DevicePlacementError) as caught:
            session.run(cpu_sum, {x: [1.0, 1.0]})
    message = str(caught.value)
    assert "asks for device '/device:GPU:0', which does not exist here" in message
    assert "op 'gpu_add' (AddV2)" in message or "op 'gpu_mul' (Mul)" in message
    assert "allow_soft_placement=True" in message
    assert isinstance(caught.value, tf.errors.InvalidArgumentError)


def test_placement_is_recorded_only_when_asked(graph):
    total = tf.reduce_sum(tf.constant([1.0, 2.0]), name="total")
    with gm.Session(graph=graph) as session:
        session.run(total)
        assert session.placement.records == ()
        assert "no placement recorded" in str(session.placement)
        session.run(total, record_placement=True)
        assert session.placement.device_of("total").endswith("CPU:0")
        session.clear_placement()
        assert session.placement.records == ()


def test_placement_report_serialises(graph):
    x = v1.placeholder(tf.float32, [None], name="x")
    doubled = tf.multiply(x, 2.0, name="doubled")
    with gm.Session(graph=graph, record_placement=True) as session:
        np.testing.assert_array_equal(session.run(doubled, {x: [1.0]}), [2.0])
        report = session.placement
    rows = json.loads(report.to_json())
    assert {"op_name": "doubled", "op_type": "Mul", "requested_device": "", "assigned_device": CPU, "fell_back": False} in rows
    with pytest.raises(KeyError, match="op 'missing' is not in the placement report; recorded ops: .*doubled"):
        report.device_of("missing")


def test_grappler_names_map_back_to_user_ops(graph):
    x = v1.placeholder(tf.float32, [2], name="x")
    with tf.device("/gpu:0"):
        tf.add(x, 1.0, name="gpu_add")
    dense_bias = tf.nn.bias_add(tf.zeros([1, 2]), tf.zeros([2]), name="dense/BiasAdd")
    metadata = v1.RunMetadata()
    partition = metadata.partition_graphs.add()
    for name, op in [
        ("gpu_add/_0__cf__0", "Const"),  # constant folding
        ("_arg_x_0_0", "_Arg"),  # the feed of x:0
        ("_retval_gpu_add_0_0", "_Retval"),  # runtime-only fetch node
        ("fused_somewhere", "_MklFusedMatMul"),  # renamed node that keeps its origin in debug info
    ]:
        node = partition.node.add(name=name, op=op, device=CPU)
        if name == "fused_somewhere":
            node.experimental_debug_info.original_node_names.append(dense_bias.op.name)
    records = records_from_run_metadata(graph, metadata)
    assert [(r.op_name, r.op_type, r.requested_device) for r in records] == [
        ("gpu_add", "AddV2", "/device:GPU:0"),
        ("x", "Placeholder", ""),
        ("dense/BiasAdd", "BiasAdd", ""),
    ]
