"""Unit tests for ponzoni_eval.timeseries: seeded simulated monthly series."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from ponzoni_eval._core.errors import DataError
from ponzoni_eval._core.results import RESULT_COLUMNS
from ponzoni_eval.stats.timeseries import (
    HELP_SEEKING_EVENT,
    _cameron_trivedi,
    count_regression,
    interrupted_time_series,
    its_case_differences,
    its_trajectories,
)


def series(case="a", *, baseline=8.0, level=2.0, slope=1.0, trend=1.0, months_before=18, months_after=18,
           seed=0, nb_size=None, event_type=HELP_SEEKING_EVENT):
    """One case's monthly counts from a known segmented log-linear model.

    ``nb_size`` gives negative binomial counts (Var = mu + mu^2 / size); None gives Poisson.
    """
    rng = np.random.default_rng(seed)
    relative = np.arange(-months_before, months_after)
    post = (relative >= 0).astype(int)
    time = relative - relative.min()
    since = np.where(post == 1, relative, 0)
    mu = baseline * trend**time * level**post * slope**since
    count = rng.poisson(mu) if nb_size is None else rng.negative_binomial(nb_size, nb_size / (nb_size + mu))
    return pd.DataFrame(
        {
            "case_id": case,
            "event_type": event_type,
            "month": pd.date_range("2014-01-01", periods=len(relative), freq="MS"),
            "relative_month": relative,
            "post": post,
            "count": count,
        }
    )


def three_cases(seed=0, **kwargs):
    levels = {"poelenburg_a": 2.0, "poelenburg_b": 1.0, "slotervaart": 1.4}
    return pd.concat(
        [series(case, level=level, seed=seed + i, **kwargs) for i, (case, level) in enumerate(levels.items())],
        ignore_index=True,
    )


# --- per-case ITS ------------------------------------------------------------------------


def test_its_recovers_level_and_slope_change():
    monthly = series(baseline=20.0, level=2.0, slope=1.03, trend=1.01, months_before=24, months_after=24, seed=1)
    res = interrupted_time_series(monthly)
    assert tuple(res.columns) == RESULT_COLUMNS
    rows = res.set_index("effect_name")
    for name, truth in (("rate_ratio_level", 2.0), ("rate_ratio_slope", 1.03), ("rate_ratio_trend", 1.01)):
        assert rows.loc[name, "ci_low"] < truth < rows.loc[name, "ci_high"], name
    assert (res["n"] == 48).all()
    assert (res["analysis"] == "help_seeking_its").all()
    assert rows.loc["rate_ratio_level", "test"] == "its_level_change"
    assert rows.loc["rate_ratio_slope", "test"] == "its_slope_change"
    assert rows.loc["rate_ratio_level", "p_value"] < 0.001


def test_its_matches_a_direct_poisson_glm():
    monthly = series(seed=2)
    res = interrupted_time_series(monthly, family="poisson").set_index("effect_name")
    relative = monthly["relative_month"]
    exog = sm.add_constant(
        pd.DataFrame({"time": relative + 18, "post": monthly["post"], "since": np.where(monthly["post"] == 1, relative, 0)})
    ).astype(float)
    direct = sm.GLM(monthly["count"], exog, family=sm.families.Poisson()).fit()
    assert res.loc["rate_ratio_level", "effect_size"] == pytest.approx(np.exp(direct.params["post"]), rel=1e-6)
    assert res.loc["rate_ratio_slope", "effect_size"] == pytest.approx(np.exp(direct.params["since"]), rel=1e-6)
    assert res.loc["rate_ratio_level", "ci_low"] == pytest.approx(np.exp(direct.conf_int().loc["post", 0]), rel=1e-6)
    assert res.loc["rate_ratio_level", "note"].startswith("Poisson")
    assert "Durbin-Watson" in res.loc["rate_ratio_level", "note"]


def test_auto_family_follows_overdispersion_evidence():
    poisson = interrupted_time_series(series(seed=3, baseline=10.0), family="auto")
    assert poisson.loc[0, "note"].startswith("Poisson; Cameron-Trivedi")
    overdispersed = interrupted_time_series(series(seed=3, baseline=10.0, nb_size=2.0), family="auto")
    assert overdispersed.loc[0, "note"].startswith("negative binomial (NB2")
    # Forcing NB2 on equidispersed counts: alpha goes to its boundary and Poisson is kept, with a note.
    forced_nb = interrupted_time_series(series(seed=3, baseline=10.0), family="negative_binomial")
    assert "alpha at the boundary (0); Poisson kept" in forced_nb.loc[0, "note"]
    forced_poisson = interrupted_time_series(series(seed=3, baseline=10.0, nb_size=2.0), family="poisson")
    assert forced_poisson.loc[0, "note"].startswith("Poisson; Cameron-Trivedi z = 3.75")
    with pytest.raises(ValueError, match="family"):
        interrupted_time_series(series(), family="quasi")


def test_negative_binomial_widens_the_interval():
    monthly = series(seed=4, baseline=10.0, nb_size=2.0)
    poisson = interrupted_time_series(monthly, family="poisson").set_index("effect_name")
    nb = interrupted_time_series(monthly, family="auto").set_index("effect_name")
    def log_width(res):
        return np.log(res.loc["rate_ratio_level", "ci_high"] / res.loc["rate_ratio_level", "ci_low"])

    assert log_width(nb) > log_width(poisson)


def test_cameron_trivedi_equals_auxiliary_ols():
    rng = np.random.default_rng(5)
    mu = rng.uniform(2, 20, 60)
    y = rng.negative_binomial(3, 3 / (3 + mu)).astype(float)
    z, p = _cameron_trivedi(y, mu)
    aux = sm.OLS(((y - mu) ** 2 - y) / mu, mu[:, None]).fit()
    assert z == pytest.approx(aux.tvalues[0], rel=1e-10)
    assert p == pytest.approx(stats.norm.sf(aux.tvalues[0]), rel=1e-6)


def test_short_or_empty_series_give_note_rows():
    short = series(months_before=2, months_after=10)
    res = interrupted_time_series(short)
    assert len(res) == 1 and "2 months before" in res.loc[0, "note"] and pd.isna(res.loc[0, "effect_size"])
    empty = series().assign(count=0)
    res = interrupted_time_series(empty)
    assert "no events" in res.loc[0, "note"]
    both = pd.concat([series("a", seed=1), series("b", months_before=1)])
    res = interrupted_time_series(both)
    assert res.groupby("case_id").size().to_dict() == {"a": 3, "b": 1}


def test_all_zero_after_start_is_reported_not_raised():
    monthly = series(seed=6, baseline=3.0)
    monthly.loc[monthly["post"] == 1, "count"] = 0
    res = interrupted_time_series(monthly, family="poisson")  # warnings would fail (filterwarnings = error)
    assert len(res) == 1 and "unbounded" in res.loc[0, "note"]


def test_monthly_input_errors():
    monthly = series()
    with pytest.raises(DataError, match="'post'"):
        interrupted_time_series(monthly.drop(columns="post"))
    with pytest.raises(DataError, match="joint_meeting") as info:
        interrupted_time_series(monthly, event_type="joint_meeting")
    assert HELP_SEEKING_EVENT in str(info.value)
    bad_count = monthly.copy()
    bad_count.loc[5, "count"] = -1
    with pytest.raises(DataError, match="whole numbers"):
        interrupted_time_series(bad_count)
    bad_post = monthly.copy()
    bad_post.loc[5, "post"] = 2
    with pytest.raises(DataError, match="post must be 0"):
        interrupted_time_series(bad_post)
    inconsistent = monthly.copy()
    inconsistent.loc[0, "post"] = 1  # relative_month -18
    with pytest.raises(DataError, match="post disagrees with relative_month"):
        interrupted_time_series(inconsistent)
    fractional = monthly.assign(relative_month=monthly["relative_month"] + 0.5)
    with pytest.raises(DataError, match="whole number of months"):
        interrupted_time_series(fractional)
    with pytest.raises(DataError, match="more than one"):
        interrupted_time_series(pd.concat([monthly, monthly.iloc[[0]]]))


def test_other_event_types_are_ignored():
    monthly = pd.concat([series(seed=7), series(seed=8, event_type="joint_meeting", level=5.0)])
    only = interrupted_time_series(series(seed=7))
    pd.testing.assert_frame_equal(interrupted_time_series(monthly), only)


# --- pooled model across cases ---------------------------------------------------------------


def test_pooled_poisson_reproduces_per_case_ratios():
    monthly = three_cases(seed=10)
    per_case = interrupted_time_series(monthly, family="poisson")
    level = per_case[per_case["effect_name"] == "rate_ratio_level"].set_index("case_id")["effect_size"]
    pooled = its_case_differences(monthly, family="poisson")
    ratios = pooled[pooled["test"] == "level_change_ratio"].set_index("group")["effect_size"]
    assert ratios["poelenburg_a / slotervaart"] == pytest.approx(level["poelenburg_a"] / level["slotervaart"], rel=1e-6)
    assert ratios["poelenburg_b / slotervaart"] == pytest.approx(level["poelenburg_b"] / level["slotervaart"], rel=1e-6)
    assert (pooled["case_id"] == "all").all()
    omnibus = pooled.set_index("test").loc["wald_level_change_difference"]
    assert omnibus["df"] == 2 and omnibus["n"] == len(monthly)


def test_pooled_model_detects_different_level_changes():
    monthly = pd.concat([series("a", level=3.0, baseline=15.0, seed=11), series("b", level=1.0, baseline=15.0, seed=12)])
    res = its_case_differences(monthly).set_index("test")
    assert res.loc["wald_level_change_difference", "p_value"] < 0.01
    assert res.loc["wald_slope_change_difference", "p_value"] > 0.01
    ratio = res.loc["level_change_ratio"]
    assert ratio["ci_low"] < 3.0 < ratio["ci_high"]
    assert ratio["p_adjusted"] == pytest.approx(ratio["p_value"])  # one pair: Holm changes nothing


def test_pooled_model_leaves_out_unusable_cases():
    monthly = pd.concat([series("a", seed=1), series("b", seed=2), series("c", months_before=1)])
    res = its_case_differences(monthly)
    assert "c left out" in res.loc[0, "note"]
    assert res.loc[0, "df"] == 1
    alone = its_case_differences(pd.concat([series("a", seed=1), series("c", months_before=1)]))
    assert len(alone) == 1 and "fewer than two cases" in alone.loc[0, "note"]


# --- trajectories ---------------------------------------------------------------------------


def test_trajectories_fitted_and_counterfactual():
    monthly = three_cases(seed=20)
    traj = its_trajectories(monthly, family="poisson")
    assert len(traj) == len(monthly)
    pre = traj[traj["post"] == 0]
    np.testing.assert_allclose(pre["fitted"], pre["counterfactual"])
    its = interrupted_time_series(monthly, family="poisson")
    level = its[its["effect_name"] == "rate_ratio_level"].set_index("case_id")["effect_size"]
    start = traj[traj["relative_month"] == 0].set_index("case_id")
    np.testing.assert_allclose(start["fitted"] / start["counterfactual"], level.loc[start.index], rtol=1e-8)
    assert (traj["fitted_low"] < traj["fitted"]).all() and (traj["fitted"] < traj["fitted_high"]).all()
    # Poisson GLM with an intercept: fitted counts add up to the observed counts per case.
    sums = traj.groupby("case_id")[["count", "fitted"]].sum()
    np.testing.assert_allclose(sums["fitted"], sums["count"], rtol=1e-6)


def test_trajectories_keep_unfitted_cases():
    monthly = pd.concat([series("a", seed=1), series("b", months_before=1)])
    traj = its_trajectories(monthly)
    b = traj[traj["case_id"] == "b"]
    assert b["fitted"].isna().all() and (b["family"] == "not fitted").all()
    assert len(b) == 19


# --- count_regression and exposure ---------------------------------------------------------------


def test_exposure_is_an_offset():
    monthly = series(seed=30, baseline=10.0).assign(families=200.0, time=np.arange(36.0))
    without = count_regression(monthly, formula="count ~ time + post", family="poisson").set_index("group")
    with_exposure = count_regression(monthly, formula="count ~ time + post", family="poisson",
                                     exposure="families").set_index("group")
    assert with_exposure.loc["post", "effect_size"] == pytest.approx(without.loc["post", "effect_size"])
    assert with_exposure.loc["Intercept", "effect_size"] == pytest.approx(without.loc["Intercept", "effect_size"] / 200)
    assert with_exposure.loc["Intercept", "effect_name"] == "baseline_rate"
    with pytest.raises(DataError, match="positive"):
        count_regression(monthly.assign(families=0.0), formula="count ~ time", exposure="families")
    with pytest.raises(DataError, match="exposure column"):
        count_regression(monthly, formula="count ~ time", exposure="households")


def test_count_regression_formula_errors_and_alpha_row():
    monthly = series(seed=31, nb_size=1.5, baseline=12.0).assign(time=np.arange(36.0))
    with pytest.raises(DataError, match="formula"):
        count_regression(monthly, formula="count ~ season")
    res = count_regression(monthly, formula="count ~ time + post", family="negative_binomial")
    alpha = res.set_index("effect_name").loc["nb_alpha"]
    assert alpha["test"] == "dispersion" and alpha["effect_size"] > 0


def test_newton_confirms_a_maximum_that_bfgs_did_not_call_converged():
    """On some BLAS kernels (Haswell) BFGS ends the example's NB2 fit with 'precision loss' at the optimum;
    the Newton polish, not BFGS's flag, decides convergence, so the model is the same on every CPU."""
    import warnings

    import statsmodels.api as sm

    from ponzoni_eval.stats.common import newton_polish

    rng = np.random.default_rng(7)
    x = np.column_stack([np.ones(60), np.arange(60) / 60])
    y = rng.negative_binomial(5, 5 / (5 + np.exp(1.5 + 0.8 * x[:, 1])))
    model = sm.NegativeBinomial(y, x, loglike_method="nb2")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stopped_early = model.fit(method="bfgs", maxiter=4, disp=0)
        full = model.fit(method="bfgs", maxiter=2000, disp=0)
    assert not stopped_early.mle_retvals["converged"]
    polished = newton_polish(model, stopped_early, disp=0)
    assert polished.mle_retvals["converged"]
    assert polished.llf >= full.llf - 1e-12 * abs(full.llf)
    assert np.max(np.abs(model.score(np.asarray(polished.params)))) < 1e-8
    # the same maximum as the polished full BFGS fit, to rounding (BFGS alone stops ~1e-5 away in alpha)
    np.testing.assert_allclose(polished.params, newton_polish(model, full, disp=0).params, rtol=1e-9)


# --- issue 17: quasi-Poisson default, AR(1), options, placebo, sensitivity ----------------------


def _direct_glm(monthly):
    relative = monthly["relative_month"]
    exog = sm.add_constant(
        pd.DataFrame({"time": relative - relative.min(), "post": monthly["post"],
                      "since": np.where(monthly["post"] == 1, relative, 0)})
    ).astype(float)
    return monthly["count"].astype(float), exog


def test_quasi_poisson_is_the_default_and_matches_glm_with_pearson_scale():
    monthly = series(seed=21, baseline=12.0, nb_size=4.0, months_before=24, months_after=24)
    res = interrupted_time_series(monthly).set_index("effect_name")
    y, exog = _direct_glm(monthly)
    poisson = sm.GLM(y, exog, family=sm.families.Poisson()).fit()
    # R: summary(glm(count ~ time + post + since, family = quasipoisson)): SE = Poisson SE * sqrt(X2 / df), t on df
    quasi = sm.GLM(y, exog, family=sm.families.Poisson()).fit(scale="X2", use_t=True)
    phi = float(np.sum(poisson.resid_pearson**2) / poisson.df_resid)
    assert quasi.bse["post"] == pytest.approx(poisson.bse["post"] * np.sqrt(phi), rel=1e-6)
    level = res.loc["rate_ratio_level"]
    assert level["effect_size"] == pytest.approx(np.exp(quasi.params["post"]), rel=1e-5)  # statsmodels' looser IRLS stop
    assert level["statistic"] == pytest.approx(quasi.tvalues["post"], rel=1e-5)
    assert level["df"] == 44
    assert level["p_value"] == pytest.approx(quasi.pvalues["post"], rel=1e-4)
    low, high = np.exp(quasi.conf_int().loc["post"])  # t-based Wald interval
    assert level["ci_low"] == pytest.approx(low, rel=1e-5) and level["ci_high"] == pytest.approx(high, rel=1e-5)
    assert level["note"].startswith("quasi-Poisson (scale = Pearson chi2/df")


def test_quasi_poisson_widens_poisson_by_the_root_of_the_pearson_scale():
    monthly = series(seed=22, baseline=20.0, nb_size=10.0, months_before=24, months_after=24)
    quasi = interrupted_time_series(monthly).set_index("effect_name")
    poisson = interrupted_time_series(monthly, family="poisson").set_index("effect_name")
    y, exog = _direct_glm(monthly)
    fit = sm.GLM(y, exog, family=sm.families.Poisson()).fit()
    phi = fit.pearson_chi2 / fit.df_resid
    assert phi > 1.2  # modest overdispersion, the kind the Cameron-Trivedi pretest misses
    ratio = quasi.loc["rate_ratio_level", "statistic"] / poisson.loc["rate_ratio_level", "statistic"]
    assert ratio == pytest.approx(1 / np.sqrt(phi), rel=1e-6)


def test_ar1_working_correlation_reduces_to_quasi_poisson_at_rho_zero_and_detects_autocorrelation():
    from ponzoni_eval.stats.timeseries import _quasi_ar1

    rng = np.random.default_rng(26)
    n = 48
    relative = np.arange(-24, 24)
    x = np.column_stack([np.ones(n), relative + 24, relative >= 0, np.where(relative >= 0, relative, 0)]).astype(float)
    latent = np.zeros(n)
    for t in range(1, n):  # latent AR(1) on the log scale, rho 0.7
        latent[t] = 0.7 * latent[t - 1] + rng.normal(0, 0.25)
    y = rng.poisson(15 * np.exp(latent)).astype(float)
    poisson = sm.GLM(y, x, family=sm.families.Poisson()).fit()
    beta, cov, phi, rho, converged = _quasi_ar1(x, y, np.zeros(n), np.zeros(n), poisson.params)
    assert converged and rho > 0.3
    # the estimating equations hold at the solution: D' V^-1 (y - mu) = 0
    from ponzoni_eval.stats.timeseries import _ar1_inverse

    mu = np.exp(x @ beta)
    xs = x * np.sqrt(mu)[:, None]
    assert np.abs(xs.T @ _ar1_inverse(n, rho) @ ((y - mu) / np.sqrt(mu))).max() < 1e-6
    # with rho = 0 the inverse is the identity: GEE = Poisson GLM, covariance = quasi-Poisson's
    assert np.allclose(_ar1_inverse(5, 0.0), np.eye(5))
    monthly = pd.DataFrame({"case_id": "a", "event_type": HELP_SEEKING_EVENT,
                            "month": pd.date_range("2014-01-01", periods=n, freq="MS"), "relative_month": relative,
                            "post": (relative >= 0).astype(int), "count": y})
    ar1 = interrupted_time_series(monthly, autocorrelation="ar1").set_index("effect_name")
    quasi = interrupted_time_series(monthly).set_index("effect_name")
    assert "AR(1) working correlation" in ar1.loc["rate_ratio_level", "note"]
    # positive autocorrelation: the level change is less certain than independent months suggest
    width = lambda r: np.log(r.loc["rate_ratio_level", "ci_high"] / r.loc["rate_ratio_level", "ci_low"])  # noqa: E731
    assert width(ar1) > width(quasi)
    with pytest.raises(ValueError, match="autocorrelation"):
        interrupted_time_series(monthly, family="poisson", autocorrelation="ar1")


def test_phase_in_seasonality_and_exposure_options():
    monthly = series(seed=24, baseline=15.0, level=1.5, months_before=24, months_after=24)
    base = interrupted_time_series(monthly).set_index("effect_name")
    dropped = interrupted_time_series(monthly, phase_in=2).set_index("effect_name")
    assert (dropped["n"] == 46).all() and "months 0..1 after the start left out" in dropped["note"].iloc[0]
    y, exog = _direct_glm(monthly)
    keep = ~monthly["relative_month"].between(0, 1).to_numpy()
    direct = sm.GLM(y[keep], exog[keep], family=sm.families.Poisson()).fit()
    assert dropped.loc["rate_ratio_level", "effect_size"] == pytest.approx(np.exp(direct.params["post"]), rel=1e-6)
    seasonal = interrupted_time_series(monthly, seasonality=1).set_index("effect_name")
    angle = 2 * np.pi * monthly["month"].dt.month.to_numpy() / 12
    direct = sm.GLM(y, exog.assign(s=np.sin(angle), c=np.cos(angle)), family=sm.families.Poisson()).fit()
    assert seasonal.loc["rate_ratio_level", "effect_size"] == pytest.approx(np.exp(direct.params["post"]), rel=1e-6)
    assert seasonal.loc["rate_ratio_level", "df"] == 48 - 6
    with_days = monthly.assign(days=monthly["month"].dt.days_in_month)
    offset = interrupted_time_series(with_days, exposure="days").set_index("effect_name")
    direct = sm.GLM(y, exog, family=sm.families.Poisson(), offset=np.log(with_days["days"].to_numpy(float))).fit()
    assert offset.loc["rate_ratio_level", "effect_size"] == pytest.approx(np.exp(direct.params["post"]), rel=1e-6)
    assert base.loc["rate_ratio_level", "effect_size"] != offset.loc["rate_ratio_level", "effect_size"]
    with pytest.raises(ValueError, match="phase_in"):
        interrupted_time_series(monthly, phase_in=-1)
    with pytest.raises(ValueError, match="seasonality"):
        interrupted_time_series(monthly, seasonality=7)


def test_placebo_uses_only_the_pre_period_with_a_fake_start_halfway():
    monthly = series(seed=25, baseline=15.0, level=3.0, months_before=24, months_after=24)
    res = interrupted_time_series(monthly, placebo=True)
    placebo = res.set_index("test").loc["its_placebo_level_change"]
    assert placebo["n"] == 24 and placebo["df"] == 20
    before = monthly.loc[monthly["post"] == 0]
    relative = before["relative_month"] + 12
    exog = sm.add_constant(pd.DataFrame({"time": before["relative_month"] + 24, "post": (relative >= 0).astype(float),
                                         "since": np.where(relative >= 0, relative, 0)})).astype(float)
    direct = sm.GLM(before["count"].astype(float), exog, family=sm.families.Poisson()).fit(scale="X2")
    assert placebo["effect_size"] == pytest.approx(np.exp(direct.params["post"]), rel=1e-6)
    assert placebo["ci_low"] < 1 < placebo["ci_high"]


def test_sensitivity_table_has_every_variant_per_case():
    from ponzoni_eval.stats.timeseries import SENSITIVITY_VARIANTS, its_sensitivity

    monthly = three_cases(seed=26, months_before=24, months_after=24)
    res = its_sensitivity(monthly)
    assert tuple(res.columns) == RESULT_COLUMNS
    per_case = res.groupby("case_id").size()
    assert (per_case == len(SENSITIVITY_VARIANTS) + 1).all()
    default = res.loc[res["group"] == "quasi-Poisson (default)"].set_index("case_id")["effect_size"]
    main = interrupted_time_series(monthly)
    main = main.loc[main["test"] == "its_level_change"].set_index("case_id")["effect_size"]
    pd.testing.assert_series_equal(default, main, check_names=False)
    assert res["effect_size"].notna().all()


def test_pooled_quasi_poisson_uses_one_scale_and_f_tests():
    monthly = three_cases(seed=27, nb_size=5.0, baseline=15.0)
    res = its_case_differences(monthly).set_index("test")
    joint = res.loc["wald_level_change_difference"]
    assert "joint Wald F(2, " in joint["note"] and joint["df"] == 2
    poisson = its_case_differences(monthly, family="poisson").set_index("test")
    # F = chi2 / q with the covariance scaled by phi: chi2_quasi = chi2_poisson / phi
    y = monthly["count"].astype(float)
    import statsmodels.formula.api as smf

    design = monthly.assign(time=monthly["relative_month"] + 18, time_since_start=np.where(monthly["post"] == 1, monthly["relative_month"], 0))
    fit = smf.glm("count ~ (time + post + time_since_start) * C(case_id)", design, family=sm.families.Poisson()).fit()
    phi = fit.pearson_chi2 / fit.df_resid
    assert joint["statistic"] == pytest.approx(poisson.loc["wald_level_change_difference", "statistic"] / phi / 2, rel=1e-6)
    assert joint["p_value"] == pytest.approx(stats.f.sf(joint["statistic"], 2, fit.df_resid), rel=1e-6)
    assert len(y) == joint["n"]


def test_many_cases_compare_each_case_with_the_geometric_mean_rate_ratio():
    from ponzoni_eval.stats.common import MANY_CASES

    cases = [f"s{i:02d}" for i in range(MANY_CASES + 1)]
    monthly = pd.concat([series(case, baseline=15.0, level=1.0 + 0.1 * i, seed=40 + i) for i, case in enumerate(cases)],
                        ignore_index=True)
    res = its_case_differences(monthly)
    assert not res["test"].isin(["level_change_ratio", "slope_change_ratio"]).any()
    vs_mean = res.loc[res["test"] == "level_change_vs_mean"].set_index("case_id")
    assert len(vs_mean) == len(cases)
    per_case = interrupted_time_series(monthly)
    level = per_case.loc[per_case["test"] == "its_level_change"].set_index("case_id")["effect_size"]
    geometric = np.exp(np.log(level).mean())
    assert vs_mean["effect_size"].to_numpy() == pytest.approx((level / geometric).reindex(vs_mean.index).to_numpy(), rel=1e-6)
    pairs = its_case_differences(monthly, comparisons="pairs")
    assert (pairs["test"] == "level_change_ratio").sum() == len(cases) * (len(cases) - 1) // 2


def test_latent_ar1_sandwich_against_the_closed_form_of_zegers_model():
    """Zeger (1988): Var(y_t) = mu + sigma2 mu^2, Cov(y_t, y_s) = sigma2 theta^|t-s| mu^2 for a constant mean mu.

    For the intercept-only model beta = log(ybar), and the sandwich is Var(ybar) / mu^2 =
    [n mu + sigma2 mu^2 (n + 2 sum_k (n - k) theta^k)] / (n mu)^2, with sigma2 and theta the
    moment estimates (residual-df factor n / (n - 1)), computed here by hand.
    """
    from ponzoni_eval.stats.timeseries import _fit_counts

    rng = np.random.default_rng(88)
    n = 48
    latent = np.zeros(n)
    latent[0] = rng.normal(0, 0.3)
    for t in range(1, n):
        latent[t] = 0.6 * latent[t - 1] + rng.normal(0, 0.3 * np.sqrt(1 - 0.36))
    y = rng.poisson(20 * np.exp(latent - 0.045)).astype(float)
    data = pd.DataFrame({"count": y, "case_id": "a"})
    fit = _fit_counts("count ~ 1", data, family="quasipoisson", exposure=None, autocorrelation="latent_ar1",
                      series=data["case_id"].to_numpy())
    mu = y.mean()
    r = y - mu
    factor = n / (n - 1)
    sigma2 = (np.sum(r**2) - n * mu) / (n * mu**2) * factor
    theta = np.sum(r[1:] * r[:-1]) / (sigma2 * (n - 1) * mu**2) * factor
    assert 0 < sigma2 and 0 < theta < 0.95  # the data were drawn so that neither is clipped
    k = np.arange(1, n)
    variance = (n * mu + sigma2 * mu**2 * (n + 2 * np.sum((n - k) * theta**k))) / (n * mu) ** 2
    assert fit.params["Intercept"] == pytest.approx(np.log(mu), rel=1e-9)
    assert (fit.sigma2, fit.rho) == (pytest.approx(sigma2, rel=1e-9), pytest.approx(theta, rel=1e-9))
    assert fit.cov.loc["Intercept", "Intercept"] == pytest.approx(variance, rel=1e-8)
    # more uncertain than independent months with the same marginal variance (theta > 0)
    assert variance > (n * mu + sigma2 * mu**2 * n) / (n * mu) ** 2


def test_latent_ar1_option_reports_its_estimates_and_is_quasi_poisson_only():
    monthly = series(months_before=24, months_after=24, seed=3)
    latent = interrupted_time_series(monthly, autocorrelation="latent_ar1").set_index("effect_name")
    quasi = interrupted_time_series(monthly).set_index("effect_name")
    # the same Poisson coefficients; only the covariance differs
    assert latent["effect_size"].to_numpy() == pytest.approx(quasi["effect_size"].to_numpy(), rel=1e-9)
    assert "latent AR(1) sandwich covariance (Zeger 1988" in latent.loc["rate_ratio_level", "note"]
    assert (latent["df"] == 44).all()
    pooled = its_case_differences(three_cases(months_before=24, months_after=24), autocorrelation="latent_ar1")
    assert pooled["note"].str.contains("latent AR\\(1\\) sandwich").all()
    with pytest.raises(ValueError, match="latent_ar1"):
        interrupted_time_series(monthly, family="poisson", autocorrelation="latent_ar1")
