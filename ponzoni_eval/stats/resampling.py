"""Exact permutation distributions of rank statistics and bootstrap intervals shared by the rank tests.

- `exact_shift_distribution`: null distribution of a sum of independent terms
  0 or s_i (the signed-rank statistic given its mid-ranks);
- `exact_rank_sum_distribution`: null distribution of the sum of n1 of N
  scores drawn without replacement (the rank-sum statistic given its mid-ranks);
- `bca_interval`: Efron's bias-corrected and accelerated bootstrap interval;
- `rank_rows`: mid-ranks of every row of a matrix.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as sps

from ponzoni_eval._core.errors import DataError
from ponzoni_eval.stats.constants import ALTERNATIVES, CI_LEVEL

__all__ = [
    "check_alternative",
    "one_or_two_sided",
    "exact_shift_distribution",
    "exact_rank_sum_distribution",
    "bca_interval",
    "rank_rows",
]


def check_alternative(alternative: str) -> str:
    if alternative not in ALTERNATIVES:
        raise DataError("unknown alternative", expected=", ".join(ALTERNATIVES), found=alternative, rule="argument")
    return alternative


def one_or_two_sided(p_greater: float, p_less: float, alternative: str) -> float:
    """p of the alternative from the two one-sided tail probabilities (two-sided: twice the smaller, at most 1)."""
    if alternative == "greater":
        return float(min(1.0, p_greater))
    if alternative == "less":
        return float(min(1.0, p_less))
    return float(min(1.0, 2.0 * min(p_greater, p_less)))


def exact_shift_distribution(steps: np.ndarray) -> np.ndarray:
    """P(S = s), s = 0..sum(steps), for S = sum of independent terms each 0 or steps[i] with probability 1/2.

    With ``steps`` the doubled mid-ranks (integers) of the non-zero
    differences, S is twice the signed-rank statistic V under the
    sign-flipping null, ties included (Lehmann 1975, sec. 3.2).
    """
    total = int(np.sum(steps))
    probability = np.zeros(total + 1)
    probability[0] = 1.0
    reach = 0
    for step in np.sort(np.asarray(steps, dtype=np.int64)):
        shifted = np.zeros_like(probability)
        shifted[step: reach + step + 1] = probability[: reach + 1]
        probability = 0.5 * probability + 0.5 * shifted
        reach += int(step)
    return probability


def exact_rank_sum_distribution(scores: np.ndarray, n1: int) -> np.ndarray:
    """P(T = t), t = 0..sum(scores), for T = the sum of n1 scores drawn without replacement from ``scores``.

    With ``scores`` the doubled mid-ranks (integers) of the pooled sample, T is
    twice the rank sum of group 1 under the permutation null, ties included.
    Counts by dynamic programming over (items chosen, sum) in log-free
    floating point, normalised by C(N, n1).
    """
    scores = np.asarray(scores, dtype=np.int64)
    total = int(scores.sum())
    count = np.zeros((n1 + 1, total + 1))
    count[0, 0] = 1.0
    for score in scores:
        # take this score: chosen j -> j + 1, sum s -> s + score (descending j so each is used once)
        count[1:, score:] += count[:-1, : total + 1 - score]
    return count[n1] / math.comb(len(scores), n1)


def rank_rows(values: np.ndarray) -> np.ndarray:
    """Mid-ranks of each row of a 2-D array (ties get the average rank)."""
    return sps.rankdata(values, axis=1)


def bca_interval(observed: float, replicates: np.ndarray, jackknife: np.ndarray, level: float = CI_LEVEL) -> tuple[float, float]:
    """Bias-corrected and accelerated bootstrap interval (Efron 1987; Efron & Tibshirani 1993, ch. 14).

    z0 = Phi^-1(share of replicates below the estimate, ties counted half);
    a = sum(d^3) / (6 (sum d^2)^1.5), d = mean(jackknife) - jackknife;
    the limits are the replicate quantiles at
    Phi(z0 + (z0 + z_q) / (1 - a (z0 + z_q))) for q = (1 - level)/2, (1 + level)/2.
    Replicates that are not finite are left out. Returns NaNs when the
    replicates do not vary (the interval is then undefined).
    """
    finite = replicates[np.isfinite(replicates)]
    if len(finite) < 2 or np.ptp(finite) == 0:
        return float("nan"), float("nan")
    below = (np.sum(finite < observed) + 0.5 * np.sum(finite == observed)) / len(finite)
    below = min(max(below, 0.5 / len(finite)), 1 - 0.5 / len(finite))
    z0 = float(sps.norm.ppf(below))
    jack = jackknife[np.isfinite(jackknife)]
    d = jack.mean() - jack if len(jack) else np.zeros(1)
    denominator = 6.0 * float(np.sum(d**2)) ** 1.5
    a = float(np.sum(d**3)) / denominator if denominator > 0 else 0.0
    tail = (1 - level) / 2
    limits = []
    for q in (tail, 1 - tail):
        zq = float(sps.norm.ppf(q))
        shifted = z0 + (z0 + zq) / (1 - a * (z0 + zq))
        limits.append(float(np.quantile(finite, sps.norm.cdf(shifted))))
    return limits[0], limits[1]
