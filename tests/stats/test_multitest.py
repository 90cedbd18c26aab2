"""One p-value adjustment vocabulary, computed by pingouin (`ponzoni_eval.stats.multitest`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from ponzoni_eval import stats
from ponzoni_eval._core.errors import DataError
from ponzoni_eval._core.results import result_frame
from ponzoni_eval.stats.multitest import ADJUST_METHODS, P_ADJUST_ALIASES, adjust_method, adjust_p
from ponzoni_eval.stats.ranks import kruskal_dunn

# NaN, an infinity, ties (0.02 three times, 0.5 twice), 0 and 1, values whose adjustment exceeds 1.
P_VALUES = np.array([0.02, np.nan, 0.001, 0.02, 0.5, 0.0, 0.02, 1.0, 0.5, 0.3, np.inf, 0.049, 0.04999999, 1e-12])

# What the package computed before pingouin (statsmodels' multipletests, Holm by hand).
TODAY = {"holm": "holm", "bonferroni": "bonferroni", "hochberg": "simes-hochberg", "BH": "fdr_bh",
         "BY": "fdr_by", "sidak": "sidak", "holm-sidak": "holm-sidak"}


def _today(p: np.ndarray, statsmodels_method: str) -> np.ndarray:
    out = np.full_like(p, np.nan)
    finite = np.isfinite(p)
    with np.errstate(divide="ignore"):  # Sidak of p = 1 goes through log1p(-1)
        out[finite] = multipletests(p[finite], method=statsmodels_method)[1]
    return out


@pytest.mark.parametrize("name", sorted(TODAY))
def test_pingouin_gives_todays_values_to_1e_15(name):
    new = adjust_p(P_VALUES, name)
    old = _today(P_VALUES, TODAY[name])
    assert np.array_equal(np.isnan(new), ~np.isfinite(P_VALUES))  # NaN and inf stay NaN and do not count in m
    np.testing.assert_allclose(new, old, rtol=0, atol=1e-15, equal_nan=True)


def test_none_returns_the_finite_p_values_unchanged():
    out = adjust_p(P_VALUES, "none")
    finite = np.isfinite(P_VALUES)
    assert np.array_equal(out[finite], P_VALUES[finite]) and np.isnan(out[~finite]).all()
    assert np.isnan(adjust_p(np.array([np.nan, np.inf]), "holm")).all()  # nothing to adjust


def test_holm_matches_r_p_adjust():
    # R 4.4: p.adjust(c(0.01, 0.04, 0.03, 0.2), "holm") -> 0.04 0.09 0.09 0.20
    assert adjust_p(np.array([0.01, 0.04, 0.03, 0.2]), "holm") == pytest.approx([0.04, 0.09, 0.09, 0.2], abs=1e-15)


@pytest.mark.parametrize("alias", [*ADJUST_METHODS, *P_ADJUST_ALIASES, "bh", "Holm", "FDR", "by", "BONFERRONI"])
def test_every_name_works_in_both_functions_and_means_the_same(alias):
    canonical = adjust_method(alias).name
    np.testing.assert_array_equal(adjust_p(P_VALUES, alias), adjust_p(P_VALUES, canonical))
    res = result_frame([dict(analysis="a", p_value=p) for p in (0.01, 0.04, 0.03)])
    adjusted = stats.adjust_pvalues(res, method=alias)
    np.testing.assert_array_equal(adjusted["p_adjusted"].to_numpy(), adjust_p(np.array([0.01, 0.04, 0.03]), canonical))
    assert f"p_adjusted: {ADJUST_METHODS[canonical].label} within analysis=a (m = 3)" == adjusted["note"].iloc[0]


def test_kruskal_dunn_and_adjust_pvalues_accept_bh_alike():
    rng = np.random.default_rng(3)
    change = pd.DataFrame({
        "participant_id": [f"p{i}" for i in range(30)],
        "case_id": np.repeat(["a", "b", "c"], 10),
        "scale": "trust",
        "value": np.round(rng.normal(np.repeat([1.0, 0.0, 0.5], 10), 0.8) * 2) / 2,
    })
    bh = kruskal_dunn(change, outcome="trust", p_adjust="BH", n_boot=20).iloc[1:]
    fdr_bh = kruskal_dunn(change, outcome="trust", p_adjust="fdr_bh", n_boot=20).iloc[1:]
    np.testing.assert_array_equal(bh["p_adjusted"].to_numpy(), fdr_bh["p_adjusted"].to_numpy())
    np.testing.assert_array_equal(bh["p_adjusted"].to_numpy(), adjust_p(bh["p_value"].to_numpy(), "BH"))
    res = result_frame([dict(analysis="a", p_value=p) for p in bh["p_value"]])
    np.testing.assert_array_equal(stats.adjust_pvalues(res, method="BH")["p_adjusted"].to_numpy(), bh["p_adjusted"].to_numpy())


@pytest.mark.parametrize("bad", ["tukey", "", "holms"])
def test_an_unknown_name_is_refused_in_both_with_the_accepted_names(bad):
    for call in (lambda: adjust_p(P_VALUES, bad),
                 lambda: stats.adjust_pvalues(result_frame([dict(analysis="a", p_value=0.1)]), method=bad)):
        with pytest.raises(DataError, match="unknown p-value adjustment") as info:
            call()
        assert all(name in str(info.value) for name in ("holm", "BH", "fdr_bh", "bonferroni", "BY", "none"))
