"""Issue 16, items 6-8: qda-map gives a working mapping; user names and folders never reach outputs.

The vendor-shaped projects are the hand-written fixtures of tests/fixtures/qda/vendors (see
test_refi_vendors.py). The NVivo-shaped project built here counts positions in UTF-16 code units
around emoji and ``\\r\\n``, nests codes seven levels deep under non-codable folders, and its users
are e-mail addresses; its basePath is a home folder. Every expectation is counted by hand.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from ponzoni_eval.cli import main
from ponzoni_eval.qual.propose import propose_mapping
from qda_builders import project_xml, qdpx
from test_refi_vendors import EXAMPLE, QDPX_NAME, printed_problems, vendor_qdpx

ALL = list(QDPX_NAME)


def run(*args: str) -> int:
    try:
        main(list(args))
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0


@pytest.mark.parametrize("vendor", ALL)
def test_qda_map_proposes_a_mapping_that_passes_validate(tmp_path, capsys, monkeypatch, vendor):
    folder = tmp_path / "raw"
    shutil.copytree(EXAMPLE, folder)
    (folder / "interviews.qdpx").unlink()
    export = vendor_qdpx(vendor, folder)  # the vendor's own file name, no mapping beside it
    monkeypatch.setenv("COLUMNS", "1000")
    capsys.readouterr()
    assert run("validate", str(folder)) == 1  # without a mapping: documents without a case
    without = capsys.readouterr().out
    assert f"run `ponzoni-eval qda-map {export.name}`" in without

    out = folder / "qda_mapping.toml"
    assert run("qda-map", str(export), "--out", str(out)) == 0
    shown = capsys.readouterr().out
    assert "What each document of" in shown and out.is_file()
    assert run("qda-map", str(export), "--out", str(out)) == 1  # never overwritten without --force
    assert "refusing to overwrite" in capsys.readouterr().err

    assert run("validate", str(folder)) == 0, capsys.readouterr().out
    output = capsys.readouterr().out
    assert not [p for p in printed_problems(output) if p[0] == "error"]


def test_proposal_for_each_vendor_counted_by_hand(tmp_path):
    cases = ["slotervaart", "poelenburg_a", "poelenburg_b"]
    atlas = propose_mapping(vendor_qdpx("atlasti", tmp_path), cases=cases)
    # PA-M03_T0 ..., PA-P02_T0 ..., PA-O02_T2 ...: participant from the names, case and wave from groups
    assert atlas.documents["participant_id"].tolist() == ["PA-M03", "PA-P02", "PA-O02"]
    assert atlas.documents["case_id"].tolist() == ["poelenburg_a"] * 3
    assert atlas.documents["wave"].tolist() == ["t0", "t0", "t2"]
    maxqda = propose_mapping(vendor_qdpx("maxqda", tmp_path), cases=cases)
    assert maxqda.documents["participant_id"].tolist() == ["SLO-M05", "SLO-P03", "PB-M07"]
    assert maxqda.documents["case_id"].tolist() == ["slotervaart", "slotervaart", "poelenburg_b"]
    nvivo = propose_mapping(vendor_qdpx("nvivo", tmp_path), cases=cases)
    assert nvivo.mapping["documents"] == {"case_name": "participant_id"}  # one NVivo case per person
    assert nvivo.mapping["defaults"] == {"case_id": "slotervaart"}  # the file is named after the case
    assert nvivo.missing() == {"participant_id": 1, "case_id": 0, "wave": 0}  # the group interview


# --- an NVivo-shaped export: UTF-16 positions, emoji, a seven-level tree, e-mail users -------------

TEXT = "I: Hoe gaat het? 😀\r\nR: Goed 👍🏽, wij vertrouwen het Jeugdteam nu.\r\nR: Ja 🙂 echt."
LEVELS = ["Codes", "Samenwerking", "Relatie", "Vertrouwen", "Groei", "Langzaam", "Wederzijds"]


def utf16(text: str, piece: str) -> tuple[int, int]:
    """Positions of ``piece`` in UTF-16 code units, as NVivo writes them."""
    start = text.index(piece)
    return len(text[:start].encode("utf-16-le")) // 2, len(text[: start + len(piece)].encode("utf-16-le")) // 2


def nvivo_project(tmp_path: Path) -> Path:
    guid = "aaaaaaaa-0000-4000-8000-{:012d}".format
    codes = ""
    for depth, name in reversed(list(enumerate(LEVELS))):
        codable = "true" if depth >= 2 else "false"  # 'Codes' and 'Samenwerking' are folders
        codes = f'<Code guid="{guid(depth)}" name="{name}" isCodable="{codable}">{codes}</Code>'
    users = ('<Users><User guid="{0}" name="elena.jansen@uni.example.nl"/><User guid="{1}" name="DESKTOP-7Q\\\\bram"/>'
             "</Users>").format(guid(90), guid(91))
    s1, e1 = utf16(TEXT, "wij vertrouwen het Jeugdteam nu")
    s2, e2 = utf16(TEXT, "echt")
    sources = (
        f'<Sources><TextSource guid="{guid(50)}" name="Interview SLO-M02" plainTextPath="internal://{guid(50)}.txt">'
        f'<PlainTextSelection guid="{guid(60)}" name="" startPosition="{s1}" endPosition="{e1}">'
        f'<Coding guid="{guid(70)}" creatingUser="{guid(90)}"><CodeRef targetGUID="{guid(6)}"/></Coding>'
        f'<Coding guid="{guid(71)}" creatingUser="{guid(91)}"><CodeRef targetGUID="{guid(6)}"/></Coding>'
        f'<NoteRef targetGUID="{guid(80)}"/></PlainTextSelection>'
        f'<PlainTextSelection guid="{guid(61)}" name="" startPosition="{s2}" endPosition="{e2}">'
        f'<Coding guid="{guid(72)}" creatingUser="{guid(90)}"><CodeRef targetGUID="{guid(3)}"/></Coding>'
        "</PlainTextSelection></TextSource></Sources>"
        f'<Notes><Note guid="{guid(80)}" name="Twijfel" creatingUser="{guid(91)}"><PlainTextContent>Eerst '
        "wantrouwen, nu niet meer.</PlainTextContent></Note></Notes>"
    )
    body = users + f"<CodeBook><Codes>{codes}</Codes></CodeBook>" + sources
    xml = project_xml(body, attributes='basePath="C:\\Users\\elena.jansen\\OneDrive - Uni\\NVivo"')
    return qdpx(tmp_path, {"project.qde": xml, f"sources/{guid(50)}.txt": TEXT.encode("utf-8")},
                name="Samenwerking Slotervaart.qdpx")


def test_nvivo_shaped_export_quotes_tree_memos_and_pseudonyms(tmp_path, capsys):
    path = nvivo_project(tmp_path)
    out = tmp_path / "out"
    assert run("qda-import", str(path), "--out", str(out)) == 0
    printed = capsys.readouterr().out
    segments = pd.read_csv(out / "coded_segments.csv", keep_default_na=False)
    # quotes equal the selected text although emoji take two UTF-16 units each
    assert segments["text"].tolist() == ["wij vertrouwen het Jeugdteam nu", "wij vertrouwen het Jeugdteam nu", "echt"]
    assert segments["code"].tolist() == ["Wederzijds", "Wederzijds", "Vertrouwen"]
    # coders pseudonymised in sorted order of their names: 'DESKTOP-7Q\\bram' < 'elena...'
    assert segments["coder"].tolist() == ["coder_2", "coder_1", "coder_2"]
    book = pd.read_csv(out / "codebook.csv", keep_default_na=False).set_index("code")
    assert book.loc["Wederzijds", "path"] == " / ".join(LEVELS) and book.loc["Wederzijds", "depth"] == 7
    assert book.index.tolist() == ["Relatie", "Vertrouwen", "Groei", "Langzaam", "Wederzijds"]  # folders: no rows
    # 'Codes' and 'Samenwerking' hold only sub-trees: not the theme of everything below them
    assert set(book["theme"]) == {"", "Relatie"}
    memos = pd.read_csv(out / "memos.csv", keep_default_na=False)
    assert memos[["annotates", "author", "text"]].values.tolist() == [["selection", "coder_1", "Eerst wantrouwen, nu niet meer."]]
    written = "".join(p.read_text(encoding="utf-8") for p in out.iterdir())
    for secret in ("elena", "bram", "DESKTOP", "OneDrive", "Users", str(tmp_path)):
        assert secret not in written and secret not in printed, secret
    # asked for: a folder as theme, and the names
    assert run("qda-import", str(path), "--out", str(out), "--force", "--theme-folder", "Samenwerking") == 0
    assert set(pd.read_csv(out / "codebook.csv")["theme"]) == {"Samenwerking"}
    # asked for: the names stay
    assert run("qda-import", str(path), "--out", str(out), "--force", "--keep-user-names") == 0
    kept = pd.read_csv(out / "coded_segments.csv")["coder"].tolist()
    assert kept == ["elena.jansen@uni.example.nl", "DESKTOP-7Q\\\\bram", "elena.jansen@uni.example.nl"]


def test_intercoder_pairs_survive_pseudonyms(tmp_path):
    from ponzoni_eval.qual.importer import import_qda_project
    path = nvivo_project(tmp_path)
    named = import_qda_project(path, keep_user_names=True).segments
    pseudonymous = import_qda_project(path).segments
    assert sorted(pseudonymous["coder"].unique()) == ["coder_1", "coder_2"]
    mapping = dict(zip(named["coder"], pseudonymous["coder"]))
    assert len(set(mapping.values())) == len(mapping) == 2  # one person, one pseudonym
    assert (named["coder"].map(mapping) == pseudonymous["coder"]).all()
    assert pseudonymous.groupby("document_id")["coder"].nunique().tolist() == [2]  # still double-coded


# --- an ATLAS.ti-shaped export: home-folder basePath, 'gender: female' groups, comments, bare paths ---

ATLAS_TEXTS = {
    "PA-P02_T0 Jeugdteam.docx": "I: Hoe begon het?\r\nR: Wij dachten dat de moskee geen contact wilde.\r\nR: Nu bellen ze ons zelf.",
    "PA-P03_T2 Jeugdteam.docx": "R: Güven kwam langzaam.\r\nR: Eerst een kop thee, dan pas vragen.",
}


def atlas_position(text: str, piece: str) -> tuple[int, int]:
    """ATLAS.ti counts \\r\\n as one character."""
    flat = text.replace("\r\n", "\n")
    start = flat.index(piece)
    return start, start + len(piece)


def atlas_project(tmp_path: Path) -> Path:
    guid = "BBBBBBBB-0000-4000-8000-{:012d}".format
    users = f'<Users><User guid="{guid(90)}" name="elena@uni.example.nl"/><User guid="{guid(91)}" name="ŞY"/></Users>'
    codes = (f'<CodeBook><Codes><Code guid="{guid(1)}" name="Vertrouwen::Güven groeit" isCodable="true"/>'
             f'<Code guid="{guid(2)}" name="Percepties::Bereidheid ander" isCodable="true"/></Codes></CodeBook>')
    quotes = {  # (document, quote, code, user, comment)
        0: ("Wij dachten dat de moskee geen contact wilde.", 2, 90, "Beeld van de ander, niet van zichzelf."),
        1: ("Nu bellen ze ons zelf.", 1, 91, None),
        2: ("Eerst een kop thee, dan pas vragen.", 1, 90, None),
    }
    sources, members = "", {}
    for number, (name, text) in enumerate(ATLAS_TEXTS.items()):
        file = name.replace(".docx", ".txt")
        members[f"sources/{file}"] = text.encode("utf-8")
        sources += f'<TextSource guid="{guid(50 + number)}" name="{name}" plainTextPath="{file}">'  # bare relative name
        for key, (quote, code, user, comment) in quotes.items():
            if quote not in text.replace("\r\n", "\n"):
                continue
            start, end = atlas_position(text, quote)
            note = f"<Description>{comment}</Description>" if comment else ""
            sources += (f'<PlainTextSelection guid="{guid(60 + key)}" name="{quote[:40]}..." startPosition="{start}" '
                        f'endPosition="{end}" creatingUser="{guid(user)}">{note}'
                        f'<Coding guid="{guid(70 + key)}" creatingUser="{guid(user)}"><CodeRef targetGUID="{guid(code)}"/>'
                        "</Coding></PlainTextSelection>")
        sources += "</TextSource>"
    sets = (f'<Sets><Set guid="{guid(80)}" name="gender: female"><MemberSource targetGUID="{guid(50)}"/></Set>'
            f'<Set guid="{guid(81)}" name="Casus::Poelenburg A"><MemberSource targetGUID="{guid(50)}"/>'
            f'<MemberSource targetGUID="{guid(51)}"/></Set></Sets>')
    xml = project_xml(users + codes + f"<Sources>{sources}</Sources>" + sets,
                      attributes='origin="ATLAS.ti Mac 23.2" basePath="/Users/elena/Documents/ATLAS.ti/Poelenburg"')
    return qdpx(tmp_path, {"Samenwerking Poelenburg.qde": xml, **members}, name="Samenwerking Poelenburg.qdpx")


def test_atlasti_shaped_export_imports_whole_and_private(tmp_path, capsys):
    path = atlas_project(tmp_path)
    out = tmp_path / "out"
    assert run("qda-import", str(path), "--out", str(out)) == 0
    printed = capsys.readouterr().out
    segments = pd.read_csv(out / "coded_segments.csv", keep_default_na=False)
    assert segments["text"].tolist() == ["Wij dachten dat de moskee geen contact wilde.", "Nu bellen ze ons zelf.",
                                         "Eerst een kop thee, dan pas vragen."]  # 3 quotes, 3 codings, none dropped
    assert segments["coder"].tolist() == ["coder_1", "coder_2", "coder_1"]  # 'elena@...' < 'ŞY'
    assert segments["case_id"].tolist() == ["Poelenburg A"] * 3
    memos = pd.read_csv(out / "memos.csv", keep_default_na=False)
    assert memos[["annotates", "author", "text"]].values.tolist() == [
        ["selection", "coder_1", "Beeld van de ander, niet van zichzelf."]]
    book = pd.read_csv(out / "codebook.csv", keep_default_na=False).set_index("code")
    assert book.loc["Güven groeit", ["theme", "path", "parent_id"]].tolist() == ["Vertrouwen", "Vertrouwen / Güven groeit",
                                                                                  "vertrouwen"]
    written = "".join(p.read_text(encoding="utf-8") for p in out.iterdir())
    for secret in ("elena", "/Users/", "Documents"):
        assert secret not in written and secret not in printed, secret


def test_atlasti_group_with_one_colon_is_a_variable_and_qda_map_makes_it_validate(tmp_path, capsys, monkeypatch):
    from ponzoni_eval.qual.read import read_qdpx

    documents = read_qdpx(atlas_project(tmp_path)).documents
    assert documents["variables"].tolist()[0] == {"gender": "female", "Casus": "Poelenburg A"}
    folder = tmp_path / "raw"
    shutil.copytree(EXAMPLE, folder)
    (folder / "interviews.qdpx").unlink()
    export = atlas_project(folder)
    proposal = propose_mapping(export)  # reads cases.csv beside the export
    assert proposal.documents[["participant_id", "case_id", "wave"]].values.tolist() == [
        ["PA-P02", "poelenburg_a", "t0"], ["PA-P03", "poelenburg_a", "t2"]]
    monkeypatch.setenv("COLUMNS", "1000")
    assert run("qda-map", str(export), "--out", str(folder / "qda_mapping.toml")) == 0
    capsys.readouterr()
    assert run("validate", str(folder)) == 0, capsys.readouterr().out


def test_maxqda_coded_segments_table_gets_a_proposal_too(tmp_path):
    table = Path(__file__).parents[1] / "fixtures" / "qda" / "maxqda_coded_segments.csv"
    proposal = propose_mapping(table, cases=["slotervaart", "poelenburg_a", "poelenburg_b"])
    assert len(proposal.documents) and proposal.missing()["case_id"] == 0


@pytest.mark.parametrize("vendor", ALL)
def test_agreement_is_the_same_with_pseudonyms(tmp_path, vendor):
    """Pseudonyms keep who coded what: every agreement statistic equals the one computed on the names."""
    from ponzoni_eval.qual.importer import import_qda_project
    from ponzoni_eval.qual.intercoder import agreement

    path = vendor_qdpx(vendor, tmp_path)
    mapping = Path(__file__).parents[1] / "fixtures" / "qda" / "vendors" / vendor / "qda_mapping.toml"
    named = import_qda_project(path, mapping=mapping, keep_user_names=True).segments
    pseudonymous = import_qda_project(path, mapping=mapping).segments
    assert set(pseudonymous["coder"]) == {f"coder_{i}" for i in range(1, named["coder"].nunique() + 1)}
    assert not set(named["coder"]) & set(pseudonymous["coder"])
    first = agreement(named, n_boot=50).drop(columns=["note"], errors="ignore")
    second = agreement(pseudonymous, n_boot=50).drop(columns=["note"], errors="ignore")
    pd.testing.assert_frame_equal(first.reset_index(drop=True), second.reset_index(drop=True))
