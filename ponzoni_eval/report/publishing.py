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

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable, Mapping

from ponzoni_eval._core.reproducibility import PRECISIONS
from ponzoni_eval.config import DEFAULT_MIN_CELL
from ponzoni_eval.privacy.suppress import CountRules

if TYPE_CHECKING:  # pragma: no cover - typing only; kept out of light imports
    import pandas as pd

__all__ = ["TableSpec", "Section", "MAIN_TABLE", "published"]

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
