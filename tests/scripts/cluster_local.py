"""A whole ps/worker cluster in this one process: placement through graphmode sessions, errors.

Run by tests/cluster/test_cluster.py in a subprocess of its own, because TensorFlow
cannot stop a server: the servers live until this process exits. Prints one
JSON object.
"""

import json
import time

import graphmode as gm
from graphmode import tf, v1

cluster = gm.cluster.describe_cluster(ps=1, workers=2)
local = gm.start_local_cluster(cluster)
result = {"targets": {f"{task.job}{task.index}": local.target(task.job, task.index) for task in cluster.tasks()}}


def listening_addresses(port):
    """The local addresses a socket listens on for ``port`` (Linux's /proc/net/tcp*; hex, as the kernel writes)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as rows:
                for row in list(rows)[1:]:
                    local, state = row.split()[1], row.split()[3]
                    address, hex_port = local.rsplit(":", 1)
                    if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                        found.append(address)
        except OSError:
            pass
    return found


# The ps was given 127.0.0.1; what TensorFlow's server really binds.
result["ps_listens_on"] = listening_addresses(int(cluster.ps[0].rsplit(":", 1)[1]))

graph = tf.Graph()
with graph.as_default(), v1.device(cluster.device_setter(1)):
    global_step = v1.train.get_or_create_global_step()
    x = v1.placeholder(tf.float32, [None, 2], name="x")
    w = v1.get_variable("w", [2, 1], initializer=v1.ones_initializer())
    loss = tf.reduce_mean(tf.square(tf.matmul(x, w, name="y")), name="loss")
    train = v1.train.GradientDescentOptimizer(0.1).minimize(loss, global_step=global_step, name="train")
    init = v1.global_variables_initializer()

config = cluster.session_config("worker", 1, intra_op_threads=1, inter_op_threads=1)
with gm.Session(local.target("worker", 1), graph=graph, config=config, record_placement=True) as session:
    session.run(init)
    losses = [float(session.run([train, loss], {x: [[1.0, 2.0]]})[1]) for _ in range(3)]
    result["losses"] = losses
    result["global_step"] = int(session.run(global_step))
    result["placement"] = session.placement.to_dicts()
    result["by_task"] = {task: list(ops) for task, ops in gm.cluster.placement_by_task(session.placement).items()}
    result["variables"] = gm.cluster.variable_placement(graph, session.placement)

# The variables live on the ps: a plain session through worker 0 sees the values worker 1 trained.
result["waited_seconds"] = gm.cluster.wait_for_variables(local.target("worker", 0), graph, config=config, timeout=10)
with v1.Session(local.target("worker", 0), graph=graph) as plain:
    (step, w_value), report = gm.cluster.run_with_placement(plain, [global_step, w])
result["seen_from_worker0"] = {"global_step": int(step), "w": w_value.ravel().tolist(),
                               "variables": gm.cluster.variable_placement(graph, report)}

never = tf.Graph()
with never.as_default(), v1.device(cluster.device_setter(0)):
    v1.get_variable("never_initialized", [1])
try:
    gm.cluster.wait_for_variables(local.target("worker", 0), never, timeout=0.5, poll_seconds=0.1)
except gm.errors.RunTimeoutError as error:
    result["wait_error"] = {"type": type(error).__name__, "message": str(error),
                            "is_deadline": isinstance(error, tf.errors.DeadlineExceededError)}

try:
    gm.start_server(cluster, "ps", 0)
except gm.errors.ServerStartError as error:
    result["port_taken_error"] = {"type": type(error).__name__, "message": str(error),
                                  "is_unknown_error": isinstance(error, tf.errors.UnknownError)}

# A worker whose ps is down (its port has nothing listening): every timeout bounds the session.
ps_port, worker_port = gm.cluster.free_ports(2)
orphan = gm.cluster.cluster_from_addresses([f"127.0.0.1:{ps_port}"], [f"127.0.0.1:{worker_port}"])
orphan_server = gm.start_server(orphan, "worker", 0)
lonely = tf.Graph()
with lonely.as_default(), v1.device(orphan.device_setter(0)):
    v1.get_variable("w", [1])
    lonely_init = v1.global_variables_initializer()
lonely_config = orphan.session_config("worker", 0)


def bounded(name, attempt):
    started = time.monotonic()
    try:
        attempt()
        outcome = {"type": None}
    except Exception as error:  # noqa: BLE001 - the test checks the type
        outcome = {"type": type(error).__name__, "message": str(error),
                   "is_deadline": isinstance(error, tf.errors.DeadlineExceededError)}
    outcome["seconds"] = time.monotonic() - started
    result.setdefault("ps_down", {})[name] = outcome


def per_session():
    with gm.Session(orphan_server.target, graph=lonely, config=lonely_config, timeout=1, cluster=orphan) as session:
        session.run(lonely_init)


def per_run():
    with gm.Session(orphan_server.target, graph=lonely, config=lonely_config, cluster=orphan) as session:
        session.run(lonely_init, timeout=1)


def run_options():
    with gm.Session(orphan_server.target, graph=lonely, config=lonely_config, cluster=orphan) as session:
        session.run(lonely_init, options=v1.RunOptions(timeout_in_ms=1000))


def plain_run_on_a_timed_session():
    # TensorFlow's own run on a graphmode session (what MonitoredSession and helpers do).
    with gm.Session(orphan_server.target, graph=lonely, config=lonely_config, timeout=1, cluster=orphan) as session:
        v1.Session.run(session, lonely_init)


bounded("per_session", per_session)
bounded("per_run", per_run)
bounded("run_options", run_options)
bounded("plain_run", plain_run_on_a_timed_session)
bounded("wait_for_variables", lambda: gm.cluster.wait_for_variables(orphan_server.target, lonely, config=lonely_config,
                                                            cluster=orphan, timeout=1))
result["ps_down_address"] = orphan.ps[0]

print(json.dumps(result))
