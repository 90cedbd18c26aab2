"""Agreement coefficients against published values.

Every expected number below is quoted from its source, cited beside it; none
was produced by this package. Data sets are typed in from the same sources.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ponzoni_eval.qual.intercoder import agreement, agreement_coefficients

nan = np.nan

# Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability. Annenberg School for
# Communication, University of Pennsylvania, section C ("nominal data, any number of observers,
# missing data"): 4 observers (rows) x 12 units (columns); the same matrix is R irrCAC's
# `cac.raw4raters` (transposed) and the `krippendorff` package's docstring example.
KRIPPENDORFF_2011 = np.array(
    [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
        [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
    ]
).T  # units x observers

# Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters. Psychological
# Bulletin, 76(5), 378-382: 30 patients, 6 psychiatrists, 5 diagnoses; as R irr's `diagnoses`
# (rater order within a patient is irrelevant to Fleiss' kappa).
FLEISS_1971 = np.array(
    [
        [4, 4, 4, 4, 4, 4], [2, 2, 2, 5, 5, 5], [2, 3, 3, 3, 3, 5], [5, 5, 5, 5, 5, 5], [2, 2, 2, 4, 4, 4],
        [1, 1, 3, 3, 3, 3], [3, 3, 3, 3, 5, 5], [1, 1, 3, 3, 3, 4], [1, 1, 4, 4, 4, 4], [5, 5, 5, 5, 5, 5],
        [1, 4, 4, 4, 4, 4], [1, 2, 4, 4, 4, 4], [2, 2, 2, 3, 3, 3], [1, 4, 4, 4, 4, 4], [2, 2, 4, 4, 4, 5],
        [3, 3, 3, 3, 3, 5], [1, 1, 1, 4, 5, 5], [1, 1, 1, 1, 1, 2], [2, 2, 4, 4, 4, 4], [1, 3, 3, 5, 5, 5],
        [5, 5, 5, 5, 5, 5], [2, 4, 4, 4, 4, 4], [2, 2, 4, 5, 5, 5], [1, 1, 4, 4, 4, 4], [1, 4, 4, 4, 4, 5],
        [2, 2, 2, 2, 2, 4], [1, 1, 1, 1, 5, 5], [2, 2, 4, 4, 4, 4], [1, 3, 3, 3, 3, 3], [5, 5, 5, 5, 5, 5],
    ],
    dtype=float,
)

# R irr's `anxiety` data, raters 2 and 3 (20 subjects), as typed in statsmodels' test_inter_rater.py.
ANXIETY_RATERS_2_3 = np.array(
    [[3, 2], [6, 1], [4, 4], [6, 4], [2, 3], [4, 2], [2, 1], [4, 6], [3, 1], [3, 1],
     [2, 1], [3, 2], [3, 3], [3, 3], [2, 1], [2, 1], [1, 3], [3, 3], [3, 2], [4, 2]],
    dtype=float,
)


def expand_table(table):
    """Raw two-rater ratings from a square contingency table (rows: rater 1, columns: rater 2)."""
    table = np.asarray(table)
    first, second = np.indices(table.shape)
    return np.column_stack([np.repeat(first.ravel(), table.ravel()), np.repeat(second.ravel(), table.ravel())]).astype(float)


def expand_distribution(distribution):
    """Raw ratings (units x raters) from counts of raters per unit and category."""
    distribution = np.asarray(distribution)
    return np.array([np.repeat(np.arange(distribution.shape[1]), row) for row in distribution], dtype=float)


def estimates(ratings, **kwargs):
    return agreement_coefficients(ratings, **kwargs).set_index("statistic")["estimate"]


@pytest.mark.parametrize(
    ("level", "published"),
    [
        ("nominal", 0.743),  # Krippendorff (2011), section C
        ("ordinal", 0.815),  # Krippendorff (2011), section E
        ("interval", 0.849),  # Krippendorff (2011), section D
        ("ratio", 0.797),  # Krippendorff (2011), section F
    ],
)
def test_krippendorff_2011_alpha(level, published):
    assert estimates(KRIPPENDORFF_2011, level=level)["krippendorff_alpha"] == pytest.approx(published, abs=5e-4)


def test_irrcac_raw4raters():
    # Gwet, irrCAC README (github.com/kgwet/irrCAC; Gwet 2014 Handbook):
    # pa.coeff.raw(cac.raw4raters)       pa = 0.8181818
    # fleiss.kappa.raw(cac.raw4raters)   coeff.val = 0.76117 (pe = 0.2387153)
    # krippen.alpha.raw(cac.raw4raters)  coeff.val = 0.74342
    # bp.coeff.raw(cac.raw4raters)       coeff.val = 0.77273 (pe = 0.2, five categories)
    values = estimates(KRIPPENDORFF_2011, categories=[1, 2, 3, 4, 5])
    assert values["percent_agreement"] == pytest.approx(0.8181818, abs=5e-8)
    assert values["fleiss_kappa"] == pytest.approx(0.76117, abs=5e-6)
    assert values["krippendorff_alpha"] == pytest.approx(0.74342, abs=5e-6)
    assert values["brennan_prediger"] == pytest.approx(0.77273, abs=5e-6)


def test_fleiss_1971_diagnoses():
    # Fleiss (1971) reports kappa = .430; R: irr::kappam.fleiss(diagnoses) gives Kappa = 0.43
    # (0.4302445 as recorded from R in statsmodels' test_inter_rater.py).
    assert estimates(FLEISS_1971)["fleiss_kappa"] == pytest.approx(0.4302445, abs=5e-8)


def test_cohen_kappa_irr_anxiety():
    # R: irr::kappa2(anxiety[, 2:3]) -> Kappa = -0.006289308 (as recorded from R in
    # statsmodels' test_inter_rater.py, test_cohens_kappa_irr).
    assert estimates(ANXIETY_RATERS_2_3)["cohen_kappa"] == pytest.approx(-0.006289308, abs=5e-10)


def test_irrcac_cont3x3abstractors():
    # Gwet, irrCAC README / overview vignette, contingency table `cont3x3abstractors`
    # (100 pregnant women, 2 abstractors): kappa2.table 0.7964094, bp2.table 0.835,
    # krippen2.table 0.7972585, pa2.table 0.89.
    ratings = expand_table([[13, 0, 0], [0, 20, 7], [0, 4, 56]])
    values = estimates(ratings)
    assert values["cohen_kappa"] == pytest.approx(0.7964094, abs=5e-8)
    assert values["brennan_prediger"] == pytest.approx(0.835, abs=5e-8)
    assert values["krippendorff_alpha"] == pytest.approx(0.7972585, abs=5e-8)
    assert values["percent_agreement"] == pytest.approx(0.89, abs=5e-8)


def test_irrcac_distrib_6raters():
    # Gwet, irrCAC README, `distrib.6raters` (15 patients, 6 psychiatrists, 5 categories):
    # fleiss.kappa.dist 0.4139265, krippen.alpha.dist 0.4204384, bp.coeff.dist 0.4388889,
    # pa = 0.5511111.
    distribution = [
        [0, 0, 0, 6, 0], [0, 3, 0, 0, 3], [0, 1, 4, 0, 1], [0, 0, 0, 0, 6], [0, 3, 0, 3, 0],
        [2, 0, 4, 0, 0], [0, 0, 4, 0, 2], [2, 0, 3, 1, 0], [2, 0, 0, 4, 0], [0, 0, 0, 0, 6],
        [1, 0, 0, 5, 0], [1, 1, 0, 4, 0], [0, 3, 3, 0, 0], [1, 0, 0, 5, 0], [0, 2, 0, 3, 1],
    ]
    values = estimates(expand_distribution(distribution), categories=[0, 1, 2, 3, 4])
    assert values["percent_agreement"] == pytest.approx(0.5511111, abs=5e-8)
    assert values["fleiss_kappa"] == pytest.approx(0.4139265, abs=5e-8)
    assert values["krippendorff_alpha"] == pytest.approx(0.4204384, abs=5e-8)
    assert values["brennan_prediger"] == pytest.approx(0.4388889, abs=5e-8)


def test_cohen_kappa_wikipedia_example_through_coded_segments():
    # Wikipedia, "Cohen's kappa", simple example: 50 grant proposals, both yes 20, A yes / B no 5,
    # A no / B yes 10, both no 15 -> p_o = 0.7, p_e = 0.5, kappa = 0.4. Here as 50 double-coded
    # documents in which two coders did or did not apply the code.
    decisions = {"ab": [1] * 25 + [0] * 25, "cd": [1] * 20 + [0] * 5 + [1] * 10 + [0] * 15}
    rows = [(f"d{k:02d}", coder, "other", 100, 110) for coder in decisions for k in range(50)]
    rows += [(f"d{k:02d}", coder, "trust", 0, 10) for coder, values in decisions.items() for k, v in enumerate(values) if v]
    segments = pd.DataFrame(rows, columns=["document_id", "coder", "code", "start", "end"])
    table = agreement(segments, codes=["trust"], n_boot=0)
    values = table[table["code"] == "trust"].set_index("statistic")["estimate"]
    assert values["percent_agreement"] == pytest.approx(0.7)
    assert values["cohen_kappa"] == pytest.approx(0.4)


# --- weighted kappa (issue 17) ---------------------------------------------------------------

# Friendly's SexualFun table (husband rows x wife columns, 91 couples), R vcd's `SexualFun`.
# R: vcd::Kappa(SexualFun) prints
#   Unweighted 0.1293 ASE 0.06860;  Weighted (Equal-Spacing) 0.2374 ASE 0.07832
SEXUAL_FUN = np.array([[7, 7, 2, 3], [2, 8, 3, 7], [1, 5, 4, 9], [2, 8, 9, 14]])


@pytest.mark.parametrize(("weights", "kappa", "ase"), [("unweighted", 0.1293, 0.06860), ("linear", 0.2374, 0.07832)])
def test_weighted_kappa_matches_vcd_kappa(weights, kappa, ase):
    from ponzoni_eval._core.results import RESULT_COLUMNS
    from ponzoni_eval.qual.intercoder import weighted_kappa

    res = weighted_kappa(expand_table(SEXUAL_FUN), weights=weights, n_boot=0)
    assert list(res.columns) == list(RESULT_COLUMNS)
    assert res["group"].tolist() == ["ci=jackknife_z", "ci=asymptotic"]  # the reported (calibrated) CI first
    row = res.set_index("group").loc["ci=asymptotic"]
    assert row["effect_size"] == pytest.approx(kappa, abs=5e-5)
    z = 1.959963984540054
    assert (row["ci_high"] - row["ci_low"]) / (2 * z) == pytest.approx(ase, abs=5e-6)
    assert f"{ase:.4f}" in row["note"]


def _hand_kappa(a, b, q, power):
    """sklearn's cohen_kappa_score formula: 1 - sum(w O) / sum(w E), disagreement weights |i-j|^power."""
    observed = np.zeros((q, q))
    np.add.at(observed, (a, b), 1)
    expected = np.outer(observed.sum(1), observed.sum(0)) / observed.sum()
    i, j = np.indices((q, q))
    w = np.abs(i - j) ** power if power else (i != j).astype(float)
    return 1 - (w * observed).sum() / (w * expected).sum()


@pytest.mark.parametrize("weights", ["unweighted", "linear", "quadratic"])
def test_weighted_kappa_equals_sklearn_and_hand_formula(weights):
    from sklearn.metrics import cohen_kappa_score

    from ponzoni_eval.qual.intercoder import weighted_kappa

    rng = np.random.default_rng(7)
    truth = rng.integers(0, 5, 60)
    a = np.clip(truth + rng.integers(-1, 2, 60), 0, 4)
    b = np.clip(truth + rng.integers(-2, 2, 60), 0, 4)
    ours = weighted_kappa(np.column_stack([a, b]), weights=weights, categories=range(5), n_boot=0).loc[0, "effect_size"]
    power = {"unweighted": 0, "linear": 1, "quadratic": 2}[weights]
    assert ours == pytest.approx(_hand_kappa(a, b, 5, power), abs=1e-12)
    sk = cohen_kappa_score(a, b, weights=None if weights == "unweighted" else weights, labels=list(range(5)))
    assert ours == pytest.approx(sk, abs=1e-12)


def test_weighted_kappa_bootstrap_row_is_seeded_and_brackets_estimate():
    from ponzoni_eval.qual.intercoder import weighted_kappa

    pairs = expand_table(SEXUAL_FUN)
    first = weighted_kappa(pairs, weights="quadratic", n_boot=500, seed=3)
    again = weighted_kappa(pairs, weights="quadratic", n_boot=500, seed=3)
    boot = first.set_index("group").loc["ci=bootstrap"]
    assert boot["ci_low"] == again.set_index("group").loc["ci=bootstrap", "ci_low"]
    assert boot["ci_low"] < boot["effect_size"] < boot["ci_high"]
    asymptotic = first.set_index("group").loc["ci=asymptotic"]
    # The two intervals agree to about 0.03 at n = 91.
    assert abs(boot["ci_low"] - asymptotic["ci_low"]) < 0.03 and abs(boot["ci_high"] - asymptotic["ci_high"]) < 0.03


@pytest.mark.parametrize("weights", ["unweighted", "linear", "quadratic"])
def test_weighted_kappa_jackknife_z_interval_by_leave_one_out_with_sklearn(weights):
    """The reported CI: tanh(atanh(kappa) +/- t(n - 1) SE_J), SE_J the jackknife SE of atanh(kappa).

    Reference: every leave-one-unit-out kappa recomputed with sklearn's cohen_kappa_score (an independent
    implementation), the jackknife SE by its textbook formula (Efron & Tibshirani 1993, eq. 11.5).
    """
    from sklearn.metrics import cohen_kappa_score

    from ponzoni_eval.qual.intercoder import weighted_kappa

    pairs = expand_table(SEXUAL_FUN)
    n = len(pairs)
    sk_weights = None if weights == "unweighted" else weights
    full = cohen_kappa_score(pairs[:, 0], pairs[:, 1], weights=sk_weights, labels=list(range(4)))
    left_out = np.array([cohen_kappa_score(np.delete(pairs[:, 0], i), np.delete(pairs[:, 1], i), weights=sk_weights,
                                           labels=list(range(4))) for i in range(n)])
    z = np.arctanh(left_out)
    se = np.sqrt((n - 1) / n * np.sum((z - z.mean()) ** 2))
    half = stats.t.ppf(0.975, n - 1) * se
    row = weighted_kappa(pairs, weights=weights, n_boot=0).set_index("group").loc["ci=jackknife_z"]
    assert row["effect_size"] == pytest.approx(full, abs=1e-12)
    assert row["ci_low"] == pytest.approx(np.tanh(np.arctanh(full) - half), rel=1e-10)
    assert row["ci_high"] == pytest.approx(np.tanh(np.arctanh(full) + half), rel=1e-10)
    assert f"{se:.4f}" in row["note"]
    # asymmetric on the kappa scale (Fisher z), wider than the ASE interval at this n for the linear weights
    assert row["ci_high"] - full < full - row["ci_low"]


def test_weighted_kappa_jackknife_falls_back_to_fisher_z_of_the_ase():
    """One disagreeing unit: leaving it out gives kappa = 1 (z infinite), so the row uses the ASE on Fisher's z."""
    from ponzoni_eval.qual.intercoder import weighted_kappa

    ratings = np.array([[1, 1], [2, 2], [3, 3], [4, 4]] * 5 + [[1, 2]], dtype=float)
    res = weighted_kappa(ratings, weights="linear", n_boot=0).set_index("group")
    row, asymptotic = res.loc["ci=jackknife_z"], res.loc["ci=asymptotic"]
    kappa = row["effect_size"]
    ase = (kappa - asymptotic["ci_low"]) / 1.959963984540054  # (its upper limit is clipped at 1)
    half = stats.t.ppf(0.975, 20) * ase / (1 - kappa**2)
    assert "Fisher's z of the ASE" in row["note"]
    assert row["ci_low"] == pytest.approx(np.tanh(np.arctanh(kappa) - half), rel=1e-6)
    assert row["ci_high"] < 1.0


def test_weighted_kappa_perfect_agreement_has_a_wilson_lower_limit():
    from ponzoni_eval.qual.intercoder import weighted_kappa

    ratings = np.array([[1, 1], [2, 2], [3, 3], [4, 4], [5, 5]] * 4, dtype=float)
    res = weighted_kappa(ratings, weights="linear", n_boot=200).set_index("group")
    n, z = 20, 1.959963984540054
    p_low = n / (n + z**2)  # Wilson lower limit of 20 agreements in 20 units
    w = 1 - np.abs(np.subtract.outer(np.arange(5), np.arange(5))) / 4
    p_e = (w * np.outer(np.full(5, 0.2), np.full(5, 0.2))).sum()
    for group in ("ci=jackknife_z", "ci=asymptotic", "ci=bootstrap"):
        assert res.loc[group, "effect_size"] == 1.0
        assert res.loc[group, "ci_high"] == 1.0
        assert res.loc[group, "ci_low"] == pytest.approx((p_low - p_e) / (1 - p_e), abs=1e-12)
        assert res.loc[group, "ci_low"] < 1.0


def test_weighted_kappa_errors_and_missing():
    from ponzoni_eval._core.errors import DataError
    from ponzoni_eval.qual.intercoder import weighted_kappa

    with pytest.raises(DataError):
        weighted_kappa(np.zeros((4, 3)))
    with pytest.raises(DataError):
        weighted_kappa(np.array([[1, 2], [2, 9]]), categories=[1, 2, 3])
    with pytest.raises(DataError):
        weighted_kappa(np.array([[1, 2], [2, 2]]), weights="cubic")
    res = weighted_kappa(np.array([[1, 1], [2, nan], [3, 2], [2, 2], [1, 2]]), n_boot=0)
    assert res.loc[0, "n"] == 4 and "1 unit(s) with a missing rating" in res.loc[0, "note"]
