"""The parity noise floor: rounding chaos passes, real mistakes still fail at their step."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from test_parity import BATCH, build_eager, build_graph, regression_batches

import graphmode as gm
from graphmode.cli.parity import load_example
from graphmode.parity.noise_floor import noise_floor, perturb_by_one_ulp

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
CHAOS_STEPS = 40


def _trajectory(mode, losses, **variables):
    return gm.Trajectory(mode, np.asarray(losses, np.float64),
                         {k: np.asarray(v, np.float64) for k, v in variables.items()})


@pytest.fixture(scope="module")
def adam_digits():
    # TF1's fused ApplyAdam and Keras' composed Adam, otherwise the same program:
    # they differ only in how they round, and Adam amplifies that near zero gradients.
    return load_example("mlp_digits", EXAMPLES).parity_problem(CHAOS_STEPS, seed=2, variant="softmax_adam")


def test_rounding_chaos_passes_with_the_floor_and_fails_without(adam_digits):
    assert adam_digits.noise_floor and (adam_digits.atol, adam_digits.rtol) == (1e-6, 1e-5)
    floored = adam_digits.check()
    assert floored.ok, str(floored)
    plain = adam_digits._replace(noise_floor=False).check()
    assert not plain.ok
    first = plain.first_divergence
    # The same two runs: only the tolerance differs, and the floor at the step where
    # the plain rule fails is what lets the difference through.
    np.testing.assert_array_equal(plain.candidate.losses, floored.candidate.losses)
    quantity = next(q for q in (floored.loss, *floored.variables) if q.name == first.variable)
    row = first.step - (1 if first.variable == "loss" else 0)
    scale = first.atol + first.rtol * abs(first.reference_value)
    worst = abs(first.candidate_value - first.reference_value)
    assert scale < worst <= scale + floored.noise_factor * quantity.noise_floor[row]


def test_a_real_mistake_is_caught_at_its_step_with_the_floor_on():
    batches = regression_batches()
    plain = gm.check_parity(build_graph, lambda: build_eager(adam={}), batches)
    floored = gm.check_parity(build_graph, lambda: build_eager(adam={}), batches, noise_floor=True)
    assert floored.noise_floor and not floored.ok
    ref, got = plain.first_divergence, floored.first_divergence
    assert (got.kind, got.step, got.variable, got.index) == (ref.kind, ref.step, ref.variable, ref.index) == (
        "value", 1, "w", (2, 0))
    # Plain least squares does not amplify rounding: the floor stays at a few ulps.
    assert got.noise_floor < 1e-6 < got.max_abs_diff
    summed = gm.check_parity(build_graph, lambda: build_eager(reduce=gm.tf.reduce_sum), batches, noise_floor=True)
    assert (summed.first_divergence.step, summed.first_divergence.variable) == (1, "loss")
    assert summed.first_divergence.candidate_value == pytest.approx(BATCH * summed.first_divergence.reference_value,
                                                                    rel=1e-5)


def test_floor_rule_is_a_running_max_times_the_factor():
    # Powers of two, so every bound below is exact in float64.
    reference = _trajectory("graph", [4.0, 4.0, 4.0], v=[[0.0], [0.0], [0.0], [0.0]])
    # The rerun is off at one step and back on the reference after it: the floor keeps that distance.
    shadow = _trajectory("shadow", [4.0, 4.125, 4.0], v=[[0.0], [0.0], [0.25], [0.0]])
    np.testing.assert_array_equal(noise_floor(reference.losses, shadow.losses, "loss"), [0.0, 0.125, 0.125])
    # Loss at steps 2 and 3: atol 0.25 + rtol 0.125*4 + 2*0.125 = 1.0 (0.75 at step 1);
    # v at steps 2 and 3: 0.25 + 2*0.25 = 0.75 (0.25 before).
    within = _trajectory("eager", [4.75, 5.0, 5.0], v=[[0.25], [0.25], [0.75], [0.75]])
    report = gm.compare_trajectories(reference, within, atol=0.25, rtol=0.125, noise_floor=shadow, noise_factor=2)
    assert report.ok, str(report)
    assert report.loss.max_noise_floor == 0.125 and report.variables[0].max_noise_floor == 0.25
    past = _trajectory("eager", [4.75, 5.0, 5.125], v=[[0.25], [0.25], [0.75], [0.875]])
    report = gm.compare_trajectories(reference, past, atol=0.25, rtol=0.125, noise_floor=shadow, noise_factor=2)
    assert [(d.step, d.variable) for d in report.divergences] == [(3, "loss"), (3, "v")]
    assert report.first_divergence.noise_floor == 0.125 and report.first_divergence.noise_factor == 2
    without = gm.compare_trajectories(reference, within, atol=0.25, rtol=0.125)
    assert [(d.step, d.variable) for d in without.divergences] == [(2, "loss"), (2, "v")]


def test_perturbation_moves_every_float_element_one_ulp_away_from_zero():
    values = {"w": np.array([0.1, -0.1, 0.0, -0.0, 3e38], np.float32), "count": np.array(7, np.int64)}
    moved = perturb_by_one_ulp(values, {"w": np.float32, "count": np.int64})
    assert list(moved) == ["w"] and moved["w"].dtype == np.float32
    w = values["w"]
    np.testing.assert_array_equal(np.abs(moved["w"]) - np.abs(w), np.spacing(np.abs(w)))
    assert np.signbit(moved["w"][3]) and moved["w"][2] > 0


def test_report_shows_the_floor_in_table_dict_json_and_divergence():
    report = gm.check_parity(build_graph, lambda: build_eager(adam={}), regression_batches(), noise_floor=True)
    text = str(report)
    assert "|a-b| <= atol + rtol*|ref| + noise_factor*floor with atol=1e-06, rtol=1e-05, noise_factor=100" in text
    assert "noise floor: floor[k, q] = max over steps <= k" in text.splitlines()[0]
    header = text.splitlines()[1].split("  ")
    assert [cell.strip() for cell in header if cell.strip()] == [
        "quantity", "shape", "max abs diff", "max rel diff", "max noise floor", "first bad step"]
    message = report.first_divergence.format()
    floor = report.first_divergence.noise_floor
    assert f"noise floor {floor:.3g} at step 1 (x100 = {100 * floor:.3g})" in message
    data = json.loads(report.to_json())
    assert data["noise_floor"] is True and data["noise_factor"] == 100.0
    assert data["tolerance_rule"] == "|a-b| <= atol + rtol*|ref| + noise_factor*floor"
    assert data["first_divergence"]["noise_floor"] == floor and data["first_divergence"]["noise_factor"] == 100.0
    assert data["variables"]["w"]["max_noise_floor"] == report.variables[0].max_noise_floor
    assert len(data["loss_noise_floors"]) == report.steps
    assert "noise floor" in report.format_steps().splitlines()[0]
    plain = gm.check_parity(build_graph, build_eager, regression_batches(2))
    data = plain.to_dict()
    assert (data["noise_floor"], data["noise_factor"], data["loss_noise_floors"]) == (False, None, None)
    assert data["variables"]["w"]["max_noise_floor"] is None
    assert "noise" not in str(plain) and "noise" not in plain.format_steps()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: gm.check_parity(build_graph, build_eager, regression_batches(1), noise_floor=True, noise_factor=-1),
         "noise_factor must be a number >= 0; got -1"),
        (lambda: gm.compare_trajectories(_trajectory("graph", [1.0], v=[[0.0], [0.0]]),
                                         _trajectory("eager", [1.0], v=[[0.0], [0.0]]), atol=0, rtol=0,
                                         noise_floor=_trajectory("shadow", [1.0], u=[[0.0], [0.0]])),
         r"the noise-floor run \(shadow\) lacks reference variables \['v'\]"),
        (lambda: gm.compare_trajectories(_trajectory("graph", [1.0], v=[[0.0], [0.0]]),
                                         _trajectory("eager", [1.0], v=[[0.0], [0.0]]), atol=0, rtol=0,
                                         noise_floor=_trajectory("shadow", [1.0, 1.0], v=[[0.0], [0.0], [0.0]])),
         r"noise floor for 'loss': the reference has shape \(1,\) over its steps but the perturbed rerun \(2,\)"),
    ],
)
def test_bad_floor_input_is_named(call, message):
    with pytest.raises(gm.ConfigError, match=message):
        call()
