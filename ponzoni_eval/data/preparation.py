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
- ``participants.name`` is dropped. The names (and each part of a
  multi-word name), with those listed in ``redaction_names.txt`` in the raw
  folder (one name per line, ``#`` comments; people who are not participants:
  staff, chairs of organisations, children), go to ``redaction_terms.parquet``
  (participant_id, case_id, term; both ids empty for listed names). That file
  must never be published; the manifest and the file's metadata say so;
- interview texts are redacted: in ``documents.text`` and
  ``coded_segments.text`` every redaction term, e-mail address and Dutch
  phone number is replaced (`ponzoni_eval.privacy.redact_documents`), and
  the segments' ``start``/``end`` are moved to count characters in the
  redacted transcript. So no analysis, notebook or report can show a name
  from the data by mistake. The raw files keep the original texts. With
  more than `BACKGROUND_REDACTION_CHARS` characters of transcripts, the
  transcripts are redacted in a second process while the data are
  validated (the same result, in about the time the validation takes).

The evaluator's integration files travel with the data, because reports read
only the processed folder: ``integration_overrides.csv`` (validated by
`integrate.read_overrides`) becomes the table ``integration_overrides``, and
``integration_map.toml`` (validated by `integrate.load_integration_map`) is
copied byte for byte; the manifest records both with their checksums under
``raw_files`` and the processed side under ``tables`` / ``files``.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
import traceback
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd

from ponzoni_eval import __version__
from ponzoni_eval._core.errors import DataError, Problem, ValidationFailed
from ponzoni_eval._core.files import atomic_write_bytes, atomic_write_text, write_parquet
from ponzoni_eval._core.fingerprint import (
    inputs_fingerprint as _inputs_fingerprint,
    is_current,
    sha256_file,
)
from ponzoni_eval.config import MANIFEST_FILE
from ponzoni_eval.data import schema
from ponzoni_eval.data.plan import data_profile
from ponzoni_eval.data.read import QDA_MAPPING_FILE, QDA_TABLES, DataWarning, RawData, read_raw_dir, to_categorical
from ponzoni_eval.data.validate import declared_missing, validate_raw, ValidationReport
from ponzoni_eval.integrate.map import load_integration_map, MAP_FILENAME
from ponzoni_eval.integrate.overrides import OVERRIDES_FILENAME, read_overrides
from ponzoni_eval.integrate.plan import PLAN_FILENAME, plan_record
from ponzoni_eval.privacy.names import name_variants, read_name_list
from ponzoni_eval.privacy.redaction import redact_counted, redact_documents, redact_transcripts

__all__ = [
    "prepare",
    "is_current",
    "processed_tables",
    "redaction_terms",
    "integration_overrides",
    "REDACTION_TERMS",
    "REDACTION_NOTE",
    "REDACTION_NAMES_FILE",
    "INTEGRATION_OVERRIDES",
]

REDACTION_TERMS = "redaction_terms"
REDACTION_NAMES_FILE = "redaction_names.txt"
"""Optional file in the raw folder: further names to redact, one per line."""
INTEGRATION_OVERRIDES = "integration_overrides"
"""Processed table with the evaluator's overrides of the joint display (from ``integration_overrides.csv``)."""
BACKGROUND_REDACTION_CHARS = 5_000_000
"""Transcripts longer than this in total (characters) are redacted in a second process during validation."""
REDACTION_NOTE = (
    "CONFIDENTIAL: participants' names, used only to redact quotes. Never publish, share or commit this file."
)


def _categories_from(values: pd.Series) -> list[str]:
    """Distinct values in order of first appearance (the order the user wrote them)."""
    return list(pd.unique(values.dropna()))


def processed_tables(
    tables: dict[str, pd.DataFrame], *, extra_names: Sequence[str] = (), transcripts: _BackgroundRedaction | None = None
) -> dict[str, pd.DataFrame]:
    """Typed raw tables -> processed tables (categoricals, defaults filled, names removed, texts redacted).

    Parameters
    ----------
    tables : dict
        The validated tables (`ValidationReport.data`).
    extra_names : sequence of str
        Further names to redact (``redaction_names.txt``).
    transcripts : _BackgroundRedaction, optional
        The transcripts' redaction, started in another process (see
        `prepare`); used when it was given the same texts and names, else
        the redaction runs here.

    Returns
    -------
    dict
        Table name -> processed frame, plus ``redaction_terms`` when
        participants have names or names are given. The interview texts of
        ``documents`` and ``coded_segments`` are redacted with those terms,
        offsets moved to match (`prepare` records how many replacements were
        made; see `_processed_and_redacted`).
    """
    return _processed_and_redacted(tables, extra_names=extra_names, transcripts=transcripts)[0]


def _processed_and_redacted(
    tables: dict[str, pd.DataFrame], *, extra_names: Sequence[str] = (), transcripts: _BackgroundRedaction | None = None
) -> tuple[dict[str, pd.DataFrame], dict[str, int]]:
    """`processed_tables`, and the replacements made in ``documents`` and ``coded_segments`` (`RedactedDocuments.n_replacements`)."""
    out = {name: frame.copy() for name, frame in tables.items()}
    replacements: dict[str, int] = {}
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
    if ("participants" in out and "name" in out["participants"].columns) or extra_names:
        out[REDACTION_TERMS] = redaction_terms(out.get("participants", pd.DataFrame()), extra_names)
        if "participants" in out:
            out["participants"] = out["participants"].drop(columns="name", errors="ignore")
    terms = out[REDACTION_TERMS]["term"].tolist() if REDACTION_TERMS in out else []
    if "documents" in out or "coded_segments" in out:
        documents = out.get("documents", pd.DataFrame({"document_id": pd.Series(dtype="str"), "text": pd.Series(dtype="str")}))
        done = transcripts.result(documents["text"].tolist(), terms) if transcripts is not None else None
        documents, segments, counts = redact_documents(documents, out.get("coded_segments"), terms, transcripts=done)
        if "documents" in out:
            out["documents"] = documents
            replacements["documents"] = counts["documents"]
        if segments is not None:
            out["coded_segments"] = segments
            replacements["coded_segments"] = counts["coded_segments"]
    if "memos" in out:  # notes and comments speak of the same people as the transcripts: redacted the same way
        memos, replaced = out["memos"], 0
        for column in ("text", "title"):
            redacted = redact_counted(memos[column], terms)
            replaced += redacted.n_replacements
            memos[column] = redacted.texts
        replacements["memos"] = replaced
    replacements.update(_redact_other_text(out, terms, skip=set(categories)))
    return out, replacements


_REDACTED_ABOVE = {"documents": ("text",), "coded_segments": ("text",), "memos": ("text", "title")}


def _redact_other_text(out: dict[str, pd.DataFrame], terms: list[str], *, skip: set[str]) -> dict[str, int]:
    """Names, e-mail addresses and phone numbers in every other text column (known to the schema or not), redacted.

    A participant's name typed into a free-text note of the activity log, or into a
    column the schema does not know, is replaced like one in a transcript; each
    column where something was replaced is named in a `DataWarning` and counted in
    the manifest (``redaction.replacements["<table>.<column>"]``). Identifier and
    vocabulary columns (categoricals) are left alone.
    """
    counts: dict[str, int] = {}
    for table, frame in out.items():
        if table == REDACTION_TERMS:
            continue
        for column in frame.columns:
            values = frame[column]
            if column in skip or column in _REDACTED_ABOVE.get(table, ()):
                continue
            if not (pd.api.types.is_string_dtype(values) or pd.api.types.is_object_dtype(values)):
                continue
            if isinstance(values.dtype, pd.CategoricalDtype) or not values.notna().any():
                continue
            present = values.dropna()
            if not present.map(lambda value: isinstance(value, str)).all():
                continue
            redacted = redact_counted(present, terms)
            if redacted.n_replacements:
                frame[column] = values.astype("object").where(values.isna(), redacted.texts.reindex(values.index)).astype(values.dtype)
                counts[f"{table}.{column}"] = redacted.n_replacements
                warnings.warn(DataWarning(
                    f"{table}, column '{column}': {redacted.n_replacements} name(s), e-mail address(es) or phone number(s) "
                    "replaced in the processed table; keep names out of this column"), stacklevel=2)
    return counts


def _redact_in_child(connection, texts: list, names: list[str]) -> None:
    try:
        connection.send(("ok", redact_transcripts(texts, names)))
    except BaseException:  # reported to the parent, which then redacts itself
        connection.send(("error", traceback.format_exc()))
    finally:
        connection.close()


class _BackgroundRedaction:
    """`privacy.redact_transcripts` of the raw transcripts in a spawned process, started before validation.

    The parent keeps validating on the other core. `result` hands the
    redaction over only for the very texts and names it was started with
    (otherwise, or when the child failed, None: the caller redacts itself);
    `cancel` stops the child (validation failed). The child is a daemon, so
    it never outlives the command.
    """

    def __init__(self, texts: list, names: list[str]) -> None:
        self.texts, self.names = texts, names
        context = multiprocessing.get_context("spawn")  # not fork: the parent has reader threads
        self._receive, send = context.Pipe(duplex=False)
        self._process = context.Process(target=_redact_in_child, args=(send, texts, names), daemon=True, name="ponzoni-eval-redact")
        self._process.start()
        send.close()

    @classmethod
    def start(cls, raw: RawData, extra_names: Sequence[str]) -> _BackgroundRedaction | None:
        """Start for a raw folder whose transcripts exceed `BACKGROUND_REDACTION_CHARS`; else None."""
        documents = raw.tables.get("documents")
        if documents is None or "text" not in documents.columns:
            return None
        texts = documents["text"].tolist()
        if sum(len(text) for text in texts if isinstance(text, str)) <= BACKGROUND_REDACTION_CHARS:
            return None
        try:
            names = redaction_terms(raw.tables.get("participants", pd.DataFrame()), extra_names)["term"].tolist()
            return cls(texts, names)
        except Exception:  # unusable participants (validation will say why) or no process: redact in-process
            return None

    def result(self, texts: list, names: list[str]) -> tuple[list, list] | None:
        try:
            status, value = self._receive.recv()
        except (EOFError, OSError):
            status, value = "error", "the redaction process ended without a result"
        finally:
            self.cancel()
        if status != "ok" or texts != self.texts or names != self.names:
            return None
        return value

    def cancel(self) -> None:
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()
        self._receive.close()


def redaction_terms(participants: pd.DataFrame, extra_names: Sequence[str] = ()) -> pd.DataFrame:
    """One row per (participant, name): the ``name`` column (several separated by ';'), each part of a full name, then `extra_names`.

    Listed names belong to nobody in the data: their participant_id and case_id are missing.
    """
    if "name" in participants.columns:
        names = participants[["participant_id", "case_id", "name"]].dropna(subset=["name"])
        variants = name_variants(names["name"])
        terms = names.loc[variants.index, ["participant_id", "case_id"]].assign(term=variants.to_numpy())
    else:
        terms = pd.DataFrame({"participant_id": pd.Series(dtype="str"), "case_id": pd.Series(dtype="str"), "term": pd.Series(dtype="str")})
    listed = [name.strip() for name in extra_names if name and name.strip()]
    if listed:
        extra = pd.DataFrame({"participant_id": [None] * len(listed), "case_id": [None] * len(listed), "term": listed})
        extra = extra.astype({column: terms[column].dtype for column in ("participant_id", "case_id")})
        terms = pd.concat([terms, extra])
    terms = terms.reset_index(drop=True)  # a term is not a spreadsheet row
    terms["term"] = terms["term"].astype("str")
    return terms


def integration_overrides(raw_dir: Path | str, cases: pd.DataFrame) -> pd.DataFrame | None:
    """The raw folder's ``integration_overrides.csv`` as a validated table (None without one).

    Parameters
    ----------
    raw_dir : path-like
        The raw folder (read only).
    cases : DataFrame
        The cases table: overrides may name these cases and ``"all"``.

    Returns
    -------
    DataFrame or None
        construct, case_id, fit_label, meta_inference, evaluator, date, reason
        (text), indexed by the spreadsheet row (``row``, header = 1).

    Raises
    ------
    DataError
        A construct unknown to the integration map in force (the folder's
        ``integration_map.toml`` or the package's), an unknown case or label,
        a missing evaluator, date or reason (see `integrate.read_overrides`).
    """
    path = Path(raw_dir) / OVERRIDES_FILENAME
    if not path.is_file():
        return None
    constructs = load_integration_map(raw_dir).names
    overrides = read_overrides(path, constructs=constructs, cases=[*cases["case_id"].dropna().astype(str), "all"])
    overrides.index = pd.RangeIndex(2, len(overrides) + 2, name="row")
    return overrides


def _carry_integration_map(raw_dir: Path, out_dir: Path) -> dict | None:
    """Copy a validated ``integration_map.toml`` into the processed folder; remove a stale copy."""
    source, target = raw_dir / MAP_FILENAME, out_dir / MAP_FILENAME
    if not source.is_file():
        target.unlink(missing_ok=True)
        return None
    load_integration_map(source)  # raises DataError naming the key and the file
    atomic_write_bytes(target, source.read_bytes())
    return {"file": target.name, "source": source.name, "sha256": sha256_file(target)}


def _carry_analysis_plan(raw_dir: Path, out_dir: Path) -> dict | None:
    """Copy a validated ``analysis_plan.toml`` into the processed folder (its name, checksum and date in the manifest)."""
    source, target = raw_dir / PLAN_FILENAME, out_dir / PLAN_FILENAME
    if not source.is_file():
        target.unlink(missing_ok=True)
        return None
    record = plan_record(source)  # raises DataError naming the key and the file
    atomic_write_bytes(target, source.read_bytes())
    return {**record, "file": target.name, "source": source.name}


def _integration_raw_files(raw_dir: Path, overrides: pd.DataFrame | None) -> dict:
    """Manifest entries (checksums) of the raw folder's integration files, so a run records them as inputs."""
    entries = {}
    for name, table in ((MAP_FILENAME, None), (PLAN_FILENAME, None), (OVERRIDES_FILENAME, INTEGRATION_OVERRIDES)):
        path = raw_dir / name
        if path.is_file():
            rows = {"rows": int(len(overrides))} if table and overrides is not None else {}
            entries[name] = {"table": table, **rows, "bytes": path.stat().st_size, "sha256": sha256_file(path)}
    return entries


def _raise_if_failed(report: ValidationReport) -> None:
    if report.ok:
        return
    problems = [
        Problem(**{k: (None if pd.isna(v) else (int(v) if k == "row" else v)) for k, v in record.items()})
        for record in report.problems.to_dict("records")
    ]
    raise ValidationFailed(problems)


def prepare(raw_dir: Path | str, out_dir: Path | str, *, on_report: Callable[[ValidationReport], None] | None = None) -> dict:
    """Validate a raw folder, then write typed parquet tables and ``manifest.json``.

    Parameters
    ----------
    raw_dir : path-like
        Folder with the raw tables (see the data dictionary). Only read.
    out_dir : path-like
        Where ``<table>.parquet``, ``redaction_terms.parquet`` and
        ``manifest.json`` go (created when missing; must not be `raw_dir` or
        inside it).

    Returns
    -------
    dict
        The manifest: per raw file its SHA-256 and rows (a REFI-QDA project
        also with the rows of the tables it supplied and the import's counts,
        skipped items and warnings), per processed table
        its file, rows, columns and SHA-256, the package version, the source
        folder, the dataset metadata (``dataset.toml``), validation counts, how
        many redaction terms there are and how many replacements they made in
        the interview texts, and the time (``created``, the only field that
        changes between runs).

    Raises
    ------
    ValidationFailed
        The raw data have errors; it holds every problem.
    DataError
        `out_dir` is the raw folder or inside it.

    Examples
    --------
    >>> manifest = prepare("data/raw/example", "data/processed")  # doctest: +SKIP
    >>> manifest["dataset"]["synthetic"]  # doctest: +SKIP
    True
    """
    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    if raw_dir.is_dir() and out_dir.resolve().is_relative_to(raw_dir.resolve()):
        raise DataError(
            "the output folder must not be the raw folder or inside it (raw data are never written to)",
            file=str(out_dir),
            expected=f"a folder outside {raw_dir}, e.g. data/processed",
        )
    inputs_fingerprint = _inputs_fingerprint(raw_dir)
    raw_data = read_raw_dir(raw_dir)
    names_file = raw_dir / REDACTION_NAMES_FILE
    listed = read_name_list(names_file) if names_file.is_file() else []
    transcripts = _BackgroundRedaction.start(raw_data, listed)
    try:
        report = validate_raw(raw_data)  # = validate_dir(raw_dir)
        if on_report is not None:  # e.g. `run` shows every warning (issue 14)
            on_report(report)
        _raise_if_failed(report)
        tables, replacements = _processed_and_redacted(report.data, extra_names=listed, transcripts=transcripts)
    finally:
        if transcripts is not None:
            transcripts.cancel()
    # Declared missing-value codes (instrument.missing_codes, e.g. 99) are empty values in the processed data.
    if "survey_responses" in tables and "instrument" in tables:
        coded = declared_missing(tables["survey_responses"], tables["instrument"])
        if coded.any():
            tables["survey_responses"] = tables["survey_responses"].assign(value=tables["survey_responses"]["value"].mask(coded))
    # A header-only optional file (as `templates` writes them) is an absent table (issue 14): the reports skip
    # what needs it instead of failing on an empty, untyped frame.
    tables = {name: frame for name, frame in tables.items()
              if not (name in schema.TABLES and not schema.TABLES[name].required and len(frame) == 0)}
    overrides = integration_overrides(raw_dir, report.data["cases"])
    if overrides is not None:
        tables[INTEGRATION_OVERRIDES] = overrides

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
    carried_map = _carry_integration_map(raw_dir, out_dir)
    carried_plan = _carry_analysis_plan(raw_dir, out_dir)

    raw = report.raw
    raw_files = {
        path.name: {
            "table": table,
            "rows": int(len(raw.tables[table])),
            "bytes": path.stat().st_size,
            "sha256": sha256_file(path),
            **({"value_labels": raw.value_labels[table]} if raw.value_labels.get(table) else {}),
        }
        for table, path in sorted(raw.files.items(), key=lambda item: item[1].name)
    }
    for extra in sorted([raw.root / "dataset.toml", names_file, *raw.qda_files]):
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
    raw_files.update(_integration_raw_files(raw_dir, overrides))
    manifest = {
        "package": "ponzoni_eval",
        "version": __version__,
        "inputs_fingerprint": inputs_fingerprint,
        "source": raw_dir.as_posix(),
        "dataset": raw.metadata,
        "raw_files": raw_files,
        "tables": written,
        "files": {key: entry for key, entry in (("integration_map", carried_map), ("analysis_plan", carried_plan)) if entry},
        "validation": {"errors": report.n_errors, "warnings": report.n_warnings},
        "profile": data_profile(tables),  # what the data allow: the run plan is computed from it (data/plan.py)
        # counts only: the terms themselves stay in redaction_terms.parquet
        "redaction": {
            "terms": int(len(tables[REDACTION_TERMS])) if REDACTION_TERMS in tables else 0,
            "replacements": replacements,
        },
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    atomic_write_text(out_dir / MANIFEST_FILE, json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n")
    return manifest


def _remove_stale_tables(out_dir: Path, keep: set[str]) -> None:
    """Remove processed tables of an earlier run whose raw table is gone (e.g. activity_log deleted)."""
    for name in [*schema.TABLES, REDACTION_TERMS, INTEGRATION_OVERRIDES]:
        if name not in keep:
            (out_dir / f"{name}.parquet").unlink(missing_ok=True)
