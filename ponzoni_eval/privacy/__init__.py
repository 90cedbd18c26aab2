"""Privacy: pseudonym checks, redaction of names in texts, small-cell suppression.

Each is a heuristic with known limits, documented per function (docs/security-and-privacy.md).
"""

from ponzoni_eval.privacy.names import (
    looks_like_name_or_email,
    check_pseudonyms,
    read_name_list,
    participant_names,
    name_variants,
    pseudonymise,
)
from ponzoni_eval.privacy.redaction import (
    redact,
    redact_counted,
    Redacted,
    redact_documents,
    RedactedDocuments,
    NAME_PLACEHOLDER,
    EMAIL_PLACEHOLDER,
    PHONE_PLACEHOLDER,
)
from ponzoni_eval.privacy.suppress import (
    suppress_small_cells,
    format_suppressed,
    CountRules,
    DEFAULT_MIN_CELL,
)

__all__ = [
    "looks_like_name_or_email",
    "check_pseudonyms",
    "read_name_list",
    "participant_names",
    "name_variants",
    "pseudonymise",
    "redact",
    "redact_counted",
    "Redacted",
    "redact_documents",
    "RedactedDocuments",
    "NAME_PLACEHOLDER",
    "EMAIL_PLACEHOLDER",
    "PHONE_PLACEHOLDER",
    "suppress_small_cells",
    "format_suppressed",
    "CountRules",
    "DEFAULT_MIN_CELL",
]
