"""TF1 summaries (``tf.summary.scalar`` / ``histogram``, ``merge_all``, ``FileWriter.add_summary``) in TF2.

A TF1 summary op is an output, not training: a run that fetches it returns a
serialized ``Summary`` that the script hands to ``writer.add_summary(summary, step)``.
In the program, the fetch becomes a dict ``{tag: tensor}`` of the values the
summary op summarized (the functions return them, computed where the forward
pass computes them), and the ``add_summary`` statement writes them::

    with writer.as_default(step=step):
        tf.summary.scalar("loss", summary["loss"])

``tf.summary.FileWriter(logdir, graph)`` becomes ``tf.summary.create_file_writer(logdir)``.
The tags are TF1's own (its name scopes included); which tag is a scalar and
which a histogram is what the recording saw each ``add_summary`` write.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from graphmode.migrate.statements import dotted

KINDS = {"ScalarSummary": "scalar", "HistogramSummary": "histogram"}
MERGE = "MergeSummary"
VARIABLE_MARK = "__tf1_variable__"
_WRITER_CALLS = ("summary.FileWriter", "train.SummaryWriter")


# --- the recording side (runs under the TF1 API) ---------------------------------------------------

def summary_records(graph: Any, ops: dict[str, dict]) -> dict[str, dict]:
    """Summary tensor name -> ``{"line", "values": [{"tag", "kind", "tensor"}], "problem"}``.

    Marks the summary ops and their tag constants in ``ops`` (``"summary": True``): they build
    nothing the program computes.
    """
    from graphmode._runtime import tf

    records = {}
    for op in graph.get_operations():
        if op.type not in KINDS and op.type != MERGE:
            continue
        values, problem, stack = [], None, [op]
        while stack:
            item = stack.pop(0)
            if item.type == MERGE:
                stack = [tensor.op for tensor in item.inputs] + stack
                continue
            if item.type not in KINDS:
                problem = problem or f"{item.name} is a {item.type} summary; migrate writes scalars and histograms only"
                continue
            tag = tf.get_static_value(item.inputs[0])
            tag = tag.item() if getattr(tag, "ndim", None) == 0 else tag
            if not isinstance(tag, bytes):
                problem = problem or (f"the summary {item.name} has a tag that is not one constant string; "
                                      "give tf.summary.scalar/histogram a plain name")
                continue
            values.append({"tag": tag.decode(), "kind": KINDS[item.type], "tensor": item.inputs[1].name})
        for marked in [op, *(tensor.op for tensor in op.inputs if tensor.op.type == "Const")]:
            if marked.name in ops:
                ops[marked.name]["summary"] = True
        records[op.outputs[0].name] = {"line": ops.get(op.name, {}).get("line"), "values": values, "problem": problem}
    return records


class SummaryNotes:
    """What each ``FileWriter.add_summary`` call site wrote: its tags and their kinds, by script line."""

    def __init__(self) -> None:
        self.lines: dict[str, list[list[str]]] = {}

    def note(self, line: int, summary: Any) -> None:
        from graphmode._runtime import v1

        if str(line) in self.lines:
            return
        if isinstance(summary, bytes):
            summary = v1.Summary.FromString(summary)
        written = []
        for value in getattr(summary, "value", ()):
            kind = value.WhichOneof("value")
            written.append([value.tag, {"simple_value": "scalar", "histo": "histogram"}.get(kind, kind or "none")])
        self.lines[str(line)] = written


def decoded_summaries(fetches: Any, result: Any) -> Any:
    """``result`` with each fetched summary's serialized ``Summary`` read as ``{tag: value}``, as the program returns it.

    A scalar is TF1's float32 value; a histogram kept only TF1's buckets, not the values the program
    returns, so it is not kept (listed as not compared).
    """
    from graphmode._runtime import tf, v1
    from graphmode.migrate.run_values import NotKept

    if isinstance(fetches, (list, tuple)) and isinstance(result, (list, tuple)) and len(fetches) == len(result):
        return [decoded_summaries(fetch, value) for fetch, value in zip(fetches, result)]
    if isinstance(fetches, Mapping) and isinstance(result, Mapping):
        return {key: decoded_summaries(fetches[key], value) for key, value in result.items()}
    if not (isinstance(fetches, tf.Tensor) and (fetches.op.type in KINDS or fetches.op.type == MERGE)
            and isinstance(result, bytes)):
        return result
    values = {}
    for value in v1.Summary.FromString(result).value:
        if value.WhichOneof("value") == "simple_value":
            values[value.tag] = np.float32(value.simple_value)
        else:
            values[value.tag] = NotKept(f"the histogram {value.tag!r}: TF1 wrote its buckets, not its values")
    return values


# --- the program side ------------------------------------------------------------------------------

def _value_source(tensor: str, capture: Mapping) -> tuple[str, bool] | None:
    """The Python expression that computes ``tensor`` in the program, and whether it reads a variable."""
    bindings = capture["bindings"]
    held = sorted((path for path, graph in bindings.items() if graph == tensor), key=lambda p: ("[" in p, len(p)))
    if held:
        return held[0], False
    variables = {v["name"] for v in capture["variables"]}
    variable = tensor.rsplit(":", 1)[0].removesuffix("/read")  # a reference variable's value is its snapshot
    paths = sorted((path for path, graph in bindings.items() if graph == variable), key=lambda p: ("[" in p, len(p)))
    if variable in variables:
        # A variable only a module of the script's own helper holds: placed when the Model is planned.
        return f"tf.identity({paths[0] if paths else f'{VARIABLE_MARK}({variable!r})'})", True
    return None


def place_variables(code: str, paths: Mapping[str, str]) -> str:
    """``code`` with each variable a summary reads through a module written as the module attribute holding it."""
    return re.sub(rf"{VARIABLE_MARK}\('([^']*)'\)", lambda match: paths.get(match.group(1), match.group(0)), code)


def summary_values(summary_tensor: str, capture: Mapping, training: bool) -> tuple[str, str]:
    """``('{"loss": cost, ...}', '')``: what a fetched summary becomes in a function; or ``('', why not)``."""
    record = capture.get("summaries", {}).get(summary_tensor)
    if record is None:
        return "", f"{summary_tensor} is a summary the recording did not see built"
    if record["problem"]:
        return "", record["problem"]
    items, tags = [], set()
    for value in record["values"]:
        if value["tag"] in tags:
            return "", f"the summary {summary_tensor} writes the tag {value['tag']!r} twice"
        tags.add(value["tag"])
        found = _value_source(value["tensor"], capture)
        if found is None:
            return "", (f"the summary {value['tag']!r} summarizes {value['tensor']}, which no Python name holds; "
                        "hold the summarized tensor in a name")
        source, reads_variable = found
        if reads_variable and training:
            return "", (f"the summary {value['tag']!r} reads the variable {value['tensor']} in the training step's "
                        "run: TF1 read it before the update, a TF2 step returns it after; fetch it in a run of its own")
        items.append(f"{value['tag']!r}: {source}")
    return "{" + ", ".join(items) + "}", ""


def is_writer_call(node: ast.AST) -> bool:
    """True for ``tf.summary.FileWriter(...)`` (and the older ``tf.train.SummaryWriter(...)``)."""
    return isinstance(node, ast.Call) and dotted(node.func).endswith(_WRITER_CALLS)


def writer_names(tree: ast.Module) -> set[str]:
    """The names the script binds to a FileWriter (their ``close()`` / ``flush()`` stay: TF2's writer has both)."""
    return {target.id for node in ast.walk(tree) if isinstance(node, ast.Assign) and is_writer_call(node.value)
            for target in node.targets if isinstance(target, ast.Name)}


def writer_replacement(call: ast.Call, source: str) -> str | None:
    """``tf.summary.create_file_writer(logdir)`` for a FileWriter call (None: arguments TF2 cannot take)."""
    def text(node: ast.AST) -> str:
        return ast.get_source_segment(source, node) or ast.unparse(node)

    arguments = {name: value for name, value in zip(("logdir", "graph", "max_queue", "flush_secs"), call.args)}
    arguments.update({k.arg: k.value for k in call.keywords})
    if "logdir" not in arguments or set(arguments) - {"logdir", "graph", "graph_def", "max_queue", "flush_secs",
                                                       "filename_suffix"}:
        return None
    written = [text(arguments["logdir"])]  # TF2's writer writes no graph: a traced function's is written on request
    if "max_queue" in arguments:
        written.append(f"max_queue={text(arguments['max_queue'])}")
    if "flush_secs" in arguments:
        written.append(f"flush_millis=int(1000 * ({text(arguments['flush_secs'])}))")
    if "filename_suffix" in arguments:
        written.append(f"filename_suffix={text(arguments['filename_suffix'])}")
    return f"tf.summary.create_file_writer({', '.join(written)})"


def _writer_method(node: ast.stmt, method: str) -> ast.Call | None:
    if (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Attribute)
            and node.value.func.attr == method):
        return node.value
    return None


def summary_edits(statement: ast.stmt, source: str, capture: Mapping) -> tuple[list[tuple[ast.expr, str]],
                                                                                 list[tuple[int, str]]]:
    """The edits that write a statement's summaries in TF2, and ``(line, why)`` for those it cannot.

    ``writer.add_summary(summary, step)`` becomes a ``with writer.as_default(step=step):`` block writing each
    tag the recording saw that line write; ``writer.add_graph(...)`` goes (TF2's writer holds no graph);
    ``tf.summary.FileWriter(logdir, graph)`` becomes ``tf.summary.create_file_writer(logdir)``.
    """
    edits, problems = [], []
    writes = capture.get("summary_writes", {})
    for node in ast.walk(statement):
        if is_writer_call(node):
            replacement = writer_replacement(node, source)
            if replacement is None:
                problems.append((node.lineno, "a FileWriter with arguments TF2's create_file_writer has no "
                                              "counterpart for; write tf.summary.create_file_writer(logdir)"))
            else:
                edits.append((node, replacement))
        if not isinstance(node, ast.stmt):
            continue
        if _writer_method(node, "add_graph") is not None:
            edits.append((node.value, "pass  # dropped"))
        call = _writer_method(node, "add_summary")
        if call is None:
            continue
        written = writes.get(str(call.lineno))
        arguments = list(call.args) + [k.value for k in call.keywords if k.arg in ("summary", "global_step")]
        if written is None:
            problems.append((call.lineno, "this add_summary never ran while migrate recorded the script, so what "
                                          "it wrote is unknown"))
        elif not arguments or not isinstance(arguments[0], (ast.Name, ast.Subscript)):
            problems.append((call.lineno, "add_summary of a value no name holds; hold the fetched summary in a name"))
        elif any(kind not in ("scalar", "histogram") for _, kind in written):
            problems.append((call.lineno, "add_summary wrote values other than scalars and histograms "
                                          f"({', '.join(f'{tag}: {kind}' for tag, kind in written)})"))
        else:
            value = ast.get_source_segment(source, arguments[0])
            step = ast.get_source_segment(source, arguments[1]) if len(arguments) > 1 else "0"
            pad = " " * call.col_offset
            lines = [f"with {ast.get_source_segment(source, call.func.value)}.as_default(step={step}):"]
            lines += [f"{pad}    tf.summary.{kind}({tag!r}, {value}[{tag!r}])" for tag, kind in written]
            edits.append((call, "\n".join(lines)))
    return edits, problems
