"""Every validation rule has a fixture that breaks it and a test that names file, row and column."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console

from ponzoni_eval.data import schema
from ponzoni_eval.data.read import MAX_PROBLEMS_PER_RULE
from ponzoni_eval.data.validate import CROSS_TABLE_RULES, print_report, validate_dir
from rawdata import QUOTE, QUOTE_END, QUOTE_START, add_row, drop_column, move_interviews_to_qdpx, read_rows, set_cell, write_raw, write_rows

NEXT_YEAR = str(dt.date.today().year + 1)


@pytest.fixture
def raw(tmp_path):
    return write_raw(tmp_path / "raw")


def problems_of(report, rule):
    return report.problems[report.problems["rule"] == rule]


def assert_problem(report, *, rule, file, row, column, message, severity="error", value=None):
    found = problems_of(report, rule)
    assert len(found), f"no '{rule}' problem; got:\n{report.problems.to_string()}"
    same_column = found["column"].isna() if column is None else found["column"] == column
    hit = found[(found["file"] == file) & same_column & (found["severity"] == severity)]
    hit = hit[hit["row"].isna()] if row is None else hit[hit["row"] == row]
    assert len(hit) == 1, f"expected one {severity} at {file} row {row} column {column}; got:\n{found.to_string()}"
    assert message in hit["message"].iloc[0]
    if value is not None:
        assert hit["value"].iloc[0] == value
    return hit.iloc[0]


def test_minimal_folder_is_valid(raw):
    report = validate_dir(raw)
    assert report.ok, report.problems.to_string()
    assert len(report.problems) == 0
    assert set(report.data) == set(schema.TABLES) - {"memos", "roles", "waves"}  # memos only come from QDA projects with notes; labels are optional
    assert report.data["survey_responses"].index[0] == 2  # spreadsheet row numbers survive validation


# Each case: (rule, how to break the minimal folder, file, row, column, message fragment, severity).
def _break(table, row, column, value):
    return lambda folder: set_cell(folder, table, row, column, value)


CROSS_TABLE_CASES = [
    ("case_exists", _break("participants", 3, "case_id", "nowhere"), "participants.csv", 3, "case_id", "not listed in cases.csv", "error"),
    ("case_exists", _break("activity_log", 2, "case_id", "nowhere"), "activity_log.csv", 2, "case_id", "not listed in cases.csv", "error"),
    ("case_exists", _break("documents", 2, "case_id", "nowhere"), "documents.csv", 2, "case_id", "not listed in cases.csv", "error"),
    ("participant_exists", _break("survey_responses", 4, "participant_id", "SLO-M99"), "survey_responses.csv", 4, "participant_id", "not listed in participants.csv", "error"),
    ("participant_exists", _break("coded_segments", 2, "participant_id", "SLO-M99"), "coded_segments.csv", 2, "participant_id", "not listed in participants.csv", "error"),
    ("participant_case", _break("coded_segments", 2, "case_id", "pa"), "coded_segments.csv", 2, "case_id", "belongs to another case (participants lists 'slo')", "error"),
    ("item_exists", _break("survey_responses", 2, "item_id", "trust_9"), "survey_responses.csv", 2, "item_id", "not listed in instrument.csv", "error"),
    ("role_may_answer", _break("survey_responses", 2, "item_id", "fj_1"), "survey_responses.csv", 2, "item_id", "role 'professional'; the item is for: migrant_org;parent", "error"),
    ("wave_asked", _break("survey_responses", 5, "wave", "t1"), "survey_responses.csv", 5, "wave", "not asked in this wave (item 'fj_1' is asked in: t0;t2)", "error"),
    ("value_in_range", _break("survey_responses", 8, "value", "4"), "survey_responses.csv", 8, "value", "item 'aim' allows 1..3", "error"),
    ("whole_number_answer", _break("survey_responses", 2, "value", "3,5"), "survey_responses.csv", 2, "value", "must be whole numbers", "error"),
    ("date_plausible", _break("survey_responses", 3, "response_date", f"{NEXT_YEAR}-01-01"), "survey_responses.csv", 3, "response_date", "lies in the future", "error"),
    ("date_plausible", _break("cases", 2, "intervention_start", "1985-01-01"), "cases.csv", 2, "intervention_start", "before 1990-01-01", "error"),
    ("date_near_case", _break("survey_responses", 3, "response_date", "2009-09-01"), "survey_responses.csv", 3, "response_date", "intervention_start 2015-09-01", "warning"),
    ("date_near_case", _break("activity_log", 3, "date", "2001-01-01"), "activity_log.csv", 3, "date", "intervention_start 2015-03-01", "warning"),
    ("codebook_present", lambda folder: (folder / "codebook.csv").unlink(), "codebook.csv", None, "code", "codebook is missing", "error"),
    ("code_exists", _break("coded_segments", 2, "code", "trust_grows"), "coded_segments.csv", 2, "code", "not listed in codebook.csv", "error"),
    ("document_exists", _break("coded_segments", 2, "document_id", "SLO-M01-t9"), "coded_segments.csv", 2, "document_id", "not listed in documents.csv", "error"),
    ("segment_within_document", _break("coded_segments", 2, "end", str(QUOTE_END + 5)), "coded_segments.csv", 2, "end", "ends after the end of its document's text", "error"),
    ("segment_text_length", _break("coded_segments", 2, "start", str(QUOTE_END - 3)), "coded_segments.csv", 2, "text", "longer than its start..end span", "warning"),
    ("all_values_missing", lambda folder: [set_cell(folder, "survey_responses", r, "value", "") for r in (7, 8)], "participants.csv", 4, "participant_id", "every survey value of this participant is missing", "warning"),
    ("pseudonym", _break("participants", 6, "participant_id", "Khadija"), "participants.csv", 6, "participant_id", "looks like a person's name", "warning"),
    # issue 14: needs enough answers for a correlation, so the folder becomes one case of the example with trust_5 unmarked
    ("reverse_coding", lambda folder: _reverse_coding_unmarked(folder), "instrument.csv", 6, "reverse_coded", "item 'trust_5' correlates negatively with the rest of scale 'trust'", "warning"),
]


def _reverse_coding_unmarked(folder):
    import sys

    sys.path.insert(0, str(Path(__file__).parents[1]))
    from data_shapes import Shape, write_shape

    for old in folder.glob("*.csv"):
        old.unlink()
    write_shape(folder, Shape(1, ("t0", "t1"), interviews=False, double_coding=False, activity=False))
    instrument = (folder / "instrument.csv").read_text(encoding="utf-8").splitlines()
    assert instrument[5].startswith("trust_5,") and instrument[5].count(",true,") == 1  # row 6 of the spreadsheet
    instrument[5] = instrument[5].replace(",true,", ",false,")
    (folder / "instrument.csv").write_text("\n".join(instrument) + "\n", encoding="utf-8")


@pytest.mark.parametrize(("rule", "breaker", "file", "row", "column", "message", "severity"), CROSS_TABLE_CASES, ids=[c[0] for c in CROSS_TABLE_CASES])
def test_cross_table_rule_reports_file_row_column(raw, rule, breaker, file, row, column, message, severity):
    breaker(raw)
    report = validate_dir(raw)
    assert_problem(report, rule=rule, file=file, row=row, column=column, message=message, severity=severity)
    assert report.ok == (severity == "warning")


def test_every_cross_table_rule_has_a_breaking_fixture():
    assert {case[0] for case in CROSS_TABLE_CASES} == set(CROSS_TABLE_RULES)


SCHEMA_CASES = [
    ("allowed_values", _break("participants", 2, "role", "boss"), "participants.csv", 2, "role", "must be one of: professional, migrant_org, parent"),
    ("allowed_values", _break("survey_responses", 2, "wave", "t3"), "survey_responses.csv", 2, "wave", "must be one of: t0, t1, t2"),
    ("allowed_values", _break("activity_log", 2, "event_type", "coffee"), "activity_log.csv", 2, "event_type", "must be one of: joint_meeting"),
    ("allowed_values", _break("survey_responses", 9, "missing_reason", "forgot"), "survey_responses.csv", 9, "missing_reason", "must be one of: not_answered"),
    ("identifier", _break("cases", 3, "case_id", "poelenburg a"), "cases.csv", 3, "case_id", "must be an identifier"),
    ("required_value", _break("cases", 2, "city", ""), "cases.csv", 2, "city", "a value is required here"),
    ("not_negative", _break("activity_log", 2, "count", "-1"), "activity_log.csv", 2, "count", "must not be negative"),
    ("not_negative", _break("coded_segments", 2, "start", "-4"), "coded_segments.csv", 2, "start", "must not be negative"),
    ("response_min_below_max", _break("instrument", 2, "response_max", "1"), "instrument.csv", 2, "response_max", "response_min must be below response_max"),
    ("end_not_before_start", _break("coded_segments", 2, "end", "1"), "coded_segments.csv", 2, "end", "end must not lie before start"),
    ("schema", _break("instrument", 3, "roles", "migrant_org;boss"), "instrument.csv", 3, "roles", "roles must be a ';'-separated list"),
    ("schema", _break("instrument", 3, "waves", "t0;t5"), "instrument.csv", 3, "waves", "waves must be a ';'-separated list"),
    ("number", _break("survey_responses", 2, "value", "vier"), "survey_responses.csv", 2, "value", "expected a whole number 1..5 (item 'trust_1')"),
    ("whole_number", _break("activity_log", 2, "count", "1.5"), "activity_log.csv", 2, "count", "cannot be read as a whole number"),
    ("date", _break("survey_responses", 2, "response_date", "2015-02-30"), "survey_responses.csv", 2, "response_date", "cannot be read as a date"),
    ("yes_no", _break("instrument", 2, "reverse_coded", "perhaps"), "instrument.csv", 2, "reverse_coded", "yes or no"),
    ("required_column", lambda folder: drop_column(folder, "participants", "role"), "participants.csv", 1, "role", "required column 'role' is missing"),
]


@pytest.mark.parametrize(("rule", "breaker", "file", "row", "column", "message"), SCHEMA_CASES, ids=[f"{c[0]}-{c[4]}" for c in SCHEMA_CASES])
def test_schema_rule_reports_file_row_column(raw, rule, breaker, file, row, column, message):
    breaker(raw)
    report = validate_dir(raw)
    assert_problem(report, rule=rule, file=file, row=row, column=column, message=message)
    assert not report.ok
    assert report.data is None


def test_duplicate_participant_points_at_the_first_row(raw):
    row = add_row(raw, "participants", {"participant_id": "SLO-M01", "case_id": "slo", "role": "migrant_org"})
    report = validate_dir(raw)
    assert_problem(report, rule="duplicate", file="participants.csv", row=row, column="participant_id", message="(same as row 3)", value="SLO-M01")


def test_duplicate_participant_wave_item_is_one_problem_per_repeat(raw):
    row = add_row(raw, "survey_responses", {"participant_id": "SLO-P01", "wave": "t0", "item_id": "trust_1", "value": "2"})
    report = validate_dir(raw)
    hit = assert_problem(report, rule="duplicate", file="survey_responses.csv", row=row, column="participant_id, wave, item_id", message="(same as row 2)")
    assert hit["value"] == "SLO-P01 / t0 / trust_1"
    assert len(problems_of(report, "duplicate")) == 1


def test_unreadable_cell_is_not_also_reported_as_missing(raw):
    set_cell(raw, "cases", 2, "intervention_start", "september")
    report = validate_dir(raw)
    at_cell = report.problems[(report.problems["file"] == "cases.csv") & (report.problems["row"] == 2)]
    assert at_cell["rule"].tolist() == ["date"]
    assert at_cell["value"].iloc[0] == "september"


def test_unknown_column_and_file_are_warnings_and_notes_and_qdc_codebooks_are_left_alone(raw):
    rows = read_rows(raw, "cases")
    write_rows(raw, "cases", [r + [x] for r, x in zip(rows, ["remarks", "x", "y"])])
    (raw / "interviews.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (raw / "codes.qdc").write_bytes(b"<not even xml")  # a REFI-QDA codebook alone is not imported
    (raw / "notes.md").write_text("# notes\n", encoding="utf-8")
    report = validate_dir(raw)
    assert report.ok
    assert_problem(report, rule="unknown_column", file="cases.csv", row=1, column="remarks", message="not part of the cases table", severity="warning")
    assert_problem(report, rule="unknown_file", file="interviews.csv", row=None, column=None, message="not a known table", severity="warning")
    assert [p.name for p in report.raw.qda_files] == ["codes.qdc"]
    assert len(report.problems) == 2  # notes.md and the .qdc raise nothing


# --- interviews from a REFI-QDA project ------------------------------------------------------------


def test_a_project_validates_like_the_tables_it_replaces(raw):
    move_interviews_to_qdpx(raw)
    report = validate_dir(raw)
    assert report.ok and len(report.problems) == 0, report.problems.to_string()
    assert set(report.data) == set(schema.TABLES) - {"memos", "roles", "waves"}  # memos only come from QDA projects with notes; labels are optional
    assert report.data["coded_segments"]["text"].tolist() == [QUOTE]


def test_problems_in_imported_rows_name_the_project_table_and_the_selection(raw):
    set_cell(raw, "documents", 2, "case_id", "slotervaart")  # the QDA project's case variable, not our case_id
    move_interviews_to_qdpx(raw)
    report = validate_dir(raw)
    document = assert_problem(report, rule="case_exists", file="interviews.qdpx (documents)", row=1, column="case_id", message="not listed in cases.csv", value="slotervaart")
    assert document["message"].endswith("[document 'SLO-M01-t0']")
    segment = assert_problem(report, rule="case_exists", file="interviews.qdpx (coded_segments)", row=1, column="case_id", message="not listed in cases.csv")
    assert segment["message"].endswith(f"[document 'SLO-M01-t0', characters {QUOTE_START}-{QUOTE_END}, coder 'coder_1']")
    # the mapping beside the project recodes the variable; then all is well
    (raw / "qda_mapping.toml").write_text('[values.case_id]\nslotervaart = "slo"\n', encoding="utf-8")
    assert validate_dir(raw).ok


@pytest.mark.parametrize(
    ("table", "column", "value", "file"),
    [
        ("coded_segments", "coder", "Elena Ponzoni", "coded_segments.csv"),
        ("documents", "document_id", "Fatima", "documents.csv"),
    ],
)
def test_coders_and_document_ids_that_look_like_names_are_warned_about(raw, table, column, value, file):
    set_cell(raw, table, 2, column, value)
    if column == "document_id":
        set_cell(raw, "coded_segments", 2, column, value)
    report = validate_dir(raw)
    assert report.ok
    assert_problem(report, rule="pseudonym", file=file, row=2, column=column, message="looks like a person's name or e-mail address", severity="warning", value=value)
    assert len(problems_of(report, "pseudonym")) == 1  # the document id is checked where it is defined, not again in coded_segments


def test_pseudonym_warnings_point_at_the_table_row_not_the_position(raw):
    set_cell(raw, "coded_segments", 2, "coder", "jan@example.org")
    rows = read_rows(raw, "coded_segments")
    write_rows(raw, "coded_segments", [rows[0], [""] * len(rows[0]), rows[1]])  # an empty row 2 is skipped: the segment is row 3
    report = validate_dir(raw)
    assert_problem(report, rule="pseudonym", file="coded_segments.csv", row=3, column="coder", message="e-mail address", severity="warning")


def test_missing_required_table_and_duplicate_table_files(raw):
    (raw / "instrument.csv").unlink()
    (raw / "cases.xlsx").write_bytes(b"")
    report = validate_dir(raw)
    assert_problem(report, rule="required_table", file="instrument.csv", row=None, column=None, message="required table 'instrument' is missing")
    assert_problem(report, rule="duplicate_table", file="cases.csv", row=None, column=None, message="cases.csv, cases.xlsx")


def test_email_and_name_matching_ids_are_flagged_as_not_pseudonyms(raw):
    set_cell(raw, "participants", 4, "participant_id", "jan@example.org")
    set_cell(raw, "participants", 6, "participant_id", "fatma")
    report = validate_dir(raw)
    assert_problem(report, rule="pseudonym", file="participants.csv", row=4, column="participant_id", message="e-mail address", severity="warning")
    assert_problem(report, rule="identifier", file="participants.csv", row=4, column="participant_id", message="must be an identifier")
    assert_problem(report, rule="pseudonym", file="participants.csv", row=6, column="participant_id", message="person's name", severity="warning")


def test_pseudonym_heuristic_accepts_pseudonyms():
    from ponzoni_eval.data.validate import _NAME_LIKE_ID

    ids = pd.Series(["SLO-P03", "PA-M12", "site_001", "respondent", "Fatima", "Jan.deVries", "AB"], dtype="str")
    assert ids.str.fullmatch(_NAME_LIKE_ID).tolist() == [False, False, False, False, True, True, False]


def test_many_broken_rows_are_listed_up_to_a_limit_then_summarised(raw):
    rows = read_rows(raw, "activity_log")
    extra = [["slo", "2015-08-03", "joint_meeting", "-1"] for _ in range(MAX_PROBLEMS_PER_RULE + 7)]
    write_rows(raw, "activity_log", rows + extra)
    found = problems_of(validate_dir(raw), "not_negative")
    assert len(found) == MAX_PROBLEMS_PER_RULE + 1
    assert "and 7 more rows with the same problem" in found["message"].iloc[0]  # the summary (row empty) sorts first
    assert found["row"].isna().sum() == 1


def test_rows_follow_the_spreadsheet_with_blank_lines_and_semicolons(raw):
    text = "case_id;name;city;neighbourhood;partner_org_type;intervention_start\n\nslo;Slotervaart;Amsterdam;S;m;2015-09-01\npa;P A;Zaanstad;P;w;99-99-2015\n"
    (raw / "cases.csv").write_text(text, encoding="utf-8")
    report = validate_dir(raw)
    assert_problem(report, rule="date", file="cases.csv", row=4, column="intervention_start", message="cannot be read as a date", value="99-99-2015")


def test_print_report_shows_location_and_summary(raw):
    set_cell(raw, "survey_responses", 2, "value", "vier")
    console = Console(record=True, width=200)
    print_report(validate_dir(raw), console)
    text = console.export_text()
    assert "survey_responses.csv" in text and "vier" in text and "value" in text
    assert "NOT OK: 1 error(s)" in text


def test_print_report_ok(raw):
    console = Console(record=True, width=200)
    print_report(validate_dir(raw), console)
    assert console.export_text().startswith("OK: 8 tables read")


def test_unreadable_files_are_reported_not_raised(raw):
    (raw / "participants.csv").unlink()
    (raw / "participants.xlsx").write_bytes(b"this is not a zip file")
    (raw / "instrument.csv").write_bytes(b"item_id,scale\n\x81\x8d\x8f\n")  # not UTF-8, not Windows-1252
    report = validate_dir(raw)
    assert_problem(report, rule="unreadable_file", file="participants.xlsx", row=None, column=None, message="could not open the Excel file")
    assert_problem(report, rule="encoding", file="instrument.csv", row=None, column=None, message="neither UTF-8 nor Windows-1252")
