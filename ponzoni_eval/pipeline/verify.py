"""Verify a run: the raw inputs still match, and a fresh run gives the same tables."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from ponzoni_eval._core.errors import DataError
from ponzoni_eval._core.files import atomic_write_bytes
from ponzoni_eval._core.fingerprint import folder_checksums
from ponzoni_eval._core.reproducibility import (
    CLOSED_FORM,
    compare_tables,
    Comparison,
    DIFFERENCE_COLUMNS,
    explain_differences,
    FITTED,
    NOT_REPRODUCED,
    Tolerance,
)
from ponzoni_eval._core.run_folder import TABLES_DIR
from ponzoni_eval.config import MANIFEST_FILE
from ponzoni_eval.pipeline.manifest import MANIFEST_FORMAT, VOLATILE_MANIFEST_KEYS
from ponzoni_eval.pipeline.run import INCOMPLETE_MARKER, resolve_run_dir, run_pipeline

if TYPE_CHECKING:  # pragma: no cover - typing only; kept out of light imports
    from rich.console import Console
    import pandas as pd

__all__ = [
    "verify_run",
    "VerifyResult",
    "strip_volatile",
]


# --- verify ------------------------------------------------------------------------------------


DIFFERENCES_FILE = "differences.csv"


@dataclass
class VerifyResult:
    """What `verify_run` found.

    ``outcome`` is ``identical``, ``reproduced within tolerance`` or ``not
    reproduced``; ``ok`` is True for the first two. ``warnings`` are the ways
    the re-run's circumstances differ from the recorded run's (platform,
    versions, code): they explain a difference, they are not one.
    """

    recorded_dir: Path
    rerun_dir: Path | None
    input_changes: "pd.DataFrame"
    differences: "pd.DataFrame"
    warnings: list[str]
    comparison: Comparison | None = None
    raw_files: int = 0

    @property
    def outcome(self) -> str:
        if not self.input_changes.empty or self.comparison is None:
            return NOT_REPRODUCED
        if not self.differences.empty:
            return NOT_REPRODUCED
        return self.comparison.outcome

    @property
    def ok(self) -> bool:
        return self.outcome != NOT_REPRODUCED


def _input_changes(recorded: Mapping[str, str], current: Mapping[str, str]) -> "pd.DataFrame":
    import pandas as pd

    rows = [dict(file=f, change="changed") for f in sorted(set(recorded) & set(current)) if recorded[f] != current[f]]
    rows += [dict(file=f, change="missing") for f in sorted(set(recorded) - set(current))]
    rows += [dict(file=f, change="added") for f in sorted(set(current) - set(recorded))]
    return pd.DataFrame(rows, columns=["file", "change"])


def _load_manifest(run_dir: Path) -> dict[str, Any]:
    path = run_dir / MANIFEST_FILE
    if not path.is_file():
        raise DataError("not a run folder: no manifest.json", file=str(run_dir), expected="a folder made by `ponzoni-eval run`")
    if (run_dir / INCOMPLETE_MARKER).exists():
        raise DataError("this run did not finish (it carries an INCOMPLETE marker); nothing to verify", file=str(run_dir))
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"manifest.json is not valid JSON ({exc}); the run folder is damaged", file=str(path),
                        expected="the manifest written by `ponzoni-eval run`") from None
    if not isinstance(manifest, dict) or manifest.get("format_version") != MANIFEST_FORMAT:
        raise DataError("manifest format not understood", file=str(path), expected=MANIFEST_FORMAT,
                        found=manifest.get("format_version") if isinstance(manifest, dict) else type(manifest).__name__)
    missing = [key for key in ("parameters", "inputs", "notebooks") if not isinstance(manifest.get(key), (dict, list))]
    if missing:
        raise DataError("manifest.json lacks what a re-run needs; the run folder is damaged", file=str(path),
                        expected="the keys parameters, inputs and notebooks", found=", ".join(missing) + " missing")
    _check_recorded_parameters(manifest, path)
    return manifest


def _check_recorded_parameters(manifest: dict, path: Path) -> None:
    """A damaged manifest (empty parameters, an unknown language, ...) is a located message, not a crash (issue 19)."""
    from ponzoni_eval._core.words import LANGUAGES

    parameters, inputs = manifest["parameters"], manifest["inputs"]
    checks = {
        "data_dir": (lambda v: isinstance(v, str) and v != "", "the path of the raw data folder"),
        "cases": (lambda v: v is None or (isinstance(v, list) and all(isinstance(c, str) for c in v)), "a list of case ids"),
        "language": (lambda v: v in LANGUAGES, f"one of {', '.join(LANGUAGES)}"),
        "alpha": (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v < 1, "a number between 0 and 1"),
        "seed": (lambda v: isinstance(v, int) and not isinstance(v, bool), "a whole number"),
    }
    if not isinstance(parameters, dict):
        raise DataError("the recorded parameters are not a table of names and values; the run folder is damaged",
                        file=str(path), column="parameters", found=type(parameters).__name__)
    for key, (valid, expected) in checks.items():
        if key not in parameters or not valid(parameters[key]):
            raise DataError("a recorded parameter is missing or not valid; the run folder is damaged", file=str(path),
                            column=f"parameters.{key}", expected=expected, found=parameters.get(key, "nothing"))
    if not isinstance(inputs, dict) or not isinstance(inputs.get("raw"), dict):
        raise DataError("the recorded input checksums are missing; the run folder is damaged", file=str(path),
                        column="inputs.raw", expected="a table of file names and checksums")


def verify_run(
    run_dir: str | os.PathLike,
    *,
    data_dir: str | os.PathLike | None = None,
    jobs: int = 2,
    notebooks_dir: str | os.PathLike | None = None,
    keep: bool = False,
    rtol: float | None = None,
    atol: float | None = None,
    console: "Console | None" = None,
) -> VerifyResult:
    """Re-run a recorded run on the same inputs and compare every result table.

    Parameters
    ----------
    run_dir : path
        A run folder (or ``papermill_runs/latest``, or a reference run that
        holds only ``manifest.json`` and ``tables/``).
    data_dir : path, optional
        Where the raw data are now (default: the recorded ``data_dir``,
        relative to the working folder).
    jobs : int
        Notebooks executed at once for the re-run.
    notebooks_dir : path, optional
        Report notebooks to run (default: the repository's ``notebooks/``).
    keep : bool
        Keep the re-run folder even when everything matches (it is always
        kept on a mismatch, for inspection, with ``differences.csv``).
    rtol, atol : float, optional
        Tolerance for values from iterative fits (default
        `ponzoni_eval._core.reproducibility.FITTED`: 1e-6 relative, 1e-9
        absolute). Closed-form values are compared at 1e-12 relative (or at
        these, when they are stricter); text and whole numbers exactly.

    Returns
    -------
    VerifyResult
        ``outcome``: ``identical``, ``reproduced within tolerance`` or ``not
        reproduced``. Not reproduced when an input file changed (the re-run
        is then skipped: its results could not be expected to match), a
        notebook's status changed, or any value is outside its tolerance.
        A summary is printed.

    Notes
    -----
    The re-run writes its processed tables and run folder into a temporary
    folder; nothing of the recorded run or of ``data/processed`` is touched.
    The tolerance model is described in `ponzoni_eval._core.reproducibility`.
    """
    import pandas as pd
    from rich.console import Console

    fitted = Tolerance(FITTED.rtol if rtol is None else rtol, FITTED.atol if atol is None else atol)
    closed_form = Tolerance(min(CLOSED_FORM.rtol, fitted.rtol), min(CLOSED_FORM.atol, fitted.atol))
    console = console or Console(stderr=True)
    recorded_dir = resolve_run_dir(run_dir)
    manifest = _load_manifest(recorded_dir)
    parameters = manifest["parameters"]
    data_dir = Path(data_dir) if data_dir is not None else Path(parameters["data_dir"])
    if not data_dir.is_dir():
        raise DataError("the recorded data folder is not here; pass --data", file=str(data_dir))

    current_raw = folder_checksums(data_dir)
    input_changes = _input_changes(manifest["inputs"]["raw"], current_raw)
    empty = pd.DataFrame(columns=list(DIFFERENCE_COLUMNS))
    if not input_changes.empty:
        result = VerifyResult(recorded_dir, None, input_changes, empty, [])
        _print_verify_summary(result, console)
        return result

    workspace = Path(tempfile.mkdtemp(prefix="ponzoni-verify-"))
    rerun = run_pipeline(
        data_dir,
        cases=parameters["cases"],
        jobs=jobs,
        out=workspace / "runs",
        language=parameters["language"],
        alpha=parameters["alpha"],
        seed=parameters["seed"],
        min_cell=parameters.get("min_cell"),  # runs recorded before min_cell existed used the default
        before=parameters.get("before"),  # the pre/post waves, when the run chose them
        after=parameters.get("after"),
        processed_dir=workspace / "processed",
        notebooks_dir=notebooks_dir,
        console=console,
    )
    comparison = compare_tables(recorded_dir / TABLES_DIR, rerun.run_dir / TABLES_DIR, fitted=fitted, closed_form=closed_form)
    differences = comparison.differences
    recorded_status = {entry["name"]: entry["status"] for entry in manifest["notebooks"]}
    notebook_rows = [
        dict(table=entry["name"], column="", row="", kind="notebook", recorded=recorded_status.get(entry["name"], "absent"),
             rerun=entry["status"], abs_difference=float("nan"), rel_difference=float("nan"), tolerance="")
        for entry in rerun.manifest["notebooks"]
        if entry["status"] != recorded_status.get(entry["name"])
    ]
    if notebook_rows:
        differences = pd.concat([pd.DataFrame(notebook_rows, columns=list(DIFFERENCE_COLUMNS)), differences], ignore_index=True)
    warnings = explain_differences(manifest, rerun.manifest)
    if comparison.legacy_tables:
        warnings.append(f"{len(comparison.legacy_tables)} recorded table(s) carry no precision class (a run made before "
                        "it was recorded): their numbers were compared at the fitted tolerance")
    result = VerifyResult(recorded_dir, rerun.run_dir, input_changes, differences, warnings, comparison, len(current_raw))
    if result.ok and not keep:
        shutil.rmtree(workspace, ignore_errors=True)
        result.rerun_dir = None
    else:
        atomic_write_bytes(rerun.run_dir / DIFFERENCES_FILE, differences.to_csv(index=False, lineterminator="\n").encode("utf-8"))
    _print_verify_summary(result, console)
    return result


# How many value differences are printed; differences.csv in the kept re-run has them all.
_PRINTED_DIFFERENCES = 20


def _print_verify_summary(result: VerifyResult, console: "Console") -> None:
    """Plain lines (no table), so the summary reads at 80 columns and when piped into a file."""
    from rich.markup import escape

    def say(text: str) -> None:
        console.print(text, highlight=False, soft_wrap=True)

    for warning in result.warnings:
        say(f"[yellow]Note:[/yellow] {escape(warning)}")
    if not result.input_changes.empty:
        say("[bold red]Not reproduced:[/bold red] the input files are not the recorded ones, so the run was not repeated:")
        for row in result.input_changes.itertuples(index=False):
            say(f"  {escape(row.file)}: {row.change}")
        return
    comparison = result.comparison
    assert comparison is not None
    fitted, closed = comparison.tolerances["fitted"], comparison.tolerances["closed_form"]
    counts = comparison.values
    compared = (f"{comparison.tables} tables, {sum(counts.values()):,} values compared ({counts['exact']:,} exactly, "
                f"{counts['closed_form']:,} closed-form at {closed.describe()}, {counts['fitted']:,} from fits at "
                f"{fitted.describe()}); {result.raw_files} raw input files match their recorded checksums.")
    if result.ok:
        if result.outcome == "identical":
            say(f"[bold green]Identical:[/bold green] every value of {escape(result.recorded_dir.name)} was reproduced "
                f"exactly. {compared}")
        else:
            largest = comparison.largest or {}
            say(f"[bold green]Reproduced within tolerance:[/bold green] {escape(result.recorded_dir.name)}. {compared} "
                f"Largest difference: relative {largest.get('rel_difference', 0):.1e} (absolute "
                f"{largest.get('abs_difference', 0):.1e}, {100 * largest.get('share_of_tolerance', 0):.2g}% of the tolerance) in "
                f"{escape(str(largest.get('table')))}.{escape(str(largest.get('column')))} "
                f"({escape(str(largest.get('row')))}): {largest.get('recorded')} recorded, {largest.get('rerun')} re-run.")
        if result.rerun_dir is not None:
            say(f"The re-run is kept in {escape(str(result.rerun_dir))}.")
        return
    differences = result.differences
    say(f"[bold red]Not reproduced:[/bold red] {len(differences)} difference(s) from "
        f"{escape(result.recorded_dir.name)}. {compared}")
    for row in differences.head(_PRINTED_DIFFERENCES).itertuples(index=False):
        where = row.table + (f".{row.column}" if row.column else "")
        say(f"- {escape(where)}" + (f" ({escape(row.row)})" if row.row else "") + f": {row.kind}")
        detail = f"    recorded {escape(str(row.recorded))}, re-run {escape(str(row.rerun))}"
        if row.kind == "value" and row.tolerance != "exact":
            detail += f" (relative difference {row.rel_difference:.1e}; allowed {row.tolerance})"
        elif row.kind == "value":
            detail += " (must be equal)"
        say(detail)
    if len(differences) > _PRINTED_DIFFERENCES:
        say(f"... and {len(differences) - _PRINTED_DIFFERENCES} more.")
    say(f"All differences: {escape(str(result.rerun_dir / DIFFERENCES_FILE))} (re-run kept in {escape(str(result.rerun_dir))}).")


def strip_volatile(manifest: Mapping[str, Any]) -> Any:
    """The manifest without the fields that differ between runs by design (times, run id)."""

    def strip(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {k: strip(v) for k, v in value.items() if k not in VOLATILE_MANIFEST_KEYS}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip(manifest)
