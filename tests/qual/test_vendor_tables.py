"""MAXQDA and ATLAS.ti coded-segment tables -> coded_segments.

The CSV fixtures in tests/fixtures/qda/ are hand-built with the columns the
vendors write (MAXQDA "Coded Segments" export; ATLAS.ti Quotation Manager
export); the XLSX variants are made from them here.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from ponzoni_eval._core.errors import DataError
from ponzoni_eval.qual.vendor_tables import read_coded_segments_export
from ponzoni_eval.qual.model import SEGMENT_COLUMNS
from ponzoni_eval.qual.importer import import_qda

QDA = Path(__file__).parents[1] / "fixtures" / "qda"
MAXQDA = QDA / "maxqda_coded_segments.csv"
ATLASTI = QDA / "atlasti_quotations.csv"
VARIABLES = QDA / "document_variables.csv"


def to_xlsx(csv_path: Path, target: Path, title: str | None = None) -> Path:
    """The CSV as an Excel sheet, optionally with a title row above the header (as some exports have)."""
    table = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    if title:
        sheet.append([title])
    sheet.append(list(table.columns))
    for row in table.itertuples(index=False):
        sheet.append([int(v) if v.isdigit() else v for v in row])  # Excel keeps paragraph numbers as numbers
    workbook.save(target)
    return target


def rows(frame: pd.DataFrame, columns) -> list:
    return frame[list(columns)].astype(object).where(frame[list(columns)].notna(), None).values.tolist()


# --- MAXQDA -------------------------------------------------------------------------------


def test_maxqda_export_maps_to_coded_segments():
    project = read_coded_segments_export(MAXQDA, document_variables=VARIABLES)
    segments = project.segments
    assert list(segments.columns) == list(SEGMENT_COLUMNS)
    assert rows(segments, ["document_id", "participant_id", "case_id", "wave", "coder", "code", "start", "end"]) == [
        ["Interview_P01_t0", "P01", "slotervaart", "t0", "EP", "Own willingness", 2, 3],
        ["Interview_P01_t0", "P01", "slotervaart", "t0", "EP", "Perceived willingness other", 3, 5],
        ["Interview_P01_t0", "P01", "slotervaart", "t0", "AB", "Bridge to parents", 4, 5],
        ["Interview_P07_t1", "P07", "poelenburg_a", "t1", "EP", "Safe space", 1, 2],
        ["Interview_P07_t1", "P07", "poelenburg_a", "t1", "AB", "Help seeking", 5, 7],
    ]
    assert segments.loc[1, "text"] == "Maar ik denk dat zij ons niet serieus nemen.\nZe komen alleen met folders."
    assert (segments["position_unit"] == "paragraph").all()
    assert segments["start"].dtype == "int64" and pd.api.types.is_string_dtype(segments["code"])


def test_tables_with_document_variables_pass_the_package_schemas():
    from ponzoni_eval.data.schema import CODEBOOK, CODED_SEGMENTS

    for export in (MAXQDA, ATLASTI):
        project = read_coded_segments_export(export, document_variables=VARIABLES)
        CODED_SEGMENTS.validate(project.segments)
        CODEBOOK.validate(project.codebook)


def test_maxqda_code_paths_give_themes():
    book = read_coded_segments_export(MAXQDA).codebook.set_index("code")
    assert book.loc["Own willingness", "theme"] == "Perception gap"
    assert book.loc["Bridge to parents", "theme"] == "Expectation mismatch"
    assert pd.isna(book.loc["Safe space", "theme"])


def test_maxqda_media_rows_are_skipped_and_reported_by_spreadsheet_row():
    report = read_coded_segments_export(MAXQDA).report
    assert report.counts["rows"] == 6 and report.counts["segments"] == 5
    assert report.counts["rows_not_text_paragraphs"] == 1
    assert report.skipped == [{"kind": "rows", "item": "7", "reason": report.skipped[0]["reason"]}]
    assert "not a paragraph number" in report.skipped[0]["reason"]
    assert any("paragraphs" in w for w in report.warnings)


def test_maxqda_xlsx_with_a_title_row_reads_like_the_csv(tmp_path):
    from_csv = read_coded_segments_export(MAXQDA, document_variables=VARIABLES)
    xlsx = to_xlsx(MAXQDA, tmp_path / "MAXQDA 2022 Coded Segments.xlsx", title="Coded Segments")
    from_xlsx = read_coded_segments_export(xlsx, document_variables=VARIABLES)
    pd.testing.assert_frame_equal(from_xlsx.segments, from_csv.segments)
    assert from_xlsx.report.format == "maxqda coded segments table"


def test_semicolon_separated_windows_1252_csv_is_read_with_a_warning(tmp_path):
    text = MAXQDA.read_text(encoding="utf-8").replace(",", ";").replace("Interview P07", "Interview Gülşen")
    path = tmp_path / "export.csv"
    path.write_bytes(text.encode("cp1252", errors="replace"))
    project = read_coded_segments_export(path, vendor="maxqda")
    assert "Interview_Gul_en_t1" in set(project.segments["document_id"])  # ş is not in Windows-1252
    assert any("not UTF-8" in w for w in project.report.warnings)


def test_document_group_can_be_mapped_to_case_and_names_to_participant_and_wave():
    mapping = {
        "variables": {"case_id": "Document group"},
        "values": {"case_id": {"Slotervaart": "slotervaart", "Poelenburg A": "poelenburg_a"}},
        "documents": {"pattern": r"(?P<participant_id>P\d+) (?P<wave>t\d)"},
    }
    project = read_coded_segments_export(MAXQDA, mapping=mapping)
    assert rows(project.documents, ["document_id", "participant_id", "case_id", "wave"]) == [
        ["Interview_P01_t0", "P01", "slotervaart", "t0"], ["Interview_P07_t1", "P07", "poelenburg_a", "t1"]]
    assert project.report.variables["case_id"] == "variable 'Document group' (2 documents)"


def test_document_variables_as_a_dataframe_and_its_errors():
    table = pd.DataFrame({"Document name": ["Interview P01 t0"], "participant": ["P01"]})
    project = read_coded_segments_export(MAXQDA, document_variables=table)
    assert project.documents["participant_id"].tolist()[0] == "P01"
    assert any("not in the document variables table: Interview P07 t1.docx" in w for w in project.report.warnings)
    with pytest.raises(DataError, match="document_variables: the document variables table has no document name column"):
        read_coded_segments_export(MAXQDA, document_variables=pd.DataFrame({"x": ["a"]}))
    with pytest.raises(DataError, match="documents listed more than once"):
        read_coded_segments_export(MAXQDA, document_variables=pd.DataFrame({"document": ["a", "a"]}))


def test_paragraphs_out_of_order_are_refused_with_row_and_column(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text(MAXQDA.read_text(encoding="utf-8").replace("Own willingness,3,3", "Own willingness,3,2"),
                    encoding="utf-8")
    with pytest.raises(DataError, match=r"export.csv, row 2, column 'Begin': paragraph positions must satisfy "
                                        r"1 <= begin <= end \(found '3-2'\)"):
        read_coded_segments_export(path)


def test_empty_document_name_is_refused_with_its_row(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text(MAXQDA.read_text(encoding="utf-8").replace("Poelenburg A,Interview P07 t1.docx,Safe", "Poelenburg A,,Safe"),
                    encoding="utf-8")
    with pytest.raises(DataError, match=r"row 5, column 'Document name': document name is empty"):
        read_coded_segments_export(path)


def test_export_without_coder_column_needs_coder(tmp_path):
    table = pd.read_csv(MAXQDA, dtype=str).drop(columns=["Created by", "Modified by"])
    path = tmp_path / "export.csv"
    table.to_csv(path, index=False)
    with pytest.raises(DataError, match="no 'Created by' column; pass coder="):
        read_coded_segments_export(path)
    assert set(read_coded_segments_export(path, coder="EP").segments["coder"]) == {"EP"}


# --- ATLAS.ti ---------------------------------------------------------------------------------


def test_atlasti_quotations_map_to_one_row_per_code():
    project = read_coded_segments_export(ATLASTI, document_variables=VARIABLES)
    assert rows(project.segments, ["document_id", "participant_id", "wave", "coder", "code", "start", "end"]) == [
        ["Interview_P01_t0", "P01", "t0", "EP", "Own willingness", 2, 3],
        ["Interview_P01_t0", "P01", "t0", "EP", "Mutual trust", 2, 3],  # two codes in one cell
        ["Interview_P01_t0", "P01", "t0", "EP", "Perceived willingness other", 3, 5],  # '¶ 4 – ¶ 5'
        ["Interview_P07_t1", "P07", "t1", "AB", "Safe space", 1, 2],  # '2 – 2'
        ["Interview_P07_t1", "P07", "t1", "AB", "Help seeking", 5, 7],  # '6:1 – 7:22' (paragraph:character)
    ]
    book = project.codebook.set_index("code")
    assert book.loc["Mutual trust", "theme"] == "Trust"  # 'Trust::Mutual trust'
    report = project.report
    assert report.counts["uncoded_rows"] == 1 and report.counts["rows_not_text_paragraphs"] == 1
    assert "Focus_group_audio" not in set(project.documents["document_id"])  # only a media quotation


def test_atlasti_start_and_end_columns_work_instead_of_reference(tmp_path):
    table = pd.read_csv(ATLASTI, dtype=str).drop(columns="Reference")
    table = table.assign(Start=["3", "4", "2", "6", "8", "0:01:12.30"], End=["3", "5", "2", "7", "8", "0:01:40.10"])
    path = tmp_path / "quotations.csv"
    table.to_csv(path, index=False)
    expected = read_coded_segments_export(ATLASTI).segments
    got = read_coded_segments_export(path, vendor="atlasti").segments
    assert rows(got, ["code", "start", "end"]) == rows(expected, ["code", "start", "end"])


def test_atlasti_xlsx_reads_like_the_csv(tmp_path):
    xlsx = to_xlsx(ATLASTI, tmp_path / "Quotations.xlsx")
    pd.testing.assert_frame_equal(read_coded_segments_export(xlsx).segments, read_coded_segments_export(ATLASTI).segments)


# --- detection and errors ------------------------------------------------------------------------


def test_vendor_is_detected_and_a_wrong_vendor_is_refused():
    assert read_coded_segments_export(MAXQDA).report.format.startswith("maxqda")
    assert read_coded_segments_export(ATLASTI).report.format.startswith("atlasti")
    with pytest.raises(DataError, match=r"the maxqda export lacks column\(s\) for \['document', 'code', 'begin', 'end'\]"):
        read_coded_segments_export(ATLASTI, vendor="maxqda")


def test_unrecognised_tables_are_refused(tmp_path):
    path = tmp_path / "survey.csv"
    path.write_text("participant_id,item_id,value\nP01,trust_1,4\n", encoding="utf-8")
    with pytest.raises(DataError, match="survey.csv: no header row with the columns of a MAXQDA"):
        read_coded_segments_export(path)
    ambiguous = tmp_path / "ambiguous.csv"
    ambiguous.write_text("Document,Code,Text\nd,c,t\n", encoding="utf-8")
    with pytest.raises(DataError, match="cannot tell whether this is a MAXQDA or an ATLAS.ti export"):
        read_coded_segments_export(ambiguous)
    with pytest.raises(DataError, match="file not found"):
        read_coded_segments_export(tmp_path / "missing.xlsx")


def test_same_subcode_under_two_parents_keeps_both_apart(tmp_path):
    text = MAXQDA.read_text(encoding="utf-8").replace("Safe space,", "Safe space\\Other,").replace(
        "Help seeking,6,7", "Trust\\Other,6,7")
    path = tmp_path / "export.csv"
    path.write_text(text, encoding="utf-8")
    codes = set(read_coded_segments_export(path).segments["code"])
    assert {"Safe space / Other", "Trust / Other"} <= codes


def test_import_qda_reads_vendor_tables():
    segments, codebook, documents, report = import_qda(ATLASTI, mapping={"defaults": {"case_id": "slotervaart"}})
    assert len(segments) == 5 and set(segments["case_id"]) == {"slotervaart"}
    assert report.format == "atlasti coded segments table"
