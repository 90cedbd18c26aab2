"""Constants shared across the layers, in one place, with no import-time side effects.

Only what more than one layer needs lives here (the run needs the small-cell
threshold without loading the privacy code and its pandas). Each constant is
re-exported where it is used most (`ponzoni_eval.privacy.DEFAULT_MIN_CELL`).
"""

DEFAULT_MIN_CELL = 5
"""Published counts of people from 1 to DEFAULT_MIN_CELL - 1 are suppressed (`privacy.suppress_small_cells`)."""
