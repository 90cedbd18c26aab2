"""A full run from hostile inputs leaves no formula, markup, name or recoverable small cell in any output (issue 19).

The example data, made hostile the way real files are: quotes that start with a formula
(``=HYPERLINK(...)``, ``@``, ``+``, ``-``) and carry Markdown and HTML, a participant's
name in decomposed Unicode (as macOS writes text) and with a typographic apostrophe, a
free-text note the schema does not know with a name in it, and a case description with
a formula and markup. The interviews come as the CSV export of the example's REFI-QDA
project (``qda-import``), so the quotes can be edited. One run of every report, then
every file of the run folder and of the processed data is scanned.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import re
import shutil
import unicodedata
from pathlib import Path

import pandas as pd
import pytest

from name_scan import file_texts
from ponzoni_eval._core.files import neutralise_cell
from ponzoni_eval.cli import main
from ponzoni_eval.pipeline.run import resolve_run_dir

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "data" / "raw" / "example"
FORMULAS = ['=HYPERLINK("http://evil.example","open") ', "@SUM(1+1)*cmd|' /C calc'!A0 ", "+31 (0)6 ", "-1+1 "]
MARKUP = " **bold** <script>alert(1)</script> [link](http://evil.example) `code` "
LISTED = "D'Souza"  # in redaction_names.txt with an ASCII apostrophe, typed in a quote with a typographic one

pytestmark = pytest.mark.slow


def cli(*args) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as stopped:
            code = stopped.code if isinstance(stopped.code, int) else 1
    return code, out.getvalue() + err.getvalue()


def _hostile_raw(base: Path) -> tuple[Path, list[str]]:
    raw = Path(shutil.copytree(EXAMPLE, base / "raw"))
    code, output = cli("qda-import", raw / "interviews.qdpx", "--out", base / "qda")
    assert code == 0, output
    (raw / "interviews.qdpx").unlink()
    for name in ("coded_segments.csv", "codebook.csv"):
        shutil.copy(base / "qda" / name, raw / name)
    participants = pd.read_csv(raw / "participants.csv", dtype=str, keep_default_na=False)
    names = sorted({n for n in participants["name"] if n})
    with_accent = next(n for n in names if unicodedata.normalize("NFD", n) != n)  # e.g. Ayşe
    segments = pd.read_csv(raw / "coded_segments.csv", dtype=str, keep_default_na=False)
    for i, formula in zip(segments.index, itertools.cycle(FORMULAS)):  # every quote: whichever is picked is hostile
        segments.loc[i, "text"] = (formula + MARKUP + unicodedata.normalize("NFD", with_accent) + " en D’Souza zeiden: "
                                   + segments.loc[i, "text"])
    segments.to_csv(raw / "coded_segments.csv", index=False)
    codebook = pd.read_csv(raw / "codebook.csv", dtype=str, keep_default_na=False)
    codebook.loc[0, "theme"] = FORMULAS[0].strip()  # a theme starts cells of the prevalence tables
    codebook.loc[1, "definition"] = FORMULAS[1] + MARKUP
    codebook.to_csv(raw / "codebook.csv", index=False)
    cases = pd.read_csv(raw / "cases.csv", dtype=str, keep_default_na=False)
    cases.loc[0, "description"] = FORMULAS[0] + MARKUP
    cases.to_csv(raw / "cases.csv", index=False)
    activity = pd.read_csv(raw / "activity_log.csv", dtype=str, keep_default_na=False)
    activity["note"] = ""
    activity.loc[0, "note"] = f"{FORMULAS[1]}met {unicodedata.normalize('NFD', with_accent)} en D’Souza"
    activity.to_csv(raw / "activity_log.csv", index=False)
    (raw / "redaction_names.txt").write_text(LISTED + "\n", encoding="utf-8")
    return raw, [*names, LISTED]


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile")
    raw, names = _hostile_raw(base)
    with pytest.MonkeyPatch.context() as patch, pytest.warns(Warning):  # the redacted note is named in a warning
        patch.setenv("COLUMNS", "1000")
        code, output = cli("run", "--data", raw, "--out", base / "runs", "--processed", base / "processed", "--jobs", "2")
    assert code == 0 and "Traceback" not in output, output
    run_dir = resolve_run_dir(base / "runs" / "latest")
    files = [p for p in run_dir.rglob("*") if p.is_file()]
    files += [p for p in (base / "processed").rglob("*") if p.is_file() and p.name != "redaction_terms.parquet"]
    return {"raw": raw, "run_dir": run_dir, "processed": base / "processed", "files": files, "names": names}


def test_the_hostile_text_reaches_the_outputs(hostile_run):
    """The scans below would find something: the quotes with formulas are in the joint display."""
    joint = (hostile_run["run_dir"] / "tables" / "joint_display.csv").read_text(encoding="utf-8")
    assert "HYPERLINK" in joint or "@SUM" in joint or "+31 (0)6" in joint
    starts = [cell for path in hostile_run["files"] if path.suffix == ".csv"
              for row in csv.reader(io.StringIO(path.read_text(encoding="utf-8"))) for cell in row if cell.startswith(("'=", "'+", "'-", "'@"))]
    assert starts  # cells that a spreadsheet would have run, neutralised


def test_no_csv_cell_of_any_output_starts_a_formula(hostile_run):
    found = []
    for path in (p for p in hostile_run["files"] if p.suffix == ".csv"):
        for row in csv.reader(io.StringIO(path.read_text(encoding="utf-8"))):
            found += [(path.name, cell[:40]) for cell in row if neutralise_cell(cell) != cell]
    assert found == []


def test_no_xlsx_cell_of_any_output_is_a_formula_or_starts_one(hostile_run):
    import openpyxl

    workbooks = [p for p in hostile_run["files"] if p.suffix == ".xlsx"]
    assert workbooks
    found = []
    for path in workbooks:
        for sheet in openpyxl.load_workbook(path).worksheets:
            for row in sheet.iter_rows():
                found += [(path.name, c.coordinate) for c in row if c.data_type == "f" or neutralise_cell(c.value) != c.value]
    assert found == []


def test_no_markdown_output_carries_markup_from_the_inputs(hostile_run):
    documents = [p for p in hostile_run["files"] if p.suffix == ".md"]
    assert documents
    for path in documents:
        text = path.read_text(encoding="utf-8")
        assert "<script" not in text and "**bold**" not in text and "`code`" not in text, path.name
        assert re.search(r"(?<!\\)\[link(?<!\\)\]\(", text) is None, path.name  # a link only where the brackets are not escaped


def test_no_name_in_any_unicode_form_is_in_any_output(hostile_run):
    def canonical(text: str) -> str:
        return unicodedata.normalize("NFKC", text).replace("’", "'").casefold()

    pattern = re.compile("|".join(rf"(?<!\w){re.escape(canonical(n))}(?!\w)" for n in hostile_run["names"]
                                  if n.casefold() not in {"said", "bas"}))  # also words of the reports' own text
    found = [(path.name, match.group(0)) for path in hostile_run["files"] for text in file_texts(path)
             for match in pattern.finditer(canonical(text))]
    assert found == []
    note = pd.read_parquet(hostile_run["processed"] / "activity_log.parquet")["note"].dropna().tolist()
    assert len(note) == 1 and note[0].endswith("met [NAAM] en [NAAM]")


def test_no_suppressed_expectation_count_follows_from_the_true_margins(hostile_run):
    """The worst case: the attacker knows every role's and every wave's number of answers (the run shows most of them)."""
    sys_path_helper = Path(__file__).parents[1] / "data"
    import sys

    sys.path.insert(0, str(sys_path_helper))
    try:
        from test_hostile_inputs import _recoverable
    finally:
        sys.path.pop(0)
    from ponzoni_eval.report.sections import expectation_answers
    from ponzoni_eval.data.processed import load_processed

    answers = expectation_answers(load_processed(hostile_run["processed"]))
    answers = answers.astype({"case_id": "str", "wave": "str", "role": "str"})
    tables = sorted((hostile_run["run_dir"] / "tables").glob("*expectation_counts*.csv"))
    assert tables
    checked = 0
    for path in tables:
        published = pd.read_csv(path, dtype={"n_flag": str}, keep_default_na=False).replace({"n": {"": None}})
        published["n"] = pd.to_numeric(published["n"]).astype("Int64")
        published["n_flag"] = published["n_flag"].fillna("")
        for (case, wave), block in published.groupby(["case_id", "wave"]):
            block = block.reset_index(drop=True)
            if not block["n"].isna().any():
                continue
            here = answers.loc[(answers["case_id"] == case) & (answers["wave"] == wave)]
            totals = {(("case_id", "wave", "role"), (case, wave, role)): int(n) for role, n in here.groupby("role").size().items()
                      if role in set(block["role"])}
            totals[(("case_id", "wave"), (case, wave))] = len(here)
            recovered = _recoverable(block, totals, [("case_id", "wave", "role"), ("case_id", "wave")], threshold=5)
            protectable = [i for i in recovered if block.at[i, "n_flag"] == "<5"
                           and totals[(("case_id", "wave", "role"), (case, wave, block.at[i, "role"]))] >= 5
                           and not block.loc[block["role"] == block.at[i, "role"], "n_flag"].eq("<5").all()]
            assert protectable == [], (path.name, case, wave, block.to_string())
            checked += 1
    assert checked >= 3
