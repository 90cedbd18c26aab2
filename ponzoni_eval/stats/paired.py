"""Statistical tests of the study's questions, in the standard result shape.

Every public test returns `ponzoni_eval.results.RESULT_COLUMNS` (build with
`results.result_frame`), one row per group and test, so results from all
analyses stack into one table:

- `reliability`: Cronbach's alpha (Feldt CI) and McDonald's omega total per
  scale and group.
- `pre_post`: change in a scale score between two waves (paired t-test with
  Hedges' g_av; Wilcoxon signed-rank with the matched-pairs rank-biserial r).
- `perception_gap` / `perception_gap_change`: own willingness against the
  willingness perceived in the other side, and the change of that gap.
- `expectation_crosstab` / `crosstab_test` / `crosstab_residuals`: role x
  expectation tables with Fisher's exact or chi-square (Monte Carlo p for
  sparse tables), Cramér's V with a CI and adjusted residuals.
- `adjust_pvalues`: Holm or Benjamini-Hochberg within declared families.
- `min_detectable_effect`: the smallest effect detectable with 80% power at
  the n of a test; every test above fills ``min_detectable`` with it.

Small samples are reported, not hidden: a group too small for a test gets a
row whose ``note`` says why and whose numbers are empty. ``note`` always says
which p-value was computed (exact, asymptotic, Monte Carlo), how ties and
zeros were handled and how many incomplete pairs were dropped.

Numbers match R (``t.test``, ``wilcox.test``, ``chisq.test``,
``fisher.test``, ``p.adjust``, ``factanal``, ``pwr``) and the published
examples cited in ``tests/reference/test_stats_reference.py``.
"""

from __future__ import annotations

import math
from functools import lru_cache
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize
from scipy import stats as sps

from ponzoni_eval.errors import DataError, require_columns
from ponzoni_eval.privacy import mark_counts
from ponzoni_eval.results import RESULT_COLUMNS, result_frame
from ponzoni_eval.schema import WAVES
from ponzoni_eval.transforms import _asked_items

__all__ = [
    "ALPHA",
    "CI_LEVEL",
    "MIN_PAIRS",
    "reliability",
    "pre_post",
    "perception_gap",
    "perception_gap_change",
    "contingency_table",
    "crosstab_test",
    "expectation_crosstab",
    "crosstab_residuals",
    "adjust_pvalues",
    "min_detectable_effect",
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
DEFAULT_SEED = 2017
"""Seed of the Monte Carlo p-values, so every run gives the same numbers."""
_HEYWOOD_BOUND = 0.005
"""Lower bound of the uniquenesses in the ML factor fit (as R ``factanal``)."""
_ADJUST_METHODS = {"holm": "Holm", "fdr_bh": "Benjamini-Hochberg", "bonferroni": "Bonferroni"}


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
_min_detectable = lru_cache(maxsize=4096)(min_detectable_effect)


# --- small numeric helpers ---------------------------------------------------------------


def _noncentral_t_limits(t: float, df: float, level: float = CI_LEVEL) -> tuple[float, float]:
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


def _noncentral_chi2_limits(x2: float, df: float, level: float = CI_LEVEL) -> tuple[float, float]:
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


def _hedges_j_paired(n: int) -> float:
    """Hedges' small-sample factor as Lakens (2013) applies it to d_av (n1 = n2 = n)."""
    return 1 - 3 / (4 * (2 * n) - 9)


def _wilcoxon_signed_rank(differences: np.ndarray) -> dict[str, Any]:
    """Signed-rank test of `differences` exactly as R's ``wilcox.test(paired = TRUE)``.

    Zeros are dropped; the p-value is exact when fewer than 50 non-zero
    differences remain and none are tied, otherwise the normal approximation
    with tie-corrected variance and continuity correction.
    """
    rounded = np.round(np.asarray(differences, dtype=float), RANK_DECIMALS)
    zeros = int(np.sum(rounded == 0))
    nonzero = rounded[rounded != 0]
    m = nonzero.size
    result: dict[str, Any] = dict(n=m, zeros=zeros, v=np.nan, p=np.nan, exact=False, tie_groups=0, z=np.nan)
    if m == 0:
        return result
    ranks = sps.rankdata(np.abs(nonzero))
    v = float(ranks[nonzero > 0].sum())
    _, tie_sizes = np.unique(ranks, return_counts=True)
    tie_groups = int(np.sum(tie_sizes > 1))
    exact = m < EXACT_WILCOXON_MAX_N and tie_groups == 0 and zeros == 0
    if exact:
        p = float(sps.wilcoxon(nonzero, method="exact").pvalue)
        z = np.nan
    else:
        centred = v - m * (m + 1) / 4
        sigma = math.sqrt(m * (m + 1) * (2 * m + 1) / 24 - float(np.sum(tie_sizes**3 - tie_sizes)) / 48)
        if sigma == 0:
            return result | dict(v=v, tie_groups=tie_groups)
        z = (centred - math.copysign(0.5, centred) * (centred != 0)) / sigma
        p = float(min(1.0, 2 * min(sps.norm.cdf(z), sps.norm.sf(z))))
    return dict(n=m, zeros=zeros, v=v, p=p, exact=exact, tie_groups=tie_groups, z=z)


def _rank_biserial(v: float, m: int, level: float = CI_LEVEL) -> tuple[float, float, float]:
    """Matched-pairs rank-biserial r = (R+ - R-) / (R+ + R-) with a Fisher-z CI.

    The standard error of atanh(r) is sqrt((2m^3 + 3m^2 + m) / 6) / (m(m+1)/2),
    the delta-method error of the signed-rank sum used by R's effectsize.
    """
    rank_total = m * (m + 1) / 2
    r = (2 * v - rank_total) / rank_total
    if abs(r) >= 1:
        return r, float("nan"), float("nan")
    se = math.sqrt((2 * m**3 + 3 * m**2 + m) / 6) / rank_total
    half = sps.norm.ppf(1 - (1 - level) / 2) * se
    return r, math.tanh(math.atanh(r) - half), math.tanh(math.atanh(r) + half)


def _join_notes(*parts: str | None) -> str:
    return "; ".join(p for p in parts if p)


# --- paired comparisons ------------------------------------------------------------------


def _paired_rows(
    first: np.ndarray,
    second: np.ndarray,
    *,
    labels: dict[str, str],
    n_incomplete: int,
    direction: str,
) -> list[dict[str, Any]]:
    """Paired t-test and Wilcoxon signed-rank rows for second - first."""
    n = int(first.size)
    dropped = f"{n_incomplete} incomplete pair(s) dropped" if n_incomplete else None
    pairs = f"{n} complete pair(s)"
    t_row = dict(labels, test="paired_t", n=n, effect_name="hedges_g_av")
    w_row = dict(labels, test="wilcoxon_signed_rank", effect_name="rank_biserial_r")
    if n < MIN_PAIRS:
        why = f"not run: {n} complete pair(s), a paired test needs at least {MIN_PAIRS}"
        return [t_row | dict(note=_join_notes(why, dropped)), w_row | dict(n=n, note=_join_notes(why, dropped))]

    differences = second - first
    mean_difference = float(differences.mean())
    sd_difference = float(differences.std(ddof=1))
    sd_average = (float(first.std(ddof=1)) + float(second.std(ddof=1))) / 2

    # Paired t-test with Hedges' g_av (Lakens 2013).
    t_note = [f"paired t-test on {direction}", pairs, dropped]
    if sd_difference == 0:
        t_note.insert(0, "not run: every pair has the same difference, t is undefined")
        t_row |= dict(note=_join_notes(*t_note))
    else:
        t_value = mean_difference / (sd_difference / math.sqrt(n))
        df = n - 1
        p_value = float(2 * sps.t.sf(abs(t_value), df))
        g_av = ci_low = ci_high = float("nan")
        if sd_average > 0:
            j = _hedges_j_paired(n)
            g_av = j * mean_difference / sd_average
            ncp_low, ncp_high = _noncentral_t_limits(t_value, df)
            # Algina & Keselman (2003): the t pivot's limits rescaled to the d_av metric.
            scale = j * sd_difference / (math.sqrt(n) * sd_average)
            ci_low, ci_high = ncp_low * scale, ncp_high * scale
            t_note.append("g_av = mean change / mean of the two SDs x Hedges' J; CI from the noncentral t, rescaled")
        else:
            t_note.append("g_av undefined: no variation within either wave")
        t_note.append("min_detectable is d_z")
        t_row |= dict(
            statistic=t_value,
            df=float(df),
            p_value=p_value,
            effect_size=g_av,
            ci_low=ci_low,
            ci_high=ci_high,
            min_detectable=_min_detectable(n, test="paired_t"),
            note=_join_notes(*t_note),
        )

    # Wilcoxon signed-rank with the matched-pairs rank-biserial r (Kerby 2014).
    signed_rank = _wilcoxon_signed_rank(differences)
    m = signed_rank["n"]
    zero_note = f"{signed_rank['zeros']} zero difference(s) dropped" if signed_rank["zeros"] else None
    if m < MIN_PAIRS:
        why = f"not run: {m} non-zero difference(s), needs at least {MIN_PAIRS}"
        return [t_row, w_row | dict(n=m, note=_join_notes(why, zero_note, pairs, dropped))]
    if signed_rank["exact"]:
        method = "exact p"
    else:
        ties = f", {signed_rank['tie_groups']} group(s) of tied ranks" if signed_rank["tie_groups"] else ""
        method = f"normal approximation with continuity correction{ties} (as R wilcox.test)"
    r, r_low, r_high = _rank_biserial(signed_rank["v"], m)
    r_ci_note = "r = +/-1, Fisher-z CI undefined" if math.isnan(r_low) else "CI: Fisher z"
    w_row |= dict(
        n=m,
        statistic=signed_rank["v"],
        p_value=signed_rank["p"],
        effect_size=r,
        ci_low=r_low,
        ci_high=r_high,
        min_detectable=_min_detectable(m, test="wilcoxon_signed_rank"),
        note=_join_notes(
            f"Wilcoxon signed-rank on {direction}, V = sum of positive ranks",
            method,
            zero_note,
            pairs,
            dropped,
            r_ci_note,
            "min_detectable is d_z (n x 3/pi)",
        ),
    )
    return [t_row, w_row]


def _as_tuple(by: str | Sequence[str] | None) -> tuple[str, ...]:
    if by is None:
        return ()
    if isinstance(by, str):
        return (by,)
    return tuple(by)


def _groups(frame: pd.DataFrame, by: tuple[str, ...]) -> Iterator[tuple[dict[str, Any], pd.DataFrame]]:
    """Subframes per combination of `by` (one group when `by` is empty)."""
    if not by:
        yield {}, frame
        return
    for keys, sub in frame.groupby(list(by), sort=True, observed=True, dropna=False):
        keys = keys if isinstance(keys, tuple) else (keys,)
        yield dict(zip(by, keys)), sub


def _labels(analysis: str, keys: dict[str, Any], outcome: str, extra: str | None = None) -> dict[str, str]:
    case_id = str(keys["case_id"]) if "case_id" in keys else "all"
    parts = [f"{k}={v}" for k, v in keys.items() if k != "case_id"]
    if extra:
        parts.append(extra)
    return dict(analysis=analysis, case_id=case_id, group=", ".join(parts), outcome=outcome)


def _paired_by_group(
    wide: pd.DataFrame,
    *,
    by: tuple[str, ...],
    first: str,
    second: str,
    analysis: str,
    outcome: str,
    extra: str,
    direction: str,
) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for keys, sub in _groups(wide, by):
        a = sub[first].to_numpy(float)
        b = sub[second].to_numpy(float)
        complete = ~np.isnan(a) & ~np.isnan(b)
        incomplete = int(np.sum(~complete & (~np.isnan(a) | ~np.isnan(b))))
        rows += _paired_rows(
            a[complete],
            b[complete],
            labels=_labels(analysis, keys, outcome, extra),
            n_incomplete=incomplete,
            direction=direction,
        )
    return result_frame(rows)


def _check_waves(**waves: str) -> None:
    for label, wave in waves.items():
        if wave not in WAVES:
            raise DataError(f"unknown wave for '{label}'", expected=f"one of {WAVES}", found=wave, rule="argument")
    if len(set(waves.values())) < len(waves):
        raise DataError("the two waves must differ", found=tuple(waves.values()), rule="argument")


def _check_by(by: tuple[str, ...], forbidden: Iterable[str]) -> None:
    clash = [b for b in by if b in set(forbidden)]
    if clash:
        raise DataError(f"cannot group by {clash[0]!r} in this analysis: it is what is compared", found=by, rule="argument")


def _scores_of(
    scores: pd.DataFrame, *, scales: Sequence[str], waves: Sequence[str], by: tuple[str, ...], spread: str
) -> pd.DataFrame:
    """Scores of `scales` in `waves` with `spread` ("wave" or "scale") as columns.

    One row per participant x `by` (x wave when the scales are spread); a
    column is added, empty, for a wave or scale without any score.
    """
    require_columns(scores, ("participant_id", "wave", "scale", "value", *by), "scores")
    known = set(scores["scale"].astype(str))
    for scale in scales:
        if scale not in known:
            raise DataError(
                f"unknown scale {scale!r} in scores",
                file="scores",
                column="scale",
                expected=f"one of {sorted(known)}",
                found=scale,
                rule="known_scale",
            )
    keep = list(dict.fromkeys(["participant_id", *by, "wave", "scale", "value"]))
    frame = scores.loc[:, keep].copy()
    frame["wave"] = frame["wave"].astype(str)
    frame["scale"] = frame["scale"].astype(str)
    frame = frame[frame["scale"].isin(scales) & frame["wave"].isin(waves)]
    duplicated = frame.duplicated(["participant_id", "wave", "scale"])
    if duplicated.any():
        first = frame[duplicated].iloc[0]
        raise DataError(
            "more than one score for a participant, wave and scale",
            file="scores",
            found=f"{first['participant_id']}, {first['wave']}, {first['scale']}",
            rule="unique_key",
        )
    index = list(dict.fromkeys(["participant_id", *by, *(["wave"] if spread == "scale" else [])]))
    wide = frame.set_index([*index, spread])["value"].unstack(spread)
    wide.columns.name = None
    wide = wide.reset_index()
    for column in (waves if spread == "wave" else scales):
        if column not in wide.columns:
            wide[column] = np.nan
    return wide


def pre_post(
    scores: pd.DataFrame,
    *,
    outcome: str,
    before: str = "t0",
    after: str = "t2",
    by: str | Sequence[str] | None = ("case_id", "role"),
) -> pd.DataFrame:
    """Change in one scale score between two waves, per group.

    Paired t-test and Wilcoxon signed-rank test on the complete pairs, with
    Hedges' g_av and the matched-pairs rank-biserial r, each with a 95% CI.

    Parameters
    ----------
    scores : DataFrame
        Long scores (`transforms.score_scales`): participant_id, wave, scale,
        value and the `by` columns.
    outcome : str
        The scale to compare.
    before, after : str
        The waves; the change is ``after - before``.
    by : str or sequence of str, default ("case_id", "role")
        Groups to test separately (empty: everyone together, case_id "all").

    Returns
    -------
    DataFrame
        Standard result shape, two rows per group: ``paired_t`` (statistic t,
        df, effect Hedges' g_av) and ``wilcoxon_signed_rank`` (statistic V =
        sum of positive ranks, effect rank-biserial r). ``n`` counts complete
        pairs (t) or non-zero differences (Wilcoxon); ``min_detectable`` is
        Cohen's d_z at 80% power.

    Notes
    -----
    *Paired t*: :math:`t = \\bar d / (s_d / \\sqrt n)`, df = n - 1, with
    :math:`d = x_{after} - x_{before}`; assumes roughly normal differences.

    *Hedges' g_av* (Lakens 2013, eq. 10 and Hedges' correction with
    :math:`n_1 = n_2 = n`):
    :math:`g_{av} = \\frac{\\bar d}{(s_{before} + s_{after}) / 2}\\,\\bigl(1 - \\frac{3}{8n - 9}\\bigr)`.
    Its CI inverts the noncentral t distribution of the paired t statistic
    (Steiger & Fouladi 1997) and rescales the noncentrality limits by
    :math:`s_d / (\\sqrt n \\, s_{av})` (Algina & Keselman 2003); treating that
    ratio as known makes the interval approximate in small samples.

    *Wilcoxon signed-rank*, as R's ``wilcox.test(after, before, paired =
    TRUE)``: zero differences are dropped; exact p for fewer than 50 non-zero
    differences without ties, otherwise the normal approximation with the
    tie-corrected variance and a continuity correction. Differences are rounded
    to `RANK_DECIMALS` decimals first, so floating-point noise in scale means
    neither breaks ties nor hides zeros.

    *Rank-biserial r* (Kerby 2014): :math:`r = (R_+ - R_-)/(R_+ + R_-)`, the
    share of favourable minus unfavourable signed ranks; positive = increase.
    CI on Fisher's z with the standard error used by R's effectsize
    (:math:`\\sqrt{(2m^3 + 3m^2 + m)/6} / (m(m+1)/2)`); undefined when r = +/-1.

    References
    ----------
    Algina, J., & Keselman, H. J. (2003). Approximate confidence intervals for
    effect sizes. *Educational and Psychological Measurement*, 63, 537-553.
    Kerby, D. S. (2014). The simple difference formula. *Comprehensive
    Psychology*, 3, 11.IT.3.1.
    Lakens, D. (2013). Calculating and reporting effect sizes to facilitate
    cumulative science. *Frontiers in Psychology*, 4, 863.
    Steiger, J. H., & Fouladi, R. T. (1997). Noncentrality interval
    estimation. In *What if there were no significance tests?* (pp. 221-257).
    Hollander, M., & Wolfe, D. A. (1973). *Nonparametric statistical methods*.
    Wiley (the depression example below).

    Examples
    --------
    R: ``wilcox.test(x, y, paired = TRUE)`` on Hollander & Wolfe's depression
    scores gives V = 40, p = 0.03906.

    >>> import pandas as pd
    >>> x = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30]
    >>> y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29]
    >>> scores = pd.DataFrame({"participant_id": [f"p{i}" for i in range(9)] * 2,
    ...     "wave": ["t2"] * 9 + ["t0"] * 9, "scale": "depression", "value": x + y})
    >>> res = pre_post(scores, outcome="depression", by=None)
    >>> res[["test", "n", "statistic", "p_value"]].round(5)
                       test  n  statistic  p_value
    0              paired_t  9    3.03538  0.01618
    1  wilcoxon_signed_rank  9   40.00000  0.03906
    """
    by_t = _as_tuple(by)
    _check_waves(before=before, after=after)
    _check_by(by_t, ("wave", "scale"))
    wide = _scores_of(scores, scales=[outcome], waves=[before, after], by=by_t, spread="wave")
    return _paired_by_group(
        wide,
        by=by_t,
        first=before,
        second=after,
        analysis="pre_post",
        outcome=outcome,
        extra=f"{before}->{after}",
        direction=f"{after} - {before}",
    )


def perception_gap(
    scores: pd.DataFrame,
    *,
    own: str = "own_willingness",
    perceived: str = "perceived_willingness",
    by: str | Sequence[str] | None = ("case_id", "role", "wave"),
) -> pd.DataFrame:
    """Own willingness against the willingness perceived in the other side.

    Both scales come from the same participant in the same wave, so each
    participant is a pair; the tests and effect sizes are those of `pre_post`
    on ``own - perceived`` (positive: participants see themselves as more
    willing than they believe the other side to be).

    Parameters
    ----------
    scores : DataFrame
        Long scores with participant_id, wave, scale, value and the `by` columns.
    own, perceived : str
        The two scales.
    by : str or sequence of str, default ("case_id", "role", "wave")
        Groups tested separately.

    Returns
    -------
    DataFrame
        Standard result shape, analysis ``perception_gap``, two rows per group
        (``paired_t`` with Hedges' g_av, ``wilcoxon_signed_rank`` with the
        rank-biserial r).

    Notes
    -----
    See `pre_post` for the formulas. The comparison assumes the two scales
    share a response format (the g_av standardiser averages their SDs).

    References
    ----------
    Lakens (2013); Kerby (2014); see `pre_post`.

    Examples
    --------
    >>> import pandas as pd
    >>> scores = pd.DataFrame({"participant_id": ["a", "b", "c", "d"] * 2,
    ...     "case_id": "slotervaart", "role": "professional", "wave": "t0",
    ...     "scale": ["own_willingness"] * 4 + ["perceived_willingness"] * 4,
    ...     "value": [4.5, 4.0, 5.0, 4.25, 2.0, 3.0, 2.5, 2.75]})
    >>> res = perception_gap(scores)
    >>> res.loc[0, "group"]
    'role=professional, wave=t0, own - perceived'
    >>> res[["test", "n", "statistic", "effect_size"]].round(3)
                       test  n  statistic  effect_size
    0              paired_t  4        5.0        3.819
    1  wilcoxon_signed_rank  4       10.0        1.000
    """
    by_t = _as_tuple(by)
    _check_by(by_t, ("scale",))
    # Always within a wave: the two answers of one participant form the pair.
    wide = _scores_of(scores, scales=[own, perceived], waves=WAVES, by=by_t, spread="scale")
    return _paired_by_group(
        wide,
        by=by_t + (() if "wave" in by_t else ("wave",)),
        first=perceived,
        second=own,
        analysis="perception_gap",
        outcome=f"{own} vs {perceived}",
        extra="own - perceived",
        direction=f"{own} - {perceived}",
    )


def perception_gap_change(
    scores: pd.DataFrame,
    *,
    own: str = "own_willingness",
    perceived: str = "perceived_willingness",
    before: str = "t0",
    after: str = "t2",
    by: str | Sequence[str] | None = ("case_id", "role"),
) -> pd.DataFrame:
    """Change of the perception gap (own - perceived) between two waves.

    The gap is computed per participant and wave; participants with a gap in
    both waves are the pairs, tested as in `pre_post` (negative change: the
    gap closes).

    Parameters
    ----------
    scores : DataFrame
        Long scores with participant_id, wave, scale, value and the `by` columns.
    own, perceived : str
        The two scales whose difference is the gap.
    before, after : str
        Waves compared; the change is ``gap(after) - gap(before)``.
    by : str or sequence of str, default ("case_id", "role")
        Groups tested separately.

    Returns
    -------
    DataFrame
        Standard result shape, analysis ``perception_gap_change``.

    Notes
    -----
    See `pre_post`; the outcome is the difference score
    :math:`g_{iw} = own_{iw} - perceived_{iw}`.

    References
    ----------
    Lakens (2013); Kerby (2014); see `pre_post`.

    Examples
    --------
    >>> import pandas as pd
    >>> gap_t0 = {"own_willingness": [4.5, 4.0, 5.0, 4.25], "perceived_willingness": [2.0, 3.0, 2.5, 2.75]}
    >>> gap_t2 = {"own_willingness": [4.5, 4.25, 5.0, 4.5], "perceived_willingness": [4.0, 4.0, 4.5, 3.75]}
    >>> rows = [dict(participant_id=p, case_id="slotervaart", role="professional", wave=w, scale=s, value=v)
    ...         for w, table in (("t0", gap_t0), ("t2", gap_t2)) for s, values in table.items()
    ...         for p, v in zip("abcd", values)]
    >>> perception_gap_change(pd.DataFrame(rows))[["test", "n", "statistic", "effect_size"]].round(3)
                       test  n  statistic  effect_size
    0              paired_t  4     -3.811       -2.506
    1  wilcoxon_signed_rank  4      0.000       -1.000
    """
    by_t = _as_tuple(by)
    _check_waves(before=before, after=after)
    _check_by(by_t, ("wave", "scale"))
    per_wave = _scores_of(scores, scales=[own, perceived], waves=[before, after], by=by_t, spread="scale")
    gaps = per_wave.assign(scale="gap", value=per_wave[own] - per_wave[perceived])
    wide = _scores_of(gaps, scales=["gap"], waves=[before, after], by=by_t, spread="wave")
    return _paired_by_group(
        wide,
        by=by_t,
        first=before,
        second=after,
        analysis="perception_gap_change",
        outcome=f"gap ({own} - {perceived})",
        extra=f"{before}->{after}",
        direction=f"gap at {after} - gap at {before}",
    )


# --- reliability ---------------------------------------------------------------------------


def _cronbach_alpha(items: np.ndarray, level: float = CI_LEVEL) -> tuple[float, float, float]:
    """Alpha of an n x k complete matrix with Feldt's (1965) F-based CI."""
    n, k = items.shape
    covariance = np.cov(items, rowvar=False, ddof=1)
    total = covariance.sum()
    alpha = k / (k - 1) * (1 - np.trace(covariance) / total)
    df1, df2 = n - 1, (n - 1) * (k - 1)
    tail = (1 - level) / 2
    low = 1 - (1 - alpha) * sps.f.ppf(1 - tail, df1, df2)
    high = 1 - (1 - alpha) * sps.f.ppf(tail, df1, df2)
    return float(alpha), float(low), float(high)


def _one_factor_ml(correlation: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """Maximum-likelihood one-factor solution of a correlation matrix.

    The algorithm of R's ``factanal`` (Lawley & Maxwell 1971): minimise the ML
    discrepancy over the uniquenesses psi in [0.005, 1] with L-BFGS-B, the
    loadings following from the leading eigenvector of
    psi^-1/2 R psi^-1/2. Returns (loadings, uniquenesses, converged).
    """
    p = correlation.shape[0]

    def scaled(psi: np.ndarray) -> np.ndarray:
        inv_sd = 1 / np.sqrt(psi)
        return correlation * np.outer(inv_sd, inv_sd)

    def loadings(psi: np.ndarray) -> np.ndarray:
        values, vectors = np.linalg.eigh(scaled(psi))
        return np.sqrt(psi) * vectors[:, -1] * math.sqrt(max(values[-1] - 1, 0.0))

    def discrepancy(psi: np.ndarray) -> float:
        rest = np.linalg.eigvalsh(scaled(psi))[:-1]
        return float(-(np.sum(np.log(rest) - rest) - 1 + p))

    def gradient(psi: np.ndarray) -> np.ndarray:
        lam = loadings(psi)
        residual = np.outer(lam, lam) + np.diag(psi) - correlation
        return np.diag(residual) / psi**2

    start = np.clip((1 - 0.5 / p) / np.diag(np.linalg.inv(correlation)), _HEYWOOD_BOUND, 1.0)
    fit = optimize.minimize(
        discrepancy,
        start,
        jac=gradient,
        method="L-BFGS-B",
        bounds=[(_HEYWOOD_BOUND, 1.0)] * p,
        options={"ftol": 1e-14, "gtol": 1e-10, "maxiter": 1000},
    )
    psi = fit.x
    lam = loadings(psi)
    if lam.sum() < 0:
        lam = -lam
    # L-BFGS-B can stop with an "abnormal" line search exactly at a perfect fit
    # (a just-identified 3-item model); judge convergence by the projected gradient.
    projected = gradient(psi)
    at_bound = ((psi <= _HEYWOOD_BOUND) & (projected > 0)) | ((psi >= 1.0) & (projected < 0))
    converged = bool(fit.success) or bool(np.max(np.abs(np.where(at_bound, 0.0, projected))) < 1e-6)
    return lam, psi, converged


def _omega_total(items: np.ndarray) -> tuple[float, str | None]:
    """McDonald's omega total of the unit-weighted sum from a one-factor ML fit."""
    sd = items.std(axis=0, ddof=1)
    correlation = np.corrcoef(items, rowvar=False)
    if np.linalg.matrix_rank(correlation) < correlation.shape[0]:
        return float("nan"), "not estimated: the item correlation matrix is singular"
    lam, psi, converged = _one_factor_ml(correlation)
    if not converged:
        return float("nan"), "not estimated: the one-factor ML fit did not converge"
    raw_loadings = lam * sd
    raw_uniqueness = psi * sd**2
    common = raw_loadings.sum() ** 2
    omega = common / (common + raw_uniqueness.sum())
    notes = []
    if np.any(psi <= _HEYWOOD_BOUND + 1e-6):
        notes.append("Heywood case (a uniqueness at its 0.005 bound)")
    if np.any(lam < 0):
        notes.append("an item loads negatively: check reverse coding")
    return float(omega), _join_notes(*notes) or None


def reliability(
    responses: pd.DataFrame,
    instrument: pd.DataFrame,
    participants: pd.DataFrame,
    *,
    by: str | Sequence[str] | None = ("case_id", "wave"),
    scales: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Internal consistency of each scale per group: alpha and omega total.

    Parameters
    ----------
    responses, instrument, participants : DataFrame
        As for `transforms.score_scales` (items are reverse coded first;
        nominal items are left out).
    by : str or sequence of str, default ("case_id", "wave")
        Groups; any of case_id, role, wave (empty: all responses together).
    scales : sequence of str, optional
        Scales to assess (default: every non-nominal scale).

    Returns
    -------
    DataFrame
        Standard result shape, analysis ``reliability``, per group and scale a
        ``cronbach_alpha`` row (effect_size alpha, 95% Feldt CI) and an
        ``omega_total`` row (no CI). ``n`` is the number of participants with
        every item answered (listwise); ``note`` gives the number of items and
        the participants left out.

    Notes
    -----
    *Cronbach's alpha*: :math:`\\alpha = \\frac{k}{k-1}\\bigl(1 - \\frac{\\sum s_j^2}{s_X^2}\\bigr)`
    for k items and total score X. Feldt's (1965) CI:
    :math:`1 - (1-\\hat\\alpha) F_{1-a/2}(n-1, (n-1)(k-1))` to
    :math:`1 - (1-\\hat\\alpha) F_{a/2}(n-1, (n-1)(k-1))`, exact under
    normality and compound symmetry (as pingouin's `cronbach_alpha`).

    *Omega total*: a one-factor model fitted by maximum likelihood with the
    algorithm of R's ``factanal`` (`factor_analyzer` is not used; statsmodels'
    ML factor fit can stop at a different optimum for one factor), then
    :math:`\\omega = (\\sum \\lambda_j)^2 / ((\\sum \\lambda_j)^2 + \\sum \\psi_j)`
    with loadings and uniquenesses on the item covariance metric, i.e. the
    reliability of the unit-weighted sum implied by the model (McDonald 1999;
    semTools' ``omega``). Needs at least 3 items and more participants than
    items. Omega equals alpha when the items are tau-equivalent.

    The item set of a group is the items asked of every participant in it;
    items asked of only some roles are set aside (and named in ``note``).

    References
    ----------
    Cronbach, L. J. (1951). Coefficient alpha and the internal structure of
    tests. *Psychometrika*, 16, 297-334.
    Feldt, L. S. (1965). The approximate sampling distribution of
    Kuder-Richardson reliability coefficient twenty. *Psychometrika*, 30, 357-370.
    Lawley, D. N., & Maxwell, A. E. (1971). *Factor analysis as a statistical
    method* (2nd ed.). Butterworths.
    McDonald, R. P. (1999). *Test theory: A unified treatment*. Erlbaum.

    Examples
    --------
    pingouin's ``cronbach_alpha`` dataset (pingouin documents alpha = 0.5917,
    CI [0.195, 0.84]):

    >>> import pandas as pd, pingouin as pg
    >>> data = pg.read_dataset("cronbach_alpha")
    >>> instrument = pd.DataFrame({"item_id": [f"i{j}" for j in sorted(data.Items.unique())],
    ...     "scale": "example", "response_min": 1, "response_max": 7,
    ...     "reverse_coded": False, "roles": "professional"})
    >>> participants = pd.DataFrame({"participant_id": [f"s{s}" for s in data.Subj.unique()],
    ...     "case_id": "demo", "role": "professional"})
    >>> responses = pd.DataFrame({"participant_id": "s" + data.Subj.astype(str), "wave": "t0",
    ...     "item_id": "i" + data.Items.astype(str), "value": data.Scores.astype(float)})
    >>> res = reliability(responses, instrument, participants)
    >>> res[["test", "n", "effect_size", "ci_low", "ci_high"]].round(4)
                 test   n  effect_size  ci_low  ci_high
    0  cronbach_alpha  15       0.5917  0.1949   0.8398
    1     omega_total  15       0.6386     NaN      NaN
    """
    by_t = _as_tuple(by)
    for column in by_t:
        if column not in ("case_id", "role", "wave"):
            raise DataError("reliability groups by case_id, role and/or wave", found=column, rule="argument")
    asked = _asked_items(responses, instrument, participants, levels=("ordinal", "interval"), scales=scales)
    asked["wave"] = asked["wave"].astype(str)
    rows: list[dict[str, Any]] = []
    for keys, sub in _groups(asked, by_t):
        for scale, items in sub.groupby("scale", sort=True):
            labels = _labels("reliability", keys, str(scale))
            rows += _reliability_rows(items, labels)
    return result_frame(rows)


def _reliability_rows(items: pd.DataFrame, labels: dict[str, str]) -> list[dict[str, Any]]:
    # A participant seen in several waves (by without "wave") contributes one row per wave.
    wide = items.set_index(["participant_id", "wave", "item_id"])["value"].unstack("item_id")
    asked_everyone = wide.columns[items.groupby("item_id").size().reindex(wide.columns).to_numpy() == len(wide)]
    set_aside = sorted(set(wide.columns) - set(asked_everyone))
    wide = wide.loc[:, asked_everyone]
    complete = wide.dropna()
    n, k = complete.shape
    left_out = len(wide) - n
    notes = [
        f"{k} item(s)",
        f"{left_out} participant(s) with a missing item left out (listwise)" if left_out else None,
        f"item(s) not asked of everyone in the group set aside: {', '.join(set_aside)}" if set_aside else None,
    ]
    alpha_row = dict(labels, test="cronbach_alpha", n=n, effect_name="cronbach_alpha")
    omega_row = dict(labels, test="omega_total", n=n, effect_name="omega_total")
    if k < 2 or n < 3:
        why = f"not estimated: needs at least 2 items and 3 complete participants (has {k} and {n})"
        return [alpha_row | dict(note=_join_notes(why, *notes)), omega_row | dict(note=_join_notes(why, *notes))]
    values = complete.to_numpy(float)
    item_sd = values.std(axis=0, ddof=1)
    if values.sum(axis=1).std(ddof=1) == 0 or np.any(item_sd == 0):
        why = "not estimated: an item or the total score does not vary"
        return [alpha_row | dict(note=_join_notes(why, *notes)), omega_row | dict(note=_join_notes(why, *notes))]
    alpha, low, high = _cronbach_alpha(values)
    alpha_row |= dict(effect_size=alpha, ci_low=low, ci_high=high, note=_join_notes("Feldt (1965) CI", *notes))
    if k < 3 or n <= k:
        why = f"not estimated: a one-factor model needs at least 3 items and more participants than items (has {k} and {n})"
        omega_row |= dict(note=_join_notes(why, *notes))
    else:
        omega, omega_note = _omega_total(values)
        method = None if math.isnan(omega) else "one-factor ML (factanal algorithm), covariance metric, no CI"
        omega_row |= dict(effect_size=omega, note=_join_notes(method, omega_note, *notes))
    return [alpha_row, omega_row]


# --- crosstabs --------------------------------------------------------------------------------


def contingency_table(data: pd.DataFrame, *, row: str, col: str) -> pd.DataFrame:
    """Counts of `row` x `col` (rows with either missing are left out).

    Parameters
    ----------
    data : DataFrame
        One row per unit with the two categorical columns.
    row, col : str
        Column names; their values become the table's rows and columns.

    Returns
    -------
    DataFrame
        Counts, index named `row`, columns named `col` (levels sorted),
        marked as counts of people (`ponzoni_eval.privacy.mark_counts`).

    Examples
    --------
    >>> import pandas as pd
    >>> data = pd.DataFrame({"role": ["professional", "professional", "migrant_org"],
    ...     "expectation": ["bridge_to_parents", "bridge_to_parents", "strengthen_organisation"]})
    >>> contingency_table(data, row="role", col="expectation")  # doctest: +NORMALIZE_WHITESPACE
    expectation   bridge_to_parents  strengthen_organisation
    role
    migrant_org                   0                        1
    professional                  2                        0
    """
    require_columns(data, (row, col), "data")
    kept = data.loc[:, [row, col]].dropna()
    table = pd.crosstab(kept[row].astype(str), kept[col].astype(str)).rename_axis(index=row, columns=col)
    # Counts of people: published (report.save_table) with small cells suppressed, and the cells
    # that would reveal them through the row and column totals.
    return mark_counts(table, list(table.columns), margins="both")


def _cramers_v(x2: float, total: float, shape: tuple[int, int], level: float = CI_LEVEL) -> tuple[float, float, float]:
    """Cramér's V with a CI from the noncentral chi-square (as R's effectsize)."""
    k = min(shape)
    df = (shape[0] - 1) * (shape[1] - 1)
    denominator = total * (k - 1)
    v = math.sqrt(x2 / denominator)
    ncp_low, ncp_high = _noncentral_chi2_limits(x2, df, level)
    return v, min(1.0, math.sqrt(ncp_low / denominator)), min(1.0, math.sqrt(ncp_high / denominator))


def crosstab_test(
    table: pd.DataFrame | np.ndarray,
    *,
    seed: int = DEFAULT_SEED,
    n_resamples: int = MONTE_CARLO_RESAMPLES,
    analysis: str = "crosstab",
    case_id: str = "all",
    group: str = "",
    outcome: str = "",
) -> pd.DataFrame:
    """Test of independence for a contingency table, with Cramér's V.

    Parameters
    ----------
    table : DataFrame or array
        Counts (rows x columns). Empty rows and columns are dropped first.
    seed, n_resamples : int
        Random seed and number of tables for the Monte Carlo p.
    analysis, case_id, group, outcome : str
        Labels of the result row.

    Returns
    -------
    DataFrame
        One row in the standard shape: ``fisher_exact`` for a 2 x 2 table
        (statistic = conditional MLE odds ratio, as R's ``fisher.test``) or
        ``chi2`` (Pearson, statistic X-squared, df) otherwise; effect Cramér's V
        with a 95% CI; ``min_detectable`` is Cramér's V.

    Notes
    -----
    *2 x 2*: Fisher's exact test, two-sided (tables at most as probable as the
    observed one), the same p as R's ``fisher.test``.

    *r x c*: Pearson's :math:`X^2 = \\sum (O - E)^2 / E`, df = (r-1)(c-1),
    asymptotic p when every expected count is at least 5; otherwise a Monte
    Carlo p from `n_resamples` tables with the observed margins (Patefield's
    algorithm via `scipy.stats.random_table`), p = (1 + #{X*^2 >= X^2}) / (B + 1)
    as R's ``chisq.test(simulate.p.value = TRUE)``; seeded, so repeatable.

    *Cramér's V* = :math:`\\sqrt{X^2 / (N (\\min(r, c) - 1))}` (uncorrected
    X^2). CI: the noncentrality limits of the observed X^2 mapped to V
    (Cumming & Finch 2001; R effectsize's ``cramers_v``), capped at 1.

    References
    ----------
    Agresti, A. (2007). *An introduction to categorical data analysis* (2nd
    ed.). Wiley.
    Cumming, G., & Finch, S. (2001). A primer on the understanding, use, and
    calculation of confidence intervals that are based on central and
    noncentral distributions. *Educational and Psychological Measurement*, 61, 532-574.
    Patefield, W. M. (1981). An efficient method of generating r x c tables
    with given row and column totals. *Applied Statistics*, 30, 91-97.

    Examples
    --------
    R: ``chisq.test(M)`` on Agresti's party identification table gives
    X-squared = 30.07, df = 2, p-value = 2.954e-07.

    >>> import numpy as np
    >>> M = np.array([[762, 327, 468], [484, 239, 477]])
    >>> res = crosstab_test(M)
    >>> res[["test", "n", "statistic", "df"]].round(2)
       test     n  statistic   df
    0  chi2  2757      30.07  2.0
    >>> print(f"{res.loc[0, 'p_value']:.4g}")
    2.954e-07
    """
    counts = np.asarray(table, dtype=float)
    if counts.ndim != 2:
        raise DataError("a contingency table must have rows and columns", found=counts.shape, rule="argument")
    if np.any(counts < 0) or np.any(counts != np.round(counts)):
        raise DataError("a contingency table holds non-negative whole counts", rule="argument")
    keep_rows, keep_cols = counts.sum(axis=1) > 0, counts.sum(axis=0) > 0
    dropped = int((~keep_rows).sum() + (~keep_cols).sum())
    counts = counts[keep_rows][:, keep_cols]
    labels = dict(analysis=analysis, case_id=case_id, group=group, outcome=outcome)
    dropped_note = f"{dropped} empty row(s)/column(s) dropped" if dropped else None
    total = float(counts.sum())
    if counts.ndim != 2 or min(counts.shape) < 2:
        why = "not run: needs at least two rows and two columns with observations"
        return result_frame([dict(labels, test="chi2", n=int(total), effect_name="cramers_v", note=_join_notes(why, dropped_note))])

    expected = sps.contingency.expected_freq(counts)
    x2 = float(((counts - expected) ** 2 / expected).sum())
    df = (counts.shape[0] - 1) * (counts.shape[1] - 1)
    v, v_low, v_high = _cramers_v(x2, total, counts.shape)
    k = min(counts.shape)
    common = dict(
        labels,
        n=int(total),
        effect_size=v,
        effect_name="cramers_v",
        ci_low=v_low,
        ci_high=v_high,
        min_detectable=_min_detectable(total, test="cramers_v", df=df, k=k),
    )
    small = int(np.sum(expected < 5))
    v_note = "Cramér's V CI: noncentral chi-square; min_detectable is Cramér's V"
    if counts.shape == (2, 2):
        p = float(sps.fisher_exact(counts.astype(int)).pvalue)
        odds = float(sps.contingency.odds_ratio(counts.astype(int), kind="conditional").statistic)
        odds_usable = bool(np.isfinite(odds) and odds > 0)
        or_note = (
            "statistic = conditional MLE odds ratio"
            if odds_usable
            else "odds ratio 0 or infinite (a zero cell): statistic left empty"
        )
        fisher_row = common | dict(
            test="fisher_exact",
            statistic=odds if odds_usable else float("nan"),
            p_value=p,
            note=_join_notes("Fisher's exact test, two-sided", or_note, v_note, dropped_note),
        )
        return result_frame([fisher_row])
    if small:
        rng = np.random.default_rng(seed)
        simulated = sps.chi2_contingency(
            counts.astype(int), correction=False, method=sps.MonteCarloMethod(n_resamples=n_resamples, rng=rng)
        )
        p = float(simulated.pvalue)
        p_note = (
            f"Pearson chi-square; Monte Carlo p ({n_resamples} tables with fixed margins, seed {seed}) "
            f"because {small} of {expected.size} expected counts < 5"
        )
    else:
        p = float(sps.chi2.sf(x2, df))
        p_note = "Pearson chi-square, asymptotic p (every expected count >= 5)"
    chi2_row = common | dict(
        test="chi2", statistic=x2, df=float(df), p_value=p, note=_join_notes(p_note, v_note, dropped_note)
    )
    return result_frame([chi2_row])


def expectation_crosstab(
    data: pd.DataFrame,
    *,
    row: str = "role",
    col: str = "expectation",
    by: str | Sequence[str] | None = None,
    seed: int = DEFAULT_SEED,
    n_resamples: int = MONTE_CARLO_RESAMPLES,
) -> pd.DataFrame:
    """Do expectations of the collaboration differ by role?

    Parameters
    ----------
    data : DataFrame
        One row per participant (and wave) with the `row` and `col` columns,
        e.g. `transforms.item_responses` of the expectation item with its
        ``label`` renamed to ``expectation``.
    row, col : str
        The two categorical columns.
    by : str or sequence of str, optional
        Groups tested separately (e.g. ``"case_id"`` or ``("case_id", "wave")``).
    seed, n_resamples : int
        For the Monte Carlo p of sparse tables (see `crosstab_test`).

    Returns
    -------
    DataFrame
        Standard result shape, analysis ``expectation_mismatch``, one row per
        group (see `crosstab_test`).

    Notes
    -----
    Participants with a missing `row` or `col` are left out (counted in
    ``note``). See `crosstab_test` for the tests and Cramér's V, and
    `crosstab_residuals` for the cells that drive an association.

    References
    ----------
    Agresti (2007); Cumming & Finch (2001); see `crosstab_test`.

    Examples
    --------
    >>> import pandas as pd
    >>> data = pd.DataFrame({"role": ["professional"] * 6 + ["migrant_org"] * 6,
    ...     "expectation": ["bridge_to_parents"] * 5 + ["strengthen_organisation"]
    ...                    + ["strengthen_organisation"] * 5 + ["bridge_to_parents"]})
    >>> expectation_crosstab(data)[["test", "n", "p_value", "effect_size"]].round(4)
               test   n  p_value  effect_size
    0  fisher_exact  12   0.0801       0.6667
    """
    by_t = _as_tuple(by)
    require_columns(data, (row, col, *by_t), "data")
    rows = []
    for keys, sub in _groups(data, by_t):
        missing = int(sub[[row, col]].isna().any(axis=1).sum())
        table = contingency_table(sub, row=row, col=col)
        frame = crosstab_test(
            table,
            seed=seed,
            n_resamples=n_resamples,
            **_labels("expectation_mismatch", keys, col, f"{row} x {col}"),
        )
        if missing:
            frame["note"] = frame["note"] + f"; {missing} participant(s) with a missing {row} or {col} left out"
        rows.append(frame)
    if not rows:
        return result_frame([])
    return pd.concat(rows, ignore_index=True).loc[:, list(RESULT_COLUMNS)]


def crosstab_residuals(
    data: pd.DataFrame,
    *,
    row: str = "role",
    col: str = "expectation",
    by: str | Sequence[str] | None = None,
) -> pd.DataFrame:
    """Observed, expected and adjusted standardized residuals per cell.

    Parameters
    ----------
    data : DataFrame
        As for `expectation_crosstab`.
    row, col : str
        The two categorical columns.
    by : str or sequence of str, optional
        Groups with a table each.

    Returns
    -------
    DataFrame
        Tidy: the `by` columns, `row`, `col`, observed, expected,
        pearson_residual, adjusted_residual; one row per cell.

    Notes
    -----
    Pearson residual :math:`(O - E)/\\sqrt E`; adjusted (standardized)
    residual :math:`(O - E)/\\sqrt{E (1 - r_i/N)(1 - c_j/N)}`, approximately
    standard normal under independence, so |value| > 2 flags a cell (Agresti
    2007, sec. 2.4.5; R's ``chisq.test()$stdres``).

    References
    ----------
    Agresti, A. (2007). *An introduction to categorical data analysis* (2nd
    ed.). Wiley.

    Examples
    --------
    >>> import pandas as pd
    >>> data = pd.DataFrame({"role": ["professional"] * 3 + ["migrant_org"] * 3,
    ...     "expectation": ["bridge", "bridge", "strengthen", "strengthen", "strengthen", "bridge"]})
    >>> crosstab_residuals(data)[["role", "expectation", "observed", "adjusted_residual"]].round(3)
               role expectation  observed  adjusted_residual
    0   migrant_org      bridge         1             -0.816
    1   migrant_org  strengthen         2              0.816
    2  professional      bridge         2              0.816
    3  professional  strengthen         1             -0.816
    """
    by_t = _as_tuple(by)
    require_columns(data, (row, col, *by_t), "data")
    parts = []
    for keys, sub in _groups(data, by_t):
        table = contingency_table(sub, row=row, col=col)
        observed = table.to_numpy(float)
        total = observed.sum()
        if total == 0:
            continue
        row_share = observed.sum(axis=1, keepdims=True) / total
        col_share = observed.sum(axis=0, keepdims=True) / total
        expected = row_share * col_share * total
        with np.errstate(divide="ignore", invalid="ignore"):
            pearson = (observed - expected) / np.sqrt(expected)
            adjusted = (observed - expected) / np.sqrt(expected * (1 - row_share) * (1 - col_share))
        cells = pd.DataFrame(
            {
                row: np.repeat(table.index.to_numpy(), table.shape[1]),
                col: np.tile(table.columns.to_numpy(), table.shape[0]),
                "observed": observed.ravel().astype("int64"),
                "expected": expected.ravel(),
                "pearson_residual": pearson.ravel(),
                "adjusted_residual": adjusted.ravel(),
            }
        )
        for key, value in keys.items():
            cells.insert(list(keys).index(key), key, value)
        parts.append(cells)
    columns = [*by_t, row, col, "observed", "expected", "pearson_residual", "adjusted_residual"]
    if not parts:
        return pd.DataFrame(columns=columns)
    out = pd.concat(parts, ignore_index=True)
    out[["pearson_residual", "adjusted_residual"]] = out[["pearson_residual", "adjusted_residual"]].replace([np.inf, -np.inf], np.nan)
    return out.loc[:, columns]


# --- multiplicity --------------------------------------------------------------------------


def adjust_pvalues(
    results: pd.DataFrame,
    *,
    family: str | Sequence[str] = ("analysis",),
    method: str = "holm",
) -> pd.DataFrame:
    """Adjust p-values for multiple testing within declared families.

    Parameters
    ----------
    results : DataFrame
        A standard result frame (e.g. from `results.stack_results`).
    family : str or sequence of str, default ("analysis",)
        Columns whose combinations define a family; p-values are adjusted
        within each family. ``("analysis", "test")`` keeps the t-test and the
        Wilcoxon test of the same hypotheses in separate families.
    method : {"holm", "fdr_bh", "bonferroni"}
        Holm's step-down (family-wise error), Benjamini-Hochberg (false
        discovery rate) or Bonferroni.

    Returns
    -------
    DataFrame
        A copy with ``p_adjusted`` filled for rows with a p-value and the
        method, family and its size appended to ``note``; rows without a
        p-value are left as they are.

    Notes
    -----
    With m p-values sorted ascending, Holm: :math:`\\tilde p_{(i)} = \\max_{j
    \\le i} \\min(1, (m - j + 1) p_{(j)})`; Benjamini-Hochberg:
    :math:`\\tilde p_{(i)} = \\min_{j \\ge i} \\min(1, m p_{(j)} / j)`
    (statsmodels `multipletests`, identical to R's ``p.adjust``).

    References
    ----------
    Holm, S. (1979). A simple sequentially rejective multiple test procedure.
    *Scandinavian Journal of Statistics*, 6, 65-70.
    Benjamini, Y., & Hochberg, Y. (1995). Controlling the false discovery rate.
    *Journal of the Royal Statistical Society B*, 57, 289-300.

    Examples
    --------
    >>> from ponzoni_eval.results import result_frame
    >>> res = result_frame([dict(analysis="pre_post", p_value=p) for p in (0.01, 0.04, 0.03)])
    >>> adjust_pvalues(res)["p_adjusted"].round(4).tolist()
    [0.03, 0.06, 0.06]
    """
    from .crosscase import _adjust  # R p.adjust names; Holm without statsmodels' gc.collect()

    if method not in _ADJUST_METHODS:
        raise DataError("unknown p-value adjustment", expected=f"one of {sorted(_ADJUST_METHODS)}", found=method, rule="argument")
    family_t = _as_tuple(family)
    require_columns(results, ("p_value", "p_adjusted", "note", *family_t), "results")
    out = results.copy()
    with_p = out.index[out["p_value"].notna()]
    if len(with_p) == 0:
        return out
    if family_t:
        families = [(key, sub.index) for key, sub in out.loc[with_p].groupby(list(family_t), dropna=False, sort=False)]
    else:
        families = [((), with_p)]
    adjusted = pd.Series(np.nan, index=out.index)
    notes = out["note"].astype(object).where(out["note"].notna(), "")
    for key, index in families:
        p_values = out.loc[index, "p_value"].to_numpy(float)
        adjusted.loc[index] = _adjust(p_values, method)
        key_t = key if isinstance(key, tuple) else (key,)
        described = ", ".join(f"{c}={v}" for c, v in zip(family_t, key_t)) or "all rows"
        suffix = f"p_adjusted: {_ADJUST_METHODS[method]} within {described} (m = {len(index)})"
        notes.loc[index] = [f"{n}; {suffix}" if n else suffix for n in notes.loc[index]]
    out.loc[with_p, "p_adjusted"] = adjusted.loc[with_p]
    out["note"] = notes.where(notes != "", results["note"]).astype("str")
    return out
