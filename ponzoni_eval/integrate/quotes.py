"""Quotes for the joint display: redacted passages chosen deterministically per construct, case and wave."""

from __future__ import annotations

import hashlib
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ponzoni_eval._core.words import value_label
from ponzoni_eval.integrate.fit import POOLED_CASE

__all__ = [
    "select_quotes",
    "matched_speakers",
]


DEFAULT_QUOTE_WINDOW = (40, 300)


# --- quotes -----------------------------------------------------------------------------------


def _stable_hash(document_id: pd.Series, start: pd.Series) -> pd.Series:
    # sha256 of "document_id:start": the same on every machine and Python run (unlike hash()).
    keys = document_id.astype(str) + ":" + start.astype("Int64").astype(str)
    return pd.Series([hashlib.sha256(k.encode("utf-8")).hexdigest() for k in keys], index=keys.index, dtype="str")


def _truncate(text: pd.Series, max_chars: int) -> pd.Series:
    long = text.str.len() > max_chars
    # Cut at the last space before the limit and mark the elision as in a quotation.
    cut = text.str.slice(0, max_chars).str.replace(r"\s+\S*$", "", regex=True) + " […]"
    return text.where(~long, cut)


def select_quotes(
    segments: pd.DataFrame,
    codes: Iterable[str],
    *,
    k: int = 2,
    window: tuple[int, int] = DEFAULT_QUOTE_WINDOW,
) -> pd.DataFrame:
    """Pick up to ``k`` exemplar passages from coded segments, reproducibly.

    Parameters
    ----------
    segments : DataFrame
        Coded segments (document_id, participant_id, case_id, coder, code,
        start, end, text), already limited to the case(s) wanted.
    codes : iterable of str
        The codes whose passages are candidates.
    k : int
        How many passages to return (fewer if fewer exist).
    window : (int, int)
        Preferred passage length in characters (inclusive).

    Returns
    -------
    DataFrame with document_id, participant_id, start, end, text, codes,
    n_coders, in rank order.

    Notes
    -----
    A passage is one (document_id, start, end) span; its candidate codes and
    coders are pooled. Passages are ranked by (1) length within the window
    first, (2) more coders who applied a candidate code to it (agreed passages
    first), (3) longer first inside the window, nearer to the window outside
    it, (4) the SHA-256 of "document_id:start" (a stable tie-break, never
    random). The ranking is then spread across participants: each
    participant's best passage comes before anyone's second best. The result
    does not depend on the row order of ``segments``.

    Examples
    --------
    >>> segments = pd.DataFrame({"document_id": ["d1", "d1", "d2"], "participant_id": ["p1", "p1", "p2"],
    ...     "case_id": "a", "coder": ["c1", "c2", "c1"], "code": "growing_trust", "start": [0, 0, 5], "end": [50, 50, 60],
    ...     "text": ["After the tea mornings we started to trust each other.", "After the tea mornings we started to trust each other.",
    ...              "The youth team listened to what our women's group needed first."]})
    >>> select_quotes(segments, ["growing_trust"], k=2)[["document_id", "n_coders"]].to_dict("records")
    [{'document_id': 'd1', 'n_coders': 2}, {'document_id': 'd2', 'n_coders': 1}]
    """
    candidates = segments.loc[segments["code"].isin(list(codes))].assign(_key="")
    picked = rank_passages(candidates, ["_key"], k=k, window=window)
    return picked.drop(columns="_key")


_PASSAGE_COLUMNS = ["document_id", "participant_id", "start", "end", "text", "codes", "n_coders"]


def rank_passages(candidates: pd.DataFrame, keys: list[str], *, k: int, window: tuple[int, int]) -> pd.DataFrame:
    """The top ``k`` passages per group of ``keys`` by the rule of `select_quotes`."""
    candidates = candidates.loc[candidates["text"].notna()]
    candidates = candidates.loc[candidates["text"].astype(str).str.strip() != ""]
    if candidates.empty or k <= 0:
        return pd.DataFrame({c: pd.Series(dtype="str") for c in [*keys, *_PASSAGE_COLUMNS]})
    span = [*keys, "document_id", "start", "end"]
    candidates = candidates.sort_values([*span, "coder", "code", "text"], kind="stable")
    passages = candidates.groupby(span, sort=True, as_index=False, dropna=False).agg(
        participant_id=("participant_id", "first"),
        text=("text", "first"),
        codes=("code", lambda s: ";".join(sorted(set(s)))),
        n_coders=("coder", "nunique"),
    )
    passages["text"] = passages["text"].astype(str).str.strip()
    length = passages["text"].str.len()
    low, high = window
    passages["_in_window"] = ((length >= low) & (length <= high)).astype(int)
    passages["_closeness"] = np.where(passages["_in_window"] == 1, length, -np.maximum(low - length, length - high))
    passages["_hash"] = _stable_hash(passages["document_id"], passages["start"])
    passages = passages.sort_values(
        [*keys, "_in_window", "n_coders", "_closeness", "_hash"],
        ascending=[*[True] * len(keys), False, False, False, True],
        kind="stable",
    )
    passages["_who"] = passages["participant_id"].fillna(passages["document_id"])
    passages["_turn"] = passages.groupby([*keys, "_who"], sort=False).cumcount()
    passages = passages.sort_values([*keys, "_turn"], kind="stable")
    return passages.groupby(keys, sort=False).head(k).loc[:, [*keys, *_PASSAGE_COLUMNS]].reset_index(drop=True)


def with_pooled(segments: pd.DataFrame, cases: Sequence[str]) -> pd.DataFrame:
    """Segments of the wanted cases; for the pooled case, every segment once more as case "all"."""
    parts = [segments.loc[segments["case_id"].isin(cases)]]
    if POOLED_CASE in cases:
        parts.append(segments.loc[segments["case_id"] != POOLED_CASE].assign(case_id=POOLED_CASE))
    return pd.concat(parts, ignore_index=True)


def format_quotes(picked: pd.DataFrame, participants: pd.DataFrame, *, names: list[str], redact: Callable, max_chars: int,
                  language: str = "en") -> pd.DataFrame:
    """Redact (one call for all texts), cut, and label each picked passage; adds quote, source and quote_ref.

    The source names the speaker's pseudonym, role and the passage's codes, the role and codes by their
    display names in `language` (``values.role``, ``values.code``; a code of the evaluator's own codebook as named there).
    """
    if picked.empty:
        return picked.assign(quote=pd.Series(dtype="str"), quote_ref=pd.Series(dtype="str"))
    redacted = pd.Series(list(redact(picked["text"].astype(str), names)), index=picked.index, dtype="str")
    text = _truncate(redacted, max_chars)
    roles = participants.set_index("participant_id")["role"] if "role" in participants else pd.Series(dtype="str")
    who = picked["participant_id"].fillna(picked["document_id"]).astype(str)
    role = picked["participant_id"].map(roles).fillna("").astype(str).map(lambda r: value_label("role", r, language) if r else "")
    codes = picked["codes"].astype(str).map(lambda found: ", ".join(value_label("code", code, language) for code in found.split(";")))
    source = who + (", " + role).where(role != "", "") + "; " + codes
    ref = (
        picked["document_id"].astype(str)
        + "@" + picked["start"].astype("Int64").astype(str)
        + "-" + picked["end"].astype("Int64").astype(str)
    )
    return picked.assign(quote="“" + text + "”", source=source, quote_ref=ref)


def matched_speakers(candidates: pd.DataFrame, participants: pd.DataFrame, speakers: pd.DataFrame | None) -> pd.DataFrame:
    """The candidate passages (construct, code, participant_id, [wave], ...) whose speaker the construct speaks for.

    ``speakers`` has construct, code, role, wave: the roles (and the interview wave, None for any)
    whose interviews count for each linked code, as the analysis plan says (the same population as
    the matched denominators). Without ``speakers``, or without a ``role`` column in
    ``participants``, the candidates are returned as they are; a passage without a known role, or
    from another wave when the segments carry one, is dropped.
    """
    if speakers is None or "role" not in participants.columns:
        return candidates
    roles = participants.drop_duplicates("participant_id").set_index("participant_id")["role"].astype(str)
    allowed = speakers.loc[:, ["construct", "code", "role", "wave"]].rename(columns={"wave": "_plan_wave"})
    out = candidates.assign(_role=candidates["participant_id"].map(roles)).merge(
        allowed.rename(columns={"role": "_role"}), on=["construct", "code", "_role"], how="inner"
    )
    if "wave" in out.columns:
        out = out.loc[out["_plan_wave"].isna() | (out["wave"].astype(str) == out["_plan_wave"].astype(str))]
    return out.drop(columns=["_role", "_plan_wave"]).reset_index(drop=True)


def quotes_for(
    segments: pd.DataFrame,
    participants: pd.DataFrame,
    links: pd.DataFrame,
    qual: pd.DataFrame,
    *,
    k: int,
    names: list[str],
    redact: Callable,
    window: tuple[int, int],
    speakers: pd.DataFrame | None = None,
    language: str = "en",
    deciding: Mapping[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """Exemplar quotes per construct x case: from the codes on the side of the qualitative verdict.

    ``deciding``: constructs whose verdict comes from a few codes of their own (a between-role
    construct's contrasted codes), whatever the verdict: their quotes come from those codes only, so
    that a quote shows what was compared.

    With ``speakers`` (construct, code, role, wave; `matched_speakers`) only passages of the roles
    and the interview wave the plan says the construct speaks for are candidates: the quotes come
    from the population the interview counts (and the quantitative result) speak for.
    """
    keys = ["construct", "case_id"]
    side = qual["qual_evidence"].map({"supportive": "supports", "contrary": "contradicts"})
    wanted = qual.assign(_side=side).merge(links[["construct", "code", "code_direction"]], on="construct")
    # With a verdict, only codes on its side; without one, every linked code.
    wanted = wanted.loc[wanted["_side"].isna() | (wanted["code_direction"] == wanted["_side"]), [*keys, "code"]]
    if deciding:
        fixed = pd.DataFrame([(construct, code) for construct, codes in deciding.items() for code in codes], columns=["construct", "code"])
        wanted = pd.concat([wanted.loc[~wanted["construct"].isin(fixed["construct"])], qual[keys].merge(fixed, on="construct")],
                           ignore_index=True)
    candidates = wanted.merge(with_pooled(segments, qual["case_id"].unique().tolist()), on=["case_id", "code"])
    candidates = matched_speakers(candidates, participants, speakers)
    picked = format_quotes(
        rank_passages(candidates, keys, k=k, window=window), participants, names=names, redact=redact, max_chars=window[1],
        language=language,
    )
    if picked.empty:
        return pd.DataFrame({c: pd.Series(dtype="str") for c in [*keys, "quotes", "quote_refs"]})
    grouped = picked.assign(_line=picked["quote"] + " (" + picked["source"] + ")").groupby(keys, sort=False)
    return pd.DataFrame({"quotes": grouped["_line"].agg("\n".join), "quote_refs": grouped["quote_ref"].agg("; ".join)}).reset_index()
