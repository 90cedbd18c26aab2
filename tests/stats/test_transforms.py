"""Tests for ponzoni_eval.transforms: hand-computed cases, errors, properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hypothesis_profiles import examples
from ponzoni_eval.stats import transforms
from ponzoni_eval._core.errors import DataError
from ponzoni_eval._core.vocabulary import WAVES
from ponzoni_eval.stats.transforms import (
    CHANGE_COLUMNS,
    ITEM_RESPONSE_COLUMNS,
    MONTHLY_COLUMNS,
    SCORE_COLUMNS,
    change_scores,
    item_responses,
    monthly_activity,
    score_scales,
)

# --- small hand-made tables ---------------------------------------------------------


@pytest.fixture
def instrument() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item_id": ["tr1", "tr2", "tr3", "ow1", "ow2", "hs1", "exp1"],
            "scale": ["trust", "trust", "trust", "own_willingness", "own_willingness", "help_seeking", "expectation"],
            "wording_nl": "...",
            "wording_en": "...",
            "response_min": [1, 1, 1, 1, 1, 1, 1],
            "response_max": [5, 5, 5, 7, 7, 4, 3],
            "reverse_coded": [False, False, True, False, False, False, False],
            "roles": [
                "professional;migrant_org",
                "professional;migrant_org",
                "professional;migrant_org",
                "professional;migrant_org",
                "professional;migrant_org",
                "parent",
                "professional;migrant_org",
            ],
            "waves": ["", "", "", "t0;t2", "t0", None, "t0"],
            "level": ["ordinal", "ordinal", "ordinal", "ordinal", "ordinal", "ordinal", "nominal"],
            "value_labels": [None, None, None, None, None, None, "1=bridge_to_parents;2=strengthen_organisation;3=other"],
        }
    )


@pytest.fixture
def participants() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "participant_id": ["P01", "P02", "M01", "O01"],
            "case_id": ["slotervaart", "slotervaart", "slotervaart", "poelenburg_a"],
            "role": ["professional", "professional", "migrant_org", "parent"],
            "organisation": ["jeugdteam", "jeugdteam", "moskee", None],
        }
    )


def _rows(participant, wave, values: dict) -> list[dict]:
    return [dict(participant_id=participant, wave=wave, item_id=item, value=value) for item, value in values.items()]


@pytest.fixture
def responses() -> pd.DataFrame:
    rows = (
        _rows("P01", "t0", {"tr1": 4, "tr2": 3, "tr3": 2, "ow1": 6, "ow2": 5, "exp1": 1})
        + _rows("P01", "t2", {"tr1": 5, "tr2": 5, "tr3": 1, "ow1": 7})
        + _rows("P02", "t0", {"tr1": 2, "tr2": np.nan, "tr3": np.nan, "ow1": np.nan, "ow2": 4, "exp1": 1})
        + _rows("M01", "t0", {"tr1": 3, "tr2": 3, "tr3": np.nan, "ow1": 2, "ow2": 3, "exp1": 2})
        + _rows("O01", "t1", {"hs1": 3})
    )
    frame = pd.DataFrame(rows)
    frame["value"] = frame["value"].astype(float)
    return frame


def _score(scores: pd.DataFrame, participant: str, wave: str, scale: str) -> pd.Series:
    row = scores[(scores.participant_id == participant) & (scores.wave == wave) & (scores.scale == scale)]
    assert len(row) == 1, f"expected one row for {participant} {wave} {scale}, found {len(row)}"
    return row.iloc[0]


# --- score_scales ---------------------------------------------------------------------


def test_scale_score_reverse_codes_and_averages(responses, instrument, participants):
    scores = score_scales(responses, instrument, participants)
    assert tuple(scores.columns) == SCORE_COLUMNS
    p01 = _score(scores, "P01", "t0", "trust")
    # tr3 is reverse coded on 1..5: 2 -> 1 + 5 - 2 = 4; mean(4, 3, 4) = 11/3
    assert p01.value == pytest.approx(11 / 3)
    assert (p01.n_items, p01.n_answered) == (3, 3)
    assert _score(scores, "P01", "t2", "trust").value == pytest.approx((5 + 5 + 5) / 3)
    assert p01.case_id == "slotervaart" and p01.role == "professional"


def test_too_few_answers_give_missing_score_with_counts(responses, instrument, participants):
    scores = score_scales(responses, instrument, participants)
    p02 = _score(scores, "P02", "t0", "trust")
    assert np.isnan(p02.value)
    assert (p02.n_items, p02.n_answered) == (3, 1)
    # 2 of 3 answered meets the default 2/3 exactly (no float rounding loss)
    assert _score(scores, "M01", "t0", "trust").value == pytest.approx(3.0)
    # 1 of 2 own_willingness items is below 2/3, but enough for min_answered=0.5
    assert np.isnan(_score(scores, "P02", "t0", "own_willingness").value)
    lenient = score_scales(responses, instrument, participants, min_answered=0.5)
    assert _score(lenient, "P02", "t0", "own_willingness").value == pytest.approx(4.0)


def test_items_asked_only_in_some_waves_and_roles(responses, instrument, participants):
    scores = score_scales(responses, instrument, participants)
    # ow2 is asked at t0 only: at t2 own_willingness has one item, answered
    ow_t2 = _score(scores, "P01", "t2", "own_willingness")
    assert (ow_t2.n_items, ow_t2.n_answered, ow_t2.value) == (1, 1, 7.0)
    # the parent is asked help_seeking only; no trust row for them
    parent = scores[scores.participant_id == "O01"]
    assert parent.scale.tolist() == ["help_seeking"]
    assert parent.wave.tolist() == ["t1"]


def test_nominal_items_are_not_scored(responses, instrument, participants):
    scores = score_scales(responses, instrument, participants)
    assert "expectation" not in set(scores.scale)


def test_wave_is_ordered_categorical(responses, instrument, participants):
    scores = score_scales(responses, instrument, participants)
    assert isinstance(scores.wave.dtype, pd.CategoricalDtype)
    assert scores.wave.dtype.ordered and list(scores.wave.dtype.categories) == list(WAVES)


def test_prorated_sum_is_mean_times_items(responses, instrument, participants):
    means = score_scales(responses, instrument, participants)
    sums = score_scales(responses, instrument, participants, method="prorated_sum")
    np.testing.assert_allclose(sums.value, means.value * means.n_items)


def test_inputs_are_not_modified(responses, instrument, participants):
    before = [frame.copy() for frame in (responses, instrument, participants)]
    score_scales(responses, instrument, participants)
    item_responses(responses, instrument, participants)
    for original, copy in zip((responses, instrument, participants), before):
        pd.testing.assert_frame_equal(original, copy)


def test_missing_column_is_named(responses, instrument, participants):
    with pytest.raises(DataError, match="reverse_coded") as info:
        score_scales(responses, instrument.drop(columns="reverse_coded"), participants)
    assert info.value.file == "instrument" and info.value.column == "reverse_coded"


def test_unknown_item_is_named_with_row(responses, instrument, participants):
    bad = pd.concat([responses, pd.DataFrame(_rows("P01", "t1", {"tr9": 3.0}))], ignore_index=True)
    with pytest.raises(DataError, match="tr9") as info:
        score_scales(bad, instrument, participants)
    assert info.value.row == len(bad) + 1  # last data row; header is row 1
    assert info.value.column == "item_id"


def test_unknown_participant_is_named(responses, instrument, participants):
    bad = pd.concat([responses, pd.DataFrame(_rows("X99", "t0", {"tr1": 3.0}))], ignore_index=True)
    with pytest.raises(DataError, match="X99"):
        score_scales(bad, instrument, participants)


def test_out_of_range_value_is_rejected(responses, instrument, participants):
    bad = responses.copy()
    bad.loc[0, "value"] = 9.0
    with pytest.raises(DataError, match="range") as info:
        score_scales(bad, instrument, participants)
    assert info.value.expected == "1 to 5"


def test_duplicate_answer_is_rejected(responses, instrument, participants):
    bad = pd.concat([responses, responses.iloc[[0]]], ignore_index=True)
    with pytest.raises(DataError, match="duplicate"):
        score_scales(bad, instrument, participants)


def test_answer_to_item_not_asked_of_role_is_rejected(responses, instrument, participants):
    bad = pd.concat([responses, pd.DataFrame(_rows("O01", "t1", {"tr1": 3.0}))], ignore_index=True)
    with pytest.raises(DataError, match="does not ask"):
        score_scales(bad, instrument, participants)
    # an empty row for a not-asked item is harmless (templates often hold every item)
    harmless = pd.concat([responses, pd.DataFrame(_rows("O01", "t1", {"tr1": np.nan}))], ignore_index=True)
    assert len(score_scales(harmless, instrument, participants)) == len(score_scales(responses, instrument, participants))


def test_bad_arguments_are_rejected(responses, instrument, participants):
    with pytest.raises(DataError, match="scoring method"):
        score_scales(responses, instrument, participants, method="median")
    with pytest.raises(DataError, match="min_answered"):
        score_scales(responses, instrument, participants, min_answered=0)


def test_unknown_role_in_instrument_is_rejected(responses, instrument, participants):
    bad = instrument.copy()
    bad.loc[2, "roles"] = "professional;volunteer"
    with pytest.raises(DataError, match="volunteer") as info:
        score_scales(responses, bad, participants)
    assert info.value.row == 4


# --- item_responses ----------------------------------------------------------------------


def test_item_responses_return_labels_for_nominal_items(responses, instrument, participants):
    items = item_responses(responses, instrument, participants)
    assert tuple(items.columns) == ITEM_RESPONSE_COLUMNS
    assert set(items.item_id) == {"exp1"}
    labels = dict(zip(items.participant_id, items.label))
    assert labels == {"P01": "bridge_to_parents", "P02": "bridge_to_parents", "M01": "strengthen_organisation"}


def test_item_responses_of_any_level_keep_raw_codes(responses, instrument, participants):
    items = item_responses(responses, instrument, participants, level=None, items=["tr3"])
    # not reverse coded: categories and raw codes are reported as answered
    assert items.loc[items.participant_id == "P01", "value"].tolist() == [2.0, 1.0]
    assert items.loc[items.participant_id == "P01", "label"].tolist() == ["2", "1"]
    with pytest.raises(DataError, match="unknown item"):
        item_responses(responses, instrument, participants, items=["nope"])


def test_malformed_value_labels_are_rejected(responses, instrument, participants):
    bad = instrument.copy()
    bad.loc[6, "value_labels"] = "1=bridge;two=other"
    with pytest.raises(DataError, match="value labels") as info:
        item_responses(responses, bad, participants)
    assert info.value.row == 8


# --- change_scores -----------------------------------------------------------------------


def test_change_scores_difference_and_missing(responses, instrument, participants):
    scores = score_scales(responses, instrument, participants)
    change = change_scores(scores)
    assert tuple(change.columns) == CHANGE_COLUMNS
    trust = change[(change.participant_id == "P01") & (change.scale == "trust")].iloc[0]
    assert trust.value == pytest.approx(5 - 11 / 3)
    # M01 has no t2: the row is kept with a missing change
    m01 = change[(change.participant_id == "M01") & (change.scale == "trust")].iloc[0]
    assert np.isnan(m01.after) and np.isnan(m01.value)
    # the parent was only seen at t1: not part of a t0 -> t2 change
    assert "O01" not in set(change.participant_id)


def test_change_scores_reject_bad_waves(responses, instrument, participants):
    scores = score_scales(responses, instrument, participants)
    with pytest.raises(DataError, match="unknown wave"):
        change_scores(scores, after="t9")
    with pytest.raises(DataError, match="different"):
        change_scores(scores, before="t0", after="t0")


# --- monthly_activity --------------------------------------------------------------------


@pytest.fixture
def cases() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "case_id": ["slotervaart", "poelenburg_a"],
            "intervention_start": pd.to_datetime(["2016-03-10", "2016-01-01"]),
        }
    )


@pytest.fixture
def activity_log() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "case_id": ["slotervaart"] * 4 + ["poelenburg_a"] * 2,
            "date": pd.to_datetime(["2016-01-04", "2016-01-28", "2016-04-02", "2016-05-30", "2015-12-01", "2016-02-01"]),
            "event_type": [
                "joint_meeting",
                "joint_meeting",
                "referral_to_youth_team",
                "joint_meeting",
                "parenting_question_to_youth_team",
                "parenting_question_to_youth_team",
            ],
            "count": [1, 2, 1, 1, 0, 4],
        }
    )


def test_monthly_activity_zero_fills_each_case_window(activity_log, cases):
    monthly = monthly_activity(activity_log, cases)
    assert tuple(monthly.columns) == MONTHLY_COLUMNS
    slot = monthly[(monthly.case_id == "slotervaart") & (monthly.event_type == "joint_meeting")]
    assert slot.month.dt.strftime("%Y-%m").tolist() == ["2016-01", "2016-02", "2016-03", "2016-04", "2016-05"]
    assert slot["count"].tolist() == [3, 0, 0, 0, 1]
    assert slot.relative_month.tolist() == [-2, -1, 0, 1, 2]
    assert slot.post.tolist() == [0, 0, 1, 1, 1]
    # every type in the log is filled for every case (3 types x 5 months + 3 types x 3 months)
    assert len(monthly) == 3 * 5 + 3 * 3
    poel = monthly[(monthly.case_id == "poelenburg_a") & (monthly.event_type == "parenting_question_to_youth_team")]
    assert poel.relative_month.tolist() == [-1, 0, 1] and poel["count"].tolist() == [0, 0, 4]


def test_monthly_activity_restricts_event_types(activity_log, cases):
    monthly = monthly_activity(activity_log, cases, event_types=["referral_to_youth_team"])
    assert set(monthly.event_type) == {"referral_to_youth_team"}
    # the window still spans every logged month of the case
    assert len(monthly[monthly.case_id == "slotervaart"]) == 5
    with pytest.raises(DataError, match="tea_party"):
        monthly_activity(activity_log, cases, event_types=["tea_party"])


def test_monthly_activity_rejects_unknown_case_and_missing_start(activity_log, cases):
    with pytest.raises(DataError, match="poelenburg_a"):
        monthly_activity(activity_log, cases.iloc[[0]])
    no_start = cases.assign(intervention_start=pd.to_datetime(["2016-03-10", None]))
    with pytest.raises(DataError, match="intervention_start"):
        monthly_activity(activity_log, no_start)


def test_monthly_activity_rejects_negative_count(activity_log, cases):
    bad = activity_log.copy()
    bad.loc[3, "count"] = -1
    with pytest.raises(DataError, match="count") as info:
        monthly_activity(bad, cases)
    assert info.value.row == 5


# --- properties (hypothesis) -------------------------------------------------------------

ROLE_CHOICES = ("professional", "migrant_org", "parent")


@st.composite
def survey(draw):
    """A random instrument, participants and responses that satisfy the contracts."""
    n_scales = draw(st.integers(1, 3))
    item_rows = []
    for s in range(n_scales):
        low = draw(st.integers(0, 2))
        high = low + draw(st.integers(1, 6))
        for j in range(draw(st.integers(1, 4))):
            roles = draw(st.lists(st.sampled_from(ROLE_CHOICES), min_size=1, max_size=3, unique=True))
            waves = draw(st.lists(st.sampled_from(WAVES), min_size=0, max_size=3, unique=True))
            item_rows.append(
                dict(
                    item_id=f"s{s}i{j}",
                    scale=f"scale{s}",
                    response_min=low,
                    response_max=high,
                    reverse_coded=draw(st.booleans()),
                    roles=";".join(roles),
                    waves=";".join(waves),
                )
            )
    instrument = pd.DataFrame(item_rows)
    n_people = draw(st.integers(1, 6))
    participants = pd.DataFrame(
        {
            "participant_id": [f"id{i}" for i in range(n_people)],
            "case_id": [draw(st.sampled_from(["a", "b"])) for _ in range(n_people)],
            "role": [draw(st.sampled_from(ROLE_CHOICES)) for _ in range(n_people)],
        }
    )
    plan = transforms._instrument_plan(instrument)
    answer_rows = []
    for person in participants.itertuples():
        for wave in draw(st.lists(st.sampled_from(WAVES), min_size=1, max_size=3, unique=True)):
            asked = plan[(plan.role == person.role) & (plan.wave == wave)]
            # an empty row marks that the participant took part in the wave (kept
            # only when the item is not answered below: duplicates keep the last)
            answer_rows.append(dict(participant_id=person.participant_id, wave=wave, item_id=instrument.item_id[0], value=np.nan))
            for item in asked.itertuples():
                missing = draw(st.booleans()) and draw(st.booleans())
                value = np.nan if missing else float(draw(st.integers(int(item.response_min), int(item.response_max))))
                answer_rows.append(dict(participant_id=person.participant_id, wave=wave, item_id=item.item_id, value=value))
    responses = pd.DataFrame(answer_rows).drop_duplicates(["participant_id", "wave", "item_id"], keep="last")
    return instrument, participants, responses.reset_index(drop=True), plan


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=survey(), min_answered=st.sampled_from([0.5, 2 / 3, 1.0]), seed=st.integers(0, 2**16))
def test_scoring_properties(data, min_answered, seed):
    instrument, participants, responses, plan = data
    scores = score_scales(responses, instrument, participants, min_answered=min_answered)

    # row count: one row per participant x wave taken part in x scale asked of the role in that wave
    sessions = responses[["participant_id", "wave"]].drop_duplicates().merge(participants, on="participant_id")
    expected = sessions.merge(plan[["role", "wave", "scale"]].drop_duplicates(), on=["role", "wave"])
    assert len(scores) == len(expected)

    # no ID lost: everyone who was asked a scale is in the scores
    assert set(scores.participant_id) == set(expected.participant_id)

    # a score lies within the item range of its scale
    ranges = instrument.groupby("scale").agg(low=("response_min", "min"), high=("response_max", "max"))
    scored = scores.dropna(subset=["value"]).join(ranges, on="scale")
    assert ((scored.value >= scored.low - 1e-12) & (scored.value <= scored.high + 1e-12)).all()

    # counts are consistent with the rule
    assert (scores.n_answered <= scores.n_items).all()
    has_score = scores.value.notna()
    assert (has_score == (scores.n_answered >= min_answered * scores.n_items - 1e-9) & (scores.n_answered > 0)).all()

    # the order of response rows does not matter
    shuffled = responses.sample(frac=1, random_state=seed).reset_index(drop=True)
    pd.testing.assert_frame_equal(score_scales(shuffled, instrument, participants, min_answered=min_answered), scores)


@settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=survey())
def test_change_properties(data):
    instrument, participants, responses, _ = data
    scores = score_scales(responses, instrument, participants)
    forward = change_scores(scores, before="t0", after="t2")
    backward = change_scores(scores, before="t2", after="t0")
    # no participant x scale scored in either wave is lost
    in_waves = scores[scores.wave.isin(["t0", "t2"])][["participant_id", "scale"]].drop_duplicates()
    assert len(forward) == len(in_waves)
    # swapping the waves negates the change
    np.testing.assert_allclose(forward.value.to_numpy(), -backward.value.to_numpy(), equal_nan=True)


@settings(max_examples=examples(30), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=survey())
def test_item_response_properties(data):
    instrument, participants, responses, plan = data
    items = item_responses(responses, instrument, participants, level=None)
    # one row per participant x wave taken part in x item asked of the role in that wave
    sessions = responses[["participant_id", "wave"]].drop_duplicates().merge(participants, on="participant_id")
    expected = sessions.merge(plan[["role", "wave", "item_id"]].drop_duplicates(), on=["role", "wave"])
    assert len(items) == len(expected) and not items.duplicated(["participant_id", "wave", "item_id"]).any()
    assert set(items.participant_id) == set(expected.participant_id)  # no ID lost
    # raw codes, within the item's range, equal to the answers given (not reverse coded)
    ranged = items.dropna(subset=["value"]).merge(instrument[["item_id", "response_min", "response_max"]], on="item_id")
    assert ranged["value"].between(ranged["response_min"], ranged["response_max"]).all()
    given_answers = responses.dropna(subset=["value"]).set_index(["participant_id", "wave", "item_id"])["value"]
    shown = items.dropna(subset=["value"]).astype({"wave": "str"}).set_index(["participant_id", "wave", "item_id"])["value"]
    assert shown.sort_index().equals(given_answers.reindex(shown.index).sort_index())
    assert (items["label"].isna() == items["value"].isna()).all()


@st.composite
def activity(draw):
    n_rows = draw(st.integers(1, 30))
    case_ids = ["a", "b", "c"]
    log = pd.DataFrame(
        {
            "case_id": [draw(st.sampled_from(case_ids)) for _ in range(n_rows)],
            "date": [pd.Timestamp("2015-01-01") + pd.Timedelta(days=draw(st.integers(0, 900))) for _ in range(n_rows)],
            "event_type": [draw(st.sampled_from(["joint_meeting", "referral_to_youth_team", "parents_attending"])) for _ in range(n_rows)],
            "count": [draw(st.integers(0, 20)) for _ in range(n_rows)],
        }
    )
    cases = pd.DataFrame(
        {
            "case_id": case_ids,
            "intervention_start": [pd.Timestamp("2015-01-01") + pd.Timedelta(days=draw(st.integers(0, 900))) for _ in case_ids],
        }
    )
    return log, cases


@settings(max_examples=examples(40), deadline=None)
@given(data=activity())
def test_monthly_properties(data):
    log, cases = data
    monthly = monthly_activity(log, cases)
    # counts are conserved and no case is lost
    assert monthly["count"].sum() == log["count"].sum()
    assert set(monthly.case_id) == set(log.case_id)
    # one row per case x type x month in the case's window
    months = log.assign(m=log.date.dt.year * 12 + log.date.dt.month).groupby("case_id").m.agg(["min", "max"])
    window = (months["max"] - months["min"] + 1).sum()
    assert len(monthly) == window * log.event_type.nunique()
    assert not monthly.duplicated(["case_id", "event_type", "month"]).any()
    # relative_month counts whole months from the intervention month
    merged = monthly.merge(cases, on="case_id")
    expected = (merged.month.dt.year - merged.intervention_start.dt.year) * 12 + (
        merged.month.dt.month - merged.intervention_start.dt.month
    )
    assert (merged.relative_month == expected).all()
    assert (monthly.post == (monthly.relative_month >= 0).astype(int)).all()
    # idempotent: a log already summed to month starts gives the same series
    summed = monthly[monthly["count"] > 0].rename(columns={"month": "date"})[["case_id", "date", "event_type", "count"]]
    if len(summed) and summed.case_id.nunique() == log.case_id.nunique():
        again = monthly_activity(summed, cases)
        # the window can only shrink when the edge months held only zero counts
        inner = monthly.merge(again, on=["case_id", "event_type", "month"], suffixes=("", "_again"))
        assert (inner["count"] == inner["count_again"]).all()
        assert again["count"].sum() == monthly["count"].sum()
