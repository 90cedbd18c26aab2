"""Cross-case comparison: did the cases change by different amounts?

One public function per question, each taking a tidy frame and returning the
standard result shape (`ponzoni_eval.results`):

- `kruskal_dunn`: do change scores (t0 -> t2) differ between cases?
  Kruskal-Wallis with epsilon-squared, then Dunn's pairwise z tests.
- `mixed_model`: a wave x case linear mixed model on scale scores with a
  random intercept per participant; the t0 -> t2 change per case and the
  differences of that change between cases.
- `ordinal_model`: a proportional-odds (cumulative logit) model for one
  Likert item, as odds ratios.
- `marginal_means`: estimated marginal means per case x wave from the mixed
  model, as a tidy frame for trajectory figures (not a test; no result shape).

Samples in these case studies are small (tens of participants per case), so
every function reports what it could and could not estimate in ``note``
instead of raising, and never hides a convergence problem.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .errors import DataError, require_columns
from .results import RESULT_COLUMNS, result_frame, stack_results

__all__ = ["kruskal_dunn", "mixed_model", "marginal_means", "ordinal_model"]

_Z95 = 1.959963984540054  # standard normal 97.5% quantile

# R p.adjust names (as evaluators know them) -> statsmodels multipletests names.
_P_ADJUST = {
    "holm": "holm",
    "bonferroni": "bonferroni",
    "hochberg": "simes-hochberg",
    "bh": "fdr_bh",
    "fdr": "fdr_bh",
    "fdr_bh": "fdr_bh",
    "by": "fdr_by",
    "fdr_by": "fdr_by",
    "sidak": "sidak",
    "holm-sidak": "holm-sidak",
    "none": None,
}


# --- shared helpers -----------------------------------------------------------


def _select_outcome(frame: pd.DataFrame, *, column: str, outcome: str, table: str) -> pd.DataFrame:
    """Rows of one scale/item; an unknown outcome is a user error, named with the choices."""
    selected = frame.loc[frame[column] == outcome]
    if selected.empty:
        available = sorted(pd.unique(frame[column].dropna()).tolist())
        raise DataError(
            f"no rows with {column} = {outcome!r} in the {table} table",
            file=table,
            column=column,
            expected=f"one of {available}",
            found=outcome,
            rule="unknown_outcome",
        )
    return selected


def _adjust(p_values: np.ndarray, method: str) -> np.ndarray:
    """Adjusted p-values as R ``p.adjust`` gives them (Holm is step-down with monotonicity)."""
    from statsmodels.stats.multitest import multipletests

    key = method.lower()
    if key not in _P_ADJUST:
        raise ValueError(f"unknown p_adjust method {method!r}; choose one of {sorted(_P_ADJUST)}")
    p = np.asarray(p_values, dtype=float)
    out = np.full_like(p, np.nan)
    finite = np.isfinite(p)
    if _P_ADJUST[key] is None or not finite.any():
        out[finite] = p[finite]
        return out
    if _P_ADJUST[key] == "holm":
        out[finite] = _holm(p[finite])
        return out
    out[finite] = multipletests(p[finite], method=_P_ADJUST[key])[1]
    return out


def _holm(p: np.ndarray) -> np.ndarray:
    """Holm's step-down adjustment, as R ``p.adjust(p, "holm")`` and statsmodels' ``multipletests``.

    The same arithmetic as statsmodels (sorted p times m, m - 1, ..., 1, running
    maximum, capped at 1), without its ``gc.collect()``, which took 0.3-0.5 s
    per call in a notebook kernel holding figures and tables.
    """
    order = np.argsort(p)
    adjusted = np.maximum.accumulate(p[order] * np.arange(len(p), 0, -1))
    adjusted[adjusted > 1] = 1
    out = np.empty_like(adjusted)
    out[order] = adjusted
    return out


def _levels(series: pd.Series) -> list:
    """Observed levels in their natural order (category order when categorical)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        observed = set(series.dropna().unique())
        return [c for c in series.cat.categories if c in observed]
    return sorted(series.dropna().unique().tolist())


def _not_run(analysis: str, outcome: str, test: str, note: str, *, case_id: str = "all", n: int | None = None) -> pd.DataFrame:
    return result_frame([dict(analysis=analysis, case_id=case_id, outcome=outcome, test=test, n=n, note=note)])


def _formula_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean "this formula does not fit this table" (unknown column, bad syntax)."""
    errors: list[type[BaseException]] = [KeyError, NameError, SyntaxError]
    try:
        from patsy import PatsyError

        errors.append(PatsyError)
    except ImportError:  # formulaic-only installations
        pass
    return tuple(errors)


def fit_warnings(caught: list[warnings.WarningMessage], result: Any = None) -> list[str]:
    """Unique warning messages of a fit, first line each, in the order they were raised.

    When ``result`` is given and converged (after `newton_polish`), the
    optimiser's convergence warnings are left out: they came from the
    quasi-Newton start (whose line search may end in "precision loss" on one
    BLAS kernel and not on another), and Newton confirmed the maximum.
    """
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    resolved = result is not None and bool(result.mle_retvals.get("converged", False))
    seen: dict[str, None] = {}
    for w in caught:
        if resolved and issubclass(w.category, ConvergenceWarning):
            continue
        seen.setdefault(str(w.message).strip().splitlines()[0], None)
    return list(seen)


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
    seed: int = 20170616,
    scale_column: str = "scale",
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
        Bootstrap replicates for the CIs of epsilon-squared and the
        rank-biserial correlations.
    seed : int, default 20170616
        Seed of the bootstrap; the same seed gives the same CIs.
    scale_column : str, default "scale"
        Column that names the scale (``item_id`` for item-level data).

    Returns
    -------
    DataFrame
        Standard result shape (``analysis = "cross_case"``): one row
        ``test = "kruskal_wallis"`` (``statistic`` = H, ``df`` = k - 1,
        ``effect_name = "epsilon_squared"``) and one row ``test = "dunn"`` per
        pair (``group = "A - B"``, ``statistic`` = z, positive when A ranks
        higher, ``p_adjusted`` per ``p_adjust``, ``effect_name =
        "rank_biserial"``). With fewer than two non-empty groups, or when all
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

    between 0 (no group differences in rank) and 1. Its 95% CI is the
    percentile interval of E^2 over ``n_boot`` stratified bootstrap
    replicates (resampling within each group, sizes kept). Because E^2 is
    never negative the interval never contains 0 and is not a test.

    *Dunn's test* (Dunn 1964) compares mean ranks from the joint ranking::

        z_AB = (Rbar_A - Rbar_B) / sqrt((N (N + 1) / 12 - sum(t^3 - t) / (12 (N - 1))) * (1/n_A + 1/n_B))

    with two-sided normal p-values, as ``dunn.test`` and ``FSA::dunnTest``
    (default ``two.sided=TRUE``). Adjusted p-values follow R ``p.adjust``.
    Note that ``dunn.test`` prints Holm-adjusted p-values *without* the
    monotonicity step of ``p.adjust``; ours can therefore be larger than
    ``dunn.test``'s for all but the smallest p-value (never smaller).

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
    rows = _select_outcome(change, column=scale_column, outcome=outcome, table="change")
    rows = rows.loc[rows["value"].notna() & rows[group].notna(), [group, "value"]]
    levels = _levels(rows[group])
    if len(levels) < 2:
        return _not_run(
            analysis, outcome, "kruskal_wallis",
            f"not run: change scores for fewer than two {group} values (found {levels})", n=len(rows),
        )
    values = rows["value"].to_numpy(dtype=float)
    if np.ptp(values) == 0:
        return _not_run(analysis, outcome, "kruskal_wallis", "not run: all change scores are equal", n=len(values))

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
    boot_index = np.concatenate(
        [start + rng.integers(0, size, size=(n_boot, size)) for start, size in zip(starts, group_n)], axis=1
    )
    boot_codes = value_codes[boot_index]
    del boot_index
    pairs_a, pairs_b = np.triu_indices(k, k=1)
    boot_eps, boot_twice_u = _bootstrap_statistics(boot_codes, group_codes, group_n, n_unique, pairs_a, pairs_b)
    eps_ci = np.nanpercentile(boot_eps, [2.5, 97.5]) if np.isfinite(boot_eps).any() else [np.nan, np.nan]

    kw_notes = [
        "tie-corrected H, chi-squared approximation with k - 1 df",
        f"epsilon-squared CI: percentile bootstrap within groups, B = {n_boot}, seed = {seed}",
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
    z = (mean_ranks[pairs_a] - mean_ranks[pairs_b]) / np.sqrt(spread * (1.0 / group_n[pairs_a] + 1.0 / group_n[pairs_b]))
    p_dunn = 2.0 * stats.norm.sf(np.abs(z))
    p_adj = _adjust(p_dunn, p_adjust)

    # Rank-biserial r per pair = 2 U_A / (n_A n_B) - 1, on observed data and bootstrap rows.
    _, observed_twice_u = _bootstrap_statistics(value_codes[None, :], group_codes, group_n, n_unique, pairs_a, pairs_b)
    pair_n = (group_n[pairs_a] * group_n[pairs_b]).astype(float)
    observed = observed_twice_u[0] / pair_n - 1.0
    ci = np.empty((2, len(pairs_a)))
    for block in range(0, len(pairs_a), _PAIRS_PER_BLOCK):  # percentiles a block of pairs at a time (memory)
        columns = slice(block, block + _PAIRS_PER_BLOCK)
        ci[:, columns] = np.percentile(boot_twice_u[:, columns] / pair_n[columns] - 1.0, [2.5, 97.5], axis=0)
    names = np.array([str(level) for level in levels], dtype=object)
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


# --- linear mixed model ----------------------------------------------------------


@dataclass
class _MixedFit:
    """A fitted mixed model plus what a reader must know about the fit."""

    result: Any
    data: pd.DataFrame
    formula: str
    groups: str
    spec: Any  # the formula's design spec, to build design rows for new data
    kept: list[int]  # design columns kept in the fit (empty cells dropped)
    notes: list[str] = field(default_factory=list)
    role_levels: list = field(default_factory=list)
    role_weights: np.ndarray | None = None


def _prepare_mixed(scores, *, outcome, formula, groups, role, scale_column):
    require_columns(scores, (scale_column, "value", groups), "scores")
    data = _select_outcome(scores, column=scale_column, outcome=outcome, table="scores")
    data = data.loc[data["value"].notna() & data[groups].notna()].copy()
    # Unused categories would become all-zero design columns (a singular model).
    for column in data.columns:
        if isinstance(data[column].dtype, pd.CategoricalDtype):
            data[column] = data[column].cat.remove_unused_categories()
    notes: list[str] = []
    role_levels: list = []
    if role:
        if "role" not in data.columns:
            notes.append("role not adjusted for (no role column)")
        elif data["role"].nunique() > 1:
            formula = f"{formula} + C(role)"
            role_levels = _levels(data["role"])
    return data, formula, notes, role_levels


# patsy transforms that learn from the data they see (a mean, quantiles): a design built on the
# distinct covariate rows would differ from one built on all rows, so such formulas use all rows.
_STATEFUL_TRANSFORMS = frozenset({"center", "standardize", "scale", "bs", "cr", "cc", "te"})


@dataclass
class _Design:
    """The fixed-effects design as distinct rows: X = rows[row_of_observation]."""

    rows: np.ndarray  # distinct design rows (C x p)
    names: list[str]
    spec: Any  # patsy DesignInfo of the right-hand side
    row_of: np.ndarray  # per observation: its design row (-1: dropped for a missing covariate)
    y: np.ndarray


def _formula_design(formula: str, data: pd.DataFrame) -> _Design:
    """Evaluate ``lhs ~ rhs`` with patsy, building the right-hand side once per distinct covariate row.

    Scores are repeated measures of a few covariates (case, wave, role), so
    the distinct rows are few (at most cases x waves x roles) however many
    participants there are: 300 cases took 19 s and 0.45 GB as a dense
    N x p matrix, and take milliseconds this way. Formulas with stateful
    transforms (``center(x)`` ...) are built on every row, as before.
    """
    import ast

    import patsy

    if "~" not in formula:
        raise patsy.PatsyError(f"the formula {formula!r} has no '~'")
    lhs, rhs = (part.strip() for part in formula.split("~", 1))
    names = {node.id for node in ast.walk(ast.parse(f"({rhs or '1'})", mode="eval")) if isinstance(node, ast.Name)}
    covariates = [column for column in data.columns if column in names]
    if names & _STATEFUL_TRANSFORMS or not covariates:
        distinct = data.loc[:, covariates].reset_index(drop=True)
        row_of_distinct = np.arange(len(data))
    else:
        keys = data.loc[:, covariates].reset_index(drop=True)
        codes = [pd.factorize(keys[c], use_na_sentinel=True)[0] for c in covariates]
        combined = np.zeros(len(keys), dtype=np.int64)
        for column_codes, column in zip(codes, covariates):
            width = int(column_codes.max()) + 2  # +1 for the missing sentinel (-1 -> 0)
            combined = combined * width + (column_codes + 1)
        _, first, row_of_distinct = np.unique(combined, return_index=True, return_inverse=True)
        distinct = keys.iloc[first].reset_index(drop=True)
    design = patsy.dmatrix(rhs or "1", distinct, return_type="dataframe", NA_action="drop")
    # patsy drops distinct rows with a missing covariate: their observations are left out
    position = np.full(len(distinct), -1, dtype=np.int64)
    position[design.index.to_numpy()] = np.arange(len(design))
    if lhs in data.columns:
        y = data[lhs].to_numpy(dtype=float)
    else:
        y = np.asarray(patsy.dmatrix(f"{lhs} - 1", data, return_type="matrix", NA_action="raise"), dtype=float).ravel()
    return _Design(design.to_numpy(dtype=float), list(design.columns), design.design_info, position[row_of_distinct], y)


@dataclass
class _RandomInterceptResult:
    """What a fitted random-intercept model reports (the attributes statsmodels' MixedLMResults has)."""

    fe_params: pd.Series
    covariance: pd.DataFrame
    cov_re: np.ndarray
    scale: float
    converged: bool
    nobs: int
    gamma: float

    def cov_params(self) -> pd.DataFrame:
        return self.covariance


def _random_intercept_fit(rows: np.ndarray, row_of: np.ndarray, y: np.ndarray, group: np.ndarray, names: list[str],
                          *, reml: bool) -> _RandomInterceptResult:
    """(RE)ML fit of y = X beta + u_group + e, u ~ N(0, tau^2), e ~ N(0, sigma^2), with X = rows[row_of].

    The likelihood is profiled over gamma = tau^2 / sigma^2 and maximised in
    one dimension. With H_i = I + gamma 11' per group of size n_i,
    H_i^-1 = I - w_i 11' with w_i = gamma / (1 + gamma n_i), so everything
    follows from sums per design row and per group:

        A = X'X - S' diag(w) S        (S: group sums of X; A = X'H^-1 X)
        b = X'y - S' (w * s_y),   beta = A^-1 b,   q = y'H^-1 y - b'beta
        ML:   sigma^2 = q / N,       -2 l = N log(2 pi sigma^2) + sum log(1 + gamma n_i) + N
        REML: sigma^2 = q / (N - p), -2 l = (N - p) log(2 pi sigma^2) + sum log(1 + gamma n_i) + log|A| + N - p

    Cov(beta) = sigma^2 A^-1, as ``vcov`` of ``lme4::lmer``.

    The optimum is found as the root of the criterion's derivative, not as a
    minimum of the (flat) criterion itself: a minimiser locates a minimum only
    to about sqrt(machine epsilon) (~1e-8 relative in gamma), which is where
    fits on different CPUs/BLAS kernels parted (~1e-7 in the estimates). With
    v_i = dw_i/dgamma = 1 / (1 + gamma n_i)^2 and r_i = s_y,i - S_i beta (group
    sums of the residuals)::

        dq/dgamma     = -sum v_i r_i^2
        d log|A|      = -tr(A^-1 S' diag(v) S)
        d(-2 l)/dgamma = dof dq/dgamma / q + sum n_i / (1 + gamma n_i) [+ d log|A| for REML]

    (dof = N - p for REML, N for ML). theta = sqrt(gamma) is first searched on
    a coarse grid; the derivative's sign change in the best grid cell is then
    solved by Brent's root finder to a relative tolerance of 4 machine
    epsilons, so the estimate is the same maximum, reached to rounding. When
    the derivative is >= 0 at gamma = 0 with the best grid point there, the
    maximum is on the boundary (gamma = 0, a singular fit). Should the
    derivative not change sign in the cell (it did in no data tried), the
    criterion is minimised there as before (Brent, xatol 1e-10 in theta).
    """
    import scipy.sparse as sparse
    from scipy import linalg, optimize

    n_obs, p = len(y), rows.shape[1]
    n_rows = rows.shape[0]
    group_codes, group_index = np.unique(group, return_inverse=True)
    n_groups = len(group_codes)
    # observation counts and sums per design row, and per (group, design row)
    row_count = np.bincount(row_of, minlength=n_rows).astype(float)
    row_y = np.bincount(row_of, weights=y, minlength=n_rows)
    xtx = rows.T @ (row_count[:, None] * rows)
    xty = rows.T @ row_y
    yty = float(y @ y)
    membership = sparse.csr_matrix((np.ones(n_obs), (group_index, row_of)), shape=(n_groups, n_rows))  # group x design row counts
    group_n = np.bincount(group_index, minlength=n_groups).astype(float)
    group_y = np.bincount(group_index, weights=y, minlength=n_groups)
    sparse_rows = sparse.csr_matrix(rows)

    def pieces(gamma: float):
        w = gamma / (1.0 + gamma * group_n)
        # S = M rows (M: group x design-row counts), so S' diag(w) S = rows' (M' diag(w) M) rows with
        # M' diag(w) M sparse (only design rows that share a group meet), and S' v = rows' (M' v)
        between = (membership.T @ sparse.diags(w) @ membership).tocsr()
        a = xtx - (sparse_rows.T @ (between @ sparse_rows)).toarray()
        b = xty - rows.T @ (membership.T @ (w * group_y))
        c = yty - float(w @ group_y**2)
        return a, b, c, w

    def criterion(gamma: float) -> tuple[float, np.ndarray, float, np.ndarray]:
        a, b, c, _ = pieces(gamma)
        try:
            factor = linalg.cho_factor(a, lower=True, check_finite=True)
        except (linalg.LinAlgError, ValueError):
            return np.inf, np.full(p, np.nan), np.nan, a
        beta = linalg.cho_solve(factor, b)
        q = max(c - float(b @ beta), 1e-300)
        dof = n_obs - p if reml else n_obs
        sigma2 = q / dof
        value = dof * np.log(2 * np.pi * sigma2) + np.sum(np.log1p(gamma * group_n)) + dof
        if reml:
            value += 2.0 * np.sum(np.log(np.diag(factor[0])))
        return float(value), beta, sigma2, a

    def slope(gamma: float) -> float:
        """d(-2 l)/d gamma of the profiled criterion (see the docstring); NaN where A is not positive definite."""
        a, b, c, w = pieces(gamma)
        try:
            factor = linalg.cho_factor(a, lower=True, check_finite=True)
        except (linalg.LinAlgError, ValueError):
            return np.nan
        beta = linalg.cho_solve(factor, b)
        q = max(c - float(b @ beta), 1e-300)
        v = 1.0 / (1.0 + gamma * group_n) ** 2
        resid_sums = group_y - membership @ (rows @ beta)
        dof = n_obs - p if reml else n_obs
        value = -dof * float(v @ resid_sums**2) / q + float(np.sum(group_n / (1.0 + gamma * group_n)))
        if reml:
            weighted = (membership.T @ sparse.diags(v) @ membership).tocsr()
            d_a = (sparse_rows.T @ (weighted @ sparse_rows)).toarray()  # = -dA/dgamma
            value -= float(np.trace(linalg.cho_solve(factor, d_a)))
        return value

    # theta = sqrt(gamma) = tau / sigma, as lme4 parameterises it: a coarse grid, then the root of the
    # criterion's slope in the best grid cell (Brent), to rounding
    grid = np.concatenate([[0.0], np.logspace(-3, 2, 26)])
    values = np.array([criterion(theta**2)[0] for theta in grid])
    best = int(np.argmin(values))
    theta = grid[best]
    # no finite likelihood, or the best theta at the grid's top (the participant variance dwarfs the
    # residual variance: no interior optimum found) -> not converged; otherwise refine around the best
    converged = bool(np.isfinite(values[best])) and best < len(grid) - 1
    if converged:
        low, high = grid[max(best - 1, 0)], grid[best + 1]
        slope_low, slope_high = slope(low**2), slope(high**2)
        if best == 0 and slope_low >= 0:
            theta = 0.0  # the criterion rises from gamma = 0: the maximum is on the boundary
        elif slope_low < 0 < slope_high:
            gamma_root = optimize.brentq(slope, low**2, high**2, xtol=1e-300, rtol=4 * np.finfo(float).eps,
                                         maxiter=500)
            theta = float(np.sqrt(gamma_root))
        else:  # no sign change in the cell: minimise the criterion there, as a fallback
            refined = optimize.minimize_scalar(lambda t: criterion(t**2)[0], bounds=(low, high), method="bounded",
                                               options={"xatol": 1e-10, "maxiter": 500})
            converged = bool(refined.success)
            if converged and refined.fun <= values[best]:
                theta = float(refined.x)
    gamma = theta**2
    value, beta, sigma2, a = criterion(gamma)
    converged = converged and np.isfinite(value)
    covariance = sigma2 * linalg.inv(a) if converged else np.full((p, p), np.nan)
    return _RandomInterceptResult(
        fe_params=pd.Series(beta, index=names),
        covariance=pd.DataFrame(covariance, index=names, columns=names),
        cov_re=np.array([[gamma * sigma2]]),
        scale=float(sigma2),
        converged=converged,
        nobs=n_obs,
        gamma=gamma,
    )


def _fit_mixed(scores, *, outcome, formula, groups, role, reml, scale_column) -> _MixedFit | str:
    """Fit the model; a string return value says why it could not be fitted."""
    data, formula, notes, role_levels = _prepare_mixed(
        scores, outcome=outcome, formula=formula, groups=groups, role=role, scale_column=scale_column
    )
    n_groups = data[groups].nunique()
    if n_groups < 3:
        return f"not fitted: {n_groups} {groups} value(s) with data; a random intercept needs at least 3"
    try:
        design = _formula_design(formula, data)
    except _formula_errors() as exc:
        raise DataError(
            f"the model formula {formula!r} cannot be evaluated on the scores table: {exc}",
            file="scores",
            expected="a formula whose variables are columns of the scores table",
            found=list(data.columns),
            rule="formula",
        ) from exc
    kept_rows = design.row_of >= 0
    if not kept_rows.all():
        notes.append(f"{int((~kept_rows).sum())} observation(s) with a missing covariate left out")
        data = data.loc[kept_rows]
    row_of, y = design.row_of[kept_rows], design.y[kept_rows]
    # A case x wave cell without data gives an all-zero interaction column; drop it
    # so the other cells stay estimable (that cell's contrasts are then skipped).
    used = np.bincount(row_of, minlength=len(design.rows)) > 0
    empty_columns = ~np.any(design.rows[used] != 0, axis=0)
    empty = [name for name, is_empty in zip(design.names, empty_columns) if is_empty]
    if empty:
        notes.append(f"terms without data dropped: {', '.join(empty)}")
    kept = [i for i, is_empty in enumerate(empty_columns) if not is_empty]
    rows = design.rows[:, kept]
    names = [design.names[i] for i in kept]
    if len(kept) >= len(y):
        return f"not fitted: {len(y)} observations for {len(kept)} fixed effects"
    gram = rows.T @ (np.bincount(row_of, minlength=len(rows))[:, None] * rows)
    if np.linalg.matrix_rank(gram, hermitian=True) < len(kept):  # rank(X) = rank(X'X)
        return "not fitted: the fixed-effects design is rank deficient"
    result = _random_intercept_fit(rows, row_of, y, data[groups].to_numpy(), names, reml=reml)
    notes = [f"{'REML' if reml else 'ML'} fit, random intercept per {groups}"] + notes
    if role_levels:
        notes.append("adjusted for role (fixed effect); marginal means average roles by their share of observations")
    if not result.converged:
        notes.append("optimizer did NOT converge: treat estimates with caution")
    if result.gamma <= 1e-6:
        notes.append("singular fit: participant intercept variance estimated at 0 (boundary)")
    role_weights = None
    if role_levels:
        role_weights = data["role"].value_counts(normalize=True).reindex(role_levels).to_numpy(dtype=float)
    return _MixedFit(result, data, formula, groups, design.spec, kept, notes, role_levels, role_weights)


def _design_rows(fit: _MixedFit, grid: pd.DataFrame) -> np.ndarray:
    """Fixed-effects design rows for new data, built with the model's own formula spec."""
    spec = fit.spec
    try:
        import patsy

        if isinstance(spec, patsy.DesignInfo):
            full = np.asarray(patsy.build_design_matrices([spec], grid, return_type="matrix")[0])
            return full[:, fit.kept]
    except ImportError:  # formulaic-only installations
        pass
    return np.asarray(spec.get_model_matrix(grid))[:, fit.kept]


def _cell_contrasts(fit: _MixedFit, cells: pd.DataFrame) -> np.ndarray:
    """Contrast matrix L, one row per cell (``case_id``, ``wave``): EMM = L @ beta, roles averaged by share."""
    cells = cells.loc[:, ["case_id", "wave"]].reset_index(drop=True)
    if not fit.role_levels:
        return _design_rows(fit, cells)
    per_role = [_design_rows(fit, cells.assign(role=level)) for level in fit.role_levels]
    return np.tensordot(fit.role_weights, np.stack(per_role), axes=1)


def _fixed_effects(fit: _MixedFit):
    result = fit.result
    names = list(result.fe_params.index)
    beta = result.fe_params.to_numpy(dtype=float)
    cov = result.cov_params().loc[names, names].to_numpy(dtype=float)
    return names, beta, cov


def _has_case_wave(fit: _MixedFit) -> bool:
    return {"case_id", "wave"} <= set(fit.data.columns) and "case_id" in fit.formula and "wave" in fit.formula


def mixed_model(
    scores: pd.DataFrame,
    *,
    outcome: str,
    formula: str = "value ~ C(wave) * C(case_id)",
    groups: str = "participant_id",
    role: bool = True,
    before: str = "t0",
    after: str = "t2",
    reml: bool = True,
    p_adjust: str = "holm",
    scale_column: str = "scale",
) -> pd.DataFrame:
    """Linear mixed model of a scale score over waves and cases, with case contrasts.

    Fits ``value ~ C(wave) * C(case_id)`` (plus ``C(role)`` when asked and
    present) with a random intercept per participant, and reports the fixed
    effects, the variance components, the ``before -> after`` change per case
    and the differences of that change between cases.

    Parameters
    ----------
    scores : DataFrame
        Scale scores in long format (``transforms.score_scales``):
        ``participant_id, case_id, role, wave, scale, value``.
    outcome : str
        The scale to model (a value of ``scale``).
    formula : str, default "value ~ C(wave) * C(case_id)"
        Fixed-effects formula (patsy syntax) on the rows of that scale.
    groups : str, default "participant_id"
        Column whose values get a random intercept.
    role : bool, default True
        Add ``C(role)`` as a fixed covariate when the rows hold more than one
        role (professionals and migrant-organisation members may differ in
        level; the case contrasts are then adjusted for role).
    before, after : str, default "t0", "t2"
        The waves whose difference is the change of interest.
    reml : bool, default True
        REML (as ``lme4::lmer`` default) or ML.
    p_adjust : str, default "holm"
        Adjustment within each contrast family (the per-case changes; the
        between-case differences), R ``p.adjust`` names.
    scale_column : str, default "scale"
        Column naming the scale.

    Returns
    -------
    DataFrame
        Standard result shape, ``analysis = "cross_case_mixed_model"``:

        - ``test = "fixed_effect"`` per model term (``group`` = term,
          ``effect_name = "b"``, Wald z in ``statistic``);
        - ``test = "variance_component"`` for the participant intercept and
          the residual (``effect_name = "variance"``) and the intraclass
          correlation (``effect_name = "icc"``);
        - ``test = "contrast"``, ``effect_name = "change"``: the model-based
          ``after - before`` change per case (``case_id`` = the case);
        - ``test = "contrast"``, ``effect_name = "change_difference"``:
          change in case A minus change in case B (``case_id = "all"``,
          ``group = "A - B: t0->t2"``).

        ``n`` is the number of observations on model rows and the number
        of participants in the case(s) on contrast rows. Contrast rows
        appear only when the formula uses ``wave`` and ``case_id``; a case
        without data in ``before`` or ``after`` gets a row with a note. When the model cannot be fitted: one row with a note.
        Convergence problems, boundary (singular) fits and optimizer warnings
        are recorded in ``note`` of every row, never raised.

    Raises
    ------
    DataError
        A required column is missing, ``outcome`` is not a scale, or the
        formula names a column the table does not have.

    Notes
    -----
    Model: y_ij = x_ij' beta + u_j + e_ij, u_j ~ N(0, tau^2), e_ij ~ N(0,
    sigma^2), fitted by (RE)ML (REML by default), the model of statsmodels
    ``MixedLM`` with one random intercept. The likelihood is profiled over
    the variance ratio and computed from sums per distinct design row and
    per participant, so it never builds the observations x coefficients
    matrix: 300 sites (900 fixed effects, 90 000 observations) fit in
    seconds, where ``MixedLM`` needs minutes and gigabytes. It reaches the
    same optimum as ``MixedLM`` (fixed effects to 1e-5, a REML
    log-likelihood at least as high; `tests/test_crosscase.py`) and lme4's
    values (`tests/reference`). The variance ratio is solved from the
    criterion's analytic derivative to rounding (Brent's root finder,
    relative tolerance 4 machine epsilons), not by minimising the flat
    criterion (accurate only to ~1e-8), so results agree to ~1e-12 across
    CPUs and BLAS kernels. Missing
    waves are allowed (likelihood-based, valid under missing at random).
    A contrast c = L beta (e.g. change = EMM(after) - EMM(before) for one
    case) has Var(c) = L Cov(beta) L'; tests are Wald z and CIs are
    c +/- 1.96 SE. With few participants per case these are liberal: lme4 +
    lmerTest would use Satterthwaite df. ICC = tau^2 / (tau^2 + sigma^2).
    Marginal means average the role effect with weights equal to each role's
    share of the observations (emmeans ``weights = "proportional"``).

    References
    ----------
    Bates, D., Maechler, M., Bolker, B. & Walker, S. (2015). Fitting linear
    mixed-effects models using lme4. Journal of Statistical Software 67(1).
    Fixed effects, SEs and variance components checked against
    ``lme4::lmer(Weight ~ Time + (1 | Pig), data = dietox)``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> people = pd.DataFrame({"participant_id": [f"p{i}" for i in range(30)],
    ...                        "case_id": np.repeat(["a", "b", "c"], 10)})
    >>> scores = people.merge(pd.DataFrame({"wave": ["t0", "t1", "t2"]}), how="cross")
    >>> gain = scores["case_id"].map({"a": 1.0, "b": 0.5, "c": 0.0}) * scores["wave"].map({"t0": 0, "t1": 0.5, "t2": 1})
    >>> scores = scores.assign(scale="trust", value=3 + gain + rng.normal(0, 0.3, len(scores)))
    >>> res = mixed_model(scores, outcome="trust", role=False)
    >>> change = res[res.effect_name == "change"].set_index("case_id")["effect_size"]
    >>> bool(change["a"] > change["b"] > change["c"])
    True
    """
    analysis = "cross_case_mixed_model"
    fit = _fit_mixed(scores, outcome=outcome, formula=formula, groups=groups, role=role, reml=reml, scale_column=scale_column)
    if isinstance(fit, str):
        return _not_run(analysis, outcome, "fixed_effect", fit)
    result = fit.result
    note = "; ".join(fit.notes)
    n_obs = int(result.nobs)
    n_groups = int(fit.data[groups].nunique())
    note = f"{note}; {n_groups} {groups} values"
    from scipy import stats

    names, beta, cov = _fixed_effects(fit)
    se = np.sqrt(np.diag(cov))
    z = beta / se
    rows: list[dict] = [
        dict(
            analysis=analysis, case_id="all", group=name, outcome=outcome, test="fixed_effect", n=n_obs,
            statistic=z[i], p_value=2 * stats.norm.sf(abs(z[i])), effect_size=beta[i], effect_name="b",
            ci_low=beta[i] - _Z95 * se[i], ci_high=beta[i] + _Z95 * se[i], note=note,
        )
        for i, name in enumerate(names)
    ]
    tau2 = float(np.asarray(result.cov_re)[0, 0])
    sigma2 = float(result.scale)
    for label, value, name in (
        (f"{groups} intercept", tau2, "variance"),
        ("residual", sigma2, "variance"),
        (f"{groups} intercept / total", tau2 / (tau2 + sigma2), "icc"),
    ):
        rows.append(
            dict(analysis=analysis, case_id="all", group=label, outcome=outcome, test="variance_component",
                 n=n_obs, effect_size=value, effect_name=name, note=note)
        )
    if _has_case_wave(fit):
        rows.extend(_change_contrasts(fit, outcome=outcome, before=before, after=after, p_adjust=p_adjust, note=note))
    return result_frame(rows)


def _change_contrasts(fit: _MixedFit, *, outcome, before, after, p_adjust, note) -> list[dict]:
    from scipy import stats

    analysis = "cross_case_mixed_model"
    data = fit.data
    cases = _levels(data["case_id"])
    waves = _levels(data["wave"])
    present = data.groupby(["case_id", "wave"], observed=True).size()
    names, beta, cov = _fixed_effects(fit)
    label = f"{before}->{after}"
    if before not in waves or after not in waves:
        return [dict(analysis=analysis, case_id="all", group=label, outcome=outcome, test="contrast",
                     effect_name="change", note=f"{note}; no change contrast: waves present are {waves}")]
    usable = [c for c in cases if (c, before) in present.index and (c, after) in present.index]
    skipped = [c for c in cases if c not in usable]
    grid = pd.DataFrame({"case_id": usable})
    change_l = _cell_contrasts(fit, grid.assign(wave=after)) - _cell_contrasts(fit, grid.assign(wave=before))
    # Every pair's difference of changes from the changes' own covariance (k x k), not from a
    # (pairs x p) contrast matrix: 300 cases give 44 850 pairs, which as rows of 900 coefficients
    # took 0.3 GB and most of the fit's time.
    change = change_l @ beta
    change_cov = change_l @ cov @ change_l.T
    first, second = np.triu_indices(len(usable), k=1)

    def wald(estimate, variance):
        se = np.sqrt(variance)
        z = estimate / se
        return estimate, se, z, 2 * stats.norm.sf(np.abs(z))

    contrast_note = f"{note}; Wald z from the fixed-effect covariance, p_adjusted: {p_adjust}"
    n_case = data.groupby("case_id", observed=True)[fit.groups].nunique().reindex(usable).to_numpy(dtype=int)
    cases_text = np.array([str(case) for case in usable], dtype=object)
    est, se, z, p = wald(change, np.diag(change_cov))
    frames = [pd.DataFrame(dict(
        analysis=analysis, case_id=cases_text, group=label, outcome=outcome, test="contrast", n=n_case,
        statistic=z, p_value=p, p_adjusted=_adjust(p, p_adjust), effect_size=est, effect_name="change",
        ci_low=est - _Z95 * se, ci_high=est + _Z95 * se, note=contrast_note,
    ))]
    if len(first):
        variance = change_cov[first, first] + change_cov[second, second] - 2 * change_cov[first, second]
        est, se, z, p = wald(change[first] - change[second], variance)
        frames.append(pd.DataFrame(dict(
            analysis=analysis, case_id="all", group=cases_text[first] + " - " + cases_text[second] + f": {label}",
            outcome=outcome, test="contrast", n=n_case[first] + n_case[second], statistic=z, p_value=p,
            p_adjusted=_adjust(p, p_adjust), effect_size=est, effect_name="change_difference",
            ci_low=est - _Z95 * se, ci_high=est + _Z95 * se, note=contrast_note,
        )))
    rows = [record for frame in frames for record in frame.to_dict("records")]
    for case in skipped:
        rows.append(dict(analysis=analysis, case_id=str(case), group=label, outcome=outcome, test="contrast",
                         effect_name="change", note=f"{note}; no change contrast: no data in {before} or {after}"))
    return rows


def marginal_means(
    scores: pd.DataFrame,
    *,
    outcome: str,
    formula: str = "value ~ C(wave) * C(case_id)",
    groups: str = "participant_id",
    role: bool = True,
    reml: bool = True,
    scale_column: str = "scale",
) -> pd.DataFrame:
    """Estimated marginal means per case x wave from the mixed model, for trajectory plots.

    Parameters
    ----------
    scores, outcome, formula, groups, role, reml, scale_column
        As in `mixed_model` (the same model is fitted).

    Returns
    -------
    DataFrame
        One row per case x wave with data: ``case_id, wave, outcome,
        estimate, se, ci_low, ci_high, n`` (observations in the cell) and
        ``note`` (fit method and any fit problem). Empty (with these
        columns) when the model cannot be fitted or has no case/wave terms.

    Notes
    -----
    EMM = L beta with L the design row of the cell (roles averaged by their
    share of the observations); SE = sqrt(L Cov(beta) L'); 95% CI = EMM +/-
    1.96 SE (Wald; liberal with few participants).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(2)
    >>> scores = pd.DataFrame({"participant_id": np.repeat([f"p{i}" for i in range(12)], 2),
    ...                        "case_id": np.repeat(["a", "b"], 12), "wave": ["t0", "t2"] * 12,
    ...                        "scale": "trust"})
    >>> scores["value"] = 3 + (scores.wave == "t2") * 0.5 + rng.normal(0, 0.2, 24)
    >>> emm = marginal_means(scores, outcome="trust", role=False)
    >>> emm[["case_id", "wave"]].values.tolist()
    [['a', 't0'], ['a', 't2'], ['b', 't0'], ['b', 't2']]
    """
    columns = ["case_id", "wave", "outcome", "estimate", "se", "ci_low", "ci_high", "n", "note"]
    fit = _fit_mixed(scores, outcome=outcome, formula=formula, groups=groups, role=role, reml=reml, scale_column=scale_column)
    if isinstance(fit, str) or not _has_case_wave(fit):
        return pd.DataFrame(columns=columns)
    counts = fit.data.groupby(["case_id", "wave"], observed=True).size()
    cells = counts.index.to_frame(index=False)
    contrast_l = _cell_contrasts(fit, cells)
    _, beta, cov = _fixed_effects(fit)
    estimate = contrast_l @ beta
    se = np.sqrt(np.einsum("ij,jk,ik->i", contrast_l, cov, contrast_l))
    return pd.DataFrame(
        {
            "case_id": cells["case_id"].astype(str).to_numpy(),
            "wave": cells["wave"].astype(str).to_numpy(),
            "outcome": outcome,
            "estimate": estimate,
            "se": se,
            "ci_low": estimate - _Z95 * se,
            "ci_high": estimate + _Z95 * se,
            "n": counts.to_numpy(),
            "note": "; ".join(fit.notes),
        },
        columns=columns,
    )


# --- ordinal model --------------------------------------------------------------


def _ordinal_design(data: pd.DataFrame, predictors: Sequence[str]) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Treatment-coded dummies for text/categorical predictors, numeric ones as they are."""
    columns: dict[str, np.ndarray] = {}
    labels: list[str] = []
    notes: list[str] = []
    for predictor in predictors:
        series = data[predictor]
        if pd.api.types.is_numeric_dtype(series) and not isinstance(series.dtype, pd.CategoricalDtype):
            if series.nunique() < 2:
                notes.append(f"{predictor} is constant and was left out")
                continue
            columns[predictor] = series.to_numpy(dtype=float)
            labels.append(f"{predictor} (per unit)")
            continue
        levels = _levels(series)
        if len(levels) < 2:
            notes.append(f"{predictor} has one level ({levels}) and was left out")
            continue
        for level in levels[1:]:
            columns[f"{predictor}={level}"] = (series == level).to_numpy(dtype=float)
            labels.append(f"{predictor}: {level} vs {levels[0]}")
    return pd.DataFrame(columns, index=data.index), labels, notes


_ORDERED_MODEL_CLASS: list[type] = []


def _ordered_model_class() -> type:
    """statsmodels ``OrderedModel`` (logit) with the analytic score and Hessian.

    ``OrderedModel`` differentiates its log-likelihood numerically (finite
    differences, relative error ~1e-6 in the Hessian), so its standard errors
    carried that error, and it changed with the last bits of the linear
    predictor (the BLAS kernel): the SEs of two CPUs differed at 1e-5. The
    model, the likelihood and the parametrisation (coefficients; the first
    cut-point and the logs of the increments) are statsmodels'; only the
    derivatives are exact.

    For an answer in category y, with u = c_y - x'b and l = c_(y-1) - x'b
    (c_-1 = -inf, c_J-1 = +inf), p = F(u) - F(l), g = log p::

        g_u = f(u) / p, g_l = -f(l) / p, f' = f (1 - 2F) for the logistic
        g_uu = f'(u) / p - g_u^2, g_ll = -f'(l) / p - g_l^2, g_ul = -g_u g_l

    and u, l are linear in b and the cut-points; the cut-points are
    c_j = t_0 + sum_(m<=j) exp(t_m), whose second derivatives (exp(t_m) on
    the diagonal) enter through g_u and g_l.
    """
    if _ORDERED_MODEL_CLASS:
        return _ORDERED_MODEL_CLASS[0]
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    class _AnalyticOrderedModel(OrderedModel):
        def _pieces(self, params):
            params = np.asarray(params, dtype=float)
            exog = np.asarray(self.exog, dtype=float)
            k = exog.shape[1]
            n_cuts = self.k_levels - 1
            increments = np.exp(params[k + 1:])
            cut_jac = np.zeros((n_cuts, n_cuts))  # d c_j / d t_m
            cut_jac[:, 0] = 1.0
            for m in range(1, n_cuts):
                cut_jac[m:, m] = increments[m - 1]
            y = np.asarray(self.endog, dtype=int)
            low, upp = self._bounds(params)
            has_upp, has_low = y < n_cuts, y > 0
            # d u / d params and d l / d params: -x for the coefficients, the cut-point's row for the thresholds
            d_upp = np.hstack([-exog, np.where(has_upp[:, None], cut_jac[np.minimum(y, n_cuts - 1)], 0.0)])
            d_low = np.hstack([-exog, np.where(has_low[:, None], cut_jac[np.maximum(y - 1, 0)], 0.0)])
            cdf_u, cdf_l = self.cdf(upp), self.cdf(low)
            pdf_u, pdf_l = self.pdf(upp), self.pdf(low)
            prob = self.prob(low, upp)
            g_u, g_l = pdf_u / prob, -pdf_l / prob
            return k, n_cuts, increments, y, has_upp, has_low, d_upp, d_low, (cdf_u, cdf_l, pdf_u, pdf_l, prob, g_u, g_l)

        def score_obs(self, params):
            *_, d_upp, d_low, (*_, g_u, g_l) = self._pieces(params)
            return g_u[:, None] * d_upp + g_l[:, None] * d_low

        def score(self, params):
            return self.score_obs(params).sum(axis=0)

        def hessian(self, params):
            k, n_cuts, increments, y, has_upp, has_low, d_upp, d_low, pieces = self._pieces(params)
            cdf_u, cdf_l, pdf_u, pdf_l, prob, g_u, g_l = pieces
            g_uu = pdf_u * (1.0 - 2.0 * cdf_u) / prob - g_u**2
            g_ll = -pdf_l * (1.0 - 2.0 * cdf_l) / prob - g_l**2
            g_ul = -g_u * g_l
            hess = (d_upp.T @ (g_uu[:, None] * d_upp) + d_low.T @ (g_ll[:, None] * d_low)
                    + d_upp.T @ (g_ul[:, None] * d_low) + d_low.T @ (g_ul[:, None] * d_upp))
            # second derivatives of the cut-points: d^2 c_j / d t_m^2 = exp(t_m) for 1 <= m <= j
            for m in range(1, n_cuts):
                weight = np.sum(g_u[has_upp & (y >= m)]) + np.sum(g_l[has_low & (y - 1 >= m)])
                hess[k + m, k + m] += increments[m - 1] * weight
            return hess

    _ORDERED_MODEL_CLASS.append(_AnalyticOrderedModel)
    return _AnalyticOrderedModel


def ordinal_model(
    items: pd.DataFrame,
    *,
    outcome_item: str,
    predictors: Sequence[str] = ("wave", "case_id"),
    item_column: str = "item_id",
    cluster: str | None = "participant_id",
) -> pd.DataFrame:
    """Proportional-odds (ordered logit) model for one Likert item.

    Parameters
    ----------
    items : DataFrame
        Item responses in long format (``survey_responses`` joined with
        ``participants``): ``item_id``, ``value`` and the predictor columns.
    outcome_item : str
        The item to model (a value of ``item_column``).
    predictors : sequence of str, default ("wave", "case_id")
        Text/categorical columns enter as treatment-coded dummies against
        their first level (``t0``; the alphabetically first case); numeric
        columns enter linearly.
    item_column : str, default "item_id"
        Column naming the item.
    cluster : str or None, default "participant_id"
        When this column exists and a participant answered more than once
        (several waves), standard errors are cluster-robust by it (sandwich);
        ``None`` gives model-based standard errors (as ``MASS::polr``).

    Returns
    -------
    DataFrame
        Standard result shape, ``analysis = "cross_case_ordinal"``: one row
        per predictor term with ``effect_name = "odds_ratio"`` (OR > 1: higher
        answer categories more likely), Wald z and 95% CI; one row per
        cut-point with ``test = "threshold"`` and ``effect_name =
        "threshold_logit"`` (the logit of P(Y <= j) at all predictors 0; no CI).
        When the model cannot be fitted (fewer than two answer categories, no
        usable predictor, failed optimisation, separation): one row with a
        note saying why; report a crosstab instead.

    Raises
    ------
    DataError
        A required column is missing or ``outcome_item`` is not in ``items``.

    Notes
    -----
    logit P(Y <= j | x) = theta_j - x' beta, fitted by maximum likelihood
    with statsmodels ``OrderedModel`` given its analytic score and Hessian
    (`_ordered_model_class`; statsmodels differentiates numerically): BFGS
    to gtol 1e-8, then Newton steps until a step is below 1e-10, so the
    estimate is at the maximum to rounding and the same on any CPU/BLAS
    kernel. Standard errors come from the exact Hessian (and the exact
    per-answer scores for the cluster-robust sandwich) instead of finite
    differences (error ~1e-6); the parametrisation is that of R
    ``MASS::polr``: exp(beta) is the odds ratio of answering above any
    cut-point. Answer categories are the observed values; categories
    inside the range that nobody chose have no cut-point (the note lists
    them). The proportional-odds assumption is not tested. Quasi-complete
    separation (a predictor level where all answers lie in one extreme
    category) gives unbounded coefficients and is reported as a failed fit.

    References
    ----------
    McCullagh, P. (1980). Regression models for ordinal data. JRSS B 42,
    109-142. Venables, W. N. & Ripley, B. D. (2002). Modern Applied
    Statistics with S (``polr``). Checked against ``MASS::polr(apply ~ pared
    + public + gpa)`` on the UCLA ologit data.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(3)
    >>> wave = np.repeat(["t0", "t2"], 60)
    >>> latent = (wave == "t2") * 1.2 + rng.logistic(size=120)
    >>> items = pd.DataFrame({"item_id": "trust_1", "wave": wave,
    ...                       "value": np.digitize(latent, [-1, 0, 1, 2]) + 1.0})
    >>> res = ordinal_model(items, outcome_item="trust_1", predictors=["wave"])
    >>> res.loc[0, ["group", "effect_name"]].tolist()
    ['wave: t2 vs t0', 'odds_ratio']
    >>> bool(res.loc[0, "effect_size"] > 1)
    True
    """
    from scipy import stats

    analysis = "cross_case_ordinal"
    predictors = list(predictors)
    require_columns(items, (item_column, "value", *predictors), "items")
    rows = _select_outcome(items, column=item_column, outcome=outcome_item, table="items")
    keep = [c for c in dict.fromkeys(["value", *predictors, *([cluster] if cluster in items.columns else [])])]
    data = rows[keep].dropna()
    n = len(data)
    categories = sorted(data["value"].unique().tolist())
    if len(categories) < 2:
        return _not_run(analysis, outcome_item, "ordinal_logit", f"not fitted: answers in fewer than two categories ({categories})", n=n)
    notes = ["proportional-odds (cumulative logit) model, ML; proportional-odds assumption not tested"]
    if all(float(c).is_integer() for c in categories):
        gaps = sorted(set(range(int(categories[0]), int(categories[-1]) + 1)) - {int(c) for c in categories})
        if gaps:
            notes.append(f"categories {gaps} not chosen by anyone: no cut-point for them")
    exog, labels, design_notes = _ordinal_design(data, predictors)
    notes.extend(design_notes)
    if exog.shape[1] == 0:
        return _not_run(analysis, outcome_item, "ordinal_logit", "not fitted: no predictor varies; " + "; ".join(notes), n=n)
    endog = pd.Series(pd.Categorical(data["value"], categories=categories, ordered=True), index=data.index)

    fit_kwargs: dict[str, Any] = dict(method="bfgs", disp=False, maxiter=2000, gtol=1e-8)
    if cluster is not None and cluster in data.columns and data[cluster].duplicated().any():
        fit_kwargs.update(cov_type="cluster", cov_kwds={"groups": pd.factorize(data[cluster])[0]})
        notes.append(f"cluster-robust SEs by {cluster} (repeated answers)")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = _ordered_model_class()(endog, exog, distr="logit")
            result = model.fit(**fit_kwargs)
        except (np.linalg.LinAlgError, ValueError) as exc:
            return _not_run(analysis, outcome_item, "ordinal_logit", f"not fitted: {exc}; report a crosstab instead", n=n)
    result = newton_polish(model, result, **{k: v for k, v in fit_kwargs.items() if k not in ("method", "gtol", "maxiter")})
    messages = fit_warnings(caught, result)
    k = exog.shape[1]
    beta = result.params.to_numpy(dtype=float)[:k]
    se = np.asarray(result.bse, dtype=float)[:k]
    converged = bool(result.mle_retvals.get("converged", True))
    if not converged or not np.all(np.isfinite(se)) or np.any(np.abs(beta) > 15):
        reason = "optimizer did not converge" if not converged else "unbounded coefficients (separation?)"
        extra = f" ({' | '.join(messages)})" if messages else ""
        return _not_run(analysis, outcome_item, "ordinal_logit", f"not fitted: {reason}{extra}; report a crosstab instead", n=n)
    if messages:
        notes.append("warnings: " + " | ".join(messages))
    note = "; ".join(notes)
    z = beta / se
    out = [
        dict(analysis=analysis, case_id="all", group=label, outcome=outcome_item, test="ordinal_logit", n=n,
             statistic=z[i], p_value=2 * stats.norm.sf(abs(z[i])), effect_size=np.exp(beta[i]), effect_name="odds_ratio",
             ci_low=np.exp(beta[i] - _Z95 * se[i]), ci_high=np.exp(beta[i] + _Z95 * se[i]), note=note)
        for i, label in enumerate(labels)
    ]
    thresholds = model.transform_threshold_params(result.params.to_numpy(dtype=float))[1:-1]
    for j, value in enumerate(thresholds):
        out.append(dict(analysis=analysis, case_id="all", group=f"{_fmt(categories[j])}|{_fmt(categories[j + 1])}",
                        outcome=outcome_item, test="threshold", n=n, effect_size=value, effect_name="threshold_logit",
                        note=note))
    return result_frame(out)


def newton_polish(model, result, **fit_kwargs: Any):
    """Newton steps (analytic Hessian) from a quasi-Newton fit until a step is below 1e-10.

    BFGS stops at a gradient tolerance where the estimate is still about
    1e-8 from the maximum, and whether it reports convergence at all depends
    on the last bits of the BLAS kernel: near the optimum a line search can
    end with "precision loss" on one CPU and succeed on another, with the same
    log-likelihood to 12 digits. Newton converges quadratically, so after a
    step below 1e-10 the score is at rounding level on every CPU. The
    polished fit replaces the start when it converged, its log-likelihood is
    at least the start's (to 1e-9 relative) and its standard errors are
    finite; otherwise the start is returned unchanged, with its own
    convergence flag. So BFGS's flag alone never decides: a fit is converged
    when Newton confirms the maximum.

    Parameters
    ----------
    model : statsmodels ``LikelihoodModel``
        The model that was fitted.
    result : statsmodels results
        The fit to start from.
    **fit_kwargs
        Passed on to ``model.fit`` (e.g. ``disp=False``).
    """
    if not np.isfinite(result.llf):
        return result
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        try:
            polished = model.fit(start_params=np.asarray(result.params, dtype=float), method="newton", tol=1e-10,
                                 maxiter=50, **fit_kwargs)
        except (np.linalg.LinAlgError, ValueError):
            return result
    good = (polished.mle_retvals.get("converged", False) and np.isfinite(polished.llf)
            and polished.llf >= result.llf - 1e-9 * abs(result.llf) and np.all(np.isfinite(polished.bse)))
    return polished if good else result


def _fmt(value: Any) -> str:
    """Answer categories as people write them: 3, not 3.0."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
