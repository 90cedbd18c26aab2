"""Quantitizing the example interviews recovers the theme patterns built into the generator.

Path: data/raw/example/interviews.qdpx -> prepare (REFI-QDA import) -> load_processed ->
quantitize. The built-in probability that a document mentions a code is in
`EFFECTS["interviews"]["code_prevalence"]` (by role and wave; at t2 between "t2_weak"
and "t2_strong" by the case's `success`). Counts per case, role and wave are small
(7-24 participants), so the tolerance is the exact (Clopper-Pearson) 95% interval of
the observed share: it must cover the built-in probability. The data are the
documented example set (one draw).
"""

from __future__ import annotations

import pandas as pd
import pytest
from scipy.stats import binomtest

from ponzoni_eval.qual import quantitize
from ponzoni_eval.data.synthetic.generate import EFFECTS
from example_data import processed_example

INTERVIEWS = EFFECTS["interviews"]


def built_in(code: str, role: str, wave: str, case: str) -> float:
    """The generator's probability that a document of this role, wave and case mentions the code."""
    levels = INTERVIEWS["code_prevalence"][code][role]
    if wave == "t0":
        return levels["t0"]
    return levels["t2_weak"] + EFFECTS["sites"][case]["success"] * (levels["t2_strong"] - levels["t2_weak"])


def exact_interval(k: int, n: int) -> tuple[float, float]:
    interval = binomtest(int(k), int(n)).proportion_ci(confidence_level=0.95, method="exact")
    return interval.low, interval.high


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    return processed_example(tmp_path_factory.mktemp("processed"))


@pytest.fixture(scope="module")
def by_role_and_wave(tables):
    # one unit per participant and wave: an interview at t0 and one at t2 are two units
    presence = quantitize.code_presence(tables["coded_segments"], tables["participants"], unit=("participant_id", "wave"), codebook=tables["codebook"])
    table = quantitize.prevalence(presence, tables["participants"], by=("case_id", "role", "wave"))
    return table.astype({"case_id": "str", "role": "str", "wave": "str", "code": "str"}).set_index(["case_id", "role", "wave", "code"])


@pytest.fixture(scope="module")
def by_wave(tables):
    presence = quantitize.code_presence(tables["coded_segments"], tables["participants"], unit=("participant_id", "wave"), codebook=tables["codebook"])
    table = quantitize.prevalence(presence, tables["participants"], by=("case_id", "wave"))
    return table.astype({"case_id": "str", "wave": "str", "code": "str"}).set_index(["case_id", "wave", "code"])


def t2_presence(tables, participants):
    """Participant x code presence in the t2 interviews of these participants (for crosstabs)."""
    segments = tables["coded_segments"]
    at_t2 = segments[(segments["wave"] == "t2") & segments["participant_id"].isin(participants["participant_id"])]
    return quantitize.code_presence(at_t2, participants, codebook=tables["codebook"])


def test_the_interviews_came_through_the_refi_qda_project(tables):
    segments = tables["coded_segments"]
    assert segments.index[0] == 1  # rows of an imported table count codings in the project, not spreadsheet rows
    assert set(segments["coder"].astype(str)) == set(INTERVIEWS["coders"])


def test_poelenburg_a_parents_bring_questions_to_the_youth_team_at_t2(tables, by_role_and_wave):
    code = INTERVIEWS["agreement"]["code"]
    assert (INTERVIEWS["agreement"]["case_id"], INTERVIEWS["agreement"]["role"], INTERVIEWS["agreement"]["wave"]) == ("poelenburg_a", "parent", "t2")
    shares = {}
    for case in EFFECTS["sites"]:
        for wave in ("t0", "t2"):
            row = by_role_and_wave.loc[(case, "parent", wave, code)]
            low, high = exact_interval(row.n_with_code, row.n_at_risk)
            assert low <= built_in(code, "parent", wave, case) <= high, (case, wave, row.n_with_code, row.n_at_risk)
            shares[case, wave] = row.n_with_code / row.n_at_risk
    # here 7/7 parents in poelenburg_a at t2 (built in 0.80), 4/8 in slotervaart (0.54), 0/10 in poelenburg_b (0.15)
    assert max(shares, key=shares.get) == ("poelenburg_a", "t2") and shares[("poelenburg_a", "t2")] >= 0.6
    assert shares[("poelenburg_a", "t2")] > shares[("poelenburg_a", "t0")]
    parents = tables["participants"][tables["participants"]["role"] == "parent"]
    crosstab = quantitize.theme_crosstab(t2_presence(tables, parents), parents, code=code).iloc[0]
    # parents at t2 differ between cases (built in 0.80 / 0.54 / 0.15): exact Monte Carlo p, here 0.0001
    assert crosstab.p_value < 0.01 and crosstab.effect_size > 0.5


def test_growing_trust_is_talked_about_in_poelenburg_b_at_t2_as_elsewhere(tables, by_wave):
    code = INTERVIEWS["dissonance"]["code"]
    assert (code, INTERVIEWS["dissonance"]["case_id"]) == ("growing_trust", "poelenburg_b")
    levels = INTERVIEWS["code_prevalence"][code]
    assert all(level["t2_weak"] == level["t2_strong"] for level in levels.values())  # the same at t2 in every case
    for case in EFFECTS["sites"]:
        for wave in ("t0", "t2"):
            row = by_wave.loc[(case, wave, code)]
            # the same probability for every role, so the case's share has one built-in value
            low, high = exact_interval(row.n_with_code, row.n_at_risk)
            assert low <= levels["parent"][wave if wave == "t0" else "t2_weak"] <= high, (case, wave, row.n_with_code, row.n_at_risk)
    b_t0, b_t2 = by_wave.loc[("poelenburg_b", "t0", code)], by_wave.loc[("poelenburg_b", "t2", code)]
    assert b_t2.percent >= 30 > b_t0.percent  # here 7/18 (39%) against 0/21
    # "as elsewhere": at t2 the cases do not differ detectably (a test at 5% that holds in 95% of draws when
    # the probabilities are equal, as built in); here chi-square p = 0.36
    crosstab = quantitize.theme_crosstab(t2_presence(tables, tables["participants"]), tables["participants"], code=code).iloc[0]
    assert crosstab.p_value > 0.05


def test_we_they_talk_recedes_by_t2_in_every_case(by_wave):
    shares = by_wave.xs("we_they_thinking", level="code")["percent"].unstack("wave")
    assert (shares["t2"] < shares["t0"]).all()
    # in poelenburg_b it stays below growing trust at t2, so the interviews point one way (see the dissonance)
    assert by_wave.loc[("poelenburg_b", "t2", "we_they_thinking"), "percent"] < by_wave.loc[("poelenburg_b", "t2", "growing_trust"), "percent"]
