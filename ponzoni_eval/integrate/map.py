"""The integration map: which results and which codes speak to each construct (`integration_map.toml`)."""

from __future__ import annotations

import fnmatch
import math
import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd

from ponzoni_eval._core.errors import DataError
from ponzoni_eval._core.tomlfile import check_keys, read_settings_file
from ponzoni_eval._core.words import check_language, LANGUAGES
from ponzoni_eval.integrate.fit import CODE_DIRECTIONS, QUANT_DIRECTIONS

__all__ = [
    "SCHEMA_VERSION",
    "ResultSelector",
    "CodeLink",
    "Construct",
    "IntegrationMap",
    "load_integration_map",
    "default_map_path",
    "MAP_FILENAME",
]


SCHEMA_VERSION = 1
"""Version of the integration map format this module reads."""

MAP_FILENAME = "integration_map.toml"


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
        """The construct's label in a report language (the map's ``label.<language>``)."""
        return getattr(self, f"label_{check_language(language)}")


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
    """The integration map shipped with the package (`ponzoni_eval/resources/integration_map.toml`)."""
    return Path(str(resources.files("ponzoni_eval") / "resources" / MAP_FILENAME))


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
    file, raw = read_settings_file(path, filename=MAP_FILENAME, default=default_map_path(), what="integration map", rule="integration_map")
    return _parse_map(raw, str(file))


def _map_error(file: str, key: str, message: str, *, expected: Any = None, found: Any = None) -> DataError:
    return DataError(f"integration map key '{key}': {message}", file=file, expected=expected, found=found, rule="integration_map")


def _check_keys(table: Mapping, allowed: Iterable[str], required: Iterable[str], file: str, where: str) -> None:
    check_keys(table, allowed, required, where, lambda key, message, **found: _map_error(file, key, message, **found))


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
        _check_keys(label, LANGUAGES, LANGUAGES, file, f"{where}.label")
        for lang in LANGUAGES:
            if not isinstance(label[lang], str) or not label[lang].strip():
                raise _map_error(file, f"{where}.label.{lang}", "must be non-empty text", found=label[lang])
        description = body.get("description", "")
        if not isinstance(description, str):
            raise _map_error(file, f"{where}.description", "must be text", found=description)
        constructs.append(
            Construct(
                name=name,
                **{f"label_{lang}": label[lang].strip() for lang in LANGUAGES},
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
