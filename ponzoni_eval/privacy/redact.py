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
import hashlib
import hmac
import re
import unicodedata
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np
import pandas as pd

from .errors import DataError, Problem

__all__ = [
    "looks_like_name_or_email",
    "check_pseudonyms",
    "read_name_list",
    "participant_names",
    "name_variants",
    "redact",
    "redact_documents",
    "suppress_small_cells",
    "format_suppressed",
    "mark_counts",
    "marked_counts",
    "pseudonymise",
    "NAME_PLACEHOLDER",
    "DEFAULT_MIN_CELL",
    "EMAIL_PLACEHOLDER",
    "PHONE_PLACEHOLDER",
]

DEFAULT_MIN_CELL = 5
"""Published counts of people from 1 to DEFAULT_MIN_CELL - 1 are suppressed (`suppress_small_cells`)."""

NAME_PLACEHOLDER = "[NAAM]"
EMAIL_PLACEHOLDER = "[E-MAIL]"
PHONE_PLACEHOLDER = "[TELEFOON]"

# --- recognising names and e-mail addresses -------------------------------------

_EMAIL = r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}"
# Dutch numbers: 10 digits starting with 0 (06-12345678, 020 123 4567), or
# +31 / 0031 followed by 9 digits, optionally with "(0)"; spaces and dashes allowed.
_DUTCH_PHONE = r"(?:(?:\+|00)31[\s-]?(?:\(0\)[\s-]?)?|\b0)[1-9](?:[\s-]?\d){8}(?!\d)"

# Lower-case particles inside Dutch, Arabic and other names: "Jan de Vries",
# "Fatima el Amrani", "Ahmed bin Said".
_PARTICLES = r"(?:van|von|de|der|den|het|ten|ter|te|op|in|'t|el|al|bin|ben|ibn|bint|da|di|du|la|le)"
_CAPITALISED = r"[^\W\d_][^\W\d_'’-]*(?:[-'’][^\W\d_]+)*"
_PERSON_NAME = re.compile(
    rf"^\s*(?=[^\W\d_])(?:{_CAPITALISED})(?:\s+(?:{_PARTICLES}\s+)*{_CAPITALISED})+\s*$"
)

# Common first names in the study's communities (Dutch, Turkish, Moroccan /
# Arabic) and frequent international ones. A single word that is one of these
# is flagged; the list is deliberately short and will miss names.
COMMON_FIRST_NAMES = frozenset(
    name.casefold()
    for name in """
    Jan Piet Kees Henk Gerrit Willem Johan Peter Pieter Hans Kim Sanne Anne Anna Emma Lisa Eva Sophie
    Maria Marieke Linda Ingrid Els Petra Karin Monique Esther Sandra Tom Daan Sem Lucas Bram Thijs Ruben
    Mark Martijn Bas Joost Dirk Ahmet Mehmet Mustafa Ali Hüseyin Hasan Ibrahim İbrahim Murat Emre Yusuf
    Ömer Osman Kemal Ayşe Fatma Emine Hatice Zeynep Elif Gülşen Özlem Esra Merve Hülya Sevgi Aylin Büşra
    Mohammed Mohamed Muhammed Mohammad Ahmed Ahmad Abdel Abdelkader Abdellah Youssef Yousef Hamid Rachid
    Said Mustapha Khalid Hassan Hussein Karim Nordin Bilal Anouar Fatima Khadija Aicha Aisha Naima Latifa
    Malika Samira Nadia Saida Hanane Karima Zahra Meryem Mariam Yasmina Soumaya Salma Noura Amina Nora
    John James David Michael Sarah Laura
    """.split()
)


def _normalise(value: str) -> str:
    return unicodedata.normalize("NFC", value)


def looks_like_name_or_email(values: Iterable) -> pd.Series:
    """Flag identifiers that look like a person's name or an e-mail address.

    Parameters
    ----------
    values : iterable or Series
        Identifier values (e.g. a ``participant_id`` column).

    Returns
    -------
    Series of bool
        True where the value looks like a name or e-mail address; missing
        values are False. Keeps the index of a Series input.

    Notes
    -----
    The heuristic, in order:

    - an e-mail address (``local@domain.tld``) anywhere in the value;
    - two or more words separated by white space, each starting with a
      capital letter, optionally with lower-case name particles between
      them ("Ayşe Yılmaz", "Jan de Vries", "Fatima el Amrani");
    - a single word that is a common first name in the study's communities
      (a short Dutch / Turkish / Moroccan-Arabic list, `COMMON_FIRST_NAMES`),
      compared case-insensitively after Unicode NFC normalisation.

    Limits: a name written in lower case or as one word ("ayseyilmaz"), an
    uncommon first name on its own, initials ("A.Y.") and nicknames are not
    flagged; a capitalised two-word code ("Group Leader") is. The check
    warns, it does not block: only a person knows whether "Kim" is a name.

    References
    ----------
    Dutch Data Protection Authority (Autoriteit Persoonsgegevens),
    pseudonymisation guidance; GDPR art. 4(5) (definition of pseudonymisation).

    Examples
    --------
    >>> looks_like_name_or_email(["P01", "Ayşe Yılmaz", "jan@example.nl", "Fatima", "slotervaart_p02"]).tolist()
    [False, True, True, True, False]
    """
    series = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype="object")
    # Each distinct value is judged once: id columns repeat a few values over many rows (a coder
    # column of 480 000 coded segments holds two), and the string work is per value.
    codes, distinct = pd.factorize(series, use_na_sentinel=True)
    flagged_distinct = _looks_like_name_or_email_distinct(pd.Series(distinct, dtype="object"))
    flagged = np.append(flagged_distinct, False)[codes]  # code -1 (missing) -> the appended False
    return pd.Series(flagged, index=series.index, name=series.name)


def _looks_like_name_or_email_distinct(values: pd.Series) -> np.ndarray:
    text = values.astype("string").fillna("").map(_normalise).reset_index(drop=True)  # positions: duplicate labels are fine
    email = text.str.contains(_EMAIL, regex=True)
    # Shape first (letters-only words, particles allowed), then capitals: Python's
    # `re` has no "upper-case letter" class, so capitals are checked per word.
    words = text.str.split().explode()
    capitalised = words.str[0].str.isupper() | words.str.fullmatch(_PARTICLES, case=False)
    every_word_capitalised = capitalised.fillna(False).groupby(level=0).all().reindex(text.index, fill_value=False)
    full_name = text.str.match(_PERSON_NAME) & every_word_capitalised
    first_name = text.str.strip().str.casefold().isin(COMMON_FIRST_NAMES)
    return (email | full_name | first_name).astype(bool).to_numpy()


def check_pseudonyms(frame: pd.DataFrame, columns: Sequence[str], *, file: str | None = None) -> list[Problem]:
    """Warn about identifier values that look like names or e-mail addresses.

    Parameters
    ----------
    frame : DataFrame
        A table with identifier columns (participants, coded_segments, ...).
    columns : sequence of str
        Columns that should hold pseudonyms (``participant_id``, ``coder``).
    file : str, optional
        File or table name for the messages.

    Returns
    -------
    list of Problem
        One warning (``severity="warning"``, ``rule="pseudonym"``) per
        suspicious value and column, at its first spreadsheet row (header =
        row 1), with the number of rows affected.

    Notes
    -----
    Uses `looks_like_name_or_email`; see its limits. Warnings, not errors:
    the data are not rejected, the owner is asked to look.

    References
    ----------
    See `looks_like_name_or_email`.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"participant_id": ["P01", "Ayşe Yılmaz"]})
    >>> [str(p) for p in check_pseudonyms(frame, ["participant_id"], file="participants.csv")]
    ["warning: participants.csv, row 3, column 'participant_id': looks like a person's name or e-mail address, not a pseudonym; replace it (e.g. with ponzoni_eval.privacy.pseudonymise) (found 'Ayşe Yılmaz') [pseudonym]"]
    """
    problems = []
    for column in columns:
        if column not in frame.columns:
            raise DataError(f"column '{column}' is not in the table", file=file, column=column, rule="required_columns")
        flagged = looks_like_name_or_email(frame[column].reset_index(drop=True))
        hits = frame[column].reset_index(drop=True)[flagged]
        first_rows = hits.reset_index().groupby(column, sort=False)["index"].agg(["min", "size"])
        for value, (first, count) in first_rows.iterrows():  # one message per distinct value
            more = f" ({count} rows)" if count > 1 else ""
            problems.append(
                Problem(
                    severity="warning",
                    file=file,
                    row=int(first) + 2,
                    column=column,
                    value=str(value),
                    rule="pseudonym",
                    message="looks like a person's name or e-mail address, not a pseudonym" + more
                    + "; replace it (e.g. with ponzoni_eval.privacy.pseudonymise)",
                )
            )
    return problems


# --- redaction ----------------------------------------------------------------


def read_name_list(path: str | Path) -> list[str]:
    """Names to redact from a text file: one name per line; blank lines and ``#`` comments skipped.

    Parameters
    ----------
    path : str or Path
        UTF-8 text file (a BOM is accepted).

    Returns
    -------
    list of str

    Notes
    -----
    The file is itself a list of real names: keep it with the raw data
    (``redaction_names.txt`` in the raw folder is read by
    `ponzoni_eval.prepare.prepare`) and never publish or share it.

    References
    ----------
    See `redact`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "names.txt"
    >>> _ = path.write_text("# staff\\nAyşe Yılmaz\\n\\nMohammed\\n", encoding="utf-8")
    >>> read_name_list(path)
    ['Ayşe Yılmaz', 'Mohammed']
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("name list not found", file=str(path), expected="a text file with one name per line", rule="file_exists")
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as exc:
        raise DataError(f"the name list is not UTF-8 text (byte {exc.start})", file=str(path),
                        expected="a text file saved as UTF-8", rule="encoding") from None
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def participant_names(participants: pd.DataFrame) -> list[str]:
    """Names from the optional ``name`` column of participants (``;`` separates several per person).

    Parameters
    ----------
    participants : DataFrame
        The raw ``participants`` table.

    Returns
    -------
    list of str
        Every name (empty when the column is absent).

    Notes
    -----
    Also adds each part of a multi-word name of three or more letters, so
    "Ayşe Yılmaz" also redacts a lone "Ayşe" or "Yılmaz" (interviewees use
    first names); particles such as "de" or "van" are not added.

    References
    ----------
    See `redact`.

    Examples
    --------
    >>> import pandas as pd
    >>> participant_names(pd.DataFrame({"participant_id": ["p1"], "name": ["Jan de Vries; Jantje"]}))
    ['Jan de Vries', 'Jantje', 'Jan', 'Vries']
    """
    if "name" not in participants.columns:
        return []
    return list(dict.fromkeys(name_variants(participants["name"]).tolist()))


def name_variants(names: pd.Series) -> pd.Series:
    """Every name in a column of names (``;`` separates several), and each part of a multi-word name.

    Parameters
    ----------
    names : Series of str
        One cell per person, e.g. ``participants["name"]``; missing allowed.

    Returns
    -------
    Series of str
        The names, then their parts of three or more letters that are not
        particles ("de", "van", "el"), each under the index of its cell, once
        per cell, in that order.

    Notes
    -----
    Interviewees call each other by first name, so "Ayşe Yılmaz" must also
    redact a lone "Ayşe" and "Yılmaz" (see `participant_names`).

    References
    ----------
    See `redact`.

    Examples
    --------
    >>> name_variants(pd.Series(["Jan de Vries; Jantje", None])).tolist()
    ['Jan de Vries', 'Jantje', 'Jan', 'Vries']
    """
    full = names.dropna().astype(str).str.split(";").explode().str.strip()
    full = full[full != ""]
    parts = full.str.split().explode()
    parts = parts[(parts.str.len() >= 3) & ~parts.str.fullmatch(_PARTICLES, case=False)]
    both = pd.concat([full, parts])
    keep = ~pd.DataFrame({"cell": both.index, "name": both.to_numpy()}).duplicated().to_numpy()
    return both[keep].astype("str")


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
    cleaned = sorted({_normalise(str(n)).strip() for n in names if n is not None and not pd.isna(n)})
    trie: dict = {}
    for name in (n for n in cleaned if len(n) >= 2):
        node = trie
        for atom in re.findall(r"\s+|.", name):
            # Branch on the case-folded atom so "AYŞE" and "Ayşe Yılmaz" share a
            # path (the pattern is compiled with IGNORECASE anyway).
            key = r"\s+" if atom.isspace() else _fold(atom)
            if atom.isspace():
                shown = r"\s+"
            elif lowered:
                shown = _CASE_CLASS.get(key, re.escape(key))
            else:
                shown = re.escape(atom)
            pattern, node = node.setdefault(key, (shown, {}))
        node[""] = ("", {})  # a listed name ends here
    return _trie_regex(trie)


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


def _case_classes() -> tuple[dict[str, str], dict[str, str]]:
    """Lower-case letters that ``re.IGNORECASE`` matches to each other although they differ (``i``/``ı``, ``s``/``ſ``, ``σ``/``ς``).

    Returns ``{letter: canonical letter}`` and ``{canonical letter: regex class of all}``.
    """
    from re import _casefix  # the table the re module itself uses (CPython 3.11+)

    canonical, members = {}, {}
    for code, others in _casefix._EXTRA_CASES.items():
        group = sorted({code, *others})
        first = chr(group[0])
        for member in group:
            canonical[chr(member)] = first
        members.setdefault(first, set()).update(chr(m) for m in group)
    classes = {first: "[" + "".join(re.escape(m) for m in sorted(group)) + "]" for first, group in members.items()}
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

    def substitute(self, text: str, placeholder: str) -> tuple[str, list[tuple[int, int]], list[tuple[int, int]]]:
        """`text` with every match replaced; the matches' spans in `text` and their placeholders' spans in the result."""
        replacement = {"email": EMAIL_PLACEHOLDER, "phone": PHONE_PLACEHOLDER, "name": placeholder}
        pieces, old, new, position, shift = [], [], [], 0, 0
        for match in self.matches(text):
            start, end = match.span()
            text_for = replacement[match.lastgroup]
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
        parts.append(f"(?P<email>{_EMAIL})")
    if phones:
        parts.append(f"(?P<phone>{_DUTCH_PHONE})")
    if name_pattern:
        # A glued possessive / inflection: 's, ’s, a bare s, or apostrophe + Turkish suffix.
        s = _CASE_CLASS.get("s", "s") if lowered else "s"
        parts.append(rf"(?P<name>(?<!\w)(?:{name_pattern})(?:['’]\w*|{s})?(?!\w))")
    if not parts:
        return None
    return re.compile("|".join(parts), flags=0 if lowered else re.IGNORECASE)


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
        ``attrs["n_replacements"]`` counts the replacements.

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
    series = texts if isinstance(texts, pd.Series) else pd.Series(list(texts), dtype="str")
    redactor = _redactor_for(tuple(names), emails, phones)
    text = series.astype("str")
    if redactor.finds_nothing:
        out = text.map(_normalise, na_action="ignore")
        out.attrs["n_replacements"] = 0
        return out
    normalised = text.map(_normalise, na_action="ignore")

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
    out.attrs["n_replacements"] = int(counts.sum())
    return out


def redact_documents(
    documents: pd.DataFrame,
    segments: pd.DataFrame | None,
    names: Iterable[str] = (),
    *,
    placeholder: str = NAME_PLACEHOLDER,
    transcripts: tuple[list, list] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
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
        `ponzoni_eval.prepare.prepare` does for large data).

    Returns
    -------
    (DataFrame, DataFrame or None)
        Copies: the documents with redacted ``text``; the segments with
        redacted ``text`` and ``start``/``end`` moved so that they count
        characters in the redacted transcript. ``attrs["n_replacements"]``
        of each counts what was replaced in it.

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
    >>> texts, quotes = redact_documents(documents, segments, ["Ayşe"])
    >>> texts.loc[0, "text"], int(quotes.loc[0, "start"]), int(quotes.loc[0, "end"])
    ('R: [NAAM] zei: het vertrouwen groeit.', 15, 37)
    """
    names = list(names)
    documents = documents.copy()
    segments = None if segments is None else segments.copy()
    documents.attrs["n_replacements"] = 0
    if segments is not None:
        segments.attrs["n_replacements"] = 0
    if _redactor_for(tuple(names)).finds_nothing:
        return documents, segments
    if transcripts is None:
        transcripts = redact_transcripts(documents["text"].tolist(), names, placeholder=placeholder)
    redacted, found = transcripts
    if len(redacted) != len(documents):
        raise ValueError(f"transcripts: {len(redacted)} redacted texts for {len(documents)} documents")
    spans = {document_id: pair for document_id, pair in zip(documents["document_id"], found) if pair is not None}
    documents["text"] = pd.Series(redacted, index=documents.index, dtype=documents["text"].dtype)
    documents.attrs["n_replacements"] = int(sum(len(old) for old, _ in spans.values()))
    if segments is None:
        return documents, None
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
    quotes = redact(segments["text"], names, placeholder=placeholder)
    segments["text"] = quotes.astype(segments["text"].dtype)
    segments.attrs["n_replacements"] = quotes.attrs["n_replacements"]
    return documents, segments


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
    another process (`ponzoni_eval.prepare` does so for large data).

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
        normalised = _normalise(text)
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


# --- small-cell suppression ---------------------------------------------------


def suppress_small_cells(
    table: pd.DataFrame,
    *,
    count_columns: Sequence[str],
    threshold: int = DEFAULT_MIN_CELL,
    derived: dict[str, str] | None = None,
    margins: str | None = None,
    marker: str | None = None,
    secondary_marker: str = "x",
) -> pd.DataFrame:
    """Disclosure control for published count tables: blank counts below a threshold.

    Parameters
    ----------
    table : DataFrame
        A count table (e.g. `ponzoni_eval.quantitize.prevalence` output or a
        crosstab with one column per category).
    count_columns : sequence of str
        Columns holding counts of people.
    threshold : int
        Counts ``1 <= n < threshold`` are suppressed (default 5).
    derived : dict, optional
        ``{derived_column: count_column}``: values computed from a count
        (a percentage) are blanked with it, e.g. ``{"percent": "n_with_code"}``.
    margins : {None, "rows", "columns", "both"}
        Which published totals the counts add up to. ``"rows"``: the
        ``count_columns`` of a row sum to a row total published elsewhere;
        ``"columns"``: each count column sums to a published column total.
        Then a lone suppressed cell in a row / column could be recovered by
        subtraction, so a complementary cell is suppressed too (secondary
        suppression). None (default) for tables without such totals, e.g.
        prevalence tables where ``n_with_code`` and ``n_at_risk`` are not
        parts of one total.
    marker : str, optional
        Display text of a primary-suppressed count (default ``"<threshold"``,
        e.g. ``"<5"``).
    secondary_marker : str
        Display text of secondary-suppressed and derived cells (default
        ``"x"``, as Statistics Netherlands marks confidential cells): showing
        "<5" there would be false.

    Returns
    -------
    DataFrame
        A copy: suppressed count cells are missing (``Int64``), suppressed
        derived cells are NaN, and every count and derived column ``c`` gets
        a companion ``c_flag`` column with the display text ("" when shown).
        ``attrs["suppression"]`` records threshold and numbers suppressed.
        `format_suppressed` turns the frame into display text ("<5", "x")
        for CSV and HTML.

    Notes
    -----
    - Zero is not suppressed: "nobody in this group" is usually the finding
      (nobody mentioned the theme), and a zero does not single out a person.
      Where a zero itself discloses (everyone in a group *has* an attribute),
      disclose less: merge groups.
    - Secondary suppression (``margins``) repeats until stable: in every row
      (column) with exactly one suppressed cell, the smallest positive
      unsuppressed cell is suppressed too (a zero when none is positive).
    - Limits: this is the simple heuristic, not an optimal cell-suppression
      solution (tau-ARGUS solves that); it protects one table against its own
      margins, not against differencing across several published tables or
      against knowledge of who took part. With three small cases, prefer
      fewer, coarser tables.

    References
    ----------
    Hundepool, A., et al. (2012). *Statistical Disclosure Control*. Wiley,
    ch. 5 (frequency tables, primary and secondary suppression).

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"case_id": ["a", "b"], "n_with_code": [3, 12], "n_at_risk": [8, 20],
    ...                       "percent": [37.5, 60.0]})
    >>> out = suppress_small_cells(table, count_columns=["n_with_code"], derived={"percent": "n_with_code"})
    >>> print(format_suppressed(out).to_string(index=False))
    case_id n_with_code  n_at_risk percent
          a          <5          8       x
          b          12         20    60.0
    """
    if threshold < 1:
        raise ValueError(f"threshold must be at least 1, not {threshold}")
    if margins not in (None, "rows", "columns", "both"):
        raise ValueError(f"margins must be None, 'rows', 'columns' or 'both', not {margins!r}")
    derived = dict(derived or {})
    columns = list(count_columns)
    missing = [c for c in [*columns, *derived, *derived.values()] if c not in table.columns]
    if missing:
        raise DataError(f"column(s) {', '.join(missing)} not in the table", expected="existing columns", rule="required_columns")
    unknown_sources = sorted(set(derived.values()) - set(columns))
    if unknown_sources:
        raise ValueError(f"derived columns must come from count_columns; not counted: {unknown_sources}")

    counts = table[columns].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isnan(counts) & ((counts < 0) | (counts != np.round(counts)))
    if bad.any():
        row, col = map(int, np.argwhere(bad)[0])
        raise DataError(
            "counts must be whole numbers of at least 0",
            row=row + 2,
            column=columns[col],
            expected="0, 1, 2, ...",
            found=counts[row, col],
            rule="count",
        )
    primary = (counts >= 1) & (counts < threshold)
    secondary = _secondary_suppression(counts, primary, margins)

    out = table.copy()
    marker = f"<{threshold}" if marker is None else marker
    for position, column in enumerate(columns):
        hidden = primary[:, position] | secondary[:, position]
        out[column] = pd.array(np.where(hidden, np.nan, counts[:, position]), dtype="Float64").astype("Int64")
        out[f"{column}_flag"] = np.where(primary[:, position], marker, np.where(secondary[:, position], secondary_marker, ""))
    for column, source in derived.items():
        position = columns.index(source)
        hidden = primary[:, position] | secondary[:, position]
        out[column] = out[column].astype("float64").mask(hidden)
        out[f"{column}_flag"] = np.where(hidden, secondary_marker, "")
    out.attrs["suppression"] = dict(
        threshold=threshold,
        n_primary=int(primary.sum()),
        n_secondary=int(secondary.sum()),
        note=f"counts 1-{threshold - 1} suppressed ({marker}); complementary and derived cells {secondary_marker}",
    )
    return out


COUNTS_ATTR = "ponzoni_eval.counts_of_people"


def mark_counts(
    frame: pd.DataFrame,
    count_columns: Sequence[str],
    *,
    derived: dict[str, str] | None = None,
    margins: str | None = None,
) -> pd.DataFrame:
    """Mark which columns of a table count people, so that publishing it suppresses them by default.

    Parameters
    ----------
    frame : DataFrame
        A table made by a package function (prevalence, a crosstab).
    count_columns, derived, margins
        As for `suppress_small_cells`.

    Returns
    -------
    DataFrame
        `frame` itself, with ``attrs["ponzoni_eval.counts_of_people"]`` set.

    Notes
    -----
    `ponzoni_eval.report.save_table` reads the mark and suppresses small
    counts in a marked table unless told ``publish=False``; see
    `marked_counts`. pandas keeps ``attrs`` through filtering, column
    selection, ``reset_index`` and copies; a table built anew (a merge of
    two tables, a new DataFrame) loses the mark, so pass ``publish=True`` and
    ``count_columns`` to `save_table` there.

    References
    ----------
    See `suppress_small_cells`.

    Examples
    --------
    >>> table = mark_counts(pd.DataFrame({"code": ["trust"], "n_with_code": [3]}), ["n_with_code"])
    >>> marked_counts(table)
    {'count_columns': ['n_with_code'], 'derived': {}, 'margins': None}
    """
    frame.attrs[COUNTS_ATTR] = {"count_columns": list(count_columns), "derived": dict(derived or {}), "margins": margins}
    return frame


def marked_counts(frame: pd.DataFrame) -> dict | None:
    """The `mark_counts` mark of a table, limited to columns it still has; None when unmarked or none is left."""
    mark = frame.attrs.get(COUNTS_ATTR)
    if not mark:
        return None
    columns = [c for c in mark["count_columns"] if c in frame.columns]
    if not columns:
        return None
    derived = {d: c for d, c in mark.get("derived", {}).items() if d in frame.columns and c in columns}
    return {"count_columns": columns, "derived": derived, "margins": mark.get("margins")}


def _secondary_suppression(counts: np.ndarray, primary: np.ndarray, margins: str | None) -> np.ndarray:
    """Cells to suppress so that no suppressed cell is the only one in a row/column with a total."""
    secondary = np.zeros_like(primary)
    if margins is None:
        return secondary
    axes = {"rows": [1], "columns": [0], "both": [1, 0]}[margins]
    # Candidates: smallest positive cell first, zeros last, missing never.
    cost = np.where(np.isnan(counts), np.inf, np.where(counts > 0, counts, np.nanmax(counts, initial=0) + 1))
    for _ in range(counts.size):  # each pass suppresses at least one cell or stops
        changed = False
        for axis in axes:
            hidden = primary | secondary
            lone = hidden.sum(axis=axis) == 1
            available = np.where(hidden, np.inf, cost)
            pick = np.argmin(available, axis=axis)
            best = np.take_along_axis(available, np.expand_dims(pick, axis), axis=axis).squeeze(axis)
            fix = lone & np.isfinite(best)
            if fix.any():
                lines = np.flatnonzero(fix)
                if axis == 1:
                    secondary[lines, pick[lines]] = True
                else:
                    secondary[pick[lines], lines] = True
                changed = True
        if not changed:
            break
    return secondary & ~primary


def format_suppressed(frame: pd.DataFrame) -> pd.DataFrame:
    """Display version of a `suppress_small_cells` result: markers in place of blanks.

    Parameters
    ----------
    frame : DataFrame
        Output of `suppress_small_cells`.

    Returns
    -------
    DataFrame
        Flagged columns as text: the count or value where shown, the marker
        ("<5", "x") where suppressed; the ``*_flag`` columns removed. Write this
        to CSV/HTML for publication; keep the numeric frame for computation.

    Notes
    -----
    Floats are shown with up to one decimal (percentages).

    References
    ----------
    See `suppress_small_cells`.

    Examples
    --------
    >>> import pandas as pd
    >>> out = suppress_small_cells(pd.DataFrame({"n": [2, 7]}), count_columns=["n"])
    >>> format_suppressed(out)["n"].tolist()
    ['<5', '7']
    """
    out = frame.copy()
    flag_columns = [c for c in frame.columns if c.endswith("_flag") and c[: -len("_flag")] in frame.columns]
    for flag in flag_columns:
        column = flag[: -len("_flag")]
        values = out[column]
        if pd.api.types.is_float_dtype(values):
            shown = values.map(lambda v: "" if pd.isna(v) else f"{v:.1f}")
        else:
            shown = values.astype("string").fillna("")
        out[column] = shown.where(out[flag] == "", out[flag]).astype("str")
    return out.drop(columns=flag_columns)


# --- pseudonyms ---------------------------------------------------------------


def pseudonymise(values: Iterable | pd.Series, *, salt: str | bytes, prefix: str = "", length: int = 10) -> pd.Series:
    """Stable keyed pseudonyms (HMAC-SHA256) for identifiers that are not yet pseudonyms.

    Parameters
    ----------
    values : iterable or Series
        Original identifiers (names, e-mail addresses, staff numbers).
    salt : str or bytes
        The secret key. The same key gives the same pseudonym for the same
        value in every run and table, so tables stay linkable; keep the key
        out of the repository and the data folder (who holds the key can test
        guesses of names).
    prefix : str
        Text put before the hash, e.g. ``"P-"``.
    length : int
        Hex characters kept from the digest (8-64; default 10 = 40 bits).

    Returns
    -------
    Series of str
        Pseudonyms (``prefix`` + hex digits, valid identifiers in the sense
        of `ponzoni_eval.schema.ID_PATTERN`); missing values stay missing.

    Notes
    -----
    ``HMAC-SHA256(key=salt, message=NFC(value.strip()))``, hex, truncated.
    Unlike a plain hash, the keyed hash cannot be reversed by hashing a list
    of likely names without the key. Values are normalised (NFC, surrounding
    white space removed) so "Ayşe" typed twice with different Unicode forms
    gets one pseudonym; case is kept ("ayse" and "Ayse" differ). A truncated
    digest can collide: the function raises `DataError` when two different
    values get the same pseudonym (then use a larger ``length``).

    References
    ----------
    Krawczyk, H., Bellare, M., & Canetti, R. (1997). HMAC: Keyed-hashing for
    message authentication. RFC 2104. ENISA (2019), *Pseudonymisation
    techniques and best practices*.

    Examples
    --------
    >>> pseudonymise(["Ayşe Yılmaz", "Jan de Vries", "Ayşe Yılmaz"], salt="not-the-real-key", prefix="P-").tolist()
    ['P-82d6e96059', 'P-8b6cb4d495', 'P-82d6e96059']
    """
    if not salt:
        raise ValueError("salt must be a non-empty secret (str or bytes)")
    if not 8 <= length <= 64:
        raise ValueError(f"length must be between 8 and 64 hex characters, not {length}")
    key = salt.encode("utf-8") if isinstance(salt, str) else bytes(salt)
    series = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype="object")
    present = series.dropna().astype(str).map(lambda v: _normalise(v.strip()))
    unique = pd.unique(present)
    digests = {
        value: prefix + hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:length] for value in unique
    }  # one HMAC per distinct value; crypto has no vectorised form
    if len(set(digests.values())) < len(digests):
        raise DataError(
            f"two different identifiers got the same {length}-character pseudonym",
            expected="unique pseudonyms",
            found=f"length={length}",
            rule="pseudonym_collision",
        )
    return present.map(digests).reindex(series.index).astype("str").rename(series.name)
