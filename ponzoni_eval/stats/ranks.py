"""Kruskal-Wallis with epsilon-squared and Dunn's pairwise tests: do change scores differ between cases?"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ponzoni_eval._core.errors import require_columns
from ponzoni_eval._core.results import RESULT_COLUMNS, result_frame, stack_results
from ponzoni_eval.config import DEFAULT_SEED
from ponzoni_eval.stats.common import MANY_CASES, comparison_mode, not_run_row, observed_levels, select_outcome
from ponzoni_eval.stats.multitest import adjust_p
from ponzoni_eval.stats.power import min_detectable_cached, noncentral_chi2_limits
from ponzoni_eval.stats.resampling import bca_interval, check_alternative, exact_rank_sum_distribution, one_or_two_sided
from ponzoni_eval.stats.constants import BOOTSTRAP_RESAMPLES, EXACT_CONDITIONAL_MAX_N

__all__ = [
    "kruskal_dunn",
    "mann_whitney",
    "change_ancova",
]


# --- Kruskal-Wallis + Dunn ------------------------------------------------------


def _midranks(codes: np.ndarray, n_unique: int) -> tuple[np.ndarray, np.ndarray]:
    """Average ranks per row of a (B, M) matrix of value codes, and each row's tie sum.

    ``codes`` index the sorted unique values (0 = smallest), so ranks follow
    from per-row counts of each value: the mid-rank of value j is the number
    of smaller values plus (count_j + 1) / 2. The tie sum is sum(t^3 - t)
    over tie groups. Vectorised over rows (bootstrap replicates).
    """
    n_rows = codes.shape[0]
    flat = (codes + n_unique * np.arange(n_rows)[:, None]).ravel()
    counts = np.bincount(flat, minlength=n_rows * n_unique).reshape(n_rows, n_unique).astype(float)
    below = np.cumsum(counts, axis=1) - counts
    mid_rank = below + (counts + 1.0) / 2.0
    ranks = np.take_along_axis(mid_rank, codes, axis=1)
    tie_sum = (counts**3 - counts).sum(axis=1)
    return ranks, tie_sum


def _kruskal_h(ranks: np.ndarray, tie_sum: np.ndarray, group_codes: np.ndarray, k: int) -> np.ndarray:
    """Tie-corrected Kruskal-Wallis H per row (as R ``kruskal.test``); NaN when all values tie."""
    n_total = ranks.shape[1]
    membership = np.eye(k)[group_codes]
    group_n = membership.sum(axis=0)
    rank_sums = ranks @ membership
    h = 12.0 / (n_total * (n_total + 1.0)) * (rank_sums**2 / group_n).sum(axis=1) - 3.0 * (n_total + 1.0)
    correction = 1.0 - tie_sum / (n_total**3 - n_total)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(correction > 0, h / correction, np.nan)


def kruskal_dunn(
    change: pd.DataFrame,
    *,
    outcome: str,
    group: str = "case_id",
    p_adjust: str = "holm",
    n_boot: int = 2000,
    seed: int = DEFAULT_SEED,
    scale_column: str = "scale",
    comparisons: str = "auto",
) -> pd.DataFrame:
    """Do change scores differ between cases? Kruskal-Wallis, then Dunn's pairwise tests.

    Kruskal-Wallis rank-sum test of the change scores of one scale across
    groups (cases), with epsilon-squared and a bootstrap CI; then Dunn's
    (1964) z test for every pair of groups on the joint ranking, with
    adjusted p-values and the rank-biserial correlation per pair.

    Parameters
    ----------
    change : DataFrame
        Change scores, one row per participant and scale
        (``transforms.change_scores``): at least ``scale``, ``value``
        (after - before) and the ``group`` column.
    outcome : str
        The scale to compare (a value of ``scale``), e.g. ``"trust"``.
    group : str, default "case_id"
        Column that defines the groups.
    p_adjust : str, default "holm"
        Adjustment of the pairwise p-values, R ``p.adjust`` names: ``holm``,
        ``bonferroni``, ``hochberg``, ``BH``, ``BY``, ``sidak``,
        ``holm-sidak`` or ``none``.
    n_boot : int, default 2000
        Bootstrap replicates for the CIs of the pairwise rank-biserial
        correlations (epsilon-squared's CI is analytic).
    seed : int, default `ponzoni_eval.config.DEFAULT_SEED` (20170616)
        Seed of the bootstrap; the same seed gives the same CIs.
    scale_column : str, default "scale"
        Column that names the scale (``item_id`` for item-level data).
    comparisons : {"auto", "pairs", "mean"}, default "auto"
        ``pairs``: Dunn's test for every pair of groups; ``mean``: each group
        against all other groups together (k tests, adjusted by `p_adjust`);
        ``auto``: pairs up to `ponzoni_eval.stats.common.MANY_CASES` (8)
        groups, else mean (as `mixed_model`).

    Returns
    -------
    DataFrame
        Standard result shape (``analysis = "cross_case"``): one row
        ``test = "kruskal_wallis"`` (``statistic`` = H, ``df`` = k - 1,
        ``effect_name = "epsilon_squared"``) and one row ``test = "dunn"`` per
        pair (``group = "A - B"``, ``statistic`` = z, positive when A ranks
        higher, ``p_adjusted`` per ``p_adjust``, ``effect_name =
        "rank_biserial"``). In ``mean`` mode instead one ``test = "dunn"`` row
        per group (``case_id`` = the group, ``group = "A - rest"``, z positive
        when A ranks above the others, ``effect_name = "rank_biserial"`` of A
        against the rest). With fewer than two non-empty groups, or when all
        values are equal, a single row with a ``note`` and no numbers.

    Raises
    ------
    DataError
        When a required column is missing or ``outcome`` is not a scale in
        ``change``.

    Notes
    -----
    *Kruskal-Wallis.* With N observations, k groups of size n_i and rank sums
    R_i (mid-ranks for ties)::

        H = [12 / (N (N + 1)) * sum(R_i^2 / n_i) - 3 (N + 1)] / C
        C = 1 - sum(t^3 - t) / (N^3 - N)      (t = size of each tie group)

    referred to chi-squared with k - 1 df, exactly as R ``kruskal.test``.
    The approximation is rough when a group has fewer than 5 observations;
    the note says so.

    *Epsilon-squared* (Tomczak & Tomczak 2014)::

        E^2 = H / ((N^2 - 1) / (N + 1)) = H / (N - 1)

    between 0 (no group differences in rank) and 1. Its 95% CI inverts the
    noncentral chi-square distribution of H (the noncentrality limits
    lambda_low, lambda_high with P(X <= H | lambda) = .975, .025, divided by
    N - 1), the convention of the Cramer's V interval (Cumming & Finch
    2001): it contains 0 exactly when H is below the 97.5% point of the
    central chi-square, so it agrees with the test. (The percentile bootstrap
    used before never contained 0: under a permuted null its interval was
    [.0007, .103]; see docs/calibration-nonparametric.md for the null
    coverage of this one.) The point estimate H / (N - 1) includes the null
    expectation (k - 1) / (N - 1), so it can lie above a CI that starts at 0.

    *Dunn's test* (Dunn 1964) compares mean ranks from the joint ranking::

        z_AB = (Rbar_A - Rbar_B) / sqrt((N (N + 1) / 12 - sum(t^3 - t) / (12 (N - 1))) * (1/n_A + 1/n_B))

    with two-sided normal p-values, as ``dunn.test`` and ``FSA::dunnTest``
    (default ``two.sided=TRUE``). Adjusted p-values follow R ``p.adjust``.
    Note that ``dunn.test`` prints Holm-adjusted p-values *without* the
    monotonicity step of ``p.adjust``; ours can therefore be larger than
    ``dunn.test``'s for all but the smallest p-value (never smaller).

    Dunn's test is computed here rather than taken from a library: pingouin
    has none, and scikit-posthocs' ``posthoc_dunn`` (the test oracle in
    ``tests/stats/test_crosscase.py``, equal to 1e-9) took 0.36 s against
    0.13 s for this whole function (Kruskal-Wallis, Dunn, rank-biserial) on
    100 groups of 30 (4,950 pairs), and would make a test-only package a
    runtime dependency. The adjustment itself is `multitest.adjust_p`.

    *Each group against the rest* (many groups): Dunn's z of group A against
    the union of the other groups on the same joint ranking,

        z_A = (Rbar_A - Rbar_rest) / sqrt(S (1/n_A + 1/(N - n_A)))
            = (Rbar_A - (N + 1) / 2) / sqrt(S (1/n_A - 1/N))

    (S the tie-corrected spread above): the test of A's mean rank against the
    overall mean rank, whose null variance (sampling without replacement) is
    exactly S (1/n_A - 1/N). k tests instead of k (k - 1) / 2; the
    rank-biserial r of A against the rest and its bootstrap CI likewise.

    *Rank-biserial correlation* per pair (Glass 1965; Kerby 2014):
    r = P(X_A > X_B) - P(X_A < X_B) = 2 U_A / (n_A n_B) - 1, from -1 (all of
    B above A) to 1 (all of A above B); the same as Cliff's delta. It uses
    only the two groups of the pair, whereas Dunn's z uses the joint ranking.
    Its CI is the percentile interval over the same bootstrap replicates.

    References
    ----------
    Kruskal, W. H. & Wallis, W. A. (1952). Use of ranks in one-criterion
    variance analysis. JASA 47, 583-621.
    Dunn, O. J. (1964). Multiple comparisons using rank sums. Technometrics
    6, 241-252.
    Tomczak, M. & Tomczak, E. (2014). The need to report effect size
    estimates revisited. Trends in Sport Sciences 21(1), 19-25.
    Kerby, D. S. (2014). The simple difference formula: an approach to
    teaching nonparametric correlation. Comprehensive Psychology 3, 11.IT.3.1.
    Checked against R ``kruskal.test`` and ``FSA::dunnTest`` (see
    ``tests/reference/test_crosscase_reference.py``).

    Examples
    --------
    Hollander & Wolfe (1973, p. 116), the example of R ``?kruskal.test``:

    >>> import pandas as pd
    >>> change = pd.DataFrame({
    ...     "case_id": ["normal"] * 5 + ["airway"] * 4 + ["asbestosis"] * 5,
    ...     "scale": "mucociliary",
    ...     "value": [2.9, 3.0, 2.5, 2.6, 3.2, 3.8, 2.7, 4.0, 2.4, 2.8, 3.4, 3.7, 2.2, 2.0]})
    >>> res = kruskal_dunn(change, outcome="mucociliary")
    >>> kw = res.iloc[0]
    >>> float(round(kw.statistic, 5)), int(kw.df), float(round(kw.p_value, 2))  # R: 0.77143, df = 2, p = 0.68
    (0.77143, 2, 0.68)
    >>> res["group"].tolist()[1:]
    ['airway - asbestosis', 'airway - normal', 'asbestosis - normal']
    """
    analysis = "cross_case"
    require_columns(change, (scale_column, "value", group), "change")
    rows = select_outcome(change, column=scale_column, outcome=outcome, table="change")
    rows = rows.loc[rows["value"].notna() & rows[group].notna(), [group, "value"]]
    levels = observed_levels(rows[group])
    if len(levels) < 2:
        return not_run_row(
            analysis, outcome, "kruskal_wallis",
            f"not run: change scores for fewer than two {group} values (found {levels})", n=len(rows),
        )
    values = rows["value"].to_numpy(dtype=float)
    if np.ptp(values) == 0:
        return not_run_row(analysis, outcome, "kruskal_wallis", "not run: all change scores are equal", n=len(values))

    # Order observations by group so bootstrap columns stay in group blocks.
    group_codes_all = pd.Categorical(rows[group], categories=levels).codes
    order = np.argsort(group_codes_all, kind="stable")
    values, group_codes = values[order], group_codes_all[order]
    k, n_total = len(levels), len(values)
    group_n = np.bincount(group_codes, minlength=k)
    unique_values, value_codes = np.unique(values, return_inverse=True)
    n_unique = len(unique_values)

    ranks, tie_sum = _midranks(value_codes[None, :], n_unique)
    h = float(_kruskal_h(ranks, tie_sum, group_codes, k)[0])
    from scipy import stats

    p_kw = float(stats.chi2.sf(h, k - 1))
    epsilon_sq = h / (n_total - 1.0)

    # Stratified bootstrap: resample within each group, group sizes fixed.
    rng = np.random.default_rng(seed)
    starts = np.concatenate([[0], np.cumsum(group_n)[:-1]])
    mode = comparison_mode(comparisons, k)
    pairs_a, pairs_b = np.triu_indices(k, k=1)
    if mode == "pairs":
        boot_index = np.concatenate(
            [start + rng.integers(0, size, size=(n_boot, size)) for start, size in zip(starts, group_n)], axis=1
        )
        boot_codes = value_codes[boot_index]
        del boot_index
        _, boot_twice_u = _bootstrap_statistics(boot_codes, group_codes, group_n, n_unique, pairs_a, pairs_b)
    # Epsilon-squared CI: noncentral chi-square limits of H over N - 1 (issue 17; can contain 0).
    ncp_low, ncp_high = noncentral_chi2_limits(h, k - 1) if np.isfinite(h) else (np.nan, np.nan)
    eps_ci = [ncp_low / (n_total - 1.0), ncp_high / (n_total - 1.0)]

    kw_notes = [
        "tie-corrected H, chi-squared approximation with k - 1 df",
        "epsilon-squared CI: noncentrality limits of H (noncentral chi-square) / (N - 1), 0 when p >= .025",
    ]
    if group_n.min() < 5:
        small = [f"{lvl} (n = {n})" for lvl, n in zip(levels, group_n) if n < 5]
        kw_notes.append("chi-squared approximation rough: groups with n < 5: " + ", ".join(small))
    out = [
        dict(
            analysis=analysis, case_id="all", group=f"{group}: " + " | ".join(map(str, levels)), outcome=outcome,
            test="kruskal_wallis", n=n_total, statistic=h, df=k - 1, p_value=p_kw,
            effect_size=epsilon_sq, effect_name="epsilon_squared", ci_low=eps_ci[0], ci_high=eps_ci[1],
            note="; ".join(kw_notes),
        )
    ]

    # Dunn's z on the joint ranking (observed data).
    mean_ranks = np.add.reduceat(ranks[0], starts) / group_n
    spread = n_total * (n_total + 1) / 12.0 - tie_sum[0] / (12.0 * (n_total - 1))
    names = np.array([str(level) for level in levels], dtype=object)
    if mode == "mean":
        z = (mean_ranks - (n_total + 1) / 2.0) / np.sqrt(spread * (1.0 / group_n - 1.0 / n_total))
        p_dunn = 2.0 * stats.norm.sf(np.abs(z))
        rest_n = (n_total - group_n).astype(float)
        observed = _vs_rest_twice_u(value_codes[None, :], group_codes, k, n_unique)[0] / (group_n * rest_n) - 1.0
        # the same stratified bootstrap, drawn a block of replicates at a time (many groups: a replicates x
        # observations matrix of codes would be 2000 x N, memory-bound)
        boot = []
        for first in range(0, n_boot, _REPLICATES_PER_BLOCK):
            size_block = min(_REPLICATES_PER_BLOCK, n_boot - first)
            index = np.concatenate([start + rng.integers(0, size, size=(size_block, size))
                                    for start, size in zip(starts, group_n)], axis=1)
            boot.append(_vs_rest_twice_u(value_codes[index], group_codes, k, n_unique))
        boot = np.concatenate(boot)
        ci = np.percentile(boot / (group_n * rest_n) - 1.0, [2.5, 97.5], axis=0)
        versus_rest = pd.DataFrame(dict(
            analysis=analysis, case_id=names, group=names + " - rest", outcome=outcome, test="dunn",
            n=group_n.astype(int), statistic=z, p_value=p_dunn, p_adjusted=adjust_p(p_dunn, p_adjust),
            effect_size=observed, effect_name="rank_biserial", ci_low=ci[0], ci_high=ci[1],
            note=(f"Dunn z of each group against the other {k - 1} together (its mean rank against the overall mean "
                  f"rank) on the joint ranking, tie-corrected, two-sided; p_adjusted: {p_adjust} over {k} groups; "
                  f"comparisons: {comparisons!r} (pairs up to {MANY_CASES} groups under 'auto', or with 'pairs'); "
                  "rank-biserial CI: percentile bootstrap"),
        ))
        return stack_results(result_frame(out), versus_rest.reindex(columns=list(RESULT_COLUMNS)))
    z = (mean_ranks[pairs_a] - mean_ranks[pairs_b]) / np.sqrt(spread * (1.0 / group_n[pairs_a] + 1.0 / group_n[pairs_b]))
    p_dunn = 2.0 * stats.norm.sf(np.abs(z))
    p_adj = adjust_p(p_dunn, p_adjust)

    # Rank-biserial r per pair = 2 U_A / (n_A n_B) - 1, on observed data and bootstrap rows.
    _, observed_twice_u = _bootstrap_statistics(value_codes[None, :], group_codes, group_n, n_unique, pairs_a, pairs_b)
    pair_n = (group_n[pairs_a] * group_n[pairs_b]).astype(float)
    observed = observed_twice_u[0] / pair_n - 1.0
    ci = np.empty((2, len(pairs_a)))
    for block in range(0, len(pairs_a), _PAIRS_PER_BLOCK):  # percentiles a block of pairs at a time (memory)
        columns = slice(block, block + _PAIRS_PER_BLOCK)
        ci[:, columns] = np.percentile(boot_twice_u[:, columns] / pair_n[columns] - 1.0, [2.5, 97.5], axis=0)
    pairs = pd.DataFrame(
        dict(
            analysis=analysis, case_id="all", group=names[pairs_a] + " - " + names[pairs_b], outcome=outcome,
            test="dunn", n=(group_n[pairs_a] + group_n[pairs_b]).astype(int), statistic=z, p_value=p_dunn,
            p_adjusted=p_adj, effect_size=observed, effect_name="rank_biserial", ci_low=ci[0], ci_high=ci[1],
            note=(
                f"Dunn z on the joint ranking of all {k} groups, tie-corrected, two-sided; "
                f"p_adjusted: {p_adjust} over {len(pairs_a)} pairs; rank-biserial CI: percentile bootstrap"
            ),
        )
    )
    return stack_results(result_frame(out), pairs.reindex(columns=list(RESULT_COLUMNS)))


_PAIRS_PER_BLOCK = 2000
_REPLICATES_PER_BLOCK = 64


def _vs_rest_twice_u(codes, group_codes, k, n_unique):
    """2 U of each group against all other groups together, per row of `codes` (replicates x observations).

    With H[g, v] the count of value v in group g and R = total - H the rest's counts:
    2 U_g = sum_v H[g, v] (2 below_R[v] + R[g, v]) (below_R: the rest's values below v).
    """
    n_rows = len(codes)
    flat = (np.arange(n_rows)[:, None] * (k * n_unique) + group_codes.astype(np.int64)[None, :] * n_unique + codes).ravel()
    counts = np.bincount(flat, minlength=n_rows * k * n_unique).reshape(n_rows, k, n_unique).astype(float)
    rest = counts.sum(axis=1, keepdims=True) - counts
    below = np.cumsum(rest, axis=2) - rest
    return np.einsum("rgv,rgv->rg", counts, 2.0 * below + rest)


def _bootstrap_statistics(codes, group_codes, group_n, n_unique, pairs_a, pairs_b):
    """Epsilon-squared and 2 U_A of every pair, per row of `codes` (replicates x observations).

    Rows are handled a block at a time through per-group counts of each
    value, H[g, v], instead of ranking each pair's observations anew:

    - the mid-rank of value v in the joint ranking is (values below v) +
      (count of v + 1) / 2, and a group's rank sum is H[g] . midrank;
    - 2 U_A for the pair (A, B) = sum_v H[A, v] (2 below_B[v] + H[B, v]),
      with below_B[v] the values of B below v: one matrix product H Q' for
      all pairs at once.

    The counts are integers, so U (and r = 2 U / (n_A n_B) - 1) is exact, as
    from the mid-ranks; 2 U is kept as the smallest unsigned integer type
    that holds n_A n_B (300 cases: 2000 replicates x 44 850 pairs in 0.18 GB).
    """
    n_rows, n_total = codes.shape
    k = len(group_n)
    twice_u_type = np.uint16 if 2 * int(group_n.max()) ** 2 < np.iinfo(np.uint16).max else np.uint32
    eps = np.empty(n_rows)
    twice_u = np.empty((n_rows, len(pairs_a)), dtype=twice_u_type)
    cell = group_codes.astype(np.int64) * n_unique  # offset of each observation's group in a replicate's k x n_unique counts
    for first in range(0, n_rows, _REPLICATES_PER_BLOCK):
        block = codes[first:first + _REPLICATES_PER_BLOCK]
        n_block = len(block)
        flat = (np.arange(n_block)[:, None] * (k * n_unique) + cell[None, :] + block).ravel()
        counts = np.bincount(flat, minlength=n_block * k * n_unique).reshape(n_block, k, n_unique).astype(float)
        total = counts.sum(axis=1)  # replicate x value
        below = np.cumsum(total, axis=1) - total
        mid_rank = below + (total + 1.0) / 2.0
        rank_sums = np.einsum("rgv,rv->rg", counts, mid_rank)
        tie_sum = (total**3 - total).sum(axis=1)
        h = 12.0 / (n_total * (n_total + 1.0)) * (rank_sums**2 / group_n).sum(axis=1) - 3.0 * (n_total + 1.0)
        correction = 1.0 - tie_sum / (n_total**3 - n_total)
        with np.errstate(divide="ignore", invalid="ignore"):
            eps[first:first + n_block] = np.where(correction > 0, h / correction, np.nan) / (n_total - 1.0)
        group_below = np.cumsum(counts, axis=2) - counts
        pair_u = counts @ (2.0 * group_below + counts).transpose(0, 2, 1)  # [r, A, B] = 2 U_A of (A, B)
        twice_u[first:first + n_block] = pair_u[:, pairs_a, pairs_b]
    return eps, twice_u


# --- issue 17: Mann-Whitney with its exact conditional p; ANCOVA on t2 adjusted for t0 ----------


def _two_sample_r(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Rank-biserial r = 2 U_x / (n_x n_y) - 1 for rows of (B, n_x) and (B, n_y) samples."""
    from scipy import stats

    x, y = np.atleast_2d(x), np.atleast_2d(y)
    n_x, n_y = x.shape[1], y.shape[1]
    ranks = stats.rankdata(np.concatenate([x, y], axis=1), axis=1)
    u_x = ranks[:, :n_x].sum(axis=1) - n_x * (n_x + 1) / 2.0
    return 2.0 * u_x / (n_x * n_y) - 1.0


def _two_sample_r_bca(x: np.ndarray, y: np.ndarray, *, n_boot: int, seed: int) -> tuple[float, float]:
    """BCa CI of the two-sample rank-biserial r: resampling within each group, jackknife over all observations."""
    rng = np.random.default_rng(seed)
    boot = _two_sample_r(x[rng.integers(0, len(x), (n_boot, len(x)))], y[rng.integers(0, len(y), (n_boot, len(y)))])
    jack = np.concatenate([
        [_two_sample_r(np.delete(x, i), y)[0] for i in range(len(x))] if len(x) > 1 else [],
        [_two_sample_r(x, np.delete(y, i))[0] for i in range(len(y))] if len(y) > 1 else [],
    ])
    return bca_interval(float(_two_sample_r(x, y)[0]), boot, np.asarray(jack, dtype=float))


def mann_whitney(
    data: pd.DataFrame,
    *,
    outcome: str,
    group: str = "case_id",
    levels: tuple[str, str] | None = None,
    alternative: str = "two-sided",
    n_boot: int = BOOTSTRAP_RESAMPLES,
    seed: int = DEFAULT_SEED,
    scale_column: str = "scale",
    analysis: str = "two_sample",
) -> pd.DataFrame:
    """Do two independent groups differ? Wilcoxon-Mann-Whitney test with its exact conditional p.

    Parameters
    ----------
    data : DataFrame
        One row per participant and scale: ``scale_column``, ``value`` and
        ``group`` (e.g. change scores from `transforms.change_scores`).
    outcome : str
        The scale to compare (a value of ``scale_column``).
    group : str, default "case_id"
        Column with the two groups.
    levels : (str, str), optional
        Group A and group B (default: the two observed levels, sorted). U,
        r and the one-sided alternatives refer to A versus B.
    alternative : {"two-sided", "greater", "less"}
        "greater": values in A tend to be larger than in B.
    n_boot, seed : int
        Bootstrap resamples and seed of the BCa CI of r.
    scale_column : str, default "scale"
        Column that names the scale.
    analysis : str, default "two_sample"
        The ``analysis`` label of the row.

    Returns
    -------
    DataFrame
        Standard result shape, one row ``test = "mann_whitney"``:
        ``statistic`` = W = U_A (as R ``wilcox.test(a, b)``), ``p_value``,
        ``effect_name = "rank_biserial_r"`` with a BCa CI and
        ``min_detectable`` on the r metric. ``group = "A - B"``.

    Notes
    -----
    U_A = R_A - n_A (n_A + 1) / 2 with mid-ranks R_A of group A in the pooled
    sample. The p-value is the exact conditional (permutation) p: the null
    distribution of the rank sum given the observed mid-ranks, counted over
    all C(N, n_A) splits by dynamic programming on the doubled mid-ranks, so
    ties are handled exactly (as ``coin::wilcox_test(distribution =
    "exact")``; without ties it equals R ``wilcox.test``'s and scipy's
    ``method="exact"`` p). Up to `EXACT_CONDITIONAL_MAX_N` observations;
    above, the normal approximation with tie-corrected variance and
    continuity correction (as R). Two-sided p = twice the smaller tail.

    Rank-biserial r = 2 U_A / (n_A n_B) - 1 = P(A > B) - P(A < B) (Glass
    1965; equal to Cliff's delta). CI: BCa bootstrap (Efron 1987),
    resampling within groups; coverage in docs/calibration-nonparametric.md.
    ``min_detectable``: Cohen's d detectable with 80% power by a two-sample t
    at n x 3/pi per group (A.R.E.), carried to r by 2 Phi(d / sqrt 2) - 1.

    References
    ----------
    Mann, H. B., & Whitney, D. R. (1947). On a test of whether one of two
    random variables is stochastically larger than the other. *Annals of
    Mathematical Statistics*, 18, 50-60.
    Glass, G. V. (1965). A ranking variable analogue of biserial correlation.
    *Educational and Psychological Measurement*, 25, 91-95.
    Efron, B. (1987). Better bootstrap confidence intervals. *JASA*, 82, 171-185.

    Examples
    --------
    R ``?wilcox.test``: ``wilcox.test(x, y, alternative = "g")`` gives W = 35, p = 0.1272.

    >>> import pandas as pd
    >>> x = [0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46]
    >>> y = [1.15, 0.88, 0.90, 0.74, 1.21]
    >>> data = pd.DataFrame({"case_id": ["x"] * 10 + ["y"] * 5, "scale": "s", "value": x + y})
    >>> row = mann_whitney(data, outcome="s", alternative="greater").iloc[0]
    >>> float(row.statistic), float(round(row.p_value, 4))
    (35.0, 0.1272)
    """
    from scipy import stats

    check_alternative(alternative)
    require_columns(data, (scale_column, "value", group), "data")
    rows = select_outcome(data, column=scale_column, outcome=outcome, table="data")
    rows = rows.loc[rows["value"].notna() & rows[group].notna(), [group, "value"]]
    found = observed_levels(rows[group])
    a_level, b_level = levels if levels is not None else (tuple(found) if len(found) == 2 else (None, None))
    label = f"{a_level} - {b_level}"
    if a_level is None or a_level not in found or b_level not in found:
        return not_run_row(analysis, outcome, "mann_whitney",
                           f"not run: needs exactly two {group} values with data (found {found}; levels {levels})", n=len(rows))
    x = rows.loc[rows[group] == a_level, "value"].to_numpy(float)
    y = rows.loc[rows[group] == b_level, "value"].to_numpy(float)
    n_x, n_y = len(x), len(y)
    pooled = np.round(np.concatenate([x, y]), 10)
    base = dict(analysis=analysis, case_id="all", group=label, outcome=outcome, test="mann_whitney", n=n_x + n_y,
                effect_name="rank_biserial_r")
    if min(n_x, n_y) < 2 or np.ptp(pooled) == 0:
        return result_frame([base | dict(note=f"not run: needs 2 values per group and some variation (n = {n_x}, {n_y})")])
    ranks = stats.rankdata(pooled)
    rank_sum = float(ranks[:n_x].sum())
    u = rank_sum - n_x * (n_x + 1) / 2.0
    _, tie_sizes = np.unique(ranks, return_counts=True)
    tie_groups = int(np.sum(tie_sizes > 1))
    n_total = n_x + n_y
    if n_total <= EXACT_CONDITIONAL_MAX_N:
        probability = exact_rank_sum_distribution(np.rint(2 * ranks).astype(np.int64), n_x)
        observed = int(round(2 * rank_sum))
        p = one_or_two_sided(probability[observed:].sum(), probability[: observed + 1].sum(), alternative)
        ties = f" with {tie_groups} group(s) of tied ranks" if tie_groups else ""
        method = f"exact conditional p{ties} (all C(N, n_A) splits of the mid-ranks)"
    else:
        centred = u - n_x * n_y / 2.0
        sigma = np.sqrt(n_x * n_y / 12.0 * ((n_total + 1) - float(np.sum(tie_sizes**3 - tie_sizes)) / (n_total * (n_total - 1))))
        shift = {"two-sided": np.sign(centred) * 0.5, "greater": 0.5, "less": -0.5}[alternative]
        z = (centred - shift) / sigma
        p = one_or_two_sided(float(stats.norm.sf(z)), float(stats.norm.cdf(z)), alternative)
        method = "normal approximation with tie-corrected variance and continuity correction (as R wilcox.test)"
    r = 2.0 * u / (n_x * n_y) - 1.0
    low, high = _two_sample_r_bca(x, y, n_boot=n_boot, seed=seed) if abs(r) < 1 else (np.nan, np.nan)
    d_min = min_detectable_cached(n_x * 3 / np.pi, test="two_sample_t", n2=n_y * 3 / np.pi)
    notes = [
        f"Wilcoxon-Mann-Whitney, W = U of {a_level} (n = {n_x}) against {b_level} (n = {n_y})",
        method,
        None if alternative == "two-sided" else f"one-sided p ({alternative}); CI two-sided 95%",
        f"r CI: BCa bootstrap within groups, B = {n_boot}, seed = {seed}" if abs(r) < 1 else "r = +/-1, CI undefined",
        "min_detectable is rank-biserial r (d at 80% power, n x 3/pi, as 2 Phi(d / sqrt 2) - 1)",
    ]
    return result_frame([base | dict(
        statistic=u, p_value=p, effect_size=r, ci_low=low, ci_high=high,
        min_detectable=float(2 * stats.norm.cdf(d_min / np.sqrt(2)) - 1) if np.isfinite(d_min) else np.nan,
        note="; ".join(n for n in notes if n),
    )])


def _noncentral_f_limits(f: float, df1: float, df2: float, level: float = 0.95) -> tuple[float, float]:
    """Noncentrality limits of an observed F (0 where the interval reaches it; Steiger 2004)."""
    from scipy import optimize, stats

    tail = (1 - level) / 2

    def solve(target: float) -> float:
        if stats.f.cdf(f, df1, df2) <= target:
            return 0.0
        high = max(10.0, 4.0 * f * df1 + 10.0)
        while stats.ncf.cdf(f, df1, df2, high) > target:
            high *= 2
        return float(optimize.brentq(lambda ncp: stats.ncf.cdf(f, df1, df2, ncp) - target, 0.0, high, xtol=1e-10))

    return solve(1 - tail), solve(tail)


def change_ancova(
    scores: pd.DataFrame,
    *,
    outcome: str,
    before: str = "t0",
    after: str = "t2",
    group: str = "case_id",
) -> pd.DataFrame:
    """Does the score after differ between cases once the score before is held equal? ANCOVA after ~ before + case.

    The analysis of covariance of Vickers & Altman (2001) for pre/post
    designs: it uses the baseline, which a Kruskal-Wallis test of change
    scores (`kruskal_dunn`) ignores, and has more power when before and after
    correlate. Report it beside Kruskal-Wallis.

    Parameters
    ----------
    scores : DataFrame
        Long scores: participant_id, wave, scale, value and ``group``.
    outcome : str
        The scale.
    before, after : str
        The waves: ``after`` is the response, ``before`` the covariate.
    group : str, default "case_id"
        The factor compared.

    Returns
    -------
    DataFrame
        Standard result shape, analysis ``cross_case``, one row ``test =
        "ancova"``: ``statistic`` = F of ``group`` adjusted for ``before``
        (type II = type III here: no interaction), ``df`` = k - 1 (the error
        df in ``note``), ``effect_name = "partial_eta_squared"`` with a 95%
        CI, ``n`` = participants with both scores.

    Notes
    -----
    OLS fit of after = b0 + b1 before + case effects; F = (SS_case / (k - 1))
    / (SS_res / (n - k - 1)) from the drop in residual SS when the case
    dummies leave the model. Partial eta^2 = SS_case / (SS_case + SS_res).
    CI: the noncentrality limits of F (Steiger 2004) mapped by
    lambda / (lambda + df1 + df2 + 1), as R ``effectsize::F_to_eta2``; it
    contains 0 when the test is not significant at .025 one-sided.
    Assumes parallel slopes across cases (no before x case interaction) and
    roughly normal residuals.

    References
    ----------
    Vickers, A. J., & Altman, D. G. (2001). Analysing controlled trials with
    baseline and follow up measurements. *BMJ*, 323, 1123-1124.
    Steiger, J. H. (2004). Beyond the F test: effect size confidence
    intervals and tests of close fit in the analysis of variance and
    contrast analysis. *Psychological Methods*, 9, 164-182.

    Examples
    --------
    >>> import pandas as pd
    >>> t0 = [3.0, 3.5, 2.5, 4.0, 3.0, 3.5, 2.0, 2.5, 3.0, 4.0, 3.5, 2.5]
    >>> t2 = [3.5, 3.5, 3.0, 4.5, 4.0, 4.5, 2.5, 3.5, 3.0, 4.0, 3.5, 3.0]
    >>> scores = pd.DataFrame({"participant_id": [f"p{i}" for i in range(12)] * 2, "wave": ["t0"] * 12 + ["t2"] * 12,
    ...     "case_id": (["a"] * 4 + ["b"] * 4 + ["c"] * 4) * 2, "scale": "trust", "value": t0 + t2})
    >>> row = change_ancova(scores, outcome="trust").iloc[0]
    >>> int(row.n), float(row.df), float(round(row.statistic, 3))
    (12, 2.0, 6.898)
    """
    import statsmodels.api as sm

    require_columns(scores, ("participant_id", "wave", "scale", "value", group), "scores")
    rows = select_outcome(scores, column="scale", outcome=outcome, table="scores")
    rows = rows.loc[rows["wave"].astype(str).isin([before, after])]
    wide = rows.pivot_table(index=["participant_id", group], columns=rows["wave"].astype(str), values="value",
                            aggfunc="first", observed=True).reset_index()
    for wave in (before, after):
        if wave not in wide.columns:
            wide[wave] = np.nan
    complete = wide.dropna(subset=[before, after])
    dropped = len(wide) - len(complete)
    levels = observed_levels(complete[group])
    n, k = len(complete), len(levels)
    labels = dict(analysis="cross_case", case_id="all", group=f"{group}: " + " | ".join(map(str, levels)), outcome=outcome,
                  test="ancova", n=n, effect_name="partial_eta_squared")
    dropped_note = f"{dropped} participant(s) without both scores left out" if dropped else None
    if k < 2 or n - k - 1 < 1:
        why = f"not run: needs two {group} values and more participants than parameters (n = {n}, k = {k})"
        return result_frame([labels | dict(note="; ".join(filter(None, [why, dropped_note])))])
    covariate = complete[before].to_numpy(float)
    dummies = pd.get_dummies(pd.Categorical(complete[group], categories=levels), drop_first=True).to_numpy(float)
    response = complete[after].to_numpy(float)
    full = sm.OLS(response, np.column_stack([np.ones(n), covariate, dummies])).fit()
    reduced = sm.OLS(response, np.column_stack([np.ones(n), covariate])).fit()
    df1, df2 = k - 1, n - k - 1
    ss_case = reduced.ssr - full.ssr
    if full.ssr <= 0:
        return result_frame([labels | dict(note="; ".join(filter(None, ["not run: the model fits perfectly (no residual variance)", dropped_note])))])
    from scipy import stats

    f_value = (ss_case / df1) / (full.ssr / df2)
    p = float(stats.f.sf(f_value, df1, df2))
    eta = ss_case / (ss_case + full.ssr)
    ncp_low, ncp_high = _noncentral_f_limits(f_value, df1, df2)
    total_df = df1 + df2 + 1
    notes = [
        f"ANCOVA {after} ~ {before} + {group}: F of {group} adjusted for {before}, df = {df1}, {df2}",
        f"slope of {before} = {full.params[1]:.3f}",
        "partial eta-squared CI: noncentral F (Steiger 2004)",
        "assumes parallel slopes and normal residuals; Kruskal-Wallis on change scores is the rank-based companion",
        dropped_note,
    ]
    return result_frame([labels | dict(
        statistic=f_value, df=float(df1), p_value=p, effect_size=eta,
        ci_low=ncp_low / (ncp_low + total_df), ci_high=ncp_high / (ncp_high + total_df),
        note="; ".join(filter(None, notes)),
    )])
