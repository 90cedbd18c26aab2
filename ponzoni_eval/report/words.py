"""The glossary: every word a reader sees, one table per report language, public and extensible.

The words live in ``ponzoni_eval/resources/words/<language>.toml`` (one term per concept per language;
a test keeps the keys of every language the same, and fails on an English word of the glossary in a
Dutch report). This module is their public face for students and evaluators:

- `term` reads one entry (``term("report.summary", "nl")``), `terms` a group (``terms("values.role", "nl")``);
- `add_words` adds the words of your own section, in every report language at once;
- `glossary` is the whole (read-only) table of a language, `all_keys` every entry by its dotted key.

Examples
--------
>>> from ponzoni_eval.report import add_words, term
>>> add_words("waiting_times", {"en": {"title": "Waiting times ({n} families)"},
...                             "nl": {"title": "Wachttijden ({n} gezinnen)"}})
>>> term("waiting_times.title", "nl", n=12)
'Wachttijden (12 gezinnen)'
>>> glossary("nl")["values"]["role"]["parent"]
'ouder'
"""

from __future__ import annotations

from typing import Any, Mapping

from ponzoni_eval._core.words import LANGUAGES, add_words, all_keys, check_language, term, terms, words

__all__ = ["LANGUAGES", "glossary", "term", "terms", "add_words", "all_keys", "check_language"]


def glossary(language: str) -> Mapping[str, Any]:
    """The whole words table of a report language (read-only): the package's words and those added with `add_words`."""
    return words(language)
