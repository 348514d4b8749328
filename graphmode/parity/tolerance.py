"""The tolerance rules of a parity comparison, and how a difference is measured against them.

Free run, per element: ``|candidate - reference| <= atol + rtol * |reference|``
(NumPy's ``isclose`` rule, with the *reference* side as the scale), where for
a variable ``|reference|`` counts as at least the RMS of its tensor at that
step (the near-zero rule, :func:`tolerance_scale`: an element crossing zero is
held to its tensor's rounding, not to ``atol`` alone). NaN equals NaN; NaN
against a number is a divergence. With a noise floor (see
:mod:`graphmode.parity.noise_floor`) an element's bound grows by
``noise_factor`` times its rank-matched share of how far the reference drifted
from its own 1-ulp-perturbed rerun by step ``k``.

Lockstep (:mod:`graphmode.parity.lockstep`) gives the eager side the graph
side's exact state before every step, so each step's difference is that one
step's, never an accumulation. Its rule is norm-wise, per quantity ``q`` (the
loss, a variable, an optimizer slot or counter) and step::

    max over elements |a - b|  <=  atol + rtol * max over elements |ref|

Rounding in a sum, a matrix product or an update is relative to the size of
the terms combined, not of the result, so an element near zero inherits its
tensor's rounding (an Adam second moment ``v`` of 1e-12 next to 1e-6 ones, a
weight crossing zero); an element-wise ``rtol * |ref|`` would flag those or
need an ``atol`` that hides real mistakes in small slots. Equal values are
equal (``inf`` against ``inf`` too); NaN against NaN is equal, NaN or an
infinity against anything else is a divergence. Only finite reference values
set the scale.

``over tolerance`` is ``max |a - b| / (atol + rtol * max|ref|)``: a correct port
stays below 1 (a few ulps per step); a porting mistake shows at its first step,
usually many times over (the report prints ``1.7e+05x``).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

TOLERANCE_RULE = "|a-b| <= atol + rtol*|ref|"

FLOORED_TOLERANCE_RULE = "|a-b| <= atol + rtol*|ref| + noise_factor*floor"

LOCKSTEP_RULE = "max|a-b| <= atol + rtol*max|ref|"


def tolerance_text(atol: float, rtol: float, noise_factor: float | None) -> str:
    if noise_factor is None:
        return f"{TOLERANCE_RULE} with atol={atol:g}, rtol={rtol:g}"
    return f"{FLOORED_TOLERANCE_RULE} with atol={atol:g}, rtol={rtol:g}, noise_factor={noise_factor:g}"


def ratio_text(ratio: float) -> str:
    """``1.06x`` near the tolerance, ``1.7e+05x`` far past it."""
    if not math.isfinite(ratio):
        return f"{ratio}x"
    return f"{ratio:.3g}x"


def tolerance_scale(reference: np.ndarray) -> np.ndarray:
    """The ``|ref|`` of the free run's rule for ``[steps, *shape]`` values: ``max(|ref|, RMS of ref's step)``.

    The near-zero rule: float32 rounding in an element's update is the size of
    the terms that make it, which are of the tensor's magnitude, not of the
    element's own value, so an element crossing zero would otherwise be held to
    ``atol`` alone (``sigmoid_classifier`` seed 5: 2.5e-6 apart where a weight
    of a tensor of RMS 0.67 crossed zero). Every element is measured against at
    least its tensor's RMS at that step (over its finite elements); a scalar's
    RMS is its own ``|ref|``, so the loss keeps the plain rule.
    """
    reference = np.asarray(reference, dtype=np.float64)
    magnitude = np.abs(reference)
    if reference.ndim <= 1:
        return magnitude
    finite = np.isfinite(reference).reshape(len(reference), -1)
    squares = np.where(finite, magnitude.reshape(len(reference), -1), 0.0) ** 2
    rms = np.sqrt(squares.sum(axis=1) / np.maximum(finite.sum(axis=1), 1))
    return np.maximum(magnitude, rms.reshape((-1,) + (1,) * (reference.ndim - 1)))


def within_tolerance(
    candidate: np.ndarray,
    reference: np.ndarray,
    atol: float,
    rtol: float,
    slack: np.ndarray | float = 0.0,
    scale: np.ndarray | None = None,
) -> np.ndarray:
    """Elementwise: is ``candidate`` within ``atol + rtol * scale + slack`` of ``reference``?

    ``scale`` defaults to ``|reference|`` (:func:`tolerance_scale` gives the free run's).
    NaN against NaN counts as within; NaN against a number does not; infinities must be equal.
    """
    scale = np.abs(reference) if scale is None else scale
    with np.errstate(invalid="ignore", over="ignore"):
        close = np.abs(candidate - reference) <= atol + rtol * scale + slack
    # An infinite reference would excuse anything: non-finite values must be equal
    # (inf - inf is NaN, so equal infinities need the explicit test).
    close &= np.isfinite(candidate) & np.isfinite(reference)
    return close | (candidate == reference) | (np.isnan(candidate) & np.isnan(reference))


class StepDifference(NamedTuple):
    """One quantity at one step: the largest difference and where it is."""

    max_abs_diff: float
    max_rel_diff: float
    over_tolerance: float
    index: tuple[int, ...]
    reference_value: float
    candidate_value: float


def step_difference(reference: np.ndarray, candidate: np.ndarray, atol: float, rtol: float) -> StepDifference:
    """Compares one quantity at one step under :data:`LOCKSTEP_RULE`."""
    reference = np.asarray(reference, dtype=np.float64)
    candidate = np.asarray(candidate, dtype=np.float64)
    same = (reference == candidate) | (np.isnan(reference) & np.isnan(candidate))
    finite = np.isfinite(reference) & np.isfinite(candidate)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        diff = np.where(same, 0.0, np.where(finite, np.abs(candidate - reference), np.inf))
        relative = np.where(diff == 0, 0.0, diff / np.abs(reference))
    relative = np.where(np.isnan(relative), np.inf, relative)
    scale = np.abs(reference[np.isfinite(reference)])
    bound = atol + rtol * (float(scale.max()) if scale.size else 0.0)
    worst = int(np.argmax(diff)) if diff.size else 0
    largest = float(diff.reshape(-1)[worst]) if diff.size else 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = 0.0 if largest == 0 else (largest / bound if bound > 0 else np.inf)
    index = tuple(int(i) for i in np.unravel_index(worst, reference.shape)) if reference.ndim else ()
    return StepDifference(largest, float(relative.max()) if relative.size else 0.0, float(ratio), index,
                          float(reference.reshape(-1)[worst]) if reference.size else 0.0,
                          float(candidate.reshape(-1)[worst]) if candidate.size else 0.0)
