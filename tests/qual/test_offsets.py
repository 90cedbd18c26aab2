"""Selection positions in every unit an export may count in: code points, UTF-16 code units, UTF-8 bytes, \\r\\n as one or two.

The texts are full of what shifts positions between units: emoji outside the
Basic Multilingual Plane (two UTF-16 code units, four UTF-8 bytes), an emoji
with a skin-tone modifier and a ZWJ sequence, letters with combining accents,
Chinese (three UTF-8 bytes each) and Windows line ends. Each project is built
in code (tests/qda_builders.py) with positions computed here, independently of
the importer, in the convention under test; the importer must return quotes
equal to the selected text and name the convention in the report.
"""

from __future__ import annotations

import pytest

from ponzoni_eval._core.errors import DataError
from ponzoni_eval.qual.offsets import read_positions, Span
from ponzoni_eval.qual.read import read_qdpx
from qda_builders import G, basic_project, qdpx, selection

TEXT = (
    "I: Hoe gaat het met de samenwerking? 😀\r\n"
    "R: Goed 👍🏽, wij willen graag samenwerken met het Jeugdteam.\r\n"
    "R: Bij het café\u0301 zeggen moeders: 信任很重要 🤷\u200d♀️ maar zij willen niet.\r\n"
    "R: Güven groeit 🌱🌱, ouders komen nu zelf naar de bijeenkomst.\r\n"
    "I: Dank u wel 🙏"
)
QUOTES = ("wij willen graag samenwerken", "maar zij willen niet", "ouders komen nu zelf", "Dank u wel 🙏")
"""What the coder selected; the last quote ends the text, past where code points end if UTF-16 is read as characters."""

CONVENTIONS = {  # (unit, \r\n counted as one character) -> the report's label
    ("code points", False): "code points; \\r\\n counted as two characters",
    ("UTF-16 code units", False): "UTF-16 code units; \\r\\n counted as two characters",
    ("UTF-8 bytes", False): "UTF-8 bytes; \\r\\n counted as two characters",
    ("code points", True): "code points; \\r\\n counted as one character",
    ("UTF-16 code units", True): "UTF-16 code units; \\r\\n counted as one character",
    ("UTF-8 bytes", True): "UTF-8 bytes; \\r\\n counted as one character",
}


def position(text: str, index: int, unit: str) -> int:
    """The position of character ``index`` of ``text`` counted in ``unit``."""
    head = text[:index]
    if unit == "UTF-16 code units":
        return len(head.encode("utf-16-le")) // 2
    if unit == "UTF-8 bytes":
        return len(head.encode("utf-8"))
    return len(head)


def selections_in(text: str, unit: str, crlf_as_one: bool, *, named: bool) -> str:
    counted = text.replace("\r\n", "\n") if crlf_as_one else text
    xml = ""
    for n, quote in enumerate(QUOTES, start=1):
        index = counted.index(quote)
        start, end = position(counted, index, unit), position(counted, index + len(quote), unit)
        xml += selection(f"66666666-0000-4000-8000-00000000000{n}", start, end, "own",
                         name=(quote[:12] + "...") if named else "")
    return xml


def project_in(tmp_path, unit: str, crlf_as_one: bool, *, named: bool, text: str = TEXT):
    sources = (f'<TextSource guid="{G["src1"]}" name="Interview P01.docx" plainTextPath="internal://{G["src1"]}.txt">'
               + selections_in(text, unit, crlf_as_one, named=named) + "</TextSource>")
    return qdpx(tmp_path, {"project.qde": basic_project(sources=sources),
                           f"sources/{G['src1']}.txt": text.encode("utf-8")})


@pytest.mark.parametrize("named", [True, False], ids=["with quotation names", "positions only"])
@pytest.mark.parametrize(("unit", "crlf_as_one"), list(CONVENTIONS))
def test_quotes_equal_the_selected_text_in_every_convention(tmp_path, unit, crlf_as_one, named):
    project = read_qdpx(project_in(tmp_path, unit, crlf_as_one, named=named))
    assert project.segments["text"].tolist() == list(QUOTES)
    assert project.report.offsets == {"Interview_P01": CONVENTIONS[(unit, crlf_as_one)]}
    assert not [w for w in project.report.warnings if "equally well" in w]
    # start and end are characters of documents.text, whatever the export counted in
    text = project.documents.loc[0, "text"]
    assert [text[s:e] for s, e in zip(project.segments["start"], project.segments["end"])] == list(QUOTES)
    assert ("\r\n" in text) is not crlf_as_one


def test_utf16_positions_near_the_end_are_not_refused_as_beyond_the_end(tmp_path):
    # 'Dank u wel 🙏' ends at UTF-16 position len(TEXT) + 8 (eight characters above U+FFFF): read as
    # characters, it would lie beyond the end of the text.
    text_units = len(TEXT.encode("utf-16-le")) // 2
    assert text_units > len(TEXT)
    project = read_qdpx(project_in(tmp_path, "UTF-16 code units", False, named=False))
    assert project.segments["end"].max() == len(TEXT)


@pytest.mark.parametrize(("text", "quote"), [
    ("R: 我们愿意合作。但是他们不愿意。我们需要信任。", "但是他们不愿意"),  # three UTF-8 bytes per character
    ("R: Ouders 👨\u200d👩\u200d👧 komen nu zelf.\r\nR: Güven groeit 🌱.", "komen nu zelf"),
], ids=["CJK", "ZWJ family emoji"])
def test_cjk_and_zwj_sequences_in_utf8_bytes(tmp_path, text, quote):
    # The quotation name is the whole quote (short quotes are not shortened with '...'): it fixes the end too.
    index = text.index(quote)
    sources = (f'<TextSource guid="{G["src1"]}" name="x" plainTextPath="internal://{G["src1"]}.txt">'
               + selection("66666666-0000-4000-8000-000000000001", position(text, index, "UTF-8 bytes"),
                           position(text, index + len(quote), "UTF-8 bytes"), "own", name=quote)
               + "</TextSource>")
    path = qdpx(tmp_path, {"project.qde": basic_project(sources=sources), f"sources/{G['src1']}.txt": text.encode()})
    project = read_qdpx(path)
    assert project.segments["text"].tolist() == [quote]
    assert project.report.offsets["x"].startswith("UTF-8 bytes")


def test_a_position_inside_every_reading_of_a_character_is_refused_with_each_reading_named():
    text = "🙂🙂🙂 abc"  # positions 1 and 2 split the first emoji in UTF-16 and UTF-8; 40 is beyond every end
    with pytest.raises(DataError) as caught:
        read_positions(text, [Span("sel-1", 1, 40)], source="P01", where="x.qdpx")
    message = str(caught.value)
    assert "source 'P01' fit no reading of its text (7 characters" in message
    assert "code points / UTF-16 code units / UTF-8 bytes: selection sel-1 (1-40) lies beyond the end" in message
    with pytest.raises(DataError, match=r"code points: selection sel-2 \(0-12\) lies beyond the end of the text; "
                                        r"UTF-16 code units / UTF-8 bytes: selection sel-1 \(1-3\) splits a character"):
        read_positions(text, [Span("sel-1", 1, 3), Span("sel-2", 0, 12)], source="P01", where="x.qdpx")


def test_a_tie_without_any_name_is_reported():
    # 'é' is one code point and one UTF-16 unit but two UTF-8 bytes; positions 7-8 cut cleanly either way
    # ('d' as characters, the space before it as bytes).
    reading = read_positions("ab c é d e", [Span("s", 7, 8)], source="P01", where="x")
    assert reading.label == "code points = UTF-16 code units"
    assert "fit code points = UTF-16 code units and UTF-8 bytes equally well" in reading.warning
    named = read_positions("ab c é d e", [Span("s", 7, 8, "d")], source="P01", where="x")
    assert (named.label, named.warning) == ("code points = UTF-16 code units", None)


def test_word_boundaries_decide_without_names():
    # Read as code points, UTF-8 positions of 'willen' (after 'ü') would start one letter late: 'illen '.
    text = "Güven: wij willen niet"
    start = len(text[:text.index("willen")].encode())
    reading = read_positions(text, [Span("s", start, start + 6)], source="P01", where="x")
    assert reading.label == "UTF-8 bytes"
    assert text[slice(*reading.spans[0])] == "willen"


def test_combining_marks_are_not_split():
    # 'e' + U+0301: a quote ending between the letter and its accent is not a clean cut.
    text = "cafe\u0301 open 😀 cafe\u0301 dicht"
    start = len(text[:text.index("cafe\u0301 dicht")].encode("utf-16-le")) // 2
    reading = read_positions(text, [Span("s", start, start + 5)], source="P01", where="x")
    assert reading.label == "UTF-16 code units"
    assert text[slice(*reading.spans[0])] == "cafe\u0301"
