"""Statistical tests of the study's questions, in the standard result shape.

Every public test returns `ponzoni_eval._core.results.RESULT_COLUMNS` (build with
`results.result_frame`), one row per group and test, so results from all
analyses stack into one table:

- `reliability`: Cronbach's alpha (Feldt CI) and McDonald's omega total per
  scale and group.
- `pre_post`: change in a scale score between two waves (paired t-test with
  Hedges' g_av; Wilcoxon signed-rank with the matched-pairs rank-biserial r).
- `perception_gap` / `perception_gap_change`: own willingness against the
  willingness perceived in the other side, and the change of that gap.
- `perception_gap_between_roles`: the gap between what one role reports (own
  willingness) and what the other role perceives of it, its change compared
  between the two roles (Welch's t-test, Hedges' g with a CI).
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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from ponzoni_eval._core.errors import DataError, require_columns
from ponzoni_eval._core.results import result_frame
from ponzoni_eval._core.vocabulary import WAVES
from ponzoni_eval.stats.common import as_tuple, group_labels, join_notes, scores_wide as _scores_of, split_groups
from ponzoni_eval.stats.constants import (
    BOOTSTRAP_RESAMPLES,
    CI_LEVEL,
    DEFAULT_SEED,
    EXACT_CONDITIONAL_MAX_N,
    EXACT_WILCOXON_MAX_N,
    MIN_PAIRS,
    RANK_DECIMALS,
)
from ponzoni_eval.stats.power import min_detectable_cached, noncentral_t_limits
from ponzoni_eval.stats.resampling import bca_interval, check_alternative, exact_shift_distribution, one_or_two_sided, rank_rows

__all__ = [
    "PairedOptions",
    "pre_post",
    "perception_gap",
    "perception_gap_change",
    "perception_gap_between_roles",
]


def _hedges_j_paired(n: int) -> float:
    """Hedges' small-sample factor as Lakens (2013) applies it to d_av (n1 = n2 = n)."""
    return 1 - 3 / (4 * (2 * n) - 9)


def _wilcoxon_signed_rank(differences: np.ndarray, *, alternative: str = "two-sided", method: str = "exact_conditional") -> dict[str, Any]:
    """Signed-rank test of `differences` (V = sum of the ranks of the positive differences).

    Zeros are dropped first (Wilcoxon's method, as R). ``method``:

    - ``"exact_conditional"``: the exact permutation distribution of V given
      the observed mid-ranks, over all 2^m sign assignments (computed by
      convolution of the doubled, integer mid-ranks, so ties are handled
      exactly), up to `EXACT_CONDITIONAL_MAX_N` non-zero differences; the
      normal approximation (as R) above that. Without ties this is R's exact p.
    - ``"r"``: as R's ``wilcox.test(paired = TRUE)``: exact p for fewer than
      50 non-zero differences without ties or zeros, otherwise the normal
      approximation with tie-corrected variance and continuity correction.
    """
    rounded = np.round(np.asarray(differences, dtype=float), RANK_DECIMALS)
    zeros = int(np.sum(rounded == 0))
    nonzero = rounded[rounded != 0]
    m = nonzero.size
    result: dict[str, Any] = dict(n=m, zeros=zeros, v=np.nan, p=np.nan, exact=False, conditional=False, tie_groups=0, z=np.nan)
    if m == 0:
        return result
    ranks = sps.rankdata(np.abs(nonzero))
    v = float(ranks[nonzero > 0].sum())
    _, tie_sizes = np.unique(ranks, return_counts=True)
    tie_groups = int(np.sum(tie_sizes > 1))
    if method == "exact_conditional" and m <= EXACT_CONDITIONAL_MAX_N:
        # Doubled mid-ranks are integers; 2V has the distribution of a sum of independent 0 / 2r_i terms.
        doubled = np.rint(2 * ranks).astype(np.int64)
        probability = exact_shift_distribution(doubled)
        observed = int(round(2 * v))
        p = one_or_two_sided(probability[observed:].sum(), probability[: observed + 1].sum(), alternative)
        return dict(n=m, zeros=zeros, v=v, p=p, exact=True, conditional=True, tie_groups=tie_groups, z=np.nan)
    exact = m < EXACT_WILCOXON_MAX_N and tie_groups == 0 and zeros == 0
    if exact:
        p = float(sps.wilcoxon(nonzero, method="exact", alternative=alternative).pvalue)
        z = np.nan
    else:
        centred = v - m * (m + 1) / 4
        sigma = math.sqrt(m * (m + 1) * (2 * m + 1) / 24 - float(np.sum(tie_sizes**3 - tie_sizes)) / 48)
        if sigma == 0:
            return result | dict(v=v, tie_groups=tie_groups)
        # R: correction = sign(z) * 0.5 (two-sided), 0.5 (greater), -0.5 (less)
        shift = {"two-sided": math.copysign(0.5, centred) * (centred != 0), "greater": 0.5, "less": -0.5}[alternative]
        z = (centred - shift) / sigma
        p = one_or_two_sided(float(sps.norm.sf(z)), float(sps.norm.cdf(z)), alternative)
    return dict(n=m, zeros=zeros, v=v, p=p, exact=exact, conditional=False, tie_groups=tie_groups, z=z)


def _signed_rank_r(differences: np.ndarray) -> np.ndarray:
    """Matched-pairs rank-biserial r of each row of a (B, m) matrix of non-zero differences."""
    ranks = rank_rows(np.abs(differences))
    total = ranks.sum(axis=1)
    positive = np.where(differences > 0, ranks, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (2 * positive - total) / total


def _rank_biserial_bca(nonzero: np.ndarray, *, n_boot: int, seed: int, level: float = CI_LEVEL) -> tuple[float, float]:
    """BCa bootstrap CI of the matched-pairs rank-biserial r (Efron 1987), resampling the non-zero differences."""
    rng = np.random.default_rng(seed)
    m = nonzero.size
    replicates = _signed_rank_r(nonzero[rng.integers(0, m, size=(n_boot, m))])
    leave_one_out = _signed_rank_r(np.array([np.delete(nonzero, i) for i in range(m)]))
    observed = float(_signed_rank_r(nonzero[None, :])[0])
    return bca_interval(observed, replicates, leave_one_out, level)


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


# --- paired comparisons ------------------------------------------------------------------


@dataclass(frozen=True)
class PairedOptions:
    """How `pre_post`, `perception_gap` and `perception_gap_change` test each group (issue 17).

    Attributes
    ----------
    alternative : {"two-sided", "greater", "less"}
        Alternative of both tests; "greater": the second measure (``after``,
        ``own``) is higher. One-sided p-values; CIs stay two-sided 95%.
    primary : {"paired_t", "wilcoxon_signed_rank"}
        The declared primary test of each hypothesis; the other row is
        labelled a sensitivity analysis in ``note`` (declare it before seeing
        the data, in the analysis plan).
    wilcoxon_p : {"exact_conditional", "r"}
        Exact conditional p with ties (default) or R ``wilcox.test``'s choice.
    rank_biserial_ci : {"bca", "fisher_z"}
        BCa bootstrap (default) or the Fisher-z interval of R effectsize.
    n_boot, seed : int
        Bootstrap resamples and seed of the BCa interval.
    """

    alternative: str = "two-sided"
    primary: str = "paired_t"
    wilcoxon_p: str = "exact_conditional"
    rank_biserial_ci: str = "bca"
    n_boot: int = BOOTSTRAP_RESAMPLES
    seed: int = DEFAULT_SEED

    def __post_init__(self) -> None:
        check_alternative(self.alternative)
        for name, allowed in (("primary", ("paired_t", "wilcoxon_signed_rank")), ("wilcoxon_p", ("exact_conditional", "r")),
                              ("rank_biserial_ci", ("bca", "fisher_z"))):
            if getattr(self, name) not in allowed:
                raise DataError(f"unknown {name}", expected=", ".join(allowed), found=getattr(self, name), rule="argument")

    def role(self, test: str) -> str:
        if test == self.primary:
            return "primary test"
        return f"sensitivity analysis (primary: {self.primary})"


def r_from_dz(dz: float) -> float:
    """Rank-biserial r that a normal shift of d_z produces in large samples: 2 Phi(sqrt(2) d_z) - 1.

    The matched-pairs r estimates 2 P(D_i + D_j > 0) - 1 (the Walsh
    averages), and D_i + D_j ~ N(2 mu, 2 sigma^2) under normality.
    """
    return float(2 * sps.norm.cdf(math.sqrt(2) * dz) - 1) if np.isfinite(dz) else float("nan")


def _paired_rows(
    first: np.ndarray,
    second: np.ndarray,
    *,
    labels: dict[str, str],
    n_incomplete: int,
    direction: str,
    options: PairedOptions = PairedOptions(),
) -> list[dict[str, Any]]:
    """Paired t-test and Wilcoxon signed-rank rows for second - first."""
    n = int(first.size)
    dropped = f"{n_incomplete} incomplete pair(s) dropped" if n_incomplete else None
    pairs = f"{n} complete pair(s)"
    sided = None if options.alternative == "two-sided" else f"one-sided p ({options.alternative}); CI two-sided {CI_LEVEL:.0%}"
    t_row = dict(labels, test="paired_t", n=n, effect_name="hedges_g_av")
    w_row = dict(labels, test="wilcoxon_signed_rank", effect_name="rank_biserial_r")
    t_role, w_role = options.role("paired_t"), options.role("wilcoxon_signed_rank")
    if n < MIN_PAIRS:
        why = f"not run: {n} complete pair(s), a paired test needs at least {MIN_PAIRS}"
        return [t_row | dict(note=join_notes(t_role, why, dropped)), w_row | dict(n=n, note=join_notes(w_role, why, dropped))]

    differences = second - first
    mean_difference = float(differences.mean())
    sd_difference = float(differences.std(ddof=1))
    sd_average = (float(first.std(ddof=1)) + float(second.std(ddof=1))) / 2
    dz_min = min_detectable_cached(n, test="paired_t")

    # Paired t-test with Hedges' g_av (Lakens 2013).
    t_note = [t_role, f"paired t-test on {direction}", sided, pairs, dropped]
    if sd_difference == 0:
        t_note.insert(1, "not run: every pair has the same difference, t is undefined")
        t_row |= dict(note=join_notes(*t_note))
    else:
        t_value = mean_difference / (sd_difference / math.sqrt(n))
        df = n - 1
        p_value = one_or_two_sided(float(sps.t.sf(t_value, df)), float(sps.t.cdf(t_value, df)), options.alternative)
        g_av = ci_low = ci_high = min_detectable = float("nan")
        if sd_average > 0:
            j = _hedges_j_paired(n)
            g_av = j * mean_difference / sd_average
            ncp_low, ncp_high = noncentral_t_limits(t_value, df)
            # Algina & Keselman (2003): the t pivot's limits rescaled to the d_av metric.
            scale = j * sd_difference / (math.sqrt(n) * sd_average)
            ci_low, ci_high = ncp_low * scale, ncp_high * scale
            # The same rescaling carries the detectable d_z to the g_av metric.
            min_detectable = dz_min * j * sd_difference / sd_average
            t_note.append("g_av = mean change / mean of the two SDs x Hedges' J; CI from the noncentral t, rescaled")
            t_note.append("min_detectable is g_av (d_z at 80% power x J s_d / s_av)")
        else:
            t_note.append("g_av undefined: no variation within either wave")
        t_row |= dict(
            statistic=t_value,
            df=float(df),
            p_value=p_value,
            effect_size=g_av,
            ci_low=ci_low,
            ci_high=ci_high,
            min_detectable=min_detectable,
            note=join_notes(*t_note),
        )

    # Wilcoxon signed-rank with the matched-pairs rank-biserial r (Kerby 2014).
    signed_rank = _wilcoxon_signed_rank(differences, alternative=options.alternative, method=options.wilcoxon_p)
    m = signed_rank["n"]
    zero_note = f"{signed_rank['zeros']} zero difference(s) dropped" if signed_rank["zeros"] else None
    if m < MIN_PAIRS:
        why = f"not run: {m} non-zero difference(s), needs at least {MIN_PAIRS}"
        return [t_row, w_row | dict(n=m, note=join_notes(w_role, why, zero_note, pairs, dropped))]
    if signed_rank["conditional"]:
        ties = f" with {signed_rank['tie_groups']} group(s) of tied ranks" if signed_rank["tie_groups"] else ""
        method = f"exact conditional p{ties} (all 2^{m} sign assignments of the mid-ranks)"
    elif signed_rank["exact"]:
        method = "exact p"
    else:
        ties = f", {signed_rank['tie_groups']} group(s) of tied ranks" if signed_rank["tie_groups"] else ""
        method = f"normal approximation with continuity correction{ties} (as R wilcox.test)"
    r, r_low, r_high = _rank_biserial(signed_rank["v"], m)
    if options.rank_biserial_ci == "bca" and abs(r) < 1:
        nonzero = np.round(differences, RANK_DECIMALS)
        r_low, r_high = _rank_biserial_bca(nonzero[nonzero != 0], n_boot=options.n_boot, seed=options.seed)
        r_ci_note = f"CI: BCa bootstrap of the non-zero differences, B = {options.n_boot}, seed = {options.seed}"
    else:
        r_ci_note = "r = +/-1, CI undefined" if math.isnan(r_low) else "CI: Fisher z"
    w_row |= dict(
        n=m,
        statistic=signed_rank["v"],
        p_value=signed_rank["p"],
        effect_size=r,
        ci_low=r_low,
        ci_high=r_high,
        min_detectable=r_from_dz(min_detectable_cached(m, test="wilcoxon_signed_rank")),
        note=join_notes(
            w_role,
            f"Wilcoxon signed-rank on {direction}, V = sum of positive ranks",
            method,
            sided,
            zero_note,
            pairs,
            dropped,
            r_ci_note,
            "min_detectable is rank-biserial r (d_z at 80% power, n x 3/pi, as 2 Phi(sqrt(2) d_z) - 1)",
        ),
    )
    return [t_row, w_row]


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
    options: PairedOptions = PairedOptions(),
) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for keys, sub in split_groups(wide, by):
        a = sub[first].to_numpy(float)
        b = sub[second].to_numpy(float)
        complete = ~np.isnan(a) & ~np.isnan(b)
        incomplete = int(np.sum(~complete & (~np.isnan(a) | ~np.isnan(b))))
        rows += _paired_rows(
            a[complete],
            b[complete],
            labels=group_labels(analysis, keys, outcome, extra),
            n_incomplete=incomplete,
            direction=direction,
            options=options,
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


def pre_post(
    scores: pd.DataFrame,
    *,
    outcome: str,
    before: str = "t0",
    after: str = "t2",
    by: str | Sequence[str] | None = ("case_id", "role"),
    options: PairedOptions | None = None,
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
    options : PairedOptions, optional
        Alternative, declared primary test, Wilcoxon p and rank-biserial CI
        method (default: two-sided, primary paired t, exact conditional
        Wilcoxon p, BCa CI).

    Returns
    -------
    DataFrame
        Standard result shape, two rows per group: ``paired_t`` (statistic t,
        df, effect Hedges' g_av) and ``wilcoxon_signed_rank`` (statistic V =
        sum of positive ranks, effect rank-biserial r). ``n`` counts complete
        pairs (t) or non-zero differences (Wilcoxon); ``min_detectable`` is
        on the metric of ``effect_name`` (g_av, rank-biserial r) at 80%
        power. ``note`` starts with "primary test" or "sensitivity analysis
        (primary: ...)" (`PairedOptions.primary`, default the paired t).

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

    *Wilcoxon signed-rank*: zero differences are dropped (Wilcoxon's method,
    as R); V = sum of the mid-ranks of the positive differences. Default
    p: the exact conditional (permutation) distribution of V given the
    observed mid-ranks over all 2^m sign assignments, computed by convolution
    of the doubled mid-ranks, so Likert ties are handled exactly (as
    ``coin::wilcoxsign_test(distribution = "exact", zero.method =
    "Wilcoxon")``; without ties it is R's exact p), for up to
    `EXACT_CONDITIONAL_MAX_N` non-zero differences; above that the normal
    approximation. ``PairedOptions(wilcoxon_p="r")`` gives R
    ``wilcox.test``'s choice (exact only below 50 differences without ties
    or zeros, else normal with continuity correction). Differences are
    rounded to `RANK_DECIMALS` decimals first, so floating-point noise in
    scale means neither breaks ties nor hides zeros. Two-sided p = twice the
    smaller tail (the null distribution is symmetric).

    *Rank-biserial r* (Kerby 2014): :math:`r = (R_+ - R_-)/(R_+ + R_-)`, the
    share of favourable minus unfavourable signed ranks; positive = increase.
    Default CI: BCa bootstrap (Efron 1987) of the non-zero differences, seeded;
    the Fisher-z CI of R's effectsize (SE
    :math:`\\sqrt{(2m^3 + 3m^2 + m)/6} / (m(m+1)/2)`) undercovers at
    n = 10-35 (see docs/calibration-nonparametric.md) and remains as
    ``PairedOptions(rank_biserial_ci="fisher_z")``. Undefined when r = +/-1.

    *One-sided tests* (``PairedOptions(alternative=...)``): the tail of the
    same t or V distribution; the CIs stay two-sided 95%.

    *min_detectable*: d_z at 80% power (two-sided .05) carried to g_av by
    :math:`J s_d / s_{av}` (the rescaling of the CI), and for the Wilcoxon row
    the A.R.E.-adjusted d_z carried to r by :math:`2\\Phi(\\sqrt 2 d_z) - 1`
    (the r a normal shift produces).

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
    Efron, B. (1987). Better bootstrap confidence intervals. *JASA*, 82, 171-185.

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
    by_t = as_tuple(by)
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
        options=options or PairedOptions(),
    )


def perception_gap(
    scores: pd.DataFrame,
    *,
    own: str = "own_willingness",
    perceived: str = "perceived_willingness",
    by: str | Sequence[str] | None = ("case_id", "role", "wave"),
    options: PairedOptions | None = None,
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
    options : PairedOptions, optional
        See `pre_post`.

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
    by_t = as_tuple(by)
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
        options=options or PairedOptions(),
    )


def perception_gap_change(
    scores: pd.DataFrame,
    *,
    own: str = "own_willingness",
    perceived: str = "perceived_willingness",
    before: str = "t0",
    after: str = "t2",
    by: str | Sequence[str] | None = ("case_id", "role"),
    options: PairedOptions | None = None,
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
    options : PairedOptions, optional
        See `pre_post`.

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
    by_t = as_tuple(by)
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
        options=options or PairedOptions(),
    )


def _hedges_j(df: float) -> float:
    """Hedges' exact small-sample correction J(df) = Gamma(df/2) / (sqrt(df/2) Gamma((df-1)/2))."""
    return float(math.exp(math.lgamma(df / 2) - math.log(math.sqrt(df / 2)) - math.lgamma((df - 1) / 2)))


def _welch_hedges_row(own_change: np.ndarray, perceived_change: np.ndarray) -> dict[str, Any]:
    """Welch's t-test of own_change - perceived_change and Hedges' g (pooled SD) with its noncentral-t CI."""
    n1, n2 = int(own_change.size), int(perceived_change.size)
    mean1, mean2 = float(own_change.mean()), float(perceived_change.mean())
    var1, var2 = float(own_change.var(ddof=1)), float(perceived_change.var(ddof=1))
    difference = mean1 - mean2
    se_welch = math.sqrt(var1 / n1 + var2 / n2)
    if se_welch == 0:
        return dict(note="not run: no variation in either role's change, t is undefined")
    t_welch = difference / se_welch
    df_welch = (var1 / n1 + var2 / n2) ** 2 / ((var1 / n1) ** 2 / (n1 - 1) + (var2 / n2) ** 2 / (n2 - 1))
    p_value = float(2 * sps.t.sf(abs(t_welch), df_welch))
    df_pooled = n1 + n2 - 2
    sd_pooled = math.sqrt(((n1 - 1) * var1 + (n2 - 1) * var2) / df_pooled)
    scale = math.sqrt(1 / n1 + 1 / n2)
    j = _hedges_j(df_pooled)
    d = difference / sd_pooled
    ncp_low, ncp_high = noncentral_t_limits(d / scale, df_pooled)
    return dict(
        statistic=t_welch, df=df_welch, p_value=p_value, effect_size=j * d, ci_low=j * ncp_low * scale, ci_high=j * ncp_high * scale,
        min_detectable=min_detectable_cached(n1, test="two_sample_t", n2=n2),
        mean_difference=difference,
    )


def perception_gap_between_roles(
    scores: pd.DataFrame,
    *,
    own: str = "own_willingness",
    perceived: str = "perceived_willingness",
    before: str = "t0",
    after: str = "t2",
    roles: tuple[str, str] = ("migrant_org", "professional"),
    by: str | Sequence[str] | None = ("case_id",),
) -> pd.DataFrame:
    """The perception gap between roles: what one role reports against what the other role perceives of it.

    For a *target* role A and the other role B (the ``perceiver``), the gap about A is A's own
    willingness minus the willingness B perceives in "the other side" (A). It is not a difference
    within a person (own against perceived willingness of one respondent says nothing about whether
    the perception is wrong), but between the two roles' answers. Its change between two waves,
    ``mean(own_A(after) - own_A(before)) - mean(perceived_B(after) - perceived_B(before))``, is
    negative when B's view of A catches up with what A reports (the gap closes). The two roles'
    within-person changes are independent samples, compared by Welch's two-sample t-test (unequal
    variances; small samples).

    Parameters
    ----------
    scores : DataFrame
        Long scores: participant_id, role, wave, scale, value and the ``by`` columns.
    own, perceived : str
        The scales: own willingness, and the willingness perceived in the other side.
    before, after : str
        The waves; participants with a score at both count (complete pairs).
    roles : (str, str)
        The two roles whose gap is compared; one row per target role (A) and the other role as
        its perceiver (B).
    by : str or sequence of str, default ("case_id",)
        Groups tested separately (never ``role``: it is what is compared).

    Returns
    -------
    DataFrame
        Standard result shape, analysis ``perception_gap_between_roles``, test ``welch_t``, one
        row per group and target role (group ``target=A, perceiver=B, t0->t2``); ``n`` is
        n_A + n_B; ``statistic`` Welch's t, ``df`` the Welch-Satterthwaite df; effect: Hedges'
        g (``hedges_g``) of the two changes with the pooled SD and the exact J, its 95% CI from
        the noncentral t (df = n_A + n_B - 2; Steiger & Fouladi 1997), rescaled by J as R
        ``effectsize::hedges_g``. A group where either role has fewer than `MIN_PAIRS` complete
        pairs gets a row whose note says so.

    Notes
    -----
    With x = the target's change in own willingness (n_1) and y = the perceiver's change in
    perceived willingness (n_2): t = (mean x - mean y) / sqrt(s_1^2/n_1 + s_2^2/n_2) with the
    Welch-Satterthwaite df; g = J(n_1 + n_2 - 2) (mean x - mean y) / s_pooled.

    References
    ----------
    Welch, B. L. (1947). The generalization of "Student's" problem when several different
    population variances are involved. Biometrika, 34, 28-35 (R ``t.test(x, y)``).
    Hedges, L. V. (1981). Distribution theory for Glass's estimator of effect size and related
    estimators. Journal of Educational Statistics, 6(2), 107-128.
    Goulet-Pelletier, J.-C., & Cousineau, D. (2018). A review of effect sizes and their confidence
    intervals, part I: the Cohen's d family. The Quantitative Methods for Psychology, 14(4), 242-265.
    Checked against R ``t.test(mpg ~ am, mtcars)`` and ``effectsize::hedges_g(mpg ~ am, mtcars)``
    (tests/reference).

    Examples
    --------
    >>> import pandas as pd
    >>> own = {"migrant_org": ([4.0, 4.5, 4.0, 4.25], [4.25, 4.5, 4.0, 4.5]), "professional": ([4.5, 4.0, 4.5], [4.5, 4.25, 4.5])}
    >>> perceived = {"migrant_org": ([2.5, 3.0, 2.0, 2.75], [3.0, 3.0, 2.5, 3.5]), "professional": ([2.0, 2.5, 3.0], [3.5, 4.0, 4.0])}
    >>> rows = [dict(participant_id=f"{role}{i}", case_id="a", role=role, wave=wave, scale=scale, value=values[w][i])
    ...         for scale, table in (("own_willingness", own), ("perceived_willingness", perceived))
    ...         for role, values in table.items() for w, wave in enumerate(("t0", "t2")) for i in range(len(values[w]))]
    >>> result = perception_gap_between_roles(pd.DataFrame(rows))
    >>> result["group"].tolist()
    ['target=migrant_org, perceiver=professional, t0->t2', 'target=professional, perceiver=migrant_org, t0->t2']
    >>> result[["n", "statistic", "effect_size"]].round(3)  # migrant_org: own +0.125, professionals' view of them +1.333
       n  statistic  effect_size
    0  7     -6.653       -4.745
    1  7     -1.990       -1.144
    """
    by_t = as_tuple(by)
    _check_waves(before=before, after=after)
    _check_by(by_t, ("wave", "scale", "role"))
    if len(roles) != 2 or roles[0] == roles[1]:
        raise DataError("perception_gap_between_roles compares two different roles", found=roles, rule="argument")
    changes = []
    for scale in (own, perceived):
        wide = _scores_of(scores, scales=[scale], waves=[before, after], by=(*by_t, "role"), spread="wave")
        changes.append(wide.assign(scale=scale, change=wide[after] - wide[before]).dropna(subset=["change"]))
    stacked = pd.concat(changes, ignore_index=True)
    stacked = stacked.loc[stacked["role"].astype(str).isin(roles)]
    rows: list[dict[str, Any]] = []
    change = f"{before}->{after}"
    for keys, sub in split_groups(stacked, by_t):
        for target, perceiver in (roles, roles[::-1]):
            x = sub.loc[(sub["role"].astype(str) == target) & (sub["scale"] == own), "change"].to_numpy(float)
            y = sub.loc[(sub["role"].astype(str) == perceiver) & (sub["scale"] == perceived), "change"].to_numpy(float)
            labels = group_labels("perception_gap_between_roles", keys, f"gap ({own} of the target - {perceived} by the perceiver)",
                                  f"target={target}, perceiver={perceiver}, {change}")
            counts = f"{target}: {x.size} complete pair(s) of {own}; {perceiver}: {y.size} complete pair(s) of {perceived}"
            row = dict(labels, test="welch_t", n=int(x.size + y.size), effect_name="hedges_g")
            if min(x.size, y.size) < MIN_PAIRS:
                rows.append(row | dict(note=join_notes(f"not run: each role needs at least {MIN_PAIRS} complete pairs", counts)))
                continue
            result = _welch_hedges_row(x, y)
            difference = result.pop("mean_difference", None)
            method = [
                f"between roles: change {change} in {own} of {target} vs in {perceived} of {perceiver} (Welch t-test)",
                counts,
                None if difference is None else f"difference of the mean changes = {difference:.3f}",
                "g = Hedges' g of the two changes (pooled SD, exact J); CI from the noncentral t, rescaled",
            ]
            rows.append(row | result | dict(note=join_notes(result.pop("note", None), *method)))
    return result_frame(rows)
