"""The run plan: which report sections the data allow, for which cases, and why the others are skipped.

Every section of the three report notebooks declares what it needs (`SECTIONS`):
tables, scales or items, at least two waves, at least two cases, coded
interviews, double-coded interviews, an activity log. `data_profile` says what
a data set has (from the raw tables `validate` read or the processed tables a
notebook loads: the same columns), and `run_plan` compares the two. A section
that cannot run is skipped with a plain-language reason in the report
language (``plan.reason.*`` in ``resources/words/<language>.toml``), shown in
the report, in the run's ``index.html`` and by ``ponzoni-eval validate`` and
``run`` before anything runs.

The profile is plain JSON (lists, strings, booleans), so the run's own process
can compute the plan from it without pandas: `prepare` stores it in the
processed folder's manifest (``profile``). This module imports no third-party
package; it only calls methods of the frames it is given.

Pre/post comparisons use the first and the last wave in the data unless a pair
is given (`pre_post_pair`).

Examples
--------
>>> profile = {"cases": [{"case_id": "a", "name": "A", "waves": ["t0", "t1"], "scales": {"t0": ["trust"], "t1": ["trust"]},
...            "interviews": False, "double_coding": False, "activity": False}], "waves": ["t0", "t1"], "items": []}
>>> plan = run_plan(profile)
>>> plan.runs("01_case_report", "pre_post", "a"), plan.notebook_runs("02_cross_case")
(True, False)
>>> plan.reason("02_cross_case", language="en")
'one case in the data (A): nothing to compare between cases'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from ponzoni_eval._core.errors import DataError
from ponzoni_eval._core.vocabulary import WAVES
from ponzoni_eval._core.words import term, terms

__all__ = [
    "Needs",
    "SectionNeeds",
    "SECTIONS",
    "NOTEBOOK_NEEDS",
    "PlanEntry",
    "RunPlan",
    "data_profile",
    "run_plan",
    "pre_post_pair",
    "HELP_SEEKING_EVENT",
    "EXPECTATION_ITEM",
    "CASE_NOTEBOOK",
    "print_plan",
]

CASE_NOTEBOOK = "01_case_report"
"""The notebook executed once per case; the others run once for all cases."""
HELP_SEEKING_EVENT = "parenting_question_to_youth_team"
"""The activity-log event the help-seeking sections model (as `ponzoni_eval.stats.timeseries.HELP_SEEKING_EVENT`)."""
EXPECTATION_ITEM = "expectation_primary"
"""The nominal item of the expectation sections (as `ponzoni_eval.report.sections.EXPECTATION_ITEM`)."""


@dataclass(frozen=True)
class Needs:
    """What a section (or a whole notebook) needs from the data.

    Attributes
    ----------
    scales : tuple of str
        Scales that must have answers (in the case, for a case section).
    items : tuple of str
        Items that must be in the instrument and answered.
    waves : int
        Waves with answers needed (2: a change over time).
    cases : int
        Cases needed (2: a comparison between cases).
    interviews, double_coding, activity : bool
        Coded interviews, double-coded interviews, an activity log with
        `HELP_SEEKING_EVENT` before and after the start (in the case; in at
        least `cases` cases for a cross-case section).
    """

    scales: tuple[str, ...] = ()
    items: tuple[str, ...] = ()
    waves: int = 1
    cases: int = 1
    interviews: bool = False
    double_coding: bool = False
    activity: bool = False


@dataclass(frozen=True)
class SectionNeeds:
    """One section of a notebook: its key (as in the notebook's ``report.planned`` call) and its needs."""

    notebook: str
    key: str
    needs: Needs = Needs()


NOTEBOOK_NEEDS: dict[str, Needs] = {
    "01_case_report": Needs(),
    "02_cross_case": Needs(cases=2),
    "03_joint_display": Needs(interviews=True, waves=2),
}
"""What each notebook needs as a whole; a notebook whose needs are not met is not run (the index says why)."""

SECTIONS: tuple[SectionNeeds, ...] = (
    SectionNeeds("01_case_report", "quality"),
    SectionNeeds("01_case_report", "reliability"),
    SectionNeeds("01_case_report", "trajectories", Needs(scales=("trust",), waves=2)),
    SectionNeeds("01_case_report", "pre_post", Needs(waves=2)),
    SectionNeeds("01_case_report", "perception_gap", Needs(scales=("own_willingness", "perceived_willingness"), waves=2)),
    SectionNeeds("01_case_report", "expectations", Needs(items=(EXPECTATION_ITEM,))),
    SectionNeeds("01_case_report", "help_seeking", Needs(activity=True)),
    SectionNeeds("01_case_report", "themes", Needs(interviews=True)),
    SectionNeeds("01_case_report", "agreement", Needs(interviews=True, double_coding=True)),
    SectionNeeds("02_cross_case", "quality", Needs(cases=2)),
    SectionNeeds("02_cross_case", "trajectories", Needs(scales=("trust",), waves=2, cases=2)),
    SectionNeeds("02_cross_case", "mixed_model", Needs(waves=2, cases=2)),
    SectionNeeds("02_cross_case", "kruskal_dunn", Needs(waves=2, cases=2)),
    SectionNeeds("02_cross_case", "help_seeking", Needs(activity=True, cases=2)),
    SectionNeeds("02_cross_case", "themes", Needs(interviews=True, cases=2)),
    SectionNeeds("02_cross_case", "expectations", Needs(items=(EXPECTATION_ITEM,), cases=2)),
    SectionNeeds("03_joint_display", "joint_display", Needs(interviews=True, waves=2)),
)
"""Every gated section of the report notebooks and what it needs."""


# --- what the data have ---------------------------------------------------------------------------


def _rows(tables: Mapping[str, Any], name: str) -> Any | None:
    """The table, or None when it is absent or has no rows (a header-only optional file counts as absent)."""
    frame = tables.get(name)
    if frame is None or len(frame) == 0:
        return None
    return frame


def _text(series: Any) -> list[str]:
    return [str(value) for value in series.tolist()]


def data_profile(tables: Mapping[str, Any]) -> dict[str, Any]:
    """What a data set has, per case: waves and scales answered, interviews, double coding, activity log.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Raw tables as `read_raw_dir` reads them, or processed tables
        (`load_processed`): ``cases``, ``participants``, ``instrument``,
        ``survey_responses`` and, when present, ``activity_log``,
        ``coded_segments``. Tables without rows count as absent.

    Returns
    -------
    dict
        JSON-ready: ``cases`` (one dict per case, in the cases table's order:
        ``case_id``, ``name``, ``waves``, ``scales`` (wave -> scales with an
        answer), ``interviews``, ``double_coding``, ``activity``), ``waves``
        (with answers, in study order) and ``items`` (answered item ids).
    """
    cases = _rows(tables, "cases")
    if cases is None:
        raise DataError("the data have no cases", file="cases", expected="one row per case")
    names = dict(zip(_text(cases["case_id"]), _text(cases["name"]) if "name" in cases else _text(cases["case_id"])))
    participants = _rows(tables, "participants")
    case_of = dict(zip(_text(participants["participant_id"]), _text(participants["case_id"]))) if participants is not None else {}
    instrument = _rows(tables, "instrument")
    scale_of = dict(zip(_text(instrument["item_id"]), _text(instrument["scale"]))) if instrument is not None else {}

    seen: dict[str, dict[str, set[str]]] = {case: {} for case in names}
    items: set[str] = set()
    survey = _rows(tables, "survey_responses")
    if survey is not None:
        answered = survey.loc[survey["value"].notna(), ["participant_id", "wave", "item_id"]].drop_duplicates()
        for participant, wave, item in zip(_text(answered["participant_id"]), _text(answered["wave"]), _text(answered["item_id"])):
            case = case_of.get(participant)
            if case in seen and item in scale_of:
                seen[case].setdefault(wave, set()).add(scale_of[item])
                items.add(item)

    interviewed: set[str] = set()
    double: set[str] = set()
    segments = _rows(tables, "coded_segments")
    if segments is not None:
        coders: dict[tuple[str, str], set[str]] = {}
        for case, document, coder in zip(_text(segments["case_id"]), _text(segments["document_id"]), _text(segments["coder"])):
            interviewed.add(case)
            coders.setdefault((case, document), set()).add(coder)
        double = {case for (case, _), who in coders.items() if len(who) >= 2}

    active: set[str] = set()
    log = _rows(tables, "activity_log")
    if log is not None and "intervention_start" in cases:
        start = dict(zip(_text(cases["case_id"]), cases["intervention_start"].tolist()))
        help_seeking = log.loc[log["event_type"].astype("str") == HELP_SEEKING_EVENT]
        sides: dict[str, set[bool]] = {}
        for case, date in zip(_text(help_seeking["case_id"]), help_seeking["date"].tolist()):
            if case in start and start[case] is not None and date is not None:
                sides.setdefault(case, set()).add(date >= start[case])
        active = {case for case, side in sides.items() if side == {True, False}}  # months before and after the start

    order = {wave: i for i, wave in enumerate(WAVES)}
    every_wave = sorted({wave for waves in seen.values() for wave in waves}, key=lambda w: order.get(w, len(order)))
    return {
        "cases": [
            {
                "case_id": case,
                "name": name,
                "waves": [wave for wave in every_wave if wave in seen[case]],
                "scales": {wave: sorted(seen[case][wave]) for wave in every_wave if wave in seen[case]},
                "interviews": case in interviewed,
                "double_coding": case in double,
                "activity": case in active,
            }
            for case, name in names.items()
        ],
        "waves": every_wave,
        "items": sorted(items),
    }


def pre_post_pair(profile: Mapping[str, Any], before: str | None = None, after: str | None = None) -> tuple[str, str] | None:
    """The two waves a pre/post comparison uses: the first and last wave in the data, unless given.

    None when the data have fewer than two waves and no pair is given.

    Raises
    ------
    DataError
        A given wave is not in the data, or both are the same.
    """
    waves = list(profile["waves"])
    if before is None and after is None and len(waves) < 2:
        return None
    before = waves[0] if before is None else before
    after = waves[-1] if after is None else after
    for wave in (before, after):
        if wave not in waves:
            raise DataError("wave not in the data", column="wave", expected=", ".join(waves) or "a wave with answers", found=wave)
    if before == after:
        raise DataError("a pre/post comparison needs two different waves", column="wave", found=f"{before} and {after}")
    return before, after


# --- the plan -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanEntry:
    """One section (or a whole notebook: ``section`` None) for one case (``case_id`` None: all cases)."""

    notebook: str
    section: str | None
    case_id: str | None
    runs: bool
    reason: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)

    def reason_text(self, language: str = "en") -> str:
        """Why it is skipped, in plain words (empty when it runs)."""
        return "" if self.reason is None else terms("plan.reason", language)[self.reason].format(**self.fields)


@dataclass(frozen=True)
class RunPlan:
    """What runs and what is skipped, and why (`run_plan`)."""

    profile: Mapping[str, Any]
    cases: tuple[str, ...]
    pair: tuple[str, str] | None
    entries: tuple[PlanEntry, ...]

    @property
    def waves(self) -> list[str]:
        """The waves with answers, in study order."""
        return list(self.profile["waves"])

    @property
    def before(self) -> str | None:
        """The first wave of the pre/post comparisons (None with one wave)."""
        return self.pair[0] if self.pair else None

    @property
    def after(self) -> str | None:
        """The second wave of the pre/post comparisons (None with one wave)."""
        return self.pair[1] if self.pair else None

    def _entry(self, notebook: str, section: str | None, case_id: str | None) -> PlanEntry:
        for entry in self.entries:
            if entry.notebook == notebook and entry.section == section and entry.case_id == case_id:
                return entry
        raise KeyError(f"no plan entry for notebook {notebook!r}, section {section!r}, case {case_id!r}")

    def notebook_runs(self, notebook: str) -> bool:
        """Whether the notebook runs at all (the cross-case report needs two cases)."""
        return self._entry(notebook, None, None).runs

    def runs(self, notebook: str, section: str, case_id: str | None = None) -> bool:
        """Whether a section runs (for `case_id` in the case report)."""
        return self.notebook_runs(notebook) and self._entry(notebook, section, case_id if notebook == CASE_NOTEBOOK else None).runs

    def reason(self, notebook: str, section: str | None = None, case_id: str | None = None, *, language: str = "en") -> str:
        """Why a notebook or section is skipped, in plain words ('' when it runs)."""
        whole = self._entry(notebook, None, None)
        if not whole.runs or section is None:
            return whole.reason_text(language)
        return self._entry(notebook, section, case_id if notebook == CASE_NOTEBOOK else None).reason_text(language)

    def case_name(self, case_id: str) -> str:
        """The display name of a case (``cases.name``), its id when it has none."""
        for case in self.profile["cases"]:
            if case["case_id"] == case_id:
                return case["name"] or case_id
        return case_id

    def rows(self, language: str = "en") -> list[dict[str, str]]:
        """The plan as rows for a table: notebook, section, case, runs ('yes'/'no' in words), reason."""
        out = []
        for entry in self.entries:
            if (entry.section is None and entry.runs) or (entry.section is not None and not self.notebook_runs(entry.notebook)):
                continue  # a running notebook needs no row; a skipped one needs one row, not one per section
            out.append({
                "notebook": entry.notebook,
                "section": terms("plan.section", language)[entry.section] if entry.section else term("plan.whole_notebook", language),
                "case": self.case_name(entry.case_id) if entry.case_id else term("plan.all_cases", language),
                "runs": term("plan.yes" if entry.runs else "plan.no", language),
                "reason": entry.reason_text(language),
            })
        return out

    def to_record(self, language: str = "en") -> dict[str, Any]:
        """JSON-ready: the pair, the cases and every entry with its reason in words (for the manifest)."""
        return {
            "cases": list(self.cases),
            "pre_post": list(self.pair) if self.pair else None,
            "entries": [
                {"notebook": e.notebook, "section": e.section, "case_id": e.case_id, "runs": e.runs,
                 "reason": e.reason, "reason_text": e.reason_text(language)}
                for e in self.entries
            ],
        }


def _names_of(profile: Mapping[str, Any], cases: Sequence[str]) -> str:
    names = {case["case_id"]: case["name"] or case["case_id"] for case in profile["cases"]}
    return ", ".join(names[case] for case in cases)


def _check(needs: Needs, profile: Mapping[str, Any], cases: Sequence[Mapping[str, Any]], pair: tuple[str, str] | None,
           *, one_case: bool) -> tuple[str | None, dict[str, str]]:
    """The first unmet need as (reason key, fields), or (None, {}) when every need is met."""
    name = cases[0]["name"] or cases[0]["case_id"] if one_case and cases else ""
    if needs.cases >= 2 and len(cases) < 2:
        return "one_case", {"case": _names_of(profile, [case["case_id"] for case in cases])}
    if not any(case["waves"] for case in cases):
        return ("no_survey_case", {"case": name}) if one_case else ("no_survey", {})
    if needs.waves >= 2:
        if pair is None:
            return "one_wave", {"wave": ", ".join(profile["waves"])}
        with_pair = [case for case in cases if set(pair) <= set(case["waves"])]
        if one_case and not with_pair:
            missing = [wave for wave in pair if wave not in cases[0]["waves"]]
            return "wave_missing", {"case": name, "wave": ", ".join(missing)}
        if len(with_pair) < needs.cases:
            return "too_few_cases", {"before": pair[0], "after": pair[1], "n": str(needs.cases)}
    for scale in needs.scales:
        waves = list(pair) if needs.waves >= 2 and pair else [w for case in cases for w in case["waves"]]
        has = [case for case in cases if all(scale in case["scales"].get(w, []) for w in waves if w in case["waves"])
               and any(scale in case["scales"].get(w, []) for w in waves)]
        if len(has) < max(1, needs.cases):
            return ("no_scale_case", {"scale": scale, "case": name}) if one_case else ("no_scale", {"scale": scale})
    for item in needs.items:
        if item not in profile["items"]:
            return "no_item", {"item": item}
    for flag, reason in (("interviews", "interviews"), ("double_coding", "double_coding"), ("activity", "activity")):
        if getattr(needs, flag):
            with_flag = [case for case in cases if case[flag]]
            if one_case and not with_flag:
                return f"no_{reason}_case", {"case": name}
            if not with_flag:
                return f"no_{reason}", {}
            if len(with_flag) < needs.cases:
                return f"too_few_{reason}", {"n": str(needs.cases)}
    return None, {}


def run_plan(
    profile: Mapping[str, Any],
    cases: Sequence[str] | None = None,
    *,
    before: str | None = None,
    after: str | None = None,
) -> RunPlan:
    """Which notebooks and sections run for which cases, and why the others are skipped.

    Parameters
    ----------
    profile : dict
        `data_profile` of the data set (or the ``profile`` of a processed manifest).
    cases : list of str, optional
        The cases of the run (default: every case).
    before, after : str, optional
        The waves of the pre/post comparisons (default: first and last wave in the data).

    Returns
    -------
    RunPlan
        One `PlanEntry` per notebook (section None), per case-report section
        and case, and per cross-case section.
    """
    known = [case["case_id"] for case in profile["cases"]]
    wanted = known if not cases else [str(case) for case in cases]
    unknown = [case for case in wanted if case not in known]
    if unknown:
        raise DataError("unknown case(s)", column="case_id", expected=", ".join(known), found=", ".join(unknown))
    chosen = [case for case in profile["cases"] if case["case_id"] in set(wanted)]
    pair = pre_post_pair(profile, before, after)
    entries: list[PlanEntry] = []
    for notebook, needs in NOTEBOOK_NEEDS.items():
        reason, fields = _check(needs, profile, chosen, pair, one_case=False)
        entries.append(PlanEntry(notebook, None, None, reason is None, reason, fields))
    for section in SECTIONS:
        if section.notebook == CASE_NOTEBOOK:
            for case in chosen:
                reason, fields = _check(section.needs, profile, [case], pair, one_case=True)
                entries.append(PlanEntry(section.notebook, section.key, case["case_id"], reason is None, reason, fields))
        else:
            reason, fields = _check(section.needs, profile, chosen, pair, one_case=False)
            entries.append(PlanEntry(section.notebook, section.key, None, reason is None, reason, fields))
    return RunPlan(profile, tuple(case["case_id"] for case in chosen), pair, tuple(entries))


def print_plan(plan: RunPlan, console: Any = None, *, language: str = "en") -> None:
    """The run plan as a table: the pre/post waves, then every notebook or section that is skipped, and why."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = console or Console()
    running = [name for name in NOTEBOOK_NEEDS if plan.notebook_runs(name)]
    console.print(escape(term("plan.runs_line", language, notebooks=", ".join(running),
                              cases=", ".join(plan.case_name(case) for case in plan.cases))), highlight=False)
    if plan.pair:
        console.print(term("plan.pre_post", language, before=plan.pair[0], after=plan.pair[1]), highlight=False)
    rows = [row for row in plan.rows(language) if row["runs"] == term("plan.no", language)]
    if not rows:
        return
    table = Table(title=term("plan.title", language), title_justify="left")
    for key in ("plan.column_notebook", "plan.column_section", "plan.column_case", "plan.column_reason"):
        table.add_column(term(key, language), overflow="fold")
    for row in rows:
        table.add_row(*(escape(row[key]) for key in ("notebook", "section", "case", "reason")))
    console.print(table)
