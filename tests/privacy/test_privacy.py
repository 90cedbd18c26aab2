"""Tests for ponzoni_eval.privacy: pseudonym checks, redaction, suppression, keyed pseudonyms."""

from __future__ import annotations

import hashlib
import hmac
import re
import sys
import unicodedata

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hypothesis_profiles import examples
from ponzoni_eval._core.errors import DataError, Problem
from ponzoni_eval.privacy.names import (
    check_pseudonyms,
    looks_like_name_or_email,
    participant_names,
    pseudonymise,
    name_variants,
    read_name_list,
)
from ponzoni_eval.privacy.suppress import format_suppressed, suppress_small_cells
from ponzoni_eval.privacy.redaction import redact, redact_counted, redact_documents
from ponzoni_eval._core.vocabulary import ID_PATTERN
from ponzoni_eval.privacy import redaction
from ponzoni_eval.privacy import names as privacy_names

# --- names and e-mail addresses in identifiers ----------------------------------


@pytest.mark.parametrize(
    "value",
    ["Ayşe Yılmaz", "Jan de Vries", "Fatima el Amrani", "Ahmet-Can Öztürk", "Özlem Şahin", "a.yilmaz@gmail.com",
     "FATIMA", "mohammed", "Gülşen", "contact: j.devries@jeugdteam.nl"],
)
def test_names_and_emails_are_flagged(value):
    assert looks_like_name_or_email([value]).iloc[0]


@pytest.mark.parametrize("value", ["P01", "slotervaart_p02", "JT-03", "P 01", "pb-parent-7", "t0", "coder_2"])
def test_pseudonyms_are_not_flagged(value):
    assert not looks_like_name_or_email([value]).iloc[0]


def test_documented_limits_of_the_heuristic():
    # Lower-case full names and uncommon single first names are missed; a capitalised
    # two-word label is a false alarm. The docstring says so; this test keeps it honest.
    assert looks_like_name_or_email(["jan de vries", "Zwaantje", "Group Leader"]).tolist() == [False, False, True]


def test_mask_keeps_index_and_handles_missing_and_duplicates():
    values = pd.Series(["P01", None, "Ayşe Yılmaz"], index=[7, 7, 9], name="participant_id")
    mask = looks_like_name_or_email(values)
    assert mask.index.tolist() == [7, 7, 9] and mask.tolist() == [False, False, True]
    assert mask.name == "participant_id"


def test_check_pseudonyms_warns_with_spreadsheet_rows():
    frame = pd.DataFrame({"participant_id": ["P01", "Ayşe Yılmaz", "P03", "Ayşe Yılmaz"], "coder": ["ab", "ab", "jan@uni.nl", "ab"]})
    problems = check_pseudonyms(frame, ["participant_id", "coder"], file="participants.csv")
    assert all(isinstance(p, Problem) and p.severity == "warning" and p.rule == "pseudonym" for p in problems)
    by_column = {p.column: p for p in problems}
    assert by_column["participant_id"].row == 3 and "(2 rows)" in by_column["participant_id"].message
    assert by_column["coder"].row == 4 and by_column["coder"].value == "jan@uni.nl"
    assert check_pseudonyms(frame.iloc[[0, 2]].assign(coder="ab"), ["participant_id", "coder"]) == []


def test_check_pseudonyms_unknown_column():
    with pytest.raises(DataError, match="'name_id' is not in the table"):
        check_pseudonyms(pd.DataFrame({"participant_id": ["P01"]}), ["name_id"])


# --- redaction -----------------------------------------------------------------

NAMES = ["Ayşe", "Ayşe Yılmaz", "Gülşen", "Özlem", "Ali", "İbrahim", "Jan de Vries"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ayşe's zoon kwam", "[NAAM] zoon kwam"),  # English/Dutch possessive
        ("Ayşes moeder belde", "[NAAM] moeder belde"),  # Dutch genitive s
        ("Ayşe'nin annesi", "[NAAM] annesi"),  # Turkish suffix after apostrophe
        ("met Ayşe’ye gesproken", "met [NAAM] gesproken"),  # typographic apostrophe
        ("AYŞE en ayşe", "[NAAM] en [NAAM]"),  # case-insensitive
        ("Ayşe Yılmaz zei", "[NAAM] zei"),  # longest first: one placeholder, not two
        ("Ayşe  Yılmaz zei", "[NAAM] zei"),  # flexible white space
        ("Gülşen en Özlem", "[NAAM] en [NAAM]"),
        ("ibrahim en IBRAHIM", "[NAAM] en [NAAM]"),  # Turkish dotted capital İ
        ("Ali en Alina", "[NAAM] en Alina"),  # whole words only
        ("Ayşegül is iemand anders", "Ayşegül is iemand anders"),
        ("jan de vries", "[NAAM]"),
    ],
)
def test_redact_names(text, expected):
    assert redact([text], NAMES).iloc[0] == expected


def test_redact_longest_name_wins_also_across_spellings_in_the_list():
    # The list holds "AYŞE" and "Ayşe Yılmaz", "ılker" and "Ilker Yıldız": the full name
    # must still win, whatever capitals the list uses.
    names = ["AYŞE", "Ayşe Yılmaz", "ılker", "Ilker Yıldız"]
    texts = ["ayşe yılmaz zei", "Ilker Yıldız kwam", "ılker ook", "Ayşe alleen"]
    assert redact(texts, names).tolist() == ["[NAAM] zei", "[NAAM] kwam", "[NAAM] ook", "[NAAM] alleen"]


def test_redact_many_names():
    names = [f"Voornaam{i} Achternaam{i}" for i in range(300)] + [f"Voornaam{i}" for i in range(300)]
    out = redact(["Voornaam12 Achternaam12 en Voornaam7 en Voornaam3000"], names)
    assert out.iloc[0] == "[NAAM] en [NAAM] en Voornaam3000"


def test_redact_matches_decomposed_unicode():
    decomposed = unicodedata.normalize("NFD", "Gülşen belde")
    assert decomposed != "Gülşen belde"
    assert redact([decomposed], ["Gülşen"]).iloc[0] == "[NAAM] belde"


@pytest.mark.parametrize(
    "number",
    ["06-12345678", "06 1234 5678", "0612345678", "+31 6 12345678", "+31612345678", "0031 20 1234567",
     "+31 (0)20-1234567", "020-1234567", "075 123 4567"],
)
def test_redact_dutch_phone_numbers(number):
    assert redact([f"bel {number} morgen"]).iloc[0] == "bel [TELEFOON] morgen"


@pytest.mark.parametrize("text", ["06123456789 is te lang", "postcode 1062 AB", "in 2017 en 2018", "nummer 12345678"])
def test_redact_leaves_other_numbers(text):
    assert redact([text]).iloc[0] == text


def test_redact_email_wins_over_a_name_inside_it():
    assert redact(["mail ayse.yilmaz@example.com of Ayşe"], ["ayse", "Ayşe"]).iloc[0] == "mail [E-MAIL] of [NAAM]"


def test_redact_keeps_index_missing_values_and_counts():
    texts = pd.Series(["Ayşe belde", None, "niets"], index=["a", "b", "c"])
    out = redact(texts, ["Ayşe"], placeholder="[X]")
    assert out.index.tolist() == ["a", "b", "c"]
    assert out["a"] == "[X] belde" and pd.isna(out["b"]) and out["c"] == "niets"
    assert out.attrs == {}  # the count travels beside the texts, never on them
    counted = redact_counted(texts, ["Ayşe"], placeholder="[X]")
    pd.testing.assert_series_equal(counted.texts, out)
    assert counted.n_replacements == 1
    assert redact_counted(texts, []).n_replacements == 0 and redact_counted(["Ayşe en ayşe"], ["Ayşe"]).n_replacements == 2


def test_redact_is_one_compiled_pattern_not_a_loop_over_names(monkeypatch):
    built = []
    original = re.compile

    def counting_compile(pattern, *args, **kwargs):
        if isinstance(pattern, str):  # pandas re-wraps the compiled pattern; count new patterns only
            built.append(pattern)
        return original(pattern, *args, **kwargs)

    monkeypatch.setattr(redaction.re, "compile", counting_compile)
    redaction._redactor_for.cache_clear()  # compiled once per list of names, and kept for the next call
    out = redact(["Name7 en Name123"] * 50, [f"Name{i}" for i in range(200)])
    # the expression and its name-only form (for texts without an "@" or a 9-digit run), whatever the number of
    # names; the case-insensitive forms only for texts that lower-casing would shift (none here)
    assert len(built) == 2
    assert (out == "[NAAM] en [NAAM]").all()
    redact(["Name7"], [f"Name{i}" for i in range(200)])
    assert len(built) == 2  # the same names again: nothing compiled


def test_names_from_participants_and_from_a_file(tmp_path):
    participants = pd.DataFrame({"participant_id": ["p1", "p2", "p3"], "name": ["Ayşe Yılmaz; Ayşe", None, "Jan de Vries"]})
    names = participant_names(participants)
    assert {"Ayşe Yılmaz", "Ayşe", "Yılmaz", "Jan de Vries", "Jan", "Vries"} <= set(names)
    assert "de" not in names
    assert participant_names(participants.drop(columns="name")) == []
    path = tmp_path / "names.txt"
    path.write_text("\ufeff# extra names\nGülşen\n\n  Özlem  \n", encoding="utf-8")
    assert read_name_list(path) == ["Gülşen", "Özlem"]
    with pytest.raises(DataError, match="name list not found"):
        read_name_list(tmp_path / "missing.txt")
    path.write_bytes("Gülşen\n".encode("cp1252", errors="replace") + b"\x81\n")
    with pytest.raises(DataError, match=r"names.txt: the name list is not UTF-8 text .*expected a text file saved as UTF-8"):
        read_name_list(path)


def test_name_variants_keep_the_cell_of_each_name():
    variants = name_variants(pd.Series(["Ayşe Yılmaz; Ayşe", None, "Jan de Vries"], index=[2, 3, 4]))
    assert list(zip(variants.index, variants)) == [
        (2, "Ayşe Yılmaz"), (2, "Ayşe"), (4, "Jan de Vries"), (2, "Yılmaz"), (4, "Jan"), (4, "Vries")]


# --- redacting transcripts and their segments ------------------------------------


def test_redact_documents_moves_offsets_after_inside_and_before_a_name():
    text = "I: Dag Ayşe Yılmaz.\nR: Ayşe's zoon belt 06-12345678 als het moet."
    documents = pd.DataFrame({"document_id": ["d1", "d2"], "text": [text, "Geen namen hier."]})
    after = (text.index("zoon"), text.index(" moet"))
    spans = {"before": (0, 6), "whole": (7, 18), "inside": (9, 27), "after": after, "other": (0, 4)}
    segments = pd.DataFrame({
        "document_id": ["d1"] * 4 + ["d2"],
        "start": [s for s, _ in spans.values()],
        "end": [e for _, e in spans.values()],
        "text": [text[s:e] for s, e in list(spans.values())[:4]] + ["Geen"],
    }, index=[2, 3, 4, 5, 6])
    texts, quotes, counts = redact_documents(documents, segments, ["Ayşe Yılmaz", "Ayşe"])
    redacted = texts.loc[0, "text"]
    assert redacted == "I: Dag [NAAM].\nR: [NAAM] zoon belt [TELEFOON] als het moet."
    assert texts.loc[1, "text"] == "Geen namen hier." and counts["documents"] == 3
    sliced = [redacted[s:e] if d == "d1" else "Geen namen hier."[s:e]
              for d, s, e in zip(quotes["document_id"], quotes["start"], quotes["end"])]
    assert sliced == ["I: Dag", "[NAAM]", "[NAAM].\nR: [NAAM]", "zoon belt [TELEFOON] als het", "Geen"]
    assert quotes.loc[3, "text"] == "[NAAM]" and quotes.index.tolist() == [2, 3, 4, 5, 6]
    assert redact_documents(documents, None, ["Ayşe"]).n_replacements == {"documents": 3}
    assert redact_documents(documents, segments, []).n_replacements == {"documents": 1, "coded_segments": 1}  # the phone number
    assert counts["coded_segments"] == 3  # the quotes are redacted on their own: 'Ayşe Y' (cut) is not a name
    assert documents.loc[0, "text"] == text and segments.loc[3, "start"] == 7  # inputs untouched


_WORDS = st.sampled_from(["Ayşe", "Jan", "zei", "dat", "het", "vertrouwen", "groeit", "Jantje", "ayşe's", "JAN", "\n", "."])


@settings(max_examples=examples(60), deadline=None)
@given(st.lists(_WORDS, min_size=1, max_size=30), st.data())
def test_property_offsets_keep_pointing_at_the_same_words(words, data):
    text = " ".join(words)
    bounds = [0] + [m.end() for m in re.finditer(r" ", text)] + [len(text)]  # word starts (and the end)
    cut = sorted(data.draw(st.lists(st.sampled_from(bounds), min_size=2, max_size=2)))
    start, end = cut[0], max(cut[1], cut[0])
    documents = pd.DataFrame({"document_id": ["d"], "text": [text]})
    segments = pd.DataFrame({"document_id": ["d"], "start": [start], "end": [end], "text": [text[start:end]]})
    texts, quotes, _ = redact_documents(documents, segments, ["Ayşe", "Jan"])
    redacted, new_start, new_end = texts.loc[0, "text"], int(quotes.loc[0, "start"]), int(quotes.loc[0, "end"])
    # a segment that starts and ends between words slices the redacted text to its redacted quote
    assert redacted[new_start:new_end] == quotes.loc[0, "text"] == redact([text[start:end]], ["Ayşe", "Jan"])[0]
    assert 0 <= new_start <= new_end <= len(redacted)
    assert not re.search(r"(?i)(?<!\w)(ayşe|jan)(?!\w)", redacted)


# --- small-cell suppression ----------------------------------------------------


def test_primary_suppression_and_derived_percentages():
    table = pd.DataFrame({"case_id": ["a", "b", "c"], "n_with_code": [0, 4, 9], "n_at_risk": [6, 7, 12], "percent": [0.0, 57.1, 75.0]})
    out = suppress_small_cells(table, count_columns=["n_with_code"], derived={"percent": "n_with_code"})
    assert out["n_with_code"].tolist()[0] == 0  # zero is shown
    assert pd.isna(out.loc[1, "n_with_code"]) and pd.isna(out.loc[1, "percent"])
    assert out["n_with_code_flag"].tolist() == ["", "<5", ""]
    shown = format_suppressed(out)
    assert shown["n_with_code"].tolist() == ["0", "<5", "9"]
    assert shown["percent"].tolist() == ["0.0", "x", "75.0"]
    assert "n_with_code_flag" not in shown.columns
    assert table["n_with_code"].tolist() == [0, 4, 9]  # input untouched


def test_threshold_and_marker_are_configurable():
    out = suppress_small_cells(pd.DataFrame({"n": [1, 9, 10]}), count_columns=["n"], threshold=10, marker="≤9")
    assert format_suppressed(out)["n"].tolist() == ["≤9", "≤9", "10"]


def test_secondary_suppression_protects_row_and_column_totals():
    crosstab = pd.DataFrame({"case_id": ["a", "b", "c"], "mentioned": [3, 12, 6], "not_mentioned": [10, 8, 7]})
    out = suppress_small_cells(crosstab, count_columns=["mentioned", "not_mentioned"], margins="both")
    flags = out[["mentioned_flag", "not_mentioned_flag"]].to_numpy().tolist()
    # a.mentioned = 3 is primary; a.not_mentioned (row), c.mentioned (column) and then
    # c.not_mentioned (column) are complementary: no row or column has a lone blank.
    assert flags == [["<5", "x"], ["", ""], ["x", "x"]]
    assert (out[["mentioned_flag", "not_mentioned_flag"]] == "x").sum().sum() == 3


def test_without_margins_there_is_no_secondary_suppression():
    out = suppress_small_cells(pd.DataFrame({"x": [3, 12], "y": [10, 8]}), count_columns=["x", "y"])
    assert "x" not in set(out["x_flag"]) | set(out["y_flag"])


@settings(max_examples=examples(60), deadline=None)
@given(st.lists(st.lists(st.integers(0, 15), min_size=2, max_size=4), min_size=2, max_size=5).filter(
    lambda rows: len({len(r) for r in rows}) == 1))
def test_property_no_lone_suppressed_cell_in_any_row_or_column(rows):
    table = pd.DataFrame(rows, columns=[f"k{i}" for i in range(len(rows[0]))])
    out = suppress_small_cells(table, count_columns=list(table.columns), margins="both")
    hidden = out[list(table.columns)].isna().to_numpy()
    counts = table.to_numpy()
    assert (hidden >= ((counts >= 1) & (counts < 5))).all()  # every small count hidden
    visible_small = ~hidden & (counts >= 1) & (counts < 5)
    assert not visible_small.any()
    for axis in (0, 1):
        lone = hidden.sum(axis=axis) == 1
        others = np.where(hidden, 0, 1).sum(axis=axis)  # something left to hide?
        assert not (lone & (others > 0)).any()


def test_bad_counts_are_data_errors():
    with pytest.raises(DataError, match="row 3.*column 'n'"):
        suppress_small_cells(pd.DataFrame({"n": [2, -1]}), count_columns=["n"])
    with pytest.raises(DataError, match="not in the table"):
        suppress_small_cells(pd.DataFrame({"n": [2]}), count_columns=["m"])
    with pytest.raises(ValueError, match="threshold"):
        suppress_small_cells(pd.DataFrame({"n": [2]}), count_columns=["n"], threshold=0)


# --- keyed pseudonyms ----------------------------------------------------------


def test_hmac_sha256_matches_rfc_4231_test_case_2():
    # RFC 4231, test case 2: key "Jefe", data "what do ya want for nothing?".
    published = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    assert pseudonymise(["what do ya want for nothing?"], salt="Jefe", length=64).iloc[0] == published


def test_pseudonyms_are_stable_keyed_and_valid_identifiers():
    values = pd.Series(["Ayşe Yılmaz", "Jan de Vries", None, " Ayşe Yılmaz "], index=[3, 4, 5, 6], name="evaluator")
    first = pseudonymise(values, salt="key-1", prefix="E-")
    assert first.index.tolist() == [3, 4, 5, 6] and first.name == "evaluator"
    assert first[3] == first[6] != first[4]  # surrounding white space ignored
    assert pd.isna(first[5])
    assert first.dropna().str.fullmatch(ID_PATTERN).all()
    assert first.dropna().str.len().eq(12).all()
    assert pseudonymise(values, salt="key-1", prefix="E-").equals(first)
    assert not pseudonymise(values, salt="key-2", prefix="E-").dropna().equals(first.dropna())
    expected = hmac.new(b"key-1", "Ayşe Yılmaz".encode(), hashlib.sha256).hexdigest()[:10]
    assert first[3] == "E-" + expected


def test_pseudonymise_normalises_unicode_and_checks_arguments():
    composed, decomposed = unicodedata.normalize("NFC", "Gülşen"), unicodedata.normalize("NFD", "Gülşen")
    out = pseudonymise([composed, decomposed], salt="k")
    assert out[0] == out[1]
    with pytest.raises(ValueError, match="salt"):
        pseudonymise(["x"], salt="")
    with pytest.raises(ValueError, match="length"):
        pseudonymise(["x"], salt="k", length=4)


def test_pseudonym_collisions_are_reported(monkeypatch):
    class ConstantDigest:
        def hexdigest(self):
            return "0" * 64

    monkeypatch.setattr(privacy_names.hmac, "new", lambda *args, **kwargs: ConstantDigest())
    with pytest.raises(DataError, match="same 8-character pseudonym"):
        pseudonymise(["a", "b"], salt="k", length=8)


# Letters where lower-casing and re.IGNORECASE disagree or that change length, plus ordinary ones.
_TRICKY = "aAiIİısSſσςΣkKKßẞéÉşŞ"
_tricky_name = st.text(alphabet=_TRICKY + " ", min_size=2, max_size=6).filter(lambda n: n.strip() and len(n.strip()) >= 2)


@settings(max_examples=examples(300), deadline=None)
@given(
    names=st.lists(_tricky_name, min_size=1, max_size=4),
    text=st.text(alphabet=_TRICKY + " .'’@-0123456789", max_size=40),
)
def test_lowercase_matching_finds_what_the_case_insensitive_expression_finds(names, text):
    # The fast path (lower-cased text, case-sensitive expression with re's case classes) must give the
    # same spans and kinds as the one case-insensitive expression over the text as it is.
    redactor = redaction._Redactor(names)
    text = unicodedata.normalize("NFC", text)
    expected = [(m.span(), m.lastgroup) for m in redactor.full.finditer(text)]
    assert [(m.span(), m.lastgroup) for m in redactor.matches(text)] == expected


def test_lowercase_matching_keeps_turkish_and_greek_letters_equal_to_their_partners():
    # 'Yılmaz' (dotless ı) is found as YILMAZ and yilmaz; İ in the text does not shift what follows.
    out = redact(["YILMAZ, yilmaz en İstanbul bij Yılmaz", "ſara en SARA", "ΣΟΦΙΑ's zoon"], ["Yılmaz", "Sara", "σοφια"])
    assert out.tolist() == ["[NAAM], [NAAM] en İstanbul bij [NAAM]", "[NAAM] en [NAAM]", "[NAAM] zoon"]


def _ignorecase_equal_letters_from_re() -> set[str]:
    """Every group of different lower-case letters sharing an upper case that re.IGNORECASE matches to each other."""
    by_upper: dict[str, list[str]] = {}
    for code in range(sys.maxunicode + 1):
        letter = chr(code)
        if letter.islower() and letter.lower() == letter:
            by_upper.setdefault(letter.upper(), []).append(letter)
    groups = set()
    for letters in by_upper.values():
        for letter in letters:
            equal = [other for other in letters if re.fullmatch(re.escape(letter), other, re.IGNORECASE)]
            if len(equal) > 1:
                groups.add("".join(sorted(equal)))
    return groups


def test_the_written_out_case_groups_are_what_re_ignorecase_holds_equal():
    # The table replaces CPython's private re._casefix; derived here from re's public behaviour over every code point.
    assert _ignorecase_equal_letters_from_re() == {"".join(sorted(group)) for group in redaction.IGNORECASE_EQUAL_LETTERS}


@pytest.mark.parametrize("group", redaction.IGNORECASE_EQUAL_LETTERS)
def test_every_case_group_is_found_by_both_ways_of_matching(group):
    names = [f"ab{letter}cd" for letter in group]
    # Upper-case forms too where they are one letter (re compares simple case: ΐ's upper case is three code points).
    words = [f"ab{letter}cd" for letter in group] + [f"AB{letter.upper()}CD" for letter in group if len(letter.upper()) == 1]
    text = " ".join(words)
    for name in names:
        redactor = redaction._Redactor([name])
        expected = [(m.span(), m.lastgroup) for m in redactor.full.finditer(text)]
        assert [(m.span(), m.lastgroup) for m in redactor.matches(text)] == expected
        # every member is the same letter to re (ligatures: the same letters once in Unicode NFKC form, issue 19)
        assert sum(kind == "name" for _, _, kind in redactor.spans(text)) == len(words)


def test_count_rules_are_checked_where_they_are_declared_and_leave_the_table_untouched():
    from ponzoni_eval.privacy import CountRules

    with pytest.raises(TypeError, match="list of the columns that count people"):
        CountRules("n")
    with pytest.raises(ValueError, match="derived columns must come from count_columns"):
        CountRules(["n"], derived={"percent": "m"})
    with pytest.raises(ValueError, match="margins must be"):
        CountRules(["n"], margins="diagonal")
    table = pd.DataFrame({"n": [2, 7], "share": [0.2, 0.7]})
    out = CountRules(["n"], derived={"share": "n"}).apply(table, threshold=5)
    assert out["share_flag"].tolist() == ["x", ""] and table["n"].tolist() == [2, 7]
    assert CountRules(["n"]).record(3) == {"count_columns": ["n"], "threshold": 3}
