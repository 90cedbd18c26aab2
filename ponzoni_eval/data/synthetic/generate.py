"""The SYNTHETIC example data set, with documented built-in effects.

Nothing here was measured: the data are drawn from a seeded random model so
that every analysis in the package has something to find, and tests can check
that it finds what was put in (`EFFECTS`). With ``n_sites=3`` the sites are
the three case studies (Slotervaart; Poelenburg A and B); with any other
number they are ``site_001``, ``site_002``, ... with effects drawn around the
same means (for benchmarks and cross-case analyses at scale).

What is generated, per site
---------------------------
- ``participants``: professionals (youth team), members of migrant
  organisations and parents; pseudonyms such as ``SLO-P03`` (P =
  professional, M = migrant_org, O = ouder/parent); some have a FICTITIOUS
  first name in ``name`` that also appears in their interview text.
- ``survey_responses``: professionals and migrant_org members answer the
  22-item instrument at t0, t1 and t2 (long format). Scale scores have a
  participant random intercept; items are rounded to 1..5. About 3% of items
  are missing (``not_answered``/``dont_know``); participants who drop out keep
  their rows with an empty value, missing_reason ``dropped_out`` and no date.
- ``activity_log``: one row per event (count 1), for 24 months before and 24
  after intervention_start; each ``joint_activity`` has a
  ``parents_attending`` row on the same date with the number of parents.
- ``documents``, ``coded_segments``, ``codebook``: interviews (Dutch, fully
  synthetic sentences) at t0 and t2 with a subset of participants, coded by
  ``coder_1``; a quarter of the documents also by ``coder_2``. `write_example`
  writes these three as one REFI-QDA project, ``interviews.qdpx``, the way an
  evaluator brings coded interviews from ATLAS.ti, MAXQDA or NVivo.

The model is vectorised numpy: 300 sites (~30 000 participants, ~1.4 M survey
rows, ~2 M activity rows, ~0.5 M coded segments) take seconds.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pandas as pd

from ponzoni_eval._core.errors import DataError
from ponzoni_eval._core.files import atomic_write_text, write_csv
from ponzoni_eval.config import DATASET_METADATA_FILE, DEFAULT_SEED
from ponzoni_eval.data import schema
from ponzoni_eval.data.read import QDA_TABLES, read_dataset_metadata
from ponzoni_eval.data.synthetic import text
from ponzoni_eval.integrate.plan import write_plan_template
from ponzoni_eval.qual.write import write_qdpx

__all__ = ["DEFAULT_SEED", "EFFECTS", "INTERVIEWS_FILE", "effects", "generate", "write_example"]

"""16 June 2017, the day of Trees Pels' farewell symposium where the study was presented."""

INTERVIEWS_FILE = "interviews.qdpx"
"""The example's interviews: a REFI-QDA project holding documents, codebook and coded_segments."""
INTERVIEWS_PROJECT = "SYNTHETIC example interviews (ponzoni_eval)"

ROLE_LETTER = {"professional": "P", "migrant_org": "M", "parent": "O"}
SURVEY_ROLE_NAMES = ("professional", "migrant_org")
WAVE_FRACTION = {"t0": 0.0, "t1": 0.5, "t2": 1.0}
"""Share of a site's t0->t2 change reached at each wave."""

_STUDY_CASES = (
    {
        "case_id": "slotervaart",
        "prefix": "SLO",
        "name": "Slotervaart",
        "city": "Amsterdam",
        "neighbourhood": "Slotervaart (Nieuw-West)",
        "partner_org_type": "mosque association; Moroccan parents' network",
        "organisations": ["Moskeevereniging West (fictief)", "Marokkaans Ouderplatform Slotervaart (fictief)"],
        "flavour": "moroccan",
        "intervention_start": "2015-09-01",
        "description": "SYNTHETIC example case modelled on the Slotervaart case study; no real data.",
    },
    {
        "case_id": "poelenburg_a",
        "prefix": "PA",
        "name": "Poelenburg A",
        "city": "Zaanstad",
        "neighbourhood": "Poelenburg/Peldersveld",
        "partner_org_type": "Turkish women's association",
        "organisations": ["Turkse Vrouwenvereniging Poelenburg (fictief)"],
        "flavour": "turkish",
        "intervention_start": "2015-03-01",
        "description": "SYNTHETIC example case modelled on the first Poelenburg case study (the clear rise in help-seeking); no real data.",
    },
    {
        "case_id": "poelenburg_b",
        "prefix": "PB",
        "name": "Poelenburg B",
        "city": "Zaanstad",
        "neighbourhood": "Poelenburg/Peldersveld",
        "partner_org_type": "mosque association; Turkish parents' group",
        "organisations": ["Moskeevereniging Peldersveld (fictief)", "Turkse Oudergroep Poelenburg (fictief)"],
        "flavour": "turkish",
        "intervention_start": "2016-01-01",
        "description": "SYNTHETIC example case modelled on the second Poelenburg case study (the weak case); no real data.",
    },
)

_STUDY_SITE_EFFECTS = {
    # t0->t2 changes on the 1..5 scale; rate ratios for monthly help-seeking; success (0..1) moves interview themes
    # help-seeking: 20 questions a month before the start; NB2 dispersion chosen so that the variance-to-mean
    # ratio at that baseline, 1 + dispersion * 20, is 1.0 / 1.3 / 1.6 (see "help_seeking_design" in EFFECTS)
    "slotervaart": dict(trust_change=0.6, perceived_willingness_change=0.8, feeling_judged_change=-0.5, safe_space_mean=3.9, success=0.6,
                        help_seeking_baseline_per_month=20.0, help_seeking_level_rate_ratio=1.4, help_seeking_slope_rate_ratio=1.0,
                        help_seeking_dispersion=0.0, activity_volume=1.0),
    "poelenburg_a": dict(trust_change=0.9, perceived_willingness_change=1.0, feeling_judged_change=-0.9, safe_space_mean=4.0, success=1.0,
                         help_seeking_baseline_per_month=20.0, help_seeking_level_rate_ratio=2.0, help_seeking_slope_rate_ratio=1.03,
                         help_seeking_dispersion=0.015, activity_volume=1.0),
    "poelenburg_b": dict(trust_change=0.15, perceived_willingness_change=0.3, feeling_judged_change=-0.1, safe_space_mean=3.1, success=0.0,
                         help_seeking_baseline_per_month=20.0, help_seeking_level_rate_ratio=1.0, help_seeking_slope_rate_ratio=1.0,
                         help_seeking_dispersion=0.03, activity_volume=1.0),
}

_GLOBAL_EFFECTS = {
    "synthetic": True,
    "survey": {
        "scale_range": [1, 5],
        "wave_fraction_of_change": WAVE_FRACTION,
        "person_sd": 0.6,
        "occasion_sd": 0.5,
        "item_sd": 0.45,
        "icc_intended": 0.5,
        "icc_note": "participant random intercept per scale; ICC of observed scale scores (mean of items) about 0.5",
        "means_note": "means are of the latent score; rounding and clipping to 1..5 pull observed means near the top "
        "down (latent 4.2 -> observed about 4.12, 4.0 -> 3.95; 2.5..3.0 unchanged)",
        "trust": {"t0_mean": 2.8, "change": "sites.<case>.trust_change", "reverse_coded_items": ["trust_5"]},
        "own_willingness": {"mean": 4.2, "change": 0.0},
        "perceived_willingness": {"t0_mean": 2.5, "change": "sites.<case>.perceived_willingness_change"},
        "perception_gap_t0": 1.7,
        "expect_strengthen": {"mean": {"migrant_org": 4.0, "professional": 2.9}},
        "expect_bridge": {"mean": {"professional": 4.1, "migrant_org": 3.0}},
        "expectation_primary": {
            "labels": {str(k): v for k, v in text.EXPECTATION_LABELS.items()},
            "probabilities": {"migrant_org": {"1": 0.70, "2": 0.15, "3": 0.15}, "professional": {"1": 0.15, "2": 0.70, "3": 0.15}},
            "waves": ["t0", "t2"],
            "same_answer_at_t2": 0.6,
        },
        "feeling_judged": {"t0_mean": 3.8, "roles": ["migrant_org"], "change": "sites.<case>.feeling_judged_change"},
        "safe_space": {"waves": ["t1", "t2"], "mean": "sites.<case>.safe_space_mean"},
    },
    "missingness": {
        "item_missing_rate": 0.03,
        "missing_reasons": {"not_answered": 0.75, "dont_know": 0.25},
        "dropout_by_t1": 0.10,
        "dropout_by_t2": 0.20,
        "dropout_rows": "kept: value empty, missing_reason 'dropped_out', response_date empty",
    },
    "activity": {
        "months_before": 24,
        "months_after": 24,
        "help_seeking_event": "parenting_question_to_youth_team",
        "help_seeking_baseline_per_month": "sites.<case>.help_seeking_baseline_per_month",
        "model": "mean per month = help_seeking_baseline_per_month * activity_volume * level_rate_ratio^post * "
        "slope_rate_ratio^(post * months since start); negative binomial (NB2, variance mu + dispersion * mu^2) when "
        "dispersion > 0, else Poisson",
        "help_seeking_design": "chosen so that the interrupted time series recovers the built-in level rate ratios: "
        "20 questions a month before the start (all parents in a neighbourhood youth team's area), 24 months on either "
        "side, and an NB2 dispersion that keeps the variance-to-mean ratio at the baseline at 1.0 (slotervaart), 1.3 "
        "(poelenburg_a) and 1.6 (poelenburg_b), as in the first design. Over 400 seeds the estimated level rate ratio "
        "then has a log-scale SD of 0.12 (slotervaart, poelenburg_a) and 0.17 (poelenburg_b); its 95% CI covers the "
        "built-in value in 92-96% of seeds and excludes 1 in 100% (poelenburg_a) and 81% (slotervaart). With the first "
        "design (3 a month, 18 months on either side) that SD was 0.37-0.51 and one draw gave 2.99 for slotervaart's "
        "1.4: the level change is the pre-start trend extrapolated to the start, and with few events that trend is "
        "poorly known. Scaled sites (n_sites != 3) keep 3 a month times their activity_volume.",
        "referral_to_youth_team": {"baseline_per_month": 1.0, "rate_ratios": "as help-seeking"},
        "joint_meeting": {"before_per_month": 0.5, "after_per_month": 2.5},
        "joint_activity": {"before_per_month": 0.3, "after_per_month": 2.0},
        "parents_attending": {"per_joint_activity_mean": 8.0},
        "rows": "one row per event with count 1; parents_attending: one row per joint_activity (same date) with count = parents",
    },
    "interviews": {
        "waves": ["t0", "t2"],
        "interviewed_share": {"professional": 0.4, "migrant_org": 0.4, "parent": 1.0},
        "extra_segments_per_present_code": 0.5,
        "segments_per_present_code": "1 + Poisson(extra_segments_per_present_code)",
        "coders": ["coder_1", "coder_2"],
        "double_coded_share": 0.25,
        "kappa_intended": 0.75,
        "kappa_level": "document x code presence, pooled over codes",
        "second_coder_miss_rate": 0.18,
        "second_coder_add_rate": 0.06,
        "code_prevalence": {code: {role: dict(zip(("t0", "t2_weak", "t2_strong"), p)) for role, p in roles.items()} for code, roles in text.CODE_PREVALENCE.items()},
        "prevalence_rule": "P(document mentions code) = t0 at t0; t2_weak + success * (t2_strong - t2_weak) at t2",
        "dissonance": {
            "code": "growing_trust",
            "case_id": "poelenburg_b",
            "note": "growing_trust is as prevalent at t2 in poelenburg_b as elsewhere and we_they_thinking recedes there as "
            "elsewhere (t2_weak = t2_strong for both), so the interviews tell of growing trust although survey trust barely "
            "rises there",
        },
        "agreement": {
            "code": "help_seeking_youth_team",
            "role": "parent",
            "wave": "t2",
            "case_id": "poelenburg_a",
            "note": "frequent among poelenburg_a parents at t2, where help-seeking in the activity log rises most",
        },
        "redaction": "named participants are greeted by name in their interview and some coded sentences contain the name",
    },
    "constructs": {
        "trust": {"scales": ["trust"], "codes": ["listening_to_needs", "shared_positive_goal", "growing_trust"]},
        "perception_gap": {"scales": ["own_willingness", "perceived_willingness"], "codes": ["we_they_thinking", "other_side_unwilling"]},
        "expectation_mismatch": {
            "scales": ["expect_strengthen", "expect_bridge", "expectation_primary"],
            "codes": ["expect_strengthening", "expect_bridge", "hand_out_folder", "referral_after_connection"],
        },
        "safe_space": {"scales": ["safe_space"], "codes": ["suspending_judgement", "low_threshold_meeting_place", "countering_negative_discourse"]},
        "help_seeking": {
            "scales": ["feeling_judged"],
            "codes": ["feeling_judged_bad_parent", "fear_children_taken", "help_seeking_youth_team"],
            "event_types": ["parenting_question_to_youth_team", "referral_to_youth_team"],
        },
    },
}

_SCALED_INTERVIEWS = {"interviewed_share": {"professional": 0.6, "migrant_org": 0.6, "parent": 1.0}, "extra_segments_per_present_code": 2.2}
"""Scaled sites (n_sites != 3): longer interviews with more participants, for benchmark volumes (~0.5 M segments at 300 sites)."""

_SITE_COLUMNS = (
    "trust_change",
    "perceived_willingness_change",
    "feeling_judged_change",
    "safe_space_mean",
    "success",
    "help_seeking_baseline_per_month",
    "help_seeking_level_rate_ratio",
    "help_seeking_slope_rate_ratio",
    "help_seeking_dispersion",
    "activity_volume",
)


def _interview_settings(scaled: bool) -> dict:
    """Interview settings; scaled sites have longer interviews with more participants (benchmark volume)."""
    settings = dict(_GLOBAL_EFFECTS["interviews"])
    if scaled:
        settings.update(_SCALED_INTERVIEWS)
    return settings


def _streams(seed: int) -> dict[str, np.random.Generator]:
    """Independent random streams per part, so changing one part does not reshuffle the others."""
    parts = ("sites", "participants", "survey", "activity", "interviews")
    return {name: np.random.default_rng(child) for name, child in zip(parts, np.random.SeedSequence(seed).spawn(len(parts)))}


def _sites(n_sites: int, rng: np.random.Generator) -> pd.DataFrame:
    """One row per site: description and built-in effects."""
    if n_sites == 3:
        rows = [{**case, **_STUDY_SITE_EFFECTS[case["case_id"]]} for case in _STUDY_CASES]
        return pd.DataFrame(rows)
    number = np.arange(1, n_sites + 1)
    ids = pd.Series(number).map("{:03d}".format)
    trust_change = rng.normal(0.55, 0.25, n_sites)
    start_month = np.datetime64("2014-01", "M") + rng.integers(0, 36, n_sites)
    cities = np.array(["Amsterdam", "Zaanstad", "Rotterdam", "Utrecht", "Den Haag", "Almere", "Arnhem", "Tilburg"])
    org_types = np.array(["mosque association", "Turkish women's association", "Moroccan parents' network", "Surinamese community foundation", "Eritrean parents' group"])
    flavour = np.where(rng.random(n_sites) < 0.5, "turkish", "moroccan")
    return pd.DataFrame(
        {
            "case_id": "site_" + ids,
            "prefix": "S" + ids,
            "name": "Site " + ids + " (synthetic)",
            "city": cities[rng.integers(0, len(cities), n_sites)],
            "neighbourhood": "Wijk " + ids,
            "partner_org_type": org_types[rng.integers(0, len(org_types), n_sites)],
            "organisations": [[f"Zelforganisatie {i} (fictief)"] for i in ids],
            "flavour": flavour,
            "intervention_start": pd.Series(start_month.astype("datetime64[D]")).dt.strftime("%Y-%m-%d"),
            "description": "SYNTHETIC scaled example site; no real data.",
            "trust_change": trust_change,
            "perceived_willingness_change": rng.normal(0.7, 0.25, n_sites),
            "feeling_judged_change": rng.normal(-0.5, 0.25, n_sites),
            "safe_space_mean": rng.normal(3.7, 0.3, n_sites),
            "success": np.clip((trust_change - 0.15) / 0.75, 0.0, 1.0),
            "help_seeking_baseline_per_month": 3.0,  # times activity_volume: district-sized counts
            "help_seeking_level_rate_ratio": np.exp(rng.normal(np.log(1.45), 0.2, n_sites)),
            "help_seeking_slope_rate_ratio": np.exp(rng.normal(0.01, 0.01, n_sites)),
            "help_seeking_dispersion": rng.uniform(0.0, 0.2, n_sites),
            # district-sized sites, so that 300 sites give benchmark volumes (~2 M activity rows over 48 months)
            "activity_volume": np.exp(rng.normal(np.log(15.0), 0.3, n_sites)),
        }
    )


def effects(n_sites: int = 3, seed: int = DEFAULT_SEED) -> dict:
    """The built-in effects of `generate(n_sites, seed)` as a JSON-ready dict (see `EFFECTS`)."""
    _check_arguments(n_sites, seed)
    sites = _sites(n_sites, _streams(seed)["sites"])
    result = copy.deepcopy(_GLOBAL_EFFECTS)
    result["seed"] = int(seed)
    result["n_sites"] = int(n_sites)
    if n_sites != 3:
        result["interviews"].update(copy.deepcopy(_SCALED_INTERVIEWS))
    result["sites"] = {
        row["case_id"]: {"intervention_start": row["intervention_start"], **{c: round(float(row[c]), 6) for c in _SITE_COLUMNS}}
        for row in sites.to_dict("records")
    }
    return result


def _check_arguments(n_sites, seed) -> None:
    if not isinstance(n_sites, (int, np.integer)) or isinstance(n_sites, bool) or n_sites < 1:
        raise ValueError(f"n_sites must be a whole number of at least 1, got {n_sites!r}")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative whole number, got {seed!r}")


EFFECTS: dict = effects()
"""Built-in effects of the default example (3 study cases, `DEFAULT_SEED`); also written as ``effects.json``.

Treat as read-only. Keys: ``synthetic``, ``seed``, ``n_sites``;
``survey`` (scale means: trust t0 2.8, own_willingness 4.2, perceived_willingness t0 2.5,
expectation means and ``expectation_primary`` probabilities by role, feeling_judged t0 3.8,
the random-intercept SDs and intended ICC); ``missingness``; ``activity`` (24 months either
side of the start, the monthly model and why help-seeking is designed as it is);
``interviews`` (code prevalences by role and wave,
double coding and intended kappa 0.75, the built-in dissonance and agreement);
``constructs`` (scales, codes and event types per study construct); and ``sites``:
per case ``trust_change``, ``perceived_willingness_change``, ``feeling_judged_change``
(t0 -> t2), ``safe_space_mean``, ``success``, ``help_seeking_baseline_per_month`` (20 in the
study cases), ``help_seeking_level_rate_ratio``,
``help_seeking_slope_rate_ratio`` (per month after the start), ``help_seeking_dispersion``
(NB2 alpha), ``activity_volume`` and ``intervention_start``.
"""


# --- tables ---------------------------------------------------------------------------------


def _instrument() -> tuple[pd.DataFrame, np.ndarray]:
    """The item bank, and each item's offset from its scale mean (used by the generator only)."""
    columns = ["item_id", "scale", "wording_nl", "wording_en", "reverse_coded", "roles", "waves", "level", "offset"]
    items = pd.DataFrame(text.ITEMS, columns=columns)
    nominal = items["level"] == "nominal"
    labels = ";".join(f"{k}={v}" for k, v in text.EXPECTATION_LABELS.items())
    return pd.DataFrame(
        {
            "item_id": items["item_id"],
            "scale": items["scale"],
            "wording_nl": items["wording_nl"],
            "wording_en": items["wording_en"],
            "response_min": 1,
            "response_max": np.where(nominal, len(text.EXPECTATION_LABELS), 5),
            "reverse_coded": items["reverse_coded"],
            "roles": items["roles"],
            "waves": items["waves"].replace("", pd.NA),
            "level": items["level"],
            "value_labels": np.where(nominal, labels, text.LIKERT_LABELS),
        }
    ), items["offset"].to_numpy()


def _codebook() -> pd.DataFrame:
    return pd.DataFrame(text.CODES, columns=["code", "theme", "construct", "definition", "definition_nl"])[
        ["code", "theme", "definition", "definition_nl", "construct"]
    ]


def _participants(sites: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    n_sites = len(sites)
    study = n_sites == 3
    low, high = ((10, 10, 5), (20, 25, 10)) if study else ((25, 35, 10), (40, 55, 20))
    counts = rng.integers(low, np.add(high, 1), size=(n_sites, 3))
    flat = counts.ravel()
    site = np.repeat(np.repeat(np.arange(n_sites), 3), flat)
    role = np.repeat(np.tile(np.arange(3), n_sites), flat)
    number = np.arange(flat.sum()) - np.repeat(np.cumsum(flat) - flat, flat) + 1
    n = len(site)
    roles = np.array(schema.ROLES)
    letters = np.array([ROLE_LETTER[r] for r in schema.ROLES])
    width = 2 if study else 3
    participant_id = sites["prefix"].to_numpy()[site] + "-" + letters[role] + pd.Series(number).astype("str").str.zfill(width).to_numpy()

    female = rng.random(n) < np.array([0.8, 0.7, 0.8])[role]
    site_flavour = sites["flavour"].to_numpy()[site]
    other_flavour = np.where(site_flavour == "turkish", "moroccan", "turkish")
    flavour = np.where(rng.random(n) < 0.75, site_flavour, other_flavour)
    flavour = np.where((role == 0) & (rng.random(n) < 0.7), "dutch", flavour)
    gender = np.where(female, "f", "m")
    flavours = list(text.FIRST_NAMES)
    pools = [text.FIRST_NAMES[f][g] for f in flavours for g in ("f", "m")]  # group = flavour * 2 + (male)
    pool_size = np.array([len(p) for p in pools])
    pool_start = np.cumsum(pool_size) - pool_size
    group = np.searchsorted(np.array(flavours), flavour, sorter=np.argsort(flavours))
    group = np.argsort(flavours)[group] * 2 + (~female)
    all_names = np.array([name for pool in pools for name in pool], dtype=object)
    name = all_names[pool_start[group] + (rng.random(n) * pool_size[group]).astype(int)]
    named = rng.random(n) < np.array([0.3, 0.4, 0.5])[role]

    age_groups = np.array(["18-24", "25-34", "35-44", "45-54", "55-64", "65+"])
    age_low = np.array([1, 1, 0])[role]
    age_high = np.array([5, 6, 4])[role]
    age_group = age_groups[age_low + (rng.random(n) * (age_high - age_low)).astype(int)]
    native = np.where(flavour == "turkish", "tr", np.where(flavour == "moroccan", "ar", "nl"))
    language = np.where((role == 0) | (rng.random(n) < 0.5), "nl", native)

    org_count = sites["organisations"].map(len).to_numpy()
    org_start = np.cumsum(org_count) - org_count
    all_orgs = np.array([org for orgs in sites["organisations"] for org in orgs], dtype=object)
    org_of_member = all_orgs[org_start[site] + (rng.random(n) * org_count[site]).astype(int)]
    youth_team = ("Jeugdteam " + sites["neighbourhood"].str.replace(r" \(.*\)$", "", regex=True)).to_numpy()[site]
    organisation = np.where(role == 0, youth_team, org_of_member)

    dropout = rng.random(n)
    # wave index from which the participant is gone: 1 (t1), 2 (t2) or 3 (never)
    gone_from = np.where(dropout < 0.10, 1, np.where(dropout < 0.20, 2, 3))
    gone_from = np.where(role == 2, np.where(dropout < 0.10, 2, 3), gone_from)  # parents: only the t2 interview can be lost
    return pd.DataFrame(
        {
            "participant_id": participant_id,
            "case_id": sites["case_id"].to_numpy()[site],
            "role": roles[role],
            "organisation": organisation,
            "gender": gender,
            "age_group": age_group,
            "language": language,
            "name": pd.Series(name).where(named, None).astype("str"),
            "_site": site,
            "_gone_from": gone_from,
        }
    )


def _survey(sites, participants, instrument, offsets, rng) -> pd.DataFrame:
    survey = _GLOBAL_EFFECTS["survey"]
    respondents = participants[participants["role"].isin(SURVEY_ROLE_NAMES)].reset_index(drop=True)
    n_people, n_items, n_waves = len(respondents), len(instrument), len(schema.WAVES)
    role = respondents["role"].map({r: i for i, r in enumerate(schema.ROLES)}).to_numpy()
    site = respondents["_site"].to_numpy()
    scales = list(dict.fromkeys(instrument["scale"]))
    scale_of_item = instrument["scale"].map({s: i for i, s in enumerate(scales)}).to_numpy()

    # mean[site, role, scale, wave]
    fraction = np.array([WAVE_FRACTION[w] for w in schema.WAVES])
    mean = np.full((len(sites), len(schema.ROLES), len(scales), n_waves), np.nan)

    def put(scale, values):
        mean[:, :, scales.index(scale), :] = values

    put("trust", survey["trust"]["t0_mean"] + sites["trust_change"].to_numpy()[:, None, None] * fraction)
    put("own_willingness", survey["own_willingness"]["mean"])
    put("perceived_willingness", survey["perceived_willingness"]["t0_mean"] + sites["perceived_willingness_change"].to_numpy()[:, None, None] * fraction)
    role_index = {r: i for i, r in enumerate(schema.ROLES)}
    for scale in ("expect_strengthen", "expect_bridge"):
        for role_name, value in survey[scale]["mean"].items():
            mean[:, role_index[role_name], scales.index(scale), :] = value
    put("feeling_judged", survey["feeling_judged"]["t0_mean"] + sites["feeling_judged_change"].to_numpy()[:, None, None] * fraction)
    put("safe_space", sites["safe_space_mean"].to_numpy()[:, None, None])

    person_effect = rng.normal(0.0, survey["person_sd"], (n_people, len(scales)))
    occasion_effect = rng.normal(0.0, survey["occasion_sd"], (n_people, n_waves, len(scales)))

    person, wave, item = (a.ravel() for a in np.indices((n_people, n_waves, n_items)))
    roles_allowed = np.array([[r in roles.split(";") for r in schema.ROLES] for roles in instrument["roles"]])  # item x role
    waves_asked = np.array([[pd.isna(w) or wv in w.split(";") for wv in schema.WAVES] for w in instrument["waves"]])  # item x wave
    keep = roles_allowed[item, role[person]] & waves_asked[item, wave]
    person, wave, item = person[keep], wave[keep], item[keep]
    scale = scale_of_item[item]

    latent = (
        mean[site[person], role[person], scale, wave]
        + person_effect[person, scale]
        + occasion_effect[person, wave, scale]
        + offsets[item]
        + rng.normal(0.0, survey["item_sd"], len(item))
    )
    value = np.clip(np.rint(latent), 1, 5)
    value = np.where(instrument["reverse_coded"].to_numpy()[item], 6 - value, value)

    # the nominal item: main aim of the collaboration, by role; often the same answer at t2
    nominal_items = np.flatnonzero(instrument["level"].to_numpy() == "nominal")
    probabilities = survey["expectation_primary"]["probabilities"]
    cumulative = np.array([np.cumsum([probabilities.get(r, {"1": 1 / 3, "2": 1 / 3, "3": 1 / 3})[k] for k in ("1", "2", "3")]) for r in schema.ROLES])
    first = (rng.random(n_people)[:, None] > cumulative[role][:, :2]).sum(axis=1) + 1
    redraw = (rng.random(n_people)[:, None] > cumulative[role][:, :2]).sum(axis=1) + 1
    later = np.where(rng.random(n_people) < survey["expectation_primary"]["same_answer_at_t2"], first, redraw)
    is_nominal = np.isin(item, nominal_items)
    value = np.where(is_nominal, np.where(wave == 0, first[person], later[person]), value)

    missingness = _GLOBAL_EFFECTS["missingness"]
    gone = wave >= respondents["_gone_from"].to_numpy()[person]
    skipped = ~gone & (rng.random(len(item)) < missingness["item_missing_rate"])
    reason_roll = rng.random(len(item))
    value = np.where(gone | skipped, np.nan, value)

    # one date per participant and wave, around the case's intervention_start
    start = pd.to_datetime(sites["intervention_start"]).to_numpy().astype("datetime64[D]")
    low, high = np.array([-60, 100, 330]), np.array([-10, 160, 420])
    day_offset = low + (rng.random((n_people, n_waves)) * (high - low + 1)).astype(int)
    date = start[site[person]] + day_offset[person, wave].astype("timedelta64[D]")
    response_date = pd.Series(date.astype("datetime64[us]")).where(~gone)
    reason_code = np.where(gone, schema.MISSING_REASONS.index("dropped_out"), -1)
    reason_code = np.where(skipped, np.where(reason_roll < missingness["missing_reasons"]["not_answered"], schema.MISSING_REASONS.index("not_answered"), schema.MISSING_REASONS.index("dont_know")), reason_code)
    return pd.DataFrame(
        {
            "participant_id": pd.Categorical.from_codes(person, categories=respondents["participant_id"]),
            "wave": pd.Categorical.from_codes(wave, categories=list(schema.WAVES), ordered=True),
            "response_date": response_date,
            "item_id": pd.Categorical.from_codes(item, categories=instrument["item_id"]),
            "value": value.astype("float64"),
            "missing_reason": pd.Categorical.from_codes(reason_code, categories=list(schema.MISSING_REASONS)),
        }
    )


def _activity(sites: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    activity = _GLOBAL_EFFECTS["activity"]
    before, after = activity["months_before"], activity["months_after"]
    relative = np.arange(-before, after)  # 0 = month of intervention_start
    post = relative >= 0
    n_sites, n_months = len(sites), len(relative)
    volume = sites["activity_volume"].to_numpy()[:, None]
    baseline = sites["help_seeking_baseline_per_month"].to_numpy()[:, None]
    level = sites["help_seeking_level_rate_ratio"].to_numpy()[:, None]
    slope = sites["help_seeking_slope_rate_ratio"].to_numpy()[:, None]
    dispersion = sites["help_seeking_dispersion"].to_numpy()[:, None]
    change = np.where(post, level * slope ** np.where(post, relative, 0), 1.0)

    def negative_binomial(mu):
        """Gamma-Poisson mixture: mean mu, variance mu + dispersion * mu^2 (Poisson where dispersion is 0)."""
        alpha = np.broadcast_to(dispersion, mu.shape)
        multiplier = np.ones(mu.shape)
        over = alpha > 0
        multiplier[over] = rng.gamma(1.0 / alpha[over], alpha[over])
        return rng.poisson(mu * multiplier)

    counts = {
        "joint_meeting": rng.poisson(volume * np.where(post, activity["joint_meeting"]["after_per_month"], activity["joint_meeting"]["before_per_month"])),
        "joint_activity": rng.poisson(volume * np.where(post, activity["joint_activity"]["after_per_month"], activity["joint_activity"]["before_per_month"])),
        "parenting_question_to_youth_team": negative_binomial(volume * baseline * change),
        "referral_to_youth_team": negative_binomial(volume * activity["referral_to_youth_team"]["baseline_per_month"] * change),
    }
    month_start = pd.to_datetime(sites["intervention_start"]).to_numpy().astype("datetime64[M]")[:, None] + relative
    days_in_month = ((month_start + 1).astype("datetime64[D]") - month_start.astype("datetime64[D]")).astype(int)
    event_code = {e: i for i, e in enumerate(schema.EVENT_TYPES)}
    parts = []  # (site, date, event type, count) per event
    for event_type, per_month in counts.items():
        flat = per_month.ravel()
        cell = np.repeat(np.arange(flat.size), flat)
        day = (rng.random(cell.size) * days_in_month.ravel()[cell]).astype(int)
        date = month_start.ravel()[cell].astype("datetime64[D]") + day.astype("timedelta64[D]")
        site = cell // n_months
        parts.append((site, date, np.full(cell.size, event_code[event_type]), np.ones(cell.size, dtype="int64")))
        if event_type == "joint_activity":
            parents = 1 + rng.poisson(activity["parents_attending"]["per_joint_activity_mean"] - 1, cell.size)
            parts.append((site, date, np.full(cell.size, event_code["parents_attending"]), parents.astype("int64")))
    site, date, event, count = (np.concatenate(column) for column in zip(*parts))
    order = np.lexsort((event, date, site))
    return pd.DataFrame(
        {
            "case_id": pd.Categorical.from_codes(site[order], categories=sites["case_id"]),
            "date": date[order].astype("datetime64[us]"),
            "event_type": pd.Categorical.from_codes(event[order], categories=list(schema.EVENT_TYPES)),
            "count": count[order],
        }
    )


def _interviews(sites, participants, codebook, rng, scaled: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Documents (full text) and coded segments whose offsets slice the text exactly.

    Text is assembled with pyarrow string kernels: every turn is
    ``"\\n\\nI: <question>\\nR: <answer>"``, a document is its header followed
    by its turns, and offsets are cumulative character counts.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    settings = _interview_settings(scaled)
    role_index = participants["role"].map({r: i for i, r in enumerate(schema.ROLES)}).to_numpy()
    share = np.array([settings["interviewed_share"][r] for r in schema.ROLES])
    interviewed = rng.random(len(participants)) < share[role_index]
    gone_from = participants["_gone_from"].to_numpy()
    # documents: interviewed participants at t0, and at t2 unless they left before t2
    at_t2 = interviewed & (gone_from > 2)
    person = np.concatenate([np.flatnonzero(interviewed), np.flatnonzero(at_t2)])
    wave = np.concatenate([np.zeros(interviewed.sum(), int), np.full(at_t2.sum(), 2)])
    order = np.lexsort((wave, person))
    person, wave = person[order], wave[order]
    n_docs = len(person)
    participant_id = pa.array(participants["participant_id"].to_numpy()[person], pa.string())
    document_id = pc.binary_join_element_wise(participant_id, pa.array(np.array(schema.WAVES)[wave], pa.string()), "-")
    name = pa.array(participants["name"].to_numpy()[person], pa.string(), from_pandas=True)
    has_name = pc.is_valid(name).to_numpy(zero_copy_only=False)
    role = role_index[person]
    success = sites["success"].to_numpy()[participants["_site"].to_numpy()[person]]

    # which codes each document mentions
    codes = list(codebook["code"])
    prevalence = np.array([[text.CODE_PREVALENCE[c][r] for r in schema.ROLES] for c in codes])  # code x role x (t0, weak, strong)
    p_t0 = prevalence[:, role, 0].T
    p_t2 = (prevalence[:, role, 1] + success * (prevalence[:, role, 2] - prevalence[:, role, 1])).T
    probability = np.where(wave[:, None] == 0, p_t0, p_t2)  # document x code
    present = rng.random(probability.shape) < probability
    doc_of_pair, code_of_pair = np.nonzero(present)
    n_segments = 1 + rng.poisson(settings["extra_segments_per_present_code"], len(doc_of_pair))

    # turns: coded sentences and filler answers, shuffled within each document
    n_fillers = 3 + rng.integers(0, 3, n_docs)
    turn_doc = np.concatenate([np.repeat(doc_of_pair, n_segments), np.repeat(np.arange(n_docs), n_fillers)])
    turn_code = np.concatenate([np.repeat(code_of_pair, n_segments), np.full(n_fillers.sum(), -1)])
    turn_pair = np.concatenate([np.repeat(np.arange(len(doc_of_pair)), n_segments), np.full(n_fillers.sum(), -1)])
    shuffle = np.lexsort((rng.random(len(turn_doc)), turn_doc))
    turn_doc, turn_code, turn_pair = turn_doc[shuffle], turn_code[shuffle], turn_pair[shuffle]
    n_turns = len(turn_doc)

    # the words: one table of sentence variants (codes first, fillers last), one pick per turn
    variants = text.sentence_variants()
    table = [(-1, (f, "", False)) for f in text.FILLERS] + [(i, v) for i, code in enumerate(codes) for v in variants[code]]
    table.sort(key=lambda entry: (entry[0], entry[1][2]))  # contiguous groups: (code, has name)
    variant_code = np.array([i for i, _ in table])
    variant_named = np.array([v[2] for _, v in table])
    variant_before = pa.array([v[0] for _, v in table], pa.string())
    variant_after = pa.array([v[1] for _, v in table], pa.string())
    # per (code, named?) group: where its variants start in the table and how many there are
    group_key = (variant_code + 1) * 2 + variant_named
    group_size = np.bincount(group_key, minlength=(len(codes) + 1) * 2)
    group_start = np.cumsum(group_size) - group_size
    wants_name = (turn_code >= 0) & has_name[turn_doc] & (rng.random(n_turns) < 0.35)
    turn_key = (turn_code + 1) * 2 + wants_name
    turn_key = np.where(group_size[turn_key] > 0, turn_key, turn_key - wants_name)  # no named variant: a plain one
    variant = group_start[turn_key] + (rng.random(n_turns) * group_size[turn_key]).astype(int)
    spoken_name = pc.if_else(pa.array(variant_named[variant]), pc.take(name, pa.array(turn_doc)), "")
    answer = pc.binary_join_element_wise(pc.take(variant_before, pa.array(variant)), spoken_name, pc.take(variant_after, pa.array(variant)), "")
    question = pc.take(pa.array(text.QUESTIONS, pa.string()), pa.array(rng.integers(0, len(text.QUESTIONS), n_turns)))
    turn_body = pc.binary_join_element_wise("I: ", question, "\nR: ", answer, "")

    greeting = pc.if_else(
        pa.array(has_name), pc.binary_join_element_wise(text.GREETING_NAMED[0], pc.fill_null(name, ""), text.GREETING_NAMED[1], ""), text.GREETING_ANONYMOUS
    )
    header = pc.binary_join_element_wise(text.HEADER_TITLE, document_id, "\nI: ", greeting, text.HEADER_REPLY, "")
    turns_per_doc = np.bincount(turn_doc, minlength=n_docs)
    turn_offsets = pa.array(np.concatenate([[0], np.cumsum(turns_per_doc)]).astype("int32"))
    body = pc.binary_join(pa.ListArray.from_arrays(turn_offsets, pc.binary_join_element_wise("\n\n", turn_body, "")), "")
    document_text = pc.binary_join_element_wise(header, body, "")

    # offsets in characters
    header_length = pc.utf8_length(header).to_numpy()
    question_length = pc.utf8_length(question).to_numpy()
    answer_length = pc.utf8_length(answer).to_numpy()
    turn_length = 2 + 3 + question_length + 4 + answer_length
    ends = np.cumsum(turn_length)
    doc_start_total = np.concatenate([[0], ends])[np.cumsum(turns_per_doc) - turns_per_doc]
    turn_start = ends - turn_length - doc_start_total[turn_doc] + header_length[turn_doc]
    body_start = turn_start + 2  # "I: ..."
    answer_start = turn_start + 5 + question_length + 4

    documents = pd.DataFrame(
        {
            "document_id": pd.Series(document_id, dtype="str"),
            "case_id": participants["case_id"].to_numpy()[person],
            "participant_id": pd.Series(participant_id, dtype="str"),
            "wave": np.array(schema.WAVES)[wave],
            "language": "nl",
            "text": pd.Series(document_text, dtype="str"),
        }
    )

    # first coder: every coded turn's answer
    coded = np.flatnonzero(turn_code >= 0)
    # second coder on a share of the documents: misses some codes, adds some on filler answers, sometimes includes the question
    double = rng.random(n_docs) < settings["double_coded_share"]
    kept_pair = double[doc_of_pair] & (rng.random(len(doc_of_pair)) >= settings["second_coder_miss_rate"])
    second = coded[kept_pair[turn_pair[coded]]]
    widen = rng.random(len(second)) < 0.3
    add_doc, add_code = np.nonzero(double[:, None] & ~present & (rng.random(present.shape) < settings["second_coder_add_rate"]))
    fillers = np.flatnonzero(turn_code == -1)
    first_filler = np.searchsorted(turn_doc[fillers], add_doc)
    added = fillers[first_filler + (rng.random(len(add_doc)) * n_fillers[add_doc]).astype(int)]

    turn = np.concatenate([coded, second, added])
    coder = np.concatenate([np.zeros(len(coded), int), np.ones(len(second) + len(added), int)])
    code = np.concatenate([turn_code[coded], turn_code[second], add_code])
    wide = np.concatenate([np.zeros(len(coded), bool), widen, np.zeros(len(added), bool)])
    start = np.where(wide, body_start[turn], answer_start[turn])
    end = answer_start[turn] + answer_length[turn]
    doc = turn_doc[turn]
    order = np.lexsort((code, start, coder, doc))
    turn, coder, code, wide, start, end, doc = (a[order] for a in (turn, coder, code, wide, start, end, doc))
    quote = pc.if_else(pa.array(wide), pc.take(turn_body, pa.array(turn)), pc.take(answer, pa.array(turn)))
    coded_segments = pd.DataFrame(
        {
            "document_id": pd.Categorical.from_codes(doc, categories=documents["document_id"]),
            "participant_id": pd.Categorical.from_codes(person[doc], categories=participants["participant_id"]),
            "case_id": pd.Categorical(documents["case_id"].to_numpy()[doc], categories=sites["case_id"]),
            "wave": pd.Categorical.from_codes(wave[doc], categories=list(schema.WAVES), ordered=True),
            "coder": pd.Categorical.from_codes(coder, categories=settings["coders"]),
            "code": pd.Categorical.from_codes(code, categories=codes),
            "start": start.astype("int64"),
            "end": end.astype("int64"),
            "text": pd.Series(quote, dtype="str"),
        }
    )
    return documents, coded_segments


def generate(n_sites: int = 3, seed: int = DEFAULT_SEED) -> dict[str, pd.DataFrame]:
    """Generate the SYNTHETIC example tables.

    Parameters
    ----------
    n_sites : int
        3 gives the three study cases (slotervaart, poelenburg_a,
        poelenburg_b); any other number gives ``site_001``... with effects
        drawn around the same means.
    seed : int
        Random seed; the default reproduces ``data/raw/example``.

    Returns
    -------
    dict
        ``cases, participants, instrument, survey_responses, activity_log,
        coded_segments, codebook, documents`` as typed frames (dates as
        datetime64, survey values as float with NaN for missing; the id
        columns of the three large tables are categoricals).

    Notes
    -----
    The built-in effects are `effects(n_sites, seed)` (for the default,
    `EFFECTS`). Survey items: ``round(mean[site, role, scale, wave] + u_person,scale
    + e_person,wave,scale + item offset + e_item)`` clipped to 1..5, with
    ``u ~ N(0, 0.6)``, ``e ~ N(0, 0.5)``, ``e_item ~ N(0, 0.45)``;
    ``trust_5`` is reverse-coded (``6 - value``). Help-seeking per month:
    Poisson or negative binomial with the log-linear interrupted time series
    mean given in ``EFFECTS["activity"]["model"]``.

    Examples
    --------
    >>> tables = generate()
    >>> sorted(tables["cases"]["case_id"])
    ['poelenburg_a', 'poelenburg_b', 'slotervaart']
    """
    _check_arguments(n_sites, seed)
    streams = _streams(seed)
    sites = _sites(n_sites, streams["sites"])
    instrument, offsets = _instrument()
    codebook = _codebook()
    participants = _participants(sites, streams["participants"])
    survey = _survey(sites, participants, instrument, offsets, streams["survey"])
    activity = _activity(sites, streams["activity"])
    documents, coded_segments = _interviews(sites, participants, codebook, streams["interviews"], scaled=n_sites != 3)
    cases = pd.DataFrame(
        {
            "case_id": sites["case_id"],
            "name": sites["name"],
            "city": sites["city"],
            "neighbourhood": sites["neighbourhood"],
            "partner_org_type": sites["partner_org_type"],
            "intervention_start": pd.to_datetime(sites["intervention_start"]).astype("datetime64[us]"),
            "description": sites["description"],
        }
    )
    return {
        "cases": cases,
        "participants": participants.drop(columns=["_site", "_gone_from"]),
        "instrument": instrument,
        "survey_responses": survey,
        "activity_log": activity,
        "coded_segments": coded_segments,
        "codebook": codebook,
        "documents": documents,
    }


# --- writing --------------------------------------------------------------------------------


def _as_csv_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Whole-number floats as integers, yes/no as true/false, so the CSV reads as a person would type it."""
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if pd.api.types.is_bool_dtype(values):
            out[column] = values.map({True: "true", False: "false"})
        elif pd.api.types.is_float_dtype(values) and bool(((values.dropna() % 1) == 0).all()):
            out[column] = values.astype("Int64")
    return out


def _dataset_toml(n_sites: int, seed: int, interviews: str = "qdpx") -> str:
    option = " --interviews csv" if interviews == "csv" else ""
    held_in = (
        "interviews.qdpx (REFI-QDA) holds the interview texts, the codebook and both coders\' codings"
        if interviews == "qdpx"
        else "documents.csv, codebook.csv and coded_segments.csv hold the interview texts, the codebook and both coders\' codings"
    )
    study = "the three case studies (Slotervaart; Poelenburg A and B)" if n_sites == 3 else f"{n_sites} scaled sites"
    return (
        "# Description of this data folder (read by `ponzoni-eval prepare` into the manifest).\n"
        "synthetic = true\n"
        f'title = "SYNTHETIC example data: {study}"\n'
        # The former module name stays in the written files: the committed example must stay byte
        # for byte what the reference run recorded (papermill_runs/reference/manifest.json).
        'generator = "ponzoni_eval.example.write_example"\n'
        f"seed = {seed}\n"
        f"n_sites = {n_sites}\n"
        f'regenerate = "ponzoni-eval example DIR --sites {n_sites} --seed {seed}{option}"\n'
        'effects = "effects.json"\n'
        f'interviews = "{held_in}"\n'
    )


def _readme(effects_: dict, tables: dict[str, pd.DataFrame], interviews_format: str = "qdpx") -> str:
    survey, activity, interviews = effects_["survey"], effects_["activity"], effects_["interviews"]
    lines = [
        "# SYNTHETIC example data",
        "",
        "**These data are synthetic.** Every value was drawn from a seeded random model by",
        "`ponzoni_eval.example`; nothing was measured and no person in these files exists.",
        "The names in `participants.csv` and in the interview texts are fictitious first names,",
        "included so that quote redaction can be tested. The three sites are modelled on the case",
        "studies of Elena Ponzoni's research (Slotervaart; Poelenburg A and B); no case-level numbers",
        "of those studies are public, and none are used here.",
        "",
        "Regenerate (byte for byte):",
        "",
        "```",
        f"ponzoni-eval example DIR --sites {effects_['n_sites']} --seed {effects_['seed']}"
        + (" --interviews csv" if interviews_format == "csv" else ""),
        "```",
        "",
        "## Files",
        "",
        "| file | rows |",
        "|---|---|",
    ]
    lines += [f"| `{name}.csv` | {len(frame):,} |" for name, frame in tables.items() if name not in QDA_TABLES or interviews_format == "csv"]
    if interviews_format == "qdpx":
        lines.append(
            f"| `{INTERVIEWS_FILE}` | {len(tables['documents']):,} interviews, {len(tables['coded_segments']):,} codings, "
            f"{len(tables['codebook']):,} codes (REFI-QDA project) |"
        )
    lines += [
        "| `effects.json` | the built-in effects below, machine-readable |",
        "| `dataset.toml` | `synthetic = true`, title, generator, seed |",
        "| `analysis_plan.toml` | the integration's analysis plan: primary and secondary outcomes, smallest meaningful effects, populations |",
        "",
    ]
    if interviews_format == "qdpx":
        lines += [
            f"The interviews come as a REFI-QDA project, `{INTERVIEWS_FILE}`, as an evaluator would export",
            "them from ATLAS.ti, MAXQDA or NVivo (open it in any of them): the Dutch interview texts, the",
            "codebook (codes nested under their theme, constructs as code sets `construct: <name>`) and the",
            "codings of `coder_1` and `coder_2`, with participant_id, case_id and wave as document variables.",
            "`ponzoni-eval validate` / `prepare` import it into the `coded_segments`, `codebook` and",
            "`documents` tables (`docs/qualitative-data.md`). Participants who dropped out keep",
            "their survey rows with an empty value and missing_reason `dropped_out`.",
        ]
    else:
        lines += [
            "The interviews come as three CSV tables (written with `--interviews csv`): `documents.csv` (the",
            "Dutch interview texts), `codebook.csv` and `coded_segments.csv` (the codings of `coder_1` and",
            "`coder_2`; `start`/`end` count characters in the document's text). Participants who dropped out",
            "keep their survey rows with an empty value and missing_reason `dropped_out`.",
        ]
    lines += [
        "",
        "## How they were made",
        "",
        "- Per site 10-20 professionals, 10-25 members of migrant organisations and 5-10 parents",
        "  (ids `SLO-P03`: P = professional, M = migrant_org, O = ouder/parent).",
        "- Survey: professionals and migrant_org members at t0, t1 and t2. Each item is",
        "  `round(site/role/wave mean + participant effect + occasion effect + item offset + noise)`",
        "  clipped to 1..5 (participant SD 0.6, occasion SD 0.5, item SD 0.45); `expectation_primary`",
        "  is drawn from role-specific probabilities (same answer at t2 with probability 0.6).",
        "- Activity log: monthly counts from a Poisson or negative binomial interrupted time series,",
        "  spread over the days of the month, one row per event.",
        "- Interviews: per document and code a presence draw (probability by role, wave and site),",
        "  1-3 sentences per present code from varied Dutch templates, mixed with neutral answers;",
        "  `coder_2` re-codes a quarter of the documents, missing some codes, adding some, and",
        "  sometimes including the interviewer's question in the selection.",
        "",
        "## Built-in effects",
        "",
        "Survey (1-5 Likert; participant random intercepts, intended ICC "
        f"{survey['icc_intended']}; `trust_5` is reverse-coded):",
        "",
        f"- trust: t0 mean {survey['trust']['t0_mean']}, rising by the site's `trust_change` to t2 (half of it by t1);",
        f"- own willingness {survey['own_willingness']['mean']}, stable, both roles; perceived willingness of the",
        f"  other side {survey['perceived_willingness']['t0_mean']} at t0 (perception gap {survey['perception_gap_t0']}),",
        "  rising by `perceived_willingness_change`;",
        f"- expect_strengthen: migrant_org {survey['expect_strengthen']['mean']['migrant_org']}, professional "
        f"{survey['expect_strengthen']['mean']['professional']}; expect_bridge: professional "
        f"{survey['expect_bridge']['mean']['professional']}, migrant_org {survey['expect_bridge']['mean']['migrant_org']};",
        "- expectation_primary (1 = strengthen the organisation, 2 = bridge to migrant parents, 3 = both):",
        "  migrant_org P = 0.70 / 0.15 / 0.15, professional P = 0.15 / 0.70 / 0.15;",
        f"- feeling_judged (migrant_org): t0 {survey['feeling_judged']['t0_mean']}, changing by `feeling_judged_change`;",
        "- safe_space (t1, t2): the site's `safe_space_mean`.",
        "",
        f"Missing: {effects_['missingness']['item_missing_rate']:.0%} of items; drop-out "
        f"{effects_['missingness']['dropout_by_t1']:.0%} by t1 and {effects_['missingness']['dropout_by_t2']:.0%} by t2.",
        "",
        f"Activity log: {activity['months_before']} months before and {activity['months_after']} after intervention_start;",
        f"help-seeking (`{activity['help_seeking_event']}`) at the site's baseline per month (below)",
        "before the start, then multiplied by the level rate ratio and by the slope rate ratio per month.",
        "Joint meetings and activities rise after the start.",
        f"Why help-seeking is designed this way: {activity['help_seeking_design']}",
        "",
        "Interviews: t0 and t2; codes' prevalence differs by role, wave and site (see `effects.json`).",
        f"Built-in dissonance: {interviews['dissonance']['note']}. Built-in agreement: `{interviews['agreement']['code']}` is "
        f"{interviews['agreement']['note']}.",
        f"A share of {interviews['double_coded_share']:.0%} of the documents is coded by a second coder; intended Cohen's",
        f"kappa {interviews['kappa_intended']} ({interviews['kappa_level']}).",
        "",
        "| site | intervention_start | trust_change | perceived_willingness_change | feeling_judged_change | "
        "safe_space_mean | help-seeking / month before | level RR | slope RR / month | NB dispersion |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    shown = list(effects_["sites"].items())
    for site, values in shown[:10]:
        lines.append(
            f"| {site} | {values['intervention_start']} | {values['trust_change']:+.2f} | {values['perceived_willingness_change']:+.2f} | "
            f"{values['feeling_judged_change']:+.2f} | {values['safe_space_mean']:.2f} | "
            f"{values['help_seeking_baseline_per_month'] * values['activity_volume']:.1f} | {values['help_seeking_level_rate_ratio']:.2f} | "
            f"{values['help_seeking_slope_rate_ratio']:.3f} | {values['help_seeking_dispersion']:.3f} |"
        )
    if len(shown) > 10:
        lines.append(f"| ... {len(shown) - 10} more sites in `effects.json` | | | | | | | | | |")
    return "\n".join(lines) + "\n"


def _refuse_other_data(out_dir: Path) -> None:
    """Raise unless `out_dir` is absent, empty, or an earlier synthetic example."""
    if out_dir.exists() and not out_dir.is_dir():
        raise DataError("is a file, not a folder", file=str(out_dir), expected="a folder for the example data")
    if not out_dir.is_dir() or not any(out_dir.iterdir()):
        return
    metadata, _ = read_dataset_metadata(out_dir)
    if metadata.get("synthetic") is not True:
        raise DataError(
            "will not write the example into a folder that holds other files (its dataset.toml does not say "
            "synthetic = true); choose a new or empty folder",
            file=str(out_dir),
            expected="a new, empty or earlier example folder",
        )


def write_example(out_dir: Path | str, n_sites: int = 3, seed: int = DEFAULT_SEED, *, interviews: str = "qdpx") -> list[Path]:
    """Write the SYNTHETIC example: a CSV per survey/activity table, the interviews as ``interviews.qdpx``,
    ``effects.json``, ``dataset.toml``, ``README.md`` and the analysis plan ``analysis_plan.toml``.

    CSVs are UTF-8, comma-separated, ``\\n`` line ends, dates as YYYY-MM-DD.
    The interviews (``documents``, ``codebook``, ``coded_segments`` of
    `generate`) are one REFI-QDA project written by
    `ponzoni_eval.qual.write.write_qdpx`, the path by which coded interviews enter
    an analysis (`ponzoni_eval.data.read.read_raw_dir` imports it). The same
    arguments always give byte-identical files.

    An earlier example folder is rewritten in place; a folder that holds
    other files and no ``dataset.toml`` marked ``synthetic = true`` is
    refused, so the example never overwrites real data.

    Parameters
    ----------
    out_dir : path
        Folder to write to (created when missing).
    n_sites, seed : int
        As for `generate`.
    interviews : {"qdpx", "csv"}
        ``"qdpx"`` (default) writes the interviews as one REFI-QDA project;
        ``"csv"`` writes ``coded_segments.csv``, ``codebook.csv`` and
        ``documents.csv`` instead, the same tables in the raw CSV form. The
        benchmarks use CSV: a REFI-QDA archive is refused above
        `ponzoni_eval.qual.archive.ArchiveLimits.max_members` documents (about 170
        scaled sites), and CSV keeps every size of the benchmark on one path.

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    DataError
        `out_dir` is a file, or a folder with other data in it.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     names = sorted(p.name for p in write_example(folder))
    >>> names  # doctest: +NORMALIZE_WHITESPACE
    ['README.md', 'activity_log.csv', 'analysis_plan.toml', 'cases.csv', 'dataset.toml', 'effects.json', 'instrument.csv',
     'interviews.qdpx', 'participants.csv', 'survey_responses.csv']
    """
    if interviews not in ("qdpx", "csv"):
        raise ValueError(f"interviews must be 'qdpx' or 'csv', got {interviews!r}")
    out_dir = Path(out_dir)
    _refuse_other_data(out_dir)
    tables = generate(n_sites=n_sites, seed=seed)
    built_in = effects(n_sites=n_sites, seed=seed)
    as_csv = [name for name in tables if name not in QDA_TABLES or interviews == "csv"]
    written = [write_csv(_as_csv_frame(tables[name]), out_dir / f"{name}.csv", neutralise=False) for name in as_csv]  # raw data, read back as typed
    if interviews == "qdpx":
        written.append(
            write_qdpx(tables["coded_segments"], tables["codebook"], tables["documents"], out_dir / INTERVIEWS_FILE, project_name=INTERVIEWS_PROJECT)
        )
    written.append(atomic_write_text(out_dir / "effects.json", json.dumps(built_in, indent=2, ensure_ascii=False) + "\n"))
    written.append(atomic_write_text(out_dir / DATASET_METADATA_FILE, _dataset_toml(n_sites, seed, interviews)))
    written.append(atomic_write_text(out_dir / "README.md", _readme(built_in, tables, interviews)))
    written.append(write_plan_template(out_dir))  # the integration's analysis plan (integrate.load_analysis_plan)
    return written
