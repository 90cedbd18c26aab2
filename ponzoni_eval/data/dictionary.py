"""The data dictionary, rendered from the schemas.

`render_dictionary` produces ``docs/data-dictionary.md`` (``ponzoni-eval
dictionary docs/data-dictionary.md``; a test checks that the committed file
equals the rendering, so documentation and checks cannot drift apart).
`render_template_guide` produces the ``README.md`` that ``ponzoni-eval
templates`` writes beside the empty templates.
"""

from __future__ import annotations

from typing import Mapping

import pandera.pandas as pa

from ponzoni_eval.data import schema
from ponzoni_eval.data.read import column_kind as io_kind
from ponzoni_eval.data.validate import CROSS_TABLE_RULES

__all__ = ["render_dictionary", "render_template_guide", "FORMATS"]

_TYPE_NAMES = {
    "str": "text",
    "int": "whole number",
    "float": "number",
    "bool": "yes/no",
    "date": "date",
}

FORMATS = """\
- **Files**: one file per table, named after the table: `cases.csv`, `participants.xlsx`,
  `survey_responses.sav`, ... Exactly one file per table. Notes (`.md`, `.txt`) and
  `dataset.toml` may sit beside them.
- **Interviews from a QDA program**: a REFI-QDA project (`interviews.qdpx`, exported by ATLAS.ti,
  MAXQDA, NVivo, QualCoder) in the folder supplies `coded_segments`, `codebook` and `documents`
  (see `docs/qualitative-data.md`); then leave those three files out. An optional
  `qda_mapping.toml` beside it says which document variables hold participant_id, case_id and
  wave. Problems in imported rows name the project, the table and the document and selection.
- **CSV**: UTF-8 (with or without BOM). The delimiter may be `,` or `;` (as Dutch Excel writes),
  or a tab. A file that is not UTF-8 is read as Windows-1252 with a warning; in Excel choose
  *Save as > CSV UTF-8*.
- **Excel (.xlsx)**: the sheet named like the table (e.g. `participants`), else the first sheet;
  the first row is the header.
- **SPSS (.sav)**: variables named like the columns; value labels are kept.
- **Header**: column names as listed below (case and surrounding spaces do not matter). Unknown
  columns are reported as warnings and ignored.
- **Empty cell** = missing. Surrounding spaces are removed. Codes such as `NA`, `-` or `99` are
  not read as missing: leave the cell empty (and give the reason in `missing_reason`).
- **Numbers**: a decimal point or a decimal comma (`3,5`); no thousands separators.
- **Yes/no**: `true`/`false`, `yes`/`no`, `ja`/`nee`, `1`/`0`.
- **Dates**: `YYYY-MM-DD` (preferred), or day first `DD-MM-YYYY` / `DD/MM/YYYY`, or a month
  `YYYY-MM` (read as its first day). A time of day is ignored.
- **Identifiers** (case_id, participant_id, item_id, ...): letters, digits, `_`, `.`, `-`; no
  spaces. Participants are identified by **pseudonyms** (e.g. `SLO-P03`), never by names or
  e-mail addresses.
- **Rows** in every message are spreadsheet rows: the header is row 1, the first data row is row 2.
"""


def _kind(column: pa.Column) -> str:
    return io_kind(column.dtype)


def _allowed(column_name: str, column: pa.Column) -> str:
    parts = []
    for check in column.checks:
        name = check.name or ""
        if name == "isin":
            parts.append("one of: " + ", ".join(f"`{v}`" for v in check.statistics["allowed_values"]))
        elif name == "str_matches":
            parts.append("identifier (letters, digits, `_` `.` `-`)")
        elif name == "greater_than_or_equal_to":
            parts.append(f">= {check.statistics['min_value']}")
        else:
            parts.append(check.error or name)
    if column.unique:
        parts.append("unique")
    return "; ".join(parts)


def _required(column: pa.Column) -> str:
    if not column.required:
        return "optional"
    return "required (may be empty)" if column.nullable else "required"


def _escape(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table_rules(spec: schema.TableSpec) -> list[str]:
    rules = []
    if spec.schema.unique:
        rules.append("each " + " / ".join(f"`{c}`" for c in spec.schema.unique) + " combination appears once")
    rules += [check.error for check in spec.schema.checks]
    return rules


def render_dictionary() -> str:
    """The data dictionary as Markdown: vocabulary, every table and column, and the rules between tables."""
    lines = [
        "# Data dictionary",
        "",
        "<!-- Generated from ponzoni_eval/data/schema.py and ponzoni_eval/data/validate.py by",
        "     `ponzoni-eval dictionary docs/data-dictionary.md`. Do not edit by hand. -->",
        "",
        "What `ponzoni-eval validate DIR` expects in a folder of raw data. Start from the empty",
        "templates (`ponzoni-eval templates DIR`) and check your files with `ponzoni-eval validate DIR`:",
        "it lists every problem at once with file, row and column.",
        "",
        "## Formats",
        "",
        FORMATS.rstrip(),
        "",
        "## Vocabulary",
        "",
        "| name | values |",
        "|---|---|",
        "| role | " + ", ".join(f"`{r}`" for r in schema.ROLES) + " |",
        "| wave | " + ", ".join(f"`{w}` ({schema.WAVE_LABELS[w]})" for w in schema.WAVES) + " |",
        "| event_type | " + ", ".join(f"`{e}`" for e in schema.EVENT_TYPES) + " |",
        "| missing_reason | " + ", ".join(f"`{m}`" for m in schema.MISSING_REASONS) + " |",
        "| level | " + ", ".join(f"`{m}`" for m in schema.MEASUREMENT_LEVELS) + " |",
        "",
        "## Tables",
        "",
        "| table | required | contents |",
        "|---|---|---|",
    ]
    for name, spec in schema.TABLES.items():
        lines.append(f"| [`{name}`](#{name}) | {'yes' if spec.required else 'no'} | {_escape(spec.schema.description)} |")
    for name, spec in schema.TABLES.items():
        lines += [
            "",
            f"### {name}",
            "",
            f"{spec.schema.description} File: `{name}.csv`, `{name}.xlsx` or `{name}.sav`"
            + (" (required)." if spec.required else " (optional)."),
            "",
            "| column | type | required | allowed values | description |",
            "|---|---|---|---|---|",
        ]
        for column_name, column in spec.schema.columns.items():
            lines.append(
                f"| `{column_name}` | {_TYPE_NAMES[_kind(column)]} | {_required(column)} | "
                f"{_escape(_allowed(column_name, column))} | {_escape(column.description or '')} |"
            )
        rules = _table_rules(spec)
        if rules:
            lines += ["", "Rules within the table: " + "; ".join(rules) + "."]
    lines += [
        "",
        "## Rules between tables",
        "",
        "Checked by `ponzoni-eval validate` after the column checks above. Rules marked",
        "*warning* are reported but do not stop the analysis.",
        "",
        "| rule | what is checked |",
        "|---|---|",
    ]
    lines += [f"| `{rule}` | {_escape(text)} |" for rule, text in CROSS_TABLE_RULES.items()]
    return "\n".join(lines) + "\n"


def render_template_guide(scales_by_section: Mapping[str, str] | None = None) -> str:
    """The ``README.md`` written beside the templates: what goes where, which scales the reports read, how to check it."""
    lines = [
        "# Templates for your own data",
        "",
        "One file per table. `instrument.csv` is filled in with every item of the scales the reports",
        "use (keep the `scale` names; change wordings, ranges and items to your questionnaire); every",
        "other file holds one example row (ids starting `EXAMPLE`) showing how a row looks: replace it",
        "with your data. Keep the file names, and delete the optional tables you do not use (a file",
        "with only its header row counts as absent). Then check and run:",
        "",
        "```",
        "ponzoni-eval validate THIS_FOLDER   # lists ALL problems at once (file, row, column) and the run plan",
        "ponzoni-eval run THIS_FOLDER        # validate, prepare and run every report the data allow",
        "```",
        "",
        "`validate` never changes your files; `run` and `prepare` only read them. A survey in wide",
        "form (one row per participant, columns like `trust_1_t0`) becomes `survey_responses.csv` with",
        "`ponzoni-eval reshape-wide FILE --id COLUMN --waves t0,t1`.",
        "",
        "`roles.csv` and `waves.csv` (optional) name the roles and waves in the reports: `label` in",
        "English reports, `label_nl` in Dutch ones (e.g. `t0` as \"intake (January)\"). They are filled",
        "with the reports' own names; change a label, or delete the file to keep them all. The data keep",
        "the ids (`professional`, `t0`).",
        "",
        "## Privacy",
        "",
        "- Identify people by **pseudonyms** (`SLO-P03`, `PA-M12`), never by names or e-mail addresses.",
        "- The optional `name` column of `participants` holds the names by which a participant may",
        "  appear in interview text. It is used only to redact the texts to `[NAAM]` and is never copied",
        "  into processed data or reports. Other names to redact (staff, children, anyone interviewees",
        "  mention) go in `redaction_names.txt` in this folder, one per line.",
        "- Keep this folder out of shared drives and repositories. See docs/security-and-privacy.md.",
        "",
        "## Formats",
        "",
        FORMATS.rstrip(),
        "",
        "## The tables",
        "",
    ]
    for name, spec in schema.TABLES.items():
        required = [c for c, col in spec.schema.columns.items() if col.required]
        optional = [c for c, col in spec.schema.columns.items() if not col.required]
        lines += [
            f"### `{name}.csv` ({'required' if spec.required else 'optional'})",
            "",
            spec.schema.description,
            "",
            "- columns: " + ", ".join(f"`{c}`" for c in required),
        ]
        if optional:
            lines.append("- optional columns: " + ", ".join(f"`{c}`" for c in optional))
        lines.append("")
    if scales_by_section:
        lines += ["## Which scales feed which report section", "",
                  "A section whose scales or tables are missing is skipped, and the report says why.", ""]
        lines += [f"- **{section}**: {scales}" for section, scales in scales_by_section.items()]
        lines.append("")
    lines += [
        "The full data dictionary (types, allowed values, every rule) is `docs/data-dictionary.md`",
        "in the ponzoni_eval repository, or run `ponzoni-eval dictionary`.",
        "",
        "An example of filled-in tables (synthetic) is `data/raw/example/` (`ponzoni-eval example DIR`).",
        "",
    ]
    return "\n".join(lines)
