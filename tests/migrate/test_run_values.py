"""A script that trains nothing is proven by what its run calls return: recording, pairing, comparison, report."""

from __future__ import annotations

import json
import sys

import numpy as np

from graphmode.migrate.run_values import CALLS_PER_SITE, RunValueRecorder, compare_run_values

ATOL, RTOL = 1e-6, 1e-5


def _recorded(tmp_path, calls):
    """Records ``calls`` ((line, column), fetches, value) as the TF1 run would, and reads them back."""
    recorder = RunValueRecorder()
    for site, fetches, value in calls:
        recorder.note(site, fetches, value)
    index = recorder.write(str(tmp_path))
    with np.load(tmp_path / index["file"]) as stored:
        return index, {key: stored[key] for key in stored.files}


def test_values_are_owned_copies_and_only_the_first_calls_of_a_site_are_kept(tmp_path):
    recorder = RunValueRecorder()
    value = np.array([1.0, 2.0], np.float32)
    for _ in range(CALLS_PER_SITE + 2):
        recorder.note((4, 10), ["Mul:0"], value)
    value[0] = 99.0  # the script changing its array afterwards must not change what was recorded
    index = recorder.write(str(tmp_path))
    assert [entry["call"] for entry in index["calls"]] == list(range(1, CALLS_PER_SITE + 1))
    assert len(index["order"]) == CALLS_PER_SITE + 2
    with np.load(tmp_path / index["file"]) as stored:
        assert stored[index["calls"][0]["value"]["array"]].tolist() == [1.0, 2.0]


def test_two_run_calls_on_one_line_are_two_sites():
    # In the recording the frame is the script's, inside its run call: the site is that call's line and column.
    recorder, here = RunValueRecorder(), sys._getframe
    first, second = recorder.site(here()), recorder.site(here())
    assert first[0] == second[0] == here().f_lineno - 1
    assert first[1] < second[1]


def test_calls_of_one_function_pair_with_the_originals_calls_at_its_sites_in_order(tmp_path):
    # compute_total stands for the runs at (5, 4) and (9, 8); the original ran them interleaved.
    recorded, arrays = _recorded(tmp_path, [
        ((5, 4), ["Add:0"], np.float32(1.0)),
        ((9, 8), ["Add:0"], np.float32(2.0)),
        ((5, 4), ["Add:0"], np.float32(3.0)),
        ((7, 0), ["Const:0"], b"Hello"),
    ])
    sites = {"compute_total": [[5, 4], [9, 8]], "compute_hello": [[7, 0]]}
    returned = {"compute_total": [np.float32(1.0), np.float32(2.0), np.float32(3.0) + np.float32(1e-6)],
                "compute_hello": [np.array(b"Hello")]}
    report = compare_run_values(recorded, arrays, sites, returned, "demo.py", ATOL, RTOL)
    assert report.ok, str(report)
    assert report.calls == 4
    assert [(row.site, row.call) for row in report.compared] == [
        ("demo.py:5", 1), ("demo.py:9", 1), ("demo.py:5", 2), ("demo.py:7", 1)]
    # 1e-6 off a value of 3 is within 1e-6 + 1e-5 * 3: the lockstep rule's ratio, below 1.
    assert 0 < report.compared[2].over_tolerance < 1


def test_a_value_off_by_more_than_the_tolerance_is_the_first_divergence_with_its_site_and_call(tmp_path):
    recorded, arrays = _recorded(tmp_path, [((5, 4), ["Mul:0"], np.array([6.0, 1.0], np.float32))] * 2)
    returned = {"compute_product": [np.array([6.0, 1.0], np.float32), np.array([6.0, 1.001], np.float32)]}
    report = compare_run_values(recorded, arrays, {"compute_product": [[5, 4]]}, returned, "demo.py", ATOL, RTOL)
    assert not report.ok
    first = report.first_divergence
    assert (first.kind, first.step, first.variable) == ("value", 2, "Mul:0")
    # 1e-3 apart against 1e-6 + 1e-5 * 6: about 16x over.
    assert 10 < first.over_tolerance < 20
    text = first.format()
    assert text.startswith("step 2, run value 'Mul:0', call 2 of the run at demo.py:5 (shape (2,) on both sides)")
    assert "worst element at [1]: reference 1, candidate 1.00100005" in text
    assert "first divergence: step 2, run value 'Mul:0'" in str(report)


def test_integers_and_strings_compare_exactly_and_a_missing_call_is_named(tmp_path):
    recorded, arrays = _recorded(tmp_path, [
        ((3, 0), ["Sum:0"], np.int32(1_000_000)),
        ((4, 0), ["Const:0"], b"Hello"),
        ((4, 0), ["Const:0"], b"Hello"),
    ])
    sites = {"compute_count": [[3, 0]], "compute_hello": [[4, 0]]}
    # Off by one in a million: within a float tolerance, but an integer has no rounding to excuse it.
    returned = {"compute_count": [np.int32(1_000_001)], "compute_hello": [np.array(b"Hello")]}
    report = compare_run_values(recorded, arrays, sites, returned, "demo.py", ATOL, RTOL)
    kinds = [(d.kind, d.variable) for d in report.divergences]
    assert kinds == [("mismatch", "Sum:0"), ("missing", "compute_hello")]
    assert "the original returned 1000000, the program 1000001 (compared exactly)" in report.divergences[0].format()
    assert "the program called compute_hello() 1 times; the original made this call as call 2" in (
        report.divergences[1].format())


def test_a_mismatch_is_written_as_strict_json_with_how_far_the_integers_are_apart(tmp_path):
    # Compared exactly, a mismatch is infinitely over the tolerance: the verdict file must still be JSON any
    # reader takes (no bare Infinity or NaN), as a NaN a float run value returned must be.
    recorded, arrays = _recorded(tmp_path, [
        ((3, 0), ["ArgMin:0"], np.int64(34)), ((4, 0), ["Const:0"], b"Hello"), ((5, 0), ["Mean:0"], np.float32(2))])
    sites = {"compute_pred": [[3, 0]], "compute_hello": [[4, 0]], "compute_mean": [[5, 0]]}
    returned = {"compute_pred": [np.int64(1061)], "compute_hello": [np.array(b"Hallo")],
                "compute_mean": [np.float32("nan")]}
    report = compare_run_values(recorded, arrays, sites, returned, "demo.py", ATOL, RTOL)

    def refuse(constant):
        raise AssertionError(f"the report's JSON holds {constant}")

    written = json.loads(json.dumps(report.to_dict(), allow_nan=False), parse_constant=refuse)
    rows = [(row["name"], row["max_abs_diff"], row["over_tolerance"]) for row in written["compared"]]
    assert rows == [("ArgMin:0", 1027.0, "inf"), ("Const:0", "inf", "inf"), ("Mean:0", "inf", "inf")], rows
    assert [d["kind"] for d in written["divergences"]] == ["mismatch", "mismatch", "value"]


def test_nothing_compared_is_not_proven(tmp_path):
    recorded, arrays = _recorded(tmp_path, [((3, 0), ["w"], np.zeros(2, np.float32))])
    report = compare_run_values(recorded, arrays, {}, {}, "demo.py", ATOL, RTOL)
    assert not report.ok and report.first_divergence is None
    assert "no generated function stands for it" in report.not_compared[0]
