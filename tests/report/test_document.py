"""The report a funder reads (issue 15): formatted tables, the self-contained page, its words and its sentences.

`report.publishing.format_table` and `report.document.render_report` are tested on generated tables;
the case report as a run writes it (`RunContext.write_report`) is built from the example data in
English and Dutch and read as text: no English glossary word in the Dutch report, no ``snake_case``
identifier in either, no missing-value text, no script and nothing loaded from the network.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from example_data import processed_example
from glossary_check import SNAKE_CASE, english_in, english_only_words
from ponzoni_eval import report
from ponzoni_eval.report import quality, sections
from ponzoni_eval.report.document import ReportItem, ReportMeta, ReportTable, render_report
from ponzoni_eval.report.publishing import format_table
from ponzoni_eval.report.plots import display_text

CASE = "poelenburg_b"


# --- the formatted table ----------------------------------------------------------------------


def result_rows(n: int = 4, *, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "analysis": "pre_post",
        "case_id": "site_001",
        "group": [f"role={r}, t0->t2" for r in ("professional", "migrant_org") * (n // 2)],
        "outcome": ["trust", "own_willingness"] * (n // 2),
        "test": ["paired_t", "wilcoxon_signed_rank"] * (n // 2),
        "n": rng.integers(5, 40, n).astype("float64"),
        "statistic": rng.normal(size=n),
        "df": [20.0, np.nan] * (n // 2),
        "p_value": [1.0, 0.00004, 0.0061, 0.5][:n],
        "p_adjusted": [1.0, 0.0002, 0.0243, np.nan][:n],
        "effect_size": [0.9, -0.1234, np.nan, 0.5][:n],
        "effect_name": ["hedges_g_av", "rank_biserial", "hedges_g_av", "cramers_v"][:n],
        "ci_low": [0.2, -0.5, np.nan, 0.1][:n],
        "ci_high": [1.4, 0.3, np.nan, 0.8][:n],
        "min_detectable": np.nan,
        "note": ["Feldt (1965) CI; 2 item(s)", None, "not estimated: too few pairs", None][:n],
    })


def test_a_table_reads_as_a_reader_reads_it_in_english():
    formatted = format_table(result_rows(), language="en")
    frame = formatted.frame
    assert list(frame.columns) == ["Group", "Outcome", "Test", "n", "p", "p (Holm)", "Effect size [95% CI]"]
    assert list(frame.index) == [0, 1, 2, 3]  # no data index is shown (the renderer writes no index column)
    assert frame["p"].tolist() == ["> .999", "< .001", ".006", ".500"]  # never p = .000 or 1.000
    assert frame["p (Holm)"].tolist() == ["> .999", "< .001", ".024", "–"]
    assert frame.loc[0, "Effect size [95% CI]"] == "Hedges' g (average SD) = 0.90 [0.20, 1.40]"
    assert frame.loc[1, "Effect size [95% CI]"] == "rank-biserial r = -0.12 [-0.50, 0.30]"
    assert frame.loc[2, "Effect size [95% CI]"] == "–"  # not estimated: a dash, never nan, never an empty name
    assert frame.loc[3, "Effect size [95% CI]"] == "Cramér's V = 0.50 [0.10, 0.80]"
    assert frame.loc[0, "Group"] == "professional, before → follow-up" and frame.loc[1, "Group"] == "migrant organisation, before → follow-up"
    assert frame.loc[1, "Outcome"] == "own willingness to collaborate" and frame.loc[0, "Test"] == "paired t-test"
    assert formatted.notes == ("note",)  # method notes stay in the full table; the report says so
    # constant (analysis, case), all-empty (min_detectable) and bookkeeping columns (statistic, df) are left out
    text = " ".join(frame.astype(str).to_numpy().ravel())
    assert not SNAKE_CASE.search(text) and not re.search(r"\b(nan|NaN|None)\b", text)


def test_a_dutch_table_has_decimal_commas_and_dutch_labels():
    frame = format_table(result_rows(), language="nl").frame
    assert list(frame.columns) == ["Groep", "Uitkomst", "Toets", "n", "p", "p (Holm)", "Effectgrootte [95%-BI]"]
    assert frame["p"].tolist() == ["> ,999", "< ,001", ",006", ",500"]
    assert frame.loc[0, "Effectgrootte [95%-BI]"] == "Hedges' g (gemiddelde SD) = 0,90 [0,20; 1,40]"
    assert frame.loc[1, "Groep"] == "migrantenorganisatie, voormeting → follow-up" and frame.loc[0, "Toets"] == "gepaarde t-toets"


def test_suppressed_counts_read_fewer_than_the_threshold_never_zero_or_empty():
    published = pd.DataFrame({
        "case_id": ["a", "a", "a"], "code": ["we_they_thinking", "growing_trust", "unknown_code"],
        "n_with_code": [np.nan, 7.0, 0.0], "n_with_code_flag": ["<5", "", ""], "n_at_risk": [17, 17, 17],
        "percent": [np.nan, 41.18, 0.0], "percent_flag": ["x", "", ""],
    })
    frame = format_table(published, language="nl", min_cell=5).frame
    assert frame["Genoemd"].tolist() == ["<5", "7", "0"]
    assert frame["%"].tolist() == ["·", "41%", "0%"]
    assert frame["Code"].tolist() == ["wij-zij-denken", "groeiend vertrouwen", "unknown code"]
    assert "Casus" not in frame.columns  # one case: said on the title page, not in every row


def test_model_rows_are_left_to_the_full_table():
    rows = result_rows(2).assign(test=["fixed_effect", "contrast"])
    formatted = format_table(rows, language="en")
    assert len(formatted.frame) == 1 and formatted.omitted == 1


# --- the page ----------------------------------------------------------------------------------


class _Text(HTMLParser):
    """The text a reader sees (no style sheet), and the tags and attributes of the page."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("style", "script", "code"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("style", "script", "code"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def read_page(page: str) -> _Text:
    parser = _Text()
    parser.feed(page)
    return parser


def test_the_page_is_self_contained_and_in_the_report_language():
    table = ReportTable("pre_post", "tables/site_001-pre_post.csv", "Change.", result_rows())
    items = [ReportItem("pre_post", sentence="Vertrouwen steeg van 2,8 naar 3,1.", tables=(table,), figure_png=b"\x89PNG fake", figure_caption="Een figuur.")]
    meta = ReportMeta("Casusrapport: Site 1", ("Site 1",), ("2016-01-04", "2017-02-17"), "voorbeeld", 40, 1200,
                      ("SYNTHETISCHE VOORBEELDDATA — geen bevindingen", "Niet echt."), "documents/x.xlsx", 5)
    page = render_report(items, meta, language="nl")
    parsed = read_page(page)
    assert ("html", {"lang": "nl"}) in parsed.tags
    assert not [t for t, _ in parsed.tags if t in ("script", "link", "iframe")]
    sources = [a.get("src") or a.get("href") or "" for _, a in parsed.tags]
    assert not [s for s in sources if re.match(r"(https?:)?//", s)]  # nothing from the network
    text = " ".join(parsed.parts)
    for expected in ("Casusrapport: Site 1", "Samenvatting van de bevindingen", "Vertrouwen steeg van 2,8 naar 3,1.",
                     "2016-01-04 tot en met 2017-02-17", "SYNTHETISCHE VOORBEELDDATA", "Tabel 1.", "Figuur 1.",
                     "Verandering van voormeting tot follow-up per schaal en rol"):
        assert expected in text
    assert "@media print" in page and "size: A4" in page


def test_headers_wrap_between_words_and_the_documents_share_the_reports_style_sheet():
    """Headers never break inside a word ("Ontbreken" / "d": issue 15); a long value in a cell still may, so a table
    never widens the page; the integration's documents (integrate/export.py) have the very same style sheet."""
    from ponzoni_eval import integrate
    from ponzoni_eval._core.stylesheet import document_css

    css = document_css()
    rules = {selector.strip(): body for selector, body in re.findall(r"(?m)^([^{}@/*\n][^{}\n]*)\{([^}]*)\}", css)}
    assert "overflow-wrap: normal" in rules["th"] and "anywhere" not in rules["th"]
    assert "overflow-wrap: anywhere" in rules["td"]
    assert not [s for s, body in rules.items() if "anywhere" in body and "th" in re.split(r"[\s,]+", s)]
    table = ReportTable("pre_post", "tables/x.csv", "Change.", result_rows())
    page = render_report([ReportItem("pre_post", tables=(table,))], ReportMeta("Rapport"), language="nl")
    assert css in page  # and in every document of the integration: tests/integrate/test_integrate.py


def test_the_joint_display_table_shows_its_sentences_as_written_in_a_paragraph_wide_column():
    """The report's joint display (5 columns): written columns are not re-worded ("vs." stays "vs."), an empty
    quantitative cell is a dash, and the meta-inference column takes half the table, not a ribbon of 8 characters."""
    sentence = ("Silence on perception gap (own vs. perceived willingness of the other side) in Poelenburg A: only the "
                "quantitative result speaks to it (g = -1.12 [-1.81, -0.42], p = .001, n = 37).")
    frame = pd.DataFrame({
        "construct": ["perception_gap", "safe_space"], "construct_label": ["Perception gap (own vs. perceived willingness)", "Safe space"],
        "case_id": ["poelenburg_a", "slotervaart"], "quant_short": ["g = -1.12 [-1.81, -0.42]", ""],
        "quant_evidence": ["supportive", "absent"], "qual_evidence": ["absent", "supportive"], "fit_label": ["silence", "silence"],
        "meta_inference": [sentence, sentence.replace("perception gap", "safe space")],
    })
    shown = format_table(frame[["construct_label", "case_id", "quant_short", "fit_label", "meta_inference"]], language="en").frame
    assert shown.iloc[0, 0] == "Perception gap (own vs. perceived willingness)" and shown.iloc[0, -1] == sentence
    assert shown.iloc[1, 2] == "–"
    page = render_report([ReportItem("joint_display", tables=(ReportTable("joint_display", "tables/joint_display.csv", "Joint display.", frame),))],
                         ReportMeta("Report"), language="en")
    headers = re.findall(r'<th scope="col"[^>]*style="([^"]*)">([^<]*)</th>', page)
    assert [name for _, name in headers] == ["Construct", "Case", "Quantitative result", "Fit", "Meta-inference"]
    assert [style.startswith("width:50%") for style, _ in headers] == [False, False, False, False, True]


# --- the case report as a run writes it ------------------------------------------------------


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    folder = tmp_path_factory.mktemp("processed")
    return folder, processed_example(folder)


def case_report(example, folder: Path, language: str) -> str:
    processed_dir, tables = example
    run = report.open_run(folder, "01_case_report", case_id=CASE)
    scores = sections.scores_for(tables)
    checks = quality.data_quality(tables, CASE)
    run.save_table(checks["sample"], "sample", caption="Participants per role.")
    run.save_table(checks["response"], "response", caption="Participants who responded.")
    run.save_section(sections.reliability_section(tables, CASE, language=language))
    run.save_section(sections.trajectories_section(scores, CASE, scale="trust", language=language))
    run.save_section(sections.pre_post_section(scores, CASE, scale="trust", before="t0", after="t2", language=language))
    run.save_section(sections.perception_gap_section(scores, CASE, language=language))
    run.save_section(sections.expectations_section(sections.expectation_answers(tables), scores, CASE, wave="t0", seed=3, language=language))
    run.save_section(sections.help_seeking_section(sections.monthly_for(tables), CASE, language=language))
    run.save_section(sections.theme_prevalence_section(tables, CASE, min_cell=run.min_cell, language=language))
    run.save_section(sections.agreement_section(tables, CASE, seed=3, n_boot=100, language=language))
    written = run.write_report(tables, processed_dir=processed_dir, language=language)
    assert written == folder / "html" / f"01_case_report-{CASE}.html"
    assert (folder / "documents" / f"{CASE}-01_case_report_tables.xlsx").is_file()
    return written.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def reports(example, tmp_path_factory):
    return {language: case_report(example, tmp_path_factory.mktemp(f"run_{language}"), language) for language in ("en", "nl")}


def test_the_dutch_report_has_no_english_glossary_word_and_no_identifier(reports):
    assert {"between", "participants", "interviewed"} <= english_only_words()  # the check has teeth
    text = " ".join(read_page(reports["nl"]).parts)
    assert english_in(text) == [], "English words in the Dutch report"
    assert SNAKE_CASE.findall(text) == []


def test_the_english_report_has_no_identifier_and_no_missing_value_text(reports):
    for language, page in reports.items():
        parsed = read_page(page)
        text = " ".join(parsed.parts)
        assert SNAKE_CASE.findall(text) == [], language
        assert not re.search(r"\b(nan|NaN|None|NaT)\b", text), language
        assert "Traceback" not in text and "Warning" not in text
        assert not [t for t, _ in parsed.tags if t == "script"]
        assert ("html", {"lang": language}) in parsed.tags


def test_the_report_says_the_case_by_its_display_name_and_gives_the_period(reports, example):
    _, tables = example
    name = tables["cases"].set_index("case_id").loc[CASE, "name"]
    text = " ".join(read_page(reports["en"]).parts)
    assert f"Case report: {name}" in text
    assert re.search(r"Period \d{4}-\d{2}-\d{2} to \d{4}-\d{2}-\d{2}", text)
    assert "SYNTHETIC EXAMPLE DATA" in text and "Summary of findings" in text


# --- sentences that never contradict their table (issue 15, item 4, outside integrate/) -----------


def test_suppressed_theme_counts_read_fewer_than_five_never_as_no_interviews(example):
    _, tables = example
    segments = tables["coded_segments"]
    in_case = segments.loc[segments["case_id"].astype("str") == CASE]
    # Keep, for each code, the segments of at most three participants: every count is below 5.
    ranked = in_case.assign(rank=in_case.groupby("code", observed=True)["participant_id"].transform(
        lambda ids: ids.astype("str").map({p: i for i, p in enumerate(dict.fromkeys(ids.astype("str")))})))
    thin = {**tables, "coded_segments": ranked.loc[ranked["rank"] < 3].drop(columns="rank")}
    for language, expected, wrong in (("en", "fewer than 5", "no coded interviews"), ("nl", "minder dan 5", "geen gecodeerde interviews")):
        section = sections.theme_prevalence_section(thin, CASE, min_cell=5, language=language)
        assert expected in section.sentence and wrong not in section.sentence
        interviewed = int(report.published(section, 5)["theme_prevalence_case"]["n_at_risk"].max())
        assert f" {interviewed} " in section.sentence


def test_agreement_from_few_double_coded_interviews_carries_a_warning(example):
    _, tables = example
    segments = tables["coded_segments"]
    in_case = segments.loc[segments["case_id"].astype("str") == CASE]
    coders = in_case.groupby("document_id", observed=True)["coder"].nunique()
    double = [str(d) for d in coders[coders > 1].index]
    assert len(double) >= 3
    second = in_case["coder"].astype("str") != in_case.groupby("document_id", observed=True)["coder"].transform("first").astype("str")
    dropped = in_case.loc[second & ~in_case["document_id"].astype("str").isin(double[:2])].index
    few = {**tables, "coded_segments": segments.drop(index=dropped)}
    section = sections.agreement_section(few, CASE, seed=3, n_boot=50)
    assert "only 2 interviews were coded by both coders (fewer than 10)" in section.sentence
    section_nl = sections.agreement_section(few, CASE, seed=3, n_boot=50, language="nl")
    assert "slechts 2 interviews zijn door beide codeurs gecodeerd (minder dan 10)" in section_nl.sentence


_NUMBER = re.compile(r"(?<![\w.,])-?(?:\d+(?:[.,]\d+)?|[.,]\d+)(?![\w])")


def _numbers_in(sentence: str) -> list[tuple[float, int]]:
    """Every number of a sentence with its decimals (``,092`` -> (0.092, 3)); wave codes (t0) are not numbers."""
    found = []
    for token in _NUMBER.findall(sentence):
        text = token.replace(",", ".")
        decimals = len(text.split(".")[1]) if "." in text else 0
        found.append((float(text), decimals))
    return found


@pytest.mark.parametrize("language", ["en", "nl"])
def test_every_number_in_a_sentence_is_a_number_of_its_section_tables(example, language):
    """A sentence never states a number its own (published) tables do not hold: each number, at the precision
    the sentence prints it, is a value of the section's tables, or one of the report's fixed thresholds."""
    _, tables = example
    scores = sections.scores_for(tables)
    built = [
        sections.reliability_section(tables, CASE, language=language),
        sections.trajectories_section(scores, CASE, scale="trust", language=language),
        sections.pre_post_section(scores, CASE, scale="trust", before="t0", after="t2", language=language),
        sections.perception_gap_section(scores, CASE, language=language),
        sections.expectations_section(sections.expectation_answers(tables), scores, CASE, wave="t0", seed=3, language=language),
        sections.help_seeking_section(sections.monthly_for(tables), CASE, language=language),
        sections.theme_prevalence_section(tables, CASE, min_cell=5, language=language),
        sections.agreement_section(tables, CASE, seed=3, n_boot=100, language=language),
    ]
    fixed = {95.0, 0.001, 0.999, 5.0, 0.70, float(sections.MIN_DOUBLE_CODED)}
    for section in built:
        frames = list(report.published(section, 5).values())
        values = np.concatenate([frame.select_dtypes("number").to_numpy(dtype="float64").ravel() for frame in frames])
        values = values[np.isfinite(values)]
        # A sentence may also count rows ("over 20 estimates; 0 of them below .70"): the number of values of a column.
        counts = {0.0} | {float(frame[c].notna().sum()) for frame in frames for c in frame.columns} | {float(len(frame)) for frame in frames}
        # The name of a statistic is no result: "(Spearman-Brown for 2-item scales)" holds a 2 that is a label.
        sentence = re.sub(r"Spearman-Brown [^)]*", "Spearman-Brown", section.sentence)
        for number, decimals in _numbers_in(sentence):
            if number in fixed or (decimals == 0 and number in counts):
                continue
            step = 10.0 ** -decimals
            assert np.any(np.abs(values - number) <= step / 2 + 1e-9), f"{number} in {section.sentence!r} is in none of its tables"


def test_a_students_own_section_is_titled_and_captioned_with_her_own_words(tmp_path):
    report.add_words("waiting_times", {
        "en": {"title": "Waiting times", "caption": "Weeks on the waiting list per family."},
        "nl": {"title": "Wachttijden", "caption": "Weken op de wachtlijst per gezin."},
    })
    run = report.open_run(tmp_path, "my_report")
    run.save_table(pd.DataFrame({"role": ["parent", "professional"], "n": [12, 3], "mean": [4.25, 2.0]}), "waiting_times", caption="x")
    page = run.write_report(language="nl").read_text(encoding="utf-8")
    text = " ".join(read_page(page).parts)
    assert "Wachttijden" in text and "Weken op de wachtlijst per gezin." in text
    assert "ouder" in text and "4,25" in text and "Rapport" in text


# --- the cross-case report's tables in Dutch (issue 15 leftover: the issue-17 tables) -------------


@pytest.fixture(scope="module")
def cross_case_sections(example):
    _, tables = example
    scores = sections.scores_for(tables)
    built = {}
    for language in ("en", "nl"):
        built[language] = [
            sections.cross_case_trajectories_section(scores, None, scale="trust", before="t0", after="t2", language=language),
            sections.mixed_model_section(scores, None, scale="trust", before="t0", after="t2", language=language),
            sections.kruskal_dunn_section(scores, None, scale="trust", before="t0", after="t2", seed=3, language=language),
            sections.help_seeking_cross_section(sections.monthly_for(tables), None, language=language),
            sections.theme_heatmap_section(tables, None, seed=3, min_cell=5, language=language),
            sections.expectations_cross_section(sections.expectation_answers(tables), scores, None, wave="t0", seed=3, language=language),
        ]
    return built


def test_every_cross_case_table_reads_in_dutch_with_a_dutch_caption(cross_case_sections):
    """Every table of the cross-case report as the report formats it (also those only named with their file: the
    mixed model's fit and type-III F rows), in Dutch: no English glossary word, no identifier, and a caption from
    the words table (never the section's English caption)."""
    from ponzoni_eval._core.words import terms

    captions = terms("report.caption", "nl")
    seen = set()
    for section in cross_case_sections["nl"]:
        for key, frame in report.published(section, 5).items():
            name = section.specs[key].name
            assert name in captions, f"no Dutch caption for {name}"
            text = " ".join(format_table(frame, language="nl").frame.astype(str).to_numpy().ravel()) + " " + captions[name]
            seen.add(name)
            assert english_in(text) == [], name
            assert SNAKE_CASE.findall(text) == [], name
    # the tables of issue 17 whose rows carried English: the sensitivity variants, the placebo, the model fit and F tests
    assert {"help_seeking_sensitivity", "mixed_model", "help_seeking_by_case"} <= seen
    mixed = format_table(report.published(cross_case_sections["nl"][1], 5)["table"], language="nl").frame
    assert {"modelfit", "F-toets (type III)"} <= set(mixed["Toets"]) and "meting × casus" in set(mixed["Groep"])
    sensitivity = format_table(report.published(cross_case_sections["nl"][3], 5)["help_seeking_sensitivity"], language="nl").frame
    assert "maand 0 weggelaten" in set(sensitivity["Groep"]) and "placebo-niveauverandering (voor de start)" in set(sensitivity["Toets"])


def _clauses(sentence: str) -> list[str]:
    """A sentence's clauses: split at "; " outside parentheses (a label may hold "(code; Holm-adjusted p)")."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(sentence):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == ";" and depth == 0 and sentence[i + 1: i + 2] == " ":
            parts.append(sentence[start:i])
            start = i + 2
    return [*parts, sentence[start:]]


def _row_values(rows: pd.DataFrame) -> np.ndarray:
    values = rows.select_dtypes("number").to_numpy(dtype="float64").ravel()
    return values[np.isfinite(values)]


def _holds(values: np.ndarray, number: float, decimals: int) -> bool:
    return bool(np.any(np.abs(values - number) <= 10.0 ** -decimals / 2 + 1e-9))


@pytest.mark.parametrize("language", ["en", "nl"])
def test_every_cross_case_sentence_reads_the_rows_it_describes(cross_case_sections, language):
    """The cross-case report's sentences (issue 15, item 4): each clause names one row of its section's published
    table (a case, a pair of cases, all cases) and every number it prints, at the precision printed, is a value of
    that row (not of another case's row), or one of the fixed thresholds (95% CI, p < .001, p > .999); every
    described row has its clause. One-row sentences (the pooled Wald test, the code that differs most) read the
    row that decides them."""
    from ponzoni_eval._core.words import term, terms

    case_name = {str(k): str(v) for k, v in terms("values.case", language).items()}
    fixed = {95.0, 0.001, 0.999}
    trajectories, mixed, ranks, help_seeking, themes, expectations = cross_case_sections[language]

    def tables_of(section):
        return report.published(section, 5)

    means = tables_of(trajectories)["table"]
    means = means.loc[(means["scale"] == "trust") & means["wave"].isin(["t0", "t2"])]
    change = tables_of(mixed)["table"]
    change = change.loc[(change["test"] == "contrast") & (change["effect_name"] == "change") & (change["outcome"] == "trust")]
    kruskal = tables_of(ranks)["table"]
    kruskal = kruskal.loc[kruskal["outcome"] == "trust"]
    pair_name = {f"{a} - {b}": f"{case_name[a]} - {case_name[b]}" for a in case_name for b in case_name}
    wald = tables_of(help_seeking)["table"]
    by_case = wald.loc[wald["test"] == "its_level_change"]
    wald = wald.loc[wald["test"] == "wald_level_change_difference"]
    theme_rows = tables_of(themes)["table"].dropna(subset=["p_adjusted"]).sort_values(["p_adjusted", "outcome"], kind="stable")
    top = theme_rows.iloc[[0]]
    mismatch = tables_of(expectations)["table"]
    mismatch = mismatch.loc[(mismatch["analysis"] == "expectation_mismatch") & mismatch["group"].str.startswith("wave=t0")]
    described = {
        "trajectories": (trajectories.sentence, {case_name[c]: rows for c, rows in means.groupby("case_id", sort=False)}),
        "mixed model": (mixed.sentence, {case_name[c]: rows for c, rows in change.groupby("case_id", sort=False)}),
        "Kruskal-Wallis and Dunn": (ranks.sentence, {
            (term("sections.all_cases", language) if test == "kruskal_wallis" else pair_name[group]): kruskal.loc[
                (kruskal["test"] == test) & (kruskal["group"] == group)]
            for test, group in kruskal[["test", "group"]].itertuples(index=False)}),
        # Two sentences: the pooled Wald test, then each case's level change (with the plan-adjusted p when a plan
        # is given; this fixture has none, so the p shown is the row's own).
        "help-seeking": (help_seeking.sentence.split(". ", 1)[0] + ".", {"": wald}),
        "help-seeking by case": (help_seeking.sentence.split(". ", 1)[1], {
            case_name[c]: rows for c, rows in by_case.groupby("case_id", sort=False)}),
        "themes": (themes.sentence, {display_text(top["outcome"].iloc[0], language, prefer="code"): top}),
        "expectations": (expectations.sentence, {case_name[c]: rows for c, rows in mismatch.groupby("case_id", sort=False)}),
    }
    assert len(described["help-seeking by case"][1]) == 3
    assert len(described["mixed model"][1]) == 3 and len(described["Kruskal-Wallis and Dunn"][1]) == 4  # 3 cases, 3 pairs
    for what, (sentence, rows_by_name) in described.items():
        clauses = _clauses(sentence)
        assert len(clauses) == len(rows_by_name), (what, sentence)
        matched = []
        for clause in clauses:
            names = sorted((name for name in rows_by_name if name in clause), key=len, reverse=True)
            assert names, f"{what}: {clause!r} names none of its rows {list(rows_by_name)}"
            values = _row_values(rows_by_name[names[0]])
            matched.append(names[0])
            numbers = _numbers_in(re.sub(r"\b[tT]\d\b", "", clause))
            assert numbers, (what, clause)
            for number, decimals in numbers:
                assert number in fixed or _holds(values, number, decimals), f"{what}: {number} in {clause!r} is not in the row of {names[0]!r}"
        assert sorted(matched) == sorted(rows_by_name), (what, sentence)


def test_a_table_whose_columns_share_a_label_renders():
    """Two columns with one label ("Construct": the id and the label; before the fix "Missing" twice in the
    missingness table) crashed the report of one-case data with "'DataFrame' object has no attribute 'str'"."""
    frame = pd.DataFrame({"construct": ["trust", "safe_space"], "construct_label": ["Mutual trust", "Safe space"],
                          "meta_inference": ["A sentence long enough to be prose in a report table, " * 2, "Short."]})
    page = render_report([ReportItem("x", tables=(ReportTable("x", "tables/x.csv", "Two labels.", frame),))], ReportMeta("Report"), language="en")
    assert page.count(">Construct</th>") == 2 and "Mutual trust" in page


def test_the_missingness_table_names_its_two_columns_apart():
    from ponzoni_eval._core.words import terms

    for language in ("en", "nl"):
        columns = terms("report.columns", language)
        assert columns["n_missing"] != columns["share_missing"]
