"""Issue 17c: many sites. Kruskal-Wallis with each site against the rest (Dunn), checked against the pairwise
Dunn test (scikit-posthocs) on the site-vs-rest recoding and against the Mann-Whitney rank-biserial."""

import numpy as np
import pandas as pd
import pytest
import scikit_posthocs
from scipy import stats

from ponzoni_eval.stats.common import MANY_CASES
from ponzoni_eval.stats.multitest import adjust_p
from ponzoni_eval.stats.ranks import kruskal_dunn


def sites(k=12, seed=0):
    rng = np.random.default_rng(seed)
    n = rng.integers(8, 30, k)
    shift = rng.normal(0, 0.4, k)
    return pd.DataFrame({
        "case_id": np.repeat([f"site_{i:02d}" for i in range(k)], n),
        "scale": "trust",
        "value": np.round(np.concatenate([s + rng.normal(0, 0.8, m) for s, m in zip(shift, n)]) * 4) / 4,  # ties
    })


def test_above_many_cases_each_site_is_compared_with_the_rest():
    data = sites(MANY_CASES + 4)
    result = kruskal_dunn(data, outcome="trust", n_boot=200)
    dunn = result.loc[result["test"] == "dunn"].set_index("case_id")
    assert len(dunn) == MANY_CASES + 4 and (dunn["group"] == dunn.index + " - rest").all()
    for site in dunn.index[:4]:
        recoded = data.assign(side=np.where(data["case_id"] == site, "a_site", "b_rest"))
        p = scikit_posthocs.posthoc_dunn(recoded, val_col="value", group_col="side").loc["a_site", "b_rest"]
        assert dunn.loc[site, "p_value"] == pytest.approx(p, rel=1e-9)
        inside, rest = recoded.loc[recoded.side == "a_site", "value"], recoded.loc[recoded.side == "b_rest", "value"]
        u = stats.mannwhitneyu(inside, rest).statistic
        assert dunn.loc[site, "effect_size"] == pytest.approx(2 * u / (len(inside) * len(rest)) - 1, abs=1e-12)
        mean_rank = recoded["value"].rank()[recoded.side == "a_site"].mean()
        assert np.sign(dunn.loc[site, "statistic"]) == np.sign(mean_rank - (len(recoded) + 1) / 2)
        assert dunn.loc[site, "ci_low"] <= dunn.loc[site, "effect_size"] <= dunn.loc[site, "ci_high"]
    np.testing.assert_allclose(dunn["p_adjusted"], adjust_p(dunn["p_value"].to_numpy(), "holm"))


def test_pairs_on_request_and_at_few_sites():
    data = sites(MANY_CASES + 4, seed=1)
    pairs = kruskal_dunn(data, outcome="trust", n_boot=50, comparisons="pairs")
    k = MANY_CASES + 4
    assert (pairs["test"] == "dunn").sum() == k * (k - 1) // 2
    few = kruskal_dunn(sites(4, seed=2), outcome="trust", n_boot=50)
    assert (few["test"] == "dunn").sum() == 6
    mean = kruskal_dunn(sites(4, seed=2), outcome="trust", n_boot=50, comparisons="mean")
    assert (mean["test"] == "dunn").sum() == 4
    # the omnibus row is the same whatever the comparisons
    pd.testing.assert_frame_equal(few.iloc[:1], mean.iloc[:1])
    with pytest.raises(ValueError, match="comparisons"):
        kruskal_dunn(data, outcome="trust", comparisons="some")
