"""The script's ``Session.run`` / ``Tensor.eval`` calls, and the TF2 call each one becomes.

A call is found in the source at a line the capture saw it run from; its
fetches are read from the source (:mod:`graphmode.migrate.fetches`: names,
expressions, lists, tuples and dicts of them) and its ``feed_dict`` is a dict
literal keyed by placeholders, or any other expression, whose fed placeholders
the recording names (:mod:`graphmode.migrate.feeds`). Calls with the same fetches and fed placeholders share a
:class:`Signature`, and so one generated function.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Mapping

from graphmode.migrate.feeds import check_literal_feeds, recorded_feeds, string_keys
from graphmode.migrate.fetches import FetchError, expression_name, fill, read_fetches
from graphmode.migrate.renames import rename_tf1_symbols
from graphmode.migrate.statements import used_names
from graphmode.migrate.summaries import summary_values


@dataclasses.dataclass(frozen=True)
class Signature:
    """What one kind of run computes: its fetches, fed placeholders, train op and loss.

    Attributes:
        fetches: each fetched leaf's source text, in source order (a name, ``weights['h1']``, ``a + b``).
        listed: True when the fetches were a list/tuple (the result is one too).
        feeds: the fed placeholder names, in the order written (or recorded).
        kinds: per fetch, ``"train"``, ``"tensor"``, ``"variable"`` or ``"init"``.
        train_op: the TF1 train op's graph name, or None.
        loss_name: the Python name of the train op's loss, or None.
        template: the fetch structure with leaf ``i`` written ``@i@`` (lists, tuples, dicts nested).
        expressions: per fetch, True when it is an expression built in the run call.
        summaries: per fetch, for a TF1 summary, the dict of tag -> summarized value it becomes ('' otherwise).
    """

    fetches: tuple[str, ...]
    listed: bool
    feeds: tuple[str, ...]
    kinds: tuple[str, ...]
    train_op: str | None
    loss_name: str | None
    template: str = ""
    expressions: tuple[bool, ...] = ()
    summaries: tuple[str, ...] = ()

    def _expression(self, index: int) -> bool:
        return bool(self.expressions) and self.expressions[index]

    @property
    def tensor_names(self) -> tuple[str, ...]:
        """The names the function body must compute (the loss included when it trains)."""
        names: list[str] = []
        for text, kind in zip(self.fetches, self.kinds):
            if kind in ("tensor", "summary"):
                computed = self.summaries[self.fetches.index(text)] if kind == "summary" else text
                read = sorted(used_names(ast.parse(computed, mode="eval")))
                names += [name for name in read if name not in names]
        if self.loss_name and self.loss_name not in names:
            names.append(self.loss_name)
        return tuple(names)

    @property
    def needs_function(self) -> bool:
        """False when the run only initialized or read variables (no function stands for it)."""
        return any(kind in ("train", "tensor", "summary") for kind in self.kinds)

    @property
    def loss_index(self) -> int | None:
        """Where the loss is in what the function returns (None: it returns the loss alone)."""
        if not self.listed:
            return None
        return self.fetches.index(self.loss_name) if self.loss_name in self.fetches else None

    def _template(self) -> str:
        if self.template:
            return self.template
        marks = [f"@{i}@" for i in range(len(self.fetches))]
        return "[" + ", ".join(marks) + "]" if self.listed else marks[0]

    def function_name(self) -> str:
        """The generated function's name: the train op's Python name, or compute_<what it computes>."""
        if self.train_op is not None:
            return next(n for n, k in zip(self.fetches, self.kinds) if k == "train")
        parts = [expression_name(text) for text in self.fetches]
        return "compute_" + "_".join(parts)

    def _value(self, index: int) -> str:
        name, kind = self.fetches[index], self.kinds[index]
        if kind == "tensor" and self._expression(index):
            return rename_tf1_symbols(name + "\n").strip()
        if kind == "summary":
            return self.summaries[index]
        return {"train": "None", "variable": f"tf.identity({name})", "init": "None"}.get(kind, name)

    def return_expression(self) -> str:
        """What the function returns, shaped as the fetches were (a train op alone returns the loss)."""
        if not self.listed and not self.template and self.kinds[0] == "train":
            return self.loss_name
        return fill(self._template(), [self._value(i) for i in range(len(self.fetches))])

    def describe(self) -> str:
        """A one-line docstring for the generated function."""
        shown = fill(self._template(), list(self.fetches))
        what = "One training step" if self.train_op else "Computes"
        extra = "; returns the loss" if self.train_op and not self.listed else ""
        return f"{what}: the TF1 script's sess.run({shown}){extra}."


@dataclasses.dataclass
class RunCall:
    """One ``sess.run`` / ``.eval`` call in the source.

    Attributes:
        node: the call.
        signature: what it computes (None when ``problem`` is set).
        feed_values: placeholder name -> the source text fed to it (a dict literal in the call).
        discarded: the call is a whole expression statement (its value is not used).
        problem: why migrate cannot rewrite it, or ''.
        feed_expression: the source of a feed dict not written in the call (``feed``, ``feed_dict(True)``),
            passed as keyword arguments; None when the call writes its dict.
    """

    node: ast.Call
    signature: Signature | None
    feed_values: dict[str, str]
    discarded: bool
    problem: str = ""
    feed_expression: str | None = None

    def replacement(self, function: str | None) -> str:
        """The TF2 source that takes the call's place."""
        signature = self.signature
        if not signature.needs_function:
            if all(kind == "init" for kind in signature.kinds):
                return "pass  # dropped" if self.discarded else "None"
            reads = [f"{n}.numpy()" if k == "variable" else "None" for n, k in zip(signature.fetches, signature.kinds)]
            return fill(signature._template(), reads)
        if self.feed_expression is not None:
            arguments = f"**{string_keys(self.feed_expression, signature.feeds)}"
        else:
            arguments = ", ".join(f"{name}={value}" for name, value in self.feed_values.items())
        call = f"{function}({arguments})"
        return call if self.discarded else f"numpy({call})"


def _session_names(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.withitem) and isinstance(node.optional_vars, ast.Name):
            names.add(node.optional_vars.id)
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            if ast.unparse(node.value.func).endswith("Session"):
                names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def _module_names(tree: ast.Module) -> set[str]:
    """Names the script imports (``tf``, ``np``): an expression fetch may read them."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def _resolve(call: ast.Call, source: str, capture: Mapping, discarded: bool, site: Mapping | None,
             modules: set[str]) -> RunCall:
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
    try:
        leaves, template = read_fetches(fetch_node, source, capture, site, modules)
    except FetchError as error:
        return RunCall(call, None, {}, discarded, str(error))
    listed = isinstance(fetch_node, (ast.List, ast.Tuple))
    containers = (ast.List, ast.Tuple, ast.Dict)
    flat = not isinstance(fetch_node, containers) or (
        listed and not any(isinstance(element, containers) for element in fetch_node.elts))
    fetches = tuple(leaf.text for leaf in leaves)
    kinds = tuple(leaf.kind for leaf in leaves)
    feeds: dict[str, str] = {}
    feed_expression = None
    if isinstance(feed_node, ast.Dict) and all(isinstance(k, ast.Name) for k in feed_node.keys):
        problem = check_literal_feeds([k.id for k in feed_node.keys], site, capture)
        if problem:
            return RunCall(call, None, {}, discarded, problem)
        feeds = {k.id: ast.get_source_segment(source, v) for k, v in zip(feed_node.keys, feed_node.values)}
        names = tuple(feeds)
    elif feed_node is not None:
        names, problem = recorded_feeds(site, capture)
        if problem:
            return RunCall(call, None, {}, discarded, problem)
        feed_expression = ast.get_source_segment(source, feed_node)
    else:
        names = ()
    train_op = next((bindings[n] for n, k in zip(fetches, kinds) if k == "train"), None)
    loss_name = None
    if train_op is not None:
        if not flat:
            return RunCall(call, None, {}, discarded,
                           "a train op fetched inside a nested structure or a dict; fetch it in a flat list")
        loss_tensor = capture["train_ops"][train_op]["loss"]
        loss_name = next((n for n, g in bindings.items() if g == loss_tensor and "[" not in n), None)
        if loss_name is None:
            return RunCall(call, None, {}, discarded, "the optimizer's loss is held by no Python name")
    summaries = []
    for leaf in leaves:
        values, problem = summary_values(bindings[leaf.text], capture, train_op is not None) \
            if leaf.kind == "summary" else ("", "")
        if problem:
            return RunCall(call, None, {}, discarded, problem)
        summaries.append(values)
    signature = Signature(fetches, listed and flat, names, kinds, train_op, loss_name,
                          "" if flat else template, tuple(leaf.expression for leaf in leaves), tuple(summaries))
    return RunCall(call, signature, feeds, discarded, feed_expression=feed_expression)


def find_run_calls(tree: ast.Module, capture: Mapping) -> list[RunCall]:
    """Every session call in the source, resolved when the capture saw it run, else with a problem."""
    source = capture["source"]
    sites = {site["line"]: site for site in capture["call_sites"]}
    sessions = _session_names(tree)
    modules = _module_names(tree)
    discarded_calls = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
    calls = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        attr, receiver = node.func.attr, node.func.value
        lines = range(node.lineno, node.end_lineno + 1)
        site = next((sites[line] for line in lines if line in sites), None)
        session_run = attr == "run" and isinstance(receiver, ast.Name) and receiver.id in sessions
        held = isinstance(receiver, (ast.Name, ast.Subscript)) and ast.unparse(receiver) in capture["bindings"]
        tensor_eval = attr == "eval" and (held or (site is not None and not isinstance(receiver, ast.Name)))
        if not (session_run or tensor_eval):
            continue
        discarded = id(node) in discarded_calls
        if site is None:
            calls.append(RunCall(node, None, {}, discarded,
                                 "this call never ran while migrate recorded the script, so what it fetches is unknown"))
            continue
        calls.append(_resolve(node, source, capture, discarded, site, modules))
    return sorted(calls, key=lambda c: (c.node.lineno, c.node.col_offset))
