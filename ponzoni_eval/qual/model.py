"""The REFI-QDA model as the package uses it: target tables, the variable mapping, ids and the import report."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Literal, Mapping

import pandas as pd

from ponzoni_eval._core.errors import DataError
from ponzoni_eval._core.tomlfile import read_toml
from ponzoni_eval._core.vocabulary import MEMO_KINDS, WAVES  # noqa: F401 (MEMO_KINDS: what memos.annotates holds)

__all__ = [
    "CODEBOOK_COLUMNS",
    "DOCUMENT_COLUMNS",
    "ImportReport",
    "MEMO_COLUMNS",
    "NS_CODEBOOK",
    "NS_PROJECT",
    "PATH_SEPARATOR",
    "QdaProject",
    "SEGMENT_COLUMNS",
    "TreeNode",
    "VariableMapping",
    "code_tree",
    "load_mapping",
    "pseudonymise_users",
]


NS_PROJECT = "urn:QDA-XML:project:1.0"
NS_CODEBOOK = "urn:QDA-XML:codebook:1.0"

SEGMENT_COLUMNS = ("document_id", "participant_id", "case_id", "wave", "coder", "code", "start", "end", "text", "position_unit")
"""Columns of the segments frame: the ``coded_segments`` table plus ``position_unit``
(``"character"`` here; vendor table exports give ``"paragraph"``)."""

CODEBOOK_COLUMNS = ("code", "theme", "definition", "construct", "code_id", "parent_id", "path", "depth", "codable")
"""Columns of the codebook frame: the ``codebook`` table with the code tree kept whole (see `code_tree`)."""
DOCUMENT_COLUMNS = ("document_id", "name", "participant_id", "case_id", "wave", "text", "variables")
MEMO_COLUMNS = ("memo_id", "annotates", "document_id", "code", "start", "end", "author", "created", "title", "text")
"""Columns of the memos frame: one row per project note, code memo, document memo, or comment on a
selection or coding. ``annotates`` is ``project``, ``code``, ``document``, ``selection``, ``coding`` or
``case``; ``document_id``, ``code``, ``start`` and ``end`` say what exactly, where it applies."""

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


def mapping_key(text: str) -> str:
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
        own = {mapping_key(k): v for k, v in self.values.get(target, {}).items()}
        if mapping_key(value) in own:
            return own[mapping_key(value)]
        if target == "wave":
            return _normalise_wave(value)
        return value


def _normalise_wave(value: str) -> str:
    key = mapping_key(value)
    match = re.fullmatch(r"t?([0-9])", key)
    if match and f"t{match.group(1)}" in WAVES:
        return f"t{match.group(1)}"
    return WAVE_WORDS.get(key, value)


_MAPPING_KEYS = {"variables", "values", "documents", "defaults"}


def _shown(value: Any) -> str:
    """A value of a settings file as a message shows it (short)."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


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
        source = str(mapping)
        try:  # encoding, size, syntax and 64-bit numbers, located (issue 19); an empty file is a mistake
            data = read_toml(mapping, rule="mapping", label=source, allow_empty=False)
        except DataError as exc:
            if exc.message == "file not found":
                raise DataError("mapping file not found", file=source, rule="mapping") from None
            raise
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

    def table(name: str) -> Mapping[str, Any]:
        value = data.get(name, {})
        if not isinstance(value, Mapping):
            raise DataError(f"[{name}] must be a table (a [{name}] heading with key = value lines)", file=source,
                            column=name, found=_shown(value), rule="mapping")
        return value

    def text(where: str, value: Any, *, numbers: bool = False) -> str:
        if isinstance(value, str) or (numbers and isinstance(value, int) and not isinstance(value, bool)):
            return str(value)
        raise DataError("must be text in quotes" + (" (or a whole number)" if numbers else ""), file=source,
                        column=where, found=_shown(value), rule="mapping")

    variables = dict(DEFAULT_VARIABLE_NAMES)
    given = table("variables")
    check_targets("variables", given)
    for target, names in given.items():
        if isinstance(names, list) and names:
            variables[target] = tuple(text(f"variables.{target}[{i}]", n) for i, n in enumerate(names))
        else:
            variables[target] = (text(f"variables.{target}", names),)

    values = table("values")
    check_targets("values", values)
    for target, recode in values.items():
        if not isinstance(recode, Mapping):
            raise DataError(f"[values.{target}] must be a table: value = replacement", file=source,
                            column=".".join(("values", str(target))), found=_shown(recode), rule="mapping")
    values = {t: {str(k): text(".".join(("values", str(t), str(k))), v, numbers=True) for k, v in m.items()} for t, m in values.items()}

    documents = dict(table("documents"))
    for key in ("pattern", "case_name"):
        if key in documents:
            text(f"documents.{key}", documents[key])
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

    defaults = {str(k): text(f"defaults.{k}", v, numbers=True) for k, v in table("defaults").items()}
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
    present = {mapping_key(name): (name, str(value).strip()) for name, value in variables.items()
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
            hit = present.get(mapping_key(candidate))
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


_TARGET_WORDS = {"participant_id": "participant", "case_id": "case", "wave": "wave"}


def missing_target_advice(target: str, n_documents: int, source: str) -> str:
    """What to do when documents of an export have no participant, case or wave, in the evaluator's terms."""
    what = _TARGET_WORDS.get(target, target)
    advice = (f"{n_documents} document(s) have no {what}: add a `{target}` rule in qda_mapping.toml "
              f"([variables], [documents] pattern or [defaults]) or run `ponzoni-eval qda-map {Path(source).name}` "
              "to have one proposed")
    if target == "participant_id":
        advice += " (group interviews may stay without a participant)"
    return advice


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


PATH_SEPARATOR = " / "
"""Joins the levels of a code's ``path`` (``Samenwerking / Vertrouwen / Wederzijds``) and of display names."""


@dataclass(frozen=True)
class TreeNode:
    """One node of a code tree as an export gives it.

    ``path`` is the names from the top level down to the node, each name
    already split on the vendor's separator (``Trust::Mutual trust`` is two
    levels). ``codable`` is the export's flag; ``row`` says whether the node
    becomes a codebook row (codes, and folders that hold codings) or is a
    folder whose name only appears in the paths below it.
    """

    key: Any
    path: tuple[str, ...]
    codable: bool = True
    row: bool = True


def _slug(name: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^0-9a-z]+", "_", ascii_text.casefold()).strip("_") or "code"


def code_tree(
    nodes: Iterable[TreeNode],
    theme_from: ThemeFrom = "top",
    theme_folders: Iterable[str] = (),
) -> tuple[dict[Any, dict[str, Any]], list[str]]:
    """Codebook columns for each row node of a code tree: the tree kept whole.

    For every node with ``row=True``: ``code`` (display name), ``theme``,
    ``code_id``, ``parent_id``, ``path`` (all levels joined with
    `PATH_SEPARATOR`), ``depth`` (1 at the top) and ``codable``.

    Rules
    -----
    * ``code_id`` is the path, each level reduced to lower-case letters,
      digits and ``_``, joined with ``/`` (``samenwerking/vertrouwen``), so it
      is the same in every export of the same tree; ``parent_id`` is the
      ``code_id`` of the level above (also when that level is a folder or the
      first half of an ATLAS.ti ``Parent::Child`` name), empty at the top.
    * ``code`` is the node's own name; codes that share a name get the
      shortest end of their path that tells them apart (``Trust / Other``,
      ``Safe space / Other``; ``A / B / Other`` only when ``B / Other`` is
      shared too). The report lists every such name.
    * ``theme`` is the top level of the path (``theme_from="top"``) or the
      level above the code (``"parent"``), after leaving out *containers*:
      non-codable folders at the top of the tree that hold no code without
      sub-codes directly (NVivo's ``Codes`` or ``Themes`` folder around the
      real themes). A folder that holds codes directly (how `write_qdpx`
      stores a theme) is a theme. ``theme_folders`` names folders (name or
      whole path) that are themes anyway. A code at the (effective) top level
      has no theme.
    """
    if theme_from not in ("top", "parent"):
        raise ValueError(f"theme_from must be 'top' or 'parent', not {theme_from!r}")
    nodes = list(nodes)
    chosen = {mapping_key(name) for name in theme_folders}
    real = {node.path: node for node in nodes}
    prefixes = {node.path[:i] for node in nodes for i in range(1, len(node.path) + 1)}
    has_children = {p[:-1] for p in prefixes if len(p) > 1}
    leaves = prefixes - has_children

    def container(prefix: tuple[str, ...]) -> bool:
        node = real.get(prefix)
        if node is None or node.codable or node.row:
            return False
        if mapping_key(prefix[-1]) in chosen or mapping_key(PATH_SEPARATOR.join(prefix)) in chosen:
            return False
        return not any(p[:-1] == prefix for p in leaves)

    ids: dict[tuple[str, ...], str] = {}
    for prefix in sorted(prefixes, key=lambda p: (len(p), p)):
        base = (ids[prefix[:-1]] + "/" if len(prefix) > 1 else "") + _slug(prefix[-1])
        candidate, n = base, 1
        while candidate in ids.values():
            n += 1
            candidate = f"{base}_{n}"
        ids[prefix] = candidate

    rows_nodes = [node for node in nodes if node.row]
    by_leaf: dict[str, set[tuple[str, ...]]] = {}
    for node in rows_nodes:
        by_leaf.setdefault(node.path[-1], set()).add(node.path)
    names: dict[tuple[str, ...], str] = {}
    for leaf, paths in by_leaf.items():
        for path in paths:
            length = 1
            while length < len(path) and sum(other[-length:] == path[-length:] for other in paths) > 1:
                length += 1
            names[path] = PATH_SEPARATOR.join(path[-length:])
    out: dict[Any, dict[str, Any]] = {}
    for node in rows_nodes:
        path = node.path
        skip = 0
        while skip < len(path) - 1 and container(path[: skip + 1]):
            skip += 1
        effective = path[skip:]
        if len(effective) == 1:
            theme = None
        else:
            theme = effective[0] if theme_from == "top" else effective[-2]
        out[node.key] = {"code": names[path], "theme": theme, "code_id": ids[path],
                         "parent_id": ids[path[:-1]] if len(path) > 1 else None,
                         "path": PATH_SEPARATOR.join(path), "depth": len(path), "codable": node.codable}
    warnings = [
        f"code name '{leaf}' occurs under several parents; named by the end of its path: "
        + ", ".join(sorted(names[p] for p in paths))
        for leaf, paths in sorted(by_leaf.items()) if len(paths) > 1
    ]
    return out, warnings


def codebook_from_paths(
    paths: Mapping[Any, tuple[str, ...]],
    theme_from: ThemeFrom = "top",
) -> tuple[dict[Any, dict[str, Any]], list[str]]:
    """`code_tree` for codes given only as paths (vendor tables: every code a row, every level codable)."""
    return code_tree([TreeNode(key, tuple(path)) for key, path in paths.items()], theme_from)


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

    def scrub(self, text: str) -> str:
        """Text without the folder the source lies in (it may hold a user or machine name): file names only."""
        folder = str(Path(self.source).parent)
        if folder in ("", "."):
            return text
        for prefix in {folder, folder.replace("\\", "/")}:
            text = text.replace(prefix + "/", "").replace(prefix + "\\", "").replace(prefix, "")
        return text

    def as_dict(self) -> dict[str, Any]:
        """The report as plain data, with file names only (never the folders on this computer)."""
        return {
            "source": Path(self.source).name, "format": self.format, "counts": dict(sorted(self.counts.items())),
            "skipped": [{k: self.scrub(v) for k, v in s.items()} for s in self.skipped],
            "warnings": [self.scrub(w) for w in self.warnings], "offsets": dict(self.offsets),
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
        lines += [f"- {s['kind']} '{s['item']}': {self.scrub(s['reason'])}" for s in self.skipped] or ["- nothing"]
        lines += ["", "## Warnings", ""] + ([f"- {self.scrub(w)}" for w in self.warnings] or ["- none"])
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
    memos : DataFrame
        `MEMO_COLUMNS`: notes and comments (audit trail), empty when there are none.
    """

    segments: pd.DataFrame
    codebook: pd.DataFrame
    documents: pd.DataFrame
    report: ImportReport
    memos: pd.DataFrame = field(default_factory=lambda: memos_frame([]))


def segments_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows -> segments frame with the package dtypes (text columns ``str``, offsets int64)."""
    frame = pd.DataFrame(rows, columns=list(SEGMENT_COLUMNS))
    text_columns = [c for c in SEGMENT_COLUMNS if c not in ("start", "end")]
    frame[text_columns] = frame[text_columns].astype("str")
    return frame.astype({"start": "int64", "end": "int64"})


def codebook_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows -> codebook frame (text columns ``str``, ``depth`` int64, ``codable`` bool)."""
    frame = pd.DataFrame(rows, columns=list(CODEBOOK_COLUMNS))
    text_columns = [c for c in CODEBOOK_COLUMNS if c not in ("depth", "codable")]
    frame[text_columns] = frame[text_columns].astype("str")
    return frame.astype({"depth": "int64", "codable": "bool"})


def documents_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(DOCUMENT_COLUMNS))
    text_columns = [c for c in DOCUMENT_COLUMNS if c != "variables"]
    frame[text_columns] = frame[text_columns].astype("str")
    frame["variables"] = frame["variables"].astype(object)
    return frame


def memos_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows -> memos frame (text columns ``str``, positions nullable ``Int64``)."""
    frame = pd.DataFrame(rows, columns=list(MEMO_COLUMNS))
    text_columns = [c for c in MEMO_COLUMNS if c not in ("start", "end")]
    frame[text_columns] = frame[text_columns].astype("str")
    return frame.astype({"start": "Int64", "end": "Int64"})


# --- privacy of exports (issue 16, item 6) ------------------------------------------------

_NOT_A_PERSON = {"unknown", "", "nan", "None", "<NA>"}


def user_pseudonyms(names: Iterable[Any]) -> dict[str, str]:
    """Stable pseudonyms ``coder_1``, ``coder_2``... for user names, numbered in sorted order of the names.

    Sorted order keeps the tie rule of the primary coder (alphabetical) and gives
    the same pseudonym to the same person in every export of the project; the
    number is zero-padded from ten users on, so pseudonyms sort like the names.
    ``unknown`` (no user recorded) stays as it is.
    """
    people = sorted({str(n) for n in names if n is not None and not pd.isna(n) and str(n) not in _NOT_A_PERSON})
    width = len(str(len(people))) if len(people) >= 10 else 1
    return {name: f"coder_{i:0{width}d}" for i, name in enumerate(people, start=1)}


def pseudonymise_users(project: "QdaProject") -> "QdaProject":
    """The project with coders and memo authors replaced by `user_pseudonyms` (one person, one pseudonym).

    The same mapping serves ``segments.coder`` and ``memos.author``, so a coder who
    writes memos keeps one pseudonym and intercoder pairs stay pairs. The report
    counts the pseudonymised users; the names themselves are never written.
    """
    pseudonyms = user_pseudonyms([*project.segments["coder"].tolist(), *project.memos["author"].tolist()])
    if not pseudonyms:
        return project
    segments = project.segments.assign(coder=project.segments["coder"].map(lambda v: pseudonyms.get(str(v), v)))
    memos = project.memos.assign(author=project.memos["author"].map(
        lambda v: pseudonyms.get(str(v), v) if v is not None and not pd.isna(v) else v))
    project.report.count("users_pseudonymised", len(pseudonyms))
    return QdaProject(segments.astype({"coder": "str"}), project.codebook, project.documents, project.report,
                      memos_frame(memos.to_dict("records")))
