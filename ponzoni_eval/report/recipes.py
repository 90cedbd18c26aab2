"""The worked example of docs/add-a-section.md: a correlation with its confidence interval and a captioned scatter plot.

Everything a new section needs, in one small module a student can copy: a
result table in the standard result shape (`correlation`), a figure with a
caption (`scatter`), a sentence from the words tables, and a `Section` that
`RunContext.save_section` (or `report.planned`) saves (`correlation_section`).

Examples
--------
>>> from ponzoni_eval.data import load_processed  # doctest: +SKIP
>>> scores = sections.scores_for(load_processed("data/processed"))  # doctest: +SKIP
>>> section = correlation_section(scores, "slotervaart", x="trust", y="perceived_willingness", wave="t2")  # doctest: +SKIP
>>> run.save_section(section)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ponzoni_eval._core.numbers import format_number
from ponzoni_eval._core.results import result_frame
from ponzoni_eval._core.words import check_language, term
from ponzoni_eval.report.describe import describe_result
from ponzoni_eval.report.plots import Figure, label, theme
from ponzoni_eval.report.publishing import MAIN_TABLE, Section, TableSpec

__all__ = ["paired_scores", "correlation", "scatter", "correlation_section"]


def paired_scores(scores: pd.DataFrame, x: str, y: str, *, wave: str | None = None) -> pd.DataFrame:
    """One row per participant (and wave) with a score on both scales: participant_id, case_id, role, wave, x, y."""
    keep = scores.loc[scores["scale"].isin([x, y]) & scores["value"].notna()]
    if wave is not None:
        keep = keep.loc[keep["wave"].astype("str") == wave]
    wide = keep.pivot_table(index=["participant_id", "case_id", "role", "wave"], columns="scale", values="value", observed=True)
    if not {x, y} <= set(wide.columns):
        return pd.DataFrame(columns=["participant_id", "case_id", "role", "wave", x, y])
    return wide[[x, y]].dropna().reset_index().astype({"case_id": "str", "wave": "str"})


def correlation(pairs: pd.DataFrame, x: str, y: str, *, by: Sequence[str] = ("case_id",), confidence: float = 0.95) -> pd.DataFrame:
    """Pearson's r of `x` and `y` per group, with its CI (Fisher z) and the t-test p-value (`scipy.stats.pearsonr`).

    Returns
    -------
    DataFrame
        The standard result shape: analysis ``correlation``, test ``pearson``,
        effect ``r`` with ``ci_low``/``ci_high``, ``n``; a group with fewer
        than 4 pairs or no variance is not tested (its ``note`` says why).
    """
    from scipy import stats as scipy_stats

    rows = []
    for keys, group in pairs.groupby(list(by), sort=False, observed=True) if by else [((), pairs)]:
        keys = keys if isinstance(keys, tuple) else (keys,)
        where = ", ".join(f"{column}={key}" for column, key in zip(by, keys))
        base = dict(analysis="correlation", case_id=str(keys[0]) if "case_id" in by else "all", group=where or None,
                    outcome=f"{x}~{y}", test="pearson", n=len(group), effect_name="r")
        if len(group) < 4 or group[x].nunique() < 2 or group[y].nunique() < 2:
            rows.append({**base, "note": f"not tested: {len(group)} pairs (needs 4 with variance)"})
            continue
        result = scipy_stats.pearsonr(group[x], group[y])
        interval = result.confidence_interval(confidence_level=confidence)
        rows.append({**base, "statistic": float(result.statistic), "df": float(len(group) - 2), "p_value": float(result.pvalue),
                     "effect_size": float(result.statistic), "ci_low": float(interval.low), "ci_high": float(interval.high),
                     "note": f"Pearson's r, {int(confidence * 100)}% CI by Fisher's z"})
    return result_frame(rows)


def scatter(pairs: pd.DataFrame, x: str, y: str, *, language: str = "en") -> Figure:
    """A scatter plot of `y` against `x` (one point per participant and wave) with a least-squares line and a caption."""
    from matplotlib.figure import Figure as MplFigure

    check_language(language)
    x_name, y_name = label("scale", x, language), label("scale", y, language)
    with theme():
        fig = MplFigure(figsize=(4.5, 3.5), layout="constrained")
        ax = fig.add_subplot()
        ax.scatter(pairs[x], pairs[y], s=18, alpha=0.7)
        if len(pairs) >= 2 and pairs[x].nunique() >= 2:
            slope, intercept = np.polyfit(pairs[x].to_numpy(float), pairs[y].to_numpy(float), 1)
            span = np.array([pairs[x].min(), pairs[x].max()], dtype=float)
            ax.plot(span, intercept + slope * span, color="black", linewidth=1)
        ax.set_xlabel(x_name)
        ax.set_ylabel(y_name)
    caption = term("recipe.scatter_caption", language, x=x_name, y=y_name, n=format_number(len(pairs), 0, language=language))
    return Figure(fig, caption, f"scatter_{x}_{y}", language)


def correlation_section(scores: pd.DataFrame, case_id: str, *, x: str, y: str, wave: str | None = None,
                        language: str = "en") -> Section:
    """The worked-example section: the correlation of two scales in one case, its scatter plot and one sentence."""
    pairs = paired_scores(scores.loc[scores["case_id"].astype("str") == case_id], x, y, wave=wave)
    table = correlation(pairs, x, y)
    figure = scatter(pairs, x, y, language=language)
    name = term("recipe.label", language, x=label("scale", x, language), y=label("scale", y, language),
                case=label("case", case_id, language))
    sentence = describe_result(table.iloc[0], label=name, language=language) if len(table) else term(
        "recipe.no_pairs", language, label=name)
    spec = TableSpec(f"correlation_{x}_{y}", f"Pearson's r of {x} and {y} with its 95% CI in case {label('case', case_id, 'en')}.")
    return Section(table, figure, sentence, specs={MAIN_TABLE: spec}, figure_name=f"scatter_{x}_{y}")
