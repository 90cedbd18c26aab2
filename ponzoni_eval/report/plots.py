"""Figures in one style, with captions that can serve as alt text.

Every figure function takes a tidy frame (see the contracts in each docstring
and in ``docs/architecture.md``), draws it in the package style (`theme`) and
returns a `Figure`: the matplotlib figure, a caption generated from the data
(what is shown, n, what points and intervals mean) in English or Dutch, and a
file name. `save` writes it as PNG and SVG, byte-identical on every call.

Design choices, so that a student can follow and extend them:

- One style: `theme` (seaborn ``whitegrid`` + ``paper`` context, DejaVu Sans,
  which ships with matplotlib, so a figure renders the same on every machine).
- One palette: Okabe & Ito (2008), safe for the common colour-vision
  deficiencies. Cases, roles and expectations have fixed colours (`palette`);
  unknown keys (``site_001`` ... in many-site runs) cycle through the colours
  that are left.
- One label dictionary (`LABELS`, read with `label`): every word a reader sees,
  in English and Dutch, including the caption templates.
- Figures are plain ``matplotlib.figure.Figure`` objects, not registered with
  pyplot: nothing to close, no "too many open figures" in long runs, no
  double display in notebooks (the `Figure` wrapper displays itself).
- Up to `FACET_LIMIT` cases a figure has one panel per case; with more cases it
  switches to a compact form (described in its caption). Empty groups are
  drawn as a "no data" panel or row, never an error; a missing column raises
  `ponzoni_eval._core.errors.DataError` naming it.

matplotlib and seaborn are imported inside the functions, so importing this
module stays cheap on light paths (the CLI).
"""

from __future__ import annotations

import io
import math
import os
import re
import textwrap
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from ponzoni_eval._core.errors import DataError, require_columns
from ponzoni_eval._core.files import atomic_write_bytes
from ponzoni_eval._core.numbers import format_number, format_p_value, format_plain
from ponzoni_eval._core.vocabulary import EVENT_TYPES, ROLES, WAVES
from ponzoni_eval._core.words import LANGUAGES, term, terms, value_label
from ponzoni_eval._core.words import display_text as _display_text

if TYPE_CHECKING:  # pragma: no cover - typing only
    import matplotlib.axes
    import matplotlib.figure

__all__ = [
    "Figure",
    "display_text",
    "theme",
    "save",
    "label",
    "palette",
    "LABELS",
    "OKABE_ITO",
    "CASE_COLOURS",
    "ROLE_COLOURS",
    "EXPECTATION_COLOURS",
    "FACET_LIMIT",
    "trajectories",
    "perception_gap_dumbbell",
    "help_seeking_its",
    "theme_heatmap",
    "forest",
    "agreement_by_code",
    "expectation_bars",
]

# --- colours --------------------------------------------------------------------

OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
"""The Okabe & Ito (2008) colour-blind-safe palette."""

CASE_COLOURS = {
    "slotervaart": OKABE_ITO["blue"],
    "poelenburg_a": OKABE_ITO["vermillion"],
    "poelenburg_b": OKABE_ITO["bluish_green"],
    "all": OKABE_ITO["black"],
}
"""Fixed colour per case; ``all`` (pooled results) is black."""

ROLE_COLOURS = {
    "professional": OKABE_ITO["orange"],
    "migrant_org": OKABE_ITO["sky_blue"],
    "parent": OKABE_ITO["reddish_purple"],
}
"""Fixed colour per role."""

EXPECTATIONS = ("strengthen_organisation", "bridge_to_parents", "both", "neither")
"""Known answers to 'what do you primarily expect from the collaboration?' (display order)."""

EXPECTATION_COLOURS = {
    "strengthen_organisation": OKABE_ITO["blue"],
    "bridge_to_parents": OKABE_ITO["vermillion"],
    "both": OKABE_ITO["yellow"],
    "neither": "#999999",
}

# Yellow is too light for points and thin lines on white, so it is not in the cycle.
_SAFE_CYCLE = tuple(OKABE_ITO[c] for c in ("blue", "vermillion", "bluish_green", "orange", "sky_blue", "reddish_purple"))
_FIXED = {"case": CASE_COLOURS, "role": ROLE_COLOURS, "expectation": EXPECTATION_COLOURS}
_NO_DATA_GREY = "#F2F2F2"
_SUPPRESSED_GREY = "#D9D9D9"
_TEXT_GREY = "#595959"

FACET_LIMIT = 12
"""Up to this many cases a figure draws one panel per case; above it, a compact form."""

_ROW_LABEL_LIMIT = 40  # above this many rows (cases, estimates) row labels are dropped
_WAVE_POSITION = {wave: i for i, wave in enumerate(WAVES)}
_KNOWN_CASES = ("slotervaart", "poelenburg_a", "poelenburg_b")

# --- words ------------------------------------------------------------------------

class _Labels(Mapping):
    """``LABELS[language][kind][key]``: the figure words of the words tables (``resources/words/<language>.toml``).

    Kinds: wave, role, case, scale, event_type, expectation, statistic, effect (the ``values``
    group: display names of data values), text (``figures``: axis titles, legend entries) and
    caption (``captions``: templates with ``{fields}``). Read-only; add a language by adding a
    words file (docs/architecture.md).
    """

    def __getitem__(self, language: str) -> Mapping[str, Mapping[str, str]]:
        if language not in LANGUAGES:
            raise KeyError(language)
        return {**terms("values", language), "text": terms("figures", language), "caption": terms("captions", language)}

    def __iter__(self) -> Iterator[str]:
        return iter(LANGUAGES)

    def __len__(self) -> int:
        return len(LANGUAGES)


LABELS: Mapping[str, Mapping[str, Mapping[str, str]]] = _Labels()
"""Every word a figure shows, per language: ``LABELS[language][kind][key]`` (a view of the words tables)."""


def label(kind: str, key: Any, language: str = "en") -> str:
    """The display text for one value, e.g. ``label("wave", "t1", "nl")`` (`_core.words.value_label`).

    Unknown keys (a new scale, ``site_001``) are shown with their underscores as spaces
    (``site 001``), so a new value never breaks a figure and no identifier reaches a reader;
    add it to the words tables (``values.<kind>``) to give it a nicer name.
    """
    _words(language)
    return value_label(kind, key, language)


def display_text(text: Any, language: str = "en", *, prefer: str | None = None) -> str:
    """A data value or a result's group text as a reader reads it, in the report language: `_core.words.display_text`
    (its examples), with the figures' error for an unknown language."""
    _words(language)
    return _display_text(text, language, prefer=prefer)


def _words(language: str) -> Mapping[str, Mapping[str, str]]:
    if language not in LANGUAGES:
        raise DataError(
            "unknown figure language",
            column="language",
            expected=" or ".join(repr(k) for k in LANGUAGES),
            found=language,
        )
    return LABELS[language]


def palette(kind: str, keys: Sequence[Any]) -> dict[str, str]:
    """Colour per key: the fixed colour for known cases/roles/expectations, else a cycle.

    Parameters
    ----------
    kind : {"case", "role", "expectation", "other"}
        Which fixed colours apply.
    keys : sequence
        The values to colour, in display order.

    Returns
    -------
    dict mapping each key (as ``str``) to a hex colour. Unknown keys cycle, in
    the given order, through the Okabe-Ito colours that no known key in
    ``keys`` uses (colours repeat when there are more keys than colours).

    Examples
    --------
    >>> palette("case", ["slotervaart", "site_001"])
    {'slotervaart': '#0072B2', 'site_001': '#D55E00'}
    """
    fixed = _FIXED.get(kind, {})
    names = [str(k) for k in keys]
    known = {k: fixed[k] for k in names if k in fixed}
    free = [c for c in _SAFE_CYCLE if c not in known.values()] or list(_SAFE_CYCLE)
    unknown = [k for k in dict.fromkeys(names) if k not in fixed]
    cycled = {k: free[i % len(free)] for i, k in enumerate(unknown)}
    return {k: known.get(k, cycled.get(k)) for k in names}


# --- style ------------------------------------------------------------------------

def _style_rc() -> dict[str, Any]:
    import seaborn as sns
    from cycler import cycler

    rc: dict[str, Any] = {}
    rc.update(sns.axes_style("whitegrid"))
    rc.update(sns.plotting_context("paper"))
    rc.update(
        {
            # Only the font that ships with matplotlib: identical output on every machine.
            "font.family": ["sans-serif"],
            "font.sans-serif": ["DejaVu Sans"],
            "axes.prop_cycle": cycler(color=list(_SAFE_CYCLE)),
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titlesize": 9.6,
            "axes.titleweight": "bold",
            "axes.titlelocation": "left",
            "legend.frameon": False,
            "image.cmap": "Blues",
            "figure.dpi": 100,
            "savefig.dpi": 300,
            "savefig.facecolor": "white",
            # Deterministic SVG: fixed hash salt for element ids, glyphs as paths, no date.
            "svg.hashsalt": "ponzoni_eval",
            "svg.fonttype": "path",
            "svg.id": "ponzoni_eval_figure",
            "path.simplify": True,
        }
    )
    return rc


@contextmanager
def theme() -> Iterator[None]:
    """Apply the package figure style inside a ``with`` block.

    seaborn ``whitegrid`` with the ``paper`` context, DejaVu Sans, the
    Okabe-Ito colour cycle, no top/right spines, frameless legends, and the
    settings that make SVG output deterministic. Every figure function draws
    inside it and `save` renders inside it; use it when you draw your own.

    Examples
    --------
    >>> from matplotlib.figure import Figure as MplFigure
    >>> with theme():
    ...     fig = MplFigure(figsize=(3, 2), layout="constrained")
    ...     ax = fig.add_subplot()
    """
    import matplotlib as mpl

    with mpl.rc_context(_style_rc()):
        yield


# --- the figure wrapper and saving -------------------------------------------------

@dataclass
class Figure:
    """A drawn figure with its caption.

    Attributes
    ----------
    fig : matplotlib.figure.Figure
        The figure (not registered with pyplot; nothing to close).
    caption : str
        What is shown, n, and what points/bars/intervals mean, in ``language``.
        Usable as alt text.
    name : str
        A file-name stem (``trajectories_trust``) for `save`.
    language : str
        ``"en"`` or ``"nl"``.
    """

    fig: "matplotlib.figure.Figure"
    caption: str
    name: str
    language: str = "en"

    def __post_init__(self) -> None:
        _decimal_mark(self.fig, self.language)

    @property
    def alt_text(self) -> str:
        return self.caption

    def _repr_png_(self) -> bytes:
        return _render(self.fig, "png", dpi=110)

    def _repr_html_(self) -> str:
        import base64
        from html import escape

        png = base64.b64encode(self._repr_png_()).decode("ascii")
        text = escape(self.caption)
        return (
            f'<figure><img src="data:image/png;base64,{png}" alt="{text}"/>'
            f"<figcaption>{text}</figcaption></figure>"
        )


def _decimal_mark(fig: "matplotlib.figure.Figure", language: str) -> None:
    """Number tick labels with the language's decimal mark (``0,5`` in Dutch), on every axis and colour bar.

    Tick labels of numbers are written by matplotlib's formatters; each one is wrapped so that its
    text uses ``numbers.decimal`` of the words table. Labels of categories (names) are left alone,
    and in a language with a decimal point nothing changes.
    """
    mark = term("numbers.decimal", language)
    if mark == ".":
        return
    from matplotlib import ticker

    numeric = (ticker.ScalarFormatter, ticker.LogFormatter, ticker.FuncFormatter, ticker.FormatStrFormatter, ticker.StrMethodFormatter)

    class DecimalMark(ticker.Formatter):
        def __init__(self, inner: "ticker.Formatter") -> None:
            self.inner = inner

        def set_axis(self, axis: Any) -> None:
            super().set_axis(axis)
            self.inner.set_axis(axis)

        def set_locs(self, locs: Any) -> None:
            self.inner.set_locs(locs)

        def __call__(self, x: float, pos: int | None = None) -> str:
            return self.inner(x, pos).replace(".", mark)

        def format_ticks(self, values: Any) -> list[str]:
            return [text.replace(".", mark) for text in self.inner.format_ticks(values)]

        def get_offset(self) -> str:
            return self.inner.get_offset().replace(".", mark)

    for ax in fig.get_axes():
        for axis in (ax.xaxis, ax.yaxis):
            for get, set_ in ((axis.get_major_formatter, axis.set_major_formatter), (axis.get_minor_formatter, axis.set_minor_formatter)):
                formatter = get()
                if isinstance(formatter, numeric) and not isinstance(formatter, DecimalMark):
                    set_(DecimalMark(formatter))


def _render(fig: "matplotlib.figure.Figure", fmt: str, *, dpi: float) -> bytes:
    buffer = io.BytesIO()
    # No Date: two renders of the same figure give the same bytes.
    metadata = {"Date": None} if fmt == "svg" else None
    with theme():
        fig.savefig(buffer, format=fmt, dpi=dpi, metadata=metadata, bbox_inches="tight", pad_inches=0.05)
    return buffer.getvalue()


def save(figure: "Figure | matplotlib.figure.Figure", path_stem: str | os.PathLike, *, dpi: float = 300) -> dict[str, Path]:
    """Write a figure as ``<path_stem>.png`` and ``<path_stem>.svg``, deterministically.

    Both files are byte-identical on every call with the same figure and
    package versions (fixed SVG hash salt, no date metadata). Each file is
    written with the package's one atomic writer (`_core.files.atomic_write_bytes`:
    temporary file in the same folder, fsync, mode 0644, ``os.replace``), so a
    reader never sees half a file. The folder is created when needed.

    Parameters
    ----------
    figure : Figure or matplotlib.figure.Figure
    path_stem : path without suffix, e.g. ``run/figures/trajectories_trust``
    dpi : resolution of the PNG (300 for print).

    Returns
    -------
    dict ``{"png": Path, "svg": Path}``.
    """
    fig = figure.fig if isinstance(figure, Figure) else figure
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    written = {}
    for fmt in ("png", "svg"):
        target = stem.with_name(f"{stem.name}.{fmt}")
        atomic_write_bytes(target, _render(fig, fmt, dpi=dpi))
        written[fmt] = target
    return written


# --- input checks and small helpers -------------------------------------------------

def _require_numeric(frame: pd.DataFrame, columns: Sequence[str], *, what: str) -> None:
    for column in columns:
        dtype = frame[column].dtype
        if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
            raise DataError(
                f"column '{column}' of the {what} frame must hold numbers",
                column=column,
                expected="a numeric column",
                found=str(dtype),
            )


def _require_interval(frame: pd.DataFrame, estimate: str, low: str, high: str, *, what: str, keys: Sequence[str]) -> None:
    """Reject intervals that do not contain their estimate (the error bars would be nonsense)."""
    values = frame[[estimate, low, high]].astype("float64")
    bad = (values[low] > values[estimate] + 1e-12) | (values[high] < values[estimate] - 1e-12) | (values[low] > values[high])
    if bad.any():
        first = frame.loc[bad].iloc[0]
        group = ", ".join(f"{k}={first[k]}" for k in keys if k in frame.columns)
        raise DataError(
            f"the {what} frame has an interval that does not contain its estimate ({group})",
            column=low,
            expected=f"{low} <= {estimate} <= {high}",
            found=f"{first[low]} / {first[estimate]} / {first[high]}",
        )


def _ordered(values: pd.Series, known: Sequence[str] = ()) -> list[str]:
    """Display order: categories of a categorical (unused ones too), else known values first, then the rest sorted."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return [str(c) for c in values.cat.categories]
    present = set(values.dropna().astype(str))
    return [k for k in known if k in present] + sorted(present - set(known))


def _as_text(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Key columns as plain text, so categoricals, strings and numbers group alike."""
    return frame.assign(**{c: frame[c].astype("str") for c in columns})


def _wave_positions(waves: pd.Series, *, what: str) -> pd.Series:
    text = waves.astype("str")
    positions = text.map(_WAVE_POSITION)
    unknown = sorted(set(text[positions.isna() & waves.notna()]))
    if unknown:
        raise DataError(
            f"the {what} frame has unknown waves",
            column="wave",
            expected=", ".join(WAVES),
            found=", ".join(unknown),
        )
    return positions


def _mean_ci(frame: pd.DataFrame, keys: list[str], value: str = "value") -> pd.DataFrame:
    """Mean, n and the t-based 95% CI of ``value`` per group (no interval when n < 2)."""
    from scipy import stats

    summary = (
        frame.dropna(subset=[value])
        .groupby(keys, observed=True, sort=False)[value]
        .agg(estimate="mean", sd="std", n="count")
        .reset_index()
    )
    degrees = summary["n"].where(summary["n"] >= 2).astype("float64") - 1
    critical = stats.t.ppf(0.975, degrees)
    half_width = critical * summary["sd"] / np.sqrt(summary["n"])
    return summary.assign(ci_low=summary["estimate"] - half_width, ci_high=summary["estimate"] + half_width)


def _error_bars(estimate: pd.Series, low: pd.Series, high: pd.Series) -> np.ndarray:
    below = (estimate - low).to_numpy(dtype="float64")
    above = (high - estimate).to_numpy(dtype="float64")
    # matplotlib draws no bar for NaN; clip tiny negative rounding noise.
    return np.vstack([np.clip(below, 0, None), np.clip(above, 0, None)])


def _cases_phrase(cases: Sequence[str], language: str) -> str:
    noun = term("figures.case_one" if len(cases) == 1 else "figures.case_many", language)
    if len(cases) <= 6:
        return f"{len(cases)} {noun} ({', '.join(label('case', c, language) for c in cases)})"
    return f"{len(cases)} {noun}"


def _breakdown(counts: pd.Series, kind: str, language: str) -> str:
    """' (professional 12, parent 8)' from counts indexed by key."""
    if len(counts) <= 1:
        return ""
    return " (" + ", ".join(f"{label(kind, k, language)} {int(v)}" for k, v in counts.items()) + ")"


def _missing_groups(groups: Sequence[str], language: str) -> str:
    if not groups:
        return ""
    shown = list(groups[:8]) + (["…"] if len(groups) > 8 else [])
    return term("captions.missing_groups", language, groups=", ".join(shown))


def _wrap(text: str, width: int = 12) -> str:
    return "\n".join(textwrap.wrap(text, width)) or text


def _new_figure(width: float, height: float) -> "matplotlib.figure.Figure":
    from matplotlib.figure import Figure as MplFigure

    return MplFigure(figsize=(width, height), layout="constrained")


def _panels(count: int, *, columns: int, width: float, height: float, sharex: bool = True, sharey: bool = True):
    """A wrapped grid of ``count`` panels; unused cells are removed, x labels stay visible."""
    count = max(count, 1)
    ncols = min(count, columns)
    nrows = math.ceil(count / ncols)
    fig = _new_figure(width * ncols, height * nrows + 0.4)
    grid = fig.subplots(nrows, ncols, squeeze=False, sharex=sharex, sharey=sharey)
    flat = list(grid.ravel())
    for ax in flat[count:]:
        fig.delaxes(ax)
    axes = flat[:count]
    for i, ax in enumerate(axes):
        # A panel with nothing below it shows its own x tick labels (shared axes hide them).
        if i + ncols >= count:
            ax.tick_params(labelbottom=True)
    return fig, axes


def _no_data(ax: "matplotlib.axes.Axes", language: str, *, hide_axes: bool = False, text: str | None = None) -> None:
    ax.set_facecolor(_NO_DATA_GREY)
    ax.text(0.5, 0.5, text or term("figures.no_data", language), transform=ax.transAxes, ha="center", va="center", color=_TEXT_GREY, style="italic")
    if hide_axes:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)


def _empty_figure(name: str, title: str, language: str) -> Figure:
    fig = _new_figure(3.2, 2.0)
    ax = fig.add_subplot()
    _no_data(ax, language, hide_axes=True)
    ax.set_title(title)
    return Figure(fig, term("captions.empty", language, title=title), name, language)


def _notice_figure(name: str, title: str, notice: str, caption: str, language: str) -> Figure:
    """A figure that says, in words, why there is nothing to draw (every bar suppressed): no empty axes."""
    import textwrap

    fig = _new_figure(6.4, 1.7)
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.set_title(title)
    ax.text(0.5, 0.45, textwrap.fill(notice, 70), transform=ax.transAxes, ha="center", va="center", color=_TEXT_GREY,
            bbox={"boxstyle": "round,pad=0.6", "facecolor": _NO_DATA_GREY, "edgecolor": "none"})
    return Figure(fig, caption, name, language)


def _axis_titles(fig, axes: list, *, x: str | None = None, y: str | None = None) -> None:
    """Axis titles: on the one panel, or once for the whole grid of panels."""
    import matplotlib as mpl

    size = mpl.rcParams["axes.labelsize"]
    if x:
        axes[0].set_xlabel(x) if len(axes) == 1 else fig.supxlabel(x, fontsize=size)
    if y:
        axes[0].set_ylabel(y) if len(axes) == 1 else fig.supylabel(y, fontsize=size)


def _legend(fig: "matplotlib.figure.Figure", handles: list, labels: list[str], *, columns: int | None = None) -> None:
    if handles:
        fig.legend(handles, labels, loc="outside upper center", ncols=columns or min(len(handles), 3))


# --- 1. trajectories ----------------------------------------------------------------

def trajectories(
    scores: pd.DataFrame,
    *,
    scale: str,
    by: str | None = "role",
    language: str = "en",
) -> Figure:
    """Mean scale score per wave, per case (panel) and role (colour), with 95% CIs.

    Parameters
    ----------
    scores : DataFrame
        Either raw scale scores (``transforms.score_scales``): participant_id,
        case_id, wave, scale, value and the ``by`` column; or precomputed
        estimated marginal means: case_id, wave, estimate, ci_low, ci_high,
        [the ``by`` column], [scale], [n]. The second form is recognised by
        its ``estimate`` column.
    scale : str
        The scale to show (rows with another ``scale`` are ignored).
    by : str or None
        Column that colours the lines (default ``role``); None pools a case.
    language : {"en", "nl"}

    Returns
    -------
    Figure named ``trajectories_<scale>``.

    Notes
    -----
    From raw scores, a point is the mean over participants and its interval is
    mean ± t(0.975, n−1)·sd/√n; groups with one participant get a point
    without an interval. Cases in the frame without rows for ``scale`` get a
    "no data" panel. With more than `FACET_LIMIT` cases the figure switches
    to one panel per ``by`` group: thin lines for the case means and a thick
    line for the mean over all participants.

    Examples
    --------
    >>> scores = pd.DataFrame({
    ...     "participant_id": ["p1", "p2"] * 3, "case_id": "slotervaart", "role": "parent",
    ...     "wave": ["t0", "t0", "t1", "t1", "t2", "t2"], "scale": "trust",
    ...     "value": [3.0, 4.0, 3.5, 4.0, 4.0, 4.5]})
    >>> figure = trajectories(scores, scale="trust", language="nl")
    >>> figure.name
    'trajectories_trust'
    >>> figure.caption[:60]
    'Gemiddelde score vertrouwen per meting (t0 = voormeting; t1 '
    >>> save(figure, "figures/" + figure.name)  # doctest: +SKIP
    """
    words = _words(language)
    precomputed = "estimate" in scores.columns if isinstance(scores, pd.DataFrame) else False
    hue = [by] if by else []
    if precomputed:
        require_columns(scores, ["case_id", "wave", "estimate", "ci_low", "ci_high", *hue], "estimated means", kind="frame")
        _require_numeric(scores, ["estimate", "ci_low", "ci_high"], what="estimated means")
    else:
        require_columns(scores, ["participant_id", "case_id", "wave", "scale", "value", *hue], "scores", kind="frame")
        _require_numeric(scores, ["value"], what="scores")
    name = f"trajectories_{scale}"
    scale_label = label("scale", scale, language)
    cases = _ordered(scores["case_id"], _KNOWN_CASES)
    data = scores
    if "scale" in scores.columns:
        data = scores[scores["scale"].astype("str") == scale]
        if data.empty and not scores.empty:
            raise DataError(
                f"no rows for scale '{scale}'",
                column="scale",
                expected=scale,
                found=", ".join(_ordered(scores["scale"])),
            )
    if data.empty:
        return _empty_figure(name, scale_label, language)

    data = data.assign(_hue=data[by].astype("str") if by else "all")
    _wave_positions(data["wave"], what="scores")  # unknown waves are a DataError
    # Only the waves in the data get a place on the axis (a before/after design shows no empty follow-up; issue 14).
    shown = data.dropna(subset=["estimate" if precomputed else "value"])["wave"].astype("str")
    waves = [w for w in WAVES if w in (set(shown) or set(data["wave"].dropna().astype("str")))]
    data = _as_text(data, ["case_id"]).assign(_x=data["wave"].astype("str").map({w: i for i, w in enumerate(waves)}))
    levels = _ordered(scores[by], ROLES if by == "role" else ()) if by else ["all"]
    colours = palette("role" if by == "role" else "other", levels) if by else {"all": OKABE_ITO["black"]}
    if precomputed:
        _require_interval(data, "estimate", "ci_low", "ci_high", what="estimated means", keys=["case_id", *hue, "wave"])
        summary = data
    else:
        summary = _mean_ci(data, ["case_id", "_hue", "_x"])
    with_data = set(summary["case_id"])
    missing = [label("case", c, language) for c in cases if c not in with_data]
    compact = len(cases) > FACET_LIMIT
    by_words = {"role": "figures.role", "wave": "figures.wave"}
    by_label = (term(by_words[by], language) if by in by_words else by.replace("_", " ")) if by else term("figures.pooled", language)

    with theme():
        if compact:
            fig, axes = _panels(len(levels), columns=3, width=2.8, height=2.4)
            pooled = None if precomputed else _mean_ci(data, ["_hue", "_x"])
            for ax, level in zip(axes, levels):
                ax.set_title(label(by, level, language) if by else term("figures.pooled", language))
                _trajectory_compact_panel(ax, summary, pooled, level, colours[level], language, len(waves))
        else:
            fig, axes = _panels(len(cases), columns=4, width=2.9, height=2.3)
            offsets = np.linspace(-0.12, 0.12, len(levels)) if len(levels) > 1 else np.zeros(1)
            for ax, case in zip(axes, cases):
                ax.set_title(label("case", case, language))
                in_case = summary[summary["case_id"] == case]
                if in_case.empty:
                    _no_data(ax, language)
                for offset, level in zip(offsets, levels):
                    group = in_case[in_case["_hue"] == level].sort_values("_x")
                    if group.empty:
                        continue
                    ax.errorbar(
                        group["_x"] + offset,
                        group["estimate"],
                        yerr=_error_bars(group["estimate"], group["ci_low"], group["ci_high"]),
                        color=colours[level],
                        marker="o",
                        markersize=4,
                        capsize=2,
                        linewidth=1.4,
                    )
        for ax in axes:
            ax.set_xticks(range(len(waves)), [_wrap(label("wave", w, language)) for w in waves])
            ax.set_xlim(-0.4, len(waves) - 0.6)
            ax.grid(axis="x", visible=False)
        _axis_titles(fig, axes, y=f"{term('figures.mean_score', language)}: {scale_label}")
        if by:
            from matplotlib.lines import Line2D

            handles = [Line2D([], [], color=colours[lv], marker="o", markersize=4) for lv in levels]
            _legend(fig, handles, [label(by, lv, language) for lv in levels])

    n_participants = 0 if precomputed else data.dropna(subset=["value"])["participant_id"].nunique()
    per_level = (
        pd.Series(dtype="int64")
        if precomputed or not by
        else data.dropna(subset=["value"]).groupby("_hue", sort=False)["participant_id"].nunique().reindex(levels).dropna()
    )
    fields = dict(
        scale=scale_label,
        waves="; ".join(f"{w} = {label('wave', w, language)}" for w in waves),
        cases=_cases_phrase(cases, language),
        by=f", {term('figures.by', language)} {by_label}" if by else "",
        n=n_participants,
        breakdown=_breakdown(per_level, by or "", language),
    )
    caption = term("captions.trajectories_emm" if precomputed else "captions.trajectories", language, **fields)
    if compact:
        caption += term("captions.trajectories_emm_compact" if precomputed else "captions.trajectories_compact", language, by_one=by_label)
    else:
        caption += _missing_groups(missing, language)
    return Figure(fig, caption, name, language)


def _trajectory_compact_panel(ax, summary, pooled, level, colour, language, n_waves) -> None:
    """Thin lines: one per case; thick black line: mean over all participants with its CI (`n_waves` places on the axis)."""
    group = summary[summary["_hue"] == level]
    if group.empty:
        _no_data(ax, language)
        return
    lines = group.pivot_table(index="case_id", columns="_x", values="estimate", observed=True).reindex(columns=range(n_waves))
    ax.plot(np.arange(n_waves), lines.to_numpy().T, color=colour, alpha=0.3, linewidth=0.7)
    if pooled is not None:
        overall = pooled[pooled["_hue"] == level].sort_values("_x")
        ax.errorbar(
            overall["_x"],
            overall["estimate"],
            yerr=_error_bars(overall["estimate"], overall["ci_low"], overall["ci_high"]),
            color=OKABE_ITO["black"],
            marker="o",
            markersize=4,
            capsize=2,
            linewidth=2,
        )


# --- 2. perception gap dumbbell -----------------------------------------------------

def perception_gap_dumbbell(
    scores: pd.DataFrame,
    *,
    own: str = "own_willingness",
    perceived: str = "perceived_willingness",
    language: str = "en",
) -> Figure:
    """Own willingness against perceived willingness of the other side, per case, role and wave.

    Parameters
    ----------
    scores : DataFrame
        Scale scores: participant_id, case_id, role, wave, scale, value, with
        rows for both the ``own`` and the ``perceived`` scale.
    own, perceived : str
        The two scale names.
    language : {"en", "nl"}

    Returns
    -------
    Figure named ``perception_gap``.

    Notes
    -----
    A panel per case; within it a block per role (colour) with a row per wave.
    The filled point is the mean own willingness, the open point the mean
    perceived willingness, both with t-based 95% CIs (mean ± t·sd/√n); the
    line between them is the perception gap. When the points draw together
    from t0 to t2, the gap shrinks. With more than `FACET_LIMIT` cases the
    panels become one per role, pooling all participants.

    Examples
    --------
    >>> scores = pd.DataFrame({
    ...     "participant_id": ["p1", "p2", "p1", "p2"], "case_id": "poelenburg_a",
    ...     "role": "professional", "wave": "t0",
    ...     "scale": ["own_willingness"] * 2 + ["perceived_willingness"] * 2,
    ...     "value": [4.0, 5.0, 2.0, 3.0]})
    >>> figure = perception_gap_dumbbell(scores)
    >>> "n = 2 participants" in figure.caption
    True
    """
    _words(language)
    require_columns(scores, ["participant_id", "case_id", "role", "wave", "scale", "value"], "scores", kind="frame")
    _require_numeric(scores, ["value"], what="scores")
    name = "perception_gap"
    title = label("scale", own, language) + " / " + label("scale", perceived, language)
    if scores.empty:
        return _empty_figure(name, title, language)
    scale = scores["scale"].astype("str")
    absent = [s for s in (own, perceived) if not (scale == s).any()]
    if absent:
        raise DataError(
            f"no rows for scale '{absent[0]}'",
            column="scale",
            expected=f"rows for '{own}' and '{perceived}'",
            found=", ".join(_ordered(scores["scale"])),
        )
    data = _as_text(scores[scale.isin([own, perceived])], ["case_id", "role", "scale"])
    _wave_positions(data["wave"], what="scores")  # unknown waves are a DataError
    # Only the waves in the data get a row (a before/after design draws no empty follow-up row; issue 14).
    answered_waves = set(data.dropna(subset=["value"])["wave"].astype("str")) or set(data["wave"].dropna().astype("str"))
    waves = [w for w in WAVES if w in answered_waves]
    data = data.assign(_x=data["wave"].astype("str").map({w: i for i, w in enumerate(waves)}))
    cases = _ordered(scores["case_id"], _KNOWN_CASES)
    roles = _ordered(scores["role"], ROLES)
    colours = palette("role", roles)
    compact = len(cases) > FACET_LIMIT
    summary = _mean_ci(data, ["case_id", "role", "_x", "scale"])
    pooled = _mean_ci(data, ["role", "_x", "scale"])
    missing = [label("case", c, language) for c in cases if c not in set(summary["case_id"])]

    with theme():
        if compact:
            fig, axes = _panels(len(roles), columns=3, width=2.8, height=1.9)
            for ax, role in zip(axes, roles):
                ax.set_title(label("role", role, language))
                _dumbbell_rows(ax, pooled[pooled["role"] == role], [role], colours, own, perceived, language, waves)
        else:
            height = 0.6 + 0.3 * len(roles) * (len(waves) + 1)
            fig, axes = _panels(len(cases), columns=3 if len(cases) <= 6 else 4, width=2.9, height=height)
            for ax, case in zip(axes, cases):
                ax.set_title(label("case", case, language))
                in_case = summary[summary["case_id"] == case]
                if in_case.empty:
                    _no_data(ax, language)
                _dumbbell_rows(ax, in_case, roles, colours, own, perceived, language, waves)
        _axis_titles(fig, axes, x=term("figures.mean_score", language))
        from matplotlib.lines import Line2D

        handles = [Line2D([], [], color=colours[r], marker="o", linestyle="-", markersize=5) for r in roles]
        handles += [
            Line2D([], [], color=_TEXT_GREY, marker="o", linestyle="", markersize=5),
            Line2D([], [], color=_TEXT_GREY, marker="o", markerfacecolor="white", linestyle="", markersize=5),
        ]
        texts = [label("role", r, language) for r in roles] + [term("figures.own", language), term("figures.perceived", language)]
        _legend(fig, handles, texts, columns=len(handles) if len(handles) <= 5 else 3)

    answered = data.dropna(subset=["value"])
    fields = dict(
        waves="; ".join(f"{w} = {label('wave', w, language)}" for w in waves),
        cases=_cases_phrase(cases, language),
        n=answered["participant_id"].nunique(),
        breakdown=_breakdown(answered.groupby("role", sort=False)["participant_id"].nunique().reindex(roles).dropna(), "role", language),
    )
    caption = term("captions.dumbbell", language, **fields)
    caption += term("captions.dumbbell_compact", language) if compact else _missing_groups(missing, language)
    return Figure(fig, caption, name, language)


def _dumbbell_rows(ax, summary: pd.DataFrame, roles: list[str], colours: dict[str, str], own: str, perceived: str,
                  language: str, waves: Sequence[str]) -> None:
    """A block per role (top to bottom), a row per wave of `waves` (those in the data, in order); own (filled)
    above, perceived (open) below, joined."""
    from matplotlib.transforms import blended_transform_factory

    block = len(waves) + 1.0  # one empty row between blocks holds the role name
    shift = 0.13
    role_index = {r: i for i, r in enumerate(roles)}
    summary = summary.assign(_y=-(summary["role"].map(role_index) * block + summary["_x"]))
    ends = (
        summary.pivot_table(index=["role", "_y"], columns="scale", values="estimate", observed=True)
        .reindex(columns=[own, perceived])
        .reset_index()
        .dropna(subset=[own, perceived])
    )
    left_edge = blended_transform_factory(ax.transAxes, ax.transData)
    for role in roles:
        colour = colours[role]
        if len(roles) > 1:
            top = -role_index[role] * block
            ax.text(0.01, top + 0.75, label("role", role, language), transform=left_edge, fontweight="bold", fontsize=8, va="center")
        joined = ends[ends["role"] == role]
        if not joined.empty:
            ax.plot(
                np.vstack([joined[own], joined[perceived]]),
                np.vstack([joined["_y"] + shift, joined["_y"] - shift]),
                color=colour,
                linewidth=2.2,
                alpha=0.45,
                solid_capstyle="butt",
            )
        for scale_name, face, offset in ((own, colour, shift), (perceived, "white", -shift)):
            points = summary[(summary["role"] == role) & (summary["scale"] == scale_name)]
            if points.empty:
                continue
            ax.errorbar(
                points["estimate"],
                points["_y"] + offset,
                xerr=_error_bars(points["estimate"], points["ci_low"], points["ci_high"]),
                color=colour,
                marker="o",
                markerfacecolor=face,
                markeredgecolor=colour,
                markersize=5,
                linestyle="",
                capsize=1.5,
                elinewidth=0.9,
                zorder=3,
            )
    positions = [-(i * block + w) for i in range(len(roles)) for w in range(len(waves))]
    ax.set_yticks(positions, [label("wave", w, language) for _ in roles for w in waves])
    ax.set_ylim(min(positions) - 0.6, 1.4 if len(roles) > 1 else 0.6)
    ax.grid(axis="y", visible=False)


# --- 3. help-seeking interrupted time series ----------------------------------------

_ITS_COLUMNS = (
    "case_id",
    "month",
    "relative_month",
    "count",
    "fitted",
    "fitted_low",
    "fitted_high",
    "counterfactual",
    "counterfactual_low",
    "counterfactual_high",
)


def help_seeking_its(fitted: pd.DataFrame, *, language: str = "en") -> Figure:
    """Monthly help-seeking counts with the fitted segmented regression and its counterfactual.

    Parameters
    ----------
    fitted : DataFrame
        One row per case x month (from ``timeseries``): case_id, month
        (datetime), relative_month (0 = month of the joint goal), count,
        fitted, fitted_low, fitted_high, counterfactual, counterfactual_low,
        counterfactual_high (the counterfactual columns empty before month 0),
        [event_type] (default: parenting questions to the youth team).
    language : {"en", "nl"}

    Returns
    -------
    Figure named ``help_seeking_its`` (``its_<event_type>`` for another event type).

    Notes
    -----
    One panel per case, aligned on ``relative_month``: points are observed
    counts, solid lines the model fit before (months < 0) and after the start,
    the dashed line the counterfactual (the pre-start level and trend carried
    on), bands their 95% CIs. The gap between the solid and the dashed line
    after month 0 is the estimated effect of the collaboration. With more
    than `FACET_LIMIT` cases, one panel shows fitted ÷ counterfactual per case
    after the start (log axis), with the median over cases.

    Examples
    --------
    >>> months = pd.date_range("2016-01-01", periods=4, freq="MS")
    >>> fitted = pd.DataFrame({
    ...     "case_id": "slotervaart", "month": months, "relative_month": [-2, -1, 0, 1],
    ...     "count": [2, 3, 6, 7], "fitted": [2.4, 2.6, 6.2, 6.8],
    ...     "fitted_low": [1.5, 1.7, 4.5, 5.0], "fitted_high": [3.5, 3.8, 8.5, 9.2],
    ...     "counterfactual": [None, None, 2.8, 3.0], "counterfactual_low": [None, None, 1.6, 1.6],
    ...     "counterfactual_high": [None, None, 4.6, 5.2]})
    >>> figure = help_seeking_its(fitted, language="nl")
    >>> "2016-01 tot 2016-04 (4 maanden; 18 in totaal)" in figure.caption
    True
    """
    _words(language)
    require_columns(fitted, list(_ITS_COLUMNS), "fitted time series", kind="frame")
    _require_numeric(fitted, list(_ITS_COLUMNS[2:]), what="fitted time series")
    event = "parenting_question_to_youth_team"
    if "event_type" in fitted.columns and fitted["event_type"].notna().any():
        events = _ordered(fitted["event_type"], EVENT_TYPES)
        if len(events) > 1:
            raise DataError(
                "the fitted time series mixes event types; draw one at a time",
                column="event_type",
                expected="one event type",
                found=", ".join(events),
            )
        event = events[0]
    event_label = label("event_type", event, language)
    name = "help_seeking_its" if event == "parenting_question_to_youth_team" else f"its_{event}"
    if fitted.empty:
        return _empty_figure(name, event_label, language)
    if not pd.api.types.is_datetime64_any_dtype(fitted["month"]):
        raise DataError("column 'month' must hold dates", column="month", expected="datetime", found=str(fitted["month"].dtype))

    data = _as_text(fitted, ["case_id"]).sort_values(["case_id", "relative_month"], kind="stable")
    cases = _ordered(fitted["case_id"], _KNOWN_CASES)
    colours = palette("case", cases)
    compact = len(cases) > FACET_LIMIT
    observed = data.dropna(subset=["count"])
    missing = [label("case", c, language) for c in cases if c not in set(observed["case_id"])]
    fields = dict(
        event=event_label,
        cases=_cases_phrase(cases, language),
        months=observed["month"].nunique(),
        first=observed["month"].min().strftime("%Y-%m") if len(observed) else "–",
        last=observed["month"].max().strftime("%Y-%m") if len(observed) else "–",
        total=int(observed["count"].sum()),
    )

    with theme():
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch

        if compact:
            fig, axes = _panels(1, columns=1, width=5.0, height=3.2)
            ax = axes[0]
            _its_compact_panel(ax, data, language)
            handles = [
                Line2D([], [], color=_TEXT_GREY, linewidth=0.8, alpha=0.6),
                Line2D([], [], color=OKABE_ITO["black"], linewidth=2),
            ]
            _legend(fig, handles, [term("figures.one_line_per_case", language), term("figures.median_cases", language)])
            caption = term("captions.its_compact", language, **fields)
        else:
            fig, axes = _panels(len(cases), columns=3, width=2.8, height=2.2, sharey=False)
            for ax, case in zip(axes, cases):
                ax.set_title(label("case", case, language))
                _its_panel(ax, data[data["case_id"] == case], colours[case], language)
            _axis_titles(fig, axes, y=term("figures.per_month", language))
            handles = [
                Line2D([], [], color=_TEXT_GREY, marker="o", linestyle="", markersize=3.5),
                Line2D([], [], color=_TEXT_GREY, linewidth=1.6),
                Line2D([], [], color=OKABE_ITO["black"], linewidth=1.2, linestyle="--"),
                Patch(facecolor=_TEXT_GREY, alpha=0.2, linewidth=0),
                Line2D([], [], color=_TEXT_GREY, linewidth=1, linestyle=":"),
            ]
            texts = ["figures.observed", "figures.fitted", "figures.counterfactual", "figures.band", "figures.start"]
            _legend(fig, handles, [term(t, language) for t in texts], columns=3)
            caption = term("captions.its", language, **fields) + _missing_groups(missing, language)
        _axis_titles(fig, axes, x=term("figures.months_since_start", language))
    return Figure(fig, caption, name, language)


def _its_panel(ax, case: pd.DataFrame, colour: str, language: str) -> None:
    if case["count"].notna().sum() == 0 and case["fitted"].notna().sum() == 0:
        _no_data(ax, language)
        return
    for part in (case[case["relative_month"] < 0], case[case["relative_month"] >= 0]):
        ax.fill_between(part["relative_month"], part["fitted_low"], part["fitted_high"], color=colour, alpha=0.18, linewidth=0)
        ax.plot(part["relative_month"], part["fitted"], color=colour, linewidth=1.6)
    after = case[(case["relative_month"] >= 0) & case["counterfactual"].notna()]
    ax.fill_between(
        after["relative_month"], after["counterfactual_low"], after["counterfactual_high"], color=OKABE_ITO["black"], alpha=0.1, linewidth=0
    )
    ax.plot(after["relative_month"], after["counterfactual"], color=OKABE_ITO["black"], linewidth=1.2, linestyle="--")
    ax.scatter(case["relative_month"], case["count"], s=9, color=colour, edgecolors="white", linewidths=0.3, zorder=3)
    # Month 0 is the first month with the intervention: the break lies just before it.
    ax.axvline(-0.5, color=_TEXT_GREY, linewidth=1, linestyle=":")
    ax.set_ylim(bottom=0)


def _its_compact_panel(ax, data: pd.DataFrame, language: str) -> None:
    """Many cases: fitted ÷ counterfactual after the start, one thin line per case, the median thick."""
    after = data[(data["relative_month"] >= 0) & (data["counterfactual"] > 0) & data["fitted"].notna()]
    if after.empty:
        _no_data(ax, language, hide_axes=True)
        return
    ratio = after.assign(_ratio=after["fitted"] / after["counterfactual"])
    wide = ratio.pivot_table(index="relative_month", columns="case_id", values="_ratio")
    ax.plot(wide.index, wide.to_numpy(), color=_TEXT_GREY, linewidth=0.6, alpha=0.35)
    ax.plot(wide.index, wide.median(axis=1), color=OKABE_ITO["black"], linewidth=2)
    ax.axhline(1.0, color=_TEXT_GREY, linewidth=1, linestyle=":")
    _log_axis(ax, "y")
    ax.set_ylabel(term("figures.ratio_fitted_counterfactual", language))


def _log_axis(ax, which: str, *, span: tuple[float, float] | None = None) -> None:
    """A log axis with plain tick labels (0.5, 1, 2) rather than powers of ten.

    The narrower the ``span`` of the data, the more ticks per decade, so a
    forest plot of ratios between 0.7 and 2.5 still gets four or five.
    """
    from matplotlib import ticker

    (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    axis = ax.xaxis if which == "x" else ax.yaxis
    decades = np.log10(span[1] / span[0]) if span and span[0] > 0 else 2.0
    subs = (1.0,) if decades > 3 else (1.0, 2.0, 5.0) if decades > 1 else (1.0, 1.5, 2.0, 3.0, 5.0, 7.0)
    axis.set_major_locator(ticker.LogLocator(base=10, subs=subs))
    axis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_minor_formatter(ticker.NullFormatter())


# --- 4. theme / code heatmap --------------------------------------------------------

def theme_heatmap(
    prevalence: pd.DataFrame,
    *,
    language: str = "en",
    value: str = "pct",
    item: str | None = None,
    min_cell: int = 5,
) -> Figure:
    """Case x code (or theme) heatmap of the percentage of participants mentioning it.

    Parameters
    ----------
    prevalence : DataFrame
        One row per case x code (from ``quantitize``): case_id, code (or
        theme), n (participants mentioning it), n_at_risk (participants in the
        case), pct (100·n/n_at_risk), [suppressed] (bool). A cell is shown as
        suppressed when ``suppressed`` is true or ``pct`` is missing.
    language : {"en", "nl"}
    value : {"pct", "n"}
        Cell text: ``"42%"`` or ``"5/12"``. The colour is always the percentage.
    item : str, optional
        The column with the codes; default ``code``, else ``theme``.
    min_cell : int
        The suppression threshold: counts from 1 to ``min_cell - 1`` are
        suppressed (also when the frame does not mark them) and shown as
        ``"<min_cell"``.

    Returns
    -------
    Figure named ``heatmap_<item>``.

    Notes
    -----
    Colour runs from white (0%) to dark blue (100%). Suppressed cells are grey
    and hatched with the text ``<5`` so that a reader never mistakes them for
    0%; case x code pairs absent from the frame show ``–``. Numbers are not
    printed when there are more than 40 cases or 600 cells (the table has
    them); row labels are dropped beyond 40 cases.

    Examples
    --------
    >>> prevalence = pd.DataFrame({
    ...     "case_id": ["slotervaart", "slotervaart"], "code": ["safe_space", "trust_grows"],
    ...     "n": [6, None], "n_at_risk": [10, 10], "pct": [60.0, None], "suppressed": [False, True]})
    >>> figure = theme_heatmap(prevalence, value="n")
    >>> sorted(t.get_text() for t in figure.fig.axes[0].texts)
    ['6/10', '<5']
    """
    _words(language)
    if value not in ("pct", "n"):
        raise DataError("unknown cell value for the heatmap", column="value", expected="'pct' or 'n'", found=value)
    if item is None:
        item = "theme" if isinstance(prevalence, pd.DataFrame) and "code" not in prevalence.columns and "theme" in prevalence.columns else "code"
    require_columns(prevalence, ["case_id", item, "n", "n_at_risk", "pct"], "prevalence", kind="frame")
    _require_numeric(prevalence, ["n", "n_at_risk", "pct"], what="prevalence")
    name = f"heatmap_{item}"
    if prevalence.empty:
        return _empty_figure(name, term("figures.pct_mentioning", language), language)
    pct = prevalence["pct"].astype("float64")
    outside = (pct < 0) | (pct > 100)
    if outside.any():
        raise DataError("percentages must lie between 0 and 100", column="pct", expected="0-100", found=float(pct[outside].iloc[0]))
    data = _as_text(prevalence, ["case_id", item])
    duplicated = data.duplicated(["case_id", item])
    if duplicated.any():
        first = data.loc[duplicated].iloc[0]
        raise DataError(
            f"more than one row for case '{first['case_id']}' and {item} '{first[item]}'",
            column=item,
            expected=f"one row per case_id x {item}",
            found=f"{int(duplicated.sum())} duplicate row(s)",
        )
    suppressed = data["pct"].isna()
    if "suppressed" in data.columns:
        suppressed = suppressed | data["suppressed"].fillna(False).astype(bool)
    # A small count that reached the figure unsuppressed is hidden here: the figure is published.
    suppressed = suppressed | pd.to_numeric(data["n"]).between(1, min_cell - 1).fillna(False).astype(bool)
    data = data.assign(_suppressed=suppressed)
    cases = _ordered(prevalence["case_id"], _KNOWN_CASES)
    # Codes in codebook order: the categories of a categorical, else the order of first appearance.
    if isinstance(prevalence[item].dtype, pd.CategoricalDtype):
        items = [str(c) for c in prevalence[item].cat.categories]
    else:
        items = list(dict.fromkeys(data[item]))
    shown = data.set_index(["case_id", item])
    percent = shown["pct"].where(~shown["_suppressed"]).unstack(item).reindex(index=cases, columns=items).astype("float64")
    hidden = shown["_suppressed"].unstack(item).reindex(index=cases, columns=items).fillna(False).astype(bool).to_numpy()
    absent = pd.Series(True, index=shown.index).unstack(item).reindex(index=cases, columns=items).isna().to_numpy()
    n = shown["n"].unstack(item).reindex(index=cases, columns=items).to_numpy(dtype="float64")
    n_at_risk = shown["n_at_risk"].unstack(item).reindex(index=cases, columns=items).to_numpy(dtype="float64")

    annotate = len(cases) <= _ROW_LABEL_LIMIT and percent.size <= 600
    if value == "pct":
        cells = np.char.add(np.round(np.nan_to_num(percent.to_numpy())).astype(int).astype(str), "%")
    else:
        cells = np.char.add(np.char.add(np.nan_to_num(n).astype(int).astype(str), "/"), np.nan_to_num(n_at_risk).astype(int).astype(str))

    # Codes are the rows (their names are long and read horizontally), cases the columns. The figure is
    # sized from the number of rows and columns and the length of the code names, so the cells never
    # collapse, whatever the number of codes (1..40+) and cases (1..10+); the colour bar spans the rows.
    row_labels = [_wrap(label("code", c, language), 34) for c in items]
    column_labels = [_wrap(label("case", c, language), 14) for c in cases] if len(cases) <= _ROW_LABEL_LIMIT else False
    longest = max((len(line) for text in row_labels for line in text.split("\n")), default=4)
    lines = max((text.count("\n") + 1 for text in row_labels), default=1)
    label_width = 0.3 + 0.068 * longest
    cell_width = 0.75 if annotate else 0.3
    cell_height = max(0.26, 0.15 * lines + 0.08)
    width = min(max(4.2, label_width + cell_width * len(cases) + 1.5), 16)
    height = min(max(2.4, 1.2 + cell_height * len(items)), 22)
    with theme():
        import seaborn as sns
        from matplotlib import ticker
        from matplotlib.collections import PatchCollection
        from matplotlib.patches import Rectangle

        fig = _new_figure(width, height)
        ax = fig.add_subplot()
        matrix = percent.T
        colour_bar = {"label": term("figures.pct_mentioning", language), "shrink": min(1.0, max(0.5, 2.2 / height)),
                      "ticks": [0, 25, 50, 75, 100], "format": ticker.FuncFormatter(lambda v, _: f"{v:g}%"), "aspect": 18}
        sns.heatmap(
            matrix,
            mask=matrix.isna().to_numpy(),
            cmap="Blues",
            vmin=0,
            vmax=100,
            annot=cells.T if annotate else False,
            fmt="",
            annot_kws={"fontsize": 7},
            linewidths=0.5,
            linecolor="white",
            cbar_kws=colour_bar,
            xticklabels=column_labels,
            yticklabels=row_labels,
            ax=ax,
        )
        hidden_t, absent_t = hidden.T, absent.T
        rows, columns = np.nonzero(hidden_t)
        ax.add_collection(
            PatchCollection(
                [Rectangle((c, r), 1, 1) for r, c in zip(rows, columns)],
                facecolor=_SUPPRESSED_GREY,
                edgecolor="white",
                hatch="///",
                linewidth=0.5,
            )
        )
        if annotate:
            for r, c in zip(rows, columns):
                ax.text(c + 0.5, r + 0.5, f"<{min_cell}", ha="center", va="center", fontsize=7, color=OKABE_ITO["black"])
            for r, c in zip(*np.nonzero(absent_t)):
                ax.text(c + 0.5, r + 0.5, "–", ha="center", va="center", fontsize=7, color=_TEXT_GREY)
        ax.set_xlabel("")
        ax.set_ylabel("")
        ax.tick_params(axis="y", labelrotation=0, labelsize=7.5)
        ax.tick_params(axis="x", labelsize=8, labelrotation=0 if len(cases) <= 4 else 40, top=False, bottom=False)
        ax.xaxis.tick_top()
        if len(cases) > 4:
            for tick in ax.get_xticklabels():
                tick.set_horizontalalignment("left")
                tick.set_rotation_mode("anchor")

    participants = data.groupby("case_id")["n_at_risk"].max().sum()
    items_noun = "figures.theme_many" if item == "theme" else "figures.code_many"
    cell = "captions.heatmap_cell_pct" if value == "pct" else "captions.heatmap_cell_n"
    caption = term(
        "captions.heatmap",
        language,
        n_items=f"{len(items)} {term(items_noun, language)}",
        cases=_cases_phrase(cases, language),
        n=int(participants),
        cell=term(cell if annotate else "captions.heatmap_no_annotation", language),
        min_cell=min_cell,
    )
    return Figure(fig, caption, name, language)


# --- 5. forest plot -------------------------------------------------------------------

def forest(
    results: pd.DataFrame,
    *,
    label_columns: Sequence[str] = ("case_id", "outcome"),
    ref_line: float | None = None,
    log_scale: bool | None = None,
    language: str = "en",
) -> Figure:
    """Forest plot of effect sizes with 95% CIs from a standard result frame.

    Parameters
    ----------
    results : DataFrame
        Rows in the standard result shape (``results.RESULT_COLUMNS``); needs
        effect_size, ci_low, ci_high, effect_name, n and the ``label_columns``;
        p_adjusted (preferred) or p_value is printed when present. One effect
        measure per plot (filter first).
    label_columns : sequence of str
        Columns whose values, joined by " · ", label a row.
    ref_line : float, optional
        The no-effect line; default 1 on a log axis, else 0.
    log_scale : bool, optional
        Default: True when ``effect_name`` contains "ratio".
    language : {"en", "nl"}

    Returns
    -------
    Figure named ``forest_<effect_name>``.

    Notes
    -----
    Rows keep the frame's order, top to bottom. Markers take the case colour
    when there is a case_id column; pooled rows (``case_id == "all"``) are
    black diamonds. Rows without an estimate (a test that could not run, or a
    ratio ≤ 0 on a log axis) show "not estimable". With more than 40 rows the
    plot becomes a caterpillar plot: sorted by effect, without row labels.

    Examples
    --------
    >>> results = pd.DataFrame({
    ...     "case_id": ["slotervaart", "poelenburg_a", "all"], "outcome": "parenting_question_to_youth_team",
    ...     "effect_size": [1.8, 1.3, 1.5], "ci_low": [1.2, 0.9, 1.2], "ci_high": [2.7, 1.9, 1.9],
    ...     "effect_name": "rate_ratio", "n": 24, "p_adjusted": [0.01, 0.16, 0.002]})
    >>> figure = forest(results)
    >>> figure.fig.axes[0].get_xscale()
    'log'
    >>> [t.get_text() for t in figure.fig.axes[0].texts][-1]
    'n = 24   p (adj.) = .002'
    """
    _words(language)
    label_columns = list(label_columns)
    require_columns(results, ["effect_size", "ci_low", "ci_high", "effect_name", "n", *label_columns], "results", kind="frame")
    _require_numeric(results, ["effect_size", "ci_low", "ci_high"], what="results")
    effects = list(dict.fromkeys(results["effect_name"].dropna().astype("str")))
    if len(effects) > 1:
        raise DataError(
            "a forest plot shows one effect measure; filter the results first",
            column="effect_name",
            expected="one effect_name",
            found=", ".join(effects),
        )
    effect = effects[0] if effects else "effect"
    effect_label = label("effect", effect, language)
    name = f"forest_{effect}"
    if results.empty:
        return _empty_figure(name, effect_label, language)
    _require_interval(results, "effect_size", "ci_low", "ci_high", what="results", keys=label_columns)
    log = ("ratio" in effect.lower()) if log_scale is None else bool(log_scale)
    ref = (1.0 if log else 0.0) if ref_line is None else float(ref_line)
    p_column = next((c for c in ("p_adjusted", "p_value") if c in results.columns and results[c].notna().any()), None)

    data = results.reset_index(drop=True)
    values = data[["effect_size", "ci_low", "ci_high"]].astype("float64")
    estimable = np.isfinite(values).all(axis=1) & ((values > 0).all(axis=1) if log else True)
    # A label column with one value for every row (the same outcome) goes to the caption, not each row.
    constant_columns = [c for c in label_columns if len(data) > 1 and data[c].astype("str").nunique() == 1]
    row_columns = [c for c in label_columns if c not in constant_columns]
    row_labels = _row_labels(data, row_columns, language)
    constant = ", ".join(_row_labels(data.iloc[:1], constant_columns, language)) if constant_columns else ""
    compact = len(data) > _ROW_LABEL_LIMIT
    if compact:
        order = values["effect_size"].where(estimable).sort_values(na_position="last", kind="stable").index
        data, values, estimable, row_labels = data.loc[order], values.loc[order], estimable.loc[order], row_labels.loc[order]
    y = -np.arange(len(data), dtype="float64")
    case_ids = data["case_id"].astype("str") if "case_id" in data.columns else pd.Series("", index=data.index)
    pooled = (case_ids == "all").to_numpy()
    colours = palette("case", list(dict.fromkeys(case_ids))) if "case_id" in data.columns else {}
    if compact:
        # Cycled colours mean nothing among hundreds of sites: only the study cases keep theirs.
        colours = {c: CASE_COLOURS.get(c, _TEXT_GREY) for c in colours}
    marker_colour = case_ids.map(colours).fillna(OKABE_ITO["black"]).to_numpy() if colours else np.full(len(data), OKABE_ITO["black"])
    ok = estimable.to_numpy()

    height = min(max(1.6, 0.8 + 0.24 * len(data)), 14)
    longest = 0 if compact else int(row_labels.str.len().max())
    width = min(max(5.0, 4.2 + 0.065 * longest), 10.0)
    with theme():
        fig = _new_figure(width, height)
        ax = fig.add_subplot()
        for is_pooled, marker, size in ((False, "o", 22), (True, "D", 38)):
            chosen = ok & (pooled == is_pooled)
            if not chosen.any():
                continue
            low, high, point = (values[c].to_numpy()[chosen] for c in ("ci_low", "ci_high", "effect_size"))
            ax.hlines(y[chosen], low, high, color=marker_colour[chosen], linewidth=1.2)
            ax.scatter(point, y[chosen], s=size / 3 if compact else size, marker=marker, c=list(marker_colour[chosen]), zorder=3)
        ax.axvline(ref, color=_TEXT_GREY, linewidth=1, linestyle="--")
        if log and ok.any():
            shown = values[estimable]
            _log_axis(ax, "x", span=(min(shown["ci_low"].min(), ref), max(shown["ci_high"].max(), ref)))
        elif log:
            ax.set_xscale("log")
        if compact:
            ax.set_yticks([])
        else:
            ax.set_yticks(y, row_labels.tolist())
            right_text = _forest_right_text(data, estimable, p_column, language)
            from matplotlib.transforms import blended_transform_factory

            beside = blended_transform_factory(ax.transAxes, ax.transData)
            for y_value, text in zip(y, right_text):
                ax.text(1.02, y_value, text, transform=beside, va="center", ha="left", fontsize=7.5, color=_TEXT_GREY)
        ax.set_ylim(y.min() - 0.7, 0.7)
        ax.grid(axis="y", visible=False)
        ax.set_xlabel(f"{effect_label} ({term('figures.ci95', language)})")
        if not ok.any():
            _no_data(ax, language)

    case_set = [c for c in dict.fromkeys(case_ids) if c and c != "all" and c != "nan"]
    not_estimable = int((~estimable).sum())
    right = (
        term("captions.forest_right", language, p=term({"p_adjusted": "captions.forest_p_adjusted", "p_value": "captions.forest_p_value"}[p_column], language))
        if p_column
        else term("captions.forest_n_only", language)
    )
    caption = term("captions.forest",
        language,
        effect=effect_label,
        rows=len(data),
        about=f" ({constant})" if constant else "",
        cases=f" {term('figures.in', language)} {_cases_phrase(case_set, language)}" if case_set else "",
        ref=format_plain(ref, language=language),
        log=term("captions.forest_log", language) if log else "",
        right="" if compact else right,
    ).rstrip()
    if compact:
        caption += term("captions.forest_compact", language)
    if not_estimable:
        caption += term("captions.forest_missing", language, rows=not_estimable)
    return Figure(fig, caption, name, language)


def _row_labels(data: pd.DataFrame, columns: Sequence[str], language: str) -> pd.Series:
    """Display labels of ``columns`` joined by " · " (empty values skipped)."""
    words = LABELS[language]
    kinds = {"case_id": "case", "role": "role", "wave": "wave", "scale": "scale", "event_type": "event_type"}
    parts = []
    for column in columns:
        text = data[column].astype("str").where(data[column].notna(), "")
        # An outcome is a scale or an event type; whichever dictionary knows it names it.
        names = {**words["event_type"], **words["scale"]} if column == "outcome" else words.get(kinds.get(column, column), {})
        # A value without a display name is shown as it is (map with a default: no all-NaN float column to fill).
        parts.append(text.map(lambda value: names.get(value, display_text(value, language) if value else value)).astype("str"))
    if not parts:
        return pd.Series("", index=data.index, dtype="str")
    joined = parts[0].str.cat(parts[1:], sep=" · ") if len(parts) > 1 else parts[0]
    # Drop the separators left by empty parts.
    return joined.str.replace(r"^(?: · )+|(?: · )+$", "", regex=True).str.replace(r"(?: · ){2,}", " · ", regex=True)


def _forest_right_text(data: pd.DataFrame, estimable: pd.Series, p_column: str | None, language: str) -> list[str]:
    n_text = "n = " + data["n"].astype("Int64").astype("str").replace("<NA>", "–")
    if p_column:
        p_name = term("figures.p_adjusted", language) if p_column == "p_adjusted" else "p"
        # A row without a p-value shows only its n (never "p = –").
        p_text = data[p_column].astype("float64").map(lambda p: "" if pd.isna(p) else f"   {p_name} " + format_p_value(p, language=language))
        text = n_text + p_text
    else:
        text = n_text
    return text.where(estimable, term("figures.not_estimable", language)).tolist()


# --- 6. intercoder agreement ------------------------------------------------------------

KRIPPENDORFF_THRESHOLDS = (0.667, 0.800)
"""Krippendorff (2004, p. 241): rely on α ≥ .800; tentative conclusions only for .667 ≤ α < .800."""


def agreement_by_code(agreement: pd.DataFrame, *, statistic: str | None = None, language: str = "en") -> Figure:
    """Intercoder agreement per code: point and 95% CI, with Krippendorff's thresholds.

    Parameters
    ----------
    agreement : DataFrame
        One row per code x statistic (from ``agreement``): code, statistic,
        estimate, ci_low, ci_high, n_units.
    statistic : str, optional
        Show only this statistic (e.g. ``krippendorff_alpha``); default all in
        the frame, side by side per code.
    language : {"en", "nl"}

    Returns
    -------
    Figure named ``agreement_by_code``.

    Notes
    -----
    Dashed lines at .667 and .800 (Krippendorff 2004). Codes keep the frame's
    order, top to bottom; codes without an estimate are labelled "not
    estimable". With more than 80 codes the rows are sorted by estimate and
    unlabelled (the table has the names).

    References
    ----------
    Krippendorff, K. (2004). Content analysis: An introduction to its
    methodology (2nd ed.), p. 241. Sage.

    Examples
    --------
    >>> agreement = pd.DataFrame({
    ...     "code": ["safe_space", "trust_grows"], "statistic": "krippendorff_alpha",
    ...     "estimate": [0.82, 0.61], "ci_low": [0.70, 0.45], "ci_high": [0.91, 0.74], "n_units": 48})
    >>> figure = agreement_by_code(agreement, statistic="krippendorff_alpha")
    >>> figure.caption[:62]
    "Intercoder agreement per code (Krippendorff's α) with 95% conf"
    """
    _words(language)
    require_columns(agreement, ["code", "statistic", "estimate", "ci_low", "ci_high", "n_units"], "agreement", kind="frame")
    _require_numeric(agreement, ["estimate", "ci_low", "ci_high", "n_units"], what="agreement")
    name = "agreement_by_code"
    data = _as_text(agreement, ["code", "statistic"])
    if statistic is not None:
        if not (data["statistic"] == statistic).any() and not data.empty:
            raise DataError(
                f"no rows for statistic '{statistic}'",
                column="statistic",
                expected=statistic,
                found=", ".join(_ordered(data["statistic"])),
            )
        data = data[data["statistic"] == statistic]
    statistics = list(dict.fromkeys(data["statistic"]))
    title = ", ".join(label("statistic", s, language) for s in statistics) or term("figures.agreement", language)
    if data.empty:
        return _empty_figure(name, title, language)
    _require_interval(data, "estimate", "ci_low", "ci_high", what="agreement", keys=["code", "statistic"])
    codes = list(dict.fromkeys(data["code"]))
    # Codes are read by name, so labels stay up to twice the usual row limit; beyond, a sorted caterpillar.
    compact = len(codes) > 2 * _ROW_LABEL_LIMIT
    if compact:
        codes = list(data.groupby("code", sort=False)["estimate"].mean().sort_values(ascending=False, na_position="last", kind="stable").index)
    code_row = {c: i for i, c in enumerate(codes)}
    colours = palette("other", statistics)
    markers = dict(zip(statistics, "osD^v<>p" * 4))
    offsets = dict(zip(statistics, np.linspace(-0.18, 0.18, len(statistics)) if len(statistics) > 1 else [0.0]))
    height = min(max(1.8, 0.9 + (0.24 if len(codes) <= _ROW_LABEL_LIMIT else 0.17) * len(codes)), 16)
    low = min(0.0, float(np.nanmin(data["ci_low"].to_numpy(dtype="float64")))) if data["ci_low"].notna().any() else 0.0

    with theme():
        fig = _new_figure(5.2, height)
        ax = fig.add_subplot()
        for stat in statistics:
            rows = data[(data["statistic"] == stat) & data["estimate"].notna()]
            y = -rows["code"].map(code_row).to_numpy(dtype="float64") + offsets[stat]
            ax.errorbar(
                rows["estimate"],
                y,
                xerr=_error_bars(rows["estimate"], rows["ci_low"], rows["ci_high"]),
                color=colours[stat],
                marker=markers[stat],
                markersize=4.5 if not compact else 2.5,
                linestyle="",
                capsize=1.5,
                elinewidth=1,
                label=label("statistic", stat, language),
            )
        for threshold in KRIPPENDORFF_THRESHOLDS:
            ax.axvline(threshold, color=_TEXT_GREY, linewidth=0.9, linestyle="--")
            ax.text(
                threshold,
                1.0,
                format_number(threshold, 3, language=language, leading_zero=False),
                transform=ax.get_xaxis_transform(),
                ha="center",
                va="bottom",
                fontsize=7,
                color=_TEXT_GREY,
            )
        positions = -np.arange(len(codes), dtype="float64")
        if compact:
            ax.set_yticks([])
        else:
            ax.set_yticks(positions, [label("code", c, language) for c in codes])
            no_estimate = data.groupby("code", sort=False)["estimate"].apply(lambda s: s.isna().all())
            for code in no_estimate[no_estimate].index:
                ax.text(
                    max(low, -1.0) + 0.02,
                    -code_row[code],
                    term("figures.not_estimable", language),
                    va="center",
                    fontsize=7,
                    color=_TEXT_GREY,
                    style="italic",
                )
        ax.set_xlim(max(low, -1.0) - 0.05, 1.03)
        ax.set_ylim(positions.min() - 0.7, 0.7)
        ax.grid(axis="y", visible=False)
        ax.set_xlabel(term("figures.agreement", language))
        if len(statistics) > 1:
            handles, texts = ax.get_legend_handles_labels()
            _legend(fig, handles, texts)

    units = data["n_units"].dropna()
    units_text = "–" if units.empty else (f"{int(units.min())}" if units.min() == units.max() else f"{int(units.min())}–{int(units.max())}")
    caption = term("captions.agreement", language, statistic=title, codes=len(codes), units=units_text)
    if compact:
        caption += term("captions.agreement_compact", language)
    return Figure(fig, caption, name, language)


# --- 7. expectation bars ------------------------------------------------------------------

def expectation_bars(crosstab_frame: pd.DataFrame, *, language: str = "en") -> Figure:
    """Proportions of each primary expectation by role, per case (100% stacked bars).

    Parameters
    ----------
    crosstab_frame : DataFrame
        Counts in long form (from ``stats.expectation_crosstab``): case_id,
        role, expectation, n. Proportions are computed here, within each
        case x role, so they always match the counts (a ``proportion`` column,
        if present, is ignored).
    language : {"en", "nl"}

    Returns
    -------
    Figure named ``expectation_bars``.

    Notes
    -----
    One panel per case, one bar per role; segments are the share of each
    expectation (strengthen the organisation, bridge to parents, both), with
    the percentage printed when the segment is wide enough and n at the right.
    A role without respondents shows "no data". With more than `FACET_LIMIT`
    cases: one panel per role, one thin bar per case, sorted by the share of
    the first expectation.

    Examples
    --------
    >>> crosstab = pd.DataFrame({
    ...     "case_id": "slotervaart", "role": ["professional", "professional", "migrant_org"],
    ...     "expectation": ["bridge_to_parents", "both", "strengthen_organisation"], "n": [6, 2, 5]})
    >>> figure = expectation_bars(crosstab, language="nl")
    >>> "n = 13 respondenten (professional 8, migrantenorganisatie 5)" in figure.caption
    True
    """
    _words(language)
    require_columns(crosstab_frame, ["case_id", "role", "expectation", "n"], "expectation crosstab", kind="frame")
    _require_numeric(crosstab_frame, ["n"], what="expectation crosstab")
    name = "expectation_bars"
    if crosstab_frame.empty or not (crosstab_frame["n"].fillna(0) > 0).any():
        return _empty_figure(name, term("figures.proportion", language), language)
    negative = crosstab_frame["n"] < 0
    if negative.any():
        raise DataError("counts must not be negative", column="n", expected="n >= 0", found=float(crosstab_frame.loc[negative, "n"].iloc[0]))
    data = _as_text(crosstab_frame, ["case_id", "role", "expectation"])
    # A missing count is a suppressed one (privacy.suppress_small_cells): its case x role bar is not drawn,
    # so neither a share nor a total gives it away.
    hidden = data.loc[data["n"].isna(), ["case_id", "role"]].drop_duplicates()
    data = data.assign(n=data["n"].astype("Float64").fillna(0).astype("float64"))
    cases = _ordered(crosstab_frame["case_id"], _KNOWN_CASES)
    roles = _ordered(crosstab_frame["role"], ROLES)
    expectations = _ordered(crosstab_frame["expectation"], EXPECTATIONS)
    colours = palette("expectation", expectations)
    # Every case x role, so a role without respondents is a visible "no data" row.
    grid = pd.MultiIndex.from_product([cases, roles], names=["case_id", "role"])
    counts = (
        data.pivot_table(index=["case_id", "role"], columns="expectation", values="n", aggfunc="sum", observed=True)
        .reindex(index=grid, columns=expectations)
        .fillna(0)
    )
    suppressed = pd.Series(grid.isin(pd.MultiIndex.from_frame(hidden)), index=grid)
    counts = counts.mask(suppressed, axis=0)
    totals = counts.sum(axis=1, min_count=1)
    if suppressed.any() and not (totals > 0).any():
        # Every bar with respondents hides a small count: no empty panels with squeezed axes ("0%100%"), a notice.
        return _notice_figure(name, term("figures.expectation_title", language), term("figures.all_suppressed", language),
                              term("captions.expectation_all_hidden", language, cases=_cases_phrase(cases, language), bars=int(suppressed.sum())),
                              language)
    shares = counts.div(totals.where(totals > 0), axis=0)
    compact = len(cases) > FACET_LIMIT

    with theme():
        if compact:
            height = min(max(2.0, 0.8 + 0.16 * len(cases)), 12)
            fig, axes = _panels(len(roles), columns=3, width=2.6, height=height, sharey=False)
            for ax, role in zip(axes, roles):
                ax.set_title(label("role", role, language))
                n_role = totals.xs(role, level="role")
                in_role = shares.xs(role, level="role")[n_role > 0].sort_values(expectations[0], ascending=False, kind="stable")
                _stacked_bars(ax, in_role, n_role[in_role.index], expectations, colours, language, thin=True, suppressed=suppressed.xs(role, level="role")[in_role.index])
                labelled = len(in_role) <= _ROW_LABEL_LIMIT
                ax.set_yticks(
                    -np.arange(len(in_role)) if labelled else [],
                    [label("case", c, language) for c in in_role.index] if labelled else [],
                )
        else:
            fig, axes = _panels(len(cases), columns=3, width=3.0, height=0.7 + 0.42 * len(roles))
            for ax, case in zip(axes, cases):
                ax.set_title(label("case", case, language))
                in_case, n_case = shares.xs(case, level="case_id"), totals.xs(case, level="case_id")
                _stacked_bars(ax, in_case, n_case, expectations, colours, language, thin=False, suppressed=suppressed.xs(case, level="case_id"))
                ax.set_yticks(-np.arange(len(roles)), [label("role", r, language) for r in roles])
        for ax in axes:
            ax.set_xlim(0, 1)
            ax.xaxis.set_major_formatter(_percent_formatter())
            ax.grid(axis="y", visible=False)
        _axis_titles(fig, axes, x=term("figures.proportion", language))
        from matplotlib.patches import Patch

        handles = [Patch(facecolor=colours[e], edgecolor="white") for e in expectations]
        _legend(fig, handles, [label("expectation", e, language) for e in expectations], columns=min(len(expectations), 4))

    answered = totals[totals > 0]
    by_role = answered.groupby(level="role").sum().reindex(roles).dropna()
    caption = term("captions.expectation",
        language,
        expectations=" / ".join(label("expectation", e, language) for e in expectations),
        cases=_cases_phrase(cases, language),
        n=int(answered.sum()),
        breakdown=_breakdown(by_role, "role", language),
    )
    if compact:
        caption += term("captions.expectation_compact", language, first=label("expectation", expectations[0], language))
    else:
        # A case whose bars are all suppressed has data: it is hidden, not absent (said below, never "no data").
        with_data = set(answered.index.get_level_values("case_id")) | set(suppressed[suppressed].index.get_level_values("case_id"))
        caption += term("captions.expectation_totals", language)
        caption += _missing_groups([label("case", c, language) for c in cases if c not in with_data], language)
    if suppressed.any():
        caption += term("captions.expectation_hidden", language, bars=int(suppressed.sum()))
    return Figure(fig, caption, name, language)


def _stacked_bars(
    ax, shares: pd.DataFrame, totals: pd.Series, expectations: list[str], colours: dict[str, str], language: str, *, thin: bool,
    suppressed: pd.Series | None = None,
) -> None:
    """100% bars, one row per index entry (top to bottom); thin bars carry no text."""
    y = -np.arange(len(shares), dtype="float64")
    if len(shares) == 0 or shares.isna().all(axis=None):
        # a panel whose bars are all suppressed has data: it is hidden, not absent
        hidden_only = suppressed is not None and len(shares) > 0 and bool(suppressed.any())
        _no_data(ax, language, text=term("figures.suppressed", language) if hidden_only else None)
    left = np.zeros(len(shares))
    height = 0.9 if thin else 0.65
    for expectation in expectations:
        width = shares[expectation].fillna(0).to_numpy(dtype="float64")
        ax.barh(y, width, left=left, height=height, color=colours[expectation], edgecolor="white", linewidth=0.3 if thin else 0.6)
        if not thin:
            centre = left + width / 2
            for yy, xx, ww in zip(y, centre, width):
                if ww >= 0.12:
                    ax.text(xx, yy, f"{ww:.0%}", ha="center", va="center", fontsize=7, color=_contrast(colours[expectation]))
        left = left + width
    if not thin:
        from matplotlib.transforms import blended_transform_factory

        beside = blended_transform_factory(ax.transAxes, ax.transData)
        hidden = np.zeros(len(shares), dtype=bool) if suppressed is None else suppressed.to_numpy(dtype=bool)
        for yy, total, share_row, secret in zip(y, totals.to_numpy(dtype="float64"), shares.isna().all(axis=1), hidden):
            if secret:
                text = term("figures.suppressed", language)
            else:
                text = term("figures.no_data", language) if (share_row or not np.isfinite(total) or total == 0) else f"n = {int(total)}"
            ax.text(1.02, yy, text, transform=beside, va="center", ha="left", fontsize=7.5, color=_TEXT_GREY)
    ax.set_ylim(y.min() - 0.6 if len(y) else -0.6, 0.6)


def _contrast(colour: str) -> str:
    """Black or white text, whichever reads better on ``colour`` (relative luminance, WCAG 2)."""
    from matplotlib.colors import to_rgb

    channels = np.array(to_rgb(colour))
    linear = np.where(channels <= 0.03928, channels / 12.92, ((channels + 0.055) / 1.055) ** 2.4)
    luminance = float(linear @ np.array([0.2126, 0.7152, 0.0722]))
    return OKABE_ITO["black"] if luminance > 0.179 else "white"


def _percent_formatter():
    from matplotlib import ticker

    return ticker.PercentFormatter(xmax=1.0, decimals=0)
