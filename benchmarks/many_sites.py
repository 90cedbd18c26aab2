"""Many sites: does the mixed-model cross-case step scale with the data (10x the sites -> at most 11x the time)?

Above ``MANY_CASES`` (8) cases `ponzoni_eval.stats.mixed_model` compares each case
with the mean change of all cases (k tests) instead of every pair (k (k - 1) / 2),
so its time should grow about linearly with the number of sites. This script
simulates scale scores for 30 and 300 sites (25 participants each, waves
t0/t1/t2, two roles), times the model with the default comparisons (best of
three, fresh data each size) and, for contrast, with all pairs at 300 sites,
and writes ``benchmarks/many_sites.md``.

    python benchmarks/many_sites.py            # ~1-2 minutes on a free core
    python benchmarks/many_sites.py --sizes 3,30 --out /tmp/m.md

Timing is wall-clock on a shared machine: the load average is recorded.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "benchmarks" / "many_sites.md"
TEN_X_TIME_RATIO = 11.0
PER_SITE = 25
SEED = 300


def scores(n_sites: int, seed: int = SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_sites * PER_SITE
    site = np.repeat([f"site_{i:03d}" for i in range(n_sites)], PER_SITE)
    change = np.repeat(rng.normal(0.4, 0.2, n_sites), PER_SITE)
    role = np.where(rng.random(n) < 0.5, "professional", "migrant_org")
    person = rng.normal(0, 0.6, n)
    frames = []
    for wave, position in (("t0", 0.0), ("t1", 0.5), ("t2", 1.0)):
        value = np.clip(np.rint((2.8 + person + change * position + rng.normal(0, 0.5, n)) * 4) / 4, 1, 5)
        frames.append(pd.DataFrame({"participant_id": [f"p{i}" for i in range(n)], "case_id": site, "role": role,
                                    "wave": wave, "scale": "trust", "value": value}))
    frame = pd.concat(frames, ignore_index=True)
    frame["wave"] = pd.Categorical(frame["wave"], categories=["t0", "t1", "t2"], ordered=True)
    return frame


def best_of(function, repeats: int = 3) -> tuple[float, pd.DataFrame]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


NOTE = (
    "Above MANY_CASES (8) cases each case is compared with the mean change of all cases (300 rows instead of 44 850 "
    "pairs), and the random-intercept fit runs in cell-means coding (one coefficient per case x wave cell plus role): "
    "participants belong to one case, so X'V^-1X is block diagonal by case with a role border, and its factorisation, "
    "solves and traces (Schur complement, `_Blocks` in stats/mixed.py) cost O(cases) instead of O(coefficients^3); "
    "the coefficients are mapped back to the formula's coding (the same numbers as the dense fit, "
    "tests/stats/test_many_sites.py). What is left of the superlinear part: the Satterthwaite pieces and the F tests "
    "still handle dense p x p covariance matrices (p = 3 k) a few times, and the all-pairs table on request."
)


def main(argv=None) -> int:
    from ponzoni_eval.stats import kruskal_dunn, mixed_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="30,300", help="two site counts, the second 10x the first")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    small, large = (int(x) for x in args.sizes.split(","))
    load = os.getloadavg()[0]
    rows = []
    seconds = {}
    for n_sites in (small, large):
        data = scores(n_sites)
        seconds[n_sites], result = best_of(lambda: mixed_model(data, outcome="trust"))
        kinds = result["effect_name"].value_counts()
        rows.append((f"mixed_model trust, {n_sites} sites (default comparisons)", f"{seconds[n_sites]:.2f} s",
                     f"{kinds.get('change_deviation', 0)} case-vs-mean rows, {kinds.get('change_difference', 0)} pair rows"))
    ratio = seconds[large] / seconds[small]
    rows.append((f"time ratio {small} -> {large} sites", f"{ratio:.2f}x",
                 f"target <= {TEN_X_TIME_RATIO:.0f}x: {'PASS' if ratio <= TEN_X_TIME_RATIO else 'MISS'}"))
    rank_seconds = {}
    for n_sites in (small, large):
        data = scores(n_sites)
        wide = data.pivot_table(index=["participant_id", "case_id"], columns="wave", values="value", observed=True)
        change = (wide["t2"] - wide["t0"]).rename("value").reset_index().assign(scale="trust")
        rank_seconds[n_sites], result = best_of(lambda: kruskal_dunn(change, outcome="trust"))
        rows.append((f"kruskal_dunn trust, {n_sites} sites (default comparisons)", f"{rank_seconds[n_sites]:.2f} s",
                     f"{int((result['test'] == 'dunn').sum())} Dunn rows (case vs rest above 8 cases)"))
    rank_ratio = rank_seconds[large] / rank_seconds[small]
    rows.append((f"kruskal_dunn time ratio {small} -> {large} sites", f"{rank_ratio:.2f}x",
                 f"target <= {TEN_X_TIME_RATIO:.0f}x: {'PASS' if rank_ratio <= TEN_X_TIME_RATIO else 'MISS'}"))
    total = (seconds[large] + rank_seconds[large]) / (seconds[small] + rank_seconds[small])
    rows.append((f"cross-case step (mixed model + Kruskal-Wallis/Dunn) ratio {small} -> {large} sites", f"{total:.2f}x",
                 f"target <= {TEN_X_TIME_RATIO:.0f}x: {'PASS' if total <= TEN_X_TIME_RATIO else 'MISS'}"))
    data = scores(large)
    pairs_seconds, result = best_of(lambda: mixed_model(data, outcome="trust", comparisons="pairs"), repeats=1)
    rows.append((f"mixed_model trust, {large} sites, comparisons='pairs' (on request)", f"{pairs_seconds:.2f} s",
                 f"{int((result['effect_name'] == 'change_difference').sum())} pair rows"))
    lines = [
        "# Many sites: the cross-case step (mixed model, Kruskal-Wallis/Dunn)",
        "",
        f"`python benchmarks/many_sites.py` on {platform.machine()}, Python {platform.python_version()}, "
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; load average at the start {load:.1f} (shared machine); "
        f"best of 3 runs; {PER_SITE} participants per site, 3 waves, seed {SEED}.",
        "",
        "| figure | value | note |",
        "|---|---:|---|",
        *[f"| {a} | {b} | {c} |" for a, b, c in rows],
        "",
        NOTE,
        "",
    ]
    text = "\n".join(lines)
    args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
