"""The seeded SYNTHETIC example data set with documented built-in effects (not findings of the study).
"""

from ponzoni_eval.data.synthetic.generate import (
    DEFAULT_SEED,
    EFFECTS,
    INTERVIEWS_FILE,
    effects,
    generate,
    write_example,
)

__all__ = [
    "DEFAULT_SEED",
    "EFFECTS",
    "INTERVIEWS_FILE",
    "effects",
    "generate",
    "write_example",
]
