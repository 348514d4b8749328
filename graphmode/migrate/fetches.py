"""What a run call fetches: names, expressions, and lists, tuples and dicts of them.

A fetch is read from the source as a structure of *leaves*. A leaf is a graph
object a name holds (``loss``, ``weights['h1']``), an initializer call, or an
expression the script builds in the call itself (``a + b``, ``tf.argmax(y, 1)``).
Each leaf's kind (a train op, a tensor, a variable) comes from the recording:
the call site's fetches, flattened as ``Session.run`` flattened them (dicts in
key order), say which graph object each leaf was. An expression becomes part of
the generated function's ``return``; it may read only graph objects the script
holds in names and the modules it imports, since a Python value it read would
be frozen into the function when TensorFlow traces it.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from collections.abc import Mapping

INITIALIZERS = {"global_variables_initializer", "initialize_all_variables", "local_variables_initializer",
                "variables_initializer", "tables_initializer"}
_OPERATORS = {ast.Add: "plus", ast.Sub: "minus", ast.Mult: "times", ast.Div: "over", ast.MatMult: "matmul",
              ast.Pow: "pow", ast.FloorDiv: "floordiv", ast.Mod: "mod"}


MARK = "@"


def fill(template: str, values: list[str]) -> str:
    """The template with leaf ``i`` replaced by ``values[i]``."""
    return re.sub(f"{MARK}(\\d+){MARK}", lambda match: values[int(match.group(1))], template)


class FetchError(ValueError):
    """A fetch migrate cannot turn into TF2 code (the reason is the message)."""


@dataclasses.dataclass(frozen=True)
class Leaf:
    """One fetched thing: its source text, kind and whether it is an expression built in the call."""

    text: str
    kind: str
    expression: bool


def _kind(graph_name: str, capture: Mapping) -> str:
    if graph_name in capture["train_ops"]:
        return "train"
    if graph_name in capture.get("summaries", {}):
        return "summary"
    if graph_name in {v["name"] for v in capture["variables"]}:
        return "variable"
    if ":" in graph_name:
        return "tensor"
    return "init"


def _is_initializer(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and ast.unparse(node.func).rsplit(".", 1)[-1] in INITIALIZERS


def _held(node: ast.AST, bindings: Mapping[str, str]) -> str | None:
    """The binding path a name or subscript is (``weights['h1']``), if the script held a graph object there."""
    if isinstance(node, (ast.Name, ast.Subscript)):
        text = ast.unparse(node)
        return text if text in bindings else None
    return None


def _nest_order(node: ast.AST) -> list[ast.AST]:
    """The leaves of a fetch structure in the order ``tf.nest.flatten`` gives them (dicts sorted by key)."""
    if isinstance(node, (ast.List, ast.Tuple)):
        return [leaf for element in node.elts for leaf in _nest_order(element)]
    if isinstance(node, ast.Dict):
        if not all(isinstance(key, ast.Constant) for key in node.keys):
            raise FetchError("a dict of fetches whose keys are not constants")
        pairs = sorted(zip(node.keys, node.values), key=lambda pair: pair[0].value)
        return [leaf for _, value in pairs for leaf in _nest_order(value)]
    return [node]


def _template(node: ast.AST, source: str, leaves: dict[int, int]) -> str:
    """The fetch structure's source with each leaf replaced by ``@i@`` (its index in source order)."""
    if isinstance(node, ast.List):
        return "[" + ", ".join(_template(e, source, leaves) for e in node.elts) + "]"
    if isinstance(node, ast.Tuple):
        inner = ", ".join(_template(e, source, leaves) for e in node.elts)
        return f"({inner},)" if len(node.elts) == 1 else f"({inner})"
    if isinstance(node, ast.Dict):
        return "{" + ", ".join(f"{ast.unparse(k)}: {_template(v, source, leaves)}"
                               for k, v in zip(node.keys, node.values)) + "}"
    return f"{MARK}{leaves[id(node)]}{MARK}"


def _source_order(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, (ast.List, ast.Tuple)):
        return [leaf for element in node.elts for leaf in _source_order(element)]
    if isinstance(node, ast.Dict):
        return [leaf for value in node.values for leaf in _source_order(value)]
    return [node]


def read_fetches(node: ast.AST, source: str, capture: Mapping, site: Mapping | None,
                 modules: set[str]) -> tuple[tuple[Leaf, ...], str]:
    """The leaves of a fetch (in source order) and its template (``"[@0@, @1@]"``; ``"@0@"`` for one leaf).

    Raises:
        FetchError: a leaf migrate cannot express, with the reason.
    """
    bindings = capture["bindings"]
    recorded = list(site["fetches"]) if site is not None else []
    flat = _nest_order(node)
    if site is not None and len(flat) != len(recorded):
        raise FetchError(f"the call fetched {len(recorded)} graph objects when recorded, its source names {len(flat)}")
    graph_of = {id(leaf): recorded[i] if recorded else None for i, leaf in enumerate(flat)}
    ordered = _source_order(node)
    leaves = []
    for leaf in ordered:
        text = ast.get_source_segment(source, leaf) or ast.unparse(leaf)
        if _is_initializer(leaf):
            leaves.append(Leaf(ast.unparse(leaf), "init", False))
            continue
        path = _held(leaf, bindings)
        if path is not None:
            leaves.append(Leaf(path, _kind(bindings[path], capture), False))
            continue
        graph = graph_of[id(leaf)]
        if graph is None:
            raise FetchError(f"the fetch {text!r} is an expression and the call never ran while recording")
        kind = _kind(graph, capture)
        if kind != "tensor":
            raise FetchError(f"the fetch {text!r} builds a {'train op' if kind == 'train' else 'graph operation'} "
                             "in the run call; hold it in a name first")
        for name in sorted({n.id for n in ast.walk(leaf) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}):
            if name not in modules and not any(p == name or p.startswith(name + "[") for p in bindings):
                raise FetchError(f"the fetch {text!r} reads the Python value {name!r}, which a tf.function would "
                                 "freeze when traced; hold the fetched tensor in a name")
        leaves.append(Leaf(" ".join(text.split()), "tensor", True))
    index = {id(leaf): i for i, leaf in enumerate(ordered)}
    return tuple(leaves), _template(node, source, index)


def expression_name(text: str) -> str:
    """A Python name saying what an expression computes: ``a + b`` -> ``a_plus_b``, ``tf.argmax(y, 1)`` -> ``argmax_y``."""
    def words(node: ast.AST) -> list[str]:
        if isinstance(node, ast.Name):
            return [node.id]
        if isinstance(node, ast.Attribute):
            return [node.attr]
        if isinstance(node, ast.Subscript):
            return words(node.value) + words(node.slice)
        if isinstance(node, ast.Constant):
            return [str(node.value)] if isinstance(node.value, (str, int)) else []
        if isinstance(node, ast.BinOp):
            return words(node.left) + [_OPERATORS.get(type(node.op), "op")] + words(node.right)
        if isinstance(node, ast.UnaryOp):
            return ["negative"] + words(node.operand) if isinstance(node.op, ast.USub) else words(node.operand)
        if isinstance(node, ast.Call):
            first = [w for arg in node.args[:1] for w in words(arg)]
            return words(node.func)[-1:] + first
        return []

    parts = words(ast.parse(text, mode="eval").body) or ["value"]
    name = re.sub(r"\W+", "_", "_".join(parts)).strip("_")[:40].rstrip("_")
    return name if name and not name[0].isdigit() else "value_" + name
