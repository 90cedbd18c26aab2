"""Intercoder agreement on double-coded interviews, with bootstrap intervals.

Evaluators double-code a subset of interviews to show that the codebook is
applied consistently. This module finds the documents coded by two or more
coders, turns them into reliability data (units x coders, one code at a
time) and reports, per code and over all codes:

- percent agreement (mean pairwise agreement per unit),
- Cohen's kappa (exactly two coders) or Fleiss' kappa (more than two),
- Krippendorff's alpha (the ``krippendorff`` package; nominal by default),
- Brennan-Prediger's kappa (chance agreement 1/q),

each with a seeded percentile bootstrap 95% CI that resamples documents. At
perfect agreement, where every resample gives 1, the CI is a Wilson-type
bound instead of [1, 1] (`perfect_agreement_lower`).

For ordered ratings of two coders, `weighted_kappa` gives Cohen's weighted
kappa (linear or quadratic weights) with a jackknife Fisher-z CI (the reported
one, calibrated at 20-40 units), the Fleiss-Cohen-Everitt asymptotic CI and a
bootstrap CI, in the standard result shape.

Units of analysis
-----------------
``unit="document"`` (default)
    One unit per double-coded document and code: did the coder apply the
    code anywhere in the document (1) or not (0)? This matches the question
    quantitizing asks ("did the participant mention the theme?").
``unit="segment"``
    Each double-coded document is cut at every start and end of any coder's
    selections (with any code) into elementary pieces of text, so all codes
    share one set of pieces. Each piece x code is coded 1
    by a coder whose selection with that code covers it, else 0. By default
    (``include_uncoded=False``) pieces that *nobody* coded with the code are
    left out of that code's units: counting vast stretches of text that no
    one coded as "agreement" inflates kappa, the complaint users raise about
    NVivo's and QualCoder's kappa. ``include_uncoded=True`` keeps them (only
    between the first and last selection boundary of the document: the
    coded-segments table does not know the full document length), for
    comparison. Pieces are counted, not weighted by length, so a few
    characters of boundary disagreement weigh as much as a long agreed
    passage; read segment-level agreement with that in mind.

Not offered: Krippendorff's unitizing alphas (u-alpha, cu-alpha, |cu-alpha|,
as in ATLAS.ti). Their published computations could not be validated here
against worked examples with the raw continuum data, so this package does not
claim them; segment units with ``include_uncoded=False`` answer the same
practical question (do coders mark the same passages with the same code?).

Which coders
------------
The coders of a document are those with at least one coded segment in it. A
coder who read a document and applied no code at all is invisible in
``coded_segments``; such a document then looks single-coded.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ponzoni_eval._core.errors import DataError, require_columns
from ponzoni_eval._core.results import result_frame
from ponzoni_eval.config import DEFAULT_SEED

__all__ = [
    "STATISTICS",
    "OVERALL",
    "reliability_units",
    "agreement",
    "agreement_coefficients",
    "as_result_frame",
    "KAPPA_WEIGHTS",
    "weighted_kappa",
    "perfect_agreement_lower",
]

STATISTICS = ("percent_agreement", "cohen_kappa", "fleiss_kappa", "krippendorff_alpha", "brennan_prediger")
"""Statistic names, in the order they are reported."""

OVERALL = "(all codes)"
"""The ``code`` label of the row that pools every code."""

LEVELS = ("nominal", "ordinal", "interval", "ratio")
_UNITS = ("document", "segment")
_SEGMENT_COLUMNS = ("document_id", "coder", "code", "start", "end")
_BOOT_CHUNK = 250


# --- reliability data ---------------------------------------------------------


def _restrict(segments: pd.DataFrame, column: str, wanted: Sequence[str] | None) -> pd.DataFrame:
    if wanted is None:
        return segments
    wanted = [wanted] if isinstance(wanted, str) else list(wanted)
    unknown = sorted(set(wanted) - set(segments[column].unique()))
    if unknown:
        raise DataError(
            f"{len(unknown)} requested {column}(s) do not occur in coded_segments",
            file="coded_segments",
            column=column,
            expected=f"values of {column}: {', '.join(sorted(map(str, segments[column].unique())))[:200]}",
            found=", ".join(unknown),
            rule=f"known_{column}",
        )
    return segments.loc[segments[column].isin(wanted)]


def reliability_units(
    segments: pd.DataFrame,
    *,
    unit: str = "document",
    codes: Sequence[str] | None = None,
    coders: Sequence[str] | None = None,
    include_uncoded: bool = False,
    value: str = "presence",
) -> pd.DataFrame:
    """The reliability data behind `agreement`: one row per unit x code x coder.

    Parameters
    ----------
    segments : DataFrame
        The ``coded_segments`` table (document_id, coder, code, start, end).
    unit : {"document", "segment"}
        Unit of analysis (see the module docstring).
    codes, coders : sequence of str, optional
        Restrict to these codes / coders. A document counts as double-coded
        when at least two of the kept coders coded it.
    include_uncoded : bool
        Segment units only: keep text pieces nobody coded with the code.
    value : {"presence", "count"}
        ``"presence"``: 1/0. ``"count"`` (document units only): how many
        times the coder applied the code in the document, for Krippendorff's
        alpha at the interval or ratio level.

    Returns
    -------
    DataFrame
        ``document_id``, ``unit_id`` (the document, or ``doc:start-end`` for
        a text piece), ``start``, ``end`` (the piece; missing for documents),
        ``code``, ``coder``, ``value`` (int). Only double-coded documents.

    Notes
    -----
    Whether a document is double-coded is decided on all codes, before the
    ``codes`` filter: a document in which neither coder used the requested
    code is an agreement on its absence. Pieces come from the sorted,
    de-duplicated start and end offsets of all positive-length selections
    (every code, every kept coder) in a document, also before the filter, so
    a code's units do not depend on which other codes were requested; the
    piece between two consecutive offsets is covered by a selection when it
    lies within [start, end). Built with `searchsorted` and `repeat`, without
    loops over segments.

    References
    ----------
    Krippendorff, K. (2019). *Content Analysis* (4th ed.), ch. 12: units of
    analysis and reliability data.

    Examples
    --------
    >>> import pandas as pd
    >>> segments = pd.DataFrame({"document_id": ["d1", "d1"], "coder": ["ab", "cd"],
    ...                          "code": ["trust", "trust"], "start": [0, 5], "end": [10, 10]})
    >>> units = reliability_units(segments, unit="segment")
    >>> print(units[["unit_id", "coder", "value"]].to_string(index=False))
    unit_id coder  value
     d1:0-5    ab      1
     d1:0-5    cd      0
    d1:5-10    ab      1
    d1:5-10    cd      1
    """
    require_columns(segments, _SEGMENT_COLUMNS, "coded_segments")
    if unit not in _UNITS:
        raise ValueError(f"unit must be 'document' or 'segment', not {unit!r}")
    if value not in ("presence", "count"):
        raise ValueError(f"value must be 'presence' or 'count', not {value!r}")
    if value == "count" and unit != "document":
        raise ValueError("value='count' needs unit='document' (a text piece is either coded or not)")
    segments = _restrict(segments, "coder", coders)
    wanted_codes = sorted(_restrict(segments, "code", codes)["code"].unique())  # raises on unknown codes
    # Which documents are double-coded, and by whom, is decided on every code: a
    # document where neither coder used the requested code is an agreement on it.
    coders_per_document = segments.groupby("document_id")["coder"].nunique()
    double_coded = coders_per_document.index[coders_per_document >= 2]
    segments = segments.loc[segments["document_id"].isin(double_coded)]
    document_coders = segments[["document_id", "coder"]].drop_duplicates().sort_values(["document_id", "coder"])
    if unit == "document":
        frame = _document_units(segments, document_coders, wanted_codes, value)
    else:
        frame = _segment_units(segments, document_coders, wanted_codes, include_uncoded)
    frame = frame.sort_values(["code", "document_id", "start", "coder"], kind="stable", na_position="first")
    return frame.loc[:, ["document_id", "unit_id", "start", "end", "code", "coder", "value"]].reset_index(drop=True)


def _document_units(segments: pd.DataFrame, document_coders: pd.DataFrame, codes: list[str], value: str) -> pd.DataFrame:
    counts = segments.groupby(["document_id", "coder", "code"]).size().rename("n")
    grid = document_coders.merge(pd.DataFrame({"code": codes}), how="cross").join(counts, on=["document_id", "coder", "code"])
    n = grid["n"].fillna(0).astype("int64")
    return grid.assign(
        unit_id=grid["document_id"],
        start=pd.array([pd.NA] * len(grid), dtype="Int64"),
        end=pd.array([pd.NA] * len(grid), dtype="Int64"),
        value=n if value == "count" else (n > 0).astype("int64"),
    )


def _segment_units(
    segments: pd.DataFrame, document_coders: pd.DataFrame, codes: list[str], include_uncoded: bool
) -> pd.DataFrame:
    selections = segments.loc[segments["end"] > segments["start"]]
    document_index, documents = pd.factorize(selections["document_id"], sort=True)
    start = selections["start"].to_numpy(np.int64)
    end = selections["end"].to_numpy(np.int64)
    span = int(end.max(initial=0)) + 1
    # Every boundary as one sortable key: document index * span + offset.
    keys = np.unique(np.concatenate([document_index * span + start, document_index * span + end]))
    key_document, key_offset = keys // span, keys % span
    is_piece = np.append(key_document[1:] == key_document[:-1], False)  # boundary k opens a piece until k + 1
    first = np.searchsorted(keys, document_index * span + start)
    last = np.searchsorted(keys, document_index * span + end)  # exclusive
    n_pieces = last - first
    piece = np.repeat(first, n_pieces) + (np.arange(n_pieces.sum()) - np.repeat(np.cumsum(n_pieces) - n_pieces, n_pieces))
    code_index, code_names = pd.factorize(selections["code"])
    coder_index, coder_names = pd.factorize(selections["coder"])
    covered = pd.DataFrame(
        {"piece": piece, "code": np.repeat(code_index, n_pieces), "coder": np.repeat(coder_index, n_pieces)}
    ).drop_duplicates()
    covered["code"] = code_names.take(covered["code"].to_numpy())
    covered["coder"] = coder_names.take(covered["coder"].to_numpy())
    covered = covered.loc[covered["code"].isin(codes)]

    pieces = pd.DataFrame({"piece": np.flatnonzero(is_piece)})
    pieces["document_id"] = documents.take(key_document[pieces["piece"].to_numpy()])
    pieces["start"] = key_offset[pieces["piece"]]
    pieces["end"] = key_offset[pieces["piece"] + 1]
    if include_uncoded:
        piece_codes = pieces[["piece"]].merge(pd.DataFrame({"code": codes}), how="cross")
    else:
        piece_codes = covered[["piece", "code"]].drop_duplicates()
    grid = piece_codes.merge(pieces, on="piece").merge(document_coders, on="document_id")
    grid = grid.merge(covered.assign(value=1), on=["piece", "code", "coder"], how="left")
    return grid.assign(
        unit_id=grid["document_id"].astype(str) + ":" + grid["start"].astype(str) + "-" + grid["end"].astype(str),
        start=grid["start"].astype("Int64"),
        end=grid["end"].astype("Int64"),
        value=grid["value"].fillna(0).astype("int64"),
        document_id=grid["document_id"].astype("str"),
    )


# --- the statistics (one engine for estimates and bootstrap replicates) --------
#
# Every coefficient is a ratio of sums over units of per-unit quantities
# ("features": agreeing pairs, category shares, the unit's coincidences, the
# two-coder cell). Summing the features within each document once turns a
# bootstrap replicate into one matrix product, (resample counts of documents)
# @ (document totals), instead of a pass over every unit.


def _value_counts(ratings: np.ndarray, categories: np.ndarray) -> np.ndarray:
    """units x categories: how many coders gave each category to each unit."""
    return (ratings[:, :, None] == categories[None, None, :]).sum(axis=1)


def _divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, NaN where the denominator is 0 (an undefined coefficient)."""
    numerator, denominator = np.broadcast_arrays(np.asarray(numerator, float), np.asarray(denominator, float))
    out = np.full(numerator.shape, np.nan)
    np.divide(numerator, denominator, out=out, where=np.abs(denominator) > 1e-12)
    return out


def _layout(q: int) -> dict[str, slice]:
    """Column positions of each feature in the unit-feature matrix (q categories)."""
    sizes = dict(agree=1, pairable=1, rated=1, share=q, cell=q * q, coincidence=q * q)
    stops = np.cumsum(list(sizes.values()))
    return {name: slice(int(stop - size), int(stop)) for (name, size), stop in zip(sizes.items(), stops)}


def _unit_features(ratings: np.ndarray, categories: np.ndarray) -> np.ndarray:
    """Per-unit quantities whose sums give every coefficient (units x features)."""
    q = len(categories)
    counts = _value_counts(ratings, categories).astype(float)
    m = counts.sum(axis=1)
    pairable = m >= 2
    rated = m >= 1
    agree = np.where(pairable, _divide((counts * (counts - 1)).sum(axis=1), m * (m - 1)), 0.0)
    share = np.where(rated[:, None], counts / np.where(rated, m, 1.0)[:, None], 0.0)
    cell = np.zeros((len(ratings), q * q))
    if ratings.shape[1] == 2:  # Cohen's two-coder table: units rated by both coders
        both = ~np.isnan(ratings).any(axis=1)
        index = np.searchsorted(categories, np.where(both[:, None], ratings, categories[0]))
        cell[np.flatnonzero(both), index[both, 0] * q + index[both, 1]] = 1.0
    coincidence = counts[:, :, None] * counts[:, None, :] - counts[:, :, None] * np.eye(q)[None, :, :]
    coincidence = np.where(pairable[:, None, None], coincidence / np.where(pairable, m - 1, 1.0)[:, None, None], 0.0)
    return np.column_stack([agree, pairable, rated, share, cell, coincidence.reshape(len(ratings), -1)])


def _distances(level: str, categories: np.ndarray, marginals: np.ndarray) -> np.ndarray:
    """Squared distances delta^2 between categories (B x q x q); ordinal depends on the marginals."""
    v = categories.astype(float)
    shape = (marginals.shape[0], len(v), len(v))
    if level == "nominal":
        return np.broadcast_to(1.0 - np.eye(len(v)), shape)
    if level == "interval":
        return np.broadcast_to((v[:, None] - v[None, :]) ** 2, shape)
    if level == "ratio":
        ratio = np.nan_to_num(_divide(v[:, None] - v[None, :], v[:, None] + v[None, :]))
        return np.broadcast_to(ratio**2, shape)
    # ordinal: (sum_{g=c}^{k} n_g - (n_c + n_k) / 2)^2 (Krippendorff 2011, section E)
    index = np.arange(len(v))
    low, high = np.minimum.outer(index, index), np.maximum.outer(index, index)
    cumulative = np.cumsum(marginals, axis=1)
    between = cumulative[:, high] - cumulative[:, low] + marginals[:, low]
    return (between - (marginals[:, :, None] + marginals[:, None, :]) / 2.0) ** 2


def _coefficients(totals: np.ndarray, categories: np.ndarray, *, level: str, statistics: Sequence[str]) -> dict[str, np.ndarray]:
    """Every requested statistic from summed unit features (B x features) -> name: array (B,)."""
    q = len(categories)
    part = {name: totals[:, where] for name, where in _layout(q).items()}
    out: dict[str, np.ndarray] = {}
    percent = _divide(part["agree"][:, 0], part["pairable"][:, 0])
    out["percent_agreement"] = percent
    out["brennan_prediger"] = _divide(percent - 1.0 / q, np.full_like(percent, 1.0 - 1.0 / q)) if q >= 2 else np.full_like(percent, np.nan)
    if "fleiss_kappa" in statistics:
        pi = _divide(part["share"], part["rated"])
        chance = (pi**2).sum(axis=1)
        out["fleiss_kappa"] = _divide(percent - chance, 1.0 - chance)
    if "cohen_kappa" in statistics:
        table = part["cell"].reshape(-1, q, q)
        total = table.sum(axis=(1, 2))
        observed = _divide(np.trace(table, axis1=1, axis2=2), total)
        chance = _divide((table.sum(axis=2) * table.sum(axis=1)).sum(axis=1), total**2)
        out["cohen_kappa"] = _divide(observed - chance, 1.0 - chance)
    if "krippendorff_alpha" in statistics:
        coincidences = part["coincidence"].reshape(-1, q, q)
        marginals = coincidences.sum(axis=2)
        n = marginals.sum(axis=1)
        delta = _distances(level, categories, marginals)
        observed = (coincidences * delta).sum(axis=(1, 2))
        expected = _divide((marginals[:, :, None] * marginals[:, None, :] * delta).sum(axis=(1, 2)), n - 1)
        out["krippendorff_alpha"] = 1.0 - _divide(observed, expected)
    return {name: out[name] for name in statistics}


def _statistics_for(n_coders: int, value: str) -> tuple[str, ...]:
    if value == "count":
        return ("krippendorff_alpha",)
    kappa = "cohen_kappa" if n_coders == 2 else "fleiss_kappa"
    return ("percent_agreement", kappa, "krippendorff_alpha", "brennan_prediger")


def _package_alpha(ratings: np.ndarray, categories: np.ndarray, level: str) -> float:
    """Krippendorff's alpha from the reference implementation (the `krippendorff` package)."""
    import krippendorff

    return float(krippendorff.alpha(reliability_data=ratings.T, value_domain=categories, level_of_measurement=level))


def _bootstrap_draws(n_clusters: int, n_boot: int, seed: int) -> np.ndarray:
    """How often each cluster (document) appears in each resample (n_boot x n_clusters)."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_clusters, np.full(n_clusters, 1.0 / n_clusters), size=n_boot).astype(float)


def _summarise(
    ratings: np.ndarray,
    cluster_totals: np.ndarray,
    draws: np.ndarray,
    categories: np.ndarray,
    *,
    level: str,
    statistics: Sequence[str],
    ci: float,
) -> list[dict]:
    """Point estimates (alpha from the `krippendorff` package) and percentile CIs from `draws`."""
    point = _coefficients(cluster_totals.sum(axis=0, keepdims=True), categories, level=level, statistics=statistics)
    if "krippendorff_alpha" in statistics and np.isfinite(point["krippendorff_alpha"][0]):
        point["krippendorff_alpha"] = np.array([_package_alpha(ratings, categories, level)])
    replicates = _coefficients(draws @ cluster_totals, categories, level=level, statistics=statistics) if len(draws) else {}
    m = (~np.isnan(ratings)).sum(axis=1)
    pairable = m >= 2
    n_coders = int((~np.isnan(ratings[pairable])).any(axis=0).sum())
    tail = 100 * (1 - ci) / 2
    chance = _chance_terms(cluster_totals.sum(axis=0, keepdims=True), categories)
    rows = []
    for name in statistics:
        estimate = float(point[name][0])
        low = high = np.nan
        notes = []
        perfect = np.isfinite(estimate) and estimate >= 1.0 - 1e-12 and name in chance
        if perfect and (name != "krippendorff_alpha" or level == "nominal" or len(categories) == 2):
            # Every resample would give 1: a Wilson-type bound instead of [1, 1] (issue 17).
            low, high = perfect_agreement_lower(int(pairable.sum()), chance[name], ci), 1.0
            notes.append("perfect agreement: CI = [Wilson lower limit of agreement in every unit, carried through "
                         "the coefficient with its chance term fixed, 1] instead of the degenerate bootstrap [1, 1]")
        elif not np.isfinite(estimate):
            notes.append("undefined: every coder gave every unit the same value (no variation)")
        elif replicates:
            values = replicates[name]
            finite = values[np.isfinite(values)]
            if len(finite):
                low, high = (float(x) for x in np.percentile(finite, [tail, 100 - tail]))
            if len(finite) < len(values):
                notes.append(f"{len(values) - len(finite)} of {len(values)} resamples had no variation and were left out of the CI")
        rows.append(
            dict(statistic=name, estimate=estimate, ci_low=low, ci_high=high, n_units=int(pairable.sum()), n_coders=n_coders, note="; ".join(notes))
        )
    return rows


def _chance_terms(totals: np.ndarray, categories: np.ndarray) -> dict[str, float]:
    """Chance agreement p_e of each coefficient of the form (p - p_e) / (1 - p_e), from summed unit features.

    Percent agreement: 0; Brennan-Prediger: 1/q; Fleiss: sum pi_k^2; Cohen:
    sum of the products of the coders' margins; nominal Krippendorff alpha:
    1 - D_e with D_e the expected disagreement of the coincidence margins.
    """
    q = len(categories)
    part = {name: totals[:, where] for name, where in _layout(q).items()}
    pi = _divide(part["share"], part["rated"])
    table = part["cell"].reshape(-1, q, q)
    total = table.sum(axis=(1, 2))
    coincidences = part["coincidence"].reshape(-1, q, q)
    marginals = coincidences.sum(axis=2)
    n = marginals.sum(axis=1)
    expected = _divide((marginals[:, :, None] * marginals[:, None, :] * (1.0 - np.eye(q))).sum(axis=(1, 2)), n * (n - 1))
    return {
        "percent_agreement": 0.0,
        "brennan_prediger": 1.0 / q if q else float("nan"),
        "fleiss_kappa": float((pi**2).sum(axis=1)[0]),
        "cohen_kappa": float(_divide((table.sum(axis=2) * table.sum(axis=1)).sum(axis=1), total**2)[0]),
        "krippendorff_alpha": float(1.0 - expected[0]),
    }


def _sum_by(features: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Row sums of `features` per group index (n_groups x features)."""
    totals = np.zeros((n_groups, features.shape[1]))
    np.add.at(totals, groups, features)
    return totals


# --- public API ---------------------------------------------------------------


def agreement_coefficients(
    ratings: pd.DataFrame | np.ndarray,
    *,
    level: str = "nominal",
    categories: Sequence | None = None,
    n_boot: int = 0,
    seed: int = DEFAULT_SEED,
    ci: float = 0.95,
) -> pd.DataFrame:
    """Agreement coefficients for a plain reliability matrix (units x coders).

    Parameters
    ----------
    ratings : DataFrame or 2-D array
        One row per unit, one column per coder; numeric category codes;
        NaN where a coder did not rate the unit.
    level : {"nominal", "ordinal", "interval", "ratio"}
        Measurement level for Krippendorff's alpha (the kappas are nominal).
    categories : sequence, optional
        All possible categories (default: those observed). Brennan-Prediger
        uses q = len(categories), so pass the full set when some category was
        never used.
    n_boot : int
        Bootstrap resamples of units for percentile CIs (0 = none).
    seed : int
        Seed of the bootstrap.
    ci : float
        Confidence level of the intervals.

    Returns
    -------
    DataFrame
        ``statistic, estimate, ci_low, ci_high, n_units, n_coders, note``:
        percent agreement, Cohen's kappa (two coders) or Fleiss' kappa (more),
        Krippendorff's alpha and Brennan-Prediger's kappa.

    Notes
    -----
    With :math:`n_{uk}` coders putting unit *u* in category *k*,
    :math:`m_u = \\sum_k n_{uk}`:

    - percent agreement :math:`p_a = \\operatorname{mean}_{u: m_u \\ge 2}
      \\sum_k n_{uk}(n_{uk}-1) / (m_u(m_u-1))` (agreeing coder pairs);
    - Fleiss' kappa :math:`(p_a - p_e)/(1 - p_e)`, :math:`p_e = \\sum_k
      \\pi_k^2`, :math:`\\pi_k = \\operatorname{mean}_{u: m_u \\ge 1}
      n_{uk}/m_u` (Gwet 2014's form, which allows missing ratings and equals
      Fleiss 1971 when every unit has all coders);
    - Cohen's kappa on units rated by both coders (as R ``irr::kappa2``);
    - Brennan-Prediger :math:`(p_a - 1/q)/(1 - 1/q)`;
    - Krippendorff's alpha :math:`1 - D_o/D_e` from the coincidence matrix,
      computed by the ``krippendorff`` package.

    A coefficient whose chance term leaves nothing to correct (all ratings
    identical) is undefined and reported as missing with a note.

    References
    ----------
    Cohen, J. (1960). A coefficient of agreement for nominal scales.
    *Educational and Psychological Measurement*, 20, 37-46.
    Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters.
    *Psychological Bulletin*, 76(5), 378-382.
    Brennan, R. L., & Prediger, D. J. (1981). Coefficient kappa: some uses,
    misuses, and alternatives. *Educational and Psychological Measurement*, 41, 687-699.
    Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability.
    Annenberg School for Communication, University of Pennsylvania.
    Gwet, K. L. (2014). *Handbook of Inter-Rater Reliability* (4th ed.).
    Advanced Analytics.

    Examples
    --------
    Krippendorff's (2011) four observers rating twelve units (R ``irrCAC``'s
    ``cac.raw4raters``):

    >>> import numpy as np
    >>> nan = np.nan
    >>> ratings = np.array([[1, 1, nan, 1], [2, 2, 3, 2], [3, 3, 3, 3], [3, 3, 3, 3],
    ...                     [2, 2, 2, 2], [1, 2, 3, 4], [4, 4, 4, 4], [1, 1, 2, 1],
    ...                     [2, 2, 2, 2], [nan, 5, 5, 5], [nan, nan, 1, 1], [nan, nan, 3, nan]])
    >>> table = agreement_coefficients(ratings, categories=[1, 2, 3, 4, 5])
    >>> print(table[["statistic", "estimate"]].round(5).to_string(index=False))
             statistic  estimate
     percent_agreement   0.81818
          fleiss_kappa   0.76117
    krippendorff_alpha   0.74342
      brennan_prediger   0.77273
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, not {level!r}")
    matrix = np.asarray(ratings.to_numpy(dtype=float) if isinstance(ratings, pd.DataFrame) else ratings, dtype=float)
    if matrix.ndim != 2 or matrix.shape[1] < 2:
        raise DataError("reliability data need one column per coder and at least two coders", found=f"shape {matrix.shape}")
    observed = np.unique(matrix[~np.isnan(matrix)])
    domain = observed if categories is None else np.asarray(sorted(categories), dtype=float)
    outside = np.setdiff1d(observed, domain)
    if len(outside):
        raise DataError("ratings contain values outside the given categories", expected=list(domain), found=list(outside))
    statistics = _statistics_for(matrix.shape[1], "presence")
    unit_totals = _unit_features(matrix, domain)  # each unit is its own cluster
    draws = _bootstrap_draws(len(matrix), n_boot, seed) if n_boot > 0 else np.empty((0, len(matrix)))
    rows = _summarise(matrix, unit_totals, draws, domain, level=level, statistics=statistics, ci=ci)
    return pd.DataFrame(rows, columns=["statistic", "estimate", "ci_low", "ci_high", "n_units", "n_coders", "note"])


def agreement(
    segments: pd.DataFrame,
    *,
    unit: str = "document",
    codes: Sequence[str] | None = None,
    coders: Sequence[str] | None = None,
    level: str = "nominal",
    n_boot: int = 1000,
    seed: int = DEFAULT_SEED,
    include_uncoded: bool = False,
    value: str = "presence",
    ci: float = 0.95,
) -> pd.DataFrame:
    """Intercoder agreement per code and over all codes, with bootstrap CIs.

    Parameters
    ----------
    segments : DataFrame
        The ``coded_segments`` table. Only documents coded by two or more
        coders are used.
    unit : {"document", "segment"}
        Document x code presence (default) or text pieces cut at every
        selection boundary (see the module docstring).
    codes, coders : sequence of str, optional
        Restrict to these codes / coders (e.g. two of three coders).
    level : {"nominal", "ordinal", "interval", "ratio"}
        Level for Krippendorff's alpha. With 0/1 presence data every level
        gives the same alpha; the levels matter for ``value="count"``.
    n_boot : int
        Bootstrap resamples (0 = no CIs).
    seed : int
        Seed of the bootstrap: the same seed gives the same intervals.
    include_uncoded : bool
        Segment units only: also count text nobody coded with the code (off
        by default because it inflates agreement).
    value : {"presence", "count"}
        ``"count"`` (document units): number of applications per coder, for
        Krippendorff's alpha only.
    ci : float
        Confidence level.

    Returns
    -------
    DataFrame
        ``code, statistic, estimate, ci_low, ci_high, n_units, n_coders,
        note``: one row per code and statistic, then the rows for
        `OVERALL` (every unit x code pooled). Statistics: percent agreement,
        Cohen's kappa (exactly two coders in the data) or Fleiss' kappa (more
        than two; documents may then have different coder pairs),
        Krippendorff's alpha, Brennan-Prediger (q = 2 for presence).
        `as_result_frame` (given the same ``unit``) gives the standard
        result shape.

    Notes
    -----
    Formulas: see `agreement_coefficients`. Intervals are percentile
    bootstrap intervals that resample *documents* with replacement (a cluster
    bootstrap: text pieces and codes of one document are not independent);
    every statistic and every code uses the same resamples. With few
    double-coded documents these intervals are wide, as they should be.
    Krippendorff's own bootstrap (Hayes & Krippendorff 2007) resamples
    coincidences instead, so its intervals differ somewhat. Resamples in which
    a coefficient is undefined (no variation) are dropped, with a note.

    References
    ----------
    See `agreement_coefficients`; Hayes, A. F., & Krippendorff, K. (2007).
    Answering the call for a standard reliability measure for coding data.
    *Communication Methods and Measures*, 1(1), 77-89. O'Connor, C., & Joffe,
    H. (2020). Intercoder reliability in qualitative research. *International
    Journal of Qualitative Methods*, 19.

    Examples
    --------
    >>> import pandas as pd
    >>> segments = pd.DataFrame({
    ...     "document_id": ["d1", "d1", "d2", "d2", "d3", "d3", "d3"],
    ...     "coder": ["ab", "cd", "ab", "cd", "ab", "cd", "cd"],
    ...     "code": ["trust", "trust", "trust", "safe_space", "safe_space", "safe_space", "help_seeking"],
    ...     "start": [0, 2, 0, 0, 10, 12, 30], "end": [20, 18, 9, 9, 40, 40, 35]})
    >>> table = agreement(segments, n_boot=200, seed=1)
    >>> print(table.loc[table["code"] == "trust", ["statistic", "estimate", "n_units"]].round(3).to_string(index=False))
             statistic  estimate  n_units
     percent_agreement     0.667        3
           cohen_kappa     0.400        3
    krippendorff_alpha     0.444        3
      brennan_prediger     0.333        3
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, not {level!r}")
    units = reliability_units(segments, unit=unit, codes=codes, coders=coders, include_uncoded=include_uncoded, value=value)
    columns = ["code", "statistic", "estimate", "ci_low", "ci_high", "n_units", "n_coders", "note"]
    all_coders = sorted(units["coder"].unique())
    statistics = _statistics_for(len(all_coders), value)
    if units.empty:
        rows = [dict(code=OVERALL, statistic=s, note="no document was coded by two or more coders") for s in statistics]
        return pd.DataFrame(rows, columns=columns)

    n_documents = units["document_id"].nunique()
    unit_words = f"{n_documents} double-coded document(s)" if unit == "document" else (
        f"text pieces of {n_documents} double-coded document(s)"
        + ("; text nobody coded with the code included" if include_uncoded else "; text nobody coded with the code excluded")
    )
    boot_words = f"CI: percentile bootstrap of documents, {n_boot} resamples, seed {seed}" if n_boot else "no CI (n_boot=0)"
    wide = units.pivot_table(index=["code", "document_id", "unit_id"], columns="coder", values="value", aggfunc="first")
    wide = wide.reindex(columns=all_coders)
    categories = np.array([0.0, 1.0]) if value == "presence" else np.unique(units["value"].to_numpy(float))

    ratings = wide.to_numpy(dtype=float)
    features = _unit_features(ratings, categories)
    document_index, documents = pd.factorize(wide.index.get_level_values("document_id"), sort=True)
    code_index, codes_of_unit = pd.factorize(wide.index.get_level_values("code"), sort=True)
    draws = _bootstrap_draws(len(documents), n_boot, seed) if n_boot > 0 else np.empty((0, len(documents)))

    rows = []
    # One vectorised computation per code (a loop over codes, not over units);
    # the pooled row sums the same document totals over every code.
    # pivot_table sorts its index, so each code's units are one contiguous slice.
    bounds = np.searchsorted(code_index, np.arange(len(codes_of_unit) + 1))
    for position, code in enumerate([*codes_of_unit, OVERALL]):
        in_code = slice(0, len(ratings)) if code == OVERALL else slice(bounds[position], bounds[position + 1])
        totals = _sum_by(features[in_code], document_index[in_code], len(documents))
        for row in _summarise(ratings[in_code], totals, draws, categories, level=level, statistics=statistics, ci=ci):
            extra = row.pop("note")
            if row["statistic"] == "krippendorff_alpha" and level != "nominal" and value == "presence":
                extra = "; ".join(filter(None, [extra, "0/1 data: every level gives the nominal alpha"]))
            row["note"] = "; ".join(filter(None, [f"units: {unit_words}", boot_words, extra]))
            rows.append(dict(code=code, **row))
    return pd.DataFrame(rows, columns=columns)


def as_result_frame(table: pd.DataFrame, *, unit: str) -> pd.DataFrame:
    """An `agreement` table in the standard result shape (for reports).

    Parameters
    ----------
    table : DataFrame
        Output of `agreement`.
    unit : {"document", "segment"}
        The unit of analysis `agreement` was computed with, for the
        ``group`` column (required: the table does not carry it).

    Returns
    -------
    DataFrame
        `ponzoni_eval._core.results.result_frame` rows: ``analysis =
        "intercoder_agreement"``, ``case_id = "all"``, ``group = "unit=..."``,
        ``outcome`` = code, ``test`` = ``effect_name`` = statistic,
        ``effect_size`` = estimate with its CI, ``n`` = units.

    Notes
    -----
    Agreement coefficients are effect sizes, not tests: ``statistic``,
    ``df`` and ``p_value`` stay empty.

    References
    ----------
    See `agreement`.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"code": ["trust"], "statistic": ["cohen_kappa"], "estimate": [0.6],
    ...                       "ci_low": [0.2], "ci_high": [0.9], "n_units": [10], "n_coders": [2], "note": [""]})
    >>> row = as_result_frame(table, unit="document").iloc[0]
    >>> row["analysis"], row["group"], float(row["effect_size"])
    ('intercoder_agreement', 'unit=document', 0.6)
    """
    if unit not in _UNITS:
        raise ValueError(f"unit must be 'document' or 'segment', not {unit!r}")
    rows = [
        dict(
            analysis="intercoder_agreement",
            case_id="all",
            group=f"unit={unit}",
            outcome=record["code"],
            test=record["statistic"],
            n=record["n_units"],
            effect_size=record["estimate"],
            effect_name=record["statistic"],
            ci_low=record["ci_low"],
            ci_high=record["ci_high"],
            note=record["note"] or None,
        )
        for record in table.to_dict("records")
    ]
    return result_frame(rows)


# --- weighted kappa (issue 17) ------------------------------------------------------

KAPPA_WEIGHTS = ("unweighted", "linear", "quadratic")
"""Agreement weights of `weighted_kappa` (R ``irr::kappa2``: "unweighted", "equal", "squared")."""


def _kappa_weight_matrix(q: int, weights: str) -> np.ndarray:
    """Agreement weights w_ij = 1 - |i - j| / (q - 1) (linear) or 1 - (i - j)^2 / (q - 1)^2 (quadratic)."""
    if weights == "unweighted" or q < 2:
        return np.eye(q)
    distance = np.abs(np.subtract.outer(np.arange(q), np.arange(q))) / (q - 1.0)
    return 1.0 - (distance if weights == "linear" else distance**2)


def _kappa_from_table(table: np.ndarray, w: np.ndarray) -> tuple[float, float, float, float, float]:
    """Weighted kappa, its non-null and null asymptotic SE (Fleiss, Cohen & Everitt 1969), p_o and p_e."""
    n = table.sum()
    p = table / n
    rows, cols = p.sum(axis=1), p.sum(axis=0)
    p_o = float((w * p).sum())
    p_e = float((w * np.outer(rows, cols)).sum())
    if 1.0 - p_e <= 1e-12:
        return float("nan"), float("nan"), float("nan"), p_o, p_e
    kappa = (p_o - p_e) / (1.0 - p_e)
    w_row = w @ cols  # wbar_i. = sum_j p_.j w_ij
    w_col = rows @ w  # wbar_.j = sum_i p_i. w_ij
    spread = w - (w_row[:, None] + w_col[None, :]) * (1.0 - kappa)
    var = ((p * spread**2).sum() - (kappa - p_e * (1.0 - kappa)) ** 2) / (n * (1.0 - p_e) ** 2)
    var_null = ((np.outer(rows, cols) * (w - (w_row[:, None] + w_col[None, :])) ** 2).sum() - p_e**2) / (n * (1.0 - p_e) ** 2)
    return float(kappa), float(np.sqrt(max(var, 0.0))), float(np.sqrt(max(var_null, 0.0))), p_o, p_e


def _jackknife_z_interval(table: np.ndarray, w: np.ndarray, kappa: float, ci: float) -> tuple[float, float, float] | None:
    """Jackknife interval of kappa on Fisher's z scale: tanh(atanh(kappa) +/- t(n - 1) SE_J); None where undefined.

    Leave-one-unit-out kappas kappa_(i) (units in the same cell give the same value, so one per occupied
    cell, weighted by its count), z_(i) = atanh(kappa_(i)), SE_J^2 = (n - 1) / n sum_i (z_(i) - mean z)^2
    (Quenouille-Tukey jackknife; Efron & Tibshirani 1993, ch. 11); the interval is centred on the
    full-sample atanh(kappa) with the t(n - 1) quantile. Undefined (None) when a leave-one-out kappa is
    undefined or +/-1 (z infinite). Returns (low, high, SE_J).
    """
    from scipy import stats

    n = int(table.sum())
    if n < 3 or not -1.0 < kappa < 1.0:
        return None
    cells = np.argwhere(table > 0)
    counts = table[cells[:, 0], cells[:, 1]]
    left_out = np.empty(len(cells))
    for index, (i, j) in enumerate(cells):
        reduced = table.copy()
        reduced[i, j] -= 1.0
        left_out[index] = _kappa_from_table(reduced, w)[0]
    if not np.all(np.isfinite(left_out)) or np.any(np.abs(left_out) >= 1.0 - 1e-12):
        return None
    z_out = np.arctanh(left_out)
    mean = float(counts @ z_out) / n
    se = float(np.sqrt((n - 1) / n * float(counts @ (z_out - mean) ** 2)))
    half = float(stats.t.ppf(1 - (1 - ci) / 2, n - 1)) * se
    centre = float(np.arctanh(kappa))
    return float(np.tanh(centre - half)), float(np.tanh(centre + half)), se


def _wilson_lower(successes: float, n: float, z: float) -> float:
    """Lower limit of the Wilson (1927) score interval for a proportion."""
    share = successes / n
    centre = share + z**2 / (2 * n)
    half = z * np.sqrt(share * (1 - share) / n + z**2 / (4 * n**2))
    return float((centre - half) / (1 + z**2 / n))


def perfect_agreement_lower(n_units: int, chance: float, ci: float = 0.95) -> float:
    """Lower CI limit of a chance-corrected coefficient when every unit agrees.

    At perfect agreement (p_o = 1) the asymptotic SE of kappa is 0 and every
    bootstrap resample gives 1, so both intervals collapse to [1, 1]. The
    bound used instead: the Wilson score interval of the observed agreement
    (n_units agreements in n_units units) gives p_low = n / (n + z^2); mapped
    through the coefficient with the chance term held at its observed value,
    kappa_low = (p_low - p_e) / (1 - p_e). The upper limit is 1. ``ci`` is
    the two-sided level of the Wilson interval (z = Phi^-1(1 - (1 - ci)/2)).
    Percent agreement uses p_e = 0, Brennan-Prediger 1/q, Krippendorff's
    nominal alpha 1 - D_e.
    """
    from scipy import stats

    z = float(stats.norm.ppf(1 - (1 - ci) / 2))
    low = _wilson_lower(n_units, n_units, z)
    if not np.isfinite(chance) or chance >= 1:
        return float("nan")
    return float((low - chance) / (1.0 - chance))


def weighted_kappa(
    ratings: pd.DataFrame | np.ndarray,
    *,
    weights: str = "linear",
    categories: Sequence | None = None,
    n_boot: int = 2000,
    seed: int = DEFAULT_SEED,
    ci: float = 0.95,
    outcome: str = "",
    case_id: str = "all",
) -> pd.DataFrame:
    """Cohen's weighted kappa of two coders with a jackknife Fisher-z CI (reported), an asymptotic-SE and a bootstrap CI.

    Parameters
    ----------
    ratings : DataFrame or 2-D array
        One row per unit, two columns (the two coders), numeric ordered
        category codes; units with a missing rating are left out (counted in
        ``note``).
    weights : {"linear", "quadratic", "unweighted"}
        Agreement weights over the ordered categories (see Notes).
    categories : sequence, optional
        All possible categories in order (default: those observed). The
        weights depend on the number of categories, so pass the full scale
        when a category was never used (e.g. 1..5 on a 5-point scale).
    n_boot : int, default 2000
        Bootstrap resamples of units for the percentile CI (0: no bootstrap row).
    seed : int
        Seed of the bootstrap.
    ci : float
        Confidence level.
    outcome, case_id : str
        Labels of the result rows.

    Returns
    -------
    DataFrame
        Standard result shape, analysis ``intercoder_agreement``,
        ``test = effect_name = "cohen_kappa_<weights>"``: first the reported
        row, ``group = "ci=jackknife_z"`` (statistic z = kappa / SE_0 and its
        two-sided p against kappa = 0; the jackknife Fisher-z CI, see Notes),
        then ``group = "ci=asymptotic"`` (the same test; CI kappa +/- z ASE,
        as ``vcd::Kappa``) and, when ``n_boot > 0``, ``group =
        "ci=bootstrap"`` (percentile interval over resampled units; no test).

    Notes
    -----
    With cell proportions p_ij (coder 1 in category i, coder 2 in j), margins
    p_i. and p_.j and agreement weights w_ij::

        linear:    w_ij = 1 - |i - j| / (q - 1)
        quadratic: w_ij = 1 - (i - j)^2 / (q - 1)^2
        p_o = sum w_ij p_ij,  p_e = sum w_ij p_i. p_.j,  kappa_w = (p_o - p_e) / (1 - p_e)

    (Cohen 1968). Categories are equally spaced by their rank in
    ``categories``; sklearn's ``cohen_kappa_score(weights=...)``, R
    ``irr::kappa2`` ("equal", "squared") and ``vcd::Kappa`` ("Equal-Spacing",
    "Fleiss-Cohen") use the same weights. The quadratic weighted kappa equals
    the intraclass correlation ICC(3,1) up to a term in 1/n (Fleiss & Cohen 1973).

    *Asymptotic SE* (Fleiss, Cohen & Everitt 1969), with
    wbar_i. = sum_j p_.j w_ij and wbar_.j = sum_i p_i. w_ij::

        var(kappa_w) = [sum p_ij (w_ij - (wbar_i. + wbar_.j)(1 - kappa_w))^2
                        - (kappa_w - p_e (1 - kappa_w))^2] / (n (1 - p_e)^2)

    gives the CI (as ``vcd::Kappa``'s ASE); the null variance (kappa = 0,
    p_ij = p_i. p_.j)::

        var_0 = [sum p_i. p_.j (w_ij - (wbar_i. + wbar_.j))^2 - p_e^2] / (n (1 - p_e)^2)

    gives z and p (as ``irr::kappa2``). Limits are clipped to [-1, 1].

    *Reported CI: jackknife on Fisher's z scale.* The ASE interval and the
    percentile bootstrap undercover with few units (coverage .87-.91 at 20
    units, .92-.94 at 40; docs/calibration-nonparametric.md). The reported
    interval is tanh(atanh(kappa) +/- t(0.975, n - 1) SE_J), with SE_J the
    jackknife (leave one unit out) SE of atanh(kappa) (Quenouille-Tukey
    jackknife; Efron & Tibshirani 1993, ch. 11; Fisher's z keeps the
    interval inside (-1, 1) and makes it asymmetric towards 1); coverage
    .94-.97 at 20 and 40 units for linear and quadratic weights in the
    same simulation. Where a leave-one-out kappa is undefined or +/-1 (one
    disagreeing unit, or a coder left with one category) the row falls
    back to the Fisher-z interval of the ASE, tanh(atanh(kappa) +/-
    t(0.975, n - 1) ASE / (1 - kappa^2)), and says so in ``note``.

    *Perfect agreement.* When every unit lies on the diagonal the SE is 0 and
    every resample gives 1, so both intervals would collapse to [1, 1]. Then
    the lower limit is the Wilson score limit of the observed agreement
    (n of n units agree), n / (n + z^2), carried through kappa with p_e at its
    observed value (`perfect_agreement_lower`); the upper limit is 1; the note says so.

    References
    ----------
    Cohen, J. (1968). Weighted kappa. *Psychological Bulletin*, 70, 213-220.
    Fleiss, J. L., Cohen, J., & Everitt, B. S. (1969). Large sample standard
    errors of kappa and weighted kappa. *Psychological Bulletin*, 72, 323-327.
    Fleiss, J. L., & Cohen, J. (1973). The equivalence of weighted kappa and
    the intraclass correlation coefficient. *Educational and Psychological
    Measurement*, 33, 613-619.
    Wilson, E. B. (1927). Probable inference. *JASA*, 22, 209-212.
    Efron, B., & Tibshirani, R. J. (1993). *An introduction to the bootstrap*.
    Chapman & Hall (ch. 11: the jackknife).

    Examples
    --------
    Friendly's ``SexualFun`` table (husband x wife, 91 couples); R
    ``vcd::Kappa(SexualFun)``: unweighted 0.1293 (ASE 0.06860), weighted
    (equal spacing) 0.2374 (ASE 0.07832):

    >>> import numpy as np
    >>> table = np.array([[7, 7, 2, 3], [2, 8, 3, 7], [1, 5, 4, 9], [2, 8, 9, 14]])
    >>> i, j = np.indices(table.shape)
    >>> pairs = np.column_stack([np.repeat(i.ravel(), table.ravel()), np.repeat(j.ravel(), table.ravel())])
    >>> res = weighted_kappa(pairs, weights="linear", n_boot=0)
    >>> float(round(res.loc[0, "effect_size"], 4))
    0.2374
    """
    if weights not in KAPPA_WEIGHTS:
        raise DataError("unknown kappa weights", expected=", ".join(KAPPA_WEIGHTS), found=weights, rule="argument")
    matrix = np.asarray(ratings.to_numpy(dtype=float) if isinstance(ratings, pd.DataFrame) else ratings, dtype=float)
    if matrix.ndim != 2 or matrix.shape[1] != 2:
        raise DataError("weighted kappa needs exactly two coders (two columns)", found=f"shape {matrix.shape}", rule="argument")
    complete = ~np.isnan(matrix).any(axis=1)
    dropped = int((~complete).sum())
    matrix = matrix[complete]
    observed = np.unique(matrix)
    domain = observed if categories is None else np.asarray(sorted(categories), dtype=float)
    outside = np.setdiff1d(observed, domain)
    if len(outside):
        raise DataError("ratings contain values outside the given categories", expected=list(domain), found=list(outside), rule="argument")
    name = f"cohen_kappa_{weights}"
    labels = dict(analysis="intercoder_agreement", case_id=case_id, outcome=outcome, test=name, effect_name=name)
    n = len(matrix)
    dropped_note = f"{dropped} unit(s) with a missing rating left out" if dropped else None
    q = len(domain)
    if n < 2 or q < 2:
        note = f"not estimated: needs at least 2 units rated by both coders and 2 categories (has {n} and {q})"
        return result_frame([dict(labels, group="ci=jackknife_z", n=n, note="; ".join(filter(None, [note, dropped_note])))])
    codes = np.searchsorted(domain, matrix).astype(int)
    w = _kappa_weight_matrix(q, weights)
    table = np.zeros((q, q))
    np.add.at(table, (codes[:, 0], codes[:, 1]), 1.0)
    kappa, se, se0, p_o, p_e = _kappa_from_table(table, w)
    from scipy import stats

    z = float(stats.norm.ppf(1 - (1 - ci) / 2))
    weight_note = {"unweighted": "unweighted (nominal)", "linear": "linear agreement weights", "quadratic": "quadratic agreement weights"}[weights]
    common = f"Cohen's kappa, {weight_note}, {q} categories"
    if not np.isfinite(kappa):
        note = "undefined: both coders used a single category (no variation)"
        return result_frame([dict(labels, group="ci=jackknife_z", n=n, note="; ".join(filter(None, [common, note, dropped_note])))])
    perfect = bool(np.all(codes[:, 0] == codes[:, 1]))
    if perfect:
        low, high = perfect_agreement_lower(n, p_e, ci), 1.0
        ci_note = (f"perfect agreement: SE = 0, so the CI is [Wilson lower limit of agreement in {n} of {n} units "
                   "carried through kappa with p_e fixed, 1]")
    else:
        low, high = max(-1.0, kappa - z * se), min(1.0, kappa + z * se)
        ci_note = f"CI: kappa +/- z ASE, non-null ASE = {se:.4f} (Fleiss, Cohen & Everitt 1969)"
    z_stat = kappa / se0 if se0 > 0 else float("nan")
    p_value = float(2 * stats.norm.sf(abs(z_stat))) if np.isfinite(z_stat) else float("nan")
    if perfect:
        j_low, j_high, j_note = low, high, ci_note
    else:
        jackknife = _jackknife_z_interval(table, w, kappa, ci)
        t_crit = float(stats.t.ppf(1 - (1 - ci) / 2, n - 1))
        if jackknife is not None:
            j_low, j_high, se_j = jackknife
            j_note = (f"CI: jackknife on Fisher's z, tanh(atanh(kappa) +/- t({n - 1}) SE_J), SE_J = {se_j:.4f} "
                      "(leave one unit out; calibrated at 20-40 units, docs/calibration-nonparametric.md)")
        elif abs(kappa) < 1.0 and se > 0:
            half = t_crit * se / (1.0 - kappa**2)
            j_low, j_high = float(np.tanh(np.arctanh(kappa) - half)), float(np.tanh(np.arctanh(kappa) + half))
            j_note = (f"CI: Fisher's z of the ASE, tanh(atanh(kappa) +/- t({n - 1}) ASE / (1 - kappa^2)) (the jackknife "
                      "is undefined here: a leave-one-out kappa is undefined or +/-1)")
        else:
            j_low = j_high = float("nan")
            j_note = "no CI: kappa at +/-1 with disagreements, or a zero ASE"
    test_note = "z = kappa / null SE, two-sided"
    rows = [
        dict(labels, group="ci=jackknife_z", n=n, statistic=z_stat, p_value=p_value, effect_size=kappa, ci_low=j_low,
             ci_high=j_high, note="; ".join(filter(None, [common, test_note, j_note, dropped_note]))),
        dict(labels, group="ci=asymptotic", n=n, statistic=z_stat, p_value=p_value, effect_size=kappa, ci_low=low, ci_high=high,
             note="; ".join(filter(None, [common, test_note, ci_note, "undercovers below about 40 units", dropped_note]))),
    ]
    if n_boot > 0:
        rng = np.random.default_rng(seed)
        draws = rng.integers(0, n, size=(n_boot, n))
        cells = codes[:, 0] * q + codes[:, 1]
        tables = np.zeros((n_boot, q * q))
        np.add.at(tables, (np.repeat(np.arange(n_boot), n), cells[draws].ravel()), 1.0)
        tables = tables.reshape(n_boot, q, q) / n
        p_o_b = (tables * w).sum(axis=(1, 2))
        p_e_b = np.einsum("bi,ij,bj->b", tables.sum(axis=2), w, tables.sum(axis=1))
        kappa_b = _divide(p_o_b - p_e_b, 1.0 - p_e_b)
        finite = kappa_b[np.isfinite(kappa_b)]
        tail = 100 * (1 - ci) / 2
        notes = [common, f"CI: percentile bootstrap of units, {n_boot} resamples, seed {seed}"]
        if perfect:
            b_low, b_high = low, 1.0
            notes.append("perfect agreement: every resample gives 1, so the CI is the Wilson-type bound of the other rows")
        elif len(finite):
            b_low, b_high = (float(x) for x in np.percentile(finite, [tail, 100 - tail]))
        else:
            b_low = b_high = float("nan")
        if len(finite) < n_boot:
            notes.append(f"{n_boot - len(finite)} of {n_boot} resamples had no variation and were left out of the CI")
        rows.append(dict(labels, group="ci=bootstrap", n=n, effect_size=kappa, ci_low=b_low, ci_high=b_high,
                         note="; ".join(filter(None, [*notes, dropped_note]))))
    return result_frame(rows)
