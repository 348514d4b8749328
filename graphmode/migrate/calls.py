"""The script's ``Session.run`` / ``Tensor.eval`` calls, and the TF2 call each one becomes.

A call is found in the source at a line the capture saw it run from; its
fetches and ``feed_dict`` are read from the source (plain names, lists and
tuples of names, a dict literal keyed by placeholders) and resolved through the
capture's bindings. Calls with the same fetches and fed placeholders share a
:class:`Signature`, and so one generated function.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Mapping


@dataclasses.dataclass(frozen=True)
class Signature:
    """What one kind of run computes: its fetched Python names, fed placeholders, train op and loss.

    Attributes:
        fetches: the fetched Python names, in order.
        listed: True when the fetches were a list/tuple (the result is one too).
        feeds: the fed placeholder names, in the order written.
        kinds: per fetch, ``"train"``, ``"tensor"``, ``"variable"`` or ``"init"``.
        train_op: the TF1 train op's graph name, or None.
        loss_name: the Python name of the train op's loss, or None.
    """

    fetches: tuple[str, ...]
    listed: bool
    feeds: tuple[str, ...]
    kinds: tuple[str, ...]
    train_op: str | None
    loss_name: str | None

    @property
    def tensor_names(self) -> tuple[str, ...]:
        """The names the function body must compute (the loss included when it trains)."""
        names = [n for n, k in zip(self.fetches, self.kinds) if k == "tensor"]
        if self.loss_name and self.loss_name not in names:
            names.append(self.loss_name)
        return tuple(names)

    @property
    def needs_function(self) -> bool:
        """False when the run only initialized or read variables (no function stands for it)."""
        return any(kind in ("train", "tensor") for kind in self.kinds)

    @property
    def loss_index(self) -> int | None:
        """Where the loss is in what the function returns (None: it returns the loss alone)."""
        if not self.listed:
            return None
        return self.fetches.index(self.loss_name) if self.loss_name in self.fetches else None

    def function_name(self) -> str:
        """The generated function's name: the train op's Python name, or compute_<fetched names>."""
        if self.train_op is not None:
            return next(n for n, k in zip(self.fetches, self.kinds) if k == "train")
        return "compute_" + "_".join(self.fetches)

    def _value(self, name: str, kind: str) -> str:
        return {"train": "None", "variable": f"tf.identity({name})", "init": "None"}.get(kind, name)

    def return_expression(self) -> str:
        """What the function returns, shaped as the fetches were (a train op alone returns the loss)."""
        if not self.listed:
            kind = self.kinds[0]
            return self.loss_name if kind == "train" else self._value(self.fetches[0], kind)
        values = [self._value(n, k) for n, k in zip(self.fetches, self.kinds)]
        return "[" + ", ".join(values) + "]"

    def describe(self) -> str:
        """A one-line docstring for the generated function."""
        shown = "[" + ", ".join(self.fetches) + "]" if self.listed else self.fetches[0]
        what = "One training step" if self.train_op else "Computes"
        extra = "; returns the loss" if self.train_op and not self.listed else ""
        return f"{what}: the TF1 script's sess.run({shown}){extra}."


@dataclasses.dataclass
class RunCall:
    """One ``sess.run`` / ``.eval`` call in the source.

    Attributes:
        node: the call.
        signature: what it computes (None when ``problem`` is set).
        feed_values: placeholder name -> the source text fed to it.
        discarded: the call is a whole expression statement (its value is not used).
        problem: why migrate cannot rewrite it, or ''.
    """

    node: ast.Call
    signature: Signature | None
    feed_values: dict[str, str]
    discarded: bool
    problem: str = ""

    def replacement(self, function: str | None) -> str:
        """The TF2 source that takes the call's place."""
        signature = self.signature
        if not signature.needs_function:
            if all(kind == "init" for kind in signature.kinds):
                return "pass  # dropped" if self.discarded else "None"
            reads = [f"{n}.numpy()" if k == "variable" else "None" for n, k in zip(signature.fetches, signature.kinds)]
            return "[" + ", ".join(reads) + "]" if signature.listed else reads[0]
        arguments = ", ".join(f"{name}={value}" for name, value in self.feed_values.items())
        call = f"{function}({arguments})"
        return call if self.discarded else f"numpy({call})"


INITIALIZERS = {"global_variables_initializer", "initialize_all_variables", "local_variables_initializer",
                "variables_initializer", "tables_initializer"}


def _kind(graph_name: str, capture: Mapping) -> str:
    if graph_name in capture["train_ops"]:
        return "train"
    if graph_name in {v["name"] for v in capture["variables"]}:
        return "variable"
    if ":" in graph_name:
        return "tensor"
    return "init"


def _session_names(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.withitem) and isinstance(node.optional_vars, ast.Name):
            names.add(node.optional_vars.id)
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            if ast.unparse(node.value.func).endswith("Session"):
                names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def _resolve(call: ast.Call, source: str, capture: Mapping, discarded: bool) -> RunCall:
    bindings = capture["bindings"]
    is_eval = call.func.attr == "eval"
    fetch_node = call.func.value if is_eval else (call.args[0] if call.args else None)
    feed_node = None
    positional = call.args if is_eval else call.args[1:]
    if positional:
        feed_node = positional[0]
    for keyword in call.keywords:
        if keyword.arg == "fetches":
            fetch_node = keyword.value
        elif keyword.arg == "feed_dict":
            feed_node = keyword.value
        elif keyword.arg != "session":
            return RunCall(call, None, {}, discarded, f"run option {keyword.arg}= has no TF2 counterpart here")
    listed = isinstance(fetch_node, (ast.List, ast.Tuple))
    elements = fetch_node.elts if listed else [fetch_node]
    fetches, kinds = [], []
    for element in elements:
        if isinstance(element, ast.Call) and ast.unparse(element.func).rsplit(".", 1)[-1] in INITIALIZERS:
            fetches.append(ast.unparse(element))
            kinds.append("init")
        elif isinstance(element, ast.Name) and element.id in bindings:
            fetches.append(element.id)
            kinds.append(_kind(bindings[element.id], capture))
        else:
            return RunCall(call, None, {}, discarded,
                           "fetches other than graph objects held by plain names (lists of names included)")
    fetches, kinds = tuple(fetches), tuple(kinds)
    feeds: dict[str, str] = {}
    if feed_node is not None:
        if not isinstance(feed_node, ast.Dict) or not all(
            isinstance(k, ast.Name) and k.id in bindings for k in feed_node.keys
        ):
            return RunCall(call, None, {}, discarded,
                           "a feed_dict that is not a dict literal keyed by placeholder names (write the dict "
                           "in the run call, {x: ..., y: ...}, for migrate to turn it into arguments)")
        feeds = {k.id: ast.get_source_segment(source, v) for k, v in zip(feed_node.keys, feed_node.values)}
    train_op = next((bindings[n] for n, k in zip(fetches, kinds) if k == "train"), None)
    loss_name = None
    if train_op is not None:
        loss_tensor = capture["train_ops"][train_op]["loss"]
        loss_name = next((n for n, g in bindings.items() if g == loss_tensor and "[" not in n), None)
        if loss_name is None:
            return RunCall(call, None, {}, discarded, "the optimizer's loss is held by no Python name")
    signature = Signature(fetches, listed, tuple(feeds), kinds, train_op, loss_name)
    return RunCall(call, signature, feeds, discarded)


def find_run_calls(tree: ast.Module, capture: Mapping) -> list[RunCall]:
    """Every session call in the source, resolved when the capture saw it run, else with a problem."""
    source = capture["source"]
    ran = {site["line"] for site in capture["call_sites"]}
    sessions = _session_names(tree)
    discarded_calls = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
    calls = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        attr, receiver = node.func.attr, node.func.value
        session_run = attr == "run" and isinstance(receiver, ast.Name) and receiver.id in sessions
        tensor_eval = attr == "eval" and isinstance(receiver, ast.Name) and receiver.id in capture["bindings"]
        if not (session_run or tensor_eval):
            continue
        discarded = id(node) in discarded_calls
        if not any(line in ran for line in range(node.lineno, node.end_lineno + 1)):
            calls.append(RunCall(node, None, {}, discarded,
                                 "this call never ran while migrate recorded the script, so what it fetches is unknown"))
            continue
        calls.append(_resolve(node, source, capture, discarded))
    return sorted(calls, key=lambda c: (c.node.lineno, c.node.col_offset))
