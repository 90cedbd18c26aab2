"""The report a municipality or funder reads: one self-contained HTML page per executed notebook, without code.

A run makes two products from the same numbers (issue 15):

- the **report** (this module): a title page (the case's display name, the period of the data, the
  data set, the synthetic-data banner where it applies), a summary of the findings (the sentences of
  the sections), then one part per section with its figure and caption, its sentence as prose and its
  tables formatted for reading (`ponzoni_eval.report.publishing.format_table`: human column labels,
  no index, no empty columns, numbers at their reported precision, notes under the table), and an
  appendix pointing to the full-precision tables (CSV and one Excel workbook). No code, no notes for
  students, no parameters. The page loads nothing from the network (figures are embedded, the style
  is inline, no script) and has a print style sheet, so the browser's print-to-PDF gives an A4
  document.
- the **notebook** with code and the notes for students (``html/<name>-code.html``, exported by the
  pipeline).

`RunContext` (`ponzoni_eval.report.outputs`) records every section, table, figure and document a
notebook saves as a `ReportItem`; the notebook's last cell calls ``run.write_report(tables, ...)``,
which renders them with `render_report` into ``html/<name>.html``. Every word comes from the words
tables (``report`` group), every number from `ponzoni_eval._core.numbers`.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ponzoni_eval._core.stylesheet import document_css
from ponzoni_eval._core.words import check_language, term, terms
from ponzoni_eval.report.publishing import format_table

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pandas as pd

__all__ = ["ReportTable", "ReportItem", "ReportMeta", "render_report", "REPORT_MAX_ROWS", "REPORT_COLUMNS", "REPORT_FILE_ONLY", "NOTEBOOK_TITLES"]

REPORT_MAX_ROWS = 30
"""A table with more rows (after leaving out a model's inside) is not printed in the report; the report points to its file."""

REPORT_COLUMNS: Mapping[str, Sequence[str]] = {
    # the evidence of each strand is in the meta-inference's words; the document (documents/joint_display.html) has every column
    "joint_display": ("construct_label", "case_id", "quant_short", "fit_label", "meta_inference"),
    "fit_by_estimate": ("construct", "case_id", "fit_label_ci", "fit_label_estimate"),
}
"""Tables whose report version shows only these columns (the full table keeps every one)."""

REPORT_FILE_ONLY = frozenset({"meta_matrix", "statistics_by_themes", "results", "help_seeking_fit"})
"""Tables the report names with their file but does not print (the documents show them, or they are inputs)."""

NOTEBOOK_TITLES: Mapping[str, str] = {
    "01_case_report": "report.title_case",
    "02_cross_case": "report.title_cross",
    "03_joint_display": "report.title_joint",
}
"""The title of each notebook's report (a words key); other notebooks get ``report.title_other``."""


@dataclass(frozen=True)
class ReportTable:
    """One published table as the report shows it."""

    name: str
    """The table's name without the case (``pre_post``), which picks its caption."""
    file: str
    """Its CSV, relative to the run folder (``tables/slotervaart-pre_post.csv``)."""
    caption: str
    frame: "pd.DataFrame"
    """The published (suppressed) table at full precision."""
    suppressed: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class ReportItem:
    """One part of a report: a heading, a figure, a sentence, tables (any of them may be missing)."""

    name: str
    """The key of its heading in ``report.heading`` (the section's key table name)."""
    sentence: str | None = None
    tables: tuple[ReportTable, ...] = ()
    figure_png: bytes | None = None
    figure_caption: str | None = None
    documents: tuple[tuple[str, str, str], ...] = ()
    """(name, caption, file relative to the run folder) of documents saved with it."""
    heading: str | None = None
    """The heading in the reader's words, when `name` is not a key of ``report.heading`` (a skipped section)."""
    notice: str | None = None
    """A notice in place of the results (a section the data do not allow, with the reason); not a finding."""


@dataclass(frozen=True)
class ReportMeta:
    """What the title page says."""

    title: str
    case_names: tuple[str, ...] = ()
    period: tuple[str, str] | None = None
    source: str | None = None
    n_participants: int | None = None
    n_responses: int | None = None
    banner: tuple[str, str] | None = None
    workbook: str | None = None
    min_cell: int = 5
    extra: Mapping[str, str] = field(default_factory=dict)


_CSS = document_css()


def _esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _numeric_like(text: str) -> bool:
    stripped = text.replace("−", "-").replace("<", "").replace(">", "").replace("%", "").replace(" ", "").replace("·", "")
    return bool(stripped) and all(ch.isdigit() or ch in ".,-–∞" for ch in stripped)


def _own_words(name: str, key: str, language: str) -> str | None:
    """A student's own section: the words she added for it (``add_words(name, {...: {"title": ..., "caption": ...}})``)."""
    from ponzoni_eval._core.words import words

    group = words(language).get(name)
    value = group.get(key) if isinstance(group, Mapping) else None
    return value if isinstance(value, str) else None


def _with_file(text: str, file: str) -> str:
    """`text` escaped, with the file (relative to the run folder) as a link from ``html/`` in place of the NUL mark."""
    link = f'<a href="../{_esc(file)}"><code>{_esc(file)}</code></a>'
    return _esc(text).replace("\0", link)


def _table_html(table: ReportTable, number: int, language: str, min_cell: int) -> str:
    shown = table.frame
    keep = REPORT_COLUMNS.get(table.name)
    if keep:
        shown = shown[[c for c in keep if c in shown.columns]]
    formatted = format_table(shown, language=language, min_cell=min_cell)
    caption = _own_words(table.name, "caption", language) or terms("report.caption", language).get(table.name, table.caption)
    full = _with_file(term("report.full_table", language, file="\0"), table.file)
    file_line = f'<p class="file">{full}</p>'
    if table.name in REPORT_FILE_ONLY or len(formatted.frame) > REPORT_MAX_ROWS or len(formatted.frame) == 0 or formatted.frame.shape[1] == 0:
        return f'<p class="file"><b>{_esc(term("report.table", language, n=number))}</b> {_esc(caption)} {full}</p>'
    frame = formatted.frame
    columns = [frame.iloc[:, i] for i in range(frame.shape[1])]  # by position: two columns may carry the same label
    numeric = [all(_numeric_like(str(v)) or str(v) in ("", "–") for v in column) and bool(column.astype(bool).any()) for column in columns]
    num = ' class="num"'
    # A text column is at least as wide as its longest word (up to a limit), so that the browser breaks
    # words only when a word is longer than that, and never splits a short word over three lines.
    limit = 16 if frame.shape[1] <= 5 else 12 if frame.shape[1] <= 7 else 9
    widths = [min(limit, max([len(w) for v in [c, *column.astype(str)] for w in str(v).split()] or [1])) for c, column in zip(frame.columns, columns)]
    # A column of sentences (mean cell over 80 characters) takes the room the others leave: a paragraph, not a ribbon.
    prose = [not is_num and column.astype(str).str.len().mean() > 80 for column, is_num in zip(columns, numeric)]
    share = f"width:{round(50 / sum(prose))}%;" if any(prose) else ""
    head = "".join(
        f'<th scope="col"{num if is_num else ""} style="{share if is_prose else ""}min-width:{round((min(width, 8) if is_num else width) * 0.62, 1)}em">{_esc(c)}</th>'
        for c, is_num, width, is_prose in zip(frame.columns, numeric, widths, prose)
    )
    rows = []
    for record in frame.itertuples(index=False):
        cells = "".join(f'<td{num if is_num else ""}>{_esc(v)}</td>' for v, is_num in zip(record, numeric))
        rows.append(f"<tr>{cells}</tr>")
    notes = []
    if formatted.notes:
        notes.append(_esc(term("report.method_notes", language)))
    if formatted.omitted:
        notes.append(_esc(term("report.omitted", language, n=formatted.omitted)))
    if table.suppressed:
        notes.append(_esc(term("report.suppressed_note", language, largest=min_cell - 1, min_cell=min_cell)))
    notes_html = "".join(f"<div>{n}</div>" for n in notes)
    return (
        f'<table><caption><b>{_esc(term("report.table", language, n=number))}</b> {_esc(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        f'<div class="table-notes">{notes_html}{file_line}</div>'
    )


def _title_page(meta: ReportMeta, language: str, produced: str | None) -> str:
    facts = []
    if meta.case_names:
        facts.append((term("report.cases", language), ", ".join(meta.case_names)))
    if meta.period:
        facts.append((term("report.period", language), term("report.period_value", language, first=meta.period[0], last=meta.period[1])))
    if meta.source:
        facts.append((term("report.source", language), term(
            "report.source_value", language, dataset=meta.source,
            participants=meta.n_participants if meta.n_participants is not None else "–",
            responses=meta.n_responses if meta.n_responses is not None else "–",
        )))
    if produced:
        facts.append((term("report.produced", language), produced))
    facts_html = "".join(f"<dt>{_esc(k)}</dt><dd>{_esc(v)}</dd>" for k, v in facts)
    banner = ""
    if meta.banner:
        banner = f'<div class="banner" role="note"><strong>{_esc(meta.banner[0])}</strong>{_esc(meta.banner[1])}</div>'
    return (
        f'<header class="title-page"><h1>{_esc(meta.title)}</h1>'
        f'<p class="subtitle">{_esc(term("report.subtitle", language))}</p>{banner}<dl class="facts">{facts_html}</dl></header>'
    )


def render_report(items: Sequence[ReportItem], meta: ReportMeta, *, language: str = "en", produced: str | None = None) -> str:
    """The report as one self-contained HTML page (no script, no external file, an A4 print style).

    Parameters
    ----------
    items : sequence of `ReportItem`
        The parts in the order the notebook saved them.
    meta : `ReportMeta`
        What the title page says.
    language : str
        A report language; sets ``<html lang>`` and every word.
    produced : str, optional
        When the run was made (a date), shown on the title page.

    Examples
    --------
    >>> page = render_report([ReportItem("sample", sentence="Forty people took part.")], ReportMeta("Casusrapport"), language="nl")
    >>> '<html lang="nl">' in page and "Forty people took part." in page and "<script" not in page
    True
    """
    check_language(language)
    parts = [_title_page(meta, language, produced)]
    sentences = [item.sentence for item in items if item.sentence]
    if sentences:
        bullets = "".join(f"<li>{_esc(s)}</li>" for s in sentences)
        parts.append(f'<section class="summary"><h2>{_esc(term("report.summary", language))}</h2><ul>{bullets}</ul></section>')
    figure_number = table_number = 0
    for index, item in enumerate(items, start=1):
        heading = item.heading or _own_words(item.name, "title", language) or terms("report.heading", language).get(item.name, item.name.replace("_", " ").capitalize())
        body = [f'<h2 id="part-{index}">{_esc(heading)}</h2>']
        if item.notice:
            body.append(f'<p class="notice">{_esc(item.notice)}</p>')
        if item.figure_png is not None:
            figure_number += 1
            data = base64.b64encode(item.figure_png).decode("ascii")
            caption = item.figure_caption or ""
            body.append(
                f'<figure><img src="data:image/png;base64,{data}" alt="{_esc(caption)}">'
                f'<figcaption><b>{_esc(term("report.figure", language, n=figure_number))}</b> {_esc(caption)}</figcaption></figure>'
            )
        if item.sentence:
            body.append(f'<p class="sentence">{_esc(item.sentence)}</p>')
        for table in item.tables:
            table_number += 1
            body.append(_table_html(table, table_number, language, meta.min_cell))
        if item.documents:
            titles = terms("export.titles", language)
            links = "".join(
                f'<li><a href="../{_esc(file)}">{_esc(titles.get(name, caption))} ({_esc(file.rsplit(".", 1)[-1].upper())})</a></li>'
                for name, caption, file in item.documents
            )
            body.append(f"<h3>{_esc(term('report.documents', language))}</h3><ul>{links}</ul>")
        parts.append(f"<section>{''.join(body)}</section>")
    workbook = meta.workbook or ""
    parts.append(
        f'<section class="appendix"><h2>{_esc(term("report.appendix", language))}</h2>'
        f"<p>{_with_file(term('report.appendix_text', language, workbook=chr(0)), workbook) if workbook else ''}</p></section>"
    )
    return (
        f'<!DOCTYPE html>\n<html lang="{_esc(language)}">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>{_esc(meta.title)}</title>\n'
        f"<style>{_CSS}</style>\n</head>\n<body>\n{''.join(parts)}\n</body>\n</html>\n"
    )
