"""Tests for ponzoni_eval.agreement: reliability units, coefficients, bootstrap CIs."""

from __future__ import annotations

import krippendorff
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.inter_rater import aggregate_raters, cohens_kappa, fleiss_kappa

from hypothesis_profiles import examples
from ponzoni_eval.qual import intercoder as agreement_module
from ponzoni_eval.qual.intercoder import (
    OVERALL,
    agreement,
    agreement_coefficients,
    as_result_frame,
    reliability_units,
)
from ponzoni_eval._core.errors import DataError
from ponzoni_eval._core.results import RESULT_COLUMNS


def segments_frame(rows):
    return pd.DataFrame(rows, columns=["document_id", "coder", "code", "start", "end"])


def presence_segments(decisions_by_coder, code="trust", filler="other"):
    """Documents d0..dn where each coder applies `code` when their decision is 1.

    Every coder also applies a filler code to every document, so every document
    counts as coded by every coder.
    """
    rows = []
    for coder, decisions in decisions_by_coder.items():
        for k, decision in enumerate(decisions):
            rows.append((f"d{k:03d}", coder, filler, 100, 110))
            if decision:
                rows.append((f"d{k:03d}", coder, code, 0, 10))
    return segments_frame(rows)


def simulate(n_documents, p_agree, seed, coders=("ab", "cd")):
    """Seeded double-coded documents: coder 1 applies each of 4 codes with p = .4,
    the other coders copy each decision with probability p_agree, else flip it."""
    rng = np.random.default_rng(seed)
    truth = rng.random((n_documents, 4)) < 0.4
    rows = []
    for coder_number, coder in enumerate(coders):
        flip = (rng.random(truth.shape) > p_agree) if coder_number else np.zeros_like(truth)
        decisions = truth ^ flip
        for doc, code in zip(*np.nonzero(decisions)):
            rows.append((f"d{doc:03d}", coder, f"c{code}", 50 * code, 50 * code + 30))
        rows += [(f"d{doc:03d}", coder, "filler", 500, 510) for doc in range(n_documents)]
    return segments_frame(rows)


def estimates(table, code):
    return table[table["code"] == code].set_index("statistic")["estimate"]


# --- reliability units ---------------------------------------------------------


def test_document_units_only_double_coded_documents():
    segments = segments_frame(
        [("d1", "ab", "trust", 0, 10), ("d1", "cd", "safe_space", 0, 10), ("d2", "ab", "trust", 0, 10)]
    )
    units = reliability_units(segments)
    assert set(units["document_id"]) == {"d1"}
    values = units.set_index(["code", "coder"])["value"]
    assert values[("trust", "ab")] == 1 and values[("trust", "cd")] == 0
    assert values[("safe_space", "ab")] == 0 and values[("safe_space", "cd")] == 1


def test_code_filter_keeps_documents_where_nobody_used_the_code():
    segments = presence_segments({"ab": [1, 0, 0], "cd": [1, 0, 1]})
    units = reliability_units(segments, codes=["trust"])
    assert units["document_id"].nunique() == 3
    assert set(units["code"]) == {"trust"}


def test_coder_filter_changes_what_is_double_coded():
    segments = segments_frame([("d1", "ab", "x", 0, 5), ("d1", "cd", "x", 0, 5), ("d1", "ef", "x", 0, 5),
                               ("d2", "ab", "x", 0, 5), ("d2", "ef", "x", 0, 5)])
    assert set(reliability_units(segments, coders=["ab", "cd"])["document_id"]) == {"d1"}
    assert set(reliability_units(segments, coders=["ab", "ef"])["document_id"]) == {"d1", "d2"}


def test_segment_units_cut_at_every_boundary():
    # ab: trust [0,10); cd: trust [5,15) -> pieces [0,5) [5,10) [10,15)
    segments = segments_frame([("d1", "ab", "trust", 0, 10), ("d1", "cd", "trust", 5, 15)])
    units = reliability_units(segments, unit="segment")
    wide = units.pivot_table(index=["start", "end"], columns="coder", values="value")
    assert wide.index.tolist() == [(0, 5), (5, 10), (10, 15)]
    assert wide["ab"].tolist() == [1, 1, 0] and wide["cd"].tolist() == [0, 1, 1]
    table = agreement(segments, unit="segment", n_boot=0)
    assert estimates(table, "trust")["percent_agreement"] == pytest.approx(1 / 3)


def test_segment_units_exclude_text_nobody_coded_with_the_code():
    # Both coders code 'bridge' on [0,100); only ab codes 'trust' on [40,50).
    segments = segments_frame([("d1", "ab", "bridge", 0, 100), ("d1", "cd", "bridge", 0, 100), ("d1", "ab", "trust", 40, 50)])
    excluded = reliability_units(segments, unit="segment", codes=["trust"])
    included = reliability_units(segments, unit="segment", codes=["trust"], include_uncoded=True)
    assert excluded[["start", "end"]].drop_duplicates().values.tolist() == [[40, 50]]
    assert included[["start", "end"]].drop_duplicates().values.tolist() == [[0, 40], [40, 50], [50, 100]]
    assert (included.loc[included["start"] != 40, "value"] == 0).all()


def test_including_uncoded_text_inflates_agreement():
    # The coders disagree on every passage coded 'trust', but both leave most text
    # coded with other codes: counted as agreement it lifts the statistics.
    rows = []
    for doc in range(12):
        rows += [(f"d{doc}", "ab", "trust", 0, 10), (f"d{doc}", "cd", "trust", 10, 20)]
        rows += [(f"d{doc}", c, f"other{k}", 20 + 10 * k, 30 + 10 * k) for c in ("ab", "cd") for k in range(6)]
    segments = segments_frame(rows)
    strict = estimates(agreement(segments, unit="segment", codes=["trust"], n_boot=0), "trust")
    lenient = estimates(agreement(segments, unit="segment", codes=["trust"], include_uncoded=True, n_boot=0), "trust")
    assert strict["percent_agreement"] == 0.0
    assert lenient["percent_agreement"] == pytest.approx(6 / 8)
    assert lenient["brennan_prediger"] > strict["brennan_prediger"]


def test_unknown_codes_and_coders_are_data_errors():
    segments = presence_segments({"ab": [1, 0], "cd": [1, 1]})
    with pytest.raises(DataError, match="requested code"):
        agreement(segments, codes=["trsut"])
    with pytest.raises(DataError, match="requested coder"):
        agreement(segments, coders=["ab", "zz"])
    with pytest.raises(DataError, match="lacks column"):
        agreement(segments.drop(columns="start"))


def test_count_values_need_document_units():
    segments = presence_segments({"ab": [1, 0], "cd": [1, 1]})
    with pytest.raises(ValueError, match="unit='document'"):
        reliability_units(segments, unit="segment", value="count")


# --- agreement -----------------------------------------------------------------


def test_wikipedia_two_by_two_example_end_to_end():
    # 50 documents; both "yes" 20, A yes/B no 5, A no/B yes 10, both "no" 15:
    # p_o = .70, p_e = .50, Cohen's kappa = .40 (Wikipedia, "Cohen's kappa", simple example).
    a = [1] * 20 + [1] * 5 + [0] * 10 + [0] * 15
    b = [1] * 20 + [0] * 5 + [1] * 10 + [0] * 15
    table = agreement(presence_segments({"ab": a, "cd": b}), codes=["trust"], n_boot=0)
    values = estimates(table, "trust")
    assert values["percent_agreement"] == pytest.approx(0.70)
    assert values["cohen_kappa"] == pytest.approx(0.40)
    assert values["brennan_prediger"] == pytest.approx((0.70 - 0.5) / 0.5)
    assert values["krippendorff_alpha"] == pytest.approx(krippendorff.alpha([a, b], level_of_measurement="nominal"))
    assert set(table["n_units"]) == {50}


def test_overall_row_pools_codes_and_columns_are_tidy():
    table = agreement(simulate(20, 0.85, seed=1), n_boot=100, seed=3)
    assert list(table.columns) == ["code", "statistic", "estimate", "ci_low", "ci_high", "n_units", "n_coders", "note"]
    assert table["code"].iloc[-1] == OVERALL
    overall = table[table["code"] == OVERALL].set_index("statistic")
    per_code = table[(table["code"] != OVERALL) & (table["code"] != "filler")]
    assert overall.loc["percent_agreement", "n_units"] == table[table["code"] != OVERALL].groupby("code")["n_units"].first().sum()
    assert per_code["estimate"].between(-1, 1).all()
    assert (table["n_coders"] == 2).all()
    assert table["note"].str.contains("percentile bootstrap of documents").all()


def test_perfect_agreement_and_no_variation():
    perfect = agreement(presence_segments({"ab": [1, 0, 1, 0], "cd": [1, 0, 1, 0]}), n_boot=50)
    trust = perfect[perfect["code"] == "trust"].set_index("statistic")
    assert (trust["estimate"] == 1.0).all()
    # 'other' is applied by everyone everywhere: chance-corrected coefficients are undefined.
    other = perfect[perfect["code"] == "other"].set_index("statistic")
    assert other.loc["percent_agreement", "estimate"] == 1.0
    assert other.loc[["cohen_kappa", "krippendorff_alpha"], "estimate"].isna().all()
    assert other.loc["cohen_kappa", "note"].find("no variation") >= 0
    # Issue 17: perfect agreement no longer gets the degenerate CI [1, 1]: the Wilson lower limit of
    # 4 agreements in 4 units, 4 / (4 + z^2), carried through each coefficient with its chance term fixed.
    p_low = 4 / (4 + 1.959963984540054**2)
    assert (trust["ci_high"] == 1.0).all() and (trust["ci_low"] < 1.0).all()
    assert trust.loc["percent_agreement", "ci_low"] == pytest.approx(p_low)
    assert trust.loc["brennan_prediger", "ci_low"] == pytest.approx((p_low - 0.5) / 0.5)
    assert trust.loc["cohen_kappa", "ci_low"] == pytest.approx((p_low - 0.5) / 0.5)  # margins 1/2, 1/2
    assert trust["note"].str.contains("perfect agreement").all()


def test_no_double_coded_documents_gives_a_note():
    table = agreement(segments_frame([("d1", "ab", "x", 0, 5), ("d2", "cd", "x", 0, 5)]))
    assert (table["code"] == OVERALL).all()
    assert table["estimate"].isna().all()
    assert table["note"].str.contains("no document was coded by two or more coders").all()


def test_more_than_two_coders_reports_fleiss_not_cohen():
    table = agreement(simulate(15, 0.9, seed=2, coders=("ab", "cd", "ef")), n_boot=0)
    assert "fleiss_kappa" in set(table["statistic"]) and "cohen_kappa" not in set(table["statistic"])
    assert (table["n_coders"] == 3).all()


def test_bootstrap_is_seeded_and_brackets_the_estimate():
    segments = simulate(25, 0.8, seed=4)
    first = agreement(segments, n_boot=300, seed=11)
    again = agreement(segments, n_boot=300, seed=11)
    other_seed = agreement(segments, n_boot=300, seed=12)
    pd.testing.assert_frame_equal(first, again)
    assert not np.allclose(first["ci_low"].dropna(), other_seed["ci_low"].dropna())
    defined = first.dropna(subset=["ci_low"])
    assert (defined["ci_low"] <= defined["estimate"] + 1e-12).all()
    assert (defined["estimate"] <= defined["ci_high"] + 1e-12).all()


def test_intervals_narrow_with_more_documents():
    def width(n):
        row = agreement(simulate(n, 0.8, seed=5), codes=["c0", "c1", "c2", "c3"], n_boot=400, seed=1)
        overall = row[(row["code"] == OVERALL) & (row["statistic"] == "cohen_kappa")].iloc[0]
        return overall["ci_high"] - overall["ci_low"]

    assert width(160) < width(20)


def test_bootstrap_replicate_equals_estimate_on_resampled_documents():
    # A replicate computed from document totals must equal the coefficients of the
    # data set in which every document appears as often as it was drawn.
    segments = simulate(12, 0.75, seed=6)
    units = reliability_units(segments, unit="segment", codes=["c1"])
    wide = units.pivot_table(index=["document_id", "unit_id"], columns="coder", values="value")
    ratings = wide.to_numpy(float)
    document_index, documents = pd.factorize(wide.index.get_level_values("document_id"), sort=True)
    draws = agreement_module._bootstrap_draws(len(documents), 3, seed=9)
    totals = agreement_module._sum_by(agreement_module._unit_features(ratings, np.array([0.0, 1.0])), document_index, len(documents))
    statistics = ("percent_agreement", "cohen_kappa", "krippendorff_alpha", "brennan_prediger")
    replicates = agreement_module._coefficients(draws @ totals, np.array([0.0, 1.0]), level="nominal", statistics=statistics)
    for b in range(3):
        repeated = np.repeat(np.arange(len(ratings)), draws[b, document_index].astype(int))
        direct = agreement_coefficients(ratings[repeated], categories=[0, 1]).set_index("statistic")["estimate"]
        for name in statistics:
            assert replicates[name][b] == pytest.approx(direct[name], nan_ok=True)


def test_count_values_give_alpha_at_the_requested_level():
    rows = [("d1", "ab", "x", 0, 5), ("d1", "ab", "x", 10, 15), ("d1", "cd", "x", 0, 5),
            ("d2", "ab", "x", 0, 5), ("d2", "cd", "x", 0, 5), ("d2", "cd", "x", 20, 25), ("d2", "cd", "x", 30, 35),
            ("d3", "ab", "y", 0, 5), ("d3", "cd", "x", 0, 5)]
    table = agreement(segments_frame(rows), value="count", level="interval", codes=["x"], n_boot=0)
    row = table[table["code"] == "x"].iloc[0]
    assert table["statistic"].unique().tolist() == ["krippendorff_alpha"]
    expected = krippendorff.alpha([[2, 1, 0], [1, 3, 1]], level_of_measurement="interval")
    assert row["estimate"] == pytest.approx(expected)


def test_result_frame_variant():
    table = agreement(simulate(10, 0.9, seed=7), unit="segment", n_boot=20)
    assert table.attrs == {}  # the settings are the caller's, never a mark on the table
    results = as_result_frame(table, unit="segment")
    assert tuple(results.columns) == RESULT_COLUMNS
    assert (results["analysis"] == "intercoder_agreement").all()
    assert (results["group"] == "unit=segment").all()
    assert results["effect_size"].equals(table["estimate"].astype("float64").rename("effect_size"))
    assert (as_result_frame(table, unit="document")["group"] == "unit=document").all()
    with pytest.raises(ValueError, match="unit"):
        as_result_frame(table, unit="sentence")


# --- the engine against independent implementations ----------------------------

ratings_strategy = st.integers(0, 10_000).map(lambda seed: np.random.default_rng(seed))


@settings(max_examples=examples(40), deadline=None)
@given(ratings_strategy, st.integers(2, 4), st.integers(2, 5), st.sampled_from(["nominal", "ordinal", "interval", "ratio"]))
def test_engine_alpha_equals_krippendorff_package(rng, n_coders, n_categories, level):
    ratings = rng.integers(1, n_categories + 1, size=(20, n_coders)).astype(float)
    ratings[rng.random(ratings.shape) < 0.15] = np.nan
    categories = np.unique(ratings[~np.isnan(ratings)])
    if len(categories) < 2:
        return
    features = agreement_module._unit_features(ratings, categories)
    engine = agreement_module._coefficients(features.sum(axis=0, keepdims=True), categories, level=level, statistics=["krippendorff_alpha"])
    assert engine["krippendorff_alpha"][0] == pytest.approx(krippendorff.alpha(ratings.T, level_of_measurement=level, value_domain=categories))


@settings(max_examples=examples(40), deadline=None)
@given(ratings_strategy)
def test_engine_kappas_equal_statsmodels_on_complete_data(rng):
    two = rng.integers(0, 3, size=(30, 2)).astype(float)
    table = agreement_coefficients(two, categories=[0, 1, 2]).set_index("statistic")["estimate"]
    crosstab = np.histogram2d(two[:, 0], two[:, 1], bins=[np.arange(4) - 0.5] * 2)[0]
    assert table["cohen_kappa"] == pytest.approx(cohens_kappa(crosstab, return_results=False), nan_ok=True)
    five = rng.integers(0, 3, size=(30, 5))
    fleiss = agreement_coefficients(five.astype(float), categories=[0, 1, 2]).set_index("statistic")["estimate"]
    assert fleiss["fleiss_kappa"] == pytest.approx(fleiss_kappa(aggregate_raters(five, n_cat=3)[0]), nan_ok=True)
