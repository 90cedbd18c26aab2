"""The evaluator's overrides of fit labels and meta-inferences (`integration_overrides.csv`)."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from ponzoni_eval._core.errors import DataError
from ponzoni_eval.integrate.fit import FIT_LABELS

__all__ = [
    "read_overrides",
    "OVERRIDES_FILENAME",
]


OVERRIDES_FILENAME = "integration_overrides.csv"
_OVERRIDE_COLUMNS = ("construct", "case_id", "fit_label", "meta_inference", "evaluator", "date", "reason")


# --- overrides -------------------------------------------------------------------------------


def read_overrides(
    source: str | os.PathLike | pd.DataFrame | None,
    *,
    constructs: Iterable[str],
    cases: Iterable[str],
) -> pd.DataFrame:
    """Read and validate an evaluator's overrides (never writes to it).

    Parameters
    ----------
    source : path-like, DataFrame or None
        ``integration_overrides.csv`` or the raw data folder holding it (a
        folder without one means no overrides), or a frame with the same
        columns, or None.
    constructs, cases : iterable of str
        What may be overridden.

    Returns
    -------
    DataFrame with construct, case_id, fit_label (may be empty: keep the
    computed label), meta_inference (may be empty), evaluator, date, reason.

    Raises
    ------
    DataError
        Naming file, row (header = row 1) and column: unknown construct,
        case or label, missing evaluator/date/reason, a bad date, a repeated
        construct x case, or an override that changes nothing.
    """
    columns = list(_OVERRIDE_COLUMNS)
    if source is None:
        return pd.DataFrame({c: pd.Series(dtype="str") for c in columns})
    if isinstance(source, pd.DataFrame):
        frame, file = source.copy(), "overrides"
    else:
        path = Path(source)
        if path.is_dir():
            path = path / OVERRIDES_FILENAME
            if not path.is_file():
                return read_overrides(None, constructs=constructs, cases=cases)
        if not path.is_file():
            raise DataError("overrides file not found", file=str(path), rule="exists")
        frame, file = _read_small_csv(path), str(path)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(
            "overrides lack required column(s)", file=file, row=1, column=missing[0], expected=", ".join(columns), found=", ".join(map(str, frame.columns)), rule="columns"
        )
    unknown = [c for c in frame.columns if c not in columns]
    if unknown:
        raise DataError("unknown column in overrides", file=file, row=1, column=str(unknown[0]), expected=", ".join(columns), rule="columns")
    frame = frame.loc[:, columns].astype("str").fillna("")
    frame = frame.apply(lambda s: s.str.strip())
    frame["fit_label"] = frame["fit_label"].str.lower()
    checks = [
        ("construct", ~frame["construct"].isin(list(constructs)), "unknown construct", ", ".join(constructs)),
        ("case_id", ~frame["case_id"].isin(list(cases)), "unknown case", ", ".join(cases)),
        ("fit_label", ~frame["fit_label"].isin([*FIT_LABELS, ""]), "unknown fit label", ", ".join(FIT_LABELS) + " (or empty to keep the computed one)"),
        ("evaluator", frame["evaluator"] == "", "who made the judgement must be recorded", "a name or initials"),
        ("date", pd.to_datetime(frame["date"], format="%Y-%m-%d", errors="coerce").isna(), "bad date", "YYYY-MM-DD"),
        ("reason", frame["reason"] == "", "an override needs a reason", "a short reason"),
        ("fit_label", (frame["fit_label"] == "") & (frame["meta_inference"] == ""), "override changes nothing", "a fit_label or a meta_inference"),
        ("case_id", frame.duplicated(["construct", "case_id"]), "construct x case overridden twice", "one row per construct x case"),
    ]
    for column, bad, message, expected in checks:
        if bad.any():
            position = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(message, file=file, row=position + 2, column=column, expected=expected, found=frame[column].iloc[position], rule="override")
    return frame.reset_index(drop=True)


def _read_small_csv(path: Path) -> pd.DataFrame:
    # Spreadsheet programs in Dutch locales write ';'; sniff the first line, accept a BOM.
    text = path.read_text(encoding="utf-8-sig")
    first = text.splitlines()[0] if text else ""
    delimiter = ";" if first.count(";") > first.count(",") else ","
    return pd.read_csv(io.StringIO(text), sep=delimiter, dtype="str", keep_default_na=False, quoting=csv.QUOTE_MINIMAL)
