"""Issue 17, item 4: omega named exactly (model-implied and observed variance) with a bootstrap CI, Heywood
flags, Spearman-Brown for 2-item scales, ordinal alpha from polychoric correlations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from ponzoni_eval import stats
from ponzoni_eval.stats import scale_reliability


def survey(values: np.ndarray, low=-100, high=100):
    n, k = values.shape
    items = [f"i{j}" for j in range(k)]
    instrument = pd.DataFrame({"item_id": items, "scale": "scale", "response_min": low, "response_max": high,
                               "reverse_coded": False, "roles": "professional"})
    people = [f"s{i:03d}" for i in range(n)]
    participants = pd.DataFrame({"participant_id": people, "case_id": "c1", "role": "professional"})
    responses = pd.DataFrame(values, columns=items).assign(participant_id=people).melt(
        id_vars="participant_id", var_name="item_id", value_name="value").assign(wave="t0")
    return responses.astype({"value": float}), instrument, participants


def exact_covariance_sample(covariance: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """n rows whose sample covariance (ddof 1) equals `covariance` exactly."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, covariance.shape[0]))
    z -= z.mean(axis=0)
    z = z @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False))).T  # whitened: sample covariance = I
    return 3 + z @ np.linalg.cholesky(covariance).T


def test_both_omegas_equal_the_population_value_when_one_factor_fits_exactly():
    loadings = np.array([0.8, 0.7, 0.6, 0.5]) * np.array([1.0, 1.2, 0.9, 1.1])
    uniqueness = np.array([0.36, 0.5, 0.4, 0.6])
    sigma = np.outer(loadings, loadings) + np.diag(uniqueness)
    values = exact_covariance_sample(sigma, 60)
    res = stats.reliability(*survey(values), by=None).set_index("test")
    expected = loadings.sum() ** 2 / (loadings.sum() ** 2 + uniqueness.sum())
    assert res.loc["omega_total", "effect_size"] == pytest.approx(expected, abs=1e-6)
    assert res.loc["omega_total_observed", "effect_size"] == pytest.approx(expected, abs=1e-6)
    assert res.loc["omega_total", "effect_name"] == "omega_total_model_implied"
    assert res.loc["omega_total_observed", "effect_name"] == "omega_total_observed_variance"


def test_observed_variance_omega_differs_when_the_model_misfits_and_bootstrap_ci_is_seeded():
    rng = np.random.default_rng(5)
    factor = rng.normal(size=(40, 1))
    values = factor @ np.array([[0.9, 0.8, 0.3, 0.2]]) + rng.normal(0, 0.6, (40, 4))
    values[:, 3] += 0.8 * values[:, 2]  # a correlated residual: one factor misfits
    data = survey(values)
    res = stats.reliability(*data, by=None, n_boot=150, seed=4).set_index("test")
    again = stats.reliability(*data, by=None, n_boot=150, seed=4).set_index("test")
    common = None
    for test in ("omega_total", "omega_total_observed"):
        row = res.loc[test]
        assert row["ci_low"] < row["effect_size"] < row["ci_high"]
        assert row["ci_low"] == again.loc[test, "ci_low"]
        assert "percentile bootstrap of participants, B = 150" in row["note"]
    # observed = model x (implied total variance / observed total variance)
    covariance = np.cov(values, rowvar=False)
    lam, psi, _ = scale_reliability._one_factor_ml(np.corrcoef(values, rowvar=False))
    sd = values.std(axis=0, ddof=1)
    common = (lam * sd).sum() ** 2
    assert res.loc["omega_total_observed", "effect_size"] == pytest.approx(common / covariance.sum(), rel=1e-10)
    assert res.loc["omega_total", "effect_size"] == pytest.approx(common / (common + (psi * sd**2).sum()), rel=1e-10)
    assert abs(res.loc["omega_total_observed", "effect_size"] - res.loc["omega_total", "effect_size"]) > 1e-3


def test_heywood_case_is_flagged():
    # x1 = a + b, x2 ~ a, x3 ~ b with a, b independent: r23 ~ 0, so the just-identified one-factor solution
    # needs lambda_1^2 = r12 r13 / r23 > 1 and the uniqueness of x1 hits its bound.
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=30), rng.normal(size=30)
    values = np.column_stack([a + b, a + rng.normal(0, 0.5, 30), b + rng.normal(0, 0.5, 30)])
    res = stats.reliability(*survey(values), by=None).set_index("test")
    assert "Heywood case" in res.loc["omega_total", "note"]
    assert "just identified" in res.loc["omega_total", "note"]


def test_two_item_scale_gets_spearman_brown_equal_to_standardized_alpha():
    import pingouin as pg

    rng = np.random.default_rng(2)
    base = rng.normal(size=50)
    values = np.column_stack([base + rng.normal(0, 0.7, 50), 2.5 * (base + rng.normal(0, 0.9, 50))])
    res = stats.reliability(*survey(values), by=None)
    row = res.set_index("test").loc["spearman_brown"]
    assert "cronbach_alpha" not in set(res["test"])
    r = np.corrcoef(values, rowvar=False)[0, 1]
    assert row["effect_size"] == pytest.approx(2 * r / (1 + r), rel=1e-12)
    standardized = pd.DataFrame((values - values.mean(0)) / values.std(0, ddof=1))
    assert row["effect_size"] == pytest.approx(pg.cronbach_alpha(standardized)[0], rel=1e-10)
    z = sps.norm.ppf(0.975) / np.sqrt(47)
    low = np.tanh(np.arctanh(r) - z)
    assert row["ci_low"] == pytest.approx(2 * low / (1 + low), rel=1e-12)


def bivariate_table(rho, a, b, total=1000.0):
    grid_a, grid_b = np.concatenate([[-10], a, [10]]), np.concatenate([[-10], b, [10]])
    points = np.array(np.meshgrid(grid_a, grid_b, indexing="ij")).reshape(2, -1).T
    cdf = sps.multivariate_normal([0, 0], [[1, rho], [rho, 1]]).cdf(points).reshape(len(grid_a), len(grid_b))
    return total * (cdf[1:, 1:] - cdf[:-1, 1:] - cdf[1:, :-1] + cdf[:-1, :-1])


@pytest.mark.parametrize("rho", [0.0, 0.35, 0.7, -0.5])
def test_polychoric_recovers_rho_from_a_population_table(rho):
    # Cell proportions of a discretized bivariate normal (thresholds -1, 0, 0.8 and -0.5, 0.6): the two-step
    # ML estimate (Olsson 1979) equals the generating rho, because the marginal thresholds are exact.
    table = bivariate_table(rho, np.array([-1.0, 0.0, 0.8]), np.array([-0.5, 0.6]))
    estimate, _ = scale_reliability.polychoric_table(table)
    assert estimate == pytest.approx(rho, abs=1e-6)


def test_ordinal_alpha_row_and_invariance_reason():
    rng = np.random.default_rng(8)
    latent = rng.normal(size=(80, 1)) @ np.full((1, 4), 0.7) + rng.normal(0, 0.7, (80, 4))
    values = np.digitize(latent, [-1.0, -0.3, 0.4, 1.1]) + 1
    res = stats.reliability(*survey(values), by=None, ordinal=True, invariance=True).set_index("test")
    ordinal = res.loc["ordinal_alpha", "effect_size"]
    # Polychoric correlations exceed the Pearson correlations of the coarse items, so ordinal alpha > alpha.
    assert ordinal > res.loc["cronbach_alpha", "effect_size"]
    k = 4
    matrix = np.eye(k)
    for i in range(k):
        for j in range(i + 1, k):
            matrix[i, j] = matrix[j, i] = scale_reliability.polychoric(values[:, i], values[:, j])[0]
    assert ordinal == pytest.approx(k / (k - 1) * (1 - k / matrix.sum()), rel=1e-12)
    assert "not tested" in res.loc["measurement_invariance", "note"] and "Meade & Bauer" in res.loc["measurement_invariance", "note"]
