"""Data quality at a glance: who is in the data, who answered, what is missing.

The first section of every report. It uses only the tables every data set has
(``participants``, ``instrument``, ``survey_responses``), so it runs before any
analysis and tells the reader how much the later numbers rest on.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import pandas as pd

from ponzoni_eval._core.errors import DataError
from ponzoni_eval._core.vocabulary import ROLES, WAVES

__all__ = ["data_quality", "QUALITY_TABLES"]

QUALITY_TABLES = ("sample", "response", "missingness")
"""The frames `data_quality` returns, in the order a report shows them."""

_REQUIRED = {
    "participants": ("participant_id", "case_id", "role"),
    "instrument": ("item_id", "scale"),
    "survey_responses": ("participant_id", "wave", "item_id", "value"),
}


def _check_tables(tables: Mapping[str, pd.DataFrame]) -> None:
    for table, columns in _REQUIRED.items():
        if table not in tables:
            raise DataError(
                "table missing from the processed data",
                file=table,
                expected="participants, instrument and survey_responses",
                found=", ".join(sorted(tables)) or "no tables",
            )
        missing = [column for column in columns if column not in tables[table].columns]
        if missing:
            raise DataError(
                "column(s) missing",
                file=table,
                column=", ".join(missing),
                expected=", ".join(columns),
                found=", ".join(map(str, tables[table].columns)),
            )


def _in_vocabulary_order(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Sort by case, then role and wave in the study's order (not alphabetically)."""
    keys = {
        "role": lambda s: s.map({role: i for i, role in enumerate(ROLES)}),
        "wave": lambda s: s.map({wave: i for i, wave in enumerate(WAVES)}),
    }
    return frame.sort_values(by, key=lambda s: keys.get(s.name, lambda x: x)(s), kind="stable").reset_index(drop=True)


def _asked_role_waves(instrument: pd.DataFrame) -> pd.DataFrame:
    """The (role, wave) pairs the instrument asks at least one item of (all pairs without ``roles``/``waves``)."""
    every_role, every_wave = ";".join(ROLES), ";".join(WAVES)
    roles = instrument["roles"] if "roles" in instrument else pd.Series(every_role, index=instrument.index)
    waves = instrument["waves"] if "waves" in instrument else pd.Series(None, index=instrument.index, dtype="str")
    waves = waves.astype("str").where(waves.notna(), every_wave)  # an empty waves cell means every wave
    pairs = pd.DataFrame({"role": roles.astype("str").str.split(";"), "wave": waves.str.split(";")})
    pairs = pairs.explode("role").explode("wave")
    pairs = pairs.assign(role=pairs["role"].str.strip(), wave=pairs["wave"].str.strip()).drop_duplicates()
    pairs = pairs[pairs["role"].isin(ROLES) & pairs["wave"].isin(WAVES)]
    return _in_vocabulary_order(pairs, ["role", "wave"])


def data_quality(
    tables: Mapping[str, pd.DataFrame], case_id: str | Sequence[str] | None = None
) -> dict[str, pd.DataFrame]:
    """Counts per case, role and wave, and the share of missing answers.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        The processed tables by name; needs ``participants``, ``instrument``
        and ``survey_responses`` (see docs/architecture.md).
    case_id : str or list of str, optional
        One case, several (the cross-case report of a run on some cases), or
        ``None`` for every case.

    Returns
    -------
    dict of DataFrame, keys `QUALITY_TABLES`
        ``sample``: case_id, role, n_participants — every role of the study,
        also those with nobody (0), so an empty group is visible.

        ``response``: case_id, role, wave, n_participants, n_responding,
        share_responding — a participant responds in a wave when at least one
        answer in that wave is not missing. Only the roles and waves the
        instrument asks (its ``roles`` and ``waves`` columns; every role and
        wave when it has none) and only waves present in ``survey_responses``
        (a wave that never happened is not listed), so parents who are interviewed but never
        surveyed do not show up as non-response.

        ``missingness``: case_id, role, wave, scale, n_answers, n_missing,
        share_missing — over the answer rows present in ``survey_responses``.

    Raises
    ------
    DataError
        When a table or column is missing, or `case_id` is not in the data.

    Notes
    -----
    ``share_*`` are proportions (0 to 1). Missingness counts only rows that
    exist; a participant who never received a questionnaire shows up as not
    responding in ``response``, not as missing answers.

    Examples
    --------
    >>> import pandas as pd
    >>> tables = {
    ...     "participants": pd.DataFrame({"participant_id": ["p1", "p2"], "case_id": ["a", "a"],
    ...                                   "role": ["professional", "parent"]}),
    ...     "instrument": pd.DataFrame({"item_id": ["tr1"], "scale": ["trust"]}),
    ...     "survey_responses": pd.DataFrame({"participant_id": ["p1", "p2"], "wave": ["t0", "t0"],
    ...                                       "item_id": ["tr1", "tr1"], "value": [4.0, None]}),
    ... }
    >>> data_quality(tables, "a")["sample"]
      case_id          role  n_participants
    0       a  professional               1
    1       a   migrant_org               0
    2       a        parent               1
    """
    _check_tables(tables)
    participants = tables["participants"].loc[:, ["participant_id", "case_id", "role"]]
    participants = participants.astype({"participant_id": "str", "case_id": "str", "role": "str"})
    if case_id is not None:
        wanted = [case_id] if isinstance(case_id, str) else list(case_id)
        known = sorted(participants["case_id"].unique())
        unknown = [case for case in wanted if case not in known]
        if unknown:
            raise DataError(
                "case not found", file="participants", column="case_id", expected=", ".join(known), found=", ".join(unknown)
            )
        participants = participants[participants["case_id"].isin(wanted)]
    cases = sorted(participants["case_id"].unique())

    per_role = participants.groupby(["case_id", "role"]).size().rename("n_participants")
    grid = pd.MultiIndex.from_product([cases, ROLES], names=["case_id", "role"])
    sample = per_role.reindex(grid, fill_value=0).astype("int64").reset_index()

    responses = tables["survey_responses"].loc[:, ["participant_id", "wave", "item_id", "value"]]
    responses = responses.astype({"participant_id": "str", "wave": "str", "item_id": "str"})
    scales = tables["instrument"].loc[:, ["item_id", "scale"]].astype("str")
    answers = responses.merge(participants, on="participant_id", how="inner").merge(scales, on="item_id", how="left")
    answers["answered"] = answers["value"].notna()

    responding = (
        answers[answers["answered"]]
        .drop_duplicates(["participant_id", "wave"])
        .groupby(["case_id", "role", "wave"])
        .size()
        .rename("n_responding")
    )
    asked = _asked_role_waves(tables["instrument"])
    asked = asked[asked["wave"].isin(set(responses["wave"]))]  # only waves that happened (issue 14): no t2 row without t2 data
    wave_grid = pd.MultiIndex.from_frame(
        pd.merge(pd.DataFrame({"case_id": cases}), asked, how="cross").loc[:, ["case_id", "role", "wave"]]
    )
    response = responding.reindex(wave_grid, fill_value=0).astype("int64").reset_index()
    response = response.merge(sample, on=["case_id", "role"])
    response["share_responding"] = (response["n_responding"] / response["n_participants"]).where(
        response["n_participants"] > 0
    )
    response = response.loc[:, ["case_id", "role", "wave", "n_participants", "n_responding", "share_responding"]]

    missingness = (
        answers.groupby(["case_id", "role", "wave", "scale"], dropna=False)
        .agg(n_answers=("answered", "size"), n_answered=("answered", "sum"))
        .reset_index()
    )
    missingness["n_missing"] = (missingness["n_answers"] - missingness["n_answered"]).astype("int64")
    missingness["n_answers"] = missingness["n_answers"].astype("int64")
    missingness["share_missing"] = missingness["n_missing"] / missingness["n_answers"]
    missingness = missingness.loc[:, ["case_id", "role", "wave", "scale", "n_answers", "n_missing", "share_missing"]]

    return {
        "sample": _in_vocabulary_order(sample, ["case_id", "role"]),
        "response": _in_vocabulary_order(response, ["case_id", "role", "wave"]),
        "missingness": _in_vocabulary_order(missingness, ["case_id", "role", "wave", "scale"]),
    }
