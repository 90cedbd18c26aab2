"""Checksums of files and folders, and a fingerprint of this package's code.

Light on purpose (standard library only), so that `ponzoni_eval.pipeline` can
record inputs without importing pandas.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ponzoni_eval import __version__
from ponzoni_eval.config import MANIFEST_FILE

__all__ = ["sha256_file", "folder_checksums", "code_fingerprint", "inputs_fingerprint", "is_current"]



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
    package = Path(__file__).resolve().parents[1]
    sources = {path.relative_to(package).as_posix(): sha256_file(path) for path in sorted(package.rglob("*.py"))}
    return hashlib.sha256(json.dumps(sources, sort_keys=True).encode("utf-8")).hexdigest()


def inputs_fingerprint(raw_dir: Path | str) -> str:
    """What a processed folder was made from: every file of the raw folder and the package's code."""
    inputs = {"raw": folder_checksums(raw_dir), "code": code_fingerprint(), "version": __version__}
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode("utf-8")).hexdigest()


def is_current(raw_dir: Path | str, out_dir: Path | str) -> bool:
    """Whether `out_dir` holds what `prepare(raw_dir, out_dir)` would write now (apart from the time).

    True when its manifest was written from a raw folder with the very same
    files (names and SHA-256 of each, hidden files aside) by the same code
    (the package's sources, not just its version), and every processed
    table is still the file the manifest records. Then preparing again
    would validate the same bytes with the same rules and write the same
    tables, so `ponzoni_eval.pipeline.run.run_pipeline` skips it.

    Examples
    --------
    >>> is_current("data/raw/example", "data/processed")  # doctest: +SKIP
    True
    """
    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    try:
        manifest = json.loads((out_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
        if manifest.get("inputs_fingerprint") != inputs_fingerprint(raw_dir):
            return False
        tables = manifest["tables"]
        files = [(entry["file"], entry["sha256"]) for entry in tables.values()]
        files += [(entry["file"], entry["sha256"]) for entry in manifest.get("files", {}).values()]
        return all((out_dir / name).is_file() and sha256_file(out_dir / name) == sha for name, sha in files)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False
