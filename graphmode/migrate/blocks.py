"""Compound statements that build the graph: ``if``/``for``/``while`` blocks moved whole, or split by kind.

Python control flow around graph building runs once in TF1, when the graph is
built, and once in TF2 too: when ``tf.function`` traces. So a block that builds
only forward ops (``if args.variant == "a": loss = ...``, a ``for`` that chains
tensors) moves, unchanged, into the functions that need what it computes.

An ``if`` whose branches also make placeholders and variables is split by kind,
each part keeping the script's ``if``: the placeholders' shapes become a module
level ``if`` that sets ``<name>_spec`` (``tf.TensorSpec``, read by the
functions' ``input_signature``), the variable statements become the same ``if``
in the Model's ``__init__``, and the forward statements the same ``if`` in the
functions. What each statement of the branch that ran did comes from the
recording; the branches that did not run are read from their source (a
``tf.placeholder`` call, a ``tf.Variable`` / ``tf.get_variable`` call, or
forward code), and the lockstep check proves the branch that ran.
"""

from __future__ import annotations

import ast
import dataclasses
import textwrap
from collections.abc import Callable, Mapping

from graphmode.migrate.loops import LoopRefused, split_loop
from graphmode.migrate.statements import Role, Unit, assigned_names, dotted, used_names
from graphmode.migrate.variables import VariableStatementError, variable_statement

_MOVABLE = (ast.If, ast.For, ast.While)
_VARIABLE_CALLS = ("Variable", "get_variable")
_HAND_UPDATES = {"gradients", "assign", "assign_sub", "assign_add", "apply_gradients"}
_NOT_FORWARD = {"VariableV2", "VarHandleOp", "Placeholder", "PlaceholderWithDefault"}


@dataclasses.dataclass(frozen=True)
class BlockParts:
    """An ``if`` split by kind, each part an ``if`` of its own (None where a kind has no statement).

    Attributes:
        forward: the forward statements, for the functions' bodies.
        forward_targets: the names the forward part assigns.
        forward_reads: the names the forward part reads.
        specs: the module-level ``if`` that sets each placeholder's ``<name>_spec``.
        placeholders: the placeholder names the block makes.
        variables: the Model ``__init__`` lines (``self.A = tf.Variable(...)``).
        variable_targets: the names the variable part assigns.
        unrecorded: the lines of branch statements that built nothing while recorded (read from their source).
    """

    forward: str | None
    forward_targets: tuple[str, ...]
    forward_reads: frozenset[str]
    specs: str | None
    placeholders: tuple[str, ...]
    variables: str | None
    variable_targets: tuple[str, ...]
    unrecorded: tuple[int, ...] = ()

    def forward_code(self, model: str) -> str:
        """The forward ``if``, for the functions' bodies (``model``: unused, its variables have module names)."""
        return self.forward

    def after_model(self, model: str) -> str:
        """Nothing: the variable part's names are bound by the Model's alias line."""
        return ""


class _Refused(Exception):
    pass


def _simple_statements(node: ast.AST) -> bool:
    """True when a block holds only assignments, expressions and nested if/for/while blocks of them."""
    for statement in ast.iter_child_nodes(node):
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.With, ast.Try,
                                  ast.Return, ast.Import, ast.ImportFrom, ast.Global, ast.Nonlocal)):
            return False
        if isinstance(statement, ast.stmt) and not _simple_statements(statement):
            return False
    return True


def _stored(node: ast.AST) -> tuple[str, ...]:
    names = [sub.id for sub in ast.walk(node) if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store)]
    return tuple(dict.fromkeys(names))


def _kind_from_source(statement: ast.stmt) -> str:
    """What a statement makes, read from its source: placeholder, variable or forward."""
    value = getattr(statement, "value", None)
    called = {dotted(sub.func).rsplit(".", 1)[-1] for sub in ast.walk(statement) if isinstance(sub, ast.Call)}
    if isinstance(value, ast.Call) and dotted(value.func).rsplit(".", 1)[-1] == "placeholder":
        return "placeholder"
    if called & set(_VARIABLE_CALLS):
        if not (isinstance(value, ast.Call) and dotted(value.func).rsplit(".", 1)[-1] in _VARIABLE_CALLS):
            raise _Refused(f"line {statement.lineno} both creates a variable and computes with it")
        return "variable"
    if "placeholder" in called:
        raise _Refused(f"line {statement.lineno} both creates a placeholder and computes with it")
    return "forward"


def _kind_recorded(statement: ast.stmt, capture: Mapping, op_lines: Mapping[int, list[dict]]) -> str | None:
    """What a statement made according to the recording (None: it built nothing when recorded)."""
    lines = range(statement.lineno, statement.end_lineno + 1)
    types = {op["type"] for line in lines for op in op_lines.get(line, ())}
    if not types:
        return None
    if any(v["line"] in lines for v in capture["variables"]):
        return "variable"
    if types <= {"Placeholder", "PlaceholderWithDefault"}:
        return "placeholder"
    return "forward" if not types & _NOT_FORWARD else "mixed"


def _spec(statement: ast.Assign, source: str) -> str:
    call = statement.value
    arguments = dict(zip(("dtype", "shape", "name"), call.args))
    arguments.update({k.arg: k.value for k in call.keywords})
    shape = ast.get_source_segment(source, arguments["shape"]) if "shape" in arguments else "None"
    dtype = ast.get_source_segment(source, arguments["dtype"])
    return f"{statement.targets[0].id}_spec = tf.TensorSpec({shape}, {dtype})\n"


def _render(node: ast.If, source: str, pick: Callable[[ast.stmt], str | None]) -> str | None:
    """The ``if`` with, in each branch, only the statements ``pick`` keeps (as ``pick`` writes them)."""
    def branch(statements: list[ast.stmt]) -> tuple[str, bool]:
        texts = [pick(statement) for statement in statements]
        kept = "".join(text for text in texts if text)
        return textwrap.indent(kept or "pass\n", "    "), bool(kept)

    body, any_kept = branch(node.body)
    text = f"if {ast.get_source_segment(source, node.test)}:\n{body}"
    rest = node.orelse
    while len(rest) == 1 and isinstance(rest[0], ast.If):
        part, kept = branch(rest[0].body)
        any_kept |= kept
        text += f"elif {ast.get_source_segment(source, rest[0].test)}:\n{part}"
        rest = rest[0].orelse
    if rest:
        part, kept = branch(rest)
        any_kept |= kept
        text += f"else:\n{part}"
    return text if any_kept else None


def _branch_statements(node: ast.If) -> list[ast.stmt]:
    statements, rest = list(node.body), node.orelse
    while len(rest) == 1 and isinstance(rest[0], ast.If):
        statements += rest[0].body
        rest = rest[0].orelse
    return statements + list(rest)


def _split(unit: Unit, source: str, lines: list[str], capture: Mapping, op_lines: Mapping[int, list[dict]]) -> BlockParts:
    node = unit.node
    kinds: dict[int, str] = {}
    unrecorded = []
    for statement in _branch_statements(node):
        if not isinstance(statement, ast.Assign) or len(statement.targets) != 1 or not isinstance(
                statement.targets[0], ast.Name):
            raise _Refused(f"line {statement.lineno} is not a plain assignment to one name")
        written = _kind_from_source(statement)
        recorded = _kind_recorded(statement, capture, op_lines)
        if recorded is None:
            unrecorded.append(statement.lineno)
        if recorded is not None and recorded != written:
            raise _Refused(f"line {statement.lineno} reads as a {written} statement, but the recording says it "
                           f"built {recorded} ops")
        kinds[id(statement)] = written

    def text(statement: ast.stmt) -> str:
        return textwrap.dedent("".join(lines[statement.lineno - 1 : statement.end_lineno]))

    def variable(statement: ast.stmt) -> str | None:
        if kinds.get(id(statement)) != "variable":
            return None
        inner = Unit(statement, unit.depth, unit.scopes)
        ran = any(v["line"] in inner.lines for v in capture["variables"])
        known = capture if ran else {"variables": [{"name": _written_name(statement, unit.scopes),
                                                     "line": statement.lineno}]}
        try:
            return variable_statement(text(statement), inner, known)
        except VariableStatementError as error:
            raise _Refused(f"line {statement.lineno}: {error}") from None

    def kind_text(kind: str, write: Callable[[ast.stmt], str]) -> Callable[[ast.stmt], str | None]:
        return lambda statement: write(statement) if kinds.get(id(statement)) == kind else None

    forward_statements = [s for s in _branch_statements(node) if kinds[id(s)] == "forward"]
    return BlockParts(
        forward=_render(node, source, kind_text("forward", text)),
        forward_targets=tuple(dict.fromkeys(n for s in forward_statements for n in assigned_names(s))),
        forward_reads=frozenset(used_names(node.test)).union(*(used_names(s) for s in forward_statements)),
        specs=_render(node, source, kind_text("placeholder", lambda s: _spec(s, source))),
        placeholders=tuple(dict.fromkeys(s.targets[0].id for s in _branch_statements(node)
                                         if kinds[id(s)] == "placeholder")),
        variables=_render(node, source, variable),
        variable_targets=tuple(dict.fromkeys(s.targets[0].id for s in _branch_statements(node)
                                             if kinds[id(s)] == "variable")),
        unrecorded=tuple(unrecorded),
    )


def _written_name(statement: ast.Assign, scopes: tuple[str, ...]) -> str:
    """The TF1 name a variable statement that never ran would have had, from its ``name=`` / first argument."""
    call = statement.value
    getter = dotted(call.func).endswith("get_variable")
    node = call.args[0] if getter and call.args else next((k.value for k in call.keywords if k.arg == "name"), None)
    if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
        raise _Refused(f"line {statement.lineno} never ran while recording and names no variable (name=...): "
                       "migrate cannot tell the TF1 name a checkpoint would hold")
    return "/".join((*scopes, node.value)) if getter else node.value


def _train_op_reason(node: ast.stmt, capture: Mapping) -> str:
    """Why a block that makes the training op stays: which line made it, and any update written by hand."""
    lines_of = range(node.lineno, node.end_lineno + 1)
    made = sorted({(t["line"], t["tf1_class"]) for t in capture["train_ops"].values() if t["line"] in lines_of})
    ran = "; ".join(f"line {line} made it ({kind}.minimize)" for line, kind in made)
    by_hand = sorted({(sub.lineno, dotted(sub.func).rsplit(".", 1)[-1]) for sub in ast.walk(node)
                      if isinstance(sub, ast.Call) and dotted(sub.func).rsplit(".", 1)[-1] in _HAND_UPDATES})
    hand = ""
    if by_hand:
        calls = ", ".join(f"{name} at line {line}" for line, name in by_hand)
        hand = (f"; the block also applies gradients by hand ({calls}), which migrate does not write (its "
                "training step is a Keras optimizer's apply_gradients)")
    ran = ran or "a name it binds holds it"
    return (f"a compound statement ({type(node).__name__.lower()}) that makes the training op ({ran}){hand}; migrate writes one training step per optimizer's minimize outside any block, "
            "so make the train op after the block (for a script with variants, one minimize the variants share)")


def refine_block(unit: Unit, source: str, lines: list[str], capture: Mapping,
                 op_lines: Mapping[int, list[dict]]) -> None:
    """Makes a compound statement that builds the graph FORWARD (moved whole, or split by kind), or says why not.

    Called for a unit :func:`graphmode.migrate.statements.classify` marked UNMIGRATABLE as a compound
    statement; leaves it so, with a sharper reason, when the block cannot move.
    """
    node = unit.node
    if not isinstance(node, _MOVABLE) or not _simple_statements(node):
        return
    lines_of = range(node.lineno, node.end_lineno + 1)
    built = [op for line in lines_of for op in op_lines.get(line, ())]
    variables = {v["name"] for v in capture["variables"]}
    held = [capture["bindings"][name] for name in _stored(node) if name in capture["bindings"]]
    trains = [name for name in held if name in capture["train_ops"]]
    if trains or any(t["line"] in lines_of for t in capture["train_ops"].values()):
        unit.reason = _train_op_reason(node, capture)
        return
    if not {op["type"] for op in built} & _NOT_FORWARD and not set(held) & variables:
        unit.role, unit.targets, unit.reason = Role.FORWARD, _stored(node), ""
        return
    if isinstance(node, ast.For):
        try:
            loop = split_loop(node, lines, source, capture, op_lines)
        except LoopRefused as refused:
            unit.reason = (f"a for loop that makes variables, and {refused}; migrate splits a loop whose passes each "
                           "make their variables in `name = tf.Variable(...)` statements and compute with them")
            return
        unit.role, unit.targets, unit.reason, unit.block = Role.FORWARD, _stored(node), "", loop
        return
    if not isinstance(node, ast.If):
        unit.reason = (f"a {type(node).__name__.lower()} loop that makes variables or placeholders; migrate moves "
                       "loops that build only forward ops and splits for loops that make variables")
        return
    try:
        parts = _split(unit, source, lines, capture, op_lines)
    except _Refused as refused:
        unit.reason = f"an if block that makes placeholders or variables, and {refused}"
        return
    unit.role, unit.targets, unit.reason = Role.FORWARD, _stored(node), ""
    unit.block = parts
