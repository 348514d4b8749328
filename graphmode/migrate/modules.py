"""The script's own functions that make variables and compute with them, as ``tf.Module`` classes.

TF1 tutorials build layers with a helper::

    def add_layer(inputs, in_size, out_size, activation_function=None):
        Weights = tf.Variable(tf.random_normal([in_size, out_size]))
        ...
        return outputs

    l1 = add_layer(xs, 1, 10, activation_function=tf.nn.relu)

Each call makes new variables and computes with them. In TF2 the making has
to happen once and the computing at every step, so the helper becomes a
``tf.Module`` class: its variable statements in ``__init__``, the rest in
``__call__``. Which parameters are tensors is read from the recording (the
call sites' arguments held graph tensors): they become ``__call__``'s
parameters, the others ``__init__``'s. Each call site gets one instance in the
Model, given the TF1 names its variables had (``names=("Variable",
"Variable_1")``), and the forward statement calls it: ``l1 = model.add_layer(xs)``.
"""

from __future__ import annotations

import ast
import dataclasses
import textwrap
from collections.abc import Mapping

from graphmode.migrate.splice import Render, offset, rewrite_calls
from graphmode.migrate.variables import VariableStatementError, get_variable_call

_MAKERS = ("Variable", "get_variable")
_NAME_SENTINEL = "__graphmode_tf1_name__"
_SCOPES = ("name_scope", "variable_scope")
_SUMMARIES = ("summary.scalar", "summary.histogram")
_MODULE_ATTRIBUTES = {"name", "name_scope", "variables", "trainable_variables", "non_trainable_variables",
                      "submodules", "with_name_scope"}


class ModuleError(ValueError):
    """A helper function migrate cannot turn into a module (the reason is the message)."""


def _makes_variables(node: ast.AST) -> list[ast.Call]:
    calls = [sub for sub in ast.walk(node) if isinstance(sub, ast.Call)
             and ast.unparse(sub.func).rsplit(".", 1)[-1] in _MAKERS]
    return sorted(calls, key=lambda call: (call.lineno, call.col_offset))


def variable_helpers(tree: ast.Module) -> dict[str, ast.FunctionDef]:
    """The script's module-level functions that create variables, by name."""
    return {node.name: node for node in tree.body
            if isinstance(node, ast.FunctionDef) and _makes_variables(node)}


def _is_scope(node: ast.stmt) -> bool:
    return isinstance(node, ast.With) and all(
        isinstance(item.context_expr, ast.Call)
        and ast.unparse(item.context_expr.func).rsplit(".", 1)[-1] in _SCOPES and item.optional_vars is None
        for item in node.items)


def _is_summary(node: ast.stmt) -> bool:
    """``tf.summary.histogram(name, tensor)`` as a statement: an output the run that fetches it returns."""
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
            and ast.unparse(node.value.func).endswith(_SUMMARIES))


def statements(body: list[ast.stmt]) -> list[ast.stmt]:
    """A helper's statements, scope blocks unwrapped (TF1 names are the recorded ones), summary statements left out."""
    found = []
    for node in body:
        if _is_scope(node):
            found += statements(node.body)
        elif not _is_summary(node):
            found.append(node)
    return found


def _class_name(function: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in function.split("_") if part) or "Helper"


@dataclasses.dataclass
class Helper:
    """One helper function as a module class.

    Attributes:
        function: its definition.
        tensor_parameters: the parameters the call sites fed tensors (``__call__``'s).
        class_name: the class written for it.
        attributes: the names its ``__init__`` sets (variables and kept parameters).
        variables: the variable statements' targets, in the order the variables are made.
        instances: how many call sites use it so far.
    """

    function: ast.FunctionDef
    tensor_parameters: tuple[str, ...]
    class_name: str
    variables: list[str]
    instances: int = 0

    @property
    def parameters(self) -> list[str]:
        return [a.arg for a in self.function.args.args]

    @property
    def constructor_parameters(self) -> list[str]:
        return [p for p in self.parameters if p not in self.tensor_parameters]


@dataclasses.dataclass
class Instance:
    """One call site of a helper: the Model attribute, its construction, the TF1 names of its variables."""

    helper: Helper
    attribute: str
    constructor: str
    weights: dict[str, str]  # TF1 variable name -> the attribute holding it in the instance
    call: tuple[int, int, int, int]


def _bind(call: ast.Call, function: ast.FunctionDef) -> dict[str, ast.AST]:
    arguments = function.args
    if arguments.vararg or arguments.kwarg or arguments.kwonlyargs or arguments.posonlyargs:
        raise ModuleError(f"{function.name}() takes *args, **kwargs or keyword-only parameters; migrate binds "
                          "plain parameters only")
    names = [a.arg for a in arguments.args]
    if len(call.args) > len(names) or any(isinstance(a, ast.Starred) for a in call.args) or any(
            k.arg is None for k in call.keywords):
        raise ModuleError(f"a call of {function.name}() with arguments migrate cannot place (*args/**kwargs)")
    bound = dict(zip(names, call.args))
    bound.update({k.arg: k.value for k in call.keywords})
    return bound


def _holds_tensor(node: ast.AST, bindings: Mapping[str, str], helpers: Mapping[str, ast.FunctionDef]) -> bool:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and ":" in bindings.get(sub.id, ""):
            return True
        if isinstance(sub, ast.Call) and ast.unparse(sub.func) in helpers:
            return True
    return False


def _stored(node: ast.AST) -> set[str]:
    return {sub.id for sub in ast.walk(node) if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store)}


def _loaded(node: ast.AST) -> list[ast.Name]:
    return [sub for sub in ast.walk(node) if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load)]


class ModulePlanner:
    """Plans the module classes and their instances for one script (see the module docstring)."""

    def __init__(self, tree: ast.Module, source: str, capture: Mapping, attributes: set[str]) -> None:
        self.source = source
        self.lines = source.splitlines(keepends=True)
        self.capture = capture
        self.functions = variable_helpers(tree)
        self.helpers: dict[str, Helper] = {}
        self.attributes = attributes
        self.taken_classes = {node.name for node in ast.walk(tree) if isinstance(node, (ast.ClassDef, ast.FunctionDef))}

    def calls(self, node: ast.AST) -> list[ast.Call]:
        """The helper calls in a statement, in the order Python evaluates them."""
        found = [sub for sub in ast.walk(node) if isinstance(sub, ast.Call) and ast.unparse(sub.func) in self.functions]
        return sorted(found, key=lambda call: (call.end_lineno, call.end_col_offset))

    def _helper(self, function: ast.FunctionDef, tensors: tuple[str, ...]) -> Helper:
        helper = self.helpers.get(function.name)
        if helper is None:
            name = _class_name(function.name)
            while name in self.taken_classes:
                name += "Module"
            self.taken_classes.add(name)
            variables = []
            for statement in statements(function.body):
                if _makes_variables(statement):
                    targets = statement.targets if isinstance(statement, ast.Assign) else []
                    if len(targets) != 1 or not isinstance(targets[0], ast.Name):
                        raise ModuleError(f"{function.name}() makes a variable in a statement other than "
                                          f"`name = tf.Variable(...)` (line {statement.lineno}); migrate moves "
                                          "such assignments into the module's __init__")
                    variables.append(targets[0].id)
            helper = Helper(function, tensors, name, variables)
            self.helpers[function.name] = helper
        elif helper.tensor_parameters != tensors:
            raise ModuleError(f"{function.name}() is fed tensors through {list(tensors)} here but through "
                              f"{list(helper.tensor_parameters)} elsewhere; migrate needs one split per function")
        return helper

    def plan_statement(self, node: ast.stmt, text: str) -> list[Instance]:
        """The instances for every helper call in one statement (``text`` is its source, dedented).

        Raises:
            ModuleError: a call migrate cannot turn into a module instance (the message says why).
        """
        calls = self.calls(ast.parse(text))
        if not calls:
            return []
        lines = range(node.lineno, node.end_lineno + 1)
        made = [v["name"] for v in self.capture["variables"] if v["line"] in lines]
        instances = []
        for call in calls:
            function = self.functions[ast.unparse(call.func)]
            bound = _bind(call, function)
            tensors = tuple(p for p in (a.arg for a in function.args.args)
                            if p in bound and _holds_tensor(bound[p], self.capture["bindings"], self.functions))
            helper = self._helper(function, tensors)
            count = sum(len(_makes_variables(s)) for s in function.body)
            names, made = made[:count], made[count:]
            if len(names) != count:
                raise ModuleError(f"{function.name}() has {count} variable calls but this call made {len(names)} "
                                  "variables; migrate needs each call to make every one of them once")
            constructor = [f"{p}={ast.get_source_segment(text, bound[p])}"
                           for p in helper.constructor_parameters if p in bound]
            constructor.append(f"names={tuple(names)!r}")
            attribute = function.name if helper.instances == 0 else f"{function.name}_{helper.instances}"
            while attribute in self.attributes:
                attribute += "_module"
            self.attributes.add(attribute)
            helper.instances += 1
            instances.append(Instance(helper, attribute, f"{helper.class_name}({', '.join(constructor)})",
                                      dict(zip(names, helper.variables)),
                                      (call.lineno, call.col_offset, call.end_lineno, call.end_col_offset)))
        if made:
            raise ModuleError(f"the statement also creates {made} outside its calls of the script's functions; "
                              "write those variables as their own statements")
        self.call_text(text, instances, "model")
        return instances

    def call_text(self, text: str, instances: list[Instance], model: str) -> str:
        """``text`` with each helper call replaced by a call of its instance, tensor arguments only."""
        by_location = {instance.call: instance for instance in instances}

        def replace(call: ast.Call, render: Render) -> str:
            instance = by_location[(call.lineno, call.col_offset, call.end_lineno, call.end_col_offset)]
            positional = [render(a) for a, p in zip(call.args, instance.helper.parameters)
                          if p in instance.helper.tensor_parameters]
            keywords = [f"{k.arg}={render(k.value)}" for k in call.keywords
                        if k.arg in instance.helper.tensor_parameters]
            return f"{model}.{instance.attribute}({', '.join(positional + keywords)})"

        return rewrite_calls(text, lambda call: ast.unparse(call.func) in self.functions, replace)

    # --- the class --------------------------------------------------------
    def class_code(self, name: str) -> str:
        """The module class written for the helper ``name``.

        Raises:
            ModuleError: its body cannot be split into making and computing.
        """
        helper = self.helpers[name]
        function = helper.function
        tensors = set(helper.tensor_parameters)
        made = set(helper.variables)
        init, call, kept = [], [], []
        previous = function.lineno  # comments between the def line and the first statement are kept
        body = statements(function.body)
        summary = ""
        if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
            summary = str(body[0].value.value).strip().splitlines()[0] + " "
            previous, body = body[0].end_lineno, body[1:]  # the docstring, now the class's
        index = 0
        for statement in body:
            gap = [line for line in self.lines[previous: statement.lineno - 1] if line.strip().startswith("#")]
            previous = statement.end_lineno
            text = (textwrap.dedent("".join(gap))
                    + textwrap.dedent("".join(self.lines[statement.lineno - 1: statement.end_lineno])))
            if _makes_variables(statement):
                used = {n.id for n in _loaded(statement)}
                if used & tensors:
                    raise ModuleError(f"{function.name}() makes a variable from a tensor argument "
                                      f"({sorted(used & tensors)}, line {statement.lineno}); the module makes its "
                                      "variables before any tensor exists")
                text, index = self._init_statement(text, made, index)
                init.append(text)
            else:
                if any(isinstance(sub, ast.Call) and ast.unparse(sub.func).rsplit(".", 2)[-2:-1] == ["summary"]
                       for sub in ast.walk(statement)):
                    raise ModuleError(f"{function.name}() makes a summary inside a statement (line "
                                      f"{statement.lineno}); migrate moves only summaries written as statements of "
                                      "their own, `tf.summary.histogram(name, tensor)`")
                if _stored(statement) & (made | set(helper.constructor_parameters)):
                    raise ModuleError(f"{function.name}() assigns to a variable or a parameter after making it "
                                      f"(line {statement.lineno})")
                used = {n.id for n in _loaded(statement)} & set(helper.constructor_parameters)
                kept += [p for p in sorted(used) if p not in kept]
                call.append(self._self_names(text, made | used))
        defaults = dict(zip([a.arg for a in function.args.args][::-1],
                            [ast.get_source_segment(self.source, d) for d in function.args.defaults][::-1]))

        def parameter(p: str) -> str:
            return f"{p}={defaults[p]}" if p in defaults else p

        clashes = sorted((made | set(kept)) & _MODULE_ATTRIBUTES)
        if clashes:
            raise ModuleError(f"{function.name}() keeps {clashes}, which tf.Module uses itself; rename them in the "
                              "script")
        init_parameters = ", ".join(["self", *map(parameter, helper.constructor_parameters), "names=None"])
        call_parameters = ", ".join(["self", *map(parameter, helper.tensor_parameters)])
        init.extend(f"self.{p} = {p}\n" for p in kept)
        lines = [
            f"class {helper.class_name}(tf.Module):",
            f'    """{summary}The script\'s {function.name}(): its variables made once, in __init__ (names: their '
            'TF1 names); what it computes, in __call__."""',
            "",
            f"    def __init__({init_parameters}):",
            "        super().__init__()",
            textwrap.indent("".join(init), " " * 8).rstrip("\n"),
            "",
            f"    def __call__({call_parameters}):",
            textwrap.indent("".join(call), " " * 8).rstrip("\n"),
        ]
        return "\n".join(lines) + "\n"

    def _init_statement(self, text: str, made: set[str], index: int) -> tuple[str, int]:
        tree = ast.parse(text)
        edits = []
        for call in _makes_variables(tree):
            end = offset(text, call.end_lineno, call.end_col_offset)
            if ast.unparse(call.func).endswith("get_variable"):
                try:
                    written = get_variable_call(call, text, _NAME_SENTINEL)
                except VariableStatementError as problem:
                    raise ModuleError(str(problem)) from None
                written = written.replace(repr(_NAME_SENTINEL), f"names[{index}]")
                edits.append((offset(text, call.lineno, call.col_offset), end, written))
            else:
                keyword = next((k for k in call.keywords if k.arg == "name"), None)
                if keyword is not None:
                    value = keyword.value
                    edits.append((offset(text, value.lineno, value.col_offset),
                                  offset(text, value.end_lineno, value.end_col_offset), f"names[{index}]"))
                else:
                    edits.append((end - 1, end - 1, f", name=names[{index}]"))
            index += 1
        for name in _loaded(tree):
            if name.id in made:
                at = offset(text, name.lineno, name.col_offset)
                edits.append((at, at, "self."))
        for name in (sub for sub in ast.walk(tree) if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store)):
            at = offset(text, name.lineno, name.col_offset)
            edits.append((at, at, "self."))
        for start, end, replacement in sorted(edits, reverse=True):
            text = text[:start] + replacement + text[end:]
        return text, index

    @staticmethod
    def _self_names(text: str, names: set[str]) -> str:
        tree = ast.parse(text)
        edits = sorted((offset(text, n.lineno, n.col_offset) for n in _loaded(tree) if n.id in names), reverse=True)
        for at in edits:
            text = text[:at] + "self." + text[at:]
        return text
