"""Cross-case analyses recover the effects built into the SYNTHETIC example (`example.EFFECTS`).

Path: data/raw/example -> prepare -> load_processed -> transforms -> crosscase / timeseries.
The data are the documented example set (the default seed), one draw. Each tolerance
below says how far a draw may honestly fall from the built-in value; the rates quoted
come from re-drawing the survey (200 seeds) or the activity log (400 seeds) with the
committed design and running the same analysis (the study's participants kept).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ponzoni_eval import stats
from ponzoni_eval.stats import timeseries
from ponzoni_eval.stats import transforms
from ponzoni_eval.data.synthetic.generate import EFFECTS
from example_data import processed_example

SITES = EFFECTS["sites"]


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    return processed_example(tmp_path_factory.mktemp("processed"))


@pytest.fixture(scope="module")
def scores(tables):
    return transforms.score_scales(tables["survey_responses"], tables["instrument"], tables["participants"])


@pytest.fixture(scope="module")
def trust_model(scores):
    return stats.mixed_model(scores, outcome="trust")


@pytest.fixture(scope="module")
def level_changes(tables):
    monthly = transforms.monthly_activity(tables["activity_log"], tables["cases"])
    results = timeseries.interrupted_time_series(monthly)
    return results[results["test"] == "its_level_change"].set_index("case_id")


# --- trust: mixed model t0 -> t2 ---------------------------------------------------------------------


def test_mixed_model_change_per_case_covers_the_built_in_trust_change(trust_model):
    change = trust_model[trust_model["effect_name"] == "change"].set_index("case_id")
    assert set(change.index) == set(SITES)
    for case, site in SITES.items():
        # Tolerance: the model's own 95% Wald CI (half-width 0.26-0.31 with 32-42 participants per case).
        # Over 200 survey draws it covered the built-in change in 94-96% of draws; the latent change is
        # what the survey recovers because rounding and clipping are symmetric at means of 2.8-3.7.
        row = change.loc[case]
        assert row.ci_low <= site["trust_change"] <= row.ci_high, (case, row.effect_size, row.ci_low, row.ci_high)
    # here: slotervaart 0.65 [0.34, 0.96] (built in 0.60), poelenburg_a 0.88 [0.63, 1.14] (0.90),
    # poelenburg_b 0.25 [-0.03, 0.52] (0.15)


def test_trust_rises_most_in_poelenburg_a_then_slotervaart_then_poelenburg_b(trust_model):
    change = trust_model[trust_model["effect_name"] == "change"].set_index("case_id")["effect_size"]
    # the built-in order 0.90 > 0.60 > 0.15; the estimates keep it in 90% of survey draws
    assert change["poelenburg_a"] > change["slotervaart"] > change["poelenburg_b"]
    assert SITES["poelenburg_a"]["trust_change"] > SITES["slotervaart"]["trust_change"] > SITES["poelenburg_b"]["trust_change"]


def test_poelenburg_b_gains_significantly_less_trust_than_poelenburg_a(trust_model):
    difference = trust_model[trust_model["effect_name"] == "change_difference"].set_index("group")
    a_minus_b = difference.loc["poelenburg_a - poelenburg_b: t0->t2"]
    built_in = SITES["poelenburg_a"]["trust_change"] - SITES["poelenburg_b"]["trust_change"]
    # A built-in difference of 0.75 with ~40 participants per case: Holm-adjusted p < .05 in 96.5% of
    # survey draws; the CI (here 0.26 to 1.01, estimate 0.63) covers the built-in 0.75.
    assert a_minus_b.p_adjusted < 0.05 and a_minus_b.effect_size > 0
    assert a_minus_b.ci_low <= built_in <= a_minus_b.ci_high


def test_ancova_adjusted_for_baseline_finds_the_cases_differ_more_clearly_than_kruskal_wallis(scores):
    # Issue 17: t2 ~ t0 + case uses the baseline that change scores ignore (the methodologist's review:
    # ANCOVA p = .007 where Kruskal-Wallis gives .045).
    ancova = stats.change_ancova(scores, outcome="trust").iloc[0]
    kruskal = stats.kruskal_dunn(transforms.change_scores(scores), outcome="trust").iloc[0]
    assert ancova.df == 2 and ancova.p_value < kruskal.p_value and ancova.p_value < 0.05
    assert 0 < ancova.ci_low < ancova.effect_size < ancova.ci_high


def test_kruskal_wallis_finds_the_cases_differ_in_trust_change(scores):
    change = transforms.change_scores(scores)
    result = stats.kruskal_dunn(change, outcome="trust")
    kruskal = result[result["test"] == "kruskal_wallis"].iloc[0]
    # Change scores of the ~90 participants with t0 and t2: H = 6.2 on 2 df, p = .045 in this draw;
    # p < .05 in 93.5% of survey draws (the built-in changes 0.9 / 0.6 / 0.15 against a within-person
    # SD of about 0.7). Epsilon-squared is small to moderate; its noncentral chi-square CI (issue 17)
    # starts at 0 because p > .025.
    assert kruskal.df == 2 and kruskal.n == change.loc[change["scale"] == "trust", "value"].notna().sum()
    assert kruskal.p_value < 0.05 and kruskal.ci_low == 0 < kruskal.effect_size < kruskal.ci_high
    dunn = result[result["test"] == "dunn"].set_index("group")["statistic"]
    # Dunn's z is positive when the first case ranks higher: the pairs follow the built-in order,
    # and the pair furthest apart (a and b) differs most.
    assert dunn["poelenburg_a - poelenburg_b"] > dunn["slotervaart - poelenburg_b"] > 0
    assert dunn["slotervaart - poelenburg_a"] < 0
    assert dunn.abs().idxmax() == "poelenburg_a - poelenburg_b"


# --- help-seeking: interrupted time series ----------------------------------------------------------

# Log-scale SD of the estimated level rate ratio over 400 draws of the activity log with the committed
# design (effects.json, activity.help_seeking_design). 2.6 SD holds 99% of draws of an unbiased estimate.
LEVEL_LOG_SD = {"slotervaart": 0.12, "poelenburg_a": 0.13, "poelenburg_b": 0.17}


@pytest.mark.parametrize("case", ["poelenburg_a", "slotervaart", "poelenburg_b"])
def test_its_level_rate_ratio_lies_within_its_sampling_tolerance_of_the_built_in_value(level_changes, case):
    built_in = SITES[case]["help_seeking_level_rate_ratio"]
    estimate = level_changes.loc[case, "effect_size"]
    assert abs(np.log(estimate / built_in)) < 2.6 * LEVEL_LOG_SD[case], (case, estimate, built_in)
    # here: poelenburg_a 1.80 (built in 2.0), slotervaart 1.43 (1.4), poelenburg_b 0.70 (1.0)


def test_its_finds_the_jump_in_poelenburg_a_and_slotervaart(level_changes):
    for case in ("poelenburg_a", "slotervaart"):
        row = level_changes.loc[case]
        built_in = SITES[case]["help_seeking_level_rate_ratio"]
        # The 95% CI covers the built-in ratio (92-96% of draws) and excludes 1 (100% of draws for
        # poelenburg_a's 2.0, 81% for slotervaart's 1.4): 1.80 [1.46, 2.24] and 1.43 [1.14, 1.80] here.
        assert row.ci_low <= built_in <= row.ci_high and row.ci_low > 1, (case, row.effect_size, row.ci_low, row.ci_high)
    assert level_changes.loc["poelenburg_a", "effect_size"] > level_changes.loc["slotervaart", "effect_size"]


def test_its_finds_no_rise_in_poelenburg_b(level_changes):
    row = level_changes.loc["poelenburg_b"]
    # Built in: no change (1.0). The estimate is the smallest of the three and below the smallest rise
    # the integration map calls meaningful (1.1). This draw's CI, 0.70 [0.51, 0.95], lies below 1: a
    # 2-SD low draw (the CI missed 1 in 8% of 400 simulated draws), so it is not asserted to cover 1.
    assert row.effect_size < 1.1 and row.effect_size == level_changes["effect_size"].min()
    assert row.ci_high < SITES["slotervaart"]["help_seeking_level_rate_ratio"]
