"""REFI-QDA in and out: ``.qdpx`` projects, bare ``.qde`` project XML, ``.qdc`` codebooks.

Evaluators code interviews in ATLAS.ti, MAXQDA, NVivo, QualCoder, Quirkos or
Transana. All of them export the REFI-QDA exchange format: a ``.qdpx`` zip
archive holding one project XML file (``project.qde``, namespace
``urn:QDA-XML:project:1.0``) and a ``sources`` folder with the documents as
plain-text files, or a ``.qdc`` codebook (namespace ``urn:QDA-XML:codebook:1.0``).
This module turns such a project into the package's ``coded_segments`` and
``codebook`` tables (see `ponzoni_eval.schema`) and writes them back.

Public functions
----------------
`read_qdpx`, `read_qdc`, `import_qda` (any supported file -> segments,
codebook, documents, report), `import_qda_to_folder` (the same, written as
CSV files plus a report), `write_qdpx`, `write_qdc`, `load_mapping`.

How a project becomes tables
----------------------------
* **Codes and themes.** Every codable ``Code`` becomes one codebook row.
  Its *path* is the names of its ancestors and itself, each name also split on
  ``::`` (ATLAS.ti has no code tree, so teams write ``Trust::Mutual trust``).
  ``code`` is the last part of the path; ``theme`` is the first part
  (``theme_from="top"``, the default) or the second-to-last part
  (``theme_from="parent"``); a code at the top level has no theme. Codes with
  ``isCodable="false"`` are folders: they give themes, not rows. If two codes
  end in the same name under different parents, both are named by their full
  path (``Trust::Other``, ``Safe space::Other``) and the report says so.
  ``definition`` is the code's ``Description``; ``construct`` comes from a
  ``Set`` named ``construct: <name>`` that lists the code (this is how
  `write_qdpx` stores it; code groups / code sets of that name work the same).
* **Case nodes.** NVivo lists every case as a node too: a ``Code`` with the
  GUID of a ``Case``. Such codes are cases, not codebook rows, and codings to
  them are not segments: they place the source in the case (counted as
  ``case_nodes`` and ``case_codings`` in the report).
* **Segments.** One row per ``Coding`` of a ``PlainTextSelection``. ``start``
  and ``end`` are the selection's ``startPosition`` / ``endPosition``
  (characters, end exclusive) and ``text`` is the slice of the document.
  ``coder`` is the ``User`` (name, else id) named by the Coding's
  ``creatingUser``, else by the selection's, else the source's.
* **Line ends.** REFI-QDA counts characters in the plain text, but exports
  disagree on whether ``\\r\\n`` counts as one character or two. For a text
  with ``\\r\\n`` both readings are tried: the one under which every
  selection fits inside the text and more selection names (tools store the
  start of the quote there) match the sliced text wins; a tie keeps the text as
  stored. The reading used is in ``report.offsets`` and ``documents.text`` is
  the text the offsets index, so ``text == documents.text[start:end]``.
* **Document variables.** Values come from ``Cases/Case/VariableValue`` for
  every source the case lists in ``SourceRef`` (named or, as MAXQDA and
  Quirkos write them, nameless cases) or that is coded to the case (NVivo),
  then from sets of sources named ``Name::Value`` (ATLAS.ti document groups:
  ``Casus::Poelenburg A`` gives ``Casus`` = ``Poelenburg A``), then from the
  source's own ``TextSource/VariableValue``; later ones win. They fill
  ``participant_id``, ``case_id`` and ``wave`` through a `VariableMapping`
  (see `load_mapping`): by default a variable called like the target in
  English or Dutch (``participant``, ``deelnemer``, ``respondent``; ``case``,
  ``casus``, ``site``; ``wave``, ``meting``, ``meetmoment``, ...), then a
  regular expression on the document name, then the case name, then a fixed
  default. Waves are normalised to
  ``t0``/``t1``/``t2`` (``T1``, ``1``, ``voormeting``/``baseline`` -> ``t0``,
  ``follow-up`` -> ``t2``, plus your own value map).
* **document_id** is the source name without its file extension, reduced to
  the identifier characters the schema allows (``Interview Gülşen.docx`` ->
  ``Interview_Gulsen``), made unique with ``_2``, ``_3`` suffixes. A document
  variable named ``document_id`` wins (`write_qdpx` writes one, so ids survive
  a round trip).

What is tolerated, what is refused
----------------------------------
Tolerated (and noted in the report): an inner project file with another name
than ``project.qde``; ``Sources/`` or ``sources/``; GUIDs with braces and in
any letter case; ``\\r\\n`` offsets; nameless cases; an absolute ``basePath``
(ignored: nothing outside the archive is ever read); non-ASCII names; a root
element without namespace; sources that are not text (PDF, picture, audio,
video) and their selections, which are counted and skipped; sources whose text
lives outside the archive (``relative://``, ``absolute://``), skipped.

Refused with a `DataError` that names the file and what was refused: a DTD
(``<!DOCTYPE``; it is how XXE and "billion laughs" attacks work, and REFI-QDA
never needs one); XML that is not well-formed or has another namespace; a zip
member whose path is absolute or leaves the archive (``..``), a symbolic link,
an encrypted or duplicate member; more members, more decompressed bytes or a
higher compression ratio than `ArchiveLimits` allow (checked in the central
directory and again while decompressing); a corrupt zip; a ``.qdpx`` without
``.qde``; a selection outside its text; a ``CodeRef`` to a GUID that is not in
the codebook; an ``internal://`` text file that is missing.
"""

from __future__ import annotations

import io
import itertools
import os
import re
import stat
import unicodedata
import uuid
import xml.etree.ElementTree as ET
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Literal, Mapping

import pandas as pd

from .errors import DataError, require_columns
from .schema import WAVES

__all__ = [
    "ArchiveLimits",
    "CODEBOOK_COLUMNS",
    "DOCUMENT_COLUMNS",
    "ImportReport",
    "NS_CODEBOOK",
    "NS_PROJECT",
    "QdaProject",
    "SEGMENT_COLUMNS",
    "VariableMapping",
    "import_qda",
    "import_qda_to_folder",
    "load_mapping",
    "read_qdc",
    "read_qdpx",
    "write_qdc",
    "write_qdpx",
]

NS_PROJECT = "urn:QDA-XML:project:1.0"
NS_CODEBOOK = "urn:QDA-XML:codebook:1.0"

SEGMENT_COLUMNS = ("document_id", "participant_id", "case_id", "wave", "coder", "code", "start", "end", "text", "position_unit")
"""Columns of the segments frame: the ``coded_segments`` table plus ``position_unit``
(``"character"`` here; vendor table exports give ``"paragraph"``)."""

CODEBOOK_COLUMNS = ("code", "theme", "definition", "construct")
DOCUMENT_COLUMNS = ("document_id", "name", "participant_id", "case_id", "wave", "text", "variables")

TARGETS = ("participant_id", "case_id", "wave")
"""Segment columns that document variables fill."""

ThemeFrom = Literal["top", "parent"]

# --- variable mapping ---------------------------------------------------------

DEFAULT_VARIABLE_NAMES: dict[str, tuple[str, ...]] = {
    "participant_id": (
        "participant_id", "participant", "participant id", "respondent", "respondent_id", "interviewee",
        "pseudonym", "deelnemer", "deelnemer_id", "deelnemernummer", "respondentnummer", "geïnterviewde",
        "pseudoniem",
    ),
    "case_id": ("case_id", "case", "case study", "casus", "casus_id", "casusnaam", "site"),
    "wave": ("wave", "wave_id", "meting", "meetmoment", "golf", "ronde", "timepoint", "time point", "tijdstip"),
}
"""Variable names looked for by default, per target, in priority order (matched
ignoring case, accents, spaces and punctuation)."""

WAVE_WORDS = {"baseline": "t0", "voormeting": "t0", "nulmeting": "t0", "followup": "t2"}
"""Wave labels understood without a mapping (keys normalised like variable names)."""


def _key(text: str) -> str:
    """Comparison key for names: no accents, no case, letters and digits only."""
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^0-9a-z]", "", ascii_text.casefold())


@dataclass(frozen=True)
class VariableMapping:
    """How document variables fill ``participant_id``, ``case_id`` and ``wave``.

    Parameters
    ----------
    variables : mapping target -> tuple of variable names
        Names to look for, in priority order. A target given here replaces the
        defaults (`DEFAULT_VARIABLE_NAMES`) for that target.
    values : mapping target -> {value: replacement}
        Value recoding, e.g. ``{"wave": {"voormeting": "t0", "nameting": "t1"}}``.
    document_pattern : str, optional
        Regular expression with named groups (``participant_id``, ``case_id``,
        ``wave``) searched in the document name when no variable gave a value.
    case_name : {"participant_id", "case_id"}, optional
        Use the name of the ``Case`` a document belongs to for this target
        (NVivo keeps one case per person).
    defaults : mapping target -> value
        Used when nothing else gave a value (e.g. one case per project file).
    """

    variables: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_VARIABLE_NAMES))
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    document_pattern: str | None = None
    case_name: str | None = None
    defaults: Mapping[str, str] = field(default_factory=dict)

    def recode(self, target: str, value: str) -> str:
        own = {_key(k): v for k, v in self.values.get(target, {}).items()}
        if _key(value) in own:
            return own[_key(value)]
        if target == "wave":
            return _normalise_wave(value)
        return value


def _normalise_wave(value: str) -> str:
    key = _key(value)
    match = re.fullmatch(r"t?([0-9])", key)
    if match and f"t{match.group(1)}" in WAVES:
        return f"t{match.group(1)}"
    return WAVE_WORDS.get(key, value)


_MAPPING_KEYS = {"variables", "values", "documents", "defaults"}


def load_mapping(mapping: "VariableMapping | Mapping[str, Any] | str | Path | None") -> VariableMapping:
    """Build a `VariableMapping` from nothing (the defaults), a dict or a TOML file.

    The TOML file (or dict) has up to four tables::

        [variables]            # which variable fills which column
        participant_id = ["Respondent", "Code deelnemer"]
        case_id = "Casus"
        wave = "Meting"

        [values.wave]          # recode values
        voormeting = "t0"
        nameting = "t1"

        [documents]            # read values from document names
        pattern = '(?P<case_id>[a-z]+)_(?P<participant_id>P\\d+)_(?P<wave>t\\d)'
        case_name = "participant_id"   # or use the REFI-QDA case name

        [defaults]             # when nothing else gave a value
        case_id = "slotervaart"

    Raises
    ------
    DataError
        For an unreadable file, an unknown table or key, a target other than
        participant_id / case_id / wave, or a pattern that is not a valid
        regular expression.
    """
    if mapping is None:
        return VariableMapping()
    if isinstance(mapping, VariableMapping):
        return mapping
    source = "mapping"
    if isinstance(mapping, (str, Path)):
        import tomllib

        source = str(mapping)
        try:
            data = tomllib.loads(Path(mapping).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DataError("mapping file not found", file=source, rule="mapping") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise DataError(f"not a valid TOML file: {exc}", file=source, rule="mapping") from None
    elif isinstance(mapping, Mapping):
        data = dict(mapping)
    else:
        raise TypeError(f"mapping must be a dict, a TOML path or a VariableMapping, not {type(mapping).__name__}")

    unknown = set(data) - _MAPPING_KEYS
    if unknown:
        raise DataError(
            f"unknown table(s) {sorted(unknown)} in the variable mapping",
            file=source, expected=f"only {sorted(_MAPPING_KEYS)}", rule="mapping",
        )

    def check_targets(table: str, keys: Iterable[str]) -> None:
        bad = sorted(set(keys) - set(TARGETS))
        if bad:
            raise DataError(
                f"[{table}] names unknown target column(s) {bad}",
                file=source, expected=", ".join(TARGETS), rule="mapping",
            )

    variables = dict(DEFAULT_VARIABLE_NAMES)
    given = data.get("variables", {}) or {}
    check_targets("variables", given)
    for target, names in given.items():
        variables[target] = (names,) if isinstance(names, str) else tuple(str(n) for n in names)

    values = data.get("values", {}) or {}
    check_targets("values", values)
    values = {t: {str(k): str(v) for k, v in m.items()} for t, m in values.items()}

    documents = dict(data.get("documents", {}) or {})
    unknown_doc = set(documents) - {"pattern", "case_name"}
    if unknown_doc:
        raise DataError(f"unknown key(s) {sorted(unknown_doc)} in [documents]", file=source,
                        expected="pattern, case_name", rule="mapping")
    pattern = documents.get("pattern")
    if pattern is not None:
        try:
            groups = set(re.compile(pattern).groupindex)
        except re.error as exc:
            raise DataError(f"[documents] pattern is not a valid regular expression: {exc}", file=source,
                            found=pattern, rule="mapping") from None
        if groups - set(TARGETS):
            raise DataError(f"[documents] pattern has groups for unknown target column(s) {sorted(groups - set(TARGETS))}",
                            file=source, expected=", ".join(TARGETS), rule="mapping")
    case_name = documents.get("case_name")
    if case_name is not None and case_name not in ("participant_id", "case_id"):
        raise DataError("[documents] case_name must name a target column", file=source,
                        expected="participant_id or case_id", found=case_name, rule="mapping")

    defaults = {str(k): str(v) for k, v in (data.get("defaults", {}) or {}).items()}
    check_targets("defaults", defaults)
    return VariableMapping(variables=variables, values=values, document_pattern=pattern,
                           case_name=case_name, defaults=defaults)


def resolve_targets(
    document_name: str,
    variables: Mapping[str, Any],
    mapping: VariableMapping,
    case_names: Iterable[str] = (),
) -> tuple[dict[str, str | None], dict[str, str]]:
    """Fill participant_id, case_id and wave for one document.

    Order: a variable named in ``mapping.variables``; a named group of
    ``mapping.document_pattern`` in the document name; the case name when
    ``mapping.case_name`` says so; ``mapping.defaults``.

    Returns
    -------
    values : dict target -> value or None
    provenance : dict target -> where the value came from (for the report)
    """
    present = {_key(name): (name, str(value).strip()) for name, value in variables.items()
               if value is not None and str(value).strip() != ""}
    pattern_hit = None
    if mapping.document_pattern:
        pattern_hit = re.search(mapping.document_pattern, document_name)
    case_names = [c for c in case_names if c]
    values: dict[str, str | None] = {}
    provenance: dict[str, str] = {}
    for target in TARGETS:
        value, origin = None, "missing"
        for candidate in mapping.variables.get(target, ()):
            hit = present.get(_key(candidate))
            if hit:
                value, origin = hit[1], f"variable '{hit[0]}'"
                break
        if value is None and pattern_hit is not None and pattern_hit.groupdict().get(target):
            value, origin = pattern_hit.group(target), "document name pattern"
        if value is None and mapping.case_name == target and case_names:
            value, origin = case_names[0], "case name"
        if value is None and target in mapping.defaults:
            value, origin = mapping.defaults[target], "default"
        values[target] = None if value is None else mapping.recode(target, value)
        provenance[target] = origin
    return values, provenance


# --- identifiers, code paths ----------------------------------------------------

_DOCUMENT_EXTENSIONS = {".txt", ".docx", ".doc", ".rtf", ".odt", ".pdf", ".htm", ".html", ".md"}


def document_slug(name: str) -> str:
    """An identifier the schema accepts, made from a document name."""
    stem = str(name).strip()
    suffix = Path(stem).suffix
    if suffix.casefold() in _DOCUMENT_EXTENSIONS:
        stem = stem[: -len(suffix)]
    ascii_text = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^A-Za-z0-9_.\-]+", "_", ascii_text).strip("_.-")
    return slug or "document"


def unique_ids(names: Iterable[str]) -> list[str]:
    """`document_slug` of each name, with ``_2``, ``_3``... added to repeats."""
    seen: Counter[str] = Counter()
    taken: set[str] = set()
    ids = []
    for name in names:
        base = document_slug(name)
        seen[base] += 1
        candidate = base if seen[base] == 1 else f"{base}_{seen[base]}"
        while candidate in taken:
            seen[base] += 1
            candidate = f"{base}_{seen[base]}"
        taken.add(candidate)
        ids.append(candidate)
    return ids


def split_code_path(parts: Iterable[str], separators: tuple[str, ...] = ("::",)) -> tuple[str, ...]:
    """The path of a code: every name split on the separators, blanks dropped."""
    pattern = "|".join(re.escape(s) for s in separators)
    out: list[str] = []
    for part in parts:
        out.extend(p.strip() for p in re.split(pattern, str(part)) if p.strip())
    return tuple(out)


def codebook_from_paths(
    paths: Mapping[Any, tuple[str, ...]],
    theme_from: ThemeFrom = "top",
) -> tuple[dict[Any, str], dict[Any, str | None], list[str]]:
    """Code name and theme for each code path, following the module's theme rule.

    Codes whose last path part is shared by different paths get their full
    path (joined with ``::``) as name.

    Returns
    -------
    names, themes : dict key -> code name / theme (None at the top level)
    warnings : list of str
    """
    if theme_from not in ("top", "parent"):
        raise ValueError(f"theme_from must be 'top' or 'parent', not {theme_from!r}")
    by_leaf: dict[str, set[tuple[str, ...]]] = {}
    for path in paths.values():
        by_leaf.setdefault(path[-1], set()).add(path)
    ambiguous = {leaf for leaf, variants in by_leaf.items() if len(variants) > 1}
    names, themes = {}, {}
    for key, path in paths.items():
        names[key] = "::".join(path) if path[-1] in ambiguous else path[-1]
        if len(path) == 1:
            themes[key] = None
        else:
            themes[key] = path[0] if theme_from == "top" else path[-2]
    warnings = [
        f"code name '{leaf}' occurs under several parents; named by full path: "
        + ", ".join(sorted("::".join(p) for p in by_leaf[leaf]))
        for leaf in sorted(ambiguous)
    ]
    return names, themes, warnings


# --- results ------------------------------------------------------------------------


@dataclass
class ImportReport:
    """What an import found, skipped and assumed; print it with `to_markdown`."""

    source: str
    format: str
    counts: dict[str, int] = field(default_factory=dict)
    skipped: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    offsets: dict[str, str] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)

    def count(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    def skip(self, kind: str, item: str, reason: str) -> None:
        self.skipped.append({"kind": kind, "item": item, "reason": reason})

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source, "format": self.format, "counts": dict(sorted(self.counts.items())),
            "skipped": list(self.skipped), "warnings": list(self.warnings), "offsets": dict(self.offsets),
            "variables": dict(self.variables),
        }

    def to_markdown(self) -> str:
        lines = [f"# QDA import report: {Path(self.source).name}", "", f"- format: {self.format}"]
        lines += ["", "## Counts", ""] + [f"- {k}: {v}" for k, v in sorted(self.counts.items())]
        lines += ["", "## Participant, case and wave", ""]
        lines += [f"- {k}: {v}" for k, v in self.variables.items()] or ["- (no documents)"]
        if self.offsets:
            lines += ["", "## Character offsets", ""]
            lines += [f"- {doc}: {how}" for doc, how in self.offsets.items()]
        lines += ["", "## Skipped", ""]
        lines += [f"- {s['kind']} '{s['item']}': {s['reason']}" for s in self.skipped] or ["- nothing"]
        lines += ["", "## Warnings", ""] + ([f"- {w}" for w in self.warnings] or ["- none"])
        return "\n".join(lines) + "\n"


@dataclass
class QdaProject:
    """An imported project: tables in the package's shape plus the import report.

    Attributes
    ----------
    segments : DataFrame
        `SEGMENT_COLUMNS`: the ``coded_segments`` table plus ``position_unit``.
    codebook : DataFrame
        `CODEBOOK_COLUMNS`.
    documents : DataFrame
        `DOCUMENT_COLUMNS`: one row per text document, ``variables`` holding
        every document variable found (dict).
    report : ImportReport
    """

    segments: pd.DataFrame
    codebook: pd.DataFrame
    documents: pd.DataFrame
    report: ImportReport


def segments_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows -> segments frame with the package dtypes (text columns ``str``, offsets int64)."""
    frame = pd.DataFrame(rows, columns=list(SEGMENT_COLUMNS))
    text_columns = [c for c in SEGMENT_COLUMNS if c not in ("start", "end")]
    frame[text_columns] = frame[text_columns].astype("str")
    return frame.astype({"start": "int64", "end": "int64"})


def codebook_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(CODEBOOK_COLUMNS)).astype("str")


def documents_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(DOCUMENT_COLUMNS))
    text_columns = [c for c in DOCUMENT_COLUMNS if c != "variables"]
    frame[text_columns] = frame[text_columns].astype("str")
    frame["variables"] = frame["variables"].astype(object)
    return frame


# --- safe archive reading -------------------------------------------------------------


@dataclass(frozen=True)
class ArchiveLimits:
    """Limits that keep a hostile archive from exhausting memory or disk.

    The defaults fit any interview project: raise ``max_total_bytes`` for
    projects with many large audio or video members (they are never read, but
    their declared sizes count towards the total).
    """

    max_members: int = 20_000
    max_total_bytes: int = 4 * 1024**3
    max_member_bytes: int = 256 * 1024**2
    max_ratio: float = 200.0
    ratio_floor_bytes: int = 1024**2
    """Compression ratios are only checked for members larger than this (tiny
    files of repeated characters compress far better than any bomb threshold)."""


_S_IFLNK = stat.S_IFLNK


def _archive_member_label(archive: str, member: str) -> str:
    return f"{archive} [{member}]"


class _SafeArchive:
    """A zip archive opened read-only, checked before anything is decompressed."""

    def __init__(self, path: Path, limits: ArchiveLimits) -> None:
        self.path = path
        self.label = str(path)
        self.limits = limits
        self._read_total = 0
        try:
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError) as exc:
            raise DataError(
                f"is not a valid zip archive ({exc}); a REFI-QDA project (.qdpx) is a zip file: "
                "export it again from your QDA program",
                file=self.label, rule="zip_corrupt",
            ) from None
        try:
            self.members = self._check_central_directory()
        except DataError:
            self._zip.close()
            raise

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> "_SafeArchive":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _refuse(self, message: str, rule: str, member: str | None = None) -> DataError:
        where = self.label if member is None else _archive_member_label(self.label, member)
        return DataError(f"refused: {message}", file=where, rule=rule)

    def _check_central_directory(self) -> list[zipfile.ZipInfo]:
        infos = self._zip.infolist()
        limits = self.limits
        if len(infos) > limits.max_members:
            raise self._refuse(f"the archive lists {len(infos)} members, more than the limit of "
                               f"{limits.max_members}", "zip_members")
        seen: dict[str, str] = {}
        total = 0
        for info in infos:
            name = info.filename
            normal = name.replace("\\", "/")
            if "\x00" in name:
                raise self._refuse("a member name contains a NUL character", "zip_path", repr(name))
            if normal.startswith("/") or re.match(r"^[A-Za-z]:", normal):
                raise self._refuse("member has an absolute path; members must stay inside the archive",
                                   "zip_path", name)
            if ".." in normal.split("/"):
                raise self._refuse("member path leaves the archive ('..'); this is how 'zip slip' "
                                   "attacks overwrite files", "zip_path", name)
            if stat.S_IFMT(info.external_attr >> 16) == _S_IFLNK:
                raise self._refuse("member is a symbolic link; links can point at files outside the "
                                   "archive", "zip_symlink", name)
            if info.flag_bits & 0x1:
                raise self._refuse("member is encrypted; export the project without a password",
                                   "zip_encrypted", name)
            key = normal.casefold()
            if key in seen:
                raise self._refuse(f"two members have the same name ('{seen[key]}' and '{name}'); "
                                   "it would be ambiguous which one is read", "zip_duplicate", name)
            seen[key] = name
            if info.is_dir():
                continue
            total += info.file_size
            if total > limits.max_total_bytes:
                raise self._refuse(f"the members would decompress to more than {limits.max_total_bytes} "
                                   "bytes (zip bomb protection; raise ArchiveLimits.max_total_bytes "
                                   "for very large media projects)", "zip_total_size")
            self._check_ratio(name, info.file_size, info.compress_size)
        return [info for info in infos if not info.is_dir()]

    def _check_ratio(self, name: str, size: int, compressed: int) -> None:
        limits = self.limits
        if size <= limits.ratio_floor_bytes:
            return
        ratio = size / compressed if compressed else float("inf")
        if ratio > limits.max_ratio:
            raise self._refuse(f"compression ratio {ratio:.0f}:1 exceeds the limit of "
                               f"{limits.max_ratio:.0f}:1 (zip bomb protection)", "zip_ratio", name)

    def read(self, info: zipfile.ZipInfo) -> bytes:
        """Decompress one member, counting bytes as they come out."""
        limits = self.limits
        name = info.filename
        if info.file_size > limits.max_member_bytes:
            raise self._refuse(f"member declares {info.file_size} bytes, more than the limit of "
                               f"{limits.max_member_bytes} per file", "zip_member_size", name)
        chunks = []
        produced = 0
        try:
            with self._zip.open(info) as handle:
                while chunk := handle.read(1 << 16):
                    produced += len(chunk)
                    self._read_total += len(chunk)
                    if produced > info.file_size or produced > limits.max_member_bytes:
                        raise self._refuse("member decompresses to more bytes than its header declares",
                                           "zip_member_size", name)
                    if self._read_total > limits.max_total_bytes:
                        raise self._refuse(f"more than {limits.max_total_bytes} bytes decompressed in total",
                                           "zip_total_size", name)
                    self._check_ratio(name, produced, info.compress_size)
                    chunks.append(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise DataError(f"member is corrupt ({exc}); export the project again",
                            file=_archive_member_label(self.label, name), rule="zip_corrupt") from None
        except NotImplementedError as exc:
            raise DataError(f"member uses a compression method Python cannot read ({exc})",
                            file=_archive_member_label(self.label, name), rule="zip_corrupt") from None
        except RuntimeError as exc:  # zipfile's way of saying "password required"
            raise self._refuse(f"member cannot be read ({exc})", "zip_encrypted", name) from None
        if produced != info.file_size:
            raise DataError(f"member holds {produced} bytes but its header declares {info.file_size}; "
                            "the archive is corrupt", file=_archive_member_label(self.label, name),
                            rule="zip_corrupt")
        return b"".join(chunks)

    def project_member(self) -> zipfile.ZipInfo:
        """The one .qde file: at the shallowest level, preferring 'project.qde'."""
        candidates = [i for i in self.members if i.filename.casefold().endswith(".qde")]
        if not candidates:
            listing = ", ".join(i.filename for i in self.members[:5]) or "nothing"
            raise DataError(
                "contains no .qde project file; a REFI-QDA project (.qdpx) holds one 'project.qde' "
                "(codes, codings, cases) beside a 'sources' folder",
                file=self.label, found=listing, rule="qdpx_no_qde",
            )
        depth = min(i.filename.replace("\\", "/").count("/") for i in candidates)
        shallow = [i for i in candidates if i.filename.replace("\\", "/").count("/") == depth]
        if len(shallow) == 1:
            return shallow[0]
        named = [i for i in shallow if i.filename.replace("\\", "/").rsplit("/", 1)[-1].casefold() == "project.qde"]
        if len(named) == 1:
            return named[0]
        raise DataError("contains several .qde project files; it is unclear which one to read",
                        file=self.label, found=", ".join(i.filename for i in shallow), rule="qdpx_no_qde")

    def sources_index(self, project: zipfile.ZipInfo) -> dict[str, zipfile.ZipInfo]:
        """Files in the sources folder beside the project file, by `_file_key`."""
        base = project.filename.replace("\\", "/").rpartition("/")[0]
        prefix = (base + "/" if base else "").casefold() + "sources/"
        index = {}
        for info in self.members:
            normal = info.filename.replace("\\", "/")
            if normal.casefold().startswith(prefix):
                index[_file_key(normal[len(prefix):])] = info
        return index


def _file_key(name: str) -> str:
    """How sources are matched to ``internal://`` paths: no case, no GUID braces."""
    return name.replace("\\", "/").strip("/").casefold().replace("{", "").replace("}", "")


def _decode_text(data: bytes, where: str, report: ImportReport) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        raise DataError("text is neither UTF-8 nor Windows-1252; REFI-QDA sources are UTF-8",
                        file=where, rule="text_encoding") from None
    report.warnings.append(f"{where}: not UTF-8 as REFI-QDA requires; read as Windows-1252")
    return text


# --- hardened XML -------------------------------------------------------------------


def _parse_xml(data: bytes, where: str) -> ET.Element:
    """Parse with defusedxml: no DTD, no entities, no external references."""
    from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
    from defusedxml import ElementTree as SafeET

    try:
        return SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DTDForbidden:
        raise DataError(
            "refused: the XML declares a DTD (<!DOCTYPE ...>). DTDs define entities that can read local "
            "files (XXE) or expand to gigabytes ('billion laughs'); REFI-QDA files never need one",
            file=where, rule="xml_dtd",
        ) from None
    except (EntitiesForbidden, ExternalReferenceForbidden) as exc:
        raise DataError(f"refused: the XML uses entities or external references ({exc})",
                        file=where, rule="xml_entities") from None
    except ET.ParseError as exc:
        line, column = getattr(exc, "position", (None, None))
        raise DataError(f"is not well-formed XML (line {line}, column {column}): {exc}",
                        file=where, rule="xml_syntax") from None


def _localise(root: ET.Element, namespace: str) -> None:
    """Drop our namespace from tags so that code reads ``el.tag == "Code"``."""
    prefix = "{" + namespace + "}"
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.startswith(prefix):
            element.tag = element.tag[len(prefix):]


def _checked_root(data: bytes, where: str, tag: str, namespaces: tuple[str, ...], report: ImportReport) -> ET.Element:
    root = _parse_xml(data, where)
    namespace, _, local = root.tag[1:].partition("}") if root.tag.startswith("{") else ("", "", root.tag)
    if namespace and namespace.casefold() not in {n.casefold() for n in namespaces}:
        raise DataError(
            f"the root element is in namespace '{namespace}', not the REFI-QDA namespace",
            file=where, expected=" or ".join(namespaces), rule="xml_namespace",
        )
    if local != tag:
        raise DataError(f"the root element is <{local}>, not <{tag}>", file=where,
                        expected=f"a REFI-QDA <{tag}>", rule="xml_root")
    if not namespace:
        report.warnings.append(f"{where}: root element has no namespace (expected {namespaces[0]}); read anyway")
    _localise(root, namespace)
    return root


def _children(element: ET.Element | None, tag: str) -> list[ET.Element]:
    return [] if element is None else [c for c in element if c.tag == tag]


def _child(element: ET.Element | None, tag: str) -> ET.Element | None:
    found = _children(element, tag)
    return found[0] if found else None


def _child_text(element: ET.Element | None, tag: str) -> str | None:
    child = _child(element, tag)
    if child is None or child.text is None:
        return None
    return child.text


def _guid(value: str | None) -> str | None:
    """GUIDs compare without braces and case."""
    if value is None:
        return None
    return value.strip().strip("{}").casefold() or None


def _bool(value: str | None, default: bool = True) -> bool:
    if value is None:
        return default
    return value.strip().casefold() not in ("false", "0", "no")


def _int_attribute(element: ET.Element, name: str, where: str, what: str) -> int:
    raw = element.get(name)
    try:
        return int(str(raw).strip())
    except (TypeError, ValueError):
        raise DataError(f"{what} has no whole-number {name}", file=where, found=raw, rule="selection_position") from None


# --- project parsing ------------------------------------------------------------------


@dataclass
class _CodeNode:
    guid: str
    name: str
    codable: bool
    description: str | None
    ancestors: tuple[str, ...]


def _walk_codes(codes: ET.Element | None, where: str, report: ImportReport) -> list[_CodeNode]:
    """Codes depth-first in document order, without recursion (deep trees are fine)."""
    nodes: list[_CodeNode] = []
    seen: set[str] = set()
    stack = [(el, ()) for el in reversed(_children(codes, "Code"))]
    while stack:
        element, ancestors = stack.pop()
        guid = _guid(element.get("guid"))
        if guid is None:
            raise DataError("a <Code> has no guid attribute", file=where, found=element.get("name"), rule="code_guid")
        if guid in seen:
            raise DataError("two codes share one GUID, so codings cannot be told apart", file=where,
                            found=element.get("guid"), rule="code_guid")
        seen.add(guid)
        name = (element.get("name") or "").strip()
        if not name:
            name = f"code_{guid[:8]}"
            report.warnings.append(f"code {element.get('guid')} has no name; called it '{name}'")
        description = _child_text(element, "Description")
        nodes.append(_CodeNode(guid, name, _bool(element.get("isCodable")),
                               description.strip() if description and description.strip() else None, ancestors))
        for child in reversed(_children(element, "Code")):
            stack.append((child, ancestors + (name,)))
    return nodes


_CONSTRUCT_SET = re.compile(r"^\s*construct\s*[:=]\s*(.+?)\s*$", re.IGNORECASE)


def _constructs_from_sets(sets: ET.Element | None, report: ImportReport) -> dict[str, str]:
    constructs: dict[str, str] = {}
    for set_element in _children(sets, "Set"):
        match = _CONSTRUCT_SET.match(set_element.get("name") or "")
        if not match:
            continue
        for member in _children(set_element, "MemberCode"):
            guid = _guid(member.get("targetGUID") or member.get("guid"))
            if guid is None:
                continue
            if guid in constructs and constructs[guid] != match.group(1):
                report.warnings.append(f"code {guid} is in two construct sets; kept '{constructs[guid]}'")
                continue
            constructs[guid] = match.group(1)
    return constructs


def _document_groups(sets: ET.Element | None, report: ImportReport) -> dict[str, dict[str, str]]:
    """Document variables from sets of sources named ``Name::Value`` (ATLAS.ti document groups).

    ATLAS.ti has no document variables; its document groups travel as
    ``Set`` elements listing ``MemberSource``. A group called
    ``Casus::Poelenburg A`` gives its documents the variable ``Casus`` with the
    value ``Poelenburg A`` (the same ``::`` convention as ATLAS.ti code names).
    Sets of sources without ``::`` (MAXQDA document sets, plain groups) are
    counted and otherwise left alone.
    """
    values: dict[str, dict[str, str]] = {}
    for set_element in _children(sets, "Set"):
        sources = [_guid(m.get("targetGUID") or m.get("guid")) for m in _children(set_element, "MemberSource")]
        sources = [guid for guid in sources if guid]
        if not sources:
            continue
        report.count("document_sets")
        variable, separator, value = (set_element.get("name") or "").partition("::")
        variable, value = variable.strip(), value.strip()
        if not (separator and variable and value):
            continue
        report.count("document_sets.variables")
        for guid in sources:
            current = values.setdefault(guid, {})
            if current.get(variable, value) != value:
                report.warnings.append(f"source {guid} is in two groups for variable '{variable}' "
                                       f"('{current[variable]}', '{value}'); kept '{current[variable]}'")
                continue
            current[variable] = value
    return values


def _build_codebook(
    nodes: list[_CodeNode],
    constructs: Mapping[str, str],
    used: set[str],
    theme_from: ThemeFrom,
    report: ImportReport,
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Codebook rows and guid -> code name, following the module's theme rule."""
    rows_nodes = []
    for node in nodes:
        if node.codable:
            rows_nodes.append(node)
        elif node.guid in used:
            report.warnings.append(f"code '{node.name}' is marked isCodable=\"false\" but has codings; "
                                   "imported as a code")
            rows_nodes.append(node)
    paths = {n.guid: split_code_path(n.ancestors + (n.name,)) for n in rows_nodes}
    names, themes, warnings = codebook_from_paths(paths, theme_from)
    report.warnings.extend(warnings)
    rows: dict[str, dict[str, Any]] = {}
    for node in rows_nodes:
        name = names[node.guid]
        if name in rows:
            report.warnings.append(f"two codes are both called '{name}' under the same parent; merged")
            continue
        rows[name] = {"code": name, "theme": themes[node.guid], "definition": node.description,
                      "construct": constructs.get(node.guid)}
    folders = sorted({n.name for n in nodes if not n.codable and n.guid not in used})
    report.count("codes", len(rows))
    report.count("themes", len({r["theme"] for r in rows.values() if r["theme"]}))
    if folders:
        report.count("non_codable_codes", len(folders))
    return codebook_frame(list(rows.values())), names


def _variables_of(element: ET.Element, variable_names: Mapping[str, str], where: str,
                  report: ImportReport) -> dict[str, str]:
    values: dict[str, str] = {}
    for value_element in _children(element, "VariableValue"):
        ref_element = _child(value_element, "VariableRef")
        ref = _guid(ref_element.get("targetGUID")) if ref_element is not None else None
        name = variable_names.get(ref) if ref else None
        if name is None:
            report.warnings.append(f"{where}: a VariableValue refers to unknown variable {ref}; ignored")
            continue
        for tag in ("TextValue", "BooleanValue", "IntegerValue", "FloatValue", "DateValue", "DateTimeValue"):
            text = _child_text(value_element, tag)
            if text is not None:
                values[name] = text.strip()
                break
    return values


@dataclass
class _Selection:
    guid: str
    start: int
    end: int
    name: str
    codings: list[tuple[str | None, str]]  # (user guid, code guid)


def _fits(text: str, selections: list[_Selection]) -> tuple[bool, int, int]:
    """Whether all selections lie inside ``text``, and how many names match their slices.

    Tools store the start of the quote as the selection name (some shorten it
    with an ellipsis or tidy its whitespace), so names are compared twice:
    exactly, then with whitespace collapsed and trimmed (a tie-breaker).
    """
    inside = all(0 <= s.start <= s.end <= len(text) for s in selections)
    exact = loose = 0
    for s in selections:
        name = s.name.rstrip("…")
        piece = text[s.start:min(s.end, s.start + 200)]  # names are short; the head of the quote suffices
        if name and piece.startswith(name[:40]):
            exact += 1
        squashed = re.sub(r"\s+", " ", name).strip().rstrip(".")[:20]
        if squashed and re.sub(r"\s+", " ", piece).strip().startswith(squashed):
            loose += 1
    return inside, exact, loose


def _choose_offsets(text: str, selections: list[_Selection], source: str, where: str) -> tuple[str, str]:
    """The text the offsets index (as stored, or with \\r\\n as one character) and which it is."""
    readings = [("as stored", text)]
    if "\r\n" in text:
        readings.append(("\\r\\n counted as one character", text.replace("\r\n", "\n")))
    if len(readings) == 1:  # nothing to choose between: only check the bounds
        scored = [(label, variant, all(0 <= s.start <= s.end <= len(variant) for s in selections), 0, 0)
                  for label, variant in readings]
    else:
        scored = [(label, variant, *_fits(variant, selections)) for label, variant in readings]
    fitting = [s for s in scored if s[2]]
    if not fitting:
        worst = max(selections, key=lambda s: s.end)
        bad = next(s for s in selections if not (0 <= s.start <= s.end <= len(text)))
        raise DataError(
            f"selection {bad.guid} ({bad.start}-{bad.end}) lies beyond the end of the text of source "
            f"'{source}', which has {len(text)} characters (furthest selection ends at {worst.end})",
            file=where, rule="selection_bounds",
        )
    best = max(fitting, key=lambda s: (s[3], s[4]))  # max keeps the first (as stored) on a tie
    return best[1], best[0]


def _parse_project(
    root: ET.Element,
    where: str,
    load_text: Callable[[str, str], str | None],
    mapping: VariableMapping,
    theme_from: ThemeFrom,
    report: ImportReport,
) -> QdaProject:
    users = {}
    for user in _children(_child(root, "Users"), "User"):
        guid = _guid(user.get("guid"))
        if guid:
            users[guid] = (user.get("name") or user.get("id") or user.get("guid") or "").strip()
    report.count("users", len(users))
    if root.get("basePath"):
        report.warnings.append(f"basePath '{root.get('basePath')}' ignored: only files inside the project are read")

    variable_names = {}
    for variable in _children(_child(root, "Variables"), "Variable"):
        guid = _guid(variable.get("guid"))
        if guid and variable.get("name"):
            variable_names[guid] = variable.get("name").strip()

    # Cases: their variables and the sources each one lists (SourceRef). NVivo also codes a
    # source's text to its case, which it lists as a Code with the case's GUID (case node).
    cases: dict[str, tuple[str | None, dict[str, str]]] = {}
    members: dict[str, list[str]] = {}  # source guid -> case guids, in order
    case_elements = _children(_child(root, "Cases"), "Case")
    report.count("cases", len(case_elements))
    for case in case_elements:
        label = case.get("name") or f"(nameless case {case.get('guid')})"
        case_guid = _guid(case.get("guid")) or label
        name = case.get("name").strip() if case.get("name") and case.get("name").strip() else None
        cases[case_guid] = (name, _variables_of(case, variable_names, f"case {label}", report))
        for ref in _children(case, "SourceRef"):
            source_guid = _guid(ref.get("targetGUID"))
            if source_guid is not None:
                members.setdefault(source_guid, []).append(case_guid)
    group_values = _document_groups(_child(root, "Sets"), report)

    def case_variables(source_guid: str) -> tuple[dict[str, str], list[str]]:
        merged: dict[str, str] = {}
        names = []
        for case_guid in dict.fromkeys(members.get(source_guid, [])):
            name, values = cases[case_guid]
            for variable, value in values.items():
                if variable in merged and merged[variable] != value:
                    report.warnings.append(f"variable '{variable}' differs between cases of source {source_guid}; "
                                           f"kept '{merged[variable]}'")
                else:
                    merged[variable] = value
            if name:
                names.append(name)
        return merged, names

    documents: list[dict[str, Any]] = []
    raw_segments: list[tuple[int, _Selection, str | None]] = []  # (document index, selection, source user)
    for source in list(_child(root, "Sources") if _child(root, "Sources") is not None else []):
        kind = source.tag if isinstance(source.tag, str) else "?"
        report.count(f"sources.{kind}")
        label = source.get("name") or source.get("guid") or "?"
        if kind != "TextSource":
            selections = [el for el in source.iter() if isinstance(el.tag, str) and el.tag.endswith("Selection")]
            codings = sum(len(_children(el, "Coding")) for el in selections)
            for el in selections:
                report.count(f"selections.{el.tag}" + ("" if el.tag != "PlainTextSelection" else f" (in {kind})"))
            report.skip(kind, label, f"not a text source; {len(selections)} selection(s) with {codings} "
                                     "coding(s) not imported")
            continue
        guid = _guid(source.get("guid")) or label
        selections = []
        for element in _children(source, "PlainTextSelection"):
            report.count("selections.PlainTextSelection")
            sel_guid = element.get("guid") or "?"
            what = f"PlainTextSelection {sel_guid} of source '{label}'"
            start = _int_attribute(element, "startPosition", where, what)
            end = _int_attribute(element, "endPosition", where, what)
            if start < 0 or end < start:
                raise DataError(f"{what} has startPosition {start} and endPosition {end}", file=where,
                                expected="0 <= startPosition <= endPosition", rule="selection_position")
            codings = []
            for coding in _children(element, "Coding"):
                code_ref = _child(coding, "CodeRef")
                code_guid = _guid(code_ref.get("targetGUID")) if code_ref is not None else None
                if code_guid is None:
                    raise DataError(f"a Coding of {what} has no CodeRef targetGUID", file=where, rule="code_ref")
                codings.append((_guid(coding.get("creatingUser")) or _guid(element.get("creatingUser")), code_guid))
            case_codings = [code for _, code in codings if code in cases]
            codings = [(user, code) for user, code in codings if code not in cases]
            if case_codings:  # NVivo: text coded to a case node says which case the source belongs to
                report.count("case_codings", len(case_codings))
                members.setdefault(guid, []).extend(case_codings)
            elif not codings:
                report.count("uncoded_selections")
            selections.append(_Selection(sel_guid, start, end, element.get("name") or "", codings))
        whole = []
        for coding in _children(source, "Coding"):
            code_ref = _child(coding, "CodeRef")
            code_guid = _guid(code_ref.get("targetGUID")) if code_ref is not None else None
            if code_guid in cases:
                report.count("case_codings")
                members.setdefault(guid, []).append(code_guid)
            else:
                whole.append(coding)
        if whole:
            report.count("source_codings", len(whole))
            report.skip("Coding", label, f"{len(whole)} coding(s) of the whole source (no selection) not imported")

        text = None
        content = _child(source, "PlainTextContent")
        if content is not None and content.text is not None:
            text = content.text
        elif source.get("plainTextPath"):
            text = load_text(source.get("plainTextPath"), label)
        if text is None:
            reason = ("text is outside the project file" if source.get("plainTextPath")
                      else "source has neither PlainTextContent nor plainTextPath")
            report.skip("TextSource", label, f"{reason}; {len(selections)} selection(s) not imported")
            continue
        reading = None
        if selections:
            stored = text
            text, reading = _choose_offsets(text, selections, label, where)
            reading = reading if "\r\n" in stored else None
        values, names = case_variables(guid)
        values.update(group_values.get(guid, {}))
        values.update(_variables_of(source, variable_names, f"source {label}", report))
        documents.append({"guid": guid, "name": label, "text": text, "variables": values,
                          "case_names": names, "offsets": reading})
        index = len(documents) - 1
        raw_segments.extend((index, s, _guid(source.get("creatingUser"))) for s in selections)

    # Codebook; codings must point into it.
    codebook_element = _child(root, "CodeBook")
    nodes = _walk_codes(_child(codebook_element, "Codes"), where, report)
    case_nodes = [n for n in nodes if n.guid in cases]
    if case_nodes:  # NVivo lists every case as a node too (same GUID): a case, not a code
        report.count("case_nodes", len(case_nodes))
        nodes = [n for n in nodes if n.guid not in cases]
    known = {n.guid for n in nodes}
    for _, selection, _ in raw_segments:
        for _, code_guid in selection.codings:
            if code_guid not in known:
                raise DataError(f"selection {selection.guid} has a CodeRef to code GUID {code_guid}, "
                                "which is not in the codebook", file=where, rule="code_ref")
    used = {code for _, s, _ in raw_segments for _, code in s.codings}
    codebook, code_names = _build_codebook(nodes, _constructs_from_sets(_child(root, "Sets"), report),
                                           used, theme_from, report)

    return _assemble(documents, raw_segments, code_names, users, mapping, report, codebook)


def _document_id_source(variables: Mapping[str, str], name: str) -> str:
    """A ``document_id`` document variable (written by `write_qdpx`) wins over the name."""
    for variable, value in variables.items():
        if _key(variable) == "documentid" and str(value).strip():
            return str(value).strip()
    return name


def _assemble(documents, raw_segments, code_names, users, mapping, report, codebook) -> QdaProject:
    ids = unique_ids(_document_id_source(d["variables"], d["name"]) for d in documents)
    provenance_counts: dict[str, Counter[str]] = {t: Counter() for t in TARGETS}
    document_rows = []
    for document_id, doc in zip(ids, documents):
        values, provenance = resolve_targets(doc["name"], doc["variables"], mapping, doc["case_names"])
        for target in TARGETS:
            provenance_counts[target][provenance[target]] += 1
        if values["wave"] is not None and values["wave"] not in WAVES:
            report.warnings.append(f"document '{doc['name']}': wave '{values['wave']}' is not one of "
                                   f"{', '.join(WAVES)}; add it under [values.wave] in the mapping")
        document_rows.append({"document_id": document_id, "name": doc["name"], **values,
                              "text": doc["text"], "variables": doc["variables"]})
    for target, counts in provenance_counts.items():
        report.variables[target] = "; ".join(f"{origin} ({n} document{'s' if n != 1 else ''})"
                                             for origin, n in counts.most_common()) or "no documents"
        if counts.get("missing"):
            report.warnings.append(f"{target} is missing for {counts['missing']} document(s): add a document "
                                   f"variable, a [documents] pattern or a default in the mapping")
    unknown_users: set[str] = set()
    rows = []
    for index, selection, source_user in raw_segments:
        doc = document_rows[index]
        quote = doc["text"][selection.start:selection.end]
        for user_guid, code_guid in selection.codings:
            user_guid = user_guid or source_user
            if user_guid is None:
                coder = "unknown"
                unknown_users.add("(no creatingUser)")
            elif user_guid in users:
                coder = users[user_guid]
            else:
                coder = user_guid
                unknown_users.add(user_guid)
            rows.append({"document_id": doc["document_id"], "participant_id": doc["participant_id"],
                         "case_id": doc["case_id"], "wave": doc["wave"], "coder": coder,
                         "code": code_names[code_guid], "start": selection.start, "end": selection.end,
                         "text": quote, "position_unit": "character"})
    if unknown_users:
        report.warnings.append("codings by users not listed in <Users> (coder set to the GUID, or 'unknown'): "
                               + ", ".join(sorted(unknown_users)))
    report.count("documents", len(document_rows))
    report.count("codings", len(rows))
    report.offsets = {doc_id: doc["offsets"] for doc_id, doc in zip(ids, documents) if doc["offsets"]}
    return QdaProject(segments_frame(rows), codebook, documents_frame(document_rows), report)


# --- public readers -----------------------------------------------------------------------


def read_qdpx(
    path: str | Path,
    *,
    mapping: VariableMapping | Mapping[str, Any] | str | Path | None = None,
    theme_from: ThemeFrom = "top",
    limits: ArchiveLimits = ArchiveLimits(),
) -> QdaProject:
    """Read a REFI-QDA project (``.qdpx``, or a bare ``.qde``) into package tables.

    Parameters
    ----------
    path : str or Path
        A ``.qdpx`` archive, a ``.qde`` project XML (its texts are then looked
        up in a ``sources`` folder beside it), or a ``.qdc`` codebook (only the
        codebook is filled).
    mapping : VariableMapping, dict, TOML path or None
        How document variables fill participant_id, case_id and wave (see
        `load_mapping`); None uses the English/Dutch defaults.
    theme_from : {"top", "parent"}
        Theme of a code: its top-level ancestor (default) or its parent.
    limits : ArchiveLimits
        Size limits for the archive (zip bomb protection).

    Returns
    -------
    QdaProject
        ``segments`` (coded_segments + position_unit), ``codebook``,
        ``documents`` and ``report``.

    Raises
    ------
    DataError
        For hostile or broken input; the message names the file (and member)
        and what was refused. See the module docstring for the full list.

    Examples
    --------
    >>> project = read_qdpx("interviews.qdpx", mapping={"defaults": {"case_id": "slotervaart"}})  # doctest: +SKIP
    >>> project.segments.groupby("code").size()  # doctest: +SKIP
    >>> print(project.report.to_markdown())  # doctest: +SKIP
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("file not found", file=str(path), rule="file_missing")
    suffix = path.suffix.casefold()
    if suffix == ".qdc":
        codebook, report = _read_qdc(path, theme_from)
        empty = QdaProject(segments_frame([]), codebook, documents_frame([]), report)
        return empty
    variable_mapping = load_mapping(mapping)
    if suffix == ".qde":
        return _read_bare_qde(path, variable_mapping, theme_from, limits)
    report = ImportReport(source=str(path), format="qdpx")
    with _SafeArchive(path, limits) as archive:
        report.count("archive_members", len(archive.members))
        project_info = archive.project_member()
        if project_info.filename.replace("\\", "/").rsplit("/", 1)[-1] != "project.qde":
            report.warnings.append(f"project file is '{project_info.filename}', not 'project.qde'; read anyway")
        where = _archive_member_label(str(path), project_info.filename)
        root = _checked_root(archive.read(project_info), where, "Project", (NS_PROJECT,), report)
        index = archive.sources_index(project_info)

        def load_text(plain_text_path: str, source_name: str) -> str | None:
            scheme, sep, rest = plain_text_path.partition("://")
            if not sep or scheme.casefold() != "internal":
                return None
            info = index.get(_file_key(rest))
            if info is None:
                raise DataError(
                    f"source '{source_name}' points to {plain_text_path}, but the archive has no such file in "
                    "its sources folder", file=str(path), rule="source_missing",
                )
            member_where = _archive_member_label(str(path), info.filename)
            return _decode_text(archive.read(info), member_where, report)

        return _parse_project(root, where, load_text, variable_mapping, theme_from, report)


def _read_bare_qde(path: Path, mapping: VariableMapping, theme_from: ThemeFrom, limits: ArchiveLimits) -> QdaProject:
    report = ImportReport(source=str(path), format="qde")
    root = _checked_root(_read_local(path, path.parent, limits), str(path), "Project", (NS_PROJECT,), report)
    folders = [p for p in path.parent.iterdir() if p.name.casefold() == "sources" and p.is_dir() and not p.is_symlink()]
    index = {}
    for folder in folders:
        for entry in folder.iterdir():
            index[_file_key(entry.name)] = entry

    def load_text(plain_text_path: str, source_name: str) -> str | None:
        scheme, sep, rest = plain_text_path.partition("://")
        if not sep or scheme.casefold() != "internal":
            return None
        entry = index.get(_file_key(rest))
        if entry is None:
            report.warnings.append(f"source '{source_name}': {plain_text_path} not found in a 'sources' folder "
                                   f"beside {path.name}")
            return None
        return _decode_text(_read_local(entry, entry.parent, limits), str(entry), report)

    return _parse_project(root, str(path), load_text, mapping, theme_from, report)


def _read_local(path: Path, folder: Path, limits: ArchiveLimits) -> bytes:
    """Read a file that must be a regular file inside ``folder``, within the size limit."""
    if path.is_symlink():
        raise DataError("refused: the file is a symbolic link", file=str(path), rule="file_symlink")
    resolved, base = path.resolve(), folder.resolve()
    if base not in resolved.parents and resolved != base:
        raise DataError("refused: the file lies outside its folder", file=str(path), rule="file_outside")
    size = path.stat().st_size
    if size > limits.max_member_bytes:
        raise DataError(f"refused: {size} bytes, more than the limit of {limits.max_member_bytes}",
                        file=str(path), rule="file_size")
    return path.read_bytes()


def _read_qdc(path: Path, theme_from: ThemeFrom) -> tuple[pd.DataFrame, ImportReport]:
    report = ImportReport(source=str(path), format="qdc")
    root = _checked_root(_read_local(path, path.parent, ArchiveLimits()), str(path), "CodeBook",
                         (NS_CODEBOOK, NS_PROJECT), report)
    nodes = _walk_codes(_child(root, "Codes"), str(path), report)
    constructs = _constructs_from_sets(_child(root, "Sets"), report)
    codebook, _ = _build_codebook(nodes, constructs, set(), theme_from, report)
    return codebook, report


def read_qdc(path: str | Path, *, theme_from: ThemeFrom = "top") -> pd.DataFrame:
    """Read a REFI-QDA codebook (``.qdc``) into the ``codebook`` table.

    Same code and theme rules as `read_qdpx` (see the module docstring).

    Examples
    --------
    >>> read_qdc("codebook.qdc").head()  # doctest: +SKIP
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("file not found", file=str(path), rule="file_missing")
    return _read_qdc(path, theme_from)[0]


def import_qda(
    path: str | Path,
    *,
    mapping: VariableMapping | Mapping[str, Any] | str | Path | None = None,
    vendor: str = "auto",
    theme_from: ThemeFrom = "top",
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, ImportReport]:
    """Any supported QDA export -> (segments, codebook, documents, report).

    ``.qdpx`` / ``.qde`` / ``.qdc`` go through `read_qdpx`; ``.csv`` /
    ``.xlsx`` coded-segment tables through
    `ponzoni_eval.qda_tables.read_coded_segments_export` (``vendor`` applies).
    This is the one call a pipeline needs to turn a QDA file found among the
    raw data into ``coded_segments`` and ``codebook`` tables.
    """
    suffix = Path(path).suffix.casefold()
    if suffix in (".qdpx", ".qde", ".qdc"):
        project = read_qdpx(path, mapping=mapping, theme_from=theme_from)
    elif suffix in (".csv", ".tsv", ".txt", ".xlsx", ".xlsm"):
        from .qda_tables import read_coded_segments_export

        project = read_coded_segments_export(path, vendor=vendor, mapping=mapping, theme_from=theme_from)
    else:
        raise DataError("not a QDA export this package reads", file=str(path),
                        expected=".qdpx, .qde, .qdc, or a coded-segments .csv/.xlsx", found=Path(path).suffix,
                        rule="qda_format")
    return project.segments, project.codebook, project.documents, project.report


IMPORT_FILES = ("coded_segments.csv", "codebook.csv", "qda_import_report.md")
"""What `import_qda_to_folder` writes."""


def import_qda_to_folder(
    path: str | Path,
    out_dir: str | Path,
    *,
    mapping: VariableMapping | Mapping[str, Any] | str | Path | None = None,
    vendor: str = "auto",
    theme_from: ThemeFrom = "top",
    overwrite: bool = False,
) -> tuple[dict[str, Path], ImportReport]:
    """`import_qda`, then write ``coded_segments.csv``, ``codebook.csv`` and a Markdown report.

    The CSVs are ready for ``data/raw/<dataset>/``. Existing files are not
    replaced unless ``overwrite=True`` (raw data are never altered by
    accident). A ``.qdc`` gives only ``codebook.csv``.

    Returns
    -------
    written : dict file name -> Path
    report : ImportReport
    """
    out_dir = Path(out_dir)
    segments, codebook, _, report = import_qda(path, mapping=mapping, vendor=vendor, theme_from=theme_from)
    tables = {"codebook.csv": codebook}
    if report.format != "qdc":
        tables = {"coded_segments.csv": segments, **tables}
    names = [*tables, IMPORT_FILES[2]]
    existing = [name for name in names if (out_dir / name).exists()]
    if existing and not overwrite:
        raise DataError("refusing to overwrite existing files; remove them or allow overwriting (--force)",
                        file=str(out_dir), found=existing, rule="overwrite")
    written = {name: _atomic_write(out_dir / name, frame.to_csv(index=False).encode("utf-8"))
               for name, frame in tables.items()}
    written[IMPORT_FILES[2]] = _atomic_write(out_dir / IMPORT_FILES[2], report.to_markdown().encode("utf-8"))
    return written, report


# --- export ---------------------------------------------------------------------------------

_GUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "ponzoni_eval/refi-qda")
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _stable_guid(*parts: object) -> str:
    """A GUID that depends only on what it names (uuid5), so exports are reproducible."""
    return str(uuid.uuid5(_GUID_NAMESPACE, "\x1f".join(str(p) for p in parts)))


def _xml_text(value: object) -> str:
    return _XML_ILLEGAL.sub("", str(value))


def _element(parent: ET.Element | None, tag: str, **attributes: object) -> ET.Element:
    attrs = {k: _xml_text(v) for k, v in attributes.items() if v is not None}
    return ET.Element(tag, attrs) if parent is None else ET.SubElement(parent, tag, attrs)


def _present(value: object) -> bool:
    return value is not None and not (isinstance(value, float) and pd.isna(value)) and value is not pd.NA \
        and str(value) != ""


def _code_tree(codebook: pd.DataFrame) -> tuple[list[str], dict[str | None, list[str]], set[str]]:
    """Order of nodes, children per parent (None = top) and which nodes are codes."""
    codes = [str(c) for c in codebook["code"]]
    duplicates = sorted({c for c in codes if codes.count(c) > 1})
    if duplicates:
        raise DataError("codes must be unique in the codebook", file="codebook", column="code",
                        found=duplicates, rule="unique")
    parent = {str(r.code): (str(r.theme) if _present(r.theme) else None) for r in codebook.itertuples()}
    children: dict[str | None, list[str]] = {}
    for code in codes:
        theme = parent[code]
        if theme is not None and theme not in parent:
            if theme not in children.get(None, []):
                children.setdefault(None, []).append(theme)
        children.setdefault(theme, []).append(code)
    for code in codes:  # a theme chain must end at the top
        seen, node = set(), code
        while node is not None:
            if node in seen:
                raise DataError("the themes of these codes form a cycle", file="codebook", column="theme",
                                found=sorted(seen), rule="theme_cycle")
            seen.add(node)
            node = parent.get(node)
    return codes, children, set(codes)


def _codes_xml(parent: ET.Element, codebook: pd.DataFrame) -> dict[str, str]:
    """Write <Codes>; returns code name -> GUID."""
    _, children, is_code = _code_tree(codebook)
    definition = {str(r.code): r.definition for r in codebook.itertuples()}
    guids: dict[str, str] = {}
    codes_element = _element(parent, "Codes")
    stack: list[tuple[ET.Element, str]] = [(codes_element, name) for name in reversed(children.get(None, []))]
    while stack:
        container, name = stack.pop()
        codable = name in is_code
        guid = _stable_guid("code" if codable else "theme", name)
        element = _element(container, "Code", guid=guid, name=name, isCodable="true" if codable else "false")
        if codable:
            guids[name] = guid
            if _present(definition.get(name)):
                _element(element, "Description").text = _xml_text(definition[name])
        stack.extend((element, child) for child in reversed(children.get(name, [])))
    return guids


def _construct_sets(parent: ET.Element, codebook: pd.DataFrame, guids: Mapping[str, str], member_attribute: str) -> None:
    constructs: dict[str, list[str]] = {}
    for row in codebook.itertuples():
        if _present(row.construct):
            constructs.setdefault(str(row.construct), []).append(str(row.code))
    if not constructs:
        return
    sets = _element(parent, "Sets")
    for construct, codes in constructs.items():
        set_element = _element(sets, "Set", guid=_stable_guid("set", "construct", construct), name=f"construct: {construct}")
        for code in codes:
            _element(set_element, "MemberCode", **{member_attribute: guids[code]})


def _xml_bytes(root: ET.Element) -> bytes:
    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _atomic_write(path: Path, data: bytes) -> Path:
    """Write next to the target, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temporary, "xb") as stream:  # normal permissions (umask), unlike mkstemp's 0600
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def _check_codebook(codebook: pd.DataFrame) -> pd.DataFrame:
    require_columns(codebook, ("code",), "codebook")
    codebook = codebook.copy()
    for column in ("theme", "definition", "construct"):
        if column not in codebook.columns:
            codebook[column] = None
    return codebook


def write_qdc(codebook: pd.DataFrame, path: str | Path, *, origin: str = "ponzoni_eval") -> Path:
    """Write the ``codebook`` table as a REFI-QDA codebook (``.qdc``).

    Codes are nested under their theme (a non-codable ``Code`` unless the
    theme is itself a code); ``definition`` becomes the code's Description and
    ``construct`` a Set named ``construct: <name>``. GUIDs are uuid5 of the
    names, so the file is byte-identical for the same codebook.

    Examples
    --------
    >>> write_qdc(codebook, "codebook.qdc")  # doctest: +SKIP
    """
    codebook = _check_codebook(codebook)
    if not len(codebook):
        raise DataError("the codebook is empty; a REFI-QDA codebook needs at least one code", file="codebook",
                        rule="codebook_empty")
    root = _element(None, "CodeBook", xmlns=NS_CODEBOOK, origin=origin)
    guids = _codes_xml(root, codebook)
    _construct_sets(root, codebook, guids, "guid")
    return _atomic_write(Path(path), _xml_bytes(root))


def _document_variables(segments: pd.DataFrame, documents: pd.DataFrame) -> dict[str, dict[str, str | None]]:
    """participant_id, case_id, wave per document, from documents or else from segments."""
    per_document: dict[str, dict[str, str | None]] = {str(d): {} for d in documents["document_id"]}
    for target in TARGETS:
        if target in documents.columns:
            for document_id, value in zip(documents["document_id"], documents[target]):
                per_document[str(document_id)][target] = str(value) if _present(value) else None
            continue
        if target not in segments.columns:
            continue
        values = segments.loc[segments[target].notna(), ["document_id", target]].drop_duplicates()
        conflicting = values["document_id"][values["document_id"].duplicated()].unique().tolist()
        if conflicting:
            raise DataError(f"a document has more than one {target} in coded_segments", file="coded_segments",
                            column=target, found=conflicting, rule="document_variable")
        for document_id, value in zip(values["document_id"], values[target]):
            per_document[str(document_id)][target] = str(value)
    return per_document


def write_qdpx(
    segments: pd.DataFrame,
    codebook: pd.DataFrame,
    documents: pd.DataFrame,
    path: str | Path,
    *,
    users: Mapping[str, str] | None = None,
    project_name: str = "ponzoni_eval export",
    origin: str = "ponzoni_eval",
) -> Path:
    """Write coded segments, codebook and document texts as a REFI-QDA project (``.qdpx``).

    Parameters
    ----------
    segments : DataFrame
        ``coded_segments`` (document_id, coder, code, start, end; text,
        participant_id, case_id, wave optional). Offsets must be characters.
    codebook : DataFrame
        ``codebook`` (code; theme, definition, construct optional).
    documents : DataFrame
        document_id and text (name, participant_id, case_id, wave optional;
        missing variables are taken from the segments).
    path : str or Path
        The ``.qdpx`` file to write (atomically).
    users : mapping coder -> display name, optional
        Names for the REFI-QDA ``User`` elements; the coder itself is kept in
        the User ``id`` (default: the name is the coder). QDA programs, and
        `read_qdpx`, show the name, so reading back gives the display name.

    Returns
    -------
    Path

    Notes
    -----
    The archive holds ``project.qde`` and ``sources/<guid>.txt`` (UTF-8). The
    project has Users, a CodeBook nesting codes under their theme, Variables
    and Cases (one case per participant with participant_id and case_id,
    listing the participant's documents), and one TextSource per document
    with its participant_id / case_id / wave as VariableValues and one
    PlainTextSelection per distinct (start, end), carrying one Coding per
    coded segment. Constructs become Sets named ``construct: <name>``.
    GUIDs are uuid5 of stable ids, members are stored uncompressed with a fixed
    timestamp and in a fixed order, so the same tables give a byte-identical
    file on any machine. `read_qdpx` of the result gives back the segments.

    Raises
    ------
    DataError
        When a column is missing, a segment's code is not in the codebook, its
        document is not in documents, its offsets lie outside the text, its
        text differs from the document at those offsets, or positions are not
        characters (tables exported by MAXQDA/ATLAS.ti count paragraphs).

    Examples
    --------
    >>> write_qdpx(segments, codebook, documents, "interviews.qdpx")  # doctest: +SKIP
    """
    require_columns(segments, ("document_id", "coder", "code", "start", "end"), "coded_segments")
    require_columns(documents, ("document_id", "text"), "documents")
    codebook = _check_codebook(codebook)
    if "position_unit" in segments.columns:
        units = set(segments["position_unit"].dropna().astype(str)) - {"character"}
        if units:
            raise DataError("REFI-QDA selections need character offsets; these segments count "
                            f"{sorted(units)} (MAXQDA/ATLAS.ti table exports)", file="coded_segments",
                            column="position_unit", rule="position_unit")
    document_ids = [str(d) for d in documents["document_id"]]
    if len(set(document_ids)) != len(document_ids):
        raise DataError("document_id must be unique in documents", file="documents", column="document_id",
                        rule="unique")
    texts = {str(d): ("" if not _present(t) else str(t)) for d, t in zip(documents["document_id"], documents["text"])}
    names = ({str(d): (str(n) if _present(n) else str(d)) for d, n in zip(documents["document_id"], documents["name"])}
             if "name" in documents.columns else {d: d for d in document_ids})

    unknown_codes = sorted(set(segments["code"].astype(str)) - set(codebook["code"].astype(str)))
    if unknown_codes:
        raise DataError("codes used in coded_segments are missing from the codebook", file="coded_segments",
                        column="code", found=unknown_codes, rule="code_in_codebook")
    unknown_documents = sorted(set(segments["document_id"].astype(str)) - set(texts))
    if unknown_documents:
        raise DataError("segments refer to documents that are not in documents", file="coded_segments",
                        column="document_id", found=unknown_documents, rule="document_exists")
    frame = segments.reset_index(drop=True)
    lengths = frame["document_id"].astype(str).map({d: len(t) for d, t in texts.items()}).astype("int64")
    bad = frame.index[(frame["start"] < 0) | (frame["end"] < frame["start"]) | (frame["end"] > lengths)]
    if len(bad):
        row = frame.loc[bad[0]]
        raise DataError("segment offsets lie outside the document text", file="coded_segments", row=int(bad[0]) + 2,
                        column="end", expected=f"0 <= start <= end <= {lengths[bad[0]]}",
                        found=f"{row['start']}-{row['end']}", rule="selection_bounds")
    if "text" in frame.columns:
        sliced = [texts[str(d)][int(s):int(e)] for d, s, e in zip(frame["document_id"], frame["start"], frame["end"])]
        given = frame["text"]
        mismatch = [i for i, (q, t) in enumerate(zip(sliced, given)) if _present(t) and str(t) != q]
        if mismatch:
            raise DataError("the quote differs from the document text at its offsets", file="coded_segments",
                            row=mismatch[0] + 2, column="text", found=str(given.iloc[mismatch[0]])[:60],
                            expected=repr(sliced[mismatch[0]][:60]), rule="quote_matches_text")

    coders = sorted(set(frame["coder"].astype(str)))
    users = dict(users or {})
    user_guid = {c: _stable_guid("user", c) for c in coders}
    variables = _document_variables(frame, documents)

    # The schema wants at least one child in Users, Codes, Variables, Cases and Sources: empty ones are left out.
    root = _element(None, "Project", xmlns=NS_PROJECT, name=project_name, origin=origin)
    if coders:
        users_element = _element(root, "Users")
        for coder in coders:
            _element(users_element, "User", guid=user_guid[coder], name=users.get(coder, coder), id=coder)
    code_guids = _codes_xml(_element(root, "CodeBook"), codebook) if len(codebook) else {}

    used_targets = [t for t in TARGETS if any(v.get(t) for v in variables.values())]
    variable_guid = {t: _stable_guid("variable", t) for t in ("document_id", *used_targets)}
    if document_ids:
        variables_element = _element(root, "Variables")
        for target in variable_guid:
            _element(variables_element, "Variable", guid=variable_guid[target], name=target, typeOfVariable="Text")

    def add_value(parent: ET.Element, target: str, value: str) -> None:
        value_element = _element(parent, "VariableValue")
        _element(value_element, "VariableRef", targetGUID=variable_guid[target])
        _element(value_element, "TextValue").text = _xml_text(value)

    participants: dict[str, list[str]] = {}
    for document_id in document_ids:
        participant = variables[document_id].get("participant_id")
        if participant:
            participants.setdefault(participant, []).append(document_id)
    if participants:
        cases_element = _element(root, "Cases")
        for participant in sorted(participants):
            case = _element(cases_element, "Case", guid=_stable_guid("case", participant), name=participant)
            add_value(case, "participant_id", participant)
            case_ids = [variables[d].get("case_id") for d in participants[participant] if variables[d].get("case_id")]
            if case_ids:
                add_value(case, "case_id", case_ids[0])
            for document_id in participants[participant]:
                _element(case, "SourceRef", targetGUID=_stable_guid("source", document_id))

    members: list[tuple[str, bytes]] = []
    sources_element = _element(root, "Sources") if document_ids else None
    # One sort for all documents; then plain tuples, because building XML is per element anyway.
    ordered = pd.DataFrame({
        "document_id": frame["document_id"].astype(str), "start": frame["start"].astype("int64"),
        "end": frame["end"].astype("int64"), "code": frame["code"].astype(str), "coder": frame["coder"].astype(str),
    }).sort_values(["document_id", "start", "end"], kind="stable")
    by_document: dict[str, list[tuple[int, int, str, str]]] = {}
    for document_id, start, end, code, coder in ordered.itertuples(index=False, name=None):
        by_document.setdefault(document_id, []).append((start, end, code, coder))
    for document_id in document_ids:
        source_guid = _stable_guid("source", document_id)
        source = _element(sources_element, "TextSource", guid=source_guid, name=names[document_id],
                          plainTextPath=f"internal://{source_guid}.txt")
        text = texts[document_id]
        members.append((f"sources/{source_guid}.txt", text.encode("utf-8")))
        occurrences: Counter[tuple[int, int, str, str]] = Counter()
        for (start, end), group in itertools.groupby(by_document.get(document_id, []), key=lambda r: r[:2]):
            codings = list(group)
            selection = _element(source, "PlainTextSelection", guid=_stable_guid("selection", document_id, start, end),
                                 name=text[start:end][:100], startPosition=start, endPosition=end,
                                 creatingUser=user_guid[codings[0][3]])
            for key in codings:
                occurrences[key] += 1
                coding = _element(selection, "Coding", guid=_stable_guid("coding", document_id, *key, occurrences[key]),
                                  creatingUser=user_guid[key[3]])
                _element(coding, "CodeRef", targetGUID=code_guids[key[2]])
        add_value(source, "document_id", document_id)
        for target in used_targets:
            value = variables[document_id].get(target)
            if value:
                add_value(source, target, value)
    _construct_sets(root, codebook, code_guids, "targetGUID")
    members.insert(0, ("project.qde", _xml_bytes(root)))
    return _atomic_write(Path(path), _deterministic_zip(members))


def _deterministic_zip(members: list[tuple[str, bytes]]) -> bytes:
    """Stored (uncompressed) members, fixed timestamp and permissions: identical bytes everywhere."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            info.create_system = 3
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            archive.writestr(info, data)
    return buffer.getvalue()
