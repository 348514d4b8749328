"""A ``for`` loop that makes variables while it computes, split by kind into the Model and the functions.

TF1 tutorials build their layers in a loop::

    for i, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:]), start=1):
        w = tf.Variable(tf.truncated_normal([fan_in, fan_out], stddev=0.1), name=f"w{i}")
        params += [w, b]
        layer = tf.matmul(layer, w)

The loop runs once, when the graph is built; each pass makes new variables and
computes with them. In TF2 the making happens once, in the Model, and the
computing at every step, in the functions. So the loop is written three times,
each keeping the script's ``for`` header:

* in the Model's ``__init__``, its variable statements, each pass's variables
  appended to a list on the Model named after the script's name
  (``self.w = []`` … ``self.w.append(w)``), each named as TF1 named it (the
  recorded names, ``name=("w1", "w2", "w3")[len(self.w)]``);
* in the functions, its forward statements, reading that pass's variables:
  ``for i, w in zip(range(3), model.w):``;
* after the Model is made, its bookkeeping (statements that build nothing and
  keep the variables, ``params += [w, b]``), as a loop over the same lists, so
  the script's lists hold the Model's variables; without bookkeeping, the
  loop's names are bound to the last pass's variables, as after the TF1 loop.
"""

from __future__ import annotations

import ast
import dataclasses
import textwrap
from collections.abc import Mapping

from graphmode.migrate.splice import offset
from graphmode.migrate.statements import dotted, used_names
from graphmode.migrate.variables import VariableStatementError, get_variable_call

_VARIABLE_CALLS = ("Variable", "get_variable")
_NAME_SENTINEL = "__graphmode_tf1_name__"
# tf.Module's own attributes: a list of the loop's variables cannot take these names.
_MODULE_ATTRIBUTES = {"name", "name_scope", "variables", "trainable_variables", "non_trainable_variables",
                      "submodules", "with_name_scope"}


class LoopRefused(Exception):
    """A loop migrate cannot split (the reason is the message)."""


@dataclasses.dataclass(frozen=True)
class LoopParts:
    """A ``for`` loop split by kind (see the module docstring).

    Attributes:
        line: the loop's line in the script.
        target: the loop's target as written (parenthesized when a bare tuple).
        iterable: the loop's iterable as written.
        lists: the variable statements' targets: the Model's lists, one variable per pass in each.
        variables: the Model ``__init__`` lines.
        forward_body: the forward statements (the loop's body in the functions), or None.
        forward_targets: the names the forward part assigns.
        forward_reads: the names the forward part reads from outside the loop.
        bookkeeping_body: the statements that keep the variables (``params += [w, b]``), or None.
        carried: names the forward part starts from that hold a Model variable before the loop.
        names: TF1 variable name -> (list, index) in the Model.
    """

    line: int
    target: str
    iterable: str
    lists: tuple[str, ...]
    variables: str
    forward_body: str | None
    forward_targets: tuple[str, ...]
    forward_reads: frozenset[str]
    bookkeeping_body: str | None
    names: dict[str, tuple[str, int]]
    carried: tuple[str, ...] = ()
    specs: None = None
    placeholders: tuple[str, ...] = ()
    variable_targets: tuple[str, ...] = ()
    unrecorded: tuple[int, ...] = ()

    def _header(self, model: str, body: str) -> str:
        read = [name for name in self.lists if name in used_names(ast.parse(body))]
        if not read:
            return f"for {self.target} in {self.iterable}:\n"
        lists = ", ".join(f"{model}.{name}" for name in read)
        return f"for {self.target}, {', '.join(read)} in zip({self.iterable}, {lists}):\n"

    def forward_code(self, model: str) -> str:
        """The loop as the functions run it: each pass reads that pass's variables from the Model."""
        body = self.forward_body or "pass\n"
        start = "".join(f"{name} = {model}.{name}  # the variable the loop starts from\n" for name in self.carried)
        return start + self._header(model, body) + textwrap.indent(body, "    ")

    def after_model(self, model: str) -> str:
        """Module-level code after the Model is made: the bookkeeping, or the last pass's names."""
        if self.bookkeeping_body is None:
            lasts = ", ".join(f"{model}.{name}[-1]" for name in self.lists)
            return f"{', '.join(self.lists)} = {lasts}  # the last pass's variables, as after the TF1 loop\n"
        lists = ", ".join(f"{model}.{name}" for name in self.lists)
        return (f"# the for loop of line {self.line} keeps its variables: the Model's, pass by pass\n"
                f"for {self.target}, {', '.join(self.lists)} in zip({self.iterable}, {lists}):\n"
                + textwrap.indent(self.bookkeeping_body, "    "))

    def variable_paths(self, model: str) -> dict[str, str]:
        """TF1 variable name -> ``model.w[0]``."""
        return {name: f"{model}.{attribute}[{index}]" for name, (attribute, index) in self.names.items()}


def _makes(node: ast.AST, names: tuple[str, ...]) -> bool:
    return any(isinstance(sub, ast.Call) and dotted(sub.func).rsplit(".", 1)[-1] in names for sub in ast.walk(node))


def _stored(node: ast.AST) -> set[str]:
    return {sub.id for sub in ast.walk(node) if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store)}


def _variable_text(statement: ast.Assign, text: str, names: tuple[str, ...], attribute: str) -> str:
    """The variable statement with its ``name=`` the pass's TF1 name: ``("w1", "w2")[len(self.w)]``."""
    tree = ast.parse(text)
    call = tree.body[0].value
    pick = f"{names!r}[len(self.{attribute})]"
    start, end = offset(text, call.lineno, call.col_offset), offset(text, call.end_lineno, call.end_col_offset)
    if dotted(call.func).endswith("get_variable"):
        try:
            written = get_variable_call(call, text, _NAME_SENTINEL)
        except VariableStatementError as problem:
            raise LoopRefused(f"line {statement.lineno}: {problem}") from None
        return text[:start] + written.replace(repr(_NAME_SENTINEL), pick) + text[end:]
    keyword = next((k for k in call.keywords if k.arg == "name"), None)
    if keyword is None:
        return text[: end - 1] + f", name={pick}" + text[end - 1 :]
    value = keyword.value
    return (text[: offset(text, value.lineno, value.col_offset)] + pick
            + text[offset(text, value.end_lineno, value.end_col_offset) :])


def split_loop(node: ast.For, lines: list[str], source: str, capture: Mapping,
               op_lines: Mapping[int, list[dict]]) -> LoopParts:
    """Splits a ``for`` that makes variables into its Model, function and bookkeeping parts.

    Raises:
        LoopRefused: the loop is outside the pattern migrate can prove (the message says which line and why).
    """
    if node.orelse:
        raise LoopRefused("it has an else clause")
    if any(isinstance(sub, (ast.Break, ast.Continue)) for sub in ast.walk(node)):
        raise LoopRefused("it has a break or continue, so its passes need not each make the same variables")
    tensors = {name for name, graph in capture["bindings"].items() if ":" in graph and "[" not in name}
    loop_names = _stored(node.target)
    if used_names(node.iter) & tensors - loop_names:
        raise LoopRefused("its iterable reads tensors; migrate splits loops over Python values")

    def text(statement: ast.stmt) -> str:
        return textwrap.dedent("".join(lines[statement.lineno - 1 : statement.end_lineno]))

    made: dict[int, list[str]] = {}
    for variable in capture["variables"]:
        made.setdefault(variable["line"], []).append(variable["name"])
    kinds: list[tuple[ast.stmt, str]] = []
    lists: list[str] = []
    for statement in node.body:
        span = range(statement.lineno, statement.end_lineno + 1)
        if _makes(statement, ("placeholder", "placeholder_with_default")):
            raise LoopRefused(f"line {statement.lineno} makes a placeholder in the loop; make it before the loop")
        if _makes(statement, _VARIABLE_CALLS):
            value = getattr(statement, "value", None)
            if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1
                    and isinstance(statement.targets[0], ast.Name) and isinstance(value, ast.Call)
                    and dotted(value.func).rsplit(".", 1)[-1] in _VARIABLE_CALLS):
                raise LoopRefused(f"line {statement.lineno} makes a variable in a statement other than "
                                  "`name = tf.Variable(...)` (or tf.get_variable); make each pass's variables in "
                                  "their own statements at the loop's top level")
            kinds.append((statement, "variable"))
            lists.append(statement.targets[0].id)
            continue
        built = {op["type"] for line in span for op in op_lines.get(line, ())}
        if built & {"VariableV2", "VarHandleOp", "Placeholder", "PlaceholderWithDefault"}:
            raise LoopRefused(f"line {statement.lineno} makes variables or placeholders through a call (a TF1 layer, "
                              "a function of the script); migrate splits loops whose variables are made in "
                              "`name = tf.Variable(...)` statements")
        kinds.append((statement, "forward" if built else "plain"))
    if len(set(lists)) != len(lists):
        raise LoopRefused(f"it assigns {sorted({n for n in lists if lists.count(n) > 1})} twice as a variable")
    if set(lists) & _MODULE_ATTRIBUTES:
        raise LoopRefused(f"its variable names {sorted(set(lists) & _MODULE_ATTRIBUTES)} are tf.Module's own "
                          "attributes; rename them in the script")
    counts = {}
    for statement, kind in kinds:
        if kind == "variable":
            counts[statement.targets[0].id] = made.get(statement.lineno, [])
    passes = {len(names) for names in counts.values()}
    if len(passes) != 1 or 0 in passes:
        raise LoopRefused("its variable statements made " + ", ".join(f"{n}: {len(v)}" for n, v in counts.items())
                          + " variables while recorded; migrate needs every pass to make one of each")
    forward_targets: set[str] = set()
    for statement, kind in kinds:
        if kind == "forward":
            forward_targets |= _stored(statement)
    # A statement that builds nothing belongs to the forward part when it reads what the forward part computes,
    # or sets what the forward part reads (``scale = 2 ** i``).
    # A statement that reads the pass's variables and builds nothing keeps them (``params += [w, b]``).
    keeps = {id(s) for s, k in kinds if k == "plain" and used_names(s) & set(lists)}
    for _ in range(len(kinds)):
        forward_reads = set().union(*(used_names(s) for s, k in kinds if k == "forward"))
        for index, (statement, kind) in enumerate(kinds):
            if kind == "plain" and id(statement) not in keeps and (
                    used_names(statement) & forward_targets or _stored(statement) & forward_reads):
                kinds[index] = (statement, "forward")
                forward_targets |= _stored(statement)
    forward_reads = set().union(*(used_names(s) for s, k in kinds if k == "forward"))
    for statement, _kind in kinds:
        touched = (used_names(statement) | _stored(statement)) - loop_names - set(lists)
        if id(statement) in keeps and touched & (forward_reads | forward_targets):
            raise LoopRefused(f"line {statement.lineno} keeps the pass's variables in "
                              f"{sorted(touched & (forward_reads | forward_targets))}, which the loop's computing "
                              "statements also use; the Model's lists are filled before any step, not pass by pass")
    plain_targets = set().union(*(_stored(s) for s, k in kinds if k == "plain"))
    for statement, kind in kinds:
        reads = used_names(statement)
        if kind == "variable" and reads & (forward_targets | tensors) - loop_names:
            raise LoopRefused(f"line {statement.lineno} makes a variable from a tensor "
                              f"({sorted(reads & (forward_targets | tensors) - loop_names)}); the Model makes its "
                              "variables before any tensor exists")
        if kind == "variable" and reads & (plain_targets | forward_targets) - loop_names:
            raise LoopRefused(f"line {statement.lineno} makes a variable from a name the loop's body sets "
                              f"({sorted(reads & (plain_targets | forward_targets) - loop_names)}); compute it in the "
                              "variable statement itself")
        if kind == "plain" and _stored(statement) & set(lists):
            raise LoopRefused(f"line {statement.lineno} assigns to the loop's variable name {sorted(_stored(statement) & set(lists))}")
    forward = [s for s, k in kinds if k == "forward"]
    plain = [s for s, k in kinds if k == "plain"]
    variables = [s for s, k in kinds if k == "variable"]
    header_target = ast.get_source_segment(source, node.target)
    if isinstance(node.target, ast.Tuple) and not header_target.startswith("("):
        header_target = f"({header_target})"
    iterable = ast.get_source_segment(source, node.iter)
    init = [f"self.{lists[0]} = []\n" if len(lists) == 1
            else f"{', '.join(f'self.{n}' for n in lists)} = {', '.join('[]' for _ in lists)}\n",
            f"for {ast.get_source_segment(source, node.target)} in {iterable}:\n"]
    for statement in variables:
        name = statement.targets[0].id
        init.append(textwrap.indent(_variable_text(statement, text(statement), tuple(counts[name]), name), "    "))
    init += [f"    self.{name}.append({name})\n" for name in lists]
    comment = (f"# The for loop of line {node.lineno}: each pass's variables kept in a list "
               f"({', '.join(f'self.{n}' for n in lists)}), named as TF1 named them\n")
    reads = set(used_names(node.iter)).union(*(used_names(s) for s in forward)) - loop_names - set(lists)
    return LoopParts(
        line=node.lineno,
        target=header_target,
        iterable=iterable,
        lists=tuple(lists),
        variables=comment + "".join(init),
        forward_body="".join(text(s) for s in forward) or None,
        forward_targets=tuple(sorted(forward_targets)),
        forward_reads=frozenset(reads),
        bookkeeping_body="".join(text(s) for s in plain) or None,
        names={tf1: (name, index) for name, recorded in counts.items() for index, tf1 in enumerate(recorded)},
    )
