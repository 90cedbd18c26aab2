import hashlib
import json
from pathlib import Path
import math

import numpy as np
import pandas as pd
import pytest

from ponzoni_eval import report
from ponzoni_eval._core.errors import DataError
from ponzoni_eval.report.describe import (
    describe_change,
    describe_result,
    describe_results,
    format_ci,
    format_p,
)
from ponzoni_eval.report.outputs import open_run, save_figure, save_table, synthetic_banner
from ponzoni_eval._core.results import result_frame
from ponzoni_eval.report import outputs


def awkward_frame():
    """Values that go wrong in naive writers: binary fractions, missing ints and text, dates."""
    return pd.DataFrame(
        {
            "case_id": pd.array(["slotervaart", None, "poelenburg_a"], dtype="str"),
            "n": pd.array([14, None, 3], dtype="Int64"),
            "effect_size": [0.1 + 0.2, 1 / 3, np.nan],
            "tiny": [1e-300, -2.5e-17, 123456789.123456789],
            "date": pd.to_datetime(["2016-03-01", "2016-04-01", None]).astype("datetime64[us]"),
        }
    )


# --- tables -----------------------------------------------------------------------


def test_save_table_writes_csv_and_parquet_holding_the_same_numbers(tmp_path):
    frame = awkward_frame()
    shown = save_table(frame, "effects", tmp_path, caption="effects per case")

    pd.testing.assert_frame_equal(shown, frame)
    from_parquet = pd.read_parquet(tmp_path / "tables" / "effects.parquet")
    pd.testing.assert_frame_equal(from_parquet, frame)
    from_csv = pd.read_csv(tmp_path / "tables" / "effects.csv")  # pandas 3 reads floats round-trip
    # repr precision: every double reads back to the identical double
    np.testing.assert_array_equal(from_csv["effect_size"].to_numpy(), frame["effect_size"].to_numpy())
    np.testing.assert_array_equal(from_csv["tiny"].to_numpy(), frame["tiny"].to_numpy())
    assert (tmp_path / "tables" / "effects.csv").read_bytes().startswith(b"case_id,n,effect_size,tiny,date\n")


def test_save_table_gives_the_same_bytes_every_time(tmp_path):
    for run in ("a", "b"):
        save_table(awkward_frame(), "effects", tmp_path / run)
    for suffix in ("csv", "parquet", "json"):
        first = (tmp_path / "a" / "tables" / f"effects.{suffix}").read_bytes()
        assert first == (tmp_path / "b" / "tables" / f"effects.{suffix}").read_bytes(), suffix
    sidecar = json.loads((tmp_path / "a" / "tables" / "effects.json").read_text())
    import hashlib

    assert sidecar["sha256"]["csv"] == hashlib.sha256((tmp_path / "a" / "tables" / "effects.csv").read_bytes()).hexdigest()


def test_a_named_index_is_kept_as_columns_and_a_plain_index_is_dropped(tmp_path):
    scores = pd.DataFrame({"role": ["parent", "parent", "professional"], "value": [1.0, 3.0, 4.0]})
    grouped = scores.groupby("role")["value"].mean().to_frame()
    written = save_table(grouped, "means", tmp_path)
    assert list(written.columns) == ["role", "value"]

    shuffled = scores.set_index(pd.Index([7, 3, 5]))
    save_table(shuffled, "plain", tmp_path)
    assert (tmp_path / "tables" / "plain.csv").read_text().splitlines()[0] == "role,value"


def test_writes_leave_no_temporary_files(tmp_path):
    save_table(awkward_frame(), "effects", tmp_path)
    leftovers = [p.name for p in tmp_path.rglob("*") if p.name.startswith(".")]
    assert leftovers == []


def test_case_notebooks_get_their_own_file_names(tmp_path):
    for case in ("slotervaart", "poelenburg_a"):
        open_run(tmp_path, "01_case_report", case_id=case).save_table(pd.DataFrame({"x": [1]}), "sample", caption="c")
    assert sorted(p.name for p in (tmp_path / "tables").glob("*.csv")) == ["poelenburg_a-sample.csv", "slotervaart-sample.csv"]


def test_two_notebooks_cannot_write_the_same_name(tmp_path):
    open_run(tmp_path, "02_cross_case").save_table(pd.DataFrame({"x": [1]}), "overview")
    open_run(tmp_path, "02_cross_case").save_table(pd.DataFrame({"x": [2]}), "overview")  # re-running a cell is fine
    with pytest.raises(ValueError, match="already written by notebook '02_cross_case'"):
        open_run(tmp_path, "03_joint_display").save_table(pd.DataFrame({"x": [3]}), "overview")
    assert pd.read_parquet(tmp_path / "tables" / "overview.parquet")["x"].tolist() == [2]


def test_outputs_json_lists_every_table_and_figure_with_caption_and_notebook(tmp_path):
    import matplotlib.pyplot as plt

    run = open_run(tmp_path, "01_case_report", case_id="slotervaart")
    run.save_table(pd.DataFrame({"b": [1]}), "zeta", caption="last table")
    run.save_table(pd.DataFrame({"a": [1]}), "alpha", caption="first table")
    fig, ax = plt.subplots()
    run.save_figure(fig, "trust", caption="Trust per wave.")
    plt.close(fig)

    registry = json.loads((tmp_path / "outputs.json").read_text())
    assert [t["name"] for t in registry["tables"]] == ["slotervaart-alpha", "slotervaart-zeta"]
    assert registry["tables"][0]["caption"] == "first table"
    assert registry["tables"][0]["notebook"] == "01_case_report"
    assert registry["tables"][0]["case_id"] == "slotervaart"
    assert registry["figures"][0]["files"] == {"png": "figures/slotervaart-trust.png", "svg": "figures/slotervaart-trust.svg"}
    assert registry["figures"][0]["caption"] == "Trust per wave."
    assert outputs.collect_outputs(tmp_path) == registry


def test_without_a_run_folder_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = open_run(None, "01_case_report", case_id="slotervaart")
    shown = run.save_table(awkward_frame(), "effects")
    pd.testing.assert_frame_equal(shown, awkward_frame())
    assert list(tmp_path.iterdir()) == []


def test_unusable_tables_and_names_are_refused(tmp_path):
    with pytest.raises(ValueError, match="letters, digits and '_'"):
        save_table(pd.DataFrame({"x": [1]}), "my table", tmp_path)
    with pytest.raises(TypeError, match="DataFrame"):
        save_table([1, 2], "x", tmp_path)
    with pytest.raises(ValueError, match="duplicate column names"):
        save_table(pd.DataFrame([[1, 2]], columns=["a", "a"]), "x", tmp_path)
    wide = pd.DataFrame([[1, 2]], columns=pd.MultiIndex.from_tuples([("a", "x"), ("a", "y")]))
    with pytest.raises(TypeError, match="flatten"):
        save_table(wide, "x", tmp_path)
    with pytest.raises(ValueError, match="cannot be part of a file name"):
        open_run(tmp_path, "01_case_report", case_id="Slotervaart West")


# --- figures ----------------------------------------------------------------------


def _figure():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1, 2], [2.8, 3.2, 3.7], marker="o")
    ax.set_title("Trust")
    return fig


def test_save_figure_writes_png_and_svg_that_are_the_same_bytes_every_time(tmp_path):
    import matplotlib.pyplot as plt

    for run in ("a", "b"):
        fig = _figure()
        save_figure(fig, "trust", tmp_path / run, caption="Mean trust per wave.")
        plt.close(fig)
    for suffix in ("png", "svg"):
        first = (tmp_path / "a" / "figures" / f"trust.{suffix}").read_bytes()
        assert first == (tmp_path / "b" / "figures" / f"trust.{suffix}").read_bytes(), suffix
    svg = (tmp_path / "a" / "figures" / "trust.svg").read_text()
    assert "<dc:date>" not in svg
    png = (tmp_path / "a" / "figures" / "trust.png").read_bytes()
    assert png.startswith(b"\x89PNG") and b"tIME" not in png


def test_a_figure_needs_a_caption(tmp_path):
    import matplotlib.pyplot as plt

    fig = _figure()
    with pytest.raises(ValueError, match="needs a caption"):
        save_figure(fig, "trust", tmp_path, caption="  ")
    plt.close(fig)
    assert not (tmp_path / "figures").exists()


# --- synthetic banner --------------------------------------------------------------


@pytest.mark.parametrize("manifest", [{"synthetic": True}, {"dataset": {"synthetic": True}}])
def test_banner_shows_for_synthetic_data(tmp_path, manifest):
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    banner = synthetic_banner(tmp_path)
    assert "SYNTHETIC EXAMPLE DATA — not findings" in banner._repr_html_()
    assert repr(banner).startswith("SYNTHETIC EXAMPLE DATA — not findings")
    assert "SYNTHETISCHE VOORBEELDDATA" in repr(synthetic_banner(tmp_path, language="nl"))


def test_no_banner_for_real_data(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({"dataset": {"synthetic": False}, "tables": {}}))
    assert synthetic_banner(tmp_path) is None


def test_banner_without_processed_data_says_what_to_do(tmp_path):
    with pytest.raises(DataError, match="manifest.json.*ponzoni-eval prepare"):
        synthetic_banner(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(DataError, match="not valid JSON"):
        synthetic_banner(tmp_path)


# --- sentences ---------------------------------------------------------------------


TRUST = {"outcome": "trust", "group": "", "n": 14, "p_value": 0.0031, "p_adjusted": 0.0124,
         "effect_size": 0.9, "effect_name": "g_av", "ci_low": 0.4, "ci_high": 1.4, "note": None}


@pytest.mark.parametrize(
    "p, text",
    [(0.0031, "p = .003"), (0.0004, "p < .001"), (0.001, "p = .001"), (0.0494, "p = .049"),
     (0.5, "p = .500"), (0.9996, "p > .999"), (1.0, "p > .999")],
)
def test_p_values_in_apa_style(p, text):
    assert format_p(p) == text


def test_impossible_p_values_are_refused():
    with pytest.raises(ValueError, match="between 0 and 1"):
        format_p(1.2)
    with pytest.raises(ValueError, match="missing"):
        format_p(float("nan"))


def test_change_sentence_in_both_languages():
    assert describe_change(TRUST, before=2.81, after=3.66) == (
        "Trust rose from 2.8 to 3.7 (g_av = 0.9, 95% CI 0.4 to 1.4, p = .003, n = 14)"
    )
    assert describe_change(TRUST, before=2.81, after=3.66, label="Vertrouwen", language="nl") == (
        "Vertrouwen steeg van 2,8 naar 3,7 (g_av = 0,9, 95%-BI 0,4 tot 1,4, p = ,003, n = 14)"
    )


def test_change_direction_follows_the_numbers_as_shown():
    fell = {**TRUST, "effect_size": -0.9, "ci_low": -1.4, "ci_high": -0.4}
    assert describe_change(fell, before=3.66, after=2.81).startswith("Trust fell from 3.7 to 2.8 (g_av = -0.9, 95% CI -1.4 to -0.4")
    assert describe_change(TRUST, before=2.81, after=2.84).startswith("Trust stayed at 2.8 (")
    assert describe_change(TRUST, before=2.81, after=2.86).startswith("Trust rose from 2.8 to 2.9")


def test_change_sentence_uses_the_adjusted_p_when_asked_and_keeps_the_note():
    row = {**TRUST, "note": "exact test"}
    assert describe_change(row, before=2.8, after=3.7, p_column="p_adjusted") == (
        "Trust rose from 2.8 to 3.7 (g_av = 0.9, 95% CI 0.4 to 1.4, p = .012, n = 14) (exact test)"
    )


def test_result_sentences_from_a_standard_result_frame():
    frame = result_frame(
        [
            dict(analysis="perception_gap", case_id="slotervaart", group="role=professional", outcome="perceived_other_willingness",
                 test="wilcoxon", n=12, p_value=0.012, effect_size=0.86, effect_name="r_rb", ci_low=0.2, ci_high=1.5,
                 note="exact"),
            dict(analysis="its", case_id="slotervaart", outcome="help_seeking", n=3, note="n too small"),
        ]
    )
    assert describe_results(frame) == [
        "Perceived other willingness (role=professional): r_rb = 0.86, 95% CI 0.20 to 1.50, p = .012, n = 12 (exact).",
        "Help seeking: not tested (n too small).",
    ]
    assert describe_result(frame.iloc[0], language="nl", digits=1).startswith(
        "Perceived other willingness (role=professional): r_rb = 0,9, 95%-BI 0,2 tot 1,5, p = ,012"
    )


def test_an_effect_without_a_ci_is_reported_without_one():
    row = {**TRUST, "ci_low": math.nan, "ci_high": math.nan}
    assert describe_result(row) == "Trust: g_av = 0.90, p = .003, n = 14."
    assert format_ci(-0.04, 0.3, 1) == "95% CI 0.0 to 0.3"  # never "-0.0"


def test_a_published_table_has_its_small_counts_suppressed(tmp_path):
    pytest.importorskip("ponzoni_eval.privacy")  # disclosure control lives on another branch until merged
    counts = pd.DataFrame({"case_id": ["a", "b", "c"], "n_participants": [3, 12, 0]})
    shown = open_run(tmp_path, "01_case_report").save_table(counts, "sample", publish=True, count_columns=["n_participants"])

    written = pd.read_parquet(tmp_path / "tables" / "sample.parquet")
    pd.testing.assert_frame_equal(written, shown, check_like=False)
    assert written["n_participants"].isna().tolist() == [True, False, False]
    assert written["n_participants_flag"].tolist() == ["<5", "", ""]
    assert "3" not in (tmp_path / "tables" / "sample.csv").read_text().split("\n", 1)[1]
    sidecar = json.loads((tmp_path / "tables" / "sample.json").read_text())
    assert sidecar["suppressed"] == {"count_columns": ["n_participants"], "threshold": 5}


def test_publishing_needs_the_count_columns(tmp_path):
    with pytest.raises(TypeError, match="needs count_columns"):
        save_table(pd.DataFrame({"n": [3]}), "sample", tmp_path, publish=True)


def test_counting_functions_return_plain_tables_and_the_rules_say_what_counts_people(tmp_path):
    from ponzoni_eval.privacy import CountRules
    from ponzoni_eval.qual import quantitize
    from ponzoni_eval import stats

    presence = pd.DataFrame({"participant_id": [f"p{i}" for i in range(12)], "code": "trust", "n_segments": 1,
                             "present": [1] * 3 + [0] * 9, "interviewed": True})
    participants = pd.DataFrame({"participant_id": [f"p{i}" for i in range(12)], "case_id": ["a"] * 6 + ["b"] * 6})
    prevalence = quantitize.prevalence(presence, participants)  # a: 3 of 6, b: 0 of 6
    run = open_run(tmp_path, "01_case_report")
    # No hidden mark on the frame: without rules a table is written as it is (the research team's copy) ...
    raw = run.save_table(prevalence, "themes_internal")
    assert raw["n_with_code"].tolist() == [3, 0]
    # ... and the rule the report section declares suppresses it.
    shown = run.save_table(prevalence, "themes", counts=quantitize.PREVALENCE_COUNTS)
    assert shown["n_with_code"].isna().tolist() == [True, False] and shown["percent"].isna().tolist() == [True, False]
    assert shown["n_with_code_flag"].tolist() == ["<5", ""] and shown["percent_flag"].tolist() == ["x", ""]
    assert "50.0" not in (tmp_path / "tables" / "themes.csv").read_text(encoding="utf-8")
    crosstab = stats.contingency_table(pd.DataFrame({"role": ["p"] * 7 + ["m"] * 9, "aim": ["x"] * 6 + ["y"] + ["y"] * 9}), row="role", col="aim")
    shown = run.save_table(crosstab, "aims", counts=CountRules(list(crosstab.columns), margins="both"))  # p: 6 x, 1 y -> the 1 and the 6
    assert shown.set_index("role").loc["p", ["x_flag", "y_flag"]].tolist() == ["x", "<5"]
    sidecars = {name: json.loads((tmp_path / "tables" / f"{name}.json").read_text()) for name in ("themes", "aims", "themes_internal")}
    assert sidecars["themes"]["suppressed"] == {"count_columns": ["n_with_code"], "threshold": 5, "derived": {"percent": "n_with_code"}}
    assert sidecars["themes_internal"]["suppressed"] is None


def test_no_dataframe_attrs_side_channel_anywhere_in_the_package():
    # DataFrame.attrs is experimental in pandas and lost or merged by many operations: what a function knows
    # beside its table (which columns count people, a display's settings, value labels, a redaction count)
    # is an explicit return value or argument (privacy.CountRules, integrate.Display, TableRead.value_labels,
    # privacy.redact_counted), never a mark on a frame. Code, comments and docstrings alike.
    package = Path(__file__).resolve().parents[2] / "ponzoni_eval"
    offenders = [
        f"{path.relative_to(package)}:{number}"
        for path in sorted(package.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if ".attrs" in line
    ]
    assert offenders == []


def _expectation_section(counts: pd.DataFrame):
    from ponzoni_eval.privacy import CountRules
    from ponzoni_eval.report import plots
    from ponzoni_eval.report.publishing import MAIN_TABLE, Section, TableSpec

    rules = CountRules(["n"])
    specs = {
        "expectation_counts": TableSpec("expectation_counts", "Respondents per role and expectation (counts below {min_cell} suppressed).", counts=rules),
        MAIN_TABLE: TableSpec("expectation_fit", "A fitted table.", "fitted"),
    }

    def draw(published, threshold):
        return plots.expectation_bars(published["expectation_counts"].drop(columns="n_flag"))

    fitted = pd.DataFrame({"estimate": [0.123456789]})
    return Section(fitted, plots.expectation_bars(counts), "A sentence.", {"expectation_counts": counts}, specs, figure_name="expectations", draw=draw)


def _figure_texts(figure) -> list[str]:
    return [text.get_text() for text in figure.fig.findobj(lambda artist: hasattr(artist, "get_text"))]


def test_a_section_saved_through_the_run_publishes_no_count_below_min_cell_and_its_figure_shows_none(tmp_path):
    # professional: 3 bridge + 10 both (13); migrant_org: 6 + 8 (14). The 3 is below min cell.
    counts = pd.DataFrame({"case_id": ["slotervaart"] * 4, "role": ["professional", "professional", "migrant_org", "migrant_org"],
                           "expectation": ["bridge_to_parents", "both"] * 2, "n": [3, 10, 6, 8]})
    section = _expectation_section(counts)
    unsuppressed = _figure_texts(section.figure)
    assert "n = 13" in unsuppressed and "23%" in unsuppressed  # the unpublished figure would give the 3 away

    run = open_run(tmp_path, "01_case_report", case_id="slotervaart")
    saved = run.save_section(section)
    written = pd.read_csv(tmp_path / "tables" / "slotervaart-expectation_counts.csv")
    assert written["n"].isna().tolist() == [True, False, False, False] and written["n_flag"].tolist()[0] == "<5"
    assert not written["n"].between(1, run.min_cell - 1).any()
    shown = _figure_texts(saved.figure)
    assert "n = 13" not in shown and "23%" not in shown and "77%" not in shown and "n = 3" not in shown
    assert "small counts suppressed" in shown and "n = 14" in shown
    sidecars = {name: json.loads((tmp_path / "tables" / f"slotervaart-{name}.json").read_text()) for name in ("expectation_counts", "expectation_fit")}
    assert sidecars["expectation_counts"]["suppressed"] == {"count_columns": ["n"], "threshold": 5}
    assert sidecars["expectation_counts"]["caption"] == "Respondents per role and expectation (counts below 5 suppressed)."
    # precision is recorded per table, as the section declared it
    assert sidecars["expectation_fit"]["precision"] == "fitted" and sidecars["expectation_counts"]["precision"] == "closed_form"
    assert sidecars["expectation_fit"]["suppressed"] is None
    assert (tmp_path / "figures" / "slotervaart-expectations.png").is_file()
    # the run's threshold is the one used (a run with --min-cell 3 shows the 3)
    again = open_run(tmp_path / "low", "01_case_report", min_cell=3).save_section(section)
    assert again.tables["expectation_counts"]["n"].tolist() == [3, 10, 6, 8] and "n = 13" in _figure_texts(again.figure)


def test_a_section_refuses_rules_for_tables_it_does_not_have_and_save_section_needs_a_section(tmp_path):
    from ponzoni_eval.report.publishing import Section, TableSpec

    with pytest.raises(ValueError, match="specs name tables the section does not have"):
        Section(pd.DataFrame(), None, "", specs={"missing": TableSpec("missing", "A caption.")})
    with pytest.raises(ValueError, match="precision must be one of"):
        TableSpec("x", "A caption.", "approximate")
    with pytest.raises(TypeError, match="needs a report Section"):
        open_run(tmp_path, "01_case_report").save_section(pd.DataFrame())


def test_the_threshold_comes_from_the_run(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({"parameters": {"min_cell": 3}}), encoding="utf-8")
    counts = pd.DataFrame({"case_id": ["a", "b"], "n": [2, 4]})
    run = open_run(tmp_path, "02_cross_case")
    assert run.min_cell == 3
    assert run.save_table(counts, "small", publish=True, count_columns=["n"])["n_flag"].tolist() == ["<3", ""]
    assert open_run(tmp_path, "02_cross_case", min_cell=10).min_cell == 10
    assert open_run(None, "02_cross_case").min_cell == 5
    with pytest.raises(ValueError, match="min_cell must be a whole number of at least 1"):
        open_run(tmp_path, "02_cross_case", min_cell=0)


# --- documents, package figures, derived suppression, more sentences -----------------------


def test_a_document_is_written_listed_and_kept_to_its_notebook(tmp_path):
    run = open_run(tmp_path, "03_joint_display")
    run.save_document("<p>joint display</p>", "joint_display", format="html", caption="The joint display.")
    run.save_document(b"PK\x03\x04", "joint_display", format="xlsx", caption="The joint display as a workbook.")
    assert (tmp_path / "documents" / "joint_display.html").read_text() == "<p>joint display</p>"
    registry = json.loads((tmp_path / "outputs.json").read_text())
    assert [d["name"] for d in registry["documents"]] == ["joint_display.html", "joint_display.xlsx"]
    assert registry["documents"][1]["files"] == {"xlsx": "documents/joint_display.xlsx"}
    assert registry["documents"][0]["sha256"]["html"] == hashlib.sha256(b"<p>joint display</p>").hexdigest()
    with pytest.raises(ValueError, match="already written by notebook '03_joint_display'"):
        open_run(tmp_path, "02_cross_case").save_document("x", "joint_display", format="html", caption="Other.")
    with pytest.raises(ValueError, match="format must be one of"):
        run.save_document("x", "joint_display", format="exe", caption="Nope.")
    with pytest.raises(ValueError, match="needs a caption"):
        run.save_document("x", "other", format="md", caption=" ")


def test_a_package_figure_brings_its_caption(tmp_path):
    from ponzoni_eval.report.plots import forest

    results = pd.DataFrame({"case_id": ["slotervaart"], "outcome": ["trust"], "effect_size": [0.5], "ci_low": [0.1],
                            "ci_high": [0.9], "effect_name": ["hedges_g_av"], "n": [12]})
    figure = forest(results)
    run = open_run(tmp_path, "01_case_report", case_id="slotervaart")
    assert run.save_figure(figure, "pre_post") is figure
    sidecar = json.loads((tmp_path / "figures" / "slotervaart-pre_post.json").read_text())
    assert sidecar["caption"] == figure.caption
    first = (tmp_path / "figures" / "slotervaart-pre_post.svg").read_bytes()
    # The same figure drawn again (a second run) gives the same bytes; a caption given replaces the figure's.
    save_figure(forest(results), "pre_post", tmp_path / "other", caption="Own caption.")
    assert (tmp_path / "other" / "figures" / "pre_post.svg").read_bytes() == first
    assert json.loads((tmp_path / "other" / "figures" / "pre_post.json").read_text())["caption"] == "Own caption."


def test_a_published_percentage_is_blanked_with_its_count(tmp_path):
    pytest.importorskip("ponzoni_eval.privacy")
    prevalence = pd.DataFrame({"code": ["trust", "safe_space"], "n_with_code": [3, 12], "n_at_risk": [20, 20], "percent": [15.0, 60.0]})
    shown = open_run(tmp_path, "01_case_report").save_table(
        prevalence, "prevalence", publish=True, count_columns=["n_with_code"], derived={"percent": "n_with_code"}
    )
    assert shown["percent"].isna().tolist() == [True, False] and shown["percent_flag"].tolist() == ["x", ""]
    sidecar = json.loads((tmp_path / "tables" / "prevalence.json").read_text())
    assert sidecar["suppressed"]["derived"] == {"percent": "n_with_code"}


def test_sentences_for_groups_ranges_shares_and_tallies():
    frame = result_frame(
        [
            dict(analysis="x", case_id="slotervaart", outcome="trust", n=32, p_value=0.0004, effect_size=0.65, effect_name="change",
                 ci_low=0.34, ci_high=0.96),
            dict(analysis="x", case_id="poelenburg_b", outcome="trust", n=2, note="too few"),
        ]
    )
    assert report.describe_by(frame, by="case_id", label="Trust change", names={"slotervaart": "Slotervaart"}) == (
        "Trust change: Slotervaart change = 0.65, 95% CI 0.34 to 0.96, p < .001, n = 32; poelenburg_b not tested."
    )
    assert report.describe_by(frame.iloc[:0], by="case_id", label="Trust change") == "Trust change: no estimates."
    assert report.describe_range(frame, by="case_id", label="Change", language="nl") == "Change was 0,65 (slotervaart)."
    assert report.describe_share("Growing trust", 7, 21, language="nl") == (
        "Growing trust werd genoemd door 7 van de 21 geïnterviewde deelnemers (33%)"
    )
    assert report.describe_share("Growing trust", pd.NA, 21, threshold=5).endswith("fewer than 5 of 21 interviewed participants")
    assert report.describe_tally(["silence", "agreement", "silence", None], label="Fit", order=["agreement", "silence"],
                                 names={"silence": "stilte"}, language="nl") == "Fit: agreement 1, stilte 2 (n = 3)."
