"""Kinder messages where the fix is known (issue 14): missing-value codes and reverse-coded items."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))

from data_shapes import Shape, write_shape  # noqa: E402

from ponzoni_eval.data import load_processed, prepare, validate_dir  # noqa: E402
from ponzoni_eval.data.validate import MISSING_CODE_HINT, reverse_coding_suspects  # noqa: E402


@pytest.fixture
def folder(tmp_path):
    return write_shape(tmp_path / "raw", Shape(1, ("t0", "t1"), interviews=False, double_coding=False, activity=False))


def _edit(path: Path, change) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame = change(frame)
    frame.to_csv(path, index=False)
    return frame


def _problems(folder: Path, rule: str) -> pd.DataFrame:
    problems = validate_dir(folder).problems
    return problems.loc[problems["rule"] == rule]


@pytest.mark.parametrize("code", ["99", "999", "-9", "-99", "-999"])
def test_a_missing_value_code_outside_the_range_is_named_as_one(folder, code):
    survey = _edit(folder / "survey_responses.csv", lambda f: f.assign(value=f["value"].where(f.index != 3, code)))
    (problem,) = _problems(folder, "value_in_range").itertuples()
    assert problem.row == 5 and problem.value == code  # spreadsheet row: header is row 1
    assert f"item '{survey.at[3, 'item_id']}' allows 1..5" in problem.message and MISSING_CODE_HINT in problem.message


def test_an_ordinary_value_out_of_range_gets_no_missing_code_hint(folder):
    _edit(folder / "survey_responses.csv", lambda f: f.assign(value=f["value"].where(f.index != 3, "7")))
    (problem,) = _problems(folder, "value_in_range").itertuples()
    assert "missing-value code" not in problem.message


def test_declared_missing_codes_are_accepted_and_prepared_as_empty_values(folder, tmp_path):
    survey = _edit(folder / "survey_responses.csv", lambda f: f.assign(value=f["value"].where(f.index != 3, "99")))
    item = survey.at[3, "item_id"]
    _edit(folder / "instrument.csv", lambda f: f.assign(missing_codes=np.where(f["item_id"] == item, "99;-9", "")))
    report = validate_dir(folder)
    assert report.ok and not len(report.problems.loc[report.problems["rule"] == "value_in_range"])
    prepare(folder, tmp_path / "processed")
    processed = load_processed(tmp_path / "processed")["survey_responses"]
    row = processed.loc[(processed["participant_id"].astype(str) == survey.at[3, "participant_id"])
                        & (processed["wave"].astype(str) == survey.at[3, "wave"]) & (processed["item_id"].astype(str) == item)]
    assert len(row) == 1 and row["value"].isna().all()
    assert processed["value"].max() <= 5


def test_a_badly_written_missing_codes_cell_is_an_error_naming_the_row(folder):
    _edit(folder / "instrument.csv", lambda f: f.assign(missing_codes=np.where(f.index == 2, "99;n/a", "")))
    problems = validate_dir(folder).problems
    bad = problems.loc[problems["column"] == "missing_codes"]
    assert len(bad) == 1 and bad["row"].iloc[0] == 4 and bad["severity"].iloc[0] == "error"
    assert "';'-separated list of numbers" in bad["message"].iloc[0]


def test_an_item_marked_wrongly_as_not_reverse_coded_is_named(folder):
    _edit(folder / "instrument.csv", lambda f: f.assign(reverse_coded=np.where(f["item_id"] == "trust_5", "false", f["reverse_coded"])))
    (problem,) = _problems(folder, "reverse_coding").itertuples()
    assert problem.severity == "warning" and problem.file == "instrument.csv" and problem.column == "reverse_coded"
    assert "item 'trust_5'" in problem.message and "scale 'trust'" in problem.message
    assert "probably reverse coded" in problem.message and "(now false)" in problem.message


def test_the_example_has_no_reverse_coding_warning(folder):
    assert _problems(folder, "reverse_coding").empty


def test_item_rest_correlation_matches_a_direct_computation():
    rng = np.random.default_rng(3)
    person = rng.normal(size=60)
    rows = []
    for p, level in enumerate(person):
        for item, sign in (("a", 1), ("b", 1), ("c", 1), ("d", -1)):
            rows.append({"participant_id": f"p{p}", "wave": "t0", "item_id": item,
                         "value": float(np.clip(np.round(3 + sign * level + rng.normal(scale=0.5)), 1, 5))})
    responses = pd.DataFrame(rows)
    instrument = pd.DataFrame({"item_id": list("abcd"), "scale": "s", "response_min": 1, "response_max": 5, "reverse_coded": False})
    ((scale, item, r),) = reverse_coding_suspects(responses, instrument)
    wide = responses.pivot(index="participant_id", columns="item_id", values="value")
    expected = np.corrcoef(wide["d"], wide[["a", "b", "c"]].mean(axis=1))[0, 1]
    assert (scale, item) == ("s", "d") and r == pytest.approx(expected, abs=1e-12) and r < 0
    assert reverse_coding_suspects(responses, instrument.assign(reverse_coded=[False, False, False, True])) == []
