"""Empty templates (headers only) for an evaluator's raw tables, with a guide."""

from __future__ import annotations

from pathlib import Path

from ponzoni_eval._core.errors import DataError
from ponzoni_eval._core.files import atomic_write_text
from ponzoni_eval.data import schema
from ponzoni_eval.data.dictionary import render_template_guide
from ponzoni_eval.integrate.plan import PLAN_FILENAME, plan_template

__all__ = [
    "write_templates",
]


# --- templates --------------------------------------------------------------------


def write_templates(out_dir: Path | str) -> list[Path]:
    """Write one header-only CSV per table, a ``README.md`` guide and an ``analysis_plan.toml`` for evaluators.

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
    targets = {out_dir / f"{table}.csv": ",".join(spec.schema.columns) + "\n" for table, spec in schema.TABLES.items()}
    targets[out_dir / "README.md"] = render_template_guide()
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
