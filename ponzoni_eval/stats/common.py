"""Helpers shared by the model-based tests of `ponzoni_eval.stats` (outcome selection, levels, notes)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ponzoni_eval._core.errors import DataError, require_columns
from ponzoni_eval._core.results import result_frame


Z95 = 1.959963984540054  # standard normal 97.5% quantile


# --- shared helpers -----------------------------------------------------------


MANY_CASES = 8
"""Above this many cases, `ponzoni_eval.stats.mixed.mixed_model` and `ponzoni_eval.stats.timeseries.its_case_differences` compare
each case with the mean of all cases (k comparisons, Holm) instead of every pair (k (k - 1) / 2: 300
cases give 44 850 pairs, a table nobody reads, whose time grows with the square of the cases)."""

COMPARISONS = ("auto", "pairs", "mean")


def comparison_mode(comparisons: str, k: int) -> str:
    """``pairs`` or ``mean`` for `k` cases: ``auto`` is pairs up to `MANY_CASES` cases, else mean."""
    if comparisons not in COMPARISONS:
        raise ValueError(f"comparisons must be one of {COMPARISONS}, not {comparisons!r}")
    if comparisons == "auto":
        return "pairs" if k <= MANY_CASES else "mean"
    return comparisons



def select_outcome(frame: pd.DataFrame, *, column: str, outcome: str, table: str) -> pd.DataFrame:
    """Rows of one scale/item; an unknown outcome is a user error, named with the choices."""
    selected = frame.loc[frame[column] == outcome]
    if selected.empty:
        available = sorted(pd.unique(frame[column].dropna()).tolist())
        raise DataError(
            f"no rows with {column} = {outcome!r} in the {table} table",
            file=table,
            column=column,
            expected=f"one of {available}",
            found=outcome,
            rule="unknown_outcome",
        )
    return selected


def observed_levels(series: pd.Series) -> list:
    """Observed levels in their natural order (category order when categorical)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        observed = set(series.dropna().unique())
        return [c for c in series.cat.categories if c in observed]
    return sorted(series.dropna().unique().tolist())


def not_run_row(analysis: str, outcome: str, test: str, note: str, *, case_id: str = "all", n: int | None = None) -> pd.DataFrame:
    return result_frame([dict(analysis=analysis, case_id=case_id, outcome=outcome, test=test, n=n, note=note)])


def formula_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean "this formula does not fit this table" (unknown column, bad syntax)."""
    errors: list[type[BaseException]] = [KeyError, NameError, SyntaxError]
    try:
        from patsy import PatsyError

        errors.append(PatsyError)
    except ImportError:  # formulaic-only installations
        pass
    return tuple(errors)


def fit_warnings(caught: list[warnings.WarningMessage], result: Any = None) -> list[str]:
    """Unique warning messages of a fit, first line each, in the order they were raised.

    When ``result`` is given and converged (after `newton_polish`), the
    optimiser's convergence warnings are left out: they came from the
    quasi-Newton start (whose line search may end in "precision loss" on one
    BLAS kernel and not on another), and Newton confirmed the maximum.
    """
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    resolved = result is not None and bool(result.mle_retvals.get("converged", False))
    seen: dict[str, None] = {}
    for w in caught:
        if resolved and issubclass(w.category, ConvergenceWarning):
            continue
        seen.setdefault(str(w.message).strip().splitlines()[0], None)
    return list(seen)


def newton_polish(model, result, **fit_kwargs: Any):
    """Newton steps (analytic Hessian) from a quasi-Newton fit until a step is below 1e-10.

    BFGS stops at a gradient tolerance where the estimate is still about
    1e-8 from the maximum, and whether it reports convergence at all depends
    on the last bits of the BLAS kernel: near the optimum a line search can
    end with "precision loss" on one CPU and succeed on another, with the same
    log-likelihood to 12 digits. Newton converges quadratically, so after a
    step below 1e-10 the score is at rounding level on every CPU. The
    polished fit replaces the start when it converged, its log-likelihood is
    at least the start's (to 1e-9 relative) and its standard errors are
    finite; otherwise the start is returned unchanged, with its own
    convergence flag. So BFGS's flag alone never decides: a fit is converged
    when Newton confirms the maximum.

    Parameters
    ----------
    model : statsmodels ``LikelihoodModel``
        The model that was fitted.
    result : statsmodels results
        The fit to start from.
    **fit_kwargs
        Passed on to ``model.fit`` (e.g. ``disp=False``).
    """
    if not np.isfinite(result.llf):
        return result
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        try:
            polished = model.fit(start_params=np.asarray(result.params, dtype=float), method="newton", tol=1e-10,
                                 maxiter=50, **fit_kwargs)
        except (np.linalg.LinAlgError, ValueError):
            return result
    good = (polished.mle_retvals.get("converged", False) and np.isfinite(polished.llf)
            and polished.llf >= result.llf - 1e-9 * abs(result.llf) and np.all(np.isfinite(polished.bse)))
    return polished if good else result


def category_text(value: Any) -> str:
    """Answer categories as people write them: 3, not 3.0."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)



def join_notes(*parts: str | None) -> str:
    return "; ".join(p for p in parts if p)


def as_tuple(by: str | Sequence[str] | None) -> tuple[str, ...]:
    if by is None:
        return ()
    if isinstance(by, str):
        return (by,)
    return tuple(by)


def split_groups(frame: pd.DataFrame, by: tuple[str, ...]) -> Iterator[tuple[dict[str, Any], pd.DataFrame]]:
    """Subframes per combination of `by` (one group when `by` is empty)."""
    if not by:
        yield {}, frame
        return
    for keys, sub in frame.groupby(list(by), sort=True, observed=True, dropna=False):
        keys = keys if isinstance(keys, tuple) else (keys,)
        yield dict(zip(by, keys)), sub


def group_labels(analysis: str, keys: dict[str, Any], outcome: str, extra: str | None = None) -> dict[str, str]:
    case_id = str(keys["case_id"]) if "case_id" in keys else "all"
    parts = [f"{k}={v}" for k, v in keys.items() if k != "case_id"]
    if extra:
        parts.append(extra)
    return dict(analysis=analysis, case_id=case_id, group=", ".join(parts), outcome=outcome)


def scores_wide(
    scores: pd.DataFrame, *, scales: Sequence[str], waves: Sequence[str], by: tuple[str, ...], spread: str
) -> pd.DataFrame:
    """Scores of `scales` in `waves` with `spread` ("wave" or "scale") as columns (the paired and missing-data analyses').

    One row per participant x `by` (x wave when the scales are spread); a
    column is added, empty, for a wave or scale without any score.
    """
    require_columns(scores, ("participant_id", "wave", "scale", "value", *by), "scores")
    known = set(scores["scale"].astype(str))
    for scale in scales:
        if scale not in known:
            raise DataError(
                f"unknown scale {scale!r} in scores",
                file="scores",
                column="scale",
                expected=f"one of {sorted(known)}",
                found=scale,
                rule="known_scale",
            )
    keep = list(dict.fromkeys(["participant_id", *by, "wave", "scale", "value"]))
    frame = scores.loc[:, keep].copy()
    frame["wave"] = frame["wave"].astype(str)
    frame["scale"] = frame["scale"].astype(str)
    frame = frame[frame["scale"].isin(scales) & frame["wave"].isin(waves)]
    duplicated = frame.duplicated(["participant_id", "wave", "scale"])
    if duplicated.any():
        first = frame[duplicated].iloc[0]
        raise DataError(
            "more than one score for a participant, wave and scale",
            file="scores",
            found=f"{first['participant_id']}, {first['wave']}, {first['scale']}",
            rule="unique_key",
        )
    index = list(dict.fromkeys(["participant_id", *by, *(["wave"] if spread == "scale" else [])]))
    wide = frame.set_index([*index, spread])["value"].unstack(spread)
    wide.columns.name = None
    wide = wide.reset_index()
    for column in (waves if spread == "wave" else scales):
        if column not in wide.columns:
            wide[column] = np.nan
    return wide
