"""The bundled examples (graphmode/parity/gallery, in-process) and the plumbing they share (graphmode/parity/examples.py).

Convergence thresholds, and why:

* regress_a: A starts near Normal(0, 1) and must reach [9, 11] in 100 steps (the
  tutorial's claim; the fixed point is 10 / mean(x) ~ 10).
* sigmoid_classifier: the network is linear with no bias, so its boundary passes
  through the origin and cannot follow x1 + x2 = 1; its best possible accuracy on
  the unit square is 0.586. What it can learn is the base rate, so we require
  the full-data cross-entropy to fall below the label entropy (the cross-entropy
  of the best constant prediction) and the training accuracy to reach the
  majority-class rate.
* mlp_digits: chance is 10% (ten balanced classes; the standard error of an
  accuracy near 0.1 on 360 test images is 0.016). The tutorial's MSE with plain
  gradient steps at 1e-3 learns slowly (21% after 300 steps), so we ask for 15%,
  three standard errors above chance; softmax + Adam must pass 90%.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import graphmode as gm
from graphmode import cli
from graphmode.cli.parity import load_example
from graphmode.parity import gallery
from graphmode.parity.gallery import examples as plumbing
from graphmode.parity.run import run_graph

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def regress_a():
    return gallery.load("regress_a")


@pytest.fixture(scope="module")
def sigmoid_classifier():
    return gallery.load("sigmoid_classifier")


@pytest.fixture(scope="module")
def mlp_digits():
    return gallery.load("mlp_digits")


def test_examples_folder_runs_the_gallery_definitions():
    # examples/NAME.py is the script; the definitions ship inside the package.
    for name in gallery.NAMES:
        module = load_example(name, EXAMPLES)
        assert module.parity_problem is gallery.load(name).parity_problem
        assert module.main is gallery.load(name).main


def run_json(module, capsys, *argv: str) -> tuple[int, dict]:
    status = module.main([*argv, "--json"])
    out = capsys.readouterr().out
    assert out.count("\n") == 1, f"--json must print exactly one line; got:\n{out}"
    return status, json.loads(out)


# --- regress_a ----------------------------------------------------------------------------------

def test_regress_a_prints_the_table_plot_and_event_logs(regress_a, capsys, tmp_path):
    plot, logdir = tmp_path / "a.png", tmp_path / "logs"
    assert regress_a.main(["--plot", str(plot), "--logdir", str(logdir)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "== regress_a [stochastic]: TF1 graph vs TF2 eager, 100 steps, seed 0"
    assert lines[1].split() == ["step", "graph", "sample", "loss", "eager", "sample", "loss", "difference"]
    rows = {int(line.split()[0]): [float(v) for v in line.split()[1:]] for line in lines[2:13]}
    assert list(rows) == [1, *range(10, 101, 10)]
    assert any(line.startswith("parity OK: eager (candidate) vs graph (reference), 100 steps") for line in lines)

    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.pyplot as plt

    assert plt.imread(str(plot)).shape[:2] == (800, 640)  # the curves, and the differences under them

    graph_events = read_events(logdir / "graph")
    eager_events = read_events(logdir / "eager")
    graph_def = gm.tf.compat.v1.GraphDef.FromString(next(e.graph_def for e in graph_events if e.graph_def))
    assert {"x_data", "y_target", "A"} <= {node.name for node in graph_def.node}
    graph_losses, eager_losses = scalars(graph_events, "sample_loss"), scalars(eager_events, "sample_loss")
    assert sorted(graph_losses) == sorted(eager_losses) == list(range(1, 101))
    for step, (graph_loss, eager_loss, _) in rows.items():
        assert graph_losses[step] == pytest.approx(graph_loss, rel=1e-8)
        assert eager_losses[step] == pytest.approx(eager_loss, rel=1e-8)
    assert not any(e.graph_def for e in eager_events)
    # The differences the verdict looked at (lockstep: bit-identical here) and their tolerance.
    difference_events = read_events(logdir / "difference")
    assert sorted(scalars(difference_events, "difference/loss")) == list(range(1, 101))
    assert set(scalars(difference_events, "difference/A").values()) == {0.0}
    tolerances = scalars(difference_events, "tolerance/loss")
    assert tolerances[1] == pytest.approx(1e-6 * rows[1][0], rel=1e-6)  # rtol * |graph loss|, atol 0


def read_events(folder: Path) -> list:
    files = list(folder.glob("events.out.tfevents.*"))
    assert len(files) == 1, f"expected one event file in {folder}; found {files}"
    return list(gm.v1.train.summary_iterator(str(files[0])))


def scalars(events: list, tag: str) -> dict[int, float]:
    return {e.step: v.simple_value for e in events for v in e.summary.value if v.tag == tag}


def test_regress_a_batch_variant_converges_in_parity(regress_a, capsys):
    status, result = run_json(regress_a, capsys, "--batch", "--seed", "3")
    assert status == 0 and result["ok"] and list(result["runs"]) == ["batch"]
    run = result["runs"]["batch"]
    for mode in ("graph", "eager"):
        (a,), = run["final_values"][mode]["A"]
        assert 9 <= a <= 11, f"{mode}: A = {a} after 100 steps"
    assert run["parity"]["first_divergence"] is None
    assert run["final_loss"]["graph"] == run["parity"]["reference_losses"][-1]


def test_regress_a_matches_a_hand_computed_first_step(regress_a):
    # One SGD step on (x*A - y)^2 moves A by -lr * 2x(xA - y); both modes must make exactly it.
    problem = regress_a.parity_problem(steps=1, seed=5)
    report = problem.check()
    (x,), (y,) = problem.batches[0]
    a0 = np.float32(report.reference.variables["A"][0, 0])
    expected = a0 - np.float32(0.02) * (np.float32(2) * (x * a0 - y) * x)
    for trajectory in (report.reference, report.candidate):
        assert trajectory.losses[0] == pytest.approx(float((x * a0 - y) ** 2), rel=1e-6)
        assert trajectory.variables["A"][1, 0] == pytest.approx(float(expected), rel=1e-6)


# --- sigmoid_classifier -------------------------------------------------------------------------

@pytest.mark.slow  # 1000 steps; the step-1 loss and 200-step parity tests below stay fast
def test_sigmoid_classifier_learns_the_base_rate_in_parity(sigmoid_classifier, capsys):
    status, result = run_json(sigmoid_classifier, capsys)
    run = result["runs"]["cross_entropy"]
    assert status == 0 and run["parity"]["ok"], run["parity"]["first_divergence"]
    assert result["steps"] == 1000 and result["seed"] == 1
    _, labels = sigmoid_classifier.make_data(1)
    rate = labels.mean()
    label_entropy = -(rate * math.log(rate) + (1 - rate) * math.log(1 - rate))
    majority = max(rate, 1 - rate)
    for mode in ("graph", "eager"):
        assert run["final_loss"][mode] < label_entropy, f"{mode}: full-data cross-entropy {run['final_loss'][mode]}"
        assert majority <= run["metrics"][mode]["train_accuracy"] <= 1
    assert run["loss_label"] == "full-data cross-entropy"


@pytest.mark.parametrize("faithful_bug", [False, True])
def test_sigmoid_classifier_step_one_loss_is_the_formula_trained(sigmoid_classifier, faithful_bug):
    problem = sigmoid_classifier.parity_problem(steps=2, variant="faithful_bug" if faithful_bug else "cross_entropy")
    report = problem.check()
    assert report.ok, report
    x, labels = (a.astype(np.float64) for a in problem.batches[0])
    w1, w2 = (report.reference.variables[name][0] for name in ("w1", "w2"))
    y = 1 / (1 + np.exp(-(x @ w1 @ w2)))
    if faithful_bug:
        # The often-copied form is a [8, 1] tensor; the optimizer minimizes its sum.
        expected = np.sum(-np.mean(labels * np.log(y)) + (1 - y) * np.log(1 - y))
    else:
        expected = -np.mean(labels * np.log(y) + (1 - labels) * np.log(1 - y))
    for trajectory in (report.reference, report.candidate):
        assert trajectory.losses[0] == pytest.approx(expected, rel=1e-5)


def test_sigmoid_classifier_faithful_bug_runs_in_parity(sigmoid_classifier, capsys):
    status, result = run_json(sigmoid_classifier, capsys, "--faithful-bug", "--steps", "200")
    assert status == 0 and list(result["runs"]) == ["faithful_bug"]
    assert result["runs"]["faithful_bug"]["parity"]["ok"]


# --- mlp_digits ---------------------------------------------------------------------------------

@pytest.mark.slow  # 300 steps x 2 variants + noise floor; 3-step variant runs stay fast
def test_mlp_digits_both_variants_beat_chance_in_parity(mlp_digits, capsys, tmp_path):
    status, result = run_json(mlp_digits, capsys, "--plot", str(tmp_path / "m.png"))
    assert status == 0 and result["steps"] == 300
    floors = {"mse_sgd": 0.15, "softmax_adam": 0.9}
    assert list(result["runs"]) == list(floors)
    for variant, floor in floors.items():
        run = result["runs"][variant]
        assert run["parity"]["ok"], run["parity"]["first_divergence"]
        # Adam amplifies rounding, so only that variant checks against a noise floor.
        assert run["parity"]["noise_floor"] is (variant == "softmax_adam")
        assert (run["parity"]["atol"], run["parity"]["rtol"]) == (1e-6, 1e-5)
        for mode in ("graph", "eager"):
            assert run["metrics"][mode]["test_accuracy"] > floor, f"{variant} {mode}: {run['metrics'][mode]}"
        assert run["final_values"]["graph"]["w1"]["shape"] == [64, 256]
    assert result["plot"] == str(tmp_path / "m.png") and (tmp_path / "m.png").stat().st_size > 10_000


def write_mnist(path: Path, **overrides) -> Path:
    rng = np.random.default_rng(0)
    arrays = {"x_train": rng.integers(0, 256, (40, 28, 28), dtype=np.uint8),
              "y_train": np.arange(40) % 10,
              "x_test": rng.integers(0, 256, (10, 28, 28), dtype=np.uint8),
              "y_test": np.arange(10)}
    arrays.update(overrides)
    np.savez(path, **{key: value for key, value in arrays.items() if value is not None})
    return path


def test_mnist_loader_flattens_and_scales(mlp_digits, tmp_path):
    data = mlp_digits.load_mnist(write_mnist(tmp_path / "mnist.npz"))
    assert data.x_train.shape == (40, 784) and data.x_test.shape == (10, 784)
    assert data.x_train.dtype == np.float32 and 0 <= data.x_train.min() and data.x_train.max() <= 1
    assert data.x_train.max() > 0.99  # 255 -> 1, not left in 0..255
    assert data.y_train.dtype == np.int32 and list(data.y_test) == list(range(10))


def test_mlp_digits_trains_on_an_mnist_file(mlp_digits, capsys, tmp_path):
    path = write_mnist(tmp_path / "mnist.npz")
    status, result = run_json(mlp_digits, capsys, "--mnist", str(path), "--steps", "3", "--variant", "mse_sgd")
    assert status == 0 and list(result["runs"]) == ["mse_sgd"]
    assert result["runs"]["mse_sgd"]["final_values"]["graph"]["w1"]["shape"] == [784, 256]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"y_test": None}, "missing arrays ['y_test']; it holds ['x_test', 'x_train', 'y_train'], an mnist.npz "
                           "holds ['x_train', 'y_train', 'x_test', 'y_test']"),
        ({"y_train": np.arange(39) % 10}, "x_train has shape (40, 28, 28) and y_train (39,); expected one label "
                                          "per image"),
        ({"y_test": np.arange(10) + 1}, "y_test holds labels from 1 to 10; expected whole numbers 0..9"),
        ({"x_test": np.zeros((10, 8, 8), np.uint8)}, "train images have 784 pixels, test images 64"),
    ],
)
def test_malformed_mnist_file_is_named(mlp_digits, tmp_path, overrides, message):
    path = write_mnist(tmp_path / "mnist.npz", **overrides)
    with pytest.raises(gm.errors.DatasetError) as raised:
        mlp_digits.load_mnist(path)
    assert str(raised.value).startswith(f"--mnist {path}: ") and message in str(raised.value)


def test_unreadable_mnist_path_exits_2(mlp_digits, capsys, tmp_path):
    missing = tmp_path / "nowhere.npz"
    assert mlp_digits.main(["--mnist", str(missing)]) == 2
    assert capsys.readouterr().err.startswith(f"mlp_digits: --mnist {missing}: no such file")
    garbage = tmp_path / "garbage.npz"
    garbage.write_text("not an archive")
    with pytest.raises(gm.errors.DatasetError, match=r"not a NumPy \.npz archive"):
        mlp_digits.load_mnist(garbage)


# --- the parity CLI and the options every example shares ----------------------------------------

@pytest.mark.parametrize(("name", "variant"), [(name, variant) for name in gallery.NAMES
                                               for variant in gallery.load(name).VARIANTS])
def test_graphmode_parity_runs_each_example_variant(name, variant, capsys):
    assert cli.main(["parity", name, "--variant", variant, "--steps", "3", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and report["steps"] == 3 and report["verdict"] == "lockstep"
    # The variant asked for is the one that ran: its graph, trained alone, gives these losses.
    expected = gallery.load(name).parity_problem(steps=3, variant=variant)
    assert report["reference_losses"] == list(run_graph(expected.build_graph(), expected.batches).losses)


# Free-running, a correct port can part from the graph by more than the noise floor allows
# before the floor's rerun has moved, and where depends on the CPU's rounding: mlp_digits
# softmax_adam seed 4 (step 30, b1) and seed 9 (step 7, b1). sigmoid_classifier's
# faithful_bug trains its loss down to 0.03-0.16, where the absolute tolerance (1e-6) is most
# of the bound, so late steps part by a hair on some CPUs (measured 5 Dec: seed 0 at step 164,
# 1.12x over; seed 2 at step 194, 1.05x). There the free run is information, whichever way
# it goes on the machine at hand; lockstep is the verdict (README, Parity).
FREE_RUN_EXCEPTIONS = {("mlp_digits", "softmax_adam", 4), ("mlp_digits", "softmax_adam", 9),
                       *(("sigmoid_classifier", "faithful_bug", seed) for seed in range(10))}


@pytest.mark.slow
@pytest.mark.parametrize(("name", "variant"), [(name, variant) for name in gallery.NAMES
                                               for variant in gallery.load(name).VARIANTS])
def test_every_example_variant_passes_its_own_defaults_on_seeds_0_to_9(name, variant):
    for seed in range(10):
        report = gallery.load(name).parity_problem(seed=seed, variant=variant).check()
        assert report.ok, f"{name} --variant {variant} --seed {seed}:\n{report}"
        free = report.free_run
        if (name, variant, seed) not in FREE_RUN_EXCEPTIONS:
            assert free.ok, f"free run, seed {seed}:\n{free}"


def test_unknown_variant_is_named(capsys):
    assert cli.main(["parity", "mlp_digits", "--variant", "softmax_sgd"]) == 2
    assert capsys.readouterr().err.strip() == (
        "graphmode parity: mlp_digits has no variant 'softmax_sgd'; its variants: mse_sgd, softmax_adam")
    with pytest.raises(gm.errors.ExampleError, match="regress_a has no variant 'minibatch'; its variants: stochastic, batch"):
        gallery.load("regress_a").parity_problem(variant="minibatch")


def test_out_of_range_steps_is_a_usage_error(regress_a, capsys):
    with pytest.raises(SystemExit) as exited:
        regress_a.main(["--steps", "0"])
    assert exited.value.code == 2
    assert "argument --steps: must be at least 1; got 0" in capsys.readouterr().err


# --- plumbing, on made-up trajectories ----------------------------------------------------------

def made_up_run(graph_losses, eager_losses, name="made_up") -> plumbing.ExampleRun:
    steps = len(graph_losses)
    graph = gm.parity.Trajectory("graph", np.array(graph_losses, float), {"w": np.linspace(0, 1, steps + 1)[:, None]})
    eager = gm.parity.Trajectory("eager", np.array(eager_losses, float), {"w": np.linspace(0, 1, steps + 1)[:, None]})
    report = gm.parity.compare_trajectories(graph, eager, atol=1e-6, rtol=0)
    return plumbing.ExampleRun(name, None, report, (plumbing.loss_curve(report),))


def test_diverged_run_exits_1_and_its_nan_stays_strict_json(capsys):
    run = made_up_run([4.0, 2.0, 1.0], [4.0, 2.5, float("nan")])
    args = plumbing.example_parser("made up", steps=3).parse_args(["--json"])
    assert plumbing.finish(args, "made_up", [run]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["ok"] is False and result["runs"]["made_up"]["final_loss"] == {"graph": 1.0, "eager": "nan"}
    assert result["runs"]["made_up"]["parity"]["first_divergence"]["step"] == 2


def test_table_shows_first_last_and_every_nth_step():
    run = made_up_run([8.0, 4.0, 2.0, 1.0, 0.5], [8.0, 4.0, 2.0, 1.5, 0.5])
    lines = plumbing.format_table(run.curves[0], every=2).splitlines()
    assert [line.split()[0] for line in lines[1:]] == ["1", "2", "4", "5"]
    assert lines[3].split()[1:] == ["1", "1.5", "0.5"]


@pytest.mark.parametrize(("steps", "every"), [(7, 1), (100, 10), (300, 50), (1000, 100), (5000, 500)])
def test_table_interval_keeps_about_ten_rows(steps, every):
    assert plumbing.table_interval(steps) == every


def test_large_values_are_summarized():
    assert plumbing.describe_value(np.ones((2, 3))) == [[1.0] * 3] * 2
    assert plumbing.describe_value(np.ones((10, 10))) == {"shape": [10, 10], "l2_norm": 10.0, "mean": 1.0}


def test_dropping_the_variable_history_keeps_what_finish_reads():
    report = made_up_run([4.0, 2.0, 1.0], [4.0, 2.0, 1.0]).report
    slim = plumbing.drop_variable_history(report)
    assert [v.shape for v in slim.reference.variables.values()] == [(1, 1)]
    assert str(slim) == str(report) and slim.to_dict() == report.to_dict()
    assert plumbing.final_values(slim.candidate) == plumbing.final_values(report.candidate) == {"w": [1.0]}
