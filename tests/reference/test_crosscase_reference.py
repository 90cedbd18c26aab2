"""Reference tests: crosscase.py and timeseries.py against published R output.

Every expected number is cited beside it (R call and where its output is
printed). Data too large to type live in tests/reference/data (see README.md).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from ponzoni_eval.stats.ranks import kruskal_dunn
from ponzoni_eval.stats.mixed import mixed_model
from ponzoni_eval.stats.ordinal import ordinal_model
from ponzoni_eval.stats.timeseries import count_regression

DATA = Path(__file__).parent / "data"

# R datasets::airquality, Ozone (ppb) by Month, NA rows dropped (116 of 153 days).
AIRQUALITY_OZONE = {
    "5": [41, 36, 12, 18, 28, 23, 19, 8, 7, 16, 11, 14, 18, 14, 34, 6, 30, 11, 1, 11, 4, 32, 23, 45, 115, 37],
    "6": [29, 71, 39, 23, 21, 37, 20, 12, 13],
    "7": [135, 49, 32, 64, 40, 77, 97, 97, 85, 10, 27, 7, 48, 35, 61, 79, 63, 16, 80, 108, 20, 52, 82, 50, 64, 59],
    "8": [39, 9, 16, 78, 35, 66, 122, 89, 110, 44, 28, 65, 22, 59, 23, 31, 44, 21, 9, 45, 168, 73, 76, 118, 84, 85],
    "9": [96, 78, 73, 91, 47, 32, 20, 23, 21, 24, 44, 21, 28, 9, 13, 46, 18, 13, 24, 16, 13, 23, 36, 7, 14, 30, 14,
          18, 20],
}

# Hollander & Wolfe (1973, p. 116): mucociliary efficiency, the example of R ?kruskal.test.
MUCOCILIARY = {
    "1_normal": [2.9, 3.0, 2.5, 2.6, 3.2],
    "2_airway": [3.8, 2.7, 4.0, 2.4],
    "3_asbestosis": [2.8, 3.4, 3.7, 2.2, 2.0],
}

# Zar (2010): pH in four ponds, the example of FSA::dunnTest (NA dropped: pond 3 has 7 values).
PONDS = {
    "1": [7.68, 7.69, 7.70, 7.70, 7.72, 7.73, 7.73, 7.76],
    "2": [7.71, 7.73, 7.74, 7.74, 7.78, 7.78, 7.80, 7.81],
    "3": [7.74, 7.75, 7.77, 7.78, 7.80, 7.81, 7.84],
    "4": [7.71, 7.71, 7.74, 7.79, 7.81, 7.85, 7.87, 7.91],
}


def as_change(groups: dict, scale: str) -> pd.DataFrame:
    return pd.DataFrame(
        [(case, value) for case, values in groups.items() for value in values], columns=["case_id", "value"]
    ).assign(scale=scale)


def test_kruskal_wallis_airquality_matches_r():
    res = kruskal_dunn(as_change(AIRQUALITY_OZONE, "ozone"), outcome="ozone", n_boot=200)
    kw = res.iloc[0]
    # R: kruskal.test(Ozone ~ Month, data = airquality)
    #    "Kruskal-Wallis chi-squared = 29.267, df = 4, p-value = 6.901e-06"
    #    (R's example output, tests/Examples/stats-Ex.Rout.save)
    assert kw["statistic"] == pytest.approx(29.267, abs=5e-4)
    assert kw["df"] == 4
    assert kw["p_value"] == pytest.approx(6.901e-06, abs=5e-10)
    assert kw["n"] == 116
    # Tomczak & Tomczak (2014): E^2 = H / ((n^2 - 1) / (n + 1)) = 29.267 / 115
    assert kw["effect_size"] == pytest.approx(29.267 / 115, abs=1e-5)


def test_kruskal_wallis_hollander_wolfe_matches_r():
    res = kruskal_dunn(as_change(MUCOCILIARY, "mucociliary"), outcome="mucociliary", n_boot=200)
    kw = res.iloc[0]
    # R: kruskal.test(list(x, y, z)), ?kruskal.test example (Hollander & Wolfe 1973, p. 116)
    #    "Kruskal-Wallis chi-squared = 0.77143, df = 2, p-value = 0.68"
    assert kw["statistic"] == pytest.approx(0.77143, abs=5e-6)
    assert kw["df"] == 2
    assert kw["p_value"] == pytest.approx(0.68, abs=5e-3)
    # R: dunnTest(list(x, y, z)) help-page output, Holm: pval 1.0000 for 2-1, 3-1, 3-2
    assert res.loc[1:, "p_adjusted"].tolist() == pytest.approx([1.0, 1.0, 1.0])


def test_dunn_holm_airquality_matches_r():
    res = kruskal_dunn(as_change(AIRQUALITY_OZONE, "ozone"), outcome="ozone", n_boot=200).set_index("group")
    # R: dunnTest(Ozone ~ factor(Month), data = airquality), Holm via p.adjust; help-page example output
    # ("Dunn's Test for Pairwise Rank Comparisons After a Kruskal-Wallis Test"), two-sided.
    expected = {
        "5 - 6": 1.00000,   # 6-5
        "5 - 7": 9.9e-05,   # 7-5
        "5 - 8": 0.00032,   # 8-5
        "5 - 9": 0.74574,   # 9-5
        "6 - 7": 0.14891,   # 7-6
        "6 - 8": 0.20743,   # 8-6
        "6 - 9": 1.00000,   # 9-6
        "7 - 8": 1.00000,   # 8-7
        "7 - 9": 0.01036,   # 9-7
        "8 - 9": 0.02428,   # 9-8
    }
    for pair, p_holm in expected.items():
        printed_precision = 5e-7 if pair == "5 - 7" else 5e-6  # "9.9e-05"; the others to 5 decimals
        assert res.loc[pair, "p_adjusted"] == pytest.approx(p_holm, abs=printed_precision), pair
    # Signs: the help page prints mean rank differences "later month - earlier month" (7-5: +41.21),
    # our z is earlier - later, so it is negative where R's difference is positive.
    assert res.loc["5 - 7", "statistic"] < 0 and res.loc["7 - 9", "statistic"] > 0


def test_dunn_ponds_matches_fsa_dunntest():
    res = kruskal_dunn(as_change(PONDS, "pH"), outcome="pH", n_boot=200).set_index("group")
    # R: FSA::dunnTest(pH ~ pond, data = ponds2), FSA documentation example output (Zar 2010 data):
    #   Comparison           Z     P.unadj      P.adj
    #        1 - 2 -2.13700630 0.032597479 0.13038992
    #        1 - 3 -2.94934889 0.003184443 0.01592221
    #        2 - 3 -0.88480467 0.376261991 1.00000000
    #        1 - 4 -2.99180882 0.002773299 0.01663979
    #        2 - 4 -0.85480252 0.392660483 0.78532097
    #        3 - 4  0.05898698 0.952962480 0.95296248
    fsa = {
        "1 - 2": (-2.13700630, 0.032597479, 0.13038992),
        "1 - 3": (-2.94934889, 0.003184443, 0.01592221),
        "2 - 3": (-0.88480467, 0.376261991, 1.00000000),
        "1 - 4": (-2.99180882, 0.002773299, 0.01663979),
        "2 - 4": (-0.85480252, 0.392660483, 0.78532097),
        "3 - 4": (0.05898698, 0.952962480, 0.95296248),
    }
    for pair, (z, p_unadj, p_adj_dunn_test) in fsa.items():
        assert res.loc[pair, "statistic"] == pytest.approx(z, abs=5e-8), pair
        assert res.loc[pair, "p_value"] == pytest.approx(p_unadj, abs=5e-9), pair
        # dunn.test's Holm skips p.adjust's monotonicity step; ours (= R p.adjust) is never smaller
        # and agrees where the step does not bind (the smallest p, 1 - 4, and 1 - 2).
        assert res.loc[pair, "p_adjusted"] >= p_adj_dunn_test - 1e-8, pair
    assert res.loc["1 - 4", "p_adjusted"] == pytest.approx(0.01663979, abs=5e-9)
    assert res.loc["1 - 2", "p_adjusted"] == pytest.approx(0.13038992, abs=5e-9)
    # p.adjust(c(P.unadj), "holm") carries the 1 - 4 value up to 1 - 3 (0.0159 < 0.0166).
    assert res.loc["1 - 3", "p_adjusted"] == pytest.approx(0.01663979, abs=5e-9)


def dietox_scores() -> pd.DataFrame:
    dietox = pd.read_csv(DATA / "dietox.csv")
    return pd.DataFrame(
        {"participant_id": dietox["Pig"].astype(str), "Time": dietox["Time"], "value": dietox["Weight"], "scale": "weight"}
    )


@pytest.mark.parametrize(
    "reml, fixef, se, residual_var, pig_var",
    [
        # R: rm <- lmer(Weight ~ Time + (1 | Pig), data = dietox)  (geepack::dietox; lme4)
        #    fixef(rm); sqrt(diag(vcov(rm))); attr(VarCorr(rm), "sc")^2; VarCorr(rm)[[1]][[1]]
        #    as recorded in statsmodels/regression/tests/test_lme.py::test_dietox
        (True, (15.723523, 6.942505), (0.78805374, 0.03338727), 11.36692, 40.39395),
        # R: lmer(Weight ~ Time + (1 | Pig), REML = FALSE, data = dietox), same source
        (False, (15.723517, 6.942506), (0.7829397, 0.0333661), 11.35251, 39.82097),
    ],
)
def test_mixed_model_dietox_matches_lme4(reml, fixef, se, residual_var, pig_var):
    res = mixed_model(dietox_scores(), outcome="weight", formula="value ~ Time", reml=reml)
    fixed = res[res["test"] == "fixed_effect"].set_index("group")
    assert fixed.loc[["Intercept", "Time"], "effect_size"].tolist() == pytest.approx(list(fixef), rel=1e-5)
    standard_errors = fixed["effect_size"] / fixed["statistic"]
    assert standard_errors.loc[["Intercept", "Time"]].tolist() == pytest.approx(list(se), rel=1e-4)
    variances = res[res["effect_name"] == "variance"].set_index("group")["effect_size"]
    assert variances["residual"] == pytest.approx(residual_var, rel=1e-4)
    assert variances["participant_id intercept"] == pytest.approx(pig_var, rel=1e-4)
    assert ("REML" if reml else "ML") in fixed.loc["Time", "note"]


def test_ordinal_model_ucla_matches_mass_polr():
    ucla = pd.read_csv(DATA / "ologit_ucla.csv")
    items = ucla.assign(
        item_id="apply", value=ucla["apply"].map({"unlikely": 1.0, "somewhat likely": 2.0, "very likely": 3.0})
    )
    res = ordinal_model(items, outcome_item="apply", predictors=["pared", "public", "gpa"]).set_index("group")
    # R: polr(apply ~ pared + public + gpa, data = ologit_ucla, method = "logistic", Hess = TRUE)
    #    (MASS 7.3, R 3.4.4; statsmodels/miscmodels/tests/results/results_ordinal_model.py)
    #    coefficients 1.04769011, -0.05878572, 0.61594057; SE 0.2658, 0.2979, 0.2606;
    #    p 8.087070e-05, 8.435464e-01, 1.811594e-02; thresholds 2.203915, 4.299363.
    # polr stops at a looser tolerance than our BFGS fit (Newton from our optimum stays put),
    # so estimates agree to ~1e-4 on the logit scale.
    terms = ["pared (per unit)", "public (per unit)", "gpa (per unit)"]
    log_or = np.log(res.loc[terms, "effect_size"].to_numpy())
    np.testing.assert_allclose(log_or, [1.04769011, -0.05878572, 0.61594057], atol=3e-4)
    np.testing.assert_allclose(log_or / res.loc[terms, "statistic"].to_numpy(), [0.2658, 0.2979, 0.2606], atol=1e-4)
    np.testing.assert_allclose(res.loc[terms, "p_value"], [8.087070e-05, 8.435464e-01, 1.811594e-02], rtol=2e-3)
    np.testing.assert_allclose(res.loc[["1|2", "2|3"], "effect_size"], [2.203915, 4.299363], atol=1e-3)
    assert "cluster" not in res.loc["gpa (per unit)", "note"]


def test_poisson_count_regression_dobson_matches_r_glm():
    # Dobson (1990, p. 93), randomized controlled trial; the example of R ?glm:
    # counts <- c(18,17,15,20,10,20,25,13,12); outcome <- gl(3,1,9); treatment <- gl(3,3)
    dobson = pd.DataFrame(
        {"counts": [18, 17, 15, 20, 10, 20, 25, 13, 12], "outcome": list("123") * 3, "treatment": list("111222333")}
    )
    res = count_regression(dobson, formula="counts ~ outcome + treatment", family="poisson").set_index("group")
    # R: summary(glm(counts ~ outcome + treatment, family = poisson()))  (stats-Ex.Rout.save)
    #                Estimate Std. Error z value Pr(>|z|)
    #   (Intercept)  3.045e+00  1.709e-01  17.815   <2e-16
    #   outcome2    -4.543e-01  2.022e-01  -2.247   0.0246
    #   outcome3    -2.930e-01  1.927e-01  -1.520   0.1285
    #   treatment2   ~0         2.000e-01   0.000   1.0000
    r_glm = {
        "Intercept": (3.045, 0.1709, 17.815),
        "outcome[T.2]": (-0.4543, 0.2022, -2.247),
        "outcome[T.3]": (-0.2930, 0.1927, -1.520),
        "treatment[T.2]": (0.0, 0.2000, 0.0),
    }
    for term, (estimate, std_error, z) in r_glm.items():
        log_ratio = np.log(res.loc[term, "effect_size"])
        assert log_ratio == pytest.approx(estimate, abs=5e-4), term
        assert res.loc[term, "statistic"] == pytest.approx(z, abs=5e-4), term
        if estimate != 0.0:
            assert log_ratio / res.loc[term, "statistic"] == pytest.approx(std_error, abs=5e-5), term
    assert res.loc["outcome[T.2]", "p_value"] == pytest.approx(0.0246, abs=5e-5)
    assert res.loc["outcome[T.3]", "p_value"] == pytest.approx(0.1285, abs=5e-5)


def test_negative_binomial_count_regression_randhie_matches_glm_nb():
    randhie = sm.datasets.randhie.load_pandas().data
    formula = "mdvis ~ lncoins + idp + lpi + fmde + physlm + disea + hlthg + hlthf + hlthp"
    res = count_regression(randhie, formula=formula, family="negative_binomial").set_index("group")
    # R 2.15.1, MASS 7.3-22: glm.nb(mdvis ~ lncoins + idp + lpi + fmde + physlm + disea + hlthg + hlthf + hlthp)
    # on the RAND Health Insurance Experiment data (alpha from Stata nbreg), as recorded in
    # statsmodels/discrete/tests/results/results_discrete.py (RandHIE.negativebinomial_nb2_bfgs).
    terms = ["lncoins", "idp", "lpi", "fmde", "physlm", "disea", "hlthg", "hlthf", "hlthp", "Intercept"]
    glm_nb = [-0.0579469537244314, -0.267787718814838, 0.0412060770911646, -0.0381376804392121, 0.268915772213171,
              0.0381637446219235, -0.0441338846217674, 0.0172521803400544, 0.177960787443151, 0.663556087183864]
    glm_nb_se = [0.00607085853920512, 0.0226125368090765, 0.00405542008282773, 0.00344455937127785,
                 0.0298855063286547, 0.00142421904710063, 0.0199374393307107, 0.0358416931939136,
                 0.0741013728607101, 0.0250354082637892]
    log_ratio = np.log(res.loc[terms, "effect_size"].to_numpy())
    np.testing.assert_allclose(log_ratio, glm_nb, atol=1e-4)
    # glm.nb's SEs treat theta as known; ours come from the joint information matrix (as Stata nbreg):
    # agreement to 3 decimals, as statsmodels' own test.
    np.testing.assert_allclose(log_ratio / res.loc[terms, "statistic"].to_numpy(), glm_nb_se, atol=1e-3)
    assert res.loc["alpha", "effect_size"] == pytest.approx(1.292953339909746, rel=1e-4)  # Stata nbreg alpha
    assert res.loc["lncoins", "note"].startswith("negative binomial (NB2")
