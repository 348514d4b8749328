"""What a parity comparison is made of: trajectories, divergences, per-quantity results, the verdict.

A :class:`Trajectory` is what one mode produced: the loss of every step and the
value of every variable before the first step and after each one. Comparing two
of them yields, per quantity, a :class:`QuantityDiff` (free run) and the first
:class:`Divergence`: one place where the candidate stops matching the reference,
in a fixed one-paragraph form. :class:`Verdict` names the comparison that decides.

Steps are numbered on one timeline: step 0 is the initial variable values; step
``k`` is the ``k``-th training step, whose loss (computed before its update)
comes before the variable values after its update.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from graphmode.errors import ConfigError
from graphmode.parity.tolerance import ratio_text, tolerance_text

LOSS = "loss"


# How a report names each kind of quantity (the loss is never "variable 'loss'").
QUANTITY_WORDS = {"variable": "variable", "state": "model state", "slot": "optimizer slot",
                  "counter": "optimizer counter", "initializer": "initializer of", "dtype": "variable"}



class Verdict(enum.StrEnum):
    """Which comparison decides a report's ``ok``: ``"lockstep"`` (each step from the graph's state) or ``"free"``."""

    LOCKSTEP = "lockstep"
    FREE = "free"

    @classmethod
    def of(cls, value: Verdict | str) -> Verdict:
        """``value`` as a :class:`Verdict`; a string must be one of the values."""
        try:
            return cls(value)
        except ValueError:
            raise ConfigError(f"verdict must be one of {tuple(v.value for v in cls)}; got {value!r}") from None


class Trajectory(NamedTuple):
    """What one mode produced over a run.

    Attributes:
        mode: ``"graph"`` or ``"eager"`` (or any label for another producer).
        losses: float64 array ``[steps]``; ``losses[k - 1]`` is the loss of step ``k``.
        variables: name -> float64 array ``[steps + 1, *shape]``; index 0 holds the
            initial values, index ``k`` the values after step ``k``.
    """

    mode: str
    losses: np.ndarray
    variables: dict[str, np.ndarray]

    @property
    def steps(self) -> int:
        """The number of training steps recorded."""
        return int(self.losses.shape[0])


class Divergence(NamedTuple):
    """One place where the candidate stops matching the reference.

    ``kind`` is ``"value"`` (outside tolerance), ``"missing"`` (a variable exists
    on one side only), ``"shape"`` (shapes differ) or ``"steps"`` (different
    numbers of steps). Value fields are None for structural kinds.
    ``noise_floor`` is the floor of this quantity at this step and
    ``noise_factor`` its multiplier, both None when no floor was used.
    ``origin`` says where the reference built the quantity (``built at
    train.py:24``), when the caller knows it (:meth:`located`).
    """

    kind: str
    step: int
    variable: str
    reference_shape: tuple[int, ...] | None
    candidate_shape: tuple[int, ...] | None
    max_abs_diff: float | None
    max_rel_diff: float | None
    index: tuple[int, ...] | None
    reference_value: float | None
    candidate_value: float | None
    atol: float
    rtol: float
    reference: str
    candidate: str
    detail: str = ""
    noise_floor: float | None = None
    noise_factor: float | None = None
    quantity: str = "variable"
    phase: str = ""
    over_tolerance: float | None = None
    rule: str | None = None
    origin: str = ""

    def format(self) -> str:
        """The fixed one-paragraph form used in reports and assertion messages."""
        sides = f"reference: {self.reference}, candidate: {self.candidate}"
        label = self.label + (f", {self.origin}" if self.origin else "")
        if self.kind != "value":
            return f"step {self.step}, {label}: {self.detail} ({sides})"
        if self.reference_shape == self.candidate_shape:
            shapes = f"shape {self.reference_shape} on both sides"
        else:
            shapes = f"shape {self.reference_shape} vs {self.candidate_shape}"
        where = "" if not self.index else f" at {list(self.index)}"
        over = "" if self.over_tolerance is None else f"{ratio_text(self.over_tolerance)} over the "
        rule = (f"{self.rule} with atol={self.atol:g}, rtol={self.rtol:g}" if self.rule
                else tolerance_text(self.atol, self.rtol, self.noise_factor))
        return (
            f"step {self.step}, {label} ({shapes}): "
            f"max abs diff {self.max_abs_diff:.6g}, max rel diff {self.max_rel_diff:.6g}; "
            f"worst element{where}: reference {self.reference_value:.9g}, "
            f"candidate {self.candidate_value:.9g}; "
            f"{over}tolerance {rule}{self._floor_text()} ({sides})"
        )

    @property
    def label(self) -> str:
        """What diverged, in words: ``the loss``, ``variable 'w'``, ``optimizer slot 'w/Adam'``."""
        if self.quantity == "loss":
            return "the loss" + (" (forward pass, before the update)" if self.phase == "forward" else "")
        after = " after the update" if self.phase == "update" else ""
        return f"{QUANTITY_WORDS.get(self.quantity, self.quantity)} {self.variable!r}{after}"

    def located(self, origins: Mapping[str, str]) -> Divergence:
        """This divergence with its ``origin`` from ``origins`` (quantity name -> where the reference built it).

        The loss is looked up as :data:`LOSS`; a name ``origins`` lacks keeps its origin.
        """
        key = LOSS if self.quantity == "loss" else self.variable
        return self._replace(origin=origins[key]) if key in origins else self

    def _floor_text(self) -> str:
        if self.noise_factor is None:
            return ""
        bound = self.noise_factor * self.noise_floor
        return f", noise floor {self.noise_floor:.3g} at step {self.step} (x{self.noise_factor:g} = {bound:.3g})"

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields (tuples as lists, non-finite numbers as strings)."""
        return {key: json_ready(value) for key, value in self._asdict().items()}


class QuantityDiff(NamedTuple):
    """How one quantity (the loss or a variable) compared over all steps."""

    name: str
    candidate_name: str
    shape: tuple[int, ...]
    max_abs_diff: float
    max_rel_diff: float
    first_divergence: Divergence | None
    noise_floor: np.ndarray | None = None

    @property
    def ok(self) -> bool:
        """True when every step of this quantity is within tolerance."""
        return self.first_divergence is None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields."""
        return {
            "name": self.name,
            "candidate_name": self.candidate_name,
            "shape": list(self.shape),
            "max_abs_diff": json_ready(self.max_abs_diff),
            "max_rel_diff": json_ready(self.max_rel_diff),
            "ok": self.ok,
            "first_divergence": None if self.ok else self.first_divergence.to_dict(),
            "max_noise_floor": None if self.noise_floor is None else json_ready(self.max_noise_floor),
        }

    def located(self, origins: Mapping[str, str]) -> QuantityDiff:
        """This result with its first divergence's origin set (:meth:`Divergence.located`)."""
        if self.first_divergence is None:
            return self
        return self._replace(first_divergence=self.first_divergence.located(origins))

    @property
    def max_noise_floor(self) -> float | None:
        """The largest floor over the steps (None without a floor)."""
        if self.noise_floor is None:
            return None
        return float(self.noise_floor.max()) if self.noise_floor.size else 0.0


def timeline_position(divergence: Divergence) -> tuple[int, int]:
    # The loss of step k is computed before step k's update, so it precedes the
    # variable values recorded after that step.
    return (divergence.step, 0 if divergence.quantity == "loss" else 1)


def json_ready(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, tuple):
        return [json_ready(item) for item in value]
    return value


def phase_words(divergence: Divergence) -> str:
    if divergence.kind != "value":
        return "structure"
    return {"forward": "forward pass", "update": "update", "initial": "initial values"}.get(divergence.phase, "")


def first_difference_text(divergence: Divergence | None) -> str:
    """``in the update (the step's loss agreed)`` and the like, for the report's first-divergence line."""
    if divergence is None or divergence.kind != "value":
        return ""
    if divergence.phase == "forward":
        return "in the forward pass (the step's loss, both sides from the same state)"
    if divergence.phase == "update":
        return "in the update (the step's loss agreed, the state after it did not)"
    if divergence.phase == "initial":
        return "in the initial values"
    return ""
