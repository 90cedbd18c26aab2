"""What a report section is and how its tables may be published: each table carries its own publishing rules.

A section function (`ponzoni_eval.report.sections`) computes a figure, one
sentence and one or more tables, and says, where it builds each table, how
that table leaves the research team (a `TableSpec`): the name it is saved
under, its caption, its precision class for ``ponzoni-eval verify``, and
which of its columns count people (`ponzoni_eval.privacy.CountRules`).
`RunContext.save_section` (`ponzoni_eval.report.outputs`) then suppresses the
counted columns of every table first, draws the figure from those published
tables, and writes tables, figure and sentence in one call, so a notebook
cell has nothing to forget.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from ponzoni_eval._core.reproducibility import PRECISIONS
from ponzoni_eval.config import DEFAULT_MIN_CELL
from ponzoni_eval.privacy.suppress import CountRules

if TYPE_CHECKING:  # pragma: no cover - typing only; kept out of light imports
    import pandas as pd

__all__ = ["TableSpec", "Section", "MAIN_TABLE", "published", "FormattedTable", "format_table"]

MAIN_TABLE = "table"
"""The key of a section's key table (`Section.table`) in `Section.specs`; supporting tables use their `Section.tables` key."""


@dataclass(frozen=True)
class TableSpec:
    """How one table of a section is published.

    Parameters
    ----------
    name : str
        The output name in the run folder (``tables/<name>.csv``; a case
        notebook prefixes the case).
    caption : str
        One line saying what the table shows. ``{min_cell}`` is replaced by
        the run's suppression threshold.
    precision : {"closed_form", "fitted"}
        How ``ponzoni-eval verify`` compares the table's floats with a re-run
        (`ponzoni_eval._core.reproducibility`).
    counts : `ponzoni_eval.privacy.CountRules` or None
        The columns that count people (suppressed below the run's
        ``min_cell``) and those derived from them (blanked with them); None
        for a table that counts nobody.
    """

    name: str
    caption: str
    precision: str = "closed_form"
    counts: CountRules | None = None

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {self.precision!r}")
        if self.counts is not None and not isinstance(self.counts, CountRules):
            raise TypeError(f"counts must be a privacy.CountRules, not {type(self.counts).__name__}")

    def caption_for(self, min_cell: int) -> str:
        """The caption with the run's threshold filled in."""
        return self.caption.replace("{min_cell}", str(min_cell))

    def publish(self, table: "pd.DataFrame", min_cell: int) -> "pd.DataFrame":
        """The table as it may leave the research team: counts of people below `min_cell` suppressed."""
        return table if self.counts is None else self.counts.apply(table, threshold=min_cell)


@dataclass(frozen=True)
class Section:
    """What one report section shows, and how each of its tables is published.

    Attributes
    ----------
    table : DataFrame
        The section's key result table (usually the standard result shape).
    figure : `ponzoni_eval.report.plots.Figure` or None
        Its figure, with a caption generated from the data. When `draw` is
        given, this is ``draw(published(section, min_cell), min_cell)`` at
        the section's own threshold.
    sentence : str
        One sentence that reads the key numbers (generated, never typed).
    tables : mapping of str to DataFrame
        Supporting tables (means, counts, residuals), by key.
    specs : mapping of str to `TableSpec`
        The publishing rules of each table: `MAIN_TABLE` for `table`, the
        `tables` key for the others. A table without a spec is not saved by
        `RunContext.save_section`.
    figure_name : str or None
        The figure's output name (None: the section has no figure to save).
    draw : callable or None
        ``draw(published_tables, min_cell) -> Figure``: the figure drawn from
        the published (suppressed) tables, keyed like `specs`, and the
        threshold they were suppressed with (`published`). Sections whose
        figure shows counts of people set it, so that the saved figure can
        never show a count the table suppresses.
    """

    table: "pd.DataFrame"
    figure: Any
    sentence: str
    tables: Mapping[str, "pd.DataFrame"] = field(default_factory=dict)
    specs: Mapping[str, TableSpec] = field(default_factory=dict)
    figure_name: str | None = None
    draw: Callable[[Mapping[str, "pd.DataFrame"], int], Any] | None = None

    def __post_init__(self) -> None:
        unknown = sorted(set(self.specs) - {MAIN_TABLE, *self.tables})
        if unknown:
            raise ValueError(f"specs name tables the section does not have: {unknown}")

    def frame(self, key: str) -> "pd.DataFrame":
        """The table under `key` (`MAIN_TABLE` or a `tables` key)."""
        return self.table if key == MAIN_TABLE else self.tables[key]

    def with_tables(self, frames: Mapping[str, "pd.DataFrame"], figure: Any) -> "Section":
        """A copy holding `frames` (keyed like `specs`) and `figure` in place of the section's own."""
        main = frames.get(MAIN_TABLE, self.table)
        others = {key: frames.get(key, frame) for key, frame in self.tables.items()}
        return replace(self, table=main, tables=others, figure=figure)


def published(section: Section, min_cell: int = DEFAULT_MIN_CELL) -> dict[str, "pd.DataFrame"]:
    """Every table of `section` that has a spec, as it is published: counts of people below `min_cell` suppressed."""
    if not isinstance(min_cell, int) or min_cell < 1:
        raise ValueError(f"min_cell must be a whole number of at least 1, not {min_cell!r}")
    return {key: spec.publish(section.frame(key), min_cell) for key, spec in section.specs.items()}


# --- tables as a reader sees them (issue 15) ---------------------------------------------------

_P_COLUMNS = ("p_value", "p_adjusted")
_COUNT_PREFIXES = ("n_", "n")
_SHARE_COLUMNS = ("share", "share_missing", "share_responding", "proportion")
_PERCENT_COLUMNS = ("percent", "prevalence_percent")
_FIT_COLUMNS = ("fit_label", "computed_fit_label", "fit_label_ci", "fit_label_estimate")
_WRITTEN_COLUMNS = frozenset({"construct_label", "meta_inference", "quant_summary", "quant_short", "quant_detail", "qual_summary",
                              "lead_text", "quotes", "statistic", "prevalence", "quote"})
"""Columns the integration already writes for a reader, in the report language: shown as written, never word by word
(``vs.`` in a construct label is not the ``vs`` of a group text)."""
_MODEL_ROWS = ("fixed_effect", "variance_component")
"""Tests whose rows describe a model's inside (coefficients, variance components): in the appendix, not the report."""
_HIDDEN_COLUMNS = ("analysis", "family", "order_value", "quote_ref", "quote_refs", "post", "relative_month", "statistic", "df")
"""Columns the report leaves to the full table: bookkeeping, and the test statistic and its df (the p-value and the
effect size with its CI say what a reader needs; APA tables with every statistic are the CSV and Excel appendix)."""


@dataclass(frozen=True)
class FormattedTable:
    """A table as the report prints it: text cells, human column labels, no index, and its notes.

    Attributes
    ----------
    frame : DataFrame
        Every cell is text (numbers rounded to their reported precision in the report's language).
    notes : tuple of str
        ``("note",)`` when rows carry method notes (they stay in the full table; the report says so).
    omitted : int
        Rows left out of the report (model coefficients; they stay in the full table).
    """

    frame: "pd.DataFrame"
    notes: tuple[str, ...] = ()
    omitted: int = 0


def _is_count(column: str) -> bool:
    return column == "n" or column == "count" or column.startswith("n_")


_PREFER = {"code": "code", "lead_code": "code", "construct": "construct", "outcome": "scale", "scale": "scale", "case_id": "case",
           "role": "role", "wave": "wave", "test": "test", "effect_name": "effect", "expectation": "expectation",
           "event_type": "event_type", "quant_evidence": "evidence", "qual_evidence": "evidence"}
"""Which display names a column's values are first (``values.<group>``): a code column reads codes, an outcome scales."""


def _humanise(text: str, language: str, column: str | None = None) -> str:
    from ponzoni_eval.report.plots import display_text

    return display_text(text, language, prefer=_PREFER.get(column or ""))


def _column_label(column: str, language: str) -> str:
    from ponzoni_eval._core.words import terms

    labels = terms("report.columns", language)
    return str(labels.get(column, column.replace("_", " ").capitalize()))


def _effect_cells(frame: "pd.DataFrame", language: str) -> "pd.Series":
    """"Hedges' g (average SD) = 0.90 [0.20, 1.40]": the effect's human name, estimate and interval."""
    import pandas as pd

    from ponzoni_eval._core.numbers import format_effect, is_missing
    from ponzoni_eval._core.words import terms

    names = terms("values.effect", language)
    cells = []
    for record in frame.to_dict(orient="records"):
        name = record.get("effect_name")
        shown = names.get(str(name), _humanise(str(name), language)) if isinstance(name, str) and name else None
        text = format_effect(record.get("effect_size"), record.get("ci_low"), record.get("ci_high"), language=language)
        cells.append(f"{shown} = {text}" if shown and not is_missing(record.get("effect_size")) else text)
    return pd.Series(cells, index=frame.index, dtype="object")


def format_table(frame: "pd.DataFrame", *, language: str = "en", min_cell: int = DEFAULT_MIN_CELL, keep_constant: Sequence[str] = ()) -> FormattedTable:
    """The report's version of a published table: rounded, labelled, without empty or constant columns.

    The numbers stay in the run folder at full precision (CSV, parquet); this is what a reader of the
    report sees. Every number goes through `ponzoni_eval._core.numbers` (decimal comma in Dutch,
    p-values in APA style: ``.006``, ``< .001``, ``> .999``), counts are whole numbers, a suppressed count
    reads ``<5`` (never 0 or empty), effect sizes are shown with their human name and CI in one column,
    and method notes, test statistics and rows of a model's inside (coefficients, variance components)
    are left to the full table.

    Parameters
    ----------
    frame : DataFrame
        A table as it was published (`RunContext.save_section` / `save_table`).
    language : str
        A report language.
    min_cell : int
        The run's suppression threshold (a suppressed count reads ``<min_cell``).
    keep_constant : sequence of str
        Columns kept even when every row has the same value (by default such a column, e.g. the case
        of a case report, is said once in the caption instead).

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"analysis": ["pre_post"], "outcome": ["trust"],
    ...     "n": [16.0], "p_value": [1.0], "effect_name": ["hedges_g_av"], "effect_size": [0.9], "ci_low": [0.2],
    ...     "ci_high": [1.4], "note": [None]})
    >>> formatted = format_table(table, language="nl")
    >>> list(formatted.frame.columns)
    ['Uitkomst', 'n', 'p', 'Effectgrootte [95%-BI]']
    >>> formatted.frame.iloc[0].tolist()
    ['vertrouwen', '16', '> ,999', "Hedges' g (gemiddelde SD) = 0,90 [0,20; 1,40]"]
    """
    import pandas as pd

    from ponzoni_eval._core.numbers import MISSING, format_number, format_p_value, is_missing

    table = frame.reset_index(drop=True)
    omitted = 0
    if "test" in table.columns:
        model = table["test"].astype("str").isin(_MODEL_ROWS)
        omitted = int(model.sum())
        table = table.loc[~model].reset_index(drop=True)
    out: dict[str, pd.Series] = {}
    flags = {column[: -len("_flag")] for column in table.columns if column.endswith("_flag")}
    has_effect = "effect_size" in table.columns and table["effect_size"].notna().any()
    notes: list[str] = []
    for column in table.columns:
        values = table[column]
        if isinstance(values.dtype, pd.CategoricalDtype):
            values = values.astype("object")
        if column.endswith("_flag") or column in _HIDDEN_COLUMNS:
            continue
        if column in ("effect_name", "ci_low", "ci_high") and (has_effect or "effect_size" in table.columns):
            continue  # shown in the effect column; without any estimate, an effect's name alone says nothing
        if column == "effect_size":
            if has_effect:
                out["effect_size"] = _effect_cells(table, language)
            continue
        if column == "note":
            # Method notes (how a test was computed, why one was not) are written by the statistics in English
            # and can be long: they stay in the full table; the report says where.
            if not values.map(is_missing).all():
                notes.append("note")
            continue
        if values.map(is_missing).all() and column not in flags:
            continue  # an all-empty column says nothing
        if column not in keep_constant and column in ("case_id", "construct") and values.astype("str").nunique() == 1 and len(values) > 1:
            continue
        if column in flags:
            flag = table[f"{column}_flag"].astype("object")
            suppressed = flag.map(lambda f: isinstance(f, str) and f.strip() != "")
            if _is_count(column):
                text = values.map(lambda v: MISSING if is_missing(v) else format_number(v, 0, language=language))
                text = text.where(~suppressed, f"<{min_cell}")
            else:
                text = _format_numbers(column, values, language)
                text = text.where(~suppressed, "·")
            out[column] = text
            continue
        if pd.api.types.is_datetime64_any_dtype(values):
            out[column] = values.map(lambda v: MISSING if is_missing(v) else v.strftime("%Y-%m-%d"))
        elif column in _P_COLUMNS:
            out[column] = values.map(lambda p: MISSING if is_missing(p) else format_p_value(p, language=language).removeprefix("= "))
        elif pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            out[column] = _format_numbers(column, values, language)
        elif pd.api.types.is_bool_dtype(values):
            from ponzoni_eval._core.words import term

            out[column] = values.map(lambda v: term("report.yes", language) if v else term("report.no", language))
        elif column in _WRITTEN_COLUMNS:
            out[column] = values.map(lambda v: MISSING if is_missing(v) or not str(v).strip() else str(v))
        elif column in _FIT_COLUMNS or column.endswith("_fit"):
            from ponzoni_eval._core.words import terms

            fit = terms("fit.label", language)  # a fit label is one term ("partial agreement"), never words to translate one by one
            out[column] = values.map(lambda v: "" if is_missing(v) else fit.get(str(v), _humanise(str(v), language)))
        else:
            out[column] = values.map(lambda v, c=column: "" if is_missing(v) else _humanise(str(v), language, c))
    shown = pd.DataFrame(out, index=table.index)
    shown.columns = [_column_label(column, language) for column in shown.columns]
    return FormattedTable(shown.reset_index(drop=True), tuple(notes), omitted)


def _format_numbers(column: str, values: "pd.Series", language: str) -> "pd.Series":
    """Numbers at the precision they are reported with: counts whole, percentages whole, df as needed, else 2 decimals."""
    from ponzoni_eval._core.numbers import MISSING, format_number, format_plain, is_missing

    if _is_count(column):
        return values.map(lambda v: MISSING if is_missing(v) else format_number(v, 0, language=language))
    if column in _PERCENT_COLUMNS:
        return values.map(lambda v: MISSING if is_missing(v) else format_number(v, 0, language=language) + "%")
    if column in _SHARE_COLUMNS:
        return values.map(lambda v: MISSING if is_missing(v) else format_number(100 * float(v), 0, language=language) + "%")
    if column == "df":
        return values.map(lambda v: MISSING if is_missing(v) else (format_plain(round(float(v), 1), language=language)))
    if column == "month":
        return values.map(lambda v: MISSING if is_missing(v) else str(v)[:7])
    return values.map(lambda v: MISSING if is_missing(v) else format_number(v, 2, language=language))
