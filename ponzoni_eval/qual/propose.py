"""A first ``qda_mapping.toml`` for a QDA export: `propose_mapping` (the ``ponzoni-eval qda-map`` command).

An evaluator who has never seen a mapping file gets one that works: the
proposal tries, for ``participant_id``, ``case_id`` and ``wave``, what the
export offers, in this order, and keeps what fills the most documents:

1. document variables (and ATLAS.ti document groups ``Name::Value`` /
   ``Name: Value``) whose name means the target in English or Dutch
   (the importer's defaults plus ``group``, ``groep``, ``location``,
   ``locatie``, ``wijk``, ``organisation``, ``time``, ``tijd``, ``moment``, ...);
2. the names of the REFI-QDA cases a document belongs to (NVivo keeps one
   case per person) for ``participant_id``;
3. patterns in the document names: a wave token (``T0``, ``t1``,
   ``voormeting``, ``baseline``) and a participant code (``M03``,
   ``PA-M03``, ``P12``);
4. for ``case_id`` only, when nothing else fills it: one case for the whole
   export, named after the file, marked in the file as a guess to check.

Every candidate is checked by importing the export with it, so what the
proposal says each document becomes is what `import_qda_project` will give.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ponzoni_eval.qual.importer import import_qda_project
from ponzoni_eval.qual.model import DEFAULT_VARIABLE_NAMES, document_slug, load_mapping, mapping_key, TARGETS

__all__ = ["MappingProposal", "propose_mapping"]

EXTRA_NAMES = {
    "participant_id": ("person", "persoon", "interviewee id", "code", "respondentcode", "id"),
    "case_id": ("group", "groep", "location", "locatie", "wijk", "organisation", "organisatie", "organization",
                "project", "setting", "casestudy"),
    "wave": ("time", "tijd", "moment", "round", "measurement", "fase", "phase", "t"),
}
"""Variable names tried by the proposal beyond the importer's defaults (`DEFAULT_VARIABLE_NAMES`)."""

WAVE_TOKEN = r"(?:^|[\s_\-.])(?P<wave>[Tt][0-2]|[Vv]oormeting|[Nn]ameting|[Bb]aseline|[Ff]ollow-?up)(?=$|[\s_\-.])"
PARTICIPANT_TOKEN = r"(?:^|[\s_\-.])(?![Tt][0-2](?:$|[\s_\-.]))(?P<participant_id>(?:[A-Za-z]{1,4}-)?[A-Za-z]{1,3}-?\d{1,3})(?=$|[\s_\-.])"


@dataclass
class MappingProposal:
    """What `propose_mapping` found: the mapping (as a dict and as TOML) and what each document becomes."""

    mapping: dict[str, Any]
    documents: pd.DataFrame  # name, participant_id, case_id, wave
    origins: dict[str, str]  # target -> where its values come from, in words
    guesses: list[str] = field(default_factory=list)

    def missing(self) -> dict[str, int]:
        """Documents still without a value, per target (``participant_id`` may stay empty for group documents)."""
        return {t: int(self.documents[t].isna().sum()) for t in TARGETS}

    def to_toml(self, source: str) -> str:
        lines = [f"# qda_mapping.toml proposed by `ponzoni-eval qda-map {source}`.",
                 "# Check it, then keep it beside the project in the data folder; `ponzoni-eval validate` reads it.",
                 "# Where each column comes from:"]
        lines += [f"#   {t}: {self.origins[t]}" for t in TARGETS]
        lines += [f"# CHECK: {g}" for g in self.guesses]
        for table in ("variables", "documents", "defaults"):
            entries = self.mapping.get(table)
            if not entries:
                continue
            lines += ["", f"[{table}]"]
            for key, value in entries.items():
                if isinstance(value, (list, tuple)):
                    lines.append(f"{key} = [{', '.join(_toml_string(v) for v in value)}]")
                else:
                    lines.append(f"{key} = {_toml_string(value)}")
        for target, recode in (self.mapping.get("values") or {}).items():
            lines += ["", f"[values.{target}]"] + [f"{_toml_string(k)} = {_toml_string(v)}" for k, v in recode.items()]
        return "\n".join(lines) + "\n"


def _toml_string(value: Any) -> str:
    text = str(value)
    if "'" not in text and "\n" not in text:
        return f"'{text}'"  # a literal string: regular expressions keep their backslashes
    return json.dumps(text, ensure_ascii=False)


def _import(path: Path, mapping: dict[str, Any]):
    return import_qda_project(path, mapping=load_mapping(mapping))


def _filled(project, target: str) -> int:
    return int(project.documents[target].notna().sum())


WAVE_GUESSES = {"nameting": "t2", "eindmeting": "t2", "tussenmeting": "t1", "posttest": "t2", "pretest": "t0",
                "midterm": "t1", "endline": "t2"}
"""Wave words the proposal recodes (marked as a guess to check in the file)."""


def propose_mapping(path: str | Path, cases: list[str] | None = None) -> MappingProposal:
    """Propose a ``qda_mapping.toml`` for a REFI-QDA project or vendor table (see the module docstring).

    ``cases`` are the ``case_id`` values of the evaluator's cases table (read
    from ``cases.csv`` beside the export when not given): case names in the
    export are recoded to them (``Poelenburg A`` -> ``poelenburg_a``), and the
    one-case default is the case the file name names, else the only case.

    Examples
    --------
    >>> proposal = propose_mapping("interviews.qdpx")  # doctest: +SKIP
    >>> print(proposal.to_toml("interviews.qdpx"))  # doctest: +SKIP
    """
    path = Path(path)
    if cases is None and (path.parent / "cases.csv").is_file():
        known = pd.read_csv(path.parent / "cases.csv", dtype="str")
        cases = known["case_id"].dropna().tolist() if "case_id" in known.columns else None
    mapping: dict[str, Any] = {}
    project = _import(path, mapping)
    origins: dict[str, str] = {}
    guesses: list[str] = []
    n_documents = len(project.documents)
    variables_seen: dict[str, str] = {}
    for values in project.documents["variables"]:
        for name in values or {}:
            variables_seen.setdefault(mapping_key(name), name)
            variables_seen.setdefault(mapping_key(name.rsplit(":", 1)[-1]), name)  # NVivo: Classification:Attribute

    for target in TARGETS:
        best = (_filled(project, target), None)
        names = [*DEFAULT_VARIABLE_NAMES[target], *EXTRA_NAMES[target]]
        used = [variables_seen[mapping_key(n)] for n in names if mapping_key(n) in variables_seen]
        if used:
            candidate = {**mapping, "variables": {**mapping.get("variables", {}), target: list(dict.fromkeys(used))}}
            trial = _import(path, candidate)
            if _filled(trial, target) > best[0] or (_filled(trial, target) == best[0] and best[0] > 0):
                best = (_filled(trial, target), candidate)
                origins[target] = "document variable(s) " + ", ".join(f"'{u}'" for u in dict.fromkeys(used))
        if best[0] < n_documents and target == "participant_id":
            candidate = {**mapping, "documents": {**mapping.get("documents", {}), "case_name": "participant_id"}}
            trial = _import(path, candidate)
            if _filled(trial, target) > best[0]:
                best = (_filled(trial, target), candidate)
                origins[target] = "the name of the case each document belongs to"
        if best[0] < n_documents and target in ("participant_id", "wave"):
            token = PARTICIPANT_TOKEN if target == "participant_id" else WAVE_TOKEN
            documents = dict(mapping.get("documents", {}))
            parts = [p for p in _pattern_parts(documents.get("pattern"))] + [token]
            documents["pattern"] = "^" + "".join(f"(?=(?:.*?{p})?)" for p in parts)
            candidate = {**mapping, "documents": documents}
            trial = _import(path, candidate)
            if _filled(trial, target) > best[0]:
                best = (_filled(trial, target), candidate)
                origins[target] = "a pattern in the document names"
        if best[1] is not None:
            mapping = best[1]
        elif best[0]:
            origins.setdefault(target, "found without a mapping: " + project.report.variables.get(target, ""))
        if target in ("case_id", "wave") and best[1] is not None or target == "wave":
            mapping = _recode(path, mapping, target, cases, guesses)
        if best[0] < n_documents and target == "case_id":
            stem = mapping_key(path.stem)
            named = [c for c in cases or [] if mapping_key(c) and mapping_key(c) in stem]
            default = named[0] if len(named) == 1 else (cases[0] if cases and len(cases) == 1 else None)
            if default is None:
                default = document_slug(path.stem).casefold()
                guesses.append(f"case_id '{default}' is a guess (the export names no case): use the case_id of "
                               "your cases table")
            mapping = {**mapping, "defaults": {**mapping.get("defaults", {}), "case_id": default}}
            origins[target] = (origins[target] + "; otherwise " if target in origins else "") + f"the default '{default}'"
        origins.setdefault(target, "not found in the export (left empty)")
    final = _import(path, mapping)
    documents = final.documents[["name", *TARGETS]].copy()
    return MappingProposal(mapping, documents, origins, guesses)


def _pattern_parts(pattern: str | None) -> list[str]:
    """The token patterns a proposed ``[documents] pattern`` was made of."""
    if not pattern:
        return []
    return [p for p in (PARTICIPANT_TOKEN, WAVE_TOKEN) if p in pattern]


def _recode(path: Path, mapping: dict[str, Any], target: str, cases: list[str] | None,
            guesses: list[str]) -> dict[str, Any]:
    """Add ``[values.<target>]``: case names to the cases table's ids, wave words to t0/t1/t2."""
    from ponzoni_eval._core.vocabulary import WAVES

    found = _import(path, mapping).documents[target].dropna().astype("str").unique()
    recode: dict[str, str] = {}
    for value in found:
        if target == "case_id" and cases and value not in cases:
            same = [c for c in cases if mapping_key(c) == mapping_key(value)]
            if same:
                recode[value] = same[0]
        elif target == "wave" and value not in WAVES and mapping_key(value) in WAVE_GUESSES:
            recode[value] = WAVE_GUESSES[mapping_key(value)]
            guesses.append(f"wave '{value}' read as {recode[value]}: change it under [values.wave] if your "
                           "study numbers its waves otherwise")
    if not recode:
        return mapping
    values = {**(mapping.get("values") or {}), target: recode}
    return {**mapping, "values": values}
