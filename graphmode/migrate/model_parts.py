"""The parts of the Model that forward statements create as they compute: Keras layers and helper modules.

A forward statement such as ``h = tf.layers.dense(x, 10)`` or
``l1 = add_layer(xs, 1, 10)`` makes variables as it computes. The program
writer asks this module, per statement, what the Model's ``__init__`` makes
for it (:mod:`graphmode.migrate.layers`, :mod:`graphmode.migrate.modules`),
what the statement becomes in the functions, where each TF1 variable lives
in the program, and which module classes replace the script's helper functions.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping

from graphmode.migrate.layers import Layer, LayerError, call_text, init_code, model_properties, plan_statement
from graphmode.migrate.losses import LossError, tf2_losses
from graphmode.migrate.modules import Instance, ModuleError, ModulePlanner, variable_helpers


def helper_names(tree: ast.Module) -> list[str]:
    """The script's functions that make variables (their calls make and compute at once)."""
    return list(variable_helpers(tree))


class ModelParts:
    """Plans the layers and helper modules of every forward statement; refused statements get a reason."""

    def __init__(self, tree: ast.Module, source: str, capture: Mapping, attributes: set[str]) -> None:
        self.layers: dict[int, list[Layer]] = {}
        self.instances: dict[int, list[Instance]] = {}
        self.classes: dict[str, str] = {}
        self.planner = ModulePlanner(tree, source, capture, attributes)
        self.capture = capture
        self.attributes = attributes
        self.tree = tree

    def plan(self, units: Iterable, text_of, forward_role, refused_role) -> None:
        """Plans each unit with ``unit.role is forward_role``; a refused one gets ``refused_role`` and a reason."""
        scopes: set[str] = set()
        users: dict[str, list] = {}
        for unit in units:
            if unit.role is not forward_role or getattr(unit, "block", None) is not None:
                continue  # a block's own statements are planned by the block
            text = text_of(unit)
            try:
                layers = plan_statement(text, unit.node.lineno, self.capture, scopes, self.attributes)
                instances = self.planner.plan_statement(unit.node, text)
                if layers and instances:
                    raise LayerError("a statement that calls both TF1 layers and the script's own functions that "
                                     "make variables: give each its own statement")
                tf2_losses(text)
            except (LayerError, ModuleError, LossError) as problem:
                unit.role, unit.reason = refused_role, str(problem)
                continue
            if layers:
                self.layers[id(unit)] = layers
            if instances:
                self.instances[id(unit)] = instances
                for instance in instances:
                    users.setdefault(instance.helper.function.name, []).append(unit)
        for name in users:
            try:
                self.classes[name] = self.planner.class_code(name)
            except ModuleError as problem:
                for unit in users[name]:
                    unit.role, unit.reason = refused_role, str(problem)
                    self.instances.pop(id(unit), None)

    def makes(self, unit) -> bool:
        """True when the unit puts a layer or module into the Model."""
        return id(unit) in self.layers or id(unit) in self.instances

    def forward_text(self, unit, text: str, model: str) -> str:
        """The statement as the functions compute it: layer and helper calls become the Model's parts,
        TF1 losses their TF2 computation."""
        if id(unit) in self.layers:
            text = call_text(text, self.layers[id(unit)], model)
        elif id(unit) in self.instances:
            text = self.planner.call_text(text, self.instances[id(unit)], model)
        return tf2_losses(text)

    def init_code(self, unit) -> str:
        """What the Model's ``__init__`` makes for the unit."""
        code = init_code(self.layers.get(id(unit), []))
        code += "".join(f"self.{i.attribute} = {i.constructor}\n" for i in self.instances.get(id(unit), []))
        return code

    def properties(self) -> str:
        """The Model's variable properties when it holds Keras layers ('' otherwise)."""
        attributes = [layer.attribute for layers in self.layers.values() for layer in layers]
        return model_properties(attributes) if attributes else ""

    def variable_paths(self, model: str) -> dict[str, str]:
        """TF1 variable name -> the expression that reaches it in the program."""
        paths = {}
        for layers in self.layers.values():
            for layer in layers:
                paths.update({name: f"{model}.{layer.attribute}.{weight}" for name, weight in layer.weights.items()})
        for instances in self.instances.values():
            for instance in instances:
                paths.update({name: f"{model}.{instance.attribute}.{attribute}"
                              for name, attribute in instance.weights.items()})
        return paths

    def class_for(self, node: ast.stmt) -> tuple[str, bool] | None:
        """For a helper's ``def``: (its module class, whether the ``def`` is still called elsewhere), else None."""
        if not isinstance(node, ast.FunctionDef) or node.name not in self.classes:
            return None
        calls = sum(1 for sub in ast.walk(self.tree) if isinstance(sub, ast.Call)
                    and isinstance(sub.func, ast.Name) and sub.func.id == node.name)
        converted = sum(1 for instances in self.instances.values() for i in instances
                        if i.helper.function.name == node.name)
        return self.classes[node.name], calls > converted
