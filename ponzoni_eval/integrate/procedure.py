"""The integration procedure and the GRAMMS checklist of a run, for the methods section of a paper.

`integration_procedure` writes, from the analysis plan, the joint display and the rule, a Markdown
document: how the integration was done (plan, both strands' evidence standards, multiplicity,
disclosure control, the labels with their sources and the decision table) and the six items of
the Good Reporting of A Mixed Methods Study checklist (GRAMMS; O'Cathain, Murphy & Nicholl 2008),
each answered from this run.

References
----------
O'Cathain, A., Murphy, E., & Nicholl, J. (2008). The quality of mixed methods studies in health
services research. Journal of Health Services Research & Policy, 13(2), 92-98 (GRAMMS).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ponzoni_eval._core.numbers import format_plain
from ponzoni_eval._core.words import term, terms
from ponzoni_eval.integrate.display import Display
from ponzoni_eval.integrate.fit import FIT_LABELS, FIT_RULE
from ponzoni_eval.integrate.plan import AnalysisPlan

__all__ = ["GRAMMS_ITEMS", "integration_procedure"]

GRAMMS_ITEMS = ("justification", "design", "methods", "integration", "limitations", "insights")
"""The six GRAMMS items (O'Cathain, Murphy & Nicholl 2008), in the checklist's order."""

_RULE_KEYS = ("supportive", "contrary", "inconclusive", "absent")


def _listing(values, language: str) -> str:
    values = [str(v) for v in values if str(v)]
    return ", ".join(values) if values else term("procedure.none", language)


def _range(values: pd.Series) -> str:
    values = values.dropna()
    if values.empty:
        return "0"
    low, high = int(values.min()), int(values.max())
    return str(low) if low == high else f"{low}–{high}"


def integration_procedure(display: Display, plan: AnalysisPlan, *, language: str | None = None) -> str:
    """The integration procedure and the GRAMMS checklist of one joint display, as Markdown.

    Parameters
    ----------
    display : Display
        The `joint_display` of the run.
    plan : AnalysisPlan
        The plan the display was built with (`load_analysis_plan`).
    language : str, optional
        Default: the display's language.

    Examples
    --------
    >>> from ponzoni_eval.integrate.plan import load_analysis_plan
    >>> table = pd.DataFrame({"construct": ["trust"], "construct_label": ["Mutual trust"], "case_id": ["a"],
    ...     "outcome": ["primary"], "family_size": [1.0], "comparison": ["within"], "interviewees": [12.0], "n": [30],
    ...     "quant_evidence": ["supportive"], "qual_evidence": ["supportive"], "fit_label": ["agreement"], "overridden": [False],
    ...     "meta_inference": ["..."]})
    >>> text = integration_procedure(Display("joint_display", table), load_analysis_plan())
    >>> text.splitlines()[0], text.count("| 6 |")
    ('# Integration procedure and GRAMMS checklist', 1)
    """
    if not isinstance(display, Display) or display.kind != "joint_display":
        raise TypeError("integration_procedure needs the Display that joint_display returns")
    language = language or display.language
    table = display.table
    labels = dict(zip(table["construct"], table["construct_label"]))
    outcome = dict(zip(table["construct"], table["outcome"]))
    primary = [labels[c] for c in labels if outcome[c] == "primary"]
    secondary = [labels[c] for c in labels if outcome[c] != "primary"]
    between = [labels[c.name] for c in plan.constructs if c.comparison == "between_roles" and c.name in labels]
    waves = sorted({c.wave for c in plan.constructs if c.wave})
    fit_names = terms("fit.label", language)
    family_size = table.loc[table["outcome"] == "primary", "family_size"].dropna()
    tally = table["fit_label"].value_counts()
    fields = dict(
        plan=Path(plan.source).name,
        date=plan.registered.isoformat(),
        primary=_listing(primary, language),
        secondary=_listing(secondary, language),
        between=_listing(between, language),
        waves=_listing(waves, language),
        alpha=format_plain(display.alpha, language=language),
        threshold=f"{display.qual_threshold:.0%}",
        k=int(family_size.max()) if len(family_size) else 0,
        min_cell=display.min_cell or 1,
        largest=max((display.min_cell or 1) - 1, 0),
        small_n=plan.small_n,
        n_cells=len(table),
        n_cases=table["case_id"].nunique(),
        n_constructs=len(labels),
        survey=_range(table["n"].astype("float64")),
        interviews=_range(table["interviewees"].where(table["interviewees"] > 0)),
        small=int(((table["interviewees"] > 0) & (table["interviewees"] < plan.small_n)).sum()),
        overrides=int(table["overridden"].sum()),
        tally=_listing([f"{fit_names[label]} {int(tally.get(label, 0))}" for label in FIT_LABELS], language),
        dissonant=_listing([f"{labels[r.construct]} ({r.case_id})" for r in table.itertuples() if r.fit_label == "dissonance"], language),
    )
    lines = [f"# {term('procedure.title', language)}", "", f"## {term('procedure.procedure', language)}", ""]
    plan_key = "procedure.plan" if plan.pre_specified else "procedure.no_plan"
    for index, key in enumerate((plan_key, "procedure.quant", "procedure.qual", "procedure.disclosure", "procedure.labels"), start=1):
        lines.append(f"{index}. " + term(key, language, **fields))
    lines += ["", f"| {term('procedure.label', language)} | {term('procedure.meaning', language)} | {term('procedure.source', language)} |", "|---|---|---|"]
    meanings, sources = terms("fit.meaning", language), terms("fit.source", language)
    lines += [f"| {fit_names[label]} | {meanings[label]} | {sources[label]} |" for label in FIT_LABELS]
    evidence = terms("display.evidence", language)
    header = f"| {term('procedure.quant_qual', language)} | " + " | ".join(evidence[k] for k in _RULE_KEYS) + " |"
    lines += ["", header, "|---" * (len(_RULE_KEYS) + 1) + "|"]
    lines += [f"| {evidence[q]} | " + " | ".join(fit_names[FIT_RULE[(q, k)]] for k in _RULE_KEYS) + " |" for q in _RULE_KEYS]
    lines += ["", term("procedure.rule_note", language), "", f"## {term('procedure.gramms', language)}", ""]
    lines += [f"| # | {term('procedure.item', language)} | {term('procedure.this_run', language)} |", "|---|---|---|"]
    items, answers = terms("procedure.items", language), terms("procedure.answers", language)
    lines += [f"| {i} | {items[name]} | {answers[name].format(**fields)} |" for i, name in enumerate(GRAMMS_ITEMS, start=1)]
    lines += ["", term("procedure.references", language)]
    return "\n".join(lines) + "\n"
