"""The run's manifest (`manifest.json`): what went in, with which parameters and versions, and how each notebook went."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping

from ponzoni_eval._core.files import atomic_write_bytes, json_bytes
from ponzoni_eval.config import MANIFEST_FILE
from ponzoni_eval.pipeline.engine import NotebookResult, NotebookTask

__all__ = [
]


MANIFEST_FORMAT = 1

# Fields of a manifest that differ between two runs of the same inputs by design.
VOLATILE_MANIFEST_KEYS = frozenset({"run_id", "started", "finished", "duration_s"})


def recorded_path(path: Path) -> str:
    """A path as the manifest keeps it: relative to the working folder when inside it (portable)."""
    absolute = path.resolve()
    try:
        return absolute.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return absolute.as_posix()


def now() -> datetime:
    return datetime.now().astimezone()


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def analysis_plan_entry(processed_dir: Path) -> dict[str, Any]:
    """The analysis plan a run used: file name, SHA-256 and registration date as `prepare` recorded them; ``pre_specified`` False without one.

    Read from the processed ``manifest.json`` (no scientific imports: a run's own process stays light).
    """
    try:
        processed = json.loads((Path(processed_dir) / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"pre_specified": False}
    entry = (processed.get("files") or {}).get("analysis_plan")
    if not entry:
        return {"pre_specified": False}
    # The file name, not its folder: the checksum identifies the plan, and a folder differs between machines (and may name a user).
    return {"file": entry["file"], "sha256": entry["sha256"], "registered": entry["registered"], "pre_specified": True}


def write_manifest(run_dir: Path, manifest: Mapping[str, Any]) -> None:
    atomic_write_bytes(run_dir / MANIFEST_FILE, json_bytes(manifest))


def notebook_entry(task: NotebookTask, run_dir: Path, result: NotebookResult | None, source_sha: str) -> dict[str, Any]:
    recorded_parameters = {k: v for k, v in task.parameters.items() if k not in ("processed_dir", "run_dir")}
    return {
        "name": task.name,
        "notebook": task.notebook,
        "case_id": task.case_id,
        "source_sha256": source_sha,
        "parameters": recorded_parameters,
        "executed": Path(task.output).relative_to(run_dir).as_posix(),
        "html": {
            "report": Path(task.html_report).relative_to(run_dir).as_posix(),
            "code": Path(task.html_code).relative_to(run_dir).as_posix(),
        },
        "status": "pending" if result is None else result.status,
        "duration_s": None if result is None else result.duration_s,
        "error": None if result is None else result.error,
    }


def outputs_record(registry: Mapping[str, Any]) -> dict[str, Any]:
    return {kind: {record["name"]: record["sha256"] for record in records} for kind, records in registry.items()}
