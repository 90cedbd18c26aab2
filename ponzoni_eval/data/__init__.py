"""Raw data in, processed data out: the data dictionary (schemas), reading, validation, the processed folder, templates and the synthetic example.

Names load on first use (`ponzoni_eval._core.lazy`): the command line and a run's own process import
this package without pandas until a command needs it.
"""

from __future__ import annotations

from ponzoni_eval._core.lazy import attach

_SURFACE = {
    "read": [
        "DataWarning",
        "RawData",
        "TableRead",
        "read_table",
        "read_table_collecting",
        "read_raw_dir",
        "read_dataset_metadata",
        "cell_problems",
        "to_categorical",
        "MAX_PROBLEMS_PER_RULE",
        "QDA_TABLES",
        "QDA_MAPPING_FILE",
    ],
    "validate": [
        "ValidationReport",
        "validate_dir",
        "validate_raw",
        "print_report",
        "print_problems",
        "CROSS_TABLE_RULES",
        "EARLIEST_DATE",
    ],
    "preparation": [
        "prepare",
        "is_current",
        "processed_tables",
        "redaction_terms",
        "integration_overrides",
        "REDACTION_TERMS",
        "REDACTION_NOTE",
        "REDACTION_NAMES_FILE",
        "INTEGRATION_OVERRIDES",
    ],
    "processed": [
        "load_processed",
    ],
    "dictionary": [
        "render_dictionary",
        "render_template_guide",
        "FORMATS",
    ],
    "plan": [
        "RunPlan",
        "PlanEntry",
        "data_profile",
        "run_plan",
        "pre_post_pair",
        "SECTIONS",
        "NOTEBOOK_NEEDS",
        "print_plan",
    ],
    "reshape": [
        "reshape_wide",
        "parse_waves",
        "write_long",
    ],
    "templates": [
        "write_templates",
        "template_tables",
        "SCALES_BY_SECTION",
    ],
    "synthetic": [
        "DEFAULT_SEED",
        "EFFECTS",
        "INTERVIEWS_FILE",
        "effects",
        "generate",
        "write_example",
    ],
}

__getattr__, __dir__, __all__ = attach(__name__, _SURFACE)
