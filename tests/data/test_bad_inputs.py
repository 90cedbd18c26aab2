"""A battery of bad inputs, each through the real command line (`ponzoni_eval.cli.main`).

Every case breaks one thing in an otherwise valid input and asserts what the
user sees: the exit status, no traceback, and ONE message that names the
file, the row and the column (where a file has them), what was expected and
what was found. Data problems come out of `validate` (or `prepare` / `run`) as
one row of the problems table; problems with a command's arguments as one
``Error:`` line. Cases the package accepts (with or without a warning) are in
a list of their own, so a promise such as "a decimal comma is read" is tested
as well as a refusal.

The cases run in-process (fast); `test_no_traceback_in_a_fresh_process`
repeats a few in a subprocess, exactly as a user starts the command. Hostile
REFI-QDA projects (XML entities, zip bombs, ...) through `validate DIR` and
`qda-import` are at the end; the importer's own tests are in test_refi.py and
share its builders (tests/qda_builders.py).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd
import pytest

from ponzoni_eval.cli import main
from qda_builders import (
    BILLION_LAUGHS,
    G,
    TEXT1,
    XXE,
    basic_project,
    project_xml,
    qdpx,
    selection,
    symlink_qdpx,
    zip_bomb_members,
)
from rawdata import MINIMAL, QDA_TABLES, QUOTE_END, add_row, drop_column, move_interviews_to_qdpx, read_rows, set_cell, to_csv, write_raw, write_rows

NEXT_YEAR = dt.date.today().year + 1


# --- running the command ----------------------------------------------------------------------


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str

    @property
    def text(self) -> str:
        return self.stdout + self.stderr

    def rows(self, severity: str) -> list[dict[str, str]]:
        """Rows of the printed problems table with this severity, as {column: cell}."""
        names = ("severity", "file", "row", "column", "value", "rule", "message")
        found = []
        for line in self.stdout.splitlines():
            if line.startswith(f"│ {severity} "):
                found.append(dict(zip(names, (cell.strip() for cell in line.strip().strip("│").split("│")))))
        return found


@pytest.fixture
def cli(capsys, monkeypatch):
    """Run `ponzoni-eval ARGS` in this process; a wide terminal keeps each problem on one line."""
    monkeypatch.setenv("COLUMNS", "1000")

    def run(*args) -> Outcome:
        capsys.readouterr()
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as stopped:
            code = stopped.code if isinstance(stopped.code, int) else 1
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    return run


def assert_clean(outcome: Outcome, code: int) -> None:
    assert outcome.code == code, outcome.text
    assert "Traceback" not in outcome.text


# --- building the inputs ----------------------------------------------------------------------


def raw(tmp_path: Path) -> Path:
    return write_raw(tmp_path / "raw")


def replace_with_xlsx(folder: Path, table: str, rows: list[list], *, title: str | None = None) -> None:
    import openpyxl

    (folder / f"{table}.csv").unlink()
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = table
    if title is not None:  # a title above the header, merged over its width, as reports in Excel often have
        sheet.append([title] + [None] * (len(rows[0]) - 1))
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(rows[0]))
    for row in rows:
        sheet.append(row)
    workbook.save(folder / f"{table}.xlsx")


def participants_as_spss(folder: Path, role_codes: dict[str, float]) -> None:
    """participants.sav with `role` coded as numbers that carry the value labels 1..3."""
    import pyreadstat

    rows = read_rows(folder, "participants")
    (folder / "participants.csv").unlink()
    frame = pd.DataFrame(rows[1:], columns=rows[0])
    frame["role"] = frame["role"].map(role_codes).astype("float64")
    labels = {1.0: "professional", 2.0: "migrant_org", 3.0: "parent"}
    pyreadstat.write_sav(frame, str(folder / "participants.sav"), variable_value_labels={"role": labels})


ROLE_CODES = {"professional": 1.0, "migrant_org": 2.0, "parent": 3.0}


def with_project(tmp_path: Path, members: dict[str, bytes | str], name: str = "interviews.qdpx") -> Path:
    """The minimal raw folder with its interviews as a REFI-QDA project built from `members`."""
    folder = raw(tmp_path)
    for table in QDA_TABLES:
        (folder / f"{table}.csv").unlink()
    qdpx(folder, members, name=name)
    return folder


def project_text_members(xml: bytes) -> dict[str, bytes | str]:
    return {"project.qde": xml, f"sources/{G['src1']}.txt": TEXT1}


def beyond_the_text() -> bytes:
    sources = (f'<TextSource guid="{G["src1"]}" name="Interview P01" plainTextPath="internal://{G["src1"]}.txt">'
               + selection("66666666-0000-4000-8000-000000000001", 70, 500, "own") + "</TextSource>")
    return basic_project(sources=sources)


def run_folder(tmp_path: Path, manifest: str | dict | None, *, incomplete: bool = False) -> Path:
    folder = tmp_path / "papermill_runs" / "20240101-000000-abc"
    (folder / "tables").mkdir(parents=True)
    if manifest is not None:
        text = manifest if isinstance(manifest, str) else json.dumps(manifest)
        (folder / "manifest.json").write_text(text, encoding="utf-8")
    if incomplete:
        (folder / "INCOMPLETE").write_text("interrupted\n", encoding="utf-8")
    return folder


def recorded_run_on(tmp_path: Path, data: Path) -> Path:
    """A run manifest that recorded `data` with a checksum that cases.csv no longer has."""
    manifest = {
        "format_version": 1,
        "parameters": {"data_dir": str(data), "cases": ["slo"], "language": "en", "alpha": 0.05, "seed": 1},
        "inputs": {"raw": {"cases.csv": "0" * 64}, "processed": {}, "notebooks": {}},
        "notebooks": [],
    }
    return run_folder(tmp_path, manifest)


# --- data problems: one row of the problems table ---------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One expected row of the problems table ('' = the cell is empty)."""

    file: str
    row: str
    column: str
    value: str
    rule: str
    message: tuple[str, ...]  # parts of the message: what was expected (and, where the value cell is empty, found)


def _cell(table: str, row: int, column: str, value: str) -> Callable[[Path], list]:
    def build(tmp_path: Path) -> list:
        folder = raw(tmp_path)
        set_cell(folder, table, row, column, value)
        return ["validate", folder]

    return build


def _folder(change: Callable[[Path], object], command: str = "validate") -> Callable[[Path], list]:
    def build(tmp_path: Path) -> list:
        folder = raw(tmp_path)
        change(folder)
        return [command, folder] if command == "validate" else [command, folder, "--out", tmp_path / "processed"]

    return build


def _project(members: Callable[[], dict]) -> Callable[[Path], list]:
    return lambda tmp_path: ["validate", with_project(tmp_path, members())]


def _write(name: str, data: bytes | str) -> Callable[[Path], object]:
    return lambda folder: (folder / name).write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))


def _header_only(folder: Path) -> None:
    write_rows(folder, "cases", MINIMAL["cases"][:1])


def _delimited(table: str, delimiter: str) -> Callable[[Path], object]:
    return lambda folder: (folder / f"{table}.csv").write_text(to_csv(read_rows(folder, table), delimiter), encoding="utf-8")


def _duplicate_column(folder: Path) -> None:
    write_rows(folder, "cases", [row + [row[1]] for row in read_rows(folder, "cases")])


def _ragged(folder: Path) -> None:
    text = (folder / "cases.csv").read_text(encoding="utf-8").replace("women's association", "women, mothers")
    (folder / "cases.csv").write_text(text, encoding="utf-8")


def _second_file_for_cases(folder: Path) -> None:
    replace_with_xlsx(folder, "cases", MINIMAL["cases"])
    write_rows(folder, "cases", MINIMAL["cases"])


def _spss_unlabelled(folder: Path) -> None:
    participants_as_spss(folder, {**ROLE_CODES, "parent": 4.0})  # row 6's code 4 has no label


def _spss_corrupt(folder: Path) -> None:
    (folder / "cases.csv").unlink()
    (folder / "cases.sav").write_bytes(b"$FL2@(#) not really SPSS" * 20)


def _xlsx_corrupt(folder: Path) -> None:
    (folder / "cases.csv").unlink()
    (folder / "cases.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")


def _xlsx_empty(folder: Path) -> None:
    import openpyxl

    (folder / "cases.csv").unlink()
    openpyxl.Workbook().save(folder / "cases.xlsx")


def _old_excel(folder: Path) -> None:
    (folder / "cases.csv").unlink()
    (folder / "cases.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")


def _two_projects(folder: Path) -> None:
    move_interviews_to_qdpx(folder)
    (folder / "copy.qdpx").write_bytes((folder / "interviews.qdpx").read_bytes())


def _project_and_tables(folder: Path) -> None:
    segments = read_rows(folder, "coded_segments")
    move_interviews_to_qdpx(folder)
    write_rows(folder, "coded_segments", segments)


TABLE_CASES: dict[str, tuple[Callable[[Path], list], Problem]] = {
    # reading files
    "empty_file": (_folder(_write("cases.csv", b"")),
                   Problem("cases.csv", "", "", "", "empty_file", ("the file is empty (not even a header row)",))),
    "header_only": (_folder(_header_only),
                    Problem("cases.csv", "", "", "", "no_rows", ("header but no data rows", "the cases table is required"))),
    "pipe_delimiter": (_folder(_delimited("participants", "|")),
                       Problem("participants.csv", "1", "", "participant_id|case_id|role|organisat...", "delimiter",
                               ("not separated by ',', ';' or tab", "found |"))),
    "not_text": (_folder(_write("cases.csv", b"case_id,name\n\x81\x8d\x8f\x90,\x9d\n")),
                 Problem("cases.csv", "", "", "", "encoding", ("neither UTF-8 nor Windows-1252", "CSV UTF-8"))),
    "ragged_row": (_folder(_ragged),
                   Problem("cases.csv", "", "", "", "csv_structure", ("line 3 has 7 fields where the header has 6", "must be quoted"))),
    "duplicate_column": (_folder(_duplicate_column),
                         Problem("cases.csv", "1", "", "", "duplicate_column", ("['name'] more than once",))),
    "missing_required_column": (_folder(lambda f: drop_column(f, "participants", "role")),
                                Problem("participants.csv", "1", "role", "", "required_column",
                                        ("required column 'role' is missing", "the header has: participant_id, case_id, organisation, name"))),
    "missing_required_table": (_folder(lambda f: (f / "participants.csv").unlink()),
                               Problem("participants.csv", "", "", "", "required_table", ("required table 'participants' is missing", "expected participants.csv, .xlsx or .sav"))),
    "two_files_one_table": (_folder(_second_file_for_cases),
                            Problem("cases.csv", "", "", "", "duplicate_table", ("more than one file for table 'cases': cases.csv, cases.xlsx",))),
    "old_excel_format": (_folder(_old_excel),
                         Problem("cases.xls", "", "", "", "file_format", ("cannot read '.xls' files", "CSV (UTF-8), XLSX or SPSS .sav"))),
    "xlsx_title_in_merged_cells": (_folder(lambda f: replace_with_xlsx(f, "cases", MINIMAL["cases"], title="Cases of the study")),
                                   Problem("cases.xlsx", "2", "", "", "header_row", ("the column names are in row 2, not in row 1", "the header must be the first row"))),
    "xlsx_corrupt": (_folder(_xlsx_corrupt),
                     Problem("cases.xlsx", "", "", "", "unreadable_file", ("could not open the Excel file", "BadZipFile"))),
    "xlsx_empty_sheet": (_folder(_xlsx_empty),
                         Problem("cases.xlsx", "", "", "", "empty_file", ("the sheet is empty",))),
    "spss_unlabelled_value": (_folder(_spss_unlabelled),
                              Problem("participants.sav", "6", "role", "4", "value_label",
                                      ("the SPSS value has no value label", "1 = professional, 2 = migrant_org, 3 = parent"))),
    "spss_corrupt": (_folder(_spss_corrupt),
                     Problem("cases.sav", "", "", "", "unreadable_file", ("could not open the SPSS file",))),
    # cells
    "value_out_of_range": (_cell("survey_responses", 8, "value", "4"),
                           Problem("survey_responses.csv", "8", "value", "4", "value_in_range", ("outside the item's response range", "item 'aim' allows 1..3"))),
    "likert_not_a_number": (_cell("survey_responses", 2, "value", "vier"),
                            Problem("survey_responses.csv", "2", "value", "vier", "number", ("expected a whole number 1..5 (item 'trust_1')",))),
    "decimal_comma_on_likert_item": (_cell("survey_responses", 2, "value", "3,5"),
                                     Problem("survey_responses.csv", "2", "value", "3.5", "whole_number_answer", ("must be whole numbers (ordinal or nominal item)",))),
    "impossible_date": (_cell("survey_responses", 2, "response_date", "2023-02-30"),
                        Problem("survey_responses.csv", "2", "response_date", "2023-02-30", "date", ("cannot be read as a date as YYYY-MM-DD (or DD-MM-YYYY, or a month YYYY-MM)",))),
    "future_date": (_cell("survey_responses", 3, "response_date", f"{NEXT_YEAR}-01-01"),
                    Problem("survey_responses.csv", "3", "response_date", f"{NEXT_YEAR}-01-01", "date_plausible", ("date lies in the future",))),
    "date_before_1990": (_cell("cases", 2, "intervention_start", "1895-09-01"),
                         Problem("cases.csv", "2", "intervention_start", "1895-09-01", "date_plausible", ("date before 1990-01-01",))),
    "not_yes_no": (_cell("instrument", 2, "reverse_coded", "misschien"),
                   Problem("instrument.csv", "2", "reverse_coded", "misschien", "yes_no", ("cannot be read as yes or no",))),
    "role_not_in_vocabulary": (_cell("participants", 2, "role", "boss"),
                               Problem("participants.csv", "2", "role", "boss", "allowed_values", ("must be one of: professional, migrant_org, parent",))),
    "id_with_a_space": (_folder(lambda f: add_row(f, "participants", {"participant_id": "PA O02", "case_id": "pa", "role": "parent"})),
                        Problem("participants.csv", "7", "participant_id", "PA O02", "identifier", ("must be an identifier", "no spaces"))),
    "required_value_empty": (_cell("participants", 4, "case_id", ""),
                             Problem("participants.csv", "4", "case_id", "", "required_value", ("a value is required here (the cell is empty)",))),
    # keys and references
    "duplicate_participant_wave_item": (_folder(lambda f: add_row(f, "survey_responses", dict(zip(MINIMAL["survey_responses"][0], MINIMAL["survey_responses"][1])))),
                                        Problem("survey_responses.csv", "11", "participant_id, wave, item_id", "SLO-P01 / t0 / trust_1", "duplicate", ("each may appear only once (same as row 2)",))),
    "duplicate_participant": (_folder(lambda f: add_row(f, "participants", {"participant_id": "SLO-P01", "case_id": "slo", "role": "professional"})),
                              Problem("participants.csv", "7", "participant_id", "SLO-P01", "duplicate", ("duplicate participant_id", "same as row 2"))),
    "participant_in_unknown_case": (_cell("participants", 3, "case_id", "nowhere"),
                                    Problem("participants.csv", "3", "case_id", "nowhere", "case_exists", ("not listed in cases.csv (column 'case_id')",))),
    "item_not_in_instrument": (_cell("survey_responses", 2, "item_id", "trust_9"),
                               Problem("survey_responses.csv", "2", "item_id", "trust_9", "item_exists", ("not listed in instrument.csv",))),
    "role_may_not_answer_item": (_cell("survey_responses", 2, "item_id", "fj_1"),
                                 Problem("survey_responses.csv", "2", "item_id", "fj_1", "role_may_answer", ("role 'professional'; the item is for: migrant_org;parent",))),
    "wave_not_asked": (_cell("survey_responses", 5, "wave", "t1"),
                       Problem("survey_responses.csv", "5", "wave", "t1", "wave_asked", ("item 'fj_1' is asked in: t0;t2",))),
    "answer_by_unknown_participant": (_cell("survey_responses", 2, "participant_id", "SLO-P99"),
                                      Problem("survey_responses.csv", "2", "participant_id", "SLO-P99", "participant_exists", ("not listed in participants.csv",))),
    "segment_beyond_document": (_cell("coded_segments", 2, "end", str(QUOTE_END + 5)),
                                Problem("coded_segments.csv", "2", "end", str(QUOTE_END + 5), "segment_within_document", ("ends after the end of its document's text", "has 42 characters"))),
    "code_not_in_codebook": (_cell("coded_segments", 2, "code", "trust_grows"),
                             Problem("coded_segments.csv", "2", "code", "trust_grows", "code_exists", ("not listed in codebook.csv",))),
    # interviews as a REFI-QDA project in the raw folder
    "qdpx_corrupt_zip": (lambda tmp_path: ["validate", _corrupt_project(tmp_path)],
                         Problem("interviews.qdpx", "", "", "", "zip_corrupt", ("is not a valid zip archive", "export it again"))),
    "qdpx_without_qde": (_project(lambda: {"sources/a.txt": "text", "readme.md": "hi"}),
                         Problem("interviews.qdpx", "", "", "sources/a.txt, readme.md", "qdpx_no_qde", ("contains no .qde project file",))),
    "qde_not_well_formed": (_project(lambda: {"project.qde": b'<Project xmlns="urn:QDA-XML:project:1.0" name="x"><Users></Project>'}),
                            Problem("interviews.qdpx [project.qde]", "", "", "", "xml_syntax", ("is not well-formed XML (line 1, column",))),
    "qde_wrong_namespace": (_project(lambda: {"project.qde": project_xml("", namespace="urn:QDA-XML:project:2.0")}),
                            Problem("interviews.qdpx [project.qde]", "", "", "", "xml_namespace", ("namespace 'urn:QDA-XML:project:2.0'", "urn:QDA-XML:project:1.0"))),
    "selection_beyond_text": (_project(lambda: project_text_members(beyond_the_text())),
                              Problem("interviews.qdpx [project.qde]", "", "", "", "selection_bounds",
                                      ("selection 66666666-0000-4000-8000-000000000001 (70-500) lies beyond the end of the text", "78 characters as stored"))),
    "code_ref_to_unknown_guid": (_project(lambda: project_text_members(basic_project().replace(
        f'CodeRef targetGUID="{G["other"]}"'.encode(), b'CodeRef targetGUID="deadbeef-0000-4000-8000-000000000000"'))),
                                 Problem("interviews.qdpx [project.qde]", "", "", "", "code_ref",
                                         ("CodeRef to code GUID deadbeef-0000-4000-8000-000000000000, which is not in the codebook",))),
    "two_projects": (_folder(_two_projects),
                     Problem("copy.qdpx", "", "", "", "qda_project", ("more than one REFI-QDA project (copy.qdpx, interviews.qdpx)",))),
    "project_and_table_files": (_folder(_project_and_tables),
                                Problem("interviews.qdpx", "", "", "", "qda_project", ("and so does coded_segments.csv", "remove coded_segments.csv"))),
    # the same checks through prepare
    "prepare_refuses_bad_data": (_folder(lambda f: set_cell(f, "participants", 2, "role", "boss"), command="prepare"),
                                 Problem("participants.csv", "2", "role", "boss", "allowed_values", ("must be one of",))),
}


def _corrupt_project(tmp_path: Path) -> Path:
    folder = raw(tmp_path)
    move_interviews_to_qdpx(folder)
    (folder / "interviews.qdpx").write_bytes(b"PK\x03\x04 broken")
    return folder


@pytest.mark.parametrize("case", list(TABLE_CASES), ids=list(TABLE_CASES))
def test_a_data_problem_is_one_row_naming_file_row_column_expected_and_found(tmp_path, cli, case):
    build, expected = TABLE_CASES[case]
    args = build(tmp_path)
    outcome = cli(*args)
    assert_clean(outcome, 1)
    errors = outcome.rows("error")
    assert len(errors) == 1, outcome.stdout
    error = errors[0]
    assert (error["file"], error["row"], error["column"], error["value"], error["rule"]) == (
        expected.file, expected.row, expected.column, expected.value, expected.rule), outcome.stdout
    for part in expected.message:
        assert part in error["message"], error["message"]
    if args[0] == "validate":
        assert "NOT OK: 1 error(s)" in outcome.stdout
    else:
        assert "Not prepared" in outcome.stderr and not (tmp_path / "processed").exists()


# --- accepted inputs: what the package promises to read (some with a warning) -----------------


def _interval_item(folder: Path) -> None:
    set_cell(folder, "instrument", 2, "level", "interval")
    set_cell(folder, "survey_responses", 2, "value", "3,5")


def _cp1252(folder: Path) -> None:
    set_cell(folder, "participants", 3, "name", "José")
    (folder / "participants.csv").write_bytes(to_csv(read_rows(folder, "participants")).encode("cp1252"))


def _bom(folder: Path) -> None:
    (folder / "participants.csv").write_bytes(b"\xef\xbb\xbf" + (folder / "participants.csv").read_bytes())


def _unknown_column(folder: Path) -> None:
    rows = read_rows(folder, "cases")
    write_rows(folder, "cases", [rows[0] + ["colour"]] + [row + ["green"] for row in rows[1:]])


# case -> (change, expected warning (file, row, column, value, rule, message part) or None)
ACCEPTED_CASES: dict[str, tuple[Callable[[Path], object], tuple | None]] = {
    "unknown_column": (_unknown_column, ("cases.csv", "1", "colour", "", "unknown_column", "is not part of the cases table and is ignored")),
    "windows_1252": (_cp1252, ("participants.csv", "", "", "", "encoding", "read as Windows-1252")),
    "all_values_missing": (lambda f: [set_cell(f, "survey_responses", r, "value", "") for r in (7, 8)],
                           ("participants.csv", "4", "participant_id", "PA-P01", "all_values_missing", "every survey value of this participant is missing")),
    "name_as_participant_id": (lambda f: add_row(f, "participants", {"participant_id": "Khadija", "case_id": "pa", "role": "parent"}),
                               ("participants.csv", "7", "participant_id", "Khadija", "pseudonym", "looks like a person's name; use a pseudonym")),
    "name_as_coder": (lambda f: set_cell(f, "coded_segments", 2, "coder", "Elena Ponzoni"),
                      ("coded_segments.csv", "2", "coder", "Elena Ponzoni", "pseudonym", "looks like a person's name or e-mail address")),
    "email_as_coder": (lambda f: set_cell(f, "coded_segments", 2, "coder", "jan@example.org"),
                       ("coded_segments.csv", "2", "coder", "jan@example.org", "pseudonym", "looks like a person's name or e-mail address")),
    "date_far_from_the_case": (lambda f: set_cell(f, "survey_responses", 3, "response_date", "2009-09-01"),
                               ("survey_responses.csv", "3", "response_date", "2009-09-01", "date_near_case", "intervention_start 2015-09-01")),
    "utf8_with_bom": (_bom, None),
    "tab_separated": (_delimited("participants", "\t"), None),
    "semicolon_separated": (_delimited("survey_responses", ";"), None),
    "decimal_comma_on_interval_item": (_interval_item, None),
    "dutch_day_first_date": (lambda f: set_cell(f, "survey_responses", 2, "response_date", "01-08-2015"), None),
    "spss_role_codes_with_labels": (lambda f: participants_as_spss(f, ROLE_CODES), None),
    "header_only_optional_table": (lambda f: write_rows(f, "activity_log", MINIMAL["activity_log"][:1]), None),
}


@pytest.mark.parametrize("case", list(ACCEPTED_CASES), ids=list(ACCEPTED_CASES))
def test_accepted_input_exits_0_with_at_most_the_documented_warning(tmp_path, cli, case):
    change, warning = ACCEPTED_CASES[case]
    folder = raw(tmp_path)
    change(folder)
    outcome = cli("validate", folder)
    assert_clean(outcome, 0)
    assert "OK: 8 tables read" in outcome.stdout
    warnings = outcome.rows("warning")
    if warning is None:
        assert warnings == [], outcome.stdout
        return
    assert len(warnings) == 1, outcome.stdout
    found = warnings[0]
    assert (found["file"], found["row"], found["column"], found["value"], found["rule"]) == warning[:5]
    assert warning[5] in found["message"]


def test_accepted_values_are_read_as_promised(tmp_path):
    """The accepted cases give the values a user meant (not only exit 0)."""
    from ponzoni_eval.data.validate import validate_dir

    folder = raw(tmp_path)
    _interval_item(folder)
    participants_as_spss(folder, ROLE_CODES)
    set_cell(folder, "survey_responses", 3, "response_date", "01-09-2016")
    data = validate_dir(folder).data
    assert data["survey_responses"].loc[2, "value"] == 3.5
    assert data["survey_responses"].loc[3, "response_date"] == pd.Timestamp("2016-09-01")
    assert data["participants"]["role"].tolist() == [row[2] for row in MINIMAL["participants"][1:]]



def test_the_manifest_records_the_value_labels_of_an_spss_file(tmp_path):
    from ponzoni_eval.data.preparation import prepare

    folder = raw(tmp_path)
    participants_as_spss(folder, ROLE_CODES)
    manifest = prepare(folder, tmp_path / "processed")
    assert manifest["raw_files"]["participants.sav"]["value_labels"] == {"role": {"1": "professional", "2": "migrant_org", "3": "parent"}}
    assert "value_labels" not in manifest["raw_files"]["cases.csv"]


# --- the commands' own bad inputs: one "Error:" line --------------------------------------------


def _verify_changed_input(tmp_path: Path) -> list:
    data = raw(tmp_path)
    return ["verify", recorded_run_on(tmp_path, data)]


# case -> (arguments, exit status, parts of the one message)
COMMAND_CASES: dict[str, tuple[Callable[[Path], list], int, tuple[str, ...]]] = {
    "validate_missing_folder": (lambda t: ["validate", t / "nope"], 1,
                                ("nope: folder not found", "expected a folder with the raw tables")),
    "validate_a_file": (lambda t: ["validate", raw(t) / "cases.csv"], 1,
                        ("cases.csv: is a file, not a folder", "expected a folder with the raw tables")),
    "prepare_into_the_raw_folder": (lambda t: ["prepare", raw(t), "--out", t / "raw"], 1,
                                    ("raw: the output folder must not be the raw folder or inside it", "expected a folder outside")),
    "prepare_inside_the_raw_folder": (lambda t: ["prepare", raw(t), "--out", t / "raw" / "processed"], 1,
                                      ("processed: the output folder must not be the raw folder or inside it", "raw data are never written to")),
    "prepare_name_list_not_utf8": (lambda t: ["prepare", _name_list(raw(t), "Gülşen\n".encode("cp1254")), "--out", t / "processed"], 1,
                                   ("redaction_names.txt: the name list is not UTF-8 text", "expected a text file saved as UTF-8")),
    "prepare_missing_folder": (lambda t: ["prepare", t / "nope", "--out", t / "processed"], 1,
                               ("nope: folder not found",)),
    "verify_not_a_run": (lambda t: ["verify", raw(t)], 1,
                         ("raw: not a run folder: no manifest.json", "expected a folder made by `ponzoni-eval run`")),
    "verify_corrupt_manifest": (lambda t: ["verify", run_folder(t, "{not json")], 1,
                                ("manifest.json: manifest.json is not valid JSON", "the run folder is damaged")),
    "verify_manifest_without_inputs": (lambda t: ["verify", run_folder(t, {"format_version": 1})], 1,
                                       ("manifest.json: manifest.json lacks what a re-run needs", "found 'parameters, inputs, notebooks missing'")),
    "verify_unknown_manifest_format": (lambda t: ["verify", run_folder(t, {"format_version": 99})], 1,
                                       ("manifest format not understood", "expected 1; found 99")),
    "verify_interrupted_run": (lambda t: ["verify", run_folder(t, {"format_version": 1}, incomplete=True)], 1,
                               ("this run did not finish (it carries an INCOMPLETE marker)",)),
    "verify_missing_data_folder": (lambda t: ["verify", recorded_run_on(t, t / "gone")], 1,
                                   ("gone: the recorded data folder is not here; pass --data",)),
    "qda_import_not_a_qda_export": (lambda t: ["qda-import", raw(t) / "cases.csv", "--out", t / "out"], 1,
                                    ("cases.csv: no header row with the columns of a MAXQDA coded-segments or ATLAS.ti quotation export",
                                     "expected e.g. 'Document name', 'Code', 'Begin', 'End'")),
    "qda_import_unknown_suffix": (lambda t: ["qda-import", _notes(t), "--out", t / "out"], 1,
                                  ("notes.docx: not a QDA export this package reads",)),
    "qda_import_missing_file": (lambda t: ["qda-import", t / "nope.qdpx", "--out", t / "out"], 1,
                                ("nope.qdpx: file not found",)),
    "qda_import_bad_mapping": (lambda t: ["qda-import", qdpx(t, project_text_members(basic_project())), "--out", t / "out",
                                          "--mapping", _bad_toml(t)], 1,
                               ("mapping.toml", "TOML")),
    "run_missing_data_folder": (lambda t: ["run", "--data", t / "nope", "--out", t / "runs", "--processed", t / "processed"], 1,
                                ("nope: data folder not found", "expected a folder with the raw tables")),
    "run_into_the_data_folder": (lambda t: ["run", "--data", raw(t), "--out", t / "raw" / "runs", "--processed", t / "processed"], 1,
                                 ("runs: the run folder must not be inside the data folder",)),
    "run_unknown_case": (lambda t: ["run", "--data", raw(t), "--cases", "nowhere", "--out", t / "runs", "--processed", t / "processed"], 1,
                         ("unknown case(s)", "expected slo, pa; found 'nowhere'")),
    "example_over_real_data": (lambda t: ["example", raw(t)], 1,
                               ("raw: will not write the example into a folder that holds other files", "synthetic = true")),
    "example_into_a_file": (lambda t: ["example", raw(t) / "cases.csv"], 1,
                            ("cases.csv: is a file, not a folder",)),
    "templates_over_existing_files": (lambda t: ["templates", raw(t)], 1,
                                      ("raw: will not overwrite existing file(s) cases.csv", "choose an empty folder")),
    "dictionary_into_a_folder": (lambda t: ["dictionary", raw(t)], 1,
                                 ("raw: is a folder; give the name of a file to write", "expected a file name")),
    # Options out of range are usage errors: click's convention is exit status 2.
    "example_with_zero_sites": (lambda t: ["example", t / "ex", "--sites", "0"], 2,
                                ("Invalid value for '--sites'", "greater than or equal to 1")),
    "run_with_zero_jobs": (lambda t: ["run", "--data", raw(t), "--jobs", "0", "--out", t / "runs"], 2,
                           ("Invalid value for '--jobs'", "greater than or equal to 1")),
    "run_with_min_cell_zero": (lambda t: ["run", "--data", raw(t), "--min-cell", "0", "--out", t / "runs"], 2,
                               ("Invalid value for '--min-cell'", "greater than or equal to 1")),
}


def _name_list(folder: Path, data: bytes) -> Path:
    (folder / "redaction_names.txt").write_bytes(data)
    return folder


def _notes(tmp_path: Path) -> Path:
    (tmp_path / "notes.docx").write_bytes(b"PK\x03\x04 a Word file")
    return tmp_path / "notes.docx"


def _bad_toml(tmp_path: Path) -> Path:
    (tmp_path / "mapping.toml").write_text("[variables\nparticipant_id = ", encoding="utf-8")
    return tmp_path / "mapping.toml"


@pytest.mark.parametrize("case", list(COMMAND_CASES), ids=list(COMMAND_CASES))
def test_a_bad_command_input_is_one_message_and_a_clear_exit_status(tmp_path, cli, case):
    build, code, parts = COMMAND_CASES[case]
    outcome = cli(*build(tmp_path))
    assert_clean(outcome, code)
    message = " ".join(line.strip("│ ") for line in outcome.stderr.splitlines() if line.strip("│ ╭╰─"))
    for part in parts:
        assert part in message, outcome.text
    if code == 1:
        assert outcome.stderr.count("Error:") == 1 and outcome.stdout == "", outcome.text


def test_run_on_invalid_data_lists_the_problem_and_runs_nothing(tmp_path, cli):
    folder = raw(tmp_path)
    set_cell(folder, "survey_responses", 2, "value", "vier")
    outcome = cli("run", "--data", folder, "--out", tmp_path / "runs", "--processed", tmp_path / "processed")
    assert_clean(outcome, 1)
    [error] = outcome.rows("error")
    assert (error["file"], error["row"], error["column"], error["value"]) == ("survey_responses.csv", "2", "value", "vier")
    assert "Not run" in outcome.stderr and not (tmp_path / "processed").exists()


def test_verify_names_the_input_file_that_changed(tmp_path, cli):
    outcome = cli(*_verify_changed_input(tmp_path))
    assert_clean(outcome, 1)
    assert "Not reproduced: the input files are not the recorded ones" in " ".join(outcome.stderr.split())
    [line] = [line for line in outcome.stderr.splitlines() if "cases.csv" in line]
    assert "changed" in line and "activity_log.csv" in outcome.stderr  # files the recorded run did not have are named too


def test_qda_import_does_not_overwrite_existing_files(tmp_path, cli):
    out = tmp_path / "out"
    project = qdpx(tmp_path, project_text_members(basic_project()))
    assert_clean(cli("qda-import", project, "--out", out), 0)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    outcome = cli("qda-import", project, "--out", out)
    assert_clean(outcome, 1)
    assert "refusing to overwrite existing files" in outcome.stderr and "--force" in outcome.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_the_battery_has_at_least_forty_distinct_cases():
    cases = [*TABLE_CASES, *ACCEPTED_CASES, *COMMAND_CASES]
    assert len(set(cases)) == len(cases) >= 40


# --- hostile REFI-QDA projects through the commands --------------------------------------------

# name -> (archive members, or a writer of the archive; the refusal's rule; parts of its message)
HOSTILE: dict[str, tuple[Callable[[Path], Path], str, tuple[str, ...]]] = {
    "xml_external_entity": (lambda path: qdpx(path.parent, {"project.qde": XXE}, name=path.name), "xml_dtd",
                            ("[project.qde]", "refused: the XML declares a DTD")),
    "billion_laughs": (lambda path: qdpx(path.parent, {"project.qde": BILLION_LAUGHS}, name=path.name), "xml_dtd",
                       ("[project.qde]", "refused: the XML declares a DTD")),
    "zip_slip_dotdot": (lambda path: qdpx(path.parent, {"project.qde": basic_project(), "../../evil.txt": b"x"}, name=path.name), "zip_path",
                        ("[../../evil.txt]", "refused: member path leaves the archive")),
    "zip_slip_absolute": (lambda path: qdpx(path.parent, {"project.qde": basic_project(), "/etc/passwd": b"x"}, name=path.name), "zip_path",
                          ("[/etc/passwd]", "refused: member has an absolute path")),
    "zip_bomb": (lambda path: qdpx(path.parent, zip_bomb_members(), name=path.name), "zip_ratio",
                 ("[sources/bomb.txt]", "exceeds the limit of 200:1")),
    "symlink_member": (symlink_qdpx, "zip_symlink", ("refused: member is a symbolic link",)),
}


@pytest.mark.parametrize("case", list(HOSTILE), ids=list(HOSTILE))
def test_a_hostile_project_in_a_raw_folder_is_refused_by_validate(tmp_path, cli, case):
    write, rule, parts = HOSTILE[case]
    folder = raw(tmp_path)
    for table in QDA_TABLES:
        (folder / f"{table}.csv").unlink()
    write(folder / "interviews.qdpx")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    outcome = cli("validate", folder)
    assert_clean(outcome, 1)
    [error] = outcome.rows("error")
    assert error["file"].startswith("interviews.qdpx") and error["rule"] == rule, outcome.stdout
    for part in parts:
        assert part in error["file"] + " " + error["message"], outcome.stdout
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing unpacked anywhere
    assert "evil.txt" not in os.listdir(tmp_path) and not (tmp_path.parent / "evil.txt").exists()


@pytest.mark.parametrize("case", list(HOSTILE), ids=list(HOSTILE))
def test_a_hostile_project_is_refused_by_qda_import(tmp_path, cli, case):
    write, _, parts = HOSTILE[case]
    project = write(tmp_path / "project.qdpx")
    outcome = cli("qda-import", project, "--out", tmp_path / "out")
    assert_clean(outcome, 1)
    assert outcome.stderr.count("Error:") == 1 and "project.qdpx" in outcome.stderr
    for part in parts:
        assert part in outcome.stderr, outcome.stderr
    assert not (tmp_path / "out").exists()


# --- the same, as a user starts it ---------------------------------------------------------------


@pytest.mark.parametrize(
    "case", ["verify_corrupt_manifest", "dictionary_into_a_folder", "example_with_zero_sites", "qda_import_not_a_qda_export"]
)
def test_no_traceback_in_a_fresh_process(tmp_path, case):
    build, code, parts = COMMAND_CASES[case]
    completed = subprocess.run(
        [sys.executable, "-m", "ponzoni_eval.cli", *map(str, build(tmp_path))],
        capture_output=True, text=True, env={**os.environ, "COLUMNS": "1000"}, timeout=300,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == code and "Traceback" not in output, output
    assert parts[0] in output


def test_hostile_project_in_a_fresh_process(tmp_path):
    folder = raw(tmp_path)
    for table in QDA_TABLES:
        (folder / f"{table}.csv").unlink()
    qdpx(folder, zip_bomb_members(), name="interviews.qdpx")
    completed = subprocess.run(
        [sys.executable, "-m", "ponzoni_eval.cli", "validate", str(folder)],
        capture_output=True, text=True, env={**os.environ, "COLUMNS": "1000"}, timeout=300,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1 and "Traceback" not in output
    assert "exceeds the limit of 200:1" in output and "NOT OK: 1 error(s)" in output
