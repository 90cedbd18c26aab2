"""Nothing lost, nothing leaked, nothing different: every command on a copy of the example.

One module fixture runs every command of `ponzoni-eval` on a copy of
``data/raw/example`` (validate, prepare, qda-import, run with one case and the
cross-case reports on the real notebooks, verify keeping its re-run,
templates, dictionary, example), plus the commands that must refuse to write
into the raw folder. The tests then check three promises on what it left:

- **raw data are never written to**: every file of the raw folder has the
  same SHA-256 after all commands, and no file or folder was added;
- **determinism**: the run and verify's re-run of it (same inputs) have
  byte-identical result tables and manifests equal apart from times and
  run id;
- **no names in outputs**: no participant name from the example (the
  example's interview texts use them) appears, as a whole word in any case,
  in any file of the run folders or of the processed data (except
  ``redaction_terms.parquet``, which exists to hold them). Files are read as
  a reader would see them (tests/name_scan.py); the scan is shown to find
  names in every file type, in the raw texts, and in processed data written
  without redaction.

Writes are atomic (temporary file + ``os.replace``); no ``*.tmp`` file or
``INCOMPLETE`` marker is left behind by the commands that completed.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from name_scan import file_texts, find_names
from ponzoni_eval.cli import main
from ponzoni_eval.data.read import read_raw_dir
from ponzoni_eval.privacy.names import participant_names
from ponzoni_eval.pipeline.run import resolve_run_dir
from ponzoni_eval.pipeline.verify import strip_volatile

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "data" / "raw" / "example"
CASE = "slotervaart"

pytestmark = pytest.mark.slow


def snapshot(folder: Path) -> dict[str, str | None]:
    """Every file and folder under `folder` (hidden ones too): SHA-256 of files, None for folders."""
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
        for path in sorted(folder.rglob("*"))
    }


def cli(*args) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as stopped:
            code = stopped.code if isinstance(stopped.code, int) else 1
    return code, out.getvalue() + err.getvalue()


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    base = tmp_path_factory.mktemp("pipeline")
    raw = Path(shutil.copytree(EXAMPLE, base / "raw"))
    before = snapshot(raw)
    commands = {
        "validate": (["validate", raw], 0),
        "prepare": (["prepare", raw, "--out", base / "processed"], 0),
        "qda-import": (["qda-import", raw / "interviews.qdpx", "--out", base / "qda"], 0),
        "run": (["run", "--data", raw, "--cases", CASE, "--out", base / "runs", "--processed", base / "processed", "--jobs", "2"], 0),
        "verify": (["verify", base / "runs" / "latest", "--data", raw, "--keep", "--jobs", "2"], 0),
        "templates": (["templates", base / "templates"], 0),
        "dictionary": (["dictionary", base / "data-dictionary.md"], 0),
        "example": (["example", base / "example"], 0),
        "example again": (["example", base / "example"], 0),  # an earlier example folder is rewritten in place
        # each of these would write into the raw folder, and is refused
        "prepare into raw": (["prepare", raw, "--out", raw / "processed"], 1),
        "run into raw": (["run", "--data", raw, "--out", raw / "runs", "--processed", base / "processed"], 1),
        "templates into raw": (["templates", raw], 1),
    }
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COLUMNS", "1000")
        outcomes = {name: cli(*args) for name, (args, _) in commands.items()}
    for name, (_, expected) in commands.items():
        assert outcomes[name][0] == expected and "Traceback" not in outcomes[name][1], (name, outcomes[name][1])
    kept = re.search(r"The re-run is kept in (\S+)\.", outcomes["verify"][1])
    assert kept, outcomes["verify"][1]
    yield {"base": base, "raw": raw, "before": before, "after": snapshot(raw), "outcomes": outcomes,
           "run_dir": resolve_run_dir(base / "runs" / "latest"), "rerun_dir": Path(kept.group(1))}
    shutil.rmtree(Path(kept.group(1)).parents[1], ignore_errors=True)  # verify's workspace in the temp folder


def test_every_command_leaves_the_raw_folder_byte_identical(pipeline):
    before, after = pipeline["before"], pipeline["after"]
    assert len(before) >= 9 and any(path.endswith(".qdpx") for path in before)
    assert sorted(set(after) - set(before)) == []  # nothing added
    assert sorted(set(before) - set(after)) == []  # nothing removed
    assert [path for path in before if before[path] != after[path]] == []  # nothing changed
    assert "Identical:" in pipeline["outcomes"]["verify"][1]  # same machine, same inputs: bit for bit


def test_writes_leave_no_temporary_files(pipeline):
    leftovers = [p for p in pipeline["base"].rglob("*") if p.name.endswith((".tmp", ".ponzoni-tmp")) or p.name == "INCOMPLETE"]
    leftovers += [p for p in pipeline["rerun_dir"].rglob("*") if p.name.endswith((".tmp", ".ponzoni-tmp"))]
    # the refused "run into raw" never started; every run that started finished and lost its marker
    assert leftovers == []


# --- determinism -------------------------------------------------------------------------------


def test_two_runs_on_the_same_inputs_give_identical_tables_and_manifests(pipeline):
    first, second = pipeline["run_dir"], pipeline["rerun_dir"]
    assert first != second and second.is_dir()
    for folder in ("tables", "figures"):
        ours = {p.name: p.read_bytes() for p in (first / folder).iterdir()}
        theirs = {p.name: p.read_bytes() for p in (second / folder).iterdir()}
        assert ours.keys() == theirs.keys()
        assert [name for name in ours if ours[name] != theirs[name]] == []
    assert any(name.startswith(f"{CASE}-") for name in (p.name for p in (first / "tables").iterdir()))
    assert (first / "outputs.json").read_bytes() == (second / "outputs.json").read_bytes()

    def comparable(run_dir: Path) -> dict:
        manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
        return {**strip_volatile(manifest), "execution": None}  # jobs: how it ran, not what it computed

    ours, theirs = comparable(first), comparable(second)
    assert ours == theirs
    assert ours["parameters"]["cases"] == [CASE] and ours["parameters"]["min_cell"] == 5
    # one case: the cross-case report is not run, and the run plan says why (issue 14)
    assert [entry["name"] for entry in ours["notebooks"]] == [f"01_case_report-{CASE}", "03_joint_display"]
    (skipped,) = [e for e in ours["plan"]["entries"] if e["notebook"] == "02_cross_case" and e["section"] is None]
    assert not skipped["runs"] and skipped["reason"] == "one_case" and "nothing to compare between cases" in skipped["reason_text"]
    assert all(entry["status"] == "ok" for entry in ours["notebooks"])


# --- no names in any output --------------------------------------------------------------------


# The text that reports are made of besides the data: notebooks, captions, sentences, templates.
REPORT_SOURCES = [*(ROOT / "notebooks").glob("*.py"), ROOT / "ponzoni_eval" / "resources" / "run_index.html",
                  *(ROOT / "ponzoni_eval" / "report").glob("[!_]*.py"), *(ROOT / "ponzoni_eval" / "integrate").glob("[!_]*.py"),
                  *(ROOT / "ponzoni_eval" / "pipeline").glob("[!_]*.py"),
                  *(ROOT / "ponzoni_eval" / "_core" / name for name in ("files.py", "run_folder.py"))]


@pytest.fixture(scope="module")
def fictitious_names():
    """Every participant name of the example (and each part of it); they also occur in its interview texts.

    A name that is also a word of the reports' own text ("Said" and the English "said") cannot be
    told apart from it by a scan; such names are left out, and there may be only a few.
    """
    names = participant_names(read_raw_dir(EXAMPLE).tables["participants"])
    vocabulary = "\n".join(path.read_text(encoding="utf-8") for path in REPORT_SOURCES)
    words = {name for name in names if re.search(rf"(?<!\w){re.escape(name)}(?!\w)", vocabulary, flags=re.IGNORECASE)}
    assert len(words) <= 3, words
    kept = [name for name in names if name not in words]
    assert len(kept) >= 25
    return kept


def output_files(pipeline) -> list[Path]:
    """Every file of both run folders, and of both processed folders but the redaction terms."""
    processed = [pipeline["base"] / "processed", pipeline["rerun_dir"].parents[1] / "processed"]
    files = [p for folder in (pipeline["run_dir"], pipeline["rerun_dir"]) for p in folder.rglob("*") if p.is_file()]
    files += [p for folder in processed for p in folder.rglob("*") if p.is_file() and p.name != "redaction_terms.parquet"]
    return files


def test_no_participant_name_appears_in_any_output_file(pipeline, fictitious_names):
    files = output_files(pipeline)
    suffixes = {p.suffix for p in files}
    assert {".ipynb", ".html", ".csv", ".parquet", ".json"} <= suffixes, suffixes
    assert find_names(files, fictitious_names) == []


def test_the_names_are_in_the_raw_interview_texts(pipeline, fictitious_names):
    """The scan above could fail: the same names are in the raw folder it was made from."""
    found = {name.casefold() for _, name, _ in find_names([pipeline["raw"] / "interviews.qdpx"], fictitious_names)}
    assert len(found) >= 10
    assert find_names([pipeline["base"] / "processed" / "redaction_terms.parquet"], fictitious_names)


def test_without_redaction_the_processed_texts_would_name_people(tmp_path, monkeypatch, fictitious_names):
    """A variant with the redactor switched off: the scan finds names in what prepare writes."""
    from ponzoni_eval.data import preparation as prepare_module

    unredacted = lambda documents, segments, names, **_: (documents, segments, {"documents": 0, "coded_segments": 0})  # noqa: E731
    monkeypatch.setattr(prepare_module, "redact_documents", unredacted)
    prepare_module.prepare(EXAMPLE, tmp_path / "processed")
    files = [p for p in (tmp_path / "processed").iterdir() if p.name != "redaction_terms.parquet"]
    hits = find_names(files, fictitious_names)
    assert {Path(file).name for file, _, _ in hits} == {"documents.parquet", "coded_segments.parquet"}


def test_the_scan_reads_every_kind_of_output_file(tmp_path):
    """A name hidden in each file type a run writes is found (as a reader would find it)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import openpyxl

    name = "Özlem"
    figure = plt.figure()
    figure.savefig(tmp_path / "figure.png", metadata={"Description": f"said by {name}"})
    figure.savefig(tmp_path / "figure.svg", metadata={"Description": f"said by {name}"})
    plt.close(figure)
    pd.DataFrame({"quote": ["geen naam", f"zei {name.upper()}"]}).astype({"quote": "category"}).to_parquet(tmp_path / "table.parquet")
    (tmp_path / "table.csv").write_text(f'quote\n"met\n{name}"\n', encoding="utf-8")
    (tmp_path / "notebook.ipynb").write_text(json.dumps({"cells": [{"source": [f"line\n{name}'s zoon"]}]}), encoding="utf-8")
    (tmp_path / "page.html").write_text("<p>&#214;zlem</p>", encoding="utf-8")
    (tmp_path / "notes.md").write_text(f"- {name.lower()}", encoding="utf-8")
    workbook = openpyxl.Workbook()
    workbook.active["B2"] = f"{name} zei"
    workbook.save(tmp_path / "display.xlsx")
    files = sorted(tmp_path.iterdir())
    assert sorted(Path(file).name for file, _, _ in find_names(files, [name])) == [p.name for p in files]
    assert find_names(files, ["Özlemi", "zle"]) == []  # whole words only
    assert any("said by Özlem" in text for text in file_texts(tmp_path / "figure.png"))
