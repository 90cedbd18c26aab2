"""Unit tests for ponzoni_eval.crosscase: hand-made and seeded simulated frames."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scikit_posthocs
from scipy import stats

from ponzoni_eval.stats.ranks import kruskal_dunn
from ponzoni_eval.stats.mixed import marginal_means, mixed_model
from ponzoni_eval.stats.ordinal import ordinal_model
from ponzoni_eval._core.errors import DataError
from ponzoni_eval._core.results import RESULT_COLUMNS

CASES = ("poelenburg_a", "poelenburg_b", "slotervaart")


def change_frame(seed=0, n_per_case=(12, 9, 15), shifts=(1.0, 0.0, 0.5), rounding=True):
    """Change scores on a 5-point-like scale (rounded to halves, so ties occur)."""
    rng = np.random.default_rng(seed)
    parts = []
    for case, n, shift in zip(CASES, n_per_case, shifts):
        value = shift + rng.normal(0, 0.8, n)
        parts.append(
            pd.DataFrame(
                {
                    "participant_id": [f"{case}_{i}" for i in range(n)],
                    "case_id": case,
                    "role": "professional",
                    "scale": "trust",
                    "before": 3.0,
                    "after": 3.0 + value,
                    "value": np.round(value * 2) / 2 if rounding else value,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def scores_frame(seed=1, n_per_case=20, gains=(1.0, 0.0, 0.6), roles=True, drop=0.1):
    """Scale scores t0/t1/t2 with a random intercept per participant and known case gains."""
    rng = np.random.default_rng(seed)
    people = pd.DataFrame(
        {
            "participant_id": [f"p{i:03d}" for i in range(3 * n_per_case)],
            "case_id": np.repeat(CASES, n_per_case),
            "role": np.tile(["professional", "migrant_org"], 3 * n_per_case // 2) if roles else "professional",
        }
    )
    scores = people.merge(pd.DataFrame({"wave": ["t0", "t1", "t2"]}), how="cross")
    gain = scores["case_id"].map(dict(zip(CASES, gains))) * scores["wave"].map({"t0": 0.0, "t1": 0.5, "t2": 1.0})
    person = pd.Series(rng.normal(0, 0.5, len(people)), index=people["participant_id"])
    scores["value"] = (
        3.0
        + gain
        + 0.3 * (scores["role"] == "professional")
        + scores["participant_id"].map(person).to_numpy()
        + rng.normal(0, 0.3, len(scores))
    )
    scores["scale"] = "trust"
    scores["wave"] = pd.Categorical(scores["wave"], categories=["t0", "t1", "t2"], ordered=True)
    if drop:
        scores = scores.sample(frac=1 - drop, random_state=seed).reset_index(drop=True)
    return scores


# --- kruskal_dunn -------------------------------------------------------------------


def test_kruskal_matches_scipy_with_ties():
    change = change_frame(seed=3)
    res = kruskal_dunn(change, outcome="trust")
    expected = stats.kruskal(*[g["value"].to_numpy() for _, g in change.groupby("case_id")])
    kw = res.iloc[0]
    assert tuple(res.columns) == RESULT_COLUMNS
    assert kw["test"] == "kruskal_wallis"
    assert kw["statistic"] == pytest.approx(expected.statistic, rel=1e-12)
    assert kw["p_value"] == pytest.approx(expected.pvalue, rel=1e-10)
    assert kw["df"] == 2
    assert kw["n"] == len(change)
    assert kw["effect_name"] == "epsilon_squared"
    assert kw["effect_size"] == pytest.approx(expected.statistic / (len(change) - 1))
    assert kw["ci_low"] <= kw["effect_size"] <= kw["ci_high"]


def test_dunn_matches_scikit_posthocs_raw_and_holm():
    change = change_frame(seed=4, n_per_case=(10, 14, 11))
    for method, sp_method in (("none", None), ("holm", "holm"), ("bonferroni", "bonferroni")):
        res = kruskal_dunn(change, outcome="trust", p_adjust=method, n_boot=50).iloc[1:]
        matrix = scikit_posthocs.posthoc_dunn(change, val_col="value", group_col="case_id", p_adjust=sp_method)
        for _, row in res.iterrows():
            a, b = row["group"].split(" - ")
            assert row["p_adjusted"] == pytest.approx(matrix.loc[a, b], rel=1e-9)


def test_dunn_sign_rank_biserial_and_holm_monotone():
    change = change_frame(seed=5, shifts=(2.0, 0.0, 1.0), n_per_case=(15, 15, 15))
    res = kruskal_dunn(change, outcome="trust").set_index("group")
    a_vs_b = res.loc["poelenburg_a - poelenburg_b"]
    assert a_vs_b["statistic"] > 0 and a_vs_b["effect_size"] > 0  # a changed more than b
    x = change.loc[change.case_id == "poelenburg_a", "value"].to_numpy()
    y = change.loc[change.case_id == "poelenburg_b", "value"].to_numpy()
    assert a_vs_b["effect_size"] == pytest.approx(np.sign(x[:, None] - y[None, :]).mean())
    assert a_vs_b["ci_low"] <= a_vs_b["effect_size"] <= a_vs_b["ci_high"]
    dunn = res[res["test"] == "dunn"].sort_values("p_value")
    assert (np.diff(dunn["p_adjusted"].to_numpy()) >= 0).all()
    assert (dunn["p_adjusted"] >= dunn["p_value"]).all()


def test_bootstrap_is_seeded():
    change = change_frame(seed=6)
    first = kruskal_dunn(change, outcome="trust", seed=7, n_boot=300)
    again = kruskal_dunn(change, outcome="trust", seed=7, n_boot=300)
    other = kruskal_dunn(change, outcome="trust", seed=8, n_boot=300)
    pd.testing.assert_frame_equal(first, again)
    assert not np.allclose(first["ci_low"], other["ci_low"])


def test_missing_values_are_dropped_and_counted():
    change = change_frame(seed=9)
    change.loc[[0, 1, 2], "value"] = np.nan
    res = kruskal_dunn(change, outcome="trust", n_boot=50)
    assert res.loc[0, "n"] == len(change) - 3


def test_not_run_rows_instead_of_errors():
    one_case = change_frame().query("case_id == 'slotervaart'")
    res = kruskal_dunn(one_case, outcome="trust")
    assert len(res) == 1 and pd.isna(res.loc[0, "statistic"]) and "fewer than two" in res.loc[0, "note"]
    constant = change_frame().assign(value=0.5)
    res = kruskal_dunn(constant, outcome="trust")
    assert len(res) == 1 and "all change scores are equal" in res.loc[0, "note"]


def test_small_groups_are_flagged():
    res = kruskal_dunn(change_frame(n_per_case=(4, 6, 6)), outcome="trust", n_boot=50)
    assert "poelenburg_a (n = 4)" in res.loc[0, "note"]


def test_input_errors_name_the_problem():
    with pytest.raises(DataError, match="'value'"):
        kruskal_dunn(change_frame().drop(columns="value"), outcome="trust")
    with pytest.raises(DataError, match="scale = 'respect'") as info:
        kruskal_dunn(change_frame(), outcome="respect")
    assert "trust" in str(info.value)
    with pytest.raises(ValueError, match="p_adjust"):
        kruskal_dunn(change_frame(), outcome="trust", p_adjust="tukey")


# --- mixed_model -----------------------------------------------------------------------


def test_mixed_model_recovers_case_changes_and_differences():
    res = mixed_model(scores_frame(), outcome="trust")
    assert tuple(res.columns) == RESULT_COLUMNS
    change = res[res["effect_name"] == "change"].set_index("case_id")
    truth = dict(zip(CASES, (1.0, 0.0, 0.6)))
    for case, true_change in truth.items():
        standard_error = (change.loc[case, "ci_high"] - change.loc[case, "ci_low"]) / (2 * 1.96)
        assert abs(change.loc[case, "effect_size"] - true_change) < 3 * standard_error
        assert change.loc[case, "group"] == "t0->t2"
    diffs = res[res["effect_name"] == "change_difference"].set_index("group")
    assert diffs.loc["poelenburg_a - poelenburg_b: t0->t2", "effect_size"] == pytest.approx(
        change.loc["poelenburg_a", "effect_size"] - change.loc["poelenburg_b", "effect_size"]
    )
    assert diffs.loc["poelenburg_a - poelenburg_b: t0->t2", "p_adjusted"] < 0.001
    assert (diffs["case_id"] == "all").all()
    assert "REML" in res.loc[0, "note"] and "adjusted for role" in res.loc[0, "note"]
    assert "C(role)[T.professional]" in set(res["group"])


def test_mixed_model_variance_components():
    res = mixed_model(scores_frame(n_per_case=40, drop=0, roles=False), outcome="trust", role=False)
    components = res[res["test"] == "variance_component"].set_index("effect_name")
    variances = res[res["effect_name"] == "variance"]["effect_size"].to_numpy()
    assert variances[0] == pytest.approx(0.5**2, abs=0.08)  # simulated participant sd 0.5
    assert variances[1] == pytest.approx(0.3**2, abs=0.02)  # simulated residual sd 0.3
    assert components.loc["icc", "effect_size"] == pytest.approx(variances[0] / variances.sum())


def test_marginal_means_equal_cell_means_in_saturated_balanced_model():
    scores = scores_frame(drop=0, roles=False)
    emm = marginal_means(scores, outcome="trust", role=False)
    cell_means = scores.groupby(["case_id", "wave"], observed=True)["value"].mean()
    assert len(emm) == 9
    for row in emm.itertuples():
        assert row.estimate == pytest.approx(cell_means.loc[(row.case_id, row.wave)], abs=1e-6)
        assert row.ci_low < row.estimate < row.ci_high
        assert row.n == 20


def test_mixed_model_records_convergence_problems_in_note():
    # No within-person variation at all: the residual variance goes to 0 and the variance ratio has no
    # finite optimum. Recorded in the note (and no standard errors), never raised.
    rng = np.random.default_rng(0)
    person = rng.normal(0, 1, 24)
    scores = pd.DataFrame(
        {
            "participant_id": np.repeat([f"p{i}" for i in range(24)], 2),
            "case_id": np.repeat(["a", "b", "c"], 16),
            "wave": ["t0", "t2"] * 24,
            "scale": "trust",
            "value": 3 + np.repeat(person, 2),
        }
    )
    res = mixed_model(scores, outcome="trust", role=False)  # warnings would fail the test (filterwarnings = error)
    assert "did NOT converge" in res.loc[0, "note"]
    assert res.loc[res["test"] == "fixed_effect", "ci_low"].isna().all()


def test_mixed_model_with_mirrored_values_is_a_boundary_fit():
    # Within-person values mirror each other (correlation -1): the likelihood is highest with no
    # participant variance at all; that is a boundary (singular) fit, with estimates.
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 1, 24)
    scores = pd.DataFrame(
        {
            "participant_id": np.repeat([f"p{i}" for i in range(24)], 2),
            "case_id": np.repeat(["a", "b"], 24),
            "wave": ["t0", "t2"] * 24,
            "scale": "trust",
            "value": 3 + np.column_stack([noise, -noise]).ravel(),
        }
    )
    res = mixed_model(scores, outcome="trust", role=False)
    assert "singular fit" in res.loc[0, "note"] and "did NOT converge" not in res.loc[0, "note"]
    assert res.loc[res["test"] == "fixed_effect", "ci_low"].notna().all()


def test_mixed_model_notes_a_singular_fit():
    rng = np.random.default_rng(2)  # pure noise: participant variance estimated at 0 for this seed
    scores = pd.DataFrame(
        {
            "participant_id": np.repeat([f"p{i}" for i in range(30)], 3),
            "case_id": np.repeat(["a", "b", "c"], 30),
            "wave": ["t0", "t1", "t2"] * 30,
            "scale": "trust",
        }
    )
    scores["value"] = 3 + rng.normal(0, 1, len(scores))
    res = mixed_model(scores, outcome="trust", role=False)
    assert "singular fit" in res.loc[0, "note"]


def test_mixed_model_skips_case_without_follow_up():
    scores = scores_frame(drop=0)
    scores = scores[~((scores["case_id"] == "slotervaart") & (scores["wave"] == "t2"))]
    res = mixed_model(scores, outcome="trust")
    change = res[res["effect_name"] == "change"].set_index("case_id")
    assert pd.isna(change.loc["slotervaart", "effect_size"])
    assert "no data in t0 or t2" in change.loc["slotervaart", "note"]
    assert not res["group"].str.contains("slotervaart: t0->t2").any()


def test_mixed_model_not_run_and_errors():
    tiny = scores_frame().query("participant_id in ['p000', 'p001']")
    res = mixed_model(tiny, outcome="trust")
    assert len(res) == 1 and "at least 3" in res.loc[0, "note"]
    with pytest.raises(DataError, match="formula"):
        mixed_model(scores_frame(), outcome="trust", formula="value ~ C(wave) * C(site)")
    with pytest.raises(DataError, match="participant_id"):
        mixed_model(scores_frame().drop(columns="participant_id"), outcome="trust")


def test_mixed_model_without_case_terms_has_no_contrasts():
    res = mixed_model(scores_frame(), outcome="trust", formula="value ~ C(wave)", role=False)
    assert set(res["test"]) == {"fixed_effect", "model_fit", "variance_component"}


# --- ordinal_model ------------------------------------------------------------------------


def items_frame(seed=3, n=60, effect=1.2, categories=(-1.0, 0.0, 1.0, 2.0)):
    rng = np.random.default_rng(seed)
    people = [f"p{i}" for i in range(n)]
    frame = pd.DataFrame(
        {
            "participant_id": np.tile(people, 2),
            "case_id": np.tile(np.repeat(["a", "b"], n // 2), 2),
            "wave": np.repeat(["t0", "t2"], n),
            "item_id": "trust_1",
        }
    )
    latent = (frame["wave"] == "t2") * effect + rng.logistic(size=len(frame))
    frame["value"] = np.digitize(latent, categories) + 1.0
    return frame


def test_ordinal_model_recovers_direction_and_reports_thresholds():
    res = ordinal_model(items_frame(n=200), outcome_item="trust_1")
    assert tuple(res.columns) == RESULT_COLUMNS
    wave = res.set_index("group").loc["wave: t2 vs t0"]
    assert wave["effect_name"] == "odds_ratio"
    assert wave["ci_low"] < np.exp(1.2) < wave["ci_high"]
    thresholds = res[res["test"] == "threshold"]
    assert thresholds["group"].tolist() == ["1|2", "2|3", "3|4", "4|5"]
    assert (np.diff(thresholds["effect_size"].to_numpy()) > 0).all()
    assert "cluster-robust SEs by participant_id" in wave["note"]


def test_ordinal_model_without_cluster_matches_model_based_se():
    data = items_frame(n=80)
    clustered = ordinal_model(data, outcome_item="trust_1")
    plain = ordinal_model(data, outcome_item="trust_1", cluster=None)
    assert clustered.loc[0, "effect_size"] == pytest.approx(plain.loc[0, "effect_size"])
    assert clustered.loc[0, "ci_high"] != pytest.approx(plain.loc[0, "ci_high"])
    assert "cluster" not in plain.loc[0, "note"]


def test_ordinal_model_notes_empty_category():
    data = items_frame()
    data = data[data["value"] != 3]
    res = ordinal_model(data, outcome_item="trust_1")
    assert "categories [3] not chosen by anyone" in res.loc[0, "note"]
    assert res.loc[res["test"] == "threshold", "group"].tolist() == ["1|2", "2|4", "4|5"]


def test_ordinal_model_falls_back_with_a_note():
    single = items_frame().assign(value=4.0)
    res = ordinal_model(single, outcome_item="trust_1")
    assert len(res) == 1 and "fewer than two categories" in res.loc[0, "note"]
    separated = items_frame()
    separated["value"] = np.where(separated["wave"] == "t2", 5.0, separated["value"].clip(upper=4))
    res = ordinal_model(separated, outcome_item="trust_1")
    assert len(res) == 1 and "not fitted" in res.loc[0, "note"] and pd.isna(res.loc[0, "effect_size"])
    no_predictor = items_frame().assign(case_id="a", wave="t0")
    res = ordinal_model(no_predictor, outcome_item="trust_1")
    assert "no predictor varies" in res.loc[0, "note"]


def test_ordinal_model_input_errors():
    with pytest.raises(DataError, match="item_id = 'respect_1'"):
        ordinal_model(items_frame(), outcome_item="respect_1")
    with pytest.raises(DataError, match="'role'"):
        ordinal_model(items_frame(), outcome_item="trust_1", predictors=["wave", "role"])


@pytest.mark.parametrize("reml", [True, False])
def test_mixed_model_matches_statsmodels_mixedlm(reml):
    # The profiled likelihood from group sums fits the same model as statsmodels' MixedLM
    # (missing waves, unequal group sizes, a role covariate): same optimum, same fixed effects.
    import statsmodels.formula.api as smf

    scores = scores_frame(seed=4, n_per_case=24, drop=0.15)
    res = mixed_model(scores, outcome="trust", reml=reml)
    reference = smf.mixedlm("value ~ C(wave) * C(case_id) + C(role)", scores, groups=scores["participant_id"]).fit(reml=reml)
    fixed = res[res["test"] == "fixed_effect"].set_index("group")
    np.testing.assert_allclose(fixed.loc[reference.fe_params.index, "effect_size"], reference.fe_params, atol=1e-5)
    np.testing.assert_allclose(fixed.loc[reference.fe_params.index, "effect_size"] / fixed.loc[reference.fe_params.index, "statistic"],
                               reference.bse_fe, rtol=2e-3)
    variances = res[res["effect_name"] == "variance"].set_index("group")["effect_size"]
    assert variances["participant_id intercept"] == pytest.approx(float(reference.cov_re.iloc[0, 0]), rel=1e-3)
    assert variances["residual"] == pytest.approx(reference.scale, rel=1e-4)


def test_holm_adjustment_is_statsmodels_holm_exactly():
    # Holm is computed natively (statsmodels' multipletests runs gc.collect() on every Holm call);
    # the numbers must be the same bits, ties included. R: p.adjust(p, "holm") gives the same.
    from statsmodels.stats.multitest import multipletests

    from ponzoni_eval.stats.multitest import adjust_p

    rng = np.random.default_rng(7)
    for n in (1, 3, 40, 2000):
        p = rng.random(n) ** 3
        p[: n // 4] = p[0]
        with_missing = np.append(p, np.nan)
        adjusted = adjust_p(with_missing, "holm")
        assert np.array_equal(adjusted[:-1], multipletests(p, method="holm")[1]) and np.isnan(adjusted[-1])
    assert adjust_p(np.array([0.01, 0.04, 0.03]), "holm").tolist() == pytest.approx([0.03, 0.06, 0.06])  # R p.adjust


# --- issue 17: Satterthwaite df, model fit rows, minimum case size ---------------------------------


def _split_plot_anova(scores, g, n, m):
    """The split-plot ANOVA of balanced data by hand: {effect: (F, numerator df, denominator df)} and the within MS."""
    grand = scores["value"].mean()
    case_mean = scores.groupby("case_id")["value"].transform("mean")
    wave_mean = scores.groupby("wave")["value"].transform("mean")
    cell_mean = scores.groupby(["case_id", "wave"])["value"].transform("mean")
    subject_mean = scores.groupby("participant_id")["value"].transform("mean")
    ms_case = ((case_mean - grand) ** 2).sum() / (g - 1)
    ms_subject = ((subject_mean - case_mean) ** 2).sum() / (g * (n - 1))
    ms_wave = ((wave_mean - grand) ** 2).sum() / (m - 1)
    ms_inter = ((cell_mean - case_mean - wave_mean + grand) ** 2).sum() / ((g - 1) * (m - 1))
    ms_error = ((scores["value"] - subject_mean - cell_mean + case_mean) ** 2).sum() / (g * (n - 1) * (m - 1))
    within = g * (n - 1) * (m - 1)
    expected = {"case": (ms_case / ms_subject, g - 1, g * (n - 1)), "wave": (ms_wave / ms_error, m - 1, within),
                "wave x case": (ms_inter / ms_error, (g - 1) * (m - 1), within)}
    return expected, ms_error


def _balanced_split_plot(seed=3, n_per_case=8, cases=("a", "b", "c"), waves=("t0", "t1", "t2")):
    rng = np.random.default_rng(seed)
    rows = []
    for c, case in enumerate(cases):
        for i in range(n_per_case):
            person = rng.normal(0, 0.7)
            for w, wave in enumerate(waves):
                rows.append((f"{case}{i}", case, wave, 3 + 0.2 * c + 0.3 * w + person + rng.normal(0, 0.5)))
    scores = pd.DataFrame(rows, columns=["participant_id", "case_id", "wave", "value"]).assign(scale="trust")
    return scores, len(cases), n_per_case, len(waves)


def test_satterthwaite_df_equal_the_classical_split_plot_df():
    """Balanced data, interior REML estimates = ANOVA estimates: lmerTest's df are the textbook ones.

    Within-participant contrasts (a case's change, differences of changes) live in the residual stratum:
    df = g (n - 1) (m - 1). A cell mean mixes the strata: Var = (tau^2 + sigma^2) / n with
    tau^2 + sigma^2 = (MS_subject + (m - 1) MS_error) / m, whose Satterthwaite df is
    (a1 MS1 + a2 MS2)^2 / ((a1 MS1)^2 / df1 + (a2 MS2)^2 / df2), a1 = 1/m, a2 = (m-1)/m,
    df1 = g (n - 1), df2 = g (n - 1)(m - 1).
    """
    from ponzoni_eval.stats.mixed import marginal_means, mixed_model

    scores, g, n, m = _balanced_split_plot()
    res = mixed_model(scores, outcome="trust", role=False)
    contrasts = res.loc[res["test"] == "contrast"]
    within_df = g * (n - 1) * (m - 1)
    assert contrasts["df"].to_numpy() == pytest.approx(np.full(len(contrasts), within_df), rel=1e-4)
    # t and p: a t test on those df
    row = contrasts.iloc[0]
    se = (row["ci_high"] - row["ci_low"]) / (2 * stats.t.ppf(0.975, row["df"]))
    assert row["statistic"] == pytest.approx(row["effect_size"] / se, rel=1e-8)
    assert row["p_value"] == pytest.approx(2 * stats.t.sf(abs(row["statistic"]), row["df"]), rel=1e-8)
    # the mean squares of the split-plot ANOVA
    subject_mean = scores.groupby("participant_id")["value"].transform("mean")
    cell_mean = scores.groupby(["case_id", "wave"])["value"].transform("mean")
    case_mean = scores.groupby("case_id")["value"].transform("mean")
    ms_subject = m * ((subject_mean - case_mean) ** 2).sum() / m / (g * (n - 1))
    error = scores["value"] - subject_mean - cell_mean + case_mean
    ms_error = (error**2).sum() / (g * (n - 1) * (m - 1))
    a1, a2 = 1 / m, (m - 1) / m
    df_cell = (a1 * ms_subject + a2 * ms_error) ** 2 / ((a1 * ms_subject) ** 2 / (g * (n - 1)) + (a2 * ms_error) ** 2 / within_df)
    emm = marginal_means(scores, outcome="trust", role=False)
    first = emm.iloc[0]
    crit = (first["ci_high"] - first["estimate"]) / first["se"]
    assert crit == pytest.approx(stats.t.ppf(0.975, df_cell), rel=1e-5)
    assert first["se"] ** 2 == pytest.approx((a1 * ms_subject + a2 * ms_error) / n, rel=1e-6)


def test_mixed_model_reports_loglik_aic_and_flags():
    from ponzoni_eval.stats.mixed import mixed_model

    scores, *_ = _balanced_split_plot(seed=4)
    res = mixed_model(scores, outcome="trust", role=False)
    fit = res.loc[res["test"] == "model_fit"].set_index("effect_name")["effect_size"]
    assert set(fit.index) == {"loglik", "aic", "converged", "singular"}
    fixed = (res["test"] == "fixed_effect").sum()
    assert fit["aic"] == pytest.approx(-2 * fit["loglik"] + 2 * (fixed + 2))
    assert fit["converged"] == 1 and fit["singular"] == 0
    # a participant variance at 0: singular, flagged
    flat = scores.copy()
    flat["value"] = 3 + np.random.default_rng(9).normal(0, 0.5, len(flat))
    flat_fit = mixed_model(flat.assign(participant_id=np.arange(len(flat)) % 5), outcome="trust", role=False)
    flags = flat_fit.loc[flat_fit["test"] == "model_fit"].set_index("effect_name")["effect_size"]
    assert flags["singular"] in (0.0, 1.0)


def test_mixed_model_loglik_matches_lme4_dietox():
    from ponzoni_eval.stats.mixed import mixed_model

    dietox = pd.read_csv(Path(__file__).resolve().parents[1] / "reference" / "data" / "dietox.csv")
    scores = pd.DataFrame({"participant_id": dietox["Pig"].astype(str), "Time": dietox["Time"],
                           "value": dietox["Weight"], "scale": "weight"})
    res = mixed_model(scores, outcome="weight", formula="value ~ Time")
    fit = res.loc[res["test"] == "model_fit"].set_index("effect_name")["effect_size"]
    # R: logLik(lmer(Weight ~ Time + (1 | Pig), data = dietox)) = -2404.775 (REML), as recorded in
    # statsmodels/regression/tests/test_lme.py::test_dietox
    assert fit["loglik"] == pytest.approx(-2404.775, rel=1e-6)
    # Time varies within pigs: its Satterthwaite df is close to the residual stratum's N - pigs - 1
    fixed = res.loc[res["test"] == "fixed_effect"].set_index("group")
    assert fixed.loc["Time", "df"] == pytest.approx(861 - 72 - 1, rel=0.02)


def test_cases_below_the_minimum_size_are_flagged_not_estimated():
    from ponzoni_eval.stats.mixed import MIN_PARTICIPANTS_PER_CASE, mixed_model

    scores, *_ = _balanced_split_plot(seed=5, n_per_case=8)
    tiny = scores.loc[~((scores["case_id"] == "c") & ~scores["participant_id"].isin(["c0", "c1"]))]
    res = mixed_model(tiny, outcome="trust", role=False)
    change = res.loc[res["effect_name"] == "change"].set_index("case_id")
    assert "not estimated: 2 participant(s)" in change.loc["c", "note"] and np.isnan(change.loc["c", "effect_size"])
    assert change.loc["c", "n"] == 2 < MIN_PARTICIPANTS_PER_CASE
    differences = res.loc[res["effect_name"] == "change_difference", "group"].tolist()
    assert differences == ["a - b: t0->t2"]


def test_many_cases_compare_each_case_with_the_mean_change():
    from ponzoni_eval.stats.mixed import MANY_CASES, mixed_model

    cases = tuple(f"s{i:02d}" for i in range(MANY_CASES + 2))
    scores, *_ = _balanced_split_plot(seed=6, n_per_case=6, cases=cases)
    res = mixed_model(scores, outcome="trust", role=False)
    change = res.loc[res["effect_name"] == "change"].set_index("case_id")["effect_size"]
    deviation = res.loc[res["effect_name"] == "change_deviation"].set_index("case_id")
    assert len(deviation) == len(cases) and not (res["effect_name"] == "change_difference").any()
    assert deviation["effect_size"].to_numpy() == pytest.approx((change - change.mean()).reindex(deviation.index).to_numpy())
    assert deviation["effect_size"].sum() == pytest.approx(0, abs=1e-10)
    # Holm over the k deviations
    from statsmodels.stats.multitest import multipletests

    assert deviation["p_adjusted"].to_numpy() == pytest.approx(multipletests(deviation["p_value"], method="holm")[1])
    # balanced: within-participant contrasts, residual-stratum df
    assert deviation["df"].to_numpy() == pytest.approx(np.full(len(cases), len(cases) * 5 * 2), rel=1e-4)
    pairs = mixed_model(scores, outcome="trust", role=False, comparisons="pairs")
    assert (pairs["effect_name"] == "change_difference").sum() == len(cases) * (len(cases) - 1) // 2
    few = mixed_model(_balanced_split_plot(seed=6)[0], outcome="trust", role=False, comparisons="mean")
    assert (few["effect_name"] == "change_deviation").sum() == 3
    with pytest.raises(ValueError, match="comparisons"):
        mixed_model(scores, outcome="trust", role=False, comparisons="all")


def test_whole_effect_f_tests_equal_the_split_plot_anova():
    """Balanced data: lmerTest's type III F tests are the split-plot ANOVA's (Satterthwaite df = stratum df)."""
    from ponzoni_eval.stats.mixed import mixed_model

    scores, g, n, m = _balanced_split_plot(seed=7)
    res = mixed_model(scores, outcome="trust", role=False)
    f_tests = res.loc[res["test"] == "f_test"].set_index("group")
    expected, _ = _split_plot_anova(scores, g, n, m)
    for effect, (f, q, df) in expected.items():
        row = f_tests.loc[effect]
        assert row["statistic"] == pytest.approx(f, rel=1e-6), effect
        assert row["effect_size"] == q and row["df"] == pytest.approx(df, rel=1e-3), effect
        assert row["p_value"] == pytest.approx(stats.f.sf(f, q, df), rel=1e-3), effect


# --- issue 17: Kenward-Roger df (ddf = "kenward-roger") --------------------------------------------------


def test_kenward_roger_equals_the_split_plot_anova():
    """Balanced data: Kenward-Roger reproduces the exact split-plot F and t tests (Kenward & Roger 1997, sec. 5)."""
    scores, g, n, m = _balanced_split_plot(seed=7)
    kr = mixed_model(scores, outcome="trust", role=False, ddf="kenward-roger")
    sat = mixed_model(scores, outcome="trust", role=False)
    f_tests = kr.loc[kr["test"] == "f_test"].set_index("group")
    within = g * (n - 1) * (m - 1)
    expected, ms_error = _split_plot_anova(scores, g, n, m)
    for effect, (f, q, df) in expected.items():
        row = f_tests.loc[effect]
        # analytic derivatives and expected information: the stratum df to rounding, not to 1e-3
        assert row["statistic"] == pytest.approx(f, rel=1e-6), effect
        assert row["effect_size"] == q and row["df"] == pytest.approx(df, rel=1e-6), effect
        assert row["p_value"] == pytest.approx(stats.f.sf(f, q, df), rel=1e-6), effect
        assert "Kenward-Roger" in row["note"]
    contrasts = kr.loc[kr["test"] == "contrast"]
    assert contrasts["df"].to_numpy() == pytest.approx(np.full(len(contrasts), within), rel=1e-6)
    changes = contrasts.loc[contrasts["effect_name"] == "change"]
    cell = scores.groupby(["case_id", "wave"])["value"].mean()
    for _, row in changes.iterrows():
        change = cell[(row["case_id"], "t2")] - cell[(row["case_id"], "t0")]
        assert row["statistic"] == pytest.approx(change / np.sqrt(2 * ms_error / n), rel=1e-6)
    assert contrasts["statistic"].to_numpy() == pytest.approx(
        sat.loc[sat["test"] == "contrast", "statistic"].to_numpy(), rel=1e-6)


def _kr_by_hand(fit, hypothesis, structure="intercept"):
    """Kenward & Roger (1997) transcribed with the full N x N matrices (as pbkrtest's vcovAdj / KRmodcomp).

    V = sum_i phi_i G_i with G_i = dV/dphi_i written out for the structure (intercept: ZZ', I; slope:
    ZZ', same-person (w_a + w_b), same-person w_a w_b, I; unstructured: same-person wave indicators);
    W = 2 [tr(P~ G_i P~ G_j)]^-1; Phi_A = Phi + 2 Phi U Phi; then A1, A2, B, g, c1-c3, E*, V*, rho, m,
    lambda of KRmodcomp. Returns (Phi_A, scaled F, q, m).
    """
    from ponzoni_eval.stats.mixed import _formula_design

    design = _formula_design(fit.formula, fit.data)
    x = design.rows[design.row_of][:, fit.kept]
    result = fit.result
    z = np.eye(fit.data[fit.groups].nunique())[pd.factorize(fit.data[fit.groups])[0]]
    same = z @ z.T
    wave = pd.Categorical(fit.data["wave"].astype(str), categories=["t0", "t1", "t2"]).codes
    if structure == "intercept":
        params = [float(result.cov_re[0, 0]), float(result.scale)]
        g_mats = [same, np.eye(len(x))]
    elif structure == "slope":
        position = wave / 2.0
        params = list(result.phi)
        g_mats = [same, same * (position[:, None] + position[None, :]), same * np.outer(position, position), np.eye(len(x))]
    else:
        params = list(result.phi)
        g_mats = []
        for i in range(3):
            for j in range(i + 1):
                pick = np.outer(wave == i, wave == j).astype(float)
                g_mats.append(same * (pick if i == j else pick + pick.T))
    v_inv = np.linalg.inv(sum(value * g for value, g in zip(params, g_mats)))
    phi = np.linalg.inv(x.T @ v_inv @ x)
    p_mats = [-x.T @ v_inv @ g @ v_inv @ x for g in g_mats]
    q_mats = [[x.T @ v_inv @ gi @ v_inv @ gj @ v_inv @ x for gj in g_mats] for gi in g_mats]
    p_tilde = v_inv - v_inv @ x @ phi @ x.T @ v_inv
    information = np.array([[np.trace(p_tilde @ gi @ p_tilde @ gj) for gj in g_mats] for gi in g_mats])
    w = 2 * np.linalg.inv(information)
    k = len(g_mats)
    u = sum(w[i, j] * (q_mats[i][j] - p_mats[i] @ phi @ p_mats[j]) for i in range(k) for j in range(k))
    phi_a = phi + 2 * phi @ u @ phi
    ell = np.atleast_2d(hypothesis)
    q = np.linalg.matrix_rank(ell)
    theta = ell.T @ np.linalg.solve(ell @ phi @ ell.T, ell)
    a1 = a2 = 0.0
    for i in range(k):
        for j in range(k):
            ui, uj = theta @ phi @ p_mats[i] @ phi, theta @ phi @ p_mats[j] @ phi
            a1 += w[i, j] * np.trace(ui) * np.trace(uj)
            a2 += w[i, j] * np.sum(ui * uj.T)
    b = (a1 + 6 * a2) / (2 * q)
    g = ((q + 1) * a1 - (q + 4) * a2) / ((q + 2) * a2)
    c1, c2, c3 = g / (3 * q + 2 * (1 - g)), (q - g) / (3 * q + 2 * (1 - g)), (q + 2 - g) / (3 * q + 2 * (1 - g))
    rho = 1 / q * ((1 - a2 / q) / (1 - c2 * b)) ** 2 * (1 + c1 * b) / (1 - c3 * b)
    m = 4 + (q + 2) / (q * rho - 1)
    scaling = m * (1 - a2 / q) / (m - 2)
    beta = result.fe_params.to_numpy()
    wald = float((ell @ beta) @ np.linalg.solve(ell @ phi_a @ ell.T, ell @ beta)) / q
    return phi_a, scaling * wald, q, m


@pytest.mark.parametrize("cases", [("a", "b", "c"), tuple("abcdefghi")])  # dense fit; cell-means fit (> MANY_CASES)
def test_kenward_roger_matches_a_full_matrix_transcription_in_unbalanced_data(cases):
    from ponzoni_eval.stats.mixed import _cell_contrasts, _fit_mixed

    scores, g, n, m = _balanced_split_plot(seed=11, n_per_case=8, cases=cases)
    rng = np.random.default_rng(5)
    scores = scores.drop(index=rng.choice(len(scores), len(scores) // 8, replace=False))  # dropout: unbalanced
    res = mixed_model(scores, outcome="trust", role=False, ddf="kenward-roger")
    fit = _fit_mixed(scores, outcome="trust", formula="value ~ C(wave) * C(case_id)", groups="participant_id",
                     role=False, reml=True, scale_column="scale")
    assert fit.result.gamma > 1e-3  # interior fit: both variance parameters free
    # one-df contrasts: SE from Phi_A, df = KR's m for q = 1
    grid = pd.DataFrame({"case_id": list(cases)})
    change_l = _cell_contrasts(fit, grid.assign(wave="t2")) - _cell_contrasts(fit, grid.assign(wave="t0"))
    changes = res.loc[res["effect_name"] == "change"].set_index("case_id")
    beta = fit.result.fe_params.to_numpy()
    for i, case in enumerate(cases):
        phi_a, f, q, df = _kr_by_hand(fit, change_l[i])
        assert q == 1
        assert changes.loc[case, "statistic"] == pytest.approx(change_l[i] @ beta / np.sqrt(change_l[i] @ phi_a @ change_l[i]),
                                                               rel=1e-6)
        assert changes.loc[case, "statistic"] ** 2 == pytest.approx(f, rel=1e-6)
        assert changes.loc[case, "df"] == pytest.approx(df, rel=1e-6)
    fixed = res.loc[res["test"] == "fixed_effect"].reset_index(drop=True)
    for i in (0, len(fixed) - 1):
        _, f, _, df = _kr_by_hand(fit, np.eye(len(beta))[i])
        assert fixed.loc[i, "statistic"] ** 2 == pytest.approx(f, rel=1e-6) and fixed.loc[i, "df"] == pytest.approx(df, rel=1e-6)
    # the multi-df F test of wave x case
    waves = ["t0", "t1", "t2"]
    cells = _cell_contrasts(fit, pd.DataFrame([(c, w) for c in cases for w in waves], columns=["case_id", "wave"]))
    diff = lambda k: np.eye(k)[:-1] - np.eye(k)[1:]  # noqa: E731
    _, f, q, df = _kr_by_hand(fit, np.kron(diff(len(cases)), diff(3)) @ cells)
    row = res.loc[(res["test"] == "f_test") & (res["group"] == "wave x case")].iloc[0]
    assert row["effect_size"] == q
    assert row["statistic"] == pytest.approx(f, rel=1e-6) and row["df"] == pytest.approx(df, rel=1e-6)
    assert row["p_value"] == pytest.approx(stats.f.sf(f, q, df), rel=1e-6)
    # unbalanced: KR differs from Satterthwaite (expected vs observed information, adjusted Phi)
    sat = mixed_model(scores, outcome="trust", role=False)
    assert not np.allclose(sat.loc[sat["test"] == "f_test", "df"], res.loc[res["test"] == "f_test", "df"], rtol=1e-6)


@pytest.mark.parametrize("structure", ["slope", "unstructured"])
def test_kenward_roger_of_the_other_structures_matches_the_full_matrix_transcription(structure):
    from ponzoni_eval.stats.mixed import _cell_contrasts, _fit_mixed

    scores, g, n, m = _balanced_split_plot(seed=11, n_per_case=10)
    rng = np.random.default_rng(5)
    scores = scores.assign(value=scores["value"] + rng.normal(0, 0.4, len(scores)) * scores["wave"].map({"t0": 0, "t1": 0.5, "t2": 1}))
    scores = scores.drop(index=rng.choice(len(scores), len(scores) // 8, replace=False))
    res = mixed_model(scores, outcome="trust", role=False, structure=structure, ddf="kenward-roger")
    fit = _fit_mixed(scores, outcome="trust", formula="value ~ C(wave) * C(case_id)", groups="participant_id",
                     role=False, reml=True, scale_column="scale", structure=structure)
    assert not fit.result.singular  # interior: every variance parameter free
    cases = ["a", "b", "c"]
    change_l = _cell_contrasts(fit, pd.DataFrame({"case_id": cases, "wave": "t2"})) \
        - _cell_contrasts(fit, pd.DataFrame({"case_id": cases, "wave": "t0"}))
    changes = res.loc[res["effect_name"] == "change"].set_index("case_id")
    for i, case in enumerate(cases):
        _, f, _, df = _kr_by_hand(fit, change_l[i], structure)
        assert changes.loc[case, "statistic"] ** 2 == pytest.approx(f, rel=1e-5)
        assert changes.loc[case, "df"] == pytest.approx(df, rel=1e-5)
        assert "t tests with Kenward-Roger df (pbkrtest)" in changes.loc[case, "note"]
    cells = _cell_contrasts(fit, pd.DataFrame([(c, w) for c in cases for w in ["t0", "t1", "t2"]], columns=["case_id", "wave"]))
    diff = lambda k: np.eye(k)[:-1] - np.eye(k)[1:]  # noqa: E731
    _, f, q, df = _kr_by_hand(fit, np.kron(diff(3), diff(3)) @ cells, structure)
    row = res.loc[(res["test"] == "f_test") & (res["group"] == "wave x case")].iloc[0]
    assert row["statistic"] == pytest.approx(f, rel=1e-5) and row["df"] == pytest.approx(df, rel=1e-5)


def test_kenward_roger_option_checks():
    scores, *_ = _balanced_split_plot(seed=4)
    with pytest.raises(ValueError, match="ddf"):
        mixed_model(scores, outcome="trust", role=False, ddf="kr")
    with pytest.raises(ValueError, match="ddf"):
        marginal_means(scores, outcome="trust", role=False, ddf="kr")
    emm = marginal_means(scores, outcome="trust", role=False, ddf="kenward-roger")
    emm_sat = marginal_means(scores, outcome="trust", role=False)
    assert emm["estimate"].to_numpy() == pytest.approx(emm_sat["estimate"].to_numpy(), rel=1e-12)


def test_kenward_roger_on_the_pbkrtest_shoes_example():
    """MASS ``shoes`` (wear of materials A and B, one foot each of ten boys), the pbkrtest vignette's example
    ("01 - Introduction to pbkrtest", Hojsgaard & Halekoh): ``lmer(wear ~ material + (1|boyf))`` with
    Kenward-Roger is the paired t test printed there, t = -3.35 (A - B), df 9, p = 0.00854."""
    a = [13.2, 8.2, 10.9, 14.3, 10.7, 6.6, 9.5, 10.8, 8.8, 13.3]
    b = [14.0, 8.8, 11.2, 14.2, 11.8, 6.4, 9.8, 11.3, 9.3, 13.6]
    shoes = pd.DataFrame({"participant_id": [f"boy{i}" for i in range(10)] * 2, "wave": ["A"] * 10 + ["B"] * 10,
                          "value": a + b, "scale": "wear"})
    res = mixed_model(shoes, outcome="wear", formula="value ~ C(wave)", role=False, ddf="kenward-roger")
    row = res.loc[(res["test"] == "fixed_effect") & (res["group"] == "C(wave)[T.B]")].iloc[0]
    assert row["effect_size"] == pytest.approx(0.41, abs=1e-10)
    assert row["statistic"] == pytest.approx(3.35, abs=5e-3) and row["df"] == pytest.approx(9.0, rel=1e-6)
    assert row["p_value"] == pytest.approx(0.00854, abs=5e-6)
    assert row["ci_low"] == pytest.approx(0.133, abs=5e-4) and row["ci_high"] == pytest.approx(0.687, abs=5e-4)
