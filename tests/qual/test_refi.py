"""REFI-QDA import/export: structure, real-export quirks, hostile input, round trips.

Every fixture is built in code (tests/qda_builders.py, shared with the
command-level tests of hostile files), from the element and attribute names of
the REFI-QDA Project schema (tests/fixtures/refi/Project-mrt2019.xsd), so each
test shows exactly which XML it feeds in.
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from hypothesis_profiles import examples
from ponzoni_eval._core.errors import DataError
from ponzoni_eval.qual.model import NS_CODEBOOK, NS_PROJECT, SEGMENT_COLUMNS, load_mapping
from ponzoni_eval.qual.archive import ArchiveLimits
from ponzoni_eval.qual.importer import import_qda
from ponzoni_eval.qual.read import group_variable, read_qdc, read_qdpx
from ponzoni_eval.qual.write import write_qdc, write_qdpx
from qda_builders import (
    BILLION_LAUGHS,
    G,
    TEXT1,
    TEXT2,
    XXE,
    basic_project,
    basic_qdpx,
    codebook_xml,
    patch_sizes,
    project_xml,
    qdpx,
    selection,
    symlink_qdpx,
    users_xml,
    zip_bomb_members,
)

FIXTURES = Path(__file__).parents[1] / "fixtures"
SYNTHETIC = FIXTURES / "qda" / "synthetic"
PROJECT_XSD = etree.XMLSchema(etree.parse(str(FIXTURES / "refi" / "Project-mrt2019.xsd")))
CODEBOOK_XSD = etree.XMLSchema(etree.parse(str(FIXTURES / "refi" / "Codebook.xsd")))

def raises(match: str):
    return pytest.raises(DataError, match=match)


# --- import: structure -------------------------------------------------------------------


def test_codes_become_codebook_rows_with_themes_from_nesting_and_double_colon(tmp_path):
    project = read_qdpx(basic_qdpx(tmp_path))
    book = project.codebook.set_index("code")
    assert book.loc["Own willingness", "theme"] == "Perception gap"
    assert book.loc["Own willingness", "definition"] == "Own side wants it."
    assert book.loc["Mutual trust", "theme"] == "Trust"  # ATLAS.ti-style 'Parent::Child'
    assert "Perception gap" not in book.index  # isCodable="false" gives a theme, not a code
    assert list(project.codebook.columns) == ["code", "theme", "definition", "construct", "code_id", "parent_id",
                                              "path", "depth", "codable"]
    tree = project.codebook.set_index("code")[["code_id", "parent_id", "path", "depth", "codable"]]
    assert tree.loc["Own willingness"].tolist() == ["perception_gap/own_willingness", "perception_gap",
                                                    "Perception gap / Own willingness", 2, True]
    assert tree.loc["Mutual trust"].tolist() == ["trust/mutual_trust", "trust", "Trust / Mutual trust", 2, True]


def test_theme_from_parent_uses_the_immediate_parent(tmp_path):
    codes = (
        "<CodeBook><Codes>"
        '<Code guid="00000000-0000-4000-8000-000000000001" name="Process" isCodable="false">'
        '<Code guid="00000000-0000-4000-8000-000000000002" name="Steps" isCodable="false">'
        '<Code guid="00000000-0000-4000-8000-000000000003" name="Listening" isCodable="true"/>'
        "</Code></Code></Codes></CodeBook>"
    )
    path = qdpx(tmp_path, {"project.qde": project_xml(codes)})
    # 'Process' holds only a sub-tree: a container, not the theme of its subtree unless chosen
    assert read_qdpx(path).codebook["theme"].tolist() == ["Steps"]
    assert read_qdpx(path, theme_folders=("Process",)).codebook["theme"].tolist() == ["Process"]
    assert read_qdpx(path, theme_from="parent").codebook["theme"].tolist() == ["Steps"]
    assert read_qdpx(path).codebook[["path", "depth", "parent_id"]].values.tolist() == [
        ["Process / Steps / Listening", 3, "process/steps"]]


def test_segments_slice_the_source_text_and_name_the_coder(tmp_path):
    project = read_qdpx(basic_qdpx(tmp_path))
    segments = project.segments
    assert list(segments.columns) == list(SEGMENT_COLUMNS)
    assert segments[["code", "start", "end", "text", "coder"]].values.tolist() == [
        ["Own willingness", 30, 53, "wij willen samenwerken.", "EP"],
        ["Other willingness", 57, 78, "Maar zij willen niet.", "AB-login"],  # User without name: its id
    ]
    assert pd.api.types.is_string_dtype(segments["code"]) and segments["start"].dtype == "int64"
    assert (segments["position_unit"] == "character").all()
    assert project.documents.loc[0, "document_id"] == "Interview_P01"


def test_coder_falls_back_to_the_selection_then_reports_unknown_users(tmp_path):
    sources = (
        f'<TextSource guid="{G["src1"]}" name="a" plainTextPath="internal://{G["src1"]}.txt">'
        + selection("66666666-0000-4000-8000-000000000001", 0, 2, "own", user=None, selection_user="u_ab")
        + selection("66666666-0000-4000-8000-000000000002", 0, 2, "own", user=None)
        + "</TextSource>"
    )
    project = read_qdpx(qdpx(tmp_path, {"project.qde": basic_project(sources=sources), f"sources/{G['src1']}.txt": TEXT1}))
    assert project.segments["coder"].tolist() == ["AB-login", "unknown"]
    assert any("not listed in <Users>" in w for w in project.report.warnings)


def test_constructs_come_from_construct_sets(tmp_path):
    sets = f'<Sets><Set guid="77777777-0000-4000-8000-000000000001" name="construct: perception_gap"><MemberCode targetGUID="{G["own"]}"/></Set></Sets>'
    xml = project_xml(users_xml() + codebook_xml() + sets)
    book = read_qdpx(qdpx(tmp_path, {"project.qde": xml})).codebook.set_index("code")
    assert book.loc["Own willingness", "construct"] == "perception_gap"
    assert pd.isna(book.loc["Other willingness", "construct"])


def test_same_code_name_under_two_parents_is_named_by_path(tmp_path):
    codes = (
        "<CodeBook><Codes>"
        '<Code guid="00000000-0000-4000-8000-000000000001" name="Trust" isCodable="false">'
        '<Code guid="00000000-0000-4000-8000-000000000002" name="Other" isCodable="true"/></Code>'
        '<Code guid="00000000-0000-4000-8000-000000000003" name="Safe space" isCodable="false">'
        '<Code guid="00000000-0000-4000-8000-000000000004" name="Other" isCodable="true"/></Code>'
        "</Codes></CodeBook>"
    )
    project = read_qdpx(qdpx(tmp_path, {"project.qde": project_xml(codes)}))
    assert project.codebook["code"].tolist() == ["Trust / Other", "Safe space / Other"]
    assert any("several parents" in w for w in project.report.warnings)


def test_coding_on_a_non_codable_code_is_kept_with_a_warning(tmp_path):
    sources = (f'<TextSource guid="{G["src1"]}" name="a" plainTextPath="internal://{G["src1"]}.txt">'
               + selection("66666666-0000-4000-8000-000000000001", 0, 2, "theme_gap") + "</TextSource>")
    project = read_qdpx(qdpx(tmp_path, {"project.qde": basic_project(sources=sources), f"sources/{G['src1']}.txt": TEXT1}))
    assert project.segments["code"].tolist() == ["Perception gap"]
    assert "Perception gap" in project.codebook["code"].tolist()
    assert any('isCodable="false"' in w for w in project.report.warnings)


def test_whole_source_codings_and_uncoded_selections_are_counted(tmp_path):
    sources = (
        f'<TextSource guid="{G["src1"]}" name="a" plainTextPath="internal://{G["src1"]}.txt">'
        '<PlainTextSelection guid="66666666-0000-4000-8000-000000000009" startPosition="0" endPosition="3"/>'
        f'<Coding guid="66666666-0000-4000-8000-00000000000a"><CodeRef targetGUID="{G["own"]}"/></Coding>'
        "</TextSource>"
    )
    project = read_qdpx(qdpx(tmp_path, {"project.qde": basic_project(sources=sources), f"sources/{G['src1']}.txt": TEXT1}))
    assert project.segments.empty
    assert project.report.counts["uncoded_selections"] == 1
    assert project.report.counts["source_codings"] == 1


def test_plain_text_content_is_used_when_there_is_no_file(tmp_path):
    sources = (f'<TextSource guid="{G["src1"]}" name="inline"><PlainTextContent>{TEXT2}</PlainTextContent>'
               + selection("66666666-0000-4000-8000-000000000001", 3, 16, "own") + "</TextSource>")
    project = read_qdpx(qdpx(tmp_path, {"project.qde": basic_project(sources=sources)}))
    assert project.segments["text"].tolist() == ["Güven groeit."]


def test_document_id_variable_wins_over_the_source_name(tmp_path):
    variables = f'<Variables><Variable guid="{G["v_part"]}" name="document_id" typeOfVariable="Text"/></Variables>'
    sources = (f'<TextSource guid="{G["src1"]}" name="Interview (1).docx" plainTextPath="internal://{G["src1"]}.txt">'
               f'<VariableValue><VariableRef targetGUID="{G["v_part"]}"/><TextValue>int_P01_t0</TextValue></VariableValue>'
               "</TextSource>")
    xml = project_xml(users_xml() + codebook_xml() + variables + f"<Sources>{sources}</Sources>")
    project = read_qdpx(qdpx(tmp_path, {"project.qde": xml, f"sources/{G['src1']}.txt": TEXT1}))
    assert project.documents["document_id"].tolist() == ["int_P01_t0"]


# --- import: variables -------------------------------------------------------------------


def variables_xml(names=("deelnemer", "casus", "meting")) -> str:
    return "<Variables>" + "".join(
        f'<Variable guid="{G[key]}" name="{name}" typeOfVariable="Text"/>'
        for key, name in zip(("v_part", "v_case", "v_wave"), names)) + "</Variables>"


def value(key: str, text: str) -> str:
    return f'<VariableValue><VariableRef targetGUID="{G[key]}"/><TextValue>{text}</TextValue></VariableValue>'


def two_source_project(cases: str, source1_values: str = "", names=("deelnemer", "casus", "meting"), sets: str = "",
                       source2_extra: str = "") -> bytes:
    sources = (
        f'<TextSource guid="{G["src1"]}" name="Interview P01" plainTextPath="internal://{G["src1"]}.txt">'
        + selection("66666666-0000-4000-8000-000000000001", 30, 53, "own") + source1_values + "</TextSource>"
        f'<TextSource guid="{G["src2"]}" name="Interview P02_t2" plainTextPath="internal://{G["src2"]}.txt">'
        + selection("66666666-0000-4000-8000-000000000002", 3, 16, "other") + source2_extra + "</TextSource>"
    )
    return project_xml(users_xml() + codebook_xml() + variables_xml(names) + cases + f"<Sources>{sources}</Sources>" + sets)


def two_source_qdpx(tmp_path, xml: bytes) -> Path:
    return qdpx(tmp_path, {"project.qde": xml, f"sources/{G['src1']}.txt": TEXT1, f"sources/{G['src2']}.txt": TEXT2})


def test_dutch_variables_in_nameless_cases_fill_participant_case_and_wave(tmp_path):
    # MAXQDA and Quirkos keep document variables in <Case> elements without a name.
    cases = (
        "<Cases>"
        f'<Case guid="88888888-0000-4000-8000-000000000001">{value("v_part", "P01")}{value("v_case", "slotervaart")}'
        f'{value("v_wave", "voormeting")}<SourceRef targetGUID="{G["src1"]}"/></Case>'
        f'<Case guid="88888888-0000-4000-8000-000000000002">{value("v_part", "P02")}{value("v_case", "poelenburg_a")}'
        f'{value("v_wave", "T2")}<SourceRef targetGUID="{{{G["src2"].upper()}}}"/></Case>'
        "</Cases>"
    )
    project = read_qdpx(two_source_qdpx(tmp_path, two_source_project(cases)))
    assert project.segments[["participant_id", "case_id", "wave"]].values.tolist() == [
        ["P01", "slotervaart", "t0"], ["P02", "poelenburg_a", "t2"]]
    assert project.report.variables["participant_id"] == "variable 'deelnemer' (2 documents)"


def test_source_variables_override_case_variables(tmp_path):
    cases = (f'<Cases><Case guid="88888888-0000-4000-8000-000000000001" name="P01">{value("v_wave", "t1")}'
             f'<SourceRef targetGUID="{G["src1"]}"/></Case></Cases>')
    project = read_qdpx(two_source_qdpx(tmp_path, two_source_project(cases, source1_values=value("v_wave", "t2"))))
    assert project.segments["wave"].tolist()[0] == "t2"


def test_document_groups_named_variable_value_become_document_variables(tmp_path):
    # ATLAS.ti has no document variables: its document groups are Sets of sources.
    def group(number: int, name: str, *sources: str) -> str:
        members = "".join(f'<MemberSource targetGUID="{guid}"/>' for guid in sources)
        return f'<Set guid="77777777-0000-4000-8000-00000000001{number}" name="{name}">{members}</Set>'

    sets = ("<Sets>" + group(1, "Casus::Poelenburg A", G["src1"].upper(), G["src2"]) + group(2, "Meting :: T1", G["src1"], G["src2"])
            + group(3, "Casus::Slotervaart", G["src2"]) + group(4, "Vrouwenvereniging", G["src1"])
            + f'<Set guid="77777777-0000-4000-8000-000000000015" name="x::y"><MemberCode targetGUID="{G["own"]}"/></Set>'
            + "</Sets>")
    xml = two_source_project("", source1_values=value("v_wave", "t0"), sets=sets)
    project = read_qdpx(two_source_qdpx(tmp_path, xml), mapping={"values": {"case_id": {"Poelenburg A": "poelenburg_a"}}})
    assert project.segments[["case_id", "wave"]].values.tolist() == [["poelenburg_a", "t0"], ["poelenburg_a", "t1"]]
    assert project.report.variables["case_id"] == "variable 'Casus' (2 documents)"  # the source's own meting wins for wave
    assert project.report.counts["document_sets"] == 4 and project.report.counts["document_sets.variables"] == 3
    assert any("in two groups for variable 'Casus' ('Poelenburg A', 'Slotervaart'); kept 'Poelenburg A'" in w
               for w in project.report.warnings)


def test_document_groups_in_every_spelling_and_the_ones_that_do_not_parse_are_reported(tmp_path):
    def group(number: int, name: str, *sources: str) -> str:
        members = "".join(f'<MemberSource targetGUID="{guid}"/>' for guid in sources)
        return f'<Set guid="77777777-0000-4000-8000-00000000002{number}" name="{name}">{members}</Set>'

    sets = ("<Sets>" + group(1, "gender: male", G["src1"]) + group(2, "Casus : Slotervaart", G["src1"], G["src2"])
            + group(3, "Tijd::10:30", G["src2"]) + group(4, "Moeders", G["src1"]) + group(5, "Casus::", G["src2"])
            + group(6, ": geen naam", G["src2"]) + "</Sets>")
    project = read_qdpx(two_source_qdpx(tmp_path, two_source_project("", sets=sets)))
    variables = project.documents["variables"].tolist()
    assert variables[0] == {"gender": "male", "Casus": "Slotervaart"}
    assert variables[1] == {"Casus": "Slotervaart", "Tijd": "10:30"}
    assert project.segments["case_id"].tolist() == ["Slotervaart", "Slotervaart"]
    assert (project.report.counts["document_sets"], project.report.counts["document_sets.variables"]) == (6, 3)
    assert ("3 document group(s) not read as a variable (name not 'Variable::Value' or 'Variable: Value'): "
            "'Moeders', 'Casus::', ': geen naam'") in project.report.warnings


def test_group_variable_spellings():
    assert group_variable("Casus::Poelenburg A") == ("Casus", "Poelenburg A")
    assert group_variable("gender: male") == ("gender", "male")
    assert group_variable("Meting :: T1") == ("Meting", "T1")
    assert group_variable("Tijd::10:30") == ("Tijd", "10:30")
    assert [group_variable(name) for name in ("Vrouwenvereniging", "Casus::", "::x", ": x", "x:")] == [None] * 5


def test_case_nodes_are_cases_not_codes_and_their_codings_place_sources_in_cases(tmp_path):
    # NVivo lists each case as a node too (a Code with the case's GUID) and codes the case's text to it.
    case = "99999999-0000-4000-8000-000000000001"
    codes = codebook_xml().replace("</Codes>", f'<Code guid="{case}" name="P07" isCodable="true"/></Codes>')
    cases = f'<Cases><Case guid="{case}" name="P07">{value("v_case", "slotervaart")}</Case></Cases>'
    case_coding = f'<Coding guid="99999999-0000-4000-8000-0000000000c1"><CodeRef targetGUID="{case}"/></Coding>'
    source1 = (f'<TextSource guid="{G["src1"]}" name="Interview" plainTextPath="internal://{G["src1"]}.txt">'
               + selection("66666666-0000-4000-8000-000000000001", 30, 53, "own")
               + f'<PlainTextSelection guid="66666666-0000-4000-8000-000000000009" startPosition="0" endPosition="{len(TEXT1)}">'
               + case_coding + "</PlainTextSelection></TextSource>")
    source2 = (f'<TextSource guid="{G["src2"]}" name="Interview 2" plainTextPath="internal://{G["src2"]}.txt">'
               + selection("66666666-0000-4000-8000-000000000002", 3, 16, "other") + case_coding.replace("c1", "c2")
               + "</TextSource>")
    xml = project_xml(users_xml() + codes + variables_xml() + cases + f"<Sources>{source1}{source2}</Sources>")
    project = read_qdpx(two_source_qdpx(tmp_path, xml), mapping={"documents": {"case_name": "participant_id"}})
    assert "P07" not in project.codebook["code"].tolist()
    assert project.segments[["code", "participant_id", "case_id"]].values.tolist() == [
        ["Own willingness", "P07", "slotervaart"], ["Other willingness", "P07", "slotervaart"]]
    counts = project.report.counts
    assert (counts["case_nodes"], counts["case_codings"], counts["codings"]) == (1, 2, 2)
    assert "uncoded_selections" not in counts and "source_codings" not in counts and project.report.skipped == []


def test_mapping_dict_names_variables_recodes_values_and_reads_document_names(tmp_path):
    cases = (f'<Cases><Case guid="88888888-0000-4000-8000-000000000001" name="P01">{value("v_part", "R-01")}'
             f'{value("v_wave", "nameting")}<SourceRef targetGUID="{G["src1"]}"/></Case>'
             f'<Case guid="88888888-0000-4000-8000-000000000002" name="Fatima">'
             f'<SourceRef targetGUID="{G["src2"]}"/></Case></Cases>')
    xml = two_source_project(cases, names=("Respondent", "Locatie", "Meetmoment"))
    mapping = {
        "variables": {"participant_id": ["Respondent"], "wave": "Meetmoment"},
        "values": {"wave": {"nameting": "t1"}},
        "documents": {"pattern": r"_(?P<wave>t\d)$"},
        "defaults": {"case_id": "slotervaart", "participant_id": "group"},
    }
    project = read_qdpx(two_source_qdpx(tmp_path, xml), mapping=mapping)
    assert project.segments[["participant_id", "case_id", "wave"]].values.tolist() == [
        ["R-01", "slotervaart", "t1"], ["group", "slotervaart", "t2"]]
    assert project.report.variables["wave"] == "variable 'Meetmoment' (1 document); document name pattern (1 document)"
    by_case_name = read_qdpx(two_source_qdpx(tmp_path, xml), mapping={"documents": {"case_name": "participant_id"}})
    # A variable still wins; the case name fills in where no variable did.
    assert by_case_name.segments["participant_id"].tolist() == ["R-01", "Fatima"]


def test_toml_mapping_file_is_read(tmp_path):
    mapping = load_mapping(FIXTURES / "qda" / "mapping.toml")
    assert mapping.variables["participant_id"] == ("Respondent", "Code deelnemer")
    assert mapping.variables["wave"] == ("Meetmoment",)
    assert mapping.variables["case_id"] == ("Locatie",)
    assert mapping.recode("wave", "Na 6 maanden") == "t2"
    assert mapping.defaults == {"case_id": "slotervaart"}


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"variabels": {}}, "unknown table"),
        ({"variables": {"role": "Rol"}}, "unknown target"),
        ({"documents": {"pattern": "(?P<wave"}}, "not a valid regular expression"),
        ({"documents": {"pattern": "(?P<person>.+)"}}, "unknown target"),
        ({"documents": {"case_name": "wave"}}, "case_name must name"),
    ],
)
def test_bad_mappings_are_refused(mapping, message):
    with raises(message):
        load_mapping(mapping)


def test_bad_toml_file_names_the_file(tmp_path):
    bad = tmp_path / "mapping.toml"
    bad.write_text("[variables\n")
    with raises(r"mapping.toml, row 1: not valid TOML: Expected .\]. at the end of a table declaration \(at line 1, column 11\)"):
        load_mapping(bad)


def test_missing_variables_and_unknown_waves_are_reported(tmp_path):
    cases = (f'<Cases><Case guid="88888888-0000-4000-8000-000000000001">{value("v_wave", "nameting")}'
             f'<SourceRef targetGUID="{G["src1"]}"/></Case></Cases>')
    report = read_qdpx(two_source_qdpx(tmp_path, two_source_project(cases))).report
    assert any("2 document(s) have no participant" in w for w in report.warnings)
    assert any("wave 'nameting' is not one of t0, t1, t2" in w for w in report.warnings)


# --- import: quirks of real exports ------------------------------------------------------------


def test_renamed_project_file_capital_sources_folder_and_braced_upper_case_guids(tmp_path):
    upper = "{" + G["src1"].upper() + "}"
    sources = (f'<TextSource guid="{upper}" name="Interview P01" plainTextPath="internal://{upper}.txt">'
               + selection("66666666-0000-4000-8000-000000000001", 30, 53, "own").replace(G["own"], "{" + G["own"].upper() + "}")
               + "</TextSource>")
    path = qdpx(tmp_path, {"My Project (2017).qde": basic_project(sources=sources), f"Sources/{upper}.txt": TEXT1})
    project = read_qdpx(path)
    assert project.segments["text"].tolist() == ["wij willen samenwerken."]
    assert any("not 'project.qde'" in w for w in project.report.warnings)


def test_project_inside_a_folder_of_the_archive_is_found(tmp_path):
    path = qdpx(tmp_path, {"export/project.qde": basic_project(), f"export/sources/{G['src1']}.txt": TEXT1})
    assert len(read_qdpx(path).segments) == 2


def crlf_project(tmp_path, start: int, end: int, name: str) -> Path:
    text = "I: Vraag?\r\nR: Ja, wij willen samenwerken.\r\nR: Maar zij niet."
    sources = (f'<TextSource guid="{G["src1"]}" name="crlf" plainTextPath="internal://{G["src1"]}.txt">'
               + selection("66666666-0000-4000-8000-000000000001", start, end, "own", name=name) + "</TextSource>")
    return qdpx(tmp_path, {"project.qde": basic_project(sources=sources), f"sources/{G['src1']}.txt": text.encode()})


def test_offsets_counted_on_crlf_text_are_used_as_stored(tmp_path):
    # Counting \r\n as two characters, 'wij' starts at 18; the selection name confirms the reading.
    project = read_qdpx(crlf_project(tmp_path, 18, 41, "wij willen"))
    assert project.segments["text"].tolist() == ["wij willen samenwerken."]
    assert project.report.offsets == {"crlf": "characters; \\r\\n counted as two characters"}
    assert "\r\n" in project.documents.loc[0, "text"]


def test_offsets_counted_with_crlf_as_one_character_are_detected(tmp_path):
    # The exporting tool normalised \r\n to \n before counting: 'wij' starts at 17, not 18.
    project = read_qdpx(crlf_project(tmp_path, 17, 40, "wij willen"))
    assert project.segments["text"].tolist() == ["wij willen samenwerken."]
    assert project.report.offsets == {"crlf": "characters; \\r\\n counted as one character"}
    document = project.documents.iloc[0]
    assert "\r" not in document["text"]
    assert document["text"][17:40] == "wij willen samenwerken."


def test_crlf_selection_that_fits_only_the_stored_text_picks_it(tmp_path):
    # 60 characters with \r\n as two, 58 with \r\n as one: an end of 59 fits only the stored text.
    project = read_qdpx(crlf_project(tmp_path, 50, 59, ""))
    assert project.report.offsets == {"crlf": "characters; \\r\\n counted as two characters"}
    with raises(r"source 'crlf' fit no reading of its text \(60 characters.*selection 66666666-0000-4000-8000-000000000001 "
                r"\(50-61\) lies beyond the end of the text"):
        read_qdpx(crlf_project(tmp_path, 50, 61, ""))


def test_absolute_base_path_is_ignored_and_reported(tmp_path):
    project = read_qdpx(basic_qdpx(tmp_path, attributes='basePath="C:\\Users\\elena\\Documents\\ATLAS.ti"'))
    assert len(project.segments) == 2
    assert any("basePath" in w for w in project.report.warnings)


def test_non_ascii_names_survive(tmp_path):
    xml = basic_project().replace(b"Interview P01.docx", "Interview Gülşen – ouder.docx".encode()).replace(
        b'name="EP"', 'name="Özlem"'.encode()).replace(b"Own willingness", "Güven – vertrouwen".encode())
    project = read_qdpx(qdpx(tmp_path, {"project.qde": xml, f"sources/{G['src1']}.txt": TEXT1}))
    assert project.documents.loc[0, "name"] == "Interview Gülşen – ouder.docx"
    assert project.documents.loc[0, "document_id"] == "Interview_Gulsen_ouder"
    assert project.segments["coder"].tolist()[0] == "Özlem"
    assert "Güven – vertrouwen" in project.codebook["code"].tolist()


def test_pdf_picture_audio_and_video_selections_are_counted_not_imported(tmp_path):
    coding = f'<Coding guid="99999999-0000-4000-8000-0000000000{{n}}"><CodeRef targetGUID="{G["own"]}"/></Coding>'
    others = (
        '<PDFSource guid="99999999-0000-4000-8000-000000000001" name="report.pdf" path="internal://r.pdf">'
        '<PDFSelection guid="99999999-0000-4000-8000-000000000002" page="1" firstX="0" firstY="0" secondX="9" secondY="9">'
        + coding.format(n="a1") + "</PDFSelection></PDFSource>"
        '<PictureSource guid="99999999-0000-4000-8000-000000000003" name="poster.png">'
        '<PictureSelection guid="99999999-0000-4000-8000-000000000004" firstX="0" firstY="0" secondX="9" secondY="9">'
        + coding.format(n="a2") + "</PictureSelection></PictureSource>"
        '<AudioSource guid="99999999-0000-4000-8000-000000000005" name="gesprek.mp3">'
        '<AudioSelection guid="99999999-0000-4000-8000-000000000006" begin="0" end="1000"/></AudioSource>'
        '<VideoSource guid="99999999-0000-4000-8000-000000000007" name="bijeenkomst.mp4">'
        '<VideoSelection guid="99999999-0000-4000-8000-000000000008" begin="0" end="1000"/></VideoSource>'
    )
    basic = basic_project().decode()
    xml = basic.replace("</Sources>", others + "</Sources>").encode()
    report = read_qdpx(qdpx(tmp_path, {"project.qde": xml, f"sources/{G['src1']}.txt": TEXT1})).report
    for kind in ("PDFSelection", "PictureSelection", "AudioSelection", "VideoSelection"):
        assert report.counts[f"selections.{kind}"] == 1
    assert report.counts["codings"] == 2
    assert {s["kind"] for s in report.skipped} == {"PDFSource", "PictureSource", "AudioSource", "VideoSource"}
    assert "1 coding(s) not imported" in next(s["reason"] for s in report.skipped if s["kind"] == "PDFSource")


def test_text_outside_the_archive_is_skipped_not_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("do not read")
    sources = (f'<TextSource guid="{G["src1"]}" name="linked" plainTextPath="absolute://{secret}">'
               + selection("66666666-0000-4000-8000-000000000001", 0, 2, "own") + "</TextSource>")
    project = read_qdpx(qdpx(tmp_path, {"project.qde": basic_project(sources=sources)}))
    assert project.segments.empty
    assert project.report.skipped[0]["reason"].startswith("text is outside the project (an absolute path not under")


def test_root_without_namespace_is_read_with_a_warning(tmp_path):
    xml = project_xml(users_xml() + codebook_xml(), namespace=None)
    project = read_qdpx(qdpx(tmp_path, {"project.qde": xml}))
    assert len(project.codebook) == 3
    assert any("no namespace" in w for w in project.report.warnings)


def test_bare_qde_reads_texts_from_a_sources_folder_beside_it(tmp_path):
    (tmp_path / "Sources").mkdir()
    (tmp_path / "Sources" / f"{G['src1']}.txt").write_text(TEXT1, encoding="utf-8")
    (tmp_path / "project.qde").write_bytes(basic_project())
    project = read_qdpx(tmp_path / "project.qde")
    assert project.segments["text"].tolist() == ["wij willen samenwerken.", "Maar zij willen niet."]
    assert project.report.format == "qde"


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_bare_qde_refuses_a_symlinked_source(tmp_path):
    (tmp_path / "sources").mkdir()
    outside = tmp_path / "outside.txt"
    outside.write_text(TEXT1)
    (tmp_path / "sources" / f"{G['src1']}.txt").symlink_to(outside)
    (tmp_path / "project.qde").write_bytes(basic_project())
    with raises("refused: the file is a symbolic link"):
        read_qdpx(tmp_path / "project.qde")


def test_read_qdc_reads_a_codebook_file(tmp_path):
    qdc = (f'<?xml version="1.0" encoding="utf-8"?><CodeBook xmlns="{NS_CODEBOOK}" origin="MAXQDA"><Codes>'
           '<Code guid="00000000-0000-4000-8000-000000000001" name="Trust" isCodable="true">'
           '<Description>Mutual trust.</Description>'
           '<Code guid="00000000-0000-4000-8000-000000000002" name="Distrust" isCodable="true"/></Code>'
           '</Codes><Sets><Set guid="00000000-0000-4000-8000-000000000003" name="Construct: trust">'
           '<MemberCode guid="00000000-0000-4000-8000-000000000002"/></Set></Sets></CodeBook>')
    (tmp_path / "codes.qdc").write_text(qdc, encoding="utf-8")
    book = read_qdc(tmp_path / "codes.qdc")
    assert book.values.tolist()[0][:3] == ["Trust", book.values.tolist()[0][1], "Mutual trust."]
    assert pd.isna(book.loc[0, "theme"])
    assert book.loc[1].tolist()[:2] + book.loc[1].tolist()[3:] == [
        "Distrust", "Trust", "trust", "trust/distrust", "trust", "Trust / Distrust", 2, True]


# --- hostile and broken input ----------------------------------------------------------------

@pytest.mark.parametrize("xml", [XXE, BILLION_LAUGHS], ids=["xxe", "billion_laughs"])
def test_dtds_are_refused_in_qdpx_qde_and_qdc(tmp_path, xml):
    with raises(r"project.qdpx \[project.qde\]: refused: the XML declares a DTD"):
        read_qdpx(qdpx(tmp_path, {"project.qde": xml}))
    (tmp_path / "bare.qde").write_bytes(xml)
    with raises(r"bare.qde: refused: the XML declares a DTD"):
        read_qdpx(tmp_path / "bare.qde")
    (tmp_path / "book.qdc").write_bytes(xml.replace(b"Project", b"CodeBook"))
    with raises(r"book.qdc: refused: the XML declares a DTD"):
        read_qdc(tmp_path / "book.qdc")


@pytest.mark.parametrize(
    ("member", "message"),
    [
        ("../evil.txt", r"\[../evil.txt\]: refused: member path leaves the archive"),
        ("sources/../../evil.txt", "leaves the archive"),
        ("..\\evil.txt", "leaves the archive"),
        ("/etc/passwd", r"\[/etc/passwd\]: refused: member has an absolute path"),
        ("C:/Windows/evil.txt", "absolute path"),
    ],
    ids=["dotdot", "nested_dotdot", "backslash_dotdot", "absolute", "drive_letter"],
)
def test_zip_slip_members_are_refused(tmp_path, member, message):
    path = qdpx(tmp_path, {"project.qde": basic_project(), member: b"x"})
    with raises(message):
        read_qdpx(path)


def test_zip_bomb_is_refused_from_the_central_directory(tmp_path):
    path = qdpx(tmp_path, zip_bomb_members())
    with raises(r"\[sources/bomb.txt\]: refused: compression ratio \d+:1 exceeds the limit of 200:1"):
        read_qdpx(path)


def test_total_size_and_member_count_limits(tmp_path):
    path = basic_qdpx(tmp_path)
    with raises(r"project.qdpx: refused: the members would decompress to more than 100 bytes"):
        read_qdpx(path, limits=ArchiveLimits(max_total_bytes=100))
    with raises(r"refused: the archive lists 2 members, more than the limit of 1"):
        read_qdpx(path, limits=ArchiveLimits(max_members=1))
    with raises(r"\[project.qde\]: refused: member declares \d+ bytes, more than the limit of 50 per file"):
        read_qdpx(path, limits=ArchiveLimits(max_member_bytes=50))


def test_headers_that_lie_about_the_size_are_caught_while_decompressing(tmp_path):
    # A 4 MiB bomb whose headers claim 1 KiB passes the central-directory checks; decompression
    # stops at the declared size and the checksum of what came out does not match.
    path = qdpx(tmp_path, {"project.qde": b"0" * (4 * 1024 * 1024)})
    path.write_bytes(patch_sizes(bytearray(path.read_bytes()), "project.qde", new_size=1024))
    with raises(r"\[project.qde\]: member is corrupt \(Bad CRC-32"):
        read_qdpx(path)


def test_symlink_member_is_refused(tmp_path):
    with raises(r"refused: member is a symbolic link"):
        read_qdpx(symlink_qdpx(tmp_path / "project.qdpx"))


def test_encrypted_and_duplicate_members_are_refused(tmp_path):
    path = qdpx(tmp_path, {"project.qde": basic_project(), f"sources/{G['src1']}.txt": TEXT1})
    data = bytearray(path.read_bytes())
    central = data.find(b"PK\x01\x02")
    struct.pack_into("<H", data, central + 8, struct.unpack_from("<H", data, central + 8)[0] | 0x1)
    path.write_bytes(bytes(data))
    with raises("refused: member is encrypted"):
        read_qdpx(path)
    duplicate = tmp_path / "dup.qdpx"
    with zipfile.ZipFile(duplicate, "w") as archive:  # same name but for case: ambiguous on Windows and macOS
        archive.writestr("project.qde", basic_project())
        archive.writestr("Project.qde", b"<Project/>")
    with raises("refused: two members have the same name"):
        read_qdpx(duplicate)


def test_corrupt_and_truncated_archives_are_refused(tmp_path):
    garbage = tmp_path / "garbage.qdpx"
    garbage.write_bytes(os.urandom(2048))
    with raises(r"garbage.qdpx: is not a valid zip archive"):
        read_qdpx(garbage)
    whole = basic_qdpx(tmp_path).read_bytes()
    truncated = tmp_path / "truncated.qdpx"
    truncated.write_bytes(whole[: len(whole) // 2])
    with raises("is not a valid zip archive"):
        read_qdpx(truncated)


def test_corrupt_member_data_is_refused(tmp_path):
    path = tmp_path / "project.qdpx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("project.qde", basic_project())
        archive.writestr(f"sources/{G['src1']}.txt", TEXT1)
    data = bytearray(path.read_bytes())
    at = data.find(b"samenwerken")
    data[at: at + 4] = b"XXXX"  # CRC no longer matches
    path.write_bytes(bytes(data))
    with raises(rf"\[sources/{G['src1']}.txt\]: member is corrupt"):
        read_qdpx(path)


def test_qdpx_without_qde_is_refused(tmp_path):
    path = qdpx(tmp_path, {"sources/a.txt": "text", "readme.md": "hi"})
    with raises(r"project.qdpx: contains no .qde project file"):
        read_qdpx(path)
    several = qdpx(tmp_path, {"a.qde": basic_project(), "b.qde": basic_project()}, name="two.qdpx")
    with raises("contains several .qde project files"):
        read_qdpx(several)


def test_xml_that_is_not_well_formed_is_refused(tmp_path):
    path = qdpx(tmp_path, {"project.qde": b'<Project xmlns="urn:QDA-XML:project:1.0" name="x"><Users></Project>'})
    with raises(r"\[project.qde\]: is not well-formed XML \(line 1, column \d+\)"):
        read_qdpx(path)


def test_wrong_namespace_and_wrong_root_are_refused(tmp_path):
    path = qdpx(tmp_path, {"project.qde": project_xml("", namespace="urn:QDA-XML:project:2.0")})
    with raises(r"root element is in namespace 'urn:QDA-XML:project:2.0', not the REFI-QDA namespace"):
        read_qdpx(path)
    other = qdpx(tmp_path, {"project.qde": project_xml("", root="CodeBook")}, name="root.qdpx")
    with raises(r"the root element is <CodeBook>, not <Project>"):
        read_qdpx(other)


def test_selection_beyond_the_end_of_its_text_is_refused(tmp_path):
    sources = (f'<TextSource guid="{G["src1"]}" name="Interview P01" plainTextPath="internal://{G["src1"]}.txt">'
               + selection("66666666-0000-4000-8000-000000000001", 70, 500, "own") + "</TextSource>")
    path = qdpx(tmp_path, {"project.qde": basic_project(sources=sources), f"sources/{G['src1']}.txt": TEXT1})
    with raises(r"positions of source 'Interview P01' fit no reading of its text \(78 characters as stored; "
                r"tried code points, UTF-16 code units and UTF-8 bytes\): .*selection "
                r"66666666-0000-4000-8000-000000000001 \(70-500\) lies beyond the end of the text"):
        read_qdpx(path)


@pytest.mark.parametrize(("start", "end", "message"), [
    (10, 5, "has startPosition 10 and endPosition 5"),
    (-1, 5, "has startPosition -1"),
    ("x", 5, "has no whole-number startPosition"),
])
def test_impossible_positions_are_refused(tmp_path, start, end, message):
    sources = (f'<TextSource guid="{G["src1"]}" name="a" plainTextPath="internal://{G["src1"]}.txt">'
               + selection("66666666-0000-4000-8000-000000000001", start, end, "own") + "</TextSource>")
    path = qdpx(tmp_path, {"project.qde": basic_project(sources=sources), f"sources/{G['src1']}.txt": TEXT1})
    with raises(message):
        read_qdpx(path)


def test_code_ref_to_an_unknown_guid_is_refused(tmp_path):
    xml = basic_project().replace(f'CodeRef targetGUID="{G["other"]}"'.encode(),
                                  b'CodeRef targetGUID="deadbeef-0000-4000-8000-000000000000"')
    path = qdpx(tmp_path, {"project.qde": xml, f"sources/{G['src1']}.txt": TEXT1})
    with raises(r"has a CodeRef to code GUID deadbeef-0000-4000-8000-000000000000, which is not in the codebook"):
        read_qdpx(path)


def test_missing_internal_text_file_is_skipped_counted_and_warned_once(tmp_path):
    # Source 1's text is missing, source 2's is there: source 2 is imported, source 1's codings counted.
    second = (f'<TextSource guid="{G["src2"]}" name="Interview P02.docx" plainTextPath="internal://{G["src2"]}.txt">'
              + selection("66666666-0000-4000-8000-000000000003", 3, 15, "own") + "</TextSource>")
    third = second.replace(G["src2"], "44444444-0000-4000-8000-000000000003").replace("P02", "P03").replace(
        "66666666-0000-4000-8000-000000000003", "66666666-0000-4000-8000-000000000004")
    xml = basic_project().replace(b"</Sources>", (second + third).encode() + b"</Sources>")
    project = read_qdpx(qdpx(tmp_path, {"project.qde": xml, f"sources/{G['src2']}.txt": TEXT2}))
    assert project.segments["text"].tolist() == ["Güven groeit"]
    report = project.report
    assert report.skipped == [
        {"kind": "TextSource", "item": "Interview P01.docx", "reason": f"text file '{G['src1']}.txt' is not in the "
         "project's sources folder; 2 selection(s) with 2 coding(s) not imported"},
        {"kind": "TextSource", "item": "Interview P03.docx", "reason": "text file "
         "'44444444-0000-4000-8000-000000000003.txt' is not in the project's sources folder; 1 selection(s) with "
         "1 coding(s) not imported"},
    ]
    assert (report.counts["skipped_text_sources"], report.counts["skipped_selections"],
            report.counts["skipped_codings"]) == (2, 3, 3)
    assert [w for w in report.warnings if "skipped" in w] == [
        "2 text source(s) skipped because their text is missing from the project or lies outside it; their 3 "
        "coding(s) are not imported (see Skipped; export again with the sources included)"]


@pytest.mark.parametrize("plain_text_path", [
    "board_2017.txt",  # a bare name: in sources/
    "sources/board_2017.txt",
    "Sources\\board_2017.txt",
    "internal://board_2017.txt",
    "relative://board_2017.txt",
    "absolute://C:/Users/elena/Documents/ATLAS.ti/Project/sources/board_2017.txt",  # under basePath
    "C:\\Users\\elena\\Documents\\ATLAS.ti\\Project\\board_2017.txt",
    "file:///C:/Users/elena/Documents/ATLAS.ti/Project/Sources/BOARD_2017.TXT",
])
@pytest.mark.parametrize("container", ["qdpx", "qde"])
def test_text_paths_resolve_inside_the_project_only(tmp_path, plain_text_path, container):
    sources = (f'<TextSource guid="{G["src1"]}" name="board" plainTextPath="{plain_text_path}">'
               + selection("66666666-0000-4000-8000-000000000001", 30, 53, "own") + "</TextSource>")
    xml = basic_project(sources=sources, attributes='basePath="C:\\Users\\elena\\Documents\\ATLAS.ti\\Project"')
    if container == "qdpx":
        path = qdpx(tmp_path, {"project.qde": xml, "Sources/board_2017.txt": TEXT1})
    else:
        (tmp_path / "Sources").mkdir()
        (tmp_path / "Sources" / "board_2017.txt").write_text(TEXT1, encoding="utf-8")
        path = tmp_path / "project.qde"
        path.write_bytes(xml)
    project = read_qdpx(path)
    assert project.segments["text"].tolist() == ["wij willen samenwerken."]
    assert project.report.skipped == []


@pytest.mark.parametrize(("plain_text_path", "reason"), [
    ("../board_2017.txt", "text path leaves the project ('..'); not followed"),
    ("sources/../../board_2017.txt", "text path leaves the project ('..'); not followed"),
    ("absolute://D:/Other/board_2017.txt", "text is outside the project (an absolute path not under the project's basePath)"),
    ("/home/elena/board_2017.txt", "text is outside the project (an absolute path not under the project's basePath)"),
    ("https://example.org/board_2017.txt", "text path has an unknown scheme 'https://'"),
])
@pytest.mark.parametrize("container", ["qdpx", "qde"])
def test_text_paths_leaving_the_project_are_never_followed(tmp_path, plain_text_path, reason, container):
    (tmp_path / "board_2017.txt").write_text(TEXT1, encoding="utf-8")  # the file the path would reach
    project_dir = tmp_path / "project"
    project_dir.mkdir()
    sources = (f'<TextSource guid="{G["src1"]}" name="board" plainTextPath="{plain_text_path}">'
               + selection("66666666-0000-4000-8000-000000000001", 30, 53, "own") + "</TextSource>")
    xml = basic_project(sources=sources, attributes='basePath="C:\\Users\\elena\\Project"')
    if container == "qdpx":
        path = qdpx(project_dir, {"project.qde": xml, "sources/other.txt": TEXT2})
    else:
        (project_dir / "sources").mkdir()
        path = project_dir / "project.qde"
        path.write_bytes(xml)
    report = read_qdpx(path).report
    assert report.skipped == [{"kind": "TextSource", "item": "board",
                               "reason": f"{reason}; 1 selection(s) with 1 coding(s) not imported"}]
    assert "elena" not in report.to_markdown()


def test_missing_file_and_unknown_format(tmp_path):
    with raises("nothing.qdpx: file not found"):
        read_qdpx(tmp_path / "nothing.qdpx")
    (tmp_path / "notes.docx").write_bytes(b"x")
    with raises(r"notes.docx: not a QDA export this package reads"):
        import_qda(tmp_path / "notes.docx")


# --- export -------------------------------------------------------------------------------------


def synthetic_tables() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    documents = pd.read_csv(SYNTHETIC / "documents.csv", dtype=str, keep_default_na=False).replace({"": None})
    codebook = pd.read_csv(SYNTHETIC / "codebook.csv", dtype=str)
    segments = pd.read_csv(SYNTHETIC / "coded_segments.csv", dtype={"start": "int64", "end": "int64"})
    return segments, codebook, documents


def write_synthetic_project(path) -> Path:
    segments, codebook, documents = synthetic_tables()
    return write_qdpx(segments, codebook, documents, path, project_name="SYNTHETIC example (ponzoni_eval)")


def validate_project(path: Path) -> None:
    with zipfile.ZipFile(path) as archive:
        document = etree.fromstring(archive.read("project.qde"))
    assert PROJECT_XSD.validate(document), PROJECT_XSD.error_log


def canonical(frame: pd.DataFrame, columns) -> list:
    return frame[list(columns)].astype(object).where(frame[list(columns)].notna(), None) \
        .sort_values(list(columns), key=lambda c: c.astype(str)).values.tolist()


def test_written_project_validates_against_the_refi_qda_schema(tmp_path):
    validate_project(write_synthetic_project(tmp_path / "example.qdpx"))


def test_written_codebook_validates_against_the_codebook_schema_and_reads_back(tmp_path):
    _, codebook, _ = synthetic_tables()
    path = write_qdc(codebook, tmp_path / "codebook.qdc")
    assert CODEBOOK_XSD.validate(etree.parse(str(path))), CODEBOOK_XSD.error_log
    assert canonical(read_qdc(path), codebook.columns) == canonical(codebook, codebook.columns)


def test_export_then_import_gives_the_same_tables(tmp_path):
    segments, codebook, documents = synthetic_tables()
    project = read_qdpx(write_synthetic_project(tmp_path / "example.qdpx"))
    columns = ["document_id", "participant_id", "case_id", "wave", "coder", "code", "start", "end", "text"]
    assert canonical(project.segments, columns) == canonical(segments, columns)
    assert canonical(project.codebook, codebook.columns) == canonical(codebook, codebook.columns)
    read_back = project.documents.set_index("document_id")
    for row in documents.itertuples():
        assert read_back.loc[row.document_id, "text"] == row.text
        assert read_back.loc[row.document_id, "name"] == row.name
    assert project.report.warnings == [] or all("have no participant" in w for w in project.report.warnings)


def test_imported_tables_pass_the_package_schemas(tmp_path):
    from ponzoni_eval.data.schema import CODEBOOK, CODED_SEGMENTS

    project = read_qdpx(write_synthetic_project(tmp_path / "example.qdpx"))
    CODED_SEGMENTS.validate(project.segments)
    CODEBOOK.validate(project.codebook)


def test_users_give_display_names_and_keep_the_coder_as_user_id(tmp_path):
    segments, codebook, documents = synthetic_tables()
    path = write_qdpx(segments, codebook, documents, tmp_path / "p.qdpx", users={"EP": "Elena P."})
    with zipfile.ZipFile(path) as archive:
        users = etree.fromstring(archive.read("project.qde")).find(f"{{{NS_PROJECT}}}Users")
    assert [(u.get("name"), u.get("id")) for u in users] == [("AB", "AB"), ("Elena P.", "EP")]
    assert set(read_qdpx(path).segments["coder"]) == {"AB", "Elena P."}  # readers show the user's name


def test_export_is_byte_reproducible_and_matches_the_committed_example(tmp_path):
    first = write_synthetic_project(tmp_path / "a.qdpx").read_bytes()
    second = write_synthetic_project(tmp_path / "b.qdpx").read_bytes()
    assert first == second
    assert first == (FIXTURES / "qda" / "synthetic_project.qdpx").read_bytes()
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        assert archive.namelist()[0] == "project.qde"
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_a_theme_that_is_itself_a_code_nests_codes_under_a_codable_parent(tmp_path):
    documents = pd.DataFrame({"document_id": ["d1"], "text": ["abcdef"]})
    codebook = pd.DataFrame({"code": ["trust", "mutual_trust"], "theme": [None, "trust"]})
    segments = pd.DataFrame({"document_id": ["d1", "d1"], "coder": ["EP", "EP"], "code": ["trust", "mutual_trust"],
                             "start": [0, 2], "end": [2, 4]})
    path = write_qdpx(segments, codebook, documents, tmp_path / "p.qdpx")
    validate_project(path)
    project = read_qdpx(path)
    assert project.codebook[["code", "theme"]].astype(object).where(project.codebook[["code", "theme"]].notna(), None) \
        .values.tolist() == [["trust", None], ["mutual_trust", "trust"]]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s, c, d: (s.assign(code="unknown"), c, d), "codes used in coded_segments are missing from the codebook"),
        (lambda s, c, d: (s.assign(document_id="nope"), c, d), "segments refer to documents that are not in documents"),
        (lambda s, c, d: (s.assign(end=10_000), c, d), r"coded_segments, row 2, column 'end': segment offsets lie outside"),
        (lambda s, c, d: (s.assign(text="something else"), c, d), r"row 2, column 'text': the quote differs"),
        (lambda s, c, d: (s.assign(position_unit="paragraph"), c, d), "REFI-QDA selections need character offsets"),
        (lambda s, c, d: (s, pd.concat([c, c.head(1)]), d), "codes must be unique in the codebook"),
        (lambda s, c, d: (s, c.assign(theme=c["code"].shift(-1).fillna(c["code"].iloc[0])), d), "form a cycle"),
        (lambda s, c, d: (s.drop(columns="coder"), c, d), r"the coded_segments table lacks column\(s\) coder"),
        (lambda s, c, d: (s.assign(case_id=["a", "b"] * 8 + ["a"]), c, d.drop(columns="case_id")),
         "a document has more than one case_id"),
    ],
    ids=["code", "document", "bounds", "quote", "paragraphs", "duplicate_code", "cycle", "column", "variable"],
)
def test_write_refuses_inconsistent_tables(tmp_path, change, message):
    segments, codebook, documents = change(*synthetic_tables())
    with raises(message):
        write_qdpx(segments, codebook, documents, tmp_path / "x.qdpx")
    assert not (tmp_path / "x.qdpx").exists()


# --- round trip on generated projects ---------------------------------------------------------------

_names = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")),
                 min_size=1, max_size=12).map(str.strip).filter(lambda s: s and "::" not in s)
_texts = st.lists(st.sampled_from(list("abc xyzé ĞşÖ\n.,") + ["\r\n"]), max_size=60).map("".join)


@st.composite
def small_projects(draw):
    codes = draw(st.lists(_names, min_size=1, max_size=5, unique=True))
    themes = draw(st.lists(st.one_of(st.none(), st.sampled_from(["Trust", "Perception gap", "Thème é"])),
                           min_size=len(codes), max_size=len(codes)))
    themes = [t if t not in codes else None for t in themes]
    codebook = pd.DataFrame({"code": codes, "theme": themes,
                             "definition": draw(st.lists(st.one_of(st.none(), _names), min_size=len(codes), max_size=len(codes))),
                             "construct": draw(st.lists(st.one_of(st.none(), st.sampled_from(["trust", "safe_space"])),
                                                        min_size=len(codes), max_size=len(codes)))})
    n_documents = draw(st.integers(1, 3))
    texts = draw(st.lists(_texts, min_size=n_documents, max_size=n_documents))
    documents = pd.DataFrame({"document_id": [f"doc_{i}" for i in range(n_documents)],
                              "name": draw(st.lists(_names, min_size=n_documents, max_size=n_documents)),
                              "participant_id": [draw(st.one_of(st.none(), st.sampled_from(["P01", "P02"])))
                                                 for _ in range(n_documents)],
                              "case_id": [draw(st.sampled_from(["slotervaart", "poelenburg_a"])) for _ in range(n_documents)],
                              "wave": [draw(st.one_of(st.none(), st.sampled_from(["t0", "t1", "t2"]))) for _ in range(n_documents)],
                              "text": texts})
    rows = []
    for _ in range(draw(st.integers(0, 8))):
        index = draw(st.integers(0, n_documents - 1))
        text = texts[index]
        start = draw(st.integers(0, len(text)))
        end = draw(st.integers(start, len(text)))
        rows.append({"document_id": f"doc_{index}", "coder": draw(st.sampled_from(["EP", "AB", "Özlem"])),
                     "code": draw(st.sampled_from(codes)), "start": start, "end": end, "text": text[start:end]})
    segments = pd.DataFrame(rows, columns=["document_id", "coder", "code", "start", "end", "text"])
    return segments.astype({"start": "int64", "end": "int64"}), codebook, documents


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(small_projects())
def test_round_trip_of_generated_projects(tmp_path, project):
    segments, codebook, documents = project
    path = write_qdpx(segments, codebook, documents, tmp_path / "generated.qdpx")
    validate_project(path)
    read_back = read_qdpx(path)
    columns = ["document_id", "coder", "code", "start", "end", "text"]
    assert canonical(read_back.segments, columns) == canonical(segments, columns)
    assert canonical(read_back.codebook, codebook.columns) == canonical(codebook, codebook.columns)
    by_id = read_back.documents.set_index("document_id")
    for row in documents.itertuples():
        assert by_id.loc[row.document_id, "text"] == row.text
        written, read = row.participant_id, by_id.loc[row.document_id, "participant_id"]
        assert (pd.isna(written) and pd.isna(read)) or written == read
        assert by_id.loc[row.document_id, "case_id"] == row.case_id
    assert write_qdpx(segments, codebook, documents, tmp_path / "again.qdpx").read_bytes() == path.read_bytes()


def test_import_qda_dispatches_on_the_suffix(tmp_path):
    path = write_synthetic_project(tmp_path / "example.qdpx")
    segments, codebook, documents, report = import_qda(path)
    assert len(segments) == 17 and len(codebook) == 10 and len(documents) == 4
    assert report.format == "qdpx"
    write_qdc(codebook, tmp_path / "codes.qdc")
    segments, codebook, documents, report = import_qda(tmp_path / "codes.qdc")
    assert segments.empty and len(codebook) == 10 and report.format == "qdc"
