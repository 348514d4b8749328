"""Writing the TF2 program: the script's own source, its graph building turned into TF2 code.

The script is read once (:mod:`graphmode.migrate.script_plan`), then rewritten
statement by statement (:mod:`graphmode.migrate.statements` says what each did):
lines that do not build the graph stay as written, apart from TF1 names TF2
renamed; variable statements move into a ``tf.Module`` named ``Model`` (each
``tf.Variable`` named as in the TF1 graph); the forward statements move,
unchanged, into one function per distinct ``Session.run``
(:mod:`graphmode.migrate.run_functions`: placeholders become its parameters,
a train op a ``tf.GradientTape`` step with the Keras counterpart of the TF1
optimizer); each ``sess.run(...)`` becomes a call of its function. Statements
it cannot express are kept, commented out, inside a marked block that says why.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Mapping

from graphmode.migrate.calls import Signature
from graphmode.migrate.feeds import string_keys
from graphmode.migrate.model_place import place_model
from graphmode.migrate.program_text import NOT_MIGRATED, import_tf2, indent, join, not_migrated_block, segment
from graphmode.migrate.renames import rename_tf1_symbols
from graphmode.migrate.run_functions import distinct_signatures, run_function
from graphmode.migrate.script_plan import ScriptPlan
from graphmode.migrate.splice import checkpoint_calls, splice_statement
from graphmode.migrate.statements import Role, Unit, dotted, module_reads, moved_names
from graphmode.migrate.summaries import summary_edits
from graphmode.migrate.variables import variable_statement

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


class _Writer:
    """Writes the program from the script's plan: its statements in order, the Model, the functions, the optimizers."""

    def __init__(self, source: str, capture: Mapping, optimizer_code: Mapping[str, tuple[str, list[str]]]) -> None:
        self.plan = ScriptPlan(source, capture)
        self.optimizer_code = optimizer_code
        self.not_migrated: list[tuple[int, str]] = []
        self.moved = moved_names(self.plan.units)
        self.computed_in: dict[int, list[str]] = {}  # a moved statement's first line -> the functions it moved into

    # --- the whole program --------------------------------------------------
    def write(self, header: str, planted_epsilon: bool) -> Program:
        signatures = distinct_signatures(self.plan.run_calls)
        self.optimizer_names: dict[str, str] = {}
        function_names: dict[Signature, str] = {}
        train_targets = {name for unit in self.plan.units if unit.role is Role.TRAIN for name in unit.targets}
        for signature in signatures:
            if signature.needs_function:
                wanted = signature.function_name()
                if wanted in train_targets:  # the train op's name is free: its statement becomes the optimizer
                    train_targets.discard(wanted)
                    function_names[signature] = wanted
                else:
                    function_names[signature] = self.plan.fresh(wanted)
        for signature in signatures:
            if signature.train_op is not None and signature.train_op not in self.optimizer_names:
                self.optimizer_names[signature.train_op] = self._optimizer_name(signature.train_op)
        functions, train_parameters = [], {}
        for signature, name in function_names.items():
            optimizer = self.optimizer_names[signature.train_op] if signature.train_op is not None else None
            function = run_function(self.plan, signature, name, optimizer)
            self.plan.notes.extend(function.notes)
            for line in function.statements:
                self.computed_in.setdefault(line, []).append(name)
            functions.append(function.code)
            train_parameters[signature] = function.parameters
        out: list[str] = []
        last_graph = max((i for i, u in enumerate(self.plan.units)
                          if u.role in (Role.VARIABLE, Role.FORWARD, Role.TRAIN, Role.PLACEHOLDER,
                                        Role.OPTIMIZER, Role.SAVER)), default=-1)
        # Functions only need their globals when called: define them before the first statement that calls one.
        calling = [i for i, u in enumerate(self.plan.units) if u.role is Role.DRIVER and any(
            c.signature in function_names for c in self.plan.run_calls if c.node.lineno in u.lines)]
        if calling and calling[0] <= last_graph:
            last_graph = max(calling[0] - 1, 0)
        last_variable = max((i for i, u in enumerate(self.plan.units) if self._moves_into_model(u)), default=-1)
        model = self._model(planted_epsilon) if last_variable >= 0 else ""
        place = place_model(self.plan.units, model, last_variable, self._moves_into_model)
        last_import = max((i for i, u in enumerate(self.plan.units)
                           if isinstance(u.node, (ast.Import, ast.ImportFrom)) and u.depth == 0), default=-1)
        for index, unit in enumerate(self.plan.units):
            text = segment(self.plan.lines, unit.node)
            if unit.role in (Role.KEEP, Role.DRIVER, Role.UNMIGRATABLE):
                out.append(self.plan.gaps[id(unit)])
            module_class = self.plan.parts.class_for(unit.node) if unit.role is Role.KEEP else None
            if module_class is not None:
                code, still_called = module_class
                kept = rename_tf1_symbols(text) + "\n\n" if still_called else ""
                out.append(kept + rename_tf1_symbols(code))
            elif (early := place.early_read(index, unit)) is not None:
                self.not_migrated.append((unit.node.lineno, early))
                out.append(not_migrated_block(text, unit.node.lineno, early, 0))
            elif unit.role is Role.KEEP:
                edits, problems = summary_edits(unit.node, self.plan.capture["source"], self.plan.capture)
                if problems:
                    out.append(self._refused(unit, problems))
                else:
                    text = splice_statement(self.plan.lines, unit.node, edits) if edits else text
                    out.append(self._unless_moved_read(unit, string_keys(
                        rename_tf1_symbols(checkpoint_calls(import_tf2(text), self.plan.savers)), self.plan.feed_keys)))
            elif unit.role is Role.SUMMARY:
                out.append(f"# TF1 summary (the functions that fetch it return its values): {text.splitlines()[0]}\n")
            elif unit.role is Role.DRIVER:
                out.append(self._unless_moved_read(unit, self._driver(unit, function_names)))
            elif unit.role is Role.UNMIGRATABLE:
                self.not_migrated.append((unit.node.lineno, unit.reason))
                out.append(not_migrated_block(text, unit.node.lineno, unit.reason, 0))
            elif unit.block is not None and unit.block.specs:
                out.append(self.plan.gaps[id(unit)] + rename_tf1_symbols(unit.block.specs))
            elif unit.role is Role.OPTIMIZER:
                train = next((t for t in self.plan.capture["train_ops"].values()
                              if unit.targets and self._minimizes_through(t, unit.targets[0])), None)
                if train is not None:
                    out.append(self._optimizer_line(unit.targets[0], train, planted_epsilon))
            elif unit.role is Role.TRAIN:
                name = next((n for t, n in self.optimizer_names.items()
                             if self.plan.capture["train_ops"][t]["line"] in unit.lines), None)
                train = next((t for t in self.plan.capture["train_ops"].values() if t["line"] in unit.lines), None)
                if train is not None and name is not None and not self._optimizer_bound(unit):
                    out.append(self._optimizer_line(name, train, planted_epsilon))
            elif unit.role is Role.SAVER:
                target = unit.targets[0] if unit.targets else "saver"
                out.append(f"{target} = tf.train.Checkpoint(model={self.plan.model_name})  "
                           "# was tf.train.Saver: TF1 names load by name\n")
            if index == place.after:
                out.append(model)
            if index == last_graph:
                out.append("\n\n" + "\n\n".join(functions) + "\n\n")
            if index == last_import:
                out.append(_NUMPY_HELPER + "\n")
        code = header + join(out)
        train = next((s for s in signatures if s.train_op is not None), None)
        return Program(
            code=code,
            not_migrated=self.not_migrated,
            train_function=function_names.get(train) if train else None,
            train_signature=[(p, self.plan.placeholders[p]) for p in train_parameters.get(train, [])] if train else [],
            loss_index=train.loss_index if train else None,
            optimizer_name=self.optimizer_names.get(train.train_op) if train else None,
            variables=self.plan.variable_paths(),
            notes=self.plan.notes,
            run_functions={name: [[call.node.lineno, call.node.col_offset] for call in self.plan.run_calls
                                  if call.signature == signature]
                           for signature, name in function_names.items() if signature.train_op is None},
        )

    def _unless_moved_read(self, unit: Unit, written: str) -> str:
        """``written``, or a NOT MIGRATED block when it reads a name whose statement left module level."""
        try:
            read = sorted(module_reads(ast.parse(written)) & self.moved.keys())
        except SyntaxError:
            return written
        if not read or NOT_MIGRATED in written:
            return written
        name, source = read[0], self.moved[read[0]]
        if source.role is Role.PLACEHOLDER or (source.block and name in source.block.placeholders):
            reason = (f"reads {name!r}, a placeholder (line {source.node.lineno}), in TF2 only a parameter of the "
                      "functions fed it: no such name exists here")
        elif self.computed_in.get(source.node.lineno):
            functions = " and ".join(f"{function}()" for function in self.computed_in[source.node.lineno])
            reason = (f"reads {name!r}, a graph tensor (line {source.node.lineno}) that TF2 computes only inside "
                      f"{functions}: no such name exists here; use what {functions} returns (in TF1 it held "
                      "no value here either, only the tensor's description)")
        else:
            reason = (f"reads {name!r}, a graph tensor (line {source.node.lineno}) that no generated function "
                      "computes (no run call that migrated fetched it): no such name exists here")
        self.not_migrated.append((unit.node.lineno, reason))
        return not_migrated_block(segment(self.plan.lines, unit.node), unit.node.lineno, reason, 0)

    def _minimizes_through(self, train: Mapping, optimizer_name: str) -> bool:
        node = self.plan.unit_at(train["line"])
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

    def _optimizer_name(self, train_op: str) -> str:
        unit = self.plan.unit_at(self.plan.capture["train_ops"][train_op]["line"])
        for sub in ast.walk(unit.node) if unit else ():
            if isinstance(sub, ast.Attribute) and sub.attr == "minimize" and isinstance(sub.value, ast.Name):
                return sub.value.id
        return self.plan.fresh("optimizer" if "optimizer" not in self.plan.taken else "keras_optimizer")

    def _optimizer_line(self, name: str, train: Mapping, planted_epsilon: bool) -> str:
        entry = self.optimizer_code.get(train["tf1_name"] + ":" + train["loss"])
        if entry is None:  # refused: the reason is listed as NOT MIGRATED at the minimize line
            return f"# TF1: {train['tf1_class']}: no Keras optimizer written (see NOT MIGRATED)\n"
        code, notes, *definition = entry
        if planted_epsilon:
            code = _drop_argument(code, "epsilon")
            notes = ["epsilon left at Keras' default (a planted difference the lockstep check must catch)"]
        self.plan.notes.extend(notes)
        comment = f"# TF1: {train['tf1_class']}" + (f"; {notes[0]}" if notes else "")
        return f"{''.join(definition)}{comment}\n{name} = {code}\n"

    def _moves_into_model(self, unit: Unit) -> bool:
        """Whether the statement's variables move into the Model."""
        return unit.role is Role.VARIABLE or self.plan.parts.makes(unit) or bool(unit.block and unit.block.variables)

    def _model(self, planted_epsilon: bool) -> str:
        body, aliases, last_scope = [], [], ()
        for unit in self.plan.units:
            if unit.block is not None and unit.block.variables:
                body.append(unit.block.variables)
                aliases.extend(unit.block.variable_targets)
            if self.plan.parts.makes(unit):
                body.append(self.plan.parts.init_code(unit))
            if unit.role is not Role.VARIABLE:
                continue
            scope = f"# TF1 scope {'/'.join(unit.scopes)!r}\n" if unit.scopes and unit.scopes != last_scope else ""
            last_scope = unit.scopes
            body.append(scope + variable_statement(segment(self.plan.lines, unit.node), unit, self.plan.capture))
            aliases.extend(unit.targets)
        init = "".join(indent(rename_tf1_symbols(text), 2) for text in body)
        properties = self.plan.parts.properties()
        owner = self.plan.model_name
        alias_line = f"{', '.join(aliases)} = {', '.join(f'{owner}.{a}' for a in aliases)}\n" if aliases else ""
        return (
            f"\n\nclass {self.plan.model_class}(tf.Module):\n"
            '    """The variables of the TF1 graph, named as there (a TF1 checkpoint loads by name)."""\n\n'
            "    def __init__(self):\n"
            "        super().__init__()\n"
            f"{init}{properties}\n\n"
            f"{owner} = {self.plan.model_class}()\n"
            f"{alias_line}"
            + "".join(rename_tf1_symbols(unit.block.after_model(owner)) for unit in self.plan.units if unit.block)
        )

    def _refused(self, unit: Unit, problems: list[tuple[int, str]]) -> str:
        self.not_migrated.extend(problems)
        reason = "; ".join(f"line {line}: {why}" for line, why in problems)
        return not_migrated_block(segment(self.plan.lines, unit.node), unit.node.lineno, reason, 0)

    def _driver(self, unit: Unit, function_names: Mapping[Signature, str]) -> str:
        edits, problems = summary_edits(unit.node, self.plan.capture["source"], self.plan.capture)
        if problems:
            return self._refused(unit, problems)
        for call in self.plan.run_calls:
            if call.node.lineno in unit.lines:
                if call.problem:
                    reason = f"line {call.node.lineno}: {call.problem}"
                    self.not_migrated.append((call.node.lineno, call.problem))
                    return not_migrated_block(segment(self.plan.lines, unit.node), unit.node.lineno, reason, 0)
                edits.append((call.node, call.replacement(function_names.get(call.signature))))
        text = splice_statement(self.plan.lines, unit.node, edits)
        return string_keys(rename_tf1_symbols(checkpoint_calls(text, self.plan.savers)), self.plan.feed_keys)


def _drop_argument(code: str, argument: str) -> str:
    call = ast.parse(code, mode="eval").body
    call.keywords = [k for k in call.keywords if k.arg != argument]
    return ast.unparse(call)


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
