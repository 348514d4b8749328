"""The TF1 model code itself, run eagerly: :meth:`EagerModel.from_tf1 <graphmode.parity.run.EagerModel.from_tf1>`.

The first step of TensorFlow's migration guide ("Use TF1.x models in TF2
workflows") is not a rewrite: the TF1 forward pass runs unchanged inside a
Keras layer whose ``call`` is decorated with
``tf.compat.v1.keras.utils.track_tf1_style_variables``. That decorator gives
the code an eager variable store, so ``v1.get_variable`` and ``v1.layers``
create their variables on the first call and reuse them, by name, on every
later one, and the layer tracks them (with their TF1 names). This module wraps
such a layer, a ``GradientTape`` and a Keras optimizer into an
:class:`~graphmode.parity.run.EagerModel`, so ``check_parity`` can compare the
graph original with its own code run eagerly before anyone writes a rewrite.

One addition to the decorator: tutorial code often creates its weights with a
plain ``tf.Variable(...)``, which the decorator does not track, so every call
would create fresh ones. Here the first call records every such variable in
order of creation and later calls get the same ones back in the same order
(name and shape checked), as a TF1 graph built once would have them.

Example:
    >>> def model(x, y):                       # the TF1 code, as the graph version uses it
    ...     w = v1.get_variable("w", [3, 1])
    ...     return tf.reduce_mean(tf.square(tf.matmul(x, w) - y))
    >>> eager = gm.EagerModel.from_tf1(model, tf.keras.optimizers.SGD(0.1), batches[0])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from graphmode._pairing import base_name
from graphmode._runtime import tf, v1
from graphmode.errors import ConfigError

__all__ = ["TF1ModelLayer", "tf1_code_eagerly"]


class _Created:
    """What the first call created, kept where Keras' attribute tracking does not look."""

    def __init__(self) -> None:
        self.variables: list[Any] = []


class TF1ModelLayer(tf.keras.layers.Layer):
    """A Keras layer running TF1 model code: ``layer(*batch)`` is ``build_fn(*batch)``.

    Variables from ``v1.get_variable`` / ``v1.layers`` are tracked by
    ``track_tf1_style_variables``; plain ``tf.Variable`` calls are created on the
    first call and handed back in creation order on later ones.
    """

    def __init__(self, build_fn: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._build_fn = build_fn
        self._calls = 0
        self._created = _Created()
        self._reused = 0
        # Set after the first call; a tracked list, so the layer's variables include them.
        self.plain_variables: list[Any] = []

    def _reuse_plain_variables(self, next_creator: Callable[..., Any], **kwargs: Any) -> Any:
        if self._calls == 0:
            variable = next_creator(**kwargs)
            self._created.variables.append(variable)
            return variable
        name = kwargs.get("name") or "Variable"
        if self._reused >= len(self.plain_variables):
            raise ConfigError(
                f"the TF1 model code created tf.Variable {name!r} on call {self._calls + 1} but only "
                f"{len(self.plain_variables)} plain tf.Variables on its first call; EagerModel.from_tf1 reuses "
                f"them by order of creation, so create the same ones every call (or use v1.get_variable)"
            )
        variable = self.plain_variables[self._reused]
        self._reused += 1
        shape = kwargs.get("shape")
        initial = kwargs.get("initial_value")
        if shape is None and initial is not None and not callable(initial):
            shape = getattr(initial, "shape", None)
        if shape is not None and tuple(tf.TensorShape(shape).as_list()) != tuple(variable.shape.as_list()):
            raise ConfigError(
                f"the TF1 model code's tf.Variable number {self._reused} has shape "
                f"{tuple(tf.TensorShape(shape).as_list())} on call {self._calls + 1} but "
                f"{tuple(variable.shape.as_list())} on the first ({base_name(variable.name).removeprefix(self.name + '/')!r}); "
                f"EagerModel.from_tf1 reuses plain tf.Variables by order of creation"
            )
        return variable

    @v1.keras.utils.track_tf1_style_variables
    def call(self, *inputs: Any) -> Any:
        self._reused = 0
        with tf.variable_creator_scope(self._reuse_plain_variables):
            output = self._build_fn(*inputs)
        if self._calls == 0:
            # What the decorator's store tracks is in the layer's variables by now; the rest are plain.
            tracked = {id(variable) for variable in self.variables}
            self.plain_variables = [v for v in self._created.variables if id(v) not in tracked]
            self._created.variables = []
        elif self._reused != len(self.plain_variables):
            raise ConfigError(
                f"the TF1 model code created {self._reused} plain tf.Variables on call {self._calls + 1} but "
                f"{len(self.plain_variables)} on its first; EagerModel.from_tf1 reuses them by order of creation"
            )
        self._calls += 1
        return output


def _unique_names(variables: Sequence[Any], layer_scope: str) -> dict[str, Any]:
    # TF1 names a graph's second "Variable" "Variable_1"; eager names both "Variable:0".
    # Plain tf.Variables are named inside the layer's scope; TF1 code never saw it.
    named: dict[str, Any] = {}
    for variable in variables:
        name = base_name(variable.name).removeprefix(layer_scope)
        candidate, count = name, 0
        while candidate in named:
            count += 1
            candidate = f"{name}_{count}"
        named[candidate] = variable
    return named


def tf1_code_eagerly(
    build_fn: Callable[..., Any],
    optimizer: Any,
    example_batch: Sequence[Any],
    *,
    regularization_losses: bool = False,
) -> tuple[dict[str, Any], Callable[..., Any]]:
    """The variables and training step of the TF1 model code ``build_fn``, run eagerly (``EagerModel.from_tf1``).

    Args:
        build_fn: the TF1 model code: ``build_fn(*batch) -> loss``, creating its
            variables with ``v1.get_variable``, ``v1.layers`` or ``tf.Variable``,
            as the graph version calls it on its placeholders. A non-scalar loss
            is trained as TF1's ``minimize`` trains it (the gradient of its sum)
            and reported as its sum.
        optimizer: the Keras optimizer to train with (a fresh one per model).
        example_batch: one batch (a tuple with one array per input); the forward
            pass on it creates the variables, without an update.
        regularization_losses: add the regularization losses of ``get_variable`` /
            ``v1.layers`` regularizers to the loss that is differentiated. Give
            True when the TF1 code adds ``v1.losses.get_regularization_loss()`` to
            its loss: eagerly that collection is empty, and the layer collects
            the losses instead.

    Returns:
        The variables by their TF1 names (a second plain ``Variable`` as
        ``Variable_1``, as a graph names it) and a step that runs the layer under
        a ``GradientTape`` and applies ``optimizer``.

    Raises:
        ConfigError: ``optimizer`` is not a Keras optimizer, ``example_batch`` is
            not a tuple/list, or the code creates no variables.
    """
    if not isinstance(optimizer, tf.keras.optimizers.Optimizer):
        raise ConfigError(f"EagerModel.from_tf1 takes a Keras optimizer (tf.keras.optimizers.Adam(...), or "
                          f"graphmode's TF1Momentum for TF1's momentum form); got {type(optimizer).__name__}")
    if not isinstance(example_batch, tuple | list):
        raise ConfigError(f"example_batch must be one batch as a tuple with one array per input of build_fn; "
                          f"got {type(example_batch).__name__}")
    if not tf.executing_eagerly():
        raise ConfigError("EagerModel.from_tf1 runs the TF1 code eagerly, but a graph is the default here "
                          "(inside `with graph.as_default():`); call it outside that block")
    layer = TF1ModelLayer(build_fn, name="tf1_model")
    layer(*example_batch)
    variables = _unique_names(layer.variables, f"{layer.name}/")
    if not variables:
        raise ConfigError(f"the TF1 model code {getattr(build_fn, '__name__', build_fn)!r} created no variables "
                          f"on its first call; parity compares variables, so it must create its weights")

    def train_step(*batch: Any) -> Any:
        trainable = [variable for variable in variables.values() if variable.trainable]
        with tf.GradientTape() as tape:
            loss = layer(*batch)
            objective = loss
            if regularization_losses and layer.losses:
                objective = tf.reduce_sum(loss) + tf.add_n(layer.losses)
        gradients = tape.gradient(objective, trainable)
        optimizer.apply_gradients([(g, v) for g, v in zip(gradients, trainable) if g is not None])
        # What was differentiated, as the graph's loss includes the regularization it adds.
        return tf.reduce_sum(objective)

    return variables, train_step
