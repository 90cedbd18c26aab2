"""The SYNTHETIC example: reproducible byte for byte, and the documented effects are in the data."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ponzoni_eval.data import schema
from ponzoni_eval.data.synthetic.generate import (
    DEFAULT_SEED,
    EFFECTS,
    INTERVIEWS_FILE,
    effects,
    generate,
    write_example,
)
from ponzoni_eval.data.read import QDA_TABLES, read_raw_dir
from ponzoni_eval.data.validate import validate_dir

EXAMPLE = Path(__file__).resolve().parents[2] / "data" / "raw" / "example"
# The interviews (coded_segments, codebook, documents) come as one REFI-QDA project, as an evaluator brings them.
EXAMPLE_FILES = sorted([f"{t}.csv" for t in schema.TABLES if t not in QDA_TABLES and t not in ("roles", "waves")] + [INTERVIEWS_FILE, "effects.json", "dataset.toml", "README.md", "analysis_plan.toml"])


@pytest.fixture(scope="module")
def raw():
    data = read_raw_dir(EXAMPLE)
    assert data.ok, data.problems
    return data.tables


@pytest.fixture(scope="module")
def scores(raw):
    """Scale scores (mean of answered items, reverse items turned) per participant, wave and scale."""
    survey = raw["survey_responses"].merge(raw["instrument"][["item_id", "scale", "reverse_coded"]], on="item_id")
    survey = survey.merge(raw["participants"][["participant_id", "case_id", "role"]], on="participant_id")
    survey["value"] = np.where(survey["reverse_coded"], 6 - survey["value"], survey["value"])
    likert = survey[survey["scale"] != "expectation_primary"]
    return likert.groupby(["case_id", "role", "participant_id", "wave", "scale"])["value"].mean().dropna().reset_index()


def mean_of(scores, scale, **where):
    rows = scores[scores["scale"] == scale]
    for column, value in where.items():
        rows = rows[rows[column] == value]
    return rows["value"].mean()


def change(scores, scale, case_id, role=None):
    """Mean within-participant change t0 -> t2."""
    rows = scores[(scores["scale"] == scale) & (scores["case_id"] == case_id)]
    if role:
        rows = rows[rows["role"] == role]
    wide = rows.pivot_table(index="participant_id", columns="wave", values="value")
    return (wide["t2"] - wide["t0"]).mean()


# --- reproducibility -------------------------------------------------------------------------------


def test_regenerating_with_the_default_seed_reproduces_the_committed_files(tmp_path):
    written = write_example(tmp_path, n_sites=3, seed=DEFAULT_SEED)
    assert sorted(p.name for p in written) == EXAMPLE_FILES
    assert sorted(p.name for p in EXAMPLE.iterdir()) == EXAMPLE_FILES
    for name in EXAMPLE_FILES:
        assert (tmp_path / name).read_bytes() == (EXAMPLE / name).read_bytes(), name


def test_interviews_as_csv_give_the_same_tables_as_the_project(tmp_path, raw):
    written = write_example(tmp_path, n_sites=3, seed=DEFAULT_SEED, interviews="csv")
    names = {p.name for p in written}
    interview_tables = [t for t in QDA_TABLES if t != "memos"]  # the synthetic interviews have no memos
    assert INTERVIEWS_FILE not in names and {f"{t}.csv" for t in interview_tables} <= names
    assert "--interviews csv" in (tmp_path / "dataset.toml").read_text(encoding="utf-8")
    from_csv = read_raw_dir(tmp_path)
    assert from_csv.ok, from_csv.problems
    for table in interview_tables:  # rows come in another order and are numbered differently (spreadsheet rows vs. project order)
        # The project's codebook also carries the code tree (code_id, parent_id, path, depth, codable); the CSV
        # codebook has only the columns an evaluator types, and those must agree.
        columns = [c for c in raw[table].columns if c in from_csv.tables[table].columns]
        missing = set(raw[table].columns) - set(columns)
        assert missing <= ({"code_id", "parent_id", "path", "depth", "codable"} if table == "codebook" else set()), (table, missing)
        in_order = [frame[columns].astype("str").sort_values(columns).reset_index(drop=True) for frame in (from_csv.tables[table], raw[table])]
        pd.testing.assert_frame_equal(*in_order)
    with pytest.raises(ValueError, match="interviews"):
        write_example(tmp_path / "other", interviews="xml")


def test_effects_json_is_the_module_effects():
    assert json.loads((EXAMPLE / "effects.json").read_text(encoding="utf-8")) == EFFECTS
    assert EFFECTS == effects(3, DEFAULT_SEED)
    assert EFFECTS["synthetic"] is True
    assert set(EFFECTS["sites"]) == {"slotervaart", "poelenburg_a", "poelenburg_b"}


def test_the_example_says_it_is_synthetic_everywhere(raw):
    assert "synthetic = true" in (EXAMPLE / "dataset.toml").read_text(encoding="utf-8")
    assert "**These data are synthetic.**" in (EXAMPLE / "README.md").read_text(encoding="utf-8")
    assert raw["cases"]["description"].str.startswith("SYNTHETIC").all()
    assert raw["documents"]["text"].str.startswith("SYNTHETISCH INTERVIEW").all()


def test_the_example_validates_without_warnings():
    report = validate_dir(EXAMPLE)
    assert report.ok and len(report.problems) == 0


def test_seed_changes_the_data_and_bad_arguments_are_refused():
    assert not generate(seed=1)["survey_responses"]["value"].equals(generate(seed=2)["survey_responses"]["value"])
    with pytest.raises(ValueError, match="n_sites"):
        generate(n_sites=0)
    with pytest.raises(ValueError, match="seed"):
        generate(seed=-1)


# --- structure ------------------------------------------------------------------------------------


def test_study_cases_participants_and_pseudonyms(raw):
    cases = raw["cases"].set_index("case_id")
    assert cases.loc["slotervaart", "city"] == "Amsterdam" and cases.loc["poelenburg_b", "city"] == "Zaanstad"
    assert cases["intervention_start"].dt.strftime("%Y-%m-%d").to_dict() == {"slotervaart": "2015-09-01", "poelenburg_a": "2015-03-01", "poelenburg_b": "2016-01-01"}
    counts = raw["participants"].groupby(["case_id", "role"]).size().unstack()
    assert counts["professional"].between(10, 20).all()
    assert counts["migrant_org"].between(10, 25).all()
    assert counts["parent"].between(5, 10).all()
    assert raw["participants"]["participant_id"].str.fullmatch(r"(SLO|PA|PB)-[PMO]\d\d").all()
    survey_roles = raw["participants"].set_index("participant_id")["role"].reindex(raw["survey_responses"]["participant_id"].unique())
    assert set(survey_roles) == {"professional", "migrant_org"}  # parents are interviewed only


def test_instrument_items_and_levels(raw):
    instrument = raw["instrument"].set_index("item_id")
    assert instrument.groupby("scale").size().to_dict() == {
        "trust": 5, "own_willingness": 3, "perceived_willingness": 3, "expect_strengthen": 2, "expect_bridge": 2,
        "expectation_primary": 1, "feeling_judged": 3, "safe_space": 3,
    }  # fmt: skip
    assert instrument["reverse_coded"].sum() == 1
    assert instrument.loc["expectation_primary", ["level", "waves", "response_max"]].tolist() == ["nominal", "t0;t2", 3]
    assert instrument.loc["expectation_primary", "value_labels"].startswith("1=strengthen the organisation;2=bridge to migrant parents")
    assert instrument.loc["feeling_judged_1", "roles"] == "migrant_org;parent"
    assert instrument.loc["safe_space_1", "waves"] == "t1;t2"
    assert instrument["wording_nl"].notna().all() and instrument["wording_en"].notna().all()


def test_the_interviews_project_holds_the_generated_interviews(raw):
    generated = generate()
    for table, columns in (
        ("coded_segments", ["document_id", "participant_id", "case_id", "wave", "coder", "code", "start", "end", "text"]),
        ("documents", ["document_id", "case_id", "participant_id", "wave", "text"]),
        ("codebook", ["code", "theme", "definition", "construct"]),  # definition_nl has no place in REFI-QDA
    ):
        imported = raw[table][columns].astype(str).sort_values(columns).reset_index(drop=True)
        expected = generated[table][columns].astype(str).sort_values(columns).reset_index(drop=True)
        pd.testing.assert_frame_equal(imported, expected, obj=table)


def test_interview_offsets_slice_the_text_exactly(raw):
    texts = raw["documents"].set_index("document_id")["text"]
    segments = raw["coded_segments"]
    sliced = [texts[d][s:e] for d, s, e in zip(segments["document_id"], segments["start"], segments["end"])]
    assert sliced == segments["text"].tolist()


def test_some_names_appear_in_interview_texts_for_redaction(raw):
    named = raw["participants"].dropna(subset=["name"]).set_index("participant_id")["name"]
    documents = raw["documents"][raw["documents"]["participant_id"].isin(named.index)]
    assert len(documents) > 10
    assert all(name in text for name, text in zip(named[documents["participant_id"]], documents["text"]))
    quotes = raw["coded_segments"].merge(named.rename("name").reset_index(), on="participant_id")
    assert sum(n in t for n, t in zip(quotes["name"], quotes["text"])) >= 3


# --- built-in effects (simple checks on the raw data) -----------------------------------------------------


def test_trust_rises_most_in_poelenburg_a_and_barely_in_b(scores):
    observed = {case: change(scores, "trust", case) for case in EFFECTS["sites"]}
    for case, built_in in EFFECTS["sites"].items():
        assert abs(observed[case] - built_in["trust_change"]) < 0.35, (case, observed)
    assert observed["poelenburg_a"] > observed["slotervaart"] > observed["poelenburg_b"]
    assert abs(mean_of(scores, "trust", wave="t0") - EFFECTS["survey"]["trust"]["t0_mean"]) < 0.25


def test_perception_gap_at_t0_and_its_closing_except_in_b(scores):
    own = mean_of(scores, "own_willingness", wave="t0")
    perceived = mean_of(scores, "perceived_willingness", wave="t0")
    assert abs((own - perceived) - EFFECTS["survey"]["perception_gap_t0"]) < 0.3
    for role in ("professional", "migrant_org"):
        assert mean_of(scores, "own_willingness", wave="t0", role=role) - mean_of(scores, "perceived_willingness", wave="t0", role=role) > 1.2
    assert abs(mean_of(scores, "own_willingness", wave="t2") - own) < 0.2  # stable
    closing = {case: change(scores, "perceived_willingness", case) for case in EFFECTS["sites"]}
    assert min(closing["slotervaart"], closing["poelenburg_a"]) > closing["poelenburg_b"] + 0.2


def test_expectation_mismatch(raw, scores):
    survey = raw["survey_responses"].merge(raw["participants"][["participant_id", "role"]], on="participant_id")
    primary = survey[survey["item_id"] == "expectation_primary"].dropna(subset=["value"])
    shares = pd.crosstab(primary["role"], primary["value"], normalize="index")
    assert shares.loc["migrant_org", 1.0] > 0.55 and shares.loc["migrant_org", 2.0] < 0.3
    assert shares.loc["professional", 2.0] > 0.55 and shares.loc["professional", 1.0] < 0.3
    assert set(primary["wave"]) == {"t0", "t2"}
    assert mean_of(scores, "expect_strengthen", role="migrant_org") - mean_of(scores, "expect_strengthen", role="professional") > 0.6
    assert mean_of(scores, "expect_bridge", role="professional") - mean_of(scores, "expect_bridge", role="migrant_org") > 0.6


def test_feeling_judged_and_safe_space(scores):
    assert abs(mean_of(scores, "feeling_judged", wave="t0") - EFFECTS["survey"]["feeling_judged"]["t0_mean"]) < 0.3
    assert set(scores.loc[scores["scale"] == "feeling_judged", "role"]) == {"migrant_org"}
    assert change(scores, "feeling_judged", "poelenburg_a") < -0.5
    safe = {case: mean_of(scores, "safe_space", case_id=case) for case in EFFECTS["sites"]}
    assert min(safe["slotervaart"], safe["poelenburg_a"]) > safe["poelenburg_b"] + 0.4
    assert set(scores.loc[scores["scale"] == "safe_space", "wave"]) == {"t1", "t2"}


def test_participants_vary_around_their_own_level(scores):
    """One-way ICC(1) of the stable own_willingness scale across waves (intended about 0.5)."""
    rows = scores[scores["scale"] == "own_willingness"]
    by_person = rows.groupby("participant_id")["value"]
    k = by_person.size().mean()
    within = by_person.var(ddof=1).mean()
    between = by_person.mean().var(ddof=1) - within / k
    icc = between / (between + within)
    assert 0.35 < icc < 0.75


def test_missing_items_and_drop_out(raw):
    survey = raw["survey_responses"]
    dropped = survey["missing_reason"] == "dropped_out"
    assert survey.loc[dropped, "value"].isna().all() and survey.loc[dropped, "response_date"].isna().all()
    skipped = survey["value"].isna() & ~dropped
    assert 0.015 < skipped.sum() / (~dropped).sum() < 0.05
    assert set(survey.loc[skipped, "missing_reason"]) == {"not_answered", "dont_know"}
    gone = survey.assign(dropped=dropped).groupby(["participant_id", "wave"])["dropped"].all().unstack()
    assert gone["t0"].sum() == 0
    assert 0.03 < gone["t1"].mean() < 0.17 and 0.10 < gone["t2"].mean() < 0.30
    assert (gone["t2"] >= gone["t1"]).all()  # who left stays gone


def test_help_seeking_rises_after_the_start_as_built_in(raw):
    before, after = EFFECTS["activity"]["months_before"], EFFECTS["activity"]["months_after"]
    activity = raw["activity_log"].merge(raw["cases"][["case_id", "intervention_start"]], on="case_id")
    months = (activity["date"].dt.year - activity["intervention_start"].dt.year) * 12 + activity["date"].dt.month - activity["intervention_start"].dt.month
    assert before == after == 24 and months.min() == -before and months.max() == after - 1
    activity["post"] = months >= 0
    monthly = activity.groupby(["case_id", "event_type", "post"])["count"].sum().unstack() / after
    questions = monthly.xs("parenting_question_to_youth_team", level="event_type")
    ratio = questions[True] / questions[False]
    # baseline 20 a month: the mean of 24 months has a relative SD of about 6% (variance-to-mean ratio up to 1.6)
    baseline = pd.Series({case: site["help_seeking_baseline_per_month"] for case, site in EFFECTS["sites"].items()})
    assert (baseline == 20).all() and (abs(np.log(questions[False] / baseline)) < 0.15).all()
    slope = EFFECTS["sites"]["poelenburg_a"]["help_seeking_slope_rate_ratio"]
    expected_a = EFFECTS["sites"]["poelenburg_a"]["help_seeking_level_rate_ratio"] * np.mean(slope ** np.arange(after))
    assert abs(np.log(ratio["poelenburg_a"] / expected_a)) < 0.3
    assert abs(np.log(ratio["slotervaart"] / 1.4)) < 0.3
    assert abs(np.log(ratio["poelenburg_b"])) < 0.3
    for event in ("joint_meeting", "joint_activity"):
        rates = monthly.xs(event, level="event_type")
        assert (rates[True] > 2 * rates[False]).all()
    per_activity = activity[activity["event_type"] == "parents_attending"]
    assert len(per_activity) == (activity["event_type"] == "joint_activity").sum()
    assert 6 < per_activity["count"].mean() < 10


def test_double_coding_agrees_as_intended(raw):
    segments = raw["coded_segments"]
    double = segments.loc[segments["coder"] == "coder_2", "document_id"].unique()
    assert 0.15 < len(double) / len(raw["documents"]) < 0.35
    presence = (
        segments[segments["document_id"].isin(double)]
        .assign(present=True)
        .pivot_table(index=["document_id", "code"], columns="coder", values="present", aggfunc="any")
        .reindex(pd.MultiIndex.from_product([double, raw["codebook"]["code"]], names=["document_id", "code"]))
        .fillna(False)
        .astype(bool)
    )
    first, second = presence["coder_1"], presence["coder_2"]
    observed = (first == second).mean()
    chance = first.mean() * second.mean() + (1 - first.mean()) * (1 - second.mean())
    kappa = (observed - chance) / (1 - chance)  # Cohen (1960)
    assert abs(kappa - EFFECTS["interviews"]["kappa_intended"]) < 0.15


def test_interview_themes_dissonance_and_agreement(raw, scores):
    documents = raw["documents"].merge(raw["participants"][["participant_id", "role"]], on="participant_id")
    first = raw["coded_segments"][raw["coded_segments"]["coder"] == "coder_1"]
    mentions = pd.crosstab(first["document_id"], first["code"]).gt(0).reindex(documents["document_id"], fill_value=False)
    mentions = mentions.join(documents.set_index("document_id")[["case_id", "role", "wave"]])
    prevalence = mentions.groupby(["case_id", "wave"])[["growing_trust", "we_they_thinking"]].mean()
    # dissonance: growing trust is talked about in B at t2 although B's survey trust barely rises
    assert prevalence.loc[("poelenburg_b", "t2"), "growing_trust"] > 0.3 > prevalence.loc[("poelenburg_b", "t0"), "growing_trust"]
    assert change(scores, "trust", "poelenburg_b") < 0.4
    assert EFFECTS["interviews"]["dissonance"]["code"] == "growing_trust"
    # agreement: poelenburg_a parents bring questions to the youth team at t2 (the clear rise in the activity log)
    parents = mentions[mentions["role"] == "parent"].groupby(["case_id", "wave"])["help_seeking_youth_team"].mean()
    assert parents[("poelenburg_a", "t2")] > 0.6 > parents[("poelenburg_b", "t2")]
    assert (prevalence.xs("t2", level="wave")["we_they_thinking"] < prevalence.xs("t0", level="wave")["we_they_thinking"]).all()


# --- scale ----------------------------------------------------------------------------------------


def test_more_sites_are_scaled_sites_with_effects_around_the_same_means():
    tables = generate(n_sites=30)
    built_in = effects(30)
    assert tables["cases"]["case_id"].tolist() == [f"site_{i:03d}" for i in range(1, 31)]
    assert list(built_in["sites"]) == tables["cases"]["case_id"].tolist()
    per_site = tables["participants"].groupby("case_id").size()
    assert per_site.between(70, 115).all()
    assert set(tables) == set(schema.TABLES) - {"memos", "roles", "waves"}  # memos only come from QDA projects with notes
    site_effects = pd.DataFrame(built_in["sites"]).T
    assert abs(site_effects["trust_change"].mean() - 0.55) < 0.15
    assert site_effects["trust_change"].std() > 0.1  # the sites differ
    assert built_in["interviews"]["extra_segments_per_present_code"] == 2.2
    assert tables["participants"]["participant_id"].str.fullmatch(r"S\d{3}-[PMO]\d{3}").all()


@pytest.mark.slow
def test_300_sites_generate_quickly_at_benchmark_volume():
    started = time.process_time()
    tables = generate(n_sites=300)
    assert time.process_time() - started < 60
    assert 1_500_000 < len(tables["activity_log"]) < 2_600_000
    assert 350_000 < len(tables["coded_segments"]) < 700_000
    assert 1_000_000 < len(tables["survey_responses"]) < 1_800_000
    assert 25_000 < len(tables["participants"]) < 35_000
