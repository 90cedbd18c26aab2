"""Raw folder -> typed processed tables (parquet) and a manifest.

``prepare(raw_dir, out_dir)`` validates the raw folder (and stops with every
problem listed when there is an error), then writes one parquet file per table
and ``manifest.json``. Raw files are only read. Running it twice on the same
input gives byte-identical parquet files and a manifest that differs only in
its ``created`` field.

Processed tables are the raw tables, typed:

- ids, codes, roles, event types and similar columns are categoricals whose
  categories come from the table that defines them (cases, participants,
  instrument, codebook, documents; the vocabulary in `schema`), so the
  categories agree across tables; ``wave`` is ordered t0 < t1 < t2;
- the index is the spreadsheet row of the raw file (``row``), so an analysis
  can still point at the source row;
- ``instrument.level`` empty -> ``ordinal`` and ``instrument.waves`` empty ->
  all waves (the documented defaults);
- ``participants.name`` is dropped. The names go to ``redaction_terms.parquet``
  (participant_id, case_id, term), used only to redact quotes. That file must
  never be published; the manifest and the file's metadata say so.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd

from . import __version__, schema
from .errors import DataError, Problem, ValidationFailed
from .io import MANIFEST_FILE, QDA_MAPPING_FILE, QDA_TABLES, atomic_write_text, sha256_file, to_categorical, write_parquet
from .validate import ValidationReport, validate_dir

__all__ = ["prepare", "processed_tables", "redaction_terms", "REDACTION_TERMS", "REDACTION_NOTE"]

REDACTION_TERMS = "redaction_terms"
REDACTION_NOTE = (
    "CONFIDENTIAL: participants' names, used only to redact quotes. Never publish, share or commit this file."
)


def _categories_from(values: pd.Series) -> list[str]:
    """Distinct values in order of first appearance (the order the user wrote them)."""
    return list(pd.unique(values.dropna()))


def processed_tables(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Typed raw tables -> processed tables (categoricals, defaults filled, names removed).

    Parameters
    ----------
    tables : dict
        The validated tables (`ValidationReport.data`).

    Returns
    -------
    dict
        Table name -> processed frame, plus ``redaction_terms`` when
        participants have names.
    """
    out = {name: frame.copy() for name, frame in tables.items()}
    for frame in out.values():
        frame.attrs = {}
    if "instrument" in out:
        instrument = out["instrument"]
        if "level" in instrument.columns:
            instrument["level"] = instrument["level"].fillna("ordinal")
        if "waves" in instrument.columns:
            instrument["waves"] = instrument["waves"].fillna(";".join(schema.WAVES))

    def defined(table: str, column: str) -> list[str]:
        return _categories_from(out[table][column]) if table in out and column in out[table] else []

    segments = out.get("coded_segments", pd.DataFrame())
    categories = {
        "case_id": defined("cases", "case_id"),
        "participant_id": defined("participants", "participant_id"),
        "item_id": defined("instrument", "item_id"),
        "scale": defined("instrument", "scale"),
        "code": defined("codebook", "code"),
        "theme": defined("codebook", "theme"),
        "construct": defined("codebook", "construct"),
        "document_id": defined("documents", "document_id") or _categories_from(segments.get("document_id", pd.Series(dtype="str"))),
        "coder": sorted(_categories_from(segments.get("coder", pd.Series(dtype="str")))),
        "role": list(schema.ROLES),
        "event_type": list(schema.EVENT_TYPES),
        "missing_reason": list(schema.MISSING_REASONS),
        "level": list(schema.MEASUREMENT_LEVELS),
    }
    categories["wave"] = list(schema.WAVES)
    for frame in out.values():
        for column in frame.columns:
            if column in categories:
                frame[column] = to_categorical(frame[column], categories[column], ordered=column == "wave")
    if "participants" in out and "name" in out["participants"].columns:
        out[REDACTION_TERMS] = redaction_terms(out["participants"])
        out["participants"] = out["participants"].drop(columns="name")
    return out


def redaction_terms(participants: pd.DataFrame) -> pd.DataFrame:
    """One row per (participant, name) from the ``name`` column (several names separated by ';')."""
    names = participants[["participant_id", "case_id", "name"]].dropna(subset=["name"])
    terms = names.assign(term=names["name"].astype("str").str.split(";")).explode("term")
    terms["term"] = terms["term"].str.strip()
    terms = terms.loc[terms["term"] != "", ["participant_id", "case_id", "term"]]
    terms["term"] = terms["term"].astype("str")
    return terms


def _raise_if_failed(report: ValidationReport) -> None:
    if report.ok:
        return
    problems = [
        Problem(**{k: (None if pd.isna(v) else (int(v) if k == "row" else v)) for k, v in record.items()})
        for record in report.problems.to_dict("records")
    ]
    raise ValidationFailed(problems)


def prepare(raw_dir: Path | str, out_dir: Path | str) -> dict:
    """Validate a raw folder, then write typed parquet tables and ``manifest.json``.

    Parameters
    ----------
    raw_dir : path-like
        Folder with the raw tables (see the data dictionary). Only read.
    out_dir : path-like
        Where ``<table>.parquet``, ``redaction_terms.parquet`` and
        ``manifest.json`` go (created when missing; must not be `raw_dir`).

    Returns
    -------
    dict
        The manifest: per raw file its SHA-256 and rows (a REFI-QDA project
        also with the rows of the tables it supplied and the import's counts,
        skipped items and warnings), per processed table
        its file, rows, columns and SHA-256, the package version, the source
        folder, the dataset metadata (``dataset.toml``), validation counts and
        the time (``created``, the only field that changes between runs).

    Raises
    ------
    ValidationFailed
        The raw data have errors; it holds every problem.
    DataError
        `out_dir` is the raw folder.

    Examples
    --------
    >>> manifest = prepare("data/raw/example", "data/processed")  # doctest: +SKIP
    >>> manifest["dataset"]["synthetic"]  # doctest: +SKIP
    True
    """
    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    if out_dir.exists() and raw_dir.exists() and out_dir.resolve() == raw_dir.resolve():
        raise DataError("the output folder must not be the raw folder (raw data are never written to)", file=str(out_dir))
    report = validate_dir(raw_dir)
    _raise_if_failed(report)
    tables = processed_tables(report.data)

    def write(name: str, frame: pd.DataFrame) -> dict:
        path = out_dir / f"{name}.parquet"
        metadata = {"ponzoni_eval.note": REDACTION_NOTE} if name == REDACTION_TERMS else None
        write_parquet(frame, path, metadata=metadata)
        entry = {"file": path.name, "rows": int(len(frame)), "columns": list(map(str, frame.columns)), "sha256": sha256_file(path)}
        if name == REDACTION_TERMS:
            entry["note"] = REDACTION_NOTE
        return entry

    # Side by side: pyarrow encodes and compresses without holding the GIL (the same bytes as one by one).
    with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
        futures = {name: pool.submit(write, name, frame) for name, frame in tables.items()}
        written = {name: future.result() for name, future in futures.items()}
    _remove_stale_tables(out_dir, keep=set(written))

    raw = report.raw
    raw_files = {
        path.name: {
            "table": table,
            "rows": int(len(raw.tables[table])),
            "bytes": path.stat().st_size,
            "sha256": sha256_file(path),
            **({"value_labels": raw.tables[table].attrs["value_labels"]} if raw.tables[table].attrs.get("value_labels") else {}),
        }
        for table, path in sorted(raw.files.items(), key=lambda item: item[1].name)
    }
    for extra in sorted([raw.root / "dataset.toml", *raw.qda_files]):
        if extra.is_file():
            raw_files[extra.name] = {"table": None, "bytes": extra.stat().st_size, "sha256": sha256_file(extra)}
    if raw.qda_project is not None:
        # The project is a raw file like any other; its tables and the import's findings are recorded with it.
        found = raw.qda_report.as_dict()
        raw_files[raw.qda_project.name]["imported_tables"] = {table: int(len(raw.tables[table])) for table in QDA_TABLES if table in raw.tables}
        raw_files[raw.qda_project.name]["import"] = {key: found[key] for key in ("format", "counts", "variables", "skipped", "warnings")}
        mapping = raw.root / QDA_MAPPING_FILE
        if mapping.is_file():
            raw_files[mapping.name] = {"table": None, "bytes": mapping.stat().st_size, "sha256": sha256_file(mapping)}
    manifest = {
        "package": "ponzoni_eval",
        "version": __version__,
        "source": raw_dir.as_posix(),
        "dataset": raw.metadata,
        "raw_files": raw_files,
        "tables": written,
        "validation": {"errors": report.n_errors, "warnings": report.n_warnings},
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    atomic_write_text(out_dir / MANIFEST_FILE, json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n")
    return manifest


def _remove_stale_tables(out_dir: Path, keep: set[str]) -> None:
    """Remove processed tables of an earlier run whose raw table is gone (e.g. activity_log deleted)."""
    for name in [*schema.TABLES, REDACTION_TERMS]:
        if name not in keep:
            (out_dir / f"{name}.parquet").unlink(missing_ok=True)
