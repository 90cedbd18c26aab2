"""Reduced calibration of issue 17's nonparametric methods (the full study: benchmarks/calibrate_nonparametric.py,
numbers in docs/calibration-nonparametric.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import calibrate_nonparametric as calibration  # noqa: E402


def test_exact_conditional_wilcoxon_keeps_its_level_with_likert_ties():
    rates = calibration.wilcoxon_type_one(15, 400, seed=5)
    # A permutation test is exact: its rejection rate is at most alpha up to Monte Carlo error (SE .011).
    assert rates["exact_conditional"] <= 0.05 + 2 * 0.011


def test_bca_rank_biserial_ci_covers_at_small_n():
    coverage = calibration.rank_biserial_coverage(12, 0.5, 150, seed=3, n_boot=1000)
    assert coverage["bca"] >= 0.90  # Fisher z: .85 at n = 10 (1000 replications)


def test_epsilon_squared_ci_contains_zero_under_the_null():
    result = calibration.epsilon_squared_null(10, 3, 40, seed=2)
    assert result["ci_contains_0"] >= 0.9  # the bootstrap CI used before: never


def test_weighted_kappa_jackknife_z_ci_covers_at_20_units():
    coverage = calibration.weighted_kappa_coverage(20, "quadratic", 300, seed=91, n_boot=0)
    # full study (1000 replications): jackknife-z .936, ASE .879 at 20 units with quadratic weights; SE here ~.014
    assert coverage["jackknife_z"] >= 0.90
    assert coverage["jackknife_z"] > coverage["asymptotic"]
