"""Type-I error of the mixed model's t and F tests with Satterthwaite vs Kenward-Roger df (issue 17, item 1).

Usage: ``uv run python benchmarks/calibrate_kenward_roger.py [reps] [n per case ...]`` (default 300 reps,
n = 10 and 20). Simulated data: the survey generator of `benchmarks/calibrate.py` (three cases, two roles,
Likert item means, 10% dropout by t1 and 20% by t2, random intercept, no change: the null), with a fixed
number of participants per case. Every data set is fitted once per ddf method; counted are the per-case
t0 -> t2 change t tests, the pairwise differences of change, and the type III F tests (wave, case,
wave x case). Seeded: replicate r of size n uses ``numpy.random.default_rng([SEED, n, r])``.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import calibrate  # noqa: E402

SEED = 172017


class _FixedSize:
    """A numpy Generator whose draw of the case size (``integers(10, 41)`` in `calibrate.simulate_survey`) is n."""

    def __init__(self, rng: np.random.Generator, n: int):
        self.rng, self.n = rng, n

    def integers(self, low, high=None, *args, **kwargs):
        return self.n if (low, high) == (10, 41) else self.rng.integers(low, high, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.rng, name)


def one(n: int, rep: int) -> dict[tuple[str, str], bool]:
    from ponzoni_eval.stats.mixed import mixed_model

    scores = calibrate.simulate_survey(_FixedSize(np.random.default_rng([SEED, n, rep]), n), change=(0.0, 0.0, 0.0),
                                       slope_sd=0.0, ar1=0.0)
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for ddf in ("satterthwaite", "kenward-roger"):
            res = mixed_model(scores, outcome="trust", ddf=ddf)
            for _, row in res.iterrows():
                if row["test"] == "contrast" and np.isfinite(row["p_value"]):
                    key = "change per case" if row["effect_name"] == "change" else "case difference in change"
                    out.setdefault((ddf, key), []).append(row["p_value"] < 0.05)
                elif row["test"] == "f_test" and np.isfinite(row["p_value"]):
                    out.setdefault((ddf, f"F {row['group']}"), []).append(row["p_value"] < 0.05)
    return out


OUT = Path(__file__).resolve().parent / "calibration-kenward-roger.md"
METHODS = ("change per case", "case difference in change", "F wave", "F case", "F wave x case")


def main(reps: int = 300, sizes=(10, 20)) -> None:
    lines = [
        "## Kenward-Roger vs Satterthwaite df (random intercept, `mixed_model(ddf=...)`)",
        "",
        f"`benchmarks/calibrate_kenward_roger.py {reps} {' '.join(map(str, sizes))}` (writes this section to "
        "`benchmarks/calibration-kenward-roger.md`; `make calibrate` copies it here). The survey generator above "
        "with a fixed n per case (three cases, two roles, dropout 10% by t1 and 20% by t2, so the design is "
        "unbalanced), random intercept, no change (the null); every data set fitted with both df methods. "
        "Type-I error at alpha .05 (`tests` = tests counted).",
        "",
        "| n per case | data sets | test | tests | Satterthwaite | Kenward-Roger |",
        "|---:|---:|---|---:|---:|---:|",
    ]
    for n in sizes:
        start = time.perf_counter()
        counts: dict = {}
        for rep in range(reps):
            for key, values in one(n, rep).items():
                counts.setdefault(key, []).extend(values)
        seconds = time.perf_counter() - start
        print(f"n = {n} per case, {reps} data sets, {seconds:.0f} s", flush=True)
        for method in METHODS:
            sat, kr = counts.get(("satterthwaite", method), []), counts.get(("kenward-roger", method), [])
            print(f"  {method:28s} tests {len(kr):4d}  Satterthwaite {np.mean(sat):.3f}  Kenward-Roger {np.mean(kr):.3f}",
                  flush=True)
            lines.append(f"| {n} | {reps} | {method} | {len(kr)} | {np.mean(sat):.3f} | {np.mean(kr):.3f} |")
    OUT.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    sizes = tuple(int(x) for x in sys.argv[2:]) or (10, 20)
    main(reps, sizes)
