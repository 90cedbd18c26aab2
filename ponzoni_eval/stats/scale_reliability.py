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
from ponzoni_eval.stats.constants import CI_LEVEL
from ponzoni_eval.stats.transforms import asked_items

__all__ = [
    "reliability",
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
    return float(omega), join_notes(*notes) or None


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
        return [alpha_row | dict(note=join_notes(why, *notes)), omega_row | dict(note=join_notes(why, *notes))]
    values = complete.to_numpy(float)
    item_sd = values.std(axis=0, ddof=1)
    if values.sum(axis=1).std(ddof=1) == 0 or np.any(item_sd == 0):
        why = "not estimated: an item or the total score does not vary"
        return [alpha_row | dict(note=join_notes(why, *notes)), omega_row | dict(note=join_notes(why, *notes))]
    alpha, low, high = _cronbach_alpha(values)
    alpha_row |= dict(effect_size=alpha, ci_low=low, ci_high=high, note=join_notes("Feldt (1965) CI", *notes))
    if k < 3 or n <= k:
        why = f"not estimated: a one-factor model needs at least 3 items and more participants than items (has {k} and {n})"
        omega_row |= dict(note=join_notes(why, *notes))
    else:
        omega, omega_note = _omega_total(values)
        method = None if math.isnan(omega) else "one-factor ML (factanal algorithm), covariance metric, no CI"
        omega_row |= dict(effect_size=omega, note=join_notes(method, omega_note, *notes))
    return [alpha_row, omega_row]
