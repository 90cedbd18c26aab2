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


def panel(k, seed=3, per_site=9):
    rng = np.random.default_rng(seed)
    rows = []
    for site in range(k):
        gain = rng.normal(0.4, 0.3)
        for i in range(per_site):
            person = rng.normal(0, 0.6)
            role = ("professional", "migrant_org")[i % 2]
            for position, wave in ((0.0, "t0"), (0.5, "t1"), (1.0, "t2")):
                if wave != "t0" and rng.random() < 0.15:
                    continue
                if site == 1 and wave == "t1":  # one site without a t1 cell: blocks of unequal size
                    continue
                rows.append((f"s{site}p{i}", f"site_{site:02d}", role, wave, "trust",
                             2.8 + person + 0.3 * (role == "professional") + gain * position + rng.normal(0, 0.5)))
    return pd.DataFrame(rows, columns=["participant_id", "case_id", "role", "wave", "scale", "value"])


def test_many_sites_block_fit_equals_the_dense_fit(monkeypatch):
    """Above MANY_CASES the fit runs in cell-means coding with a bordered block solver; it must give the dense
    fit's numbers (coefficients in the formula's coding, log-likelihood with the REML coding constant, df)."""
    from ponzoni_eval.stats import mixed

    data = panel(MANY_CASES + 5)
    layouts = []
    original = mixed._cell_layout
    monkeypatch.setattr(mixed, "_cell_layout", lambda *args: layouts.append(original(*args)) or layouts[-1])
    block = mixed.mixed_model(data, outcome="trust", comparisons="pairs")
    assert layouts and layouts[0] is not None  # the block path was taken
    monkeypatch.setattr(mixed, "_cell_layout", lambda *args, **kwargs: None)
    dense = mixed.mixed_model(data, outcome="trust", comparisons="pairs")
    assert list(block["group"]) == list(dense["group"])
    for column, tolerance in (("effect_size", 1e-8), ("statistic", 1e-7), ("ci_low", 1e-6), ("p_value", 1e-7)):
        np.testing.assert_allclose(block[column].to_numpy(dtype=float), dense[column].to_numpy(dtype=float),
                                   atol=tolerance, rtol=tolerance)
    np.testing.assert_allclose(block["df"].to_numpy(dtype=float), dense["df"].to_numpy(dtype=float), rtol=1e-3)

