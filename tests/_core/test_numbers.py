"""The one formatter of numbers, p-values, intervals and effects (`ponzoni_eval._core.numbers`)."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ponzoni_eval._core.numbers import (
    format_ci,
    format_effect,
    format_interval,
    format_number,
    format_p,
    format_p_value,
    format_plain,
    is_missing,
)
from ponzoni_eval._core.words import LANGUAGES

# --- p-values ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "p, en, nl",
    [
        (0.0, "p < .001", "p < ,001"),
        (0.00049, "p < .001", "p < ,001"),
        (0.0005, "p < .001", "p < ,001"),  # rounds to .001, but is below it
        (0.000999, "p < .001", "p < ,001"),
        (0.001, "p = .001", "p = ,001"),
        (0.021, "p = .021", "p = ,021"),
        (0.0494, "p = .049", "p = ,049"),
        (0.5, "p = .500", "p = ,500"),
        (0.999, "p = .999", "p = ,999"),
        (0.9992, "p > .999", "p > ,999"),
        (0.9996, "p > .999", "p > ,999"),  # rounds to 1.000: the copy in integrate printed "p = .000"
        (1.0, "p > .999", "p > ,999"),
        (np.float64(0.0031), "p = .003", "p = ,003"),
    ],
)
def test_p_values_in_apa_style_in_both_languages(p, en, nl):
    assert format_p(p) == en
    assert format_p(p, language="nl") == nl
    assert format_p_value(p) == en.removeprefix("p ")


@pytest.mark.parametrize("missing", [None, float("nan"), np.nan, pd.NA, ""])
def test_a_missing_p_value_is_an_error_unless_the_caller_says_how_it_reads(missing):
    with pytest.raises(ValueError, match="missing"):
        format_p(missing)
    assert format_p(missing, missing="") == ""
    assert format_p_value(missing) == "–"


@pytest.mark.parametrize("p", [-0.01, 1.0001, 2.0, -math.inf, math.inf])
def test_impossible_p_values_are_refused(p):
    with pytest.raises(ValueError, match="between 0 and 1"):
        format_p(p)


@given(st.floats(min_value=0.0, max_value=1.0, allow_nan=False))
def test_a_p_value_never_reads_as_zero_or_one_and_is_within_rounding_of_the_value(p):
    for language in LANGUAGES:
        text = format_p(p, language=language)
        assert re.fullmatch(r"p [=<>] [.,]\d{3}", text), text
        shown = float(text[4:].replace(",", "."))
        assert 0.001 <= shown <= 0.999
        if text.startswith("p ="):
            assert abs(shown - p) <= 0.0005 + 1e-12
        elif text.startswith("p <"):
            assert p < 0.001
        else:
            assert p > 0.999
    assert format_p(p, language="nl") == format_p(p).replace(".", ",")


# --- numbers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, digits, en, nl",
    [
        (0, 2, "0.00", "0,00"),
        (1, 2, "1.00", "1,00"),
        (0.8967, 1, "0.9", "0,9"),
        (-0.25, 2, "-0.25", "-0,25"),
        (-0.001, 2, "0.00", "0,00"),  # never "-0.00"
        (2.5, 0, "2", "2"),  # round half to even, as Python and R print
        (1234567.891, 1, "1234567.9", "1234567,9"),
        (1e12, 2, "1000000000000.00", "1000000000000,00"),
        (math.inf, 2, "∞", "∞"),
        (-math.inf, 2, "-∞", "-∞"),
        (np.int64(12), 0, "12", "12"),
    ],
)
def test_numbers_in_both_languages(value, digits, en, nl):
    assert format_number(value, digits) == en
    assert format_number(value, digits, language="nl") == nl


@pytest.mark.parametrize("missing", [None, float("nan"), pd.NA, np.nan, "nan"])
def test_a_missing_number_reads_as_a_dash_or_what_the_caller_says(missing):
    assert is_missing(missing)
    assert format_number(missing) == "–"
    assert format_number(missing, missing="NA") == "NA"
    assert format_effect(missing, 0.1, 0.2) == "–"


def test_leading_zero_is_dropped_only_when_asked():
    assert format_number(0.25, 2, leading_zero=False) == ".25"
    assert format_number(-0.25, 2, leading_zero=False, language="nl") == "-,25"
    assert format_number(1.25, 2, leading_zero=False) == "1.25"


@given(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False), st.integers(min_value=0, max_value=4))
def test_a_number_reads_back_to_itself_within_rounding(value, digits):
    text = format_number(value, digits)
    assert not text.startswith("-0") or float(text) != 0
    assert float(text) == pytest.approx(value, abs=0.5 * 10**-digits + 1e-9 * max(1.0, abs(value)))
    assert format_number(value, digits, language="nl") == text.replace(".", ",")


def test_plain_numbers_for_reference_lines():
    assert format_plain(0.7) == "0.7"
    assert format_plain(0.7, language="nl") == "0,7"
    assert format_plain(1.0) == "1"
    assert format_plain(None) == "–"


# --- intervals and effects ----------------------------------------------------------------


def test_intervals_in_brackets_and_in_words():
    assert format_interval(0.51, 0.95) == "[0.51, 0.95]"
    assert format_interval(0.51, 0.95, language="nl") == "[0,51; 0,95]"
    assert format_interval(-1.9, 1.16, 1) == "[-1.9, 1.2]"
    assert format_interval(0.51, float("nan")) == ""
    assert format_ci(0.4, 1.4, 2) == "95% CI 0.40 to 1.40"
    assert format_ci(0.4, 1.4, 2, level=90, language="nl") == "90%-BI 0,40 tot 1,40"


def test_an_effect_with_its_interval():
    assert format_effect(0.7, 0.51, 0.95) == "0.70 [0.51, 0.95]"
    assert format_effect(0.7, 0.51, 0.95, name="RR", language="nl") == "RR = 0,70 [0,51; 0,95]"
    assert format_effect(0.7, None, 0.95, name="RR") == "RR = 0.70"


def test_an_unknown_language_is_refused():
    with pytest.raises(ValueError, match="language must be one of"):
        format_number(1.0, language="fr")


# The docstring examples of _core/numbers.py and _core/words.py run through --doctest-modules (pyproject).
