"""Missing data: a missingness report per scale and wave, multiple imputation for pre/post change, and a
delta-adjusted (MNAR) sensitivity analysis of the change estimate (issue 17, item 5).

Everything outside the mixed model is complete-case: a participant who dropped out by t2 is left out of the
paired tests. These functions show how much is missing and how far the change estimate depends on it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from ponzoni_eval._core.errors import DataError, require_columns
from ponzoni_eval._core.results import result_frame
from ponzoni_eval._core.vocabulary import WAVES
from ponzoni_eval.stats.common import as_tuple, group_labels, join_notes, scores_wide, split_groups
from ponzoni_eval.stats.constants import CI_LEVEL, DEFAULT_SEED
from ponzoni_eval.stats.power import min_detectable_cached

__all__ = [
    "missingness_report",
    "missingness_patterns",
    "rubin_combine",
    "pre_post_imputed",
    "delta_sensitivity",
]

MISSINGNESS_COLUMNS = ("case_id", "scale", "wave", "n_participants", "n_observed", "n_missing", "share_missing")
PATTERN_COLUMNS = ("case_id", "scale", "pattern", "n")
DEFAULT_IMPUTATIONS = 50
"""Imputations per analysis: with up to ~30% missing, m = 50 keeps the Monte Carlo error of p small (White et al. 2011)."""
DEFAULT_DELTAS = (-1.0, -0.5, -0.25, 0.0, 0.25, 0.5)
"""Shifts (scale points) of the imputed follow-up scores of drop-outs in `delta_sensitivity`."""


# --- missingness report -------------------------------------------------------------------------


def _expected(scores: pd.DataFrame, participants: pd.DataFrame | None, waves: Sequence[str]) -> pd.DataFrame:
    """One row per participant x scale x wave that should have a score (participant_id, case_id, scale, wave, value)."""
    require_columns(scores, ("participant_id", "case_id", "wave", "scale", "value"), "scores")
    scored = scores.loc[scores["wave"].astype(str).isin(waves)].astype({"wave": "str", "scale": "str", "case_id": "str"})
    if participants is None:
        roster = scored[["participant_id", "case_id", "scale"]].drop_duplicates()
    else:
        require_columns(participants, ("participant_id", "case_id"), "participants")
        people = participants[["participant_id", "case_id", *(["role"] if "role" in participants else [])]].astype({"case_id": "str"})
        if "role" in people and "role" in scored:
            asked = scored[["role", "scale"]].astype(str).drop_duplicates()
            roster = people.astype({"role": "str"}).merge(asked, on="role")[["participant_id", "case_id", "scale"]]
        else:
            roster = people.merge(scored[["scale"]].drop_duplicates(), how="cross")[["participant_id", "case_id", "scale"]]
    grid = roster.merge(pd.DataFrame({"wave": list(waves)}), how="cross")
    values = scored.groupby(["participant_id", "scale", "wave"], observed=True)["value"].first().reset_index()
    return grid.merge(values, on=["participant_id", "scale", "wave"], how="left")


def missingness_report(
    scores: pd.DataFrame, participants: pd.DataFrame | None = None, *, waves: Sequence[str] = WAVES
) -> pd.DataFrame:
    """How many scale scores are missing, per case, scale and wave.

    Parameters
    ----------
    scores : DataFrame
        Long scores (`transforms.score_scales`): participant_id, case_id,
        wave, scale, value (and role).
    participants : DataFrame, optional
        The roster (participant_id, case_id, role). When given, every
        participant of a role that answers a scale is expected at every wave,
        so people who never answered are counted as missing; otherwise the
        expected set is everyone with a score on the scale in any wave.
    waves : sequence of str
        Waves to report.

    Returns
    -------
    DataFrame
        ``case_id, scale, wave, n_participants, n_observed, n_missing,
        share_missing``, sorted. A descriptive table, not a test; every count
        is of people, so a published version declares
        ``privacy.CountRules(["n_observed", "n_missing"])``.

    Examples
    --------
    >>> import pandas as pd
    >>> scores = pd.DataFrame({"participant_id": ["a", "b", "a"], "case_id": "c1", "wave": ["t0", "t0", "t2"],
    ...                        "scale": "trust", "value": [3.0, 4.0, 3.5]})
    >>> missingness_report(scores, waves=("t0", "t2"))[["wave", "n_observed", "n_missing"]].to_string(index=False)
    'wave  n_observed  n_missing\\n  t0           2          0\\n  t2           1          1'
    """
    expected = _expected(scores, participants, waves)
    expected["observed"] = expected["value"].notna()
    table = expected.groupby(["case_id", "scale", "wave"], observed=True).agg(
        n_participants=("participant_id", "nunique"), n_observed=("observed", "sum")
    ).reset_index()
    table["n_observed"] = table["n_observed"].astype("int64")
    table["n_participants"] = table["n_participants"].astype("int64")
    table["n_missing"] = table["n_participants"] - table["n_observed"]
    table["share_missing"] = table["n_missing"] / table["n_participants"]
    order = {w: i for i, w in enumerate(waves)}
    table = table.sort_values(["case_id", "scale", "wave"], key=lambda c: c.map(order) if c.name == "wave" else c)
    return table.loc[:, list(MISSINGNESS_COLUMNS)].reset_index(drop=True)


def missingness_patterns(
    scores: pd.DataFrame, participants: pd.DataFrame | None = None, *, waves: Sequence[str] = WAVES
) -> pd.DataFrame:
    """Which waves each participant has, as patterns, counted per case and scale.

    Returns
    -------
    DataFrame
        ``case_id, scale, pattern, n``: ``pattern`` lists the waves in order,
        a wave with a score by its name and a missing one as ``-`` (e.g.
        ``t0 t1 -`` = dropped out after t1; ``t0 - t2`` = intermittent).
        Monotone patterns (drop-out) suit the imputation of
        `pre_post_imputed`; many intermittent ones suggest another mechanism.

    Examples
    --------
    >>> import pandas as pd
    >>> scores = pd.DataFrame({"participant_id": ["a", "b", "a"], "case_id": "c1", "wave": ["t0", "t0", "t2"],
    ...                        "scale": "trust", "value": [3.0, 4.0, 3.5]})
    >>> missingness_patterns(scores, waves=("t0", "t2")).to_string(index=False)
    'case_id scale pattern  n\\n     c1 trust    t0 -  1\\n     c1 trust   t0 t2  1'
    """
    expected = _expected(scores, participants, waves)
    expected["mark"] = np.where(expected["value"].notna(), expected["wave"], "-")
    order = {w: i for i, w in enumerate(waves)}
    expected = expected.sort_values("wave", key=lambda c: c.map(order), kind="stable")
    per_person = expected.groupby(["case_id", "scale", "participant_id"], observed=True)["mark"].agg(" ".join).rename("pattern")
    table = per_person.reset_index().groupby(["case_id", "scale", "pattern"], observed=True).size().rename("n").reset_index()
    table["n"] = table["n"].astype("int64")
    return table.sort_values(["case_id", "scale", "n", "pattern"], ascending=[True, True, False, True]).loc[:, list(PATTERN_COLUMNS)].reset_index(drop=True)


# --- multiple imputation ------------------------------------------------------------------------


def rubin_combine(estimates: Sequence[float], variances: Sequence[float], df_complete: float) -> dict[str, float]:
    """Pool m completed-data estimates by Rubin's rules, with the Barnard-Rubin degrees of freedom.

    Q = mean(q_i), W = mean(u_i), B = var(q_i) (ddof 1), T = W + (1 + 1/m) B;
    lambda = (1 + 1/m) B / T; nu_old = (m - 1) / lambda^2;
    nu_obs = (nu_com + 1) / (nu_com + 3) nu_com (1 - lambda);
    nu = nu_old nu_obs / (nu_old + nu_obs) (Barnard & Rubin 1999; van Buuren 2018, sec. 2.3.6),
    nu = nu_obs when B = 0. Also the fraction of missing information
    fmi = (r + 2 / (nu + 3)) / (r + 1), r = (1 + 1/m) B / W.

    Returns
    -------
    dict
        estimate, se, df, t, p (two-sided), within, between, total, lambda, fmi.
    """
    q = np.asarray(estimates, dtype=float)
    u = np.asarray(variances, dtype=float)
    m = len(q)
    if m < 2:
        raise DataError("Rubin's rules need at least two imputations", found=m, rule="argument")
    estimate, within, between = float(q.mean()), float(u.mean()), float(q.var(ddof=1))
    total = within + (1 + 1 / m) * between
    lam = (1 + 1 / m) * between / total if total > 0 else 0.0
    nu_obs = (df_complete + 1) / (df_complete + 3) * df_complete * (1 - lam)
    nu = nu_obs if lam == 0 else (m - 1) / lam**2 * nu_obs / ((m - 1) / lam**2 + nu_obs)
    se = math.sqrt(total)
    t = estimate / se if se > 0 else float("nan")
    p = float(2 * sps.t.sf(abs(t), nu)) if np.isfinite(t) else float("nan")
    r = (1 + 1 / m) * between / within if within > 0 else float("nan")
    fmi = (r + 2 / (nu + 3)) / (r + 1) if np.isfinite(r) else float("nan")
    return dict(estimate=estimate, se=se, df=float(nu), t=t, p=p, within=within, between=between, total=total, lambda_=lam, fmi=fmi)


def _bayes_regression_draw(x: np.ndarray, y: np.ndarray, x_new: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Imputations of y at x_new under a normal linear model with parameters drawn from their posterior.

    The "norm" method of van Buuren (2018, alg. 3.1; Rubin 1987, p. 167):
    sigma*^2 = RSS / chi2_{n-2}, beta* ~ N(beta_hat, sigma*^2 (X'X)^-1),
    y* = X_new beta* + N(0, sigma*^2).
    """
    design = np.column_stack([np.ones_like(x), x])
    xtx_inv = np.linalg.pinv(design.T @ design)
    beta = xtx_inv @ design.T @ y
    rss = float(np.sum((y - design @ beta) ** 2))
    dof = len(y) - 2
    sigma2 = rss / rng.chisquare(dof) if dof > 0 else 0.0
    beta_draw = rng.multivariate_normal(beta, sigma2 * xtx_inv) if sigma2 > 0 else beta
    new = np.column_stack([np.ones_like(x_new), x_new])
    return new @ beta_draw + rng.normal(0.0, math.sqrt(sigma2), len(x_new))


def _imputed_changes(before: np.ndarray, after: np.ndarray, *, m: int, rng: np.random.Generator, delta: float,
                     bounds: tuple[float, float] | None) -> np.ndarray:
    """m x n change scores with missing scores imputed; imputed follow-up scores are shifted by `delta`."""
    complete = ~np.isnan(before) & ~np.isnan(after)
    no_after = ~np.isnan(before) & np.isnan(after)
    no_before = np.isnan(before) & ~np.isnan(after)
    out = np.empty((m, len(before)))
    for i in range(m):
        b, a = before.copy(), after.copy()
        if no_after.any():
            a[no_after] = _bayes_regression_draw(before[complete], after[complete], before[no_after], rng) + delta
        if no_before.any():
            b[no_before] = _bayes_regression_draw(after[complete], before[complete], after[no_before], rng)
        if bounds is not None:
            a, b = np.clip(a, *bounds), np.clip(b, *bounds)
        out[i] = a - b
    return out


def _change_rows(wide: pd.DataFrame, labels: dict[str, str], *, before: str, after: str, m: int, seed: int, delta: float,
                 bounds: tuple[float, float] | None, test: str, extra_note: str | None) -> dict:
    b = wide[before].to_numpy(float)
    a = wide[after].to_numpy(float)
    usable = ~(np.isnan(a) & np.isnan(b))
    b, a = b[usable], a[usable]
    complete = ~np.isnan(a) & ~np.isnan(b)
    n, n_complete = len(b), int(complete.sum())
    row = dict(labels, test=test, n=n, effect_name="mean_change")
    counts = f"{n} participant(s) with a score in either wave, {n_complete} complete, {n - n_complete} imputed"
    if n_complete < 4:
        return row | dict(note=join_notes(f"not run: {n_complete} complete pair(s), the imputation model needs at least 4", counts))
    rng = np.random.default_rng(seed)
    changes = _imputed_changes(b, a, m=m, rng=rng, delta=delta, bounds=bounds)
    means = changes.mean(axis=1)
    variances = changes.var(axis=1, ddof=1) / n
    pooled = rubin_combine(means, variances, n - 1)
    half = sps.t.ppf(1 - (1 - CI_LEVEL) / 2, pooled["df"]) * pooled["se"]
    sd_change = float(np.sqrt(changes.var(axis=1, ddof=1).mean()))
    return row | dict(
        statistic=pooled["t"], df=pooled["df"], p_value=pooled["p"], effect_size=pooled["estimate"],
        ci_low=pooled["estimate"] - half, ci_high=pooled["estimate"] + half,
        min_detectable=min_detectable_cached(n, test="paired_t") * sd_change,
        note=join_notes(
            f"multiple imputation (normal linear model, parameters drawn from the posterior), m = {m}, seed = {seed}",
            "Rubin's rules, Barnard-Rubin df",
            f"fraction of missing information {pooled['fmi']:.2f}",
            counts,
            extra_note,
            "min_detectable is the mean change (d_z at 80% power x SD of change)",
        ),
    )


def _wide(scores: pd.DataFrame, *, outcome: str, before: str, after: str, by: tuple[str, ...]) -> pd.DataFrame:
    require_columns(scores, ("participant_id", "wave", "scale", "value", *by), "scores")
    for label, wave in (("before", before), ("after", after)):
        if wave not in WAVES:
            raise DataError(f"unknown wave for '{label}'", expected=f"one of {WAVES}", found=wave, rule="argument")
    rows = scores.loc[(scores["scale"].astype(str) == outcome) & scores["wave"].astype(str).isin([before, after])]
    if rows.empty:
        raise DataError(f"no scores of scale {outcome!r} at {before} or {after}", file="scores", column="scale", found=outcome,
                        rule="unknown_outcome")
    # One home for the participant x wave table of a scale, shared with the paired analyses (`common.scores_wide`).
    wide = scores_wide(scores, scales=[outcome], waves=[before, after], by=by, spread="wave")
    return wide


def pre_post_imputed(
    scores: pd.DataFrame,
    *,
    outcome: str,
    before: str = "t0",
    after: str = "t2",
    by: str | Sequence[str] | None = ("case_id", "role"),
    n_imputations: int = DEFAULT_IMPUTATIONS,
    seed: int = DEFAULT_SEED,
    bounds: tuple[float, float] | None = None,
) -> pd.DataFrame:
    """Mean change between two waves per group, with missing scores multiply imputed (missing at random).

    Parameters
    ----------
    scores : DataFrame
        Long scores: participant_id, wave, scale, value and the `by` columns.
        A participant with a score in only one of the two waves is imputed;
        one with neither is left out.
    outcome : str
        The scale.
    before, after : str
        The waves; the change is ``after - before``.
    by : str or sequence of str, default ("case_id", "role")
        Groups analysed (and imputed) separately.
    n_imputations : int, default `DEFAULT_IMPUTATIONS`
        Number of imputations m.
    seed : int
        Seed: the same seed gives the same imputations.
    bounds : (float, float), optional
        Clip imputed scores to the scale range (e.g. (1, 5)).

    Returns
    -------
    DataFrame
        Standard result shape, analysis ``pre_post``, one row per group,
        ``test = "mi_paired_t"``: pooled mean change (``effect_name =
        "mean_change"``) with its 95% CI, t, Barnard-Rubin df and p.

    Notes
    -----
    Imputation model per group: the normal linear regression of the missing
    wave on the observed one, fitted on the complete pairs, with its
    parameters drawn from their posterior before each imputation (the
    "norm" method; Rubin 1987; van Buuren 2018, alg. 3.1), so imputations
    carry the uncertainty of the model. With two variables and no participant
    missing both, no chained iterations are needed (this is what
    statsmodels' MICE or R mice's ``norm`` do for this pattern). Each completed
    data set gives the mean change and its squared standard error; they are
    pooled by Rubin's rules (`rubin_combine`). Valid when drop-out depends
    only on the observed score (MAR); `delta_sensitivity` asks what happens
    when it does not.

    References
    ----------
    Rubin, D. B. (1987). *Multiple imputation for nonresponse in surveys*. Wiley.
    Barnard, J., & Rubin, D. B. (1999). Small-sample degrees of freedom with
    multiple imputation. *Biometrika*, 86, 948-955.
    van Buuren, S. (2018). *Flexible imputation of missing data* (2nd ed.). CRC.
    White, I. R., Royston, P., & Wood, A. M. (2011). Multiple imputation using
    chained equations. *Statistics in Medicine*, 30, 377-399.
    """
    return _by_group(scores, outcome=outcome, before=before, after=after, by=by, m=n_imputations, seed=seed, bounds=bounds,
                     deltas=(0.0,), test="mi_paired_t")


def delta_sensitivity(
    scores: pd.DataFrame,
    *,
    outcome: str,
    before: str = "t0",
    after: str = "t2",
    by: str | Sequence[str] | None = ("case_id", "role"),
    deltas: Sequence[float] = DEFAULT_DELTAS,
    n_imputations: int = DEFAULT_IMPUTATIONS,
    seed: int = DEFAULT_SEED,
    bounds: tuple[float, float] | None = None,
) -> pd.DataFrame:
    """Delta-adjusted (MNAR) sensitivity of the mean change to drop-out: a table over delta values.

    Parameters
    ----------
    scores, outcome, before, after, by, n_imputations, seed, bounds
        As for `pre_post_imputed`.
    deltas : sequence of float, default `DEFAULT_DELTAS`
        Shifts, in scale points, added to every imputed ``after`` score:
        drop-outs are assumed to score delta higher (lower when negative)
        at follow-up than completers with the same baseline.

    Returns
    -------
    DataFrame
        Standard result shape, analysis ``pre_post``, ``test =
        "mi_delta_adjusted"``, one row per group and delta (``group`` ends
        in ``delta=...``); delta = 0 is the MAR analysis of `pre_post_imputed`.
        Read it as a tipping-point table: the delta at which the CI first
        contains 0 says how different drop-outs must be to undo the finding.

    Notes
    -----
    The delta-adjustment (pattern-mixture) approach: impute under MAR as in
    `pre_post_imputed`, then add delta to the imputed follow-up values before
    analysis (van Buuren 2018, sec. 3.8; Carpenter & Kenward 2013, ch. 10;
    Cro et al. 2020). The same seed is used for every delta, so rows differ
    only by delta.

    References
    ----------
    Carpenter, J. R., & Kenward, M. G. (2013). *Multiple imputation and its
    application*. Wiley.
    Cro, S., Morris, T. P., Kenward, M. G., & Carpenter, J. R. (2020).
    Sensitivity analysis for clinical trials with missing continuous outcome
    data using controlled multiple imputation. *Statistics in Medicine*, 39, 2815-2842.
    van Buuren, S. (2018). *Flexible imputation of missing data* (2nd ed.). CRC.
    """
    return _by_group(scores, outcome=outcome, before=before, after=after, by=by, m=n_imputations, seed=seed, bounds=bounds,
                     deltas=tuple(deltas), test="mi_delta_adjusted")


def _by_group(scores, *, outcome, before, after, by, m, seed, bounds, deltas, test) -> pd.DataFrame:
    if m < 2:
        raise DataError("multiple imputation needs at least 2 imputations", found=m, rule="argument")
    by_t = as_tuple(by)
    wide = _wide(scores, outcome=outcome, before=before, after=after, by=by_t)
    rows = []
    for keys, sub in split_groups(wide, by_t):
        for delta in deltas:
            extra = f"{before}->{after}" + (f", delta={delta:g}" if test == "mi_delta_adjusted" else "")
            labels = group_labels("pre_post", keys, outcome, extra)
            delta_note = (f"imputed {after} scores shifted by {delta:g} scale points (delta-adjusted, MNAR sensitivity)"
                          if test == "mi_delta_adjusted" else "assumes missing at random given the observed wave")
            rows.append(_change_rows(sub, labels, before=before, after=after, m=m, seed=seed, delta=delta, bounds=bounds,
                                     test=test, extra_note=delta_note))
    return result_frame(rows)
