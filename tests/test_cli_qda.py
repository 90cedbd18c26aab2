"""`ponzoni-eval qda-import`: a thin command over `qdpx.import_qda_to_folder`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ponzoni_eval.cli import main

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
