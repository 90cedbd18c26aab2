"""The worked example of docs/add-a-section.md (issue 14): correlation with CI and a captioned scatter plot."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ponzoni_eval.report import correlation, correlation_section, paired_scores, published, scatter


def _scores(n: int = 30, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(3, 0.8, n)
    y = 0.6 * x + rng.normal(0, 0.6, n)
    rows = []
    for i in range(n):
        for scale, value in (("trust", x[i]), ("perceived_willingness", y[i])):
            rows.append({"participant_id": f"p{i:02d}", "case_id": "a" if i < n // 2 else "b", "role": "professional",
                         "wave": "t2", "scale": scale, "value": value, "n_items": 3, "n_answered": 3})
    return pd.DataFrame(rows)


def test_pearson_r_and_its_fisher_z_interval_match_the_textbook_formula():
    pairs = paired_scores(_scores(), "trust", "perceived_willingness", wave="t2")
    table = correlation(pairs, "trust", "perceived_willingness")
    assert list(table["case_id"]) == ["a", "b"] and list(table["n"]) == [15, 15]
    for row, (_, group) in zip(table.itertuples(), pairs.groupby("case_id")):
        r = np.corrcoef(group["trust"], group["perceived_willingness"])[0, 1]
        z, se = math.atanh(r), 1 / math.sqrt(len(group) - 3)
        assert row.effect_size == pytest.approx(r, abs=1e-12)
        assert (row.ci_low, row.ci_high) == pytest.approx((math.tanh(z - 1.959963984540054 * se), math.tanh(z + 1.959963984540054 * se)), abs=1e-9)
        t = r * math.sqrt((len(group) - 2) / (1 - r * r))
        from scipy import stats

        assert row.p_value == pytest.approx(2 * stats.t.sf(abs(t), len(group) - 2), rel=1e-9)


def test_too_few_pairs_are_not_tested_and_say_why():
    table = correlation(paired_scores(_scores(n=6), "trust", "perceived_willingness"), "trust", "perceived_willingness")
    assert table["effect_size"].isna().all() and table["note"].str.contains("3 pairs").all()


@pytest.mark.parametrize("language", ["en", "nl"])
def test_the_section_has_a_table_a_captioned_figure_and_a_sentence(language):
    section = correlation_section(_scores(), "a", x="trust", y="perceived_willingness", wave="t2", language=language)
    assert len(section.table) == 1 and section.figure.caption and "n = 15" in section.figure.caption
    assert ("Pearson" in section.sentence) and ("r = " in section.sentence or "r =" in section.sentence)
    assert set(published(section)) == {"table"} and section.figure_name == "scatter_trust_perceived_willingness"
    assert scatter(paired_scores(_scores(), "trust", "perceived_willingness"), "trust", "perceived_willingness").fig.axes
