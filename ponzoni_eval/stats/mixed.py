"""Cross-case comparison with a linear mixed model: did the cases change by different amounts?

- `mixed_model`: a wave x case linear mixed model on scale scores with a
  random intercept per participant (default), or a random slope of wave, an
  unstructured covariance over waves (MMRM), an LRT choice between intercept
  and slope (`STRUCTURES`), an organisation variance component and wave x
  case x role terms as options; the t0 -> t2 change per case and the
  differences of that change between cases, in the standard result shape
  (`ponzoni_eval._core.results`).
  Tests use Satterthwaite df (default) or Kenward-Roger (``ddf``).
- `marginal_means`: estimated marginal means per case x wave from the mixed
  model, as a tidy frame for trajectory figures (not a test; no result shape).

The other cross-case tests are `ponzoni_eval.stats.ranks.kruskal_dunn`
(rank-based) and `ponzoni_eval.stats.ordinal.ordinal_model` (one Likert item).

Samples in these case studies are small (tens of participants per case), so
every function reports what it could and could not estimate in ``note``
instead of raising, and never hides a convergence problem.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ponzoni_eval._core.errors import DataError, require_columns
from ponzoni_eval._core.results import result_frame
from ponzoni_eval._core.vocabulary import MIXED_STRUCTURES
from ponzoni_eval.stats.common import (
    MANY_CASES, comparison_mode as _comparison_mode, formula_errors, not_run_row, observed_levels, select_outcome, Z95,
)
from ponzoni_eval.stats.multitest import adjust_p

__all__ = [
    "COMPARE_ALPHA",
    "MANY_CASES",
    "STRUCTURES",
    "MIN_PARTICIPANTS_PER_CASE",
    "DDF_METHODS",
    "mixed_model",
    "marginal_means",
]


# --- linear mixed model ----------------------------------------------------------


@dataclass
class _MixedFit:
    """A fitted mixed model plus what a reader must know about the fit."""

    result: Any
    data: pd.DataFrame
    formula: str
    groups: str
    spec: Any  # the formula's design spec, to build design rows for new data
    kept: list[int]  # design columns kept in the fit (empty cells dropped)
    notes: list[str] = field(default_factory=list)
    role_levels: list = field(default_factory=list)
    role_weights: np.ndarray | None = None


def _prepare_mixed(scores, *, outcome, formula, groups, role, scale_column, role_by_wave=False):
    require_columns(scores, (scale_column, "value", groups), "scores")
    data = select_outcome(scores, column=scale_column, outcome=outcome, table="scores")
    data = data.loc[data["value"].notna() & data[groups].notna()].copy()
    # Unused categories would become all-zero design columns (a singular model).
    for column in data.columns:
        if isinstance(data[column].dtype, pd.CategoricalDtype):
            data[column] = data[column].cat.remove_unused_categories()
    notes: list[str] = []
    role_levels: list = []
    if role:
        if "role" not in data.columns:
            notes.append("role not adjusted for (no role column)")
        elif data["role"].nunique() > 1:
            if role_by_wave:
                lhs, rhs = (part.strip() for part in formula.split("~", 1))
                formula = f"{lhs} ~ ({rhs}) * C(role)"
            else:
                formula = f"{formula} + C(role)"
            role_levels = observed_levels(data["role"])
        elif role_by_wave:
            notes.append("no wave x case x role terms: one role in the data")
    return data, formula, notes, role_levels


# patsy transforms that learn from the data they see (a mean, quantiles): a design built on the
# distinct covariate rows would differ from one built on all rows, so such formulas use all rows.
_STATEFUL_TRANSFORMS = frozenset({"center", "standardize", "scale", "bs", "cr", "cc", "te"})


@dataclass
class _Design:
    """The fixed-effects design as distinct rows: X = rows[row_of_observation]."""

    rows: np.ndarray  # distinct design rows (C x p)
    names: list[str]
    spec: Any  # patsy DesignInfo of the right-hand side
    row_of: np.ndarray  # per observation: its design row (-1: dropped for a missing covariate)
    y: np.ndarray


def _formula_design(formula: str, data: pd.DataFrame) -> _Design:
    """Evaluate ``lhs ~ rhs`` with patsy, building the right-hand side once per distinct covariate row.

    Scores are repeated measures of a few covariates (case, wave, role), so
    the distinct rows are few (at most cases x waves x roles) however many
    participants there are: 300 cases took 19 s and 0.45 GB as a dense
    N x p matrix, and take milliseconds this way. Formulas with stateful
    transforms (``center(x)`` ...) are built on every row, as before.
    """
    import ast

    import patsy

    if "~" not in formula:
        raise patsy.PatsyError(f"the formula {formula!r} has no '~'")
    lhs, rhs = (part.strip() for part in formula.split("~", 1))
    names = {node.id for node in ast.walk(ast.parse(f"({rhs or '1'})", mode="eval")) if isinstance(node, ast.Name)}
    covariates = [column for column in data.columns if column in names]
    if names & _STATEFUL_TRANSFORMS or not covariates:
        distinct = data.loc[:, covariates].reset_index(drop=True)
        row_of_distinct = np.arange(len(data))
    else:
        keys = data.loc[:, covariates].reset_index(drop=True)
        codes = [pd.factorize(keys[c], use_na_sentinel=True)[0] for c in covariates]
        combined = np.zeros(len(keys), dtype=np.int64)
        for column_codes, column in zip(codes, covariates):
            width = int(column_codes.max()) + 2  # +1 for the missing sentinel (-1 -> 0)
            combined = combined * width + (column_codes + 1)
        _, first, row_of_distinct = np.unique(combined, return_index=True, return_inverse=True)
        distinct = keys.iloc[first].reset_index(drop=True)
    design = patsy.dmatrix(rhs or "1", distinct, return_type="dataframe", NA_action="drop")
    # patsy drops distinct rows with a missing covariate: their observations are left out
    position = np.full(len(distinct), -1, dtype=np.int64)
    position[design.index.to_numpy()] = np.arange(len(design))
    if lhs in data.columns:
        y = data[lhs].to_numpy(dtype=float)
    else:
        y = np.asarray(patsy.dmatrix(f"{lhs} - 1", data, return_type="matrix", NA_action="raise"), dtype=float).ravel()
    return _Design(design.to_numpy(dtype=float), list(design.columns), design.design_info, position[row_of_distinct], y)


class _Blocks:
    """A bordered block-diagonal layout of X'H^-1X (many sites: cell-means coding, one block of waves per case).

    Coefficients ``idx[j, :]`` (padded with -1) are the cell means of case j, ``border`` the role
    coefficients. Participants belong to one case, so X'H^-1X couples cells only within a case and
    through the border: A = [[B, E], [E', F]] with B block diagonal. Then (Schur complement
    S = F - E' B^-1 E) log|A| = sum_j log|B_j| + log|S|, A^-1 = [[B^-1 + B^-1 E S^-1 E' B^-1,
    -B^-1 E S^-1], [-S^-1 E' B^-1, S^-1]]: O(cases) work instead of O(coefficients^3).
    """

    def __init__(self, idx: np.ndarray, border: np.ndarray, p: int):
        self.idx, self.border, self.p = idx, border, p
        self.mask = idx >= 0
        self.safe = np.where(self.mask, idx, 0)

    def gather(self, matrix):
        mask2 = self.mask[:, :, None] & self.mask[:, None, :]
        if not isinstance(matrix, np.ndarray):  # a scipy sparse matrix: read the needed entries only
            sparse_matrix = matrix.tocsr()
            k, width = self.idx.shape
            r = len(self.border)

            def pick(rows, cols):
                rows, cols = np.broadcast_arrays(rows, cols)
                if rows.size == 0:
                    return np.zeros(rows.shape)
                return np.asarray(sparse_matrix[rows.ravel(), cols.ravel()]).reshape(rows.shape)

            block = pick(self.safe[:, :, None], self.safe[:, None, :]) * mask2
            block = block + np.eye(width) * (~self.mask)[:, :, None]
            edge = pick(self.safe[:, :, None], self.border[None, None, :]).reshape(k, width, r) * self.mask[:, :, None]
            corner = pick(self.border[:, None], self.border[None, :]).reshape(r, r)
            return block, edge, corner
        block = matrix[self.safe[:, :, None], self.safe[:, None, :]] * mask2
        block = block + np.eye(self.idx.shape[1]) * (~self.mask)[:, :, None]  # padding: identity
        edge = matrix[self.safe][:, :, self.border] * self.mask[:, :, None]
        corner = matrix[np.ix_(self.border, self.border)]
        return block, edge, corner

    def factor(self, a: np.ndarray) -> "_BlockFactor":
        return _BlockFactor(self, a)


class _BlockFactor:
    def __init__(self, layout: _Blocks, a: np.ndarray):
        self.layout = layout
        block, edge, corner = layout.gather(a)
        chol = np.linalg.cholesky(block)  # LinAlgError when a block is not positive definite
        self.block_inv = np.linalg.inv(block)
        self.binv_e = self.block_inv @ edge  # k x W x r
        self.edge = edge
        schur = corner - np.einsum("kwr,kws->rs", edge, self.binv_e)
        schur_chol = np.linalg.cholesky(schur) if len(layout.border) else np.zeros((0, 0))
        self.schur_inv = np.linalg.inv(schur) if len(layout.border) else np.zeros((0, 0))
        self.logdet = 2.0 * float(np.sum(np.log(np.diagonal(chol, axis1=1, axis2=2)))) \
            + 2.0 * float(np.sum(np.log(np.diag(schur_chol))))

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        layout = self.layout
        vector = rhs.ndim == 1
        rhs2 = rhs[:, None] if vector else rhs
        cells = rhs2[layout.safe] * layout.mask[:, :, None]  # k x W x m
        binv_c = self.block_inv @ cells
        border = rhs2[layout.border] - np.einsum("kwr,kwm->rm", self.binv_e, cells)
        x_border = self.schur_inv @ border
        x_cells = binv_c - self.binv_e @ x_border[None, :, :]
        out = np.zeros_like(rhs2, dtype=float)
        out[layout.idx[layout.mask]] = x_cells[layout.mask]
        out[layout.border] = x_border
        return out[:, 0] if vector else out

    def trace_solve(self, d: np.ndarray) -> float:
        """tr(A^-1 D) for D of the same layout."""
        d_block, d_edge, d_corner = self.layout.gather(d)
        d_block = d_block - np.eye(d_block.shape[1]) * (~self.layout.mask)[:, :, None]
        total = float(np.einsum("kij,kji->", self.block_inv, d_block))
        if len(self.layout.border):
            g = (np.einsum("kwr,kwv,kvs->rs", self.binv_e, d_block, self.binv_e)
                 - 2.0 * np.einsum("kwr,kws->rs", self.binv_e, d_edge) + d_corner)
            g = (g + g.T) / 2.0
            total += float(np.sum(self.schur_inv * g))
        return total

    def inverse(self) -> np.ndarray:
        return self.solve(np.eye(self.layout.p))


@dataclass
class _RandomInterceptResult:
    """What a fitted random-intercept model reports (the attributes statsmodels' MixedLMResults has)."""

    fe_params: pd.Series
    covariance: pd.DataFrame
    cov_re: np.ndarray
    scale: float
    converged: bool
    nobs: int
    gamma: float
    minus2l: float = float("nan")  # -2 (RE)ML log-likelihood at the optimum (lme4's deviance / REML criterion)
    reml: bool = True
    deviance: Any = None  # (tau2, sigma2) -> -2 (RE)ML log-likelihood, not profiled (for Satterthwaite df)
    cov_at: Any = None  # (tau2, sigma2) -> (Cov(beta), dCov/dtau2, dCov/dsigma2) at those variance parameters
    kr_at: Any = None  # (tau2, sigma2) -> Kenward-Roger pieces (`_kenward_roger`)

    def cov_params(self) -> pd.DataFrame:
        return self.covariance

    @property
    def loglik(self) -> float:
        return -0.5 * self.minus2l

    @property
    def n_params(self) -> int:
        """Parameters counted by AIC: the fixed effects, the intercept variance and the residual variance."""
        return len(self.fe_params) + 2

    @property
    def aic(self) -> float:
        return self.minus2l + 2 * self.n_params


def _random_intercept_fit(rows: np.ndarray, row_of: np.ndarray, y: np.ndarray, group: np.ndarray, names: list[str],
                          *, reml: bool, blocks: "_Blocks | None" = None) -> _RandomInterceptResult:
    """(RE)ML fit of y = X beta + u_group + e, u ~ N(0, tau^2), e ~ N(0, sigma^2), with X = rows[row_of].

    The likelihood is profiled over gamma = tau^2 / sigma^2 and maximised in
    one dimension. With H_i = I + gamma 11' per group of size n_i,
    H_i^-1 = I - w_i 11' with w_i = gamma / (1 + gamma n_i), so everything
    follows from sums per design row and per group:

        A = X'X - S' diag(w) S        (S: group sums of X; A = X'H^-1 X)
        b = X'y - S' (w * s_y),   beta = A^-1 b,   q = y'H^-1 y - b'beta
        ML:   sigma^2 = q / N,       -2 l = N log(2 pi sigma^2) + sum log(1 + gamma n_i) + N
        REML: sigma^2 = q / (N - p), -2 l = (N - p) log(2 pi sigma^2) + sum log(1 + gamma n_i) + log|A| + N - p

    Cov(beta) = sigma^2 A^-1, as ``vcov`` of ``lme4::lmer``.

    The optimum is found as the root of the criterion's derivative, not as a
    minimum of the (flat) criterion itself: a minimiser locates a minimum only
    to about sqrt(machine epsilon) (~1e-8 relative in gamma), which is where
    fits on different CPUs/BLAS kernels parted (~1e-7 in the estimates). With
    v_i = dw_i/dgamma = 1 / (1 + gamma n_i)^2 and r_i = s_y,i - S_i beta (group
    sums of the residuals)::

        dq/dgamma     = -sum v_i r_i^2
        d log|A|      = -tr(A^-1 S' diag(v) S)
        d(-2 l)/dgamma = dof dq/dgamma / q + sum n_i / (1 + gamma n_i) [+ d log|A| for REML]

    (dof = N - p for REML, N for ML). theta = sqrt(gamma) is first searched on
    a coarse grid; the derivative's sign change in the best grid cell is then
    solved by Brent's root finder to a relative tolerance of 4 machine
    epsilons, so the estimate is the same maximum, reached to rounding. When
    the derivative is >= 0 at gamma = 0 with the best grid point there, the
    maximum is on the boundary (gamma = 0, a singular fit). Should the
    derivative not change sign in the cell (it did in no data tried), the
    criterion is minimised there as before (Brent, xatol 1e-10 in theta).
    """
    import scipy.sparse as sparse
    from scipy import linalg, optimize

    n_obs, p = len(y), rows.shape[1]
    n_rows = rows.shape[0]
    group_codes, group_index = np.unique(group, return_inverse=True)
    n_groups = len(group_codes)
    # observation counts and sums per design row, and per (group, design row)
    row_count = np.bincount(row_of, minlength=n_rows).astype(float)
    row_y = np.bincount(row_of, weights=y, minlength=n_rows)
    if blocks is None:
        xtx = rows.T @ (row_count[:, None] * rows)
    else:  # many sites: X'X and A stay sparse; the block solver reads only the blocks and the border
        xtx = (sparse.csr_matrix(rows).T @ sparse.diags(row_count) @ sparse.csr_matrix(rows)).tocsr()
    xty = rows.T @ row_y
    yty = float(y @ y)
    membership = sparse.csr_matrix((np.ones(n_obs), (group_index, row_of)), shape=(n_groups, n_rows))  # group x design row counts
    group_n = np.bincount(group_index, minlength=n_groups).astype(float)
    group_y = np.bincount(group_index, weights=y, minlength=n_groups)
    sparse_rows = sparse.csr_matrix(rows)

    def pieces(gamma: float):
        w = gamma / (1.0 + gamma * group_n)
        # S = M rows (M: group x design-row counts), so S' diag(w) S = rows' (M' diag(w) M) rows with
        # M' diag(w) M sparse (only design rows that share a group meet), and S' v = rows' (M' v)
        between = (membership.T @ sparse.diags(w) @ membership).tocsr()
        product = sparse_rows.T @ (between @ sparse_rows)
        a = xtx - (product.toarray() if blocks is None else product.tocsr())
        b = xty - rows.T @ (membership.T @ (w * group_y))
        c = yty - float(w @ group_y**2)
        return a, b, c, w

    def criterion(gamma: float) -> tuple[float, np.ndarray, float, np.ndarray]:
        a, b, c, _ = pieces(gamma)
        try:
            factor = linalg.cho_factor(a, lower=True, check_finite=True) if blocks is None else blocks.factor(a)
        except (linalg.LinAlgError, ValueError):
            return np.inf, np.full(p, np.nan), np.nan, a
        beta = linalg.cho_solve(factor, b) if blocks is None else factor.solve(b)
        q = max(c - float(b @ beta), 1e-300)
        dof = n_obs - p if reml else n_obs
        sigma2 = q / dof
        value = dof * np.log(2 * np.pi * sigma2) + np.sum(np.log1p(gamma * group_n)) + dof
        if reml:
            value += 2.0 * np.sum(np.log(np.diag(factor[0]))) if blocks is None else factor.logdet
        return float(value), beta, sigma2, a

    def slope(gamma: float) -> float:
        """d(-2 l)/d gamma of the profiled criterion (see the docstring); NaN where A is not positive definite."""
        a, b, c, w = pieces(gamma)
        try:
            factor = linalg.cho_factor(a, lower=True, check_finite=True) if blocks is None else blocks.factor(a)
        except (linalg.LinAlgError, ValueError):
            return np.nan
        beta = linalg.cho_solve(factor, b) if blocks is None else factor.solve(b)
        q = max(c - float(b @ beta), 1e-300)
        v = 1.0 / (1.0 + gamma * group_n) ** 2
        resid_sums = group_y - membership @ (rows @ beta)
        dof = n_obs - p if reml else n_obs
        value = -dof * float(v @ resid_sums**2) / q + float(np.sum(group_n / (1.0 + gamma * group_n)))
        if reml:
            weighted = (membership.T @ sparse.diags(v) @ membership).tocsr()
            d_a = sparse_rows.T @ (weighted @ sparse_rows)  # = -dA/dgamma
            d_a = d_a.toarray() if blocks is None else d_a.tocsr()
            value -= float(np.trace(linalg.cho_solve(factor, d_a))) if blocks is None else factor.trace_solve(d_a)
        return value

    # theta = sqrt(gamma) = tau / sigma, as lme4 parameterises it: a coarse grid, then the root of the
    # criterion's slope in the best grid cell (Brent), to rounding
    grid = np.concatenate([[0.0], np.logspace(-3, 2, 26)])
    values = np.array([criterion(theta**2)[0] for theta in grid])
    best = int(np.argmin(values))
    theta = grid[best]
    # no finite likelihood, or the best theta at the grid's top (the participant variance dwarfs the
    # residual variance: no interior optimum found) -> not converged; otherwise refine around the best
    converged = bool(np.isfinite(values[best])) and best < len(grid) - 1
    if converged:
        low, high = grid[max(best - 1, 0)], grid[best + 1]
        slope_low, slope_high = slope(low**2), slope(high**2)
        if best == 0 and slope_low >= 0:
            theta = 0.0  # the criterion rises from gamma = 0: the maximum is on the boundary
        elif slope_low < 0 < slope_high:
            gamma_root = optimize.brentq(slope, low**2, high**2, xtol=1e-300, rtol=4 * np.finfo(float).eps,
                                         maxiter=500)
            theta = float(np.sqrt(gamma_root))
        else:  # no sign change in the cell: minimise the criterion there, as a fallback
            refined = optimize.minimize_scalar(lambda t: criterion(t**2)[0], bounds=(low, high), method="bounded",
                                               options={"xatol": 1e-10, "maxiter": 500})
            converged = bool(refined.success)
            if converged and refined.fun <= values[best]:
                theta = float(refined.x)
    gamma = theta**2
    value, beta, sigma2, a = criterion(gamma)
    converged = converged and np.isfinite(value)
    if blocks is None:
        covariance = sigma2 * linalg.inv(a) if converged else np.full((p, p), np.nan)
    else:
        covariance = sigma2 * blocks.factor(a).inverse() if converged else np.full((p, p), np.nan)

    def deviance(tau2: float, sigma2_: float) -> float:
        """-2 (RE)ML log-likelihood at (tau2, sigma2), beta at its GLS value (REML) or profiled (ML).

        V = sigma2 H(gamma), gamma = tau2 / sigma2: log|V| = N log sigma2 + sum log(1 + gamma n_i),
        r'V^-1 r = q(gamma) / sigma2, and for REML log|X'V^-1 X| = log|A| - p log sigma2.
        """
        g = tau2 / sigma2_
        a_, b_, c_, _ = pieces(g)
        factor = linalg.cho_factor(a_, lower=True) if blocks is None else blocks.factor(a_)
        beta_ = linalg.cho_solve(factor, b_) if blocks is None else factor.solve(b_)
        q = c_ - float(b_ @ beta_)
        out = n_obs * np.log(2 * np.pi) + n_obs * np.log(sigma2_) + np.sum(np.log1p(g * group_n)) + q / sigma2_
        if reml:
            logdet = 2.0 * np.sum(np.log(np.diag(factor[0]))) if blocks is None else factor.logdet
            out += logdet - p * np.log(sigma2_) - p * np.log(2 * np.pi)
        return float(out)

    def cov_at(tau2: float, sigma2_: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Cov(beta) = sigma2 A^-1 at (tau2, sigma2) and its analytic derivatives in tau2 and sigma2.

        With dA/dgamma = -S' diag(v) S =: -D (v_i = 1 / (1 + gamma n_i)^2) and gamma = tau2 / sigma2:
        dC/dtau2 = A^-1 D A^-1, dC/dsigma2 = A^-1 - gamma A^-1 D A^-1.
        """
        g = tau2 / sigma2_
        a_, _, _, _ = pieces(g)
        v = 1.0 / (1.0 + g * group_n) ** 2
        weighted = (membership.T @ sparse.diags(v) @ membership).tocsr()
        d_a = (sparse_rows.T @ (weighted @ sparse_rows)).toarray()
        if blocks is None:
            inverse = linalg.cho_solve(linalg.cho_factor(a_, lower=True), np.eye(p))
            sandwich = inverse @ d_a @ inverse
        else:  # A^-1 D A^-1 by two block solves (O(p^2)), not two dense p x p products
            factor = blocks.factor(a_)
            inverse = factor.inverse()
            sandwich = factor.solve(factor.solve(d_a).T).T
            sandwich = (sandwich + sandwich.T) / 2.0
        return sigma2_ * inverse, sandwich, inverse - g * sandwich

    def kr_at(tau2: float, sigma2_: float) -> dict:
        """Kenward-Roger pieces at (tau2, sigma2), analytic (Kenward & Roger 1997, sec. 2 and 4).

        V = tau2 ZZ' + sigma2 I, so G_1 = dV/dtau2 = ZZ' and G_2 = dV/dsigma2 = I (R_ij = 0). Per group
        (size n_i, a_i = 1 / (1 + gamma n_i)): V_i^-k = sigma2^-k (I - (1 - a_i^k) / n_i 11'), V_i^-1 1 = a_i 1 / sigma2.
        With Phi = sigma2 A^-1 and S the group sums of X (all "S' diag(v) S" below):

            sigma2^2 X'V^-1 G_1 V^-1 X = S' diag(a^2) S =: D_1,   sigma2^2 X'V^-2 X = X'X - S' diag((1 - a^2)/n) S =: D_2
            sigma2^3 Q_11 = S' diag(a^3 n) S,  sigma2^3 Q_12 = S' diag(a^3) S,  sigma2^3 Q_22 = X'X - S' diag((1 - a^3)/n) S

        (P_i = -D_i / sigma2^2, Q_ij = X'V^-1 G_i V^-1 G_j V^-1 X). Returned: Phi; dPhi/dphi_i = -Phi P_i Phi =
        A^-1 D_i A^-1; T_ij = Phi (Q_ij - P_i Phi P_j) Phi = A^-1 (sigma2^3 Q_ij - D_i A^-1 D_j) A^-1 / sigma2; and the
        expected REML information I_ij = tr(P~ G_i P~ G_j) / 2, P~ = V^-1 - V^-1 X Phi X'V^-1:
        tr(V^-1 G_i V^-1 G_j) - 2 tr(Phi Q_ij) + tr(Phi P_i Phi P_j), with sigma2^2 tr(V^-1 G_i V^-1 G_j) =
        sum a^2 n^2, sum a^2 n, N - sum (1 - a^2) for (1, 1), (1, 2), (2, 2).
        """
        g = tau2 / sigma2_
        a_, _, _, _ = pieces(g)
        shrink = 1.0 / (1.0 + g * group_n)
        dense_xtx = xtx.toarray() if sparse.issparse(xtx) else xtx

        def between(v: np.ndarray) -> np.ndarray:
            weighted_ = (membership.T @ sparse.diags(v) @ membership).tocsr()
            out = sparse_rows.T @ (weighted_ @ sparse_rows)
            return out.toarray() if sparse.issparse(out) else np.asarray(out)

        safe_n = np.maximum(group_n, 1.0)
        d = [between(shrink**2), dense_xtx - between((1.0 - shrink**2) / safe_n)]
        q_scaled = {(0, 0): between(shrink**3 * group_n), (0, 1): between(shrink**3),
                    (1, 1): dense_xtx - between((1.0 - shrink**3) / safe_n)}
        q_scaled[(1, 0)] = q_scaled[(0, 1)]
        if blocks is None:
            inverse = linalg.cho_solve(linalg.cho_factor(a_, lower=True), np.eye(p))
        else:
            inverse = blocks.factor(a_).inverse()
        inverse = (inverse + inverse.T) / 2.0
        inv_d = [inverse @ d_i for d_i in d]
        base = np.array([[np.sum(shrink**2 * group_n**2), np.sum(shrink**2 * group_n)],
                         [np.sum(shrink**2 * group_n), n_obs - np.sum(1.0 - shrink**2)]])
        information = np.zeros((2, 2))
        terms = {}
        for i in range(2):
            for j in range(2):
                information[i, j] = 0.5 * (base[i, j] - 2.0 * float(np.sum(inverse * q_scaled[(i, j)]))
                                           + float(np.sum(inv_d[i] * inv_d[j].T))) / sigma2_**2
                terms[(i, j)] = inverse @ (q_scaled[(i, j)] - d[i] @ inv_d[j]) @ inverse / sigma2_
        return dict(phi=sigma2_ * inverse, derivatives=[inv_d[i] @ inverse for i in range(2)], terms=terms,
                    information=information)

    return _RandomInterceptResult(
        fe_params=pd.Series(beta, index=names),
        covariance=pd.DataFrame(covariance, index=names, columns=names),
        cov_re=np.array([[gamma * sigma2]]),
        scale=float(sigma2),
        converged=converged,
        nobs=n_obs,
        gamma=gamma,
        minus2l=float(value),
        reml=reml,
        deviance=deviance,
        cov_at=cov_at,
        kr_at=kr_at,
    )


# --- general covariance structures (random slope, organisation, unstructured) -------------------------

STRUCTURES = MIXED_STRUCTURES
"""Covariance structures of `mixed_model`: ``intercept`` (random intercept per participant, the default),
``slope`` (random intercept and slope of wave, correlated), ``unstructured`` (MMRM: an unstructured
covariance over waves within a participant), ``compare`` (intercept vs slope by a REML likelihood-ratio
test, the slope kept when the 50:50 chi-square mixture p < `COMPARE_ALPHA`)."""

COMPARE_ALPHA = 0.05
"""Level of the REML likelihood-ratio test that keeps the random slope under ``structure = "compare"``."""


@dataclass
class _GeneralResult:
    """A fitted model with a general covariance structure (the attributes `mixed_model` reads)."""

    fe_params: pd.Series
    covariance: pd.DataFrame
    converged: bool
    nobs: int
    minus2l: float
    reml: bool
    n_params: int
    components: list  # (label, value, effect_name) rows of the variance components
    singular: bool
    structure: str
    scale: float = float("nan")
    cov_re: Any = None
    gamma: float = float("nan")

    def cov_params(self) -> pd.DataFrame:
        return self.covariance

    @property
    def loglik(self) -> float:
        return -0.5 * self.minus2l

    @property
    def aic(self) -> float:
        return self.minus2l + 2 * self.n_params


def _wave_positions(waves: pd.Series) -> tuple[np.ndarray, np.ndarray, list]:
    """Each observation's wave as index 0..K-1 (observed order) and as position index / (K - 1) (first 0, last 1)."""
    levels = observed_levels(waves)
    index = pd.Categorical(waves, categories=levels).codes.astype(int)
    position = index / max(len(levels) - 1, 1)
    return index, position.astype(float), levels


def _general_fit(x: np.ndarray, y: np.ndarray, person: np.ndarray, wave_index: np.ndarray, wave_position: np.ndarray,
                 organisation: np.ndarray | None, names: list[str], *, structure: str, reml: bool,
                 person_label: str = "participant_id", organisation_label: str = "organisation",
                 wave_levels: list | None = None) -> _GeneralResult:
    """(RE)ML fit of y = X beta + e, e ~ N(0, V), V block-diagonal by cluster, with

    - ``intercept``:    V_ij = tau^2 [same person] + sigma^2 [i = j]
    - ``slope``:        V_ij = (g11 + g12 (w_i + w_j) + g22 w_i w_j) [same person] + sigma^2 [i = j]
                        (w = wave position, first wave 0, last 1: g22 is the variance of the first -> last change)
    - ``unstructured``: V_ij = Sigma[wave_i, wave_j] [same person] (MMRM; Sigma K x K, any positive definite)

    plus omega^2 [same organisation] when `organisation` is given (participants nested in organisations;
    the cluster is then the organisation, else the person). The -2 (RE)ML log-likelihood

        ML:   N log 2 pi + sum_c log|V_c| + r' V^-1 r
        REML: (N - p) log 2 pi + sum_c log|V_c| + log|X' V^-1 X| + r' V^-1 r,   r = y - X beta_GLS

    (lme4's deviance / REML criterion) is computed per cluster, clusters of equal size stacked, and
    minimised by L-BFGS-B over Cholesky factors (variances bounded at 0; log of sigma and of Sigma's
    diagonal) from two starts. Cov(beta) = (X' V^-1 X)^-1. The Satterthwaite pieces (Cov(beta), its
    derivatives in the variance parameters phi, and 2 H^-1 with H the Hessian of the criterion in phi)
    are computed by central differences in phi (natural scale: variances and covariances) and cached
    as `_variance_derivatives` expects; parameters on the boundary (a variance at 0) are held fixed,
    as in the random-intercept fit.
    """
    from scipy import optimize

    n_obs, p = x.shape
    with_org = organisation is not None
    cluster = organisation if with_org else person
    _, cluster_index = np.unique(cluster, return_inverse=True)
    _, person_index = np.unique(person, return_inverse=True)
    order = np.argsort(cluster_index, kind="stable")
    sizes = np.bincount(cluster_index)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    batches = []
    for size in np.unique(sizes):
        members = np.flatnonzero(sizes == size)
        obs = order[starts[members][:, None] + np.arange(size)]
        pid = person_index[obs]
        batches.append(dict(
            x=x[obs], y=y[obs], same=(pid[:, :, None] == pid[:, None, :]).astype(float),
            w=wave_position[obs], k=wave_index[obs], eye=np.eye(size),
        ))
    n_waves = int(wave_index.max()) + 1

    # natural parameters phi and their names
    if structure == "intercept":
        labels = [f"{person_label} intercept"]
    elif structure == "slope":
        labels = [f"{person_label} intercept", f"{person_label} intercept-slope covariance", f"{person_label} slope of wave"]
    else:
        labels = [(i, j) for i in range(n_waves) for j in range(i + 1)]
    n_re = len(labels)
    if with_org:
        labels = labels + [f"{organisation_label} intercept"]
    if structure != "unstructured":
        labels = labels + ["residual"]

    def covariance_of(phi: np.ndarray, batch) -> np.ndarray:
        same, w = batch["same"], batch["w"]
        if structure == "unstructured":
            sigma = np.zeros((n_waves, n_waves))
            rows, cols = np.tril_indices(n_waves)
            sigma[rows, cols] = phi[:n_re]
            sigma[cols, rows] = phi[:n_re]
            k = batch["k"]
            v = same * sigma[k[:, :, None], k[:, None, :]]
        elif structure == "slope":
            g11, g12, g22 = phi[:3]
            v = same * (g11 + g12 * (w[:, :, None] + w[:, None, :]) + g22 * w[:, :, None] * w[:, None, :])
            v = v + phi[-1] * batch["eye"]
        else:
            v = same * phi[0] + phi[-1] * batch["eye"]
        if with_org:
            v = v + phi[n_re]
        return v

    def pieces(phi: np.ndarray):
        """(criterion, beta, X'V^-1X); criterion inf where V is not positive definite."""
        logdet, xvx, xvy, yvy = 0.0, np.zeros((p, p)), np.zeros(p), 0.0
        for batch in batches:
            try:
                chol = np.linalg.cholesky(covariance_of(phi, batch))
            except np.linalg.LinAlgError:
                return np.inf, None, None
            logdet += 2.0 * float(np.log(np.diagonal(chol, axis1=1, axis2=2)).sum())
            xs = np.linalg.solve(chol, batch["x"])
            ys = np.linalg.solve(chol, batch["y"][:, :, None])[:, :, 0]
            xvx += np.einsum("mnp,mnq->pq", xs, xs)
            xvy += np.einsum("mnp,mn->p", xs, ys)
            yvy += float(np.sum(ys**2))
        try:
            factor = np.linalg.cholesky(xvx)
        except np.linalg.LinAlgError:
            return np.inf, None, None
        beta = np.linalg.solve(xvx, xvy)
        value = logdet + (yvy - float(xvy @ beta))
        if reml:
            value += (n_obs - p) * np.log(2 * np.pi) + 2.0 * float(np.sum(np.log(np.diag(factor))))
        else:
            value += n_obs * np.log(2 * np.pi)
        return float(value), beta, xvx

    # optimisation parameters u -> phi
    def to_phi(u: np.ndarray) -> np.ndarray:
        out = []
        if structure == "unstructured":
            lower = np.zeros((n_waves, n_waves))
            rows, cols = np.tril_indices(n_waves)
            lower[rows, cols] = u[:n_re]
            lower[np.diag_indices(n_waves)] = np.exp(np.diag(lower))
            full = lower @ lower.T
            out.extend(full[rows, cols])
        elif structure == "slope":
            l11, l21, l22 = u[:3]
            out.extend([l11**2, l11 * l21, l21**2 + l22**2])
        else:
            out.append(u[0] ** 2)
        if with_org:
            out.append(u[n_re] ** 2)
        if structure != "unstructured":
            out.append(np.exp(2 * u[-1]))
        return np.array(out, dtype=float)

    # starting values from an OLS fit
    beta0, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid_var = max(float(np.var(y - x @ beta0)), 1e-8)
    half = np.sqrt(resid_var / 2)
    bounds: list = []
    if structure == "unstructured":
        rows, cols = np.tril_indices(n_waves)
        # compound-symmetric start: half the variance shared
        lower = np.linalg.cholesky(resid_var * (0.5 * np.eye(n_waves) + 0.5))
        start = lower[rows, cols].copy()
        start[rows == cols] = np.log(start[rows == cols])
        bounds.extend([(None, None)] * n_re)
    elif structure == "slope":
        start = np.array([half, 0.0, 0.3 * half])
        bounds.extend([(0.0, None), (None, None), (0.0, None)])
    else:
        start = np.array([half])
        bounds.append((0.0, None))
    if with_org:
        start = np.append(start, 0.3 * half)
        bounds.append((0.0, None))
    if structure != "unstructured":
        start = np.append(start, 0.5 * np.log(resid_var / 2))
        bounds.append((None, None))

    def objective(u: np.ndarray) -> float:
        value = pieces(to_phi(u))[0]
        return value if np.isfinite(value) else 1e12

    best = None
    for first in (start, start * np.where(np.isfinite([b[0] if b[0] is not None else np.nan for b in bounds]), 2.0, 1.0)):
        fitted = optimize.minimize(objective, first, method="L-BFGS-B", bounds=bounds,
                                   options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 2000, "maxls": 50})
        refit = optimize.minimize(objective, fitted.x, method="L-BFGS-B", bounds=bounds,
                                  options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 2000, "maxls": 50})
        if best is None or refit.fun < best.fun:
            best = refit
    phi = to_phi(best.x)
    value, beta, xvx = pieces(phi)
    converged = bool(np.isfinite(value)) and best.fun < 1e11 and (best.success or _small_gradient(objective, best.x, bounds))
    covariance = np.linalg.inv(xvx) if converged else np.full((p, p), np.nan)

    # boundary: variances at 0 (their covariances then too); held fixed for the Satterthwaite df
    scale = phi[-1] if structure != "unstructured" else float(np.mean(np.diag(_unstructured(phi[:n_re], n_waves))))
    tiny = 1e-6 * max(scale, 1e-12)
    at_boundary = np.zeros(len(phi), dtype=bool)
    singular = False
    if structure == "intercept":
        at_boundary[0] = phi[0] <= tiny
    elif structure == "slope":
        correlation = phi[1] / np.sqrt(phi[0] * phi[2]) if phi[0] > tiny and phi[2] > tiny else np.nan
        if phi[0] <= tiny or phi[2] <= tiny:
            at_boundary[:3] = [phi[0] <= tiny, True, phi[2] <= tiny]
        singular = bool(np.isfinite(correlation) and abs(correlation) > 0.999)
    else:
        eigen = np.linalg.eigvalsh(_unstructured(phi[:n_re], n_waves))
        singular = bool(eigen.min() <= tiny)
    if with_org:
        at_boundary[n_re] = phi[n_re] <= tiny
    singular = singular or bool(at_boundary.any())

    components = []
    if structure == "unstructured":
        for (i, j), value_ij in zip(labels[:n_re], phi[:n_re]):
            wave_i, wave_j = (wave_levels or list(range(n_waves)))[i], (wave_levels or list(range(n_waves)))[j]
            name = "variance" if i == j else "covariance"
            components.append((f"{person_label} wave {wave_j}, {wave_i}" if i != j else f"{person_label} wave {wave_i}",
                               float(value_ij), name))
    else:
        for label, value_i in zip(labels, phi):
            components.append((label, float(value_i), "covariance" if "covariance" in label else "variance"))
        if structure == "slope" and phi[0] > tiny and phi[2] > tiny:
            components.append((f"{person_label} intercept-slope correlation", float(phi[1] / np.sqrt(phi[0] * phi[2])),
                               "correlation"))
    if structure == "unstructured" and with_org:
        components.append((f"{organisation_label} intercept", float(phi[n_re]), "variance"))

    result = _GeneralResult(
        fe_params=pd.Series(beta if beta is not None else np.full(p, np.nan), index=names),
        covariance=pd.DataFrame(covariance, index=names, columns=names),
        converged=converged, nobs=n_obs, minus2l=float(value), reml=reml, n_params=p + len(phi),
        components=components, singular=singular, structure=structure,
        scale=float(phi[-1]) if structure != "unstructured" else float("nan"),
    )
    result.phi = phi

    # Satterthwaite pieces by central differences in phi (free parameters only)
    free = [i for i in range(len(phi)) if not at_boundary[i]]
    if not converged or not free:
        result._satterthwaite_pieces = (covariance, [np.zeros((p, p)) for _ in free],
                                        np.full((len(free), len(free)), np.nan))
        result._kenward_roger_pieces = None
        return result
    # computed on demand (ddf = "kenward-roger"): Satterthwaite fits do not pay for them
    result.kr_general = lambda: _general_kenward_roger(batches, covariance_of, phi, free, covariance)
    reference = np.where(np.abs(phi) > tiny, np.abs(phi), scale)
    steps = 1e-4 * reference

    def criterion_at(vector: np.ndarray) -> float:
        return pieces(vector)[0]

    def cov_at(vector: np.ndarray) -> np.ndarray:
        _, _, matrix = pieces(vector)
        return np.linalg.inv(matrix)

    unit = [np.eye(len(phi))[i] * steps[i] for i in range(len(phi))]
    centre = value
    k = len(free)
    hessian = np.zeros((k, k))
    for a, i in enumerate(free):
        for b, j in enumerate(free[a:], start=a):
            if i == j:
                h = (criterion_at(phi + unit[i]) - 2 * centre + criterion_at(phi - unit[i])) / steps[i] ** 2
            else:
                h = (criterion_at(phi + unit[i] + unit[j]) - criterion_at(phi + unit[i] - unit[j])
                     - criterion_at(phi - unit[i] + unit[j]) + criterion_at(phi - unit[i] - unit[j])) / (4 * steps[i] * steps[j])
            hessian[a, b] = hessian[b, a] = h
    try:
        asymptotic = 2.0 * np.linalg.inv(hessian)
        derivatives = [(cov_at(phi + unit[i]) - cov_at(phi - unit[i])) / (2 * steps[i]) for i in free]
    except (np.linalg.LinAlgError, TypeError):
        asymptotic = np.full((k, k), np.nan)
        derivatives = [np.zeros((p, p)) for _ in free]
    if not np.all(np.isfinite(hessian)):
        asymptotic = np.full((k, k), np.nan)
    result._satterthwaite_pieces = (covariance, derivatives, asymptotic)
    return result


def _general_kenward_roger(batches, covariance_of, phi: np.ndarray, free: list[int], phi_cov: np.ndarray):
    """Kenward-Roger pieces (Phi, Phi_A, [dPhi/dphi_i], W) of a `_general_fit`, cluster by cluster.

    V is linear in the natural parameters phi (variances and covariances), so G_i = dV/dphi_i is V at the
    unit vector e_i and R_ij = 0. Per cluster c: P_i = -sum_c X_c'V_c^-1 G_ic V_c^-1 X_c, Q_ij = sum_c
    X_c'V_c^-1 G_ic V_c^-1 G_jc V_c^-1 X_c, expected REML information I_ij = [sum_c tr(V_c^-1 G_ic V_c^-1 G_jc)
    - 2 tr(Phi Q_ij) + tr(Phi P_i Phi P_j)] / 2, W = I^-1 over the free parameters (boundary ones held
    fixed); Phi_A = Phi + 2 Phi [sum_ij W_ij (Q_ij - P_i Phi P_j)] Phi (Kenward & Roger 1997). None when V or
    the information is singular.
    """
    k = len(free)
    p = phi_cov.shape[0]
    p_mats = [np.zeros((p, p)) for _ in range(k)]
    q_mats = {(a, b): np.zeros((p, p)) for a in range(k) for b in range(k)}
    base = np.zeros((k, k))
    for batch in batches:
        try:
            v_inv = np.linalg.inv(covariance_of(phi, batch))
        except np.linalg.LinAlgError:
            return None
        vx = v_inv @ batch["x"]  # m x s x p
        g_mats = [covariance_of(np.eye(len(phi))[i], batch) for i in free]
        g_vx = [g @ vx for g in g_mats]
        v_g = [v_inv @ g for g in g_mats]
        for a in range(k):
            p_mats[a] -= np.einsum("msp,msq->pq", vx, g_vx[a])
            for b in range(k):
                q_mats[(a, b)] += np.einsum("msp,mst,mtq->pq", g_vx[a], v_inv, g_vx[b])
                base[a, b] += float(np.einsum("mst,mts->", v_g[a], v_g[b]))
    phi_p = [phi_cov @ m for m in p_mats]
    information = np.array([[0.5 * (base[a, b] - 2.0 * np.trace(phi_cov @ q_mats[(a, b)]) + np.sum(phi_p[a] * phi_p[b].T))
                             for b in range(k)] for a in range(k)])
    try:
        w = np.linalg.inv(information)
    except np.linalg.LinAlgError:
        return None
    u = sum(w[a, b] * (q_mats[(a, b)] - p_mats[a] @ phi_cov @ p_mats[b]) for a in range(k) for b in range(k))
    delta = 2.0 * phi_cov @ u @ phi_cov
    phi_a = phi_cov + (delta + delta.T) / 2.0
    return phi_cov, phi_a, [-(m @ phi_cov) for m in phi_p], w


def _unstructured(values: np.ndarray, n_waves: int) -> np.ndarray:
    sigma = np.zeros((n_waves, n_waves))
    rows, cols = np.tril_indices(n_waves)
    sigma[rows, cols] = values
    sigma[cols, rows] = values
    return sigma


def _small_gradient(objective, u: np.ndarray, bounds) -> bool:
    """L-BFGS-B sometimes stops on 'ABNORMAL_TERMINATION_IN_LNSRCH' at the optimum: accept a projected gradient ~0."""
    step = 1e-6 * np.maximum(np.abs(u), 1.0)
    gradient = np.array([(objective(u + e) - objective(u - e)) / (2 * s) for e, s in zip(np.diag(step), step)])
    lower = np.array([b[0] if b[0] is not None else -np.inf for b in bounds])
    pinned = (u <= lower + 1e-10) & (gradient > 0)
    return bool(np.all(np.abs(gradient[~pinned]) < 1e-3))


def _cell_layout(data: pd.DataFrame, rows: np.ndarray, row_of: np.ndarray, names: list[str], groups: str):
    """Cell-means coding of the design for many sites, or None where it does not apply.

    Applies above `MANY_CASES` cases when every participant is in one case and the design spans exactly
    the case x wave cell indicators plus role main effects (the default formula): then Z = [cell one-hot,
    role columns] has the column space of X, X'H^-1X is bordered block diagonal in Z (`_Blocks`), and
    Z = X Minv gives beta_X = Minv beta_Z, Cov_X = Minv Cov_Z Minv'.
    """
    if not {"case_id", "wave"} <= set(data.columns) or data["case_id"].nunique() <= MANY_CASES:
        return None
    if data.groupby(groups, observed=True)["case_id"].nunique().max() > 1:
        return None
    used_rows, first = np.unique(row_of, return_index=True)
    case = data["case_id"].to_numpy()[first]
    wave = data["wave"].to_numpy()[first]
    cell_keys = pd.MultiIndex.from_arrays([pd.Index(case, dtype=object), pd.Index(wave, dtype=object)])
    cell_codes, cell_index = pd.factorize(cell_keys)
    n_cells = len(cell_index)
    border_columns = [i for i, name in enumerate(names) if name.startswith("C(role)") and ":" not in name]
    p = rows.shape[1]
    if n_cells + len(border_columns) != p:
        return None
    z_used = np.zeros((len(used_rows), p))
    z_used[np.arange(len(used_rows)), cell_codes] = 1.0
    z_used[:, n_cells:] = rows[used_rows][:, border_columns]
    x_used = rows[used_rows]
    from scipy import sparse
    from scipy.sparse import linalg as sparse_linalg

    # Z = X Minv: Minv = (X'X)^-1 X'Z, by sparse LU (dummy codings are sparse; dense solves would be O(p^3));
    # log|det Minv| = log|det X'Z| - log|det X'X| from the LU diagonals (SuperLU's L has a unit diagonal)
    sparse_x = sparse.csr_matrix(x_used)
    cross_x = (sparse_x.T @ sparse_x).tocsc()
    cross_xz = (sparse_x.T @ sparse.csr_matrix(z_used)).tocsc()
    try:
        lu_x, lu_xz = sparse_linalg.splu(cross_x), sparse_linalg.splu(cross_xz)
    except RuntimeError:  # exactly singular
        return None
    minv = lu_x.solve(cross_xz.toarray())
    if not np.allclose(x_used @ minv, z_used, atol=1e-8):
        return None
    logdet_minv = float(np.sum(np.log(np.abs(lu_xz.U.diagonal()))) - np.sum(np.log(np.abs(lu_x.U.diagonal()))))
    if not np.isfinite(logdet_minv):
        return None
    z_rows = np.zeros((rows.shape[0], p))
    z_rows[used_rows] = z_used
    case_codes, _ = pd.factorize(pd.Index(cell_index.get_level_values(0), dtype=object))
    width = int(np.bincount(case_codes).max())
    idx = np.full((case_codes.max() + 1, width), -1, dtype=np.int64)
    fill = np.zeros(case_codes.max() + 1, dtype=np.int64)
    for cell, owner in enumerate(case_codes):
        idx[owner, fill[owner]] = cell
        fill[owner] += 1
    return dict(z_rows=z_rows, minv=minv, logdet_minv=float(logdet_minv),
                blocks=_Blocks(idx, np.arange(n_cells, p), p))


def _cell_means_fit(layout: dict, row_of, y, group, names, *, reml: bool) -> _RandomInterceptResult:
    """`_random_intercept_fit` in cell-means coding with the block solver, mapped back to the formula's coefficients.

    The REML criterion depends on the coding through log|X'V^-1X| = log|Z'V^-1Z| - 2 log|det Minv|: the
    constant is added, so log-likelihood and AIC equal those of the dense fit (lme4's, in X's coding).
    """
    from scipy import sparse

    minv = layout["minv"]
    # Minv is sparse (a cell indicator is a combination of a few treatment-coded columns, k for the reference
    # case's cells): Minv C Minv' as sparse x dense products, O(p^2) instead of O(p^3)
    sparse_minv = sparse.csr_matrix(np.where(np.abs(minv) > 1e-12, minv, 0.0))

    def mapped(matrix: np.ndarray) -> np.ndarray:
        return np.asarray(sparse_minv @ np.asarray(sparse_minv @ matrix).T).T

    z_names = [f"z{i}" for i in range(minv.shape[1])]
    fitted = _random_intercept_fit(layout["z_rows"], row_of, y, group, z_names, reml=reml, blocks=layout["blocks"])
    shift = -2.0 * layout["logdet_minv"] if reml else 0.0
    beta = minv @ fitted.fe_params.to_numpy()
    covariance = mapped(fitted.covariance.to_numpy())
    z_deviance, z_cov_at = fitted.deviance, fitted.cov_at

    def deviance(tau2: float, sigma2: float) -> float:
        return z_deviance(tau2, sigma2) + shift

    def cov_at(tau2: float, sigma2: float):
        return tuple(mapped(matrix) for matrix in z_cov_at(tau2, sigma2))

    z_kr_at = fitted.kr_at

    def kr_at(tau2: float, sigma2: float) -> dict:
        """Phi, dPhi/dphi and T_ij transform like Cov(beta) (Minv . Minv'); the information does not depend on the coding."""
        z = z_kr_at(tau2, sigma2)
        return dict(phi=mapped(z["phi"]), derivatives=[mapped(m) for m in z["derivatives"]],
                    terms={key: mapped(m) for key, m in z["terms"].items()}, information=z["information"])

    return _RandomInterceptResult(
        fe_params=pd.Series(beta, index=names), covariance=pd.DataFrame(covariance, index=names, columns=names),
        cov_re=fitted.cov_re, scale=fitted.scale, converged=fitted.converged, nobs=fitted.nobs, gamma=fitted.gamma,
        minus2l=fitted.minus2l + shift, reml=reml, deviance=deviance, cov_at=cov_at, kr_at=kr_at,
    )


def _fit_mixed(scores, *, outcome, formula, groups, role, reml, scale_column, structure="intercept",
               organisation=None, role_by_wave=False) -> _MixedFit | str:
    """Fit the model; a string return value says why it could not be fitted."""
    if structure not in STRUCTURES or structure == "compare":
        raise ValueError(f"structure must be one of {STRUCTURES[:-1]} here, not {structure!r}")
    data, formula, notes, role_levels = _prepare_mixed(
        scores, outcome=outcome, formula=formula, groups=groups, role=role, scale_column=scale_column,
        role_by_wave=role_by_wave,
    )
    if organisation is not None:
        require_columns(scores, (organisation,), "scores")
        data = data.loc[data[organisation].notna()]
        per_person = data.groupby(groups, observed=True)[organisation].nunique()
        if (per_person > 1).any():
            crossed = ", ".join(map(str, per_person.index[per_person > 1][:5]))
            return (f"not fitted: {groups} not nested in {organisation} (in more than one {organisation}: {crossed}); "
                    "an organisation variance component needs each participant in one organisation")
    n_groups = data[groups].nunique()
    if n_groups < 3:
        return f"not fitted: {n_groups} {groups} value(s) with data; a random intercept needs at least 3"
    try:
        design = _formula_design(formula, data)
    except formula_errors() as exc:
        raise DataError(
            f"the model formula {formula!r} cannot be evaluated on the scores table: {exc}",
            file="scores",
            expected="a formula whose variables are columns of the scores table",
            found=list(data.columns),
            rule="formula",
        ) from exc
    kept_rows = design.row_of >= 0
    if not kept_rows.all():
        notes.append(f"{int((~kept_rows).sum())} observation(s) with a missing covariate left out")
        data = data.loc[kept_rows]
    row_of, y = design.row_of[kept_rows], design.y[kept_rows]
    # A case x wave cell without data gives an all-zero interaction column; drop it
    # so the other cells stay estimable (that cell's contrasts are then skipped).
    used = np.bincount(row_of, minlength=len(design.rows)) > 0
    empty_columns = ~np.any(design.rows[used] != 0, axis=0)
    empty = [name for name, is_empty in zip(design.names, empty_columns) if is_empty]
    if empty:
        notes.append(f"terms without data dropped: {', '.join(empty)}")
    kept = [i for i, is_empty in enumerate(empty_columns) if not is_empty]
    rows = design.rows[:, kept]
    names = [design.names[i] for i in kept]
    if len(kept) >= len(y):
        return f"not fitted: {len(y)} observations for {len(kept)} fixed effects"
    layout = _cell_layout(data, rows, row_of, names, groups) if structure == "intercept" and organisation is None else None
    if layout is None:  # (a cell-means layout exists only for a full-rank design: Z = X Minv with Minv invertible)
        gram = rows.T @ (np.bincount(row_of, minlength=len(rows))[:, None] * rows)
        if np.linalg.matrix_rank(gram, hermitian=True) < len(kept):  # rank(X) = rank(X'X)
            return "not fitted: the fixed-effects design is rank deficient"
    waves_present = data["wave"].nunique() if "wave" in data.columns else 0
    if structure in ("slope", "unstructured") and waves_present < 3 and structure == "slope":
        notes.append(f"no random slope: {waves_present} wave(s), a random slope of wave beside the intercept and the "
                     "residual needs at least 3; random intercept fitted")
        structure = "intercept"
    if structure == "unstructured" and waves_present < 2:
        return f"not fitted: {waves_present} wave(s); an unstructured covariance over waves needs at least 2"
    if structure == "intercept" and organisation is None:
        if layout is None:
            result = _random_intercept_fit(rows, row_of, y, data[groups].to_numpy(), names, reml=reml)
        else:
            result = _cell_means_fit(layout, row_of, y, data[groups].to_numpy(), names, reml=reml)
        described = f"random intercept per {groups}"
    else:
        wave_index, wave_position, wave_levels = _wave_positions(data["wave"])
        result = _general_fit(rows[row_of], y, data[groups].to_numpy(), wave_index, wave_position,
                              None if organisation is None else data[organisation].astype(str).to_numpy(), names,
                              structure=structure, reml=reml, person_label=groups,
                              organisation_label=organisation or "organisation", wave_levels=wave_levels)
        described = {
            "intercept": f"random intercept per {groups}",
            "slope": f"random intercept and slope of wave per {groups} (correlated; wave position {wave_levels[0]} = 0 "
                     f"to {wave_levels[-1]} = 1)",
            "unstructured": f"unstructured covariance over waves within {groups} (MMRM)",
        }[structure]
        if organisation is not None:
            described += f", plus a random intercept per {organisation} ({groups} nested)"
    notes = [f"{'REML' if reml else 'ML'} fit, {described}"] + notes
    if role_levels:
        notes.append(("wave x case x role terms" if role_by_wave else "adjusted for role (fixed effect)")
                     + "; marginal means average roles by their share of observations")
    if not result.converged:
        notes.append("optimizer did NOT converge: treat estimates with caution")
    if isinstance(result, _GeneralResult):
        if result.singular:
            notes.append("singular fit: a variance estimated at 0 or a correlation at +/-1 (boundary)")
    elif result.gamma <= 1e-6:
        notes.append("singular fit: participant intercept variance estimated at 0 (boundary)")
    role_weights = None
    if role_levels:
        role_weights = data["role"].value_counts(normalize=True).reindex(role_levels).to_numpy(dtype=float)
    return _MixedFit(result, data, formula, groups, design.spec, kept, notes, role_levels, role_weights)


def _design_rows(fit: _MixedFit, grid: pd.DataFrame) -> np.ndarray:
    """Fixed-effects design rows for new data, built with the model's own formula spec."""
    spec = fit.spec
    try:
        import patsy

        if isinstance(spec, patsy.DesignInfo):
            full = np.asarray(patsy.build_design_matrices([spec], grid, return_type="matrix")[0])
            return full[:, fit.kept]
    except ImportError:  # formulaic-only installations
        pass
    return np.asarray(spec.get_model_matrix(grid))[:, fit.kept]


def _cell_contrasts(fit: _MixedFit, cells: pd.DataFrame) -> np.ndarray:
    """Contrast matrix L, one row per cell (``case_id``, ``wave``): EMM = L @ beta, roles averaged by share."""
    cells = cells.loc[:, ["case_id", "wave"]].reset_index(drop=True)
    if not fit.role_levels:
        return _design_rows(fit, cells)
    per_role = [_design_rows(fit, cells.assign(role=level)) for level in fit.role_levels]
    return np.tensordot(fit.role_weights, np.stack(per_role), axes=1)


def _fixed_effects(fit: _MixedFit):
    result = fit.result
    names = list(result.fe_params.index)
    beta = result.fe_params.to_numpy(dtype=float)
    cov = result.cov_params().loc[names, names].to_numpy(dtype=float)
    return names, beta, cov


def _has_case_wave(fit: _MixedFit) -> bool:
    return {"case_id", "wave"} <= set(fit.data.columns) and "case_id" in fit.formula and "wave" in fit.formula


MIN_PARTICIPANTS_PER_CASE = 5
"""A case's change (and its differences from other cases) is estimated only when at least this many
participants have a score in both waves of the change; below it the contrast row says so instead
(with 1-4 people the case's change rests on its few members' own changes, and the model's common
residual variance, borrowed from the other cases, would hide how little that is)."""


def _variance_derivatives(result):
    """Cov(beta), its derivatives in the variance parameters and their asymptotic covariance (cached on `result`).

    phi = (tau^2, sigma^2); A = 2 H^-1 with H the Hessian of the -2 (RE)ML log-likelihood in phi by
    central differences (Richardson-extrapolated from steps of 2% and 1% of each parameter); dC/dphi_i analytic (`cov_at`). At a singular fit
    (tau^2 = 0) only sigma^2 varies. Returns (C, [dC/dphi_i], A).
    """
    cached = getattr(result, "_satterthwaite_pieces", None)
    if cached is not None:
        return cached
    phi = np.array([float(np.asarray(result.cov_re)[0, 0]), float(result.scale)])
    free = [0, 1] if result.gamma > 1e-6 else [1]
    if not (result.converged and np.all(np.isfinite(phi)) and phi[1] > 0 and result.deviance is not None):
        # no optimum, no df: the t tests fall back to the normal reference and the note says the fit did not converge
        p = len(result.fe_params)
        cov = result.cov_params().to_numpy(dtype=float)
        pieces = (cov, [np.zeros((p, p)) for _ in free], np.full((len(free), len(free)), np.nan))
        result._satterthwaite_pieces = pieces
        return pieces
    dev = result.deviance
    centre = dev(*phi)
    k = len(free)

    def hessian_at(relative_step: float) -> np.ndarray:
        steps = relative_step * phi
        unit = [np.eye(2)[i] * steps[i] for i in range(2)]
        out = np.zeros((k, k))
        for a, i in enumerate(free):
            for b, j in enumerate(free[a:], start=a):
                if i == j:
                    value = (dev(*(phi + unit[i])) - 2 * centre + dev(*(phi - unit[i]))) / steps[i] ** 2
                else:
                    value = (dev(*(phi + unit[i] + unit[j])) - dev(*(phi + unit[i] - unit[j]))
                             - dev(*(phi - unit[i] + unit[j])) + dev(*(phi - unit[i] - unit[j]))) / (4 * steps[i] * steps[j])
                out[a, b] = out[b, a] = value
        return out

    # Richardson extrapolation of central differences with steps of 2% and 1% of each parameter: the
    # truncation error falls to O(h^4) (about 1e-8 relative), and the rounding noise of the deviance, which
    # a small step divides by h^2, stays far below verify's 1e-6 (a 1e-4 step let the df of the example
    # differ by 2e-5 between OpenBLAS kernels; these steps by < 1e-8).
    hessian = (4.0 * hessian_at(0.01) - hessian_at(0.02)) / 3.0
    try:
        asymptotic = 2.0 * np.linalg.inv(hessian)
    except np.linalg.LinAlgError:
        asymptotic = np.full((k, k), np.nan)
    cov, d_tau2, d_sigma2 = result.cov_at(*phi)
    derivatives = [(d_tau2, d_sigma2)[i] for i in free]
    pieces = (cov, derivatives, asymptotic)
    result._satterthwaite_pieces = pieces
    return pieces


DDF_METHODS = ("satterthwaite", "kenward-roger")
"""Denominator df of the t and F tests of `mixed_model`: Satterthwaite (lmerTest's default) or Kenward-Roger
(pbkrtest; every structure; a fit without Kenward-Roger pieces, e.g. not converged, keeps Satterthwaite with a note)."""


def _kenward_roger(result):
    """(Phi, Phi_A, [dPhi/dphi_i], W) of Kenward & Roger (1997); None where not available.

    General structures store their pieces at fit time (`_general_kenward_roger`); for the profiled
    random-intercept fit they are computed here from its group sums (`kr_at`).

    W = I_E^-1, I_E the expected REML information of the free variance parameters (phi = (tau^2, sigma^2),
    tau^2 held fixed at a boundary fit, as for the Satterthwaite df), as ``pbkrtest::vcovAdj``;
    Phi_A = Phi + 2 Phi U Phi, U = sum_ij W_ij (Q_ij - P_i Phi P_j) (R_ij = 0: V is linear in phi). Cached on
    `result`.
    """
    cached = getattr(result, "_kenward_roger_pieces", "missing")
    if not isinstance(cached, str):
        return cached
    pieces = None
    kr_at = getattr(result, "kr_at", None)
    kr_general = getattr(result, "kr_general", None)
    if kr_general is not None and result.converged:
        pieces = kr_general()
    elif kr_at is not None and result.converged:
        tau2, sigma2 = float(np.asarray(result.cov_re)[0, 0]), float(result.scale)
        if np.isfinite(tau2) and np.isfinite(sigma2) and sigma2 > 0:
            free = [0, 1] if result.gamma > 1e-6 else [1]
            at = kr_at(tau2, sigma2)
            information = at["information"][np.ix_(free, free)]
            try:
                w = np.linalg.inv(information)
            except np.linalg.LinAlgError:
                w = np.full(information.shape, np.nan)
            delta = sum(2.0 * w[a, b] * at["terms"][(i, j)] for a, i in enumerate(free) for b, j in enumerate(free))
            delta = (delta + delta.T) / 2.0
            pieces = (at["phi"], at["phi"] + delta, [at["derivatives"][i] for i in free], w)
    result._kenward_roger_pieces = pieces
    return pieces


def _inference_pieces(result, ddf: str):
    """(Cov for the SE, Cov for the df, [dCov/dphi_i], asymptotic Cov of phi, label) for t tests.

    Satterthwaite: (C, C, dC/dphi, 2 H^-1). Kenward-Roger for one-df contrasts: SE from Phi_A, df =
    2 (l' Phi l)^2 / (g' W g), g_i = l' dPhi/dphi_i l (the KR df of a 1-df hypothesis: A1 = A2, lambda = 1;
    Kenward & Roger 1997, sec. 4), i.e. the Satterthwaite formula with the expected information.
    """
    if ddf == "kenward-roger":
        kr = _kenward_roger(result)
        if kr is not None:
            phi, phi_a, derivatives, w = kr
            return phi_a, phi, derivatives, w, "Kenward-Roger"
    cov, derivatives, asymptotic = _variance_derivatives(result)
    label = "Satterthwaite" if ddf == "satterthwaite" else \
        "Satterthwaite (no Kenward-Roger pieces for this fit: it did not converge or its information is singular)"
    return cov, cov, derivatives, asymptotic, label


def _one_df_tests(result, contrasts: np.ndarray, ddf: str):
    """(variance for the SE, df) of contrasts l' beta (rows of `contrasts`) under `ddf`."""
    contrasts = np.atleast_2d(contrasts)
    cov_se, cov_df, derivatives, asymptotic, _ = _inference_pieces(result, ddf)
    gradients = np.column_stack([_quadratic(contrasts, d) for d in derivatives])
    return _quadratic(contrasts, cov_se), _satterthwaite(_quadratic(contrasts, cov_df), gradients, asymptotic)


def _kenward_roger_f(fit: "_MixedFit", hypothesis: np.ndarray) -> tuple[float, int, float, float] | None:
    """Kenward-Roger F test of L beta = 0 (Kenward & Roger 1997, sec. 4; as ``pbkrtest::KRmodcomp``).

    Theta = L' (L Phi L')^-1 L; A1 = sum_ij W_ij tr(Theta Phi P_i Phi) tr(Theta Phi P_j Phi),
    A2 = sum_ij W_ij tr(Theta Phi P_i Phi Theta Phi P_j Phi); B = (A1 + 6 A2) / (2q),
    g = ((q + 1) A1 - (q + 4) A2) / ((q + 2) A2), c1 = g / (3q + 2(1 - g)), c2 = (q - g) / (3q + 2(1 - g)),
    c3 = (q + 2 - g) / (3q + 2(1 - g)); E* = 1 / (1 - A2/q), V* = (2/q) (1 + c1 B) / ((1 - c2 B)^2 (1 - c3 B)),
    rho = V* / (2 E*^2), m = 4 + (q + 2) / (q rho - 1), lambda = m / (E* (m - 2)). F* = lambda F with
    F = (L beta)' (L Phi_A L')^-1 (L beta) / q, referred to F(q, m). Returns (F*, q, m, p) or None.
    """
    from scipy import stats

    kr = _kenward_roger(fit.result)
    if kr is None:
        return None
    phi, phi_a, derivatives, w = kr
    beta = fit.result.fe_params.to_numpy(dtype=float)
    values, vectors = np.linalg.eigh(hypothesis @ phi @ hypothesis.T)
    keep = values > values.max() * 1e-10
    ell = vectors[:, keep].T @ hypothesis  # full-rank rows spanning the hypothesis
    q = int(keep.sum())
    k_inv = np.linalg.inv(ell @ phi @ ell.T)
    pieces = [k_inv @ (ell @ d @ ell.T) for d in derivatives]
    traces = np.array([np.trace(piece) for piece in pieces])
    a1 = float(traces @ w @ traces)
    a2 = float(sum(w[i, j] * np.sum(pieces[i] * pieces[j].T) for i in range(len(pieces)) for j in range(len(pieces))))
    estimate = ell @ beta
    f_unscaled = float(estimate @ np.linalg.solve(ell @ phi_a @ ell.T, estimate)) / q
    if not (np.isfinite(a1) and np.isfinite(a2)) or a2 <= 0:
        return f_unscaled, q, float("nan"), float(stats.chi2.sf(f_unscaled * q, q))
    b = (a1 + 6.0 * a2) / (2.0 * q)
    g = ((q + 1) * a1 - (q + 4) * a2) / ((q + 2) * a2)
    denominator = 3 * q + 2 * (1 - g)
    c1, c2, c3 = g / denominator, (q - g) / denominator, (q + 2 - g) / denominator
    e_star = 1.0 / (1.0 - a2 / q)
    v_star = (2.0 / q) * (1 + c1 * b) / ((1 - c2 * b) ** 2 * (1 - c3 * b))
    rho = v_star / (2.0 * e_star**2)
    m = 4.0 + (q + 2) / (q * rho - 1)
    scaling = 1.0 if abs(m - 2) < 1e-2 else m / (e_star * (m - 2))  # pbkrtest: F.scaling = 1 near m = 2
    f = scaling * f_unscaled
    if not np.isfinite(m) or m <= 0:
        return f, q, float("nan"), float(stats.chi2.sf(f * q, q))
    return f, q, float(m), float(stats.f.sf(f, q, m))


def _quadratic(rows: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """diag(rows @ matrix @ rows') by a BLAS product (einsum of three operands loops in C without BLAS: 600 F-test
    directions x 900 coefficients took 0.5 s a call)."""
    rows = np.atleast_2d(rows)
    return np.sum((rows @ matrix) * rows, axis=1)


def _satterthwaite(variance: np.ndarray, gradients: np.ndarray, asymptotic: np.ndarray) -> np.ndarray:
    """df = 2 Var(c)^2 / (g' A g) per contrast (gradients: contrasts x parameters); NaN where undefined."""
    denominator = _quadratic(gradients, asymptotic)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = 2.0 * variance**2 / denominator
    return np.where(np.isfinite(df) & (df > 0), df, np.nan)


def _satterthwaite_df(result, contrasts: np.ndarray) -> np.ndarray:
    """Satterthwaite df of each contrast l' beta (rows of `contrasts`), as ``lmerTest``.

    Kuznetsova, Brockhoff & Christensen (2017): df = 2 (l' C l)^2 / (g' A g), C = Cov(beta) as a
    function of the variance parameters phi = (tau^2, sigma^2), g = d(l' C l) / d phi and A the
    asymptotic covariance of phi (`_variance_derivatives`).
    """
    contrasts = np.atleast_2d(contrasts)
    cov, derivatives, asymptotic = _variance_derivatives(result)
    variance = _quadratic(contrasts, cov)
    gradients = np.column_stack([_quadratic(contrasts, d) for d in derivatives])
    return _satterthwaite(variance, gradients, asymptotic)


def _t_tests(estimate: np.ndarray, se: np.ndarray, df: np.ndarray):
    """t = estimate / se, two-sided p and 95% CI on `df` (normal where df is unknown)."""
    from scipy import stats

    t = estimate / se
    known = np.isfinite(df)
    p = np.where(known, 2 * stats.t.sf(np.abs(t), np.where(known, df, 1.0)), 2 * stats.norm.sf(np.abs(t)))
    crit = np.where(known, stats.t.ppf(0.975, np.where(known, df, 1.0)), Z95)
    return t, p, estimate - crit * se, estimate + crit * se


def _compare_structures(scores, options: dict, *, analysis: str) -> tuple[_MixedFit | str, list[dict]]:
    """Random intercept vs random intercept + slope of wave by a REML likelihood-ratio test (and AIC).

    Both are fitted by the criterion of `options` (REML by default: the fixed effects are the same, so
    REML likelihoods are comparable). The slope model adds the slope variance and the intercept-slope
    covariance; under H0 the slope variance is on the boundary of its space, so the LRT statistic is
    referred to the 50:50 mixture of chi-square(1) and chi-square(2) (Self & Liang 1987; Stram & Lee 1994;
    Verbeke & Molenberghs 2000, sec. 6.3.4): p = (P(chi2_1 > LRT) + P(chi2_2 > LRT)) / 2, which the naive
    chi-square(2) would make conservative. The slope model is kept when p < `COMPARE_ALPHA`.
    """
    from scipy import stats

    outcome = options["outcome"]
    intercept = _fit_mixed(scores, structure="intercept", **options)
    slope = _fit_mixed(scores, structure="slope", **options)
    if isinstance(intercept, str):
        return intercept, []
    if isinstance(slope, str) or not isinstance(slope.result, _GeneralResult) or slope.result.structure != "slope" \
            or not slope.result.converged or not intercept.result.converged:
        why = slope if isinstance(slope, str) else "the random-slope model could not be fitted or did not converge"
        return intercept, [dict(analysis=analysis, case_id="all", group="random slope vs random intercept",
                                outcome=outcome, test="model_comparison", effect_name="lrt",
                                note=f"no comparison ({why}); chosen: random intercept")]
    criterion = "REML" if options["reml"] else "ML"
    lrt = max(2.0 * (slope.result.loglik - intercept.result.loglik), 0.0)
    p = 0.5 * float(stats.chi2.sf(lrt, 1)) + 0.5 * float(stats.chi2.sf(lrt, 2))
    chosen = slope if p < COMPARE_ALPHA else intercept
    chosen_name = "random slope of wave" if chosen is slope else "random intercept"
    n_obs = int(intercept.result.nobs)
    rows = [
        dict(analysis=analysis, case_id="all", group=f"{label}: AIC ({criterion})", outcome=outcome,
             test="model_comparison", n=n_obs, effect_size=fitted.result.aic, effect_name="aic",
             note=f"log-likelihood {fitted.result.loglik:.3f}, {fitted.result.n_params} parameters")
        for label, fitted in (("random intercept", intercept), ("random slope of wave", slope))
    ]
    rows.append(dict(analysis=analysis, case_id="all", group="random slope vs random intercept", outcome=outcome,
                     test="model_comparison", n=n_obs, statistic=lrt, df=float("nan"), p_value=p, effect_name="lrt",
                     note=f"{criterion} likelihood-ratio test, p from the 50:50 mixture of chi-square(1) and "
                          f"chi-square(2) (slope variance on the boundary under H0); chosen: {chosen_name} "
                          f"(slope kept when p < {COMPARE_ALPHA})"))
    chosen.notes.append(f"structure chosen by the {criterion} LRT: {chosen_name}")
    return chosen, rows


def mixed_model(
    scores: pd.DataFrame,
    *,
    outcome: str,
    formula: str = "value ~ C(wave) * C(case_id)",
    groups: str = "participant_id",
    role: bool = True,
    before: str = "t0",
    after: str = "t2",
    reml: bool = True,
    p_adjust: str = "holm",
    scale_column: str = "scale",
    comparisons: str = "auto",
    structure: str = "intercept",
    organisation: str | None = None,
    role_by_wave: bool = False,
    ddf: str = "satterthwaite",
) -> pd.DataFrame:
    """Linear mixed model of a scale score over waves and cases, with case contrasts.

    Fits ``value ~ C(wave) * C(case_id)`` (plus ``C(role)`` when asked and
    present) with a random intercept per participant, and reports the fixed
    effects, the variance components, the ``before -> after`` change per case
    and the differences of that change between cases.

    Parameters
    ----------
    scores : DataFrame
        Scale scores in long format (``transforms.score_scales``):
        ``participant_id, case_id, role, wave, scale, value``.
    outcome : str
        The scale to model (a value of ``scale``).
    formula : str, default "value ~ C(wave) * C(case_id)"
        Fixed-effects formula (patsy syntax) on the rows of that scale.
    groups : str, default "participant_id"
        Column whose values get a random intercept.
    role : bool, default True
        Add ``C(role)`` as a fixed covariate when the rows hold more than one
        role (professionals and migrant-organisation members may differ in
        level; the case contrasts are then adjusted for role).
    before, after : str, default "t0", "t2"
        The waves whose difference is the change of interest.
    reml : bool, default True
        REML (as ``lme4::lmer`` default) or ML.
    p_adjust : str, default "holm"
        Adjustment within each contrast family (the per-case changes; the
        between-case differences), R ``p.adjust`` names.
    scale_column : str, default "scale"
        Column naming the scale.
    comparisons : {"auto", "pairs", "mean"}, default "auto"
        How cases are compared: ``pairs`` = every pair of cases
        (``change_difference`` rows); ``mean`` = each case against the
        unweighted mean change of all cases (``change_deviation`` rows,
        k tests, Holm); ``auto`` = pairs up to `MANY_CASES` (8) cases,
        else mean.
    structure : {"intercept", "slope", "unstructured", "compare"}, default "intercept"
        Covariance of a participant's scores (`STRUCTURES`): a random
        intercept (compound symmetry); a random intercept and a correlated
        random slope of wave (lme4 ``(1 + w | participant)`` with w the wave
        position, first wave 0, last wave 1, so the slope variance is the
        variance of the first -> last change; needs 3 waves, else the
        intercept model with a note); an unstructured covariance over waves
        (MMRM, REML, Satterthwaite df); or ``compare``: intercept vs slope
        by a REML likelihood-ratio test with the 50:50 chi-square(1)/(2)
        mixture p (the slope kept when p < `COMPARE_ALPHA`), reported in
        ``test = "model_comparison"`` rows with both AICs and the chosen
        structure.
    organisation : str or None, default None
        Column whose values get an extra random intercept (participants
        nested in organisations, statsmodels ``vc_formula`` /
        lme4 ``(1 | organisation) + (1 | participant)``). Not fitted (one
        row with a note) when a participant is in more than one.
    role_by_wave : bool, default False
        With `role`: the fixed effects ``(wave x case) x role`` (every
        wave x case x role term) instead of a role main effect; marginal
        means and changes then average the roles by their share of the
        observations.
    ddf : {"satterthwaite", "kenward-roger"}, default "satterthwaite"
        Denominator df of the t and F tests (`DDF_METHODS`): Satterthwaite
        (lmerTest's default) or Kenward-Roger (``pbkrtest``; lmerTest's
        ``ddf = "Kenward-Roger"``): SEs from the bias-adjusted covariance
        Phi_A, the KR df and, for F tests, the scaled F (see Notes). Every
        structure (and the organisation component); a fit that did not
        converge keeps Satterthwaite and says so in ``note``.

    Returns
    -------
    DataFrame
        Standard result shape, ``analysis = "cross_case_mixed_model"``:

        - ``test = "fixed_effect"`` per model term (``group`` = term,
          ``effect_name = "b"``, t in ``statistic`` with its Satterthwaite
          ``df``);
        - ``test = "f_test"``, ``group`` = ``"wave"``, ``"case"``, ``"wave x
          case"``: type III F tests of the whole effects on the cell means
          (statistic F, ``df`` = Satterthwaite denominator df,
          ``effect_size`` = numerator df), as ``anova()`` of lmerTest;
        - ``test = "model_fit"``: the (RE)ML log-likelihood (``effect_name
          = "loglik"``, as ``logLik`` of ``lme4::lmer``), AIC (``"aic"``,
          -2 logLik + 2 k, k = fixed effects + 2 variance parameters),
          ``"converged"`` and ``"singular"`` (1 = yes, 0 = no);
        - ``test = "variance_component"`` for the participant intercept and
          the residual (``effect_name = "variance"``) and the intraclass
          correlation (``effect_name = "icc"``);
        - ``test = "contrast"``, ``effect_name = "change"``: the model-based
          ``after - before`` change per case (``case_id`` = the case);
        - ``test = "contrast"``, ``effect_name = "change_difference"``:
          change in case A minus change in case B (``case_id = "all"``,
          ``group = "A - B: t0->t2"``);
        - with more than `MANY_CASES` cases (or ``comparisons = "mean"``)
          instead: ``effect_name = "change_deviation"``, the change in the
          case minus the mean change of all cases (``case_id`` = the case,
          ``group = "case - mean of k cases: t0->t2"``).

        A case with fewer than `MIN_PARTICIPANTS_PER_CASE` (5) participants
        with scores in both ``before`` and ``after`` gets a change row with
        a "not estimated" note (``n`` = those participants) and is left out
        of the case differences.

        ``n`` is the number of observations on model rows and the number
        of participants in the case(s) on contrast rows. Contrast rows
        appear only when the formula uses ``wave`` and ``case_id``; a case
        without data in ``before`` or ``after`` gets a row with a note. When the model cannot be fitted: one row with a note.
        Convergence problems, boundary (singular) fits and optimizer warnings
        are recorded in ``note`` of every row, never raised.

    Raises
    ------
    DataError
        A required column is missing, ``outcome`` is not a scale, or the
        formula names a column the table does not have.

    Notes
    -----
    Model: y_ij = x_ij' beta + u_j + e_ij, u_j ~ N(0, tau^2), e_ij ~ N(0,
    sigma^2), fitted by (RE)ML (REML by default), the model of statsmodels
    ``MixedLM`` with one random intercept. The likelihood is profiled over
    the variance ratio and computed from sums per distinct design row and
    per participant, so it never builds the observations x coefficients
    matrix: 300 sites (900 fixed effects, 90 000 observations) fit in
    seconds, where ``MixedLM`` needs minutes and gigabytes. It reaches the
    same optimum as ``MixedLM`` (fixed effects to 1e-5, a REML
    log-likelihood at least as high; `tests/stats/test_crosscase.py`) and lme4's
    values (`tests/reference`). The variance ratio is solved from the
    criterion's analytic derivative to rounding (Brent's root finder,
    relative tolerance 4 machine epsilons), not by minimising the flat
    criterion (accurate only to ~1e-8), so results agree to ~1e-12 across
    CPUs and BLAS kernels. Above `MANY_CASES` cases (participants each in
    one case, the default formula) the same fit runs in cell-means coding
    with a block solver (`_cell_layout`, `_Blocks`): the same numbers, in
    time linear in the cases. Missing
    waves are allowed (likelihood-based, valid under missing at random).
    A contrast c = L beta (e.g. change = EMM(after) - EMM(before) for one
    case) has Var(c) = L Cov(beta) L'; tests are t = c / SE with
    Satterthwaite df and CIs c +/- t(0.975, df) SE, as ``lmerTest``
    (Kuznetsova et al. 2017): df = 2 Var(c)^2 / (g' A g), g the gradient of
    Var(c) in the variance parameters (tau^2, sigma^2) and A their
    asymptotic covariance, twice the inverse Hessian of the -2 (RE)ML
    log-likelihood, both by central differences (`_satterthwaite_df`). In
    balanced data these are the classical split-plot df (within-participant
    contrasts: the residual stratum's df; cell means: the Satterthwaite mix
    of the two strata), checked in `tests/stats/test_crosscase.py`. ICC = tau^2 / (tau^2 + sigma^2).

    *Kenward-Roger* (``ddf = "kenward-roger"``; Kenward & Roger 1997, as
    ``pbkrtest::KRmodcomp``, Halekoh & Hojsgaard 2014). With Phi =
    (X'V^-1X)^-1, V = tau^2 ZZ' + sigma^2 I, G_1 = dV/dtau^2 = ZZ',
    G_2 = dV/dsigma^2 = I (analytic, per participant), P_i = -X'V^-1 G_i V^-1 X,
    Q_ij = X'V^-1 G_i V^-1 G_j V^-1 X and W the inverse of the expected REML
    information (tr(P~ G_i P~ G_j) / 2, P~ = V^-1 - V^-1 X Phi X'V^-1), the
    adjusted covariance is Phi_A = Phi + 2 Phi [sum_ij W_ij (Q_ij - P_i Phi
    P_j)] Phi. A hypothesis L beta = 0 of rank q gets F = (L beta)'(L Phi_A
    L')^-1 (L beta) / q, scaled by lambda and referred to F(q, m), lambda
    and m from A1 = sum W_ij tr(Theta Phi P_i Phi) tr(Theta Phi P_j Phi),
    A2 = sum W_ij tr(Theta Phi P_i Phi Theta Phi P_j Phi), Theta = L'(L Phi
    L')^-1 L (`_kenward_roger_f`). For one contrast (q = 1) lambda = 1 and
    m = 2 (l' Phi l)^2 / (g' W g), g_i = l' dPhi/dphi_i l: t = l'beta /
    sqrt(l' Phi_A l) on m df. All pieces are sums per participant and
    p x p products (no N x N matrix); at a boundary fit (tau^2 = 0) only
    sigma^2 is free. The other structures use the same formulas with
    G_i = dV/dphi_i for their natural parameters (variances and
    covariances; V is linear in them, so R_ij = 0), cluster by cluster
    (`_general_kenward_roger`); parameters on the boundary are held fixed. Balanced data give the exact split-plot F and t tests;
    unbalanced data match a full-matrix transcription of pbkrtest's
    algorithm to 1e-6 (random intercept) and 1e-5 (random slope,
    unstructured) (`tests/stats/test_crosscase.py`). KR assumes a REML
    fit. Type-I error at 10 and 20 participants per case: docs/calibration.md.
    Marginal means average the role effect with weights equal to each role's
    share of the observations (emmeans ``weights = "proportional"``).

    References
    ----------
    Bates, D., Maechler, M., Bolker, B. & Walker, S. (2015). Fitting linear
    mixed-effects models using lme4. Journal of Statistical Software 67(1).
    Kuznetsova, A., Brockhoff, P. B. & Christensen, R. H. B. (2017). lmerTest
    package: tests in linear mixed effects models. Journal of Statistical
    Software 82(13).
    Kenward, M. G. & Roger, J. H. (1997). Small sample inference for fixed
    effects from restricted maximum likelihood. Biometrics 53(3), 983-997.
    Halekoh, U. & Hojsgaard, S. (2014). A Kenward-Roger approximation and
    parametric bootstrap methods for tests in linear mixed models - the R
    package pbkrtest. Journal of Statistical Software 59(9).
    Fixed effects, SEs and variance components checked against
    ``lme4::lmer(Weight ~ Time + (1 | Pig), data = dietox)``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> people = pd.DataFrame({"participant_id": [f"p{i}" for i in range(30)],
    ...                        "case_id": np.repeat(["a", "b", "c"], 10)})
    >>> scores = people.merge(pd.DataFrame({"wave": ["t0", "t1", "t2"]}), how="cross")
    >>> gain = scores["case_id"].map({"a": 1.0, "b": 0.5, "c": 0.0}) * scores["wave"].map({"t0": 0, "t1": 0.5, "t2": 1})
    >>> scores = scores.assign(scale="trust", value=3 + gain + rng.normal(0, 0.3, len(scores)))
    >>> res = mixed_model(scores, outcome="trust", role=False)
    >>> change = res[res.effect_name == "change"].set_index("case_id")["effect_size"]
    >>> bool(change["a"] > change["b"] > change["c"])
    True
    """
    analysis = "cross_case_mixed_model"
    if structure not in STRUCTURES:
        raise ValueError(f"structure must be one of {STRUCTURES}, not {structure!r}")
    if ddf not in DDF_METHODS:
        raise ValueError(f"ddf must be one of {DDF_METHODS}, not {ddf!r}")
    options = dict(outcome=outcome, formula=formula, groups=groups, role=role, reml=reml, scale_column=scale_column,
                   organisation=organisation, role_by_wave=role_by_wave)
    comparison_rows: list[dict] = []
    if structure == "compare":
        fit, comparison_rows = _compare_structures(scores, options, analysis=analysis)
    else:
        fit = _fit_mixed(scores, structure=structure, **options)
    if isinstance(fit, str):
        return not_run_row(analysis, outcome, "fixed_effect", fit)
    result = fit.result
    note = "; ".join(fit.notes)
    n_obs = int(result.nobs)
    n_groups = int(fit.data[groups].nunique())
    note = f"{note}; {n_groups} {groups} values"
    from scipy import stats

    names, beta, cov = _fixed_effects(fit)
    variance, df = _one_df_tests(result, np.eye(len(beta)), ddf)
    se = np.sqrt(variance)
    t, p, low, high = _t_tests(beta, se, df)
    note_t = f"{note}; t tests with {_inference_pieces(result, ddf)[4]} df"
    rows: list[dict] = [
        dict(
            analysis=analysis, case_id="all", group=name, outcome=outcome, test="fixed_effect", n=n_obs,
            statistic=t[i], df=df[i], p_value=p[i], effect_size=beta[i], effect_name="b",
            ci_low=low[i], ci_high=high[i], note=note_t,
        )
        for i, name in enumerate(names)
    ]
    criterion = "REML" if reml else "ML"
    for label, value, name in (
        (f"log-likelihood ({criterion})", result.loglik, "loglik"),
        (f"AIC ({criterion}; {result.n_params} parameters)", result.aic, "aic"),
        ("converged (1 = yes)", float(result.converged), "converged"),
        ("singular fit (1 = a variance at 0 or a correlation at +/-1)",
         float(result.singular if isinstance(result, _GeneralResult) else result.gamma <= 1e-6), "singular"),
    ):
        rows.append(dict(analysis=analysis, case_id="all", group=label, outcome=outcome, test="model_fit",
                         n=n_obs, effect_size=value, effect_name=name, note=note))
    rows.extend(dict(row, note=f"{note}; {row['note']}") for row in comparison_rows)
    if isinstance(result, _GeneralResult):
        components = list(result.components)
        if result.structure == "intercept" and len(components) == 2:
            tau2, sigma2 = components[0][1], result.scale
            components.append((f"{groups} intercept / total", tau2 / (tau2 + sigma2), "icc"))
    else:
        tau2 = float(np.asarray(result.cov_re)[0, 0])
        sigma2 = float(result.scale)
        components = [(f"{groups} intercept", tau2, "variance"), ("residual", sigma2, "variance"),
                      (f"{groups} intercept / total", tau2 / (tau2 + sigma2), "icc")]
    for label, value, name in components:
        rows.append(
            dict(analysis=analysis, case_id="all", group=label, outcome=outcome, test="variance_component",
                 n=n_obs, effect_size=value, effect_name=name, note=note)
        )
    if _has_case_wave(fit):
        rows.extend(_whole_effect_tests(fit, outcome=outcome, note=note, ddf=ddf))
        rows.extend(_change_contrasts(fit, outcome=outcome, before=before, after=after, p_adjust=p_adjust, note=note,
                                      comparisons=comparisons, ddf=ddf))
    return result_frame(rows)


def _satterthwaite_f(fit: _MixedFit, hypothesis: np.ndarray) -> tuple[float, int, float, float]:
    """F test of K beta = 0 with Satterthwaite denominator df, as ``lmerTest::anova`` (Kuznetsova et al. 2017, sec. 3.3).

    K C K' = P D P'; each eigen-direction l_i = P_i' K is a 1-df contrast with t_i^2 = (l_i beta)^2 / D_i
    and its own Satterthwaite df nu_i; F = sum t_i^2 / q; E = sum nu_i / (nu_i - 2) over nu_i > 2,
    denominator df = 2 E / (E - q) (when E > q). Returns (F, q, df, p).
    """
    from scipy import stats

    _, beta, cov = _fixed_effects(fit)
    values, vectors = np.linalg.eigh(hypothesis @ cov @ hypothesis.T)
    keep = values > values.max() * 1e-10
    directions = vectors[:, keep].T @ hypothesis
    q = int(keep.sum())
    t2 = (directions @ beta) ** 2 / values[keep]
    nu = _satterthwaite_df(fit.result, directions)
    f = float(t2.sum() / q)
    usable = nu[np.isfinite(nu) & (nu > 2)]
    e = float(np.sum(usable / (usable - 2)))
    df = 2 * e / (e - q) if len(usable) == q and e > q else float("nan")
    p = float(stats.f.sf(f, q, df)) if np.isfinite(df) else float(stats.chi2.sf(f * q, q))
    return f, q, df, p


def _whole_effect_tests(fit: _MixedFit, *, outcome: str, note: str, ddf: str = "satterthwaite") -> list[dict]:
    """Type III F tests of wave, case and wave x case on the cell means (roles averaged by share)."""
    analysis = "cross_case_mixed_model"
    present = fit.data.groupby(["case_id", "wave"], observed=True).size()
    cases = observed_levels(fit.data["case_id"])
    waves = observed_levels(fit.data["wave"])
    if not np.all(np.isfinite(_fixed_effects(fit)[2])):
        return [dict(analysis=analysis, case_id="all", group="wave x case", outcome=outcome, test="f_test",
                     note=f"{note}; no whole-effect F tests: no covariance of the fixed effects")]
    if len(present) < len(cases) * len(waves) or len(cases) < 2 or len(waves) < 2:
        return [dict(analysis=analysis, case_id="all", group="wave x case", outcome=outcome, test="f_test",
                     note=f"{note}; no whole-effect F tests: not every case x wave cell has data")]
    grid = pd.DataFrame([(c, w) for c in cases for w in waves], columns=["case_id", "wave"])
    cells = _cell_contrasts(fit, grid)  # (cases x waves) x p, case-major

    def differences(k: int) -> np.ndarray:
        """(k - 1) x k successive differences: a full-rank set of contrasts among k levels."""
        return np.eye(k)[:-1] - np.eye(k)[1:]

    average_waves = np.full((1, len(waves)), 1.0 / len(waves))
    average_cases = np.full((1, len(cases)), 1.0 / len(cases))
    hypotheses = {
        "wave": np.kron(average_cases, differences(len(waves))),
        "case": np.kron(differences(len(cases)), average_waves),
        "wave x case": np.kron(differences(len(cases)), differences(len(waves))),
    }
    rows = []
    kenward_roger = ddf == "kenward-roger" and _kenward_roger(fit.result) is not None
    for label, on_cells in hypotheses.items():
        if kenward_roger:
            f, q, df, p = _kenward_roger_f(fit, on_cells @ cells)
            method = "Kenward-Roger scaled F and denominator df (pbkrtest KRmodcomp; lmerTest anova ddf = 'Kenward-Roger')"
        else:
            f, q, df, p = _satterthwaite_f(fit, on_cells @ cells)
            method = "Satterthwaite denominator df (lmerTest anova)"
            if ddf == "kenward-roger":
                method += "; no Kenward-Roger pieces for this fit (not converged or singular information)"
        rows.append(dict(analysis=analysis, case_id="all", group=label, outcome=outcome, test="f_test",
                         n=int(fit.result.nobs), statistic=f, df=df, p_value=p, effect_name="numerator_df",
                         effect_size=float(q),
                         note=f"{note}; type III F test on the cell means (equal weights over the other factor), "
                              f"F({q}, {df:.1f}) with {method}"))
    return rows


def _change_contrasts(fit: _MixedFit, *, outcome, before, after, p_adjust, note, comparisons="auto",
                      ddf: str = "satterthwaite") -> list[dict]:
    from scipy import stats

    analysis = "cross_case_mixed_model"
    data = fit.data
    cases = observed_levels(data["case_id"])
    waves = observed_levels(data["wave"])
    present = data.groupby(["case_id", "wave"], observed=True).size()
    names, beta, cov = _fixed_effects(fit)
    label = f"{before}->{after}"
    if before not in waves or after not in waves:
        return [dict(analysis=analysis, case_id="all", group=label, outcome=outcome, test="contrast",
                     effect_name="change", note=f"{note}; no change contrast: waves present are {waves}")]
    in_both = (
        data.loc[data["wave"].astype(str).isin([str(before), str(after)])]
        .groupby(["case_id", fit.groups], observed=True)["wave"].nunique()
    )
    pairs = (in_both == 2).groupby(level=0, observed=True).sum()
    usable = [c for c in cases if (c, before) in present.index and (c, after) in present.index]
    skipped = [c for c in cases if c not in usable]
    too_small = [c for c in usable if int(pairs.get(c, 0)) < MIN_PARTICIPANTS_PER_CASE]
    usable = [c for c in usable if c not in too_small]
    grid = pd.DataFrame({"case_id": usable})
    change_l = _cell_contrasts(fit, grid.assign(wave=after)) - _cell_contrasts(fit, grid.assign(wave=before))
    # Every pair's difference of changes from the changes' own covariance (k x k), not from a
    # (pairs x p) contrast matrix: 300 cases give 44 850 pairs, which as rows of 900 coefficients
    # took 0.3 GB and most of the fit's time.
    change = change_l @ beta
    # Satterthwaite: the SE's covariance and the df's are both Cov(beta); Kenward-Roger: SE from Phi_A, df from Phi
    cov_se, cov_df, derivatives, asymptotic, ddf_label = _inference_pieces(fit.result, ddf)
    change_cov = change_l @ cov_df @ change_l.T
    change_cov_se = change_l @ cov_se @ change_l.T
    change_derivatives = [change_l @ d @ change_l.T for d in derivatives]  # k x k each

    def tested(estimate, combine):
        """Contrasts combine @ change (combine: rows x k); Var and its gradient from the k x k matrices."""
        variance = _quadratic(combine, change_cov)
        gradients = np.column_stack([_quadratic(combine, d) for d in change_derivatives])
        df = _satterthwaite(variance, gradients, asymptotic)
        t, p, low, high = _t_tests(estimate, np.sqrt(_quadratic(combine, change_cov_se)), df)
        return estimate, df, t, p, low, high

    def pair_tested(first, second):
        """Differences change[first] - change[second] without a (pairs x k) matrix (300 cases: 44 850 pairs)."""
        def pick(matrix):
            return matrix[first, first] + matrix[second, second] - 2 * matrix[first, second]

        variance = pick(change_cov)
        gradients = np.column_stack([pick(d) for d in change_derivatives])
        df = _satterthwaite(variance, gradients, asymptotic)
        t, p, low, high = _t_tests(change[first] - change[second], np.sqrt(pick(change_cov_se)), df)
        return change[first] - change[second], df, t, p, low, high

    contrast_note = f"{note}; t tests with {ddf_label} df ({'pbkrtest' if ddf_label == 'Kenward-Roger' else 'lmerTest'}), " \
                    f"p_adjusted: {p_adjust}"
    n_case = data.groupby("case_id", observed=True)[fit.groups].nunique().reindex(usable).to_numpy(dtype=int)
    cases_text = np.array([str(case) for case in usable], dtype=object)
    k = len(usable)
    est, df, t, p, low, high = tested(change, np.eye(k))
    frames = [pd.DataFrame(dict(
        analysis=analysis, case_id=cases_text, group=label, outcome=outcome, test="contrast", n=n_case,
        statistic=t, df=df, p_value=p, p_adjusted=adjust_p(p, p_adjust), effect_size=est, effect_name="change",
        ci_low=low, ci_high=high, note=contrast_note,
    ))]
    mode = _comparison_mode(comparisons, k)
    if mode == "pairs" and k > 1:
        first, second = np.triu_indices(k, k=1)
        est, df, t, p, low, high = pair_tested(first, second)
        frames.append(pd.DataFrame(dict(
            analysis=analysis, case_id="all", group=cases_text[first] + " - " + cases_text[second] + f": {label}",
            outcome=outcome, test="contrast", n=n_case[first] + n_case[second], statistic=t, df=df, p_value=p,
            p_adjusted=adjust_p(p, p_adjust), effect_size=est, effect_name="change_difference",
            ci_low=low, ci_high=high, note=contrast_note,
        )))
    elif mode == "mean" and k > 1:
        # each case's change minus the unweighted mean change of all k cases: (I - J/k) change
        combine = np.eye(k) - np.full((k, k), 1.0 / k)
        est, df, t, p, low, high = tested(combine @ change, combine)
        frames.append(pd.DataFrame(dict(
            analysis=analysis, case_id=cases_text, group=f"case - mean of {k} cases: {label}", outcome=outcome,
            test="contrast", n=n_case, statistic=t, df=df, p_value=p, p_adjusted=adjust_p(p, p_adjust),
            effect_size=est, effect_name="change_deviation", ci_low=low, ci_high=high,
            note=f"{contrast_note}; each case against the mean change of all cases (comparisons: "
                 f"{comparisons!r}; pairs up to {MANY_CASES} cases under 'auto', or with 'pairs')",
        )))
    rows = [record for frame in frames for record in frame.to_dict("records")]
    for case in skipped:
        rows.append(dict(analysis=analysis, case_id=str(case), group=label, outcome=outcome, test="contrast",
                         effect_name="change", note=f"{note}; no change contrast: no data in {before} or {after}"))
    for case in too_small:
        rows.append(dict(analysis=analysis, case_id=str(case), group=label, outcome=outcome, test="contrast",
                         n=int(pairs.get(case, 0)), effect_name="change",
                         note=f"{note}; not estimated: {int(pairs.get(case, 0))} participant(s) with scores in both "
                              f"{before} and {after}, fewer than {MIN_PARTICIPANTS_PER_CASE} (MIN_PARTICIPANTS_PER_CASE); "
                              "left out of the case differences"))
    return rows


def marginal_means(
    scores: pd.DataFrame,
    *,
    outcome: str,
    formula: str = "value ~ C(wave) * C(case_id)",
    groups: str = "participant_id",
    role: bool = True,
    reml: bool = True,
    scale_column: str = "scale",
    structure: str = "intercept",
    organisation: str | None = None,
    role_by_wave: bool = False,
    ddf: str = "satterthwaite",
) -> pd.DataFrame:
    """Estimated marginal means per case x wave from the mixed model, for trajectory plots.

    Parameters
    ----------
    scores, outcome, formula, groups, role, reml, scale_column, structure, organisation, role_by_wave, ddf
        As in `mixed_model` (the same model is fitted; with ``ddf = "kenward-roger"`` the SE is from
        the Kenward-Roger adjusted covariance and the CI uses the Kenward-Roger df).

    Returns
    -------
    DataFrame
        One row per case x wave with data: ``case_id, wave, outcome,
        estimate, se, ci_low, ci_high, n`` (observations in the cell) and
        ``note`` (fit method and any fit problem). Empty (with these
        columns) when the model cannot be fitted or has no case/wave terms.

    Notes
    -----
    EMM = L beta with L the design row of the cell (roles averaged by their
    share of the observations); SE = sqrt(L Cov(beta) L'); 95% CI = EMM +/-
    t(0.975, df) SE with Satterthwaite df (as `mixed_model`; emmeans with
    ``lmer.df = "satterthwaite"``).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(2)
    >>> scores = pd.DataFrame({"participant_id": np.repeat([f"p{i}" for i in range(12)], 2),
    ...                        "case_id": np.repeat(["a", "b"], 12), "wave": ["t0", "t2"] * 12,
    ...                        "scale": "trust"})
    >>> scores["value"] = 3 + (scores.wave == "t2") * 0.5 + rng.normal(0, 0.2, 24)
    >>> emm = marginal_means(scores, outcome="trust", role=False)
    >>> emm[["case_id", "wave"]].values.tolist()
    [['a', 't0'], ['a', 't2'], ['b', 't0'], ['b', 't2']]
    """
    columns = ["case_id", "wave", "outcome", "estimate", "se", "ci_low", "ci_high", "n", "note"]
    if ddf not in DDF_METHODS:
        raise ValueError(f"ddf must be one of {DDF_METHODS}, not {ddf!r}")
    options = dict(outcome=outcome, formula=formula, groups=groups, role=role, reml=reml, scale_column=scale_column,
                   organisation=organisation, role_by_wave=role_by_wave)
    if structure == "compare":
        fit = _compare_structures(scores, options, analysis="cross_case_mixed_model")[0]
    else:
        fit = _fit_mixed(scores, structure=structure, **options)
    if isinstance(fit, str) or not _has_case_wave(fit):
        return pd.DataFrame(columns=columns)
    counts = fit.data.groupby(["case_id", "wave"], observed=True).size()
    cells = counts.index.to_frame(index=False)
    contrast_l = _cell_contrasts(fit, cells)
    _, beta, _ = _fixed_effects(fit)
    estimate = contrast_l @ beta
    variance, df = _one_df_tests(fit.result, contrast_l, ddf)
    se = np.sqrt(variance)
    _, _, low, high = _t_tests(estimate, se, df)
    return pd.DataFrame(
        {
            "case_id": cells["case_id"].astype(str).to_numpy(),
            "wave": cells["wave"].astype(str).to_numpy(),
            "outcome": outcome,
            "estimate": estimate,
            "se": se,
            "ci_low": low,
            "ci_high": high,
            "n": counts.to_numpy(),
            "note": "; ".join(fit.notes),
        },
        columns=columns,
    )
