"""Adjustment of p-values for multiple testing, with R ``p.adjust`` method names."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ponzoni_eval._core.errors import DataError, require_columns
from ponzoni_eval.stats.common import as_tuple

__all__ = [
    "ADJUST_METHODS",
    "P_ADJUST_ALIASES",
    "adjust_method",
    "adjust_p",
    "adjust_pvalues",
]


@dataclass(frozen=True)
class AdjustMethod:
    """One p-value adjustment: its R ``p.adjust`` name, how notes name it, and who computes it."""

    name: str
    """R's ``p.adjust`` name (``"BH"``, ``"holm"``, ...), or the statsmodels name where R has none."""
    label: str
    """How a result's ``note`` names the method."""
    pingouin: str | None
    """``pingouin.multicomp`` method, or None where pingouin has none (statsmodels computes it)."""
    statsmodels: str | None = None
    """``statsmodels.stats.multitest.multipletests`` method, used only where pingouin has none."""


ADJUST_METHODS: dict[str, AdjustMethod] = {
    "holm": AdjustMethod("holm", "Holm", "holm"),
    "bonferroni": AdjustMethod("bonferroni", "Bonferroni", "bonf"),
    "hochberg": AdjustMethod("hochberg", "Hochberg", None, "simes-hochberg"),
    "BH": AdjustMethod("BH", "Benjamini-Hochberg", "fdr_bh"),
    "BY": AdjustMethod("BY", "Benjamini-Yekutieli", "fdr_by"),
    "sidak": AdjustMethod("sidak", "Sidak", "sidak"),
    "holm-sidak": AdjustMethod("holm-sidak", "Holm-Sidak", None, "holm-sidak"),
    "none": AdjustMethod("none", "none", "none"),
}
"""The one vocabulary of p-value adjustments, keyed by R ``p.adjust`` name.

Both `adjust_p` (used by `kruskal_dunn`, the mixed model and the time series)
and `adjust_pvalues` accept these names and the aliases of `P_ADJUST_ALIASES`,
in any letter case.
"""

P_ADJUST_ALIASES: dict[str, str] = {
    "fdr": "BH",
    "fdr_bh": "BH",
    "simes-hochberg": "hochberg",
    "bonf": "bonferroni",
    "fdr_by": "BY",
}
"""Other names in common use (R's ``fdr``, statsmodels' and pingouin's) -> the name in `ADJUST_METHODS`."""

_BY_LOWER_CASE = {
    **{name.lower(): name for name in ADJUST_METHODS},
    **{alias.lower(): name for alias, name in P_ADJUST_ALIASES.items()},
}

def adjust_method(method: str) -> AdjustMethod:
    """The adjustment a name stands for (R names and aliases, any letter case); a clear error otherwise.

    >>> adjust_method("fdr_bh").label, adjust_method("BH").label, adjust_method("Holm").name
    ('Benjamini-Hochberg', 'Benjamini-Hochberg', 'holm')
    """
    key = method.lower() if isinstance(method, str) else None
    if key not in _BY_LOWER_CASE:
        accepted = ", ".join([*ADJUST_METHODS, *P_ADJUST_ALIASES])
        raise DataError(
            f"unknown p-value adjustment (p_adjust / method) {method!r}",
            expected=f"one of {accepted} (any letter case)",
            found=repr(method),
            rule="argument",
        )
    return ADJUST_METHODS[_BY_LOWER_CASE[key]]


def adjust_p(p_values: np.ndarray, method: str) -> np.ndarray:
    """Adjusted p-values as R ``p.adjust`` gives them; values that are not finite stay NaN and do not count.

    Computed by ``pingouin.multicomp`` (Holm, Bonferroni, Sidak, BH, BY, none).
    Holm used to be hand-written here because statsmodels' ``multipletests``
    runs ``gc.collect()`` on every call (0.54-0.68 s per call measured in a
    process holding 40 figures and 200,000 small objects, like a report
    kernel); pingouin does not (37-74 us per call, the hand-written version
    5-49 us, same arithmetic and equal bit for bit), so the package's own copy
    went. Hochberg and Holm-Sidak, which pingouin lacks, still come from
    statsmodels and pay its ``gc.collect()``.
    """
    chosen = adjust_method(method)
    p = np.asarray(p_values, dtype=float)
    out = np.full_like(p, np.nan)
    finite = np.isfinite(p)
    if not finite.any():
        return out
    if chosen.pingouin is not None:
        import pingouin

        out[finite] = pingouin.multicomp(p[finite], method=chosen.pingouin)[1]
        return out
    from statsmodels.stats.multitest import multipletests

    with np.errstate(divide="ignore"):  # Holm-Sidak takes log1p(-p): p = 1 gives -inf on the way to the right 1.0
        out[finite] = multipletests(p[finite], method=chosen.statsmodels)[1]
    return out


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
    method : str, default "holm"
        A name of `ADJUST_METHODS` or `P_ADJUST_ALIASES` (R's ``p.adjust``
        names, any letter case): ``"holm"`` (Holm's step-down, family-wise
        error), ``"BH"`` / ``"fdr_bh"`` (Benjamini-Hochberg, false discovery
        rate), ``"bonferroni"``, ``"BY"``, ``"hochberg"``, ``"none"``, ...

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
    (computed by `adjust_p`, identical to R's ``p.adjust``).

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
    label = adjust_method(method).label
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
        suffix = f"p_adjusted: {label} within {described} (m = {len(index)})"
        notes.loc[index] = [f"{n}; {suffix}" if n else suffix for n in notes.loc[index]]
    out.loc[with_p, "p_adjusted"] = adjusted.loc[with_p]
    out["note"] = notes.where(notes != "", results["note"]).astype("str")
    return out
