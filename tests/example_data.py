"""The committed SYNTHETIC example, read the way `make run` reads it.

`data/raw/example` -> `prepare.prepare` (validation, and the import of
``interviews.qdpx`` into coded_segments, codebook and documents) ->
`io.load_processed`. Recovery tests start from these tables, so they test the
whole path and not only the generator's in-memory frames.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ponzoni_eval.data.processed import load_processed
from ponzoni_eval.data.preparation import prepare

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "raw" / "example"


def processed_example(out_dir: Path) -> dict[str, pd.DataFrame]:
    """Prepare the committed example into `out_dir` and load the processed tables."""
    manifest = prepare(EXAMPLE, out_dir)
    assert "interviews.qdpx" in manifest["raw_files"] and not (EXAMPLE / "coded_segments.csv").exists()
    return load_processed(out_dir)
