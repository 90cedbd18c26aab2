"""The run's `index.html`: every report, table, figure and document of the run folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

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


def write_index(run_dir: Path, manifest: Mapping[str, Any], registry: Mapping[str, Any]) -> None:
    """``index.html``: every report, table and figure, with relative links only that exist."""
    from importlib import resources

    import jinja2

    notebooks = []
    for entry in manifest["notebooks"]:
        candidates = (("report", entry["html"]["report"]), ("with code", entry["html"]["code"]), ("notebook", entry["executed"]))
        notebooks.append({**entry, "links": [(label, href) for label, href in candidates if (run_dir / href).is_file()]})
    template = resources.files("ponzoni_eval").joinpath("resources/run_index.html").read_text(encoding="utf-8")
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    page = environment.from_string(template).render(
        manifest={**manifest, "notebooks": notebooks}, registry=registry, verify_path=_shown(run_dir)
    )
    atomic_write_bytes(run_dir / "index.html", page.encode("utf-8"))
