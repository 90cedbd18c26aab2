"""Calibration study: type-I error and 95% CI coverage of the inferential methods the reports use.

Simulates data like the study's (three cases of 10-40 participants, two roles,
waves t0/t1/t2 with 10% / 20% dropout, Likert items rounded and clipped to
1..5; 48 months of help-seeking counts around 20 a month) under null and
non-null effects and under the departures a reviewer worries about (random
slopes, AR(1) residuals over waves, NB2 overdispersion, latent AR(1) in the
monthly rate), runs the package's own functions on each data set and counts
how often a true null is rejected at alpha .05 (type-I error) and how often
the 95% CI holds the true value (coverage). Targets: type-I .035-.065,
coverage .93-.97.

    python benchmarks/calibrate.py                 # the full study (make calibrate), ~10-15 min on 2 free cores
    python benchmarks/calibrate.py --reps-scale 0.1 --out /tmp/cal.md

Writes ``docs/calibration.md`` (the table, reps per cell, seeds) and
``benchmarks/calibration.json``. The simulator is lean and self-contained
(numpy only), so the study does not depend on the example generator's
details; every estimate comes from ``ponzoni_eval.stats``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from multiprocessing import get_context
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # 2 worker processes, one BLAS thread each
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "docs" / "calibration.md"
DEFAULT_JSON = ROOT / "benchmarks" / "calibration.json"
SEED = 17_2026
ALPHA = 0.05
TYPE_I_TARGET = (0.035, 0.065)
COVERAGE_TARGET = (0.93, 0.97)
WORKERS = 2

# --- survey simulator ---------------------------------------------------------------------------------

WAVES = ("t0", "t1", "t2")
WAVE_POSITION = {"t0": 0.0, "t1": 0.5, "t2": 1.0}
CASES = ("case_a", "case_b", "case_c")
T0_MEAN = 2.8
PERSON_SD = 0.6
OCCASION_SD = 0.5
ITEM_SD = 0.45
N_ITEMS = 4
ROLE_SHIFT = 0.3
DROPOUT = {"t1": 0.10, "t2": 0.20}
NON_NULL_CHANGE = (0.6, 0.9, 0.15)  # latent t0 -> t2 change per case (the example's trust changes)

SURVEY_SCENARIOS = {
    "random intercept": dict(slope_sd=0.0, ar1=0.0),
    "random slope SD 0.5": dict(slope_sd=0.5, ar1=0.0),
    "AR(1) rho .7 over waves": dict(slope_sd=0.0, ar1=0.7),
}


def simulate_survey(rng: np.random.Generator, *, change: tuple[float, ...], slope_sd: float, ar1: float) -> pd.DataFrame:
    """Long scale scores (the shape of `transforms.score_scales`) for three cases."""
    rows = []
    pid = 0
    for case, delta in zip(CASES, change):
        n = int(rng.integers(10, 41))
        role = np.where(rng.random(n) < 0.5, "professional", "migrant_org")
        person = rng.normal(0, PERSON_SD, n) + np.where(role == "professional", ROLE_SHIFT, 0.0)
        slope = rng.normal(0, slope_sd, n) if slope_sd else np.zeros(n)
        # occasion residuals: AR(1) over the three waves (stationary, SD OCCASION_SD)
        e = np.empty((n, 3))
        e[:, 0] = rng.normal(0, OCCASION_SD, n)
        for w in (1, 2):
            e[:, w] = ar1 * e[:, w - 1] + rng.normal(0, OCCASION_SD * math.sqrt(1 - ar1**2), n)
        dropped_t1 = rng.random(n) < DROPOUT["t1"]
        dropped_t2 = dropped_t1 | (rng.random(n) < (DROPOUT["t2"] - DROPOUT["t1"]) / (1 - DROPOUT["t1"]))
        for w, wave in enumerate(WAVES):
            position = WAVE_POSITION[wave]
            latent = T0_MEAN + person + (delta + slope) * position + e[:, w]
            items = np.clip(np.rint(latent[:, None] + rng.normal(0, ITEM_SD, (n, N_ITEMS))), 1, 5)
            keep = ~(dropped_t1 if wave == "t1" else dropped_t2 if wave == "t2" else np.zeros(n, bool))
            for i in np.flatnonzero(keep):
                rows.append((f"p{pid + i}", case, role[i], wave, "trust", items[i].mean(), N_ITEMS, N_ITEMS))
        pid += n
    frame = pd.DataFrame(rows, columns=["participant_id", "case_id", "role", "wave", "scale", "value", "n_items", "n_answered"])
    frame["wave"] = pd.Categorical(frame["wave"], categories=list(WAVES), ordered=True)
    return frame


def true_observed_change(delta: float, *, draws: int = 400_000, seed: int = 1) -> float:
    """E[score at t2] - E[score at t0] for a latent change `delta` (rounding and clipping make it differ from delta)."""
    rng = np.random.default_rng(seed)
    role = rng.random(draws) < 0.5
    base = T0_MEAN + rng.normal(0, PERSON_SD, draws) + np.where(role, ROLE_SHIFT, 0.0)

    def mean_score(shift):
        latent = base + shift + rng.normal(0, OCCASION_SD, draws)
        return np.clip(np.rint(latent[:, None] + rng.normal(0, ITEM_SD, (draws, N_ITEMS))), 1, 5).mean()

    return float(mean_score(delta) - mean_score(0.0))


def change_scores(scores: pd.DataFrame) -> pd.DataFrame:
    wide = scores.pivot_table(index=["participant_id", "case_id", "role"], columns="wave", values="value", observed=True)
    wide = wide.dropna(subset=["t0", "t2"]).reset_index()
    return pd.DataFrame({"participant_id": wide["participant_id"], "case_id": wide["case_id"], "role": wide["role"],
                         "scale": "trust", "before": "t0", "after": "t2", "value": wide["t2"] - wide["t0"]})


def survey_rep(seed: int, scenario: str, null: bool, truths: dict) -> list[tuple]:
    """One simulated survey: (method, quantity, rejected, covered) per test."""
    from ponzoni_eval import stats

    rng = np.random.default_rng(seed)
    change = (0.0, 0.0, 0.0) if null else NON_NULL_CHANGE
    scores = simulate_survey(rng, change=change, **SURVEY_SCENARIOS[scenario])
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        paired = stats.pre_post(scores, outcome="trust", by=("case_id",))
        for _, row in paired.iterrows():
            if not np.isfinite(row["p_value"]):
                continue
            if row["test"] == "paired_t":
                covered = (row["ci_low"] <= 0 <= row["ci_high"]) if null else None  # CI of g_av: truth 0 only under null
                out.append(("paired t (per case)", "change", row["p_value"] < ALPHA if null else None, covered))
            elif row["test"] == "wilcoxon_signed_rank":
                out.append(("Wilcoxon signed-rank (per case)", "change", row["p_value"] < ALPHA if null else None, None))
        mixed = stats.mixed_model(scores, outcome="trust")
        contrasts = mixed.loc[mixed["test"] == "contrast"]
        for _, row in contrasts.iterrows():
            if not np.isfinite(row["effect_size"]):
                continue
            if row["effect_name"] == "change":
                truth = truths[row["case_id"]]
                out.append(("mixed model: change per case", "change", row["p_value"] < ALPHA if null else None,
                            row["ci_low"] <= truth <= row["ci_high"]))
            elif row["effect_name"] == "change_difference":
                a, b = row["group"].split(":")[0].split(" - ")
                truth = truths[a.strip()] - truths[b.strip()]
                out.append(("mixed model: case difference in change", "change difference",
                            row["p_value"] < ALPHA if null else None, row["ci_low"] <= truth <= row["ci_high"]))
        if null:
            kw = stats.kruskal_dunn(change_scores(scores), outcome="trust", n_boot=50, seed=seed % 2**31)
            omnibus = kw.loc[kw["test"] == "kruskal_wallis"]
            if len(omnibus):
                out.append(("Kruskal-Wallis on change scores", "case differences", omnibus["p_value"].iloc[0] < ALPHA, None))
    return out


STRUCTURE_METHODS = {"slope": "random slope", "unstructured": "unstructured (MMRM)", "compare": "LRT-chosen"}


def survey_structures_rep(seed: int, scenario: str, null: bool, truths: dict) -> list[tuple]:
    """One simulated survey, the mixed model with the other covariance structures (issue 17c)."""
    from ponzoni_eval import stats

    rng = np.random.default_rng(seed)
    change = (0.0, 0.0, 0.0) if null else NON_NULL_CHANGE
    scores = simulate_survey(rng, change=change, **SURVEY_SCENARIOS[scenario])
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for structure, name in STRUCTURE_METHODS.items():
            mixed = stats.mixed_model(scores, outcome="trust", structure=structure)
            contrasts = mixed.loc[mixed["test"] == "contrast"]
            for _, row in contrasts.iterrows():
                if not np.isfinite(row["effect_size"]) or not np.isfinite(row["p_value"]):
                    continue
                if row["effect_name"] == "change":
                    truth = truths[row["case_id"]]
                    out.append((f"mixed model ({name}): change per case", "change",
                                row["p_value"] < ALPHA if null else None, row["ci_low"] <= truth <= row["ci_high"]))
                elif row["effect_name"] == "change_difference":
                    a, b = row["group"].split(":")[0].split(" - ")
                    truth = truths[a.strip()] - truths[b.strip()]
                    out.append((f"mixed model ({name}): case difference in change", "change difference",
                                row["p_value"] < ALPHA if null else None, row["ci_low"] <= truth <= row["ci_high"]))
            if structure == "compare" and scenario == "random intercept":  # the LRT's size (no slope variance)
                chosen = mixed.loc[(mixed["test"] == "model_comparison") & (mixed["effect_name"] == "lrt"), "note"]
                slope_kept = bool(len(chosen)) and "chosen: random slope" in chosen.iloc[0]
                out.append(("LRT keeps the random slope (share of data sets)", "structure", slope_kept, None))
    return out


# --- crosstab simulator -------------------------------------------------------------------------------


def crosstab_rep(seed: int, scenario: str, null: bool, truths: dict) -> list[tuple]:
    """Role x expectation tables under independence: Fisher (2 x 2) and the chi-squared / Monte Carlo test (2 x 3)."""
    from ponzoni_eval import stats

    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 81))
    role = rng.random(n) < 0.5
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if scenario == "2 x 2":
            answer = rng.random(n) < 0.4
            table = np.array([[np.sum(role & answer), np.sum(role & ~answer)], [np.sum(~role & answer), np.sum(~role & ~answer)]])
            res = stats.crosstab_test(table)
            name = "Fisher exact (2 x 2)"
        else:
            answer = rng.choice(3, size=n, p=[0.5, 0.3, 0.2])
            table = np.array([[np.sum(role & (answer == k)) for k in range(3)], [np.sum(~role & (answer == k)) for k in range(3)]])
            res = stats.crosstab_test(table, n_resamples=999, seed=seed % 2**31)
            name = "chi-squared / Monte Carlo (2 x 3)"
        p = res["p_value"].iloc[0]
        if np.isfinite(p):
            out.append((name, "independence", p < ALPHA, None))
    return out


# --- ITS simulator ------------------------------------------------------------------------------------

MONTHS = 24
BASELINE = 20.0
NON_NULL_LEVEL, NON_NULL_SLOPE = 1.4, 1.01
ITS_SCENARIOS = {
    "Poisson": dict(nb_alpha=0.0, latent_ar=0.0),
    "NB2 alpha .015": dict(nb_alpha=0.015, latent_ar=0.0),
    "NB2 alpha .03": dict(nb_alpha=0.03, latent_ar=0.0),
    "latent AR(1) .5": dict(nb_alpha=0.0, latent_ar=0.5),
}
LATENT_SD = 0.12  # marginal SD of the log-rate AR(1) process
ITS_METHODS = {
    "ITS quasi-Poisson (default)": dict(family="quasipoisson"),
    "ITS quasi-Poisson AR(1)": dict(family="quasipoisson", autocorrelation="ar1"),
    "ITS quasi-Poisson latent AR(1) (Zeger)": dict(family="quasipoisson", autocorrelation="latent_ar1"),
    "ITS Poisson": dict(family="poisson"),
    "ITS Poisson/NB by pretest (old default)": dict(family="auto"),
}


def simulate_monthly(rng, *, cases, level, slope, nb_alpha, latent_ar):
    relative = np.arange(-MONTHS, MONTHS)
    post = (relative >= 0).astype(int)
    frames = []
    for case in cases:
        mu = BASELINE * np.where(post == 1, level * slope ** np.where(post == 1, relative, 0), 1.0)
        if latent_ar:
            z = np.empty(len(relative))
            z[0] = rng.normal(0, LATENT_SD)
            for t in range(1, len(z)):
                z[t] = latent_ar * z[t - 1] + rng.normal(0, LATENT_SD * math.sqrt(1 - latent_ar**2))
            mu = mu * np.exp(z - LATENT_SD**2 / 2)
        if nb_alpha:
            mu = mu * rng.gamma(1 / nb_alpha, nb_alpha, len(mu))
        frames.append(pd.DataFrame({"case_id": case, "event_type": "parenting_question_to_youth_team",
                                    "month": pd.date_range("2014-01-01", periods=len(relative), freq="MS"),
                                    "relative_month": relative, "post": post, "count": rng.poisson(mu)}))
    return pd.concat(frames, ignore_index=True)


def its_rep(seed: int, scenario: str, null: bool, truths: dict) -> list[tuple]:
    from ponzoni_eval import stats

    rng = np.random.default_rng(seed)
    level, slope = (1.0, 1.0) if null else (NON_NULL_LEVEL, NON_NULL_SLOPE)
    monthly = simulate_monthly(rng, cases=("a",), level=level, slope=slope, **ITS_SCENARIOS[scenario])
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for method, options in ITS_METHODS.items():
            res = stats.interrupted_time_series(monthly, **options).set_index("test")
            for test, truth, quantity in (("its_level_change", level, "level RR"), ("its_slope_change", slope, "slope RR")):
                if test not in res.index or not np.isfinite(res.loc[test, "p_value"]):
                    continue
                row = res.loc[test]
                out.append((method, quantity, row["p_value"] < ALPHA if null else None, row["ci_low"] <= truth <= row["ci_high"]))
    return out


def its_pooled_rep(seed: int, scenario: str, null: bool, truths: dict) -> list[tuple]:
    """Three cases with the same level change: the joint F and the pairwise ratios (truth 1)."""
    from ponzoni_eval import stats

    rng = np.random.default_rng(seed)
    monthly = simulate_monthly(rng, cases=("a", "b", "c"), level=NON_NULL_LEVEL, slope=1.0, **ITS_SCENARIOS[scenario])
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for method, options in (("ITS pooled quasi-Poisson (default)", {}), ("ITS pooled quasi-Poisson AR(1)", {"autocorrelation": "ar1"}),
                                ("ITS pooled Poisson/NB by pretest (old default)", {"family": "auto"})):
            res = stats.its_case_differences(monthly, **options)
            joint = res.loc[res["test"] == "wald_level_change_difference", "p_value"]
            if len(joint) and np.isfinite(joint.iloc[0]):
                out.append((method, "joint test of equal level changes", joint.iloc[0] < ALPHA, None))
            for _, row in res.loc[res["test"] == "level_change_ratio"].iterrows():
                out.append((method, "ratio of level RRs", row["p_value"] < ALPHA, row["ci_low"] <= 1.0 <= row["ci_high"]))
    return out


# --- the study ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    family: str  # survey, crosstab, its, its_pooled
    scenario: str
    null: bool
    reps: int


def cells(scale: float = 1.0) -> list[Cell]:
    r = lambda n: max(int(round(n * scale)), 5)  # noqa: E731
    out = []
    for scenario in SURVEY_SCENARIOS:
        out += [Cell("survey", scenario, True, r(400)), Cell("survey", scenario, False, r(200))]
    out += [Cell("survey_structures", "random slope SD 0.5", True, r(200)),
            Cell("survey_structures", "random slope SD 0.5", False, r(100)),
            Cell("survey_structures", "AR(1) rho .7 over waves", True, r(200)),
            Cell("survey_structures", "random intercept", True, r(100))]
    out += [Cell("crosstab", "2 x 2", True, r(1000)), Cell("crosstab", "2 x 3", True, r(300))]
    for scenario in ITS_SCENARIOS:
        out += [Cell("its", scenario, True, r(400)), Cell("its", scenario, False, r(200))]
    for scenario in ("Poisson", "NB2 alpha .03", "latent AR(1) .5"):
        out.append(Cell("its_pooled", scenario, True, r(200)))
    return out


REP_FUNCTIONS = {"survey": survey_rep, "survey_structures": survey_structures_rep, "crosstab": crosstab_rep, "its": its_rep, "its_pooled": its_pooled_rep}


def _truths() -> dict:
    changes = {case: 0.0 for case in CASES}
    non_null = {case: true_observed_change(delta) for case, delta in zip(CASES, NON_NULL_CHANGE)}
    return {"null": changes, "non_null": non_null}


def _work(job):
    family, scenario, null, seed, truths = job
    return (family, scenario, null), REP_FUNCTIONS[family](seed, scenario, null, truths)


def run(scale: float = 1.0, *, workers: int = WORKERS, seed: int = SEED, families: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Run every cell; one row per method x quantity x scenario x null/non-null with counts and rates."""
    truths = _truths()
    chosen = [c for c in cells(scale) if families is None or c.family in families]
    jobs = []
    for index, cell in enumerate(chosen):
        seeds = np.random.SeedSequence([seed, index]).generate_state(cell.reps)
        truth = truths["null" if cell.null else "non_null"]
        jobs += [(cell.family, cell.scenario, cell.null, int(s), truth) for s in seeds]
    if workers > 1:
        with get_context("fork").Pool(min(workers, WORKERS)) as pool:
            results = pool.map(_work, jobs, chunksize=8)
    else:
        results = [_work(job) for job in jobs]
    records = []
    for (family, scenario, null), tests in results:
        for method, quantity, rejected, covered in tests:
            records.append(dict(family=family, scenario=scenario, null=null, method=method, quantity=quantity,
                                rejected=rejected, covered=covered))
    frame = pd.DataFrame(records)
    reps = {(c.family, c.scenario, c.null): c.reps for c in chosen}
    rows = []
    for (family, method, quantity, scenario, null), group in frame.groupby(["family", "method", "quantity", "scenario", "null"], sort=False):
        rejected = group["rejected"].dropna().astype(bool)
        covered = group["covered"].dropna().astype(bool)
        rows.append(dict(
            method=method, quantity=quantity, scenario=scenario, effects="null" if null else "non-null",
            reps=reps[(family, scenario, null)], tests=len(group),
            type_i=rejected.mean() if len(rejected) else np.nan,
            coverage=covered.mean() if len(covered) else np.nan,
        ))
    return pd.DataFrame(rows)


def _mc_interval(rate: float, tests: int) -> tuple[float, float]:
    """95% Monte Carlo interval of a rate from `tests` tests (Wilson), to tell a miss from simulation noise."""
    z = 1.959963984540054
    centre = (rate + z**2 / (2 * tests)) / (1 + z**2 / tests)
    half = z * math.sqrt(rate * (1 - rate) / tests + z**2 / (4 * tests**2)) / (1 + z**2 / tests)
    return centre - half, centre + half


def verdict(row) -> str:
    """ok / borderline (outside the band, but its 95% Monte Carlo interval reaches it) / a clear miss."""
    notes = []
    for key, (low, high), below, above, name in (
        ("type_i", TYPE_I_TARGET, "type-I conservative", "type-I LIBERAL", "type-I"),
        ("coverage", COVERAGE_TARGET, "UNDERCOVERS", "overcovers", "coverage"),
    ):
        rate = row[key]
        if not np.isfinite(rate):
            continue
        if low <= rate <= high:
            notes.append(f"{name} ok")
            continue
        mc_low, mc_high = _mc_interval(rate, int(row["tests"]))
        if mc_high >= low and mc_low <= high:
            notes.append(f"{name} borderline (within Monte Carlo error)")
        else:
            notes.append(below if rate < low else above)
    return ", ".join(notes)


# Why a method misses its target in a scenario, by design (the study measures how much).
REASONS = (
    (lambda r: r["method"].startswith("ITS Poisson") and "NB2" in r["scenario"],
     "Poisson variance = mean; overdispersed counts make its SEs too small (the pretest of the old default misses "
     "modest overdispersion)"),
    (lambda r: r["method"].startswith("ITS") and "latent AR(1)" in r["scenario"] and "AR(1)" not in r["method"],
     "months treated as independent given the trend; positively autocorrelated months carry less information"),
    (lambda r: "Zeger" in r["method"],
     "the latent variance and AR(1) coefficient are moment estimates from 48 residuals in which the latent part is a "
     "fifth of the variance (theta biased towards 0 and noisy); the parametric sandwich does not absorb that "
     "uncertainty"),
    (lambda r: "AR(1)" in r["method"] and r["method"].startswith("ITS") and "Zeger" not in r["method"],
     "the AR(1) working correlation is estimated from 48 residuals (rho biased towards 0 and noisy), and its "
     "model-based covariance does not absorb that uncertainty: no gain over quasi-Poisson at this series length"),
    (lambda r: r["method"].startswith("LRT keeps"),
     "the share of data sets without slope variance in which the REML LRT (50:50 chi-square mixture) keeps the "
     "random slope, i.e. the LRT's size; below alpha: the mixture reference is still conservative for REML fits of "
     "this size, so the comparison keeps the intercept model when in doubt"),
    (lambda r: r["method"].startswith("mixed model:") and "random slope" in r["scenario"],
     "random intercept only: people who change by different amounts make the t0 -> t2 change more variable than the "
     "compound-symmetric model assumes (a random slope of wave or an unstructured covariance would model it)"),
    (lambda r: r["method"].startswith("mixed model:") and "AR(1)" in r["scenario"],
     "random intercept only: AR(1) residuals over waves make t0 and t2 less correlated than t0 and t1, which a "
     "compound-symmetric covariance cannot represent"),
    (lambda r: r["method"].startswith("Fisher"),
     "Fisher's exact test conditions on both margins and is discrete: its size is below alpha at these n by "
     "construction (conservative, not liberal)"),
    (lambda r: r["method"].startswith("chi-squared"),
     "the Monte Carlo / chi-squared test conditions on the margins of small tables: conservative"),
    (lambda r: r["method"].startswith("Kruskal") and "random slope" in r["scenario"],
     "change scores whose spread differs by case (random slopes) make the rank test sensitive to spread, not only "
     "location"),
    (lambda r: r["method"].startswith("Wilcoxon"),
     "Wilcoxon signed-rank with many tied and zero differences (Likert means) uses the normal approximation"),
)


def reasons(row) -> str:
    return "; ".join(text for test, text in REASONS if test(row))


def markdown(table: pd.DataFrame, *, seconds: float, scale: float, seed: int) -> str:
    lines = [
        "# Calibration study",
        "",
        "Generated by `make calibrate` (`benchmarks/calibrate.py`); do not edit by hand.",
        f"Run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {platform.machine()} with {WORKERS} worker processes, "
        f"{seconds / 60:.1f} min wall clock (a shared machine: other jobs kept the load near 10 on 2 cores); base seed "
        f"{seed} (each cell draws its replicate seeds from `numpy.random.SeedSequence([seed, cell index])`, the cell "
        f"index counting the cells of that run); reps scale {scale}.",
        "",
        f"Targets at alpha = {ALPHA}: type-I error {TYPE_I_TARGET[0]}-{TYPE_I_TARGET[1]}, "
        f"95% CI coverage {COVERAGE_TARGET[0]}-{COVERAGE_TARGET[1]}. `reps` = simulated data sets in the cell, "
        "`tests` = tests counted (several per data set: one per case or pair of cases; those of one data set are "
        "correlated, so the Monte Carlo error is somewhat larger than the binomial one used for 'borderline'). "
        "Monte Carlo SE of a rate near .05 with 900 tests is about .007; with 200 tests about .015.",
        "",
        "Simulated data: survey cells have three cases of 10-40 participants each (uniform), two roles (level shift "
        f"{ROLE_SHIFT}), latent t0 mean {T0_MEAN}, person SD {PERSON_SD}, occasion SD {OCCASION_SD}, {N_ITEMS} items "
        f"(item SD {ITEM_SD}) rounded and clipped to 1..5, dropout 10% by t1 and 20% by t2; null = no change in any "
        f"case, non-null = latent changes {NON_NULL_CHANGE} (coverage against the change of the expected observed "
        "score, computed by Monte Carlo). ITS cells have 24 months on either side of the start, 20 events a month "
        f"before; null = level and slope rate ratios 1, non-null = level {NON_NULL_LEVEL}, slope {NON_NULL_SLOPE} per "
        f"month; latent AR(1) = log-rate AR(1) with marginal SD {LATENT_SD}. Pooled ITS cells: three cases with the "
        "same level change (the null of no case difference). Crosstab cells: role x answer under independence, "
        "n = 20-80. 'mixed model (random slope / unstructured (MMRM) / LRT-chosen)' rows: the same survey data sets "
        "fitted with `mixed_model(structure='slope' / 'unstructured' / 'compare')` (issue 17c; reps scale 0.4, "
        "80 null and 40 non-null data sets a cell, so their Monte Carlo SE is about .014 near .05).",
        "",
        "| method | quantity | scenario | effects | reps | tests | type-I | coverage | verdict |",
        "|---|---|---|---|---:|---:|---:|---:|---|",
    ]
    table = table.loc[np.isfinite(table["type_i"]) | np.isfinite(table["coverage"])].reset_index(drop=True)
    for _, row in table.iterrows():
        fmt = lambda v: "" if not np.isfinite(v) else f"{v:.3f}"  # noqa: E731
        lines.append(f"| {row['method']} | {row['quantity']} | {row['scenario']} | {row['effects']} | {row['reps']} | "
                     f"{row['tests']} | {fmt(row['type_i'])} | {fmt(row['coverage'])} | {verdict(row)} |")
    clear = ("LIBERAL", "UNDERCOVERS", "conservative", "overcovers")
    short = table.loc[table.apply(lambda r: any(w in verdict(r) for w in clear), axis=1)]
    borderline = table.loc[table.apply(lambda r: "borderline" in verdict(r) and not any(w in verdict(r) for w in clear), axis=1)]
    lines += ["", "## Outside the targets beyond Monte Carlo error, and why", ""]
    if short.empty:
        lines.append("No cell misses its targets beyond Monte Carlo error.")
    for _, row in short.iterrows():
        numbers = ", ".join(f"{name} {row[key]:.3f}" for name, key in (("type-I", "type_i"), ("coverage", "coverage"))
                            if np.isfinite(row[key]))
        why = reasons(row) or "no design reason known"
        lines.append(f"- {row['method']}, {row['quantity']}, {row['scenario']} ({row['effects']}): {numbers}. {why}.")
    lines += ["", "## Borderline (outside the band, within Monte Carlo error of it)", ""]
    if borderline.empty:
        lines.append("None.")
    for _, row in borderline.iterrows():
        numbers = ", ".join(f"{name} {row[key]:.3f}" for name, key in (("type-I", "type_i"), ("coverage", "coverage"))
                            if np.isfinite(row[key]))
        why = reasons(row)
        lines.append(f"- {row['method']}, {row['quantity']}, {row['scenario']} ({row['effects']}), {int(row['tests'])} tests: "
                     f"{numbers}.{' Likely reason: ' + why + '.' if why else ''}")
    kenward_roger = Path(__file__).resolve().parent / "calibration-kenward-roger.md"  # calibrate_kenward_roger.py
    if kenward_roger.exists():
        lines += ["", kenward_roger.read_text().rstrip("\n")]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps-scale", type=float, default=1.0, help="multiply every cell's reps (e.g. 0.1 for a quick look)")
    parser.add_argument("--workers", type=int, default=WORKERS)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--only", default="", help="comma-separated families: survey, crosstab, its, its_pooled")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    parser.add_argument("--render", type=Path, nargs="+",
                        help="only rewrite the markdown (and --json) from the calibration.json of earlier runs (e.g. of "
                             "different --only families), merged")
    args = parser.parse_args(argv)
    if args.render:
        recorded = [json.loads(path.read_text(encoding="utf-8")) for path in args.render]
        table = pd.concat([pd.DataFrame(r["rows"]) for r in recorded], ignore_index=True)
        table = table.astype({"type_i": float, "coverage": float}).drop(columns="verdict", errors="ignore")
        table = table.sort_values("method", key=lambda m: m.map(lambda x: 2 if x.startswith("ITS") else 0 if "Fisher" not in x and "chi" not in x else 1),
                                  kind="stable").reset_index(drop=True)
        seconds = sum(r["seconds"] for r in recorded)
        scale = " and ".join(f"{r['reps_scale']} ({', '.join(r.get('families') or ['all'])})" for r in recorded)
        seeds = sorted({r["seed"] for r in recorded})
        text = markdown(table, seconds=seconds, scale=scale, seed=seeds[0] if len(seeds) == 1 else seeds)
        args.out.write_text(text, encoding="utf-8")
        table["verdict"] = table.apply(verdict, axis=1)
        args.json.write_text(json.dumps({"seconds": seconds, "seed": seeds, "reps_scale": scale, "merged_from": len(recorded),
                                         "rows": table.replace({np.nan: None}).to_dict(orient="records")}, indent=1),
                             encoding="utf-8")
        print(text)
        return 0
    families = tuple(f for f in args.only.split(",") if f) or None
    unknown = set(families or ()) - set(REP_FUNCTIONS)
    if unknown:
        parser.error(f"unknown families {sorted(unknown)}; choose from {sorted(REP_FUNCTIONS)}")
    start = time.perf_counter()
    table = run(args.reps_scale, workers=args.workers, seed=args.seed, families=families)
    seconds = time.perf_counter() - start
    table["verdict"] = table.apply(verdict, axis=1)
    text = markdown(table, seconds=seconds, scale=args.reps_scale, seed=args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    args.json.write_text(json.dumps({"seconds": seconds, "seed": args.seed, "reps_scale": args.reps_scale,
                                     "families": list(families) if families else None,
                                     "rows": table.replace({np.nan: None}).to_dict(orient="records")}, indent=1),
                         encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
