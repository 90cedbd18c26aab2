"""The study's vocabulary: roles, waves, event types and the column names that mean the same thing in every table."""

from __future__ import annotations



# --- vocabulary -------------------------------------------------------------

ROLES = ("professional", "migrant_org", "parent")
"""Who a participant is: a formal parenting-support worker (youth team,
opvoedondersteuner), a member of a migrant (self-)organisation, or a parent."""

WAVES = ("t0", "t1", "t2")
"""Survey waves: t0 before the collaboration, t1 after the joint positive goal
was set, t2 follow-up."""

WAVE_LABELS = {
    "t0": "before (baseline)",
    "t1": "after the joint positive goal",
    "t2": "follow-up",
}

EVENT_TYPES = (
    "joint_meeting",
    "joint_activity",
    "parenting_question_to_youth_team",
    "referral_to_youth_team",
    "parents_attending",
)
"""Process events counted in the activity log."""

MEMO_KINDS = ("project", "code", "document", "selection", "coding", "case")
"""What a memo imported from a QDA project annotates (``memos.annotates``)."""

MISSING_REASONS = ("not_answered", "dont_know", "not_applicable", "dropped_out", "not_administered")
"""Why a survey value is missing (optional; empty means unknown)."""

MEASUREMENT_LEVELS = ("ordinal", "nominal", "interval")

MIXED_STRUCTURES = ("intercept", "slope", "unstructured", "compare")
"""Covariance structures of the mixed model (`stats.mixed_model`'s ``structure``; the analysis plan's
``mixed_structure``): random intercept (default), random slope of wave, unstructured (MMRM), or the
REML likelihood-ratio choice between intercept and slope."""

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"
"""Identifiers: letters, digits, '_', '.', '-'; no spaces (pseudonyms, not names)."""

# Canonical column names, so code never types a string twice.
CASE_ID = "case_id"
PARTICIPANT_ID = "participant_id"
ROLE = "role"
WAVE = "wave"
ITEM_ID = "item_id"
SCALE = "scale"
VALUE = "value"
CODE = "code"
CODER = "coder"
DOCUMENT_ID = "document_id"
EVENT_TYPE = "event_type"
MONTH = "month"
COUNT = "count"
