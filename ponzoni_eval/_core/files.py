"""Writing files: the one atomic writer and the one zip writer of the package.

Every file the package writes goes through `atomic_target` (or the thin
`atomic_write_bytes` / `atomic_write_text` / `write_csv` / `write_parquet` on
top of it): a temporary file in the same folder, fsync of the file, mode 0644
whatever the umask, ``os.replace`` and an fsync of the folder. A reader never
sees half a file, a failed write leaves no temporary file behind, and run
tables, figures, manifests, REFI-QDA projects and exports all get the same
permissions. Zip archives (REFI-QDA projects, the joint-display workbook) are
built by `deterministic_zip`: members in a fixed order, fixed timestamp and permissions.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import stat
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
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    temporary = Path(temporary)
    try:
        yield temporary
        with open(temporary, "rb+") as written:
            os.fsync(written.fileno())
        os.chmod(temporary, FILE_MODE)  # mkstemp creates 0600
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    with contextlib.suppress(OSError):  # not every file system lets a directory be fsynced
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


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


def write_csv(frame: pd.DataFrame, path: Path | str) -> Path:
    """Write a frame as CSV atomically: UTF-8, comma, ``\\n`` line ends, no index, dates as YYYY-MM-DD."""
    with atomic_target(path) as temporary:
        frame.to_csv(temporary, index=False, lineterminator="\n", date_format="%Y-%m-%d", encoding="utf-8")
    return Path(path)



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
