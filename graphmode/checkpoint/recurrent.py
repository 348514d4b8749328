"""Recurrent cell weights between TF1 ``rnn_cell`` and Keras ``LSTM``/``GRU``.

TF1 ``LSTMCell``/``BasicLSTMCell`` keep one fused ``kernel`` of shape
``[input + units, 4 * units]`` (rows: input then recurrent state) whose column
blocks are the gates in the order ``i, j, f, o`` (``j`` is the candidate), and
add ``forget_bias`` to the ``f`` pre-activation at run time. Keras ``LSTM``
splits ``kernel [input, 4u]`` from ``recurrent_kernel [units, 4u]``, orders the
gates ``i, f, c, o`` and keeps the whole forget offset in ``bias``.

TF1 ``GRUCell`` keeps ``gates/kernel [input + units, 2u]`` (blocks ``r, u``),
``gates/bias``, ``candidate/kernel [input + units, u]`` and ``candidate/bias``.
It applies the reset gate to the state *before* the candidate matmul, which is
Keras ``GRU(reset_after=False)``; Keras orders the blocks ``z, r, h`` with
``z`` the TF1 update gate ``u``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from graphmode._runtime import tf
from graphmode.errors import CheckpointMatchError, ConfigError

Arrays = tuple[np.ndarray, ...]


class KerasRecurrentWeights(NamedTuple):
    """A Keras LSTM/GRU cell's weights, in ``cell.weights`` order."""

    kernel: np.ndarray
    recurrent_kernel: np.ndarray
    bias: np.ndarray


class TF1LSTMWeights(NamedTuple):
    """A TF1 ``LSTMCell``'s ``kernel`` and ``bias``."""

    kernel: np.ndarray
    bias: np.ndarray


class TF1GRUWeights(NamedTuple):
    """A TF1 ``GRUCell``'s ``gates/kernel``, ``gates/bias``, ``candidate/kernel``, ``candidate/bias``."""

    gates_kernel: np.ndarray
    gates_bias: np.ndarray
    candidate_kernel: np.ndarray
    candidate_bias: np.ndarray


def _blocks(array: np.ndarray, count: int) -> list[np.ndarray]:
    return np.split(array, count, axis=-1)


def _check_fused(name: str, kernel: np.ndarray, bias: np.ndarray, gates: int) -> tuple[int, int]:
    if kernel.ndim != 2 or kernel.shape[1] % gates:
        raise CheckpointMatchError(
            f"{name} kernel has shape {kernel.shape}; a fused cell kernel is [input + units, {gates} * units]"
        )
    units = kernel.shape[1] // gates
    if kernel.shape[0] <= units:
        raise CheckpointMatchError(
            f"{name} kernel has shape {kernel.shape}: {kernel.shape[0]} rows cannot hold input + {units} units"
        )
    if bias.shape != (kernel.shape[1],):
        raise CheckpointMatchError(f"{name} bias has shape {bias.shape}; its kernel {kernel.shape} needs ({kernel.shape[1]},)")
    return kernel.shape[0] - units, units


def _check_split(name: str, kernel: np.ndarray, recurrent_kernel: np.ndarray, bias: np.ndarray, gates: int) -> int:
    units = recurrent_kernel.shape[0] if recurrent_kernel.ndim == 2 else -1
    expected = (units, gates * units)
    if recurrent_kernel.shape != expected or kernel.ndim != 2 or kernel.shape[1] != gates * units:
        raise CheckpointMatchError(
            f"{name} weights have kernel {kernel.shape} and recurrent_kernel {recurrent_kernel.shape}; "
            f"expected [input, {gates} * units] and [units, {gates} * units]"
        )
    if bias.shape != (gates * units,):
        raise CheckpointMatchError(
            f"{name} bias has shape {bias.shape}; expected ({gates * units},) "
            "(a GRU must be built with reset_after=False to match TF1 GRUCell)"
        )
    return units


def lstm_weights_from_tf1(kernel: np.ndarray, bias: np.ndarray, *, forget_bias: float = 1.0) -> KerasRecurrentWeights:
    """Converts TF1 ``LSTMCell`` weights to Keras ``LSTM`` weights.

    Args:
        kernel: ``[input + units, 4 * units]``, gate blocks ``i, j, f, o``.
        bias: ``[4 * units]``.
        forget_bias: the ``forget_bias`` the TF1 cell was built with (TF1 default
            1.0); Keras has none, so it is folded into the forget-gate bias.

    Returns:
        ``(kernel, recurrent_kernel, bias)`` in the order ``cell.set_weights`` takes.

    Raises:
        CheckpointMatchError: the shapes are not those of a fused LSTM cell.
    """
    kernel, bias = np.asarray(kernel), np.asarray(bias)
    inputs, _ = _check_fused("TF1 LSTMCell", kernel, bias, 4)
    i, j, f, o = _blocks(kernel, 4)
    reordered = np.concatenate([i, f, j, o], axis=1)
    bi, bj, bf, bo = _blocks(bias, 4)
    keras_bias = np.concatenate([bi, bf + np.asarray(forget_bias, bias.dtype), bj, bo])
    return KerasRecurrentWeights(reordered[:inputs], reordered[inputs:], keras_bias)


def lstm_weights_to_tf1(
    kernel: np.ndarray, recurrent_kernel: np.ndarray, bias: np.ndarray, *, forget_bias: float = 1.0
) -> TF1LSTMWeights:
    """Converts Keras ``LSTM`` weights to TF1 ``LSTMCell`` weights (inverse of :func:`lstm_weights_from_tf1`).

    ``forget_bias`` is the value the TF1 cell that will load them adds at run
    time; it is taken out of the forget-gate bias here.
    """
    kernel, recurrent_kernel, bias = map(np.asarray, (kernel, recurrent_kernel, bias))
    _check_split("Keras LSTM", kernel, recurrent_kernel, bias, 4)
    i, f, c, o = _blocks(np.concatenate([kernel, recurrent_kernel], axis=0), 4)
    bi, bf, bc, bo = _blocks(bias, 4)
    tf1_bias = np.concatenate([bi, bc, bf - np.asarray(forget_bias, bias.dtype), bo])
    return TF1LSTMWeights(np.concatenate([i, c, f, o], axis=1), tf1_bias)


def gru_weights_from_tf1(
    gates_kernel: np.ndarray, gates_bias: np.ndarray, candidate_kernel: np.ndarray, candidate_bias: np.ndarray
) -> KerasRecurrentWeights:
    """Converts TF1 ``GRUCell`` weights to Keras ``GRU(reset_after=False)`` weights.

    Raises:
        CheckpointMatchError: the shapes are not those of a TF1 GRU cell.
    """
    gates_kernel, gates_bias, candidate_kernel, candidate_bias = map(
        np.asarray, (gates_kernel, gates_bias, candidate_kernel, candidate_bias)
    )
    inputs, units = _check_fused("TF1 GRUCell gates", gates_kernel, gates_bias, 2)
    if candidate_kernel.shape != (inputs + units, units) or candidate_bias.shape != (units,):
        raise CheckpointMatchError(
            f"TF1 GRUCell candidate kernel/bias have shapes {candidate_kernel.shape}/{candidate_bias.shape}; "
            f"its gates kernel {gates_kernel.shape} needs {(inputs + units, units)}/({units},)"
        )
    reset, update = _blocks(gates_kernel, 2)
    fused = np.concatenate([update, reset, candidate_kernel], axis=1)
    reset_bias, update_bias = _blocks(gates_bias, 2)
    return KerasRecurrentWeights(fused[:inputs], fused[inputs:], np.concatenate([update_bias, reset_bias, candidate_bias]))


def gru_weights_to_tf1(kernel: np.ndarray, recurrent_kernel: np.ndarray, bias: np.ndarray) -> TF1GRUWeights:
    """Converts Keras ``GRU(reset_after=False)`` weights to TF1 ``GRUCell`` weights."""
    kernel, recurrent_kernel, bias = map(np.asarray, (kernel, recurrent_kernel, bias))
    _check_split("Keras GRU", kernel, recurrent_kernel, bias, 3)
    update, reset, candidate = _blocks(np.concatenate([kernel, recurrent_kernel], axis=0), 3)
    update_bias, reset_bias, candidate_bias = _blocks(bias, 3)
    return TF1GRUWeights(
        np.concatenate([reset, update], axis=1), np.concatenate([reset_bias, update_bias]), candidate, candidate_bias
    )


class RecurrentBinding(NamedTuple):
    """A Keras LSTM/GRU cell tied to the TF1 cell variables under ``scope``.

    Attributes:
        scope: the TF1 cell's variable scope (``rnn/lstm_cell``).
        kind: ``"lstm"`` or ``"gru"``.
        tf1_names: the TF1 variable names, in the order the converters take them.
        variables: the Keras cell's ``kernel``, ``recurrent_kernel``, ``bias``.
        to_keras: TF1 arrays, forget bias -> Keras arrays.
        to_tf1: Keras arrays, forget bias -> TF1 arrays.
    """

    scope: str
    kind: str
    tf1_names: tuple[str, ...]
    variables: tuple
    to_keras: Callable[[Arrays, float], Arrays]
    to_tf1: Callable[[Arrays, float], Arrays]


_TF1_NAMES = {
    "lstm": ("kernel", "bias"),
    "gru": ("gates/kernel", "gates/bias", "candidate/kernel", "candidate/bias"),
}
_CONVERTERS: dict[str, tuple[Callable[[Arrays, float], Arrays], Callable[[Arrays, float], Arrays]]] = {
    "lstm": (
        lambda arrays, forget_bias: tuple(lstm_weights_from_tf1(*arrays, forget_bias=forget_bias)),
        lambda arrays, forget_bias: tuple(lstm_weights_to_tf1(*arrays, forget_bias=forget_bias)),
    ),
    "gru": (lambda arrays, _: tuple(gru_weights_from_tf1(*arrays)), lambda arrays, _: tuple(gru_weights_to_tf1(*arrays))),
}
# Names of the TF1 LSTMCell options Keras cannot represent, for the error message.
UNSUPPORTED_TF1_LSTM_PARTS = {"w_f_diag": "peepholes", "w_i_diag": "peepholes", "w_o_diag": "peepholes",
                              "projection/kernel": "num_proj projection"}


def bind_recurrent(scope: str, layer) -> RecurrentBinding:
    """Ties a Keras ``LSTM``/``GRU`` layer (or its cell) to the TF1 cell under ``scope``.

    Raises:
        ConfigError: ``layer`` is not a Keras LSTM/GRU, is not built yet, has
            no bias, or is a GRU with ``reset_after=True`` (TF1 ``GRUCell``
            resets before the candidate matmul, so only ``reset_after=False``
            computes the same function).
    """
    cell = getattr(layer, "cell", layer)
    kinds = {"lstm": tf.keras.layers.LSTMCell, "gru": tf.keras.layers.GRUCell}
    kind = next((k for k, cls in kinds.items() if isinstance(cell, cls)), None)
    label = f"layer {getattr(layer, 'name', layer)!r} for TF1 scope {scope!r}"
    if kind is None:
        raise ConfigError(f"{label} is a {type(layer).__name__}; recurrent conversion takes a Keras LSTM or GRU "
                          "(tf.keras.layers.LSTM/LSTMCell/GRU/GRUCell)")
    if not cell.built:
        raise ConfigError(f"{label} is not built yet; call it on an input or build it with "
                          "layer.build((None, None, input_size)) before loading or saving")
    if not cell.use_bias:
        raise ConfigError(f"{label} has use_bias=False; TF1 cells always have a bias, build it with use_bias=True")
    if kind == "gru" and cell.reset_after:
        raise ConfigError(f"{label} has reset_after=True; TF1 GRUCell applies the reset gate before the candidate "
                          "matmul, which is tf.keras.layers.GRU(..., reset_after=False)")
    to_keras, to_tf1 = _CONVERTERS[kind]
    names = tuple(f"{scope}/{part}" for part in _TF1_NAMES[kind])
    return RecurrentBinding(scope, kind, names, (cell.kernel, cell.recurrent_kernel, cell.bias), to_keras, to_tf1)
