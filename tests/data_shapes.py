"""Data shapes an evaluator may have, cut from the synthetic example (issue 14).

`write_shape(folder, Shape(...))` writes a raw folder with some cases, some
waves, with or without interviews, double coding and an activity log: the
example's tables with parts dropped, as CSV (the interviews as the three CSV
tables, or header-only files when ``header_only_optional``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd

from ponzoni_eval._core.files import write_csv
from ponzoni_eval.data.synthetic import generate
from ponzoni_eval.data.synthetic.generate import _as_csv_frame  # the example's own CSV form

CASES = ("slotervaart", "poelenburg_a", "poelenburg_b")
QDA = ("coded_segments", "codebook", "documents")


@dataclass(frozen=True)
class Shape:
    n_cases: int = 3
    waves: tuple[str, ...] = ("t0", "t1", "t2")
    interviews: bool = True
    double_coding: bool = True
    activity: bool = True
    header_only_optional: bool = False  # absent parts as header-only files (as `templates` writes them)

    @property
    def name(self) -> str:
        parts = [f"{self.n_cases}c", "".join(self.waves)]
        parts += [] if self.interviews else ["noint"]
        parts += [] if self.double_coding or not self.interviews else ["nodouble"]
        parts += [] if self.activity else ["noact"]
        parts += ["header"] if self.header_only_optional else []
        return "-".join(parts)


MATRIX = tuple(
    Shape(n, waves, interviews, double, activity)
    for n, waves, interviews, double, activity in itertools.product(
        (1, 2, 3), (("t0", "t1"), ("t0", "t2"), ("t1", "t2"), ("t0", "t1", "t2")), (True, False), (True, False), (True, False)
    )
    if interviews or not double  # double coding needs interviews
)
"""Every shape of the matrix: 1-3 cases x two or three waves x interviews, double coding, activity log."""


@cache
def _example() -> dict[str, pd.DataFrame]:
    return generate(n_sites=3)


def shape_tables(shape: Shape) -> dict[str, pd.DataFrame]:
    """The example's tables cut to `shape` (absent tables left out)."""
    tables = {name: frame.copy() for name, frame in _example().items()}
    cases = list(CASES[: shape.n_cases])
    keep_case = lambda frame: frame.loc[frame["case_id"].astype("str").isin(cases)]  # noqa: E731
    tables["cases"] = keep_case(tables["cases"])
    tables["participants"] = keep_case(tables["participants"])
    people = set(tables["participants"]["participant_id"].astype("str"))
    survey = tables["survey_responses"]
    tables["survey_responses"] = survey.loc[survey["participant_id"].astype("str").isin(people) & survey["wave"].astype("str").isin(shape.waves)]
    if shape.activity:
        tables["activity_log"] = keep_case(tables["activity_log"])
    else:
        del tables["activity_log"]
    if shape.interviews:
        segments = keep_case(tables["coded_segments"])
        segments = segments.loc[segments["wave"].isna() | segments["wave"].astype("str").isin(shape.waves)]
        if not shape.double_coding:  # one coder per document: the first coder of each
            first = segments.groupby("document_id", observed=True)["coder"].transform("first")
            segments = segments.loc[segments["coder"] == first]
        documents = tables["documents"]
        tables["documents"] = documents.loc[documents["document_id"].astype("str").isin(set(segments["document_id"].astype("str")))]
        tables["coded_segments"] = segments
    else:
        for name in QDA:
            del tables[name]
    for name, frame in tables.items():
        for column in frame.columns:
            if isinstance(frame[column].dtype, pd.CategoricalDtype):
                frame[column] = frame[column].cat.remove_unused_categories()
    return tables


def write_shape(folder: Path, shape: Shape) -> Path:
    """Write the raw folder of `shape` as CSV files; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    tables = shape_tables(shape)
    for name, frame in tables.items():
        write_csv(_as_csv_frame(frame.reset_index(drop=True)), folder / f"{name}.csv")
    if shape.header_only_optional:
        example = _example()
        for name in ("activity_log", *QDA):
            if name not in tables:
                write_csv(_as_csv_frame(example[name].iloc[:0]), folder / f"{name}.csv")
    return folder
