"""Every word a reader sees, one table per language (`ponzoni_eval/resources/words/<language>.toml`).

The words of sentences, figures, captions, the joint display and the synthetic-data banner live in
one resource file per language, with the same keys in every language (a test keeps it so). Code
asks for one entry by its dotted key, ``term("sentences.rose", language, label=..., ...)``, or for a
whole group of value labels, ``terms("values.wave", language)``; it never compares ``language``
with a language code itself.

Groups of the files (see ``en.toml``): ``numbers`` (decimal mark, how CIs and p-values are
written), ``sentences`` (`report.describe`), ``sections`` (`report.sections`), ``banner``
(`report.outputs`), ``figures`` and ``captions`` (`report.plots`), ``values`` (display names of
data values: waves, roles, cases, scales, ...), ``fit`` (`integrate.fit`), ``display`` and
``export`` (`integrate.display`, `integrate.export`).

A student's own section adds its words with `add_words` (both languages at once, new keys only)
and reads them with `term` like the package does.

Examples
--------
>>> term("sentences.rose", "nl", label="Vertrouwen", before="2,8", after="3,7")
'Vertrouwen steeg van 2,8 naar 3,7'
>>> terms("values.wave", "en")["t0"]
'before'
"""

from __future__ import annotations

import copy
import re
import tomllib
from collections.abc import Mapping
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

__all__ = [
    "LANGUAGES", "words", "term", "terms", "add_words", "all_keys", "check_language", "set_display_names",
    "value_label", "display_text", "without_identifiers",
]

_FOLDER = "resources/words"


def _files() -> dict[str, Any]:
    folder = resources.files("ponzoni_eval").joinpath(_FOLDER)
    return {entry.name.removesuffix(".toml"): entry for entry in folder.iterdir() if entry.name.endswith(".toml")}


# English first, then the others alphabetically: `--language` lists them in this order.
LANGUAGES: tuple[str, ...] = tuple(sorted(_files(), key=lambda language: (language != "en", language)))
"""The report languages: one words file each under ``resources/words/``."""

_ADDED: dict[str, dict[str, Any]] = {language: {} for language in LANGUAGES}


def check_language(language: str) -> str:
    """`language` if there is a words file for it, else a ValueError naming the languages there are."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {list(LANGUAGES)}, got {language!r}")
    return language


@cache
def _package_words(language: str) -> dict[str, Any]:
    return tomllib.loads(_files()[language].read_text(encoding="utf-8"))


def _leaves(table: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """``{"sentences.rose": "...", ...}``: every entry of a (nested) table by its dotted key."""
    found: dict[str, str] = {}
    for key, value in table.items():
        if isinstance(value, Mapping):
            found.update(_leaves(value, f"{prefix}{key}."))
        else:
            found[prefix + key] = value
    return found


_DISPLAY_NAMES: dict[tuple[str, str | None], dict[str, str]] = {}
"""Display names of data values taken from the data (issue 14: ``cases.name``, ``roles.csv``, ``waves.csv``),
by (kind, language); language None: every language."""


def _merged(language: str) -> dict[str, Any]:
    merged = copy.deepcopy(_package_words(language))
    for group, table in _ADDED[language].items():
        merged[group] = copy.deepcopy(table)
    for shared in (True, False):  # names for one language win over names for every language
        for (kind, only), names in _DISPLAY_NAMES.items():
            if (only is None) == shared and only in (None, language):
                merged.setdefault("values", {}).setdefault(kind, {}).update(names)
    return merged


def set_display_names(kind: str, names: Mapping[str, str], *, language: str | None = None) -> None:
    """Show the values of `kind` (``"case"``, ``"role"``, ``"wave"``) by these names, in `language` or in every language.

    The names come from the data (``cases.name``; ``label`` and ``label_nl`` of
    the optional ``roles`` and ``waves`` tables); they replace the words
    tables' entries for those keys (``values.<kind>``) until set again. Names
    for one language win over names for every language. Ids stay what they
    are in the data.

    Examples
    --------
    >>> set_display_names("case", {"kolenkit": "Kolenkitbuurt"})
    >>> term("values.case.kolenkit", "nl")
    'Kolenkitbuurt'
    >>> set_display_names("wave", {"t0": "intake"}, language="nl")
    >>> term("values.wave.t0", "nl"), term("values.wave.t0", "en")
    ('intake', 'before')
    >>> set_display_names("case", {}); set_display_names("wave", {}, language="nl")
    """
    if language is not None:
        check_language(language)
    _DISPLAY_NAMES[(kind, language)] = {str(key): str(value) for key, value in names.items()}
    _VIEWS.clear()


_VIEWS: dict[str, Mapping[str, Any]] = {}


def _frozen(table: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType({key: _frozen(value) if isinstance(value, Mapping) else value for key, value in table.items()})


def words(language: str) -> Mapping[str, Any]:
    """The whole (read-only) words table of a language: the package's file plus words added with `add_words`."""
    check_language(language)
    if language not in _VIEWS:
        _VIEWS[language] = _frozen(_merged(language))
    return _VIEWS[language]


def _lookup(key: str, language: str) -> Any:
    node: Any = words(language)
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise KeyError(f"no word {key!r} in the {language!r} words table (resources/words/{language}.toml or add_words)")
        node = node[part]
    return node


def term(key: str, language: str, **fields: Any) -> str:
    """One entry by its dotted key, with ``{fields}`` filled in when any are given.

    Examples
    --------
    >>> term("fit.label.silence", "nl")
    'stilte'
    >>> term("captions.empty", "en", title="Trust")
    'Trust: no data to show.'
    """
    value = _lookup(key, language)
    if isinstance(value, Mapping):
        raise KeyError(f"{key!r} is a group of words; use terms({key!r}, language)")
    return value.format(**fields) if fields else value


def terms(group: str, language: str) -> Mapping[str, Any]:
    """A group of entries by its dotted key, e.g. the display names of the waves: ``terms("values.wave", "nl")``."""
    value = _lookup(group, language)
    if not isinstance(value, Mapping):
        raise KeyError(f"{group!r} is one word; use term({group!r}, language)")
    return value


def add_words(group: str, tables: Mapping[str, Mapping[str, Any]]) -> None:
    """Add the words of your own section, in every report language, under a new group.

    Parameters
    ----------
    group : str
        A name not used by the package (``"my_section"``); read your words back with
        ``term("my_section.title", language)``.
    tables : mapping of language to mapping
        One table per report language (all of `LANGUAGES`), with the same keys (nested tables
        allowed) and text values; ``{fields}`` in a text are filled in by `term`.

    Adding the same group again replaces it (so a notebook cell can run twice).

    Examples
    --------
    >>> add_words("my_section", {"en": {"title": "Waiting times ({n} families)"},
    ...                          "nl": {"title": "Wachttijden ({n} gezinnen)"}})
    >>> term("my_section.title", "nl", n=12)
    'Wachttijden (12 gezinnen)'
    """
    if not group.isidentifier():
        raise ValueError(f"a words group is a name like 'my_section', got {group!r}")
    if group in _package_words(LANGUAGES[0]):
        raise ValueError(f"{group!r} is one of the package's own words groups; choose another name for your section")
    missing = [language for language in LANGUAGES if language not in tables]
    unknown = [language for language in tables if language not in LANGUAGES]
    if missing or unknown:
        raise ValueError(f"add_words needs one table for each report language {list(LANGUAGES)}; missing {missing}, unknown {unknown}")
    keys = {language: _leaves(tables[language]) for language in LANGUAGES}
    reference = set(keys[LANGUAGES[0]])
    for language, leaves in keys.items():
        if set(leaves) != reference:
            raise ValueError(
                f"the words of {group!r} must have the same keys in every language; {language!r} differs from "
                f"{LANGUAGES[0]!r} in {sorted(set(leaves) ^ reference)}"
            )
        not_text = [key for key, value in leaves.items() if not isinstance(value, str)]
        if not_text:
            raise ValueError(f"words are text; {language!r} has other values at {not_text}")
    for language in LANGUAGES:
        _ADDED[language][group] = copy.deepcopy(dict(tables[language]))
        _VIEWS.pop(language, None)


def all_keys(language: str) -> dict[str, str]:
    """Every entry of a language's words table by its dotted key (for checks and tests)."""
    return _leaves(words(language))


# --- data values as a reader reads them -------------------------------------------------------------

_PAIR = re.compile(r"\b([a-z_]+)=([A-Za-z0-9_.]+)")
_KEY_PREFIX = re.compile(r"\b(?:case_id|role|wave|scale|code|unit|outcome):\s*")
_SNAKE = re.compile(r"\b[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+\b(?!\.(?:toml|csv|json|xlsx|html|md|parquet|qdpx)\b)")
_VALUE_GROUPS = ("phrase", "construct", "evidence", "code", "statistic", "test", "effect", "expectation", "event_type", "scale", "wave", "role", "case")
"""The groups of display names a data value is looked up in, the last winning where two groups share a key
(``trust`` is a scale and a construct, ``expect_bridge`` a scale and a code); `display_text`'s ``prefer``
puts one group last."""


def value_label(kind: str, key: Any, language: str = "en") -> str:
    """The display name of one data value of `kind` (``values.<kind>`` of the words tables, or the data's own names).

    A value without one (a code from the evaluator's codebook, a new site) is shown as it is, with
    spaces for underscores, so that no identifier reaches a reader.

    Examples
    --------
    >>> value_label("code", "growing_trust", "nl"), value_label("code", "Samen optrekken", "nl")
    ('groeiend vertrouwen', 'Samen optrekken')
    >>> value_label("case", "site_017")
    'site 017'
    """
    check_language(language)
    return str(terms("values", language).get(kind, {}).get(str(key), str(key).replace("_", " ")))


def _known(language: str, prefer: str | None) -> dict[str, str]:
    values = terms("values", language)
    known: dict[str, str] = {}
    for group in (*[g for g in _VALUE_GROUPS if g != prefer], *([prefer] if prefer else [])):
        known.update({str(key): str(value) for key, value in values.get(group, {}).items()})
    return known


def display_text(text: Any, language: str = "en", *, prefer: str | None = None) -> str:
    """A data value or a result's group text as a reader reads it, in the report language.

    Known values (cases, roles, waves, scales, codes, tests, effects: ``values.*`` in the words
    tables) by their display name, ``role=professional`` as the value, ``t0->t2`` with an arrow, the
    statistics' fixed phrases (``values.phrase``) translated, and any other identifier with spaces for
    its underscores, so that no ``snake_case`` reaches a reader.

    Examples
    --------
    >>> display_text("role=migrant_org, t0->t2", "nl")
    'migrantenorganisatie, voormeting → follow-up'
    >>> display_text("case_id: slotervaart | poelenburg_a", "en")
    'Slotervaart, Poelenburg A'
    >>> display_text("site_017")
    'site 017'
    >>> display_text("trust", "nl"), display_text("trust", "nl", prefer="construct")
    ('vertrouwen', 'wederzijds vertrouwen')
    """
    check_language(language)
    values = terms("values", language)
    known = _known(language, prefer)
    text = str(text)
    if text in known:
        return known[text]
    phrases = sorted(((k, v) for k, v in values.get("phrase", {}).items() if not k.isidentifier()), key=lambda kv: -len(kv[0]))
    for phrase, shown in phrases:
        text = text.replace(phrase, shown)
    text = _KEY_PREFIX.sub("", text)
    text = _PAIR.sub(lambda m: m.group(2), text)  # "role=professional" -> "professional"
    text = text.replace("->", " → ").replace(" | ", ", ")
    text = re.sub(r"[A-Za-z][A-Za-z0-9_]*", lambda m: known.get(m.group(0), m.group(0).replace("_", " ")), text)
    return re.sub(r"\s+", " ", text).strip()


def without_identifiers(text: Any, language: str = "en") -> str:
    """A long text (a model note) with only its identifiers made readable: ``snake_case`` words by their display
    name (``values.*``, e.g. ``migrant_org``, ``welch_t``) or with spaces, ``key=value`` as ``key value``; file
    names (``analysis_plan.toml``) and every other word stay as written.

    Examples
    --------
    >>> without_identifiers("target=migrant_org, t0->t2; welch_t; random intercept per participant_id")
    'target migrant organisation, t0->t2; Welch t-test; random intercept per participant'
    >>> without_identifiers("see analysis_plan.toml")
    'see analysis_plan.toml'
    """
    check_language(language)
    known = {**_known(language, None), **terms("values.identifier", language)}
    text = re.sub(r"\b([a-z][a-z_]*)=", lambda m: m.group(1).replace("_", " ") + " ", str(text))
    return _SNAKE.sub(lambda m: known.get(m.group(0), m.group(0).replace("_", " ")), text)
