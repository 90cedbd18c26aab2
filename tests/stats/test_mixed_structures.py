"""Issue 17: covariance structures of the mixed model (random slope, organisation, MMRM, wave x case x role),
checked against closed forms in balanced complete data and against statsmodels MixedLM where they overlap."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ponzoni_eval.stats import mixed
from ponzoni_eval.stats.mixed import marginal_means, mixed_model

WAVES = ("t0", "t1", "t2")


def panel(seed=0, n_per_case=(15, 12, 18), slope_sd=0.5, org_sd=0.0, dropout=0.1, gains=(0.0, 0.4, 0.8)):
    """Scores of participants in cases and organisations over three waves: random intercepts and slopes."""
    rng = np.random.default_rng(seed)
    rows = []
    for case, n, gain in zip("abc", n_per_case, gains):
        org_effect = {f"{case}_o{j}": rng.normal(0, org_sd) if org_sd else 0.0 for j in range(4)}
        for i in range(n):
            org = f"{case}_o{i % 4}"
            person, slope = rng.normal(0, 0.6), rng.normal(0, slope_sd) if slope_sd else 0.0
            for k, wave in enumerate(WAVES):
                if k and rng.random() < dropout * k:
                    continue
                rows.append(dict(participant_id=f"{case}{i}", case_id=case, wave=wave, scale="trust",
                                 role=("professional", "member")[i % 2], organisation=org,
                                 value=3 + org_effect[org] + person + (gain + slope) * k / 2 + rng.normal(0, 0.4)))
    return pd.DataFrame(rows)


def _rows(result, test):
    return result.loc[result["test"] == test]


def test_general_intercept_fit_equals_the_profiled_fit():
    data = panel(1)
    design = mixed._formula_design("value ~ C(wave) * C(case_id)", data)
    index, position, _ = mixed._wave_positions(data["wave"])
    fast = mixed._random_intercept_fit(design.rows, design.row_of, design.y, data["participant_id"].to_numpy(),
                                       design.names, reml=True)
    general = mixed._general_fit(design.rows[design.row_of], design.y, data["participant_id"].to_numpy(), index,
                                 position, None, design.names, structure="intercept", reml=True)
    assert general.minus2l == pytest.approx(fast.minus2l, abs=1e-7)
    np.testing.assert_allclose(general.fe_params.to_numpy(), fast.fe_params.to_numpy(), atol=1e-7)
    assert general.components[0][1] == pytest.approx(float(fast.cov_re[0, 0]), rel=1e-5)
    contrasts = np.eye(len(design.names))
    np.testing.assert_allclose(mixed._satterthwaite_df(general, contrasts), mixed._satterthwaite_df(fast, contrasts),
                               rtol=1e-3)


@pytest.mark.parametrize("reml", [True, False])
def test_random_slope_matches_statsmodels_mixedlm(reml):
    import statsmodels.formula.api as smf

    data = panel(2)
    result = mixed_model(data, outcome="trust", role=False, structure="slope", reml=reml)
    data = data.assign(w=data["wave"].map({"t0": 0.0, "t1": 0.5, "t2": 1.0}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = smf.mixedlm("value ~ C(wave) * C(case_id)", data, groups="participant_id",
                                re_formula="~w").fit(reml=reml, method=["lbfgs"])
    fit = _rows(result, "model_fit").set_index("effect_name")["effect_size"]
    assert fit["loglik"] == pytest.approx(reference.llf, abs=1e-4)
    fixed = _rows(result, "fixed_effect")["effect_size"].to_numpy()
    np.testing.assert_allclose(fixed, reference.fe_params.to_numpy(), atol=1e-4)
    # (standard errors: statsmodels takes them from its joint Hessian, lme4 and this package from
    # (X' V^-1 X)^-1; they are checked against the closed form below)
    components = _rows(result, "variance_component").set_index("group")["effect_size"]
    assert components["participant_id intercept"] == pytest.approx(reference.cov_re.iloc[0, 0], rel=1e-3)
    assert components["participant_id slope of wave"] == pytest.approx(reference.cov_re.iloc[1, 1], rel=1e-3)
    assert components["participant_id intercept-slope covariance"] == pytest.approx(reference.cov_re.iloc[0, 1],
                                                                                      abs=1e-4)
    assert components["residual"] == pytest.approx(reference.scale, rel=1e-3)


def test_random_slope_df_and_se_equal_the_two_stage_closed_form_in_balanced_data():
    """Balanced, complete data, y = b0 + b1 w + (1 + w | person): the REML GLS slope is the mean of the
    per-person OLS slopes, its SE their SD / sqrt(n), and its Satterthwaite df n - 1 (as lmerTest's 17 df
    for Days in sleepstudy, 18 subjects)."""
    data = panel(3, n_per_case=(20, 0, 0), dropout=0.0, slope_sd=0.6)
    data = data.assign(w=data["wave"].map({"t0": 0.0, "t1": 0.5, "t2": 1.0}))
    result = mixed_model(data, outcome="trust", role=False, structure="slope", formula="value ~ w")
    slopes = data.groupby("participant_id").apply(lambda d: np.polyfit(d["w"], d["value"], 1)[0])
    row = _rows(result, "fixed_effect").set_index("group").loc["w"]
    n = len(slopes)
    assert row["effect_size"] == pytest.approx(slopes.mean(), abs=1e-6)
    assert row["effect_size"] / row["statistic"] == pytest.approx(slopes.std(ddof=1) / np.sqrt(n), rel=1e-4)
    assert row["df"] == pytest.approx(n - 1, rel=2e-3)


def test_unstructured_covariance_equals_the_pooled_within_case_covariance_in_balanced_data():
    """MMRM in balanced complete data with saturated case x wave means: REML Sigma = the pooled within-case
    covariance (divisor N - k), the change per case = the difference of cell means with SE
    sqrt(l' Sigma l / n_case) and Satterthwaite df N - k (the paired t test on the pooled variance)."""
    data = panel(4, n_per_case=(10, 10, 10), dropout=0.0)
    result = mixed_model(data, outcome="trust", role=False, structure="unstructured")
    wide = data.pivot(index="participant_id", columns="wave", values="value")
    case_of = data.groupby("participant_id")["case_id"].first()
    centred = wide - wide.groupby(case_of).transform("mean")
    n_total, k = len(wide), 3
    pooled = centred.T @ centred / (n_total - k)
    components = _rows(result, "variance_component").set_index("group")["effect_size"]
    assert components["participant_id wave t0"] == pytest.approx(pooled.loc["t0", "t0"], rel=1e-4)
    assert components["participant_id wave t2"] == pytest.approx(pooled.loc["t2", "t2"], rel=1e-4)
    assert components["participant_id wave t0, t2"] == pytest.approx(pooled.loc["t0", "t2"], rel=1e-4)
    change = result.loc[result["effect_name"] == "change"].set_index("case_id")
    means = wide.groupby(case_of).mean()
    variance = pooled.loc["t0", "t0"] + pooled.loc["t2", "t2"] - 2 * pooled.loc["t0", "t2"]
    for case in "abc":
        assert change.loc[case, "effect_size"] == pytest.approx(means.loc[case, "t2"] - means.loc[case, "t0"], abs=1e-6)
        se = change.loc[case, "effect_size"] / change.loc[case, "statistic"]
        assert se == pytest.approx(np.sqrt(variance / 10), rel=1e-4)
        assert change.loc[case, "df"] == pytest.approx(n_total - k, rel=2e-3)
        t = change.loc[case, "effect_size"] / np.sqrt(variance / 10)
        assert change.loc[case, "p_value"] == pytest.approx(2 * stats.t.sf(abs(t), n_total - k), rel=1e-3)


def test_organisation_variance_component_matches_statsmodels_vc_formula():
    import statsmodels.formula.api as smf

    data = panel(5, org_sd=0.5, slope_sd=0.0)
    result = mixed_model(data, outcome="trust", role=False, organisation="organisation")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = smf.mixedlm("value ~ C(wave) * C(case_id)", data, groups="organisation", re_formula="1",
                                vc_formula={"person": "0 + C(participant_id)"}).fit(reml=True, method=["lbfgs"])
    fit = _rows(result, "model_fit").set_index("effect_name")["effect_size"]
    assert fit["loglik"] == pytest.approx(reference.llf, abs=1e-4)
    components = _rows(result, "variance_component").set_index("group")["effect_size"]
    assert components["organisation intercept"] == pytest.approx(reference.cov_re.iloc[0, 0], rel=1e-3)
    assert components["participant_id intercept"] == pytest.approx(reference.vcomp[0], rel=1e-3)
    assert components["residual"] == pytest.approx(reference.scale, rel=1e-3)
    np.testing.assert_allclose(_rows(result, "fixed_effect")["effect_size"].to_numpy(),
                               reference.fe_params.to_numpy(), atol=1e-4)


def test_organisation_must_nest_participants():
    data = panel(6)
    data.loc[data["wave"] == "t2", "organisation"] = "elsewhere"
    result = mixed_model(data, outcome="trust", organisation="organisation")
    assert len(result) == 1 and "not nested" in result["note"].iloc[0]


def test_compare_reports_both_aics_the_mixture_lrt_and_the_chosen_structure():
    for seed, slope_sd, chosen in ((7, 0.9, "random slope of wave"), (8, 0.0, "random intercept")):
        data = panel(seed, n_per_case=(25, 25, 25), slope_sd=slope_sd)
        result = mixed_model(data, outcome="trust", structure="compare")
        comparison = _rows(result, "model_comparison").set_index("effect_name")
        aics = comparison.loc["aic"].set_index("group")["effect_size"]
        intercept = mixed_model(data, outcome="trust")
        slope = mixed_model(data, outcome="trust", structure="slope")
        loglik = {name: _rows(r, "model_fit").set_index("effect_name").loc["loglik", "effect_size"]
                  for name, r in (("intercept", intercept), ("slope", slope))}
        assert aics["random intercept: AIC (REML)"] == pytest.approx(
            _rows(intercept, "model_fit").set_index("effect_name").loc["aic", "effect_size"])
        lrt = comparison.loc["lrt"]
        expected = max(2 * (loglik["slope"] - loglik["intercept"]), 0.0)
        assert lrt["statistic"] == pytest.approx(expected, abs=1e-6)
        assert lrt["p_value"] == pytest.approx(0.5 * stats.chi2.sf(expected, 1) + 0.5 * stats.chi2.sf(expected, 2))
        assert f"chosen: {chosen}" in lrt["note"]
        assert f"structure chosen by the REML LRT: {chosen}" in result["note"].iloc[0]


def test_two_waves_fall_back_to_the_intercept_with_a_note():
    data = panel(9).query("wave != 't1'")
    result = mixed_model(data, outcome="trust", structure="slope")
    assert "no random slope: 2 wave(s)" in result["note"].iloc[0]
    assert "participant_id intercept / total" in set(_rows(result, "variance_component")["group"])


def test_wave_by_case_by_role_terms_and_role_averaged_changes():
    data = panel(10, n_per_case=(16, 16, 16), dropout=0.0, slope_sd=0.0)
    result = mixed_model(data, outcome="trust", role_by_wave=True)
    terms = set(_rows(result, "fixed_effect")["group"])
    assert any(term.count(":") == 2 and "C(role)" in term for term in terms)
    # balanced roles, complete data: the role-averaged change is the mean of the two roles' cell-mean changes
    change = result.loc[result["effect_name"] == "change"].set_index("case_id")["effect_size"]
    cell = data.groupby(["case_id", "role", "wave"])["value"].mean().unstack("wave")
    expected = (cell["t2"] - cell["t0"]).groupby(level="case_id").mean()
    np.testing.assert_allclose(change.loc[list("abc")].to_numpy(), expected.loc[list("abc")].to_numpy(), atol=1e-8)


def test_marginal_means_accept_the_structures():
    data = panel(11)
    for structure in ("slope", "unstructured", "compare"):
        means = marginal_means(data, outcome="trust", structure=structure)
        assert len(means) == 9 and means["se"].notna().all() and (means["ci_low"] < means["ci_high"]).all()


def test_unknown_structure_is_refused():
    with pytest.raises(ValueError, match="structure"):
        mixed_model(panel(12), outcome="trust", structure="ar1")
