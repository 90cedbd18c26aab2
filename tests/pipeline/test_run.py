"""The run machinery: run folder, manifest, index, latest pointer, failures, determinism, verify.

Tests marked slow execute real kernels on the small fixture notebooks in
tests/fixtures/notebooks (jupytext sources, converted here), with the
foundation's `prepare` replaced by a writer of fixture processed tables.
"""

import importlib.util
import json
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from ponzoni_eval import cli
from ponzoni_eval.pipeline import run as run_module
from ponzoni_eval._core.errors import DataError
from ponzoni_eval._core.reproducibility import compare_tables
from ponzoni_eval.pipeline.run import INCOMPLETE_MARKER, resolve_run_dir, run_pipeline
from ponzoni_eval.pipeline.engine import NotebookResult
from ponzoni_eval.pipeline.verify import strip_volatile, verify_run
from ponzoni_eval.pipeline import executors

FIXTURES = Path(__file__).parents[1] / "fixtures"
_spec = importlib.util.spec_from_file_location("processed_tables", FIXTURES / "processed_tables.py")
processed_tables = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(processed_tables)


def fake_prepare(data_dir, processed_dir, *, force=False, console=None):
    processed_tables.write_processed(processed_dir)
    return True


def make_raw(folder: Path) -> Path:
    """Raw input files: their content only matters for the checksums (prepare is faked)."""
    folder.mkdir(parents=True)
    (folder / "cases.csv").write_text("case_id,name\nslotervaart,Slotervaart\n")
    (folder / "survey").mkdir()
    (folder / "survey" / "wave_t0.csv").write_text("participant_id,wave\nsl01,t0\n")
    (folder / ".DS_Store").write_bytes(b"editor noise")
    return folder


def convert_notebooks(target: Path) -> Path:
    import jupytext

    target.mkdir(parents=True, exist_ok=True)
    for source in sorted((FIXTURES / "notebooks").glob("*.py")):
        jupytext.write(jupytext.read(source), target / f"{source.stem}.ipynb")
    return target


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.targets = []
        self.alts = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a":
            self.targets.append(attrs["href"])
        if tag == "img":
            self.targets.append(attrs["src"])
            self.alts.append(attrs.get("alt"))


# --- without kernels --------------------------------------------------------------------


def test_checksums_cover_every_input_file_but_hidden_ones(tmp_path):
    raw = make_raw(tmp_path / "raw")
    checksums = run_module.folder_checksums(raw)
    assert sorted(checksums) == ["cases.csv", "survey/wave_t0.csv"]
    assert all(len(value) == 64 for value in checksums.values())


def test_a_run_prepares_only_when_the_processed_tables_are_not_current(tmp_path, monkeypatch):
    import ponzoni_eval.data.preparation as prepare_module

    example = Path(__file__).resolve().parents[2] / "data" / "raw" / "example"
    calls = []
    real_prepare = prepare_module.prepare
    monkeypatch.setattr(prepare_module, "prepare", lambda *args, **kwargs: calls.append(args) or real_prepare(*args, **kwargs))
    out = tmp_path / "processed"
    assert run_module._prepare(example, out) is True
    assert run_module._prepare(example, out) is False  # same files, same code: kept
    assert run_module._prepare(example, out, force=True) is True
    assert len(calls) == 2
    (out / "survey_responses.parquet").unlink()  # a processed table lost: prepared again
    assert run_module._prepare(example, out) is True and (out / "survey_responses.parquet").is_file()


def test_a_new_run_folder_is_marked_incomplete_and_never_reused(tmp_path):
    started = run_module.now()
    first = run_module._create_run_dir(tmp_path, started, "abc1234567")
    second = run_module._create_run_dir(tmp_path, started, "abc1234567")
    assert first.name == f"{started:%Y%m%d-%H%M%S}-abc1234567"
    assert second.name == first.name + "-2"
    assert (first / INCOMPLETE_MARKER).is_file()


def test_latest_is_a_symlink_or_a_text_pointer(tmp_path, monkeypatch):
    one, two = (tmp_path / "run-one"), (tmp_path / "run-two")
    one.mkdir()
    two.mkdir()
    run_module._point_latest(tmp_path, one)
    assert (tmp_path / "latest").is_symlink() and os.readlink(tmp_path / "latest") == "run-one"
    assert resolve_run_dir(tmp_path / "latest") == one.resolve()

    def no_symlinks(*args, **kwargs):
        raise OSError("symlinks not supported here")

    monkeypatch.setattr(os, "symlink", no_symlinks)
    run_module._point_latest(tmp_path, two)
    assert not (tmp_path / "latest").is_symlink()
    assert (tmp_path / "latest").read_text() == "run-two\n"
    assert resolve_run_dir(tmp_path / "latest") == two.resolve()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_bad_parameters_are_refused_before_anything_is_written(tmp_path):
    raw = make_raw(tmp_path / "raw")
    for bad in (dict(language="de"), dict(jobs=0), dict(alpha=1.5), dict(executor="spark"), dict(scheduler="tcp://127.0.0.1:1")):
        with pytest.raises(ValueError):
            run_pipeline(raw, out=tmp_path / "runs", **bad)
    assert not (tmp_path / "runs").exists()
    with pytest.raises(DataError, match="data folder not found"):
        run_pipeline(tmp_path / "nowhere", out=tmp_path / "runs")


def test_an_unknown_case_is_a_data_error_and_leaves_the_run_marked_incomplete(tmp_path, monkeypatch):
    monkeypatch.setattr(run_module, "_prepare", fake_prepare)
    with pytest.raises(DataError, match="unknown case.*expected slotervaart, poelenburg_a, poelenburg_b.*found 'zaandam'"):
        run_pipeline(make_raw(tmp_path / "raw"), cases=["zaandam"], out=tmp_path / "runs",
                     processed_dir=tmp_path / "processed", notebooks_dir=tmp_path, show_progress=False)
    (run_dir,) = [p for p in (tmp_path / "runs").iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert (run_dir / INCOMPLETE_MARKER).exists()
    assert json.loads((run_dir / "manifest.json").read_text())["status"] == "error"
    assert not (tmp_path / "runs" / "latest").exists()


def test_an_interrupted_run_stays_incomplete_and_the_next_run_works(tmp_path, monkeypatch):
    monkeypatch.setattr(run_module, "_prepare", fake_prepare)
    notebooks = convert_notebooks(tmp_path / "notebooks")
    options = dict(out=tmp_path / "runs", processed_dir=tmp_path / "processed", notebooks_dir=notebooks, show_progress=False)
    raw = make_raw(tmp_path / "raw")

    def interrupted(runner, stages, record, console, show_progress):
        record(NotebookResult(stages[0][0].name, "ok", 1.0))
        raise KeyboardInterrupt

    first_to_run = "02_cross_case"  # the cross-case notebooks start first (they take longest)

    monkeypatch.setattr(run_module, "_execute_with_progress", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_pipeline(raw, **options)
    (interrupted_dir,) = [p for p in (tmp_path / "runs").iterdir() if not p.name.startswith(".")]
    manifest = json.loads((interrupted_dir / "manifest.json").read_text())
    assert (interrupted_dir / INCOMPLETE_MARKER).exists()
    assert manifest["status"] == "interrupted"
    assert {n["name"]: n["status"] for n in manifest["notebooks"]} == {
        n["name"]: "ok" if n["name"] == first_to_run else "pending" for n in manifest["notebooks"]
    }
    assert len(manifest["notebooks"]) == 5

    def every_notebook_ok(runner, stages, record, console, show_progress):
        for stage in stages:
            for task in stage:
                record(NotebookResult(task.name, "ok", 0.5))

    monkeypatch.setattr(run_module, "_execute_with_progress", every_notebook_ok)
    result = run_pipeline(raw, **options)
    assert result.ok and result.run_dir != interrupted_dir
    assert resolve_run_dir(tmp_path / "runs" / "latest") == result.run_dir
    assert (interrupted_dir / INCOMPLETE_MARKER).exists()


def test_verify_stops_when_an_input_file_changed_and_names_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # rich wraps tables to the terminal width
    raw = make_raw(tmp_path / "raw")
    run_dir = tmp_path / "reference"
    (run_dir / "tables").mkdir(parents=True)
    manifest = {
        "format_version": 1,
        "parameters": {"data_dir": str(raw), "cases": ["slotervaart"], "language": "en", "alpha": 0.05, "seed": 1},
        "inputs": {"raw": run_module.folder_checksums(raw), "processed": {}, "notebooks": {}},
        "notebooks": [],
    }
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    (raw / "survey" / "wave_t0.csv").write_text("participant_id,wave\nsl01,t1\n")
    (raw / "cases.csv").unlink()
    (raw / "extra.csv").write_text("x\n")

    result = verify_run(run_dir)
    assert not result.ok and result.rerun_dir is None
    assert result.input_changes.values.tolist() == [["survey/wave_t0.csv", "changed"], ["cases.csv", "missing"], ["extra.csv", "added"]]
    printed = capsys.readouterr().err
    assert "survey/wave_t0.csv: changed" in printed and "Not reproduced: the input files are not the recorded ones" in printed


def test_verify_refuses_what_is_not_a_finished_run(tmp_path):
    with pytest.raises(DataError, match="no manifest.json"):
        verify_run(tmp_path)
    (tmp_path / "manifest.json").write_text("{}")
    (tmp_path / INCOMPLETE_MARKER).write_text("")
    with pytest.raises(DataError, match="did not finish"):
        verify_run(tmp_path)


def test_paths_inside_the_working_folder_are_recorded_relative(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data" / "raw").mkdir(parents=True)
    assert run_module.recorded_path(Path("data/raw")) == "data/raw"
    assert run_module.recorded_path(tmp_path / "data" / "raw") == "data/raw"
    assert run_module.recorded_path(tmp_path.parent) == tmp_path.parent.resolve().as_posix()


def test_manifests_compare_without_times_and_run_id():
    manifest = {"run_id": "x", "started": "t", "notebooks": [{"name": "a", "duration_s": 1.2, "status": "ok"}]}
    assert strip_volatile(manifest) == {"notebooks": [{"name": "a", "status": "ok"}]}


# --- with kernels ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    return {"root": root, "raw": make_raw(root / "raw"), "notebooks": convert_notebooks(root / "notebooks")}


@pytest.fixture
def fixture_prepare(monkeypatch):
    monkeypatch.setattr(run_module, "_prepare", fake_prepare)


@pytest.fixture(scope="module")
def completed_run(workspace):
    root = workspace["root"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(run_module, "_prepare", fake_prepare)
        return run_pipeline(root / "raw", jobs=2, out=root / "papermill_runs", processed_dir=root / "processed",
                            notebooks_dir=workspace["notebooks"], show_progress=False)


@pytest.mark.slow
def test_a_run_leaves_a_complete_folder(completed_run, workspace):
    run_dir, manifest = completed_run.run_dir, completed_run.manifest
    assert completed_run.ok, completed_run.failure_messages()
    assert not (run_dir / INCOMPLETE_MARKER).exists()
    assert resolve_run_dir(workspace["root"] / "papermill_runs" / "latest") == run_dir
    assert run_dir.parent == (workspace["root"] / "papermill_runs").resolve()
    assert re.fullmatch(r"\d{8}-\d{6}-[0-9a-f]{10}", run_dir.name) and manifest["run_id"] == run_dir.name

    names = [entry["name"] for entry in manifest["notebooks"]]
    assert names == ["01_case_report-slotervaart", "01_case_report-poelenburg_a", "01_case_report-poelenburg_b",
                     "02_cross_case", "03_joint_display"]
    for entry in manifest["notebooks"]:
        assert entry["status"] == "ok" and entry["duration_s"] > 0 and entry["error"] is None
        assert (run_dir / entry["executed"]).is_file()
        report_html = (run_dir / entry["html"]["report"]).read_text()
        code_html = (run_dir / entry["html"]["code"]).read_text()
        assert "open_run" in code_html and "open_run" not in report_html  # code shown to students only
    assert "SYNTHETIC EXAMPLE DATA" in (run_dir / "html" / "01_case_report-slotervaart.html").read_text()

    assert manifest["parameters"] == {"data_dir": str(workspace["raw"].resolve()), "cases": ["slotervaart", "poelenburg_a", "poelenburg_b"],
                                      "language": "en", "alpha": 0.05, "seed": run_module.DEFAULT_SEED, "min_cell": 5}
    assert sorted(manifest["inputs"]["raw"]) == ["cases.csv", "survey/wave_t0.csv"]
    assert sorted(manifest["inputs"]["processed"]) == ["cases.parquet", "coded_segments.parquet", "instrument.parquet", "participants.parquet",
                                                       "survey_responses.parquet"]
    assert sorted(manifest["inputs"]["notebooks"]) == ["01_case_report.ipynb", "02_cross_case.ipynb", "03_joint_display.ipynb"]
    assert manifest["dataset"] == {"synthetic": True}
    assert manifest["environment"]["packages"]["papermill"] and manifest["environment"]["python"].startswith("3.")
    assert manifest["git"] is None or set(manifest["git"]) == {"commit", "dirty", "sources_sha256"}
    assert manifest["environment"]["cpu"] and manifest["environment"]["blas"]  # the platform, for verify's notes
    assert manifest["environment"]["threads"]["OPENBLAS_NUM_THREADS"] == "1"  # what the kernels ran with
    assert sorted(manifest["inputs"]["notebook_code"]) == sorted(manifest["inputs"]["notebooks"])
    assert manifest["status"] == "complete" and manifest["finished"] >= manifest["started"]

    tables = manifest["outputs"]["tables"]
    assert "slotervaart-sample" in tables and "poelenburg_b-draws" in tables and "sample_all" in tables
    assert len(manifest["outputs"]["figures"]) == 3
    assert pd.read_parquet(run_dir / "tables" / "case_order.parquet")["case_id"].tolist() == manifest["parameters"]["cases"]


@pytest.mark.slow
def test_the_index_links_every_report_table_and_figure_and_nothing_is_broken(completed_run):
    run_dir = completed_run.run_dir
    links = Links()
    links.feed((run_dir / "index.html").read_text())
    assert links.targets and all(not target.startswith(("/", "http")) for target in links.targets)
    page = (run_dir / "index.html").read_text()
    # In-page links (#reports ...) must name an element of the page; every other link a file of the run.
    broken = [target for target in links.targets
              if (f'id="{target[1:]}"' not in page if target.startswith("#") else not (run_dir / target).is_file())]
    assert broken == []
    expected = {f"html/{n['name']}.html" for n in completed_run.manifest["notebooks"]}
    expected |= {f"tables/{name}.csv" for name in completed_run.manifest["outputs"]["tables"]}
    expected |= {f"figures/{name}.png" for name in completed_run.manifest["outputs"]["figures"]}
    expected |= {f"documents/{name}" for name in completed_run.manifest["outputs"]["documents"]}
    assert "documents/case_order.html" in expected and expected <= set(links.targets)
    assert links.alts == ["Five seeded draws for poelenburg_a.", "Five seeded draws for poelenburg_b.",
                          "Five seeded draws for slotervaart."]


@pytest.mark.slow
def test_two_runs_on_the_same_inputs_give_identical_tables_and_manifests(completed_run, workspace, fixture_prepare):
    root = workspace["root"]
    again = run_pipeline(root / "raw", jobs=1, out=root / "papermill_runs", processed_dir=root / "processed",
                         notebooks_dir=workspace["notebooks"], show_progress=False)
    assert again.ok and again.run_dir != completed_run.run_dir
    for folder in ("tables", "figures"):
        first = {p.name: p.read_bytes() for p in (completed_run.run_dir / folder).iterdir()}
        second = {p.name: p.read_bytes() for p in (again.run_dir / folder).iterdir()}
        assert first.keys() == second.keys() and len(first) > 0
        assert [name for name in first if first[name] != second[name]] == []
    assert (completed_run.run_dir / "outputs.json").read_bytes() == (again.run_dir / "outputs.json").read_bytes()

    def comparable(manifest):
        # jobs is how the run was executed, not what it computed: 2 workers first, sequential now
        return {**strip_volatile(manifest), "execution": None}

    assert comparable(again.manifest) == comparable(completed_run.manifest)
    assert json.loads((again.run_dir / "manifest.json").read_text()) == again.manifest
    assert resolve_run_dir(workspace["root"] / "papermill_runs" / "latest") == again.run_dir


@pytest.mark.slow
def test_a_failing_notebook_is_recorded_and_the_others_still_run(workspace, fixture_prepare, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "200")  # rich wraps to the terminal width
    notebooks = tmp_path / "notebooks"
    shutil.copytree(workspace["notebooks"], notebooks)
    import nbformat

    broken = nbformat.read(notebooks / "01_case_report.ipynb", as_version=4)
    broken.cells.insert(3, nbformat.v4.new_code_cell('if case_id == "poelenburg_a":\n    raise ValueError("no trust scale")'))
    nbformat.write(broken, notebooks / "01_case_report.ipynb")
    # the worker processes of the process pool take the same path as threads
    monkeypatch.setitem(run_module.EXECUTORS, "local", lambda jobs, env: executors.LocalExecutor(jobs, env, pool="process"))

    with pytest.raises(SystemExit) as exit_info:
        cli.main(["run", "--data", str(workspace["raw"]), "--out", str(tmp_path / "runs"),
                  "--processed", str(tmp_path / "processed"), "--notebooks", str(notebooks)])
    assert exit_info.value.code == 1
    message = " ".join(capsys.readouterr().err.split())
    # the section is the last heading above the cell; In [n] counts the injected parameters cell
    assert "01_case_report-poelenburg_a failed in section 'Fixture: per-case report (tests of the run machinery)' in cell 3 (In [4])" in message
    assert "logs/01_case_report-poelenburg_a.log" in message
    assert 'raise ValueError("no trust scale")' not in message and "ValueError: no trust scale" in message

    run_dir = resolve_run_dir(tmp_path / "runs" / "latest")
    manifest = json.loads((run_dir / "manifest.json").read_text())
    status = {entry["name"]: entry["status"] for entry in manifest["notebooks"]}
    assert status == {"01_case_report-slotervaart": "ok", "01_case_report-poelenburg_a": "failed",
                      "01_case_report-poelenburg_b": "ok", "02_cross_case": "ok", "03_joint_display": "ok"}
    (failed,) = [entry for entry in manifest["notebooks"] if entry["status"] == "failed"]
    assert failed["error"]["cell_index"] == 3 and failed["error"]["ename"] == "ValueError"
    assert manifest["status"] == "failed" and not (run_dir / INCOMPLETE_MARKER).exists()
    executed = nbformat.read(run_dir / failed["executed"], as_version=4)
    errors = [o for cell in executed.cells for o in cell.get("outputs", []) if o.output_type == "error"]
    assert [e.evalue for e in errors] == ["no trust scale"]
    assert (run_dir / failed["html"]["report"]).is_file()
    # readers without code see a short notice; the traceback is in the report with code and in the log
    report = (run_dir / failed["html"]["report"]).read_text(encoding="utf-8")
    assert "Traceback" not in report and "could not be computed (ValueError: no trust scale)" in report
    assert "raise ValueError" in (run_dir / failed["error"]["log"]).read_text(encoding="utf-8")
    assert "Traceback" in (run_dir / failed["html"]["code"]).read_text(encoding="utf-8") or "ValueError" in (run_dir / failed["html"]["code"]).read_text(encoding="utf-8")
    assert not (run_dir / "tables" / "poelenburg_a-draws.csv").exists()
    assert (run_dir / "tables" / "poelenburg_b-draws.csv").exists()


def _reference_copy(run_dir: Path, target: Path) -> Path:
    """What will be committed as papermill_runs/reference: the manifest and tables, no notebooks."""
    target.mkdir()
    shutil.copy(run_dir / "manifest.json", target / "manifest.json")
    shutil.copytree(run_dir / "tables", target / "tables")
    return target


@pytest.mark.slow
def test_verify_reproduces_a_reference_run_without_notebooks(completed_run, workspace, fixture_prepare, tmp_path, capsys):
    reference = _reference_copy(completed_run.run_dir, tmp_path / "reference")
    processed = {p: p.stat().st_mtime_ns for p in (workspace["root"] / "processed").iterdir()}
    result = verify_run(reference, notebooks_dir=workspace["notebooks"])
    assert result.ok, result.differences
    assert result.rerun_dir is None  # cleaned up when everything matched
    assert "Identical: every value of reference was reproduced exactly" in " ".join(capsys.readouterr().err.split())
    # the re-run prepared its own processed tables; the user's were not touched
    assert {p: p.stat().st_mtime_ns for p in (workspace["root"] / "processed").iterdir()} == processed


@pytest.mark.slow
def test_verify_names_a_table_that_does_not_reproduce(completed_run, workspace, fixture_prepare, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # rich wraps tables to the terminal width
    reference = _reference_copy(completed_run.run_dir, tmp_path / "reference")
    draws = pd.read_parquet(reference / "tables" / "slotervaart-draws.parquet")
    draws.loc[2, "value"] = draws.loc[2, "value"] * (1 + 1e-6)
    draws.to_parquet(reference / "tables" / "slotervaart-draws.parquet", index=False)

    with pytest.raises(SystemExit) as exit_info:
        cli.main(["verify", str(reference), "--notebooks", str(workspace["notebooks"])])
    assert exit_info.value.code == 1
    printed = capsys.readouterr().err
    flat = " ".join(printed.split())
    assert "Not reproduced: 1 difference(s)" in flat and "- slotervaart-draws.value (" in flat
    assert f"recorded {float(draws.loc[2, 'value'])!r}" in flat and "allowed relative 1e-12" in flat
    listed = Path(flat.split("All differences: ")[1].split(" ")[0])
    assert listed.name == "differences.csv"
    rerun_dir = listed.parent
    assert pd.read_csv(listed)[["table", "column", "kind"]].values.tolist() == [["slotervaart-draws", "value", "value"]]
    assert (rerun_dir / "tables" / "slotervaart-draws.parquet").is_file()
    shutil.rmtree(rerun_dir.parents[1])


@pytest.mark.slow
def test_execute_in_place_stores_outputs_without_timing_and_repeats_exactly(tmp_path):
    import jupytext
    import nbformat

    source = jupytext.read(FIXTURES / "notebooks" / "03_joint_display.py")
    source.cells[1].source = 'case_id = "all"\ncases = ["a", "b"]\nrun_dir = None'
    source.cells[2].source += "\nrun.save_table(pd.DataFrame({'case_id': cases}), 'x')"
    source.metadata["jupytext"] = {"formats": "ipynb,py:percent"}
    jupytext.write(source, tmp_path / "joint.ipynb")
    jupytext.write(source, tmp_path / "joint.py", fmt="py:percent")

    run_module.execute_in_place(tmp_path / "joint.py")
    first = (tmp_path / "joint.ipynb").read_bytes()
    executed = nbformat.reads(first.decode(), as_version=4)
    last = executed.cells[-1]
    assert last.execution_count == 2 and "text/html" in last.outputs[0]["data"]
    assert all("execution" not in cell.metadata for cell in executed.cells)
    run_module.execute_in_place(tmp_path / "joint.ipynb")
    assert (tmp_path / "joint.ipynb").read_bytes() == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["joint.ipynb", "joint.py"]


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT")
def test_ctrl_c_stops_the_run_at_once_and_leaves_it_incomplete(workspace, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    import nbformat

    notebooks = tmp_path / "notebooks"
    shutil.copytree(workspace["notebooks"], notebooks)
    slow = nbformat.read(notebooks / "01_case_report.ipynb", as_version=4)
    sleeping = tmp_path / "sleeping"  # the cell marks when it starts: executed notebooks are saved only every 10 s
    slow.cells.insert(3, nbformat.v4.new_code_cell(f"import pathlib, time\npathlib.Path({str(sleeping)!r}).touch()\ntime.sleep(120)"))
    nbformat.write(slow, notebooks / "01_case_report.ipynb")
    driver = tmp_path / "driver.py"
    driver.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(FIXTURES)!r})\n"
        "import processed_tables\n"
        "from ponzoni_eval import cli\n"
        "from ponzoni_eval.pipeline import run\n"
        "run._prepare = lambda data_dir, processed_dir, force=False, console=None: processed_tables.write_processed(processed_dir) or True\n"
        "if __name__ == '__main__':\n"
        "    cli.main(sys.argv[1:])\n"
    )
    runs = tmp_path / "runs"
    command = [sys.executable, str(driver), "run", "--data", str(workspace["raw"]), "--out", str(runs),
               "--processed", str(tmp_path / "processed"), "--notebooks", str(notebooks)]
    # A shell starts background jobs with SIGINT ignored; give the run the terminal's default.
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while not sleeping.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert sleeping.exists(), "the notebook with the two-minute cell did not start"
    assert list(runs.glob("*/notebooks")) and process.poll() is None  # the run is under way
    time.sleep(1)
    process.send_signal(signal.SIGINT)
    started = time.monotonic()
    _, stderr = process.communicate(timeout=60)

    assert process.returncode == 130
    assert time.monotonic() - started < 15  # does not wait for the two-minute cells
    (run_dir,) = [p for p in runs.iterdir() if not p.name.startswith(".")]
    assert (run_dir / INCOMPLETE_MARKER).exists()
    assert json.loads((run_dir / "manifest.json").read_text())["status"] == "interrupted"
    assert "INCOMPLETE" in stderr


def test_run_on_invalid_data_lists_every_problem_and_runs_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # rich wraps tables to the terminal width
    pytest.importorskip("ponzoni_eval.data.validate")  # validate and prepare come from the foundation branch
    raw = tmp_path / "raw"
    shutil.copytree(Path(__file__).resolve().parents[2] / "data" / "raw" / "example", raw)
    participants = (raw / "participants.csv").read_text().splitlines()
    participants[1] = participants[1].replace(",professional,", ",teacher,")
    participants[2] = participants[2].replace(",professional,", ",nurse,")
    (raw / "participants.csv").write_text("\n".join(participants) + "\n")

    with pytest.raises(SystemExit) as exit_info:
        cli.main(["run", "--data", str(raw), "--out", str(tmp_path / "runs"), "--processed", str(tmp_path / "processed")])
    assert exit_info.value.code == 1
    captured = capsys.readouterr()
    assert "teacher" in captured.out and "nurse" in captured.out and "Not run" in captured.err
    (run_dir,) = [p for p in (tmp_path / "runs").iterdir() if not p.name.startswith(".")]
    assert (run_dir / INCOMPLETE_MARKER).exists() and not list((run_dir / "notebooks").glob("*"))


@pytest.mark.slow
def test_the_dask_executor_leaves_the_same_run_record_as_the_local_one(completed_run, workspace, tmp_path):
    """A LocalCluster of 2 worker processes: same manifest, statuses and tables; a failure reported alike."""
    import nbformat

    notebooks = tmp_path / "notebooks"
    shutil.copytree(workspace["notebooks"], notebooks)
    broken = nbformat.read(notebooks / "01_case_report.ipynb", as_version=4)
    broken.cells.insert(3, nbformat.v4.new_code_cell('if case_id == "poelenburg_a":\n    raise ValueError("no trust scale")'))
    nbformat.write(broken, notebooks / "01_case_report.ipynb")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(run_module, "_prepare", fake_prepare)
        on_dask = run_pipeline(workspace["raw"], jobs=2, executor="dask", out=tmp_path / "runs", processed_dir=tmp_path / "processed",
                               notebooks_dir=notebooks, show_progress=False)

    local, dask = completed_run.manifest, on_dask.manifest
    assert dask["execution"] == {"executor": "dask", "jobs": 2} and local["execution"] == {"executor": "local", "jobs": 2}
    assert set(dask) == set(local)
    for key in ("format_version", "parameters", "dataset", "environment"):
        assert dask[key] == local[key], key
    assert dask["inputs"]["raw"] == local["inputs"]["raw"] and dask["inputs"]["processed"] == local["inputs"]["processed"]
    entry_fields = ("name", "notebook", "case_id", "parameters", "executed", "html")
    assert [{f: e[f] for f in entry_fields} for e in dask["notebooks"]] == [{f: e[f] for f in entry_fields} for e in local["notebooks"]]
    status = {e["name"]: e["status"] for e in dask["notebooks"]}
    assert status == {**{e["name"]: "ok" for e in local["notebooks"]}, "01_case_report-poelenburg_a": "failed"}
    assert dask["status"] == "failed" and not (on_dask.run_dir / INCOMPLETE_MARKER).exists()

    # the failure is recorded as the local executor records it (cell in the source notebook, In [n], error)
    (failed,) = on_dask.failures
    assert failed["error"]["cell_index"] == 3 and failed["error"]["execution_count"] == 4
    assert (failed["error"]["ename"], failed["error"]["evalue"]) == ("ValueError", "no trust scale")
    assert "in cell 3 (In [4])" in on_dask.failure_messages()[0]
    assert (on_dask.run_dir / failed["executed"]).is_file() and (on_dask.run_dir / failed["html"]["report"]).is_file()

    # every table of the notebooks that ran is the same; the failed case wrote none
    differences = compare_tables(completed_run.run_dir / "tables", on_dask.run_dir / "tables").differences
    assert set(differences["kind"]) == {"missing_table"}
    assert all(name.startswith("poelenburg_a-") for name in differences["table"])
    assert {k: v for k, v in dask["outputs"]["figures"].items()} == {
        k: v for k, v in local["outputs"]["figures"].items() if not k.startswith("poelenburg_a-")
    }


def test_a_scheduler_address_needs_the_dask_executor(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["run", "--data", str(make_raw(tmp_path / "raw")), "--out", str(tmp_path / "runs"), "--scheduler", "tcp://127.0.0.1:1"])
    assert exit_info.value.code == 2
    assert "--executor dask" in " ".join(capsys.readouterr().err.split())
    assert not (tmp_path / "runs").exists()
