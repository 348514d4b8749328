"""The noise floor: how far the reference drifts from itself under rounding alone.

Some trainings amplify float32 rounding. Adam divides each update by
``sqrt(v) + epsilon``, so wherever a gradient is near zero a difference in the
last bit of a weight becomes a difference of whole learning-rate steps a few
updates later. Two correct programs that round differently (TF1's fused
``ApplyAdam`` kernel and Keras' composed update) then part by far more than a
fixed ``atol`` meant for "a few ulps" would allow, and an ``atol`` wide enough
for that chaos lets real mistakes through for hundreds of steps.

The noise floor measures that chaos instead of guessing it: the reference is
trained a second time, on the same batches, with every element of every float
variable moved one ulp away from zero (:func:`perturb_by_one_ulp`) at the start
and again after every step. The distance between the two reference runs says how
far rounding alone carries this training by each step.

Why after every step and not only at the start: two kernels that round
differently differ by an ulp or two in *every* update, not once. On
``mlp_digits``' Adam variant a single 1-ulp start moved the weights by only
3e-5 in 300 steps (seed 0; at most 0.007 over seeds 0-3) while graph and eager
parted by 0.013-0.052, so a start-only floor needed a factor of 4e3-2e5 to pass
the correct port. Nudged every step, the graph run drifts as graph and eager do
(seed 0: 1.1e-2 vs 1.1e-2 at step 200, 1.4e-2 vs 1.2e-2 at step 300).

Rule, per quantity ``q`` (the loss or a variable), step ``k`` and element ``i``::

    floor[k, q, i] = max over steps j <= k of |shadow_q[j, i] - reference_q[j, i]|
    excess[k, q, i] = |a - b| - (atol + rtol * scale_i)           (the plain rule's overshoot)
    the element with the r-th largest excess gets slack noise_factor * (r-th largest floor[k, q, .])
    |a-b| <= atol + rtol * scale_i + noise_factor * matched_floor[k, q, i]

The floor is element-wise, matched by rank: the worst element of the
candidate is measured against the largest drift of any element of the rerun,
the second worst against the second largest, and so on. So one chaotic
element excuses one element, not the whole tensor. Matching by rank and not
by position is deliberate: the rerun and the candidate are two samples of the
chaos, and which elements go chaotic (which near-zero gradient flips sign
first) differs between samples, while how many do and how far they go does
not. Measured on ``mlp_digits`` softmax_adam (300 steps): matched by position
a correct port needs a factor of 2e3-1e4 (seeds 0-2; the eager run's chaotic
elements are ones the rerun left alone); matched by rank it needs what the old
one-number-per-tensor floor needed (at most 29x, seeds 0-3). A mistake that
moves many elements cannot hide behind a few chaotic ones. Measured over
seeds 0-6 (300 steps; seed 4 left out, where the correct port itself fails,
see below): zeroing ``w2`` after step 150 fails at step 150 on all six, where
the one-number floor caught it there on one seed (seed 0) and 3-34 steps later
on the others; the eager side cutting its learning rate 10x at step 150
fails 8-122 steps later on five (seeds 0-3, 6), where the one-number floor
let it through all 300 steps on seeds 1 and 5. Seed 5 passes both rules: its
rerun's chaos is as large as the cut's effect. A free run can only say "not
told apart from rounding chaos"; the lockstep verdict catches both at step 150.

The running maximum is deliberate: chaotic trajectories separate along an
envelope, but their difference at one step can cross zero by chance (the loss,
a single number, does so whenever the two runs swap which is ahead), and a
tolerance that collapses at such a step would flag noise. Where the training
does not amplify rounding (plain SGD), the nudged rerun drifts by a few ulps of
each element and the rule stays the plain one up to those ulps.

``noise_factor`` (default :data:`DEFAULT_NOISE_FACTOR` = 100) covers that the
floor is one sample of the chaos and the candidate another. While differences
grow, their ratio is set by *when* each run's growth set in, not by the size
of the rounding. On ``mlp_digits`` (seeds 0-3, 300 steps) the eager-vs-graph
excess reached 29x the matched floor (seed 0, ``b2``), so a factor of 10, the
first choice, failed a correct port; 100 is the next decade. It is not a
guarantee: on seeds 4 and 9 (of 0-9) graph and eager part early (steps 30 and
7), long before the nudged rerun does, and the correct port fails the free
run with this floor as with the one-number floor before it. That is why the
free run is information and lockstep (:mod:`graphmode.parity.lockstep`) the verdict.

Where the training does not amplify rounding the nudges themselves are what
the rerun drifts by: each element moves one ulp away from zero per step, so
on plain SGD (``mlp_digits`` mse_sgd) the floor of an element grows about one
ulp of it per step: ``noise_factor`` x floor is ~2% of the weights' RMS
after 1000 steps and ~5% after 3000 (``w1``: floor 1.6e-5 and 4.7e-5, RMS
0.088). A bit-identical port stays checked to that precision; an
unbiased nudge (flipping the last bit) kept the SGD floor 10x lower but, on
Adam, sampled too little chaos for correct ports to pass (seeds 0 and 1 failed).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from graphmode.errors import ConfigError

# One sample of the rounding chaos against another: while differences grow, the
# two can be a decade or more apart (29x measured, see the module docstring);
# 100 covers that, and a mistake showing at step 1 is still thousands of floors big.
DEFAULT_NOISE_FACTOR = 100.0

FLOOR_RULE = ("floor[k, q, i] = max over steps <= k of |shadow - reference| per element (graph rerun nudged +1 ulp "
              "every step), matched by rank: the r-th largest excess over the plain rule gets the r-th largest floor")


def perturb_by_one_ulp(values: Mapping[str, np.ndarray], dtypes: Mapping[str, np.dtype]) -> dict[str, np.ndarray]:
    """Moves every element of every floating-point value one ulp away from zero.

    Args:
        values: name -> array (any float dtype; float64 trajectories included).
        dtypes: name -> the variable's own dtype, the one whose ulp counts.
            Names with a non-floating dtype (counters, integer tables) are left out.

    Returns:
        name -> perturbed array in the variable's dtype. An exact zero becomes the
        smallest subnormal, which TensorFlow's CPU kernels flush to zero, so
        zeros (fresh biases, weights no gradient reaches) stay effectively
        unperturbed; the other weights carry the perturbation into them.
    """
    perturbed = {}
    for name, value in values.items():
        dtype = np.dtype(dtypes[name])
        if not np.issubdtype(dtype, np.floating):
            continue
        value = np.asarray(value, dtype=dtype)
        # copysign keeps -0.0 moving towards -inf, so "away from zero" holds for both zeros.
        perturbed[name] = np.nextafter(value, np.copysign(np.inf, value).astype(dtype))
    return perturbed


def noise_floor(reference: np.ndarray, shadow: np.ndarray, name: str) -> np.ndarray:
    """The floor of one quantity, element by element: the running max of the two runs' abs difference.

    Args:
        reference: ``[steps, *shape]`` values of the reference run.
        shadow: the same quantity from the reference rerun with its nudges.
        name: the quantity, for the error message.

    Returns:
        float64 array ``[steps, *shape]``, non-decreasing along the steps. NaN on
        one side only counts as infinite (the reference cannot say how far noise
        goes there); NaN on both sides as 0.

    Raises:
        ConfigError: the two arrays have different shapes.
    """
    reference = np.asarray(reference, dtype=np.float64)
    shadow = np.asarray(shadow, dtype=np.float64)
    if reference.shape != shadow.shape:
        raise ConfigError(
            f"noise floor for {name!r}: the reference has shape {reference.shape} over its steps but the "
            f"perturbed rerun {shadow.shape}; the rerun must train the same model on the same batches"
        )
    same = (reference == shadow) | (np.isnan(reference) & np.isnan(shadow))
    with np.errstate(invalid="ignore", over="ignore"):
        drift = np.where(same, 0.0, np.abs(shadow - reference))
    drift = np.where(np.isnan(drift), np.inf, drift)
    return np.maximum.accumulate(drift, axis=0) if drift.size else drift


def matched_floor(excess: np.ndarray, floor: np.ndarray) -> np.ndarray:
    """Each element's share of the floor: the r-th largest excess of a step gets that step's r-th largest floor.

    Args:
        excess: ``[steps, *shape]``, how far each element is past the plain
            tolerance (negative where it is within).
        floor: ``[steps, *shape]`` from :func:`noise_floor`.

    Returns:
        float64 array ``[steps, *shape]``: per step, the floor's values sorted
        to the elements in the order of their excess (ties and NaN excess are
        placed as ``argsort`` places them, NaN last, so a NaN gets the smallest share).
    """
    excess = np.asarray(excess, dtype=np.float64)
    floor = np.asarray(floor, dtype=np.float64)
    if excess.ndim <= 1:
        return floor.copy()
    rows = excess.shape[0]
    flat_excess = np.where(np.isnan(excess), -np.inf, excess).reshape(rows, -1)
    flat_floor = floor.reshape(rows, -1)
    order = np.argsort(-flat_excess, axis=1, kind="stable")
    matched = np.empty_like(flat_floor)
    np.put_along_axis(matched, order, -np.sort(-flat_floor, axis=1), axis=1)
    return matched.reshape(excess.shape)
