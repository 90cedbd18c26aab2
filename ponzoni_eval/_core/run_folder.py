"""The layout of a run folder (tables/, figures/, documents/, outputs.json) and reading it back.

Shared by `ponzoni_eval.report` (which writes the outputs) and `ponzoni_eval.pipeline`
(which collects them); it needs no pandas, so a run's own process stays light.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

from ponzoni_eval._core.errors import DataError
from ponzoni_eval._core.files import atomic_write_bytes, json_bytes

__all__ = [
    "collect_outputs",
    "is_synthetic",
    "OUTPUTS_FILE",
    "TABLES_DIR",
    "FIGURES_DIR",
    "DOCUMENTS_DIR",
]


TABLES_DIR = "tables"
FIGURES_DIR = "figures"
DOCUMENTS_DIR = "documents"
OUTPUTS_FILE = "outputs.json"


def collect_outputs(run_dir: str | os.PathLike) -> dict[str, Any]:
    """Rebuild ``outputs.json`` from the sidecars of every table and figure in a run.

    Notebooks running in parallel each rebuild it after every save; the
    sidecars are the truth, and `run.run_pipeline` calls this once more at the
    end so the registry holds every output whatever the order of writes.

    Returns
    -------
    dict
        ``{"tables": [record, ...], "figures": [record, ...], "documents": [record, ...]}``,
        sorted by name.
    """
    run_dir = Path(run_dir)
    registry: dict[str, Any] = {}
    for kind, folder in (("tables", TABLES_DIR), ("figures", FIGURES_DIR), ("documents", DOCUMENTS_DIR)):
        records = []
        for sidecar in sorted((run_dir / folder).glob("*.json")):
            records.append(json.loads(sidecar.read_text(encoding="utf-8")))
        registry[kind] = records
    atomic_write_bytes(run_dir / OUTPUTS_FILE, json_bytes(registry))
    return registry


def is_synthetic(processed_dir: str | os.PathLike) -> bool:
    """Whether the processed data set says it is synthetic (``"synthetic": true`` in its manifest).

    The flag is read from the top level of ``manifest.json`` or from its
    ``"dataset"`` entry (where `prepare` copies ``dataset.toml``).
    """
    manifest_path = Path(processed_dir) / "manifest.json"
    if not manifest_path.is_file():
        raise DataError(
            "no processed data here; run `ponzoni-eval prepare DATA_DIR` first",
            file=str(manifest_path),
            expected="manifest.json written by prepare",
        )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"manifest is not valid JSON ({exc.msg})", file=str(manifest_path), row=exc.lineno) from None
    dataset = manifest.get("dataset") if isinstance(manifest.get("dataset"), Mapping) else {}
    return bool(manifest.get("synthetic", False) or dataset.get("synthetic", False))
