"""Writing files: the one atomic writer and the one zip writer of the package.

Every file the package writes goes through `atomic_target` (or the thin
`atomic_write_bytes` / `atomic_write_text` / `write_csv` / `write_parquet` on
top of it): a temporary file in the same folder, fsync of the file, mode 0644
whatever the umask, ``os.replace`` and an fsync of the folder. A reader never
sees half a file, a failed write leaves no temporary file behind, and run
tables, figures, manifests, REFI-QDA projects and exports all get the same
permissions. Zip archives (REFI-QDA projects, the joint-display workbook) are
built by `deterministic_zip`: members in a fixed order, fixed timestamp and permissions.

Outputs are safe to open (issue 19): every text cell that a spreadsheet would
take for a formula (it starts with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return) gets a leading apostrophe, as OWASP advises against "CSV
injection" (`neutralise_cell`); numbers, and text that is only a number
(``-3``, ``+0.5``), are left as they are. `write_csv` and `csv_bytes` apply it
to every CSV the package writes, `neutralise_workbook` to every XLSX (and marks
every text cell as text, never a formula), `markdown_cell` escapes Markdown
and HTML markup in text put into a Markdown table.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import stat
import time
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from ponzoni_eval._core.errors import DataError

if TYPE_CHECKING:  # pragma: no cover - typing only; kept out of light imports
    import pandas as pd

__all__ = [
    "FILE_MODE",
    "ZIP_TIMESTAMP",
    "atomic_target",
    "atomic_write_text",
    "atomic_write_bytes",
    "deterministic_zip",
    "write_parquet",
    "write_csv",
    "csv_bytes",
    "neutralise_cell",
    "neutralise_frame",
    "neutralise_workbook",
    "markdown_cell",
    "TEMPORARY_PREFIX",
    "TEMPORARY_SUFFIX",
    "remove_stale_temporaries",
]

FILE_MODE = 0o644
"""Permissions of every file the package writes (owner writes, everyone reads), regardless of the umask."""
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
"""Timestamp of every zip member (the earliest a zip can hold), so archives are identical byte for byte."""


# --- writing ----------------------------------------------------------------------


@contextlib.contextmanager
def atomic_target(path: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success fsync it and move it into place."""
    path = Path(path)
    if path.is_dir():
        raise DataError("is a folder; give the name of a file to write", file=str(path), expected="a file name")
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path.parent)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=TEMPORARY_SUFFIX)
    os.close(handle)
    temporary = Path(temporary)
    try:
        yield temporary
        with open(temporary, "rb+") as written:
            os.fsync(written.fileno())
        os.chmod(temporary, FILE_MODE)  # mkstemp creates 0600
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        if exc.filename is None or str(exc.filename) == str(temporary):  # name the file the user asked for
            raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc
        raise
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    with contextlib.suppress(OSError):  # not every file system lets a directory be fsynced
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


TEMPORARY_PREFIX = "."
TEMPORARY_SUFFIX = ".ponzoni-tmp"
"""A temporary file of `atomic_target` is ``.<name>.<pid>.<random>.ponzoni-tmp`` beside its target."""
_TEMPORARY = re.compile(r"^\..+\.(\d+)\.[^.]+\.ponzoni-tmp$")
_CLEARED: set[str] = set()


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # another user's process, or a platform without signals: leave its files alone
    return True


def remove_stale_temporaries(folder: Path | str, *, max_age_seconds: float = 7 * 24 * 3600) -> list[Path]:
    """Remove the temporary files a killed writer left in `folder`; the paths removed.

    A temporary file names the process that wrote it; it is stale when that
    process is gone (a ``prepare`` or ``run`` killed with SIGKILL cannot clean
    up after itself) or when it is older than `max_age_seconds` (the process id
    may have been reused since). Each folder is cleared once per process, the
    first time the package writes to it.
    """
    folder = Path(folder)
    key = str(folder.resolve())
    if key in _CLEARED:
        return []
    _CLEARED.add(key)
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    now = time.time()
    for entry in entries:
        found = _TEMPORARY.match(entry.name)
        if found is None or not (entry.is_file(follow_symlinks=False) or entry.is_symlink()):
            continue
        try:
            old = now - entry.stat(follow_symlinks=False).st_mtime > max_age_seconds
            if old or not _process_alive(int(found.group(1))):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


def atomic_write_bytes(path: Path | str, data: bytes) -> Path:
    """Write bytes atomically (temp file in the same folder, fsync, ``os.replace``)."""
    with atomic_target(path) as temporary:
        temporary.write_bytes(data)
    return Path(path)


def atomic_write_text(path: Path | str, text: str, encoding: str = "utf-8") -> Path:
    """Write text atomically; line endings are written exactly as given."""
    return atomic_write_bytes(path, text.encode(encoding))


def write_parquet(frame: pd.DataFrame, path: Path | str, metadata: dict[str, str] | None = None) -> Path:
    """Write a frame (with its index) to parquet atomically and deterministically (same frame -> same bytes).

    ``metadata`` is added to the file's key-value metadata (e.g. a confidentiality note).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow_table = pa.Table.from_pandas(frame, preserve_index=True)
    if metadata:
        merged = dict(arrow_table.schema.metadata or {})
        merged.update({key.encode(): value.encode() for key, value in metadata.items()})
        arrow_table = arrow_table.replace_schema_metadata(merged)
    with atomic_target(path) as temporary:
        pq.write_table(arrow_table, temporary, compression="zstd")
    return Path(path)


def write_csv(frame: pd.DataFrame, path: Path | str, *, neutralise: bool = True) -> Path:
    """Write a frame as CSV atomically: UTF-8, comma, ``\\n`` line ends, no index, dates as YYYY-MM-DD.

    Text cells that a spreadsheet would run as a formula are neutralised (`neutralise_cell`)
    unless ``neutralise=False`` (raw data files the package reads back, e.g. the synthetic example).
    """
    with atomic_target(path) as temporary:
        (neutralise_frame(frame) if neutralise else frame).to_csv(
            temporary, index=False, lineterminator="\n", date_format="%Y-%m-%d", encoding="utf-8")
    return Path(path)


def csv_bytes(frame: pd.DataFrame, *, date_format: str = "%Y-%m-%d", index: bool = False) -> bytes:
    """A frame as the package's CSV bytes (UTF-8, ``\\n``), formula-like text cells neutralised."""
    return neutralise_frame(frame).to_csv(index=index, lineterminator="\n", date_format=date_format).encode("utf-8")


# --- outputs safe to open (issue 19) ---------------------------------------------------

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make Excel, LibreOffice or Google Sheets read a cell as a formula (OWASP)."""
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?%?")


def neutralise_cell(value: Any) -> Any:
    """A text that a spreadsheet would run as a formula, with a leading apostrophe; anything else as it is.

    >>> print(neutralise_cell('=HYPERLINK("http://x","open")'), neutralise_cell("-3"), neutralise_cell(-3), neutralise_cell("ok"))
    '=HYPERLINK("http://x","open") -3 -3 ok
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def _safe_text(value: Any) -> Any:
    """`neutralise_cell`, then carriage returns as line feeds: the CSV writer quotes a cell with a line feed,
    but not one with a bare carriage return, which readers take for the end of the row."""
    value = neutralise_cell(value)
    if isinstance(value, str) and "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` whose text cells and column names are neutralised; numeric columns untouched.

    A carriage return inside a text cell becomes a line feed, so that the cell is quoted and stays one cell.
    """
    import pandas as pd

    def risky(values: pd.Series) -> bool:
        text = values.astype("str")
        return bool(text.str.startswith(FORMULA_STARTS).any() or text.str.contains("\r", regex=False).any())

    columns = [neutralise_cell(c) if isinstance(c, str) else c for c in frame.columns]
    text_columns = [
        name for name in frame.columns
        if (pd.api.types.is_object_dtype(frame[name]) or pd.api.types.is_string_dtype(frame[name])
            or isinstance(frame[name].dtype, pd.CategoricalDtype)) and risky(frame[name].dropna())
    ]
    if not text_columns and columns == list(frame.columns):
        return frame
    out = frame.copy()
    for name in text_columns:
        values = out[name]
        if isinstance(values.dtype, pd.CategoricalDtype):
            values = values.astype("object")
        out[name] = values.map(_safe_text, na_action="ignore")
    out.columns = columns
    return out


def neutralise_workbook(workbook: Any) -> Any:
    """Every text cell of an openpyxl workbook neutralised and stored as text (never a formula); returns it."""
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    cell.value = neutralise_cell(cell.value)
                    cell.data_type = "s"
    return workbook


_MARKDOWN_ALWAYS = re.compile(r"([\\`\[\]|~])")
_MARKDOWN_TAG = re.compile(r"<(?=[A-Za-z/!?])")
_MARKDOWN_EMPHASIS = re.compile(r"(?<=\S)[*_]|[*_](?=\S)")


def _emphasis(match: re.Match) -> str:
    """``*``/``_`` escaped unless it cannot start or end emphasis (inside a word for ``_``)."""
    text, position, mark = match.string, match.start(), match.group()
    before = text[position - 1] if position else " "
    after = text[position + 1] if position + 1 < len(text) else " "
    if mark == "_" and before.isalnum() and after.isalnum():  # we_they_thinking: no emphasis inside a word
        return mark
    return "\\" + mark


def markdown_cell(text: Any) -> str:
    """Text for a Markdown (GitHub) table cell: markup from the inputs shown as text, line breaks as ``<br>``.

    Backslash, backtick, brackets, pipes and tildes are escaped, ``*`` and ``_`` where
    they could start or end emphasis, and ``<`` where it could open an HTML tag
    (``<5`` stays as it is); codes like ``we_they_thinking`` keep their underscores.

    >>> print(markdown_cell("**bold** <script>x</script> [a](http://x) | <5 we_they"))
    \\*\\*bold\\*\\* &lt;script>x&lt;/script> \\[a\\](http://x) \\| <5 we_they
    """
    text = _MARKDOWN_ALWAYS.sub(r"\\\1", str(text))
    text = _MARKDOWN_EMPHASIS.sub(_emphasis, text)
    text = _MARKDOWN_TAG.sub("&lt;", text)
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "<br>")



# --- JSON, digests, zip --------------------------------------------------------------


def json_bytes(payload: Any) -> bytes:
    """JSON as the package writes it everywhere: sorted keys, two-space indent, final newline."""
    return (json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def deterministic_zip(members: Iterable[tuple[str, bytes]], *, compression: int = zipfile.ZIP_STORED) -> bytes:
    """A zip archive whose bytes depend only on its members: the package's one zip writer.

    Members are written in the order given, each with `ZIP_TIMESTAMP`, Unix
    permissions 0644 and the given compression (``ZIP_STORED`` for REFI-QDA
    projects, ``ZIP_DEFLATED`` for the joint-display workbook). The order is the
    caller's, not sorted: a REFI-QDA project keeps ``project.qde`` first and its
    sources in document order, which is what the committed example project (and
    the input fingerprint of the reference run) hold; every caller builds its
    list in a fixed order. A name given twice is an error (a zip would keep both
    and readers disagree on which wins).
    """
    members = list(members)
    names = [name for name, _ in members]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise DataError("a zip member is given twice", found=", ".join(repeated), expected="unique member names", rule="argument")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=ZIP_TIMESTAMP)
            info.compress_type = compression
            info.create_system = 3
            info.external_attr = (stat.S_IFREG | FILE_MODE) << 16
            archive.writestr(info, data)
    return buffer.getvalue()
