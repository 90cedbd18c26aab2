"""Fit rules: how a quantitative and a qualitative strand are classified and judged to agree (Fetters' fit labels)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ponzoni_eval._core.words import LANGUAGES, terms

__all__ = [
    "FIT_LABELS",
    "FIT_RULE",
    "FIT_COLOURS",
    "CODE_DIRECTIONS",
    "classify_quantitative",
    "classify_qualitative",
    "fit_label",
    "FIT_TEXT",
]


FIT_LABELS = ("agreement", "partial agreement", "silence", "dissonance")
"""The triangulation protocol's fit labels (O'Cathain et al., 2010)."""

QUANT_DIRECTIONS = ("greater", "less")
CODE_DIRECTIONS = ("supports", "contradicts", "context")

# The decision table of the module docstring: (quantitative, qualitative) -> fit label.
FIT_RULE: dict[tuple[str, str], str] = {
    ("supportive", "supportive"): "agreement",
    ("supportive", "contrary"): "dissonance",
    ("supportive", "inconclusive"): "partial agreement",
    ("supportive", "absent"): "silence",
    ("contrary", "supportive"): "dissonance",
    ("contrary", "contrary"): "agreement",
    ("contrary", "inconclusive"): "partial agreement",
    ("contrary", "absent"): "silence",
    ("inconclusive", "supportive"): "partial agreement",
    ("inconclusive", "contrary"): "partial agreement",
    ("inconclusive", "inconclusive"): "silence",
    ("inconclusive", "absent"): "silence",
    ("absent", "supportive"): "silence",
    ("absent", "contrary"): "silence",
    ("absent", "inconclusive"): "silence",
    ("absent", "absent"): "silence",
}

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
    "partial agreement": "expansion",
    "dissonance": "discordance",
    "silence": "",
}
"""Fetters, Curry & Creswell (2013)'s names for the same judgements."""

# Okabe-Ito colours (colour-blind safe); every cell also carries the label as text.
FIT_COLOURS = {
    "agreement": "#56B4E9",  # sky blue
    "partial agreement": "#F0E442",  # yellow
    "silence": "#D9D9D9",  # grey
    "dissonance": "#E69F00",  # orange
}

FIT_TEXT = {language: dict(terms("fit.label", language)) for language in LANGUAGES}
"""The fit labels as a reader sees them, per language (``fit.label`` of the words tables)."""
FIT_MEANING = {language: dict(terms("fit.meaning", language)) for language in LANGUAGES}
"""What each fit label means, per language (``fit.meaning`` of the words tables)."""

DEFAULT_QUAL_THRESHOLD = 0.30
DEFAULT_ALPHA = 0.05
POOLED_CASE = "all"


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
    estimate, ci_low, ci_high, p_value : array-like of float
        Effect size, its CI and p-value (NaN where missing).
    direction : str or array-like of str
        ``"greater"`` or ``"less"``: where a supportive effect lies relative to
        ``null_value``.
    null_value, smallest_meaningful : float or array-like
        The effect of no change and, optionally (NaN/None = not set), the
        smallest effect that would matter.
    alpha : float
        Used only for rows without a CI.
    basis : {"ci", "estimate"}
        ``"ci"`` (default): judge by the 95% CI. ``"estimate"``: judge by the
        point estimate against the smallest meaningful effect (descriptive
        triangulation for samples too small for any CI to be conclusive).

    Returns
    -------
    numpy array of str

    Notes
    -----
    Basis "ci": with s = +1 (greater) or -1 (less), the CI is moved to the supportive
    scale, L = min(s(lo - null), s(hi - null)), U = max(...). Then supportive
    if L > 0, contrary if U < 0, negligible if U < s(smallest - null),
    inconclusive otherwise (strict inequalities: a bound on the null does not
    exclude it). Without a CI: supportive/contrary when p < alpha and the
    estimate lies on that side, inconclusive otherwise; no estimate, no CI and
    no p-value: absent.

    Basis "estimate": with c = s(estimate - null) and m = s(smallest - null)
    (0 when not set): supportive if c > 0 and c >= m; contrary if c < 0 and
    -c >= m; negligible if m is set and |c| < m; inconclusive otherwise (no
    smallest effect and c = 0); absent without an estimate.

    Examples
    --------
    >>> classify_quantitative([0.5, 0.1, -0.4], [0.1, -0.3, -0.7], [0.9, 0.5, -0.1], [0.01, 0.6, 0.02],
    ...                       direction="greater").tolist()
    ['supportive', 'inconclusive', 'contrary']
    """
    estimate, ci_low, ci_high, p_value = (np.asarray(a, dtype="float64") for a in (estimate, ci_low, ci_high, p_value))
    shape = estimate.shape
    direction = np.broadcast_to(np.asarray(direction, dtype=object), shape)
    sign = np.where(direction == "less", -1.0, 1.0)
    null = np.broadcast_to(np.asarray(null_value, dtype="float64"), shape)
    smallest = np.broadcast_to(np.asarray(np.nan if smallest_meaningful is None else smallest_meaningful, dtype="float64"), shape)

    has_ci = ~np.isnan(ci_low) & ~np.isnan(ci_high)
    lower = np.fmin(sign * (ci_low - null), sign * (ci_high - null))
    upper = np.fmax(sign * (ci_low - null), sign * (ci_high - null))
    centred = sign * (estimate - null)
    significant = ~np.isnan(p_value) & (p_value < alpha)
    with np.errstate(invalid="ignore"):
        supportive = np.where(has_ci, lower > 0, significant & (centred > 0))
        contrary = np.where(has_ci, upper < 0, significant & (centred < 0))
        negligible = has_ci & ~np.isnan(smallest) & (upper < sign * (smallest - null))
    has_any = ~np.isnan(estimate) | has_ci | ~np.isnan(p_value)
    if basis == "estimate":
        meaningful = np.nan_to_num(sign * (smallest - null), nan=0.0)
        with np.errstate(invalid="ignore"):
            supportive = (centred > 0) & (centred >= meaningful)
            contrary = (centred < 0) & (-centred >= meaningful)
            negligible = ~np.isnan(smallest) & (np.abs(centred) < meaningful)
        has_any = ~np.isnan(estimate)
    elif basis != "ci":
        raise ValueError(f"basis must be 'ci' or 'estimate', got {basis!r}")
    return np.select(
        [~has_any, supportive, contrary, negligible],
        ["absent", "supportive", "contrary", "negligible"],
        default="inconclusive",
    )


def classify_qualitative(
    support_share,
    contrary_share,
    mentioned,
    *,
    threshold: float = DEFAULT_QUAL_THRESHOLD,
) -> np.ndarray:
    """Label qualitative evidence as supportive, contrary, mixed, inconclusive or absent.

    Parameters
    ----------
    support_share, contrary_share : array-like of float
        Largest share of participants (0-1) mentioning a supporting /
        contradicting code; NaN when there is no such code or it is unknown
        (suppressed), counted as 0.
    mentioned : array-like of bool
        Whether any linked code (supporting, contradicting, context, or a
        suppressed cell) was mentioned at all.
    threshold : float
        Share a side must reach (inclusive).

    Returns
    -------
    numpy array of str

    Examples
    --------
    >>> classify_qualitative([0.5, 0.3, 0.1, 0.0], [0.1, 0.3, 0.0, 0.0], [True, True, True, False]).tolist()
    ['supportive', 'mixed', 'inconclusive', 'absent']
    """
    support = np.nan_to_num(np.asarray(support_share, dtype="float64"), nan=0.0)
    against = np.nan_to_num(np.asarray(contrary_share, dtype="float64"), nan=0.0)
    mentioned = np.asarray(mentioned, dtype=bool)
    # Shares come from n / n_at_risk; compare with a small tolerance so 3/10 counts as 30%.
    reaches = lambda share: share >= threshold - 1e-9  # noqa: E731
    return np.select(
        [
            ~mentioned,
            reaches(support) & (support > against),
            reaches(against) & (against > support),
            reaches(support) & reaches(against),
        ],
        ["absent", "supportive", "contrary", "mixed"],
        default="inconclusive",
    )


def fit_label(quantitative, qualitative) -> np.ndarray:
    """The fit label of each pair of evidence labels, by the decision table `FIT_RULE`.

    Examples
    --------
    >>> fit_label(["supportive", "negligible", "mixed"], ["supportive", "supportive", "contrary"]).tolist()
    ['agreement', 'dissonance', 'partial agreement']
    """
    quant = pd.Series(np.asarray(quantitative, dtype=object)).map(QUANT_TO_RULE)
    qual = pd.Series(np.asarray(qualitative, dtype=object)).map(QUAL_TO_RULE)
    if quant.isna().any() or qual.isna().any():
        raise ValueError(f"unknown evidence label; quantitative: {sorted(QUANT_TO_RULE)}, qualitative: {sorted(QUAL_TO_RULE)}")
    keys = pd.Series(list(zip(quant, qual)), dtype=object)
    return keys.map(FIT_RULE).to_numpy(dtype=object)
