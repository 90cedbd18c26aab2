"""Fit rules: how each strand is classified and how the two are judged to fit (O'Cathain et al. 2010; Fetters et al. 2013).

Labels, as in the sources (`FIT_LABELS`; the reader's words are ``fit.label`` / ``fit.meaning`` /
``fit.source`` of the words tables, which give the citation of each):

- **agreement**: both strands are conclusive and point the same way (O'Cathain, Murphy & Nicholl
  2010: agreement; Fetters, Curry & Creswell 2013: *confirmation*).
- **partial agreement**: one strand is conclusive in the expected direction, the other has data but
  is not conclusive (O'Cathain et al. 2010: partial agreement; Fetters et al. have no equivalent:
  their *expansion* means the strands address different aspects, which the rule cannot judge).
- **dissonance**: the strands point in opposite directions, or one strand is conclusive *against*
  the expected direction (a significant contrary result) while the other has data and does not
  share that verdict (O'Cathain et al. 2010: dissonance; Fetters et al. 2013: *discordance*).
- **silence**: the construct is present in one strand only, the other has no data (O'Cathain et al.
  2010: silence; no Fetters equivalent).
- **inconclusive**: both strands have data but neither is conclusive, or neither has data: no
  integrated inference (not a label of the sources; O'Cathain et al. reserve silence for one strand).

Decision table (`FIT_RULE`; negligible counts as contrary, mixed as inconclusive)::

    quantitative \\ qualitative | supportive   contrary     inconclusive  absent
    ---------------------------+------------------------------------------------------
    supportive                 | agreement    dissonance   partial       silence
    contrary                   | dissonance   agreement    dissonance    silence
    inconclusive               | partial      dissonance   inconclusive  silence
    absent                     | silence      silence      silence       inconclusive

Equal evidence standards: a quantitative row is conclusive when its 95% CI excludes the null
*and* its p-value, adjusted as the analysis plan says (Holm within the primary family), is below
alpha; a qualitative share is conclusive when its Wilson 95% interval reaches the threshold
(`wilson_interval`), a between-role contrast when Fisher's exact test (Holm within the cell) is.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ponzoni_eval._core.words import LANGUAGES, terms

__all__ = [
    "FIT_LABELS",
    "FIT_RULE",
    "FIT_COLOURS",
    "FETTERS_FIT",
    "CODE_DIRECTIONS",
    "classify_quantitative",
    "classify_qualitative",
    "classify_contrasts",
    "fit_label",
    "wilson_interval",
    "fisher_exact",
    "holm",
    "FIT_TEXT",
]


FIT_LABELS = ("agreement", "partial agreement", "dissonance", "silence", "inconclusive")
"""The fit labels (O'Cathain et al., 2010, plus inconclusive; see the module docstring)."""

QUANT_DIRECTIONS = ("greater", "less")
CODE_DIRECTIONS = ("supports", "contradicts", "context")

_RULE_ROWS = ("supportive", "contrary", "inconclusive", "absent")
_RULE_TABLE = (
    ("agreement", "dissonance", "partial agreement", "silence"),
    ("dissonance", "agreement", "dissonance", "silence"),
    ("partial agreement", "dissonance", "inconclusive", "silence"),
    ("silence", "silence", "silence", "inconclusive"),
)
FIT_RULE: dict[tuple[str, str], str] = {
    (quant, qual): _RULE_TABLE[i][j] for i, quant in enumerate(_RULE_ROWS) for j, qual in enumerate(_RULE_ROWS)
}
"""The decision table of the module docstring: (quantitative, qualitative) -> fit label."""

# Evidence labels -> the row/column of FIT_RULE they fall in.
QUANT_TO_RULE = {
    "supportive": "supportive",
    "contrary": "contrary",
    "negligible": "contrary",
    "mixed": "inconclusive",
    "inconclusive": "inconclusive",
    "absent": "absent",
}
QUAL_TO_RULE = {
    "supportive": "supportive",
    "contrary": "contrary",
    "mixed": "inconclusive",
    "inconclusive": "inconclusive",
    "absent": "absent",
}

FETTERS_FIT = {
    "agreement": "confirmation",
    "partial agreement": "",
    "dissonance": "discordance",
    "silence": "",
    "inconclusive": "",
}
"""Fetters, Curry & Creswell (2013)'s names for the same judgements ("" where the source has none)."""

# Okabe-Ito colours (colour-blind safe); every cell also carries the label as text.
FIT_COLOURS = {
    "agreement": "#56B4E9",  # sky blue
    "partial agreement": "#F0E442",  # yellow
    "dissonance": "#E69F00",  # orange
    "silence": "#D9D9D9",  # grey
    "inconclusive": "#FFFFFF",  # white
}

FIT_TEXT = {language: dict(terms("fit.label", language)) for language in LANGUAGES}
"""The fit labels as a reader sees them, per language (``fit.label`` of the words tables)."""
FIT_MEANING = {language: dict(terms("fit.meaning", language)) for language in LANGUAGES}
"""What each fit label means, per language (``fit.meaning`` of the words tables)."""

DEFAULT_QUAL_THRESHOLD = 0.30
DEFAULT_ALPHA = 0.05
POOLED_CASE = "all"


# --- statistics the rule needs (integrate does not import stats) ---------------------------


def wilson_interval(count, total, *, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a proportion (statsmodels ``proportion_confint(method="wilson")``).

    NaN where ``total`` is 0 or missing.

    Examples
    --------
    >>> low, high = wilson_interval([81, 7], [263, 18])
    >>> low.round(4).tolist(), high.round(4).tolist()
    ([0.2553, 0.2031], [0.3662, 0.6138])
    """
    from statsmodels.stats.proportion import proportion_confint

    count = np.asarray(count, dtype="float64")
    total = np.asarray(total, dtype="float64")
    usable = ~np.isnan(count) & ~np.isnan(total) & (total > 0)
    low = np.full(count.shape, np.nan)
    high = np.full(count.shape, np.nan)
    if usable.any():
        lo, hi = proportion_confint(count[usable], total[usable], alpha=alpha, method="wilson")
        low[usable], high[usable] = np.clip(lo, 0, 1), np.clip(hi, 0, 1)
    return low, high


def fisher_exact(a: int, b: int, c: int, d: int) -> float:
    """Two-sided p-value of Fisher's exact test of the 2 x 2 table [[a, b], [c, d]] (scipy).

    Examples
    --------
    >>> round(fisher_exact(3, 1, 1, 3), 4)  # Fisher's tea-tasting lady
    0.4857
    """
    from scipy.stats import fisher_exact as scipy_fisher

    return float(scipy_fisher([[int(a), int(b)], [int(c), int(d)]], alternative="two-sided").pvalue)


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjustment (R ``p.adjust(p, "holm")``); NaN stays NaN and is not counted.

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03, float("nan")]).round(2).tolist()
    [0.03, 0.06, 0.06, nan]
    """
    p = np.asarray(p_values, dtype="float64")
    out = np.full(p.shape, np.nan)
    present = np.flatnonzero(~np.isnan(p))
    m = len(present)
    if m == 0:
        return out
    order = present[np.argsort(p[present], kind="stable")]
    stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out[order] = np.minimum(stepped, 1.0)
    return out


# --- evidence and fit ----------------------------------------------------------------


def classify_quantitative(
    estimate,
    ci_low,
    ci_high,
    p_value,
    *,
    direction,
    null_value=0.0,
    smallest_meaningful=None,
    alpha: float = DEFAULT_ALPHA,
    basis: str = "ci",
) -> np.ndarray:
    """Label each result row as supportive, contrary, negligible, inconclusive or absent.

    Parameters
    ----------
    estimate, ci_low, ci_high : array-like of float
        Effect size and its 95% CI (NaN where missing).
    p_value : array-like of float
        The p-value that decides, adjusted as the plan says (Holm within the primary family; a
        secondary row's own p-value). NaN: the CI alone decides.
    direction : str or array-like of str
        ``"greater"`` or ``"less"``: where a supportive effect lies relative to ``null_value``.
    null_value, smallest_meaningful : float or array-like
        The effect of no change and (NaN/None = not set) the smallest effect that would matter.
    alpha : float
    basis : {"ci", "estimate"}
        ``"ci"`` (the claims): the CI and the adjusted p-value. ``"estimate"`` (a sensitivity
        view, never a claim): the point estimate against the smallest meaningful effect.

    Notes
    -----
    Basis "ci": with s = +1 (greater) or -1 (less), the CI is moved to the supportive scale,
    L = min(s(lo - null), s(hi - null)), U = max(...). Supportive if L > 0 and p < alpha (or no
    p); contrary if U < 0 and p < alpha (or no p); negligible if the smallest meaningful effect
    m = s(smallest - null) is set and U < m; inconclusive otherwise (a CI that excludes the null
    while the adjusted p does not reach alpha is inconclusive). Without a CI: supportive /
    contrary when p < alpha on that side. No estimate, CI or p-value: absent.

    Basis "estimate": with c = s(estimate - null): supportive if c >= m, contrary if -c >= m,
    inconclusive otherwise, also when no smallest meaningful effect is set (then the estimate
    alone says nothing); absent without an estimate.

    Examples
    --------
    >>> classify_quantitative([0.5, 0.1, -0.4, 0.5], [0.1, -0.3, -0.7, 0.1], [0.9, 0.5, -0.1, 0.9], [0.01, 0.6, 0.02, 0.2],
    ...                       direction="greater").tolist()
    ['supportive', 'inconclusive', 'contrary', 'inconclusive']
    """
    estimate, ci_low, ci_high, p_value = (np.asarray(a, dtype="float64") for a in (estimate, ci_low, ci_high, p_value))
    shape = estimate.shape
    direction = np.broadcast_to(np.asarray(direction, dtype=object), shape)
    sign = np.where(direction == "less", -1.0, 1.0)
    null = np.broadcast_to(np.asarray(null_value, dtype="float64"), shape)
    smallest = np.broadcast_to(np.asarray(np.nan if smallest_meaningful is None else smallest_meaningful, dtype="float64"), shape)
    meaningful = sign * (smallest - null)

    has_ci = ~np.isnan(ci_low) & ~np.isnan(ci_high)
    lower = np.fmin(sign * (ci_low - null), sign * (ci_high - null))
    upper = np.fmax(sign * (ci_low - null), sign * (ci_high - null))
    centred = sign * (estimate - null)
    has_p = ~np.isnan(p_value)
    significant = has_p & (p_value < alpha)
    with np.errstate(invalid="ignore"):
        if basis == "ci":
            passes = significant | ~has_p
            supportive = np.where(has_ci, (lower > 0) & passes, significant & (centred > 0))
            contrary = np.where(has_ci, (upper < 0) & passes, significant & (centred < 0))
            negligible = has_ci & ~np.isnan(meaningful) & (upper < meaningful)
            has_any = ~np.isnan(estimate) | has_ci | has_p
        elif basis == "estimate":
            set_ = ~np.isnan(meaningful)
            supportive = set_ & (centred >= meaningful)
            contrary = set_ & (-centred >= meaningful)
            negligible = np.zeros(shape, dtype=bool)
            has_any = ~np.isnan(estimate)
        else:
            raise ValueError(f"basis must be 'ci' or 'estimate', got {basis!r}")
    return np.select(
        [~has_any, supportive, contrary, negligible],
        ["absent", "supportive", "contrary", "negligible"],
        default="inconclusive",
    )


def classify_qualitative(
    support_low,
    contrary_low,
    mentioned,
    *,
    threshold: float = DEFAULT_QUAL_THRESHOLD,
) -> np.ndarray:
    """Label qualitative evidence as supportive, contrary, mixed, inconclusive or absent, judged on intervals.

    Parameters
    ----------
    support_low, contrary_low : array-like of float
        The largest lower end of the Wilson 95% interval among the codes that support /
        contradict the construct (`wilson_interval` of n of the matched interviewees); NaN when
        there is no such code.
    mentioned : array-like of bool
        Whether any matched interviewee mentioned a linked code (context codes included).
    threshold : float
        The share a side's interval must reach (its lower end >= threshold).

    Examples
    --------
    >>> classify_qualitative([0.36, 0.32, 0.20, float("nan")], [0.05, 0.31, 0.0, float("nan")], [True, True, True, False]).tolist()
    ['supportive', 'mixed', 'inconclusive', 'absent']
    """
    support = np.nan_to_num(np.asarray(support_low, dtype="float64"), nan=0.0)
    against = np.nan_to_num(np.asarray(contrary_low, dtype="float64"), nan=0.0)
    mentioned = np.asarray(mentioned, dtype=bool)
    reaches = lambda low: low >= threshold - 1e-12  # noqa: E731
    return np.select(
        [~mentioned, reaches(support) & reaches(against), reaches(support), reaches(against)],
        ["absent", "mixed", "supportive", "contrary"],
        default="inconclusive",
    )


def classify_contrasts(higher_share, lower_share, p_adjusted, mentioned, *, alpha: float = DEFAULT_ALPHA) -> np.ndarray:
    """Label between-role contrasts (one per code): supportive when the expected role mentions it significantly more.

    Parameters
    ----------
    higher_share, lower_share : array-like of float
        Share of the role expected to mention the code more / less.
    p_adjusted : array-like of float
        Fisher's exact test of role x mention, Holm-adjusted over the contrasts of the cell.
    mentioned : array-like of bool
        Whether anyone of the two roles mentioned the code.

    Examples
    --------
    >>> classify_contrasts([0.6, 0.1, 0.5, 0.0], [0.1, 0.6, 0.4, 0.0], [0.01, 0.02, 0.7, float("nan")], [True, True, True, False]).tolist()
    ['supportive', 'contrary', 'inconclusive', 'absent']
    """
    higher = np.asarray(higher_share, dtype="float64")
    lower = np.asarray(lower_share, dtype="float64")
    p = np.asarray(p_adjusted, dtype="float64")
    mentioned = np.asarray(mentioned, dtype=bool)
    with np.errstate(invalid="ignore"):
        significant = ~np.isnan(p) & (p < alpha)
        return np.select(
            [~mentioned, significant & (higher > lower), significant & (higher < lower)],
            ["absent", "supportive", "contrary"],
            default="inconclusive",
        )


def fit_label(quantitative, qualitative) -> np.ndarray:
    """The fit label of each pair of evidence labels, by the decision table `FIT_RULE`.

    Examples
    --------
    >>> fit_label(["supportive", "contrary", "mixed", "inconclusive"], ["supportive", "inconclusive", "contrary", "absent"]).tolist()
    ['agreement', 'dissonance', 'dissonance', 'silence']
    """
    quant = pd.Series(np.asarray(quantitative, dtype=object)).map(QUANT_TO_RULE)
    qual = pd.Series(np.asarray(qualitative, dtype=object)).map(QUAL_TO_RULE)
    if quant.isna().any() or qual.isna().any():
        raise ValueError(f"unknown evidence label; quantitative: {sorted(QUANT_TO_RULE)}, qualitative: {sorted(QUAL_TO_RULE)}")
    keys = pd.Series(list(zip(quant, qual)), dtype=object)
    return keys.map(FIT_RULE).to_numpy(dtype=object)
