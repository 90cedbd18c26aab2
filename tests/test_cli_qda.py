"""`ponzoni-eval qda-import`: a thin command over `qdpx.import_qda_to_folder`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ponzoni_eval.cli import main
from qda_builders import G, TEXT1, basic_project, qdpx, selection

QDA = Path(__file__).parent / "fixtures" / "qda"


def run(*args: str) -> int:
    try:
        main(list(args))
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0


def test_qda_import_writes_tables_and_report_and_never_overwrites(tmp_path, capsys):
    out_dir = tmp_path / "raw" / "study"
    assert run("qda-import", str(QDA / "synthetic_project.qdpx"), "--out", str(out_dir)) == 0
    segments = pd.read_csv(out_dir / "coded_segments.csv")
    assert len(segments) == 17 and list(segments.columns)[:9] == [
        "document_id", "participant_id", "case_id", "wave", "coder", "code", "start", "end", "text"]
    assert len(pd.read_csv(out_dir / "codebook.csv")) == 10
    assert "# QDA import report" in (out_dir / "qda_import_report.md").read_text(encoding="utf-8")
    assert "17 coded segments, 10 codes, 4 documents" in capsys.readouterr().out

    before = (out_dir / "coded_segments.csv").read_bytes()
    assert run("qda-import", str(QDA / "maxqda_coded_segments.csv"), "--out", str(out_dir)) == 1
    assert "refusing to overwrite existing files" in capsys.readouterr().err
    assert (out_dir / "coded_segments.csv").read_bytes() == before
    assert run("qda-import", str(QDA / "maxqda_coded_segments.csv"), "--out", str(out_dir), "--force",
               "--mapping", str(QDA / "mapping.toml")) == 0
    assert (pd.read_csv(out_dir / "coded_segments.csv")["position_unit"] == "paragraph").all()


def test_hostile_file_is_a_one_line_error_not_a_traceback(tmp_path, capsys):
    bad = tmp_path / "bad.qdpx"
    bad.write_bytes(b"not a zip at all")
    assert run("qda-import", str(bad), "--out", str(tmp_path / "out")) == 1
    err = capsys.readouterr().err
    assert "bad.qdpx: is not a valid zip archive" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_qda_import_prints_what_it_skipped_and_why(tmp_path, capsys):
    # One source's text is a bare name found in sources/; the other's text is missing from the archive.
    found = (f'<TextSource guid="{G["src1"]}" name="Interview P01.docx" plainTextPath="board_2017.txt">'
             + selection("66666666-0000-4000-8000-000000000001", 30, 53, "own") + "</TextSource>")
    missing = (f'<TextSource guid="{G["src2"]}" name="Interview P02.docx" plainTextPath="internal://gone.txt">'
               + selection("66666666-0000-4000-8000-000000000002", 0, 5, "own")
               + selection("66666666-0000-4000-8000-000000000003", 0, 5, "other", user="u_ab") + "</TextSource>")
    path = qdpx(tmp_path, {"project.qde": basic_project(sources=found + missing,
                                                        attributes='basePath="C:\\Users\\elena\\Documents"'),
                           "sources/board_2017.txt": TEXT1})
    assert run("qda-import", str(path), "--out", str(tmp_path / "out")) == 0
    out = capsys.readouterr().out
    assert "Read qdpx: 1 coded segments" in out
    assert "Not imported: 2 coding(s) in 2 selection(s) of the skipped sources below." in out
    assert ("skipped: TextSource 'Interview P02.docx': text file 'gone.txt' is not in the project's sources folder; "
            "2 selection(s) with 2 coding(s) not imported") in " ".join(out.split())
    written = (tmp_path / "out" / "qda_import_report.md").read_text(encoding="utf-8")
    assert "elena" not in out and "elena" not in written


def test_qda_commands_print_file_names_never_folders(tmp_path, capsys, monkeypatch):
    """Issue 16 item 6: the folders of the export, the mapping and --out (often a user's or machine's name) never
    appear on screen, whether the command succeeds, refuses or cannot write."""
    import errno
    import os
    import stat

    from ponzoni_eval._core import files

    monkeypatch.setenv("COLUMNS", "1000")
    home = tmp_path / "Users" / "elena.de.vries" / "Documents"
    home.mkdir(parents=True)
    good = qdpx(home, {"project.qde": basic_project(), f"sources/{G['src1']}.txt": TEXT1}, name="interviews.qdpx")
    damaged = qdpx(home, {"project.qde": basic_project(), f"sources/{G['src1']}.txt": "Hallo".encode("utf-16") + b"x"},
                   name="damaged.qdpx")
    ragged = home / "segments.csv"
    ragged.write_text("Document name,Code,Begin,End,Segment,Created by\nP01,Trust,1,2,ja,EP,extra\n", encoding="utf-8")
    unknown = home / "notes.docx"
    unknown.write_bytes(b"PK")
    out, mapping = home / "raw", home / "qda_mapping.toml"

    screens = []

    def screen(*args: str) -> tuple[int, str]:
        code = run(*args)
        captured = capsys.readouterr()
        screens.append(captured.out + captured.err)
        return code, " ".join((captured.out + captured.err).split())

    assert screen("qda-import", str(good), "--out", str(out))[0] == 0
    assert screen("qda-import", str(good), "--out", str(out))[1].startswith("Error: raw: refusing to overwrite")
    assert screen("qda-import", str(damaged), "--out", str(home / "other"))[1].startswith(
        f"Error: damaged.qdpx [sources/{G['src1']}.txt]: is not readable text")
    assert screen("qda-import", str(ragged), "--out", str(home / "other"))[1].startswith("Error: segments.csv, row 2: ")
    assert screen("qda-import", str(unknown), "--out", str(home / "other"))[1].startswith("Error: notes.docx: not a QDA export")
    assert screen("qda-map", str(good), "--out", str(mapping))[0] == 0
    assert screen("qda-map", str(good), "--out", str(mapping))[1].startswith("Error: qda_mapping.toml: refusing to overwrite")
    assert screen("qda-import", str(good), "--out", str(out), "--force", "--mapping", str(home / "missing.toml"))[1].startswith(
        "Error: missing.toml: mapping file not found")

    real_fsync = os.fsync

    def disk_full(descriptor):
        if stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_fsync(descriptor)

    monkeypatch.setattr(files.os, "fsync", disk_full)
    code, text = screen("qda-import", str(good), "--out", str(home / "full"))
    assert code == 1 and text.startswith("Error: ") and "the disk is full" in text and ".ponzoni-tmp" not in text
    code, text = screen("qda-map", str(good), "--out", str(home / "full.toml"))
    assert code == 1 and "the disk is full" in text
    for shown in screens:
        assert "elena" not in shown and str(tmp_path) not in shown and "Users" not in shown, shown
