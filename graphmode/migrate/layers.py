"""TF1 layer calls (``tf.layers.dense``, ``conv2d``, pooling, ``flatten``, ``dropout``) as Keras 3 layers.

``l1 = tf.layers.dense(x, 10, tf.nn.relu)`` both creates ``dense/kernel`` and
``dense/bias`` and computes with them. Its TF2 form is a Keras layer made once
in the ``Model`` and called in the functions::

    self.dense = tf.keras.layers.Dense(10, activation=tf.nn.relu, name='dense')
    self.dense.build((None, 1))  # made now, as TF1 made dense/kernel, dense/bias
    ...
    l1 = model.dense(x)

The layer is built in ``__init__`` (its input width read from the recorded
kernel's shape), so its weights exist before any step, and named as TF1 named
it (``tf.keras.name_scope`` for an enclosing ``variable_scope``): Keras 3 on
TensorFlow gives the ``tf.Variable`` under each weight the name
``<scope>/<layer>/kernel``, the TF1 name a ``Saver`` checkpoint stores. Which
TF1 name each call got is read from the recording (the ops its line built), not
recomputed. Only layers whose Keras 3 counterpart computes the same function
with the same variables are rewritten; a TF1 default that differs from Keras'
is written out (TF1's ``dense``/``conv2d`` kernels start glorot-uniform and
their biases at zero, as Keras' do).
"""

from __future__ import annotations

import ast
import dataclasses
import re
from collections.abc import Iterable, Mapping

from graphmode.migrate.splice import Render, rewrite_calls
from graphmode.migrate.variables import VariableStatementError, keras_initializer

_LAYER_MODULES = ("tf.layers", "tf.compat.v1.layers", "layers", "tf.contrib.layers", "contrib.layers")
_CONTRIB_NAMES = ("the Keras layer names its weights kernel/bias where tf.contrib.layers named them weights/biases, "
                  "so a TF1 checkpoint would not load by name")


@dataclasses.dataclass(frozen=True)
class _Counterpart:
    """A TF1 layer function's Keras 3 class and how its arguments carry over."""

    keras: str
    parameters: tuple[str, ...]  # TF1 parameters after `inputs`, in positional order
    weights: tuple[str, ...] = ()  # TF1 variable names in the layer's scope (also Keras' attribute names)
    channels_last_build: bool = False  # build shape (None, ..., kernel.shape[-2]) instead of (None, kernel.shape[0])


_WEIGHTED = ("kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer",
             "activity_regularizer", "kernel_constraint", "bias_constraint", "trainable", "name", "reuse")
_POOLING = ("pool_size", "strides", "padding", "data_format", "name")
COUNTERPARTS = {
    "dense": _Counterpart("Dense", ("units", "activation", "use_bias", *_WEIGHTED), ("kernel", "bias")),
    "conv2d": _Counterpart("Conv2D", ("filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate",
                                      "activation", "use_bias", *_WEIGHTED), ("kernel", "bias"), True),
    "max_pooling2d": _Counterpart("MaxPooling2D", _POOLING),
    "average_pooling2d": _Counterpart("AveragePooling2D", _POOLING),
    "flatten": _Counterpart("Flatten", ("name", "data_format")),
    "dropout": _Counterpart("Dropout", ("rate", "noise_shape", "seed", "training", "name")),
}
# TF1 layer functions with a Keras class that does not compute or update the same way, and why.
NOT_EXACT = {
    "batch_normalization": (
        "tf.layers.batch_normalization has no exact Keras 3 counterpart here: TF1 updates the moving statistics "
        "only when the script runs the UPDATE_OPS collection, Keras 3 on every call with training=True, and "
        "migrate does not yet follow how the script wires those updates; write the normalization with "
        "tf.nn.batch_normalization and your own moving averages"
    ),
    "fully_connected": f"tf.contrib.layers.fully_connected has no exact Keras 3 counterpart: {_CONTRIB_NAMES}",
    "conv2d_contrib": f"tf.contrib.layers.conv2d has no exact Keras 3 counterpart: {_CONTRIB_NAMES}",
}
_REFUSED_ARGUMENTS = {
    "reuse": "a TF1 layer called with reuse= (sharing weights): make one Keras layer and call it twice",
    "kernel_regularizer": "a TF1 layer regularizer (a REGULARIZATION_LOSSES entry): add the penalty to the loss in TF2",
    "bias_regularizer": "a TF1 layer regularizer (a REGULARIZATION_LOSSES entry): add the penalty to the loss in TF2",
    "activity_regularizer": "a TF1 layer regularizer: add the penalty to the loss in TF2",
}


class LayerError(ValueError):
    """A TF1 layer call migrate cannot rewrite exactly (the reason is the message)."""


@dataclasses.dataclass
class Layer:
    """One TF1 layer call and the Keras 3 layer that takes its place.

    Attributes:
        kind: the TF1 function (``dense``).
        scope: its TF1 name, scopes included (``model0/dense_1``).
        attribute: the Model attribute holding the Keras layer (``model0_dense_1``).
        constructor: the Keras layer's construction, source text.
        build_shape: the input shape it is built for in ``__init__`` (None: a layer without weights).
        weights: TF1 variable name -> Keras weight attribute (``dense_1/kernel`` -> ``kernel``).
        call: where the call is (line, column, end line, end column) in the statement text.
    """

    kind: str
    scope: str
    attribute: str
    constructor: str
    build_shape: str | None
    weights: dict[str, str]
    call: tuple[int, int, int, int]


def _layer_kind(node: ast.AST) -> str | None:
    if not isinstance(node, ast.Call):
        return None
    module, _, name = ast.unparse(node.func).rpartition(".")
    if module.endswith("contrib.layers") and module in _LAYER_MODULES:
        # tf.contrib.layers' own layers (graphmode provides them to TF1 scripts) are not Keras-named.
        return {"fully_connected": "fully_connected", "conv2d": "conv2d_contrib"}.get(name)
    if module in _LAYER_MODULES and (name in COUNTERPARTS or name in NOT_EXACT):
        return name
    return None


def layer_calls(tree: ast.AST) -> list[ast.Call]:
    """The TF1 layer calls in ``tree``, in the order Python evaluates them (inner calls first)."""
    calls = [node for node in ast.walk(tree) if _layer_kind(node)]
    return sorted(calls, key=lambda node: (node.end_lineno, node.end_col_offset))


def _arguments(call: ast.Call, kind: str) -> tuple[ast.AST, dict[str, ast.AST]]:
    """(the inputs expression, TF1 parameter -> expression) for one call."""
    parameters = ("inputs", *COUNTERPARTS[kind].parameters)
    bound = dict(zip(parameters, call.args))
    bound.update({keyword.arg: keyword.value for keyword in call.keywords if keyword.arg})
    if len(call.args) > len(parameters) or any(keyword.arg is None for keyword in call.keywords):
        raise LayerError(f"tf.layers.{kind} called with arguments migrate cannot place (*args/**kwargs)")
    if "inputs" not in bound:
        raise LayerError(f"tf.layers.{kind} called without its inputs")
    return bound.pop("inputs"), bound


def _scope_candidates(op_names: Iterable[str], kind: str, explicit: str | None) -> list[str]:
    """The TF1 layer scopes the statement's ops were built under, for one kind of layer, in creation order."""
    pattern = re.compile(rf"^{re.escape(explicit or kind)}(_\d+)?$")
    found: list[str] = []
    for name in op_names:
        parts = name.split("/")
        for index, part in enumerate(parts[:-1]):
            if pattern.match(part):
                scope = "/".join(parts[: index + 1])
                if scope not in found:
                    found.append(scope)
                break
    return found


def _keras_argument(parameter: str, value: ast.AST, text: str) -> str | None:
    """The Keras spelling of one TF1 argument (None: leave it out, Keras' default is TF1's)."""
    written = ast.get_source_segment(text, value)
    if parameter in ("kernel_initializer", "bias_initializer"):
        if isinstance(value, ast.Constant) and value.value is None:
            return None if parameter == "kernel_initializer" else "'zeros'"
        try:
            return keras_initializer(value, text)
        except VariableStatementError as problem:
            raise LayerError(f"{parameter}: {problem}") from None
    if parameter == "padding" and isinstance(value, ast.Constant) and isinstance(value.value, str):
        return repr(value.value.lower())
    return written


def plan_layer(call: ast.Call, text: str, op_names: list[str], taken_scopes: set[str],
               variables: Mapping[str, list], attributes: set[str]) -> Layer:
    """The Keras layer for one TF1 layer call (``variables``: TF1 name -> shape of the variables made).

    Raises:
        LayerError: the call has no exact Keras 3 counterpart here (the message says why).
    """
    kind = _layer_kind(call)
    if kind in NOT_EXACT:
        raise LayerError(NOT_EXACT[kind])
    counterpart = COUNTERPARTS[kind]
    _, bound = _arguments(call, kind)
    for parameter in bound:
        if parameter in _REFUSED_ARGUMENTS and not (
                isinstance(bound[parameter], ast.Constant) and bound[parameter].value in (None, False)):
            raise LayerError(_REFUSED_ARGUMENTS[parameter])
    explicit = None
    if "name" in bound:
        if not (isinstance(bound["name"], ast.Constant) and isinstance(bound["name"].value, str)):
            raise LayerError(f"tf.layers.{kind}(name=...) that is not a string: migrate reads TF1 names as written")
        explicit = bound["name"].value
    scopes = [scope for scope in _scope_candidates(op_names, kind, explicit) if scope not in taken_scopes]
    if not scopes:
        raise LayerError(f"tf.layers.{kind}: the recording holds no ops of this call (its TF1 name is unknown)")
    scope = scopes[0]
    taken_scopes.add(scope)
    weights = {name: name.rsplit("/", 1)[1] for name in variables if name.rpartition("/")[0] == scope}
    expected = set(counterpart.weights)
    if bound.get("use_bias") is not None and isinstance(bound["use_bias"], ast.Constant) and not bound["use_bias"].value:
        expected.discard("bias")
    if set(weights.values()) != expected:
        raise LayerError(f"tf.layers.{kind} made {sorted(weights) or 'no variables'} under {scope!r}; its Keras "
                         f"counterpart makes {sorted(expected) or 'none'}")
    prefix, _, layer_name = scope.rpartition("/")
    arguments = []
    for position, parameter in enumerate(counterpart.parameters):
        if parameter not in bound or parameter in ("name", "training", "reuse"):
            continue
        value = _keras_argument(parameter, bound[parameter], text)
        if value is None:
            continue
        first = position == 0 and call.args[1:2] and call.args[1] is bound[parameter]
        arguments.append(value if first else f"{parameter}={value}")
    arguments.append(f"name={layer_name!r}")
    constructor = f"tf.keras.layers.{counterpart.keras}({', '.join(arguments)})"
    build_shape = None
    if "kernel" in weights.values():
        kernel = variables[f"{scope}/kernel"]
        if counterpart.channels_last_build:
            build_shape = "(None" + ", None" * (len(kernel) - 2) + f", {kernel[-2]})"
        else:
            build_shape = f"(None, {kernel[0]})"
    attribute = scope.replace("/", "_")
    while attribute in attributes:
        attribute += "_layer"
    attributes.add(attribute)
    location = (call.lineno, call.col_offset, call.end_lineno, call.end_col_offset)
    return Layer(kind, scope, attribute, constructor, build_shape, weights, location)


def init_code(layers: list[Layer]) -> str:
    """The Model ``__init__`` lines that make and build ``layers``."""
    code = []
    for layer in layers:
        prefix = layer.scope.rpartition("/")[0]
        lines = [f"self.{layer.attribute} = {layer.constructor}\n"]
        if layer.build_shape:
            names = ", ".join(layer.weights)
            lines.append(f"self.{layer.attribute}.build({layer.build_shape})  # made now, as TF1 made {names}\n")
        if prefix:
            code.append(f"with tf.keras.name_scope({prefix!r}):  # TF1 scope: the weights' names start with it\n")
            code.extend("    " + line for line in lines)
        else:
            code.extend(lines)
    return "".join(code)


def call_text(text: str, layers: list[Layer], model: str) -> str:
    """``text`` (one statement) with each TF1 layer call replaced by a call of the Model's Keras layer.

    Raises:
        LayerError: a dropout whose ``training`` is a tensor but whose inputs are not a plain name.
    """
    by_location = {layer.call: layer for layer in layers}

    def replace(call: ast.Call, render: Render) -> str:
        layer = by_location[(call.lineno, call.col_offset, call.end_lineno, call.end_col_offset)]
        inputs, bound = _arguments(call, layer.kind)
        written = render(inputs)
        training = bound.get("training")
        if training is None:
            return f"{model}.{layer.attribute}({written})"
        if isinstance(training, ast.Constant):
            return f"{model}.{layer.attribute}({written}, training={training.value!r})"
        if not isinstance(inputs, ast.Name):
            raise LayerError("tf.layers.dropout(training=<tensor>) on an expression: hold its inputs in a name first")
        # A Keras layer takes `training` as a Python bool; the conditional is AutoGraph's tf.cond.
        return f"({model}.{layer.attribute}({written}, training=True) if {render(training)} else {written})"

    return rewrite_calls(text, lambda call: _layer_kind(call) is not None, replace)


def inside_layer(op_name: str, statement: ast.AST) -> bool:
    """True when ``op_name`` was built inside one of the statement's TF1 layer calls (dropout's tf.cond)."""
    kinds = {_layer_kind(call) for call in layer_calls(statement)}
    return any(_scope_candidates([op_name], kind, None) for kind in kinds)


def plan_statement(text: str, first_line: int, capture: Mapping, taken_scopes: set[str],
                   attributes: set[str]) -> list[Layer]:
    """The Keras layers for every TF1 layer call in one statement (``text``, starting at ``first_line``).

    Raises:
        LayerError: a call has no exact Keras 3 counterpart here (the message says why).
    """
    calls = layer_calls(ast.parse(text))
    if not calls:
        return []
    last_line = first_line + len(text.splitlines()) - 1
    lines = range(first_line, last_line + 1)
    op_names = [name for name, op in capture["ops"].items() if op["line"] in lines]
    variables = {v["name"]: v["shape"] for v in capture["variables"] if v["line"] in lines}
    layers = [plan_layer(call, text, op_names, taken_scopes, variables, attributes) for call in calls]
    claimed = {name for layer in layers for name in layer.weights}
    stray = sorted(set(variables) - claimed)
    if stray:
        raise LayerError(f"the statement also creates {stray} outside its TF1 layer calls; "
                         "write those variables as their own statements")
    call_text(text, layers, "model")  # a dropout migrate cannot write fails here, before anything is written
    return layers


def model_properties(attributes: list[str]) -> str:
    """The Model's ``variables`` / ``trainable_variables``, with the Keras layers' weights added."""
    listed = ", ".join(f"self.{attribute}" for attribute in attributes)
    return (
        f"        self.keras_layers = [{listed}]\n\n"
        "    # tf.Module's search for variables stops at Keras 3 layers: their weights are added, as the\n"
        "    # tf.Variables under them (named as in TF1, so TF1 checkpoints pair by name).\n"
        "    @property\n"
        "    def variables(self):\n"
        "        return super().variables + tuple(w.value for layer in self.keras_layers for w in layer.weights)\n\n"
        "    @property\n"
        "    def trainable_variables(self):\n"
        "        return super().trainable_variables + tuple(\n"
        "            w.value for layer in self.keras_layers for w in layer.trainable_weights)\n"
    )
