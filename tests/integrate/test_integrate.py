"""Tests for ponzoni_eval.integrate: the map, the fit rule, quotes, overrides, displays, exports.

All inputs are hand-made frames in the shapes of docs/architecture.md; the
expected fit labels come from the decision table written out literally below
(not from the module's own FIT_RULE), so a change to the rule fails here.
"""

from __future__ import annotations

import itertools
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hypothesis_profiles import examples
from ponzoni_eval import integrate as ig
from ponzoni_eval._core.errors import DataError
from ponzoni_eval._core.files import ZIP_TIMESTAMP
from ponzoni_eval._core.results import result_frame

# --- hand-made inputs -------------------------------------------------------------------

CASES = ("poelenburg_a", "poelenburg_b", "slotervaart")
# Every construct exploratory (secondary, unadjusted), every selected result counts: the rule's mechanics
# on hand-made data; tests/integrate/test_protocol.py tests the plan's families and Holm.
PLAN = ig.load_analysis_plan(Path(__file__).parent.parent / "fixtures" / "integrate_plan_exploratory.toml")


def make_results() -> pd.DataFrame:
    """Trust rises in slotervaart, barely moves in poelenburg_b; help-seeking jumps in poelenburg_a."""
    return result_frame(
        [
            dict(analysis="pre_post", case_id="slotervaart", group="t0->t2", outcome="trust", test="paired_t", n=12,
                 statistic=3.1, df=11, p_value=0.01, effect_size=0.80, effect_name="hedges_g", ci_low=0.20, ci_high=1.40),
            dict(analysis="pre_post", case_id="slotervaart", group="t0->t2", outcome="trust", test="wilcoxon", n=12,
                 p_value=0.02, effect_size=0.70, effect_name="rank_biserial", ci_low=0.20, ci_high=0.90),
            dict(analysis="pre_post", case_id="poelenburg_b", group="t0->t2", outcome="trust", test="paired_t", n=40,
                 p_value=0.60, effect_size=0.02, effect_name="hedges_g", ci_low=-0.10, ci_high=0.15),
            dict(analysis="help_seeking_its", case_id="poelenburg_a", group="level change at the start",
                 outcome="parenting_question_to_youth_team", test="its_level_change", n=36, p_value=0.001, effect_size=2.0,
                 effect_name="rate_ratio_level", ci_low=1.4, ci_high=2.9),
            dict(analysis="help_seeking_its", case_id="poelenburg_a", group="change in monthly trend",
                 outcome="parenting_question_to_youth_team", test="its_slope_change", n=36, p_value=0.5, effect_size=1.01,
                 effect_name="rate_ratio_slope", ci_low=0.98, ci_high=1.04),
            # the trend before the start is not evidence of a change
            dict(analysis="help_seeking_its", case_id="poelenburg_a", group="monthly trend before",
                 outcome="parenting_question_to_youth_team", test="its_baseline_trend", n=36, p_value=0.001, effect_size=0.9,
                 effect_name="rate_ratio_trend", ci_low=0.85, ci_high=0.95),
            # the perception gap between the roles (issue 18: the within-role change is no longer selected)
            dict(analysis="perception_gap_between_roles", case_id="slotervaart", group="target=migrant_org, perceiver=professional, t0->t2",
                 outcome="gap (own - perceived by the other role)", test="welch_t", n=12, p_value=0.03, effect_size=-0.6,
                 effect_name="hedges_g", ci_low=-1.1, ci_high=-0.05),
        ]
    )


def make_prevalence() -> pd.DataFrame:
    rows = [
        ("slotervaart", "growing_trust", 9, 12),
        ("slotervaart", "we_they_thinking", 1, 12),
        ("slotervaart", "shared_positive_goal", 2, 12),
        ("poelenburg_b", "growing_trust", 7, 10),
        ("poelenburg_b", "we_they_thinking", 0, 10),
        ("poelenburg_a", "help_seeking_youth_team", 8, 10),
        ("poelenburg_a", "growing_trust", 0, 10),
    ]
    frame = pd.DataFrame(rows, columns=["case_id", "code", "n", "n_at_risk"])
    return frame.assign(pct=100 * frame["n"] / frame["n_at_risk"], suppressed=False)


def make_segments() -> pd.DataFrame:
    rows = [
        # the same passage coded by both coders
        ("int_s1", "s_p1", "slotervaart", "c1", "growing_trust", 0, 90,
         "Since Fatima and the youth team organised the tea afternoons together we trust each other much more."),
        ("int_s1", "s_p1", "slotervaart", "c2", "growing_trust", 0, 90,
         "Since Fatima and the youth team organised the tea afternoons together we trust each other much more."),
        ("int_s2", "s_p2", "slotervaart", "c1", "growing_trust", 10, 120,
         "I did not expect it, but after the second meeting I started to trust the professionals, really."),
        ("int_s2", "s_p2", "slotervaart", "c1", "growing_trust", 300, 310, "Trust, yes."),
        ("int_s3", "s_p3", "slotervaart", "c1", "growing_trust", 5, 95,
         "We trust them now; Mr. Jansen from the youth team even came to the mosque on Friday evening."),
        ("int_s3", "s_p3", "slotervaart", "c1", "we_they_thinking", 200, 260,
         "At first it was really us and them, they did not want our parents."),
        ("int_b1", "b_p1", "poelenburg_b", "c1", "growing_trust", 0, 70,
         "We know each other now, there is trust between the youth team and us."),
        ("int_a1", "a_p1", "poelenburg_a", "c1", "help_seeking_youth_team", 5, 80,
         "Mothers now call the youth team with questions about sleeping and school."),
    ]
    return pd.DataFrame(rows, columns=["document_id", "participant_id", "case_id", "coder", "code", "start", "end", "text"])


def make_participants() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "participant_id": ["s_p1", "s_p2", "s_p3", "b_p1", "a_p1"],
            "case_id": ["slotervaart", "slotervaart", "slotervaart", "poelenburg_b", "poelenburg_a"],
            "role": ["migrant_org", "professional", "migrant_org", "professional", "parent"],
            "name": ["Fatima", None, "Jansen; Mr. Jansen", None, None],
        }
    )


def joint(results, prevalence, segments, participants, **options) -> ig.Display:
    """The joint display of these data with these options (`ig.DisplayOptions` fields; the plan `PLAN` unless given)."""
    options.setdefault("plan", PLAN)
    return ig.joint_display(ig.DisplayInputs(results, prevalence, segments, participants), ig.DisplayOptions(**options))


def themes_of(results, prevalence, segments, participants, **options) -> ig.Display:
    options.setdefault("plan", PLAN)
    return ig.statistics_by_themes(ig.DisplayInputs(results, prevalence, segments, participants), ig.DisplayOptions(**options))


def build(**options) -> ig.Display:
    return joint(make_results(), make_prevalence(), make_segments(), make_participants(), **options)


def cell(shown: ig.Display, construct: str, case_id: str) -> pd.Series:
    display = shown.table
    rows = display.loc[(display["construct"] == construct) & (display["case_id"] == case_id)]
    assert len(rows) == 1
    return rows.iloc[0]


# --- the integration map ------------------------------------------------------------------

VALID_MAP = """
schema_version = 1

[constructs.trust]
label.en = "Trust"
label.nl = "Vertrouwen"

[[constructs.trust.quantitative]]
analysis = "pre_post"
outcome = "trust"
direction = "greater"

[constructs.trust.codes]
growing_trust = "supports"
"""


def write_map(tmp_path: Path, text: str, name: str = "map.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_default_map_has_the_five_constructs_and_the_example_codes():
    imap = ig.load_integration_map()
    assert imap.names == ("trust", "perception_gap", "expectation_mismatch", "safe_space", "help_seeking")
    assert imap.schema_version == ig.SCHEMA_VERSION
    linked = {link.code for c in imap.constructs for link in c.codes}
    example_codes = {
        "we_they_thinking", "feeling_judged_bad_parent", "fear_children_taken", "expect_strengthening", "expect_bridge",
        "suspending_judgement", "shared_positive_goal", "growing_trust", "low_threshold_meeting_place",
        "hand_out_folder", "referral_after_connection", "help_seeking_youth_team",
    }
    assert example_codes <= linked
    trust = imap["trust"]
    assert trust.label("nl") == "Wederzijds vertrouwen"
    assert {(l.code, l.direction) for l in trust.codes} >= {("growing_trust", "supports"), ("we_they_thinking", "contradicts")}
    assert imap["perception_gap"].quantitative[0].direction == "less"
    assert all(s.null_value == 1.0 for s in imap["help_seeking"].quantitative)


def test_map_precedence_explicit_file_then_raw_folder_then_package(tmp_path):
    explicit = write_map(tmp_path, VALID_MAP)
    assert ig.load_integration_map(explicit).names == ("trust",)
    empty_folder = tmp_path / "raw_without_map"
    empty_folder.mkdir()
    assert ig.load_integration_map(empty_folder).source == str(ig.default_map_path())
    raw = tmp_path / "raw"
    raw.mkdir()
    write_map(raw, VALID_MAP, name="integration_map.toml")
    loaded = ig.load_integration_map(raw)
    assert loaded.names == ("trust",)
    assert loaded.source.endswith("integration_map.toml")


@pytest.mark.parametrize(
    "change, key, found",
    [
        (("label.nl = \"Vertrouwen\"", "label.nl = \"Vertrouwen\"\ncolour = \"red\""), "constructs.trust.colour", "colour"),
        (("direction = \"greater\"", "direction = \"up\""), "constructs.trust.quantitative[0].direction", "up"),
        (("growing_trust = \"supports\"", "growing_trust = \"maybe\""), "constructs.trust.codes.growing_trust", "maybe"),
        (("analysis = \"pre_post\"\n", ""), "constructs.trust.quantitative[0].analysis", None),
        (("label.nl = \"Vertrouwen\"\n", ""), "constructs.trust.label.nl", None),
        (("schema_version = 1", "schema_version = 2"), "schema_version", 2),
        (("outcome = \"trust\"", "outcome = []"), "constructs.trust.quantitative[0].outcome", []),
        (("direction = \"greater\"", "direction = \"greater\"\nnull_value = \"zero\""), "constructs.trust.quantitative[0].null_value", "zero"),
        (("direction = \"greater\"", "direction = \"greater\"\nsmallest_meaningful = -0.2"),
         "constructs.trust.quantitative[0].smallest_meaningful", -0.2),
        (("direction = \"greater\"", "direction = \"greater\"\nwaves = \"t2\""), "constructs.trust.quantitative[0].waves", "waves"),
        (("direction = \"greater\"", "direction = \"greater\"\nfallback = \"yes\""), "constructs.trust.quantitative[0].fallback", "yes"),
    ],
)
def test_map_errors_name_the_key_and_the_file(tmp_path, change, key, found):
    old, new = change
    assert old in VALID_MAP
    path = write_map(tmp_path, VALID_MAP.replace(old, new))
    with pytest.raises(DataError) as caught:
        ig.load_integration_map(path)
    message = str(caught.value)
    assert f"'{key}'" in message
    assert str(path) in message
    if found is not None:
        assert caught.value.found == found


def test_map_that_is_not_toml_or_not_there(tmp_path):
    with pytest.raises(DataError, match="not valid TOML") as caught:
        ig.load_integration_map(write_map(tmp_path, "schema_version = = 1"))
    assert caught.value.file.endswith("map.toml")
    with pytest.raises(DataError, match="not found"):
        ig.load_integration_map(tmp_path / "nope.toml")


def test_selector_globs_and_lists_match_missing_group_as_empty():
    results = make_results()
    selector = ig.ResultSelector(analysis=("pre_*",), outcome=("trust",), test=("paired_t", "lmm*"), group=("*t0->t2*",))
    assert results.loc[selector.matches(results), "case_id"].tolist() == ["slotervaart", "poelenburg_b"]
    # a row whose group was never filled (missing) matches "" but not "t0->t2"
    missing_group = result_frame([dict(analysis="pre_post", outcome="trust", test="paired_t")])
    assert not selector.matches(missing_group).any() and ig.ResultSelector(group=("",)).matches(missing_group).all()
    empty_group = ig.ResultSelector(group=("",))
    assert not empty_group.matches(results).any()


# --- the fit rule -----------------------------------------------------------------------------

# The decision table of docs/integration.md, written out independently of ig.FIT_RULE.
# Rows: quantitative evidence (negligible behaves as contrary, mixed as inconclusive).
# A conclusive contrary strand against a strand with data that does not share it is dissonance; silence
# is one strand only (O'Cathain et al. 2010); neither conclusive is inconclusive.
A, P, S, D, I = "agreement", "partial agreement", "silence", "dissonance", "inconclusive"
EXPECTED_FIT = {
    #               supportive contrary mixed inconclusive absent   (qualitative)
    "supportive":   (A,         D,       P,    P,           S),
    "contrary":     (D,         A,       D,    D,           S),
    "negligible":   (D,         A,       D,    D,           S),
    "mixed":        (P,         D,       I,    I,           S),
    "inconclusive": (P,         D,       I,    I,           S),
    "absent":       (S,         S,       S,    S,           I),
}
QUAL_ORDER = ("supportive", "contrary", "mixed", "inconclusive", "absent")


@pytest.mark.parametrize("quant, qual", list(itertools.product(EXPECTED_FIT, QUAL_ORDER)))
def test_every_cell_of_the_decision_table(quant, qual):
    expected = EXPECTED_FIT[quant][QUAL_ORDER.index(qual)]
    assert ig.fit_label([quant], [qual]).tolist() == [expected]


def test_fit_label_rejects_unknown_evidence():
    with pytest.raises(ValueError, match="unknown evidence label"):
        ig.fit_label(["supportive"], ["positive"])


@pytest.mark.parametrize(
    "estimate, low, high, p, direction, null, smallest, expected",
    [
        (0.5, 0.1, 0.9, 0.01, "greater", 0.0, None, "supportive"),
        (-0.5, -0.9, -0.1, 0.01, "greater", 0.0, None, "contrary"),
        (-0.5, -0.9, -0.1, 0.01, "less", 0.0, None, "supportive"),
        (0.5, 0.1, 0.9, 0.01, "less", 0.0, None, "contrary"),
        (0.3, 0.0, 0.6, 0.05, "greater", 0.0, None, "inconclusive"),  # a bound on the null does not exclude it
        (0.3, -0.1, 0.6, 0.20, "greater", 0.0, None, "inconclusive"),
        (1.8, 1.2, 2.6, 0.01, "greater", 1.0, None, "supportive"),  # rate ratio against 1
        (0.9, 0.5, 0.99, 0.04, "greater", 1.0, None, "contrary"),
        (1.01, 0.98, 1.04, 0.5, "greater", 1.0, 1.1, "negligible"),
        (1.05, 0.98, 1.10, 0.2, "greater", 1.0, 1.1, "inconclusive"),  # reaches the smallest meaningful effect
        (0.02, -0.1, 0.15, 0.6, "greater", 0.0, 0.2, "negligible"),
        (-0.02, -0.15, 0.1, 0.6, "less", 0.0, -0.2, "negligible"),
        (0.5, np.nan, np.nan, 0.01, "greater", 0.0, None, "supportive"),  # no CI: p and sign
        (-0.5, np.nan, np.nan, 0.01, "greater", 0.0, None, "contrary"),
        (0.5, np.nan, np.nan, 0.05, "greater", 0.0, None, "inconclusive"),  # p == alpha is not below it
        (np.nan, np.nan, np.nan, 0.01, "greater", 0.0, None, "inconclusive"),  # a p-value without direction
        (np.nan, np.nan, np.nan, np.nan, "greater", 0.0, None, "absent"),
    ],
)
def test_quantitative_evidence(estimate, low, high, p, direction, null, smallest, expected):
    got = ig.classify_quantitative([estimate], [low], [high], [p], direction=direction, null_value=null, smallest_meaningful=smallest)
    assert got.tolist() == [expected]


@settings(max_examples=examples(60), deadline=None)
@given(
    centre=st.floats(-3, 3, allow_nan=False),
    half_width=st.floats(0.01, 2, allow_nan=False),
    null=st.floats(-1, 1, allow_nan=False),
)
def test_mirroring_the_data_and_the_direction_keeps_the_verdict(centre, half_width, null):
    """Property: (x, greater) and (2*null - x, less) must get the same label."""
    low, high = centre - half_width, centre + half_width
    greater = ig.classify_quantitative([centre], [low], [high], [np.nan], direction="greater", null_value=null)
    mirrored = ig.classify_quantitative(
        [2 * null - centre], [2 * null - high], [2 * null - low], [np.nan], direction="less", null_value=null
    )
    assert greater.tolist() == mirrored.tolist()


@pytest.mark.parametrize(
    "support, contrary, mentioned, expected",
    [
        # the lower ends of the Wilson intervals of the supporting / contradicting codes
        (0.30, 0.0, True, "supportive"),  # exactly at the threshold counts
        (0.29, 0.0, True, "inconclusive"),
        (0.5, 0.29, True, "supportive"),
        (0.29, 0.5, True, "contrary"),
        (0.3, 0.3, True, "mixed"),
        (0.2, 0.2, True, "inconclusive"),
        (np.nan, 0.35, True, "contrary"),
        (np.nan, np.nan, True, "inconclusive"),  # only context codes or suppressed cells
        (0.0, 0.0, False, "absent"),
    ],
)
def test_qualitative_evidence(support, contrary, mentioned, expected):
    assert ig.classify_qualitative([support], [contrary], [mentioned], threshold=0.30).tolist() == [expected]


def test_qualitative_threshold_is_a_parameter():
    assert ig.classify_qualitative([0.25], [0.0], [True], threshold=0.2).tolist() == ["supportive"]
    assert ig.classify_qualitative([0.25], [0.0], [True], threshold=0.3).tolist() == ["inconclusive"]


# --- the joint display --------------------------------------------------------------------------


def test_joint_display_is_one_row_per_construct_and_case_with_the_expected_labels():
    display = build()
    table = display.table
    assert display.kind == "joint_display" and len(table) == 5 * len(CASES)
    assert not table.duplicated(["construct", "case_id"]).any()
    assert list(dict.fromkeys(table["construct"])) == list(ig.load_integration_map().names)
    assert table["fit_label"].isin(ig.FIT_LABELS).all()

    trust_s = cell(display, "trust", "slotervaart")
    assert (trust_s["quant_evidence"], trust_s["qual_evidence"], trust_s["fit_label"]) == ("supportive", "supportive", "agreement")
    # the map picks paired_t only; the Wilcoxon row does not enter
    assert trust_s["n_results"] == 1
    assert trust_s["estimate"] == pytest.approx(0.80) and trust_s["ci_low"] == pytest.approx(0.20)
    assert trust_s["n"] == 12 and trust_s["p_value"] == pytest.approx(0.01)
    assert trust_s["quant_summary"] == "g = 0.80 [0.20, 1.40], p = .010, n = 12"  # one line: estimate [CI], p, n
    assert trust_s["support_share"] == pytest.approx(0.75)
    assert "+ growing trust 9 of 12 (75%)" in trust_s["qual_summary"]  # codes by their names, never ids
    assert trust_s["fetters_fit"] == "confirmation"

    trust_b = cell(display, "trust", "poelenburg_b")
    assert (trust_b["quant_evidence"], trust_b["qual_evidence"], trust_b["fit_label"]) == ("negligible", "supportive", "dissonance")
    assert trust_b["meta_inference"].startswith("Dissonance (discordance) on mutual trust in Poelenburg B")  # the case by its name

    help_a = cell(display, "help_seeking", "poelenburg_a")
    assert help_a["n_results"] == 2  # level and slope
    assert (help_a["quant_evidence"], help_a["fit_label"]) == ("supportive", "agreement")
    assert "level change at the start; level change;" in help_a["quant_detail"] and "change in monthly trend; slope change;" in help_a["quant_detail"]
    assert "baseline_trend" not in help_a["quant_detail"]

    # perception gap falls (direction "less"); only 2/12 mention the shared goal
    gap_s = cell(display, "perception_gap", "slotervaart")
    assert (gap_s["quant_evidence"], gap_s["qual_evidence"], gap_s["fit_label"]) == ("supportive", "inconclusive", "partial agreement")
    assert gap_s["fetters_fit"] == ""  # Fetters' expansion means different aspects, not an inconclusive strand
    assert gap_s["meta_inference"].startswith("Partial agreement") and "the interviews (" in gap_s["meta_inference"]
    assert "are not conclusive" in gap_s["meta_inference"]


def test_missing_strands_give_silence():
    display = build()
    no_numbers = cell(display, "trust", "poelenburg_a")  # growing_trust recorded with n = 0, no result rows
    assert (no_numbers["quant_evidence"], no_numbers["qual_evidence"], no_numbers["fit_label"]) == ("absent", "absent", "inconclusive")
    no_codes = cell(display, "help_seeking", "slotervaart")
    assert no_codes["fit_label"] == "inconclusive" and no_codes["quotes"] == ""  # neither strand has data
    # numbers without voices
    only_numbers = joint(make_results(), make_prevalence().iloc[0:0], make_segments().iloc[0:0], make_participants())
    row = cell(only_numbers, "trust", "slotervaart")
    assert (row["quant_evidence"], row["qual_evidence"], row["fit_label"]) == ("supportive", "absent", "silence")
    assert "no matched interviewee mentioned any of its linked codes (growing trust, we-they thinking" in row["meta_inference"]
    # voices without numbers
    only_voices = joint(result_frame([]), make_prevalence(), make_segments(), make_participants())
    row = cell(only_voices, "trust", "slotervaart")
    assert (row["quant_evidence"], row["qual_evidence"], row["fit_label"]) == ("absent", "supportive", "silence")
    assert "no quantitative result" in row["meta_inference"]


def test_thresholds_are_recorded_and_change_the_label():
    display = build(qual_threshold=0.6)
    assert display.table["qual_threshold"].eq(0.6).all() and display.table["alpha"].eq(0.05).all()
    assert (display.qual_threshold, display.alpha, display.quant_basis) == (0.6, 0.05, "ci")
    # 9/12 = 75% (Wilson 95% CI 47% to 91%) no longer reaches the bar
    assert cell(display, "trust", "slotervaart")["fit_label"] == "partial agreement"


def test_fallback_selector_is_used_only_where_the_main_one_has_no_numbers():
    mixed_model = result_frame(
        [
            dict(analysis="cross_case_mixed_model", case_id="slotervaart", group="t0->t2", outcome="trust", test="contrast",
                 n=30, p_value=0.2, effect_size=0.2, effect_name="change", ci_low=-0.1, ci_high=0.5),
            # a row of the mixed model that could not be computed leaves the fallback in place
            dict(analysis="cross_case_mixed_model", case_id="poelenburg_b", group="t0->t2", outcome="trust", test="contrast",
                 effect_name="change", note="no change contrast: no data in t2"),
            # pairwise differences between cases are not a case's change
            dict(analysis="cross_case_mixed_model", case_id="all", group="slotervaart - poelenburg_b: t0->t2", outcome="trust",
                 test="contrast", n=60, p_value=0.01, effect_size=0.5, effect_name="change_difference", ci_low=0.1, ci_high=0.9),
        ]
    )
    results = pd.concat([make_results(), mixed_model], ignore_index=True)
    display = joint(results, make_prevalence(), make_segments(), make_participants())
    slotervaart = cell(display, "trust", "slotervaart")
    assert slotervaart["n_results"] == 1 and slotervaart["effect_name"] == "change"
    assert slotervaart["quant_evidence"] == "inconclusive" and "paired_t" not in slotervaart["quant_detail"]
    poelenburg_b = cell(display, "trust", "poelenburg_b")
    assert poelenburg_b["effect_name"] == "hedges_g" and "paired t-test" in poelenburg_b["quant_detail"]
    assert "all" not in display.table["case_id"].tolist()


def test_a_test_that_could_not_run_is_no_quantitative_evidence():
    results = result_frame(
        [dict(analysis="pre_post", case_id="slotervaart", group="t0->t2", outcome="trust", test="paired_t", n=2, note="n too small")]
    )
    display = joint(results, make_prevalence(), make_segments(), make_participants())
    row = cell(display, "trust", "slotervaart")
    assert row["quant_evidence"] == "absent" and row["fit_label"] == "silence"
    assert "n too small" in row["quant_detail"]


def test_pooled_results_add_an_all_row_with_pooled_prevalence():
    results = pd.concat(
        [make_results(), result_frame([dict(analysis="pre_post", case_id="all", group="t0->t2", outcome="trust", test="paired_t",
                                            n=64, p_value=0.02, effect_size=0.3, effect_name="hedges_g", ci_low=0.05, ci_high=0.55)])],
        ignore_index=True,
    )
    display = joint(results, make_prevalence(), make_segments(), make_participants())
    assert display.table["case_id"].unique().tolist() == [*CASES, "all"]
    pooled = cell(display, "trust", "all")
    assert pooled["support_share"] == pytest.approx((9 + 7 + 0) / (12 + 10 + 10))
    assert pooled["fit_label"] == "agreement"


def test_prevalence_from_quantitize_with_n_with_code_and_percent():
    prevalence = make_prevalence().rename(columns={"n": "n_with_code", "pct": "percent"}).drop(columns="suppressed")
    display = joint(make_results(), prevalence, make_segments(), make_participants(), min_cell=None)
    expected = build(min_cell=None)
    pd.testing.assert_frame_equal(display.table, expected.table)
    assert display.min_cell is None and build().min_cell == 5


def test_counts_not_yet_suppressed_are_suppressed_by_default_in_every_export(tmp_path):
    prevalence = make_prevalence().rename(columns={"n": "n_with_code", "pct": "percent"}).drop(columns="suppressed")
    display = joint(make_results(), prevalence, make_segments(), make_participants())
    row = cell(display, "trust", "slotervaart")
    assert "we-they thinking fewer than 5 of 12" in row["qual_summary"] and "1 of 12" not in row["qual_summary"]
    assert row["support_share"] == 0.75 and pd.isna(row["contrary_share"])  # a suppressed count has no published share
    import openpyxl

    workbook = openpyxl.load_workbook(ig.to_xlsx(display, tmp_path / "display.xlsx"))
    xlsx = "\n".join(str(c.value) for sheet in workbook.worksheets for row in sheet.iter_rows() for c in row if c.value is not None)
    exports = [ig.to_markdown(display), ig.to_html(display).replace("&lt;", "<"), xlsx]
    assert all("fewer than 5 of 12" in text and " 1 of 12" not in text for text in exports)
    assert all("Counts of 1 to 4 people are suppressed (<5)" in text for text in exports)
    themes = themes_of(make_results(), prevalence, make_segments(), make_participants(), min_cell=2)
    shown = set(themes.table.loc[themes.table["case_id"] == "slotervaart", "prevalence"])
    assert {"− we-they thinking fewer than 2 of 12", "+ shared positive goal 2 of 12 (17%)"} <= shown  # the threshold is configurable


def test_suppressed_cells_count_as_mentioned_but_carry_no_share():
    prevalence = make_prevalence()
    prevalence.loc[(prevalence["case_id"] == "slotervaart") & (prevalence["code"] == "growing_trust"), ["n", "suppressed"]] = [np.nan, True]
    display = joint(make_results(), prevalence, make_segments(), make_participants())
    row = cell(display, "trust", "slotervaart")
    assert row["qual_evidence"] == "inconclusive" and "growing trust fewer than 5 of 12" in row["qual_summary"]


def test_prevalence_after_small_cell_suppression_shows_the_flag():
    # as privacy.suppress_small_cells(prevalence, count_columns=["n_with_code"], derived={"percent": "n_with_code"}) leaves it
    prevalence = make_prevalence().rename(columns={"n": "n_with_code", "pct": "percent"}).drop(columns="suppressed")
    small = prevalence["n_with_code"].between(1, 4)
    prevalence["n_with_code_flag"] = np.where(small, "<5", "")
    prevalence["n_with_code"] = prevalence["n_with_code"].astype("Int64").mask(small)
    display = joint(make_results(), prevalence, make_segments(), make_participants())
    row = cell(display, "trust", "slotervaart")
    assert "− we-they thinking fewer than 5 of 12" in row["qual_summary"] and "+ growing trust 9 of 12 (75%)" in row["qual_summary"]
    assert np.isnan(row["contrary_share"])  # a suppressed count has no share
    assert row["qual_evidence"] == "supportive"


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(DataError, match="prevalence frame lacks column") as caught:
        joint(make_results(), make_prevalence().drop(columns="n_at_risk"), make_segments(), make_participants())
    assert caught.value.column == "n_at_risk"
    with pytest.raises(DataError, match="one row per case_id x code") as caught:
        joint(make_results(), pd.concat([make_prevalence(), make_prevalence().iloc[[0]]]), make_segments(), make_participants())
    assert "slotervaart x growing_trust" in str(caught.value)
    with pytest.raises(DataError, match="standard result frame"):
        joint(make_results().drop(columns="ci_low"), make_prevalence(), make_segments(), make_participants())
    with pytest.raises(ValueError, match="quotes_per_cell"):
        build(quotes_per_cell=4)
    with pytest.raises(ValueError, match="language"):
        build(language="fr")


def test_dutch_display():
    display = build(language="nl")
    row = cell(display, "trust", "slotervaart")
    assert row["construct_label"] == "Wederzijds vertrouwen"
    assert row["meta_inference"].startswith("Overeenstemming (bevestiging)")
    assert "g = 0,80 [0,20; 1,40]" in row["quant_summary"]
    assert cell(display, "trust", "poelenburg_b")["meta_inference"].startswith("Dissonantie")
    assert "zijn niet doorslaggevend" in cell(display, "perception_gap", "slotervaart")["meta_inference"]  # the interviews are


# --- quotes --------------------------------------------------------------------------------------------


def quotes_of(display, construct="trust", case_id="slotervaart"):
    return cell(display, construct, case_id)["quotes"].split("\n")


def test_quote_selection_is_reproducible_and_independent_of_row_order():
    first = build(quotes_per_cell=3)
    again = build(quotes_per_cell=3)
    pd.testing.assert_frame_equal(first.table, again.table)
    for seed in range(5):
        shuffled = make_segments().sample(frac=1, random_state=seed).reset_index(drop=True)
        display = joint(make_results(), make_prevalence(), shuffled, make_participants(), quotes_per_cell=3)
        assert display.table["quotes"].tolist() == first.table["quotes"].tolist()
        assert display.table["quote_refs"].tolist() == first.table["quote_refs"].tolist()


def test_quotes_prefer_agreed_passages_spread_participants_and_avoid_fragments():
    display = build(quotes_per_cell=3)
    refs = cell(display, "trust", "slotervaart")["quote_refs"].split("; ")
    # 1: coded by both coders; then one passage from each other participant; the 11-character fragment never wins
    assert refs[0] == "int_s1@0-90"
    assert set(refs[1:]) == {"int_s2@10-120", "int_s3@5-95"}
    assert "int_s2@300-310" not in refs
    one = build(quotes_per_cell=1)
    assert cell(one, "trust", "slotervaart")["quote_refs"] == "int_s1@0-90"


def test_quotes_come_from_the_side_of_the_verdict():
    display = build(quotes_per_cell=3)
    # trust is supported in slotervaart: the we-they passage (a contradicting code) is not shown
    assert "us and them" not in cell(display, "trust", "slotervaart")["quotes"]


def test_quotes_are_redacted_with_names_from_participants_or_given():
    display = build(quotes_per_cell=3)
    text = cell(display, "trust", "slotervaart")["quotes"]
    assert "Fatima" not in text and "Jansen" not in text
    assert text.count("[NAAM]") == 2
    assert "(s_p1, migrant organisation; growing trust)" in text  # role and code by their names
    explicit = build(quotes_per_cell=3, redact_names=["mosque"])
    text = cell(explicit, "trust", "slotervaart")["quotes"]
    assert "Fatima" in text and "mosque" not in text


def test_a_custom_redact_function_is_used():
    calls = []

    def shout(texts, names):
        calls.append(list(names))
        return pd.Series(texts).str.upper()

    display = build(redact=shout)
    assert calls and "Fatima" in calls[0]
    assert cell(display, "trust", "slotervaart")["quotes"].startswith("“SINCE FATIMA")


def test_the_default_redaction_is_the_privacy_modules_whole_word_redaction():
    segments = make_segments()
    segments.loc[0:1, "text"] = "Ali and Alinda met Ali-Baba; ALI laughed, Ali's tea afternoons were the start of it all."
    display = joint(make_results(), make_prevalence(), segments, make_participants(), redact_names=["Ali"], quotes_per_cell=3)
    quotes = cell(display, "trust", "slotervaart")["quotes"]
    assert "“[NAAM] and Alinda met [NAAM]-Baba; [NAAM] laughed, [NAAM] tea afternoons" in quotes  # possessive goes too


def test_long_quotes_are_cut_at_a_word_with_an_elision_mark():
    segments = make_segments()
    long_text = "word " * 200
    segments.loc[len(segments)] = ["int_b2", "b_p1", "poelenburg_b", "c1", "growing_trust", 0, len(long_text), long_text]
    display = joint(make_results(), make_prevalence(), segments, make_participants(), quotes_per_cell=2,
                               quote_window=(40, 100))
    quotes = quotes_of(display, "trust", "poelenburg_b")
    long_quote = next(q for q in quotes if "[…]" in q)
    body = long_quote[1 : long_quote.index("”")]
    assert len(body) <= 100 + len(" […]") and body.endswith("word […]")


def test_select_quotes_directly():
    picked = ig.select_quotes(make_segments(), ["growing_trust"], k=2)
    assert picked["document_id"].tolist() == ["int_s1", "int_s2"] or picked["document_id"].tolist() == ["int_s1", "int_s3"]
    assert picked.loc[0, "n_coders"] == 2
    assert ig.select_quotes(make_segments(), ["no_such_code"], k=2).empty


# --- overrides ----------------------------------------------------------------------------------------

OVERRIDE_HEADER = "construct,case_id,fit_label,meta_inference,evaluator,date,reason\n"


def write_overrides(folder: Path, body: str, header: str = OVERRIDE_HEADER, name: str = "integration_overrides.csv") -> Path:
    path = folder / name
    path.write_text(header + body, encoding="utf-8")
    return path


def test_override_replaces_label_and_text_and_keeps_the_computed_label(tmp_path):
    path = write_overrides(
        tmp_path,
        'trust,poelenburg_b,partial agreement,"Trust grew among the interviewed board members, not in the wider group.",EP,2024-05-01,survey sample differs\n'
        "help_seeking,poelenburg_a,,Help-seeking rose after the tea mornings started.,EP,2024-05-01,wording\n",
    )
    before = path.read_bytes()
    display = build(overrides=tmp_path)  # the raw data folder
    assert path.read_bytes() == before  # read, never written
    row = cell(display, "trust", "poelenburg_b")
    assert (row["computed_fit_label"], row["fit_label"], row["overridden"]) == ("dissonance", "partial agreement", True)
    assert row["meta_inference"].startswith("Trust grew among the interviewed board members")
    assert (row["evaluator"], row["override_date"], row["override_reason"]) == ("EP", "2024-05-01", "survey sample differs")
    assert row["fetters_fit"] == ""
    text_only = cell(display, "help_seeking", "poelenburg_a")
    assert text_only["fit_label"] == text_only["computed_fit_label"] == "agreement"
    assert text_only["meta_inference"] == "Help-seeking rose after the tea mornings started."
    untouched = cell(display, "trust", "slotervaart")
    assert not untouched["overridden"] and untouched["evaluator"] == ""
    assert display.table["overridden"].sum() == 2


def test_overrides_read_semicolon_csv_with_bom_and_a_folder_without_file(tmp_path):
    path = tmp_path / "integration_overrides.csv"
    path.write_text("\ufeff" + OVERRIDE_HEADER.replace(",", ";") + "trust;slotervaart;Silence;;EP;2024-05-02;interviews were pilot only\n",
                    encoding="utf-8")
    display = build(overrides=path)
    assert cell(display, "trust", "slotervaart")["fit_label"] == "silence"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert not build(overrides=empty).table["overridden"].any()


@pytest.mark.parametrize(
    "body, column, found",
    [
        ("trust_me,slotervaart,agreement,,EP,2024-05-01,x\n", "construct", "trust_me"),
        ("trust,zaandam,agreement,,EP,2024-05-01,x\n", "case_id", "zaandam"),
        ("trust,slotervaart,confirmation,,EP,2024-05-01,x\n", "fit_label", "confirmation"),
        ("trust,slotervaart,agreement,,,2024-05-01,x\n", "evaluator", ""),
        ("trust,slotervaart,agreement,,EP,01-05-2024,x\n", "date", "01-05-2024"),
        ("trust,slotervaart,agreement,,EP,2024-05-01,\n", "reason", ""),
        ("trust,slotervaart,,,EP,2024-05-01,x\n", "fit_label", ""),
    ],
)
def test_bad_overrides_name_file_row_and_column(tmp_path, body, column, found):
    good = "safe_space,slotervaart,silence,,EP,2024-05-01,ok\n"
    path = write_overrides(tmp_path, good + body)
    with pytest.raises(DataError) as caught:
        build(overrides=path)
    error = caught.value
    assert (error.file, error.row, error.column, error.found) == (str(path), 3, column, found)
    assert str(path) in str(error) and "row 3" in str(error)


def test_overrides_duplicates_and_columns(tmp_path):
    twice = write_overrides(tmp_path, "trust,slotervaart,silence,,EP,2024-05-01,a\ntrust,slotervaart,agreement,,EP,2024-05-01,b\n")
    with pytest.raises(DataError, match="overridden twice") as caught:
        build(overrides=twice)
    assert caught.value.row == 3
    missing = write_overrides(tmp_path, "trust,slotervaart\n", header="construct,case_id\n", name="o2.csv")
    with pytest.raises(DataError, match="lack required column") as caught:
        build(overrides=missing)
    assert caught.value.column == "fit_label" and caught.value.row == 1
    extra = write_overrides(tmp_path, "trust,slotervaart,silence,,EP,2024-05-01,a,x\n",
                            header=OVERRIDE_HEADER.strip() + ",score\n", name="o3.csv")
    with pytest.raises(DataError, match="unknown column") as caught:
        build(overrides=extra)
    assert caught.value.column == "score"
    with pytest.raises(DataError, match="not found"):
        build(overrides=tmp_path / "missing.csv")


def test_overrides_as_a_frame():
    frame = pd.DataFrame([dict(construct="trust", case_id="slotervaart", fit_label="dissonance", meta_inference="",
                               evaluator="EP", date="2024-05-01", reason="test")])
    assert cell(build(overrides=frame), "trust", "slotervaart")["fit_label"] == "dissonance"


# --- other displays ------------------------------------------------------------------------------------


def test_meta_matrix_orders_cases_by_the_chosen_estimate():
    display = build()
    shown = ig.meta_matrix(display, order_by="trust")
    assert (shown.kind, shown.order_by, shown.labels["trust"], shown.language) == ("meta_matrix", "trust", "Mutual trust", "en")
    matrix = shown.table
    assert matrix["case_id"].tolist() == ["slotervaart", "poelenburg_b", "poelenburg_a"]  # 0.80, 0.02, none
    assert matrix["order_value"].iloc[0] == pytest.approx(0.80)
    assert matrix.loc[0, "trust"] == "g = 0.80 [0.20, 1.40] · growing trust 75% · agreement"
    # the largest theme without a verdict; its share is not shown (2 people)
    assert matrix.loc[0, "perception_gap"] == "g = -0.60 [-1.10, -0.05] · shared positive goal · partial agreement"
    assert matrix.loc[0, "safe_space"] == "— · shared positive goal · silence"
    assert matrix.loc[2, "trust"] == "— · — · inconclusive"
    assert matrix.loc[1, "trust_fit"] == "dissonance"
    ascending = ig.meta_matrix(display, order_by="trust", ascending=True)
    assert ascending.table["case_id"].tolist() == ["poelenburg_b", "slotervaart", "poelenburg_a"]
    with pytest.raises(ValueError, match="order_by"):
        ig.meta_matrix(display, order_by="happiness")
    with pytest.raises(TypeError, match="joint_display"):
        ig.meta_matrix(display.table)  # a bare table has no settings to carry over


def test_statistics_by_themes_puts_each_theme_beside_the_statistic():
    shown = themes_of(make_results(), make_prevalence(), make_segments(), make_participants(), alpha=0.1)
    assert (shown.kind, shown.language, shown.alpha, shown.min_cell) == ("statistics_by_themes", "en", 0.1, 5)
    table = shown.table
    imap = ig.load_integration_map()
    assert len(table) == sum(len(c.codes) for c in imap.constructs) * len(CASES)
    row = table.loc[(table["construct"] == "trust") & (table["case_id"] == "slotervaart") & (table["code"] == "growing_trust")].iloc[0]
    assert "g = 0.80" in row["statistic"] and row["n"] == 9 and row["n_at_risk"] == 12
    hidden = table.loc[(table["construct"] == "trust") & (table["case_id"] == "slotervaart") & (table["code"] == "we_they_thinking")].iloc[0]
    assert pd.isna(hidden["n"]) and pd.isna(hidden["share"]) and hidden["prevalence"] == "− we-they thinking fewer than 5 of 12"
    assert row["quote_ref"] == "int_s1@0-90" and "Fatima" not in row["quote"]
    against = table.loc[(table["construct"] == "trust") & (table["case_id"] == "slotervaart") & (table["code"] == "we_they_thinking")].iloc[0]
    assert against["code_direction"] == "contradicts" and "us and them" in against["quote"]


# --- exports ---------------------------------------------------------------------------------------------


def hostile_display() -> ig.Display:
    segments = make_segments()
    segments.loc[segments["document_id"] == "int_b1", "text"] = "<script>alert('x')</script> we trust | each other now, really & truly"
    return joint(make_results(), make_prevalence(), segments, make_participants())


def test_html_is_valid_escaped_coloured_and_has_a_legend():
    from lxml import html

    page = ig.to_html(hostile_display())
    tree = html.document_fromstring(page)
    assert not tree.xpath("//script")
    assert "&lt;script&gt;" in page
    rows = tree.xpath("//table[@class='joint-display']/tbody/tr")
    assert len(rows) == 5 * len(CASES)
    dissonant = tree.xpath("//td[contains(concat(' ', @class, ' '), ' fit-dissonance ')]")
    assert len(dissonant) == 1 and dissonant[0].text_content() == "dissonance"
    assert ig.FIT_COLOURS["dissonance"] in page
    legend = [li.text_content() for li in tree.xpath("//ul[@class='legend']/li")]
    assert [item.split(":")[0] for item in legend] == list(ig.FIT_LABELS)
    assert "30%" in page  # the threshold is stated
    header_cells = tree.xpath("//table[@class='joint-display']/thead/tr/th")
    assert all(len(row.xpath("td")) == len(header_cells) for row in rows)


def test_html_of_meta_matrix_colours_cells():
    from lxml import html

    from ponzoni_eval._core.stylesheet import document_css

    page = ig.to_html(ig.meta_matrix(build()))
    tree = html.document_fromstring(page)
    assert len(tree.xpath("//td[contains(concat(' ', @class, ' '), ' fit-agreement ')]")) >= 2
    # the reports' style sheet on a landscape page (seven columns; in Dutch a portrait page broke its words mid-word)
    assert document_css() in page and "size: A4 landscape" in page and "nth-child" not in page  # the joint display's widths stay its own
    assert "size: A4 landscape" in ig.to_html(hostile_display())  # the joint display's nine columns: landscape
    themes = themes_of(make_results(), make_prevalence(), make_segments(), make_participants())
    assert "size: A4 landscape" not in ig.to_html(themes)  # statistics by themes: six columns, a portrait page
    assert tree.xpath("//caption")[0].text_content() == "Case-ordered meta-matrix"


def test_markdown_table_escapes_pipes_and_line_breaks():
    text = ig.to_markdown(hostile_display())
    table_lines = [line for line in text.splitlines() if line.startswith("|")]
    assert len(table_lines) == 2 + 5 * len(CASES)
    columns = table_lines[0].count("|")
    unescaped = [line.replace("\\|", "") for line in table_lines]
    assert all(line.count("|") == columns for line in unescaped)
    assert "we trust \\| each other" in text
    assert "- **dissonance**:" in text
    assert text == ig.to_markdown(hostile_display())


def test_xlsx_reads_back_with_fills_wrapping_and_is_byte_reproducible(tmp_path):
    from openpyxl import load_workbook

    display = build(quotes_per_cell=3)
    first = ig.to_xlsx(display, tmp_path / "joint.xlsx")
    time.sleep(1.1)  # openpyxl stamps the time of saving (to the second); it must not reach the bytes
    second = ig.to_xlsx(display, tmp_path / "again" / "joint.xlsx")
    assert first.read_bytes() == second.read_bytes()
    assert zipfile.is_zipfile(first)
    assert first.stat().st_mode & 0o777 == 0o644  # the package's one atomic writer
    with zipfile.ZipFile(first) as archive:  # ... and its one zip writer: fixed times and permissions
        assert {(info.external_attr >> 16) & 0o777 for info in archive.infolist()} == {0o644}
        assert {info.date_time for info in archive.infolist()} == {ZIP_TIMESTAMP}
    workbook = load_workbook(first)
    sheet = workbook["Joint display"]
    header = [c.value for c in sheet[1]]
    assert header[:2] == ["Construct", "Case"] and "Fit" in header and "Meta-inference" in header
    assert sheet.max_row == 1 + 5 * len(CASES)
    fit_column = header.index("Fit") + 1
    by_label = {}
    for row in range(2, sheet.max_row + 1):
        fit_cell = sheet.cell(row=row, column=fit_column)
        by_label[fit_cell.value] = fit_cell.fill.start_color.rgb[-6:]
        assert fit_cell.alignment.wrap_text
    assert by_label["agreement"] == ig.FIT_COLOURS["agreement"].lstrip("#")
    assert by_label["dissonance"] == ig.FIT_COLOURS["dissonance"].lstrip("#")
    assert sheet.column_dimensions["A"].width > 10
    assert sheet.freeze_panes == "A2"
    legend = workbook["legend"]
    assert [legend.cell(row=i, column=1).value for i in range(1, 6)] == list(ig.FIT_LABELS)
    row = next(r for r in range(2, sheet.max_row + 1) if sheet.cell(row=r, column=2).value == "Slotervaart"
               and sheet.cell(row=r, column=1).value == "Mutual trust")
    quotes = sheet.cell(row=row, column=header.index("Exemplar quotes") + 1).value
    assert quotes.count("\n") == 2 and "Fatima" not in quotes


def test_dutch_exports_use_dutch_headers_and_labels(tmp_path):
    display = build(language="nl")
    text = ig.to_markdown(display)
    assert "| Casus" in text and "dissonantie" in text and "Meta-inferentie" in text
    page = ig.to_html(display)
    assert 'lang="nl"' in page and "overeenstemming" in page


def test_overridden_labels_are_starred_in_exports(tmp_path):
    frame = pd.DataFrame([dict(construct="trust", case_id="slotervaart", fit_label="dissonance", meta_inference="",
                               evaluator="EP", date="2024-05-01", reason="test")])
    text = ig.to_markdown(build(overrides=frame))
    assert "dissonance *" in text and "evaluator's judgement" in text


@pytest.mark.parametrize(
    "estimate, low, high, direction, null, smallest, expected",
    [
        (0.25, -0.2, 0.7, "greater", 0.0, 0.2, "supportive"),  # wide CI, but the estimate matters
        (0.20, -0.2, 0.6, "greater", 0.0, 0.2, "supportive"),  # on the smallest meaningful effect
        # a point estimate short of the smallest meaningful effect is no evidence either way (not "negligible")
        (0.15, -0.3, 0.6, "greater", 0.0, 0.2, "inconclusive"),
        (-0.15, -0.6, 0.3, "greater", 0.0, 0.2, "inconclusive"),
        (-0.30, -0.8, 0.2, "greater", 0.0, 0.2, "contrary"),
        (-0.30, -0.8, 0.2, "less", 0.0, -0.2, "supportive"),
        (1.05, 0.8, 1.4, "greater", 1.0, 1.1, "inconclusive"),
        (1.013, 0.8, 1.4, "greater", 1.0, None, "inconclusive"),  # without a smallest effect an estimate says nothing
        (0.0, -0.5, 0.5, "greater", 0.0, None, "inconclusive"),
        (np.nan, np.nan, np.nan, "greater", 0.0, 0.2, "absent"),
    ],
)
def test_quantitative_evidence_by_point_estimate(estimate, low, high, direction, null, smallest, expected):
    got = ig.classify_quantitative([estimate], [low], [high], [0.5], direction=direction, null_value=null,
                                   smallest_meaningful=smallest, basis="estimate")
    assert got.tolist() == [expected]
    with pytest.raises(ValueError, match="basis"):
        ig.classify_quantitative([estimate], [low], [high], [0.5], direction=direction, basis="vibes")


def test_estimate_basis_in_the_display_is_recorded():
    results = make_results()
    # poelenburg_b trust: g = 0.25 with a wide CI: inconclusive by CI, past the smallest meaningful effect (0.2) by estimate
    results.loc[(results["case_id"] == "poelenburg_b"), ["effect_size", "ci_low", "ci_high"]] = [0.25, -0.3, 0.8]
    by_ci = joint(results, make_prevalence(), make_segments(), make_participants())
    by_estimate = joint(results, make_prevalence(), make_segments(), make_participants(), quant_basis="estimate")
    assert cell(by_ci, "trust", "poelenburg_b")["fit_label"] == "partial agreement"
    assert cell(by_estimate, "trust", "poelenburg_b")["fit_label"] == "agreement"
    assert "sensitivity view, not a claim" in ig.to_markdown(by_estimate)
    assert by_estimate.table["quant_basis"].eq("estimate").all() and by_estimate.quant_basis == "estimate"
    assert "point estimate" in ig.to_markdown(by_estimate) and "95% CI" in ig.to_markdown(by_ci)


def test_the_privacy_modules_redact_is_the_default():
    segments = make_segments()
    segments.loc[0:1, "text"] = "Mail Fatima at fatima@example.org, she and the youth team organised the tea afternoons."
    display = joint(make_results(), make_prevalence(), segments, make_participants(), quotes_per_cell=3)
    quotes = cell(display, "trust", "slotervaart")["quotes"]
    assert "Fatima" not in quotes and "fatima@example.org" not in quotes and "[NAAM]" in quotes


@pytest.mark.parametrize("language, expected", [("en", "p > .999"), ("nl", "p > ,999")])
def test_a_p_value_near_one_reads_as_in_the_sentences_in_every_document(tmp_path, language, expected):
    """The joint display's own formatter printed p = 0.9996 as 'p = .000' while the case report said 'p > .999'."""
    import openpyxl

    from ponzoni_eval.report import format_p

    results = make_results()
    results.loc[(results["case_id"] == "poelenburg_b") & (results["outcome"] == "trust"), "p_value"] = 0.9996
    display = joint(results, make_prevalence(), make_segments(), make_participants(), language=language)
    assert format_p(0.9996, language=language) == expected
    assert expected in cell(display, "trust", "poelenburg_b")["quant_summary"]
    workbook = openpyxl.load_workbook(ig.to_xlsx(display, tmp_path / "display.xlsx"))
    cells = " ".join(str(c.value) for sheet in workbook for row in sheet.iter_rows() for c in row if c.value is not None)
    for text in (ig.to_html(display), ig.to_markdown(display), cells):
        assert expected.replace(">", "&gt;") in text or expected in text
        assert "p = .000" not in text and "p = ,000" not in text and "1.000" not in text
