"""The command line for one's own data (issue 14): `run DIR`, the example said aloud, --version, `runs`, git warnings."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

from ponzoni_eval import cli, pipeline
from ponzoni_eval.pipeline.engine import without_tracebacks
from ponzoni_eval.pipeline.run import INCOMPLETE_MARKER, remove_runs, unfinished_runs


class Called(BaseException):
    """Raised by the recorder; a BaseException, so that the CLI's top-level handler (which turns any
    Exception into "internal error", exit 2) lets it through to the test."""


@pytest.fixture
def captured_run(monkeypatch):
    """`run_pipeline` replaced by a recorder: the command's argument handling without kernels."""
    calls = []

    def record(data_dir, **options):
        calls.append((Path(data_dir), options))
        raise Called

    monkeypatch.setattr(pipeline, "run_pipeline", record)
    return calls


@pytest.mark.parametrize("arguments", [["DIR"], ["--data", "DIR"], ["DIR", "--data", "DIR"]])
def test_run_takes_the_data_folder_as_argument_or_option(arguments, captured_run, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    with pytest.raises(Called):
        cli.main(["run", *[str(folder) if a == "DIR" else a for a in arguments], "--before", "t0", "--after", "t1"])
    (data_dir, options), = captured_run
    assert data_dir == folder and options["before"] == "t0" and options["after"] == "t1"


def test_two_different_data_folders_are_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        cli.main(["run", str(tmp_path / "a"), "--data", str(tmp_path / "b")])
    assert stopped.value.code == 2 and "two data folders" in capsys.readouterr().err


def test_run_without_a_folder_says_it_uses_the_synthetic_example(captured_run, capsys):
    with pytest.raises(Called):
        cli.main(["run"])
    (data_dir, _), = captured_run
    assert data_dir == Path("data/raw/example")
    assert "using the SYNTHETIC example" in " ".join(capsys.readouterr().err.split())


def test_validate_and_prepare_take_the_folder_either_way(tmp_path, capsys):
    for arguments in (["validate", str(tmp_path / "nope")], ["validate", "--data", str(tmp_path / "nope")],
                      ["prepare", "--data", str(tmp_path / "nope")]):
        with pytest.raises(SystemExit) as stopped:
            cli.main(arguments)
        assert stopped.value.code == 1 and "folder not found" in capsys.readouterr().err


def test_version(capsys):
    from ponzoni_eval import __version__

    with pytest.raises(SystemExit) as stopped:
        cli.main(["--version"])
    assert stopped.value.code == 0 and capsys.readouterr().out.strip() == f"ponzoni-eval {__version__}"


def _run_folder(out: Path, name: str, status: str, *, incomplete: bool) -> Path:
    folder = out / name
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({"status": status}))
    if incomplete:
        (folder / INCOMPLETE_MARKER).write_text("unfinished\n")
    return folder


def test_runs_lists_interrupted_and_failed_runs_and_clean_removes_only_them(tmp_path, capsys):
    out = tmp_path / "runs"
    interrupted = _run_folder(out, "20260101-000000-aaaa", "running", incomplete=True)
    failed = _run_folder(out, "20260101-000001-bbbb", "failed", incomplete=False)
    complete = _run_folder(out, "20260101-000002-cccc", "complete", incomplete=False)
    failed_latest = _run_folder(out, "20260101-000003-dddd", "failed", incomplete=False)
    (out / "latest").symlink_to(failed_latest.name)
    (out / "notes").mkdir()  # not a run folder
    assert unfinished_runs(out) == [(interrupted, "running"), (failed, "failed")]

    with pytest.raises(SystemExit) as stopped:
        cli.main(["runs", "--out", str(out)])
    assert stopped.value.code == 0
    listed = capsys.readouterr().out
    assert interrupted.name in listed and failed.name in listed and complete.name not in listed
    assert interrupted.is_dir()  # listing removes nothing

    cli_exit = pytest.raises(SystemExit)
    with cli_exit:
        cli.main(["runs", "--out", str(out), "--clean"])
    assert "Removed 2 run folder(s)" in capsys.readouterr().out
    assert not interrupted.exists() and not failed.exists()
    assert complete.is_dir() and failed_latest.is_dir() and (out / "notes").is_dir()
    with pytest.raises(Exception, match="not a run folder"):
        remove_runs([out / "notes"], out)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_a_data_folder_in_a_repository_that_git_does_not_ignore_is_warned_about(tmp_path, capsys):
    repository = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repository)], check=True)
    (repository / ".gitignore").write_text("data/raw/*\n")
    for folder in (repository / "my_data", repository / "data" / "raw" / "mine"):
        folder.mkdir(parents=True)
        with pytest.raises(SystemExit):
            cli.main(["validate", str(folder)])
        err = " ".join(capsys.readouterr().err.split())
        assert ("not ignored by git" in err) == (folder.name == "my_data"), err


def test_the_report_without_code_shows_a_short_notice_instead_of_a_traceback():
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1/0")])
    notebook.cells[0].outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="computed\n"),
        nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="division by zero\nmore",
                               traceback=["\x1b[31mTraceback (most recent call last)\x1b[0m", 'File "x.py", line 1']),
    ]
    for language, words in (("en", "could not be computed"), ("nl", "kon niet worden berekend")):
        clean = without_tracebacks(notebook, language)
        outputs = clean.cells[0].outputs
        assert [o.output_type for o in outputs] == ["stream", "display_data"]
        text = outputs[1].data["text/plain"]
        assert words in text and "ZeroDivisionError: division by zero" in text and "more" not in text
        assert "Traceback" not in json.dumps(clean)
    assert notebook.cells[0].outputs[1].output_type == "error"  # the notebook itself keeps the traceback


# --- the newer side of a jupytext pair (issue 14) ---------------------------------------------------------

def _pair(folder: Path, code: str) -> tuple[Path, Path]:
    import jupytext

    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "01_case_report.py"
    script.write_text(f"# %%\n{code}\n", encoding="utf-8")
    notebook = folder / "01_case_report.ipynb"
    jupytext.write(jupytext.read(script), notebook)
    return script, notebook


def test_the_newer_side_of_a_jupytext_pair_runs(tmp_path, capsys):
    import os

    from rich.console import Console

    from ponzoni_eval.pipeline.run import fresh_source

    script, notebook = _pair(tmp_path / "nb", "x = 1")
    assert fresh_source(notebook, tmp_path / "staging") == notebook  # same code: the notebook as it is

    script.write_text("# %%\nx = 2\n", encoding="utf-8")
    os.utime(script, (notebook.stat().st_mtime + 10, notebook.stat().st_mtime + 10))
    chosen = fresh_source(notebook, tmp_path / "staging", Console(stderr=True))
    assert chosen == tmp_path / "staging" / "01_case_report.ipynb"
    assert "x = 2" in chosen.read_text(encoding="utf-8") and "x = 2" not in notebook.read_text(encoding="utf-8")
    assert "01_case_report.py is newer" in " ".join(capsys.readouterr().err.split())

    os.utime(notebook, (script.stat().st_mtime + 10, script.stat().st_mtime + 10))  # the notebook edited last
    assert fresh_source(notebook, tmp_path / "staging") == notebook

    os.utime(script, (notebook.stat().st_mtime, notebook.stat().st_mtime))
    with pytest.raises(Exception, match="neither is newer"):
        fresh_source(notebook, tmp_path / "staging")


def test_the_repository_notebooks_and_their_scripts_have_the_same_code():
    import jupytext

    from ponzoni_eval.pipeline.run import _code_cells, default_notebooks_dir

    for script in sorted(default_notebooks_dir().glob("0*.py")):
        notebook = script.with_suffix(".ipynb")
        assert _code_cells(jupytext.read(script)) == _code_cells(nbformat.read(notebook, as_version=4)), script.name


def test_run_shows_every_validation_warning_also_when_the_processed_tables_are_current(tmp_path):
    import io
    import sys

    from rich.console import Console

    from ponzoni_eval.pipeline import run as run_module

    sys.path.insert(0, str(Path(__file__).parents[1]))
    from data_shapes import Shape, write_shape

    folder = write_shape(tmp_path / "raw", Shape(1, ("t0", "t1"), interviews=False, double_coding=False, activity=False))
    text = (folder / "participants.csv").read_text(encoding="utf-8").splitlines()
    first = text[1].split(",")
    text[1] = ",".join(["Fatima", *first[1:]])  # a participant id that looks like a name: a warning, not an error
    (folder / "participants.csv").write_text("\n".join(text) + "\n", encoding="utf-8")
    (folder / "survey_responses.csv").write_text(
        (folder / "survey_responses.csv").read_text(encoding="utf-8").replace(first[0] + ",", "Fatima,"), encoding="utf-8")
    for expected_prepared in (True, False):
        buffer = io.StringIO()
        assert run_module._prepare(folder, tmp_path / "processed", console=Console(file=buffer, width=200)) is expected_prepared
        shown = " ".join(buffer.getvalue().split())
        assert "warning" in shown and "Fatima" in shown and "pseudonym" in shown
