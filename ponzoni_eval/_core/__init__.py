"""The bottom layer: errors, the result shape, the vocabulary, writing files, checksums, the run folder's layout.

Private to the package and deliberately without a surface of its own: callers
import from the modules (``from ponzoni_eval._core.errors import DataError``),
so that importing one light module never loads the others. The public names
are re-exported where users meet them (`ponzoni_eval.data`, `ponzoni_eval.report`).
"""
