"""Write REFI-QDA codebooks (.qdc) and projects (.qdpx), byte for byte reproducible."""

from __future__ import annotations

import itertools
import re
import uuid
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Mapping

import pandas as pd

from ponzoni_eval._core.errors import DataError, require_columns
from ponzoni_eval._core.files import atomic_write_bytes, deterministic_zip
from ponzoni_eval.qual.model import NS_CODEBOOK, NS_PROJECT, TARGETS

__all__ = [
    "write_qdc",
    "write_qdpx",
]


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
    return atomic_write_bytes(Path(path), _xml_bytes(root))


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
    return atomic_write_bytes(Path(path), deterministic_zip(members))
