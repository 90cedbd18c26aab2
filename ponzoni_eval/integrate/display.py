"""Mixed-methods integration: joint displays and meta-inferences, by an analysis plan.

For each construct of the study (trust, perception gap, expectation mismatch, safe space,
help-seeking) this module puts the numbers and the voices side by side and judges how the two
strands fit:

1. An **integration map** (`load_integration_map`) says which rows of the standard result frame
   and which codes speak to each construct; an **analysis plan** (`load_analysis_plan`,
   ``analysis_plan.toml`` in the data folder) says what was pre-specified: primary and
   secondary outcomes, directions, smallest meaningful effects, test families, the population
   each construct's results speak for (roles, interview wave) and which constructs are about a
   difference between roles.
2. `joint_display` builds a construct x case table (Guetterman, Fetters & Creswell, 2015): a
   one-line quantitative result (estimate [CI], p, n; model notes in ``quant_notes``), the
   prevalence of the linked themes among the matched interviewees with Wilson intervals, one to
   three exemplar quotes (chosen by a fixed rule and redacted), a **fit label** (agreement,
   partial agreement, dissonance, silence, inconclusive; `FIT_RULE`, documented per label with
   its source in `ponzoni_eval.integrate.fit`), an evaluator's override, and a meta-inference
   sentence that cites the results that decided the label.
3. `meta_matrix` and `statistics_by_themes` are two further displays; `to_html`, `to_markdown`
   and `to_xlsx` render them; `integration_procedure` writes the procedure and the GRAMMS
   checklist.

The fit rule
------------
Quantitative evidence per construct x case, from the rows the map selects and the plan covers:

- the plan gives each row its family (primary or secondary) and smallest meaningful effect; a
  row the plan does not cover is shown but decides nothing (a construct the plan does not name
  is exploratory: its rows count as secondary);
- p-values are adjusted as the plan says: Holm over every primary row of the display (never
  intercepts: the map does not select them), secondary rows unadjusted (exploratory); the
  adjusted p-value is the one shown and the one that decides;
- a row is *supportive* when its 95% CI lies strictly beyond the null on the supportive side and
  its adjusted p < alpha; *contrary* likewise on the other side; *negligible* when the CI stays
  short of the smallest meaningful effect; *inconclusive* otherwise;
- the primary rows of a cell decide (secondary rows only when it has no primary row): *mixed*
  with both a supportive and a contrary row, else *supportive*, *contrary*, *negligible*,
  *inconclusive*, or *absent* without any number.

Qualitative evidence per construct x case, from who mentioned each linked code among the
interviewees of the plan's wave and roles (the population of the quantitative result), on the
unsuppressed counts (`DisplayInputs.presence`; disclosure control applies to what is shown only):

- *within* constructs: S / C = the largest lower end of the Wilson 95% interval of a supporting
  / contradicting code; *supportive* when S reaches the threshold and C does not, *contrary* the
  other way round, *mixed* when both do, *inconclusive* when a linked code was mentioned but
  neither reaches it, *absent* when no matched interviewee mentioned a linked code;
- *between-role* constructs (plan ``comparison = "between_roles"``): per contrast code, Fisher's
  exact test of role x mention (Holm over the cell's contrasts); *supportive* when a contrast is
  significant in the expected direction and none against it, and so on.

The decision table is `FIT_RULE` (``ponzoni_eval.integrate.fit``).

References
----------
Fetters, M. D., Curry, L. A., & Creswell, J. W. (2013). Achieving integration in mixed methods
designs: principles and practices. Health Services Research, 48(6 Pt 2), 2134-2156.
Guetterman, T. C., Fetters, M. D., & Creswell, J. W. (2015). Integrating quantitative and
qualitative results in health science mixed methods research through joint displays. Annals of
Family Medicine, 13(6), 554-561.
O'Cathain, A., Murphy, E., & Nicholl, J. (2010). Three techniques for integrating data in mixed
methods studies. BMJ, 341, c4587.
Newcombe, R. G. (1998). Two-sided confidence intervals for the single proportion: comparison of
seven methods. Statistics in Medicine, 17(8), 857-872 (the Wilson interval).
Okabe, M., & Ito, K. (2008). Color Universal Design (the palette used here).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ponzoni_eval._core.errors import DataError, require_columns
from ponzoni_eval._core.numbers import format_effect, format_number, format_p
from ponzoni_eval._core.results import RESULT_COLUMNS
from ponzoni_eval._core.words import check_language, term, terms, value_label, without_identifiers
from ponzoni_eval.integrate.fit import (
    classify_contrasts,
    classify_qualitative,
    classify_quantitative,
    CODE_DIRECTIONS,
    DEFAULT_ALPHA,
    DEFAULT_QUAL_THRESHOLD,
    FETTERS_FIT,
    fisher_exact,
    fit_label,
    holm,
    POOLED_CASE,
    QUAL_TO_RULE,
    QUANT_TO_RULE,
    wilson_interval,
)
from ponzoni_eval.integrate.map import IntegrationMap, load_integration_map
from ponzoni_eval.integrate.overrides import read_overrides
from ponzoni_eval.integrate.plan import AnalysisPlan, check_plan_against_map, load_analysis_plan
from ponzoni_eval.integrate.quotes import (
    DEFAULT_QUOTE_WINDOW,
    format_quotes,
    matched_speakers,
    quotes_for,
    rank_passages,
    with_pooled,
)
from ponzoni_eval.privacy.names import participant_names
from ponzoni_eval.privacy.redaction import redact as privacy_redact
from ponzoni_eval.privacy.suppress import DEFAULT_MIN_CELL

__all__ = [
    "DisplayInputs",
    "DisplayOptions",
    "Display",
    "joint_display",
    "statistics_by_themes",
    "meta_matrix",
]


_REQUIRED_PREVALENCE = ("case_id", "code", "n", "n_at_risk")
_REQUIRED_PRESENCE = ("participant_id", "code", "present", "interviewed")
_REQUIRED_SEGMENTS = ("document_id", "participant_id", "case_id", "coder", "code", "start", "end", "text")
_REQUIRED_PARTICIPANTS = ("participant_id", "case_id")
_EFFECT_SYMBOLS = {
    "hedges_g": "g",
    "hedges_g_av": "g_av",
    "cohen_d": "d",
    "cohen_dz": "d_z",
    "rank_biserial": "r_rb",
    "matched_pairs_rank_biserial": "r_rb",
    "rank_biserial_r": "r_rb",
    "rate_ratio_level": "RR (level)",
    "rate_ratio_slope": "RR (slope)",
    "change": "Δ",
    "change_difference": "Δ difference",
    "rate_ratio": "RR",
    "incidence_rate_ratio": "IRR",
    "odds_ratio": "OR",
    "cramers_v": "V",
    "mean_difference": "Δ",
    "mean_change": "Δ",
    "mean": "M",
}



@dataclass(frozen=True)
class DisplayInputs:
    """The data a joint display is built from.

    Attributes
    ----------
    results : DataFrame
        Standard result frame (`ponzoni_eval._core.results.RESULT_COLUMNS`), stacked over
        analyses, with each analysis's own p-values (the display adjusts them as the plan says).
    prevalence : DataFrame
        case_id, code, n (or n_with_code), n_at_risk, [suppressed / n_with_code_flag]:
        participants who mentioned each code per case. Used only without ``presence`` (then the
        denominators are not matched to the plan's roles and a suppressed count is unknown).
    segments : DataFrame
        Coded segments (document_id, participant_id, case_id, coder, code, start, end, text):
        the source of exemplar quotes.
    participants : DataFrame
        participant_id, case_id, [role], [name]: cases, roles (denominators and quotes), and
        (``name``) names to redact.
    presence : DataFrame, optional
        Who mentioned which code, unsuppressed (`qual.code_presence` with ``unit=("participant_id",
        "wave")``): participant_id, [wave], code, present, interviewed. The rule counts the
        interviewees of the plan's wave and roles from it (the research team's own counts);
        disclosure control applies only to what the display shows.
    """

    results: pd.DataFrame
    prevalence: pd.DataFrame
    segments: pd.DataFrame
    participants: pd.DataFrame
    presence: pd.DataFrame | None = None


@dataclass(frozen=True)
class DisplayOptions:
    """How a joint display is built: the map, the plan, quotes, language, disclosure control.

    Attributes
    ----------
    integration_map : IntegrationMap, path or None
        The map, or where to load it from (`load_integration_map`; None: the package's map).
    plan : AnalysisPlan, path or None
        The analysis plan (`load_analysis_plan`; a file or a data folder; None: the package's
        plan, reported as not pre-specified).
    overrides : path, DataFrame or None
        Evaluator overrides (`read_overrides`).
    quotes_per_cell : int
        1 to 3 exemplar quotes per construct x case.
    redact_names, redact
        Names to replace by ``[NAAM]`` in quotes, and the redaction function (default
        `ponzoni_eval.privacy.redact`).
    language : str
        Labels and meta-inference sentences.
    qual_threshold, alpha : float, optional
        Override the plan's values (None: the plan's).
    quant_basis : {"ci", "estimate"}
        The claims (95% CI and adjusted p) or the sensitivity view (point estimate against the
        plan's smallest meaningful effect).
    quote_window : (int, int)
        Preferred quote length in characters.
    cases : sequence of str, optional
        Cases (rows) in order; default the sorted cases of the participants, plus ``"all"``
        when a selected result is pooled.
    min_cell : int or None
        Disclosure control of what is shown: a count of 1 to ``min_cell - 1`` people reads
        "fewer than {min_cell}" and its share and interval are not shown. The rule uses the
        counts themselves, so suppression never changes a label. None shows every count (never
        for a display that leaves the research team).
    """

    integration_map: IntegrationMap | str | os.PathLike | None = None
    plan: AnalysisPlan | str | os.PathLike | None = None
    overrides: str | os.PathLike | pd.DataFrame | None = None
    quotes_per_cell: int = 2
    redact_names: Sequence[str] | None = None
    redact: Callable | None = None
    language: str = "en"
    qual_threshold: float | None = None
    alpha: float | None = None
    quant_basis: str = "ci"
    quote_window: tuple[int, int] = DEFAULT_QUOTE_WINDOW
    cases: Sequence[str] | None = None
    min_cell: int | None = DEFAULT_MIN_CELL

    def __post_init__(self) -> None:
        check_language(self.language)
        if self.qual_threshold is not None and not 0 < self.qual_threshold <= 1:
            raise ValueError(f"qual_threshold is a share between 0 and 1, got {self.qual_threshold}")
        if self.alpha is not None and not 0 < self.alpha < 1:
            raise ValueError(f"alpha lies between 0 and 1, got {self.alpha}")
        if self.quant_basis not in ("ci", "estimate"):
            raise ValueError(f"quant_basis must be 'ci' or 'estimate', got {self.quant_basis!r}")
        if not 1 <= self.quotes_per_cell <= 3:
            raise ValueError(f"quotes_per_cell must be 1, 2 or 3, got {self.quotes_per_cell}")


DISPLAY_KINDS = ("joint_display", "statistics_by_themes", "meta_matrix")


@dataclass(frozen=True)
class Display:
    """A display table with the settings it was built with (what `to_html`, `to_markdown` and `to_xlsx` state).

    Attributes
    ----------
    kind : {"joint_display", "statistics_by_themes", "meta_matrix"}
    table : DataFrame
    language : str
    alpha, qual_threshold : float
        The rule's parameters (from the plan unless the options overrode them).
    quant_basis : {"ci", "estimate"}
    min_cell : int or None
        The disclosure threshold of what is shown.
    integration_map : str or None
        Where the integration map came from; ``schema_version`` its version.
    plan : str or None
        Where the analysis plan came from; ``pre_specified`` False for the package's plan;
        ``registered`` its date (ISO); ``small_n`` its small-sample bound; ``multiplicity``
        its adjustment per family.
    order_by : str or None
        The meta-matrix's ordering construct.
    labels : mapping of str to str
        The constructs' display labels.
    """

    kind: str
    table: pd.DataFrame
    language: str = "en"
    alpha: float = DEFAULT_ALPHA
    qual_threshold: float = DEFAULT_QUAL_THRESHOLD
    quant_basis: str = "ci"
    min_cell: int | None = DEFAULT_MIN_CELL
    integration_map: str | None = None
    schema_version: int | None = None
    plan: str | None = None
    pre_specified: bool = False
    registered: str | None = None
    small_n: int = 10
    multiplicity: Mapping[str, str] = field(default_factory=dict)
    order_by: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in DISPLAY_KINDS:
            raise ValueError(f"kind must be one of {', '.join(DISPLAY_KINDS)}, not {self.kind!r}")
        if not isinstance(self.table, pd.DataFrame):
            raise TypeError(f"table must be a DataFrame, not {type(self.table).__name__}")


# --- quantitative strand --------------------------------------------------------------------

_PICKED_EXTRA = ("_row", "construct", "selector", "direction", "null_value", "smallest_meaningful", "fallback",
                 "family", "adjustment", "family_size", "p_integration", "row_evidence")


def _select_results(results: pd.DataFrame, imap: IntegrationMap, plan: AnalysisPlan, alpha: float, basis: str = "ci") -> pd.DataFrame:
    """Rows of ``results`` picked by the map, one per construct x result row, with the plan's family, adjusted p and evidence."""
    require_columns(results, RESULT_COLUMNS, "results", kind="frame (standard result frame)")
    # A stable order independent of how the caller's rows happen to be sorted.
    ordered = results.reset_index(drop=True).sort_values(
        ["case_id", "analysis", "outcome", "group", "test", "effect_name"], na_position="first", kind="stable"
    )
    ordered = ordered.assign(_row=np.arange(len(ordered)))
    parts = []
    for construct in imap.constructs:
        for index, selector in enumerate(construct.quantitative):
            picked = ordered.loc[selector.matches(ordered)]
            if len(picked):
                parts.append(
                    picked.assign(
                        construct=construct.name,
                        selector=index,
                        direction=selector.direction,
                        null_value=selector.null_value,
                        smallest_meaningful=np.nan if selector.smallest_meaningful is None else selector.smallest_meaningful,
                        fallback=selector.fallback,
                    )
                )
    columns = [*RESULT_COLUMNS, *_PICKED_EXTRA]
    if not parts:
        text = ("construct", "direction", "row_evidence", "family", "adjustment",
                *(c for c in RESULT_COLUMNS if c in ("analysis", "case_id", "group", "outcome", "test", "effect_name", "note")))
        return pd.DataFrame({c: pd.Series(dtype="str" if c in text else "bool" if c == "fallback" else "float64") for c in columns})
    picked = pd.concat(parts, ignore_index=True)
    # A row picked by two selectors of the same construct counts once, for the first selector.
    picked = picked.sort_values(["construct", "selector", "_row"], kind="stable").drop_duplicates(["construct", "_row"])
    # Fallback selectors only fill cases where the main selectors found numbers in no row.
    numbers = picked["effect_size"].notna() | picked["ci_low"].notna() | picked["p_value"].notna()
    has_main = (~picked["fallback"] & numbers).groupby([picked["construct"], picked["case_id"]]).transform("any")
    picked = picked.loc[~(picked["fallback"] & has_main)].reset_index(drop=True)

    # The plan: family and smallest meaningful effect per row.
    family = pd.Series("unplanned", index=picked.index, dtype="object")
    smallest = picked["smallest_meaningful"].astype("float64").copy()
    for name, rows in picked.groupby("construct", sort=False):
        construct_plan = plan.get(name)
        if construct_plan is None:
            family.loc[rows.index] = "secondary"  # not in the plan: exploratory
            continue
        open_rows = pd.Series(True, index=rows.index)
        for entry in construct_plan.results:
            hit = entry.matches(rows) & open_rows
            family.loc[hit[hit].index] = entry.family
            if entry.smallest_meaningful is not None:
                smallest.loc[hit[hit].index] = entry.smallest_meaningful
            open_rows &= ~hit
    picked["family"] = family.astype("str")
    picked["smallest_meaningful"] = smallest

    # Multiplicity as the plan says: one Holm family per planned family over the whole display.
    picked["adjustment"] = picked["family"].map(lambda f: plan.multiplicity.get(f, "none")).astype("str")
    picked["p_integration"] = picked["p_value"].astype("float64")
    picked["family_size"] = np.nan
    for name in ("primary", "secondary"):
        members = (picked["family"] == name) & (picked["adjustment"] == "holm")
        if members.any():
            picked.loc[members, "p_integration"] = holm(picked.loc[members, "p_value"].astype("float64"))
            picked.loc[members, "family_size"] = float(picked.loc[members, "p_value"].notna().sum())

    picked["row_evidence"] = classify_quantitative(
        picked["effect_size"],
        picked["ci_low"],
        picked["ci_high"],
        picked["p_integration"],
        direction=picked["direction"].to_numpy(dtype=object),
        null_value=picked["null_value"],
        smallest_meaningful=picked["smallest_meaningful"],
        alpha=alpha,
        basis=basis,
    )
    return picked.reset_index(drop=True)


PLAN_ADJUSTMENT_KEYS = ("analysis", "case_id", "group", "outcome", "test", "effect_name")


def plan_adjustment(results: pd.DataFrame, *, integration_map: Any = None, plan: Any = None) -> pd.DataFrame:
    """The analysis plan's multiplicity for the result rows the integration map picks: the one home of the families.

    The joint display decides with these numbers; a report table that shows a result the
    display uses shows the same adjusted p next to its own (e.g. the cross-case help-seeking
    table). Holm (Holm 1979) over every row of a family whose plan adjustment is ``"holm"``
    (the primary family: over all of ``results``, so pass every result the display uses);
    ``"none"`` leaves p as it is.

    Parameters
    ----------
    results : DataFrame
        Rows in the standard result shape (e.g. `report.sections.joint_display_inputs`'s results).
    integration_map, plan : optional
        An `IntegrationMap` / `AnalysisPlan` or a path (None: the package's).

    Returns
    -------
    DataFrame
        One row per picked result: `PLAN_ADJUSTMENT_KEYS`, ``construct``, ``family``
        (primary / secondary / unplanned), ``adjustment`` (holm / none), ``family_size`` (the
        number of p-values Holm adjusted over, NaN without Holm), ``p_value`` and
        ``p_plan`` (the adjusted p, as the joint display shows it).

    Examples
    --------
    >>> from ponzoni_eval._core.results import result_frame
    >>> rows = [dict(analysis="help_seeking_its", case_id=c, group="level change at the start", outcome="parenting_question_to_youth_team",
    ...     test="its_level_change", n=48, p_value=p, effect_size=1.5, effect_name="rate_ratio_level", ci_low=1.1, ci_high=2.0)
    ...     for c, p in (("a", 0.01), ("b", 0.04))]
    >>> plan_adjustment(result_frame(rows))[["case_id", "family", "family_size", "p_plan"]]
      case_id   family  family_size  p_plan
    0       a  primary          2.0    0.02
    1       b  primary          2.0    0.04
    """
    imap = integration_map if isinstance(integration_map, IntegrationMap) else load_integration_map(integration_map)
    plan = plan if isinstance(plan, AnalysisPlan) else load_analysis_plan(plan)
    check_plan_against_map(plan, imap)
    picked = _select_results(results, imap, plan, plan.alpha)
    columns = [*PLAN_ADJUSTMENT_KEYS, "construct", "family", "adjustment", "family_size", "p_value", "p_integration"]
    return picked[columns].rename(columns={"p_integration": "p_plan"}).reset_index(drop=True)


_EVIDENCE_ORDER = ("supportive", "contrary", "negligible", "inconclusive", "absent")


def _combine_quant(picked: pd.DataFrame) -> pd.DataFrame:
    """Evidence per construct x case from its deciding rows (see the module docstring)."""
    counts = pd.crosstab([picked["construct"], picked["case_id"]], picked["row_evidence"])
    for label in _EVIDENCE_ORDER:
        if label not in counts.columns:
            counts[label] = 0
    evidence = np.select(
        [
            (counts["supportive"] > 0) & (counts["contrary"] > 0),
            counts["supportive"] > 0,
            counts["contrary"] > 0,
            counts["negligible"] > 0,
            counts["inconclusive"] > 0,
        ],
        ["mixed", "supportive", "contrary", "negligible", "inconclusive"],
        default="absent",
    )
    tally = counts.apply(lambda r: ", ".join(f"{int(r[k])} {k}" for k in _EVIDENCE_ORDER if r[k]), axis=1)
    return pd.DataFrame({"quant_evidence": evidence, "quant_tally": tally.astype("str")}, index=counts.index).reset_index()


def _short_quant(rows: pd.DataFrame, language: str) -> pd.Series:
    """'g = 0.45 [0.10, 0.80]' per row (the estimate and its CI)."""
    phrases = terms("values.phrase", language)  # "RR (level)" in the reader's language
    symbol = rows["effect_name"].map(
        lambda e: phrases.get(_EFFECT_SYMBOLS[e], _EFFECT_SYMBOLS[e]) if e in _EFFECT_SYMBOLS
        else value_label("effect", e, language) if isinstance(e, str) else term("display.effect", language)
    )
    effect = [
        format_effect(estimate, low, high, name=name, language=language)
        for estimate, low, high, name in zip(rows["effect_size"], rows["ci_low"], rows["ci_high"], symbol.astype(str))
    ]
    text = pd.Series(effect, index=rows.index, dtype="str")
    no_estimate = rows["effect_size"].isna()
    statistic = rows["test"].fillna("test").astype(str) + " " + rows["statistic"].map(lambda v: format_number(v, language=language))
    nothing = term("display.no_estimate", language)
    return text.where(~no_estimate, statistic.where(rows["statistic"].notna(), nothing))


def _p_text(rows: pd.DataFrame, language: str) -> pd.Series:
    """The p-value that decided, as the plan adjusted it: 'Holm-adjusted p = .012' or 'p = .012'."""
    plain = rows["p_integration"].map(lambda p: format_p(p, language=language, missing=""))
    adjusted = plain.map(lambda p: term("display.p_holm", language, p=p) if p else "")
    return adjusted.where(rows["adjustment"] == "holm", plain)


def _one_line(rows: pd.DataFrame, language: str) -> pd.Series:
    """'Δ = 0.65 [0.34, 0.96], Holm-adjusted p < .001, n = 40' per row: estimate [CI], p, n."""
    n_text = rows["n"].map(lambda n: "" if pd.isna(n) else f"n = {int(n)}")
    parts = pd.concat([_short_quant(rows, language), _p_text(rows, language), n_text], axis=1)
    return parts.apply(lambda r: ", ".join(x for x in r if x), axis=1).astype(str)


def _top_level_split(text: str, separator: str) -> list[str]:
    """``text`` split at ``separator`` outside parentheses ("quasi-Poisson (scale = ...; t tests ...)" stays whole)."""
    pieces, depth, start, i = [], 0, 0, 0
    while i < len(text):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth = max(depth - 1, 0)
        elif depth == 0 and text.startswith(separator, i):
            pieces.append(text[start:i])
            start = i + len(separator)
            i = start
            continue
        i += 1
    return [*pieces, text[start:]]


def _note_value(value: str, language: str) -> str:
    """A copied part of a note in the reader's language: a role's name, a decimal with the language's mark."""
    roles = terms("values.role", language)
    if value in roles:
        return roles[value]
    if re.fullmatch(r"-?\d+\.\d+", value):
        return format_number(float(value), len(value.split(".")[1]), language=language)
    return value


def translate_note(text: str, language: str, separator: str = "; ") -> str:
    """A model note (or a group label) in the reader's language, fragment by fragment (``display.note`` of the words tables).

    The statistics write their notes in English; each fragment that matches an English entry of
    ``display.note`` is written as that entry in ``language`` (its ``{...}`` parts copied, roles
    and decimals in the language); a fragment without an entry stays as it is. English notes stay
    exactly as the statistics wrote them.

    Examples
    --------
    >>> translate_note("role=migrant_org, t0->t2", "nl", ", ")
    'rol: migrantenorganisatie, t0->t2'
    >>> translate_note("primary test; 17 complete pair(s); Pearson chi2/df = 1.07", "nl")
    'primaire toets; 17 volledige paren; Pearson chi2/vg = 1,07'
    """
    if not text or language == "en":
        return text  # the statistics' own words
    english, local = terms("display.note", "en"), terms("display.note", language)
    out = []
    for piece in _top_level_split(text, separator):
        for key, template in english.items():
            pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>.+?)", re.escape(template))
            found = re.fullmatch(pattern, piece)
            if found:
                piece = local[key].format(**{k: _note_value(v, language) for k, v in found.groupdict().items()})
                break
        out.append(piece)
    return separator.join(out)


def _notes(rows: pd.DataFrame, language: str) -> pd.Series:
    """What a reader of the appendix needs about a row: group, test, family and the analysis's note, in the reader's language."""
    family = rows["family"].map(terms("display.family", language))
    tests = terms("values.test", language)
    group = rows["group"].fillna("").astype(str).map(lambda g: translate_note(g, language, ", "))
    test = rows["test"].fillna("").astype(str).map(lambda t: t if language == "en" else tests.get(t, t))  # English: the statistics' name
    note = rows["note"].fillna("").astype(str).map(lambda n: translate_note(n, language))
    pieces = pd.concat([group, test, family, note], axis=1)
    # identifiers (migrant_org, welch_t, participant_id) by their names: the notes are read in the documents' footers
    return pieces.apply(lambda r: without_identifiers("; ".join(x for x in r if x), language), axis=1).astype(str)


def _quant_strand(picked: pd.DataFrame, language: str) -> pd.DataFrame:
    """Per construct x case: evidence from the deciding rows, the row that decided, its one line and the notes."""
    text = ("construct", "case_id", "quant_evidence", "quant_tally", "quant_summary", "quant_short", "quant_detail", "quant_notes",
            "effect_name", "analysis", "test", "family", "adjustment")
    numbers = ("estimate", "ci_low", "ci_high", "p_value", "p_integration", "family_size", "n", "n_results")
    if picked.empty:
        return pd.DataFrame({**{c: pd.Series(dtype="str") for c in text}, **{c: pd.Series(dtype="float64") for c in numbers}})
    keys = ["construct", "case_id"]
    picked = picked.assign(_empty=picked["row_evidence"] == "absent", _line=_one_line(picked, language), _note=_notes(picked, language))
    picked = picked.assign(_short=_short_quant(picked, language))
    # The deciding rows: primary rows with numbers; secondary ones only in cells without a primary row.
    usable = ~picked["_empty"] & (picked["family"] != "unplanned")
    has_primary = (usable & (picked["family"] == "primary")).groupby([picked["construct"], picked["case_id"]]).transform("any")
    deciding = usable & ((picked["family"] == "primary") | ~has_primary)
    evidence = _combine_quant(picked.loc[deciding]).set_index(keys) if deciding.any() else None
    cells = picked.groupby(keys, sort=False).size().rename("n_results").to_frame()
    if evidence is None:
        cells["quant_evidence"], cells["quant_tally"] = "absent", ""
    else:
        cells = cells.join(evidence)
        cells["quant_evidence"] = cells["quant_evidence"].fillna("absent")
        cells["quant_tally"] = cells["quant_tally"].fillna("")
    # The row that decided: the first deciding row whose evidence is the cell's (supportive for mixed).
    wanted = cells["quant_evidence"].replace({"mixed": "supportive"}).rename("_wanted").reset_index()
    ranked = picked.assign(_deciding=deciding).merge(wanted, on=keys, how="left")
    ranked["_rank"] = np.select(
        [ranked["_deciding"] & (ranked["row_evidence"] == ranked["_wanted"]), ranked["_deciding"], ~ranked["_empty"]], [0, 1, 2], default=3
    )
    ranked = ranked.sort_values([*keys, "_rank", "selector", "_row"], kind="stable")
    primary = ranked.groupby(keys, sort=False).head(1).set_index(keys)
    detail = ranked.assign(_full=ranked["_line"] + " (" + ranked["_note"] + ")").groupby(keys, sort=False)["_full"].agg("\n".join)
    out = pd.DataFrame(
        {
            "quant_evidence": cells["quant_evidence"],
            "quant_tally": cells["quant_tally"],
            "quant_summary": primary["_line"],
            "quant_short": primary["_short"],
            "quant_detail": detail,
            "quant_notes": primary["_note"],
            "estimate": primary["effect_size"],
            "ci_low": primary["ci_low"],
            "ci_high": primary["ci_high"],
            "p_value": primary["p_value"],
            "p_integration": primary["p_integration"],
            "family_size": primary["family_size"],
            "n": primary["n"],
            "effect_name": primary["effect_name"],
            "analysis": primary["analysis"],
            "test": primary["test"],
            "family": primary["family"],
            "adjustment": primary["adjustment"],
            "n_results": cells["n_results"],
        }
    )
    return out.reset_index()


# --- qualitative strand -------------------------------------------------------------------------


def _code_links(imap: IntegrationMap) -> pd.DataFrame:
    rows = [
        {"construct": c.name, "code": link.code, "code_direction": link.direction, "code_order": i}
        for c in imap.constructs
        for i, link in enumerate(c.codes)
    ]
    return pd.DataFrame(rows, columns=["construct", "code", "code_direction", "code_order"])


def _link_roles(imap: IntegrationMap, plan: AnalysisPlan, roles: Sequence[str]) -> pd.DataFrame:
    """construct, code, role, wave: whose interviews count for each linked code (the plan's population)."""
    rows = []
    for construct in imap.constructs:
        construct_plan = plan.get(construct.name)
        for link in construct.codes:
            speaking = construct_plan.roles_for(link.code) if construct_plan else tuple(roles)
            wave = construct_plan.wave if construct_plan else None
            rows += [{"construct": construct.name, "code": link.code, "role": role, "wave": wave} for role in speaking]
    return pd.DataFrame(rows, columns=["construct", "code", "role", "wave"])


def _speakers(imap: IntegrationMap, plan: AnalysisPlan, participants: pd.DataFrame) -> pd.DataFrame | None:
    """construct, code, role, wave whose passages may be quoted (the plan's population); None without roles."""
    if "role" not in participants.columns:
        return None
    return _link_roles(imap, plan, sorted(participants["role"].dropna().astype(str).unique()))


def _counts_from_presence(presence: pd.DataFrame, participants: pd.DataFrame, imap: IntegrationMap, plan: AnalysisPlan,
                          cases: Sequence[str]) -> pd.DataFrame:
    """construct, case_id, code, role, n, N, hidden: the matched interviewees per role, unsuppressed."""
    require_columns(presence, _REQUIRED_PRESENCE, "presence", kind="frame (qual.code_presence)")
    if "role" not in participants.columns:
        raise DataError("participants need a role column to match the interview denominators to the analysis plan", column="role", rule="required")
    people = participants.loc[:, ["participant_id", "case_id", "role"]].astype("str").drop_duplicates("participant_id")
    pres = presence.drop(columns=[c for c in ("case_id", "role") if c in presence.columns])
    pres = pres.loc[pres["interviewed"].astype(bool)].astype({"participant_id": "str", "code": "str"})
    pres = pres.merge(people, on="participant_id", how="inner")
    has_wave = "wave" in pres.columns
    if has_wave:
        pres["wave"] = pres["wave"].astype("str")
    pres = pres.assign(_wave=pres["wave"] if has_wave else "")
    links = _link_roles(imap, plan, sorted(people["role"].unique()))
    # N: everyone of the role interviewed at the wave (also where nobody applied the code); n: who mentioned it.
    interviewed = pres[["participant_id", "case_id", "role", "_wave"]].drop_duplicates()
    at_risk = links.merge(interviewed, on="role")
    if has_wave:
        at_risk = at_risk.loc[at_risk["wave"].isna() | (at_risk["wave"] == at_risk["_wave"])]
    totals = at_risk.groupby(["construct", "case_id", "code", "role"], as_index=False).agg(N=("participant_id", "nunique"))
    mentioned = pres.loc[pd.to_numeric(pres["present"]) > 0, ["participant_id", "code", "_wave"]]
    hits = at_risk.merge(mentioned, on=["participant_id", "code", "_wave"])
    counted = hits.groupby(["construct", "case_id", "code", "role"], as_index=False).agg(n=("participant_id", "nunique"))
    counted = totals.merge(counted, on=["construct", "case_id", "code", "role"], how="left")
    grid = links[["construct", "code", "role"]].merge(pd.DataFrame({"case_id": [c for c in cases if c != POOLED_CASE]}), how="cross")
    counted = grid.merge(counted, on=["construct", "case_id", "code", "role"], how="left").fillna({"n": 0, "N": 0})
    if POOLED_CASE in cases:
        pooled = counted.groupby(["construct", "code", "role"], as_index=False)[["n", "N"]].sum().assign(case_id=POOLED_CASE)
        counted = pd.concat([counted, pooled], ignore_index=True)
    return counted.assign(n=counted["n"].astype("float64"), N=counted["N"].astype("float64"), hidden=False)


def _counts_from_prevalence(prevalence: pd.DataFrame, cases: Sequence[str]) -> pd.DataFrame:
    """case_id, code, role (""), n, N, hidden from a prevalence frame (counts as given; a suppressed count is unknown)."""
    if "n" not in prevalence.columns and "n_with_code" in prevalence.columns:
        prevalence = prevalence.rename(columns={"n_with_code": "n", "n_with_code_flag": "n_flag"})
    require_columns(prevalence, _REQUIRED_PREVALENCE, "prevalence", kind="frame")
    prev = prevalence.loc[:, [c for c in (*_REQUIRED_PREVALENCE, "suppressed", "n_flag") if c in prevalence.columns]].copy()
    prev["case_id"] = prev["case_id"].astype("str")
    prev["code"] = prev["code"].astype("str")
    prev["n"] = pd.to_numeric(prev["n"], errors="coerce").astype("float64")
    prev["N"] = pd.to_numeric(prev["n_at_risk"], errors="coerce").astype("float64")
    flag = prev["n_flag"].fillna("").astype(str) if "n_flag" in prev else pd.Series("", index=prev.index)
    marked = prev["suppressed"].fillna(False).astype(bool) if "suppressed" in prev else pd.Series(False, index=prev.index)
    prev["hidden"] = marked | (flag != "") | (prev["n"].isna() & prev["N"].notna())
    duplicated = prev.duplicated(["case_id", "code"], keep=False)
    if duplicated.any():
        position = int(np.flatnonzero(duplicated.to_numpy())[0])
        first = prev.iloc[position]
        raise DataError(
            "prevalence frame must have one row per case_id x code",
            row=position + 2,
            column="code",
            found=f"{first['case_id']} x {first['code']} more than once",
            rule="unique",
        )
    if POOLED_CASE in cases and not (prev["case_id"] == POOLED_CASE).any():
        per_case = prev.loc[prev["case_id"] != POOLED_CASE]
        pooled = per_case.groupby("code", as_index=False).agg(
            n=("n", lambda s: s.sum(min_count=len(s))), N=("N", "sum"), hidden=("hidden", "any")
        )
        prev = pd.concat([prev, pooled.assign(case_id=POOLED_CASE)], ignore_index=True)
    return prev.loc[prev["case_id"].isin(cases), ["case_id", "code", "n", "N", "hidden"]].assign(role="")


def _shown(n: pd.Series, hidden: pd.Series, min_cell: int | None) -> pd.Series:
    """Whether a count may be shown: not suppressed before, and 0 or at least ``min_cell``."""
    small = (n > 0) & (n < min_cell) if min_cell else pd.Series(False, index=n.index)
    return ~hidden & n.notna() & ~small


def _count_text(n: pd.Series, total: pd.Series, shown: pd.Series, min_cell: int | None, language: str, *, share: bool) -> pd.Series:
    """'10 of 17 (59%, 95% CI 36% to 78%)' or 'fewer than 5 of 17' per row."""
    total_text = total.map(lambda v: "?" if pd.isna(v) else str(int(v)))
    low, high = wilson_interval(n, total)
    pct = lambda v: "" if pd.isna(v) else f"{int(round(v * 100))}%"  # noqa: E731
    out = []
    for count, of, visible, lo, hi, t in zip(n, total, shown, low, high, total_text):
        if not visible:
            if min_cell and pd.notna(of) and of < min_cell:  # "fewer than 5 of 4" says nothing: "1 to 4 of 4"
                out.append(term("display.some_of", language, high=int(of), total=t))
            else:
                out.append(term("display.fewer_than", language, min_cell=min_cell or 1, total=t))
            continue
        text = term("display.n_of", language, n=int(count), total=t)
        if share and of and of > 0:
            text += " " + term("display.share_ci", language, share=pct(count / of), low=pct(lo), high=pct(hi))
        out.append(text)
    return pd.Series(out, index=n.index, dtype="str")


def _qual_strand(
    inputs: DisplayInputs, imap: IntegrationMap, plan: AnalysisPlan, cases: Sequence[str], threshold: float, alpha: float,
    language: str, min_cell: int | None = DEFAULT_MIN_CELL,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per construct x case evidence, and the long construct x case x code table (published counts)."""
    links = _code_links(imap)
    if inputs.presence is not None:
        by_role = _counts_from_presence(inputs.presence, inputs.participants, imap, plan, cases)
    else:
        prev = _counts_from_prevalence(inputs.prevalence, cases)
        by_role = links[["construct", "code"]].merge(prev, on="code")
    keys = ["construct", "case_id"]
    themes = by_role.groupby([*keys, "code"], as_index=False).agg(
        n=("n", lambda s: s.sum(min_count=len(s))), N=("N", "sum"), hidden=("hidden", "any")
    )
    grid = links.merge(pd.DataFrame({"case_id": list(cases)}), how="cross")
    themes = grid.merge(themes, on=[*keys, "code"], how="left")
    themes["hidden"] = themes["hidden"].fillna(False).astype(bool)
    themes["has_row"] = themes["N"].notna() | themes["hidden"]
    themes["N"] = themes["N"].fillna(0.0)
    themes["mentioned"] = (themes["n"].fillna(0) > 0) | themes["hidden"]
    themes["low"], themes["high"] = wilson_interval(themes["n"], themes["N"])
    themes["shown"] = _shown(themes["n"], themes["hidden"], min_cell)
    share = themes["n"] / themes["N"].where(themes["N"] > 0)
    marker = themes["code_direction"].map({"supports": "+", "contradicts": "−", "context": "·"})
    counts = _count_text(themes["n"], themes["N"], themes["shown"], min_cell, language, share=False)
    pct = share.where(themes["shown"]).map(lambda v: "" if pd.isna(v) else f" ({int(round(v * 100))}%)")
    code_names = themes["code"].map(lambda code: value_label("code", code, language))
    themes["prevalence"] = (marker + " " + code_names + " " + counts + pct).where(themes["has_row"], "")
    themes = themes.sort_values([*keys, "code_order"], kind="stable")

    kinds = {c.name: (plan.get(c.name).comparison if plan.get(c.name) else "within") for c in imap.constructs}
    summary = themes.groupby(keys, sort=False).agg(
        mentioned=("mentioned", "any"),
        interviewees=("N", "max"),
        qual_summary=("prevalence", lambda s: "; ".join(x for x in s if x)),
    )
    lows = themes.pivot_table(index=keys, columns="code_direction", values="low", aggfunc="max", sort=False)
    published = themes.assign(_share=share.where(themes["shown"]))
    shares = published.pivot_table(index=keys, columns="code_direction", values="_share", aggfunc="max", sort=False)
    for frame in (lows, shares):
        for direction in CODE_DIRECTIONS:
            if direction not in frame.columns:
                frame[direction] = np.nan
    summary["qual_evidence"] = classify_qualitative(
        lows["supports"].reindex(summary.index), lows["contradicts"].reindex(summary.index), summary["mentioned"], threshold=threshold
    )
    summary["support_share"] = shares["supports"].reindex(summary.index)
    summary["contrary_share"] = shares["contradicts"].reindex(summary.index)
    summary["comparison"] = [kinds[c] for c, _ in summary.index]

    # The code that carries the verdict (or, without one, the largest theme), for the sentence.
    side = summary["qual_evidence"].map({"supportive": "supports", "contrary": "contradicts", "mixed": "supports"})
    ranked = themes.merge(side.rename("_side").reset_index(), on=keys)
    ranked = ranked.assign(
        _rank=np.select([ranked["code_direction"] == ranked["_side"], ranked["code_direction"] == "supports",
                         ranked["code_direction"] == "contradicts"], [0, 1, 2], default=3),
        _share=ranked["n"] / ranked["N"].where(ranked["N"] > 0),
    )
    ranked = ranked.loc[ranked["mentioned"] & (ranked["_rank"] < 3)].sort_values(
        [*keys, "_rank", "low", "_share", "code_order"], ascending=[True, True, True, False, False, True], kind="stable"
    )
    lead = ranked.groupby(keys, sort=False).head(1).set_index(keys)
    lead_text = lead["code"].map(lambda code: value_label("code", code, language)) + ": " + _count_text(lead["n"], lead["N"], lead["shown"], min_cell, language, share=True)
    summary["lead_code"] = lead["code"].reindex(summary.index)
    summary["lead_text"] = lead_text.reindex(summary.index)
    visible = lead["shown"].reindex(summary.index).fillna(False).astype(bool)
    summary["qual_n"] = lead["n"].reindex(summary.index).where(visible)
    summary["qual_total"] = lead["N"].reindex(summary.index)
    summary["qual_share"] = (summary["qual_n"] / summary["qual_total"].where(summary["qual_total"] > 0)).where(visible)
    summary["qual_low"] = lead["low"].reindex(summary.index).where(visible)
    summary["qual_high"] = lead["high"].reindex(summary.index).where(visible)
    summary["qual_p"] = np.nan

    between = [name for name, kind in kinds.items() if kind == "between_roles"]
    if between and inputs.presence is not None:
        contrasts = _contrasts(by_role, plan, between, alpha, language, min_cell)
        if len(contrasts):
            summary = _with_contrasts(summary, contrasts)
    return summary.reset_index(), themes


def _contrasts(by_role: pd.DataFrame, plan: AnalysisPlan, constructs: Sequence[str], alpha: float, language: str, min_cell: int | None) -> pd.DataFrame:
    """One row per between-role construct x case x contrast code: both roles' counts, Fisher's p, Holm within the cell."""
    roles = terms("values.role", language)
    rows = []
    indexed = by_role.set_index(["construct", "case_id", "code", "role"])
    for name in constructs:
        for code, (higher, lower) in plan.get(name).contrasts.items():
            for case in by_role.loc[by_role["construct"] == name, "case_id"].unique():
                get = lambda role: indexed.loc[(name, case, code, role)] if (name, case, code, role) in indexed.index else None  # noqa: E731
                high, low = get(higher), get(lower)
                n_h, t_h = (float(high["n"]), float(high["N"])) if high is not None else (0.0, 0.0)
                n_l, t_l = (float(low["n"]), float(low["N"])) if low is not None else (0.0, 0.0)
                testable = t_h > 0 and t_l > 0
                p = fisher_exact(n_h, t_h - n_h, n_l, t_l - n_l) if testable else np.nan
                rows.append(dict(construct=name, case_id=case, code=code, higher=higher, lower=lower, n_h=n_h, t_h=t_h, n_l=n_l, t_l=t_l,
                                 p=p, higher_label=roles.get(higher, higher), lower_label=roles.get(lower, lower)))
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table["p_holm"] = table.groupby(["construct", "case_id"], group_keys=False)["p"].apply(lambda s: pd.Series(holm(s), index=s.index))
    share_h = table["n_h"] / table["t_h"].where(table["t_h"] > 0)
    share_l = table["n_l"] / table["t_l"].where(table["t_l"] > 0)
    table["evidence"] = classify_contrasts(share_h, share_l, table["p_holm"], (table["n_h"] + table["n_l"]) > 0, alpha=alpha)
    no_hidden = pd.Series(False, index=table.index)
    high_text = _count_text(table["n_h"], table["t_h"], _shown(table["n_h"], no_hidden, min_cell), min_cell, language, share=False)
    low_text = _count_text(table["n_l"], table["t_l"], _shown(table["n_l"], no_hidden, min_cell), min_cell, language, share=False)
    p_text = table["p_holm"].map(lambda p: term("display.p_holm", language, p=format_p(p, language=language)) if pd.notna(p) else term("display.no_estimate", language))
    table["text"] = [
        term("display.contrast", language, code=value_label("code", code, language), higher=hl, higher_counts=ht, lower=ll, lower_counts=lt, p=pt)
        for code, hl, ht, ll, lt, pt in zip(table["code"], table["higher_label"], high_text, table["lower_label"], low_text, p_text)
    ]
    return table


def _with_contrasts(summary: pd.DataFrame, contrasts: pd.DataFrame) -> pd.DataFrame:
    """The between-role constructs' qualitative evidence from their contrasts (replaces the shares' verdict)."""
    keys = ["construct", "case_id"]
    counts = pd.crosstab([contrasts["construct"], contrasts["case_id"]], contrasts["evidence"])
    for label in ("supportive", "contrary", "inconclusive", "absent"):
        if label not in counts.columns:
            counts[label] = 0
    evidence = pd.Series(
        np.select(
            [(counts["supportive"] > 0) & (counts["contrary"] > 0), counts["supportive"] > 0, counts["contrary"] > 0, counts["inconclusive"] > 0],
            ["mixed", "supportive", "contrary", "inconclusive"],
            default="absent",
        ),
        index=counts.index,
    )
    wanted = evidence.replace({"mixed": "supportive"}).rename("_wanted").reset_index()
    ranked = contrasts.merge(wanted, on=keys).assign(_rank=lambda f: np.where(f["evidence"] == f["_wanted"], 0, 1))
    lead = ranked.sort_values([*keys, "_rank", "p_holm"], kind="stable").groupby(keys, sort=False).head(1).set_index(keys)
    summary = summary.copy()
    hit = summary.index.isin(evidence.index)
    summary.loc[hit, "qual_evidence"] = evidence.reindex(summary.index[hit]).to_numpy()
    summary.loc[hit, "lead_code"] = lead["code"].reindex(summary.index[hit]).to_numpy()
    summary.loc[hit, "lead_text"] = lead["text"].reindex(summary.index[hit]).to_numpy()
    summary.loc[hit, "qual_p"] = lead["p_holm"].reindex(summary.index[hit]).to_numpy()
    summary.loc[hit, ["qual_n", "qual_share", "qual_low", "qual_high"]] = np.nan
    summary.loc[hit, "qual_summary"] = contrasts.groupby(keys, sort=False)["text"].agg("; ".join).reindex(summary.index[hit]).to_numpy()
    return summary


# --- meta-inferences --------------------------------------------------------------------------


def _contrasted_codes(imap: IntegrationMap, plan: AnalysisPlan) -> dict[str, list[str]]:
    """The between-role constructs' contrasted codes (the plan's ``[contrasts]``): they alone decide those verdicts (`_contrasts`)."""
    out = {}
    for construct in imap.constructs:
        spec = plan.get(construct.name)
        if spec and spec.comparison == "between_roles" and spec.contrasts:
            out[construct.name] = list(spec.contrasts)
    return out


def _deciding_codes(imap: IntegrationMap, plan: AnalysisPlan, language: str, *, between_contrasts: bool) -> dict[str, str]:
    """Per construct, in words, the codes whose mentions decide its qualitative verdict: a between-role construct's
    contrasted codes (when the interviews are counted per participant, `_contrasts`), else every linked code."""
    out = {}
    contrasts = _contrasted_codes(imap, plan) if between_contrasts else {}
    for construct in imap.constructs:
        contrasted = contrasts.get(construct.name, [])
        names = ", ".join(value_label("code", code, language) for code in (contrasted or [link.code for link in construct.codes]))
        key = ("display.codes_contrasted" if len(contrasted) == 1 else "display.codes_contrasted_many") if contrasted else "display.codes_linked"
        out[construct.name] = term(key, language, codes=names)
    return out



def _meta_inference(row: Mapping[str, Any], language: str, small_n: int, codes: Mapping[str, str] | None = None) -> str:
    """The sentence for one construct x case: the label, the results that decided it, small numbers, exploratory.

    ``codes``: per construct, the codes whose mentions decide its qualitative verdict, in words (`_deciding_codes`);
    a silence without interviews names them.
    """
    strands = terms("display.strand", language)
    says = terms("display.says", language)
    says_plural = terms("display.says_plural", language)
    quant_rule = QUANT_TO_RULE[row["quant_evidence"]]
    qual_rule = QUAL_TO_RULE[row["qual_evidence"]]
    quant = row["quant_summary"] if isinstance(row["quant_summary"], str) and row["quant_summary"] else "—"
    qual = row["lead_text"] if isinstance(row["lead_text"], str) and row["lead_text"] else (row["qual_summary"] or "—")
    fields = dict(
        label=row["construct_label"].lower(),
        case=value_label("case", row["case_id"], language),
        quant=quant,
        qual=qual,
        quant_strand=strands["quant"],
        qual_strand=strands["qual"],
        quant_says=says[row["quant_evidence"]] if row["quant_evidence"] in says else "",
        qual_says=says_plural[row["qual_evidence"]] if row["qual_evidence"] in says_plural else "",
        codes=(codes or {}).get(row["construct"], term("display.codes_unnamed", language)),
    )
    label = row["computed_fit_label"]
    if label == "agreement":
        key = "display.templates.agreement_supports" if quant_rule == "supportive" else "display.templates.agreement_contradicts"
    elif label == "dissonance":
        key = "display.templates.dissonance"
    elif label == "partial agreement":
        quant_strong = quant_rule in ("supportive", "contrary")
        fields.update(
            strong_strand=strands["quant"] if quant_strong else strands["qual"],
            strong=quant if quant_strong else qual,
            strong_says=says[row["quant_evidence"]] if quant_strong else says_plural[row["qual_evidence"]],
            weak_strand=strands["qual"] if quant_strong else strands["quant"],
            weak=qual if quant_strong else quant,
            weak_says=says_plural[row["qual_evidence"]] if quant_strong else says[row["quant_evidence"]],
        )
        key = "display.templates.partial"
    elif label == "silence":
        key = "display.templates.silence_quant" if quant_rule == "absent" else "display.templates.silence_qual"
    elif quant_rule == "absent" and qual_rule == "absent":
        key = "display.templates.inconclusive_none"
    else:
        key = "display.templates.inconclusive"
    sentence = term(key, language, **fields)
    small = []
    if quant_rule != "absent" and pd.notna(row["n"]) and row["n"] < small_n:
        small.append(f"n = {int(row['n'])}")
    if qual_rule != "absent" and pd.notna(row["interviewees"]) and 0 < row["interviewees"] < small_n:
        small.append(term("display.interviewees", language, n=int(row["interviewees"])))
    if small:
        sentence += " " + term("display.small_n", language, counts=", ".join(small))
    if quant_rule != "absent" and row["family"] == "secondary":
        sentence += " " + term("display.exploratory", language)
    return sentence


# --- joint display ------------------------------------------------------------------------------

_DISPLAY_COLUMNS = [
    "construct",
    "construct_label",
    "case_id",
    "outcome",
    "quant_summary",
    "quant_short",
    "quant_notes",
    "quant_detail",
    "estimate",
    "ci_low",
    "ci_high",
    "p_value",
    "p_integration",
    "adjustment",
    "family",
    "family_size",
    "n",
    "effect_name",
    "n_results",
    "quant_evidence",
    "quant_tally",
    "comparison",
    "interviewees",
    "qual_summary",
    "support_share",
    "contrary_share",
    "lead_code",
    "lead_text",
    "qual_n",
    "qual_total",
    "qual_share",
    "qual_low",
    "qual_high",
    "qual_p",
    "qual_evidence",
    "quotes",
    "quote_refs",
    "computed_fit_label",
    "fit_label",
    "fetters_fit",
    "overridden",
    "meta_inference",
    "evaluator",
    "override_date",
    "override_reason",
    "alpha",
    "quant_basis",
    "qual_threshold",
]


def _integration_inputs(inputs: DisplayInputs, options: DisplayOptions) -> tuple[IntegrationMap, AnalysisPlan, pd.DataFrame, list[str]]:
    """What every integration display starts from: checked inputs, the map, the plan, the results they pick, the cases."""
    if not isinstance(inputs, DisplayInputs):
        raise TypeError(f"inputs must be an integrate.DisplayInputs, not {type(inputs).__name__}")
    if not isinstance(options, DisplayOptions):
        raise TypeError(f"options must be an integrate.DisplayOptions, not {type(options).__name__}")
    imap = options.integration_map if isinstance(options.integration_map, IntegrationMap) else load_integration_map(options.integration_map)
    plan = options.plan if isinstance(options.plan, AnalysisPlan) else load_analysis_plan(options.plan)
    check_plan_against_map(plan, imap)
    require_columns(inputs.segments, _REQUIRED_SEGMENTS, "coded_segments")
    require_columns(inputs.participants, _REQUIRED_PARTICIPANTS, "participants")
    picked = _select_results(inputs.results, imap, plan, _alpha(options, plan), options.quant_basis)
    return imap, plan, picked, _case_list(inputs.participants, picked, options.cases)


def _alpha(options: DisplayOptions, plan: AnalysisPlan) -> float:
    return plan.alpha if options.alpha is None else options.alpha


def _threshold(options: DisplayOptions, plan: AnalysisPlan) -> float:
    return plan.qual_threshold if options.qual_threshold is None else options.qual_threshold


def _settings(options: DisplayOptions, imap: IntegrationMap, plan: AnalysisPlan) -> dict[str, Any]:
    """The settings a display records (`Display`), from the options, the map and the plan it was built with."""
    return dict(
        language=options.language, alpha=_alpha(options, plan), qual_threshold=_threshold(options, plan), quant_basis=options.quant_basis,
        min_cell=options.min_cell, integration_map=imap.source, schema_version=imap.schema_version, plan=plan.source,
        pre_specified=plan.pre_specified, registered=plan.registered.isoformat(), small_n=plan.small_n, multiplicity=dict(plan.multiplicity),
    )
def _case_list(participants: pd.DataFrame, picked: pd.DataFrame, cases: Sequence[str] | None) -> list[str]:
    if cases is not None:
        return list(cases)
    found = sorted(participants["case_id"].dropna().astype(str).unique())
    if (picked["case_id"] == POOLED_CASE).any():
        found.append(POOLED_CASE)
    return found


def _names_from(participants: pd.DataFrame, names: Iterable[str] | None) -> list[str]:
    if names is not None:
        return [n for n in names if isinstance(n, str)]
    return participant_names(participants)




def joint_display(inputs: DisplayInputs, options: DisplayOptions = DisplayOptions()) -> Display:
    """Side-by-side joint display: one row per construct x case, with a fit label.

    Parameters
    ----------
    inputs : DisplayInputs
        Results, prevalence (or, better, the unsuppressed ``presence``), coded segments and participants.
    options : DisplayOptions
        Map, plan, overrides, quotes, redaction, language, cases and the disclosure threshold.

    Returns
    -------
    Display
        ``kind="joint_display"``; its ``table`` has the columns in `_DISPLAY_COLUMNS`,
        constructs in map order and cases in case order. ``quant_summary`` is the one line of
        the result that decided (estimate [CI], p as the plan adjusted it, n), ``quant_notes``
        its model notes, ``quant_detail`` every selected row; ``lead_text`` the theme (or the
        between-role contrast) that decided the qualitative verdict; ``fit_label`` the final
        label (overridden where an evaluator said so), ``computed_fit_label`` the rule's.

    Notes
    -----
    The fit rule is described in this module's docstring and `ponzoni_eval.integrate.fit`.
    Quotes are chosen by `select_quotes` from the codes on the side of the qualitative verdict.

    References
    ----------
    Guetterman, Fetters & Creswell (2015); O'Cathain, Murphy & Nicholl (2010); Fetters, Curry & Creswell (2013).

    Examples
    --------
    >>> from ponzoni_eval._core.results import result_frame
    >>> results = result_frame([dict(analysis="cross_case_mixed_model", case_id="a", group="t0->t2", outcome="trust",
    ...     test="contrast", n=40, p_value=0.001, effect_size=0.8, effect_name="change", ci_low=0.4, ci_high=1.2)])
    >>> prevalence = pd.DataFrame({"case_id": ["a"], "code": ["growing_trust"], "n": [16], "n_at_risk": [20]})
    >>> segments = pd.DataFrame({"document_id": ["d1"], "participant_id": ["p1"], "case_id": ["a"], "coder": ["c1"],
    ...     "code": ["growing_trust"], "start": [0], "end": [60],
    ...     "text": ["Since we organised the tea afternoons together we trust each other."]})
    >>> participants = pd.DataFrame({"participant_id": ["p1"], "case_id": ["a"], "role": ["migrant_org"]})
    >>> display = joint_display(DisplayInputs(results, prevalence, segments, participants), DisplayOptions(language="en"))
    >>> row = display.table.loc[display.table["construct"] == "trust"].iloc[0]
    >>> row["quant_evidence"], row["qual_evidence"], row["fit_label"]
    ('supportive', 'supportive', 'agreement')
    >>> row["quant_summary"]
    'Δ = 0.80 [0.40, 1.20], Holm-adjusted p = .001, n = 40'
    """
    imap, plan, picked, case_ids = _integration_inputs(inputs, options)
    language = options.language
    segments, participants = inputs.segments, inputs.participants

    grid = pd.DataFrame(
        [(c.name, c.label(language), case) for c in imap.constructs for case in case_ids],
        columns=["construct", "construct_label", "case_id"],
    )
    outcome = {c.name: (plan.get(c.name).outcome if plan.get(c.name) else "secondary") for c in imap.constructs}
    grid["outcome"] = grid["construct"].map(outcome)
    quant = _quant_strand(picked.loc[picked["case_id"].isin(case_ids)], language)
    qual, _ = _qual_strand(inputs, imap, plan, case_ids, _threshold(options, plan), _alpha(options, plan), language, options.min_cell)
    display = grid.merge(quant, on=["construct", "case_id"], how="left").merge(qual, on=["construct", "case_id"], how="left")
    display["quant_evidence"] = display["quant_evidence"].fillna("absent")
    display["qual_evidence"] = display["qual_evidence"].fillna("absent")
    display["n_results"] = display["n_results"].fillna(0).astype("int64")
    for column in ("quant_summary", "quant_short", "quant_detail", "quant_notes", "quant_tally", "qual_summary", "effect_name",
                   "family", "adjustment", "lead_text", "comparison"):
        display[column] = display[column].fillna("").astype("str")
    for column in ("estimate", "ci_low", "ci_high", "p_value", "p_integration", "family_size", "support_share", "contrary_share",
                   "interviewees", "qual_n", "qual_total", "qual_share", "qual_low", "qual_high", "qual_p"):
        display[column] = pd.to_numeric(display[column]).astype("float64")
    display["n"] = pd.to_numeric(display["n"]).astype("Int64")
    display["computed_fit_label"] = fit_label(display["quant_evidence"], display["qual_evidence"])

    quotes = quotes_for(
        segments,
        participants,
        _code_links(imap),
        display[["construct", "case_id", "qual_evidence"]],
        k=options.quotes_per_cell,
        names=_names_from(participants, options.redact_names),
        redact=options.redact or privacy_redact,
        window=options.quote_window,
        speakers=_speakers(imap, plan, participants),
        language=language,
        deciding=_contrasted_codes(imap, plan) if inputs.presence is not None else None,
    )
    display = display.merge(quotes, on=["construct", "case_id"], how="left")
    deciding = _deciding_codes(imap, plan, language, between_contrasts=inputs.presence is not None)
    display["meta_inference"] = display.apply(lambda row: _meta_inference(row, language, plan.small_n, deciding), axis=1).astype("str")

    chosen = read_overrides(options.overrides, constructs=imap.names, cases=case_ids)
    display = display.merge(
        chosen.rename(columns={"fit_label": "_override_label", "meta_inference": "_override_text", "date": "override_date", "reason": "override_reason"}),
        on=["construct", "case_id"],
        how="left",
    )
    display["overridden"] = display["evaluator"].notna()
    label_given = display["_override_label"].fillna("") != ""
    text_given = display["_override_text"].fillna("") != ""
    display["fit_label"] = display["computed_fit_label"].where(~label_given, display["_override_label"]).astype("str")
    display["meta_inference"] = display["meta_inference"].where(~text_given, display["_override_text"]).astype("str")
    display["fetters_fit"] = display["fit_label"].map(FETTERS_FIT).fillna("").astype("str")
    display["computed_fit_label"] = display["computed_fit_label"].astype("str")
    for column in ("evaluator", "override_date", "override_reason", "quotes", "quote_refs", "lead_code"):
        display[column] = display[column].fillna("").astype("str")
    display["lead_code"] = display["lead_code"].replace("", np.nan).astype("object")
    display["alpha"] = _alpha(options, plan)
    display["quant_basis"] = options.quant_basis
    display["qual_threshold"] = _threshold(options, plan)

    return Display("joint_display", display.loc[:, _DISPLAY_COLUMNS].reset_index(drop=True), **_settings(options, imap, plan))


def statistics_by_themes(inputs: DisplayInputs, options: DisplayOptions = DisplayOptions()) -> Display:
    """Statistics-by-themes display: per construct and case, the statistic beside each theme.

    One row per construct x case x linked code: the one-line quantitative result of the case
    (repeated on its theme rows), the code's direction, its prevalence among the matched
    interviewees (n of N; a count below ``min_cell`` reads "fewer than ..." and its n and share
    are blank), and the best exemplar quote for that code (`select_quotes`, redacted).
    Guetterman, Fetters & Creswell (2015) call this a statistics-by-themes joint display.

    Returns
    -------
    Display
        ``kind="statistics_by_themes"``; its ``table``: construct, construct_label, case_id,
        statistic, quant_evidence, code, code_direction, n, n_at_risk, share, prevalence,
        quote, quote_ref.
    """
    imap, plan, picked, case_ids = _integration_inputs(inputs, options)
    language, segments, participants = options.language, inputs.segments, inputs.participants
    quant = _quant_strand(picked.loc[picked["case_id"].isin(case_ids)], language)
    _, themes = _qual_strand(inputs, imap, plan, case_ids, _threshold(options, plan), _alpha(options, plan), language, options.min_cell)
    themes = themes.assign(
        n=themes["n"].where(themes["shown"]),
        n_at_risk=themes["N"].where(themes["has_row"]),
        share=(themes["n"] / themes["N"].where(themes["N"] > 0)).where(themes["shown"]),
    )
    names = _names_from(participants, options.redact_names)
    redact = options.redact or privacy_redact
    quote_window = options.quote_window

    # One quote per construct x case x code: the top passage of that code alone, from the construct's matched speakers.
    wanted = themes[["construct", "case_id", "code"]].drop_duplicates()
    candidates = matched_speakers(wanted.merge(with_pooled(segments, case_ids), on=["case_id", "code"]), participants,
                                  _speakers(imap, plan, participants))
    best = rank_passages(candidates, ["construct", "case_id", "code"], k=1, window=quote_window)
    quotes = format_quotes(best, participants, names=names, redact=redact, max_chars=quote_window[1], language=language)
    quotes = quotes.loc[:, ["construct", "case_id", "code", "quote", "quote_ref"]]

    labels = {c.name: c.label(language) for c in imap.constructs}
    table = themes.merge(quant[["construct", "case_id", "quant_summary", "quant_evidence"]], on=["construct", "case_id"], how="left")
    table = table.merge(quotes, on=["construct", "case_id", "code"], how="left")
    table["construct_label"] = table["construct"].map(labels)
    table["statistic"] = table["quant_summary"].fillna("")
    table["quant_evidence"] = table["quant_evidence"].fillna("absent")
    construct_order = {name: i for i, name in enumerate(imap.names)}
    case_order = {case: i for i, case in enumerate(case_ids)}
    table = table.assign(_c=table["construct"].map(construct_order), _k=table["case_id"].map(case_order))
    table = table.sort_values(["_c", "_k", "code_order"], kind="stable")
    columns = ["construct", "construct_label", "case_id", "statistic", "quant_evidence", "code", "code_direction",
               "n", "n_at_risk", "share", "prevalence", "quote", "quote_ref"]
    out = table.loc[:, columns].reset_index(drop=True)
    for column in ("statistic", "prevalence", "quote", "quote_ref"):
        out[column] = out[column].fillna("").astype("str")
    out["n"] = pd.to_numeric(out["n"]).round().astype("Int64")
    out["n_at_risk"] = pd.to_numeric(out["n_at_risk"]).round().astype("Int64")
    return Display("statistics_by_themes", out, **_settings(options, imap, plan))


def meta_matrix(joint: Display, *, order_by: str = "trust", ascending: bool = False) -> Display:
    """Case-ordered meta-matrix: cases as rows, constructs as columns, both strands per cell.

    Parameters
    ----------
    joint : Display
        The output of `joint_display`.
    order_by : str
        Construct whose primary estimate orders the cases (e.g. trust change);
        cases without an estimate come last, ties by case_id.
    ascending : bool
        Order direction; default largest first.

    Returns
    -------
    Display
        ``kind="meta_matrix"`` with the joint display's settings, ``order_by``
        and ``labels`` (the constructs' display labels); its ``table`` has
        case_id, ``order_value`` (the estimate of ``order_by``), one text
        column per construct ("g = 0.45 [0.10, 0.80] · growing trust 67% ·
        agreement"; without a qualitative verdict the largest supporting and
        contradicting shares, "+17% / −8%") and one ``<construct>_fit``
        column with the fit label (used to colour the cells).

    References
    ----------
    Miles, Huberman & Saldaña (2014), Qualitative Data Analysis, ch. 8
    (case-ordered meta-matrix).
    """
    if not isinstance(joint, Display) or joint.kind != "joint_display":
        raise TypeError("meta_matrix needs the Display that joint_display returns")
    display = joint.table
    require_columns(display, ("construct", "case_id", "estimate", "fit_label", "quant_short", "lead_code", "qual_share", "support_share", "contrary_share"), "joint display", kind="frame")
    constructs = list(dict.fromkeys(display["construct"]))
    if order_by not in constructs:
        raise ValueError(f"order_by must be one of the display's constructs {constructs}, got {order_by!r}")
    language = joint.language
    short = display["quant_short"].where(display["quant_short"] != "", "—")
    percent = lambda share: (share * 100).round().astype("Int64").astype(str) + "%"  # noqa: E731
    # The code behind the verdict with its share (left out when its count is suppressed); without one the largest shares on each side.
    lead_share = percent(display["qual_share"]).where(display["qual_share"].notna(), "")
    lead_name = display["lead_code"].map(lambda code: "" if pd.isna(code) else value_label("code", code, language))
    lead = (lead_name + " " + lead_share).str.strip()
    plus = ("+" + percent(display["support_share"])).where(display["support_share"].notna(), "")
    minus = ("−" + percent(display["contrary_share"])).where(display["contrary_share"].notna(), "")
    sides = (plus + " / " + minus).str.strip(" /").replace("", "—")
    qual = lead.where(display["lead_code"].notna(), sides.where(display["qual_evidence"] != "absent", "—"))
    cell = short + " · " + qual + " · " + display["fit_label"].map(terms("fit.label", language))
    long = display.assign(cell=cell)
    wide = long.pivot(index="case_id", columns="construct", values="cell").reindex(columns=constructs)
    fits = long.pivot(index="case_id", columns="construct", values="fit_label").reindex(columns=constructs)
    fits.columns = [f"{c}_fit" for c in fits.columns]
    order = display.loc[display["construct"] == order_by].set_index("case_id")["estimate"].rename("order_value")
    matrix = pd.concat([order, wide, fits], axis=1)
    matrix.index.name = "case_id"
    matrix = matrix.reset_index().sort_values(["order_value", "case_id"], ascending=[ascending, True], na_position="last", kind="stable")
    matrix = matrix.reset_index(drop=True)
    matrix.columns.name = None
    labels = dict(zip(display["construct"], display["construct_label"])) if "construct_label" in display else {}
    return replace(joint, kind="meta_matrix", table=matrix, order_by=order_by, labels=labels)
