"""``graphmode parity``: the installed command on stand-in examples, then the bundled ones."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import preimported
import pytest

from graphmode import cli

EXAMPLES = Path(__file__).resolve().parents[1] / "scripts" / "parity_examples"
BUNDLED = Path(__file__).resolve().parents[2] / "examples"


def run_command(*args: str) -> subprocess.CompletedProcess:
    # The console script the package installs, next to this interpreter.
    command = Path(sys.executable).parent / "graphmode"
    assert command.is_file(), f"no installed graphmode command at {command}; run pip install -e ."
    return preimported.run([str(command), "parity", *args], capture_output=True, text=True, timeout=300)


def test_matching_example_prints_the_report_and_exits_0():
    done = run_command("tiny_sgd", "--examples-dir", str(EXAMPLES), "--per-step")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "tiny_sgd: graph (TF1) vs eager (TF2)"
    assert lines[1].startswith("parity OK: eager (candidate) vs graph (reference), 5 steps")
    assert "first divergence: none" in lines
    assert len([line for line in lines if line.split()[:1] in (["1"], ["5"])]) == 2  # per-step rows 1 and 5


def test_diverging_example_exits_1_with_json():
    done = run_command("tiny_sgd_sum", "--examples-dir", str(EXAMPLES), "--json", "--steps", "3")
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is False and report["steps"] == 3
    assert (report["first_divergence"]["step"], report["first_divergence"]["variable"]) == (1, "loss")


def test_options_reach_the_example_and_the_tolerances(capsys):
    assert cli.main(["parity", "tiny_sgd", "--examples-dir", str(EXAMPLES), "--steps", "2", "--seed", "7",
                     "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["steps"] == 2
    # Different seeds draw different data, so the step-1 losses differ.
    assert cli.main(["parity", "tiny_sgd", "--examples-dir", str(EXAMPLES), "--steps", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["reference_losses"] != report["reference_losses"]
    # A summed loss is 4x the mean here; a loose enough rtol accepts it.
    assert cli.main(["parity", "tiny_sgd_sum", "--examples-dir", str(EXAMPLES), "--steps", "1", "--rtol", "4",
                     "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rtol"] == 4.0


def test_verdict_option_chooses_the_comparison_that_decides(capsys):
    base = ["parity", "tiny_sgd_sum", "--examples-dir", str(EXAMPLES), "--steps", "2", "--json"]
    exits = {verdict: cli.main([*base, "--verdict", verdict]) for verdict in ("lockstep", "free")}
    reports = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert [report["verdict"] for report in reports] == ["lockstep", "free"]
    assert exits == {"lockstep": 1, "free": 1}  # a summed loss is wrong either way
    with pytest.raises(SystemExit) as usage:
        cli.main([*base, "--verdict", "neither"])
    assert usage.value.code == 2 and "invalid choice: 'neither'" in capsys.readouterr().err


def test_noise_floor_options_reach_the_check(capsys):
    base = ["parity", "tiny_sgd", "--examples-dir", str(EXAMPLES), "--steps", "2", "--json"]
    assert cli.main([*base, "--noise-floor", "--noise-factor", "5"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["noise_floor"], report["noise_factor"]) == (True, 5.0)
    assert len(report["loss_noise_floors"]) == 2 and report["variables"]
    assert cli.main([*base, "--no-noise-floor"]) == 0
    assert json.loads(capsys.readouterr().out)["noise_floor"] is False


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["nonesuch"], "no example 'nonesuch' in {dir}; examples with a parity check: "
                       "['returns_dict', 'tiny_sgd', 'tiny_sgd_sum', 'wrong_batches']"),
        (["no_problem"], "{dir}/no_problem.py defines no parity_problem(); examples with a parity check: "
                         "['returns_dict', 'tiny_sgd', 'tiny_sgd_sum', 'wrong_batches']"),
        (["returns_dict"], "{dir}/returns_dict.py: parity_problem() returned dict; it must return a "
                           "graphmode.ParityProblem"),
        (["returns_dict", "--seed", "3"], "{dir}/returns_dict.py: parity_problem() does not accept --seed"),
        (["wrong_batches"], "wrong_batches: step 1: the batch has 1 arrays but the graph model takes 2 inputs; "
                            "give each batch as a tuple with one array per input"),
    ],
)
def test_unusable_example_exits_2_naming_it(capsys, argv, message):
    assert cli.main(["parity", *argv, "--examples-dir", str(EXAMPLES)]) == 2
    assert capsys.readouterr().err.strip() == f"graphmode parity: {message.format(dir=EXAMPLES)}"


def test_missing_examples_folder_exits_2(capsys, tmp_path):
    missing = tmp_path / "examples"
    assert cli.main(["parity", "regress_a", "--examples-dir", str(missing)]) == 2
    assert f"no examples folder at {missing}; pass --examples-dir DIR" in capsys.readouterr().err


@pytest.mark.parametrize(("flag", "value"), [("--steps", "0"), ("--atol", "-1")])
def test_out_of_range_option_is_a_usage_error(capsys, flag, value):
    with pytest.raises(SystemExit) as exited:
        cli.main(["parity", "tiny_sgd", flag, value])
    assert exited.value.code == 2
    assert f"argument {flag}: must be" in capsys.readouterr().err


def test_bundled_regress_a_runs_from_the_package():
    done = run_command("regress_a", "--steps", "20", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is True and report["steps"] == 20
    assert report["reference"] == "graph" and report["candidate"] == "eager"
    assert len(report["reference_losses"]) == 20 and report["variables"]


def test_bundled_definitions_load_from_the_package_without_the_examples_folder(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if Path(p or ".").resolve() != BUNDLED.resolve()])
    from graphmode.parity import gallery

    package = Path(gallery.__file__).resolve().parent
    for name in gallery.NAMES:
        assert Path(gallery.load(name).__file__).resolve().parent == package
    assert cli.main(["parity", "regress_a", "--variant", "batch", "--steps", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["steps"] == 2


def test_unknown_bundled_example_exits_2_listing_them(capsys):
    assert cli.main(["parity", "nonesuch"]) == 2
    assert capsys.readouterr().err.strip() == (
        "graphmode parity: no bundled example 'nonesuch'; bundled examples: regress_a, sigmoid_classifier, "
        "mlp_digits (or pass --examples-dir DIR to run DIR/nonesuch.py)")


def test_variant_of_an_example_without_variants_is_named(capsys):
    assert cli.main(["parity", "tiny_sgd", "--examples-dir", str(EXAMPLES), "--variant", "batch"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"graphmode parity: {EXAMPLES}/tiny_sgd.py: parity_problem() does not accept --variant")


@pytest.mark.slow
def test_graphmode_parity_works_from_a_non_editable_install(tmp_path):
    # A fresh virtual environment that sees the installed dependencies (TensorFlow) but
    # not this checkout: `pip install .` copies the package, examples included, into it.
    root = Path(__file__).resolve().parents[2]
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    build = tmp_path / "build"
    shutil.copytree(root, build, ignore=shutil.ignore_patterns(".git", "*.egg-info", "build", "__pycache__"))
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", str(build)],
                   check=True, timeout=600, cwd=tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = subprocess.run([str(python), "-c", "import graphmode; print(graphmode.__file__)"], cwd=elsewhere,
                           capture_output=True, text=True, timeout=300, check=True)
    assert Path(where.stdout.strip()).resolve().is_relative_to(venv.resolve()), where.stdout
    done = subprocess.run([str(venv / "bin" / "graphmode"), "parity", "regress_a", "--steps", "5", "--json"],
                          cwd=elsewhere, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["ok"] is True
