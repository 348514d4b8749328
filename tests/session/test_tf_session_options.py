"""TensorFlow's own session tests, run side by side: configs, run options and metadata, servers, timeouts.

Each test here checks one behaviour that TensorFlow's ``session_test.py`` checks
(named in the docstring), written afresh, and runs once per session class,
``tf.compat.v1.Session`` and ``graphmode.Session`` (``[tf]`` and ``[graphmode]``
in the test id): a difference shows up as a failure of the ``graphmode`` variant
only. Tests that touch variables also run with TF1's reference variables
(``use_resource=False``) besides TF2's resource variables, as TensorFlow's
v1-only tests do.

Fetches and feeds are in ``test_tf_session_fetch_feed.py``; sessions, graphs,
threads and the default session in ``test_tf_session_lifecycle.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from graphmode import tf, v1
from graphmode.session.callables import callable_options


def test_config_device_count_and_threads(graph, session_class):
    """testManyCPUs, testPerSessionThreads, testSessionInterOpThreadPool."""
    value = tf.constant(10.0)
    with session_class(config=v1.ConfigProto(device_count={"CPU": 2, "GPU": 0})) as session:
        kinds = [tf.DeviceSpec.from_string(device.name).device_type for device in session.list_devices()]
        assert kinds.count("CPU") == 2 and kinds.count("GPU") == 0
        assert session.run(value) == 10.0
    with session_class(config=v1.ConfigProto(use_per_session_threads=True)) as session:
        assert session.run(value) == 10.0
    config = v1.ConfigProto()
    config.session_inter_op_thread_pool.add()
    pool = config.session_inter_op_thread_pool.add()
    pool.num_threads, pool.global_name = 1, "graphmode_side_by_side"
    with session_class(config=config) as session:
        assert session.run([value]) == [10.0]
        assert session.run([value], options=v1.RunOptions(inter_op_thread_pool=1)) == [10.0]


def _traced() -> tuple[v1.RunOptions, v1.RunMetadata]:
    return v1.RunOptions(trace_level=v1.RunOptions.FULL_TRACE), v1.RunMetadata()


def test_make_callable_with_run_options(graph, session_class, make_variable):
    """testMakeCallableOnTensorWithRunOptions, ...OnOperation..., ...WithFeedListAndRunOptions."""
    answer = tf.constant(42.0)
    counter = make_variable(42.0)
    increment = v1.assign_add(counter, 1.0)
    placeholder = v1.placeholder(tf.float32)
    with session_class() as session:
        session.run(counter.initializer)
        options, metadata = _traced()
        assert session.make_callable(answer, accept_options=True)(options=options, run_metadata=metadata) == 42.0
        assert len(metadata.step_stats.dev_stats) > 0
        options, metadata = _traced()
        session.make_callable(increment.op, accept_options=True)(options=options, run_metadata=metadata)
        assert session.run(counter) == 43.0 and len(metadata.step_stats.dev_stats) > 0
        options, metadata = _traced()
        runner = session.make_callable(placeholder + 1.0, feed_list=[placeholder.name], accept_options=True)
        assert runner(41.0, options=options, run_metadata=metadata) == 42.0
        assert len(metadata.step_stats.dev_stats) > 0


def test_callable_from_options(graph, session_class):
    """testOptimizedMakeCallable, testOptimizedMakeCallableWithRunMetadata."""
    placeholder = v1.placeholder(tf.float32)
    plus_one = placeholder + 1.0
    with session_class() as session:
        options = callable_options()
        options.feed.append(placeholder.name)
        options.fetch.append(plus_one.name)
        for _ in range(3):
            call = session._make_callable_from_options(options)
            for _ in range(3):
                assert call(np.array(1.0, np.float32)) == [2.0]
        options.run_options.trace_level = v1.RunOptions.FULL_TRACE
        metadata = v1.RunMetadata()
        assert session._make_callable_from_options(options)(np.array(1.0, np.float32), run_metadata=metadata) == [2.0]
        assert len(metadata.step_stats.dev_stats) > 0


def test_trace_only_when_asked(graph, session_class):
    """testPerStepTrace, testRunOptionsRunMetadata: step stats need both options and metadata."""
    with tf.device("/cpu:0"), session_class() as session:
        one = tf.constant(1.0)
        options, metadata = _traced()
        session.run(one, options=None, run_metadata=None)
        session.run(one, run_metadata=metadata)
        assert not metadata.HasField("step_stats")
        session.run(one, options=options, run_metadata=None)
        assert not metadata.HasField("step_stats")
        session.run(one, options=options, run_metadata=metadata)
        assert metadata.HasField("step_stats") and len(metadata.step_stats.dev_stats) == 1


@pytest.mark.parametrize("infer_shapes", [False, True])
def test_graph_def_output_shapes(session_class, infer_shapes):
    """testInferShapesFalse, testInferShapesTrue."""
    with tf.Graph().as_default():
        tf.constant([[1, 2]])
        config = v1.ConfigProto(graph_options=v1.GraphOptions(infer_shapes=infer_shapes))
        session = session_class(config=config)
        assert ("_output_shapes" in session.graph_def.node[0].attr) is infer_shapes
        session.close()


def test_cost_model_on_its_step(graph, session_class):
    """testBuildCostModel: the cost graph comes with the step the config names, and no other."""
    config = v1.ConfigProto(allow_soft_placement=True, graph_options=v1.GraphOptions(build_cost_model=20))
    with session_class(config=config) as session:
        with tf.device("/device:GPU:0"):
            a = v1.placeholder(tf.float32, [])
            d = tf.identity(a + a) * 2.0
        with_cost = []
        for step in range(25):
            metadata = v1.RunMetadata()
            session.run(d, {a: 1.0}, options=v1.RunOptions(), run_metadata=metadata)
            if metadata.HasField("cost_graph"):
                with_cost.append(step)
        assert with_cost == [19]


@pytest.mark.parametrize("placement_logged", [False, True], ids=["quiet", "log_device_placement"])
@pytest.mark.parametrize("where", ["direct", "distributed"])
def test_partition_graphs_only_when_asked(graph, session_class, local_server, where, placement_logged):
    """testOutputPartitionGraphsDirect/Distributed, also with placement logged (which graphmode records)."""
    target = local_server.target if where == "distributed" else ""
    config = v1.ConfigProto(log_device_placement=placement_logged)
    with session_class(target, config=config) as session:
        one = tf.constant(1)
        metadata = v1.RunMetadata()
        session.run(one, options=v1.RunOptions(output_partition_graphs=True), run_metadata=metadata)
        assert len(metadata.partition_graphs) > 0
        session.run(one, run_metadata=metadata)
        assert len(metadata.partition_graphs) == 0
        options = v1.RunOptions(trace_level=v1.RunOptions.FULL_TRACE)
        session.run(one, options=options, run_metadata=metadata)
        assert len(metadata.partition_graphs) == 0 and metadata.HasField("step_stats")
        assert options == v1.RunOptions(trace_level=v1.RunOptions.FULL_TRACE)


def test_timeout_longer_than_the_run(graph, session_class):
    """testTimeoutWithShortOperations."""
    queue = tf.queue.FIFOQueue(capacity=50, dtypes=[tf.int32], shapes=[()])
    enqueue = queue.enqueue_many(tf.constant([1, 2]))
    with session_class(config=v1.ConfigProto(operation_timeout_in_ms=10000)) as session:
        for _ in range(5):
            session.run(enqueue)
        assert session.run(queue.size()) == 10


def test_placement_logged_through_a_server(session_class, capfd):
    """testDefaultLogDevicePlacement: a server's log_device_placement logs the session's ops."""
    server = tf.distribute.Server.create_local_server(config=v1.ConfigProto(log_device_placement=True))
    with tf.Graph().as_default():
        c = tf.constant(1) + tf.constant(2)
        d = tf.constant(1) + tf.constant(2)
        with session_class(server.target) as session:
            capfd.readouterr()
            assert session.run([c, d]) == [3, 3]
    logged = [line for line in capfd.readouterr().err.splitlines() if "AddV2" in line]
    assert len(logged) == 2, logged


def test_session_timeout_on_a_local_master(graph, session_class, local_server):
    """testLocalMasterSessionTimeout: the session's own timeout ends a blocked run on a grpc target."""
    dequeue = tf.queue.FIFOQueue(1, tf.float32).dequeue()
    with session_class(local_server.target, config=v1.ConfigProto(operation_timeout_in_ms=1000)) as session:
        with pytest.raises(tf.errors.DeadlineExceededError):
            session.run(dequeue)


def test_server_default_timeout(session_class):
    """testDefaultServerTimeout: without a session timeout, the server's config timeout applies."""
    server = tf.distribute.Server.create_local_server(config=v1.ConfigProto(operation_timeout_in_ms=1000))
    with tf.Graph().as_default():
        dequeue = tf.queue.FIFOQueue(1, tf.float32).dequeue()
        with session_class(server.target) as session, pytest.raises(tf.errors.DeadlineExceededError):
            session.run(dequeue)


@pytest.mark.parametrize("where", ["direct", "distributed"])
def test_graph_building_error_is_raised(graph, session_class, local_server, where):
    """testBuildGraphErrorDirect/Dist: an invalid graph fails at run time with the runtime's message."""
    data = v1.placeholder(tf.float32, [])
    total = tf.raw_ops.Enter(data=data, frame_name="foo_1") + tf.raw_ops.Enter(data=data, frame_name="foo_2")
    with session_class(local_server.target if where == "distributed" else "") as session:
        with pytest.raises(tf.errors.OpError, match="has inputs from different frames"):
            session.run(total, {data: 1.0})


@pytest.mark.parametrize("where", ["direct", "distributed"])
def test_function_added_after_a_run(graph, session_class, local_server, where):
    """testAddFunctionToSession, testAddFunctionToGrpcSession."""

    @tf.function
    def plus_one(x):
        return x + 1

    one = tf.constant(1.0)
    with session_class(local_server.target if where == "distributed" else "") as session:
        assert session.run(one) == 1.0
        assert session.run(plus_one(one)) == 2.0


def test_optimizer_options_reach_the_session(session_class):
    """testOptimizerOptions: a session made without config starts from tf.config's."""
    before = tf.config.optimizer.get_experimental_options()
    tf.config.optimizer.set_experimental_options({"min_graph_nodes": -1})
    try:
        with tf.Graph().as_default():
            session = session_class()
            assert session._config.graph_options.rewrite_options.min_graph_nodes == -1
            session.close()
    finally:
        tf.config.optimizer.set_experimental_options({"min_graph_nodes": before.get("min_graph_nodes", 0)})

