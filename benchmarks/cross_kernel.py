"""How much do the fitted analyses differ between BLAS kernels (another CPU)?

Iterative fits stop at a tolerance; if that tolerance is loose, the last
rounding differences of the BLAS kernel (another CPU, another OpenBLAS
build) move the point where they stop, and the reproducibility check
(``ponzoni-eval verify``) fails on another machine. OpenBLAS picks its kernel
by CPU at load time and honours ``OPENBLAS_CORETYPE``, so another machine can
be simulated on this one::

    python benchmarks/cross_kernel.py                       # default kernel vs Prescott
    python benchmarks/cross_kernel.py --coretypes default,Prescott,Haswell
    python benchmarks/cross_kernel.py --keep /tmp/xk         # keep the parquet files
    python benchmarks/cross_kernel.py --compare /tmp/a/default /tmp/b/default   # two stored runs

Each kernel runs in its own child process (``--worker``), which fits on the
processed example data (``make processed``) what the report fits, as
`ponzoni_eval.analyses` calls it:

- ``mixed_model``: `stats.mixed_model` for every scale measured at t0 and t2;
- ``marginal_means``: `stats.marginal_means` for the same scales;
- ``ordinal_model``: `stats.ordinal_model` for every ordinal item;
- ``its``: `timeseries.interrupted_time_series`;
- ``its_case_differences``: `timeseries.its_case_differences`;
- ``its_trajectories``: `timeseries.its_trajectories`;
- ``reliability``: `stats.reliability` per case and wave (omega from an iterative one-factor ML fit);

and saves every result to ``<name>.parquet``, with the BLAS kernel that ran
(threadpoolctl) and convergence figures in ``meta.json``: for the mixed model
|d(-2 l)/d log gamma| at the reported variance ratio (the profiled criterion's
slope, computed densely here, independently of the fit), for the count models
the largest |score| of the log-likelihood at the reported parameters.

The parent prints, per analysis and numeric column, the largest relative
difference |a - b| / max(|a|, |b|) and the largest absolute difference
between the first kernel and each other one; text columns (notes) must be
equal and a differing row count or missing-value pattern is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
ANALYSES = ("mixed_model", "marginal_means", "ordinal_model", "its", "its_case_differences", "its_trajectories",
            "reliability")


# --- the child: fit everything under one kernel -------------------------------------------------


def _kernel() -> str:
    from threadpoolctl import threadpool_info

    return "; ".join(f"{i.get('internal_api')} {i.get('architecture')} ({Path(i['filepath']).name})" for i in threadpool_info())


def _mixed_slope(scores: pd.DataFrame, outcome: str) -> float | None:
    """|d(-2 l_REML)/d log gamma| at the fitted gamma, from dense matrices (independent of the fit's algebra).

    d(-2 l)/d gamma = tr(Z' P Z) - (N - p) ||Z' P y||^2 / (y' P y), P the REML projection.
    """
    from ponzoni_eval.stats import mixed

    fit = mixed._fit_mixed(scores, outcome=outcome, formula="value ~ C(wave) * C(case_id)", groups="participant_id",
                           role=True, reml=True, scale_column="scale")
    if isinstance(fit, str):
        return None
    import patsy

    data = fit.data
    y, x = patsy.dmatrices(fit.formula, data, return_type="matrix")
    x = np.asarray(x)[:, fit.kept]
    y = np.asarray(y).ravel()
    z = pd.get_dummies(data[fit.groups].astype(str)).to_numpy(dtype=float)
    gamma = float(fit.result.gamma)
    v_inv = np.linalg.inv(np.eye(len(y)) + gamma * z @ z.T)
    a = x.T @ v_inv @ x
    p_mat = v_inv - v_inv @ x @ np.linalg.solve(a, x.T @ v_inv)
    py = p_mat @ y
    dof = len(y) - x.shape[1]
    slope = np.trace(z.T @ p_mat @ z) - dof * float(np.sum((z.T @ py) ** 2)) / float(y @ py)
    return abs(gamma * slope)


def _count_scores(monthly: pd.DataFrame) -> dict[str, float]:
    """Largest |score| of each count model at its reported parameters (statsmodels' analytic scores)."""
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    from ponzoni_eval.stats import timeseries as ts

    rows = ts._its_design(ts._validate_monthly(monthly, ts.HELP_SEEKING_EVENT))
    fits = {f"its[{case}]": (ts._ITS_FORMULA, case_rows, ts._fit_case(case_rows, family="auto", exposure=None))
            for case, case_rows in rows.groupby("case_id", sort=True)}
    formula = "count ~ (time + post + time_since_start) * C(case_id)"
    fits["its_case_differences"] = (formula, rows, ts._fit_counts(formula, rows, family="auto", exposure=None))
    out = {}
    for name, (formula, data, fit) in fits.items():
        if isinstance(fit, str):
            continue
        if fit.family == "poisson":
            score = smf.glm(formula, data, family=sm.families.Poisson()).score(fit.params.to_numpy())
        else:
            model = smf.negativebinomial(formula, data, loglike_method="nb2")
            model._transparams = False  # a fresh model scores in log(alpha) until fitted; score in alpha
            score = model.score(np.append(fit.params.to_numpy(), fit.alpha))
        out[f"{name} ({fit.family})"] = float(np.max(np.abs(score)))
    return out


def worker(out: Path, data: Path) -> None:
    from ponzoni_eval.report import sections
    from ponzoni_eval import stats
    from ponzoni_eval.stats import timeseries
    from ponzoni_eval.stats import transforms
    from ponzoni_eval.data.processed import load_processed

    warnings.simplefilter("ignore")
    out.mkdir(parents=True, exist_ok=True)
    tables = load_processed(data)
    scores = sections.scores_for(tables)
    monthly = sections.monthly_for(tables)
    scales = sections._scales_at(scores, ["t0", "t2"])
    items = transforms.item_responses(tables["survey_responses"], tables["instrument"], tables["participants"], level="ordinal")
    item_ids = sorted(items["item_id"].astype(str).unique())
    results = {
        "mixed_model": pd.concat([stats.mixed_model(scores, outcome=s, before="t0", after="t2") for s in scales], ignore_index=True),
        "marginal_means": pd.concat([stats.marginal_means(scores, outcome=s) for s in scales], ignore_index=True),
        "ordinal_model": pd.concat([stats.ordinal_model(items, outcome_item=i) for i in item_ids], ignore_index=True),
        "its": timeseries.interrupted_time_series(monthly),
        "its_case_differences": timeseries.its_case_differences(monthly),
        "its_trajectories": timeseries.its_trajectories(monthly),
        "reliability": stats.reliability(tables["survey_responses"], tables["instrument"], tables["participants"],
                                         by=("case_id", "wave")),
    }
    for name, frame in results.items():
        frame.to_parquet(out / f"{name}.parquet")
    meta = {
        "kernel": _kernel(),
        "mixed_model |d(-2l)/dlog gamma|": {s: _mixed_slope(scores, s) for s in scales},
        "count models max |score|": _count_scores(monthly),
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=1))


# --- the parent: run the kernels, compare -------------------------------------------------------


def run_kernel(coretype: str, out: Path, data: Path) -> None:
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    if coretype != "default":
        env["OPENBLAS_CORETYPE"] = coretype
    subprocess.run([sys.executable, __file__, "--worker", str(out), "--data", str(data)], env=env, check=True, cwd=ROOT)


def _relative(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    scale = np.maximum(np.abs(a), np.abs(b))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(scale > 0, np.abs(a - b) / scale, 0.0)


def compare(first: Path, second: Path) -> pd.DataFrame:
    """Per analysis and numeric column: largest relative and absolute difference (NaN pairs skipped)."""
    rows = []
    for name in ANALYSES:
        if not (first / f"{name}.parquet").exists() or not (second / f"{name}.parquet").exists():
            continue
        a = pd.read_parquet(first / f"{name}.parquet")
        b = pd.read_parquet(second / f"{name}.parquet")
        if a.shape != b.shape or list(a.columns) != list(b.columns):
            rows.append(dict(analysis=name, column="(shape)", max_rel=np.nan, max_abs=np.nan, problem=f"{a.shape} vs {b.shape}"))
            continue
        for column in a.columns:
            if pd.api.types.is_numeric_dtype(a[column]) and not pd.api.types.is_bool_dtype(a[column]):
                x = a[column].to_numpy(dtype=float)
                y = b[column].to_numpy(dtype=float)
                both = np.isfinite(x) & np.isfinite(y)
                problem = "" if np.array_equal(np.isfinite(x), np.isfinite(y)) else "missing-value pattern differs"
                if not both.any():
                    continue
                rel, diff = _relative(x[both], y[both]), np.abs(x[both] - y[both])
                rows.append(dict(analysis=name, column=column, max_rel=float(rel.max()), max_abs=float(diff.max()), problem=problem))
            elif not a[column].astype(str).equals(b[column].astype(str)):
                differ = int((a[column].astype(str) != b[column].astype(str)).sum())
                rows.append(dict(analysis=name, column=column, max_rel=np.nan, max_abs=np.nan, problem=f"text differs in {differ} rows"))
    return pd.DataFrame(rows, columns=["analysis", "column", "max_rel", "max_abs", "problem"])


def _print_comparison(label: str, table: pd.DataFrame) -> None:
    print(f"\n== {label}")
    with pd.option_context("display.width", 160, "display.max_rows", 500, "display.float_format", "{:.2e}".format):
        print(table.to_string(index=False))
        print("\nlargest relative difference per analysis:")
        print(table.groupby("analysis", sort=False)["max_rel"].max().to_string())


def _print_meta(directory: Path) -> None:
    meta = json.loads((directory / "meta.json").read_text())
    print(f"\n-- {directory.name}: {meta['kernel']}")
    for key in ("mixed_model |d(-2l)/dlog gamma|", "count models max |score|"):
        values = {k: v for k, v in meta[key].items() if v is not None}
        print(f"   {key}: " + ", ".join(f"{k} {v:.1e}" for k, v in values.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--coretypes", default="default,Prescott", help="OPENBLAS_CORETYPE values; 'default' = unset")
    parser.add_argument("--data", default=str(ROOT / "data" / "processed"), help="processed tables (make processed)")
    parser.add_argument("--keep", help="directory for the results (default: a temporary one, removed)")
    parser.add_argument("--compare", nargs=2, metavar="DIR", help="only compare two stored result directories")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    data = Path(args.data)
    if args.worker:
        worker(Path(args.worker), data)
        return 0
    if args.compare:
        first, second = map(Path, args.compare)
        _print_comparison(f"{first} vs {second}", compare(first, second))
        return 0
    if not (data / "manifest.json").exists():
        print(f"no processed data in {data}: run `make processed` first", file=sys.stderr)
        return 2
    coretypes = [c.strip() for c in args.coretypes.split(",") if c.strip()]
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(args.keep) if args.keep else Path(scratch)
        for coretype in coretypes:
            run_kernel(coretype, base / coretype, data)
            _print_meta(base / coretype)
        for other in coretypes[1:]:
            _print_comparison(f"{coretypes[0]} vs {other}", compare(base / coretypes[0], base / other))
    return 0


if __name__ == "__main__":
    sys.exit(main())
