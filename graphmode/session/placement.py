"""Device placement as data: which op asked for which device, and where it ran.

TensorFlow only prints placement (``log_device_placement``) as C++ log lines.
The same facts are in a run's ``RunMetadata.partition_graphs``, but those hold
the graph *after* Grappler rewrote it: constant folding renames ``gpu_add`` to
``gpu_add/_0__cf__0``, remapping fuses ``MatMul`` into ``BiasAdd``, feeds
become ``_arg_x_0_0``. This module maps every runtime node back to the user's
op so the report speaks of the names in the user's code.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from graphmode._runtime import tf, v1
from graphmode._text import align_columns

_FEED_NODE = re.compile(r"^_arg_(?P<op>.+)_(?P<index>\d+)_\d+$")
_CLIENT_FEED_NODE = re.compile(r"^_recv_(?P<op>.+)_(?P<index>\d+)$")
_TRANSFER_OPS = frozenset({"_Send", "_Recv", "_HostSend", "_HostRecv"})


class PlacementRecord(NamedTuple):
    """Where one of the user's ops ran.

    Attributes:
        op_name: the op's name in the user's graph.
        op_type: the op's type in the user's graph (before Grappler fused it).
        requested_device: the device the code asked for (``""`` for none).
        assigned_device: the device the runtime put it on.
    """

    op_name: str
    op_type: str
    requested_device: str
    assigned_device: str

    @property
    def fell_back(self) -> bool:
        """True when the op asked for a device type it did not get (GPU -> CPU)."""
        requested = _device_type(self.requested_device)
        return bool(requested) and requested != _device_type(self.assigned_device)


def _device_type(device: str) -> str:
    return (tf.DeviceSpec.from_string(device).device_type or "").upper() if device else ""


class PlacementReport(NamedTuple):
    """The placement of every user op a session ran, in first-run order."""

    records: tuple[PlacementRecord, ...]

    @property
    def fallbacks(self) -> tuple[PlacementRecord, ...]:
        """The records whose op asked for a device type it did not get."""
        return tuple(record for record in self.records if record.fell_back)

    def device_of(self, op_name: str) -> str:
        """Returns the assigned device of ``op_name``.

        Raises:
            KeyError: the op was not run (or not recorded), with the recorded names.
        """
        for record in self.records:
            if record.op_name == op_name:
                return record.assigned_device
        known = ", ".join(record.op_name for record in self.records[:20])
        raise KeyError(f"op {op_name!r} is not in the placement report; recorded ops: {known}")

    def to_dicts(self) -> list[dict[str, object]]:
        """Returns one plain dict per record (JSON-ready)."""
        return [{**record._asdict(), "fell_back": record.fell_back} for record in self.records]

    def to_json(self, indent: int | None = 2) -> str:
        """Returns the report as a JSON array."""
        return json.dumps(self.to_dicts(), indent=indent)

    def format_table(self) -> str:
        """Returns the report as an aligned text table, fallbacks marked."""
        if not self.records:
            return "(no placement recorded: run with record_placement=True or log_device_placement=True)"
        header = ("op", "type", "requested", "assigned")
        rows = [header] + [
            (r.op_name, r.op_type, r.requested_device or "-", r.assigned_device) for r in self.records
        ]
        lines = []
        for line, record in zip(align_columns(rows), (None, *self.records)):
            if record is not None and record.fell_back:
                line += "  <- fell back (requested device not available)"
            lines.append(line)
        if self.fallbacks:
            lines.append(
                f"{len(self.fallbacks)} op(s) asked for a device that does not exist here "
                "and ran on the fallback device (allow_soft_placement=True)."
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format_table()


def _user_op_for(node_name: str, graph_ops: Mapping[str, tf.Operation], original_names: Iterable[str]):
    if node_name in graph_ops:
        return graph_ops[node_name]
    for original in original_names:
        if original in graph_ops:
            return graph_ops[original]
    feed = _FEED_NODE.match(node_name)
    if feed and feed["op"] in graph_ops:
        return graph_ops[feed["op"]]
    # Grappler appends path components to the node it rewrote
    # ("gpu_add/_0__cf__0", "dense/MatMul/_3"): the longest known prefix is it.
    parts = node_name.split("/")
    for end in range(len(parts) - 1, 0, -1):
        prefix = "/".join(parts[:end])
        if prefix in graph_ops:
            return graph_ops[prefix]
    return None


def _fed_placeholder(node, graph_ops: Mapping[str, tf.Operation]):
    # Transfers between devices are named after the tensor they carry
    # ("Adam/learning_rate_S2" on the worker), so the prefix rule would credit
    # them to a user op ("Adam") on the wrong device. The one transfer that
    # stands for a user op is a distributed session's feed ("_recv_x_0",
    # received from the client): that is where the placeholder lives.
    feed = _CLIENT_FEED_NODE.match(node.name)
    if feed and node.attr["client_terminated"].b:
        return graph_ops.get(feed["op"])
    return None


def records_from_run_metadata(graph: tf.Graph, run_metadata: v1.RunMetadata) -> list[PlacementRecord]:
    """Maps the partition graphs of one run back to ``graph``'s ops.

    Runtime-only nodes (``_Send``/``_Recv``, fetch ``_Retval`` nodes) and nodes
    Grappler created from nothing are left out: they are not in the user's code.
    """
    graph_ops = {op.name: op for op in graph.get_operations()}
    records: dict[str, PlacementRecord] = {}
    for partition in run_metadata.partition_graphs:
        for node in partition.node:
            if node.op in _TRANSFER_OPS:
                op = _fed_placeholder(node, graph_ops)
            else:
                op = _user_op_for(node.name, graph_ops, node.experimental_debug_info.original_node_names)
            if op is None or op.name in records:
                continue
            records[op.name] = PlacementRecord(op.name, op.type, op.device, node.device)
    return list(records.values())


def merge_records(
    known: dict[str, PlacementRecord], new_records: Iterable[PlacementRecord]
) -> dict[str, PlacementRecord]:
    """Adds ``new_records`` to ``known`` (latest placement of an op wins), in place."""
    for record in new_records:
        known[record.op_name] = record
    return known
