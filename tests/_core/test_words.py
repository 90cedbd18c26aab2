"""One words table per language (`ponzoni_eval/resources/words/*.toml`, read by `ponzoni_eval._core.words`)."""

from __future__ import annotations

import ast
import string
import tomllib
from pathlib import Path

import pytest

import ponzoni_eval
from ponzoni_eval._core.vocabulary import EVENT_TYPES, ROLES, WAVES
from ponzoni_eval._core.words import LANGUAGES, add_words, all_keys, term, terms, words

PACKAGE = Path(ponzoni_eval.__file__).parent
WORDS = PACKAGE / "resources" / "words"


def _leaves(table: dict, prefix: str = "") -> dict[str, object]:
    found = {}
    for key, value in table.items():
        if isinstance(value, dict):
            found.update(_leaves(value, f"{prefix}{key}."))
        else:
            found[prefix + key] = value
    return found


def package_words() -> dict[str, dict[str, object]]:
    return {path.stem: _leaves(tomllib.loads(path.read_text(encoding="utf-8"))) for path in sorted(WORDS.glob("*.toml"))}


def _fields(text: object) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(str(text)) if name}


def test_the_languages_are_the_words_files_english_first():
    assert LANGUAGES[0] == "en" and set(LANGUAGES) == set(package_words()) == {"en", "nl"}


def test_every_key_exists_in_every_language_with_the_same_fields():
    tables = package_words()
    english = tables["en"]
    for language, table in tables.items():
        assert set(table) == set(english), f"{language}: {sorted(set(table) ^ set(english))}"
        for key, text in table.items():
            assert type(text) is type(english[key]), f"{language}.{key}"
            assert _fields(text) == _fields(english[key]), f"{language}.{key} fills other fields than en.{key}"
            if isinstance(text, str):
                assert text.strip(), f"{language}.{key} is empty"


def _package_strings() -> tuple[set[str], set[str]]:
    """Every string constant in the package's code, and the groups passed to ``terms(...)``."""
    constants: set[str] = set()
    groups: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                constants.add(node.value)
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", getattr(node.func, "attr", None)) == "terms"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                groups.add(node.args[0].value)
    return constants, groups


def test_no_key_is_unused():
    """A key is used where code names it in full (``term("sentences.rose", ...)`` or a literal key in a choice), or
    reads its whole group (``terms("values", ...)``, whose keys are data values such as waves and roles)."""
    constants, groups = _package_strings()
    unused = [
        key
        for key in package_words()["en"]
        if key not in constants and not any(key.startswith(group + ".") for group in groups)
    ]
    assert unused == []


def test_every_key_the_code_names_exists():
    """A typo in a key is caught here rather than in a report: every literal that starts with a group name is a key or a group."""
    tables = package_words()
    known = set(tables["en"]) | {key.rsplit(".", n)[0] for key in tables["en"] for n in range(1, key.count(".") + 1)}
    top = {key.split(".")[0] for key in tables["en"]}
    constants, groups = _package_strings()
    named = {text for text in constants if "." in text and text.split(".")[0] in top and " " not in text and text.replace(".", "").replace("_", "").isalnum()}
    assert named, "the scan found no keys: has the code stopped using term()?"
    assert sorted(named - known) == []
    assert sorted(groups - known) == []


def test_value_labels_cover_the_vocabulary():
    for language in LANGUAGES:
        assert set(terms("values.wave", language)) == set(WAVES)
        assert set(terms("values.role", language)) == set(ROLES)
        assert set(EVENT_TYPES) <= set(terms("values.event_type", language))


def test_dutch_says_casus_for_a_case_everywhere():
    """One term per concept in Dutch: the glossary's word for a case is "casus" (``export.headers.case_id``),
    never the English "case"/"cases" (issue 14: the Dutch plan table said "case" and "alle cases")."""
    import re

    assert term("export.headers.case_id", "nl") == "Casus"
    english = {key: text for key, text in package_words()["nl"].items()
               if re.search(r"(?i)\bcases?\b|caserapport", re.sub(r"\{[^}]*\}", " ", str(text)))}
    assert english == {}
    assert term("plan.column_case", "nl") == "casus" and term("plan.all_cases", "nl") == "alle casussen"


@pytest.mark.parametrize(
    "key, language, fields, expected",
    [
        # the strings of the former tables, unchanged
        ("sentences.rose", "en", dict(label="Trust", before="2.8", after="3.7"), "Trust rose from 2.8 to 3.7"),
        ("sentences.fell", "nl", dict(label="Vertrouwen", before="3,7", after="2,8"), "Vertrouwen daalde van 3,7 naar 2,8"),
        ("sections.no_interviews", "nl", dict(case="Kolenkit"), "Kolenkit: geen gecodeerde interviews"),
        ("banner.title", "en", {}, "SYNTHETIC EXAMPLE DATA — not findings"),
        ("fit.label.partial agreement", "nl", {}, "gedeeltelijke overeenstemming"),
        ("export.headers.case_id", "nl", {}, "Casus"),
        ("export.suppressed", "en", dict(largest=4, min_cell=5), "Counts of 1 to 4 people are suppressed (<5) to protect the participants."),
        ("display.says_plural.contrary", "nl", {}, "spreken dit tegen"),
        ("values.wave.t0", "nl", {}, "voormeting"),
    ],
)
def test_terms_read_the_former_strings(key, language, fields, expected):
    assert term(key, language, **fields) == expected


def test_words_are_read_only_and_unknown_keys_and_languages_are_refused():
    with pytest.raises(TypeError):
        words("en")["sentences"]["rose"] = "went up"  # type: ignore[index]
    with pytest.raises(KeyError, match="no word 'sentences.soared'"):
        term("sentences.soared", "en")
    with pytest.raises(KeyError, match="group of words"):
        term("sentences", "en")
    with pytest.raises(KeyError, match="one word"):
        terms("sentences.rose", "en")
    with pytest.raises(ValueError, match="language must be one of"):
        term("sentences.rose", "de")


def test_a_student_adds_words_for_her_own_section():
    add_words("waiting_times", {"en": {"title": "Waiting times ({n} families)", "axis": {"x": "weeks"}},
                                "nl": {"title": "Wachttijden ({n} gezinnen)", "axis": {"x": "weken"}}})
    assert term("waiting_times.title", "nl", n=3) == "Wachttijden (3 gezinnen)"
    assert terms("waiting_times.axis", "en") == {"x": "weeks"}
    assert "waiting_times.axis.x" in all_keys("nl")
    # a notebook cell that runs twice replaces its words
    add_words("waiting_times", {"en": {"title": "Waiting", "axis": {"x": "days"}}, "nl": {"title": "Wachten", "axis": {"x": "dagen"}}})
    assert term("waiting_times.axis.x", "nl") == "dagen"
    # the package's own words stay as they are
    assert term("sentences.rose", "en", label="A", before="1", after="2") == "A rose from 1 to 2"


@pytest.mark.parametrize(
    "group, tables, message",
    [
        ("sentences", {"en": {"rose": "up"}, "nl": {"rose": "op"}}, "package's own words"),
        ("my_part", {"en": {"title": "Title"}}, "missing \\['nl'\\]"),
        ("my_part", {"en": {"title": "T"}, "nl": {"title": "T"}, "de": {"title": "T"}}, "unknown \\['de'\\]"),
        ("my_part", {"en": {"title": "T", "note": "N"}, "nl": {"title": "T"}}, "same keys"),
        ("my_part", {"en": {"n": 3}, "nl": {"n": 3}}, "words are text"),
        ("my part", {"en": {"title": "T"}, "nl": {"title": "T"}}, "a name like"),
    ],
)
def test_added_words_are_checked(group, tables, message):
    with pytest.raises(ValueError, match=message):
        add_words(group, tables)


@pytest.mark.parametrize("language", ["en", "nl"])
def test_the_integration_evidence_has_one_word_per_label_in_tables_and_documents(language):
    """One term per concept (issue 15): the report's tables (values.evidence) and the documents (display.evidence)."""
    assert dict(terms("values.evidence", language)) == dict(terms("display.evidence", language))
