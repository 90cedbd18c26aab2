"""Wide survey files (SPSS, Excel, CSV) to the long survey_responses table (issue 14)."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))

from data_shapes import Shape, write_shape  # noqa: E402

from ponzoni_eval import cli  # noqa: E402
from ponzoni_eval._core.errors import DataError  # noqa: E402
from ponzoni_eval.data import read_table_collecting, reshape_wide, validate_dir  # noqa: E402


def _wide_from_shape(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The shape's long survey as the wide file an evaluator would have: one row per participant, item_wave columns."""
    long = pd.read_csv(folder / "survey_responses.csv", dtype=str)
    wide = long.pivot(index="participant_id", columns=["item_id", "wave"], values="value")
    wide.columns = [f"{item}_{wave}" for item, wave in wide.columns]
    return long, wide.reset_index().rename(columns={"participant_id": "respondent"})


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".sav"])
def test_a_wide_file_becomes_the_long_table_and_the_folder_validates(tmp_path, suffix, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    folder = write_shape(tmp_path / "raw", Shape(1, ("t0", "t1"), interviews=False, double_coding=False, activity=False))
    long, wide = _wide_from_shape(folder)
    wide["remark"] = "free text"
    source = tmp_path / f"wide{suffix}"
    if suffix == ".csv":
        wide.to_csv(source, index=False)
    elif suffix == ".xlsx":
        wide.to_excel(source, index=False)
    else:
        import pyreadstat

        numeric = wide.drop(columns="remark").set_index("respondent").apply(pd.to_numeric).reset_index()
        pyreadstat.write_sav(numeric, str(source))
    (folder / "survey_responses.csv").unlink()
    with pytest.raises(SystemExit) as stopped:
        cli.main(["reshape-wide", str(source), "--id", "respondent", "--waves", "t0,t1", "--out", str(folder / "survey_responses.csv")])
    captured = capsys.readouterr()
    assert stopped.value.code == 0, captured.out + captured.err
    assert ("remark" in captured.err) == (suffix != ".sav")  # an unplaced column is named
    report = validate_dir(folder)
    assert report.ok, report.problems
    got = report.data["survey_responses"]
    expected = long.dropna(subset=["value"]).astype({"value": float})
    merged = got.astype({"participant_id": str, "wave": str, "item_id": str}).merge(
        expected, on=["participant_id", "wave", "item_id"], suffixes=("", "_expected"))
    assert len(merged) == len(expected) and (merged["value"] == merged["value_expected"]).all()


def test_a_pattern_with_scale_and_wave_labels_mapped_to_waves():
    wide = pd.DataFrame({"id": ["a", "b"], "trust_1_pre": ["1", "2"], "trust_1_post": ["3", ""], "trust_2_post": ["5", "4"]})
    long, unmatched = reshape_wide(wide, id_column="id", waves="pre=t0,post=t2", pattern="{scale}_{item}_{wave}", keep_empty=True)
    assert unmatched == []
    assert long[["participant_id", "wave", "item_id", "value"]].values.tolist() == [
        ["a", "t0", "trust_1", "1"], ["a", "t2", "trust_1", "3"], ["a", "t2", "trust_2", "5"],
        ["b", "t0", "trust_1", "2"], ["b", "t2", "trust_1", ""], ["b", "t2", "trust_2", "4"],
    ]
    without_empty, _ = reshape_wide(wide, id_column="id", waves="pre=t0,post=t2", pattern="{scale}_{item}_{wave}")
    assert len(without_empty) == 5 and (without_empty["value"] != "").all()


@pytest.mark.parametrize(("call", "message"), [
    (dict(id_column="nope", waves="t0"), "id column not found"),
    (dict(id_column="id", waves="t7"), "unknown wave"),
    (dict(id_column="id", waves="t0", pattern="{item}"), "needs {item} and {wave}"),
    (dict(id_column="id", waves="t1"), "no column matches the pattern"),
])
def test_mistakes_are_messages(call, message):
    wide = pd.DataFrame({"id": ["a"], "trust_1_t0": ["1"]})
    with pytest.raises(DataError, match=message):
        reshape_wide(wide, **call)


def test_a_repeated_id_is_refused():
    wide = pd.DataFrame({"id": ["a", "a"], "trust_1_t0": ["1", "2"]})
    with pytest.raises(DataError, match="more than one row"):
        reshape_wide(wide, id_column="id", waves="t0")


def test_an_existing_file_is_never_overwritten(tmp_path, capsys):
    source = tmp_path / "wide.csv"
    pd.DataFrame({"id": ["a"], "trust_1_t0": ["1"]}).to_csv(source, index=False)
    target = tmp_path / "survey_responses.csv"
    target.write_text("mine\n")
    with pytest.raises(SystemExit) as stopped:
        cli.main(["reshape-wide", str(source), "--id", "id", "--waves", "t0", "--out", str(target)])
    assert stopped.value.code == 1 and target.read_text() == "mine\n"
    assert "will not overwrite" in capsys.readouterr().err
    assert read_table_collecting(source).ok
