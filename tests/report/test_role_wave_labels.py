"""Role and wave display labels where the data give them (issue 14): the optional `roles` / `waves` tables.

`label` names a role or wave in English reports, `label_nl` in Dutch ones; the words tables' names
are the fallback, and the ids stay in the data. A label file naming an unknown role or wave is a
located error (file, row, column).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from ponzoni_eval.data import validate_dir
from ponzoni_eval.data.preparation import prepare
from ponzoni_eval.data.processed import load_processed
from ponzoni_eval.report import plots, use_display_names
from ponzoni_eval.report.publishing import format_table

EXAMPLE = Path(__file__).parents[2] / "data" / "raw" / "example"


@pytest.fixture
def labelled(tmp_path):
    folder = tmp_path / "raw"
    shutil.copytree(EXAMPLE, folder)
    (folder / "roles.csv").write_text("role,label,label_nl\nprofessional,youth worker,jeugdwerker\nparent,,ouder of verzorger\n",
                                      encoding="utf-8")
    (folder / "waves.csv").write_text("wave,label,label_nl\nt0,intake (January),intake (januari)\nt2,\"end (June)\",\n",
                                      encoding="utf-8")
    yield folder
    use_display_names({"cases": pd.DataFrame({"case_id": [], "name": []})})  # the package's names again


def test_labels_reach_tables_figures_and_both_languages(labelled, tmp_path):
    prepare(labelled, tmp_path / "processed")
    tables = load_processed(tmp_path / "processed")
    assert set(tables["waves"]["wave"].astype(str)) == {"t0", "t2"}  # carried into the processed data
    assert tables["participants"]["role"].astype(str).isin(["professional", "migrant_org", "parent"]).all()  # ids stay
    use_display_names(tables)
    assert plots.label("role", "professional", "en") == "youth worker"
    assert plots.label("role", "professional", "nl") == "jeugdwerker"
    assert plots.label("role", "parent", "en") == "parent"  # no English label: the words table's
    assert plots.label("role", "parent", "nl") == "ouder of verzorger"
    assert plots.label("wave", "t2", "nl") == "follow-up"  # no Dutch label: the words table's
    # a figure: axis labels and legend
    scores = pd.DataFrame({
        "participant_id": ["p1", "p2", "p1", "p2"] * 2, "case_id": "slotervaart", "role": "professional",
        "wave": ["t0"] * 4 + ["t2"] * 4, "scale": ["own_willingness"] * 2 + ["perceived_willingness"] * 2 + ["own_willingness"] * 2 + ["perceived_willingness"] * 2,
        "value": [4.0, 5.0, 2.0, 3.0, 4.0, 4.5, 3.0, 3.5]})
    figure = plots.perception_gap_dumbbell(scores, language="nl")
    ticks = [t.get_text() for t in figure.fig.axes[0].get_yticklabels()]
    assert ticks == ["intake (januari)", "follow-up"]
    assert "jeugdwerker" in [t.get_text() for t in figure.fig.legends[0].get_texts()]
    assert "t0 = intake (januari)" in figure.caption
    # a report table
    shown = format_table(pd.DataFrame({"role": ["professional", "parent"], "wave": ["t0", "t2"], "n": [3, 4]}), language="en")
    text = shown.frame.to_string()
    assert "youth worker" in text and "intake (January)" in text and "end (June)" in text


def test_a_label_file_naming_an_unknown_role_or_wave_is_a_located_error(labelled):
    (labelled / "roles.csv").write_text("role,label\nprofessional,youth worker\nvolunteer,helper\n", encoding="utf-8")
    (labelled / "waves.csv").write_text("wave,label\nt0,intake\nt0,again\nt9,later\n", encoding="utf-8")
    report = validate_dir(labelled)
    assert not report.ok
    errors = report.problems[report.problems["severity"] == "error"]
    found = {(p["file"], int(p["row"]), p["column"], p["rule"]) for p in errors.to_dict(orient="records")}
    assert ("roles.csv", 3, "role", "allowed_values") in found
    assert ("waves.csv", 4, "wave", "allowed_values") in found
    assert ("waves.csv", 3, "wave", "duplicate") in found


def _with_dutch_answer_labels(folder: Path, labels: str) -> None:
    """The instrument of `folder` with a value_labels_nl column, filled for expectation_primary only."""
    instrument = pd.read_csv(folder / "instrument.csv", dtype=str, keep_default_na=False)
    instrument["value_labels_nl"] = instrument["item_id"].map({"expectation_primary": labels}).fillna("")
    instrument.to_csv(folder / "instrument.csv", index=False)


def test_dutch_answer_labels_come_from_the_instrument_and_change_no_statistic(labelled, tmp_path):
    """issue 15 item 3: ``value_labels_nl`` names the answers in a Dutch report; a code without one keeps the glossary's."""
    from ponzoni_eval.report import sections
    from ponzoni_eval.report.plots import display_text

    prepare(labelled, tmp_path / "before")
    _with_dutch_answer_labels(labelled, "1=de eigen organisatie versterken;2=een brug naar migrantenouders")
    assert validate_dir(labelled).ok
    prepare(labelled, tmp_path / "after")
    before, after = load_processed(tmp_path / "before"), load_processed(tmp_path / "after")
    # display only: the answers the analyses read are the same
    pd.testing.assert_frame_equal(sections.expectation_answers(before), sections.expectation_answers(after))
    pd.testing.assert_frame_equal(before["survey_responses"], after["survey_responses"])
    use_display_names(after)
    assert display_text("bridge to migrant parents", "nl", prefer="expectation") == "een brug naar migrantenouders"
    assert display_text("both equally", "nl", prefer="expectation") == "beide evenveel"  # no Dutch label: the glossary
    assert display_text("bridge to migrant parents", "en", prefer="expectation") == "bridge to migrant parents"
    shown = format_table(pd.DataFrame({"expectation": ["bridge to migrant parents", "both equally"], "n": [3, 4]}), language="nl")
    assert "een brug naar migrantenouders" in shown.frame.to_string()


def test_malformed_dutch_answer_labels_are_a_located_error(labelled):
    _with_dutch_answer_labels(labelled, "1=versterken;twee")
    report = validate_dir(labelled)
    errors = report.problems[report.problems["severity"] == "error"]
    assert [(p["file"], p["column"]) for p in errors.to_dict(orient="records")] == [("instrument.csv", "value_labels_nl")]
