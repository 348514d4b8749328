"""Parameter-server clusters: description, TF_CONFIG, device filters, placement by task.

Nothing here starts a server in the pytest process (TensorFlow cannot stop one);
the live in-process cluster runs in tests/scripts/cluster_local.py, in a
subprocess of its own.
"""

from __future__ import annotations

import json
import os
import socket
import sys

import numpy as np
import preimported
import pytest

import graphmode as gm
from graphmode import tf, v1
from graphmode.session.placement import records_from_run_metadata

SCRIPTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts")
PS0 = "/job:ps/replica:0/task:0/device:CPU:0"
WORKER1 = "/job:worker/replica:0/task:1/device:CPU:0"


def test_describe_cluster_gives_every_task_its_own_loopback_port():
    cluster = gm.cluster.describe_cluster(ps=2, workers=3)
    addresses = cluster.ps + cluster.workers
    assert len(addresses) == 5 and len(set(addresses)) == 5
    assert all(address.startswith("127.0.0.1:") for address in addresses)
    spec = cluster.cluster_spec()
    assert spec.num_tasks("ps") == 2 and spec.num_tasks("worker") == 3
    assert spec.task_address("worker", 2) == cluster.workers[2]
    assert cluster.target("worker", 1) == f"grpc://{cluster.workers[1]}"
    assert cluster.tasks()[0] == gm.cluster.TaskId("ps", 0) and cluster.tasks()[-1].device == "/job:worker/task:2"
    # The ports were free when picked: each can be bound on loopback right now.
    for address in addresses:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", int(address.rsplit(":", 1)[1])))


def test_the_same_port_on_different_hosts_is_fine():
    cluster = gm.cluster.cluster_from_addresses(["ps0.example:2222", "10.0.0.1:2222"], ["w0.example:2222", "[::2]:2222"])
    assert cluster.workers == ("w0.example:2222", "[::2]:2222")  # kept as written: TensorFlow gets them as given


def test_tf_config_round_trip_and_environment(monkeypatch):
    cluster = gm.cluster.describe_cluster(ps=1, workers=2)
    text = cluster.tf_config("worker", 1)
    assert json.loads(text) == {"cluster": cluster.as_dict(), "task": {"type": "worker", "index": 1}}
    assert gm.cluster.cluster_from_tf_config(text) == (cluster, gm.cluster.TaskId("worker", 1))
    monkeypatch.setenv("TF_CONFIG", cluster.tf_config("ps", 0))
    assert gm.cluster.cluster_from_tf_config() == (cluster, gm.cluster.TaskId("ps", 0))


def test_session_config_filters_devices_to_the_ps_and_the_task_itself():
    cluster = gm.cluster.cluster_from_addresses(["ps0:2222"], ["w0:2222", "w1:2222"])
    base = v1.ConfigProto(allow_soft_placement=True)
    config = cluster.session_config("worker", 1, base, intra_op_threads=1, inter_op_threads=1, timeout=2.5)
    assert list(config.device_filters) == ["/job:ps", "/job:worker/task:1"]
    assert config.intra_op_parallelism_threads == 1 and config.inter_op_parallelism_threads == 1
    assert config.operation_timeout_in_ms == 2500 and config.allow_soft_placement
    assert list(base.device_filters) == []  # the caller's proto is left alone


def test_device_setter_deals_variables_round_robin_over_ps_and_ops_to_the_worker():
    cluster = gm.cluster.cluster_from_addresses(["ps0:1", "ps1:1"], ["w0:1", "w1:1"])
    graph = tf.Graph()
    with graph.as_default(), v1.device(cluster.device_setter(1)):
        first, second, third = (v1.get_variable(name, [1]) for name in ("a", "b", "c"))
        total = tf.add_n([first, second, third], name="total")
    assert [variable.device for variable in (first, second, third)] == [
        "/job:ps/task:0", "/job:ps/task:1", "/job:ps/task:0"]
    assert total.op.device == "/job:worker/task:1"


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: gm.cluster.describe_cluster(ps=0), "at least one 'ps' task; got ps=0"),
        (lambda: gm.cluster.describe_cluster(workers=-1), "at least one 'worker' task; got worker=-1"),
        (lambda: gm.cluster.cluster_from_addresses([], ["w:1"]), "job 'ps' needs a non-empty list"),
        (lambda: gm.cluster.cluster_from_addresses("ps:1", ["w:1"]), "job 'ps' needs a non-empty list"),
        (lambda: gm.cluster.cluster_from_addresses(["ps"], ["w:1"]), "/job:ps/task:0 has address 'ps'; expected 'host:port'"),
        (lambda: gm.cluster.cluster_from_addresses(["ps:99999"], ["w:1"]), "its port must be in 1..65535"),
        (lambda: gm.cluster.cluster_from_addresses(["h:1"], ["w:2", "h:1"]),
         "address 'h:1' is given to both /job:ps/task:0 and /job:worker/task:1"),
        (lambda: gm.cluster.free_ports(0), "count must be >= 1; got 0"),
        # One port written two ways is still one port: the second server could not start.
        (lambda: gm.cluster.cluster_from_addresses(["127.0.0.1:2222"], ["localhost:2222"]),
         "addresses '127.0.0.1:2222' (/job:ps/task:0) and 'localhost:2222' (/job:worker/task:0) are the same "
         "port 2222 on this machine; every task needs its own port"),
        (lambda: gm.cluster.cluster_from_addresses(["ps0:2222"], ["w0:1", "PS0:02222"]),
         "addresses 'ps0:2222' (/job:ps/task:0) and 'PS0:02222' (/job:worker/task:1) are the same port 2222 on ps0"),
        (lambda: gm.cluster.cluster_from_addresses(["[::1]:7"], ["0.0.0.0:7"]),
         "addresses '[::1]:7' (/job:ps/task:0) and '0.0.0.0:7' (/job:worker/task:0) are the same port 7 on this "
         "machine"),
        (lambda: gm.cluster.cluster_from_addresses(["[2001:db8::1]:7"], ["[2001:DB8:0::1]:7"]),
         "addresses '[2001:db8::1]:7' (/job:ps/task:0) and '[2001:DB8:0::1]:7' (/job:worker/task:0) are the same "
         "port 7 on 2001:db8::1"),
    ],
)
def test_bad_descriptions_name_the_culprit(build, message):
    with pytest.raises(gm.errors.ClusterError) as caught:
        build()
    assert message in str(caught.value)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("use", "message"),
    [
        (lambda c: c.task("chief", 0), "job 'chief' is not in this cluster; its jobs are 'ps', 'worker'"),
        (lambda c: c.target("worker", 2), "task index 2 is out of range for job 'worker', which has 2 task(s) (0..1)"),
        (lambda c: c.tf_config("ps", -1), "task index -1 is out of range for job 'ps'"),
        (lambda c: c.device_setter(5), "task index 5 is out of range for job 'worker'"),
        (lambda c: gm.start_server(c, "evaluator", 0), "job 'evaluator' is not in this cluster"),
    ],
)
def test_unknown_tasks_are_refused_before_tensorflow_sees_them(use, message):
    cluster = gm.cluster.cluster_from_addresses(["ps0:1"], ["w0:1", "w1:1"])
    with pytest.raises(gm.errors.ClusterError, match=message.replace("(", r"\(").replace(")", r"\)")):
        use(cluster)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty; set it to ClusterDescription.tf_config(job, index)"),
        ("{not json", "is not {'cluster'"),
        ('{"cluster": {"ps": ["p:1"], "worker": ["w:1"]}}', "is not {'cluster'"),
        ('{"cluster": {"ps": ["p:1"], "chief": ["c:1"], "worker": ["w:1"]}, "task": {"type": "chief", "index": 0}}',
         "names job(s) ['chief']; a parameter-server cluster has only ['ps', 'worker']"),
        ('{"cluster": {"ps": ["p:1"], "worker": ["w:1"]}, "task": {"type": "worker", "index": 1}}',
         "task index 1 is out of range for job 'worker'"),
    ],
)
def test_bad_tf_config_is_refused(text, message, monkeypatch):
    monkeypatch.setenv("TF_CONFIG", text)
    with pytest.raises(gm.errors.ClusterError) as caught:
        gm.cluster.cluster_from_tf_config()
    assert message in str(caught.value)
    assert "the TF_CONFIG environment variable" in str(caught.value)


def test_task_of_device_and_grouping_by_task():
    assert gm.cluster.task_of_device(PS0) == "/job:ps/task:0"
    assert gm.cluster.task_of_device("/job:worker/task:3/device:CPU:0") == "/job:worker/task:3"
    assert gm.cluster.task_of_device("/device:CPU:0") == ""
    report = gm.session.PlacementReport((
        gm.session.PlacementRecord("w", "VarHandleOp", "/job:ps/task:0", PS0),
        gm.session.PlacementRecord("y", "MatMul", "/job:worker/task:1", WORKER1),
        gm.session.PlacementRecord("loss", "Mean", "/job:worker/task:1", WORKER1),
    ))
    assert gm.cluster.placement_by_task(report) == {"/job:ps/task:0": ("w",), "/job:worker/task:1": ("y", "loss")}


def test_variable_placement_covers_the_variables_the_report_has():
    graph = tf.Graph()
    with graph.as_default():
        v1.get_variable("w", [1])
        v1.get_variable("not_run", [1])
    report = gm.session.PlacementReport((gm.session.PlacementRecord("w", "VarHandleOp", "/job:ps/task:0", PS0),))
    assert gm.cluster.variable_placement(graph, report) == {"w": PS0}


def _node(partition, name, op, device, inputs=(), client_terminated=False):
    node = partition.node.add(name=name, op=op, device=device)
    node.input.extend(inputs)
    if client_terminated:
        node.attr["client_terminated"].b = True
    return node


def test_transfers_between_tasks_are_not_credited_to_user_ops():
    # What a distributed run's partition graphs hold (names as TensorFlow makes
    # them): the worker sends 'Adam/learning_rate' to the ps under a _Send named
    # 'Adam/learning_rate_S2'; by name prefix it would pass for the op 'Adam',
    # which runs on the ps. The client's feed of 'x' arrives as '_recv_x_0'.
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None], name="x")
        rate = tf.constant(0.1, name="Adam/learning_rate")
        tf.multiply(x, rate, name="Adam")
    metadata = v1.RunMetadata()
    worker = metadata.partition_graphs.add()
    _node(worker, "_recv_x_0", "_Recv", WORKER1, client_terminated=True)
    _node(worker, "Adam/learning_rate", "Const", WORKER1)
    _node(worker, "Adam/learning_rate_S2", "_Send", WORKER1, ["Adam/learning_rate"])
    _node(worker, "x_S4", "_Send", WORKER1, ["_recv_x_0"])
    ps = metadata.partition_graphs.add()
    _node(ps, "Adam/learning_rate_S3", "_Recv", PS0)
    _node(ps, "x_S5", "_Recv", PS0)
    _node(ps, "Adam", "Mul", PS0, ["x_S5", "Adam/learning_rate_S3"])
    records = {record.op_name: record for record in records_from_run_metadata(graph, metadata)}
    assert set(records) == {"x", "Adam/learning_rate", "Adam"}
    assert records["Adam"].assigned_device == PS0
    assert records["x"].assigned_device == WORKER1 and records["x"].op_type == "Placeholder"


def test_wait_for_variables_refuses_a_finalized_graph():
    graph = tf.Graph()
    with graph.as_default():
        v1.get_variable("w", [1])
    graph.finalize()
    with pytest.raises(gm.errors.ConfigError, match="graph is finalized; call it earlier"):
        gm.cluster.wait_for_variables("grpc://127.0.0.1:1", graph, timeout=1)


@pytest.fixture(scope="module")
def local_cluster_run() -> dict:
    completed = preimported.run([sys.executable, os.path.join(SCRIPTS, "cluster_local.py")],
                                capture_output=True, text=True, timeout=90)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout)


def test_graphmode_session_on_a_grpc_target_reports_ps_and_worker_placement(local_cluster_run):
    run = local_cluster_run
    assert all(target.startswith("grpc://127.0.0.1:") for target in run["targets"].values())
    by_name = {record["op_name"]: record for record in run["placement"]}
    for variable in ("w", "global_step"):
        assert by_name[variable]["assigned_device"] == PS0
        assert by_name[variable]["requested_device"] == "/job:ps/task:0"
    # The update runs where the variable lives; the forward and backward pass on worker 1.
    assert by_name["train/update_w/ResourceApplyGradientDescent"]["assigned_device"] == PS0
    for op in ("x", "y", "loss", "gradients/y_grad/MatMul_1"):
        assert by_name[op]["assigned_device"] == WORKER1, op
    assert not any(record["op_name"].endswith(("_S0", "_S1", "_S2")) for record in run["placement"])
    assert set(run["by_task"]) == {"/job:ps/task:0", "/job:worker/task:1"}
    assert run["variables"] == {"global_step": PS0, "w": PS0}


def test_variables_on_the_ps_are_shared_by_every_worker(local_cluster_run):
    run = local_cluster_run
    # x = [1, 2], w = [1, 1], lr 0.1: loss (x.w)^2 = 9, gradient 2 (x.w) x = [6, 12],
    # so one step gives w = [0.4, -0.2], where x.w = 0 and the gradient vanishes.
    np.testing.assert_allclose(run["losses"], [9.0, 0.0, 0.0], atol=1e-6)
    assert run["global_step"] == 3
    seen = run["seen_from_worker0"]
    assert seen["global_step"] == 3
    np.testing.assert_allclose(seen["w"], [0.4, -0.2], atol=1e-6)
    assert seen["variables"] == {"global_step": PS0, "w": PS0}
    assert run["waited_seconds"] < 5  # already initialized: the first check passes


def test_wait_for_variables_times_out_naming_them(local_cluster_run):
    error = local_cluster_run["wait_error"]
    assert error["type"] == "RunTimeoutError" and error["is_deadline"]
    assert "variable(s) 'never_initialized' still uninitialized after 0.5 s" in error["message"]
    assert "the chief (worker 0) initializes the variables" in error["message"]


def test_a_taken_port_is_named(local_cluster_run):
    error = local_cluster_run["port_taken_error"]
    assert error["type"] == "ServerStartError" and error["is_unknown_error"]
    ps_address = local_cluster_run["targets"]["ps0"].removeprefix("grpc://")
    assert f"could not start the server of /job:ps/task:0 on {ps_address}: the port is already in use" in error[
        "message"]


@pytest.mark.parametrize("way", ["per_session", "per_run", "run_options", "plain_run", "wait_for_variables"])
def test_a_timeout_bounds_a_session_whose_ps_is_down(local_cluster_run, way):
    # TensorFlow's master waits for a task its device filters cover without a deadline;
    # each timeout (1 s here) must end that wait and name the task that does not answer.
    outcome = local_cluster_run["ps_down"][way]
    address = local_cluster_run["ps_down_address"]
    assert outcome["type"] == "RunTimeoutError" and outcome["is_deadline"], outcome
    assert outcome["seconds"] < 1 + 10, outcome  # a correctness bound, not a speed claim
    assert f"/job:ps/task:0 at {address} (connection refused: nothing listens there) does not answer" in outcome[
        "message"]
    if way == "wait_for_variables":
        assert outcome["message"].startswith("no answer from the ps after 1 s on grpc://")
    else:
        source = "per-run" if way in ("per_run", "run_options") else "per-session"
        assert f"gave up after 1 s ({source} timeout)" in outcome["message"]
        assert "device filters cover (/job:ps, /job:worker/task:0)" in outcome["message"]


def test_a_server_listens_on_every_interface_whatever_address_it_is_given(local_cluster_run):
    # What the README and examples/cluster_ps.py warn about: the ps was described as
    # 127.0.0.1:port, yet its socket is bound to the wildcard address (0.0.0.0 or ::).
    listening = local_cluster_run["ps_listens_on"]
    if not listening:
        pytest.skip("no /proc/net/tcp on this system")
    wildcard = {"00000000", "00000000000000000000000000000000"}
    assert set(listening) <= wildcard and listening, listening
