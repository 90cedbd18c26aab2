"""Errors that speak to the person who owns the data.

Every problem with a user's data is reported with the file, the row (as a
spreadsheet shows it: the header is row 1, the first data row is row 2), the
column, the value found and what was expected. Code that finds one problem
raises `DataError`; code that checks a whole table collects `Problem`s and
raises `ValidationFailed` with all of them, so a user fixes everything in one
pass instead of one error per run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Iterable

__all__ = ["DataError", "Problem", "ValidationFailed", "problems_frame", "require_columns", "PROBLEM_COLUMNS"]

PROBLEM_COLUMNS = ("severity", "file", "row", "column", "value", "rule", "message")


def _describe_location(file: str | None, row: int | None, column: str | None) -> str:
    parts = []
    if file:
        parts.append(str(file))
    if row is not None:
        parts.append(f"row {row}")
    if column:
        parts.append(f"column '{column}'")
    return ", ".join(parts)


class DataError(ValueError):
    """A problem with the user's data or input, reported without a traceback.

    Parameters
    ----------
    message : str
        What is wrong, in plain words.
    file, row, column : optional
        Where. ``row`` is the spreadsheet row number (header = 1).
    expected, found : optional
        What was expected and what was found; both appear in the message.
    rule : str, optional
        Short machine-readable name of the violated rule (e.g. ``"in_range"``).
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
        expected: Any = None,
        found: Any = None,
        rule: str | None = None,
    ) -> None:
        self.message = message
        self.file = None if file is None else str(file)
        self.row = None if row is None else int(row)
        self.column = column
        self.expected = expected
        self.found = found
        self.rule = rule
        super().__init__(str(self))

    def __str__(self) -> str:
        where = _describe_location(self.file, self.row, self.column)
        text = f"{where}: {self.message}" if where else self.message
        details = []
        if self.expected is not None:
            details.append(f"expected {self.expected}")
        if self.found is not None:
            details.append(f"found {self.found!r}")
        if details:
            text += f" ({'; '.join(details)})"
        return text

    def as_problem(self, severity: str = "error") -> "Problem":
        return Problem(
            severity=severity,
            file=self.file,
            row=self.row,
            column=self.column,
            value=None if self.found is None else str(self.found),
            rule=self.rule or "error",
            message=self.message if self.expected is None else f"{self.message}; expected {self.expected}",
        )


def require_columns(frame: Any, columns: Iterable[str], name: str, *, kind: str = "table") -> None:
    """Check that a function's input is a DataFrame with the columns it needs.

    Parameters
    ----------
    frame : DataFrame
        The input.
    columns : iterable of str
        Columns it must have.
    name : str
        What it is, in the column vocabulary of the data dictionary
        (``"survey_responses"``, ``"scores"``, ``"prevalence"``).
    kind : str
        ``"table"`` (default; then `name` is also the error's ``file``) or
        another noun for derived inputs (``"frame"``).

    Raises
    ------
    TypeError
        `frame` is not a pandas DataFrame.
    DataError
        Columns are missing: the message names them, ``column`` is the first,
        ``expected`` lists every required column and ``found`` the frame's.

    Examples
    --------
    >>> import pandas as pd
    >>> require_columns(pd.DataFrame({"case_id": []}), ["case_id", "wave"], "scores")
    Traceback (most recent call last):
    ...
    ponzoni_eval._core.errors.DataError: scores, column 'wave': the scores table lacks column(s) wave (expected columns case_id, wave; found 'case_id')
    """
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"the {name} {kind} must be a pandas DataFrame, got {type(frame).__name__}")
    columns = list(columns)
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise DataError(
            f"the {name} {kind} lacks column(s) {', '.join(map(str, missing))}",
            file=name if kind == "table" else None,
            column=str(missing[0]),
            expected="columns " + ", ".join(map(str, columns)),
            found=", ".join(map(str, frame.columns)) or "no columns",
            rule="required_columns",
        )


@dataclass(frozen=True)
class Problem:
    """One finding of a validation pass (an error or a warning)."""

    severity: str  # "error" or "warning"
    file: str | None
    row: int | None
    column: str | None
    value: str | None
    rule: str
    message: str

    def __str__(self) -> str:
        where = _describe_location(self.file, self.row, self.column)
        found = f" (found {self.value!r})" if self.value is not None else ""
        return f"{self.severity}: {where}: {self.message}{found} [{self.rule}]"


def problems_frame(problems: Iterable[Problem]):
    """The problems as a table with columns `PROBLEM_COLUMNS`, sorted by place."""
    import pandas as pd

    rows = [asdict(p) for p in problems]
    frame = pd.DataFrame(rows, columns=list(PROBLEM_COLUMNS))
    frame["row"] = frame["row"].astype("Int64")
    return frame.sort_values(["file", "row", "column"], na_position="first", kind="stable").reset_index(drop=True)


class ValidationFailed(DataError):
    """Raised when a validation pass found one or more errors; holds them all."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        errors = [p for p in self.problems if p.severity == "error"]
        first = str(errors[0]) if errors else "no errors"
        super().__init__(f"{len(errors)} problem(s) in the data; first: {first}", rule="validation")

    def __str__(self) -> str:
        return self.message
