"""Intercoder agreement on the example's double-coded interviews is what the generator built in.

Path: data/raw/example/interviews.qdpx -> prepare (REFI-QDA import) -> load_processed ->
agreement. The generator lets `coder_2` re-code a quarter of the documents, missing a
code the first coder found with probability 0.18 and adding an absent one with
probability 0.06 (`EFFECTS["interviews"]`); at the example's code prevalence (about
0.23 per document x code) that gives Cohen's kappa 0.75 on document x code presence.
Over 300 draws of the interviews the pooled kappa averaged 0.757 with SD 0.034; this
draw (28 double-coded documents) gives 0.80. The tolerance, 3 SD = 0.10, holds for
99.7% of draws of an estimate centred on the intended value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from ponzoni_eval.qual import intercoder
from ponzoni_eval.data.synthetic.generate import EFFECTS
from example_data import processed_example

INTERVIEWS = EFFECTS["interviews"]


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    return processed_example(tmp_path_factory.mktemp("processed"))


@pytest.fixture(scope="module")
def overall(tables):
    result = intercoder.agreement(tables["coded_segments"], unit="document", n_boot=1000)
    return result[result["code"] == intercoder.OVERALL].set_index("statistic")


def test_a_quarter_of_the_documents_is_double_coded(tables):
    segments = tables["coded_segments"]
    coders = segments.groupby("document_id", observed=True)["coder"].nunique()
    double, total = int((coders == 2).sum()), len(tables["documents"])
    # 28 of 125 here; the exact binomial interval covers the built-in share 0.25
    interval = binomtest(double, total).proportion_ci(method="exact")
    assert interval.low <= INTERVIEWS["double_coded_share"] <= interval.high


def test_cohens_kappa_on_document_code_presence_is_near_the_intended_value(tables, overall):
    kappa = overall.loc["cohen_kappa"]
    assert abs(kappa.estimate - INTERVIEWS["kappa_intended"]) < 0.10, kappa.estimate
    n_double = int((tables["coded_segments"].groupby("document_id", observed=True)["coder"].nunique() == 2).sum())
    assert kappa.n_coders == 2 and kappa.n_units == n_double * len(tables["codebook"])  # document x code units
    assert kappa.ci_low < kappa.estimate < kappa.ci_high
    # for 0/1 data from two coders, Krippendorff's alpha differs from kappa only by a small-sample term
    assert abs(overall.loc["krippendorff_alpha", "estimate"] - kappa.estimate) < 0.01


def test_kappa_is_cohens_formula_on_the_imported_segments(tables, overall):
    """Cohen (1960): kappa = (p_o - p_e) / (1 - p_e), by hand on the document x code table."""
    segments = tables["coded_segments"].astype({"document_id": "str", "code": "str", "coder": "str"})
    double = segments.groupby("document_id")["coder"].nunique().loc[lambda n: n == 2].index
    grid = pd.MultiIndex.from_product([double, tables["codebook"]["code"].astype(str)], names=["document_id", "code"])
    present = (
        segments[segments["document_id"].isin(double)]
        .drop_duplicates(["document_id", "code", "coder"])
        .assign(present=True)
        .pivot(index=["document_id", "code"], columns="coder", values="present")
        .reindex(grid)
        .fillna(False)
        .astype(bool)
    )
    first, second = present["coder_1"], present["coder_2"]
    observed = (first == second).mean()
    chance = first.mean() * second.mean() + (1 - first.mean()) * (1 - second.mean())
    assert overall.loc["cohen_kappa", "estimate"] == pytest.approx((observed - chance) / (1 - chance), abs=1e-12)
    # the second coder's misses and additions, against the built-in 0.18 and 0.06 (exact 95% intervals)
    missed = binomtest(int((first & ~second).sum()), int(first.sum())).proportion_ci(method="exact")
    added = binomtest(int((~first & second).sum()), int((~first).sum())).proportion_ci(method="exact")
    assert missed.low <= INTERVIEWS["second_coder_miss_rate"] <= missed.high
    assert added.low <= INTERVIEWS["second_coder_add_rate"] <= added.high
    assert np.isclose(overall.loc["percent_agreement", "estimate"], observed)
