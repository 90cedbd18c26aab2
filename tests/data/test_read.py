"""Reading raw tables (CSV, XLSX, SPSS), folders, atomic writes, parquet, templates."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os

import numpy as np
import pandas as pd
import pytest

from ponzoni_eval.data import schema
from ponzoni_eval._core.errors import DataError, ValidationFailed
from ponzoni_eval.data.read import (
    DataWarning,
    read_raw_dir,
    read_table,
    read_table_collecting,
    to_categorical,
)
from ponzoni_eval._core.files import atomic_write_bytes, atomic_write_text, write_parquet
from ponzoni_eval.data.processed import load_processed
from ponzoni_eval._core.fingerprint import sha256_file
from ponzoni_eval.data.templates import write_templates
from ponzoni_eval.data.validate import validate_dir
from rawdata import MINIMAL, QDA_TABLES, QUOTE_END, QUOTE_START, move_interviews_to_qdpx, set_cell, to_csv, write_raw

PARTICIPANTS_HEADER = "participant_id,case_id,role,organisation,name\n"


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


# --- CSV -------------------------------------------------------------------------------------


def test_csv_is_typed_per_schema_with_spreadsheet_rows(tmp_path):
    path = write(tmp_path / "survey_responses.csv", to_csv(MINIMAL["survey_responses"]))
    frame = read_table(path)
    assert frame.index.name == "row"
    assert frame.index.tolist() == list(range(2, 11))
    assert frame["value"].dtype == "float64"
    assert frame["response_date"].dtype == "datetime64[us]"
    assert pd.api.types.is_string_dtype(frame["participant_id"])
    assert pd.isna(frame.loc[9, "value"]) and frame.loc[9, "missing_reason"] == "not_answered"
    assert pd.isna(frame.loc[2, "missing_reason"])  # empty cell = missing


def test_semicolon_decimal_comma_bom_and_whitespace(tmp_path):
    text = "\ufeffParticipant_ID ; wave;response_date;item_id;value\n SLO-P01 ;t0;01-08-2015;trust_1;3,5\nSLO-P02;t1;2015-8;trust_1; 4 \n"
    frame = read_table(write(tmp_path / "survey_responses.csv", text))
    assert list(frame.columns) == ["participant_id", "wave", "response_date", "item_id", "value"]
    assert frame["participant_id"].tolist() == ["SLO-P01", "SLO-P02"]
    assert frame["value"].tolist() == [3.5, 4.0]
    assert frame["response_date"].tolist() == [pd.Timestamp("2015-08-01"), pd.Timestamp("2015-08-01")]


def test_blank_lines_keep_their_row_numbers(tmp_path):
    text = PARTICIPANTS_HEADER + "SLO-P01,slo,professional,JT,\n\n,,,,\nSLO-P02,slo,professional,JT,\n"
    frame = read_table(write(tmp_path / "participants.csv", text))
    assert frame.index.tolist() == [2, 5]


def test_windows_1252_is_read_with_a_warning(tmp_path):
    path = write(tmp_path / "participants.csv", PARTICIPANTS_HEADER + "SLO-P01,slo,professional,Stichting Één,Inès\n", encoding="cp1252")
    with pytest.warns(DataWarning, match="not UTF-8; it was read as Windows-1252"):
        frame = read_table(path)
    assert frame.loc[2, "name"] == "Inès"
    assert frame.loc[2, "organisation"] == "Stichting Één"


def test_bytes_that_are_no_known_encoding_are_refused_with_advice(tmp_path):
    path = tmp_path / "participants.csv"
    path.write_bytes(PARTICIPANTS_HEADER.encode() + b"SLO-P01,slo,professional,\x81\x8d,\n")
    with pytest.raises(ValidationFailed, match="neither UTF-8 nor Windows-1252.*CSV UTF-8"):
        read_table(path)


def test_utf16_excel_unicode_text_is_read(tmp_path):
    path = write(tmp_path / "participants.csv", PARTICIPANTS_HEADER.replace(",", "\t") + "SLO-P01\tslo\tparent\t\tAyşe\n", encoding="utf-16")
    assert read_table(path).loc[2, "name"] == "Ayşe"


def test_ragged_rows_are_reported_with_the_line(tmp_path):
    path = write(tmp_path / "participants.csv", PARTICIPANTS_HEADER + "SLO-P01,slo,professional,JT,\nSLO-P02,slo,professional,Jeugdteam, Noord,\n")
    result = read_table_collecting(path)
    (problem,) = result.problems
    assert problem.rule == "csv_structure"
    assert "line 3 has 6 fields where the header has 5" in problem.message


def test_repeated_header_names_are_an_error(tmp_path):
    path = write(tmp_path / "participants.csv", "participant_id,case_id,role,role\nSLO-P01,slo,parent,parent\n")
    with pytest.raises(ValidationFailed, match=r"names column\(s\) \['role'\] more than once"):
        read_table(path)


def test_unreadable_cells_name_the_value_and_the_expectation(tmp_path):
    rows = [r[:] for r in MINIMAL["activity_log"]]
    rows[1][3] = "twee"
    rows[2][1] = "31-02-2015"
    with pytest.raises(ValidationFailed) as caught:
        read_table(write(tmp_path / "activity_log.csv", to_csv(rows)))
    found = {(p.row, p.column, p.value, p.rule) for p in caught.value.problems}
    assert found == {(2, "count", "twee", "whole_number"), (3, "date", "31-02-2015", "date")}
    assert "expected" not in str(caught.value) or "twee" in str(caught.value)


def test_missing_required_column_names_the_header(tmp_path):
    result = read_table_collecting(write(tmp_path / "cases.csv", "case_id,name\nslo,S\n"))
    missing = {p.column for p in result.problems if p.rule == "required_column"}
    assert missing == {"city", "neighbourhood", "partner_org_type", "intervention_start"}
    assert all(p.row == 1 and "the header has: case_id, name" in p.message for p in result.problems)


def test_activity_month_column_is_read_as_first_day(tmp_path):
    frame = read_table(write(tmp_path / "activity_log.csv", "case_id,month,event_type,count\nslo,2015-09,joint_meeting,3\n"))
    assert frame.loc[2, "date"] == pd.Timestamp("2015-09-01")
    assert frame["count"].dtype == "int64"


def test_yes_no_words(tmp_path):
    rows = [MINIMAL["instrument"][0]] + [r[:] for r in MINIMAL["instrument"][1:]]
    rows[1][6], rows[2][6], rows[3][6] = "ja", "Nee", "TRUE"
    frame = read_table(write(tmp_path / "instrument.csv", to_csv(rows)))
    assert frame["reverse_coded"].tolist() == [True, False, True]
    assert frame["reverse_coded"].dtype == bool


def test_unknown_column_warns_and_is_kept(tmp_path):
    with pytest.warns(DataWarning, match="column 'remarks' is not part of the cases table"):
        frame = read_table(write(tmp_path / "cases.csv", to_csv([r + ["x"] for r in MINIMAL["cases"]]).replace("x\n", "remarks\n", 1)))
    assert "remarks" in frame.columns


def test_a_file_that_is_no_table_is_read_as_text(tmp_path):
    frame = read_table(write(tmp_path / "notes_table.csv", "a,b\n1,2\n"))
    assert frame.loc[2, "a"] == "1"


def test_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        read_table(tmp_path / "cases.csv")


# --- XLSX and SPSS -------------------------------------------------------------------------------


def test_xlsx_sheet_named_like_the_table_typed_cells(tmp_path):
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.active.title = "notes"
    workbook.active.append(["this sheet is not read"])
    sheet = workbook.create_sheet("Survey_Responses")
    sheet.append(["participant_id", "wave", "response_date", "item_id", "value"])
    sheet.append(["SLO-P01", "t0", dt.datetime(2015, 8, 1), "trust_1", 3])
    sheet.append([None, None, None, None, None])
    sheet.append(["SLO-P02", "t0", "01-08-2015", "trust_1", 4.0])
    sheet.append([101, "t0", dt.date(2015, 8, 2), "trust_1", "vier"])
    workbook.save(tmp_path / "survey_responses.xlsx")
    result = read_table_collecting(tmp_path / "survey_responses.xlsx")
    frame = result.frame
    assert frame.index.tolist() == [2, 4, 5]
    assert frame["participant_id"].tolist() == ["SLO-P01", "SLO-P02", "101"]
    assert frame.loc[2, "response_date"] == pd.Timestamp("2015-08-01")
    assert frame.loc[4, "value"] == 4.0
    assert [(p.row, p.column, p.value) for p in result.problems] == [(5, "value", "vier")]


def test_xlsx_first_sheet_when_no_sheet_is_named_like_the_table(tmp_path):
    frame_in = pd.DataFrame([r for r in MINIMAL["cases"][1:]], columns=MINIMAL["cases"][0])
    frame_in.to_excel(tmp_path / "cases.xlsx", sheet_name="Blad1", index=False)
    frame = read_table(tmp_path / "cases.xlsx")
    assert frame["case_id"].tolist() == ["slo", "pa"]
    assert frame.loc[3, "intervention_start"] == pd.Timestamp("2015-03-01")


def test_spss_value_labels_are_kept(tmp_path):
    import pyreadstat

    frame_in = pd.DataFrame(
        {"participant_id": ["SLO-P01", "SLO-M01"], "wave": ["t0", "t0"], "response_date": [dt.date(2015, 8, 1)] * 2, "item_id": ["aim", "aim"], "value": [1.0, np.nan]}
    )
    path = tmp_path / "survey_responses.sav"
    pyreadstat.write_sav(frame_in, str(path), variable_value_labels={"value": {1.0: "strengthen", 2.0: "bridge", 3.0: "both"}})
    frame = read_table(path)
    assert frame.attrs == {}  # the labels travel beside the frame, never on it
    labels = {"value": {"1": "strengthen", "2": "bridge", "3": "both"}}
    assert read_table_collecting(path).value_labels == labels
    raw = read_raw_dir(tmp_path)
    assert raw.value_labels == {"survey_responses": labels}
    assert frame.loc[2, "value"] == 1.0 and pd.isna(frame.loc[3, "value"])
    assert frame.loc[3, "response_date"] == pd.Timestamp("2015-08-01")
    assert frame.index.tolist() == [2, 3]


def test_unsupported_format_is_explained(tmp_path):
    (tmp_path / "cases.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    result = read_table_collecting(tmp_path / "cases.xls", "cases")
    assert result.problems[0].rule == "file_format"
    assert "save the table as CSV (UTF-8), XLSX or SPSS .sav" in result.problems[0].message


# --- folders -------------------------------------------------------------------------------------


def test_read_raw_dir_maps_files_to_tables_and_reads_dataset_toml(tmp_path):
    raw = write_raw(tmp_path / "raw")
    (raw / "dataset.toml").write_text('synthetic = true\ntitle = "tiny"\n', encoding="utf-8")
    (raw / "~$cases.xlsx").write_bytes(b"lock file")
    data = read_raw_dir(raw)
    assert data.ok and data.problems == []
    assert set(data.tables) == set(schema.TABLES) - {"memos", "roles", "waves"}  # memos only come from QDA projects with notes; labels are optional
    assert data.files["cases"].name == "cases.csv"
    assert data.metadata == {"synthetic": True, "title": "tiny"}


def test_read_raw_dir_of_a_missing_folder(tmp_path):
    with pytest.raises(DataError, match="folder not found"):
        read_raw_dir(tmp_path / "nope")


def test_broken_dataset_toml_is_an_error_on_its_line(tmp_path):
    """Issue 19: an unreadable description could hide `synthetic = true` (and the SYNTHETIC banner with it)."""
    raw = write_raw(tmp_path / "raw")
    (raw / "dataset.toml").write_text('title = "tiny"\nsynthetic = \n', encoding="utf-8")
    data = read_raw_dir(raw)
    assert not data.ok and data.metadata == {}
    assert [(p.severity, p.file, p.row, p.rule) for p in data.problems] == [("error", "dataset.toml", 2, "dataset_toml")]


# --- a REFI-QDA project in the folder ---------------------------------------------------------------


def test_a_project_supplies_coded_segments_codebook_and_documents(tmp_path):
    raw = write_raw(tmp_path / "raw")
    expected = {t: read_table(raw / f"{t}.csv") for t in QDA_TABLES}
    move_interviews_to_qdpx(raw)
    data = read_raw_dir(raw)
    assert data.ok and data.problems == []
    assert list(data.tables) == [t for t in schema.TABLES if t not in ("memos", "roles", "waves")]  # schema order; no notes, no labels
    assert data.qda_project == raw / "interviews.qdpx" and data.qda_files == [raw / "interviews.qdpx"]
    assert not set(QDA_TABLES) & set(data.files)  # the tables have no file of their own
    assert data.source_name("coded_segments") == "interviews.qdpx (coded_segments)" and data.source_name("cases") == "cases.csv"
    for table in QDA_TABLES:
        imported = data.tables[table]
        assert imported.index.tolist() == list(range(1, len(imported) + 1)) and imported.index.name == "row"
        columns = [c for c in expected[table].columns if c in imported.columns]
        pd.testing.assert_frame_equal(imported[columns].reset_index(drop=True), expected[table][columns].reset_index(drop=True), check_dtype=False)
    assert "name" not in data.tables["documents"].columns  # QDA document names often hold a person's name
    assert data.row_labels["coded_segments"].tolist() == [f"document 'SLO-M01-t0', characters {QUOTE_START}-{QUOTE_END}, coder 'coder_1'"]
    assert data.qda_report.counts["codings"] == 1


def test_a_project_beside_table_files_is_an_error_that_says_what_to_remove(tmp_path):
    raw = write_raw(tmp_path / "raw")
    move_interviews_to_qdpx(raw)
    write_raw(raw, {"coded_segments": MINIMAL["coded_segments"]})
    data = read_raw_dir(raw)
    problem = next(p for p in data.problems if p.rule == "qda_project")
    assert problem.severity == "error" and problem.file == "interviews.qdpx"
    assert "remove coded_segments.csv to analyse the project, or remove interviews.qdpx" in problem.message
    assert "coded_segments" in data.tables and "codebook" not in data.tables  # the table file is read, the project is not
    move_interviews_to_qdpx(write_raw(tmp_path / "other"), name="second.qdpx")
    (raw / "coded_segments.csv").unlink()
    (raw / "second.qdpx").write_bytes((tmp_path / "other" / "second.qdpx").read_bytes())
    assert [p.message for p in read_raw_dir(raw).problems if p.rule == "qda_project"] == [
        "more than one REFI-QDA project (interviews.qdpx, second.qdpx); keep one"
    ]


def _zip(path, members):
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


@pytest.mark.parametrize(
    ("make", "file", "rule", "message"),
    [
        (lambda path: path.write_bytes(b"PK\x03\x04 not really a zip"), "interviews.qdpx", "zip_corrupt", "is not a valid zip archive"),
        (lambda path: _zip(path, {"project.qde": "<Project/>", "../../evil.txt": "x"}), "interviews.qdpx [../../evil.txt]", "zip_path", "refused: member path leaves the archive"),
        (lambda path: _zip(path, {"project.qde": '<?xml version="1.0"?><!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]><Project xmlns="urn:QDA-XML:project:1.0">&x;</Project>'}),
         "interviews.qdpx [project.qde]", "xml_dtd", "DTD"),
        (lambda path: _zip(path, {"notes.txt": "no project here"}), "interviews.qdpx", "qdpx_no_qde", "contains no .qde project file"),
    ],
    ids=["corrupt", "zip_slip", "xxe", "no_project"],
)
def test_a_refused_project_is_an_error_naming_the_file_not_a_traceback(tmp_path, make, file, rule, message):
    raw = write_raw(tmp_path / "raw")
    move_interviews_to_qdpx(raw)
    make(raw / "interviews.qdpx")
    report = validate_dir(raw)
    found = report.problems[report.problems["rule"] == rule]
    assert len(found) == 1, report.problems.to_string()
    assert found["file"].iloc[0] == file and found["severity"].iloc[0] == "error" and message in found["message"].iloc[0]
    assert not report.ok and not set(QDA_TABLES) & set(report.raw.tables)


def test_import_warnings_and_skipped_sources_become_warnings(tmp_path):
    import zipfile

    raw = write_raw(tmp_path / "raw")
    set_cell(raw, "documents", 2, "participant_id", "")  # a group interview: nobody to attach it to
    set_cell(raw, "coded_segments", 2, "participant_id", "")
    project = move_interviews_to_qdpx(raw)
    with zipfile.ZipFile(project) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    members["project.qde"] = members["project.qde"].replace(b"</Sources>", b'<PDFSource guid="a0b1c2d3-0000-4000-8000-000000000001" name="scan.pdf"/></Sources>')
    _zip(project, members)
    data = read_raw_dir(raw)
    assert data.ok
    found = {(p.rule, p.severity, p.file) for p in data.problems}
    assert found == {("qda_import", "warning", "interviews.qdpx"), ("qda_skipped", "warning", "interviews.qdpx")}
    assert any("1 document(s) have no participant" in p.message for p in data.problems)
    assert any("PDFSource 'scan.pdf' not imported: not a text source" in p.message for p in data.problems)


def test_a_broken_mapping_beside_the_project_is_an_error_on_the_mapping(tmp_path):
    raw = write_raw(tmp_path / "raw")
    move_interviews_to_qdpx(raw)
    (raw / "qda_mapping.toml").write_text("[variabels]\ncase_id = 'Casus'\n", encoding="utf-8")
    problems = [p for p in read_raw_dir(raw).problems if p.severity == "error"]
    assert [(p.file, p.rule) for p in problems] == [("qda_mapping.toml", "mapping")]
    assert "unknown table(s) ['variabels']" in problems[0].message


def test_a_bare_qde_with_its_sources_folder_is_imported(tmp_path):
    import zipfile

    raw = write_raw(tmp_path / "raw")
    project = move_interviews_to_qdpx(raw)
    with zipfile.ZipFile(project) as archive:
        archive.extractall(raw)  # project.qde and sources/, as some programs leave them
    project.unlink()
    data = read_raw_dir(raw)
    assert data.ok and data.problems == []  # the sources folder is expected, not an unknown sub-folder
    assert data.qda_project.name == "project.qde" and len(data.tables["coded_segments"]) == 1


# --- writing -------------------------------------------------------------------------------------


def test_atomic_write_replaces_and_leaves_no_temporary_files(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    atomic_write_text(target, "één\n")
    atomic_write_bytes(target, b"two\r\n")
    assert target.read_bytes() == b"two\r\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.txt"]
    assert oct(target.stat().st_mode & 0o777) == "0o644"


def test_failed_parquet_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "table.parquet"
    write_parquet(pd.DataFrame({"a": [1, 2]}), target)
    before = target.read_bytes()
    with pytest.raises(Exception):
        write_parquet(pd.DataFrame({"a": [object(), 1]}), target)  # pyarrow cannot store an object()
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["table.parquet"]


def test_parquet_is_deterministic_and_round_trips_categoricals(tmp_path):
    frame = pd.DataFrame({"wave": pd.Categorical(["t1", "t0"], categories=list(schema.WAVES), ordered=True), "value": [1.0, np.nan]}, index=pd.Index([2, 3], name="row"))
    write_parquet(frame, tmp_path / "a.parquet", metadata={"note": "x"})
    write_parquet(frame, tmp_path / "b.parquet", metadata={"note": "x"})
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    back = pd.read_parquet(tmp_path / "a.parquet")
    pd.testing.assert_frame_equal(back, frame)


def test_sha256_file_matches_hashlib(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"abc" * 1_000_000)
    assert sha256_file(path, chunk_size=4096) == hashlib.sha256(b"abc" * 1_000_000).hexdigest()


def test_to_categorical_keeps_given_order_and_drops_unknown_values():
    values = pd.Series(["t2", "t0", None, "t9"], dtype="str", index=[5, 6, 7, 8])
    result = to_categorical(values, schema.WAVES, ordered=True)
    assert result.cat.categories.tolist() == ["t0", "t1", "t2"] and result.cat.ordered
    assert result.index.tolist() == [5, 6, 7, 8]
    assert result.isna().tolist() == [False, False, True, True]
    assert to_categorical(pd.Series(["b", "a", "b"], dtype="str")).cat.categories.tolist() == ["b", "a"]


# --- processed data --------------------------------------------------------------------------------


def test_load_processed_needs_a_manifest_and_detects_changed_files(tmp_path):
    with pytest.raises(DataError, match="run `ponzoni-eval prepare"):
        load_processed(tmp_path)
    write_parquet(pd.DataFrame({"wave": ["t2", "t0"]}), tmp_path / "t.parquet")
    manifest = {"tables": {"t": {"file": "t.parquet", "sha256": sha256_file(tmp_path / "t.parquet")}}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    loaded = load_processed(tmp_path)["t"]
    assert loaded["wave"].cat.ordered and loaded["wave"].cat.categories.tolist() == ["t0", "t1", "t2"]
    assert (loaded["wave"] < "t2").tolist() == [False, True]
    write_parquet(pd.DataFrame({"wave": ["t1"]}), tmp_path / "t.parquet")
    with pytest.raises(DataError, match="differs from manifest.json"):
        load_processed(tmp_path)
    assert load_processed(tmp_path, verify=False)["t"]["wave"].tolist() == ["t1"]


# --- templates -------------------------------------------------------------------------------------


def test_templates_have_every_column_validate_and_never_overwrite(tmp_path):
    written = write_templates(tmp_path)
    assert sorted(p.name for p in written) == sorted([f"{t}.csv" for t in schema.TABLES] + ["README.md", "analysis_plan.toml"])
    for table, spec in schema.TABLES.items():
        raw_bytes = (tmp_path / f"{table}.csv").read_bytes()
        assert raw_bytes.startswith(b"\xef\xbb\xbf")
        assert raw_bytes.decode("utf-8-sig").splitlines()[0].split(",") == list(spec.schema.columns)
    guide = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert "ponzoni-eval validate" in guide and "pseudonym" in guide
    # issue 14: the guide says which scales feed which section, and the instrument has them all
    for scale in ("trust", "own_willingness", "perceived_willingness", "expectation_primary", "expect_strengthen", "expect_bridge", "safe_space"):
        assert f"`{scale}`" in guide
    instrument = pd.read_csv(tmp_path / "instrument.csv", encoding="utf-8-sig")
    assert {"trust", "own_willingness", "perceived_willingness", "expectation_primary", "expect_strengthen", "expect_bridge",
            "feeling_judged", "safe_space"} <= set(instrument["scale"])
    assert instrument["reverse_coded"].any()  # the reverse-coded item shows how it is marked
    # The filled templates validate as they are: one example row per table (ids marked EXAMPLE), consistent across tables.
    report = validate_dir(tmp_path)
    assert report.ok and report.n_warnings == 0
    for table in ("participants", "survey_responses", "coded_segments"):
        frame = pd.read_csv(tmp_path / f"{table}.csv", encoding="utf-8-sig")
        assert len(frame) == 1 and frame["participant_id"].str.startswith("EXAMPLE").all()
    assert pd.read_csv(tmp_path / "participants.csv", encoding="utf-8-sig")["name"].isna().all()  # never a name
    # issue 14: the optional role and wave labels, filled with the reports' own names; the guide says so
    waves = pd.read_csv(tmp_path / "waves.csv", encoding="utf-8-sig")
    assert waves["wave"].tolist() == list(schema.WAVES) and waves.loc[0, "label_nl"] == "voormeting"
    assert pd.read_csv(tmp_path / "roles.csv", encoding="utf-8-sig")["role"].tolist() == list(schema.ROLES)
    assert "`label_nl`" in guide and "waves.csv" in guide
    (tmp_path / "cases.csv").write_text("case_id\nmy data\n", encoding="utf-8")
    with pytest.raises(DataError, match="will not overwrite existing file"):
        write_templates(tmp_path)
    assert (tmp_path / "cases.csv").read_text(encoding="utf-8") == "case_id\nmy data\n"
    assert not any(name.endswith((".tmp", ".ponzoni-tmp")) for name in os.listdir(tmp_path))
