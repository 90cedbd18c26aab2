"""Tests for ponzoni_eval.quantitize: presence, prevalence, co-occurrence, theme crosstabs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hypothesis_profiles import examples
from ponzoni_eval.qual import quantitize
from ponzoni_eval._core.errors import DataError
from ponzoni_eval.qual.quantitize import (
    code_presence,
    cooccurrence,
    presence_matrix,
    prevalence,
    theme_crosstab,
)
from ponzoni_eval._core.results import RESULT_COLUMNS

COLUMNS = ["document_id", "participant_id", "case_id", "wave", "coder", "code", "start", "end", "text"]


def segments_frame(rows):
    """Coded segments from (document, participant, case, wave, coder, code, start, end) tuples."""
    frame = pd.DataFrame(rows, columns=COLUMNS[:-1])
    frame["text"] = "..."
    return frame


@pytest.fixture
def segments():
    # d1/d2: p1 interviewed at t0 and t1; d3 double-coded (ab main coder, cd second);
    # g1: a group document without a participant.
    return segments_frame(
        [
            ("d1", "p1", "slotervaart", "t0", "ab", "trust", 0, 10),
            ("d1", "p1", "slotervaart", "t0", "ab", "trust", 20, 30),
            ("d1", "p1", "slotervaart", "t0", "ab", "safe_space", 5, 25),
            ("d2", "p1", "slotervaart", "t1", "ab", "help_seeking", 0, 10),
            ("d3", "p2", "poelenburg_a", "t0", "ab", "trust", 0, 10),
            ("d3", "p2", "poelenburg_a", "t0", "cd", "trust", 0, 12),
            ("d3", "p2", "poelenburg_a", "t0", "cd", "safe_space", 40, 50),
            ("g1", None, "poelenburg_a", None, "ab", "trust", 0, 5),
        ]
    )


@pytest.fixture
def participants():
    return pd.DataFrame(
        {
            "participant_id": ["p1", "p2", "p3"],
            "case_id": ["slotervaart", "poelenburg_a", "poelenburg_a"],
            "role": ["professional", "migrant_org", "parent"],
        }
    )


@pytest.fixture
def codebook():
    return pd.DataFrame(
        {
            "code": ["trust", "safe_space", "help_seeking", "bridge"],
            "theme": ["relationship", "relationship", "outcome", "expectations"],
            "definition": [None] * 4,
            "construct": [None] * 4,
        }
    )


def as_dict(presence, value="present"):
    label = "code" if "code" in presence.columns else "theme"
    return {(r["participant_id"], r[label]): r[value] for _, r in presence.iterrows()}


# --- code_presence ---------------------------------------------------------------


def test_presence_counts_and_flags_per_participant(segments):
    presence = code_presence(segments)
    counts = as_dict(presence, "n_segments")
    assert counts[("p1", "trust")] == 2
    assert counts[("p1", "safe_space")] == 1
    assert counts[("p1", "help_seeking")] == 1
    # Primary coder 'ab' (4 documents vs 1) is used on the double-coded d3: no safe_space for p2.
    assert counts[("p2", "trust")] == 1
    assert counts[("p2", "safe_space")] == 0
    assert set(presence["present"]) == {0, 1}
    assert presence.attrs == {}
    assert quantitize.group_segments_excluded(segments) == 1
    assert quantitize.group_segments_excluded(segments.loc[segments["participant_id"].notna()]) == 0


def test_every_participant_kept_even_without_interview(segments, participants):
    presence = code_presence(segments, participants)
    p3 = presence[presence["participant_id"] == "p3"]
    assert len(p3) == presence["code"].nunique()
    assert not p3["interviewed"].any()
    assert (p3["present"] == 0).all()


def test_unknown_participant_is_a_data_error(segments, participants):
    with pytest.raises(DataError, match="missing from the participants table"):
        code_presence(segments, participants.iloc[1:])


def test_coder_rules_any_all_and_named(segments):
    any_coder = as_dict(code_presence(segments, coder="any"))
    all_coders = as_dict(code_presence(segments, coder="all"), "n_segments")
    only_cd = code_presence(segments, coder="cd")
    assert any_coder[("p2", "safe_space")] == 1  # cd applied it
    assert all_coders[("p2", "safe_space")] == 0  # ab did not
    assert all_coders[("p2", "trust")] == 1
    assert set(only_cd["participant_id"]) == {"p2"}  # cd coded only d3


def test_primary_coder_is_the_one_with_most_documents():
    rows = [("d1", "p1", "c", "t0", "zz", "x", 0, 5), ("d2", "p2", "c", "t0", "zz", "x", 0, 5),
            ("d1", "p1", "c", "t0", "aa", "y", 0, 5)]
    presence = as_dict(code_presence(segments_frame(rows)))
    assert presence[("p1", "x")] == 1 and presence[("p1", "y")] == 0


@pytest.mark.parametrize("coder", ["primary", "any", "all", "cd"])
def test_processed_tables_with_categorical_columns_give_the_same_presence(segments, participants, codebook, coder):
    # prepare/load_processed hold ids, codes and coders as (unordered) categoricals
    from ponzoni_eval.data.preparation import processed_tables

    processed = processed_tables({"participants": participants, "coded_segments": segments, "codebook": codebook})
    assert isinstance(processed["coded_segments"]["coder"].dtype, pd.CategoricalDtype)
    expected = code_presence(segments, participants, coder=coder)
    found = code_presence(processed["coded_segments"], processed["participants"], coder=coder)
    as_text = {c: "str" for c in ("participant_id", "code")}
    pd.testing.assert_frame_equal(found.astype(as_text), expected.astype(as_text))


def test_unknown_coder_and_bad_unit_raise(segments):
    with pytest.raises(DataError, match="coder 'zz'"):
        code_presence(segments, coder="zz")
    with pytest.raises(ValueError, match="unit"):
        code_presence(segments, unit="role")


def test_theme_level_uses_codebook_and_lists_unused_themes(segments, codebook):
    presence = code_presence(segments, level="theme", codebook=codebook)
    counts = as_dict(presence, "n_segments")
    assert counts[("p1", "relationship")] == 3  # 2 trust + 1 safe_space
    assert counts[("p1", "expectations")] == 0  # theme in codebook, never applied
    with pytest.raises(DataError, match="codebook"):
        code_presence(segments, level="theme")
    with pytest.raises(DataError, match="missing from the codebook"):
        code_presence(segments, level="theme", codebook=codebook.iloc[1:])


def test_document_with_two_participants_is_rejected(segments):
    broken = segments.copy()
    broken.loc[0, "participant_id"] = "p9"
    with pytest.raises(DataError, match="document 'd1' has more than one participant_id"):
        code_presence(broken)


def test_missing_column_names_the_table(segments):
    with pytest.raises(DataError, match="coded_segments.*coder"):
        code_presence(segments.drop(columns="coder"))


def test_unit_case_counts_group_documents(segments):
    presence = code_presence(segments, unit="case_id")
    counts = {(r.case_id, r.code): r.n_segments for r in presence.itertuples()}
    assert counts[("poelenburg_a", "trust")] == 2  # d3 (primary coder) + group document g1


def test_presence_matrix_is_wide(segments):
    wide = presence_matrix(code_presence(segments))
    assert wide.loc["p1", "trust"] == 1 and wide.loc["p2", "safe_space"] == 0
    assert wide.shape == (2, 3)


# --- property tests ------------------------------------------------------------

segment_rows = st.lists(
    st.tuples(
        st.integers(0, 5),  # document
        st.sampled_from(["ab", "cd", "ef"]),
        st.sampled_from(["trust", "bridge", "safe_space", "help_seeking"]),
        st.integers(0, 50),
        st.integers(1, 30),
    ),
    min_size=1,
    max_size=40,
)


def build(rows):
    """Segments where document k belongs to participant p{k % 4}; participants p0..p5 exist."""
    frame = pd.DataFrame(rows, columns=["doc", "coder", "code", "start", "length"])
    return pd.DataFrame(
        {
            "document_id": "d" + frame["doc"].astype(str),
            "participant_id": "p" + (frame["doc"] % 4).astype(str),
            "case_id": np.where(frame["doc"] % 2 == 0, "slotervaart", "poelenburg_a"),
            "wave": "t0",
            "coder": frame["coder"],
            "code": frame["code"],
            "start": frame["start"],
            "end": frame["start"] + frame["length"],
            "text": "...",
        }
    )


PARTICIPANTS = pd.DataFrame(
    {
        "participant_id": [f"p{i}" for i in range(6)],
        "case_id": ["slotervaart", "poelenburg_a"] * 3,
        "role": ["professional", "migrant_org", "parent"] * 2,
    }
)


@settings(max_examples=examples(30), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(segment_rows, st.sampled_from(["primary", "any", "all"]))
def test_property_no_participant_lost_and_presence_binary(rows, coder):
    segments = build(rows)
    presence = code_presence(segments, PARTICIPANTS, coder=coder)
    assert set(presence["participant_id"]) == set(PARTICIPANTS["participant_id"])
    assert set(presence["present"]).issubset({0, 1})
    assert (presence["present"] == (presence["n_segments"] > 0)).all()
    # Every participant has exactly one row per code.
    assert presence.groupby("participant_id")["code"].nunique().eq(presence["code"].nunique()).all()
    assert not presence.duplicated(["participant_id", "code"]).any()


@settings(max_examples=examples(30), deadline=None)
@given(segment_rows)
def test_property_counts_are_conserved(rows):
    segments = build(rows)
    presence = code_presence(segments, PARTICIPANTS)  # primary coder
    ranking = quantitize._coder_ranking(segments)
    rank = segments["coder"].map(ranking)
    kept = rank == rank.groupby(segments["document_id"]).transform("min")
    assert presence["n_segments"].sum() == kept.sum()
    for coder in segments["coder"].unique():
        assert code_presence(segments, coder=coder)["n_segments"].sum() == (segments["coder"] == coder).sum()


@settings(max_examples=examples(25), deadline=None)
@given(segment_rows)
def test_property_any_dominates_primary_dominates_all(rows):
    segments = build(rows)
    values = {rule: code_presence(segments, PARTICIPANTS, coder=rule).set_index(["participant_id", "code"])["present"]
              for rule in ("any", "primary", "all")}
    assert (values["any"] >= values["primary"]).all()
    assert (values["primary"] >= values["all"]).all()


@settings(max_examples=examples(25), deadline=None)
@given(segment_rows)
def test_property_prevalence_bounds_and_totals(rows):
    segments = build(rows)
    presence = code_presence(segments, PARTICIPANTS)
    table = prevalence(presence, PARTICIPANTS, by=("case_id", "role"))
    assert (table["n_with_code"] <= table["n_at_risk"]).all()
    assert table["percent"].dropna().between(0, 100).all()
    interviewed = presence.drop_duplicates("participant_id")["interviewed"].sum()
    assert table.groupby("code")["n_at_risk"].sum().eq(interviewed).all()


@settings(max_examples=examples(25), deadline=None)
@given(segment_rows, st.sampled_from(["present", "n_segments"]))
def test_property_presence_matrix_keeps_every_unit_and_count(rows, value):
    presence = code_presence(build(rows), PARTICIPANTS)
    matrix = presence_matrix(presence, value=value)
    assert sorted(matrix.index) == sorted(PARTICIPANTS["participant_id"])  # no ID lost, one row each
    assert set(matrix.columns) == set(presence["code"].unique())
    assert int(matrix.to_numpy().sum()) == int(presence[value].sum())  # counts conserved


@settings(max_examples=examples(25), deadline=None)
@given(segment_rows)
def test_property_cooccurrence_is_bounded_by_each_code(rows):
    segments = build(rows)
    by_document = cooccurrence(segments, scope="document")
    assert (by_document["n_documents"] <= by_document[["n_documents_a", "n_documents_b"]].min(axis=1)).all()
    by_text = cooccurrence(segments)
    assert (by_text["chars_overlap"] <= by_text[["chars_a", "chars_b"]].min(axis=1)).all()
    assert (by_text["n_documents"] <= by_text["n_pairs"]).all()
    for pairs in (by_document, by_text):
        assert pairs["jaccard"].dropna().between(0, 1).all()
        assert (pairs["code_a"].astype(str) < pairs["code_b"].astype(str)).all() and not pairs.duplicated(["code_a", "code_b"]).any()


# --- prevalence ----------------------------------------------------------------


def test_prevalence_per_case(segments, participants):
    table = prevalence(code_presence(segments, participants), participants)
    row = table.set_index(["case_id", "code"]).loc[("poelenburg_a", "trust")]
    assert (row["n_with_code"], row["n_at_risk"], row["percent"]) == (1, 1, 100.0)  # p3 not interviewed
    slot = table.set_index(["case_id", "code"]).loc[("slotervaart", "safe_space")]
    assert (slot["n_with_code"], slot["n_at_risk"]) == (1, 1)


def test_prevalence_per_case_role_and_wave(segments, participants):
    presence = code_presence(segments, participants, unit=("participant_id", "wave"))
    assert pd.api.types.is_string_dtype(presence["wave"])  # also with the never-interviewed participant's empty wave
    table = prevalence(presence, participants, by=("case_id", "role", "wave")).set_index(["case_id", "role", "wave", "code"])
    assert table.loc[("slotervaart", "professional", "t0", "trust"), "n_with_code"] == 1
    assert table.loc[("slotervaart", "professional", "t1", "trust"), "n_with_code"] == 0
    assert table.loc[("slotervaart", "professional", "t1", "help_seeking"), "percent"] == 100.0
    # The never-interviewed parent has no wave; it is not at risk in any wave.
    assert ("poelenburg_a", "parent") not in table.reset_index().set_index(["case_id", "role"]).index.unique()


def test_prevalence_group_without_interviews_has_missing_percent(segments, participants):
    table = prevalence(code_presence(segments, participants), participants, by=("case_id", "role"))
    parent = table[(table["role"] == "parent")]
    assert (parent["n_at_risk"] == 0).all() and parent["percent"].isna().all()


def test_prevalence_by_wave_needs_wave_in_presence(segments, participants):
    with pytest.raises(DataError, match="unit=\\('participant_id', 'wave'\\)"):
        prevalence(code_presence(segments, participants), participants, by=("case_id", "wave"))


# --- co-occurrence -------------------------------------------------------------


def test_document_cooccurrence_and_jaccard(segments):
    table = cooccurrence(segments, scope="document").set_index(["code_a", "code_b"])
    row = table.loc[("safe_space", "trust")]
    # Primary coding: trust in d1, d3, g1; safe_space only in d1.
    assert (row["n_documents"], row["n_documents_a"], row["n_documents_b"]) == (1, 1, 3)
    assert row["jaccard"] == pytest.approx(1 / 3)
    assert table.loc[("help_seeking", "trust"), "n_documents"] == 0
    assert len(table) == 3  # all pairs of the three applied codes


def test_overlap_cooccurrence_counts_pairs_and_shared_characters(segments):
    table = cooccurrence(segments, scope="overlap").set_index(["code_a", "code_b"])
    row = table.loc[("safe_space", "trust")]
    # d1: safe_space [5,25) overlaps trust [0,10) and [20,30): 2 pairs, 5 + 5 shared characters.
    assert (row["n_pairs"], row["n_documents"], row["chars_overlap"]) == (2, 1, 10)
    # trust: d1 10 + 10, d3 10, g1 5 = 35 characters; safe_space 20.
    assert (row["chars_a"], row["chars_b"]) == (20, 35)
    assert row["jaccard"] == pytest.approx(10 / (20 + 35 - 10))


def test_touching_and_empty_selections_do_not_overlap():
    rows = [("d1", "p1", "c", "t0", "ab", "x", 0, 10), ("d1", "p1", "c", "t0", "ab", "y", 10, 20),
            ("d1", "p1", "c", "t0", "ab", "z", 5, 5)]
    table = cooccurrence(segments_frame(rows))
    assert table["n_pairs"].sum() == 0


def test_overlap_sweep_matches_brute_force():
    rng = np.random.default_rng(7)
    n = 300
    document = rng.integers(0, 5, n)
    start = rng.integers(0, 500, n)
    end = start + rng.integers(1, 80, n)
    first, second = quantitize._overlapping_pairs(document, start, end)
    found = {tuple(sorted(pair)) for pair in zip(first.tolist(), second.tolist())}
    same_doc = document[:, None] == document[None, :]
    overlap = (start[:, None] < end[None, :]) & (start[None, :] < end[:, None])
    expected = {(i, j) for i, j in zip(*np.nonzero(np.triu(same_doc & overlap, k=1)))}
    assert found == expected
    assert len(first) == len(found)  # no pair reported twice


def test_character_jaccard_matches_character_sets():
    rng = np.random.default_rng(3)
    rows = []
    for k in range(40):
        start = int(rng.integers(0, 200))
        rows.append((f"d{k % 3}", "p1", "c", "t0", "ab", str(rng.choice(["x", "y"])), start, start + int(rng.integers(1, 40))))
    segments = segments_frame(rows)
    table = cooccurrence(segments).iloc[0]
    chars = {code: {(r.document_id, i) for r in part.itertuples() for i in range(r.start, r.end)}
             for code, part in segments.groupby("code")}
    assert table["chars_overlap"] == len(chars["x"] & chars["y"])
    assert table["jaccard"] == pytest.approx(len(chars["x"] & chars["y"]) / len(chars["x"] | chars["y"]))


def test_cooccurrence_rejects_union_coder_rules(segments):
    with pytest.raises(ValueError, match="one coding"):
        cooccurrence(segments, coder="any")


# --- theme crosstab ------------------------------------------------------------


def crosstab_inputs(present_by_group):
    """Presence and participants from {group: [0/1, ...]}."""
    ids, groups, present = [], [], []
    for group, values in present_by_group.items():
        for value in values:
            ids.append(f"p{len(ids)}")
            groups.append(group)
            present.append(value)
    presence = pd.DataFrame({"participant_id": ids, "code": "trust", "n_segments": present, "present": present, "interviewed": True})
    participants = pd.DataFrame({"participant_id": ids, "case_id": groups, "role": "parent"})
    return presence, participants


def test_crosstab_2x2_uses_fisher_and_standard_shape():
    from scipy import stats

    presence, participants = crosstab_inputs({"a": [1] * 5 + [0], "b": [1] + [0] * 5})
    result = theme_crosstab(presence, participants, code="trust")
    assert tuple(result.columns) == RESULT_COLUMNS
    row = result.iloc[0]
    assert row["analysis"] == "theme_crosstab" and row["test"] == "fisher_exact"
    assert row["p_value"] == pytest.approx(stats.fisher_exact([[1, 5], [5, 1]]).pvalue)
    assert row["effect_size"] == pytest.approx(4 / 6)  # |phi| = |ad - bc| / sqrt(row and column products)
    assert row["ci_low"] < row["effect_size"] < row["ci_high"] <= 1
    assert row["n"] == 12


def test_crosstab_three_cases_small_expected_counts_gets_monte_carlo_p():
    presence, participants = crosstab_inputs({"a": [1, 1, 1, 0], "b": [0, 0, 1, 0], "c": [1, 1, 1, 1, 0]})
    row = theme_crosstab(presence, participants, code="trust", seed=1).iloc[0]
    again = theme_crosstab(presence, participants, code="trust", seed=1).iloc[0]
    assert row["test"] == "chi2" and "Monte Carlo p" in row["note"]
    assert row["p_value"] == again["p_value"]  # seeded
    assert "expected counts < 5" in row["note"]
    assert row["df"] == 2


def test_crosstab_large_table_uses_asymptotic_chi_square():
    from scipy import stats

    presence, participants = crosstab_inputs({"a": [1] * 20 + [0] * 10, "b": [1] * 8 + [0] * 22, "c": [1] * 15 + [0] * 15})
    row = theme_crosstab(presence, participants, code="trust").iloc[0]
    table = [[10, 20], [22, 8], [15, 15]]
    chi2 = stats.chi2_contingency(table, correction=False)
    assert row["test"] == "chi2" and "asymptotic" in row["note"]
    assert row["p_value"] == pytest.approx(chi2.pvalue)
    assert row["effect_size"] == pytest.approx(np.sqrt(chi2.statistic / 90))


def test_crosstab_cannot_run_gives_note_not_exception():
    presence, participants = crosstab_inputs({"a": [0, 0, 0], "b": [0, 0]})
    row = theme_crosstab(presence, participants, code="trust").iloc[0]
    assert "nobody" in row["note"] and pd.isna(row["p_value"])
    presence, participants = crosstab_inputs({"a": [1, 0, 1]})
    row = theme_crosstab(presence, participants, code="trust").iloc[0]
    assert "fewer than two" in row["note"]


def test_crosstab_by_role_within_one_case():
    presence, participants = crosstab_inputs({"a": [1, 1, 0, 0], "b": [1, 0]})
    participants["role"] = ["professional", "professional", "parent", "parent", "parent", "professional"]
    row = theme_crosstab(presence, participants, code="trust", by="role", case_id="a").iloc[0]
    assert row["case_id"] == "a" and row["n"] == 4
    assert row["group"] == "role: parent, professional"
    assert row["effect_size"] == pytest.approx(1.0)


def test_crosstab_unknown_code_is_a_data_error():
    presence, participants = crosstab_inputs({"a": [1, 0], "b": [0, 1]})
    with pytest.raises(DataError, match="'bridge' does not occur"):
        theme_crosstab(presence, participants, code="bridge")
