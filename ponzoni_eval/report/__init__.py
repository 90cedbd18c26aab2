"""What the report notebooks call: one function per report section, the run folder's tables, figures and documents,
sentences generated from results, figures, and data quality.

Names load on first use (`ponzoni_eval._core.lazy`): a notebook's set-up cell does not load the statistics stack.
"""

from __future__ import annotations

from ponzoni_eval._core.lazy import attach

_SURFACE = {
    "outputs": [
        "RunContext",
        "open_run",
        "save_table",
        "save_figure",
        "save_document",
        "synthetic_banner",
        "DOCUMENT_FORMATS",
    ],
    "publishing": [
        "TableSpec",
        "Section",
        "MAIN_TABLE",
        "published",
    ],
    "describe": [
        "format_number",
        "format_p",
        "format_ci",
        "describe_result",
        "describe_change",
        "describe_results",
        "describe_by",
        "describe_range",
        "describe_share",
        "describe_tally",
    ],
    "plots": [
        "Figure",
        "theme",
        "save",
        "label",
        "palette",
        "LABELS",
        "OKABE_ITO",
        "CASE_COLOURS",
        "ROLE_COLOURS",
        "EXPECTATION_COLOURS",
        "FACET_LIMIT",
        "trajectories",
        "perception_gap_dumbbell",
        "help_seeking_its",
        "theme_heatmap",
        "forest",
        "agreement_by_code",
        "expectation_bars",
    ],
    "quality": [
        "data_quality",
        "QUALITY_TABLES",
    ],
    "sections": [
        "JointDisplayInputs",
        "DisplaySection",
        "MIN_CELL",
        "FAMILIES",
        "scores_for",
        "monthly_for",
        "expectation_answers",
        "presence_for",
        "wave_means",
        "rounded",
        "reliability_section",
        "trajectories_section",
        "pre_post_section",
        "perception_gap_section",
        "expectations_section",
        "help_seeking_section",
        "theme_prevalence_section",
        "agreement_section",
        "cross_case_trajectories_section",
        "mixed_model_section",
        "kruskal_dunn_section",
        "help_seeking_cross_section",
        "theme_heatmap_section",
        "expectations_cross_section",
        "integration_map_for",
        "overrides_for",
        "integration_summary",
        "joint_display_inputs",
        "joint_display_section",
        "fit_changes",
        "joint_display_documents",
    ],
}

__getattr__, __dir__, __all__ = attach(__name__, _SURFACE)
