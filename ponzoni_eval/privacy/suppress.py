"""Small-cell suppression: published counts of people below a threshold, and the cells that would give them away."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ponzoni_eval._core.errors import DataError
from ponzoni_eval.config import DEFAULT_MIN_CELL

__all__ = [
    "suppress_small_cells",
    "format_suppressed",
    "CountRules",
    "DEFAULT_MIN_CELL",
]




# --- small-cell suppression ---------------------------------------------------


def suppress_small_cells(
    table: pd.DataFrame,
    *,
    count_columns: Sequence[str],
    threshold: int = DEFAULT_MIN_CELL,
    derived: dict[str, str] | None = None,
    margins: str | None = None,
    marker: str | None = None,
    secondary_marker: str = "x",
    groups: Sequence[Sequence[str]] | None = None,
) -> pd.DataFrame:
    """Disclosure control for published count tables: blank counts below a threshold.

    Parameters
    ----------
    table : DataFrame
        A count table (e.g. `ponzoni_eval.qual.quantitize.prevalence` output or a
        crosstab with one column per category).
    count_columns : sequence of str
        Columns holding counts of people.
    threshold : int
        Counts ``1 <= n < threshold`` are suppressed (default 5).
    derived : dict, optional
        ``{derived_column: count_column}``: values computed from a count
        (a percentage) are blanked with it, e.g. ``{"percent": "n_with_code"}``.
    margins : {None, "rows", "columns", "both"}
        Which published totals the counts add up to. ``"rows"``: the
        ``count_columns`` of a row sum to a row total published elsewhere;
        ``"columns"``: each count column sums to a published column total.
        Then a lone suppressed cell in a row / column could be recovered by
        subtraction, so a complementary cell is suppressed too (secondary
        suppression). None (default) for tables without such totals, e.g.
        prevalence tables where ``n_with_code`` and ``n_at_risk`` are not
        parts of one total.
    marker : str, optional
        Display text of a primary-suppressed count (default ``"<threshold"``,
        e.g. ``"<5"``).
    groups : sequence of column lists, optional
        For a table in long form (one count per row): each entry names the
        columns whose equal values make a *line* of rows that add up to a
        total published elsewhere, e.g. ``[("case_id", "wave", "role"),
        ("case_id", "wave")]`` for respondents per role (the response
        table) and per wave (the test's n). A line with exactly one
        suppressed count gets a second one (the smallest positive count of
        the line), so the total minus the shown counts gives a sum of
        several hidden cells, not one cell; repeated until stable over all
        groups. ``count_columns`` must then be one column.
    secondary_marker : str
        Display text of secondary-suppressed and derived cells (default
        ``"x"``, as Statistics Netherlands marks confidential cells): showing
        "<5" there would be false.

    Returns
    -------
    DataFrame
        A copy: suppressed count cells are missing (``Int64``), suppressed
        derived cells are NaN, and every count and derived column ``c`` gets
        a companion ``c_flag`` column with the display text ("" when shown).
        `format_suppressed` turns the frame into display text ("<5", "x")
        for CSV and HTML.

    Notes
    -----
    - Zero is not suppressed: "nobody in this group" is usually the finding
      (nobody mentioned the theme), and a zero does not single out a person.
      Where a zero itself discloses (everyone in a group *has* an attribute),
      disclose less: merge groups.
    - Secondary suppression (``margins``) repeats until stable: in every row
      (column) with exactly one suppressed cell, the smallest positive
      unsuppressed cell is suppressed too (a zero when none is positive).
    - Limits: this is the simple heuristic, not an optimal cell-suppression
      solution (tau-ARGUS solves that); it protects one table against its own
      margins, not against differencing across several published tables or
      against knowledge of who took part. With three small cases, prefer
      fewer, coarser tables.

    References
    ----------
    Hundepool, A., et al. (2012). *Statistical Disclosure Control*. Wiley,
    ch. 5 (frequency tables, primary and secondary suppression).

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"case_id": ["a", "b"], "n_with_code": [3, 12], "n_at_risk": [8, 20],
    ...                       "percent": [37.5, 60.0]})
    >>> out = suppress_small_cells(table, count_columns=["n_with_code"], derived={"percent": "n_with_code"})
    >>> print(format_suppressed(out).to_string(index=False))
    case_id n_with_code  n_at_risk percent
          a          <5          8       x
          b          12         20    60.0
    """
    if threshold < 1:
        raise ValueError(f"threshold must be at least 1, not {threshold}")
    if margins not in (None, "rows", "columns", "both"):
        raise ValueError(f"margins must be None, 'rows', 'columns' or 'both', not {margins!r}")
    derived = dict(derived or {})
    columns = list(count_columns)
    missing = [c for c in [*columns, *derived, *derived.values()] if c not in table.columns]
    if missing:
        raise DataError(f"column(s) {', '.join(missing)} not in the table", expected="existing columns", rule="required_columns")
    unknown_sources = sorted(set(derived.values()) - set(columns))
    if unknown_sources:
        raise ValueError(f"derived columns must come from count_columns; not counted: {unknown_sources}")

    counts = table[columns].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isnan(counts) & ((counts < 0) | (counts != np.round(counts)))
    if bad.any():
        row, col = map(int, np.argwhere(bad)[0])
        raise DataError(
            "counts must be whole numbers of at least 0",
            row=row + 2,
            column=columns[col],
            expected="0, 1, 2, ...",
            found=counts[row, col],
            rule="count",
        )
    primary = (counts >= 1) & (counts < threshold)
    secondary = _secondary_suppression(counts, primary, margins)
    if groups:
        if len(columns) != 1:
            raise ValueError("groups is for tables in long form: give one count column")
        unknown = sorted({c for group in groups for c in group} - set(table.columns))
        if unknown:
            raise DataError(f"group column(s) {', '.join(unknown)} not in the table", expected="existing columns", rule="required_columns")
        secondary[:, 0] |= _secondary_in_groups(table, counts[:, 0], primary[:, 0] | secondary[:, 0], groups, primary[:, 0], threshold)
        secondary &= ~primary

    out = table.copy()
    marker = f"<{threshold}" if marker is None else marker
    for position, column in enumerate(columns):
        hidden = primary[:, position] | secondary[:, position]
        out[column] = pd.array(np.where(hidden, np.nan, counts[:, position]), dtype="Float64").astype("Int64")
        out[f"{column}_flag"] = np.where(primary[:, position], marker, np.where(secondary[:, position], secondary_marker, ""))
    for column, source in derived.items():
        position = columns.index(source)
        hidden = primary[:, position] | secondary[:, position]
        out[column] = out[column].astype("float64").mask(hidden)
        out[f"{column}_flag"] = np.where(hidden, secondary_marker, "")
    return out


@dataclass(frozen=True)
class CountRules:
    """Which columns of a table count people: the publishing rule a report section declares for a table it makes.

    Parameters
    ----------
    count_columns : sequence of str
        Columns holding counts of people (suppressed from 1 to ``threshold - 1``).
    derived : mapping, optional
        ``{derived_column: count_column}``: values computed from a count (a
        percentage), blanked with it.
    margins : {None, "rows", "columns", "both"}
        Published totals the counts add up to (secondary suppression), as for
        `suppress_small_cells`.
    groups : sequence of column lists
        For a long table: lines of rows that add up to a published total
        (secondary suppression within each line), as for `suppress_small_cells`.

    Notes
    -----
    The rule is data, not a mark on a frame: the function that builds a
    table knows which of its columns count people and says so where the
    table is made (`ponzoni_eval.report.sections`), and the run applies it
    (`ponzoni_eval.report.RunContext.save_section`) before anything is
    written or drawn.

    Examples
    --------
    >>> import pandas as pd
    >>> rules = CountRules(["n_with_code"], derived={"percent": "n_with_code"})
    >>> out = rules.apply(pd.DataFrame({"n_with_code": [3, 12], "percent": [30.0, 60.0]}), threshold=5)
    >>> out["n_with_code_flag"].tolist(), out["percent_flag"].tolist()
    (['<5', ''], ['x', ''])
    """

    count_columns: tuple[str, ...]
    derived: Mapping[str, str] = field(default_factory=dict)
    margins: str | None = None
    groups: tuple[tuple[str, ...], ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.count_columns, str) or not self.count_columns:
            raise TypeError("CountRules needs a list of the columns that count people, e.g. CountRules(['n'])")
        object.__setattr__(self, "count_columns", tuple(self.count_columns))
        object.__setattr__(self, "derived", dict(self.derived or {}))
        object.__setattr__(self, "groups", tuple(tuple(group) for group in (self.groups or ())))
        unknown = sorted(set(self.derived.values()) - set(self.count_columns))
        if unknown:
            raise ValueError(f"derived columns must come from count_columns; not counted: {unknown}")
        if self.margins not in (None, "rows", "columns", "both"):
            raise ValueError(f"margins must be None, 'rows', 'columns' or 'both', not {self.margins!r}")

    def apply(self, table: pd.DataFrame, *, threshold: int = DEFAULT_MIN_CELL) -> pd.DataFrame:
        """`suppress_small_cells` of `table` under these rules (a copy; `table` is not changed)."""
        return suppress_small_cells(
            table, count_columns=self.count_columns, derived=self.derived, margins=self.margins, threshold=threshold,
            groups=self.groups or None,
        )

    def record(self, threshold: int) -> dict:
        """What a run records about the suppression of a table (its sidecar's ``suppressed``)."""
        return {"count_columns": list(self.count_columns), "threshold": threshold, **({"derived": dict(self.derived)} if self.derived else {}),
                **({"groups": [list(group) for group in self.groups]} if self.groups else {})}


def _secondary_suppression(counts: np.ndarray, primary: np.ndarray, margins: str | None) -> np.ndarray:
    """Cells to suppress so that no suppressed cell is the only one in a row/column with a total."""
    secondary = np.zeros_like(primary)
    if margins is None:
        return secondary
    axes = {"rows": [1], "columns": [0], "both": [1, 0]}[margins]
    # Candidates: smallest positive cell first, zeros last, missing never.
    cost = np.where(np.isnan(counts), np.inf, np.where(counts > 0, counts, np.nanmax(counts, initial=0) + 1))
    for _ in range(counts.size):  # each pass suppresses at least one cell or stops
        changed = False
        for axis in axes:
            hidden = primary | secondary
            lone = hidden.sum(axis=axis) == 1
            available = np.where(hidden, np.inf, cost)
            pick = np.argmin(available, axis=axis)
            best = np.take_along_axis(available, np.expand_dims(pick, axis), axis=axis).squeeze(axis)
            fix = lone & np.isfinite(best)
            if fix.any():
                lines = np.flatnonzero(fix)
                if axis == 1:
                    secondary[lines, pick[lines]] = True
                else:
                    secondary[pick[lines], lines] = True
                changed = True
        if not changed:
            break
    return secondary & ~primary


MAX_CELLS_CHECKED = 7
"""A line with more hidden cells than this is taken as protected (the check enumerates every assignment)."""


def _pinned(values: np.ndarray, is_primary: np.ndarray, threshold: int) -> bool:
    """Whether a reader who knows the line's total pins a primary-suppressed count of it to one value.

    The reader knows the rule: a primary cell holds 1..threshold-1, a secondary one 0 or at
    least `threshold`. With the hidden cells' sum known (total minus the shown cells), two
    hidden primaries adding up to 2 (or to 8 for threshold 5) are both pinned, and so is a
    primary beside a secondary zero when their sum is below the threshold.
    """
    if len(values) > MAX_CELLS_CHECKED or not is_primary.any():
        return False
    total = int(values.sum())
    domains = [range(1, min(threshold - 1, total) + 1) if primary else [0, *range(threshold, total + 1)]
               for primary in is_primary]
    seen: list[set[int]] = [set() for _ in values]
    for assignment in _assignments(domains, total):
        for position, value in enumerate(assignment):
            seen[position].add(value)
    return any(primary and len(found) == 1 for primary, found in zip(is_primary, seen))


def _assignments(domains: list, total: int):
    """Every tuple from `domains` that adds up to `total` (depth-first, pruned by the remaining sum)."""
    if not domains:
        if total == 0:
            yield ()
        return
    for value in domains[0]:
        if value > total:
            break
        for rest in _assignments(domains[1:], total - value):
            yield (value, *rest)


def _secondary_in_groups(
    table: pd.DataFrame, counts: np.ndarray, hidden: np.ndarray, groups: Sequence[Sequence[str]],
    primary: np.ndarray | None = None, threshold: int = DEFAULT_MIN_CELL,
) -> np.ndarray:
    """Rows to suppress so that in no line of a long table (rows equal in a group's columns) the
    line's total pins a hidden count: never exactly one hidden count, and never hidden counts
    whose sum leaves them one value each (`_pinned`)."""
    primary = hidden.copy() if primary is None else primary
    hidden = hidden.copy()
    start = hidden.copy()
    cost = np.where(np.isnan(counts), np.inf, np.where(counts > 0, counts, np.nanmax(counts, initial=0) + 1))
    lines = [
        list(pd.Series(np.arange(len(table))).groupby([table[c].astype("str").to_numpy() for c in group], sort=False).indices.values())
        for group in groups
    ]
    for _ in range(len(counts) + 1):  # each pass hides at least one more row or stops
        changed = False
        for members_of_group in lines:
            for members in members_of_group:
                n_hidden = int(hidden[members].sum())
                if n_hidden == 0:
                    continue
                if n_hidden > 1:
                    inside = members[hidden[members]]
                    if np.isnan(counts[inside]).any() or not _pinned(counts[inside], primary[inside], threshold):
                        continue
                available = np.where(hidden[members], np.inf, cost[members])
                if np.isfinite(available.min()):
                    hidden[members[int(np.argmin(available))]] = True
                    changed = True
        if not changed:
            break
    return hidden & ~start


def format_suppressed(frame: pd.DataFrame) -> pd.DataFrame:
    """Display version of a `suppress_small_cells` result: markers in place of blanks.

    Parameters
    ----------
    frame : DataFrame
        Output of `suppress_small_cells`.

    Returns
    -------
    DataFrame
        Flagged columns as text: the count or value where shown, the marker
        ("<5", "x") where suppressed; the ``*_flag`` columns removed. Write this
        to CSV/HTML for publication; keep the numeric frame for computation.

    Notes
    -----
    Floats are shown with up to one decimal (percentages).

    References
    ----------
    See `suppress_small_cells`.

    Examples
    --------
    >>> import pandas as pd
    >>> out = suppress_small_cells(pd.DataFrame({"n": [2, 7]}), count_columns=["n"])
    >>> format_suppressed(out)["n"].tolist()
    ['<5', '7']
    """
    out = frame.copy()
    flag_columns = [c for c in frame.columns if c.endswith("_flag") and c[: -len("_flag")] in frame.columns]
    for flag in flag_columns:
        column = flag[: -len("_flag")]
        values = out[column]
        if pd.api.types.is_float_dtype(values):
            shown = values.map(lambda v: "" if pd.isna(v) else f"{v:.1f}")
        else:
            shown = values.astype("string").fillna("")
        out[column] = shown.where(out[flag] == "", out[flag]).astype("str")
    return out.drop(columns=flag_columns)
