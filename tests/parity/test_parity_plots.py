"""Seeing a parity run: the difference panel, its title, TensorBoard scalars, and the progress bar.

The figures are read back (titles, line data, the marker of the first
divergence) and checked against the report whose verdict they claim to show.
"""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest

import graphmode as gm
from graphmode import tf
from graphmode.parity.gallery import examples as plumbing
from graphmode.parity.gallery import regress_a
from graphmode.parity.gallery.figures import difference_curves, draw_runs

STEPS = 12


def mistaken_eager() -> gm.EagerModel:
    """regress_a's eager port with the learning rate mistyped (0.03 for 0.02)."""
    A = tf.Variable(tf.random.normal([1]), name="A")
    optimizer = tf.keras.optimizers.SGD(0.03)

    def train_step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.square(x * A - y)
        optimizer.apply_gradients([(tape.gradient(loss, A), A)])
        return loss

    return gm.EagerModel({"A": A}, train_step)


@pytest.fixture(scope="module")
def runs():
    problem = regress_a.parity_problem(STEPS, seed=0)
    wrong = problem._replace(build_eager=mistaken_eager)
    free = wrong._replace(verdict="free")
    return {name: plumbing.ExampleRun(name, p, p.check(), ()) for name, p in
            (("matching", problem), ("mistaken", wrong), ("mistaken_free", free))}


def _with_curves(run: plumbing.ExampleRun) -> plumbing.ExampleRun:
    return run._replace(curves=(plumbing.loss_curve(run.report),))


def _lines(axis) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {line.get_label(): (np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float))
            for line in axis.get_lines()}


@pytest.mark.parametrize("name", ["matching", "mistaken", "mistaken_free"])
def test_the_title_says_what_the_difference_panel_draws(runs, name):
    import matplotlib.pyplot as plt

    run = _with_curves(runs[name])
    figure = draw_runs("regress_a", [run])
    try:
        top, bottom = figure.axes[0], figure.axes[1]
        title = top.get_title()
        lines = _lines(bottom)
        assert bottom.get_yscale() == "log"
        labels = [label.removeprefix("|graph - eager|: ") for label in lines if label.startswith("|graph")]
        assert labels == ["loss", "A"]
        drawn_divergent = set()
        for label in labels:
            steps, difference = lines[f"|graph - eager|: {label}"]
            tolerance_steps, tolerance = lines[f"tolerance: {label}"]
            np.testing.assert_array_equal(steps, tolerance_steps)
            with np.errstate(invalid="ignore"):
                drawn_divergent |= set(steps[difference > tolerance].astype(int))
        markers = {label: x for label, (x, _) in lines.items() if label.startswith("first divergence")}
        report = run.report
        if report.ok:
            assert title == "matching: parity OK (lockstep)"
            assert not drawn_divergent and not markers
        else:
            first = report.first_divergence
            assert title == f"{name}: DIVERGED at step {first.step} ({first.variable}, {report.verdict})"
            # The marked step is the first one drawn above its tolerance.
            ((label, x),) = markers.items()
            assert x[0] == first.step == min(drawn_divergent), (label, sorted(drawn_divergent))
    finally:
        plt.close(figure)


def test_lockstep_and_free_curves_are_the_comparisons_that_decide(runs):
    lockstep, free = runs["mistaken"].report, runs["mistaken_free"].report
    loss, variable = difference_curves(lockstep)
    quantity = lockstep.lockstep.loss
    np.testing.assert_array_equal(loss.difference, quantity.max_abs_diffs)
    # Lockstep: each step from the graph's state, so the loss of step 1 is the only one both
    # sides compute from the same A; from step 2 on, one wrong update per step.
    assert loss.divergent_steps.tolist() == [] and variable.divergent_steps[0] == 1
    free_loss, free_variable = difference_curves(free)
    # Free run: the wrong learning rate's effect is carried from step to step.
    np.testing.assert_allclose(free_variable.difference,
                               np.abs(free.candidate.variables["A"] - free.reference.variables["A"])[:, 0])
    assert free_variable.divergent_steps[0] == free.first_divergence.step


def test_bit_identical_runs_say_so_instead_of_drawing_nothing(runs):
    import matplotlib.pyplot as plt

    figure = draw_runs("regress_a", [_with_curves(runs["matching"])])
    try:
        texts = [text.get_text() for text in figure.axes[1].texts]
        assert texts == ["bit-identical: difference 0 at every step"]
    finally:
        plt.close(figure)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_a_terminal(monkeypatch, capsys):
    problem = regress_a.parity_problem(5, seed=0)
    problem.check()
    assert capsys.readouterr().err == ""  # pytest's stderr is not a terminal: no bar
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    problem.check()
    shown = terminal.getvalue()
    # tqdm redraws at most every 0.1 s, so the last count it drew depends on speed; the total does not.
    assert "parity lockstep:" in shown and "parity free run:" in shown and "/5 [" in shown
