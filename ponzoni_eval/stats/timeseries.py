"""Interrupted time series of help-seeking: did parents start asking the youth team?

In Zaanstad, parents who had feared being judged began to bring parenting
questions to the youth team once the team supported the migrant
organisations. These functions test that with the monthly counts of
``parenting_question_to_youth_team`` (``transforms.monthly_activity``),
by segmented regression of counts (Lopez Bernal, Cummins & Gasparrini 2017):

- `interrupted_time_series`: per case, the level change and slope change at
  the intervention as rate ratios, with the baseline trend.
- `its_case_differences`: one pooled model with case interactions; do the
  level and slope changes differ between cases?
- `its_trajectories`: fitted values and the counterfactual (no-intervention)
  trajectory with CIs per month and case, for the help-seeking figure.
- `its_sensitivity`: the level change under other model choices (family,
  AR(1), month 0 left out, offset, seasonality) and a placebo break.
- `count_regression`: the count model underneath (quasi-Poisson by default;
  Poisson, NB2, or the old pretest switch on request) for any formula.

Quasi-Poisson (Pearson scale, t on the residual df) is the default because
the calibration study (docs/calibration.md) found it holds its level under
the overdispersion these series have, where Poisson and the pretest-chosen
Poisson/NB2 did not.

All return the standard result shape (`ponzoni_eval._core.results`) except
`its_trajectories`, which returns a tidy frame for plotting.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from ponzoni_eval._core.errors import DataError
from ponzoni_eval._core.results import RESULT_COLUMNS, result_frame, stack_results
from ponzoni_eval.stats.common import MANY_CASES, comparison_mode as _comparison_mode, fit_warnings, formula_errors, newton_polish
from ponzoni_eval.stats.multitest import adjust_p

__all__ = [
    "HELP_SEEKING_EVENT",
    "interrupted_time_series",
    "its_case_differences",
    "its_trajectories",
    "its_sensitivity",
    "count_regression",
    "SENSITIVITY_VARIANTS",
]

HELP_SEEKING_EVENT = "parenting_question_to_youth_team"
"""The event type whose monthly count measures help-seeking."""

MONTHLY_COLUMNS = ("case_id", "event_type", "month", "relative_month", "post", "count")

FAMILIES = ("quasipoisson", "poisson", "negative_binomial", "auto")

_Z95 = 1.959963984540054
_OVERDISPERSION_ALPHA = 0.05  # one-sided level of the Cameron-Trivedi test that switches to NB2
_ITS_TERMS = ("time", "post", "time_since_start")
_MIN_SEGMENT_MONTHS = 3


# --- the count model -------------------------------------------------------------


@dataclass
class _CountFit:
    """A fitted count model, with the evidence for (or the documented reason of) its family."""

    family: str
    params: pd.Series  # regression coefficients (log scale), NB alpha excluded
    cov: pd.DataFrame
    nobs: int
    alpha: float | None
    pearson_dispersion: float
    ct_z: float
    ct_p: float
    pearson_resid: np.ndarray
    notes: list[str] = field(default_factory=list)
    df_resid: float | None = None  # residual df of the t reference (quasi-likelihood fits); None = normal
    rho: float | None = None  # AR(1) working correlation (autocorrelation = "ar1"); latent theta ("latent_ar1")
    sigma2: float | None = None  # latent log-rate variance (autocorrelation = "latent_ar1")

    def family_note(self) -> str:
        evidence = (
            f"Cameron-Trivedi z = {self.ct_z:.2f}, one-sided p = {self.ct_p:.3g}; "
            f"Pearson chi2/df = {self.pearson_dispersion:.2f}"
        )
        if self.family == "negative_binomial":
            return f"negative binomial (NB2, ML alpha = {self.alpha:.3g}); {evidence}"
        if self.family == "quasipoisson":
            return (f"quasi-Poisson (scale = Pearson chi2/df = {self.pearson_dispersion:.2f}; "
                    f"t tests with {self.df_resid:.0f} df); {evidence}")
        if self.family == "quasipoisson_ar1":
            return (f"quasi-Poisson with AR(1) working correlation (rho = {self.rho:.2f}, scale = "
                    f"{self.pearson_dispersion:.2f}; t tests with {self.df_resid:.0f} df); {evidence}")
        if self.family == "quasipoisson_latent_ar1":
            return (f"Poisson coefficients with a latent AR(1) sandwich covariance (Zeger 1988: sigma2 = {self.sigma2:.3g}, "
                    f"theta = {self.rho:.2f}; t tests with {self.df_resid:.0f} df); {evidence}")
        return f"Poisson; {evidence}"


def _cameron_trivedi(y: np.ndarray, mu: np.ndarray) -> tuple[float, float]:
    """Regression test of equidispersion against Var(y) = mu + alpha mu^2 (NB2).

    Auxiliary OLS without intercept of ((y - mu)^2 - y) / mu on mu; the
    t-ratio of the slope is referred to N(0, 1), one-sided (alpha > 0), as
    ``AER::dispersiontest(fit, trafo = 2)``.
    """
    from scipy import stats

    aux = ((y - mu) ** 2 - y) / mu
    slope = float(np.sum(aux * mu) / np.sum(mu**2))
    resid = aux - slope * mu
    dof = max(len(y) - 1, 1)
    se = float(np.sqrt(np.sum(resid**2) / dof / np.sum(mu**2)))
    if se == 0:
        return float("nan"), float("nan")
    z = slope / se
    return z, float(stats.norm.sf(z))


# IRLS stops once a step moves no coefficient by more than 1e-10 (absolute) + 1e-10 (relative). IRLS is
# Newton's method for the canonical log link, so the error after a step that small is of the order of
# its square: the coefficients are at the optimum to rounding. statsmodels' default (deviance change
# < 1e-8) stopped ~1e-5 away before the last step and left the coefficients ~1e-9 (relative) from the
# optimum, enough for another CPU's BLAS kernel to stop elsewhere in the last digits.
_IRLS_TOLERANCE = dict(tol_criterion="params", tol=1e-10, rtol=1e-10, maxiter=200)

AUTOCORRELATION = ("none", "ar1", "latent_ar1")
_RHO_BOUND = 0.95


def _ar1_inverse(n: int, rho: float) -> np.ndarray:
    """Inverse of the n x n AR(1) correlation matrix (tridiagonal)."""
    inverse = np.zeros((n, n))
    idx = np.arange(n)
    inverse[idx, idx] = 1.0 + rho**2
    inverse[0, 0] = inverse[-1, -1] = 1.0
    inverse[idx[:-1], idx[1:]] = inverse[idx[1:], idx[:-1]] = -rho
    return inverse / (1.0 - rho**2)


def _quasi_ar1(x: np.ndarray, y: np.ndarray, offset: np.ndarray, series: np.ndarray, start: np.ndarray):
    """Quasi-Poisson estimating equations with an AR(1) working correlation within each series.

    Liang & Zeger (1986) GEE with V = phi A^(1/2) R(rho) A^(1/2), A = diag(mu),
    R the AR(1) correlation over consecutive months of a series; rho and phi
    are moment estimates from the Pearson residuals r = (y - mu) / sqrt(mu):
    rho = sum r_t r_(t-1) / sum r_t^2 (pairs of consecutive months within a
    series), phi = sum r^2 / (n - p). Fisher scoring until no coefficient
    moves by more than 1e-10. Covariance: the model-based phi (D' V^-1 D)^-1
    (one series is one cluster, so no sandwich). Returns (beta, cov, phi,
    rho, converged).
    """
    n, p = x.shape
    beta = np.asarray(start, dtype=float).copy()
    blocks = [np.flatnonzero(series == s) for s in pd.unique(series)]
    same_next = np.concatenate([(series[1:] == series[:-1])])
    converged = False
    rho, phi = 0.0, 1.0
    for _ in range(100):
        mu = np.exp(x @ beta + offset)
        r = (y - mu) / np.sqrt(mu)
        phi = float(np.sum(r**2) / max(n - p, 1))
        rho = float(np.sum((r[1:] * r[:-1])[same_next]) / np.sum(r**2)) if np.sum(r**2) > 0 else 0.0
        rho = float(np.clip(rho, -_RHO_BOUND, _RHO_BOUND))
        info = np.zeros((p, p))
        score = np.zeros(p)
        for block in blocks:
            xs = x[block] * np.sqrt(mu[block])[:, None]
            inverse = _ar1_inverse(len(block), rho)
            info += xs.T @ inverse @ xs
            score += xs.T @ inverse @ r[block]
        step = np.linalg.solve(info, score)
        beta = beta + step
        if np.all(np.abs(step) <= 1e-10 + 1e-10 * np.abs(beta)):
            converged = True
            break
    return beta, phi * np.linalg.inv(info), phi, rho, converged


def _latent_ar1_cov(x: np.ndarray, y: np.ndarray, mu: np.ndarray, series: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Covariance of Poisson-GLM coefficients under a latent AR(1) log rate (Zeger 1988, parameter-driven model).

    y_t | e_t ~ Poisson(mu_t e_t), E[e_t] = 1, Var(e_t) = sigma2, Corr(e_t, e_s) = theta^|t - s| within
    a series, so Var(y) = V with V_tt = mu_t + sigma2 mu_t^2 and V_ts = sigma2 theta^|t-s| mu_t mu_s
    (Zeger 1988, sec. 2). Moment estimates from the Poisson fit (Zeger 1988, eqs. 2.4-2.5), with the
    residual-df factor n / (n - p): sigma2 = sum((y - mu)^2 - mu) / sum(mu^2) (0 when negative),
    theta = sum (y_t - mu_t)(y_(t-1) - mu_(t-1)) / (sigma2 sum mu_t mu_(t-1)) over consecutive
    months of a series, clipped to [0, 0.95]. The coefficients are the Poisson (independence)
    estimates; their covariance is the sandwich (X'AX)^-1 X'VX (X'AX)^-1, A = diag(mu).
    Returns (cov, sigma2, theta).
    """
    n, p = x.shape
    resid = y - mu
    factor = n / max(n - p, 1)
    sigma2 = max(float(np.sum(resid**2 - mu) / np.sum(mu**2)) * factor, 0.0)
    same = series[1:] == series[:-1]
    theta = 0.0
    if sigma2 > 0 and same.any():
        theta = float(np.sum((resid[1:] * resid[:-1])[same]) / (sigma2 * np.sum((mu[1:] * mu[:-1])[same]))) * factor
        theta = float(np.clip(theta, 0.0, _RHO_BOUND))
    index = np.arange(n)
    lag = np.abs(np.subtract.outer(index, index)).astype(float)
    within = np.equal.outer(series, series)
    v = np.diag(mu) + sigma2 * np.outer(mu, mu) * np.where(within, theta**lag, 0.0)
    bread = np.linalg.inv(x.T @ (x * mu[:, None]))
    return bread @ (x.T @ v @ x) @ bread, sigma2, theta


def _fit_counts(formula: str, data: pd.DataFrame, *, family: str, exposure: np.ndarray | None,
                autocorrelation: str = "none", series: np.ndarray | None = None) -> _CountFit | str:
    """Fit the count model of `count_regression`. A string says why nothing was fitted.

    Poisson by IRLS until a step changes no coefficient by more than about 1e-10
    (`_IRLS_TOLERANCE`; the iteration converges quadratically, so the result
    is at the maximum to rounding and does not depend on the BLAS kernel).
    Quasi-Poisson keeps those coefficients and multiplies their covariance by
    the Pearson chi2/df (R ``glm(family = quasipoisson)``); with
    ``autocorrelation = "ar1"`` the coefficients solve the quasi-likelihood
    equations with an AR(1) working correlation within ``series``
    (`_quasi_ar1`).
    """
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    if family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}, not {family!r}")
    if autocorrelation not in AUTOCORRELATION:
        raise ValueError(f"autocorrelation must be one of {AUTOCORRELATION}, not {autocorrelation!r}")
    if autocorrelation != "none" and family != "quasipoisson":
        raise ValueError(f"autocorrelation = {autocorrelation!r} needs family = 'quasipoisson'")
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            poisson = smf.glm(formula, data, family=sm.families.Poisson(), exposure=exposure).fit(**_IRLS_TOLERANCE)
        except (np.linalg.LinAlgError, ValueError) as exc:
            return f"not fitted: {exc}"
    y = np.asarray(poisson.model.endog, dtype=float)
    mu = np.asarray(poisson.fittedvalues, dtype=float)
    pearson = float(poisson.pearson_chi2 / poisson.df_resid) if poisson.df_resid > 0 else float("nan")
    ct_z, ct_p = _cameron_trivedi(y, mu)
    messages = fit_warnings(caught)

    use_nb = family == "negative_binomial" or (family == "auto" and np.isfinite(ct_p) and ct_p < _OVERDISPERSION_ALPHA)
    if use_nb:
        nb = _fit_nb2(formula, data, exposure=exposure, start=poisson.params, y=y, mu=mu)
        if isinstance(nb, str):
            notes.append(f"{nb}; Poisson kept")
        else:
            result, nb_messages = nb
            params = result.params.drop("alpha")
            cov = result.cov_params().loc[params.index, params.index]
            fitted = np.asarray(result.predict(), dtype=float)
            alpha = float(result.params["alpha"])
            resid = (y - fitted) / np.sqrt(fitted + alpha * fitted**2)
            fit = _CountFit("negative_binomial", params, cov, int(result.nobs), alpha, pearson, ct_z, ct_p, resid, notes)
            if nb_messages:
                notes.append("warnings: " + " | ".join(nb_messages))
            return fit
    if messages:
        notes.append("warnings: " + " | ".join(messages))
    resid = np.asarray(poisson.resid_pearson, dtype=float)
    df_resid = float(poisson.df_resid)
    if family == "quasipoisson" and autocorrelation == "latent_ar1":
        x = np.asarray(poisson.model.exog, dtype=float)
        groups = np.zeros(len(y)) if series is None else np.asarray(series)
        cov, sigma2, theta = _latent_ar1_cov(x, y, mu, groups)
        names = list(poisson.params.index)
        fit = _CountFit("quasipoisson_latent_ar1", poisson.params, pd.DataFrame(cov, index=names, columns=names),
                        int(poisson.nobs), None, pearson, ct_z, ct_p, resid, notes, df_resid=df_resid, rho=theta)
        fit.sigma2 = sigma2
        return fit
    if family == "quasipoisson" and autocorrelation == "ar1":
        x = np.asarray(poisson.model.exog, dtype=float)
        offset = np.log(exposure) if exposure is not None else np.zeros(len(y))
        groups = np.zeros(len(y)) if series is None else np.asarray(series)
        try:
            beta, cov, phi, rho, converged = _quasi_ar1(x, y, offset, groups, poisson.params.to_numpy())
        except np.linalg.LinAlgError as exc:
            return f"not fitted: quasi-Poisson AR(1) ({exc})"
        if not converged:
            return "not fitted: quasi-Poisson AR(1) estimating equations did not converge"
        names = list(poisson.params.index)
        fitted = np.exp(x @ beta + offset)
        return _CountFit("quasipoisson_ar1", pd.Series(beta, index=names), pd.DataFrame(cov, index=names, columns=names),
                         int(poisson.nobs), None, phi, ct_z, ct_p, (y - fitted) / np.sqrt(fitted), notes,
                         df_resid=df_resid, rho=rho)
    if family == "quasipoisson":
        if not (np.isfinite(pearson) and pearson > 0):
            return "not fitted: no residual degrees of freedom for the quasi-Poisson scale"
        return _CountFit("quasipoisson", poisson.params, poisson.cov_params() * pearson, int(poisson.nobs), None,
                         pearson, ct_z, ct_p, resid, notes, df_resid=df_resid)
    return _CountFit("poisson", poisson.params, poisson.cov_params(), int(poisson.nobs), None, pearson, ct_z, ct_p, resid, notes)


def _fit_nb2(formula, data, *, exposure, start, y, mu):
    """NB2 by maximum likelihood (alpha estimated), started from the Poisson fit.

    BFGS (in log alpha, so alpha stays positive) finds the maximum to its
    default gradient tolerance, about 1e-5 of the mean log-likelihood
    gradient; Newton steps with the analytic Hessian, in alpha, then polish
    it until a step moves no parameter by more than 1e-10, which, Newton
    converging quadratically, leaves the score at rounding level (~1e-12):
    the same estimate, but no longer dependent on where BFGS happened to stop
    on this CPU's BLAS kernel. BFGS's own convergence flag does not decide
    (see `ponzoni_eval.stats.common.newton_polish`): on some kernels its line
    search ends with "precision loss" at the same maximum.
    """
    import statsmodels.formula.api as smf

    # Moment estimate of alpha from the Cameron-Trivedi auxiliary regression as a start value.
    alpha_start = max(float(np.sum(((y - mu) ** 2 - y) * mu) / np.sum(mu**3)), 0.05)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = smf.negativebinomial(formula, data, loglike_method="nb2", exposure=exposure)
            result = model.fit(start_params=np.append(np.asarray(start), alpha_start), method="bfgs", maxiter=2000, disp=0)
        except (np.linalg.LinAlgError, ValueError) as exc:
            return f"negative binomial not fitted ({exc})"
    result = newton_polish(model, result, disp=0)  # decides convergence, whatever BFGS's flag said
    alpha = float(result.params["alpha"])
    if not result.mle_retvals.get("converged", False):
        return "negative binomial did not converge"
    if alpha < 1e-6:
        return "negative binomial alpha at the boundary (0)"
    if not np.all(np.isfinite(result.bse)):
        return "negative binomial standard errors not finite"
    return result, fit_warnings(caught, result)


def _wald_rows(fit: _CountFit, names: Sequence[str]):
    """Estimate, SE, z (or t), p for named coefficients (log scale); t with the residual df for quasi fits."""
    from scipy import stats

    beta = fit.params.loc[list(names)].to_numpy(dtype=float)
    se = np.sqrt(np.diag(fit.cov.loc[list(names), list(names)].to_numpy(dtype=float)))
    z = beta / se
    if fit.df_resid is not None:
        return beta, se, z, 2 * stats.t.sf(np.abs(z), fit.df_resid)
    return beta, se, z, 2 * stats.norm.sf(np.abs(z))


def _critical(fit: _CountFit) -> float:
    """The 97.5% quantile of the reference distribution (t with the residual df for quasi fits, else normal)."""
    from scipy import stats

    return float(stats.t.ppf(0.975, fit.df_resid)) if fit.df_resid is not None else _Z95


def count_regression(
    data: pd.DataFrame,
    *,
    formula: str,
    family: str = "quasipoisson",
    exposure: str | None = None,
    analysis: str = "count_regression",
    case_id: str = "all",
) -> pd.DataFrame:
    """Rate ratios from a count regression: quasi-Poisson by default, or Poisson / negative binomial.

    Parameters
    ----------
    data : DataFrame
        One row per unit of observation (e.g. a month) with the count and
        the predictors named in ``formula``.
    formula : str
        Model formula (patsy syntax), e.g. ``"count ~ time + post"``.
    family : {"quasipoisson", "poisson", "negative_binomial", "auto"}, default "quasipoisson"
        ``quasipoisson``: Poisson coefficients, covariance times the Pearson
        chi2/df and t tests with the residual df, as R ``glm(family =
        quasipoisson)``; no pretest decides anything. ``negative_binomial``:
        NB2 by maximum likelihood. ``auto`` (kept for comparison, not
        recommended) fits Poisson and switches to NB2 when the
        Cameron-Trivedi test finds overdispersion (one-sided p < 0.05): that
        pretest misses the modest overdispersion that still makes Poisson
        CIs too narrow (docs/calibration.md).
    exposure : str, optional
        Column with the exposure (e.g. families in the neighbourhood); its
        log enters as an offset, so ratios are ratios of rates per unit.
    analysis, case_id : str
        Labels for the result rows.

    Returns
    -------
    DataFrame
        Standard result shape: one row per coefficient, ``test =
        "rate_ratio"``, ``effect_name = "rate_ratio"`` (``"baseline_rate"``
        for the intercept) with Wald z and 95% CI on the ratio scale; for NB2
        one more row ``test = "dispersion"``, ``effect_name = "nb_alpha"``.
        ``note`` names the family and why it was chosen. One row with a note
        when the model cannot be fitted.

    Raises
    ------
    DataError
        When the formula names columns that ``data`` lacks, or the exposure
        is missing or not positive.

    Notes
    -----
    log E[y] = x' beta (+ log exposure). Poisson assumes Var(y) = E[y];
    quasi-Poisson Var(y) = phi E[y] with phi = Pearson chi2 / (n - p)
    (McCullagh & Nelder 1989, sec. 4.5): the quasi-Poisson SE is the Poisson
    SE times sqrt(phi), the statistic is referred to t(n - p) and the CI is
    exp(beta +/- t(0.975, n - p) SE). The
    Cameron & Trivedi (1990) test regresses ((y - mu)^2 - y) / mu on mu
    (no intercept) using the Poisson fit; a positive slope means Var(y) =
    mu + alpha mu^2. When it is significant (one-sided 5%), the model is
    refitted as NB2 with alpha estimated by maximum likelihood
    (statsmodels ``NegativeBinomial``, as ``MASS::glm.nb``); if that fit
    fails or alpha is estimated at 0, Poisson is kept and the note says so.
    For ``auto``: both fits are driven to the maximum to rounding, not to a loose default
    tolerance, so that another CPU's BLAS kernel gives the same digits:
    Poisson by IRLS until a step moves no coefficient by more than ~1e-10
    (quadratic convergence: the remaining error is ~1e-20), NB2 by BFGS and
    then Newton steps (analytic Hessian) until a step is below 1e-10.
    The Pearson chi-squared / df is reported as a descriptive check
    (values well above 1 mean overdispersion). Rate ratios are exp(beta),
    CIs exp(beta +/- 1.96 SE).

    References
    ----------
    McCullagh, P. & Nelder, J. A. (1989). Generalized Linear Models (2nd ed.).
    Chapman & Hall.
    Cameron, A. C. & Trivedi, P. K. (1990). Regression-based tests for
    overdispersion in the Poisson model. Journal of Econometrics 46, 347-364.
    Hilbe, J. M. (2011). Negative Binomial Regression (2nd ed.). Cambridge.
    Checked against R ``glm(..., family = poisson)`` (Dobson 1990, the
    example of ``?glm``) and ``MASS::glm.nb`` (RAND HIE data).

    Examples
    --------
    Dobson (1990, p. 93), the example of R ``?glm``:

    >>> import pandas as pd
    >>> dobson = pd.DataFrame({"counts": [18, 17, 15, 20, 10, 20, 25, 13, 12],
    ...                        "outcome": ["1", "2", "3"] * 3, "treatment": list("111222333")})
    >>> res = count_regression(dobson, formula="counts ~ outcome + treatment", family="poisson")
    >>> row = res.set_index("group").loc["outcome[T.2]"]
    >>> float(round(row.effect_size, 4)), float(round(row.statistic, 3))  # R: exp(-0.4543), z = -2.247
    (0.6349, -2.247)
    """
    offset = _exposure(data, exposure, table="data")
    fit = _fit_or_error(formula, data, family=family, exposure=offset, table="data")
    outcome = formula.split("~")[0].strip()
    if isinstance(fit, str):
        return result_frame([dict(analysis=analysis, case_id=case_id, outcome=outcome, test="rate_ratio", n=len(data), note=fit)])
    note = "; ".join([fit.family_note(), *fit.notes])
    names = list(fit.params.index)
    beta, se, z, p = _wald_rows(fit, names)
    crit = _critical(fit)
    rows = [
        dict(analysis=analysis, case_id=case_id, group=name, outcome=outcome, test="rate_ratio", n=fit.nobs,
             statistic=z[i], df=fit.df_resid, p_value=p[i], effect_size=np.exp(beta[i]),
             effect_name="baseline_rate" if name == "Intercept" else "rate_ratio",
             ci_low=np.exp(beta[i] - crit * se[i]), ci_high=np.exp(beta[i] + crit * se[i]), note=note)
        for i, name in enumerate(names)
    ]
    if fit.alpha is not None:
        rows.append(dict(analysis=analysis, case_id=case_id, group="alpha", outcome=outcome, test="dispersion",
                         n=fit.nobs, effect_size=fit.alpha, effect_name="nb_alpha", note=note))
    return result_frame(rows)


def _fit_or_error(formula, data, *, family, exposure, table):
    try:
        return _fit_counts(formula, data, family=family, exposure=exposure)
    except formula_errors() as exc:
        raise DataError(
            f"the formula {formula!r} cannot be evaluated on the {table} table: {exc}",
            file=table, expected="a formula whose variables are columns of the table", found=list(data.columns),
            rule="formula",
        ) from exc


def _exposure(data: pd.DataFrame, exposure: str | None, *, table: str) -> np.ndarray | None:
    if exposure is None:
        return None
    if exposure not in data.columns:
        raise DataError(f"exposure column {exposure!r} not found", file=table, column=exposure,
                        expected="a column with positive exposure values", found=list(data.columns), rule="required_column")
    values = pd.to_numeric(data[exposure], errors="coerce").to_numpy(dtype=float)
    bad = ~(np.isfinite(values) & (values > 0))
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise DataError(f"exposure must be positive for every row", file=table, column=exposure,
                        expected="a positive number", found=data[exposure].iloc[first], rule="positive")
    return values


# --- the ITS design -------------------------------------------------------------------


def _validate_monthly(monthly: pd.DataFrame, event_type: str) -> pd.DataFrame:
    missing = [c for c in MONTHLY_COLUMNS if c not in monthly.columns]
    if missing:
        raise DataError(
            f"the monthly table lacks column(s) {', '.join(repr(c) for c in missing)}",
            file="monthly", column=missing[0], expected=f"columns {list(MONTHLY_COLUMNS)}", found=list(monthly.columns),
            rule="required_column",
        )
    rows = monthly.loc[monthly["event_type"] == event_type].copy()
    if rows.empty:
        raise DataError(
            f"no monthly counts for event_type {event_type!r}", file="monthly", column="event_type",
            expected=f"one of {sorted(pd.unique(monthly['event_type'].dropna()).tolist())}", found=event_type,
            rule="unknown_outcome",
        )
    count = pd.to_numeric(rows["count"], errors="coerce")
    bad = count.isna() | (count < 0) | (count % 1 != 0)
    if bad.any():
        where = rows.loc[bad].iloc[0]
        raise DataError(
            f"counts must be whole numbers >= 0 (case {where['case_id']}, month {where['month']})",
            file="monthly", column="count", expected="an integer >= 0", found=where["count"], rule="count",
        )
    post = pd.to_numeric(rows["post"], errors="coerce")
    if not post.isin([0, 1]).all():
        where = rows.loc[~post.isin([0, 1])].iloc[0]
        raise DataError(
            f"post must be 0 (before the intervention) or 1 (from its start) (case {where['case_id']}, month {where['month']})",
            file="monthly", column="post", expected="0 or 1", found=where["post"], rule="in_set",
        )
    relative = pd.to_numeric(rows["relative_month"], errors="coerce")
    bad = relative.isna() | (relative % 1 != 0)
    if bad.any():
        where = rows.loc[bad].iloc[0]
        raise DataError(
            f"relative_month must be a whole number of months (case {where['case_id']}, month {where['month']})",
            file="monthly", column="relative_month", expected="an integer (0 = intervention month)",
            found=where["relative_month"], rule="integer",
        )
    inconsistent = post != (relative >= 0).astype(int)
    if inconsistent.any():
        where = rows.loc[inconsistent].iloc[0]
        raise DataError(
            f"post disagrees with relative_month (case {where['case_id']}, month {where['month']})",
            file="monthly", column="post", expected="post = 1 exactly when relative_month >= 0",
            found=f"post = {where['post']}, relative_month = {where['relative_month']}", rule="consistent",
        )
    duplicated = rows.duplicated(["case_id", "month"])
    if duplicated.any():
        where = rows.loc[duplicated].iloc[0]
        raise DataError(
            f"more than one {event_type} count for case {where['case_id']} in month {where['month']}",
            file="monthly", column="month", expected="one row per case and month", found=where["month"], rule="unique",
        )
    rows["count"] = count.astype(float)
    rows["post"] = post.astype(int)
    rows["relative_month"] = relative.astype(int)
    rows["case_id"] = rows["case_id"].astype(str)
    return rows.sort_values(["case_id", "relative_month"], kind="stable").reset_index(drop=True)


def _its_design(rows: pd.DataFrame) -> pd.DataFrame:
    """Add the segmented-regression terms, per case.

    time: months since the case's first month (0, 1, ...); post: 0/1;
    time_since_start: months since the intervention month during post (0 in
    that month), 0 before.
    """
    first = rows.groupby("case_id")["relative_month"].transform("min")
    return rows.assign(
        time=(rows["relative_month"] - first).astype(float),
        time_since_start=(rows["relative_month"] * rows["post"]).clip(lower=0).astype(float),
    )


def _segment_problem(rows: pd.DataFrame) -> str | None:
    n_pre = int((rows["post"] == 0).sum())
    n_post = int((rows["post"] == 1).sum())
    if n_pre < _MIN_SEGMENT_MONTHS or n_post < _MIN_SEGMENT_MONTHS:
        return f"not run: {n_pre} months before and {n_post} after the intervention; at least {_MIN_SEGMENT_MONTHS} each needed"
    if rows["count"].sum() == 0:
        return "not run: no events in any month"
    return None


def _autocorrelation_note(fit: _CountFit) -> str:
    """Durbin-Watson and Ljung-Box on the Pearson residuals in month order."""
    from statsmodels.stats.diagnostic import acorr_ljungbox
    from statsmodels.stats.stattools import durbin_watson

    resid = fit.pearson_resid
    lag = max(1, min(6, len(resid) // 4))
    lb = acorr_ljungbox(resid, lags=[lag])
    return (
        f"residual autocorrelation: Durbin-Watson = {durbin_watson(resid):.2f}, "
        f"Ljung-Box({lag}) p = {float(lb['lb_pvalue'].iloc[0]):.3g}"
    )


_ITS_FORMULA = "count ~ time + post + time_since_start"
_FOURIER_PERIOD = 12.0


@dataclass(frozen=True)
class _ItsOptions:
    """How the segmented regression is fitted (see `interrupted_time_series`)."""

    family: str = "quasipoisson"
    exposure: str | None = None
    autocorrelation: str = "none"
    phase_in: int = 0
    seasonality: int = 0

    def __post_init__(self):
        if self.family not in FAMILIES:
            raise ValueError(f"family must be one of {FAMILIES}, not {self.family!r}")
        if self.autocorrelation not in AUTOCORRELATION:
            raise ValueError(f"autocorrelation must be one of {AUTOCORRELATION}, not {self.autocorrelation!r}")
        if self.autocorrelation != "none" and self.family != "quasipoisson":
            raise ValueError(f"autocorrelation = {self.autocorrelation!r} needs family = 'quasipoisson'")
        for name in ("phase_in", "seasonality"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise ValueError(f"{name} must be a whole number >= 0, not {value!r}")
        if self.seasonality > 6:
            raise ValueError(f"seasonality is the number of Fourier pairs of a 12-month period (0..6), not {self.seasonality}")

    def terms(self) -> list[str]:
        seasonal = [f"{kind}{k}" for k in range(1, self.seasonality + 1) for kind in ("season_sin", "season_cos")]
        return ["time", "post", "time_since_start", *seasonal]

    def describe(self) -> str:
        parts = []
        if self.phase_in:
            parts.append(f"months 0..{self.phase_in - 1} after the start left out (phase-in)")
        if self.seasonality:
            parts.append(f"seasonality: {self.seasonality} Fourier pair(s) of a 12-month period")
        if self.exposure:
            parts.append(f"offset: log {self.exposure}")
        return "; ".join(parts)


def _prepared(rows: pd.DataFrame, options: _ItsOptions) -> pd.DataFrame:
    """The design rows after the phase-in exclusion, with the Fourier terms."""
    if options.phase_in:
        rows = rows.loc[~rows["relative_month"].between(0, options.phase_in - 1)]
    if options.seasonality:
        calendar = pd.to_datetime(rows["month"]).dt.month.to_numpy(dtype=float)
        angle = 2 * np.pi * calendar / _FOURIER_PERIOD
        rows = rows.assign(**{
            f"{kind}{k}": (np.sin if kind == "season_sin" else np.cos)(k * angle)
            for k in range(1, options.seasonality + 1) for kind in ("season_sin", "season_cos")
        })
        if options.seasonality == 6:  # sin(6 * angle) is 0 in every month: the last pair is a cosine only
            rows = rows.drop(columns="season_sin6")
    return rows.reset_index(drop=True)


def _formula(options: _ItsOptions, *, pooled: bool = False) -> str:
    """The segmented-regression formula: the ITS terms (times case for the pooled model), then the Fourier terms."""
    seasonal = [t for t in options.terms()[len(_ITS_TERMS):] if t != "season_sin6"]
    its = "(time + post + time_since_start) * C(case_id)" if pooled else "time + post + time_since_start"
    return "count ~ " + " + ".join([its, *seasonal])


def _fit_its(rows: pd.DataFrame, options: _ItsOptions, *, pooled: bool = False) -> _CountFit | str:
    """The count model of the ITS design rows (one case, or the pooled cases): exposure, family and autocorrelation of `options`."""
    offset = _exposure(rows, options.exposure, table="monthly")
    return _fit_counts(_formula(options, pooled=pooled), rows, family=options.family, exposure=offset,
                       autocorrelation=options.autocorrelation, series=rows["case_id"].to_numpy())


def _fit_case(rows: pd.DataFrame, options: _ItsOptions) -> _CountFit | str:
    problem = _segment_problem(rows)
    if problem:
        return problem
    fit = _fit_its(rows, options)
    if isinstance(fit, str):
        return fit
    beta, se, _, _ = _wald_rows(fit, list(_ITS_TERMS))
    if not np.all(np.isfinite(se)) or np.any(np.abs(beta) > 20):
        return "not run: unbounded estimates (all counts zero in one segment?)"
    return fit


def _placebo_design(rows: pd.DataFrame) -> pd.DataFrame:
    """The pre-intervention months only, with a fake start halfway (a placebo break)."""
    before = rows.loc[rows["post"] == 0]
    if before.empty:
        return before
    fake = int(before["relative_month"].min() + len(before) // 2)
    relative = before["relative_month"] - fake
    post = (relative >= 0).astype(int)
    return before.assign(relative_month=relative, post=post, time_since_start=(relative * post).clip(lower=0).astype(float))


def interrupted_time_series(
    monthly: pd.DataFrame,
    *,
    event_type: str = HELP_SEEKING_EVENT,
    family: str = "quasipoisson",
    exposure: str | None = None,
    autocorrelation: str = "none",
    phase_in: int = 0,
    seasonality: int = 0,
    placebo: bool = False,
) -> pd.DataFrame:
    """Did help-seeking jump or speed up when the collaboration started? Per case.

    Segmented regression of monthly counts, ``count ~ time + post +
    time_since_start``, by quasi-Poisson regression (default), for each
    case separately.

    Parameters
    ----------
    monthly : DataFrame
        Monthly activity (``transforms.monthly_activity``): ``case_id,
        event_type, month, relative_month, post, count``, zero-filled.
    event_type : str, default "parenting_question_to_youth_team"
        The series to analyse.
    family : {"quasipoisson", "poisson", "negative_binomial", "auto"}, default "quasipoisson"
        See `count_regression`. Quasi-Poisson (scale = Pearson chi2/df, t
        tests with the residual df) whatever a pretest says.
    exposure : str, optional
        Column of ``monthly`` with a positive exposure per month (e.g. days
        in the month, or families in the area); its log is an offset, so
        the rate ratios are ratios of rates per unit of exposure.
    autocorrelation : {"none", "ar1", "latent_ar1"}, default "none"
        ``ar1``: quasi-Poisson estimating equations with an AR(1) working
        correlation over the months (`_quasi_ar1`; needs ``family =
        "quasipoisson"``), for series whose residuals are autocorrelated.
        ``latent_ar1``: Poisson coefficients with the sandwich covariance of
        Zeger's (1988) parameter-driven model, a latent AR(1) log rate
        (`_latent_ar1_cov`), t tests with the residual df. Calibration at
        48 months (docs/calibration.md): neither option restores the
        nominal level under a latent AR(1) of 0.5; the default stays
        ``none``.
    phase_in : int, default 0
        Leave out the first ``phase_in`` months from the start (months 0 ..
        phase_in - 1), when the intervention needs time to take effect; the
        level change is still the change at month 0 extrapolated along the
        post-start trend.
    seasonality : int, default 0
        Number of Fourier pairs sin/cos(2 pi k m / 12), k = 1..K, of the
        calendar month m added to the model (0 = none).
    placebo : bool, default False
        Add per case a placebo test: the same model fitted to the months
        before the start only, with a fake start halfway (``test =
        "its_placebo_level_change"``); a clear "effect" there means the
        model does not describe the pre-period well.

    Returns
    -------
    DataFrame
        Standard result shape, ``analysis = "help_seeking_its"``, three rows
        per case: ``test = "its_level_change"`` (``effect_name =
        "rate_ratio_level"``), ``"its_slope_change"`` (``"rate_ratio_slope"``)
        and ``"its_baseline_trend"`` (``"rate_ratio_trend"``), each with Wald
        z, p and 95% CI on the ratio scale. ``n`` = number of months. ``note``
        gives the family and why, and residual autocorrelation checks. A
        case with too few months before or after (fewer than 3) or without
        any event gets one row with a note.

    Raises
    ------
    DataError
        A required column is missing, the event type is absent, or counts /
        ``post`` are invalid (names the case and month).

    Notes
    -----
    Model (Lopez Bernal et al. 2017; Wagner et al. 2002)::

        log E[count_t] = b0 + b1 time_t + b2 post_t + b3 time_since_start_t

    with time = months since the first month of the case's series,
    post = 1 from the intervention month (``relative_month`` 0) on, and
    time_since_start = ``relative_month`` during post (0 in the
    intervention month), else 0. Then

    - exp(b2), rate_ratio_level: the count in the intervention month relative
      to the pre-intervention trend extrapolated to that month (immediate
      change);
    - exp(b3), rate_ratio_slope: how much the month-on-month ratio changed
      after the start (1 = no change in trend);
    - exp(b1), rate_ratio_trend: the month-on-month ratio before.

    Assumptions: a log-linear trend within each segment, no other change at
    the same time, Var(count) = phi E[count] (quasi-Poisson), months
    independent given the trend unless ``autocorrelation = "ar1"``. The note
    reports the Durbin-Watson statistic (about 2 when residuals are
    uncorrelated) and a Ljung-Box test on the Pearson residuals in month
    order. Seasonality is optional (series of two or three years separate it
    poorly); `its_sensitivity` shows how much the level change depends on
    these choices. The type-I error and CI coverage of the level and slope
    changes under overdispersion and AR(1) are in docs/calibration.md.

    References
    ----------
    Lopez Bernal, J., Cummins, S. & Gasparrini, A. (2017). Interrupted time
    series regression for the evaluation of public health interventions:
    a tutorial. International Journal of Epidemiology 46(1), 348-355.
    Wagner, A. K., Soumerai, S. B., Zhang, F. & Ross-Degnan, D. (2002).
    Segmented regression analysis of interrupted time series studies in
    medication use research. J Clin Pharm Ther 27, 299-309.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(4)
    >>> rel = np.arange(-12, 12)
    >>> monthly = pd.DataFrame({"case_id": "a", "event_type": "parenting_question_to_youth_team",
    ...     "month": pd.date_range("2015-01-01", periods=24, freq="MS"), "relative_month": rel,
    ...     "post": (rel >= 0).astype(int), "count": rng.poisson(np.where(rel >= 0, 10.0, 5.0))})
    >>> res = interrupted_time_series(monthly)
    >>> res["effect_name"].tolist()
    ['rate_ratio_level', 'rate_ratio_slope', 'rate_ratio_trend']
    >>> bool(1.3 < res.loc[0, "effect_size"] < 3)
    True
    """
    options = _ItsOptions(family, exposure, autocorrelation, phase_in, seasonality)
    rows = _its_design(_validate_monthly(monthly, event_type))
    out: list[dict] = []
    for case, case_rows in rows.groupby("case_id", sort=True):
        out += _its_case_rows(case, _prepared(case_rows, options), options, event_type)
        if placebo:
            out += _its_case_rows(case, _prepared(_placebo_design(case_rows), options), options, event_type,
                                  placebo=True)
    return result_frame(out)


_ITS_LABELS = (
    ("post", "its_level_change", "rate_ratio_level", "level change at the start"),
    ("time_since_start", "its_slope_change", "rate_ratio_slope", "change in monthly trend"),
    ("time", "its_baseline_trend", "rate_ratio_trend", "monthly trend before"),
)


def _its_case_rows(case, case_rows: pd.DataFrame, options: _ItsOptions, event_type: str, *,
                   placebo: bool = False, variant: str | None = None) -> list[dict]:
    analysis = "help_seeking_its"
    n_months = len(case_rows)
    labels = _ITS_LABELS[:1] if placebo or variant else _ITS_LABELS
    prefix = "its_placebo_" if placebo else "its_"
    fit = _fit_case(case_rows, options)
    if isinstance(fit, str):
        return [dict(analysis=analysis, case_id=case, group=variant, outcome=event_type, test=f"{prefix}level_change",
                     n=n_months, effect_name="rate_ratio_level", note=fit)]
    extra = "placebo: months before the start only, fake start halfway" if placebo else None
    note = "; ".join(filter(None, [extra, fit.family_note(), options.describe(), _autocorrelation_note(fit), *fit.notes]))
    beta, se, z, p = _wald_rows(fit, [term for term, *_ in labels])
    crit = _critical(fit)
    return [
        dict(analysis=analysis, case_id=case, group=variant or group, outcome=event_type,
             test=test.replace("its_", prefix, 1), n=n_months, statistic=z[i], df=fit.df_resid, p_value=p[i],
             effect_size=np.exp(beta[i]), effect_name=effect_name,
             ci_low=np.exp(beta[i] - crit * se[i]), ci_high=np.exp(beta[i] + crit * se[i]), note=note)
        for i, (_, test, effect_name, group) in enumerate(labels)
    ]


SENSITIVITY_VARIANTS = (
    ("quasi-Poisson (default)", {}),
    ("Poisson", {"family": "poisson"}),
    ("negative binomial (NB2)", {"family": "negative_binomial"}),
    ("quasi-Poisson, AR(1)", {"autocorrelation": "ar1"}),
    ("month 0 left out", {"phase_in": 1}),
    ("offset: days in month", {"exposure": "days_in_month"}),
    ("seasonality: 1 Fourier pair", {"seasonality": 1}),
)
"""The variants of `its_sensitivity`: label and the options changed from the default."""


def its_sensitivity(
    monthly: pd.DataFrame,
    *,
    event_type: str = HELP_SEEKING_EVENT,
    exposure: str | None = None,
) -> pd.DataFrame:
    """How much does the level change depend on the model? One row per case and model variant, plus the placebo.

    Parameters
    ----------
    monthly, event_type
        As in `interrupted_time_series`.
    exposure : str, optional
        The exposure column of the default model (the "offset: days in
        month" variant uses the days of each calendar month instead).

    Returns
    -------
    DataFrame
        Standard result shape, ``analysis = "help_seeking_its"``, per case:
        ``test = "its_level_change"`` rows whose ``group`` names the variant
        (`SENSITIVITY_VARIANTS`: the default quasi-Poisson, Poisson, NB2,
        quasi-Poisson with AR(1) working correlation, month 0 left out,
        offset log days in month, one Fourier pair of seasonality), then
        one ``test = "its_placebo_level_change"`` row (default model, months
        before the start only, fake start halfway).

    Notes
    -----
    A sensitivity analysis, not a search for the best p-value: the default
    (first row) is the pre-declared analysis; the others show whether the
    conclusion rests on the family, the autocorrelation, the first month,
    the unequal length of months or the calendar.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(4)
    >>> rel = np.arange(-12, 12)
    >>> monthly = pd.DataFrame({"case_id": "a", "event_type": "parenting_question_to_youth_team",
    ...     "month": pd.date_range("2015-01-01", periods=24, freq="MS"), "relative_month": rel,
    ...     "post": (rel >= 0).astype(int), "count": rng.poisson(np.where(rel >= 0, 10.0, 5.0))})
    >>> res = its_sensitivity(monthly)
    >>> res["group"].tolist()[:3]
    ['quasi-Poisson (default)', 'Poisson', 'negative binomial (NB2)']
    >>> res["test"].iloc[-1]
    'its_placebo_level_change'
    """
    rows = _its_design(_validate_monthly(monthly, event_type))
    month = pd.to_datetime(rows["month"])
    rows = rows.assign(days_in_month=month.dt.days_in_month.astype(float))
    out: list[dict] = []
    default = _ItsOptions(exposure=exposure)
    for case, case_rows in rows.groupby("case_id", sort=True):
        for label, changes in SENSITIVITY_VARIANTS:
            options = _ItsOptions(**{**default.__dict__, **changes})
            out += _its_case_rows(case, _prepared(case_rows, options), options, event_type, variant=label)
        out += _its_case_rows(case, _prepared(_placebo_design(case_rows), default), default, event_type, placebo=True)
    return result_frame(out)


def its_case_differences(
    monthly: pd.DataFrame,
    *,
    event_type: str = HELP_SEEKING_EVENT,
    family: str = "quasipoisson",
    exposure: str | None = None,
    autocorrelation: str = "none",
    phase_in: int = 0,
    seasonality: int = 0,
    p_adjust: str = "holm",
    comparisons: str = "auto",
) -> pd.DataFrame:
    """Do the level and slope changes in help-seeking differ between cases?

    One pooled model, ``count ~ (time + post + time_since_start) *
    C(case_id)``, so each case keeps its own baseline level, trend, level
    change and slope change; the case interactions with ``post`` and
    ``time_since_start`` are tested jointly and pairwise.

    Parameters
    ----------
    monthly, event_type, family, exposure, autocorrelation, phase_in, seasonality
        As in `interrupted_time_series`, with the same dispersion handling:
        quasi-Poisson (default) has one Pearson scale for all cases (t and F
        tests with the pooled residual df), NB2 one alpha, AR(1) one rho
        (within each case's series).
    p_adjust : str, default "holm"
        Adjustment of the pairwise comparisons within each family (level,
        slope), R ``p.adjust`` names.
    comparisons : {"auto", "pairs", "mean"}, default "auto"
        ``pairs``: every pair of cases; ``mean``: each case's log rate
        ratio against the unweighted mean over the cases (``test =
        "level_change_vs_mean"`` / ``"slope_change_vs_mean"``, effect the
        ratio of the case's RR to the geometric mean RR); ``auto``: pairs
        up to ``ponzoni_eval.stats.common.MANY_CASES`` (8) cases, else mean.

    Returns
    -------
    DataFrame
        Standard result shape, ``analysis = "help_seeking_its"``,
        ``case_id = "all"``:

        - ``test = "wald_level_change_difference"`` and
          ``"wald_slope_change_difference"``: joint Wald tests (``df`` =
          number of cases - 1) that the level (slope) changes are equal in
          all cases: chi-squared for Poisson / NB2; for quasi-Poisson the
          Wald F = chi2 / df referred to F(df, residual df), as R
          ``anova(..., test = "F")`` (the note gives the residual df);
        - per pair of cases A, B: ``test = "level_change_ratio"`` /
          ``"slope_change_ratio"`` with ``effect_name =
          "ratio_of_rate_ratios"`` = RR_A / RR_B, Wald z, 95% CI and
          adjusted p (``group = "A / B"``).

        ``n`` = number of case-months. With fewer than two usable cases: one
        row with a note.

    Notes
    -----
    The pooled model reproduces the per-case point estimates of a Poisson
    fit exactly (it is saturated in case); it differs from separate fits
    only through the shared NB2 alpha. The level-change ratio for A vs B is
    exp(b_post,A - b_post,B) with variance from the joint covariance.

    References
    ----------
    Lopez Bernal, J., Cummins, S. & Gasparrini, A. (2017), see
    `interrupted_time_series`; Linden, A. (2015). Conducting interrupted
    time-series analysis for single- and multiple-group comparisons. Stata
    Journal 15(2), 480-500.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(5)
    >>> rel = np.tile(np.arange(-12, 12), 2)
    >>> jump = np.repeat([3.0, 1.0], 24)
    >>> monthly = pd.DataFrame({"case_id": np.repeat(["a", "b"], 24), "event_type": "parenting_question_to_youth_team",
    ...     "month": np.tile(pd.date_range("2015-01-01", periods=24, freq="MS"), 2), "relative_month": rel,
    ...     "post": (rel >= 0).astype(int), "count": rng.poisson(np.where(rel >= 0, 6.0 * jump, 6.0))})
    >>> res = its_case_differences(monthly)
    >>> res["test"].tolist()[:2]
    ['wald_level_change_difference', 'wald_slope_change_difference']
    >>> bool(res.set_index("test").loc["level_change_ratio", "effect_size"] > 1.5)
    True
    """
    from scipy import stats

    options = _ItsOptions(family, exposure, autocorrelation, phase_in, seasonality)
    analysis = "help_seeking_its"
    rows = _its_design(_validate_monthly(monthly, event_type))
    problems = {case: _segment_problem(_prepared(case_rows, options))
                for case, case_rows in rows.groupby("case_id", sort=True)}
    usable = [case for case, problem in problems.items() if problem is None]
    skipped = {case: problem for case, problem in problems.items() if problem is not None}
    skipped_note = "; ".join(f"{case} left out ({problem})" for case, problem in skipped.items())
    if len(usable) < 2:
        return result_frame([dict(analysis=analysis, case_id="all", outcome=event_type,
                                  test="wald_level_change_difference",
                                  note=f"not run: fewer than two cases with usable series. {skipped_note}".strip())])
    pooled = _prepared(rows.loc[rows["case_id"].isin(usable)], options)
    fit = _fit_its(pooled, options, pooled=True)
    if isinstance(fit, str):
        return result_frame([dict(analysis=analysis, case_id="all", outcome=event_type,
                                  test="wald_level_change_difference", n=len(pooled), note=fit)])
    note = "; ".join(filter(None, [fit.family_note(), options.describe(), *fit.notes, skipped_note]))
    reference = usable[0]
    n = len(pooled)
    out: list[dict] = []
    for term, kind in (("post", "level"), ("time_since_start", "slope")):
        interaction = [f"{term}:C(case_id)[T.{case}]" for case in usable[1:]]
        b = fit.params.loc[interaction].to_numpy(dtype=float)
        v = fit.cov.loc[interaction, interaction].to_numpy(dtype=float)
        chi2 = float(b @ np.linalg.solve(v, b))
        q = len(interaction)
        if fit.df_resid is not None:
            statistic, p_joint = chi2 / q, float(stats.f.sf(chi2 / q, q, fit.df_resid))
            how = f"joint Wald F({q}, {fit.df_resid:.0f})"
        else:
            statistic, p_joint = chi2, float(stats.chi2.sf(chi2, q))
            how = "joint Wald chi-squared"
        out.append(dict(analysis=analysis, case_id="all", group=f"{kind} change equal in {len(usable)} cases",
                        outcome=event_type, test=f"wald_{kind}_change_difference", n=n, statistic=statistic,
                        df=q, p_value=p_joint, note=f"{how}; {note}"))
    names = list(fit.params.index)
    beta = fit.params.to_numpy(dtype=float)
    cov = fit.cov.to_numpy(dtype=float)
    k = len(usable)
    mode = _comparison_mode(comparisons, k)
    first, second = np.triu_indices(k, k=1)
    case_names = np.array([str(case) for case in usable], dtype=object)
    frames = [result_frame(out)]
    for term, kind in (("post", "level"), ("time_since_start", "slope")):
        # log rate ratio of each case = L @ beta (the term, plus the case's interaction); the pairs'
        # differences then follow from the cases' k x k covariance, not from a (pairs x p) matrix
        # (300 cases: 44 850 pairs x 1 200 coefficients)
        case_l = np.zeros((len(usable), len(names)))
        case_l[:, names.index(term)] = 1.0
        for position, case in enumerate(usable[1:], start=1):
            case_l[position, names.index(f"{term}:C(case_id)[T.{case}]")] = 1.0
        case_estimate = case_l @ beta
        case_cov = case_l @ cov @ case_l.T
        crit = _critical(fit)

        def reference_p(z):
            return 2 * (stats.t.sf(np.abs(z), fit.df_resid) if fit.df_resid is not None else stats.norm.sf(np.abs(z)))

        if mode == "mean":
            combine = np.eye(k) - np.full((k, k), 1.0 / k)
            estimate = combine @ case_estimate
            se = np.sqrt(np.einsum("ij,jk,ik->i", combine, case_cov, combine))
            z = estimate / se
            p = reference_p(z)
            frames.append(pd.DataFrame(dict(
                analysis=analysis, case_id=case_names, group=f"case / geometric mean of {k} cases", outcome=event_type,
                test=f"{kind}_change_vs_mean", n=n, statistic=z, df=fit.df_resid, p_value=p,
                p_adjusted=adjust_p(p, p_adjust), effect_size=np.exp(estimate), effect_name="ratio_to_mean_rate_ratio",
                ci_low=np.exp(estimate - crit * se), ci_high=np.exp(estimate + crit * se),
                note=f"RR_{kind} of the case divided by the geometric mean RR_{kind} of all {k} cases "
                     f"(comparisons: {comparisons!r}; pairs up to {MANY_CASES} cases under 'auto', or with 'pairs'); "
                     f"p_adjusted: {p_adjust}; {note}",
            )).reindex(columns=list(RESULT_COLUMNS)))
            continue
        estimate = case_estimate[first] - case_estimate[second]
        se = np.sqrt(case_cov[first, first] + case_cov[second, second] - 2 * case_cov[first, second])
        z = estimate / se
        p = reference_p(z)
        frames.append(pd.DataFrame(dict(
            analysis=analysis, case_id="all", group=case_names[first] + " / " + case_names[second], outcome=event_type,
            test=f"{kind}_change_ratio", n=n, statistic=z, df=fit.df_resid, p_value=p, p_adjusted=adjust_p(p, p_adjust),
            effect_size=np.exp(estimate), effect_name="ratio_of_rate_ratios",
            ci_low=np.exp(estimate - crit * se), ci_high=np.exp(estimate + crit * se),
            note="RR_" + kind + " of " + case_names[first] + " divided by that of " + case_names[second]
                 + f"; p_adjusted: {p_adjust}; {note}",
        )).reindex(columns=list(RESULT_COLUMNS)))
    return stack_results(*frames)


def its_trajectories(
    monthly: pd.DataFrame,
    *,
    event_type: str = HELP_SEEKING_EVENT,
    family: str = "quasipoisson",
    exposure: str | None = None,
    autocorrelation: str = "none",
    seasonality: int = 0,
) -> pd.DataFrame:
    """Fitted and counterfactual (no-intervention) monthly counts with 95% CIs, per case.

    Parameters
    ----------
    monthly, event_type, family, exposure, autocorrelation, seasonality
        As in `interrupted_time_series` (the same per-case models).

    Returns
    -------
    DataFrame
        One row per case and month: ``case_id, month, relative_month, post,
        count, fitted, fitted_low, fitted_high, counterfactual,
        counterfactual_low, counterfactual_high, family``. The
        counterfactual continues the pre-intervention trend (post = 0,
        time_since_start = 0); before the start it equals the fit. Cases
        whose model cannot be fitted keep their counts with empty fits.

    Notes
    -----
    For a design row x, the expected count is exp(x' b) (times the
    exposure) and its CI exp(x' b +/- c sqrt(x' V x)), c the 97.5% quantile
    of t(residual df) for quasi-Poisson, else 1.96: a CI for the expected
    count, not a prediction interval for a new month.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(6)
    >>> rel = np.arange(-12, 12)
    >>> monthly = pd.DataFrame({"case_id": "a", "event_type": "parenting_question_to_youth_team",
    ...     "month": pd.date_range("2015-01-01", periods=24, freq="MS"), "relative_month": rel,
    ...     "post": (rel >= 0).astype(int), "count": rng.poisson(np.where(rel >= 0, 10.0, 5.0))})
    >>> traj = its_trajectories(monthly)
    >>> bool((traj.loc[traj.post == 1, "fitted"] > traj.loc[traj.post == 1, "counterfactual"]).all())
    True
    """
    options = _ItsOptions(family, exposure, autocorrelation, 0, seasonality)
    rows = _its_design(_validate_monthly(monthly, event_type))
    columns = ["case_id", "month", "relative_month", "post", "count", "fitted", "fitted_low", "fitted_high",
               "counterfactual", "counterfactual_low", "counterfactual_high", "family"]
    parts = []
    for case, case_rows in rows.groupby("case_id", sort=True):
        case_rows = _prepared(case_rows, options)
        part = case_rows.loc[:, ["case_id", "month", "relative_month", "post", "count"]].copy()
        fit = _fit_case(case_rows, options)
        if isinstance(fit, str):
            part = part.assign(**{c: np.nan for c in columns[5:-1]}, family="not fitted")
            parts.append(part)
            continue
        names = list(fit.params.index)  # Intercept, time, post, time_since_start (, Fourier terms)
        beta = fit.params.to_numpy(dtype=float)
        cov = fit.cov.to_numpy(dtype=float)
        crit = _critical(fit)
        log_exposure = np.log(_exposure(case_rows, exposure, table="monthly")) if exposure else 0.0
        design = np.column_stack([np.ones(len(case_rows))] + [case_rows[name].to_numpy(dtype=float) for name in names[1:]])
        for prefix, matrix in (("fitted", design), ("counterfactual", _counterfactual(design, names))):
            eta = matrix @ beta + log_exposure
            se = np.sqrt(np.einsum("ij,jk,ik->i", matrix, cov, matrix))
            part[prefix] = np.exp(eta)
            part[f"{prefix}_low"] = np.exp(eta - crit * se)
            part[f"{prefix}_high"] = np.exp(eta + crit * se)
        part["family"] = fit.family
        parts.append(part)
    return pd.concat(parts, ignore_index=True).loc[:, columns]


def _counterfactual(design: np.ndarray, names: list[str]) -> np.ndarray:
    """The same months with the intervention terms switched off."""
    counterfactual = design.copy()
    for term in ("post", "time_since_start"):
        counterfactual[:, names.index(term)] = 0.0
    return counterfactual
