"""Coverage and type-I error of the nonparametric methods of issue 17 (numbers in docs/calibration-nonparametric.md).

Run: ``.tools/bin/uv run --locked --no-sync python benchmarks/calibrate_nonparametric.py [reps]``.
Seeded; prints one table per study. Not part of ``make test`` (a reduced check is in
tests/stats/test_nonparametric_calibration.py).
"""

from __future__ import annotations

import sys

import numpy as np
from scipy import stats as sps

from ponzoni_eval.stats import paired, ranks


def rank_biserial_coverage(n: int, shift: float, reps: int, seed: int, n_boot: int = 2000) -> dict[str, float]:
    """Coverage of the matched-pairs rank-biserial CIs for normal differences (mean shift, SD 1).

    The target is the large-sample value of r, 2 P(D_i + D_j > 0) - 1 = 2 Phi(sqrt(2) shift) - 1.
    """
    rng = np.random.default_rng(seed)
    truth = 2 * sps.norm.cdf(np.sqrt(2) * shift) - 1
    hit = {"fisher_z": 0, "bca": 0}
    for rep in range(reps):
        d = rng.normal(shift, 1, n)
        m = d.size
        v = float(sps.rankdata(np.abs(d))[d > 0].sum())
        _, low, high = paired._rank_biserial(v, m)
        hit["fisher_z"] += low <= truth <= high
        low, high = paired._rank_biserial_bca(d, n_boot=n_boot, seed=seed + rep)
        hit["bca"] += low <= truth <= high
    return {k: v / reps for k, v in hit.items()}


def mann_whitney_coverage(n: int, shift: float, reps: int, seed: int, n_boot: int = 2000) -> dict[str, float]:
    """Coverage of the BCa CI of the two-sample rank-biserial r = 2 P(X > Y) - 1 (normal, SD 1)."""
    rng = np.random.default_rng(seed)
    truth = 2 * sps.norm.cdf(shift / np.sqrt(2)) - 1
    hit = 0
    for rep in range(reps):
        x, y = rng.normal(shift, 1, n), rng.normal(0, 1, n)
        low, high = ranks._two_sample_r_bca(x, y, n_boot=n_boot, seed=seed + rep)
        hit += low <= truth <= high
    return {"bca": hit / reps}


def wilcoxon_type_one(n: int, reps: int, seed: int) -> dict[str, float]:
    """Type-I error at .05 of the exact conditional and R-style Wilcoxon p on Likert-like null differences."""
    rng = np.random.default_rng(seed)
    reject = {"exact_conditional": 0, "r": 0}
    for _ in range(reps):
        # difference of two 4-item 5-point means: quarter-point steps, symmetric about 0, many ties
        d = (rng.integers(1, 6, (n, 4)).mean(axis=1) - rng.integers(1, 6, (n, 4)).mean(axis=1))
        for method in reject:
            p = paired._wilcoxon_signed_rank(d, method=method)["p"]
            reject[method] += bool(p < 0.05)
    return {k: v / reps for k, v in reject.items()}


def epsilon_squared_null(n_per_group: int, k: int, reps: int, seed: int) -> dict[str, float]:
    """Under the null: share of epsilon-squared CIs that contain 0, and the KW type-I error."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    contains, reject = 0, 0
    for rep in range(reps):
        values = rng.integers(-4, 5, n_per_group * k) / 4
        frame = pd.DataFrame({"case_id": np.repeat([f"c{i}" for i in range(k)], n_per_group), "scale": "s", "value": values})
        row = ranks.kruskal_dunn(frame, outcome="s", n_boot=1, seed=rep).iloc[0]
        contains += row["ci_low"] <= 0
        reject += row["p_value"] < 0.05
    return {"ci_contains_0": contains / reps, "type_one": reject / reps}


def imputation_coverage(n: int, dropout: float, reps: int, seed: int, m: int = 20) -> dict[str, float]:
    """Coverage of the 95% CI of the mean change by multiple imputation (and by complete cases) under MAR drop-out.

    t0 ~ N(3, 0.7); t2 = 0.5 + 0.85 t0 + 0.3 + N(0, 0.45): true mean change 0.35; the chance to drop out
    falls with the baseline (low scorers leave), about `dropout` on average.
    """
    import pandas as pd

    from ponzoni_eval import stats

    rng = np.random.default_rng(seed)
    truth = 0.5 + 0.3 - 0.15 * 3.0
    hits = {"multiple_imputation": 0, "complete_cases": 0}
    for rep in range(reps):
        t0 = rng.normal(3.0, 0.7, n)
        t2 = 0.5 + 0.85 * t0 + 0.3 + rng.normal(0, 0.45, n)
        leave = rng.random(n) < dropout * 2 * sps.norm.cdf(-(t0 - 3.0) / 0.7)
        rows = [dict(participant_id=f"p{i}", case_id="c", role="r", wave="t0", scale="s", value=t0[i]) for i in range(n)]
        rows += [dict(participant_id=f"p{i}", case_id="c", role="r", wave="t2", scale="s", value=t2[i]) for i in range(n) if not leave[i]]
        row = stats.pre_post_imputed(pd.DataFrame(rows), outcome="s", n_imputations=m, seed=rep).iloc[0]
        hits["multiple_imputation"] += row["ci_low"] <= truth <= row["ci_high"]
        d = (t2 - t0)[~leave]
        half = sps.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
        hits["complete_cases"] += abs(d.mean() - truth) <= half
    return {k: v / reps for k, v in hits.items()}


def weighted_kappa_coverage(n: int, weights: str, reps: int, seed: int, n_boot: int = 1000,
                            error_sd: float = 0.65) -> dict[str, float]:
    """Coverage of the jackknife-z, asymptotic and bootstrap CIs of weighted kappa; two coders rate a latent
    normal score with error SD `error_sd` (0.65: ratings correlate about .7) on a 5-point scale; the target is
    the kappa of the population table (computed from 2 x 10^6 draws)."""
    from ponzoni_eval.qual.intercoder import _kappa_from_table, _kappa_weight_matrix, weighted_kappa

    rng = np.random.default_rng(seed)
    cuts = [-1.2, -0.4, 0.4, 1.2]

    def draw(size):
        latent = rng.normal(size=size)
        return np.column_stack([np.digitize(latent + rng.normal(0, error_sd, size), cuts),
                                np.digitize(latent + rng.normal(0, error_sd, size), cuts)])

    big = draw(2_000_000)
    table = np.zeros((5, 5))
    np.add.at(table, (big[:, 0], big[:, 1]), 1.0)
    truth = _kappa_from_table(table, _kappa_weight_matrix(5, weights))[0]
    groups = [("jackknife_z", "ci=jackknife_z"), ("asymptotic", "ci=asymptotic")] + ([("bootstrap", "ci=bootstrap")] if n_boot else [])
    hits = {key: 0 for key, _ in groups}
    for rep in range(reps):
        res = weighted_kappa(draw(n), weights=weights, categories=range(5), n_boot=n_boot, seed=rep).set_index("group")
        for key, group in groups:
            hits[key] += res.loc[group, "ci_low"] <= truth <= res.loc[group, "ci_high"]
    return {k: v / reps for k, v in hits.items()} | {"truth": round(float(truth), 3)}


def main(reps: int = 1000) -> None:
    print(f"matched-pairs rank-biserial r, 95% CI coverage, normal differences, {reps} replications")
    for shift in (0.0, 0.5):
        for n in (10, 20, 35):
            print(f"  n = {n:2d}, d_z = {shift}:", rank_biserial_coverage(n, shift, reps, seed=17 + n))
    print(f"two-sample rank-biserial r (Mann-Whitney), BCa 95% CI coverage, {reps} replications")
    for shift in (0.0, 0.5):
        for n in (10, 20, 35):
            print(f"  n = {n:2d} per group, d = {shift}:", mann_whitney_coverage(n, shift, reps, seed=29 + n))
    print(f"Wilcoxon signed-rank type-I error at .05, Likert-like null differences, {reps} replications")
    for n in (10, 20, 35):
        print(f"  n = {n:2d}:", wilcoxon_type_one(n, reps, seed=41 + n))
    print(f"mean change under MAR drop-out (30%), 95% CI coverage, {reps} replications")
    for n in (20, 40):
        print(f"  n = {n:2d}:", imputation_coverage(n, 0.3, reps, seed=61 + n))
    print(f"Kruskal-Wallis under the null, 3 groups, {reps} replications")
    for n in (10, 20, 35):
        print(f"  n = {n:2d} per group:", epsilon_squared_null(n, 3, reps, seed=53 + n))


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[2] == "kappa":
        # ... 1000 kappa 0 [error SD]: no bootstrap (the jackknife-z and ASE rows only); default B = 1000, SD 0.65
        n_boot = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
        error_sd = float(sys.argv[4]) if len(sys.argv) > 4 else 0.65
        for weights in ("linear", "quadratic"):
            for n in (20, 40):
                print(f"  {weights}, n = {n}:", weighted_kappa_coverage(n, weights, int(sys.argv[1]), seed=71 + n,
                                                                       n_boot=n_boot, error_sd=error_sd), flush=True)
    elif len(sys.argv) > 2 and sys.argv[2] == "imputation":
        for n in (20, 40):
            print(f"  n = {n:2d}:", imputation_coverage(n, 0.3, int(sys.argv[1]), seed=61 + n))
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
