"""What `verify` compares, how closely, and what it says about the causes of a difference.

The tolerance model
-------------------
A re-run on another machine computes the same statistics with another CPU
and, often, another BLAS kernel (OpenBLAS picks one per CPU). Results then
fall into three classes:

* **exact**: text, ids, labels, whole numbers, booleans and dates (every
  column that is not floating point). They must be equal, value for value.
* **closed form** (`CLOSED_FORM`): floating-point numbers computed by a
  formula (means, alpha, t, Wilcoxon, crosstabs, agreement, bootstraps). They
  are the same to the last bits on one machine; across CPUs only the order of
  SIMD partial sums can change, which moves them by a few units in the last
  place. Compared at 1e-12 relative.
* **fitted** (`FITTED`): numbers from iterative fits (the profiled REML mixed
  model, count regressions of the interrupted time series, the one-factor
  omega) and everything computed from them (contrasts, marginal means,
  p-values, CIs, fitted curves, joint-display cells). An optimiser stops
  when its convergence criterion is met, and where exactly it stops depends
  on the last bits of every BLAS call on the way. The fits are driven to
  their optimum at near machine precision (the mixed model's profiled score
  to ``|d(-2 log L)/d theta| < 1e-9`` with a root finder, the count models'
  IRLS/Newton steps to ``1e-12``), so cross-kernel differences are around
  1e-10 relative; the tolerance, 1e-6 relative or 1e-9 absolute, is a safety
  margin of three to four orders of magnitude above what was measured
  (`benchmarks/cross_kernel.py`), and still six orders below the smallest
  difference a reader could see in a report (three decimals).

Which class a table belongs to is declared when it is saved
(``run.save_table(..., precision="fitted")``) and recorded beside it; a
table of a run recorded before that declaration existed is compared as
fitted.

A comparison ends in one of three words: **identical** (every value equal,
bit for bit), **reproduced within tolerance** (the largest difference is
named), or **not reproduced** (every value outside its tolerance is listed
with its table, the key columns of its row, and both values).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "Tolerance",
    "CLOSED_FORM",
    "FITTED",
    "PRECISIONS",
    "Comparison",
    "compare_tables",
    "environment_record",
    "notebook_code_sha256",
    "explain_differences",
    "format_number",
]

PRECISIONS = ("closed_form", "fitted")
"""The values of ``precision=`` in `save_table`: how a table's float columns are compared."""

IDENTICAL = "identical"
WITHIN_TOLERANCE = "reproduced within tolerance"
NOT_REPRODUCED = "not reproduced"


@dataclass(frozen=True)
class Tolerance:
    """Two floats are equal when ``|a - b| <= max(rtol * max(|a|, |b|), atol)``.

    NaN equals NaN (a statistic that could not be computed, both times).
    """

    rtol: float
    atol: float

    def __post_init__(self) -> None:
        for name in ("rtol", "atol"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, not {value!r}")

    def describe(self) -> str:
        return f"relative {self.rtol:g} or absolute {self.atol:g}"


CLOSED_FORM = Tolerance(rtol=1e-12, atol=1e-13)
FITTED = Tolerance(rtol=1e-6, atol=1e-9)

# Columns that identify a row, in the order a reader names them. A difference is reported with the
# values of those a table has (text and whole-number columns only), so that a reviewer finds the row.
KEY_COLUMNS = (
    "case_id", "construct", "analysis", "outcome", "scale", "role", "wave", "group", "test", "effect_name",
    "theme", "code", "coder", "item_id", "event_type", "month", "relative_month", "expectation",
    "expectation_primary", "participant_id", "document_id", "term", "statistic_name", "label",
)

DIFFERENCE_COLUMNS = ("table", "column", "row", "kind", "recorded", "rerun", "abs_difference", "rel_difference",
                      "tolerance")


# --- comparing tables ---------------------------------------------------------------------------


def format_number(value: Any) -> str:
    """A value as a reader wants it: plain numbers (shortest exact form), ``missing`` for NA."""
    if value is None:
        return "missing"
    try:
        import pandas as pd

        if pd.isna(value):
            return "missing"
    except (TypeError, ValueError):
        pass
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) or type(value).__name__.startswith("float"):
        return repr(float(value))
    if type(value).__name__.startswith(("int", "uint")):
        return str(int(value))
    return str(value)


@dataclass
class Comparison:
    """What `compare_tables` found.

    Attributes
    ----------
    differences : DataFrame
        One row per difference (`DIFFERENCE_COLUMNS`): ``kind`` is
        ``missing_table``, ``extra_table``, ``columns``, ``rows``, ``dtype`` or
        ``value``; ``row`` names the row by its key columns.
    tables : int
        Tables compared (present in both folders).
    values : dict
        Values compared per class: ``exact``, ``closed_form``, ``fitted``.
    identical : bool
        Every value equal, bit for bit (NaN = NaN).
    largest : dict or None
        The difference within tolerance that comes closest to its limit:
        table, column, row, recorded, rerun, rel_difference, abs_difference,
        share_of_tolerance (difference / allowed difference).
    """

    differences: "pd.DataFrame"
    tables: int = 0
    values: dict[str, int] = field(default_factory=lambda: {"exact": 0, "closed_form": 0, "fitted": 0})
    identical: bool = True
    largest: dict[str, Any] | None = None
    tolerances: dict[str, Tolerance] = field(default_factory=dict)
    legacy_tables: list[str] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        """``identical``, ``reproduced within tolerance`` or ``not reproduced``."""
        if not self.differences.empty:
            return NOT_REPRODUCED
        return IDENTICAL if self.identical else WITHIN_TOLERANCE


def _load_table(folder: Path, name: str) -> "pd.DataFrame":
    import pandas as pd

    parquet = folder / f"{name}.parquet"
    return pd.read_parquet(parquet) if parquet.is_file() else pd.read_csv(folder / f"{name}.csv")


def _table_names(folder: Path) -> set[str]:
    return {path.stem for pattern in ("*.parquet", "*.csv") for path in folder.glob(pattern)}


def table_precision(folder: Path, name: str) -> str | None:
    """The precision class recorded beside a table (``tables/<name>.json``), or None when not recorded."""
    try:
        meta = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    precision = meta.get("precision") if isinstance(meta, dict) else None
    return precision if precision in PRECISIONS else None


def _row_labels(frame: "pd.DataFrame") -> list[str]:
    """Each row named by the key columns the table has (``row N`` when it has none, N from 1)."""
    import pandas as pd

    keys = [c for c in KEY_COLUMNS if c in frame.columns and not pd.api.types.is_float_dtype(frame[c])]
    if not keys:
        return [f"row {i + 1}" for i in range(len(frame))]
    labels = [
        ", ".join(f"{k}={format_number(v)}" for k, v in zip(keys, values) if format_number(v) != "missing")
        for values in frame[keys].itertuples(index=False, name=None)
    ]
    seen: dict[str, int] = {}
    for i, label in enumerate(labels):  # keys that do not make a row unique get its position too
        seen[label] = seen.get(label, 0) + 1
    return [f"{label} (row {i + 1})" if seen[label] > 1 or not label else label for i, label in enumerate(labels)]


def _float_arrays(left: "pd.Series", right: "pd.Series"):
    import numpy as np

    return (left.to_numpy(dtype="float64", na_value=np.nan), right.to_numpy(dtype="float64", na_value=np.nan))


def compare_tables(
    recorded_dir: str | os.PathLike,
    rerun_dir: str | os.PathLike,
    *,
    fitted: Tolerance = FITTED,
    closed_form: Tolerance = CLOSED_FORM,
) -> Comparison:
    """Every difference between the result tables of two ``tables/`` folders.

    Parameters
    ----------
    recorded_dir, rerun_dir : path
        Two ``tables/`` folders (parquet preferred, CSV when there is no
        parquet). The precision class of each table is read from the
        recorded folder's ``<name>.json``.
    fitted, closed_form : Tolerance
        Tolerances of the two float classes (see the module docstring).

    Returns
    -------
    Comparison
        ``differences`` is empty when every value is within its tolerance.
    """
    import numpy as np
    import pandas as pd

    recorded_dir, rerun_dir = Path(recorded_dir), Path(rerun_dir)
    recorded_names, rerun_names = _table_names(recorded_dir), _table_names(rerun_dir)
    rows: list[dict[str, Any]] = []

    def add(table: str, kind: str, detail_recorded: Any = None, detail_rerun: Any = None, **extra: Any) -> None:
        rows.append(dict(table=table, column=extra.get("column", ""), row=extra.get("row", ""), kind=kind,
                         recorded=format_number(detail_recorded), rerun=format_number(detail_rerun),
                         abs_difference=extra.get("abs_difference", np.nan),
                         rel_difference=extra.get("rel_difference", np.nan), tolerance=extra.get("tolerance", "")))

    for name in sorted(recorded_names - rerun_names):
        add(name, "missing_table", "present", "not produced")
    for name in sorted(rerun_names - recorded_names):
        add(name, "extra_table", "not recorded", "produced")

    comparison = Comparison(differences=pd.DataFrame(), tolerances={"fitted": fitted, "closed_form": closed_form})
    for name in sorted(recorded_names & rerun_names):
        comparison.tables += 1
        recorded, rerun = _load_table(recorded_dir, name), _load_table(rerun_dir, name)
        precision = table_precision(recorded_dir, name)
        if precision is None:
            comparison.legacy_tables.append(name)
            precision = "fitted"
        tolerance = fitted if precision == "fitted" else closed_form
        if list(recorded.columns) != list(rerun.columns):
            add(name, "columns", ", ".join(map(str, recorded.columns)), ", ".join(map(str, rerun.columns)))
            continue
        if len(recorded) != len(rerun):
            add(name, "rows", f"{len(recorded)} rows", f"{len(rerun)} rows")
            continue
        labels: list[str] | None = None
        for column in recorded.columns:
            left, right = recorded[column], rerun[column]
            left_float, right_float = pd.api.types.is_float_dtype(left), pd.api.types.is_float_dtype(right)
            if left_float != right_float:
                add(name, "dtype", str(left.dtype), str(right.dtype), column=column)
                continue
            if left_float:
                a, b = _float_arrays(left, right)
                both_nan = np.isnan(a) & np.isnan(b)
                with np.errstate(invalid="ignore"):
                    absolute = np.abs(a - b)
                    scale = np.maximum(np.abs(a), np.abs(b))
                    allowed = np.maximum(tolerance.rtol * scale, tolerance.atol)
                    close = both_nan | (a == b) | (absolute <= allowed)
                    relative = np.where(scale > 0, absolute / np.where(scale > 0, scale, 1.0), 0.0)
                comparison.values[precision] += len(a)
                unequal = ~(both_nan | (a == b))
                if unequal.any():
                    comparison.identical = False
                    within = unequal & close
                    if within.any():
                        # the value closest to its limit (near 0 the absolute tolerance is the limit)
                        used = np.where(within, absolute / allowed, -1.0)
                        i = int(np.argmax(used))
                        if comparison.largest is None or used[i] > comparison.largest["share_of_tolerance"]:
                            labels = labels or _row_labels(recorded)
                            comparison.largest = dict(table=name, column=column, row=labels[i], recorded=format_number(a[i]),
                                                      rerun=format_number(b[i]), rel_difference=float(relative[i]),
                                                      abs_difference=float(absolute[i]), share_of_tolerance=float(used[i]))
                bad = np.flatnonzero(~close)
                for i in bad:
                    labels = labels or _row_labels(recorded)
                    add(name, "value", a[i], b[i], column=column, row=labels[i], abs_difference=float(absolute[i]),
                        rel_difference=float(relative[i]), tolerance=tolerance.describe())
            else:
                comparison.values["exact"] += len(left)
                left_missing, right_missing = left.isna().to_numpy(), right.isna().to_numpy()
                same = (left.astype("str").to_numpy() == right.astype("str").to_numpy()) & (left_missing == right_missing)
                same |= left_missing & right_missing
                for i in np.flatnonzero(~same):
                    labels = labels or _row_labels(recorded)
                    add(name, "value", left.iloc[i], right.iloc[i], column=column, row=labels[i], tolerance="exact")
                if not same.all():
                    comparison.identical = False
    frame = pd.DataFrame(rows, columns=list(DIFFERENCE_COLUMNS))
    frame["abs_difference"] = frame["abs_difference"].astype("float64")
    frame["rel_difference"] = frame["rel_difference"].astype("float64")
    comparison.differences = frame
    if not frame.empty:
        comparison.identical = False
    return comparison


# --- the platform a run was made on ------------------------------------------------------------------


def cpu_model() -> str:
    """The processor's model name (``/proc/cpuinfo`` on Linux), else what `platform` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def blas_record() -> list[dict[str, Any]]:
    """The BLAS/LAPACK libraries numpy and scipy load, with version and kernel (architecture).

    Read with threadpoolctl after importing numpy and scipy.linalg, so that
    both libraries are loaded (scipy may bring its own OpenBLAS).
    """
    try:
        import numpy  # noqa: F401  (loads the BLAS that threadpoolctl then sees)
        import scipy.linalg  # noqa: F401
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover - both are dependencies
        return []
    # Not num_threads: this process's count follows the machine's cores, while the kernels run with the
    # thread settings recorded under "threads".
    keep = ("user_api", "internal_api", "prefix", "version", "architecture", "threading_layer")
    return sorted(({k: info.get(k) for k in keep} for info in threadpool_info()),
                  key=lambda info: (str(info.get("prefix")), str(info.get("user_api"))))


THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_CORETYPE",
                    "OPENBLAS_L2_SIZE", "MKL_CBWR", "NUMEXPR_NUM_THREADS")


def _lock_sha256(root: Path) -> str | None:
    lock = root / "uv.lock"
    return hashlib.sha256(lock.read_bytes()).hexdigest() if lock.is_file() else None


def environment_record(
    packages: Mapping[str, str | None], *, kernel_environment: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Where a run was made: Python, OS, CPU, BLAS and threads, package versions, lock file.

    Parameters
    ----------
    packages : mapping
        Versions of the key packages.
    kernel_environment : mapping, optional
        The environment the notebooks' kernels get; their thread settings are
        recorded (default: this process's).
    """
    environment = dict(os.environ) if kernel_environment is None else kernel_environment
    root = Path(__file__).resolve().parents[2]
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": cpu_model(),
        "blas": blas_record(),
        "threads": {name: environment.get(name) for name in THREAD_VARIABLES if environment.get(name) is not None},
        "packages": dict(packages),
        "lock_sha256": _lock_sha256(root),
    }


def notebook_code_sha256(path: str | os.PathLike) -> str:
    """SHA-256 over a notebook's code cells only (not its stored outputs, ids or metadata).

    Two notebooks with the same code run the same computation; their stored
    outputs (re-executed on another machine, or cleared) do not matter.
    """
    cells = json.loads(Path(path).read_text(encoding="utf-8")).get("cells", [])
    code = ["".join(cell["source"]) if isinstance(cell.get("source"), list) else str(cell.get("source", ""))
            for cell in cells if cell.get("cell_type") == "code"]
    return hashlib.sha256(json.dumps(code).encode("utf-8")).hexdigest()


# --- why two runs differ ---------------------------------------------------------------------------


def _blas_text(blas: Sequence[Mapping[str, Any]] | None) -> str:
    if not blas:
        return "not recorded"
    return "; ".join(f"{b.get('internal_api')} {b.get('version')} kernel {b.get('architecture')}" for b in blas)


def _short(commit: str | None) -> str:
    return commit[:12] if commit else "none (not a git checkout)"


def explain_differences(recorded: Mapping[str, Any], rerun: Mapping[str, Any]) -> list[str]:
    """The ways the re-run's circumstances differ from the recorded run's, most likely cause first.

    Each line is one cause a reviewer can act on: the platform (CPU, BLAS
    kernel, threads), Python and package versions, the lock file, the code
    (both commits, an edited working tree), the notebooks' code cells, the
    processed data. None of them is a difference in results by itself.
    """
    notes: list[str] = []
    old_env, new_env = recorded.get("environment") or {}, rerun.get("environment") or {}
    platform_parts = []
    if old_env.get("cpu") != new_env.get("cpu"):
        platform_parts.append(f"CPU {old_env.get('cpu') or 'not recorded'} -> {new_env.get('cpu')}")
    old_blas, new_blas = old_env.get("blas") or [], new_env.get("blas") or []
    if old_blas != new_blas:
        versions = [[(b.get("internal_api"), b.get("version")) for b in blas] for blas in (old_blas, new_blas)]
        if old_blas and versions[0] == versions[1]:  # the same libraries, other kernels
            kernels = [", ".join(sorted({str(b.get("architecture")) for b in blas})) for blas in (old_blas, new_blas)]
            platform_parts.append(f"BLAS kernel {kernels[0]} -> {kernels[1]}")
        else:
            platform_parts.append(f"BLAS {_blas_text(old_blas)} -> {_blas_text(new_blas)}")
    if old_env.get("threads") != new_env.get("threads"):
        platform_parts.append(f"thread settings {old_env.get('threads')} -> {new_env.get('threads')}")
    if old_env.get("platform") != new_env.get("platform"):
        platform_parts.append(f"system {old_env.get('platform')} -> {new_env.get('platform')}")
    if platform_parts:
        notes.append("the platform differs (" + "; ".join(platform_parts) + "): iterative fits then differ in their "
                     "last digits, which the fitted tolerance allows for")
    if old_env.get("python") != new_env.get("python"):
        notes.append(f"Python {old_env.get('python')} recorded, {new_env.get('python')} now")
    old_packages, new_packages = old_env.get("packages") or {}, new_env.get("packages") or {}
    changed = [f"{p} {old_packages.get(p)} -> {new_packages.get(p)}"
               for p in sorted(set(old_packages) | set(new_packages)) if old_packages.get(p) != new_packages.get(p)]
    if changed:
        notes.append("package versions differ: " + "; ".join(changed))
    if old_env.get("lock_sha256") != new_env.get("lock_sha256"):
        notes.append(f"the lock file (uv.lock) differs: sha256 {str(old_env.get('lock_sha256'))[:12]} recorded, "
                     f"{str(new_env.get('lock_sha256'))[:12]} now")
    old_git, new_git = recorded.get("git") or {}, rerun.get("git") or {}
    if old_git.get("commit") != new_git.get("commit"):
        notes.append(f"the code is at another git commit: {_short(old_git.get('commit'))} recorded, "
                     f"{_short(new_git.get('commit'))} now")
    if old_git.get("dirty"):
        notes.append("the recorded run was made from a working tree with uncommitted changes"
                     + (f" (package sources sha256 {old_git['sources_sha256'][:12]})" if old_git.get("sources_sha256") else ""))
    if new_git.get("dirty"):
        notes.append("the code now has uncommitted changes"
                     + (f" (package sources sha256 {new_git['sources_sha256'][:12]})" if new_git.get("sources_sha256") else ""))
    if (old_git.get("sources_sha256") and new_git.get("sources_sha256")
            and old_git["sources_sha256"] != new_git["sources_sha256"] and old_git.get("commit") == new_git.get("commit")
            and not (old_git.get("dirty") or new_git.get("dirty"))):
        notes.append("the package sources differ from the recorded run's")
    old_code, new_code = (recorded.get("inputs") or {}).get("notebook_code"), (rerun.get("inputs") or {}).get("notebook_code")
    if old_code is None:
        notes.append("the recorded run did not record its notebooks' code cells; notebooks not compared")
    elif new_code is not None:
        differing = sorted(n for n in set(old_code) | set(new_code) if old_code.get(n) != new_code.get(n))
        if differing:
            notes.append("the code cells of these report notebooks differ from the recorded run's: " + ", ".join(differing))
    old_processed = (recorded.get("inputs") or {}).get("processed") or {}
    new_processed = (rerun.get("inputs") or {}).get("processed") or {}
    differing = sorted(n for n in set(old_processed) | set(new_processed) if old_processed.get(n) != new_processed.get(n))
    if differing:
        notes.append("prepare wrote different processed files: " + ", ".join(differing))
    return notes
