"""Contingency tables: Fisher's exact or chi-square (Monte Carlo p when sparse), Cramér's V with a CI, adjusted residuals."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from ponzoni_eval._core.errors import DataError, require_columns
from ponzoni_eval._core.results import RESULT_COLUMNS, result_frame
from ponzoni_eval.stats.common import as_tuple, group_labels, join_notes, split_groups
from ponzoni_eval.stats.constants import CI_LEVEL, DEFAULT_SEED, MONTE_CARLO_RESAMPLES
from ponzoni_eval.stats.power import min_detectable_cached, noncentral_chi2_limits

__all__ = [
    "contingency_table",
    "crosstab_test",
    "expectation_crosstab",
    "crosstab_residuals",
]


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
        Counts, index named `row`, columns named `col` (levels sorted).
        Every cell counts people: a report that publishes the table declares
        ``privacy.CountRules(list(table.columns), margins="both")`` for it.

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
    return table


def _cramers_v(x2: float, total: float, shape: tuple[int, int], level: float = CI_LEVEL) -> tuple[float, float, float]:
    """Cramér's V with a CI from the noncentral chi-square (as R's effectsize)."""
    k = min(shape)
    df = (shape[0] - 1) * (shape[1] - 1)
    denominator = total * (k - 1)
    v = math.sqrt(x2 / denominator)
    ncp_low, ncp_high = noncentral_chi2_limits(x2, df, level)
    return v, min(1.0, math.sqrt(ncp_low / denominator)), min(1.0, math.sqrt(ncp_high / denominator))


def _odds_ratio_at_phi(counts: np.ndarray, phi: float) -> float:
    """Odds ratio of the 2 x 2 table with the margins of `counts` whose phi coefficient is `phi` (> 0)."""
    if not np.isfinite(phi):
        return float("nan")
    rows, cols, total = counts.sum(axis=1), counts.sum(axis=0), counts.sum()
    a = rows[0] * cols[0] / total + phi * math.sqrt(rows.prod() * cols.prod()) / total
    b, c = rows[0] - a, cols[0] - a
    d = total - a - b - c
    if min(a, b, c, d) <= 0:
        return float("nan")
    return float(a * d / (b * c))


def crosstab_test(
    table: pd.DataFrame | np.ndarray,
    *,
    seed: int = DEFAULT_SEED,
    n_resamples: int = MONTE_CARLO_RESAMPLES,
    analysis: str = "crosstab",
    case_id: str = "all",
    group: str = "",
    outcome: str = "",
    alternative: str = "two-sided",
    effect: str = "cramers_v",
) -> pd.DataFrame:
    """Test of independence for a contingency table, with Cramér's V or (2 x 2) the odds ratio.

    Parameters
    ----------
    table : DataFrame or array
        Counts (rows x columns). Empty rows and columns are dropped first.
    seed, n_resamples : int
        Random seed and number of tables for the Monte Carlo p.
    analysis, case_id, group, outcome : str
        Labels of the result row.
    alternative : {"two-sided", "greater", "less"}
        2 x 2 only (Fisher): "greater" = odds ratio above 1 (as R
        ``fisher.test(alternative=)``); r x c tables are two-sided only.
    effect : {"cramers_v", "odds_ratio"}
        Effect of a 2 x 2 table: Cramér's V (|phi|, default, comparable with
        r x c tables) or the conditional MLE odds ratio with its exact
        conditional CI (R ``fisher.test``). The odds ratio and its CI are in
        ``note`` either way.

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
    observed one) or one-sided, the same p as R's ``fisher.test``. Odds
    ratio: the conditional maximum-likelihood estimate (the noncentral
    hypergeometric MLE) with the exact conditional CI (Cornfield 1956; as R
    ``fisher.test``, via `scipy.stats.contingency.odds_ratio(kind="conditional")`;
    one-sided alternatives give one-sided 95% limits, as R). With
    ``effect="odds_ratio"``, ``min_detectable`` is the odds ratio of the table
    with the observed margins whose phi equals the detectable Cramér's V.

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
        return result_frame([dict(labels, test="chi2", n=int(total), effect_name="cramers_v", note=join_notes(why, dropped_note))])

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
        min_detectable=min_detectable_cached(total, test="cramers_v", df=df, k=k),
    )
    small = int(np.sum(expected < 5))
    v_note = "Cramér's V CI: noncentral chi-square; min_detectable is Cramér's V"
    if alternative not in ("two-sided", "greater", "less"):
        raise DataError("unknown alternative", expected="two-sided, greater, less", found=alternative, rule="argument")
    if effect not in ("cramers_v", "odds_ratio"):
        raise DataError("unknown effect", expected="cramers_v, odds_ratio", found=effect, rule="argument")
    if counts.shape == (2, 2):
        p = float(sps.fisher_exact(counts.astype(int), alternative=alternative).pvalue)
        odds_result = sps.contingency.odds_ratio(counts.astype(int), kind="conditional")
        odds = float(odds_result.statistic)
        odds_ci = odds_result.confidence_interval(confidence_level=CI_LEVEL, alternative=alternative)
        odds_usable = bool(np.isfinite(odds) and odds > 0)
        or_note = (
            f"statistic = conditional MLE odds ratio, exact conditional {CI_LEVEL:.0%} CI "
            f"[{odds_ci.low:.4g}, {odds_ci.high:.4g}]"
            if odds_usable
            else f"odds ratio {odds:g} (a zero cell): statistic left empty; exact conditional CI [{odds_ci.low:.4g}, {odds_ci.high:.4g}]"
        )
        sided = "two-sided" if alternative == "two-sided" else f"one-sided ({alternative}: odds ratio {'>' if alternative == 'greater' else '<'} 1)"
        fisher_row = common | dict(
            test="fisher_exact",
            statistic=odds if odds_usable else float("nan"),
            p_value=p,
            note=join_notes(f"Fisher's exact test, {sided}", or_note, v_note, dropped_note),
        )
        if effect == "odds_ratio":
            fisher_row |= dict(
                effect_size=odds, effect_name="odds_ratio", ci_low=float(odds_ci.low), ci_high=float(odds_ci.high),
                min_detectable=_odds_ratio_at_phi(counts, common["min_detectable"]),
                note=join_notes(f"Fisher's exact test, {sided}", or_note,
                                "effect: conditional MLE odds ratio; min_detectable is the odds ratio at the observed margins",
                                dropped_note),
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
        test="chi2", statistic=x2, df=float(df), p_value=p, note=join_notes(p_note, v_note, dropped_note)
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
    by_t = as_tuple(by)
    require_columns(data, (row, col, *by_t), "data")
    rows = []
    for keys, sub in split_groups(data, by_t):
        missing = int(sub[[row, col]].isna().any(axis=1).sum())
        table = contingency_table(sub, row=row, col=col)
        frame = crosstab_test(
            table,
            seed=seed,
            n_resamples=n_resamples,
            **group_labels("expectation_mismatch", keys, col, f"{row} x {col}"),
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
    by_t = as_tuple(by)
    require_columns(data, (row, col, *by_t), "data")
    parts = []
    for keys, sub in split_groups(data, by_t):
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
