"""Report sections run as the run plan allows: a skipped section says why, in plain words (issue 14).

A notebook computes the plan once from its tables (`plan_for`, the same plan
``ponzoni-eval validate`` and ``run`` print) and wraps every section in
`planned`: a section whose needs the data meet is computed and saved
(`RunContext.save_section`); one that cannot run is not computed, and shows a
notice with the reason instead of its figure, the reason instead of its
sentence, and an empty table.

Examples
--------
>>> plan = plan_for(tables, case_id)  # doctest: +SKIP
>>> pre_post = planned(run, plan, "pre_post", lambda: sections.pre_post_section(scores, case_id, before=plan.before, after=plan.after))  # doctest: +SKIP
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import pandas as pd

from ponzoni_eval._core.words import check_language, set_display_names, term, terms
from ponzoni_eval.data.plan import RunPlan, data_profile, run_plan
from ponzoni_eval.report.document import ReportItem
from ponzoni_eval.report.outputs import RunContext
from ponzoni_eval.report.publishing import Section

__all__ = ["plan_for", "planned", "Notice", "Skipped", "plan_notice", "use_display_names"]


def plan_for(tables: Mapping[str, pd.DataFrame], cases: str | Sequence[str] | None = None, *,
             before: str | None = None, after: str | None = None) -> RunPlan:
    """The run plan of these (processed) tables for `cases` (one id, a list, ``"all"`` or None: every case).

    `before`/`after` fix the pre/post waves (default: first and last wave in the data).
    """
    wanted = None if cases is None or cases == "all" else ([cases] if isinstance(cases, str) else list(cases))
    return run_plan(data_profile(tables), wanted, before=before, after=after)


def use_display_names(tables: Mapping[str, pd.DataFrame]) -> dict[str, str]:
    """Name the cases by ``cases.name``, and roles and waves by the ``label``/``label_nl`` of the optional
    ``roles``/``waves`` tables, in every title, table, sentence, caption and figure from here on (ids stay in the data).

    A case, role or wave without a name keeps the words tables' name (or its id). Returns the case names used.

    Examples
    --------
    >>> names = use_display_names({"cases": pd.DataFrame({"case_id": ["kolenkit"], "name": ["Kolenkitbuurt"]})})
    >>> from ponzoni_eval.report.plots import label
    >>> label("case", "kolenkit", "nl")
    'Kolenkitbuurt'
    >>> _ = use_display_names({"cases": pd.DataFrame({"case_id": [], "name": []}),
    ...                        "waves": pd.DataFrame({"wave": ["t0"], "label": ["intake"], "label_nl": [None]})})
    >>> label("wave", "t0", "en"), label("wave", "t0", "nl")
    ('intake', 'voormeting')
    >>> _ = use_display_names({"cases": pd.DataFrame({"case_id": [], "name": []})})
    """
    cases = tables["cases"]
    names = {}
    if "name" in cases.columns:
        for case, name in zip(cases["case_id"].astype("str"), cases["name"]):
            if isinstance(name, str) and name.strip():
                names[case] = name.strip()
    set_display_names("case", names)
    # Roles and waves by the labels of the optional `roles` / `waves` tables: `label` in English, `label_nl` in
    # Dutch; a role or wave without one keeps the words tables' name.
    for kind, table in (("role", "roles"), ("wave", "waves")):
        frame = tables.get(table)
        for language, column in (("en", "label"), ("nl", "label_nl")):
            given = {}
            if frame is not None and column in frame.columns:
                for key, text in zip(frame[kind].astype("str"), frame[column]):
                    if isinstance(text, str) and text.strip():
                        given[key] = text.strip()
            set_display_names(kind, given, language=language)
    set_display_names("expectation", _dutch_value_labels(tables.get("instrument")), language="nl")
    return names


def _dutch_value_labels(instrument: pd.DataFrame | None) -> dict[str, str]:
    """``value_labels`` text -> ``value_labels_nl`` text of the same item and code (issue 15): the answer labels of a
    Dutch report. Labels without a Dutch one keep the glossary's Dutch name (``values.expectation``)."""
    from ponzoni_eval.data.schema import parse_value_labels

    if instrument is None or not {"value_labels", "value_labels_nl"} <= set(instrument.columns):
        return {}
    dutch: dict[str, str] = {}
    for english, translated in zip(instrument["value_labels"], instrument["value_labels_nl"]):
        try:
            given, wanted = parse_value_labels(english), parse_value_labels(translated)
        except ValueError:
            continue  # validate reports the cell
        dutch.update({given[code]: text for code, text in wanted.items() if code in given})
    return dutch


@dataclass(frozen=True)
class Notice:
    """A short notice in a report (IPython display protocol: HTML in the notebook and its exports, text elsewhere)."""

    title: str
    text: str

    def _repr_html_(self) -> str:
        return (
            '<div class="ponzoni-notice" role="note" style="border-left:4px solid #666;background:#f4f4f4;'
            'padding:0.6em 1em;margin:0.5em 0;font-family:sans-serif">'
            f"<strong>{html.escape(self.title)}:</strong> {html.escape(self.text)}</div>"
        )

    def __repr__(self) -> str:
        return f"{self.title}: {self.text}"


@dataclass(frozen=True)
class Skipped:
    """A section the data do not allow: `figure` is a `Notice`, `sentence` the reason, `table` empty."""

    key: str
    reason: str
    figure: Notice
    table: pd.DataFrame = field(default_factory=pd.DataFrame)
    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def sentence(self) -> str:
        return f"{self.figure.title}: {self.reason}."


def plan_notice(plan: RunPlan, notebook: str, section: str | None = None, case_id: str | None = None, *,
                language: str = "en") -> Notice | None:
    """The notice of a skipped notebook or section (None when it runs)."""
    reason = plan.reason(notebook, section, case_id, language=language)
    return Notice(term("plan.skipped", language), reason) if reason else None


def planned(run: RunContext, plan: RunPlan, key: str, make: Callable[[], Section], *, language: str = "en") -> Section | Skipped:
    """The section `key` of `run`'s notebook computed and saved by `make()`, or `Skipped` with the plan's reason.

    Parameters
    ----------
    run : RunContext
        From `open_run` (its notebook and case select the plan entry).
    plan : RunPlan
        From `plan_for`.
    key : str
        The section's key in `ponzoni_eval.data.plan.SECTIONS`.
    make : callable
        Builds the section (called only when the plan lets it run).
    """
    check_language(language)
    if plan.runs(run.notebook, key, run.case_id):
        return run.save_section(make())
    reason = plan.reason(run.notebook, key, run.case_id, language=language)
    skipped = Skipped(key, reason, Notice(term("plan.skipped", language), reason))
    # The report for readers without code (run.write_report) lists the section with its reason, never silently drops it.
    heading = terms("plan.section", language).get(key, key.replace("_", " "))
    run.items.append(ReportItem(key, heading=heading[:1].upper() + heading[1:], notice=skipped.sentence))
    return skipped
