"""A proportional-odds (cumulative logit) model for one Likert item, as odds ratios."""

from __future__ import annotations

import warnings
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ponzoni_eval._core.errors import require_columns
from ponzoni_eval._core.results import result_frame
from ponzoni_eval.stats.common import (
    category_text,
    fit_warnings,
    newton_polish,
    not_run_row,
    observed_levels,
    select_outcome,
    Z95,
)

__all__ = [
    "ordinal_model",
]


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
        levels = observed_levels(series)
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
    rows = select_outcome(items, column=item_column, outcome=outcome_item, table="items")
    keep = [c for c in dict.fromkeys(["value", *predictors, *([cluster] if cluster in items.columns else [])])]
    data = rows[keep].dropna()
    n = len(data)
    categories = sorted(data["value"].unique().tolist())
    if len(categories) < 2:
        return not_run_row(analysis, outcome_item, "ordinal_logit", f"not fitted: answers in fewer than two categories ({categories})", n=n)
    notes = ["proportional-odds (cumulative logit) model, ML; proportional-odds assumption not tested"]
    if all(float(c).is_integer() for c in categories):
        gaps = sorted(set(range(int(categories[0]), int(categories[-1]) + 1)) - {int(c) for c in categories})
        if gaps:
            notes.append(f"categories {gaps} not chosen by anyone: no cut-point for them")
    exog, labels, design_notes = _ordinal_design(data, predictors)
    notes.extend(design_notes)
    if exog.shape[1] == 0:
        return not_run_row(analysis, outcome_item, "ordinal_logit", "not fitted: no predictor varies; " + "; ".join(notes), n=n)
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
            return not_run_row(analysis, outcome_item, "ordinal_logit", f"not fitted: {exc}; report a crosstab instead", n=n)
    result = newton_polish(model, result, **{k: v for k, v in fit_kwargs.items() if k not in ("method", "gtol", "maxiter")})
    messages = fit_warnings(caught, result)
    k = exog.shape[1]
    beta = result.params.to_numpy(dtype=float)[:k]
    se = np.asarray(result.bse, dtype=float)[:k]
    converged = bool(result.mle_retvals.get("converged", True))
    if not converged or not np.all(np.isfinite(se)) or np.any(np.abs(beta) > 15):
        reason = "optimizer did not converge" if not converged else "unbounded coefficients (separation?)"
        extra = f" ({' | '.join(messages)})" if messages else ""
        return not_run_row(analysis, outcome_item, "ordinal_logit", f"not fitted: {reason}{extra}; report a crosstab instead", n=n)
    if messages:
        notes.append("warnings: " + " | ".join(messages))
    note = "; ".join(notes)
    z = beta / se
    out = [
        dict(analysis=analysis, case_id="all", group=label, outcome=outcome_item, test="ordinal_logit", n=n,
             statistic=z[i], p_value=2 * stats.norm.sf(abs(z[i])), effect_size=np.exp(beta[i]), effect_name="odds_ratio",
             ci_low=np.exp(beta[i] - Z95 * se[i]), ci_high=np.exp(beta[i] + Z95 * se[i]), note=note)
        for i, label in enumerate(labels)
    ]
    thresholds = model.transform_threshold_params(result.params.to_numpy(dtype=float))[1:-1]
    for j, value in enumerate(thresholds):
        out.append(dict(analysis=analysis, case_id="all", group=f"{category_text(categories[j])}|{category_text(categories[j + 1])}",
                        outcome=outcome_item, test="threshold", n=n, effect_size=value, effect_name="threshold_logit",
                        note=note))
    return result_frame(out)
