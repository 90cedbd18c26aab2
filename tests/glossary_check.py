"""Which words of a report are English glossary words (tests only): the check that a Dutch report is Dutch.

`english_only_words` reads the glossary (``ponzoni_eval/resources/words/<language>.toml``) and keeps
the words of its English side (five letters or more) that no entry of the Dutch side uses, so shared
words (``professional``, ``follow``, ``model``, ``rate``, ``ratio``) never count; `english_in` lists
those that occur in a text.
"""

from __future__ import annotations

import re
import tomllib
from functools import cache
from pathlib import Path

import ponzoni_eval

WORDS = Path(ponzoni_eval.__file__).parent / "resources" / "words"
SNAKE_CASE = re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b")


def _words_of(language: str) -> set[str]:
    found: set[str] = set()

    def walk(node: dict) -> None:
        for value in node.values():
            if isinstance(value, dict):
                walk(value)
            else:
                found.update(w.lower() for w in re.findall(r"[A-Za-z]+", re.sub(r"\{[^}]*\}", " ", value)))

    walk(tomllib.loads((WORDS / f"{language}.toml").read_text(encoding="utf-8")))
    return found


@cache
def english_only_words() -> frozenset[str]:
    """Words of the glossary's English side that its Dutch side does not use (5 letters or more)."""
    return frozenset(w for w in _words_of("en") - _words_of("nl") if len(w) >= 5)


def english_in(text: str) -> list[str]:
    """The English-only glossary words in `text`, sorted, each once."""
    english = english_only_words()
    return sorted({w for w in re.findall(r"[A-Za-z]+", text) if w.lower() in english})
