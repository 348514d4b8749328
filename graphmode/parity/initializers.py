"""The initializer check: does the eager side draw its initial values from the graph's distribution?

By default the graph's initial values are copied to the eager side, so the two
need not draw the same random numbers, and an initializer ported wrongly
(``stddev=0.1`` as ``1.0``, zeros as ones, uniform as normal) would be invisible.
So the eager side's own initial values (read before the copy) are compared with
the graph's, variable by variable, as two samples of one distribution.

Rule, with ``n`` and ``m`` elements, means ``mu``, standard deviations ``s`` and
:data:`SIGMAS` = 5 (a correct port fails a test with probability under 1e-6):

* constant tensors (``s = 0`` on a side): both sides must hold the same
  constant (``|a - b| <= 1e-6 * max(1, |a|)``), a constant against random
  values fails;
* fewer than :data:`MIN_ELEMENTS` (100) elements on a side: not compared
  further (the sample's own standard deviation is too uncertain to set a bound);
* means: ``|mu_e - mu_g| <= 5 * sqrt(s_g^2/n + s_e^2/m)`` (the standard error
  of a difference of means);
* spreads: ``|ln(s_e/s_g)| <= 5 * sqrt((k-1)/(4(n-1)) + (k-1)/(4(m-1)))`` with
  ``k`` the pooled kurtosis (at least 1.8, a uniform's), the standard error of
  a log standard deviation;
* shape and range: the two-sample Kolmogorov-Smirnov distance
  ``D <= sqrt(-ln(alpha/2)/2) * sqrt((n+m)/(n*m))`` with ``alpha = 1e-6``.

With 100 normal elements a standard deviation 1.7x off fails; at 16384 (a 64x256
kernel), 4% off. The report gives both sides' mean, standard deviation and
range for every failed check, so a reader sees what was compared.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from graphmode.parity.report import Divergence

__all__ = ["ALPHA", "SIGMAS", "InitializerCheck", "Summary", "check_initializers"]

SIGMAS = 5.0
ALPHA = 1e-6
# Below this many elements the standard errors are themselves too uncertain for
# a 5-sigma bound (a t statistic with 2 degrees of freedom passes 5 in 4% of
# draws); with 100, Student's t and the normal agree to about 10%.
MIN_ELEMENTS = 100
# A uniform's kurtosis, the smallest of the usual initializers; a smaller
# estimate (a handful of elements) would make the spread bound too tight.
MIN_KURTOSIS = 1.8


class Summary(NamedTuple):
    """One side's initial values in numbers."""

    mean: float
    std: float
    min: float
    max: float

    def __str__(self) -> str:
        return f"mean {self.mean:.4g}, std {self.std:.4g}, range [{self.min:.4g}, {self.max:.4g}]"


class InitializerCheck(NamedTuple):
    """One variable's initial values on both sides, and whether they fit one distribution."""

    name: str
    shape: tuple[int, ...]
    graph: Summary
    eager: Summary
    ok: bool
    reason: str

    def divergence(self, atol: float, rtol: float) -> Divergence:
        """This check as a step-0 structure divergence (for a failed check)."""
        return Divergence("initializer", 0, self.name, self.shape, self.shape, None, None, None, None, None, atol, rtol,
                          "graph", "eager", f"the eager side's own initial values do not look drawn from the graph's "
                          f"distribution: {self.reason} (graph: {self.graph}; eager: {self.eager}); the run itself "
                          "starts from the graph's values, fix the eager initializer", quantity="initializer")

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields."""
        return {"name": self.name, "shape": list(self.shape), "graph": self.graph._asdict(),
                "eager": self.eager._asdict(), "ok": self.ok, "reason": self.reason}


def _summary(values: np.ndarray) -> Summary:
    if not values.size:
        return Summary(0.0, 0.0, 0.0, 0.0)
    return Summary(float(values.mean()), float(values.std()), float(values.min()), float(values.max()))


def _ks_distance(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.sort(a), np.sort(b)
    points = np.concatenate([a, b])
    return float(np.abs(np.searchsorted(a, points, "right") / a.size - np.searchsorted(b, points, "right") / b.size).max())


def _compare(graph: np.ndarray, eager: np.ndarray) -> tuple[bool, str]:
    n, m = graph.size, eager.size
    g, e = _summary(graph), _summary(eager)
    if not (np.isfinite(graph).all() and np.isfinite(eager).all()):
        return False, "non-finite initial values"
    if n < 2 and m < 2:
        return True, "one element: not a distribution, not compared"
    if n < 2 or m < 2 or g.std == 0 or e.std == 0:
        if g.std == 0 and e.std == 0 and n and m:
            same = abs(g.mean - e.mean) <= 1e-6 * max(1.0, abs(g.mean))
            return same, "same constant" if same else f"constant {e.mean:.6g} where the graph starts at {g.mean:.6g}"
        return False, "constant on one side only"
    if min(n, m) < MIN_ELEMENTS:
        return True, f"{min(n, m)} elements: too few to judge a distribution, not compared"
    mean_bound = SIGMAS * math.sqrt(g.std**2 / n + e.std**2 / m)
    if abs(e.mean - g.mean) > mean_bound:
        return False, f"means differ by {abs(e.mean - g.mean):.3g} > {mean_bound:.3g} ({SIGMAS:g} standard errors)"
    pooled = np.concatenate([(graph - g.mean) / g.std, (eager - e.mean) / e.std])
    kurtosis = max(float(np.mean(pooled**4)), MIN_KURTOSIS)
    log_bound = SIGMAS * math.sqrt((kurtosis - 1) / (4 * (n - 1)) + (kurtosis - 1) / (4 * (m - 1)))
    ratio = e.std / g.std
    if abs(math.log(ratio)) > log_bound:
        return False, (f"standard deviations differ by a factor {ratio:.3g}, outside "
                       f"[{math.exp(-log_bound):.3g}, {math.exp(log_bound):.3g}] ({SIGMAS:g} standard errors)")
    distance = _ks_distance(graph, eager)
    ks_bound = math.sqrt(-math.log(ALPHA / 2) / 2) * math.sqrt((n + m) / (n * m))
    if distance > ks_bound:
        return False, (f"the distributions' shapes differ: Kolmogorov-Smirnov distance {distance:.3g} > "
                       f"{ks_bound:.3g} (alpha {ALPHA:g})")
    return True, "consistent"


def check_initializers(initial: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> tuple[InitializerCheck, ...]:
    """Compares each variable's graph initial values with the eager side's own, by the module's rule.

    Args:
        initial: name -> (graph initial values, eager own initial values), same shape.

    Returns:
        One :class:`InitializerCheck` per floating-point variable.
    """
    checks = []
    for name, (graph, eager) in initial.items():
        graph, eager = np.asarray(graph), np.asarray(eager)
        if not (np.issubdtype(graph.dtype, np.floating) and np.issubdtype(eager.dtype, np.floating)):
            continue
        graph64, eager64 = graph.astype(np.float64).reshape(-1), eager.astype(np.float64).reshape(-1)
        ok, reason = _compare(graph64, eager64)
        checks.append(InitializerCheck(name, tuple(graph.shape), _summary(graph64), _summary(eager64), ok, reason))
    return tuple(checks)
