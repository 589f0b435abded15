"""The benchmark's report of --jobs against the machine's ceiling (its
arithmetic; the measurements themselves are not run in the test suite)."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.run import _ratios, _spin, jobs_report  # noqa: E402


def test_ratios_are_best_rounds_and_median_of_pairs():
    best, median = _ratios([4.0, 5.0, 6.0], [2.5, 2.0, 4.0])
    assert best == pytest.approx(4.0 / 2.0)
    assert median == pytest.approx(1.6)  # pairs: 1.6, 2.5, 1.5


def test_jobs_report_sets_jobs_beside_the_ceiling():
    t = {"1": [4.0, 5.0], "2": [2.5, 2.9], "spin1": [3.0, 3.2], "spin2": [2.0, 2.0]}
    text = jobs_report(t)
    lines = text.splitlines()
    assert lines[0].startswith("batch of 8 files: --jobs 1 4.00 s, --jobs 2 2.50 s: 1.60x (best of 2)")
    assert "4.00/2.50 s, 5.00/2.90 s (median of the rounds' ratios 1.66x)" in lines[0]
    assert "pure-Python loop against one doing the same work: 1.50x (best of 2; median 1.55x)" in lines[1]
    assert lines[2] == "--jobs 2 reaches 107% of the ceiling by the best rounds, 107% by the medians"


def test_spin_runs_the_processes_it_is_asked_for():
    assert 0 < _spin(1000, 2) < 30
