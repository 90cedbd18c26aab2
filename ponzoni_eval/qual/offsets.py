"""Which unit a REFI-QDA export counted its selection positions in, per text source.

REFI-QDA says ``startPosition`` / ``endPosition`` count characters of the plain
text, but programs count differently: NVivo counts UTF-16 code units (a
character outside the Basic Multilingual Plane, such as most emoji, counts
twice), others count code points, a few count UTF-8 bytes; and a Windows line
end (``\\r\\n``) counts as one character in some exports, two in others. Read
in the wrong unit, every quote after the first emoji is shifted.

`read_positions` tries every reading (unit x line ends) of one source and keeps
the one the evidence supports, in this order:

1. every selection lies inside the text and on character boundaries (a UTF-16
   position inside a surrogate pair, or a UTF-8 position inside a multi-byte
   character, rules the reading out);
2. more selection names (programs store the start of the quote there) match
   the head of the selected text, then equal all of it (a short quote is its
   own name, which fixes its end too), then match with whitespace squashed;
3. more selection ends fall between words (not inside one, nor between a
   letter and its combining mark), counted only for readings where at least
   90% do;
4. on a tie, the first in `READINGS` order (code points, then UTF-16, text as
   stored) is kept; when no selection name supported either reading the tie
   is reported, since the quotes may then be shifted.

Readings that give the same quotes for a text are one reading; its label names
all of them (``code points = UTF-16 code units`` for a text without emoji), or
says ``characters`` when every unit agrees (an ASCII text).
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from dataclasses import dataclass
from typing import Sequence

from ponzoni_eval._core.errors import DataError

__all__ = [
    "READINGS",
    "PositionReading",
    "Span",
    "read_positions",
]

UNITS = ("code points", "UTF-16 code units", "UTF-8 bytes")
READINGS = tuple((crlf, unit) for crlf in ("two", "one") for unit in UNITS)
"""Every reading tried, in order of preference on a tie: (``\\r\\n`` counted as, unit)."""


@dataclass(frozen=True)
class Span:
    """One selection as stored: its id, positions and name (often the head of the quote)."""

    key: str
    start: int
    end: int
    name: str = ""


@dataclass(frozen=True)
class PositionReading:
    """The reading chosen for one source.

    ``text`` is the text the converted positions index (``\\r\\n`` replaced by
    ``\\n`` when the export counted it as one character); ``spans`` are the
    selections' (start, end) in characters of ``text``, in input order.
    """

    text: str
    spans: tuple[tuple[int, int], ...]
    label: str
    warning: str | None = None


def _boundaries(text: str, unit: str) -> list[int] | None:
    """Position in ``unit`` of every character boundary, or None when it equals the character index."""
    if unit == "code points" or text.isascii():
        return None
    if unit == "UTF-16 code units":
        if max(text) <= "\uffff":
            return None
        sizes = (2 if ord(ch) > 0xFFFF else 1 for ch in text)
    else:
        sizes = (1 if ord(ch) < 0x80 else 2 if ord(ch) < 0x800 else 3 if ord(ch) < 0x10000 else 4 for ch in text)
    out = [0]
    total = 0
    for size in sizes:
        total += size
        out.append(total)
    return out


def _to_index(position: int, boundaries: list[int] | None, length: int) -> int | str:
    """Character index of a position, or why there is none ("beyond" the end, "inside" a character)."""
    if boundaries is None:
        return position if 0 <= position <= length else "beyond"
    if position > boundaries[-1] or position < 0:
        return "beyond"
    index = bisect_left(boundaries, position)
    return index if boundaries[index] == position else "inside"


def _names_matching(text: str, spans: Sequence[Span], converted: Sequence[tuple[int, int]]) -> tuple[int, int, int]:
    """Selection names that match the head of the quote; that equal the whole quote; that match loosely."""
    exact = whole = loose = 0
    for span, (start, end) in zip(spans, converted):
        name = re.sub(r"(?:…|\.\.\.)$", "", span.name)  # ATLAS.ti: the head of the quote and '...', others '…'
        piece = text[start:min(end, start + 200)]  # names are short; the head of the quote suffices
        if name and piece.startswith(name[:40]):
            exact += 1
        if name and name.strip() == text[start:end].strip():  # a short quote is its own name: the end matches too
            whole += 1
        squashed = re.sub(r"\s+", " ", name).strip().rstrip(".")[:20]
        if squashed and re.sub(r"\s+", " ", piece).strip().startswith(squashed):
            loose += 1
    return exact, whole, loose


def _word_char(ch: str) -> bool:
    return ch.isalnum() or unicodedata.category(ch).startswith("M")


def _clean_cut(text: str, index: int) -> bool:
    """Whether cutting ``text`` at ``index`` splits neither a word nor a letter from its combining mark."""
    if index <= 0 or index >= len(text):
        return True
    before, after = text[index - 1], text[index]
    if unicodedata.category(after).startswith("M"):
        return False
    if "\u4e00" <= before <= "\u9fff" or "\u4e00" <= after <= "\u9fff":
        return True  # CJK text has no spaces between words: any cut between ideographs is plausible
    return not (_word_char(before) and _word_char(after))


def _clean_cuts(text: str, converted: Sequence[tuple[int, int]]) -> int:
    """Clean cuts, counted only when at least 90% of the cuts are clean.

    Coders select words and sentences, so the right reading cuts almost only
    between words while a shifted one cuts words apart; a reading with many
    cuts inside words is no evidence either way (some selections are ragged),
    and counting them would let chance decide between two poor readings.
    """
    cuts = [_clean_cut(text, index) for start, end in converted if end > start for index in (start, end)]
    clean = sum(cuts)
    return clean if cuts and clean >= 0.9 * len(cuts) else 0


def _label(units: Sequence[str], crlf: str, has_crlf: bool) -> str:
    label = "characters" if len(units) == len(UNITS) else " = ".join(units)  # all agree: an ASCII text
    if has_crlf:
        label += "; \\r\\n counted as " + ("one character" if crlf == "one" else "two characters")
    return label


def read_positions(text: str, spans: Sequence[Span], *, source: str, where: str) -> PositionReading:
    """Choose the unit and line-end reading of one source's selection positions (see the module docstring).

    Parameters
    ----------
    text : str
        The source's plain text as stored in the export.
    spans : sequence of Span
        Its selections, with positions as stored.
    source, where : str
        The source's name and the file, for messages.

    Returns
    -------
    PositionReading
        The text and the selections converted to its characters, with a label
        for the import report (and a warning when two readings tied).

    Raises
    ------
    DataError
        When no reading puts every selection inside the text on character
        boundaries; the message says what failed under each reading.
    """
    has_crlf = "\r\n" in text
    variants = {"two": text, "one": text.replace("\r\n", "\n") if has_crlf else text}
    groups: dict[tuple, dict] = {}  # distinct outcome -> reading
    failures: dict[str, list[str]] = {}
    for crlf, unit in READINGS:
        if crlf == "one" and not has_crlf:
            continue
        variant = variants[crlf]
        boundaries = _boundaries(variant, unit)
        converted, problem = [], None
        for span in spans:
            start = _to_index(span.start, boundaries, len(variant))
            end = _to_index(span.end, boundaries, len(variant))
            if isinstance(start, str) or isinstance(end, str):
                why = "beyond" if "beyond" in (start, end) else "inside"
                problem = (f"selection {span.key} ({span.start}-{span.end}) "
                           + ("lies beyond the end of the text" if why == "beyond" else "splits a character"))
                break
            converted.append((start, end))
        if problem is not None:
            failures.setdefault(problem, []).append(_label([unit], crlf, has_crlf))
            continue
        outcome = (crlf, tuple(converted))
        if outcome in groups:
            groups[outcome]["units"].append(unit)
            continue
        groups[outcome] = {"crlf": crlf, "units": [unit], "text": variant, "spans": tuple(converted),
                           "score": (*_names_matching(variant, spans, converted), _clean_cuts(variant, converted))}
    if not groups:
        length = len(text)
        detail = "; ".join(f"{' / '.join(labels)}: {problem}" for problem, labels in failures.items())
        raise DataError(
            f"the selection positions of source '{source}' fit no reading of its text ({length} characters "
            f"as stored; tried code points, UTF-16 code units and UTF-8 bytes"
            + (", \\r\\n as one or two characters" if has_crlf else "") + f"): {detail}",
            file=where, rule="selection_bounds",
        )
    ranked = sorted(groups.values(), key=lambda g: g["score"], reverse=True)  # stable: ties keep READINGS order
    best = ranked[0]
    warning = None
    tied = [g for g in ranked[1:] if g["score"] == best["score"]]
    if tied and best["score"][:3] == (0, 0, 0):  # names matched under both readings: their starts agree, keep the standard's unit
        warning = (f"source '{source}': the selection positions fit "
                   + " and ".join(_label(g["units"], g["crlf"], has_crlf) for g in [best, *tied])
                   + " equally well (no selection names or word boundaries tell them apart); read as "
                   + _label(best["units"], best["crlf"], has_crlf) + ": check a few quotes")
    return PositionReading(best["text"], best["spans"], _label(best["units"], best["crlf"], has_crlf), warning)
