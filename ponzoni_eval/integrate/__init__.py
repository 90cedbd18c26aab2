"""Integration of numbers and interviews: the integration map, fit rules, quotes, joint displays and their documents.
"""

from ponzoni_eval.integrate.map import (
    SCHEMA_VERSION,
    ResultSelector,
    CodeLink,
    Construct,
    IntegrationMap,
    load_integration_map,
    default_map_path,
    MAP_FILENAME,
)
from ponzoni_eval.integrate.plan import (
    PLAN_FILENAME,
    PlannedResult,
    ConstructPlan,
    AnalysisPlan,
    load_analysis_plan,
    default_plan_path,
    check_plan_against_map,
    plan_record,
    plan_template,
    write_plan_template,
)
from ponzoni_eval.integrate.overrides import (
    read_overrides,
    OVERRIDES_FILENAME,
)
from ponzoni_eval.integrate.fit import (
    FIT_LABELS,
    FIT_RULE,
    FIT_COLOURS,
    FETTERS_FIT,
    CODE_DIRECTIONS,
    classify_quantitative,
    classify_qualitative,
    classify_contrasts,
    fit_label,
    wilson_interval,
    holm,
    FIT_TEXT,
)
from ponzoni_eval.integrate.quotes import (
    select_quotes,
)
from ponzoni_eval.integrate.display import (
    DisplayInputs,
    DisplayOptions,
    Display,
    joint_display,
    statistics_by_themes,
    meta_matrix,
    plan_adjustment,
    PLAN_ADJUSTMENT_KEYS,
)
from ponzoni_eval.integrate.procedure import (
    GRAMMS_ITEMS,
    integration_procedure,
)
from ponzoni_eval.integrate.export import (
    to_html,
    to_markdown,
    to_xlsx,
)

__all__ = [
    "SCHEMA_VERSION",
    "ResultSelector",
    "CodeLink",
    "Construct",
    "IntegrationMap",
    "load_integration_map",
    "default_map_path",
    "MAP_FILENAME",
    "PLAN_FILENAME",
    "PlannedResult",
    "ConstructPlan",
    "AnalysisPlan",
    "load_analysis_plan",
    "default_plan_path",
    "check_plan_against_map",
    "plan_record",
    "plan_template",
    "write_plan_template",
    "read_overrides",
    "OVERRIDES_FILENAME",
    "FIT_LABELS",
    "FIT_RULE",
    "FIT_COLOURS",
    "CODE_DIRECTIONS",
    "classify_quantitative",
    "classify_qualitative",
    "classify_contrasts",
    "wilson_interval",
    "holm",
    "FETTERS_FIT",
    "fit_label",
    "FIT_TEXT",
    "select_quotes",
    "DisplayInputs",
    "DisplayOptions",
    "Display",
    "joint_display",
    "statistics_by_themes",
    "meta_matrix",
    "plan_adjustment",
    "PLAN_ADJUSTMENT_KEYS",
    "GRAMMS_ITEMS",
    "integration_procedure",
    "to_html",
    "to_markdown",
    "to_xlsx",
]
