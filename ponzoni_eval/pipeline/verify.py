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
from ponzoni_eval._core.fingerprint import folder_checksums
from ponzoni_eval._core.run_folder import TABLES_DIR
from ponzoni_eval.pipeline.manifest import MANIFEST_FILE, MANIFEST_FORMAT, VOLATILE_MANIFEST_KEYS
from ponzoni_eval.pipeline.run import INCOMPLETE_MARKER, resolve_run_dir, run_pipeline

if TYPE_CHECKING:  # pragma: no cover - typing only; kept out of light imports
    from rich.console import Console
    import pandas as pd

__all__ = [
    "verify_run",
    "compare_tables",
    "VerifyResult",
    "strip_volatile",
]


# --- verify ------------------------------------------------------------------------------------


@dataclass
class VerifyResult:
    """What `verify_run` found. ``ok`` is False on any difference or changed input."""

    recorded_dir: Path
    rerun_dir: Path | None
    input_changes: "pd.DataFrame"
    differences: "pd.DataFrame"
    warnings: list[str]

    @property
    def ok(self) -> bool:
        return self.input_changes.empty and self.differences.empty


DIFFERENCE_COLUMNS = ("table", "column", "kind", "n_different", "detail")


def _load_table(folder: Path, name: str) -> "pd.DataFrame":
    import pandas as pd

    parquet = folder / f"{name}.parquet"
    return pd.read_parquet(parquet) if parquet.is_file() else pd.read_csv(folder / f"{name}.csv")


def _table_names(folder: Path) -> set[str]:
    return {path.stem for pattern in ("*.parquet", "*.csv") for path in folder.glob(pattern)}


def _column_differences(recorded, rerun, rel_tol: float, abs_tol: float):
    """Boolean mask of rows where two columns differ (missing equals missing)."""
    import numpy as np
    import pandas as pd

    both_missing = (recorded.isna() & rerun.isna()).to_numpy()
    if pd.api.types.is_float_dtype(recorded) and pd.api.types.is_float_dtype(rerun):
        left = recorded.to_numpy(dtype="float64", na_value=np.nan)
        right = rerun.to_numpy(dtype="float64", na_value=np.nan)
        with np.errstate(invalid="ignore"):
            tolerance = np.maximum(rel_tol * np.maximum(np.abs(left), np.abs(right)), abs_tol)
            close = (left == right) | (np.abs(left - right) <= tolerance)
        return ~(close | both_missing)
    # Exact columns (text, integers, booleans, dates): compare their text, which is exact for these types.
    same = (recorded.astype("str").to_numpy() == rerun.astype("str").to_numpy()) & ~(
        recorded.isna().to_numpy() ^ rerun.isna().to_numpy()
    )
    return ~(same | both_missing)


def compare_tables(
    recorded_dir: str | os.PathLike,
    rerun_dir: str | os.PathLike,
    *,
    rel_tol: float = 1e-9,
    abs_tol: float = 1e-12,
) -> "pd.DataFrame":
    """Every difference between the result tables of two ``tables/`` folders.

    Parameters
    ----------
    recorded_dir, rerun_dir : path
        Two ``tables/`` folders (parquet preferred, CSV when there is no parquet).
    rel_tol : float
        Float columns: values count as equal when they differ by at most
        ``rel_tol`` times the larger absolute value ...
    abs_tol : float
        ... or by at most ``abs_tol`` (so that ``0`` and ``1e-17``, a
        rounding residue of the same zero, are equal).

    Returns
    -------
    DataFrame
        Columns ``table, column, kind, n_different, detail``; empty when the
        folders hold the same results. ``kind`` is one of ``missing_table``,
        ``extra_table``, ``columns``, ``rows``, ``dtype``, ``values``.
    """
    import pandas as pd

    recorded_dir, rerun_dir = Path(recorded_dir), Path(rerun_dir)
    recorded_names, rerun_names = _table_names(recorded_dir), _table_names(rerun_dir)
    rows = [dict(table=n, column="", kind="missing_table", n_different=None, detail="not produced by the re-run")
            for n in sorted(recorded_names - rerun_names)]
    rows += [dict(table=n, column="", kind="extra_table", n_different=None, detail="produced by the re-run, not recorded")
             for n in sorted(rerun_names - recorded_names)]
    for name in sorted(recorded_names & rerun_names):
        recorded, rerun = _load_table(recorded_dir, name), _load_table(rerun_dir, name)
        if list(recorded.columns) != list(rerun.columns):
            rows.append(dict(table=name, column="", kind="columns", n_different=None,
                             detail=f"recorded {list(recorded.columns)}, re-run {list(rerun.columns)}"))
            continue
        if len(recorded) != len(rerun):
            rows.append(dict(table=name, column="", kind="rows", n_different=abs(len(recorded) - len(rerun)),
                             detail=f"recorded {len(recorded)} rows, re-run {len(rerun)}"))
            continue
        for column in recorded.columns:
            left, right = recorded[column], rerun[column]
            if pd.api.types.is_float_dtype(left) != pd.api.types.is_float_dtype(right):
                rows.append(dict(table=name, column=column, kind="dtype", n_different=None,
                                 detail=f"recorded {left.dtype}, re-run {right.dtype}"))
                continue
            mask = _column_differences(left, right, rel_tol, abs_tol)
            if mask.any():
                first = int(mask.argmax())
                rows.append(dict(table=name, column=column, kind="values", n_different=int(mask.sum()),
                                 detail=f"first in data row {first + 1}: recorded {left.iloc[first]!r}, "
                                        f"re-run {right.iloc[first]!r}"))
    frame = pd.DataFrame(rows, columns=list(DIFFERENCE_COLUMNS))
    frame["n_different"] = frame["n_different"].astype("Int64")
    return frame


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
    return manifest


def _environment_warnings(recorded: Mapping[str, Any], rerun: Mapping[str, Any]) -> list[str]:
    warnings = []
    old, new = recorded["environment"]["packages"], rerun["environment"]["packages"]
    changed = [f"{p} {old.get(p)} -> {new.get(p)}" for p in sorted(set(old) | set(new)) if old.get(p) != new.get(p)]
    if changed:
        warnings.append("package versions differ from the recorded run: " + "; ".join(changed))
    if recorded["environment"]["python"] != rerun["environment"]["python"]:
        warnings.append(f"Python {recorded['environment']['python']} recorded, {rerun['environment']['python']} now")
    if (recorded.get("git") or {}).get("commit") != (rerun.get("git") or {}).get("commit"):
        warnings.append("the code is at another git commit than the recorded run")
    changed_notebooks = _input_changes(recorded["inputs"].get("notebooks", {}), rerun["inputs"].get("notebooks", {}))
    if not changed_notebooks.empty:
        warnings.append("report notebooks differ from the recorded run: " + ", ".join(changed_notebooks["file"]))
    changed_processed = _input_changes(recorded["inputs"]["processed"], rerun["inputs"]["processed"])
    if not changed_processed.empty:
        warnings.append("prepare wrote different processed files: " + ", ".join(changed_processed["file"]))
    return warnings


def verify_run(
    run_dir: str | os.PathLike,
    *,
    data_dir: str | os.PathLike | None = None,
    jobs: int = 2,
    notebooks_dir: str | os.PathLike | None = None,
    keep: bool = False,
    rel_tol: float = 1e-9,
    abs_tol: float = 1e-12,
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
        kept on a mismatch, for inspection).
    rel_tol, abs_tol : float
        Float tolerance, see `compare_tables`.

    Returns
    -------
    VerifyResult
        ``ok`` is False when an input file changed (the re-run is then
        skipped: its results could not be expected to match) or any table
        differs. A summary is printed.

    Notes
    -----
    The re-run writes its processed tables and run folder into a temporary
    folder; nothing of the recorded run or of ``data/processed`` is touched.
    Differences in package versions, git commit, notebooks or processed files
    are reported as warnings: they explain a mismatch, they are not one.
    """
    import pandas as pd
    from rich.console import Console

    console = console or Console(stderr=True)
    recorded_dir = resolve_run_dir(run_dir)
    manifest = _load_manifest(recorded_dir)
    parameters = manifest["parameters"]
    data_dir = Path(data_dir) if data_dir is not None else Path(parameters["data_dir"])
    if not data_dir.is_dir():
        raise DataError("the recorded data folder is not here; pass --data", file=str(data_dir))

    input_changes = _input_changes(manifest["inputs"]["raw"], folder_checksums(data_dir))
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
        processed_dir=workspace / "processed",
        notebooks_dir=notebooks_dir,
        console=console,
    )
    differences = compare_tables(recorded_dir / TABLES_DIR, rerun.run_dir / TABLES_DIR, rel_tol=rel_tol, abs_tol=abs_tol)
    recorded_status = {entry["name"]: entry["status"] for entry in manifest["notebooks"]}
    notebook_rows = [
        dict(table=entry["name"], column="", kind="notebook", n_different=None,
             detail=f"recorded {recorded_status.get(entry['name'], 'absent')}, re-run {entry['status']}")
        for entry in rerun.manifest["notebooks"]
        if entry["status"] != recorded_status.get(entry["name"])
    ]
    if notebook_rows:
        differences = pd.concat([pd.DataFrame(notebook_rows, columns=list(DIFFERENCE_COLUMNS)), differences], ignore_index=True)
    result = VerifyResult(recorded_dir, rerun.run_dir, input_changes, differences, _environment_warnings(manifest, rerun.manifest))
    if result.ok and not keep:
        shutil.rmtree(workspace, ignore_errors=True)
        result.rerun_dir = None
    _print_verify_summary(result, console)
    return result


def _print_verify_summary(result: VerifyResult, console: "Console") -> None:
    from rich.markup import escape
    from rich.table import Table

    for warning in result.warnings:
        console.print(f"[yellow]Note:[/yellow] {escape(warning)}", highlight=False)
    if not result.input_changes.empty:
        table = Table(title="Input files differ from the recorded run", title_justify="left")
        table.add_column("file")
        table.add_column("change")
        for row in result.input_changes.itertuples(index=False):
            table.add_row(escape(row.file), row.change)
        console.print(table)
        console.print("[bold red]Not verified:[/bold red] the inputs are not the recorded ones, so the run was not repeated.")
        return
    if result.differences.empty:
        kept = f" The re-run is kept in {escape(str(result.rerun_dir))}." if result.rerun_dir is not None else ""
        console.print(f"[bold green]Verified:[/bold green] every table of {escape(result.recorded_dir.name)} was reproduced.{kept}",
                      highlight=False, soft_wrap=True)
        return
    table = Table(title=f"Differences from {result.recorded_dir.name}", title_justify="left")
    for column in DIFFERENCE_COLUMNS:
        table.add_column(column)
    for row in result.differences.itertuples(index=False):
        table.add_row(*(escape("" if _is_missing(value) else str(value)) for value in row))
    console.print(table)
    kept = escape(str(result.rerun_dir))
    console.print(f"[bold red]Not verified:[/bold red] {len(result.differences)} difference(s); re-run kept in {kept}")


def _is_missing(value: Any) -> bool:
    """True for None / NaN / pd.NA (for printing)."""
    import pandas as pd

    return value is None or (not isinstance(value, (str, list)) and bool(pd.isna(value)))


def strip_volatile(manifest: Mapping[str, Any]) -> Any:
    """The manifest without the fields that differ between runs by design (times, run id)."""

    def strip(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {k: strip(v) for k, v in value.items() if k not in VOLATILE_MANIFEST_KEYS}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip(manifest)
