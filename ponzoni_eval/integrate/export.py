"""The displays as documents: HTML, Markdown and a reproducible Excel workbook."""

from __future__ import annotations

import io
import os
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from ponzoni_eval._core.files import atomic_write_bytes, deterministic_zip, markdown_cell, neutralise_workbook
from ponzoni_eval._core.numbers import format_number, format_plain
from ponzoni_eval._core.stylesheet import document_css
from ponzoni_eval._core.words import term, terms, value_label
from ponzoni_eval.integrate.display import Display
from ponzoni_eval.integrate.fit import (
    FIT_COLOURS,
    FIT_LABELS,
)

__all__ = [
    "to_html",
    "to_markdown",
    "to_xlsx",
]


# --- exports ---------------------------------------------------------------------------------------

_COLUMN_WIDTHS = {  # characters, for the spreadsheet
    "construct_label": 22, "case_id": 16, "quant_summary": 38, "quant_evidence": 14, "qual_summary": 34,
    "qual_evidence": 14, "quotes": 60, "fit_label": 16, "meta_inference": 60, "statistic": 38, "code": 24,
    "prevalence": 22, "quote": 60, "order_value": 12,
}


def _checked(display: Display) -> Display:
    if not isinstance(display, Display):
        raise TypeError(f"a display to export is an integrate.Display (from joint_display, meta_matrix or statistics_by_themes), not {type(display).__name__}")
    return display


def _names(kind: str, values: pd.Series, language: str) -> pd.Series:
    """Ids (cases, codes) by their display names (``values.<kind>``, or the data's own names): documents show no ids."""
    return values.map(lambda value: "" if pd.isna(value) else value_label(kind, value, language))


def _presentation(shown_display: Display, language: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(visible text table with localised headers, same-shape table of fit labels or "")."""
    kind, display = shown_display.kind, shown_display.table
    headers = terms("export.headers", language)
    if kind == "meta_matrix":
        constructs = [c for c in display.columns if c not in ("case_id", "order_value") and not c.endswith("_fit")]
        shown = display.loc[:, ["case_id", "order_value", *constructs]].copy()
        shown["case_id"] = _names("case", shown["case_id"], language)
        shown["order_value"] = shown["order_value"].map(lambda v: "—" if pd.isna(v) else format_number(v, language=language))
        fits = pd.DataFrame("", index=shown.index, columns=shown.columns)
        for construct in constructs:
            fits[construct] = display[f"{construct}_fit"].fillna("")
        order_by = shown_display.order_by
        order_header = f"{headers['order_value']} ({shown_display.labels.get(order_by, order_by)})" if order_by else headers["order_value"]
        rename = {"case_id": headers["case_id"], "order_value": order_header, **shown_display.labels}
        return shown.rename(columns=rename), fits.rename(columns=rename)
    if kind == "statistics_by_themes":
        columns = ["construct_label", "case_id", "statistic", "code", "prevalence", "quote"]
        shown = display.loc[:, columns].copy()
        shown["case_id"] = _names("case", shown["case_id"], language)
        shown["code"] = _names("code", shown["code"], language)
        fits = pd.DataFrame("", index=shown.index, columns=columns)
    else:
        columns = ["construct_label", "case_id", "quant_summary", "quant_evidence", "qual_summary", "qual_evidence", "quotes", "fit_label", "meta_inference"]
        shown = display.loc[:, columns].copy()
        shown["case_id"] = _names("case", shown["case_id"], language)
        shown["fit_label"] = (
            display["fit_label"].map(terms("fit.label", language)).fillna(display["fit_label"])
            + np.where(display["overridden"], " *" , "")
        )
        # One line per cell (estimate [CI], p, n); the model notes go to the footer (`_footer`).
        shown["quant_summary"] = display["quant_summary"].where(display["quant_summary"] != "", "—")
        evidence = {**terms("display.evidence", language)}
        shown["quant_evidence"] = display["quant_evidence"].map(evidence).fillna(display["quant_evidence"])
        shown["qual_evidence"] = display["qual_evidence"].map(evidence).fillna(display["qual_evidence"])
        fits = pd.DataFrame("", index=shown.index, columns=columns)
        fits["fit_label"] = display["fit_label"]
    shown = shown.fillna("").astype("str")
    return shown.rename(columns=headers), fits.rename(columns=headers)


def _footer(display: Display, language: str) -> list[str]:
    lines = []
    alpha, threshold = display.alpha, display.qual_threshold
    by_estimate = display.quant_basis == "estimate"
    quant = term("export.rule_estimate", language) if by_estimate else term("export.rule_ci", language, alpha=format_plain(alpha, language=language))
    lines.append(term("export.rule", language, quant=quant, threshold=f"{threshold:.0%}"))
    if display.kind in ("joint_display", "statistics_by_themes"):
        lines.append(term("export.code_legend", language))
    if display.min_cell:
        lines.append(term("export.suppressed", language, largest=display.min_cell - 1, min_cell=display.min_cell))
    if display.kind == "joint_display" and "overridden" in display.table and display.table["overridden"].any():
        lines.append(term("export.overridden", language))
    if display.integration_map:
        lines.append(term("export.integration_map", language, file=Path(display.integration_map).name))
    if display.plan:
        key = "export.plan" if display.pre_specified else "export.no_plan"
        lines.append(term(key, language, file=Path(display.plan).name, date=display.registered or ""))
    if display.kind == "joint_display" and "quant_notes" in display.table:
        notes = display.table.loc[display.table["quant_notes"].fillna("") != ""]
        lines += [
            term("export.note", language, construct=row.construct_label, case=value_label("case", row.case_id, language), notes=row.quant_notes)
            for row in notes.itertuples()
        ]
    return lines


_HTML_TEMPLATE = """<!DOCTYPE html>
<html lang="{{ language }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>
{{ css }}
{% if landscape %}@page { size: A4 landscape; margin: 12mm 12mm 14mm 12mm; }
body { max-width: 277mm; padding: 10mm 8mm; }
{% endif %}table.joint-display { font-size: {{ font_size }}; }
table.joint-display td { border-bottom: 1px solid var(--rule); }
{% if kind == "joint_display" %}table.joint-display td:nth-child(2) { min-width: 8.2em; }
table.joint-display td:nth-child(4), table.joint-display td:nth-child(6) { min-width: 8.8em; }
table.joint-display td:nth-child(7) { min-width: 12em; }
table.joint-display td:nth-child(8) { min-width: 10.8em; }
{% endif %}
table.joint-display caption { font-size: 14pt; font-weight: bold; color: var(--accent); padding-bottom: 3mm; }
{% for label, colour in colours.items() %}td.fit-{{ label | replace(' ', '-') }} { background: {{ colour }}; }
{% endfor %}ul.legend { list-style: none; padding: 0; font-size: 9pt; }
ul.legend span.swatch { display: inline-block; width: 1em; height: 1em; border: 1px solid #666; margin-right: 0.4em; vertical-align: middle; }
p.note { font-size: 8.4pt; color: var(--muted); }
td.words { overflow-wrap: normal; }
</style>
</head>
<body class="{{ kind | replace('_', '-') }}">
<table class="joint-display">
<caption>{{ title }}</caption>
<thead><tr>{% for header in headers %}<th scope="col">{{ header }}</th>{% endfor %}</tr></thead>
<tbody>
{% for row in rows %}<tr>{% for cell, fit in row %}<td{{ cell | cell_class(fit) }}>{{ cell | nl2br }}</td>{% endfor %}</tr>
{% endfor %}</tbody>
</table>
<ul class="legend">
{% for label, colour in colours.items() %}<li><span class="swatch" style="background: {{ colour }}"></span><strong>{{ fit_text[label] }}</strong>: {{ meaning[label] }}</li>
{% endfor %}</ul>
{% for line in footer %}<p class="note">{{ line }}</p>
{% endfor %}</body>
</html>
"""

_LANDSCAPE = frozenset({"joint_display", "meta_matrix"})
"""Displays printed on a landscape A4 page: nine columns of text (results, themes, quotes, meta-inferences), and the
meta-matrix's seven (in Dutch its cells of long compounds broke mid-word on a portrait page: "overeenste|mming")."""


_LONGEST_UNBROKEN = 20
_SHORT_CELL = 60
"""A short cell (a name, a label, a number, a meta-matrix cell: at most 60 characters) whose words are all at most 20 characters long
breaks only between words (``td.words``): "Poelenburg" is never "Poele|nburg". Longer cells may break anywhere
when the page needs it, so that a table of long Dutch compounds still fits the page."""


def _cell_class(text: str, fit: str) -> str:
    from markupsafe import Markup, escape

    classes = [f"fit-{fit.replace(' ', '-')}"] if fit else []
    if len(str(text)) <= _SHORT_CELL and max((len(word) for word in str(text).split()), default=0) <= _LONGEST_UNBROKEN:
        classes.append("words")
    return Markup(f' class="{escape(" ".join(classes))}"') if classes else Markup("")


def to_html(display: Display, *, language: str | None = None, title: str | None = None) -> str:
    """A standalone HTML page: the display with cells coloured by fit label, a legend and the rule.

    The page has the reports' style sheet (`ponzoni_eval._core.stylesheet.document_css`: fits an A4 page,
    headers wrap between words, a long value breaks rather than widening the page; the joint display's
    nine columns on a landscape A4 page). All text is HTML-escaped (jinja2 autoescape); line breaks become ``<br>``.
    The colours are Okabe-Ito (`FIT_COLOURS`) and every coloured cell also
    shows its label, so the table reads without colour.
    """
    import jinja2
    from markupsafe import Markup, escape

    language = language or _checked(display).language
    shown, fits = _presentation(display, language)
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["nl2br"] = lambda text: Markup("<br>").join(escape(part) for part in str(text).split("\n"))
    env.filters["cell_class"] = _cell_class
    rows = [list(zip(values, labels)) for values, labels in zip(shown.itertuples(index=False), fits.itertuples(index=False))]
    return env.from_string(_HTML_TEMPLATE).render(
        language=language,
        css=Markup(document_css()),
        kind=display.kind,
        landscape=display.kind in _LANDSCAPE,
        font_size="7.6pt" if display.kind in _LANDSCAPE else "8.2pt",
        title=title or terms("export.titles", language)[display.kind],
        headers=list(shown.columns),
        rows=rows,
        colours=FIT_COLOURS,
        fit_text=terms("fit.label", language),
        meaning=terms("fit.meaning", language),
        footer=_footer(display, language),
    )


def _markdown_cell(text: str) -> str:
    return markdown_cell(text)  # markup from the inputs is escaped (issue 19)


def to_markdown(display: Display, *, language: str | None = None) -> str:
    """A GitHub-flavoured Markdown table (pipes escaped, line breaks as ``<br>``), legend and rule."""
    language = language or _checked(display).language
    shown, _ = _presentation(display, language)
    shown = shown.map(_markdown_cell)
    table = shown.to_markdown(index=False, tablefmt="github")
    names, meanings = terms("fit.label", language), terms("fit.meaning", language)
    legend = [f"- **{names[label]}**: {meanings[label]}" for label in FIT_LABELS]
    footer = [markdown_cell(line) for line in _footer(display, language)]
    return "\n".join([table, "", *legend, "", *footer]).rstrip() + "\n"


_FIXED_TIME = (2000, 1, 1, 0, 0, 0)


def to_xlsx(display: Display, path: str | os.PathLike, *, language: str | None = None) -> Path:
    """Write the display to an Excel workbook: wrapped text, column widths, fills per fit label.

    A second sheet holds the legend and the rule's parameters. The file is
    byte-for-byte reproducible (fixed document and zip timestamps) and is
    written atomically.

    Returns
    -------
    Path of the written file.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    language = language or _checked(display).language
    shown, fits = _presentation(display, language)
    headers = terms("export.headers", language)
    width_by_header = {headers.get(k, k): w for k, w in _COLUMN_WIDTHS.items()}
    fills = {label: PatternFill("solid", start_color=colour.lstrip("#"), end_color=colour.lstrip("#")) for label, colour in FIT_COLOURS.items()}

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = terms("export.titles", language)[display.kind][:31]
    sheet.append(list(shown.columns))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for values in shown.itertuples(index=False):
        sheet.append(list(values))
    wrap = Alignment(wrap_text=True, vertical="top")
    for row_cells, labels in zip(sheet.iter_rows(min_row=2), fits.itertuples(index=False)):
        for cell, label in zip(row_cells, labels):
            cell.alignment = wrap
            if label in fills:
                cell.fill = fills[label]
    for index, header in enumerate(shown.columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width_by_header.get(header, 30)
    sheet.freeze_panes = "A2"

    legend = workbook.create_sheet("legend")
    for label in FIT_LABELS:
        legend.append([terms("fit.label", language)[label], terms("fit.meaning", language)[label]])
        legend.cell(row=legend.max_row, column=1).fill = fills[label]
    legend.append([])
    for line in _footer(display, language):
        legend.append([line])
    legend.column_dimensions["A"].width = 30
    legend.column_dimensions["B"].width = 70

    from datetime import datetime

    stamp = datetime(*_FIXED_TIME)
    workbook.properties.created = stamp
    workbook.properties.modified = stamp
    neutralise_workbook(workbook)  # text stays text, never a formula (issue 19)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return _write_reproducible_zip(buffer.getvalue(), Path(path))


def _write_reproducible_zip(data: bytes, path: Path) -> Path:
    # openpyxl stamps each zip member, and docProps/core.xml's dcterms:modified, with the
    # time of saving; rewrite core.xml with a fixed time and the archive with the package's
    # one zip writer (fixed member times, sorted members), so the same display gives the same bytes.
    fixed = "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}Z".format(*_FIXED_TIME)
    members = []
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)", rb"\g<1>" + fixed.encode() + rb"\g<2>", content)
            members.append((info.filename, content))
    return atomic_write_bytes(path, deterministic_zip(members, compression=zipfile.ZIP_DEFLATED))
