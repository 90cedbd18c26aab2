"""Issue 17, item 5: missingness report, multiple imputation with Rubin's rules, delta-adjusted sensitivity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from ponzoni_eval import stats
from ponzoni_eval._core.errors import DataError
from ponzoni_eval._core.results import RESULT_COLUMNS


def panel(seed=0, n=30, dropout=0.25, change=0.3, case="c1", role="professional"):
    """Scores at t0, t1, t2 with drop-out that depends on the baseline (MAR): low scorers leave more often."""
    rng = np.random.default_rng(seed)
    t0 = rng.normal(3.0, 0.7, n)
    t2 = 0.5 + 0.85 * t0 + change + rng.normal(0, 0.45, n)
    leave = rng.random(n) < dropout * 2 * sps.norm.cdf(-(t0 - 3.0) / 0.7)
    rows = []
    for i in range(n):
        pid = f"{case}-{role}-{i}"
        rows.append(dict(participant_id=pid, case_id=case, role=role, wave="t0", scale="trust", value=t0[i]))
        if not leave[i]:
            rows.append(dict(participant_id=pid, case_id=case, role=role, wave="t2", scale="trust", value=t2[i]))
    return pd.DataFrame(rows), t0, t2, leave


def test_missingness_report_and_patterns_count_people():
    scores, _, _, leave = panel(seed=1)
    participants = scores[["participant_id", "case_id", "role"]].drop_duplicates()
    extra = pd.DataFrame({"participant_id": ["never"], "case_id": ["c1"], "role": ["professional"]})
    report = stats.missingness_report(scores, pd.concat([participants, extra]), waves=("t0", "t1", "t2")).set_index("wave")
    assert report.loc["t0", "n_participants"] == 31
    assert report.loc["t0", "n_missing"] == 1  # the participant who never answered
    assert report.loc["t1", "n_observed"] == 0
    assert report.loc["t2", "n_missing"] == int(leave.sum()) + 1
    assert report.loc["t2", "share_missing"] == pytest.approx((leave.sum() + 1) / 31)
    patterns = stats.missingness_patterns(scores, waves=("t0", "t2")).set_index("pattern")["n"]
    assert patterns["t0 -"] == int(leave.sum()) and patterns["t0 t2"] == 30 - int(leave.sum())


def test_rubin_combine_formulas():
    # Rubin (1987); Barnard & Rubin (1999): worked by hand for q = (1.0, 1.2, 0.9), u = (.04, .05, .045), nu_com = 20
    pooled = stats.rubin_combine([1.0, 1.2, 0.9], [0.04, 0.05, 0.045], 20)
    within, between = 0.045, np.var([1.0, 1.2, 0.9], ddof=1)
    total = within + (1 + 1 / 3) * between
    lam = (1 + 1 / 3) * between / total
    nu_old = 2 / lam**2
    nu_obs = 21 / 23 * 20 * (1 - lam)
    assert pooled["estimate"] == pytest.approx(31 / 30)
    assert pooled["se"] == pytest.approx(np.sqrt(total))
    assert pooled["df"] == pytest.approx(nu_old * nu_obs / (nu_old + nu_obs))
    assert pooled["p"] == pytest.approx(2 * sps.t.sf(31 / 30 / np.sqrt(total), pooled["df"]))
    # No between-imputation variance: the complete-data answer with the small-sample df
    same = stats.rubin_combine([1.0, 1.0], [0.04, 0.04], 20)
    assert same["se"] == pytest.approx(0.2) and same["df"] == pytest.approx(21 / 23 * 20)
    with pytest.raises(DataError):
        stats.rubin_combine([1.0], [0.1], 10)


def test_pre_post_imputed_shape_and_complete_data_equals_paired_t():
    scores, t0, t2, _ = panel(seed=2, dropout=0.0)
    res = stats.pre_post_imputed(scores, outcome="trust", n_imputations=5)
    assert list(res.columns) == list(RESULT_COLUMNS) and len(res) == 1
    row = res.iloc[0]
    reference = sps.ttest_rel(t2, t0)
    assert row.effect_size == pytest.approx(np.mean(t2 - t0))
    assert row.statistic == pytest.approx(reference.statistic)
    assert row.df == pytest.approx(30 / 32 * 29)  # Barnard-Rubin df with B = 0
    assert "0 imputed" in row.note


def test_multiple_imputation_is_unbiased_and_covers_under_mar():
    # Drop-out depends on the baseline (MAR): complete cases are biased upward for t2, MI is not.
    truth, hits, mi, cc = 0.3 + 0.5 - 0.15 * 3.0, 0, [], []  # E[t2 - t0] = 0.5 + (0.85 - 1) * 3 + 0.3
    reps = 100
    for seed in range(reps):
        scores, t0, t2, leave = panel(seed=100 + seed, n=40, dropout=0.35)
        row = stats.pre_post_imputed(scores, outcome="trust", n_imputations=10, seed=seed).iloc[0]
        hits += row.ci_low <= truth <= row.ci_high
        mi.append(row.effect_size)
        cc.append(np.mean((t2 - t0)[~leave]))
    assert abs(np.mean(mi) - truth) < 0.02
    assert abs(np.mean(cc) - truth) > 2 * abs(np.mean(mi) - truth)  # complete cases lose the large changes of low scorers
    assert 0.90 <= hits / reps <= 0.99


def test_delta_sensitivity_shifts_the_estimate_by_delta_times_the_share_imputed():
    scores, _, _, leave = panel(seed=3, dropout=0.4)
    table = stats.delta_sensitivity(scores, outcome="trust", deltas=(-0.5, 0.0, 0.5), n_imputations=8)
    assert table["group"].tolist() == [f"role=professional, t0->t2, delta={d}" for d in ("-0.5", "0", "0.5")]
    mar = stats.pre_post_imputed(scores, outcome="trust", n_imputations=8).iloc[0]
    assert table.iloc[1]["effect_size"] == pytest.approx(mar.effect_size)
    share = leave.sum() / len(leave)
    assert table.iloc[2]["effect_size"] - table.iloc[1]["effect_size"] == pytest.approx(0.5 * share)
    assert table.iloc[0]["effect_size"] - table.iloc[1]["effect_size"] == pytest.approx(-0.5 * share)
    assert table["note"].str.contains("delta-adjusted").all()


def test_too_few_complete_pairs_gives_a_note_and_errors_name_the_problem():
    scores, _, _, _ = panel(seed=4, n=5, dropout=0.0)
    scores = scores[~((scores.wave == "t2") & scores.participant_id.str.endswith(("-0", "-1", "-2")))]
    row = stats.pre_post_imputed(scores, outcome="trust").iloc[0]
    assert np.isnan(row.p_value) and "not run: 2 complete pair(s)" in row.note
    with pytest.raises(DataError):
        stats.pre_post_imputed(scores, outcome="respect")
    with pytest.raises(DataError):
        stats.pre_post_imputed(scores, outcome="trust", after="t9")


def test_groups_are_imputed_separately_and_counted_by_their_own_participants():
    first, _, _, leave_a = panel(seed=5, n=12, case="slotervaart")
    second, _, _, leave_b = panel(seed=6, n=15, case="poelenburg_a", role="migrant_org")
    res = stats.pre_post_imputed(pd.concat([first, second]), outcome="trust", n_imputations=4)
    assert res["case_id"].tolist() == ["poelenburg_a", "slotervaart"]
    assert res["n"].tolist() == [15, 12]
    assert f"{int(leave_b.sum())} imputed" in res.iloc[0]["note"] and f"{int(leave_a.sum())} imputed" in res.iloc[1]["note"]
