"""Sensitivity: the smallest effect a test could detect at its n (the ``min_detectable`` column)."""

from __future__ import annotations

import math
from functools import lru_cache

from scipy import optimize, stats as sps

from ponzoni_eval._core.errors import DataError
from ponzoni_eval.stats.constants import ALPHA, CI_LEVEL, POWER

__all__ = [
    "min_detectable_effect",
]


# --- sensitivity ------------------------------------------------------------------------


def min_detectable_effect(
    n: float,
    *,
    test: str = "paired_t",
    alpha: float = ALPHA,
    power: float = POWER,
    n2: float | None = None,
    df: int | None = None,
    k: int | None = None,
) -> float:
    """Smallest effect a two-sided test detects with the given power at n.

    Parameters
    ----------
    n : float
        Sample size: pairs (``paired_t``, ``wilcoxon_signed_rank``), the
        sample (``one_sample_t``), group 1 (``two_sample_t``) or the total
        count (``chi2``, ``cramers_v``).
    test : {"paired_t", "one_sample_t", "wilcoxon_signed_rank", "two_sample_t", "chi2", "cramers_v"}
        The test; fixes the metric of the answer (see Returns).
    alpha, power : float
        Two-sided significance level and power (defaults .05 and .80).
    n2 : float, optional
        Size of group 2 for ``two_sample_t`` (default: equal to `n`).
    df : int, optional
        Degrees of freedom of a chi-square test (``(rows - 1)(cols - 1)``).
    k : int, optional
        ``min(rows, cols)`` of the table, for ``cramers_v``.

    Returns
    -------
    float
        Cohen's d_z (paired, one-sample and Wilcoxon tests), Cohen's d
        (two-sample t), Cohen's w (``chi2``) or Cramér's V
        (``cramers_v`` = w / sqrt(k - 1)); NaN when n is too small.

    Notes
    -----
    Solved from the noncentral t and chi-square power functions with
    statsmodels (`TTestPower`, `TTestIndPower`, `GofChisquarePower`), which
    match R's ``power.t.test`` and ``pwr``. For the Wilcoxon signed-rank test
    the n is first multiplied by its asymptotic relative efficiency under
    normality, 3/pi (Lehmann 1975; the "A.R.E. method" of G*Power), so the
    answer is the d_z a Wilcoxon test on normal data detects.

    References
    ----------
    Cohen, J. (1988). *Statistical power analysis for the behavioral
    sciences* (2nd ed.). Erlbaum.
    Faul, F., Erdfelder, E., Lang, A.-G., & Buchner, A. (2007). G*Power 3.
    *Behavior Research Methods*, 39, 175-191.
    Lehmann, E. L. (1975). *Nonparametrics: Statistical methods based on
    ranks*. Holden-Day.

    Examples
    --------
    R: ``pwr::pwr.t.test(n = 32, power = .8, type = "paired")`` gives d = 0.5112738.

    >>> round(min_detectable_effect(32, test="paired_t"), 7)
    0.5112738
    """
    from statsmodels.stats.power import GofChisquarePower, TTestIndPower, TTestPower

    if not (0 < alpha < 1 and 0 < power < 1):
        raise DataError("alpha and power must lie strictly between 0 and 1", found=(alpha, power), rule="argument")
    known_tests = ("paired_t", "one_sample_t", "wilcoxon_signed_rank", "two_sample_t", "chi2", "cramers_v")
    if test not in known_tests:
        raise DataError("unknown test for min_detectable_effect", expected=", ".join(known_tests), found=test, rule="argument")
    if test in ("chi2", "cramers_v") and (df is None or df < 1):
        raise DataError(f"min_detectable_effect(test={test!r}) needs df >= 1", found=df, rule="argument")
    if test == "cramers_v" and (k is None or k < 2):
        raise DataError("min_detectable_effect(test='cramers_v') needs k = min(rows, cols) >= 2", found=k, rule="argument")
    n = float(n)
    group2 = n if n2 is None else float(n2)
    effective_n = n * 3 / math.pi if test == "wilcoxon_signed_rank" else n
    if min(effective_n, group2) < 2:
        return float("nan")
    try:
        if test in ("paired_t", "one_sample_t", "wilcoxon_signed_rank"):
            return float(TTestPower().solve_power(nobs=effective_n, alpha=alpha, power=power))
        if test == "two_sample_t":
            return float(TTestIndPower().solve_power(nobs1=n, ratio=group2 / n, alpha=alpha, power=power))
        w = float(GofChisquarePower().solve_power(nobs=n, alpha=alpha, power=power, n_bins=int(df) + 1))
    except (RuntimeError, ArithmeticError):
        # The root finder can fail at the edge of the parameter space (tiny n).
        return float("nan")
    return w if test == "chi2" else w / math.sqrt(k - 1)


# Power solutions are pure functions of (n, test, ...) and slow to solve; every
# group of a report with the same n asks the same question.
min_detectable_cached = lru_cache(maxsize=4096)(min_detectable_effect)


# --- small numeric helpers ---------------------------------------------------------------


def noncentral_t_limits(t: float, df: float, level: float = CI_LEVEL) -> tuple[float, float]:
    """Noncentrality parameters whose t distributions put `t` at the CI quantiles.

    Lower limit: P(T <= t | ncp) = 1 - a/2; upper limit: P(T <= t | ncp) = a/2
    (Steiger & Fouladi 1997).
    """
    tail = (1 - level) / 2

    def solve(target: float) -> float:
        def gap(ncp: float) -> float:
            probability = float(sps.nct.cdf(t, df, ncp))
            if math.isnan(probability):
                # Far in the tails the series can fail; the cdf is then at its limit
                # (1 as ncp -> -inf, 0 as ncp -> +inf), which keeps it monotone.
                probability = 0.0 if ncp > t else 1.0
            return probability - target

        width = 10.0 + 2.0 * abs(t)
        low, high = t - width, t + width
        while gap(low) < 0:
            low -= width
        while gap(high) > 0:
            high += width
        return float(optimize.brentq(gap, low, high, xtol=1e-12))

    return solve(1 - tail), solve(tail)


def noncentral_chi2_limits(x2: float, df: float, level: float = CI_LEVEL) -> tuple[float, float]:
    """Noncentrality limits of a chi-square statistic (0 where the CI reaches it)."""
    tail = (1 - level) / 2

    def solve(target: float) -> float:
        if sps.chi2.cdf(x2, df) <= target:
            return 0.0

        def gap(ncp: float) -> float:
            return float(sps.ncx2.cdf(x2, df, ncp)) - target

        high = max(10.0, 2.0 * x2 + 10.0)
        while gap(high) > 0:
            high *= 2
        return float(optimize.brentq(gap, 0.0, high, xtol=1e-10))

    return solve(1 - tail), solve(tail)
