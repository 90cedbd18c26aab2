"""A tiny valid raw folder for tests, and helpers to break it one cell at a time.

Row numbers are spreadsheet rows: the header is row 1, the first data row is row 2.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

DOCUMENT_TEXT = "I: Hoe gaat het?\nR: Het vertrouwen groeit."
QUOTE = "Het vertrouwen groeit."
QUOTE_START = DOCUMENT_TEXT.index(QUOTE)
QUOTE_END = QUOTE_START + len(QUOTE)

MINIMAL = {
    "cases": [
        ["case_id", "name", "city", "neighbourhood", "partner_org_type", "intervention_start"],
        ["slo", "Slotervaart", "Amsterdam", "Slotervaart", "mosque association", "2015-09-01"],  # row 2
        ["pa", "Poelenburg A", "Zaanstad", "Poelenburg", "women's association", "2015-03-01"],  # row 3
    ],
    "participants": [
        ["participant_id", "case_id", "role", "organisation", "name"],
        ["SLO-P01", "slo", "professional", "Jeugdteam", "Anouk"],  # row 2
        ["SLO-M01", "slo", "migrant_org", "Vereniging", "Ayşe"],  # row 3
        ["PA-P01", "pa", "professional", "Jeugdteam", ""],  # row 4
        ["PA-M01", "pa", "migrant_org", "Vereniging", ""],  # row 5
        ["PA-O01", "pa", "parent", "", "Fatma"],  # row 6
    ],
    "instrument": [
        ["item_id", "scale", "wording_nl", "wording_en", "response_min", "response_max", "reverse_coded", "roles", "waves", "level"],
        ["trust_1", "trust", "Ik vertrouw de ander.", "I trust the other.", "1", "5", "false", "professional;migrant_org", "", "ordinal"],  # row 2
        ["fj_1", "feeling_judged", "Ik voel me beoordeeld.", "I feel judged.", "1", "5", "false", "migrant_org;parent", "t0;t2", ""],  # row 3
        ["aim", "expectation_primary", "Doel?", "Aim?", "1", "3", "false", "professional;migrant_org", "", "nominal"],  # row 4
    ],
    "survey_responses": [
        ["participant_id", "wave", "response_date", "item_id", "value", "missing_reason"],
        ["SLO-P01", "t0", "2015-08-01", "trust_1", "3", ""],  # row 2
        ["SLO-P01", "t2", "2016-09-01", "trust_1", "4", ""],  # row 3
        ["SLO-M01", "t0", "2015-08-01", "trust_1", "2", ""],  # row 4
        ["SLO-M01", "t0", "2015-08-01", "fj_1", "4", ""],  # row 5
        ["SLO-M01", "t2", "2016-09-01", "fj_1", "3", ""],  # row 6
        ["PA-P01", "t0", "2015-02-01", "trust_1", "5", ""],  # row 7
        ["PA-P01", "t0", "2015-02-01", "aim", "2", ""],  # row 8
        ["PA-M01", "t0", "2015-02-01", "trust_1", "", "not_answered"],  # row 9
        ["PA-M01", "t0", "2015-02-01", "aim", "1", ""],  # row 10
    ],
    "activity_log": [
        ["case_id", "date", "event_type", "count"],
        ["slo", "2015-08-03", "joint_meeting", "1"],  # row 2
        ["pa", "2015-04-01", "parents_attending", "12"],  # row 3
    ],
    "codebook": [
        ["code", "theme", "definition", "construct"],
        ["growing_trust", "process", "Mutual trust grows.", "trust"],  # row 2
        ["help_seeking_youth_team", "help_seeking", "Parents bring questions to the youth team.", "help_seeking"],  # row 3
    ],
    "documents": [
        ["document_id", "case_id", "participant_id", "wave", "text"],
        ["SLO-M01-t0", "slo", "SLO-M01", "t0", DOCUMENT_TEXT],  # row 2
    ],
    "coded_segments": [
        ["document_id", "participant_id", "case_id", "wave", "coder", "code", "start", "end", "text"],
        ["SLO-M01-t0", "SLO-M01", "slo", "t0", "coder_1", "growing_trust", str(QUOTE_START), str(QUOTE_END), QUOTE],  # row 2
    ],
}


def to_csv(rows: list[list[str]], delimiter: str = ",") -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def write_raw(folder: Path, tables: dict | None = None) -> Path:
    """Write the minimal valid raw folder (or the given tables) as UTF-8 CSV files."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in (tables or MINIMAL).items():
        (folder / f"{name}.csv").write_text(to_csv(rows), encoding="utf-8")
    return folder


def read_rows(folder: Path, table: str) -> list[list[str]]:
    with open(folder / f"{table}.csv", encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def write_rows(folder: Path, table: str, rows: list[list[str]]) -> None:
    (folder / f"{table}.csv").write_text(to_csv(rows), encoding="utf-8")


def set_cell(folder: Path, table: str, row: int, column: str, value: str) -> None:
    """Change one cell; `row` is the spreadsheet row (header = 1)."""
    rows = read_rows(folder, table)
    rows[row - 1][rows[0].index(column)] = value
    write_rows(folder, table, rows)


def add_row(folder: Path, table: str, values: dict[str, str]) -> int:
    """Append a row (missing columns empty); returns its spreadsheet row number."""
    rows = read_rows(folder, table)
    rows.append([values.get(column, "") for column in rows[0]])
    write_rows(folder, table, rows)
    return len(rows)


def drop_column(folder: Path, table: str, column: str) -> None:
    rows = read_rows(folder, table)
    position = rows[0].index(column)
    write_rows(folder, table, [r[:position] + r[position + 1 :] for r in rows])


QDA_TABLES = ("coded_segments", "codebook", "documents")


def move_interviews_to_qdpx(folder: Path, name: str = "interviews.qdpx") -> Path:
    """Replace the folder's coded_segments, codebook and documents CSVs by one REFI-QDA project.

    The project is written by `ponzoni_eval.qual.write.write_qdpx` from the CSVs as
    they are (change cells first with `set_cell`), the way an evaluator brings
    interviews coded in ATLAS.ti, MAXQDA or NVivo.
    """
    import pandas as pd

    from ponzoni_eval.qual.write import write_qdpx

    frames = {}
    for table in QDA_TABLES:
        rows = read_rows(folder, table)
        frames[table] = pd.DataFrame(rows[1:], columns=rows[0]).replace({"": None})
        (folder / f"{table}.csv").unlink()
    segments = frames["coded_segments"].astype({"start": "int64", "end": "int64"})
    return write_qdpx(segments, frames["codebook"], frames["documents"], folder / name)
