"""Mixed-methods integration: integration map, joint displays, meta-inferences.

For each construct of the study (trust, perception gap, expectation mismatch,
safe space, help-seeking) this module puts the numbers and the voices side by
side and judges how the two strands fit:

1. An **integration map** (`load_integration_map`, a versioned TOML file) says
   which rows of the standard result frame and which codes speak to each
   construct, and in which direction an effect or a code supports it.
2. `joint_display` builds a construct x case table (Guetterman, Fetters &
   Creswell, 2015): the quantitative result, the prevalence of the linked
   themes, one to three exemplar quotes (chosen by a fixed rule and redacted),
   a **fit label** from the triangulation protocol (agreement, partial
   agreement, silence, dissonance; O'Cathain, Murphy & Nicholl, 2010) computed
   by the decision table in `FIT_RULE`, an evaluator's override, and a
   meta-inference sentence.
3. `meta_matrix` (cases ordered by an outcome x constructs) and
   `statistics_by_themes` (the statistic per case beside each theme's
   prevalence) are two further displays.
4. `to_html`, `to_markdown` and `to_xlsx` render any of the three displays.

The fit rule
------------
Quantitative evidence per construct x case (all result rows that the map's
selectors pick for the case):

- a row is *supportive* when its 95% CI lies strictly beyond the null value on
  the supportive side; *contrary* when it lies strictly beyond it on the other
  side; *negligible* when the map gives a smallest meaningful effect and the CI
  stays short of it; *inconclusive* otherwise. A row without a CI is judged by
  ``p_value < alpha`` and the sign of its estimate; a row without an estimate
  and without a CI (a test that could not run) is no evidence;
- a construct x case is *mixed* when it has both a supportive and a contrary
  row; else *supportive* when a row is supportive (a negligible row beside it,
  e.g. a flat slope beside a level jump, does not contradict it); else
  *contrary*, else *negligible* when such a row exists; *inconclusive* when
  rows exist but none is conclusive, and *absent* when no selected row
  carries any number.

Qualitative evidence per construct x case, from the prevalence frame
(share = n / n_at_risk of participants who mentioned a code):

- S = the largest share among the codes that *support* the construct,
  C = the largest share among the codes that *contradict* it (0 if none);
- *supportive* when S >= threshold and S > C; *contrary* when C >= threshold
  and C > S; *mixed* when S = C >= threshold; *inconclusive* when a linked code
  (including *context* codes or suppressed cells) was mentioned but none of the
  above holds; *absent* when no linked code was mentioned by anyone.

Decision table (negligible counts as contrary, mixed as inconclusive)::

    quantitative \\ qualitative | supportive  contrary    inconclusive  absent
    ---------------------------+-----------------------------------------------
    supportive                 | agreement   dissonance  partial       silence
    contrary                   | dissonance  agreement   partial       silence
    inconclusive               | partial     partial     silence       silence
    absent                     | silence     silence     silence       silence

(partial = partial agreement). When neither strand is conclusive there is no
finding to triangulate, so the label is *silence*, as when a strand has no data.

References
----------
Fetters, M. D., Curry, L. A., & Creswell, J. W. (2013). Achieving integration
in mixed methods designs: principles and practices. Health Services Research,
48(6 Pt 2), 2134-2156.
Guetterman, T. C., Fetters, M. D., & Creswell, J. W. (2015). Integrating
quantitative and qualitative results in health science mixed methods research
through joint displays. Annals of Family Medicine, 13(6), 554-561.
O'Cathain, A., Murphy, E., & Nicholl, J. (2010). Three techniques for
integrating data in mixed methods studies. BMJ, 341, c4587.
Okabe, M., & Ito, K. (2008). Color Universal Design: how to make figures and
presentations that are friendly to colorblind people (the palette used here).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ponzoni_eval._core.errors import DataError, require_columns
from ponzoni_eval._core.numbers import format_effect, format_number, format_p
from ponzoni_eval._core.results import RESULT_COLUMNS
from ponzoni_eval._core.words import check_language, term, terms
from ponzoni_eval.integrate.fit import (
    classify_qualitative,
    classify_quantitative,
    CODE_DIRECTIONS,
    DEFAULT_ALPHA,
    DEFAULT_QUAL_THRESHOLD,
    FETTERS_FIT,
    fit_label,
    POOLED_CASE,
    QUAL_TO_RULE,
    QUANT_TO_RULE,
)
from ponzoni_eval.integrate.map import IntegrationMap, load_integration_map
from ponzoni_eval.integrate.overrides import read_overrides
from ponzoni_eval.integrate.quotes import (
    DEFAULT_QUOTE_WINDOW,
    format_quotes,
    quotes_for,
    rank_passages,
    with_pooled,
)
from ponzoni_eval.privacy.names import participant_names
from ponzoni_eval.privacy.redaction import redact as privacy_redact
from ponzoni_eval.privacy.suppress import DEFAULT_MIN_CELL, suppress_small_cells

__all__ = [
    "DisplayInputs",
    "DisplayOptions",
    "Display",
    "joint_display",
    "statistics_by_themes",
    "meta_matrix",
]


_REQUIRED_PREVALENCE = ("case_id", "code", "n", "n_at_risk")
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
        Standard result frame (`ponzoni_eval._core.results.RESULT_COLUMNS`),
        stacked over analyses.
    prevalence : DataFrame
        case_id, code, n (or n_with_code), n_at_risk, [pct], [suppressed]:
        participants who mentioned each code per case (one row per case x
        code; `quantitize.prevalence` with ``by="case_id"``).
    segments : DataFrame
        Coded segments (document_id, participant_id, case_id, coder, code,
        start, end, text): the source of exemplar quotes.
    participants : DataFrame
        participant_id, case_id, [role], [name]: cases, roles shown beside
        quotes, and (``name``) names to redact.
    """

    results: pd.DataFrame
    prevalence: pd.DataFrame
    segments: pd.DataFrame
    participants: pd.DataFrame


@dataclass(frozen=True)
class DisplayOptions:
    """How a joint display is built: the map, the rule's thresholds, quotes, language, disclosure control.

    Attributes
    ----------
    integration_map : IntegrationMap, path or None
        The map, or where to load it from (`load_integration_map`; None: the
        package's map).
    overrides : path, DataFrame or None
        Evaluator overrides (`read_overrides`): a file, the raw data folder
        that holds ``integration_overrides.csv``, or a frame.
    quotes_per_cell : int
        1 to 3 exemplar quotes per construct x case.
    redact_names : iterable of str, optional
        Names to replace by ``[NAAM]`` in quotes; default the ``name`` column
        of the participants (`ponzoni_eval.privacy.participant_names`).
        Processed participants have no names: pass ``redaction_terms["term"]``
        from `ponzoni_eval.data.preparation`.
    redact : callable, optional
        ``redact(texts, names)`` returning the redacted texts; default
        `ponzoni_eval.privacy.redact` (names as whole words in any case, with
        possessives, plus e-mail addresses and Dutch phone numbers).
    language : {"en", "nl"}
        Labels and meta-inference sentences.
    qual_threshold : float
        Share of participants a side of the qualitative evidence must reach.
    alpha : float
        Significance level for result rows without a CI.
    quant_basis : {"ci", "estimate"}
        Judge result rows by their 95% CI (default) or, descriptively, by the
        point estimate against the map's smallest meaningful effect
        (`classify_quantitative`).
    quote_window : (int, int)
        Preferred quote length in characters; longer quotes are cut at the
        upper bound with " […]".
    cases : sequence of str, optional
        Cases (rows) in order; default the sorted cases of the participants,
        plus ``"all"`` when a selected result is pooled.
    min_cell : int or None
        Disclosure control: a prevalence count from 1 to ``min_cell - 1``
        that is not suppressed yet (`ponzoni_eval.privacy.suppress_small_cells`)
        is suppressed before it is used: shown as "<5" and counted as unknown
        (0) by the fit rule; a pooled row that would reveal it is suppressed
        too. Default 5; None uses the counts as given (never for a display
        that leaves the research team).

    Raises
    ------
    ValueError
        For a language, threshold, basis or number of quotes out of range.
    """

    integration_map: IntegrationMap | str | os.PathLike | None = None
    overrides: str | os.PathLike | pd.DataFrame | None = None
    quotes_per_cell: int = 2
    redact_names: Sequence[str] | None = None
    redact: Callable | None = None
    language: str = "en"
    qual_threshold: float = DEFAULT_QUAL_THRESHOLD
    alpha: float = DEFAULT_ALPHA
    quant_basis: str = "ci"
    quote_window: tuple[int, int] = DEFAULT_QUOTE_WINDOW
    cases: Sequence[str] | None = None
    min_cell: int | None = DEFAULT_MIN_CELL

    def __post_init__(self) -> None:
        check_language(self.language)
        if not 0 < self.qual_threshold <= 1:
            raise ValueError(f"qual_threshold is a share between 0 and 1, got {self.qual_threshold}")
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
        The display itself.
    language : {"en", "nl"}
    alpha, qual_threshold : float
        The fit rule's parameters.
    quant_basis : {"ci", "estimate"}
    min_cell : int or None
        The disclosure threshold the prevalence counts were suppressed with.
    integration_map : str or None
        Where the integration map came from (`IntegrationMap.source`).
    schema_version : int or None
        The map's schema version.
    order_by : str or None
        The meta-matrix's ordering construct.
    labels : mapping of str to str
        The constructs' display labels (the meta-matrix's column headers).
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
    order_by: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in DISPLAY_KINDS:
            raise ValueError(f"kind must be one of {', '.join(DISPLAY_KINDS)}, not {self.kind!r}")
        if not isinstance(self.table, pd.DataFrame):
            raise TypeError(f"table must be a DataFrame, not {type(self.table).__name__}")


# --- input checks ------------------------------------------------------------------------


# --- quantitative strand --------------------------------------------------------------------


def _select_results(results: pd.DataFrame, imap: IntegrationMap, alpha: float, basis: str = "ci") -> pd.DataFrame:
    """Rows of ``results`` picked by the map, one per construct x result row, classified."""
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
    columns = [*RESULT_COLUMNS, "_row", "construct", "selector", "direction", "null_value", "smallest_meaningful", "fallback", "row_evidence"]
    if not parts:
        text = ("construct", "direction", "row_evidence", *(c for c in RESULT_COLUMNS if c in ("analysis", "case_id", "group", "outcome", "test", "effect_name", "note")))
        return pd.DataFrame({c: pd.Series(dtype="str" if c in text else "bool" if c == "fallback" else "float64") for c in columns})
    picked = pd.concat(parts, ignore_index=True)
    # A row picked by two selectors of the same construct counts once, for the first selector.
    picked = picked.sort_values(["construct", "selector", "_row"], kind="stable").drop_duplicates(["construct", "_row"])
    picked["row_evidence"] = classify_quantitative(
        picked["effect_size"],
        picked["ci_low"],
        picked["ci_high"],
        picked["p_value"],
        direction=picked["direction"].to_numpy(dtype=object),
        null_value=picked["null_value"],
        smallest_meaningful=picked["smallest_meaningful"],
        alpha=alpha,
        basis=basis,
    )
    # Fallback selectors only fill cases where the main selectors found no numbers.
    has_main = (~picked["fallback"] & (picked["row_evidence"] != "absent")).groupby([picked["construct"], picked["case_id"]]).transform("any")
    picked = picked.loc[~(picked["fallback"] & has_main)]
    return picked.reset_index(drop=True)


def _combine_quant(picked: pd.DataFrame) -> pd.DataFrame:
    """Evidence per construct x case from its classified rows (see the module docstring)."""
    counts = pd.crosstab([picked["construct"], picked["case_id"]], picked["row_evidence"])
    for label in ("supportive", "contrary", "negligible", "inconclusive", "absent"):
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
    tally = counts.apply(
        lambda r: ", ".join(f"{int(r[k])} {k}" for k in ("supportive", "contrary", "negligible", "inconclusive", "absent") if r[k]),
        axis=1,
    )
    return pd.DataFrame({"quant_evidence": evidence, "quant_tally": tally.astype("str")}, index=counts.index).reset_index()


def _short_quant(rows: pd.DataFrame, language: str) -> pd.Series:
    """'g = 0.45 [0.10, 0.80]' per row (the estimate and its CI)."""
    symbol = rows["effect_name"].map(lambda e: _EFFECT_SYMBOLS.get(e, e) if isinstance(e, str) else "effect")
    effect = [
        format_effect(estimate, low, high, name=name, language=language)
        for estimate, low, high, name in zip(rows["effect_size"], rows["ci_low"], rows["ci_high"], symbol.astype(str))
    ]
    text = pd.Series(effect, index=rows.index, dtype="str")
    no_estimate = rows["effect_size"].isna()
    statistic = rows["test"].fillna("test").astype(str) + " " + rows["statistic"].map(lambda v: format_number(v, language=language))
    nothing = term("display.no_estimate", language)
    return text.where(~no_estimate, statistic.where(rows["statistic"].notna(), nothing))


def _long_quant(rows: pd.DataFrame, language: str) -> pd.Series:
    """'g = 0.45 [0.10, 0.80], p = .012, n = 14 (paired_t)' per row, prefixed with the group."""
    p_text = rows["p_value"].map(lambda p: format_p(p, language=language, missing=""))
    n_text = rows["n"].map(lambda n: "" if pd.isna(n) else f"n = {int(n)}")
    parts = pd.concat([_short_quant(rows, language), p_text, n_text], axis=1)
    body = parts.apply(lambda r: ", ".join(x for x in r if x), axis=1).astype(str)
    label = rows["test"].fillna("").astype(str)
    group = rows["group"].fillna("").astype(str)
    prefix = (group + ": ").where(group != "", "")
    note = rows["note"].fillna("").astype(str)
    return prefix + body + " (" + label + ")" + (" — " + note).where(note != "", "")


def _quant_strand(picked: pd.DataFrame, language: str) -> pd.DataFrame:
    """Per construct x case: evidence, the primary row's numbers, and text."""
    if picked.empty:
        text = ("construct", "case_id", "quant_evidence", "quant_tally", "quant_summary", "quant_short", "quant_detail",
                "effect_name", "analysis", "test")
        numbers = ("estimate", "ci_low", "ci_high", "p_value", "n", "n_results")
        return pd.DataFrame({**{c: pd.Series(dtype="str") for c in text}, **{c: pd.Series(dtype="float64") for c in numbers}})
    # The primary row (its numbers fill the numeric columns) is the first one that has numbers.
    picked = picked.assign(_empty=picked["row_evidence"] == "absent")
    picked = picked.sort_values(["construct", "case_id", "_empty", "selector", "_row"], kind="stable")
    picked = picked.assign(_short=_short_quant(picked, language), _long=_long_quant(picked, language))
    keys = ["construct", "case_id"]
    primary = picked.groupby(keys, sort=False).head(1).set_index(keys)
    detail = picked.groupby(keys, sort=False)["_long"].agg("\n".join)
    evidence = _combine_quant(picked).set_index(keys)
    out = pd.DataFrame(
        {
            "quant_evidence": evidence["quant_evidence"],
            "quant_tally": evidence["quant_tally"],
            "quant_summary": primary["_long"],
            "quant_short": primary["_short"],
            "quant_detail": detail,
            "estimate": primary["effect_size"],
            "ci_low": primary["ci_low"],
            "ci_high": primary["ci_high"],
            "p_value": primary["p_value"],
            "n": primary["n"],
            "effect_name": primary["effect_name"],
            "analysis": primary["analysis"],
            "test": primary["test"],
            "n_results": picked.groupby(keys, sort=False).size(),
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


def _prevalence_by_case(prevalence: pd.DataFrame, cases: Sequence[str], min_cell: int | None = DEFAULT_MIN_CELL) -> pd.DataFrame:
    """One row per case x code with n, n_at_risk, share and suppressed; pooled rows when asked."""
    # quantitize.prevalence names the count n_with_code; privacy.suppress_small_cells adds
    # n_with_code_flag ("<5") and blanks the count. Accept both spellings.
    if "n" not in prevalence.columns and "n_with_code" in prevalence.columns:
        prevalence = prevalence.rename(columns={"n_with_code": "n", "n_with_code_flag": "n_flag"})
    require_columns(prevalence, _REQUIRED_PREVALENCE, "prevalence", kind="frame")
    if min_cell is not None and not {"suppressed", "n_flag"} & set(prevalence.columns):
        # Counts of people that were not suppressed yet are suppressed here, before any display uses them.
        prevalence = suppress_small_cells(prevalence, count_columns=["n"], threshold=min_cell)
    prev = prevalence.loc[:, [c for c in (*_REQUIRED_PREVALENCE, "suppressed", "n_flag") if c in prevalence.columns]].copy()
    prev["n"] = pd.to_numeric(prev["n"], errors="coerce")
    prev["n_at_risk"] = pd.to_numeric(prev["n_at_risk"], errors="coerce")
    flag = prev["n_flag"].fillna("").astype(str) if "n_flag" in prev else pd.Series("", index=prev.index)
    marked = prev["suppressed"].fillna(False).astype(bool) if "suppressed" in prev else pd.Series(False, index=prev.index)
    # A blank count beside a known denominator is a suppressed cell, whatever marks it.
    prev["suppressed"] = marked | (flag != "") | (prev["n"].isna() & prev["n_at_risk"].notna())
    prev["n_flag"] = flag
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
            n=("n", lambda s: s.sum(min_count=len(s))),
            n_at_risk=("n_at_risk", "sum"),
            suppressed=("suppressed", "any"),
            n_flag=("n_flag", "max"),
        )
        prev = pd.concat([prev, pooled.assign(case_id=POOLED_CASE)], ignore_index=True)
    prev["share"] = (prev["n"] / prev["n_at_risk"]).where(~prev["suppressed"] & (prev["n_at_risk"] > 0))
    return prev.loc[prev["case_id"].isin(cases)]


def _prevalence_text(rows: pd.DataFrame, language: str) -> pd.Series:
    """'growing_trust 8/12 (67%)' or 'growing_trust suppressed' per row."""
    pct = (rows["share"] * 100).round().map(lambda v: "" if pd.isna(v) else f"{int(v)}%")
    counts = rows["n"].map(lambda v: "?" if pd.isna(v) else str(int(v))) + "/" + rows["n_at_risk"].map(
        lambda v: "?" if pd.isna(v) else str(int(v))
    )
    marker = rows["code_direction"].map({"supports": "+", "contradicts": "−", "context": "·"})
    hidden = term("display.suppressed", language)
    text = marker + " " + rows["code"].astype(str) + " " + counts + (" (" + pct + ")").where(pct != "", "")
    flag = rows["n_flag"].fillna("").astype(str) if "n_flag" in rows else pd.Series("", index=rows.index)
    at_risk = rows["n_at_risk"].map(lambda v: "?" if pd.isna(v) else str(int(v)))
    shown = (" " + flag + "/" + at_risk).where(flag != "", f" {hidden}")
    return text.where(~rows["suppressed"], marker + " " + rows["code"].astype(str) + shown)


def _qual_strand(
    prevalence: pd.DataFrame, imap: IntegrationMap, cases: Sequence[str], threshold: float, language: str, min_cell: int | None = DEFAULT_MIN_CELL
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per construct x case evidence, and the long construct x case x code table."""
    links = _code_links(imap)
    prev = _prevalence_by_case(prevalence, cases, min_cell)
    grid = links.merge(pd.DataFrame({"case_id": list(cases)}), how="cross")
    themes = grid.merge(prev, on=["case_id", "code"], how="left")
    themes["suppressed"] = themes["suppressed"].fillna(False).astype(bool)
    themes["has_row"] = themes["n_at_risk"].notna() | themes["suppressed"]
    themes["mentioned"] = (themes["n"].fillna(0) > 0) | themes["suppressed"]
    themes["prevalence"] = _prevalence_text(themes, language).where(themes["has_row"], "")
    themes = themes.sort_values(["construct", "case_id", "code_order"], kind="stable")

    keys = ["construct", "case_id"]
    share_by_direction = themes.pivot_table(index=keys, columns="code_direction", values="share", aggfunc="max", sort=False)
    for direction in CODE_DIRECTIONS:
        if direction not in share_by_direction.columns:
            share_by_direction[direction] = np.nan
    grouped = themes.groupby(keys, sort=False)
    summary = pd.DataFrame(
        {
            "mentioned": grouped["mentioned"].any(),
            "qual_summary": grouped["prevalence"].agg(lambda s: "; ".join(x for x in s if x)),
        }
    )
    summary = summary.join(share_by_direction[["supports", "contradicts"]]).rename(
        columns={"supports": "support_share", "contradicts": "contrary_share"}
    )
    summary["qual_evidence"] = classify_qualitative(
        summary["support_share"], summary["contrary_share"], summary["mentioned"], threshold=threshold
    )
    # The code that carries the verdict, for the meta-inference sentence.
    lead_direction = summary["qual_evidence"].map({"supportive": "supports", "contrary": "contradicts"})
    ranked = themes.merge(lead_direction.rename("lead").reset_index(), on=keys)
    ranked = ranked.loc[ranked["code_direction"] == ranked["lead"]].sort_values(
        [*keys, "share", "code_order"], ascending=[True, True, False, True], kind="stable"
    )
    lead = ranked.groupby(keys, sort=False).head(1).set_index(keys)
    summary["lead_code"] = lead["code"]
    summary["lead_text"] = (
        lead["code"] + ", " + lead["n"].astype("Int64").astype(str) + "/" + lead["n_at_risk"].astype("Int64").astype(str)
        + " = " + (lead["share"] * 100).round().astype("Int64").astype(str) + "%"
    )
    return summary.reset_index(), themes


# --- meta-inferences --------------------------------------------------------------------------

def _meta_inference(row: Mapping[str, Any], language: str) -> str:
    """The template sentence for one construct x case (``display.templates`` of the words tables)."""
    strands = terms("display.strand", language)
    says = terms("display.says", language)
    says_plural = terms("display.says_plural", language)
    quant_rule = QUANT_TO_RULE[row["quant_evidence"]]
    qual_rule = QUAL_TO_RULE[row["qual_evidence"]]
    quant = row["quant_short"] if isinstance(row["quant_short"], str) and row["quant_short"] else "—"
    qual = row["lead_text"] if isinstance(row["lead_text"], str) and row["lead_text"] else (row["qual_summary"] or "—")
    qual_says = {"supportive": says_plural["supportive"], "contrary": says_plural["contrary"]}
    fields = dict(
        label=row["construct_label"].lower(),
        case=row["case_id"],
        quant=quant,
        qual=qual,
        quant_strand=strands["quant"],
        qual_strand=strands["qual"],
        quant_says=says.get(row["quant_evidence"], ""),
        qual_says=qual_says.get(row["qual_evidence"], ""),
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
            strong_says=says[row["quant_evidence"]] if quant_strong else qual_says[row["qual_evidence"]],
            weak_strand=strands["qual"] if quant_strong else strands["quant"],
            weak=qual if quant_strong else quant,
        )
        key = "display.templates.partial"
    elif quant_rule == "absent":
        key = "display.templates.silence_quant"
    elif qual_rule == "absent":
        key = "display.templates.silence_qual"
    else:
        key = "display.templates.silence_both"
    return term(key, language, **fields)


# --- joint display ------------------------------------------------------------------------------

_DISPLAY_COLUMNS = [
    "construct",
    "construct_label",
    "case_id",
    "quant_summary",
    "quant_short",
    "quant_detail",
    "estimate",
    "ci_low",
    "ci_high",
    "p_value",
    "n",
    "effect_name",
    "n_results",
    "quant_evidence",
    "quant_tally",
    "qual_summary",
    "support_share",
    "contrary_share",
    "lead_code",
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


def _integration_inputs(inputs: DisplayInputs, options: DisplayOptions) -> tuple[IntegrationMap, pd.DataFrame, list[str]]:
    """What every integration display starts from: checked inputs, the map, the results it picks, the cases."""
    if not isinstance(inputs, DisplayInputs):
        raise TypeError(f"inputs must be an integrate.DisplayInputs, not {type(inputs).__name__}")
    if not isinstance(options, DisplayOptions):
        raise TypeError(f"options must be an integrate.DisplayOptions, not {type(options).__name__}")
    imap = options.integration_map if isinstance(options.integration_map, IntegrationMap) else load_integration_map(options.integration_map)
    require_columns(inputs.segments, _REQUIRED_SEGMENTS, "coded_segments")
    require_columns(inputs.participants, _REQUIRED_PARTICIPANTS, "participants")
    picked = _select_results(inputs.results, imap, options.alpha, options.quant_basis)
    return imap, picked, _case_list(inputs.participants, picked, options.cases)


def _settings(options: DisplayOptions, imap: IntegrationMap) -> dict[str, Any]:
    """The settings a display records (`Display`), from the options and the map it was built with."""
    return dict(
        language=options.language, alpha=options.alpha, qual_threshold=options.qual_threshold, quant_basis=options.quant_basis,
        min_cell=options.min_cell, integration_map=imap.source, schema_version=imap.schema_version,
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
        Results, prevalence, coded segments and participants.
    options : DisplayOptions
        Map, overrides, quotes, redaction, language, the fit rule's
        thresholds, cases and the disclosure threshold (default: all
        defaults).

    Returns
    -------
    Display
        ``kind="joint_display"``; its ``table`` has the columns in
        `_DISPLAY_COLUMNS`, constructs in map order and cases in case order.
        ``fit_label`` is the final label (overridden where an evaluator said
        so), ``computed_fit_label`` the rule's; ``alpha``, ``quant_basis``
        and ``qual_threshold`` record the rule's parameters (also as
        attributes of the `Display`, with ``min_cell`` and the map).

    Notes
    -----
    The fit rule is the decision table in this module's docstring
    (`FIT_RULE`); quotes are chosen by `select_quotes` from the codes on the
    side of the qualitative verdict (all linked codes when there is none).

    References
    ----------
    Guetterman, Fetters & Creswell (2015); O'Cathain, Murphy & Nicholl (2010).

    Examples
    --------
    >>> from ponzoni_eval._core.results import result_frame
    >>> results = result_frame([dict(analysis="pre_post", case_id="a", group="t0->t2", outcome="trust",
    ...     test="paired_t", n=12, p_value=0.01, effect_size=0.8, effect_name="hedges_g", ci_low=0.2, ci_high=1.4)])
    >>> prevalence = pd.DataFrame({"case_id": ["a"], "code": ["growing_trust"], "n": [6], "n_at_risk": [12]})
    >>> segments = pd.DataFrame({"document_id": ["d1"], "participant_id": ["p1"], "case_id": ["a"], "coder": ["c1"],
    ...     "code": ["growing_trust"], "start": [0], "end": [60],
    ...     "text": ["Since we organised the tea afternoons together we trust each other."]})
    >>> participants = pd.DataFrame({"participant_id": ["p1"], "case_id": ["a"], "role": ["migrant_org"]})
    >>> display = joint_display(DisplayInputs(results, prevalence, segments, participants), DisplayOptions(language="en"))
    >>> table = display.table
    >>> table.loc[table["construct"] == "trust", ["case_id", "quant_evidence", "qual_evidence", "fit_label"]].to_dict("records")
    [{'case_id': 'a', 'quant_evidence': 'supportive', 'qual_evidence': 'supportive', 'fit_label': 'agreement'}]
    """
    imap, picked, case_ids = _integration_inputs(inputs, options)
    language = options.language
    segments, participants = inputs.segments, inputs.participants

    grid = pd.DataFrame(
        [(c.name, c.label(language), case) for c in imap.constructs for case in case_ids],
        columns=["construct", "construct_label", "case_id"],
    )
    quant = _quant_strand(picked.loc[picked["case_id"].isin(case_ids)], language)
    qual, _ = _qual_strand(inputs.prevalence, imap, case_ids, options.qual_threshold, language, options.min_cell)
    display = grid.merge(quant, on=["construct", "case_id"], how="left").merge(qual, on=["construct", "case_id"], how="left")
    display["quant_evidence"] = display["quant_evidence"].fillna("absent")
    display["n_results"] = display["n_results"].fillna(0).astype("int64")
    for column in ("quant_summary", "quant_short", "quant_detail", "quant_tally", "qual_summary", "effect_name"):
        display[column] = display[column].fillna("").astype("str")
    for column in ("estimate", "ci_low", "ci_high", "p_value", "support_share", "contrary_share"):
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
    )
    display = display.merge(quotes, on=["construct", "case_id"], how="left")
    display["meta_inference"] = display.apply(lambda row: _meta_inference(row, language), axis=1).astype("str")

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
    display["fetters_fit"] = display["fit_label"].map(FETTERS_FIT).astype("str")
    display["computed_fit_label"] = display["computed_fit_label"].astype("str")
    for column in ("evaluator", "override_date", "override_reason", "quotes", "quote_refs"):
        display[column] = display[column].fillna("").astype("str")
    display["alpha"] = options.alpha
    display["quant_basis"] = options.quant_basis
    display["qual_threshold"] = options.qual_threshold

    return Display("joint_display", display.loc[:, _DISPLAY_COLUMNS].reset_index(drop=True), **_settings(options, imap))


def statistics_by_themes(inputs: DisplayInputs, options: DisplayOptions = DisplayOptions()) -> Display:
    """Statistics-by-themes display: per construct and case, the statistic beside each theme.

    One row per construct x case x linked code: the quantitative summary of
    the case (repeated on its theme rows), the code's direction, its
    prevalence (n/n_at_risk, %), and the best exemplar quote for that code
    (`select_quotes`, redacted). Guetterman, Fetters & Creswell (2015) call
    this a statistics-by-themes joint display.

    Parameters are those of `joint_display` (``overrides`` and
    ``quotes_per_cell`` do not apply: one quote per theme, no fit label).

    Returns
    -------
    Display
        ``kind="statistics_by_themes"``; its ``table``: construct,
        construct_label, case_id, statistic, quant_evidence, code,
        code_direction, n, n_at_risk, share, prevalence, quote, quote_ref.
    """
    imap, picked, case_ids = _integration_inputs(inputs, options)
    language, segments, participants = options.language, inputs.segments, inputs.participants
    quant = _quant_strand(picked.loc[picked["case_id"].isin(case_ids)], language)
    _, themes = _qual_strand(inputs.prevalence, imap, case_ids, options.qual_threshold, language, options.min_cell)
    names = _names_from(participants, options.redact_names)
    redact = options.redact or privacy_redact
    quote_window = options.quote_window

    # One quote per case x code: the top passage of that code alone.
    wanted = themes[["case_id", "code"]].drop_duplicates()
    candidates = wanted.merge(with_pooled(segments, case_ids), on=["case_id", "code"])
    best = rank_passages(candidates, ["case_id", "code"], k=1, window=quote_window)
    quotes = format_quotes(best, participants, names=names, redact=redact, max_chars=quote_window[1])
    quotes = quotes.loc[:, ["case_id", "code", "quote", "quote_ref"]]

    labels = {c.name: c.label(language) for c in imap.constructs}
    table = themes.merge(quant[["construct", "case_id", "quant_summary", "quant_evidence"]], on=["construct", "case_id"], how="left")
    table = table.merge(quotes, on=["case_id", "code"], how="left")
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
    out["n"] = pd.to_numeric(out["n"]).astype("Int64")
    out["n_at_risk"] = pd.to_numeric(out["n_at_risk"]).astype("Int64")
    return Display("statistics_by_themes", out, **_settings(options, imap))


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
        column per construct ("g = 0.45 [0.10, 0.80] · growing_trust 67% ·
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
    require_columns(display, ("construct", "case_id", "estimate", "fit_label", "quant_short", "lead_code", "support_share", "contrary_share"), "joint display", kind="frame")
    constructs = list(dict.fromkeys(display["construct"]))
    if order_by not in constructs:
        raise ValueError(f"order_by must be one of the display's constructs {constructs}, got {order_by!r}")
    language = joint.language
    short = display["quant_short"].where(display["quant_short"] != "", "—")
    percent = lambda share: (share * 100).round().astype("Int64").astype(str) + "%"  # noqa: E731
    # The code behind the verdict with its share; without a verdict the largest shares on each side.
    lead = display["lead_code"].astype(str) + " " + percent(
        display["support_share"].where(display["qual_evidence"] == "supportive", display["contrary_share"])
    )
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
