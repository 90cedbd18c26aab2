"""Statistics of the study's questions, one public function per question, in the standard result shape.

Tidy frames in (`transforms` makes them from the processed tables), `RESULT_COLUMNS` out;
numbers checked against R and published examples (tests/reference/).
"""

from ponzoni_eval.stats.constants import (
    ALPHA,
    CI_LEVEL,
    MIN_PAIRS,
    POWER,
    DEFAULT_SEED,
)
from ponzoni_eval.stats.transforms import (
    SCORE_COLUMNS,
    CHANGE_COLUMNS,
    MONTHLY_COLUMNS,
    ITEM_RESPONSE_COLUMNS,
    WAVE_DTYPE,
    score_scales,
    item_responses,
    change_scores,
    monthly_activity,
)
from ponzoni_eval.stats.power import (
    min_detectable_effect,
)
from ponzoni_eval.stats.multitest import (
    ADJUST_METHODS,
    adjust_pvalues,
)
from ponzoni_eval.stats.paired import (
    PairedOptions,
    pre_post,
    perception_gap,
    perception_gap_change,
    perception_gap_between_roles,
)
from ponzoni_eval.stats.scale_reliability import (
    reliability,
)
from ponzoni_eval.stats.crosstab import (
    contingency_table,
    crosstab_test,
    expectation_crosstab,
    crosstab_residuals,
)
from ponzoni_eval.stats.ranks import (
    kruskal_dunn,
    mann_whitney,
    change_ancova,
)
from ponzoni_eval.stats.missing import (
    missingness_report,
    missingness_patterns,
    rubin_combine,
    pre_post_imputed,
    delta_sensitivity,
)
from ponzoni_eval.stats.mixed import (
    mixed_model,
    marginal_means,
)
from ponzoni_eval.stats.ordinal import (
    ordinal_model,
)
from ponzoni_eval.stats.timeseries import (
    HELP_SEEKING_EVENT,
    interrupted_time_series,
    its_case_differences,
    its_trajectories,
    its_sensitivity,
    count_regression,
)

__all__ = [
    "ALPHA",
    "CI_LEVEL",
    "MIN_PAIRS",
    "POWER",
    "DEFAULT_SEED",
    "SCORE_COLUMNS",
    "CHANGE_COLUMNS",
    "MONTHLY_COLUMNS",
    "ITEM_RESPONSE_COLUMNS",
    "WAVE_DTYPE",
    "score_scales",
    "item_responses",
    "change_scores",
    "monthly_activity",
    "min_detectable_effect",
    "ADJUST_METHODS",
    "adjust_pvalues",
    "PairedOptions",
    "pre_post",
    "perception_gap",
    "perception_gap_change",
    "perception_gap_between_roles",
    "reliability",
    "contingency_table",
    "crosstab_test",
    "expectation_crosstab",
    "crosstab_residuals",
    "kruskal_dunn",
    "mann_whitney",
    "change_ancova",
    "missingness_report",
    "missingness_patterns",
    "rubin_combine",
    "pre_post_imputed",
    "delta_sensitivity",
    "mixed_model",
    "marginal_means",
    "ordinal_model",
    "HELP_SEEKING_EVENT",
    "interrupted_time_series",
    "its_case_differences",
    "its_trajectories",
    "its_sensitivity",
    "count_regression",
]
