"""The run's `index.html`: every report, table, figure and document of the run folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from ponzoni_eval._core.files import atomic_write_bytes
from ponzoni_eval.pipeline.manifest import recorded_path

__all__ = [
]


# --- index.html ------------------------------------------------------------------------------



def _shown(run_dir: Path) -> str:
    """The run folder as the page names it: relative to the working folder, or its name (a page never shows
    the machine's folder layout)."""
    recorded = recorded_path(run_dir)
    return run_dir.name if Path(recorded).is_absolute() else recorded


def write_index(run_dir: Path, manifest: Mapping[str, Any], registry: Mapping[str, Any], *,
                plan_rows: Sequence[Mapping[str, str]] = (), language: str = "en") -> None:
    """``index.html``: every report, table and figure, with relative links only that exist, and what was skipped and why.

    `plan_rows` are `ponzoni_eval.data.RunPlan.rows` of the run; those that do not run are listed with their reason.
    """
    from ponzoni_eval._core.numbers import format_number, format_plain
    from ponzoni_eval._core.words import term, terms

    from importlib import resources

    import jinja2

    # Every heading, label and number of the page in the run's language (issue 14).
    words = terms("run_index", language)
    notebooks = []
    for entry in manifest["notebooks"]:
        candidates = ((words["link_report"], entry["html"]["report"]), (words["link_code"], entry["html"]["code"]),
                      (words["link_notebook"], entry["executed"]))
        duration = entry.get("duration_s")
        notebooks.append({**entry, "links": [(label, href) for label, href in candidates if (run_dir / href).is_file()],
                          "time": "" if duration is None else f"{format_number(duration, 1, language=language)} s"})
    parameters = manifest["parameters"]
    template = resources.files("ponzoni_eval").joinpath("resources/run_index.html").read_text(encoding="utf-8")
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    page = environment.from_string(template).render(
        manifest={**manifest, "notebooks": notebooks}, registry=registry, verify_path=_shown(run_dir),
        language=language, w=words, banner=term("banner.title", language),
        started=words["started"].format(started=manifest["started"],
                                        seconds=format_number(manifest["duration_s"], 1, language=language)),
        alpha=format_plain(parameters["alpha"], language=language),
        skipped=[row for row in plan_rows if row["runs"] == term("plan.no", language)],
        plan_words={key.split(".")[-1]: term(key, language) for key in (
            "plan.title", "plan.column_notebook", "plan.column_section", "plan.column_case", "plan.column_reason")},
    )
    atomic_write_bytes(run_dir / "index.html", page.encode("utf-8"))
