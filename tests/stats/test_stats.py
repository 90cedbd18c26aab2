"""Tests for ponzoni_eval.stats: behaviour, edge cases, errors and simulations.

Reference values from R and publications are in tests/reference/test_stats_reference.py;
here the tests check the contract (shape, notes, small samples), agreement with
scipy where both implement the same test, and recovery of known effects in
seeded simulated data.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from ponzoni_eval import stats
from ponzoni_eval._core.errors import DataError
from ponzoni_eval._core.results import RESULT_COLUMNS, result_frame, stack_results
from ponzoni_eval.stats.transforms import item_responses, score_scales
from ponzoni_eval.stats import paired
from ponzoni_eval.stats import scale_reliability
from ponzoni_eval.stats import constants

# --- builders ------------------------------------------------------------------------------


def paired_scores(after, before, *, scale="trust", case_id="slotervaart", role="professional", first_id=0):
    n = len(after)
    ids = [f"{case_id[:3]}{role[:3]}{first_id + i:03d}" for i in range(n)]
    return pd.DataFrame(
        {
            "participant_id": ids * 2,
            "case_id": case_id,
            "role": role,
            "wave": ["t2"] * n + ["t0"] * n,
            "scale": scale,
            "value": np.r_[np.asarray(after, float), np.asarray(before, float)],
        }
    )


def labels() -> dict[str, str]:
    return dict(analysis="test", case_id="x", group="", outcome="y")


def simulated_survey(seed: int, *, n_per_group: int = 14, loadings=(0.8, 0.7, 0.6, 0.5), trust_gain=None):
    """Seeded survey data: a 4-item trust scale (one reverse coded) driven by one factor.

    trust_gain maps case_id to the mean rise of the latent trust from t0 to t2.
    """
    rng = np.random.default_rng(seed)
    trust_gain = trust_gain or {"case_a": 1.5, "case_b": 0.0}
    items = [f"tr{j + 1}" for j in range(len(loadings))]
    instrument = pd.DataFrame(
        {
            "item_id": items,
            "scale": "trust",
            "response_min": 1,
            "response_max": 7,
            "reverse_coded": [j == len(items) - 1 for j in range(len(items))],
            "roles": "professional;migrant_org",
        }
    )
    people, answers = [], []
    for case_id, gain in trust_gain.items():
        for role in ("professional", "migrant_org"):
            for i in range(n_per_group):
                pid = f"{case_id}_{role[:3]}_{i:02d}"
                people.append(dict(participant_id=pid, case_id=case_id, role=role))
                baseline = rng.normal()
                for wave, shift in (("t0", 0.0), ("t2", gain)):
                    latent = baseline * 0.7 + rng.normal(scale=0.7) + shift
                    for item, loading in zip(items, loadings):
                        raw = 4 + 1.2 * (loading * latent + rng.normal(scale=math.sqrt(1 - loading**2)))
                        value = float(np.clip(np.round(raw), 1, 7))
                        if item == items[-1]:
                            value = 8 - value  # the reverse-coded item is answered the other way round
                        answers.append(dict(participant_id=pid, wave=wave, item_id=item, value=value))
    return pd.DataFrame(answers), instrument, pd.DataFrame(people)


# --- pre_post ------------------------------------------------------------------------------


def test_pre_post_shape_groups_and_labels():
    rng = np.random.default_rng(1)
    scores = pd.concat(
        [
            paired_scores(rng.normal(3.5, 0.5, 8), rng.normal(3, 0.5, 8), role="professional"),
            paired_scores(rng.normal(3.5, 0.5, 6), rng.normal(3, 0.5, 6), role="migrant_org"),
            paired_scores(rng.normal(3.5, 0.5, 5), rng.normal(3, 0.5, 5), case_id="poelenburg_a"),
        ],
        ignore_index=True,
    )
    res = stats.pre_post(scores, outcome="trust")
    assert tuple(res.columns) == RESULT_COLUMNS
    assert len(res) == 6
    assert set(res.case_id) == {"slotervaart", "poelenburg_a"}
    assert set(res.group) == {"role=professional, t0->t2", "role=migrant_org, t0->t2"}
    assert set(res.test) == {"paired_t", "wilcoxon_signed_rank"}
    assert (res.analysis == "pre_post").all() and (res.outcome == "trust").all()
    assert res.p_value.notna().all() and res.min_detectable.notna().all()
    # stacks with other analyses
    assert len(stack_results(res, res)) == 12


def test_pre_post_counts_and_notes_incomplete_pairs():
    scores = paired_scores([4, 5, 4.5, 3.5, 4.25], [3, 3.5, 4, 3, 3.25])
    scores.loc[(scores.participant_id == scores.participant_id.iloc[0]) & (scores.wave == "t2"), "value"] = np.nan
    res = stats.pre_post(scores, outcome="trust")
    t_row = res[res.test == "paired_t"].iloc[0]
    assert t_row.n == 4 and t_row.df == 3
    assert "1 incomplete pair(s) dropped" in t_row.note


def test_pre_post_too_few_pairs_gives_note_not_numbers():
    res = stats.pre_post(paired_scores([4, 5], [3, 3.5]), outcome="trust")
    assert len(res) == 2
    assert res.statistic.isna().all() and res.p_value.isna().all() and res.effect_size.isna().all()
    assert res.note.str.contains("not run: 2 complete pair").all()


def test_pre_post_all_zero_differences():
    res = stats.pre_post(paired_scores([3, 4, 5, 2], [3, 4, 5, 2]), outcome="trust")
    t_row, w_row = res.iloc[0], res.iloc[1]
    assert math.isnan(t_row.p_value) and "same difference" in t_row.note
    assert math.isnan(w_row.p_value) and w_row.n == 0 and "4 zero difference(s) dropped" in w_row.note


def test_pre_post_constant_nonzero_difference():
    res = stats.pre_post(paired_scores([4, 5, 6, 3], [3, 4, 5, 2]), outcome="trust")
    t_row, w_row = res.iloc[0], res.iloc[1]
    assert math.isnan(t_row.statistic)
    # every difference is +1: tied ranks, exact conditional p = 2 / 2^4, r = 1 without a CI
    assert w_row.statistic == 10 and w_row.effect_size == 1.0
    assert math.isnan(w_row.ci_low) and "CI undefined" in w_row.note
    assert "exact conditional p" in w_row.note and w_row.p_value == pytest.approx(2 / 16)


def test_float_noise_in_scale_means_counts_as_a_tie():
    # 11/3 - 10/3 and 10/3 - 3 are both 1/3 but differ in the last bit
    after = [11 / 3, 10 / 3, 4.0, 4.5, 5.0]
    before = [10 / 3, 3.0, 2.0, 2.0, 1.0]
    assert (after[0] - before[0]) != (after[1] - before[1])
    res = stats.pre_post(paired_scores(after, before), outcome="trust")
    wilcoxon = res[res.test == "wilcoxon_signed_rank"].iloc[0]
    assert "1 group(s) of tied ranks" in wilcoxon.note


def test_wilcoxon_matches_scipy_where_both_follow_r():
    rng = np.random.default_rng(7)
    small = rng.normal(0.4, 1, 20)
    ours = paired._wilcoxon_signed_rank(small)
    assert ours["exact"]
    assert ours["p"] == pytest.approx(sps.wilcoxon(small, method="exact").pvalue, rel=1e-12)
    large = rng.normal(0.3, 1, 80)  # n >= 50: normal approximation with continuity correction
    ours = paired._wilcoxon_signed_rank(large, method="r")
    assert not ours["exact"]
    expected = sps.wilcoxon(large, method="asymptotic", correction=True).pvalue
    assert ours["p"] == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_wilcoxon_exact_conditional_with_ties_equals_scipy_complete_enumeration(alternative):
    # Likert-like differences (quarter points) with ties and zeros; scipy's permutation_test flips
    # the signs of all 2^m differences (m = 14 after dropping zeros) when n_resamples >= 2^m.
    rng = np.random.default_rng(3)
    differences = rng.integers(-3, 6, 16) / 4
    nonzero = differences[differences != 0]

    def v(x, axis=-1):
        ranks = sps.rankdata(np.abs(x), axis=axis)
        return np.where(x > 0, ranks, 0).sum(axis=axis)

    reference = sps.permutation_test((nonzero,), v, permutation_type="samples", n_resamples=np.inf,
                                     alternative=alternative).pvalue
    ours = paired._wilcoxon_signed_rank(differences, alternative=alternative)
    assert ours["conditional"] and ours["tie_groups"] > 0
    assert ours["p"] == pytest.approx(reference, rel=1e-9)


def test_paired_t_one_sided_matches_scipy():
    before, after = [3.0, 3.5, 2.5, 4.0, 3.25, 2.75, 3.0], [3.5, 3.75, 3.0, 4.0, 3.0, 3.5, 3.75]
    for alternative in ("greater", "less"):
        res = stats.pre_post(paired_scores(after, before), outcome="trust",
                             options=stats.PairedOptions(alternative=alternative))
        t_row = res[res.test == "paired_t"].iloc[0]
        assert t_row.p_value == pytest.approx(sps.ttest_rel(after, before, alternative=alternative).pvalue, rel=1e-12)
        assert f"one-sided p ({alternative})" in t_row.note


def test_primary_test_is_declared_and_min_detectable_on_the_shown_metric():
    before, after = [3.0, 3.5, 2.5, 4.0, 3.25, 2.75, 3.0, 3.5], [3.5, 3.75, 3.0, 4.0, 3.0, 3.5, 3.75, 4.25]
    res = stats.pre_post(paired_scores(after, before), outcome="trust").set_index("test")
    assert res.loc["paired_t", "note"].startswith("primary test")
    assert res.loc["wilcoxon_signed_rank", "note"].startswith("sensitivity analysis (primary: paired_t)")
    flipped = stats.pre_post(paired_scores(after, before), outcome="trust",
                             options=stats.PairedOptions(primary="wilcoxon_signed_rank")).set_index("test")
    assert flipped.loc["wilcoxon_signed_rank", "note"].startswith("primary test")
    # min_detectable of the t row is on the g_av metric: d_z(80%, n = 8) x J x s_d / s_av
    d = np.subtract(after, before)
    s_av = (np.std(before, ddof=1) + np.std(after, ddof=1)) / 2
    j = 1 - 3 / (8 * 8 - 9)
    expected = stats.min_detectable_effect(8, test="paired_t") * j * np.std(d, ddof=1) / s_av
    assert res.loc["paired_t", "min_detectable"] == pytest.approx(expected, rel=1e-12)
    m = int(np.sum(d != 0))
    dz = stats.min_detectable_effect(m, test="wilcoxon_signed_rank")
    assert res.loc["wilcoxon_signed_rank", "min_detectable"] == pytest.approx(2 * sps.norm.cdf(np.sqrt(2) * dz) - 1)
    with pytest.raises(DataError):
        stats.PairedOptions(alternative="two.sided")


def test_effect_directions_follow_after_minus_before():
    res = stats.pre_post(paired_scores([2, 2.5, 1.5, 3, 2], [3, 3.5, 3, 3.5, 4]), outcome="trust")
    assert (res.effect_size < 0).all()
    assert (res[res.test == "paired_t"].statistic < 0).all()


def test_g_av_interval_covers_the_true_effect():
    """Seeded simulation: the approximate CI of g_av covers delta_av about 95% of the time."""
    rng = np.random.default_rng(20170601)
    n, delta, rho, reps = 15, 0.6, 0.5, 300
    cov = [[1, rho], [rho, 1]]
    covered = 0
    for _ in range(reps):
        before, after = rng.multivariate_normal([0, delta], cov, size=n).T
        t_row = paired._paired_rows(before, after, labels=labels(), n_incomplete=0, direction="after - before")[0]
        covered += t_row["ci_low"] <= delta <= t_row["ci_high"]
    assert 0.91 <= covered / reps <= 0.99


def test_rank_biserial_interval_covers_its_population_value():
    """Seeded simulation: symmetric shift of 0.5 SD, r_rb population value from 200k draws."""
    rng = np.random.default_rng(11)
    population = rng.normal(0.5, 1, 200_000)
    # population matched-pairs rank-biserial: P(D_i + D_j > 0) - P(D_i + D_j < 0) (Kerby 2014)
    pair_sums = population[:100_000] + population[100_000:]
    true_r = np.mean(pair_sums > 0) - np.mean(pair_sums < 0)
    covered, reps = 0, 300
    for _ in range(reps):
        differences = rng.normal(0.5, 1, 25)
        w_row = paired._paired_rows(np.zeros(25), differences, labels=labels(), n_incomplete=0, direction="d")[1]
        covered += w_row["ci_low"] <= true_r <= w_row["ci_high"]
    assert 0.90 <= covered / reps <= 0.995


def test_pre_post_recovers_simulated_trust_gain():
    responses, instrument, participants = simulated_survey(seed=3)
    scores = score_scales(responses, instrument, participants)
    res = stats.pre_post(scores, outcome="trust")
    t_rows = res[res.test == "paired_t"].set_index(["case_id", "group"])
    gained = t_rows.loc["case_a"]
    flat = t_rows.loc["case_b"]
    assert (gained.p_value < 0.01).all() and (gained.effect_size > 0.5).all()
    assert (flat.effect_size.abs() < gained.effect_size.min()).all()


def test_pre_post_input_errors():
    scores = paired_scores([4, 5, 4.5], [3, 3.5, 4])
    with pytest.raises(DataError, match="unknown scale 'respect'"):
        stats.pre_post(scores, outcome="respect")
    with pytest.raises(DataError, match="unknown wave"):
        stats.pre_post(scores, outcome="trust", after="t3")
    with pytest.raises(DataError, match="must differ"):
        stats.pre_post(scores, outcome="trust", before="t2", after="t2")
    with pytest.raises(DataError, match="cannot group by 'wave'"):
        stats.pre_post(scores, outcome="trust", by=("case_id", "wave"))
    with pytest.raises(DataError, match="organisation"):
        stats.pre_post(scores, outcome="trust", by=("organisation",))
    with pytest.raises(DataError, match="more than one score"):
        stats.pre_post(pd.concat([scores, scores.iloc[[0]]]), outcome="trust")


def test_pre_post_accepts_scores_from_score_scales_with_categorical_wave():
    responses, instrument, participants = simulated_survey(seed=5, n_per_group=4)
    scores = score_scales(responses, instrument, participants)
    assert isinstance(scores.wave.dtype, pd.CategoricalDtype)
    res = stats.pre_post(scores, outcome="trust", by="case_id")
    assert set(res.group) == {"t0->t2"} and len(res) == 4


# --- perception gap --------------------------------------------------------------------------


def gap_scores(own, perceived, *, wave="t0", role="migrant_org", case_id="poelenburg_b"):
    n = len(own)
    ids = [f"{role[:3]}{i:02d}" for i in range(n)]
    return pd.DataFrame(
        {
            "participant_id": ids * 2,
            "case_id": case_id,
            "role": role,
            "wave": wave,
            "scale": ["own_willingness"] * n + ["perceived_willingness"] * n,
            "value": np.r_[np.asarray(own, float), np.asarray(perceived, float)],
        }
    )


def test_perception_gap_is_per_wave_and_positive_when_own_exceeds_perceived():
    scores = pd.concat(
        [
            gap_scores([4.5, 4.0, 5.0, 4.5, 4.0], [2.0, 2.5, 3.0, 2.0, 2.5], wave="t0"),
            gap_scores([4.5, 4.5, 5.0, 4.0, 4.5], [4.0, 4.5, 4.5, 4.0, 4.0], wave="t2"),
        ],
        ignore_index=True,
    )
    res = stats.perception_gap(scores, by=("case_id", "role"))
    assert set(res.group) == {"role=migrant_org, wave=t0, own - perceived", "role=migrant_org, wave=t2, own - perceived"}
    t_rows = res[res.test == "paired_t"].set_index("group")
    assert t_rows.effect_size.iloc[0] > t_rows.effect_size.iloc[1] > 0
    assert (res.analysis == "perception_gap").all()


def test_perception_gap_counts_a_missing_scale_as_incomplete():
    scores = gap_scores([4.5, 4.0, 5.0, 4.5], [2.0, 2.5, 3.0, np.nan])
    res = stats.perception_gap(scores)
    assert res.iloc[0].n == 3 and "1 incomplete pair(s) dropped" in res.iloc[0].note


def test_perception_gap_change_equals_pre_post_on_the_gap():
    own_t0, perceived_t0 = [4.5, 4.0, 5.0, 4.5, 4.0, 3.5], [2.0, 2.5, 3.0, 2.0, 2.5, 2.5]
    own_t2, perceived_t2 = [4.5, 4.5, 5.0, 4.0, 4.5, 4.0], [4.0, 4.5, 4.5, 4.0, 4.0, 2.0]
    scores = pd.concat([gap_scores(own_t0, perceived_t0, wave="t0"), gap_scores(own_t2, perceived_t2, wave="t2")])
    change = stats.perception_gap_change(scores)
    gap = paired_scores(
        np.subtract(own_t2, perceived_t2), np.subtract(own_t0, perceived_t0), scale="gap", case_id="poelenburg_b", role="migrant_org"
    )
    direct = stats.pre_post(gap, outcome="gap")
    columns = ["test", "n", "statistic", "df", "p_value", "effect_size", "ci_low", "ci_high"]
    pd.testing.assert_frame_equal(change[columns], direct[columns])
    assert (change.effect_size < 0).all()  # the gap closes
    assert (change.analysis == "perception_gap_change").all()


# --- reliability ----------------------------------------------------------------------------


def test_reliability_rows_per_case_and_wave():
    responses, instrument, participants = simulated_survey(seed=8)
    res = stats.reliability(responses, instrument, participants)
    assert len(res) == 2 * 2 * 3  # cases x waves x (alpha, omega model-implied, omega observed variance)
    assert set(res.group) == {"wave=t0", "wave=t2"}
    alpha = res[res.test == "cronbach_alpha"]
    assert alpha.effect_size.between(0.5, 0.95).all()
    assert (alpha.ci_low < alpha.effect_size).all() and (alpha.effect_size < alpha.ci_high).all()
    assert res[res.test == "omega_total"].effect_size.notna().all()
    assert res.note.str.contains("4 item").all()


def test_omega_equals_alpha_for_tau_equivalent_items_and_exceeds_it_otherwise():
    rng = np.random.default_rng(42)
    factor = rng.normal(size=(3000, 1))
    tau_equivalent = factor * 0.7 + rng.normal(scale=0.7, size=(3000, 5))
    alpha, _, _ = scale_reliability._cronbach_alpha(tau_equivalent)
    omega, note = scale_reliability._omega_total(tau_equivalent)
    assert omega == pytest.approx(alpha, abs=0.01) and note is None
    loadings = np.array([0.9, 0.8, 0.5, 0.3, 0.2])
    congeneric = factor * loadings + rng.normal(size=(3000, 5)) * np.sqrt(1 - loadings**2)
    alpha, _, _ = scale_reliability._cronbach_alpha(congeneric)
    omega, _ = scale_reliability._omega_total(congeneric)
    true_omega = loadings.sum() ** 2 / (loadings.sum() ** 2 + (1 - loadings**2).sum())
    assert omega == pytest.approx(true_omega, abs=0.015)
    assert omega > alpha


def test_three_item_factor_fit_converges_to_the_closed_form():
    # A one-factor model of 3 items is just identified: lambda_1^2 = r12 r13 / r23 (Spearman's
    # triads). The fit is perfect there, where L-BFGS-B may stop with an "abnormal" line search.
    rng = np.random.default_rng(17)
    loadings = np.array([0.8, 0.75, 0.7])
    items = rng.normal(size=(150, 1)) * loadings + rng.normal(size=(150, 3)) * np.sqrt(1 - loadings**2)
    r = np.corrcoef(items, rowvar=False)
    closed = np.sqrt([r[0, 1] * r[0, 2] / r[1, 2], r[0, 1] * r[1, 2] / r[0, 2], r[0, 2] * r[1, 2] / r[0, 1]])
    fitted, uniquenesses, converged = scale_reliability._one_factor_ml(r)
    assert converged
    np.testing.assert_allclose(fitted, closed, atol=1e-5)
    np.testing.assert_allclose(uniquenesses, 1 - closed**2, atol=1e-5)


def test_reliability_small_groups_and_short_scales_get_notes():
    responses, instrument, participants = simulated_survey(seed=9, n_per_group=1, loadings=(0.8, 0.7))
    res = stats.reliability(responses, instrument, participants, by=("case_id", "wave", "role"))
    assert res.effect_size.isna().all()
    assert res.note.str.contains("not estimated: needs at least 2 items and 3 complete participants").all()
    responses, instrument, participants = simulated_survey(seed=9, n_per_group=6, loadings=(0.8, 0.7))
    res = stats.reliability(responses, instrument, participants)
    assert res[res.test == "cronbach_alpha"].effect_size.notna().all()
    assert res[res.test == "omega_total"].note.str.contains("at least 3 items").all()


def test_reliability_flags_a_negatively_loading_item():
    responses, instrument, participants = simulated_survey(seed=10, n_per_group=40)
    unflagged = instrument.assign(reverse_coded=False)
    res = stats.reliability(responses, unflagged, participants, by=None)
    assert "loads negatively" in res[res.test == "omega_total"].iloc[0].note


def test_reliability_sets_aside_items_not_asked_of_everyone():
    responses, instrument, participants = simulated_survey(seed=12, n_per_group=5)
    only_professionals = instrument.copy()
    only_professionals.loc[0, "roles"] = "professional"
    answers = responses.merge(participants, on="participant_id")
    kept = responses[~((answers.role == "migrant_org") & (answers.item_id == "tr1")).to_numpy()]
    res = stats.reliability(kept, only_professionals, participants, by="case_id")
    assert res.note.str.contains("set aside: tr1").all()
    assert res.note.str.contains("3 item").all()


def test_reliability_rejects_unknown_grouping_and_scale():
    responses, instrument, participants = simulated_survey(seed=13, n_per_group=3)
    with pytest.raises(DataError, match="groups by"):
        stats.reliability(responses, instrument, participants, by="organisation")
    with pytest.raises(DataError, match="unknown scale"):
        stats.reliability(responses, instrument, participants, scales=["respect"])


# --- crosstabs --------------------------------------------------------------------------------


def expectation_data(seed=0, n=20, by_case=("slotervaart",)):
    rng = np.random.default_rng(seed)
    rows = []
    for case_id in by_case:
        for role, probabilities in (("professional", [0.7, 0.2, 0.1]), ("migrant_org", [0.15, 0.75, 0.1])):
            picks = rng.choice(["bridge_to_parents", "strengthen_organisation", "other"], size=n, p=probabilities)
            rows += [dict(case_id=case_id, role=role, expectation=pick) for pick in picks]
    return pd.DataFrame(rows)


def test_crosstab_sparse_table_gets_seeded_monte_carlo_p():
    table = np.array([[8, 1, 1], [2, 9, 0]])
    first = stats.crosstab_test(table).iloc[0]
    again = stats.crosstab_test(table).iloc[0]
    assert "Monte Carlo p" in first.note and "expected counts < 5" in first.note
    assert first.p_value == again.p_value
    other_seed = stats.crosstab_test(table, seed=99).iloc[0]
    assert other_seed.p_value == pytest.approx(first.p_value, abs=0.01)
    # Monte Carlo p-values are never 0: (1 + count) / (B + 1)
    assert first.p_value >= 1 / (constants.MONTE_CARLO_RESAMPLES + 1)


def test_crosstab_monte_carlo_p_matches_an_independent_permutation_distribution():
    table = np.array([[12, 8, 3], [6, 10, 6]])  # one expected count (4.6) under 5
    res = stats.crosstab_test(table).iloc[0]
    assert "Monte Carlo" in res.note
    # 200,000 tables with the same margins, drawn independently of the tested code path
    simulated = sps.random_table(table.sum(axis=1), table.sum(axis=0), seed=1).rvs(200_000)
    expected = sps.contingency.expected_freq(table)
    x2 = ((simulated - expected) ** 2 / expected).sum(axis=(1, 2))
    assert res.p_value == pytest.approx(np.mean(x2 >= res.statistic - 1e-9), abs=0.015)
    # here the chi-square approximation would be off (p = .20 against about .25)
    assert abs(res.p_value - sps.chi2.sf(res.statistic, res.df)) > 0.03


def test_crosstab_drops_empty_rows_and_refuses_one_column():
    res = stats.crosstab_test(np.array([[5, 3], [0, 0], [2, 6]])).iloc[0]
    assert res.test == "fisher_exact" and "1 empty row(s)/column(s) dropped" in res.note
    res = stats.crosstab_test(np.array([[5, 0], [3, 0]])).iloc[0]
    assert math.isnan(res.p_value) and "not run" in res.note
    with pytest.raises(DataError, match="whole counts"):
        stats.crosstab_test(np.array([[1.5, 2], [3, 4]]))


def test_fisher_with_a_zero_cell_reports_no_odds_ratio():
    res = stats.crosstab_test(np.array([[6, 0], [1, 5]])).iloc[0]
    assert math.isnan(res.statistic) and "zero cell" in res.note
    assert res.p_value == pytest.approx(sps.fisher_exact([[6, 0], [1, 5]]).pvalue)


def test_expectation_crosstab_per_case_detects_role_difference():
    data = expectation_data(seed=4, n=25, by_case=("slotervaart", "poelenburg_a"))
    data.loc[0, "expectation"] = None
    res = stats.expectation_crosstab(data, by="case_id")
    assert list(res.case_id) == ["poelenburg_a", "slotervaart"]
    assert (res.analysis == "expectation_mismatch").all() and (res.group == "role x expectation").all()
    assert (res.p_value < 0.001).all() and (res.effect_size > 0.4).all()
    assert "1 participant(s) with a missing role or expectation left out" in res.set_index("case_id").loc["slotervaart", "note"]
    assert res.set_index("case_id").loc["slotervaart", "n"] == 49


def test_crosstab_residuals_are_tidy_and_consistent():
    data = expectation_data(seed=5, by_case=("slotervaart", "poelenburg_b"))
    cells = stats.crosstab_residuals(data, by="case_id")
    assert list(cells.columns) == ["case_id", "role", "expectation", "observed", "expected", "pearson_residual", "adjusted_residual"]
    assert cells.groupby("case_id")["observed"].sum().tolist() == [40, 40]
    margins = cells.groupby(["case_id", "role"])[["observed", "expected"]].sum()
    np.testing.assert_allclose(margins.observed, margins.expected)
    # squared Pearson residuals add up to X-squared
    slot = cells[cells.case_id == "slotervaart"]
    x2 = stats.crosstab_test(stats.contingency_table(data[data.case_id == "slotervaart"], row="role", col="expectation")).statistic.iloc[0]
    assert (slot.pearson_residual**2).sum() == pytest.approx(x2)


def test_expectation_crosstab_from_nominal_item_responses():
    rng = np.random.default_rng(21)
    instrument = pd.DataFrame(
        {
            "item_id": ["expectation_primary"],
            "scale": "expectation_primary",
            "response_min": 1,
            "response_max": 3,
            "reverse_coded": False,
            "roles": "professional;migrant_org",
            "level": "nominal",
            "value_labels": "1=strengthen_organisation;2=bridge_to_parents;3=both",
        }
    )
    roles = ["professional"] * 15 + ["migrant_org"] * 15
    participants = pd.DataFrame({"participant_id": [f"p{i:02d}" for i in range(30)], "case_id": "slotervaart", "role": roles})
    codes = np.r_[rng.choice([1, 2, 3], 15, p=[0.1, 0.8, 0.1]), rng.choice([1, 2, 3], 15, p=[0.8, 0.1, 0.1])]
    responses = pd.DataFrame({"participant_id": participants.participant_id, "wave": "t0", "item_id": "expectation_primary", "value": codes.astype(float)})
    answers = item_responses(responses, instrument, participants).rename(columns={"label": "expectation"})
    res = stats.expectation_crosstab(answers, by="case_id")
    assert res.iloc[0].test == "chi2" and res.iloc[0].n == 30 and res.iloc[0].p_value < 0.01
    cells = stats.crosstab_residuals(answers).set_index(["role", "expectation"])
    assert cells.loc[("professional", "bridge_to_parents"), "adjusted_residual"] > 2
    assert cells.loc[("migrant_org", "strengthen_organisation"), "adjusted_residual"] > 2


def test_crosstab_missing_column_is_named():
    with pytest.raises(DataError, match="expectation"):
        stats.expectation_crosstab(pd.DataFrame({"role": ["a"]}))


# --- multiplicity ------------------------------------------------------------------------------


def test_adjust_pvalues_within_families_and_leaves_rows_without_p():
    res = result_frame(
        [
            dict(analysis="pre_post", test="paired_t", p_value=0.01, note="exact p"),
            dict(analysis="pre_post", test="paired_t", p_value=0.04),
            dict(analysis="pre_post", test="wilcoxon_signed_rank", p_value=0.03),
            dict(analysis="reliability", test="cronbach_alpha", effect_size=0.8, note="Feldt (1965) CI"),
            dict(analysis="expectation_mismatch", test="chi2", p_value=0.2),
        ]
    )
    adjusted = stats.adjust_pvalues(res)
    # Holm within pre_post (m = 3): sorted 0.01, 0.03, 0.04 -> 0.03, 0.06, 0.06
    assert adjusted.p_adjusted.iloc[:3].round(6).tolist() == [0.03, 0.06, 0.06]
    assert math.isnan(adjusted.p_adjusted.iloc[3]) and adjusted.note.iloc[3] == "Feldt (1965) CI"
    assert adjusted.p_adjusted.iloc[4] == pytest.approx(0.2)
    assert adjusted.note.iloc[0] == "exact p; p_adjusted: Holm within analysis=pre_post (m = 3)"
    assert adjusted.note.iloc[1] == "p_adjusted: Holm within analysis=pre_post (m = 3)"
    assert (adjusted.p_adjusted.dropna() >= adjusted.p_value[adjusted.p_adjusted.notna()]).all()
    # the input is not changed, the result keeps the standard shape
    assert res.p_adjusted.isna().all()
    pd.testing.assert_frame_equal(result_frame(adjusted.to_dict("records")), adjusted)

    by_test = stats.adjust_pvalues(res, family=("analysis", "test"), method="fdr_bh")
    assert by_test.p_adjusted.iloc[:2].tolist() == pytest.approx([0.02, 0.04])  # BH, m = 2: 0.01 x 2 / 1, 0.04
    assert by_test.p_adjusted.iloc[2] == pytest.approx(0.03)  # alone in its family
    assert "Benjamini-Hochberg within analysis=pre_post, test=paired_t (m = 2)" in by_test.note.iloc[0]


def test_adjust_pvalues_input_errors():
    res = result_frame([dict(analysis="a", p_value=0.1)])
    with pytest.raises(DataError, match="unknown p-value adjustment") as info:
        stats.adjust_pvalues(res, method="tukey")
    assert "holm, bonferroni, hochberg, BH, BY" in str(info.value)  # the error lists what is accepted
    with pytest.raises(DataError, match="outcome_family"):
        stats.adjust_pvalues(res, family="outcome_family")


# --- sensitivity -------------------------------------------------------------------------------


def test_min_detectable_effect_shrinks_with_n_and_handles_tiny_n():
    values = [stats.min_detectable_effect(n) for n in (5, 10, 20, 40)]
    assert values == sorted(values, reverse=True)
    assert math.isnan(stats.min_detectable_effect(1))
    assert stats.min_detectable_effect(20, test="wilcoxon_signed_rank") > stats.min_detectable_effect(20)
    assert stats.min_detectable_effect(20, test="two_sample_t", n2=10) > stats.min_detectable_effect(15, test="two_sample_t")
    w = stats.min_detectable_effect(60, test="chi2", df=2)
    assert stats.min_detectable_effect(60, test="cramers_v", df=2, k=3) == pytest.approx(w / math.sqrt(2))


def test_min_detectable_effect_argument_errors():
    with pytest.raises(DataError, match="unknown test"):
        stats.min_detectable_effect(20, test="anova")
    with pytest.raises(DataError, match="df"):
        stats.min_detectable_effect(20, test="chi2")
    with pytest.raises(DataError, match="k = min"):
        stats.min_detectable_effect(20, test="cramers_v", df=2)
    with pytest.raises(DataError, match="alpha and power"):
        stats.min_detectable_effect(20, power=1.2)
