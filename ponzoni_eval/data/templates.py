"""Templates for an evaluator's raw tables: the instrument the reports use, one example row per table, and a guide.

``ponzoni-eval templates DIR`` writes one CSV per table. The instrument is filled
in with every item of the scales the reports read (items, ranges, reverse
coding), so a new evaluator starts from the scale names the reports need;
every other table holds one example row (from the synthetic example, ids
starting ``EXAMPLE``) showing how a row looks; the optional ``roles`` and ``waves``
tables hold the reports' own labels of every role and wave (edit one to rename it). Replace the example rows with
your own data. The guide (``README.md``) says which scales feed which report
section (`SCALES_BY_SECTION`).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ponzoni_eval._core.errors import DataError
from ponzoni_eval._core.files import atomic_write_text
from ponzoni_eval.data import schema
from ponzoni_eval.data.dictionary import render_template_guide
from ponzoni_eval.data.synthetic import generate
from ponzoni_eval.integrate.plan import PLAN_FILENAME, plan_template

__all__ = [
    "write_templates",
    "template_tables",
    "SCALES_BY_SECTION",
    "EXAMPLE_PREFIX",
]

EXAMPLE_PREFIX = "EXAMPLE"
"""Ids of the example rows start with this, so they are easy to find and replace."""

SCALES_BY_SECTION: dict[str, str] = {
    "reliability (case report)": "every scale with two or more items",
    "trajectories (case and cross-case report)": "`trust` (the figure and sentence); every scale in the table",
    "change before/after (case report), mixed model and Kruskal-Wallis (cross-case report)":
        "every scale answered in both waves of the pair (first and last wave by default); `trust` in the sentence",
    "perception gap (case report)": "`own_willingness` and `perceived_willingness` (the same people, the same waves)",
    "expectations (case and cross-case report)":
        "the nominal item `expectation_primary` (1 = strengthen the organisation, 2 = bridge to parents, 3 = both) "
        "and the scales `expect_strengthen` and `expect_bridge`",
    "joint display": "`trust`, `own_willingness`/`perceived_willingness`, `expectation_primary`, `safe_space`, "
                     "with `feeling_judged` in the cross-case models; help-seeking from `activity_log`",
    "help-seeking (case and cross-case report)":
        "no scale: `activity_log` rows of `parenting_question_to_youth_team` before and after `intervention_start`",
    "themes and intercoder agreement": "no scale: `coded_segments` + `codebook` (agreement needs documents coded by two coders)",
}
"""Which scales (or tables) each report section reads; the templates' guide lists them."""


def _example_ids(frame: pd.DataFrame, column: str, mapping: dict[str, str]) -> pd.DataFrame:
    if column in frame.columns:
        frame = frame.assign(**{column: frame[column].astype("str").map(lambda v: mapping.get(v, v))})
    return frame


def template_tables() -> dict[str, pd.DataFrame]:
    """The template tables: the example's full instrument, and one consistent example row of every other table.

    The example rows belong together (the case of the participant, the
    participant of the survey answer and the coded interview, the code of
    the codebook row), so the filled templates validate.
    """
    example = generate(n_sites=3)
    segment = example["coded_segments"].iloc[[0]].astype({"document_id": "str", "participant_id": "str", "case_id": "str", "code": "str"})
    case, person, document, code = (str(segment[c].iloc[0]) for c in ("case_id", "participant_id", "document_id", "code"))
    ids = {case: "example_case", person: f"{EXAMPLE_PREFIX}-P01", document: f"{EXAMPLE_PREFIX}-P01-doc"}
    pick = {
        "cases": example["cases"].loc[example["cases"]["case_id"].astype("str") == case].head(1),
        "participants": example["participants"].loc[example["participants"]["participant_id"].astype("str") == person].head(1),
        "survey_responses": example["survey_responses"].loc[example["survey_responses"]["participant_id"].astype("str") == person].head(1),
        "activity_log": example["activity_log"].loc[example["activity_log"]["case_id"].astype("str") == case].head(1),
        "coded_segments": segment,
        "codebook": example["codebook"].loc[example["codebook"]["code"].astype("str") == code].head(1),
        "documents": example["documents"].loc[example["documents"]["document_id"].astype("str") == document].head(1),
    }
    from ponzoni_eval._core.words import terms

    tables = {"instrument": example["instrument"]}
    # The optional display labels of roles and waves, filled with the reports' own names: edit a label to rename it.
    for table, kind, keys in (("roles", "role", schema.ROLES), ("waves", "wave", schema.WAVES)):
        tables[table] = pd.DataFrame({kind: list(keys), "label": [terms("values", "en")[kind][k] for k in keys],
                                      "label_nl": [terms("values", "nl")[kind][k] for k in keys]})
    for name, frame in pick.items():
        frame = frame.reset_index(drop=True)
        for column in ("case_id", "participant_id", "document_id"):
            frame = _example_ids(frame, column, ids)
        if name == "participants" and "name" in frame.columns:
            frame = frame.assign(name=None)  # never a name in a template
        if name == "cases":
            frame = frame.assign(name="Example case", description="Replace this row with your case(s).")
        tables[name] = frame
    return tables


def _csv_text(frame: pd.DataFrame, columns: list[str]) -> str:
    out = frame.reindex(columns=columns).copy()
    for column in out.columns:
        values = out[column]
        if pd.api.types.is_bool_dtype(values):
            out[column] = values.map({True: "true", False: "false"})
        elif pd.api.types.is_float_dtype(values) and bool(((values.dropna() % 1) == 0).all()):
            out[column] = values.astype("Int64")
        elif pd.api.types.is_datetime64_any_dtype(values):
            out[column] = values.dt.strftime("%Y-%m-%d")
    return out.to_csv(index=False, lineterminator="\n")


def write_templates(out_dir: Path | str) -> list[Path]:
    """Write one CSV per table (the filled instrument, one example row elsewhere), a ``README.md`` guide and an
    ``analysis_plan.toml`` for evaluators.

    Existing files are never overwritten (a template must not replace data).

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    DataError
        When a file of the same name already exists in `out_dir`.
    """
    out_dir = Path(out_dir)
    filled = template_tables()
    targets = {
        out_dir / f"{table}.csv": _csv_text(filled[table], list(spec.schema.columns)) if table in filled
        else ",".join(spec.schema.columns) + "\n"
        for table, spec in schema.TABLES.items()
    }
    targets[out_dir / "README.md"] = render_template_guide(SCALES_BY_SECTION)
    targets[out_dir / PLAN_FILENAME] = plan_template()  # the integration's analysis plan, to fill in before analysing
    existing = [p.name for p in targets if p.exists()]
    if existing:
        raise DataError(
            f"will not overwrite existing file(s) {', '.join(existing)}; choose an empty folder",
            file=str(out_dir),
        )
    for path, text in targets.items():
        # A BOM so that Excel opens the CSV templates as UTF-8 (our reader accepts both).
        atomic_write_text(path, text, encoding="utf-8-sig" if path.suffix == ".csv" else "utf-8")
    return list(targets)
