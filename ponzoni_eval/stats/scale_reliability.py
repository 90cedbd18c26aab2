"""Reliability of scales: Cronbach's alpha (Feldt CI) and McDonald's omega total per scale and group."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats as sps

from ponzoni_eval._core.errors import DataError
from ponzoni_eval._core.results import result_frame
from ponzoni_eval.stats.common import as_tuple, group_labels, join_notes, split_groups
from ponzoni_eval.stats.constants import CI_LEVEL, DEFAULT_SEED
from ponzoni_eval.stats.transforms import asked_items

__all__ = [
    "reliability",
    "polychoric",
    "polychoric_table",
]


_HEYWOOD_BOUND = 0.005
"""Lower bound of the uniquenesses in the ML factor fit (as R ``factanal``)."""


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
    """McDonald's omega total (model-implied variance) of the unit-weighted sum from a one-factor ML fit."""
    fit = _omega_fit(items)
    return fit["model"], fit["note"]


def _omega_fit(items: np.ndarray) -> dict[str, Any]:
    """One-factor ML fit of an n x k matrix -> omega total with model-implied and observed total variance.

    ``model``: (sum lambda)^2 / ((sum lambda)^2 + sum psi) (the total-score
    variance implied by the model); ``observed``: (sum lambda)^2 / 1'S1 (the
    observed variance of the sum score, as R ``psych::omega``'s omega.tot
    and semTools' ``compRelSEM(obs.var = TRUE)``); both on the covariance metric.
    """
    out: dict[str, Any] = dict(model=float("nan"), observed=float("nan"), note=None, heywood=False)
    sd = items.std(axis=0, ddof=1)
    correlation = np.corrcoef(items, rowvar=False)
    if not np.all(np.isfinite(correlation)) or np.linalg.matrix_rank(correlation) < correlation.shape[0]:
        return out | dict(note="not estimated: the item correlation matrix is singular")
    lam, psi, converged = _one_factor_ml(correlation)
    if not converged:
        return out | dict(note="not estimated: the one-factor ML fit did not converge")
    raw_loadings = lam * sd
    raw_uniqueness = psi * sd**2
    common = raw_loadings.sum() ** 2
    covariance = np.cov(items, rowvar=False, ddof=1)
    notes = []
    heywood = bool(np.any(psi <= _HEYWOOD_BOUND + 1e-6))
    if heywood:
        notes.append("Heywood case (a uniqueness at its 0.005 bound): omega is unreliable")
    if np.any(lam < 0):
        notes.append("an item loads negatively: check reverse coding")
    if items.shape[1] == 3:
        notes.append("3 items: the one-factor model is just identified (fit untestable)")
    return dict(model=float(common / (common + raw_uniqueness.sum())), observed=float(common / covariance.sum()),
                note=join_notes(*notes) or None, heywood=heywood)


def _spearman_brown(items: np.ndarray, level: float = CI_LEVEL) -> tuple[float, float, float]:
    """Spearman-Brown reliability of a 2-item sum, 2r / (1 + r), with the Fisher-z CI of r carried through."""
    n = items.shape[0]
    r = float(np.corrcoef(items, rowvar=False)[0, 1])
    if abs(r) >= 1 or n < 4:
        return 2 * r / (1 + r) if r > -1 else float("nan"), float("nan"), float("nan")
    half = sps.norm.ppf(1 - (1 - level) / 2) / math.sqrt(n - 3)
    low, high = math.tanh(math.atanh(r) - half), math.tanh(math.atanh(r) + half)
    return 2 * r / (1 + r), 2 * low / (1 + low), 2 * high / (1 + high)


def polychoric(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Polychoric correlation of two ordinal variables by two-step maximum likelihood (Olsson 1979).

    Thresholds from the cumulative marginal proportions (Phi^-1), then rho
    maximising sum n_ij log pi_ij(rho), with pi_ij the bivariate standard
    normal probability of cell (i, j) between its thresholds (scipy's
    bivariate normal CDF); bounded scalar search on (-0.9999, 0.9999).
    Counts may be non-integer (weights). Returns (rho, log-likelihood).
    """
    x_levels, x_codes = np.unique(np.asarray(x), return_inverse=True)
    y_levels, y_codes = np.unique(np.asarray(y), return_inverse=True)
    table = np.zeros((len(x_levels), len(y_levels)))
    np.add.at(table, (x_codes, y_codes), 1.0)
    return polychoric_table(table)


def polychoric_table(table: np.ndarray) -> tuple[float, float]:
    """Two-step ML polychoric correlation of an r x c table of counts (see `polychoric`)."""
    table = np.asarray(table, dtype=float)
    if min(table.shape) < 2:
        return float("nan"), float("nan")
    total = table.sum()
    big = 10.0
    a = np.concatenate([[-big], sps.norm.ppf(np.clip(np.cumsum(table.sum(axis=1))[:-1] / total, 1e-12, 1 - 1e-12)), [big]])
    b = np.concatenate([[-big], sps.norm.ppf(np.clip(np.cumsum(table.sum(axis=0))[:-1] / total, 1e-12, 1 - 1e-12)), [big]])
    grid = np.array(np.meshgrid(a, b, indexing="ij")).reshape(2, -1).T

    def cell_probabilities(rho: float) -> np.ndarray:
        cdf = sps.multivariate_normal(mean=[0.0, 0.0], cov=[[1.0, rho], [rho, 1.0]]).cdf(grid).reshape(len(a), len(b))
        return np.clip(cdf[1:, 1:] - cdf[:-1, 1:] - cdf[1:, :-1] + cdf[:-1, :-1], 1e-300, None)

    def negative_loglik(rho: float) -> float:
        return -float((table * np.log(cell_probabilities(rho))).sum())

    fit = optimize.minimize_scalar(negative_loglik, bounds=(-0.9999, 0.9999), method="bounded", options={"xatol": 1e-10})
    return float(fit.x), -float(fit.fun)


def _ordinal_alpha(items: np.ndarray) -> tuple[float, str | None]:
    """Ordinal alpha (Zumbo, Gadermann & Zeisser 2007): standardized alpha of the polychoric correlation matrix."""
    k = items.shape[1]
    matrix = np.eye(k)
    for i in range(k):
        for j in range(i + 1, k):
            matrix[i, j] = matrix[j, i] = polychoric(items[:, i], items[:, j])[0]
    if not np.all(np.isfinite(matrix)):
        return float("nan"), "not estimated: an item has a single category"
    note = None
    if np.linalg.eigvalsh(matrix).min() < 0:
        note = "the polychoric matrix is not positive definite (pairwise estimates)"
    return float(k / (k - 1) * (1 - k / matrix.sum())), note


def reliability(
    responses: pd.DataFrame,
    instrument: pd.DataFrame,
    participants: pd.DataFrame,
    *,
    by: str | Sequence[str] | None = ("case_id", "wave"),
    scales: Sequence[str] | None = None,
    n_boot: int = 0,
    seed: int = DEFAULT_SEED,
    ordinal: bool = False,
    invariance: bool = False,
) -> pd.DataFrame:
    """Internal consistency of each scale per group: alpha (Spearman-Brown for 2 items) and omega total.

    Parameters
    ----------
    responses, instrument, participants : DataFrame
        As for `transforms.score_scales` (items are reverse coded first;
        nominal items are left out).
    by : str or sequence of str, default ("case_id", "wave")
        Groups; any of case_id, role, wave (empty: all responses together).
    scales : sequence of str, optional
        Scales to assess (default: every non-nominal scale).
    n_boot : int, default 0
        Percentile bootstrap resamples of participants for the CIs of both
        omegas (0: no CI; 1000 is a sensible choice, at about 7 ms per
        replicate and group, so it is off by default in reports).
    seed : int
        Seed of the bootstrap.
    ordinal : bool, default False
        Add an ``ordinal_alpha`` row per scale (alpha from polychoric
        correlations; for items with few categories).
    invariance : bool, default False
        Add a ``measurement_invariance`` row per scale that states why
        configural/metric invariance across cases, waves or languages is not
        tested here (see Notes).

    Returns
    -------
    DataFrame
        Standard result shape, analysis ``reliability``, per group and scale:
        a ``cronbach_alpha`` row (effect_size alpha, 95% Feldt CI), or for a
        2-item scale a ``spearman_brown`` row instead; an ``omega_total`` row
        (``effect_name = "omega_total_model_implied"``) and an
        ``omega_total_observed`` row (``effect_name =
        "omega_total_observed_variance"``), with percentile bootstrap CIs when
        ``n_boot > 0``; optionally ``ordinal_alpha`` and
        ``measurement_invariance`` rows. ``n`` is the number of participants
        with every item answered (listwise); ``note`` gives the number of
        items, the participants left out and any Heywood case.

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
    reliability of the unit-weighted sum with the total variance *implied by
    the model* (McDonald 1999; semTools ``compRelSEM(obs.var = FALSE)``):
    ``omega_total``. ``omega_total_observed`` divides the same common variance
    by the *observed* variance of the sum score, 1'S1 (``psych::omega``'s
    omega.tot with one factor; semTools ``compRelSEM(obs.var = TRUE)``, its
    default); the two differ when the model fits imperfectly. With one factor
    omega-hierarchical equals omega total, so it is not reported separately.
    Needs at least 3 items and more participants than items; with 3 items
    the model is just identified (noted). A Heywood case (a uniqueness at the
    0.005 bound) is flagged in ``note``. Bootstrap CI: percentile interval of
    each omega over ``n_boot`` resamples of participants; replicates whose
    fit fails or ends in a Heywood case are kept out and counted in ``note``.

    *Spearman-Brown* for 2-item scales (Eisinga, te Grotenhuis & Pelzer
    2013): rho = 2r / (1 + r) with r the items' Pearson correlation; CI: the
    Fisher-z CI of r carried through the formula. Alpha would understate the
    reliability of two items with unequal variances.

    *Ordinal alpha* (Zumbo, Gadermann & Zeisser 2007): the standardized alpha
    k/(k-1) (1 - k / sum R) of the polychoric correlation matrix R, each
    entry by two-step ML (`polychoric`; Olsson 1979). No CI.

    *Measurement invariance* (configural, metric) needs a multi-group
    confirmatory factor analysis with, as a rule, 100 or more participants
    per group (Meade & Bauer 2007); the study's groups have 10-40, so the
    row only states that reason and the group sizes.

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
    Eisinga, R., te Grotenhuis, M., & Pelzer, B. (2013). The reliability of
    a two-item scale: Pearson, Cronbach, or Spearman-Brown? *International
    Journal of Public Health*, 58, 637-642.
    Olsson, U. (1979). Maximum likelihood estimation of the polychoric
    correlation coefficient. *Psychometrika*, 44, 443-460.
    Zumbo, B. D., Gadermann, A. M., & Zeisser, C. (2007). Ordinal versions of
    coefficients alpha and theta for Likert rating scales. *Journal of
    Modern Applied Statistical Methods*, 6, 21-29.
    Meade, A. W., & Bauer, D. J. (2007). Power and precision in confirmatory
    factor analytic tests of measurement invariance. *Structural Equation
    Modeling*, 14, 611-635.

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
    >>> res[["test", "n", "effect_size", "ci_low", "ci_high"]].iloc[:2].round(4)
                 test   n  effect_size  ci_low  ci_high
    0  cronbach_alpha  15       0.5917  0.1949   0.8398
    1     omega_total  15       0.6386     NaN      NaN
    """
    by_t = as_tuple(by)
    for column in by_t:
        if column not in ("case_id", "role", "wave"):
            raise DataError("reliability groups by case_id, role and/or wave", found=column, rule="argument")
    asked = asked_items(responses, instrument, participants, levels=("ordinal", "interval"), scales=scales)
    asked["wave"] = asked["wave"].astype(str)
    rows: list[dict[str, Any]] = []
    for keys, sub in split_groups(asked, by_t):
        for scale, items in sub.groupby("scale", sort=True):
            labels = group_labels("reliability", keys, str(scale))
            rows += _reliability_rows(items, labels, n_boot=n_boot, seed=seed, ordinal=ordinal, invariance=invariance)
    return result_frame(rows)


def _reliability_rows(items: pd.DataFrame, labels: dict[str, str], *, n_boot: int = 0, seed: int = DEFAULT_SEED,
                      ordinal: bool = False, invariance: bool = False) -> list[dict[str, Any]]:
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
    first_test = "spearman_brown" if k == 2 else "cronbach_alpha"
    alpha_row = dict(labels, test=first_test, n=n, effect_name=first_test)
    omega_row = dict(labels, test="omega_total", n=n, effect_name="omega_total_model_implied")
    observed_row = dict(labels, test="omega_total_observed", n=n, effect_name="omega_total_observed_variance")
    extra: list[dict[str, Any]] = []
    if invariance:
        extra.append(dict(labels, test="measurement_invariance", n=n, note=join_notes(
            "not tested: configural/metric invariance needs a multi-group CFA with about 100+ participants per group "
            f"(Meade & Bauer 2007); this group has {n}", *notes)))
    if k < 2 or n < 3:
        why = f"not estimated: needs at least 2 items and 3 complete participants (has {k} and {n})"
        return [row | dict(note=join_notes(why, *notes)) for row in (alpha_row, omega_row, observed_row)] + extra
    values = complete.to_numpy(float)
    item_sd = values.std(axis=0, ddof=1)
    if values.sum(axis=1).std(ddof=1) == 0 or np.any(item_sd == 0):
        why = "not estimated: an item or the total score does not vary"
        return [row | dict(note=join_notes(why, *notes)) for row in (alpha_row, omega_row, observed_row)] + extra
    if k == 2:
        sb, low, high = _spearman_brown(values)
        alpha_row |= dict(effect_size=sb, ci_low=low, ci_high=high,
                          note=join_notes("Spearman-Brown 2r / (1 + r) for a 2-item scale; CI: Fisher z of r", *notes))
    else:
        alpha, low, high = _cronbach_alpha(values)
        alpha_row |= dict(effect_size=alpha, ci_low=low, ci_high=high, note=join_notes("Feldt (1965) CI", *notes))
    if ordinal:
        if k >= 2:
            value, ordinal_note = _ordinal_alpha(values)
            extra.insert(0, dict(labels, test="ordinal_alpha", n=n, effect_name="ordinal_alpha", effect_size=value,
                                 note=join_notes("alpha of the polychoric correlations (two-step ML), no CI", ordinal_note, *notes)))
    if k < 3 or n <= k:
        why = f"not estimated: a one-factor model needs at least 3 items and more participants than items (has {k} and {n})"
        return [alpha_row, omega_row | dict(note=join_notes(why, *notes)), observed_row | dict(note=join_notes(why, *notes))] + extra
    fit = _omega_fit(values)
    if math.isnan(fit["model"]):
        return [alpha_row, omega_row | dict(note=join_notes(fit["note"], *notes)),
                observed_row | dict(note=join_notes(fit["note"], *notes))] + extra
    ci = {"model": (float("nan"), float("nan")), "observed": (float("nan"), float("nan"))}
    boot_note = "no CI (n_boot = 0)"
    if n_boot > 0:
        rng = np.random.default_rng(seed)
        draws = {"model": [], "observed": []}
        failed = 0
        for _ in range(n_boot):
            replicate = _omega_fit(values[rng.integers(0, n, n)])
            if math.isnan(replicate["model"]) or replicate["heywood"]:
                failed += 1
                continue
            draws["model"].append(replicate["model"])
            draws["observed"].append(replicate["observed"])
        tail = 100 * (1 - CI_LEVEL) / 2
        for key, found in draws.items():
            if len(found) >= 10:
                ci[key] = tuple(float(v) for v in np.percentile(found, [tail, 100 - tail]))
        boot_note = join_notes(f"CI: percentile bootstrap of participants, B = {n_boot}, seed = {seed}",
                               f"{failed} replicate(s) with a failed fit or a Heywood case left out" if failed else None)
    method = "one-factor ML (factanal algorithm), covariance metric"
    omega_row |= dict(effect_size=fit["model"], ci_low=ci["model"][0], ci_high=ci["model"][1],
                      note=join_notes(method, "model-implied total variance", boot_note, fit["note"], *notes))
    observed_row |= dict(effect_size=fit["observed"], ci_low=ci["observed"][0], ci_high=ci["observed"][1],
                         note=join_notes(method, "observed variance of the sum score", boot_note, fit["note"], *notes))
    return [alpha_row, omega_row, observed_row] + extra
