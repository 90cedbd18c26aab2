"""The report sections (ponzoni_eval.analyses) on the synthetic example data.

One prepared processed folder is shared by the whole session (prepare runs once); each section is
checked for its shape (standard result columns, a captioned figure, one sentence), for agreeing
with the analysis function it wraps, and for never publishing a suppressed count.
"""

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from ponzoni_eval.qual import intercoder
from ponzoni_eval.report import sections
from ponzoni_eval import stats
from ponzoni_eval.qual import quantitize
from ponzoni_eval import report
from ponzoni_eval import integrate
from ponzoni_eval.stats import timeseries
from ponzoni_eval.stats import transforms
from ponzoni_eval._core.errors import DataError
from ponzoni_eval.integrate.fit import FIT_LABELS
from ponzoni_eval.integrate.overrides import OVERRIDES_FILENAME
from ponzoni_eval.data.processed import load_processed
from ponzoni_eval.data.preparation import INTEGRATION_OVERRIDES, prepare
from ponzoni_eval._core.results import RESULT_COLUMNS
from ponzoni_eval.data.validate import validate_dir

EXAMPLE = Path(__file__).resolve().parents[2] / "data" / "raw" / "example"
CASE = "poelenburg_a"


@pytest.fixture(scope="session")
def processed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("processed")
    prepare(EXAMPLE, folder)
    return folder


@pytest.fixture(scope="session")
def tables(processed):
    return load_processed(processed)


@pytest.fixture(scope="session")
def scores(tables):
    return sections.scores_for(tables)


@pytest.fixture(scope="session")
def monthly(tables):
    return sections.monthly_for(tables)


@pytest.fixture(scope="session")
def answers(tables):
    return sections.expectation_answers(tables)


@pytest.fixture(scope="session")
def inputs(tables, scores, monthly):
    return sections.joint_display_inputs(tables, scores, monthly, seed=7)


@pytest.fixture(scope="session")
def joint(inputs):
    return sections.joint_display_section(inputs)


def is_result_frame(frame):
    return list(frame.columns[: len(RESULT_COLUMNS)]) == list(RESULT_COLUMNS)


def check_section(section, *, results=True):
    assert isinstance(section, sections.Section)
    if results:
        assert is_result_frame(section.table) and len(section.table)
    assert section.figure.caption.strip() and section.figure.fig.axes
    assert section.sentence.endswith(".") and "\n" not in section.sentence
    assert "nan" not in section.sentence.lower().split()


def in_case(frame, case=CASE):
    return frame.loc[frame["case_id"].astype("str") == case]


# --- shared inputs ---------------------------------------------------------------------------


def test_shared_inputs_are_the_package_transforms(tables, scores, monthly, answers):
    expected = transforms.score_scales(tables["survey_responses"], tables["instrument"], tables["participants"])
    pd.testing.assert_frame_equal(scores, expected)
    assert set(monthly.columns) == set(transforms.MONTHLY_COLUMNS) and monthly["count"].sum() > 0
    labels = tables["instrument"].set_index("item_id").loc[sections.EXPECTATION_ITEM, "value_labels"]
    assert set(answers["expectation"]) <= {pair.split("=", 1)[1] for pair in labels.split(";")}
    assert answers["expectation"].notna().all() and set(answers["role"]) == {"professional", "migrant_org"}


# --- the case report -------------------------------------------------------------------------


def test_reliability_is_stats_reliability_of_the_case(tables):
    section = sections.reliability_section(tables, CASE)
    check_section(section)
    participants = in_case(tables["participants"])
    responses = tables["survey_responses"]
    responses = responses.loc[responses["participant_id"].isin(participants["participant_id"])]
    expected = stats.reliability(responses, tables["instrument"], participants, by=("case_id", "wave"))
    pd.testing.assert_frame_equal(section.table, expected)
    # Issue 17: 2-item scales report Spearman-Brown instead of alpha; the sentence and figure show both.
    alpha = expected.loc[expected["test"].isin(["cronbach_alpha", "spearman_brown"]), "effect_size"]
    assert "Spearman-Brown" in section.sentence
    for value in (alpha.min(), alpha.max()):
        assert report.format_number(value, 2) in section.sentence
    assert "0.70" in section.figure.caption and "no effect" not in section.figure.caption


def test_trajectories_table_holds_the_raw_means(scores):
    section = sections.trajectories_section(scores, CASE, scale="trust")
    check_section(section, results=False)
    trust = in_case(scores).query("scale == 'trust' and wave == 't0' and role == 'professional'")["value"].dropna()
    row = section.table.query("scale == 'trust' and wave == 't0' and role == 'professional'").iloc[0]
    assert row["n"] == len(trust) and row["mean"] == pytest.approx(trust.mean())
    pooled = in_case(scores).query("scale == 'trust'").dropna(subset=["value"]).groupby("wave", observed=True)["value"].mean()
    assert f"from {pooled['t0']:.1f} to {pooled['t2']:.1f}" in section.sentence


def test_pre_post_wraps_stats_pre_post_with_holm_and_pair_means(scores):
    section = sections.pre_post_section(scores, CASE, scale="trust")
    check_section(section)
    trust = section.table.loc[section.table["outcome"] == "trust"].reset_index(drop=True)
    expected = stats.pre_post(in_case(scores), outcome="trust")
    pd.testing.assert_series_equal(trust["effect_size"], expected["effect_size"])
    paired = section.table.loc[section.table["test"] == "paired_t"]
    assert paired["p_adjusted"].notna().all() and (paired["p_adjusted"] >= paired["p_value"] - 1e-15).all()
    means = section.tables["pair_means"].set_index(["role", "scale"])
    for row in trust.loc[trust["test"] == "paired_t"].itertuples():
        role = re.search(r"role=([^,]+)", row.group).group(1)
        assert means.loc[(role, "trust"), "n_pairs"] == row.n
        assert f"from {means.loc[(role, 'trust'), 'mean_before']:.1f} to {means.loc[(role, 'trust'), 'mean_after']:.1f}" in section.sentence
    assert section.sentence.startswith("Trust among") and "; trust among" in section.sentence


def test_perception_gap_stacks_gap_and_its_change(scores):
    section = sections.perception_gap_section(scores, CASE)
    check_section(section)
    assert set(section.table["analysis"]) == {"perception_gap", "perception_gap_change"}
    change = section.table.loc[(section.table["analysis"] == "perception_gap_change") & (section.table["test"] == "paired_t")]
    expected = stats.perception_gap_change(in_case(scores)).query("test == 'paired_t'")
    assert change["effect_size"].tolist() == pytest.approx(expected["effect_size"].tolist())
    gaps = section.tables["gap_means"].set_index("role")
    assert sorted(gaps["n_pairs"].tolist()) == sorted(change["n"].astype(int).tolist())
    assert report.format_number(gaps["gap_before"].iloc[0], 1) in section.sentence


def test_expectations_crosstab_counts_and_residuals_agree(answers, scores):
    section = sections.expectations_section(answers, scores, CASE, wave="t0", seed=3)
    check_section(section)
    crosstab = section.table.loc[section.table["analysis"] == "expectation_mismatch"]
    expected = stats.expectation_crosstab(in_case(answers).astype({"role": "str", "expectation": "str"}), by=("case_id", "wave"), seed=3)
    assert crosstab["p_value"].tolist() == pytest.approx(expected["p_value"].tolist())
    counts = section.tables["expectation_counts"]
    assert counts.groupby("wave")["n"].sum().tolist() == crosstab["n"].astype(int).tolist()
    assert {"observed", "expected"}.isdisjoint(section.tables["expectation_residuals"].columns)
    scales = section.table.loc[section.table["analysis"] == "expectation_scales"]
    assert set(scales["outcome"]) == set(sections.EXPECTATION_SCALES) and scales["ci_low"].notna().all()
    assert "Wave shown: t0" in section.figure.caption
    assert report.format_number(crosstab["effect_size"].iloc[0], 2) in section.sentence


def test_help_seeking_is_the_interrupted_time_series_of_the_case(monthly):
    section = sections.help_seeking_section(monthly, CASE)
    check_section(section)
    expected = timeseries.interrupted_time_series(in_case(monthly))
    pd.testing.assert_frame_equal(section.table, expected)
    fitted = section.tables["help_seeking_fit"]
    assert len(fitted) == int(expected["n"].iloc[0]) and fitted["fitted"].notna().all()
    level = expected.loc[expected["test"] == "its_level_change"].iloc[0]
    assert report.format_number(level["effect_size"], 2) in section.sentence


def test_theme_prevalence_never_reveals_a_suppressed_count(tables, tmp_path):
    section = sections.theme_prevalence_section(tables, CASE)
    check_section(section, results=False)
    presence = quantitize.code_presence(
        tables["coded_segments"].astype({"coder": "str"}), tables["participants"], unit=("participant_id", "wave"), codebook=tables["codebook"]
    )
    expected = quantitize.prevalence(presence, tables["participants"], by=("case_id", "role", "wave"))
    assert section.table["n_with_code"].sum() == in_case(expected)["n_with_code"].sum()
    # What a run publishes, and the sentence: no count from 1 to 4 of people.
    published = report.open_run(tmp_path, "01_case_report", case_id=CASE).save_table(
        section.tables["theme_prevalence_case"], "theme_prevalence_case", publish=True, count_columns=["n_with_code"], derived={"percent": "n_with_code"}
    )
    assert not published["n_with_code"].between(1, sections.MIN_CELL - 1).any()
    shown = re.search(r"mentioned by (\d+|fewer than \d+) of (\d+)", section.sentence)
    assert shown and (not shown.group(1).isdigit() or int(shown.group(1)) >= sections.MIN_CELL)
    hidden = published.loc[published["n_with_code_flag"] != "", "code"]
    assert not any(code in section.sentence for code in hidden)


def test_a_case_whose_every_count_is_suppressed_has_interviews_not_none(tables):
    """'kolenkit: no coded interviews' was printed when interviews existed but every count was below min_cell."""
    for language, words in (("en", "participants were interviewed"), ("nl", "deelnemers zijn geïnterviewd")):
        section = sections.theme_prevalence_section(tables, CASE, min_cell=1000, language=language)
        interviewed = int(section.tables["theme_prevalence_case"]["n_at_risk"].max())
        assert f"{interviewed} {words}" in section.sentence and "1000" in section.sentence
        assert "no coded interviews" not in section.sentence and "geen gecodeerde interviews" not in section.sentence


def test_agreement_is_computed_on_the_double_coded_interviews_of_the_case(tables):
    section = sections.agreement_section(tables, CASE, seed=11, n_boot=200)
    check_section(section)
    segments = in_case(tables["coded_segments"].astype({"coder": "str", "document_id": "str", "code": "str"}))
    expected = intercoder.agreement(segments, n_boot=200, seed=11)
    kappa = expected.query("code == @intercoder.OVERALL and statistic == 'cohen_kappa'").iloc[0]
    row = section.table.query("outcome == @intercoder.OVERALL and test == 'cohen_kappa'").iloc[0]
    assert row["effect_size"] == pytest.approx(kappa["estimate"]) and row["case_id"] == CASE
    assert report.format_number(kappa["estimate"], 2) in section.sentence


def test_sections_speak_dutch(tables, scores, answers, monthly):
    sentences = [
        sections.reliability_section(tables, CASE, language="nl").sentence,
        sections.pre_post_section(scores, CASE, language="nl").sentence,
        sections.help_seeking_section(monthly, CASE, language="nl").sentence,
    ]
    assert sentences[0].startswith("Cronbachs alfa (Spearman-Brown voor schalen met 2 items) liep uiteen van")
    assert "steeg van" in sentences[1] or "daalde van" in sentences[1]
    assert "95%-BI" in sentences[2]


def test_sections_without_activity_log_or_interviews_say_so(tables, scores):
    survey_only = {name: frame for name, frame in tables.items() if name not in ("activity_log", "coded_segments", "documents")}
    help_seeking = sections.help_seeking_section(sections.monthly_for(survey_only), CASE)
    assert help_seeking.table.empty and "not tested" in help_seeking.sentence
    themes = sections.theme_prevalence_section(survey_only, CASE)
    assert themes.table.empty and "no coded interviews" in themes.sentence
    coding = sections.agreement_section(survey_only, CASE)
    assert coding.table.empty and "no double-coded" in coding.sentence


def test_an_unknown_case_is_a_data_error(tables, scores):
    with pytest.raises(DataError, match="case not found"):
        sections.mixed_model_section(scores, ["atlantis"])


# --- the cross-case report ------------------------------------------------------------------


def test_cross_case_trajectories_are_the_mixed_models_marginal_means(scores):
    section = sections.cross_case_trajectories_section(scores, scale="trust")
    check_section(section, results=False)
    trust = section.table.loc[section.table["scale"] == "trust"].reset_index(drop=True)
    expected = stats.marginal_means(scores, outcome="trust")
    assert trust["estimate"].tolist() == pytest.approx(expected["estimate"].tolist())
    assert section.sentence.count("rose from") + section.sentence.count("fell from") + section.sentence.count("stayed at") == 3


def test_mixed_model_section_holds_case_contrasts_for_every_scale(scores):
    section = sections.mixed_model_section(scores, scale="trust")
    check_section(section)
    trust = section.table.loc[section.table["outcome"] == "trust"].reset_index(drop=True)
    pd.testing.assert_frame_equal(trust, stats.mixed_model(scores, outcome="trust"))
    differences = section.table.query("effect_name == 'change_difference' and outcome == 'trust'")
    assert len(differences) == 3 and differences["p_adjusted"].notna().all()
    for case in ("Slotervaart", "Poelenburg A", "Poelenburg B"):
        assert case in section.sentence


def test_the_mixed_model_section_uses_and_reports_the_plans_structure(scores, monthly, tables):
    trust = scores.loc[scores["scale"] == "trust"]
    default = sections.mixed_model_section(trust)
    assert default.sentence.endswith("Covariance within a participant: random intercept per participant (as set in the analysis plan).")
    compared = sections.mixed_model_section(trust, structure="compare")
    expected = stats.mixed_model(trust, outcome="trust", before="t0", after="t2", structure="compare")
    lrt = expected.query("test == 'model_comparison' and effect_name == 'lrt'").iloc[0]
    chosen = "random intercept and slope of wave" if lrt["p_value"] < 0.05 else "random intercept per participant"
    assert f"Covariance within a participant: {chosen}, chosen by the REML likelihood-ratio test" in compared.sentence
    assert report.format_p(lrt["p_value"]) in compared.sentence
    assert "model_comparison" in set(compared.table["test"]) and "model_comparison" not in set(default.table["test"])
    change = compared.table.query("test == 'contrast' and effect_name == 'change'")["effect_size"].to_numpy()
    assert change == pytest.approx(expected.query("test == 'contrast' and effect_name == 'change'")["effect_size"].to_numpy(), rel=1e-6)
    mmrm = sections.mixed_model_section(trust, structure="unstructured", language="nl")
    assert "ongestructureerde covariantie over de metingen (MMRM)" in mmrm.sentence
    assert mmrm.table.query("test == 'contrast'")["note"].str.contains("MMRM").all()
    with pytest.raises(ValueError, match="mixed_structure"):
        sections.mixed_model_section(trust, structure="random_slope")
    # the joint display's inputs fit the same structure
    inputs = sections.joint_display_inputs(tables, scores, monthly, structure="slope")
    rows = inputs.results.query("analysis == 'cross_case_mixed_model' and test == 'contrast'")
    assert len(rows) and rows["note"].str.contains("random intercept and slope of wave").all()


def test_kruskal_dunn_section_reads_the_omnibus_test_and_the_pairs(scores):
    section = sections.kruskal_dunn_section(scores, scale="trust", seed=5)
    check_section(section)
    change = transforms.change_scores(scores).dropna(subset=["value"])
    expected = stats.kruskal_dunn(change, outcome="trust", seed=5)
    trust = section.table.loc[section.table["outcome"] == "trust"].reset_index(drop=True)
    pd.testing.assert_frame_equal(trust, expected)
    assert section.sentence.count("rank-biserial r") == 3 and "ε²" in section.sentence and "epsilon_squared" not in section.sentence
    assert set(section.tables["change_by_case"]["scale"]) == set(section.table["outcome"])


def test_help_seeking_cross_section_has_cases_and_pooled_differences(monthly):
    section = sections.help_seeking_cross_section(monthly)
    check_section(section)
    assert {"its_level_change", "wald_level_change_difference", "level_change_ratio"} <= set(section.table["test"])
    assert section.table.loc[section.table["test"] == "its_level_change", "case_id"].tolist() == ["slotervaart", "poelenburg_a", "poelenburg_b"]
    wald = timeseries.its_case_differences(monthly).query("test == 'wald_level_change_difference'").iloc[0]
    assert report.format_p(wald["p_value"]) in section.sentence


def test_the_null_site_is_not_reported_as_a_fall_in_help_seeking_in_the_cross_case_table(processed, scores, monthly, inputs):
    # Poelenburg B's built-in level rate ratio is 1.0; unadjusted p = .036. Within the analysis plan's primary
    # family (trust change and help-seeking level change per case, 6 results, as the joint display adjusts them)
    # Holm gives .072: the cross-case table shows both, and its sentence uses the adjusted one and says so.
    plan = sections.analysis_plan_for(processed)
    mixed = sections.mixed_model_section(scores)
    section = sections.help_seeking_cross_section(monthly, plan=plan, family_results=mixed.table)
    check_section(section)
    level = section.table.loc[section.table["test"] == "its_level_change"].set_index("case_id")
    assert level.loc["poelenburg_b", "p_value"] == pytest.approx(0.036, abs=0.001)
    assert level.loc["poelenburg_b", "p_adjusted"] == pytest.approx(0.072, abs=0.001)
    assert "Holm over the analysis plan's primary family (6 results)" in level.loc["poelenburg_b", "note"]
    # the same numbers as the joint display's (one home for the family: integrate.plan_adjustment)
    joint = integrate.plan_adjustment(inputs.results, plan=plan).query("test == 'its_level_change'").set_index("case_id")
    assert level["p_adjusted"].to_dict() == pytest.approx(joint["p_plan"].reindex(level.index).to_dict(), rel=1e-9)
    # the slope is secondary in the plan: unadjusted, and says so
    slope = section.table.loc[section.table["test"] == "its_slope_change"]
    assert (slope["p_adjusted"] == slope["p_value"]).all() and slope["note"].str.contains("secondary family, unadjusted").all()
    assert "primary family of 6 results" in section.sentence
    assert "Poelenburg B rate ratio of the level change = 0.69, 95% CI 0.49 to 0.98, p = .072" in section.sentence
    assert "p = .036" not in section.sentence
    dutch = sections.help_seeking_cross_section(monthly, plan=plan, family_results=mixed.table, language="nl")
    assert "Holm-gecorrigeerd over de primaire familie van 6 resultaten" in dutch.sentence


def test_theme_heatmap_section_tests_every_code_and_publishes_prevalence(tables):
    section = sections.theme_heatmap_section(tables, seed=9)
    check_section(section)
    assert section.table["outcome"].tolist() == list(tables["codebook"]["code"].astype("str"))
    assert section.table["p_adjusted"].dropna().ge(section.table["p_value"].dropna() - 1e-15).all()
    prevalence = section.tables["theme_prevalence"]
    assert len(prevalence) == 3 * len(tables["codebook"]) and set(prevalence["case_id"].astype("str")) == {"slotervaart", "poelenburg_a", "poelenburg_b"}


def test_expectations_cross_section_has_a_test_per_case_and_wave(answers, scores):
    section = sections.expectations_cross_section(answers, scores, ["slotervaart", "poelenburg_b"], seed=3)
    check_section(section)
    crosstab = section.table.loc[section.table["analysis"] == "expectation_mismatch"]
    assert sorted(zip(crosstab["case_id"], crosstab["group"].str[:7])) == [
        ("poelenburg_b", "wave=t0"), ("poelenburg_b", "wave=t2"), ("slotervaart", "wave=t0"), ("slotervaart", "wave=t2")
    ]
    assert "Poelenburg A" not in section.sentence and "Poelenburg B" in section.sentence


# --- the joint display ----------------------------------------------------------------------


def test_joint_display_inputs_are_standard_results_with_each_analysis_own_adjustment(inputs, tables):
    assert is_result_frame(inputs.results)
    assert {"pre_post", "perception_gap_change", "expectation_mismatch", "cross_case_mixed_model", "help_seeking_its"} <= set(inputs.results["analysis"])
    # No mechanical family over (analysis, test, effect_name) overwrites an analysis's own adjustment (the
    # mixed model's per-scale Holm): the joint display adjusts the results it uses by the analysis plan.
    mixed = inputs.results.loc[inputs.results["analysis"] == "cross_case_mixed_model"]
    recomputed = stats.adjust_pvalues(inputs.results.assign(p_adjusted=float("nan")), family=sections.FAMILIES)
    assert mixed["p_adjusted"].tolist() != pytest.approx(recomputed.loc[mixed.index, "p_adjusted"].tolist(), nan_ok=True)
    assert not inputs.prevalence["n_with_code"].between(1, sections.MIN_CELL - 1).any()
    # the rule's own counts: who mentioned which code, unsuppressed (never saved or shown)
    assert inputs.presence is not None and {"participant_id", "wave", "code", "present", "interviewed"} <= set(inputs.presence.columns)
    # The qualitative strand is that of the follow-up (t2) interviews: denominators, counts and quotes.
    presence = quantitize.code_presence(tables["coded_segments"], tables["participants"], unit=("participant_id", "wave"), codebook=tables["codebook"])
    at_t2 = quantitize.prevalence(presence, tables["participants"], by=("case_id", "wave")).query("wave == 't2'")
    expected = at_t2.set_index(["case_id", "code"])["n_at_risk"].rename(index=str)
    shown = inputs.prevalence.set_index(["case_id", "code"])["n_at_risk"]
    assert shown.to_dict() == {key: expected[key] for key in shown.index}
    assert set(inputs.segments["wave"].astype("str")) == {"t2"}
    terms = set(tables["redaction_terms"]["term"])
    assert inputs.names and set(inputs.names) == terms
    assert not any(term in repr(inputs) for term in terms)


def test_joint_display_section_covers_every_construct_and_case_with_redacted_quotes(joint, inputs):
    display = joint.table
    assert len(display) == 5 * len(inputs.cases) and set(display["fit_label"]) <= set(FIT_LABELS)
    assert not display["overridden"].any()
    pattern = r"(?<!\w)(?:" + "|".join(re.escape(name) for name in inputs.names) + r")(?!\w)"
    for table in (display, joint.tables["statistics_by_themes"]):
        quotes = table["quotes" if "quotes" in table else "quote"]
        assert not quotes.str.contains(pattern, case=False, regex=True).any()
    assert set(joint.tables["meta_matrix"]["case_id"]) == set(inputs.cases)
    assert str(len(display)) in joint.sentence and all(
        f"{label} {count}" in joint.sentence for label, count in display["fit_label"].value_counts().items()
    )


def test_joint_display_documents_are_html_markdown_and_xlsx(joint, tmp_path):
    documents = sections.joint_display_documents(joint)
    assert set(documents) == {"joint_display", "meta_matrix", "statistics_by_themes"}
    for formats in documents.values():
        assert formats["html"].startswith("<!DOCTYPE html>") and formats["md"].startswith("|")
        assert formats["xlsx"][:2] == b"PK"
    assert sections.joint_display_documents(joint)["joint_display"]["xlsx"] == documents["joint_display"]["xlsx"]
    run = report.open_run(tmp_path, "03_joint_display")
    run.save_document(documents["meta_matrix"]["html"], "meta_matrix", format="html", caption="Meta-matrix.")
    registry = json.loads((tmp_path / "outputs.json").read_text())
    assert registry["documents"][0]["files"] == {"html": "documents/meta_matrix.html"}



def test_joint_display_documents_state_each_displays_settings_after_the_section_is_saved(inputs, tmp_path):
    dutch = sections.joint_display_section(inputs, language="nl", alpha=0.1, order_by="safe_space")
    assert set(dutch.displays) == {"table", "meta_matrix", "statistics_by_themes"}
    assert dutch.displays["meta_matrix"].order_by == "safe_space" and dutch.displays["table"].alpha == 0.1
    saved = report.open_run(tmp_path, "03_joint_display").save_section(dutch)
    assert isinstance(saved, sections.DisplaySection) and saved.displays == dutch.displays
    documents = sections.joint_display_documents(saved, language="nl")
    for name in ("joint_display", "statistics_by_themes", "meta_matrix"):
        text = documents[name]["md"]
        assert "α = 0,1;" in text  # Dutch decimal comma (_core/numbers) and f"(<{inputs.min_cell})" in text and "Integratiekaart: integration_map.toml" in text
    assert "Ordeningsschatting (Veilige ruimte)" in documents["meta_matrix"]["md"]
    with pytest.raises(TypeError, match="DisplaySection"):
        sections.joint_display_documents(report.Section(dutch.table, None, ""))
    with pytest.raises(ValueError, match="meta_matrix"):
        sections.DisplaySection(dutch.table, None, "", {"meta_matrix": dutch.tables["meta_matrix"]}, displays={"table": dutch.displays["table"]})


def test_integration_summary_names_the_map_and_the_overrides(processed):
    integration_map = sections.integration_map_for(processed)
    assert sections.integration_summary(integration_map, None).startswith("Integration map: the package default")


# --- the evaluator's integration files travel through prepare -------------------------------


@pytest.fixture(scope="session")
def raw_with_override(tmp_path_factory, joint):
    """A copy of the example raw folder with an override of the first construct x case of the display."""
    raw = tmp_path_factory.mktemp("raw") / "example"
    shutil.copytree(EXAMPLE, raw)
    first = joint.table.iloc[0]
    other = next(label for label in FIT_LABELS if label != first["fit_label"])
    (raw / OVERRIDES_FILENAME).write_text(
        "construct,case_id,fit_label,meta_inference,evaluator,date,reason\n"
        f"{first['construct']},{first['case_id']},{other},,EP,2024-05-01,board members and volunteers differ\n",
        encoding="utf-8",
    )
    return raw, first, other


def test_an_override_in_the_raw_folder_changes_the_label_of_the_next_run(raw_with_override, tmp_path, inputs):
    raw, first, other = raw_with_override
    before = {path.name: path.read_bytes() for path in raw.iterdir()}
    manifest = prepare(raw, tmp_path / "processed")
    assert {path.name: path.read_bytes() for path in raw.iterdir()} == before  # raw data are only read
    assert manifest["raw_files"][OVERRIDES_FILENAME]["table"] == INTEGRATION_OVERRIDES
    assert manifest["tables"][INTEGRATION_OVERRIDES]["rows"] == 1
    tables = load_processed(tmp_path / "processed")
    # The other processed tables are those of the shared folder, so the shared inputs stand for this run's.
    overrides = sections.overrides_for(tables, inputs.cases)
    display = sections.joint_display_section(inputs, overrides=overrides).table.set_index(["construct", "case_id"])
    row = display.loc[(first["construct"], first["case_id"])]
    assert row["fit_label"] == other and row["computed_fit_label"] == first["fit_label"] and row["overridden"]
    assert row["evaluator"] == "EP"
    assert "evaluator overrides: 1" in sections.integration_summary(sections.integration_map_for(tmp_path / "processed"), overrides)
    # An override of a case outside this run does not stop the display of the others.
    assert sections.overrides_for(tables, [c for c in inputs.cases if c != first["case_id"]]) is None


def test_a_bad_override_is_listed_by_validate_and_stops_prepare(raw_with_override, tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(raw_with_override[0], raw)
    (raw / OVERRIDES_FILENAME).write_text(
        "construct,case_id,fit_label,meta_inference,evaluator,date,reason\ntrust,atlantis,agreement,,EP,2024-05-01,typo\n", encoding="utf-8"
    )
    problems = validate_dir(raw).problems
    listed = problems.loc[problems["file"] == OVERRIDES_FILENAME]
    assert listed["severity"].tolist() == ["error"] and listed["row"].tolist() == [2] and listed["column"].tolist() == ["case_id"]
    assert not (problems["rule"] == "unknown_file").any()
    with pytest.raises(DataError, match="unknown case"):
        prepare(raw, tmp_path / "processed")


def test_an_integration_map_in_the_raw_folder_is_carried_and_checked(tmp_path):
    from ponzoni_eval.integrate.map import MAP_FILENAME, default_map_path

    raw = tmp_path / "raw"
    shutil.copytree(EXAMPLE, raw)
    text = default_map_path().read_text(encoding="utf-8").replace('label.en = "Mutual trust"', 'label.en = "Trust between the sides"')
    (raw / MAP_FILENAME).write_text(text, encoding="utf-8")
    manifest = prepare(raw, tmp_path / "processed")
    assert manifest["files"]["integration_map"]["sha256"] == manifest["raw_files"][MAP_FILENAME]["sha256"]
    integration_map = sections.integration_map_for(tmp_path / "processed")
    assert integration_map["trust"].label("en") == "Trust between the sides"
    assert "the evaluator's integration_map.toml" in sections.integration_summary(integration_map, None)
    (tmp_path / "processed" / MAP_FILENAME).write_text(text + "\n# edited after prepare\n", encoding="utf-8")
    with pytest.raises(DataError, match="changed after prepare"):
        sections.integration_map_for(tmp_path / "processed")
    (raw / MAP_FILENAME).unlink()
    manifest = prepare(raw, tmp_path / "processed")
    assert "integration_map" not in manifest["files"] and not (tmp_path / "processed" / MAP_FILENAME).exists()
    assert manifest["files"]["analysis_plan"]["registered"] == "2017-06-01"  # the example's plan travels the same way


def test_fit_changes_lists_the_cells_whose_label_depends_on_the_basis(inputs, joint):
    descriptive = sections.joint_display_section(inputs, quant_basis="estimate")
    changed = sections.fit_changes(joint.table, descriptive.table)
    merged = joint.table.merge(descriptive.table, on=["construct", "case_id"], suffixes=("", "_estimate"))
    assert len(changed) == int((merged["fit_label"] != merged["fit_label_estimate"]).sum())
    assert (changed["fit_label_ci"] != changed["fit_label_estimate"]).all()
    # The between-role perception gap in slotervaart differs by g = -0.47, past the plan's smallest meaningful
    # effect on the point estimate, with a CI from -1.32 to 0.40 (7 professional pairs): a sensitivity view
    # says partial agreement, the claim stays inconclusive.
    # (Trust in poelenburg_b, 0.247 against 0.25, is no longer "no meaningful change" on the estimate.)
    gap = changed.set_index(["construct", "case_id"]).loc[("perception_gap", "slotervaart")]
    assert (gap["fit_label_ci"], gap["fit_label_estimate"]) == ("inconclusive", "partial agreement")
    assert ("trust", "poelenburg_b") not in set(zip(changed["construct"], changed["case_id"]))


def test_a_run_on_one_case_integrates_that_case_only(tables, scores, monthly):
    one = sections.joint_display_inputs(tables, scores, monthly, ["poelenburg_a"], seed=7)
    assert one.cases == ["poelenburg_a"] and set(one.prevalence["case_id"]) == {"poelenburg_a"}
    assert set(one.results["case_id"]) <= {"poelenburg_a", "all"} and set(one.segments["case_id"]) == {"poelenburg_a"}
    display = sections.joint_display_section(one).table
    assert display["case_id"].tolist() == ["poelenburg_a"] * 5
