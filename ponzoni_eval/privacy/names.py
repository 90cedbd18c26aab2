"""Pseudonyms and names: ids that look like names or e-mail addresses, the names to redact, keyed pseudonyms."""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from ponzoni_eval._core.errors import DataError, Problem

__all__ = [
    "looks_like_name_or_email",
    "check_pseudonyms",
    "read_name_list",
    "participant_names",
    "name_variants",
    "pseudonymise",
]


# --- recognising names and e-mail addresses -------------------------------------

EMAIL_PATTERN = r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}"

# Lower-case particles inside Dutch, Arabic and other names: "Jan de Vries",
# "Fatima el Amrani", "Ahmed bin Said".
NAME_PARTICLES = r"(?:van|von|de|der|den|het|ten|ter|te|op|in|'t|el|al|bin|ben|ibn|bint|da|di|du|la|le)"
CAPITALISED_WORD = r"[^\W\d_][^\W\d_'’-]*(?:[-'’][^\W\d_]+)*"
PERSON_NAME_PATTERN = re.compile(
    rf"^\s*(?=[^\W\d_])(?:{CAPITALISED_WORD})(?:\s+(?:{NAME_PARTICLES}\s+)*{CAPITALISED_WORD})+\s*$"
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


def normalise_name(value: str) -> str:
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
    text = values.astype("string").fillna("").map(normalise_name).reset_index(drop=True)  # positions: duplicate labels are fine
    email = text.str.contains(EMAIL_PATTERN, regex=True)
    # Shape first (letters-only words, particles allowed), then capitals: Python's
    # `re` has no "upper-case letter" class, so capitals are checked per word.
    words = text.str.split().explode()
    capitalised = words.str[0].str.isupper() | words.str.fullmatch(NAME_PARTICLES, case=False)
    every_word_capitalised = capitalised.fillna(False).groupby(level=0).all().reindex(text.index, fill_value=False)
    full_name = text.str.match(PERSON_NAME_PATTERN) & every_word_capitalised
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
    `ponzoni_eval.data.preparation.prepare`) and never publish or share it.

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
    parts = parts[(parts.str.len() >= 3) & ~parts.str.fullmatch(NAME_PARTICLES, case=False)]
    both = pd.concat([full, parts])
    keep = ~pd.DataFrame({"cell": both.index, "name": both.to_numpy()}).duplicated().to_numpy()
    return both[keep].astype("str")


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
        of `ponzoni_eval._core.vocabulary.ID_PATTERN`); missing values stay missing.

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
    present = series.dropna().astype(str).map(lambda v: normalise_name(v.strip()))
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
