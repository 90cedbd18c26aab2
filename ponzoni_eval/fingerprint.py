"""Checksums of files and folders, and a fingerprint of this package's code.

Light on purpose (standard library only), so that `ponzoni_eval.run` can
record inputs without importing pandas.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

__all__ = ["sha256_file", "folder_checksums", "code_fingerprint"]


def sha256_file(path: Path | str, chunk_size: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def folder_checksums(folder: Path | str, pattern: str = "**/*") -> dict[str, str]:
    """SHA-256 of every file under `folder` matching `pattern`, by POSIX path relative to it.

    Hidden files and folders (``.DS_Store``, ``.~lock``, ``.ipynb_checkpoints``) are
    left out: they are not inputs, and editors create and delete them at will.

    Examples
    --------
    >>> folder_checksums("data/raw/example")["cases.csv"][:8]  # doctest: +SKIP
    '3f1c9a0e'
    """
    folder = Path(folder)
    found = {}
    for path in sorted(folder.glob(pattern)):
        relative = path.relative_to(folder)
        if path.is_file() and not any(part.startswith(".") for part in relative.parts):
            found[relative.as_posix()] = sha256_file(path)
    return found


def code_fingerprint() -> str:
    """SHA-256 over this package's Python sources (names and bytes): changes with any edit of the code.

    The version number alone would not do: a student who edits a transform
    without bumping it must not get tables made by the old code.
    """
    package = Path(__file__).resolve().parent
    sources = {path.relative_to(package).as_posix(): sha256_file(path) for path in sorted(package.rglob("*.py"))}
    return hashlib.sha256(json.dumps(sources, sort_keys=True).encode("utf-8")).hexdigest()
