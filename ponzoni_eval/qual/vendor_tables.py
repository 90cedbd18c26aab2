"""Coded-segment tables exported by MAXQDA and ATLAS.ti (CSV or XLSX) -> ``coded_segments``.

Not every team can export a REFI-QDA project (`ponzoni_eval.qual`); most can
export a table of coded segments. This module reads the two common ones:

* **MAXQDA** "Coded Segments" / "Retrieved Segments" export (Excel or CSV), one
  row per coded segment. Column names as MAXQDA writes them in English (and
  German): Color, Document group, Document name, Code, Begin, End, Weight
  score, Segment, Comment, Created by, Created, Modified by, Modified, Area,
  Coverage %. The ``Code`` column holds the code path with ``\\`` (or ``>``)
  between levels, e.g. ``Trust\\Mutual trust``.
* **ATLAS.ti** quotation export (Quotation Manager -> Export, Excel or CSV),
  one row per quotation: ID, Quotation Name, Document, Document Groups,
  Quotation Content, Codes (several codes in one cell, one per line), Reference
  (or Start and End), Density, Comment, Created by, Modified by, Created,
  Modified. ATLAS.ti has no code tree; ``Theme::Code`` names give themes.

Column mapping
--------------
==================  =========================  ================================  =======================
coded_segments      MAXQDA                     ATLAS.ti                          how
==================  =========================  ================================  =======================
document_id         Document name              Document                          name without extension,
                                                                                 identifier characters only
participant_id      (document variables)       (document variables)              see below
case_id             (document variables)       (document variables)              see below
wave                (document variables)       (document variables)              see below
coder               Created by                 Created by                        ``coder=`` if no column
code                Code (last path level)     Codes (one row per code)          theme = first level
start               Begin - 1                  Reference / Start, first number   paragraphs, 0-based
end                 End                        Reference / End, last number      paragraphs, exclusive
text                Segment                    Quotation Content (else Name)
position_unit       ``paragraph``              ``paragraph``                     always
==================  =========================  ================================  =======================

Ignored: Color, Weight score, Comment, Created / Modified dates, Modified by,
Area, Coverage %, ID, Density.

**Positions are paragraphs, not characters.** For text documents both
programs report the paragraph where a segment begins and ends, not character
offsets. They are stored as a half-open interval in paragraph units (Begin 3,
End 4 -> start 2, end 4), marked ``position_unit = "paragraph"``, so overlap
between coders can still be computed per document; they cannot be written to
a REFI-QDA project. Rows whose position is not a paragraph number (PDF areas,
audio/video time stamps, images) are skipped and counted in the report.

Document variables
------------------
The tables carry no participant, case or wave, so they come from:

1. ``document_variables=``: a table (DataFrame, CSV or XLSX) with a document
   name column (``document``, ``document name``, ``document_id`` or ``name``)
   and one column per variable, matched to the export's document names;
2. the vendor's document group column (``Document group`` / ``Document
   Groups``), available as a variable of that name;
3. a `ponzoni_eval.qual.model.VariableMapping` (dict or TOML file): which variable
   fills which column, a regular expression on the document name, defaults.
   See `ponzoni_eval.qual.model.load_mapping`; the defaults look for English and
   Dutch names (``participant``, ``deelnemer``, ``casus``, ``meting``...).
"""

from __future__ import annotations

import csv
import re
import warnings
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from ponzoni_eval._core.errors import DataError
from ponzoni_eval.qual.model import (
    codebook_frame,
    codebook_from_paths,
    missing_target_advice,
    document_slug,
    documents_frame,
    ImportReport,
    load_mapping,
    mapping_key,
    QdaProject,
    resolve_targets,
    segments_frame,
    split_code_path,
    TARGETS,
    ThemeFrom,
    unique_ids,
    VariableMapping,
)

__all__ = ["ATLASTI_COLUMNS", "MAXQDA_COLUMNS", "read_coded_segments_export"]

MAXQDA_COLUMNS: dict[str, tuple[str, ...]] = {
    "document": ("Document name", "Dokumentname", "Dokument"),
    "document_group": ("Document group", "Dokumentgruppe"),
    "code": ("Code",),
    "begin": ("Begin", "Anfang", "Beginn"),
    "end": ("End", "Ende"),
    "text": ("Segment",),
    "coder": ("Created by", "Author", "Autor", "Erstellt von"),
}
"""Our role -> MAXQDA column headers accepted (compared ignoring case, spaces, punctuation)."""

ATLASTI_COLUMNS: dict[str, tuple[str, ...]] = {
    "document": ("Document", "Document name", "Dokument"),
    "document_group": ("Document Groups", "Document Group"),
    "codes": ("Codes",),
    "text": ("Quotation Content", "Content"),
    "name": ("Quotation Name",),
    "reference": ("Reference",),
    "begin": ("Start",),
    "end": ("End",),
    "coder": ("Created by", "Author"),
}
"""Our role -> ATLAS.ti column headers accepted."""

_REQUIRED = {"maxqda": ("document", "code", "begin", "end"), "atlasti": ("document", "codes")}
_SEPARATORS = {"maxqda": ("\\", ">", "::"), "atlasti": ("::",)}
_DOCUMENT_NAME_COLUMNS = ("document", "document name", "document_name", "document_id", "dokument", "dokumentname",
                          "name", "file")
_HEADER_SEARCH_ROWS = 10

# ATLAS.ti references: "12", "¶ 12", "12 – 14", "¶ 12 – ¶ 14", "12:5 – 14:80" (paragraph:character).
_REFERENCE = re.compile(r"^\s*¶?\s*(\d+)(?::\d+)?\s*(?:[-–—]\s*¶?\s*(\d+)(?::\d+)?\s*)?$")
# ATLAS.ti 7/8 prefix document names with their number: "D 3: Interview P01", "P 3: ...".
_ATLAS_DOCUMENT_PREFIX = re.compile(r"^\s*[DP]\s*\d+\s*:\s*")


def _read_table(path: Path, sheet: str | int, report: ImportReport) -> tuple[pd.DataFrame, list[int] | None]:
    """Every cell as text (missing as NA), no header yet; for a CSV also the number of cells of each row.

    Rows are numbered as a spreadsheet shows them (a blank line is a row too), so a row named in a
    message is the row the user finds. An empty file is a `DataError`, never a parser's traceback.
    """
    suffix = path.suffix.casefold()
    if suffix in (".xlsx", ".xlsm"):
        with warnings.catch_warnings():
            # Files written by MAXQDA/ATLAS.ti lack openpyxl's default style; harmless.
            warnings.filterwarnings("ignore", message="Workbook contains no default style", category=UserWarning)
            try:
                raw = pd.read_excel(path, sheet_name=sheet, header=None, dtype=str, engine="openpyxl")
            except ValueError as exc:
                raise DataError(f"cannot read the sheet: {exc}", file=str(path), rule="read_table") from None
            except Exception as exc:  # zip/XML errors of a broken workbook
                raise DataError(f"not a readable Excel workbook ({type(exc).__name__}: {exc})",
                                file=str(path), rule="read_table") from None
        widths = None
    else:
        text = _decode_export(path.read_bytes(), path, report)
        if "\x00" in text:
            line = text[: text.index("\x00")].count("\n") + 1
            raise DataError("holds a NUL byte: not a text (CSV) export, or damaged; export the table again",
                            file=str(path), row=line, rule="encoding")
        try:
            dialect = csv.Sniffer().sniff(text[:8192], delimiters=",;\t")
            separator = dialect.delimiter
        except csv.Error:  # rows of different lengths: the separator the text holds most of
            separator = max((",", ";", "\t"), key=text[:8192].count)
        import io

        try:
            records = list(csv.reader(io.StringIO(text, newline=""), delimiter=separator))
        except csv.Error as exc:
            raise DataError(f"cannot be read as CSV ({exc})", file=str(path), rule="csv_structure") from None
        if not any(any(cell.strip() for cell in record) for record in records):
            raise DataError("the file is empty (not even a header row): export the coded segments again",
                            file=str(path), rule="empty_file")
        widths = [len(record) for record in records]
        width = max(widths)
        raw = pd.DataFrame([record + [""] * (width - len(record)) for record in records], dtype="str")
    raw = raw.astype("str")
    return raw.where(raw.apply(lambda column: column.str.strip() != "")), widths


def _decode_export(data: bytes, path: Path, report: ImportReport) -> str:
    """UTF-8 (with or without BOM), UTF-16 with a BOM (Excel's 'Unicode text'), else Windows-1252 with a warning."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise DataError(f"is UTF-16 text that cannot be read at byte {exc.start:,} ({exc.reason}): the file is cut "
                            "off or damaged; export it again", file=str(path), rule="encoding") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        report.warnings.append(f"{path.name} is not UTF-8; read as Windows-1252")
        return data.decode("cp1252", errors="replace")


def _check_row_lengths(widths: list[int] | None, raw: pd.DataFrame, header_index: int, path: Path) -> None:
    """Every row after the header has as many cells as the header: a ragged row would shift its values."""
    if widths is None:
        return
    header = [str(v) for v in raw.iloc[header_index]]
    named = len(widths) and widths[header_index]
    while named and raw.iloc[header_index].isna().iloc[named - 1]:  # trailing separators after the last heading
        named -= 1
    for index in range(header_index + 1, len(widths)):
        width = widths[index]
        if width == 0 or raw.iloc[index].isna().all():
            continue  # a blank line
        cells = raw.iloc[index]
        if width > widths[header_index] and cells.iloc[widths[header_index]:].notna().any():
            raise DataError(f"row has {width} cells where the header has {named}: a separator inside a value must be "
                            "quoted, or the row is damaged", file=str(path), row=index + 1, rule="csv_structure")
        if width < named:
            raise DataError(f"row has {width} cells where the header has {named}: the row ends early (a line break "
                            "inside a value must be quoted, or the row is cut off)", file=str(path), row=index + 1,
                            column=header[width], rule="csv_structure")


def _find_header(raw: pd.DataFrame, path: Path) -> tuple[int, dict[str, str]]:
    """The first row (within the first few) that carries a vendor's required headers."""
    wanted = {mapping_key(h) for columns in (MAXQDA_COLUMNS, ATLASTI_COLUMNS) for role in ("document", "code", "codes")
              for h in columns.get(role, ())}
    for index in range(min(_HEADER_SEARCH_ROWS, len(raw))):
        cells = [str(v) for v in raw.iloc[index] if pd.notna(v)]
        keys = {mapping_key(c) for c in cells}
        if len(keys & wanted) >= 2:
            return index, {str(v): mapping_key(str(v)) for v in cells}
    raise DataError(
        "no header row with the columns of a MAXQDA coded-segments or ATLAS.ti quotation export in the first "
        f"{_HEADER_SEARCH_ROWS} rows", file=str(path),
        expected="e.g. 'Document name', 'Code', 'Begin', 'End' (MAXQDA) or 'Document', 'Codes', 'Reference' (ATLAS.ti)",
        rule="vendor_columns",
    )


def _resolve_columns(headers: Mapping[str, str], vendor: str) -> dict[str, str]:
    spec = MAXQDA_COLUMNS if vendor == "maxqda" else ATLASTI_COLUMNS
    by_key = {}
    for header, key in headers.items():
        by_key.setdefault(key, header)
    resolved = {}
    for role, names in spec.items():
        for name in names:
            if mapping_key(name) in by_key:
                resolved[role] = by_key[mapping_key(name)]
                break
    return resolved


def _detect_vendor(headers: Mapping[str, str], path: Path) -> str:
    keys = set(headers.values())
    if {"documentname", "begin"} <= keys or {"dokumentname", "anfang"} <= keys:
        return "maxqda"
    if "codes" in keys and keys & {"quotationcontent", "quotationname", "reference"}:
        return "atlasti"
    raise DataError("cannot tell whether this is a MAXQDA or an ATLAS.ti export; pass vendor=", file=str(path),
                    found=list(headers), expected="MAXQDA: Document name, Code, Begin, End; "
                    "ATLAS.ti: Document, Codes, Quotation Content, Reference", rule="vendor_columns")


def _load_document_variables(table: pd.DataFrame | str | Path, report: ImportReport) -> dict[str, dict[str, str]]:
    source = "document_variables"
    if isinstance(table, (str, Path)):
        source = str(table)
        raw, _ = _read_table(Path(table), 0, report)
        header = [str(v) for v in raw.iloc[0]]
        table = pd.DataFrame(raw.iloc[1:].to_numpy(), columns=header)
    wanted = {mapping_key(c) for c in _DOCUMENT_NAME_COLUMNS}
    name_column = next((c for c in table.columns if mapping_key(c) in wanted), None)
    if name_column is None:
        raise DataError("the document variables table has no document name column", file=source,
                        expected=", ".join(_DOCUMENT_NAME_COLUMNS), found=list(table.columns), rule="columns")
    names = table[name_column].astype("str")
    repeated = sorted(set(names[names.duplicated()].dropna()))
    if repeated:
        raise DataError("documents listed more than once in the document variables table", file=source,
                        column=str(name_column), found=repeated, rule="unique")
    others = [c for c in table.columns if c != name_column]
    records = table[others].astype("str").to_dict("records")
    return {str(name): {str(k): v for k, v in record.items() if pd.notna(v)} for name, record in zip(names, records)}


def _match_variables(document: str, table: Mapping[str, dict[str, str]]) -> dict[str, str] | None:
    if document in table:
        return table[document]
    for lookup in (mapping_key, document_slug):
        wanted = lookup(document)
        for name, values in table.items():
            if lookup(name) == wanted:
                return values
    return None


def read_coded_segments_export(
    path: str | Path,
    *,
    vendor: str = "auto",
    mapping: VariableMapping | Mapping[str, Any] | str | Path | None = None,
    document_variables: pd.DataFrame | str | Path | None = None,
    coder: str | None = None,
    theme_from: ThemeFrom = "top",
    sheet: str | int = 0,
) -> QdaProject:
    """Read a MAXQDA coded-segments or ATLAS.ti quotation export (CSV or XLSX).

    Parameters
    ----------
    path : str or Path
        The exported ``.xlsx`` or ``.csv`` (``,`` ``;`` or tab separated;
        UTF-8, else read as Windows-1252 with a warning).
    vendor : {"auto", "maxqda", "atlasti"}
        Which program wrote the file; ``"auto"`` decides from the columns.
    mapping : VariableMapping, dict, TOML path or None
        How document variables fill participant_id, case_id and wave (see
        `ponzoni_eval.qual.model.load_mapping`).
    document_variables : DataFrame or path, optional
        One row per document: a document name column plus variables.
    coder : str, optional
        Coder for every row when the export has no ``Created by`` column.
    theme_from : {"top", "parent"}
        Theme of a code: first level of its path (default) or its parent.
    sheet : str or int
        Worksheet of an XLSX file.

    Returns
    -------
    QdaProject
        ``segments`` with ``position_unit = "paragraph"`` (see the module
        docstring for the column mapping), a ``codebook`` of the codes used
        (definition and construct empty), ``documents`` (no text) and ``report``.

    Raises
    ------
    DataError
        Naming the file, the spreadsheet row and the column: no recognisable
        header, a required column missing, a paragraph position that is not
        ``1 <= Begin <= End``, no coder.

    Examples
    --------
    >>> project = read_coded_segments_export(  # doctest: +SKIP
    ...     "MAXQDA Coded Segments.xlsx", document_variables="documents.csv",
    ...     mapping={"variables": {"case_id": "Document group"}})
    >>> project.segments[["document_id", "code", "start", "end"]].head()  # doctest: +SKIP
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("file not found", file=str(path), rule="file_missing")
    if vendor not in ("auto", "maxqda", "atlasti"):
        raise ValueError(f"vendor must be 'auto', 'maxqda' or 'atlasti', not {vendor!r}")
    variable_mapping = load_mapping(mapping)
    report = ImportReport(source=str(path), format="table")
    raw, widths = _read_table(path, sheet, report)
    header_index, headers = _find_header(raw, path)
    _check_row_lengths(widths, raw, header_index, path)
    vendor = _detect_vendor(headers, path) if vendor == "auto" else vendor
    report.format = f"{vendor} coded segments table"
    columns = _resolve_columns(headers, vendor)
    spec = MAXQDA_COLUMNS if vendor == "maxqda" else ATLASTI_COLUMNS
    missing = [role for role in _REQUIRED[vendor] if role not in columns]
    if vendor == "atlasti" and "reference" not in columns and not {"begin", "end"} <= set(columns):
        missing.append("reference")
    if missing:
        raise DataError(f"the {vendor} export lacks column(s) for {missing}", file=str(path),
                        expected="; ".join(f"{role}: {' / '.join(spec[role])}" for role in missing),
                        found=list(headers), rule="vendor_columns")
    if "coder" not in columns and coder is None:
        raise DataError("the export has no 'Created by' column; pass coder= to say who coded it",
                        file=str(path), rule="vendor_columns")

    body = raw.iloc[header_index + 1:].reset_index(drop=True)
    body.columns = [str(v) if pd.notna(v) else f"_unnamed_{i}" for i, v in enumerate(raw.iloc[header_index])]
    body = body.dropna(how="all")
    if body.empty:
        raise DataError("the export has a header but no coded segments below it: export the coded segments again",
                        file=str(path), row=header_index + 2, rule="empty_file")
    spreadsheet_row = pd.Series(body.index + header_index + 2, index=body.index)
    report.count("rows", len(body))

    def column(role: str) -> pd.Series:
        return body[columns[role]] if role in columns else pd.Series(pd.NA, index=body.index, dtype="str")

    documents = column("document").str.strip()
    if vendor == "atlasti":
        documents = documents.str.replace(_ATLAS_DOCUMENT_PREFIX, "", regex=True)
    if documents.isna().any():
        first = spreadsheet_row[documents.isna()].iloc[0]
        raise DataError("document name is empty", file=str(path), row=int(first), column=columns["document"],
                        rule="required")

    # Positions, in paragraphs.
    if vendor == "atlasti" and "reference" in columns:
        parts = column("reference").str.extract(_REFERENCE)
        begin = pd.to_numeric(parts[0], errors="coerce")
        end = pd.to_numeric(parts[1].fillna(parts[0]), errors="coerce")
        position_column = columns["reference"]
    else:
        begin = pd.to_numeric(column("begin").str.strip(), errors="coerce")
        end = pd.to_numeric(column("end").str.strip(), errors="coerce")
        position_column = columns["begin"]
    is_paragraph = begin.notna() & end.notna() & (begin % 1 == 0) & (end % 1 == 0)
    bad = is_paragraph & ((begin < 1) | (end < begin))
    if bad.any():
        first = bad[bad].index[0]
        raise DataError("paragraph positions must satisfy 1 <= begin <= end", file=str(path),
                        row=int(spreadsheet_row[first]), column=position_column,
                        found=f"{begin[first]:g}-{end[first]:g}", rule="paragraph_position")
    if (~is_paragraph).any():
        skipped = body.index[~is_paragraph]
        report.count("rows_not_text_paragraphs", len(skipped))
        report.skip("rows", ", ".join(str(int(r)) for r in spreadsheet_row[skipped][:10])
                    + (" ..." if len(skipped) > 10 else ""),
                    "position is not a paragraph number (PDF area, media time stamp or image); not imported")

    text = column("text")
    if vendor == "atlasti":
        text = text.fillna(column("name"))
    coders = column("coder") if "coder" in columns else pd.Series(coder, index=body.index, dtype="str")
    if coders.isna().any():
        report.warnings.append(f"{int(coders.isna().sum())} row(s) without coder; coder set to 'unknown'")
        coders = coders.fillna("unknown")

    segments = pd.DataFrame({
        "document": documents, "coder": coders.str.strip(), "codes": column("codes" if vendor == "atlasti" else "code"),
        "start": begin - 1, "end": end, "text": text,
    })[is_paragraph]
    # ATLAS.ti puts all codes of a quotation in one cell, one per line.
    segments["codes"] = segments["codes"].str.split(r"\r?\n")
    segments = segments.explode("codes")
    segments["codes"] = segments["codes"].str.strip()
    uncoded = segments["codes"].isna() | (segments["codes"] == "")
    if uncoded.any():
        report.count("uncoded_rows", int(uncoded.sum()))
    segments = segments[~uncoded]

    # Codes and themes.
    paths = {code: split_code_path([code], _SEPARATORS[vendor]) for code in segments["codes"].unique()}
    paths = {code: path for code, path in paths.items() if path}
    tree, code_warnings = codebook_from_paths(paths, theme_from)
    report.warnings.extend(code_warnings)
    segments["code"] = segments["codes"].map({code: row["code"] for code, row in tree.items()})
    codebook_rows: dict[str, dict[str, Any]] = {}
    for code in paths:
        codebook_rows.setdefault(tree[code]["code"], {**tree[code], "definition": None, "construct": None})

    # Documents and their variables.
    document_names = list(dict.fromkeys(documents[is_paragraph]))
    document_ids = dict(zip(document_names, unique_ids(document_names)))
    table = _load_document_variables(document_variables, report) if document_variables is not None else {}
    groups = (body.assign(_document=documents).groupby("_document")[columns["document_group"]].first().to_dict()
              if "document_group" in columns else {})
    document_rows, unmatched = [], []
    provenance: dict[str, dict[str, int]] = {t: {} for t in TARGETS}
    for name in document_names:
        variables: dict[str, str] = {}
        if name in groups and pd.notna(groups[name]):
            variables[columns["document_group"]] = str(groups[name])
        if table:
            found = _match_variables(name, table)
            if found is None:
                unmatched.append(name)
            else:
                variables.update(found)
        values, origins = resolve_targets(name, variables, variable_mapping)
        for target, origin in origins.items():
            provenance[target][origin] = provenance[target].get(origin, 0) + 1
        document_rows.append({"document_id": document_ids[name], "name": name, **values, "text": None,
                              "variables": variables})
    if unmatched:
        report.warnings.append("documents not in the document variables table: " + ", ".join(unmatched))
    for target, origins in provenance.items():
        report.variables[target] = "; ".join(f"{origin} ({n} document{'s' if n != 1 else ''})"
                                             for origin, n in sorted(origins.items(), key=lambda kv: -kv[1]))
        if origins.get("missing"):
            report.warnings.append(missing_target_advice(target, origins["missing"], report.source))
    per_document = pd.DataFrame(document_rows).set_index("name")

    segments = segments.assign(
        document_id=segments["document"].map(document_ids),
        participant_id=segments["document"].map(per_document["participant_id"]),
        case_id=segments["document"].map(per_document["case_id"]),
        wave=segments["document"].map(per_document["wave"]),
        position_unit="paragraph",
    )
    result = segments_frame(segments.drop(columns=["document", "codes"]).to_dict("records"))
    report.count("segments", len(result))
    report.count("documents", len(document_rows))
    report.count("codes", len(codebook_rows))
    report.warnings.append("start/end count paragraphs (0-based, end exclusive), not characters: the export "
                           "does not give character offsets")
    return QdaProject(result, codebook_frame(list(codebook_rows.values())), documents_frame(document_rows), report)
