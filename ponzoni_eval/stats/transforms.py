"""Tidy transforms: from validated raw tables to the frames analyses take.

Three derived frames (see ``docs/architecture.md``):

- **scores** (`score_scales`): one row per participant x wave x scale with the
  scale score and how many of the items asked were answered.
- **change** (`change_scores`): one row per participant x scale with the score
  before, after and the difference.
- **monthly** (`monthly_activity`): one row per case x event type x calendar
  month, zero-filled over each case's observed window, with the month counted
  from the intervention start.

Nominal items (``instrument.level == "nominal"``) are never averaged into a
scale; `item_responses` returns them, with their value labels, for crosstabs.

Every function checks its input and raises `ponzoni_eval._core.errors.DataError`
naming the table, column, row or group that is wrong. None of them alters its
input frames.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from ponzoni_eval._core.errors import DataError, require_columns
from ponzoni_eval._core.vocabulary import EVENT_TYPES, ROLES, WAVES

__all__ = [
    "SCORE_COLUMNS",
    "CHANGE_COLUMNS",
    "MONTHLY_COLUMNS",
    "ITEM_RESPONSE_COLUMNS",
    "WAVE_DTYPE",
    "score_scales",
    "item_responses",
    "change_scores",
    "monthly_activity",
]

SCORE_COLUMNS = ("participant_id", "case_id", "role", "wave", "scale", "value", "n_items", "n_answered")
CHANGE_COLUMNS = ("participant_id", "case_id", "role", "scale", "before", "after", "value")
MONTHLY_COLUMNS = ("case_id", "event_type", "month", "relative_month", "post", "count")
ITEM_RESPONSE_COLUMNS = ("participant_id", "case_id", "role", "wave", "item_id", "scale", "value", "label")

WAVE_DTYPE = pd.CategoricalDtype(list(WAVES), ordered=True)
"""Waves as an ordered categorical t0 < t1 < t2 (the architecture's contract)."""

_SCORE_METHODS = ("mean", "prorated_sum")
_SCALE_LEVELS = ("ordinal", "interval")
# Shares such as 2/3 are compared to n_answered / n_items; the tolerance keeps
# 2 of 3 answered from failing a 2/3 threshold through float rounding.
_SHARE_TOLERANCE = 1e-9


# --- input checks -------------------------------------------------------------


def _first_row(mask: np.ndarray | pd.Series) -> int:
    """Spreadsheet row (header = 1) of the first True in a positional mask."""
    return int(np.flatnonzero(np.asarray(mask))[0]) + 2


def _check_unique(frame: pd.DataFrame, key: Sequence[str], table: str) -> None:
    duplicated = frame.duplicated(list(key), keep=False)
    if duplicated.any():
        first = frame.loc[duplicated.to_numpy()].iloc[0]
        raise DataError(
            "duplicate rows for the same " + " x ".join(key),
            file=table,
            row=_first_row(duplicated),
            column=key[-1],
            expected="one row per " + " x ".join(key),
            found=", ".join(f"{k}={first[k]}" for k in key),
            rule="unique_key",
        )


def _check_known(values: pd.Series, known: Iterable[str], table: str, column: str, what: str) -> None:
    """Raise when `values` holds anything outside `known`.

    `values` must carry the positional row index of its table (exploded list
    columns repeat it), so the error can name the spreadsheet row.
    """
    known_set = set(known)
    unknown = ~values.isin(known_set) & values.notna()
    if unknown.any():
        found = sorted(map(str, values[unknown].unique()))
        raise DataError(
            f"unknown {what}: {', '.join(found[:5])}" + (" ..." if len(found) > 5 else ""),
            file=table,
            row=int(values.index[np.flatnonzero(unknown.to_numpy())[0]]) + 2,
            column=column,
            expected=f"one of {sorted(known_set)[:10]}" + (" ..." if len(known_set) > 10 else ""),
            found=found[0],
            rule="known_value",
        )


def _split_list_column(series: pd.Series) -> pd.Series:
    """A ';'-separated text column as an exploded series of stripped parts."""
    parts = series.fillna("").astype(str).str.split(";").explode().str.strip()
    return parts[parts != ""]


def _as_bool(series: pd.Series, table: str, column: str) -> pd.Series:
    if pd.api.types.is_bool_dtype(series) and not series.isna().any():
        return series.astype(bool)
    text = series.astype("string").str.strip().str.lower()
    mapping = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
    converted = text.map(mapping)
    bad = converted.isna()
    if bad.any():
        raise DataError(
            "not a true/false value",
            file=table,
            row=_first_row(bad),
            column=column,
            expected="True/False",
            found=series[bad].iloc[0],
            rule="boolean",
        )
    return converted.astype(bool)


# --- the item plan: which item each role is asked in each wave ------------------


def _instrument_plan(instrument: pd.DataFrame) -> pd.DataFrame:
    """One row per item x role x wave the item is asked in.

    Columns: item_id, scale, level, response_min, response_max, reverse_coded,
    role, wave.
    """
    require_columns(
        instrument,
        ("item_id", "scale", "response_min", "response_max", "reverse_coded", "roles"),
        "instrument",
    )
    _check_unique(instrument, ("item_id",), "instrument")
    items = instrument.reset_index(drop=True)
    out_of_order = ~(pd.to_numeric(items["response_min"]) < pd.to_numeric(items["response_max"]))
    if out_of_order.any():
        raise DataError(
            "response_min must be below response_max",
            file="instrument",
            row=_first_row(out_of_order),
            column="response_min",
            found=f"{items.loc[out_of_order, 'response_min'].iloc[0]} .. {items.loc[out_of_order, 'response_max'].iloc[0]}",
            rule="item_range",
        )
    level = items["level"] if "level" in items.columns else pd.Series(pd.NA, index=items.index, dtype="string")
    level = level.astype("string").str.strip().str.lower().fillna("ordinal").replace("", "ordinal")
    base = pd.DataFrame(
        {
            "item_id": items["item_id"].astype(str),
            "scale": items["scale"].astype(str),
            "level": level.astype(str),
            "response_min": pd.to_numeric(items["response_min"]).astype(float),
            "response_max": pd.to_numeric(items["response_max"]).astype(float),
            "reverse_coded": _as_bool(items["reverse_coded"], "instrument", "reverse_coded"),
        }
    )
    roles = _split_list_column(items["roles"]).rename("role")
    _check_known(roles, ROLES, "instrument", "roles", "role(s)")
    if roles.index.nunique() < len(items):
        no_role = ~items.index.isin(roles.index)
        raise DataError("an item must list the roles that answer it", file="instrument", row=_first_row(no_role),
                        column="roles", found=items.loc[no_role, "item_id"].iloc[0], rule="required_value")
    # An empty 'waves' cell means the item is asked in every wave.
    waves_text = items["waves"].fillna("").astype(str) if "waves" in items.columns else pd.Series("", index=items.index)
    waves_text = waves_text.where(waves_text.str.strip() != "", ";".join(WAVES))
    waves = _split_list_column(waves_text).rename("wave")
    _check_known(waves, WAVES, "instrument", "waves", "wave(s)")
    plan = base.join(roles, how="inner").join(waves, how="inner")
    return plan.reset_index(drop=True)


def _response_sessions(responses: pd.DataFrame, participants: pd.DataFrame) -> pd.DataFrame:
    """Responses joined to participants (case_id, role), with input checks."""
    require_columns(responses, ("participant_id", "wave", "item_id", "value"), "survey_responses")
    require_columns(participants, ("participant_id", "case_id", "role"), "participants")
    _check_unique(participants, ("participant_id",), "participants")
    answers = responses.loc[:, ["participant_id", "wave", "item_id", "value"]].reset_index(drop=True)
    answers["participant_id"] = answers["participant_id"].astype(str)
    answers["wave"] = answers["wave"].astype(str)
    answers["item_id"] = answers["item_id"].astype(str)
    try:
        answers["value"] = pd.to_numeric(answers["value"]).astype(float)
    except (TypeError, ValueError) as exc:
        raise DataError("survey values must be numbers", file="survey_responses", column="value", rule="numeric") from exc
    _check_known(answers["wave"], WAVES, "survey_responses", "wave", "wave(s)")
    _check_unique(answers, ("participant_id", "wave", "item_id"), "survey_responses")
    people = participants.loc[:, ["participant_id", "case_id", "role"]].copy()
    people["participant_id"] = people["participant_id"].astype(str)
    _check_known(people["role"].reset_index(drop=True), ROLES, "participants", "role", "role(s)")
    _check_known(answers["participant_id"], people["participant_id"], "survey_responses", "participant_id", "participant(s)")
    return answers.merge(people, on="participant_id", how="left", validate="many_to_one")


def asked_items(
    responses: pd.DataFrame,
    instrument: pd.DataFrame,
    participants: pd.DataFrame,
    *,
    levels: Sequence[str],
    scales: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Every item each participant was asked in each wave they took part in.

    A participant "took part" in a wave when the responses hold any row for
    them in that wave (even an empty one). The result has one row per
    participant x wave x asked item, with the answer reverse coded
    (``min + max - x``) and NaN where it was not answered. Items of other
    measurement levels than `levels` are left out.
    """
    answers = _response_sessions(responses, participants)
    plan = _instrument_plan(instrument)
    _check_known(answers["item_id"], plan["item_id"], "survey_responses", "item_id", "item(s) not in the instrument")
    plan = plan[plan["level"].isin(levels)]
    if scales is not None:
        unknown = sorted(set(scales) - set(plan["scale"]))
        if unknown:
            raise DataError(
                f"unknown scale(s): {', '.join(unknown)}",
                file="instrument",
                column="scale",
                expected=f"one of {sorted(plan['scale'].unique())}",
                found=unknown[0],
                rule="known_scale",
            )
        plan = plan[plan["scale"].isin(scales)]

    sessions = answers.loc[:, ["participant_id", "case_id", "role", "wave"]].drop_duplicates()
    asked = sessions.merge(plan, on=["role", "wave"], how="inner")
    asked = asked.merge(
        answers.loc[:, ["participant_id", "wave", "item_id", "value"]],
        on=["participant_id", "wave", "item_id"],
        how="left",
        validate="one_to_one",
    )

    # An answer to a scored item the participant's role was not asked in that wave
    # means the data and the instrument disagree; averaging it in would be silent.
    answered = answers[answers["value"].notna() & answers["item_id"].isin(plan["item_id"])]
    stray = answered.merge(
        asked.loc[:, ["participant_id", "wave", "item_id"]], on=["participant_id", "wave", "item_id"], how="left", indicator=True
    )
    stray = stray[stray["_merge"] == "left_only"]
    if len(stray):
        first = stray.iloc[0]
        raise DataError(
            f"participant {first['participant_id']} ({first['role']}) answered item {first['item_id']} in wave "
            f"{first['wave']}, but the instrument does not ask that item of this role in this wave",
            file="survey_responses",
            column="item_id",
            expected="items whose 'roles' and 'waves' include the participant's role and the wave",
            found=first["item_id"],
            rule="item_asked",
        )

    out_of_range = asked["value"].notna() & (
        (asked["value"] < asked["response_min"]) | (asked["value"] > asked["response_max"])
    )
    if out_of_range.any():
        first = asked.loc[out_of_range.to_numpy()].iloc[0]
        raise DataError(
            f"value outside the item's range for participant {first['participant_id']}, item {first['item_id']}, "
            f"wave {first['wave']}",
            file="survey_responses",
            column="value",
            expected=f"{first['response_min']:g} to {first['response_max']:g}",
            found=first["value"],
            rule="in_range",
        )

    asked["value"] = asked["value"].where(
        ~asked["reverse_coded"], asked["response_min"] + asked["response_max"] - asked["value"]
    )
    return asked


# --- public transforms --------------------------------------------------------------


def score_scales(
    responses: pd.DataFrame,
    instrument: pd.DataFrame,
    participants: pd.DataFrame,
    *,
    min_answered: float = 2 / 3,
    method: str = "mean",
) -> pd.DataFrame:
    """Scale scores per participant, wave and scale.

    Reverse-coded items are recoded as ``response_min + response_max - x``;
    the score is the mean of the answered items when the participant answered
    at least `min_answered` of the items their role was asked in that wave,
    otherwise it is missing (and ``n_answered`` shows why).

    Parameters
    ----------
    responses : DataFrame
        ``survey_responses``: participant_id, wave, item_id, value (NaN = missing).
    instrument : DataFrame
        Item bank: item_id, scale, response_min, response_max, reverse_coded,
        roles, optional waves and level. Nominal items are not scored.
    participants : DataFrame
        participant_id, case_id, role.
    min_answered : float, default 2/3
        Share of the asked items that must be answered for a score (0 < share <= 1).
    method : {"mean", "prorated_sum"}
        ``"mean"`` keeps the item metric; ``"prorated_sum"`` is the mean times
        the number of items asked (a sum score that does not shrink when an
        item is skipped).

    Returns
    -------
    DataFrame
        `SCORE_COLUMNS`: participant_id, case_id, role, wave (ordered
        categorical), scale, value, n_items, n_answered. One row per
        participant x wave they took part in x scale with at least one item
        asked of their role in that wave.

    Raises
    ------
    DataError
        Missing columns, unknown participants, items, waves or roles,
        duplicate answers, values outside an item's range, answers to items the
        role was not asked.

    Notes
    -----
    Score of participant *i* on scale *s* in wave *w*:

    .. math:: \\bar x_{isw} = \\frac{1}{a} \\sum_{j \\in A} x^*_{ij},
       \\quad x^* = \\begin{cases} \\min_j + \\max_j - x & \\text{reverse coded} \\\\ x & \\text{otherwise}\\end{cases}

    where *A* is the set of the *a* answered items among the *k* asked; the
    score is missing unless :math:`a / k \\ge` `min_answered`. This is
    person-mean imputation for the unanswered items, defensible when few are
    missing and the items are roughly parallel (Schafer & Graham 2002);
    Likert responses are treated as interval for the mean.

    References
    ----------
    Schafer, J. L., & Graham, J. W. (2002). Missing data: Our view of the
    state of the art. *Psychological Methods*, 7(2), 147-177.

    Examples
    --------
    >>> import pandas as pd
    >>> instrument = pd.DataFrame({"item_id": ["tr1", "tr2", "tr3"], "scale": "trust",
    ...     "response_min": 1, "response_max": 5, "reverse_coded": [False, False, True],
    ...     "roles": "professional;migrant_org"})
    >>> participants = pd.DataFrame({"participant_id": ["p1"], "case_id": ["slotervaart"],
    ...     "role": ["professional"]})
    >>> responses = pd.DataFrame({"participant_id": "p1", "wave": "t0",
    ...     "item_id": ["tr1", "tr2", "tr3"], "value": [4.0, None, 2.0]})
    >>> score_scales(responses, instrument, participants)[["scale", "value", "n_items", "n_answered"]]
       scale  value  n_items  n_answered
    0  trust    4.0        3           2
    """
    if method not in _SCORE_METHODS:
        raise DataError("unknown scoring method", expected=f"one of {_SCORE_METHODS}", found=method, rule="argument")
    if not (0 < float(min_answered) <= 1):
        raise DataError("min_answered must be a share above 0 and at most 1", found=min_answered, rule="argument")
    asked = asked_items(responses, instrument, participants, levels=_SCALE_LEVELS)
    keys = ["participant_id", "case_id", "role", "wave", "scale"]
    scores = (
        asked.groupby(keys, sort=False, observed=True)["value"]
        .agg(n_items="size", n_answered="count", item_mean="mean")
        .reset_index()
    )
    enough = (scores["n_answered"] > 0) & (
        scores["n_answered"] >= float(min_answered) * scores["n_items"] - _SHARE_TOLERANCE
    )
    value = scores["item_mean"].where(enough)
    if method == "prorated_sum":
        value = value * scores["n_items"]
    scores["value"] = value.astype(float)
    scores["wave"] = scores["wave"].astype(WAVE_DTYPE)
    scores["n_items"] = scores["n_items"].astype("int64")
    scores["n_answered"] = scores["n_answered"].astype("int64")
    scores = scores.sort_values(["case_id", "participant_id", "wave", "scale"], kind="stable")
    return scores.loc[:, list(SCORE_COLUMNS)].reset_index(drop=True)


def _parse_value_labels(instrument: pd.DataFrame) -> pd.DataFrame:
    """``value_labels`` ('1=label;2=label') as rows item_id, value, label."""
    if "value_labels" not in instrument.columns:
        return pd.DataFrame({"item_id": pd.Series(dtype=str), "value": pd.Series(dtype=float), "label": pd.Series(dtype=str)})
    pairs = _split_list_column(instrument["value_labels"].reset_index(drop=True))
    code_text = pairs.str.split("=", n=1).str[0].str.strip()
    label = pairs.str.split("=", n=1).str[1].str.strip()
    codes = pd.to_numeric(code_text, errors="coerce")
    bad = codes.isna() | label.isna() | (label == "")
    if bad.any():
        raise DataError(
            "value labels must look like '1=label;2=label'",
            file="instrument",
            row=int(pairs.index[np.flatnonzero(bad.to_numpy())[0]]) + 2,
            column="value_labels",
            found=pairs[bad].iloc[0],
            rule="value_labels",
        )
    item_ids = instrument["item_id"].astype(str).reset_index(drop=True)
    labels = pd.DataFrame({"item_id": item_ids[pairs.index].to_numpy(), "value": codes.to_numpy(float), "label": label.to_numpy()})
    return labels.drop_duplicates(["item_id", "value"], keep="first")


def item_responses(
    responses: pd.DataFrame,
    instrument: pd.DataFrame,
    participants: pd.DataFrame,
    *,
    level: str | None = "nominal",
    items: Sequence[str] | None = None,
    scales: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Single item answers with their value labels, for crosstabs.

    Parameters
    ----------
    responses, instrument, participants : DataFrame
        As for `score_scales`.
    level : str or None, default "nominal"
        Keep items of this measurement level (``None``: every level).
    items, scales : sequence of str, optional
        Keep only these items / the items of these scales.

    Returns
    -------
    DataFrame
        `ITEM_RESPONSE_COLUMNS`: participant_id, case_id, role, wave (ordered
        categorical), item_id, scale, value, label. One row per participant x
        wave x asked item; ``value`` is the raw code (not reverse coded, these
        are categories) and ``label`` its value label (the code as text when
        the instrument has no label for it; missing when unanswered).

    Notes
    -----
    Nominal answers are categories, so they are neither reverse coded nor
    averaged; the same role x wave plan as `score_scales` decides which items
    a participant was asked. Labels come from ``value_labels``
    (``'1=label;2=label'``, as read from SPSS value labels).

    References
    ----------
    Agresti, A. (2007). *An introduction to categorical data analysis* (2nd
    ed.). Wiley. (Nominal variables are analysed as cross-classifications.)

    Examples
    --------
    >>> import pandas as pd
    >>> instrument = pd.DataFrame({"item_id": ["exp1"], "scale": "expectation",
    ...     "response_min": 1, "response_max": 2, "reverse_coded": False,
    ...     "roles": "professional;migrant_org", "level": "nominal",
    ...     "value_labels": "1=bridge_to_parents;2=strengthen_organisation"})
    >>> participants = pd.DataFrame({"participant_id": ["p1", "m1"], "case_id": "slotervaart",
    ...     "role": ["professional", "migrant_org"]})
    >>> responses = pd.DataFrame({"participant_id": ["p1", "m1"], "wave": "t0",
    ...     "item_id": "exp1", "value": [1.0, 2.0]})
    >>> item_responses(responses, instrument, participants)[["role", "label"]]
               role                    label
    0   migrant_org  strengthen_organisation
    1  professional        bridge_to_parents
    """
    plan = _instrument_plan(instrument)
    levels = sorted(plan["level"].unique()) if level is None else [level]
    if items is not None:
        unknown = sorted(set(items) - set(plan["item_id"]))
        if unknown:
            raise DataError(f"unknown item(s): {', '.join(unknown)}", file="instrument", column="item_id", found=unknown[0])
    # Nominal categories are codes, not amounts: switch reverse coding off.
    raw_instrument = instrument.assign(reverse_coded=False)
    asked = asked_items(responses, raw_instrument, participants, levels=levels, scales=scales)
    if items is not None:
        asked = asked[asked["item_id"].isin(items)]
    labels = _parse_value_labels(instrument)
    out = asked.merge(labels, on=["item_id", "value"], how="left", validate="many_to_one")
    # Without a label the code itself is the category: "2", not "2.0".
    codes = out["value"]
    whole = codes.notna() & (codes == codes.round())
    code_text = codes.astype("string")
    code_text[whole] = codes[whole].astype("int64").astype("string")
    out["label"] = out["label"].where(out["label"].notna(), code_text).astype("str")
    out["wave"] = out["wave"].astype(WAVE_DTYPE)
    out = out.sort_values(["case_id", "participant_id", "wave", "item_id"], kind="stable")
    return out.loc[:, list(ITEM_RESPONSE_COLUMNS)].reset_index(drop=True)


def change_scores(scores: pd.DataFrame, *, before: str = "t0", after: str = "t2") -> pd.DataFrame:
    """Change in each scale score between two waves, per participant.

    Parameters
    ----------
    scores : DataFrame
        The scores frame of `score_scales`.
    before, after : str
        Waves to compare.

    Returns
    -------
    DataFrame
        `CHANGE_COLUMNS`: participant_id, case_id, role, scale, before, after,
        value (= after - before). One row per participant x scale scored in
        either wave; ``value`` is missing when either score is.

    Notes
    -----
    :math:`\\Delta_i = \\bar x_{i,after} - \\bar x_{i,before}`, the raw change
    on the scale metric. A participant seen in only one wave keeps a row with
    a missing change, so drop-out stays visible; the paired tests in
    `ponzoni_eval.stats` use complete pairs only and count the others.

    References
    ----------
    Lakens, D. (2013). Calculating and reporting effect sizes to facilitate
    cumulative science. *Frontiers in Psychology*, 4, 863.

    Examples
    --------
    >>> import pandas as pd
    >>> scores = pd.DataFrame({"participant_id": "p1", "case_id": "slotervaart",
    ...     "role": "professional", "wave": ["t0", "t2"], "scale": "trust",
    ...     "value": [2.5, 3.75], "n_items": 4, "n_answered": 4})
    >>> change_scores(scores)[["scale", "before", "after", "value"]]
       scale  before  after  value
    0  trust     2.5   3.75   1.25
    """
    require_columns(scores, ("participant_id", "case_id", "role", "wave", "scale", "value"), "scores")
    for label, wave in (("before", before), ("after", after)):
        if wave not in WAVES:
            raise DataError(f"unknown wave for '{label}'", expected=f"one of {WAVES}", found=wave, rule="argument")
    if before == after:
        raise DataError("before and after must be different waves", found=before, rule="argument")
    keys = ["participant_id", "case_id", "role", "scale"]
    frame = scores.loc[:, [*keys, "wave", "value"]].copy()
    frame["wave"] = frame["wave"].astype(str)
    frame = frame[frame["wave"].isin([before, after])]
    _check_unique(frame.reset_index(drop=True), ("participant_id", "wave", "scale"), "scores")
    wide = frame.pivot(index=keys, columns="wave", values="value")
    wide = wide.reindex(columns=[before, after])
    change = wide.rename(columns={before: "before", after: "after"}).reset_index()
    change.columns.name = None
    change["value"] = change["after"] - change["before"]
    change = change.sort_values(["case_id", "participant_id", "scale"], kind="stable")
    return change.loc[:, list(CHANGE_COLUMNS)].reset_index(drop=True)


def _month_ordinal(dates: pd.Series) -> pd.Series:
    return dates.dt.year.astype("int64") * 12 + dates.dt.month.astype("int64") - 1


def monthly_activity(
    activity_log: pd.DataFrame,
    cases: pd.DataFrame,
    *,
    event_types: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Event counts per case, event type and calendar month, zero-filled.

    Parameters
    ----------
    activity_log : DataFrame
        case_id, date, event_type, count (one row per event, day or month).
    cases : DataFrame
        case_id, intervention_start.
    event_types : sequence of str, optional
        Event types to keep. Default: every type that occurs in the log.

    Returns
    -------
    DataFrame
        `MONTHLY_COLUMNS`: case_id, event_type, month (first day of the
        month), relative_month (0 = month of ``intervention_start``), post
        (1 from that month on, else 0), count. One row per case x event type x
        month from the case's first to its last logged month (any event type);
        months without a logged event count 0.

    Notes
    -----
    A month without a row in the log is taken to have no events: the log is
    assumed complete within a case's observed window. An event type a case
    never logged is therefore zero throughout its window; restrict
    `event_types` when a case did not record a type at all.

    ``relative_month`` and ``post`` are the time and level-change terms of a
    segmented (interrupted time series) regression; ``month`` is kept for
    seasonality.

    References
    ----------
    Bernal, J. L., Cummins, S., & Gasparrini, A. (2017). Interrupted time
    series regression for the evaluation of public health interventions: a
    tutorial. *International Journal of Epidemiology*, 46, 348-355.

    Examples
    --------
    >>> import pandas as pd
    >>> log = pd.DataFrame({"case_id": "slotervaart",
    ...     "date": pd.to_datetime(["2016-01-05", "2016-01-20", "2016-03-02"]),
    ...     "event_type": "joint_meeting", "count": [1, 2, 1]})
    >>> cases = pd.DataFrame({"case_id": ["slotervaart"],
    ...     "intervention_start": pd.to_datetime(["2016-02-15"])})
    >>> monthly_activity(log, cases)[["month", "relative_month", "post", "count"]]
           month  relative_month  post  count
    0 2016-01-01              -1     0      3
    1 2016-02-01               0     1      0
    2 2016-03-01               1     1      1
    """
    require_columns(activity_log, ("case_id", "date", "event_type", "count"), "activity_log")
    require_columns(cases, ("case_id", "intervention_start"), "cases")
    _check_unique(cases.reset_index(drop=True), ("case_id",), "cases")
    log = activity_log.loc[:, ["case_id", "date", "event_type", "count"]].reset_index(drop=True)
    log["case_id"] = log["case_id"].astype(str)
    log["event_type"] = log["event_type"].astype(str)
    try:
        log["date"] = pd.to_datetime(log["date"])
        log["count"] = pd.to_numeric(log["count"])
    except (TypeError, ValueError) as exc:
        raise DataError("activity_log dates must be dates and counts numbers", file="activity_log", rule="type") from exc
    for column, bad in (("date", log["date"].isna()), ("count", log["count"].isna() | (log["count"] < 0))):
        if bad.any():
            raise DataError(
                f"missing or invalid {column}",
                file="activity_log",
                row=_first_row(bad),
                column=column,
                expected="a date" if column == "date" else "a count >= 0",
                found=activity_log[column].iloc[int(np.flatnonzero(bad.to_numpy())[0])],
                rule="type",
            )
    _check_known(log["event_type"], EVENT_TYPES, "activity_log", "event_type", "event type(s)")
    starts = cases.loc[:, ["case_id", "intervention_start"]].copy()
    starts["case_id"] = starts["case_id"].astype(str)
    starts["intervention_start"] = pd.to_datetime(starts["intervention_start"])
    _check_known(log["case_id"], starts["case_id"], "activity_log", "case_id", "case(s) not in cases")
    # isin() of a str column copies its argument value by value: hand it the few distinct cases, not 2 M log rows
    logged_cases = starts[starts["case_id"].isin(log["case_id"].unique())].reset_index(drop=True)
    no_start = logged_cases["intervention_start"].isna()
    if no_start.any():
        raise DataError(
            f"case {logged_cases.loc[no_start, 'case_id'].iloc[0]} has activity but no intervention_start",
            file="cases",
            column="intervention_start",
            rule="required_value",
        )

    # The observed window of a case spans every logged month, whatever the event type.
    log = log.assign(month_ord=_month_ordinal(log["date"]))
    window = log.groupby("case_id")["month_ord"].agg(first="min", last="max").reset_index()
    window = window.merge(logged_cases, on="case_id", how="inner").sort_values("case_id", kind="stable")
    window["start_ord"] = _month_ordinal(window["intervention_start"])

    if event_types is None:
        types = sorted(log["event_type"].unique())
    else:
        types = list(dict.fromkeys(event_types))
        _check_known(pd.Series(types, dtype=str), EVENT_TYPES, "event_types argument", "event_type", "event type(s)")
    log = log[log["event_type"].isin(types)]

    lengths = (window["last"] - window["first"] + 1).to_numpy()
    # One row per case x month in its window, built without a Python loop over cases.
    case_pos = np.repeat(np.arange(len(window)), lengths)
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    grid = pd.DataFrame(
        {
            "case_id": window["case_id"].to_numpy()[case_pos],
            "month_ord": window["first"].to_numpy()[case_pos] + offsets,
            "start_ord": window["start_ord"].to_numpy()[case_pos],
        }
    )
    grid = grid.merge(pd.DataFrame({"event_type": pd.Series(types, dtype=str)}), how="cross")

    counts = log.groupby(["case_id", "event_type", "month_ord"], as_index=False)["count"].sum()
    monthly = grid.merge(counts, on=["case_id", "event_type", "month_ord"], how="left")
    monthly["count"] = monthly["count"].fillna(0).astype("int64")
    monthly["relative_month"] = (monthly["month_ord"] - monthly["start_ord"]).astype("int64")
    monthly["post"] = (monthly["relative_month"] >= 0).astype("int64")
    year, month0 = np.divmod(monthly["month_ord"].to_numpy(), 12)
    monthly["month"] = pd.to_datetime(pd.DataFrame({"year": year, "month": month0 + 1, "day": 1})).astype("datetime64[us]")
    monthly = monthly.sort_values(["case_id", "event_type", "month"], kind="stable")
    return monthly.loc[:, list(MONTHLY_COLUMNS)].reset_index(drop=True)
