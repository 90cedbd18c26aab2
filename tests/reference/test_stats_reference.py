"""Reference tests: ponzoni_eval.stats against published numbers.

Every expected number is cited beside it: an R call with its documented or
widely reproduced output, a paper, or a package's own verified example. The
tolerance matches the precision of the published number.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pingouin as pg
import pytest

from ponzoni_eval import stats
from ponzoni_eval._core.results import result_frame
from ponzoni_eval.stats import crosstab
from ponzoni_eval.stats import scale_reliability

# --- data sets ----------------------------------------------------------------------------

# Hollander & Wolfe (1973, p. 29), R ?wilcox.test: Hamilton depression scale at the
# first (x) and second (y) visit of nine patients.
DEPRESSION_X = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30]
DEPRESSION_Y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29]

# R datasets::sleep (Student 1908): extra hours of sleep of ten patients on drug 1 and 2.
SLEEP_DRUG1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
SLEEP_DRUG2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]

# Lakens (2013, Table 1): ratings of two movies by the same ten people.
MOVIE_1 = [9, 7, 8, 9, 8, 9, 9, 10, 9, 9]
MOVIE_2 = [9, 6, 7, 8, 7, 9, 8, 8, 8, 7]

# Agresti (2007, Table 2.5), R ?chisq.test: party identification by gender.
PARTY_BY_GENDER = np.array([[762, 327, 468], [484, 239, 477]])


def paired_scores(after, before, scale="outcome") -> pd.DataFrame:
    """A scores frame holding one pair per participant (t0 = before, t2 = after)."""
    n = len(after)
    return pd.DataFrame(
        {
            "participant_id": [f"p{i:02d}" for i in range(n)] * 2,
            "wave": ["t2"] * n + ["t0"] * n,
            "scale": scale,
            "value": list(map(float, after)) + list(map(float, before)),
        }
    )


def row(results: pd.DataFrame, test: str) -> pd.Series:
    selected = results[results["test"] == test]
    assert len(selected) == 1
    return selected.iloc[0]


def wide_to_survey(wide: pd.DataFrame, low: float, high: float):
    """A wide item matrix (rows = people) as survey_responses, instrument and participants."""
    items = [str(c) for c in wide.columns]
    people = [f"s{i:02d}" for i in range(len(wide))]
    instrument = pd.DataFrame(
        {"item_id": items, "scale": "scale", "response_min": low, "response_max": high, "reverse_coded": False, "roles": "professional"}
    )
    participants = pd.DataFrame({"participant_id": people, "case_id": "reference", "role": "professional"})
    long = wide.set_axis(items, axis=1).assign(participant_id=people).melt(id_vars="participant_id", var_name="item_id", value_name="value")
    responses = long.assign(wave="t0", value=long["value"].astype(float))
    return responses, instrument, participants


# --- paired tests -------------------------------------------------------------------------------


def test_wilcoxon_exact_matches_r_depression_example():
    # R: wilcox.test(x, y, paired = TRUE) -> V = 40, p-value = 0.03906 (?wilcox.test)
    res = stats.pre_post(paired_scores(DEPRESSION_X, DEPRESSION_Y), outcome="outcome", by=None)
    wilcoxon = row(res, "wilcoxon_signed_rank")
    assert wilcoxon.statistic == 40
    assert wilcoxon.p_value == pytest.approx(0.03906, abs=5e-6)
    assert "exact conditional p" in wilcoxon.note  # without ties: R's exact p
    r_way = row(stats.pre_post(paired_scores(DEPRESSION_X, DEPRESSION_Y), outcome="outcome", by=None,
                               options=stats.PairedOptions(wilcoxon_p="r")), "wilcoxon_signed_rank")
    assert r_way.p_value == pytest.approx(0.03906, abs=5e-6) and "exact p" in r_way.note
    # R: wilcox.test(x, y, paired = TRUE, alternative = "greater") -> p-value = 0.01953
    greater = row(stats.pre_post(paired_scores(DEPRESSION_X, DEPRESSION_Y), outcome="outcome", by=None,
                                 options=stats.PairedOptions(alternative="greater")), "wilcoxon_signed_rank")
    assert greater.p_value == pytest.approx(0.01953, abs=5e-6) and "one-sided p (greater)" in greater.note


def test_wilcoxon_with_zero_and_ties_matches_r_sleep():
    # R: wilcox.test(extra ~ group, data = sleep, paired = TRUE)
    #    -> V = 0, p-value = 0.009091 ("cannot compute exact p-value with ties / zeroes")
    options = stats.PairedOptions(wilcoxon_p="r")
    res = stats.pre_post(paired_scores(SLEEP_DRUG1, SLEEP_DRUG2), outcome="outcome", by=None, options=options)
    wilcoxon = row(res, "wilcoxon_signed_rank")
    assert wilcoxon.statistic == 0
    assert wilcoxon.p_value == pytest.approx(0.009091, abs=5e-7)
    assert wilcoxon.n == 9  # one zero difference dropped, as R does
    assert "normal approximation with continuity correction" in wilcoxon.note
    assert "1 zero difference(s) dropped" in wilcoxon.note


def test_wilcoxon_exact_conditional_with_zero_and_ties_sleep():
    # All 9 non-zero differences share one sign: of the 2^9 equally likely sign assignments of the
    # (tied) mid-ranks only one gives V = 0 and one V = 45, so the exact conditional p is 2 / 512
    # (coin::wilcoxsign_test(extra ~ group, sleep, distribution = "exact", zero.method = "Wilcoxon")).
    res = stats.pre_post(paired_scores(SLEEP_DRUG1, SLEEP_DRUG2), outcome="outcome", by=None)
    wilcoxon = row(res, "wilcoxon_signed_rank")
    assert wilcoxon.statistic == 0 and wilcoxon.n == 9
    assert wilcoxon.p_value == pytest.approx(2 / 512, rel=1e-12)
    assert "exact conditional p with 1 group(s) of tied ranks" in wilcoxon.note


def test_paired_t_matches_r_sleep():
    # R: t.test(extra ~ group, data = sleep, paired = TRUE) -> t = -4.0621, df = 9, p-value = 0.002833
    res = stats.pre_post(paired_scores(SLEEP_DRUG1, SLEEP_DRUG2), outcome="outcome", by=None)
    t_row = row(res, "paired_t")
    assert t_row.statistic == pytest.approx(-4.0621, abs=5e-5)
    assert t_row.df == 9
    assert t_row.p_value == pytest.approx(0.002833, abs=5e-7)


def test_paired_t_and_effect_sizes_match_lakens_2013():
    # Lakens (2013), Table 1 movie ratings; reproduced in the tests of R package apa
    # (t_apa): paired t(9) = 4.74, d_z = 1.50; Lakens reports d_av = 1.13 (eq. 10,
    # mean difference over the mean of the two SDs, .82 and .95) and Hedges' g = 1.08
    # with the correction 1 - 3 / (4(n1 + n2) - 9), n1 = n2 = 10.
    res = stats.pre_post(paired_scores(MOVIE_1, MOVIE_2), outcome="outcome", by=None)
    t_row = row(res, "paired_t")
    assert t_row.statistic == pytest.approx(4.74, abs=0.005)
    assert t_row.statistic / np.sqrt(t_row.n) == pytest.approx(1.50, abs=0.005)  # d_z = t / sqrt(n)
    assert t_row.effect_name == "hedges_g_av"
    assert t_row.effect_size == pytest.approx(1.08, abs=0.005)
    d_av = t_row.effect_size / (1 - 3 / (4 * 20 - 9))
    assert d_av == pytest.approx(1.13, abs=0.005)
    assert t_row.ci_low < t_row.effect_size < t_row.ci_high


def test_rank_biserial_and_ci_match_effectsize_depression():
    # R effectsize::rank_biserial(x, y, paired = TRUE) on the depression data
    # (effectsize tests/testthat/test-rankES.R): r = 0.777, CI [0.2953631, 0.9441559]
    options = stats.PairedOptions(rank_biserial_ci="fisher_z")
    res = stats.pre_post(paired_scores(DEPRESSION_X, DEPRESSION_Y), outcome="outcome", by=None, options=options)
    wilcoxon = row(res, "wilcoxon_signed_rank")
    assert wilcoxon.effect_name == "rank_biserial_r"
    assert wilcoxon.effect_size == pytest.approx(0.777, abs=0.001)  # (40 - 5) / 45
    assert wilcoxon.ci_low == pytest.approx(0.2953631, abs=1e-6)
    assert wilcoxon.ci_high == pytest.approx(0.9441559, abs=1e-6)


# --- contingency tables -------------------------------------------------------------------------


def test_chisq_matches_r_agresti_party_identification():
    # R: chisq.test(M) (?chisq.test; Agresti 2007) -> X-squared = 30.07, df = 2, p-value = 2.954e-07
    res = stats.crosstab_test(PARTY_BY_GENDER).iloc[0]
    assert res.test == "chi2"
    assert res.statistic == pytest.approx(30.07, abs=0.005)
    assert res.df == 2
    assert res.p_value == pytest.approx(2.954e-07, rel=5e-4)
    assert "asymptotic" in res.note


def test_adjusted_residuals_match_r_stdres():
    # R: chisq.test(M)$stdres -> F: 4.5020535 0.6994517 -5.3159455; M: the negatives
    # (Agresti 2007 reports the adjusted residuals 4.50, 0.70, -5.32)
    data = pd.DataFrame(
        [
            (gender, party)
            for gender, counts in zip(["F", "M"], PARTY_BY_GENDER)
            for party, count in zip(["Democrat", "Independent", "Republican"], counts)
            for _ in range(count)
        ],
        columns=["gender", "party"],
    )
    cells = stats.crosstab_residuals(data, row="gender", col="party").set_index(["gender", "party"])
    expected = {
        ("F", "Democrat"): 4.5020535,
        ("F", "Independent"): 0.6994517,
        ("F", "Republican"): -5.3159455,
        ("M", "Democrat"): -4.5020535,
        ("M", "Independent"): -0.6994517,
        ("M", "Republican"): 5.3159455,
    }
    for cell, value in expected.items():
        assert cells.loc[cell, "adjusted_residual"] == pytest.approx(value, abs=5e-8)
    # Pearson residuals, R chisq.test(M)$residuals: F Democrat 2.1988558, M Republican 3.2386734
    assert cells.loc[("F", "Democrat"), "pearson_residual"] == pytest.approx(2.1988558, abs=5e-8)
    assert cells.loc[("M", "Republican"), "pearson_residual"] == pytest.approx(3.2386734, abs=5e-8)


def test_chisq_and_cramers_v_match_effectsize_example():
    # R effectsize ?chisq_to_cramers_v: chisq.test(table) -> X-squared = 41.234, df = 4,
    # p-value = 2.405e-08; tests/testthat/test-xtab.R: cramers_v() = 0.072 with the
    # one-sided 95% lower limit 0.051 (= the lower limit of a two-sided 90% interval).
    table = np.array([[762, 327, 468], [484, 239, 477], [484, 239, 477]])
    res = stats.crosstab_test(table).iloc[0]
    assert res.statistic == pytest.approx(41.234, abs=5e-4)
    assert res.df == 4
    assert res.p_value == pytest.approx(2.405e-08, rel=5e-4)
    assert res.effect_size == pytest.approx(0.072, abs=5e-4)
    _, lower_90, _ = crosstab._cramers_v(res.statistic, res.n, table.shape, level=0.90)
    assert lower_90 == pytest.approx(0.051, abs=5e-4)


def test_fisher_exact_matches_r_tea_tasting():
    # R: fisher.test(TeaTasting) -> p-value = 0.4857, odds ratio (conditional MLE) 6.408309
    res = stats.crosstab_test(np.array([[3, 1], [1, 3]])).iloc[0]
    assert res.test == "fisher_exact"
    assert res.p_value == pytest.approx(0.4857143, abs=5e-8)
    assert res.statistic == pytest.approx(6.408309, rel=1e-5)


# --- reliability -------------------------------------------------------------------------------


def test_cronbach_alpha_matches_pingouin_example():
    # pingouin.cronbach_alpha(data=read_dataset("cronbach_alpha"), items="Items",
    # scores="Scores", subject="Subj") -> (0.5917188485995826, array([0.195, 0.84]))
    data = pg.read_dataset("cronbach_alpha")
    wide = data.pivot(index="Subj", columns="Items", values="Scores")
    res = stats.reliability(*wide_to_survey(wide, 1, 7), by=None)
    alpha = row(res, "cronbach_alpha")
    assert alpha.effect_size == pytest.approx(0.5917188485995826, abs=1e-12)
    assert (round(alpha.ci_low, 3), round(alpha.ci_high, 3)) == (0.195, 0.84)


def test_cronbach_alpha_listwise_matches_psych():
    # pingouin docs: read_dataset("cronbach_wide_missing") with nan_policy="listwise"
    # -> 0.8016949152542373; "In R: psych::alpha(data, use = 'complete.obs')".
    data = pg.read_dataset("cronbach_wide_missing")
    res = stats.reliability(*wide_to_survey(data, 0, 1), by=None)
    alpha = row(res, "cronbach_alpha")
    assert alpha.n == 9  # 12 people, 3 with a missing answer
    assert alpha.effect_size == pytest.approx(0.8016949152542373, abs=1e-12)
    assert "3 participant(s) with a missing item left out" in alpha.note
    # pingouin's CI for this call, [0.581, 0.933], takes n = 12 from the table before
    # the listwise deletion; the Feldt interval for the 9 complete cases is wider:
    # 1 - (1 - alpha) F(.975 / .025; 8, 80) = [0.533, 0.947].
    assert (round(alpha.ci_low, 3), round(alpha.ci_high, 3)) == (0.533, 0.947)


def test_one_factor_ml_matches_r_factanal():
    # R: r = 0.4; cm = r^abs(outer(0:3, 0:3, "-")); factanal(covmat = cm, factors = 1)
    # -> loadings 0.4009399224 0.6464550935 0.6464550935 0.4009399224,
    #    uniquenesses 0.8392472054 0.5820958187 0.5820958187 0.8392472054
    # (quoted in statsmodels/multivariate/tests/test_ml_factor.py::test_1factor)
    index = np.arange(4)
    correlation = 0.4 ** np.abs(np.subtract.outer(index, index))
    loadings, uniquenesses, converged = scale_reliability._one_factor_ml(correlation)
    assert converged
    np.testing.assert_allclose(loadings, [0.4009399224, 0.6464550935, 0.6464550935, 0.4009399224], atol=1e-6)
    np.testing.assert_allclose(uniquenesses, [0.8392472054, 0.5820958187, 0.5820958187, 0.8392472054], atol=1e-6)


# --- multiplicity and power --------------------------------------------------------------------

# Benjamini & Hochberg (1995, section 4.2): the 15 p-values of Neuhaus et al.
BH_1995 = [0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.3240, 0.4262, 0.5719, 0.6528, 0.7590, 1.000]


def test_benjamini_hochberg_rejects_four_as_published():
    # Benjamini & Hochberg (1995): at q = .05 the FDR procedure rejects the four
    # smallest p-values, the Bonferroni procedure three.
    res = result_frame([dict(analysis="neuhaus", test=f"h{i}", p_value=p) for i, p in enumerate(BH_1995)])
    bh = stats.adjust_pvalues(res, method="fdr_bh")
    assert (bh["p_adjusted"] <= 0.05).sum() == 4
    assert bh["p_adjusted"].iloc[3] == pytest.approx(0.0095 * 15 / 4)
    bonferroni = stats.adjust_pvalues(res, method="bonferroni")
    assert (bonferroni["p_adjusted"] <= 0.05).sum() == 3


def test_min_detectable_paired_matches_pwr():
    # R: pwr::pwr.t.test(n = 32, power = .8, sig.level = .05, type = "paired") -> d = 0.5112738
    assert stats.min_detectable_effect(32, test="paired_t") == pytest.approx(0.5112738, abs=5e-7)


def test_min_detectable_two_sample_matches_power_t_test():
    # R ?power.t.test: power.t.test(n = 20, delta = 1) -> power = 0.8689528;
    # power.t.test(power = .80, delta = 1) -> n = 16.71477 (per group)
    assert stats.min_detectable_effect(20, test="two_sample_t", power=0.8689528) == pytest.approx(1.0, abs=1e-5)
    assert stats.min_detectable_effect(16.71477, test="two_sample_t") == pytest.approx(1.0, abs=1e-5)


def test_min_detectable_chisq_matches_pwr():
    # R: pwr::pwr.chisq.test(w = 0.3, df = 2, sig.level = 0.05, power = 0.8) -> N = 107.0521
    assert stats.min_detectable_effect(107.0521, test="chi2", df=2) == pytest.approx(0.3, abs=1e-5)


def test_cramers_v_ci_matches_statpsych():
    # R statpsych::ci.cramer(.05, 19.21, 2, 3, 200) documents: Estimate 0.3099, LL 0.1601, UL 0.4417
    # (noncentral chi-square method, Smithson 2003). A 2 x 3 table has k = min(2, 3) = 2, df = 2.
    v, low, high = crosstab._cramers_v(19.21, 200, (2, 3))
    assert v == pytest.approx(0.3099, abs=5e-5)
    assert low == pytest.approx(0.1601, abs=5e-5)
    assert high == pytest.approx(0.4417, abs=5e-5)


# mtcars mpg by transmission (am = 0: 19 automatic, am = 1: 13 manual), R datasets.
MTCARS_MPG_AUTOMATIC = [21.4, 18.7, 18.1, 14.3, 24.4, 22.8, 19.2, 17.8, 16.4, 17.3, 15.2, 10.4, 10.4, 14.7, 21.5, 15.5, 15.2, 13.3, 19.2]
MTCARS_MPG_MANUAL = [21.0, 21.0, 22.8, 32.4, 30.4, 33.9, 27.3, 26.0, 30.4, 15.8, 19.7, 15.0, 21.4]


def test_perception_gap_between_roles_matches_r_welch_t_and_effectsize_hedges_g():
    # The two roles' changes are independent samples: with the automatic cars' mpg as the target's change
    # in own willingness and the manual cars' as the perceiver's change in perceived willingness,
    # R: t.test(mpg ~ am, data = mtcars) -> t = -3.7671, df = 18.332, p-value = 0.001374;
    # effectsize::hedges_g(mpg ~ am, data = mtcars) -> g = -1.440635, 95% CI [-2.208767, -0.653640]
    # (effectsize 0.8.3, as stored in the tests of R package tidystats, tests/data/effectsize.json).
    rows = [dict(participant_id=f"a{i}", case_id="x", role="migrant_org", wave="t0", scale="own_willingness", value=0.0)
            for i in range(19)]
    rows += [dict(participant_id=f"a{i}", case_id="x", role="migrant_org", wave="t2", scale="own_willingness", value=v)
             for i, v in enumerate(MTCARS_MPG_AUTOMATIC)]
    rows += [dict(participant_id=f"m{i}", case_id="x", role="professional", wave="t0", scale="perceived_willingness", value=0.0)
             for i in range(13)]
    rows += [dict(participant_id=f"m{i}", case_id="x", role="professional", wave="t2", scale="perceived_willingness", value=v)
             for i, v in enumerate(MTCARS_MPG_MANUAL)]
    res = stats.perception_gap_between_roles(pd.DataFrame(rows))
    target = res.loc[res["group"] == "target=migrant_org, perceiver=professional, t0->t2"].iloc[0]
    assert (target.test, target.n, target.effect_name) == ("welch_t", 32, "hedges_g")
    assert target.statistic == pytest.approx(-3.7671, abs=5e-5)
    assert target.df == pytest.approx(18.332, abs=5e-4)
    assert target.p_value == pytest.approx(0.001374, abs=5e-7)
    assert target.effect_size == pytest.approx(-1.440635, rel=1e-6)
    assert (target.ci_low, target.ci_high) == (pytest.approx(-2.208767, rel=1e-6), pytest.approx(-0.653640, rel=1e-6))
    # the other direction (professionals' own willingness, the organisations' view of them) has no data here: not run, says why
    other = res.loc[res["group"] == "target=professional, perceiver=migrant_org, t0->t2"].iloc[0]
    assert np.isnan(other.p_value) and "not run" in other.note
