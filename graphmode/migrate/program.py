"""Writing the TF2 program: the script's own source, its graph building turned into TF2 code.

The script is rewritten statement by statement (:mod:`graphmode.migrate.statements`
says what each did): lines that do not build the graph stay as written, apart
from TF1 names TF2 renamed; variable statements move into a ``tf.Module``
named ``Model`` (each ``tf.Variable`` named as in the TF1 graph); the forward
statements move, unchanged, into one function per distinct ``Session.run``
(placeholders become its parameters, a train op a ``tf.GradientTape`` step with
the Keras counterpart of the TF1 optimizer); each ``sess.run(...)`` becomes a
call of its function. Statements it cannot express are kept, commented out,
inside a marked block that says why.
"""

from __future__ import annotations

import ast
import dataclasses
import textwrap
from collections.abc import Mapping

from graphmode.migrate.blocks import refine_block
from graphmode.migrate.calls import RunCall, Signature, find_run_calls
from graphmode.migrate.feeds import rebound_names, string_keys
from graphmode.migrate.model_parts import ModelParts, helper_names
from graphmode.migrate.optimizers import global_step_lines
from graphmode.migrate.renames import rename_tf1_symbols
from graphmode.migrate.statements import Role, Unit, classify, dotted, used_names, walk_units
from graphmode.migrate.variables import variable_statement

NOT_MIGRATED = "graphmode migrate: NOT MIGRATED"
_RANDOM_OPS = ("Random", "TruncatedNormal", "Multinomial", "StatelessRandom")
_INDENT = "    "
_CONCRETE_COMMENT = "one graph; calls skip tf.function's argument matching"
_NUMPY_HELPER = '''

def numpy(values):
    """Tensors as NumPy values, as Session.run returned them."""
    if isinstance(values, list):  # the usual list of fetches: walked here, as tf.nest's walk costs more
        return [numpy(value) for value in values]
    if values is None or tf.is_tensor(values):
        return None if values is None else values.numpy()
    return tf.nest.map_structure(lambda value: None if value is None else value.numpy(), values)
'''


@dataclasses.dataclass
class Program:
    """A migrated program and what migration could not do.

    Attributes:
        code: the program's source.
        not_migrated: ``(line, reason)`` for every original statement left in a NOT MIGRATED block.
        train_function: the name of the generated training step (None if the script trains nothing).
        train_signature: the training step's placeholder parameters, in order: (parameter, TF1 tensor name).
        loss_index: where the loss is in what the training step returns (None: it returns the loss itself).
        optimizer_name: the global name of the Keras optimizer the training step uses.
        variables: TF1 variable name -> the expression that reaches it in the program's globals.
        notes: what a reader of the report should know (optimizer arguments, approximations).
        run_functions: each generated function that computes (trains nothing) -> where the run calls
            it stands for are in the script, ``[line, column]`` each.
    """

    code: str
    not_migrated: list[tuple[int, str]]
    train_function: str | None
    train_signature: list[tuple[str, str]]
    loss_index: int | None
    optimizer_name: str | None
    variables: dict[str, str]
    notes: list[str]
    run_functions: dict[str, list[int]] = dataclasses.field(default_factory=dict)


def _segment(lines: list[str], node: ast.AST) -> str:
    """The source text of a statement, whole lines, dedented."""
    return textwrap.dedent("".join(lines[node.lineno - 1 : node.end_lineno]))


def _indent(code: str, levels: int) -> str:
    return textwrap.indent(code, _INDENT * levels)


def _not_migrated_block(text: str, first_line: int, reason: str, levels: int) -> str:
    commented = "".join(f"# {line}" if line.strip() else "#\n" for line in text.splitlines(keepends=True))
    block = f"# --- {NOT_MIGRATED} (original line {first_line}): {reason} ---\n{commented}# --- end ---\n"
    return _indent(block, levels)


class _Writer:
    def __init__(self, source: str, capture: Mapping, optimizer_code: Mapping[str, tuple[str, list[str]]]) -> None:
        self.source = source
        capture = dict(capture, source=source)
        self.lines = source.splitlines(keepends=True)
        self.capture = capture
        self.optimizer_code = optimizer_code
        self.tree = ast.parse(source)
        self.units = list(walk_units(self.tree.body))
        op_lines: dict[int, list[dict]] = {}
        for op in capture["ops"].values():
            if op["line"] is not None:
                op_lines.setdefault(op["line"], []).append(op)
        self.run_calls = find_run_calls(self.tree, capture)
        run_lines = {line for call in self.run_calls for line in range(call.node.lineno, call.node.end_lineno + 1)}
        capture["variable_helpers"] = helper_names(self.tree)
        for unit in self.units:
            classify(unit, capture, op_lines, run_lines)
            if unit.role is Role.UNMIGRATABLE and not any(op["line"] in unit.lines
                                                          for op in capture["unmigratable_ops"]):
                refine_block(unit, source, self.lines, capture, op_lines)
        self.parts = ModelParts(self.tree, source, capture,
                                {name for unit in self.units if unit.role is Role.VARIABLE for name in unit.targets})
        self.parts.plan(self.units, lambda unit: _segment(self.lines, unit.node), Role.FORWARD, Role.UNMIGRATABLE)
        self.not_migrated: list[tuple[int, str]] = []
        self.gaps, previous_end = {}, 0
        for unit in self.units:
            self.gaps[id(unit)] = self._gap(previous_end, unit.node.lineno)
            previous_end = unit.node.end_lineno
        self.notes: list[str] = [
            f"line {unit.node.lineno}: the if's statements at line(s) {', '.join(map(str, unit.block.unrecorded))} "
            "built nothing while recorded (their branch did not run): migrated from their source, and the "
            "lockstep check proves only the branch that ran" for unit in self.units if unit.block and unit.block.unrecorded]
        self.placeholders = self._placeholder_names()
        # Feed-dict keys spelled with a placeholder's name become strings, unless the name means something else too.
        self.feed_keys = set(self.placeholders) - rebound_names(self.tree)
        self.forward = [unit for unit in self.units if unit.role is Role.FORWARD]
        self.savers = {name for unit in self.units if unit.role is Role.SAVER for name in unit.targets}
        self.taken = {name for unit in self.units for name in unit.targets} | used_names(self.tree)
        self.taken |= {node.name for node in ast.walk(self.tree) if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
        # The script's own names win: its function `model` keeps its name, the Module takes another.
        self.model_name = self._fresh("model")
        self.model_class = self._fresh("Model")

    def _forward_text(self, unit: Unit) -> str:
        if unit.block is not None:
            return unit.block.forward
        return self.parts.forward_text(unit, _segment(self.lines, unit.node), self.model_name)

    def _placeholder_names(self) -> dict[str, str]:
        """Python name -> TF1 placeholder tensor name, in definition order."""
        names = {}
        for unit in self.units:
            if unit.role is Role.PLACEHOLDER:
                # The placeholder the statement built, not the name's last binding (names get bound again).
                built = [op for op, info in self.capture["ops"].items()
                         if info["type"] == "Placeholder" and info["line"] in unit.lines]
                for name in unit.targets:
                    names[name] = f"{built[0]}:0" if len(built) == 1 == len(unit.targets) else self.capture["bindings"][name]
            elif unit.block is not None:
                names.update({name: self.capture["bindings"][name] for name in unit.block.placeholders})
        return names

    def _fresh(self, wanted: str) -> str:
        name, count = wanted, 1
        while name in self.taken:
            count += 1
            name = f"{wanted}_{count}"
        self.taken.add(name)
        return name

    # --- functions --------------------------------------------------------
    def _slice(self, wanted: set[str], before: int | None = None) -> tuple[list[Unit], set[str]]:
        """The forward units that compute ``wanted`` names (source order), and the placeholders they read.

        The walk goes backwards from ``before`` (the first line that runs the function), so a name the
        script binds again later (``a = tf.constant(2)``, then ``a = tf.placeholder(...)``) is computed
        by the statement that held it when the run happened.
        """
        needed, chosen, inputs = set(wanted), [], set()
        for unit in reversed(self.units):
            if before is not None and unit.node.lineno >= before:
                continue
            targets = set(unit.block.forward_targets if unit.block else unit.targets)
            if unit.role is Role.FORWARD and needed & targets:
                chosen.append(unit)
                needed = (needed - targets) | (unit.block.forward_reads if unit.block else used_names(unit.node))
            if unit.block is not None:
                inputs |= needed & set(unit.block.placeholders)
                needed -= set(unit.block.placeholders)
            elif unit.role is Role.PLACEHOLDER and needed & targets:
                inputs |= needed & targets
                needed -= targets
        return list(reversed(chosen)), inputs | (needed & set(self.placeholders))

    def _first_call(self, signature: Signature) -> int | None:
        """The first module-level line that runs ``signature`` (None when a function of the script runs it)."""
        inside = [range(node.lineno, node.end_lineno + 1) for node in self.tree.body
                  if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
        lines = [call.node.lineno for call in self.run_calls if call.signature == signature]
        if not lines or any(line in span for line in lines for span in inside):
            return None
        return min(lines)

    def _function(self, signature: Signature, name: str) -> tuple[str, list[str]]:
        units, inputs = self._slice(set(signature.tensor_names), self._first_call(signature))
        parameters = [p for p in self.placeholders if p in inputs or p in signature.feeds]
        specs = ", ".join(self._spec(p) for p in parameters)
        body = ""
        for unit in units:
            scope = f"# in TF1 scope {'/'.join(unit.scopes)!r}\n" if unit.scopes else ""
            comments = "".join(line for line in self.gaps[id(unit)].splitlines(keepends=True) if line.strip())
            body += comments + scope + rename_tf1_symbols(self._forward_text(unit))
        returns = signature.return_expression()
        computes = bool(units) or any(signature.expressions)
        if not computes:
            # What it computes was built by statements migrate could not move (listed as NOT MIGRATED).
            body = "pass\n"
        lines = [f"@tf.function(input_signature=[{specs}])", f"def {name}({', '.join(parameters)}):"]
        lines.append(_indent(f'"""{signature.describe()}"""', 1).rstrip("\n"))
        if signature.train_op is None:
            if body:
                lines.append(_indent(body, 1).rstrip("\n"))
        else:
            train = self.capture["train_ops"][signature.train_op]
            self._note_random_ops(units)
            loss = signature.loss_name
            variables = self._var_list(train)
            optimizer = self.optimizer_names[signature.train_op]
            lines.append(_indent("with tf.GradientTape() as tape:", 1))
            lines.append(_indent(body, 2).rstrip("\n"))
            lines.append(_indent(f"variables = {variables}", 1))
            lines.append(_indent(f"gradients = tape.gradient({loss}, variables)", 1))
            lines.append(_indent(f"{optimizer}.apply_gradients(zip(gradients, variables))", 1))
            lines.extend(_indent(line, 1) for line in global_step_lines(train, self.capture["bindings"]))
        if returns:
            lines.append(_indent(f"return {returns}", 1))
        # The input_signature gives one graph: calling it directly skips tf.function's matching of every
        # call's arguments against its signatures (a fifth of the MLP's step), and computes the same.
        if computes:
            lines += ["", "", f"{name} = {name}.get_concrete_function()  # {_CONCRETE_COMMENT}"]
        return "\n".join(lines) + "\n", parameters

    def _note_random_ops(self, units: list[Unit]) -> None:
        lines = {line for unit in units for line in unit.lines}
        # An initial value draws once, when the Model is made, not in the step.
        drawn = sorted({(op["line"], op["type"]) for op in self.capture["ops"].values()
                        if op["line"] in lines and op["type"].startswith(_RANDOM_OPS) and not op.get("initial")})
        for line, kind in drawn:
            self.notes.append(f"the training step draws random numbers (line {line}: {kind}, e.g. dropout): TF2 "
                              "draws other numbers than TF1, so lockstep cannot match that step's result")

    def _spec(self, name: str) -> str:
        if any(unit.block and name in unit.block.placeholders for unit in self.units):
            return f"{name}_spec"  # set by the script's own if, above
        info = self.capture["placeholders"][self.placeholders[name].removesuffix(":0")]
        return f"tf.TensorSpec({info['shape']}, tf.{info['dtype']})"

    def _var_list(self, train: Mapping) -> str:
        if train["var_list"] is None:
            return f"{self.model_name}.trainable_variables"
        paths = self.variable_paths()
        return "[" + ", ".join(paths.get(name, repr(name)) for name in train["var_list"]) + "]"

    def variable_paths(self) -> dict[str, str]:
        """TF1 variable name -> the global expression that holds it in the program."""
        paths: dict[str, str] = {}
        for path, graph in self.capture["bindings"].items():
            paths.setdefault(graph, path)
        for name, path in self.parts.variable_paths(self.model_name).items():
            paths.setdefault(name, path)
        return {v["name"]: paths[v["name"]] for v in self.capture["variables"] if v["name"] in paths}

    # --- the whole program --------------------------------------------------
    def write(self, header: str, planted_epsilon: bool) -> Program:
        signatures = _distinct_signatures(self.run_calls)
        self.optimizer_names: dict[str, str] = {}
        function_names: dict[Signature, str] = {}
        train_targets = {name for unit in self.units if unit.role is Role.TRAIN for name in unit.targets}
        for signature in signatures:
            if signature.needs_function:
                wanted = signature.function_name()
                if wanted in train_targets:  # the train op's name is free: its statement becomes the optimizer
                    train_targets.discard(wanted)
                    function_names[signature] = wanted
                else:
                    function_names[signature] = self._fresh(wanted)
        for signature in signatures:
            if signature.train_op is not None and signature.train_op not in self.optimizer_names:
                self.optimizer_names[signature.train_op] = self._optimizer_name(signature.train_op)
        functions, train_parameters = [], {}
        for signature, name in function_names.items():
            code, parameters = self._function(signature, name)
            functions.append(code)
            train_parameters[signature] = parameters
        out: list[str] = []
        last_graph = max((i for i, u in enumerate(self.units)
                          if u.role in (Role.VARIABLE, Role.FORWARD, Role.TRAIN, Role.PLACEHOLDER,
                                        Role.OPTIMIZER, Role.SAVER)), default=-1)
        # Functions only need their globals when called: define them before the first statement that calls one.
        calling = [i for i, u in enumerate(self.units) if u.role is Role.DRIVER and any(
            c.signature in function_names for c in self.run_calls if c.node.lineno in u.lines)]
        if calling and calling[0] <= last_graph:
            last_graph = max(calling[0] - 1, 0)
        last_variable = max((i for i, u in enumerate(self.units)
                             if u.role is Role.VARIABLE or self.parts.makes(u)
                             or (u.block and u.block.variables)), default=-1)
        last_import = max((i for i, u in enumerate(self.units)
                           if isinstance(u.node, (ast.Import, ast.ImportFrom)) and u.depth == 0), default=-1)
        for index, unit in enumerate(self.units):
            text = _segment(self.lines, unit.node)
            if unit.role in (Role.KEEP, Role.DRIVER, Role.UNMIGRATABLE):
                out.append(self.gaps[id(unit)])
            module_class = self.parts.class_for(unit.node) if unit.role is Role.KEEP else None
            if module_class is not None:
                code, still_called = module_class
                kept = rename_tf1_symbols(text) + "\n\n" if still_called else ""
                out.append(kept + rename_tf1_symbols(code))
            elif unit.role is Role.KEEP:
                out.append(string_keys(rename_tf1_symbols(_checkpoint_calls(_import_tf2(text), self.savers)),
                                       self.feed_keys))
            elif unit.role is Role.DRIVER:
                out.append(self._driver(unit, function_names))
            elif unit.role is Role.UNMIGRATABLE:
                self.not_migrated.append((unit.node.lineno, unit.reason))
                out.append(_not_migrated_block(text, unit.node.lineno, unit.reason, 0))
            elif unit.block is not None and unit.block.specs:
                out.append(self.gaps[id(unit)] + rename_tf1_symbols(unit.block.specs))
            elif unit.role is Role.OPTIMIZER:
                train = next((t for t in self.capture["train_ops"].values()
                              if unit.targets and self._minimizes_through(t, unit.targets[0])), None)
                if train is not None:
                    out.append(self._optimizer_line(unit.targets[0], train, planted_epsilon))
            elif unit.role is Role.TRAIN:
                name = next((n for t, n in self.optimizer_names.items()
                             if self.capture["train_ops"][t]["line"] in unit.lines), None)
                train = next((t for t in self.capture["train_ops"].values() if t["line"] in unit.lines), None)
                if train is not None and name is not None and not self._optimizer_bound(unit):
                    out.append(self._optimizer_line(name, train, planted_epsilon))
            elif unit.role is Role.SAVER:
                target = unit.targets[0] if unit.targets else "saver"
                out.append(f"{target} = tf.train.Checkpoint(model={self.model_name})  "
                           "# was tf.train.Saver: TF1 names load by name\n")
            if index == last_variable:
                out.append(self._model(planted_epsilon))
            if index == last_graph:
                out.append("\n\n" + "\n\n".join(functions) + "\n\n")
            if index == last_import:
                out.append(_NUMPY_HELPER + "\n")
        code = header + _join(out)
        train = next((s for s in signatures if s.train_op is not None), None)
        return Program(
            code=code,
            not_migrated=self.not_migrated,
            train_function=function_names.get(train) if train else None,
            train_signature=[(p, self.placeholders[p]) for p in train_parameters.get(train, [])] if train else [],
            loss_index=train.loss_index if train else None,
            optimizer_name=self.optimizer_names.get(train.train_op) if train else None,
            variables=self.variable_paths(),
            notes=self.notes,
            run_functions={name: [[call.node.lineno, call.node.col_offset] for call in self.run_calls
                                  if call.signature == signature]
                           for signature, name in function_names.items() if signature.train_op is None},
        )

    def _gap(self, after: int, before: int) -> str:
        """The blank and comment lines between two statements (dedented), so kept code keeps its layout."""
        kept = [line for line in self.lines[after : before - 1] if not line.strip() or line.strip().startswith("#")]
        return textwrap.dedent("".join(kept)) if kept else ""

    def _minimizes_through(self, train: Mapping, optimizer_name: str) -> bool:
        node = self._unit_at(train["line"])
        return node is not None and any(
            isinstance(sub, ast.Attribute) and sub.attr == "minimize" and dotted(sub.value) == optimizer_name
            for sub in ast.walk(node.node)
        )

    def _optimizer_bound(self, unit: Unit) -> bool:
        """True when the minimize in ``unit`` is called on an optimizer a name holds (written where it was made)."""
        return any(
            isinstance(sub, ast.Attribute) and sub.attr == "minimize" and isinstance(sub.value, ast.Name)
            for sub in ast.walk(unit.node)
        )

    def _unit_at(self, line: int) -> Unit | None:
        return next((unit for unit in self.units if line in unit.lines), None)

    def _optimizer_name(self, train_op: str) -> str:
        unit = self._unit_at(self.capture["train_ops"][train_op]["line"])
        for sub in ast.walk(unit.node) if unit else ():
            if isinstance(sub, ast.Attribute) and sub.attr == "minimize" and isinstance(sub.value, ast.Name):
                return sub.value.id
        return self._fresh("optimizer" if "optimizer" not in self.taken else "keras_optimizer")

    def _optimizer_line(self, name: str, train: Mapping, planted_epsilon: bool) -> str:
        entry = self.optimizer_code.get(train["tf1_name"] + ":" + train["loss"])
        if entry is None:  # refused: the reason is listed as NOT MIGRATED at the minimize line
            return f"# TF1: {train['tf1_class']}: no Keras optimizer written (see NOT MIGRATED)\n"
        code, notes, *definition = entry
        if planted_epsilon:
            code = _drop_argument(code, "epsilon")
            notes = ["epsilon left at Keras' default (a planted difference the lockstep check must catch)"]
        self.notes.extend(notes)
        comment = f"# TF1: {train['tf1_class']}" + (f"; {notes[0]}" if notes else "")
        return f"{''.join(definition)}{comment}\n{name} = {code}\n"

    def _model(self, planted_epsilon: bool) -> str:
        body, aliases, last_scope = [], [], ()
        for unit in self.units:
            if unit.block is not None and unit.block.variables:
                body.append(unit.block.variables)
                aliases.extend(unit.block.variable_targets)
            if self.parts.makes(unit):
                body.append(self.parts.init_code(unit))
            if unit.role is not Role.VARIABLE:
                continue
            scope = f"# TF1 scope {'/'.join(unit.scopes)!r}\n" if unit.scopes and unit.scopes != last_scope else ""
            last_scope = unit.scopes
            body.append(scope + variable_statement(_segment(self.lines, unit.node), unit, self.capture))
            aliases.extend(unit.targets)
        init = "".join(_indent(rename_tf1_symbols(text), 2) for text in body)
        properties = self.parts.properties()
        owner = self.model_name
        alias_line = f"{', '.join(aliases)} = {', '.join(f'{owner}.{a}' for a in aliases)}\n" if aliases else ""
        return (
            f"\n\nclass {self.model_class}(tf.Module):\n"
            '    """The variables of the TF1 graph, named as there (a TF1 checkpoint loads by name)."""\n\n'
            "    def __init__(self):\n"
            "        super().__init__()\n"
            f"{init}{properties}\n\n"
            f"{owner} = {self.model_class}()\n"
            f"{alias_line}"
        )

    def _driver(self, unit: Unit, function_names: Mapping[Signature, str]) -> str:
        edits = []
        for call in self.run_calls:
            if call.node.lineno in unit.lines:
                if call.problem:
                    reason = f"line {call.node.lineno}: {call.problem}"
                    self.not_migrated.append((call.node.lineno, call.problem))
                    return _not_migrated_block(_segment(self.lines, unit.node), unit.node.lineno, reason, 0)
                edits.append((call, call.replacement(function_names.get(call.signature))))
        text = _splice(self.lines, unit.node, edits)
        return string_keys(rename_tf1_symbols(_checkpoint_calls(text, self.savers)), self.feed_keys)


def _distinct_signatures(calls: list[RunCall]) -> list[Signature]:
    seen: list[Signature] = []
    for call in calls:
        if call.signature is not None and call.signature not in seen:
            seen.append(call.signature)
    return seen


def _splice(lines: list[str], node: ast.stmt, edits: list[tuple[RunCall, str]]) -> str:
    """The statement's text with each run call's source replaced, then dedented."""
    start = node.lineno
    chunk = lines[start - 1 : node.end_lineno]
    for call, text in sorted(edits, key=lambda e: (e[0].node.lineno, e[0].node.col_offset), reverse=True):
        first, last = call.node.lineno - start, call.node.end_lineno - start
        head = chunk[first][: call.node.col_offset]
        tail = chunk[last][call.node.end_col_offset :]
        chunk[first : last + 1] = [head + text + tail]
    text = textwrap.dedent("".join(chunk))
    return "".join(line for line in text.splitlines(keepends=True) if line.strip() != "pass  # dropped")


def _checkpoint_calls(text: str, savers: set[str]) -> str:
    """``saver.save(sess, path)`` -> ``saver.write(path)``; ``saver.restore(sess, path)`` -> ``saver.restore(path)``."""
    tree = ast.parse(text)
    edits = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("save", "restore") and len(node.args) >= 2
                and isinstance(node.func.value, ast.Name) and node.func.value.id in savers):
            receiver = ast.get_source_segment(text, node.func.value)
            path = ast.get_source_segment(text, node.args[1])
            method = "write" if node.func.attr == "save" else "restore"
            edits.append((node, f"{receiver}.{method}({path})"))
    lines = text.splitlines(keepends=True)
    for node, replacement in sorted(edits, key=lambda e: (e[0].lineno, e[0].col_offset), reverse=True):
        first, last = node.lineno - 1, node.end_lineno - 1
        lines[first : last + 1] = [lines[first][: node.col_offset] + replacement + lines[last][node.end_col_offset :]]
    return "".join(lines)


# TF1's MNIST tutorial reader has no TF2 equivalent giving the same arrays in the same order
# (keras.datasets.mnist has no validation split and no next_batch shuffling): graphmode's public one does.
_MNIST_IMPORTS = {
    "from tensorflow.examples.tutorials.mnist import input_data":
        "from graphmode.mnist import input_data  # TF 1.15's MNIST reader (graphmode's): same arrays, same order",
    "import tensorflow.examples.tutorials.mnist.input_data as input_data":
        "from graphmode.mnist import input_data  # TF 1.15's MNIST reader (graphmode's): same arrays, same order",
}


def _import_tf2(text: str) -> str:
    text = text.replace("import tensorflow.compat.v1 as tf", "import tensorflow as tf")
    for tf1, tf2 in _MNIST_IMPORTS.items():
        text = text.replace(tf1, tf2)
    return text


def _drop_argument(code: str, argument: str) -> str:
    call = ast.parse(code, mode="eval").body
    call.keywords = [k for k in call.keywords if k.arg != argument]
    return ast.unparse(call)


def _join(parts: list[str]) -> str:
    text = "".join(part if part.endswith("\n") else part + "\n" for part in parts if part)
    while "\n\n\n\n" in text:
        text = text.replace("\n\n\n\n", "\n\n\n")
    return text


def write_program(source: str, capture: Mapping, optimizer_code: Mapping[str, tuple[str, list[str]]],
                  header: str, *, planted_epsilon: bool = False) -> Program:
    """Rewrites a TF1 script's source into a TF2 program.

    Args:
        source: the script's source.
        capture: what :mod:`graphmode.migrate.capture` wrote down running it.
        optimizer_code: ``"<TF1 optimizer name>:<loss tensor>"`` -> (the Keras optimizer's
            TF2 code, notes), from :func:`graphmode.train.keras_counterpart`.
        header: the program's opening docstring/comment.
        planted_epsilon: leave Keras' default epsilon (a planted mistake the proof must catch).
    """
    return _Writer(source, capture, optimizer_code).write(header, planted_epsilon)
