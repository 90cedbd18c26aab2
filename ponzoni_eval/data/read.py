"""Read an evaluator's raw tables (CSV, XLSX, SPSS) and REFI-QDA projects, typed and located.

Reading
-------
Every raw file is first read as *text* (no type guessing by pandas, Excel or
SPSS), then typed column by column from `schema.TABLES` with our own parsers,
so that a bad cell is reported with what was found and what was expected
(``row 14, column 'value': not a number (expected a number; found 'vier')``).

The returned frame's index is the **spreadsheet row number** (named ``row``):
the header is row 1 and the first data row is row 2, in CSV, XLSX and SPSS
alike, so every later check can say where a problem is. Cells are stripped of
surrounding whitespace and an empty cell is missing. Column names are
lower-cased with spaces turned into ``_``. Rows that are entirely empty are
dropped (their row numbers are skipped, not renumbered).

Formats
-------
- **CSV**: UTF-8 with or without BOM; the delimiter (``,``, ``;`` or tab) is
  taken from the header line, so Dutch Excel's ``;`` files work. Text that is
  not UTF-8 is decoded as Windows-1252 (what Dutch Excel writes for "CSV
  (gescheiden door lijstscheidingsteken)") with a warning, because for that
  encoding every byte but five means *some* character: the warning asks the
  user to check accented letters and to save as "CSV UTF-8". Bytes that are
  not valid Windows-1252 either are refused with a clear message.
- **Numbers** may use a decimal comma (``3,5``); thousands separators are not
  allowed. **Yes/no** accepts true/false, yes/no, ja/nee, 1/0.
- **Dates**: ``YYYY-MM-DD`` (a time part is ignored), Dutch day-first
  ``DD-MM-YYYY`` / ``DD/MM/YYYY`` / ``DD.MM.YYYY``, or a month ``YYYY-MM``
  (read as its first day).
- **XLSX** (openpyxl): the sheet named like the table, else the first sheet;
  cell values are converted to the same text forms (a whole-number float is
  written ``4``, a date ``2015-09-01``).
- **SPSS .sav/.zsav** (pyreadstat): values are read unlabelled; the value
  labels are kept beside the frame, in ``TableRead.value_labels`` (and
  ``RawData.value_labels[table]``) as ``{column: {"1": "label", ...}}``. Columns that the schema types as text
  (``role``, ``wave``, ids) take their value labels, so ``role`` may be coded
  1/2/3 with the labels ``professional``/``migrant_org``/``parent``; a code
  without a label there is an error.

REFI-QDA projects
-----------------
A REFI-QDA project (``.qdpx``, or a bare ``.qde`` with its ``sources``
folder) in a raw folder is where the interviews come from: `read_raw_dir`
imports it with `ponzoni_eval.qual.importer.import_qda_project` into the ``coded_segments``,
``codebook`` and ``documents`` tables, passing ``qda_mapping.toml`` beside it
(if any) as the variable mapping. The project then supplies those three
tables: a ``coded_segments``, ``codebook`` or ``documents`` file beside it is
an error (which source would count?), as are two projects. A project the
importer refuses (a corrupt or hostile archive, a selection outside its text)
becomes an error naming the file; the import report's warnings and skipped
items become warnings. Rows of imported tables count codings
(``coded_segments``), codes (``codebook``) and text sources (``documents``)
from 1 in the order of the project file; `RawData.row_labels` names the
document and the selection of each row, and validation adds that to every
message about such a row. The document's name in the QDA program is not
kept in ``documents`` (it often holds a person's name). A ``.qdc`` codebook
is listed in `RawData.qda_files` and otherwise left alone.

Raw files are only ever opened for reading; every writer of the package is in
`ponzoni_eval._core.files` (atomic: temporary file, fsync, ``os.replace``).
"""

from __future__ import annotations

import csv
import io as _stdio
from collections import Counter
import os
import re
import warnings
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ponzoni_eval._core.errors import DataError, Problem, ValidationFailed
from ponzoni_eval._core.tomlfile import read_toml
from ponzoni_eval.config import DATASET_METADATA_FILE
from ponzoni_eval.data import schema
from ponzoni_eval.qual.archive import ArchiveLimits, SafeArchive
from ponzoni_eval.qual.importer import import_qda_project
from ponzoni_eval.qual.model import ImportReport

__all__ = [
    "DataWarning",
    "RawData",
    "TableRead",
    "read_table",
    "read_table_collecting",
    "read_raw_dir",
    "read_dataset_metadata",
    "cell_problems",
    "to_categorical",
    "MAX_PROBLEMS_PER_RULE",
    "MAX_UNKNOWN_COLUMNS_LISTED",
    "QDA_TABLES",
    "QDA_MAPPING_FILE",
]


CSV_SUFFIXES = (".csv", ".tsv")
XLSX_SUFFIXES = (".xlsx", ".xlsm")
SPSS_SUFFIXES = (".sav", ".zsav")
TABLE_SUFFIXES = CSV_SUFFIXES + XLSX_SUFFIXES + SPSS_SUFFIXES
QDA_SUFFIXES = (".qdpx", ".qde", ".qdc")
QDA_PROJECT_SUFFIXES = (".qdpx", ".qde")
QDA_TABLES = ("coded_segments", "codebook", "documents", "memos")
"""The tables a REFI-QDA project supplies."""
QDA_MAPPING_FILE = "qda_mapping.toml"
"""Variable mapping for the project (see `ponzoni_eval.qual.model.load_mapping`), read when it sits beside it."""
# Files an evaluator keeps beside the data (notes, metadata) that are not tables.
SIDE_FILE_SUFFIXES = (".md", ".txt", ".toml", ".json", ".pdf", ".docx", ".doc", ".odt", ".html")

MAX_PROBLEMS_PER_RULE = 50
"""At most this many problems are listed per file, column and rule; the rest are summarised in one line."""

MAX_UNKNOWN_COLUMNS_LISTED = 20
"""At most this many unknown columns of one file are named one by one; one more warning counts the rest."""

ROW_INDEX_NAME = "row"

_TRUE = ("true", "yes", "ja", "waar", "y", "j", "1", "1.0")
_FALSE = ("false", "no", "nee", "onwaar", "n", "0", "0.0")
_BOOL_WORDS = {**{w: True for w in _TRUE}, **{w: False for w in _FALSE}}

_DECIMAL_COMMA = re.compile(r"^([+-]?\d+),(\d+)$")
_ISO_DATE = r"(?P<y1>\d{4})-(?P<m1>\d{1,2})-(?P<d1>\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_DAY_FIRST_DATE = r"(?P<d2>\d{1,2})[-/.](?P<m2>\d{1,2})[-/.](?P<y2>\d{4})"
_YEAR_MONTH = r"(?P<y3>\d{4})-(?P<m3>\d{1,2})"
_DATE_PATTERN = f"^(?:{_ISO_DATE}|{_DAY_FIRST_DATE}|{_YEAR_MONTH})$"

_EXPECTED = {
    "str": "text",
    "int": "a whole number",
    "float": "a number (decimal point or comma)",
    "bool": "yes or no (true/false, ja/nee, 1/0)",
    "date": "a date as YYYY-MM-DD (or DD-MM-YYYY, or a month YYYY-MM)",
}


class DataWarning(UserWarning):
    """A finding in the user's data that does not stop the analysis (e.g. an unknown column)."""


# --- problems ----------------------------------------------------------------


def cell_problems(
    file: str,
    rows: Iterable,
    column: str | None,
    values: Iterable,
    *,
    rule: str,
    message: str,
    severity: str = "error",
    details: Sequence[str] | None = None,
    limit: int = MAX_PROBLEMS_PER_RULE,
) -> list[Problem]:
    """One `Problem` per offending cell, listing at most `limit` and summarising the rest.

    A table with 100 000 broken rows should not print 100 000 lines: the first
    `limit` rows are listed and one more line says how many more there are.
    ``details`` (one text per listed row, e.g. " (item 'trust_1' allows 1..5)")
    is appended to the message of each listed row.
    """
    rows = list(rows)
    values = list(values)[:limit]
    details = list(details)[:limit] if details is not None else [""] * min(len(rows), limit)
    problems = [
        Problem(
            severity=severity,
            file=file,
            row=None if row is None or pd.isna(row) else int(row),
            column=column,
            value=_shown(value),
            rule=rule,
            message=message + detail,
        )
        for row, value, detail in zip(rows[:limit], values, details)
    ]
    if len(rows) > limit:
        problems.append(
            Problem(
                severity=severity,
                file=file,
                row=None,
                column=column,
                value=None,
                rule=rule,
                message=f"{message} -- and {len(rows) - limit:,} more rows with the same problem (first {limit} listed)",
            )
        )
    return problems


def _shown(value) -> str | None:
    """A typed cell as the user would have typed it (dates without a time, whole numbers without '.0')."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        try:
            return value.date().isoformat() if value == value.normalize() else value.isoformat(sep=" ")
        except (NotImplementedError, ValueError, OverflowError):  # outside Python's years 1..9999
            return str(value)
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _file_problem(file: Path | str, message: str, *, rule: str, severity: str = "error", column: str | None = None) -> Problem:
    return Problem(severity=severity, file=_display_name(file), row=None, column=column, value=None, rule=rule, message=message)


def _display_name(path: Path | str) -> str:
    return Path(path).name


def _inside(path: Path, folder: Path) -> bool:
    """Whether a path, its links followed, lies inside a folder (its own links followed too)."""
    resolved, base = path.resolve(), folder.resolve()
    return base in resolved.parents


# --- reading text -----------------------------------------------------------------


@dataclass
class TableRead:
    """What reading one file gave: the typed frame (bad cells left missing) and every problem found."""

    file: Path
    table: str | None
    frame: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)
    value_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    """The SPSS file's value labels, ``{column: {"1": "label", ...}}`` (empty for other formats)."""

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)


def _normalise_header(names: Iterable) -> list[str]:
    return [re.sub(r"\s+", "_", str(name).strip().lower()) for name in names]


def _finish_text_frame(
    frame: pd.DataFrame, file: Path, problems: list[Problem], *, clean: bool = False, table: str | None = None
) -> pd.DataFrame | None:
    """Strip cells, empty -> missing (unless `clean` already), number rows as a spreadsheet does, tidy the header.

    With `table`, a header that is not the table's header at all (the column
    names sit in a later row, or are not separated by ``,``, ``;`` or tab)
    is one error on the file instead of one per missing column.
    """
    frame.columns = _normalise_header(frame.columns)
    frame.index = pd.RangeIndex(2, 2 + len(frame), name=ROW_INDEX_NAME)
    named = [c for c in frame.columns if c and not c.startswith("unnamed:")]
    seen_names = Counter(named)  # one pass: a file with 20,000 columns must not take minutes
    duplicated = sorted(c for c, times in seen_names.items() if times > 1)
    if duplicated:
        problems.append(
            Problem("error", _display_name(file), 1, None, None, "duplicate_column",
                    f"the header names column(s) {duplicated} more than once; each column may appear once")
        )
        return None
    frame = frame.loc[:, ~frame.columns.duplicated()]  # several unnamed columns: keep one, checked below
    for column in frame.columns if not clean else ():
        text = frame[column].astype("str").str.strip()
        if text.str.contains("\r", regex=False).any():
            text = text.str.replace("\r\n", "\n", regex=False)
        frame[column] = text.where(text != "")
    if table is not None:
        misplaced = _misplaced_header(frame, table, file)
        if misplaced is not None:
            problems.append(misplaced)
            return None
    # Unnamed columns: Excel's trailing separators (empty, dropped silently) or data without a header.
    unnamed = [c for c in frame.columns if c == "" or c.startswith("unnamed:")]
    for column in unnamed:
        if frame[column].notna().any():
            problems.append(
                _file_problem(file, "a column without a header holds data; it is ignored (give it a name or delete it)", rule="unnamed_column", severity="warning", column=column)
            )
    frame = frame.drop(columns=unnamed)
    return frame.loc[frame.notna().any(axis=1)]


HEADER_SEARCH_ROWS = 10
"""How many rows below row 1 are searched for a table's column names when row 1 does not hold them."""


def _misplaced_header(frame: pd.DataFrame, table: str, file: Path) -> Problem | None:
    """One error when row 1 is not the table's header although its column names are in the file.

    Two mistakes give a header without any of the table's required columns:
    title or note rows (often merged cells) above the real header, and a
    separator the reader does not use (``|``), which leaves one column whose
    name holds all the names.
    """
    required = [name for name, column in schema.TABLES[table].schema.columns.items() if column.required]
    if not required or set(required) & set(frame.columns):
        return None
    if len(frame.columns) == 1:
        header = str(frame.columns[0])
        separators = sorted(set(re.findall(r"[^\w\s.\-:]", header)))
        parts = set(_normalise_header(re.split(r"[^\w.\-:]+", header)))
        if separators and len(parts & set(required)) >= 2:
            return Problem(
                "error", _display_name(file), 1, None, header, "delimiter",
                f"the columns are not separated by ',', ';' or tab (the header is one column); found {' '.join(separators)} "
                "between the names: save the file as CSV with commas, semicolons or tabs",
            )
    head = frame.iloc[:HEADER_SEARCH_ROWS]
    for row, values in zip(head.index, head.itertuples(index=False)):
        names = set(_normalise_header(v for v in values if isinstance(v, str)))
        if set(required) <= names:
            return Problem(
                "error", _display_name(file), int(row), None, None, "header_row",
                f"the column names are in row {int(row)}, not in row 1; delete the rows above them (a title, notes "
                "or merged cells): the header must be the first row",
            )
    return None


def _decode_problem(file: Path) -> Problem:
    return _file_problem(
        file,
        "the file is neither UTF-8 nor Windows-1252 text; in Excel use 'Save as' > 'CSV UTF-8 (comma delimited)'",
        rule="encoding",
    )


def _sniff(first_line: str) -> tuple[str, list[str]]:
    """Delimiter (the most frequent of ';', ',' and tab in the header) and the header's names as written."""
    delimiter = max((";", ",", "\t"), key=lambda sep: (first_line.count(sep), sep == ","))
    # parsed here because pandas would rename repeated names (a, a.1) and hide them
    return delimiter, next(csv.reader([first_line], delimiter=delimiter), [])


def _unreadable_header(path: Path, first_line: str, exc: csv.Error) -> Problem:
    """A header the csv module refuses (a "name" beyond its field limit, e.g. a 100 MB line): no table, one message."""
    return Problem("error", _display_name(path), 1, None, None, "csv_structure",
                   f"the header row cannot be read ({exc}): row 1 is {len(first_line):,} characters long, which is not "
                   "a row of column names; is this the right file?")


MAX_UNKNOWN_COLUMNS_READ = 200
"""Of a file with more columns than its table knows, at most this many unknown columns are read (a warning counts the rest)."""


def _columns_to_read(header: list[str], table: str | None, path: Path, problems: list[Problem]) -> list[int] | None:
    """Positions of the columns to read, or None for all: the table's columns and the first unknown ones.

    A file with tens of thousands of columns (a wide export, a generated file) would take
    minutes to type and list; its known columns are read, and the unknown ones up to
    `MAX_UNKNOWN_COLUMNS_READ`, so the work is bounded by what the analysis uses.
    """
    if table is None or len(header) <= MAX_UNKNOWN_COLUMNS_READ:
        return None
    known = set(schema.TABLES[table].schema.columns) | ({"month"} if table == "activity_log" else set())
    names = _normalise_header(header)
    kept, unknown = [], 0
    for position, name in enumerate(names):
        if name in known:
            kept.append(position)
        elif unknown < MAX_UNKNOWN_COLUMNS_READ:
            kept.append(position)
            unknown += 1
    if len(kept) == len(header):
        return None
    problems.append(_file_problem(
        path, f"the file has {len(header):,} columns; {len(header) - len(kept):,} unknown columns after the first "
              f"{MAX_UNKNOWN_COLUMNS_READ} are not read (the analyses use only the {table} table's own columns)",
        rule="too_many_columns", severity="warning"))
    return kept


def _named(frame: pd.DataFrame, header: list[str]) -> pd.DataFrame:
    if len(header) == frame.shape[1]:
        frame.columns = [name if name.strip() else f"unnamed: {i}" for i, name in enumerate(header)]
    return frame


def _read_csv_arrow(data: bytes, delimiter: str, width: int, keep: list[int] | None = None) -> pd.DataFrame | None:
    """The fast path: pyarrow's parser, every column as text. None when the file needs the careful path."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    try:
        table = pa_csv.read_csv(
            _stdio.BytesIO(data),
            read_options=pa_csv.ReadOptions(skip_rows=1, autogenerate_column_names=True),
            parse_options=pa_csv.ParseOptions(delimiter=delimiter, newlines_in_values=True, ignore_empty_lines=False),
            convert_options=pa_csv.ConvertOptions(
                column_types={f"f{i}": pa.string() for i in (range(width) if keep is None else keep)},
                strings_can_be_null=False, quoted_strings_can_be_null=False,
                include_columns=None if keep is None else [f"f{i}" for i in keep],
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, KeyError):  # ragged rows, text that is not UTF-8: the careful path reports them
        return None
    if table.num_columns != (width if keep is None else len(keep)):
        return None
    import pyarrow as pa

    cleaned = pa.table({name: _clean_text(table.column(name)) for name in table.column_names})
    return cleaned.to_pandas(types_mapper={pa.string(): pd.StringDtype(na_value=np.nan)}.get)


def _clean_text(column):
    """Arrow text column: surrounding whitespace removed, Windows line breaks inside cells as '\\n', empty -> null."""
    import pyarrow.compute as pc

    column = pc.utf8_trim_whitespace(column)
    if pc.any(pc.match_substring(column, "\r")).as_py():
        column = pc.replace_substring(column, "\r\n", "\n")
    return pc.if_else(pc.equal(column, ""), None, column)


_UTF32_BOMS = (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def _wide_encoding(data: bytes) -> str | None:
    """UTF-16 or UTF-32 recognised by its BOM or, without one, by where the zero bytes of ASCII text fall."""
    if data.startswith(_UTF32_BOMS):
        return "utf-32"
    if data.startswith(_UTF16_BOMS):
        return "utf-16"
    head = data[:4096]
    if b"\x00" not in head or len(head) < 4:
        return None
    quads = len(head) // 4 * 4
    if quads and all(head[i + 1 : i + 4] == b"\x00\x00\x00" for i in range(0, min(quads, 64), 4)):
        return "utf-32-le"
    if quads and all(head[i : i + 3] == b"\x00\x00\x00" for i in range(0, min(quads, 64), 4)):
        return "utf-32-be"
    pairs = len(head) // 2 * 2
    odd_zero = sum(head[i + 1] == 0 for i in range(0, pairs, 2))
    even_zero = sum(head[i] == 0 for i in range(0, pairs, 2))
    if odd_zero > 0.4 * pairs / 2 and even_zero == 0:
        return "utf-16-le"
    if even_zero > 0.4 * pairs / 2 and odd_zero == 0:
        return "utf-16-be"
    return "binary"


def _leading_blank_rows(text: str) -> int:
    """How many rows at the top hold nothing (empty, or only separators and spaces)."""
    count = 0
    for line in text.split("\n", 50)[:50]:
        if line.strip(" \t\r,;\ufeff"):
            return count
        count += 1
    return count


def _read_csv_text(path: Path, problems: list[Problem], table: str | None = None) -> pd.DataFrame | None:
    data = path.read_bytes()
    if not data.strip():
        problems.append(_file_problem(path, "the file is empty (not even a header row)", rule="empty_file"))
        return None
    wide = _wide_encoding(data)
    if wide is not None:  # UTF-16/32 (Excel's "Unicode text"), with or without a BOM, takes the careful path
        return _read_csv_careful(data, path, problems, table, encoding=wide)
    if b"\r" in data and b"\n" not in data:  # CR-only line ends (classic Mac Excel): the same rows
        data = data.replace(b"\r", b"\n")
    blank = _leading_blank_rows(data[:65536].decode("utf-8", errors="replace"))
    if blank:
        problems.append(_header_not_in_row_one(path, blank + 1))
        return None
    # the fast path for UTF-8 (Windows-1252 and rows that do not line up take the careful one)
    first_line = data.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8-sig", errors="replace")
    try:
        delimiter, header = _sniff(first_line)
    except csv.Error as exc:
        problems.append(_unreadable_header(path, first_line, exc))
        return None
    found: list[Problem] = []
    keep = _columns_to_read(header, table, path, found)
    frame = _read_csv_arrow(data, delimiter, len(header), keep)
    if frame is not None:
        problems += found
        return _finish_text_frame(_named(frame, header if keep is None else [header[i] for i in keep]), path, problems, clean=True, table=table)
    return _read_csv_careful(data, path, problems, table)


def _header_not_in_row_one(path: Path, row: int) -> Problem:
    return Problem(
        "error", _display_name(path), row, None, None, "header_row",
        f"the header is not in row 1: rows 1-{row - 1} are empty and the column names come in row {row}; "
        "delete the empty rows above them: the header must be the first row" if row > 2 else
        "the header is not in row 1: row 1 is empty and the column names come in row 2; delete the empty row: "
        "the header must be the first row",
    )


def _read_csv_careful(
    data: bytes, path: Path, problems: list[Problem], table: str | None = None, *, encoding: str | None = None
) -> pd.DataFrame | None:
    """pandas' parser on decoded text: Windows-1252 and UTF-16/32 text, and messages for rows that do not line up."""
    if encoding == "binary":
        line = data[: data.index(b"\x00")].count(b"\n") + 1 if b"\x00" in data else None
        problems.append(Problem(
            "error", _display_name(path), line, None, None, "encoding",
            "the file holds zero bytes but is not UTF-16 or UTF-32 text: it is not a text (CSV) file; "
            "in Excel use 'Save as' > 'CSV UTF-8 (comma delimited)'" + (f" (the first zero byte is in row {line})" if line else "")))
        return None
    if encoding is not None:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            problems.append(_file_problem(
                path, f"the file is {encoding.upper().replace('-LE', ' (little-endian)').replace('-BE', ' (big-endian)')} "
                      f"text but damaged at byte {exc.start:,} ({exc.reason}: an odd length or a lone surrogate); "
                      "in Excel use 'Save as' > 'CSV UTF-8 (comma delimited)'", rule="encoding"))
            return None
        text = text.lstrip("\ufeff")
        if "\x00" in text:
            problems.append(_file_problem(path, "the text holds zero characters (NUL): it is not a text (CSV) file", rule="encoding"))
            return None
        if not data.startswith(_UTF16_BOMS + _UTF32_BOMS):
            problems.append(_file_problem(
                path, f"the file is {encoding.upper()} text without a byte-order mark; it was read as such. Save it as "
                      "'CSV UTF-8' to be sure", rule="encoding", severity="warning"))
        if "\r" in text and "\n" not in text:
            text = text.replace("\r", "\n")
        blank = _leading_blank_rows(text)
        if blank:
            problems.append(_header_not_in_row_one(path, blank + 1))
            return None
        return _parse_csv_text(text, path, problems, table)
    encoding = "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            problems.append(_decode_problem(path))
            return None
        problems.append(
            _file_problem(
                path,
                "the file is not UTF-8; it was read as Windows-1252 (Excel's default). Check accented letters and "
                "save as 'CSV UTF-8' to be sure",
                rule="encoding",
                severity="warning",
            )
        )
    return _parse_csv_text(text, path, problems, table)


def _parse_csv_text(text: str, path: Path, problems: list[Problem], table: str | None) -> pd.DataFrame | None:
    first_line = text.split("\n", 1)[0].rstrip("\r")
    try:
        delimiter, header = _sniff(first_line)
    except csv.Error as exc:
        problems.append(_unreadable_header(path, first_line, exc))
        return None
    keep = _columns_to_read(header, table, path, problems)
    try:
        frame = pd.read_csv(
            _stdio.StringIO(text),
            sep=delimiter,
            usecols=keep,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            engine="c",
        )
    except pd.errors.EmptyDataError:
        problems.append(_file_problem(path, "the file is empty (not even a header row)", rule="empty_file"))
        return None
    except pd.errors.ParserError as exc:
        found = re.search(r"line (\d+), saw (\d+)", str(exc))
        where = f"line {found.group(1)} has {found.group(2)} fields where the header has {len(header)}" if found else str(exc)
        problems.append(
            _file_problem(
                path,
                f"rows do not line up with the header: {where} (a '{delimiter}' inside a value must be quoted)",
                rule="csv_structure",
            )
        )
        return None
    return _finish_text_frame(_named(frame, header if keep is None else [header[i] for i in keep]), path, problems, table=table)


def _cell_text(value) -> str | None:
    """Excel cell value -> the text a user would have typed."""
    import datetime as dt

    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def _trimmed_rows(rows: list[tuple]) -> list[tuple]:
    """Rows as wide as the widest, without the empty rows at the end and the empty cells at the right (formatting only)."""
    while rows and all(value is None for value in rows[-1]):
        rows.pop()
    width = max((max((i + 1 for i, v in enumerate(row) if v is not None), default=0) for row in rows), default=0)
    return [tuple(row[:width]) + (None,) * (width - len(row)) for row in rows]


XLSX_LIMITS = ArchiveLimits(max_members=10_000, max_total_bytes=2 * 1024**3, max_member_bytes=1024**3, max_ratio=200.0)
"""What an .xlsx (a zip of XML) may claim before it is opened: a sheet that inflates more than 200:1, or to more
than 1 GiB, is a decompression bomb, not a table (Excel's own sheets compress about 5-30:1)."""


def _xlsx_refusal(path: Path) -> Problem | None:
    """A workbook's zip directory checked before openpyxl inflates anything (sizes, ratios, '..' names, links)."""
    import zipfile

    if not zipfile.is_zipfile(path):
        return None  # openpyxl says what it is (a CSV saved as .xlsx, a damaged file)
    try:
        with SafeArchive(path, XLSX_LIMITS) as archive:
            for info in archive.members:
                if info.file_size > XLSX_LIMITS.max_member_bytes:
                    return _file_problem(path, f"refused: the member {info.filename} claims {info.file_size:,} bytes, "
                                               f"more than the {XLSX_LIMITS.max_member_bytes:,} a sheet may have "
                                               "(decompression bomb protection)", rule="zip_member_size")
    except DataError as exc:
        if exc.rule == "zip_corrupt":
            return None
        member = exc.file[len(str(path)):].strip() if exc.file and exc.file.startswith(str(path)) else ""
        message = (f"refused: the sheets claim more than {XLSX_LIMITS.max_total_bytes:,} bytes in all (decompression bomb "
                   "protection)" if exc.rule == "zip_total_size" else exc.message)
        return _file_problem(path, f"{message}{' ' + member if member else ''}; save the workbook again from Excel",
                             rule=exc.rule or "unreadable_file")
    return None


def _read_xlsx_text(path: Path, table: str | None, problems: list[Problem]) -> pd.DataFrame | None:
    import openpyxl

    refusal = _xlsx_refusal(path)
    if refusal is not None:
        problems.append(refusal)
        return None
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types (BadZipFile, KeyError, InvalidFileException) for broken files
        problems.append(_file_problem(path, f"could not open the Excel file ({type(exc).__name__}: {exc})", rule="unreadable_file"))
        return None
    try:
        by_name = {name.strip().lower(): name for name in workbook.sheetnames}
        sheet = workbook[by_name.get(table or "", workbook.sheetnames[0])]
        # The dimension stored in the file (A1:F5) may be stale or absurd (A1:XFD1048576): read the rows the
        # sheet's XML holds, not the ones it claims, so no row is lost and no empty cell is made up.
        sheet.reset_dimensions()
        rows = [row for row in sheet.iter_rows(values_only=True)]
    except Exception as exc:  # a damaged sheet (truncated XML) shows only when its rows are read
        problems.append(_file_problem(path, f"could not read the Excel sheet ({type(exc).__name__}: {exc}); save the "
                                            "workbook again from Excel", rule="unreadable_file"))
        return None
    finally:
        workbook.close()
    rows = _trimmed_rows(rows)
    if not rows:
        problems.append(_file_problem(path, "the sheet is empty (not even a header row)", rule="empty_file"))
        return None
    blank = next((i for i, row in enumerate(rows) if any(_cell_text(v) not in (None, "") for v in row)), 0)
    if blank:
        problems.append(_header_not_in_row_one(path, blank + 1))
        return None
    header, body = rows[0], rows[1:]
    width = len(header)
    cells = [[_cell_text(value) for value in row[:width]] + [None] * (width - len(row)) for row in body]
    columns = [_cell_text(h) or f"unnamed: {i}" for i, h in enumerate(header)]
    frame = pd.DataFrame(cells, columns=columns, dtype="str")
    return _finish_text_frame(frame, path, problems, table=table)


_SPSS_DATE_FORMATS = ("DATE", "ADATE", "EDATE", "JDATE", "SDATE", "DATETIME", "YMDHMS", "MOYR", "QYR", "WKYR")
_SPSS_EPOCH = (1582, 10, 14)


def _spss_date_text(seconds) -> str | None:
    """An SPSS date (seconds since 14 October 1582) as YYYY-MM-DD; a value beyond the calendar stays a number,
    so that the date check names its row and column."""
    import datetime as dt

    if seconds is None or pd.isna(seconds):
        return None
    try:
        return (dt.date(*_SPSS_EPOCH) + dt.timedelta(seconds=float(seconds))).isoformat()
    except (OverflowError, ValueError):
        return _cell_text(float(seconds))


def _read_spss_text(path: Path, problems: list[Problem]) -> tuple[pd.DataFrame | None, dict[str, dict[str, str]]]:
    """The SPSS file as text, and its value labels (``{column: {"1": "label", ...}}``)."""
    import pyreadstat

    raw_dates: set[str] = set()
    try:
        frame, meta = pyreadstat.read_sav(str(path), apply_value_formats=False, dates_as_pandas_datetime=True)
    except (OverflowError, ValueError):  # a date beyond any calendar in one cell: read the numbers, say which cell
        try:
            frame, meta = pyreadstat.read_sav(str(path), apply_value_formats=False, disable_datetime_conversion=True)
        except Exception as exc:
            problems.append(_file_problem(path, f"could not open the SPSS file ({type(exc).__name__}: {exc})", rule="unreadable_file"))
            return None, {}
        raw_dates = {column for column, kind in (meta.original_variable_types or {}).items()
                     if str(kind).upper().startswith(_SPSS_DATE_FORMATS)}
    except Exception as exc:  # pyreadstat raises ReadstatError/PyreadstatError or OSError for broken files
        problems.append(_file_problem(path, f"could not open the SPSS file ({type(exc).__name__}: {exc})", rule="unreadable_file"))
        return None, {}
    text = pd.DataFrame(index=frame.index)
    for column in frame.columns:
        values = frame[column]
        if column in raw_dates:
            text[column] = values.map(_spss_date_text)
        elif pd.api.types.is_datetime64_any_dtype(values):
            text[column] = values.dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_numeric_dtype(values):
            text[column] = values.astype("float64").astype("str").str.replace(r"\.0$", "", regex=True).where(values.notna())
        else:
            text[column] = values.map(_cell_text)
    labels = {
        _normalise_header([column])[0]: {_cell_text(float(code)) if isinstance(code, (int, float)) else str(code): str(label) for code, label in mapping.items()}
        for column, mapping in (meta.variable_value_labels or {}).items()
    }
    return _finish_text_frame(text, path, problems), labels


def _read_text(path: Path, table: str | None, problems: list[Problem]) -> tuple[pd.DataFrame | None, dict[str, dict[str, str]]]:
    """The file as a text frame (None when unreadable), and its value labels (SPSS only)."""
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return _read_csv_text(path, problems, table), {}
    if suffix in XLSX_SUFFIXES:
        return _read_xlsx_text(path, table, problems), {}
    if suffix in SPSS_SUFFIXES:
        return _read_spss_text(path, problems)
    problems.append(
        _file_problem(
            path,
            f"cannot read '{suffix}' files; save the table as CSV (UTF-8), XLSX or SPSS .sav",
            rule="file_format",
        )
    )
    return None, {}


def to_categorical(values: pd.Series, categories=None, *, ordered: bool = False) -> pd.Series:
    """Text -> categorical, fast for millions of rows (pyarrow dictionary encoding).

    ``categories`` default to the distinct values in order of first
    appearance; values not among given categories become missing.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype("str")
    text = pa.array(values, from_pandas=True, type=pa.string())
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    encoded = pc.dictionary_encode(text)
    found = pd.Index(encoded.dictionary.to_pylist(), dtype="str")
    categories = found if categories is None else pd.Index(list(categories), dtype="str")
    position = np.append(categories.get_indexer(found), -1)  # the appended -1 serves missing values
    indices = pc.fill_null(encoded.indices, len(found)).to_numpy(zero_copy_only=False)
    return pd.Series(pd.Categorical.from_codes(position[indices], categories=categories, ordered=ordered), index=values.index, name=values.name)


# --- typing ----------------------------------------------------------------------


def column_kind(dtype) -> str:
    name = str(dtype)
    if name.startswith("datetime64"):
        return "date"
    if name.startswith("int"):
        return "int"
    if name.startswith("float"):
        return "float"
    if name == "bool":
        return "bool"
    return "str"


def _parse_numbers(text: pd.Series) -> pd.Series:
    """Text -> float64 (NaN where empty or unreadable); a decimal comma is accepted."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:  # the common case: every cell a plain number, parsed in C++
        return pd.Series(pc.cast(pa.array(text, from_pandas=True), pa.float64()).to_numpy(zero_copy_only=False), index=text.index)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    normalised = text.str.replace(_DECIMAL_COMMA, r"\1.\2", regex=True)
    return pd.to_numeric(normalised, errors="coerce").astype("float64")


def _parse_dates(text: pd.Series) -> pd.Series:
    """Text -> datetime64[us] (NaT where empty or unreadable); see the module docstring for the forms."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arrow_text = pa.array(text, from_pandas=True, type=pa.string())
    iso = pc.strptime(arrow_text, format="%Y-%m-%d", unit="us", error_is_null=True)
    # strptime rolls 2015-02-30 over to 2015-03-02: keep only zero-padded dates whose day is the day written
    canonical = pc.fill_null(pc.match_substring_regex(arrow_text, r"^\d{4}-\d{2}-\d{2}$"), False)
    written_day = pc.cast(pc.utf8_slice_codeunits(pc.if_else(canonical, arrow_text, "0000-00-00"), 8, 10), pa.int64())
    iso = pc.if_else(pc.and_(canonical, pc.equal(pc.day(iso), written_day)), iso, None)
    parsed = pd.Series(iso.to_numpy(zero_copy_only=False), index=text.index).astype("datetime64[us]")
    rest = parsed.isna() & text.notna()
    if rest.any():
        parts = text[rest].str.extract(_DATE_PATTERN)
        year = parts["y1"].fillna(parts["y2"]).fillna(parts["y3"])
        month = parts["m1"].fillna(parts["m2"]).fillna(parts["m3"])
        day = parts["d1"].fillna(parts["d2"]).fillna("1").where(year.notna())
        components = pd.DataFrame({"year": year, "month": month, "day": day}).apply(pd.to_numeric)
        parsed.loc[rest] = pd.to_datetime(components, errors="coerce")
    # Year 0 and years beyond 9999 are no calendar dates (Python cannot hold them): unreadable, not misread.
    return parsed.where(parsed.isna() | ((parsed.dt.year >= 1) & (parsed.dt.year <= 9999)))


def _type_column(text: pd.Series, kind: str) -> tuple[pd.Series, pd.Series, str]:
    """Typed values, a mask of cells that could not be read, and the rule name for them."""
    present = text.notna()
    if kind == "str":
        return text, pd.Series(False, index=text.index), "text"
    if kind == "bool":
        values = text.str.lower().map(_BOOL_WORDS)
        bad = present & values.isna()
        values = values.astype("boolean")
        return (values.astype(bool) if not values.isna().any() else values), bad, "yes_no"
    if kind == "date":
        values = _parse_dates(text)
        return values, present & values.isna(), "date"
    numbers = _parse_numbers(text)
    finite = numbers.abs() <= LARGEST_NUMBER
    if kind == "float":
        numbers = numbers.where(finite)
        return numbers, present & numbers.isna(), "number"
    whole = numbers.where((numbers % 1 == 0) & finite)
    values = whole.astype("Int64")
    if not values.isna().any():
        values = values.astype("int64")
    return values, present & whole.isna(), "whole_number"


LARGEST_NUMBER = 2.0**53
"""Numbers beyond +-2**53 (9,007,199,254,740,992) are refused: a double cannot hold every whole number beyond it."""
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(?:\.\d{3})+$|^[+-]?\d{1,3}(?:,\d{3})+$")


def _number_refusals(
    text: pd.Series, values: pd.Series, bad: pd.Series, kind: str, file: str, column: str
) -> tuple[pd.Series, pd.Series, list[Problem]]:
    """Cells that parse as numbers but would be misread: thousands separators (whole numbers) and sizes beyond 2**53.

    ``1.000`` and ``1,000`` in a whole-number column are a thousand written with a Dutch
    or English thousands separator far more often than the number one: refused with a
    hint instead of read as 1. ``1e308`` or a 20-digit number is refused as too large
    (it cannot be held exactly, and would overflow a whole-number column).
    """
    problems: list[Problem] = []
    present = text.notna()
    if kind == "int":
        separated = present & text.str.match(_THOUSANDS).fillna(False).astype(bool)
        if separated.any():
            problems += cell_problems(
                file, separated.index[separated], column, text[separated], rule="thousands_separator",
                message="looks like a number with a thousands separator ('1.000' or '1,000' for one thousand); "
                        "write whole numbers without separators (1000)",
            )
            values = values.astype("Int64").where(~separated)
            bad = bad & ~separated
    parsed = _parse_numbers(text.where(bad))
    too_large = bad & parsed.notna() & ~(parsed.abs() <= LARGEST_NUMBER)
    if too_large.any():
        problems += cell_problems(
            file, too_large.index[too_large], column, text[too_large], rule="number_too_large",
            message=f"the number is too large; expected at most {LARGEST_NUMBER:,.0f} in size",
        )
        bad = bad & ~too_large
    return values, bad, problems


def _apply_value_labels(codes: pd.Series, labels: dict[str, str]) -> tuple[pd.Series, pd.Series]:
    """SPSS codes of a text column -> their value labels; also a mask of codes that have no label."""
    labelled = codes.map(labels)
    unlabelled = codes.notna() & labelled.isna()
    return labelled.where(~unlabelled, codes).astype("str"), unlabelled


def type_table(
    text: pd.DataFrame, table: str, file: str, value_labels: Mapping[str, Mapping[str, str]] | None = None
) -> tuple[pd.DataFrame, list[Problem]]:
    """Type a text frame per `schema.TABLES[table]`; unreadable cells become missing and a `Problem`.

    Also reports missing required columns (error) and unknown columns
    (warning). Columns not in the schema are kept as text. A text column
    with value labels (an SPSS file's ``value_labels``, ``{column: {"1":
    "label"}}``: ``role`` coded 1, 2, 3) takes the labels; a code without a
    label is an error.
    """
    value_labels = value_labels or {}
    spec = schema.TABLES[table]
    problems: list[Problem] = []
    frame = text.copy()
    if table == "activity_log" and "date" not in frame.columns and "month" in frame.columns:
        frame = frame.rename(columns={"month": "date"})  # monthly totals: 'month' as YYYY-MM
    known = spec.schema.columns
    for name, column in known.items():
        if name not in frame.columns:
            if column.required:
                problems.append(
                    Problem(
                        "error",
                        file,
                        1,
                        name,
                        None,
                        "required_column",
                        f"required column '{name}' is missing (the header has: {', '.join(frame.columns) or 'nothing'})",
                    )
                )
            continue
        kind = column_kind(column.dtype)
        labels = value_labels.get(name)
        if kind == "str" and labels:
            frame[name], unlabelled = _apply_value_labels(frame[name], labels)
            if unlabelled.any():
                known = ", ".join(f"{code} = {label}" for code, label in labels.items())
                problems += cell_problems(
                    file, unlabelled.index[unlabelled], name, text.loc[unlabelled, name], rule="value_label",
                    message=f"the SPSS value has no value label; expected one of the labelled values ({known})",
                )
        values, bad, rule = _type_column(frame[name], kind)
        if kind in ("int", "float"):
            values, bad, more = _number_refusals(frame[name], values, bad, kind, file, name)
            problems += more
        frame[name] = values
        if bad.any():
            problems += cell_problems(
                file,
                bad.index[bad],
                name,
                text.loc[bad, name],
                rule=rule,
                message=f"cannot be read as {_EXPECTED[kind]}",
            )
    unknown = [c for c in frame.columns if c not in known]
    n_unknown = len(unknown)
    for name in unknown[:MAX_UNKNOWN_COLUMNS_LISTED]:
        problems.append(
            Problem(
                "warning",
                file,
                1,
                name,
                None,
                "unknown_column",
                f"column '{name}' is not part of the {table} table and is ignored by the analyses "
                f"(known columns: {', '.join(known)})",
            )
        )
    if n_unknown > MAX_UNKNOWN_COLUMNS_LISTED:
        rest = n_unknown - MAX_UNKNOWN_COLUMNS_LISTED
        problems.append(
            Problem("warning", file, 1, None, None, "unknown_column",
                    f"and {rest:,} more columns that are not part of the {table} table and are ignored by the analyses "
                    f"(the first {MAX_UNKNOWN_COLUMNS_LISTED} of {n_unknown:,} unknown columns are listed above)")
        )
    return frame, problems


def read_table_collecting(path: Path | str, table: str | None = None) -> TableRead:
    """Read and type one raw file, collecting every problem instead of raising.

    Parameters
    ----------
    path : path-like
        A ``.csv``/``.tsv``, ``.xlsx``/``.xlsm`` or ``.sav``/``.zsav`` file.
    table : str, optional
        Which table of `schema.TABLES` the file holds; by default the file's
        name without suffix (``participants.xlsx`` -> ``participants``). A file
        that is not a known table is returned as text.
    """
    path = Path(path)
    if not path.is_file():
        if path.exists():  # reading a named pipe would wait for a writer for ever
            raise DataError(f"is not a regular file but {_special_kind(path)}; give a file", file=str(path), rule="special_file")
        raise DataError("file not found", file=str(path))
    table = table or (path.stem.lower() if path.stem.lower() in schema.TABLES else None)
    problems: list[Problem] = []
    text, labels = _read_text(path, table, problems)
    if text is None:
        return TableRead(path, table, pd.DataFrame(index=pd.RangeIndex(0, name=ROW_INDEX_NAME)), problems)
    if table is None:
        return TableRead(path, None, text, problems, labels)
    frame, typing_problems = type_table(text, table, _display_name(path), labels)
    return TableRead(path, table, frame, problems + typing_problems, labels)


def _special_kind(path: Path) -> str:
    """What a path that is neither a file nor a folder is, in words."""
    import stat as _stat

    try:
        mode = path.stat().st_mode
    except OSError:
        return "something that cannot be read"
    for test, name in ((_stat.S_ISFIFO, "a named pipe"), (_stat.S_ISCHR, "a character device"),
                       (_stat.S_ISBLK, "a block device"), (_stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "a special file"


def read_table(path: Path | str, table: str | None = None) -> pd.DataFrame:
    """Read one raw table and type it per the schema.

    Returns a frame whose index is the spreadsheet row (header = 1). Warnings
    (unknown column, Windows-1252 text) are issued as `DataWarning`.

    Raises
    ------
    ValidationFailed
        When a cell cannot be read as its column's type or a required column
        is missing; it lists every such problem.

    Examples
    --------
    >>> frame = read_table("data/raw/example/participants.csv")  # doctest: +SKIP
    >>> frame.loc[2, "participant_id"]  # doctest: +SKIP
    'SLO-P01'
    """
    result = read_table_collecting(path, table)
    for problem in result.problems:
        if problem.severity != "error":
            warnings.warn(str(problem), DataWarning, stacklevel=2)
    if not result.ok:
        raise ValidationFailed(result.problems)
    return result.frame


# --- a raw folder -----------------------------------------------------------------


@dataclass
class RawData:
    """Everything read from one raw folder.

    Attributes
    ----------
    root : Path
    tables : dict
        Table name -> typed frame (index = spreadsheet row). Tables whose file
        could not be read at all are absent.
    files : dict
        Table name -> the file it was read from.
    problems : list of Problem
        Reading problems (unreadable cells, missing required tables or
        columns) and warnings (unknown files and columns). Schema and
        cross-table rules are checked by `ponzoni_eval.data.validate`.
    metadata : dict
        The optional ``dataset.toml`` (e.g. ``synthetic = true``, ``title``).
    qda_files : list of Path
        REFI-QDA files found in the folder.
    qda_project : Path or None
        The REFI-QDA project whose tables are in `tables` (not in `files`).
    qda_report : ImportReport or None
        What the import of `qda_project` found, skipped and assumed.
    row_labels : dict
        Table name -> Series (index = row) saying where each row of an
        imported table comes from (document, selection), for messages.
    value_labels : dict
        Table name -> the value labels of its SPSS file
        (``{column: {"1": "label", ...}}``); tables without any are absent.
    """

    root: Path
    tables: dict[str, pd.DataFrame]
    files: dict[str, Path]
    problems: list[Problem]
    metadata: dict
    qda_files: list[Path]
    qda_project: Path | None = None
    qda_report: ImportReport | None = None
    row_labels: dict[str, pd.Series] = field(default_factory=dict)
    value_labels: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)

    def source_name(self, table: str) -> str:
        """What messages call the source of a table: its file name, or ``project.qdpx (table)`` when imported."""
        if table in self.files:
            return self.files[table].name
        if self.qda_project is not None and table in QDA_TABLES:
            return f"{self.qda_project.name} ({table})"
        return f"{table}.csv"


def read_dataset_metadata(folder: Path | str) -> tuple[dict, list[Problem]]:
    """The optional ``dataset.toml`` of a raw folder (empty when absent).

    Its keys are free (a description of the folder), but what the package reads must be read
    right: a file that cannot be read, ``synthetic`` that is not ``true``/``false``, or a key
    that looks like a misspelt ``synthetic`` is an error, because losing the flag would take the
    SYNTHETIC banner off reports made from example data (issue 19).
    """
    import difflib

    path = Path(folder) / DATASET_METADATA_FILE
    if not path.exists():  # a folder or a pipe by that name is refused by read_toml
        return {}, []
    try:
        metadata = read_toml(path, rule="dataset_toml")
    except DataError as exc:
        problem = exc.as_problem()
        return {}, [Problem("error", path.name, problem.row, problem.column, problem.value, "dataset_toml",
                            f"{problem.message}; `synthetic = true` or false must be readable")]
    problems = []
    if "synthetic" in metadata and not isinstance(metadata["synthetic"], bool):
        problems.append(Problem("error", path.name, None, "synthetic", repr(metadata["synthetic"])[:60], "dataset_toml",
                                "must be true or false, without quotes"))
    for key in metadata:
        if key != "synthetic" and difflib.get_close_matches(key.casefold(), ["synthetic"], n=1, cutoff=0.8):
            problems.append(Problem("error", path.name, None, key, None, "dataset_toml",
                                    "looks like a misspelt 'synthetic' (the key the package reads); write synthetic = true "
                                    "or false"))
    return ({} if problems else metadata), problems


def read_raw_dir(path: Path | str) -> RawData:
    """Read every raw table in a folder (file stem = table name), collecting problems.

    Exactly one file per table (``cases.csv`` *or* ``cases.xlsx``); required
    tables that are missing or have no data rows and unreadable files are errors; files that are
    not tables are warnings, except notes and metadata (``.md``, ``.txt``,
    ``.toml``, ``.json``, ...). A REFI-QDA project (``.qdpx``/``.qde``)
    supplies ``coded_segments``, ``codebook`` and ``documents`` (see the
    module docstring, "REFI-QDA projects").

    Raises
    ------
    DataError
        When the folder does not exist (or is a file).
    """
    root = Path(path)
    if root.is_file():
        raise DataError("is a file, not a folder: give the folder that holds the raw tables", file=str(root), expected="a folder with the raw tables")
    if not root.is_dir():
        raise DataError("folder not found", file=str(root), expected="a folder with the raw tables")
    problems: list[Problem] = []
    candidates: dict[str, list[Path]] = {}
    qda_files: list[Path] = []
    entries = [e for e in sorted(root.iterdir()) if not e.name.startswith((".", "~$"))]  # hidden, Office lock files
    bare_project = any(e.suffix.lower() == ".qde" for e in entries)
    unreadable: set[str] = set()
    for entry in entries:
        name, suffix = entry.name, entry.suffix.lower()
        if entry.is_symlink() and entry.is_file() and not _inside(entry, root):
            if entry.stem.lower() in schema.TABLES or suffix in TABLE_SUFFIXES + QDA_SUFFIXES:
                unreadable.add(entry.stem.lower())  # named, so not "missing" as well
            problems.append(_file_problem(
                entry, "is a symbolic link to a file outside the data folder; it is not read (a link could make the "
                       "program read, and quote in its messages, any file of this computer): copy the file into the "
                       "folder", rule="symlink_outside"))
            continue
        if not entry.is_dir() and not entry.is_file():
            if entry.stem.lower() in schema.TABLES or suffix in TABLE_SUFFIXES + QDA_SUFFIXES:
                unreadable.add(entry.stem.lower())  # named, so not "missing" as well
                problems.append(_file_problem(entry, f"is not a regular file but {_special_kind(entry)}; it is not read "
                                                     "(copy the data into a file)", rule="special_file"))
            else:
                problems.append(_file_problem(entry, f"is {_special_kind(entry)}; ignored", rule="special_file", severity="warning"))
        elif entry.is_dir():
            if not (bare_project and name.casefold() == "sources"):  # a bare .qde keeps its texts there
                problems.append(_file_problem(entry, "sub-folders are not read", rule="unknown_file", severity="warning"))
        elif suffix in QDA_SUFFIXES:
            qda_files.append(entry)
        elif suffix in SIDE_FILE_SUFFIXES:
            continue
        elif entry.stem.lower() in schema.TABLES:
            candidates.setdefault(entry.stem.lower(), []).append(entry)
        else:
            problems.append(
                _file_problem(
                    entry,
                    f"not a known table (file names must be one of: {', '.join(schema.TABLES)}); ignored",
                    rule="unknown_file",
                    severity="warning",
                )
            )
    tables: dict[str, pd.DataFrame] = {}
    files: dict[str, Path] = {}
    value_labels: dict[str, dict[str, dict[str, str]]] = {}
    project, report, row_labels = _choose_qda_project(qda_files, candidates, problems), None, {}
    # The files are read side by side: pyarrow parses CSV and runs its string kernels without
    # holding the GIL, so on 2 cores the large tables of a multi-site study read in about half
    # the time. Problems keep the order of a one-by-one read (the project's, then table order).
    with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
        imported = pool.submit(_import_qda_project, project, root) if project is not None else None
        slots: list[tuple[str, Path | None, Future | list[Problem]]] = []
        for table, spec in schema.TABLES.items():
            if project is not None and table in QDA_TABLES:
                continue
            found = candidates.get(table, [])
            if len(found) > 1:
                slots.append((table, None, [_file_problem(
                    found[0], f"more than one file for table '{table}': {', '.join(p.name for p in found)}; keep one", rule="duplicate_table"
                )]))
            elif not found:
                if spec.required and table not in unreadable:
                    slots.append((table, None, [Problem(
                        "error", f"{table}.csv", None, None, None, "required_table",
                        f"required table '{table}' is missing (expected {table}.csv, .xlsx or .sav in {root})",
                    )]))
            else:
                slots.append((table, found[0], pool.submit(read_table_collecting, found[0], table)))
        if imported is not None:
            imported_tables, report, row_labels, import_problems = imported.result()
            tables.update(imported_tables)
            problems += import_problems
        for table, path, outcome in slots:
            if isinstance(outcome, list):
                problems += outcome
                continue
            result = outcome.result()
            problems += result.problems
            if schema.TABLES[table].required and result.ok and result.frame.shape[1] and result.frame.empty:
                # Left out of the tables, so the rows that refer to it are not each reported as well.
                problems.append(_file_problem(path, f"the file has a header but no data rows; the {table} table is required", rule="no_rows"))
                continue
            if result.frame.shape[1]:
                tables[table] = result.frame
                files[table] = path
                if result.value_labels:
                    value_labels[table] = result.value_labels
    metadata, metadata_problems = read_dataset_metadata(root)
    tables = {table: tables[table] for table in schema.TABLES if table in tables}  # schema order
    return RawData(root, tables, files, problems + metadata_problems, metadata, qda_files, project, report, row_labels, value_labels)


def _choose_qda_project(qda_files: list[Path], candidates: dict[str, list[Path]], problems: list[Problem]) -> Path | None:
    """The one REFI-QDA project to import, or None (none there, or a conflict reported in `problems`)."""
    projects = [p for p in qda_files if p.suffix.lower() in QDA_PROJECT_SUFFIXES]
    if not projects:
        return None
    if len(projects) > 1:
        names = ", ".join(p.name for p in projects)
        problems.append(_file_problem(projects[0], f"more than one REFI-QDA project ({names}); keep one", rule="qda_project"))
        return None
    project = projects[0]
    given = [path.name for table in QDA_TABLES for path in candidates.get(table, [])]
    if given:
        problems.append(
            _file_problem(
                project,
                f"the REFI-QDA project supplies coded_segments, codebook and documents, and so does "
                f"{', '.join(given)}; remove {', '.join(given)} to analyse the project, or remove {project.name} "
                "to analyse the table file(s)",
                rule="qda_project",
            )
        )
        return None
    return project


def _import_qda_project(project: Path, root: Path) -> tuple[dict[str, pd.DataFrame], ImportReport | None, dict[str, pd.Series], list[Problem]]:
    """Import a REFI-QDA project as raw tables; refusals become an error, report warnings become warnings."""
    mapping = root / QDA_MAPPING_FILE
    try:
        imported = import_qda_project(project, mapping=mapping if mapping.exists() else None)  # a folder is refused
    except DataError as exc:
        return {}, None, {}, [_import_problem(exc, project)]
    except UnicodeError as exc:  # a text source in UTF-16 with an odd length, a lone surrogate, ...
        return {}, None, {}, [_file_problem(
            project, f"a text source of the project is not readable text ({exc}); export the project again from the "
                     "QDA program (UTF-8 sources)", rule="qda_import")]
    except (ValueError, KeyError, IndexError, OSError, EOFError) as exc:  # damage the importer did not name
        return {}, None, {}, [_file_problem(
            project, f"the project could not be read ({type(exc).__name__}: {exc}); export it again from the QDA program",
            rule="qda_import")]

    segments, codebook, documents, report = imported.segments, imported.codebook, imported.documents, imported.report

    def numbered(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
        out = frame.loc[:, [c for c in columns if c in frame.columns]].reset_index(drop=True)
        out.index = pd.RangeIndex(1, len(out) + 1, name=ROW_INDEX_NAME)
        return out

    if "position_unit" in segments.columns and segments["position_unit"].isin(["character"]).all():
        segments = segments.drop(columns="position_unit")  # REFI-QDA positions are characters: the column says nothing
    tables = {
        "coded_segments": numbered(segments, schema.TABLES["coded_segments"].schema.columns),
        "codebook": numbered(codebook, schema.TABLES["codebook"].schema.columns),
        # Not the name the document has in the QDA program: it often holds a person's name.
        "documents": numbered(documents, schema.TABLES["documents"].schema.columns),
    }
    if not imported.memos.empty:  # only projects with notes or comments have a memos table
        tables["memos"] = numbered(imported.memos, schema.TABLES["memos"].schema.columns)
    name_of = dict(zip(documents["document_id"], documents["name"]))
    in_document = "document '" + tables["documents"]["document_id"].map(name_of).astype("str") + "'"
    segments = tables["coded_segments"]
    row_labels = {
        "documents": in_document,
        "coded_segments": "document '" + segments["document_id"].map(name_of).astype("str") + "', characters "
        + segments["start"].astype("str") + "-" + segments["end"].astype("str") + ", coder '" + segments["coder"].astype("str") + "'",
        "codebook": "code '" + tables["codebook"]["code"].astype("str") + "'",
    }
    if "memos" in tables:
        row_labels["memos"] = tables["memos"]["annotates"].astype("str") + " memo " + tables["memos"]["memo_id"].astype("str")
    problems = [
        Problem("warning", project.name, None, None, None, "qda_import", report.scrub(warning)) for warning in report.warnings
    ] + [
        Problem("warning", project.name, None, None, None, "qda_skipped", f"{item['kind']} '{item['item']}' not imported: {report.scrub(item['reason'])}")
        for item in report.skipped
    ]
    return tables, report, row_labels, problems


def _import_problem(error: DataError, project: Path) -> Problem:
    """A refused import as one error on the project (or the mapping) file, with the archive member if named."""
    problem = error.as_problem()
    where = error.file or str(project)
    if where.startswith(str(project)):
        where = project.name + where[len(str(project)) :]  # keeps " [project.qde]"
    else:
        where = Path(where).name
    return Problem(problem.severity, where, problem.row, problem.column, problem.value, problem.rule or "qda_import", problem.message)
