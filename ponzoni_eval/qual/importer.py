"""Import coded interviews from a REFI-QDA project or a vendor's coded-segments table into the package's tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from ponzoni_eval._core.errors import DataError
from ponzoni_eval._core.files import atomic_write_bytes
from ponzoni_eval.qual.model import ImportReport, pseudonymise_users, QdaProject, ThemeFrom, VariableMapping
from ponzoni_eval.qual.read import read_qdpx
from ponzoni_eval.qual.vendor_tables import read_coded_segments_export

__all__ = [
    "import_qda",
    "import_qda_project",
    "import_qda_to_folder",
]


def import_qda(
    path: str | Path,
    *,
    mapping: VariableMapping | Mapping[str, Any] | str | Path | None = None,
    vendor: str = "auto",
    theme_from: ThemeFrom = "top",
    keep_user_names: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, ImportReport]:
    """Any supported QDA export -> (segments, codebook, documents, report).

    ``.qdpx`` / ``.qde`` / ``.qdc`` go through `read_qdpx`; ``.csv`` /
    ``.xlsx`` coded-segment tables through
    `ponzoni_eval.qual.vendor_tables.read_coded_segments_export` (``vendor`` applies).
    This is the one call a pipeline needs to turn a QDA file found among the
    raw data into ``coded_segments`` and ``codebook`` tables.
    """
    project = import_qda_project(path, mapping=mapping, vendor=vendor, theme_from=theme_from,
                                 keep_user_names=keep_user_names)
    return project.segments, project.codebook, project.documents, project.report


def import_qda_project(
    path: str | Path,
    *,
    mapping: VariableMapping | Mapping[str, Any] | str | Path | None = None,
    vendor: str = "auto",
    theme_from: ThemeFrom = "top",
    theme_folders: tuple[str, ...] = (),
    keep_user_names: bool = False,
) -> QdaProject:
    """`import_qda` as a `QdaProject`: the four tables' parts plus ``memos`` (notes and comments).

    Coders and memo authors are pseudonymised (``coder_1``, ``coder_2``... in
    sorted order of their names; `ponzoni_eval.qual.model.pseudonymise_users`)
    unless ``keep_user_names=True``: what an import writes or hands to the
    pipeline never holds the names (often e-mail addresses or logins) of the
    people who coded. `read_qdpx` itself keeps them.
    """
    suffix = Path(path).suffix.casefold()
    if suffix in (".qdpx", ".qde", ".qdc"):
        project = read_qdpx(path, mapping=mapping, theme_from=theme_from, theme_folders=theme_folders)
    elif suffix in (".csv", ".tsv", ".txt", ".xlsx", ".xlsm"):
        project = read_coded_segments_export(path, vendor=vendor, mapping=mapping, theme_from=theme_from)
    else:
        project = None
    if project is not None:
        return project if keep_user_names else pseudonymise_users(project)
    raise DataError("not a QDA export this package reads", file=str(path),
                    expected=".qdpx, .qde, .qdc, or a coded-segments .csv/.xlsx", found=Path(path).suffix,
                    rule="qda_format")


IMPORT_FILES = ("coded_segments.csv", "codebook.csv", "qda_import_report.md", "memos.csv")
"""What `import_qda_to_folder` writes (``memos.csv`` only when the project has memos)."""


def import_qda_to_folder(
    path: str | Path,
    out_dir: str | Path,
    *,
    mapping: VariableMapping | Mapping[str, Any] | str | Path | None = None,
    vendor: str = "auto",
    theme_from: ThemeFrom = "top",
    overwrite: bool = False,
    keep_user_names: bool = False,
    theme_folders: tuple[str, ...] = (),
) -> tuple[dict[str, Path], ImportReport]:
    """`import_qda`, then write ``coded_segments.csv``, ``codebook.csv`` and a Markdown report.

    The CSVs are ready for ``data/raw/<dataset>/``. Existing files are not
    replaced unless ``overwrite=True`` (raw data are never altered by
    accident). A ``.qdc`` gives only ``codebook.csv``.

    Returns
    -------
    written : dict file name -> Path
    report : ImportReport
    """
    out_dir = Path(out_dir)
    project = import_qda_project(path, mapping=mapping, vendor=vendor, theme_from=theme_from,
                                 keep_user_names=keep_user_names, theme_folders=tuple(theme_folders))
    segments, codebook, report = project.segments, project.codebook, project.report
    tables = {"codebook.csv": codebook}
    if report.format != "qdc":
        tables = {"coded_segments.csv": segments, **tables}
    if not project.memos.empty:  # notes and comments: the audit trail, redacted like the transcripts by prepare
        tables["memos.csv"] = project.memos
    names = [*tables, IMPORT_FILES[2]]
    existing = [name for name in names if (out_dir / name).exists()]
    if existing and not overwrite:
        raise DataError("refusing to overwrite existing files; remove them or allow overwriting (--force)",
                        file=str(out_dir), found=existing, rule="overwrite")
    written = {name: atomic_write_bytes(out_dir / name, frame.to_csv(index=False).encode("utf-8"))
               for name, frame in tables.items()}
    written[IMPORT_FILES[2]] = atomic_write_bytes(out_dir / IMPORT_FILES[2], report.to_markdown().encode("utf-8"))
    return written, report
