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
import html
import io
import json
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ponzoni_eval._core.files import atomic_write_bytes, csv_bytes, json_bytes, sha256_bytes
from ponzoni_eval._core.reproducibility import PRECISIONS
from ponzoni_eval._core.run_folder import (
    collect_outputs,
    DOCUMENTS_DIR,
    FIGURES_DIR,
    is_synthetic,
    TABLES_DIR,
)
from ponzoni_eval._core.words import check_language, term, terms
from ponzoni_eval.privacy.suppress import CountRules, DEFAULT_MIN_CELL
from ponzoni_eval.report.document import NOTEBOOK_TITLES, ReportItem, ReportMeta, ReportTable, render_report
from ponzoni_eval.report.publishing import MAIN_TABLE, published, Section
from ponzoni_eval.report.plots import theme

if TYPE_CHECKING:  # pragma: no cover - typing only; kept out of light imports
    from matplotlib.figure import Figure
    import pandas as pd

__all__ = [
    "RunContext",
    "open_run",
    "save_table",
    "save_figure",
    "save_document",
    "synthetic_banner",
    "write_report",
    "DOCUMENT_FORMATS",
    "REPORT_DIR",
]


DOCUMENT_FORMATS = ("html", "md", "xlsx", "csv", "txt")
"""File formats `save_document` writes (the file name's suffix)."""

_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]*$")
_CASE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")  # schema.ID_PATTERN

# A fixed salt makes the ids matplotlib writes into SVG files the same on every run.
_SVG_HASHSALT = "ponzoni_eval"
_PNG_DPI = 150


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
    items: list[ReportItem] = field(default_factory=list, compare=False, repr=False)
    """What the notebook saved, in order: the parts of its report (`write_report`)."""

    def save_table(self, frame: "pd.DataFrame", name: str, *, caption: str | None = None, **publishing: Any) -> "pd.DataFrame":
        """`save_table` into this run (``publish=``, ``count_columns=``, ``derived=``, ``threshold=``, ``precision=`` as there); returns the table as written.

        Small counts are suppressed below the run's `min_cell` unless ``threshold=`` says otherwise.
        """
        if self.min_cell is not None:
            publishing.setdefault("threshold", self.min_cell)
        table = save_table(frame, name, self.run_dir, caption=caption, notebook=self.notebook, case_id=self.case_id, **publishing)
        if self.run_dir is not None:
            self.items.append(ReportItem(name, tables=(self._report_table(name, table, caption),)))
        return table

    def save_section(self, section: Section) -> Section:
        """Save a report section in one call: its tables published by their own rules, the figure drawn from them.

        Every table with a spec (`ponzoni_eval.report.publishing.TableSpec`)
        is suppressed first (counts of people below this run's `min_cell`),
        then the figure is drawn from those published tables (the section's
        ``draw``), then tables and figure are written, each table with its
        caption and precision class.

        Returns
        -------
        Section
            The section as published: suppressed tables, the figure drawn from
            them, the sentence. A notebook cell can show its parts.
        """
        if not isinstance(section, Section):
            raise TypeError(f"save_section needs a report Section, got {type(section).__name__}")
        min_cell = DEFAULT_MIN_CELL if self.min_cell is None else self.min_cell
        frames = published(section, min_cell)
        figure = section.draw(frames, min_cell) if section.draw is not None else section.figure
        for key, spec in section.specs.items():
            # save_table applies the same rules to the section's own table, so what is written is what was drawn.
            frames[key] = save_table(
                section.frame(key), spec.name, self.run_dir, caption=spec.caption_for(min_cell), notebook=self.notebook,
                case_id=self.case_id, counts=spec.counts, threshold=min_cell, precision=spec.precision,
            )
        if section.figure_name is not None and figure is not None:
            save_figure(figure, section.figure_name, self.run_dir, notebook=self.notebook, case_id=self.case_id)
        if self.run_dir is not None:
            ordered = [key for key in section.specs if key == MAIN_TABLE] + [key for key in section.specs if key != MAIN_TABLE]
            tables = tuple(self._report_table(section.specs[key].name, frames[key], section.specs[key].caption_for(min_cell)) for key in ordered)
            png, caption = self._figure_png(section.figure_name) if section.figure_name is not None and figure is not None else (None, None)
            self.items.append(ReportItem(section.specs[MAIN_TABLE].name if MAIN_TABLE in section.specs else (section.figure_name or "section"),
                                         sentence=section.sentence, tables=tables, figure_png=png, figure_caption=caption))
        return section.with_tables(frames, figure)

    def _stem(self, name: str) -> str:
        return _output_stem(name, self.case_id)

    def _report_table(self, name: str, table: "pd.DataFrame", caption: str | None) -> ReportTable:
        stem = self._stem(name)
        sidecar = json.loads((self.run_dir / TABLES_DIR / f"{stem}.json").read_text(encoding="utf-8"))
        return ReportTable(name, f"{TABLES_DIR}/{stem}.csv", caption or "", table, sidecar.get("suppressed"))

    def _figure_png(self, name: str) -> tuple[bytes | None, str | None]:
        stem = self._stem(name)
        png = self.run_dir / FIGURES_DIR / f"{stem}.png"
        sidecar = json.loads((self.run_dir / FIGURES_DIR / f"{stem}.json").read_text(encoding="utf-8"))
        return png.read_bytes(), sidecar.get("caption")

    def save_figure(self, fig: Any, name: str, *, caption: str | None = None) -> Any:
        """`save_figure` into this run; returns the figure, so a cell ending with this call shows it."""
        save_figure(fig, name, self.run_dir, caption=caption, notebook=self.notebook, case_id=self.case_id)
        if self.run_dir is not None:
            png, shown = self._figure_png(name)
            self.items.append(ReportItem(name, figure_png=png, figure_caption=shown))
        return fig

    def save_document(self, content: str | bytes, name: str, *, format: str, caption: str) -> None:
        """`save_document` into this run."""
        save_document(content, name, self.run_dir, format=format, caption=caption, notebook=self.notebook, case_id=self.case_id)
        if self.run_dir is not None:
            link = (name, caption, f"{DOCUMENTS_DIR}/{self._stem(name)}.{format}")
            if self.items:
                self.items[-1] = replace(self.items[-1], documents=(*self.items[-1].documents, link))
            else:
                self.items.append(ReportItem(name, documents=(link,)))

    def write_report(self, tables: Mapping[str, "pd.DataFrame"] | None = None, *, processed_dir: str | os.PathLike | None = None,
                     language: str = "en", title: str | None = None) -> Path | None:
        """Write the report of this notebook (``html/<notebook>[-<case>].html``): what it saved, for readers without code.

        Call it in the notebook's last cell. The title page names the case (``cases.name``), the period of
        the survey answers and the data set; the synthetic-data banner appears when the processed data are
        synthetic. The tables saved by the notebook go to one Excel workbook as well
        (``documents/<notebook>[-<case>]-tables.xlsx``, full precision). Nothing is written without a run
        folder (returns None).
        """
        return write_report(self, tables, processed_dir=processed_dir, language=language, title=title)


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
    if folder is not None:
        _warnings_to_log(folder, f"{notebook}-{case_id}" if case_id else notebook)
    return RunContext(folder, notebook, case_id, min_cell)


LOGS_DIR = "logs"
"""Where a run's notebooks log the Python warnings they raise (``logs/<notebook>[-<case>].log``)."""


def _warnings_to_log(run_dir: Path, stem: str) -> None:
    """Python warnings of this notebook go to the run's log, not into its pages.

    A warning printed in a cell's output (with the absolute path of the module that raised it) would
    appear in the notebook's HTML; in a report run it is written to ``logs/<stem>.log`` instead, where
    the person running the analysis looks (`logging.captureWarnings`).
    """
    import logging

    logger = logging.getLogger("py.warnings")
    for handler in [h for h in logger.handlers if getattr(h, "ponzoni_eval_run", False)]:
        logger.removeHandler(handler)
        handler.close()
    handler = logging.FileHandler(run_dir / LOGS_DIR / f"{stem}.log", encoding="utf-8", delay=True)
    (run_dir / LOGS_DIR).mkdir(parents=True, exist_ok=True)
    handler.ponzoni_eval_run = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    logger.addHandler(handler)
    logger.propagate = False
    logging.captureWarnings(True)


def _run_min_cell(run_dir: Path | None) -> int:
    """The ``min_cell`` recorded in a run's manifest (the run's parameter), else the default."""
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
    atomic_write_bytes(run_dir / folder / f"{stem}.json", json_bytes(record))
    collect_outputs(run_dir)


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
    # Text a spreadsheet would run as a formula gets a leading apostrophe (the one writer layer, issue 19).
    return csv_bytes(frame, date_format="%Y-%m-%dT%H:%M:%S")


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
    counts: CountRules | None = None,
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
        default): suppress when `counts` or `count_columns` is given. False:
        write the table as it is. Report sections declare their rules
        themselves; save them with `RunContext.save_section`.
    count_columns : list of str
        The columns that count people.
    derived : dict, optional
        Columns computed from a count, blanked with it (``{"percent":
        "n_with_code"}``): a percentage beside its denominator would give the
        suppressed count away.
    counts : `ponzoni_eval.privacy.CountRules`, optional
        The same rules as one object (count columns, derived columns, margins
        for secondary suppression); replaces `count_columns` and `derived`.
    threshold : int, optional
        The smallest count that is shown (default
        `ponzoni_eval.privacy.DEFAULT_MIN_CELL`, 5; a run's ``--min-cell``
        through `open_run`).
    precision : {"closed_form", "fitted"}
        How `ponzoni-eval verify` compares the table's float columns with a
        re-run: ``"closed_form"`` (the default) for formulas, equal to 1e-12
        relative; ``"fitted"`` for tables holding values from iterative fits
        (mixed models, count regressions, omega) or computed from them, equal
        to 1e-6 relative (see `ponzoni_eval._core.reproducibility`). Text and whole
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
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    threshold = DEFAULT_MIN_CELL if threshold is None else threshold
    table = _table_for_writing(frame)
    if publish is None:
        publish = counts is not None or bool(count_columns)
    rules = None
    if publish:
        if counts is not None:
            rules = counts
        elif count_columns:
            rules = CountRules(list(count_columns), derived=dict(derived or {}))
        else:
            raise TypeError("save_table(..., publish=True) needs count_columns (or counts=CountRules(...)): the columns that count people")
        table = rules.apply(table, threshold=threshold)
    if run_dir is None or str(run_dir) == "":
        return table
    run_dir = Path(run_dir)
    stem = _output_stem(name, case_id)
    sidecar = run_dir / TABLES_DIR / f"{stem}.json"
    _claim_name(sidecar, "table", notebook, case_id)
    csv_data, parquet_data = _csv_bytes(table), _parquet_bytes(table)
    atomic_write_bytes(run_dir / TABLES_DIR / f"{stem}.csv", csv_data)
    atomic_write_bytes(run_dir / TABLES_DIR / f"{stem}.parquet", parquet_data)
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
        "sha256": {"csv": sha256_bytes(csv_data), "parquet": sha256_bytes(parquet_data)},
        "precision": precision,
        "suppressed": rules.record(threshold) if rules is not None else None,
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
    """The matplotlib figure, its caption and whether it is a package figure (`ponzoni_eval.report.plots.Figure`)."""
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
    fig : `ponzoni_eval.report.plots.Figure` or matplotlib Figure
        A package figure brings its own caption (generated from the data);
        it is saved in the package style (`ponzoni_eval.report.plots.theme`).
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
        atomic_write_bytes(run_dir / relative, data)
        files[kind], checksums[kind] = relative, sha256_bytes(data)
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
    atomic_write_bytes(run_dir / relative, data)
    record = {
        "name": stem,
        "kind": "document",
        "format": format,
        "caption": caption.strip(),
        "notebook": notebook,
        "case_id": case_id,
        "files": {format: relative},
        "sha256": {format: sha256_bytes(data)},
    }
    _write_sidecar(run_dir, DOCUMENTS_DIR, stem, record)


# --- the synthetic-data banner ------------------------------------------------------

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
    check_language(language)
    if not is_synthetic(processed_dir):
        return None
    return Banner(term("banner.title", language), term("banner.text", language))


# --- the report (issue 15) -----------------------------------------------------------------

REPORT_DIR = "html"
"""Where the reports (and the notebooks as HTML) are in a run folder."""


def _report_meta(run: RunContext, tables: Mapping[str, "pd.DataFrame"] | None, processed_dir: str | os.PathLike | None,
                 language: str, title: str | None, workbook: str | None) -> ReportMeta:
    """The title page: the case's display name (``cases.name``), the period of the survey answers, the data set."""
    import pandas as pd

    from ponzoni_eval.report.plots import label

    tables = tables or {}
    cases = tables.get("cases")
    names: dict[str, str] = {}
    if cases is not None and "case_id" in cases.columns:
        shown = cases["name"] if "name" in cases.columns else pd.Series([None] * len(cases), index=cases.index)
        for case, name in zip(cases["case_id"].astype("str"), shown):
            names[case] = str(name) if isinstance(name, str) and name.strip() else label("case", case, language)
    case_names = (names.get(run.case_id, label("case", run.case_id, language)),) if run.case_id else tuple(names.values())
    period = n_participants = n_responses = None
    participants = tables.get("participants")
    responses = tables.get("survey_responses")
    if participants is not None and responses is not None and "response_date" in responses.columns:
        people = participants if run.case_id is None else participants.loc[participants["case_id"].astype("str") == run.case_id]
        answered = responses.loc[responses["participant_id"].astype("str").isin(set(people["participant_id"].astype("str")))]
        answered = answered.loc[answered["value"].notna()]
        dates = pd.to_datetime(answered["response_date"], errors="coerce").dropna()
        if len(dates):
            period = (dates.min().strftime("%Y-%m-%d"), dates.max().strftime("%Y-%m-%d"))
        n_participants, n_responses = int(people["participant_id"].nunique()), int(len(answered))
    source = banner = None
    if processed_dir is not None and (Path(processed_dir) / "manifest.json").is_file():
        manifest = json.loads((Path(processed_dir) / "manifest.json").read_text(encoding="utf-8"))
        if manifest.get("source"):
            source = Path(str(manifest["source"])).name.replace("_", " ")
        if is_synthetic(processed_dir):
            banner = (term("banner.title", language), term("banner.text", language))
            source = term("report.source_example", language)
    key = NOTEBOOK_TITLES.get(run.notebook, "report.title_other")
    heading = title or term(key, language, case=", ".join(case_names))
    min_cell = DEFAULT_MIN_CELL if run.min_cell is None else run.min_cell
    return ReportMeta(heading, case_names, period, source, n_participants, n_responses, banner, workbook, min_cell)


def _sheet_names(names: Sequence[str]) -> list[str]:
    """Excel sheet names (at most 31 characters, unique)."""
    taken: list[str] = []
    for name in names:
        base = name[:31]
        candidate, k = base, 1
        while candidate in taken:
            k += 1
            candidate = f"{base[: 31 - len(str(k)) - 1]}~{k}"
        taken.append(candidate)
    return taken


def _workbook_bytes(tables: Sequence[ReportTable]) -> bytes:
    """Every table of the report at full precision, one sheet each, as reproducible XLSX bytes."""
    import zipfile

    import pandas as pd

    from ponzoni_eval._core.files import deterministic_zip, neutralise_workbook

    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for sheet, table in zip(_sheet_names([t.name for t in tables]), tables):
            frame = table.frame.copy()
            for column in frame.columns:  # Excel has no time zones and no categoricals
                if isinstance(frame[column].dtype, pd.CategoricalDtype):
                    frame[column] = frame[column].astype("object")
            frame.to_excel(writer, sheet_name=sheet, index=False)
        neutralise_workbook(writer.book)  # text from the inputs stays text, never a formula (issue 19)
    members = []
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as source:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:(?:created|modified)>)", rb"\g<1>2000-01-01T00:00:00Z\g<2>", content)
            members.append((info.filename, content))
    return deterministic_zip(members, compression=zipfile.ZIP_DEFLATED)


def write_report(run: RunContext, tables: Mapping[str, "pd.DataFrame"] | None = None, *, processed_dir: str | os.PathLike | None = None,
                 language: str = "en", title: str | None = None) -> Path | None:
    """Render what `run` saved as the report of its notebook (`RunContext.write_report`); None without a run folder."""
    check_language(language)
    if run.run_dir is None:
        return None
    stem = f"{run.notebook}-{run.case_id}" if run.case_id else run.notebook
    report_tables = [table for item in run.items for table in item.tables]
    workbook = None
    if report_tables:
        workbook_name = f"{run.notebook}_tables"
        save_document(_workbook_bytes(report_tables), workbook_name, run.run_dir, format="xlsx",
                      caption=term("report.appendix", language), notebook=run.notebook, case_id=run.case_id)
        workbook = f"{DOCUMENTS_DIR}/{_output_stem(workbook_name, run.case_id)}.xlsx"
    meta = _report_meta(run, tables, processed_dir, language, title, workbook)
    page = render_report(run.items, meta, language=language)
    return atomic_write_bytes(run.run_dir / REPORT_DIR / f"{stem}.html", page.encode("utf-8"))
