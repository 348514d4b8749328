"""What an example shows about a parity run: its curves, their per-step differences, the run itself.

Plain types shared by :mod:`~graphmode.parity.gallery.figures` (which draws and
logs them) and :mod:`~graphmode.parity.gallery.examples` (which tabulates them and
writes the JSON).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from graphmode.parity.check import ParityProblem
from graphmode.parity.report import ParityReport

__all__ = ["Curve", "DifferenceCurve", "ExampleRun"]


class Curve(NamedTuple):
    """One quantity of both modes over the run, as the table, plot and event logs show it.

    Attributes:
        label: what the values are (``"loss"``, ``"full-data cross-entropy"``).
        steps: the step of each value (0 = before training).
        values: mode (``"graph"``, ``"eager"``) -> values, one per entry of ``steps``.
    """

    label: str
    steps: np.ndarray
    values: Mapping[str, np.ndarray]


class DifferenceCurve(NamedTuple):
    """One quantity's per-step difference under the verdict's rule.

    Attributes:
        label: the quantity (``"loss"`` or a variable's graph name).
        steps: the step of each value.
        difference: ``|graph - eager|`` the rule looked at (0 where equal).
        tolerance: what that difference was allowed to be at that step (NaN where unknown).
    """

    label: str
    steps: np.ndarray
    difference: np.ndarray
    tolerance: np.ndarray

    @property
    def divergent_steps(self) -> np.ndarray:
        """The steps where the difference is above its tolerance."""
        with np.errstate(invalid="ignore"):
            return self.steps[self.difference > self.tolerance]


class ExampleRun(NamedTuple):
    """One parity run of an example and what to show about it.

    Attributes:
        name: the variant (``"stochastic"``, ``"softmax_adam"``).
        problem: what was run; its ``build_graph`` gives the graph for TensorBoard.
        report: the parity report of the run.
        curves: the first one is tabulated; all are plotted and logged.
        metrics: mode -> metric name -> value (accuracy, ...).
        every: table interval in steps (None: about ten rows).
        differences: the per-step differences the plot and event logs show
            (empty: computed from ``report`` when needed, which needs its
            variable history; give them before :func:`drop_variable_history`).
    """

    name: str
    problem: ParityProblem
    report: ParityReport
    curves: tuple[Curve, ...]
    metrics: Mapping[str, Mapping[str, float]] = {}
    every: int | None = None
    differences: tuple[DifferenceCurve, ...] = ()
