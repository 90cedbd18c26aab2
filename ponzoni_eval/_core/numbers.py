"""Numbers as a reader sees them: one formatter for numbers, p-values, intervals and effects, in every report language.

Sentences (`report.describe`), figures (`report.plots`) and the joint display (`integrate`) all
print numbers through these functions, so a p-value reads the same in a sentence, a figure and a
spreadsheet. The language's decimal mark and interval pattern come from its words table
(``numbers`` in ``resources/words/<language>.toml``).

Conventions (APA 7, section 6.36: numbers; Dutch: decimal comma everywhere):

- p-values get three decimals and no leading zero (a p-value cannot exceed 1): ``p = .021``;
  below .001 ``p < .001``, above .999 ``p > .999``; never ``p = .000`` or ``p = 1.000``
  (a rounded p-value of 0 or 1 is not what the test found). Dutch: ``p = ,021``, ``p < ,001``.
- A number never shows ``-0.00``; missing values are a dash (``–``) unless the caller says otherwise.
- An interval: ``[0.51, 0.95]``; Dutch ``[0,51; 0,95]`` (the semicolon, because the comma is the
  decimal mark). In running text: ``95% CI 0.51 to 0.95`` / ``95%-BI 0,51 tot 0,95``.

Examples
--------
>>> format_p(0.9996)
'p > .999'
>>> format_p(0.021, language="nl")
'p = ,021'
>>> format_effect(0.7, 0.51, 0.95, language="nl")
'0,70 [0,51; 0,95]'
"""

from __future__ import annotations

import math
from typing import Any

from ponzoni_eval._core.words import term

__all__ = ["MISSING", "is_missing", "format_number", "format_p", "format_p_value", "format_interval", "format_ci", "format_effect", "format_plain"]

MISSING = "–"
"""What a missing number reads as (an en dash)."""


def is_missing(value: Any) -> bool:
    """None, NaN, pandas' NA or an empty / ``nan`` text: nothing to print."""
    if value is None:
        return True
    try:
        return bool(math.isnan(float(value)))
    except (TypeError, ValueError):
        return str(value) in {"", "<NA>", "nan", "NaN", "None"}


def format_number(value: Any, digits: int = 2, *, language: str = "en", leading_zero: bool = True, missing: str = MISSING) -> str:
    """A number rounded to `digits` decimals, with the language's decimal mark.

    ``leading_zero=False`` drops the zero before the decimal mark, as APA style does for values
    that cannot exceed 1 (p-values, correlations). A missing value reads as `missing`; an
    infinite one as ``∞`` / ``-∞``.

    Examples
    --------
    >>> format_number(0.8967, 1)
    '0.9'
    >>> format_number(-0.25, 2, language="nl", leading_zero=False)
    '-,25'
    >>> format_number(-0.001, 2)
    '0.00'
    >>> format_number(1234567.891, 1)
    '1234567.9'
    """
    if is_missing(value):
        return missing
    number = float(value)
    if math.isinf(number):
        return "∞" if number > 0 else "-∞"
    text = f"{number:.{digits}f}"
    if text.startswith("-") and float(text) == 0:
        text = text[1:]  # no "-0.0"
    if not leading_zero:
        if text.startswith("0."):
            text = text[1:]
        elif text.startswith("-0."):
            text = "-" + text[2:]
    return text.replace(".", term("numbers.decimal", language))


def format_plain(value: Any, *, language: str = "en", missing: str = MISSING) -> str:
    """A number as short as it is exact to six significant digits (``0.7``, ``1``, ``2.5``), e.g. a reference line.

    Examples
    --------
    >>> format_plain(0.7, language="nl")
    '0,7'
    >>> format_plain(1.0)
    '1'
    """
    if is_missing(value):
        return missing
    return f"{float(value):g}".replace(".", term("numbers.decimal", language))


def format_p_value(p: Any, *, language: str = "en", missing: str = MISSING) -> str:
    """A p-value without its ``p``: ``= .021``, ``< .001`` or ``> .999`` (figure annotations write ``p_adj = .021``).

    Examples
    --------
    >>> format_p_value(0.00049)
    '< .001'
    >>> format_p_value(0.001)
    '= .001'
    >>> format_p_value(1.0, language="nl")
    '> ,999'
    """
    if is_missing(p):
        return missing
    p = float(p)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"a p-value lies between 0 and 1, got {p}")
    if p < 0.001:  # APA: exact values from .001; below it (0.0005 would round to .001, 0.0004 to .000) "< .001"
        return "< " + format_number(0.001, 3, language=language, leading_zero=False)
    if p > 0.999:  # 0.9996 would round to 1.000: "> .999"
        return "> " + format_number(0.999, 3, language=language, leading_zero=False)
    return "= " + format_number(p, 3, language=language, leading_zero=False)


def format_p(p: Any, *, language: str = "en", missing: str | None = None) -> str:
    """A p-value in APA style: ``p = .003``, ``p < .001``, ``p > .999``; never ``p = .000``.

    Parameters
    ----------
    p : float
        Between 0 and 1 (a ValueError otherwise).
    language : str
        A report language (`ponzoni_eval._core.words.LANGUAGES`).
    missing : str, optional
        What a missing p-value reads as; by default a missing p-value is an error (a sentence
        must not report a test that was not run).

    Examples
    --------
    >>> format_p(0.0031)
    'p = .003'
    >>> format_p(0.00002)
    'p < .001'
    >>> format_p(0.04, language="nl")
    'p = ,040'
    """
    if is_missing(p):
        if missing is None:
            raise ValueError("format_p needs a p-value, got a missing value")
        return missing
    return "p " + format_p_value(p, language=language)


def format_interval(low: Any, high: Any, digits: int = 2, *, language: str = "en", missing: str = "") -> str:
    """An interval in brackets: ``[0.51, 0.95]``; Dutch ``[0,51; 0,95]``; `missing` when an end is missing.

    Examples
    --------
    >>> format_interval(0.51, 0.95)
    '[0.51, 0.95]'
    >>> format_interval(0.51, None)
    ''
    """
    if is_missing(low) or is_missing(high):
        return missing
    return term(
        "numbers.interval",
        language,
        low=format_number(low, digits, language=language),
        high=format_number(high, digits, language=language),
    )


def format_ci(low: Any, high: Any, digits: int = 2, *, level: int = 95, language: str = "en") -> str:
    """A confidence interval in running text: ``95% CI 0.40 to 1.40``; Dutch ``95%-BI 0,40 tot 1,40``.

    Examples
    --------
    >>> format_ci(0.4, 1.4, 1)
    '95% CI 0.4 to 1.4'
    """
    return term(
        "numbers.ci",
        language,
        level=level,
        low=format_number(low, digits, language=language),
        high=format_number(high, digits, language=language),
    )


def format_effect(estimate: Any, low: Any = None, high: Any = None, digits: int = 2, *, name: str | None = None, language: str = "en", missing: str = MISSING) -> str:
    """An estimate with its interval: ``0.70 [0.51, 0.95]``, or ``RR = 0.70 [0.51, 0.95]`` with a `name`.

    The interval is left out when an end is missing; a missing estimate reads as `missing`.

    Examples
    --------
    >>> format_effect(0.7, 0.51, 0.95, name="RR")
    'RR = 0.70 [0.51, 0.95]'
    >>> format_effect(float("nan"))
    '–'
    """
    if is_missing(estimate):
        return missing
    interval = format_interval(low, high, digits, language=language)
    text = format_number(estimate, digits, language=language) + (f" {interval}" if interval else "")
    return f"{name} = {text}" if name else text
