"""Privacy: pseudonym checks, quote redaction, small-cell suppression, keyed pseudonyms.

The study's participants are few, live in two neighbourhoods and are known to
each other (youth-team workers, members of named migrant organisations,
parents). Reports therefore promise three things (see ``docs/security-and-privacy.md``):

1. identifiers are pseudonyms, never names or e-mail addresses
   (`check_pseudonyms`, `pseudonymise`);
2. quotes shown in reports have names, e-mail addresses and phone numbers
   replaced (`redact`);
3. published counts below a threshold are suppressed, with the cells that
   would give them away (`suppress_small_cells`, `format_suppressed`).

Each is a heuristic with known limits, documented per function: they reduce
risk, they do not make small qualitative samples anonymous.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Any, Iterable, Iterator, NamedTuple, Sequence

import numpy as np
import pandas as pd

from ponzoni_eval.privacy.names import EMAIL_PATTERN, normalise_name

__all__ = [
    "redact",
    "redact_counted",
    "Redacted",
    "redact_documents",
    "RedactedDocuments",
    "NAME_PLACEHOLDER",
    "EMAIL_PLACEHOLDER",
    "PHONE_PLACEHOLDER",
]


NAME_PLACEHOLDER = "[NAAM]"
EMAIL_PLACEHOLDER = "[E-MAIL]"
PHONE_PLACEHOLDER = "[TELEFOON]"
# Dutch numbers: 10 digits starting with 0 (06-12345678, 020 123 4567), or
# +31 / 0031 followed by 9 digits, optionally with "(0)"; spaces and dashes allowed.
_DUTCH_PHONE = r"(?:(?:\+|00)31[\s-]?(?:\(0\)[\s-]?)?|\b0)[1-9](?:[\s-]?\d){8}(?!\d)"


def _name_alternation(names: Iterable[str], *, lowered: bool = False) -> str:
    """All names as one regex, shaped as a trie; longer names win over their prefixes.

    A flat alternation ``Ayşe Yılmaz|Ayşe|...`` makes the regex engine try every
    name at every position: with a thousand names that is slow. A trie shares
    prefixes (``Ay(?:şe(?:\\s+Yılmaz)?|...)``), so each position costs about the
    length of one name. Optional tails are greedy, so the longest listed name
    that fits is taken ("Ayşe Yılmaz" over "Ayşe"), with backtracking to the
    shorter one when the longer does not fit. White space inside a name
    matches any run of white space.

    With ``lowered`` the expression is for case-sensitive matching of text
    put through `_lowered` (see `_Redactor`): each letter becomes the class
    of the lower-case letters ``re.IGNORECASE`` holds equal to it (``i`` ->
    ``[iı]``), so that the two ways of matching find the same names.
    """
    cleaned = sorted({unicodedata.normalize("NFKC", str(n)).strip() for n in names if n is not None and not pd.isna(n)})
    trie: dict = {}
    for name in (n for n in cleaned if len(n) >= 2):
        node = trie
        for atom in re.findall(r"\s+|.", name):
            # Branch on the case-folded atom so "AYŞE" and "Ayşe Yılmaz" share a
            # path (the pattern is compiled with IGNORECASE anyway).
            key = r"\s+" if atom.isspace() else _fold(atom)
            if atom in APOSTROPHES or atom in HYPHENS:  # D'Souza = D’Souza, Al-Amin = Al‑Amin
                key = APOSTROPHES[0] if atom in APOSTROPHES else HYPHENS[0]
                shown = _APOSTROPHE_CLASS if atom in APOSTROPHES else _HYPHEN_CLASS
            elif atom.isspace():
                shown = r"\s+"
            elif lowered:
                shown = _CASE_CLASS.get(key, re.escape(key))
            else:
                shown = re.escape(atom)
            pattern, node = node.setdefault(key, (shown, {}))
        node[""] = ("", {})  # a listed name ends here
    return _trie_regex(trie)


APOSTROPHES = "'\u2019\u2018\u02bc\u00b4`\u2032\u02b9"
"""Characters taken as the same apostrophe in a name (ASCII, typographic right and left, modifier letter, accents, prime)."""
HYPHENS = "-\u2010\u2011\u2012\u2013\u2014\u2212\ufe63\uff0d"
"""Characters taken as the same hyphen in a name (ASCII, Unicode hyphen, non-breaking hyphen, dashes, minus)."""
_APOSTROPHE_CLASS = "[" + re.escape(APOSTROPHES) + "]"
_HYPHEN_CLASS = "[" + re.escape(HYPHENS) + "]"


def _normalised_with_positions(text: str) -> tuple[str, list[int], list[int]] | None:
    """`text` in Unicode NFKC form, with each character's span in `text`; None when it is already NFKC.

    Names are matched in the normalised form (a decomposed "O" + diaeresis as
    macOS writes it, full-width letters, ligatures), and replaced in the text
    as it was: every normalised character knows the span of the characters it
    came from (a base character and the combining marks after it).
    """
    if unicodedata.is_normalized("NFKC", text):
        return None
    pieces: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    bounds = [i for i, character in enumerate(text) if i == 0 or not unicodedata.combining(character)] + [len(text)]
    for start, end in zip(bounds, bounds[1:]):
        normalised = unicodedata.normalize("NFKC", text[start:end])
        pieces.append(normalised)
        starts += [start] * len(normalised)
        ends += [end] * len(normalised)
    return "".join(pieces), starts, ends


def _fold(character: str) -> str:
    """Case-insensitive key of one character: what ``re.IGNORECASE`` holds it equal to, as one character."""
    lower = _simple_lower(character)
    return _CASE_CANONICAL.get(lower, lower)


def _simple_lower(character: str) -> str:
    """The one-character lower case ``re`` compares under IGNORECASE (``İ`` -> ``i``, not ``i̇``)."""
    if character == "İ":
        return "i"
    lower = character.lower()
    return lower if len(lower) == 1 else character


IGNORECASE_EQUAL_LETTERS = (
    "i\u0131",  # i, dotless i
    "s\u017f",  # s, long s
    "\u00b5\u03bc",  # micro sign, mu
    "\u0345\u03b9\u1fbe",  # ypogegrammeni, iota, prosgegrammeni
    "\u0390\u1fd3",  # iota with dialytika and tonos (two code points)
    "\u03b0\u1fe3",  # upsilon with dialytika and tonos (two code points)
    "\u03b2\u03d0",  # beta, curled beta
    "\u03b5\u03f5",  # epsilon, lunate epsilon
    "\u03b8\u03d1",  # theta, script theta
    "\u03ba\u03f0",  # kappa, kappa symbol
    "\u03c0\u03d6",  # pi, pi symbol
    "\u03c1\u03f1",  # rho, rho symbol
    "\u03c2\u03c3",  # final sigma, sigma
    "\u03c6\u03d5",  # phi, phi symbol
    "\u0432\u1c80",  # Cyrillic ve, rounded ve
    "\u0434\u1c81",  # de, long-legged de
    "\u043e\u1c82",  # o, narrow o
    "\u0441\u1c83",  # es, wide es
    "\u0442\u1c84\u1c85",  # te, tall te, three-legged te
    "\u044a\u1c86",  # hard sign, tall hard sign
    "\u0463\u1c87",  # yat, tall yat
    "\u1c88\ua64b",  # unblended uk, monograph uk
    "\u1e61\u1e9b",  # s with dot above, long s with dot above
    "\ufb05\ufb06",  # ligatures long s t, s t
)
"""Groups of different lower-case letters that ``re.IGNORECASE`` holds equal (they share an upper case).

Python 3.11's Unicode data; tests/privacy/test_privacy.py derives the groups
again from ``re.IGNORECASE`` itself over every code point and fails when a
Python version changes them. Written out rather than read from the table the
``re`` module keeps (CPython's private ``re._casefix``) or derived at import
(a scan of 1.1 M code points, 0.2-0.8 s in every process that redacts).
"""


def _case_classes() -> tuple[dict[str, str], dict[str, str]]:
    """Lower-case letters that ``re.IGNORECASE`` matches to each other although they differ (``i``/``ı``, ``s``/``ſ``, ``σ``/``ς``).

    Returns ``{letter: canonical letter}`` and ``{canonical letter: regex class of all}``.
    """
    canonical, classes = {}, {}
    for group in IGNORECASE_EQUAL_LETTERS:
        first = min(group)
        for member in group:
            canonical[member] = first
        classes[first] = "[" + "".join(re.escape(m) for m in sorted(group)) + "]"
    return canonical, classes


_CASE_CANONICAL, _CASE_CLASS = _case_classes()


def _lowered(text: str) -> str | None:
    """`text` in lower case with every character where it was (None when lower-casing would move one).

    ``İ`` becomes ``i`` (as ``re.IGNORECASE`` compares it) instead of the
    two characters ``str.lower`` makes of it. Other characters whose full
    lower case is longer than one are not known in Unicode today; None
    keeps their texts on the slower, case-insensitive expression.
    """
    if not text.isascii() and "İ" in text:
        text = text.replace("İ", "i")
    lowered = text.lower()
    return lowered if len(lowered) == len(text) else None


def _trie_regex(node: dict) -> str:
    ends_here = "" in node
    branches = [pattern + _trie_regex(child) for key, (pattern, child) in sorted(node.items()) if key]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{body})?" if ends_here else body


# A Dutch phone number holds 9 digits with at most one space or hyphen between two: a text without
# such a run (or without an "@") cannot hold a phone number (an e-mail address), so the name-only
# expression finds there exactly what the full one would. Most texts are such, and the full
# expression's e-mail and phone alternatives, tried at every character, were most of the time.
_PHONE_CANDIDATE = re.compile(r"\d(?:[\s-]?\d){8}")


class _Redactor:
    """The redaction expressions, and how to run them fast.

    Two speed-ups that find exactly what the one case-insensitive expression
    would (tested against it):

    - a text without an "@" or a run of 9 digits gets the name-only
      expression (the e-mail and phone alternatives, tried at every
      character, were most of the time);
    - a text is matched in lower case by a case-sensitive expression whose
      letters are the classes ``re.IGNORECASE`` holds equal (``[iı]``): about
      twice as fast as ``re.IGNORECASE``, and the positions are the text's
      own, since lower-casing keeps every character in its place (`_lowered`;
      a text where it would not is matched case-insensitively as it is).
    """

    def __init__(self, names: Iterable[str], *, emails: bool = True, phones: bool = True) -> None:
        self.names = list(names)
        self.emails, self.phones = emails, phones
        self.full_lowered = _redaction_pattern(self.names, emails=emails, phones=phones, lowered=True)
        self.names_only_lowered = (
            _redaction_pattern(self.names, emails=False, phones=False, lowered=True) if (emails or phones) else self.full_lowered
        )

    @property
    def finds_nothing(self) -> bool:
        return self.full_lowered is None

    # The case-insensitive forms, compiled only for a text that lower-casing would shift (rare).
    @functools.cached_property
    def full(self) -> re.Pattern | None:
        return _redaction_pattern(self.names, emails=self.emails, phones=self.phones)

    @functools.cached_property
    def names_only(self) -> re.Pattern | None:
        return _redaction_pattern(self.names, emails=False, phones=False) if (self.emails or self.phones) else self.full

    def _may_hold_more_than_names(self, text: str) -> bool:
        return (self.emails and "@" in text) or bool(self.phones and _PHONE_CANDIDATE.search(text))

    def matches(self, text: str) -> Iterator[re.Match]:
        """Every match in `text` (positions are `text`'s; ``lastgroup`` names the kind)."""
        if self.finds_nothing:
            return iter(())
        lowered = _lowered(text)
        if lowered is None:
            pattern = self.full if self._may_hold_more_than_names(text) else self.names_only
        else:
            text = lowered
            pattern = self.full_lowered if self._may_hold_more_than_names(lowered) else self.names_only_lowered
        return iter(()) if pattern is None else pattern.finditer(text)

    def spans(self, text: str) -> Iterator[tuple[int, int, str]]:
        """``(start, end, kind)`` of every match, in `text`'s positions; matched in NFKC form when `text` is not."""
        mapped = _normalised_with_positions(text) if not text.isascii() else None
        if mapped is None:
            for match in self.matches(text):
                yield match.start(), match.end(), match.lastgroup
            return
        normalised, starts, ends = mapped
        for match in self.matches(normalised):
            if match.end() > match.start():
                yield starts[match.start()], ends[match.end() - 1], match.lastgroup

    def substitute(self, text: str, placeholder: str) -> tuple[str, list[tuple[int, int]], list[tuple[int, int]]]:
        """`text` with every match replaced; the matches' spans in `text` and their placeholders' spans in the result."""
        replacement = {"email": EMAIL_PLACEHOLDER, "phone": PHONE_PLACEHOLDER, "name": placeholder}
        pieces, old, new, position, shift = [], [], [], 0, 0
        for start, end, kind in self.spans(text):
            if start < position:  # two normalised matches from one original character: already replaced
                continue
            text_for = replacement[kind]
            pieces += [text[position:start], text_for]
            old.append((start, end))
            new.append((start + shift, start + shift + len(text_for)))
            shift += len(text_for) - (end - start)
            position = end
        if not old:
            return text, old, new
        return "".join(pieces) + text[position:], old, new


@functools.lru_cache(maxsize=4)
def _redactor_for(names: tuple[str, ...], emails: bool = True, phones: bool = True) -> _Redactor:
    """One compiled `_Redactor` per list of names: `redact_documents` asks for it three times per call."""
    return _Redactor(names, emails=emails, phones=phones)


def _redaction_pattern(
    names: Iterable[str], *, emails: bool = True, phones: bool = True, lowered: bool = False
) -> re.Pattern | None:
    """One regex with a named group per kind (email, phone, name); None when there is nothing to find.

    ``lowered``: the case-sensitive form for lower-cased text (see `_Redactor`).
    """
    name_pattern = _name_alternation(names, lowered=lowered)
    parts = []
    if emails:
        parts.append(f"(?P<email>{EMAIL_PATTERN})")
    if phones:
        parts.append(f"(?P<phone>{_DUTCH_PHONE})")
    if name_pattern:
        # A glued possessive / inflection: 's, ’s, a bare s, or apostrophe + Turkish suffix.
        s = _CASE_CLASS.get("s", "s") if lowered else "s"
        parts.append(rf"(?P<name>(?<!\w)(?:{name_pattern})(?:{_APOSTROPHE_CLASS}\w*|{s})?(?!\w))")
    if not parts:
        return None
    return re.compile("|".join(parts), flags=0 if lowered else re.IGNORECASE)


class Redacted(NamedTuple):
    """What `redact_counted` gives: the redacted texts and how many replacements were made."""

    texts: pd.Series
    n_replacements: int


class RedactedDocuments(NamedTuple):
    """What `redact_documents` gives: redacted copies of the tables and the replacements made in each."""

    documents: pd.DataFrame
    segments: pd.DataFrame | None
    n_replacements: dict[str, int]
    """``{"documents": n, "coded_segments": n}`` (``coded_segments`` only when segments were given)."""


def redact(
    texts: Iterable[str] | pd.Series,
    names: Iterable[str] = (),
    *,
    placeholder: str = NAME_PLACEHOLDER,
    emails: bool = True,
    phones: bool = True,
) -> pd.Series:
    """Replace names, e-mail addresses and Dutch phone numbers in quotes.

    Parameters
    ----------
    texts : iterable of str or Series
        Quotes (e.g. ``coded_segments["text"]``). Missing values stay missing.
    names : iterable of str
        Names to remove: from `participant_names` and/or `read_name_list`.
    placeholder : str
        Replacement for a name (default ``[NAAM]``).
    emails, phones : bool
        Also replace e-mail addresses (``[E-MAIL]``) and Dutch phone numbers
        (``[TELEFOON]``).

    Returns
    -------
    Series of str
        The redacted texts (NFC-normalised), same index as a Series input.
        `redact_counted` also says how many replacements were made.

    Notes
    -----
    One compiled regular expression handles everything, applied once per
    text (no loop over names; a text with neither an "@" nor a run of 9
    digits gets its name-only form, which finds the same there): e-mail addresses first (a name inside an
    address goes with the address), then phone numbers, then the names,
    compiled as a trie in which the longest listed name wins ("Ayşe Yılmaz"
    over "Ayşe").
    Names match:

    - as whole words (not inside another word: "Ali" does not touch "Alina");
    - case-insensitively, with Unicode case rules (AYŞE, ayşe; Turkish İ/ı);
      text and names are NFC-normalised first, so a decomposed "s + cedilla"
      still matches "ş";
    - with a possessive or inflection glued on: "Ayşe's", "Ayşes", Turkish
      "Ayşe'nin" / "Ayşe’ye" (apostrophe + suffix), which go with the name.

    Limits: misspellings, transliteration variants (Mohammed / Mohamed /
    Muhammed are different names unless all are listed), nicknames,
    initials, names of people who are not listed, and indirect identifiers
    ("the imam of the mosque on the corner") are not found. Read redacted
    quotes before publishing them.

    References
    ----------
    Kaiser, K. (2009). Protecting respondent confidentiality in qualitative
    research. *Qualitative Health Research*, 19(11), 1632-1641.

    Examples
    --------
    >>> redact(["Ayşe's zoon belde 06-12345678.", "AYŞE YILMAZ (ayse@example.nl) en Ayşe'nin moeder"],
    ...        ["Ayşe", "Ayşe Yılmaz"]).tolist()
    ['[NAAM] zoon belde [TELEFOON].', '[NAAM] ([E-MAIL]) en [NAAM] moeder']
    """
    return redact_counted(texts, names, placeholder=placeholder, emails=emails, phones=phones).texts


def redact_counted(
    texts: Iterable[str] | pd.Series,
    names: Iterable[str] = (),
    *,
    placeholder: str = NAME_PLACEHOLDER,
    emails: bool = True,
    phones: bool = True,
) -> Redacted:
    """`redact`, and the number of replacements beside the texts.

    Parameters and rules are those of `redact`.

    Returns
    -------
    Redacted
        ``texts``: what `redact` returns; ``n_replacements``: how many names,
        e-mail addresses and phone numbers were replaced in all texts.

    Examples
    --------
    >>> redact_counted(["Ayşe belde Ayşe", "niets"], ["Ayşe"]).n_replacements
    2
    """
    series = texts if isinstance(texts, pd.Series) else pd.Series(list(texts), dtype="str")
    redactor = _redactor_for(tuple(names), emails, phones)
    text = series.astype("str")
    if redactor.finds_nothing:
        return Redacted(text.map(normalise_name, na_action="ignore"), 0)
    normalised = text.map(normalise_name, na_action="ignore")

    def substitute(value: Any) -> tuple[Any, int]:  # one pass per text: the result and the number of replacements
        if not isinstance(value, str):
            return value, 0
        redacted, old, _ = redactor.substitute(value, placeholder)
        return redacted, len(old)

    # Each distinct text once (double-coded segments repeat their quote), then back to every row.
    codes, distinct = pd.factorize(normalised, use_na_sentinel=True)
    done = [substitute(value) for value in np.asarray(distinct, dtype=object)]
    redacted = np.array([value for value, _ in done] + [None], dtype=object)[codes]  # code -1 (missing) -> None
    counts = np.array([count for _, count in done] + [0], dtype=np.int64)[codes]
    out = pd.Series(redacted, index=normalised.index, name=normalised.name).astype(normalised.dtype)
    return Redacted(out, int(counts.sum()))


def redact_documents(
    documents: pd.DataFrame,
    segments: pd.DataFrame | None,
    names: Iterable[str] = (),
    *,
    placeholder: str = NAME_PLACEHOLDER,
    transcripts: tuple[list, list] | None = None,
) -> RedactedDocuments:
    """Redact interview transcripts and their coded segments, keeping the segments' offsets right.

    Parameters
    ----------
    documents : DataFrame
        ``document_id`` and ``text`` (the full transcript), as the
        ``documents`` table.
    segments : DataFrame or None
        ``document_id``, ``start``, ``end`` (character offsets into the
        document's text) and ``text`` (the quote), as ``coded_segments``.
    names : iterable of str
        Names to remove, as for `redact`.
    placeholder : str
        Replacement for a name (default ``[NAAM]``).
    transcripts : (list, list), optional
        ``redact_transcripts(documents["text"].tolist(), names, placeholder=placeholder)``
        when it has already been computed (e.g. in another process, as
        `ponzoni_eval.data.preparation.prepare` does for large data).

    Returns
    -------
    RedactedDocuments
        ``(documents, segments, n_replacements)``: copies of the documents
        with redacted ``text`` and of the segments (None when None was
        given) with redacted ``text`` and ``start``/``end`` moved so that
        they count characters in the redacted transcript; and what was
        replaced in each, ``{"documents": n, "coded_segments": n}``.

    Notes
    -----
    The same expression as `redact` (names, e-mail addresses, Dutch phone
    numbers) replaces each match in a transcript by its placeholder, which
    is usually shorter or longer than the match. An offset after a match
    moves by the difference; an offset inside a match moves to the edge of
    its placeholder that keeps the placeholder in the segment (a start to its
    beginning, an end to its end). So ``redacted_text[start:end]`` is the
    redacted quote whenever the quote does not begin or end inside a name.
    A transcript is matched as it is stored when Unicode normalisation (NFC)
    would change its length (decomposed accents), so that offsets keep their
    meaning; names written there in decomposed form are then not found.
    Limits as for `redact`.

    References
    ----------
    See `redact`.

    Examples
    --------
    >>> documents = pd.DataFrame({"document_id": ["d1"], "text": ["R: Ayşe zei: het vertrouwen groeit."]})
    >>> segments = pd.DataFrame({"document_id": ["d1"], "start": [13], "end": [35], "text": ["het vertrouwen groeit."]})
    >>> texts, quotes, counts = redact_documents(documents, segments, ["Ayşe"])
    >>> texts.loc[0, "text"], int(quotes.loc[0, "start"]), int(quotes.loc[0, "end"])
    ('R: [NAAM] zei: het vertrouwen groeit.', 15, 37)
    """
    names = list(names)
    documents = documents.copy()
    segments = None if segments is None else segments.copy()
    counts = {"documents": 0, **({} if segments is None else {"coded_segments": 0})}
    if _redactor_for(tuple(names)).finds_nothing:
        return RedactedDocuments(documents, segments, counts)
    if transcripts is None:
        transcripts = redact_transcripts(documents["text"].tolist(), names, placeholder=placeholder)
    redacted, found = transcripts
    if len(redacted) != len(documents):
        raise ValueError(f"transcripts: {len(redacted)} redacted texts for {len(documents)} documents")
    spans = {document_id: pair for document_id, pair in zip(documents["document_id"], found) if pair is not None}
    documents["text"] = pd.Series(redacted, index=documents.index, dtype=documents["text"].dtype)
    counts["documents"] = int(sum(len(old) for old, _ in spans.values()))
    if segments is None:
        return RedactedDocuments(documents, None, counts)
    start = segments["start"].to_numpy(dtype="int64", na_value=-1).copy()
    end = segments["end"].to_numpy(dtype="int64", na_value=-1).copy()
    rows_of = pd.Series(np.arange(len(segments))).groupby(segments["document_id"].astype("str").to_numpy()).indices
    for document_id, (old, new) in spans.items():  # only transcripts with a replacement
        rows = rows_of.get(str(document_id))
        if rows is not None:
            start[rows] = _moved_offsets(start[rows], old, new, edge=0)
            end[rows] = _moved_offsets(end[rows], old, new, edge=1)
    for column, values in (("start", start), ("end", end)):
        moved = pd.Series(values, index=segments.index).where(segments[column].notna())
        segments[column] = moved.astype(segments[column].dtype)
    quotes, counts["coded_segments"] = redact_counted(segments["text"], names, placeholder=placeholder)
    segments["text"] = quotes.astype(segments["text"].dtype)
    return RedactedDocuments(documents, segments, counts)


def redact_transcripts(
    texts: Sequence[Any], names: Iterable[str], *, placeholder: str = NAME_PLACEHOLDER
) -> tuple[list[Any], list[tuple[np.ndarray, np.ndarray] | None]]:
    """The text step of `redact_documents`: each transcript redacted, and where it changed.

    Parameters
    ----------
    texts : sequence
        Transcripts (str; anything else is passed through).
    names : iterable of str
        Names to remove, as for `redact`.
    placeholder : str
        Replacement for a name.

    Returns
    -------
    (list, list)
        The redacted texts (NFC-normalised unless that would change a
        text's length), and per text None (nothing replaced) or the arrays
        ``(old, new)`` of the matches' ``[start, end)`` spans in the text and
        of their placeholders' spans in the redacted text.

    Notes
    -----
    Plain lists and arrays in and out, so that the work can be sent to
    another process (`ponzoni_eval.data.preparation` does so for large data).

    Examples
    --------
    >>> texts, spans = redact_transcripts(["Ayşe zei ja.", None], ["Ayşe"])
    >>> texts, spans[0][0].tolist(), spans[0][1].tolist(), spans[1]
    (['[NAAM] zei ja.', None], [[0, 4]], [[0, 6]], None)
    """
    redactor = _redactor_for(tuple(names))
    redacted: list[Any] = []
    found: list[tuple[np.ndarray, np.ndarray] | None] = []
    for text in texts:  # one pass of the regex per transcript
        if not isinstance(text, str):
            redacted.append(text)
            found.append(None)
            continue
        normalised = normalise_name(text)
        source = normalised if len(normalised) == len(text) else text
        done, old, new = redactor.substitute(source, placeholder)
        redacted.append(done)
        found.append((np.array(old), np.array(new)) if old else None)
    return redacted, found


def _moved_offsets(positions: np.ndarray, old: np.ndarray, new: np.ndarray, *, edge: int) -> np.ndarray:
    """Offsets into a text -> offsets into its redacted form (`old`/`new`: match spans before/after, sorted).

    An offset at or after the end of match i moves by that match's cumulative
    shift; one strictly inside a match moves to the placeholder's start
    (``edge=0``, for segment starts) or end (``edge=1``, for segment ends).
    """
    shift_after = np.concatenate([[0], new[:, 1] - old[:, 1]])
    moved = positions + shift_after[np.searchsorted(old[:, 1], positions, side="right")]
    containing = np.maximum(np.searchsorted(old[:, 0], positions, side="right") - 1, 0)
    inside = (positions > old[containing, 0]) & (positions < old[containing, 1])
    return np.where(inside, new[containing, edge], moved)
