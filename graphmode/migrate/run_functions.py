"""One ``tf.function`` per distinct ``Session.run``: the forward statements it needs, its placeholders as parameters.

A run that trains becomes a ``tf.GradientTape`` step applying the Keras
optimizer; a run that only computes returns what the run fetched. Each is
called through its one concrete function.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Mapping

from graphmode.migrate.calls import RunCall, Signature
from graphmode.migrate.optimizers import global_step_lines
from graphmode.migrate.program_text import indent
from graphmode.migrate.renames import rename_tf1_symbols
from graphmode.migrate.script_plan import ScriptPlan
from graphmode.migrate.statements import Role, Unit, used_names
from graphmode.migrate.summaries import place_variables

_RANDOM_OPS = ("Random", "TruncatedNormal", "Multinomial", "StatelessRandom")
_CONCRETE_COMMENT = "one graph; calls skip tf.function's argument matching"


@dataclasses.dataclass(frozen=True)
class RunFunction:
    """A generated function's source, its parameters (placeholder names, in order), and notes for the report."""

    code: str
    parameters: list[str]
    notes: list[str]
    statements: tuple[int, ...] = ()  # the first lines of the script's statements moved into it


def distinct_signatures(calls: list[RunCall]) -> list[Signature]:
    """The run calls' signatures, each once, in the order the script makes them."""
    seen: list[Signature] = []
    for call in calls:
        if call.signature is not None and call.signature not in seen:
            seen.append(call.signature)
    return seen


def run_function(plan: ScriptPlan, signature: Signature, name: str, optimizer: str | None) -> RunFunction:
    """The function ``name`` that does what runs of ``signature`` did; ``optimizer``: the Keras one it applies."""
    units, inputs = _slice(plan, set(signature.tensor_names), _first_call(plan, signature))
    parameters = [p for p in plan.placeholders if p in inputs or p in signature.feeds]
    specs = ", ".join(_spec(plan, p) for p in parameters)
    body = ""
    for unit in units:
        scope = f"# in TF1 scope {'/'.join(unit.scopes)!r}\n" if unit.scopes else ""
        comments = "".join(line for line in plan.gaps[id(unit)].splitlines(keepends=True) if line.strip())
        body += comments + scope + rename_tf1_symbols(plan.forward_text(unit))
    returns = place_variables(signature.return_expression(), plan.variable_paths())
    computes = bool(units) or any(signature.expressions) or any(signature.summaries)
    if not computes:
        # What it computes was built by statements migrate could not move (listed as NOT MIGRATED).
        body = "pass\n"
    lines = [f"@tf.function(input_signature=[{specs}])", f"def {name}({', '.join(parameters)}):"]
    lines.append(indent(f'"""{signature.describe()}"""', 1).rstrip("\n"))
    notes = []
    if signature.train_op is None:
        if body:
            lines.append(indent(body, 1).rstrip("\n"))
    else:
        train = plan.capture["train_ops"][signature.train_op]
        notes = _random_op_notes(plan, units)
        loss = signature.loss_name
        variables = _var_list(plan, train)
        lines.append(indent("with tf.GradientTape() as tape:", 1))
        lines.append(indent(body, 2).rstrip("\n"))
        lines.append(indent(f"variables = {variables}", 1))
        lines.append(indent(f"gradients = tape.gradient({loss}, variables)", 1))
        lines.append(indent(f"{optimizer}.apply_gradients(zip(gradients, variables))", 1))
        lines.extend(indent(line, 1) for line in global_step_lines(train, plan.capture["bindings"]))
    if returns:
        lines.append(indent(f"return {returns}", 1))
    # The input_signature gives one graph: calling it directly skips tf.function's matching of every
    # call's arguments against its signatures (a fifth of the MLP's step), and computes the same.
    if computes:
        lines += ["", "", f"{name} = {name}.get_concrete_function()  # {_CONCRETE_COMMENT}"]
    return RunFunction("\n".join(lines) + "\n", parameters, notes, tuple(unit.node.lineno for unit in units))


def _slice(plan: ScriptPlan, wanted: set[str], before: int | None = None) -> tuple[list[Unit], set[str]]:
    """The forward units that compute ``wanted`` names (source order), and the placeholders they read.

    The walk goes backwards from ``before`` (the first line that runs the function), so a name the
    script binds again later (``a = tf.constant(2)``, then ``a = tf.placeholder(...)``) is computed
    by the statement that held it when the run happened.
    """
    needed, chosen, inputs = set(wanted), [], set()
    for unit in reversed(plan.units):
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
    return list(reversed(chosen)), inputs | (needed & set(plan.placeholders))


def _first_call(plan: ScriptPlan, signature: Signature) -> int | None:
    """The first module-level line that runs ``signature`` (None when a function of the script runs it)."""
    inside = [range(node.lineno, node.end_lineno + 1) for node in plan.tree.body
              if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    lines = [call.node.lineno for call in plan.run_calls if call.signature == signature]
    if not lines or any(line in span for line in lines for span in inside):
        return None
    return min(lines)


def _random_op_notes(plan: ScriptPlan, units: list[Unit]) -> list[str]:
    lines = {line for unit in units for line in unit.lines}
    # An initial value draws once, when the Model is made, not in the step.
    drawn = sorted({(op["line"], op["type"]) for op in plan.capture["ops"].values()
                    if op["line"] in lines and op["type"].startswith(_RANDOM_OPS) and not op.get("initial")})
    return [f"the training step draws random numbers (line {line}: {kind}, e.g. dropout): TF2 "
            "draws other numbers than TF1, so lockstep cannot match that step's result" for line, kind in drawn]


def _spec(plan: ScriptPlan, name: str) -> str:
    if any(unit.block and name in unit.block.placeholders for unit in plan.units):
        return f"{name}_spec"  # set by the script's own if, above
    info = plan.capture["placeholders"][plan.placeholders[name].removesuffix(":0")]
    return f"tf.TensorSpec({info['shape']}, tf.{info['dtype']})"


def _var_list(plan: ScriptPlan, train: Mapping) -> str:
    if train["var_list"] is None:
        return f"{plan.model_name}.trainable_variables"
    paths = plan.variable_paths()
    return "[" + ", ".join(paths.get(name, repr(name)) for name in train["var_list"]) + "]"
