"""The style sheet of the pages a reader gets (``resources/document.css``): one home for the reports and the documents.

The reports (`ponzoni_eval.report.document`) and the joint display's documents
(`ponzoni_eval.integrate.export`, a layer below `report`) share one style sheet, so that a table
looks and fits the same in both: A4 width on screen, an A4 print style, headers that wrap only
between words and cells that break a long value rather than widen the page. It lives in the
package's resources and is read here, below both layers. Standard library only.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

__all__ = ["document_css"]


@cache
def document_css() -> str:
    """The shared style sheet's text (inlined in each page, so the page works offline).

    Examples
    --------
    >>> css = document_css()
    >>> "size: A4" in css and "@media print" in css
    True
    """
    return resources.files("ponzoni_eval").joinpath("resources/document.css").read_text(encoding="utf-8")
