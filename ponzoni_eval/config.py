"""Constants shared across the layers, in one place, with no import-time side effects.

What more than one module needs lives here and is imported from here: the
seed, the small-cell threshold, the report languages and the file names that
several modules read or write. Some are re-exported where they are used most
(`ponzoni_eval.privacy.DEFAULT_MIN_CELL`, `ponzoni_eval.stats.DEFAULT_SEED`,
`ponzoni_eval.data.DEFAULT_SEED`), always the same object. The report languages are the words
files under `resources/words/` (`ponzoni_eval._core.words.LANGUAGES`).
"""

DEFAULT_SEED = 20170616
"""The project's one random seed: the synthetic example, bootstraps, Monte Carlo p-values and the run's default."""

DEFAULT_MIN_CELL = 5
"""Published counts of people from 1 to DEFAULT_MIN_CELL - 1 are suppressed (`privacy.suppress_small_cells`)."""

MANIFEST_FILE = "manifest.json"
"""Name of the manifest in a processed-data folder (written by `prepare`) and in a run folder (written by the run)."""

DATASET_METADATA_FILE = "dataset.toml"
"""Name of the dataset description in a raw-data folder (read by `prepare`, written by the synthetic example)."""
