"""Every report runs on what the data allow, and says what it skipped (issue 14).

The matrix of data shapes (1, 2, 3 cases x two or three waves x with/without
interviews, double coding and an activity log) is cut from the synthetic
example (`tests/data_shapes.py`). The run plan is checked on every shape
(fast: validate + profile); a representative subset runs the whole pipeline
(slow): exit 0, the right notebooks and sections skipped with their reason,
and no traceback in any report.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))

from data_shapes import MATRIX, Shape, shape_tables, write_shape  # noqa: E402

from ponzoni_eval import cli  # noqa: E402
from ponzoni_eval._core.words import term  # noqa: E402
from ponzoni_eval.data import data_profile, run_plan, validate_dir  # noqa: E402
from ponzoni_eval.data.plan import SECTIONS  # noqa: E402
from ponzoni_eval.pipeline.run import resolve_run_dir  # noqa: E402

CASE_SECTIONS = [section.key for section in SECTIONS if section.notebook == "01_case_report"]
CROSS_SECTIONS = [section.key for section in SECTIONS if section.notebook == "02_cross_case"]


def expected_skips(shape: Shape) -> dict[tuple[str, str | None], str]:
    """What a shape must skip, by (notebook, section), with the reason key: written out from the shape, not from the plan code."""
    skips: dict[tuple[str, str | None], str] = {}
    if shape.n_cases < 2:
        skips[("02_cross_case", None)] = "one_case"
    if not shape.interviews:
        skips[("03_joint_display", None)] = "no_interviews"
    case = "_case"
    if not shape.activity:
        skips[("01_case_report", "help_seeking")] = "no_activity" + case
        if shape.n_cases >= 2:
            skips[("02_cross_case", "help_seeking")] = "no_activity"
    if not shape.interviews:
        skips[("01_case_report", "themes")] = "no_interviews" + case
        skips[("01_case_report", "agreement")] = "no_interviews" + case
        if shape.n_cases >= 2:
            skips[("02_cross_case", "themes")] = "no_interviews"
    elif not shape.double_coding:
        skips[("01_case_report", "agreement")] = "no_double_coding" + case
    return skips


def plan_skips(plan) -> dict[tuple[str, str | None], str]:
    found = {}
    for entry in plan.entries:
        if entry.runs:
            continue
        if entry.section is not None and not plan.notebook_runs(entry.notebook):
            continue  # covered by the notebook's own entry
        found[(entry.notebook, entry.section)] = entry.reason
    return found


@pytest.mark.parametrize("shape", MATRIX, ids=lambda shape: shape.name)
def test_the_plan_of_every_shape_skips_exactly_what_the_data_lack(shape):
    tables = shape_tables(shape)
    plan = run_plan(data_profile(tables))
    assert plan.pair == (shape.waves[0], shape.waves[-1])  # pre/post: first against last wave
    assert plan_skips(plan) == expected_skips(shape)
    for entry in plan.entries:  # every skipped entry says why, in both languages, in plain words
        if not entry.runs:
            for language in ("en", "nl"):
                text = entry.reason_text(language)
                assert text and "{" not in text and "_" not in text.replace("expectation_primary", "")


def test_a_pair_of_waves_can_be_chosen_and_a_wave_not_in_the_data_is_refused():
    profile = data_profile(shape_tables(Shape(2, ("t0", "t1", "t2"))))
    assert run_plan(profile, before="t0", after="t1").pair == ("t0", "t1")
    assert run_plan(profile, before="t1").pair == ("t1", "t2")
    from ponzoni_eval._core.errors import DataError

    with pytest.raises(DataError, match="wave not in the data"):
        run_plan(data_profile(shape_tables(Shape(1, ("t0", "t1")))), after="t2")


def test_one_wave_skips_every_comparison_over_time_and_names_the_wave():
    tables = shape_tables(Shape(2, ("t0", "t1")))
    tables["survey_responses"] = tables["survey_responses"].loc[tables["survey_responses"]["wave"] == "t0"]
    plan = run_plan(data_profile(tables))
    assert plan.pair is None
    for section in ("trajectories", "pre_post", "perception_gap"):
        assert not plan.runs("01_case_report", section, "slotervaart")
        assert plan.reason("01_case_report", section, "slotervaart") == term("plan.reason.one_wave", "en", wave="t0")
    assert plan.runs("01_case_report", "reliability", "slotervaart") and plan.runs("01_case_report", "expectations", "slotervaart")
    assert not plan.notebook_runs("03_joint_display")


def test_a_case_without_a_wave_of_the_pair_skips_only_its_own_pre_post():
    tables = shape_tables(Shape(2, ("t0", "t1", "t2")))
    survey, participants = tables["survey_responses"], tables["participants"]
    in_a = set(participants.loc[participants["case_id"] == "poelenburg_a", "participant_id"].astype(str))
    tables["survey_responses"] = survey.loc[~(survey["participant_id"].astype(str).isin(in_a) & (survey["wave"] == "t2"))]
    plan = run_plan(data_profile(tables))
    assert plan.runs("01_case_report", "pre_post", "slotervaart")
    assert not plan.runs("01_case_report", "pre_post", "poelenburg_a")
    assert plan.reason("01_case_report", "pre_post", "poelenburg_a") == "Poelenburg A has no survey answers at t2"
    assert not plan.runs("02_cross_case", "mixed_model")  # one case with both waves: nothing to compare


def test_validate_prints_the_plan_with_display_names(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    folder = write_shape(tmp_path / "one", Shape(1, ("t0", "t1"), interviews=False, double_coding=False, activity=False,
                                                 header_only_optional=True))
    assert validate_dir(folder).ok
    with pytest.raises(SystemExit) as stopped:
        cli.main(["validate", "--data", str(folder)])
    assert stopped.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "Pre/post comparisons: t0 -> t1" in out
    assert "one case in the data (Slotervaart): nothing to compare between cases" in out
    assert "no interviews in this data set" in out
    assert "01_case_report (case reports for Slotervaart)" in out


def test_validate_prints_the_plan_in_dutch(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    folder = write_shape(tmp_path / "two", Shape(2, ("t0", "t2"), interviews=False, double_coding=False))
    with pytest.raises(SystemExit):
        cli.main(["validate", str(folder), "--language", "nl"])
    out = " ".join(capsys.readouterr().out.split())
    assert "geen interviews in deze dataset" in out and "Voor/na-vergelijkingen: t0 -> t2" in out



def test_the_dutch_plan_table_says_casus(tmp_path, capsys, monkeypatch):
    """One term per concept: the Dutch plan (column header, "all cases", reasons) uses the glossary's "casus"."""
    monkeypatch.setenv("COLUMNS", "200")
    folder = write_shape(tmp_path / "one", Shape(1, ("t0", "t1"), interviews=False, double_coding=False, activity=False))
    with pytest.raises(SystemExit):
        cli.main(["validate", str(folder), "--language", "nl"])
    out = " ".join(capsys.readouterr().out.split())
    assert "één casus in de data (Slotervaart): er valt niets tussen casussen te vergelijken" in out
    assert "alle casussen" in out and "casusrapporten voor Slotervaart" in out
    plan = out[out.index("Rapporten die worden uitgevoerd"):]  # the plan (the line above it names the tables read)
    assert not re.search(r"(?i)\bcases?\b|caserapport", plan.replace("01_case_report", "").replace("02_cross_case", ""))

# --- whole runs on a representative subset --------------------------------------------------------

RUN_SHAPES = [
    Shape(1, ("t0", "t1"), interviews=False, double_coding=False, activity=False, header_only_optional=True),
    Shape(1, ("t0", "t1", "t2"), interviews=True, double_coding=True, activity=True),
    Shape(2, ("t0", "t1"), interviews=True, double_coding=False, activity=True),
    Shape(2, ("t0", "t2"), interviews=False, double_coding=False, activity=False),
    Shape(3, ("t0", "t1"), interviews=True, double_coding=True, activity=False),
]

TRACEBACK = re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+|\w+Error: ")


@pytest.mark.slow
@pytest.mark.parametrize("shape", RUN_SHAPES, ids=lambda shape: shape.name)
def test_every_report_runs_on_what_the_data_allow(shape, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    folder = write_shape(tmp_path / "raw" / shape.name, shape)
    with pytest.raises(SystemExit) as stopped:
        cli.main(["run", str(folder), "--out", str(tmp_path / "runs"), "--processed", str(tmp_path / "processed")])
    captured = capsys.readouterr()
    assert stopped.value.code == 0, captured.err[-3000:]
    run_dir = resolve_run_dir(tmp_path / "runs" / "latest")
    manifest = json.loads((run_dir / "manifest.json").read_text())
    ran = {entry["notebook"] for entry in manifest["notebooks"]}
    skipped = expected_skips(shape)
    assert ran == {"01_case_report", "02_cross_case", "03_joint_display"} - {nb for nb, section in skipped if section is None}
    assert all(entry["status"] == "ok" for entry in manifest["notebooks"])
    index = (run_dir / "index.html").read_text(encoding="utf-8")
    for (notebook, section), reason in skipped.items():
        if section is None:  # a notebook that did not run: the index says why
            assert term(f"plan.reason.{reason}", "en", case="Slotervaart").replace("'", "&#39;") in index
    reports = sorted((run_dir / "html").glob("*.html"))
    assert reports
    for report in reports:
        text = report.read_text(encoding="utf-8")
        if not report.stem.endswith("-code"):
            assert not TRACEBACK.search(text), (report.name, TRACEBACK.search(text).group(0))
    for (notebook, section), reason in skipped.items():
        if notebook == "01_case_report":
            html = (run_dir / "html" / "01_case_report-slotervaart.html").read_text(encoding="utf-8")
            words = term(f"plan.reason.{reason}", "en", case="Slotervaart", n="2")
            assert words.replace("'", "&#39;") in html or words in html


def _renamed(folder: Path, old: str, new: str, name: str) -> None:
    """The case `old` of a written shape as `new` with the display name `name` (as an evaluator's own case)."""
    for path in folder.glob("*.csv"):
        text = path.read_text(encoding="utf-8")
        if path.stem == "cases":
            lines = text.splitlines()
            lines[1] = lines[1].replace(f"{old},Slotervaart,", f"{new},{name},", 1)
            text = "\n".join(lines) + "\n"
        path.write_text(re.sub(rf"\b{old}\b", new, text), encoding="utf-8")


@pytest.mark.slow
def test_a_case_of_ones_own_is_named_by_its_display_name_in_dutch(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    shape = Shape(1, ("t0", "t1"), interviews=True, double_coding=False, activity=True)
    folder = write_shape(tmp_path / "raw", shape)
    _renamed(folder, "slotervaart", "kolenkit", "Kolenkitbuurt")
    # role and wave labels of one's own (optional roles.csv / waves.csv): Dutch reports use label_nl
    (folder / "roles.csv").write_text("role,label,label_nl\nprofessional,youth worker,jeugdwerker\n", encoding="utf-8")
    (folder / "waves.csv").write_text("wave,label,label_nl\nt0,intake,intake (januari)\nt1,midpoint,tussenmeting (juni)\n",
                                      encoding="utf-8")
    with pytest.raises(SystemExit) as stopped:
        cli.main(["run", "--data", str(folder), "--language", "nl", "--out", str(tmp_path / "runs"),
                  "--processed", str(tmp_path / "processed")])
    captured = capsys.readouterr()
    assert stopped.value.code == 0, captured.err[-3000:]
    assert "één casus in de data (Kolenkitbuurt)" in " ".join(captured.err.split())
    run_dir = resolve_run_dir(tmp_path / "runs" / "latest")
    report = (run_dir / "html" / "01_case_report-kolenkit.html").read_text(encoding="utf-8")
    assert "Kolenkitbuurt" in report and "geen dubbel gecodeerde interviews voor Kolenkitbuurt" in report
    sentences = re.findall(r'<p class="sentence">(.*?)</p>', report, flags=re.S)  # the report's prose (report/document.py)
    assert sentences and not any("kolenkit" in text.replace("Kolenkitbuurt", "") for text in sentences)
    sidecar = json.loads((run_dir / "tables" / "kolenkit-sample.json").read_text(encoding="utf-8"))
    assert "Kolenkitbuurt" in sidecar["caption"]
    index = (run_dir / "index.html").read_text(encoding="utf-8")
    assert "één casus in de data (Kolenkitbuurt)" in index
    assert '<html lang="nl">' in index and '<h2 id="reports">Rapporten</h2>' in index and "Figures" not in index
    assert "intake (januari)" in report and "tussenmeting (juni)" in report and "jeugdwerker" in report
    captions = [figure["caption"] for figure in json.loads((run_dir / "outputs.json").read_text(encoding="utf-8"))["figures"]]
    assert any("t0 = intake (januari)" in caption and "jeugdwerker" in caption for caption in captions), captions
