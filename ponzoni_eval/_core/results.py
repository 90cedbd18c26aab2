"""The one result shape that every statistical test returns.

Results from all analyses stack into one table and one report. A row is one
test of one outcome in one group::

    analysis, case_id, group, outcome, test, n, statistic, df, p_value,
    p_adjusted, effect_size, effect_name, ci_low, ci_high, min_detectable, note

- ``analysis``: the question (e.g. ``pre_post``, ``perception_gap``,
  ``expectation_mismatch``, ``cross_case``, ``help_seeking_its``); also the
  default family for multiplicity adjustment.
- ``case_id``: the case, or ``"all"`` for pooled/cross-case results.
- ``group``: the subgroup within the case (e.g. ``role=professional``,
  ``t0->t2``), or empty.
- ``outcome``: what was measured (a scale, an item, an event type, a code).
- ``test``: the test or model term (``paired_t``, ``wilcoxon``, ``fisher_exact``...).
- ``n``: the number of units that entered the test after missing-data handling.
- ``effect_size`` / ``effect_name`` / ``ci_low`` / ``ci_high``: the effect and
  its 95% CI (``ci_*`` are on the effect-size scale, e.g. a rate ratio).
- ``min_detectable``: the smallest effect (same metric as ``effect_name``)
  detectable with 80% power at this n and alpha (our addition to the shape:
  with samples this small a reader needs it beside every non-significant p).
- ``note``: what a reader must know: exact vs. asymptotic, small n, cells
  suppressed, or why a test could not be run (then the numbers are empty).

A test that cannot be run (n too small, a constant variable) returns a row
with a note instead of raising, so one thin group never stops a report.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

RESULT_COLUMNS: tuple[str, ...] = (
    "analysis",
    "case_id",
    "group",
    "outcome",
    "test",
    "n",
    "statistic",
    "df",
    "p_value",
    "p_adjusted",
    "effect_size",
    "effect_name",
    "ci_low",
    "ci_high",
    "min_detectable",
    "note",
)

_TEXT = ("analysis", "case_id", "group", "outcome", "test", "effect_name", "note")
_FLOAT = ("statistic", "df", "p_value", "p_adjusted", "effect_size", "ci_low", "ci_high", "min_detectable")

__all__ = ["RESULT_COLUMNS", "result_row", "result_frame", "stack_results", "empty_results"]


def result_row(**fields: Any) -> dict[str, Any]:
    """One result as a dict with every standard column (missing ones are NA).

    Unknown keys raise ``TypeError``: a misspelt column would otherwise vanish.
    """
    unknown = set(fields) - set(RESULT_COLUMNS)
    if unknown:
        raise TypeError(f"unknown result column(s): {sorted(unknown)}; allowed: {RESULT_COLUMNS}")
    return {col: fields.get(col) for col in RESULT_COLUMNS}


def result_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Build a frame in the standard result shape with stable dtypes."""
    records = [result_row(**dict(r)) for r in rows]
    frame = pd.DataFrame.from_records(records, columns=list(RESULT_COLUMNS))
    return _coerce(frame)


def empty_results() -> pd.DataFrame:
    return result_frame([])


def stack_results(*frames: pd.DataFrame) -> pd.DataFrame:
    """Concatenate result frames (each already in the standard shape)."""
    parts = [f for f in frames if f is not None and len(f)]
    if not parts:
        return empty_results()
    for f in parts:
        missing = set(RESULT_COLUMNS) - set(f.columns)
        if missing:
            raise ValueError(f"not a standard result frame; missing columns {sorted(missing)}")
    return _coerce(pd.concat([f.loc[:, list(RESULT_COLUMNS)] for f in parts], ignore_index=True))


def _coerce(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in _TEXT:
        out[col] = out[col].astype("str")  # pandas 3: missing stays missing
    for col in _FLOAT:
        out[col] = pd.to_numeric(out[col], errors="raise").astype("float64")
    out["n"] = pd.to_numeric(out["n"], errors="raise").astype("Int64")
    # Infinite statistics (e.g. a perfect separation) are reported as missing with a note by callers.
    out[list(_FLOAT)] = out[list(_FLOAT)].replace([np.inf, -np.inf], np.nan)
    return out
