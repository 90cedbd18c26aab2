import numpy as np
import pandas as pd
import pytest

from ponzoni_eval._core.errors import DataError
from ponzoni_eval.report.quality import QUALITY_TABLES, data_quality


def small_tables():
    """Two cases; case 'b' has no migrant-organisation members; p3 answered nothing at t1."""
    participants = pd.DataFrame(
        {
            "participant_id": ["p1", "p2", "p3", "p4", "p5"],
            "case_id": ["a", "a", "a", "b", "b"],
            "role": ["professional", "migrant_org", "parent", "professional", "parent"],
        }
    )
    instrument = pd.DataFrame({"item_id": ["tr1", "tr2", "ow1"], "scale": ["trust", "trust", "own_willingness"]})
    rows = [
        ("p1", "t0", "tr1", 4.0), ("p1", "t0", "tr2", np.nan), ("p1", "t0", "ow1", 5.0),
        ("p2", "t0", "tr1", 3.0), ("p2", "t0", "tr2", 2.0),
        ("p3", "t0", "tr1", 1.0), ("p3", "t1", "tr1", np.nan), ("p3", "t1", "tr2", np.nan),
        ("p4", "t0", "tr1", 5.0), ("p5", "t2", "tr1", 2.0),
    ]
    responses = pd.DataFrame(rows, columns=["participant_id", "wave", "item_id", "value"])
    return {"participants": participants, "instrument": instrument, "survey_responses": responses}


def test_sample_counts_every_role_including_empty_ones():
    sample = data_quality(small_tables())["sample"]
    assert sample.columns.tolist() == ["case_id", "role", "n_participants"]
    assert sample.values.tolist() == [
        ["a", "professional", 1], ["a", "migrant_org", 1], ["a", "parent", 1],
        ["b", "professional", 1], ["b", "migrant_org", 0], ["b", "parent", 1],
    ]


def test_a_participant_whose_answers_are_all_missing_did_not_respond():
    response = data_quality(small_tables(), "a")["response"]
    parents = response[response["role"] == "parent"].set_index("wave")
    assert parents["n_responding"].tolist() == [1, 0, 0]  # t0 answered; t1 only missing values; t2 absent
    assert parents["share_responding"].tolist() == [1.0, 0.0, 0.0]
    assert response["wave"].tolist()[:3] == ["t0", "t1", "t2"]


def test_share_responding_is_missing_for_a_role_without_participants():
    response = data_quality(small_tables(), "b")["response"]
    empty = response[response["role"] == "migrant_org"]
    assert empty["n_participants"].tolist() == [0, 0, 0]
    assert empty["share_responding"].isna().all()


def test_response_covers_only_the_roles_and_waves_the_instrument_asks():
    tables = small_tables()
    tables["instrument"] = tables["instrument"].assign(
        roles=["professional;migrant_org", "professional;migrant_org", "professional"],
        waves=[None, None, "t0"],
    )
    response = data_quality(tables, "a")["response"]
    assert response[["role", "wave"]].values.tolist() == [
        ["professional", "t0"], ["professional", "t1"], ["professional", "t2"],
        ["migrant_org", "t0"], ["migrant_org", "t1"], ["migrant_org", "t2"],
    ]


def test_missingness_per_scale_counts_the_rows_present():
    missingness = data_quality(small_tables(), "a")["missingness"]
    row = missingness[(missingness["role"] == "professional") & (missingness["scale"] == "trust")].iloc[0]
    assert (row["n_answers"], row["n_missing"], row["share_missing"]) == (2, 1, 0.5)
    parent_t1 = missingness[(missingness["role"] == "parent") & (missingness["wave"] == "t1")].iloc[0]
    assert (parent_t1["n_answers"], parent_t1["n_missing"]) == (2, 2)
    # every answer row of case a is counted once
    assert missingness["n_answers"].sum() == 8


def test_one_case_or_all_cases():
    quality = data_quality(small_tables(), "b")
    assert set(quality) == set(QUALITY_TABLES)
    assert set(quality["sample"]["case_id"]) == {"b"}
    assert set(data_quality(small_tables())["missingness"]["case_id"]) == {"a", "b"}
    assert data_quality(small_tables(), ["b", "a"])["sample"].equals(data_quality(small_tables())["sample"])


def test_unknown_case_names_the_known_ones():
    with pytest.raises(DataError, match=r"case not found.*expected a, b.*found 'c'"):
        data_quality(small_tables(), "c")
    with pytest.raises(DataError, match=r"found 'c, d'"):
        data_quality(small_tables(), ["a", "c", "d"])


def test_missing_table_or_column_is_named():
    tables = small_tables()
    del tables["instrument"]
    with pytest.raises(DataError, match="instrument: table missing"):
        data_quality(tables)
    tables = small_tables()
    tables["survey_responses"] = tables["survey_responses"].drop(columns="wave")
    with pytest.raises(DataError, match="survey_responses, column 'wave'"):
        data_quality(tables)
