from ponzoni_eval._core.errors import DataError, Problem, ValidationFailed, problems_frame


def test_data_error_names_file_row_column_expected_and_found():
    err = DataError("value out of range", file="survey.csv", row=7, column="value", expected="1..5", found="9")
    text = str(err)
    assert text == "survey.csv, row 7, column 'value': value out of range (expected 1..5; found '9')"
    assert isinstance(err, ValueError)


def test_validation_failed_keeps_all_problems_sorted_in_frame():
    problems = [
        Problem("error", "b.csv", 3, "x", "1", "rule_b", "bad b"),
        Problem("warning", "a.csv", None, "y", None, "rule_a", "odd a"),
        Problem("error", "a.csv", 5, "z", "q", "rule_c", "bad a"),
    ]
    exc = ValidationFailed(problems)
    assert len(exc.problems) == 3
    assert "2 problem(s)" in str(exc)
    frame = problems_frame(problems)
    assert frame["file"].tolist() == ["a.csv", "a.csv", "b.csv"]
    assert frame["row"].isna().tolist() == [True, False, False]
