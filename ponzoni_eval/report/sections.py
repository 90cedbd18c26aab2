"""The report sections: one function per section, so notebooks stay thin and everything is tested.

A notebook section shows a figure, a result table and one sentence that reads
the numbers. Each function here computes those three from the processed
tables (`ponzoni_eval.data.processed.load_processed`) by calling the package's analysis
functions, and returns them as a `Section`; the notebook only saves and shows
them (`open_run(...).save_table / .save_figure`). Nothing is computed
in a notebook that a test cannot reach (``tests/report/test_sections.py``).

Shared inputs are computed once per notebook and passed on:

- `scores_for`: scale scores of every participant (`stats.score_scales`);
- `monthly_for`: monthly activity counts (`stats.monthly_activity`);
- `expectation_answers`: the nominal primary-expectation item with its labels;
- `presence_for`: who mentioned which code (`qual.code_presence`).

Sections of the case report (``01_case_report``, one case):
`reliability_section`, `trajectories_section`, `pre_post_section`,
`perception_gap_section`, `expectations_section`, `help_seeking_section`,
`theme_prevalence_section`, `agreement_section`.

Sections of the cross-case report (``02_cross_case``, the cases side by side):
`cross_case_trajectories_section`, `mixed_model_section`,
`kruskal_dunn_section`, `help_seeking_cross_section`,
`theme_heatmap_section`, `expectations_cross_section`.

The joint display (``03_joint_display``): `joint_display_inputs` stacks every
result the integration map can use (p-values adjusted within families), the
theme prevalence (small cells suppressed), the coded segments and the names to
redact; `joint_display_section` builds the joint display, the case-ordered
meta-matrix and the statistics-by-themes display, and `joint_display_documents`
renders them as HTML, Markdown and Excel. `integration_map_for` and
`overrides_for` read the evaluator's integration files that `prepare` carried
into the processed folder.

Every sentence comes from `ponzoni_eval.report` helpers and the numbers in the
section's own table; counts of people in published tables and sentences are
small-cell suppressed (`ponzoni_eval.privacy.suppress_small_cells`).

Examples
--------
A notebook section, in full (``run`` from `open_run`):

>>> tables = load_processed("data/processed")  # doctest: +SKIP
>>> scores = scores_for(tables)  # doctest: +SKIP
>>> change = pre_post_section(scores, "slotervaart", scale="trust")  # doctest: +SKIP
>>> run.save_figure(change.figure, "pre_post")  # doctest: +SKIP
>>> print(change.sentence)  # doctest: +SKIP
Trust among migrant organisations (t0->t2) rose from 2.9 to 3.6 (Hedges' g_av = 0.9, 95% CI 0.2 to 1.4, p = .006, n = 16); ...
>>> run.save_table(change.table, "pre_post", caption="Change t0 to t2 per scale and role.")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ponzoni_eval import integrate, qual, stats
from ponzoni_eval._core.errors import DataError
from ponzoni_eval._core.fingerprint import sha256_file
from ponzoni_eval._core.numbers import format_number, format_p, format_plain
from ponzoni_eval._core.vocabulary import MIXED_STRUCTURES
from ponzoni_eval.stats.mixed import COMPARE_ALPHA
from ponzoni_eval._core.results import result_frame, stack_results
from ponzoni_eval._core.words import check_language, term, terms
from ponzoni_eval.config import DEFAULT_MIN_CELL, DEFAULT_SEED, MANIFEST_FILE
from ponzoni_eval.data.preparation import INTEGRATION_OVERRIDES
from ponzoni_eval.integrate.map import default_map_path, load_integration_map
from ponzoni_eval.privacy.redaction import redact
from ponzoni_eval.privacy.suppress import CountRules
from ponzoni_eval.report.publishing import MAIN_TABLE, Section, TableSpec
from ponzoni_eval.report.describe import (
    describe_by,
    describe_change,
    describe_range,
    describe_result,
    describe_share,
    describe_tally,
)
from ponzoni_eval.report.plots import (
    agreement_by_code,
    expectation_bars,
    forest,
    help_seeking_its,
    label,
    perception_gap_dumbbell,
    theme_heatmap,
    trajectories,
)

__all__ = [
    "Section",
    "EXPECTATION_COUNTS",
    "JointDisplayInputs",
    "DisplaySection",
    "MIN_CELL",
    "MIN_DOUBLE_CODED",
    "FAMILIES",
    "scores_for",
    "monthly_for",
    "expectation_answers",
    "presence_for",
    "wave_means",
    "rounded",
    "reliability_section",
    "trajectories_section",
    "pre_post_section",
    "perception_gap_section",
    "expectations_section",
    "help_seeking_section",
    "theme_prevalence_section",
    "agreement_section",
    "cross_case_trajectories_section",
    "mixed_model_section",
    "kruskal_dunn_section",
    "help_seeking_cross_section",
    "theme_heatmap_section",
    "expectations_cross_section",
    "integration_map_for",
    "analysis_plan_for",
    "overrides_for",
    "integration_summary",
    "joint_display_inputs",
    "joint_display_section",
    "fit_changes",
    "joint_display_documents",
    "integration_procedure_document",
]

MIN_CELL = DEFAULT_MIN_CELL
"""Smallest count of people shown in a published table (counts 1-4 are suppressed); `save_table`'s default.
A run's ``--min-cell`` reaches a notebook as `open_run(...).min_cell`; pass it as ``min_cell=``.

Figures and sentences built from counts of people use the table as
``save_table(..., publish=True, count_columns=["n_with_code"],
derived={"percent": "n_with_code"})`` publishes it, so none of them reveals a
suppressed count.
"""

# Respondents per role (the response table) and per wave (the crosstab test's n) are published: a lone
# suppressed count in such a line would follow by subtraction, so a second one is hidden (issue 19).
EXPECTATION_COUNTS = CountRules(["n"], groups=[("case_id", "wave", "role"), ("case_id", "wave")])
"""The publishing rule of the expectation counts: ``n`` counts respondents."""

FAMILIES = ("analysis", "test", "effect_name")
"""Columns whose combinations are one family for the Holm adjustment of p-values (`stats.adjust_pvalues`)."""

MIN_DOUBLE_CODED = 10
"""Intercoder agreement from fewer double-coded documents carries a warning in its sentence: with a handful of
documents the bootstrap interval (which resamples documents) understates the uncertainty. Ten documents, or
10-25% of the material, is the usual minimum for an agreement check (O'Connor & Joffe, 2020)."""

RELIABILITY_FLOOR = 0.70
"""Conventional lower bound of acceptable internal consistency (Nunnally 1978), named in the reliability sentence."""

EXPECTATION_ITEM = "expectation_primary"
"""The nominal item asking each side what it primarily expects of the collaboration."""

EXPECTATION_SCALES = ("expect_strengthen", "expect_bridge")
"""Likert scales of the two expectations (strengthen the organisation; a bridge to parents)."""

OWN, PERCEIVED = "own_willingness", "perceived_willingness"
"""The two scales whose difference is the perception gap."""

_POOLED = "all"

@dataclass(frozen=True)
class JointDisplayInputs:
    """Everything `integrate.joint_display` needs, computed once (see `joint_display_inputs`).

    Attributes
    ----------
    results : DataFrame
        Every result the integration map may select, stacked, each analysis
        with its own p-value adjustment (the joint display adjusts the
        results it uses as the analysis plan says).
    prevalence : DataFrame
        Participants who mentioned each code per case, small cells suppressed.
    presence : DataFrame or None
        Who mentioned which code per wave, unsuppressed (`presence_for`): the
        fit rule counts the plan's interviewees from it. Never show or save it.
    segments, participants : DataFrame
        The coded segments (source of quotes) and participants (roles beside quotes).
    names : list of str
        Names to redact from quotes (from ``redaction_terms``). Never show or save them.
    cases : list of str
        The cases, in report order.
    min_cell : int
        The suppression threshold the prevalence was published with.
    """

    results: pd.DataFrame
    prevalence: pd.DataFrame
    segments: pd.DataFrame
    participants: pd.DataFrame
    names: list[str]
    cases: list[str]
    min_cell: int = MIN_CELL
    presence: pd.DataFrame | None = None

    def __repr__(self) -> str:  # the names must never be printed in a notebook
        return f"JointDisplayInputs({len(self.results)} results, {len(self.prevalence)} prevalence rows, {len(self.cases)} cases)"


@dataclass(frozen=True)
class DisplaySection(Section):
    """A `Section` whose tables are integration displays, with the settings each display was built with.

    ``displays`` maps `MAIN_TABLE` and each `tables` key to its
    `integrate.Display`; `joint_display_documents` renders the section's own
    (published) tables with those settings (language, rule, ``min_cell``,
    map, the meta-matrix's order and labels).
    """

    displays: Mapping[str, integrate.Display] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__post_init__()
        missing = sorted({MAIN_TABLE, *self.tables} - set(self.displays))
        if missing:
            raise ValueError(f"a display section needs the display settings of every table; missing: {missing}")


# --- shared inputs ---------------------------------------------------------------------


def _table(tables: Mapping[str, pd.DataFrame], name: str) -> pd.DataFrame:
    if name not in tables:
        raise DataError("table missing from the processed data", file=name, expected=f"{name}.parquet written by prepare", found=", ".join(sorted(tables)))
    return tables[name]


def _case_list(cases: str | Sequence[str] | None, known: Sequence[str]) -> list[str]:
    """The requested cases in the data's order; every case when None."""
    known = [str(case) for case in known]
    if cases is None:
        return known
    wanted = [cases] if isinstance(cases, str) else [str(case) for case in cases]
    unknown = [case for case in wanted if case not in known]
    if unknown:
        raise DataError("case not found", file="cases", column="case_id", expected=", ".join(known), found=", ".join(unknown))
    return [case for case in known if case in wanted]


def _cases_of(tables: Mapping[str, pd.DataFrame], cases: str | Sequence[str] | None) -> list[str]:
    return _case_list(cases, list(pd.unique(_table(tables, "cases")["case_id"].astype("str"))))


def _in_cases(frame: pd.DataFrame, cases: Sequence[str]) -> pd.DataFrame:
    """The rows of these cases; a categorical case_id keeps only their categories (figures draw a panel per category)."""
    kept = frame.loc[frame["case_id"].astype("str").isin(list(cases))]
    if isinstance(kept["case_id"].dtype, pd.CategoricalDtype):
        kept = kept.assign(case_id=kept["case_id"].cat.remove_unused_categories())
    return kept


def _plain(row: Any, language: str) -> dict[str, Any]:
    """A result row as a sentence reads it: the effect's display name, no group (the label says it), and no
    note: the statistics write their method notes (also why a test could not run) in English, in the table's
    ``note`` column, where the report points to them; a sentence in any report language stays in that language."""
    record = dict(row)
    record["note"] = None
    record["group"] = None
    if isinstance(record.get("effect_name"), str):
        record["effect_name"] = _name("effect", record["effect_name"], language)
    return record


def _plain_rows(frame: pd.DataFrame, language: str) -> pd.DataFrame:
    return pd.DataFrame([_plain(row, language) for row in frame.to_dict(orient="records")], columns=frame.columns)


def scores_for(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Scale scores of every participant, wave and scale (`stats.score_scales`); compute once per notebook.

    Examples
    --------
    >>> from ponzoni_eval.data import load_processed  # doctest: +SKIP
    >>> scores = scores_for(load_processed("data/processed"))  # doctest: +SKIP
    """
    return stats.score_scales(_table(tables, "survey_responses"), _table(tables, "instrument"), _table(tables, "participants"))


def monthly_for(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Monthly activity counts per case and event type (`stats.monthly_activity`), cases in the order of the
    cases table; empty without an activity log."""
    if "activity_log" not in tables:
        return pd.DataFrame(columns=list(stats.MONTHLY_COLUMNS))
    monthly = stats.monthly_activity(tables["activity_log"], _table(tables, "cases"))
    order = {case: i for i, case in enumerate(_cases_of(tables, None))}
    return monthly.sort_values("case_id", key=lambda c: c.map(order), kind="stable").reset_index(drop=True)


def expectation_answers(tables: Mapping[str, pd.DataFrame], *, item: str = EXPECTATION_ITEM) -> pd.DataFrame:
    """Answers to the primary-expectation item: participant_id, case_id, role, wave, expectation (the value label).

    Empty (with these columns) when the instrument has no such item.
    """
    columns = ["participant_id", "case_id", "role", "wave", "expectation"]
    instrument = _table(tables, "instrument")
    if item not in set(instrument["item_id"].astype("str")):
        return pd.DataFrame(columns=columns)
    answers = stats.item_responses(
        _table(tables, "survey_responses"), instrument, _table(tables, "participants"), level=None, items=[item]
    )
    answers = answers.rename(columns={"label": "expectation"})
    return answers.loc[answers["expectation"].notna(), columns].reset_index(drop=True)


def _segments(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame | None:
    """The coded segments with plain-text ids (processed tables hold categoricals)."""
    if "coded_segments" not in tables:
        return None
    segments = tables["coded_segments"]
    text = [c for c in ("document_id", "participant_id", "case_id", "coder", "code") if c in segments.columns]
    return segments.astype({column: "str" for column in text})


def presence_for(tables: Mapping[str, pd.DataFrame], *, unit: str | Sequence[str] = "participant_id") -> pd.DataFrame | None:
    """Which participant mentioned which code (`qual.code_presence`, primary coder); None without coded interviews."""
    segments = _segments(tables)
    if segments is None:
        return None
    return qual.code_presence(segments, _table(tables, "participants"), unit=unit, codebook=tables.get("codebook"))


def _in_codebook_order(prevalence: pd.DataFrame, tables: Mapping[str, pd.DataFrame], by: Sequence[str]) -> pd.DataFrame:
    """Prevalence rows by group (cases in the cases table's order), then codes in the codebook's order (themes together)."""
    cases = {case: i for i, case in enumerate(_cases_of(tables, None))}
    codes = {str(code): i for i, code in enumerate(pd.unique(tables["codebook"]["code"].astype("str")))} if "codebook" in tables else {}
    keys = {"case_id": lambda c: c.astype("str").map(cases), "code": lambda c: c.astype("str").map(codes).fillna(len(codes))}
    ordered = prevalence.sort_values([*by, "code"], key=lambda c: keys.get(c.name, lambda x: x)(c), kind="stable")
    return ordered.reset_index(drop=True)


def wave_means(scores: pd.DataFrame, *, by: Sequence[str] = ("case_id", "role")) -> pd.DataFrame:
    """Descriptive mean, SD and n of each scale per group and wave (raw scores, participants with a score).

    Returns
    -------
    DataFrame
        The `by` columns, wave, scale, n, mean, sd (NaN for one participant).
    """
    keys = [*by, "wave", "scale"]
    scored = scores.loc[scores["value"].notna()]
    table = scored.groupby(keys, observed=True, sort=True)["value"].agg(n="size", mean="mean", sd="std").reset_index()
    table["n"] = table["n"].astype("int64")
    table["wave"] = table["wave"].astype("str")
    return table


def rounded(frame: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """A copy with float columns rounded, for display in a notebook (stored outputs stay stable)."""
    floats = [c for c in frame.columns if pd.api.types.is_float_dtype(frame[c])]
    return frame.assign(**{c: frame[c].round(digits) for c in floats})


def _name(kind: str, key: Any, language: str) -> str:
    return label(kind, key, language)


def _case_name(case_id: str) -> str:
    """The display name of a case in a table caption (``cases.name`` via `report.use_display_names`; the same in every language)."""
    return label("case", case_id, "en")


def _names(kind: str, keys: Sequence[Any], language: str) -> dict[str, str]:
    return {str(key): _name(kind, key, language) for key in keys}


def _empty(text: Sequence[str], numbers: Sequence[str]) -> pd.DataFrame:
    """A frame without rows whose columns have the types a figure function checks ("no data" panel)."""
    return pd.DataFrame({**{c: pd.Series(dtype="str") for c in text}, **{c: pd.Series(dtype="float64") for c in numbers}})


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _at_wave(figure: Any, wave: str, language: str) -> Any:
    """Say in a figure's caption which wave it shows (the figure function does not know)."""
    figure.caption = f"{figure.caption.rstrip()} " + term("sections.wave_shown", language).format(wave=wave, name=_name("wave", wave, language))
    return figure


def _floor_caption(figure: Any, language: str) -> Any:
    """A forest plot of alpha draws its reference line at the floor of acceptable reliability, not at 'no effect'."""
    generic = term("captions.forest", language).split(". ")[1].format(ref=format_plain(RELIABILITY_FLOOR, language=language), log="") + "."
    floor = format_number(RELIABILITY_FLOOR, 2, language=language)
    figure.caption = figure.caption.replace(generic, term("sections.alpha_line", language).format(floor=floor))
    return figure


def _role_of(group: pd.Series) -> pd.Series:
    """The role in a result's ``group`` text (``role=professional, t0->t2`` -> ``professional``)."""
    return group.astype("str").str.extract(r"role=([^,]+)", expand=False)


def _adjusted(results: pd.DataFrame) -> pd.DataFrame:
    return stats.adjust_pvalues(results, family=FAMILIES) if len(results) else results


def _with_role(results: pd.DataFrame) -> pd.DataFrame:
    return results.assign(role=_role_of(results["group"]))


def _scales_at(scores: pd.DataFrame, waves: Sequence[str]) -> list[str]:
    """Scales with scores in every one of `waves` (sorted)."""
    scored = scores.loc[scores["value"].notna()]
    per_scale = scored.groupby("scale", observed=True)["wave"].agg(lambda w: set(w.astype("str")))
    return sorted(scale for scale, seen in per_scale.items() if set(waves) <= seen)


# --- the case report ------------------------------------------------------------------------


def reliability_section(tables: Mapping[str, pd.DataFrame], case_id: str, *, language: str = "en") -> Section:
    """Internal consistency of every scale per wave in one case (Cronbach's alpha, omega total).

    Returns
    -------
    Section
        ``table``: `stats.reliability` by wave (standard result shape);
        ``figure``: forest plot of alpha with 95% Feldt CIs per scale and
        wave; ``sentence``: the lowest and highest alpha and how many fall
        below `RELIABILITY_FLOOR`.
    """
    participants = _table(tables, "participants")
    in_case = participants.loc[participants["case_id"].astype("str") == case_id]
    responses = _table(tables, "survey_responses")
    responses = responses.loc[responses["participant_id"].astype("str").isin(in_case["participant_id"].astype("str"))]
    results = stats.reliability(responses, _table(tables, "instrument"), in_case, by=("case_id", "wave"))
    # Issue 17: a 2-item scale has a Spearman-Brown row instead of alpha; both are shown against the floor.
    alpha = results.loc[results["test"].isin(["cronbach_alpha", "spearman_brown"])].assign(wave=lambda f: f["group"].str.removeprefix("wave="))
    two_item = bool((alpha["test"] == "spearman_brown").any())
    alpha_label = term("sections.alpha_or_spearman_brown" if two_item else "sections.alpha", language)
    plotted = alpha.assign(effect_name="internal_consistency") if two_item else alpha
    figure = _floor_caption(forest(plotted, label_columns=("outcome", "wave"), ref_line=RELIABILITY_FLOOR, log_scale=False, language=language), language)
    sentence = describe_range(
        alpha, by=["outcome", "wave"], label=alpha_label, names=_names("scale", alpha["outcome"].unique(), language),
        threshold=RELIABILITY_FLOOR, language=language,
    )
    return Section(results, figure, sentence, specs={MAIN_TABLE: TableSpec("reliability", f"Cronbach's alpha and omega per scale and wave in case {_case_name(case_id)}.", "fitted")},
                   figure_name="reliability")


def trajectories_section(
    scores: pd.DataFrame, case_id: str, *, scale: str = "trust", before: str = "t0", after: str = "t2", language: str = "en"
) -> Section:
    """Mean scores per wave and role in one case: the descriptive picture before any test.

    Returns
    -------
    Section
        ``table``: `wave_means` per role, wave and scale; ``figure``: the
        trajectory of `scale` per role (`plots.trajectories`); ``sentence``:
        how the mean of `scale` over both roles moved from `before` to `after`.
    """
    in_case = _in_cases(scores, [case_id])
    means = wave_means(in_case)
    figure = trajectories(in_case, scale=scale, by="role", language=language)
    # The sentence reads the mean over both roles: it is published beside the means per role, so that every
    # number of the sentence is a number of the section's tables.
    both_roles = wave_means(in_case, by=("case_id",))
    pooled = both_roles.loc[both_roles["scale"] == scale].set_index("wave")
    check_language(language)
    label = term("sections.mean", language).format(scale=_name("scale", scale, language))
    if before in pooled.index and after in pooled.index:
        note = term("sections.means_note", language).format(
            n_before=int(pooled.at[before, "n"]), before=before, n_after=int(pooled.at[after, "n"]), after=after
        )
        sentence = describe_change(
            {"outcome": scale, "note": note}, before=pooled.at[before, "mean"], after=pooled.at[after, "mean"],
            label=label, language=language,
        ) + "."
    else:
        sentence = term("sections.no_scores", language, label=label, before=before, after=after)
    specs = {
        MAIN_TABLE: TableSpec("wave_means", f"Mean score per role, wave and scale in case {_case_name(case_id)}."),
        "wave_means_pooled": TableSpec("wave_means_pooled", f"Mean score of all respondents (every role) per wave and scale in case {_case_name(case_id)}."),
    }
    return Section(means, figure, sentence, {"wave_means_pooled": both_roles}, specs, figure_name=f"trajectories_{scale}")


def _pair_means(scores: pd.DataFrame, *, before: str, after: str, by: Sequence[str] = ("case_id", "role")) -> pd.DataFrame:
    """Mean before and after over the complete pairs (the participants a paired test uses)."""
    change = stats.change_scores(scores, before=before, after=after).dropna(subset=["before", "after"])
    table = change.groupby([*by, "scale"], observed=True, sort=True).agg(
        n_pairs=("value", "size"), mean_before=("before", "mean"), mean_after=("after", "mean"), mean_change=("value", "mean")
    )
    table = table.reset_index()
    table["n_pairs"] = table["n_pairs"].astype("int64")
    return table


def _pre_post_results(scores: pd.DataFrame, *, before: str, after: str, by: Sequence[str] = ("case_id", "role")) -> pd.DataFrame:
    parts = [stats.pre_post(scores, outcome=scale, before=before, after=after, by=by) for scale in _scales_at(scores, [before, after])]
    return stack_results(*parts)


def pre_post_section(
    scores: pd.DataFrame, case_id: str, *, scale: str = "trust", before: str = "t0", after: str = "t2", language: str = "en"
) -> Section:
    """Change of every scale from `before` to `after` per role in one case (paired tests).

    Returns
    -------
    Section
        ``table``: `stats.pre_post` for every scale measured in both waves,
        by role, p-values Holm-adjusted within `FAMILIES`; ``tables["pair_means"]``:
        means over the complete pairs; ``figure``: forest plot of Hedges'
        g_av; ``sentence``: the change of `scale` per role.
    """
    in_case = _in_cases(scores, [case_id])
    results = _adjusted(_pre_post_results(in_case, before=before, after=after))
    means = _pair_means(in_case, before=before, after=after)
    paired = _with_role(results.loc[results["test"] == "paired_t"])
    figure = forest(paired, label_columns=("outcome", "role"), language=language)
    check_language(language)
    parts = []
    focus = _with_role(results.loc[(results["test"] == "paired_t") & (results["outcome"] == scale)])
    for row in focus.to_dict(orient="records"):
        pair = means.loc[(means["role"] == row["role"]) & (means["scale"] == scale)]
        if pair.empty:
            continue
        label = term("sections.in_role", language).format(
            scale=_name("scale", scale, language), role=_name("role", row["role"], language), before=before, after=after
        )
        parts.append(describe_change(_plain(row, language), before=pair["mean_before"].iloc[0], after=pair["mean_after"].iloc[0], label=label, language=language))
    sentence = _capital("; ".join(parts)) + "." if parts else describe_result({"outcome": scale, "note": term("sections.reason_no_pairs", language)}, language=language)
    specs = {
        "pair_means": TableSpec("pair_means", f"Mean before and after over the complete pairs, per role and scale, in case {_case_name(case_id)}."),
        MAIN_TABLE: TableSpec("pre_post", f"Change {before} to {after} per scale and role in case {_case_name(case_id)}: paired t and Wilcoxon tests."),
    }
    return Section(results, figure, sentence, {"pair_means": means}, specs, figure_name="pre_post")


def perception_gap_section(
    scores: pd.DataFrame, case_id: str, *, before: str = "t0", after: str = "t2", language: str = "en"
) -> Section:
    """Own willingness against the willingness perceived in the other side, per role and wave, and its change.

    Returns
    -------
    Section
        ``table``: `stats.perception_gap` (per role and wave) stacked with
        `stats.perception_gap_change` (per role, `before` -> `after`),
        Holm-adjusted within `FAMILIES`; ``tables["gap_means"]``: the mean gap
        over the complete pairs; ``figure``: the dumbbell plot
        (`plots.perception_gap_dumbbell`); ``sentence``: the change of the gap
        per role.
    """
    in_case = _in_cases(scores, [case_id])
    gap = stats.perception_gap(in_case, own=OWN, perceived=PERCEIVED)
    change = stats.perception_gap_change(in_case, own=OWN, perceived=PERCEIVED, before=before, after=after)
    results = _adjusted(stack_results(gap, change))
    gaps = _gap_means(in_case, before=before, after=after)
    figure = perception_gap_dumbbell(in_case.loc[in_case["scale"].isin([OWN, PERCEIVED])], own=OWN, perceived=PERCEIVED, language=language)
    check_language(language)
    parts = []
    for row in _with_role(results.loc[(results["analysis"] == "perception_gap_change") & (results["test"] == "paired_t")]).to_dict(orient="records"):
        pair = gaps.loc[gaps["role"] == row["role"]]
        if pair.empty:
            continue
        label = term("sections.gap_in_role", language).format(role=_name("role", row["role"], language), before=before, after=after)
        parts.append(describe_change(_plain(row, language), before=pair["gap_before"].iloc[0], after=pair["gap_after"].iloc[0], label=label, language=language))
    sentence = _capital("; ".join(parts)) + "." if parts else describe_result({"outcome": "perception_gap", "note": term("sections.reason_no_pairs", language)}, language=language)
    specs = {
        "gap_means": TableSpec("gap_means", f"Mean perception gap at {before} and {after} over the complete pairs, per role, in case {_case_name(case_id)}."),
        MAIN_TABLE: TableSpec("perception_gap", f"Perception gap per role and wave, and its change {before} to {after}, in case {_case_name(case_id)}."),
    }
    return Section(results, figure, sentence, {"gap_means": gaps}, specs, figure_name="perception_gap")


def _gap_means(scores: pd.DataFrame, *, before: str, after: str) -> pd.DataFrame:
    """Mean gap (own - perceived) at both waves over participants with a gap in both."""
    wide = scores.loc[scores["scale"].isin([OWN, PERCEIVED]) & scores["wave"].astype("str").isin([before, after])]
    wide = wide.pivot_table(index=["case_id", "role", "participant_id", "wave"], columns="scale", values="value", observed=True)
    if wide.empty or not {OWN, PERCEIVED} <= set(wide.columns):
        return pd.DataFrame(columns=["case_id", "role", "n_pairs", "gap_before", "gap_after"])
    gap = (wide[OWN] - wide[PERCEIVED]).rename("gap").reset_index()
    gap["wave"] = gap["wave"].astype("str")
    per_person = gap.pivot_table(index=["case_id", "role", "participant_id"], columns="wave", values="gap", observed=True)
    per_person = per_person.reindex(columns=[before, after]).dropna()
    table = per_person.groupby(["case_id", "role"], observed=True).agg(
        n_pairs=(before, "size"), gap_before=(before, "mean"), gap_after=(after, "mean")
    )
    table = table.reset_index()
    table["n_pairs"] = table["n_pairs"].astype("int64")
    return table


def _expectation_counts(answers: pd.DataFrame, by: Sequence[str] = ("case_id", "wave")) -> pd.DataFrame:
    """Respondents per group, role and primary expectation (every role x expectation of the group, zeros kept)."""
    keys = [*by, "role", "expectation"]
    if answers.empty:
        return pd.DataFrame(columns=[*keys, "n"])
    data = answers.astype({column: "str" for column in keys})
    counts = data.groupby(keys, sort=True).size().rename("n")
    full = data.groupby(list(by), sort=True).apply(
        lambda group: pd.MultiIndex.from_product([sorted(group["role"].unique()), sorted(group["expectation"].unique())]).to_frame(index=False),
        include_groups=False,
    )
    full = full.reset_index(level=list(range(len(by))))
    full.columns = keys
    table = full.merge(counts.reset_index(), on=keys, how="left")
    table["n"] = table["n"].fillna(0).astype("int64")
    return table.reset_index(drop=True)


def _expectation_results(answers: pd.DataFrame, scores: pd.DataFrame, *, wave: str, seed: int) -> pd.DataFrame:
    """Role x primary expectation per case and wave, and the expectation scales compared between roles."""
    crosstabs = (
        stats.expectation_crosstab(answers.astype({"role": "str", "expectation": "str"}), by=("case_id", "wave"), seed=seed)
        if not answers.empty
        else result_frame([])
    )
    at_wave = scores.loc[(scores["wave"].astype("str") == wave) & scores["scale"].isin(EXPECTATION_SCALES) & scores["value"].notna()]
    scale_parts = []
    for (case, scale), rows in at_wave.groupby(["case_id", "scale"], observed=True, sort=True):
        # Two groups: Kruskal-Wallis equals the rank-sum test; Dunn's pair gives the rank-biserial r with its CI.
        compared = stats.kruskal_dunn(rows, outcome=scale, group="role", seed=seed)
        compared = compared.loc[compared["test"] == "dunn"].assign(
            analysis="expectation_scales", case_id=str(case), group=lambda f: f["group"] + f", wave={wave}"
        )
        scale_parts.append(compared)
    return stack_results(crosstabs, *scale_parts)


def expectations_section(
    answers: pd.DataFrame, scores: pd.DataFrame, case_id: str, *, wave: str = "t0", seed: int = DEFAULT_SEED, language: str = "en"
) -> Section:
    """What each side primarily expects of the collaboration, per role, in one case.

    Parameters
    ----------
    answers : DataFrame
        `expectation_answers`.
    scores : DataFrame
        `scores_for` (the expect_strengthen and expect_bridge scales).
    wave : str
        The wave of the figure, the sentence and the scale comparison (the
        crosstab is tested in every wave with answers).

    Returns
    -------
    Section
        ``table``: `stats.expectation_crosstab` of role x expectation per
        wave, and per expectation scale the two roles compared (rank-sum via
        `stats.kruskal_dunn`, rank-biserial r with a bootstrap CI;
        analysis ``expectation_scales``); ``tables["expectation_counts"]``:
        respondents per wave, role and expectation (publish with
        ``publish=True, count_columns=["n"]``); ``tables["expectation_residuals"]``:
        adjusted residuals per cell (|r| > 2 marks the cells that drive the
        association; counts left out, they are in the published table);
        ``figure``: the shares per role at `wave` (`plots.expectation_bars`);
        ``sentence``: the crosstab test at `wave`.
    """
    in_case = _in_cases(answers, [case_id])
    results = _adjusted(_expectation_results(in_case, _in_cases(scores, [case_id]), wave=wave, seed=seed))
    counts = _expectation_counts(in_case)
    residuals = stats.crosstab_residuals(in_case.astype({"role": "str", "expectation": "str"}), by=("case_id", "wave")) if not in_case.empty else pd.DataFrame()
    residuals = residuals.drop(columns=["observed", "expected", "pearson_residual"], errors="ignore")

    def draw(published: Mapping[str, pd.DataFrame], threshold: int) -> Any:
        shown = published["expectation_counts"]
        return _at_wave(expectation_bars(shown.loc[shown["wave"] == wave].drop(columns=["wave", "n_flag"]), language=language), wave, language)

    figure = draw({"expectation_counts": EXPECTATION_COUNTS.apply(counts, threshold=MIN_CELL)}, MIN_CELL)
    row = results.loc[(results["analysis"] == "expectation_mismatch") & (results["group"].str.startswith(f"wave={wave}"))]
    label = term("sections.expectation", language).format(wave=wave)
    sentence = (
        describe_result(_plain(row.iloc[0], language), label=label, language=language)
        if len(row)
        else describe_result({"outcome": "expectation", "note": term("sections.reason_no_answers", language)}, label=label, language=language)
    )
    specs = {
        "expectation_residuals": TableSpec("expectation_residuals", f"Adjusted residuals of role x primary expectation per wave in case {_case_name(case_id)}."),
        "expectation_counts": TableSpec(
            "expectation_counts", f"Respondents per wave, role and primary expectation in case {_case_name(case_id)} (counts below {{min_cell}} suppressed).",
            counts=EXPECTATION_COUNTS,
        ),
        MAIN_TABLE: TableSpec("expectations", f"Role x primary expectation per wave, and the expectation scales by role, in case {_case_name(case_id)}."),
    }
    return Section(
        results, figure, sentence, {"expectation_counts": counts, "expectation_residuals": residuals}, specs,
        figure_name="expectations", draw=draw,
    )


def _its_results(monthly: pd.DataFrame) -> pd.DataFrame:
    if monthly.empty or stats.HELP_SEEKING_EVENT not in set(monthly["event_type"].astype("str")):
        return result_frame([])
    return stats.interrupted_time_series(monthly)


def _its_trajectories(monthly: pd.DataFrame) -> pd.DataFrame:
    if monthly.empty or stats.HELP_SEEKING_EVENT not in set(monthly["event_type"].astype("str")):
        numbers = ["relative_month", "post", "count", "fitted", "fitted_low", "fitted_high", "counterfactual", "counterfactual_low", "counterfactual_high"]
        empty = {"case_id": pd.Series(dtype="str"), "month": pd.Series(dtype="datetime64[us]")}
        return pd.DataFrame({**empty, **{c: pd.Series(dtype="float64") for c in numbers}, "family": pd.Series(dtype="str")})
    return stats.its_trajectories(monthly)


def help_seeking_section(monthly: pd.DataFrame, case_id: str, *, language: str = "en") -> Section:
    """Did parents start to bring parenting questions to the youth team? Interrupted time series, one case.

    Returns
    -------
    Section
        ``table``: `stats.interrupted_time_series` (level change, slope
        change, baseline trend as rate ratios); ``tables["help_seeking_fit"]``:
        monthly counts with the fitted and counterfactual series
        (`stats.its_trajectories`); ``figure``: `plots.help_seeking_its`;
        ``sentence``: the level change.
    """
    in_case = _in_cases(monthly, [case_id]) if len(monthly) else monthly
    results = _its_results(in_case)
    fitted = _its_trajectories(in_case)
    figure = help_seeking_its(fitted, language=language)
    label = term("sections.level_change", language).format(case=_name("case", case_id, language))
    level = results.loc[results["test"] == "its_level_change"]
    sentence = describe_result(
        _plain(level.iloc[0], language) if len(level) else {"outcome": stats.HELP_SEEKING_EVENT, "note": term("sections.reason_no_activity", language)},
        label=label, language=language,
    )
    specs = {
        "help_seeking_fit": TableSpec(
            "help_seeking_fit", f"Monthly parenting questions to the youth team with the fitted and counterfactual series in case {_case_name(case_id)}.", "fitted"
        ),
        MAIN_TABLE: TableSpec("help_seeking", f"Interrupted time series of help-seeking in case {_case_name(case_id)}: rate ratios.", "fitted"),
    }
    return Section(results, figure, sentence, {"help_seeking_fit": fitted}, specs, figure_name="help_seeking")


def _published_prevalence(prevalence: pd.DataFrame, min_cell: int = MIN_CELL) -> pd.DataFrame:
    """The prevalence as it may leave the research team (as `RunContext.save_section` writes it)."""
    return qual.PREVALENCE_COUNTS.apply(prevalence, threshold=min_cell)


def _heatmap_frame(published: pd.DataFrame) -> pd.DataFrame:
    """A suppressed prevalence table (by case) in the shape `plots.theme_heatmap` reads."""
    return pd.DataFrame(
        {
            "case_id": published["case_id"].astype("str"),
            "code": published["code"].astype("str"),
            "n": published["n_with_code"].astype("Float64").astype("float64"),
            "n_at_risk": published["n_at_risk"].astype("float64"),
            "pct": published["percent"].astype("float64"),
            "suppressed": published["n_with_code_flag"] != "",
        }
    )


def _theme_prevalence_specs(case_id: str) -> dict[str, TableSpec]:
    return {
        "theme_prevalence_case": TableSpec(
            "theme_prevalence_case", f"Interviewed participants who mentioned each code in case {_case_name(case_id)} (counts below {{min_cell}} suppressed).",
            counts=qual.PREVALENCE_COUNTS,
        ),
        MAIN_TABLE: TableSpec(
            "theme_prevalence",
            f"Interviewed participants who mentioned each code, per role and wave, in case {_case_name(case_id)} (counts below {{min_cell}} suppressed).",
            counts=qual.PREVALENCE_COUNTS,
        ),
    }


def theme_prevalence_section(
    tables: Mapping[str, pd.DataFrame], case_id: str, *, language: str = "en", min_cell: int = MIN_CELL
) -> Section:
    """How many interviewed participants mentioned each code, by role and wave, in one case.

    Returns
    -------
    Section
        ``table``: `qual.prevalence` by role and wave (unit: a
        participant in a wave); ``tables["theme_prevalence_case"]``: by
        participant over both waves. Publish both with small-cell suppression
        (``publish=True, count_columns=["n_with_code"], derived={"percent":
        "n_with_code"}``);
        ``figure``: the case's row of `plots.theme_heatmap` from the
        suppressed table; ``sentence``: the code mentioned by most
        participants (from the suppressed table). Counts of people below
        `min_cell` are suppressed in the figure and the sentence.
    """
    participants = _table(tables, "participants")
    columns = ["case_id", "role", "wave", "code", "n_with_code", "n_at_risk", "percent"]
    per_wave = presence_for(tables, unit=("participant_id", "wave"))
    label = _name("case", case_id, language)
    if per_wave is None:
        empty = pd.DataFrame(columns=columns)
        figure = theme_heatmap(_empty(["case_id", "code"], ["n", "n_at_risk", "pct"]), language=language)
        no_overall = pd.DataFrame(columns=["case_id", "code", "n_with_code", "n_at_risk", "percent"])
        return Section(
            empty, figure, term("sections.no_interviews", language).format(case=label) + ".", {"theme_prevalence_case": no_overall},
            _theme_prevalence_specs(case_id), figure_name="theme_prevalence",
        )
    by_wave = qual.prevalence(per_wave, participants, by=("case_id", "role", "wave"))
    by_wave = by_wave.loc[by_wave["case_id"].astype("str") == case_id]
    by_wave = _in_codebook_order(by_wave.assign(wave=by_wave["wave"].astype("str")), tables, ["case_id", "role", "wave"])
    overall = qual.prevalence(presence_for(tables), participants, by="case_id")
    overall = _in_codebook_order(overall.loc[overall["case_id"].astype("str") == case_id], tables, ["case_id"])

    def draw(published: Mapping[str, pd.DataFrame], threshold: int) -> Any:
        # threshold: the one the published table was suppressed with; the heatmap's caption says it.
        return theme_heatmap(_heatmap_frame(published["theme_prevalence_case"]), min_cell=threshold, language=language)

    published = _published_prevalence(overall, min_cell)
    figure = draw({"theme_prevalence_case": published}, min_cell)
    # "Most often" is true only of a shown count of at least min_cell: a suppressed count (1 to min_cell - 1)
    # may be larger than a shown 0, never larger than a shown count.
    shown = published.loc[(pd.to_numeric(published["n_with_code"], errors="coerce") >= min_cell) & (published["n_at_risk"] > 0)]
    interviewed = int(pd.to_numeric(published["n_at_risk"], errors="coerce").fillna(0).max()) if len(published) else 0
    if len(shown):
        top = shown.sort_values(["percent", "code"], ascending=[False, True], kind="stable").iloc[0]
        opening = term("sections.most_mentioned", language).format(case=label, code=_name("code", top["code"], language))
        sentence = describe_share(opening, top["n_with_code"], top["n_at_risk"], threshold=min_cell, language=language) + "."
    elif interviewed > 0:
        # Every count was suppressed: people were interviewed, each code was mentioned by fewer than min_cell (or none).
        sentence = term("sections.all_suppressed", language, case=label, n=interviewed, min_cell=min_cell)
    else:
        sentence = term("sections.no_interviews", language).format(case=label) + "."
    return Section(
        by_wave.loc[:, columns], figure, sentence, {"theme_prevalence_case": overall}, _theme_prevalence_specs(case_id),
        figure_name="theme_prevalence", draw=draw,
    )


def _agreement_specs(case_id: str) -> dict[str, TableSpec]:
    return {MAIN_TABLE: TableSpec("intercoder_agreement", f"Intercoder agreement per code on the double-coded interviews of case {_case_name(case_id)}.")}


def agreement_section(
    tables: Mapping[str, pd.DataFrame], case_id: str, *, seed: int = DEFAULT_SEED, n_boot: int = 1000, language: str = "en"
) -> Section:
    """Intercoder agreement on the double-coded interviews of one case (document x code presence).

    Returns
    -------
    Section
        ``table``: `agreement.as_result_frame` of `agreement.agreement`
        (percent agreement, Cohen's kappa, Krippendorff's alpha,
        Brennan-Prediger per code and over all codes, bootstrap CIs);
        ``figure``: `plots.agreement_by_code` (Cohen's kappa);
        ``sentence``: kappa over all codes.
    """
    segments = _segments(tables)
    label = _name("case", case_id, language)
    empty_plot = _empty(["code", "statistic"], ["estimate", "ci_low", "ci_high", "n_units"])
    if segments is not None:
        segments = segments.loc[segments["case_id"] == case_id]
    double_coded = segments is not None and bool((segments.groupby("document_id")["coder"].nunique() > 1).any())
    if not double_coded:
        return Section(
            result_frame([]), agreement_by_code(empty_plot, language=language), term("sections.no_double_coding", language).format(case=label) + ".",
            specs=_agreement_specs(case_id), figure_name="intercoder_agreement",
        )
    table = qual.agreement(segments, unit="document", n_boot=n_boot, seed=seed)
    results = qual.as_result_frame(table, unit="document").assign(case_id=case_id)
    kappa = "cohen_kappa" if (table["statistic"] == "cohen_kappa").any() else "fleiss_kappa"
    figure = agreement_by_code(table.loc[table["code"] != qual.OVERALL], statistic=kappa, language=language)
    overall = results.loc[(results["outcome"] == qual.OVERALL) & (results["test"] == kappa)].iloc[0]
    sentence = describe_result(
        _plain(overall, language), label=term("sections.agreement", language).format(case=label, units=int(overall["n"])), language=language
    )
    documents = int((segments.groupby("document_id", observed=True)["coder"].nunique() > 1).sum())
    if documents < MIN_DOUBLE_CODED:
        sentence = sentence.rstrip(".") + term("sections.few_double_coded", language, n=documents, minimum=MIN_DOUBLE_CODED) + "."
    return Section(results, figure, sentence, specs=_agreement_specs(case_id), figure_name="intercoder_agreement")


# --- the cross-case report ------------------------------------------------------------------


def cross_case_trajectories_section(
    scores: pd.DataFrame, cases: Sequence[str] | None = None, *, scale: str = "trust", before: str = "t0", after: str = "t2", language: str = "en"
) -> Section:
    """Model-based mean of every scale per case and wave (`stats.marginal_means`).

    Returns
    -------
    Section
        ``table``: estimated marginal means per case, wave and scale (the
        mixed model of `mixed_model_section`, roles averaged by their share);
        ``figure``: the trajectory of `scale` per case; ``sentence``: how
        `scale` moved from `before` to `after` in each case.
    """
    case_ids = _case_list(cases, list(pd.unique(scores["case_id"].astype("str"))))
    in_cases = _in_cases(scores, case_ids)
    scales = _scales_at(in_cases, [before, after])
    means = pd.concat([stats.marginal_means(in_cases, outcome=s) for s in scales], ignore_index=True) if scales else pd.DataFrame()
    means = means.rename(columns={"outcome": "scale"})
    figure = trajectories(means.loc[means["scale"] == scale] if len(means) else means, scale=scale, by=None, language=language)
    check_language(language)
    parts = []
    for case, rows in means.loc[means["scale"] == scale].groupby("case_id", sort=False) if len(means) else []:
        at = rows.set_index("wave")["estimate"]
        if before in at.index and after in at.index:
            label = term("sections.emm", language).format(scale=_name("scale", scale, language), case=_name("case", case, language))
            parts.append(describe_change({"outcome": scale}, before=at[before], after=at[after], label=label, language=language))
    sentence = _capital("; ".join(parts)) + "." if parts else describe_result({"outcome": scale, "note": term("sections.reason_no_model", language)}, language=language)
    return Section(means, figure, sentence,
                   specs={MAIN_TABLE: TableSpec("marginal_means", "Model-based mean per case, wave and scale (estimated marginal means of the mixed model).", "fitted")},
                   figure_name=f"trajectories_{scale}_by_case")


def _check_structure(structure: str) -> str:
    if structure not in MIXED_STRUCTURES:
        raise ValueError(f"structure must be one of {', '.join(MIXED_STRUCTURES)} (the analysis plan's mixed_structure), not {structure!r}")
    return structure


def _mixed_model_results(scores: pd.DataFrame, *, before: str, after: str, structure: str = "intercept") -> pd.DataFrame:
    _check_structure(structure)
    return stack_results(*[
        stats.mixed_model(scores, outcome=s, before=before, after=after, structure=structure) for s in _scales_at(scores, [before, after])
    ])


def _structure_sentence(results: pd.DataFrame, scale: str, structure: str, language: str) -> str:
    """Which covariance structure the mixed model of `scale` used, and for ``compare`` which one the REML LRT chose."""
    if structure != "compare":
        return term("sections.mixed_structure", language).format(structure=_name("structure", structure, language))
    lrt = results.loc[(results["outcome"] == scale) & (results["test"] == "model_comparison") & (results["effect_name"] == "lrt")]
    if not len(lrt) or pd.isna(lrt["p_value"].iloc[0]):
        return term("sections.mixed_structure_no_comparison", language).format(structure=_name("structure", "intercept", language))
    p = float(lrt["p_value"].iloc[0])
    chosen = "slope" if p < COMPARE_ALPHA else "intercept"
    return term("sections.mixed_structure_compared", language).format(
        structure=_name("structure", chosen, language), p=format_p(p, language=language)
    )


def mixed_model_section(
    scores: pd.DataFrame,
    cases: Sequence[str] | None = None,
    *,
    scale: str = "trust",
    before: str = "t0",
    after: str = "t2",
    structure: str = "intercept",
    language: str = "en",
) -> Section:
    """Change over the waves in all cases together: the wave x case mixed model with case contrasts.

    Parameters
    ----------
    structure : {"intercept", "slope", "unstructured", "compare"}, default "intercept"
        The covariance structure (`stats.mixed_model`'s ``structure``), as the analysis plan's
        ``mixed_structure`` says (`analysis_plan_for(...).mixed_structure`).

    Returns
    -------
    Section
        ``table``: `stats.mixed_model` for every scale measured in both
        waves (fixed effects, variance components, the change per case and
        the differences of that change between cases, Holm-adjusted within
        each scale; with ``compare`` the ``model_comparison`` rows); ``figure``: forest plot of the model-based change per
        case and scale; ``sentence``: the change of `scale` per case, then the
        covariance structure used (for ``compare``: the one the REML
        likelihood-ratio test chose, with its p).
    """
    _check_structure(structure)
    case_ids = _case_list(cases, list(pd.unique(scores["case_id"].astype("str"))))
    in_cases = _in_cases(scores, case_ids)
    results = _mixed_model_results(in_cases, before=before, after=after, structure=structure)
    change = results.loc[(results["test"] == "contrast") & (results["effect_name"] == "change")]
    figure = forest(change, label_columns=("outcome", "case_id"), language=language)
    rows = change.loc[change["outcome"] == scale]
    label = _capital(term("sections.change_by_case", language).format(scale=_name("scale", scale, language), before=before, after=after))
    sentence = describe_by(_plain_rows(rows, language), by="case_id", label=label, names=_names("case", rows["case_id"], language), language=language)
    sentence += " " + _structure_sentence(results, scale, structure, language)
    spec = TableSpec(
        "mixed_model", f"Mixed model per scale: fixed effects, variance components, change {before} to {after} per case and its differences between cases.", "fitted"
    )
    return Section(results, figure, sentence, specs={MAIN_TABLE: spec}, figure_name="mixed_model_change")


def kruskal_dunn_section(
    scores: pd.DataFrame,
    cases: Sequence[str] | None = None,
    *,
    scale: str = "trust",
    before: str = "t0",
    after: str = "t2",
    seed: int = DEFAULT_SEED,
    language: str = "en",
) -> Section:
    """Do the cases differ in how much each scale changed? Kruskal-Wallis, then Dunn's tests (Holm).

    Returns
    -------
    Section
        ``table``: `stats.kruskal_dunn` on the change scores
        (`stats.change_scores`) of every scale measured in both waves;
        ``tables["change_scores"]``: the change scores' means per case and
        scale; ``figure``: forest plot of the pairwise rank-biserial r;
        ``sentence``: for `scale`, the Kruskal-Wallis test and each pair of
        cases (Dunn, Holm-adjusted p).
    """
    case_ids = _case_list(cases, list(pd.unique(scores["case_id"].astype("str"))))
    in_cases = _in_cases(scores, case_ids)
    change = stats.change_scores(in_cases, before=before, after=after).dropna(subset=["value"])
    scales = _scales_at(in_cases, [before, after])
    results = stack_results(*[stats.kruskal_dunn(change, outcome=s, seed=seed) for s in scales])
    means = change.groupby(["case_id", "scale"], observed=True, sort=True)["value"].agg(n="size", mean_change="mean", median_change="median").reset_index()
    pairs = results.loc[results["test"] == "dunn"]
    figure = forest(pairs, label_columns=("outcome", "group"), language=language)
    # The sentence reads `scale`: the omnibus test, then each pair of cases with its Holm-adjusted p.
    rows = results.loc[results["outcome"] == scale]
    rows = rows.assign(
        p_value=rows["p_adjusted"].fillna(rows["p_value"]),
        compared=np.where(rows["test"] == "kruskal_wallis", term("sections.all_cases", language), rows["group"]),
    )
    label = term("sections.kruskal", language).format(scale=_name("scale", scale, language), before=before, after=after)
    names = {f"{a} - {b}": f"{_name('case', a, language)} - {_name('case', b, language)}" for a in case_ids for b in case_ids}
    sentence = describe_by(_plain_rows(rows, language), by="compared", label=label, names=names, language=language)
    specs = {
        "change_by_case": TableSpec("change_by_case", f"Change score {before} to {after} per case and scale: n, mean and median."),
        MAIN_TABLE: TableSpec(
            "kruskal_dunn", f"Kruskal-Wallis test of the change {before} to {after} between the cases, and Dunn's pairwise tests (Holm), per scale."
        ),
    }
    return Section(results, figure, sentence, {"change_by_case": means}, specs, figure_name="dunn_pairs")


def help_seeking_cross_section(
    monthly: pd.DataFrame,
    cases: Sequence[str] | None = None,
    *,
    plan: Any = None,
    integration_map: Any = None,
    family_results: pd.DataFrame | None = None,
    language: str = "en",
) -> Section:
    """Help-seeking side by side: the level change per case and the pooled test of case differences.

    Parameters
    ----------
    monthly, cases
        `monthly_for` and the cases (default: every case in ``monthly``).
    plan, integration_map : optional
        `analysis_plan_for` / `integration_map_for` (default: the package's): the families
        the per-case results belong to (`integrate.plan_adjustment`, the joint display's).
    family_results : DataFrame, optional
        The other results of the display's families (e.g. the mixed model section's table:
        trust is primary too), so that Holm runs over the same family as in the joint display.

    Returns
    -------
    Section
        ``table``: `stats.interrupted_time_series` per case stacked with
        `stats.its_case_differences` (joint Wald tests and pairwise
        ratios of rate ratios, Holm); the per-case level and slope changes
        carry in ``p_adjusted`` the p the analysis plan adjusts them to (Holm
        over its primary family, as the joint display shows it; secondary:
        unadjusted), their ``note`` names the family and its size;
        ``figure``: forest plot of the level
        change per case and the pairwise ratios of the level changes (both
        rate ratios: 1 = no change / no difference); ``sentence``: the joint
        test that the level changes are equal, then the level change per case
        with the plan-adjusted p (and says so); ``tables["help_seeking_sensitivity"]``:
        `stats.its_sensitivity` (the level change under other families,
        AR(1), month 0 left out, an offset, seasonality; the placebo break).
    """
    if len(monthly):
        monthly = _in_cases(monthly, _case_list(cases, list(pd.unique(monthly["case_id"].astype("str")))))
    per_case = _its_results(monthly)
    if len(per_case):
        order = {case: i for i, case in enumerate(pd.unique(monthly["case_id"].astype("str")))}
        per_case = per_case.sort_values("case_id", key=lambda c: c.map(order), kind="stable").reset_index(drop=True)
    pooled = (
        stats.its_case_differences(monthly)
        if len(per_case) and per_case["case_id"].nunique() > 1
        else result_frame([])
    )
    results = _with_plan_adjustment(stack_results(per_case, pooled), family_results, plan, integration_map)
    level = results.loc[results["test"].isin(["its_level_change", "level_change_ratio"])]
    # One axis for both kinds of rate ratio; the saved table keeps their own effect names.
    shown = level.assign(effect_name="rate_ratio")
    figure = forest(shown, label_columns=("case_id", "group"), language=language)
    equal = results.loc[results["test"] == "wald_level_change_difference"]
    label = term("sections.its_equal", language)
    sentence = describe_result(
        _plain(equal.iloc[0], language) if len(equal) else {"outcome": stats.HELP_SEEKING_EVENT, "note": term("sections.reason_few_series", language)},
        label=label, language=language,
    )
    by_case = results.loc[(results["test"] == "its_level_change") & results["p_adjusted"].notna()]
    if len(by_case):
        size = by_case["_family_size"].dropna()
        key = "sections.its_level_by_case_holm" if len(size) else "sections.its_level_by_case"
        by_label = term(key, language).format(n=int(size.iloc[0]) if len(size) else 0)
        sentence += " " + describe_by(
            _plain_rows(by_case, language), by="case_id", label=by_label, names=_names("case", by_case["case_id"], language),
            language=language, p_column="p_adjusted",
        )
    results = results.drop(columns="_family_size")
    spec = TableSpec("help_seeking_by_case", "Help-seeking per case (rate ratios) and the pooled test of case differences.", "fitted")
    sensitivity = (
        stats.its_sensitivity(monthly)
        if len(monthly) and stats.HELP_SEEKING_EVENT in set(monthly["event_type"].astype("str"))
        else result_frame([])
    )
    specs = {
        MAIN_TABLE: spec,
        "help_seeking_sensitivity": TableSpec(
            "help_seeking_sensitivity",
            "Help-seeking: the level change per case under other model choices, and a placebo break before the start.",
            "fitted",
        ),
    }
    return Section(results, figure, sentence, {"help_seeking_sensitivity": sensitivity}, specs,
                   figure_name="help_seeking_rate_ratios")


def _with_plan_adjustment(results: pd.DataFrame, family_results: pd.DataFrame | None, plan: Any, integration_map: Any) -> pd.DataFrame:
    """``results`` whose rows the analysis plan gives a family carry its p in ``p_adjusted`` (`integrate.plan_adjustment`).

    The family is formed over ``results`` and ``family_results`` together, as in the joint
    display; rows with their own adjustment (pairwise ratios, Holm) keep it. Adds
    ``_family_size`` (the Holm family's size; the caller drops it).
    """
    results = results.assign(_family_size=np.nan)
    if not len(results):
        return results
    pool = stack_results(results.drop(columns="_family_size"), family_results if family_results is not None and len(family_results) else result_frame([]))
    adjusted = integrate.plan_adjustment(pool, integration_map=integration_map, plan=plan)
    adjusted = adjusted.loc[adjusted["family"].isin(["primary", "secondary"])]
    keys = list(integrate.PLAN_ADJUSTMENT_KEYS)
    merged = results[keys].astype("object").merge(
        adjusted[[*keys, "family", "adjustment", "family_size", "p_plan"]].astype({k: "object" for k in keys}), on=keys, how="left"
    )
    hit = merged["p_plan"].notna().to_numpy() & results["p_adjusted"].isna().to_numpy()
    if not hit.any():
        return results
    results = results.copy()
    results.loc[hit, "p_adjusted"] = merged.loc[hit, "p_plan"].to_numpy()
    results.loc[hit, "_family_size"] = merged.loc[hit, "family_size"].to_numpy()
    notes = [
        f"p_adjusted: Holm over the analysis plan's {family} family ({int(size)} results)"
        if adjustment == "holm" else f"p_adjusted: the analysis plan's {family} family, unadjusted (exploratory)"
        for family, adjustment, size in merged.loc[hit, ["family", "adjustment", "family_size"]].itertuples(index=False)
    ]
    old = results.loc[hit, "note"].fillna("").astype("str").to_numpy()
    results.loc[hit, "note"] = [f"{o}; {n}" if o else n for o, n in zip(old, notes)]
    return results


_THEME_HEATMAP_SPECS = {
    "theme_prevalence": TableSpec(
        "theme_prevalence_by_case", "Interviewed participants who mentioned each code, per case (counts below {min_cell} suppressed).",
        counts=qual.PREVALENCE_COUNTS,
    ),
    MAIN_TABLE: TableSpec("theme_differences", "Does mentioning each code differ between the cases? Tests per code, Holm-adjusted."),
}


def theme_heatmap_section(
    tables: Mapping[str, pd.DataFrame], cases: Sequence[str] | None = None, *, seed: int = DEFAULT_SEED, language: str = "en", min_cell: int = MIN_CELL
) -> Section:
    """Which codes participants in each case mentioned, and whether that differs between the cases.

    Returns
    -------
    Section
        ``table``: `qual.theme_crosstab` per code across the cases
        (Holm-adjusted within `FAMILIES`); ``tables["theme_prevalence"]``:
        `qual.prevalence` per case and code (publish with small-cell
        suppression, as in `theme_prevalence_section`); ``figure``: `plots.theme_heatmap` from the
        suppressed prevalence; ``sentence``: the code with the smallest
        adjusted p.
    """
    case_ids = _cases_of(tables, cases)
    participants = _table(tables, "participants")
    presence = presence_for(tables)
    if presence is None:
        empty = _empty(["case_id", "code"], ["n", "n_at_risk", "pct"])
        no_prevalence = pd.DataFrame(columns=["case_id", "code", "n_with_code", "n_at_risk", "percent"])
        return Section(
            result_frame([]), theme_heatmap(empty, language=language), term("sections.no_interviews", language).format(case=", ".join(case_ids)) + ".",
            {"theme_prevalence": no_prevalence}, _THEME_HEATMAP_SPECS, figure_name="theme_heatmap",
        )
    in_cases = participants.loc[participants["case_id"].astype("str").isin(case_ids)]
    presence = presence.loc[presence["participant_id"].astype("str").isin(in_cases["participant_id"].astype("str"))]
    prevalence = qual.prevalence(presence, in_cases, by="case_id")
    prevalence = _in_codebook_order(prevalence.loc[prevalence["case_id"].astype("str").isin(case_ids)], tables, ["case_id"])
    codes = list(dict.fromkeys(prevalence["code"].astype("str")))
    results = _adjusted(stack_results(*[qual.theme_crosstab(presence, in_cases, code=code, seed=seed) for code in codes]))

    def draw(published: Mapping[str, pd.DataFrame], threshold: int) -> Any:
        return theme_heatmap(_heatmap_frame(published["theme_prevalence"]), min_cell=threshold, language=language)

    figure = draw({"theme_prevalence": _published_prevalence(prevalence, min_cell)}, min_cell)
    tested = results.loc[results["p_adjusted"].notna()].sort_values(["p_adjusted", "outcome"], kind="stable")
    if len(tested):
        top = tested.iloc[0]
        label = term("sections.theme_most", language).format(code=_name("code", top["outcome"], language))
        sentence = describe_result(_plain(top, language), label=label, language=language, p_column="p_adjusted")
    else:
        sentence = term("sections.no_code_tested", language)
    return Section(results, figure, sentence, {"theme_prevalence": prevalence}, _THEME_HEATMAP_SPECS, figure_name="theme_heatmap", draw=draw)


def expectations_cross_section(
    answers: pd.DataFrame, scores: pd.DataFrame, cases: Sequence[str] | None = None, *, wave: str = "t0", seed: int = DEFAULT_SEED, language: str = "en"
) -> Section:
    """The role x primary expectation crosstab of every case side by side.

    Returns
    -------
    Section
        ``table``: the crosstab tests and expectation-scale comparisons of
        `expectations_section` for every case; ``tables["expectation_counts"]``:
        respondents per case, wave, role and expectation (publish with
        ``publish=True, count_columns=["n"]``); ``figure``: `plots.expectation_bars` at
        `wave`, a panel per case; ``sentence``: the crosstab test per case at `wave`.
    """
    case_ids = _case_list(cases, list(pd.unique(scores["case_id"].astype("str"))))
    in_cases = _in_cases(answers, case_ids)
    results = _adjusted(_expectation_results(in_cases, _in_cases(scores, case_ids), wave=wave, seed=seed))
    counts = _expectation_counts(in_cases)

    def draw(published: Mapping[str, pd.DataFrame], threshold: int) -> Any:
        shown = published["expectation_counts"]
        return _at_wave(expectation_bars(shown.loc[shown["wave"] == wave].drop(columns=["wave", "n_flag"]), language=language), wave, language)

    figure = draw({"expectation_counts": EXPECTATION_COUNTS.apply(counts, threshold=MIN_CELL)}, MIN_CELL)
    rows = results.loc[(results["analysis"] == "expectation_mismatch") & results["group"].str.startswith(f"wave={wave}")]
    sentence = describe_by(
        _plain_rows(rows, language), by="case_id", label=term("sections.expectation_cases", language).format(wave=wave), names=_names("case", rows["case_id"], language), language=language
    )
    specs = {
        "expectation_counts": TableSpec(
            "expectation_counts_by_case", "Respondents per case, wave, role and primary expectation (counts below {min_cell} suppressed).",
            counts=EXPECTATION_COUNTS,
        ),
        MAIN_TABLE: TableSpec("expectations_by_case", "Role x primary expectation per case and wave, and the expectation scales by role."),
    }
    return Section(results, figure, sentence, {"expectation_counts": counts}, specs, figure_name="expectations_by_case", draw=draw)


# --- the joint display ----------------------------------------------------------------------


def integration_map_for(processed_dir: str | os.PathLike):
    """The integration map in force for processed data: the evaluator's copy that `prepare` carried, else the package's.

    The copy is checked against the checksum in the processed ``manifest.json``.

    Raises
    ------
    DataError
        The copy was changed after `prepare`.
    """
    processed_dir = Path(processed_dir)
    manifest = json.loads((processed_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
    entry = (manifest.get("files") or {}).get("integration_map")
    if entry is None:
        return load_integration_map(None)
    path = processed_dir / entry["file"]
    if not path.is_file() or sha256_file(path) != entry["sha256"]:
        raise DataError("the integration map differs from manifest.json (changed after prepare); run prepare again", file=str(path))
    return load_integration_map(path)


def analysis_plan_for(processed_dir: str | os.PathLike):
    """The analysis plan in force for processed data: the one `prepare` carried from the data folder, else the package's.

    The package's plan is marked ``pre_specified=False`` (the report then says nothing was
    pre-specified). The copy is checked against the checksum in the processed ``manifest.json``.

    Raises
    ------
    DataError
        The copy was changed after `prepare`.
    """
    processed_dir = Path(processed_dir)
    manifest = json.loads((processed_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
    entry = (manifest.get("files") or {}).get("analysis_plan")
    if entry is None:
        return integrate.load_analysis_plan(None)
    path = processed_dir / entry["file"]
    if not path.is_file() or sha256_file(path) != entry["sha256"]:
        raise DataError("the analysis plan differs from manifest.json (changed after prepare); run prepare again", file=str(path))
    return integrate.load_analysis_plan(path)


def overrides_for(tables: Mapping[str, pd.DataFrame], cases: Sequence[str]) -> pd.DataFrame | None:
    """The evaluator's overrides (carried by `prepare` from ``integration_overrides.csv``) for these cases; None without any.

    Overrides of cases outside this run (a run on some cases) are left out, so
    they do not stop the joint display.
    """
    overrides = tables.get(INTEGRATION_OVERRIDES)
    if overrides is None:
        return None
    kept = overrides.loc[overrides["case_id"].astype("str").isin([*cases, _POOLED])].reset_index(drop=True)
    return kept if len(kept) else None


def integration_summary(integration_map: Any, overrides: pd.DataFrame | None, *, language: str = "en") -> str:
    """One sentence saying which integration map and how many evaluator overrides the joint display uses.

    Examples
    --------
    >>> from ponzoni_eval.integrate import load_integration_map
    >>> integration_summary(load_integration_map(), None)
    'Integration map: the package default (integration_map.toml); evaluator overrides: 0.'
    """
    source = Path(integration_map.source)
    key = "sections.map_default" if source.resolve() == default_map_path().resolve() else "sections.map_evaluator"
    return term(key, language, file=source.name, n=0 if overrides is None else len(overrides))


def joint_display_inputs(
    tables: Mapping[str, pd.DataFrame],
    scores: pd.DataFrame,
    monthly: pd.DataFrame,
    cases: Sequence[str] | None = None,
    *,
    before: str = "t0",
    after: str = "t2",
    interview_wave: str | None = "t2",
    seed: int = DEFAULT_SEED,
    min_cell: int = MIN_CELL,
    structure: str = "intercept",
) -> JointDisplayInputs:
    """Every result the integration map can use, the theme prevalence, the quotes' source and the names to redact.

    Parameters
    ----------
    tables, scores, monthly
        The processed tables, `scores_for` and `monthly_for`.
    cases : list of str, optional
        The cases (default: every case).
    before, after : str
        The waves whose change the survey results test.
    interview_wave : str or None, default "t2"
        The interviews that speak for the qualitative strand: prevalence and
        quotes come from this wave (None: every wave, a participant counted
        once). The constructs are about change by follow-up; at t0 the
        collaboration had not begun, and we-they talk from then (which the
        integration map counts against trust) would outweigh the growing
        trust reported at follow-up if both waves were pooled.
    seed : int
        For the Monte Carlo p-values of the expectation crosstab.
    min_cell : int
        Prevalence counts of people below it are suppressed (the run's
        ``min_cell``, `open_run(...).min_cell`; default `MIN_CELL`).
    structure : str, default "intercept"
        The mixed model's covariance structure (the analysis plan's ``mixed_structure``,
        `mixed_model_section`).

    Returns
    -------
    JointDisplayInputs
        Results (all in the standard shape, stacked with
        `results.stack_results` and Holm-adjusted within `FAMILIES` by
        `stats.adjust_pvalues`): pre/post change per case and role, the
        perception-gap change per case and role and between the roles
        (`stats.perception_gap_between_roles`), the expectation crosstab,
        the mixed model (per-case change and case differences) and
        help-seeking (per case and pooled case differences).
    """
    case_ids = _cases_of(tables, cases)
    in_cases = _in_cases(scores, case_ids)
    answers = _in_cases(expectation_answers(tables), case_ids)
    parts = [
        _pre_post_results(in_cases, before=before, after=after),
        stats.perception_gap_change(in_cases, own=OWN, perceived=PERCEIVED, before=before, after=after),
        stats.perception_gap_between_roles(in_cases, own=OWN, perceived=PERCEIVED, before=before, after=after),
        _expectation_results(answers, in_cases, wave=before, seed=seed),
        _mixed_model_results(in_cases, before=before, after=after, structure=structure),
    ]
    monthly = _in_cases(monthly, case_ids) if len(monthly) else monthly
    its = _its_results(monthly)
    parts += [its, stats.its_case_differences(monthly) if len(its) and its["case_id"].nunique() > 1 else result_frame([])]
    results = stack_results(*parts)  # each analysis's own adjustment; the display adjusts by the analysis plan

    participants = _in_cases(_table(tables, "participants"), case_ids).reset_index(drop=True)
    presence = presence_for(tables, unit="participant_id" if interview_wave is None else ("participant_id", "wave"))
    segments = _segments(tables)
    if presence is None or segments is None:
        prevalence = pd.DataFrame(columns=["case_id", "code", "n_with_code", "n_at_risk", "percent", "n_with_code_flag", "percent_flag"])
        segments = pd.DataFrame(columns=["document_id", "participant_id", "case_id", "coder", "code", "start", "end", "text"])
    else:
        everyone = _table(tables, "participants")  # the presence table lists every participant
        if interview_wave is None:
            prevalence = qual.prevalence(presence, everyone, by="case_id")
        else:
            prevalence = qual.prevalence(presence, everyone, by=("case_id", "wave"))
            prevalence = prevalence.loc[prevalence["wave"].astype("str") == interview_wave].drop(columns="wave")
            segments = segments.loc[segments["wave"].astype("str") == interview_wave]
        prevalence = _in_codebook_order(prevalence.loc[prevalence["case_id"].astype("str").isin(case_ids)], tables, ["case_id"])
        prevalence = _published_prevalence(prevalence, min_cell)
        prevalence["case_id"] = prevalence["case_id"].astype("str")
        segments = segments.loc[segments["case_id"].isin(case_ids)].reset_index(drop=True)
    terms = tables.get("redaction_terms")
    names = sorted(set(terms["term"].dropna().astype("str"))) if terms is not None else []
    participants = participants.astype({"participant_id": "str", "case_id": "str", "role": "str"})
    return JointDisplayInputs(results, prevalence, segments, participants, names, case_ids, min_cell, presence)


def joint_display_section(
    inputs: JointDisplayInputs,
    *,
    integration_map: Any = None,
    plan: Any = None,
    overrides: pd.DataFrame | None = None,
    alpha: float | None = None,
    quant_basis: str = "ci",
    order_by: str = "trust",
    language: str = "en",
) -> Section:
    """The joint display of every construct x case, with the meta-matrix and statistics-by-themes.

    Quotes are redacted with `privacy.redact` (names from ``redaction_terms``,
    e-mail addresses, phone numbers).

    Parameters
    ----------
    inputs : JointDisplayInputs
    integration_map : IntegrationMap, optional
        `integration_map_for` (default: the package's map).
    plan : AnalysisPlan, optional
        `analysis_plan_for` (default: the package's plan, reported as not pre-specified).
    overrides : DataFrame, optional
        `overrides_for`.
    alpha : float, optional
        Overrides the plan's significance level (None: the plan's).
    quant_basis : {"ci", "estimate"}
        Judge the quantitative strand by the 95% CI (default: a label then
        claims evidence) or, descriptively, by the point estimate against the
        map's smallest meaningful effect (`integrate.joint_display`).
    order_by : str
        The construct whose estimate orders the cases of the meta-matrix.

    Returns
    -------
    DisplaySection
        ``table``: the table of `integrate.joint_display`; ``tables["meta_matrix"]``,
        ``tables["statistics_by_themes"]``; no figure (the displays are the
        figure; see `joint_display_documents`); ``sentence``: how often each
        fit label occurs; ``displays``: the three `integrate.Display`
        (the tables with their settings).
    """
    data = integrate.DisplayInputs(inputs.results, inputs.prevalence, inputs.segments, inputs.participants, inputs.presence)
    options = integrate.DisplayOptions(
        integration_map=integration_map, plan=plan, overrides=overrides, redact_names=inputs.names, redact=redact, language=language,
        alpha=alpha, quant_basis=quant_basis, cases=inputs.cases, min_cell=inputs.min_cell,
    )
    joint = integrate.joint_display(data, options)
    display = joint.table
    constructs = list(dict.fromkeys(display["construct"]))
    matrix = integrate.meta_matrix(joint, order_by=order_by if order_by in constructs else constructs[0])
    by_themes = integrate.statistics_by_themes(data, options)
    fit_names = dict(terms("fit.label", language))  # the fit labels as the display names them in this language
    sentence = describe_tally(
        display["fit_label"], label=term("sections.fit", language).format(n=len(display)), names=fit_names, order=integrate.FIT_LABELS, language=language
    )
    specs = {
        "statistics_by_themes": TableSpec(
            "statistics_by_themes",
            "Statistics by themes: per construct and case, the statistic beside each linked code's prevalence and best quote (redacted).",
            "fitted",
        ),
        "meta_matrix": TableSpec(
            "meta_matrix", "Case-ordered meta-matrix: cases ordered by the trust estimate, both strands and the fit per construct.", "fitted"
        ),
        MAIN_TABLE: TableSpec(
            "joint_display",
            "Joint display: per construct and case the quantitative result, the themes, quotes (redacted), the fit and the meta-inference.",
            "fitted",
        ),
    }
    displays = {MAIN_TABLE: joint, "statistics_by_themes": by_themes, "meta_matrix": matrix}
    return DisplaySection(
        display, None, sentence, {"statistics_by_themes": by_themes.table, "meta_matrix": matrix.table}, specs, displays=displays
    )


def fit_changes(by_ci: pd.DataFrame, by_estimate: pd.DataFrame) -> pd.DataFrame:
    """The construct x case cells whose fit label differs between two joint displays (CI and estimate basis).

    Returns
    -------
    DataFrame
        construct, case_id, estimate, ci_low, ci_high, quant_evidence_ci,
        quant_evidence_estimate, qual_evidence, fit_label_ci,
        fit_label_estimate; one row per cell that changes.
    """
    keys = ["construct", "case_id"]
    left = by_ci.loc[:, [*keys, "estimate", "ci_low", "ci_high", "quant_evidence", "qual_evidence", "fit_label"]]
    right = by_estimate.loc[:, [*keys, "quant_evidence", "fit_label"]]
    both = left.merge(right, on=keys, suffixes=("_ci", "_estimate"), validate="one_to_one")
    changed = both.loc[both["fit_label_ci"] != both["fit_label_estimate"]]
    columns = [*keys, "estimate", "ci_low", "ci_high", "quant_evidence_ci", "quant_evidence_estimate", "qual_evidence", "fit_label_ci", "fit_label_estimate"]
    return changed.loc[:, columns].reset_index(drop=True)


def integration_procedure_document(section: DisplaySection, plan: Any, *, language: str = "en") -> str:
    """The integration procedure and the GRAMMS checklist of a joint display section, as Markdown (`integrate.integration_procedure`).

    Built from the section's published table (counts of people in it are the numbers of
    interviewees, never a suppressed count) and the plan it was built with
    (`analysis_plan_for`); hand it to ``run.save_document(text, "integration_procedure", format="md", ...)``.
    """
    if not isinstance(section, DisplaySection):
        raise TypeError(f"integration_procedure_document needs the DisplaySection of joint_display_section, got {type(section).__name__}")
    display = replace(section.displays[MAIN_TABLE], table=section.frame(MAIN_TABLE))
    return integrate.integration_procedure(display, plan, language=language)


def joint_display_documents(section: DisplaySection, *, language: str = "en") -> dict[str, dict[str, str | bytes]]:
    """The three displays rendered for readers: ``{name: {"html": str, "md": str, "xlsx": bytes}}``.

    Each document shows the section's own table (as `RunContext.save_section`
    published it) with the settings of its display. Hand each to
    `save_document` (``run.save_document(content, name, format=..., caption=...)``).
    """
    if not isinstance(section, DisplaySection):
        raise TypeError(f"joint_display_documents needs the DisplaySection of joint_display_section, got {type(section).__name__}")
    keys = {"joint_display": MAIN_TABLE, "meta_matrix": "meta_matrix", "statistics_by_themes": "statistics_by_themes"}
    displays = {name: replace(section.displays[key], table=section.frame(key)) for name, key in keys.items()}
    documents: dict[str, dict[str, str | bytes]] = {}
    with tempfile.TemporaryDirectory(prefix="ponzoni-xlsx-") as folder:
        for name, display in displays.items():
            path = integrate.to_xlsx(display, Path(folder) / f"{name}.xlsx", language=language)
            documents[name] = {
                "html": integrate.to_html(display, language=language),
                "md": integrate.to_markdown(display, language=language),
                "xlsx": path.read_bytes(),
            }
    return documents

