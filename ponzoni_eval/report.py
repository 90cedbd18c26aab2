"""What notebooks call to leave results in a run folder, and to say them in words.

A notebook computes with package functions and hands every table and figure
to these helpers, which write them to the run folder in a form a reviewer can
compare byte for byte:

- `save_table` writes ``tables/<name>.csv`` and ``tables/<name>.parquet``;
- `save_figure` writes ``figures/<name>.png`` and ``figures/<name>.svg``;
- `save_document` writes a finished document (an HTML page, a Markdown or
  Excel file, e.g. the joint display) to ``documents/<name>.<format>``;
- each writes a sidecar ``<name>.json`` (caption / alt text, files, checksums,
  the notebook that made it), and ``outputs.json`` in the run folder lists
  them all (rebuilt by `collect_outputs`; `run.run_pipeline` rebuilds it once
  more when every notebook has finished).

`open_run` binds the run folder, the notebook name and the case once, so a
notebook writes ``run.save_table(frame, "sample", caption=...)``. In a case
notebook the case is put in front of the name (``slotervaart-sample``), so the
same notebook run for three cases never overwrites its own tables. With
``run_dir=None`` (a student running a notebook by hand) nothing is written and
the helpers only display.

`synthetic_banner` marks reports made from the synthetic example data, and
`describe_change` / `describe_result` (one row), `describe_by` (one row per
group), `describe_range` (the smallest and largest of many estimates),
`describe_share` (how many mentioned a theme) and `describe_tally` (how often
each label occurs) turn results into sentences, so no number is ever typed
into a notebook by hand.

Every write is atomic (a temporary file in the same folder, then
``os.replace``), so a reader never sees half a file, also not when a run is
interrupted.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import io
import json
import math
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from .errors import DataError
from .reproducibility import PRECISIONS

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = [
    "RunContext",
    "open_run",
    "save_table",
    "save_figure",
    "save_document",
    "collect_outputs",
    "synthetic_banner",
    "is_synthetic",
    "format_number",
    "format_p",
    "format_ci",
    "describe_result",
    "describe_change",
    "describe_results",
    "describe_by",
    "describe_range",
    "describe_share",
    "describe_tally",
    "OUTPUTS_FILE",
    "TABLES_DIR",
    "FIGURES_DIR",
    "DOCUMENTS_DIR",
    "DOCUMENT_FORMATS",
]

TABLES_DIR = "tables"
FIGURES_DIR = "figures"
DOCUMENTS_DIR = "documents"
OUTPUTS_FILE = "outputs.json"

DOCUMENT_FORMATS = ("html", "md", "xlsx", "csv", "txt")
"""File formats `save_document` writes (the file name's suffix)."""

_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]*$")
_CASE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")  # schema.ID_PATTERN

# A fixed salt makes the ids matplotlib writes into SVG files the same on every run.
_SVG_HASHSALT = "ponzoni_eval"
_PNG_DPI = 150


# --- atomic writing -------------------------------------------------------------


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file in the same folder and `os.replace`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False)
    try:
        with handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def _json_bytes(payload: Any) -> bytes:
    """JSON as the package writes it everywhere: sorted keys, two-space indent, final newline."""
    return (json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- the run folder ---------------------------------------------------------------


@dataclass(frozen=True)
class RunContext:
    """The run folder, notebook and case a notebook writes its outputs for.

    Parameters
    ----------
    run_dir : Path or None
        The run folder; ``None`` means "display only, write nothing" (a
        notebook opened by hand, or under nbval).
    notebook : str
        Name of the notebook (``"01_case_report"``); recorded with each output.
    case_id : str, optional
        The case a per-case notebook reports on. When given, output names are
        prefixed with it (``<case_id>-<name>``).
    min_cell : int, optional
        Counts of people from 1 to ``min_cell - 1`` in published tables are
        suppressed (`save_table`; None: its default, 5).
    """

    run_dir: Path | None
    notebook: str
    case_id: str | None = None
    min_cell: int | None = None

    def save_table(self, frame: "pd.DataFrame", name: str, *, caption: str | None = None, **publishing: Any) -> "pd.DataFrame":
        """`save_table` into this run (``publish=``, ``count_columns=``, ``derived=``, ``threshold=``, ``precision=`` as there); returns the table as written.

        Small counts are suppressed below the run's `min_cell` unless ``threshold=`` says otherwise.
        """
        if self.min_cell is not None:
            publishing.setdefault("threshold", self.min_cell)
        return save_table(frame, name, self.run_dir, caption=caption, notebook=self.notebook, case_id=self.case_id, **publishing)

    def save_figure(self, fig: Any, name: str, *, caption: str | None = None) -> Any:
        """`save_figure` into this run; returns the figure, so a cell ending with this call shows it."""
        save_figure(fig, name, self.run_dir, caption=caption, notebook=self.notebook, case_id=self.case_id)
        return fig

    def save_document(self, content: str | bytes, name: str, *, format: str, caption: str) -> None:
        """`save_document` into this run."""
        save_document(content, name, self.run_dir, format=format, caption=caption, notebook=self.notebook, case_id=self.case_id)


def open_run(run_dir: str | os.PathLike | None, notebook: str, *, case_id: str | None = None, min_cell: int | None = None) -> RunContext:
    """Bind the run folder, notebook name, case and disclosure threshold for the output helpers.

    Parameters
    ----------
    run_dir : path or None
        The run folder (the ``run_dir`` notebook parameter). ``None`` or an
        empty string: write nothing.
    notebook : str
        Name of the calling notebook, e.g. ``"01_case_report"``.
    case_id : str, optional
        For per-case notebooks; prefixes every output name with the case.
    min_cell : int, optional
        The smallest count of people a published table shows. Default: the
        ``min_cell`` the run was started with (``ponzoni-eval run --min-cell``,
        read from the run's ``manifest.json``), else
        `ponzoni_eval.privacy.DEFAULT_MIN_CELL` (5).

    Examples
    --------
    >>> run = open_run(None, "01_case_report", case_id="slotervaart")
    >>> run.run_dir is None
    True
    """
    if not notebook or not isinstance(notebook, str):
        raise TypeError("open_run needs the notebook name, e.g. open_run(run_dir, '01_case_report')")
    if case_id is not None and not _CASE_PATTERN.match(str(case_id)):
        raise ValueError(f"case_id {case_id!r} cannot be part of a file name (letters, digits, '_', '.', '-')")
    folder = Path(run_dir) if run_dir else None
    if min_cell is None:
        min_cell = _run_min_cell(folder)
    if not isinstance(min_cell, int) or min_cell < 1:
        raise ValueError(f"min_cell must be a whole number of at least 1, not {min_cell!r}")
    return RunContext(folder, notebook, case_id, min_cell)


def _run_min_cell(run_dir: Path | None) -> int:
    """The ``min_cell`` recorded in a run's manifest (the run's parameter), else the default."""
    from .privacy import DEFAULT_MIN_CELL

    manifest = run_dir / "manifest.json" if run_dir is not None else None
    if manifest is None or not manifest.is_file():
        return DEFAULT_MIN_CELL
    try:
        recorded = json.loads(manifest.read_text(encoding="utf-8")).get("parameters", {}).get("min_cell")
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        return DEFAULT_MIN_CELL
    return recorded if isinstance(recorded, int) and recorded >= 1 else DEFAULT_MIN_CELL


def _output_stem(name: str, case_id: str | None) -> str:
    if not isinstance(name, str) or not _NAME_PATTERN.match(name):
        raise ValueError(f"output name {name!r} must be letters, digits and '_' (it becomes a file name)")
    return f"{case_id}-{name}" if case_id else name


def _claim_name(sidecar: Path, kind: str, notebook: str | None, case_id: str | None) -> None:
    """Refuse to overwrite an output that another notebook (or case) wrote under the same name."""
    if not sidecar.exists():
        return
    previous = json.loads(sidecar.read_text(encoding="utf-8"))
    if (previous.get("notebook"), previous.get("case_id")) != (notebook, case_id):
        raise ValueError(
            f"{kind} '{sidecar.stem}' was already written by notebook {previous.get('notebook')!r}"
            f" (case {previous.get('case_id')!r}); choose another name"
        )


def _write_sidecar(run_dir: Path, folder: str, stem: str, record: dict[str, Any]) -> None:
    _atomic_write_bytes(run_dir / folder / f"{stem}.json", _json_bytes(record))
    collect_outputs(run_dir)


def collect_outputs(run_dir: str | os.PathLike) -> dict[str, Any]:
    """Rebuild ``outputs.json`` from the sidecars of every table and figure in a run.

    Notebooks running in parallel each rebuild it after every save; the
    sidecars are the truth, and `run.run_pipeline` calls this once more at the
    end so the registry holds every output whatever the order of writes.

    Returns
    -------
    dict
        ``{"tables": [record, ...], "figures": [record, ...], "documents": [record, ...]}``,
        sorted by name.
    """
    run_dir = Path(run_dir)
    registry: dict[str, Any] = {}
    for kind, folder in (("tables", TABLES_DIR), ("figures", FIGURES_DIR), ("documents", DOCUMENTS_DIR)):
        records = []
        for sidecar in sorted((run_dir / folder).glob("*.json")):
            records.append(json.loads(sidecar.read_text(encoding="utf-8")))
        registry[kind] = records
    _atomic_write_bytes(run_dir / OUTPUTS_FILE, _json_bytes(registry))
    return registry


# --- tables -------------------------------------------------------------------------


def _table_for_writing(frame: "pd.DataFrame") -> "pd.DataFrame":
    """The frame as it is written: named index levels become columns, a plain index is dropped."""
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"save_table needs a pandas DataFrame, got {type(frame).__name__}")
    if any(level is not None for level in frame.index.names):
        frame = frame.reset_index()  # a groupby result keeps its keys
    columns = list(frame.columns)
    if not all(isinstance(column, str) for column in columns):
        raise TypeError(f"table column names must be text; found {columns!r} (flatten a MultiIndex first)")
    duplicated = sorted({column for column in columns if columns.count(column) > 1})
    if duplicated:
        raise ValueError(f"table has duplicate column names: {duplicated}")
    return frame.reset_index(drop=True)


def _csv_bytes(frame: "pd.DataFrame") -> bytes:
    # pandas writes floats with repr precision (shortest text that reads back to the same double),
    # so CSV and parquet hold the same numbers and two runs give the same bytes.
    text = frame.to_csv(index=False, lineterminator="\n", date_format="%Y-%m-%dT%H:%M:%S")
    return text.encode("utf-8")


def _parquet_bytes(frame: "pd.DataFrame") -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False, engine="pyarrow", compression="zstd")
    return buffer.getvalue()


def save_table(
    frame: "pd.DataFrame",
    name: str,
    run_dir: str | os.PathLike | None,
    *,
    caption: str | None = None,
    notebook: str | None = None,
    case_id: str | None = None,
    publish: bool | None = None,
    count_columns: Sequence[str] | None = None,
    derived: Mapping[str, str] | None = None,
    threshold: int | None = None,
    precision: str = "closed_form",
) -> "pd.DataFrame":
    """Write a result table to the run folder as CSV and parquet.

    Parameters
    ----------
    frame : DataFrame
        The table. Named index levels (e.g. after ``groupby``) are written as
        columns; an unnamed index is not written. Column order is kept.
    name : str
        File stem: letters, digits and ``_``.
    run_dir : path or None
        The run folder; ``None`` writes nothing (interactive use).
    caption : str, optional
        One line saying what the table shows; appears in the run's index.
    notebook, case_id : str, optional
        Recorded with the table; ``case_id`` prefixes the file name. Use
        `open_run` to bind them once.
    publish : bool or None
        A table of counts of people that leaves the research team: counts
        from 1 to ``threshold - 1`` in `count_columns` are suppressed by
        `ponzoni_eval.privacy.suppress_small_cells` (each gets a ``<column>_flag``
        column saying "<5"; percentages computed from them are blanked). What
        is shown and what is written are the same suppressed table. None (the
        default): suppress when the table is marked as counting people
        (`ponzoni_eval.privacy.mark_counts`: `quantitize.prevalence`,
        `stats.contingency_table`), so that those are never published
        unsuppressed by accident. False: write the table as it is.
    count_columns : list of str
        The columns that count people (default: those the mark names).
    derived : dict, optional
        Columns computed from a count, blanked with it (``{"percent":
        "n_with_code"}``): a percentage beside its denominator would give the
        suppressed count away. Default: those the mark names for the counted
        columns.
    threshold : int, optional
        The smallest count that is shown (default
        `ponzoni_eval.privacy.DEFAULT_MIN_CELL`, 5; a run's ``--min-cell``
        through `open_run`).
    precision : {"closed_form", "fitted"}
        How `ponzoni-eval verify` compares the table's float columns with a
        re-run: ``"closed_form"`` (the default) for formulas, equal to 1e-12
        relative; ``"fitted"`` for tables holding values from iterative fits
        (mixed models, count regressions, omega) or computed from them, equal
        to 1e-6 relative (see `ponzoni_eval.reproducibility`). Text and whole
        numbers are always compared exactly.

    Returns
    -------
    DataFrame
        The table as written (so a notebook cell can end with this call and
        show it).

    Notes
    -----
    CSV: UTF-8, ``\\n`` line ends, floats with repr precision (they read back
    to the identical double), missing values as empty fields. Parquet keeps
    the dtypes (zstd-compressed, written by pyarrow). For the same frame and
    library versions both files are the same bytes on every run, which is
    what `run.verify_run` and the committed reference run rely on.

    Examples
    --------
    >>> import pandas as pd
    >>> save_table(pd.DataFrame({"role": ["parent"], "n": [3]}), "sample", None)
         role  n
    0  parent  3
    """
    from .privacy import DEFAULT_MIN_CELL, marked_counts, suppress_small_cells

    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    threshold = DEFAULT_MIN_CELL if threshold is None else threshold
    table = _table_for_writing(frame)
    mark = marked_counts(table) or {}
    if publish is None:
        publish = bool(mark) or bool(count_columns)
    if publish:
        if count_columns:
            # Named columns win; the mark's derived columns of those counts still go with them.
            marked_derived = {c: source for c, source in (mark.get("derived") or {}).items() if source in count_columns}
            mark = {"count_columns": list(count_columns), "derived": dict(derived) if derived else marked_derived, "margins": None}
        if not mark:
            raise TypeError("save_table(..., publish=True) needs count_columns: the columns that count people")
        count_columns = mark["count_columns"]
        derived = mark["derived"]
        table = suppress_small_cells(table, count_columns=count_columns, threshold=threshold, derived=derived, margins=mark["margins"])
    if run_dir is None or str(run_dir) == "":
        return table
    run_dir = Path(run_dir)
    stem = _output_stem(name, case_id)
    sidecar = run_dir / TABLES_DIR / f"{stem}.json"
    _claim_name(sidecar, "table", notebook, case_id)
    csv_data, parquet_data = _csv_bytes(table), _parquet_bytes(table)
    _atomic_write_bytes(run_dir / TABLES_DIR / f"{stem}.csv", csv_data)
    _atomic_write_bytes(run_dir / TABLES_DIR / f"{stem}.parquet", parquet_data)
    record = {
        "name": stem,
        "kind": "table",
        "caption": caption,
        "notebook": notebook,
        "case_id": case_id,
        "rows": int(len(table)),
        "columns": list(table.columns),
        "files": {
            "csv": f"{TABLES_DIR}/{stem}.csv",
            "parquet": f"{TABLES_DIR}/{stem}.parquet",
        },
        "sha256": {"csv": _sha256(csv_data), "parquet": _sha256(parquet_data)},
        "precision": precision,
        "suppressed": (
            {"count_columns": list(count_columns), "threshold": threshold, **({"derived": dict(derived)} if derived else {})}
            if publish
            else None
        ),
    }
    _write_sidecar(run_dir, TABLES_DIR, stem, record)
    return table


# --- figures ------------------------------------------------------------------------


def _figure_bytes(fig: "Figure", kind: str, *, styled: bool = False) -> bytes:
    import matplotlib

    buffer = io.BytesIO()
    with contextlib.ExitStack() as stack:
        if styled:
            # A package figure is saved in the style it was drawn in (fonts, white background).
            from .plots import theme

            stack.enter_context(theme())
        if kind == "svg":
            # Without a fixed salt and without the Date field, every SVG differs from the last.
            with matplotlib.rc_context({"svg.hashsalt": _SVG_HASHSALT}):
                fig.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
        else:
            # Agg writes no time into PNG files; only 'Software' (the matplotlib version) is kept.
            fig.savefig(buffer, format="png", dpi=_PNG_DPI, bbox_inches="tight")
    return buffer.getvalue()


def _figure_and_caption(fig: Any, caption: str | None, name: str) -> tuple["Figure", str, bool]:
    """The matplotlib figure, its caption and whether it is a package figure (`ponzoni_eval.plots.Figure`)."""
    package_figure = hasattr(fig, "fig") and isinstance(getattr(fig, "caption", None), str)
    if package_figure:
        caption = fig.caption if caption is None else caption
        fig = fig.fig
    if not isinstance(caption, str) or not caption.strip():
        raise ValueError(f"figure {name!r} needs a caption: one sentence saying what it shows (used as alt text)")
    return fig, caption, package_figure


def save_figure(
    fig: Any,
    name: str,
    run_dir: str | os.PathLike | None,
    *,
    caption: str | None = None,
    notebook: str | None = None,
    case_id: str | None = None,
) -> None:
    """Write a figure to the run folder as PNG and SVG, with its caption as alt text.

    Parameters
    ----------
    fig : `ponzoni_eval.plots.Figure` or matplotlib Figure
        A package figure brings its own caption (generated from the data);
        it is saved in the package style (`ponzoni_eval.plots.theme`).
    name : str
        File stem: letters, digits and ``_``.
    run_dir : path or None
        The run folder; ``None`` writes nothing (interactive use).
    caption : str, optional
        What the figure shows, in words; required for a plain matplotlib
        figure (and replaces a package figure's own caption when given),
        because it is the alt text in the HTML index for readers who cannot
        see the figure.
    notebook, case_id : str, optional
        Recorded with the figure; ``case_id`` prefixes the file name.

    Notes
    -----
    Both files are deterministic for the same figure and library versions:
    the SVG is written with a fixed ``svg.hashsalt`` and without the
    ``Date`` metadata, the PNG (Agg) carries no time stamp.
    """
    fig, caption, styled = _figure_and_caption(fig, caption, name)
    if run_dir is None or str(run_dir) == "":
        return
    run_dir = Path(run_dir)
    stem = _output_stem(name, case_id)
    sidecar = run_dir / FIGURES_DIR / f"{stem}.json"
    _claim_name(sidecar, "figure", notebook, case_id)
    files, checksums = {}, {}
    for kind in ("png", "svg"):
        data = _figure_bytes(fig, kind, styled=styled)
        relative = f"{FIGURES_DIR}/{stem}.{kind}"
        _atomic_write_bytes(run_dir / relative, data)
        files[kind], checksums[kind] = relative, _sha256(data)
    record = {
        "name": stem,
        "kind": "figure",
        "caption": caption.strip(),
        "notebook": notebook,
        "case_id": case_id,
        "files": files,
        "sha256": checksums,
    }
    _write_sidecar(run_dir, FIGURES_DIR, stem, record)


# --- documents ----------------------------------------------------------------------


def save_document(
    content: str | bytes,
    name: str,
    run_dir: str | os.PathLike | None,
    *,
    format: str,
    caption: str,
    notebook: str | None = None,
    case_id: str | None = None,
) -> None:
    """Write a finished document (HTML page, Markdown, Excel workbook) to the run folder.

    For outputs that are documents rather than tables or figures, such as the
    joint display rendered by `ponzoni_eval.integrate.to_html`, ``to_markdown``
    and ``to_xlsx``. They are listed in ``outputs.json`` and in the run's
    ``index.html`` like tables and figures.

    Parameters
    ----------
    content : str or bytes
        The document; text is written as UTF-8.
    name : str
        File stem: letters, digits and ``_``; the file is
        ``documents/<name>.<format>``.
    run_dir : path or None
        The run folder; ``None`` writes nothing (interactive use).
    format : {"html", "md", "xlsx", "csv", "txt"}
        The file's format and suffix. Several formats of one document share
        its name (``joint_display.html``, ``joint_display.xlsx``).
    caption : str
        One line saying what the document holds; shown in the index.
    notebook, case_id : str, optional
        Recorded with the document; ``case_id`` prefixes the file name.

    Notes
    -----
    Written atomically. The bytes are whatever the caller made: a document is
    reproducible when its writer is (``integrate.to_xlsx`` fixes the zip
    time stamps for that reason).
    """
    if format not in DOCUMENT_FORMATS:
        raise ValueError(f"document format must be one of {DOCUMENT_FORMATS}, got {format!r}")
    if not isinstance(caption, str) or not caption.strip():
        raise ValueError(f"document {name!r} needs a caption: one line saying what it holds")
    if isinstance(content, str):
        data = content.encode("utf-8")
    elif isinstance(content, (bytes, bytearray)):
        data = bytes(content)
    else:
        raise TypeError(f"a document is text or bytes, got {type(content).__name__}")
    if run_dir is None or str(run_dir) == "":
        return
    run_dir = Path(run_dir)
    stem = f"{_output_stem(name, case_id)}.{format}"
    sidecar = run_dir / DOCUMENTS_DIR / f"{stem}.json"
    _claim_name(sidecar, "document", notebook, case_id)
    relative = f"{DOCUMENTS_DIR}/{stem}"
    _atomic_write_bytes(run_dir / relative, data)
    record = {
        "name": stem,
        "kind": "document",
        "format": format,
        "caption": caption.strip(),
        "notebook": notebook,
        "case_id": case_id,
        "files": {format: relative},
        "sha256": {format: _sha256(data)},
    }
    _write_sidecar(run_dir, DOCUMENTS_DIR, stem, record)


# --- the synthetic-data banner ------------------------------------------------------

_BANNER_TEXT = {
    "en": (
        "SYNTHETIC EXAMPLE DATA — not findings",
        "These numbers come from the package's generated example data set. They show how the analysis works "
        "and say nothing about Slotervaart, Poelenburg or any real person.",
    ),
    "nl": (
        "SYNTHETISCHE VOORBEELDDATA — geen bevindingen",
        "Deze getallen komen uit de gegenereerde voorbeelddata van het pakket. Ze laten zien hoe de analyse "
        "werkt en zeggen niets over Slotervaart, Poelenburg of echte personen.",
    ),
}


@dataclass(frozen=True)
class Banner:
    """A notice shown in a notebook as HTML and in plain text elsewhere (IPython display protocol)."""

    title: str
    text: str

    def _repr_html_(self) -> str:
        return (
            '<div class="ponzoni-synthetic-banner" role="note" style="border:3px solid #b00020;'
            "background:#fff3f3;color:#b00020;padding:0.8em 1em;margin:0.5em 0;font-size:1.1em;"
            'font-family:sans-serif"><strong style="font-size:1.3em">'
            f"{html.escape(self.title)}</strong><br>{html.escape(self.text)}</div>"
        )

    def __repr__(self) -> str:
        return f"{self.title}\n{self.text}"


def _check_language(language: str) -> None:
    if language not in _BANNER_TEXT:
        raise ValueError(f"language must be one of {sorted(_BANNER_TEXT)}, got {language!r}")


def is_synthetic(processed_dir: str | os.PathLike) -> bool:
    """Whether the processed data set says it is synthetic (``"synthetic": true`` in its manifest).

    The flag is read from the top level of ``manifest.json`` or from its
    ``"dataset"`` entry (where `prepare` copies ``dataset.toml``).
    """
    manifest_path = Path(processed_dir) / "manifest.json"
    if not manifest_path.is_file():
        raise DataError(
            "no processed data here; run `ponzoni-eval prepare DATA_DIR` first",
            file=str(manifest_path),
            expected="manifest.json written by prepare",
        )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"manifest is not valid JSON ({exc.msg})", file=str(manifest_path), row=exc.lineno) from None
    dataset = manifest.get("dataset") if isinstance(manifest.get("dataset"), Mapping) else {}
    return bool(manifest.get("synthetic", False) or dataset.get("synthetic", False))


def synthetic_banner(processed_dir: str | os.PathLike, *, language: str = "en") -> Banner | None:
    """A red "SYNTHETIC EXAMPLE DATA — not findings" banner when the data are synthetic.

    Put it as the last line of the first code cell of every report; it shows
    in the notebook, in both HTML versions and in the run index. For real
    data it returns ``None`` (the cell shows nothing).

    Parameters
    ----------
    processed_dir : path
        Folder with the processed tables and ``manifest.json``.
    language : {"en", "nl"}
    """
    _check_language(language)
    if not is_synthetic(processed_dir):
        return None
    return Banner(*_BANNER_TEXT[language])


# --- numbers in words -----------------------------------------------------------------

_WORDS = {
    "en": {
        "decimal": ".",
        "ci": "{level}% CI {low} to {high}",
        "rose": "{label} rose from {before} to {after}",
        "fell": "{label} fell from {before} to {after}",
        "same": "{label} stayed at {before}",
        "not_tested": "{label}: not tested",
        "group_not_tested": "{name} not tested",
        "range": "{label} ranged from {low} ({low_where}) to {high} ({high_where}) over {n} estimates",
        "single": "{label} was {value} ({where})",
        "no_estimates": "{label}: no estimates",
        "below": "; {k} of them below {threshold}",
        "share": "{label} was mentioned by {n} of {total} interviewed participants ({percent}%)",
        "share_suppressed": "{label} was mentioned by fewer than {threshold} of {total} interviewed participants",
        "tally": "{label}: {parts} (n = {n})",
    },
    "nl": {
        "decimal": ",",
        "ci": "{level}%-BI {low} tot {high}",
        "rose": "{label} steeg van {before} naar {after}",
        "fell": "{label} daalde van {before} naar {after}",
        "same": "{label} bleef op {before}",
        "not_tested": "{label}: niet getoetst",
        "group_not_tested": "{name} niet getoetst",
        "range": "{label} liep uiteen van {low} ({low_where}) tot {high} ({high_where}) over {n} schattingen",
        "single": "{label} was {value} ({where})",
        "no_estimates": "{label}: geen schattingen",
        "below": "; {k} daarvan onder {threshold}",
        "share": "{label} werd genoemd door {n} van de {total} geïnterviewde deelnemers ({percent}%)",
        "share_suppressed": "{label} werd genoemd door minder dan {threshold} van de {total} geïnterviewde deelnemers",
        "tally": "{label}: {parts} (n = {n})",
    },
}


def _words(language: str) -> dict[str, str]:
    if language not in _WORDS:
        raise ValueError(f"language must be one of {sorted(_WORDS)}, got {language!r}")
    return _WORDS[language]


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(math.isnan(float(value)))
    except (TypeError, ValueError):
        return str(value) in {"", "<NA>", "nan"}


def format_number(value: float, digits: int = 2, *, language: str = "en", leading_zero: bool = True) -> str:
    """A number rounded to `digits` decimals, with the language's decimal mark.

    ``leading_zero=False`` drops the zero before the decimal mark, as APA style
    does for values that cannot exceed 1 (p-values, correlations).

    Examples
    --------
    >>> format_number(0.8967, 1)
    '0.9'
    >>> format_number(-0.25, 2, language="nl", leading_zero=False)
    '-,25'
    """
    decimal = _words(language)["decimal"]
    text = f"{float(value):.{digits}f}"
    if text.startswith("-") and float(text) == 0:
        text = text[1:]  # no "-0.0"
    if not leading_zero:
        text = re.sub(r"^(-?)0\.", r"\1.", text)
    return text.replace(".", decimal)


def format_p(p: float, *, language: str = "en") -> str:
    """A p-value in APA style: three decimals, no leading zero, ``p < .001`` below .001.

    Examples
    --------
    >>> format_p(0.0031)
    'p = .003'
    >>> format_p(0.00002)
    'p < .001'
    >>> format_p(0.04, language="nl")
    'p = ,040'
    """
    if _missing(p):
        raise ValueError("format_p needs a p-value, got a missing value")
    p = float(p)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"a p-value lies between 0 and 1, got {p}")
    if p < 0.001:
        return f"p < {format_number(0.001, 3, language=language, leading_zero=False)}"
    if p > 0.999:
        return f"p > {format_number(0.999, 3, language=language, leading_zero=False)}"
    return f"p = {format_number(p, 3, language=language, leading_zero=False)}"


def format_ci(low: float, high: float, digits: int = 2, *, level: int = 95, language: str = "en") -> str:
    """A confidence interval in words: ``95% CI 0.40 to 1.40``.

    Examples
    --------
    >>> format_ci(0.4, 1.4, 1)
    '95% CI 0.4 to 1.4'
    """
    words = _words(language)
    return words["ci"].format(
        level=level,
        low=format_number(low, digits, language=language),
        high=format_number(high, digits, language=language),
    )


def _label(row: Mapping[str, Any], label: str | None) -> str:
    if label:
        return label
    outcome = str(row.get("outcome") or "result").replace("_", " ")
    return outcome[:1].upper() + outcome[1:]


def _statistics_clause(row: Mapping[str, Any], digits: int, language: str, p_column: str) -> str:
    """``g_av = 0.9, 95% CI 0.4 to 1.4, p = .003, n = 14``; parts that are missing are left out."""
    parts = []
    if not _missing(row.get("effect_size")):
        name = row.get("effect_name") if not _missing(row.get("effect_name")) else "effect"
        parts.append(f"{name} = {format_number(row['effect_size'], digits, language=language)}")
        if not _missing(row.get("ci_low")) and not _missing(row.get("ci_high")):
            parts.append(format_ci(row["ci_low"], row["ci_high"], digits, language=language))
    if not _missing(row.get(p_column)):
        parts.append(format_p(row[p_column], language=language))
    if not _missing(row.get("n")):
        parts.append(f"n = {int(row['n'])}")
    return ", ".join(parts)


def _note_clause(row: Mapping[str, Any]) -> str:
    note = row.get("note")
    return "" if _missing(note) else f" ({note})"


def describe_change(
    row: Mapping[str, Any],
    *,
    before: float,
    after: float,
    label: str | None = None,
    digits: int = 1,
    language: str = "en",
    p_column: str = "p_value",
) -> str:
    """One sentence for a change between two waves, from a result row and the two means.

    Parameters
    ----------
    row : mapping
        One row in the standard result shape (a ``Series`` or ``dict``):
        ``outcome, n, p_value, effect_size, effect_name, ci_low, ci_high, note``.
    before, after : float
        The mean (or median) at the two waves, on the scale's own units.
    label : str, optional
        What changed, as the sentence should name it; default: the outcome
        with ``_`` as spaces, capitalised.
    digits : int
        Decimals for the means, the effect size and its CI (p-values always
        get three).
    language : {"en", "nl"}
    p_column : {"p_value", "p_adjusted"}
        Which p-value to report.

    Returns
    -------
    str
        The sentence, without a final full stop, so it can sit inside a longer one.

    Notes
    -----
    The direction word compares the two means as they are shown (rounded to
    `digits`), so the sentence never says "rose from 2.8 to 2.8". When the
    test could not be run (no effect size and no p-value) the row's ``note``
    says why.

    Examples
    --------
    >>> row = {"outcome": "trust", "n": 14, "p_value": 0.0031, "effect_size": 0.9,
    ...        "effect_name": "g_av", "ci_low": 0.4, "ci_high": 1.4, "note": None}
    >>> describe_change(row, before=2.81, after=3.66)
    'Trust rose from 2.8 to 3.7 (g_av = 0.9, 95% CI 0.4 to 1.4, p = .003, n = 14)'
    >>> describe_change(row, before=2.81, after=3.66, label="Vertrouwen", language="nl")
    'Vertrouwen steeg van 2,8 naar 3,7 (g_av = 0,9, 95%-BI 0,4 tot 1,4, p = ,003, n = 14)'
    """
    words = _words(language)
    shown_before = format_number(before, digits, language=language)
    shown_after = format_number(after, digits, language=language)
    if shown_before == shown_after:
        direction = "same"
    else:
        direction = "rose" if round(float(after), digits) > round(float(before), digits) else "fell"
    sentence = words[direction].format(label=_label(row, label), before=shown_before, after=shown_after)
    statistics = _statistics_clause(row, digits, language, p_column)
    if statistics:
        sentence += f" ({statistics})"
    return sentence + _note_clause(row)


def describe_result(
    row: Mapping[str, Any],
    *,
    label: str | None = None,
    digits: int = 2,
    language: str = "en",
    p_column: str = "p_value",
) -> str:
    """One sentence for any row in the standard result shape.

    ``Perception gap (role=professional): d_z = 0.85, 95% CI 0.20 to 1.50,
    p = .012, n = 12 (exact).`` The ``group`` is added in brackets when the
    row has one; the ``note`` at the end. A row that could not be tested
    reads ``<label>: not tested (<note>).``

    Examples
    --------
    >>> describe_result({"outcome": "help_seeking", "group": "", "n": 3, "note": "n too small"})
    'Help seeking: not tested (n too small).'
    """
    words = _words(language)
    name = _label(row, label)
    if not _missing(row.get("group")):
        name += f" ({row['group']})"
    statistics = _statistics_clause(row, digits, language, p_column)
    has_test = not (_missing(row.get("effect_size")) and _missing(row.get(p_column)))
    if not has_test:
        return words["not_tested"].format(label=name) + _note_clause(row) + "."
    return f"{name}: {statistics}{_note_clause(row)}."


def describe_results(frame: "pd.DataFrame", **options: Any) -> list[str]:
    """`describe_result` for every row of a result frame (results are small; one sentence each)."""
    return [describe_result(row, **options) for row in frame.to_dict(orient="records")]


def _where(row: Mapping[str, Any], columns: Sequence[str], names: Mapping[str, str] | None) -> str:
    """The values of `columns` in a row, as a reader should see them (``trust, t2``)."""
    names = names or {}
    values = ["" if _missing(row.get(column)) else str(row[column]) for column in columns]
    return ", ".join(names.get(value, value) for value in values if value)


def describe_by(
    frame: "pd.DataFrame",
    *,
    by: str | Sequence[str],
    label: str,
    names: Mapping[str, str] | None = None,
    digits: int = 2,
    language: str = "en",
    p_column: str = "p_value",
) -> str:
    """One sentence for several result rows: the label, then each group's numbers.

    ``Trust change t0->t2: Slotervaart change = 0.65, 95% CI 0.34 to 0.96,
    p < .001, n = 32; Poelenburg B change = 0.25, ... .`` A row that could not
    be tested reads ``<group> not tested``. Use it where a section reports
    the same result for a few groups (cases, roles); for many rows see
    `describe_range`.

    Parameters
    ----------
    frame : DataFrame
        Rows in the standard result shape, in the order to report them.
    by : str or list of str
        Column(s) that name each row's group.
    label : str
        What the numbers are, as the sentence should open.
    names : mapping, optional
        Display names of group values (``{"poelenburg_a": "Poelenburg A"}``).
    digits, language, p_column
        As in `describe_result`.

    Examples
    --------
    >>> import pandas as pd
    >>> rows = [{"case_id": "a", "n": 12, "p_value": 0.01, "effect_size": 0.5, "effect_name": "change",
    ...          "ci_low": 0.1, "ci_high": 0.9}, {"case_id": "b", "n": 2, "note": "n too small"}]
    >>> describe_by(pd.DataFrame(rows), by="case_id", label="Trust change", digits=1)
    'Trust change: a change = 0.5, 95% CI 0.1 to 0.9, p = .010, n = 12; b not tested.'
    """
    words = _words(language)
    columns = [by] if isinstance(by, str) else list(by)
    parts = []
    for row in frame.to_dict(orient="records"):
        name = _where(row, columns, names)
        statistics = _statistics_clause(row, digits, language, p_column)
        has_test = not (_missing(row.get("effect_size")) and _missing(row.get(p_column)))
        parts.append(f"{name} {statistics}" if has_test else words["group_not_tested"].format(name=name))
    if not parts:
        return words["no_estimates"].format(label=label) + "."
    return f"{label}: " + "; ".join(parts) + "."


def describe_range(
    frame: "pd.DataFrame",
    *,
    by: str | Sequence[str],
    label: str,
    names: Mapping[str, str] | None = None,
    threshold: float | None = None,
    digits: int = 2,
    language: str = "en",
) -> str:
    """One sentence for many estimates: the smallest and the largest, and how many fall short.

    ``Cronbach's alpha ranged from 0.71 (trust, t2) to 0.94 (feeling judged,
    t0) over 21 estimates; 0 of them below 0.70.`` Rows without an
    ``effect_size`` (not estimated) are left out of the count.

    Parameters
    ----------
    frame : DataFrame
        Rows with ``effect_size`` and the `by` columns.
    by : str or list of str
        Column(s) that say where an estimate comes from.
    label : str
        What the estimates are.
    names : mapping, optional
        Display names of the `by` values.
    threshold : float, optional
        Also count the estimates below this value (e.g. .70 for alpha).
    digits, language
        As in `describe_result`.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"outcome": ["trust", "safe_space", "trust"], "group": ["t0", "t1", "t2"],
    ...                       "effect_size": [0.84, 0.66, float("nan")]})
    >>> describe_range(frame, by=["outcome", "group"], label="Alpha", threshold=0.7)
    'Alpha ranged from 0.66 (safe_space, t1) to 0.84 (trust, t0) over 2 estimates; 1 of them below 0.70.'
    """
    words = _words(language)
    columns = [by] if isinstance(by, str) else list(by)
    estimated = frame.loc[frame["effect_size"].notna()]
    if estimated.empty:
        return words["no_estimates"].format(label=label) + "."
    low = estimated.loc[estimated["effect_size"].idxmin()]
    high = estimated.loc[estimated["effect_size"].idxmax()]
    if len(estimated) == 1:
        sentence = words["single"].format(
            label=label, value=format_number(low["effect_size"], digits, language=language), where=_where(low, columns, names)
        )
    else:
        sentence = words["range"].format(
            label=label,
            low=format_number(low["effect_size"], digits, language=language),
            low_where=_where(low, columns, names),
            high=format_number(high["effect_size"], digits, language=language),
            high_where=_where(high, columns, names),
            n=len(estimated),
        )
    if threshold is not None:
        below = int((estimated["effect_size"] < threshold).sum())
        sentence += words["below"].format(k=below, threshold=format_number(threshold, digits, language=language))
    return sentence + "."


def describe_share(
    label: str,
    n: float | None,
    total: float,
    *,
    threshold: int = 5,
    language: str = "en",
) -> str:
    """How many interviewed participants mentioned a theme, without revealing a suppressed count.

    Parameters
    ----------
    label : str
        The theme or code as the sentence should name it.
    n : int or None
        Participants who mentioned it; missing when the count was suppressed
        (`ponzoni_eval.privacy.suppress_small_cells`), and then the sentence
        says only "fewer than `threshold`".
    total : int
        Interviewed participants (the denominator).
    threshold : int
        The suppression threshold the table was published with.
    language : {"en", "nl"}

    Examples
    --------
    >>> describe_share("Growing trust", 12, 24)
    'Growing trust was mentioned by 12 of 24 interviewed participants (50%)'
    >>> describe_share("Growing trust", None, 24)
    'Growing trust was mentioned by fewer than 5 of 24 interviewed participants'
    """
    words = _words(language)
    if _missing(n):
        return words["share_suppressed"].format(label=label, threshold=threshold, total=int(total))
    percent = format_number(100 * float(n) / float(total), 0, language=language) if total else "–"
    return words["share"].format(label=label, n=int(n), total=int(total), percent=percent)


def describe_tally(values: Sequence[Any], *, label: str, names: Mapping[str, str] | None = None, order: Sequence[str] | None = None, language: str = "en") -> str:
    """How often each label occurs, in one sentence: ``Fit: agreement 6, silence 4 (n = 10).``

    Parameters
    ----------
    values : sequence
        The labels, one per unit (e.g. the ``fit_label`` column of a joint display).
    label : str
        What is counted.
    names : mapping, optional
        Display names of the labels.
    order : sequence of str, optional
        The order to list labels in (labels not in it follow, by count); labels
        in it that never occur are left out.
    language : {"en", "nl"}

    Examples
    --------
    >>> describe_tally(["silence", "agreement", "agreement"], label="Fit", order=["agreement", "dissonance", "silence"])
    'Fit: agreement 2, silence 1 (n = 3).'
    """
    import pandas as pd

    words = _words(language)
    counts = pd.Series(list(values), dtype="object").dropna().astype(str).value_counts(sort=True)
    known = [value for value in (order or []) if value in counts.index]
    listed = known + [value for value in counts.index if value not in known]
    names = names or {}
    parts = ", ".join(f"{names.get(value, value)} {int(counts[value])}" for value in listed)
    return words["tally"].format(label=label, parts=parts or "–", n=int(counts.sum())) + "."
