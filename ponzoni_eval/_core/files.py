"""Writing files atomically (temporary file, fsync, ``os.replace``): bytes, text, parquet, CSV, JSON.

Every writer of the package lives here; the ones that still differ (file mode,
fsync of the folder) are listed in docs/architecture.md until they are one.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import stat
import tempfile
import uuid
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from ponzoni_eval._core.errors import DataError

if TYPE_CHECKING:  # pragma: no cover - typing only; kept out of light imports
    import pandas as pd

__all__ = [
    "atomic_write_text",
    "atomic_write_bytes",
    "write_parquet",
    "write_csv",
]


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
        os.chmod(temporary, 0o644)  # mkstemp creates 0600
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



# --- atomic writing -------------------------------------------------------------


def atomic_replace_bytes(path: Path, data: bytes) -> None:
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


def json_bytes(payload: Any) -> bytes:
    """JSON as the package writes it everywhere: sorted keys, two-space indent, final newline."""
    return (json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def atomic_write_umask(path: Path, data: bytes) -> Path:
    """Write next to the target, then rename: readers never see half a file (permissions from the umask; REFI-QDA files)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temporary, "xb") as stream:  # normal permissions (umask), unlike mkstemp's 0600
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def deterministic_zip(members: list[tuple[str, bytes]]) -> bytes:
    """Stored (uncompressed) members, fixed timestamp and permissions: identical bytes everywhere."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            info.create_system = 3
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            archive.writestr(info, data)
    return buffer.getvalue()
