"""Standard errors and confidence intervals for a fitted mixture of regressions.

Parameters and their order
--------------------------
The free parameters of a K-segment fit are, in this order,

    psi = (theta_1, ..., theta_K, pi_1, ..., pi_{K-1}, [tau]),   D = K*P + K - 1 + S,

with theta_c = (alpha_c, beta_c) (P = 2: D = 3K - 1 with sigma fixed) and
pi_K = 1 - sum_{c<K} pi_c. When the fit estimated the error standard deviation,
tau = log sigma is appended: S = 1 entry (``sigma="common"``) or S = K
(``sigma="segment"``, tau_c = log sigma_c); S = 0 for the assignment's model
(sigma fixed at 1). Every covariance matrix below is D x D in this order (see
:func:`parameter_names`).

Observed information (``method="observed"``)
--------------------------------------------
The covariance of the maximum-likelihood estimate is the inverse of the observed
information I = -d^2 l / d psi d psi' of the *mixture* log-likelihood, computed
analytically and exactly (no numerical differentiation). Store i contributes
l_i = logsumexp_c a_ic with a_ic = log pi_c + log f_ic and

    log f_ic = -n_i/2 log(2 pi) - 1/2 [RSS_i + (b_i - theta_c)' G_i (b_i - theta_c)]

(:mod:`estimator.driver`). Only two kinds of derivative of a_ic are non-zero:

    d a_ic / d theta_c = u_ic = G_i (b_i - theta_c),   d^2 a_ic / d theta_c^2 = -G_i,
    d a_ic / d pi_free = e_c = A_c / pi_c,             d^2 a_ic / d pi_free^2 = -e_c e_c',

where A (K x (K-1)) is the Jacobian of pi with respect to its free entries
(identity on top of a row of -1). With posteriors w_ic and the store's score
s_i = sum_c w_ic g_ic (g_ic the full gradient of a_ic), the Hessian of a
logsumexp is

    d^2 l_i = sum_c w_ic (d^2 a_ic + g_ic g_ic') - s_i s_i'.

This *is* Louis' identity (observed information = expected complete-data
information minus the conditional variance of the complete-data score), evaluated
exactly rather than by simulation. Summed over stores it has a block form that
never builds an N x D x D array:

    I[theta_c, theta_c] = sum_i w_ic G_i - sum_i w_ic u_ic u_ic'
    I[theta_c, pi]      = -(sum_i w_ic u_ic) e_c'
    I[pi, pi]           = 0                       (the -e e' and +e e' terms cancel)
    I                  += sum_i s_i s_i'          (= S'S with S the N x D store scores)

so the cost is O(N K P^2 + N D^2) time and O(N D) memory, milliseconds at N = 300
and fine at N = 1e6 with K <= 5. Why this rather than alternatives:

* the outer product of the store scores alone (BHHH, S'S) is only asymptotically
  equal to I and is noisy for the small segments;
* numerically differentiating the analytic gradient costs 2D gradient passes and
  a step-size choice; the tests use it only to check the analytic Hessian;
* the "posteriors as known" information sum_i w_ic G_i (below) drops the
  -sum_i w_ic u_ic u_ic' + S'S terms, i.e. the information lost because segment
  membership is unknown, and so understates the standard errors (flexmix's caveat).

Estimated sigma
---------------
With sigma_c = exp(tau_c) (tau shared by all segments when common) the
component log-density is

    log f_ic = -n_i/2 log(2 pi) - n_i tau_c - D_ic / (2 sigma_c^2),
    D_ic = RSS_i + (b_i - theta_c)' G_i (b_i - theta_c),

and the derivatives of a_ic become (u_ic = G_i (b_i - theta_c) as before)

    d a_ic / d theta_c        = u_ic / sigma_c^2,
    d a_ic / d tau_c          = v_ic = -n_i + D_ic / sigma_c^2,
    d^2 a_ic / d theta_c^2    = -G_i / sigma_c^2,
    d^2 a_ic / d theta_c dtau = -2 u_ic / sigma_c^2,
    d^2 a_ic / d tau_c^2      = -2 D_ic / sigma_c^2,

(pi unchanged). The same logsumexp Hessian then adds, with j(c) the tau entry
segment c uses (c itself, or the single common one) and ~u_ic = u_ic / sigma_c^2:

    I[theta_c, theta_c]  = sum_i w_ic G_i / sigma_c^2 - sum_i w_ic ~u_ic ~u_ic'
    I[theta_c, tau_j(c)] = -sum_i w_ic ~u_ic (v_ic - 2)
    I[pi, tau_j]         = -sum_{c: j(c) = j} e_c sum_i w_ic v_ic
    I[tau_j, tau_j]      = -sum_{c: j(c) = j} sum_i w_ic (v_ic^2 - 2 D_ic / sigma_c^2)
    I                   += S'S                    (S now with the tau scores sum_c w_ic v_ic)

and nothing else (a_ic depends on one tau only). log sigma rather than sigma is
the parameter because it is unconstrained and its likelihood is closer to
quadratic. Reported for sigma: the standard error by the delta method,
se(sigma_c) = sigma_c se(tau_c), and the interval on the log scale mapped back,
sigma_c exp(+- z se(tau_c)) (always positive, asymmetric). A sigma at the
driver's floor (a millionth of the data's scale) is a boundary, not a maximum:
an :class:`InferenceWarning` and NaN errors. The fixed-sigma arithmetic is untouched
(no sigma enters it).

The standard error of pi_K comes from the delta method, var(pi_K) = 1' V_pi 1.
Intervals are Wald intervals estimate +- z se with z = Phi^-1((1 + level)/2),
except for pi: its one interval (``ci_pi``, ``pi.ci`` in JSON, the summary's) is
the Wald interval on the logit scale mapped back,
expit(logit(pi) +- z se / (pi (1 - pi))), which stays inside (0, 1) and is
asymmetric near the boundary, where a symmetric interval would leave [0, 1]
(the standard error is the delta method's on the pi scale either way).

Concomitant variables
---------------------
With a multinomial-logit prior, pi_ic = softmax_c(gamma_c' z_i) with gamma_K = 0,
the prior's parameters are gamma_{c,q} (c < K) instead of pi_1..pi_{K-1}, and
log pi_ic enters a_ic with gradient (e_c - pi_i) kron z_i and Hessian
-(diag pi_i - pi_i pi_i') kron z_i z_i' (:mod:`estimator.prior`); the assembly is
the same. Reported: gamma with its standard errors and Wald intervals, and the
prior probabilities at chosen covariates, pi(z), with delta-method standard
errors (:meth:`Inference.prior_at`); ``pi``/``se_pi`` are then the mean prior
over the units and its delta-method standard error.

A singular or ill-conditioned information matrix (an empty or collapsed segment,
two identical segments, a fit that is not at a maximum) gives an
:class:`InferenceWarning` and NaN standard errors and intervals, never an exception.
Conditioning is judged on the correlation-scaled information, so it does not
depend on the units of the parameters.

Naive (``method="naive"``)
--------------------------
For comparison only: weighted least squares given the posteriors as known
weights (sigma = 1): cov(theta_c) = (sum_i w_ic G_i)^-1, segments independent,
and the multinomial cov(pi) = (diag(pi) - pi pi') / N, so se(pi_c) = sqrt(pi_c (1 - pi_c) / N).
With estimated sigma: cov(theta_c) = sigma_c^2 (sum_i w_ic G_i)^-1 and the
textbook var(log sigma_j) = 1 / (2 sum_{c: j(c) = j} sum_i w_ic n_i), independent
of the rest.

Parametric bootstrap (``method="bootstrap"``)
---------------------------------------------
B panels are drawn from the fitted model with the same N and the same design
(each store keeps its Gram matrix and number of weeks) and refitted by EM (with
the fit's sigma mode). The draw is made directly in sufficient-statistic space,
which is exact: with y_i = X_i theta_c + sigma_c eps_i and eps_i ~ N(0, I), the
store's OLS estimate is b_i ~ N(theta_c, sigma_c^2 G_i^-1) and its
RSS_i ~ sigma_c^2 chi2(n_i - P), independently, and EM reads nothing else. Each
draw b has its own random stream ``seed_sequence(seed, b)`` (so results do not
depend on ``n_jobs``); each refit starts from the original estimate and from
``n_init`` drawn starts. Label
switching is undone by matching the refit's segments to the original ones with
:func:`scipy.optimize.linear_sum_assignment` on the distance
(theta*_c - theta_d)' Gbar (theta*_c - theta_d), Gbar the mean Gram matrix (the
metric the likelihood uses). Standard errors are the standard deviations of the
matched replicates, intervals their percentiles (sigma's too). Refits that lost
a segment, or whose sigma ended at the floor, are discarded and counted.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
from scipy.special import expit, logit, ndtri, softmax

from .derivatives import Derivatives, mixture_derivatives
from .engine import Problem, posteriors, prepare
from .fit import refit
from .init import SeedLike, seed_sequence
from .logs import get_logger
from .options import DEFAULT_MAX_ITER, DEFAULT_TOL, FitOptions
from .panel import Panel, SufficientStats, as_stats
from .params import (
    DEFAULT_COEF_NAMES,
    MIN_SEGMENT_WEIGHT,
    check_theta_pi,
    default_coef_names,
    match_segments,
    n_sigma_params,
    sigma_groups,
)
from .provenance import jsonable
from .results import MixtureFit
from .space import ParameterSpace, space_of
from .threads import one_blas_thread
from .validation import check_instance, check_seed, check_whole_number

Method = Literal["observed", "naive", "bootstrap"]
FitLike = (
    MixtureFit | tuple[np.ndarray, np.ndarray] | tuple[np.ndarray, np.ndarray, np.ndarray | float]
)
"""A fit, or its parameters ``(theta (K, P), pi (K,))`` or ``(theta, pi, sigma)``.

``sigma`` of length K means one per segment, a scalar or length 1 one common sigma.
"""

LOG = get_logger(__name__)
DEFAULT_LEVEL = 0.95
MAX_CONDITION = 1e10
"""Largest condition number of the correlation-scaled information that is inverted."""
DEFAULT_N_BOOT = 200
DEFAULT_BOOT_N_INIT = 5


class InferenceWarning(UserWarning):
    """The covariance could not be estimated (singular information, empty segment)."""


# ---------------------------------------------------------------------------
# Result object
# ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Inference:
    """Standard errors and intervals for every parameter of one fit.

    Attributes
    ----------
    method : {"observed", "naive", "bootstrap"}
    level : float
        Coverage of the intervals (0.95).
    theta : ndarray of shape (K, P)
        The estimates the errors belong to (segments in the fit's order).
    pi : ndarray of shape (K,)
        Mixing proportions (the mean prior over the units with concomitants).
    cov : ndarray of shape (D, D)
        Covariance of the free parameters (theta_1, ..., theta_K, pi_1, ..., pi_{K-1}
        or gamma, [log sigma]), D = K*P + (K - 1) Q + S; all NaN when it could not be
        estimated.
    se_theta : ndarray of shape (K, P)
    se_pi : ndarray of shape (K,)
        pi_K's through the delta method (0 when K = 1: pi_1 = 1 is not estimated).
    ci_theta : ndarray of shape (K, P, 2)
        Lower and upper limits: Wald for observed and naive, percentile for bootstrap.
    ci_pi : ndarray of shape (K, 2)
        Logit-scale Wald interval mapped back (observed, naive; inside (0, 1),
        [1, 1] for K = 1), percentile (bootstrap).
    valid : bool
        False when the covariance could not be estimated (everything NaN).
    coef_names : tuple of str of length P
    details : dict
        Method-specific diagnostics (condition number, bootstrap counts, ...).
    replicates : ndarray of shape (B, K*P + K [+ (K-1) Q] + S) or None
        Bootstrap only: the matched replicates, (theta flat, pi_1..pi_K, [gamma of
        segments 1..K-1 against K], sigma) per row (sigma itself, S = 0, 1 or K).
    sigma_mode : {"fixed", "common", "segment"}
    sigma : ndarray of shape (K,) or None
        The fit's error standard deviations; None when fixed at 1.
    se_sigma : ndarray of shape (K,) or None
        Delta method, sigma_c se(log sigma_c) (bootstrap: SD of the replicates).
    ci_sigma : ndarray of shape (K, 2) or None
        Wald interval for log sigma mapped back, sigma_c exp(+- z se(log sigma_c))
        (bootstrap: percentile).
    gamma : ndarray of shape (K, Q) or None
        Concomitant coefficients (last row 0); None for constant pi.
    se_gamma : ndarray of shape (K, Q) or None
        Standard errors (0 in the reference row K).
    ci_gamma : ndarray of shape (K, Q, 2) or None
    covariate_names : tuple of str of length Q or None
    """

    method: str
    level: float
    theta: np.ndarray
    pi: np.ndarray
    cov: np.ndarray
    se_theta: np.ndarray
    se_pi: np.ndarray
    ci_theta: np.ndarray
    ci_pi: np.ndarray
    valid: bool
    coef_names: tuple[str, ...]
    details: dict[str, Any] = field(default_factory=dict)
    replicates: np.ndarray | None = None
    sigma_mode: str = "fixed"
    sigma: np.ndarray | None = None
    se_sigma: np.ndarray | None = None
    ci_sigma: np.ndarray | None = None
    gamma: np.ndarray | None = None
    se_gamma: np.ndarray | None = None
    ci_gamma: np.ndarray | None = None
    covariate_names: tuple[str, ...] | None = None

    @property
    def n_components(self) -> int:
        """Number of segments K."""
        return self.theta.shape[0]

    @property
    def n_sigma(self) -> int:
        """Number of estimated log sigma entries S: 0 (fixed), 1 (common) or K (segment)."""
        return n_sigma_params(self.sigma_mode, self.n_components)

    @property
    def full_cov(self) -> np.ndarray:
        """Covariance of (theta flat, pi_1..pi_K, log sigma), (KP + K + S) square; singular.

        Constant pi only (with concomitants the prior block is gamma's, as in ``cov``).
        """
        return self._space().free_to_full() @ self.cov @ self._space().free_to_full().T

    def _space(self) -> ParameterSpace:
        n_covariates = None if self.gamma is None else self.gamma.shape[1]
        return space_of(self.n_components, self.theta.shape[1], self.sigma_mode, n_covariates)

    def covers(self, theta: np.ndarray, pi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Whether each interval contains the given (true) value.

        Parameters
        ----------
        theta : array_like of shape (K, P)
            Truth, segments in the same order as this object (see :meth:`reordered`).
        pi : array_like of shape (K,)

        Returns
        -------
        theta_covered : ndarray of bool, shape (K, P)
        pi_covered : ndarray of bool, shape (K,)
            False where the interval is NaN.
        """
        theta = np.asarray(theta, dtype=float).reshape(self.theta.shape)
        pi = np.asarray(pi, dtype=float).reshape(self.pi.shape)
        return _inside(theta, self.ci_theta), _inside(pi, self.ci_pi)

    def covers_sigma(self, sigma: np.ndarray | float) -> np.ndarray:
        """Whether each sigma interval contains the given (true) sigma.

        Parameters
        ----------
        sigma : float or array_like of shape (K,)
            Truth, segments in the same order as this object.

        Returns
        -------
        ndarray of bool, shape (K,)
            False where the interval is NaN or sigma was not estimated.
        """
        if self.ci_sigma is None:
            return np.zeros(self.n_components, dtype=bool)
        sigma = np.broadcast_to(np.asarray(sigma, dtype=float), (self.n_components,))
        return _inside(sigma, self.ci_sigma)

    def covers_gamma(self, gamma: np.ndarray) -> np.ndarray:
        """Whether each gamma interval (rows 1..K-1) contains the given (true) gamma (K, Q).

        Returns
        -------
        ndarray of bool, shape (K - 1, Q)
        """
        if self.ci_gamma is None:
            raise ValueError("this inference has no concomitant coefficients (gamma)")
        gamma = np.asarray(gamma, dtype=float).reshape(self.gamma.shape)
        return _inside(gamma - gamma[-1], self.ci_gamma)[:-1]

    def prior_at(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """pi(z) with delta-method standard errors and Wald intervals on the logit scale.

        Parameters
        ----------
        z : array_like of shape (M, Q) or (Q,)
            Covariate values (in the fit's covariate columns, intercept included).

        Returns
        -------
        pi : ndarray of shape (M, K)
        se : ndarray of shape (M, K)
        ci : ndarray of shape (M, K, 2)
            expit(logit(pi) +- z se / (pi (1 - pi))), inside (0, 1).
        """
        if self.gamma is None:
            raise ValueError("prior_at needs concomitant coefficients (a fit with covariates)")
        z = np.atleast_2d(np.asarray(z, dtype=float))
        n_cov = self.gamma.shape[1]
        if z.shape[1] != n_cov:
            raise ValueError(f"z must have {n_cov} columns (the covariates), got {z.shape}")
        pi = softmax(z @ self.gamma.T, axis=1)
        head = self.n_components - 1
        block = self._space().prior_slice
        cov = self.cov[block, block]
        # d pi_c / d gamma_{d,q} = pi_c (delta_cd - pi_d) z_q
        jac = pi[:, :, None] * (np.eye(self.n_components)[None, :, :head] - pi[:, None, :head])
        jac = (jac[..., None] * z[:, None, None, :]).reshape(len(z), self.n_components, -1)
        se = np.sqrt(np.clip(np.einsum("mki,ij,mkj->mk", jac, cov, jac), 0.0, None))
        return pi, se, _logit_interval(pi, se, self.level)

    def reordered(self, order: np.ndarray) -> Inference:
        """The same inference with segments permuted: new segment j is old segment ``order[j]``.

        Parameters
        ----------
        order : array_like of int, shape (K,)
            A permutation (for example from matching the fit to a known truth).
        """
        order = np.asarray(order, dtype=int)
        n_components = self.theta.shape[0]
        if sorted(order.tolist()) != list(range(n_components)):
            raise ValueError(f"order must be a permutation of 0..{n_components - 1}, got {order}")
        space = self._space()
        if self.gamma is None:
            full_index = space.full_order(order)
            full = self.full_cov[np.ix_(full_index, full_index)]
            n_base = n_components * (self.theta.shape[1] + 1)
            free = np.delete(np.delete(full, n_base - 1, axis=0), n_base - 1, axis=1)
        else:
            jac = space.reorder_map(order)
            free = jac @ self.cov @ jac.T
            full_index = None
        reps = None
        if self.replicates is not None and full_index is not None:
            reps = self.replicates[:, full_index]
        permuted = {
            name: None if getattr(self, name) is None else getattr(self, name)[order]
            for name in ("sigma", "se_sigma", "ci_sigma")
        }
        gamma_fields = {}
        if self.gamma is not None:
            gamma = self.gamma[order] - self.gamma[order][-1]
            se = np.sqrt(np.clip(np.diag(free)[space.prior_slice], 0.0, None))
            se_gamma = np.vstack([se.reshape(n_components - 1, -1), np.zeros(gamma.shape[1])])
            gamma_fields = {
                "gamma": gamma,
                "se_gamma": se_gamma,
                "ci_gamma": _wald_interval(gamma, se_gamma, self.level),
            }
        return replace(
            self,
            theta=self.theta[order],
            pi=self.pi[order],
            cov=free,
            se_theta=self.se_theta[order],
            se_pi=self.se_pi[order],
            ci_theta=self.ci_theta[order],
            ci_pi=self.ci_pi[order],
            replicates=reps,
            **permuted,
            **gamma_fields,
        )

    def to_dict(self, include_cov: bool = False) -> dict[str, Any]:
        """JSON-ready form (NaN written as None).

        Per coefficient name (``alpha``, ``beta``) and for ``pi``: ``se`` (K values)
        and ``ci`` (K pairs [lower, upper]); ``pi`` also has ``interval``
        ("logit-wald" or "percentile"). With estimated sigma also ``sigma`` (``se``,
        ``ci`` and ``interval``: "log-wald" or "percentile") and ``sigma_mode``; with
        concomitants ``gamma`` (``estimate``, ``se``, ``ci``, ``covariates``).
        ``cov`` and ``parameters`` (its row names) only with ``include_cov``.
        """
        out: dict[str, Any] = {
            "method": self.method,
            "level": self.level,
            "valid": self.valid,
            "interval": "percentile" if self.method == "bootstrap" else "wald",
        }
        for j, name in enumerate(self.coef_names):
            out[name] = {"se": jsonable(self.se_theta[:, j]), "ci": jsonable(self.ci_theta[:, j])}
        out["pi"] = {
            "se": jsonable(self.se_pi),
            "ci": jsonable(self.ci_pi),
            "interval": "percentile" if self.method == "bootstrap" else "logit-wald",
        }
        if self.sigma_mode != "fixed":
            out["sigma_mode"] = self.sigma_mode
            out["sigma"] = {
                "se": jsonable(self.se_sigma),
                "ci": jsonable(self.ci_sigma),
                "interval": "percentile" if self.method == "bootstrap" else "log-wald",
            }
        if self.gamma is not None:
            out["gamma"] = {
                "covariates": list(self.covariate_names or ()),
                "estimate": jsonable(self.gamma),
                "se": jsonable(self.se_gamma),
                "ci": jsonable(self.ci_gamma),
            }
        out.update({key: jsonable(value) for key, value in self.details.items()})
        if include_cov:
            out["parameters"] = self._space().names(self.coef_names, self.covariate_names)
            out["cov"] = jsonable(self.cov)
        return out


# ---------------------------------------------------------------------------
# Derivatives of the mixture log-likelihood
# ---------------------------------------------------------------------------


def parameter_names(
    n_components: int,
    coef_names: tuple[str, ...] = DEFAULT_COEF_NAMES,
    sigma_mode: str = "fixed",
) -> list[str]:
    """Names of the D free parameters in covariance order: alpha_1, ..., pi_{K-1}, [log sigma].

    ``log_sigma`` (common) or ``log_sigma_1 .. log_sigma_K`` (segment) come last.
    """
    return space_of(n_components, len(coef_names), sigma_mode).names(tuple(coef_names))


@one_blas_thread
def store_scores(
    theta: np.ndarray,
    pi: np.ndarray,
    stats: SufficientStats,
    sigma: np.ndarray | float | None = None,
) -> np.ndarray:
    """Each unit's score, the gradient of l_i with respect to the D free parameters.

    Parameters
    ----------
    theta : array_like of shape (K, P)
    pi : array_like of shape (K,)
        All entries positive.
    stats : SufficientStats
    sigma : float or array_like of shape (1,) or (K,), optional
        Estimated error standard deviation(s): one common (scalar or length 1) or
        one per segment (length K). None: fixed at 1, no log sigma parameter.

    Returns
    -------
    ndarray of shape (N, D)
        Columns in the order of :func:`parameter_names`; summed over units it is
        the gradient of the log-likelihood (0 at the maximum).
    """
    params = _check_params(theta, pi, stats, sigma)
    return _derivatives(params, stats, keep_store_scores=True).store_scores[0]


@one_blas_thread
def score_and_hessian(
    theta: np.ndarray,
    pi: np.ndarray,
    stats: SufficientStats,
    sigma: np.ndarray | float | None = None,
) -> tuple[float, np.ndarray, np.ndarray]:
    """Log-likelihood, its gradient and its Hessian in the D free parameters (analytic).

    Parameters
    ----------
    theta : array_like of shape (K, P)
    pi : array_like of shape (K,)
        All entries positive (the derivatives in pi are undefined at pi_c = 0).
    stats : SufficientStats
        Shared or per-unit Gram matrices.
    sigma : float or array_like of shape (1,) or (K,), optional
        As in :func:`store_scores`; the derivatives are in log sigma.

    Returns
    -------
    loglik : float
    score : ndarray of shape (D,)
    hessian : ndarray of shape (D, D)
        Symmetric; minus the observed information. See the module docstring.
    """
    params = _check_params(theta, pi, stats, sigma)
    deriv = _derivatives(params, stats)
    return float(deriv.loglik[0]), deriv.score[0], deriv.hessian[0]


# ---------------------------------------------------------------------------
# The three kinds of standard error
# ---------------------------------------------------------------------------


@one_blas_thread
def observed_information_se(
    fit: FitLike, stats: SufficientStats, level: float = DEFAULT_LEVEL
) -> Inference:
    """Standard errors and Wald intervals from the exact observed information.

    Parameters
    ----------
    fit : MixtureFit or tuple (theta (K, P), pi (K,)[, sigma])
        The maximum-likelihood estimate (sigma fixed, common or per segment;
        constant pi or, from a MixtureFit, concomitant coefficients).
    stats : SufficientStats
        The data it was fitted to.
    level : float
        Interval coverage.

    Returns
    -------
    Inference
        ``method="observed"``; ``details`` holds ``condition_number`` (of the
        correlation-scaled information) and ``newton_step_in_se``, the largest
        |I^-1 score| / se: near 0 at a converged maximum.
        An :class:`InferenceWarning` and NaN errors when the information is
        singular, ill-conditioned or not positive definite, or a sigma is at the floor.
    """
    stats = as_stats(stats, "stats")
    params = _fit_params(fit, stats)
    dim = params.problem.space.dim
    details: dict[str, Any] = {"condition_number": float("nan"), "newton_step_in_se": float("nan")}
    W = _posteriors(params, stats)
    problem = _sigma_at_floor(params) or _empty_segments(params.pi, W)
    cov = np.full((dim, dim), np.nan)
    if problem is None:
        deriv = _derivatives(params, stats)
        score, hessian = deriv.score[0], deriv.hessian[0]
        cov, condition, problem = _invert(-hessian)
        details["condition_number"] = condition
        if problem is None:
            se = np.sqrt(np.diag(cov))
            details["newton_step_in_se"] = float(np.max(np.abs(cov @ score) / se, initial=0.0))
    if problem is not None:
        _warn(f"observed-information standard errors unavailable: {problem}")
    return _wald("observed", params, cov, level, problem is None, details, stats)


@one_blas_thread
def naive_se(fit: FitLike, stats: SufficientStats, level: float = DEFAULT_LEVEL) -> Inference:
    """The "posteriors as known" standard errors (comparison only; they are too small).

    cov(theta_c) = sigma_c^2 (sum_i w_ic G_i)^-1 (weighted least squares; sigma_c = 1
    when fixed), segments independent, cov(pi) = (diag(pi) - pi pi') / N, and with
    estimated sigma var(log sigma_j) = 1 / (2 sum_{c in j} sum_i w_ic n_i)
    (:meth:`estimator.driver.ComponentDriver.naive_information`); with concomitants
    the logit information sum_i (diag pi_i - pi_i pi_i') kron z_i z_i'.

    Parameters
    ----------
    fit : MixtureFit or tuple (theta (K, P), pi (K,)[, sigma])
    stats : SufficientStats
    level : float

    Returns
    -------
    Inference
        ``method="naive"``.
    """
    stats = as_stats(stats, "stats")
    params = _fit_params(fit, stats)
    space = params.problem.space
    dim = space.dim
    cov = np.full((dim, dim), np.nan)
    W = _posteriors(params, stats)
    problem = _sigma_at_floor(params) or _empty_segments(params.pi, W)
    if problem is None:
        info = np.zeros((dim, dim))
        blocks = params.problem.driver.naive_information(W.T, params.sigma_k)
        index = space.component_index()
        for c in range(len(params.pi)):
            info[index[c][:, None], index[c][None, :]] += blocks[c]
        prior = space.prior_slice
        info[prior, prior] = params.problem.prior.naive_information(params.prior)
        cov, _, problem = _invert(info)
    if problem is not None:
        _warn(f"naive standard errors unavailable: {problem}")
    return _wald("naive", params, cov, level, problem is None, {}, stats)


def bootstrap_se(
    fit: FitLike,
    data: SufficientStats | Panel,
    n_boot: int = DEFAULT_N_BOOT,
    *,
    seed: SeedLike = None,
    n_jobs: int = 1,
    n_init: int = DEFAULT_BOOT_N_INIT,
    level: float = DEFAULT_LEVEL,
    tol: float = DEFAULT_TOL,
    max_iter: int = DEFAULT_MAX_ITER,
    options: FitOptions | None = None,
) -> Inference:
    """Parametric-bootstrap standard errors and percentile intervals.

    Parameters
    ----------
    fit : MixtureFit or tuple (theta (K, P), pi (K,)[, sigma])
        The estimate; the model it defines generates the bootstrap data sets, and
        the refits estimate sigma the same way (fixed, common or per segment).
    data : SufficientStats or Panel
        The data the fit came from (anything with a ``sufficient_stats()``
        method will do): N, each unit's design (Gram matrix) and
        number of observations are kept (see the module docstring for why the
        sufficient statistics are all that is needed).
    n_boot : int
        Number of bootstrap data sets B.
    seed : int, SeedSequence, Generator or None
        Draw b uses ``seed_sequence(seed, b)``; the result does not depend on ``n_jobs``.
    n_jobs : int
        joblib workers (-1: all cores).
    n_init : int
        Drawn EM starts per refit, besides the original estimate.
    level : float
    tol, max_iter : float, int
        EM stopping rule of the refits.
    options : FitOptions, optional
        The refits' other settings (guard, init); ``n_init``, ``tol``,
        ``max_iter`` and the sigma mode above take precedence.

    Returns
    -------
    Inference
        ``method="bootstrap"``; ``details`` holds ``n_boot``, ``n_used``,
        ``n_degenerate`` (refits that lost a segment or whose sigma hit the
        floor, discarded) and ``n_not_converged``; ``replicates`` the matched estimates.
    """
    stats = as_stats(data, "data")
    params = _fit_params(fit, stats)
    n_boot = check_whole_number(n_boot, "n_boot", minimum=2)
    n_init = check_whole_number(n_init, "n_init", minimum=0)
    check_seed(seed, "seed")
    n_components, n_coef = params.theta.shape
    n_gamma = params.problem.prior.n_params if params.problem.prior.concomitant else 0
    dim = params.problem.space.dim
    root = seed_sequence(seed)
    refit_options = (options or FitOptions()).replace(
        n_init=n_init, tol=tol, max_iter=max_iter, sigma=params.sigma_mode
    )
    W = _posteriors(params, stats)
    problem = _sigma_at_floor(params) or _empty_segments(params.pi, W)
    if problem is not None:
        _warn(f"bootstrap standard errors unavailable: {problem}")
        nan_cov = np.full((dim, dim), np.nan)
        return _wald("bootstrap", params, nan_cov, level, False, {}, stats)
    tasks = ((params, stats, seed_sequence(root, b), refit_options) for b in range(n_boot))
    if n_jobs == 1:  # in this process, as joblib would run it: no joblib needed
        runs = [_bootstrap_replicate(*task) for task in tasks]
    else:
        from joblib import Parallel, delayed

        runs = Parallel(n_jobs=n_jobs)(delayed(_bootstrap_replicate)(*task) for task in tasks)
    reps = np.array([r[0] for r in runs])
    degenerate = np.array([r[2] for r in runs])
    converged = np.array([r[1] for r in runs])
    used = reps[~degenerate]
    details = {
        "n_boot": n_boot,
        "n_used": int(len(used)),
        "n_degenerate": int(degenerate.sum()),
        "n_not_converged": int((~converged & ~degenerate).sum()),
    }
    if len(used) < 2:
        _warn(f"bootstrap: {len(used)} of {n_boot} refits kept a segment for every K")
        cov = np.full((dim, dim), np.nan)
        return _wald("bootstrap", params, cov, level, False, details, stats)
    if details["n_degenerate"]:
        _warn(f"bootstrap: {details['n_degenerate']} of {n_boot} refits lost a segment (dropped)")
    LOG.info("bootstrap standard errors: %d of %d refits used, %d not converged",
             details["n_used"], n_boot, details["n_not_converged"])  # fmt: skip
    free = _replicates_to_free(used, n_components, n_coef, n_gamma)
    cov = np.atleast_2d(np.cov(free, rowvar=False))
    tails = 100.0 * np.array([(1.0 - level) / 2.0, (1.0 + level) / 2.0])
    limits = np.percentile(used, tails, axis=0).T
    n_theta = n_components * n_coef
    n_pi = n_theta + n_components
    n_base = n_pi + n_gamma
    base = _wald("bootstrap", params, cov, level, True, details, stats)
    extra: dict[str, np.ndarray] = {}
    if params.sigma is not None:
        extra["se_sigma"] = params.groups @ np.std(used[:, n_base:], axis=0, ddof=1)
        extra["ci_sigma"] = params.groups @ limits[n_base:]
    if n_gamma:
        head = limits[n_pi:n_base].reshape(n_components - 1, -1, 2)
        extra["ci_gamma"] = np.concatenate([head, np.zeros((1, head.shape[1], 2))])
    return replace(
        base,
        ci_theta=limits[:n_theta].reshape(n_components, n_coef, 2),
        ci_pi=limits[n_theta:n_pi],
        replicates=used,
        **extra,
    )


# ---------------------------------------------------------------------------
# Private helpers
# ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Params:
    """Validated parameters of one fit and the problem they belong to.

    theta (K, P), the prior's state (pi (K,) or gamma (K, Q)), sigma (S,) or None
    (fixed), sigma_mode, coefficient and covariate names, the problem.
    """

    theta: np.ndarray
    prior: np.ndarray
    sigma: np.ndarray | None
    sigma_mode: str
    names: tuple[str, ...]
    problem: Problem
    sigma_floored: bool = False
    covariate_names: tuple[str, ...] | None = None

    @property
    def n_sigma(self) -> int:
        return 0 if self.sigma is None else self.sigma.size

    @property
    def groups(self) -> np.ndarray:
        """(K, S) 0/1: which log sigma each segment uses."""
        return sigma_groups(len(self.theta), self.n_sigma)

    @property
    def sigma_k(self) -> np.ndarray | None:
        """Each segment's sigma (K,), None when fixed."""
        return None if self.sigma is None else self.groups @ self.sigma

    @property
    def covariates(self) -> np.ndarray | None:
        return getattr(self.problem.prior, "covariates", None)

    @property
    def pi(self) -> np.ndarray:
        """Mixing proportions (K,): pi, or the mean prior with concomitants."""
        return self.problem.prior.mean_pi(self.prior[None])[0]


def _replicates_to_free(
    reps: np.ndarray, n_components: int, n_coef: int, n_gamma: int = 0
) -> np.ndarray:
    """Replicates (theta, pi_1..pi_K, [gamma], sigma) -> free coordinates.

    (theta, pi_1..pi_{K-1}, log sigma) for constant pi; (theta, gamma, log sigma)
    with concomitants.
    """
    n_theta = n_components * n_coef
    n_pi = n_theta + n_components
    prior = reps[:, n_pi : n_pi + n_gamma] if n_gamma else reps[:, n_theta : n_pi - 1]
    return np.hstack([reps[:, :n_theta], prior, np.log(reps[:, n_pi + n_gamma :])])


def _check_params(
    theta: np.ndarray,
    pi: np.ndarray,
    stats: SufficientStats,
    sigma: np.ndarray | float | None = None,
    sigma_mode: str | None = None,
    names: tuple[str, ...] | None = None,
) -> _Params:
    theta, pi = check_theta_pi(theta, pi, stats.n_coef)
    if sigma is not None:
        sigma = np.asarray(sigma, dtype=float).ravel()
        if sigma.size not in (1, pi.size):
            raise ValueError(
                f"sigma must be a scalar (common) or have one entry per segment ({pi.size}), "
                f"got {sigma.size} entries"
            )
        if not (np.all(np.isfinite(sigma)) and np.all(sigma > 0)):
            raise ValueError(f"sigma must be finite and positive, got {sigma.tolist()}")
        if sigma_mode is None:
            sigma_mode = "common" if sigma.size == 1 else "segment"
    if names is None:
        names = default_coef_names(theta.shape[1])
    mode = sigma_mode or "fixed"
    problem = prepare(stats, len(pi), mode)
    return _Params(theta, pi, sigma, mode, tuple(names), problem)


def _fit_params(fit: FitLike, stats: SufficientStats) -> _Params:
    if isinstance(fit, MixtureFit):
        if fit.posteriors.shape[0] != stats.n_stores:
            raise ValueError(
                f"the fit has posteriors for {fit.posteriors.shape[0]} units but the data "
                f"has {stats.n_stores}: pass the statistics the fit came from"
            )
        mode = fit.sigma_mode
        sigma = None if mode == "fixed" else fit.sigma[: n_sigma_params(mode, fit.n_components)]
        if fit.gamma is None:
            params = _check_params(fit.theta, fit.pi, stats, sigma, mode, fit.names())
            return replace(params, sigma_floored=fit.sigma_floored)
        if fit.covariates is None:
            raise ValueError("a concomitant fit must carry its covariates (fit.covariates)")
        problem = prepare(stats, fit.n_components, mode, fit.covariates)
        return _Params(
            fit.theta,
            fit.gamma,
            sigma,
            mode,
            fit.names(),
            problem,
            fit.sigma_floored,
            fit.covariate_names,
        )
    check_instance(fit, "fit", (MixtureFit, tuple, list), " (a fit, or (theta, pi[, sigma]))")
    if len(fit) not in (2, 3):
        raise ValueError(f"fit must be a MixtureFit or (theta, pi[, sigma]), got {len(fit)} items")
    return _check_params(*fit[:2], stats, *fit[2:])


def _posteriors(params: _Params, stats: SufficientStats) -> np.ndarray:
    """Posteriors (N, K) at the fit."""
    return posteriors(stats, params.theta, params.prior, params.sigma_k, params.covariates)[1]


def _derivatives(params: _Params, stats: SufficientStats, **keep: bool) -> Derivatives:
    """Log-likelihood, score and Hessian in the free coordinates of one fit."""
    sigma_k = params.sigma_k
    problem = params.problem
    return mixture_derivatives(
        problem.driver,
        problem.prior,
        problem.space,
        params.theta[None],
        params.prior[None],
        None if sigma_k is None else sigma_k[None],
        coords="free",
        **keep,
    )


def _empty_segments(pi: np.ndarray, W: np.ndarray) -> str | None:
    """A message when some segment is empty (pi or posterior weight ~0), else None."""
    weight = W.sum(axis=0)
    empty = np.flatnonzero((pi < MIN_SEGMENT_WEIGHT) | (weight < MIN_SEGMENT_WEIGHT))
    if empty.size:
        return (
            f"segment(s) {(empty + 1).tolist()} are empty (pi = {pi[empty].tolist()}); "
            "the model has more segments than the data support"
        )
    return None


def _sigma_at_floor(params: _Params) -> str | None:
    """A message when an estimated sigma sits at the driver's floor, else None."""
    if params.sigma is None:
        return None
    floor = params.problem.driver.sigma_floor
    if not params.sigma_floored and np.all(params.sigma > floor * (1.0 + 1e-9)):
        return None
    return (
        f"sigma = {params.sigma.tolist()} reached the floor {floor:.3g} (a millionth of the "
        "data's scale): a segment fits (almost) exactly and the likelihood has no interior "
        "maximum there"
    )


def _invert(info: np.ndarray) -> tuple[np.ndarray, float, str | None]:
    """Covariance = info^-1 when info is positive definite and well conditioned."""
    dim = info.shape[0]
    nan = np.full((dim, dim), np.nan)
    if dim == 0:
        return np.zeros((0, 0)), 1.0, None
    if not np.all(np.isfinite(info)):
        return nan, float("nan"), "the information matrix is not finite"
    diag = np.diag(info)
    if np.any(diag <= 0):
        bad = np.flatnonzero(diag <= 0).tolist()
        return nan, float("inf"), f"information has non-positive diagonal entries {bad}"
    scale = 1.0 / np.sqrt(diag)
    corr = info * np.outer(scale, scale)
    values, vectors = np.linalg.eigh(corr)
    if values[0] <= 0:
        return nan, float("inf"), "the information matrix is not positive definite (not a maximum?)"
    condition = float(values[-1] / values[0])
    if condition > MAX_CONDITION:
        return (
            nan,
            condition,
            (
                f"the information matrix is ill-conditioned (condition number {condition:.3g}); "
                "a segment is (nearly) collapsed or two segments coincide"
            ),
        )
    inverse = (vectors / values) @ vectors.T
    return inverse * np.outer(scale, scale), condition, None


def _wald_interval(estimate: np.ndarray, se: np.ndarray, level: float) -> np.ndarray:
    """estimate +- z se, shape (..., 2)."""
    z = float(ndtri(0.5 + level / 2.0))
    return estimate[..., None] + np.array([-z, z]) * se[..., None]


def _logit_interval(pi: np.ndarray, se: np.ndarray, level: float) -> np.ndarray:
    """expit(logit(pi) +- z se / (pi (1 - pi))): inside (0, 1); pi at 0 or 1 stays there."""
    z = float(ndtri(0.5 + level / 2.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        half = z * se / (pi * (1.0 - pi))
        interval = expit(logit(pi)[..., None] + np.array([-1.0, 1.0]) * half[..., None])
    degenerate = (pi <= 0.0) | (pi >= 1.0)
    boundary = np.where(np.isnan(se), np.nan, pi)
    interval[degenerate] = boundary[degenerate, None]
    return interval


def _wald(
    method: str,
    params: _Params,
    cov: np.ndarray,
    level: float,
    valid: bool,
    details: dict[str, Any],
    stats: SufficientStats,
) -> Inference:
    """Standard errors and Wald intervals of every parameter from a free-parameter cov.

    pi: the logit-scale interval mapped back; sigma: delta-method standard error
    and the log-scale interval mapped back.
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    space = params.problem.space
    theta, pi = params.theta, params.pi
    n_components, n_coef = theta.shape
    n_theta = n_components * n_coef
    z = float(ndtri(0.5 + level / 2.0))
    se_free = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    se_theta = se_free[:n_theta].reshape(n_components, n_coef)
    gamma_fields: dict[str, Any] = {}
    if params.problem.prior.concomitant:
        gamma = params.prior
        head = se_free[space.prior_slice].reshape(n_components - 1, -1)
        se_gamma = np.vstack([head, np.zeros(gamma.shape[1])])
        gamma_fields = {
            "gamma": gamma.copy(),
            "se_gamma": se_gamma,
            "ci_gamma": _wald_interval(gamma, se_gamma, level),
            "covariate_names": params.covariate_names,
        }
        se_pi = _mean_pi_se(params, cov[space.prior_slice, space.prior_slice])
    else:
        jac = space.free_to_full()
        variance = np.einsum("ij,jk,ik->i", jac, cov, jac)
        se_pi = np.sqrt(np.clip(variance, 0.0, None))[n_theta : n_theta + n_components]
    ci_theta = theta[..., None] + np.array([-z, z]) * se_theta[..., None]
    ci_pi = _logit_interval(pi, se_pi, level)
    sigma_fields: dict[str, np.ndarray] = {}
    if params.sigma is not None:
        sigma_k = params.sigma_k
        se_log = params.groups @ se_free[space.sigma_slice]
        sigma_fields = {
            "sigma": sigma_k,
            "se_sigma": sigma_k * se_log,
            "ci_sigma": sigma_k[:, None] * np.exp(np.array([-z, z]) * se_log[:, None]),
        }
    return Inference(
        method=method,
        level=level,
        theta=theta.copy(),
        pi=pi.copy(),
        cov=cov,
        se_theta=se_theta,
        se_pi=se_pi,
        ci_theta=ci_theta,
        ci_pi=ci_pi,
        valid=valid,
        coef_names=params.names,
        details={"n_stores": stats.n_stores, **details},
        sigma_mode=params.sigma_mode,
        **sigma_fields,
        **gamma_fields,
    )


def _mean_pi_se(params: _Params, cov: np.ndarray) -> np.ndarray:
    """Delta-method SE of the mean prior (1/N) sum_i pi_ic(gamma), shape (K,)."""
    prior = params.problem.prior
    z = prior.covariates
    pi = prior.unit_pi(params.prior[None])[0].T  # (N, K)
    head = len(params.theta) - 1
    eye = np.eye(len(params.theta))[None, :, :head]
    jac = pi[:, :, None] * (eye - pi[:, None, :head])  # (N, K, K-1)
    mean_jac = np.einsum("nkd,nq->kdq", jac, z).reshape(len(params.theta), -1) / len(z)
    return np.sqrt(np.clip(np.einsum("ki,ij,kj->k", mean_jac, cov, mean_jac), 0.0, None))


def _inside(value: np.ndarray, interval: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return (interval[..., 0] <= value) & (value <= interval[..., 1])


def _warn(message: str) -> None:
    warnings.warn(message, InferenceWarning, stacklevel=3)


@one_blas_thread
def _bootstrap_replicate(
    params: _Params,
    stats: SufficientStats,
    seq: np.random.SeedSequence,
    options: FitOptions,
) -> tuple[np.ndarray, bool, bool]:
    """One bootstrap refit: (matched theta flat, pi, [gamma], sigma; converged; degenerate).

    Degenerate: the refit lost a segment, or one of its sigmas ended at the floor.
    """
    rng = np.random.default_rng(seq)
    theta, pi = params.theta, params.pi
    n_components = len(pi)
    problem = params.problem
    segment = problem.prior.draw_segments(params.prior, rng)
    boot = problem.driver.draw_stats(theta, segment, rng, params.sigma_k)
    fit = refit(boot, theta, params.prior, params.sigma_k, rng, options, params.covariates)
    order = match_segments(fit.theta, theta, problem.driver.metric())
    sigma = fit.sigma[order] if params.n_sigma == n_components else fit.sigma[: params.n_sigma]
    parts = [fit.theta[order].ravel(), fit.pi[order]]
    if fit.gamma is not None:
        gamma = fit.gamma[order] - fit.gamma[order][-1]
        parts.append(gamma[:-1].ravel())
    values = np.concatenate([*parts, sigma])
    return values, fit.converged, fit.degenerate or fit.sigma_floored
