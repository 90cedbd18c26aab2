"""Check a raw folder and report ALL problems at once.

Three layers, each reporting the file, the spreadsheet row (header = 1), the
column, the value found and the rule:

1. reading and typing (`ponzoni_eval.data.read`): unreadable files, missing
   required tables/columns, cells that are not a number/date/yes-no;
2. the schema of each table (`ponzoni_eval.data.schema`, pandera ``lazy=True``):
   allowed values, identifiers, uniqueness, required values, ranges;
3. the rules between tables, listed in `CROSS_TABLE_RULES` (and in the data
   dictionary): every id refers to something that exists, answers fit the
   item, dates are plausible, ...

Tables imported from a REFI-QDA project (see `ponzoni_eval.data.read`) are checked
like any other; their problems name ``project.qdpx (table)`` as the file, a
row counted in the project, and the document and selection the row comes
from.

Errors stop ``prepare``; warnings are shown and do not. No check loops over
rows in Python: every rule is a vectorised mask, so 300 sites validate in
seconds.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import pandera.pandas as pa

from ponzoni_eval._core.errors import DataError, Problem, problems_frame
from ponzoni_eval.data import schema
from ponzoni_eval.data.read import cell_problems, MAX_PROBLEMS_PER_RULE, RawData, read_raw_dir, to_categorical
from ponzoni_eval.integrate.map import MAP_FILENAME, load_integration_map
from ponzoni_eval.integrate.plan import PLAN_FILENAME, check_plan_against_map, load_analysis_plan
from ponzoni_eval.integrate.overrides import OVERRIDES_FILENAME, read_overrides
from ponzoni_eval.privacy.names import check_pseudonyms, looks_like_name_or_email

__all__ = ["ValidationReport", "validate_dir", "validate_raw", "print_report", "print_problems", "CROSS_TABLE_RULES", "EARLIEST_DATE"]

EARLIEST_DATE = pd.Timestamp("1990-01-01")
"""Dates before this are taken to be typing errors (the study runs 2013-2018)."""

YEARS_BEFORE_START = 3
YEARS_AFTER_START = 5
"""Survey and activity dates further than this from the case's intervention_start are flagged (warning)."""

CROSS_TABLE_RULES: dict[str, str] = {
    "case_exists": "Every case_id in participants, activity_log, coded_segments and documents is listed in cases.",
    "participant_exists": "Every participant_id in survey_responses, coded_segments and documents is listed in participants.",
    "participant_case": "A coded segment's or document's participant belongs to the case given on that row.",
    "item_exists": "Every item_id in survey_responses is listed in instrument.",
    "role_may_answer": "A participant only answers items whose instrument `roles` include the participant's role.",
    "wave_asked": "An item is only answered in the waves listed in its instrument `waves` (empty = all waves).",
    "value_in_range": "A survey value lies within the item's response_min..response_max, unless it is one of the item's "
    "declared missing_codes; a value like 99, 999 or -9 outside the range is called a likely missing-value code.",
    "reverse_coding": "Within a scale of three or more items, no item correlates negatively with the mean of the other "
    "items once reverse_coded items are turned round (warning: the item is probably reverse coded, or wrongly marked so).",
    "whole_number_answer": "Answers to ordinal and nominal items (the default level is ordinal) are whole numbers.",
    "date_plausible": f"Dates lie between {EARLIEST_DATE.date()} and today.",
    "date_near_case": f"Survey and activity dates lie between {YEARS_BEFORE_START} years before and "
    f"{YEARS_AFTER_START} years after the case's intervention_start (warning: check the year).",
    "codebook_present": "When coded_segments are given, a codebook is given too.",
    "code_exists": "Every code in coded_segments is listed in the codebook.",
    "document_exists": "When documents are given, every coded segment's document_id is listed there.",
    "segment_within_document": "A coded segment ends within its document's text (end <= length of the text).",
    "segment_text_length": "A segment's quoted text is not longer than its start..end span (warning: offsets drifted).",
    "all_values_missing": "A participant with survey rows has at least one answered value (warning).",
    "pseudonym": "Identifiers are pseudonyms (warning): a participant_id that contains '@' (an e-mail address), "
    "matches the participant's `name`, has no digit and reads like a capitalised name such as 'Fatima' or "
    "'Jan.deVries', or looks like a name to `privacy.looks_like_name_or_email` (two capitalised words, a "
    "common first name) is flagged; so is a document_id or coder that looks like a name or e-mail address.",
}
"""Rules between tables (and a few within a table that pandera cannot express), by rule name."""

# Rules of the reading/typing layer: a schema failure on the same cell would only repeat them.
_TYPING_RULES = frozenset({"yes_no", "date", "number", "whole_number", "required_column", "value_label",
                           "thousands_separator", "number_too_large"})

_NAME_LIKE_ID = r"^[A-Z][a-z]+(?:[._\-]?(?:[A-Z][a-z]+|[a-z]{2,}))*$"


@dataclass
class ValidationReport:
    """The outcome of `validate_dir`.

    Attributes
    ----------
    problems : DataFrame
        Every error and warning, columns `errors.PROBLEM_COLUMNS`.
    data : dict or None
        The typed tables (index = spreadsheet row) when there is no error.
    raw : RawData
        What was read (files, dataset metadata, REFI-QDA files).
    """

    problems: pd.DataFrame
    data: dict[str, pd.DataFrame] | None
    raw: RawData = field(repr=False)

    @property
    def n_errors(self) -> int:
        return int((self.problems["severity"] == "error").sum())

    @property
    def n_warnings(self) -> int:
        return int((self.problems["severity"] == "warning").sum())

    @property
    def ok(self) -> bool:
        return self.n_errors == 0


def validate_dir(path: Path | str) -> ValidationReport:
    """Read and check every table in a raw folder; never raises for a problem in the data.

    Examples
    --------
    >>> report = validate_dir("data/raw/example")  # doctest: +SKIP
    >>> report.ok, report.n_errors  # doctest: +SKIP
    (True, 0)
    """
    return validate_raw(read_raw_dir(path))


def validate_raw(raw: RawData) -> ValidationReport:
    """Check tables already read by `io.read_raw_dir` (see `validate_dir`)."""
    problems = _with_integration_files(list(raw.problems), raw)
    for table, frame in raw.tables.items():
        problems += _schema_problems(frame, table, raw.source_name(table))
    problems += _CrossTable(raw).run()
    problems = _with_import_locations(_without_repeats(_with_item_ranges(problems, raw)), raw)
    frame = problems_frame(problems)
    ok = not (frame["severity"] == "error").any()
    return ValidationReport(frame, dict(raw.tables) if ok else None, raw)


def _with_integration_files(problems: list[Problem], raw: RawData) -> list[Problem]:
    """Check the evaluator's integration files: ``integration_map.toml``, ``analysis_plan.toml`` and ``integration_overrides.csv``.

    Both are optional side files of a raw folder (see `ponzoni_eval.integrate`
    and docs/integration.md); `prepare` carries them into the processed data.
    The reader lists any unknown CSV as "not a known table"; the overrides
    file is known, so that warning is replaced by the file's own check.
    """
    kept = [p for p in problems if not (p.rule == "unknown_file" and p.file == OVERRIDES_FILENAME)]
    try:
        integration_map = load_integration_map(raw.root)  # the folder's own map, else the package default
    except DataError as exc:
        return kept + [_named_problem(exc)]
    except Exception as exc:  # not UTF-8, unreadable: the file and the reason, never a traceback (issue 19)
        return kept + [_side_file_problem(raw.root / MAP_FILENAME, exc, "integration_map")]
    try:
        check_plan_against_map(load_analysis_plan(raw.root), integration_map)  # the folder's analysis_plan.toml, else the package's
    except DataError as exc:
        kept.append(_named_problem(exc))
    except Exception as exc:  # not UTF-8, unreadable: the file and the reason, never a traceback
        kept.append(_side_file_problem(raw.root / PLAN_FILENAME, exc, "analysis_plan"))
    overrides = raw.root / OVERRIDES_FILENAME
    cases = raw.tables.get("cases")
    if not overrides.is_file() or cases is None or "case_id" not in cases.columns:
        return kept
    try:
        # Pooled results carry case_id "all"; an evaluator may override their row too.
        read_overrides(overrides, constructs=integration_map.names, cases=[*cases["case_id"].dropna().astype(str), "all"])
    except DataError as exc:
        problem = exc.as_problem()
        kept.append(Problem(problem.severity, OVERRIDES_FILENAME, problem.row, problem.column, problem.value, "integration_overrides", problem.message))
    except Exception as exc:  # not UTF-8, empty, rows that do not line up
        kept.append(_side_file_problem(overrides, exc, "integration_overrides"))
    return kept


def _named_problem(exc: DataError) -> Problem:
    """A settings file's problem as a row of the table: the file's name, like every other row (not its folder)."""
    problem = exc.as_problem()
    return Problem(problem.severity, Path(problem.file).name if problem.file else None, problem.row, problem.column,
                   problem.value, problem.rule, problem.message)


def _side_file_problem(path: Path, exc: Exception, rule: str) -> Problem:
    """An optional evaluator file that cannot be read: one error naming the file and the reason."""
    if isinstance(exc, UnicodeDecodeError):
        reason = (f"is not UTF-8 text (byte {exc.start:,} cannot be read; Windows-1252 perhaps); save it as UTF-8 "
                  "('CSV UTF-8' in Excel, UTF-8 in a text editor)")
    elif isinstance(exc, pd.errors.EmptyDataError):
        reason = "the file is empty (not even a header row); delete it or give the header and rows"
    elif isinstance(exc, pd.errors.ParserError):
        reason = f"rows do not line up with the header ({exc}); a separator inside a value must be quoted"
    elif isinstance(exc, OSError):
        reason = f"cannot be read ({exc.strerror or exc})"
    else:
        reason = f"cannot be read ({type(exc).__name__}: {exc})"
    return Problem("error", path.name, None, None, None, rule, reason)


def _without_repeats(problems: list[Problem]) -> list[Problem]:
    """Drop schema findings on a cell whose typing already failed (an unreadable cell is also 'missing')."""
    unreadable = {(p.file, p.row, p.column) for p in problems if p.rule in _TYPING_RULES}
    kept, seen = [], set()
    for problem in problems:
        key = (problem.file, problem.row, problem.column)
        if problem.rule not in _TYPING_RULES and key in unreadable:
            continue
        identity = (problem.severity, problem.file, problem.row, problem.column, problem.rule, problem.message)
        if identity not in seen:
            seen.add(identity)
            kept.append(problem)
    return kept


def _with_import_locations(problems: list[Problem], raw: RawData) -> list[Problem]:
    """Say where a row of a table imported from a REFI-QDA project is (document, selection, coder).

    Such rows have no spreadsheet row: their number counts codings, codes or
    text sources in the project file from 1 (see `ponzoni_eval.data.read`).
    """
    labels = {raw.source_name(table): rows for table, rows in raw.row_labels.items()}
    if not labels:
        return problems
    located = []
    for problem in problems:  # only the (capped) problems, not the data
        rows = labels.get(problem.file)
        if rows is not None and problem.row in rows.index:
            problem = dataclasses.replace(problem, message=f"{problem.message} [{rows[problem.row]}]")
        located.append(problem)
    return located


def _with_item_ranges(problems: list[Problem], raw: RawData) -> list[Problem]:
    """Say which numbers the item allows when a survey value could not be read ('vier' -> 1..5)."""
    responses, items = raw.tables.get("survey_responses"), raw.tables.get("instrument")
    if responses is None or items is None or "item_id" not in responses or not {"item_id", "response_min", "response_max"} <= set(items):
        return problems
    file = raw.files["survey_responses"].name
    items = items.drop_duplicates("item_id").set_index("item_id")
    enriched = []
    for problem in problems:  # only the (capped) unreadable cells, not the data
        item = responses.at[problem.row, "item_id"] if problem.rule == "number" and problem.file == file and problem.row in responses.index else None
        if item in items.index:
            level = items.at[item, "level"] if "level" in items.columns else None
            kind = "a number" if level == "interval" else "a whole number"
            low, high = items.at[item, "response_min"], items.at[item, "response_max"]
            problem = Problem(problem.severity, file, problem.row, problem.column, problem.value, problem.rule, f"cannot be read as a number; expected {kind} {low}..{high} (item '{item}')")
        enriched.append(problem)
    return enriched


# --- schema (pandera) ------------------------------------------------------------------


def _lenient_schema(spec: schema.TableSpec, columns: Sequence[str]) -> pa.DataFrameSchema:
    """The table's schema without dtype checks (io typed the columns and reported bad cells) for present columns."""
    original = spec.schema
    present = [c for c in original.columns if c in columns]
    complete = all(c in columns for c in original.columns if original.columns[c].required)
    checks = original.checks if complete else []
    unique = original.unique if original.unique and all(c in columns for c in original.unique) else None
    relaxed = original.update_columns({name: {"dtype": None} for name in present})
    return pa.DataFrameSchema(
        {name: relaxed.columns[name] for name in present},
        checks=checks,
        unique=unique,
        strict=False,
        name=original.name,
    )


def _check_message(check: str, column: str) -> tuple[str, str]:
    """(rule, message) for a pandera check name."""
    if check == "not_nullable":
        return "required_value", "a value is required here (the cell is empty)"
    if check.startswith("isin"):
        allowed = _ALLOWED.get(column)
        return "allowed_values", "must be one of: " + (", ".join(allowed) if allowed else check)
    if check.startswith("str_matches"):
        return "identifier", "must be an identifier: letters, digits, '_', '.' or '-', no spaces (use a pseudonym, not a name)"
    if check.startswith("greater_than_or_equal_to"):
        return "not_negative", "must not be negative"
    return "schema", check


_ALLOWED = {
    "role": schema.ROLES,
    "wave": schema.WAVES,
    "event_type": schema.EVENT_TYPES,
    "missing_reason": schema.MISSING_REASONS,
    "level": schema.MEASUREMENT_LEVELS,
}


def _schema_problems(frame: pd.DataFrame, table: str, file: str) -> list[Problem]:
    spec = schema.TABLES[table]
    checker = _lenient_schema(spec, frame.columns)
    try:
        checker.validate(frame, lazy=True)
        return []
    except pa.errors.SchemaErrors as exc:
        failures = exc.failure_cases
    problems: list[Problem] = []
    uniqueness = failures["check"].isin(["field_uniqueness", "multiple_fields_uniqueness"])
    for key in _duplicate_keys(failures[uniqueness], spec):
        problems += _duplicate_problems(frame, list(key), file)
    frame_level = (failures["schema_context"] == "DataFrameSchema") & ~uniqueness
    for check_number, group in failures[frame_level].groupby("check_number", sort=True):
        check = checker.checks[int(check_number)]
        column = schema.FRAME_CHECK_COLUMN.get(check.name, group["column"].iloc[0])
        rows = pd.Index(group["index"].drop_duplicates())
        problems += cell_problems(file, rows, column, frame.loc[rows, column], rule=check.name or "schema", message=check.error or check.name)
    column_level = failures[~frame_level & ~uniqueness]
    for (column, check), group in column_level.groupby(["column", "check"], sort=True):
        rule, message = _check_message(str(check), str(column))
        problems += cell_problems(file, group["index"], str(column), group["failure_case"], rule=rule, message=message)
    return problems


def _duplicate_keys(failures: pd.DataFrame, spec: schema.TableSpec) -> list[tuple[str, ...]]:
    keys = []
    if (failures["check"] == "multiple_fields_uniqueness").any():
        keys.append(tuple(spec.schema.unique))
    for column in failures.loc[failures["check"] == "field_uniqueness", "column"].unique():
        keys.append((column,))
    return keys


def _duplicate_problems(frame: pd.DataFrame, key: list[str], file: str) -> list[Problem]:
    """Later repeats of a key, each pointing at the first row with the same key."""
    repeated = frame.duplicated(subset=key, keep="first") & frame[key].notna().all(axis=1)
    if not repeated.any():
        return []
    rows = frame.index.to_series()
    first_row = rows.groupby([frame[c] for c in key], dropna=True, observed=True).transform("min")
    shown = frame.loc[repeated, key].astype("str").agg(" / ".join, axis=1)
    details = [f" (same as row {r})" for r in first_row[repeated].iloc[:MAX_PROBLEMS_PER_RULE]]
    label = " / ".join(key)
    return cell_problems(
        file,
        frame.index[repeated],
        ", ".join(key),
        shown,
        rule="duplicate",
        message=f"duplicate {label}: each may appear only once",
        details=details,
    )


# --- between tables ----------------------------------------------------------------------


class _CrossTable:
    """The rules of `CROSS_TABLE_RULES`, each a vectorised mask over one table.

    Id columns are looked up through their categorical codes (`categorical`,
    `lookup`), so a million survey rows cost one hashing pass per column, not
    one per rule.
    """

    def __init__(self, raw: RawData) -> None:
        self.raw = raw
        self.tables = raw.tables
        self.problems: list[Problem] = []
        self._categoricals: dict[tuple[str, str], pd.Series] = {}

    def has(self, table: str, *columns: str) -> bool:
        return table in self.tables and all(c in self.tables[table].columns for c in columns)

    def categorical(self, table: str, column: str) -> pd.Series:
        key = (table, column)
        if key not in self._categoricals:
            self._categoricals[key] = to_categorical(self.tables[table][column])
        return self._categoricals[key]

    def lookup(self, table: str, column: str, mapping: pd.Series) -> pd.Series:
        """``mapping[frame[column]]`` per row (missing where the key is missing or unknown)."""
        keys = self.categorical(table, column)
        per_category = mapping[~mapping.index.duplicated()].reindex(keys.cat.categories)
        codes = keys.cat.codes.to_numpy()
        if len(per_category) == 0:
            return pd.Series(np.nan, index=keys.index)
        values = pd.Series(per_category.to_numpy()[np.maximum(codes, 0)], index=keys.index)
        return values.where(codes >= 0)

    def mapping(self, table: str, key: str, value: str) -> pd.Series:
        frame = self.tables[table]
        return frame.drop_duplicates(key).set_index(key)[value]

    def flag(self, table, mask, column, *, rule, message, severity="error", details=None) -> None:
        frame = self.tables[table]
        mask = pd.Series(mask, index=frame.index).fillna(False).astype(bool)
        if not mask.any():
            return
        values = frame.loc[mask, column] if column in frame.columns else pd.Series(None, index=frame.index[mask])
        if callable(details):
            details = details(frame.loc[mask].iloc[:MAX_PROBLEMS_PER_RULE])
        self.problems += cell_problems(
            self.raw.source_name(table), frame.index[mask], column, values, rule=rule, message=message, severity=severity, details=details
        )

    def run(self) -> list[Problem]:
        self.references()
        self.participant_case()
        self.survey_against_instrument()
        self.reverse_coding()
        self.dates()
        self.coding()
        self.all_values_missing()
        self.pseudonyms()
        return self.problems

    # each id points at something that exists
    def references(self) -> None:
        links = [
            ("participants", "case_id", "cases", "case_id", "case_exists"),
            ("activity_log", "case_id", "cases", "case_id", "case_exists"),
            ("coded_segments", "case_id", "cases", "case_id", "case_exists"),
            ("documents", "case_id", "cases", "case_id", "case_exists"),
            ("survey_responses", "participant_id", "participants", "participant_id", "participant_exists"),
            ("coded_segments", "participant_id", "participants", "participant_id", "participant_exists"),
            ("documents", "participant_id", "participants", "participant_id", "participant_exists"),
            ("survey_responses", "item_id", "instrument", "item_id", "item_exists"),
            ("coded_segments", "code", "codebook", "code", "code_exists"),
            ("coded_segments", "document_id", "documents", "document_id", "document_exists"),
        ]
        for table, column, target, target_column, rule in links:
            if not (self.has(table, column) and self.has(target, target_column)):
                continue
            values = self.categorical(table, column)
            unknown = values.notna() & ~values.isin(self.tables[target][target_column].dropna().unique())
            self.flag(table, unknown, column, rule=rule, message=f"not listed in {self.raw.source_name(target)} (column '{target_column}')")
        # With a project in the folder, the missing codebook is part of the conflict reported about the project.
        if "coded_segments" in self.tables and "codebook" not in self.tables and self.raw.qda_project is None and not any(
            path.suffix.lower() in (".qdpx", ".qde") for path in self.raw.qda_files
        ):
            self.problems.append(
                Problem("error", "codebook.csv", None, "code", None, "codebook_present", "coded_segments are given but the codebook is missing; add codebook.csv (code, theme, definition, construct)")
            )

    def participant_case(self) -> None:
        if not self.has("participants", "participant_id", "case_id"):
            return
        case_of = self.mapping("participants", "participant_id", "case_id")
        if self.has("cases", "case_id"):  # a participant in an unknown case is reported once, in participants
            case_of = case_of[case_of.isin(self.tables["cases"]["case_id"].dropna())]
        for table in ("coded_segments", "documents"):
            if not self.has(table, "participant_id", "case_id"):
                continue
            frame = self.tables[table]
            expected = self.lookup(table, "participant_id", case_of)
            wrong = expected.notna() & frame["case_id"].notna() & (expected != frame["case_id"].astype("str"))
            self.flag(
                table,
                wrong,
                "case_id",
                rule="participant_case",
                message="the participant belongs to another case",
                details=lambda rows: [f" (participants lists '{case_of[p]}')" for p in rows["participant_id"]],
            )

    # survey answers fit the item
    def survey_against_instrument(self) -> None:
        if not (self.has("survey_responses", "participant_id", "item_id", "wave", "value") and self.has("instrument", "item_id")):
            return
        responses = self.tables["survey_responses"]
        items = self.tables["instrument"].drop_duplicates("item_id").set_index("item_id")
        item = self.categorical("survey_responses", "item_id")
        item_codes = item.cat.codes.to_numpy()
        listed = items.reindex(item.cat.categories)  # one row per item category, NaN where not in instrument
        known_item = (item_codes >= 0) & item.isin(items.index).to_numpy()
        if self.has("participants", "participant_id", "role") and "roles" in items.columns:
            role = self.lookup("survey_responses", "participant_id", self.mapping("participants", "participant_id", "role"))
            role_codes = pd.Index(schema.ROLES).get_indexer(role)  # -1: unknown role (reported by the schema)
            allowed = _membership(listed["roles"], schema.ROLES, empty_means_all=False)
            not_allowed = known_item & (role_codes >= 0) & ~allowed[np.maximum(item_codes, 0), np.maximum(role_codes, 0)]
            self.flag(
                "survey_responses",
                not_allowed,
                "item_id",
                rule="role_may_answer",
                message="the participant's role may not answer this item",
                details=lambda rows: [f" (role '{r}'; the item is for: {items.at[i, 'roles']})" for i, r in zip(rows["item_id"], role[rows.index])],
            )
        if "waves" in items.columns:
            wave_codes = pd.Index(schema.WAVES).get_indexer(responses["wave"])
            asked = _membership(listed["waves"], schema.WAVES, empty_means_all=True)
            not_asked = known_item & (wave_codes >= 0) & ~asked[np.maximum(item_codes, 0), np.maximum(wave_codes, 0)]
            self.flag(
                "survey_responses",
                not_asked,
                "wave",
                rule="wave_asked",
                message="this item is not asked in this wave",
                details=lambda rows: [f" (item '{i}' is asked in: {items.at[i, 'waves']})" for i in rows["item_id"]],
            )
        if {"response_min", "response_max"} <= set(items.columns):
            low = self.lookup("survey_responses", "item_id", items["response_min"])
            high = self.lookup("survey_responses", "item_id", items["response_max"])
            value = responses["value"]
            outside = value.notna() & low.notna() & high.notna() & ((value < low) | (value > high))
            outside &= ~declared_missing(responses, self.tables["instrument"])  # declared codes are not answers

            def range_details(rows: pd.DataFrame) -> list[str]:
                return [
                    f" (item '{i}' allows {items.at[i, 'response_min']}..{items.at[i, 'response_max']})"
                    + (f"; {MISSING_CODE_HINT}" if v in MISSING_VALUE_CODES else "")
                    for i, v in zip(rows["item_id"], rows["value"])
                ]

            self.flag(
                "survey_responses",
                outside,
                "value",
                rule="value_in_range",
                message="outside the item's response range",
                details=range_details,
            )
            level = self.lookup("survey_responses", "item_id", items["level"]) if "level" in items.columns else pd.Series(np.nan, index=responses.index)
            categorical = level.isna() | level.isin(["ordinal", "nominal"])
            fractional = value.notna() & known_item & categorical & (value % 1 != 0)
            self.flag(
                "survey_responses",
                fractional & ~outside,
                "value",
                rule="whole_number_answer",
                message="answers to this item must be whole numbers (ordinal or nominal item)",
            )

    # dates
    def dates(self) -> None:
        today = pd.Timestamp(dt.date.today())
        for table, column in (("cases", "intervention_start"), ("survey_responses", "response_date"), ("activity_log", "date")):
            if not self.has(table, column):
                continue
            when = self.tables[table][column]
            self.flag(table, when < EARLIEST_DATE, column, rule="date_plausible", message=f"date before {EARLIEST_DATE.date()}; check the year")
            self.flag(table, when > today, column, rule="date_plausible", message="date lies in the future; check the year (dates are read as YYYY-MM-DD or DD-MM-YYYY)")
        if not self.has("cases", "case_id", "intervention_start"):
            return
        start_of = self.mapping("cases", "case_id", "intervention_start")
        links = [("activity_log", "date", "case_id", start_of)]
        if self.has("participants", "participant_id", "case_id"):
            participants = self.tables["participants"].drop_duplicates("participant_id")
            start_of_participant = pd.Series(start_of.reindex(participants["case_id"]).to_numpy(), index=participants["participant_id"])
            links.append(("survey_responses", "response_date", "participant_id", start_of_participant))
        for table, column, key, starts in links:
            if not self.has(table, column, key):
                continue
            when = self.tables[table][column]
            start = pd.to_datetime(self.lookup(table, key, starts))
            far = (
                when.notna()
                & start.notna()
                & ((when < start - pd.DateOffset(years=YEARS_BEFORE_START)) | (when > start + pd.DateOffset(years=YEARS_AFTER_START)))
                & (when >= EARLIEST_DATE)
                & (when <= today)
            )
            self.flag(
                table,
                far,
                column,
                rule="date_near_case",
                severity="warning",
                message=f"more than {YEARS_BEFORE_START} years before or {YEARS_AFTER_START} years after the case's intervention_start; check the year",
                details=lambda rows, start=start: [f" (intervention_start {s.date()})" for s in start[rows.index]],
            )

    # coded segments against documents
    def coding(self) -> None:
        if not self.has("coded_segments", "start", "end"):
            return
        segments = self.tables["coded_segments"]
        if self.has("documents", "document_id", "text") and "document_id" in segments.columns:
            length = self.mapping("documents", "document_id", "text").str.len()
            doc_length = self.lookup("coded_segments", "document_id", length)
            beyond = doc_length.notna() & (segments["end"] > doc_length)
            self.flag(
                "coded_segments",
                beyond,
                "end",
                rule="segment_within_document",
                message="the segment ends after the end of its document's text",
                details=lambda rows: [f" (document '{d}' has {int(length[d])} characters)" for d in rows["document_id"]],
            )
        if "text" in segments.columns:
            too_long = segments["text"].str.len() > (segments["end"] - segments["start"])
            self.flag(
                "coded_segments",
                too_long,
                "text",
                rule="segment_text_length",
                severity="warning",
                message="the quoted text is longer than its start..end span; the offsets may have drifted (line breaks counted twice?)",
            )

    def reverse_coding(self) -> None:
        """An item that correlates negatively with the rest of its scale is probably reverse coded (warning, issue 14)."""
        if not (self.has("survey_responses", "item_id", "value") and self.has("instrument", "item_id", "scale")):
            return
        instrument = self.tables["instrument"]
        for scale, item, r in reverse_coding_suspects(self.tables["survey_responses"], instrument):
            reverse = bool(instrument.loc[instrument["item_id"].astype("str") == item, "reverse_coded"].iloc[0]) \
                if "reverse_coded" in instrument.columns else False
            self.flag(
                "instrument",
                instrument["item_id"].astype("str") == item,
                "reverse_coded",
                rule="reverse_coding",
                severity="warning",
                message=(f"item '{item}' correlates negatively with the rest of scale '{scale}' (item-rest r = {r:.2f}): "
                         f"it is probably {'not ' if reverse else ''}reverse coded; check reverse_coded "
                         f"(now {'true' if reverse else 'false'})"),
            )

    def all_values_missing(self) -> None:
        if not (self.has("survey_responses", "participant_id", "value") and self.has("participants", "participant_id")):
            return
        person = self.categorical("survey_responses", "participant_id")
        codes = person.cat.codes.to_numpy()
        answered_codes = codes[(codes >= 0) & self.tables["survey_responses"]["value"].notna().to_numpy()]
        n = len(person.cat.categories)
        has_rows = np.bincount(codes[codes >= 0], minlength=n) > 0
        answered = np.bincount(answered_codes, minlength=n) > 0
        silent = person.cat.categories[has_rows & ~answered]
        participants = self.tables["participants"]
        self.flag(
            "participants",
            participants["participant_id"].isin(silent),
            "participant_id",
            rule="all_values_missing",
            severity="warning",
            message="every survey value of this participant is missing",
        )

    def pseudonyms(self) -> None:
        """Identifiers that look like names or e-mail addresses (warnings): our rule plus `privacy.check_pseudonyms`.

        ``participant_id`` is checked where it is defined (participants), with
        the participant's own ``name`` as extra evidence; ``document_id``
        where it is defined (documents, else coded_segments); ``coder`` in
        coded_segments. One warning per cell in participants; per distinct
        value (at its first row, with the number of rows) elsewhere.
        """
        if self.has("participants", "participant_id"):
            participants = self.tables["participants"]
            ids = participants["participant_id"]
            email = ids.str.contains("@", regex=False, na=False)
            self.flag("participants", email, "participant_id", rule="pseudonym", severity="warning", message="looks like an e-mail address; use a pseudonym such as 'SLO-P03'")
            name_like = ids.str.fullmatch(_NAME_LIKE_ID, na=False) | looks_like_name_or_email(ids)
            if "name" in participants.columns:
                name_like |= ids.notna() & (ids.str.lower() == participants["name"].str.lower())
            self.flag("participants", ~email & name_like, "participant_id", rule="pseudonym", severity="warning", message="looks like a person's name; use a pseudonym such as 'SLO-P03'")
        document_table = "documents" if self.has("documents", "document_id") else "coded_segments"
        for table, columns in ((document_table, ["document_id"]), ("coded_segments", ["coder"])):
            columns = [c for c in columns if self.has(table, c)]
            if not columns:
                continue
            frame = self.tables[table]
            for problem in check_pseudonyms(frame, columns, file=self.raw.source_name(table)):
                # check_pseudonyms counts positions (first row = 2); our rows are the table's own
                self.problems.append(dataclasses.replace(problem, row=int(frame.index[problem.row - 2])))


MISSING_VALUE_CODES = (99.0, 999.0, 9999.0, -9.0, -99.0, -999.0)
"""Values that usually mean 'missing' in survey exports (SPSS, Excel); outside a range they get `MISSING_CODE_HINT`."""
MISSING_CODE_HINT = ("looks like a missing-value code: declare it (missing_codes in instrument, e.g. '99') "
                     "or leave the cell empty")


def declared_missing(responses: pd.DataFrame, instrument: pd.DataFrame) -> pd.Series:
    """Per survey row: is its value one of the item's declared ``missing_codes``? (False without the column.)"""
    if "missing_codes" not in instrument.columns or not {"item_id", "value"} <= set(responses.columns):
        return pd.Series(False, index=responses.index)
    pairs = []
    for item, cell in zip(instrument["item_id"].astype("str"), instrument["missing_codes"]):
        try:
            pairs += [(item, code) for code in schema.parse_codes(cell)]
        except ValueError:  # reported by the schema check
            continue
    if not pairs:
        return pd.Series(False, index=responses.index)
    declared = pd.MultiIndex.from_tuples(pairs)
    keys = pd.MultiIndex.from_arrays([responses["item_id"].astype("str"), responses["value"].astype("float64")])
    return pd.Series(keys.isin(declared), index=responses.index)


REVERSE_CODING_MIN_ROWS = 10
"""Participants with every item of a scale answered needed before an item-rest correlation is judged."""


def reverse_coding_suspects(responses: pd.DataFrame, instrument: pd.DataFrame) -> list[tuple[str, str, float]]:
    """Items whose answers correlate negatively with the rest of their scale: (scale, item, r), probably reverse coded.

    Answers are first turned round where ``reverse_coded`` says so (``min + max - value``), then, per scale of
    three or more items, each item is correlated with the mean of the other items (item-rest correlation) over
    the participant x wave rows that answered every item of the scale.
    """
    needed = {"item_id", "scale", "response_min", "response_max"}
    if not needed <= set(instrument.columns) or not {"participant_id", "wave", "item_id", "value"} <= set(responses.columns):
        return []
    items = instrument.drop_duplicates("item_id").assign(item_id=lambda f: f["item_id"].astype("str")).set_index("item_id")
    if "level" in items.columns:
        items = items.loc[items["level"].isna() | (items["level"].astype("str") != "nominal")]
    answers = responses.loc[responses["value"].notna(), ["participant_id", "wave", "item_id", "value"]].astype(
        {"participant_id": "str", "wave": "str", "item_id": "str"})
    answers = answers.loc[answers["item_id"].isin(items.index)]
    answers = answers.loc[~declared_missing(answers, instrument).to_numpy()]
    if answers.empty:
        return []
    reverse = items["reverse_coded"].fillna(False).astype(bool) if "reverse_coded" in items.columns else pd.Series(False, index=items.index)
    turn = answers["item_id"].map(reverse).fillna(False).astype(bool).to_numpy()
    # A range that could not be read (empty, not a number, beyond 2^53) is an error of its own: its answers are not judged.
    low = pd.to_numeric(answers["item_id"].map(items["response_min"]), errors="coerce").astype("float64")
    high = pd.to_numeric(answers["item_id"].map(items["response_max"]), errors="coerce").astype("float64")
    value = pd.to_numeric(answers["value"], errors="coerce").astype("float64")
    inside = ((value >= low) & (value <= high)).fillna(False).to_numpy(dtype=bool)  # out-of-range values are errors of their own
    answers["value"] = np.where(turn, low + high - answers["value"], answers["value"])
    answers = answers.loc[inside]
    wide = answers.pivot_table(index=["participant_id", "wave"], columns="item_id", values="value", aggfunc="first")
    suspects = []
    for scale, group in items.groupby("scale", sort=True):
        columns = [item for item in group.index if item in wide.columns]
        if len(columns) < 3:
            continue
        complete = wide[columns].dropna()
        if len(complete) < REVERSE_CODING_MIN_ROWS:
            continue
        for item in columns:
            rest = complete.drop(columns=item).mean(axis=1)
            if complete[item].std() == 0 or rest.std() == 0:
                continue
            r = float(np.corrcoef(complete[item], rest)[0, 1])
            if r < 0:
                suspects.append((str(scale), item, r))
    return suspects


def _membership(lists: pd.Series, vocabulary: Sequence[str], *, empty_means_all: bool) -> np.ndarray:
    """';'-lists per item -> boolean matrix item x vocabulary (a loop over the few items, not over rows)."""
    matrix = np.zeros((len(lists), len(vocabulary)), dtype=bool)
    for row, entry in enumerate(lists):
        if pd.isna(entry) or not str(entry).strip():
            matrix[row, :] = empty_means_all
        else:
            members = {part.strip() for part in str(entry).split(";")}
            matrix[row, :] = [word in members for word in vocabulary]
    return matrix


# --- printing ----------------------------------------------------------------------------


def print_problems(problems, console=None) -> None:
    """Print problems (a list of `Problem` or a `problems_frame`) as a table: file, row, column, value, rule, message."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    frame = problems if isinstance(problems, pd.DataFrame) else problems_frame(problems)
    if not len(frame):
        return
    table = Table(show_lines=False, header_style="bold")
    for column in ("severity", "file", "row", "column", "value", "rule", "message"):
        table.add_column(column, overflow="fold", ratio=4 if column == "message" else 1)
    for record in frame.itertuples(index=False):
        style = "red" if record.severity == "error" else "yellow"
        table.add_row(
            f"[{style}]{record.severity}[/{style}]",
            *(_cell(getattr(record, c), shorten=c == "value") for c in ("file", "row", "column", "value", "rule", "message")),
        )
    console.print(table)


def print_report(report: ValidationReport, console=None) -> None:
    """Print the problems as a table, then a one-line summary."""
    from rich.console import Console

    console = console or Console()
    print_problems(report.problems, console)
    rows = ", ".join(f"{name} {len(frame):,}" for name, frame in report.raw.tables.items())
    if report.ok:
        console.print(f"[green]OK[/green]: {len(report.raw.tables)} tables read ({rows}); {report.n_warnings} warning(s).", highlight=False)
    else:
        files = report.problems.loc[report.problems["severity"] == "error", "file"].nunique()
        console.print(
            f"[red]NOT OK[/red]: {report.n_errors} error(s) and {report.n_warnings} warning(s) in {files} file(s). "
            f"Fix the errors and run `ponzoni-eval validate {report.raw.root}` again.",
            highlight=False,
        )


def _cell(value, shorten: bool = False) -> str:
    from rich.markup import escape

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    text = str(value).replace("\n", "\\n")
    return escape(text[:37] + "..." if shorten and len(text) > 40 else text)

