"""Projects in the shapes of ATLAS.ti, MAXQDA and NVivo exports import with the right segments.

The done-criterion of the REFI-QDA issue: "A `.qdpx` written by this package and
hand-built fixtures in the shapes of ATLAS.ti, MAXQDA and NVivo exports import
with the right segment counts per code and coder". Each fixture is kept as
readable sources, laid out as inside the archive
(tests/fixtures/qda/vendors/<vendor>/archive/: the .qde XML and the text
files), and zipped into a .qdpx here. The README beside them says what each
vendor's export looks like and which public sources that rests on.

Every expectation below is counted by hand from the fixture's quotations (the
``QUOTES`` tables, one row per coding, written from the fixture design), never
read back from the importer. Each fixture also goes through the raw-data path:
it replaces interviews.qdpx in a copy of data/raw/example and `ponzoni-eval
validate` must say OK.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from lxml import etree

from ponzoni_eval.cli import main
from ponzoni_eval.qual.read import read_qdpx
from ponzoni_eval.data.schema import CODEBOOK, CODED_SEGMENTS, DOCUMENTS

FIXTURES = Path(__file__).parents[1] / "fixtures" / "qda"
VENDORS = FIXTURES / "vendors"
PROJECT_XSD = Path(__file__).parents[1] / "fixtures" / "refi" / "Project-mrt2019.xsd"
EXAMPLE = Path(__file__).parents[2] / "data" / "raw" / "example"

QDPX_NAME = {  # what the export is called; ATLAS.ti names the inner .qde after the project too
    "atlasti": "Samenwerking Poelenburg.qdpx",
    "maxqda": "Samenwerking Slotervaart en Poelenburg B.qdpx",
    "nvivo": "Samenwerking Slotervaart.qdpx",
}
ALL = list(QDPX_NAME)


def archive_members(vendor: str) -> dict[str, bytes]:
    archive = VENDORS / vendor / "archive"
    return {file.relative_to(archive).as_posix(): file.read_bytes()
            for file in sorted(archive.rglob("*")) if file.is_file()}


def zip_members(members: dict[str, bytes], path: Path) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def vendor_qdpx(vendor: str, folder: Path, name: str | None = None) -> Path:
    """The fixture's archive folder zipped as the vendor's .qdpx (member names as on disk: Sources/ or sources/)."""
    return zip_members(archive_members(vendor), folder / (name or QDPX_NAME[vendor]))


def mapping_of(vendor: str) -> Path:
    return VENDORS / vendor / "qda_mapping.toml"


def imported(vendor: str, tmp_path: Path, *, mapping: bool = True):
    return read_qdpx(vendor_qdpx(vendor, tmp_path), mapping=mapping_of(vendor) if mapping else None)


def coded(document_id: str, quote: str, *codings: tuple[str, str]) -> list[tuple[str, str, str, str]]:
    """One row (document_id, quote, code, coder) per coding of one quotation."""
    return [(document_id, quote, code, coder) for code, coder in codings]


# --- the fixtures, counted by hand -------------------------------------------------------------

A1, A2, A3 = "PA-M03_T0_Vrouwenvereniging", "PA-P02_T0_Jeugdteam_Zaandam", "PA-O02_T2_anne_gorusmesi"
M1, M2, M3 = "Interview_1", "Interview_2", "Interview_1_2"  # MAXQDA: two documents are both called "Interview 1"
N1, N2, N3, N4 = "Interview_SLO-M02", "Interview_SLO-P04", "Interview_SLO-O03", "Groepsgesprek_moeders"

QUOTES = {
    "atlasti": [
        *coded(A1, "Wij willen graag samenwerken, dat zeggen we al jaren.", ("Eigen bereidheid", "EP"), ("Eigen bereidheid", "AB")),
        *coded(A1, "ik denk dat het Jeugdteam ons niet echt nodig heeft.", ("Bereidheid ander", "EP")),
        *coded(A1, "Maar ik denk dat het Jeugdteam ons niet echt nodig heeft.", ("Bereidheid ander", "AB")),
        *coded(A1, "R: Wij willen graag samenwerken, dat zeggen we al jaren.\nR: Maar ik denk dat het Jeugdteam ons niet echt "
                   "nodig heeft.", ("Bereidheid ander", "ŞY")),  # spans a line end: one character, as ATLAS.ti counts
        *coded(A1, "Dat ze onze vereniging versterken, met ruimte en met training.", ("Organisatie versterken", "EP"),
               ("Organisatie versterken", "ŞY")),
        *coded(A1, "Zij vragen vooral of wij hun folder willen uitdelen.", ("Brug naar ouders", "EP"), ("Brug naar ouders", "AB")),
        *coded(A1, "Moeders zijn bang dat hun kinderen worden weggehaald.", ("Angst en oordeel", "ŞY")),
        *coded(A1, "Güven moet eerst groeien, daarna komen de vragen vanzelf.", ("Güven groeit", "EP"), ("Vragen bij Jeugdteam", "EP")),
        *coded(A2, "Samenwerking is belangrijk, wij staan er echt voor open.", ("Eigen bereidheid", "EP"), ("Eigen bereidheid", "AB")),
        *coded(A2, "Alleen lijken de organisaties weinig interesse te hebben.", ("Bereidheid ander", "EP")),
        *coded(A2, "R: Alleen lijken de organisaties weinig interesse te hebben.", ("Bereidheid ander", "ŞY")),
        *coded(A2, "Voor ons zijn ze vooral een brug naar de ouders in de wijk.", ("Brug naar ouders", "AB"), ("Brug naar ouders", "EP")),
        *coded(A2, "We hebben ons oordeel even opgeschort en eerst geluisterd.", ("Veilige ruimte", "EP"), ("Veilige ruimte", "ŞY")),
        *coded(A2, "Samen kozen we een positief doel: een opvoedcafé voor moeders.", ("Positief doel", "EP")),
        *coded(A3, "via de vrouwenvereniging durfde ik het te vragen.", ("Vragen bij Jeugdteam", "EP"), ("Vragen bij Jeugdteam", "AB")),
        *coded(A3, "Eerst dacht ik: ze vinden mij een slechte moeder.", ("Angst en oordeel", "EP"), ("Angst en oordeel", "ŞY")),
        *coded(A3, "Nu vertrouw ik de medewerker, ze luistert echt.", ("Güven groeit", "AB"), ("Güven groeit", "EP")),
        *coded(A3, "Ik ging vorige maand zelf naar het Jeugdteam met een vraag over slapen.", ("Vragen bij Jeugdteam", "ŞY")),
    ],
    "maxqda": [
        *coded(M1, "Wij staan klaar om samen te werken, de deur is open.", ("Eigen bereidheid", "EP"), ("Eigen bereidheid", "MK")),
        *coded(M1, "Het Jeugdteam komt alleen als ze iets van ons nodig hebben.", ("Bereidheid ander", "EP"), ("Bereidheid ander", "MK")),
        *coded(M1, "Wij willen dat zij ons helpen de vrijwilligers op te leiden.", ("Organisatie versterken", "EP"),
               ("Organisatie versterken", "MK")),
        *coded(M1, "Ze gaven ons een stapel folders om uit te delen na het gebed.", ("Folder uitdelen", "EP"), ("Brug naar ouders", "MK")),
        *coded(M1, "Over opvoeding praten we liever eerst onder elkaar, bij thee.", ("Verwachtingen / Overig", "EP"),
               ("Samenwerking / Overig", "MK")),
        *coded(M2, "dachten wij dat de moskee geen contact wilde.", ("Bereidheid ander", "EP"), ("Bereidheid ander", "MK")),
        *coded(M2, "Inmiddels kennen we elkaar en is er vertrouwen gegroeid.", ("Groeiend vertrouwen", "EP"), ("Groeiend vertrouwen", "MK")),
        *coded(M2, "Ouders stellen nu vragen aan ons tijdens de koffieochtend.", ("Hulpvragen bij Jeugdteam", "EP"),
               ("Hulpvragen bij Jeugdteam", "MK")),
        *coded(M2, "Drie moeders zijn zelf naar het Jeugdteam gekomen.", ("Hulpvragen bij Jeugdteam", "EP")),
        *coded(M3, "Wij willen best samenwerken, maar niemand vraagt het ons.", ("Eigen bereidheid", "EP"), ("Eigen bereidheid", "MK")),
        *coded(M3, "Volgens mij vertrouwen ze onze vereniging niet.", ("Bereidheid ander", "EP"), ("Vertrouwen", "MK")),
        *coded(M3, "Als ze onze cursussen steunen, komen de ouders vanzelf.", ("Organisatie versterken", "EP"),
               ("Organisatie versterken", "MK")),
        *coded(M3, "Ouders zijn bang voor het Jeugdteam, dat merk ik elke week.", ("Vertrouwen", "EP")),
    ],
    "nvivo": [
        *coded(N1, "Wij zoeken die samenwerking al lang, echt waar.", ("Eigen bereidheid", "EP"), ("Eigen bereidheid", "RB")),
        *coded(N1, "het Jeugdteam wil volgens mij vooral zijn eigen programma.", ("Bereidheid ander", "EP"), ("Bereidheid ander", "RB")),
        *coded(N1, "Ze kwamen pas luisteren toen wij zelf een avond organiseerden.", ("Oordeel opschorten", "RB"), ("Samenwerking", "EP")),
        *coded(N2, "Ik heb mijn oordeel uitgesteld en eerst gevraagd wat zij nodig hadden.", ("Oordeel opschorten", "EP"),
               ("Oordeel opschorten", "RB")),
        *coded(N2, "Samen hebben we een positief doel gekozen: een moedergroep.", ("Positief doel", "EP"), ("Positief doel", "RB")),
        *coded(N2, "Daarna kwamen ouders met vragen over opvoeding naar ons toe.", ("Hulp zoeken", "EP"), ("Hulp zoeken", "RB")),
        *coded(N3, "Vroeger was ik bang dat ze mijn kinderen zouden afpakken.", ("Angst voor jeugdzorg", "EP"),
               ("Angst voor jeugdzorg", "RB")),
        *coded(N3, "Via de moedergroep leerde ik de medewerker kennen.", ("Positief doel", "EP")),
        *coded(N3, "Nu vraag ik haar gewoon om advies.", ("Hulp zoeken", "EP"), ("Hulp zoeken", "RB")),
        *coded(N4, "We voelen ons niet meer beoordeeld.", ("Veilige ruimte", "EP")),
        *coded(N4, "R1: We voelen ons niet meer beoordeeld.", ("Veilige ruimte", "RB")),  # coding without creatingUser: the selection's user
        *coded(N4, "Het Jeugdteam komt nu gewoon op de koffieochtend.", ("Samenwerking", "EP")),
        *coded(N4, "Mijn buurvrouw ging ook al met een vraag naar hen toe.", ("Hulp zoeken", "RB")),
    ],
}

PER_CODE = {  # tallied by hand from the quotations above
    "atlasti": {"Eigen bereidheid": 4, "Bereidheid ander": 5, "Organisatie versterken": 2, "Brug naar ouders": 4,
                "Güven groeit": 3, "Angst en oordeel": 3, "Veilige ruimte": 2, "Positief doel": 1, "Vragen bij Jeugdteam": 4},
    "maxqda": {"Eigen bereidheid": 4, "Bereidheid ander": 5, "Organisatie versterken": 4, "Folder uitdelen": 1,
               "Brug naar ouders": 1, "Verwachtingen / Overig": 1, "Samenwerking / Overig": 1, "Groeiend vertrouwen": 2,
               "Hulpvragen bij Jeugdteam": 3, "Vertrouwen": 2},
    "nvivo": {"Eigen bereidheid": 2, "Bereidheid ander": 2, "Oordeel opschorten": 3, "Samenwerking": 2, "Positief doel": 3,
              "Hulp zoeken": 5, "Angst voor jeugdzorg": 2, "Veilige ruimte": 2},
}
PER_CODER = {"atlasti": {"EP": 14, "AB": 7, "ŞY": 7}, "maxqda": {"EP": 13, "MK": 11}, "nvivo": {"EP": 11, "RB": 10}}
CODEBOOK_SIZE = {"atlasti": 10, "maxqda": 12, "nvivo": 8}  # codable codes, used or not (listed in the *_shape tests)

DOCUMENTS_EXPECTED = {  # document_id -> (participant_id, case_id, wave)
    "atlasti": {A1: ("PA-M03", "poelenburg_a", "t0"), A2: ("PA-P02", "poelenburg_a", "t0"), A3: ("PA-O02", "poelenburg_a", "t2")},
    "maxqda": {M1: ("SLO-M05", "slotervaart", "t0"), M2: ("SLO-P03", "slotervaart", "t2"), M3: ("PB-M07", "poelenburg_b", "t0")},
    "nvivo": {N1: ("SLO-M02", "slotervaart", "t0"), N2: ("SLO-P04", "slotervaart", "t2"), N3: ("SLO-O03", "slotervaart", "t2"),
              N4: (None, "slotervaart", "t2")},  # a group interview: no participant, the mapping's default case
}

PROVENANCE = {  # report.variables: where participant, case and wave came from
    "atlasti": {"participant_id": "document name pattern (3 documents)", "case_id": "variable 'Casus' (3 documents)",
                "wave": "variable 'Meting' (3 documents)"},
    "maxqda": {"participant_id": "variable 'Respondentcode' (3 documents)", "case_id": "variable 'Locatie' (3 documents)",
               "wave": "variable 'Interviewronde' (3 documents)"},
    "nvivo": {"participant_id": "case name (3 documents); missing (1 document)",
              "case_id": "variable 'Persoon:Casus' (3 documents); default (1 document)",
              "wave": "variable 'Interview:Meting' (4 documents)"},
}


def none_for_missing(frame: pd.DataFrame, columns: list[str]) -> list[tuple]:
    return [tuple(None if pd.isna(v) else v for v in row) for row in frame[columns].itertuples(index=False)]


# --- counts, quotes, variables -------------------------------------------------------------------


@pytest.mark.parametrize("vendor", ALL)
def test_fixture_is_a_valid_refi_qda_project(vendor):
    schema = etree.XMLSchema(etree.parse(str(PROJECT_XSD)))
    (project_file,) = (VENDORS / vendor / "archive").glob("*.qde")
    assert schema.validate(etree.parse(str(project_file))), schema.error_log


def test_hand_counts_agree_with_the_quotation_tables():
    """The hand tallies and the quotation tables are two writings of the same fixture."""
    for vendor in ALL:
        assert Counter(code for _, _, code, _ in QUOTES[vendor]) == PER_CODE[vendor], vendor
        assert Counter(coder for _, _, _, coder in QUOTES[vendor]) == PER_CODER[vendor], vendor


@pytest.mark.parametrize("vendor", ALL)
def test_segment_counts_per_code_and_per_coder(tmp_path, vendor):
    segments = imported(vendor, tmp_path).segments
    assert segments.groupby("code").size().to_dict() == PER_CODE[vendor]
    assert segments.groupby("coder").size().to_dict() == PER_CODER[vendor]
    assert (segments["position_unit"] == "character").all()


@pytest.mark.parametrize("vendor", ALL)
def test_every_segment_is_an_intended_quote_with_its_code_and_coder(tmp_path, vendor):
    project = imported(vendor, tmp_path)
    segments = project.segments
    found = sorted(zip(segments["document_id"], segments["text"], segments["code"], segments["coder"]))
    assert found == sorted(QUOTES[vendor])
    texts = project.documents.set_index("document_id")["text"]
    positions = zip(segments["document_id"], segments["start"], segments["end"], segments["text"])
    assert all(texts[document][start:end] == quote for document, start, end, quote in positions)


@pytest.mark.parametrize("vendor", ALL)
def test_participant_case_and_wave_come_from_the_vendors_variables(tmp_path, vendor):
    project = imported(vendor, tmp_path)
    documents = dict(zip(project.documents["document_id"],
                         none_for_missing(project.documents, ["participant_id", "case_id", "wave"])))
    assert documents == DOCUMENTS_EXPECTED[vendor]
    assert project.report.variables == PROVENANCE[vendor]
    by_document = DOCUMENTS_EXPECTED[vendor]
    assert none_for_missing(project.segments, ["participant_id", "case_id", "wave"]) == [
        by_document[d] for d in project.segments["document_id"]]


@pytest.mark.parametrize(
    ("vendor", "without_mapping"),
    [
        ("atlasti", {"participant_id": "missing (3 documents)", "case_id": "variable 'Casus' (3 documents)",
                     "wave": "variable 'Meting' (3 documents)"}),
        ("maxqda", dict.fromkeys(("participant_id", "case_id", "wave"), "missing (3 documents)")),
        ("nvivo", dict.fromkeys(("participant_id", "case_id", "wave"), "missing (4 documents)")),
    ],
)
def test_without_its_mapping_file_the_report_says_what_is_missing(tmp_path, vendor, without_mapping):
    """Why each fixture carries a qda_mapping.toml: the vendor's variable names (or values) need it."""
    project = imported(vendor, tmp_path, mapping=False)
    assert project.report.variables == without_mapping
    if vendor == "atlasti":  # groups are read, but "Poelenburg A" is no case_id until the mapping recodes it
        assert set(project.documents["case_id"]) == {"Poelenburg A"}


@pytest.mark.parametrize("vendor", ALL)
def test_imported_tables_pass_the_package_schemas(tmp_path, vendor):
    project = imported(vendor, tmp_path)
    CODED_SEGMENTS.validate(project.segments)
    CODEBOOK.validate(project.codebook)
    DOCUMENTS.validate(project.documents.drop(columns=["variables"]))


# --- what each vendor's shape brings ----------------------------------------------------------------


def codebook_rows(project) -> list[tuple]:
    return none_for_missing(project.codebook, ["code", "theme", "construct"])


def test_atlasti_shape(tmp_path):
    project = imported("atlasti", tmp_path)
    report = project.report
    assert report.warnings == [
        "project file is 'Samenwerking Poelenburg.qde', not 'project.qde'; read anyway",
        "the project's basePath (a folder on the exporting computer) is not read: only files inside the project are read",
        "1 document group(s) not read as a variable (name not 'Variable::Value' or 'Variable: Value'): 'Vrouwenvereniging'",
    ]
    # Quotation offsets count a Windows line end as one character (the text files have \r\n).
    assert report.offsets == {A1: "code points = UTF-16 code units; \\r\\n counted as one character",
                              A2: "code points = UTF-16 code units; \\r\\n counted as one character",
                              A3: "code points = UTF-16 code units"}
    assert not project.documents["text"].str.contains("\r").any()
    assert report.skipped == [{"kind": "AudioSource", "item": "Focusgroep moeders Poelenburg.m4a",
                               "reason": "not a text source; 1 selection(s) with 2 coding(s) not imported"}]
    counts = report.counts
    assert (counts["users"], counts["uncoded_selections"], counts["selections.PlainTextSelection"]) == (3, 1, 19)
    assert (counts["document_sets"], counts["document_sets.variables"]) == (4, 3)  # "Vrouwenvereniging" is no variable
    assert codebook_rows(project) == [  # Parent::Child names give the theme; code groups "construct: ..." the construct
        ("Eigen bereidheid", "Percepties", "perception_gap"), ("Bereidheid ander", "Percepties", "perception_gap"),
        ("Organisatie versterken", "Verwachtingen", "expectation_mismatch"),
        ("Brug naar ouders", "Verwachtingen", "expectation_mismatch"),
        ("Training vrijwilligers", "Verwachtingen", "expectation_mismatch"),  # in the codebook, never applied
        ("Güven groeit", "Vertrouwen", "trust"), ("Angst en oordeel", "Vertrouwen", "trust"),
        ("Veilige ruimte", None, "safe_space"), ("Positief doel", "Proces", "safe_space"),
        ("Vragen bij Jeugdteam", "Hulp zoeken", "help_seeking"),
    ]
    variables = project.documents.set_index("document_id")["variables"]
    assert variables[A1] == {"Casus": "Poelenburg A", "Meting": "T0"}


def test_maxqda_shape(tmp_path):
    project = imported("maxqda", tmp_path)
    report = project.report
    assert report.warnings == ["1 document group(s) not read as a variable (name not 'Variable::Value' or "
                               "'Variable: Value'): 'Voormeting'",  # a MAXQDA document set, reported not lost
                               "code name 'Overig' occurs under several parents; named by the end of its path: "
                               "Samenwerking / Overig, Verwachtingen / Overig"]
    assert report.skipped == [{"kind": "PDFSource", "item": "Verslag bijeenkomst 12-03",
                               "reason": "not a text source; 2 selection(s) with 3 coding(s) not imported"}]
    counts = report.counts
    assert (counts["cases"], counts["selections.PDFSelection"], counts["uncoded_selections"]) == (4, 2, 1)
    assert counts["document_sets"] == 1 and "document_sets.variables" not in counts  # a document set is no variable
    assert report.offsets == dict.fromkeys([M1, M3, M2], "characters")
    assert codebook_rows(project) == [  # nested codes, all codable: parent codes are codes (and themes) too
        ("Samenwerking", None, None), ("Eigen bereidheid", "Samenwerking", None), ("Bereidheid ander", "Samenwerking", None),
        ("Samenwerking / Overig", "Samenwerking", None), ("Verwachtingen", None, None),
        ("Organisatie versterken", "Verwachtingen", "expectation_mismatch"),
        ("Brug naar ouders", "Verwachtingen", "expectation_mismatch"),
        ("Folder uitdelen", "Verwachtingen", "expectation_mismatch"),  # three levels deep: theme is the top
        ("Verwachtingen / Overig", "Verwachtingen", None), ("Vertrouwen", None, None),
        ("Groeiend vertrouwen", "Vertrouwen", None), ("Hulpvragen bij Jeugdteam", None, None),
    ]
    # Document variables of every type travel in nameless cases.
    assert project.documents.set_index("document_id")["variables"][M1] == {
        "Respondentcode": "SLO-M05", "Locatie": "Slotervaart", "Interviewronde": "voormeting", "Leeftijd": "41",
        "Tolk aanwezig": "true"}


def test_nvivo_shape(tmp_path):
    project = imported("nvivo", tmp_path)
    report = project.report
    assert report.warnings == ["1 document(s) have no participant: add a `participant_id` rule in qda_mapping.toml "
                               "([variables], [documents] pattern or [defaults]) or run `ponzoni-eval qda-map "
                               "Samenwerking Slotervaart.qdpx` to have one proposed (group interviews may stay without "
                               "a participant)"]
    assert report.skipped == []
    # NVivo counts \r\n as two characters: the offsets index the text as stored.
    assert report.offsets == dict.fromkeys([N1, N2, N3, N4], "characters; \\r\\n counted as two characters")
    assert project.documents["text"].str.contains("\r\n").all()
    counts = report.counts
    assert (counts["case_nodes"], counts["case_codings"], counts["codings"]) == (3, 3, 21)
    assert codebook_rows(project) == [  # top nodes are codable and hold codings; case nodes are no codes
        ("Samenwerking", None, None), ("Eigen bereidheid", "Samenwerking", None), ("Bereidheid ander", "Samenwerking", None),
        ("Veilige ruimte", None, None), ("Oordeel opschorten", "Veilige ruimte", None),
        ("Positief doel", "Veilige ruimte", None), ("Hulp zoeken", None, None), ("Angst voor jeugdzorg", "Hulp zoeken", None),
    ]
    assert project.codebook.set_index("code").loc["Samenwerking", "definition"] == "Wens tot en beeld van samenwerking."


def test_nvivo_case_coding_alone_places_a_document_in_its_case(tmp_path):
    """Without SourceRef, the coding of the text to the case node still gives the case and its attributes."""
    members = archive_members("nvivo")
    qde = members["project.qde"].decode("utf-8")
    without_refs, removed = re.subn(r"\s*<SourceRef [^>]*/>", "", qde)
    assert removed == 3
    path = zip_members({**members, "project.qde": without_refs.encode("utf-8")}, tmp_path / QDPX_NAME["nvivo"])
    project = read_qdpx(path, mapping=mapping_of("nvivo"))
    documents = dict(zip(project.documents["document_id"],
                         none_for_missing(project.documents, ["participant_id", "case_id", "wave"])))
    assert documents == DOCUMENTS_EXPECTED["nvivo"]


# --- the package's own export ----------------------------------------------------------------------


def test_a_project_written_by_this_package_imports_with_its_counts_per_code_and_coder():
    """The committed write_qdpx output against the tables it was written from (tests/fixtures/qda/synthetic)."""
    source = pd.read_csv(FIXTURES / "synthetic" / "coded_segments.csv", dtype=str)
    segments = read_qdpx(FIXTURES / "synthetic_project.qdpx").segments
    assert Counter(zip(segments["code"], segments["coder"])) == Counter(zip(source["code"], source["coder"]))
    assert len(segments) == 17


# --- through the raw-data path -----------------------------------------------------------------------

EXPECTED_WARNINGS = {  # (rule, message start) of each validation warning, nothing else
    "atlasti": [("qda_import", "project file is 'Samenwerking Poelenburg.qde'"), ("qda_import", "the project's basePath"),
                ("qda_import", "1 document group(s) not read as a variable"),
                ("qda_skipped", "AudioSource 'Focusgroep moeders Poelenburg.m4a' not imported")],
    "maxqda": [("qda_import", "1 document group(s) not read as a variable"),
               ("qda_import", "code name 'Overig' occurs under several parents"),
               ("qda_skipped", "PDFSource 'Verslag bijeenkomst 12-03' not imported")],
    "nvivo": [("qda_import", "1 document(s) have no participant: add a `participant_id` rule")],
}


def example_with(vendor: str, folder: Path) -> Path:
    """A copy of the example raw folder whose interviews.qdpx is the vendor's project (with its mapping)."""
    shutil.copytree(EXAMPLE, folder)
    vendor_qdpx(vendor, folder, "interviews.qdpx")
    shutil.copy(mapping_of(vendor), folder / "qda_mapping.toml")
    return folder


def printed_problems(output: str) -> list[tuple[str, str, str]]:
    """(severity, rule, message) of each row of the problems table that `validate` prints."""
    rows = []
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("│").split("│")]
        if len(cells) == 7 and cells[0] in ("error", "warning"):
            rows.append((cells[0], cells[5], cells[6]))
    return rows


@pytest.mark.parametrize("vendor", ALL)
def test_vendor_project_in_a_raw_folder_validates(tmp_path, capsys, monkeypatch, vendor):
    folder = example_with(vendor, tmp_path / "raw")
    monkeypatch.setenv("COLUMNS", "1000")  # one table row per problem
    capsys.readouterr()
    with pytest.raises(SystemExit) as stopped:
        main(["validate", str(folder)])
    output = capsys.readouterr().out
    assert stopped.value.code == 0, output
    assert f"coded_segments {sum(PER_CODER[vendor].values())}, codebook {CODEBOOK_SIZE[vendor]}, documents" in output
    found = sorted(printed_problems(output))
    expected = sorted(EXPECTED_WARNINGS[vendor])
    assert len(found) == len(expected), output
    for (severity, rule, message), (want_rule, start) in zip(found, expected):
        assert (severity, rule) == ("warning", want_rule) and message.startswith(start), output
