"""Coded interviews: REFI-QDA and vendor imports (hardened), the REFI-QDA writer, quantitizing codes and intercoder agreement.

Names load on first use (`ponzoni_eval._core.lazy`), so `ponzoni-eval qda-import --help` stays light.
"""

from __future__ import annotations

from ponzoni_eval._core.lazy import attach

_SURFACE = {
    "model": [
        "CODEBOOK_COLUMNS",
        "DOCUMENT_COLUMNS",
        "ImportReport",
        "MEMO_COLUMNS",
        "NS_CODEBOOK",
        "NS_PROJECT",
        "QdaProject",
        "SEGMENT_COLUMNS",
        "VariableMapping",
        "load_mapping",
    ],
    "archive": [
        "ArchiveLimits",
    ],
    "read": [
        "read_qdc",
        "read_qdpx",
    ],
    "write": [
        "write_qdc",
        "write_qdpx",
    ],
    "vendor_tables": [
        "ATLASTI_COLUMNS",
        "MAXQDA_COLUMNS",
        "read_coded_segments_export",
    ],
    "importer": [
        "import_qda",
        "import_qda_project",
        "import_qda_to_folder",
    ],
    "propose": [
        "MappingProposal",
        "propose_mapping",
    ],
    "quantitize": [
        "CODER_RULES",
        "code_presence",
        "group_segments_excluded",
        "presence_matrix",
        "prevalence",
        "PREVALENCE_COUNTS",
        "cooccurrence",
        "theme_crosstab",
    ],
    "intercoder": [
        "STATISTICS",
        "OVERALL",
        "reliability_units",
        "agreement",
        "agreement_coefficients",
        "as_result_frame",
    ],
}

__getattr__, __dir__, __all__ = attach(__name__, _SURFACE)
