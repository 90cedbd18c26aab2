"""The integration protocol (issue 18): the analysis plan, equal evidence standards, labels as in the sources.

Constructed data in the shapes an evaluator has: participants with roles, who mentioned which code
per wave (`qual.code_presence`'s shape, unsuppressed), results in the standard shape. Every label
is checked at its boundary; reference values for Wilson, Fisher and Holm come from the
literature, R and statsmodels.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ponzoni_eval import integrate as ig
from ponzoni_eval._core.errors import DataError
from ponzoni_eval._core.results import result_frame
from glossary_check import SNAKE_CASE

PLAN_TEXT = """
schema_version = 1
registered = 2024-02-01
alpha = 0.05
qual_threshold = 0.30
small_n = 10

[multiplicity]
primary = "holm"
secondary = "none"

[constructs.trust]
outcome = "primary"
direction = "greater"
roles = ["professional", "migrant_org"]
wave = "t2"
[[constructs.trust.results]]
effect_name = "change"
family = "primary"
smallest_meaningful = 0.25

[constructs.help_seeking]
outcome = "primary"
direction = "greater"
roles = ["professional", "migrant_org", "parent"]
wave = "t2"
code_roles = { help_seeking_youth_team = ["parent"] }
[[constructs.help_seeking.results]]
effect_name = "rate_ratio_level"
family = "primary"
smallest_meaningful = 1.1
[[constructs.help_seeking.results]]
effect_name = "rate_ratio_slope"
family = "secondary"
smallest_meaningful = 1.02

[constructs.expectation_mismatch]
outcome = "secondary"
direction = "greater"
roles = ["professional", "migrant_org"]
wave = "t2"
comparison = "between_roles"
[[constructs.expectation_mismatch.results]]
effect_name = "cramers_v"
family = "secondary"
[constructs.expectation_mismatch.contrasts]
expect_strengthening = { higher = "migrant_org", lower = "professional" }
"""


def plan_from(text: str, folder: Path):
    """An analysis plan written as `text` into `folder` and loaded as an evaluator's would be."""
    path = folder / "analysis_plan.toml"
    path.write_text(text, encoding="utf-8")
    return ig.load_analysis_plan(path)


@pytest.fixture()
def plan(tmp_path):
    return plan_from(PLAN_TEXT, tmp_path)


def interviews(spec):
    """Participants and presence from (case, role, wave, code, mentioned, interviewed) rows; codes of the map all present.

    Each row adds `interviewed` people of that role in that case at that wave, the first
    `mentioned` of whom mentioned `code`.
    """
    people, presence = [], []
    for index, (case, role, wave, code, mentioned, total) in enumerate(spec):
        for k in range(total):
            pid = f"{case}_{role}_{wave}_{index}_{k}"
            people.append({"participant_id": pid, "case_id": case, "role": role})
            presence.append({"participant_id": pid, "wave": wave, "code": code, "present": int(k < mentioned), "interviewed": True})
    return pd.DataFrame(people), pd.DataFrame(presence)


def change(case, estimate, low, high, p, n=40):
    return dict(analysis="cross_case_mixed_model", case_id=case, group="t0->t2", outcome="trust", test="contrast", n=n,
                p_value=p, effect_size=estimate, effect_name="change", ci_low=low, ci_high=high)


NO_SEGMENTS = pd.DataFrame(columns=["document_id", "participant_id", "case_id", "coder", "code", "start", "end", "text"])
NO_PREVALENCE = pd.DataFrame(columns=["case_id", "code", "n", "n_at_risk"])


def show(results, spec, plan, **options):
    participants, presence = interviews(spec)
    rows = result_frame(results)
    inputs = ig.DisplayInputs(rows, NO_PREVALENCE, NO_SEGMENTS, participants, presence)
    cases = sorted(participants["case_id"].unique()) if len(participants) else sorted(rows["case_id"].unique())
    return ig.joint_display(inputs, ig.DisplayOptions(plan=plan, cases=cases, **options))


def cell(display, construct, case):
    table = display.table
    rows = table.loc[(table["construct"] == construct) & (table["case_id"] == case)]
    assert len(rows) == 1
    return rows.iloc[0]


# --- reference values -------------------------------------------------------------------------------


def test_wilson_interval_against_newcombe_1998_and_statsmodels():
    # Newcombe (1998), Table I, method 3 (Wilson score): 81/263, 15/148, 0/20, 1/29
    low, high = ig.wilson_interval([81, 15, 0, 1], [263, 148, 20, 29])
    assert low.round(4).tolist() == [0.2553, 0.0624, 0.0, 0.0061]
    assert high.round(4).tolist() == [0.3662, 0.1605, 0.1611, 0.1718]
    from statsmodels.stats.proportion import proportion_confint

    assert np.allclose((low[0], high[0]), proportion_confint(81, 263, method="wilson"))
    assert np.isnan(ig.wilson_interval([0], [0])[0]).all()  # no interviewees: no interval


def test_fisher_exact_and_holm_against_r():
    # R: fisher.test(matrix(c(3, 1, 1, 3), 2))$p.value = 0.4857; fisher.test(matrix(c(8, 1, 2, 9), 2))$p.value = 0.005477
    assert ig.fit.fisher_exact(3, 1, 1, 3) == pytest.approx(0.4857, abs=1e-4)
    assert ig.fit.fisher_exact(8, 2, 1, 9) == pytest.approx(0.005477, abs=1e-6)
    # R: p.adjust(c(0.01, 0.02, 0.03, 0.04, 0.5), "holm") = 0.05 0.08 0.09 0.09 0.50
    assert ig.holm([0.01, 0.02, 0.03, 0.04, 0.5]).tolist() == pytest.approx([0.05, 0.08, 0.09, 0.09, 0.5])
    from statsmodels.stats.multitest import multipletests

    p = np.array([0.002, 0.3, 0.04, 0.01, 0.7, 0.049])
    assert ig.holm(p) == pytest.approx(multipletests(p, method="holm")[1])


# --- the plan ---------------------------------------------------------------------------------------------


def test_the_example_plan_and_the_package_plan(plan):
    assert plan.pre_specified and plan.registered.isoformat() == "2024-02-01" and plan.get("trust").roles == ("professional", "migrant_org")
    assert plan.get("expectation_mismatch").contrasts == {"expect_strengthening": ("migrant_org", "professional")}
    assert plan.get("help_seeking").roles_for("help_seeking_youth_team") == ("parent",)
    assert plan.get("safe_space") is None  # not in this plan: exploratory
    default = ig.load_analysis_plan()
    assert not default.pre_specified and default.names == ig.load_integration_map().names
    ig.check_plan_against_map(default, ig.load_integration_map())


def test_plan_record_and_template(tmp_path, plan):
    record = ig.plan_record(plan.source)
    assert record["registered"] == "2024-02-01" and len(record["sha256"]) == 64 and record["file"] == "analysis_plan.toml"
    written = ig.write_plan_template(tmp_path / "folder_plan")
    assert written.read_text(encoding="utf-8") == ig.plan_template()
    folder = tmp_path / "raw"
    folder.mkdir()
    ig.write_plan_template(folder)
    assert ig.load_analysis_plan(folder).pre_specified  # a plan in the data folder is the evaluator's


@pytest.mark.parametrize(
    "change_text, key",
    [
        (('outcome = "primary"\ndirection = "greater"\nroles = ["professional", "migrant_org"]', 'outcome = "main"\ndirection = "greater"\nroles = ["professional", "migrant_org"]'), "constructs.trust.outcome"),
        (('roles = ["professional", "migrant_org"]\nwave = "t2"\n[[constructs.trust', 'roles = ["professional", "mayor"]\nwave = "t2"\n[[constructs.trust'), "constructs.trust.roles[1]"),
        (("registered = 2024-02-01", 'registered = "soon"'), "registered"),
        (("qual_threshold = 0.30", "qual_threshold = 30"), "qual_threshold"),
        (('secondary = "none"', 'secondary = "bonferroni"'), "multiplicity.secondary"),
        (("qual_threshold = 0.30", 'qual_threshold = 0.30\nmixed_structure = "random_slope"'), "mixed_structure"),
        (('family = "primary"\nsmallest_meaningful = 0.25', 'family = "primary"\nsmallest = 0.25'), "constructs.trust.results[0].smallest"),
        (('expect_strengthening = { higher = "migrant_org", lower = "professional" }', ""), "constructs.expectation_mismatch.contrasts"),
    ],
)
def test_plan_errors_name_the_file_and_the_key(tmp_path, change_text, key):
    old, new = change_text
    assert old in PLAN_TEXT
    path = tmp_path / "analysis_plan.toml"
    path.write_text(PLAN_TEXT.replace(old, new), encoding="utf-8")
    with pytest.raises(DataError) as caught:
        ig.load_analysis_plan(path)
    assert f"'{key}'" in str(caught.value) and caught.value.file == str(path)


@pytest.mark.parametrize("structure", ["intercept", "slope", "unstructured", "compare"])
def test_the_plan_chooses_the_mixed_model_structure(tmp_path, plan, structure):
    assert plan.mixed_structure == "intercept" and ig.load_analysis_plan().mixed_structure == "intercept"  # the default
    path = tmp_path / "analysis_plan.toml"
    path.write_text(PLAN_TEXT.replace("qual_threshold = 0.30", f'qual_threshold = 0.30\nmixed_structure = "{structure}"'), encoding="utf-8")
    assert ig.load_analysis_plan(path).mixed_structure == structure


def test_a_plan_that_does_not_fit_the_map_is_refused(tmp_path):
    path = tmp_path / "analysis_plan.toml"
    path.write_text(PLAN_TEXT.replace("expect_strengthening = {", "expect_everything = {"), encoding="utf-8")
    with pytest.raises(DataError, match="constructs.expectation_mismatch.contrasts.expect_everything"):
        ig.check_plan_against_map(ig.load_analysis_plan(path), ig.load_integration_map())
    path.write_text(PLAN_TEXT.replace('outcome = "primary"\ndirection = "greater"', 'outcome = "primary"\ndirection = "less"', 1), encoding="utf-8")
    with pytest.raises(DataError, match="constructs.trust.direction"):
        ig.check_plan_against_map(ig.load_analysis_plan(path), ig.load_integration_map())


def test_validate_and_prepare_check_and_carry_the_plan(tmp_path):
    from example_data import EXAMPLE
    import shutil

    from ponzoni_eval.data.preparation import prepare
    from ponzoni_eval.data.validate import validate_dir
    from ponzoni_eval.pipeline.manifest import analysis_plan_entry

    raw = tmp_path / "raw"
    shutil.copytree(EXAMPLE, raw)
    (raw / "analysis_plan.toml").write_text(PLAN_TEXT.replace('wave = "t2"', 'wave = "t9"', 1), encoding="utf-8")
    problems = validate_dir(raw).problems
    bad = problems.loc[problems["message"].str.contains("constructs.trust.wave", regex=False)]
    assert len(bad) == 1 and bad["file"].iloc[0].endswith("analysis_plan.toml") and bad["severity"].iloc[0] == "error"
    (raw / "analysis_plan.toml").write_text(PLAN_TEXT, encoding="utf-8")
    out = tmp_path / "processed"
    prepare(raw, out)
    entry = analysis_plan_entry(out)
    assert entry["pre_specified"] and entry["registered"] == "2024-02-01"
    assert entry["sha256"] == ig.plan_record(raw / "analysis_plan.toml")["sha256"]
    from ponzoni_eval.report.sections import analysis_plan_for

    assert analysis_plan_for(out).registered.isoformat() == "2024-02-01"
    (raw / "analysis_plan.toml").unlink()
    prepare(raw, out)
    assert analysis_plan_entry(out) == {"pre_specified": False} and not analysis_plan_for(out).pre_specified


# --- each label at its boundaries --------------------------------------------------------------------


TRUST_ROLES = [("a", "professional", "t2"), ("a", "migrant_org", "t2")]


def trust_voices(mentioned: int, total: int, code: str = "growing_trust", case: str = "a"):
    """`mentioned` of `total` matched interviewees (half professionals, half organisations) mention `code`."""
    first = total // 2
    return [(case, "professional", "t2", code, min(mentioned, first), first),
            (case, "migrant_org", "t2", code, max(mentioned - first, 0), total - first)]


@pytest.mark.parametrize(
    "mentioned, expected",
    [(10, "inconclusive"), (11, "supportive")],  # 10/20: Wilson low 0.2993 < 0.30; 11/20: 0.3421
)
def test_a_theme_is_conclusive_when_its_wilson_interval_reaches_the_threshold(plan, mentioned, expected):
    row = cell(show([change("a", 0.6, 0.3, 0.9, 0.001)], trust_voices(mentioned, 20), plan), "trust", "a")
    assert row.qual_evidence == expected
    assert row.fit_label == ("agreement" if expected == "supportive" else "partial agreement")


@pytest.mark.parametrize(
    "low, p, expected",
    [(0.0, 0.001, "inconclusive"), (0.001, 0.001, "supportive"), (0.001, 0.05, "inconclusive")],  # on the null; above; p = alpha
)
def test_a_result_is_conclusive_when_its_ci_excludes_the_null_and_its_adjusted_p_is_below_alpha(plan, low, p, expected):
    row = cell(show([change("a", 0.6, low, 0.9, p)], trust_voices(15, 20), plan), "trust", "a")
    assert row.quant_evidence == expected


def test_every_label_on_constructed_cases(plan):
    results = [
        change("agree", 0.6, 0.3, 0.9, 0.001),
        change("partial", 0.6, 0.3, 0.9, 0.001),
        change("against", -0.6, -0.9, -0.3, 0.001),  # significant, against the expected direction
        change("only_numbers", 0.6, 0.3, 0.9, 0.001),
        change("neither", 0.1, -0.2, 0.4, 0.4),
    ]
    spec = [*trust_voices(15, 20, case="agree"), *trust_voices(6, 20, case="partial"), *trust_voices(15, 20, case="against"),
            *trust_voices(0, 20, code="we_they_thinking", case="only_numbers"), *trust_voices(6, 20, case="neither"),
            *trust_voices(15, 20, case="only_voices")]
    display = show(results, spec, plan)
    labels = {case: cell(display, "trust", case).fit_label for case in ("agree", "partial", "against", "only_numbers", "neither", "only_voices")}
    assert labels == {"agree": "agreement", "partial": "partial agreement", "against": "dissonance", "only_numbers": "silence",
                      "neither": "inconclusive", "only_voices": "silence"}
    assert cell(display, "trust", "against").fetters_fit == "discordance" and cell(display, "trust", "agree").fetters_fit == "confirmation"
    assert cell(display, "trust", "partial").fetters_fit == ""  # no Fetters equivalent


@pytest.mark.parametrize(
    "voices, qual, expected",
    [(15, "supportive", "dissonance"), (6, "inconclusive", "dissonance"), (0, "absent", "silence")],  # 15/20, 6/20, nobody
)
def test_a_significant_contrary_result_is_dissonance(plan, voices, qual, expected):
    row = cell(show([change("a", -0.6, -0.9, -0.3, 0.001)], trust_voices(voices, 20), plan), "trust", "a")
    assert (row.quant_evidence, row.qual_evidence, row.fit_label) == ("contrary", qual, expected)
    # both strands against the construct agree
    against = cell(show([change("a", -0.6, -0.9, -0.3, 0.001)], trust_voices(15, 20, code="we_they_thinking"), plan), "trust", "a")
    assert (against.qual_evidence, against.fit_label) == ("contrary", "agreement")


# --- equal evidence: populations, multiplicity, suppression ------------------------------------------


def test_interview_denominators_match_the_population_of_the_result(plan):
    # parents (who never answered the trust survey) and t0 interviews do not count for trust
    spec = [*trust_voices(4, 10), ("a", "parent", "t2", "growing_trust", 10, 10), ("a", "migrant_org", "t0", "growing_trust", 8, 8)]
    row = cell(show([change("a", 0.6, 0.3, 0.9, 0.001)], spec, plan), "trust", "a")
    assert row.interviewees == 10 and row.qual_evidence == "inconclusive"
    # help-seeking: help_seeking_youth_team speaks for the parents only
    spec = [("a", "parent", "t2", "help_seeking_youth_team", 7, 8), ("a", "professional", "t2", "help_seeking_youth_team", 0, 20)]
    level = dict(analysis="help_seeking_its", case_id="a", group="level change at the start", outcome="parenting_question_to_youth_team",
                 test="its_level_change", n=48, p_value=0.001, effect_size=1.8, effect_name="rate_ratio_level", ci_low=1.4, ci_high=2.2)
    row = cell(show([level], spec, plan), "help_seeking", "a")
    assert row.lead_code == "help_seeking_youth_team" and row.qual_total == 8 and row.qual_evidence == "supportive"


def test_holm_within_the_primary_family_decides_and_is_shown(plan):
    two = show([change("a", 0.6, 0.1, 1.1, 0.02), change("b", 0.6, 0.1, 1.1, 0.03)], [*trust_voices(15, 20), *trust_voices(15, 20, case="b")], plan)
    assert cell(two, "trust", "a").p_integration == pytest.approx(0.04) and cell(two, "trust", "a").quant_evidence == "supportive"
    three = show([change(c, 0.6, 0.1, 1.1, 0.02) for c in "abc"], [*trust_voices(15, 20), *trust_voices(15, 20, case="b"), *trust_voices(15, 20, case="c")], plan)
    row = cell(three, "trust", "a")
    assert row.p_integration == pytest.approx(0.06) and row.family_size == 3 and row.adjustment == "holm"
    assert row.quant_evidence == "inconclusive"  # the CI excludes 0 but the Holm-adjusted p does not reach .05
    assert "Holm-adjusted p = .060" in row.quant_summary and row.quant_summary in row.meta_inference
    # an intercept or a row the plan does not name never enters the family
    extra = dict(analysis="cross_case_mixed_model", case_id="a", group="Intercept", outcome="trust", test="fixed_effect", n=300,
                 p_value=1e-20, effect_size=3.0, effect_name="b", ci_low=2.8, ci_high=3.2)
    with_intercept = show([*(change(c, 0.6, 0.1, 1.1, 0.02) for c in "abc"), extra], [*trust_voices(15, 20), *trust_voices(15, 20, case="b"), *trust_voices(15, 20, case="c")], plan)
    assert cell(with_intercept, "trust", "a").family_size == 3


def test_a_secondary_slope_does_not_overrule_the_primary_level(plan):
    rows = [
        dict(analysis="help_seeking_its", case_id="a", group="level change at the start", outcome="parenting_question_to_youth_team",
             test="its_level_change", n=48, p_value=0.002, effect_size=1.43, effect_name="rate_ratio_level", ci_low=1.14, ci_high=1.80),
        dict(analysis="help_seeking_its", case_id="a", group="change in monthly trend", outcome="parenting_question_to_youth_team",
             test="its_slope_change", n=48, p_value=0.041, effect_size=0.983, effect_name="rate_ratio_slope", ci_low=0.967, ci_high=0.999),
    ]
    row = cell(show(rows, [("a", "parent", "t2", "help_seeking_youth_team", 7, 8)], plan), "help_seeking", "a")
    assert row.quant_evidence == "supportive" and row.effect_name == "rate_ratio_level"
    assert "RR (slope)" in row.quant_detail and "not conclusive" not in row.meta_inference


def test_the_estimate_basis_needs_the_plans_smallest_meaningful_effect(plan):
    near = cell(show([change("a", 0.2466, -0.03, 0.52, 0.08)], trust_voices(15, 20), plan, quant_basis="estimate"), "trust", "a")
    assert near.quant_evidence == "inconclusive" and near.fit_label == "partial agreement"  # short of 0.25 is not "no change"
    past = cell(show([change("a", 0.26, -0.03, 0.55, 0.08)], trust_voices(15, 20), plan, quant_basis="estimate"), "trust", "a")
    assert past.quant_evidence == "supportive"


@pytest.mark.parametrize("min_cell", [None, 2, 5, 12])
def test_suppression_changes_what_is_shown_never_a_label(plan, min_cell):
    results = [change("a", 0.6, 0.3, 0.9, 0.001), change("b", 0.6, 0.3, 0.9, 0.001)]
    spec = [*trust_voices(4, 12), *trust_voices(11, 12, case="b"), *trust_voices(4, 12, code="we_they_thinking", case="b")]
    reference = show(results, spec, plan, min_cell=None)
    shown = show(results, spec, plan, min_cell=min_cell)
    labels = ["quant_evidence", "qual_evidence", "computed_fit_label", "fit_label"]
    pd.testing.assert_frame_equal(shown.table[labels], reference.table[labels])
    b = cell(shown, "trust", "b")
    if min_cell and min_cell > 4:
        # case b has 24 matched interviewees (12 asked about each code's spec row)
        assert f"we-they thinking fewer than {min_cell} of 24" in b.qual_summary and " 4 of 24" not in " ".join(map(str, shown.table.to_numpy().ravel()))
    if min_cell and min_cell > 11:
        assert np.isnan(b.qual_n) and np.isnan(b.qual_share) and np.isnan(b.support_share)  # no number reveals the hidden count


# --- between roles -------------------------------------------------------------------------------------------


def test_expectation_mismatch_compares_the_roles_with_fishers_exact_test(plan):
    v = dict(analysis="expectation_mismatch", case_id="a", group="wave=t2, role x expectation", outcome="expectation", test="chi2",
             n=30, p_value=0.001, effect_size=0.6, effect_name="cramers_v", ci_low=0.3, ci_high=0.9)
    expected_way = [("a", "migrant_org", "t2", "expect_strengthening", 8, 10), ("a", "professional", "t2", "expect_strengthening", 1, 10)]
    row = cell(show([v], expected_way, plan), "expectation_mismatch", "a")
    assert (row.comparison, row.qual_evidence, row.fit_label) == ("between_roles", "supportive", "agreement")
    assert row.qual_p == pytest.approx(0.005477, abs=1e-6)  # one contrast: Holm leaves it
    assert "migrant organisation 8 of 10 vs professional fewer than 5 of 10" in row.meta_inference
    # mentioning is not enough: both roles equally often is no evidence of a mismatch
    same = [("a", "migrant_org", "t2", "expect_strengthening", 8, 10), ("a", "professional", "t2", "expect_strengthening", 8, 10)]
    assert cell(show([v], same, plan), "expectation_mismatch", "a").qual_evidence == "inconclusive"
    reversed_ = [("a", "migrant_org", "t2", "expect_strengthening", 1, 10), ("a", "professional", "t2", "expect_strengthening", 8, 10)]
    row = cell(show([v], reversed_, plan), "expectation_mismatch", "a")
    assert (row.qual_evidence, row.fit_label) == ("contrary", "dissonance")


# --- every sentence against its row --------------------------------------------------------------------------


def check_sentences(display, min_cell=5):
    """The sentence cites the results that decided the label, never a suppressed count, and names the label."""
    openings = {"agreement": "Agreement", "partial agreement": "Partial agreement", "dissonance": "Dissonance", "silence": "Silence",
                "inconclusive": "Inconclusive"}
    for row in display.table.itertuples():
        text = row.meta_inference
        assert text.startswith(openings[row.computed_fit_label]), text
        if row.quant_evidence != "absent":
            assert row.quant_summary and row.quant_summary in text, text  # the one line of the deciding result
            if row.adjustment == "holm":
                assert "Holm-adjusted" in text
        if row.qual_evidence != "absent" and row.lead_text:
            assert row.lead_text in text, text
        if row.computed_fit_label == "partial agreement":
            assert ("the interviews (" in text and "are not conclusive" in text) or "the quantitative result (" in text and "is not conclusive" in text
        for n, total in re.findall(r"(?<!to )(?<!\d)(\d+) of (\d+)", text):
            assert int(n) == 0 or int(n) >= min_cell, text  # suppressed counts read "fewer than"


def test_every_sentence_is_checked_against_its_row(plan):
    results = [change("agree", 0.6, 0.3, 0.9, 0.001), change("partial", 0.6, 0.3, 0.9, 0.001), change("against", -0.6, -0.9, -0.3, 0.001),
               change("neither", 0.1, -0.2, 0.4, 0.4)]
    spec = [*trust_voices(15, 20, case="agree"), *trust_voices(3, 20, case="partial"), *trust_voices(15, 20, case="against"),
            *trust_voices(6, 20, case="neither"), *trust_voices(4, 8, case="small")]
    display = show(results, spec, plan)
    check_sentences(display)
    assert "fewer than 5 of 20" in cell(display, "trust", "partial").meta_inference
    assert "The numbers are small (8 interviewees)" in cell(display, "trust", "small").meta_inference


def test_every_sentence_of_the_example_is_checked_against_its_row(tmp_path):
    from example_data import processed_example

    from ponzoni_eval.report import sections

    processed = processed_example(tmp_path / "processed")
    tables = processed if isinstance(processed, dict) else processed
    scores = sections.scores_for(tables)
    inputs = sections.joint_display_inputs(tables, scores, sections.monthly_for(tables), None, min_cell=5)
    plan = ig.load_analysis_plan(Path(__file__).resolve().parents[2] / "data" / "raw" / "example")
    for language in ("en", "nl"):
        section = sections.joint_display_section(inputs, plan=plan, language=language)
        if language == "en":
            check_sentences(section.displays["joint_display"] if "joint_display" in section.displays else next(iter(section.displays.values())))
        procedure = sections.integration_procedure_document(section, plan, language=language)
        assert procedure.count("\n| ") >= 6 + 5 + 4 and "2017-06-01" in procedure
        table = section.table
        tally = table["fit_label"].value_counts()
        names = dict(ig.FIT_TEXT[language])
        for label, count in tally.items():
            assert f"{names[label]} {count}" in procedure


# --- quotes from the matched population ----------------------------------------------------------------------


def test_quotes_come_only_from_the_roles_and_wave_the_construct_speaks_for(plan):
    # trust speaks for professionals and migrant organisations at t2: a parent's passage and a t0 passage,
    # both longer and agreed by two coders (so ranked first by `select_quotes`), are never quoted
    spec = [*trust_voices(8, 10)]
    participants, presence = interviews(spec)
    speaker = participants.loc[participants["role"] == "migrant_org", "participant_id"].iloc[0]
    participants = pd.concat([participants, pd.DataFrame([{"participant_id": "parent_1", "case_id": "a", "role": "parent"}])],
                             ignore_index=True)
    text = "Since we organised the tea afternoons together we trust each other much more than before."
    long_text = text + " Really, all of us, every week, more and more and more."
    segments = pd.DataFrame([
        dict(document_id="d-parent", participant_id="parent_1", case_id="a", wave="t2", coder=coder, code="growing_trust", start=0,
             end=len(long_text), text=long_text) for coder in ("c1", "c2")
    ] + [
        dict(document_id="d-t0", participant_id=speaker, case_id="a", wave="t0", coder=coder, code="growing_trust", start=0,
             end=len(long_text), text=long_text) for coder in ("c1", "c2")
    ] + [
        dict(document_id="d-t2", participant_id=speaker, case_id="a", wave="t2", coder="c1", code="growing_trust", start=0,
             end=len(text), text=text)
    ])
    inputs = ig.DisplayInputs(result_frame([change("a", 0.6, 0.3, 0.9, 0.001)]), NO_PREVALENCE, segments, participants, presence)
    options = ig.DisplayOptions(plan=plan, cases=["a"], quotes_per_cell=3)
    row = cell(ig.joint_display(inputs, options), "trust", "a")
    assert row.quote_refs == f"d-t2@0-{len(text)}" and "parent" not in row.quotes
    themes = ig.statistics_by_themes(inputs, options).table
    quoted = themes.loc[(themes["construct"] == "trust") & (themes["code"] == "growing_trust"), "quote_ref"]
    assert quoted.tolist() == [f"d-t2@0-{len(text)}"]
    # without the matching the parent's agreed passage would have been first: the test can fail
    unmatched = ig.select_quotes(segments, ["growing_trust"], k=3)
    assert unmatched["document_id"].iloc[0] in ("d-parent", "d-t0")


# --- the perception gap between roles (issue 18, item 4) --------------------------------------------------------

GAP_PLAN_TEXT = PLAN_TEXT + """
[constructs.perception_gap]
outcome = "secondary"
direction = "less"
roles = ["professional", "migrant_org"]
wave = "t2"
comparison = "between_roles"
[[constructs.perception_gap.results]]
effect_name = "hedges_g"
group = "target=migrant_org*"
family = "secondary"
smallest_meaningful = -0.2
[constructs.perception_gap.contrasts]
other_side_unwilling = { higher = "migrant_org", lower = "professional" }
"""


@pytest.fixture()
def gap_plan(tmp_path):
    return plan_from(GAP_PLAN_TEXT, tmp_path)


def gap(case, g, low, high, p, target="migrant_org", n=30):
    perceiver = "professional" if target == "migrant_org" else "migrant_org"
    return dict(analysis="perception_gap_between_roles", case_id=case, group=f"target={target}, perceiver={perceiver}, t0->t2",
                outcome="gap (own_willingness of the target - perceived_willingness by the perceiver)", test="welch_t", n=n,
                p_value=p, effect_size=g, effect_name="hedges_g", ci_low=low, ci_high=high)


def unwilling(migrant_org: int, professional: int, total: int = 10, case: str = "a"):
    return [(case, "migrant_org", "t2", "other_side_unwilling", migrant_org, total),
            (case, "professional", "t2", "other_side_unwilling", professional, total)]


@pytest.mark.parametrize(("high", "p", "expected"), [(-0.01, 0.049, "supportive"), (-0.01, 0.051, "inconclusive"),
                                                     (0.01, 0.049, "inconclusive")])
def test_perception_gap_quantitative_strand_is_the_between_role_change_at_its_boundary(gap_plan, high, p, expected):
    row = cell(show([gap("a", -0.6, -1.2, high, p)], unwilling(6, 0), gap_plan), "perception_gap", "a")
    assert row.quant_evidence == expected and row.effect_name == "hedges_g" and row.family == "secondary"


@pytest.mark.parametrize(("mentioned", "expected"), [(4, "inconclusive"), (5, "supportive")])
def test_perception_gap_qualitative_strand_is_fishers_exact_test_between_the_roles_at_its_boundary(gap_plan, mentioned, expected):
    # R: fisher.test(matrix(c(4, 6, 0, 10), 2)) p = 0.08669; fisher.test(matrix(c(5, 5, 0, 10), 2)) p = 0.03251
    row = cell(show([gap("a", -0.6, -1.2, -0.1, 0.01)], unwilling(mentioned, 0), gap_plan), "perception_gap", "a")
    assert (row.comparison, row.qual_evidence) == ("between_roles", expected)
    assert row.qual_p == pytest.approx(0.08669 if mentioned == 4 else 0.03251, abs=5e-6)
    assert row.fit_label == ("agreement" if expected == "supportive" else "partial agreement")
    # the sentence cites both deciding lines: the between-role result and the contrast
    assert row.quant_summary in row.meta_inference and row.lead_text in row.meta_inference
    assert "migrant organisation" in row.lead_text and "professional 0 of 10" in row.lead_text


def test_perception_gap_fit_uses_both_between_role_strands(gap_plan):
    # the professionals voice the misperception significantly more: contrary to the planned direction
    reversed_ = cell(show([gap("a", -0.6, -1.2, -0.1, 0.01)], unwilling(0, 6), gap_plan), "perception_gap", "a")
    assert (reversed_.qual_evidence, reversed_.fit_label) == ("contrary", "dissonance")
    # both roles voice it equally often: no evidence of a difference between the roles, however often it is mentioned
    same = cell(show([gap("a", -0.6, -1.2, -0.1, 0.01)], unwilling(8, 8), gap_plan), "perception_gap", "a")
    assert (same.qual_evidence, same.fit_label) == ("inconclusive", "partial agreement")
    # a contrary between-role change (the gap about the organisations widens) with supportive interviews: dissonance
    widening = cell(show([gap("a", 0.6, 0.1, 1.2, 0.01)], unwilling(6, 0), gap_plan), "perception_gap", "a")
    assert (widening.quant_evidence, widening.fit_label) == ("contrary", "dissonance")


def test_a_between_role_silence_names_the_contrasted_code_not_every_linked_one(gap_plan):
    # nobody of either role mentions the contrasted code; another linked code is mentioned often
    spec = [*unwilling(0, 0), ("a", "migrant_org", "t2", "we_they_thinking", 8, 10)]
    for language, named in (("en", "no matched interviewee mentioned the code compared between the roles (the other side is unwilling)"),
                            ("nl", "geen gematchte geïnterviewde noemde de code die tussen de rollen wordt vergeleken (de andere kant wil niet)")):
        row = cell(show([gap("a", -0.6, -1.2, -0.1, 0.01)], spec, gap_plan, language=language), "perception_gap", "a")
        assert (row.qual_evidence, row.fit_label) == ("absent", "silence")
        assert named in row.meta_inference, row.meta_inference
        assert "linked" not in row.meta_inference and "gekoppelde" not in row.meta_inference


def test_perception_gap_counts_only_the_matched_population_and_the_planned_direction(gap_plan):
    # parents (who never answered the willingness survey) and t0 interviews would make the contrast significant
    # the other way; they do not count
    spec = [*unwilling(5, 0), ("a", "parent", "t2", "other_side_unwilling", 0, 30), ("a", "professional", "t0", "other_side_unwilling", 20, 20)]
    # the within-role change and the unplanned direction (target professional) are shown but decide nothing
    within = dict(analysis="perception_gap_change", case_id="a", group="role=migrant_org, t0->t2", outcome="gap", test="paired_t",
                  n=20, p_value=0.001, effect_size=2.0, effect_name="hedges_g_av", ci_low=1.0, ci_high=3.0)
    rows = [gap("a", -0.6, -1.2, -0.1, 0.01), gap("a", 1.5, 0.8, 2.2, 0.0001, target="professional"), within]
    row = cell(show(rows, spec, gap_plan), "perception_gap", "a")
    assert row.interviewees == 20 and row.qual_p == pytest.approx(0.03251, abs=5e-6)  # 10 + 10, not the 30 parents or 20 at t0
    assert (row.quant_evidence, row.qual_evidence, row.fit_label) == ("supportive", "supportive", "agreement")
    assert row.quant_summary.startswith("g = -0.60") and "target professional" in row.quant_detail
    assert "perception_gap_change" not in row.quant_detail and "g_av" not in row.quant_detail  # the map no longer selects it


# --- model notes in the reader's language (issue 18, Dutch run) ----------------------------------------------------


def test_a_dutch_display_writes_its_model_notes_in_dutch(gap_plan):
    note = ("between roles: change t0->t2 in own_willingness of migrant_org vs in perceived_willingness of professional (Welch t-test); "
            "migrant_org: 17 complete pair(s) of own_willingness; professional: 7 complete pair(s) of perceived_willingness; "
            "difference of the mean changes = -0.317; g = Hedges' g of the two changes (pooled SD, exact J); CI from the noncentral t, rescaled")
    level = dict(analysis="help_seeking_its", case_id="a", group="level change at the start", outcome="parenting_question_to_youth_team",
                 test="its_level_change", n=48, p_value=0.001, effect_size=1.8, effect_name="rate_ratio_level", ci_low=1.4, ci_high=2.2,
                 note="quasi-Poisson (scale = Pearson chi2/df = 1.07; t tests with 44 df); Cameron-Trivedi z = -0.26, one-sided p = 0.604")
    rows = [gap("a", -0.6, -1.2, -0.1, 0.01) | dict(note=note), level]
    spec = [*unwilling(5, 0), ("a", "parent", "t2", "help_seeking_youth_team", 7, 8)]
    dutch, english = show(rows, spec, gap_plan, language="nl"), show(rows, spec, gap_plan, language="en")
    gap_nl, gap_en = cell(dutch, "perception_gap", "a").quant_notes, cell(english, "perception_gap", "a").quant_notes
    assert gap_en.startswith("target migrant organisation, perceiver professional, t0->t2; Welch t-test; secondary outcome")
    assert ("migrant organisation: 17 complete pair(s) of own willingness to collaborate; "
            "professional: 7 complete pair(s) of perceived willingness of the other side") in gap_en
    assert SNAKE_CASE.findall(gap_en) == [] and SNAKE_CASE.findall(gap_nl) == []  # no identifier in a note a reader sees
    assert gap_nl.startswith("doelgroep: migrantenorganisatie, waargenomen door: professional, t0->t2; Welch-t-toets; secundaire uitkomst")
    assert "tussen rollen: verandering t0->t2" in gap_nl and "17 volledige paren" in gap_nl and "= -0,317" in gap_nl
    its_nl = cell(dutch, "help_seeking", "a").quant_notes
    assert its_nl.startswith("niveauverandering bij de start; niveauverandering; primaire uitkomst")
    assert "schaal = Pearson chi2/vg = 1,07; t-toetsen met 44 vg" in its_nl and "eenzijdige p = 0,604" in its_nl
    for english_word in ("between roles", "complete pair", "difference of the mean", "pooled SD", "one-sided", "scale =", "primary outcome"):
        assert english_word not in gap_nl + its_nl
    assert cell(dutch, "perception_gap", "a").quant_notes in cell(dutch, "perception_gap", "a").quant_detail
