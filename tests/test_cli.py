"""The command line: thin, exit status 0/1, problems with file/row/column and never a traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ponzoni_eval.cli import app, main
from rawdata import set_cell, write_raw

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "data" / "raw" / "example"
runner = CliRunner()


@pytest.fixture
def broken_example(tmp_path):
    copy = Path(shutil.copytree(EXAMPLE, tmp_path / "example"))
    set_cell(copy, "survey_responses", 14, "value", "vier")
    return copy


def test_validate_example_says_ok():
    result = runner.invoke(app, ["validate", str(EXAMPLE)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "OK: 8 tables read" in result.output


def test_validate_broken_copy_names_file_row_column_without_traceback(broken_example):
    completed = subprocess.run(
        [sys.executable, "-m", "ponzoni_eval.cli", "validate", str(broken_example)],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "250"},
        timeout=300,
    )
    assert completed.returncode == 1
    output = completed.stdout + completed.stderr
    assert "Traceback" not in output
    line = next(line for line in output.splitlines() if "vier" in line)
    assert "survey_responses.csv" in line and "│ 14 " in line and "│ value " in line
    assert "expected a whole number 1..5" in output
    assert "NOT OK: 1 error(s)" in output


def test_prepare_twice_is_idempotent(tmp_path):
    out = tmp_path / "processed"
    first = runner.invoke(app, ["prepare", str(EXAMPLE), "--out", str(out)])
    assert first.exit_code == 0, first.output
    files = {p.name: p.read_bytes() for p in out.glob("*.parquet")}
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    second = runner.invoke(app, ["prepare", str(EXAMPLE), "--out", str(out)])
    assert second.exit_code == 0, second.output
    assert files == {p.name: p.read_bytes() for p in out.glob("*.parquet")}
    again = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert {k: v for k, v in manifest.items() if k != "created"} == {k: v for k, v in again.items() if k != "created"}
    assert "Prepared 9 tables" in second.output


def test_prepare_broken_data_prints_problems_and_exits_1(tmp_path):
    raw = write_raw(tmp_path / "raw")
    set_cell(raw, "participants", 2, "role", "boss")
    result = runner.invoke(app, ["prepare", str(raw), "--out", str(tmp_path / "out")], env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert "participants.csv" in result.output and "boss" in result.output and "allowed_values" in result.output
    assert not (tmp_path / "out").exists()


def test_templates_then_refuse_to_overwrite(tmp_path, capsys):
    result = runner.invoke(app, ["templates", str(tmp_path)])
    assert result.exit_code == 0 and "Wrote 13 templates" in result.output  # the tables, README.md and analysis_plan.toml
    with pytest.raises(SystemExit) as stopped:
        main(["templates", str(tmp_path)])
    assert stopped.value.code == 1
    assert "will not overwrite existing file" in capsys.readouterr().err


def test_dictionary_to_screen_and_file(tmp_path):
    shown = runner.invoke(app, ["dictionary"])
    assert shown.exit_code == 0 and "# Data dictionary" in shown.output
    written = runner.invoke(app, ["dictionary", str(tmp_path / "dd.md")])
    assert written.exit_code == 0
    assert (tmp_path / "dd.md").read_text(encoding="utf-8") == (ROOT / "docs" / "data-dictionary.md").read_text(encoding="utf-8")


def test_example_command_writes_synthetic_data(tmp_path):
    result = runner.invoke(app, ["example", str(tmp_path / "ex")])
    assert result.exit_code == 0 and "SYNTHETIC" in result.output
    assert (tmp_path / "ex" / "survey_responses.csv").read_bytes() == (EXAMPLE / "survey_responses.csv").read_bytes()


def test_missing_folder_is_a_message_not_a_traceback(tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["validate", str(tmp_path / "nope")])
    assert stopped.value.code == 1
    error = capsys.readouterr().err
    assert "folder not found" in error and "Traceback" not in error


@pytest.mark.parametrize(
    "imports, heavy",
    [
        # the command line: --help and the argument checks must not wait for the scientific stack
        ("import ponzoni_eval, ponzoni_eval.cli, ponzoni_eval.pipeline, ponzoni_eval.pipeline.run",
         ("pandas", "numpy", "scipy", "statsmodels", "pingouin", "matplotlib", "seaborn", "pandera", "papermill", "nbconvert", "distributed")),
        # a notebook's set-up cell: data and output helpers, without the validation stack or models
        ("from ponzoni_eval import report; from ponzoni_eval.report import quality; report.save_table; "
         "from ponzoni_eval.data import load_processed; from ponzoni_eval.data.schema import ROLES",
         ("scipy", "statsmodels", "pingouin", "matplotlib", "seaborn", "pandera", "papermill", "nbconvert", "distributed")),
    ],
)
def test_light_imports_stay_light(imports, heavy):
    import subprocess
    import sys

    code = f"import sys; {imports}; print(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split())
    assert not loaded & set(heavy), sorted(loaded & set(heavy))
