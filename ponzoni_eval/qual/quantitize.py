"""Quantitizing coded interviews: presence, prevalence, co-occurrence, crosstabs.

Sandelowski's quantitizing turns qualitative codes into numbers a reader can
compare across cases: "did this participant mention the theme?" (0/1), how
many participants in each case did, which codes are applied to the same text,
and whether mentioning a theme differs between cases or roles.

Input is the ``coded_segments`` table (one row per code application by one
coder: document_id, participant_id, case_id, wave, coder, code, start, end,
text), optionally with ``codebook`` (code -> theme) and ``participants``
(participant_id, case_id, role, ...). See ``docs/architecture.md``.

Which coder counts
------------------
Documents that were double-coded for an agreement check carry two codings.
Quantitizing needs one. Every function that reads ``coded_segments`` takes
``coder=``:

- ``"primary"`` (default): per document, the coding of the *primary coder*,
  i.e. the coder who coded the most documents overall (ties: alphabetical).
  On a double-coded document the main coder's coding is used; on a document
  only the second coder coded, that coder's coding is used. Every coded
  document keeps exactly one coding, so counts are not doubled.
- ``"any"``: a code is present in a document when any of its coders applied
  it (union); its count is the largest count among those coders.
- ``"all"``: present only when every coder of that document applied it
  (consensus, intersection); its count is the smallest count.
- a coder's name: only that coder's documents (documents they did not code
  are treated as not coded, so their participants are not "at risk").
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from ponzoni_eval._core.errors import DataError, require_columns
from ponzoni_eval._core.results import result_frame
from ponzoni_eval.config import DEFAULT_SEED
from ponzoni_eval.privacy.suppress import CountRules
from ponzoni_eval.stats.crosstab import crosstab_test

__all__ = [
    "CODER_RULES",
    "code_presence",
    "group_segments_excluded",
    "presence_matrix",
    "prevalence",
    "PREVALENCE_COUNTS",
    "cooccurrence",
    "theme_crosstab",
]

PREVALENCE_COUNTS = CountRules(["n_with_code"], derived={"percent": "n_with_code"})
"""The publishing rule of a `prevalence` table: ``n_with_code`` counts people, ``percent`` is computed from it."""

CODER_RULES = ("primary", "any", "all")
"""Rules for choosing one coding per document; a coder's name is also accepted."""

_UNIT_COLUMNS = ("document_id", "participant_id", "case_id", "wave")
_SEGMENT_COLUMNS = ("document_id", "participant_id", "case_id", "wave", "coder", "code")


# --- input checks -------------------------------------------------------------


def _as_tuple(value: str | Sequence[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _document_attributes(segments: pd.DataFrame) -> pd.DataFrame:
    """One row per document: participant_id, case_id, wave (must not vary within a document)."""
    attributes = ["participant_id", "case_id", "wave"]
    varying = segments.groupby("document_id", sort=True)[attributes].nunique(dropna=False)
    conflicted = varying[(varying > 1).any(axis=1)]
    if len(conflicted):
        document = conflicted.index[0]
        column = str(conflicted.columns[(conflicted.iloc[0] > 1).to_numpy()][0])
        found = sorted(segments.loc[segments["document_id"] == document, column].dropna().astype(str).unique())
        raise DataError(
            f"document '{document}' has more than one {column} ({len(conflicted)} document(s) affected)",
            file="coded_segments",
            column=column,
            expected=f"one {column} per document",
            found=", ".join(found),
            rule="document_attributes",
        )
    return segments.drop_duplicates("document_id").set_index("document_id")[attributes].sort_index()


def _coder_ranking(segments: pd.DataFrame) -> pd.Series:
    """Rank of each coder: most documents coded first, ties alphabetical (rank 0 = primary)."""
    documents_per_coder = segments.groupby("coder")["document_id"].nunique()
    order = sorted(documents_per_coder.index, key=lambda coder: (-documents_per_coder[coder], str(coder)))
    return pd.Series(np.arange(len(order)), index=pd.Index(order, name="coder"), name="rank")


def _validate_coder(segments: pd.DataFrame, coder: str) -> None:
    if not isinstance(coder, str) or not coder:
        raise TypeError(f"coder must be one of {CODER_RULES} or a coder's name, not {coder!r}")
    if coder not in CODER_RULES and coder not in set(segments["coder"].unique()):
        raise DataError(
            f"coder '{coder}' does not occur in coded_segments",
            file="coded_segments",
            column="coder",
            expected=f"one of {CODER_RULES} or one of the coders {sorted(segments['coder'].unique())}",
            found=coder,
            rule="known_coder",
        )


def _select_rows(segments: pd.DataFrame, coder: str) -> pd.DataFrame:
    """Rows of one coding per document: the primary coder's or a named coder's."""
    if coder == "primary":
        # as numbers: mapping a categorical coder column (processed tables) would give an unordered categorical
        rank = segments["coder"].astype("str").map(_coder_ranking(segments)).astype("int64")
        best = rank.groupby(segments["document_id"]).transform("min")
        return segments.loc[rank == best]
    return segments.loc[segments["coder"] == coder]


Level = "str | int | Sequence[str]"

PATH_SEPARATOR = " / "  # as ponzoni_eval.qual.model.PATH_SEPARATOR (qual.model imports pandas-free parts only)


def _code_paths(codebook: pd.DataFrame) -> pd.Series:
    """code -> tuple of path levels: the ``path`` column, else ``theme / code`` (a hand-made codebook)."""
    book = codebook.drop_duplicates("code").set_index("code")
    if "path" in book.columns:
        given = book["path"].where(book["path"].notna(), None)
    else:
        given = pd.Series(None, index=book.index, dtype=object)
    out = {}
    for code, path in given.items():
        if isinstance(path, str) and path.strip():
            out[code] = tuple(part.strip() for part in path.split(PATH_SEPARATOR.strip()) if part.strip())
        else:
            theme = book.at[code, "theme"] if "theme" in book.columns else None
            out[code] = (str(theme), str(code)) if isinstance(theme, str) and theme else (str(code),)
    return pd.Series(out, dtype=object)


def _branch_map(level: int | Sequence[str], codebook: pd.DataFrame) -> dict[str, str]:
    """code -> its branch: the path down to ``level`` (an int), or the most specific listed branch containing it."""
    paths = _code_paths(codebook)
    if isinstance(level, (int, np.integer)) and not isinstance(level, bool):
        if level < 1:
            raise ValueError(f"a tree level counts from 1 (the top), not {level}")
        return {code: PATH_SEPARATOR.join(path[:level]) for code, path in paths.items()}
    wanted = list(dict.fromkeys(str(b) for b in level))
    if not wanted:
        raise ValueError("level= as a list needs at least one branch")
    keyed: dict[str, tuple[str, ...]] = {}
    for branch in wanted:
        parts = tuple(p.strip() for p in branch.split(PATH_SEPARATOR.strip()) if p.strip())
        if len(parts) == 1:  # a name: the code of that name, else the level of that name (when it is one)
            if branch in paths.index:
                parts = paths[branch]
            else:
                found = {path[: path.index(parts[0]) + 1] for path in paths if parts[0] in path}
                if len(found) > 1:
                    raise DataError(f"branch '{branch}' names several levels of the code tree",
                                    file="codebook", column="path", expected="the branch's path, e.g. 'A / B'",
                                    found=", ".join(sorted(PATH_SEPARATOR.join(f) for f in found)), rule="code_branch")
                parts = found.pop() if found else parts
        if not any(path[: len(parts)] == parts for path in paths):
            raise DataError(f"branch '{branch}' is not in the code tree", file="codebook", column="path",
                            expected="a code name or a path such as 'A / B'", found=branch, rule="code_branch")
        keyed[branch] = parts
    out = {}
    for code, path in paths.items():
        inside = [b for b, parts in keyed.items() if path[: len(parts)] == parts]
        if inside:
            out[code] = max(inside, key=lambda b: len(keyed[b]))
    return out


def _label_column(segments: pd.DataFrame, level: Level, codebook: pd.DataFrame | None) -> pd.Series:
    """The code of each segment, its theme, or its branch of the code tree (missing: outside the listed branches)."""
    if isinstance(level, str) and level == "code":
        return segments["code"].rename("code")
    if isinstance(level, str) and level != "theme":
        raise ValueError(f"level must be 'code', 'theme', a tree level (1, 2, ...) or a list of branches, not {level!r}")
    if codebook is None:
        raise DataError(f"level={level!r} needs the codebook (code -> theme, path)", file="codebook", rule="codebook_needed")
    require_columns(codebook, ("code", "theme"), "codebook")
    known = set(codebook["code"].astype("str"))
    unknown = sorted(set(segments["code"].astype("str")) - known)
    if unknown:
        raise DataError(
            f"{len(unknown)} code(s) in coded_segments are missing from the codebook",
            file="codebook",
            column="code",
            expected="every applied code listed in the codebook",
            found=", ".join(unknown[:10]),
            rule="code_in_codebook",
        )
    if not isinstance(level, str):
        branches = _branch_map(level, codebook)
        return segments["code"].astype("str").map(branches).rename("branch")
    themes = codebook.drop_duplicates("code").set_index("code")["theme"]
    theme = segments["code"].map(themes)
    no_theme = sorted(segments.loc[theme.isna(), "code"].unique())
    if no_theme:
        raise DataError(
            f"{len(no_theme)} code(s) have no theme in the codebook",
            file="codebook",
            column="theme",
            expected="a theme for every applied code when level='theme'",
            found=", ".join(no_theme[:10]),
            rule="code_has_theme",
        )
    return theme.rename("theme")


def _all_labels(level: Level, codebook: pd.DataFrame | None, observed: pd.Series) -> list[str]:
    if codebook is None:
        return sorted(observed.dropna().unique())
    if not isinstance(level, str):
        return sorted(set(_branch_map(level, codebook).values()) | set(observed.dropna().unique()))
    column = "code" if level == "code" else "theme"
    return sorted(set(codebook[column].dropna().unique()) | set(observed.dropna().unique()))


def _document_label_counts(segments: pd.DataFrame, labels: pd.Series, coder: str) -> tuple[pd.DataFrame, pd.Index]:
    """Segments per document x label after the coder rule, and the documents that count as coded."""
    label = labels.name
    frame = segments.assign(**{label: labels.to_numpy()})
    frame = frame.loc[frame[label].notna()] if label == "branch" else frame  # outside the listed branches
    if coder not in ("any", "all"):
        rows = _select_rows(frame, coder)
        counts = rows.groupby(["document_id", label]).size().rename("n_segments").reset_index()
        return counts, pd.Index(rows["document_id"].unique())
    per_coder = frame.groupby(["document_id", "coder", label]).size().unstack(label, fill_value=0)
    reduced = per_coder.groupby(level="document_id").max() if coder == "any" else per_coder.groupby(level="document_id").min()
    counts = reduced.stack().rename("n_segments").reset_index()
    return counts.loc[counts["n_segments"] > 0], reduced.index


# --- presence -----------------------------------------------------------------


def code_presence(
    segments: pd.DataFrame,
    participants: pd.DataFrame | None = None,
    *,
    unit: str | Sequence[str] = "participant_id",
    level: Level = "code",
    codebook: pd.DataFrame | None = None,
    coder: str = "primary",
) -> pd.DataFrame:
    """Which unit (participant) mentioned which code or theme: 0/1 presence and counts.

    Parameters
    ----------
    segments : DataFrame
        The ``coded_segments`` table.
    participants : DataFrame, optional
        The ``participants`` table. When given (and ``unit`` includes
        ``participant_id``), every participant gets a row for every code, also
        those never interviewed (``interviewed`` False, ``present`` 0), so no
        participant is lost. Every participant in ``segments`` must be listed.
    unit : str or sequence of str
        Column(s) that define a unit: ``"participant_id"`` (default),
        ``("participant_id", "wave")`` for prevalence per wave,
        ``"document_id"`` or ``"case_id"``.
    level : "code", "theme", int or list of str
        Count codes; themes (codes mapped through ``codebook``); a level of
        the code tree (``1`` = the top level, ``2`` = the level below, ...: a
        code counts for its ancestor at that level, a code above that level
        for itself); or a list of branches (paths such as ``"Samenwerking /
        Vertrouwen"``, or names), each code counting for the most specific
        listed branch that holds it and codes outside every branch left out.
        The label column is ``code``, ``theme`` or ``branch`` (the branch's
        path, or the name as listed).
    codebook : DataFrame, optional
        The ``codebook`` table (its ``path`` column, else ``theme / code``).
        Needed for any level but ``"code"``; when given, codes (themes,
        branches) that nobody applied still appear, with presence 0.
    coder : str
        Which coding counts on documents coded by more than one coder:
        ``"primary"`` (default), ``"any"``, ``"all"`` or a coder's name (see
        the module docstring).

    Returns
    -------
    DataFrame
        Long (tidy): the unit column(s), ``code`` (or ``theme``),
        ``n_segments`` (code applications), ``present`` (0/1) and
        ``interviewed`` (the unit has at least one coded document under the
        coder rule). One row per unit x code. How many group-document
        segments (no participant_id) a participant unit leaves out:
        `group_segments_excluded`.

    Notes
    -----
    ``present = 1`` when ``n_segments >= 1``. A unit's count is the sum over its
    documents of the code applications kept by the coder rule; with
    ``coder="primary"`` or a coder's name the counts add up to the number of
    kept rows (counts are conserved). Segments of group documents (empty
    participant_id) cannot be attributed to a participant and are left out
    when ``unit`` includes ``participant_id``; use ``unit="document_id"`` or
    ``"case_id"`` to count them. Coded-segments tables only list text that
    received a code, so an interview in which nothing was coded looks like an
    interview that never happened; ``interviewed`` is False for both.

    References
    ----------
    Sandelowski, M., Voils, C. I., & Knafl, G. (2009). On quantitizing.
    *Journal of Mixed Methods Research*, 3(3), 208-222.

    Examples
    --------
    >>> import pandas as pd
    >>> segments = pd.DataFrame({
    ...     "document_id": ["d1", "d1", "d2"], "participant_id": ["p1", "p1", "p2"],
    ...     "case_id": ["slotervaart"] * 3, "wave": ["t0"] * 3, "coder": ["ab"] * 3,
    ...     "code": ["trust", "trust", "safe_space"], "start": [0, 50, 0], "end": [10, 60, 5],
    ...     "text": ["...", "...", "..."]})
    >>> print(code_presence(segments).to_string(index=False))
    participant_id       code  n_segments  present  interviewed
                p1 safe_space           0        0         True
                p1      trust           2        1         True
                p2 safe_space           1        1         True
                p2      trust           0        0         True
    """
    require_columns(segments, _SEGMENT_COLUMNS, "coded_segments")
    unit_columns = _as_tuple(unit)
    bad_units = [c for c in unit_columns if c not in _UNIT_COLUMNS]
    if bad_units or not unit_columns:
        raise ValueError(f"unit must be made of {_UNIT_COLUMNS}, not {unit!r}")
    labels, counts, coded = _kept_counts(segments, level, codebook, coder)
    label = labels.name

    by_participant = "participant_id" in unit_columns
    if by_participant:
        counts = counts.loc[counts["participant_id"].notna()]
        coded = coded.loc[coded["participant_id"].notna()]

    unit_counts = counts.groupby([*unit_columns, label], dropna=False)["n_segments"].sum()
    units = coded[list(unit_columns)].drop_duplicates().assign(interviewed=True)
    if by_participant and participants is not None:
        units = _add_uninterviewed(units, participants, unit_columns)

    grid = units.merge(pd.DataFrame({label: _all_labels(level, codebook, labels)}), how="cross")
    grid = grid.join(unit_counts.rename("n_segments"), on=[*unit_columns, label])
    grid["n_segments"] = grid["n_segments"].fillna(0).astype("int64")
    grid["present"] = (grid["n_segments"] > 0).astype("int64")
    out = grid.loc[:, [*unit_columns, label, "n_segments", "present", "interviewed"]]
    return out.sort_values([*unit_columns, label], kind="stable").reset_index(drop=True)


def _kept_counts(
    segments: pd.DataFrame, level: Level, codebook: pd.DataFrame | None, coder: str
) -> tuple[pd.Series, pd.DataFrame, pd.DataFrame]:
    """(label column, code applications per document x label kept by the coder rule with the documents' attributes, coded documents)."""
    _validate_coder(segments, coder)
    labels = _label_column(segments, level, codebook)
    attributes = _document_attributes(segments)
    counts, coded_documents = _document_label_counts(segments, labels, coder)
    return labels, counts.join(attributes, on="document_id"), attributes.loc[coded_documents].reset_index()


def group_segments_excluded(
    segments: pd.DataFrame, *, level: Level = "code", codebook: pd.DataFrame | None = None, coder: str = "primary"
) -> int:
    """How many code applications `code_presence` leaves out of participant units: those on group documents.

    A group interview's document has no ``participant_id``, so its segments
    cannot be attributed to a participant; they count only for document or
    case units. Same ``level``, ``codebook`` and ``coder`` rule as
    `code_presence`.

    Examples
    --------
    >>> import pandas as pd
    >>> segments = pd.DataFrame({
    ...     "document_id": ["d1", "g1", "g1"], "participant_id": ["p1", None, None],
    ...     "case_id": ["slotervaart"] * 3, "wave": ["t0"] * 3, "coder": ["ab"] * 3,
    ...     "code": ["trust", "trust", "safe_space"], "start": [0, 0, 20], "end": [10, 10, 30],
    ...     "text": ["...", "...", "..."]})
    >>> group_segments_excluded(segments)
    2
    """
    require_columns(segments, _SEGMENT_COLUMNS, "coded_segments")
    _, counts, _ = _kept_counts(segments, level, codebook, coder)
    return int(counts.loc[counts["participant_id"].isna(), "n_segments"].sum())


def _add_uninterviewed(units: pd.DataFrame, participants: pd.DataFrame, unit_columns: tuple[str, ...]) -> pd.DataFrame:
    require_columns(participants, ("participant_id",), "participants")
    unknown = sorted(set(units["participant_id"].unique()) - set(participants["participant_id"].unique()))
    if unknown:
        raise DataError(
            f"{len(unknown)} participant(s) in coded_segments are missing from the participants table",
            file="coded_segments",
            column="participant_id",
            expected="every interviewed participant listed in participants",
            found=", ".join(map(str, unknown[:10])),
            rule="participant_known",
        )
    # Participants never interviewed: they keep a row (no ID lost) but are not at risk.
    # isin() of a str column copies its argument value by value: distinct ids only
    missing = participants.loc[~participants["participant_id"].isin(units["participant_id"].unique())].drop_duplicates("participant_id")
    known_columns = [c for c in unit_columns if c in missing.columns]
    missing = missing.loc[:, known_columns].reindex(columns=list(unit_columns))
    missing = missing.astype({c: units[c].dtype for c in unit_columns}).assign(interviewed=False)
    return pd.concat([units, missing], ignore_index=True)


def presence_matrix(presence: pd.DataFrame, *, value: str = "present") -> pd.DataFrame:
    """The wide unit x code matrix of a `code_presence` frame (for statistics and export).

    Parameters
    ----------
    presence : DataFrame
        Output of `code_presence`.
    value : {"present", "n_segments"}
        Which number fills the cells.

    Returns
    -------
    DataFrame
        Index: the unit column(s); one column per code (or theme); integer
        cells. Units that were never interviewed are kept (all zeros); filter
        on ``presence["interviewed"]`` first if they should not count.

    Notes
    -----
    A thin pivot; the long frame stays the source of truth.

    References
    ----------
    Sandelowski, Voils & Knafl (2009), see `code_presence`.

    Examples
    --------
    >>> import pandas as pd
    >>> presence = pd.DataFrame({"participant_id": ["p1", "p1"], "code": ["a", "b"],
    ...                          "n_segments": [2, 0], "present": [1, 0], "interviewed": [True, True]})
    >>> print(presence_matrix(presence).to_string())
    code            a  b
    participant_id      
    p1              1  0
    """
    if value not in ("present", "n_segments"):
        raise ValueError(f"value must be 'present' or 'n_segments', not {value!r}")
    label = _presence_label(presence)
    unit_columns = [c for c in presence.columns if c in _UNIT_COLUMNS]
    wide = presence.pivot_table(index=unit_columns, columns=label, values=value, aggfunc="sum", fill_value=0, dropna=False)
    return wide.astype("int64")


def _presence_label(presence: pd.DataFrame) -> str:
    for label in ("code", "theme", "branch"):
        if label in presence.columns:
            return label
    raise DataError(
        "not a code_presence frame: it has no 'code', 'theme' or 'branch' column",
        expected="output of code_presence",
        found=", ".join(map(str, presence.columns)),
        rule="presence_frame",
    )


# --- prevalence ---------------------------------------------------------------


def _with_participant_columns(presence: pd.DataFrame, participants: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Presence rows with the requested participant columns (role, case_id, ...) attached."""
    require_columns(presence, ("participant_id", "present", "interviewed"), "presence")
    require_columns(participants, ("participant_id",), "participants")
    needed = [c for c in columns if c not in presence.columns]
    missing = [c for c in needed if c not in participants.columns]
    if "wave" in missing:
        raise DataError(
            "grouping by wave needs presence per participant and wave",
            column="wave",
            expected="code_presence(..., unit=('participant_id', 'wave'))",
            found=", ".join(map(str, presence.columns)),
            rule="presence_unit",
        )
    if missing:
        require_columns(participants, missing, "participants")
    table = participants.drop_duplicates("participant_id").set_index("participant_id")[needed]
    unknown = sorted(set(presence["participant_id"].unique()) - set(table.index))
    if unknown:
        raise DataError(
            f"{len(unknown)} participant(s) in the presence table are missing from the participants table",
            file="participants",
            column="participant_id",
            expected="every coded participant listed",
            found=", ".join(map(str, unknown[:10])),
            rule="participant_known",
        )
    return presence.join(table, on="participant_id")


def prevalence(
    presence: pd.DataFrame,
    participants: pd.DataFrame,
    *,
    by: str | Sequence[str] = ("case_id",),
) -> pd.DataFrame:
    """How many interviewed participants in each group mentioned each code.

    Parameters
    ----------
    presence : DataFrame
        Output of `code_presence` with ``unit`` including ``participant_id``
        (``("participant_id", "wave")`` when ``by`` includes ``wave``).
    participants : DataFrame
        The ``participants`` table; supplies ``case_id``, ``role`` and any
        other grouping column not already in ``presence``.
    by : str or sequence of str
        Grouping columns, e.g. ``("case_id",)`` or ``("case_id", "role", "wave")``.

    Returns
    -------
    DataFrame
        The ``by`` columns, ``code`` (or ``theme``), ``n_with_code`` (units
        that mentioned it), ``n_at_risk`` (units interviewed in the group) and
        ``percent`` (100 x n_with_code / n_at_risk; missing when nobody in the
        group was interviewed).

    Notes
    -----
    The denominator counts interviewed units only: a participant who was never
    interviewed (or, per wave, not interviewed in that wave) could not have
    mentioned the code. Groups in which participants exist but nobody was
    interviewed appear with ``n_at_risk = 0``. With ``wave`` in ``by`` a unit is
    a participant in one wave, so a participant interviewed twice counts once
    per wave. Percentages of small groups identify people: a report section
    that publishes the table declares `PREVALENCE_COUNTS` for it, so the run
    suppresses ``n_with_code`` from 1 to 4 and its ``percent``
    (`ponzoni_eval.privacy.suppress_small_cells`) before it is written or drawn.

    References
    ----------
    Sandelowski, Voils & Knafl (2009), see `code_presence`.

    Examples
    --------
    >>> import pandas as pd
    >>> presence = pd.DataFrame({"participant_id": ["p1", "p2", "p3"], "code": ["trust"] * 3,
    ...                          "n_segments": [2, 0, 0], "present": [1, 0, 0],
    ...                          "interviewed": [True, True, False]})
    >>> participants = pd.DataFrame({"participant_id": ["p1", "p2", "p3"], "case_id": ["a", "a", "a"]})
    >>> print(prevalence(presence, participants).to_string(index=False))
    case_id  code  n_with_code  n_at_risk  percent
          a trust            1          2     50.0
    """
    by_columns = list(_as_tuple(by))
    label = _presence_label(presence)
    frame = _with_participant_columns(presence, participants, by_columns)
    interviewed = frame["interviewed"].astype(bool)
    frame = frame.assign(
        n_with_code=(frame["present"].astype(bool) & interviewed).astype("int64"),
        n_at_risk=interviewed.astype("int64"),
    )
    keys = [*by_columns, label]
    table = frame.groupby(keys, sort=True, observed=True)[["n_with_code", "n_at_risk"]].sum().reset_index()
    at_risk = table["n_at_risk"].where(table["n_at_risk"] > 0)
    table["percent"] = (100.0 * table["n_with_code"] / at_risk).astype("float64")
    return table


# --- co-occurrence ------------------------------------------------------------


def _overlapping_pairs(document: np.ndarray, start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i, j) of intervals [start, end) that overlap within the same document.

    A sweep: sort by (document, start); interval j overlaps an earlier-sorted
    interval i of the same document exactly when start_j < end_i. For each i
    the partners are the contiguous run after i up to the first start >= end_i,
    found with one `searchsorted`, and expanded with `repeat`: O(n log n + pairs).
    Intervals must have positive length.
    """
    order = np.lexsort((end, start, document))
    doc, lo, hi = document[order], start[order], end[order]
    span = int(max(hi.max(initial=0), 0)) + 1
    key = doc.astype(np.int64) * span + lo
    stop = np.searchsorted(key, doc.astype(np.int64) * span + hi, side="left")
    n_partners = np.maximum(stop - np.arange(len(order)) - 1, 0)
    first = np.repeat(np.arange(len(order)), n_partners)
    offset = np.arange(n_partners.sum()) - np.repeat(np.cumsum(n_partners) - n_partners, n_partners)
    second = first + 1 + offset
    return order[first], order[second]


def _merge_intervals(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Union of [start, end) intervals within each key group, as disjoint blocks."""
    ordered = frame.sort_values([*keys, "start", "end"], kind="stable")
    reach = ordered.groupby(keys, sort=False)["end"].cummax()
    previous_reach = reach.groupby([ordered[k] for k in keys], sort=False).shift()
    new_block = previous_reach.isna() | (ordered["start"] > previous_reach)
    block = new_block.cumsum().rename("block")
    return ordered.groupby([*[ordered[k] for k in keys], block], sort=False).agg(start=("start", "min"), end=("end", "max")).reset_index(keys)


def cooccurrence(
    segments: pd.DataFrame,
    *,
    scope: str = "overlap",
    coder: str = "primary",
    codes: Sequence[str] | None = None,
    level: Level = "code",
    codebook: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Which codes are applied to the same text (or the same document), with Jaccard indices.

    Parameters
    ----------
    segments : DataFrame
        The ``coded_segments`` table.
    scope : {"overlap", "document"}
        ``"overlap"``: two code applications co-occur when their character
        ranges overlap in the same document. ``"document"``: two codes
        co-occur when both were applied anywhere in the same document.
    coder : str
        ``"primary"`` (default) or a coder's name: co-occurrence is a property
        of one coding, so pairs are never formed across coders.
    codes : sequence of str, optional
        Restrict to these codes (default: every applied code); with another
        ``level``, to these labels.
    level : "code", "theme", int or list of str
        Aggregate codes first, as in `code_presence`: to themes, to a level of
        the code tree or to listed branches (``code_a`` and ``code_b`` then
        hold those labels; codes of one branch never pair with each other).
    codebook : DataFrame, optional
        Needed for any level but ``"code"``.

    Returns
    -------
    DataFrame
        One row per unordered code pair (``code_a < code_b``), also pairs that
        never co-occur (zeros), so the frame pivots into a full matrix.

        - scope ``"document"``: ``n_documents`` (both codes), ``n_documents_a``,
          ``n_documents_b``, ``jaccard`` = both / (a + b - both).
        - scope ``"overlap"``: ``n_pairs`` (overlapping segment pairs),
          ``n_documents`` (documents with at least one such pair),
          ``chars_overlap``, ``chars_a``, ``chars_b`` (characters coded; a
          code's overlapping selections are merged first) and ``jaccard`` =
          chars_overlap / (chars_a + chars_b - chars_overlap), the Jaccard
          index of the two codes' coded text.

    Notes
    -----
    Intervals are half-open ``[start, end)``: selections that only touch
    (``end == start``) do not overlap, and empty selections never do. A
    segment overlapping a segment of the same code is not a pair. The overlap
    search is a vectorised sweep over sorted intervals (no loop over rows).
    The character Jaccard index avoids a flaw of pair counts: one long
    selection overlapping many short ones yields many pairs but little shared
    text. ATLAS.ti's c-coefficient is the segment-count analogue
    n12 / (n1 + n2 - n12).

    References
    ----------
    Jaccard, P. (1912). The distribution of the flora in the alpine zone.
    *New Phytologist*, 11(2), 37-50.
    Friese, S. (2019). *Qualitative Data Analysis with ATLAS.ti* (3rd ed.),
    Sage: code co-occurrence and the c-coefficient.

    Examples
    --------
    >>> import pandas as pd
    >>> segments = pd.DataFrame({
    ...     "document_id": ["d1"] * 3, "participant_id": ["p1"] * 3, "case_id": ["c"] * 3,
    ...     "wave": ["t0"] * 3, "coder": ["ab"] * 3, "code": ["trust", "safe_space", "trust"],
    ...     "start": [0, 5, 40], "end": [10, 20, 50], "text": [""] * 3})
    >>> print(cooccurrence(segments)[["code_a", "code_b", "n_pairs", "chars_overlap", "jaccard"]].to_string(index=False))
        code_a code_b  n_pairs  chars_overlap  jaccard
    safe_space  trust        1              5 0.166667
    """
    require_columns(segments, (*_SEGMENT_COLUMNS, "start", "end"), "coded_segments")
    if scope not in ("overlap", "document"):
        raise ValueError(f"scope must be 'overlap' or 'document', not {scope!r}")
    _validate_coder(segments, coder)
    if coder in ("any", "all"):
        raise ValueError("co-occurrence is computed within one coding: use coder='primary' or a coder's name")
    rows = _select_rows(segments, coder)
    if not (isinstance(level, str) and level == "code"):
        labels = _label_column(rows, level, codebook)
        rows = rows.assign(code=labels.astype(object).to_numpy())
        rows = rows.loc[rows["code"].notna()]
    all_codes = sorted(rows["code"].unique() if codes is None else set(codes))
    rows = rows.loc[rows["code"].isin(all_codes)]
    pairs = pd.DataFrame(
        [(a, b) for i, a in enumerate(all_codes) for b in all_codes[i + 1 :]], columns=["code_a", "code_b"]
    )
    if scope == "document":
        return _document_cooccurrence(rows, pairs)
    return _overlap_cooccurrence(rows, pairs)


def _ordered_pair(code_one: pd.Series, code_two: pd.Series) -> pd.DataFrame:
    first = code_one.to_numpy(dtype=object)
    second = code_two.to_numpy(dtype=object)
    swap = second < first
    return pd.DataFrame({"code_a": np.where(swap, second, first), "code_b": np.where(swap, first, second)})


def _document_cooccurrence(rows: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    applied = rows[["document_id", "code"]].drop_duplicates()
    both = applied.merge(applied, on="document_id", suffixes=("_a", "_b"))
    both = both.loc[both["code_a"] < both["code_b"]]
    n_both = both.groupby(["code_a", "code_b"]).size().rename("n_documents")
    n_single = applied.groupby("code").size()
    out = pairs.join(n_both, on=["code_a", "code_b"])
    out["n_documents"] = out["n_documents"].fillna(0).astype("int64")
    out["n_documents_a"] = out["code_a"].map(n_single).fillna(0).astype("int64")
    out["n_documents_b"] = out["code_b"].map(n_single).fillna(0).astype("int64")
    either = out["n_documents_a"] + out["n_documents_b"] - out["n_documents"]
    out["jaccard"] = (out["n_documents"] / either.where(either > 0)).astype("float64")
    return out


def _overlap_cooccurrence(rows: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    rows = rows.loc[rows["end"] > rows["start"]].reset_index(drop=True)
    document = pd.factorize(rows["document_id"])[0]
    first, second = _overlapping_pairs(document, rows["start"].to_numpy(np.int64), rows["end"].to_numpy(np.int64))
    found = _ordered_pair(rows["code"].iloc[first], rows["code"].iloc[second]).assign(
        document_id=rows["document_id"].to_numpy()[first]
    )
    found = found.loc[found["code_a"] != found["code_b"]]
    n_pairs = found.groupby(["code_a", "code_b"]).agg(n_pairs=("document_id", "size"), n_documents=("document_id", "nunique"))

    blocks = _merge_intervals(rows[["document_id", "code", "start", "end"]], ["document_id", "code"]).reset_index(drop=True)
    chars = (blocks["end"] - blocks["start"]).groupby(blocks["code"]).sum()
    block_document = pd.factorize(blocks["document_id"])[0]
    b_first, b_second = _overlapping_pairs(block_document, blocks["start"].to_numpy(np.int64), blocks["end"].to_numpy(np.int64))
    shared = np.minimum(blocks["end"].to_numpy()[b_first], blocks["end"].to_numpy()[b_second]) - np.maximum(
        blocks["start"].to_numpy()[b_first], blocks["start"].to_numpy()[b_second]
    )
    overlap = _ordered_pair(blocks["code"].iloc[b_first], blocks["code"].iloc[b_second]).assign(chars_overlap=shared)
    chars_overlap = overlap.groupby(["code_a", "code_b"])["chars_overlap"].sum()

    out = pairs.join(n_pairs, on=["code_a", "code_b"]).join(chars_overlap, on=["code_a", "code_b"])
    for column in ("n_pairs", "n_documents", "chars_overlap"):
        out[column] = out[column].fillna(0).astype("int64")
    out["chars_a"] = out["code_a"].map(chars).fillna(0).astype("int64")
    out["chars_b"] = out["code_b"].map(chars).fillna(0).astype("int64")
    union = out["chars_a"] + out["chars_b"] - out["chars_overlap"]
    out["jaccard"] = (out["chars_overlap"] / union.where(union > 0)).astype("float64")
    return out


# --- theme crosstab -----------------------------------------------------------


def theme_crosstab(
    presence: pd.DataFrame,
    participants: pd.DataFrame,
    *,
    code: str,
    by: str = "case_id",
    case_id: str | None = None,
    n_resamples: int = 10_000,
    seed: int = DEFAULT_SEED,
) -> pd.DataFrame:
    """Does mentioning a code (theme) differ between cases or roles? Exact or Monte Carlo test.

    Parameters
    ----------
    presence : DataFrame
        Output of `code_presence` (unit ``participant_id``).
    participants : DataFrame
        The ``participants`` table (supplies ``by``).
    code : str
        The code (or theme, for a theme-level presence frame) to test.
    by : {"case_id", "role"} or another participants column
        Groups to compare.
    case_id : str, optional
        Restrict to one case (e.g. roles within Slotervaart); default: all
        participants pooled (``case_id`` "all" in the result).
    n_resamples : int
        Monte Carlo tables for the chi-square p-value when expected counts
        are small.
    seed : int
        Seed of the Monte Carlo draws (results are reproducible).

    Returns
    -------
    DataFrame
        The standard result shape (`ponzoni_eval._core.results.result_frame`), one
        row, ``analysis = "theme_crosstab"``, ``outcome = code``, ``group`` =
        the compared groups, ``effect_name = "cramers_v"``. When the test
        cannot be run (one group, or everybody/nobody mentioned the code) the
        row has only a ``note``.

    Notes
    -----
    Units are interviewed participants; the table is groups x (not
    mentioned, mentioned).

    - 2 x 2: Fisher's exact test (two-sided, scipy `fisher_exact`).
    - r x 2: Pearson's chi-square; when any expected count is below 5 the
      p-value is a Monte Carlo p over tables with the observed margins
      (Patefield's algorithm, as R's ``chisq.test(simulate.p.value = TRUE)``),
      p = (1 + #{X2* >= X2}) / (B + 1); otherwise the asymptotic chi-square p.
    - Effect: Cramér's V = sqrt(X2 / (n (k - 1))), k = min(rows, columns)
      (for 2 x 2, |phi|), with a 95% CI from inverting the noncentral
      chi-square distribution (Smithson 2003): the noncentrality bounds
      lambda_L, lambda_U with P(X2 <= x2; lambda) = .975 / .025 become
      sqrt(lambda / (n (k - 1))). With small n this interval is approximate.
      ``statistic`` holds the uncorrected Pearson X2 (r x c) or the
      conditional MLE odds ratio (2 x 2, as R's ``fisher.test``).

    The test itself is `ponzoni_eval.stats.crosstab_test`, shared with the
    survey crosstabs, so both strands are tested the same way.

    References
    ----------
    Fisher, R. A. (1922). On the interpretation of chi-square from contingency
    tables. *JRSS*, 85(1), 87-94.
    Patefield, W. M. (1981). Algorithm AS 159. *Applied Statistics*, 30, 91-97.
    Smithson, M. (2003). *Confidence Intervals*. Sage. Checked against R
    ``statpsych::ci.cramer(.05, 19.21, 2, 3, 200)`` (V = .3099, CI .1601-.4417).

    Examples
    --------
    >>> import pandas as pd
    >>> presence = pd.DataFrame({"participant_id": [f"p{i}" for i in range(12)], "code": ["trust"] * 12,
    ...                          "n_segments": [1] * 5 + [0] + [1] + [0] * 5,
    ...                          "present": [1] * 5 + [0] + [1] + [0] * 5, "interviewed": [True] * 12})
    >>> participants = pd.DataFrame({"participant_id": [f"p{i}" for i in range(12)],
    ...                              "case_id": ["slotervaart"] * 6 + ["poelenburg_a"] * 6})
    >>> row = theme_crosstab(presence, participants, code="trust").iloc[0]
    >>> row["test"], round(float(row["p_value"]), 4), round(float(row["effect_size"]), 3)
    ('fisher_exact', 0.0801, 0.667)
    """
    label = _presence_label(presence)
    if code not in set(presence[label].unique()):
        raise DataError(
            f"{label} '{code}' does not occur in the presence table",
            column=label,
            expected=f"one of {sorted(presence[label].unique())[:10]}",
            found=code,
            rule="known_code",
        )
    columns = [by] if case_id is None or by == "case_id" else [by, "case_id"]
    frame = _with_participant_columns(presence.loc[presence[label] == code], participants, columns)
    if case_id is not None:
        frame = frame.loc[frame["case_id"] == case_id]
    frame = frame.loc[frame["interviewed"].astype(bool)]
    table = pd.crosstab(frame[by], frame["present"].astype("int64")).reindex(columns=[0, 1], fill_value=0)
    base = dict(
        analysis="theme_crosstab",
        case_id="all" if case_id is None else case_id,
        group=f"{by}: " + ", ".join(map(str, table.index)),
        outcome=code,
        n=int(table.to_numpy().sum()),
        effect_name="cramers_v",
    )
    if table.shape[0] < 2:
        return result_frame([dict(base, note=f"not tested: fewer than two {by} groups with interviewed participants")])
    if (table.sum(axis=0) == 0).any():
        everyone = "nobody" if table[1].sum() == 0 else "everybody"
        return result_frame([dict(base, note=f"not tested: {everyone} interviewed mentioned '{code}'")])

    return crosstab_test(
        table.to_numpy(),
        seed=seed,
        n_resamples=n_resamples,
        analysis=base["analysis"],
        case_id=base["case_id"],
        group=base["group"],
        outcome=code,
    )
