"""Adjustment of p-values for multiple testing, with R ``p.adjust`` method names."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ponzoni_eval._core.errors import DataError, require_columns
from ponzoni_eval.stats.common import as_tuple

__all__ = [
    "adjust_pvalues",
]


# R p.adjust names (as evaluators know them) -> statsmodels multipletests names.
P_ADJUST = {
    "holm": "holm",
    "bonferroni": "bonferroni",
    "hochberg": "simes-hochberg",
    "bh": "fdr_bh",
    "fdr": "fdr_bh",
    "fdr_bh": "fdr_bh",
    "by": "fdr_by",
    "fdr_by": "fdr_by",
    "sidak": "sidak",
    "holm-sidak": "holm-sidak",
    "none": None,
}


def adjust_p(p_values: np.ndarray, method: str) -> np.ndarray:
    """Adjusted p-values as R ``p.adjust`` gives them (Holm is step-down with monotonicity)."""
    from statsmodels.stats.multitest import multipletests

    key = method.lower()
    if key not in P_ADJUST:
        raise ValueError(f"unknown p_adjust method {method!r}; choose one of {sorted(P_ADJUST)}")
    p = np.asarray(p_values, dtype=float)
    out = np.full_like(p, np.nan)
    finite = np.isfinite(p)
    if P_ADJUST[key] is None or not finite.any():
        out[finite] = p[finite]
        return out
    if P_ADJUST[key] == "holm":
        out[finite] = holm(p[finite])
        return out
    out[finite] = multipletests(p[finite], method=P_ADJUST[key])[1]
    return out


def holm(p: np.ndarray) -> np.ndarray:
    """Holm's step-down adjustment, as R ``p.adjust(p, "holm")`` and statsmodels' ``multipletests``.

    The same arithmetic as statsmodels (sorted p times m, m - 1, ..., 1, running
    maximum, capped at 1), without its ``gc.collect()``, which took 0.3-0.5 s
    per call in a notebook kernel holding figures and tables.
    """
    order = np.argsort(p)
    adjusted = np.maximum.accumulate(p[order] * np.arange(len(p), 0, -1))
    adjusted[adjusted > 1] = 1
    out = np.empty_like(adjusted)
    out[order] = adjusted
    return out



_ADJUST_METHODS = {"holm": "Holm", "fdr_bh": "Benjamini-Hochberg", "bonferroni": "Bonferroni"}


# --- multiplicity --------------------------------------------------------------------------


def adjust_pvalues(
    results: pd.DataFrame,
    *,
    family: str | Sequence[str] = ("analysis",),
    method: str = "holm",
) -> pd.DataFrame:
    """Adjust p-values for multiple testing within declared families.

    Parameters
    ----------
    results : DataFrame
        A standard result frame (e.g. from `results.stack_results`).
    family : str or sequence of str, default ("analysis",)
        Columns whose combinations define a family; p-values are adjusted
        within each family. ``("analysis", "test")`` keeps the t-test and the
        Wilcoxon test of the same hypotheses in separate families.
    method : {"holm", "fdr_bh", "bonferroni"}
        Holm's step-down (family-wise error), Benjamini-Hochberg (false
        discovery rate) or Bonferroni.

    Returns
    -------
    DataFrame
        A copy with ``p_adjusted`` filled for rows with a p-value and the
        method, family and its size appended to ``note``; rows without a
        p-value are left as they are.

    Notes
    -----
    With m p-values sorted ascending, Holm: :math:`\\tilde p_{(i)} = \\max_{j
    \\le i} \\min(1, (m - j + 1) p_{(j)})`; Benjamini-Hochberg:
    :math:`\\tilde p_{(i)} = \\min_{j \\ge i} \\min(1, m p_{(j)} / j)`
    (statsmodels `multipletests`, identical to R's ``p.adjust``).

    References
    ----------
    Holm, S. (1979). A simple sequentially rejective multiple test procedure.
    *Scandinavian Journal of Statistics*, 6, 65-70.
    Benjamini, Y., & Hochberg, Y. (1995). Controlling the false discovery rate.
    *Journal of the Royal Statistical Society B*, 57, 289-300.

    Examples
    --------
    >>> from ponzoni_eval._core.results import result_frame
    >>> res = result_frame([dict(analysis="pre_post", p_value=p) for p in (0.01, 0.04, 0.03)])
    >>> adjust_pvalues(res)["p_adjusted"].round(4).tolist()
    [0.03, 0.06, 0.06]
    """
    if method not in _ADJUST_METHODS:
        raise DataError("unknown p-value adjustment", expected=f"one of {sorted(_ADJUST_METHODS)}", found=method, rule="argument")
    family_t = as_tuple(family)
    require_columns(results, ("p_value", "p_adjusted", "note", *family_t), "results")
    out = results.copy()
    with_p = out.index[out["p_value"].notna()]
    if len(with_p) == 0:
        return out
    if family_t:
        families = [(key, sub.index) for key, sub in out.loc[with_p].groupby(list(family_t), dropna=False, sort=False)]
    else:
        families = [((), with_p)]
    adjusted = pd.Series(np.nan, index=out.index)
    notes = out["note"].astype(object).where(out["note"].notna(), "")
    for key, index in families:
        p_values = out.loc[index, "p_value"].to_numpy(float)
        adjusted.loc[index] = adjust_p(p_values, method)
        key_t = key if isinstance(key, tuple) else (key,)
        described = ", ".join(f"{c}={v}" for c, v in zip(family_t, key_t)) or "all rows"
        suffix = f"p_adjusted: {_ADJUST_METHODS[method]} within {described} (m = {len(index)})"
        notes.loc[index] = [f"{n}; {suffix}" if n else suffix for n in notes.loc[index]]
    out.loc[with_p, "p_adjusted"] = adjusted.loc[with_p]
    out["note"] = notes.where(notes != "", results["note"]).astype("str")
    return out
