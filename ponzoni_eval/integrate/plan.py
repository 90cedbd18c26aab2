"""The analysis plan of the integration (`analysis_plan.toml`): what was pre-specified before the data were analysed.

The plan says, per construct of the integration map, whether it is a primary or a secondary
outcome, the expected direction, the population the quantitative results speak for (roles and
interview wave, so the interview denominators match it), whether the construct is about a
difference between roles, and per result the test family and the smallest meaningful effect.
`joint_display` reads its evidence standards (alpha, the qualitative threshold judged on a
Wilson interval) and its multiplicity (Holm within the primary family; secondary results are
exploratory) from it. The file format is documented in ``resources/analysis_plan.toml``.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import math
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd

from ponzoni_eval._core.errors import DataError
from ponzoni_eval._core.files import atomic_write_bytes
from ponzoni_eval._core.fingerprint import sha256_file
from ponzoni_eval._core.tomlfile import check_keys, read_settings_file
from ponzoni_eval._core.vocabulary import MIXED_STRUCTURES, ROLES, WAVES

__all__ = [
    "PLAN_FILENAME",
    "PLAN_SCHEMA_VERSION",
    "FAMILIES",
    "ADJUSTMENTS",
    "COMPARISONS",
    "PlannedResult",
    "ConstructPlan",
    "AnalysisPlan",
    "default_plan_path",
    "load_analysis_plan",
    "check_plan_against_map",
    "plan_record",
    "write_plan_template",
    "plan_template",
]

PLAN_FILENAME = "analysis_plan.toml"
PLAN_SCHEMA_VERSION = 1
FAMILIES = ("primary", "secondary")
ADJUSTMENTS = ("holm", "none")
COMPARISONS = ("within", "between_roles")
_DIRECTIONS = ("greater", "less")


@dataclass(frozen=True)
class PlannedResult:
    """One kind of result the integration uses: which rows (glob patterns), their family and smallest meaningful effect."""

    effect_name: tuple[str, ...]
    family: str
    smallest_meaningful: float | None = None
    analysis: tuple[str, ...] = ("*",)
    test: tuple[str, ...] = ("*",)
    group: tuple[str, ...] = ("*",)

    def matches(self, results: pd.DataFrame) -> pd.Series:
        """Boolean mask of the rows of a result frame this entry covers."""
        mask = pd.Series(True, index=results.index)
        for column in ("analysis", "test", "effect_name", "group"):
            patterns = getattr(self, column)
            values = results[column].fillna("").astype(str)
            hits = {v for v in values.unique() if any(fnmatch.fnmatchcase(v, p) for p in patterns)}
            mask &= values.isin(hits)
        return mask


@dataclass(frozen=True)
class ConstructPlan:
    """The plan of one construct (see the module docstring)."""

    name: str
    outcome: str
    direction: str
    roles: tuple[str, ...]
    wave: str | None
    comparison: str
    results: tuple[PlannedResult, ...] = ()
    contrasts: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    code_roles: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def roles_for(self, code: str) -> tuple[str, ...]:
        """The roles whose interviews count for a code (its own ``code_roles``, else the construct's)."""
        return tuple(self.code_roles.get(code, self.roles))


@dataclass(frozen=True)
class AnalysisPlan:
    """The parsed plan; ``pre_specified`` is False for the package's copy (no plan in the data folder).

    ``mixed_structure`` is the covariance structure of the mixed model the change results come from
    (`MIXED_STRUCTURES`: ``intercept`` by default, ``slope``, ``unstructured`` or ``compare``).
    """

    schema_version: int
    registered: dt.date
    alpha: float
    qual_threshold: float
    small_n: int
    multiplicity: Mapping[str, str]
    constructs: tuple[ConstructPlan, ...]
    source: str
    pre_specified: bool = True
    mixed_structure: str = "intercept"

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.constructs)

    def get(self, name: str) -> ConstructPlan | None:
        """The plan of a construct, None when the plan does not name it (then nothing about it is pre-specified)."""
        for construct in self.constructs:
            if construct.name == name:
                return construct
        return None


def default_plan_path() -> Path:
    """The plan shipped with the package (``resources/analysis_plan.toml``), also the template."""
    return Path(str(resources.files("ponzoni_eval") / "resources" / PLAN_FILENAME))


def load_analysis_plan(path: str | os.PathLike | None = None) -> AnalysisPlan:
    """Read and validate an analysis plan.

    Parameters
    ----------
    path : path-like, optional
        A TOML file, or a folder (raw or processed data) that may hold ``analysis_plan.toml``;
        without one (or with None) the package's plan, marked ``pre_specified=False``.

    Raises
    ------
    DataError
        Invalid TOML, an unknown or missing key, a value of the wrong kind; the message names
        the file and the key.

    Examples
    --------
    >>> plan = load_analysis_plan()
    >>> plan.pre_specified, plan.multiplicity["primary"], plan.get("trust").outcome
    (False, 'holm', 'primary')
    """
    file, raw = read_settings_file(path, filename=PLAN_FILENAME, default=default_plan_path(), what="analysis plan", rule="analysis_plan")
    plan = _parse_plan(raw, str(file))
    if file.resolve() == default_plan_path().resolve():
        plan = _replace(plan, pre_specified=False)
    return plan


def _replace(plan: AnalysisPlan, **changes: Any) -> AnalysisPlan:
    from dataclasses import replace

    return replace(plan, **changes)


def _error(file: str, key: str, message: str, *, expected: Any = None, found: Any = None) -> DataError:
    return DataError(f"analysis plan key '{key}': {message}", file=file, expected=expected, found=found, rule="analysis_plan")


def _keys(table: Mapping, allowed: Iterable[str], required: Iterable[str], file: str, where: str) -> None:
    check_keys(table, allowed, required, where, lambda key, message, **found: _error(file, key, message, **found))


def _choice(value: Any, choices: Iterable[str], file: str, key: str) -> str:
    choices = tuple(choices)
    if value not in choices:
        raise _error(file, key, "not one of the allowed values", expected=", ".join(choices), found=value)
    return value


def _share(value: Any, file: str, key: str, *, low: float = 0.0, high: float = 1.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not low < value < high:
        raise _error(file, key, f"must be a number above {low:g} and below {high:g}", found=value)
    return float(value)


def _roles(value: Any, file: str, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise _error(file, key, "must be a non-empty list of roles", expected=", ".join(ROLES), found=value)
    return tuple(_choice(role, ROLES, file, f"{key}[{i}]") for i, role in enumerate(value))


def _patterns(value: Any, file: str, key: str) -> tuple[str, ...]:
    if isinstance(value, str) and value:
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
        return tuple(value)
    raise _error(file, key, "must be a text pattern or a non-empty list of patterns", found=value)


def _parse_plan(raw: Mapping[str, Any], file: str) -> AnalysisPlan:
    _keys(raw, ("schema_version", "registered", "alpha", "qual_threshold", "small_n", "mixed_structure", "multiplicity", "constructs"),
          ("schema_version", "registered", "constructs"), file, "")
    if raw["schema_version"] != PLAN_SCHEMA_VERSION:
        raise _error(file, "schema_version", "unsupported version", expected=PLAN_SCHEMA_VERSION, found=raw["schema_version"])
    registered = raw["registered"]
    if not isinstance(registered, dt.date) or isinstance(registered, dt.datetime):
        raise _error(file, "registered", "must be a date (YYYY-MM-DD, without quotes)", found=registered)
    alpha = _share(raw.get("alpha", 0.05), file, "alpha", high=0.5)
    threshold = _share(raw.get("qual_threshold", 0.30), file, "qual_threshold")
    small_n = raw.get("small_n", 10)
    if isinstance(small_n, bool) or not isinstance(small_n, int) or small_n < 0:
        raise _error(file, "small_n", "must be a whole number of 0 or more", found=small_n)
    mixed_structure = _choice(raw.get("mixed_structure", "intercept"), MIXED_STRUCTURES, file, "mixed_structure")
    multiplicity = raw.get("multiplicity", {"primary": "holm", "secondary": "none"})
    if not isinstance(multiplicity, dict):
        raise _error(file, "multiplicity", "must be a table: primary = ..., secondary = ...")
    _keys(multiplicity, FAMILIES, FAMILIES, file, "multiplicity")
    for family in FAMILIES:
        _choice(multiplicity[family], ADJUSTMENTS, file, f"multiplicity.{family}")
    constructs_raw = raw["constructs"]
    if not isinstance(constructs_raw, dict) or not constructs_raw:
        raise _error(file, "constructs", "must hold at least one [constructs.NAME] table")
    constructs = tuple(_parse_construct(name, body, file) for name, body in constructs_raw.items())
    return AnalysisPlan(PLAN_SCHEMA_VERSION, registered, alpha, threshold, small_n, dict(multiplicity), constructs, file,
                        mixed_structure=mixed_structure)


def _parse_construct(name: str, body: Any, file: str) -> ConstructPlan:
    where = f"constructs.{name}"
    if not isinstance(body, dict):
        raise _error(file, where, "must be a table")
    _keys(body, ("outcome", "direction", "roles", "wave", "comparison", "results", "contrasts", "code_roles"),
          ("outcome", "direction", "roles"), file, where)
    outcome = _choice(body["outcome"], FAMILIES, file, f"{where}.outcome")
    direction = _choice(body["direction"], _DIRECTIONS, file, f"{where}.direction")
    roles = _roles(body["roles"], file, f"{where}.roles")
    wave = body.get("wave")
    if wave is not None:
        _choice(wave, WAVES, file, f"{where}.wave")
    comparison = _choice(body.get("comparison", "within"), COMPARISONS, file, f"{where}.comparison")
    results_raw = body.get("results", [])
    if not isinstance(results_raw, list) or not all(isinstance(r, dict) for r in results_raw):
        raise _error(file, f"{where}.results", "must be a list of [[...results]] tables")
    results = []
    for index, item in enumerate(results_raw):
        key = f"{where}.results[{index}]"
        _keys(item, ("effect_name", "family", "smallest_meaningful", "analysis", "test", "group"), ("effect_name", "family"), file, key)
        smallest = item.get("smallest_meaningful")
        if smallest is not None and (isinstance(smallest, bool) or not isinstance(smallest, (int, float)) or not math.isfinite(smallest)):
            raise _error(file, f"{key}.smallest_meaningful", "must be a finite number", found=smallest)
        patterns = {f: _patterns(item[f], file, f"{key}.{f}") for f in ("analysis", "test", "group") if f in item}
        results.append(PlannedResult(
            effect_name=_patterns(item["effect_name"], file, f"{key}.effect_name"),
            family=_choice(item["family"], FAMILIES, file, f"{key}.family"),
            smallest_meaningful=None if smallest is None else float(smallest),
            **patterns,
        ))
    contrasts_raw = body.get("contrasts", {})
    if not isinstance(contrasts_raw, dict):
        raise _error(file, f"{where}.contrasts", "must be a table: code = { higher = ROLE, lower = ROLE }")
    contrasts = {}
    for code, pair in contrasts_raw.items():
        key = f"{where}.contrasts.{code}"
        if not isinstance(pair, dict):
            raise _error(file, key, "must be { higher = ROLE, lower = ROLE }", found=pair)
        _keys(pair, ("higher", "lower"), ("higher", "lower"), file, key)
        higher, lower = _choice(pair["higher"], ROLES, file, f"{key}.higher"), _choice(pair["lower"], ROLES, file, f"{key}.lower")
        if higher == lower:
            raise _error(file, key, "compares two different roles", found=f"{higher} and {lower}")
        contrasts[code] = (higher, lower)
    if comparison == "between_roles" and not contrasts:
        raise _error(file, f"{where}.contrasts", "a between_roles construct needs at least one contrast")
    code_roles_raw = body.get("code_roles", {})
    if not isinstance(code_roles_raw, dict):
        raise _error(file, f"{where}.code_roles", "must be a table: code = [roles]")
    code_roles = {code: _roles(value, file, f"{where}.code_roles.{code}") for code, value in code_roles_raw.items()}
    return ConstructPlan(name, outcome, direction, roles, wave, comparison, tuple(results), contrasts, code_roles)


def check_plan_against_map(plan: AnalysisPlan, integration_map: Any) -> None:
    """Refuse a plan that does not fit the integration map: a construct, code or direction the map does not have.

    Raises
    ------
    DataError
        Naming the plan file and the key.

    Examples
    --------
    >>> from ponzoni_eval.integrate.map import load_integration_map
    >>> check_plan_against_map(load_analysis_plan(), load_integration_map())
    """
    names = set(integration_map.names)
    for construct in plan.constructs:
        where = f"constructs.{construct.name}"
        if construct.name not in names:
            raise _error(plan.source, where, "not a construct of the integration map", expected=", ".join(sorted(names)), found=construct.name)
        mapped = integration_map[construct.name]
        codes = {link.code for link in mapped.codes}
        for table, listed in (("contrasts", construct.contrasts), ("code_roles", construct.code_roles)):
            for code in listed:
                if code not in codes:
                    raise _error(plan.source, f"{where}.{table}.{code}", "not a code linked to this construct in the integration map",
                                 expected=", ".join(sorted(codes)), found=code)
        for index, selector in enumerate(mapped.quantitative):
            if selector.direction != construct.direction:
                raise _error(plan.source, f"{where}.direction", f"differs from the integration map's quantitative[{index}].direction",
                             expected=selector.direction, found=construct.direction)


def plan_record(path: str | os.PathLike) -> dict[str, str]:
    """What a manifest records of a plan file: its name, SHA-256 and registration date.

    Examples
    --------
    >>> sorted(plan_record(default_plan_path()))
    ['file', 'registered', 'sha256']
    """
    plan = load_analysis_plan(path)
    return {"file": Path(path).name, "sha256": sha256_file(path), "registered": plan.registered.isoformat()}


def plan_template() -> str:
    """The text of the package's plan, with its comments: the template an evaluator fills in (`ponzoni-eval templates`)."""
    return default_plan_path().read_text(encoding="utf-8")


def write_plan_template(path: str | os.PathLike) -> Path:
    """Write the package's plan, with its comments, as a template for an evaluator's data folder (atomic)."""
    target = Path(path)
    if target.is_dir():
        target = target / PLAN_FILENAME
    return atomic_write_bytes(target, default_plan_path().read_bytes())
