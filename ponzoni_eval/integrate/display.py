"""Mixed-methods integration: integration map, joint displays, meta-inferences.

For each construct of the study (trust, perception gap, expectation mismatch,
safe space, help-seeking) this module puts the numbers and the voices side by
side and judges how the two strands fit:

1. An **integration map** (`load_integration_map`, a versioned TOML file) says
   which rows of the standard result frame and which codes speak to each
   construct, and in which direction an effect or a code supports it.
2. `joint_display` builds a construct x case table (Guetterman, Fetters &
   Creswell, 2015): the quantitative result, the prevalence of the linked
   themes, one to three exemplar quotes (chosen by a fixed rule and redacted),
   a **fit label** from the triangulation protocol (agreement, partial
   agreement, silence, dissonance; O'Cathain, Murphy & Nicholl, 2010) computed
   by the decision table in `FIT_RULE`, an evaluator's override, and a
   meta-inference sentence.
3. `meta_matrix` (cases ordered by an outcome x constructs) and
   `statistics_by_themes` (the statistic per case beside each theme's
   prevalence) are two further displays.
4. `to_html`, `to_markdown` and `to_xlsx` render any of the three displays.

The fit rule
------------
Quantitative evidence per construct x case (all result rows that the map's
selectors pick for the case):

- a row is *supportive* when its 95% CI lies strictly beyond the null value on
  the supportive side; *contrary* when it lies strictly beyond it on the other
  side; *negligible* when the map gives a smallest meaningful effect and the CI
  stays short of it; *inconclusive* otherwise. A row without a CI is judged by
  ``p_value < alpha`` and the sign of its estimate; a row without an estimate
  and without a CI (a test that could not run) is no evidence;
- a construct x case is *mixed* when it has both a supportive and a contrary
  row; else *supportive* when a row is supportive (a negligible row beside it,
  e.g. a flat slope beside a level jump, does not contradict it); else
  *contrary*, else *negligible* when such a row exists; *inconclusive* when
  rows exist but none is conclusive, and *absent* when no selected row
  carries any number.

Qualitative evidence per construct x case, from the prevalence frame
(share = n / n_at_risk of participants who mentioned a code):

- S = the largest share among the codes that *support* the construct,
  C = the largest share among the codes that *contradict* it (0 if none);
- *supportive* when S >= threshold and S > C; *contrary* when C >= threshold
  and C > S; *mixed* when S = C >= threshold; *inconclusive* when a linked code
  (including *context* codes or suppressed cells) was mentioned but none of the
  above holds; *absent* when no linked code was mentioned by anyone.

Decision table (negligible counts as contrary, mixed as inconclusive)::

    quantitative \\ qualitative | supportive  contrary    inconclusive  absent
    ---------------------------+-----------------------------------------------
    supportive                 | agreement   dissonance  partial       silence
    contrary                   | dissonance  agreement   partial       silence
    inconclusive               | partial     partial     silence       silence
    absent                     | silence     silence     silence       silence

(partial = partial agreement). When neither strand is conclusive there is no
finding to triangulate, so the label is *silence*, as when a strand has no data.

References
----------
Fetters, M. D., Curry, L. A., & Creswell, J. W. (2013). Achieving integration
in mixed methods designs: principles and practices. Health Services Research,
48(6 Pt 2), 2134-2156.
Guetterman, T. C., Fetters, M. D., & Creswell, J. W. (2015). Integrating
quantitative and qualitative results in health science mixed methods research
through joint displays. Annals of Family Medicine, 13(6), 554-561.
O'Cathain, A., Murphy, E., & Nicholl, J. (2010). Three techniques for
integrating data in mixed methods studies. BMJ, 341, c4587.
Okabe, M., & Ito, K. (2008). Color Universal Design: how to make figures and
presentations that are friendly to colorblind people (the palette used here).
"""

from __future__ import annotations

import csv
import fnmatch
import hashlib
import io
import math
import os
import re
import tempfile
import tomllib
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from .errors import DataError, require_columns
from .privacy import DEFAULT_MIN_CELL, participant_names, suppress_small_cells
from .privacy import redact as privacy_redact
from .results import RESULT_COLUMNS

__all__ = [
    "SCHEMA_VERSION",
    "FIT_LABELS",
    "FIT_RULE",
    "FIT_COLOURS",
    "CODE_DIRECTIONS",
    "ResultSelector",
    "CodeLink",
    "Construct",
    "IntegrationMap",
    "load_integration_map",
    "default_map_path",
    "classify_quantitative",
    "classify_qualitative",
    "fit_label",
    "select_quotes",
    "read_overrides",
    "joint_display",
    "statistics_by_themes",
    "meta_matrix",
    "to_html",
    "to_markdown",
    "to_xlsx",
]

SCHEMA_VERSION = 1
"""Version of the integration map format this module reads."""

MAP_FILENAME = "integration_map.toml"
OVERRIDES_FILENAME = "integration_overrides.csv"

FIT_LABELS = ("agreement", "partial agreement", "silence", "dissonance")
"""The triangulation protocol's fit labels (O'Cathain et al., 2010)."""

QUANT_DIRECTIONS = ("greater", "less")
CODE_DIRECTIONS = ("supports", "contradicts", "context")

# The decision table of the module docstring: (quantitative, qualitative) -> fit label.
FIT_RULE: dict[tuple[str, str], str] = {
    ("supportive", "supportive"): "agreement",
    ("supportive", "contrary"): "dissonance",
    ("supportive", "inconclusive"): "partial agreement",
    ("supportive", "absent"): "silence",
    ("contrary", "supportive"): "dissonance",
    ("contrary", "contrary"): "agreement",
    ("contrary", "inconclusive"): "partial agreement",
    ("contrary", "absent"): "silence",
    ("inconclusive", "supportive"): "partial agreement",
    ("inconclusive", "contrary"): "partial agreement",
    ("inconclusive", "inconclusive"): "silence",
    ("inconclusive", "absent"): "silence",
    ("absent", "supportive"): "silence",
    ("absent", "contrary"): "silence",
    ("absent", "inconclusive"): "silence",
    ("absent", "absent"): "silence",
}

# Evidence labels -> the row/column of FIT_RULE they fall in.
_QUANT_TO_RULE = {
    "supportive": "supportive",
    "contrary": "contrary",
    "negligible": "contrary",
    "mixed": "inconclusive",
    "inconclusive": "inconclusive",
    "absent": "absent",
}
_QUAL_TO_RULE = {
    "supportive": "supportive",
    "contrary": "contrary",
    "mixed": "inconclusive",
    "inconclusive": "inconclusive",
    "absent": "absent",
}

FETTERS_FIT = {
    "agreement": "confirmation",
    "partial agreement": "expansion",
    "dissonance": "discordance",
    "silence": "",
}
"""Fetters, Curry & Creswell (2013)'s names for the same judgements."""

# Okabe-Ito colours (colour-blind safe); every cell also carries the label as text.
FIT_COLOURS = {
    "agreement": "#56B4E9",  # sky blue
    "partial agreement": "#F0E442",  # yellow
    "silence": "#D9D9D9",  # grey
    "dissonance": "#E69F00",  # orange
}

_FIT_TEXT = {
    "en": {label: label for label in FIT_LABELS},
    "nl": {
        "agreement": "overeenstemming",
        "partial agreement": "gedeeltelijke overeenstemming",
        "silence": "stilte",
        "dissonance": "dissonantie",
    },
}
_FIT_MEANING = {
    "en": {
        "agreement": "both strands point the same way",
        "partial agreement": "one strand is conclusive, the other is not",
        "silence": "a strand has no data, or neither is conclusive",
        "dissonance": "the strands point in opposite directions",
    },
    "nl": {
        "agreement": "beide strengen wijzen dezelfde kant op",
        "partial agreement": "de ene streng is doorslaggevend, de andere niet",
        "silence": "een streng heeft geen gegevens, of geen van beide is doorslaggevend",
        "dissonance": "de strengen wijzen tegengestelde kanten op",
    },
}

DEFAULT_QUAL_THRESHOLD = 0.30
DEFAULT_ALPHA = 0.05
DEFAULT_QUOTE_WINDOW = (40, 300)
POOLED_CASE = "all"

_REQUIRED_PREVALENCE = ("case_id", "code", "n", "n_at_risk")
_REQUIRED_SEGMENTS = ("document_id", "participant_id", "case_id", "coder", "code", "start", "end", "text")
_REQUIRED_PARTICIPANTS = ("participant_id", "case_id")
_OVERRIDE_COLUMNS = ("construct", "case_id", "fit_label", "meta_inference", "evaluator", "date", "reason")

_EFFECT_SYMBOLS = {
    "hedges_g": "g",
    "hedges_g_av": "g_av",
    "cohen_d": "d",
    "cohen_dz": "d_z",
    "rank_biserial": "r_rb",
    "matched_pairs_rank_biserial": "r_rb",
    "rank_biserial_r": "r_rb",
    "rate_ratio_level": "RR (level)",
    "rate_ratio_slope": "RR (slope)",
    "change": "Δ",
    "change_difference": "Δ difference",
    "rate_ratio": "RR",
    "incidence_rate_ratio": "IRR",
    "odds_ratio": "OR",
    "cramers_v": "V",
    "mean_difference": "Δ",
    "mean_change": "Δ",
    "mean": "M",
}


# --- the integration map --------------------------------------------------------


@dataclass(frozen=True)
class ResultSelector:
    """Which rows of the standard result frame speak to a construct.

    Each pattern field is a tuple of glob patterns (``fnmatch``, case-sensitive);
    a row matches when every field matches one of its patterns. A missing
    value in the result frame matches only the pattern ``""`` or ``"*"``.
    A ``fallback`` selector is used for a case only when the construct's other
    selectors found no result with numbers there (another estimate of the
    same effect, not a second piece of evidence).
    """

    analysis: tuple[str, ...] = ("*",)
    outcome: tuple[str, ...] = ("*",)
    test: tuple[str, ...] = ("*",)
    effect_name: tuple[str, ...] = ("*",)
    group: tuple[str, ...] = ("*",)
    direction: str = "greater"
    null_value: float = 0.0
    smallest_meaningful: float | None = None
    fallback: bool = False

    @property
    def sign(self) -> int:
        """+1 when an effect above the null supports the construct, -1 when below."""
        return 1 if self.direction == "greater" else -1

    def matches(self, results: pd.DataFrame) -> pd.Series:
        """Boolean mask of the rows of ``results`` this selector picks."""
        mask = pd.Series(True, index=results.index)
        for column in ("analysis", "outcome", "test", "effect_name", "group"):
            patterns = getattr(self, column)
            values = results[column].fillna("").astype(str)
            hits = {v for v in values.unique() if any(fnmatch.fnmatchcase(v, p) for p in patterns)}
            mask &= values.isin(hits)
        return mask


@dataclass(frozen=True)
class CodeLink:
    """A code that speaks to a construct, and how: supports, contradicts or context."""

    code: str
    direction: str


@dataclass(frozen=True)
class Construct:
    """One construct of the study with its labels, result selectors and codes."""

    name: str
    label_en: str
    label_nl: str
    description: str
    quantitative: tuple[ResultSelector, ...]
    codes: tuple[CodeLink, ...]

    def label(self, language: str = "en") -> str:
        return self.label_nl if language == "nl" else self.label_en


@dataclass(frozen=True)
class IntegrationMap:
    """The parsed integration map: constructs in file order, and where it came from."""

    schema_version: int
    constructs: tuple[Construct, ...]
    source: str

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.constructs)

    def __getitem__(self, name: str) -> Construct:
        for construct in self.constructs:
            if construct.name == name:
                return construct
        raise KeyError(name)


def default_map_path() -> Path:
    """The integration map shipped with the package (`ponzoni_eval/data/integration_map.toml`)."""
    return Path(str(resources.files("ponzoni_eval") / "data" / MAP_FILENAME))


def load_integration_map(path: str | os.PathLike | None = None) -> IntegrationMap:
    """Read and validate an integration map.

    Parameters
    ----------
    path : path-like, optional
        A TOML file, or a folder (the raw data folder). Precedence: an explicit
        file; else ``<folder>/integration_map.toml`` when the folder has one;
        else the package default (`default_map_path`).

    Returns
    -------
    IntegrationMap

    Raises
    ------
    DataError
        For invalid TOML, a wrong ``schema_version``, unknown keys, missing
        fields or bad directions; the message names the key and the file.

    Examples
    --------
    >>> imap = load_integration_map()
    >>> imap.names[:2]
    ('trust', 'perception_gap')
    >>> [(c.code, c.direction) for c in imap["trust"].codes]
    [('growing_trust', 'supports'), ('we_they_thinking', 'contradicts'), ('listening_to_needs', 'context')]
    """
    file = _resolve_map_path(path)
    try:
        with open(file, "rb") as handle:
            raw = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"not valid TOML: {exc}", file=str(file), rule="toml") from exc
    return _parse_map(raw, str(file))


def _resolve_map_path(path: str | os.PathLike | None) -> Path:
    if path is None:
        return default_map_path()
    path = Path(path)
    if path.is_dir():
        candidate = path / MAP_FILENAME
        return candidate if candidate.is_file() else default_map_path()
    if not path.is_file():
        raise DataError("integration map not found", file=str(path), rule="exists")
    return path


def _map_error(file: str, key: str, message: str, *, expected: Any = None, found: Any = None) -> DataError:
    return DataError(f"integration map key '{key}': {message}", file=file, expected=expected, found=found, rule="integration_map")


def _check_keys(table: Mapping, allowed: Iterable[str], required: Iterable[str], file: str, where: str) -> None:
    allowed = tuple(allowed)
    for key in table:
        if key not in allowed:
            raise _map_error(file, f"{where}.{key}" if where else key, "unknown key", expected="one of " + ", ".join(allowed), found=key)
    for key in required:
        if key not in table:
            raise _map_error(file, f"{where}.{key}" if where else key, "missing")


def _patterns(value: Any, file: str, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise _map_error(file, key, "must be a text pattern or a non-empty list of patterns", found=value)


def _number(value: Any, file: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _map_error(file, key, "must be a finite number", found=value)
    return float(value)


def _parse_map(raw: Mapping[str, Any], file: str) -> IntegrationMap:
    _check_keys(raw, ("schema_version", "constructs"), ("schema_version", "constructs"), file, "")
    if raw["schema_version"] != SCHEMA_VERSION:
        raise _map_error(file, "schema_version", "unsupported version", expected=SCHEMA_VERSION, found=raw["schema_version"])
    constructs_raw = raw["constructs"]
    if not isinstance(constructs_raw, dict) or not constructs_raw:
        raise _map_error(file, "constructs", "must hold at least one [constructs.NAME] table")
    constructs = []
    for name, body in constructs_raw.items():
        where = f"constructs.{name}"
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise _map_error(file, where, "construct names are lower-case identifiers", found=name)
        if not isinstance(body, dict):
            raise _map_error(file, where, "must be a table")
        _check_keys(body, ("label", "description", "quantitative", "codes"), ("label", "quantitative", "codes"), file, where)
        label = body["label"]
        if not isinstance(label, dict):
            raise _map_error(file, f"{where}.label", "must be a table with en and nl")
        _check_keys(label, ("en", "nl"), ("en", "nl"), file, f"{where}.label")
        for lang in ("en", "nl"):
            if not isinstance(label[lang], str) or not label[lang].strip():
                raise _map_error(file, f"{where}.label.{lang}", "must be non-empty text", found=label[lang])
        description = body.get("description", "")
        if not isinstance(description, str):
            raise _map_error(file, f"{where}.description", "must be text", found=description)
        constructs.append(
            Construct(
                name=name,
                label_en=label["en"].strip(),
                label_nl=label["nl"].strip(),
                description=description.strip(),
                quantitative=_parse_selectors(body["quantitative"], file, f"{where}.quantitative"),
                codes=_parse_codes(body["codes"], file, f"{where}.codes"),
            )
        )
    return IntegrationMap(schema_version=SCHEMA_VERSION, constructs=tuple(constructs), source=file)


def _parse_selectors(items: Any, file: str, where: str) -> tuple[ResultSelector, ...]:
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise _map_error(file, where, "must be a list of [[...quantitative]] tables")
    pattern_fields = ("analysis", "outcome", "test", "effect_name", "group")
    selectors = []
    for index, item in enumerate(items):
        key = f"{where}[{index}]"
        _check_keys(item, (*pattern_fields, "direction", "null_value", "smallest_meaningful", "fallback"), ("analysis", "direction"), file, key)
        direction = item["direction"]
        if direction not in QUANT_DIRECTIONS:
            raise _map_error(file, f"{key}.direction", "bad direction", expected=" or ".join(QUANT_DIRECTIONS), found=direction)
        null_value = _number(item.get("null_value", 0.0), file, f"{key}.null_value")
        smallest = item.get("smallest_meaningful")
        if smallest is not None:
            smallest = _number(smallest, file, f"{key}.smallest_meaningful")
            sign = 1 if direction == "greater" else -1
            if sign * (smallest - null_value) <= 0:
                raise _map_error(
                    file,
                    f"{key}.smallest_meaningful",
                    "must lie on the supportive side of null_value",
                    expected=f"{'>' if sign > 0 else '<'} {null_value}",
                    found=smallest,
                )
        fallback = item.get("fallback", False)
        if not isinstance(fallback, bool):
            raise _map_error(file, f"{key}.fallback", "must be true or false", found=fallback)
        patterns = {f: _patterns(item[f], file, f"{key}.{f}") for f in pattern_fields if f in item}
        selectors.append(
            ResultSelector(**patterns, direction=direction, null_value=null_value, smallest_meaningful=smallest, fallback=fallback)
        )
    return tuple(selectors)


def _parse_codes(table: Any, file: str, where: str) -> tuple[CodeLink, ...]:
    if not isinstance(table, dict):
        raise _map_error(file, where, "must be a table of code = direction")
    links = []
    for code, direction in table.items():
        if direction not in CODE_DIRECTIONS:
            raise _map_error(file, f"{where}.{code}", "bad direction", expected=", ".join(CODE_DIRECTIONS), found=direction)
        links.append(CodeLink(code=code, direction=direction))
    return tuple(links)


# --- evidence and fit ----------------------------------------------------------------


def classify_quantitative(
    estimate,
    ci_low,
    ci_high,
    p_value,
    *,
    direction,
    null_value=0.0,
    smallest_meaningful=None,
    alpha: float = DEFAULT_ALPHA,
    basis: str = "ci",
) -> np.ndarray:
    """Label each result row as supportive, contrary, negligible, inconclusive or absent.

    Parameters
    ----------
    estimate, ci_low, ci_high, p_value : array-like of float
        Effect size, its CI and p-value (NaN where missing).
    direction : str or array-like of str
        ``"greater"`` or ``"less"``: where a supportive effect lies relative to
        ``null_value``.
    null_value, smallest_meaningful : float or array-like
        The effect of no change and, optionally (NaN/None = not set), the
        smallest effect that would matter.
    alpha : float
        Used only for rows without a CI.
    basis : {"ci", "estimate"}
        ``"ci"`` (default): judge by the 95% CI. ``"estimate"``: judge by the
        point estimate against the smallest meaningful effect (descriptive
        triangulation for samples too small for any CI to be conclusive).

    Returns
    -------
    numpy array of str

    Notes
    -----
    Basis "ci": with s = +1 (greater) or -1 (less), the CI is moved to the supportive
    scale, L = min(s(lo - null), s(hi - null)), U = max(...). Then supportive
    if L > 0, contrary if U < 0, negligible if U < s(smallest - null),
    inconclusive otherwise (strict inequalities: a bound on the null does not
    exclude it). Without a CI: supportive/contrary when p < alpha and the
    estimate lies on that side, inconclusive otherwise; no estimate, no CI and
    no p-value: absent.

    Basis "estimate": with c = s(estimate - null) and m = s(smallest - null)
    (0 when not set): supportive if c > 0 and c >= m; contrary if c < 0 and
    -c >= m; negligible if m is set and |c| < m; inconclusive otherwise (no
    smallest effect and c = 0); absent without an estimate.

    Examples
    --------
    >>> classify_quantitative([0.5, 0.1, -0.4], [0.1, -0.3, -0.7], [0.9, 0.5, -0.1], [0.01, 0.6, 0.02],
    ...                       direction="greater").tolist()
    ['supportive', 'inconclusive', 'contrary']
    """
    estimate, ci_low, ci_high, p_value = (np.asarray(a, dtype="float64") for a in (estimate, ci_low, ci_high, p_value))
    shape = estimate.shape
    direction = np.broadcast_to(np.asarray(direction, dtype=object), shape)
    sign = np.where(direction == "less", -1.0, 1.0)
    null = np.broadcast_to(np.asarray(null_value, dtype="float64"), shape)
    smallest = np.broadcast_to(np.asarray(np.nan if smallest_meaningful is None else smallest_meaningful, dtype="float64"), shape)

    has_ci = ~np.isnan(ci_low) & ~np.isnan(ci_high)
    lower = np.fmin(sign * (ci_low - null), sign * (ci_high - null))
    upper = np.fmax(sign * (ci_low - null), sign * (ci_high - null))
    centred = sign * (estimate - null)
    significant = ~np.isnan(p_value) & (p_value < alpha)
    with np.errstate(invalid="ignore"):
        supportive = np.where(has_ci, lower > 0, significant & (centred > 0))
        contrary = np.where(has_ci, upper < 0, significant & (centred < 0))
        negligible = has_ci & ~np.isnan(smallest) & (upper < sign * (smallest - null))
    has_any = ~np.isnan(estimate) | has_ci | ~np.isnan(p_value)
    if basis == "estimate":
        meaningful = np.nan_to_num(sign * (smallest - null), nan=0.0)
        with np.errstate(invalid="ignore"):
            supportive = (centred > 0) & (centred >= meaningful)
            contrary = (centred < 0) & (-centred >= meaningful)
            negligible = ~np.isnan(smallest) & (np.abs(centred) < meaningful)
        has_any = ~np.isnan(estimate)
    elif basis != "ci":
        raise ValueError(f"basis must be 'ci' or 'estimate', got {basis!r}")
    return np.select(
        [~has_any, supportive, contrary, negligible],
        ["absent", "supportive", "contrary", "negligible"],
        default="inconclusive",
    )


def classify_qualitative(
    support_share,
    contrary_share,
    mentioned,
    *,
    threshold: float = DEFAULT_QUAL_THRESHOLD,
) -> np.ndarray:
    """Label qualitative evidence as supportive, contrary, mixed, inconclusive or absent.

    Parameters
    ----------
    support_share, contrary_share : array-like of float
        Largest share of participants (0-1) mentioning a supporting /
        contradicting code; NaN when there is no such code or it is unknown
        (suppressed), counted as 0.
    mentioned : array-like of bool
        Whether any linked code (supporting, contradicting, context, or a
        suppressed cell) was mentioned at all.
    threshold : float
        Share a side must reach (inclusive).

    Returns
    -------
    numpy array of str

    Examples
    --------
    >>> classify_qualitative([0.5, 0.3, 0.1, 0.0], [0.1, 0.3, 0.0, 0.0], [True, True, True, False]).tolist()
    ['supportive', 'mixed', 'inconclusive', 'absent']
    """
    support = np.nan_to_num(np.asarray(support_share, dtype="float64"), nan=0.0)
    against = np.nan_to_num(np.asarray(contrary_share, dtype="float64"), nan=0.0)
    mentioned = np.asarray(mentioned, dtype=bool)
    # Shares come from n / n_at_risk; compare with a small tolerance so 3/10 counts as 30%.
    reaches = lambda share: share >= threshold - 1e-9  # noqa: E731
    return np.select(
        [
            ~mentioned,
            reaches(support) & (support > against),
            reaches(against) & (against > support),
            reaches(support) & reaches(against),
        ],
        ["absent", "supportive", "contrary", "mixed"],
        default="inconclusive",
    )


def fit_label(quantitative, qualitative) -> np.ndarray:
    """The fit label of each pair of evidence labels, by the decision table `FIT_RULE`.

    Examples
    --------
    >>> fit_label(["supportive", "negligible", "mixed"], ["supportive", "supportive", "contrary"]).tolist()
    ['agreement', 'dissonance', 'partial agreement']
    """
    quant = pd.Series(np.asarray(quantitative, dtype=object)).map(_QUANT_TO_RULE)
    qual = pd.Series(np.asarray(qualitative, dtype=object)).map(_QUAL_TO_RULE)
    if quant.isna().any() or qual.isna().any():
        raise ValueError(f"unknown evidence label; quantitative: {sorted(_QUANT_TO_RULE)}, qualitative: {sorted(_QUAL_TO_RULE)}")
    keys = pd.Series(list(zip(quant, qual)), dtype=object)
    return keys.map(FIT_RULE).to_numpy(dtype=object)


# --- input checks ------------------------------------------------------------------------


# --- quantitative strand --------------------------------------------------------------------


def _select_results(results: pd.DataFrame, imap: IntegrationMap, alpha: float, basis: str = "ci") -> pd.DataFrame:
    """Rows of ``results`` picked by the map, one per construct x result row, classified."""
    require_columns(results, RESULT_COLUMNS, "results", kind="frame (standard result frame)")
    # A stable order independent of how the caller's rows happen to be sorted.
    ordered = results.reset_index(drop=True).sort_values(
        ["case_id", "analysis", "outcome", "group", "test", "effect_name"], na_position="first", kind="stable"
    )
    ordered = ordered.assign(_row=np.arange(len(ordered)))
    parts = []
    for construct in imap.constructs:
        for index, selector in enumerate(construct.quantitative):
            picked = ordered.loc[selector.matches(ordered)]
            if len(picked):
                parts.append(
                    picked.assign(
                        construct=construct.name,
                        selector=index,
                        direction=selector.direction,
                        null_value=selector.null_value,
                        smallest_meaningful=np.nan if selector.smallest_meaningful is None else selector.smallest_meaningful,
                        fallback=selector.fallback,
                    )
                )
    columns = [*RESULT_COLUMNS, "_row", "construct", "selector", "direction", "null_value", "smallest_meaningful", "fallback", "row_evidence"]
    if not parts:
        text = ("construct", "direction", "row_evidence", *(c for c in RESULT_COLUMNS if c in ("analysis", "case_id", "group", "outcome", "test", "effect_name", "note")))
        return pd.DataFrame({c: pd.Series(dtype="str" if c in text else "bool" if c == "fallback" else "float64") for c in columns})
    picked = pd.concat(parts, ignore_index=True)
    # A row picked by two selectors of the same construct counts once, for the first selector.
    picked = picked.sort_values(["construct", "selector", "_row"], kind="stable").drop_duplicates(["construct", "_row"])
    picked["row_evidence"] = classify_quantitative(
        picked["effect_size"],
        picked["ci_low"],
        picked["ci_high"],
        picked["p_value"],
        direction=picked["direction"].to_numpy(dtype=object),
        null_value=picked["null_value"],
        smallest_meaningful=picked["smallest_meaningful"],
        alpha=alpha,
        basis=basis,
    )
    # Fallback selectors only fill cases where the main selectors found no numbers.
    has_main = (~picked["fallback"] & (picked["row_evidence"] != "absent")).groupby([picked["construct"], picked["case_id"]]).transform("any")
    picked = picked.loc[~(picked["fallback"] & has_main)]
    return picked.reset_index(drop=True)


def _combine_quant(picked: pd.DataFrame) -> pd.DataFrame:
    """Evidence per construct x case from its classified rows (see the module docstring)."""
    counts = pd.crosstab([picked["construct"], picked["case_id"]], picked["row_evidence"])
    for label in ("supportive", "contrary", "negligible", "inconclusive", "absent"):
        if label not in counts.columns:
            counts[label] = 0
    evidence = np.select(
        [
            (counts["supportive"] > 0) & (counts["contrary"] > 0),
            counts["supportive"] > 0,
            counts["contrary"] > 0,
            counts["negligible"] > 0,
            counts["inconclusive"] > 0,
        ],
        ["mixed", "supportive", "contrary", "negligible", "inconclusive"],
        default="absent",
    )
    tally = counts.apply(
        lambda r: ", ".join(f"{int(r[k])} {k}" for k in ("supportive", "contrary", "negligible", "inconclusive", "absent") if r[k]),
        axis=1,
    )
    return pd.DataFrame({"quant_evidence": evidence, "quant_tally": tally.astype("str")}, index=counts.index).reset_index()


def _format_number(value: float, language: str, digits: int = 2) -> str:
    if pd.isna(value):
        return "NA"
    text = f"{value:.{digits}f}"
    return text.replace(".", ",") if language == "nl" else text


def _format_p(p: float, language: str) -> str:
    if pd.isna(p):
        return ""
    if p < 0.001:
        return "p < .001" if language == "en" else "p < 0,001"
    text = f"{p:.3f}"
    return "p = " + (text[1:] if language == "en" else text.replace(".", ","))


def _short_quant(rows: pd.DataFrame, language: str) -> pd.Series:
    """'g = 0.45 [0.10, 0.80]' per row (the estimate and its CI)."""
    symbol = rows["effect_name"].map(lambda e: _EFFECT_SYMBOLS.get(e, e) if isinstance(e, str) else "effect")
    estimate = rows["effect_size"].map(lambda v: _format_number(v, language))
    ci = [
        f" [{_format_number(lo, language)}{'; ' if language == 'nl' else ', '}{_format_number(hi, language)}]"
        if not (pd.isna(lo) or pd.isna(hi))
        else ""
        for lo, hi in zip(rows["ci_low"], rows["ci_high"])
    ]
    text = symbol.astype(str) + " = " + estimate + pd.Series(ci, index=rows.index)
    no_estimate = rows["effect_size"].isna()
    statistic = rows["test"].fillna("test").astype(str) + " " + rows["statistic"].map(lambda v: _format_number(v, language))
    nothing = "no estimate" if language == "en" else "geen schatting"
    return text.where(~no_estimate, statistic.where(rows["statistic"].notna(), nothing))


def _long_quant(rows: pd.DataFrame, language: str) -> pd.Series:
    """'g = 0.45 [0.10, 0.80], p = .012, n = 14 (paired_t)' per row, prefixed with the group."""
    p_text = rows["p_value"].map(lambda p: _format_p(p, language))
    n_text = rows["n"].map(lambda n: "" if pd.isna(n) else f"n = {int(n)}")
    parts = pd.concat([_short_quant(rows, language), p_text, n_text], axis=1)
    body = parts.apply(lambda r: ", ".join(x for x in r if x), axis=1).astype(str)
    label = rows["test"].fillna("").astype(str)
    group = rows["group"].fillna("").astype(str)
    prefix = (group + ": ").where(group != "", "")
    note = rows["note"].fillna("").astype(str)
    return prefix + body + " (" + label + ")" + (" — " + note).where(note != "", "")


def _quant_strand(picked: pd.DataFrame, language: str) -> pd.DataFrame:
    """Per construct x case: evidence, the primary row's numbers, and text."""
    if picked.empty:
        text = ("construct", "case_id", "quant_evidence", "quant_tally", "quant_summary", "quant_short", "quant_detail",
                "effect_name", "analysis", "test")
        numbers = ("estimate", "ci_low", "ci_high", "p_value", "n", "n_results")
        return pd.DataFrame({**{c: pd.Series(dtype="str") for c in text}, **{c: pd.Series(dtype="float64") for c in numbers}})
    # The primary row (its numbers fill the numeric columns) is the first one that has numbers.
    picked = picked.assign(_empty=picked["row_evidence"] == "absent")
    picked = picked.sort_values(["construct", "case_id", "_empty", "selector", "_row"], kind="stable")
    picked = picked.assign(_short=_short_quant(picked, language), _long=_long_quant(picked, language))
    keys = ["construct", "case_id"]
    primary = picked.groupby(keys, sort=False).head(1).set_index(keys)
    detail = picked.groupby(keys, sort=False)["_long"].agg("\n".join)
    evidence = _combine_quant(picked).set_index(keys)
    out = pd.DataFrame(
        {
            "quant_evidence": evidence["quant_evidence"],
            "quant_tally": evidence["quant_tally"],
            "quant_summary": primary["_long"],
            "quant_short": primary["_short"],
            "quant_detail": detail,
            "estimate": primary["effect_size"],
            "ci_low": primary["ci_low"],
            "ci_high": primary["ci_high"],
            "p_value": primary["p_value"],
            "n": primary["n"],
            "effect_name": primary["effect_name"],
            "analysis": primary["analysis"],
            "test": primary["test"],
            "n_results": picked.groupby(keys, sort=False).size(),
        }
    )
    return out.reset_index()


# --- qualitative strand -------------------------------------------------------------------------


def _code_links(imap: IntegrationMap) -> pd.DataFrame:
    rows = [
        {"construct": c.name, "code": link.code, "code_direction": link.direction, "code_order": i}
        for c in imap.constructs
        for i, link in enumerate(c.codes)
    ]
    return pd.DataFrame(rows, columns=["construct", "code", "code_direction", "code_order"])


def _prevalence_by_case(prevalence: pd.DataFrame, cases: Sequence[str], min_cell: int | None = DEFAULT_MIN_CELL) -> pd.DataFrame:
    """One row per case x code with n, n_at_risk, share and suppressed; pooled rows when asked."""
    # quantitize.prevalence names the count n_with_code; privacy.suppress_small_cells adds
    # n_with_code_flag ("<5") and blanks the count. Accept both spellings.
    if "n" not in prevalence.columns and "n_with_code" in prevalence.columns:
        prevalence = prevalence.rename(columns={"n_with_code": "n", "n_with_code_flag": "n_flag"})
    require_columns(prevalence, _REQUIRED_PREVALENCE, "prevalence", kind="frame")
    if min_cell is not None and not {"suppressed", "n_flag"} & set(prevalence.columns):
        # Counts of people that were not suppressed yet are suppressed here, before any display uses them.
        prevalence = suppress_small_cells(prevalence, count_columns=["n"], threshold=min_cell)
    prev = prevalence.loc[:, [c for c in (*_REQUIRED_PREVALENCE, "suppressed", "n_flag") if c in prevalence.columns]].copy()
    prev["n"] = pd.to_numeric(prev["n"], errors="coerce")
    prev["n_at_risk"] = pd.to_numeric(prev["n_at_risk"], errors="coerce")
    flag = prev["n_flag"].fillna("").astype(str) if "n_flag" in prev else pd.Series("", index=prev.index)
    marked = prev["suppressed"].fillna(False).astype(bool) if "suppressed" in prev else pd.Series(False, index=prev.index)
    # A blank count beside a known denominator is a suppressed cell, whatever marks it.
    prev["suppressed"] = marked | (flag != "") | (prev["n"].isna() & prev["n_at_risk"].notna())
    prev["n_flag"] = flag
    duplicated = prev.duplicated(["case_id", "code"], keep=False)
    if duplicated.any():
        position = int(np.flatnonzero(duplicated.to_numpy())[0])
        first = prev.iloc[position]
        raise DataError(
            "prevalence frame must have one row per case_id x code",
            row=position + 2,
            column="code",
            found=f"{first['case_id']} x {first['code']} more than once",
            rule="unique",
        )
    if POOLED_CASE in cases and not (prev["case_id"] == POOLED_CASE).any():
        per_case = prev.loc[prev["case_id"] != POOLED_CASE]
        pooled = per_case.groupby("code", as_index=False).agg(
            n=("n", lambda s: s.sum(min_count=len(s))),
            n_at_risk=("n_at_risk", "sum"),
            suppressed=("suppressed", "any"),
            n_flag=("n_flag", "max"),
        )
        prev = pd.concat([prev, pooled.assign(case_id=POOLED_CASE)], ignore_index=True)
    prev["share"] = (prev["n"] / prev["n_at_risk"]).where(~prev["suppressed"] & (prev["n_at_risk"] > 0))
    return prev.loc[prev["case_id"].isin(cases)]


def _prevalence_text(rows: pd.DataFrame, language: str) -> pd.Series:
    """'growing_trust 8/12 (67%)' or 'growing_trust suppressed' per row."""
    pct = (rows["share"] * 100).round().map(lambda v: "" if pd.isna(v) else f"{int(v)}%")
    counts = rows["n"].map(lambda v: "?" if pd.isna(v) else str(int(v))) + "/" + rows["n_at_risk"].map(
        lambda v: "?" if pd.isna(v) else str(int(v))
    )
    marker = rows["code_direction"].map({"supports": "+", "contradicts": "−", "context": "·"})
    hidden = "suppressed" if language == "en" else "onderdrukt"
    text = marker + " " + rows["code"].astype(str) + " " + counts + (" (" + pct + ")").where(pct != "", "")
    flag = rows["n_flag"].fillna("").astype(str) if "n_flag" in rows else pd.Series("", index=rows.index)
    at_risk = rows["n_at_risk"].map(lambda v: "?" if pd.isna(v) else str(int(v)))
    shown = (" " + flag + "/" + at_risk).where(flag != "", f" {hidden}")
    return text.where(~rows["suppressed"], marker + " " + rows["code"].astype(str) + shown)


def _qual_strand(
    prevalence: pd.DataFrame, imap: IntegrationMap, cases: Sequence[str], threshold: float, language: str, min_cell: int | None = DEFAULT_MIN_CELL
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per construct x case evidence, and the long construct x case x code table."""
    links = _code_links(imap)
    prev = _prevalence_by_case(prevalence, cases, min_cell)
    grid = links.merge(pd.DataFrame({"case_id": list(cases)}), how="cross")
    themes = grid.merge(prev, on=["case_id", "code"], how="left")
    themes["suppressed"] = themes["suppressed"].fillna(False).astype(bool)
    themes["has_row"] = themes["n_at_risk"].notna() | themes["suppressed"]
    themes["mentioned"] = (themes["n"].fillna(0) > 0) | themes["suppressed"]
    themes["prevalence"] = _prevalence_text(themes, language).where(themes["has_row"], "")
    themes = themes.sort_values(["construct", "case_id", "code_order"], kind="stable")

    keys = ["construct", "case_id"]
    share_by_direction = themes.pivot_table(index=keys, columns="code_direction", values="share", aggfunc="max", sort=False)
    for direction in CODE_DIRECTIONS:
        if direction not in share_by_direction.columns:
            share_by_direction[direction] = np.nan
    grouped = themes.groupby(keys, sort=False)
    summary = pd.DataFrame(
        {
            "mentioned": grouped["mentioned"].any(),
            "qual_summary": grouped["prevalence"].agg(lambda s: "; ".join(x for x in s if x)),
        }
    )
    summary = summary.join(share_by_direction[["supports", "contradicts"]]).rename(
        columns={"supports": "support_share", "contradicts": "contrary_share"}
    )
    summary["qual_evidence"] = classify_qualitative(
        summary["support_share"], summary["contrary_share"], summary["mentioned"], threshold=threshold
    )
    # The code that carries the verdict, for the meta-inference sentence.
    lead_direction = summary["qual_evidence"].map({"supportive": "supports", "contrary": "contradicts"})
    ranked = themes.merge(lead_direction.rename("lead").reset_index(), on=keys)
    ranked = ranked.loc[ranked["code_direction"] == ranked["lead"]].sort_values(
        [*keys, "share", "code_order"], ascending=[True, True, False, True], kind="stable"
    )
    lead = ranked.groupby(keys, sort=False).head(1).set_index(keys)
    summary["lead_code"] = lead["code"]
    summary["lead_text"] = (
        lead["code"] + ", " + lead["n"].astype("Int64").astype(str) + "/" + lead["n_at_risk"].astype("Int64").astype(str)
        + " = " + (lead["share"] * 100).round().astype("Int64").astype(str) + "%"
    )
    return summary.reset_index(), themes


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
    picked = _rank_passages(candidates, ["_key"], k=k, window=window)
    return picked.drop(columns="_key")


_PASSAGE_COLUMNS = ["document_id", "participant_id", "start", "end", "text", "codes", "n_coders"]


def _rank_passages(candidates: pd.DataFrame, keys: list[str], *, k: int, window: tuple[int, int]) -> pd.DataFrame:
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


def _with_pooled(segments: pd.DataFrame, cases: Sequence[str]) -> pd.DataFrame:
    """Segments of the wanted cases; for the pooled case, every segment once more as case "all"."""
    parts = [segments.loc[segments["case_id"].isin(cases)]]
    if POOLED_CASE in cases:
        parts.append(segments.loc[segments["case_id"] != POOLED_CASE].assign(case_id=POOLED_CASE))
    return pd.concat(parts, ignore_index=True)


def _format_quotes(picked: pd.DataFrame, participants: pd.DataFrame, *, names: list[str], redact: Callable, max_chars: int) -> pd.DataFrame:
    """Redact (one call for all texts), cut, and label each picked passage; adds quote and quote_ref."""
    if picked.empty:
        return picked.assign(quote=pd.Series(dtype="str"), quote_ref=pd.Series(dtype="str"))
    redacted = pd.Series(list(redact(picked["text"].astype(str), names)), index=picked.index, dtype="str")
    text = _truncate(redacted, max_chars)
    roles = participants.set_index("participant_id")["role"] if "role" in participants else pd.Series(dtype="str")
    who = picked["participant_id"].fillna(picked["document_id"]).astype(str)
    role = picked["participant_id"].map(roles).fillna("").astype(str)
    source = who + (", " + role).where(role != "", "") + "; " + picked["codes"]
    ref = (
        picked["document_id"].astype(str)
        + "@" + picked["start"].astype("Int64").astype(str)
        + "-" + picked["end"].astype("Int64").astype(str)
    )
    return picked.assign(quote="“" + text + "”", source=source, quote_ref=ref)


def _quotes_for(
    segments: pd.DataFrame,
    participants: pd.DataFrame,
    links: pd.DataFrame,
    qual: pd.DataFrame,
    *,
    k: int,
    names: list[str],
    redact: Callable,
    window: tuple[int, int],
) -> pd.DataFrame:
    """Exemplar quotes per construct x case: from the codes on the side of the qualitative verdict."""
    keys = ["construct", "case_id"]
    side = qual["qual_evidence"].map({"supportive": "supports", "contrary": "contradicts"})
    wanted = qual.assign(_side=side).merge(links[["construct", "code", "code_direction"]], on="construct")
    # With a verdict, only codes on its side; without one, every linked code.
    wanted = wanted.loc[wanted["_side"].isna() | (wanted["code_direction"] == wanted["_side"]), [*keys, "code"]]
    candidates = wanted.merge(_with_pooled(segments, qual["case_id"].unique().tolist()), on=["case_id", "code"])
    picked = _format_quotes(
        _rank_passages(candidates, keys, k=k, window=window), participants, names=names, redact=redact, max_chars=window[1]
    )
    if picked.empty:
        return pd.DataFrame({c: pd.Series(dtype="str") for c in [*keys, "quotes", "quote_refs"]})
    grouped = picked.assign(_line=picked["quote"] + " (" + picked["source"] + ")").groupby(keys, sort=False)
    return pd.DataFrame({"quotes": grouped["_line"].agg("\n".join), "quote_refs": grouped["quote_ref"].agg("; ".join)}).reset_index()


# --- overrides -------------------------------------------------------------------------------


def read_overrides(
    source: str | os.PathLike | pd.DataFrame | None,
    *,
    constructs: Iterable[str],
    cases: Iterable[str],
) -> pd.DataFrame:
    """Read and validate an evaluator's overrides (never writes to it).

    Parameters
    ----------
    source : path-like, DataFrame or None
        ``integration_overrides.csv`` or the raw data folder holding it (a
        folder without one means no overrides), or a frame with the same
        columns, or None.
    constructs, cases : iterable of str
        What may be overridden.

    Returns
    -------
    DataFrame with construct, case_id, fit_label (may be empty: keep the
    computed label), meta_inference (may be empty), evaluator, date, reason.

    Raises
    ------
    DataError
        Naming file, row (header = row 1) and column: unknown construct,
        case or label, missing evaluator/date/reason, a bad date, a repeated
        construct x case, or an override that changes nothing.
    """
    columns = list(_OVERRIDE_COLUMNS)
    if source is None:
        return pd.DataFrame({c: pd.Series(dtype="str") for c in columns})
    if isinstance(source, pd.DataFrame):
        frame, file = source.copy(), "overrides"
    else:
        path = Path(source)
        if path.is_dir():
            path = path / OVERRIDES_FILENAME
            if not path.is_file():
                return read_overrides(None, constructs=constructs, cases=cases)
        if not path.is_file():
            raise DataError("overrides file not found", file=str(path), rule="exists")
        frame, file = _read_small_csv(path), str(path)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(
            "overrides lack required column(s)", file=file, row=1, column=missing[0], expected=", ".join(columns), found=", ".join(map(str, frame.columns)), rule="columns"
        )
    unknown = [c for c in frame.columns if c not in columns]
    if unknown:
        raise DataError("unknown column in overrides", file=file, row=1, column=str(unknown[0]), expected=", ".join(columns), rule="columns")
    frame = frame.loc[:, columns].astype("str").fillna("")
    frame = frame.apply(lambda s: s.str.strip())
    frame["fit_label"] = frame["fit_label"].str.lower()
    checks = [
        ("construct", ~frame["construct"].isin(list(constructs)), "unknown construct", ", ".join(constructs)),
        ("case_id", ~frame["case_id"].isin(list(cases)), "unknown case", ", ".join(cases)),
        ("fit_label", ~frame["fit_label"].isin([*FIT_LABELS, ""]), "unknown fit label", ", ".join(FIT_LABELS) + " (or empty to keep the computed one)"),
        ("evaluator", frame["evaluator"] == "", "who made the judgement must be recorded", "a name or initials"),
        ("date", pd.to_datetime(frame["date"], format="%Y-%m-%d", errors="coerce").isna(), "bad date", "YYYY-MM-DD"),
        ("reason", frame["reason"] == "", "an override needs a reason", "a short reason"),
        ("fit_label", (frame["fit_label"] == "") & (frame["meta_inference"] == ""), "override changes nothing", "a fit_label or a meta_inference"),
        ("case_id", frame.duplicated(["construct", "case_id"]), "construct x case overridden twice", "one row per construct x case"),
    ]
    for column, bad, message, expected in checks:
        if bad.any():
            position = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(message, file=file, row=position + 2, column=column, expected=expected, found=frame[column].iloc[position], rule="override")
    return frame.reset_index(drop=True)


def _read_small_csv(path: Path) -> pd.DataFrame:
    # Spreadsheet programs in Dutch locales write ';'; sniff the first line, accept a BOM.
    text = path.read_text(encoding="utf-8-sig")
    first = text.splitlines()[0] if text else ""
    delimiter = ";" if first.count(";") > first.count(",") else ","
    return pd.read_csv(io.StringIO(text), sep=delimiter, dtype="str", keep_default_na=False, quoting=csv.QUOTE_MINIMAL)


# --- meta-inferences --------------------------------------------------------------------------

_STRAND = {
    "en": {"quant": "the quantitative result", "qual": "the interviews"},
    "nl": {"quant": "het kwantitatieve resultaat", "qual": "de interviews"},
}
_SAYS = {
    "en": {
        "supportive": "supports it",
        "contrary": "speaks against it",
        "negligible": "shows no meaningful change",
    },
    "nl": {
        "supportive": "ondersteunt dit",
        "contrary": "spreekt dit tegen",
        "negligible": "laat geen betekenisvolle verandering zien",
    },
}
_TEMPLATES = {
    "en": {
        "agreement+": "Confirmation: {quant_strand} ({quant}) and {qual_strand} ({qual}) both support {label} in {case}.",
        "agreement-": "Confirmation: {quant_strand} ({quant}) and {qual_strand} ({qual}) both speak against {label} in {case}.",
        "dissonance": "Discordance on {label} in {case}: {quant_strand} ({quant}) {quant_says}, while {qual_strand} ({qual}) {qual_says}. "
        "Look for an explanation (timing, who was measured and who was interviewed, measurement) before concluding.",
        "partial": "Expansion on {label} in {case}: {strong_strand} ({strong}) {strong_says}; {weak_strand} ({weak}) is not conclusive.",
        "silence_quant": "Silence on {label} in {case}: there is no quantitative result for it; no integrated inference.",
        "silence_qual": "Silence on {label} in {case}: no participant mentioned the linked codes; no integrated inference.",
        "silence_both": "Silence on {label} in {case}: neither strand is conclusive ({quant}; {qual}); no integrated inference.",
    },
    "nl": {
        "agreement+": "Bevestiging: {quant_strand} ({quant}) en {qual_strand} ({qual}) ondersteunen allebei {label} in {case}.",
        "agreement-": "Bevestiging: {quant_strand} ({quant}) en {qual_strand} ({qual}) spreken allebei {label} in {case} tegen.",
        "dissonance": "Tegenstrijdigheid over {label} in {case}: {quant_strand} ({quant}) {quant_says}, maar {qual_strand} ({qual}) {qual_says}. "
        "Zoek een verklaring (timing, wie werd gemeten en wie werd geïnterviewd, meting) voordat u concludeert.",
        "partial": "Aanvulling over {label} in {case}: {strong_strand} ({strong}) {strong_says}; {weak_strand} ({weak}) is niet doorslaggevend.",
        "silence_quant": "Stilte over {label} in {case}: er is geen kwantitatief resultaat voor; geen geïntegreerde conclusie.",
        "silence_qual": "Stilte over {label} in {case}: geen deelnemer noemde de gekoppelde codes; geen geïntegreerde conclusie.",
        "silence_both": "Stilte over {label} in {case}: geen van beide strengen is doorslaggevend ({quant}; {qual}); geen geïntegreerde conclusie.",
    },
}


def _meta_inference(row: Mapping[str, Any], language: str) -> str:
    """The template sentence for one construct x case (see `_TEMPLATES`)."""
    strands = _STRAND[language]
    says = _SAYS[language]
    quant_rule = _QUANT_TO_RULE[row["quant_evidence"]]
    qual_rule = _QUAL_TO_RULE[row["qual_evidence"]]
    quant = row["quant_short"] if isinstance(row["quant_short"], str) and row["quant_short"] else "—"
    qual = row["lead_text"] if isinstance(row["lead_text"], str) and row["lead_text"] else (row["qual_summary"] or "—")
    qual_says = {"supportive": _plural(says["supportive"], language), "contrary": _plural(says["contrary"], language)}
    fields = dict(
        label=row["construct_label"].lower(),
        case=row["case_id"],
        quant=quant,
        qual=qual,
        quant_strand=strands["quant"],
        qual_strand=strands["qual"],
        quant_says=says.get(row["quant_evidence"], ""),
        qual_says=qual_says.get(row["qual_evidence"], ""),
    )
    label = row["computed_fit_label"]
    templates = _TEMPLATES[language]
    if label == "agreement":
        key = "agreement+" if quant_rule == "supportive" else "agreement-"
    elif label == "dissonance":
        key = "dissonance"
    elif label == "partial agreement":
        quant_strong = quant_rule in ("supportive", "contrary")
        fields.update(
            strong_strand=strands["quant"] if quant_strong else strands["qual"],
            strong=quant if quant_strong else qual,
            strong_says=says[row["quant_evidence"]] if quant_strong else qual_says[row["qual_evidence"]],
            weak_strand=strands["qual"] if quant_strong else strands["quant"],
            weak=qual if quant_strong else quant,
        )
        key = "partial"
    elif quant_rule == "absent":
        key = "silence_quant"
    elif qual_rule == "absent":
        key = "silence_qual"
    else:
        key = "silence_both"
    return templates[key].format(**fields)


def _plural(phrase: str, language: str) -> str:
    # "the interviews support it" vs "the survey supports it".
    if language == "en":
        return phrase.replace("supports", "support").replace("speaks", "speak")
    return phrase.replace("ondersteunt", "ondersteunen").replace("spreekt", "spreken")


# --- joint display ------------------------------------------------------------------------------

_DISPLAY_COLUMNS = [
    "construct",
    "construct_label",
    "case_id",
    "quant_summary",
    "quant_short",
    "quant_detail",
    "estimate",
    "ci_low",
    "ci_high",
    "p_value",
    "n",
    "effect_name",
    "n_results",
    "quant_evidence",
    "quant_tally",
    "qual_summary",
    "support_share",
    "contrary_share",
    "lead_code",
    "qual_evidence",
    "quotes",
    "quote_refs",
    "computed_fit_label",
    "fit_label",
    "fetters_fit",
    "overridden",
    "meta_inference",
    "evaluator",
    "override_date",
    "override_reason",
    "alpha",
    "quant_basis",
    "qual_threshold",
]


def _check_options(*, language: str, qual_threshold: float, quant_basis: str) -> None:
    if language not in ("en", "nl"):
        raise ValueError(f"language must be 'en' or 'nl', got {language!r}")
    if not 0 < qual_threshold <= 1:
        raise ValueError(f"qual_threshold is a share between 0 and 1, got {qual_threshold}")
    if quant_basis not in ("ci", "estimate"):
        raise ValueError(f"quant_basis must be 'ci' or 'estimate', got {quant_basis!r}")


def _integration_inputs(
    results: pd.DataFrame,
    segments: pd.DataFrame,
    participants: pd.DataFrame,
    integration_map: IntegrationMap | str | os.PathLike | None,
    cases: Sequence[str] | None,
    *,
    language: str,
    qual_threshold: float,
    quant_basis: str,
    alpha: float,
) -> tuple[IntegrationMap, pd.DataFrame, list[str]]:
    """What every integration display starts from: checked options and inputs, the map, the results it picks, the cases."""
    _check_options(language=language, qual_threshold=qual_threshold, quant_basis=quant_basis)
    imap = integration_map if isinstance(integration_map, IntegrationMap) else load_integration_map(integration_map)
    require_columns(segments, _REQUIRED_SEGMENTS, "coded_segments")
    require_columns(participants, _REQUIRED_PARTICIPANTS, "participants")
    picked = _select_results(results, imap, alpha, quant_basis)
    return imap, picked, _case_list(participants, picked, cases)


def _case_list(participants: pd.DataFrame, picked: pd.DataFrame, cases: Sequence[str] | None) -> list[str]:
    if cases is not None:
        return list(cases)
    found = sorted(participants["case_id"].dropna().astype(str).unique())
    if (picked["case_id"] == POOLED_CASE).any():
        found.append(POOLED_CASE)
    return found


def _names_from(participants: pd.DataFrame, names: Iterable[str] | None) -> list[str]:
    if names is not None:
        return [n for n in names if isinstance(n, str)]
    return participant_names(participants)


def joint_display(
    results: pd.DataFrame,
    prevalence: pd.DataFrame,
    segments: pd.DataFrame,
    participants: pd.DataFrame,
    *,
    integration_map: IntegrationMap | str | os.PathLike | None = None,
    overrides: str | os.PathLike | pd.DataFrame | None = None,
    quotes_per_cell: int = 2,
    redact_names: Iterable[str] | None = None,
    redact: Callable | None = None,
    language: str = "en",
    qual_threshold: float = DEFAULT_QUAL_THRESHOLD,
    alpha: float = DEFAULT_ALPHA,
    quant_basis: str = "ci",
    quote_window: tuple[int, int] = DEFAULT_QUOTE_WINDOW,
    cases: Sequence[str] | None = None,
    min_cell: int | None = DEFAULT_MIN_CELL,
) -> pd.DataFrame:
    """Side-by-side joint display: one row per construct x case, with a fit label.

    Parameters
    ----------
    results : DataFrame
        Standard result frame (`ponzoni_eval.results.RESULT_COLUMNS`), stacked
        over analyses.
    prevalence : DataFrame
        case_id, code, n (or n_with_code), n_at_risk, [pct], [suppressed]:
        participants who mentioned each code per case (one row per case x
        code; `quantitize.prevalence` with ``by="case_id"``).
    segments : DataFrame
        Coded segments (document_id, participant_id, case_id, coder, code,
        start, end, text): the source of exemplar quotes.
    participants : DataFrame
        participant_id, case_id, [role], [name]: cases, roles shown beside
        quotes, and (``name``) names to redact.
    integration_map : IntegrationMap, path or None
        The map, or where to load it from (`load_integration_map`).
    overrides : path, DataFrame or None
        Evaluator overrides (`read_overrides`): a file, the raw data folder
        that holds ``integration_overrides.csv``, or a frame.
    quotes_per_cell : int
        1 to 3 exemplar quotes per construct x case.
    redact_names : iterable of str, optional
        Names to replace by ``[NAAM]`` in quotes; default the ``name`` column
        of ``participants`` (`ponzoni_eval.privacy.participant_names`). Processed
        participants have no names: pass ``redaction_terms["term"]`` from
        `ponzoni_eval.prepare`.
    redact : callable, optional
        ``redact(texts, names)`` returning the redacted texts; default
        `ponzoni_eval.privacy.redact` (names as whole words in any case, with
        possessives, plus e-mail addresses and Dutch phone numbers).
    language : {"en", "nl"}
        Labels and meta-inference sentences.
    qual_threshold : float
        Share of participants a side of the qualitative evidence must reach.
    alpha : float
        Significance level for result rows without a CI.
    quant_basis : {"ci", "estimate"}
        Judge result rows by their 95% CI (default) or, descriptively, by the
        point estimate against the map's smallest meaningful effect
        (`classify_quantitative`).
    quote_window : (int, int)
        Preferred quote length in characters; longer quotes are cut at the
        upper bound with " […]".
    cases : sequence of str, optional
        Cases (rows) in order; default the sorted cases of ``participants``,
        plus ``"all"`` when a selected result is pooled.
    min_cell : int or None
        Disclosure control: a prevalence count from 1 to ``min_cell - 1``
        that is not suppressed yet (`ponzoni_eval.privacy.suppress_small_cells`)
        is suppressed before it is used: shown as "<5" and counted as unknown
        (0) by the fit rule; a pooled row that would reveal it is suppressed
        too. Default 5; None uses the counts as given (never for a display
        that leaves the research team).

    Returns
    -------
    DataFrame with the columns in `_DISPLAY_COLUMNS`, constructs in map order
    and cases in case order. ``fit_label`` is the final label (overridden
    where an evaluator said so), ``computed_fit_label`` the rule's; ``alpha``
    and ``qual_threshold`` record the rule's parameters (also in ``attrs``).

    Notes
    -----
    The fit rule is the decision table in this module's docstring
    (`FIT_RULE`); quotes are chosen by `select_quotes` from the codes on the
    side of the qualitative verdict (all linked codes when there is none).

    References
    ----------
    Guetterman, Fetters & Creswell (2015); O'Cathain, Murphy & Nicholl (2010).

    Examples
    --------
    >>> from ponzoni_eval.results import result_frame
    >>> results = result_frame([dict(analysis="pre_post", case_id="a", group="t0->t2", outcome="trust",
    ...     test="paired_t", n=12, p_value=0.01, effect_size=0.8, effect_name="hedges_g", ci_low=0.2, ci_high=1.4)])
    >>> prevalence = pd.DataFrame({"case_id": ["a"], "code": ["growing_trust"], "n": [6], "n_at_risk": [12]})
    >>> segments = pd.DataFrame({"document_id": ["d1"], "participant_id": ["p1"], "case_id": ["a"], "coder": ["c1"],
    ...     "code": ["growing_trust"], "start": [0], "end": [60],
    ...     "text": ["Since we organised the tea afternoons together we trust each other."]})
    >>> participants = pd.DataFrame({"participant_id": ["p1"], "case_id": ["a"], "role": ["migrant_org"]})
    >>> display = joint_display(results, prevalence, segments, participants)
    >>> display.loc[display["construct"] == "trust", ["case_id", "quant_evidence", "qual_evidence", "fit_label"]].to_dict("records")
    [{'case_id': 'a', 'quant_evidence': 'supportive', 'qual_evidence': 'supportive', 'fit_label': 'agreement'}]
    """
    if not 1 <= quotes_per_cell <= 3:
        raise ValueError(f"quotes_per_cell must be 1, 2 or 3, got {quotes_per_cell}")
    imap, picked, case_ids = _integration_inputs(
        results, segments, participants, integration_map, cases,
        language=language, qual_threshold=qual_threshold, quant_basis=quant_basis, alpha=alpha,
    )

    grid = pd.DataFrame(
        [(c.name, c.label(language), case) for c in imap.constructs for case in case_ids],
        columns=["construct", "construct_label", "case_id"],
    )
    quant = _quant_strand(picked.loc[picked["case_id"].isin(case_ids)], language)
    qual, _ = _qual_strand(prevalence, imap, case_ids, qual_threshold, language, min_cell)
    display = grid.merge(quant, on=["construct", "case_id"], how="left").merge(qual, on=["construct", "case_id"], how="left")
    display["quant_evidence"] = display["quant_evidence"].fillna("absent")
    display["n_results"] = display["n_results"].fillna(0).astype("int64")
    for column in ("quant_summary", "quant_short", "quant_detail", "quant_tally", "qual_summary", "effect_name"):
        display[column] = display[column].fillna("").astype("str")
    for column in ("estimate", "ci_low", "ci_high", "p_value", "support_share", "contrary_share"):
        display[column] = pd.to_numeric(display[column]).astype("float64")
    display["n"] = pd.to_numeric(display["n"]).astype("Int64")
    display["computed_fit_label"] = fit_label(display["quant_evidence"], display["qual_evidence"])

    quotes = _quotes_for(
        segments,
        participants,
        _code_links(imap),
        display[["construct", "case_id", "qual_evidence"]],
        k=quotes_per_cell,
        names=_names_from(participants, redact_names),
        redact=redact or privacy_redact,
        window=quote_window,
    )
    display = display.merge(quotes, on=["construct", "case_id"], how="left")
    display["meta_inference"] = display.apply(lambda row: _meta_inference(row, language), axis=1).astype("str")

    chosen = read_overrides(overrides, constructs=imap.names, cases=case_ids)
    display = display.merge(
        chosen.rename(columns={"fit_label": "_override_label", "meta_inference": "_override_text", "date": "override_date", "reason": "override_reason"}),
        on=["construct", "case_id"],
        how="left",
    )
    display["overridden"] = display["evaluator"].notna()
    label_given = display["_override_label"].fillna("") != ""
    text_given = display["_override_text"].fillna("") != ""
    display["fit_label"] = display["computed_fit_label"].where(~label_given, display["_override_label"]).astype("str")
    display["meta_inference"] = display["meta_inference"].where(~text_given, display["_override_text"]).astype("str")
    display["fetters_fit"] = display["fit_label"].map(FETTERS_FIT).astype("str")
    display["computed_fit_label"] = display["computed_fit_label"].astype("str")
    for column in ("evaluator", "override_date", "override_reason", "quotes", "quote_refs"):
        display[column] = display[column].fillna("").astype("str")
    display["alpha"] = alpha
    display["quant_basis"] = quant_basis
    display["qual_threshold"] = qual_threshold

    display = display.loc[:, _DISPLAY_COLUMNS].reset_index(drop=True)
    display.attrs = {
        "kind": "joint_display",
        "language": language,
        "integration_map": imap.source,
        "schema_version": imap.schema_version,
        "alpha": alpha,
        "quant_basis": quant_basis,
        "qual_threshold": qual_threshold,
        "quotes_per_cell": quotes_per_cell,
        "quote_window": list(quote_window),
        "min_cell": min_cell,
    }
    return display


def statistics_by_themes(
    results: pd.DataFrame,
    prevalence: pd.DataFrame,
    segments: pd.DataFrame,
    participants: pd.DataFrame,
    *,
    integration_map: IntegrationMap | str | os.PathLike | None = None,
    redact_names: Iterable[str] | None = None,
    redact: Callable | None = None,
    language: str = "en",
    alpha: float = DEFAULT_ALPHA,
    quant_basis: str = "ci",
    qual_threshold: float = DEFAULT_QUAL_THRESHOLD,
    quote_window: tuple[int, int] = DEFAULT_QUOTE_WINDOW,
    cases: Sequence[str] | None = None,
    min_cell: int | None = DEFAULT_MIN_CELL,
) -> pd.DataFrame:
    """Statistics-by-themes display: per construct and case, the statistic beside each theme.

    One row per construct x case x linked code: the quantitative summary of
    the case (repeated on its theme rows), the code's direction, its
    prevalence (n/n_at_risk, %), and the best exemplar quote for that code
    (`select_quotes`, redacted). Guetterman, Fetters & Creswell (2015) call
    this a statistics-by-themes joint display.

    Parameters are those of `joint_display`.

    Returns
    -------
    DataFrame: construct, construct_label, case_id, statistic, quant_evidence,
    code, code_direction, n, n_at_risk, share, prevalence, quote, quote_ref.
    """
    imap, picked, case_ids = _integration_inputs(
        results, segments, participants, integration_map, cases,
        language=language, qual_threshold=qual_threshold, quant_basis=quant_basis, alpha=alpha,
    )
    quant = _quant_strand(picked.loc[picked["case_id"].isin(case_ids)], language)
    _, themes = _qual_strand(prevalence, imap, case_ids, qual_threshold, language, min_cell)
    names = _names_from(participants, redact_names)
    redact = redact or privacy_redact

    # One quote per case x code: the top passage of that code alone.
    wanted = themes[["case_id", "code"]].drop_duplicates()
    candidates = wanted.merge(_with_pooled(segments, case_ids), on=["case_id", "code"])
    best = _rank_passages(candidates, ["case_id", "code"], k=1, window=quote_window)
    quotes = _format_quotes(best, participants, names=names, redact=redact, max_chars=quote_window[1])
    quotes = quotes.loc[:, ["case_id", "code", "quote", "quote_ref"]]

    labels = {c.name: c.label(language) for c in imap.constructs}
    table = themes.merge(quant[["construct", "case_id", "quant_summary", "quant_evidence"]], on=["construct", "case_id"], how="left")
    table = table.merge(quotes, on=["case_id", "code"], how="left")
    table["construct_label"] = table["construct"].map(labels)
    table["statistic"] = table["quant_summary"].fillna("")
    table["quant_evidence"] = table["quant_evidence"].fillna("absent")
    construct_order = {name: i for i, name in enumerate(imap.names)}
    case_order = {case: i for i, case in enumerate(case_ids)}
    table = table.assign(_c=table["construct"].map(construct_order), _k=table["case_id"].map(case_order))
    table = table.sort_values(["_c", "_k", "code_order"], kind="stable")
    columns = ["construct", "construct_label", "case_id", "statistic", "quant_evidence", "code", "code_direction",
               "n", "n_at_risk", "share", "prevalence", "quote", "quote_ref"]
    out = table.loc[:, columns].reset_index(drop=True)
    for column in ("statistic", "prevalence", "quote", "quote_ref"):
        out[column] = out[column].fillna("").astype("str")
    out["n"] = pd.to_numeric(out["n"]).astype("Int64")
    out["n_at_risk"] = pd.to_numeric(out["n_at_risk"]).astype("Int64")
    out.attrs = {"kind": "statistics_by_themes", "language": language, "integration_map": imap.source,
                 "alpha": alpha, "quant_basis": quant_basis, "qual_threshold": qual_threshold, "min_cell": min_cell}
    return out


def meta_matrix(display: pd.DataFrame, *, order_by: str = "trust", ascending: bool = False) -> pd.DataFrame:
    """Case-ordered meta-matrix: cases as rows, constructs as columns, both strands per cell.

    Parameters
    ----------
    display : DataFrame
        The output of `joint_display`.
    order_by : str
        Construct whose primary estimate orders the cases (e.g. trust change);
        cases without an estimate come last, ties by case_id.
    ascending : bool
        Order direction; default largest first.

    Returns
    -------
    DataFrame with case_id, ``order_value`` (the estimate of ``order_by``),
    one text column per construct ("g = 0.45 [0.10, 0.80] · growing_trust
    67% · agreement"; without a qualitative verdict the largest supporting and
    contradicting shares, "+17% / −8%") and one ``<construct>_fit`` column
    with the fit label (used to colour the cells). ``attrs["labels"]`` holds
    the constructs' display labels.

    References
    ----------
    Miles, Huberman & Saldaña (2014), Qualitative Data Analysis, ch. 8
    (case-ordered meta-matrix).
    """
    require_columns(display, ("construct", "case_id", "estimate", "fit_label", "quant_short", "lead_code", "support_share", "contrary_share"), "joint display", kind="frame")
    constructs = list(dict.fromkeys(display["construct"]))
    if order_by not in constructs:
        raise ValueError(f"order_by must be one of the display's constructs {constructs}, got {order_by!r}")
    language = display.attrs.get("language", "en")
    short = display["quant_short"].where(display["quant_short"] != "", "—")
    percent = lambda share: (share * 100).round().astype("Int64").astype(str) + "%"  # noqa: E731
    # The code behind the verdict with its share; without a verdict the largest shares on each side.
    lead = display["lead_code"].astype(str) + " " + percent(
        display["support_share"].where(display["qual_evidence"] == "supportive", display["contrary_share"])
    )
    plus = ("+" + percent(display["support_share"])).where(display["support_share"].notna(), "")
    minus = ("−" + percent(display["contrary_share"])).where(display["contrary_share"].notna(), "")
    sides = (plus + " / " + minus).str.strip(" /").replace("", "—")
    qual = lead.where(display["lead_code"].notna(), sides.where(display["qual_evidence"] != "absent", "—"))
    cell = short + " · " + qual + " · " + display["fit_label"].map(_FIT_TEXT[language])
    long = display.assign(cell=cell)
    wide = long.pivot(index="case_id", columns="construct", values="cell").reindex(columns=constructs)
    fits = long.pivot(index="case_id", columns="construct", values="fit_label").reindex(columns=constructs)
    fits.columns = [f"{c}_fit" for c in fits.columns]
    order = display.loc[display["construct"] == order_by].set_index("case_id")["estimate"].rename("order_value")
    matrix = pd.concat([order, wide, fits], axis=1)
    matrix.index.name = "case_id"
    matrix = matrix.reset_index().sort_values(["order_value", "case_id"], ascending=[ascending, True], na_position="last", kind="stable")
    matrix = matrix.reset_index(drop=True)
    matrix.columns.name = None
    labels = dict(zip(display["construct"], display["construct_label"])) if "construct_label" in display else {}
    matrix.attrs = {"kind": "meta_matrix", "language": language, "order_by": order_by, "labels": labels, **{k: v for k, v in display.attrs.items() if k in ("alpha", "quant_basis", "qual_threshold", "min_cell")}}
    return matrix


# --- exports ---------------------------------------------------------------------------------------

_HEADERS = {
    "en": {
        "construct_label": "Construct",
        "case_id": "Case",
        "quant_summary": "Quantitative result",
        "quant_evidence": "Quantitative evidence",
        "qual_summary": "Themes (participants mentioning)",
        "qual_evidence": "Qualitative evidence",
        "quotes": "Exemplar quotes",
        "fit_label": "Fit",
        "meta_inference": "Meta-inference",
        "statistic": "Statistic",
        "code": "Code",
        "prevalence": "Prevalence",
        "quote": "Exemplar quote",
        "order_value": "Ordering estimate",
    },
    "nl": {
        "construct_label": "Construct",
        "case_id": "Casus",
        "quant_summary": "Kwantitatief resultaat",
        "quant_evidence": "Kwantitatief bewijs",
        "qual_summary": "Thema's (deelnemers die het noemen)",
        "qual_evidence": "Kwalitatief bewijs",
        "quotes": "Citaten",
        "fit_label": "Fit",
        "meta_inference": "Meta-inferentie",
        "statistic": "Statistiek",
        "code": "Code",
        "prevalence": "Prevalentie",
        "quote": "Citaat",
        "order_value": "Ordeningsschatting",
    },
}
_COLUMN_WIDTHS = {  # characters, for the spreadsheet
    "construct_label": 22, "case_id": 16, "quant_summary": 38, "quant_evidence": 14, "qual_summary": 34,
    "qual_evidence": 14, "quotes": 60, "fit_label": 16, "meta_inference": 60, "statistic": 38, "code": 24,
    "prevalence": 22, "quote": 60, "order_value": 12,
}


def _kind(display: pd.DataFrame) -> str:
    kind = display.attrs.get("kind")
    if kind:
        return kind
    if "order_value" in display.columns:
        return "meta_matrix"
    if "code_direction" in display.columns:
        return "statistics_by_themes"
    return "joint_display"


def _presentation(display: pd.DataFrame, language: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(visible text table with localised headers, same-shape table of fit labels or "")."""
    kind = _kind(display)
    headers = _HEADERS[language]
    if kind == "meta_matrix":
        constructs = [c for c in display.columns if c not in ("case_id", "order_value") and not c.endswith("_fit")]
        shown = display.loc[:, ["case_id", "order_value", *constructs]].copy()
        shown["order_value"] = shown["order_value"].map(lambda v: "—" if pd.isna(v) else _format_number(v, language))
        fits = pd.DataFrame("", index=shown.index, columns=shown.columns)
        for construct in constructs:
            fits[construct] = display[f"{construct}_fit"].fillna("")
        order_by = display.attrs.get("order_by")
        order_header = f"{headers['order_value']} ({order_by})" if order_by else headers["order_value"]
        rename = {"case_id": headers["case_id"], "order_value": order_header, **display.attrs.get("labels", {})}
        return shown.rename(columns=rename), fits.rename(columns=rename)
    if kind == "statistics_by_themes":
        columns = ["construct_label", "case_id", "statistic", "code", "prevalence", "quote"]
        shown = display.loc[:, columns].copy()
        fits = pd.DataFrame("", index=shown.index, columns=columns)
    else:
        columns = ["construct_label", "case_id", "quant_summary", "quant_evidence", "qual_summary", "qual_evidence", "quotes", "fit_label", "meta_inference"]
        shown = display.loc[:, columns].copy()
        shown["fit_label"] = (
            display["fit_label"].map(_FIT_TEXT[language]).fillna(display["fit_label"])
            + np.where(display["overridden"], " *" , "")
        )
        shown["quant_summary"] = display["quant_detail"].where(display["quant_detail"] != "", "—")
        fits = pd.DataFrame("", index=shown.index, columns=columns)
        fits["fit_label"] = display["fit_label"]
    shown = shown.fillna("").astype("str")
    return shown.rename(columns=headers), fits.rename(columns=headers)


def _footer(display: pd.DataFrame, language: str) -> list[str]:
    attrs = display.attrs
    lines = []
    if "alpha" in attrs or "qual_threshold" in attrs:
        alpha = attrs.get("alpha", DEFAULT_ALPHA)
        threshold = attrs.get("qual_threshold", DEFAULT_QUAL_THRESHOLD)
        by_estimate = attrs.get("quant_basis") == "estimate"
        if language == "nl":
            quant = (
                "kwantitatief bewijs via de puntschatting t.o.v. het kleinste betekenisvolle effect (BI's alleen getoond)"
                if by_estimate
                else f"kwantitatief bewijs via het 95%-BI t.o.v. de nulwaarde (α = {alpha} zonder BI)"
            )
            lines.append(f"Regel: {quant}; kwalitatief bewijs: ≥ {threshold:.0%} van de deelnemers en meer dan de tegenspraak.")
        else:
            quant = (
                "quantitative evidence from the point estimate against the smallest meaningful effect (CIs shown only)"
                if by_estimate
                else f"quantitative evidence from the 95% CI against the null value (α = {alpha} without a CI)"
            )
            lines.append(f"Rule: {quant}; qualitative evidence: ≥ {threshold:.0%} of participants and more than the contrary codes.")
    if _kind(display) in ("joint_display", "statistics_by_themes"):
        lines.append(
            "+ ondersteunt, − spreekt tegen, · context; n/N = deelnemers die de code noemen / deelnemers met een interview"
            if language == "nl"
            else "+ supports, − contradicts, · context; n/N = participants who mentioned the code / participants interviewed"
        )
    if attrs.get("min_cell"):
        lines.append(
            f"Aantallen van 1 tot {attrs['min_cell'] - 1} personen zijn onderdrukt (<{attrs['min_cell']}), ter bescherming van de deelnemers."
            if language == "nl"
            else f"Counts of 1 to {attrs['min_cell'] - 1} people are suppressed (<{attrs['min_cell']}) to protect the participants."
        )
    if _kind(display) == "joint_display" and "overridden" in display and display["overridden"].any():
        lines.append("* = oordeel van de evaluator (zie integration_overrides.csv)" if language == "nl" else "* = evaluator's judgement (see integration_overrides.csv)")
    if attrs.get("integration_map"):
        lines.append(f"{'Integratiekaart' if language == 'nl' else 'Integration map'}: {Path(attrs['integration_map']).name}")
    return lines


_HTML_TEMPLATE = """<!DOCTYPE html>
<html lang="{{ language }}">
<head>
<meta charset="utf-8">
<title>{{ title }}</title>
<style>
table.joint-display { border-collapse: collapse; font-family: sans-serif; font-size: 0.9em; }
table.joint-display th, table.joint-display td { border: 1px solid #999; padding: 4px 6px; vertical-align: top; text-align: left; }
table.joint-display th { background: #f2f2f2; }
{% for label, colour in colours.items() %}td.fit-{{ label | replace(' ', '-') }} { background: {{ colour }}; }
{% endfor %}ul.legend { list-style: none; padding: 0; }
ul.legend span.swatch { display: inline-block; width: 1em; height: 1em; border: 1px solid #666; margin-right: 0.4em; vertical-align: middle; }
</style>
</head>
<body>
<table class="joint-display">
<caption>{{ title }}</caption>
<thead><tr>{% for header in headers %}<th scope="col">{{ header }}</th>{% endfor %}</tr></thead>
<tbody>
{% for row in rows %}<tr>{% for cell, fit in row %}<td{% if fit %} class="fit-{{ fit | replace(' ', '-') }}"{% endif %}>{{ cell | nl2br }}</td>{% endfor %}</tr>
{% endfor %}</tbody>
</table>
<ul class="legend">
{% for label, colour in colours.items() %}<li><span class="swatch" style="background: {{ colour }}"></span><strong>{{ fit_text[label] }}</strong>: {{ meaning[label] }}</li>
{% endfor %}</ul>
{% for line in footer %}<p class="note">{{ line }}</p>
{% endfor %}</body>
</html>
"""

_TITLES = {
    "en": {"joint_display": "Joint display", "meta_matrix": "Case-ordered meta-matrix", "statistics_by_themes": "Statistics by themes"},
    "nl": {"joint_display": "Joint display", "meta_matrix": "Casusgeordende meta-matrix", "statistics_by_themes": "Statistieken per thema"},
}


def to_html(display: pd.DataFrame, *, language: str | None = None, title: str | None = None) -> str:
    """A standalone HTML page: the display with cells coloured by fit label, a legend and the rule.

    All text is HTML-escaped (jinja2 autoescape); line breaks become ``<br>``.
    The colours are Okabe-Ito (`FIT_COLOURS`) and every coloured cell also
    shows its label, so the table reads without colour.
    """
    import jinja2
    from markupsafe import Markup, escape

    language = language or display.attrs.get("language", "en")
    shown, fits = _presentation(display, language)
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["nl2br"] = lambda text: Markup("<br>").join(escape(part) for part in str(text).split("\n"))
    rows = [list(zip(values, labels)) for values, labels in zip(shown.itertuples(index=False), fits.itertuples(index=False))]
    return env.from_string(_HTML_TEMPLATE).render(
        language=language,
        title=title or _TITLES[language][_kind(display)],
        headers=list(shown.columns),
        rows=rows,
        colours=FIT_COLOURS,
        fit_text=_FIT_TEXT[language],
        meaning=_FIT_MEANING[language],
        footer=_footer(display, language),
    )


def _markdown_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", "<br>")


def to_markdown(display: pd.DataFrame, *, language: str | None = None) -> str:
    """A GitHub-flavoured Markdown table (pipes escaped, line breaks as ``<br>``), legend and rule."""
    language = language or display.attrs.get("language", "en")
    shown, _ = _presentation(display, language)
    shown = shown.map(_markdown_cell)
    table = shown.to_markdown(index=False, tablefmt="github")
    legend = [f"- **{_FIT_TEXT[language][label]}**: {_FIT_MEANING[language][label]}" for label in FIT_LABELS]
    return "\n".join([table, "", *legend, "", *_footer(display, language)]).rstrip() + "\n"


_FIXED_TIME = (2000, 1, 1, 0, 0, 0)


def to_xlsx(display: pd.DataFrame, path: str | os.PathLike, *, language: str | None = None) -> Path:
    """Write the display to an Excel workbook: wrapped text, column widths, fills per fit label.

    A second sheet holds the legend and the rule's parameters. The file is
    byte-for-byte reproducible (fixed document and zip timestamps) and is
    written atomically.

    Returns
    -------
    Path of the written file.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    language = language or display.attrs.get("language", "en")
    shown, fits = _presentation(display, language)
    headers = _HEADERS[language]
    width_by_header = {headers.get(k, k): w for k, w in _COLUMN_WIDTHS.items()}
    fills = {label: PatternFill("solid", start_color=colour.lstrip("#"), end_color=colour.lstrip("#")) for label, colour in FIT_COLOURS.items()}

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _TITLES[language][_kind(display)][:31]
    sheet.append(list(shown.columns))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for values in shown.itertuples(index=False):
        sheet.append(list(values))
    wrap = Alignment(wrap_text=True, vertical="top")
    for row_cells, labels in zip(sheet.iter_rows(min_row=2), fits.itertuples(index=False)):
        for cell, label in zip(row_cells, labels):
            cell.alignment = wrap
            if label in fills:
                cell.fill = fills[label]
    for index, header in enumerate(shown.columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width_by_header.get(header, 30)
    sheet.freeze_panes = "A2"

    legend = workbook.create_sheet("legend")
    for label in FIT_LABELS:
        legend.append([_FIT_TEXT[language][label], _FIT_MEANING[language][label]])
        legend.cell(row=legend.max_row, column=1).fill = fills[label]
    legend.append([])
    for line in _footer(display, language):
        legend.append([line])
    legend.column_dimensions["A"].width = 30
    legend.column_dimensions["B"].width = 70

    from datetime import datetime

    stamp = datetime(*_FIXED_TIME)
    workbook.properties.created = stamp
    workbook.properties.modified = stamp
    buffer = io.BytesIO()
    workbook.save(buffer)
    return _write_reproducible_zip(buffer.getvalue(), Path(path))


def _write_reproducible_zip(data: bytes, path: Path) -> Path:
    # openpyxl stamps each zip member, and docProps/core.xml's dcterms:modified, with the
    # time of saving; rewrite both with a fixed time so the same display gives the same bytes.
    fixed = "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}Z".format(*_FIXED_TIME)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)", rb"\g<1>" + fixed.encode() + rb"\g<2>", content)
            member = zipfile.ZipInfo(info.filename, date_time=_FIXED_TIME)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = 0o600 << 16
            target.writestr(member, content)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(out.getvalue())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
