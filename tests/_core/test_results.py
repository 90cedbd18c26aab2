import pandas as pd
import pytest

from ponzoni_eval._core.results import RESULT_COLUMNS, empty_results, result_frame, result_row, stack_results


def test_result_frame_has_standard_columns_and_dtypes():
    frame = result_frame([dict(analysis="pre_post", case_id="slotervaart", n=12, p_value=0.03, note="exact")])
    assert tuple(frame.columns) == RESULT_COLUMNS
    assert frame["n"].dtype == "Int64"
    assert frame["p_value"].dtype == "float64"
    assert pd.api.types.is_string_dtype(frame["note"])
    assert frame.loc[0, "note"] == "exact"
    assert pd.isna(frame.loc[0, "statistic"])


def test_unknown_column_is_rejected():
    with pytest.raises(TypeError, match="p_val"):
        result_row(analysis="x", p_val=0.1)


def test_stack_keeps_rows_and_rejects_foreign_frames():
    a = result_frame([dict(analysis="a", n=1)])
    b = result_frame([dict(analysis="b", n=2), dict(analysis="b", n=3)])
    stacked = stack_results(a, empty_results(), b)
    assert stacked["analysis"].tolist() == ["a", "b", "b"]
    assert stacked["n"].tolist() == [1, 2, 3]
    with pytest.raises(ValueError, match="missing columns"):
        stack_results(pd.DataFrame({"analysis": ["x"]}))


def test_infinite_statistics_become_missing():
    frame = result_frame([dict(analysis="a", effect_size=float("inf"))])
    assert pd.isna(frame.loc[0, "effect_size"])
