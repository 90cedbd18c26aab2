"""Figures: they render without warnings (pytest turns warnings into errors) for
1, 3 and 30 cases and for empty groups, their captions state the right n in
the chosen language, a missing column raises DataError naming it, `save` is
byte-identical, and the fixed colours are used.

All input frames are made here: hand-made rows, or seeded simulations shaped
like the contracts in docs/architecture.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex

from ponzoni_eval.report import plots
from ponzoni_eval._core.errors import DataError
from ponzoni_eval._core.words import term
from ponzoni_eval._core.vocabulary import ROLES, WAVES

KNOWN_CASES = ["slotervaart", "poelenburg_a", "poelenburg_b"]
CASE_COUNTS = [1, 3, 30]


def case_ids(count: int) -> list[str]:
    """The three study cases first, then many-site ids (site_004 ...)."""
    return (KNOWN_CASES + [f"site_{i:03d}" for i in range(4, count + 1)])[:count]


def simulate_scores(n_cases: int, *, per_role: int = 4, seed: int = 1) -> pd.DataFrame:
    """Scale scores: participant_id, case_id, role, wave, scale, value (1-5), with a gap that shrinks."""
    rng = np.random.default_rng(seed)
    people = pd.MultiIndex.from_product([case_ids(n_cases), ROLES, range(per_role)], names=["case_id", "role", "k"]).to_frame(index=False)
    people["participant_id"] = people["case_id"] + "_" + people["role"] + "_" + people["k"].astype(str)
    scales = pd.DataFrame({"scale": ["trust", "own_willingness", "perceived_willingness"]})
    waves = pd.DataFrame({"wave": list(WAVES)})
    rows = people.merge(waves, how="cross").merge(scales, how="cross")
    wave_step = rows["wave"].map({"t0": 0.0, "t1": 0.5, "t2": 0.8})
    base = np.where(rows["scale"] == "perceived_willingness", 2.2 + wave_step, 3.6 + 0.2 * wave_step)
    rows["value"] = np.clip(base + rng.normal(0, 0.6, len(rows)), 1, 5).round(2)
    return rows.drop(columns="k")


def simulate_its(n_cases: int, *, seed: int = 2) -> pd.DataFrame:
    """A fitted interrupted-time-series frame: 12 months before and 12 after the start per case."""
    rng = np.random.default_rng(seed)
    grid = pd.MultiIndex.from_product([case_ids(n_cases), range(-12, 12)], names=["case_id", "relative_month"]).to_frame(index=False)
    grid["month"] = pd.Timestamp("2016-01-01") + pd.to_timedelta(grid["relative_month"] + 12, unit="D") * 0
    grid["month"] = (pd.Period("2016-01", freq="M") + (grid["relative_month"] + 12)).map(lambda p: p.to_timestamp())
    post = grid["relative_month"] >= 0
    fitted = np.exp(1.0 + 0.01 * grid["relative_month"] + np.where(post, 0.5 + 0.03 * grid["relative_month"], 0.0))
    counterfactual = np.exp(1.0 + 0.01 * grid["relative_month"])
    grid["count"] = rng.poisson(fitted)
    grid["fitted"] = fitted
    grid["fitted_low"] = fitted * 0.8
    grid["fitted_high"] = fitted * 1.25
    grid["counterfactual"] = np.where(post, counterfactual, np.nan)
    grid["counterfactual_low"] = grid["counterfactual"] * 0.75
    grid["counterfactual_high"] = grid["counterfactual"] * 1.3
    return grid


def simulate_prevalence(n_cases: int, *, seed: int = 3) -> pd.DataFrame:
    """Case x code prevalence with small cells suppressed (n < 5)."""
    rng = np.random.default_rng(seed)
    codes = ["trust_grows", "we_they_thinking", "safe_space", "bridge_to_parents", "fear_of_youth_care"]
    grid = pd.MultiIndex.from_product([case_ids(n_cases), codes], names=["case_id", "code"]).to_frame(index=False)
    grid["n_at_risk"] = 12
    grid["n"] = rng.integers(0, 13, len(grid))
    grid["pct"] = 100 * grid["n"] / grid["n_at_risk"]
    grid["suppressed"] = grid["n"].between(1, 4)
    grid.loc[grid["suppressed"], ["n", "pct"]] = np.nan
    return grid


def simulate_rate_ratios(n_cases: int, *, seed: int = 4) -> pd.DataFrame:
    """Help-seeking rate ratios per case plus a pooled row, in the standard result shape."""
    from ponzoni_eval._core.results import result_frame

    rng = np.random.default_rng(seed)
    cases = case_ids(n_cases) + ["all"]
    log_rr = rng.normal(0.4, 0.2, len(cases))
    half = rng.uniform(0.1, 0.4, len(cases))
    rows = [
        dict(
            analysis="help_seeking_its",
            case_id=c,
            outcome="parenting_question_to_youth_team",
            test="poisson_its",
            n=24,
            effect_size=float(np.exp(b)),
            effect_name="rate_ratio",
            ci_low=float(np.exp(b - h)),
            ci_high=float(np.exp(b + h)),
            p_value=0.01,
            p_adjusted=0.03,
        )
        for c, b, h in zip(cases, log_rr, half)
    ]
    return result_frame(rows)


def simulate_agreement(n_codes: int = 6, *, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    codes = [f"code_{i}" for i in range(n_codes)]
    frame = pd.MultiIndex.from_product([codes, ["cohen_kappa", "krippendorff_alpha"]], names=["code", "statistic"]).to_frame(index=False)
    frame["estimate"] = rng.uniform(0.5, 0.95, len(frame))
    frame["ci_low"] = frame["estimate"] - 0.15
    frame["ci_high"] = np.minimum(frame["estimate"] + 0.1, 1.0)
    frame["n_units"] = 40
    return frame


def simulate_expectations(n_cases: int, *, seed: int = 6) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    grid = pd.MultiIndex.from_product(
        [case_ids(n_cases), ["professional", "migrant_org"], ["strengthen_organisation", "bridge_to_parents", "both"]],
        names=["case_id", "role", "expectation"],
    ).to_frame(index=False)
    grid["n"] = rng.integers(0, 8, len(grid))
    return grid


def render(figure: plots.Figure, tmp_path) -> dict:
    """Draw to PNG and SVG (this is where matplotlib warns, if it does)."""
    assert isinstance(figure, plots.Figure)
    return plots.save(figure, tmp_path / figure.name, dpi=40)


# --- style, words, colours --------------------------------------------------------


def test_fixed_case_and_role_colours_and_fallback_cycle():
    colours = plots.palette("case", ["poelenburg_b", "slotervaart", "site_001", "site_002", "poelenburg_a"])
    assert colours["slotervaart"] == plots.OKABE_ITO["blue"]
    assert colours["poelenburg_a"] == plots.OKABE_ITO["vermillion"]
    assert colours["poelenburg_b"] == plots.OKABE_ITO["bluish_green"]
    # Unknown cases never take a colour a known case in the same figure already has.
    assert {colours["site_001"], colours["site_002"]}.isdisjoint(set(plots.CASE_COLOURS.values()))
    assert colours["site_001"] != colours["site_002"]
    roles = plots.palette("role", list(ROLES))
    assert roles == {"professional": "#E69F00", "migrant_org": "#56B4E9", "parent": "#CC79A7"}
    many = plots.palette("case", [f"site_{i:03d}" for i in range(300)])
    assert len(many) == 300 and set(many.values()) <= set(plots.OKABE_ITO.values())


def test_its_panels_draw_each_case_in_its_fixed_colour():
    figure = plots.help_seeking_its(simulate_its(3))
    titles = {ax.get_title(loc="left"): ax for ax in figure.fig.axes}
    for case, name in [("slotervaart", "Slotervaart"), ("poelenburg_a", "Poelenburg A"), ("poelenburg_b", "Poelenburg B")]:
        line_colours = {to_hex(line.get_color()).upper() for line in titles[name].get_lines()}
        assert plots.CASE_COLOURS[case] in line_colours


def test_both_languages_have_the_same_words():
    en, nl = plots.LABELS["en"], plots.LABELS["nl"]
    assert en.keys() == nl.keys()
    for kind in en:
        assert en[kind].keys() == nl[kind].keys(), kind
    assert plots.label("wave", "t1", "nl") == "na gezamenlijk doel"
    assert plots.label("wave", "t0", "en") == "before"
    assert plots.label("case", "site_017", "nl") == "site 017"  # unknown keys read with spaces for underscores


def test_unknown_language_is_a_data_error():
    with pytest.raises(DataError, match="language"):
        plots.trajectories(simulate_scores(1), scale="trust", language="fr")


def test_theme_sets_the_deterministic_svg_settings_and_restores_them():
    import matplotlib as mpl

    before = mpl.rcParams["svg.hashsalt"]
    with plots.theme():
        assert mpl.rcParams["svg.hashsalt"] == "ponzoni_eval"
        assert mpl.rcParams["font.sans-serif"] == ["DejaVu Sans"]
    assert mpl.rcParams["svg.hashsalt"] == before


def test_save_writes_byte_identical_png_and_svg(tmp_path):
    figure = plots.trajectories(simulate_scores(3), scale="trust")
    first = plots.save(figure, tmp_path / "one" / "fig", dpi=50)
    second = plots.save(figure, tmp_path / "two" / "fig", dpi=50)
    for fmt in ("png", "svg"):
        content = first[fmt].read_bytes()
        assert content == second[fmt].read_bytes()
        assert first[fmt].name == f"fig.{fmt}"
    assert first["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = first["svg"].read_text()
    assert "<dc:date>" not in svg
    # The atomic write leaves no temporary files behind.
    assert sorted(p.name for p in (tmp_path / "one").iterdir()) == ["fig.png", "fig.svg"]


def test_a_redrawn_figure_saves_the_same_bytes(tmp_path):
    """Two figures built from the same data are identical files (not only two saves of one)."""
    a = plots.save(plots.forest(simulate_rate_ratios(3)), tmp_path / "a", dpi=50)
    b = plots.save(plots.forest(simulate_rate_ratios(3)), tmp_path / "b", dpi=50)
    assert a["svg"].read_bytes() == b["svg"].read_bytes()
    assert a["png"].read_bytes() == b["png"].read_bytes()


def test_figure_displays_itself_with_the_caption_as_alt_text():
    figure = plots.expectation_bars(simulate_expectations(1))
    assert figure._repr_png_()[:4] == b"\x89PNG"
    html = figure._repr_html_()
    assert 'alt="Primary expectation' in html and "<figcaption>" in html
    assert figure.alt_text == figure.caption


# --- 1. trajectories ------------------------------------------------------------------


@pytest.mark.parametrize("n_cases", CASE_COUNTS)
def test_trajectories_render_and_state_n(n_cases, tmp_path):
    scores = simulate_scores(n_cases)
    figure = plots.trajectories(scores, scale="trust")
    render(figure, tmp_path)
    assert figure.name == "trajectories_trust"
    assert f"n = {12 * n_cases} participants" in figure.caption  # 3 roles x 4 people per case
    assert "95% confidence intervals" in figure.caption
    if n_cases > plots.FACET_LIMIT:
        assert "Compact form" in figure.caption
        assert len(figure.fig.axes) == len(ROLES)
    else:
        assert len(figure.fig.axes) == n_cases


def test_trajectories_caption_counts_participants_with_a_score():
    scores = simulate_scores(1, per_role=2)
    # Half the parents never answered: they must not count.
    unanswered = scores["participant_id"].eq("slotervaart_parent_0")
    scores = scores.assign(value=scores["value"].mask(unanswered))
    figure = plots.trajectories(scores, scale="trust", language="nl")
    assert "n = 5 deelnemers (professional 2, migrantenorganisatie 2, ouder 1)" in figure.caption
    assert "voormeting" in figure.caption


def test_trajectories_show_no_data_panel_for_a_case_without_this_scale(tmp_path):
    scores = simulate_scores(3)
    scores = scores[~((scores["case_id"] == "poelenburg_b") & (scores["scale"] == "trust"))]
    figure = plots.trajectories(scores, scale="trust")
    render(figure, tmp_path)
    empty_panel = next(ax for ax in figure.fig.axes if ax.get_title(loc="left") == "Poelenburg B")
    assert any(t.get_text() == "no data" for t in empty_panel.texts)
    assert "No data for: Poelenburg B." in figure.caption


def test_trajectories_accept_estimated_marginal_means(tmp_path):
    emm = pd.DataFrame(
        {
            "case_id": ["slotervaart"] * 3,
            "wave": list(WAVES),
            "estimate": [3.0, 3.4, 3.6],
            "ci_low": [2.6, 3.0, 3.1],
            "ci_high": [3.4, 3.8, 4.1],
        }
    )
    figure = plots.trajectories(emm, scale="trust", by=None)
    render(figure, tmp_path)
    assert "Estimated marginal means" in figure.caption
    line = figure.fig.axes[0].get_lines()[0]
    assert list(line.get_ydata()) == [3.0, 3.4, 3.6]


def test_trajectories_one_participant_gives_a_point_without_interval(tmp_path):
    scores = simulate_scores(1, per_role=1)
    figure = plots.trajectories(scores, scale="trust")
    render(figure, tmp_path)
    (ax,) = figure.fig.axes
    trust = scores[scores["scale"] == "trust"].pivot_table(index="role", columns="wave", values="value")
    assert len(ax.containers) == len(ROLES)  # one line of points per role
    for role, container in zip(ROLES, ax.containers):
        points, _, (intervals,) = container
        assert list(points.get_ydata()) == list(trust.loc[role, list(WAVES)])  # each point is the one person's score
        assert points.get_color() == plots.palette("role", ROLES)[role]
        assert all(len(segment) == 0 for segment in intervals.get_segments())  # and has no interval
    assert [t.get_text() for t in figure.fig.legends[0].get_texts()] == ["professional", "migrant organisation", "parent"]
    assert "n = 3 participants (professional 1, migrant organisation 1, parent 1)" in figure.caption


def test_trajectories_empty_frame_gives_a_no_data_figure(tmp_path):
    figure = plots.trajectories(simulate_scores(1).iloc[0:0], scale="trust")
    render(figure, tmp_path)
    assert "no data" in figure.caption


@pytest.mark.parametrize("column", ["case_id", "wave", "value", "role"])
def test_trajectories_missing_column_is_named(column):
    with pytest.raises(DataError) as caught:
        plots.trajectories(simulate_scores(1).drop(columns=column), scale="trust")
    assert caught.value.column == column
    assert f"'{column}'" in str(caught.value)


def test_trajectories_unknown_scale_and_wave_are_data_errors():
    scores = simulate_scores(1)
    with pytest.raises(DataError, match="trsut") as caught:
        plots.trajectories(scores, scale="trsut")
    assert caught.value.column == "scale"
    with pytest.raises(DataError) as caught:
        plots.trajectories(scores.assign(wave=scores["wave"].replace("t2", "t3")), scale="trust")
    assert caught.value.column == "wave" and "t3" in str(caught.value)


# --- 2. perception gap ----------------------------------------------------------------------


@pytest.mark.parametrize("n_cases", CASE_COUNTS)
def test_dumbbell_renders_and_states_n(n_cases, tmp_path):
    figure = plots.perception_gap_dumbbell(simulate_scores(n_cases), language="nl")
    render(figure, tmp_path)
    assert f"n = {12 * n_cases} deelnemers" in figure.caption
    assert "Beeldvormingsverschil" in figure.caption


def test_dumbbell_points_are_the_group_means():
    scores = pd.DataFrame(
        {
            "participant_id": ["p1", "p2", "p1", "p2"],
            "case_id": "slotervaart",
            "role": "professional",
            "wave": "t0",
            "scale": ["own_willingness", "own_willingness", "perceived_willingness", "perceived_willingness"],
            "value": [4.0, 5.0, 2.0, 3.0],
        }
    )
    figure = plots.perception_gap_dumbbell(scores)
    ax = figure.fig.axes[0]
    connectors = [line for line in ax.get_lines() if line.get_linestyle() == "-" and len(line.get_xdata()) == 2]
    assert sorted(connectors[0].get_xdata()) == [2.5, 4.5]
    assert "n = 2 participants" in figure.caption


def test_dumbbell_with_a_role_missing_in_one_case(tmp_path):
    scores = simulate_scores(3)
    scores = scores[~((scores["case_id"] == "slotervaart") & (scores["role"] == "parent"))]
    figure = plots.perception_gap_dumbbell(scores)
    render(figure, tmp_path)
    colours = plots.palette("role", ROLES)
    assert [ax.get_title(loc="left") for ax in figure.fig.axes] == ["Slotervaart", "Poelenburg A", "Poelenburg B"]
    drawn = [[c.lines[0].get_color() for c in ax.containers] for ax in figure.fig.axes]
    # Own (filled) and perceived (open) points per role: Slotervaart has no parent block, the others have all three.
    assert drawn[0] == [colours["professional"]] * 2 + [colours["migrant_org"]] * 2
    assert drawn[1] == drawn[2] == [colours[role] for role in ROLES for _ in range(2)]
    assert [c.lines[0].get_markerfacecolor() for c in figure.fig.axes[0].containers] == [colours["professional"], "white", colours["migrant_org"], "white"]
    for ax in figure.fig.axes:  # the role names still head their blocks, also the empty one
        assert [t.get_text() for t in ax.texts] == ["professional", "migrant organisation", "parent"]
    legend = [t.get_text() for t in figure.fig.legends[0].get_texts()]
    assert legend == ["professional", "migrant organisation", "parent", "own willingness (filled)", "perceived willingness of the other side (open)"]
    assert "n = 32 participants (professional 12, migrant organisation 12, parent 8)" in figure.caption


def test_dumbbell_draws_only_the_waves_in_the_data(tmp_path):
    """A before/after design (t0, t1) gets two rows per role block, no empty follow-up (t2) row (issue 14)."""
    scores = simulate_scores(1)
    scores = scores[scores["wave"] != "t2"]
    figure = plots.perception_gap_dumbbell(scores)
    render(figure, tmp_path)
    ax = figure.fig.axes[0]
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks == [plots.label("wave", w, "en") for _ in ROLES for w in ("t0", "t1")]
    assert plots.label("wave", "t2", "en") not in figure.caption and "t1 = " in figure.caption
    lowest = min(ax.get_yticks())
    assert ax.get_ylim()[0] == pytest.approx(lowest - 0.6)  # no room kept below for a missing wave
    full = plots.perception_gap_dumbbell(simulate_scores(1))
    assert len(full.fig.axes[0].get_yticks()) == len(ROLES) * len(WAVES)


@pytest.mark.parametrize("n_cases", [1, 30])
def test_trajectories_show_only_the_waves_in_the_data(n_cases, tmp_path):
    """t0/t1 data: two places on the time axis (also in the compact panels of many cases), none for t2."""
    scores = simulate_scores(n_cases)
    figure = plots.trajectories(scores[scores["wave"] != "t2"], scale="trust", by="role")
    render(figure, tmp_path)
    shown = [ax for ax in figure.fig.axes if ax.get_visible() and ax.axison]
    assert shown
    for ax in shown:
        assert [t.get_text() for t in ax.get_xticklabels()] == [plots._wrap(plots.label("wave", w, "en")) for w in ("t0", "t1")]
        assert ax.get_xlim() == pytest.approx((-0.4, 1.4))
    assert "t2 = " not in figure.caption


def test_dumbbell_needs_both_scales():
    scores = simulate_scores(1)
    with pytest.raises(DataError) as caught:
        plots.perception_gap_dumbbell(scores[scores["scale"] != "perceived_willingness"])
    assert caught.value.column == "scale" and "perceived_willingness" in str(caught.value)
    with pytest.raises(DataError) as caught:
        plots.perception_gap_dumbbell(scores.drop(columns="role"))
    assert caught.value.column == "role"


# --- 3. help-seeking ITS ---------------------------------------------------------------------


@pytest.mark.parametrize("n_cases", CASE_COUNTS)
def test_its_renders_and_states_totals(n_cases, tmp_path):
    fitted = simulate_its(n_cases)
    figure = plots.help_seeking_its(fitted)
    render(figure, tmp_path)
    assert "parenting questions to the youth team" in figure.caption
    assert "2016-01 to 2017-12" in figure.caption
    if n_cases <= plots.FACET_LIMIT:
        assert f"{int(fitted['count'].sum())} in total" in figure.caption
        assert f"{n_cases} case" in figure.caption
    else:
        assert f"for {n_cases} cases" in figure.caption and "median" in figure.caption


def test_its_counterfactual_only_after_the_start_and_empty_case(tmp_path):
    fitted = simulate_its(3)
    # Poelenburg B has no data at all: a no-data panel, not a crash.
    fitted.loc[fitted["case_id"] == "poelenburg_b", ["count", "fitted", "fitted_low", "fitted_high"]] = np.nan
    fitted.loc[fitted["case_id"] == "poelenburg_b", ["counterfactual", "counterfactual_low", "counterfactual_high"]] = np.nan
    figure = plots.help_seeking_its(fitted, language="nl")
    render(figure, tmp_path)
    dashed = [line for line in figure.fig.axes[0].get_lines() if line.get_linestyle() == "--"]
    assert min(dashed[0].get_xdata()) == 0
    assert "Geen gegevens voor: Poelenburg B." in figure.caption
    assert "opvoedvragen aan het jeugdteam" in figure.caption


def test_its_missing_column_and_mixed_events():
    fitted = simulate_its(1)
    with pytest.raises(DataError) as caught:
        plots.help_seeking_its(fitted.drop(columns="counterfactual_low"))
    assert caught.value.column == "counterfactual_low"
    mixed = fitted.assign(event_type=np.where(fitted.index % 2, "joint_meeting", "referral_to_youth_team"))
    with pytest.raises(DataError) as caught:
        plots.help_seeking_its(mixed)
    assert caught.value.column == "event_type"


# --- 4. heatmap -----------------------------------------------------------------------------


@pytest.mark.parametrize("n_cases", CASE_COUNTS)
def test_heatmap_renders_and_states_n(n_cases, tmp_path):
    prevalence = simulate_prevalence(n_cases)
    figure = plots.theme_heatmap(prevalence)
    render(figure, tmp_path)
    assert f"N = {12 * n_cases} participants" in figure.caption
    assert "5 codes" in figure.caption and "'<5'" in figure.caption


@pytest.mark.parametrize("n_codes, n_cases", [(1, 1), (15, 1), (40, 1), (1, 10), (15, 3), (40, 10), (7, 7)])
@pytest.mark.parametrize("language", ["en", "nl"])
def test_heatmap_never_collapses_for_any_number_of_codes_and_cases(n_codes, n_cases, language, tmp_path):
    """Issue 15: one case x 15 codes collapsed its axes (constrained_layout warning) and squashed the colour
    bar; every size from 1 to 40 codes and 1 to 10 cases now draws readable cells and a full colour bar,
    in PNG and SVG, without a warning (the suite turns warnings into errors)."""
    rng = np.random.default_rng(n_codes * 100 + n_cases)
    codes = [f"a_code_with_a_rather_long_name_{i}" if i % 2 else f"c{i}" for i in range(n_codes)]
    rows = []
    for case in case_ids(n_cases):
        for code in codes:
            at_risk = int(rng.integers(5, 30))
            n = int(rng.integers(0, at_risk + 1))
            rows.append({"case_id": case, "code": code, "n": n, "n_at_risk": at_risk, "pct": 100 * n / at_risk})
    figure = plots.theme_heatmap(pd.DataFrame(rows), language=language)
    files = render(figure, tmp_path)
    assert {"png", "svg"} <= set(files)
    heatmap, colour_bar = figure.fig.axes[0], figure.fig.axes[1]
    figure.fig.canvas.draw()
    box = heatmap.get_window_extent()
    dpi = figure.fig.dpi
    assert box.width / n_cases >= 0.25 * dpi and box.height / n_codes >= 0.2 * dpi  # cells at least 6 x 5 mm
    assert colour_bar.get_window_extent().height >= 1.2 * dpi  # a colour bar with room for 0% ... 100%
    ticks = [t.get_text() for t in colour_bar.get_yticklabels()]
    assert ticks[0] == "0%" and ticks[-1] == "100%"
    assert [t.get_text() for t in heatmap.get_yticklabels()][0] == codes[0]
    assert all("_" not in t.get_text() for t in heatmap.get_yticklabels())  # identifiers read as words


def test_heatmap_marks_suppressed_cells_and_prints_n_over_n():
    prevalence = pd.DataFrame(
        {
            "case_id": ["slotervaart", "slotervaart", "poelenburg_a"],
            "theme": ["trust", "safe_space", "trust"],
            "n": [6, np.nan, 9],
            "n_at_risk": [10, 10, 12],
            "pct": [60.0, np.nan, 75.0],
        }
    )
    figure = plots.theme_heatmap(prevalence, value="n", language="nl")
    texts = [t.get_text() for t in figure.fig.axes[0].texts]
    assert "6/10" in texts and "9/12" in texts
    assert "<5" in texts  # the NaN cell is shown as suppressed
    assert "–" in texts  # poelenburg_a x safe_space is not in the frame
    hatched = [c for c in figure.fig.axes[0].collections if c.get_hatch()]
    assert len(hatched) == 1 and len(hatched[0].get_paths()) == 1
    assert "N = 22 deelnemers" in figure.caption and "2 thema's" in figure.caption


def test_heatmap_hides_small_counts_that_reach_it_unsuppressed():
    prevalence = pd.DataFrame({"case_id": ["slotervaart"] * 2, "code": ["trust", "safe_space"], "n": [3, 6],
                               "n_at_risk": [10, 10], "pct": [30.0, 60.0]})
    texts = [t.get_text() for t in plots.theme_heatmap(prevalence, value="n").fig.axes[0].texts]
    assert "<5" in texts and "6/10" in texts and "3/10" not in texts
    texts = [t.get_text() for t in plots.theme_heatmap(prevalence, value="n", min_cell=3).fig.axes[0].texts]
    assert "3/10" in texts and "<3" not in texts


def test_heatmap_all_cells_suppressed(tmp_path):
    prevalence = simulate_prevalence(1).assign(suppressed=True)
    figure = plots.theme_heatmap(prevalence)
    render(figure, tmp_path)
    ax, colour_bar = figure.fig.axes
    assert colour_bar.get_ylabel() == "% of participants"
    mesh, hatched = ax.collections
    assert np.ma.getmaskarray(mesh.get_array()).all()  # no cell is coloured as a percentage ...
    assert hatched.get_hatch() == "///" and len(hatched.get_paths()) == 5  # ... every cell is hatched grey
    assert sorted(t.get_text() for t in ax.texts) == ["<5"] * 5  # and no number is printed, not even the 83% one
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Slotervaart"]  # codes are the rows, cases the columns
    assert len(ax.get_yticklabels()) == 5
    assert "N = 12 participants" in figure.caption and "5 codes" in figure.caption and "'<5'" in figure.caption


def test_heatmap_bad_input():
    prevalence = simulate_prevalence(1)
    with pytest.raises(DataError) as caught:
        plots.theme_heatmap(prevalence.drop(columns="n_at_risk"))
    assert caught.value.column == "n_at_risk"
    with pytest.raises(DataError) as caught:
        plots.theme_heatmap(prevalence.drop(columns="code"))
    assert caught.value.column == "code"
    with pytest.raises(DataError) as caught:
        plots.theme_heatmap(pd.concat([prevalence, prevalence.iloc[:1]]))
    assert "more than one row" in str(caught.value)
    with pytest.raises(DataError) as caught:
        plots.theme_heatmap(prevalence.assign(pct=prevalence["pct"] * 10))
    assert caught.value.column == "pct"


# --- 5. forest -------------------------------------------------------------------------------


@pytest.mark.parametrize("n_cases", CASE_COUNTS)
def test_forest_renders_rate_ratios_on_a_log_axis(n_cases, tmp_path):
    results = simulate_rate_ratios(n_cases)
    figure = plots.forest(results)
    render(figure, tmp_path)
    ax = figure.fig.axes[0]
    assert ax.get_xscale() == "log"
    assert any(line.get_xdata()[0] == 1.0 for line in ax.get_lines())  # the no-effect line
    assert f"for {n_cases + 1} estimates" in figure.caption
    assert "logarithmic axis" in figure.caption
    # The outcome is the same in every row: named once in the caption, not in each row label.
    assert "rate ratio (parenting questions to the youth team)" in figure.caption
    if n_cases <= 3:
        assert ax.get_yticklabels()[-1].get_text() == "all cases (pooled)"
    assert "adjusted for multiple testing" in figure.caption


def test_forest_differences_on_a_linear_axis_with_a_missing_estimate(tmp_path):
    from ponzoni_eval._core.results import result_frame

    results = result_frame(
        [
            dict(case_id="slotervaart", outcome="trust", effect_name="hedges_g", effect_size=0.4, ci_low=0.1, ci_high=0.7, n=12, p_value=0.02),
            dict(case_id="poelenburg_a", outcome="respect", effect_name="hedges_g", n=2, note="n too small"),
        ]
    )
    figure = plots.forest(results, language="nl")
    render(figure, tmp_path)
    ax = figure.fig.axes[0]
    assert ax.get_xscale() == "linear"
    texts = [t.get_text() for t in ax.texts]
    assert "niet te schatten" in texts
    assert "n = 12   p = ,020" in texts  # Dutch figures use the decimal comma too
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Slotervaart · vertrouwen", "Poelenburg A · respect"]
    assert "Niet te schatten: 1 rij(en)." in figure.caption and "ongecorrigeerde" in figure.caption


@pytest.mark.parametrize("language, mark", [("en", "."), ("nl", ",")])
def test_numbers_on_the_axes_use_the_language_decimal_mark(tmp_path, language, mark):
    from ponzoni_eval._core.results import result_frame

    rows = [dict(case_id="slotervaart", outcome="trust", effect_name="hedges_g", effect_size=0.4, ci_low=0.1, ci_high=0.7, n=12, p_value=0.9996),
            dict(case_id="poelenburg_a", outcome="trust", effect_name="hedges_g", effect_size=-0.3, ci_low=-0.8, ci_high=0.2, n=9, p_value=0.0004)]
    linear = plots.forest(result_frame(rows), language=language)
    ratios = plots.forest(result_frame([{**row, "effect_name": "rate_ratio", "effect_size": 1.5, "ci_low": 0.6, "ci_high": 2.5} for row in rows]), language=language)
    for figure in (linear, ratios):
        render(figure, tmp_path)
        ticks = [t.get_text() for t in figure.fig.axes[0].get_xticklabels() if t.get_text()]
        decimals = [t for t in ticks if any(m in t for m in ".,")]
        assert decimals and all(mark in t for t in decimals), ticks
    texts = [t.get_text() for t in linear.fig.axes[0].texts]
    other = "," if mark == "." else "."
    assert f"n = 12   p > {mark}999" in texts and f"n = 9   p < {mark}001" in texts  # never "p = 1.000"
    assert not any(f"{other}999" in t or f"{other}001" in t for t in texts)


def test_forest_bad_input():
    results = simulate_rate_ratios(3)
    with pytest.raises(DataError) as caught:
        plots.forest(results.drop(columns="ci_high"))
    assert caught.value.column == "ci_high"
    mixed = results.assign(effect_name=["rate_ratio"] * 3 + ["hedges_g"])
    with pytest.raises(DataError) as caught:
        plots.forest(mixed)
    assert caught.value.column == "effect_name"
    inverted = results.assign(ci_low=results["ci_high"] * 2)
    with pytest.raises(DataError, match="does not contain its estimate"):
        plots.forest(inverted)


# --- 6. agreement ------------------------------------------------------------------------------


def test_agreement_renders_with_thresholds_and_caption(tmp_path):
    agreement = simulate_agreement()
    figure = plots.agreement_by_code(agreement, statistic="krippendorff_alpha")
    render(figure, tmp_path)
    ax = figure.fig.axes[0]
    vertical = sorted(line.get_xdata()[0] for line in ax.get_lines() if line.get_linestyle() == "--")
    assert vertical == [0.667, 0.8]
    assert "Krippendorff's α" in figure.caption and "6 codes" in figure.caption and "40 units" in figure.caption
    assert "Krippendorff (2004)" in figure.caption


def test_agreement_code_without_estimate_is_labelled(tmp_path):
    agreement = simulate_agreement(3)
    agreement.loc[agreement["code"] == "code_1", ["estimate", "ci_low", "ci_high"]] = np.nan
    figure = plots.agreement_by_code(agreement, statistic="cohen_kappa")
    render(figure, tmp_path)
    assert "not estimable" in [t.get_text() for t in figure.fig.axes[0].texts]


def test_agreement_many_codes_two_statistics_and_a_missing_estimate(tmp_path):
    agreement = simulate_agreement(60)
    agreement.loc[0, ["estimate", "ci_low", "ci_high"]] = np.nan
    figure = plots.agreement_by_code(agreement, language="nl")
    render(figure, tmp_path)
    assert "60 codes" in figure.caption and "Cohens κ" in figure.caption
    assert len(figure.fig.axes[0].get_yticklabels()) == 60  # still named, one row per code
    assert "niet te schatten" not in [t.get_text() for t in figure.fig.axes[0].texts]  # the other statistic exists


def test_agreement_beyond_80_codes_sorts_without_names(tmp_path):
    figure = plots.agreement_by_code(simulate_agreement(90), statistic="cohen_kappa")
    render(figure, tmp_path)
    assert "sorted by estimate" in figure.caption
    assert figure.fig.axes[0].get_yticklabels() == []


def test_agreement_bad_input():
    agreement = simulate_agreement()
    with pytest.raises(DataError) as caught:
        plots.agreement_by_code(agreement.drop(columns="n_units"))
    assert caught.value.column == "n_units"
    with pytest.raises(DataError) as caught:
        plots.agreement_by_code(agreement, statistic="scotts_pi")
    assert caught.value.column == "statistic"


# --- 7. expectation bars --------------------------------------------------------------------------


@pytest.mark.parametrize("n_cases", CASE_COUNTS)
def test_expectation_bars_render_and_state_n(n_cases, tmp_path):
    crosstab = simulate_expectations(n_cases)
    figure = plots.expectation_bars(crosstab)
    render(figure, tmp_path)
    assert f"n = {int(crosstab['n'].sum())} respondents" in figure.caption


def test_expectation_bars_proportions_and_an_empty_role(tmp_path):
    crosstab = pd.DataFrame(
        {
            "case_id": "slotervaart",
            "role": ["professional", "professional", "migrant_org", "migrant_org"],
            "expectation": ["bridge_to_parents", "strengthen_organisation", "bridge_to_parents", "strengthen_organisation"],
            "n": [6, 2, 0, 0],
        }
    )
    figure = plots.expectation_bars(crosstab, language="nl")
    render(figure, tmp_path)
    ax = figure.fig.axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert "75%" in texts and "25%" in texts and "n = 8" in texts
    assert "geen gegevens" in texts  # migrant organisations gave no answer
    assert "n = 8 respondenten" in figure.caption


def test_expectation_bars_say_that_suppressed_bars_are_hidden_not_absent(tmp_path):
    # Poelenburg A's professionals and Slotervaart's whole case have a suppressed count (NaN): those bars are
    # not drawn, n counts only the bars drawn, and no case with hidden bars is called "no data".
    crosstab = pd.DataFrame(
        {
            "case_id": ["poelenburg_a"] * 4 + ["slotervaart"] * 4,
            "role": ["professional", "professional", "migrant_org", "migrant_org"] * 2,
            "expectation": ["bridge_to_parents", "strengthen_organisation"] * 4,
            "n": [7, np.nan, 6, 9, np.nan, 8, 5, np.nan],
        }
    )
    figure = plots.expectation_bars(crosstab)
    render(figure, tmp_path)
    assert "n = 15 respondents" in figure.caption
    assert "3 role bar(s) are not drawn" in figure.caption
    assert "No data for" not in figure.caption
    dutch = plots.expectation_bars(crosstab, language="nl")
    assert "3 rolbalk(en) zijn niet getekend" in dutch.caption and "Geen gegevens voor" not in dutch.caption


@pytest.mark.parametrize("language, notice, caption", [
    ("en", "so no bar is drawn", "not drawn, because each of the 4 role bar(s) with respondents holds a count below the disclosure threshold"),
    ("nl", "dus geen enkele balk is getekend", "niet getekend, omdat elk van de 4 rolbalk(en) met respondenten een aantal onder de onthullingsgrens bevat"),
])
def test_expectation_bars_with_every_bar_suppressed_say_so_in_words_without_empty_axes(language, notice, caption, tmp_path):
    # The example's two Poelenburg cases at t0: a count below 5 in every role bar. Before: an empty grey panel per case
    # called "no data", with its 0% and 100% tick labels on top of each other ("0%100%").
    crosstab = pd.DataFrame({
        "case_id": ["poelenburg_a"] * 6 + ["poelenburg_b"] * 6,
        "role": (["professional"] * 3 + ["migrant_org"] * 3) * 2,
        "expectation": ["both", "bridge_to_parents", "strengthen_organisation"] * 4,
        "n": [np.nan, 8, np.nan, np.nan, np.nan, 19] * 2,
    })
    figure = plots.expectation_bars(crosstab, language=language)
    render(figure, tmp_path)
    assert caption in figure.caption and "Poelenburg A, Poelenburg B" in figure.caption
    axes = [ax for ax in figure.fig.axes if ax.get_visible()]
    assert len(axes) == 1 and not axes[0].axison  # one notice, no axis with ticks to collide
    texts = [t.get_text().replace("\n", " ") for t in axes[0].texts]
    assert any(notice in t for t in texts)
    assert not [t for t in texts if t in (term("figures.no_data", language), "0%", "100%")]


def test_a_panel_whose_bars_are_all_suppressed_says_suppressed_not_no_data(tmp_path):
    crosstab = pd.DataFrame({
        "case_id": ["poelenburg_a"] * 4 + ["slotervaart"] * 4,
        "role": ["professional", "professional", "migrant_org", "migrant_org"] * 2,
        "expectation": ["bridge_to_parents", "strengthen_organisation"] * 4,
        "n": [np.nan, 8, 5, np.nan, 7, 6, 5, 9],
    })
    figure = plots.expectation_bars(crosstab)
    render(figure, tmp_path)
    slotervaart, poelenburg_a = ([t.get_text() for t in ax.texts] for ax in figure.fig.axes)  # the known order of the cases
    assert "no data" not in poelenburg_a and poelenburg_a.count("small counts suppressed") == 3  # the panel and its 2 bars
    assert "no data" not in slotervaart and {"n = 13", "n = 14"} <= set(slotervaart)


def test_expectation_bars_missing_column():
    with pytest.raises(DataError) as caught:
        plots.expectation_bars(simulate_expectations(1).drop(columns="expectation"))
    assert caught.value.column == "expectation"


# --- empty input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "draw",
    [
        lambda: plots.trajectories(simulate_scores(1).iloc[0:0], scale="trust", language="nl"),
        lambda: plots.perception_gap_dumbbell(simulate_scores(1).iloc[0:0], language="nl"),
        lambda: plots.help_seeking_its(simulate_its(1).iloc[0:0], language="nl"),
        lambda: plots.theme_heatmap(simulate_prevalence(1).iloc[0:0], language="nl"),
        lambda: plots.forest(simulate_rate_ratios(1).iloc[0:0], language="nl"),
        lambda: plots.agreement_by_code(simulate_agreement().iloc[0:0], language="nl"),
        lambda: plots.expectation_bars(simulate_expectations(1).iloc[0:0], language="nl"),
    ],
    ids=["trajectories", "dumbbell", "its", "heatmap", "forest", "agreement", "expectation"],
)
def test_an_empty_frame_gives_a_no_data_figure(draw, tmp_path):
    figure = draw()
    render(figure, tmp_path)
    assert figure.caption.endswith("geen gegevens om te tonen.")
    assert any(t.get_text() == "geen gegevens" for t in figure.fig.axes[0].texts)


def test_unused_case_category_gets_a_no_data_panel(tmp_path):
    scores = simulate_scores(2)
    scores = scores.assign(case_id=pd.Categorical(scores["case_id"], categories=KNOWN_CASES))
    figure = plots.trajectories(scores, scale="trust")
    render(figure, tmp_path)
    assert [ax.get_title(loc="left") for ax in figure.fig.axes] == ["Slotervaart", "Poelenburg A", "Poelenburg B"]
    assert "No data for: Poelenburg B." in figure.caption


# --- many sites -----------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("n_cases", [plots.FACET_LIMIT, 300])
def test_every_figure_stays_printable_at_the_facet_limit_and_with_300_cases(n_cases, tmp_path):
    figures = [
        plots.trajectories(simulate_scores(n_cases, per_role=2), scale="trust"),
        plots.perception_gap_dumbbell(simulate_scores(n_cases, per_role=2)),
        plots.help_seeking_its(simulate_its(n_cases)),
        plots.theme_heatmap(simulate_prevalence(n_cases)),
        plots.forest(simulate_rate_ratios(n_cases)),
        plots.expectation_bars(simulate_expectations(n_cases)),
    ]
    for figure in figures:
        render(figure, tmp_path)
        width, height = figure.fig.get_size_inches()
        assert width <= 16 and height <= 16, figure.name
