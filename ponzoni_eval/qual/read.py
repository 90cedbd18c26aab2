"""REFI-QDA in and out: ``.qdpx`` projects, bare ``.qde`` project XML, ``.qdc`` codebooks.

Evaluators code interviews in ATLAS.ti, MAXQDA, NVivo, QualCoder, Quirkos or
Transana. All of them export the REFI-QDA exchange format: a ``.qdpx`` zip
archive holding one project XML file (``project.qde``, namespace
``urn:QDA-XML:project:1.0``) and a ``sources`` folder with the documents as
plain-text files, or a ``.qdc`` codebook (namespace ``urn:QDA-XML:codebook:1.0``).
This module turns such a project into the package's ``coded_segments`` and
``codebook`` tables (see `ponzoni_eval.data.schema`) and writes them back.

Public functions
----------------
`read_qdpx`, `read_qdc`, `import_qda` (any supported file -> segments,
codebook, documents, report), `import_qda_to_folder` (the same, written as
CSV files plus a report), `write_qdpx`, `write_qdc`, `load_mapping`.

How a project becomes tables
----------------------------
* **Codes and themes: the whole tree.** Every codable ``Code`` becomes one
  codebook row. Its *path* is the names of its ancestors and itself, each name
  also split on ``::`` (ATLAS.ti has no code tree, so teams write
  ``Trust::Mutual trust``); the row keeps it whole: ``path`` (all levels,
  ``A / B / C``), ``depth``, ``code_id`` and ``parent_id`` (the path as an
  identifier, the same in every export of the tree) and ``codable``.
  ``code`` is the code's own name; codes that share a name are told apart by
  the shortest end of their path (``Trust / Other``, ``Safe space / Other``)
  and the report lists them. ``theme`` is the top level of the path
  (``theme_from="top"``, the default) or the level above the code
  (``theme_from="parent"``); a code at the top level has no theme. Codes with
  ``isCodable="false"`` are folders: they are no rows, their names are in the
  paths below them, and a folder at the top that holds only sub-trees (NVivo's
  ``Codes`` folder around the real themes) is not the theme of its subtree
  unless named in ``theme_folders`` (see `ponzoni_eval.qual.model.code_tree`).
  A non-codable code that has codings is a row with ``codable`` false.
  ``definition`` is the code's ``Description``; ``construct`` comes from a
  ``Set`` named ``construct: <name>`` that lists the code (this is how
  `write_qdpx` stores it; code groups / code sets of that name work the same).
  Prevalence and co-occurrence aggregate at any level of the tree
  (`ponzoni_eval.qual.quantitize`, ``level=``).
* **Case nodes.** NVivo lists every case as a node too: a ``Code`` with the
  GUID of a ``Case``. Such codes are cases, not codebook rows, and codings to
  them are not segments: they place the source in the case (counted as
  ``case_nodes`` and ``case_codings`` in the report).
* **Segments.** One row per ``Coding`` of a ``PlainTextSelection``. ``start``
  and ``end`` are the selection's ``startPosition`` / ``endPosition``
  (characters, end exclusive) and ``text`` is the slice of the document.
  ``coder`` is the ``User`` (name, else id) named by the Coding's
  ``creatingUser``, else by the selection's, else the source's.
* **Positions.** Exports count ``startPosition`` / ``endPosition`` in code
  points, UTF-16 code units (NVivo) or UTF-8 bytes, with ``\\r\\n`` as one
  or two characters. `ponzoni_eval.qual.offsets.read_positions` chooses the
  reading per source from the bounds, the selection names and word
  boundaries; positions are converted to characters of ``documents.text``
  (the text they index), so ``text == documents.text[start:end]``. The
  reading used is in ``report.offsets``.
* **Document variables.** Values come from ``Cases/Case/VariableValue`` for
  every source the case lists in ``SourceRef`` (named or, as MAXQDA and
  Quirkos write them, nameless cases) or that is coded to the case (NVivo),
  then from sets of sources named ``Name::Value`` or ``Name: Value`` (ATLAS.ti
  document groups: ``Casus::Poelenburg A`` gives ``Casus`` = ``Poelenburg A``;
  groups whose name does not parse are listed in one warning), then from the
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
any letter case; positions in UTF-16 units or bytes, ``\\r\\n`` as one
character; nameless cases; an absolute ``basePath`` (not read and not echoed:
nothing outside the project is ever read); non-ASCII names; a root element
without namespace; sources that are not text (PDF, picture, audio, video) and
their selections, which are counted and skipped; text sources whose text is
missing or lies outside the project (see `_text_location`), skipped with their
selections and codings counted and one warning.

Refused with a `DataError` that names the file and what was refused: a DTD
(``<!DOCTYPE``; it is how XXE and "billion laughs" attacks work, and REFI-QDA
never needs one); XML that is not well-formed or has another namespace; a zip
member whose path is absolute or leaves the archive (``..``), a symbolic link,
an encrypted or duplicate member; more members, more decompressed bytes or a
higher compression ratio than `ArchiveLimits` allow (checked in the central
directory and again while decompressing); a corrupt zip; a ``.qdpx`` without
``.qde``; a selection outside its text under every reading of the positions;
a ``CodeRef`` to a GUID that is not in the codebook.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping

import pandas as pd

from ponzoni_eval._core.errors import DataError
from ponzoni_eval._core.vocabulary import WAVES
from ponzoni_eval.qual.archive import (
    archive_member_label,
    ArchiveLimits,
    decode_text,
    file_key,
    parse_xml,
    SafeArchive,
)
from ponzoni_eval.qual.model import (
    code_tree,
    codebook_frame,
    documents_frame,
    ImportReport,
    load_mapping,
    mapping_key,
    memos_frame,
    missing_target_advice,
    NS_CODEBOOK,
    NS_PROJECT,
    QdaProject,
    resolve_targets,
    segments_frame,
    split_code_path,
    TARGETS,
    ThemeFrom,
    TreeNode,
    unique_ids,
    VariableMapping,
)
from ponzoni_eval.qual.offsets import read_positions, Span

__all__ = [
    "group_variable",
    "read_qdc",
    "read_qdpx",
]


def _localise(root: ET.Element, namespace: str) -> None:
    """Drop our namespace from tags so that code reads ``el.tag == "Code"``."""
    prefix = "{" + namespace + "}"
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.startswith(prefix):
            element.tag = element.tag[len(prefix):]


def _checked_root(data: bytes, where: str, tag: str, namespaces: tuple[str, ...], report: ImportReport) -> ET.Element:
    root = parse_xml(data, where)
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
    """Document variables from sets of sources named ``Name::Value`` or ``Name: Value`` (ATLAS.ti document groups).

    ATLAS.ti has no document variables; its document groups travel as
    ``Set`` elements listing ``MemberSource``. A group called
    ``Casus::Poelenburg A`` gives its documents the variable ``Casus`` with the
    value ``Poelenburg A`` (the same ``::`` convention as ATLAS.ti code names);
    ``gender: male`` (one colon) gives ``gender`` = ``male``. Sets of sources
    whose name does not parse (MAXQDA document sets, plain groups) are counted
    and listed in one report warning, so a misspelt group is not lost silently.
    """
    values: dict[str, dict[str, str]] = {}
    unparsed = []
    for set_element in _children(sets, "Set"):
        sources = [_guid(m.get("targetGUID") or m.get("guid")) for m in _children(set_element, "MemberSource")]
        sources = [guid for guid in sources if guid]
        if not sources:
            continue
        report.count("document_sets")
        parsed = group_variable(set_element.get("name") or "")
        if parsed is None:
            unparsed.append(set_element.get("name") or "(no name)")
            continue
        variable, value = parsed
        report.count("document_sets.variables")
        for guid in sources:
            current = values.setdefault(guid, {})
            if current.get(variable, value) != value:
                report.warnings.append(f"source {guid} is in two groups for variable '{variable}' "
                                       f"('{current[variable]}', '{value}'); kept '{current[variable]}'")
                continue
            current[variable] = value
    if unparsed:
        report.warnings.append(
            f"{len(unparsed)} document group(s) not read as a variable (name not 'Variable::Value' or "
            "'Variable: Value'): " + ", ".join(f"'{name}'" for name in unparsed))
    return values


_GROUP_VARIABLE = re.compile(r"^\s*(?P<variable>[^:]+?)\s*(?:::|:)\s*(?P<value>\S.*?)\s*$")


def group_variable(name: str) -> tuple[str, str] | None:
    """(variable, value) from a document group's name, or None when it does not parse.

    ATLAS.ti has no document variables; teams name document groups
    ``Casus::Poelenburg A`` or ``gender: male``. The first ``::`` (else the
    first ``:``) separates the variable from the value; both must be non-empty.

    Examples
    --------
    >>> group_variable("Casus::Poelenburg A"), group_variable("gender: male"), group_variable("Vrouwen")
    (('Casus', 'Poelenburg A'), ('gender', 'male'), None)
    >>> group_variable("Tijd::10:30")
    ('Tijd', '10:30')
    """
    variable, separator, value = name.partition("::")
    if separator and variable.strip() and value.strip():
        return variable.strip(), value.strip()
    if separator:
        return None
    match = _GROUP_VARIABLE.match(name)
    return (match.group("variable"), match.group("value")) if match else None


def _build_codebook(
    nodes: list[_CodeNode],
    constructs: Mapping[str, str],
    used: set[str],
    theme_from: ThemeFrom,
    report: ImportReport,
    theme_folders: tuple[str, ...] = (),
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Codebook rows (the whole tree: code_id, parent_id, path, depth, codable) and guid -> code name."""
    tree = []
    for node in nodes:
        row = node.codable or node.guid in used
        if not node.codable and node.guid in used:
            report.warnings.append(f"code '{node.name}' is marked isCodable=\"false\" but has codings; "
                                   "imported as a code (codable false)")
        tree.append(TreeNode(node.guid, split_code_path(node.ancestors + (node.name,)), node.codable, row))
    columns, warnings = code_tree(tree, theme_from, theme_folders)
    report.warnings.extend(warnings)
    rows: dict[str, dict[str, Any]] = {}
    names: dict[str, str] = {}
    for node in nodes:
        if node.guid not in columns:
            continue
        row = columns[node.guid]
        names[node.guid] = row["code"]
        if row["code"] in rows:
            report.warnings.append(f"two codes are both called '{row['code']}' under the same parent; merged")
            continue
        rows[row["code"]] = {**row, "definition": node.description, "construct": constructs.get(node.guid)}
    folders = [n for n in nodes if n.guid not in columns]
    report.count("codes", len(rows))
    report.count("themes", len({r["theme"] for r in rows.values() if r["theme"]}))
    if rows:
        report.count("code_tree_depth", max(r["depth"] for r in rows.values()))
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
    annotations: list[dict[str, Any]] = field(default_factory=list)  # memos on the selection and its codings


def _annotations(element: ET.Element, kind: str, *, description: bool = True, **target: Any) -> list[dict[str, Any]]:
    """Memos attached to an element: its ``Description`` (a comment) and the ``Note``s its ``NoteRef``s name."""
    out = []
    text = _child_text(element, "Description") if description else None
    if text and text.strip():
        out.append({"kind": kind, "note": None, "text": text.strip(), "user": _guid(element.get("creatingUser")),
                    "created": element.get("creationDateTime") or element.get("modifiedDateTime"), **target})
    for ref in _children(element, "NoteRef"):
        note = _guid(ref.get("targetGUID"))
        if note:
            out.append({"kind": kind, "note": note, **target})
    return out


_WINDOWS_ABSOLUTE = re.compile(r"^(?:[A-Za-z]:[\\/]|[\\/]{2})")


def _path_parts(path: str) -> list[str]:
    return [p for p in re.split(r"[\\/]+", path) if p not in ("", ".")]


def _text_location(plain_text_path: str, base_path: str | None) -> tuple[str | None, str]:
    """Where inside the project a source's ``plainTextPath`` points, as a name in its sources folder.

    The same policy for ``.qdpx`` and bare ``.qde``: ``internal://x`` is
    ``sources/x``; a bare relative name (``board_2017.txt``, ``sources/x.txt``)
    is looked up in ``sources/`` (any letter case); an absolute path
    (``absolute://``, ``file://`` or a plain ``C:\\...`` / ``/home/...``) is
    followed only when it lies under the project's ``basePath``, and then read
    from inside the project too. A path with ``..`` is never followed: nothing
    outside the project is ever read.

    Returns
    -------
    name : str or None
        The name to look up in the sources folder, or None when the path is
        not followed.
    reason : str
        Why not (for the report), without the path itself (it may hold a user
        name); empty when ``name`` is given.
    """
    scheme, separator, rest = plain_text_path.strip().partition("://")
    scheme = scheme.casefold() if separator else ""
    if not separator:
        rest = plain_text_path.strip()
    if scheme == "file":
        scheme = "absolute"
    if scheme not in ("", "internal", "relative", "absolute"):
        return None, f"text path has an unknown scheme '{scheme}://'"
    if scheme != "internal" and (scheme == "absolute" or rest.startswith("/") or _WINDOWS_ABSOLUTE.match(rest)):
        base = _path_parts(base_path or "")
        parts = _path_parts(rest)
        if not base or [p.casefold() for p in parts[:len(base)]] != [p.casefold() for p in base]:
            return None, "text is outside the project (an absolute path not under the project's basePath)"
        rest = "/".join(parts[len(base):])
    parts = _path_parts(rest)
    if ".." in parts:
        return None, "text path leaves the project ('..'); not followed"
    if len(parts) > 1 and parts[0].casefold() == "sources":
        parts = parts[1:]
    if not parts:
        return None, "text path names no file"
    return "/".join(parts), ""


def _parse_project(
    root: ET.Element,
    where: str,
    load_text: Callable[[str], str | None],
    mapping: VariableMapping,
    theme_from: ThemeFrom,
    report: ImportReport,
    theme_folders: tuple[str, ...] = (),
) -> QdaProject:
    users = {}
    for user in _children(_child(root, "Users"), "User"):
        guid = _guid(user.get("guid"))
        if guid:
            users[guid] = (user.get("name") or user.get("id") or user.get("guid") or "").strip()
    report.count("users", len(users))
    if root.get("basePath"):  # the exporting computer's folder: may hold a user or machine name, never echoed
        report.warnings.append("the project's basePath (a folder on the exporting computer) is not read: "
                               "only files inside the project are read")

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
    missing_text_codings = 0
    # Memos: the project's own, those on cases, then (per source) on documents, selections and codings.
    loose_annotations = _annotations(root, "project")
    for case in case_elements:
        loose_annotations += _annotations(case, "case")
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
            report.count("skipped_selections", len(selections))
            report.count("skipped_codings", codings)
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
            annotations = _annotations(element, "selection")
            for coding in _children(element, "Coding"):
                code_ref = _child(coding, "CodeRef")
                annotations += _annotations(coding, "coding", description=False,
                                            code=_guid(code_ref.get("targetGUID")) if code_ref is not None else None)
            selections.append(_Selection(sel_guid, start, end, element.get("name") or "", codings, annotations))
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

        text, reason = None, "source has neither PlainTextContent nor plainTextPath"
        content = _child(source, "PlainTextContent")
        if content is not None and content.text is not None:
            text = content.text
        elif source.get("plainTextPath"):
            name, reason = _text_location(source.get("plainTextPath"), root.get("basePath"))
            if name is not None:
                text = load_text(name)
                reason = f"text file '{name.rsplit('/', 1)[-1]}' is not in the project's sources folder"
        if text is None:
            n_codings = sum(len(s.codings) for s in selections)
            report.count("skipped_text_sources")
            report.count("skipped_selections", len(selections))
            report.count("skipped_codings", n_codings)
            missing_text_codings += n_codings
            report.skip("TextSource", label, f"{reason}; {len(selections)} selection(s) with {n_codings} "
                                             "coding(s) not imported")
            loose_annotations += _annotations(source, "document") + [a for s in selections for a in s.annotations]
            continue
        reading = None
        if selections:
            chosen = read_positions(text, [Span(s.guid, s.start, s.end, s.name) for s in selections],
                                    source=label, where=where)
            text, reading = chosen.text, chosen.label
            selections = [replace(s, start=start, end=end) for s, (start, end) in zip(selections, chosen.spans)]
            if chosen.warning:
                report.warnings.append(chosen.warning)
        values, names = case_variables(guid)
        values.update(group_values.get(guid, {}))
        values.update(_variables_of(source, variable_names, f"source {label}", report))
        documents.append({"guid": guid, "name": label, "text": text, "variables": values,
                          "case_names": names, "offsets": reading, "annotations": _annotations(source, "document")})
        index = len(documents) - 1
        raw_segments.extend((index, s, _guid(source.get("creatingUser"))) for s in selections)

    if report.counts.get("skipped_text_sources"):  # one warning, however many sources: the list is under Skipped
        n = report.counts["skipped_text_sources"]
        report.warnings.append(
            f"{n} text source(s) skipped because their text is missing from the project or lies outside it; "
            f"their {missing_text_codings} coding(s) are not imported "
            "(see Skipped; export again with the sources included)")

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
                                           used, theme_from, report, theme_folders)

    code_annotations = []
    for code in (codebook_element.iter("Code") if codebook_element is not None else ()):
        guid = _guid(code.get("guid"))  # the description is the definition: only notes are memos here
        code_annotations += _annotations(code, "case" if guid in cases else "code", description=False,
                                         code=None if guid in cases else guid)
    notes = {}
    for note in _children(_child(root, "Notes"), "Note"):
        text = _child_text(note, "PlainTextContent")
        if text is None and note.get("plainTextPath"):
            name, _ = _text_location(note.get("plainTextPath"), root.get("basePath"))
            text = load_text(name) if name is not None else None
        if text is None:
            report.skip("Note", note.get("name") or note.get("guid") or "?", "its text is missing from the project")
            continue
        notes[_guid(note.get("guid"))] = {"title": (note.get("name") or "").strip() or None, "text": text.strip(),
                                         "user": _guid(note.get("creatingUser")),
                                         "created": note.get("creationDateTime") or note.get("modifiedDateTime")}
    project = _assemble(documents, raw_segments, code_names, users, mapping, report, codebook)
    project.memos = _memos(loose_annotations + code_annotations, project.documents["document_id"].tolist(),
                           documents, raw_segments, notes, code_names, users, report)
    return project


def _memos(annotations, document_ids, documents, raw_segments, notes, code_names, users, report) -> pd.DataFrame:
    """One row per memo reference (a note named twice is two rows), then the notes nothing names (project notes)."""
    located = list(annotations)
    for index, doc in enumerate(documents):
        located += [{**a, "document": document_ids[index]} for a in doc["annotations"]]
    for index, selection, _ in raw_segments:  # positions as converted to characters of documents.text
        located += [{**a, "document": document_ids[index], "start": selection.start, "end": selection.end}
                    for a in selection.annotations]
    used: set[str] = set()
    rows, unknown = [], 0
    for a in located:
        note = notes.get(a["note"]) if a["note"] else None
        if a["note"] and note is None:
            unknown += 1
            continue
        if a["note"]:
            used.add(a["note"])
        source = note or a
        rows.append({"annotates": a["kind"], "document_id": a.get("document"),
                     "code": code_names.get(a.get("code")) if a.get("code") else None,
                     "start": a.get("start"), "end": a.get("end"), "author": source.get("user"),
                     "created": source.get("created"), "title": note["title"] if note else None, "text": source["text"]})
    rows += [{"annotates": "project", "document_id": None, "code": None, "start": None, "end": None,
              "author": note["user"], "created": note["created"], "title": note["title"], "text": note["text"]}
             for guid, note in notes.items() if guid not in used]
    for number, row in enumerate(rows, start=1):
        row["memo_id"] = f"memo_{number:03d}"
        row["author"] = users.get(row["author"], row["author"]) if row["author"] else None
    if unknown:
        report.warnings.append(f"{unknown} NoteRef(s) name a note that is not in the project's Notes; ignored")
    if rows:
        report.count("memos", len(rows))
        for kind, n in Counter(row["annotates"] for row in rows).items():
            report.count(f"memos.{kind}", n)
    return memos_frame(rows)


def _document_id_source(variables: Mapping[str, str], name: str) -> str:
    """A ``document_id`` document variable (written by `write_qdpx`) wins over the name."""
    for variable, value in variables.items():
        if mapping_key(variable) == "documentid" and str(value).strip():
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
            report.warnings.append(missing_target_advice(target, counts["missing"], report.source))
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
    theme_folders: tuple[str, ...] = (),
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
    theme_folders : tuple of str
        Non-codable folders (name or path) that are themes of their subtree even
        when they hold no code directly (see `ponzoni_eval.qual.model.code_tree`).
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
        codebook, report = _read_qdc(path, theme_from, tuple(theme_folders))
        empty = QdaProject(segments_frame([]), codebook, documents_frame([]), report)
        return empty
    variable_mapping = load_mapping(mapping)
    if suffix == ".qde":
        return _read_bare_qde(path, variable_mapping, theme_from, limits, tuple(theme_folders))
    report = ImportReport(source=str(path), format="qdpx")
    with SafeArchive(path, limits) as archive:
        report.count("archive_members", len(archive.members))
        project_info = archive.project_member()
        if project_info.filename.replace("\\", "/").rsplit("/", 1)[-1] != "project.qde":
            report.warnings.append(f"project file is '{project_info.filename}', not 'project.qde'; read anyway")
        where = archive_member_label(str(path), project_info.filename)
        root = _checked_root(archive.read(project_info), where, "Project", (NS_PROJECT,), report)
        index = archive.sources_index(project_info)

        def load_text(name: str) -> str | None:
            info = index.get(file_key(name))
            if info is None:
                return None
            return decode_text(archive.read(info), archive_member_label(str(path), info.filename), report)

        return _parse_project(root, where, load_text, variable_mapping, theme_from, report, tuple(theme_folders))


def _read_bare_qde(path: Path, mapping: VariableMapping, theme_from: ThemeFrom, limits: ArchiveLimits,
                   theme_folders: tuple[str, ...] = ()) -> QdaProject:
    report = ImportReport(source=str(path), format="qde")
    root = _checked_root(_read_local(path, path.parent, limits), str(path), "Project", (NS_PROJECT,), report)
    folders = [p for p in path.parent.iterdir() if p.name.casefold() == "sources" and p.is_dir() and not p.is_symlink()]
    index = {}
    for folder in folders:
        for entry in folder.iterdir():
            index[file_key(entry.name)] = entry

    def load_text(name: str) -> str | None:
        entry = index.get(file_key(name))
        if entry is None:
            return None
        return decode_text(_read_local(entry, entry.parent, limits), f"{path.name} [sources/{entry.name}]", report)

    return _parse_project(root, str(path), load_text, mapping, theme_from, report, theme_folders)


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


def _read_qdc(path: Path, theme_from: ThemeFrom, theme_folders: tuple[str, ...] = ()) -> tuple[pd.DataFrame, ImportReport]:
    report = ImportReport(source=str(path), format="qdc")
    root = _checked_root(_read_local(path, path.parent, ArchiveLimits()), str(path), "CodeBook",
                         (NS_CODEBOOK, NS_PROJECT), report)
    nodes = _walk_codes(_child(root, "Codes"), str(path), report)
    constructs = _constructs_from_sets(_child(root, "Sets"), report)
    codebook, _ = _build_codebook(nodes, constructs, set(), theme_from, report, theme_folders)
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
