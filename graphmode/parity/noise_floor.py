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

Rule, per quantity ``q`` (the loss or a variable) and step ``k``::

    floor[k, q] = max over steps j <= k of max over elements |shadow_q[j] - reference_q[j]|
    |a-b| <= atol + rtol*|ref| + noise_factor * floor[k, q]

The running maximum is deliberate: chaotic trajectories separate along an
envelope, but their difference at one step can cross zero by chance (the loss,
a single number, does so whenever the two runs swap which is ahead), and a
tolerance that collapses at such a step would flag noise.

``noise_factor`` (default :data:`DEFAULT_NOISE_FACTOR` = 100) covers that the
floor is one sample of the chaos and the candidate another. Both are driven by
rounding of about the same size, but while differences grow, their ratio is set
by *when* each run's growth set in (which near-zero gradient flipped first),
not by the size of the rounding. On ``mlp_digits`` (seeds 0-3, 300 steps) the
eager-vs-graph distance reached 29x the floor in that phase (seed 0, step 94;
14x on seed 1; under 3x on seeds 2 and 3), so a factor of 10, the first choice,
failed a correct port. 100 is the next decade: 3x above the worst ratio seen.
It is cheap where mistakes show: a wrong Adam epsilon moves weights by 5e-4 at
step 1, where the floor is ~1e-7, so it fails at step 1 with a margin of 30x.
A mistake smaller than 100x the rounding chaos of its step passes; for
trainings that do not amplify rounding the floor stays at a few ulps and the
rule is the plain one.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from graphmode._errors import ConfigError

# One sample of the rounding chaos against another: while differences grow, the
# two can be a decade or more apart (29x measured, see the module docstring);
# 100 covers that, and a mistake showing at step 1 is still thousands of floors big.
DEFAULT_NOISE_FACTOR = 100.0

FLOOR_RULE = "floor[k, q] = max over steps <= k of max |shadow - reference| (graph rerun nudged +1 ulp every step)"


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


def _max_abs_per_row(reference: np.ndarray, shadow: np.ndarray) -> np.ndarray:
    both_nan = np.isnan(reference) & np.isnan(shadow)
    with np.errstate(invalid="ignore"):
        diff = np.where(both_nan, 0.0, np.abs(shadow - reference))
    # NaN on one side only: the reference cannot say how far noise goes, so nothing is excluded.
    diff = np.where(np.isnan(diff), np.inf, diff)
    return diff.reshape(diff.shape[0], -1).max(axis=1) if diff.size else np.zeros(diff.shape[0])


def noise_floor(reference: np.ndarray, shadow: np.ndarray, name: str) -> np.ndarray:
    """The per-step floor of one quantity: the running max of the two runs' max abs difference.

    Args:
        reference: ``[steps, *shape]`` values of the reference run.
        shadow: the same quantity from the reference rerun from perturbed initial values.
        name: the quantity, for the error message.

    Returns:
        float64 array ``[steps]``, non-decreasing.

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
    return np.maximum.accumulate(_max_abs_per_row(reference, shadow)) if reference.size else np.zeros(len(reference))
