"""Scripts that train nothing, migrated end to end and proven by what their run calls return."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from graphmode.migrate.forbidden import forbidden_constructs

SCRIPTS = Path(__file__).resolve().parent / "scripts"


def test_a_feed_demo_is_migrated_and_proven_by_its_run_values(tmp_path):
    from graphmode.migrate.pipeline import migrate_script

    script = tmp_path / "feeds_demo.py"
    shutil.copy(SCRIPTS / "feeds_demo.py", script)
    migration = migrate_script(str(script))
    assert migration.not_migrated == [], migration.not_migrated
    assert migration.status == "migrated and proven", migration.verdict["report"]
    values = migration.verdict["run_values"]
    # hello, 2*3, three sums in the loop, [product, total], the matmul and the count: 9 values from 8 calls
    # (the last two on one line, two sites).
    assert (len(values["compared"]), values["calls"]) == (9, 8)
    assert {row["site"] for row in values["compared"]} == {f"feeds_demo.py:{n}" for n in (15, 16, 18, 19, 20)}
    assert [row["call"] for row in values["compared"] if row["site"] == "feeds_demo.py:18"] == [1, 2, 3]
    source = Path(migration.output).read_text()
    assert forbidden_constructs(source) == []
    head = source.splitlines()[:3]
    assert head[1].endswith("run_values.npz")
    assert head[2].startswith("# Run values verdict: run values OK: 9 values")


@pytest.mark.slow
def test_a_demo_whose_values_differ_is_caught_and_the_cli_exits_1(tmp_path):
    # Unseeded, every run draws anew: the program cannot print the numbers the original printed. (With a graph
    # seed, tf.random.normal in TF2 draws what TF1 drew, and the values match.)
    script = tmp_path / "noise_demo.py"
    script.write_text(
        "import tensorflow as tf\n"
        "\n"
        "total = tf.constant(2.0) + tf.constant(3.0)\n"
        "noise = tf.random_normal([3])\n"
        "with tf.Session() as sess:\n"
        "    print(sess.run(total))\n"
        "    print(sess.run(noise))\n"
    )
    completed = subprocess.run([sys.executable, "-m", "graphmode", "migrate", str(script)],
                               capture_output=True, text=True, timeout=600)
    assert completed.returncode == 1, completed.stdout + completed.stderr[-2000:]
    out = completed.stdout
    assert "migrated but diverges" in out
    assert "first divergence: step 1, run value 'random_normal:0', call 1 of the run at noise_demo.py:7" in out
    assert "noise_demo.py:6  1     add:0" in out  # the sum matched


@pytest.mark.slow
def test_an_integer_value_that_differs_is_reported_and_its_verdict_is_strict_json(tmp_path):
    # An exact comparison that fails is infinitely over the tolerance; the verdict file must still be JSON that
    # any reader takes (no bare Infinity), and say by how much the integers differ.
    from graphmode.migrate.pipeline import migrate_script

    script = tmp_path / "counted_runs.py"
    shutil.copy(SCRIPTS / "counted_runs.py", script)
    migration = migrate_script(str(script))
    assert migration.not_migrated == [], migration.not_migrated
    assert migration.status == "migrated but diverges", migration.verdict
    verdict_path = tmp_path / "counted_runs_tf2.migration" / "verdict.json"

    def refuse(constant):
        raise AssertionError(f"verdict.json holds {constant}, which is not JSON")

    written = json.loads(verdict_path.read_text(), parse_constant=refuse)
    (row,) = written["run_values"]["compared"]
    assert (row["name"], row["max_abs_diff"], row["over_tolerance"]) == ("ArgMin:0", 1.0, "inf"), row
    assert "the original returned 0, the program 1 (compared exactly)" in migration.verdict["summary"]


@pytest.mark.slow
def test_a_tensor_printed_outside_a_run_is_not_migrated_and_the_program_still_runs(tmp_path):
    # The tutorials' `print(hello)` before `sess.run(hello)`: the statement building `hello` moves into the
    # function that computes it, so a kept statement reading the name would raise NameError in the program.
    from graphmode.migrate.pipeline import migrate_script

    script = tmp_path / "printed_tensors.py"
    shutil.copy(SCRIPTS / "printed_tensors.py", script)
    migration = migrate_script(str(script))
    reasons = {int(where.rsplit(":", 1)[1]): why for where, why in migration.not_migrated}
    assert sorted(reasons) == [5, 8, 10], migration.not_migrated
    assert reasons[5].startswith("reads 'greeting', a graph tensor (line 4) that TF2 computes only inside "
                                 "compute_greeting()"), reasons[5]
    assert reasons[8].startswith("reads 'x', a placeholder (line 6)"), reasons[8]
    assert reasons[10].startswith("reads 'total', a graph tensor (line 9) that no generated function computes"), reasons[10]
    assert migration.status == "not migrated"
    completed = subprocess.run([sys.executable, migration.output], cwd=tmp_path, capture_output=True, text=True,
                               timeout=300)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.splitlines() == ["b'graph mode'", "[2. 4.]"], completed.stdout
