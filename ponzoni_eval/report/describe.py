"""Sentences from result tables: numbers, p-values and intervals in words (English and Dutch), never typed by hand."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ponzoni_eval._core.numbers import format_ci, format_effect, format_interval, format_number, format_p, is_missing
from ponzoni_eval._core.words import add_words, check_language, term, terms

if TYPE_CHECKING:  # pragma: no cover - typing only; kept out of light imports
    import pandas as pd

__all__ = [
    "format_number",
    "format_p",
    "format_ci",
    "format_interval",
    "format_effect",
    "add_words",
    "term",
    "terms",
    "describe_result",
    "describe_change",
    "describe_results",
    "describe_by",
    "describe_range",
    "describe_share",
    "describe_tally",
]


# Numbers, p-values and intervals are formatted by `ponzoni_eval._core.numbers`, and words come from the words
# tables (`ponzoni_eval._core.words`); both are re-exported here, where notebooks and students' sections meet them
# (``from ponzoni_eval.report import add_words, term, format_p``). The sentences' words are the ``sentences`` group.
_missing = is_missing


def _label(row: Mapping[str, Any], label: str | None) -> str:
    if label:
        return label
    outcome = str(row.get("outcome") or "result").replace("_", " ")
    return outcome[:1].upper() + outcome[1:]


def _statistics_clause(row: Mapping[str, Any], digits: int, language: str, p_column: str) -> str:
    """``g_av = 0.9, 95% CI 0.4 to 1.4, p = .003, n = 14``; parts that are missing are left out."""
    parts = []
    if not _missing(row.get("effect_size")):
        name = row.get("effect_name") if not _missing(row.get("effect_name")) else "effect"
        parts.append(f"{name} = {format_number(row['effect_size'], digits, language=language)}")
        if not _missing(row.get("ci_low")) and not _missing(row.get("ci_high")):
            parts.append(format_ci(row["ci_low"], row["ci_high"], digits, language=language))
    if not _missing(row.get(p_column)):
        parts.append(format_p(row[p_column], language=language))
    if not _missing(row.get("n")):
        parts.append(f"n = {int(row['n'])}")
    return ", ".join(parts)


def _note_clause(row: Mapping[str, Any]) -> str:
    note = row.get("note")
    return "" if _missing(note) else f" ({note})"


def describe_change(
    row: Mapping[str, Any],
    *,
    before: float,
    after: float,
    label: str | None = None,
    digits: int = 1,
    language: str = "en",
    p_column: str = "p_value",
) -> str:
    """One sentence for a change between two waves, from a result row and the two means.

    Parameters
    ----------
    row : mapping
        One row in the standard result shape (a ``Series`` or ``dict``):
        ``outcome, n, p_value, effect_size, effect_name, ci_low, ci_high, note``.
    before, after : float
        The mean (or median) at the two waves, on the scale's own units.
    label : str, optional
        What changed, as the sentence should name it; default: the outcome
        with ``_`` as spaces, capitalised.
    digits : int
        Decimals for the means, the effect size and its CI (p-values always
        get three).
    language : {"en", "nl"}
    p_column : {"p_value", "p_adjusted"}
        Which p-value to report.

    Returns
    -------
    str
        The sentence, without a final full stop, so it can sit inside a longer one.

    Notes
    -----
    The direction word compares the two means as they are shown (rounded to
    `digits`), so the sentence never says "rose from 2.8 to 2.8". When the
    test could not be run (no effect size and no p-value) the row's ``note``
    says why.

    Examples
    --------
    >>> row = {"outcome": "trust", "n": 14, "p_value": 0.0031, "effect_size": 0.9,
    ...        "effect_name": "g_av", "ci_low": 0.4, "ci_high": 1.4, "note": None}
    >>> describe_change(row, before=2.81, after=3.66)
    'Trust rose from 2.8 to 3.7 (g_av = 0.9, 95% CI 0.4 to 1.4, p = .003, n = 14)'
    >>> describe_change(row, before=2.81, after=3.66, label="Vertrouwen", language="nl")
    'Vertrouwen steeg van 2,8 naar 3,7 (g_av = 0,9, 95%-BI 0,4 tot 1,4, p = ,003, n = 14)'
    """
    check_language(language)
    shown_before = format_number(before, digits, language=language)
    shown_after = format_number(after, digits, language=language)
    if shown_before == shown_after:
        direction = "same"
    else:
        direction = "rose" if round(float(after), digits) > round(float(before), digits) else "fell"
    key = {"same": "sentences.same", "rose": "sentences.rose", "fell": "sentences.fell"}[direction]
    sentence = term(key, language, label=_label(row, label), before=shown_before, after=shown_after)
    statistics = _statistics_clause(row, digits, language, p_column)
    if statistics:
        sentence += f" ({statistics})"
    return sentence + _note_clause(row)


def describe_result(
    row: Mapping[str, Any],
    *,
    label: str | None = None,
    digits: int = 2,
    language: str = "en",
    p_column: str = "p_value",
) -> str:
    """One sentence for any row in the standard result shape.

    ``Perception gap (role=professional): d_z = 0.85, 95% CI 0.20 to 1.50,
    p = .012, n = 12 (exact).`` The ``group`` is added in brackets when the
    row has one; the ``note`` at the end. A row that could not be tested
    reads ``<label>: not tested (<note>).``

    Examples
    --------
    >>> describe_result({"outcome": "help_seeking", "group": "", "n": 3, "note": "n too small"})
    'Help seeking: not tested (n too small).'
    """
    check_language(language)
    name = _label(row, label)
    if not _missing(row.get("group")):
        name += f" ({row['group']})"
    statistics = _statistics_clause(row, digits, language, p_column)
    has_test = not (_missing(row.get("effect_size")) and _missing(row.get(p_column)))
    if not has_test:
        return term("sentences.not_tested", language, label=name) + _note_clause(row) + "."
    return f"{name}: {statistics}{_note_clause(row)}."


def describe_results(frame: "pd.DataFrame", **options: Any) -> list[str]:
    """`describe_result` for every row of a result frame (results are small; one sentence each)."""
    return [describe_result(row, **options) for row in frame.to_dict(orient="records")]


def _where(row: Mapping[str, Any], columns: Sequence[str], names: Mapping[str, str] | None) -> str:
    """The values of `columns` in a row, as a reader should see them (``trust, t2``)."""
    names = names or {}
    values = ["" if _missing(row.get(column)) else str(row[column]) for column in columns]
    return ", ".join(names.get(value, value) for value in values if value)


def describe_by(
    frame: "pd.DataFrame",
    *,
    by: str | Sequence[str],
    label: str,
    names: Mapping[str, str] | None = None,
    digits: int = 2,
    language: str = "en",
    p_column: str = "p_value",
) -> str:
    """One sentence for several result rows: the label, then each group's numbers.

    ``Trust change t0->t2: Slotervaart change = 0.65, 95% CI 0.34 to 0.96,
    p < .001, n = 32; Poelenburg B change = 0.25, ... .`` A row that could not
    be tested reads ``<group> not tested``. Use it where a section reports
    the same result for a few groups (cases, roles); for many rows see
    `describe_range`.

    Parameters
    ----------
    frame : DataFrame
        Rows in the standard result shape, in the order to report them.
    by : str or list of str
        Column(s) that name each row's group.
    label : str
        What the numbers are, as the sentence should open.
    names : mapping, optional
        Display names of group values (``{"poelenburg_a": "Poelenburg A"}``).
    digits, language, p_column
        As in `describe_result`.

    Examples
    --------
    >>> import pandas as pd
    >>> rows = [{"case_id": "a", "n": 12, "p_value": 0.01, "effect_size": 0.5, "effect_name": "change",
    ...          "ci_low": 0.1, "ci_high": 0.9}, {"case_id": "b", "n": 2, "note": "n too small"}]
    >>> describe_by(pd.DataFrame(rows), by="case_id", label="Trust change", digits=1)
    'Trust change: a change = 0.5, 95% CI 0.1 to 0.9, p = .010, n = 12; b not tested.'
    """
    check_language(language)
    columns = [by] if isinstance(by, str) else list(by)
    parts = []
    for row in frame.to_dict(orient="records"):
        name = _where(row, columns, names)
        statistics = _statistics_clause(row, digits, language, p_column)
        has_test = not (_missing(row.get("effect_size")) and _missing(row.get(p_column)))
        parts.append(f"{name} {statistics}" if has_test else term("sentences.group_not_tested", language, name=name))
    if not parts:
        return term("sentences.no_estimates", language, label=label) + "."
    return f"{label}: " + "; ".join(parts) + "."


def describe_range(
    frame: "pd.DataFrame",
    *,
    by: str | Sequence[str],
    label: str,
    names: Mapping[str, str] | None = None,
    threshold: float | None = None,
    digits: int = 2,
    language: str = "en",
) -> str:
    """One sentence for many estimates: the smallest and the largest, and how many fall short.

    ``Cronbach's alpha ranged from 0.71 (trust, t2) to 0.94 (feeling judged,
    t0) over 21 estimates; 0 of them below 0.70.`` Rows without an
    ``effect_size`` (not estimated) are left out of the count.

    Parameters
    ----------
    frame : DataFrame
        Rows with ``effect_size`` and the `by` columns.
    by : str or list of str
        Column(s) that say where an estimate comes from.
    label : str
        What the estimates are.
    names : mapping, optional
        Display names of the `by` values.
    threshold : float, optional
        Also count the estimates below this value (e.g. .70 for alpha).
    digits, language
        As in `describe_result`.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"outcome": ["trust", "safe_space", "trust"], "group": ["t0", "t1", "t2"],
    ...                       "effect_size": [0.84, 0.66, float("nan")]})
    >>> describe_range(frame, by=["outcome", "group"], label="Alpha", threshold=0.7)
    'Alpha ranged from 0.66 (safe_space, t1) to 0.84 (trust, t0) over 2 estimates; 1 of them below 0.70.'
    """
    check_language(language)
    columns = [by] if isinstance(by, str) else list(by)
    estimated = frame.loc[frame["effect_size"].notna()]
    if estimated.empty:
        return term("sentences.no_estimates", language, label=label) + "."
    low = estimated.loc[estimated["effect_size"].idxmin()]
    high = estimated.loc[estimated["effect_size"].idxmax()]
    if len(estimated) == 1:
        sentence = term("sentences.single", language,
            label=label, value=format_number(low["effect_size"], digits, language=language), where=_where(low, columns, names)
        )
    else:
        sentence = term("sentences.range", language,
            label=label,
            low=format_number(low["effect_size"], digits, language=language),
            low_where=_where(low, columns, names),
            high=format_number(high["effect_size"], digits, language=language),
            high_where=_where(high, columns, names),
            n=len(estimated),
        )
    if threshold is not None:
        below = int((estimated["effect_size"] < threshold).sum())
        sentence += term("sentences.below", language, k=below, threshold=format_number(threshold, digits, language=language))
    return sentence + "."


def describe_share(
    label: str,
    n: float | None,
    total: float,
    *,
    threshold: int = 5,
    language: str = "en",
) -> str:
    """How many interviewed participants mentioned a theme, without revealing a suppressed count.

    Parameters
    ----------
    label : str
        The theme or code as the sentence should name it.
    n : int or None
        Participants who mentioned it; missing when the count was suppressed
        (`ponzoni_eval.privacy.suppress_small_cells`), and then the sentence
        says only "fewer than `threshold`".
    total : int
        Interviewed participants (the denominator).
    threshold : int
        The suppression threshold the table was published with.
    language : {"en", "nl"}

    Examples
    --------
    >>> describe_share("Growing trust", 12, 24)
    'Growing trust was mentioned by 12 of 24 interviewed participants (50%)'
    >>> describe_share("Growing trust", None, 24)
    'Growing trust was mentioned by fewer than 5 of 24 interviewed participants'
    """
    check_language(language)
    if _missing(n):
        return term("sentences.share_suppressed", language, label=label, threshold=threshold, total=int(total))
    percent = format_number(100 * float(n) / float(total), 0, language=language) if total else "–"
    return term("sentences.share", language, label=label, n=int(n), total=int(total), percent=percent)


def describe_tally(values: Sequence[Any], *, label: str, names: Mapping[str, str] | None = None, order: Sequence[str] | None = None, language: str = "en") -> str:
    """How often each label occurs, in one sentence: ``Fit: agreement 6, silence 4 (n = 10).``

    Parameters
    ----------
    values : sequence
        The labels, one per unit (e.g. the ``fit_label`` column of a joint display).
    label : str
        What is counted.
    names : mapping, optional
        Display names of the labels.
    order : sequence of str, optional
        The order to list labels in (labels not in it follow, by count); labels
        in it that never occur are left out.
    language : {"en", "nl"}

    Examples
    --------
    >>> describe_tally(["silence", "agreement", "agreement"], label="Fit", order=["agreement", "dissonance", "silence"])
    'Fit: agreement 2, silence 1 (n = 3).'
    """
    import pandas as pd

    check_language(language)
    counts = pd.Series(list(values), dtype="object").dropna().astype(str).value_counts(sort=True)
    known = [value for value in (order or []) if value in counts.index]
    listed = known + [value for value in counts.index if value not in known]
    names = names or {}
    parts = ", ".join(f"{names.get(value, value)} {int(counts[value])}" for value in listed)
    return term("sentences.tally", language, label=label, parts=parts or "–", n=int(counts.sum())) + "."
