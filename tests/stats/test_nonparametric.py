"""Issue 17, item 3: exact conditional rank tests, one-sided alternatives, Fisher's odds ratio, ANCOVA, epsilon-squared CI."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from ponzoni_eval import stats
from ponzoni_eval._core.errors import DataError
from ponzoni_eval._core.results import RESULT_COLUMNS
from ponzoni_eval.stats import ranks, resampling


def two_groups(x, y, scale="trust"):
    return pd.DataFrame({"case_id": ["a"] * len(x) + ["b"] * len(y), "scale": scale, "value": list(x) + list(y)})


# --- exact distributions -------------------------------------------------------------------------


def test_exact_shift_distribution_counts_sign_assignments():
    # steps 2, 2, 4 (doubled mid-ranks 1, 1, 2): sums over the 8 sign assignments
    probability = resampling.exact_shift_distribution(np.array([2, 2, 4]))
    sums = [0, 2, 2, 4, 4, 6, 6, 8]
    expected = np.bincount(sums, minlength=9) / 8
    assert np.allclose(probability, expected)


def test_exact_rank_sum_distribution_counts_subsets():
    from itertools import combinations

    scores = np.array([2, 5, 5, 8, 10])
    probability = resampling.exact_rank_sum_distribution(scores, 2)
    counts = np.bincount([sum(c) for c in combinations(scores, 2)], minlength=scores.sum() + 1)
    assert np.allclose(probability, counts / math.comb(5, 2))


# --- Mann-Whitney --------------------------------------------------------------------------------


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_mann_whitney_without_ties_equals_scipy_exact(alternative):
    rng = np.random.default_rng(5)
    x, y = rng.normal(0.5, 1, 9), rng.normal(0, 1, 12)
    row = stats.mann_whitney(two_groups(x, y), outcome="trust", alternative=alternative, n_boot=200).iloc[0]
    reference = sps.mannwhitneyu(x, y, alternative=alternative, method="exact")
    assert row.statistic == reference.statistic
    assert row.p_value == pytest.approx(reference.pvalue, rel=1e-10)
    assert list(row.index) == list(RESULT_COLUMNS)


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_mann_whitney_with_ties_equals_complete_enumeration(alternative):
    # Likert-like scale means: many ties; C(13, 6) = 1716 splits enumerated by scipy.
    x = np.array([3.0, 3.5, 4.0, 4.0, 3.5, 4.5, 5.0])
    y = np.array([3.0, 3.0, 3.5, 2.5, 3.5, 4.0])

    def w(a, b, axis=-1):
        ranked = sps.rankdata(np.concatenate([a, b], axis=axis), axis=axis)
        return ranked[..., : a.shape[axis]].sum(axis=axis)

    reference = sps.permutation_test((x, y), w, permutation_type="independent", n_resamples=np.inf,
                                     alternative=alternative, vectorized=True).pvalue
    row = stats.mann_whitney(two_groups(x, y), outcome="trust", alternative=alternative, n_boot=200).iloc[0]
    assert row.p_value == pytest.approx(reference, rel=1e-9)
    assert "exact conditional p with" in row.note


def test_mann_whitney_r_reference_and_effect():
    # R ?wilcox.test: wilcox.test(x, y, alternative = "g") -> W = 35, p-value = 0.1272
    x = [0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46]
    y = [1.15, 0.88, 0.90, 0.74, 1.21]
    row = stats.mann_whitney(two_groups(x, y), outcome="trust", alternative="greater").iloc[0]
    assert row.statistic == 35 and row.p_value == pytest.approx(0.1272, abs=5e-5)
    assert row.effect_size == pytest.approx(2 * 35 / 50 - 1)
    assert row.ci_low < row.effect_size < row.ci_high
    again = stats.mann_whitney(two_groups(x, y), outcome="trust", alternative="greater").iloc[0]
    assert again.ci_low == row.ci_low  # seeded
    assert 0 < row.min_detectable < 1


def test_mann_whitney_not_run_and_bad_arguments():
    three = pd.DataFrame({"case_id": list("aabbcc"), "scale": "trust", "value": [1, 2, 3, 4, 5, 6.0]})
    assert "not run" in stats.mann_whitney(three, outcome="trust").iloc[0].note
    assert stats.mann_whitney(three, outcome="trust", levels=("a", "c")).iloc[0].group == "a - c"
    with pytest.raises(DataError):
        stats.mann_whitney(three, outcome="trust", levels=("a", "b"), alternative="bigger")


# --- Fisher's odds ratio -------------------------------------------------------------------------


def test_fisher_odds_ratio_and_conditional_ci_match_r_tea_tasting():
    # R ?fisher.test, TeaTasting:
    #   fisher.test(TeaTasting) -> p-value = 0.4857, 95% CI 0.2117329 621.9337505, odds ratio 6.408309
    #   fisher.test(TeaTasting, alternative = "greater") -> p-value = 0.2429, 95% CI 0.3135693 Inf
    tea = np.array([[3, 1], [1, 3]])
    row = stats.crosstab_test(tea, effect="odds_ratio").iloc[0]
    assert row.effect_name == "odds_ratio"
    assert row.effect_size == pytest.approx(6.408309, rel=1e-5)
    assert row.ci_low == pytest.approx(0.2117329, rel=1e-4)
    # R finds the upper limit as 1 / uniroot(..., c(0, 1))$root with uniroot's default tolerance
    # (.Machine$double.eps^0.25 = 1.2e-4 on the 1/OR scale), so R's 621.93 is only that precise:
    assert abs(1 / row.ci_high - 1 / 621.9337505) < 1.22e-4
    assert sps.contingency.odds_ratio(tea, kind="conditional").confidence_interval().high == pytest.approx(row.ci_high)
    assert row.p_value == pytest.approx(0.4857143, abs=5e-8)
    assert row.min_detectable > 1
    greater = stats.crosstab_test(tea, alternative="greater", effect="odds_ratio").iloc[0]
    assert greater.p_value == pytest.approx(0.2428571, abs=5e-7)
    assert greater.ci_low == pytest.approx(0.3135693, rel=1e-4) and math.isnan(greater.ci_high)  # Inf -> missing
    default = stats.crosstab_test(tea).iloc[0]
    assert default.effect_name == "cramers_v" and "exact conditional 95% CI [0.2117, 626.2]" in default.note
    with pytest.raises(DataError):
        stats.crosstab_test(tea, effect="phi")


# --- ANCOVA --------------------------------------------------------------------------------------


def ancova_scores(seed=2, n=(12, 15, 9)):
    rng = np.random.default_rng(seed)
    rows = []
    for case, size, effect in zip(("a", "b", "c"), n, (0.0, 0.4, -0.2)):
        t0 = rng.normal(3.2, 0.6, size)
        t2 = 0.8 + 0.7 * t0 + effect + rng.normal(0, 0.4, size)
        for i in range(size):
            pid = f"{case}{i}"
            rows.append(dict(participant_id=pid, case_id=case, wave="t0", scale="trust", value=t0[i]))
            if i != 0:  # one dropout per case
                rows.append(dict(participant_id=pid, case_id=case, wave="t2", scale="trust", value=t2[i]))
    return pd.DataFrame(rows)


def test_change_ancova_matches_pingouin():
    import pingouin as pg

    scores = ancova_scores()
    row = stats.change_ancova(scores, outcome="trust").iloc[0]
    wide = scores.pivot_table(index=["participant_id", "case_id"], columns="wave", values="value").reset_index().dropna()
    reference = pg.ancova(wide, dv="t2", covar="t0", between="case_id").set_index("Source")
    assert row.n == 33 and "3 participant(s) without both scores" in row.note
    assert row.statistic == pytest.approx(reference.loc["case_id", "F"], rel=1e-10)
    assert row.p_value == pytest.approx(reference.loc["case_id", "p_unc"], rel=1e-8)
    assert row.effect_size == pytest.approx(reference.loc["case_id", "np2"], rel=1e-10)
    # CI limits are the noncentrality parameters that put F at the 97.5% and 2.5% points
    df1, df2 = 2, 33 - 4
    for limit, target in ((row.ci_low, 0.975), (row.ci_high, 0.025)):
        ncp = limit / (1 - limit) * (df1 + df2 + 1)
        assert sps.ncf.cdf(row.statistic, df1, df2, ncp) == pytest.approx(target, abs=1e-6)


def test_change_ancova_ci_reaches_zero_when_not_significant():
    rng = np.random.default_rng(9)
    rows = []
    for case in ("a", "b", "c"):
        t0 = rng.normal(3, 0.6, 10)
        t2 = t0 + rng.normal(0, 0.5, 10)
        rows += [dict(participant_id=f"{case}{i}", case_id=case, wave=w, scale="s", value=v)
                 for i in range(10) for w, v in (("t0", t0[i]), ("t2", t2[i]))]
    row = stats.change_ancova(pd.DataFrame(rows), outcome="s").iloc[0]
    if row.p_value > 0.05:
        assert row.ci_low == 0.0


# --- epsilon-squared -----------------------------------------------------------------------------


def test_epsilon_squared_ci_is_the_noncentral_chi2_interval_and_contains_zero_under_the_null():
    rng = np.random.default_rng(4)
    change = pd.DataFrame({"case_id": np.repeat(["a", "b", "c"], 15), "scale": "trust", "value": rng.integers(-4, 5, 45) / 4})
    kw = stats.kruskal_dunn(change, outcome="trust", n_boot=100).iloc[0]
    from ponzoni_eval.stats.power import noncentral_chi2_limits

    low, high = noncentral_chi2_limits(kw.statistic, 2)
    assert kw.ci_low == pytest.approx(low / 44) and kw.ci_high == pytest.approx(high / 44)
    assert (kw.ci_low == 0) == (kw.statistic < sps.chi2.ppf(0.975, 2))
