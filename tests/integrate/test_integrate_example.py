"""The joint display of the example shows the convergences and the dissonance built into it.

Path: data/raw/example -> prepare (interviews.qdpx imported) -> load_processed ->
crosscase / stats / timeseries (the quantitative strand), quantitize (theme prevalence),
the imported coded segments (quotes), privacy.redact with prepare's redaction_terms
(names) -> integrate.joint_display.

Built in (`EFFECTS`): trust and help-seeking rise most in poelenburg_a, and its
interviews say so (convergence); in poelenburg_b interviewees talk of growing trust at
t2 as often as elsewhere although survey trust barely rises (dissonance).

Prevalence is that of the t2 interviews. The constructs are about change by
follow-up; at t0 the collaboration had not begun, and we-they talk from then (which
the integration map counts against trust) would outweigh the growing trust reported
at t2 if both waves were pooled per participant.

Which quantitative basis (the integrate engineer's question). By its 95% CI the trust
change in poelenburg_b, 0.25 [-0.03, 0.52], is *inconclusive*: the interval rules out
neither no change nor a change of the smallest meaningful size (0.25), and the fit rule
says "partial agreement". That is structural, not bad luck: with ~39 participants the
CI's half-width (0.27) exceeds 0.25, so a CI below 0.25 needs an estimate below about
-0.02; over 200 survey draws with the built-in change of 0.15 that happened in 13.5%.
Judged by its point estimate (`quant_basis="estimate"`, the descriptive basis the module
offers for samples this small) the change is *negligible* (0.247 < 0.25; 80.5% of draws)
and the display shows the built-in dissonance. So: the package default stays "ci" (a
label then claims evidence), the example's dissonance is shown on the estimate basis, and
the display records which basis was used.
"""

from __future__ import annotations

import re
from dataclasses import replace

import pandas as pd
import pytest

from ponzoni_eval import stats
from ponzoni_eval import integrate
from ponzoni_eval import privacy
from ponzoni_eval.qual import quantitize
from ponzoni_eval.stats import timeseries
from ponzoni_eval.stats import transforms
from ponzoni_eval.data.synthetic.generate import EFFECTS
from ponzoni_eval.data.read import read_raw_dir
from ponzoni_eval._core.results import stack_results
from example_data import EXAMPLE, processed_example


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    return processed_example(tmp_path_factory.mktemp("processed"))


@pytest.fixture(scope="module")
def inputs(tables):
    scores = transforms.score_scales(tables["survey_responses"], tables["instrument"], tables["participants"])
    monthly = transforms.monthly_activity(tables["activity_log"], tables["cases"])
    results = stack_results(
        stats.mixed_model(scores, outcome="trust"),
        stats.perception_gap_change(scores, by="case_id"),
        timeseries.interrupted_time_series(monthly),
    )
    presence = quantitize.code_presence(tables["coded_segments"], tables["participants"], unit=("participant_id", "wave"), codebook=tables["codebook"])
    by_wave = quantitize.prevalence(presence, tables["participants"], by=("case_id", "wave"))
    at_t2 = by_wave[by_wave["wave"] == "t2"].drop(columns="wave")
    names = tables["redaction_terms"]["term"].astype(str).tolist()
    return integrate.DisplayInputs(results, at_t2, tables["coded_segments"], tables["participants"]), names


@pytest.fixture(scope="module")
def display(inputs):
    data, names = inputs
    return integrate.joint_display(data, integrate.DisplayOptions(redact_names=names, redact=privacy.redact))


@pytest.fixture(scope="module")
def descriptive(inputs):
    data, names = inputs
    return integrate.joint_display(data, integrate.DisplayOptions(redact_names=names, quant_basis="estimate"))  # privacy.redact is the default


def cell(shown: integrate.Display, construct: str, case: str) -> pd.Series:
    display = shown.table
    rows = display[(display["construct"] == construct) & (display["case_id"] == case)]
    assert len(rows) == 1
    return rows.iloc[0]


@pytest.mark.parametrize("basis", ["ci", "estimate"])
def test_help_seeking_agrees_in_poelenburg_a(display, descriptive, basis):
    row = cell(display if basis == "ci" else descriptive, "help_seeking", EFFECTS["interviews"]["agreement"]["case_id"])
    # survey side: level rate ratio 1.80 [1.46, 2.24] and a rising slope; interviews: help_seeking_youth_team 12/20 at t2
    assert (row.quant_evidence, row.qual_evidence, row.fit_label) == ("supportive", "supportive", "agreement")
    assert "RR (level) = 1.80 [1.46, 2.24]" in row.quant_summary and "help_seeking_youth_team 12/20 (60%)" in row.qual_summary
    assert "help_seeking_youth_team" in row.quotes


@pytest.mark.parametrize("basis", ["ci", "estimate"])
def test_trust_agrees_in_poelenburg_a_and_slotervaart(display, descriptive, basis):
    shown = display if basis == "ci" else descriptive
    for case in ("poelenburg_a", "slotervaart"):
        row = cell(shown, "trust", case)
        assert (row.quant_evidence, row.qual_evidence, row.fit_label) == ("supportive", "supportive", "agreement"), case
    assert "Δ = 0.88 [0.63, 1.14]" in cell(shown, "trust", "poelenburg_a").quant_summary


def test_trust_in_poelenburg_b_is_the_built_in_dissonance_on_the_point_estimate(display, descriptive):
    case = EFFECTS["interviews"]["dissonance"]["case_id"]
    row = cell(descriptive, "trust", case)
    # interviews: growing_trust 7/18 (39%) above we_they_thinking 5/18 (28%); survey: 0.25 short of 0.25
    assert (row.quant_evidence, row.qual_evidence, row.fit_label) == ("negligible", "supportive", "dissonance")
    assert row.fetters_fit == "discordance" and row.quant_basis == "estimate"
    assert "growing_trust 7/18 (39%)" in row.qual_summary and "growing_trust" in row.quotes
    assert row.estimate < 0.25 < row.ci_high  # negligible as estimated, not as shown by the CI
    by_ci = cell(display, "trust", case)
    assert (by_ci.quant_evidence, by_ci.fit_label) == ("inconclusive", "partial agreement")
    assert "point estimate" in integrate.to_markdown(descriptive) and "95% CI" in integrate.to_markdown(display)


# --- privacy ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fictitious_names():
    """Every name in the example's participants.csv (read raw: processed tables hold none)."""
    participants = read_raw_dir(EXAMPLE).tables["participants"]
    names = privacy.participant_names(participants)
    assert len(names) >= 20  # 29 distinct first names of 55 named participants
    return names


def names_in(text: str, names: list[str]) -> list[str]:
    return [name for name in names if re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text, flags=re.IGNORECASE)]


def rendered(display: integrate.Display) -> str:
    """Everything a reader could see: every text cell, and the Markdown and HTML exports."""
    cells = [str(value) for value in display.table.to_numpy().ravel()]
    return "\n".join([*cells, integrate.to_markdown(display), integrate.to_html(display)])


def test_no_fictitious_participant_name_appears_in_the_joint_display(inputs, display, descriptive, fictitious_names):
    for shown in (display, descriptive):
        assert names_in(rendered(shown), fictitious_names) == []
    assert "[NAAM]" in "".join(display.table["quotes"])  # quotes that named someone are shown, redacted
    # The check can fail: from the segments as imported (prepare redacts the processed ones too) and
    # without redaction, the same display names people.
    raw_segments = read_raw_dir(EXAMPLE).tables["coded_segments"]
    no_redaction = lambda texts, names: pd.Series(list(texts), dtype="str")  # noqa: E731
    data, names = inputs
    unredacted = integrate.joint_display(replace(data, segments=raw_segments), integrate.DisplayOptions(redact_names=names, redact=no_redaction))
    assert names_in("\n".join(unredacted.table["quotes"]), fictitious_names)


def test_no_fictitious_participant_name_appears_in_statistics_by_themes(inputs, fictitious_names):
    data, names = inputs
    table = integrate.statistics_by_themes(data, integrate.DisplayOptions(redact_names=names))
    assert names_in(rendered(table), fictitious_names) == []
    assert table.table["quote"].str.contains("[NAAM]", regex=False).any()
