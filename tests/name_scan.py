"""Find people's names in output files of every kind a run writes.

A file is read the way a reader (or a search engine, or ``grep`` after
unpacking) would see its text: JSON and notebooks by their decoded strings
(so that ``"\\nSander"`` is the word "Sander", not "nSander"), HTML and SVG
with character references resolved (``Ay&#351;e``), parquet by every cell of
every column and the file's metadata, XLSX by every XML part of the
workbook, PNG by its text chunks (tEXt, zTXt, iTXt: where matplotlib keeps
metadata), anything else as UTF-8 text. A name is found as a whole word,
case-insensitively.
"""

from __future__ import annotations

import html
import json
import re
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Iterable, Iterator


def _json_strings(value) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _json_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _json_strings(item)


def _png_text(data: bytes) -> Iterator[str]:
    position = 8  # after the signature
    while position + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        chunk = data[position + 8 : position + 8 + length]
        if kind == b"tEXt":
            yield chunk.decode("latin-1")
        elif kind == b"zTXt":
            keyword, _, rest = chunk.partition(b"\0")
            yield keyword.decode("latin-1") + " " + zlib.decompress(rest[1:]).decode("latin-1")
        elif kind == b"iTXt":
            keyword, _, rest = chunk.partition(b"\0")
            compressed, rest = rest[0], rest[2:]
            _language, _, rest = rest.partition(b"\0")
            _translated, _, text = rest.partition(b"\0")
            yield keyword.decode("latin-1") + " " + (zlib.decompress(text) if compressed else text).decode("utf-8")
        position += 12 + length


def _parquet_text(path: Path) -> Iterator[str]:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    for key, value in (table.schema.metadata or {}).items():
        yield key.decode("utf-8", "replace") + " " + value.decode("utf-8", "replace")
    yield " ".join(table.column_names)
    for column in table.columns:
        if hasattr(column.type, "value_type"):  # dictionary (categorical): the values, not the codes
            column = column.cast(column.type.value_type)
        yield "\n".join(str(v) for v in pc.cast(column, "string").to_pylist() if v is not None)


def file_texts(path: Path) -> Iterator[str]:
    """The text a reader can get out of one file."""
    suffix = path.suffix.lower()
    data = path.read_bytes()
    if suffix in (".json", ".ipynb"):
        yield from _json_strings(json.loads(data.decode("utf-8")))
    elif suffix == ".parquet":
        yield from _parquet_text(path)
    elif suffix in (".xlsx", ".xlsm", ".docx", ".zip", ".qdpx"):
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                yield html.unescape(archive.read(member).decode("utf-8", "replace"))
    elif suffix == ".png":
        yield from _png_text(data)
    elif suffix in (".html", ".htm", ".svg", ".xml"):
        yield html.unescape(data.decode("utf-8", "replace"))
    else:
        yield data.decode("utf-8", "replace")


def names_pattern(names: Iterable[str]) -> re.Pattern:
    ordered = sorted({n for n in names if n}, key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, ordered)) + r")(?!\w)", re.IGNORECASE)


def find_names(paths: Iterable[Path], names: Iterable[str]) -> list[tuple[str, str, str]]:
    """(file, name, context) for every name found as a whole word in the files."""
    pattern = names_pattern(names)
    found = []
    for path in paths:
        for text in file_texts(path):
            for match in pattern.finditer(text):
                context = text[max(0, match.start() - 40) : match.end() + 40].replace("\n", " ")
                found.append((str(path), match.group(0), context))
    return found
