"""The data dictionary, in code.

One pandera schema per raw table, plus the column vocabulary that every
function in the package shares. `docs/data-dictionary.md` is rendered from
these schemas (`ponzoni-eval dictionary`), so the documentation and the
checks cannot drift apart.

The schemas describe a table *after* it has been read and typed by
`ponzoni_eval.data.read` (numbers parsed, dates parsed, text stripped). Rules that
span tables (a participant's case must exist, an item may only be answered by
the roles it lists, ...) live in `ponzoni_eval.data.validate`.

Column vocabulary
-----------------
A column means the same thing in every table and function:
``case_id, participant_id, role, wave, item_id, scale, value, code, coder,
document_id, event_type, month, count``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ponzoni_eval._core.vocabulary import (  # noqa: F401
    ROLES,
    WAVES,
    WAVE_LABELS,
    EVENT_TYPES,
    MEMO_KINDS,
    MISSING_REASONS,
    MEASUREMENT_LEVELS,
    ID_PATTERN,
    CASE_ID,
    PARTICIPANT_ID,
    ROLE,
    WAVE,
    ITEM_ID,
    SCALE,
    VALUE,
    CODE,
    CODER,
    DOCUMENT_ID,
    EVENT_TYPE,
    MONTH,
    COUNT,
)

POSITION_UNITS = ("character", "paragraph")
"""What ``coded_segments.start``/``end`` count (`ponzoni_eval.qual.vendor_tables` writes ``paragraph``)."""


def _split_list(value: str) -> list[str]:
    return [part.strip() for part in str(value).split(";") if part.strip()]


def roles_are_known(series: pd.Series) -> pd.Series:
    """Per entry: a non-empty ';'-list of known roles (missing entries pass; nullability is checked apart)."""
    return series.map(lambda v: pd.isna(v) or (bool(_split_list(v)) and set(_split_list(v)) <= set(ROLES))).astype(bool)


def parse_codes(value: object) -> list[float]:
    """The numbers of a ``missing_codes`` cell ('99;-9' -> [99.0, -9.0]); raises ValueError on anything else."""
    if value is None or (isinstance(value, float) and value != value):
        return []
    return [float(part.strip().replace(",", ".")) for part in str(value).split(";") if part.strip()]


def codes_are_numbers(series: pd.Series) -> pd.Series:
    """Per entry: a ';'-list of numbers (missing entries pass)."""
    def ok(value: object) -> bool:
        try:
            parse_codes(value)
        except ValueError:
            return False
        return True

    return series.map(ok).astype(bool)


def parse_value_labels(value: object) -> dict[float, str]:
    """The labels of a ``value_labels`` / ``value_labels_nl`` cell ('1=eens;2=oneens' -> {1.0: 'eens', 2.0: 'oneens'});
    raises ValueError on anything else."""
    if value is None or (isinstance(value, float) and value != value):
        return {}
    labels = {}
    for part in _split_list(str(value)):
        code, sep, text = part.partition("=")
        if not sep or not text.strip():
            raise ValueError(f"not 'code=label': {part!r}")
        labels[float(code.strip().replace(",", "."))] = text.strip()
    return labels


def labels_are_pairs(series: pd.Series) -> pd.Series:
    """Per entry: a ';'-list of 'code=label' (missing entries pass)."""
    def ok(value: object) -> bool:
        try:
            parse_value_labels(value)
        except ValueError:
            return False
        return True

    return series.map(ok).astype(bool)


def waves_are_known(series: pd.Series) -> pd.Series:
    """Per entry: a ';'-list of known waves (missing entries pass)."""
    return series.map(lambda v: pd.isna(v) or set(_split_list(v)) <= set(WAVES)).astype(bool)


def _build_schemas() -> dict[str, Any]:
    """The pandera schemas, built on first use (see `__getattr__`)."""
    import pandera.pandas as pa

    _id = dict(checks=pa.Check.str_matches(ID_PATTERN))

    # --- raw tables ---------------------------------------------------------------

    CASES = pa.DataFrameSchema(
        {
            "case_id": pa.Column(str, unique=True, description="Short identifier of the case study, e.g. 'slotervaart'.", **_id),
            "name": pa.Column(str, description="Display name of the case."),
            "city": pa.Column(str, description="Municipality (e.g. Amsterdam, Zaanstad)."),
            "neighbourhood": pa.Column(str, description="Neighbourhood (e.g. Slotervaart, Poelenburg)."),
            "partner_org_type": pa.Column(str, nullable=True, description="Kind of migrant organisation(s) involved (e.g. mosque association, women's group)."),
            "intervention_start": pa.Column(
                "datetime64[us]",
                description="Date the joint positive goal was set; months in the activity log are counted from here.",
            ),
            "description": pa.Column(str, nullable=True, required=False, description="Free text about the case."),
        },
        name="cases",
        description="One row per case study.",
        strict=False,
    )

    PARTICIPANTS = pa.DataFrameSchema(
        {
            "participant_id": pa.Column(str, unique=True, description="Pseudonym of the participant (never a name or e-mail address).", **_id),
            "case_id": pa.Column(str, description="Case the participant belongs to (must exist in cases).", **_id),
            "role": pa.Column(str, pa.Check.isin(ROLES), description="One of: " + ", ".join(ROLES) + "."),
            "organisation": pa.Column(str, nullable=True, description="Organisation (youth team, named migrant organisation); may be a code."),
            "gender": pa.Column(str, nullable=True, required=False, description="Optional demographic."),
            "age_group": pa.Column(str, nullable=True, required=False, description="Optional demographic, e.g. '30-44'."),
            "language": pa.Column(str, nullable=True, required=False, description="Optional: language of the interview/survey (nl, tr, ar, ...)."),
            "name": pa.Column(
                str,
                nullable=True,
                required=False,
                description="Optional: name(s) by which the participant may appear in interview text. Used only to redact "
                "quotes to [NAAM]; never copied to processed data or reports.",
            ),
        },
        name="participants",
        description="One row per participant.",
        strict=False,
    )

    INSTRUMENT = pa.DataFrameSchema(
        {
            "item_id": pa.Column(str, unique=True, description="Identifier of the survey item.", **_id),
            "scale": pa.Column(str, description="Scale the item belongs to (e.g. trust, own_willingness).", **_id),
            "wording_nl": pa.Column(str, description="Item wording in Dutch."),
            "wording_en": pa.Column(str, description="Item wording in English."),
            "response_min": pa.Column(int, description="Lowest allowed response value."),
            "response_max": pa.Column(int, description="Highest allowed response value."),
            "reverse_coded": pa.Column(bool, description="True when a high answer means less of the construct."),
            "roles": pa.Column(
                str,
                pa.Check(roles_are_known, error="roles must be a ';'-separated list of " + ", ".join(ROLES)),
                description="Roles that answer this item, ';'-separated (e.g. 'professional;migrant_org').",
            ),
            "waves": pa.Column(
                str,
                pa.Check(waves_are_known, error="waves must be a ';'-separated list of " + ", ".join(WAVES)),
                nullable=True,
                required=False,
                description="Waves in which the item is asked, ';'-separated; empty means all waves.",
            ),
            "level": pa.Column(
                str,
                pa.Check.isin(MEASUREMENT_LEVELS),
                nullable=True,
                required=False,
                description="Measurement level: ordinal (Likert, default), nominal (categories) or interval.",
            ),
            "value_labels": pa.Column(
                str,
                nullable=True,
                required=False,
                description="Optional labels as '1=label;2=label' (from SPSS value labels when read from .sav).",
            ),
            "value_labels_nl": pa.Column(
                str,
                pa.Check(labels_are_pairs, error="value_labels_nl must look like '1=label;2=label'"),
                nullable=True,
                required=False,
                description="Optional Dutch labels of the same codes, '1=label;2=label': Dutch reports show them instead of "
                "value_labels (a code without one: the glossary's Dutch name). Display only; no statistic uses them.",
            ),
            "missing_codes": pa.Column(
                str,
                pa.Check(codes_are_numbers, error="missing_codes must be a ';'-separated list of numbers, e.g. '99;-9'"),
                nullable=True,
                required=False,
                description="Optional: numbers that mean 'missing' in this item's answers, ';'-separated (e.g. '99;-9'); "
                "prepare turns them into empty values.",
            ),
        },
        checks=[
            pa.Check(
                lambda df: df["response_min"] < df["response_max"],
                name="response_min_below_max",
                error="response_min must be below response_max",
            )
        ],
        name="instrument",
        description="The item bank: one row per survey item.",
        strict=False,
    )

    SURVEY_RESPONSES = pa.DataFrameSchema(
        {
            "participant_id": pa.Column(str, description="Participant (must exist in participants).", **_id),
            "wave": pa.Column(str, pa.Check.isin(WAVES), description="Wave: " + ", ".join(f"{w} = {WAVE_LABELS[w]}" for w in WAVES) + "."),
            "response_date": pa.Column("datetime64[us]", nullable=True, description="Date the questionnaire was filled in."),
            "item_id": pa.Column(str, description="Item (must exist in instrument).", **_id),
            "value": pa.Column(float, nullable=True, description="Response; empty when missing. Must lie within the item's range."),
            "missing_reason": pa.Column(
                str,
                pa.Check.isin(MISSING_REASONS),
                nullable=True,
                required=False,
                description="Optional reason for a missing value: " + ", ".join(MISSING_REASONS) + ".",
            ),
        },
        unique=["participant_id", "wave", "item_id"],
        name="survey_responses",
        description="Long format: one row per participant x wave x item.",
        strict=False,
    )

    ACTIVITY_LOG = pa.DataFrameSchema(
        {
            "case_id": pa.Column(str, description="Case (must exist in cases).", **_id),
            "date": pa.Column(
                "datetime64[us]",
                description="Date of the event, or the first day of the month when only monthly totals are kept "
                "(a 'month' column as YYYY-MM is read into this column).",
            ),
            "event_type": pa.Column(str, pa.Check.isin(EVENT_TYPES), description="One of: " + ", ".join(EVENT_TYPES) + "."),
            "count": pa.Column(int, pa.Check.ge(0), description="Number of events (or parents attending) on that date; not negative."),
        },
        name="activity_log",
        description="Process counts: one row per case x date (or month) x event type.",
        strict=False,
    )

    CODED_SEGMENTS = pa.DataFrameSchema(
        {
            "document_id": pa.Column(str, description="Interview or document identifier.", **_id),
            "participant_id": pa.Column(str, nullable=True, description="Participant interviewed (pseudonym); empty for group documents."),
            "case_id": pa.Column(str, description="Case (must exist in cases).", **_id),
            "wave": pa.Column(str, pa.Check.isin(WAVES), nullable=True, description="Wave of the interview, when it belongs to one."),
            "coder": pa.Column(str, description="Who applied the code (pseudonym or initials)."),
            "code": pa.Column(str, description="Code applied (must exist in codebook)."),
            "start": pa.Column(int, pa.Check.ge(0), description="Start of the selection, characters from the start of the document."),
            "end": pa.Column(int, pa.Check.ge(0), description="End of the selection (exclusive); not before start."),
            "text": pa.Column(str, nullable=True, description="The selected text (quote)."),
            "position_unit": pa.Column(
                str,
                pa.Check.isin(POSITION_UNITS),
                nullable=True,
                required=False,
                description="What start and end count: 'character' (empty or absent means characters) or 'paragraph' "
                "(written by qda-import for MAXQDA / ATLAS.ti coded-segment tables, which give paragraph numbers).",
            ),
        },
        checks=[pa.Check(lambda df: df["end"] >= df["start"], name="end_not_before_start", error="end must not lie before start")],
        name="coded_segments",
        description="One row per coded text selection per coder.",
        strict=False,
    )

    CODEBOOK = pa.DataFrameSchema(
        {
            "code": pa.Column(str, unique=True, description="Code name."),
            "theme": pa.Column(str, nullable=True, description="Parent theme the code belongs to."),
            "definition": pa.Column(str, nullable=True, description="When to apply the code (English)."),
            "definition_nl": pa.Column(str, nullable=True, required=False, description="When to apply the code (Dutch)."),
            "construct": pa.Column(
                str,
                nullable=True,
                description="Study construct the code speaks to (trust, perception_gap, expectation_mismatch, safe_space, help_seeking, ...).",
            ),
            # issue 16: the code tree kept whole (filled by the REFI-QDA and vendor-table imports)
            "code_id": pa.Column(str, nullable=True, required=False, description="The code's path as an identifier (samenwerking/vertrouwen), the same in every export of the tree."),
            "parent_id": pa.Column(str, nullable=True, required=False, description="code_id of the level above (a code or a folder); empty at the top level."),
            "path": pa.Column(str, nullable=True, required=False, description="Every level from the top down to the code, joined with ' / '."),
            "depth": pa.Column(int, pa.Check.ge(1), nullable=True, required=False, description="Level of the code in the tree: 1 at the top."),
            "codable": pa.Column(bool, nullable=True, required=False, description="False for a folder of the QDA program that holds codings."),
        },
        name="codebook",
        description="One row per code.",
        strict=False,
    )


    DOCUMENTS = pa.DataFrameSchema(
        {
            "document_id": pa.Column(str, unique=True, description="Interview or document identifier (as in coded_segments).", **_id),
            "case_id": pa.Column(str, description="Case (must exist in cases).", **_id),
            "participant_id": pa.Column(str, nullable=True, description="Participant interviewed (pseudonym); empty for group documents."),
            "wave": pa.Column(str, pa.Check.isin(WAVES), nullable=True, description="Wave of the interview, when it belongs to one."),
            "language": pa.Column(str, nullable=True, required=False, description="Language of the text (nl, tr, ar, ...)."),
            "text": pa.Column(
                str,
                description="Full plain text of the document; coded_segments start/end count characters in this text "
                "(line breaks as a single newline).",
            ),
        },
        name="documents",
        description="One row per interview transcript, with its full text (needed for REFI-QDA export and to check "
        "segment offsets).",
        strict=False,
    )

    MEMOS = pa.DataFrameSchema(
        {
            "memo_id": pa.Column(str, unique=True, description="Memo identifier (memo_001, ... in the order of the project file).", **_id),
            "annotates": pa.Column(str, pa.Check.isin(MEMO_KINDS), description="What the memo is about: " + ", ".join(MEMO_KINDS) + "."),
            "document_id": pa.Column(str, nullable=True, description="Document the memo belongs to (document, selection and coding memos)."),
            "code": pa.Column(str, nullable=True, description="Code the memo belongs to (code and coding memos)."),
            "start": pa.Column(int, pa.Check.ge(0), nullable=True, description="Start of the selection a selection or coding memo belongs to (characters, as in coded_segments)."),
            "end": pa.Column(int, pa.Check.ge(0), nullable=True, description="End of that selection (exclusive)."),
            "author": pa.Column(str, nullable=True, description="User who wrote the memo, as the coder column."),
            "created": pa.Column(str, nullable=True, description="When it was written, as exported (ISO 8601)."),
            "title": pa.Column(str, nullable=True, description="The note's name, if it has one."),
            "text": pa.Column(str, nullable=True, description="The memo; names, e-mail addresses and phone numbers are redacted in the processed table, as in interview texts."),
        },
        name="memos",
        description="Project notes, code memos, document memos and comments on selections and codings from a REFI-QDA "
        "project (the audit trail); only present when the project has any.",
        strict=False,
    )

    # issue 14: display labels of roles and waves, where the evaluator gives them (the words tables' otherwise)
    def display_labels(kind: str, known: tuple[str, ...], table: str, example: str, shown: str) -> pa.DataFrameSchema:
        return pa.DataFrameSchema(
            {
                kind: pa.Column(str, pa.Check.isin(known), unique=True, description=f"The {kind} these labels name: one of " + ", ".join(known) + "."),
                "label": pa.Column(str, nullable=True, description=f"How English reports name the {kind}{example} (empty: the package's own name)."),
                "label_nl": pa.Column(str, nullable=True, required=False, description=f"How Dutch reports name the {kind}{example} (empty: the package's own name)."),
            },
            name=table,
            description=f"Optional display labels of the {table}{shown}, shown in every table, figure and sentence of the reports; "
            f"the data keep the {kind} ids. A {kind} not listed keeps the package's name.",
            strict=False,
        )

    ROLE_LABELS = display_labels("role", ROLES, "roles", "", "")
    WAVE_LABELS_TABLE = display_labels("wave", WAVES, "waves", ", e.g. 'intake'", " (e.g. the month of each measurement)")

    return {
        "ROLE_LABELS": ROLE_LABELS,
        "WAVE_LABELS_TABLE": WAVE_LABELS_TABLE,
        "MEMOS": MEMOS,
        "CASES": CASES,
        "PARTICIPANTS": PARTICIPANTS,
        "INSTRUMENT": INSTRUMENT,
        "SURVEY_RESPONSES": SURVEY_RESPONSES,
        "ACTIVITY_LOG": ACTIVITY_LOG,
        "CODED_SEGMENTS": CODED_SEGMENTS,
        "CODEBOOK": CODEBOOK,
        "DOCUMENTS": DOCUMENTS,
    }


# Frame-level checks involve two columns; the validator reports a failure on this one.
FRAME_CHECK_COLUMN = {"response_min_below_max": "response_max", "end_not_before_start": "end"}


@dataclass(frozen=True)
class TableSpec:
    """A raw table: its schema, the file stem it is read from, and whether it must exist."""

    name: str
    schema: "pa.DataFrameSchema"
    required: bool = True
    key: tuple[str, ...] = field(default_factory=tuple)


def _build_tables(schemas: dict[str, Any]) -> dict[str, TableSpec]:
    return {
        spec.name: spec
        for spec in (
            TableSpec("cases", schemas["CASES"], True, ("case_id",)),
            TableSpec("participants", schemas["PARTICIPANTS"], True, ("participant_id",)),
            TableSpec("instrument", schemas["INSTRUMENT"], True, ("item_id",)),
            TableSpec("survey_responses", schemas["SURVEY_RESPONSES"], True, ("participant_id", "wave", "item_id")),
            TableSpec("activity_log", schemas["ACTIVITY_LOG"], False, ()),
            TableSpec("coded_segments", schemas["CODED_SEGMENTS"], False, ()),
            TableSpec("codebook", schemas["CODEBOOK"], False, ("code",)),
            TableSpec("documents", schemas["DOCUMENTS"], False, ("document_id",)),
            TableSpec("memos", schemas["MEMOS"], False, ("memo_id",)),
            TableSpec("roles", schemas["ROLE_LABELS"], False, ("role",)),
            TableSpec("waves", schemas["WAVE_LABELS_TABLE"], False, ("wave",)),
        )
    }


# The pandera schemas and TABLES (the data dictionary) are built when first asked for:
# `pandera` takes ~0.5 s to import, and the vocabulary above (ROLES, WAVES, ...) is what
# notebooks and the analyses need from this module. `schema.TABLES` and `from .schema
# import TABLES` work as before.
_LAZY: dict[str, Any] = {}
_LAZY_NAMES = frozenset({"CASES", "PARTICIPANTS", "INSTRUMENT", "SURVEY_RESPONSES", "ACTIVITY_LOG",
                         "CODED_SEGMENTS", "CODEBOOK", "DOCUMENTS", "MEMOS", "ROLE_LABELS", "WAVE_LABELS_TABLE", "TABLES"})


def __getattr__(name: str) -> Any:
    if name not in _LAZY_NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if not _LAZY:
        schemas = _build_schemas()
        _LAZY.update(schemas, TABLES=_build_tables(schemas))
    return _LAZY[name]


TABLES: dict[str, TableSpec]
"""Every raw table, in the order they are read and documented (built on first use)."""


def required_columns(table: str) -> list[str]:
    return [name for name, col in __getattr__("TABLES")[table].schema.columns.items() if col.required]


def optional_columns(table: str) -> list[str]:
    return [name for name, col in __getattr__("TABLES")[table].schema.columns.items() if not col.required]
