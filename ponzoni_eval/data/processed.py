"""The processed folder: typed parquet tables, read back by `load_processed`."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ponzoni_eval._core.errors import DataError
from ponzoni_eval._core.fingerprint import sha256_file
from ponzoni_eval.config import MANIFEST_FILE
from ponzoni_eval.data import schema

__all__ = [
    "load_processed",
]


def load_processed(directory: Path | str, *, verify: bool = True) -> dict[str, pd.DataFrame]:
    """The processed tables written by `ponzoni_eval.data.preparation.prepare`.

    Reads the tables listed in ``manifest.json`` (ids, codes, roles and event
    types as categoricals; ``wave`` as an ordered categorical t0 < t1 < t2;
    the index is the raw spreadsheet row). ``redaction_terms`` is included:
    it holds participants' names for quote redaction and must never be
    published.

    Parameters
    ----------
    directory : path-like
        The ``out_dir`` given to ``prepare``.
    verify : bool
        Compare each file's SHA-256 with the manifest (a changed file raises).

    Raises
    ------
    DataError
        No manifest (``prepare`` was not run) or a file differs from it.
    """
    directory = Path(directory)
    manifest_path = directory / MANIFEST_FILE
    if not manifest_path.is_file():
        raise DataError(
            "no processed data here (manifest.json is missing); run `ponzoni-eval prepare RAW_DIR --out DIR` first",
            file=str(directory),
        )
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    wave_type = pd.CategoricalDtype(list(schema.WAVES), ordered=True)
    tables = {}
    for table, entry in manifest["tables"].items():
        path = directory / entry["file"]
        if not path.is_file():
            raise DataError("a processed table listed in manifest.json is missing; run prepare again", file=str(path))
        if verify and sha256_file(path) != entry["sha256"]:
            raise DataError("the processed file differs from manifest.json (changed after prepare); run prepare again", file=str(path))
        frame = pd.read_parquet(path)
        if "wave" in frame.columns:
            frame["wave"] = frame["wave"].astype("str").astype(wave_type)
        tables[table] = frame
    return tables
