"""Agreement coefficients against published values.

Every expected number below is quoted from its source, cited beside it; none
was produced by this package. Data sets are typed in from the same sources.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

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
