"""Run every report in one go, leave a run folder a reviewer can trust, and verify it.

`run_pipeline` prepares the processed tables from the raw data, executes the
parameterised notebooks with papermill in one stage, ``jobs`` at a time (the
cross-case report and the joint display first, then the per-case report once
per case: the cross-case notebooks read the processed tables, not the case
reports' outputs) and writes one folder per run::

    papermill_runs/<YYYYmmdd-HHMMSS>-<input hash>/
        INCOMPLETE          present until the run has finished (an interrupted run keeps it)
        manifest.json       what ran, on which inputs, with which versions, and how it went
        index.html          links to every report, table and figure
        notebooks/          executed notebooks (with the error, when one failed)
        html/               each report twice: <name>.html without code (evaluators),
                            <name>-code.html with code (students)
        tables/             result tables: CSV + parquet + a JSON sidecar each
        figures/            figures: PNG + SVG + a JSON sidecar (caption = alt text) each
        outputs.json        the registry of tables and figures
    papermill_runs/latest   symlink (or a one-line text file) to the newest finished run

`verify_run` re-runs a recorded run with the recorded parameters on the same
inputs (their checksums must match) and compares every result table by the
tolerance model of `ponzoni_eval._core.reproducibility` (exact columns equal,
closed-form numbers to 1e-12, values from iterative fits to 1e-6 relative);
it says identical, reproduced within tolerance or not reproduced. It needs only ``manifest.json`` and ``tables/``, so it also
works on a committed reference run without notebooks.

Execution is behind a small interface (`Executor`): ``start`` (before prepare,
to get kernels or a cluster ready), then a list of picklable `NotebookTask`\\ s
in, one `NotebookResult` per task out, through the plain function
`execute_notebook_task`, then ``close``. `LocalExecutor` drives local kernels
from threads, each started ahead of need with its notebook's imports done;
`DaskExecutor` maps the same function over a Dask cluster (docs/scaling.md).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ponzoni_eval import data as data_layer
from ponzoni_eval._core.errors import DataError
from ponzoni_eval._core.files import TEMPORARY_SUFFIX, atomic_write_bytes, remove_stale_temporaries
from ponzoni_eval._core.fingerprint import code_fingerprint, folder_checksums, is_current, sha256_file
from ponzoni_eval._core.reproducibility import environment_record, notebook_code_sha256
from ponzoni_eval._core.run_folder import FIGURES_DIR, TABLES_DIR, collect_outputs, is_synthetic
from ponzoni_eval._core.words import LANGUAGES  # what --language accepts: one words file each (resources/words/)
from ponzoni_eval.config import DEFAULT_MIN_CELL, DEFAULT_SEED
from ponzoni_eval.pipeline.engine import NotebookResult, NotebookTask
from ponzoni_eval.pipeline.environment import kernel_environment, run_environment
from ponzoni_eval.pipeline.executors import Executor, EXECUTORS, make_executor, OnResult
from ponzoni_eval.pipeline.index import write_index
from ponzoni_eval.pipeline.kernels import kernel_options
from ponzoni_eval.pipeline.manifest import (
    analysis_plan_entry,
    iso,
    MANIFEST_FORMAT,
    notebook_entry,
    now,
    outputs_record,
    recorded_path,
    write_manifest,
)

if TYPE_CHECKING:  # pragma: no cover - typing only; kept out of light imports
    from rich.console import Console

__all__ = [
    "run_pipeline",
    "RunResult",
    "resolve_run_dir",
    "CASE_NOTEBOOK",
    "CROSS_CASE_NOTEBOOKS",
    "LANGUAGES",
    "execute_in_place",
    "unfinished_runs",
    "remove_runs",
]


CASE_NOTEBOOK = "01_case_report"
"""Executed once per case."""
CROSS_CASE_NOTEBOOKS = ("02_cross_case", "03_joint_display")
"""Executed once per run, after the case reports, side by side."""
INCOMPLETE_MARKER = "INCOMPLETE"
LATEST = "latest"

KEY_PACKAGES = (
    "ponzoni-eval",
    "pandas",
    "numpy",
    "scipy",
    "statsmodels",
    "pingouin",
    "krippendorff",
    "pandera",
    "pyarrow",
    "matplotlib",
    "seaborn",
    "papermill",
    "nbconvert",
    "nbformat",
    "ipykernel",
    "jupytext",
)
"""Packages whose versions are recorded in every run manifest."""


# --- paths and checksums --------------------------------------------------------------


def default_notebooks_dir() -> Path:
    """``notebooks/`` of the source tree this package runs from, else of the working folder."""
    beside_package = Path(__file__).resolve().parents[2] / "notebooks"
    return beside_package if beside_package.is_dir() else Path.cwd() / "notebooks"


# --- the run ------------------------------------------------------------------------------


@dataclass
class RunResult:
    """What `run_pipeline` hands back: the run folder, its manifest, and what failed."""

    run_dir: Path
    manifest: dict[str, Any]

    @property
    def failures(self) -> list[dict[str, Any]]:
        return [entry for entry in self.manifest["notebooks"] if entry["status"] != "ok"]

    @property
    def ok(self) -> bool:
        return self.manifest["status"] == "complete"

    def failure_messages(self) -> list[str]:
        """One line per failed notebook: which one, which cell, which error, where to look."""
        lines = []
        for entry in self.failures:
            error = entry.get("error") or {}
            where = f" in section '{error['section']}'" if error.get("section") else ""
            if error.get("cell_index") is not None:
                where += f" in cell {error['cell_index']} (In [{error.get('execution_count')}])"
                if error.get("cell_first_line"):
                    where += f" `{error['cell_first_line']}`"
            lines.append(
                f"{entry['name']} failed{where}: {error.get('ename')}: {error.get('evalue')} "
                f"(see {self.run_dir / entry['executed']}"
                + (f"; traceback in {self.run_dir / error['log']}" if error.get("log") else "") + ")"
            )
        return lines


def _versions() -> dict[str, str | None]:
    versions = {}
    for package in KEY_PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return versions


def _git_state() -> dict[str, Any] | None:
    """Commit and dirty flag of the source tree the package runs from, or None outside git."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists() or shutil.which("git") is None:
        return None
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=20, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=20, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": bool(status.strip()), "sources_sha256": code_fingerprint()}


def _create_run_dir(out: Path, started: datetime, input_hash: str) -> Path:
    """A new run folder with its INCOMPLETE marker; a second run in the same second gets a suffix."""
    out.mkdir(parents=True, exist_ok=True)
    base = f"{started:%Y%m%d-%H%M%S}-{input_hash}"
    for attempt in range(1, 1000):
        run_dir = out / (base if attempt == 1 else f"{base}-{attempt}")
        try:
            run_dir.mkdir()
        except FileExistsError:
            continue
        atomic_write_bytes(
            run_dir / INCOMPLETE_MARKER,
            (f"This run started at {iso(started)} and has not finished (or was interrupted).\n"
             "Its results are not complete; start a new run.\n").encode("utf-8"),
        )
        return run_dir
    raise RuntimeError(f"could not create a run folder under {out}")  # pragma: no cover


def _point_latest(out: Path, run_dir: Path) -> None:
    """Point ``out/latest`` at `run_dir`: a relative symlink, or a text file holding the name."""
    latest = out / LATEST
    remove_stale_temporaries(out)  # a pointer a killed run left half-made
    temporary = out / f".{LATEST}.{os.getpid()}.link{TEMPORARY_SUFFIX}"
    temporary.unlink(missing_ok=True)
    try:
        os.symlink(run_dir.name, temporary, target_is_directory=True)
    except (OSError, NotImplementedError):  # e.g. Windows without developer mode, some network shares
        temporary.write_text(run_dir.name + "\n", encoding="utf-8")
    if latest.is_dir() and not latest.is_symlink():  # a real folder called "latest": leave it alone
        temporary.unlink()
        raise DataError("a folder named 'latest' is in the way", file=str(latest), expected="a symlink or pointer file")
    os.replace(temporary, latest)


def resolve_run_dir(path: str | os.PathLike) -> Path:
    """A run folder from its path, a ``latest`` symlink, or a ``latest`` text pointer."""
    path = Path(path)
    if path.is_file() and path.name == LATEST:
        return (path.parent / path.read_text(encoding="utf-8").strip()).resolve()
    return path.resolve()


def unfinished_runs(out: str | os.PathLike = "papermill_runs") -> list[tuple[Path, str]]:
    """Run folders under `out` that did not finish well: (folder, status), oldest first.

    A folder still marked ``INCOMPLETE`` is ``interrupted`` (or ``running``, as
    its manifest says: a run in progress in another terminal looks the same);
    a finished folder whose manifest says ``failed`` is ``failed``. The folder
    ``latest`` points to is never listed.
    """
    out = Path(out)
    if not out.is_dir():
        return []
    latest = resolve_run_dir(out / LATEST) if (out / LATEST).exists() else None
    found = []
    for folder in sorted(path for path in out.iterdir() if path.is_dir() and not path.is_symlink()):
        manifest_file = folder / "manifest.json"
        if not manifest_file.is_file() or folder.resolve() == latest:
            continue
        try:
            status = json.loads(manifest_file.read_text(encoding="utf-8")).get("status", "unknown")
        except (OSError, ValueError):
            status = "unreadable"
        if (folder / INCOMPLETE_MARKER).exists():
            found.append((folder, "interrupted" if status in ("complete", "failed") else status))
        elif status != "complete":
            found.append((folder, status))
    return found


def remove_runs(folders: Sequence[Path], out: str | os.PathLike = "papermill_runs") -> list[Path]:
    """Remove run folders listed by `unfinished_runs` (only folders directly under `out` with a manifest)."""
    out = Path(out).resolve()
    removed = []
    for folder in folders:
        folder = Path(folder).resolve()
        if folder.parent != out or not (folder / "manifest.json").is_file():
            raise DataError("not a run folder of this output folder", file=str(folder), expected=f"a run folder in {out}")
        shutil.rmtree(folder)
        removed.append(folder)
    return removed


def _prepare(data_dir: Path, processed_dir: Path, *, force: bool = False, console: "Console | None" = None) -> bool:
    """Validate the raw data and write the processed tables (ponzoni_eval.data.preparation); False when they were current.

    Processed tables made from the same raw files by the same code are kept
    (`ponzoni_eval._core.fingerprint.is_current`): validating and preparing them again
    would give the same bytes.
    """
    def show_warnings(report: Any) -> None:
        if console is not None and report.ok and report.n_warnings:
            data_layer.print_problems(report.problems, console=console)

    if not force and is_current(data_dir, processed_dir):  # no pandas needed for this check
        if console is not None and _recorded_warnings(processed_dir):  # shown again, as when they were prepared
            show_warnings(data_layer.validate_dir(data_dir))
        return False

    data_layer.prepare(data_dir, processed_dir, on_report=show_warnings)
    return True


def _recorded_warnings(processed_dir: Path) -> int:
    """How many validation warnings `prepare` recorded in the processed manifest."""
    from ponzoni_eval.config import MANIFEST_FILE

    try:
        return int(json.loads((processed_dir / MANIFEST_FILE).read_text(encoding="utf-8"))["validation"]["warnings"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0


def _case_ids(processed_dir: Path, wanted: Sequence[str] | None) -> list[str]:
    import pyarrow.parquet as pq  # not pandas: the run's own process need not import it

    cases_file = processed_dir / "cases.parquet"
    if not cases_file.is_file():
        raise DataError("the processed data have no cases table", file=str(cases_file), expected="cases.parquet from prepare")
    known = [str(case) for case in pq.read_table(cases_file, columns=["case_id"]).column("case_id").to_pylist()]
    if not wanted:
        return known
    unknown = [case for case in wanted if case not in known]
    if unknown:
        raise DataError("unknown case(s)", column="case_id", expected=", ".join(known), found=", ".join(unknown))
    return [case for case in known if case in set(wanted)]  # the data's order, whatever the command line's


def _input_hash(raw: Mapping[str, str], parameters: Mapping[str, Any]) -> str:
    payload = json.dumps({"raw": raw, "parameters": parameters}, sort_keys=True).encode("utf-8")
    return hashlib.sha256(payload).hexdigest()[:10]


def _code_cells(notebook: Any) -> list[str]:
    return [cell.source.strip() for cell in notebook.cells if cell.cell_type == "code"]


def fresh_source(notebook: Path, staging: Path, console: "Console | None" = None) -> Path:
    """The notebook to execute: the ``.ipynb``, or its paired jupytext ``.py`` when that is newer and differs.

    A student edits the ``.py`` (or the notebook in Lab); the run must execute
    what was edited last, never a stale side silently. When the two differ in
    their code, the newer file wins (the ``.py`` is converted into `staging`,
    the user's files are not changed) and a note names it; when they differ
    and are equally old, the run is refused with both names.
    """
    script = notebook.with_suffix(".py")
    if not script.is_file():
        return notebook
    import jupytext
    import nbformat

    if not notebook.is_file():
        newer, older = script, None
    else:
        if _code_cells(jupytext.read(script)) == _code_cells(nbformat.read(notebook, as_version=4)):
            return notebook
        script_time, notebook_time = script.stat().st_mtime, notebook.stat().st_mtime
        if script_time == notebook_time:
            raise DataError("the notebook and its paired .py differ and neither is newer", file=str(script),
                            expected=f"the same code as {notebook.name}: run `jupytext --sync {script}`")
        newer, older = (script, notebook) if script_time > notebook_time else (notebook, script)
    if console is not None:
        console.print(f"Note: {newer} is newer than {older.name if older else 'its .ipynb'} and its code differs: running {newer.name}.",
                      highlight=False, soft_wrap=True)
    if newer == notebook:
        return notebook
    staging.mkdir(parents=True, exist_ok=True)
    converted = staging / notebook.name
    atomic_write_bytes(converted, jupytext.writes(jupytext.read(script), fmt="ipynb").encode("utf-8"))
    return converted


def notebook_tasks(
    notebooks_dir: Path,
    run_dir: Path,
    processed_dir: Path,
    case_ids: Sequence[str],
    common: Mapping[str, Any],
    cell_timeout: float | None,
    cross_case_notebooks: Sequence[str] = CROSS_CASE_NOTEBOOKS,
    sources: Mapping[str, Path] | None = None,
) -> tuple[list[NotebookTask], list[NotebookTask]]:
    def task(notebook: str, name: str, parameters: dict[str, Any], case_id: str | None) -> NotebookTask:
        source = (sources or {}).get(notebook, notebooks_dir / f"{notebook}.ipynb")
        if not source.is_file():
            raise DataError("report notebook not found", file=str(source), expected=f"{notebook}.ipynb in {notebooks_dir}")
        return NotebookTask(
            name=name,
            notebook=notebook,
            source=str(source),
            output=str(run_dir / "notebooks" / f"{name}.ipynb"),
            html_report=str(run_dir / "html" / f"{name}.html"),
            html_code=str(run_dir / "html" / f"{name}-code.html"),
            parameters={**parameters, "processed_dir": str(processed_dir), "run_dir": str(run_dir), **common},
            case_id=case_id,
            cell_timeout=cell_timeout,
        )

    per_case = [task(CASE_NOTEBOOK, f"{CASE_NOTEBOOK}-{case}", {"case_id": case}, case) for case in case_ids]
    cross_case = [task(name, name, {"case_id": "all", "cases": list(case_ids)}, None) for name in cross_case_notebooks]
    return per_case, cross_case


def run_pipeline(
    data_dir: str | os.PathLike,
    *,
    cases: Sequence[str] | None = None,
    jobs: int = 2,
    out: str | os.PathLike = "papermill_runs",
    executor: str = "local",
    scheduler: str | None = None,
    language: str = "en",
    alpha: float = 0.05,
    seed: int = DEFAULT_SEED,
    min_cell: int | None = None,
    processed_dir: str | os.PathLike = "data/processed",
    notebooks_dir: str | os.PathLike | None = None,
    cell_timeout: float | None = 1800,
    show_progress: bool = True,
    console: "Console | None" = None,
    force_prepare: bool = False,
    before: str | None = None,
    after: str | None = None,
) -> RunResult:
    """Prepare the data and execute every report into a new run folder.

    Parameters
    ----------
    data_dir : path
        Folder with the raw tables (never written to).
    cases : list of str, optional
        Case ids to report on (default: every case in the data).
    jobs : int
        Notebooks executed at once (each is one kernel process).
    out : path
        Folder that holds the run folders and the ``latest`` pointer.
    executor : {"local", "dask"}
        Where notebooks run: ``local`` kernels on this machine, ``jobs`` at a
        time; ``dask`` on a Dask distributed cluster (`DaskExecutor`).
    scheduler : str, optional
        With ``executor="dask"``: the scheduler's address; without one a
        LocalCluster of ``jobs`` worker processes is started.
    language : {"en", "nl"}
        Language of generated sentences and captions in the reports.
    alpha : float
        Significance level passed to every notebook.
    seed : int
        Seed for everything random in the notebooks (bootstrap CIs, ...).
    min_cell : int, optional
        Disclosure control: published counts of people from 1 to
        ``min_cell - 1`` are suppressed (default
        `ponzoni_eval.privacy.DEFAULT_MIN_CELL`, 5). Recorded in the manifest's
        parameters, where `report.open_run` reads it for every table a
        notebook saves.
    processed_dir : path
        Where `prepare` writes the processed tables the notebooks read. When
        they were made from the same raw files by the same code
        (`ponzoni_eval._core.fingerprint.is_current`), they are used as they are.
    notebooks_dir : path, optional
        Folder with ``01_case_report.ipynb``, ``02_cross_case.ipynb`` and
        ``03_joint_display.ipynb`` (default: the repository's ``notebooks/``).
    cell_timeout : float or None
        Seconds one cell may take before its notebook counts as failed.
    show_progress : bool
        A progress bar on the terminal (stderr).
    force_prepare : bool
        Validate and prepare even when the processed tables are current.
    before, after : str, optional
        The waves of the pre/post comparisons (default: the first and the
        last wave in the data).

    Returns
    -------
    RunResult
        ``run_dir``, ``manifest``, ``ok`` (every notebook succeeded) and
        ``failure_messages()``.

    Raises
    ------
    DataError
        When the data do not validate, a requested case does not exist or a
        notebook is missing. Failing notebooks do not raise: they are recorded.

    Notes
    -----
    The run folder is marked ``INCOMPLETE`` from the first moment and the
    marker is removed only when everything is written, so an interrupted run
    (Ctrl-C) is recognisable and never becomes ``latest``. Two runs on the
    same inputs give byte-identical tables and manifests that differ only in
    `VOLATILE_MANIFEST_KEYS`.
    """
    from rich.console import Console

    console = console or Console(stderr=True)
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, got {language!r}")
    if not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive whole number, got {jobs!r}")
    if not 0.0 < float(alpha) < 1.0:
        raise ValueError(f"alpha must lie between 0 and 1, got {alpha!r}")
    if min_cell is None:
        min_cell = DEFAULT_MIN_CELL
    if not isinstance(min_cell, int) or min_cell < 1:
        raise ValueError(f"min_cell must be a whole number of at least 1, got {min_cell!r}")
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}; available: {', '.join(sorted(EXECUTORS))}")
    if scheduler and executor != "dask":
        raise ValueError("a scheduler address is only used with executor='dask'")

    data_dir, out, processed_dir = Path(data_dir), Path(out), Path(processed_dir).resolve()
    notebooks_dir = Path(notebooks_dir) if notebooks_dir is not None else default_notebooks_dir()
    notebooks_dir = notebooks_dir.resolve()
    if not data_dir.is_dir():
        raise DataError("data folder not found", file=str(data_dir), expected="a folder with the raw tables")
    for name, folder in (("run", out), ("processed", processed_dir)):
        if folder.resolve().is_relative_to(data_dir.resolve()):  # raw data are never written to
            raise DataError(f"the {name} folder must not be inside the data folder", file=str(folder),
                            expected=f"a folder outside {data_dir}")

    started = now()
    clock = time.perf_counter()
    raw = folder_checksums(data_dir)
    parameters: dict[str, Any] = {
        "data_dir": recorded_path(data_dir),
        "cases": list(cases) if cases else None,
        "language": language,
        "alpha": float(alpha),
        "seed": int(seed),
        "min_cell": int(min_cell),
        # the pre/post waves, when chosen (default: first and last wave in the data, not recorded)
        **{name: wave for name, wave in (("before", before), ("after", after)) if wave is not None},
    }
    run_dir = _create_run_dir(out, started, _input_hash(raw, parameters)).resolve()
    manifest: dict[str, Any] = {
        "format_version": MANIFEST_FORMAT,
        "run_id": run_dir.name,
        "status": "running",
        "started": iso(started),
        "finished": None,
        "duration_s": None,
        "parameters": parameters,
        "execution": {"executor": executor, "jobs": jobs, **({"scheduler": scheduler} if scheduler else {})},
        "inputs": {"raw": raw, "processed": {}, "notebooks": {}},
        "dataset": {},
        "environment": environment_record(_versions(), kernel_environment=kernel_environment(out.resolve() / ".state")),
        "git": _git_state(),
        "notebooks": [],
        "outputs": {},
    }
    write_manifest(run_dir, manifest)

    environment = kernel_environment(out.resolve() / ".state")
    runner = make_executor(executor, jobs, environment, scheduler)
    try:
        # The executor gets ready (kernels, cluster) while the data are prepared: the cross-case
        # notebooks run first (they take longest), then the case reports.
        runner.start([str(notebooks_dir / f"{name}.ipynb") for name in (*CROSS_CASE_NOTEBOOKS, CASE_NOTEBOOK)])
        with console.status("Validating and preparing the data ...", spinner="dots"):
            prepared = _prepare(data_dir, processed_dir, force=force_prepare, console=console)
        if not prepared:
            console.print(
                f"Processed data in {processed_dir} are up to date with {data_dir} (same files, same code): "
                "not validated and prepared again (--force-prepare does).",
                highlight=False,
            )
        manifest["inputs"]["processed"] = folder_checksums(processed_dir, "*.parquet")
        manifest["dataset"] = {"synthetic": is_synthetic(processed_dir)}
        manifest["analysis_plan"] = analysis_plan_entry(processed_dir)
        case_ids = _case_ids(processed_dir, cases)
        parameters["cases"] = case_ids
        # The run plan (issue 14): what the data allow; a notebook they do not allow is not run, and the
        # manifest and index.html say why.
        plan = data_layer.run_plan(_processed_profile(processed_dir), case_ids, before=before, after=after)
        manifest["plan"] = plan.to_record(language)
        data_layer.print_plan(plan, console, language=language)
        common = {"alpha": float(alpha), "seed": int(seed), "language": language,
                  **{name: wave for name, wave in (("before", before), ("after", after)) if wave is not None}}
        running = [name for name in CROSS_CASE_NOTEBOOKS if plan.notebook_runs(name)]
        # the newer side of a jupytext pair (issue 14): an edited .py is never silently ignored
        sources = {name: fresh_source(notebooks_dir / f"{name}.ipynb", run_dir / "sources", console)
                   for name in (CASE_NOTEBOOK, *running)}
        per_case, cross_case = notebook_tasks(
            notebooks_dir, run_dir, processed_dir, case_ids, common, cell_timeout, cross_case_notebooks=running, sources=sources,
        )
        all_tasks = per_case + cross_case
        source_sha = {task.notebook: sha256_file(Path(task.source)) for task in all_tasks}
        manifest["inputs"]["notebooks"] = {f"{name}.ipynb": sha for name, sha in sorted(source_sha.items())}
        code_sha = {task.notebook: notebook_code_sha256(task.source) for task in all_tasks}
        manifest["inputs"]["notebook_code"] = {f"{name}.ipynb": sha for name, sha in sorted(code_sha.items())}
        results: dict[str, NotebookResult] = {}

        def record(result: NotebookResult | None) -> None:
            """Note a finished notebook in the manifest (None: list them all as pending)."""
            if result is not None:
                results[result.name] = result
            manifest["notebooks"] = [
                notebook_entry(task, run_dir, results.get(task.name), source_sha[task.notebook]) for task in all_tasks
            ]
            write_manifest(run_dir, manifest)

        record(None)
        for folder in ("notebooks", "html", TABLES_DIR, FIGURES_DIR):
            (run_dir / folder).mkdir(exist_ok=True)
        # One stage: the cross-case notebooks read the processed data, not the case reports' outputs, so
        # every notebook can run at once; the longest (cross-case) start first.
        with run_environment(out.resolve() / ".state"):
            _execute_with_progress(runner, [cross_case + per_case], record, console, show_progress)

        registry = collect_outputs(run_dir)
        manifest["outputs"] = outputs_record(registry)
        failed = [entry for entry in manifest["notebooks"] if entry["status"] != "ok"]
        manifest["status"] = "failed" if failed else "complete"
    except KeyboardInterrupt:
        manifest["status"] = "interrupted"
        console.print(f"[yellow]Interrupted:[/yellow] {run_dir} stays marked {INCOMPLETE_MARKER}.", highlight=False)
        raise
    except BaseException:
        manifest["status"] = "error"
        raise
    finally:
        runner.close()
        finished = now()
        manifest["finished"] = iso(finished)
        manifest["duration_s"] = round(time.perf_counter() - clock, 3)
        write_manifest(run_dir, manifest)

    write_index(run_dir, manifest, registry, plan_rows=plan.rows(language), language=language)
    (run_dir / INCOMPLETE_MARKER).unlink()
    _point_latest(out, run_dir)
    return RunResult(run_dir, manifest)


def _processed_profile(processed_dir: Path) -> dict[str, Any]:
    """The data profile `prepare` recorded in the processed manifest (no pandas needed to read it)."""
    from ponzoni_eval.config import MANIFEST_FILE

    manifest_file = processed_dir / MANIFEST_FILE
    try:
        profile = json.loads(manifest_file.read_text(encoding="utf-8")).get("profile")
    except (OSError, ValueError):
        profile = None
    if profile is None:  # processed tables written by other means: read them (pandas loads here, not before)
        import pyarrow.parquet as pq

        profile = data_layer.data_profile({path.stem: pq.read_table(path).to_pandas() for path in sorted(processed_dir.glob("*.parquet"))})
    return profile


def _execute_with_progress(
    runner: Executor,
    stages: Sequence[Sequence[NotebookTask]],
    record: OnResult,
    console: "Console",
    show_progress: bool,
) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    total = sum(len(stage) for stage in stages)
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not show_progress,
        transient=False,
    ) as progress:
        bar = progress.add_task("Running notebooks", total=total)

        def finished(result: NotebookResult) -> None:
            record(result)
            mark = "[green]ok[/green]" if result.status == "ok" else "[bold red]FAILED[/bold red]"
            progress.console.print(f"  {mark} {result.name} ({result.duration_s:.1f} s)", highlight=False)
            progress.advance(bar)

        for stage in stages:
            runner.run(stage, finished)


# --- stored outputs of the notebooks in the repository -----------------------------------------


def execute_in_place(notebook: str | os.PathLike, *, timeout: float = 1800) -> None:
    """Re-execute a notebook in its own folder and store its outputs (what nbval compares against).

    The paired ``.py`` is synced into the ``.ipynb`` first (jupytext keeps the
    cell ids), then every cell runs with the default parameters, in the
    notebook's folder, as nbval will run it. No timing metadata is written, so
    a re-execution on the same data changes nothing in git.

    Parameters
    ----------
    notebook : path
        The ``.ipynb`` (or its paired ``.py``).
    """
    import jupytext
    import nbformat
    from jupytext.cli import jupytext as jupytext_cli
    from nbclient import NotebookClient

    notebook = Path(notebook).with_suffix(".ipynb")
    if notebook.with_suffix(".py").is_file():
        jupytext_cli(["--sync", "--quiet", str(notebook.with_suffix(".py"))])
    executed = nbformat.read(notebook, as_version=4)
    with run_environment(Path.cwd() / ".state"):
        NotebookClient(
            executed,
            kernel_name="python3",
            timeout=timeout,
            record_timing=False,
            resources={"metadata": {"path": str(notebook.parent.resolve())}},
            **kernel_options(),
        ).execute()
    for cell in executed.cells:
        cell.metadata.pop("execution", None)
    text = jupytext.writes(executed, fmt="ipynb")  # the bytes jupytext.write gives, written atomically
    atomic_write_bytes(notebook, (text if text.endswith("\n") else text + "\n").encode("utf-8"))
