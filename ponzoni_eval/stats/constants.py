"""Levels, limits and the seed shared by the tests of `ponzoni_eval.stats`."""

from __future__ import annotations

from ponzoni_eval.config import DEFAULT_SEED


__all__ = [
    "ALPHA",
    "CI_LEVEL",
    "MIN_PAIRS",
    "POWER",
    "DEFAULT_SEED",
    "ALTERNATIVES",
    "EXACT_CONDITIONAL_MAX_N",
    "BOOTSTRAP_RESAMPLES",
]


ALPHA = 0.05
"""Two-sided significance level used for ``min_detectable``."""
CI_LEVEL = 0.95
"""Confidence level of every interval in the result frame."""
POWER = 0.80
"""Power at which ``min_detectable`` is computed."""
MIN_PAIRS = 3
"""Fewest complete pairs (or non-zero differences) for which a paired test is run."""
EXACT_WILCOXON_MAX_N = 50
"""R's ``wilcox.test`` computes an exact p below this many non-zero differences (without ties)."""
RANK_DECIMALS = 10
"""Differences are rounded to this many decimals before the signed-rank test.

Scale means such as 10/3 - 3 and 11/3 - 10/3 are the same number but differ
in the last bit; unrounded (R >= 4.0's default ``digits.rank = Inf``) they
would count as different ranks and turn ties into an "exact" test.
"""
MONTE_CARLO_RESAMPLES = 9999
"""Tables drawn for a Monte Carlo chi-square p (R's ``chisq.test`` uses B = 2000)."""

# --- issue 17: nonparametric tests -------------------------------------------------
ALTERNATIVES = ("two-sided", "greater", "less")
"""Alternative hypotheses, scipy's and R's names; "greater": the second minus the first (or group A) is larger."""
EXACT_CONDITIONAL_MAX_N = 200
"""Largest sample for which rank tests compute the exact conditional (permutation) p with ties.

The null distribution is built by convolution of the doubled mid-ranks
(integers), which costs about n^3 operations for the signed-rank test and
n1 n^3 / 2 for the rank-sum test: well under a second at 200.
"""
BOOTSTRAP_RESAMPLES = 2000
"""Bootstrap resamples for BCa intervals of rank effect sizes."""
