"""Weighted-kappa CI candidates compared before choosing the jackknife Fisher-z interval (issue 17 leftovers).

Usage: `uv run python benchmarks/kappa_ci_candidates.py 1000` (the design of `calibrate_nonparametric.weighted_kappa_coverage`,
same seeds); numbers in docs/calibration-nonparametric.md.
"""
import numpy as np, sys
from scipy import stats
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
from ponzoni_eval.qual.intercoder import _kappa_from_table, _kappa_weight_matrix
reps = int(sys.argv[1])
cuts = [-1.2, -0.4, 0.4, 1.2]
for weights in ("linear", "quadratic"):
    w = _kappa_weight_matrix(5, weights)
    for n in (20, 40):
        rng = np.random.default_rng(71 + n)
        def draw(size):
            latent = rng.normal(size=size)
            return np.column_stack([np.digitize(latent + rng.normal(0, 0.65, size), cuts),
                                    np.digitize(latent + rng.normal(0, 0.65, size), cuts)])
        big = draw(2_000_000); t = np.zeros((5, 5)); np.add.at(t, (big[:, 0], big[:, 1]), 1.0)
        truth = _kappa_from_table(t, w)[0]
        hits = {}
        def hit(k, lo, hi):
            hits[k] = hits.get(k, 0) + (lo <= truth <= hi)
        z = stats.norm.ppf(.975); tq = stats.t.ppf(.975, n - 1)
        for rep in range(reps):
            r = draw(n); tab = np.zeros((5, 5)); np.add.at(tab, (r[:, 0], r[:, 1]), 1.0)
            k, se, se0, po, pe = _kappa_from_table(tab, w)
            if not np.isfinite(k): continue
            hit("wald", k - z * se, k + z * se)
            hit("wald_t", k - tq * se, k + tq * se)
            hit("wald_t_n/(n-1)", k - tq * se*np.sqrt(n/(n-1)), k + tq * se*np.sqrt(n/(n-1)))
            kk = min(k, 0.999999)
            zc = np.arctanh(kk); sz = se / (1 - kk**2)
            hit("fisher_z", np.tanh(zc - z * sz), np.tanh(zc + z * sz))
            hit("fisher_z_t", np.tanh(zc - tq * sz), np.tanh(zc + tq * sz))
            # jackknife
            jk = []
            for i in range(n):
                tb = tab.copy(); tb[r[i, 0], r[i, 1]] -= 1
                jk.append(_kappa_from_table(tb, w)[0])
            jk = np.array(jk)
            if np.all(np.isfinite(jk)):
                sej = np.sqrt((n - 1) / n * np.sum((jk - jk.mean())**2))
                hit("jack_t", k - tq * sej, k + tq * sej)
                zj = np.arctanh(np.minimum(jk, .999999)); sezj = np.sqrt((n - 1) / n * np.sum((zj - zj.mean())**2))
                hit("jack_fisher_z_t", np.tanh(zc - tq * sezj), np.tanh(zc + tq * sezj))
        print(weights, n, round(truth, 3), {k: round(v / reps, 3) for k, v in hits.items()}, flush=True)
