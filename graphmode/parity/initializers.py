"""The initializer check: does the eager side draw its initial values from the graph's distribution?

By default the graph's initial values are copied to the eager side, so the two
need not draw the same random numbers, and an initializer ported wrongly
(``stddev=0.1`` as ``1.0``, zeros as ones, uniform as normal) would be invisible.
So the eager side's own initial values (read before the copy) are compared with
the graph's, variable by variable, as two samples of one distribution.

Each variable is one decision with a stated false-alarm rate: a correct port
(both sides drawing independently from one distribution) fails it with
probability at most :data:`ALPHA` = 1e-6, split evenly over three tests.
Every test uses the sample sizes it has, so a small tensor is judged as far
as its values allow rather than waved through: a tenfold spread is caught from
a 16x1 kernel. With ``n`` graph and ``m`` eager elements:

* constant tensors (zero spread on a side): both sides must hold the same
  constant (``|a - b| <= 1e-6 * max(1, |a|)``); a constant against random
  values fails; one element alone is not a distribution and is not compared;
* means: Welch's t test (Welch-Satterthwaite degrees of freedom);
* spreads: the F test of the variance ratio ``s_e^2 / s_g^2``, its degrees of
  freedom ``2(n-1)/(k-1)`` and ``2(m-1)/(k-1)`` with ``k`` the pooled kurtosis,
  at least 3. At ``k = 3`` this is the exact test for normal values; the
  lighter-tailed initializers (uniform ``k = 1.8``, truncated normal ``k ~ 2.4``)
  vary less in their spread, so for them the rate is lower still, and a
  heavier tail widens the bound. ``ln(s_e/s_g)`` has a standard error of about
  ``sqrt(1/(2n) + 1/(2m))``: a tenfold ratio (``ln 10 = 2.3``) is 9 standard
  errors between two 16-element samples;
* shape and range: the two-sample Kolmogorov-Smirnov distance against its
  asymptotic bound ``sqrt(-ln(a/2)/2) * sqrt((n+m)/(n*m))``, which holds
  conservatively at small sizes.

p-values come from TensorFlow's regularized incomplete beta function
(``tf.math.betainc``). The report gives both sides' mean, standard deviation
and range for every failed check, so a reader sees what was compared.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from graphmode._runtime import tf
from graphmode.parity.divergence import Divergence

__all__ = ["ALPHA", "InitializerCheck", "Summary", "check_initializers"]

# The false-alarm rate per variable; each of the three tests gets a third.
ALPHA = 1e-6
# A normal's kurtosis: below it the spread test keeps normal-theory degrees of
# freedom, because a kurtosis estimated from a few dozen values runs low and
# would tighten the bound past its stated rate.
MIN_KURTOSIS = 3.0


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


def _betainc(a: np.ndarray, b: np.ndarray, x: np.ndarray) -> np.ndarray:
    # One call for every variable of a check: eager op dispatch costs more than the arithmetic.
    if not len(a):
        return np.zeros(0)
    with tf.init_scope():  # eager even under a graph's default
        return tf.math.betainc(*(tf.constant(np.asarray(v, np.float64)) for v in (a, b, np.clip(x, 0.0, 1.0)))).numpy()


class _Moments(NamedTuple):
    """What the mean and spread tests need of one variable's two samples."""

    n: int
    m: int
    graph_var: float
    eager_var: float
    mean_difference: float
    kurtosis: float


def _moments(graph: np.ndarray, eager: np.ndarray) -> _Moments:
    pooled = np.concatenate([(graph - graph.mean()) / graph.std(), (eager - eager.mean()) / eager.std()])
    return _Moments(graph.size, eager.size, float(graph.var(ddof=1)), float(eager.var(ddof=1)),
                    float(eager.mean() - graph.mean()), max(float(np.mean(pooled**4)), MIN_KURTOSIS))


def welch_p_values(moments: list[_Moments]) -> np.ndarray:
    """Two-sided p-values of Welch's t test that each pair of samples shares a mean."""
    a = np.array([mo.graph_var / mo.n for mo in moments])
    b = np.array([mo.eager_var / mo.m for mo in moments])
    t2 = np.array([mo.mean_difference**2 for mo in moments]) / (a + b)
    df = (a + b) ** 2 / (a**2 / np.array([mo.n - 1 for mo in moments]) + b**2 / np.array([mo.m - 1 for mo in moments]))
    return _betainc(df / 2, np.full(len(moments), 0.5), df / (df + t2))


def spread_p_values(moments: list[_Moments]) -> np.ndarray:
    """Two-sided p-values of the (kurtosis-corrected) variance-ratio F test for each pair of samples."""
    excess = np.array([mo.kurtosis - 1 for mo in moments])
    d_eager = 2 * np.array([mo.m - 1 for mo in moments]) / excess
    d_graph = 2 * np.array([mo.n - 1 for mo in moments]) / excess
    ratio = np.array([mo.eager_var / mo.graph_var for mo in moments])
    upper = _betainc(d_graph / 2, d_eager / 2, d_graph / (d_graph + d_eager * ratio))  # P(F > ratio)
    return np.minimum(1.0, 2 * np.minimum(upper, 1 - upper))


def _screen(graph: np.ndarray, eager: np.ndarray) -> tuple[bool, str] | None:
    """The verdicts that need no test (non-finite, constant, one element); None: test it."""
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
    return None


def _decide(graph: np.ndarray, eager: np.ndarray, p_mean: float, p_spread: float, alpha: float) -> tuple[bool, str]:
    n, m, each = graph.size, eager.size, alpha / 3
    if p_mean < each:
        return False, (f"means differ by {abs(eager.mean() - graph.mean()):.3g} (Welch's t test p = {p_mean:.2g} < "
                       f"{each:.2g}, false-alarm rate {alpha:g})")
    if p_spread < each:
        return False, (f"standard deviations differ by a factor {eager.std(ddof=1) / graph.std(ddof=1):.3g} (F test "
                       f"p = {p_spread:.2g} < {each:.2g} on {n} and {m} elements, false-alarm rate {alpha:g})")
    distance = _ks_distance(graph, eager)
    ks_bound = math.sqrt(-math.log(each / 2) / 2) * math.sqrt((n + m) / (n * m))
    if distance > ks_bound:
        return False, (f"the distributions' shapes differ: Kolmogorov-Smirnov distance {distance:.3g} > "
                       f"{ks_bound:.3g} (false-alarm rate {alpha:g})")
    return True, "consistent"


def check_initializers(
    initial: Mapping[str, tuple[np.ndarray, np.ndarray]], alpha: float = ALPHA
) -> tuple[InitializerCheck, ...]:
    """Compares each variable's graph initial values with the eager side's own, by the module's rule.

    Args:
        initial: name -> (graph initial values, eager own initial values), same shape.
        alpha: the false-alarm rate per variable (a correct port fails with at most this probability).

    Returns:
        One :class:`InitializerCheck` per floating-point variable.
    """
    samples = {}
    for name, (graph, eager) in initial.items():
        graph, eager = np.asarray(graph), np.asarray(eager)
        if np.issubdtype(graph.dtype, np.floating) and np.issubdtype(eager.dtype, np.floating):
            samples[name] = (tuple(graph.shape), graph.astype(np.float64).reshape(-1), eager.astype(np.float64).reshape(-1))
    verdicts = {name: _screen(graph, eager) for name, (_, graph, eager) in samples.items()}
    tested = [name for name, verdict in verdicts.items() if verdict is None]
    moments = [_moments(*samples[name][1:]) for name in tested]
    for name, p_mean, p_spread in zip(tested, welch_p_values(moments), spread_p_values(moments)):
        verdicts[name] = _decide(*samples[name][1:], float(p_mean), float(p_spread), alpha)
    return tuple(InitializerCheck(name, shape, _summary(graph), _summary(eager), *verdicts[name])
                 for name, (shape, graph, eager) in samples.items())
