"""Memos and notes from REFI-QDA projects: project notes, code memos, document memos, quotation and coding comments.

The project is built in code from the REFI-QDA Project schema's element names
(``Notes/Note``, ``NoteRef``, ``Description``); every expected row is written
out by hand from the XML below.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from ponzoni_eval.data.preparation import prepare
from ponzoni_eval.qual.importer import import_qda_to_folder
from ponzoni_eval.qual.model import MEMO_COLUMNS
from ponzoni_eval.qual.read import read_qdpx
from qda_builders import G, TEXT1, codebook_xml, project_xml, qdpx, users_xml

NOTE = {n: f"aaaaaaaa-0000-4000-8000-00000000000{n}" for n in range(1, 7)}
EXAMPLE = Path(__file__).parents[2] / "data" / "raw" / "example"
CASE = "99999999-0000-4000-8000-000000000001"
TEXT = "R: Goed 😀, wij willen samenwerken."  # an emoji before the quote: UTF-16 positions differ from characters


def note(n: int, text: str, *, name: str = "", user: str = "u_ep", path: bool = False) -> str:
    body = "" if path else f"<PlainTextContent>{text}</PlainTextContent>"
    where = f' plainTextPath="internal://note{n}.txt"' if path else ""
    return (f'<Note guid="{NOTE[n]}" name="{name}" creatingUser="{G[user]}" '
            f'creationDateTime="2024-0{n}-01T10:00:00Z"{where}>{body}</Note>')


def memo_project() -> bytes:
    codes = codebook_xml().replace(f'<Code guid="{G["other"]}" name="Other willingness" isCodable="true"/>',
                                   f'<Code guid="{G["other"]}" name="Other willingness" isCodable="true">'
                                   f'<NoteRef targetGUID="{NOTE[2]}"/></Code>')
    start, end = len("R: Goed 😀, ".encode("utf-16-le")) // 2, len(TEXT.encode("utf-16-le")) // 2  # as NVivo counts
    sources = (
        f'<Sources><TextSource guid="{G["src1"]}" name="Interview P01.docx" plainTextPath="internal://{G["src1"]}.txt">'
        "<Description>Interview in the community centre.</Description>"
        f'<PlainTextSelection guid="66666666-0000-4000-8000-000000000001" name="wij willen" startPosition="{start}" '
        f'endPosition="{end}" creatingUser="{G["u_ab"]}" creationDateTime="2024-05-02T09:00:00Z">'
        "<Description>Said with emphasis.</Description>"
        f'<Coding guid="66666666-0000-4000-8000-0000000000c1" creatingUser="{G["u_ep"]}">'
        f'<CodeRef targetGUID="{G["own"]}"/><NoteRef targetGUID="{NOTE[3]}"/></Coding>'
        "</PlainTextSelection>"
        f'<NoteRef targetGUID="{NOTE[4]}"/><NoteRef targetGUID="bbbbbbbb-0000-4000-8000-000000000000"/>'
        "</TextSource></Sources>"
    )
    cases = f'<Cases><Case guid="{CASE}" name="P01"><Description>Came with her sister.</Description></Case></Cases>'
    notes = ("<Notes>" + note(1, "Project started after the 2016 meeting.", name="Logboek")
             + note(2, "Only when the other side is named.", name="Memo Other willingness")
             + note(3, "Coded here because of 'graag'.", user="u_ab") + note(4, "Long pauses; tired.", name="Document memo")
             + note(5, "", name="Stored beside", path=True) + "</Notes>")
    return project_xml(users_xml() + codes + cases + sources + notes
                       + f'<Description>Evaluation of the women\'s club.</Description><NoteRef targetGUID="{NOTE[1]}"/>')


def memo_qdpx(tmp_path):
    return qdpx(tmp_path, {"project.qde": memo_project(), f"sources/{G['src1']}.txt": TEXT.encode(),
                           "sources/note5.txt": "Analyse-afspraken: eerst open coderen."})


def test_every_kind_of_memo_arrives_with_what_it_annotates(tmp_path):
    project = read_qdpx(memo_qdpx(tmp_path))
    memos = project.memos
    assert list(memos.columns) == list(MEMO_COLUMNS)
    quote_start = len("R: Goed 😀, ")  # in characters, after the UTF-16 positions were converted
    rows = [tuple(None if pd.isna(v) else v for v in row)
            for row in memos[["annotates", "document_id", "code", "start", "end", "author", "title", "text"]].itertuples(index=False)]
    assert rows == [
        ("project", None, None, None, None, None, None, "Evaluation of the women's club."),
        ("project", None, None, None, None, "EP", "Logboek", "Project started after the 2016 meeting."),
        ("case", None, None, None, None, None, None, "Came with her sister."),
        ("code", None, "Other willingness", None, None, "EP", "Memo Other willingness", "Only when the other side is named."),
        ("document", "Interview_P01", None, None, None, None, None, "Interview in the community centre."),
        ("document", "Interview_P01", None, None, None, "EP", "Document memo", "Long pauses; tired."),
        ("selection", "Interview_P01", None, quote_start, len(TEXT), "AB-login", None, "Said with emphasis."),
        ("coding", "Interview_P01", "Own willingness", quote_start, len(TEXT), "AB-login", None, "Coded here because of 'graag'."),
        ("project", None, None, None, None, "EP", "Stored beside", "Analyse-afspraken: eerst open coderen."),
    ]
    assert memos["memo_id"].tolist() == [f"memo_{n:03d}" for n in range(1, 10)]
    assert memos.loc[6, "created"] == "2024-05-02T09:00:00Z"
    assert project.documents.loc[0, "text"][quote_start:len(TEXT)] == "wij willen samenwerken."
    counts = project.report.counts
    assert (counts["memos"], counts["memos.project"], counts["memos.code"], counts["memos.document"],
            counts["memos.selection"], counts["memos.coding"], counts["memos.case"]) == (9, 3, 1, 2, 1, 1, 1)
    assert "1 NoteRef(s) name a note that is not in the project's Notes; ignored" in project.report.warnings
    assert "- memos: 9" in project.report.to_markdown()


def test_memos_are_written_beside_the_tables_by_qda_import(tmp_path):
    written, _ = import_qda_to_folder(memo_qdpx(tmp_path), tmp_path / "out")
    assert written["memos.csv"].name == "memos.csv"
    assert len(pd.read_csv(written["memos.csv"])) == 9


def test_a_project_without_memos_has_an_empty_memos_table_and_no_memos_file(tmp_path):
    xml = memo_project().split(b"<Notes>")[0] + b"</Project>"
    xml = xml.replace(b"<Description>Interview in the community centre.</Description>", b"").replace(
        b"<Description>Said with emphasis.</Description>", b"").replace(
        b"<Description>Came with her sister.</Description>", b"")
    for n in (2, 3, 4):
        xml = xml.replace(f'<NoteRef targetGUID="{NOTE[n]}"/>'.encode(), b"")
    xml = xml.replace(b'<NoteRef targetGUID="bbbbbbbb-0000-4000-8000-000000000000"/>', b"")
    path = qdpx(tmp_path, {"project.qde": xml, f"sources/{G['src1']}.txt": TEXT.encode()})
    assert read_qdpx(path).memos.empty
    written, report = import_qda_to_folder(path, tmp_path / "out")
    assert "memos.csv" not in written and "memos" not in report.counts


def test_memos_of_a_project_in_a_raw_folder_are_validated_and_redacted_like_transcripts(tmp_path):
    # 'Sander' is a participant of the example (participants.csv, name column); the memo also holds an e-mail.
    raw = tmp_path / "raw"
    shutil.copytree(EXAMPLE, raw)
    xml = memo_project().replace(b"Long pauses; tired.", b"Sander was tired; mail sander@example.nl")
    qdpx(raw, {"project.qde": xml, f"sources/{G['src1']}.txt": TEXT.encode(),
               "sources/note5.txt": "Analyse-afspraken."}, name="interviews.qdpx")
    (raw / "qda_mapping.toml").write_text('[defaults]\ncase_id = "slotervaart"\n', encoding="utf-8")
    manifest = prepare(raw, tmp_path / "processed")
    memos = pd.read_parquet(tmp_path / "processed" / "memos.parquet")
    assert len(memos) == 9
    assert memos.loc[memos["title"] == "Document memo", "text"].tolist() == ["[NAAM] was tired; mail [E-MAIL]"]
    assert manifest["raw_files"]["interviews.qdpx"]["imported_tables"]["memos"] == 9


def test_the_vendor_fixtures_bring_their_memos_as_their_readme_lists(tmp_path):
    """tests/fixtures/qda/vendors/README.md, row 'memos': what each vendor shape's notes and comments become."""
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    try:
        from test_refi_vendors import imported
    finally:
        sys.path.pop(0)
    expected = {"atlasti": {"selection": 1}, "maxqda": {"selection": 1}, "nvivo": {"project": 1, "document": 5, "case": 3}}
    for vendor, counts in expected.items():
        (tmp_path / vendor).mkdir()
        memos = imported(vendor, tmp_path / vendor).memos
        assert memos["annotates"].value_counts().to_dict() == counts, vendor
    readme = (Path(__file__).parents[1] / "fixtures" / "qda" / "vendors" / "README.md").read_text(encoding="utf-8")
    assert "The importer reads neither" not in readme and "| memos (`memos` table) |" in readme
